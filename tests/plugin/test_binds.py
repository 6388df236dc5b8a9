"""After binds and releases the extender serves what a fresh start on the same state serves.

A bind (a pod's watch event) updates the cache's ClusterState in place, and the ONNX policy re-encodes only
the nodes it changed (``OnnxPolicy._refresh``). Checked here: the node features it keeps equal a full
re-encode bit for bit, its embeddings, pooled sums and maxima equal a fresh build's bit for bit (after
binds, releases, node failures and additions), and, through the HTTP API with
a bind per request (as ``benchmarks/extender.py --bind-every 1``), the served scores equal those of a fresh
cache and scorer built from the same nodes and pods.
"""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from podgym.plugin.cache import ClusterCache
from podgym.plugin.extender import ScorerHost, create_app
from podgym.policies import make_policy
from podgym.policies.onnx import BLOCK, OnnxPolicy, _column_max
from tests.kube.builders import node
from tests.plugin import tiny_onnx_model
from tests.plugin.test_scorer import Churn, candidates, make_node, make_pod, random_cluster, request


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return tiny_onnx_model(tmp_path_factory.mktemp("model"), hidden=16, seed=5)


def cached(policy: OnnxPolicy, cluster, req, nodes):
    """The pod's cached embeddings, current (scored twice: the second time from them)."""
    for _ in range(2):
        policy.score(cluster, req, nodes)
    key = policy.encoder(cluster).pod(req).tobytes()
    return policy._embeddings[key]


