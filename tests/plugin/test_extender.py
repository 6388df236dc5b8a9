"""The extender's wire format, Filter semantics, errors, metrics and cache (list and watch, by hand or faked)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from argparse import Namespace
from pathlib import Path

import httpx
import numpy as np
import pytest
from kubernetes.client import ApiException

import podgym.envs.kube as kube
from podgym.envs.kube.framework import UNSCHEDULABLE_AND_UNRESOLVABLE
from podgym.plugin.cache import NODES, PODS, ClusterCache, GoneError
from podgym.plugin.extender import UNKNOWN_NODE, create_app, extender_scores
from podgym.plugin.serve import build_cache, load_scorer
from podgym.policies import make_policy
from tests.kube.builders import node, on_node, pod
from tests.plugin import serve, typical

REPO = Path(__file__).resolve().parents[2]
FILTER_KEYS = {"Nodes", "NodeNames", "FailedNodes", "FailedAndUnresolvableNodes", "Error"}

# ---- a small cluster: resources, pod limits, taints, a cordon, labels ----------------------------------
NODES_ = [
    node("n-a", allocatable={"cpu": "4", "memory": "8Gi", "pods": "110"}, labels={"zone": "a", "disk": "ssd"}),
    node(
        "n-b",
        allocatable={"cpu": "2", "memory": "4Gi", "pods": "110"},
        labels={"zone": "b"},
        taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}],
    ),
    node("n-c", allocatable={"cpu": "8", "memory": "16Gi", "pods": "110"}, labels={"zone": "a"}, unschedulable=True),
    node(
        "n-d",
        allocatable={"cpu": "1", "memory": "2Gi", "pods": "2"},
        labels={"zone": "b"},
        taints=[{"key": "soft", "value": "x", "effect": "PreferNoSchedule"}],
    ),
]
BOUND = [
    on_node(pod("run-1", containers=[{"cpu": "3", "memory": "1Gi"}]), "n-a"),
    on_node(pod("run-2", containers=[{"cpu": "500m"}]), "n-d"),
    on_node(pod("run-3", containers=[{"cpu": "100m"}]), "n-d"),
]
NAMES = [n["metadata"]["name"] for n in NODES_]
PENDING = {
    "big": pod("big", containers=[{"cpu": "3", "memory": "1Gi"}]),
    "small": pod("small", containers=[{"cpu": "100m", "memory": "128Mi"}]),
    "huge-memory": pod("huge-memory", containers=[{"memory": "100Gi"}]),
    "selector": pod("selector", containers=[{"cpu": "100m"}], node_selector={"disk": "ssd"}),
    "tolerant": pod(
        "tolerant",
        containers=[{"cpu": "100m"}],
        tolerations=[
            {"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"},
            {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
        ],
    ),
    "pinned": pod(
        "pinned",
        containers=[{"cpu": "100m"}],
        affinity={
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n-b"]}]}
                    ]
                }
            }
        },
    ),
    "zone-b": pod(
        "zone-b",
        containers=[{"cpu": "100m"}],
        affinity={
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]}]
                }
            }
        },
    ),
    "init-heavy": pod("init-heavy", containers=[{"cpu": "100m"}], init_containers=[{"cpu": "1500m"}]),
}


def small_cache() -> ClusterCache:
    cache = ClusterCache()
    cache.set_state(NODES_, BOUND)
    return cache


@pytest.fixture(scope="module")
def server():
    """A best-fit extender over the small cluster (with the cache API), live on a free port."""
    app = create_app(make_policy("best-fit"), small_cache(), cache_api=True)
    with serve(app) as url, httpx.Client(base_url=url) as client:
        yield client, app


def post(client: httpx.Client, path: str, payload) -> httpx.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.post(path, content=body, headers={"Content-Type": "application/json"})


def args(p, names=None, nodes=None) -> dict:
    """ExtenderArgs as kube-scheduler sends them (the field it does not use is null)."""
    return {"Pod": p, "Nodes": None if nodes is None else {"metadata": {}, "items": nodes}, "NodeNames": names}


# ---- wire format -------------------------------------------------------------------------------------------
def test_filter_and_prioritize_wire_format(server):
    client, _ = server
    r = post(client, "/filter", args(PENDING["small"], NAMES))
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    result = r.json()
    assert set(result) == FILTER_KEYS
    assert result["Nodes"] is None and result["Error"] == ""
    assert result["NodeNames"] == ["n-a"]  # n-b tainted, n-c cordoned, n-d full (2 pods of 2)
    r = post(client, "/prioritize", args(PENDING["small"], ["n-a", "n-b", "n-d"]))
    assert r.status_code == 200
    entries = r.json()
    assert [set(e) for e in entries] == [{"Host", "Score"}] * 3
    assert [e["Host"] for e in entries] == ["n-a", "n-b", "n-d"]  # the caller's order
    assert all(isinstance(e["Score"], int) and 0 <= e["Score"] <= 10 for e in entries)
    assert max(e["Score"] for e in entries) == 10
    assert r.headers["server-timing"].startswith("app;dur=")
    # the raw body spells the keys exactly (no whitespace games either)
    assert r.content.startswith(b'[{"Host":"n-a","Score":')


def test_url_prefix(server):
    client, _ = server
    for prefix in ("/scheduler", "/a/b"):
        assert post(client, f"{prefix}/filter", args(PENDING["small"], NAMES)).json()["NodeNames"] == ["n-a"]
        assert len(post(client, f"{prefix}/prioritize", args(PENDING["small"], NAMES)).json()) == 4


@pytest.mark.parametrize("name", sorted(PENDING))
def test_filter_reasons_match_kube_filter_status(server, name):
    client, _ = server
    p = PENDING[name]
    expected = kube.filter_status(p, NODES_, BOUND)
    for by_names in (True, False):
        payload = args(p, NAMES) if by_names else args(p, nodes=NODES_)
        result = post(client, "/filter", payload).json()
        assert set(result) == FILTER_KEYS and result["Error"] == ""
        passing = [n for n in NAMES if expected[n] is None]
        if by_names:
            assert result["NodeNames"] == passing and result["Nodes"] is None
        else:
            assert result["NodeNames"] is None
            assert [n["metadata"]["name"] for n in result["Nodes"]["items"]] == passing
            assert result["Nodes"]["items"] == [n for n in NODES_ if expected[n["metadata"]["name"]] is None]
        unresolvable = {n: s.message for n, s in expected.items() if s and s.code == UNSCHEDULABLE_AND_UNRESOLVABLE}
        failed = {n: s.message for n, s in expected.items() if s and s.code != UNSCHEDULABLE_AND_UNRESOLVABLE}
        assert result["FailedAndUnresolvableNodes"] == unresolvable
        assert result["FailedNodes"] == failed


def test_filter_reasons_are_the_upstream_messages(server):
    client, _ = server
    result = post(client, "/filter", args(PENDING["big"], NAMES)).json()
    assert result["NodeNames"] == []
    assert result["FailedNodes"] == {"n-a": "Insufficient cpu"}
    assert result["FailedAndUnresolvableNodes"] == {
        "n-b": "node(s) had untolerated taint(s)",
        "n-c": "node(s) were unschedulable",
        "n-d": "Too many pods, Insufficient cpu",
    }


def test_unknown_nodes(server):
    client, _ = server
    result = post(client, "/filter", args(PENDING["small"], ["n-a", "n-zzz"])).json()
    assert result["NodeNames"] == ["n-a"] and result["FailedNodes"] == {"n-zzz": UNKNOWN_NODE}
    entries = post(client, "/prioritize", args(PENDING["small"], ["n-zzz", "n-a"])).json()
    assert entries == [{"Host": "n-zzz", "Score": 0}, {"Host": "n-a", "Score": 10}]


def test_nodes_mode_with_nodes_the_cache_does_not_hold(server):
    """nodeCacheCapable: false with other nodes: judged as sent, with the cache's pods on those of them it knows."""
    client, _ = server
    relabelled = json.loads(json.dumps(NODES_[0]))
    relabelled["metadata"]["labels"]["disk"] = "hdd"
    new = node("n-new", allocatable={"cpu": "16", "memory": "2Gi", "pods": "10"}, labels={"disk": "ssd"})
    sent = [relabelled, new]
    for p in (PENDING["selector"], PENDING["big"], PENDING["small"]):
        expected = kube.filter_status(p, sent, BOUND)
        result = post(client, "/filter", args(p, nodes=sent)).json()
        assert [n["metadata"]["name"] for n in result["Nodes"]["items"]] == [n for n, s in expected.items() if not s]
        assert {**result["FailedNodes"], **result["FailedAndUnresolvableNodes"]} == {
            n: s.message for n, s in expected.items() if s
        }
    entries = post(client, "/prioritize", args(PENDING["small"], nodes=sent)).json()
    assert [e["Host"] for e in entries] == ["n-a", "n-new"]
    # best-fit prefers the node with less cpu left: n-a has 1 cpu free (run-1 holds 3), n-new 16
    assert entries[0]["Score"] == 10 and entries[1]["Score"] < 10


