"""Cluster snapshots (bound vs pending, terminal pods skipped, unknown nodes) and workload manifests."""

from __future__ import annotations

import json

import numpy as np
import pytest

import podgym.envs.kube as kube
from podgym.envs.workload import (
    load_documents,
    load_snapshot,
    pods_from_manifests,
    read_snapshot,
    snapshot_from_objects,
    workload_from_manifests,
)
from tests.workload.helpers import DATA

NODES = DATA / "snapshot" / "nodes.json"
PODS = DATA / "snapshot" / "pods.yaml"
MANIFESTS = DATA / "manifests"
GIB = 1 << 30


def test_read_snapshot_bound_and_pending():
    cluster, pending = read_snapshot(NODES, PODS)
    assert [n.name for n in cluster.nodes] == ["node-a", "node-b", "gpu-a"]
    assert cluster.nodes[0].allocatable["cpu"] == 7910
    bound = cluster.initial
    assert bound.names == ["web-1", "batch-1", "train-0"]
    assert cluster.bound_to == ["node-a", "node-b", "gpu-a"]
    assert np.all(bound.arrival == 0) and np.all(np.isinf(bound.duration))
    # batch-1: max(init 3 cpu, main 500m) = 3 cpu; memory max(1Gi, 4Gi) = 4Gi
    assert bound.requests["cpu"].tolist() == [1000, 3000, 16000]
    assert bound.requests["memory"].tolist() == [2 * GIB, 4 * GIB, 64 * GIB]
    assert bound.gpu_count.tolist() == [0, 0, 4] and bound.gpu_milli.tolist() == [0, 0, 1000]
    assert bound.templates[bound.template[1]].tolerations[0].key == "dedicated"
    # pending, in creationTimestamp order (web-2 at 10:04 before web-3 at 10:05); every scheduler name kept
    assert pending.names == ["web-2", "web-3"]
    assert pending.templates[pending.template[0]].scheduler_name == "my-scheduler"
    assert pending.requests["cpu"].tolist() == [0, 1000]
    assert pending.nonzero_cpu.tolist() == [100, 1000]  # web-2 sets no request
    assert np.all(pending.arrival == 0)
    assert cluster.source == f"{NODES}, {PODS}"


def test_terminal_pods_skipped():
    snap = load_snapshot(NODES, PODS)
    assert snap.skipped == ["jobs/done-1", "jobs/crashed-1"]
    every = snap.cluster.initial.names + snap.pending.names
    assert "done-1" not in every and "crashed-1" not in every


def test_gated_and_deleted_pending_pods_are_held_back():
    # kube-scheduler's queue holds a pod with scheduling gates, and skips one being deleted; a bound pod being
    # deleted still holds its resources.
    pods = load_documents(PODS)
    by_name = {p["metadata"]["name"]: p for p in pods}
    by_name["web-2"]["spec"]["schedulingGates"] = [{"name": "example.com/quota"}]
    by_name["web-3"]["metadata"]["deletionTimestamp"] = "2026-12-04T15:02:00Z"
    by_name["web-1"]["metadata"]["deletionTimestamp"] = "2026-12-04T15:02:00Z"
    snap = snapshot_from_objects(json.loads(NODES.read_text()), pods)
    assert snap.pending.names == []
    assert snap.held == ["shop/web-3", "shop/web-2"]  # file order
    assert snap.cluster.initial.names == ["web-1", "batch-1", "train-0"]
    by_name["web-2"]["spec"]["schedulingGates"] = []  # the gates removed: it is pending again
    assert snapshot_from_objects(json.loads(NODES.read_text()), pods).pending.names == ["web-2"]


def test_one_file_with_nodes_and_pods(tmp_path):
    nodes = load_documents(NODES)
    pods = load_documents(PODS)
    both = tmp_path / "cluster.json"
    both.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": nodes + pods}))
    cluster, pending = read_snapshot(both)
    assert cluster.initial.names == ["web-1", "batch-1", "train-0"] and pending.names == ["web-2", "web-3"]


def test_snapshot_from_objects():
    snap = snapshot_from_objects(json.loads(NODES.read_text()), load_documents(PODS))
    assert snap.cluster.bound_to == ["node-a", "node-b", "gpu-a"]


def test_pod_bound_to_unknown_node_is_left_out(tmp_path):
    # A node deleted between `kubectl get nodes` and `kubectl get pods`: its pod is on no node of the cluster, as in
    # kube-scheduler's cache (a node info without a Node, never scheduled onto), and the snapshot still loads.
    pods = load_documents(PODS)
    pods[0]["spec"]["nodeName"] = "node-z"
    path = tmp_path / "pods.json"
    path.write_text(json.dumps({"kind": "PodList", "items": pods}))
    snap = load_snapshot(NODES, path)
    assert snap.orphans == ["shop/web-1"]
    assert snap.cluster.initial.names == ["batch-1", "train-0"] and snap.cluster.bound_to == ["node-b", "gpu-a"]
    assert snap.pending.names == ["web-2", "web-3"]


