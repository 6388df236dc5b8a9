"""The ha-services scenario: its services, zones and failures; configuration errors; the engines it runs on."""

from __future__ import annotations

import json

import pytest

from podgym.envs.env import PodSchedulingEnv
from podgym.envs.kube.errors import ConfigError, KubeObjectError
from podgym.envs.policy import KubeSchedulerPolicy
from podgym.envs.scenario import available_scenarios, load_and_build, load_scenario
from podgym.envs.simulator import Simulator
from podgym.envs.workload import generate_services, resolve_budgets, write_manifests, write_snapshot
from podgym.envs.workload.objects import workload_from_pods
from podgym.envs.workload.pools import HOSTNAME_LABEL, ZONE_LABEL, cluster_from_pools
from tests.kube.builders import node

SHORT = {"simulation.horizon": 9000, "workload.synthetic.horizon": 9000}


def test_ha_services_is_shipped_and_builds_services_over_zones():
    assert "ha-services" in available_scenarios()
    built = load_and_build("ha-services", SHORT, seed=0)
    zones = {n.labels[ZONE_LABEL] for n in built.cluster.nodes}
    assert zones == {"zone-a", "zone-b", "zone-c"}
    assert all(n.labels[HOSTNAME_LABEL] == n.name for n in built.cluster.nodes)
    budgets = resolve_budgets(built.workload)
    assert len(budgets) == 9 and all(b.desired_healthy >= 1 for b in budgets)
    priorities = set(built.workload.priority.tolist())
    assert {100000, 10000, 1000, 0} <= priorities  # critical, high, standard services; batch pods
    kinds = {o["kind"] for o in built.workload.objects}
    assert kinds == {"PriorityClass", "Deployment", "ReplicaSet", "StatefulSet", "PodDisruptionBudget"}
    assert built.options.failures.zone_events == ((7200.0, "zone-b", "fail"), (10800.0, "zone-b", "recover"))
    assert built.options.failures.replacement_delay_s == 300.0


def test_ha_services_runs_and_measures_availability():
    built = load_and_build("ha-services", SHORT, seed=1)
    sim = Simulator(built.cluster, built.workload, built.options, built.profile, seed=1)
    s = sim.run(KubeSchedulerPolicy(built.profile))
    assert s.services == 9 and s.failures >= 1  # zone-b fails at 7200
    assert s.replicas_lost > 0 and s.replicas_lost_per_failure == s.replicas_lost / s.failures
    assert 0.0 <= s.availability_min <= s.availability_mean <= 1.0
    assert s.availability_min < 1.0  # the zone failure takes replicas down for the replacement delay
    again = Simulator(built.cluster, built.workload, built.options, built.profile, seed=1)
    assert again.run(KubeSchedulerPolicy(built.profile)) == s


@pytest.mark.parametrize(
    ("failures", "field", "message"),
    [
        ({"events": [{"time": 1, "zone": "zone-z", "action": "fail"}]}, "failures.events[0].zone", "unknown zone"),
        ({"events": [{"time": 1, "action": "fail"}]}, "failures.events[0]", "exactly one of node, zone"),
        (
            {"events": [{"time": 1, "node": "general-0", "zone": "zone-a", "action": "fail"}]},
            "failures.events[0]",
            "exactly one of node, zone",
        ),
        ({"zone_mtbf": 0}, "failures.zone_mtbf", "greater than 0"),
        ({"replacement_delay": -1}, "failures.replacement_delay", "greater than or equal to 0"),
        ({"zone_mtfb": 10}, "failures.zone_mtfb", "unknown field"),
    ],
)
def test_failure_config_errors_name_the_field(failures, field, message):
    overrides = {f"failures.{k}": v for k, v in failures.items()}
    with pytest.raises(KubeObjectError) as info:
        load_and_build("ha-services", overrides)
    assert field in str(info.value) and message in str(info.value)
    assert "ha-services.yaml" in str(info.value)


def test_zone_failures_need_zone_labels(tmp_path):
    (tmp_path / "nodes.json").write_text(
        json.dumps({"kind": "List", "items": [node("bare", allocatable={"cpu": "4", "memory": "8Gi", "pods": "10"})]})
    )
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\ncluster: {snapshot: {nodes: nodes.json}}\n"
        "workload: {services: {services: [{name: web, replicas: 2, cpu: '1'}]}}\n"
        "failures: {zone_mtbf: 100}\n"
    )
    with pytest.raises(ConfigError, match=r"failures\.zone_mtbf.*labelled topology\.kubernetes\.io/zone"):
        load_and_build(path)


