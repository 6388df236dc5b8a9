"""Real-shaped cluster dumps in every layout (tests/data/dumps, see generate.py there), through every entry point.

Each layout holds the same cluster: a tainted control-plane node, an overcommitted worker, a NotReady worker, a
tainted GPU node, DaemonSet pods pinned by matchFields, a pod listed three times and pending pods. On each,
``explain`` (envs.kube), the simulator run by kube-scheduler (envs.simulate's path), the Gymnasium env (SB3's
``check_env`` and a masked rollout) and the extender (filter, prioritize, then the bind as a watch event) must
agree on every decision: the same feasible nodes, the same top-scoring nodes, each pod placed once.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from starlette.testclient import TestClient

import podgym.envs.kube as kube
from podgym.agents import make_policy
from podgym.envs.env import PodSchedulingEnv
from podgym.envs.kube.dumps import read_dump
from podgym.envs.kube.errors import KubeObjectError
from podgym.envs.policy import KubeSchedulerPolicy
from podgym.envs.scenario import load_and_build
from podgym.envs.simulate import main as simulate_main
from podgym.envs.simulator import Simulator
from podgym.envs.workload import load_snapshot
from podgym.plugin.cache import ClusterCache
from podgym.plugin.extender import create_app

DUMPS = Path(__file__).resolve().parent / "data" / "dumps"
LAYOUTS = {
    "get-list-json": (["get-list.json"], None),
    "get-list-yaml": (["get-list.yaml"], None),
    "separate-files": (["separate/nodes.json"], ["separate/pods.json"]),
    "per-namespace-files": (
        ["per-namespace/nodes.yaml"],
        ["per-namespace/pods/kube-system.yaml", "per-namespace/pods/default.yaml", "per-namespace/pods/batch.yaml"],
    ),
    "per-namespace-directory": (["per-namespace/nodes.yaml"], ["per-namespace/pods"]),
    "cluster-info-dump-stdout": (["cluster-info-dump.txt"], None),
    "cluster-info-dump-directory": (["cluster-info-dump"], None),
}
NODES = ["cp-1", "worker-1", "worker-2", "worker-3", "gpu-1"]
BOUND = {
    "etcd-cp-1",
    "kube-apiserver-cp-1",
    "kube-scheduler-cp-1",
    "kube-proxy-7xk2p",
    "kube-proxy-b9fq4",
    "kube-proxy-mm2sd",
    "kube-proxy-q8r5t",
    "api-6d4b9c-x2x8l",
    "api-6d4b9c-9kq7d",
    "web-5f7c8d-7hpl2",
    "train-0",
}
PENDING = ["web-5f7c8d-q4w7n", "web-5f7c8d-v8z2m", "kube-proxy-h7gcw", "train-1", "etl-0", "huge-0"]
NEVER_FITS = {"kube-proxy-h7gcw", "huge-0"}  # a NotReady node's pinned DaemonSet pod; a pod larger than any node


def _paths(names):
    return None if names is None else [DUMPS / n for n in names]


def _scenario(tmp_path: Path, nodes, pods, name: str, workload: dict | None = None) -> Path:
    snapshot = {"nodes": [str(p) for p in nodes]}
    if pods is not None:
        snapshot["pods"] = [str(p) for p in pods]
    data = {
        "name": name,
        "cluster": {"snapshot": snapshot},
        "workload": workload or {"snapshot_pending": True},
        "simulation": {"departures": False},
        "env": {"engine": "python"},
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _queue_order(pods: list[dict]) -> list[dict]:
    """Pending pods as the scheduling queue pops them: priority first, then creation time."""
    pending = [p for p in pods if not p["spec"].get("nodeName") and p["status"].get("phase") not in ("Succeeded",)]
    return sorted(pending, key=lambda p: (-(p["spec"].get("priority") or 0), p["metadata"]["creationTimestamp"]))


TOTALS: dict[str, dict[str, int]] = {}  # pod -> node -> explain's weighted total, per layout run


def _explain_sequence(nodes: list[dict], pods: list[dict]) -> list[tuple[str, set[str], set[str], str | None]]:
    """(pod, feasible nodes, top-scoring nodes, chosen node) per pending pod, binding each choice before the next."""
    state = [copy.deepcopy(p) for p in pods]
    out = []
    for p in _queue_order(pods):
        d = kube.schedule(p, nodes, state, seed=0)
        TOTALS[p["metadata"]["name"]] = {v.name: v.total for v in d.verdicts if v.total is not None}
        out.append((p["metadata"]["name"], set(d.feasible), set(d.tied), d.selected))
        if d.selected is not None:
            for q in state:
                if q["metadata"]["uid"] == p["metadata"]["uid"]:
                    q["spec"]["nodeName"] = d.selected
    return out


@pytest.fixture(params=sorted(LAYOUTS))
def layout(request):
    nodes, pods = LAYOUTS[request.param]
    return request.param, _paths(nodes), _paths(pods)


def test_every_layout_reads_the_same_cluster_each_pod_once(layout):
    _, nodes, pods = layout
    snap = load_snapshot(nodes, pods)
    assert [n.name for n in snap.cluster.nodes] == NODES
    assert sorted(snap.cluster.initial.names) == sorted(BOUND)  # the duplicated pod counts once
    assert snap.duplicates == ["uid-default-web-5f7c8d-7hpl2"] * 2
    assert snap.skipped == ["batch/report-28712345-zt9vc"]
    assert sorted(snap.pending.names) == sorted(PENDING)
    dump = read_dump(nodes, pods)
    assert len(dump.pods) == len(BOUND) + len(PENDING) + 1  # + the Succeeded pod


def test_explain_simulator_env_and_extender_agree_on_every_decision(layout, tmp_path):
    name, nodes, pods = layout
    dump = read_dump(nodes, pods)
    reference = _explain_sequence(dump.nodes, dump.pods)
    placed = {pod: chosen for pod, _, _, chosen in reference}
    assert {pod for pod, chosen in placed.items() if chosen is None} == NEVER_FITS
    assert placed["train-1"] == "gpu-1"  # the only GPU node, whose taint it tolerates
    worker1 = {pod for pod, feasible, _, _ in reference if "worker-1" in feasible}
    assert worker1 == set(), "the overcommitted worker takes no pod"
    # the simulator, as envs.simulate runs it
    built = load_and_build(_scenario(tmp_path, nodes, pods, name))
    sim = Simulator(built.cluster, built.workload, built.options, built.profile, seed=0)
    summary = sim.run(KubeSchedulerPolicy(built.profile))
    node_names = [n.name for n in built.cluster.nodes]
    n0 = len(built.cluster.initial)
    by_sim = {
        built.workload.names[i]: (node_names[j] if j >= 0 else None) for i, j in enumerate(sim.node_of[n0:].tolist())
    }
    for pod, feasible, tied, _ in reference:
        assert (by_sim[pod] in tied) if feasible else by_sim[pod] is None, pod
    assert summary.pods_never_scheduled == len(NEVER_FITS)
    # the env: SB3's checker, then a masked rollout whose masks are explain's feasible sets
    from stable_baselines3.common.env_checker import check_env

    path = _scenario(tmp_path, nodes, pods, name)
    check_env(PodSchedulingEnv(path), warn=False)
    env = PodSchedulingEnv(path)
    obs, info = env.reset(seed=0)
    for pod, feasible in [(pod, feasible) for pod, feasible, _, _ in reference if feasible]:
        assert env.observation_space.contains(obs), "an overcommitted node leaves the declared space"
        assert info["pod"] == pod
        mask = env.action_masks()
        assert {node_names[j] for j in np.flatnonzero(mask)} == feasible, pod
        obs, _, terminated, _, info = env.step(node_names.index(placed[pod]))
    assert terminated and not env.action_masks().any(), "after the last decision the mask is all false"
    # the extender: filter and prioritize on its cache, then the bind as a watch event
    cache = ClusterCache()
    cache.set_state(dump.nodes, dump.pods)
    with TestClient(create_app(make_policy("kube-default"), cache)) as client:
        for p in _queue_order(dump.pods):
            pod, feasible, tied, chosen = next(r for r in reference if r[0] == p["metadata"]["name"])
            args = {"Pod": p, "NodeNames": NODES}
            result = client.post("/filter", json=args).json()
            assert set(result["NodeNames"]) == feasible and result["Error"] == "", pod
            if not feasible:
                continue
            scores = client.post("/prioritize", json={"Pod": p, "NodeNames": sorted(feasible)}).json()
            # kube-default's totals, linear on their fixed range 0..100 x sum(weights) (the default mapping)
            top_total = 100 * sum(w for _, w in kube.default_profile().score_plugins)
            expected = {n: 10 * t // top_total for n, t in TOTALS[pod].items()}
            assert {s["Host"]: s["Score"] for s in scores} == expected, pod
            assert chosen in tied and expected[chosen] == max(expected.values()), pod
            bound = copy.deepcopy(p)
            bound["spec"]["nodeName"] = chosen
            bound["kind"] = "Pod"  # a watch event carries the kind (items of a typed list do not)
            cache.apply_event({"type": "MODIFIED", "object": bound})
        assert cache.num_pods == len(BOUND) + len(PENDING)


def test_no_pending_pods_with_a_workload(tmp_path):
    """A healthy cluster's dump has no pending pod: a workload given with it is what the env places."""
    dump = [DUMPS / "no-pending.json"]
    with pytest.raises(KubeObjectError, match="'no-pending' has no pod to place: the snapshot has no pending pod"):
        PodSchedulingEnv(_scenario(tmp_path, dump, None, "no-pending"))
    path = _scenario(
        tmp_path, dump, None, "no-pending", {"snapshot_pending": True, "manifests": [str(DUMPS / "workload.yaml")]}
    )
    from stable_baselines3.common.env_checker import check_env

    check_env(PodSchedulingEnv(path), warn=False)
    env = PodSchedulingEnv(path)
    obs, info = env.reset(seed=0)
    steps = 0
    while True:
        assert env.observation_space.contains(obs)
        mask = env.action_masks()
        obs, _, terminated, truncated, info = env.step(int(np.flatnonzero(mask)[0]))
        steps += 1
        if terminated or truncated:
            break
    assert steps == 6 and info["metrics"]["pods_scheduled"] == 6


