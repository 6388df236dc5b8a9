"""The scheduling framework's vocabulary: statuses, the plugin interface, score normalisation.

Names follow k8s.io/kube-scheduler/framework so a Kubernetes engineer recognises each piece.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from envs.kube.nodeinfo import NodeInfo
from envs.kube.objects import Pod

MAX_NODE_SCORE = 100
MIN_NODE_SCORE = 0
MAX_EXTENDER_PRIORITY = 10

UNSCHEDULABLE = "Unschedulable"
UNSCHEDULABLE_AND_UNRESOLVABLE = "UnschedulableAndUnresolvable"
ERROR = "Error"
SKIP = "Skip"


@dataclass(frozen=True)
class Status:
    """A plugin's verdict that is not Success: a code, the upstream reasons and the plugin that said it."""

    code: str
    reasons: tuple[str, ...]
    plugin: str = ""

    @property
    def message(self) -> str:
        """Upstream ``Status.Message()``: the reasons joined with ", "."""
        return ", ".join(self.reasons)

    def __str__(self) -> str:
        return self.message


CycleState = dict[str, Any]


class Plugin:
    """Base of all plugins. Subclasses implement only the extension points they need.

    ``pre_filter`` may return a Status (rejects the pod on every node), or a set of node names
    (PreFilterResult: only those nodes can pass), or None. ``pre_score`` returns False to Skip.
    """

    name: ClassVar[str]
    filters: ClassVar[bool] = False
    scores: ClassVar[bool] = False

    def __init__(self, args: dict[str, Any] | None = None):
        self.args = args or {}

    def pre_filter(self, state: CycleState, pod: Pod, nodes: list[NodeInfo]) -> Status | set[str] | None:
        return None

    def filter(self, state: CycleState, pod: Pod, node: NodeInfo) -> Status | None:
        return None

    def pre_score(self, state: CycleState, pod: Pod, nodes: list[NodeInfo]) -> bool:
        return True

    def score(self, state: CycleState, pod: Pod, node: NodeInfo) -> int:
        return 0

    def normalize_score(self, state: CycleState, pod: Pod, scores: list[int]) -> list[int]:
        return scores


def default_normalize_score(max_priority: int, reverse: bool, scores: list[int]) -> list[int]:
    """pkg/scheduler/framework/plugins/helper DefaultNormalizeScore, in int64 arithmetic."""
    max_count = max(scores, default=0)
    if max_count == 0:
        return [max_priority] * len(scores) if reverse else list(scores)
    out = [max_priority * s // max_count for s in scores]
    return [max_priority - s for s in out] if reverse else out
