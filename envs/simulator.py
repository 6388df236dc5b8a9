"""The discrete-event simulation of a Kubernetes cluster and its scheduler.

Events: pod arrivals, departures at the end of a pod's lifetime, node failures and recoveries (their
pods are evicted and queued again, as their controllers recreate them), zone failures (every node of a
zone fails at once and recovers together), and an optional autoscaler that powers nodes of a scalable set on
and off. Pending pods wait in a scheduling queue ordered by priority, then by the time they were queued
(PrioritySort). A pod that fits nowhere moves to the unschedulable set; when something frees
resources on a node (a departure, a node that recovers or is added), the pods that now fit there are
queued again (a queueing hint), and every pod is retried after five minutes in the set, as
kube-scheduler's unschedulable queue does.

Preemption (``SimulationOptions.preemption``, with DefaultPreemption in the profile): a pod that fits nowhere
runs kube-scheduler's PostFilter (``envs.kube.plugins.defaultpreemption``): its victims leave their node at
once (graceful termination is not modelled), a victim owned by a controller (``ownerReferences`` with
``controller: true``) is queued again as the pod its controller re-creates, a victim without one is gone; the
preemptor is nominated to the node and queued again at its place in the queue (nominated pods do not reserve
room for lower-priority pods here).

Scheduling is instantaneous: after the events at a time are applied, the queue is drained one pod at
a time. Any policy that scores nodes (``envs.policy.NodeScorer``) can drive it through ``run``; the
Gymnasium environment drives it one decision at a time through ``next_pod``/``bind``/``defer``.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field, replace

import numpy as np

from podgym.envs.availability import service_tracker
from podgym.envs.cluster import ClusterState, PodRequest
from podgym.envs.kube.disruption import PodDisruptionBudget
from podgym.envs.kube.framework import UNSCHEDULABLE
from podgym.envs.kube.plugins.defaultpreemption import (
    Candidate,
    filter_pods_with_pdb_violation,
    pick_one_node_for_preemption,
)
from podgym.envs.kube.profile import Profile, default_profile
from podgym.envs.metrics import MetricsRecorder, Summary
from podgym.envs.policy import NodeScorer
from podgym.envs.scheduling import FITS, VectorProfile
from podgym.envs.unschedulable import UnschedulablePods
from podgym.envs.workload.pools import ZONE_LABEL
from podgym.envs.workload.types import GPU_RESOURCE, ClusterSource, Workload

ARRIVE, DEPART, FAIL, RECOVER, PROVISIONED, IDLE_CHECK = range(6)
ZONE_FAIL, ZONE_RECOVER = 6, 7
# pkg/scheduler/backend/queue: DefaultPodMaxInUnschedulablePodsDuration.
MAX_IN_UNSCHEDULABLE_S = 300.0
_ONE_TEMPLATE = np.zeros(1, dtype=np.int64)  # template_of for a queueing hint over one pod


@dataclass(frozen=True)
class FailureModel:
    """Node failures: exponential time to failure (`mtbf_s`) and to repair (`mttr_s`) per node, and/or
    scripted events (time, node name, "fail" | "recover"). Zone failures likewise (`zone_mtbf_s`, `zone_mttr_s`
    per zone, a value of the nodes' topology.kubernetes.io/zone label; `zone_events` (time, zone, action)):
    every live node of the zone fails at once, and those nodes come back when the zone recovers (except one
    that failed on its own meanwhile and is not repaired yet). `replacement_delay_s`: the time from a node's
    failure until the replacements of its pods enter the scheduling queue (upstream, the pods of an unreachable
    node are evicted after their 300 s default toleration, then their controllers create new ones); 0: at once."""

    mtbf_s: float | None = None
    mttr_s: float = 3600.0
    events: tuple[tuple[float, str, str], ...] = ()
    zone_mtbf_s: float | None = None
    zone_mttr_s: float = 3600.0
    zone_events: tuple[tuple[float, str, str], ...] = ()
    replacement_delay_s: float = 0.0


@dataclass(frozen=True)
class Autoscaler:
    """A node set that scales: its nodes start powered off; one is added (after `provision_delay_s`) when a
    pod fits nowhere but would fit on it, and one that stays empty for `scale_down_after_s` is removed."""

    nodes: tuple[str, ...]
    provision_delay_s: float = 60.0
    scale_down_after_s: float = 600.0


@dataclass
class SimulationOptions:
    """Rules of the simulation; the defaults are kube-scheduler's behaviour."""

    horizon_s: float = math.inf
    retry_unschedulable: bool = True  # False: a pod that fits nowhere is dropped (the FGD experiment's rule)
    departures: bool = True  # False: pods never leave
    sample_interval_s: float = 60.0
    failures: FailureModel = field(default_factory=FailureModel)
    autoscaler: Autoscaler | None = None
    # Ties for the top score: "random" (kube-scheduler's selectHost) or "rank" (a random rank per node, drawn
    # once per run from the seed over the nodes sorted by name; the smallest rank wins: the FGD experiment's rule).
    tie_break: str = "random"
    # Run DefaultPreemption (when the profile enables it) for a pod that fits nowhere.
    preemption: bool = False
    pdbs: tuple[PodDisruptionBudget, ...] = ()  # the PodDisruptionBudgets preemption honours


def random_streams(seed: int) -> list[np.random.SeedSequence]:
    """A run's independent random streams: tie-breaks, failures, node ranks, preemption, zones (in this order)."""
    return np.random.SeedSequence(seed).spawn(5)


def tie_ranks(node_names: list[str], seed: int) -> np.ndarray:
    """Each node's rank [N] in a run with `seed`: a random permutation over the nodes sorted by name, drawn once
    per run (the FGD experiment's tie rule, the smallest rank wins; the ``node_rank`` feature)."""
    by_name = np.argsort(np.array(node_names, dtype=object), kind="stable")
    rank = np.empty(len(node_names), dtype=np.int64)
    rank[by_name] = np.random.default_rng(random_streams(seed)[2]).permutation(len(node_names))
    return rank


@dataclass
class SimulatorState:
    """A Simulator's dynamic state between two decisions: what another engine hands over (``Simulator.state``,
    ``Simulator.from_state``). The cluster's arrays and the metrics recorder travel in their own public fields."""

    now: float
    node_of: np.ndarray  # int64 [pods]: the node each pod runs on, -1 for none
    gpus_of: list[tuple[int, ...]]  # per pod, the GPU devices it holds
    queued_at: np.ndarray  # float64 [pods]: when each pod was last queued (NaN: never)
    ever_bound: np.ndarray  # bool [pods]
    dropped: np.ndarray  # bool [pods]: fitted nowhere without retries
    incarnation: np.ndarray  # int64 [pods]: binds undone so far (a departure event of an older one is stale)
    attempted: np.ndarray  # bool [pods]: tried at least once
    events: list[tuple[float, int, int, int, int]]  # (time, seq, kind, a, b), sorted
    work_events: int  # events other than random failures and recoveries
    queue: list[tuple[int, float, int, int]]  # the active queue: (-priority, since, seq, pod), sorted
    seq: int  # the sequence counter that events and the queue share
    unschedulable: list[tuple[int, float]]  # (pod, since), in the order they became unschedulable
    current: int | None  # the pod being decided
    running: int
    dirty: bool  # the state reached at `now` is not yet recorded in the metrics
    gpu_arrived: int
    curve: list[tuple[int, int]]


def _has_controller(template) -> bool:
    """Whether the pod has a controller (an ownerReference with ``controller: true``) that re-creates it."""
    refs = (template.raw.get("metadata") or {}).get("ownerReferences") or []
    return any(isinstance(r, dict) and r.get("controller") for r in refs)


def may_preempt(options: SimulationOptions, profile: Profile, workload: Workload | None) -> bool:
    """Whether a run can preempt: preemption on, DefaultPreemption in the profile, and a pod of the workload that
    may preempt (not ``preemptionPolicy: Never``) with a higher priority than another pod's."""
    if not options.preemption or profile.preemption is None or workload is None or not len(workload):
        return False
    preempting = np.array([t.preemption_policy != "Never" for t in workload.templates], dtype=bool)[workload.template]
    return bool(preempting.any() and workload.priority[preempting].max() > workload.priority.min())


def sample_candidates(feasible: np.ndarray, num_to_find: int, start: int) -> tuple[np.ndarray, int]:
    """The feasible nodes kube-scheduler would score: up to `num_to_find`, scanning from the round-robin `start`
    and wrapping around; returns them and the next start index (which moves only when the search stops early)."""
    n = len(feasible)
    idx = np.flatnonzero(feasible)
    if num_to_find >= n:
        return idx, start
    p = int(np.searchsorted(idx, start))  # the scan starts at node `start` and wraps around
    if len(idx) <= num_to_find:
        return (np.concatenate((idx[p:], idx[:p])) if p else idx), start
    if len(idx) - p >= num_to_find:
        rotated = idx[p : p + num_to_find]
    else:
        rotated = np.concatenate((idx[p:], idx[: num_to_find - (len(idx) - p)]))
    return rotated, (int(rotated[-1]) + 1) % n


class Simulator:
    """A cluster, a workload and the scheduling queue, advanced event by event."""

    def __init__(
        self,
        source: ClusterSource,
        workload: Workload,
        options: SimulationOptions | None = None,
        filter_profile: Profile | None = None,
        seed: int = 0,
    ):
        self.source = source
        self.workload = workload
        self.options = options or SimulationOptions()
        self.filters = VectorProfile(filter_profile or default_profile())
        self.seed = seed
        initial = source.initial
        self._num_initial = len(initial) if initial is not None else 0
        self.reset(seed)

    # ---- setup -------------------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> None:
        """Start over: an empty cluster (plus the snapshot's bound pods), every arrival scheduled."""
        if seed is not None:
            self.seed = seed
        streams = random_streams(self.seed)
        self.rng = np.random.default_rng(streams[0])  # tie-breaks
        self._failure_rng = np.random.default_rng(streams[1])
        self._preempt_rng = np.random.default_rng(streams[3])  # the dry run's start among candidate nodes
        self.preemptor = self.filters.profile.preemption if self.options.preemption else None
        self._budget_matches: np.ndarray | None = None  # [budgets, pods]: which pods each budget selects
        initial = self.source.initial
        self.cluster = ClusterState.for_workloads(self.source.nodes, initial, self.workload)
        n_init, n_pods = self._num_initial, len(self.workload)
        self.num_pods = n_init + n_pods
        self._requests: list[PodRequest | None] = [None] * self.num_pods
        self.arrival = np.concatenate([np.zeros(n_init), self.workload.arrival])
        self.duration = np.concatenate(
            [initial.duration if initial is not None else np.zeros(0), self.workload.duration]
        )
        if not self.options.departures:
            self.duration = np.full(self.num_pods, np.inf)
        self.node_of = np.full(self.num_pods, -1, dtype=np.int64)
        self.gpus_of: list[tuple[int, ...]] = [()] * self.num_pods
        self.bound_at = np.full(self.num_pods, np.nan)  # when each pod last started (preemption's start time)
        self.nominated = np.full(self.num_pods, -1, dtype=np.int64)  # the node preemption nominated
        self.queued_at = np.full(self.num_pods, np.nan)
        self.ever_bound = np.zeros(self.num_pods, dtype=bool)
        self.dropped = np.zeros(self.num_pods, dtype=bool)
        self._incarnation = np.zeros(self.num_pods, dtype=np.int64)
        self.node_pods: list[set[int]] = [set() for _ in range(self.cluster.num_nodes)]
        self.now = 0.0
        self._events: list[tuple] = []
        self._work_events = 0  # events other than random failures/recoveries: while any is left, the run goes on
        self._seq = 0
        self._queue: list[tuple[int, int, int]] = []
        self._unschedulable = UnschedulablePods(len(self.cluster.resources))
        self._current: int | None = None
        # Filter results by pod shape, valid while the cluster's version is unchanged: pods retried in a
        # row (a flush of the unschedulable set) mostly share a few shapes and nothing changes between them.
        self._filter_memo: dict[tuple, tuple[int, np.ndarray]] = {}
        self.next_start_index = 0
        self.running = 0
        self._dirty = False
        self.metrics = MetricsRecorder(self.cluster, self.options.sample_interval_s)
        # Services (the workload's PodDisruptionBudgets): their running replicas, for the availability metrics.
        self.services = service_tracker(initial, self.workload, self.arrival)
        self.metrics.track_services(self.services)
        self._zone_rng = np.random.default_rng(streams[4])
        self._setup_zones()
        # Observers of placements (policies that keep state, fragmentation trackers): on_bind / on_unbind.
        self.listeners: list = []
        self._attempted = np.zeros(self.num_pods, dtype=bool)
        self.gpu_arrived = 0  # milli-GPU asked by the pods attempted so far (the FGD experiment's x axis)
        self.curve: list[tuple[int, int]] = []  # (arrived milli-GPU, allocated milli-GPU) after each first attempt
        if self.options.tie_break not in ("random", "rank"):
            raise ValueError(f"tie_break must be 'random' or 'rank', got {self.options.tie_break!r}")
        self.rank = tie_ranks(self.cluster.node_names, self.seed)
        self._scalable = np.zeros(self.cluster.num_nodes, dtype=bool)
        self._provisioning: set[int] = set()
        self._idle_since = np.zeros(self.cluster.num_nodes)
        if self.options.autoscaler is not None:
            for name in self.options.autoscaler.nodes:
                j = self._node(name)
                self._scalable[j] = True
                self.cluster.set_alive(j, False)
        for i in range(n_init):
            node = self._node(self.source.bound_to[i])
            self._bind(i, node)
        for k, t in enumerate(self.workload.arrival):
            self._push(float(t), ARRIVE, n_init + k)
        self._schedule_failures()

    # ---- hand-over between engines --------------------------------------------------------------
    def state(self) -> SimulatorState:
        """A copy of the dynamic state (events and queue sorted)."""
        return SimulatorState(
            now=self.now,
            node_of=self.node_of.copy(),
            gpus_of=list(self.gpus_of),
            queued_at=self.queued_at.copy(),
            ever_bound=self.ever_bound.copy(),
            dropped=self.dropped.copy(),
            incarnation=self._incarnation.copy(),
            attempted=self._attempted.copy(),
            events=sorted(self._events),
            work_events=self._work_events,
            queue=sorted(self._queue),
            seq=self._seq,
            unschedulable=list(self._unschedulable.since.items()),
            current=self._current,
            running=self.running,
            dirty=self._dirty,
            gpu_arrived=self.gpu_arrived,
            curve=list(self.curve),
        )

    @classmethod
    def from_state(
        cls,
        source: ClusterSource,
        workload: Workload,
        options: SimulationOptions | None,
        filter_profile: Profile | None,
        seed: int,
        state: SimulatorState,
    ) -> Simulator:
        """A Simulator of this run in `state`. The caller brings ``cluster`` and ``metrics`` to the same point
        through their public fields; the random streams start from `seed` (the state holds no random draw)."""
        sim = cls(source, workload, options, filter_profile, seed=seed)
        sim.now = state.now
        sim.node_of[:] = state.node_of
        sim.gpus_of = list(state.gpus_of)
        sim.queued_at[:] = state.queued_at
        sim.ever_bound[:] = state.ever_bound
        sim.dropped[:] = state.dropped
        sim._incarnation[:] = state.incarnation
        sim._attempted[:] = state.attempted
        sim.node_pods = [set() for _ in range(sim.cluster.num_nodes)]
        for i in np.flatnonzero(state.node_of >= 0).tolist():
            sim.node_pods[int(state.node_of[i])].add(i)
        sim._events = sorted(state.events)  # a sorted list is a valid heap; keys (time, seq) are unique
        sim._work_events = state.work_events
        sim._queue = sorted(state.queue)
        sim._seq = state.seq
        sim._unschedulable = UnschedulablePods(len(sim.cluster.resources))
        for i, since in state.unschedulable:
            sim._unschedulable.add(i, sim.request(i), since)
        sim._current = state.current
        sim.running = state.running
        sim._dirty = state.dirty
        sim.gpu_arrived = state.gpu_arrived
        sim.curve = list(state.curve)
        if sim.services is not None:
            sim.services.recount(sim.node_of)
        return sim

    def _node(self, name: str) -> int:
        j = self.cluster.node_index.get(name)
        if j is None:
            raise ValueError(f"unknown node {name!r}: not in the cluster's node list")
        return j

    def _schedule_failures(self) -> None:
        fm = self.options.failures
        for t, name, what in fm.events:
            if what not in ("fail", "recover"):
                raise ValueError(f"failure event for node {name!r} at {t}: expected 'fail' or 'recover', got {what!r}")
            self._push(float(t), FAIL if what == "fail" else RECOVER, self._node(name))
        if fm.mtbf_s:
            for j, ttf in enumerate(self._failure_rng.exponential(fm.mtbf_s, self.cluster.num_nodes)):
                if not self._scalable[j]:
                    self._push(float(ttf), FAIL, j, 1)
        for t, zone, what in fm.zone_events:
            if what not in ("fail", "recover"):
                raise ValueError(f"failure event for zone {zone!r} at {t}: expected 'fail' or 'recover', got {what!r}")
            if zone not in self._zone_index:
                raise ValueError(f"unknown zone {zone!r}: no node has the label {ZONE_LABEL}={zone}")
            self._push(float(t), ZONE_FAIL if what == "fail" else ZONE_RECOVER, self._zone_index[zone])
        if fm.zone_mtbf_s:
            for z, ttf in enumerate(self._zone_rng.exponential(fm.zone_mtbf_s, len(self._zone_nodes))):
                self._push(float(ttf), ZONE_FAIL, z, 1)

    def _setup_zones(self) -> None:
        """Zones (sorted by name) and their nodes, when the failure model has zone failures."""
        fm = self.options.failures
        self._zone_index: dict[str, int] = {}
        self._zone_nodes: list[np.ndarray] = []
        self._zone_of = np.full(self.cluster.num_nodes, -1, dtype=np.int64)
        self._zone_down = np.zeros(0, dtype=bool)
        self._node_down = np.zeros(self.cluster.num_nodes, dtype=bool)  # failed on its own, not repaired yet
        self._zone_took: dict[int, list[int]] = {}
        if not (fm.zone_events or fm.zone_mtbf_s):
            return
        zones = [n.labels.get(ZONE_LABEL) for n in self.source.nodes]
        self._zone_index = {z: k for k, z in enumerate(sorted({z for z in zones if z is not None}))}
        for j, z in enumerate(zones):
            if z is not None:
                self._zone_of[j] = self._zone_index[z]
        self._zone_nodes = [np.flatnonzero(self._zone_of == k) for k in range(len(self._zone_index))]
        self._zone_down = np.zeros(len(self._zone_index), dtype=bool)

    def _push(self, t: float, kind: int, a: int, b: int = 0) -> None:
        heapq.heappush(self._events, (t, self._seq, kind, a, b))
        self._seq += 1
        if not (kind in (FAIL, RECOVER, ZONE_FAIL, ZONE_RECOVER) and b):
            self._work_events += 1

    def request(self, i: int) -> PodRequest:
        """Pod `i` as a PodRequest (built on first use)."""
        r = self._requests[i]
        if r is None:
            if i < self._num_initial:
                r = self.cluster.pod_request(self.source.initial, i)
            else:
                r = self.cluster.pod_request(self.workload, i - self._num_initial)
            self._requests[i] = r
        return r

    # ---- queue -------------------------------------------------------------------------------
    def _enqueue(self, i: int) -> None:
        self.queued_at[i] = self.now
        heapq.heappush(self._queue, (-self.request(i).priority, self.now, self._seq, i))
        self._seq += 1

    def _requeue(self, pods: list[int]) -> None:
        for i in pods:
            # PrioritySort orders equal priorities by the pod's queue timestamp, which kube-scheduler
            # refreshes when the pod becomes unschedulable: a retried pod goes before later arrivals.
            since = self._unschedulable.pop(i)
            heapq.heappush(self._queue, (-self.request(i).priority, since, self._seq, i))
            self._seq += 1

    def _retry_unschedulable(self, node: int) -> None:
        """Something was freed or added on `node`: requeue the unschedulable pods that now fit there.

        A pod that fitted nowhere can only fit where something changed, so this queueing hint requeues
        exactly the pods whose next attempt can succeed. kube-scheduler requeues more (for
        NodeResourcesFit, every pod it rejected, on any deletion of a scheduled pod) and those extra
        attempts fail at once: placements and their order are the same, only the count of failed
        attempts is lower here.
        """
        self._requeue(self._unschedulable.fitting(self.cluster, self.filters, node))

    def _flush_unschedulable(self) -> None:
        """Requeue pods that have waited in the unschedulable set for PodMaxInUnschedulablePodsDuration (5 min),
        as kube-scheduler's periodic flush does (this also retries pods the agent chose to leave pending)."""
        expired = []
        for i, since in self._unschedulable.since.items():  # insertion order: oldest first
            if self.now - since < MAX_IN_UNSCHEDULABLE_S:
                break
            expired.append(i)
        self._requeue(expired)

    @property
    def current(self) -> int | None:
        """The pod being decided (``next_pod`` returned it; ``bind`` or ``defer`` settles it)."""
        return self._current

    @property
    def pending(self) -> int:
        """Pods waiting: in the active queue, the unschedulable set, or being decided."""
        return len(self._queue) + len(self._unschedulable) + (self._current is not None)

    # ---- events ------------------------------------------------------------------------------
    def _apply(self, kind: int, a: int, b: int) -> None:
        if kind == ARRIVE:
            self._enqueue(a)
        elif kind == DEPART:
            if self._incarnation[a] == b and self.node_of[a] >= 0:
                node = int(self.node_of[a])
                self._unbind(a)
                self._retry_unschedulable(node)
        elif kind == FAIL:
            if self._in_down_zone(a):
                # Down with its zone: it fails on its own too (stays down when the zone recovers, until repaired).
                self._node_down[a] = True
                if b and self.options.failures.mttr_s:
                    self._push(
                        self.now + float(self._failure_rng.exponential(self.options.failures.mttr_s)), RECOVER, a, 1
                    )
            elif self.cluster.alive[a]:
                self.metrics.failures += 1
                self._take_down(a)
                self._node_down[a] = True
                if b and self.options.failures.mttr_s:
                    self._push(
                        self.now + float(self._failure_rng.exponential(self.options.failures.mttr_s)), RECOVER, a, 1
                    )
        elif kind == RECOVER:
            self._node_down[a] = False
            if self._in_down_zone(a):
                took = self._zone_took.setdefault(int(self._zone_of[a]), [])
                if a not in took:  # down on its own before the zone failed: it comes back with the zone
                    took.append(a)
                if b and self.options.failures.mtbf_s:  # repaired, but its zone is down: it comes back with it
                    self._push(
                        self.now + float(self._failure_rng.exponential(self.options.failures.mtbf_s)), FAIL, a, 1
                    )
            elif not self.cluster.alive[a]:
                self.cluster.set_alive(a, True)
                self._retry_unschedulable(a)
                if b and self.options.failures.mtbf_s:
                    self._push(
                        self.now + float(self._failure_rng.exponential(self.options.failures.mtbf_s)), FAIL, a, 1
                    )
        elif kind == ZONE_FAIL:
            self._fail_zone(a, b)
        elif kind == ZONE_RECOVER:
            self._recover_zone(a, b)
        elif kind == PROVISIONED:
            self._provisioning.discard(a)
            self.cluster.set_alive(a, True)
            self._retry_unschedulable(a)
            self._idle_since[a] = self.now
            self._push(self.now + self.options.autoscaler.scale_down_after_s, IDLE_CHECK, a)
        elif (
            kind == IDLE_CHECK
            and self.cluster.alive[a]
            and self.cluster.pod_count[a] == 0
            and self.now - self._idle_since[a] >= self.options.autoscaler.scale_down_after_s
        ):
            # Only a node empty for the whole delay goes (not one that was just emptied again).
            self.cluster.set_alive(a, False)

    def _in_down_zone(self, node: int) -> bool:
        return bool(self._zone_down.size) and self._zone_of[node] >= 0 and bool(self._zone_down[self._zone_of[node]])

    def _take_down(self, node: int) -> None:
        """A node fails: its pods are evicted and queued again (their controllers recreate them), it goes down."""
        for i in sorted(self.node_pods[node]):
            self._unbind(i)
            self.metrics.evictions += 1
            if self.services is not None and self.services.is_replica(i):
                self.metrics.replicas_lost += 1
            delay = self.options.failures.replacement_delay_s
            if delay:
                self._push(self.now + delay, ARRIVE, i)  # its replacement, once the controller makes it
            else:
                self._enqueue(i)
        self.cluster.set_alive(node, False)

    def _fail_zone(self, z: int, random: int) -> None:
        """Zone `z` fails: every live node of it goes down at once (one failure in the metrics)."""
        fm = self.options.failures
        if not self._zone_down[z]:
            took = [int(j) for j in self._zone_nodes[z] if self.cluster.alive[j]]
            self._zone_down[z] = True
            self._zone_took[z] = took
            self.metrics.failures += 1
            for j in took:
                self._take_down(j)
        if random and fm.zone_mttr_s:
            self._push(self.now + float(self._zone_rng.exponential(fm.zone_mttr_s)), ZONE_RECOVER, z, 1)

    def _recover_zone(self, z: int, random: int) -> None:
        """Zone `z` recovers: the nodes it took down come back, except those down on their own."""
        fm = self.options.failures
        if self._zone_down[z]:
            self._zone_down[z] = False
            for j in self._zone_took.pop(z, []):
                if not self._node_down[j] and not self.cluster.alive[j]:
                    self.cluster.set_alive(j, True)
                    self._retry_unschedulable(j)
        if random and fm.zone_mtbf_s:
            self._push(self.now + float(self._zone_rng.exponential(fm.zone_mtbf_s)), ZONE_FAIL, z, 1)

    def _advance(self) -> bool:
        """Apply every event at the next event time; False when no event is left within the horizon."""
        if not self._events or self._events[0][0] > self.options.horizon_s:
            self._observe()  # the final state, which holds until the end of the run
            return False
        if self._work_events == 0:
            self._observe()
            return False  # only random node failures and recoveries are left: the workload is done
        self._observe()
        self.now = self._events[0][0]
        while self._events and self._events[0][0] == self.now:
            _, _, kind, a, b = heapq.heappop(self._events)
            if not (kind in (FAIL, RECOVER, ZONE_FAIL, ZONE_RECOVER) and b):
                self._work_events -= 1
            self._apply(kind, a, b)
        self._dirty = True
        if self._unschedulable:
            self._flush_unschedulable()
        return True

    def _observe(self) -> None:
        """Record the state reached at `now` (after its scheduling), once, before time moves on."""
        if self._dirty:
            self.metrics.observe(self.now, self.pending, self.running)
            self._dirty = False

    # ---- binding -----------------------------------------------------------------------------
    def _bind(self, i: int, node: int, gpus: tuple[int, ...] | None = None) -> None:
        pod = self.request(i)
        self.gpus_of[i] = self.cluster.bind(node, pod, gpus)
        self.node_of[i] = node
        self.node_pods[node].add(i)
        self.ever_bound[i] = True
        self.bound_at[i] = self.now
        self.running += 1
        if self.services is not None:
            self.services.bind(i)
        for listener in self.listeners:
            listener.on_bind(self.cluster, node, pod, self.gpus_of[i])
        if math.isfinite(self.duration[i]):
            self._push(self.now + float(self.duration[i]), DEPART, i, int(self._incarnation[i]))

    def _unbind(self, i: int) -> None:
        node = int(self.node_of[i])
        self.cluster.unbind(node, self.request(i), self.gpus_of[i])
        for listener in self.listeners:
            listener.on_unbind(self.cluster, node, self.request(i), self.gpus_of[i])
        self.node_of[i] = -1
        self.gpus_of[i] = ()
        self.node_pods[node].discard(i)
        self._incarnation[i] += 1
        self.running -= 1
        if self.services is not None:
            self.services.unbind(i)
        if self._scalable[node] and self.cluster.pod_count[node] == 0 and self.options.autoscaler is not None:
            self._idle_since[node] = self.now
            self._push(self.now + self.options.autoscaler.scale_down_after_s, IDLE_CHECK, node)

    # ---- one decision at a time --------------------------------------------------------------
    def next_pod(self) -> int | None:
        """Advance to the next pod that needs a decision and return its index (None: the run is over)."""
        if self._current is not None:
            return self._current
        while not self._queue:
            if not self._advance():
                return None
        i = heapq.heappop(self._queue)[-1]
        self._current = i
        return i

    def feasible(self, i: int | None = None) -> np.ndarray:
        """Nodes where the current pod (or pod `i`) passes every Filter plugin."""
        i = self._current if i is None else i
        return self._filter(self.request(i))

    def _filter(self, pod: PodRequest) -> np.ndarray:
        """`filters.filter` for `pod`, memoised per pod shape and cluster version (read-only: it is shared)."""
        key = (id(pod.template), pod.requests.tobytes(), pod.gpu_count, pod.gpu_milli)
        hit = self._filter_memo.get(key)
        version = self.cluster.version
        if hit is not None and hit[0] == version:
            return hit[1]
        mask = self.filters.filter(self.cluster, pod)
        mask.flags.writeable = False
        if len(self._filter_memo) > 4096:
            self._filter_memo.clear()
        self._filter_memo[key] = (version, mask)
        return mask

    def candidates(self, feasible: np.ndarray, num_to_find: int) -> np.ndarray:
        """The feasible nodes kube-scheduler would score (``sample_candidates``); advances the start index."""
        nodes, self.next_start_index = sample_candidates(feasible, num_to_find, self.next_start_index)
        return nodes

    def bind(self, node: int, gpus: tuple[int, ...] | None = None) -> None:
        """Bind the current pod to `node` (which must be feasible)."""
        i = self._current
        if i is None:
            raise RuntimeError("no pod is waiting for a decision: call next_pod() first")
        self.metrics.attempts += 1
        self.metrics.waits.append(self.now - float(self.queued_at[i]))
        self._current = None
        self._bind(i, node, gpus)
        self._first_attempt(i)

    def defer(self) -> None:
        """Leave the current pod pending: it waits in the unschedulable set (or is dropped, by the options)."""
        i = self._current
        if i is None:
            raise RuntimeError("no pod is waiting for a decision: call next_pod() first")
        self.metrics.attempts += 1
        self.metrics.failed_attempts += 1
        self._current = None
        self._first_attempt(i)
        if self.preemptor is not None and not self._filter(self.request(i)).any() and self._preempt(i):
            return
        if not self.options.retry_unschedulable:
            self.dropped[i] = True
            return
        self._unschedulable.add(i, self.request(i), self.now)
        if self.options.autoscaler is not None:
            self._scale_up_for(i)

    # ---- preemption ----------------------------------------------------------------------------
    def _fits_on(self, pod: PodRequest, node: int) -> bool:
        """Whether `pod` passes every Filter plugin on `node` now (static verdict, dynamic plugins' hints, GPUs)."""
        static = self.filters.static_verdict(self.cluster, pod.template)
        if static.code[node] != FITS or not self.cluster.alive[node]:
            return False
        for plugin in static.dynamic:
            if not plugin.hint(self.cluster, pod.requests[None, :], node, [pod.template], _ONE_TEMPLATE)[0]:
                return False
        return not pod.gpu_count or bool(self.cluster.gpu_fit(pod)[node])

    def _pdb_allowed(self) -> list[int]:
        """Disruptions each budget allows now, counted over the running pods as ``kube.preempt`` counts them (the
        pods on the nodes: selected and healthy alike; the disruption controller's scale is their number)."""
        pdbs = self.options.pdbs
        if not pdbs:
            return []
        if self._budget_matches is None:
            # A budget selects by namespace and labels, which a pod's template holds: decided once per template.
            templates: dict[int, int] = {}
            distinct = []
            ids = np.empty(self.num_pods, dtype=np.int64)
            for i in range(self.num_pods):
                t = self.request(i).template
                k = templates.setdefault(id(t), len(distinct))
                if k == len(distinct):
                    distinct.append(t)
                ids[i] = k
            selects = np.array([[pdb.selects(t) for t in distinct] for pdb in pdbs], dtype=bool).reshape(len(pdbs), -1)
            self._budget_matches = selects[:, ids]  # [budgets, pods]
        healthy = (self._budget_matches & (self.node_of >= 0)).sum(axis=1).tolist()
        return [pdb.allowed_from_counts(h, h) for pdb, h in zip(pdbs, healthy, strict=True)]

    def _victims_on(self, i: int, node: int, allowed: list[int]) -> tuple[list[int], int] | None:
        """SelectVictimsOnNode on the cluster itself (every change undone before returning): the pods to evict
        from `node` for pod `i`, most important first, and the PDB violations; None when no eviction helps. The
        removals and restorations are the dry run's (``ClusterState.unbind``): the preemptor's spread matchers are
        registered already, by the Filter pass that found it fits nowhere."""
        pod = self.request(i)
        lower = sorted(k for k in self.node_pods[node] if self.request(k).priority < pod.priority)
        if not lower:
            return None
        for k in lower:
            self.cluster.unbind(node, self.request(k), self.gpus_of[k], dry_run=True)
        victims: list[int] = []
        try:
            if not self._fits_on(pod, node):
                victims = lower
                return None
            lower.sort(key=lambda k: (-self.request(k).priority, self.bound_at[k], k))
            violating, fine = filter_pods_with_pdb_violation(
                lower, self.options.pdbs, allowed, lambda k: self.request(k).template
            )
            num_violations = 0
            for group, counts in ((violating, 1), (fine, 0)):
                for k in group:
                    self.cluster.bind(node, self.request(k), self.gpus_of[k], dry_run=True)
                    if not self._fits_on(pod, node):
                        self.cluster.unbind(node, self.request(k), self.gpus_of[k], dry_run=True)
                        victims.append(k)
                        num_violations += counts
            if violating and fine:
                victims.sort(key=lambda k: (-self.request(k).priority, self.bound_at[k], k))
            return (list(victims), num_violations) if victims else None
        finally:
            for k in victims:
                self.cluster.bind(node, self.request(k), self.gpus_of[k], dry_run=True)

    def _victim_pod(self, k: int):
        """Pod `k` as pickOneNodeForPreemption reads it: its priority and its start time."""
        return replace(self.request(k).template, priority=self.request(k).priority, start_time=float(self.bound_at[k]))

    def _preempt(self, i: int) -> bool:
        """DefaultPreemption for pod `i`, which fits nowhere: evict the victims on the chosen node and requeue the
        pod nominated there. False when preemption does not help (the pod then waits as usual)."""
        pod = self.request(i)
        if pod.template.preemption_policy == "Never":
            return False
        if not any(self.request(k).priority < pod.priority for k in np.flatnonzero(self.node_of >= 0).tolist()):
            return False  # no pod of lower priority runs anywhere: no node has victims
        statuses = self.filters.filter_statuses(self.cluster, pod)
        potential = [j for j, st in enumerate(statuses) if st is not None and st.code == UNSCHEDULABLE]
        if not potential:
            return False
        wanted = self.preemptor.calculate_num_candidates(len(potential))
        offset = int(self._preempt_rng.integers(len(potential)))
        allowed = self._pdb_allowed()
        found: dict[str, list[int]] = {}
        non_violating: list[Candidate] = []
        violating: list[Candidate] = []
        for n in range(len(potential)):
            node = potential[(offset + n) % len(potential)]
            result = self._victims_on(i, node, allowed)
            if result is None:
                continue
            victims, num_violations = result
            kept = violating if num_violations else non_violating
            if len(kept) < wanted:
                name = self.cluster.node_names[node]
                kept.append(Candidate(name, tuple(self._victim_pod(k) for k in victims), num_violations))
                found[name] = victims
            if non_violating and len(non_violating) + len(violating) >= wanted:
                break
        if not non_violating and not violating:
            return False
        best = pick_one_node_for_preemption(non_violating + violating)
        node = self.cluster.node_index[best.node]
        for k in found[best.node]:
            self._unbind(k)
            self.metrics.preemption_victims += 1
            if _has_controller(self.request(k).template):
                self._enqueue(k)  # the pod its controller re-creates
            else:
                self.dropped[k] = True  # deleted
        self.metrics.preemptions += 1
        self.nominated[i] = node
        heapq.heappush(self._queue, (-pod.priority, float(self.queued_at[i]), self._seq, i))
        self._seq += 1
        self._retry_unschedulable(node)
        return True

    def _first_attempt(self, i: int) -> None:
        """Record the allocation-vs-arrived curve: a pod counts as arrived when first tried, placed or not."""
        if self._attempted[i]:
            return
        self._attempted[i] = True
        pod = self.request(i)
        self.gpu_arrived += pod.gpu_count * pod.gpu_milli
        col = self.cluster.column.get(GPU_RESOURCE)
        self.curve.append((self.gpu_arrived, int(self.cluster.total_requested[col]) if col is not None else 0))
        for listener in self.listeners:
            on_attempt = getattr(listener, "on_attempt", None)
            if on_attempt is not None:
                on_attempt(self, i)

    def _scale_up_for(self, i: int) -> None:
        """Power on the first powered-off scalable node on which pod `i` would fit once it is up."""
        off = self._scalable & ~self.cluster.alive
        if not off.any():
            return
        pod = self.request(i)
        static = self.filters.static_verdict(self.cluster, pod.template).code == 0
        empty_fit = static & (self.cluster.allocatable >= pod.requests).all(axis=1) & self._fits_idle_gpus(pod)
        if self._provisioning and empty_fit[list(self._provisioning)].any():
            return  # a node on its way would take the pod
        if self._provisioning:
            off[list(self._provisioning)] = False
        fits = off & empty_fit
        if fits.any():
            j = int(np.argmax(fits))
            self._provisioning.add(j)
            self._push(self.now + self.options.autoscaler.provision_delay_s, PROVISIONED, j)

    def _fits_idle_gpus(self, pod: PodRequest) -> np.ndarray:
        """Nodes with enough GPUs for `pod` when all of them are idle."""
        if not pod.gpu_count:
            return np.ones(self.cluster.num_nodes, dtype=bool)
        return self.cluster.gpu_count >= pod.gpu_count

    # ---- whole runs --------------------------------------------------------------------------
    def run(self, policy: NodeScorer) -> Summary:
        """Schedule the whole workload with `policy` and return the metrics.

        A policy may also implement ``reset(sim)`` (called first), ``on_bind``/``on_unbind`` (it then observes
        every placement) and ``choose_gpus(cluster, node, pod)`` (which GPUs a pod takes; None: the default).
        """
        if hasattr(policy, "reset"):
            policy.reset(self)
        if hasattr(policy, "on_bind") and policy not in self.listeners:
            self.listeners.append(policy)
        choose_gpus = getattr(policy, "choose_gpus", None)
        rank = self.options.tie_break == "rank"
        while (i := self.next_pod()) is not None:
            num_to_find = policy.num_to_find(self.cluster.live_count)
            pod = self.request(i)
            mask = self._filter(pod)
            nodes = self.candidates(mask, num_to_find)
            if len(nodes) == 0:
                self.defer()
                continue
            if len(nodes) == 1:
                node = int(nodes[0])
            else:
                scores = np.asarray(policy.score(self.cluster, pod, nodes))
                best = np.flatnonzero(scores == scores.max())
                if len(best) == 1:
                    node = int(nodes[best[0]])
                elif rank:
                    node = int(nodes[best[np.argmin(self.rank[nodes[best]])]])
                else:
                    node = int(nodes[best[int(self.rng.integers(len(best)))]])
            self.bind(node, choose_gpus(self.cluster, node, pod) if choose_gpus is not None else None)
        return self.summary()

    def summary(self) -> Summary:
        """Metrics of the run so far: over the pods that have arrived, up to the horizon when it cut the run.

        Reading the metrics changes nothing: the current state is counted without being recorded.
        """
        end = self.now
        if self._events and self._events[0][0] > self.options.horizon_s:
            end = self.options.horizon_s  # truncated: the last state holds until the horizon
        arrived = self.arrival[self._num_initial :] <= self.now
        bound = self.ever_bound[self._num_initial :]
        never = int((arrived & ~bound).sum())
        # A run without any event (a snapshot with nothing to place) still has a state: its bound pods.
        observed = self._dirty or not self.metrics.times
        current = (self.now, self.pending, self.running) if observed else None
        return self.metrics.summary(int(arrived.sum()), int(bound.sum()), self.pending, never, end, current)

    @property
    def truncated(self) -> bool:
        """Whether the horizon stopped the run with events left."""
        return bool(self._events) and self._events[0][0] > self.options.horizon_s
