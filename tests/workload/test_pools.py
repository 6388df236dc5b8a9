"""Node pools -> Node dicts that envs.kube accepts, with the right names, labels, taints and allocatable."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

import podgym.envs.kube as kube
from podgym.envs.workload import GPU_MODEL_LABEL, GPU_RESOURCE, NodePool, cluster_from_pools, nodes_from_pools

GIB = 1 << 30

POOLS = [
    {"name": "cpu", "count": 3, "cpu": "8", "memory": "32Gi", "zones": ["z1", "z2"]},
    {
        "name": "gpu-a100",
        "count": 2,
        "cpu": "63500m",
        "memory": "500Gi",
        "ephemeral_storage": "1Ti",
        "pods": 64,
        "gpus": 8,
        "gpu_model": "NVIDIA-A100-SXM4-80GB",
        "labels": {"team": "ml"},
        "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}],
        "zones": "z3",
    },
]


def test_nodes_are_named_per_pool_and_parse():
    nodes = nodes_from_pools(POOLS)
    assert [n["metadata"]["name"] for n in nodes] == ["cpu-0", "cpu-1", "cpu-2", "gpu-a100-0", "gpu-a100-1"]
    parsed = kube.parse_nodes(nodes)
    assert [n.name for n in parsed] == ["cpu-0", "cpu-1", "cpu-2", "gpu-a100-0", "gpu-a100-1"]


def test_cpu_pool_node_shape():
    node = nodes_from_pools(POOLS)[1]
    assert node["apiVersion"] == "v1" and node["kind"] == "Node"
    labels = node["metadata"]["labels"]
    assert labels["kubernetes.io/hostname"] == "cpu-1"
    assert labels["kubernetes.io/arch"] == "amd64"
    assert labels["topology.kubernetes.io/zone"] == "z2"  # round-robin over zones
    assert GPU_MODEL_LABEL not in labels
    expected = {"cpu": "8", "memory": "32Gi", "ephemeral-storage": "100Gi", "pods": "110"}
    assert node["status"]["allocatable"] == expected
    assert node["status"]["capacity"] == expected
    assert "taints" not in node["spec"]
    parsed = kube.parse_node(node)
    assert parsed.allocatable == {"cpu": 8000, "memory": 32 * GIB, "ephemeral-storage": 100 * GIB, "pods": 110}


def test_zones_round_robin():
    zones = [n["metadata"]["labels"]["topology.kubernetes.io/zone"] for n in nodes_from_pools(POOLS)]
    assert zones == ["z1", "z2", "z1", "z3", "z3"]


def test_gpu_pool_node():
    node = kube.parse_node(nodes_from_pools(POOLS)[4])
    assert node.labels[GPU_MODEL_LABEL] == "NVIDIA-A100-SXM4-80GB"
    assert node.labels["team"] == "ml"
    assert node.labels["kubernetes.io/hostname"] == "gpu-a100-1"
    assert node.allocatable == {
        "cpu": 63500,
        "memory": 500 * GIB,
        "ephemeral-storage": 1 << 40,
        "pods": 64,
        GPU_RESOURCE: 8,
    }
    assert [(t.key, t.value, t.effect) for t in node.taints] == [("nvidia.com/gpu", "present", "NoSchedule")]


def test_pool_nodes_work_with_the_scheduler():
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "4", GPU_RESOURCE: "1"}}}]},
    }
    verdicts = kube.filter(pod, nodes_from_pools(POOLS), plugin="TaintToleration")
    assert verdicts["cpu-0"] is None
    assert verdicts["gpu-a100-0"] == "node(s) had untolerated taint(s)"
    fit = kube.filter(pod, nodes_from_pools(POOLS), plugin="NodeResourcesFit")
    assert fit["gpu-a100-0"] is None and "Insufficient nvidia.com/gpu" in fit["cpu-0"]


def test_numbers_become_quantity_strings():
    pool = NodePool(name="small", count=1, cpu=0.5, memory=1073741824)
    node = pool.node(0)
    assert node["status"]["allocatable"]["cpu"] == "500m"
    assert node["status"]["allocatable"]["memory"] == "1073741824"
    assert kube.parse_node(node).allocatable["cpu"] == 500


def test_cluster_from_pools():
    cluster = cluster_from_pools(POOLS)
    assert len(cluster.nodes) == 5 and cluster.initial is None and cluster.bound_to == []


def test_empty_pool_and_unschedulable():
    nodes = nodes_from_pools(
        [
            {"name": "none", "count": 0, "cpu": "1", "memory": "1Gi"},
            {"name": "off", "count": 1, "cpu": "1", "memory": "1Gi", "unschedulable": True},
        ]
    )
    assert [n["metadata"]["name"] for n in nodes] == ["off-0"]
    assert kube.parse_node(nodes[0]).unschedulable


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"cpu": "1.5.3"}, "cpu"),
        ({"memory": "-1Gi"}, "memory"),
        ({"gpus": 2}, "gpu_model is required"),
        ({"gpu_model": "T4"}, "no gpus"),
        ({"name": "Bad_Name"}, "name"),
        ({"cpus": "8"}, "cpus"),  # a typo: extra fields are forbidden
        ({"count": -1}, "count"),
        ({"taints": [{"key": "k", "effect": "Sometimes"}]}, "effect"),
        ({"labels": {"bad key!": "x"}}, "labels"),
        ({"zones": []}, "zones"),
    ],
)
def test_bad_pool_is_a_validation_error_naming_the_field(change, field):
    spec = {"name": "p", "count": 1, "cpu": "1", "memory": "1Gi", **change}
    with pytest.raises(ValidationError) as info:
        NodePool.model_validate(spec)
    assert field in str(info.value)


def test_duplicate_pool_names():
    pool = {"name": "p", "count": 1, "cpu": "1", "memory": "1Gi"}
    with pytest.raises(ValueError, match="duplicate node pool name 'p'"):
        nodes_from_pools([pool, pool])
