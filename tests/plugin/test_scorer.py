"""OnnxPolicy over the exported parts: the same scores as the full model, request after request.

Every check compares the cached path (node embeddings kept per pod, re-encoded where a node changed, pooled
with the candidates' feasible = 1 embedding, the head on the candidates) with policy.onnx over the whole
cluster (``scores_for`` of ``encode_candidates``), on random clusters with CPU and GPU nodes while pods are
bound and released, nodes fail and come back, and the candidate window moves. Also: export writes and
checks the parts, a policy without them falls back to the full model, and parts of another export are refused.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from podgym.envs.cluster import ClusterState
from podgym.envs.features import FeatureEncoder, encode_candidates
from podgym.envs.kube.errors import KubeObjectError
from podgym.envs.workload.objects import workload_from_pods
from podgym.envs.workload.types import GPU_COUNT_ANNOTATION, GPU_MILLI_ANNOTATION
from podgym.plugin.cache import ClusterCache
from podgym.policies import onnx as scorer_module
from podgym.policies.onnx import ENCODER_FILE, HEAD_FILE, OnnxPolicy
from tests.kube.builders import node, pod
from tests.plugin import TYPICAL_JSON, tiny_onnx_model, typical

TOL = 1e-5  # float32: the cached path sums and maxes in another order than onnxruntime


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("model")
    tiny_onnx_model(directory, hidden=16, seed=3)
    return directory


def policy_of(directory) -> OnnxPolicy:
    return OnnxPolicy(directory / "policy.onnx")


def make_node(name: str, cpu: int, gpus: int = 0, memory: str = "64Gi") -> dict:
    alloc = {"cpu": str(cpu), "memory": memory, "pods": "20"}
    if gpus:
        alloc["nvidia.com/gpu"] = str(gpus)
    return node(name, allocatable=alloc)


def make_pod(name: str, shape: int) -> dict:
    """Six shapes: small and large CPU pods, a shared GPU, one whole GPU, two whole GPUs, no requests at all."""
    if shape == 5:
        return pod(name)  # BestEffort: binding it changes only the node's pod count
    cpu, memory, gpu = [("500m", "1Gi", 0), ("2", "4Gi", 0), ("1", "2Gi", -300), ("1", "2Gi", 1), ("2", "8Gi", 2)][
        shape
    ]
    requests = {"cpu": cpu, "memory": memory}
    if gpu > 0:
        requests["nvidia.com/gpu"] = str(gpu)
    p = pod(name, containers=[requests])
    if gpu < 0:
        p["metadata"]["annotations"] = {GPU_COUNT_ANNOTATION: "1", GPU_MILLI_ANNOTATION: str(-gpu)}
    return p


def random_cluster(rng: np.random.Generator, n: int, identical: bool = False) -> ClusterState:
    if identical:  # every node alike: the pooled max is reached by many rows at once
        return ClusterState([make_node(f"n{j:03d}", 8) for j in range(n)], {"nvidia.com/gpu"})
    nodes = [make_node(f"n{j:03d}", int(rng.choice([2, 8, 32])), int(rng.choice([0, 0, 1, 4, 8]))) for j in range(n)]
    return ClusterState(nodes, {"nvidia.com/gpu"})


def request(cluster: ClusterState, shape: int, name: str = "p"):
    return cluster.pod_request(workload_from_pods([make_pod(name, shape)]), 0)


def full_scores(policy: OnnxPolicy, cluster: ClusterState, req, nodes: np.ndarray) -> np.ndarray:
    """policy.onnx over the whole cluster with `nodes` marked feasible: the reference."""
    return policy.scores_for(*encode_candidates(policy.encoder(cluster), req, nodes))[nodes].astype(np.float64)


def candidates(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """A window (wrapping around, as kube-scheduler's start index), a scattered subset, or every node."""
    kind = int(rng.integers(0, 4))
    if kind == 0:
        return np.arange(n)
    if kind == 1:
        return np.sort(rng.choice(n, size=int(rng.integers(1, n)), replace=False))
    start = int(rng.integers(0, n))
    return (start + np.arange(k)) % n


class Churn:
    """Binds and releases pods and fails nodes of a ClusterState, as the simulator and the cache do."""

    def __init__(self, cluster: ClusterState, rng: np.random.Generator):
        self.cluster, self.rng = cluster, rng
        self.bound: list[tuple[int, object, tuple[int, ...]]] = []
        self.count = 0

    def step(self) -> None:
        c, rng = self.cluster, self.rng
        for _ in range(int(rng.integers(0, 4))):
            action = rng.random()
            if action < 0.55:
                j = int(rng.integers(0, c.num_nodes))
                if not c.alive[j]:
                    continue
                self.count += 1
                req = request(c, int(rng.integers(0, 6)), f"b{self.count}")
                try:
                    self.bound.append((j, req, c.bind(j, req)))
                except ValueError:  # no GPU fits: the simulator would not pick it
                    continue
            elif action < 0.85 and self.bound:
                j, req, gpus = self.bound.pop(int(rng.integers(0, len(self.bound))))
                c.unbind(j, req, gpus)
            else:
                j = int(rng.integers(0, c.num_nodes))
                if c.alive[j]:
                    for b in [b for b in self.bound if b[0] == j]:
                        self.bound.remove(b)
                        c.unbind(*b)
                c.set_alive(j, not c.alive[j])


@pytest.mark.parametrize("seed", range(6))
def test_cached_scores_equal_the_full_model(model_dir, seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 90))
    cluster = random_cluster(rng, n, identical=seed % 3 == 2)
    policy = policy_of(model_dir)
    assert policy.uses_parts
    churn = Churn(cluster, rng)
    shapes = [int(s) for s in rng.choice(6, size=3, replace=False)]
    for step in range(60):
        req = request(cluster, shapes[step % 3] if rng.random() < 0.9 else int(rng.integers(0, 6)))
        nodes = candidates(rng, n, max(1, n // 4))
        got = policy.score(cluster, req, nodes)
        assert got.shape == nodes.shape and got.dtype == np.float64
        np.testing.assert_allclose(got, full_scores(policy, cluster, req, nodes), rtol=0, atol=TOL)
        churn.step()
    assert policy._embeddings, "the pods came back: their node embeddings are cached"


def test_moving_window_over_identical_nodes(model_dir):
    # Many rows tie for the pooled max; windows that hold the first row, the middle one, both, the last or all.
    cluster = random_cluster(np.random.default_rng(0), 40, identical=True)
    policy = policy_of(model_dir)
    req = request(cluster, 0)
    for start in [0, 35, 30, 10, 39, 0, 5, 20]:
        for k in (1, 10, 39, 40):
            nodes = (start + np.arange(k)) % 40
            np.testing.assert_allclose(
                policy.score(cluster, req, nodes), full_scores(policy, cluster, req, nodes), rtol=0, atol=TOL
            )
    cluster.bind(0, request(cluster, 1, "x"))  # the first witness changes
    cluster.bind(20, request(cluster, 1, "y"))  # and the second (the first of the second half)
    cluster.bind(39, request(cluster, 1, "z"))  # and the last
    for nodes in (np.arange(40), np.arange(1, 39), np.array([0, 39]), np.array([1, 21]), np.array([5, 5, 3])):
        np.testing.assert_allclose(
            policy.score(cluster, req, nodes), full_scores(policy, cluster, req, nodes), rtol=0, atol=TOL
        )


def test_the_only_rows_reaching_the_max_change(model_dir):
    # Few distinct nodes: each dimension's max is one node's. It fills up while the others are the candidates.
    cluster = ClusterState([make_node("a", 32), make_node("b", 8), make_node("c", 2)], {"nvidia.com/gpu"})
    policy = policy_of(model_dir)
    req = request(cluster, 0)
    for step in range(12):
        for nodes in (np.array([1]), np.array([2]), np.array([1, 2])):
            for _ in range(2):  # the first time built, then from the kept embeddings
                np.testing.assert_allclose(
                    policy.score(cluster, req, nodes), full_scores(policy, cluster, req, nodes), rtol=0, atol=TOL
                )
        cluster.bind(step % 3 if step > 5 else 0, request(cluster, 1, f"fill-{step}"))


def test_every_node_failed_but_the_candidates(model_dir):
    cluster = random_cluster(np.random.default_rng(1), 12)
    policy = policy_of(model_dir)
    req = request(cluster, 0)
    nodes = np.array([2, 7])
    for _ in range(2):
        policy.score(cluster, req, nodes)  # cache the pod
    for j in range(12):
        cluster.set_alive(j, False)  # failed nodes are zero rows: nothing valid but the candidates
    np.testing.assert_allclose(
        policy.score(cluster, req, nodes), full_scores(policy, cluster, req, nodes), rtol=0, atol=TOL
    )
    cluster.set_alive(3, True)
    np.testing.assert_allclose(
        policy.score(cluster, req, nodes), full_scores(policy, cluster, req, nodes), rtol=0, atol=TOL
    )
    assert policy.score(cluster, req, np.zeros(0, dtype=np.int64)).shape == (0,)


def test_a_shared_gpu_moved_to_another_device(model_dir):
    # Same totals, same pod count, other devices: only the per-device free milli-GPU tells the change.
    cluster = ClusterState([make_node("g", 16, gpus=2), make_node("c", 16)], {"nvidia.com/gpu"})
    policy = policy_of(model_dir)
    a, b = request(cluster, 2, "a"), request(cluster, 2, "b")
    cluster.bind(0, a, (0,))
    cluster.bind(0, b, (1,))
    req, nodes = request(cluster, 2), np.array([0, 1])
    for _ in range(2):
        policy.score(cluster, req, nodes)  # cached
    cluster.unbind(0, b, (1,))
    cluster.bind(0, b, (0,))  # 700/700 free -> 400/1000: partly used milli-GPU and devices that fit change
    np.testing.assert_allclose(
        policy.score(cluster, req, nodes), full_scores(policy, cluster, req, nodes), rtol=0, atol=TOL
    )


def test_cached_scores_follow_the_cache(model_dir):
    # Through ClusterCache: pods bound and deleted incrementally, nodes added and removed (a rebuild).
    cache = ClusterCache()
    nodes = [make_node(f"n{j}", 4 + 4 * (j % 3), gpus=j % 2) for j in range(30)]
    cache.set_state(nodes, [])
    policy = policy_of(model_dir)
    rng = np.random.default_rng(7)
    for step in range(40):
        cluster = cache.cluster()
        req = cache.pod_request(make_pod(f"pending-{step}", step % 2))
        idx = (step * 7 + np.arange(10)) % cluster.num_nodes
        np.testing.assert_allclose(
            policy.score(cluster, req, idx), full_scores(policy, cluster, req, idx), rtol=0, atol=TOL
        )
        bound = make_pod(f"bound-{step}", int(rng.integers(0, 2)))
        bound["spec"]["nodeName"] = cluster.node_names[int(rng.integers(0, cluster.num_nodes))]
        cache.apply_event({"type": "ADDED", "object": bound})
        if step % 5 == 4:
            cache.apply_event({"type": "DELETED", "object": {**make_pod(f"bound-{step - 2}", 0), "kind": "Pod"}})
        if step == 20:
            cache.apply_event({"type": "ADDED", "object": {**make_node("extra", 16), "kind": "Node"}})
        if step == 30:
            cache.apply_event({"type": "DELETED", "object": {**nodes[3], "kind": "Node"}})


def served_pending(pending: int, nodes: int) -> np.float32:
    """The pending feature a live cluster's queue of `pending` pods is scored with: tanh(pending / nodes), on the
    grid."""
    exact = np.float32(np.tanh(pending / nodes))
    return np.float32(np.round(exact * scorer_module.PENDING_GRID) / scorer_module.PENDING_GRID)


def test_a_live_clusters_queue_is_scored_on_the_pending_grid(model_dir):
    # The cache's view: the pending feature is rounded, so queue lengths in one grid cell share one pod feature
    # vector (one kept embedding), and the scores are the full model's for the rounded feature.
    nodes = [make_node(f"n{j:03d}", 8, gpus=j % 2) for j in range(200)]
    cache = ClusterCache()
    cache.set_state(nodes, [])
    policy = policy_of(model_dir)
    policy.reset(cache.view())
    cluster = cache.cluster()
    idx = np.arange(30, 90)
    queued: list[dict] = []
    lengths = (0, 1, 2, 3, 4, 5, 9)
    for length in lengths:
        while len(queued) < length:
            queued.append({**make_pod(f"q{len(queued)}", 0), "kind": "Pod"})
            cache.apply_event({"type": "ADDED", "object": queued[-1]})
        assert cache.cluster() is cluster and cache.num_pending == length
        req = cache.pod_request(make_pod("p", 0))
        for _ in range(2):  # the second time from the kept embeddings
            got = policy.score(cluster, req, idx)
        node_features, pod_features = encode_candidates(policy.encoder(cluster), req, idx, cache.view())
        assert pod_features[scorer_module.PENDING] == np.float32(np.tanh(length / 200))  # the exact feature
        pod_features[scorer_module.PENDING] = served_pending(length, 200)
        np.testing.assert_allclose(got, policy.scores_for(node_features, pod_features)[idx], rtol=0, atol=TOL)
    cells = {served_pending(length, 200) for length in lengths}
    assert len(policy._embeddings) == len(cells) < len(lengths)


def test_a_simulation_is_scored_with_the_exact_pending_feature(model_dir):
    from podgym.envs.scenario import load_and_build
    from podgym.envs.simulator import Simulator

    scenario = load_and_build("default", {"simulation.horizon": 600}, None)
    sim = Simulator(scenario.cluster, scenario.workload, scenario.options, scenario.profile, seed=0)
    policy = policy_of(model_dir)
    policy.reset(sim)
    features = np.full(len(scorer_module.POD_FEATURES), 0.3, dtype=np.float32)
    assert policy._served(features.copy()).tobytes() == features.tobytes()
    policy.reset(ClusterCache().view())
    assert policy._served(features.copy())[scorer_module.PENDING] == np.float32(19 / 64)


def test_a_pod_is_kept_at_once_from_a_live_cluster_and_when_it_comes_back_in_a_simulation(model_dir):
    from podgym.envs.scenario import load_and_build
    from podgym.envs.simulator import Simulator

    scenario = load_and_build("default", {"simulation.horizon": 600}, None)
    sim = Simulator(scenario.cluster, scenario.workload, scenario.options, scenario.profile, seed=0)
    cluster = sim.cluster
    req, nodes = request(cluster, 0), np.arange(2, 14)
    simulated, live = policy_of(model_dir), policy_of(model_dir)
    simulated.reset(sim)
    want = full_scores(simulated, cluster, req, nodes)  # the simulation's node ranks; no queue, clock 0
    for kept in (0, 1):  # a one-off in the simulation (full encode), kept the second time
        got = simulated.score(cluster, req, nodes)
        assert len(simulated._embeddings) == kept
        np.testing.assert_allclose(got, want, rtol=0, atol=TOL)
    np.testing.assert_allclose(
        live.score(cluster, req, nodes), full_scores(live, cluster, req, nodes), rtol=0, atol=TOL
    )
    assert len(live._embeddings) == 1  # no simulation followed: kept at once


def test_templates_are_bounded(model_dir, monkeypatch):
    monkeypatch.setattr(scorer_module, "MAX_TEMPLATES", 2)
    cluster = random_cluster(np.random.default_rng(2), 25)
    policy = policy_of(model_dir)
    nodes = np.arange(5, 15)
    for step in range(30):
        req = request(cluster, step % 4)
        np.testing.assert_allclose(
            policy.score(cluster, req, nodes), full_scores(policy, cluster, req, nodes), rtol=0, atol=TOL
        )
        assert len(policy._embeddings) <= 2


@pytest.mark.parametrize("seed", range(4))
def test_node_features_of_some_rows_equal_the_full_encoding(seed):
    rng = np.random.default_rng(seed)
    cluster = random_cluster(rng, 30)
    churn = Churn(cluster, rng)
    for _ in range(10):
        churn.step()
    encoder = FeatureEncoder(cluster, typical())
    rows = np.sort(rng.choice(30, size=7, replace=False))
    feasible = rng.random(30) < 0.5
    for shape in range(6):
        req = request(cluster, shape)
        np.testing.assert_array_equal(encoder.nodes(req, feasible[rows], rows), encoder.nodes(req, feasible)[rows])


def test_without_parts_the_full_model_scores(tmp_path, model_dir):
    old = tmp_path / "old"
    tiny_onnx_model(old, hidden=16, seed=3, parts=False)  # an export from before the parts
    legacy, current = policy_of(old), policy_of(model_dir)
    assert not legacy.uses_parts and current.uses_parts
    meta = json.loads((model_dir / "policy.json").read_text())
    del meta["parts"]  # a policy.json that lists no parts: the same
    (tmp_path / "nolist").mkdir()
    shutil.copy(model_dir / "policy.onnx", tmp_path / "nolist" / "policy.onnx")
    (tmp_path / "nolist" / "policy.json").write_text(json.dumps(meta))
    unlisted = policy_of(tmp_path / "nolist")
    assert not unlisted.uses_parts
    cluster = random_cluster(np.random.default_rng(4), 30)
    for step in range(4):
        req = request(cluster, step % 2)
        nodes = np.arange(step, 30, 3)
        want = current.score(cluster, req, nodes)
        np.testing.assert_allclose(legacy.score(cluster, req, nodes), want, rtol=0, atol=TOL)
        np.testing.assert_allclose(unlisted.score(cluster, req, nodes), want, rtol=0, atol=TOL)


def test_export_writes_and_checks_the_parts(tmp_path):
    import onnxruntime as ort

    path = tiny_onnx_model(tmp_path, hidden=8)
    meta = json.loads((tmp_path / "policy.json").read_text())
    parts = meta["parts"]
    assert parts["encoder"]["file"] == ENCODER_FILE and parts["head"]["file"] == HEAD_FILE
    assert parts["encoder"]["output"] == {"h": ["num_nodes", 8]}
    assert parts["head"]["inputs"] == {"h": ["num_scored", 8], "context": [16]}
    assert 0 <= meta["parts_parity_max_abs_error"] <= 1e-4 and 0 <= meta["parity_max_abs_error"] <= 1e-4
    encoder = ort.InferenceSession(str(tmp_path / ENCODER_FILE), providers=["CPUExecutionProvider"])
    head = ort.InferenceSession(str(tmp_path / HEAD_FILE), providers=["CPUExecutionProvider"])
    assert [i.name for i in encoder.get_inputs()] == ["nodes", "pod"] and encoder.get_outputs()[0].name == "h"
    assert [i.name for i in head.get_inputs()] == ["h", "context"] and head.get_outputs()[0].name == "scores"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([ENCODER_FILE, HEAD_FILE, "policy.json", path.name])


def test_export_refuses_parts_that_disagree(tmp_path, monkeypatch):
    import torch as th

    from podgym.agents.commands import export
    from podgym.agents.network import NodeScoringNet

    th.manual_seed(1)
    other = NodeScoringNet(16).eval()
    monkeypatch.setattr(export, "parts_to_onnx", lambda net, real=export.parts_to_onnx: real(other))
    th.manual_seed(0)
    with pytest.raises(KubeObjectError, match="encoder \\+ pooling \\+ head"):
        export.write_policy(NodeScoringNet(16).eval(), tmp_path / "out", typical=typical())
    assert not (tmp_path / "out").exists()


def test_policy_refuses_parts_of_another_export(tmp_path, model_dir):
    mixed = tmp_path / "mixed"
    shutil.copytree(model_dir, mixed)
    tiny_onnx_model(tmp_path / "other", hidden=16, seed=4)
    shutil.copy(tmp_path / "other" / HEAD_FILE, mixed / HEAD_FILE)
    with pytest.raises(KubeObjectError, match="re-export"):
        policy_of(mixed)
    (mixed / HEAD_FILE).unlink()
    with pytest.raises(KubeObjectError, match="not found"):
        policy_of(mixed)
    meta = json.loads((mixed / "policy.json").read_text())
    (mixed / "policy.json").write_text(json.dumps({**meta, "parts": {"encoder": ENCODER_FILE}}))
    with pytest.raises(KubeObjectError, match="must name the encoder and head files"):
        policy_of(mixed)


def test_policy_refuses_an_export_of_older_features(tmp_path, model_dir):
    old = tmp_path / "old"
    shutil.copytree(model_dir, old)
    meta = json.loads((old / "policy.json").read_text())
    meta["features"]["version"] = 3
    meta["features"]["node"] = meta["features"]["node"][:-1]  # version 3 had no node_rank
    (old / "policy.json").write_text(json.dumps(meta))
    with pytest.raises(KubeObjectError, match="exported for feature version 3 \\(21 node, 7 pod features\\)"):
        OnnxPolicy(old / "policy.onnx")


def test_policy_needs_the_typical_pods_of_its_export(tmp_path, model_dir):
    """fgd_score is measured against the typical pods policy.json carries: without them, or with a malformed one, the
    policy is refused with the file and the field; they reach the encoder the policy scores with."""
    policy = OnnxPolicy(model_dir / "policy.onnx")
    cluster = random_cluster(np.random.default_rng(0), 8)
    assert policy.encoder(cluster).typical.to_json() == TYPICAL_JSON
    for name, change, message in (
        ("none", lambda m: m.pop("typical_pods"), "policy.json has no `typical_pods`"),
        ("bad", lambda m: m["typical_pods"][1].update(gpus=-1), r"typical_pods\[1\]\.gpus: expected an integer >= 0"),
    ):
        copy = tmp_path / name
        shutil.copytree(model_dir, copy)
        meta = json.loads((copy / "policy.json").read_text())
        change(meta)
        (copy / "policy.json").write_text(json.dumps(meta))
        with pytest.raises(KubeObjectError, match=message) as exc:
            OnnxPolicy(copy / "policy.onnx")
        assert str(copy / "policy.json") in str(exc.value)
    (tmp_path / "alone").mkdir()
    shutil.copy(model_dir / "policy.onnx", tmp_path / "alone")
    with pytest.raises(KubeObjectError, match=r"policy\.json not found next to the model"):
        OnnxPolicy(tmp_path / "alone" / "policy.onnx")


def test_in_a_simulation_the_policy_can_measure_fgd_score_against_the_simulated_workload(model_dir):
    """evaluate.py's ONNX policy (workload_typical) reads fgd_score against the simulated workload's typical pods,
    as FGD and the training env do; the extender's keeps policy.json's, in a simulation too."""
    from pathlib import Path

    from podgym.envs.fragmentation import typical_pods
    from podgym.envs.simulator import SimulationOptions, Simulator
    from podgym.envs.workload.openb import read_openb_cluster, read_openb_pods

    sample = Path(__file__).resolve().parents[1] / "data" / "openb"
    cluster = read_openb_cluster(sample / "nodes.csv")
    pods = read_openb_pods(sample / "pods_multigpu.csv", times=False)
    sim = Simulator(cluster, pods, SimulationOptions(departures=False, retry_unschedulable=False), seed=1)
    own = typical_pods(sim.workload)
    assert own.to_json() != TYPICAL_JSON  # the premise: the two sets differ
    in_sim = OnnxPolicy(model_dir / "policy.onnx", workload_typical=True)
    in_sim.reset(sim)
    assert in_sim.encoder(sim.cluster).typical.to_json() == own.to_json()
    exported = policy_of(model_dir)
    exported.reset(sim)
    assert exported.encoder(sim.cluster).typical.to_json() == TYPICAL_JSON
    cache_view = type("View", (), {"cluster": sim.cluster, "workload": sim.workload})()  # no node ranks
    in_sim.reset(cache_view)
    assert in_sim.encoder(sim.cluster).typical.to_json() == TYPICAL_JSON
    given = OnnxPolicy(
        model_dir / "policy.onnx",
        workload_typical=True,
        typical=typical_pods(read_openb_pods(sample / "pods.csv", times=False)),
    )
    assert given.typical.to_json() not in (own.to_json(), TYPICAL_JSON)
    for view in (sim, cache_view):  # the typical pods given replace policy.json's and the workload's everywhere
        given.reset(view)
        assert given.encoder(sim.cluster).typical.to_json() == given.typical.to_json()
