"""The discrete-event simulator on toy clusters whose right outcome is worked out by hand.

Every test builds its nodes and pods by hand (Node/Pod dicts, explicit arrival and lifetime arrays),
runs the simulator and asserts exact placements, times and metrics: the scheduling queue
(PrioritySort), departures and retries, node failure and recovery, the autoscaler, the horizon,
pods that fit nowhere, custom policies and determinism.
"""

from __future__ import annotations

import copy
import math
import signal

import numpy as np
import pytest

from podgym.envs.kube import parse_nodes
from podgym.envs.policy import KubeSchedulerPolicy, NodeScorer
from podgym.envs.scenario import load_and_build
from podgym.envs.simulator import Autoscaler, FailureModel, SimulationOptions, Simulator
from podgym.envs.workload import generate
from podgym.envs.workload.objects import workload_from_pods
from podgym.envs.workload.types import ClusterSource
from podgym.policies import make_policy
from tests.kube.builders import node, pod

HOUR = 3600.0


# ---- builders ----------------------------------------------------------------------------------------------------


def mkpod(name: str, cpu: str = "1", memory: str = "1Gi", priority: int = 0) -> dict:
    p = pod(name, containers=[{"cpu": cpu, "memory": memory}])
    if priority:
        p["spec"]["priority"] = priority
    return p


def mknode(name: str, cpu: str = "4", memory: str = "16Gi") -> dict:
    return node(name, allocatable={"cpu": cpu, "memory": memory, "pods": "110"})


def make_sim(
    nodes: list[dict],
    pods: list[dict],
    arrival: list[float],
    duration: list[float],
    seed: int = 0,
    **options,
) -> Simulator:
    workload = workload_from_pods(pods, arrival, duration)
    return Simulator(ClusterSource(nodes=parse_nodes(nodes)), workload, SimulationOptions(**options), seed=seed)


class IndexPolicy:
    """Prefers the lowest node index (first fit) or, with `highest`, the highest."""

    def __init__(self, highest: bool = False):
        self.highest = highest
        self.name = "highest-index" if highest else "first-fit"
        self.calls = 0

    def num_to_find(self, num_nodes: int) -> int:
        return num_nodes

    def score(self, cluster, pod, nodes: np.ndarray) -> np.ndarray:
        self.calls += 1
        return nodes.astype(np.float64) if self.highest else -nodes.astype(np.float64)


FIRST_FIT = IndexPolicy()


def record(sim: Simulator) -> list[tuple[float, str, str | None]]:
    """Log every decision of a run as (time, pod name, node name or None when the pod is left pending)."""
    log: list[tuple[float, str, str | None]] = []
    bind, defer = sim.bind, sim.defer

    def logged_bind(node: int, gpus=None) -> None:
        log.append((sim.now, sim.request(sim.next_pod()).name, sim.cluster.node_names[node]))
        bind(node, gpus)

    def logged_defer() -> None:
        log.append((sim.now, sim.request(sim.next_pod()).name, None))
        defer()

    sim.bind = logged_bind
    sim.defer = logged_defer
    return log


def series(sim: Simulator, name: str) -> dict[float, float]:
    """A recorded time series of the run as {event time: value after that time's scheduling}."""
    return dict(zip(sim.metrics.times, getattr(sim.metrics, name)))


# ---- the scheduling queue (PrioritySort) ---------------------------------------------------------------------------


def test_same_time_arrivals_are_placed_by_priority_then_arrival_order():
    # One slot (1 cpu); four pods arrive at once; each one's lifetime frees the slot for the next.
    pods = [mkpod("lo"), mkpod("hi-a", priority=10), mkpod("hi-b", priority=10), mkpod("mid", priority=5)]
    sim = make_sim([mknode("n0", cpu="1")], pods, [0, 0, 0, 0], [80, 10, 20, 40])
    log = record(sim)
    summary = sim.run(KubeSchedulerPolicy())
    placed = [(t, name) for t, name, where in log if where is not None]
    assert placed == [(0, "hi-a"), (10, "hi-b"), (30, "mid"), (70, "lo")]
    assert sim.metrics.waits == [0, 10, 30, 70]
    assert summary.wait_mean_s == pytest.approx(27.5)
    assert summary.duration_s == 150
    assert summary.pods_scheduled == 4 and summary.pods_pending_at_end == 0


