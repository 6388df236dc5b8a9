"""NodeName: a pod that names its node (spec.nodeName) fits only that node."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from podgym.envs.kube.framework import UNSCHEDULABLE_AND_UNRESOLVABLE, Check, CycleState, Plugin, Status
from podgym.envs.kube.nodeinfo import NodeInfo
from podgym.envs.kube.objects import Pod

if TYPE_CHECKING:  # envs.cluster imports envs.kube: for annotations only
    from podgym.envs.cluster import ClusterState

ERR_REASON = "node(s) didn't match the requested node name"


class NodeName(Plugin):
    name = "NodeName"
    filters = True

    def filter(self, state: CycleState, pod: Pod, node: NodeInfo) -> Status | None:
        if not pod.node_name or pod.node_name == node.name:
            return None
        return Status(UNSCHEDULABLE_AND_UNRESOLVABLE, (ERR_REASON,), self.name)

    def static_filter(self, cluster: ClusterState, pod: Pod) -> list[Check]:
        fails = (cluster.names_array != pod.node_name) if pod.node_name else np.zeros(cluster.num_nodes, dtype=bool)
        return [(ERR_REASON, fails)]
