"""NodeInfo: a node with the pods bound to it and what they request (pkg/scheduler/framework NodeInfo)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from podgym.envs.kube.objects import CPU, MEMORY, Node, Pod, ResourceList
from podgym.envs.kube.resources import non_zero_requests, pod_requests


@dataclass
class NodeInfo:
    """A node, its pods, their summed actual requests and their non-zero (scoring) cpu/memory requests."""

    node: Node
    pods: list[Pod] = field(default_factory=list)
    requested: ResourceList = field(default_factory=dict)
    non_zero_requested: ResourceList = field(default_factory=lambda: {CPU: 0, MEMORY: 0})

    @property
    def name(self) -> str:
        return self.node.name

    def add_pod(self, pod: Pod) -> None:
        """Account for `pod` running on this node."""
        self.pods.append(pod)
        requests = pod_requests(pod)
        for name, v in requests.items():
            self.requested[name] = self.requested.get(name, 0) + v
        non_zero = non_zero_requests(pod)
        for name in (CPU, MEMORY):
            self.non_zero_requested[name] += non_zero.get(name, 0)


def build_node_infos(nodes: Iterable[Node], pods: Iterable[Pod]) -> list[NodeInfo]:
    """NodeInfos for `nodes`, holding every non-terminal pod in `pods` whose spec.nodeName names one of them.

    Pods bound to other nodes, unbound pods and Succeeded/Failed pods are left out, as the scheduler's
    cache leaves them out.
    """
    infos = [NodeInfo(n) for n in nodes]
    by_name = {info.name: info for info in infos}
    for p in pods:
        info = by_name.get(p.node_name)
        if info is not None and not p.is_terminal:
            info.add_pod(p)
    return infos