def test_equal_priority_same_time_the_earlier_pod_in_the_workload_wins_the_only_slot():
    pods = [mkpod("first"), mkpod("second"), mkpod("third")]
    sim = make_sim([mknode("n0", cpu="1")], pods, [0, 0, 0], [math.inf] * 3)
    sim.run(KubeSchedulerPolicy())
    assert sim.node_of.tolist() == [0, -1, -1]
    assert sim.pending == 2


def test_a_higher_priority_pod_arriving_later_at_the_same_event_time_goes_first():
    # At t=5 "late-hi" arrives after "early-lo" in the workload order, but has the higher priority.
    pods = [mkpod("early-lo"), mkpod("late-hi", priority=1)]
    sim = make_sim([mknode("n0", cpu="1")], pods, [5, 5], [math.inf] * 2)
    sim.run(KubeSchedulerPolicy())
    assert sim.node_of.tolist() == [-1, 0]


def test_retried_pods_are_ordered_by_priority():
    # "blocker" holds the only slot until t=10; "lo" (queued at 1) and "hi" (queued at 2) both wait.
    pods = [mkpod("blocker"), mkpod("lo"), mkpod("hi", priority=7)]
    sim = make_sim([mknode("n0", cpu="1")], pods, [0, 1, 2], [10, math.inf, math.inf])
    log = record(sim)
    sim.run(KubeSchedulerPolicy())
    assert (10, "hi", "n0") in log
    assert sim.node_of.tolist() == [-1, -1, 0]


def test_a_retried_pod_keeps_its_place_before_a_pod_queued_later():
    # PrioritySort orders equal priorities by the time a pod was queued (upstream: the timestamp of its
    # last failed attempt). "waiting" was queued at t=1 and failed then; "newcomer" arrives at t=10, exactly
    # when "blocker" departs. "waiting" was queued first, so it gets the freed slot.
    pods = [mkpod("blocker", cpu="2"), mkpod("waiting", cpu="2"), mkpod("newcomer", cpu="2")]
    sim = make_sim([mknode("n0", cpu="2")], pods, [0, 1, 10], [10, 100, 100])
    log = record(sim)
    sim.run(KubeSchedulerPolicy())
    assert (10, "waiting", "n0") in log, log
    assert sim.metrics.waits == [0, 9, 100]


# ---- departures and retries -------------------------------------------------------------------------------------


def two_pods_one_slot(**options) -> tuple[Simulator, list]:
    # "x" holds the node's 2 cpu for 30 s; "y" (2 cpu) arrives at t=5 and fits nowhere until x departs.
    sim = make_sim([mknode("n0", cpu="2")], [mkpod("x", cpu="2"), mkpod("y", cpu="2")], [0, 5], [30, 10], **options)
    return sim, record(sim)


def test_departure_frees_resources_and_the_pending_pod_is_placed_at_that_instant():
    sim, log = two_pods_one_slot()
    summary = sim.run(KubeSchedulerPolicy())
    assert log == [(0, "x", "n0"), (5, "y", None), (30, "y", "n0")]
    assert sim.metrics.waits == [0, 25]
    # y's lifetime starts when it runs: it leaves at 30 + 10, the last event.
    assert summary.duration_s == 40
    assert series(sim, "running") == {0: 1, 5: 1, 30: 1, 40: 0}
    assert series(sim, "pending") == {0: 0, 5: 1, 30: 0, 40: 0}
    assert (summary.scheduling_attempts, summary.failed_attempts) == (3, 1)
    assert summary.wait_mean_s == 12.5
    assert summary.pending_pods_mean == pytest.approx(25 / 40)
    assert summary.pods_scheduled == 2 and summary.pods_pending_at_end == 0 and summary.pods_never_scheduled == 0


