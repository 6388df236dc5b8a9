"""Cases from kubernetes/kubernetes pkg/scheduler/framework/plugins/noderesources/balanced_allocation_test.go
@ 00fdb4ffc64976886691c99434ab5b01fa54f8fe (TestNodeResourcesBalancedAllocation).

This is the v1.35-era version of the file (it imports ``fwk "k8s.io/kube-scheduler/framework"`` and
``pkg/scheduler/backend/cache``, has the DRAExtendedResource cases and TestBalancedAllocationSignPod) whose
expectations follow the pre-#135573 formula ``score = int64((1 - std) * MaxNodeScore)``; every expected value
below is the upstream one, copied unchanged (none is computed here).

Transcription notes:
- upstream ``makeNode(name, milliCPU, memory, extended)`` sets capacity = allocatable = {cpu: <milliCPU>m,
  memory: <memory>, <extended>...}; it sets no ``pods`` entry (irrelevant for Score).
- the upstream incoming pods ``cpuAndMemory`` / ``cpuOnly`` specs carry ``nodeName``; the incoming pod here
  has none (a pod being scheduled; the plugin never reads it). ``st.MakePod().Obj()`` has no containers;
  here it is a single container without requests (the API-valid equivalent: same requests).
- "nothing scheduled, nothing requested, skip in PreScore": upstream asserts PreScore returns Skip; per the
  kube.score contract a skipped plugin scores 0 on every node.
- the two "... if PreScore not called" cases run Score without PreScore upstream; kube.score always runs
  PreScore, and upstream expects the same scores either way.

Left out:
- "include DRA resource on a node for balanced resource allocation" and its "... if PreScore not called"
  variant: they need DRA (DeviceClass with extendedResourceName + ResourceSlices), which podgym does not model.
- TestBalancedAllocationSignPod: SignPod (opportunistic batching signatures) is not a score test and is not
  modelled.
"""

from __future__ import annotations

from typing import Any

import pytest

import podgym.envs.kube as kube
from tests.kube.builders import node, on_node, pod

PLUGIN = "NodeResourcesBalancedAllocation"

CPU_MEM_ARGS = {"resources": [{"name": "cpu", "weight": 1}, {"name": "memory", "weight": 1}]}
CPU_MEM_GPU_ARGS = {
    "resources": [
        {"name": "cpu", "weight": 1},
        {"name": "memory", "weight": 1},
        {"name": "nvidia.com/gpu", "weight": 1},
    ]
}


def make_node(name: str, milli_cpu: int, memory: int, extended: dict[str, int] | None = None) -> dict[str, Any]:
    """Upstream makeNode: capacity = allocatable = cpu (milli), memory (bytes) and extended resources."""
    alloc = {"cpu": f"{milli_cpu}m", "memory": str(memory)}
    alloc.update({k: str(v) for k, v in (extended or {}).items()})
    return node(name, allocatable=alloc)


# Upstream pod specs (containers' requests).
CPU_ONLY = [{"cpu": "1000m", "memory": "0"}, {"cpu": "2000m", "memory": "0"}]
CPU_AND_MEMORY = [{"cpu": "1000m", "memory": "2000"}, {"cpu": "2000m", "memory": "3000"}]
CPU_AND_MEMORY_AND_GPU = [{"cpu": "1000m", "memory": "2000"}, {"cpu": "2000m", "memory": "3000", "nvidia.com/gpu": "3"}]


def running(name: str, containers: list[dict[str, Any]], node_name: str) -> dict[str, Any]:
    return on_node(pod(name, containers=containers), node_name)


# (id, incoming pod containers, nodes, running pods, args, expected scores)
CASES = [
    (
        "nothing scheduled, nothing requested, skip in PreScore",
        [{}],
        [make_node("node1", 4000, 10000), make_node("node2", 4000, 10000)],
        [],
        CPU_MEM_ARGS,
        {"node1": 0, "node2": 0},
    ),
    (
        "nothing scheduled, resources requested, differently sized nodes",
        CPU_AND_MEMORY,
        [make_node("node1", 4000, 10000), make_node("node2", 6000, 10000)],
        [],
        CPU_MEM_ARGS,
        {"node1": 87, "node2": 100},
    ),
    (
        "resources requested, pods scheduled with resources",
        CPU_AND_MEMORY,
        [make_node("node1", 10000, 20000), make_node("node2", 10000, 20000)],
        [("cpu-only", CPU_ONLY, "node1"), ("cpu-and-memory", CPU_AND_MEMORY, "node2")],
        CPU_MEM_ARGS,
        {"node1": 82, "node2": 95},
    ),
    (
        "resources requested, pods scheduled with resources, differently sized nodes",
        CPU_AND_MEMORY,
        [make_node("node1", 10000, 20000), make_node("node2", 10000, 50000)],
        [("cpu-only", CPU_ONLY, "node1"), ("cpu-and-memory", CPU_AND_MEMORY, "node2")],
        CPU_MEM_ARGS,
        {"node1": 82, "node2": 80},
    ),
    (
        "requested resources at node capacity",
        CPU_ONLY,
        [make_node("node1", 6000, 10000), make_node("node2", 6000, 10000)],
        [("cpu-only", CPU_ONLY, "node1"), ("cpu-and-memory", CPU_AND_MEMORY, "node2")],
        CPU_MEM_ARGS,
        {"node1": 50, "node2": 75},
    ),
    (
        "include scalar resource on a node for balanced resource allocation",
        [{"memory": "0", "nvidia.com/gpu": "1"}],
        [
            make_node("node1", 3500, 40000, {"nvidia.com/gpu": 8}),
            make_node("node2", 3500, 40000, {"nvidia.com/gpu": 8}),
        ],
        [("cpu-and-memory", CPU_AND_MEMORY, "node2"), ("cpu-and-memory-and-gpu", CPU_AND_MEMORY_AND_GPU, "node1")],
        CPU_MEM_GPU_ARGS,
        {"node1": 70, "node2": 65},
    ),
    (
        "node without the scalar resource should skip the scalar resource",
        CPU_AND_MEMORY,
        [make_node("node1", 3500, 40000, {"nvidia.com/gpu": 8}), make_node("node2", 3500, 40000)],
        [],
        CPU_MEM_GPU_ARGS,
        {"node1": 63, "node2": 63},
    ),
    (
        "resources requested, pods scheduled with resources if PreScore not called",
        CPU_AND_MEMORY,
        [make_node("node1", 10000, 20000), make_node("node2", 10000, 20000)],
        [("cpu-only", CPU_ONLY, "node1"), ("cpu-and-memory", CPU_AND_MEMORY, "node2")],
        CPU_MEM_ARGS,
        {"node1": 82, "node2": 95},
    ),
]


@pytest.mark.parametrize(
    ("containers", "nodes", "running_pods", "args", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_node_resources_balanced_allocation(
    containers: list[dict[str, Any]],
    nodes: list[dict[str, Any]],
    running_pods: list[tuple[str, list[dict[str, Any]], str]],
    args: dict[str, Any],
    expected: dict[str, int],
) -> None:
    incoming = pod("incoming", containers=containers)
    pods = [running(name, spec, node_name) for name, spec, node_name in running_pods]
    assert kube.score(incoming, nodes, pods, plugin=PLUGIN, args=args) == expected
