"""Preemption in the simulator: a pod that fits nowhere evicts pods of lower priority as DefaultPreemption chooses
them (PodDisruptionBudgets honoured, preemptionPolicy: Never respected), the victims leave their node at once (a
controller's victim is queued again, a bare pod is gone), the preemptor is placed, and the metrics count both."""

from __future__ import annotations

import math

import numpy as np
import pytest

from podgym.envs.kube import parse_nodes
from podgym.envs.kube.disruption import parse_pdb
from podgym.envs.policy import KubeSchedulerPolicy
from podgym.envs.simulator import SimulationOptions, Simulator, may_preempt
from podgym.envs.workload.objects import workload_from_pods
from podgym.envs.workload.types import ClusterSource
from tests.kube.builders import node, pod

INF = math.inf


def mkpod(name: str, priority: int, cpu: str = "1", app: str | None = None, owned: bool = False, **spec) -> dict:
    p = pod(name, containers=[{"cpu": cpu}], labels={"app": app} if app else None)
    p["spec"].update(priority=priority, **spec)
    if owned:
        ref = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": app or name, "controller": True}
        p["metadata"]["ownerReferences"] = [ref]
    return p


def run(pods: list[dict], arrival: list[float], nodes: int = 2, pdbs=(), preemption: bool = True, seed: int = 0):
    cluster = parse_nodes(
        [node(f"n{j}", allocatable={"cpu": "1", "memory": "4Gi", "pods": "10"}) for j in range(nodes)]
    )
    options = SimulationOptions(preemption=preemption, pdbs=tuple(parse_pdb(b) for b in pdbs))
    sim = Simulator(
        ClusterSource(nodes=cluster), workload_from_pods(pods, arrival, [INF] * len(pods)), options, seed=seed
    )
    summary = sim.run(KubeSchedulerPolicy())
    return sim, summary


def test_a_high_priority_pod_preempts_a_lower_one() -> None:
    pods = [mkpod("low-0", 1), mkpod("low-1", 5), mkpod("high", 10)]
    sim, summary = run(pods, [0, 0, 10])
    # The victim is the pod of the lowest priority (minHighestPriority): low-0 on its node; high takes its place.
    assert sim.node_of[2] == sim.nominated[2] != -1
    assert sim.node_of[0] == -1 and sim.dropped[0]  # a bare pod preempted is gone
    assert sim.node_of[1] >= 0 and sim.node_of[1] != sim.node_of[2]
    assert (summary.preemptions, summary.preemption_victims) == (1, 1)
    assert summary.pods_pending_at_end == 0
    # Without preemption the high-priority pod waits.
    sim, summary = run(pods, [0, 0, 10], preemption=False)
    assert sim.node_of[2] == -1 and (summary.preemptions, summary.preemption_victims) == (0, 0)


def test_a_controllers_victim_is_queued_again_and_waits() -> None:
    pods = [mkpod("web-0", 1, app="web", owned=True), mkpod("web-1", 1, app="web", owned=True), mkpod("high", 10)]
    sim, summary = run(pods, [0, 0, 10])
    victims = [i for i in (0, 1) if sim.node_of[i] == -1]
    assert len(victims) == 1 and not sim.dropped[victims[0]]
    assert summary.pods_pending_at_end == 1  # re-created, nowhere to go
    assert sim.node_of[2] >= 0


def test_preemption_policy_never_and_equal_priorities_do_not_preempt() -> None:
    sim, summary = run([mkpod("low-0", 1), mkpod("low-1", 1), mkpod("high", 10, preemptionPolicy="Never")], [0, 0, 1])
    assert sim.node_of[2] == -1 and summary.preemptions == 0
    sim, summary = run([mkpod("a", 5), mkpod("b", 5), mkpod("c", 5)], [0, 0, 1])
    assert sim.node_of[2] == -1 and summary.preemptions == 0


def budget(app: str, min_available: int) -> dict:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": app, "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": app}}, "minAvailable": min_available},
    }