def test_without_retries_a_pod_that_fits_nowhere_is_dropped():
    sim, log = two_pods_one_slot(retry_unschedulable=False)
    summary = sim.run(KubeSchedulerPolicy())
    assert log == [(0, "x", "n0"), (5, "y", None)]
    assert sim.dropped.tolist() == [False, True]
    assert summary.pods_scheduled == 1
    assert summary.pods_never_scheduled == 1
    assert summary.pods_pending_at_end == 0
    assert (summary.scheduling_attempts, summary.failed_attempts) == (2, 1)
    assert summary.duration_s == 30


def test_without_departures_nothing_leaves():
    sim, log = two_pods_one_slot(departures=False)
    summary = sim.run(KubeSchedulerPolicy())
    assert log == [(0, "x", "n0"), (5, "y", None)]
    assert sim.node_of.tolist() == [0, -1]
    assert summary.pods_pending_at_end == 1 and summary.pods_never_scheduled == 1
    assert summary.duration_s == 5  # the last event is y's arrival
    assert summary.cpu_allocation_mean == 1.0


def test_pod_larger_than_every_node_stays_pending_and_is_counted():
    # "huge" asks 8 cpu of two 4-cpu nodes: it fails at t=0. The departures at t=10 and t=20 free too little
    # for it on either node, so the queueing hint does not requeue it, and it stays pending.
    pods = [mkpod("huge", cpu="8"), mkpod("s1"), mkpod("s2")]
    sim = make_sim([mknode("n0"), mknode("n1")], pods, [0, 0, 0], [math.inf, 10, 20])
    log = record(sim)
    summary = sim.run(KubeSchedulerPolicy())
    assert [(t, name) for t, name, where in log if where is None] == [(0, "huge")]
    assert sim._unschedulable.since == {0: 0.0}
    assert summary.pods_total == 3
    assert summary.pods_scheduled == 2
    assert summary.pods_pending_at_end == 1
    assert summary.pods_never_scheduled == 1
    assert (summary.scheduling_attempts, summary.failed_attempts) == (3, 1)
    assert summary.pending_pods_mean == 1.0
    assert summary.wait_mean_s == 0.0  # only bound pods have a wait


# ---- node failure and recovery ----------------------------------------------------------------------------------


def test_failed_node_evicts_its_pods_which_are_replaced_elsewhere_or_wait_for_recovery():
    # First fit: a, b -> n0, c -> n1. n0 fails at 10: a moves to n1 (2 cpu left), b waits until n0
    # recovers at 50. c leaves at 100.
    pods = [mkpod("a", cpu="2"), mkpod("b", cpu="2"), mkpod("c", cpu="2")]
    failures = FailureModel(events=((10, "n0", "fail"), (50, "n0", "recover")))
    sim = make_sim([mknode("n0"), mknode("n1")], pods, [0, 0, 0], [math.inf, math.inf, 100], failures=failures)
    log = record(sim)
    summary = sim.run(FIRST_FIT)
    assert log == [
        (0, "a", "n0"),
        (0, "b", "n0"),
        (0, "c", "n1"),
        (10, "a", "n1"),
        (10, "b", None),
        (50, "b", "n0"),
    ]
    assert summary.evictions == 2
    assert sim.metrics.waits == [0, 0, 0, 0, 40]
    assert (summary.scheduling_attempts, summary.failed_attempts) == (6, 1)
    assert summary.pods_pending_at_end == 0
    assert summary.duration_s == 100
    # live nodes 2, 1 (n0 down over [10, 50)), 2; active nodes the same.
    assert summary.node_hours == pytest.approx((2 * 10 + 1 * 40 + 2 * 50) / HOUR)
    assert summary.active_node_hours == pytest.approx((2 * 10 + 1 * 40 + 2 * 50) / HOUR)
    # cpu requested / allocatable of live nodes: 6/8, then 4/4 while n0 is down, then 6/8.
    assert summary.cpu_allocation_mean == pytest.approx((0.75 * 10 + 1.0 * 40 + 0.75 * 50) / 100)
    assert summary.pending_pods_mean == pytest.approx(40 / 100)
    assert series(sim, "live_nodes") == {0: 2, 10: 1, 50: 2, 100: 2}


