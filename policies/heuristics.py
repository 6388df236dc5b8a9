"""Heuristic baselines, all node scorers (DESIGN rule 2): a score per feasible node, the highest wins.

The simulator filters, calls ``score`` and breaks ties for the top score (``SimulationOptions.tie_break``:
"rank" is the FGD experiment's smallest-random-rank rule, "random" kube-scheduler's). Policies that keep
state implement ``reset(sim)`` and ``on_bind``/``on_unbind``; policies with their own GPU choice implement
``choose_gpus`` (None: the simulator default).

The FGD paper's baselines (Weng et al., USENIX ATC'23; ``shared/specs/fgd-openb.md`` section 4) follow the
original's integer semantics: Go's ``int64(x)`` truncation of float scores, integer division, and the
paper's normalising constants MaxSpecCpu = 128000 milli-CPU and MaxSpecGpu = 8000 milli-GPU. Their GPU choice
is ``best`` (spec section 3.2): whole-GPU pods take the lowest-index idle GPUs and a sharing pod the GPU
with the least idle milli that still fits, lowest index on ties, which is exactly
``ClusterState.choose_gpus``, the simulator default; so only ``RandomPolicy`` (``random``) chooses GPUs.

kube-scheduler's resource strategies are ``KubeSchedulerPolicy`` profiles with one Score plugin:
``least_allocated``, ``most_allocated``, ``requested_to_capacity_ratio``, ``balanced_allocation``, and the
whole default profile, ``kube_default``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from podgym.envs.cluster import ClusterState, PodRequest
from podgym.envs.kube.objects import CPU, MEMORY
from podgym.envs.kube.profile import API_VERSION, parse_configuration
from podgym.envs.policy import KubeSchedulerPolicy
from podgym.envs.workload.types import GPU_RESOURCE, MILLI_GPU

MAX_SPEC_CPU = 128000  # the FGD simulator's MaxSpecCpu (milli-CPU)
MAX_SPEC_GPU = 8000  # the FGD simulator's MaxSpecGpu (milli-GPU)
SHARE_GPU_TAG = "share-gpu"


def _is_sharing(pod: PodRequest) -> bool:
    """One GPU, less than a whole one (spec 1.2)."""
    return pod.gpu_count == 1 and 0 < pod.gpu_milli < MILLI_GPU


def _asks_gpu(pod: PodRequest) -> bool:
    return pod.gpu_count > 0 and pod.gpu_milli > 0


def _cpu_left(cluster: ClusterState, nodes: np.ndarray) -> np.ndarray:
    """Unrequested milli-CPU of `nodes`."""
    return cluster.free_t[cluster.column[CPU]].take(nodes)


def _cpu_req(cluster: ClusterState, pod: PodRequest) -> int:
    return int(pod.requests[cluster.column[CPU]])


def _gpu_left_total(cluster: ClusterState, nodes: np.ndarray) -> np.ndarray:
    """Idle milli-GPU summed over each node's GPUs (the free nvidia.com/gpu column, in milli)."""
    col = cluster.column.get(GPU_RESOURCE)
    if col is None:
        return np.zeros(len(nodes), dtype=np.int64)
    return cluster.free_t[col].take(nodes)


def _go_div(a: np.ndarray, b: int) -> np.ndarray:
    """Go's integer division (truncates toward zero); equal to // for a >= 0."""
    q = np.abs(a) // abs(b)
    return np.where((a < 0) != (b < 0), -q, q)


