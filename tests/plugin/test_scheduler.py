"""The secondary scheduler (plugin.scheduler) against a fake CoreV1Api: no cluster, no network."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from kubernetes.client.exceptions import ApiException

from podgym.envs.simulator import Simulator
from podgym.envs.workload.snapshot import snapshot_from_objects
from podgym.plugin.scheduler import (
    BOUND_SELECTOR,
    NO_NODES_AVAILABLE,
    SecondaryScheduler,
    fit_error_message,
    main,
    truncate_message,
)
from podgym.policies import make_policy
from tests.kube.builders import node, on_node, pod
from tests.plugin import TYPICAL_JSON

ROOT = Path(__file__).resolve().parents[2]
NAME = "podgym-scheduler"
TAINT = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}


# ---- the fake API server -------------------------------------------------------------------------------------


class FakeResponse:
    """What a CoreV1Api call returns with _preload_content=False: an urllib3-like response."""

    def __init__(self, data: Any = None, lines: list[dict[str, Any]] | None = None):
        self.status = 200
        self.data = json.dumps(data).encode() if data is not None else b""
        self._lines = [json.dumps(e).encode() + b"\n" for e in lines or []]
        self.released = False

    def stream(self, amt=None, decode_content=False):
        yield from self._lines

    def close(self) -> None:
        pass

    def release_conn(self) -> None:
        self.released = True


def _field(obj: dict[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        cur = (cur or {}).get(part)
    return "" if cur is None else str(cur)


def matches(obj: dict[str, Any], selector: str | None) -> bool:
    """A field selector as the API server evaluates it (a=b, a!=b, comma = and)."""
    for term in filter(None, (selector or "").split(",")):
        if "!=" in term:
            key, value = term.split("!=")
            if _field(obj, key) == value:
                return False
        else:
            key, value = term.split("=")
            if _field(obj, key) != value:
                return False
    return True


class FakeCoreV1Api:
    """A tiny in-memory API server: lists and watches nodes and pods, records bindings and events."""

    def __init__(self, nodes: list[dict[str, Any]], pods: list[dict[str, Any]] = ()):
        self.nodes = list(nodes)
        self.pods = {p["metadata"]["uid"]: p for p in pods}
        self.calls: list[tuple[str, tuple, dict[str, Any]]] = []
        self.bindings: list[tuple[str, str, dict[str, Any]]] = []
        self.events: list[dict[str, Any]] = []
        self.bind_errors: list[ApiException] = []
        self.watch_queue: dict[str, list[dict[str, Any]]] = {"nodes": [], "pods": []}
        self.lock = threading.Lock()

    def _list(self, kind: str, items: list[dict[str, Any]], kwargs: dict[str, Any]) -> FakeResponse:
        assert kwargs.get("_preload_content") is False
        selector = kwargs.get("field_selector")
        if kwargs.get("watch"):
            with self.lock:
                events, rest = [], []
                for e in self.watch_queue[kind]:
                    (events if matches(e["object"], selector) else rest).append(e)
                self.watch_queue[kind] = rest
            if not events:
                time.sleep(0.01)  # the server's watch timeout, shortened
            return FakeResponse(lines=events)
        return FakeResponse(
            {"kind": "List", "metadata": {"resourceVersion": "7"}, "items": [o for o in items if matches(o, selector)]}
        )

    def list_node(self, **kwargs: Any) -> FakeResponse:
        self.calls.append(("list_node", (), kwargs))
        return self._list("nodes", self.nodes, kwargs)

    def list_pod_for_all_namespaces(self, **kwargs: Any) -> FakeResponse:
        self.calls.append(("list_pod_for_all_namespaces", (), kwargs))
        return self._list("pods", list(self.pods.values()), kwargs)

    def create_namespaced_pod_binding(self, name: str, namespace: str, body: dict[str, Any], **kwargs: Any):
        self.calls.append(("create_namespaced_pod_binding", (name, namespace, body), kwargs))
        if self.bind_errors:
            raise self.bind_errors.pop(0)
        self.bindings.append((name, namespace, body))
        for p in self.pods.values():
            if p["metadata"]["name"] == name and p["metadata"]["namespace"] == namespace:
                p["spec"]["nodeName"] = body["target"]["name"]
        return FakeResponse({"kind": "Status", "apiVersion": "v1", "status": "Success", "code": 201})

    def create_namespaced_event(self, namespace: str, body: dict[str, Any], **kwargs: Any) -> FakeResponse:
        self.calls.append(("create_namespaced_event", (namespace, body), kwargs))
        assert body["metadata"]["namespace"] == namespace
        self.events.append(body)
        return FakeResponse(body)

    def delete_namespaced_pod(self, name: str, namespace: str, **kwargs: Any) -> FakeResponse:
        self.calls.append(("delete_namespaced_pod", (name, namespace), kwargs))
        for uid, p in list(self.pods.items()):
            if p["metadata"]["name"] == name and p["metadata"]["namespace"] == namespace:
                del self.pods[uid]
                return FakeResponse(p)
        raise ApiException(status=404, reason="Not Found")

    def patch_namespaced_pod_status(self, name: str, namespace: str, body: dict[str, Any], **kwargs: Any):
        self.calls.append(("patch_namespaced_pod_status", (name, namespace, body), kwargs))
        for p in self.pods.values():
            if p["metadata"]["name"] == name and p["metadata"]["namespace"] == namespace:
                p.setdefault("status", {}).update(body["status"])
                return FakeResponse(p)
        raise ApiException(status=404, reason="Not Found")

    def read_namespaced_pod(self, name: str, namespace: str, **kwargs: Any) -> FakeResponse:
        self.calls.append(("read_namespaced_pod", (name, namespace), kwargs))
        for p in self.pods.values():
            if p["metadata"]["name"] == name and p["metadata"]["namespace"] == namespace:
                return FakeResponse(p)
        raise ApiException(status=404, reason="Not Found")


class PreferScorer:
    """A node scorer with a fixed preference per node name (higher is better)."""

    name = "prefer"

    def __init__(self, preference: dict[str, float]):
        self.preference = preference
        self.calls: list[list[str]] = []

    def num_to_find(self, num_nodes: int) -> int:
        return num_nodes

    def score(self, cluster, pod, nodes):
        names = [cluster.node_names[int(j)] for j in nodes]
        self.calls.append(names)
        return np.array([self.preference.get(n, 0.0) for n in names])


def pending(name: str, cpu: str = "1", scheduler: str = NAME, **kwargs: Any) -> dict[str, Any]:
    p = pod(name, containers=[{"cpu": cpu, "memory": "1Gi"}], **kwargs)
    p["spec"]["schedulerName"] = scheduler
    p["metadata"]["resourceVersion"] = "1"
    return p


def worker(name: str, cpu: str = "4", **kwargs: Any) -> dict[str, Any]:
    return node(name, allocatable={"cpu": cpu, "memory": "16Gi", "pods": "110"}, **kwargs)


def synced(api: FakeCoreV1Api, scorer: Any, **kwargs: Any) -> SecondaryScheduler:
    """A scheduler that has listed everything from `api` (what run() does before its first cycle)."""
    s = SecondaryScheduler(api, scorer, NAME, sleep=kwargs.pop("sleep", lambda _: None), **kwargs)
    for stream, (func, kw) in s.streams().items():
        items, rv = s.list_all(func, **kw)
        assert rv == "7"
        s.handle(stream, "SYNC", items)
    return s


def bind_calls(api: FakeCoreV1Api) -> list[tuple[tuple, dict[str, Any]]]:
    return [(args, kw) for name, args, kw in api.calls if name == "create_namespaced_pod_binding"]


# ---- binding ------------------------------------------------------------------------------------------------


def test_binds_to_the_preferred_node_that_passes_the_filters():
    nodes = [worker("a", taints=[TAINT]), worker("b"), worker("c"), worker("d", cpu="500m")]
    api = FakeCoreV1Api(nodes, [pending("web", namespace="shop")])
    scorer = PreferScorer({"a": 9, "d": 8, "c": 5, "b": 1})  # a is tainted, d too small
    s = synced(api, scorer)
    (outcome,) = s.schedule_pending()
    assert outcome.node == "c" and outcome.pod == "shop/web"
    assert scorer.calls == [["b", "c"]]  # only the feasible nodes are scored
    ((args, kw),) = bind_calls(api)
    assert args == (
        "web",
        "shop",
        {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": "web", "namespace": "shop"},
            "target": {"apiVersion": "v1", "kind": "Node", "name": "c"},
        },
    )
    assert kw == {"_preload_content": False}
    assert s.pending == {} and s.stats["scheduled"] == 1


def test_success_records_a_scheduled_event():
    api = FakeCoreV1Api([worker("a"), worker("b")], [pending("web", namespace="shop")])
    synced(api, PreferScorer({"b": 1})).schedule_pending()
    (event,) = api.events
    assert event["reason"] == "Scheduled" and event["type"] == "Normal" and event["action"] == "Binding"
    assert event["message"] == "Successfully assigned shop/web to b"
    assert event["involvedObject"] == {
        "apiVersion": "v1",
        "kind": "Pod",
        "name": "web",
        "namespace": "shop",
        "uid": "uid-shop-web",
        "resourceVersion": "1",
    }
    assert event["metadata"]["namespace"] == "shop" and event["metadata"]["name"].startswith("web.")
    assert event["source"] == {"component": NAME} and event["reportingComponent"] == NAME
    assert event["firstTimestamp"].endswith("Z") and event["count"] == 1


def test_failure_records_the_upstream_fit_error_and_retries_on_a_node_change():
    nodes = [worker("a", cpu="1"), worker("b", taints=[TAINT]), worker("c", taints=[TAINT])]
    api = FakeCoreV1Api(nodes, [pending("big", cpu="2")])
    s = synced(api, PreferScorer({}))
    (outcome,) = s.schedule_pending()
    # DefaultPreemption (in the default profile) adds its verdict, as kube-scheduler's message does.
    message = (
        "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint(s). preemption: "
        "0/3 nodes are available: 3 Preemption is not helpful for scheduling.."
    )
    assert outcome.node is None and outcome.message == message
    (event,) = api.events
    assert (event["reason"], event["type"], event["action"], event["message"]) == (
        "FailedScheduling",
        "Warning",
        "Scheduling",
        message,
    )
    assert bind_calls(api) == []
    # Unschedulable: not retried until something changes; the same failure is not recorded twice.
    assert s.schedule_pending() == []
    s.handle("nodes", "MODIFIED", worker("a", cpu="1"))  # a heartbeat: nothing scheduling reads
    assert s.schedule_pending() == []
    s.handle("nodes", "MODIFIED", worker("b", taints=[TAINT], labels={"zone": "x"}))
    (again,) = s.schedule_pending()
    assert again.message == message and len(api.events) == 1
    s.handle("nodes", "ADDED", worker("d"))
    (placed,) = s.schedule_pending()
    assert placed.node == "d"
    assert [e["reason"] for e in api.events] == ["FailedScheduling", "Scheduled"]


def test_fit_error_message_format():
    from podgym.envs.kube.framework import Status

    cpu = Status("Unschedulable", ("Insufficient cpu",), "NodeResourcesFit")
    both = Status("Unschedulable", ("Insufficient cpu", "Insufficient memory"), "NodeResourcesFit")
    taint = Status("UnschedulableAndUnresolvable", ("node(s) had untolerated taint(s)",), "TaintToleration")
    assert (
        fit_error_message(3, [cpu, taint, taint])
        == "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint(s)."
    )
    # Every reason of every node counts; Go's sort.Strings orders "10 ..." before "2 ...".
    assert (
        fit_error_message(12, [both, both] + [taint] * 10)
        == "0/12 nodes are available: 10 node(s) had untolerated taint(s), 2 Insufficient cpu, 2 Insufficient memory."
    )
    assert fit_error_message(2, [cpu, cpu], prefilter_msg="pod affinity terms conflict") == (
        "0/2 nodes are available: pod affinity terms conflict."
    )
    assert fit_error_message(0, []) == NO_NODES_AVAILABLE
    long = "x" * 2000
    assert len(truncate_message(long)) == 1024 and truncate_message(long).endswith(" ...")
    assert truncate_message("short") == "short"


def test_prefilter_rejection_is_reported_alone():
    conflict = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchFields": [
                            {"key": "metadata.name", "operator": "In", "values": ["a"]},
                            {"key": "metadata.name", "operator": "In", "values": ["b"]},
                        ]
                    }
                ]
            }
        }
    }
    api = FakeCoreV1Api([worker("a"), worker("b", unschedulable=True)], [pending("p", affinity=conflict)])
    (outcome,) = synced(api, PreferScorer({})).schedule_pending()
    assert outcome.message == (
        "0/2 nodes are available: pod affinity terms conflict. "
        "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.."
    )


def test_no_nodes():
    api = FakeCoreV1Api([], [pending("p")])
    (outcome,) = synced(api, PreferScorer({})).schedule_pending()
    assert outcome.message == NO_NODES_AVAILABLE


def _conflict(message: str) -> ApiException:
    exc = ApiException(status=409, reason="Conflict")
    exc.body = json.dumps(
        {"kind": "Status", "status": "Failure", "reason": "Conflict", "code": 409, "message": message}
    )
    return exc


def test_conflict_is_retried_with_backoff_then_succeeds():
    api = FakeCoreV1Api([worker("a"), worker("b")], [pending("web")])
    api.bind_errors = [
        _conflict('Operation cannot be fulfilled on pods "web": the object has been modified; please try again'),
        ApiException(status=503, reason="Service Unavailable"),
    ]
    sleeps: list[float] = []
    s = synced(api, PreferScorer({"a": 1}), sleep=sleeps.append, backoff_s=0.25)
    (outcome,) = s.schedule_pending()
    assert outcome.node == "a" and outcome.bind_attempts == 3
    assert len(bind_calls(api)) == 3 and len({json.dumps(a[2]) for a, _ in bind_calls(api)}) == 1
    assert sleeps == [0.25, 0.5]  # exponential backoff
    assert [c[0] for c in api.calls].count("read_namespaced_pod") == 1  # after the 409: still unbound
    assert s.stats["bind_conflicts"] == 1 and [e["reason"] for e in api.events] == ["Scheduled"]


def test_conflict_with_a_pod_already_assigned_is_not_retried():
    api = FakeCoreV1Api([worker("a")], [pending("web")])
    api.bind_errors = [_conflict('pod web is already assigned to node "a"')]
    s = synced(api, PreferScorer({}))
    (outcome,) = s.schedule_pending()
    assert outcome.node is None and outcome.bind_attempts == 1 and "already assigned" in outcome.message
    assert s.pending == {} and api.events == []


def test_a_binding_that_keeps_failing_leaves_the_pod_pending():
    api = FakeCoreV1Api([worker("a")], [pending("web")])
    api.bind_errors = [ApiException(status=403, reason="Forbidden")]
    s = synced(api, PreferScorer({}))
    (outcome,) = s.schedule_pending()
    assert outcome.node is None and outcome.message == "Binding rejected: 403 Forbidden"
    assert [e["reason"] for e in api.events] == ["FailedScheduling"]
    s.handle("nodes", "ADDED", worker("b"))
    assert s.schedule_pending()[0].node in ("a", "b")


# ---- which pods ------------------------------------------------------------------------------------------------


def test_pods_for_another_scheduler_are_ignored():
    other = pending("theirs", scheduler="default-scheduler")
    gated = pending("gated")
    gated["spec"]["schedulingGates"] = [{"name": "wait"}]
    deleting = pending("deleting")
    deleting["metadata"]["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    api = FakeCoreV1Api([worker("a")], [other, gated, deleting, pending("ours")])
    s = synced(api, PreferScorer({}))
    assert [o.pod for o in s.schedule_pending()] == ["default/ours"]
    s.handle("pending", "ADDED", pending("late", scheduler="someone-else"))
    assert s.schedule_pending() == [] and len(api.bindings) == 1
    # The list and watch of pending pods ask the API server for this scheduler's unbound pods only.
    selectors = {kw.get("field_selector") for name, _, kw in api.calls if name == "list_pod_for_all_namespaces"}
    assert selectors == {
        BOUND_SELECTOR,
        f"spec.schedulerName={NAME},spec.nodeName=,status.phase!=Succeeded,status.phase!=Failed",
    }
    # A gate removed: the pod is scheduled.
    del gated["spec"]["schedulingGates"]
    s.handle("pending", "MODIFIED", gated)
    assert [o.node for o in s.schedule_pending()] == ["a"]


def test_a_bound_pod_updates_the_cache():
    api = FakeCoreV1Api([worker("a"), worker("b")], [pending("p1", cpu="3"), pending("p2", cpu="3")])
    s = synced(api, PreferScorer({"a": 2, "b": 1}))
    # p1 takes a; p2, in the same cycle, sees a's 3 cpus used and goes to b.
    assert [(o.pod, o.node) for o in s.schedule_pending()] == [("default/p1", "a"), ("default/p2", "b")]
    cluster = s.cache.cluster()
    assert cluster.requested[:, cluster.column["cpu"]].tolist() == [3000, 3000]
    # The watch then reports both bound: nothing is counted twice.
    for p in api.pods.values():
        s.handle("bound", "ADDED", p)
    assert s.cache.cluster().requested[:, cluster.column["cpu"]].tolist() == [3000, 3000]
    # A pod of another scheduler bound to b... then deleted: the unschedulable pod is retried and fits.
    s.handle("pending", "ADDED", pending("p3", cpu="2"))
    (failed,) = s.schedule_pending()
    assert failed.message == (
        "0/2 nodes are available: 2 Insufficient cpu. "
        "preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.."
    )
    s.handle("bound", "DELETED", on_node(api.pods["uid-default-p2"], "b"))
    (placed,) = s.schedule_pending()
    assert placed.node == "b"


def test_bound_pods_of_other_schedulers_count():
    running = on_node(pod("db", containers=[{"cpu": "3500m"}]), "a")
    finished = {**on_node(pod("job", containers=[{"cpu": "4"}]), "b"), "status": {"phase": "Succeeded"}}
    api = FakeCoreV1Api([worker("a"), worker("b")], [running, finished, pending("web")])
    (outcome,) = synced(api, PreferScorer({"a": 1})).schedule_pending()
    assert outcome.node == "b"  # a has 500m left; the finished job holds nothing


def test_a_relist_keeps_a_pod_bound_moments_ago():
    api = FakeCoreV1Api([worker("a", cpu="2")], [pending("p1", cpu="2")])
    s = synced(api, PreferScorer({}))
    assert s.schedule_pending()[0].node == "a"
    s.handle("bound", "SYNC", [])  # a list taken before the binding, applied after it
    s.handle("pending", "ADDED", pending("p2", cpu="2"))
    assert s.schedule_pending()[0].message == (
        "0/1 nodes are available: 1 Insufficient cpu. "
        "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.."
    )


# ---- the same decisions as the simulator -----------------------------------------------------------------------


def _cluster(rng: np.random.Generator) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    nodes = []
    for i in range(8):
        cpu = int(rng.choice([2, 4, 8]))
        taints = [TAINT] if i == 5 else None
        nodes.append(worker(f"node-{i:02d}", cpu=str(cpu), taints=taints, labels={"zone": "ab"[i % 2]}))
    pods = []
    for i in range(40):
        p = pending(f"p{i:02d}", cpu=f"{int(rng.integers(1, 16)) * 100}m")
        if i % 7 == 3:
            p["spec"]["nodeSelector"] = {"zone": "a"}
        if i % 5 == 0:
            p["spec"]["tolerations"] = [{"key": "dedicated", "operator": "Exists"}]
        p["metadata"]["creationTimestamp"] = f"2025-01-01T00:00:{i:02d}Z"
        pods.append(p)
    return nodes, pods


@pytest.mark.parametrize("policy", ["kube-default", "most-allocated", "random", "round-robin", "first-fit"])
def test_decisions_match_the_simulator(policy):
    nodes, pods = _cluster(np.random.default_rng(11))
    snap = snapshot_from_objects(nodes, pods)
    sim = Simulator(snap.cluster, snap.pending, seed=5)
    sim.run(make_policy(policy))
    expected = {
        snap.pending.names[i]: (sim.cluster.node_names[j] if j >= 0 else None)
        for i, j in enumerate(sim.node_of[len(sim.node_of) - len(snap.pending) :])
    }
    api = FakeCoreV1Api(nodes, pods)
    s = synced(api, make_policy(policy), seed=5)
    got = {o.pod.split("/")[1]: o.node for o in s.schedule_pending()}
    assert got == expected
    assert sum(v is None for v in got.values()) > 0  # the cluster fills up: some pods stay pending


def test_onnx_policy_scores_the_nodes(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    from podgym.envs.features import NUM_NODE_FEATURES, NUM_POD_FEATURES
    from podgym.policies.onnx import OnnxPolicy

    # score = the node's free cpu fraction (feature 0): the emptiest node wins.
    weight = np.zeros((NUM_NODE_FEATURES,), dtype=np.float32)
    weight[0] = 1.0
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["nodes", "w"], ["scores"])],
        "score",
        [
            helper.make_tensor_value_info("nodes", TensorProto.FLOAT, ["N", NUM_NODE_FEATURES]),
            helper.make_tensor_value_info("pod", TensorProto.FLOAT, [NUM_POD_FEATURES]),
        ],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N"])],
        [helper.make_tensor("w", TensorProto.FLOAT, [NUM_NODE_FEATURES], weight.tolist())],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "policy.onnx"
    onnx.save(model, str(path))
    (tmp_path / "policy.json").write_text(json.dumps({"typical_pods": TYPICAL_JSON}))  # what the scorer needs
    busy = on_node(pod("db", containers=[{"cpu": "2"}]), "a")
    api = FakeCoreV1Api([worker("a"), worker("b", cpu="4")], [busy, pending("web")])
    s = synced(api, OnnxPolicy(path))
    assert s.schedule_pending()[0].node == "b"


# ---- the threaded loop and the command line ----------------------------------------------------------------------


def test_run_lists_watches_and_schedules():
    api = FakeCoreV1Api([worker("a")], [pending("first")])
    api.watch_queue["nodes"].append({"type": "ERROR", "object": {"kind": "Status", "code": 410, "message": "too old"}})
    s = SecondaryScheduler(api, PreferScorer({}), NAME, sleep=lambda _: None)
    stop = threading.Event()
    thread = threading.Thread(target=s.run, args=(stop,), daemon=True)
    thread.start()
    try:
        _wait(lambda: len(api.bindings) == 1)
        second = pending("second")
        api.pods[second["metadata"]["uid"]] = second
        with api.lock:
            api.watch_queue["pods"].append({"type": "ADDED", "object": second})
        _wait(lambda: len(api.bindings) == 2)
    finally:
        stop.set()
        thread.join(timeout=5)
    assert [b[0] for b in api.bindings] == ["first", "second"]
    watches = [kw for name, _, kw in api.calls if kw.get("watch")]
    # Each stream watches from its list's resourceVersion, then from the last object it saw.
    versions = [kw["resource_version"] for kw in watches]
    assert versions[0] == "7" and set(versions) <= {"7", "1"}
    # 410 Gone on the node watch: the nodes are listed again.
    assert sum(1 for name, _, kw in api.calls if name == "list_node" and not kw.get("watch")) >= 2
    assert all(kw["allow_watch_bookmarks"] and kw["_preload_content"] is False for kw in watches)


def _wait(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_cli_errors(capsys):
    with pytest.raises(SystemExit):
        main([])  # --model or --policy is required
    assert main(["--model", "missing/policy.onnx", "--in-cluster"]) == 2
    assert "ONNX model not found" in capsys.readouterr().err
    assert main(["--policy", "no-such-policy"]) == 2


def test_the_plugin_imports_only_what_the_image_installs():
    """DESIGN rule 6: every plugin module and every heuristic import without the training stack (torch,
    stable-baselines3, Gymnasium, ...) and without agents/, as in the image deploy/Dockerfile builds."""
    modules = ", ".join(
        f"podgym.{pkg}.{p.stem}"
        for pkg in ("plugin", "policies")
        for p in sorted((ROOT / pkg).glob("*.py"))
        if p.stem != "__init__"
    )
    code = (
        "import sys\n"
        "BLOCK = ('torch', 'stable_baselines3', 'sb3_contrib', 'gymnasium', 'tensorboard', 'matplotlib', 'tqdm',\n"
        "         'onnx', 'scipy', 'pandas', 'ray', 'agents')\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        parts = name.split('.')\n"
        "        if parts[0] in BLOCK or parts[0] == 'podgym' and parts[1:2] and parts[1] in BLOCK:\n"
        "            raise ImportError('not in the plugin image: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"import {modules}\n"
        "from podgym.policies import HEURISTICS, make_policy\n"
        "for name in HEURISTICS: make_policy(name)\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_a_lost_connection_while_binding_is_retried():
    api = FakeCoreV1Api([worker("a")], [pending("web")])
    api.bind_errors = [ConnectionResetError("connection reset by peer")]
    (outcome,) = synced(api, PreferScorer({})).schedule_pending()
    assert outcome.node == "a" and outcome.bind_attempts == 2


def test_a_failing_scorer_leaves_the_pod_pending():
    class Broken(PreferScorer):
        def score(self, cluster, pod, nodes):
            raise RuntimeError("boom")

    api = FakeCoreV1Api([worker("a"), worker("b")], [pending("web")])
    s = synced(api, Broken({}))
    assert s.schedule_pending() == [] and "uid-default-web" in s.unschedulable and api.bindings == []


# ---- pod (anti-)affinity and topology spread -------------------------------------------------------------------


def replica(name: str, app: str = "web") -> dict[str, Any]:
    """A replica of `app` asking to run on no node where another replica runs (hostname anti-affinity)."""
    anti = {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": "kubernetes.io/hostname"}
            ]
        }
    }
    return pending(name, cpu="100m", labels={"app": app}, affinity=anti)


def test_replicas_with_hostname_anti_affinity_never_share_a_node():
    """Every scorer prefers node a; the cache keeps the labels and terms of the pods bound moments ago, so the
    second replica goes elsewhere and, with every node taken, the fourth waits with upstream's reason."""
    api = FakeCoreV1Api([worker("a"), worker("b"), worker("c")], [replica(f"web-{i}") for i in range(4)])
    s = synced(api, PreferScorer({"a": 3, "b": 2, "c": 1}))
    outcomes = s.schedule_pending()
    placed = [o.node for o in outcomes if o.node is not None]
    assert sorted(placed) == ["a", "b", "c"]
    (failed,) = [o for o in outcomes if o.node is None]
    assert failed.message == (
        "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. preemption: 0/3 nodes are "
        "available: 3 No preemption victims found for incoming pod.."
    )
    # The watch reports them bound: still one replica per node; deleting one frees its node for the fourth.
    for p in api.pods.values():
        if p["spec"].get("nodeName"):
            s.handle("bound", "ADDED", p)
    assert s.schedule_pending() == []
    victim = next(p for p in api.pods.values() if p["spec"].get("nodeName") == "b")
    s.handle("bound", "DELETED", victim)
    (retried,) = s.schedule_pending()
    assert retried.node == "b"


