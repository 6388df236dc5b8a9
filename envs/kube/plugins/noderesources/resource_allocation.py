"""The scorer shared by NodeResourcesFit and BalancedAllocation (noderesources/resource_allocation.go), on one
node and over every node of a ClusterState."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from podgym.envs.kube.nodeinfo import NodeInfo
from podgym.envs.kube.objects import CPU, EPHEMERAL_STORAGE, MEMORY, Pod
from podgym.envs.kube.plugins.noderesources.strategies import Scorer
from podgym.envs.kube.resources import NON_ZERO_DEFAULTS, is_scalar_resource_name, pod_requests

if TYPE_CHECKING:  # envs.cluster imports envs.kube: for annotations only
    from podgym.envs.cluster import ClusterState, PodRequest


def pod_request_list(pod: Pod, resources: Sequence[str], use_requested: bool) -> list[int]:
    """The pod's request of each resource; without `use_requested`, missing cpu/memory count 100m/200Mi."""
    reqs = pod_requests(pod, None if use_requested else NON_ZERO_DEFAULTS)
    return [reqs.get(r, 0) for r in resources]


def allocatable_and_requested(node: NodeInfo, resource: str, pod_request: int, use_requested: bool) -> tuple[int, int]:
    """(allocatable, requested incl. the pod) of one resource; (0, 0) means the resource is left out."""
    if pod_request == 0 and is_scalar_resource_name(resource):
        return 0, 0
    requested = node.requested if use_requested else node.non_zero_requested
    alloc = node.node.allocatable
    if resource in (CPU, MEMORY):
        return alloc.get(resource, 0), requested.get(resource, 0) + pod_request
    if resource == EPHEMERAL_STORAGE:
        return alloc.get(resource, 0), node.requested.get(resource, 0) + pod_request
    if resource in alloc and is_scalar_resource_name(resource):
        return alloc[resource], node.requested.get(resource, 0) + pod_request
    return 0, 0


def score_node(
    node: NodeInfo, resources: Sequence[str], pod_request: Sequence[int], use_requested: bool, scorer: Scorer
) -> int:
    """Build the (requested, allocatable) vectors of a node and apply `scorer`."""
    requested = [0] * len(resources)
    allocatable = [0] * len(resources)
    for i, resource in enumerate(resources):
        alloc, req = allocatable_and_requested(node, resource, pod_request[i], use_requested)
        if alloc == 0:
            continue
        allocatable[i] = alloc
        requested[i] = req
    return int(scorer(np.array([requested], dtype=np.int64), np.array([allocatable], dtype=np.int64))[0])


def vector_score(
    cluster: ClusterState,
    pod: PodRequest,
    nodes: np.ndarray,
    resources: Sequence[str],
    use_requested: bool,
    scorer: Scorer,
) -> np.ndarray:
    """score_node over `nodes` of a ClusterState: gather (requested incl. the pod, allocatable) and apply `scorer`.

    As upstream's resource_allocation.go: cpu/memory count non-zero requests unless `use_requested`;
    a scalar resource the pod does not request, a resource that is not a scalar, cpu, memory or
    ephemeral-storage, and a resource the node lacks are left out (allocatable 0).
    """
    cols, keep, scalar = _columns(cluster, tuple(resources))
    pod_vec = (pod.requests if use_requested else pod.scoring_requests)[cols]
    matrix = cluster.requested_t if use_requested else cluster.scoring_requested_t
    used = matrix[cols].take(nodes, axis=1).T
    allocatable = cluster.allocatable_t[cols].take(nodes, axis=1).T
    skip = ~keep | ((pod_vec == 0) & scalar) if scalar.any() or not keep.all() else None
    if skip is not None and skip.any():
        allocatable = allocatable.copy()
        allocatable[:, skip] = 0
    return scorer(used + pod_vec, allocatable)


_COLUMNS: dict[tuple, tuple] = {}


def _columns(cluster: ClusterState, resources: tuple[str, ...]) -> tuple[slice | np.ndarray, np.ndarray, np.ndarray]:
    """(columns as a slice when contiguous, kept-resource mask, scalar-resource mask), cached."""
    key = (cluster.resources_key, resources)
    hit = _COLUMNS.get(key)
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
        if len(_COLUMNS) > 256:
            _COLUMNS.clear()
        hit = _COLUMNS[key] = (cols, keep, scalar)
    return hit