@pytest.mark.parametrize("protected", ["a", "b"])
def test_a_budget_steers_the_victim(protected: str) -> None:
    """Two equal victims; the one a PodDisruptionBudget protects (minAvailable 1 of its 1 pod) is spared."""
    pods = [mkpod("a-0", 1, app="a"), mkpod("b-0", 1, app="b"), mkpod("high", 10)]
    for seed in range(4):  # whatever node the dry run starts at
        sim, _ = run(pods, [0, 0, 10], pdbs=[budget(protected, 1)], seed=seed)
        spared = 0 if protected == "a" else 1
        assert sim.node_of[spared] >= 0 and sim.node_of[1 - spared] == -1


def test_the_fewest_and_least_important_victims_and_the_latest_start() -> None:
    # n0: two 500m pods of priority 1; n1: one 1-cpu pod of priority 1 started later. Fewer victims wins (n1),
    # and among equal victims the node whose highest-priority victims started last.
    on = {"n0": {"kubernetes.io/hostname": "n0"}, "n1": {"kubernetes.io/hostname": "n1"}}
    pods = [
        mkpod("x0", 1, "500m", nodeSelector=on["n0"]),
        mkpod("x1", 1, "500m", nodeSelector=on["n0"]),
        mkpod("y", 1, nodeSelector=on["n1"]),
        mkpod("high", 10),
    ]
    for seed in range(4):
        sim, summary = run(pods, [0, 0, 0, 10], seed=seed)
        assert sim.node_of.tolist() == [0, 0, -1, 1] and summary.preemption_victims == 1
    pods = [mkpod("early", 1), mkpod("late", 1), mkpod("high", 10)]
    for seed in range(4):
        sim, _ = run(pods, [0, 5, 10], seed=seed)
        assert sim.node_of[1] == -1 and sim.node_of[0] >= 0  # the later start is preempted


def test_may_preempt_says_whether_a_run_can_preempt() -> None:
    w = workload_from_pods([mkpod("a", 1), mkpod("b", 10)])
    from podgym.envs.kube import default_profile

    assert may_preempt(SimulationOptions(preemption=True), default_profile(), w)
    assert not may_preempt(SimulationOptions(preemption=False), default_profile(), w)
    assert not may_preempt(
        SimulationOptions(preemption=True), default_profile(), workload_from_pods([mkpod("a", 3)] * 2)
    )
    never = workload_from_pods([mkpod("a", 1), mkpod("b", 10, preemptionPolicy="Never")])
    assert not may_preempt(SimulationOptions(preemption=True), default_profile(), never)


def test_runs_with_preemption_are_deterministic() -> None:
    rng = np.random.default_rng(0)
    pods = [mkpod(f"p{i}", int(rng.integers(0, 4)), f"{int(rng.integers(2, 8))}00m") for i in range(40)]
    arrival = sorted(float(x) for x in rng.uniform(0, 100, 40))
    a, sa = run(pods, arrival, nodes=4, seed=3)
    b, sb = run(pods, arrival, nodes=4, seed=3)
    assert a.node_of.tolist() == b.node_of.tolist() and sa == sb and sa.preemptions > 0


class _Offset:
    """Stands in for the dry run's random start: returns `value` and records the number of candidates."""

    def __init__(self, value: int):
        self.value, self.sizes = value, []

    def integers(self, n: int) -> int:
        self.sizes.append(n)
        return self.value % n


ZONE = "topology.kubernetes.io/zone"
# What the preemptor asks beyond room: nothing, to be in no zone with an app=b pod (required anti-affinity), or to
# keep app=a within a skew of 1 over the zones (a DoNotSchedule spread constraint, the preemptor labelled app=a).
# Both read pods on other nodes than the one whose victims are tried.
PLACEMENT = {
    "none": {},
    "zone-anti-affinity": {
        "affinity": {
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {"matchLabels": {"app": "b"}}, "topologyKey": ZONE}
                ]
            }
        }
    },
    "zone-spread": {
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": ZONE,
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": {"app": "a"}},
            }
        ]
    },
}
# The same spread with every third running pod terminating: the spread does not count those, but the dry run's
# RemovePod does (upstream's updateWithPod does not skip them).
PLACEMENT["zone-spread-terminating"] = PLACEMENT["zone-spread"]
# Nothing asked of the preemptor (app=a), but the running app=b pods keep app=a off their node (required
# anti-affinity by hostname): the victims' own terms, which the dry run drops with them.
PLACEMENT["victims-anti-affinity"] = {}
HOSTNAME = "kubernetes.io/hostname"
KEEP_A_OFF = {
    "podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "a"}}, "topologyKey": HOSTNAME}
        ]
    }
}


