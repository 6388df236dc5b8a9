"""The one encoding of a (pod, cluster) state into numbers, shared by the environment, the learned policies
and the deployed plugin (DESIGN rule 1).

Every feature is a ratio, so a policy trained on a 20-node cluster reads a 5,000-node one the same way:
node features are relative to the node itself or to the largest node of the cluster, pod features to the
largest node. ``NODE_FEATURES`` and ``POD_FEATURES`` document each one (name, meaning, range); the
order of the tuples is the order of the columns. ``FEATURE_VERSION`` changes whenever they do, and
exported models record it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from podgym.envs.cluster import ClusterState, PodRequest
from podgym.envs.fragmentation import FragmentationIndex, NodeTypeCounts, TypicalPods
from podgym.envs.kube.objects import CPU, MEMORY
from podgym.envs.workload.types import GPU_RESOURCE, MILLI_GPU

FEATURE_VERSION = 4


@dataclass(frozen=True)
class Feature:
    """One observation feature: its name, what it means, and its range."""

    name: str
    meaning: str
    low: float
    high: float


NODE_FEATURES: tuple[Feature, ...] = (
    Feature("cpu_free", "free cpu / allocatable cpu of the node (0 when overcommitted)", 0.0, 1.0),
    Feature("memory_free", "free memory / allocatable memory (0 when overcommitted)", 0.0, 1.0),
    Feature("gpu_free", "free milli-GPU / GPU capacity of the node (0 without GPUs)", 0.0, 1.0),
    Feature("cpu_size", "allocatable cpu / largest allocatable cpu in the cluster", 0.0, 1.0),
    Feature("memory_size", "allocatable memory / largest allocatable memory in the cluster", 0.0, 1.0),
    Feature("gpu_size", "GPUs of the node / most GPUs on a node in the cluster", 0.0, 1.0),
    Feature("cpu_after", "(free cpu - the pod's cpu request) / allocatable cpu, clipped; < 0: does not fit", -1.0, 1.0),
    Feature("memory_after", "(free memory - the pod's memory request) / allocatable memory, clipped", -1.0, 1.0),
    Feature("gpu_devices_fit", "GPUs with enough free milli-GPU for the pod / GPUs of the node", 0.0, 1.0),
    Feature("gpu_partial", "free milli-GPU on partly used GPUs / GPU capacity (fragmentation)", 0.0, 1.0),
    Feature("pods_free", "free pod slots / allocatable pods (0 when over the limit)", 0.0, 1.0),
    Feature("feasible", "1 if the pod passes every Filter plugin on the node, else 0", 0.0, 1.0),
    Feature("gpu_after", "(free milli-GPU - the pod's milli-GPU) / GPU capacity, clipped (BestFit's leftover)", -1, 1),
    Feature("gpus_idle", "GPUs with 1000 milli free / GPUs of the node", 0.0, 1.0),
    Feature("gpus_free_750", "GPUs with 750-999 milli free / GPUs of the node", 0.0, 1.0),
    Feature("gpus_free_500", "GPUs with 500-749 milli free / GPUs of the node", 0.0, 1.0),
    Feature("gpus_free_250", "GPUs with 250-499 milli free / GPUs of the node", 0.0, 1.0),
    Feature("gpus_free_1", "GPUs with 1-249 milli free / GPUs of the node (the rest are fully used)", 0.0, 1.0),
    Feature(
        "gpu_partial_after",
        "gpu_partial once the pod takes its GPUs on the node (the simulator's GPU choice); gpu_partial if they do "
        "not fit: the change in fragmentation the placement causes",
        0.0,
        1.0,
    ),
    Feature("shared_gpu_left", "a GPU-sharing pod: milli left on the GPU it would take / 1000; else 0", 0.0, 1.0),
    Feature(
        "fgd_score",
        "FGD's integer score / 100 of placing the pod on the node, from the change in expected fragmentation "
        "against the typical pods (FragmentationIndex.scores; a GPU-sharing pod: its best GPU, 0 where none has "
        "room); 0 without GPUs or typical pods",
        0.0,
        1.0,
    ),
    Feature(
        "node_rank",
        "the node's place in a fixed random order of the cluster's nodes / (nodes - 1): lets a policy prefer the "
        "same nodes whenever others tie, as FGD's experiment breaks ties by a rank drawn once per run (in a "
        "simulation the run's ranks, Simulator.rank; elsewhere the order of a hash of the node names, node_ranks)",
        0.0,
        1.0,
    ),
)
POD_FEATURES: tuple[Feature, ...] = (
    Feature("cpu_request", "the pod's cpu request / largest allocatable cpu in the cluster", 0.0, 1.0),
    Feature("memory_request", "memory request / largest allocatable memory", 0.0, 1.0),
    Feature("gpu_count", "GPUs asked / most GPUs on a node", 0.0, 1.0),
    Feature("gpu_milli", "milli-GPU asked per GPU / 1000 (< 1: a shared GPU)", 0.0, 1.0),
    Feature("priority", "tanh(priority / 1000)", -1.0, 1.0),
    Feature("pending", "tanh(pending pods / nodes)", 0.0, 1.0),
    Feature("time", "simulated time / horizon (0 without a horizon)", 0.0, 1.0),
)
NUM_NODE_FEATURES = len(NODE_FEATURES)
FGD_COLUMN = next(k for k, f in enumerate(NODE_FEATURES) if f.name == "fgd_score")
RANK_COLUMN = next(k for k, f in enumerate(NODE_FEATURES) if f.name == "node_rank")
GPU_FREE_BINS = (MILLI_GPU, 750, 500, 250, 1)  # lower bounds of the gpus_* histogram bins, highest first
NUM_POD_FEATURES = len(POD_FEATURES)
# The ratio features (cpu_free, memory_free, cpu_after, memory_after, pods_free) and their bounds, in this order.
RATIO_COLUMNS = (0, 1, 6, 7, 10)
_RATIO_LOW = np.array([[0.0], [0.0], [-1.0], [-1.0], [0.0]])
_RATIO_HIGH = np.ones((5, 1))


def node_ranks(names: list[str]) -> np.ndarray:
    """A fixed random order of nodes outside a simulation: each node's rank [N] by a hash of its name (blake2b, the
    same on every machine and in every process), ties of the hash by name."""
    keys = [(hashlib.blake2b(name.encode(), digest_size=8).digest(), name) for name in names]
    order = sorted(range(len(names)), key=keys.__getitem__)
    rank = np.empty(len(names), dtype=np.int64)
    rank[order] = np.arange(len(names))
    return rank


class _Divisor:
    """num / den per node, 0 where den is 0: the division of every feature ratio, with the zero test done once."""

    def __init__(self, den: np.ndarray):
        den = np.asarray(den, dtype=np.float64)
        self.zero = den <= 0
        self.any_zero = bool(self.zero.any())
        self.den = np.where(self.zero, 1.0, den)

    def ratio(self, num: np.ndarray) -> np.ndarray:
        out = num / self.den
        if self.any_zero:
            out[self.zero] = 0.0
        return out

    def take(self, rows: np.ndarray) -> _Divisor:
        """The divisor of the nodes `rows` only (the last axis is the node's)."""
        sub = _Divisor.__new__(_Divisor)
        sub.zero, sub.den = self.zero[..., rows], self.den[..., rows]
        sub.any_zero = self.any_zero and bool(sub.zero.any())
        return sub


class FeatureEncoder:
    """Encodes nodes and the pending pod of one ClusterState; constant per-node parts are computed once.

    `typical`: the workload's typical pods (``envs.fragmentation.typical_pods``), which FGD's score, the
    ``fgd_score`` column, is measured against; without them that column is 0. `rank`: each node's rank [N] (a
    permutation of 0..N-1; a simulation's ``Simulator.rank``), by default ``node_ranks`` of the node names.
    """

    def __init__(self, cluster: ClusterState, typical: TypicalPods | None = None, rank: np.ndarray | None = None):
        self.cluster = cluster
        self.typical = typical
        c = cluster
        self.cpu = c.column[CPU]
        self.mem = c.column[MEMORY]
        self.gpu = c.column.get(GPU_RESOURCE)
        alloc = c.allocatable_t
        self.max_cpu = max(int(alloc[self.cpu].max(initial=0)), 1)
        self.max_mem = max(int(alloc[self.mem].max(initial=0)), 1)
        self.max_gpus = max(int(c.gpu_count.max(initial=0)), 1)
        self.gpu_capacity = (c.gpu_count * MILLI_GPU).astype(np.float64)
        self.allowed = c.allowed_pods.astype(np.float64)
        rank = node_ranks(c.node_names) if rank is None else np.asarray(rank)
        if rank.shape != (c.num_nodes,):
            raise ValueError(f"rank: {rank.shape[0]} ranks for {c.num_nodes} nodes")
        # The columns that never change: cpu_size, memory_size, gpu_size, node_rank.
        static = np.zeros((c.num_nodes, 4), dtype=np.float64)
        static[:, 0] = alloc[self.cpu] / self.max_cpu
        static[:, 1] = alloc[self.mem] / self.max_mem
        static[:, 2] = c.gpu_count / self.max_gpus
        static[:, 3] = rank / max(c.num_nodes - 1, 1)
        self.static = static
        self.has_gpus = bool(c.gpu_free.shape[1])
        self._cpu = _Divisor(alloc[self.cpu])
        self._mem = _Divisor(alloc[self.mem])
        self._gpu = _Divisor(self.gpu_capacity)
        self._devices = _Divisor(c.gpu_count)
        self._pods = _Divisor(self.allowed)
        # The denominators of RATIO_COLUMNS, stacked [5, N] as nodes() stacks their numerators.
        self._ratios = _Divisor(
            np.stack([alloc[self.cpu], alloc[self.mem], alloc[self.cpu], alloc[self.mem], self.allowed])
        )
        self._cpu_mem = np.array([self.cpu, self.mem])
        usable = typical is not None and len(typical) > 0 and self.has_gpus
        self.fragmentation = NodeTypeCounts(FragmentationIndex(c, typical)) if usable else None

    def denominators(self) -> dict[str, np.ndarray]:
        """The per-node denominators of the ratio features, -1.0 where one is 0 (the ratio is then 0): "cpu",
        "memory" (allocatable), "gpu" (milli-GPU capacity), "devices" (GPU count), "pods" (allowed pods)."""
        pairs = (("cpu", self._cpu), ("memory", self._mem), ("gpu", self._gpu), ("devices", self._devices))
        return {name: np.where(d.zero, -1.0, d.den) for name, d in (*pairs, ("pods", self._pods))}

    def nodes(self, pod: PodRequest, feasible: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """float32 [N, NUM_NODE_FEATURES] for `pod` (feasible: the Filter mask).

        With `rows` (node indices), only those nodes, in that order: ``nodes(pod, f)[rows]`` computed without
        the other rows (`feasible` then holds the mask of `rows`).
        """
        c = self.cluster
        if rows is None:
            free_cpu, free_mem, slots = c.free_t[self.cpu], c.free_t[self.mem], c.allowed_pods - c.pod_count
            static, alive = self.static, c.alive
            out = np.empty((c.num_nodes, NUM_NODE_FEATURES), dtype=np.float32)
            # A node of a real cluster may be overcommitted (bound requests above allocatable: free < 0); its free
            # share is then 0, inside the declared range, and cpu_after / memory_after already say the pod does
            # not fit.
            out[:, 0] = np.clip(self._cpu.ratio(free_cpu), 0, 1)
            out[:, 1] = np.clip(self._mem.ratio(free_mem), 0, 1)
            out[:, 6] = np.clip(self._cpu.ratio(free_cpu - pod.requests[self.cpu]), -1, 1)
            out[:, 7] = np.clip(self._mem.ratio(free_mem - pod.requests[self.mem]), -1, 1)
            out[:, 10] = np.clip(self._pods.ratio(slots), 0, 1)
        else:
            # A few rows (the nodes a bind changed): the same operations on the rows' values, the five ratio
            # features (RATIO_COLUMNS) stacked so that each step is one numpy call for all of them.
            cpu_mem = self._cpu_mem
            free = c.free_t[cpu_mem[:, None], rows]
            static, alive = self.static[rows], c.alive[rows]
            out = np.zeros((len(rows), NUM_NODE_FEATURES), dtype=np.float32)  # without GPUs their columns stay 0
            num = np.empty((5, len(rows)), dtype=np.int64)
            num[:2] = free
            np.subtract(free, pod.requests[cpu_mem][:, None], out=num[2:4])
            np.subtract(c.allowed_pods[rows], c.pod_count[rows], out=num[4])
            # ``np.clip(self._ratios.take(rows).ratio(num), low, high)`` in fewer numpy calls (a ratio is never -0.0,
            # on which maximum and clip could differ).
            ratios = self._ratios
            share = num / ratios.den[:, rows]
            if ratios.any_zero:
                share[ratios.zero[:, rows]] = 0.0
            np.maximum(share, _RATIO_LOW, out=share)
            out[:, RATIO_COLUMNS] = np.minimum(share, _RATIO_HIGH, out=share).T
        out[:, 3:6] = static[:, :3]
        if self.has_gpus:
            gpu, devices, gpu_free = self._gpu, self._devices, c.gpu_free
            if rows is not None:
                gpu, devices, gpu_free = gpu.take(rows), devices.take(rows), gpu_free[rows]
            total = np.maximum(gpu_free, 0).sum(axis=1)
            out[:, 2] = gpu.ratio(total)
            milli = pod.gpu_milli if pod.gpu_count else MILLI_GPU
            out[:, 8] = devices.ratio((gpu_free >= milli).sum(axis=1))
            partial = np.where((gpu_free > 0) & (gpu_free < MILLI_GPU), gpu_free, 0).sum(axis=1)
            out[:, 9] = gpu.ratio(partial)
            self._gpu_detail(out, pod, gpu_free, total, partial, gpu, devices)
            out[:, FGD_COLUMN] = self._fgd(pod, rows)
        elif rows is None:
            out[:, (2, 8, 9)] = 0.0
            out[:, 12:] = 0.0
        out[:, RANK_COLUMN] = static[:, 3]
        out[:, 11] = feasible
        if self._any_dead(c):
            out[~alive, :11] = 0.0
            out[~alive, 12:] = 0.0
        return out

    @staticmethod
    def _gpu_detail(
        out: np.ndarray,
        pod: PodRequest,
        gpu_free: np.ndarray,
        total: np.ndarray,
        partial: np.ndarray,
        gpu: _Divisor,
        devices: _Divisor,
    ) -> None:
        """Columns 12-19: what BestFit and FGD look at, per GPU and after the placement, in integer milli."""
        ask = pod.gpu_count * pod.gpu_milli if pod.gpu_count else 0
        out[:, 12] = np.clip(gpu.ratio(total - ask), -1, 1)
        # GPUs with at least each bin's lower bound free; a bin's count is the difference of two neighbours.
        at_least = [np.count_nonzero(gpu_free >= low, axis=1) for low in GPU_FREE_BINS]
        above = 0
        for k, count in enumerate(at_least):
            out[:, 13 + k] = devices.ratio(count - above)
            above = count
        if pod.gpu_count and pod.gpu_milli < MILLI_GPU:
            # A shared GPU: the best fit (least free milli that still fits, as ClusterState.choose_gpus).
            none = np.iinfo(np.int64).max
            chosen = np.where(gpu_free >= pod.gpu_milli, gpu_free, none).min(axis=1)
            fits = chosen != none
            left = np.where(fits, chosen - pod.gpu_milli, 0)
            was = np.where(fits & (chosen < MILLI_GPU), chosen, 0)
            after = partial - was + np.where(left > 0, left, 0)
            out[:, 18] = gpu.ratio(after)
            out[:, 19] = left / MILLI_GPU
        else:
            # Whole GPUs take idle ones (or none): the partly used GPUs do not change.
            out[:, 18] = out[:, 9]
            out[:, 19] = 0.0

    def _fgd(self, pod: PodRequest, rows: np.ndarray | None) -> np.ndarray | float:
        """FGD's score / 100 of `pod` on the nodes `rows` (all without), 0 where a sharing pod finds no room."""
        if self.fragmentation is None:
            return 0.0
        nodes = np.arange(self.cluster.num_nodes) if rows is None else np.asarray(rows)
        return np.maximum(self.fragmentation.scores(nodes, pod), 0) / 100.0

    @staticmethod
    def _any_dead(c: ClusterState) -> bool:
        return c.live_count != c.num_nodes

    def pod(self, pod: PodRequest, pending: int = 0, time_fraction: float = 0.0) -> np.ndarray:
        """float32 [NUM_POD_FEATURES] of the pending pod and its context."""
        return np.array(
            [
                min(pod.requests[self.cpu] / self.max_cpu, 1.0),
                min(pod.requests[self.mem] / self.max_mem, 1.0),
                min(pod.gpu_count / self.max_gpus, 1.0),
                pod.gpu_milli / MILLI_GPU if pod.gpu_count else 0.0,
                np.tanh(pod.priority / 1000),
                np.tanh(pending / max(self.cluster.num_nodes, 1)),
                min(max(time_fraction, 0.0), 1.0),
            ],
            dtype=np.float32,
        )


def simulation_context(sim) -> tuple[int, float]:
    """(pending pods, simulated time / horizon) of a simulator, for the pod features; (0, 0) without one."""
    if sim is None:
        return 0, 0.0
    horizon = sim.options.horizon_s
    return sim.pending, (sim.now / horizon if np.isfinite(horizon) else 0.0)


def encode_candidates(
    encoder: FeatureEncoder, pod: PodRequest, nodes: np.ndarray, sim=None
) -> tuple[np.ndarray, np.ndarray]:
    """Node features of the whole cluster with `nodes` marked feasible, and the pod's features in `sim`'s context
    (a scorer outside the simulator gets no queue or clock: zeros)."""
    feasible = np.zeros(encoder.cluster.num_nodes, dtype=bool)
    feasible[nodes] = True
    pending, time_fraction = simulation_context(sim if sim is not None and sim.cluster is encoder.cluster else None)
    return encoder.nodes(pod, feasible), encoder.pod(pod, pending, time_fraction)