def test_an_evicted_pods_old_departure_does_not_unbind_it_again():
    # a (lifetime 30) is evicted at 10 and restarts on n1; it leaves at 10 + 30 = 40, not at 30.
    # b waits for the room a leaves on n1 (n0 never recovers).
    pods = [mkpod("a", cpu="2"), mkpod("b", cpu="2")]
    failures = FailureModel(events=((10, "n0", "fail"),))
    sim = make_sim([mknode("n0"), mknode("n1", cpu="2")], pods, [0, 0], [30, math.inf], failures=failures)
    log = record(sim)
    summary = sim.run(FIRST_FIT)
    assert log == [(0, "a", "n0"), (0, "b", "n0"), (10, "a", "n1"), (10, "b", None), (40, "b", "n1")]
    assert series(sim, "running") == {0: 2, 10: 1, 30: 1, 40: 1}
    assert summary.evictions == 2
    assert sim.node_of.tolist() == [-1, 1]


def test_failure_events_name_existing_nodes_and_known_kinds():
    with pytest.raises(ValueError, match="unknown node 'nx'"):
        make_sim([mknode("n0")], [mkpod("a")], [0], [1], failures=FailureModel(events=((1, "nx", "fail"),)))
    with pytest.raises(ValueError, match="expected 'fail' or 'recover'"):
        make_sim([mknode("n0")], [mkpod("a")], [0], [1], failures=FailureModel(events=((1, "n0", "explode"),)))


def random_failure_sim(seed: int) -> Simulator:
    workload = generate(
        {
            "num_pods": 40,
            "arrivals": {"process": "poisson", "rate": 0.02},
            "lifetime": {"distribution": "exponential", "mean": 600},
            "classes": [{"name": "web", "cpu": "1", "memory": "1Gi"}],
        },
        seed=3,
    )
    nodes = parse_nodes([mknode(f"n{i}") for i in range(4)])
    options = SimulationOptions(horizon_s=3000, failures=FailureModel(mtbf_s=1500, mttr_s=300))
    return Simulator(ClusterSource(nodes=nodes), workload, options, seed=seed)


def test_random_failures_are_deterministic_for_a_seed():
    runs = {}
    for seed in (0, 0, 1):
        sim = random_failure_sim(seed)
        summary = sim.run(KubeSchedulerPolicy())
        runs.setdefault(seed, []).append((summary, sim.node_of.copy(), list(sim.metrics.times)))
    (s0, nodes0, times0), (s0b, nodes0b, times0b) = runs[0]
    assert s0.evictions > 0
    assert s0 == s0b
    np.testing.assert_array_equal(nodes0, nodes0b)
    assert times0 == times0b
    _, _, times1 = runs[1][0]
    assert times1 != times0  # another seed, other failure times


def test_random_failures_without_a_horizon_end_the_run():
    # With mtbf failures every recovery schedules the next failure; a run with the default (infinite)
    # horizon must still end once the workload is done (or be refused up front), not loop forever.
    def timeout(signum, frame):
        raise TimeoutError

    workload = workload_from_pods([mkpod("a")], [0], [10])
    options = SimulationOptions(failures=FailureModel(mtbf_s=1000, mttr_s=100))
    previous = signal.signal(signal.SIGALRM, timeout)
    signal.setitimer(signal.ITIMER_REAL, 2.0)
    try:
        sim = Simulator(ClusterSource(nodes=parse_nodes([mknode("n0")])), workload, options)
        summary = sim.run(KubeSchedulerPolicy())
    except ValueError:
        return  # refusing mtbf failures without a horizon is fine too
    except TimeoutError:
        pytest.fail(f"run() with mtbf failures and no horizon did not return within 2 s (sim.now={sim.now:.3g})")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert summary.pods_scheduled == 1