def test_a_service_config_error_names_the_scenario_field(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\ncluster: {pools: [{name: n, count: 2, cpu: '4', memory: 8Gi}]}\n"
        "workload: {services: {services: [{name: web, replicas: [5, 2]}]}}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert str(path) in str(info.value)
    assert "workload.services.services[0]" in str(info.value) and "1 <= low <= high" in str(info.value)


def test_services_alone_are_a_workload(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\ncluster: {pools: [{name: n, count: 2, cpu: '4', memory: 8Gi}]}\n"
        "workload: {services: {services: [{name: web, replicas: 2, cpu: '1',\n"
        "  disruption_budget: {min_available: 1}}]}}\n"
    )
    built = load_and_build(path)
    assert len(built.workload) == 2 and len(resolve_budgets(built.workload)) == 1


# ---- engines ------------------------------------------------------------------------------------------------------


def test_the_compiled_engine_runs_services_and_failures_leave_it():
    """Services and the availability reward run compiled (tests/env/test_engines.py checks the parity); node and
    zone failures and preemption do not: `auto` runs ha-services on Python and `compiled` names the fields."""
    # the kernels check no spread or pod-affinity Filter and do not preempt: with those plugins and preemption off
    # and no failures it runs compiled
    basic = ["NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity", "NodeResourcesFit"]
    plain = {"failures": {}, "scheduler.filters": basic, "simulation.preemption": False, **SHORT}
    env = PodSchedulingEnv("ha-services", overrides=plain)
    env.reset(seed=0)
    assert env.engine_name == "compiled"
    env = PodSchedulingEnv("ha-services", overrides={**plain, "simulation.preemption": True})
    env.reset(seed=0)
    assert env.engine_name == "python"  # pods of several priorities that may preempt
    env = PodSchedulingEnv("ha-services", overrides={"failures": {}, **SHORT})
    env.reset(seed=0)
    assert env.engine_name == "python"  # its services' DoNotSchedule spread and required anti-affinity
    env = PodSchedulingEnv("ha-services", overrides=SHORT)
    env.reset(seed=0)
    assert env.engine_name == "python"
    with pytest.raises(ConfigError, match=r"env\.engine.*simulation\.preemption.*failures: node failures"):
        PodSchedulingEnv("ha-services", overrides=SHORT, env={"engine": "compiled"})


def test_without_services_the_availability_return_is_zero():
    env = PodSchedulingEnv("default", overrides={"simulation.horizon": 600}, reward={"name": "availability"})
    total, done = 0.0, False
    obs, _ = env.reset(seed=0)
    assert env.engine_name == "compiled"
    while not done:
        obs, reward, terminated, truncated, _ = env.step(int(obs["action_mask"].argmax()))
        total += reward
        done = terminated or truncated
    assert total == 0.0


def test_a_snapshot_scenario_measures_its_services(tmp_path):
    """A snapshot of web's two replicas bound to n-0 and n-1 (minAvailable 2) and its budget: n-0 fails at 100 and
    recovers at 400, its replica fits nowhere else meanwhile (3 cpu on nodes of 4): web is up 100 s of 400."""
    web = generate_services(
        {"services": [{"name": "web", "replicas": 2, "cpu": "3", "disruption_budget": {"min_available": 2}}]}, 0
    )
    tick = workload_from_pods(
        [
            {
                "metadata": {"name": "tick"},
                "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]},
            }
        ]
    )
    cluster = cluster_from_pools([{"name": "n", "count": 2, "cpu": "4", "memory": "16Gi"}])
    write_snapshot(tmp_path / "snap.json", cluster, web, ["n-0", "n-1"])
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\ncluster: {snapshot: {nodes: snap.json}}\nworkload: {manifests: [tick.yaml]}\n"
        "failures: {events: [{time: 100, node: n-0, action: fail}, {time: 400, node: n-0, action: recover}]}\n"
    )
    write_manifests(tmp_path / "tick.yaml", tick)
    built = load_and_build(path)
    sim = Simulator(built.cluster, built.workload, built.options, built.profile, seed=0)
    s = sim.run(KubeSchedulerPolicy(built.profile))
    assert (s.services, s.failures, s.replicas_lost) == (1, 1, 1)
    assert sim.now == 400.0 and s.availability_mean == pytest.approx(100 / 400, abs=1e-15)
