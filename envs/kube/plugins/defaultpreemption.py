"""DefaultPreemption (PostFilter): when no node passes Filter, find nodes where evicting pods of lower priority
lets the pod in, and nominate the best (pkg/scheduler/framework/preemption and plugins/defaultpreemption, v1.35).

The Evaluator's steps, as upstream:

1. PodEligibleToPreemptOthers: not with ``preemptionPolicy: Never``; not while victims of an earlier preemption
   are still terminating on the pod's nominated node (unless that node became UnschedulableAndUnresolvable).
2. Candidates: only nodes whose Filter status is Unschedulable (UnschedulableAndUnresolvable means evicting pods
   cannot help). From a start ``offset`` (upstream draws it at random), nodes are dry-run one by one until there
   are at least ``max(numNodes x minCandidateNodesPercentage / 100, minCandidateNodesAbsolute)`` (at most all)
   candidates, one of them without PDB violation; each of the two lists (with and without violations) keeps at
   most that many.
3. SelectVictimsOnNode: remove every pod of lower priority; if the pod still does not fit, the node's Filter status
   says why. Otherwise add them back one by one, most important first (higher priority, then earlier start), those
   whose eviction would violate a PodDisruptionBudget first: a pod that can stay stays, the others are victims.
4. pickOneNodeForPreemption: fewest PDB violations, then the lowest highest-priority victim, the smallest sum of
   priorities (each + 2^31), the fewest victims, the latest start among the highest-priority victims; then the
   first candidate.

Where upstream is not deterministic, podgym fixes one order: the dry run is sequential and stops exactly when it
has enough candidates (upstream's parallel workers may add a few more); victims of equal priority and start time
keep the order the node lists them (upstream's sort.Slice is not stable); the last tie goes to the first candidate
in dry-run order, non-violating ones first (upstream iterates a Go map). Nominated pods are not modelled: Filter
sees the node's pods only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from podgym.envs.kube.disruption import PodDisruptionBudget
from podgym.envs.kube.framework import (
    DRY_RUN_REMOVED,
    ERROR,
    NAMESPACES,
    UNSCHEDULABLE,
    UNSCHEDULABLE_AND_UNRESOLVABLE,
    Plugin,
    Status,
    fit_error_message,
)
from podgym.envs.kube.nodeinfo import NodeInfo
from podgym.envs.kube.objects import Pod
from podgym.envs.kube.plugins.args import DefaultPreemptionArgs, parse_args

ERR_NO_VICTIMS = "No preemption victims found for incoming pod"
ERR_NOT_HELPFUL = "Preemption is not helpful for scheduling"
ERR_NEVER = "not eligible due to preemptionPolicy=Never."
ERR_TERMINATING = "not eligible due to a terminating pod on the nominated node."
PREFIX = "preemption: "
PRIORITY_OFFSET = 2**31  # math.MaxInt32 + 1, so that negative priorities sum sensibly
T = TypeVar("T")


@dataclass(frozen=True)
class Candidate:
    """A node where the pod fits once `victims` (most important first) are evicted."""

    node: str
    victims: tuple[Pod, ...]
    num_pdb_violations: int


@dataclass
class PreemptionResult:
    """What PostFilter decided: the nominated node and its victims, or why preemption does not help.

    `status` is None on success, else the plugin's Status (its message starts with "preemption: ").
    `node_statuses` holds the dry-run verdict of each candidate node that did not become a candidate."""

    nominated_node: str | None
    victims: tuple[Pod, ...] = ()
    num_pdb_violations: int = 0
    status: Status | None = None
    candidates: list[Candidate] = field(default_factory=list)
    node_statuses: dict[str, Status] = field(default_factory=dict)

    @property
    def message(self) -> str:
        """The PostFilter message a FitError appends ("" on success)."""
        return self.status.message if self.status is not None else ""


def start_time(pod: Pod) -> float:
    """util.GetPodStartTime: status.startTime, else now (later than any recorded start)."""
    return pod.start_time if pod.start_time is not None else math.inf


def importance(pod: Pod) -> tuple[int, float]:
    """Sort key of util.MoreImportantPod: higher priority first, then the earlier start."""
    return (-pod.priority, start_time(pod))


def terminating_by_preemption(pod: Pod) -> bool:
    """A pod being deleted with the DisruptionTarget condition the scheduler sets on its victims."""
    if not (pod.raw.get("metadata") or {}).get("deletionTimestamp"):
        return False
    for condition in (pod.raw.get("status") or {}).get("conditions") or []:
        if isinstance(condition, dict) and condition.get("type") == "DisruptionTarget":
            return condition.get("status") == "True" and condition.get("reason") == "PreemptionByScheduler"
    return False


def filter_pods_with_pdb_violation(
    pods: Sequence[T], pdbs: Sequence[PodDisruptionBudget], allowed: Sequence[int], pod_of=lambda p: p
) -> tuple[list[T], list[T]]:
    """(violating, non-violating) in the given order: a pod violates when evicting it (after the pods before it)
    takes a budget that covers it below zero disruptions allowed. `pod_of` gives the Pod of an item."""
    left = list(allowed)
    violating: list[T] = []
    fine: list[T] = []
    for item in pods:
        pod = pod_of(item)
        violated = False
        for i, pdb in enumerate(pdbs):
            if pdb.covers(pod):
                left[i] -= 1
                if left[i] < 0:
                    violated = True
        (violating if violated else fine).append(item)
    return violating, fine


def earliest_start_of_highest_priority(victims: Sequence[Pod]) -> float:
    """util.GetEarliestPodStartTime: the earliest start among the victims of the highest priority."""
    top = max(p.priority for p in victims)
    return min(start_time(p) for p in victims if p.priority == top)


def pick_one_node_for_preemption(candidates: Sequence[Candidate]) -> Candidate:
    """pickOneNodeForPreemption's default score functions, applied in turn while more than one node ties."""
    score_funcs = (
        lambda c: -c.num_pdb_violations,
        lambda c: -c.victims[0].priority,
        lambda c: -sum(p.priority + PRIORITY_OFFSET for p in c.victims),
        lambda c: -len(c.victims),
        lambda c: earliest_start_of_highest_priority(c.victims),
    )
    remaining = list(candidates)
    for f in score_funcs:
        scores = [f(c) for c in remaining]
        best = max(scores)
        remaining = [c for c, s in zip(remaining, scores) if s == best]
        if len(remaining) == 1:
            break
    return remaining[0]