class RandomPolicy:
    """01-Random: a node uniformly at random among the feasible ones; a sharing pod's GPU uniformly at random.

    Scores are uniform floats from an RNG seeded in ``reset(sim)`` from ``(sim.seed, 7)`` (``seed`` when
    used without a simulator), so a run is deterministic per seed. A sharing pod picks uniformly among the
    GPUs with enough idle milli, fully idle ones included (spec 3.2 ``random``), from the same RNG; whole-GPU
    pods take the lowest-index idle GPUs (the default). The simulator skips scoring when a single node is
    feasible, so, as in the original, no draw is made then.
    """

    name = "random"
    STREAM = 7

    def __init__(self, seed: int = 0):
        self.seed = seed
        self.rng = np.random.default_rng([seed, self.STREAM])

    def num_to_find(self, num_nodes: int) -> int:
        return num_nodes

    def reset(self, sim: Any) -> None:
        """Reseed from the simulator's seed."""
        self.rng = np.random.default_rng([int(sim.seed), self.STREAM])

    def score(self, cluster: ClusterState, pod: PodRequest, nodes: np.ndarray) -> np.ndarray:
        return self.rng.random(len(nodes))

    def choose_gpus(self, cluster: ClusterState, node: int, pod: PodRequest) -> tuple[int, ...] | None:
        if not _is_sharing(pod):
            return None
        fits = np.flatnonzero(cluster.gpu_free[node] >= pod.gpu_milli)
        if len(fits) == 0:
            return None  # let the cluster report the misfit
        return (int(fits[self.rng.integers(len(fits))]),)


class RoundRobinPolicy:
    """Round robin: the first feasible node after the last node a pod was bound to, cyclic by node index.

    Score of node j = -((j - last - 1) mod N): the next index after ``last`` scores 0, the highest, and no two
    nodes tie. ``last`` follows every bind (``on_bind``) and starts at -1, so the first pod takes node 0.
    """

    name = "round-robin"

    def __init__(self) -> None:
        self.last = -1

    def num_to_find(self, num_nodes: int) -> int:
        return num_nodes

    def reset(self, sim: Any) -> None:
        self.last = -1

    def on_bind(self, cluster: ClusterState, node: int, pod: PodRequest, gpus: tuple[int, ...]) -> None:
        self.last = int(node)

    def on_unbind(self, cluster: ClusterState, node: int, pod: PodRequest, gpus: tuple[int, ...]) -> None:
        pass

    def score(self, cluster: ClusterState, pod: PodRequest, nodes: np.ndarray) -> np.ndarray:
        return -((np.asarray(nodes, dtype=np.int64) - self.last - 1) % cluster.num_nodes)


class FirstFitPolicy:
    """First fit: the feasible node with the lowest index (score -index)."""

    name = "first-fit"

    def num_to_find(self, num_nodes: int) -> int:
        return num_nodes

    def score(self, cluster: ClusterState, pod: PodRequest, nodes: np.ndarray) -> np.ndarray:
        return -np.asarray(nodes, dtype=np.int64)


class BestFitPolicy:
    """05-BestFit: the node with the least CPU and GPU left after placing the pod (spec 4.5).

    ``frac = 0.0; frac += (cpu_left - cpu_req) / MaxCpu * 0.5; frac += (gpu_left_total - req_gpu_total) / MaxGpu
    * 0.5; score = int64((1.0 - frac) * 100)``, Go's truncation, the float operations in this order.
    ``gpu_left_total`` sums the node's idle milli-GPU (fragmentation ignored), ``req_gpu_total = k * m``.
    The original's min-max normalisation over the feasible nodes never merges distinct scores in [0, 100],
    so it is left out: the argmax and its ties are the same.
    """

    name = "best-fit"

    def __init__(self, max_cpu: int = MAX_SPEC_CPU, max_gpu: int = MAX_SPEC_GPU):
        self.max_cpu = max_cpu
        self.max_gpu = max_gpu

    def num_to_find(self, num_nodes: int) -> int:
        return num_nodes

    def score(self, cluster: ClusterState, pod: PodRequest, nodes: np.ndarray) -> np.ndarray:
        cpu = (_cpu_left(cluster, nodes) - _cpu_req(cluster, pod)) / float(self.max_cpu) * 0.5
        gpu = (_gpu_left_total(cluster, nodes) - pod.gpu_count * pod.gpu_milli) / float(self.max_gpu) * 0.5
        frac = 0.0 + cpu
        frac = frac + gpu
        return ((1.0 - frac) * 100).astype(np.int64)  # astype truncates toward zero, as Go's int64()


