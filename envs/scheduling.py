"""kube-scheduler's Filter and Score plugins over all nodes at once, on a ClusterState.

A ``VectorProfile`` is built from an ``envs.kube`` Profile (so plugin sets, weights and args come
from the one configuration model) and agrees with the object-level API decision for decision; a
property-based test checks it on random clusters. What depends only on a pod's constraints and the
nodes' labels and taints (NodeUnschedulable, NodeName, TaintToleration, NodeAffinity, and the
TaintToleration and NodeAffinity raw scores) is computed once per pod template and cached.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.cluster import ClusterState, PodRequest
from envs.kube.cycle import prefilter_reason
from envs.kube.framework import MAX_NODE_SCORE, Status
from envs.kube.framework import UNSCHEDULABLE as CODE_UNSCHEDULABLE
from envs.kube.framework import UNSCHEDULABLE_AND_UNRESOLVABLE as CODE_UNRESOLVABLE
from envs.kube.objects import CPU, EPHEMERAL_STORAGE, MEMORY, Pod, PreferredTerm, SelectorTerm
from envs.kube.plugins.nodeaffinity import (
    ERR_REASON_CONFLICT,
    ERR_REASON_ENFORCED,
    ERR_REASON_POD,
    OBJECT_NAME_FIELD,
    NodeAffinity,
    requirement_error,
)
from envs.kube.plugins.nodename import ERR_REASON as ERR_REASON_NODE_NAME
from envs.kube.plugins.noderesources import BalancedAllocation, Fit
from envs.kube.plugins.noderesources.strategies import balanced_resource_score
from envs.kube.plugins.nodeunschedulable import ERR_REASON_UNSCHEDULABLE, TAINT_NODE_UNSCHEDULABLE
from envs.kube.plugins.tainttoleration import ERR_REASON_UNTOLERATED
from envs.kube.profile import Profile
from envs.kube.resources import is_scalar_resource_name
from envs.workload.types import MILLI_GPU

# Filter outcome per node: 0 fits, else the first failing plugin (in the profile's order).
FITS = 0
GPU_DEVICES = "GpuDevices"
ERR_REASON_GPU_DEVICES = "Insufficient GPU devices"


def term_mask(cluster: ClusterState, term: SelectorTerm) -> np.ndarray:
    """Nodes a NodeSelectorTerm matches (vectorised nodeaffinity term matching)."""
    n = cluster.num_nodes
    if not term.match_expressions and not term.match_fields:
        return np.zeros(n, dtype=bool)
    mask = np.ones(n, dtype=bool)
    labels = cluster.labels
    for r in term.match_expressions:
        if requirement_error(r):
            return np.zeros(n, dtype=bool)
        if r.operator == "In":
            mask &= labels.equals(r.key, r.values)
        elif r.operator == "NotIn":
            mask &= ~labels.equals(r.key, r.values)
        elif r.operator == "Exists":
            mask &= labels.exists(r.key)
        elif r.operator == "DoesNotExist":
            mask &= ~labels.exists(r.key)
        else:
            mask &= labels.compare(r.key, int(r.values[0]), r.operator == "Gt")
    for r in term.match_fields:
        if requirement_error(r, field=True):
            return np.zeros(n, dtype=bool)
        same = cluster.names_array == r.values[0]
        mask &= same if r.operator == "In" else ~same
    return mask


def terms_mask(cluster: ClusterState, terms: tuple[SelectorTerm, ...]) -> np.ndarray:
    """Nodes any of the ORed terms matches."""
    mask = np.zeros(cluster.num_nodes, dtype=bool)
    for t in terms:
        mask |= term_mask(cluster, t)
    return mask


def preferred_scores(cluster: ClusterState, terms: tuple[PreferredTerm, ...]) -> np.ndarray:
    """Sum of the weights of matching preferred terms, per node."""
    out = np.zeros(cluster.num_nodes, dtype=np.int64)
    for t in terms:
        if t.weight != 0:
            out += t.weight * term_mask(cluster, t.preference)
    return out


def normalize(scores: np.ndarray, reverse: bool) -> np.ndarray:
    """DefaultNormalizeScore(MaxNodeScore, reverse) over the given nodes."""
    top = int(scores.max(initial=0))
    if top == 0:
        return np.full(len(scores), MAX_NODE_SCORE, dtype=np.int64) if reverse else scores.astype(np.int64)
    out = MAX_NODE_SCORE * scores // top
    return MAX_NODE_SCORE - out if reverse else out


@dataclass
class StaticVerdict:
    """What a template's constraints give on every node; valid for one ClusterState.static_version."""

    code: np.ndarray  # int8 [N]: 0 passes the static filters, else 1 + index of the first failing check
    checks: list[tuple[str, str]]  # (plugin, reason) of each check
    taint_counts: np.ndarray  # int64 [N] untolerated PreferNoSchedule taints
    affinity_scores: np.ndarray | None  # int64 [N], None when NodeAffinity's PreScore skips
    version: int