# ---- autoscaler -------------------------------------------------------------------------------------------------


def scaled(nodes: list[dict], pods: list[dict], arrival, duration, scalable=("extra",)) -> tuple[Simulator, list]:
    autoscaler = Autoscaler(nodes=tuple(scalable), provision_delay_s=60, scale_down_after_s=120)
    sim = make_sim(nodes, pods, arrival, duration, autoscaler=autoscaler)
    return sim, record(sim)


def test_autoscaler_powers_on_a_node_after_the_delay_and_removes_it_when_idle():
    # a fills "base"; b fits nowhere at t=10 and powers "extra" on, which is up at 70; b leaves at 170 and
    # "extra", empty since 170, is removed at 290 (the check at 190, 120 s after it came up, keeps it).
    pods = [mkpod("a", cpu="2"), mkpod("b", cpu="2")]
    sim, log = scaled([mknode("base", cpu="2"), mknode("extra")], pods, [0, 10], [1000, 100])
    summary = sim.run(KubeSchedulerPolicy())
    assert log == [(0, "a", "base"), (10, "b", None), (70, "b", "extra")]
    assert sim.metrics.waits == [0, 60]
    assert series(sim, "live_nodes") == {0: 1, 10: 1, 70: 2, 170: 2, 190: 2, 290: 1, 1000: 1}
    assert summary.node_hours == pytest.approx((1 * 70 + 2 * 220 + 1 * 710) / HOUR)
    assert summary.active_node_hours == pytest.approx((1 * 70 + 2 * 100 + 1 * 830) / HOUR)
    assert summary.cpu_allocation_mean == pytest.approx((1.0 * 70 + 4 / 6 * 100 + 2 / 6 * 120 + 1.0 * 710) / 1000)
    assert not sim.cluster.alive[1]


def test_autoscaler_keeps_a_node_that_was_reused_before_the_idle_delay():
    # As above, plus d (4 cpu) at 250 reuses "extra" (empty since 170) before its removal at 290;
    # d leaves at 300 and "extra" goes at 420.
    pods = [mkpod("a", cpu="2"), mkpod("b", cpu="2"), mkpod("d", cpu="4")]
    sim, log = scaled([mknode("base", cpu="2"), mknode("extra")], pods, [0, 10, 250], [1000, 100, 50])
    summary = sim.run(KubeSchedulerPolicy())
    assert log == [(0, "a", "base"), (10, "b", None), (70, "b", "extra"), (250, "d", "extra")]
    assert series(sim, "live_nodes")[290] == 2
    assert series(sim, "live_nodes")[420] == 1
    assert summary.node_hours == pytest.approx((1 * 70 + 2 * 350 + 1 * 580) / HOUR)


def test_autoscaler_does_not_power_on_a_node_the_pod_would_not_fit():
    pods = [mkpod("a", cpu="2"), mkpod("huge", cpu="8")]
    sim, log = scaled([mknode("base", cpu="2"), mknode("extra")], pods, [0, 10], [100, math.inf])
    summary = sim.run(KubeSchedulerPolicy())
    assert log == [(0, "a", "base"), (10, "huge", None)]  # a's departure at t=100 frees too little: no retry
    assert (summary.scheduling_attempts, summary.failed_attempts) == (2, 1)
    assert series(sim, "live_nodes") == {0: 1, 10: 1, 100: 1}
    assert summary.node_hours == pytest.approx(100 / HOUR)
    assert summary.pods_pending_at_end == 1