def test_a_replica_spread_over_zones_goes_to_the_emptiest_zone():
    """A DoNotSchedule zone spread constraint: with two replicas in zone x, the third must go to zone y although
    the scorer prefers zone x."""
    spread = [
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"app": "db"}},
        }
    ]
    zone = "topology.kubernetes.io/zone"
    nodes = [worker("a", labels={zone: "x"}), worker("b", labels={zone: "x"}), worker("c", labels={zone: "y"})]
    running = [on_node(pod(f"db-{i}", labels={"app": "db"}), n) for i, n in enumerate(["a", "c"])]
    p = pending("db-2", cpu="100m", labels={"app": "db"})
    p["spec"]["topologySpreadConstraints"] = spread
    api = FakeCoreV1Api(nodes, [*running, p])
    (outcome,) = synced(api, PreferScorer({"a": 3, "b": 2, "c": 1})).schedule_pending()
    assert outcome.node == "a"  # zones x:1, y:1: any node fits; the scorer's first choice
    q = pending("db-3", cpu="100m", labels={"app": "db"})
    q["spec"]["topologySpreadConstraints"] = spread
    api2 = FakeCoreV1Api(nodes, [*running, on_node(pod("db-2", labels={"app": "db"}), "b"), q])
    (outcome,) = synced(api2, PreferScorer({"a": 3, "b": 2, "c": 1})).schedule_pending()
    assert outcome.node == "c"  # zones x:2, y:1: only zone y keeps the skew within 1


