"""NodeResourcesFit: the pod's requests must fit the node's free allocatable; scoring by strategy.

Filter compares actual requests (no defaults); scoring uses the non-zero requests (100m cpu /
200Mi memory for a container that sets none), as upstream noderesources/fit.go does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from podgym.envs.kube.framework import UNSCHEDULABLE, UNSCHEDULABLE_AND_UNRESOLVABLE, CycleState, Plugin, Status
from podgym.envs.kube.nodeinfo import NodeInfo
from podgym.envs.kube.objects import CPU, EPHEMERAL_STORAGE, MEMORY, Pod
from podgym.envs.kube.plugins.args import NodeResourcesFitArgs, parse_args
from podgym.envs.kube.plugins.noderesources.resource_allocation import pod_request_list, score_node, vector_score
from podgym.envs.kube.plugins.noderesources.strategies import build_scorer
from podgym.envs.kube.resources import is_scalar_resource_name, pod_requests

if TYPE_CHECKING:  # envs.cluster imports envs.kube: for annotations only
    from podgym.envs.cluster import ClusterState, PodRequest


def _is_extended(name: str) -> bool:
    return "/" in name and "kubernetes.io/" not in name and is_scalar_resource_name(name)


class Fit(Plugin):
    name = "NodeResourcesFit"
    filters = True
    scores = True
    dynamic = True

    def __init__(self, args=None):
        super().__init__(args)
        self.config = parse_args(NodeResourcesFitArgs, args, self.name)
        self.ignored_resources = set(self.config.ignored_resources)
        self.ignored_groups = set(self.config.ignored_resource_groups)
        self.resources = [r.name for r in self.config.scoring_strategy.resources]
        self.scorer = build_scorer(self.config.scoring_strategy)
        self._checked: dict[tuple[str, ...], np.ndarray] = {}

    def pre_filter(self, state: CycleState, pod: Pod, nodes: list[NodeInfo]) -> Status | set[str] | None:
        state[self.name] = pod_requests(pod)
        return None

    def insufficient_resources(self, request: dict[str, int], node: NodeInfo) -> list[tuple[str, bool]]:
        """(reason, unresolvable) for each resource the node lacks (fitsRequest)."""
        out: list[tuple[str, bool]] = []
        if len(node.pods) + 1 > node.node.allowed_pods:
            out.append(("Too many pods", False))
        scalars = {r: v for r, v in request.items() if is_scalar_resource_name(r)}
        if not any(request.get(r, 0) for r in (CPU, MEMORY, EPHEMERAL_STORAGE)) and not scalars:
            return out
        alloc, used = node.node.allocatable, node.requested
        for resource in (CPU, MEMORY, EPHEMERAL_STORAGE):
            req = request.get(resource, 0)
            if req > 0 and req > alloc.get(resource, 0) - used.get(resource, 0):
                out.append((f"Insufficient {resource}", req > alloc.get(resource, 0)))
        # Upstream iterates a Go map here; sorting makes the order of several reasons deterministic.
        for resource in sorted(scalars):
            req = scalars[resource]
            if req == 0:
                continue
            if _is_extended(resource) and (
                resource in self.ignored_resources or resource.split("/")[0] in self.ignored_groups
            ):
                continue
            if req > alloc.get(resource, 0) - used.get(resource, 0):
                out.append((f"Insufficient {resource}", req > alloc.get(resource, 0)))
        return out

    def filter(self, state: CycleState, pod: Pod, node: NodeInfo) -> Status | None:
        request = state.get(self.name)
        if request is None:
            request = pod_requests(pod)
        insufficient = self.insufficient_resources(request, node)
        if not insufficient:
            return None
        code = UNSCHEDULABLE_AND_UNRESOLVABLE if any(u for _, u in insufficient) else UNSCHEDULABLE
        return Status(code, tuple(reason for reason, _ in insufficient), self.name)

    def pre_score(self, state: CycleState, pod: Pod, nodes: list[NodeInfo]) -> bool:
        state[f"{self.name}/score"] = pod_request_list(pod, self.resources, use_requested=False)
        return True

    def score(self, state: CycleState, pod: Pod, node: NodeInfo) -> int:
        return score_node(node, self.resources, state[f"{self.name}/score"], False, self.scorer)

    # ---- vectorised ---------------------------------------------------------------------------------
    def checks(self, resource: str) -> bool:
        """Whether Filter checks `resource`: cpu, memory, ephemeral-storage and scalars not ignored."""
        if resource in (CPU, MEMORY, EPHEMERAL_STORAGE):
            return True
        if not is_scalar_resource_name(resource):
            return False
        extended = "/" in resource and "kubernetes.io/" not in resource
        return not (extended and (resource in self.ignored_resources or resource.split("/")[0] in self.ignored_groups))

    def checked(self, cluster: ClusterState) -> np.ndarray:
        """Per resource column of `cluster`, whether Filter checks it (cached per column set)."""
        hit = self._checked.get(cluster.resources_key)
        if hit is None:
            hit = self._checked[cluster.resources_key] = np.array([self.checks(r) for r in cluster.resources], bool)
        return hit

    def fits(self, cluster: ClusterState, pod: PodRequest) -> np.ndarray:
        ok = cluster.pod_count < cluster.allowed_pods
        free = cluster.free_t
        for col in np.flatnonzero((pod.requests != 0) & self.checked(cluster)).tolist():
            ok &= free[col] >= pod.requests[col]
        return ok

    def fit_reasons(self, cluster: ClusterState, pod: PodRequest) -> list[list[tuple[str, bool]]]:
        out: list[list[tuple[str, bool]]] = [[] for _ in range(cluster.num_nodes)]
        for j in np.flatnonzero(cluster.pod_count + 1 > cluster.allowed_pods):
            out[j].append(("Too many pods", False))
        cols = [c for c in np.flatnonzero(pod.requests) if self.checks(cluster.resources[c])]
        native = [c for c in cols if cluster.resources[c] in (CPU, MEMORY, EPHEMERAL_STORAGE)]
        scalars = sorted((c for c in cols if c not in native), key=lambda c: cluster.resources[c])
        for col in [*sorted(native), *scalars]:
            name = cluster.resources[col]
            short = cluster.allocatable[:, col] - cluster.requested[:, col] < pod.requests[col]
            unresolvable = cluster.allocatable[:, col] < pod.requests[col]
            for j in np.flatnonzero(short):
                out[j].append((f"Insufficient {name}", bool(unresolvable[j])))
        return out

    def hint(
        self, cluster: ClusterState, requests: np.ndarray, node: int, templates: np.ndarray | None = None
    ) -> np.ndarray:
        if cluster.pod_count[node] >= cluster.allowed_pods[node]:
            return np.zeros(len(requests), dtype=bool)
        short = (requests > cluster.free_t[:, node]) & (requests != 0) & self.checked(cluster)
        return ~short.any(axis=1)

    def vector_score(
        self, cluster: ClusterState, pod: PodRequest, nodes: np.ndarray, static: np.ndarray | None
    ) -> np.ndarray | None:
        return vector_score(cluster, pod, nodes, self.resources, False, self.scorer)