def _with_pods(info: NodeInfo, pods: Sequence[Pod]) -> NodeInfo:
    """A copy of `info` running `pods` (the node, its images and the snapshot size kept)."""
    out = NodeInfo(info.node, image_states=info.image_states, snapshot_nodes=info.snapshot_nodes)
    for p in pods:
        out.add_pod(p)
    return out


class DefaultPreemption(Plugin):
    name = "DefaultPreemption"
    post_filters = True

    def __init__(self, args=None):
        super().__init__(args)
        self.config = parse_args(DefaultPreemptionArgs, args, self.name)

    def calculate_num_candidates(self, num_nodes: int) -> int:
        """How many candidates the dry run looks for (calculateNumCandidates)."""
        n = num_nodes * self.config.min_candidate_nodes_percentage // 100
        n = max(n, self.config.min_candidate_nodes_absolute)
        return min(n, num_nodes)

    def pod_eligible_to_preempt_others(
        self, pod: Pod, nodes: Sequence[NodeInfo], statuses: dict[str, Status | None]
    ) -> tuple[bool, str]:
        """PodEligibleToPreemptOthers: (eligible, the reason when not)."""
        if pod.preemption_policy == "Never":
            return False, ERR_NEVER
        nominated = (pod.raw.get("status") or {}).get("nominatedNodeName") or ""
        if nominated:
            status = statuses.get(nominated)
            if status is not None and status.code == UNSCHEDULABLE_AND_UNRESOLVABLE:
                return True, ""
            info = next((n for n in nodes if n.name == nominated), None)
            if info is not None and any(p.priority < pod.priority and terminating_by_preemption(p) for p in info.pods):
                return False, ERR_TERMINATING
        return True, ""

    def select_victims_on_node(
        self,
        pod: Pod,
        info: NodeInfo,
        filter_plugins: Sequence[Plugin],
        pdbs: Sequence[PodDisruptionBudget],
        allowed: Sequence[int],
        nodes: Sequence[NodeInfo] = (),
        namespaces: Any = None,
    ) -> tuple[list[Pod], int, Status | None]:
        """SelectVictimsOnNode: (victims most important first, PDB violations, None) or ([], 0, why not). Filter
        runs on `info` with a set of its pods, PreFilter over every node of `nodes` (the snapshot, `info` among
        them) with that node changed, as upstream's RemovePod/AddPod update the PreFilter state: what a plugin
        counts over other nodes (topology spread, existing pods' anti-affinity) stays counted; the pods removed
        from `info` are in the state (``DRY_RUN_REMOVED``) for what RemovePod counts and PreFilter does not
        (PodTopologySpread: terminating pods). `namespaces`: the cycle's Namespace objects (``NAMESPACES``)."""
        from podgym.envs.kube.cycle import run_filters  # the cycle imports the plugins

        def fails(pods: list[Pod]) -> Status | None:
            node = _with_pods(info, pods)
            snapshot = [node if n.name == info.name else n for n in nodes] or [node]
            kept = {id(p) for p in pods}
            state: dict[str, Any] = {DRY_RUN_REMOVED: (info.name, tuple(p for p in info.pods if id(p) not in kept))}
            if namespaces is not None:
                state[NAMESPACES] = namespaces
            return run_filters(list(filter_plugins), pod, snapshot, state, only=node.name)[node.name]

        potential = [p for p in info.pods if p.priority < pod.priority]
        if not potential:
            return [], 0, Status(UNSCHEDULABLE_AND_UNRESOLVABLE, (ERR_NO_VICTIMS,), self.name)
        chosen = {id(p) for p in potential}
        staying = [p for p in info.pods if id(p) not in chosen]
        status = fails(staying)
        if status is not None:
            return [], 0, status
        potential.sort(key=importance)
        violating, fine = filter_pods_with_pdb_violation(potential, pdbs, allowed)
        victims: list[Pod] = []
        num_violations = 0
        for group, counts in ((violating, True), (fine, False)):
            for p in group:
                if fails([*staying, p]) is None:
                    staying.append(p)
                else:
                    victims.append(p)
                    num_violations += counts
        if violating and fine:
            victims.sort(key=importance)
        return victims, num_violations, None

    def post_filter(
        self,
        pod: Pod,
        nodes: Sequence[NodeInfo],
        statuses: dict[str, Status | None],
        filter_plugins: Sequence[Plugin],
        pdbs: Sequence[PodDisruptionBudget] = (),
        offset: int = 0,
        namespaces: Any = None,
    ) -> PreemptionResult:
        """Evaluator.Preempt for `pod`, which passed Filter on no node (`statuses`: each node's Filter status).
        `offset` is where the dry run starts among the Unschedulable nodes (upstream: rand.Int31n of their number);
        `namespaces` the cycle's Namespace objects, for namespaceSelectors."""
        eligible, reason = self.pod_eligible_to_preempt_others(pod, nodes, statuses)
        if not eligible:
            return PreemptionResult(None, status=Status(UNSCHEDULABLE, (PREFIX + reason,), self.name))
        potential = [n for n in nodes if (s := statuses.get(n.name)) is not None and s.code == UNSCHEDULABLE]
        node_statuses: dict[str, Status] = {}
        non_violating: list[Candidate] = []
        violating: list[Candidate] = []
        errors: list[str] = []
        if potential:
            running = [p for n in nodes for p in n.pods]
            allowed = [pdb.allowed(running) for pdb in pdbs]
            wanted = self.calculate_num_candidates(len(potential))
            start = offset % len(potential)
            for i in range(len(potential)):
                info = potential[(start + i) % len(potential)]
                victims, num_violations, status = self.select_victims_on_node(
                    pod, info, filter_plugins, pdbs, allowed, nodes, namespaces
                )
                if status is None and victims:
                    c = Candidate(info.name, tuple(victims), num_violations)
                    kept = violating if num_violations else non_violating
                    if len(kept) < wanted:  # upstream's candidate lists hold `wanted` entries each
                        kept.append(c)
                    if non_violating and len(non_violating) + len(violating) >= wanted:
                        break
                    continue
                if status is None:
                    status = Status(ERROR, (f'expected at least one victim pod on node "{info.name}"',), self.name)
                    errors.append(status.message)
                node_statuses[info.name] = status
        candidates = non_violating + violating
        if not candidates:
            if errors:
                return PreemptionResult(None, status=Status(ERROR, (PREFIX + errors[0],), self.name))
            absent = Status(UNSCHEDULABLE_AND_UNRESOLVABLE, (ERR_NOT_HELPFUL,), self.name)
            explained = [node_statuses.get(n.name, absent) for n in nodes]
            message = fit_error_message(len(nodes), explained)
            return PreemptionResult(
                None, status=Status(UNSCHEDULABLE, (PREFIX + message,), self.name), node_statuses=node_statuses
            )
        best = pick_one_node_for_preemption(candidates)
        return PreemptionResult(best.node, best.victims, best.num_pdb_violations, None, candidates, node_statuses)