def test_both_modes_give_the_same_scores(server):
    client, _ = server
    by_names = post(client, "/prioritize", args(PENDING["small"], NAMES)).json()
    by_nodes = post(client, "/prioritize", args(PENDING["small"], nodes=NODES_)).json()
    assert by_names == by_nodes


# ---- errors ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("verb", ["filter", "prioritize"])
@pytest.mark.parametrize(
    "body, message",
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "expected ExtenderArgs"),
        (json.dumps({"NodeNames": ["n-a"]}).encode(), "Pod is missing"),
        (json.dumps({"Pod": {"metadata": {"name": "p"}}, "NodeNames": ["n-a"]}).encode(), "spec"),
        (json.dumps({"Pod": PENDING["small"]}).encode(), "neither NodeNames"),
        (json.dumps({"Pod": PENDING["small"], "NodeNames": "n-a"}).encode(), "NodeNames must be a list"),
        (json.dumps({"Pod": PENDING["small"], "Nodes": {"items": [{"metadata": {"name": "x"}}]}}).encode(), "Node"),
    ],
)
def test_malformed_requests_get_400(server, verb, body, message):
    client, _ = server
    r = post(client, f"/{verb}", body)
    assert r.status_code == 400
    assert message in r.json()["Error"]


class Broken:
    name = "broken"

    def num_to_find(self, n):
        return n

    def score(self, cluster, pod, nodes):
        raise RuntimeError("the scorer broke")