class DotProductPolicy:
    """02-DotProd (merge, max): the node whose remaining capacity has the smallest dot product with the pod.

    ``node_vec = [cpu_left / MaxCpu, gpu_left_total / MaxGpu]``, ``pod_vec = [cpu_req / MaxCpu, req_gpu_total /
    MaxGpu]``, ``d = 0 + a0*b0 + a1*b1``, ``score = int64(100 * (1 - d / 2))``; 0 where ``cpu_left < cpu_req``
    (spec 4.2). A smaller dot product wins: this packs pods onto nodes with little left, in proportion to the
    request (the opposite of Tetris's alignment); for a CPU-only pod only the CPU term counts.
    """

    name = "dot-product"

    def __init__(self, max_cpu: int = MAX_SPEC_CPU, max_gpu: int = MAX_SPEC_GPU):
        self.max_cpu = max_cpu
        self.max_gpu = max_gpu

    def num_to_find(self, num_nodes: int) -> int:
        return num_nodes

    def score(self, cluster: ClusterState, pod: PodRequest, nodes: np.ndarray) -> np.ndarray:
        cpu_left = _cpu_left(cluster, nodes)
        cpu_req = _cpu_req(cluster, pod)
        a0 = cpu_left / float(self.max_cpu)
        a1 = _gpu_left_total(cluster, nodes) / float(self.max_gpu)
        b0 = cpu_req / float(self.max_cpu)
        b1 = (pod.gpu_count * pod.gpu_milli) / float(self.max_gpu)
        d = 0.0 + a0 * b0
        d = d + a1 * b1
        score = (100 * (1 - d / 2)).astype(np.int64)
        return np.where(cpu_left < cpu_req, 0, score)


