"""PodTopologySpread: hard spread constraints filter (maxSkew, minDomains, inclusion policies); soft ones score.

Pinned to pkg/scheduler/framework/plugins/podtopologyspread (filtering.go, scoring.go, common.go, plugin.go) of
kube-scheduler v1.35, with its feature gates at their v1.35 defaults (minDomains, nodeInclusionPolicy and
matchLabelKeys on).

Default constraints (a pod without its own): `defaultingType: System` spreads pods by hostname (maxSkew 3) and
zone (maxSkew 5), ScheduleAnyway; `List` takes the args' `defaultConstraints`. Upstream derives their selector from
the Services, ReplicationControllers, ReplicaSets and StatefulSets that select the pod (helper.DefaultSelector).
podgym has no Service or controller objects: a pod whose controller owner reference is a ReplicationController
(v1), ReplicaSet or StatefulSet (apps/v1) gets the selector its controller has when built from the pod template,
i.e. the pod's labels less the ones a StatefulSet adds to each pod (controller-revision-hash,
statefulset.kubernetes.io/pod-name, apps.kubernetes.io/pod-index); Services selecting a pod are not modelled.
Failed nodes (ClusterState.alive False) are not part of the snapshot: they hold no domain.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from podgym.envs.kube.framework import (
    ALL_NODES,
    DRY_RUN_REMOVED,
    MAX_NODE_SCORE,
    UNSCHEDULABLE,
    UNSCHEDULABLE_AND_UNRESOLVABLE,
    CycleState,
    Plugin,
    Status,
)
from podgym.envs.kube.nodeinfo import NodeInfo
from podgym.envs.kube.objects import (
    LabelSelector,
    Node,
    Pod,
    PodMatcher,
    SelectorRequirement,
    TopologySpreadConstraint,
    label_key_requirements,
)
from podgym.envs.kube.plugins.args import PodTopologySpreadArgs, parse_args
from podgym.envs.kube.plugins.nodeaffinity import required_affinity_matches, terms_mask
from podgym.envs.kube.plugins.tainttoleration import find_untolerated_taint

if TYPE_CHECKING:  # envs.cluster imports envs.kube: for annotations only
    from podgym.envs.cluster import ClusterState, PodRequest, Topology

ERR_REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints"
ERR_REASON_NODE_LABEL_NOT_MATCH = ERR_REASON_CONSTRAINTS_NOT_MATCH + " (missing required label)"
LABEL_HOSTNAME = "kubernetes.io/hostname"
LABEL_ZONE = "topology.kubernetes.io/zone"
DO_NOT_SCHEDULE = "DoNotSchedule"
SCHEDULE_ANYWAY = "ScheduleAnyway"
MAX_INT32 = 2**31 - 1

SYSTEM_DEFAULT_CONSTRAINTS = (
    TopologySpreadConstraint(3, LABEL_HOSTNAME, SCHEDULE_ANYWAY, LabelSelector()),
    TopologySpreadConstraint(5, LABEL_ZONE, SCHEDULE_ANYWAY, LabelSelector()),
)
# Controllers whose selector DefaultSelector reads: (apiVersion, kind) of the controller owner reference.
SELECTING_CONTROLLERS = {("v1", "ReplicationController"), ("apps/v1", "ReplicaSet"), ("apps/v1", "StatefulSet")}
# Labels a StatefulSet sets on each of its pods, outside its selector.
PER_POD_LABELS = ("controller-revision-hash", "statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index")


@dataclass(frozen=True)
class Constraint:
    """A constraint as the plugin uses it (upstream topologySpreadConstraint): selector parsed and merged with
    matchLabelKeys, minDomains and the inclusion policies defaulted; `matcher` counts the pods of its namespace."""

    max_skew: int
    topology_key: str
    selector: LabelSelector
    min_domains: int
    node_affinity_policy: str
    node_taints_policy: str
    matcher: PodMatcher


def resolve_constraints(
    constraints: Sequence[TopologySpreadConstraint], pod: Pod, action: str, selector: LabelSelector | None = None
) -> tuple[Constraint, ...]:
    """filterTopologySpreadConstraints: the constraints whose whenUnsatisfiable is `action` (`selector` replaces
    theirs, for default constraints)."""
    out = []
    for c in constraints:
        if c.when_unsatisfiable != action:
            continue
        sel = c.selector if selector is None else selector
        if c.match_label_keys and not sel.nothing:
            sel = sel.with_requirements(label_key_requirements(pod.labels, c.match_label_keys))
        out.append(
            Constraint(
                max_skew=c.max_skew,
                topology_key=c.topology_key,
                selector=sel,
                min_domains=1 if c.min_domains is None else c.min_domains,
                node_affinity_policy=c.node_affinity_policy or "Honor",
                node_taints_policy=c.node_taints_policy or "Ignore",
                matcher=PodMatcher(sel, frozenset((pod.namespace,)), live_only=True),
            )
        )
    return tuple(out)


def default_selector(pod: Pod) -> LabelSelector:
    """The selector of the pod's controller (helper.DefaultSelector, as podgym models it: see the module)."""
    owner = pod.controller
    if owner is None or (owner.api_version, owner.kind) not in SELECTING_CONTROLLERS:
        return LabelSelector()
    labels = sorted(pod.labels.items())
    if owner.kind == "StatefulSet":
        labels = [(k, v) for k, v in labels if k not in PER_POD_LABELS]
    return LabelSelector(tuple(SelectorRequirement(k, "In", (v,)) for k, v in labels))


