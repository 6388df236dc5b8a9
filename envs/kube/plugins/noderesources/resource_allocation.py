"""The scorer shared by NodeResourcesFit and BalancedAllocation (noderesources/resource_allocation.go)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from envs.kube.nodeinfo import NodeInfo
from envs.kube.objects import CPU, EPHEMERAL_STORAGE, MEMORY, Pod
from envs.kube.plugins.noderesources.strategies import Scorer
from envs.kube.resources import NON_ZERO_DEFAULTS, is_scalar_resource_name, pod_requests


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
