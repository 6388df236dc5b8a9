"""Scenarios (envs.scenario): the default scenario, seeds, overrides, file references and bad input.

Bad input must be a KubeObjectError whose message names the scenario file and the field at fault.
"""

from __future__ import annotations

import collections
import copy
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from podgym.envs.env import PodSchedulingEnv
from podgym.envs.kube.errors import ConfigError, KubeObjectError
from podgym.envs.policy import KubeSchedulerPolicy
from podgym.envs.scenario import SCENARIO_DIR, available_scenarios, load_and_build, load_scenario
from podgym.envs.simulator import Simulator
from podgym.envs.workload.pools import POOL_LABEL
from tests.workload.helpers import DATA, assert_same_arrays

DEFAULT = yaml.safe_load((SCENARIO_DIR / "default.yaml").read_text())


def write_scenario(path: Path, data: dict | None = None, text: str | None = None) -> Path:
    """Write a scenario file (a dict as YAML, or raw text) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if text is not None else yaml.safe_dump(data, sort_keys=False))
    return path


def default_with(**changes) -> dict:
    """The default scenario with top-level keys replaced (None removes one)."""
    data = copy.deepcopy(DEFAULT)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def load_error(path: Path) -> str:
    with pytest.raises(KubeObjectError) as info:
        load_and_build(path)
    return str(info.value)


def run(built, seed: int = 0) -> tuple[Simulator, object]:
    sim = Simulator(built.cluster, built.workload, built.options, built.profile, seed=seed)
    return sim, sim.run(KubeSchedulerPolicy(built.profile))


# ---- the default scenario ------------------------------------------------------------------------


def test_default_scenario_is_shipped():
    assert "default" in available_scenarios()


def test_default_scenario_builds():
    built = load_and_build("default")
    assert built.scenario.name == "default"
    assert len(built.cluster.nodes) == 24
    pools = collections.Counter(node.labels[POOL_LABEL] for node in built.cluster.nodes)
    assert pools == {"cpu-small": 8, "cpu-large": 8, "gpu-t4": 4, "gpu-a100": 4}
    assert built.workload.source.startswith("synthetic")
    assert len(built.workload) > 1000  # about 1,400 pods over six hours
    assert np.all(built.workload.arrival < 21600)
    assert np.all(np.diff(built.workload.arrival) >= 0)
    assert built.options.horizon_s == 21600
    assert built.options.autoscaler is None


def test_same_seed_builds_identical_workloads():
    a = load_and_build("default", seed=3)
    b = load_and_build("default", seed=3)
    assert_same_arrays(a.workload, b.workload)
    # without a seed, the scenario's own (0)
    assert_same_arrays(load_and_build("default").workload, load_and_build("default", seed=0).workload)


def test_another_seed_gives_another_workload():
    a = load_and_build("default", seed=0).workload
    b = load_and_build("default", seed=1).workload
    assert not np.array_equal(a.arrival[:50], b.arrival[:50])


# ---- overrides -----------------------------------------------------------------------------------


def test_overrides_apply():
    scenario, path = load_scenario("default", {"simulation.horizon": 3600, "failures.mtbf": 5000})
    assert path == SCENARIO_DIR / "default.yaml"
    assert scenario.simulation.horizon == 3600
    assert scenario.failures.mtbf == 5000
    assert load_and_build("default", {"simulation.horizon": 3600}).options.horizon_s == 3600
    # the file itself is untouched: a later load without overrides sees the file's values
    again, _ = load_scenario("default")
    assert again.simulation.horizon == 21600 and again.failures.mtbf is None


def test_bad_override_names_file_and_field():
    with pytest.raises(KubeObjectError) as info:
        load_scenario("default", {"simulation.horizon": -5})
    message = str(info.value)
    assert str(SCENARIO_DIR / "default.yaml") in message
    assert "simulation.horizon" in message
    assert type(info.value) is ConfigError  # configuration, not a Kubernetes object


def test_a_bad_object_in_a_scenario_is_a_kube_object_error_not_a_config_error(tmp_path):
    bad = tmp_path / "nodes.json"
    node = {"kind": "Node", "apiVersion": "v1", "metadata": {"name": "n0"}, "status": {"allocatable": {"cpu": "lots"}}}
    bad.write_text(json.dumps({"kind": "List", "items": [node]}))
    with pytest.raises(KubeObjectError, match=r"status\.allocatable\.cpu") as info:
        PodSchedulingEnv("default", cluster={"snapshot": {"nodes": str(bad), "pods": None}})
    assert not isinstance(info.value, ConfigError)


# ---- bad input -----------------------------------------------------------------------------------


def test_unknown_scenario_lists_the_available_ones():
    with pytest.raises(KubeObjectError) as info:
        load_scenario("no-such-scenario")
    message = str(info.value)
    assert "no-such-scenario" in message
    assert "available" in message
    for name in available_scenarios():
        assert name in message


def test_missing_scenario_file(tmp_path):
    path = tmp_path / "absent.yaml"
    with pytest.raises(KubeObjectError, match="not found") as info:
        load_scenario(path)
    assert str(path) in str(info.value)


def test_invalid_yaml(tmp_path):
    path = write_scenario(tmp_path / "broken.yaml", text="name: broken\ncluster: [\n")
    message = load_error(path)
    assert str(path) in message
    assert "YAML" in message


def test_not_a_mapping(tmp_path):
    path = write_scenario(tmp_path / "list.yaml", text="- name: x\n")
    message = load_error(path)
    assert str(path) in message and "mapping" in message


def test_unknown_top_level_field(tmp_path):
    path = write_scenario(tmp_path / "extra.yaml", default_with(horizonn=60))
    message = load_error(path)
    assert str(path) in message
    assert "unknown field 'horizonn'" in message


def test_wrong_type_deep_inside(tmp_path):
    data = default_with()
    data["cluster"]["pools"][0]["count"] = "many"
    path = write_scenario(tmp_path / "count.yaml", data)
    with pytest.raises(KubeObjectError) as info:
        load_and_build(path)
    assert info.value.field == "cluster.pools[0].count"
    message = str(info.value)
    assert str(path) in message
    assert "cluster.pools[0].count" in message
    assert "'many'" in message


def test_two_cluster_sources(tmp_path):
    data = default_with()
    data["cluster"]["openb_nodes"] = "nodes.csv"
    path = write_scenario(tmp_path / "two.yaml", data)
    message = load_error(path)
    assert str(path) in message
    assert "field cluster" in message
    assert "pools, openb_nodes" in message  # the two that were given


def test_autoscaler_pool_that_does_not_exist(tmp_path):
    path = write_scenario(tmp_path / "autoscale.yaml", default_with(autoscaler={"pool": "gpu-h100"}))
    message = load_error(path)
    assert str(path) in message
    assert "autoscaler.pool" in message
    assert "'gpu-h100'" in message
    assert "cpu-small" in message  # the pools that exist


def test_snapshot_pending_without_snapshot(tmp_path):
    path = write_scenario(tmp_path / "pending.yaml", default_with(workload={"snapshot_pending": True}))
    message = load_error(path)
    assert str(path) in message
    assert "workload.snapshot_pending" in message
    assert "cluster.snapshot" in message


# ---- file references -----------------------------------------------------------------------------


OPENB_NODES = "sn,cpu_milli,memory_mib,gpu,model\nnode-0,8000,32768,0,\nnode-1,16000,65536,2,T4\n"
OPENB_PODS = (
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n"
    "pod-0,1000,1024,0,0,,LS,Running,0,600,0\n"
    "pod-1,2000,2048,1,500,,LS,Running,30,900,30\n"
    "pod-2,4000,4096,1,1000,T4,BE,Running,60,120,60\n"
)


def openb_scenario(tmp_path: Path, nodes: str = "../traces/nodes.csv") -> Path:
    traces = tmp_path / "traces"
    traces.mkdir(exist_ok=True)
    (traces / "nodes.csv").write_text(OPENB_NODES)
    (traces / "pods.csv").write_text(OPENB_PODS)
    data = {
        "name": "tiny-openb",
        "cluster": {"openb_nodes": nodes},
        "workload": {"openb_pods": {"path": "../traces/pods.csv"}},
    }
    return write_scenario(tmp_path / "scenarios" / "tiny.yaml", data)


def test_relative_paths_are_relative_to_the_scenario_file(tmp_path, monkeypatch):
    path = openb_scenario(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # not the scenario's folder, and no traces/ next to the cwd
    built = load_and_build(path)
    assert [n.name for n in built.cluster.nodes] == ["node-0", "node-1"]
    assert built.workload.names == ["pod-0", "pod-1", "pod-2"]
    assert built.workload.arrival.tolist() == [0, 30, 60]
    assert built.workload.duration.tolist() == [600, 870, 60]
    _, summary = run(built)
    assert summary.pods_scheduled == 3


def test_missing_referenced_file_is_named(tmp_path):
    path = openb_scenario(tmp_path, nodes="../traces/absent.csv")
    message = load_error(path)
    assert str((path.parent / "../traces/absent.csv").resolve()) in message


def test_snapshot_scenario(tmp_path):
    shutil.copy(DATA / "snapshot" / "nodes.json", tmp_path / "nodes.json")
    shutil.copy(DATA / "snapshot" / "pods.yaml", tmp_path / "pods.yaml")
    data = {
        "name": "snap",
        "cluster": {"snapshot": {"nodes": "nodes.json", "pods": "pods.yaml"}},
        "workload": {"snapshot_pending": True},
    }
    built = load_and_build(write_scenario(tmp_path / "snap.yaml", data))
    assert built.cluster.initial.names == ["web-1", "batch-1", "train-0"]
    assert built.workload.names == ["web-2", "web-3"]
    sim = Simulator(built.cluster, built.workload, built.options, built.profile)
    names = {j: name for name, j in sim.cluster.node_index.items()}
    # bound pods are on their nodes before anything is scheduled
    assert sim.running == 3
    assert [names[int(j)] for j in sim.node_of[:3]] == ["node-a", "node-b", "gpu-a"]
    assert np.all(sim.node_of[3:] == -1)
    summary = sim.run(KubeSchedulerPolicy(built.profile))
    # the pending pods (web-2 asks for scheduler my-scheduler: the simulator does not filter on schedulerName)
    assert summary.pods_total == 2
    assert summary.pods_scheduled == 2
    assert np.all(sim.node_of[3:] >= 0)
    assert names[int(sim.node_of[4])] != "node-b"  # web-3 does not tolerate node-b's taint
    assert sim.running == 5  # bound pods never depart


# ---- simulation rules ----------------------------------------------------------------------------


def test_failure_event_on_unknown_node(tmp_path):
    failures = {"events": [{"time": 600, "node": "ghost", "action": "fail"}]}
    path = write_scenario(tmp_path / "ghost.yaml", default_with(failures=failures))
    with pytest.raises(KubeObjectError, match="unknown node 'ghost'") as excinfo:
        load_and_build(path)
    assert excinfo.value.field == "failures.events[0].node"
    assert str(path) in str(excinfo.value)


def test_failure_events_evict(tmp_path):
    cpu_nodes = [f"{pool}-{i}" for pool in ("cpu-small", "cpu-large") for i in range(8)]
    events = [{"time": 600, "node": n, "action": "fail"} for n in cpu_nodes]
    events += [{"time": 1200, "node": n, "action": "recover"} for n in cpu_nodes]
    data = default_with(failures={"events": events})
    data["simulation"]["horizon"] = 1800
    _, summary = run(load_and_build(write_scenario(tmp_path / "fail.yaml", data)))
    assert summary.evictions > 0
    _, calm = run(load_and_build("default", {"simulation.horizon": 1800}))
    assert calm.evictions == 0


AUTOSCALE = {
    "name": "autoscale",
    "seed": 1,
    "cluster": {
        "pools": [
            {"name": "base", "count": 1, "cpu": "2", "memory": "4Gi"},
            {"name": "burst", "count": 3, "cpu": "4", "memory": "8Gi"},
        ]
    },
    "workload": {
        "synthetic": {
            "num_pods": 40,
            "arrivals": {"process": "poisson", "rate": 0.1},
            "lifetime": {"distribution": "fixed", "value": 600},
            "classes": [{"name": "w", "cpu": "1", "memory": "1Gi"}],
        }
    },
    "simulation": {"horizon": 3600},
    "autoscaler": {"pool": "burst", "provision_delay": 30, "scale_down_after": 300},
}


def test_autoscaler_powers_nodes_on(tmp_path):
    built = load_and_build(write_scenario(tmp_path / "autoscale.yaml", AUTOSCALE))
    assert built.options.autoscaler.nodes == ("burst-0", "burst-1", "burst-2")
    sim = Simulator(built.cluster, built.workload, built.options, built.profile)
    assert sim.cluster.alive.tolist() == [True, False, False, False]  # burst nodes start powered off
    summary = sim.run(KubeSchedulerPolicy(built.profile))
    # the base node alone holds 2 pods at a time for 600 s each: at most ~12 of 40 pods within the hour
    assert summary.pods_scheduled == 40
    assert summary.node_hours > 1.5 * summary.duration_s / 3600  # more than the base node's hours
    live = sim.metrics.live_nodes  # nodes up, sampled over the run
    assert live[0] == 1
    assert max(live) == 4  # every burst node was powered on ...
    assert live[-1] < 4  # ... and empty ones were powered off again once the pods left


def test_manifests_on_a_snapshot_are_admitted_with_its_priority_classes(tmp_path):
    # The snapshot's cluster has the class the manifests name (and a global default): admission there gives the
    # manifests' pods those priorities, as `kubectl apply` of them onto that cluster would.
    shutil.copy(DATA / "snapshot" / "nodes.json", tmp_path / "nodes.json")
    classes = [
        {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": n}, "value": v, **extra}
        for n, v, extra in (("gold", 5000, {}), ("fallback", 7, {"globalDefault": True}))
    ]
    (tmp_path / "classes.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": classes}))
    pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec: {%scontainers: [{name: c, image: x}]}\n"
    (tmp_path / "app.yaml").write_text(pod % ("gold-0", "priorityClassName: gold, ") + "---\n" + pod % ("plain", ""))
    data = {
        "name": "snap-manifests",
        "cluster": {"snapshot": {"nodes": "nodes.json", "pods": "classes.json"}},
        "workload": {"manifests": ["app.yaml"]},
    }
    built = load_and_build(write_scenario(tmp_path / "snap.yaml", data))
    assert built.workload.names == ["gold-0", "plain"]
    assert built.workload.priority.tolist() == [5000, 7]
