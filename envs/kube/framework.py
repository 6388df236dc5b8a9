"""The scheduling framework's vocabulary: statuses, the plugin interface, score normalisation.

Names follow k8s.io/kube-scheduler/framework so a Kubernetes engineer recognises each piece.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from podgym.envs.kube.nodeinfo import NodeInfo
from podgym.envs.kube.objects import Pod

if TYPE_CHECKING:
    from podgym.envs.cluster import ClusterState, PodRequest

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
# CycleState keys the cycle fills for plugins that read beyond the pod and one node: every node of the snapshot
# (PreScore is handed only the feasible ones) and the Namespace objects by name (for namespaceSelector).
ALL_NODES = "AllNodes"
NAMESPACES = "Namespaces"
# Preemption's dry run: (the candidate node's name, the pods removed from it), which upstream's PreFilter extensions
# see one by one through RemovePod where podgym recomputes PreFilter over the changed snapshot.
DRY_RUN_REMOVED = "DryRunRemoved"
# A vectorised Filter check: (the upstream reason, a bool array of the nodes that fail it).
Check = tuple[str, np.ndarray]


NO_NODE_AVAILABLE_MSG = "0/{} nodes are available"
NO_NODES_AVAILABLE = "no nodes available to schedule pods"


def fit_error_message(
    num_all_nodes: int, statuses: Iterable[Status | None], prefilter_msg: str = "", post_filter_msg: str = ""
) -> str:
    """Upstream ``(*FitError).Error()`` (pkg/scheduler/framework/types.go, v1.35): "0/N nodes are available:", then
    the PreFilter message when a PreFilter plugin rejected the pod, else every reason of every node's Status
    counted, as "<count> <reason>" strings sorted in Go byte order ("10 x" before "2 y") joined with ", "; then the
    PostFilter (preemption) message. Each part ends with "."."""
    if num_all_nodes == 0:
        return NO_NODES_AVAILABLE
    msg = NO_NODE_AVAILABLE_MSG.format(num_all_nodes) + ":"
    if prefilter_msg:
        msg += f" {prefilter_msg}."
    else:
        counts: dict[str, int] = {}
        for status in statuses:
            for reason in status.reasons if status is not None else ():
                counts[reason] = counts.get(reason, 0) + 1
        histogram = sorted((f"{v} {k}" for k, v in counts.items()), key=lambda s: s.encode())
        if histogram:
            msg += f" {', '.join(histogram)}."
    if post_filter_msg:
        msg += f" {post_filter_msg}."
    return msg


def prefilter_reason(plugins: list[str]) -> str:
    """The status message of nodes a PreFilterResult left out (schedule_one.go)."""
    return f"node(s) didn't satisfy plugin(s) [{' '.join(sorted(plugins))}]"


class Plugin:
    """Base of all plugins. Subclasses implement only the extension points they need.

    Object level (``envs.kube.cycle`` drives it, one node at a time): ``pre_filter`` may return a Status
    (rejects the pod on every node), or a set of node names (PreFilterResult: only those nodes can pass), or
    None, or a Status with code Skip (the plugin's Filter does not run for this pod); ``filter``, ``pre_score``
    (returns False to Skip), ``score``, ``normalize_score``.

    Vectorised, over every node of an ``envs.cluster.ClusterState`` (``envs.scheduling.VectorProfile`` drives
    it; a property test pins it to the object level): what depends only on the pod's template and the nodes'
    static state (names, labels, taints, cordons) is *static* and cached per template until the cluster's
    ``static_version`` changes (``static_pre_filter``, ``static_filter``, ``static_score``); a Filter plugin
    that also reads what is bound on a node sets ``dynamic = True`` and implements ``fits`` (all nodes),
    ``fit_reasons`` (the statuses) and ``hint`` (the queueing hint: which waiting pods pass on one node now), and
    ``skips_filter`` where its PreFilter returns Skip for some pods (their Filter costs nothing then).
    ``vector_score`` gives the normalised scores over the feasible nodes. A Filter plugin that is not dynamic
    runs on the compiled engine through its [templates, nodes] table of static verdicts.
    """

    name: ClassVar[str]
    filters: ClassVar[bool] = False
    scores: ClassVar[bool] = False
    post_filters: ClassVar[bool] = False  # a PostFilter plugin (DefaultPreemption): runs when no node fits
    dynamic: ClassVar[bool] = False

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

    # ---- vectorised ----------------------------------------------------------------------------------
    def skips_filter(self, pod: Pod) -> bool:
        """Whether PreFilter returns Skip for `pod` (its template): the plugin's Filter then does not run."""
        return False

    def static_pre_filter(self, cluster: ClusterState, pod: Pod) -> list[Check]:
        """The nodes a PreFilterResult leaves out; checked before every plugin's Filter."""
        return []

    def static_filter(self, cluster: ClusterState, pod: Pod) -> list[Check]:
        """Filter's static checks, in the order upstream makes them."""
        return []

    def fits(self, cluster: ClusterState, pod: PodRequest) -> np.ndarray:
        """Dynamic plugins: the nodes where `pod` passes Filter's checks of what is bound there."""
        raise NotImplementedError(f"{self.name} has no dynamic Filter")

    def fit_reasons(self, cluster: ClusterState, pod: PodRequest) -> list[list[tuple[str, bool]]]:
        """Dynamic plugins: per node, (reason, unresolvable) of each dynamic check `pod` fails there."""
        raise NotImplementedError(f"{self.name} has no dynamic Filter")

    def hint(
        self,
        cluster: ClusterState,
        requests: np.ndarray,
        node: int,
        templates: Sequence[Pod] = (),
        template_of: np.ndarray | None = None,
    ) -> np.ndarray:
        """Dynamic plugins: which of the waiting pods pass on `node` now. Row i of `requests` [pods, resources] is a
        waiting pod's requests and ``templates[template_of[i]]`` its template."""
        raise NotImplementedError(f"{self.name} has no dynamic Filter")

    def filters_any(self, templates: Sequence[Pod]) -> bool:
        """Dynamic plugins: whether the dynamic Filter can reject a pod of these templates (with them bound around
        it). One that cannot leaves such a workload to engines that do not implement it. By default: unless its
        PreFilter skips every one of them."""
        return self.dynamic and not all(self.skips_filter(t) for t in templates)

    def static_score(self, cluster: ClusterState, pod: Pod) -> np.ndarray | None:
        """Raw scores that depend only on the template and static node state, cached with the static verdict."""
        return None

    def vector_score(
        self, cluster: ClusterState, pod: PodRequest, nodes: np.ndarray, static: np.ndarray | None
    ) -> np.ndarray | None:
        """The normalised score of each of `nodes` (`static`: this plugin's static_score); None when skipped."""
        return None


def normalize(scores: np.ndarray, reverse: bool) -> np.ndarray:
    """DefaultNormalizeScore(MaxNodeScore, reverse) over an array of raw scores."""
    top = int(scores.max(initial=0))
    if top == 0:
        return np.full(len(scores), MAX_NODE_SCORE, dtype=np.int64) if reverse else scores.astype(np.int64)
    out = MAX_NODE_SCORE * scores // top
    return MAX_NODE_SCORE - out if reverse else out


def default_normalize_score(max_priority: int, reverse: bool, scores: list[int]) -> list[int]:
    """pkg/scheduler/framework/plugins/helper DefaultNormalizeScore, in int64 arithmetic."""
    max_count = max(scores, default=0)
    if max_count == 0:
        return [max_priority] * len(scores) if reverse else list(scores)
    out = [max_priority * s // max_count for s in scores]
    return [max_priority - s for s in out] if reverse else out