def node_labels_match(labels: dict[str, str], constraints: Sequence[Constraint]) -> bool:
    """nodeLabelsMatchSpreadConstraints: the node has every constraint's topology key."""
    return all(c.topology_key in labels for c in constraints)


def matches_inclusion_policies(c: Constraint, pod: Pod, node: Node) -> bool:
    """matchNodeInclusionPolicies: nodeAffinityPolicy Honor counts only nodes the pod's required node affinity
    matches; nodeTaintsPolicy Honor only nodes without an untolerated NoSchedule/NoExecute taint."""
    if c.node_affinity_policy == "Honor" and not required_affinity_matches(pod, node):
        return False
    if c.node_taints_policy == "Honor":
        return find_untolerated_taint(node.taints, pod.tolerations, ("NoSchedule", "NoExecute")) is None
    return True


def count_matching(pods: Sequence[Pod], c: Constraint, namespace: str) -> int:
    """countPodsMatchSelector: pods of `namespace` the constraint's selector matches (none for an empty one), less
    terminating pods (vectorised, a terminating pod's template keeps its deletionTimestamp and the constraint's
    matcher is ``live_only``)."""
    if c.selector.empty:
        return 0
    return sum(1 for p in pods if p.namespace == namespace and not p.terminating and c.selector.matches(p.labels))


def removed_uncounted(pods: Sequence[Pod], c: Constraint, namespace: str) -> int:
    """Of the pods preemption's dry run removed from a node, those its RemovePod takes off the count that
    countPodsMatchSelector never counted: upstream's updateWithPod does not skip terminating pods. (Its empty
    selector, which counts nothing and matches every removed pod, is left out: it only lowers the candidate's own
    domain, which then holds the minimum, so no verdict changes.)"""
    if c.selector.empty:
        return 0
    return sum(1 for p in pods if p.namespace == namespace and p.terminating and c.selector.matches(p.labels))


def round_half_away(x: float) -> int:
    """Go's math.Round for x >= 0 (half away from zero), exactly: x - floor(x) is exact in binary floating point."""
    whole = math.floor(x)
    return int(whole) + (x - whole >= 0.5)