# ---- preemption ------------------------------------------------------------------------------------------------


def test_a_pod_that_fits_nowhere_preempts_a_lower_priority_one_and_binds_after_the_deletion():
    low = on_node(pod("batch", containers=[{"cpu": "1", "memory": "1Gi"}]), "a")
    low["spec"]["priority"] = 1
    high = pending("critical", cpu="1")
    high["spec"]["priority"] = 10
    api = FakeCoreV1Api([worker("a", cpu="1")], [low, high])
    s = synced(api, PreferScorer({}))
    (first,) = s.schedule_pending()
    assert first.node is None and first.message == "0/1 nodes are available: 1 Insufficient cpu."
    assert [c[1] for c in api.calls if c[0] == "delete_namespaced_pod"] == [("batch", "default")]
    assert [c[1][2] for c in api.calls if c[0] == "patch_namespaced_pod_status"] == [
        {"status": {"nominatedNodeName": "a"}}
    ]
    preempted = [e for e in api.events if e["reason"] == "Preempted"]
    assert len(preempted) == 1 and preempted[0]["involvedObject"]["name"] == "batch"
    assert preempted[0]["message"] == f"Preempted by pod {high['metadata']['uid']} on node a"
    assert (s.stats["preemptions"], s.stats["preemption_victims"]) == (1, 1)
    s.handle("bound", "DELETED", low)  # the victim's deletion arrives: the pod is retried
    (placed,) = s.schedule_pending()
    assert placed.node == "a"


