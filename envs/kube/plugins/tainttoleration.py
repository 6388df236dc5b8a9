"""TaintToleration: NoSchedule/NoExecute taints filter; untolerated PreferNoSchedule taints lower the score."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from podgym.envs.kube.framework import (
    MAX_NODE_SCORE,
    UNSCHEDULABLE_AND_UNRESOLVABLE,
    Check,
    CycleState,
    Plugin,
    Status,
    default_normalize_score,
    normalize,
)
from podgym.envs.kube.nodeinfo import NodeInfo
from podgym.envs.kube.objects import Pod, Taint, Toleration

if TYPE_CHECKING:  # envs.cluster imports envs.kube: for annotations only
    from podgym.envs.cluster import ClusterState, PodRequest

ERR_REASON_UNTOLERATED = "node(s) had untolerated taint(s)"


def find_untolerated_taint(
    taints: tuple[Taint, ...], tolerations: tuple[Toleration, ...], effects: tuple[str, ...]
) -> Taint | None:
    """The first taint with one of `effects` that no toleration tolerates (v1helper.FindMatchingUntoleratedTaint)."""
    for taint in taints:
        if taint.effect in effects and not any(t.tolerates(taint) for t in tolerations):
            return taint
    return None


class TaintToleration(Plugin):
    name = "TaintToleration"
    filters = True
    scores = True

    def filter(self, state: CycleState, pod: Pod, node: NodeInfo) -> Status | None:
        taint = find_untolerated_taint(node.node.taints, pod.tolerations, ("NoSchedule", "NoExecute"))
        if taint is None:
            return None
        return Status(UNSCHEDULABLE_AND_UNRESOLVABLE, (ERR_REASON_UNTOLERATED,), self.name)

    def pre_score(self, state: CycleState, pod: Pod, nodes: list[NodeInfo]) -> bool:
        state[self.name] = tuple(t for t in pod.tolerations if t.effect in ("", "PreferNoSchedule"))
        return True

    def score(self, state: CycleState, pod: Pod, node: NodeInfo) -> int:
        tolerations = state[self.name]
        return sum(
            1
            for taint in node.node.taints
            if taint.effect == "PreferNoSchedule" and not any(t.tolerates(taint) for t in tolerations)
        )

    def normalize_score(self, state: CycleState, pod: Pod, scores: list[int]) -> list[int]:
        return default_normalize_score(MAX_NODE_SCORE, True, scores)

    # ---- vectorised: a taint column per distinct taint of the cluster --------------------------------
    def static_filter(self, cluster: ClusterState, pod: Pod) -> list[Check]:
        bad = np.array(
            [
                t.effect in ("NoSchedule", "NoExecute") and not any(x.tolerates(t) for x in pod.tolerations)
                for t in cluster.taints.taints
            ],
            dtype=bool,
        )
        fails = cluster.taints.matrix[:, bad].any(axis=1) if bad.any() else np.zeros(cluster.num_nodes, dtype=bool)
        return [(ERR_REASON_UNTOLERATED, fails)]

    def static_score(self, cluster: ClusterState, pod: Pod) -> np.ndarray:
        """The untolerated PreferNoSchedule taints of each node."""
        prefer = np.array(
            [
                t.effect == "PreferNoSchedule"
                and not any(x.tolerates(t) for x in pod.tolerations if x.effect in ("", "PreferNoSchedule"))
                for t in cluster.taints.taints
            ],
            dtype=bool,
        )
        if not prefer.any():
            return np.zeros(cluster.num_nodes, dtype=np.int64)
        return cluster.taints.matrix[:, prefer].sum(axis=1).astype(np.int64)

    def vector_score(
        self, cluster: ClusterState, pod: PodRequest, nodes: np.ndarray, static: np.ndarray | None
    ) -> np.ndarray:
        return normalize(static[nodes], reverse=True)
