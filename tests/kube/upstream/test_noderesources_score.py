"""NodeResourcesFit scoring cases transcribed from upstream Kubernetes.

Sources (kubernetes/kubernetes, pkg/scheduler/framework/plugins/noderesources/):
- least_allocated_test.go @ 008b3652959ca58af8be3fb5b6ecfe9ae7638282 (TestLeastAllocatedScoringStrategy)
- most_allocated_test.go @ 072825f9a367e9ca0f73f91830945f1b7f46e0d9 (TestMostAllocatedScoringStrategy)
- requested_to_capacity_ratio_test.go @ 8519d3399f10be33a45da368a48ee763acbe3999
  (TestRequestedToCapacityRatioScoringStrategy, TestResourceBinPackingSingleExtended,
  TestResourceBinPackingMultipleExtended)
- helpers from test_util.go: extendedRes = "abc.com/xyz"; extendedResourceSet = cpu:1, memory:1, abc.com/xyz:1;
  makeNode(name, milliCPU, memory, ext) sets capacity = allocatable = {cpu: milliCPU m, memory: bytes, ext...}.
  `st.MakeNode().Capacity(m)` sets capacity = allocatable = {pods: 32} + m; `st.MakeNode()` alone gives {pods: 32}.
  `st.MakePod().Obj()` has no containers at all (requests nothing, so no non-zero defaults), hence `bare_pod`;
  each `Req(m)` adds one container requesting m; `Container(s)` adds one container without requests.

Upstream builds the plugin from the internal config (no v1 defaulting); podgym takes v1 args, so:
- "resource with negative weight" / "resource weight larger than MaxNodeScore": validation errors, asserted with
  pytest.raises(ValueError) (kube.KubeObjectError is a ValueError) matching upstream's field path.
- "resource with zero weight": upstream expects a validation error on the internal config, but v1 defaulting
  (apis/config/v1/defaults.go SetDefaults_NodeResourcesFitArgs) turns weight 0 into 1 before validation, so through
  v1 args it is valid. Transcribed as `test_v1_defaulting_*`: no error, and the score equals the upstream score of the
  same pod/node with weight 1 (the "nothing scheduled, resources requested, differently sized nodes" case).
- "Resources not set, pods scheduled with error": upstream expects Score to return an Error status for nil
  resources; v1 defaulting fills the default set (cpu:1, memory:1), so this is transcribed the same way as above.

Left out:
- TestBrokenLinearFunction: it checks helper.BuildBrokenLinearFunction on the *unscaled* shape (scores 0..10) at
  utilizations such as -10 and 110 with int64 division; through kube.score the shape is multiplied by 10 first and
  utilization is clamped to 0..100, so its expected values cannot be observed through the API.
- In TestResourceBinPacking{Single,Multiple}Extended, the unbound `st.MakePod().Obj()` listed as an existing pod
  (no nodeName) is dropped: upstream's snapshot files it under node "" which is not scored, and podgym's `pods`
  are running pods with spec.nodeName.
- Newer forks add a `scoreAllResources` case (NodeResourcesFitArgs.ScoreAllResources, a KEP after v1.35): not in v1.35.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

import podgym.envs.kube as kube
from tests.kube.builders import bare_pod, container, node, on_node, pod

EXT = "abc.com/xyz"  # upstream extendedRes
DEFAULT_RESOURCES = [("cpu", 1), ("memory", 1)]
EXTENDED_RESOURCE_SET = [("cpu", 1), ("memory", 1), (EXT, 1)]
RTCR_SHAPE = [(0, 10), (100, 0)]
BIN_PACKING_SHAPE = [(0, 0), (100, 1)]


def _node(name: str, capacity: dict[str, str] | None = None) -> dict[str, Any]:
    """st.MakeNode().Name(name).Capacity(capacity)."""
    return node(name, allocatable={"pods": "32", **(capacity or {})})


def _make_node(name: str, milli_cpu: int, memory: str, ext: dict[str, str]) -> dict[str, Any]:
    """test_util.go makeNode(name, milliCPU, memory, extendedResource)."""
    return node(name, allocatable={"cpu": f"{milli_cpu}m", "memory": memory, **ext})


def _pod(name: str, *reqs: dict[str, str], node_name: str | None = None) -> dict[str, Any]:
    """st.MakePod()[.Node(node_name)].Req(reqs[0]).Req(reqs[1])...Obj()."""
    if not reqs:
        return bare_pod(name, node_name=node_name)
    return pod(name, containers=[container(r, name=f"con{i}") for i, r in enumerate(reqs)], node_name=node_name)


def _running(name: str, node_name: str, *reqs: dict[str, str]) -> dict[str, Any]:
    """st.MakePod().Node(node_name).Req(...)...Obj() as an existing pod."""
    return on_node(_pod(name, *reqs), node_name)


def _no_request_container_pod(name: str) -> dict[str, Any]:
    """st.MakePod().Container("container").Obj(): one container without requests."""
    return pod(name, containers=[container(name="con0")])


def _fit_args(
    strategy: str, resources: list[tuple[str, int]] | None, shape: list[tuple[int, int]] | None = None
) -> dict[str, Any]:
    scoring: dict[str, Any] = {"type": strategy}
    if resources is not None:
        scoring["resources"] = [{"name": n, "weight": w} for n, w in resources]
    if shape is not None:
        scoring["requestedToCapacityRatio"] = {"shape": [{"utilization": u, "score": s} for u, s in shape]}
    return {"scoringStrategy": scoring}


REQ_1000_2000 = {"cpu": "1000", "memory": "2000"}
REQ_2000_3000 = {"cpu": "2000", "memory": "3000"}


def _two_container_pod(name: str = "pod", node_name: str | None = None) -> dict[str, Any]:
    return _pod(name, REQ_1000_2000, REQ_2000_3000, node_name=node_name)


# --------------------------------------------------------------------------------------------------------------------
# TestLeastAllocatedScoringStrategy
# --------------------------------------------------------------------------------------------------------------------

LEAST_ALLOCATED_CASES = [
    pytest.param(
        _pod("pod"),
        [_node("node1", {"cpu": "4000", "memory": "10000"}), _node("node2", {"cpu": "4000", "memory": "10000"})],
        [],
        DEFAULT_RESOURCES,
        {"node1": 100, "node2": 100},
        id="nothing scheduled, nothing requested",
    ),
    pytest.param(
        _two_container_pod(),
        [_node("node1", {"cpu": "4000", "memory": "10000"}), _node("node2", {"cpu": "6000", "memory": "10000"})],
        [],
        DEFAULT_RESOURCES,
        {"node1": 37, "node2": 50},
        id="nothing scheduled, resources requested, differently sized nodes",
    ),
    pytest.param(
        _pod("pod"),
        [_node("node1", {"cpu": "4000", "memory": "10000"}), _node("node2", {"cpu": "4000", "memory": "10000"})],
        [_running("e1", "node1"), _running("e2", "node1"), _running("e3", "node2"), _running("e4", "node2")],
        DEFAULT_RESOURCES,
        {"node1": 100, "node2": 100},
        id="no resources requested, pods scheduled",
    ),
    pytest.param(
        _pod("pod"),
        [_node("node1", {"cpu": "10000", "memory": "20000"}), _node("node2", {"cpu": "10000", "memory": "20000"})],
        [
            _running("e1", "node1", {"cpu": "3000", "memory": "0"}),
            _running("e2", "node1", {"cpu": "3000", "memory": "0"}),
            _running("e3", "node2", {"cpu": "3000", "memory": "0"}),
            _running("e4", "node2", {"cpu": "3000", "memory": "5000"}),
        ],
        DEFAULT_RESOURCES,
        {"node1": 70, "node2": 57},
        id="no resources requested, pods scheduled with resources",
    ),
    pytest.param(
        _two_container_pod(),
        [_node("node1", {"cpu": "10000", "memory": "20000"}), _node("node2", {"cpu": "10000", "memory": "20000"})],
        [
            _running("e1", "node1", {"cpu": "3000", "memory": "0"}),
            _running("e2", "node2", {"cpu": "3000", "memory": "5000"}),
        ],
        DEFAULT_RESOURCES,
        {"node1": 57, "node2": 45},
        id="resources requested, pods scheduled with resources",
    ),
    pytest.param(
        _two_container_pod(),
        [_node("node1", {"cpu": "10000", "memory": "20000"}), _node("node2", {"cpu": "10000", "memory": "50000"})],
        [
            _running("e1", "node1", {"cpu": "3000", "memory": "0"}),
            _running("e2", "node2", {"cpu": "3000", "memory": "5000"}),
        ],
        DEFAULT_RESOURCES,
        {"node1": 57, "node2": 60},
        id="resources requested, pods scheduled with resources, differently sized nodes",
    ),
    pytest.param(
        _pod("pod", {"cpu": "3000", "memory": "0"}),
        [_node("node1", {"cpu": "4000", "memory": "10000"}), _node("node2", {"cpu": "4000", "memory": "10000"})],
        [
            _running("e1", "node1", {"cpu": "3000", "memory": "0"}),
            _running("e2", "node2", {"cpu": "3000", "memory": "5000"}),
        ],
        DEFAULT_RESOURCES,
        {"node1": 50, "node2": 25},
        id="requested resources exceed node capacity",
    ),
    pytest.param(
        _pod("pod"),
        [_node("node1"), _node("node2")],
        [
            _running("e1", "node1", {"cpu": "3000", "memory": "0"}),
            _running("e2", "node2", {"cpu": "3000", "memory": "5000"}),
        ],
        DEFAULT_RESOURCES,
        {"node1": 0, "node2": 0},
        id="zero node resources, pods scheduled with resources",
    ),
    pytest.param(
        _two_container_pod(node_name="node1"),
        [_node("node1", {"cpu": "4000", "memory": "10000"}), _node("node2", {"cpu": "6000", "memory": "10000"})],
        [],
        [("memory", 2), ("cpu", 1)],
        {"node1": 41, "node2": 50},
        id="nothing scheduled, resources requested with different weight on CPU and memory, differently sized nodes",
    ),
    pytest.param(
        _two_container_pod(node_name="node1"),
        [
            _node("node1", {"cpu": "6000", "memory": "10000"}),
            _node("node2", {"cpu": "6000", "memory": "10000", EXT: "4"}),
        ],
        [],
        EXTENDED_RESOURCE_SET,
        {"node1": 50, "node2": 50},
        id="bypass extended resource if the pod does not request",
    ),
    pytest.param(
        _pod("pod", {"cpu": "3000", "memory": "5000", EXT: "2"}, node_name="node1"),
        [
            _node("node1", {"cpu": "6000", "memory": "10000", EXT: "4"}),
            _node("node2", {"cpu": "6000", "memory": "10000", EXT: "10"}),
        ],
        [],
        EXTENDED_RESOURCE_SET,
        {"node1": 50, "node2": 60},
        id="honor extended resource if the pod requests",
    ),
    pytest.param(
        _pod("pod", {"cpu": "3000", "memory": "4000"}, node_name="node1"),
        [
            _node("node1", {"cpu": "6000", "memory": "10000"}),
            _node("node2", {"cpu": "6000", "memory": "10000", EXT: "4"}),
        ],
        [],
        [(EXT, 2), ("cpu", 1), ("memory", 1)],
        {"node1": 55, "node2": 55},
        id="if the node doesn't have a resource",
    ),
]


@pytest.mark.parametrize(("requested_pod", "nodes", "existing_pods", "resources", "expected"), LEAST_ALLOCATED_CASES)
def test_least_allocated_scoring_strategy(requested_pod, nodes, existing_pods, resources, expected):
    args = _fit_args("LeastAllocated", resources)
    assert kube.score(requested_pod, nodes, existing_pods, plugin="NodeResourcesFit", args=args) == expected


# --------------------------------------------------------------------------------------------------------------------
# TestMostAllocatedScoringStrategy
# --------------------------------------------------------------------------------------------------------------------

MOST_ALLOCATED_CASES = [
    pytest.param(
        _pod("pod"),
        [_node("node1", {"cpu": "4000", "memory": "10000"}), _node("node2", {"cpu": "4000", "memory": "10000"})],
        [],
        DEFAULT_RESOURCES,
        {"node1": 0, "node2": 0},
        id="nothing scheduled, nothing requested",
    ),
    pytest.param(
        _two_container_pod(),
        [_node("node1", {"cpu": "4000", "memory": "10000"}), _node("node2", {"cpu": "6000", "memory": "10000"})],
        [],
        DEFAULT_RESOURCES,
        {"node1": 62, "node2": 50},
        id="nothing scheduled, resources requested, differently sized nodes",
    ),
    pytest.param(
        _pod("pod"),
        [_node("node1", {"cpu": "10000", "memory": "20000"}), _node("node2", {"cpu": "10000", "memory": "20000"})],
        [
            _running("e1", "node1", {"cpu": "3000", "memory": "0"}),
            _running("e2", "node1", {"cpu": "3000", "memory": "0"}),
            _running("e3", "node2", {"cpu": "3000", "memory": "0"}),
            _running("e4", "node2", {"cpu": "3000", "memory": "5000"}),
        ],
        DEFAULT_RESOURCES,
        {"node1": 30, "node2": 42},
        id="no resources requested, pods scheduled with resources",
    ),
    pytest.param(
        _two_container_pod(),
        [_node("node1", {"cpu": "10000", "memory": "20000"}), _node("node2", {"cpu": "10000", "memory": "20000"})],
        [
            _running("e1", "node1", {"cpu": "3000", "memory": "0"}),
            _running("e2", "node2", {"cpu": "3000", "memory": "5000"}),
        ],
        DEFAULT_RESOURCES,
        {"node1": 42, "node2": 55},
        id="resources requested, pods scheduled with resources",
    ),
    pytest.param(
        _pod("pod", {"cpu": "2000", "memory": "4000"}, {"cpu": "3000", "memory": "5000"}),
        [_node("node1", {"cpu": "5000", "memory": "10000"}), _node("node2", {"cpu": "10000", "memory": "9000"})],
        [],
        DEFAULT_RESOURCES,
        {"node1": 95, "node2": 75},
        id="resources requested equal node capacity",
    ),
    pytest.param(
        _two_container_pod(),
        [_node("node1", {"cpu": "4000", "memory": "10000"}), _node("node2", {"cpu": "6000", "memory": "10000"})],
        [],
        [("memory", 2), ("cpu", 1)],
        {"node1": 58, "node2": 50},
        # upstream reuses the name of the second case; pytest appends an index to duplicate ids
        id="nothing scheduled, resources requested, differently sized nodes",
    ),
    pytest.param(
        _no_request_container_pod("pod"),
        [_node("node1", {"cpu": "250m", "memory": "1000Mi"}), _node("node2", {"cpu": "250m", "memory": "1000Mi"})],
        [on_node(_no_request_container_pod("e1"), "node1"), on_node(_no_request_container_pod("e2"), "node1")],
        DEFAULT_RESOURCES,
        {"node1": 80, "node2": 30},
        id="no resources requested, pods scheduled, nonzero request for resource",
    ),
    pytest.param(
        _two_container_pod(),
        [
            _node("node1", {"cpu": "6000", "memory": "10000"}),
            _node("node2", {"cpu": "6000", "memory": "10000", EXT: "4"}),
        ],
        [],
        EXTENDED_RESOURCE_SET,
        {"node1": 50, "node2": 50},
        id="bypass extended resource if the pod does not request",
    ),
    pytest.param(
        _pod("pod", {"cpu": "3000", "memory": "5000", EXT: "2"}, node_name="node1"),
        [
            _node("node1", {"cpu": "6000", "memory": "10000", EXT: "4"}),
            _node("node2", {"cpu": "6000", "memory": "10000", EXT: "10"}),
        ],
        [],
        EXTENDED_RESOURCE_SET,
        {"node1": 50, "node2": 40},
        id="honor extended resource if the pod request",
    ),
    pytest.param(
        _pod("pod", {"cpu": "3000", "memory": "4000"}, node_name="node1"),
        [
            _node("node1", {"cpu": "6000", "memory": "10000"}),
            _node("node2", {"cpu": "6000", "memory": "10000", EXT: "4"}),
        ],
        [],
        [(EXT, 2), ("cpu", 1), ("memory", 1)],
        {"node1": 45, "node2": 45},
        id="if the node doesn't have a resource",
    ),
]


@pytest.mark.parametrize(("requested_pod", "nodes", "existing_pods", "resources", "expected"), MOST_ALLOCATED_CASES)
def test_most_allocated_scoring_strategy(requested_pod, nodes, existing_pods, resources, expected):
    args = _fit_args("MostAllocated", resources)
    assert kube.score(requested_pod, nodes, existing_pods, plugin="NodeResourcesFit", args=args) == expected


# --------------------------------------------------------------------------------------------------------------------
# Validation errors (wantErrs) of both tests: upstream asserts an Invalid field.Error on the weight's field path.
# --------------------------------------------------------------------------------------------------------------------

INVALID_WEIGHT_CASES = [
    pytest.param(
        "LeastAllocated",
        _two_container_pod(node_name="node1"),
        [_node("node1", {"cpu": "4000", "memory": "10000"})],
        [("memory", -1), ("cpu", 1)],
        "scoringStrategy.resources[0].weight",
        id="least_allocated: resource with negative weight",
    ),
    pytest.param(
        "LeastAllocated",
        _two_container_pod(node_name="node1"),
        [_node("node1", {"cpu": "4000", "memory": "10000"})],
        [("memory", 1), ("cpu", 101)],
        "scoringStrategy.resources[1].weight",
        id="least_allocated: resource weight larger than MaxNodeScore",
    ),
    pytest.param(
        "MostAllocated",
        _two_container_pod(),
        [_node("node2", {"cpu": "4000", "memory": "10000"})],
        [("memory", -1), ("cpu", 1)],
        "scoringStrategy.resources[0].weight",
        id="most_allocated: resource with negative weight",
    ),
    pytest.param(
        "MostAllocated",
        _two_container_pod(),
        [_node("node2", {"cpu": "4000", "memory": "10000"})],
        [("memory", 101)],
        "scoringStrategy.resources[0].weight",
        id="most_allocated: resource weight larger than MaxNodeScore",
    ),
]


@pytest.mark.parametrize(("strategy", "requested_pod", "nodes", "resources", "field"), INVALID_WEIGHT_CASES)
def test_invalid_resource_weight(strategy, requested_pod, nodes, resources, field):
    with pytest.raises(ValueError, match=re.escape(field)):
        kube.score(requested_pod, nodes, [], plugin="NodeResourcesFit", args=_fit_args(strategy, resources))


# --------------------------------------------------------------------------------------------------------------------
# Upstream cases that fail only on the internal config; through v1 args, defaulting makes them valid (see docstring).
# Expected scores are those of the upstream case "nothing scheduled, resources requested, differently sized nodes"
# for the node with the same capacity (cpu 4000, memory 10000): LeastAllocated 37, MostAllocated 62.
# --------------------------------------------------------------------------------------------------------------------

V1_DEFAULTING_CASES = [
    pytest.param(
        "LeastAllocated",
        _two_container_pod(node_name="node1"),
        [_node("node1", {"cpu": "4000", "memory": "10000"})],
        [("memory", 1), ("cpu", 0)],
        {"node1": 37},
        id="least_allocated: resource with zero weight",
    ),
    pytest.param(
        "LeastAllocated",
        _two_container_pod(),
        [_node("node1", {"cpu": "4000", "memory": "10000"}), _node("node2", {"cpu": "6000", "memory": "10000"})],
        None,
        {"node1": 37, "node2": 50},
        id="least_allocated: Resources not set, pods scheduled with error",
    ),
    pytest.param(
        "MostAllocated",
        _two_container_pod(),
        [_node("node2", {"cpu": "4000", "memory": "10000"})],
        [("memory", 1), ("cpu", 0)],
        {"node2": 62},
        id="most_allocated: resource with zero weight",
    ),
    pytest.param(
        "MostAllocated",
        _two_container_pod(),
        [_node("node1", {"cpu": "4000", "memory": "10000"}), _node("node2", {"cpu": "6000", "memory": "10000"})],
        None,
        {"node1": 62, "node2": 50},
        id="most_allocated: Resources not set, pods scheduled with error",
    ),
]


@pytest.mark.parametrize(("strategy", "requested_pod", "nodes", "resources", "expected"), V1_DEFAULTING_CASES)
def test_v1_defaulting_of_resources_and_zero_weight(strategy, requested_pod, nodes, resources, expected):
    args = _fit_args(strategy, resources)
    assert kube.score(requested_pod, nodes, [], plugin="NodeResourcesFit", args=args) == expected


# --------------------------------------------------------------------------------------------------------------------
# TestRequestedToCapacityRatioScoringStrategy (shape {0,10},{100,0}; resources cpu:1, memory:1)
# --------------------------------------------------------------------------------------------------------------------

RTCR_CASES = [
    pytest.param(
        _pod("pod"),
        [_node("node1", {"cpu": "4000", "memory": "10000"}), _node("node2", {"cpu": "4000", "memory": "10000"})],
        [_running("e1", "node1"), _running("e2", "node1")],
        {"node1": 100, "node2": 100},
        id="nothing scheduled, nothing requested (default - least requested nodes have priority)",
    ),
    pytest.param(
        _two_container_pod(),
        [_node("node1", {"cpu": "4000", "memory": "10000"}), _node("node2", {"cpu": "6000", "memory": "10000"})],
        [_running("e1", "node1"), _running("e2", "node1")],
        {"node1": 38, "node2": 50},
        id="nothing scheduled, resources requested, differently sized nodes (default - least requested nodes have "
        "priority)",
    ),
    pytest.param(
        _pod("pod"),
        [_node("node1", {"cpu": "4000", "memory": "10000"}), _node("node2", {"cpu": "6000", "memory": "10000"})],
        [
            _running("e1", "node1", {"cpu": "3000", "memory": "5000"}),
            _running("e2", "node2", {"cpu": "3000", "memory": "5000"}),
        ],
        {"node1": 38, "node2": 50},
        id="no resources requested, pods scheduled with resources (default - least requested nodes have priority)",
    ),
]


@pytest.mark.parametrize(("requested_pod", "nodes", "existing_pods", "expected"), RTCR_CASES)
def test_requested_to_capacity_ratio_scoring_strategy(requested_pod, nodes, existing_pods, expected):
    args = _fit_args("RequestedToCapacityRatio", DEFAULT_RESOURCES, RTCR_SHAPE)
    assert kube.score(requested_pod, nodes, existing_pods, plugin="NodeResourcesFit", args=args) == expected


# --------------------------------------------------------------------------------------------------------------------
# TestResourceBinPackingSingleExtended (shape {0,0},{100,1}; resources intel.com/foo:1)
# --------------------------------------------------------------------------------------------------------------------


def _single_extended_nodes() -> list[dict[str, Any]]:
    return [
        _make_node("node1", 4000, "10000Mi", {"intel.com/foo": "8"}),  # extendedResource2
        _make_node("node2", 4000, "10000Mi", {"intel.com/foo": "4"}),  # extendedResource1
    ]


SINGLE_EXTENDED_CASES = [
    pytest.param(_pod("pod"), [], {"node1": 0, "node2": 0}, id="nothing scheduled, nothing requested"),
    pytest.param(
        _pod("pod", {"intel.com/foo": "2"}),
        [],  # upstream: one unbound st.MakePod().Obj(), dropped (see docstring)
        {"node1": 2, "node2": 5},
        id="resources requested, pods scheduled with less resources",
    ),
    pytest.param(
        _pod("pod", {"intel.com/foo": "2"}),
        [_running("e1", "node2", {"intel.com/foo": "2"})],
        {"node1": 2, "node2": 10},
        id="resources requested, pods scheduled with resources, on node with existing pod running ",
    ),
    pytest.param(
        _pod("pod", {"intel.com/foo": "4"}),
        [],  # upstream: one unbound st.MakePod().Obj(), dropped (see docstring)
        {"node1": 5, "node2": 10},
        id="resources requested, pods scheduled with more resources",
    ),
]


@pytest.mark.parametrize(("requested_pod", "existing_pods", "expected"), SINGLE_EXTENDED_CASES)
def test_resource_bin_packing_single_extended(requested_pod, existing_pods, expected):
    args = _fit_args("RequestedToCapacityRatio", [("intel.com/foo", 1)], BIN_PACKING_SHAPE)
    got = kube.score(requested_pod, _single_extended_nodes(), existing_pods, plugin="NodeResourcesFit", args=args)
    assert got == expected


# --------------------------------------------------------------------------------------------------------------------
# TestResourceBinPackingMultipleExtended (shape {0,0},{100,1}; resources intel.com/foo:3, intel.com/bar:5)
# --------------------------------------------------------------------------------------------------------------------


def _multiple_extended_nodes() -> list[dict[str, Any]]:
    return [
        _make_node("node1", 4000, "10000Mi", {"intel.com/foo": "8", "intel.com/bar": "4"}),  # extendedResources2
        _make_node("node2", 4000, "10000Mi", {"intel.com/foo": "4", "intel.com/bar": "8"}),  # extendedResources1
    ]


EXTENDED_RESOURCE_POD1 = {"intel.com/foo": "2", "intel.com/bar": "2"}
EXTENDED_RESOURCE_POD2 = {"intel.com/foo": "4", "intel.com/bar": "2"}

MULTIPLE_EXTENDED_CASES = [
    pytest.param(_pod("pod"), [], {"node1": 0, "node2": 0}, id="nothing scheduled, nothing requested"),
    pytest.param(
        _pod("pod", EXTENDED_RESOURCE_POD1),
        [],  # upstream: one unbound st.MakePod().Obj(), dropped (see docstring)
        {"node1": 4, "node2": 3},
        id="resources requested, pods scheduled with less resources",
    ),
    pytest.param(
        _pod("pod", EXTENDED_RESOURCE_POD1),
        [_running("e1", "node2", EXTENDED_RESOURCE_POD2)],
        {"node1": 4, "node2": 7},
        id="resources requested, pods scheduled with resources, on node with existing pod running ",
    ),
    pytest.param(
        _pod("pod", EXTENDED_RESOURCE_POD2),
        [],  # upstream: one unbound st.MakePod().Obj(), dropped (see docstring)
        {"node1": 5, "node2": 5},
        id="resources requested, pods scheduled with more resources",
    ),
]


@pytest.mark.parametrize(("requested_pod", "existing_pods", "expected"), MULTIPLE_EXTENDED_CASES)
def test_resource_bin_packing_multiple_extended(requested_pod, existing_pods, expected):
    args = _fit_args("RequestedToCapacityRatio", [("intel.com/foo", 3), ("intel.com/bar", 5)], BIN_PACKING_SHAPE)
    got = kube.score(requested_pod, _multiple_extended_nodes(), existing_pods, plugin="NodeResourcesFit", args=args)
    assert got == expected
