"""NodeUnschedulable: a cordoned node (spec.unschedulable) takes only pods that tolerate its taint."""

from __future__ import annotations

from typing import TYPE_CHECKING

from podgym.envs.kube.framework import UNSCHEDULABLE_AND_UNRESOLVABLE, Check, CycleState, Plugin, Status
from podgym.envs.kube.nodeinfo import NodeInfo
from podgym.envs.kube.objects import Pod, Taint

if TYPE_CHECKING:  # envs.cluster imports envs.kube: for annotations only
    from podgym.envs.cluster import ClusterState

ERR_REASON_UNSCHEDULABLE = "node(s) were unschedulable"
TAINT_NODE_UNSCHEDULABLE = Taint("node.kubernetes.io/unschedulable", "", "NoSchedule")


class NodeUnschedulable(Plugin):
    name = "NodeUnschedulable"
    filters = True

    def filter(self, state: CycleState, pod: Pod, node: NodeInfo) -> Status | None:
        if not node.node.unschedulable:
            return None
        if any(t.tolerates(TAINT_NODE_UNSCHEDULABLE) for t in pod.tolerations):
            return None
        return Status(UNSCHEDULABLE_AND_UNRESOLVABLE, (ERR_REASON_UNSCHEDULABLE,), self.name)

    def static_filter(self, cluster: ClusterState, pod: Pod) -> list[Check]:
        tolerates = any(t.tolerates(TAINT_NODE_UNSCHEDULABLE) for t in pod.tolerations)
        return [(ERR_REASON_UNSCHEDULABLE, cluster.unschedulable & (not tolerates))]