def test_autoscaler_powers_on_one_node_for_one_pending_pod():
    # b fits nowhere at t=10 and powers e0 on (up at 70). At t=30 c leaves, b is retried and still fits
    # nowhere; e0, already coming up, will take it, so no second node (e1) is powered on.
    pods = [mkpod("a", cpu="2"), mkpod("c", cpu="1"), mkpod("b", cpu="2")]
    nodes = [mknode("base", cpu="3"), mknode("e0"), mknode("e1")]
    sim, log = scaled(nodes, pods, [0, 0, 10], [1000, 30, 100], scalable=("e0", "e1"))
    summary = sim.run(KubeSchedulerPolicy())
    assert log[-1] == (70, "b", "e0")
    assert max(sim.metrics.live_nodes) == 2, series(sim, "live_nodes")
    # base over [0, 1000]; e0 from 70 until 120 s after b leaves at 170.
    assert summary.node_hours == pytest.approx((1000 + 220) / HOUR)


# ---- horizon ----------------------------------------------------------------------------------------------------


def horizon_sim() -> Simulator:
    # x runs from 0 to 100, y arrives at 60: a horizon of 50 stops before y and before x leaves.
    return make_sim([mknode("n0")], [mkpod("x", cpu="2"), mkpod("y", cpu="2")], [0, 60], [100, 100], horizon_s=50)


def test_horizon_stops_the_run_before_later_events():
    sim = horizon_sim()
    summary = sim.run(KubeSchedulerPolicy())
    assert sim.node_of.tolist() == [0, -1]  # x still runs, y never arrived
    assert summary.pods_scheduled == 1
    assert summary.pods_pending_at_end == 0
    assert sim.next_pod() is None


def test_horizon_metrics_span_the_whole_horizon():
    # The cluster was simulated over [0, 50]: one live node for 50 s, half its cpu requested throughout.
    summary = horizon_sim().run(KubeSchedulerPolicy())
    assert summary.duration_s == 50
    assert summary.node_hours == pytest.approx(50 / HOUR)
    assert summary.active_node_hours == pytest.approx(50 / HOUR)
    assert summary.cpu_allocation_mean == 0.5


# ---- any policy that scores nodes ---------------------------------------------------------------------------------


def test_a_custom_policy_object_drives_placement():
    policy = IndexPolicy(highest=True)
    assert isinstance(policy, NodeScorer)
    # n2 takes two 1-cpu pods, then only n0/n1 are feasible and the policy picks n1.
    nodes = [mknode("n0"), mknode("n1"), mknode("n2", cpu="2")]
    pods = [mkpod(f"p{i}") for i in range(4)]
    sim = make_sim(nodes, pods, [0, 1, 2, 3], [math.inf] * 4)
    sim.run(policy)
    assert sim.node_of.tolist() == [2, 2, 1, 1]
    assert policy.calls == 4
    # The default policy (LeastAllocated) spreads the same pods instead.
    sim.reset()
    sim.run(KubeSchedulerPolicy())
    assert sorted(sim.node_of.tolist()[:3]) == [0, 1, 2]


def test_a_policy_that_returns_a_list_of_scores_is_accepted():
    class ListPolicy:
        name = "list"

        def num_to_find(self, num_nodes: int) -> int:
            return num_nodes

        def score(self, cluster, pod, nodes):
            return [1 if int(j) == 1 else 0 for j in nodes]

    sim = make_sim([mknode("n0"), mknode("n1"), mknode("n2")], [mkpod("a")], [0], [math.inf])
    sim.run(ListPolicy())
    assert sim.node_of.tolist() == [1]


# ---- determinism ------------------------------------------------------------------------------------------------


def synthetic_sim(seed: int) -> Simulator:
    workload = generate(
        {
            "num_pods": 80,
            "arrivals": {"process": "poisson", "rate": 0.05},
            "lifetime": {"distribution": "exponential", "mean": 400},
            "classes": [
                {"name": "web", "weight": 3, "cpu": "500m", "memory": "1Gi"},
                {"name": "batch", "cpu": "2", "memory": "4Gi", "priority": 10},
            ],
        },
        seed=7,
    )
    nodes = parse_nodes([mknode(f"n{i}") for i in range(5)])
    return Simulator(ClusterSource(nodes=nodes), workload, seed=seed)