def test_internal_error_gives_neutral_scores(caplog):
    app = create_app(Broken(), small_cache())
    with serve(app) as url, httpx.Client(base_url=url) as client, caplog.at_level(logging.ERROR):
        r = post(client, "/prioritize", args(PENDING["small"], NAMES))
        metrics = client.get("/metrics").text
    assert r.status_code == 200
    assert r.json() == [{"Host": n, "Score": 0} for n in NAMES]
    assert "the scorer broke" in caplog.text and "neutral scores" in caplog.text
    assert 'podgym_extender_errors_total{verb="prioritize"} 1' in metrics


def test_lowercase_keys_are_accepted_as_go_does(server):
    client, _ = server
    r = post(client, "/filter", {"pod": PENDING["small"], "nodenames": NAMES})
    assert r.json()["NodeNames"] == ["n-a"]


# ---- health and metrics ---------------------------------------------------------------------------------
def test_metrics_after_requests():
    app = create_app(make_policy("best-fit"), small_cache())
    with serve(app) as url, httpx.Client(base_url=url) as client:
        for _ in range(3):
            post(client, "/prioritize", args(PENDING["small"], NAMES))
        post(client, "/filter", args(PENDING["small"], NAMES))
        post(client, "/filter", b"nope")
        r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    for line in (
        "# TYPE podgym_extender_requests_total counter",
        'podgym_extender_requests_total{verb="prioritize"} 3',
        'podgym_extender_requests_total{verb="filter"} 2',
        'podgym_extender_errors_total{verb="prioritize"} 0',
        'podgym_extender_errors_total{verb="filter"} 1',
        "# TYPE podgym_extender_request_duration_seconds histogram",
        'podgym_extender_request_duration_seconds_bucket{verb="prioritize",le="+Inf"} 3',
        'podgym_extender_request_duration_seconds_count{verb="prioritize"} 3',
        'podgym_extender_request_duration_seconds_count{verb="filter"} 2',
        "podgym_extender_cache_nodes 4",
        "podgym_extender_cache_pods 3",
        "podgym_extender_cache_synced 1",
    ):
        assert line in text.splitlines(), line
    buckets = [
        int(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith('podgym_extender_request_duration_seconds_bucket{verb="prioritize"')
    ]
    assert buckets == sorted(buckets) and buckets[-1] == 3  # cumulative
    total = 'podgym_extender_request_duration_seconds_sum{verb="prioritize"} '
    assert float(next(ln for ln in text.splitlines() if ln.startswith(total)).removeprefix(total)) > 0


def test_healthz(server):
    client, _ = server
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "scorer": "best-fit", "nodes": 4, "pods": 3, "pending": 0, "synced": True}


