"""The benchmarks run and print what they document (their timings are their job, not a test's)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SIMULATE_KEYS = {
    "benchmark",
    "nodes",
    "pods",
    "profile",
    "placed",
    "seconds",
    "placements_per_s",
    "target_placements_per_s",
    "ratio_to_target",
    "ratio_to_upstream_threshold",
    "peak_rss_mib",
    "setup_s",
}


def test_simulate_benchmark_small():
    result = run_benchmark("benchmarks/simulate.py", "--nodes", "200", "--pods", "2000", timeout=120)
    assert isinstance(result, dict)
    assert set(result) == SIMULATE_KEYS
    assert result["benchmark"] == "simulate"
    assert result["nodes"] == 200 and result["pods"] == 2000
    assert result["placed"] == 2000
    assert result["placements_per_s"] > 0
    assert result["target_placements_per_s"] == 8100
    assert abs(result["ratio_to_target"] - result["placements_per_s"] / 8100) < 0.01
    assert result["peak_rss_mib"] > 0


def test_simulate_spread_services_benchmark_small():
    """Both workloads are placed in full (one replica per node and zone allows it) and the ratio is theirs."""
    result = run_benchmark(
        "benchmarks/simulate.py", "--workload", "spread-services", "--nodes", "120", "--pods", "600", "--replicas", "30"
    )
    assert result["benchmark"] == "simulate-spread-services"
    assert result["basic_placed"] == result["spread_placed"] == 600
    ratio = result["spread_placements_per_s"] / result["basic_placements_per_s"]
    assert abs(result["ratio_to_basic"] - ratio) < 0.01
    assert result["goal_ratio_to_basic"] == 0.5
    assert result["upstream_thresholds_pods_per_s"]["TopologySpreading/5000Nodes_5000Pods"] == 460


def test_spread_services_replicas_land_one_per_node_and_evenly_over_zones():
    """The benchmark's workload does what it claims: with as many nodes as replicas, each service's replicas take
    distinct nodes, spread 1 apart at most over the three zones."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import simulate as bench
    finally:
        sys.path.pop(0)
    import numpy as np

    import podgym.envs.kube as kube
    from podgym.envs.policy import KubeSchedulerPolicy
    from podgym.envs.simulator import SimulationOptions, Simulator
    from podgym.envs.workload.objects import workload_from_pods
    from podgym.envs.workload.ops import take
    from podgym.envs.workload.types import ClusterSource

    cluster = ClusterSource(kube.parse_nodes([bench.node(i, zoned=True) for i in range(9)]))
    templates = workload_from_pods([bench.pod_template(f"svc-{k}") for k in range(2)])
    which = np.array([0, 1] * 9)
    sim = Simulator(cluster, take(templates, which), SimulationOptions(departures=False), seed=0)
    assert sim.run(KubeSchedulerPolicy()).pods_scheduled == 18
    for k in range(2):
        nodes = [int(sim.node_of[i]) for i in np.flatnonzero(which == k)]
        assert len(set(nodes)) == 9
        zones = np.bincount([j % 3 for j in nodes], minlength=3)
        assert zones.max() - zones.min() <= 1


def run_benchmark(*argv: str, timeout: int = 300) -> dict:
    proc = subprocess.run(
        [sys.executable, *argv], cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout
    return json.loads(lines[0])


def test_extender_benchmark_small_with_binds():
    """A small run, made twice, in which every request's pod is then bound (through watch events) where it scored
    highest, with a queue of pending pods that changes with the binds."""
    out = run_benchmark(
        "benchmarks/extender.py",
        "--nodes",
        "60",
        "--candidates",
        "12",
        "--bound-pods",
        "90",
        "--requests",
        "60",
        "--bind-every",
        "1",
        "--pending",
        "5",
        "--repeat",
        "2",
    )
    assert out["bind_every"] == 1 and out["nodes"] == 60 and out["pending"] == 5 and out["repeat"] == 2
    assert [r["scorer"].split(":")[0] for r in out["results"]] == ["kube-default", "onnx"]
    for r in out["results"]:
        assert 0 < r["server_p50_ms"] <= r["server_p99_ms"] and r["requests_per_s"] > 0
        assert isinstance(r["meets_targets"], bool)
        assert 0 < r["event_server_mean_ms"] < r["event_client_mean_ms"]
        # Pooled over the two runs: the requests/s of all requests over both runs' time lies between the runs'.
        assert len(r["runs_requests_per_s"]) == len(r["runs_server_p99_ms"]) == 2
        assert min(r["runs_requests_per_s"]) <= r["requests_per_s"] <= max(r["runs_requests_per_s"])
        assert 0 <= r["runs_meeting_targets"] <= 2
    reference, onnx = out["results"]
    assert out["reference"] == reference["scorer"] and "requests_per_s_to_reference" not in reference
    assert onnx["requests_per_s_to_reference"] == round(onnx["requests_per_s"] / reference["requests_per_s"], 3)


def test_extender_benchmark_picks_the_first_best_host_of_the_extenders_answer():
    """The client's byte search finds what decoding the answer finds (the first host of the highest score), on the
    extender's own encoding of random scores, and decodes an answer written otherwise."""
    import random

    import numpy as np

    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from extender import best_host
    finally:
        sys.path.pop(0)
    from podgym.plugin.cache import ClusterCache
    from podgym.plugin.extender import Extender

    ext = Extender(object(), ClusterCache())
    rng = random.Random(0)
    for _ in range(300):
        names = [f"node-{rng.randint(0, 99)}" for _ in range(rng.randint(1, 40))]
        scores = np.array([rng.randint(0, 10) for _ in names])
        answer = ext._encode(ext.cache.cluster(), names, np.full(len(names), -1), scores)
        assert best_host(answer) == max(json.loads(answer), key=lambda h: h["Score"])["Host"]
    spaced = json.dumps([{"Host": "a", "Score": 3}, {"Host": "b", "Score": 7}, {"Host": "c", "Score": 7}]).encode()
    assert best_host(spaced) == "b"
    assert best_host(b'[{"Host":"a","Score":12},{"Host":"b","Score":10}]', max_score=12) == "a"


def test_env_throughput_benchmark_short():
    out = run_benchmark("benchmarks/env_throughput.py", "--seconds", "0.3", "--num-envs", "4")
    assert out["engine_single_default"] == out["engine_batched"] == "compiled"
    assert out["threads"] >= 1 and out["num_envs"] == 4
    for key in ("ratio_single_default", "ratio_single_100_nodes", "ratio_batched", "ratio_batched_threads"):
        assert out[key] > 0, key


def test_train_throughput_benchmark_short():
    out = run_benchmark("benchmarks/train_throughput.py", "--steps", "1024", "--n-steps", "128")
    assert out["benchmark"] == "train_throughput" and out["engine"] == "compiled"
    assert out["steps"] >= 1024
    for key in ("ratio_collect", "ratio_learn", "podgym_collect_steps_per_s", "cartpole_collect_steps_per_s"):
        assert out[key] > 0, key
    assert out["podgym_learn_steps_per_s"] <= out["podgym_collect_steps_per_s"]
