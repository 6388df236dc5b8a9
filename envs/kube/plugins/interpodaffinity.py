"""InterPodAffinity: required pod affinity and anti-affinity filter (existing pods' anti-affinity too); preferred
terms score.

Pinned to pkg/scheduler/framework/plugins/interpodaffinity (filtering.go, scoring.go, plugin.go) and
pkg/scheduler/framework/types.go (AffinityTerm.Matches) of kube-scheduler v1.35. A term counts the pods of its
`namespaces` and of the namespaces its `namespaceSelector` matches (`{}`: all); with neither, the pod's own
namespace. Namespace labels come from the Namespace objects given (``kube.filter(..., namespaces=...)``,
``ClusterState(namespaces=...)``); a namespace not given has only ``kubernetes.io/metadata.name``, as the API
server sets it. matchLabelKeys/mismatchLabelKeys are merged into the selector when the pod is parsed, as the API
server does when the pod is created.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from podgym.envs.kube.framework import (
    ALL_NODES,
    MAX_NODE_SCORE,
    NAMESPACES,
    UNSCHEDULABLE,
    UNSCHEDULABLE_AND_UNRESOLVABLE,
    CycleState,
    Plugin,
    Status,
)
from podgym.envs.kube.nodeinfo import NodeInfo
from podgym.envs.kube.objects import (
    PREFERRED_AFFINITY,
    PREFERRED_ANTI_AFFINITY,
    REQUIRED_AFFINITY,
    REQUIRED_ANTI_AFFINITY,
    Pod,
    PodMatcher,
    namespace_labels,
    term_matcher,
)
from podgym.envs.kube.plugins.args import InterPodAffinityArgs, parse_args

if TYPE_CHECKING:  # envs.cluster imports envs.kube: for annotations only
    from podgym.envs.cluster import ClusterState, PodRequest

ERR_REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
ERR_REASON_AFFINITY = "node(s) didn't match pod affinity rules"
ERR_REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"


@dataclass(frozen=True)
class AllOf:
    """Pods that every matcher matches: those an incoming pod's required affinity terms count together."""

    matchers: tuple[PodMatcher, ...]

    def matches(self, namespace: str, labels, ns_labels, terminating: bool = False) -> bool:
        return all(m.matches(namespace, labels, ns_labels, terminating) for m in self.matchers)


def _has_preferred(pod: Pod) -> bool:
    return bool(pod.pod_affinity_preferred or pod.pod_anti_affinity_preferred)


@dataclass
class _Static:
    """A template's terms on a cluster's static node data (cached per static_version)."""

    affinity: AllOf | None
    self_match: bool  # the pod matches all its own required affinity terms
    anti: list[tuple[str, list[PodMatcher]]]  # required anti-affinity terms by topology key
    preferred: list[tuple[PodMatcher, str, int]]  # incoming preferred terms: matcher, key, +/- weight