def test_healthz_is_503_until_the_watch_has_listed():
    release, done = threading.Event(), threading.Event()

    class Slow:
        def list(self, kind):
            release.wait(10)
            return [], "1"

        def watch(self, kind, rv):
            done.wait(10)
            return iter(())

    cache = ClusterCache()
    cache.start_watch(Slow())
    try:
        app = create_app(make_policy("best-fit"), cache)
        with serve(app) as url, httpx.Client(base_url=url) as client:
            assert client.get("/healthz").status_code == 503
            release.set()
            deadline = time.monotonic() + 5
            while not cache.synced and time.monotonic() < deadline:
                time.sleep(0.01)
            assert client.get("/healthz").status_code == 200
    finally:
        release.set()
        done.set()
        cache.stop_watch()


# ---- the cache API --------------------------------------------------------------------------------------
def test_cache_api_feeds_the_cache():
    app = create_app(make_policy("best-fit"), ClusterCache(), cache_api=True)
    with serve(app) as url, httpx.Client(base_url=url) as client:
        assert post(client, "/cache/state", {"nodes": NODES_, "pods": BOUND}).status_code == 200
        assert post(client, "/filter", args(PENDING["small"], NAMES)).json()["NodeNames"] == ["n-a"]
        events = [{"type": "DELETED", "object": BOUND[2]}]
        assert post(client, "/scheduler/cache/events", {"events": events}).status_code == 200
        assert post(client, "/filter", args(PENDING["small"], NAMES)).json()["NodeNames"] == ["n-a", "n-d"]
        job = {"type": "ADDED", "object": {"kind": "Job"}}
        assert post(client, "/cache/events", {"events": [job]}).status_code == 400
    without = create_app(make_policy("best-fit"), ClusterCache())
    with serve(without) as url, httpx.Client(base_url=url) as client:
        assert post(client, "/cache/state", {"nodes": NODES_}).status_code in (404, 405)


# ---- the score mapping -----------------------------------------------------------------------------------
def test_extender_scores_keep_the_argmax_set():
    rng = np.random.default_rng(0)
    for _ in range(200):
        s = rng.normal(size=rng.integers(1, 40)).round(rng.integers(0, 3))
        out = extender_scores(s)
        assert out.dtype == np.int64 and out.min() >= 0 and out.max() == 10
        np.testing.assert_array_equal(out == 10, s == s.max())
        assert (np.diff(out[np.argsort(s, kind="stable")]) >= 0).all()  # monotone
    np.testing.assert_array_equal(extender_scores([1.0, 2.0, 3.0]), [0, 5, 10])
    np.testing.assert_array_equal(extender_scores([5, 5, 5]), [10, 10, 10])
    np.testing.assert_array_equal(extender_scores([0.0, 0.9999999, 1.0]), [0, 9, 10])  # no new tie at the top
    np.testing.assert_array_equal(extender_scores([np.nan, -np.inf, 1.0, 2.0]), [0, 0, 0, 10])
    np.testing.assert_array_equal(extender_scores([np.inf, 1.0, 2.0]), [10, 0, 9])
    assert len(extender_scores([])) == 0
    np.testing.assert_array_equal(extender_scores([1.0, 2.0, 3.0], max_score=100), [0, 50, 100])


# ---- the cache by hand -----------------------------------------------------------------------------------
def requested_cpu(cache: ClusterCache) -> dict[str, int]:
    c = cache.cluster()
    return dict(zip(c.node_names, c.requested_t[c.column["cpu"]].tolist()))


def test_cache_pod_events_bind_and_unbind_incrementally():
    cache = small_cache()
    assert requested_cpu(cache) == {"n-a": 3000, "n-b": 0, "n-c": 0, "n-d": 600}
    rebuilds = cache.rebuilds
    pending = pod("new", containers=[{"cpu": "250m"}])
    cache.apply_pod_event("ADDED", pending)
    assert cache.num_pending == 1 and requested_cpu(cache)["n-b"] == 0
    cache.apply_pod_event("MODIFIED", on_node(pending, "n-b"))
    assert cache.num_pending == 0 and requested_cpu(cache)["n-b"] == 250
    status_only = on_node(pending, "n-b")
    status_only["status"] = {"phase": "Running", "podIP": "10.0.0.7"}
    cache.apply_pod_event("MODIFIED", status_only)
    assert requested_cpu(cache)["n-b"] == 250
    done = {**status_only, "status": {"phase": "Succeeded"}}
    cache.apply_pod_event("MODIFIED", done)  # terminal: released
    assert requested_cpu(cache)["n-b"] == 0 and cache.num_pods == 3
    cache.apply_pod_event("DELETED", BOUND[0])
    assert requested_cpu(cache)["n-a"] == 0
    assert cache.rebuilds == rebuilds  # all of it in place


