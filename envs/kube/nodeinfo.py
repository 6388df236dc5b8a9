"""NodeInfo: a node with the pods bound to it and what they request (pkg/scheduler/framework NodeInfo)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from podgym.envs.kube.objects import CPU, MEMORY, HostPort, Node, Pod, ResourceList
from podgym.envs.kube.resources import non_zero_requests, pod_requests


@dataclass(frozen=True)
class ImageStateSummary:
    """An image on a node, as the scheduler's snapshot summarises it: its size there and how many nodes hold it."""

    size: int
    num_nodes: int


@dataclass
class NodeInfo:
    """A node, its pods, their summed actual requests and their non-zero (scoring) cpu/memory requests, the host
    ports they hold, and the node's images with the number of nodes of the snapshot (``snapshot_nodes``)."""

    node: Node
    pods: list[Pod] = field(default_factory=list)
    requested: ResourceList = field(default_factory=dict)
    non_zero_requested: ResourceList = field(default_factory=lambda: {CPU: 0, MEMORY: 0})
    used_ports: list[HostPort] = field(default_factory=list)
    image_states: dict[str, ImageStateSummary] = field(default_factory=dict)
    snapshot_nodes: int = 1

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
        self.used_ports.extend(pod.host_ports)


def build_node_infos(nodes: Iterable[Node], pods: Iterable[Pod]) -> list[NodeInfo]:
    """NodeInfos for `nodes`, holding every non-terminal pod in `pods` whose spec.nodeName names one of them.

    Each NodeInfo holds its node's images summarised over `nodes` (getNodeImageStates). Pods bound to other
    nodes, unbound pods and Succeeded/Failed pods are left out, as the scheduler's cache leaves them out.
    """
    nodes = list(nodes)
    holders: dict[str, set[str]] = {}
    for n in nodes:
        for image in n.images:
            for name in image.names:
                holders.setdefault(name, set()).add(n.name)
    infos = []
    for n in nodes:
        states = {
            name: ImageStateSummary(image.size_bytes, len(holders[name])) for image in n.images for name in image.names
        }
        infos.append(NodeInfo(n, image_states=states, snapshot_nodes=len(nodes)))
    by_name = {info.name: info for info in infos}
    for p in pods:
        info = by_name.get(p.node_name)
        if info is not None and not p.is_terminal:
            info.add_pod(p)
    return infos
