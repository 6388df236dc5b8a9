"""NodeResourcesFit: the pod's requests must fit the node's free allocatable; scoring by strategy.

Filter compares actual requests (no defaults); scoring uses the non-zero requests (100m cpu /
200Mi memory for a container that sets none), as upstream noderesources/fit.go does.
"""

from __future__ import annotations

from envs.kube.framework import UNSCHEDULABLE, UNSCHEDULABLE_AND_UNRESOLVABLE, CycleState, Plugin, Status
from envs.kube.nodeinfo import NodeInfo
from envs.kube.objects import CPU, EPHEMERAL_STORAGE, MEMORY, Pod
from envs.kube.plugins.args import NodeResourcesFitArgs, parse_args
from envs.kube.plugins.noderesources.resource_allocation import pod_request_list, score_node
from envs.kube.plugins.noderesources.strategies import build_scorer
from envs.kube.resources import is_scalar_resource_name, pod_requests


def _is_extended(name: str) -> bool:
    return "/" in name and "kubernetes.io/" not in name and is_scalar_resource_name(name)


class Fit(Plugin):
    name = "NodeResourcesFit"
    filters = True
    scores = True

    def __init__(self, args=None):
        super().__init__(args)
        self.config = parse_args(NodeResourcesFitArgs, args, self.name)
        self.ignored_resources = set(self.config.ignored_resources)
        self.ignored_groups = set(self.config.ignored_resource_groups)
        self.resources = [r.name for r in self.config.scoring_strategy.resources]
        self.scorer = build_scorer(self.config.scoring_strategy)

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
