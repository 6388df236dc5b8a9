"""NodeResourcesBalancedAllocation (v1.35): favour nodes whose resource fractions stay close together.

``score = int((1 - std) * 100)`` over the fractions requested/allocatable (actual requests, the pod
included, each capped at 1); a pod that requests none of the resources is skipped (PreScore Skip).
The v1.36 formula (PR kubernetes/kubernetes#135573, scoring the change in balance) is not used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from podgym.envs.kube.framework import CycleState, Plugin
from podgym.envs.kube.nodeinfo import NodeInfo
from podgym.envs.kube.objects import Pod
from podgym.envs.kube.plugins.args import NodeResourcesBalancedAllocationArgs, parse_args
from podgym.envs.kube.plugins.noderesources.resource_allocation import pod_request_list, score_node, vector_score
from podgym.envs.kube.plugins.noderesources.strategies import balanced_resource_score

if TYPE_CHECKING:  # envs.cluster imports envs.kube: for annotations only
    from podgym.envs.cluster import ClusterState, PodRequest


class BalancedAllocation(Plugin):
    name = "NodeResourcesBalancedAllocation"
    scores = True

    def __init__(self, args=None):
        super().__init__(args)
        config = parse_args(NodeResourcesBalancedAllocationArgs, args, self.name)
        self.resources = [r.name for r in config.resources]

    def pre_score(self, state: CycleState, pod: Pod, nodes: list[NodeInfo]) -> bool:
        request = pod_request_list(pod, self.resources, use_requested=True)
        state[self.name] = request
        return any(request)  # a best-effort pod is skipped (kubernetes/kubernetes#129138)

    def score(self, state: CycleState, pod: Pod, node: NodeInfo) -> int:
        return score_node(node, self.resources, state[self.name], True, balanced_resource_score)

    def vector_score(
        self, cluster: ClusterState, pod: PodRequest, nodes: np.ndarray, static: np.ndarray | None
    ) -> np.ndarray | None:
        # PreScore skips a pod that requests none of the resources (a best-effort pod).
        if not any(pod.requests[cluster.column[r]] for r in self.resources if r in cluster.column):
            return None
        return vector_score(cluster, pod, nodes, self.resources, True, balanced_resource_score)
