"""Writes the real-shaped cluster dumps of tests/data/dumps in every layout users save clusters in.

    python tests/data/dumps/generate.py

One kubeadm-like cluster (a tainted control-plane node, an overcommitted worker, a NotReady worker with the
node lifecycle controller's taints, a tainted GPU node), static pods, DaemonSet pods pinned by matchFields,
a finished Job pod, a pod listed three times (the same uid) and pending pods; saved as:

* ``get-list.json`` / ``get-list.yaml``: ``kubectl get nodes,pods -A -o json|yaml`` (one List of both kinds);
* ``separate/nodes.json`` + ``separate/pods.json``: ``kubectl get nodes -o json``, ``kubectl get pods -A -o json``;
* ``per-namespace/nodes.yaml`` + ``per-namespace/pods/<ns>.yaml``: one ``kubectl get pods -n NS -o yaml`` each;
* ``cluster-info-dump.txt``: ``kubectl cluster-info dump`` stdout (typed lists whose items carry no kind, other
  kinds, container logs between them);
* ``cluster-info-dump/``: ``kubectl cluster-info dump --output-directory``.

And two more snapshots: ``no-pending.json`` (only bound pods; with ``workload.yaml`` for a workload) and
``only-unschedulable.json`` (every pending pod fits nowhere).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
NAMESPACES = ("kube-system", "default", "batch")
DUMP_FILES = {
    "Event": "events.json",
    "ReplicationController": "replication-controllers.json",
    "Service": "services.json",
    "DaemonSet": "daemonsets.json",
    "Deployment": "deployments.json",
    "ReplicaSet": "replicasets.json",
    "Pod": "pods.json",
}


def node(name, cpu, memory, labels=None, taints=None, ready=True, gpus=0):
    allocatable = {
        "cpu": cpu,
        "memory": memory,
        "pods": "110",
        "ephemeral-storage": "95551679124",
        "hugepages-2Mi": "0",
    }
    if gpus:
        allocatable["nvidia.com/gpu"] = str(gpus)
    conditions = [
        {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory"},
        {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure"},
        {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID"},
        {
            "type": "Ready",
            "status": "True" if ready else "Unknown",
            "reason": "KubeletReady" if ready else "NodeStatusUnknown",
        },
    ]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "uid": f"uid-node-{name}",
            "resourceVersion": "41312",
            "creationTimestamp": "2026-01-05T08:00:00Z",
            "labels": {
                "beta.kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                **(labels or {}),
            },
            "annotations": {"kubeadm.alpha.kubernetes.io/cri-socket": "unix:///var/run/containerd/containerd.sock"},
        },
        "spec": {"podCIDR": "10.244.0.0/24", "taints": taints} if taints else {"podCIDR": "10.244.0.0/24"},
        "status": {
            "capacity": dict(allocatable),
            "allocatable": allocatable,
            "conditions": conditions,
            "nodeInfo": {"kubeletVersion": "v1.35.0", "containerRuntimeVersion": "containerd://2.1.0"},
        },
    }


NODES = [
    node(
        "cp-1",
        "2",
        "3935388Ki",
        labels={
            "node-role.kubernetes.io/control-plane": "",
            "node.kubernetes.io/exclude-from-external-load-balancers": "",
        },
        taints=[{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
    ),
    node("worker-1", "4", "16283404Ki", labels={"topology.kubernetes.io/zone": "z1"}),
    node("worker-2", "8", "32599284Ki", labels={"topology.kubernetes.io/zone": "z2"}),
    node(
        "worker-3",
        "8",
        "32599284Ki",
        labels={"topology.kubernetes.io/zone": "z2"},
        ready=False,
        taints=[
            {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule", "timeAdded": "2026-01-05T09:00:00Z"},
            {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": "2026-01-05T09:00:05Z"},
        ],
    ),
    node(
        "gpu-1",
        "32",
        "263856732Ki",
        labels={"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB", "topology.kubernetes.io/zone": "z1"},
        taints=[{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}],
        gpus=4,
    ),
]

DAEMONSET_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]


def pod(name, ns, requests, node_name=None, phase=None, created="2026-01-05T10:00:00Z", **spec):
    containers = [
        {
            "name": "main",
            "image": f"registry.example.com/{name.split('-')[0]}:1.4.2",
            "resources": {"requests": requests, "limits": dict(requests)} if requests else {},
            "terminationMessagePolicy": "File",
        }
    ]
    body = {
        "containers": containers,
        "dnsPolicy": "ClusterFirst",
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "serviceAccountName": "default",
        "terminationGracePeriodSeconds": 30,
        "tolerations": [
            {
                "key": "node.kubernetes.io/not-ready",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300,
            },
            {
                "key": "node.kubernetes.io/unreachable",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300,
            },
        ],
        "priority": 0,
        **spec,
    }
    if node_name:
        body["nodeName"] = node_name
    status = {"phase": phase or ("Running" if node_name else "Pending"), "qosClass": "Burstable"}
    if not node_name:
        status["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": ns,
            "uid": f"uid-{ns}-{name}",
            "resourceVersion": "40001",
            "creationTimestamp": created,
            "labels": {"app": name.split("-")[0]},
        },
        "spec": body,
        "status": status,
    }


def daemon_pod(node_name, suffix, bound=True):
    pinned = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}
                ]
            }
        }
    }
    p = pod(
        f"kube-proxy-{suffix}",
        "kube-system",
        {},
        node_name if bound else None,
        affinity=pinned,
        priorityClassName="system-node-critical",
        priority=2000001000,
        hostNetwork=True,
    )
    p["spec"]["tolerations"] = [{"operator": "Exists"}] if bound else copy.deepcopy(DAEMONSET_TOLERATIONS)
    p["metadata"]["ownerReferences"] = [
        {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "kube-proxy", "uid": "uid-ds", "controller": True}
    ]
    return p


def static_pod(name, cpu, memory=None):
    requests = {"cpu": cpu, **({"memory": memory} if memory else {})}
    p = pod(
        f"{name}-cp-1", "kube-system", requests, "cp-1", priorityClassName="system-node-critical", priority=2000001000
    )
    p["spec"]["tolerations"] = [{"operator": "Exists", "effect": "NoExecute"}]
    p["spec"]["containers"][0]["resources"] = {"requests": requests}
    return p


BOUND = [
    static_pod("etcd", "100m", "100Mi"),
    static_pod("kube-apiserver", "250m"),
    static_pod("kube-scheduler", "100m"),
    daemon_pod("cp-1", "7xk2p"),
    daemon_pod("worker-1", "b9fq4"),
    daemon_pod("worker-2", "mm2sd"),
    daemon_pod("gpu-1", "q8r5t"),
    # worker-1 is overcommitted: 5 cpu and 18Gi requested on 4 cpu and ~15.5Gi allocatable.
    pod("api-6d4b9c-x2x8l", "default", {"cpu": "2", "memory": "8Gi"}, "worker-1"),
    pod("api-6d4b9c-9kq7d", "default", {"cpu": "3", "memory": "10Gi"}, "worker-1"),
    pod("web-5f7c8d-7hpl2", "default", {"cpu": "500m", "memory": "512Mi"}, "worker-2"),
    pod(
        "train-0",
        "batch",
        {"cpu": "8", "memory": "64Gi", "nvidia.com/gpu": "2"},
        "gpu-1",
        tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    ),
    pod("report-28712345-zt9vc", "batch", {"cpu": "4"}, "worker-2", phase="Succeeded"),
]
DUPLICATED = "web-5f7c8d-7hpl2"  # listed three times, as dumps merged from several sources do

PENDING = [
    pod("web-5f7c8d-q4w7n", "default", {"cpu": "500m", "memory": "512Mi"}, created="2026-01-05T10:05:00Z"),
    pod("web-5f7c8d-v8z2m", "default", {"cpu": "500m", "memory": "512Mi"}, created="2026-01-05T10:05:01Z"),
    daemon_pod("worker-3", "h7gcw", bound=False),
    pod(
        "train-1",
        "batch",
        {"cpu": "4", "memory": "32Gi", "nvidia.com/gpu": "1"},
        created="2026-01-05T10:06:00Z",
        tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    ),
    pod("etl-0", "batch", {"cpu": "2", "memory": "4Gi"}, created="2026-01-05T10:07:00Z"),
    pod("huge-0", "batch", {"cpu": "64", "memory": "1Ti"}, created="2026-01-05T10:08:00Z"),
]


def pods_with_duplicates(pods):
    out = []
    for p in pods:
        out.append(p)
        if p["metadata"]["name"] == DUPLICATED:
            out += [copy.deepcopy(p), copy.deepcopy(p)]
    return out


def as_list(items):
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}


def typed_list(kind, items):
    """A typed list as kubectl cluster-info dump prints it: the items carry no kind nor apiVersion."""
    stripped = []
    for item in items:
        item = copy.deepcopy(item)
        item.pop("kind", None)
        item.pop("apiVersion", None)
        stripped.append(item)
    return {"kind": f"{kind}List", "apiVersion": "v1", "metadata": {"resourceVersion": "41400"}, "items": stripped}


def write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=4) + "\n")


def write_yaml(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def cluster_info_dump(nodes, pods) -> tuple[str, dict[str, object]]:
    """(stdout, {relative path: content}) of `kubectl cluster-info dump` over `nodes` and `pods`."""
    chunks = [json.dumps(typed_list("Node", nodes), indent=4)]
    files: dict[str, object] = {"nodes.json": typed_list("Node", nodes)}
    for ns in NAMESPACES:
        ns_pods = [p for p in pods if p["metadata"]["namespace"] == ns]
        event = {
            "metadata": {"name": f"{ns}.17a", "namespace": ns},
            "reason": "FailedScheduling",
            "type": "Warning",
            "message": "0/5 nodes are available: 1 node(s) had untolerated taint.",
        }
        for kind, items in (
            ("Event", [event]),
            ("ReplicationController", []),
            ("Service", [{"metadata": {"name": "kubernetes", "namespace": ns}, "spec": {"type": "ClusterIP"}}]),
            ("DaemonSet", []),
            ("Deployment", []),
            ("ReplicaSet", []),
            ("Pod", ns_pods),
        ):
            listed = typed_list(kind, items)
            chunks.append(json.dumps(listed, indent=4))
            files[f"{ns}/{DUMP_FILES[kind]}"] = listed
        for p in ns_pods:
            ref = f"{ns}/{p['metadata']['name']}"
            log = (
                f"==== START logs for container main of pod {ref} ====\n"
                'I0105 10:00:01.000000       1 server.go:123] "Starting" version="v1.35.0"\n'
                '{"level":"info","ts":1736071201.0,"msg":"listening","addr":":8080"}\n'
                f"==== END logs for container main of pod {ref} ====\n"
            )
            chunks.append(log.rstrip("\n"))
            files[f"{ref}/logs.txt"] = log
    return "\n".join(chunks) + "\n", files


def main() -> None:
    bound = pods_with_duplicates(BOUND)
    pods = bound + PENDING
    write_json(HERE / "get-list.json", as_list(NODES + pods))
    write_yaml(HERE / "get-list.yaml", as_list(NODES + pods))
    write_json(HERE / "separate" / "nodes.json", as_list(NODES))
    write_json(HERE / "separate" / "pods.json", as_list(pods))
    write_yaml(HERE / "per-namespace" / "nodes.yaml", as_list(NODES))
    for ns in NAMESPACES:
        write_yaml(
            HERE / "per-namespace" / "pods" / f"{ns}.yaml",
            as_list([p for p in pods if p["metadata"]["namespace"] == ns]),
        )
    stdout, files = cluster_info_dump(NODES, pods)
    (HERE / "cluster-info-dump.txt").write_text(stdout)
    for rel, content in files.items():
        path = HERE / "cluster-info-dump" / rel
        if isinstance(content, str):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        else:
            write_json(path, content)
    write_json(HERE / "no-pending.json", as_list(NODES + bound))
    unschedulable = [p for p in PENDING if p["metadata"]["name"] in ("huge-0", "kube-proxy-h7gcw")]
    write_json(HERE / "only-unschedulable.json", as_list(NODES + bound + unschedulable))
    workload = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "shop", "namespace": "default"},
        "spec": {
            "replicas": 6,
            "template": {
                "metadata": {"labels": {"app": "shop"}},
                "spec": {
                    "containers": [
                        {
                            "name": "main",
                            "image": "registry.example.com/shop:2",
                            "resources": {"requests": {"cpu": "750m", "memory": "1Gi"}},
                        }
                    ]
                },
            },
        },
    }
    write_yaml(HERE / "workload.yaml", workload)


if __name__ == "__main__":
    main()