def test_simulate_without_pending_pods_reports_the_bound_pods(tmp_path, capsys):
    path = _scenario(tmp_path, [DUMPS / "no-pending.json"], None, "no-pending")
    assert simulate_main(["--scenario", str(path), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    nodes = kube.parse_nodes(read_dump([DUMPS / "no-pending.json"]).nodes)
    allocatable = sum(n.allocatable["cpu"] for n in nodes)
    requested = 100 + 250 + 100 + 2000 + 3000 + 500 + 8000  # the bound pods' cpu, the Succeeded one left out
    assert metrics["pods_total"] == 0
    assert metrics["cpu_allocation_mean"] == pytest.approx(requested / allocatable)
    assert metrics["cpu_allocation_peak"] == pytest.approx(requested / allocatable)


def test_only_unschedulable_pods(tmp_path):
    dump = [DUMPS / "only-unschedulable.json"]
    path = _scenario(tmp_path, dump, None, "stuck")
    env = PodSchedulingEnv(path)
    with pytest.raises(KubeObjectError, match=r"'stuck'.*no decision to make: none of its 2 pod\(s\) fits any node"):
        env.reset(seed=0)
    built = load_and_build(path)
    summary = Simulator(built.cluster, built.workload, built.options, built.profile, seed=0).run(
        KubeSchedulerPolicy(built.profile)
    )
    assert summary.pods_never_scheduled == 2 and summary.pods_scheduled == 0
    objects = read_dump(dump)
    for p in _queue_order(objects.pods):
        assert kube.schedule(p, objects.nodes, objects.pods).selected is None
    # with a workload that fits, the env has decisions again; the stuck pods wait
    path = _scenario(
        tmp_path, dump, None, "stuck", {"snapshot_pending": True, "manifests": [str(DUMPS / "workload.yaml")]}
    )
    env = PodSchedulingEnv(path)
    _, info = env.reset(seed=0)
    assert info["pod"].startswith("shop-")


def test_serve_reads_every_layout(layout):
    """`python -m podgym.plugin.serve --no-watch --nodes ... --pods ...` fills its cache from any layout, each pod once."""
    from argparse import Namespace

    from podgym.plugin.serve import build_cache

    _, nodes, pods = layout
    cache = build_cache(Namespace(no_watch=True, nodes=nodes, pods=pods))
    assert cache.num_nodes == len(NODES)
    assert cache.num_pods == len(BOUND) + len(PENDING)  # the duplicated pod once, the Succeeded one left out
    assert cache.num_pending == len(PENDING)


def test_explain_command_line_on_a_dump(layout, tmp_path, capsys):
    """`python -m podgym.envs.kube explain --pod P --nodes DUMP... [--pods ...]` counts each bound pod once."""
    from podgym.envs.kube.__main__ import main as explain_main

    _, nodes, pods = layout
    dump = read_dump(nodes, pods)
    pending = next(p for p in dump.pods if p["metadata"]["name"] == "etl-0")
    pod_file = tmp_path / "pod.json"
    pod_file.write_text(json.dumps(pending))
    argv = ["explain", "--pod", str(pod_file), "--nodes", *map(str, nodes), "--output", "json"]
    argv += ["--pods", *map(str, pods)] if pods else []
    assert explain_main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    expected = kube.schedule(pending, dump.nodes, dump.pods, seed=0)
    assert report["selected"] == expected.selected and report["tied"] == expected.tied
    assert "chosen by the pod's spec.schedulerName" in report["profileChosenBecause"]


def test_a_pod_listed_three_times_counts_once_in_explain():
    """The web pod on worker-2 is listed three times in get-list.json: explain's totals are those of one listing."""
    items = json.loads((DUMPS / "get-list.json").read_text())["items"]
    nodes = [o for o in items if o["kind"] == "Node"]
    pods = [o for o in items if o["kind"] == "Pod"]
    assert sum(p["metadata"]["name"] == "web-5f7c8d-7hpl2" for p in pods) == 3
    once = [p for i, p in enumerate(pods) if p["metadata"]["uid"] not in {q["metadata"]["uid"] for q in pods[:i]}]
    pending = next(p for p in pods if p["metadata"]["name"] == "etl-0")
    twice_counted = kube.schedule(pending, nodes, pods)
    counted_once = kube.schedule(pending, nodes, once)
    assert [v.total for v in twice_counted.verdicts] == [v.total for v in counted_once.verdicts]
    worker2 = next(i for i in kube.cluster(pending, nodes, pods)[1] if i.name == "worker-2")
    assert worker2.requested["cpu"] == 500  # the web pod's 500m, once