def test_preemption_honours_budgets_listed_through_the_policy_api():
    class FakePolicyV1Api:
        def __init__(self, items):
            self.items = items

        def list_pod_disruption_budget_for_all_namespaces(self, **kwargs):
            return FakeResponse({"kind": "List", "metadata": {"resourceVersion": "7"}, "items": self.items})

    running = []
    for name, node_name in (("web-0", "a"), ("batch-0", "b")):
        p = on_node(pod(name, containers=[{"cpu": "1", "memory": "1Gi"}], labels={"app": name[:-2]}), node_name)
        p["spec"]["priority"] = 1
        running.append(p)
    high = pending("critical", cpu="1")
    high["spec"]["priority"] = 10
    budget = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "batch", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "batch"}}, "minAvailable": 1},
        "status": {"disruptionsAllowed": 0},
    }
    for seed in range(3):  # whatever node the dry run starts at, the budget spares batch-0
        api = FakeCoreV1Api([worker("a", cpu="1"), worker("b", cpu="1")], [dict(p) for p in running] + [high])
        s = synced(api, PreferScorer({}), seed=seed, policy_api=FakePolicyV1Api([budget]))
        s.schedule_pending()
        assert [c[1] for c in api.calls if c[0] == "delete_namespaced_pod"] == [("web-0", "default")]