class InterPodAffinity(Plugin):
    name = "InterPodAffinity"
    filters = True
    scores = True
    dynamic = True

    def __init__(self, args=None):
        super().__init__(args)
        parsed = parse_args(InterPodAffinityArgs, args, self.name)
        self.hard_pod_affinity_weight = parsed.hard_pod_affinity_weight
        self.ignore_preferred_terms_of_existing_pods = parsed.ignore_preferred_terms_of_existing_pods

    def filters_any(self, templates: Sequence[Pod]) -> bool:
        return any(t.pod_affinity or t.pod_anti_affinity for t in templates)

    # ---- object level -------------------------------------------------------------------------------
    def pre_filter(self, state: CycleState, pod: Pod, nodes: list[NodeInfo]) -> Status | set[str] | None:
        namespaces = state.get(NAMESPACES)
        own_labels = namespace_labels(namespaces, pod.namespace)
        existing: dict[tuple[str, str], int] = {}
        for info in nodes:
            for p in info.pods:
                for t in p.pod_anti_affinity:
                    if term_matcher(t, p.namespace).matches(pod.namespace, pod.labels, own_labels):
                        _add(existing, info, t.topology_key, 1)
        affinity = [term_matcher(t, pod.namespace) for t in pod.pod_affinity]
        anti = [term_matcher(t, pod.namespace) for t in pod.pod_anti_affinity]
        if not existing and not affinity and not anti:
            state[self.name] = None  # PreFilter Skip: every node passes
            return None
        affinity_counts: dict[tuple[str, str], int] = {}
        anti_counts: dict[tuple[str, str], int] = {}
        for info in nodes:
            for p in info.pods:
                labels = namespace_labels(namespaces, p.namespace)
                if affinity and all(m.matches(p.namespace, p.labels, labels) for m in affinity):
                    for t in pod.pod_affinity:
                        _add(affinity_counts, info, t.topology_key, 1)
                for t, m in zip(pod.pod_anti_affinity, anti):
                    if m.matches(p.namespace, p.labels, labels):
                        _add(anti_counts, info, t.topology_key, 1)
        self_match = all(m.matches(pod.namespace, pod.labels, own_labels) for m in affinity)
        state[self.name] = (existing, affinity_counts, anti_counts, self_match)
        return None

    def filter(self, state: CycleState, pod: Pod, node: NodeInfo) -> Status | None:
        if state.get(self.name) is None:
            return None
        existing, affinity_counts, anti_counts, self_match = state[self.name]
        labels = node.node.labels
        pods_exist = True
        for t in pod.pod_affinity:
            value = labels.get(t.topology_key)
            if value is None:
                return Status(UNSCHEDULABLE_AND_UNRESOLVABLE, (ERR_REASON_AFFINITY,), self.name)
            if affinity_counts.get((t.topology_key, value), 0) <= 0:
                pods_exist = False
        if not pods_exist and not (not affinity_counts and self_match):
            return Status(UNSCHEDULABLE_AND_UNRESOLVABLE, (ERR_REASON_AFFINITY,), self.name)
        for t in pod.pod_anti_affinity:
            value = labels.get(t.topology_key)
            if value is not None and anti_counts.get((t.topology_key, value), 0) > 0:
                return Status(UNSCHEDULABLE, (ERR_REASON_ANTI_AFFINITY,), self.name)
        if any(existing.get(pair, 0) > 0 for pair in labels.items()):
            return Status(UNSCHEDULABLE, (ERR_REASON_EXISTING_ANTI_AFFINITY,), self.name)
        return None

    def pre_score(self, state: CycleState, pod: Pod, nodes: list[NodeInfo]) -> bool:
        if self.ignore_preferred_terms_of_existing_pods and not _has_preferred(pod):
            return False
        namespaces = state.get(NAMESPACES)
        own_labels = namespace_labels(namespaces, pod.namespace)
        preferred = [
            (term_matcher(w.term, pod.namespace), w.term.topology_key, w.weight) for w in pod.pod_affinity_preferred
        ]
        preferred += [
            (term_matcher(w.term, pod.namespace), w.term.topology_key, -w.weight)
            for w in pod.pod_anti_affinity_preferred
        ]
        scores: dict[str, dict[str, int]] = {}

        def process(info: NodeInfo, key: str, delta: int) -> None:
            value = info.node.labels.get(key)
            if value is not None:
                per_value = scores.setdefault(key, {})
                per_value[value] = per_value.get(value, 0) + delta

        for info in state.get(ALL_NODES, nodes):
            if not info.node.labels:
                continue
            for p in info.pods:
                labels = namespace_labels(namespaces, p.namespace)
                for m, key, weight in preferred:
                    if m.matches(p.namespace, p.labels, labels):
                        process(info, key, weight)
                if self.hard_pod_affinity_weight > 0:
                    for t in p.pod_affinity:
                        if term_matcher(t, p.namespace).matches(pod.namespace, pod.labels, own_labels):
                            process(info, t.topology_key, self.hard_pod_affinity_weight)
                for terms, sign in ((p.pod_affinity_preferred, 1), (p.pod_anti_affinity_preferred, -1)):
                    for w in terms:
                        if term_matcher(w.term, p.namespace).matches(pod.namespace, pod.labels, own_labels):
                            process(info, w.term.topology_key, sign * w.weight)
        if not scores:
            return False
        state[f"{self.name}/score"] = scores
        return True

    def score(self, state: CycleState, pod: Pod, node: NodeInfo) -> int:
        labels = node.node.labels
        return sum(v.get(labels[k], 0) for k, v in state[f"{self.name}/score"].items() if k in labels)

    def normalize_score(self, state: CycleState, pod: Pod, scores: list[int]) -> list[int]:
        return normalize_affinity(np.asarray(scores, dtype=np.int64)).tolist()

    # ---- vectorised ---------------------------------------------------------------------------------
    def _static(self, cluster: ClusterState, pod: Pod) -> _Static:
        key = (self.name, id(pod), cluster.static_version)
        hit = cluster.static_cache.get(key)
        if hit is not None and hit[0] is pod:
            return hit[1]
        labels = namespace_labels(cluster.namespaces, pod.namespace)
        affinity = [term_matcher(t, pod.namespace) for t in pod.pod_affinity]
        anti: dict[str, list[PodMatcher]] = {}
        for t in pod.pod_anti_affinity:
            anti.setdefault(t.topology_key, []).append(term_matcher(t, pod.namespace))
        preferred = [
            (term_matcher(w.term, pod.namespace), w.term.topology_key, w.weight) for w in pod.pod_affinity_preferred
        ]
        preferred += [
            (term_matcher(w.term, pod.namespace), w.term.topology_key, -w.weight)
            for w in pod.pod_anti_affinity_preferred
        ]
        static = _Static(
            affinity=AllOf(tuple(affinity)) if affinity else None,
            self_match=all(m.matches(pod.namespace, pod.labels, labels) for m in affinity),
            anti=list(anti.items()),
            preferred=preferred,
        )
        cluster.remember(key, (pod, static))
        return static

    def _failures(self, cluster: ClusterState, pod: Pod) -> list[tuple[str, bool, np.ndarray]]:
        """(reason, unresolvable, failing nodes) of the three checks, in Filter's order."""
        st = self._static(cluster, pod)
        n = cluster.num_nodes
        bound = cluster.bound_pods
        labels = cluster.labels
        out = []
        if st.affinity is not None:
            counts = bound.count(st.affinity)
            missing = np.zeros(n, dtype=bool)
            pods_exist = np.ones(n, dtype=bool)
            entries = False
            for t in pod.pod_affinity:
                topology = labels.topology(t.topology_key)
                missing |= ~topology.has
                entries = entries or bool(counts[topology.has].any())
                pods_exist &= topology.positive(counts)
            first_pod = not entries and st.self_match
            out.append((ERR_REASON_AFFINITY, True, missing | (~pods_exist & (not first_pod))))
        anti = np.zeros(n, dtype=bool)
        for key, matchers in st.anti:
            counts = bound.count(matchers[0])
            for m in matchers[1:]:
                counts = counts + bound.count(m)
            anti |= labels.topology(key).positive(counts)
        out.append((ERR_REASON_ANTI_AFFINITY, False, anti))
        existing = np.zeros(n, dtype=bool)
        by_key: dict[str, np.ndarray] = {}
        for k in bound.terms_matching(pod):
            term = bound.term_list[k]
            if term.kind == REQUIRED_ANTI_AFFINITY:
                prev = by_key.get(term.topology_key)
                by_key[term.topology_key] = bound.term_counts[k] if prev is None else prev + bound.term_counts[k]
        for key, counts in by_key.items():
            existing |= labels.topology(key).positive(counts)
        out.append((ERR_REASON_EXISTING_ANTI_AFFINITY, False, existing))
        return out

    def _fits_template(self, cluster: ClusterState, pod: Pod) -> np.ndarray:
        ok = np.ones(cluster.num_nodes, dtype=bool)
        if not (pod.pod_affinity or pod.pod_anti_affinity or self._existing_anti(cluster, pod)):
            return ok  # PreFilter Skip
        for _, _, failing in self._failures(cluster, pod):
            ok &= ~failing
        return ok

    def _existing_anti(self, cluster: ClusterState, pod: Pod) -> bool:
        """Whether a bound pod's required anti-affinity term matches pods of this template."""
        bound = cluster.bound_pods
        return any(bound.term_list[k].kind == REQUIRED_ANTI_AFFINITY for k in bound.terms_matching(pod))

    def fits(self, cluster: ClusterState, pod: PodRequest) -> np.ndarray:
        return self._fits_template(cluster, pod.template)

    def fit_reasons(self, cluster: ClusterState, pod: PodRequest) -> list[list[tuple[str, bool]]]:
        out: list[list[tuple[str, bool]]] = [[] for _ in range(cluster.num_nodes)]
        decided = np.zeros(cluster.num_nodes, dtype=bool)
        for reason, unresolvable, failing in self._failures(cluster, pod.template):
            for j in np.flatnonzero(failing & ~decided):
                out[j].append((reason, unresolvable))
            decided |= failing
        return out

    def hint(self, cluster, requests, node, templates=(), template_of=None) -> np.ndarray:
        if template_of is None or not len(templates):
            return np.ones(len(requests), dtype=bool)
        verdicts = np.array(
            [
                not (t.pod_affinity or t.pod_anti_affinity or self._existing_anti(cluster, t))
                or bool(self._fits_template(cluster, t)[node])
                for t in templates
            ],
            dtype=bool,
        )
        return verdicts[template_of]

    def vector_score(
        self, cluster: ClusterState, pod: PodRequest, nodes: np.ndarray, static: np.ndarray | None
    ) -> np.ndarray | None:
        template = pod.template
        if self.ignore_preferred_terms_of_existing_pods and not _has_preferred(template):
            return None
        bound = cluster.bound_pods
        matching = bound.terms_matching(template)
        if not matching and not _has_preferred(template):
            return None  # nothing can add to topologyScore: PreScore Skip
        st = self._static(cluster, template)
        contributions: list[tuple[str, int, np.ndarray]] = [(key, w, bound.count(m)) for m, key, w in st.preferred]
        for k in matching:
            term = bound.term_list[k]
            if term.kind == REQUIRED_AFFINITY and self.hard_pod_affinity_weight > 0:
                contributions.append((term.topology_key, self.hard_pod_affinity_weight, bound.term_counts[k]))
            elif term.kind == PREFERRED_AFFINITY:
                contributions.append((term.topology_key, term.weight, bound.term_counts[k]))
            elif term.kind == PREFERRED_ANTI_AFFINITY:
                contributions.append((term.topology_key, -term.weight, bound.term_counts[k]))
        per_key: dict[str, np.ndarray] = {}
        touched = False
        for key, weight, counts in contributions:
            topology = cluster.labels.topology(key)
            if not counts[topology.has].any():
                continue
            touched = True
            sums = topology.sums(counts * weight)
            per_key[key] = sums if key not in per_key else per_key[key] + sums
        if not touched:
            return None
        raw = np.zeros(cluster.num_nodes, dtype=np.int64)
        for key, sums in per_key.items():
            raw += cluster.labels.topology(key).of_nodes(sums).astype(np.int64)
        return normalize_affinity(raw[nodes])


def _add(counts: dict[tuple[str, str], int], info: NodeInfo, key: str, delta: int) -> None:
    value = info.node.labels.get(key)
    if value is not None:
        counts[(key, value)] = counts.get((key, value), 0) + delta


def normalize_affinity(scores: np.ndarray) -> np.ndarray:
    """NormalizeScore: int64(MaxNodeScore * ((s - min) / (max - min))) in float64, 0 when all are equal."""
    if not len(scores):
        return scores.astype(np.int64)
    low, high = int(scores.min()), int(scores.max())
    if high - low <= 0:
        return np.zeros(len(scores), dtype=np.int64)
    return (float(MAX_NODE_SCORE) * ((scores - low) / float(high - low))).astype(np.int64)
