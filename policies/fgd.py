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

from decimal import Context

import numpy as np

from podgym.envs.cluster import ClusterState, PodRequest
from podgym.envs.fragmentation import FragmentationIndex, TypicalPods, typical_pods
from podgym.envs.kube.objects import CPU
from podgym.envs.workload.types import MILLI_GPU


def _score_thresholds() -> np.ndarray:
    """x_k with trunc(100 * sigmoid(x)) >= k  <=>  x >= x_k, for k = 1..100, as float64.

    x_k = ln(k / (100 - k)) for k < 100, each correctly rounded from 40-digit decimal arithmetic (the same on
    every machine). Score 100 is reached where float64 sigmoid rounds to 1 (e^-x below 2^-53, x >= 53 ln 2),
    as the original's float arithmetic does.
    """
    ctx = Context(prec=40)
    ks = [float(ctx.ln(ctx.divide(k, 100 - k))) for k in range(1, 100)]
    return np.array([*ks, float(ctx.multiply(53, ctx.ln(2)))])


SCORE_THRESHOLDS = _score_thresholds()


def score_of_decrease(x: np.ndarray) -> np.ndarray:
    """trunc(100 * sigmoid(x)) (int64) of x = (F_n - F_n') / 1000, decided against SCORE_THRESHOLDS."""
    return np.searchsorted(SCORE_THRESHOLDS, np.asarray(x, dtype=np.float64), side="right").astype(np.int64)


def fgd_score(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """int64(sigmoid((F_n - F_n') / 1000) * 100), truncated as the original's int64 conversion."""
    return score_of_decrease((np.asarray(before, dtype=np.float64) - after) / 1000.0)


def fgd_score_exact(before: np.ndarray, after: np.ndarray, denominator: int) -> np.ndarray:
    """fgd_score of F = numerator / denominator with integer numerators: x is rounded once, from exact integers."""
    return score_of_decrease((np.asarray(before, dtype=np.int64) - after) / (1000.0 * denominator))


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
        after, room = self.index.after_numerators(nodes, pod)
        before = self.index.numerators[nodes]
        denominator = self.index.denominator
        if room is not None:  # sharing: the best GPU per node, first index on equal integer scores
            per_gpu = np.where(room, fgd_score_exact(before[:, None], after, denominator), -1)
            best = per_gpu.argmax(axis=1)
            scores[nodes] = per_gpu[np.arange(len(nodes)), best]
            gpus[nodes] = np.where(per_gpu.max(axis=1) >= 0, best, -1)
        else:
            scores[nodes] = fgd_score_exact(before, after, denominator)
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