@dataclass
class _Static:
    """What a template's constraints give on a cluster's static node data (cached per static_version)."""

    hard: tuple[Constraint, ...]
    hard_topologies: list[Topology]  # per constraint: the domains of its key
    hard_eligible: list[np.ndarray]  # per constraint: nodes counted in PreFilter (all keys, inclusion policies)
    hard_all_eligible: list[bool]  # every node is counted
    hard_present: list[np.ndarray]  # per constraint: domains holding a counted node (every node alive)
    self_match: list[bool]
    soft: tuple[Constraint, ...]
    require_all: bool
    soft_all_keys: np.ndarray  # nodes with every soft constraint's key
    soft_codes: list[np.ndarray]  # per constraint: value code per node; a missing key reads as the value ""
    soft_has_key: list[np.ndarray]
    soft_included: list[np.ndarray]  # per constraint: nodes the inclusion policies count


class PodTopologySpread(Plugin):
    name = "PodTopologySpread"
    filters = True
    scores = True
    dynamic = True

    def __init__(self, args=None):
        super().__init__(args)
        parsed = parse_args(PodTopologySpreadArgs, args, self.name)
        self.system_defaulted = parsed.defaulting_type == "System"
        if self.system_defaulted:
            self.default_constraints: tuple[TopologySpreadConstraint, ...] = SYSTEM_DEFAULT_CONSTRAINTS
        else:
            self.default_constraints = tuple(
                TopologySpreadConstraint(
                    c.max_skew,
                    c.topology_key,
                    c.when_unsatisfiable,
                    LabelSelector(),
                    c.min_domains,
                    c.node_affinity_policy,
                    c.node_taints_policy,
                    tuple(c.match_label_keys),
                )
                for c in parsed.default_constraints
            )
        self._constraints: dict[tuple[int, str], tuple[Pod, tuple[Constraint, ...]]] = {}

    def constraints(self, pod: Pod, action: str) -> tuple[Constraint, ...]:
        """The pod's constraints for `action` (DoNotSchedule: Filter; ScheduleAnyway: Score), or the defaults."""
        key = (id(pod), action)
        hit = self._constraints.get(key)
        if hit is not None and hit[0] is pod:
            return hit[1]
        if pod.topology_spread_constraints:
            out = resolve_constraints(pod.topology_spread_constraints, pod, action)
        else:
            out = resolve_constraints(self.default_constraints, pod, action, LabelSelector())
            if out:
                selector = default_selector(pod)
                out = () if selector.empty else resolve_constraints(self.default_constraints, pod, action, selector)
        if len(self._constraints) > 4096:
            self._constraints.clear()
        self._constraints[key] = (pod, out)
        return out

    def filters_any(self, templates: Sequence[Pod]) -> bool:
        return any(self.constraints(t, DO_NOT_SCHEDULE) for t in templates)

    # ---- object level -------------------------------------------------------------------------------
    def pre_filter(self, state: CycleState, pod: Pod, nodes: list[NodeInfo]) -> Status | set[str] | None:
        constraints = self.constraints(pod, DO_NOT_SCHEDULE)
        counts: list[dict[str, int]] = [{} for _ in constraints]
        removed_from, removed = state.get(DRY_RUN_REMOVED, (None, ()))
        for info in nodes:
            node = info.node
            if not node_labels_match(node.labels, constraints):
                continue
            for i, c in enumerate(constraints):
                if not matches_inclusion_policies(c, pod, node):
                    continue
                value = node.labels[c.topology_key]
                count = count_matching(info.pods, c, pod.namespace)
                if info.name == removed_from:
                    count -= removed_uncounted(removed, c, pod.namespace)
                counts[i][value] = counts[i].get(value, 0) + count
        minimum = []
        for i, c in enumerate(constraints):
            low = min(counts[i].values(), default=MAX_INT32)
            minimum.append(0 if len(counts[i]) < c.min_domains else low)
        state[self.name] = (constraints, counts, minimum)
        return None

    def filter(self, state: CycleState, pod: Pod, node: NodeInfo) -> Status | None:
        constraints, counts, minimum = state[self.name]
        for i, c in enumerate(constraints):
            value = node.node.labels.get(c.topology_key)
            if value is None:
                return Status(UNSCHEDULABLE_AND_UNRESOLVABLE, (ERR_REASON_NODE_LABEL_NOT_MATCH,), self.name)
            skew = counts[i].get(value, 0) + int(c.selector.matches(pod.labels)) - minimum[i]
            if skew > c.max_skew:
                return Status(UNSCHEDULABLE, (ERR_REASON_CONSTRAINTS_NOT_MATCH,), self.name)
        return None

    def pre_score(self, state: CycleState, pod: Pod, nodes: list[NodeInfo]) -> bool:
        all_nodes: list[NodeInfo] = state.get(ALL_NODES, nodes)
        if not all_nodes:
            return False
        constraints = self.constraints(pod, SCHEDULE_ANYWAY)
        if not constraints:
            return False
        require_all = bool(pod.topology_spread_constraints) or not self.system_defaulted
        ignored: set[str] = set()
        counts: list[dict[str, int]] = [{} for _ in constraints]
        for info in nodes:
            labels = info.node.labels
            if require_all and not node_labels_match(labels, constraints):
                ignored.add(info.name)
                continue
            for i, c in enumerate(constraints):
                if c.topology_key != LABEL_HOSTNAME:
                    counts[i].setdefault(labels.get(c.topology_key, ""), 0)
        weights = []
        for i, c in enumerate(constraints):
            size = len(nodes) - len(ignored) if c.topology_key == LABEL_HOSTNAME else len(counts[i])
            weights.append(math.log(size + 2))
        for info in all_nodes:
            node = info.node
            if require_all and not node_labels_match(node.labels, constraints):
                continue
            for i, c in enumerate(constraints):
                if not matches_inclusion_policies(c, pod, node):
                    continue
                value = node.labels.get(c.topology_key, "")
                if value in counts[i]:
                    counts[i][value] += count_matching(info.pods, c, pod.namespace)
        state[f"{self.name}/score"] = (constraints, ignored, counts, weights)
        state[f"{self.name}/ignored_flags"] = [info.name in ignored for info in nodes]
        return True

    def score(self, state: CycleState, pod: Pod, node: NodeInfo) -> int:
        constraints, ignored, counts, weights = state[f"{self.name}/score"]
        if node.name in ignored:
            return 0
        total = 0.0
        for i, c in enumerate(constraints):
            value = node.node.labels.get(c.topology_key)
            if value is None:
                continue
            hostname = c.topology_key == LABEL_HOSTNAME
            cnt = count_matching(node.pods, c, pod.namespace) if hostname else counts[i][value]
            total += float(cnt) * weights[i] + float(c.max_skew - 1)
        return round_half_away(total)

    def normalize_score(self, state: CycleState, pod: Pod, scores: list[int]) -> list[int]:
        # NormalizeScore sees the scores in node order; the ignored nodes are those PreScore recorded.
        ignored_flags = state[f"{self.name}/ignored_flags"]
        return normalize_spread(np.asarray(scores, dtype=np.int64), np.asarray(ignored_flags, dtype=bool)).tolist()

    # ---- vectorised ---------------------------------------------------------------------------------
    def _static(self, cluster: ClusterState, pod: Pod) -> _Static:
        key = (self.name, id(pod), id(self), cluster.static_version)
        hit = cluster.static_cache.get(key)
        if hit is not None and hit[0] is pod:
            return hit[1]
        n = cluster.num_nodes
        labels = cluster.labels
        affinity_ok: np.ndarray | None = None
        taints_ok: np.ndarray | None = None

        def included(c: Constraint) -> np.ndarray:
            nonlocal affinity_ok, taints_ok
            ok = np.ones(n, dtype=bool)
            if c.node_affinity_policy == "Honor":
                if affinity_ok is None:
                    affinity_ok = np.ones(n, dtype=bool)
                    for k, v in pod.node_selector.items():
                        affinity_ok &= labels.equals(k, (v,))
                    if pod.required_terms is not None:
                        affinity_ok &= terms_mask(cluster, pod.required_terms)
                ok &= affinity_ok
            if c.node_taints_policy == "Honor":
                if taints_ok is None:
                    bad = np.array(
                        [
                            t.effect in ("NoSchedule", "NoExecute") and not any(x.tolerates(t) for x in pod.tolerations)
                            for t in cluster.taints.taints
                        ],
                        dtype=bool,
                    )
                    taints_ok = ~cluster.taints.matrix[:, bad].any(axis=1) if bad.any() else np.ones(n, dtype=bool)
                ok &= taints_ok
            return ok

        def codes(key: str, empty_value: bool) -> np.ndarray:
            found = labels.value_codes(key)
            if found is None:
                return np.zeros(n, dtype=np.int32) if empty_value else np.full(n, -1, dtype=np.int32)
            if not empty_value:
                return found
            vocab = labels.vocab[labels.key_index[key]]
            return np.where(found >= 0, found, vocab.get("", len(vocab))).astype(np.int32)

        hard = self.constraints(pod, DO_NOT_SCHEDULE)
        hard_topologies = [labels.topology(c.topology_key) for c in hard]
        all_keys = np.ones(n, dtype=bool)
        for topology in hard_topologies:
            all_keys &= topology.has
        hard_eligible = [all_keys & included(c) for c in hard]
        hard_present = [np.bincount(t.codes[e], minlength=t.size) > 0 for t, e in zip(hard_topologies, hard_eligible)]
        soft = self.constraints(pod, SCHEDULE_ANYWAY)
        soft_has_key = [labels.exists(c.topology_key) for c in soft]
        soft_all_keys = np.ones(n, dtype=bool)
        for h in soft_has_key:
            soft_all_keys &= h
        static = _Static(
            hard=hard,
            hard_topologies=hard_topologies,
            hard_eligible=hard_eligible,
            hard_all_eligible=[bool(e.all()) for e in hard_eligible],
            hard_present=hard_present,
            self_match=[c.selector.matches(pod.labels) for c in hard],
            soft=soft,
            require_all=bool(pod.topology_spread_constraints) or not self.system_defaulted,
            soft_all_keys=soft_all_keys,
            soft_codes=[codes(c.topology_key, True) for c in soft],
            soft_has_key=soft_has_key,
            soft_included=[included(c) for c in soft],
        )
        cluster.remember(key, (pod, static))
        return static

    def _counts(self, cluster: ClusterState, c: Constraint) -> np.ndarray:
        if c.selector.empty:
            return np.zeros(cluster.num_nodes, dtype=np.int64)
        return cluster.bound_pods.count(c.matcher)

    def _skewed_domains(self, cluster: ClusterState, pod: Pod) -> list[tuple[Topology, np.ndarray]]:
        """Per hard constraint, in order: its key's domains and, per domain, whether placing the pod there would
        exceed maxSkew (matchNum + selfMatch - minMatchNum > maxSkew)."""
        st = self._static(cluster, pod)
        all_alive = cluster.live_count == cluster.num_nodes
        out = []
        for i, c in enumerate(st.hard):
            topology = st.hard_topologies[i]
            counts = self._counts(cluster, c)
            if all_alive:
                present = st.hard_present[i]
                domain_counts = topology.sums(counts, None if st.hard_all_eligible[i] else st.hard_eligible[i])
            else:
                eligible = st.hard_eligible[i] & cluster.alive
                present = np.bincount(topology.codes[eligible], minlength=topology.size) > 0
                domain_counts = topology.sums(counts, eligible)
            present_counts = domain_counts[present]
            minimum = float(present_counts.min()) if len(present_counts) else float(MAX_INT32)
            if len(present_counts) < c.min_domains:
                minimum = 0.0
            out.append((topology, domain_counts + (int(st.self_match[i]) - minimum) > c.max_skew))
        return out

    def _fits_template(self, cluster: ClusterState, pod: Pod) -> np.ndarray:
        if not self.constraints(pod, DO_NOT_SCHEDULE):  # PreFilter Skip
            return np.ones(cluster.num_nodes, dtype=bool)
        ok: np.ndarray | None = None
        for topology, skewed in self._skewed_domains(cluster, pod):
            if topology.complete:
                good = (~skewed)[topology.codes] if topology.size else np.zeros(cluster.num_nodes, dtype=bool)
            else:
                good = topology.has & ~topology.of_nodes(skewed)
            ok = good if ok is None else ok & good
        assert ok is not None
        return ok

    def fits(self, cluster: ClusterState, pod: PodRequest) -> np.ndarray:
        return self._fits_template(cluster, pod.template)

    def fit_reasons(self, cluster: ClusterState, pod: PodRequest) -> list[list[tuple[str, bool]]]:
        out: list[list[tuple[str, bool]]] = [[] for _ in range(cluster.num_nodes)]
        if not self.constraints(pod.template, DO_NOT_SCHEDULE):
            return out
        decided = np.zeros(cluster.num_nodes, dtype=bool)
        for topology, skewed_domains in self._skewed_domains(cluster, pod.template):
            missing = ~topology.has
            skewed = topology.has & topology.of_nodes(skewed_domains)
            for j in np.flatnonzero(missing & ~decided):
                out[j].append((ERR_REASON_NODE_LABEL_NOT_MATCH, True))
            for j in np.flatnonzero(skewed & ~decided):
                out[j].append((ERR_REASON_CONSTRAINTS_NOT_MATCH, False))
            decided |= missing | skewed
        return out

    def hint(self, cluster, requests, node, templates=(), template_of=None) -> np.ndarray:
        if template_of is None or not len(templates):
            return np.ones(len(requests), dtype=bool)
        verdicts = np.array(
            [
                not self.constraints(t, DO_NOT_SCHEDULE) or bool(self._fits_template(cluster, t)[node])
                for t in templates
            ],
            dtype=bool,
        )
        return verdicts[template_of]

    def vector_score(
        self, cluster: ClusterState, pod: PodRequest, nodes: np.ndarray, static: np.ndarray | None
    ) -> np.ndarray | None:
        if not self.constraints(pod.template, SCHEDULE_ANYWAY) or not cluster.num_nodes:
            return None  # PreScore Skip
        st = self._static(cluster, pod.template)
        ignored = ~st.soft_all_keys[nodes] if st.require_all else np.zeros(len(nodes), dtype=bool)
        scored = nodes[~ignored]
        counted = cluster.alive & (st.soft_all_keys if st.require_all else True)
        total = np.zeros(len(nodes), dtype=np.float64)
        for i, c in enumerate(st.soft):
            counts = self._counts(cluster, c)
            has_key = st.soft_has_key[i][nodes]
            if c.topology_key == LABEL_HOSTNAME:
                weight = math.log(len(scored) + 2)
                cnt = counts[nodes]
            else:
                codes = st.soft_codes[i]
                size = int(codes.max(initial=-1)) + 1
                registered = np.bincount(codes[scored], minlength=size) > 0
                weight = math.log(int(registered.sum()) + 2)
                included = counted & st.soft_included[i]
                domain_counts = np.bincount(codes[included], weights=counts[included], minlength=size)
                cnt = domain_counts.astype(np.int64)[codes[nodes]]
            term = cnt.astype(np.float64) * weight + float(c.max_skew - 1)
            total += np.where(has_key, term, 0.0)
        whole = np.floor(total)
        raw = whole.astype(np.int64) + (total - whole >= 0.5)
        raw[ignored] = 0
        return normalize_spread(raw, ignored)


def normalize_spread(scores: np.ndarray, ignored: np.ndarray) -> np.ndarray:
    """NormalizeScore: ignored nodes get 0; else MaxNodeScore * (max + min - s) / max, or 100 when max is 0."""
    kept = scores[~ignored]
    if not len(kept):
        return np.zeros(len(scores), dtype=np.int64)
    low, high = int(kept.min()), int(kept.max(initial=0))
    high = max(high, 0)
    if high == 0:
        out = np.full(len(scores), MAX_NODE_SCORE, dtype=np.int64)
    else:
        out = MAX_NODE_SCORE * (high + low - scores) // high
    out[ignored] = 0
    return out
