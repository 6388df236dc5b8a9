"""TaintToleration: NoSchedule/NoExecute taints filter; untolerated PreferNoSchedule taints lower the score."""

from __future__ import annotations

from envs.kube.framework import (
    MAX_NODE_SCORE,
    UNSCHEDULABLE_AND_UNRESOLVABLE,
    CycleState,
    Plugin,
    Status,
    default_normalize_score,
)
from envs.kube.nodeinfo import NodeInfo
from envs.kube.objects import Pod, Taint, Toleration

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