class VectorProfile:
    """A kube-scheduler profile evaluated over all nodes of a ClusterState."""

    def __init__(self, profile: Profile):
        self.profile = profile
        self.filter_names = [p.name for p in profile.filter_plugins]
        self.weights = {p.name: w for p, w in profile.score_plugins}
        fit = profile.plugin("NodeResourcesFit")
        self.fit: Fit | None = fit if isinstance(fit, Fit) else None
        ba = profile.plugin("NodeResourcesBalancedAllocation")
        self.balanced: BalancedAllocation | None = ba if isinstance(ba, BalancedAllocation) else None
        na = profile.plugin("NodeAffinity")
        self.node_affinity: NodeAffinity | None = na if isinstance(na, NodeAffinity) else None
        self._static: dict[tuple[int, int], tuple[Pod, StaticVerdict]] = {}
        self._column_cache: dict[tuple, tuple] = {}
        self._fit_checked: dict[tuple[str, ...], np.ndarray] = {}

    # ---- Filter ------------------------------------------------------------------------------
    def static_verdict(self, cluster: ClusterState, template: Pod) -> StaticVerdict:
        """NodeUnschedulable, NodeName, TaintToleration and NodeAffinity for a template (cached)."""
        key = (id(template), id(cluster))
        hit = self._static.get(key)
        if hit is not None and hit[1].version == cluster.static_version:
            return hit[1]
        verdict = self._compute_static(cluster, template)
        self._static[key] = (template, verdict)
        return verdict

    def _compute_static(self, cluster: ClusterState, pod: Pod) -> StaticVerdict:
        n = cluster.num_nodes
        taint_list = cluster.taints.taints
        checks: list[tuple[str, str, np.ndarray]] = []  # (plugin, reason, nodes failing), in Filter order
        if "NodeAffinity" in self.filter_names:
            allowed = self._prefilter_node_names(pod)
            if allowed is not None and allowed:
                left_out = ~np.isin(cluster.names_array, sorted(allowed))
                checks.append(("NodeAffinity", prefilter_reason(["NodeAffinity"]), left_out))
        for plugin in self.filter_names:
            if plugin == "NodeUnschedulable":
                tolerates = any(t.tolerates(TAINT_NODE_UNSCHEDULABLE) for t in pod.tolerations)
                checks.append((plugin, ERR_REASON_UNSCHEDULABLE, cluster.unschedulable & (not tolerates)))
            elif plugin == "NodeName":
                fails = (cluster.names_array != pod.node_name) if pod.node_name else np.zeros(n, dtype=bool)
                checks.append((plugin, ERR_REASON_NODE_NAME, fails))
            elif plugin == "TaintToleration":
                bad = np.array(
                    [
                        t.effect in ("NoSchedule", "NoExecute") and not any(x.tolerates(t) for x in pod.tolerations)
                        for t in taint_list
                    ],
                    dtype=bool,
                )
                fails = cluster.taints.matrix[:, bad].any(axis=1) if bad.any() else np.zeros(n, dtype=bool)
                checks.append((plugin, ERR_REASON_UNTOLERATED, fails))
            elif plugin == "NodeAffinity":
                checks.extend((plugin, reason, fails) for reason, fails in self._affinity_checks(cluster, pod))
        code = np.zeros(n, dtype=np.int8)
        for i in range(len(checks) - 1, -1, -1):  # the first failing check wins
            code[checks[i][2]] = i + 1
        prefer = np.array(
            [
                t.effect == "PreferNoSchedule"
                and not any(x.tolerates(t) for x in pod.tolerations if x.effect in ("", "PreferNoSchedule"))
                for t in taint_list
            ],
            dtype=bool,
        )
        taint_counts = (
            cluster.taints.matrix[:, prefer].sum(axis=1).astype(np.int64)
            if prefer.any()
            else np.zeros(n, dtype=np.int64)
        )
        return StaticVerdict(
            code,
            [(p, r) for p, r, _ in checks],
            taint_counts,
            self._affinity_scores(cluster, pod),
            cluster.static_version,
        )

    @staticmethod
    def _prefilter_node_names(pod: Pod) -> set[str] | None:
        """NodeAffinity's PreFilterResult: the node names every required term pins, or None (any node)."""
        if not pod.required_terms:
            return None
        names: set[str] = set()
        for term in pod.required_terms:
            term_names: set[str] | None = None
            for r in term.match_fields:
                if r.key == OBJECT_NAME_FIELD and r.operator == "In":
                    term_names = set(r.values) if term_names is None else term_names & set(r.values)
            if term_names is None:
                return None
            names |= term_names
        return names

    def _affinity_checks(self, cluster: ClusterState, pod: Pod) -> list[tuple[str, np.ndarray]]:
        """NodeAffinity's PreFilter and Filter as (reason, failing nodes), in the order upstream checks them."""
        n = cluster.num_nodes
        allowed = self._prefilter_node_names(pod)
        if allowed is not None and not allowed:  # every term pins metadata.name, and no name is left
            return [(ERR_REASON_CONFLICT, np.ones(n, dtype=bool))]
        checks = []
        na = self.node_affinity
        if na is not None and na.added_required is not None:
            checks.append((ERR_REASON_ENFORCED, ~terms_mask(cluster, na.added_required)))
        ok = np.ones(n, dtype=bool)
        for key, value in pod.node_selector.items():
            ok &= cluster.labels.equals(key, (value,))
        if pod.required_terms is not None:
            ok &= terms_mask(cluster, pod.required_terms)
        checks.append((ERR_REASON_POD, ~ok))
        return checks

    def _affinity_scores(self, cluster: ClusterState, pod: Pod) -> np.ndarray | None:
        na = self.node_affinity
        if na is None or "NodeAffinity" not in self.weights:
            return None
        has_preferred = "preferredDuringSchedulingIgnoredDuringExecution" in (
            ((pod.raw.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {}
        )
        if not has_preferred and na.added_preferred is None:
            return None
        return preferred_scores(cluster, pod.preferred_terms) + preferred_scores(cluster, na.added_preferred or ())

    def resource_fit(self, cluster: ClusterState, pod: PodRequest) -> np.ndarray:
        """NodeResourcesFit's Filter over all nodes (the pod count and every requested resource)."""
        ok = cluster.pod_count < cluster.allowed_pods
        free = cluster.free_t
        for col in self._fit_columns(cluster, pod):
            ok &= free[col] >= pod.requests[col]
        return ok

    def fit_checked(self, cluster: ClusterState) -> np.ndarray:
        """Per column, whether NodeResourcesFit checks it (cpu, memory, ephemeral-storage, unignored scalars)."""
        checked = self._fit_checked.get(cluster.resources_key)
        if checked is None:
            checked = self._fit_checked[cluster.resources_key] = np.array(
                [self._fit_checks(r) for r in cluster.resources], dtype=bool
            )
        return checked

    def _fit_columns(self, cluster: ClusterState, pod: PodRequest) -> list[int]:
        """The columns Fit checks for `pod`: requested, and cpu/memory/ephemeral-storage or an unignored scalar."""
        return np.flatnonzero((pod.requests != 0) & self.fit_checked(cluster)).tolist()

    def _fit_checks(self, resource: str) -> bool:
        if resource in (CPU, MEMORY, EPHEMERAL_STORAGE):
            return True
        if not is_scalar_resource_name(resource):
            return False
        if self.fit is None:
            return True
        extended = "/" in resource and "kubernetes.io/" not in resource
        return not (
            extended and (resource in self.fit.ignored_resources or resource.split("/")[0] in self.fit.ignored_groups)
        )

    def filter(self, cluster: ClusterState, pod: PodRequest) -> np.ndarray:
        """The nodes where `pod` passes every Filter plugin of the profile (and GPU devices fit)."""
        ok = cluster.alive & (self.static_verdict(cluster, pod.template).code == FITS)
        if self.fit is not None:
            ok &= self.resource_fit(cluster, pod)
        if pod.gpu_count:
            ok &= cluster.gpu_fit(pod)
        return ok

    def static_anywhere(self, cluster: ClusterState, template: Pod) -> bool:
        """Whether some live node admits the template's constraints (the static filters)."""
        return bool((cluster.alive & (self.static_verdict(cluster, template).code == FITS)).any())

    def filter_statuses(self, cluster: ClusterState, pod: PodRequest) -> list[Status | None]:
        """Per node, None when it fits, else the first failing plugin's Status (as envs.kube reports it)."""
        static = self.static_verdict(cluster, pod.template)
        fit_reasons = self._fit_reasons(cluster, pod) if self.fit is not None else None
        gpu_ok = cluster.gpu_fit(pod)
        out: list[Status | None] = []
        for j in range(cluster.num_nodes):
            if not cluster.alive[j]:
                out.append(Status(CODE_UNRESOLVABLE, ("node(s) failed",), "NodeLifecycle"))
            elif static.code[j] != FITS:
                plugin, reason = static.checks[int(static.code[j]) - 1]
                out.append(Status(CODE_UNRESOLVABLE, (reason,), plugin))
            elif fit_reasons is not None and fit_reasons[j]:
                code = CODE_UNRESOLVABLE if any(u for _, u in fit_reasons[j]) else CODE_UNSCHEDULABLE
                out.append(Status(code, tuple(r for r, _ in fit_reasons[j]), "NodeResourcesFit"))
            elif not gpu_ok[j]:
                out.append(Status(CODE_UNSCHEDULABLE, (ERR_REASON_GPU_DEVICES,), GPU_DEVICES))
            else:
                out.append(None)
        return out

    def _fit_reasons(self, cluster: ClusterState, pod: PodRequest) -> list[list[tuple[str, bool]]]:
        n = cluster.num_nodes
        out: list[list[tuple[str, bool]]] = [[] for _ in range(n)]
        for j in np.flatnonzero(cluster.pod_count + 1 > cluster.allowed_pods):
            out[j].append(("Too many pods", False))
        cols = [c for c in np.flatnonzero(pod.requests) if self._fit_checks(cluster.resources[c])]
        native = [c for c in cols if cluster.resources[c] in (CPU, MEMORY, EPHEMERAL_STORAGE)]
        scalars = sorted((c for c in cols if c not in native), key=lambda c: cluster.resources[c])
        for col in [*sorted(native), *scalars]:
            name = cluster.resources[col]
            short = cluster.allocatable[:, col] - cluster.requested[:, col] < pod.requests[col]
            unresolvable = cluster.allocatable[:, col] < pod.requests[col]
            for j in np.flatnonzero(short):
                out[j].append((f"Insufficient {name}", bool(unresolvable[j])))
        return out

    # ---- Score -------------------------------------------------------------------------------
    def plugin_scores(self, cluster: ClusterState, pod: PodRequest, nodes: np.ndarray) -> dict[str, np.ndarray]:
        """Each Score plugin's normalised score over `nodes` (the feasible ones); skipped plugins are absent."""
        out: dict[str, np.ndarray] = {}
        static = self.static_verdict(cluster, pod.template)
        for name in self.weights:
            if name == "TaintToleration":
                out[name] = normalize(static.taint_counts[nodes], reverse=True)
            elif name == "NodeAffinity":
                if static.affinity_scores is not None:
                    out[name] = normalize(static.affinity_scores[nodes], reverse=False)
            elif name == "NodeResourcesFit" and self.fit is not None:
                out[name] = self._resource_score(cluster, pod, nodes, self.fit.resources, False, self.fit.scorer)
            elif name == "NodeResourcesBalancedAllocation" and self._requests_any(cluster, pod):
                out[name] = self._resource_score(
                    cluster, pod, nodes, self.balanced.resources, True, balanced_resource_score
                )
        return out

    def _requests_any(self, cluster: ClusterState, pod: PodRequest) -> bool:
        """Whether the pod requests any BalancedAllocation resource (else PreScore skips: a best-effort pod)."""
        ba = self.balanced
        return ba is not None and any(pod.requests[cluster.column[r]] for r in ba.resources if r in cluster.column)

    def score(self, cluster: ClusterState, pod: PodRequest, nodes: np.ndarray) -> np.ndarray:
        """The weighted total over `nodes`; 1 per node when the profile has no Score plugin."""
        if not self.weights:
            return np.ones(len(nodes), dtype=np.int64)
        total = np.zeros(len(nodes), dtype=np.int64)
        for name, s in self.plugin_scores(cluster, pod, nodes).items():
            total += self.weights[name] * s
        return total

    def _resource_score(
        self,
        cluster: ClusterState,
        pod: PodRequest,
        nodes: np.ndarray,
        resources: list[str],
        use_requested: bool,
        scorer,
    ) -> np.ndarray:
        """Gather (requested incl. the pod, allocatable) of `resources` on `nodes` and apply `scorer`.

        As upstream's resource_allocation.go: cpu/memory count non-zero requests unless `use_requested`;
        a scalar resource the pod does not request, a resource that is not a scalar, cpu, memory or
        ephemeral-storage, and a resource the node lacks are left out (allocatable 0).
        """
        cols, keep, scalar = self._columns(cluster, tuple(resources))
        pod_vec = (pod.requests if use_requested else pod.scoring_requests)[cols]
        matrix = cluster.requested_t if use_requested else cluster.scoring_requested_t
        used = matrix[cols].take(nodes, axis=1).T
        allocatable = cluster.allocatable_t[cols].take(nodes, axis=1).T
        skip = ~keep | ((pod_vec == 0) & scalar) if scalar.any() or not keep.all() else None
        if skip is not None and skip.any():
            allocatable = allocatable.copy()
            allocatable[:, skip] = 0
        return scorer(used + pod_vec, allocatable)

    def _columns(self, cluster: ClusterState, resources: tuple[str, ...]):
        """(columns as a slice when contiguous, kept-resource mask, scalar-resource mask), cached."""
        key = (cluster.resources_key, resources)
        hit = self._column_cache.get(key)
        if hit is None:
            idx = [cluster.column.get(r, 0) for r in resources]
            cols: slice | np.ndarray = np.array(idx, dtype=np.intp)
            if idx == list(range(idx[0], idx[0] + len(idx))):
                cols = slice(idx[0], idx[0] + len(idx))
            keep = np.array(
                [
                    r in cluster.column and (r in (CPU, MEMORY, EPHEMERAL_STORAGE) or is_scalar_resource_name(r))
                    for r in resources
                ],
                dtype=bool,
            )
            scalar = np.array([is_scalar_resource_name(r) for r in resources], dtype=bool)
            hit = self._column_cache[key] = (cols, keep, scalar)
        return hit


def gpu_milli_total(cluster: ClusterState) -> int:
    """Total milli-GPU capacity of the live nodes."""
    return int((cluster.gpu_count[cluster.alive]).sum()) * MILLI_GPU
