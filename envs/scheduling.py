"""kube-scheduler's Filter and Score plugins over all nodes at once, on a ClusterState.

A ``VectorProfile`` is built from an ``envs.kube`` Profile (so plugin sets, weights and args come from
the one configuration model) and iterates over its plugins' vectorised forms (``envs.kube.framework.Plugin``);
each plugin's file holds them beside its object-level Filter and Score, and a property-based test checks on
random clusters that both agree decision for decision, for every registered plugin. What depends only on a
pod's constraints and the nodes' names, labels, taints and cordons (the static checks and scores) is computed
once per pod template and cached.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from podgym.envs.cluster import ClusterState, PodRequest
from podgym.envs.kube.framework import UNSCHEDULABLE as CODE_UNSCHEDULABLE
from podgym.envs.kube.framework import UNSCHEDULABLE_AND_UNRESOLVABLE as CODE_UNRESOLVABLE
from podgym.envs.kube.framework import Check, Plugin, Status
from podgym.envs.kube.objects import Pod
from podgym.envs.kube.profile import Profile

# Filter outcome per node: 0 fits, else the first failing plugin (in the profile's order).
FITS = 0
GPU_DEVICES = "GpuDevices"
ERR_REASON_GPU_DEVICES = "Insufficient GPU devices"


@dataclass
class StaticVerdict:
    """What a template's constraints give on every node; valid for one ClusterState.static_version."""

    code: np.ndarray  # int8 [N]: 0 passes the static filters, else 1 + index of the first failing check
    checks: list[tuple[str, str]]  # (plugin, reason) of each check
    scores: dict[str, np.ndarray | None]  # each Score plugin's static_score (None: its PreScore skips)
    version: int
    dynamic: tuple[Plugin, ...] = ()  # the dynamic Filter plugins whose PreFilter does not Skip the template


class VectorProfile:
    """A kube-scheduler profile evaluated over all nodes of a ClusterState."""

    def __init__(self, profile: Profile):
        self.profile = profile
        self.filter_plugins: tuple[Plugin, ...] = profile.filter_plugins
        # Filter plugins that also read what is bound on a node; the others are wholly static.
        self.dynamic_filters: tuple[Plugin, ...] = tuple(p for p in profile.filter_plugins if p.dynamic)
        self.score_plugins: tuple[Plugin, ...] = tuple(p for p, _ in profile.score_plugins)
        self.weights = {p.name: w for p, w in profile.score_plugins}
        self._static: dict[tuple[int, int], tuple[Pod, StaticVerdict]] = {}

    # ---- Filter ------------------------------------------------------------------------------
    def static_verdict(self, cluster: ClusterState, template: Pod) -> StaticVerdict:
        """Every Filter plugin's static checks and every Score plugin's static scores for a template (cached)."""
        key = (id(template), id(cluster))
        hit = self._static.get(key)
        if hit is not None and hit[1].version == cluster.static_version:
            return hit[1]
        verdict = self._compute_static(cluster, template)
        self._static[key] = (template, verdict)
        return verdict

    def _compute_static(self, cluster: ClusterState, pod: Pod) -> StaticVerdict:
        # PreFilter results narrow the nodes before any Filter runs; then each plugin's checks, in Filter order.
        checks: list[tuple[str, Check]] = [
            (p.name, c) for p in self.filter_plugins for c in p.static_pre_filter(cluster, pod)
        ]
        checks += [(p.name, c) for p in self.filter_plugins for c in p.static_filter(cluster, pod)]
        code = np.zeros(cluster.num_nodes, dtype=np.int8)
        for i in range(len(checks) - 1, -1, -1):  # the first failing check wins
            code[checks[i][1][1]] = i + 1
        scores = {p.name: p.static_score(cluster, pod) for p in self.score_plugins}
        dynamic = tuple(p for p in self.dynamic_filters if not p.skips_filter(pod))
        checks_named = [(name, reason) for name, (reason, _) in checks]
        return StaticVerdict(code, checks_named, scores, cluster.static_version, dynamic)

    def filter(self, cluster: ClusterState, pod: PodRequest) -> np.ndarray:
        """The nodes where `pod` passes every Filter plugin of the profile (and GPU devices fit)."""
        static = self.static_verdict(cluster, pod.template)
        ok = cluster.alive & (static.code == FITS)
        for plugin in static.dynamic:
            ok &= plugin.fits(cluster, pod)
        if pod.gpu_count:
            ok &= cluster.gpu_fit(pod)
        return ok

    def filter_statuses(self, cluster: ClusterState, pod: PodRequest) -> list[Status | None]:
        """Per node, None when it fits, else the first failing plugin's Status (as envs.kube reports it)."""
        static = self.static_verdict(cluster, pod.template)
        dynamic = [(p.name, p.fit_reasons(cluster, pod)) for p in static.dynamic]
        gpu_ok = cluster.gpu_fit(pod)
        out: list[Status | None] = []
        for j in range(cluster.num_nodes):
            if not cluster.alive[j]:
                out.append(Status(CODE_UNRESOLVABLE, ("node(s) failed",), "NodeLifecycle"))
                continue
            if static.code[j] != FITS:
                plugin, reason = static.checks[int(static.code[j]) - 1]
                out.append(Status(CODE_UNRESOLVABLE, (reason,), plugin))
                continue
            failed = next(((name, reasons[j]) for name, reasons in dynamic if reasons[j]), None)
            if failed is not None:
                name, reasons = failed
                code = CODE_UNRESOLVABLE if any(u for _, u in reasons) else CODE_UNSCHEDULABLE
                out.append(Status(code, tuple(r for r, _ in reasons), name))
            elif not gpu_ok[j]:
                out.append(Status(CODE_UNSCHEDULABLE, (ERR_REASON_GPU_DEVICES,), GPU_DEVICES))
            else:
                out.append(None)
        return out

    # ---- Score -------------------------------------------------------------------------------
    def plugin_scores(self, cluster: ClusterState, pod: PodRequest, nodes: np.ndarray) -> dict[str, np.ndarray]:
        """Each Score plugin's normalised score over `nodes` (the feasible ones); skipped plugins are absent."""
        out: dict[str, np.ndarray] = {}
        static = self.static_verdict(cluster, pod.template).scores
        for plugin in self.score_plugins:
            scores = plugin.vector_score(cluster, pod, nodes, static[plugin.name])
            if scores is not None:
                out[plugin.name] = scores
        return out

    def score(self, cluster: ClusterState, pod: PodRequest, nodes: np.ndarray) -> np.ndarray:
        """The weighted total over `nodes`; 1 per node when the profile has no Score plugin."""
        if not self.weights:
            return np.ones(len(nodes), dtype=np.int64)
        total = np.zeros(len(nodes), dtype=np.int64)
        for name, s in self.plugin_scores(cluster, pod, nodes).items():
            total += self.weights[name] * s
        return total