class GpuPackingPolicy:
    """04-GpuPacking: fill partly used GPUs first, then nodes with used GPUs, and idle nodes last (spec 4.4).

    CPU-only pods score 0 everywhere (the tie-break decides). For a GPU pod, with F the node's idle GPUs:
    case 3, every GPU of the node idle: ``max(33 - F, F)``; otherwise take the first k GPUs with ``gpu_left >= m``
    in ascending ``gpu_left`` (stable: lower index on ties) and count the idle ones among them, u:
    case 2, u > 0: ``max(50 - u, 33)``; case 1, u == 0: ``max(100 - (sum of gpu_left * 100 / 1000) / 10, 50)``,
    all integer division. The GPU it takes is the simulator default (``best``), the same GPU as this scan.
    """

    name = "gpu-packing"

    def num_to_find(self, num_nodes: int) -> int:
        return num_nodes

    def score(self, cluster: ClusterState, pod: PodRequest, nodes: np.ndarray) -> np.ndarray:
        nodes = np.asarray(nodes, dtype=np.int64)
        if not _asks_gpu(pod) or cluster.gpu_free.shape[1] == 0:
            return np.zeros(len(nodes), dtype=np.int64)
        free = cluster.gpu_free[nodes]  # [M, G], -1 for missing devices
        idle = (free >= MILLI_GPU).sum(axis=1)
        all_idle = idle == cluster.gpu_count[nodes]
        case3 = np.maximum(33 - idle, idle)
        fits = free >= pod.gpu_milli
        key = np.where(fits, free, np.iinfo(np.int64).max)
        order = np.argsort(key, axis=1, kind="stable")[:, : pod.gpu_count]
        chosen = np.take_along_axis(free, order, axis=1)
        valid = np.take_along_axis(fits, order, axis=1)
        u = (valid & (chosen >= MILLI_GPU)).sum(axis=1)
        case2 = np.maximum(50 - u, 33)
        left = np.where(valid, chosen * 100 // MILLI_GPU, 0).sum(axis=1)
        case1 = np.maximum(100 - left // 10, 50)
        return np.where(all_idle, case3, np.where(u > 0, case2, case1)).astype(np.int64)


class GpuClusteringPolicy:
    """03-GpuClustering: put GPU pods with pods of the same GPU shape, on the fullest nodes (spec 4.3).

    A GPU pod's tag is ``share-gpu`` (one GPU, less than whole) or ``"<k>-gpu"``; a node's tags are those of the
    GPU pods on it (a multiset kept by ``on_bind``/``on_unbind``). ``base = 25 * (MaxGpu - L) / MaxGpu`` in integer
    arithmetic (Go truncation; L = idle milli-GPU of the node), plus 75 when the node holds only the pod's tag,
    50 when it holds the pod's tag and others, 25 when it holds none, 0 when it holds only other tags.
    CPU-only pods score 0 everywhere. GPU choice: the simulator default (``best``).
    """

    name = "gpu-clustering"

    def __init__(self, max_gpu: int = MAX_SPEC_GPU):
        self.max_gpu = max_gpu
        self.tag_index: dict[str, int] = {}
        self.counts = np.zeros((0, 0), dtype=np.int64)  # [N, tags]: GPU pods of each tag on each node

    def num_to_find(self, num_nodes: int) -> int:
        return num_nodes

    @staticmethod
    def tag(pod: PodRequest) -> str | None:
        """The pod's tag; None for a CPU-only pod."""
        if not _asks_gpu(pod):
            return None
        return SHARE_GPU_TAG if _is_sharing(pod) else f"{pod.gpu_count}-gpu"

    def _column(self, tag: str, num_nodes: int) -> int:
        if self.counts.shape[0] != num_nodes:
            self.counts = np.zeros((num_nodes, len(self.tag_index)), dtype=np.int64)
        j = self.tag_index.get(tag)
        if j is None:
            j = self.tag_index[tag] = len(self.tag_index)
            self.counts = np.hstack([self.counts, np.zeros((num_nodes, 1), dtype=np.int64)])
        return j

    def reset(self, sim: Any) -> None:
        """Start a run: tags of the pods already bound (a snapshot's) on `sim`'s cluster."""
        self.tag_index = {}
        self.counts = np.zeros((sim.cluster.num_nodes, 0), dtype=np.int64)
        for i in np.flatnonzero(sim.node_of >= 0):
            self.on_bind(sim.cluster, int(sim.node_of[i]), sim.request(int(i)), sim.gpus_of[i])

    def on_bind(self, cluster: ClusterState, node: int, pod: PodRequest, gpus: tuple[int, ...]) -> None:
        tag = self.tag(pod)
        if tag is not None:
            j = self._column(tag, cluster.num_nodes)  # may grow self.counts: index it after
            self.counts[node, j] += 1

    def on_unbind(self, cluster: ClusterState, node: int, pod: PodRequest, gpus: tuple[int, ...]) -> None:
        tag = self.tag(pod)
        if tag is not None:
            j = self._column(tag, cluster.num_nodes)  # may grow self.counts: index it after
            self.counts[node, j] -= 1

    def score(self, cluster: ClusterState, pod: PodRequest, nodes: np.ndarray) -> np.ndarray:
        nodes = np.asarray(nodes, dtype=np.int64)
        tag = self.tag(pod)
        if tag is None:
            return np.zeros(len(nodes), dtype=np.int64)
        j = self._column(tag, cluster.num_nodes)
        present = self.counts[nodes] > 0
        distinct = present.sum(axis=1)
        has = present[:, j]
        base = _go_div(25 * (self.max_gpu - _gpu_left_total(cluster, nodes)), self.max_gpu)
        bonus = np.where(has, np.where(distinct == 1, 75, 50), np.where(distinct == 0, 25, 0))
        return (base + bonus).astype(np.int64)


# ---- kube-scheduler's resource strategies ---------------------------------------------------------------------

_CPU_MEMORY = ({"name": CPU, "weight": 1}, {"name": MEMORY, "weight": 1})
BIN_PACKING_SHAPE = ({"utilization": 0, "score": 0}, {"utilization": 100, "score": 10})


def _single_score_plugin(name: str, plugin: str, args: dict[str, Any]) -> KubeSchedulerPolicy:
    """A KubeSchedulerPolicy whose profile keeps the default filters and scores with `plugin` alone (weight 1)."""
    config = {
        "apiVersion": API_VERSION,
        "kind": "KubeSchedulerConfiguration",
        "profiles": [
            {
                "schedulerName": name,
                "plugins": {"score": {"disabled": [{"name": "*"}], "enabled": [{"name": plugin, "weight": 1}]}},
                "pluginConfig": [{"name": plugin, "args": args}],
            }
        ],
    }
    (profile,) = parse_configuration(config, source=name)
    return KubeSchedulerPolicy(profile, name=name, sample_nodes=False)


def _fit(name: str, strategy: dict[str, Any]) -> KubeSchedulerPolicy:
    return _single_score_plugin(
        name, "NodeResourcesFit", {"scoringStrategy": {"resources": [dict(r) for r in _CPU_MEMORY], **strategy}}
    )


def least_allocated() -> KubeSchedulerPolicy:
    """NodeResourcesFit LeastAllocated on cpu and memory: spread, the node with the most left wins.

    Score per resource ``(allocatable - requested) * 100 / allocatable`` with the pod's request counted in
    ``requested``, then the weighted mean (kube-scheduler v1.35, integer arithmetic).
    """
    return _fit("least-allocated", {"type": "LeastAllocated"})


def most_allocated() -> KubeSchedulerPolicy:
    """NodeResourcesFit MostAllocated on cpu and memory: bin packing, the fullest node wins.

    Score per resource ``requested * 100 / allocatable`` with the pod's request counted in ``requested``, then
    the weighted mean (kube-scheduler v1.35, integer arithmetic).
    """
    return _fit("most-allocated", {"type": "MostAllocated"})


def requested_to_capacity_ratio(shape: Sequence[Mapping[str, int]] | None = None) -> KubeSchedulerPolicy:
    """NodeResourcesFit RequestedToCapacityRatio on cpu and memory: a piecewise-linear score of utilisation.

    `shape` is a list of ``{"utilization": 0-100, "score": 0-10}`` points; the default
    ``[{0, 0}, {100, 10}]`` scores utilisation linearly, i.e. bin packing.
    """
    points = [dict(p) for p in (shape if shape is not None else BIN_PACKING_SHAPE)]
    return _fit(
        "requested-to-capacity-ratio",
        {"type": "RequestedToCapacityRatio", "requestedToCapacityRatio": {"shape": points}},
    )


def balanced_allocation() -> KubeSchedulerPolicy:
    """NodeResourcesBalancedAllocation on cpu and memory: the node whose utilisations are closest to each other.

    Score ``(1 - std of requested / allocatable over the resources) * 100``, the pod included (kube-scheduler
    v1.35; a pod requesting none of them is skipped).
    """
    return _single_score_plugin(
        "balanced-allocation", "NodeResourcesBalancedAllocation", {"resources": [dict(r) for r in _CPU_MEMORY]}
    )


def kube_default() -> KubeSchedulerPolicy:
    """kube-scheduler v1.35's default profile, with its node sampling (percentageOfNodesToScore) as upstream."""
    return KubeSchedulerPolicy(name="kube-default")


__all__ = [
    "BIN_PACKING_SHAPE",
    "MAX_SPEC_CPU",
    "MAX_SPEC_GPU",
    "BestFitPolicy",
    "DotProductPolicy",
    "FirstFitPolicy",
    "GpuClusteringPolicy",
    "GpuPackingPolicy",
    "RandomPolicy",
    "RoundRobinPolicy",
    "balanced_allocation",
    "kube_default",
    "least_allocated",
    "most_allocated",
    "requested_to_capacity_ratio",
]
