"""Scheduling metrics: allocation over time, pending pods and wait times, imbalance, active node-hours,
GPU fragmentation, evictions.

The recorder is fed by the simulator. Cheap cluster totals are kept incrementally at every event; the
measures that need a pass over all nodes (imbalance, fragmentation) are sampled every
``sample_interval`` seconds of simulated time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from podgym.envs.cluster import ClusterState
from podgym.envs.kube.objects import CPU, MEMORY
from podgym.envs.workload.types import GPU_RESOURCE, MILLI_GPU

# Signals whose time integrals the recorder keeps (rewards are built on them).
SIGNALS = ("cpu", "memory", "gpu", "pending", "active_nodes", "live_nodes", "imbalance_cpu", "fragmentation")


def gpu_fragmentation(cluster: ClusterState) -> float:
    """Share of free milli-GPU that sits on partly used GPUs (unusable by whole-GPU pods); 0 when none is free."""
    free = cluster.gpu_free[cluster.alive]
    devices = free[free >= 0]
    total = devices.sum()
    if total == 0:
        return 0.0
    return float(devices[(devices > 0) & (devices < MILLI_GPU)].sum() / total)


def node_imbalance(cluster: ClusterState, resource: str = CPU) -> float:
    """Standard deviation of the allocated share of `resource` across live nodes that offer it."""
    col = cluster.column.get(resource)
    if col is None:
        return 0.0
    alloc = cluster.allocatable[:, col]
    live = cluster.alive & (alloc > 0)
    if not live.any():
        return 0.0
    return float(np.std(cluster.requested[live, col] / alloc[live]))


@dataclass
class Summary:
    """Metrics of one simulation run (all floats; ratios in [0, 1])."""

    pods_total: int
    pods_scheduled: int
    pods_pending_at_end: int
    pods_never_scheduled: int
    scheduling_attempts: int
    failed_attempts: int
    evictions: int
    wait_mean_s: float
    wait_p95_s: float
    cpu_allocation_mean: float
    memory_allocation_mean: float
    gpu_allocation_mean: float
    cpu_allocation_peak: float
    gpu_allocation_final: float
    pending_pods_mean: float
    imbalance_cpu_mean: float
    imbalance_memory_mean: float
    gpu_fragmentation_mean: float
    active_node_hours: float
    node_hours: float
    duration_s: float
    preemptions: int = 0  # pods that preempted others (DefaultPreemption)
    preemption_victims: int = 0  # pods evicted by preemption

    def as_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


@dataclass
class MetricsRecorder:
    """Collects time series and per-pod outcomes during one run."""

    cluster: ClusterState
    sample_interval: float = 60.0
    times: list[float] = field(default_factory=list)
    alloc: dict[str, list[float]] = field(default_factory=lambda: {CPU: [], MEMORY: [], GPU_RESOURCE: []})
    pending: list[int] = field(default_factory=list)
    running: list[int] = field(default_factory=list)
    active_nodes: list[int] = field(default_factory=list)
    live_nodes: list[int] = field(default_factory=list)
    sample_times: list[float] = field(default_factory=list)
    imbalance_cpu: list[float] = field(default_factory=list)
    imbalance_memory: list[float] = field(default_factory=list)
    fragmentation: list[float] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)
    evictions: int = 0
    preemptions: int = 0
    preemption_victims: int = 0
    attempts: int = 0
    failed_attempts: int = 0

    # Also evaluate imbalance and fragmentation at every event, for their time integrals (rewards need them).
    track_node_stats: bool = False
    # Also keep each node's cpu and GPU allocation shares at every sample (for utilisation heat maps); NaN for a
    # node that is down or, for GPU, has no GPUs.
    record_node_utilisation: bool = False
    node_utilisation: list[np.ndarray] = field(default_factory=list)
    node_gpu_utilisation: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        # The time of the next sample of the node statistics.
        self.next_sample = 0.0
        c = self.cluster
        self._cols = {r: c.column.get(r) for r in (CPU, MEMORY, GPU_RESOURCE)}
        # Time integrals of each signal since the first event: the state observed at t holds until the next one.
        self.integrals: dict[str, float] = dict.fromkeys(SIGNALS, 0.0)
        # Each signal as last observed, and when (None: nothing observed yet).
        self.last: dict[str, float] = dict.fromkeys(SIGNALS, 0.0)
        self.last_t: float | None = None

    def integrals_until(self, t: float) -> dict[str, float]:
        """Each signal's integral over time up to `t` (the last observed state holding since it was seen)."""
        if self.last_t is None:
            return dict(self.integrals)
        dt = max(t - self.last_t, 0.0)
        return {k: v + self.last[k] * dt for k, v in self.integrals.items()}

    def observe(self, t: float, pending: int, running: int) -> None:
        """Record the state after the events at time `t`."""
        c = self.cluster
        self.times.append(t)
        for r, col in self._cols.items():
            total = c.total_allocatable[col] if col is not None else 0
            self.alloc[r].append(float(c.total_requested[col] / total) if total else 0.0)
        self.pending.append(pending)
        self.running.append(running)
        self.active_nodes.append(c.active_count)
        self.live_nodes.append(c.live_count)
        sampled = t >= self.next_sample
        if sampled or self.track_node_stats:
            imbalance, fragmentation = node_imbalance(c, CPU), gpu_fragmentation(c)
        if sampled:
            self.sample_times.append(t)
            if self.record_node_utilisation:
                col = c.column[CPU]
                alloc = c.allocatable_t[col]
                share = np.divide(c.requested_t[col], alloc, out=np.zeros(len(alloc)), where=alloc > 0)
                self.node_utilisation.append(np.where(c.alive, share, np.nan).astype(np.float32))
                gcol = self._cols[GPU_RESOURCE]
                if gcol is not None:
                    galloc = c.allocatable_t[gcol]
                    gshare = np.divide(c.requested_t[gcol], galloc, out=np.zeros(len(galloc)), where=galloc > 0)
                    self.node_gpu_utilisation.append(
                        np.where(c.alive & (galloc > 0), gshare, np.nan).astype(np.float32)
                    )
            self.imbalance_cpu.append(imbalance)
            self.imbalance_memory.append(node_imbalance(c, MEMORY))
            self.fragmentation.append(fragmentation)
            self.next_sample = t + self.sample_interval
        if self.last_t is not None:
            dt = t - self.last_t
            for k in self.integrals:
                self.integrals[k] += self.last[k] * dt
        last = self.last
        last["cpu"], last["memory"], last["gpu"] = (
            self.alloc[CPU][-1],
            self.alloc[MEMORY][-1],
            self.alloc[GPU_RESOURCE][-1],
        )
        last["pending"], last["active_nodes"], last["live_nodes"] = (
            float(pending),
            float(c.active_count),
            float(c.live_count),
        )
        if self.track_node_stats:
            last["imbalance_cpu"], last["fragmentation"] = imbalance, fragmentation
        self.last_t = t

    def summary(
        self,
        pods_total: int,
        scheduled: int,
        pending_at_end: int,
        never_scheduled: int,
        end: float,
        current: tuple[float, int, int] | None = None,
    ) -> Summary:
        """Aggregate the run: time-weighted means over [first event, end].

        `current` (time, pending, running) adds the present state as a last observation without recording it.
        """
        if current is not None:
            saved = (
                len(self.times),
                len(self.sample_times),
                dict(self.integrals),
                dict(self.last),
                self.last_t,
                self.next_sample,
            )
            m_util = len(self.node_utilisation)
            self.observe(*current)
        try:
            return self.aggregate(pods_total, scheduled, pending_at_end, never_scheduled, end)
        finally:
            if current is not None:
                n, m, integrals, last, last_t, next_sample = saved
                for series in (
                    self.times,
                    self.pending,
                    self.running,
                    self.active_nodes,
                    self.live_nodes,
                    *self.alloc.values(),
                ):
                    del series[n:]
                for series in (self.sample_times, self.imbalance_cpu, self.imbalance_memory, self.fragmentation):
                    del series[m:]
                del self.node_utilisation[m_util:]
                del self.node_gpu_utilisation[m_util:]
                self.integrals, self.last, self.last_t, self.next_sample = integrals, last, last_t, next_sample

    def aggregate(
        self, pods_total: int, scheduled: int, pending_at_end: int, never_scheduled: int, end: float
    ) -> Summary:
        """The Summary of the recorded series as they are (lists, or numpy arrays of the same values)."""
        t = np.append(np.asarray(self.times, dtype=np.float64), end)
        dt = np.diff(t) if len(t) > 1 else np.zeros(0)
        span = float(dt.sum())

        def twm(series: list[float] | list[int]) -> float:
            if len(series) == 0:
                return 0.0
            values = np.asarray(series, dtype=np.float64)
            return float((values * dt).sum() / span) if span > 0 else float(values[-1])

        waits = np.asarray(self.waits)
        return Summary(
            pods_total=pods_total,
            pods_scheduled=scheduled,
            pods_pending_at_end=pending_at_end,
            pods_never_scheduled=never_scheduled,
            scheduling_attempts=self.attempts,
            failed_attempts=self.failed_attempts,
            evictions=self.evictions,
            preemptions=self.preemptions,
            preemption_victims=self.preemption_victims,
            wait_mean_s=float(waits.mean()) if len(waits) else 0.0,
            wait_p95_s=float(np.percentile(waits, 95)) if len(waits) else 0.0,
            cpu_allocation_mean=twm(self.alloc[CPU]),
            memory_allocation_mean=twm(self.alloc[MEMORY]),
            gpu_allocation_mean=twm(self.alloc[GPU_RESOURCE]),
            cpu_allocation_peak=float(np.max(self.alloc[CPU])) if len(self.alloc[CPU]) else 0.0,
            gpu_allocation_final=float(self.alloc[GPU_RESOURCE][-1]) if len(self.alloc[GPU_RESOURCE]) else 0.0,
            pending_pods_mean=twm(self.pending),
            imbalance_cpu_mean=float(np.mean(self.imbalance_cpu)) if len(self.imbalance_cpu) else 0.0,
            imbalance_memory_mean=float(np.mean(self.imbalance_memory)) if len(self.imbalance_memory) else 0.0,
            gpu_fragmentation_mean=float(np.mean(self.fragmentation)) if len(self.fragmentation) else 0.0,
            active_node_hours=float((np.asarray(self.active_nodes, dtype=np.float64) * dt).sum() / 3600)
            if len(self.active_nodes)
            else 0.0,
            node_hours=float((np.asarray(self.live_nodes, dtype=np.float64) * dt).sum() / 3600)
            if len(self.live_nodes)
            else 0.0,
            duration_s=span,
        )
