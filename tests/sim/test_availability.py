"""Services' availability, replicas lost per failure, zone failures and replacement delays, on hand-checked runs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from podgym.envs.kube import parse_nodes
from podgym.envs.rewards import RewardConfig, RewardState, make_reward
from podgym.envs.simulator import FAIL, RECOVER, ZONE_FAIL, FailureModel, SimulationOptions, Simulator
from podgym.envs.workload import generate_services
from podgym.envs.workload.objects import workload_from_pods
from podgym.envs.workload.ops import concat
from podgym.envs.workload.types import ClusterSource
from podgym.policies.heuristics import FirstFitPolicy
from tests.kube.builders import node, pod

ZONE = "topology.kubernetes.io/zone"


def nodes(zones: list[str]) -> ClusterSource:
    return ClusterSource(
        nodes=parse_nodes(
            [
                node(f"n{j}", allocatable={"cpu": "4", "memory": "16Gi", "pods": "110"}, labels={ZONE: z})
                for j, z in enumerate(zones)
            ]
        )
    )


def web(budget: dict, replicas: int = 2, cpu: str = "3"):
    """A Deployment `web` of `replicas` pods of `cpu` each, arriving at 0, with the budget `budget`."""
    return generate_services(
        {"services": [{"name": "web", "replicas": replicas, "cpu": cpu, "disruption_budget": budget}]}, seed=0
    )


def tick(duration: float):
    """A small pod without a service, arriving at 0 and running `duration` s (it keeps the run going)."""
    return workload_from_pods(
        [pod("tick", containers=[{"cpu": "100m", "memory": "1Mi"}])], arrival=[0.0], duration=[duration]
    )


def run(cluster, workload, failures: FailureModel, seed: int = 0, **options) -> Simulator:
    sim = Simulator(cluster, workload, SimulationOptions(failures=failures, **options), seed=seed)
    sim.run(FirstFitPolicy())
    return sim


# ---- availability on a hand-checked run --------------------------------------------------------------------------


def test_availability_with_a_node_failure_by_hand():
    """web's two replicas (3 cpu each) fill n0 and n1 (4 cpu each); tick goes to n0. n0 fails at 100: web-a fits
    nowhere until n0 recovers at 400 (tick moves to n1 and runs 1000 s from 100: the run ends at 1100). Budget
    minAvailable 2: web is down over [100, 400), up 800 s of its 1100."""
    w = concat(web({"min_available": 2}), tick(1000.0))
    failures = FailureModel(events=((100.0, "n0", "fail"), (400.0, "n0", "recover")))
    sim = run(nodes(["a", "b"]), w, failures)
    s = sim.summary()
    assert sim.now == 1100.0 and s.duration_s == 1100.0
    assert (s.services, s.failures, s.replicas_lost, s.evictions) == (1, 1, 1, 2)
    assert s.availability_mean == s.availability_min == pytest.approx(800 / 1100, abs=1e-15)
    assert sim.metrics.service_availability(1100.0) == {"default/web": pytest.approx(800 / 1100, abs=1e-15)}
    assert s.replicas_lost_per_failure == 1.0
    # The unavailability signal: 1 (the only service is down) for 300 s.
    assert sim.metrics.integrals_until(1100.0)["unavailability"] == 300.0
    reward = make_reward(RewardConfig(name="availability"), math.inf, 2)
    state = RewardState(1100.0, sim.metrics.integrals_until(1100.0))
    assert reward.potential(state) == -300.0 / 3600.0  # T: the default time_scale (no horizon)


def test_a_max_unavailable_budget_tolerates_one_replica_down():
    """The same run with maxUnavailable 1: expected 2 replicas, 1 must run; web is always up."""
    w = concat(web({"max_unavailable": 1}), tick(1000.0))
    failures = FailureModel(events=((100.0, "n0", "fail"), (400.0, "n0", "recover")))
    s = run(nodes(["a", "b"]), w, failures).summary()
    assert (s.services, s.availability_mean, s.replicas_lost) == (1, 1.0, 1)


def test_replacements_wait_for_the_replacement_delay():
    """n0 fails at 100 for good; with a 50 s delay web-a's replacement is queued at 150 and placed on the spare n2
    at once: down over [100, 150). tick (on n0) is replaced at 150 onto n1 and runs until 1150."""
    w = concat(web({"min_available": 2}), tick(1000.0))
    failures = FailureModel(events=((100.0, "n0", "fail"),), replacement_delay_s=50.0)
    sim = run(nodes(["a", "b", "c"]), w, failures)
    s = sim.summary()
    assert sim.now == 1150.0
    assert s.availability_mean == pytest.approx(1100 / 1150, abs=1e-15)
    assert sim.node_of.tolist()[:2] == [2, 1]  # web-a on n2, web-b still on n1
    assert sim.metrics.waits[-2:] == [0.0, 0.0]  # queued at 150, placed at 150


def test_without_budgets_there_are_no_services():
    s = run(nodes(["a"]), tick(10.0), FailureModel()).summary()
    assert (s.services, s.availability_mean, s.availability_min) == (0, 1.0, 1.0)
    assert (s.failures, s.replicas_lost, s.replicas_lost_per_failure) == (0, 0, 0.0)


def test_preemption_counters_reach_the_summary():
    sim = run(nodes(["a"]), tick(10.0), FailureModel())
    assert (sim.summary().preemptions, sim.summary().preemption_victims) == (0, 0)
    sim.metrics.preemptions, sim.metrics.preemption_victims = 2, 5
    s = sim.summary()
    assert (s.preemptions, s.preemption_victims) == (2, 5)
    assert {"preemptions", "preemption_victims"} <= set(s.as_dict())


# ---- zone failures ------------------------------------------------------------------------------------------------


def alive_at(cluster, w, failures: FailureModel, t: float) -> list[bool]:
    """Which nodes are up once the events up to `t` are applied (the run cut at horizon t)."""
    return run(cluster, w, failures, horizon_s=t).cluster.alive.tolist()


def test_a_zone_fails_and_recovers_with_all_its_nodes():
    cluster = nodes(["a", "a", "b", "b"])
    w = tick(1000.0)
    failures = FailureModel(zone_events=((100.0, "a", "fail"), (400.0, "a", "recover")))
    assert alive_at(cluster, w, failures, 99.0) == [True, True, True, True]
    assert alive_at(cluster, w, failures, 100.0) == [False, False, True, True]
    assert alive_at(cluster, w, failures, 399.0) == [False, False, True, True]
    assert alive_at(cluster, w, failures, 400.0) == [True, True, True, True]
    s = run(cluster, w, failures).summary()
    assert (s.failures, s.evictions) == (1, 1)  # one zone failure; tick ran on n0


def test_a_node_down_on_its_own_stays_down_when_its_zone_recovers():
    cluster = nodes(["a", "a", "b", "b"])
    failures = FailureModel(
        events=((50.0, "n0", "fail"), (600.0, "n0", "recover")),
        zone_events=((100.0, "a", "fail"), (400.0, "a", "recover")),
    )
    w = tick(1000.0)
    assert alive_at(cluster, w, failures, 450.0) == [False, True, True, True]
    assert alive_at(cluster, w, failures, 650.0) == [True, True, True, True]
    # Repaired while its zone is down: it comes back with the zone, not before.
    failures = FailureModel(
        events=((50.0, "n0", "fail"), (200.0, "n0", "recover")),
        zone_events=((100.0, "a", "fail"), (400.0, "a", "recover")),
    )
    assert alive_at(cluster, w, failures, 300.0) == [False, False, True, True]
    assert alive_at(cluster, w, failures, 400.0) == [True, True, True, True]
    assert run(cluster, w, failures).summary().failures == 2


def test_replicas_lost_per_zone_failure():
    """Four replicas (1 cpu) first-fit pack onto n0 (zone a): the zone failure takes all four at once."""
    w = concat(web({"min_available": 3}, replicas=4, cpu="1"), tick(1000.0))
    failures = FailureModel(zone_events=((100.0, "a", "fail"),))
    s = run(nodes(["a", "b"]), w, failures).summary()
    assert (s.failures, s.replicas_lost, s.replicas_lost_per_failure) == (1, 4, 4.0)
    assert s.availability_mean == 1.0  # requeued at once, they fit on n1 (4 cpu) right away


class Recording(Simulator):
    """A Simulator that records every failure event it applies and the nodes up after it."""

    def reset(self, seed=None):
        self.log = []
        super().reset(seed)

    def _apply(self, kind, a, b):
        super()._apply(kind, a, b)
        if kind in (FAIL, RECOVER, ZONE_FAIL):
            self.log.append((self.now, kind, a, self.cluster.alive.copy()))


def recorded(failures: FailureModel, seed: int) -> Recording:
    cluster = nodes(["a", "a", "b", "b", "c", "c"])
    sim = Recording(cluster, tick(200_000.0), SimulationOptions(failures=failures, horizon_s=200_000.0), seed=seed)
    sim.run(FirstFitPolicy())
    return sim


def test_random_zone_failures_take_the_whole_zone_and_leave_node_failures_as_they_were():
    zones = FailureModel(mtbf_s=20_000.0, mttr_s=600.0, zone_mtbf_s=30_000.0, zone_mttr_s=1_800.0)
    sim = recorded(zones, seed=4)
    zone_fails = [(t, a, alive) for t, kind, a, alive in sim.log if kind == ZONE_FAIL]
    assert len(zone_fails) >= 3
    for _, z, alive in zone_fails:
        assert not alive[2 * z] and not alive[2 * z + 1]  # zones sorted by name: a, b, c; two nodes each
    # The same seed, the same failures; the node failures are those of a run without zone failures.
    again = recorded(zones, seed=4)
    assert [(t, k, a) for t, k, a, _ in again.log] == [(t, k, a) for t, k, a, _ in sim.log]
    plain = recorded(FailureModel(mtbf_s=20_000.0, mttr_s=600.0), seed=4)
    node_events = [(t, k, a) for t, k, a, _ in sim.log if k in (FAIL, RECOVER)]
    assert node_events == [(t, k, a) for t, k, a, _ in plain.log]
    other = recorded(zones, seed=5)
    assert [(t, k, a) for t, k, a, _ in other.log] != [(t, k, a) for t, k, a, _ in sim.log]


def test_an_unknown_zone_is_an_error():
    with pytest.raises(ValueError, match="unknown zone 'z'"):
        run(nodes(["a"]), tick(1.0), FailureModel(zone_events=((1.0, "z", "fail"),)))


def test_disruptions_allowed_and_a_hand_over_recounts_the_replicas():
    """After the first web replica fails, minAvailable 1 of 2 allows no more disruption; a Simulator rebuilt from
    the state (the hand-over between engines) counts the same running replicas."""
    w = concat(web({"min_available": 1}), tick(1000.0))
    failures = FailureModel(events=((100.0, "n0", "fail"),))
    sim = run(nodes(["a", "b"]), w, failures, horizon_s=150.0)
    assert sim.services.running.tolist() == [1] and sim.services.disruptions_allowed().tolist() == [0]
    other = Simulator.from_state(sim.source, sim.workload, sim.options, None, sim.seed, sim.state())
    assert other.services.running.tolist() == [1]
    fresh = run(nodes(["a", "b"]), w, FailureModel(), horizon_s=50.0)
    assert fresh.services.disruptions_allowed().tolist() == [1]


class Spread:
    """Prefers the node with the fewest pods (ties: the lowest index)."""

    name = "spread"

    def num_to_find(self, num_nodes: int) -> int:
        return num_nodes

    def score(self, cluster, pod, nodes: np.ndarray) -> np.ndarray:
        return -(cluster.pod_count[nodes] * len(cluster.pod_count) + nodes)


def test_spreading_replicas_over_zones_keeps_a_service_up_where_packing_does_not():
    """web: 2 replicas of 1 cpu, minAvailable 1; zone a (n0) fails at 100, replacements come 50 s later. First-fit
    packs both replicas on n0: down over [100, 150) until both are replaced on n1 (the run ends at 400 with zone
    a's recovery). Spreading puts one in each zone: always up."""
    w = web({"min_available": 1}, cpu="1")
    failures = FailureModel(zone_events=((100.0, "a", "fail"), (400.0, "a", "recover")), replacement_delay_s=50.0)
    packed = Simulator(nodes(["a", "b"]), w, SimulationOptions(failures=failures), seed=0)
    spread = Simulator(nodes(["a", "b"]), w, SimulationOptions(failures=failures), seed=0)
    p, s = packed.run(FirstFitPolicy()), spread.run(Spread())
    assert packed.now == spread.now == 400.0
    assert (p.replicas_lost, p.availability_mean) == (2, pytest.approx(350 / 400, abs=1e-15))
    assert (s.replicas_lost, s.availability_mean) == (1, 1.0)