def test_the_same_seed_gives_the_same_run():
    a, b = synthetic_sim(11), synthetic_sim(11)
    sa, sb = a.run(KubeSchedulerPolicy()), b.run(KubeSchedulerPolicy())
    assert sa == sb
    np.testing.assert_array_equal(a.node_of, b.node_of)
    assert a.metrics.times == b.metrics.times and a.metrics.alloc == b.metrics.alloc
    # reset(seed) replays it too.
    a.reset(11)
    assert a.run(KubeSchedulerPolicy()) == sa


def test_ties_are_broken_by_the_seed():
    # One pod on four identical empty nodes: every node ties; the seed picks.
    firsts = set()
    for seed in range(12):
        sim = make_sim([mknode(f"n{i}") for i in range(4)], [mkpod("a")], [0], [math.inf], seed=seed)
        sim.run(KubeSchedulerPolicy())
        firsts.add(int(sim.node_of[0]))
        again = make_sim([mknode(f"n{i}") for i in range(4)], [mkpod("a")], [0], [math.inf], seed=seed)
        again.run(KubeSchedulerPolicy())
        assert again.node_of[0] == sim.node_of[0]
    assert len(firsts) > 1


@pytest.mark.parametrize("scenario", ["default", "node-failures"])
def test_memoised_filter_results_match_a_fresh_filter_through_binds_departures_and_failures(scenario):
    from podgym.envs.scenario import load_and_build

    built = load_and_build(scenario, {"simulation.horizon": 7200})
    sim = Simulator(built.cluster, built.workload, built.options, built.profile, seed=1)
    rng = np.random.default_rng(0)
    checked = hits = 0
    while (i := sim.next_pod()) is not None:
        before = sim.cluster.version
        mask = sim.feasible()
        hits += sim.feasible() is mask  # asked again, nothing changed: the memoised array
        fresh = sim.filters.filter(sim.cluster, sim.request(i))
        assert np.array_equal(mask, fresh), (sim.now, sim.request(i).name)
        assert not mask.flags.writeable  # shared between pods of one shape: nobody may change it
        assert sim.cluster.version == before  # filtering changes nothing
        checked += 1
        if mask.any():
            sim.bind(int(rng.choice(np.flatnonzero(mask))))
            assert sim.cluster.version > before
        else:
            sim.defer()
    assert checked > 200 and hits == checked
    assert sim.metrics.failed_attempts > 0  # some pods fitted nowhere and were retried
    if scenario == "node-failures":
        assert sim.metrics.evictions > 0


def test_the_state_hands_over_to_a_new_simulator():
    """Simulator.from_state(sim.state()) holds the same state, and with the cluster and the metrics brought to the
    same point through their public fields it finishes the run exactly as the original."""
    b = load_and_build("default", {"simulation.horizon": 3600}, seed=5)
    sim = Simulator(b.cluster, b.workload, b.options, b.profile, seed=5)
    policy = make_policy("kube-default")
    for _ in range(40):
        i = sim.next_pod()
        nodes = sim.candidates(sim.feasible(), policy.num_to_find(sim.cluster.live_count))
        if len(nodes):
            sim.bind(int(nodes[np.argmax(policy.score(sim.cluster, sim.request(i), nodes))]))
        else:
            sim.defer()
    state = sim.state()
    twin = Simulator.from_state(b.cluster, b.workload, b.options, b.profile, 5, state)
    assert twin.state().__dict__.keys() == state.__dict__.keys()
    for name, value in state.__dict__.items():
        other = getattr(twin.state(), name)
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, other, err_msg=name)  # NaN equals NaN here
        else:
            assert value == other, name
    twin.cluster = sim.cluster.copy()
    twin.metrics = copy.deepcopy(sim.metrics)
    twin.metrics.cluster = twin.cluster
    twin.rng = copy.deepcopy(sim.rng)
    twin.next_start_index = sim.next_start_index
    assert twin.run(make_policy("kube-default")) == sim.run(make_policy("kube-default"))
