"""Two heuristics as one scorer: pods that ask for GPUs are scored by one, every other pod by the other.

Clusters often run one strategy for their CPU workload and another for GPU jobs (kube-scheduler's default
profile beside a GPU packer, for instance). ``make_policy("kube-default+gpu-packing")`` is that pair: the name
before ``+`` scores pods without GPUs, the name after it pods with GPUs, and the GPU side picks the GPUs a pod
takes. Both parts see every placement, so a stateful part (gpu-clustering's tags, FGD's index) stays current.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from podgym.envs.cluster import ClusterState, PodRequest

SEPARATOR = "+"


class ByPodKind:
    """Score pods without GPUs with `cpu` and pods with GPUs with `gpu` (both NodeScorers)."""

    def __init__(self, cpu: Any, gpu: Any, name: str | None = None):
        self.cpu = cpu
        self.gpu = gpu
        self.name = name or f"{getattr(cpu, 'name', 'cpu')}{SEPARATOR}{getattr(gpu, 'name', 'gpu')}"
        self._parts = (cpu, gpu)

    @property
    def score_range(self) -> tuple[float, float] | None:
        """The parts' fixed score range when they share one (the extender then maps scores linearly on it, as for
        either part alone); else None: the scale differs by pod kind."""
        ranges = {getattr(p, "score_range", None) for p in self._parts}
        return ranges.pop() if len(ranges) == 1 else None

    @property
    def needs_simulation(self) -> bool:
        """Whether a part needs a simulation (``policies.lookahead``): then the pair does too."""
        return any(getattr(p, "needs_simulation", False) for p in self._parts)

    def num_to_find(self, num_nodes: int) -> int:
        # The candidates are sampled before the pod is scored: the larger sample serves both parts.
        return max(p.num_to_find(num_nodes) for p in self._parts)

    def reset(self, sim: Any) -> None:
        for part in self._parts:
            if hasattr(part, "reset"):
                part.reset(sim)

    def on_bind(self, cluster: ClusterState, node: int, pod: PodRequest, gpus: tuple[int, ...]) -> None:
        for part in self._parts:
            if hasattr(part, "on_bind"):
                part.on_bind(cluster, node, pod, gpus)

    def on_unbind(self, cluster: ClusterState, node: int, pod: PodRequest, gpus: tuple[int, ...]) -> None:
        for part in self._parts:
            if hasattr(part, "on_unbind"):
                part.on_unbind(cluster, node, pod, gpus)

    def score(self, cluster: ClusterState, pod: PodRequest, nodes: np.ndarray) -> np.ndarray:
        return (self.gpu if pod.gpu_count > 0 else self.cpu).score(cluster, pod, nodes)

    def choose_gpus(self, cluster: ClusterState, node: int, pod: PodRequest) -> tuple[int, ...] | None:
        choose = getattr(self.gpu, "choose_gpus", None)
        return choose(cluster, node, pod) if choose is not None else None
