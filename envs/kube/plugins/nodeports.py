"""NodePorts: a pod's host ports must be free on the node (pkg/scheduler/framework/plugins/nodeports).

PreFilter returns Skip for a pod without host ports, so the plugin costs nothing for most workloads. A conflict
is the same protocol and port on the same host IP, or on 0.0.0.0 on either side (HostPortInfo.CheckConflict).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from podgym.envs.kube.framework import SKIP, UNSCHEDULABLE, CycleState, Plugin, Status
from podgym.envs.kube.nodeinfo import NodeInfo
from podgym.envs.kube.objects import BIND_ALL_HOST_IP, HostPort, Pod

if TYPE_CHECKING:  # envs.cluster imports envs.kube: for annotations only
    from podgym.envs.cluster import ClusterState, PodRequest

ERR_REASON = "node(s) didn't have free ports for the requested pod ports"


def check_conflict(used: list[HostPort], want: HostPort) -> bool:
    """HostPortInfo.CheckConflict of `want` against the ports held on a node."""
    for p in used:
        if p.protocol != want.protocol or p.port != want.port:
            continue
        if want.host_ip == BIND_ALL_HOST_IP or p.host_ip in (BIND_ALL_HOST_IP, want.host_ip):
            return True
    return False


class NodePorts(Plugin):
    name = "NodePorts"
    filters = True
    dynamic = True

    def pre_filter(self, state: CycleState, pod: Pod, nodes: list[NodeInfo]) -> Status | set[str] | None:
        if not pod.host_ports:
            return Status(SKIP, (), self.name)
        return None

    def filter(self, state: CycleState, pod: Pod, node: NodeInfo) -> Status | None:
        if any(check_conflict(node.used_ports, want) for want in pod.host_ports):
            return Status(UNSCHEDULABLE, (ERR_REASON,), self.name)
        return None

    # ---- vectorised: ClusterState.used_ports ---------------------------------------------------------
    def skips_filter(self, pod: Pod) -> bool:
        return not pod.host_ports

    def fits(self, cluster: ClusterState, pod: PodRequest) -> np.ndarray:
        return ~cluster.used_ports.conflicts(pod.template.host_ports)

    def fit_reasons(self, cluster: ClusterState, pod: PodRequest) -> list[list[tuple[str, bool]]]:
        conflicts = cluster.used_ports.conflicts(pod.template.host_ports)
        return [[(ERR_REASON, False)] if c else [] for c in conflicts.tolist()]

    def hint(
        self, cluster: ClusterState, requests: np.ndarray, node: int, templates=(), template_of=None
    ) -> np.ndarray:
        if not cluster.used_ports.per_node[node] or not len(templates):
            return np.ones(len(requests), dtype=bool)
        if template_of is None:
            raise ValueError("NodePorts' queueing hint reads the waiting pods' host ports: pass their templates")
        verdicts = np.array(
            [not t.host_ports or not cluster.used_ports.conflicts_on(t.host_ports, node) for t in templates], dtype=bool
        )
        return verdicts[template_of]
