"""FGD: fragmentation gradient descent (Weng et al., "Beware of Fragmentation", USENIX ATC'23).

Place each pod where it increases the cluster's GPU fragmentation least: node score
``int(sigmoid((F_n - F_n') / 1000) * 100)``, with F the expected idle milli-GPU unusable by a typical pod
(``envs.fragmentation``); a GPU-sharing pod also picks, on that node, the GPU with the best such score
(lowest index on ties). Scores are cached per pod shape and recomputed only on nodes that changed since,
so a run costs a few node evaluations per pod instead of the whole cluster.
"""

from __future__ import annotations

import numpy as np

from envs.cluster import ClusterState, PodRequest
from envs.fragmentation import FragmentationIndex, TypicalPods, typical_pods
from envs.kube.objects import CPU
from envs.workload.types import MILLI_GPU


def fgd_score(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """int64(sigmoid((F_n - F_n') / 1000) * 100), truncated as the original's int64 conversion."""
    with np.errstate(over="ignore"):
        s = 1.0 / (1.0 + np.exp(-(before - after) / 1000.0))
    return np.trunc(s * 100).astype(np.int64)


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
        after = self.index.after(nodes, pod)
        before = self.index.values[nodes]
        if after.ndim == 2:  # sharing: the best GPU per node, first index on equal integer scores
            per_gpu = np.where(
                np.isfinite(after), fgd_score(before[:, None], np.where(np.isfinite(after), after, 0)), -1
            )
            best = per_gpu.argmax(axis=1)
            scores[nodes] = per_gpu[np.arange(len(nodes)), best]
            gpus[nodes] = np.where(per_gpu.max(axis=1) >= 0, best, -1)
        else:
            scores[nodes] = fgd_score(before, after)
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