@pytest.mark.parametrize("seed", range(4))
def test_incremental_encoding_equals_a_full_one(model_path, seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(30, 150))
    cluster = random_cluster(rng, n, identical=seed % 2 == 1)
    policy = OnnxPolicy(model_path)
    churn = Churn(cluster, rng)
    shapes = [int(s) for s in rng.choice(6, size=3, replace=False)]
    for step in range(80):  # binds, releases and node failures between the pods' requests
        policy.score(cluster, request(cluster, shapes[step % 3]), candidates(rng, n, max(1, n // 5)))
        churn.step()
    nodes = np.arange(0, n, 3)
    for shape in shapes:
        req = request(cluster, shape)
        kept = cached(policy, cluster, req, nodes)
        fresh = cached(OnnxPolicy(model_path), cluster, req, nodes)
        full = policy.encoder(cluster).nodes(req, np.zeros(n, dtype=bool))
        assert kept.features.tobytes() == full.tobytes() == fresh.features.tobytes()
        assert_same_state(kept, fresh)


def assert_same_state(kept, fresh) -> None:
    """Every field of the incremental state equals a fresh build's, bit for bit, and the maxima are φ0's."""
    np.testing.assert_array_equal(kept.valid, fresh.valid)
    assert kept.count == fresh.count
    # onnxruntime encodes a row alike in any batch
    for name in ("h1", "delta", "h0", "padded", "lifted", "blocks", "total", "block_max", "top"):
        a, b = getattr(kept, name), getattr(fresh, name)
        assert a.dtype == b.dtype and a.shape == b.shape, name
        assert a.tobytes() == b.tobytes(), name
    n = len(kept.valid)
    h0 = np.where(kept.valid[:, None], kept.h0, -np.inf).astype(np.float32)
    padded = np.full((len(kept.block_max) * BLOCK, h0.shape[1]), -np.inf, dtype=np.float32)
    padded[:n] = h0
    assert kept.block_max.tobytes() == padded.reshape(-1, BLOCK, h0.shape[1]).max(axis=1).tobytes()
    assert kept.top.tobytes() == (h0.max(axis=0) if n else padded.max(axis=0)).tobytes()


@pytest.mark.parametrize("notes", [True, False])
@pytest.mark.parametrize("seed", range(3))
def test_incremental_state_after_binds_unbinds_and_node_updates(model_path, seed, notes):
    # Through the cache: binds and deletions (in place), node failures (in place), nodes added (a rebuild);
    # after each step the kept state equals a fresh policy's on the same cluster, and the scores of every pod
    # equal the fresh policy's bit for bit. With `notes` the cache tells the policy which node each bind and
    # release changed (as in the extender); the failures it is not told about.
    rng = np.random.default_rng(100 + seed)
    nodes = [make_node(f"n{j:03d}", int(rng.choice([2, 8, 32])), int(rng.choice([0, 1, 4]))) for j in range(150)]
    cache = ClusterCache()
    cache.set_state(nodes, [])
    policy = OnnxPolicy(model_path)
    if notes:
        ScorerHost(policy, cache)
    bound: list[dict] = []
    for step in range(40):
        for _ in range(int(rng.integers(1, 4))):
            if bound and rng.random() < 0.4:
                cache.apply_event({"type": "DELETED", "object": bound.pop(int(rng.integers(0, len(bound))))})
            else:
                obj = make_pod(f"b{step}-{len(bound)}", int(rng.choice([0, 1, 5])))
                obj["spec"]["nodeName"] = nodes[int(rng.integers(0, len(nodes)))]["metadata"]["name"]
                bound.append({**obj, "kind": "Pod"})
                cache.apply_event({"type": "ADDED", "object": bound[-1]})
        cluster = cache.cluster()
        if step % 7 == 3:  # a node fails (its pods gone first) and another comes back
            j = int(rng.integers(0, cluster.num_nodes))
            if not cluster.pod_count[j]:
                cluster.set_alive(j, False)
            dead = np.flatnonzero(~cluster.alive)
            if len(dead) > 1:
                cluster.set_alive(int(dead[0]), True)
        if step == 25:  # a node added: a new ClusterState, so new embeddings
            extra = make_node("extra", 16)
            nodes.append(extra)
            cache.apply_event({"type": "ADDED", "object": {**extra, "kind": "Node"}})
            cluster = cache.cluster()
        window = (step * 37 + np.arange(40)) % cluster.num_nodes
        for shape in (0, 1):
            req = request(cluster, shape)
            kept = cached(policy, cluster, req, window)
            fresh_policy = OnnxPolicy(model_path)
            fresh = cached(fresh_policy, cluster, req, window)
            assert_same_state(kept, fresh)
            assert policy.score(cluster, req, window).tobytes() == fresh_policy.score(cluster, req, window).tobytes()


def test_noted_changes_are_taken_when_they_account_for_every_change(model_path):
    cluster = random_cluster(np.random.default_rng(3), 40)
    policy = OnnxPolicy(model_path)
    req, nodes = request(cluster, 0), np.arange(10)
    policy.score(cluster, req, nodes)
    changes = policy._changes

    def changed_by(*steps) -> list[int]:
        tick = changes.tick
        for step in steps:
            step()
        changes.update()
        return changes.since(tick).tolist()

    pods = [request(cluster, 0, f"x{k}") for k in range(4)]
    # Told about each bind: taken as they are (a wrong note is believed, so no scan ran).
    assert changed_by(lambda: cluster.bind(3, pods[0]), lambda: policy.nodes_changed(cluster, 3)) == [3]
    assert changed_by(lambda: cluster.bind(5, pods[1]), lambda: policy.nodes_changed(cluster, 7)) == [7]
    # Not told, or told about some changes only: the diff finds them all.
    assert changed_by(lambda: cluster.bind(9, pods[2])) == [5, 9]
    steps = (lambda: cluster.unbind(3, pods[0], ()), lambda: policy.nodes_changed(cluster, 3))
    assert changed_by(*steps, lambda: cluster.set_alive(20, False)) == [3, 20]
    # Notes about another cluster are ignored.
    policy.nodes_changed(random_cluster(np.random.default_rng(4), 40), 1)
    assert changed_by(lambda: cluster.bind(11, pods[3])) == [11]


NODES = [
    node(f"n{j:02d}", allocatable={"cpu": str([2, 4, 8][j % 3]), "memory": f"{[4, 8, 16][j % 3]}Gi", "pods": "12"})
    for j in range(36)
]
NAMES = [n["metadata"]["name"] for n in NODES]


def running(name: str, shape: int, node_name: str) -> dict:
    pod = make_pod(name, shape)
    pod["spec"]["nodeName"] = node_name
    pod["status"] = {"phase": "Running"}
    return {**pod, "kind": "Pod"}


def app_of(policy: str, model_path, pods: list[dict]) -> TestClient:
    cache = ClusterCache()
    cache.set_state(NODES, pods)
    scorer = OnnxPolicy(model_path) if policy == "onnx" else make_policy(policy)
    return TestClient(create_app(scorer, cache, cache_api=True))


def prioritize(client: TestClient, pod: dict, names: list[str]) -> list[int]:
    resp = client.post("/prioritize", json={"Pod": pod, "Nodes": None, "NodeNames": names})
    assert resp.status_code == 200, resp.text
    hosts = resp.json()
    assert [h["Host"] for h in hosts] == names
    return [h["Score"] for h in hosts]


@pytest.mark.parametrize("policy", ["onnx", "kube-default"])
def test_served_scores_after_binds_equal_a_fresh_cache(model_path, policy):
    rng = np.random.default_rng(11)
    bound = [running(f"run-{k}", k % 2, NAMES[(7 * k) % len(NAMES)]) for k in range(20)]
    client = app_of(policy, model_path, bound)
    for k in range(60):
        pod = make_pod(f"pending-{k}", k % 3)
        start = int(rng.integers(0, len(NAMES)))
        names = [NAMES[(start + j) % len(NAMES)] for j in range(12)]
        scores = prioritize(client, pod, names)
        # Bind it where it scored highest and release the oldest bound pod, as watch events (one request).
        events = [{"type": "ADDED", "object": running(f"bound-{k}", k % 3, names[int(np.argmax(scores))])}]
        bound.append(events[0]["object"])
        if len(bound) > 25:
            events.append({"type": "DELETED", "object": bound.pop(0)})
        assert client.post("/cache/events", json={"events": events}).status_code == 200
        if k % 6 == 5:  # what the extender serves now = what a fresh start on these nodes and pods serves
            fresh = app_of(policy, model_path, bound)
            for shape in range(3):
                probe = make_pod(f"probe-{k}-{shape}", shape)
                want = prioritize(fresh, probe, NAMES)
                want_again = prioritize(fresh, probe, NAMES)  # the second time from its cached embeddings
                assert prioritize(client, probe, NAMES) == want == want_again


def test_a_noted_bind_undone_without_a_note_is_seen(model_path):
    # A bind the cache notes, then the same pod released straight on the ClusterState (no note): the node is
    # back as it was before the bind, which the policy must still re-encode (its embedding is of the bound node).
    nodes = [make_node(f"n{j}", 8) for j in range(40)]
    cache = ClusterCache()
    cache.set_state(nodes, [])
    policy = OnnxPolicy(model_path)
    ScorerHost(policy, cache)
    window = np.arange(5, 25)
    cluster = cache.cluster()
    probe = request(cluster, 0)
    cached(policy, cluster, probe, window)
    obj = {**make_pod("bound", 1), "kind": "Pod"}
    obj["spec"]["nodeName"] = "n7"
    cache.apply_event({"type": "ADDED", "object": obj})
    cached(policy, cluster, probe, window)  # re-encoded from the note
    cluster.unbind(7, cache.pod_request(obj), ())
    kept = cached(policy, cluster, probe, window)
    assert_same_state(kept, cached(OnnxPolicy(model_path), cluster, probe, window))


@pytest.mark.parametrize("rows", [1, 2, 3, 7, 16, 500, 503])
def test_column_max_equals_numpys(rows):
    a = np.random.default_rng(rows).standard_normal((rows, 5)).astype(np.float32)
    a[rows // 2, 1] = -np.inf
    assert _column_max(a).tobytes() == a.max(axis=0).tobytes()