@pytest.mark.parametrize("placement", list(PLACEMENT))
def test_the_simulators_preemption_is_kube_preempt(placement: str) -> None:
    """On random clusters over two zones (priorities, sizes, start times, a budget), the node and victims the
    simulator picks are those of the object-level ``kube.preempt`` on the same pods, from the same start of the dry
    run, whatever the preemptor's placement rules."""
    outcomes = [_compare(seed, placement) for seed in range(40)]
    checked = [o for o in outcomes if o is not None]
    assert len(checked) >= 20 and sum(checked) >= 10  # draws where the pod fits nowhere, and preemptions among them


def _compare(seed: int, placement: str) -> bool | None:
    """None when the high pod fits somewhere in this draw; else whether it preempted (after checking parity)."""
    import datetime

    import podgym.envs.kube as kube

    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 6))
    sizes = [str(int(rng.integers(2, 5))) for _ in range(n)]
    nodes = [
        node(
            f"n{j}",
            allocatable={"cpu": "2", "memory": "8Gi", "pods": sizes[j]},
            labels={ZONE: f"z{j % 2}", HOSTNAME: f"n{j}"},
        )
        for j in range(n)
    ]
    pods = []
    for i in range(int(rng.integers(3 * n, 5 * n))):
        app = str(rng.choice(["a", "b", "c"]))
        cpu = f"{int(rng.integers(2, 11)) * 100}m"
        pods.append(mkpod(f"p{i}", int(rng.integers(0, 5)), cpu, app=app))
        if placement == "zone-spread-terminating" and i % 3 == 0:
            pods[-1]["metadata"]["deletionTimestamp"] = "1970-01-01T00:00:00Z"
        if placement == "victims-anti-affinity" and app == "b":
            pods[-1]["spec"]["affinity"] = KEEP_A_OFF
    labelled = placement.startswith("zone-spread") or placement == "victims-anti-affinity"
    high = mkpod("high", 10, "2", app="a" if labelled else None, **PLACEMENT[placement])
    arrival = [float(i) for i in range(len(pods))] + [1000.0]
    budgets = [budget("a", int(rng.integers(0, 3)))]
    cluster = parse_nodes(nodes)
    options = SimulationOptions(preemption=True, pdbs=tuple(parse_pdb(b) for b in budgets))
    w = workload_from_pods([*pods, high], arrival, [INF] * (len(pods) + 1))
    sim = Simulator(ClusterSource(nodes=cluster), w, options, seed=seed)
    offset = _Offset(int(rng.integers(0, 100)))
    sim._preempt_rng = offset
    # Everything before the high pod, then the state the high pod meets.
    while (i := sim.next_pod()) is not None and i < len(pods):
        mask = sim._filter(sim.request(i))
        nodes_ok = np.flatnonzero(mask)
        if len(nodes_ok):
            sim.bind(int(nodes_ok[0]))
        else:
            sim.defer()
    if i is None or sim._filter(sim.request(i)).any():
        return None
    running = []
    for k in np.flatnonzero(sim.node_of >= 0).tolist():
        obj = dict(pods[k])
        obj = {**obj, "spec": {**obj["spec"], "nodeName": sim.cluster.node_names[int(sim.node_of[k])]}}
        start = datetime.datetime.fromtimestamp(float(sim.bound_at[k]), datetime.timezone.utc)
        obj["status"] = {"phase": "Running", "startTime": start.strftime("%Y-%m-%dT%H:%M:%SZ")}
        running.append(obj)
    before = sim.node_of.copy()
    sim.defer()
    if not offset.sizes:
        assert kube.preempt(high, nodes, running, pdbs=budgets).nominated_node is None
        return False
    expected = kube.preempt(high, nodes, running, pdbs=budgets, offset=offset.value % offset.sizes[0])
    evicted = sorted(f"p{k}" for k in np.flatnonzero((before >= 0) & (sim.node_of < 0)).tolist())
    if expected.nominated_node is None:
        assert evicted == [] and sim.nominated[len(pods)] == -1
        return False
    assert sim.cluster.node_names[int(sim.nominated[len(pods)])] == expected.nominated_node
    assert evicted == sorted(v.name for v in expected.victims)
    return True