def test_malformed_snapshot_names_file_and_field(tmp_path):
    pods = load_documents(PODS)
    pods[1]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "1.5.3"
    path = tmp_path / "pods.yaml"
    path.write_text(json.dumps(pods))  # JSON is YAML
    with pytest.raises(kube.KubeObjectError) as info:
        read_snapshot(NODES, path)
    message = str(info.value)
    assert str(path) in message and "jobs/batch-1" in message and "requests.cpu" in message
    bad = tmp_path / "nodes.json"
    bad.write_text("{not json")
    with pytest.raises(kube.KubeObjectError, match=r"nodes\.json: not valid JSON"):
        read_snapshot(bad, PODS)
    with pytest.raises(kube.KubeObjectError, match="cannot read file"):
        read_snapshot(tmp_path / "absent.json", PODS)


def test_one_file_with_other_kinds(tmp_path):
    path = tmp_path / "mixed.yaml"
    path.write_text("kind: ConfigMap\nmetadata: {name: x}\n")
    with pytest.raises(kube.KubeObjectError, match="ConfigMap"):
        read_snapshot(path)


# --- manifests ---------------------------------------------------------------------------------------------------


def test_manifests_expand_controllers():
    pods = pods_from_manifests([MANIFESTS / "app.yaml", MANIFESTS / "more.json"])
    assert [(p["metadata"]["namespace"], p["metadata"]["name"]) for p in pods] == [
        ("shop", "web-0"),
        ("shop", "web-1"),
        ("shop", "web-2"),
        ("shop", "db-0"),
        ("shop", "db-1"),
        ("default", "train-0"),  # Job: min(parallelism 4, completions 2)
        ("default", "train-1"),
        ("default", "debug"),
        ("shop", "cache-0"),  # ReplicaSet: replicas default 1
        ("jobs", "once-0"),  # Job: parallelism default 1
    ]
    db = pods[3]
    assert db["metadata"]["labels"] == {"app": "db"} and db["metadata"]["annotations"] == {"team": "data"}
    assert db["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet"
    assert db["spec"]["nodeSelector"] == {"topology.kubernetes.io/zone": "z1"}
    assert all(kube.parse_pod(p) for p in pods)


def test_manifest_pods_are_independent_copies():
    pods = pods_from_manifests(MANIFESTS / "app.yaml")
    pods[0]["spec"]["containers"][0]["image"] = "changed"
    assert pods[1]["spec"]["containers"][0]["image"] == "registry.example.com/web:1"


def test_workload_from_manifests():
    w = workload_from_manifests([MANIFESTS / "app.yaml", MANIFESTS / "more.json"])
    assert len(w) == 10
    assert w.requests["cpu"].tolist()[:6] == [500, 500, 500, 2000, 2000, 8000]
    assert w.gpu_count.tolist()[5:7] == [2, 2]
    assert w.template[0] == w.template[1] == w.template[2] != w.template[3]
    assert w.nonzero_cpu[7] == 100  # debug sets no request


def test_manifest_objects_and_lists():
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {"replicas": 0, "template": {"spec": {"containers": [{"name": "c"}]}}},
    }
    assert pods_from_manifests(deploy) == []
    assert (
        len(pods_from_manifests({"kind": "List", "items": [{**deploy, "spec": {**deploy["spec"], "replicas": 2}}]}))
        == 2
    )


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"kind": "DaemonSet", "metadata": {"name": "agent"}}, "unsupported kind 'DaemonSet'"),
        ({"kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": -1}}, "spec.replicas"),
        ({"kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": 1}}, "spec.template.spec"),
        ({"kind": "Job", "metadata": {"name": "j"}, "spec": {"parallelism": "2"}}, "spec.parallelism"),
        ({"kind": "Deployment", "metadata": {}}, "metadata.name"),
    ],
)
def test_bad_manifests(tmp_path, obj, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(json.dumps(obj))
    with pytest.raises(kube.KubeObjectError) as info:
        pods_from_manifests(path)
    assert str(path) in str(info.value) and expected in str(info.value)


def test_bad_pod_spec_in_template(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "kind: StatefulSet\nmetadata: {name: s}\nspec:\n  replicas: 1\n  template:\n    spec:\n"
        "      containers: [{name: c, resources: {requests: {memory: lots}}}]\n"
    )
    with pytest.raises(kube.KubeObjectError) as info:
        pods_from_manifests(path)
    assert str(path) in str(info.value) and "default/s-0" in str(info.value) and "requests.memory" in str(info.value)


def test_manifest_containers_request_their_limits_where_they_request_nothing(tmp_path):
    # As the API server defaults them on creation; an explicit request stays, below its limit.
    path = tmp_path / "app.yaml"
    path.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app}\nspec:\n  replicas: 2\n  template:\n"
        "    spec:\n      initContainers:\n      - {name: init, image: i, resources: {limits: {cpu: '3'}}}\n"
        "      containers:\n      - name: app\n        image: a\n"
        "        resources: {requests: {cpu: 500m}, limits: {cpu: '2', memory: 3Gi, nvidia.com/gpu: '1'}}\n"
    )
    pods = pods_from_manifests(path)
    assert [p["spec"]["containers"][0]["resources"]["requests"] for p in pods] == [
        {"cpu": "500m", "memory": "3Gi", "nvidia.com/gpu": "1"}
    ] * 2
    w = workload_from_manifests(path)
    assert w.requests["cpu"].tolist() == [3000, 3000]  # the init container's 3 cpu, defaulted from its limit
    assert w.requests["memory"].tolist() == [3 * GIB, 3 * GIB]
    assert w.gpu_count.tolist() == [1, 1]
