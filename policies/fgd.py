"""FGD: fragmentation gradient descent (Weng et al., "Beware of Fragmentation", USENIX ATC'23).

Place each pod where it increases the cluster's GPU fragmentation least: node score
``int(sigmoid((F_n - F_n') / 1000) * 100)``, with F the expected idle milli-GPU unusable by a typical pod
(``envs.fragmentation``); a GPU-sharing pod also picks, on that node, the GPU with the best such score
(lowest index on ties). Scores are cached per pod shape and recomputed only on nodes that changed since,
so a run costs a few node evaluations per pod instead of the whole cluster.

Scores are the same on every machine: F_n - F_n' is an exact integer over the typical pods' total weight
(``envs.fragmentation``), and ``trunc(sigmoid(x) * 100) >= k`` is decided as ``x >= ln(k / (100 - k))`` against
thresholds computed once in decimal arithmetic, so no platform's ``exp`` or summation order can move a
score across an integer.
"""

from __future__ import annotations

import numpy as np

from podgym.envs.cluster import ClusterState, PodRequest
from podgym.envs.fragmentation import (  # noqa: F401  (the score's arithmetic, re-exported where FGD is defined)
    SCORE_THRESHOLDS,
    FragmentationIndex,
    TypicalPods,
    fgd_score,
    fgd_score_exact,
    score_of_decrease,
    typical_pods,
)
from podgym.envs.kube.objects import CPU
from podgym.envs.workload.types import MILLI_GPU


class FGDPolicy:
    """Fragmentation gradient descent. `typical` comes from the trace (the workload being scheduled by default)."""

    name = "fgd"

    def __init__(self, typical: TypicalPods | None = None):
        self.typical = typical
        self.index: FragmentationIndex | None = None

    def num_to_find(self, num_nodes: int) -> int:
        return num_nodes

    def reset(self, sim) -> None:
        """Start a run: build the fragmentation index of `sim`'s cluster."""
        typical = self.typical or typical_pods(sim.workload)
        self.index = FragmentationIndex(sim.cluster, typical)
        self._log: list[int] = []  # nodes changed, in order
        self._cache: dict[tuple[int, int, int], tuple[np.ndarray, np.ndarray, int]] = {}

    def on_bind(self, cluster: ClusterState, node: int, pod: PodRequest, gpus: tuple[int, ...]) -> None:
        self.index.update(node)
        self._log.append(node)

    on_unbind = on_bind

    def _scores(self, cluster: ClusterState, pod: PodRequest) -> tuple[np.ndarray, np.ndarray]:
        """Score and chosen GPU of `pod` on every node, refreshed on the nodes changed since last asked."""
        key = (int(pod.requests[cluster.column[CPU]]), pod.gpu_milli if pod.gpu_count else 0, pod.gpu_count)
        hit = self._cache.get(key)
        if hit is None:
            nodes = np.arange(cluster.num_nodes)
            scores = np.zeros(cluster.num_nodes, dtype=np.int64)
            gpus = np.full(cluster.num_nodes, -1, dtype=np.int64)
        else:
            scores, gpus, seen = hit
            if seen == len(self._log):
                return scores, gpus
            nodes = np.unique(np.asarray(self._log[seen:], dtype=np.int64))
        scores[nodes], gpus[nodes] = self.index.scores(nodes, pod, self.index.numerators[nodes])
        self._cache[key] = (scores, gpus, len(self._log))
        return scores, gpus

    def score(self, cluster: ClusterState, pod: PodRequest, nodes: np.ndarray) -> np.ndarray:
        return self._scores(cluster, pod)[0][nodes]

    def choose_gpus(self, cluster: ClusterState, node: int, pod: PodRequest) -> tuple[int, ...] | None:
        """A sharing pod takes the GPU FGD chose on that node; others the default (lowest-index idle GPUs)."""
        if pod.gpu_count == 1 and pod.gpu_milli < MILLI_GPU:
            g = int(self._scores(cluster, pod)[1][node])
            if g >= 0:
                return (g,)
        return None
