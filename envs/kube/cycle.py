"""One scheduling cycle on objects: PreFilter, Filter, PreScore, Score, NormalizeScore, weights, selectHost.

This is the object-level reference (pkg/scheduler/schedule_one.go and framework/runtime); the
vectorised simulator must agree with it decision for decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from podgym.envs.kube.framework import (
    ALL_NODES,
    MAX_NODE_SCORE,
    MIN_NODE_SCORE,
    NAMESPACES,
    SKIP,
    UNSCHEDULABLE_AND_UNRESOLVABLE,
    CycleState,
    Plugin,
    Status,
    prefilter_reason,
)
from podgym.envs.kube.nodeinfo import NodeInfo
from podgym.envs.kube.objects import Namespace, Pod
from podgym.envs.kube.profile import Profile

MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5
DEFAULT_PERCENTAGE_OF_NODES_TO_SCORE = 0


def num_feasible_nodes_to_find(num_all_nodes: int, percentage_of_nodes_to_score: int = 0) -> int:
    """How many feasible nodes kube-scheduler looks for before it stops filtering (numFeasibleNodesToFind)."""
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND or percentage_of_nodes_to_score >= 100:
        return num_all_nodes
    adaptive = percentage_of_nodes_to_score
    if adaptive <= 0:
        adaptive = max(50 - num_all_nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    return max(num_all_nodes * adaptive // 100, MIN_FEASIBLE_NODES_TO_FIND)


def run_filters(
    plugins: tuple[Plugin, ...] | list[Plugin],
    pod: Pod,
    nodes: list[NodeInfo],
    state: CycleState,
    percentage_of_nodes_to_score: int | None = None,
    narrow: bool = True,
    only: str | None = None,
) -> dict[str, Status | None]:
    """PreFilter, then Filter node by node in order; each node gets its first failing plugin's status.

    A PreFilter Skip leaves the plugin's Filter out; a PreFilter rejection applies to every node. A
    PreFilterResult (NodeAffinity's metadata.name terms) narrows the candidates: the other nodes get
    "node(s) didn't satisfy plugin(s) [...]".
    With `percentage_of_nodes_to_score`, filtering stops once numFeasibleNodesToFind of the
    candidates passed; the nodes after that are absent from the result. With `narrow` False, every
    node goes through Filter (what a single plugin answers, as its upstream unit tests check it). With `only`, PreFilter
    sees every node but Filter runs on the node of that name alone (preemption's dry run on one candidate).
    """
    allowed: set[str] | None = None
    narrowing: list[str] = []
    state.setdefault(ALL_NODES, nodes)
    running: list[Plugin] = []
    for plugin in plugins:
        result = plugin.pre_filter(state, pod, nodes)
        if isinstance(result, Status) and result.code == SKIP:
            continue  # the plugin's Filter does not run for this pod
        running.append(plugin)
        if isinstance(result, Status):
            return {node.name: result for node in nodes}
        if result is not None and narrow:
            allowed = set(result) if allowed is None else allowed & result
            narrowing.append(plugin.name)
    out: dict[str, Status | None] = {}
    candidates = nodes if only is None else [node for node in nodes if node.name == only]
    if allowed is not None:
        left_out = Status(UNSCHEDULABLE_AND_UNRESOLVABLE, (prefilter_reason(narrowing),), narrowing[0])
        out = {node.name: left_out for node in candidates if node.name not in allowed}
        candidates = [node for node in candidates if node.name in allowed]
    num_to_find = None
    if percentage_of_nodes_to_score is not None:
        num_to_find = num_feasible_nodes_to_find(len(candidates), percentage_of_nodes_to_score)
    found = 0
    for node in candidates:
        if num_to_find is not None and found >= num_to_find:
            break
        status = None
        for plugin in running:
            status = plugin.filter(state, pod, node)
            if status is not None:
                break
        out[node.name] = status
        found += status is None
    return out


def run_score_plugin(
    plugin: Plugin, pod: Pod, nodes: list[NodeInfo], state: CycleState, all_nodes: list[NodeInfo] | None = None
) -> list[int] | None:
    """PreScore, Score and NormalizeScore of one plugin over `nodes` (the feasible ones of `all_nodes`, the whole
    snapshot; by default `nodes` or what the cycle's Filter saw); None when PreScore skips it."""
    if all_nodes is not None:
        state[ALL_NODES] = all_nodes
    state.setdefault(ALL_NODES, nodes)
    if not plugin.pre_score(state, pod, nodes):
        return None
    scores = plugin.normalize_score(state, pod, [plugin.score(state, pod, n) for n in nodes])
    for n, s in zip(nodes, scores):
        if not MIN_NODE_SCORE <= s <= MAX_NODE_SCORE:
            raise RuntimeError(
                f"plugin {plugin.name!r} returns an invalid score {s} for node {n.name}, "
                f"it should in the range of [{MIN_NODE_SCORE}, {MAX_NODE_SCORE}] after normalizing"
            )
    return scores


@dataclass
class NodeVerdict:
    """What the cycle decided about one node."""

    name: str
    evaluated: bool = True
    status: Status | None = None
    scores: dict[str, int] = field(default_factory=dict)  # plugin -> normalised score (before weight)
    total: int | None = None


@dataclass
class Decision:
    """The outcome of one scheduling cycle and how it came about."""

    pod: Pod
    verdicts: list[NodeVerdict]
    selected: str | None
    tied: list[str]
    weights: dict[str, int]
    skipped: list[str]
    num_to_find: int
    next_start_index: int

    @property
    def feasible(self) -> list[str]:
        return [v.name for v in self.verdicts if v.evaluated and v.status is None]


def schedule_one(
    pod: Pod,
    nodes: list[NodeInfo],
    profile: Profile,
    rng: np.random.Generator | None = None,
    start_index: int = 0,
    namespaces: dict[str, Namespace] | None = None,
) -> Decision:
    """Run one scheduling cycle of `profile` for `pod` over `nodes`.

    As kube-scheduler does, filtering starts at `start_index`, wraps around, and stops once
    numFeasibleNodesToFind feasible nodes are found; ties for the top score are broken uniformly
    at random with `rng` (seeded by the caller for reproducibility).
    """
    state: CycleState = {NAMESPACES: namespaces or {}}
    n = len(nodes)
    num_to_find = num_feasible_nodes_to_find(n, profile.percentage_of_nodes_to_score)
    order = [nodes[(start_index + i) % n] for i in range(n)] if n else []
    verdicts = {node.name: NodeVerdict(node.name, evaluated=False) for node in nodes}
    feasible: list[NodeInfo] = []
    processed = 0
    statuses = run_filters(profile.filter_plugins, pod, order, state, profile.percentage_of_nodes_to_score)
    for node in order:
        if node.name not in statuses:
            continue  # filtering stopped before this node
        v = verdicts[node.name]
        v.evaluated, v.status = True, statuses[node.name]
        if not (v.status and v.status.message.startswith("node(s) didn't satisfy plugin(s)")):
            processed += 1  # nodes a PreFilterResult left out are not processed
        if v.status is None:
            feasible.append(node)
    weights = {p.name: w for p, w in profile.score_plugins}
    skipped: list[str] = []
    if feasible:
        totals = [0] * len(feasible)
        if not profile.score_plugins:
            totals = [1] * len(feasible)
        for plugin, weight in profile.score_plugins:
            scores = run_score_plugin(plugin, pod, feasible, state)
            if scores is None:
                skipped.append(plugin.name)
                continue
            for i, (node, s) in enumerate(zip(feasible, scores)):
                verdicts[node.name].scores[plugin.name] = s
                totals[i] += s * weight
        for node, t in zip(feasible, totals):
            verdicts[node.name].total = t
        best = max(totals)
        tied = [node.name for node, t in zip(feasible, totals) if t == best]
        selected = tied[int(rng.integers(len(tied)))] if rng is not None and len(tied) > 1 else tied[0]
    else:
        tied, selected = [], None
    return Decision(
        pod,
        [verdicts[node.name] for node in nodes],
        selected,
        tied,
        weights,
        skipped,
        num_to_find,
        (start_index + processed) % n if n else 0,
    )