def test_cache_node_events():
    cache = small_cache()
    rebuilds = cache.rebuilds
    heartbeat = json.loads(json.dumps(NODES_[0]))
    heartbeat["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    cache.apply_node_event("MODIFIED", heartbeat)
    cordoned = json.loads(json.dumps(NODES_[0]))
    cordoned["spec"]["unschedulable"] = True
    cache.apply_node_event("MODIFIED", cordoned)
    assert cache.cluster().unschedulable.tolist() == [True, False, True, False]
    assert cache.rebuilds == rebuilds  # a heartbeat and a cordon need no rebuild
    relabelled = json.loads(json.dumps(NODES_[1]))
    relabelled["metadata"]["labels"]["zone"] = "c"
    cache.apply_node_event("MODIFIED", relabelled)
    orphan = on_node(pod("early", containers=[{"cpu": "1"}]), "n-e")  # its node is not known yet
    cache.apply_pod_event("ADDED", orphan)
    cache.apply_node_event("ADDED", node("n-e", allocatable={"cpu": "2", "memory": "1Gi", "pods": "5"}))
    cache.apply_node_event("DELETED", NODES_[2])
    c = cache.cluster()
    assert c.node_names == ["n-a", "n-b", "n-d", "n-e"]
    assert c.labels.equals("zone", ["c"]).tolist() == [False, True, False, False]
    assert requested_cpu(cache) == {"n-a": 3000, "n-b": 0, "n-d": 600, "n-e": 1000}
    assert cache.rebuilds == rebuilds + 1  # the three changes, one rebuild


def test_cache_adds_a_column_for_a_resource_no_node_offers():
    cache = small_cache()
    p = pod("fpga", containers=[{"cpu": "100m", "example.com/fpga": "1"}])
    result = kube.filter_status(p, NODES_, BOUND)
    assert {s.message for s in result.values()} >= {"Insufficient example.com/fpga"}
    request = cache.pod_request(p)
    assert "example.com/fpga" in cache.cluster().column
    assert request.requests[cache.cluster().column["example.com/fpga"]] == 1
    assert requested_cpu(cache) == {"n-a": 3000, "n-b": 0, "n-c": 0, "n-d": 600}  # rebuilt with the pods


# ---- list and watch ------------------------------------------------------------------------------------
class FakeSource:
    """Scripted lists and watch streams; when the script is over, the next watch stops the loop."""

    def __init__(self, lists, watches, stop: threading.Event):
        self.lists = list(lists)
        self.watches = list(watches)
        self.stop = stop
        self.calls: list[tuple] = []

    def list(self, kind):
        self.calls.append(("list", kind))
        return self.lists.pop(0)

    def watch(self, kind, rv):
        self.calls.append(("watch", kind, rv))
        if not self.watches:
            self.stop.set()
            return
        for event in self.watches.pop(0):
            if isinstance(event, Exception):
                raise event
            yield event


def rv(obj, version):
    out = json.loads(json.dumps(obj))
    out["metadata"]["resourceVersion"] = version
    return out


def test_watch_pods_with_relist_on_410():
    cache = ClusterCache()
    cache.set_nodes(NODES_[:2])
    a = on_node(pod("a", containers=[{"cpu": "1"}]), "n-a")
    b = pod("b", containers=[{"cpu": "200m"}])
    c = on_node(pod("c", containers=[{"cpu": "300m"}]), "n-b")
    d = on_node(pod("d", containers=[{"cpu": "400m"}]), "n-b")
    stop = threading.Event()
    source = FakeSource(
        lists=[([a, b], "10"), ([on_node(b, "n-a"), c, d], "20"), ([on_node(b, "n-a"), c, d], "30")],
        watches=[
            [
                {"type": "ADDED", "object": rv(c, "11")},
                {"type": "MODIFIED", "object": rv(on_node(b, "n-a"), "12")},
                {"type": "DELETED", "object": rv(a, "13")},
                {"type": "BOOKMARK", "object": {"kind": "Pod", "metadata": {"resourceVersion": "14"}}},
                {"type": "ERROR", "object": {"kind": "Status", "code": 410, "message": "too old resource version"}},
            ],
            [{"type": "MODIFIED", "object": rv({**c, "status": {"phase": "Running"}}, "21")}, ApiException(status=410)],
        ],
        stop=stop,
    )
    states = []
    original = cache.replace

    def replace(kind, items):
        original(kind, items)
        states.append(requested_cpu(cache))

    cache.replace = replace
    cache.watch_loop(source, PODS, stop)
    assert source.calls == [
        ("list", PODS),
        ("watch", PODS, "10"),
        ("list", PODS),  # ERROR 410: relist
        ("watch", PODS, "20"),
        ("list", PODS),  # ApiException 410: relist
        ("watch", PODS, "30"),
    ]
    assert states[0] == {"n-a": 1000, "n-b": 0}  # a bound, b pending
    assert cache.relists[PODS] == 3 and cache.resource_versions[PODS] == "30"
    assert requested_cpu(cache) == {"n-a": 200, "n-b": 700}
    assert cache.num_pods == 3 and cache.num_pending == 0
    assert cache.node_of("uid-default-a") is None and cache.node_of("uid-default-b") == "n-a"


def test_watch_resumes_from_the_last_resource_version_and_relists_after_errors():
    cache = ClusterCache()
    stop = threading.Event()
    n1, n2 = NODES_[0], NODES_[1]
    source = FakeSource(
        lists=[([n1], "5"), ([n1, n2], "9"), ([n2], "12")],
        watches=[
            [{"type": "ADDED", "object": rv(n2, "6")}],  # the stream ends (its timeout): resume from 6
            [{"type": "DELETED", "object": rv(n2, "7")}, {"type": "MODIFIED", "object": rv(n1, "8")}],
            [GoneError("expired")],  # relist at once
            [RuntimeError("connection reset")],  # any other error: back off, relist
        ],
        stop=stop,
    )
    seen = []
    original = cache.replace
    cache.replace = lambda kind, items: (original(kind, items), seen.append(cache.cluster().node_names))
    cache.watch_loop(source, NODES, stop, backoff=0.0)
    assert source.calls == [
        ("list", NODES),
        ("watch", NODES, "5"),
        ("watch", NODES, "6"),
        ("watch", NODES, "8"),
        ("list", NODES),
        ("watch", NODES, "9"),
        ("list", NODES),
        ("watch", NODES, "12"),
    ]
    assert seen == [["n-a"], ["n-a", "n-b"], ["n-b"]]
    assert cache.relists[NODES] == 3 and cache.cluster().node_names == ["n-b"]


IMAGE_SCRIPT = """
import importlib.abc, json, sys
from argparse import Namespace

# What deploy/Dockerfile does not install: importing any of it fails, as it would in the image.
MISSING = {"torch", "stable_baselines3", "sb3_contrib", "gymnasium", "numba", "matplotlib", "tensorboard", "ray"}


class NotInTheImage(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in MISSING:
            raise ImportError(f"{name} is not installed in the plugin image")


sys.meta_path.insert(0, NotInTheImage())
from fastapi.testclient import TestClient

import podgym.agents.extender_client, podgym.plugin.scheduler
from podgym.plugin.extender import create_app
from podgym.plugin.serve import build_cache, load_scorer

nodes, pods, model, pending = sys.argv[1:5]
cache = build_cache(Namespace(no_watch=True, nodes=nodes, pods=pods))
out = {}
for name, scorer in (("onnx", load_scorer(model=model)), ("fgd", load_scorer(policy="fgd"))):
    client = TestClient(create_app(scorer, cache))
    body = {"Pod": json.loads(pending), "Nodes": None, "NodeNames": ["n-a", "n-b", "n-c"]}
    response = client.post("/prioritize", json=body)
    out[name] = {"status": response.status_code, "scores": response.json()}
out["loaded"] = sorted({m.split(".")[0] for m in sys.modules} & MISSING)
print(json.dumps(out))
"""


def test_the_plugin_serves_without_what_its_image_leaves_out(tmp_path):
    """The extender with an exported ONNX policy and with FGD, in a process where torch, stable-baselines3,
    Gymnasium, numba and the rest of the training stack cannot be imported (deploy/Dockerfile installs none)."""
    from podgym.agents.commands import export
    from podgym.agents.network import NodeScoringNet

    export.write_policy(NodeScoringNet(16).eval(), tmp_path / "model", typical=typical())
    (tmp_path / "nodes.json").write_text(json.dumps({"kind": "List", "items": NODES_}))
    (tmp_path / "pods.json").write_text(json.dumps({"kind": "List", "items": BOUND}))
    argv = [tmp_path / "nodes.json", tmp_path / "pods.json", tmp_path / "model" / "policy.onnx"]
    proc = subprocess.run(
        [sys.executable, "-c", IMAGE_SCRIPT, *map(str, argv), json.dumps(PENDING["small"])],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["loaded"] == []
    for name in ("onnx", "fgd"):
        assert out[name]["status"] == 200, out[name]
        assert sorted(h["Host"] for h in out[name]["scores"]) == ["n-a", "n-b", "n-c"]
        assert all(0 <= h["Score"] <= 10 for h in out[name]["scores"])


# ---- the command line's pieces ---------------------------------------------------------------------------
def test_serve_builds_the_cache_from_files(tmp_path):
    (tmp_path / "nodes.json").write_text(json.dumps({"kind": "List", "items": NODES_}))
    (tmp_path / "pods.json").write_text(json.dumps({"kind": "List", "items": [*BOUND, PENDING["small"]]}))
    cache = build_cache(Namespace(no_watch=True, nodes=str(tmp_path / "nodes.json"), pods=str(tmp_path / "pods.json")))
    assert cache.num_nodes == 4 and cache.num_pods == 4 and cache.num_pending == 1 and cache.synced
    assert load_scorer(policy="fgd").name == "fgd"
    assert load_scorer().name.startswith("kube")


def test_serve_help():
    proc = subprocess.run(
        [sys.executable, "-m", "podgym.plugin.serve", "--help"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and "--no-watch" in proc.stdout and "--model" in proc.stdout


# ---- the real kubernetes client against a fake apiserver --------------------------------------------------
def fake_apiserver(log: list[tuple[str, dict]]):
    """/api/v1/nodes and /api/v1/pods: paginated lists, scripted watch streams (newline-delimited JSON events)."""
    import asyncio

    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route

    pa = on_node(pod("p1", containers=[{"cpu": "1"}]), "n-a")
    pb = pod("p2", containers=[{"cpu": "250m"}])
    nodes_lists = [([NODES_[0]], "10"), (NODES_[:3], "20")]
    node_watches = {
        "10": [{"type": "ADDED", "object": rv(NODES_[1], "11")}],
        "11": [{"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired", "message": "old"}}],
    }
    pod_pages = {None: ([pa], "tok"), "tok": ([pb], None)}
    pod_watches = {
        "30": [
            {"type": "MODIFIED", "object": rv(on_node(pb, "n-b"), "31")},
            {"type": "DELETED", "object": rv(pa, "32")},
        ]
    }

    async def handle(request):
        kind = request.path_params["kind"]
        q = dict(request.query_params)
        log.append((kind, q))
        if q.get("watch") == "true":
            script = (node_watches if kind == "nodes" else pod_watches).pop(q.get("resourceVersion"), None)

            async def stream():
                if script is None:
                    await asyncio.sleep(0.05)  # nothing new: the stream ends, the client watches again
                for event in script or []:
                    yield json.dumps(event) + "\n"

            return StreamingResponse(stream(), media_type="application/json")
        if kind == "nodes":
            items, version = nodes_lists.pop(0)
            return JSONResponse({"kind": "NodeList", "metadata": {"resourceVersion": version}, "items": items})
        items, token = pod_pages[q.get("continue")]
        meta = {"resourceVersion": "30", **({"continue": token} if token else {})}
        return JSONResponse({"kind": "PodList", "metadata": meta, "items": items})

    return Starlette(routes=[Route("/api/v1/{kind}", handle)])


def test_kube_source_lists_and_watches_with_the_kubernetes_client():
    from kubernetes import client

    from podgym.plugin.cache import KubeSource

    log: list[tuple[str, dict]] = []
    with serve(fake_apiserver(log)) as url:
        api = client.ApiClient(client.Configuration(host=url))
        cache = ClusterCache()
        cache.start_watch(KubeSource(api, timeout_seconds=5, page_size=1))
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if cache.synced and cache.relists[NODES] == 2 and cache.node_of("uid-default-p2") == "n-b":
                    break
                time.sleep(0.02)
            with cache.lock:
                assert cache.cluster().node_names == ["n-a", "n-b", "n-c"]
                assert requested_cpu(cache) == {"n-a": 0, "n-b": 250, "n-c": 0}
            assert cache.num_pods == 1 and cache.relists == {NODES: 2, PODS: 1}
        finally:
            cache.stop_watch()
    node_watch_rvs = [q["resourceVersion"] for k, q in log if k == "nodes" and q.get("watch") == "true"]
    assert node_watch_rvs[:3] == ["10", "11", "20"]  # resumed from the event's version; relisted after 410
    assert all(q.get("allowWatchBookmarks") == "true" for k, q in log if q.get("watch") == "true")
    pod_lists = [q for k, q in log if k == "pods" and "watch" not in q]
    assert [q.get("continue") for q in pod_lists] == [None, "tok"] and pod_lists[0]["limit"] == "1"
    assert pod_lists[0]["fieldSelector"] == "status.phase!=Succeeded,status.phase!=Failed"


def test_benchmark_prints_one_json_object():
    cmd = [sys.executable, str(REPO / "benchmarks" / "extender.py"), "--nodes", "300", "--candidates", "50"]
    cmd += ["--bound-pods", "300", "--requests", "50", "--no-onnx"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["benchmark"] == "extender" and result["nodes"] == 300 and result["candidates"] == 50
    (heuristic,) = result["results"]
    assert heuristic["scorer"] == "kube-default"
    assert 0 < heuristic["server_p50_ms"] <= heuristic["server_p99_ms"]
    assert heuristic["requests_per_s"] > 0
    assert abs(heuristic["throughput_to_target"] - heuristic["requests_per_s"] / 810) < 0.01


@pytest.mark.parametrize("module", ["podgym.plugin.serve", "podgym.plugin.extender"])
def test_entry_points_print_their_help(module):
    """One server entry point: both module names print the same usage, never a silent exit."""
    out = subprocess.run(
        [sys.executable, "-m", module, "--help"], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert out.startswith("usage: python -m podgym.plugin.serve") and "--no-watch" in out and "--model" in out


def test_console_script_names_the_entry_point():
    import tomllib

    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["podgym-serve"] == "podgym.plugin.serve:main"


def test_score_mappings_on_close_raw_scores():
    """kube-default's totals 481, 493, 492 of 700: linear keeps them close, minmax stretches them to 0..10."""
    raw = [481, 493, 492]
    assert extender_scores(raw, mapping="linear", score_range=(0, 700)).tolist() == [6, 7, 7]
    assert extender_scores(raw, mapping="minmax").tolist() == [0, 10, 9]
    assert extender_scores(raw, mapping="rank").tolist() == [8, 10, 9]
    assert extender_scores(raw, mapping="auto").tolist() == [0, 10, 9]  # no range: minmax
    assert extender_scores(raw, mapping="auto", score_range=(0, 700)).tolist() == [6, 7, 7]
    assert extender_scores([0, 700, 350, -5, 900], mapping="linear", score_range=(0, 700)).tolist() == [0, 10, 5, 0, 10]
    with pytest.raises(ValueError, match="needs a score range"):
        extender_scores(raw, mapping="linear")


def test_the_extenders_weight_means_a_plugins_weight():
    """With kube-default behind the extender (auto: linear on 0..100 x sum of weights), a node's extender score
    is its kube-scheduler total scaled to 0..10: the weight w adds w x 10 x that, as a plugin of weight w would."""
    cache = ClusterCache()
    cache.set_state(NODES_, BOUND)
    policy = make_policy("kube-default")
    top = 100 * sum(w for _, w in policy.profile.score_plugins)
    with serve(create_app(policy, cache)) as url, httpx.Client(base_url=url) as client:
        p = PENDING["small"]
        decision = kube.schedule(p, NODES_, BOUND)
        feasible = decision.feasible
        scores = post(client, "/prioritize", {"Pod": p, "NodeNames": feasible}).json()
        totals = {v.name: v.total for v in decision.verdicts}
        assert {s["Host"]: s["Score"] for s in scores} == {n: 10 * totals[n] // top for n in feasible}
    with pytest.raises(ValueError, match="'linear' needs a scorer with a fixed score_range"):
        create_app(make_policy("best-fit"), ClusterCache(), score_mapping="linear")


def test_a_pair_of_heuristics_serves():
    """--policy takes a pair CPU+GPU as every name: on pods without GPUs it answers as its first part (mapped on
    the parts' common score range; a pair without one maps min-max)."""
    from podgym.plugin.extender import Extender
    from podgym.policies.composite import ByPodKind

    assert load_scorer(policy="least-allocated+gpu-packing").score_range is None
    pair = load_scorer(policy="least-allocated+most-allocated")
    assert isinstance(pair, ByPodKind) and pair.score_range == make_policy("least-allocated").score_range
    served, alone = Extender(pair, small_cache()), Extender(make_policy("least-allocated"), small_cache())
    for p in PENDING.values():
        body = json.dumps(args(p, NAMES)).encode()
        assert served.prioritize(body, time.perf_counter()).body == alone.prioritize(body, time.perf_counter()).body
    assert len({served.prioritize(json.dumps(args(p, NAMES)).encode(), 0.0).body for p in PENDING.values()}) > 1
