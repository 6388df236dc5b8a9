"""Cases from kubernetes/kubernetes pkg/scheduler/framework/plugins/noderesources/fit_test.go
@ 00fdb4ffc64976886691c99434ab5b01fa54f8fe (the same v1.35-era commit as test_balanced_allocation.py):
TestEnoughRequests (incl. the ignoredResources / ignoredResourceGroups, overhead and pod-level-resources cases),
TestNotEnoughRequests, TestStorageRequests, TestRestartableInitContainers and TestFitScore.

Filter cases call ``kube.filter_status`` (PreFilter + Filter) on one node and compare code, reasons and message;
upstream compares the whole Filter status (``cmp.Diff(wantStatus, gotStatus)``). Score cases call ``kube.score``.

Transcription notes:
- upstream ``newResourcePod(framework.Resource{...})`` gives every container explicit requests for cpu (milli),
  memory, ephemeral-storage (zeros included) plus the listed scalar resources; it also writes ``pods: 0``, which is
  not a valid container resource in the API and is never read by Fit (it only feeds AllowedPodNumber of the pod's
  own request), so it is omitted here. ``&v1.Pod{}`` / ``newResourcePod()`` (no containers) are written as a single
  container without requests (same requests, API-valid).
- The upstream NodeInfo pods are passed as running pods bound to the node.
- Nodes: makeResources/makeAllocatableResources(milliCPU, memory, pods, example.com/aaa, ephemeral-storage,
  hugepages-2Mi); TestNotEnoughRequests/TestRestartableInitContainers set only allocatable (capacity {}).
- TestFitScore: ``st.MakeNode().Capacity(...)`` sets capacity and allocatable; "cpu": "4000" is 4000 cores as
  upstream writes it. The "... if PreScore is not called" cases run Score without PreScore upstream; kube.score
  always runs PreScore, and upstream expects the same scores.
- Cases that upstream runs with the DRAExtendedResource gate on but whose outcome does not involve DRA (no
  DeviceClass maps the requested resource, or it fits anyway) are kept: "extended resource backed by device
  plugin", "extended resource backed by DRA, nil draManager", "extended resource NOT backed by DRA",
  "extended resource was backed by Device Plugin (Allocatable: 0), global cache". "extended resource backed by DRA
  not enabled" is the gate-off (v1.35 default, no DRA) behaviour and is kept too.
- PodLevelResources (beta, on in v1.35) and SidecarContainers (GA) are on.

Left out:
- TestEnoughRequests "extended resource backed by DRA" and "extended resource was backed by Device Plugin
  (Allocatable: 0)": the pass depends on delegating the extended resource to DRA via a DeviceClass (not modelled).
- TestPreFilterDisabled: calls Filter without PreFilter and expects an Error status ("not found"); kube.filter_status
  always runs PreFilter, so the situation cannot arise.
- TestRestartableInitContainers "allow pod without restartable init containers if sidecar containers is disabled"
  and "not allow pod with restartable init containers if sidecar containers is disabled": SidecarContainers gate off
  (GA and locked on in v1.35). The latter is a PreFilter failure (UnschedulableAndUnresolvable, "Pod has a
  restartable init container and the SidecarContainers feature is disabled").
- TestFitScore "test case for ScoringStrategy LeastAllocated with Extended resources" and its "... if PreScore is
  not called" variant: they need DRA ResourceSlices/DeviceClass (not modelled).
"""

from __future__ import annotations

from typing import Any

import pytest

import podgym.envs.kube as kube
from tests.kube.builders import container, node, on_node, pod

PLUGIN = "NodeResourcesFit"
NODE = "node"

UNSCHEDULABLE = "Unschedulable"
UNRESOLVABLE = "UnschedulableAndUnresolvable"

EXT_A = "example.com/aaa"
EXT_B = "example.com/bbb"
K8S_IO_A = "kubernetes.io/something"
K8S_IO_B = "subdomain.kubernetes.io/something"
HUGEPAGES_A = "hugepages-2Mi"
DRA_EXT = "extended.resource.dra.io/something"


def milli(value: int) -> str:
    return "0" if value == 0 else f"{value}m"


def res(cpu: int = 0, mem: int = 0, eph: int = 0, scalars: dict[str, int] | None = None) -> dict[str, str]:
    """Requests of a container built by upstream newResourcePod(framework.Resource{...})."""
    requests = {"cpu": milli(cpu), "memory": str(mem), "ephemeral-storage": str(eph)}
    requests.update({k: str(v) for k, v in (scalars or {}).items()})
    return requests


def resources(milli_cpu: int, memory: int, pods: int, ext_a: int, storage: int, hugepages_a: int) -> dict[str, str]:
    """Upstream makeResources / makeAllocatableResources."""
    return {
        "cpu": milli(milli_cpu),
        "memory": str(memory),
        "pods": str(pods),
        EXT_A: str(ext_a),
        "ephemeral-storage": str(storage),
        HUGEPAGES_A: str(hugepages_a),
    }


def make_pod(
    name: str,
    containers: list[dict[str, Any]] | None = None,
    init: list[dict[str, Any]] | None = None,
    overhead: dict[str, str] | None = None,
    pod_requests: dict[str, str] | None = None,
) -> dict[str, Any]:
    p = pod(name, containers=containers or [{}], init_containers=init, overhead=overhead)
    if pod_requests is not None:
        p["spec"]["resources"] = {"requests": dict(pod_requests)}
    return p


def fails(code: str, *reasons: str) -> tuple[str, tuple[str, ...], str]:
    return (code, reasons, ", ".join(reasons))


def insufficient(resource: str) -> str:
    return f"Insufficient {resource}"


def summarize(result: dict[str, Any]) -> dict[str, Any]:
    return {
        name: None if status is None else (status.code, tuple(status.reasons), status.message)
        for name, status in result.items()
    }


# ---------------------------------------------------------------------------------------------------------------
# TestEnoughRequests: node allocatable = capacity = makeResources(10, 20, 32, 5, 20, 5).
# (id, incoming pod, pods already on the node (their container requests), args, expected status)
# ---------------------------------------------------------------------------------------------------------------
ENOUGH_CASES = [
    ("no resources requested always fits", make_pod("p"), [[res(10, 20)]], None, None),
    (
        "too many resources fails",
        make_pod("p", [res(1, 1)]),
        [[res(10, 20)]],
        None,
        fails(UNSCHEDULABLE, insufficient("cpu"), insufficient("memory")),
    ),
    (
        "too many resources fails due to init container cpu",
        make_pod("p", [res(1, 1)], init=[res(3, 1)]),
        [[res(8, 19)]],
        None,
        fails(UNSCHEDULABLE, insufficient("cpu")),
    ),
    (
        "too many resources fails due to highest init container cpu",
        make_pod("p", [res(1, 1)], init=[res(3, 1), res(2, 1)]),
        [[res(8, 19)]],
        None,
        fails(UNSCHEDULABLE, insufficient("cpu")),
    ),
    (
        "too many resources fails due to init container memory",
        make_pod("p", [res(1, 1)], init=[res(1, 3)]),
        [[res(9, 19)]],
        None,
        fails(UNSCHEDULABLE, insufficient("memory")),
    ),
    (
        "too many resources fails due to highest init container memory",
        make_pod("p", [res(1, 1)], init=[res(1, 3), res(1, 2)]),
        [[res(9, 19)]],
        None,
        fails(UNSCHEDULABLE, insufficient("memory")),
    ),
    (
        "init container fits because it's the max, not sum, of containers and init containers",
        make_pod("p", [res(1, 1)], init=[res(1, 1)]),
        [[res(9, 19)]],
        None,
        None,
    ),
    (
        "multiple init containers fit because it's the max, not sum, of containers and init containers",
        make_pod("p", [res(1, 1)], init=[res(1, 1), res(1, 1)]),
        [[res(9, 19)]],
        None,
        None,
    ),
    ("both resources fit", make_pod("p", [res(1, 1)]), [[res(5, 5)]], None, None),
    (
        "one resource memory fits",
        make_pod("p", [res(2, 1)]),
        [[res(9, 5)]],
        None,
        fails(UNSCHEDULABLE, insufficient("cpu")),
    ),
    (
        "one resource cpu fits",
        make_pod("p", [res(1, 2)]),
        [[res(5, 19)]],
        None,
        fails(UNSCHEDULABLE, insufficient("memory")),
    ),
    ("equal edge case", make_pod("p", [res(5, 1)]), [[res(5, 19)]], None, None),
    ("equal edge case for init container", make_pod("p", [res(4, 1)], init=[res(5, 1)]), [[res(5, 19)]], None, None),
    ("extended resource fits", make_pod("p", [res(scalars={EXT_A: 1})]), [[res()]], None, None),
    (
        "extended resource fits for init container",
        make_pod("p", [res()], init=[res(scalars={EXT_A: 1})]),
        [[res()]],
        None,
        None,
    ),
    (
        "extended resource capacity enforced",
        make_pod("p", [res(1, 1, scalars={EXT_A: 10})]),
        [[res(0, 0, scalars={EXT_A: 0})]],
        None,
        fails(UNRESOLVABLE, insufficient(EXT_A)),
    ),
    (
        "extended resource capacity enforced for init container",
        make_pod("p", [res()], init=[res(1, 1, scalars={EXT_A: 10})]),
        [[res(0, 0, scalars={EXT_A: 0})]],
        None,
        fails(UNRESOLVABLE, insufficient(EXT_A)),
    ),
    (
        "extended resource allocatable enforced",
        make_pod("p", [res(1, 1, scalars={EXT_A: 1})]),
        [[res(0, 0, scalars={EXT_A: 5})]],
        None,
        fails(UNSCHEDULABLE, insufficient(EXT_A)),
    ),
    (
        "extended resource allocatable enforced for init container",
        make_pod("p", [res()], init=[res(1, 1, scalars={EXT_A: 1})]),
        [[res(0, 0, scalars={EXT_A: 5})]],
        None,
        fails(UNSCHEDULABLE, insufficient(EXT_A)),
    ),
    (
        "extended resource allocatable enforced for multiple containers",
        make_pod("p", [res(1, 1, scalars={EXT_A: 3}), res(1, 1, scalars={EXT_A: 3})]),
        [[res(0, 0, scalars={EXT_A: 2})]],
        None,
        fails(UNRESOLVABLE, insufficient(EXT_A)),
    ),
    (
        "extended resource allocatable admits multiple init containers",
        make_pod("p", [res()], init=[res(1, 1, scalars={EXT_A: 3}), res(1, 1, scalars={EXT_A: 3})]),
        [[res(0, 0, scalars={EXT_A: 2})]],
        None,
        None,
    ),
    (
        "extended resource allocatable enforced for multiple init containers",
        make_pod("p", [res()], init=[res(1, 1, scalars={EXT_A: 6}), res(1, 1, scalars={EXT_A: 3})]),
        [[res(0, 0, scalars={EXT_A: 2})]],
        None,
        fails(UNRESOLVABLE, insufficient(EXT_A)),
    ),
    (
        "extended resource allocatable enforced for unknown resource",
        make_pod("p", [res(1, 1, scalars={EXT_B: 1})]),
        [[res(0, 0)]],
        None,
        fails(UNRESOLVABLE, insufficient(EXT_B)),
    ),
    (
        "extended resource allocatable enforced for unknown resource for init container",
        make_pod("p", [res()], init=[res(1, 1, scalars={EXT_B: 1})]),
        [[res(0, 0)]],
        None,
        fails(UNRESOLVABLE, insufficient(EXT_B)),
    ),
    (
        "kubernetes.io resource capacity enforced",
        make_pod("p", [res(1, 1, scalars={K8S_IO_A: 10})]),
        [[res(0, 0)]],
        None,
        fails(UNRESOLVABLE, insufficient(K8S_IO_A)),
    ),
    (
        "kubernetes.io resource capacity enforced for init container",
        make_pod("p", [res()], init=[res(1, 1, scalars={K8S_IO_B: 10})]),
        [[res(0, 0)]],
        None,
        fails(UNRESOLVABLE, insufficient(K8S_IO_B)),
    ),
    (
        "hugepages resource capacity enforced",
        make_pod("p", [res(1, 1, scalars={HUGEPAGES_A: 10})]),
        [[res(0, 0, scalars={HUGEPAGES_A: 0})]],
        None,
        fails(UNRESOLVABLE, insufficient(HUGEPAGES_A)),
    ),
    (
        "hugepages resource capacity enforced for init container",
        make_pod("p", [res()], init=[res(1, 1, scalars={HUGEPAGES_A: 10})]),
        [[res(0, 0, scalars={HUGEPAGES_A: 0})]],
        None,
        fails(UNRESOLVABLE, insufficient(HUGEPAGES_A)),
    ),
    (
        "hugepages resource allocatable enforced for multiple containers",
        make_pod("p", [res(1, 1, scalars={HUGEPAGES_A: 3}), res(1, 1, scalars={HUGEPAGES_A: 3})]),
        [[res(0, 0, scalars={HUGEPAGES_A: 2})]],
        None,
        fails(UNRESOLVABLE, insufficient(HUGEPAGES_A)),
    ),
    (
        "skip checking ignored extended resource",
        make_pod("p", [res(1, 1, scalars={EXT_B: 1})]),
        [[res(0, 0)]],
        {"ignoredResources": [EXT_B]},
        None,
    ),
    (
        "resources + pod overhead fits",
        make_pod("p", [res(1, 1)], overhead={"cpu": "3m", "memory": "13"}),
        [[res(5, 5)]],
        None,
        None,
    ),
    (
        "requests + overhead does not fit for memory",
        make_pod("p", [res(1, 1)], overhead={"cpu": "1m", "memory": "15"}),
        [[res(5, 5)]],
        None,
        fails(UNSCHEDULABLE, insufficient("memory")),
    ),
    (
        "skip checking ignored extended resource via resource groups",
        make_pod("p", [res(1, 1, scalars={EXT_B: 1, K8S_IO_A: 1})]),
        [[res(0, 0)]],
        {"ignoredResourceGroups": ["example.com"]},
        fails(UNRESOLVABLE, insufficient(K8S_IO_A)),
    ),
    (
        "skip checking extended resource request with quantity zero via resource groups",
        make_pod("p", [res(1, 1, scalars={EXT_A: 0})]),
        [[res(0, 0, scalars={EXT_A: 6})]],
        None,
        None,
    ),
    (
        "skip checking resource request with quantity zero",
        make_pod("p", [res(scalars={EXT_A: 1})]),
        [[res(20, 30, scalars={EXT_A: 1})]],
        None,
        None,
    ),
    (
        "both pod-level and container-level resources fit",
        make_pod("p", [res(1, 1)], pod_requests={"cpu": "1m", "memory": "2"}),
        [[res(5, 5)]],
        None,
        None,
    ),
    (
        "pod-level cpu resource not fit",
        make_pod("p", [res(1, 1)], pod_requests={"cpu": "7m", "memory": "2"}),
        [[res(5, 5)]],
        None,
        fails(UNSCHEDULABLE, insufficient("cpu")),
    ),
    (
        "pod-level memory resource not fit",
        make_pod("p", [res(1, 1)], pod_requests={"cpu": "3m", "memory": "2"}),
        [[res(5, 19)]],
        None,
        fails(UNSCHEDULABLE, insufficient("memory")),
    ),
    (
        "pod-level hugepages resource fit",
        make_pod("p", pod_requests={"cpu": "3m", "memory": "2", HUGEPAGES_A: "5"}),
        [],
        None,
        None,
    ),
    (
        "both pod-level and container-level hugepages resource fit",
        make_pod(
            "p", [res(1, 1, scalars={HUGEPAGES_A: 3})], pod_requests={"cpu": "3m", "memory": "2", HUGEPAGES_A: "5"}
        ),
        [],
        None,
        None,
    ),
    (
        "pod-level hugepages resource not fit",
        make_pod("p", pod_requests={"cpu": "3m", "memory": "2", HUGEPAGES_A: "10"}),
        [],
        None,
        fails(UNRESOLVABLE, insufficient(HUGEPAGES_A)),
    ),
    (
        "one pod-level cpu resource fits and all init and non-init containers resources fit",
        make_pod("p", [res(1, 1)], init=[res(1, 1)], pod_requests={"cpu": "3m", "memory": "2"}),
        [[res(5, 19)]],
        None,
        fails(UNSCHEDULABLE, insufficient("memory")),
    ),
    ("extended resource backed by device plugin", make_pod("p", [res(scalars={EXT_A: 1})]), [[res()]], None, None),
    (
        "extended resource backed by DRA, nil draManager",
        make_pod("p", [res(1, 1, scalars={EXT_A: 1})]),
        [[res(0, 0)]],
        None,
        None,
    ),
    (
        "extended resource backed by DRA not enabled",
        make_pod("p", [res(1, 1, scalars={DRA_EXT: 1})]),
        [[res(0, 0)]],
        None,
        fails(UNRESOLVABLE, insufficient(DRA_EXT)),
    ),
    (
        "extended resource NOT backed by DRA",
        make_pod("p", [res(1, 1, scalars={EXT_B: 1})]),
        [[res(0, 0)]],
        None,
        fails(UNRESOLVABLE, insufficient(EXT_B)),
    ),
    (
        "extended resource was backed by Device Plugin (Allocatable: 0), global cache",
        make_pod("p", [res(scalars={EXT_A: 1})]),
        [[res(scalars={EXT_A: 0})]],
        None,
        None,
    ),
]


def _node_pods(existing: list[list[dict[str, str]]]) -> list[dict[str, Any]]:
    return [on_node(pod(f"existing-{i}", containers=containers), NODE) for i, containers in enumerate(existing)]


@pytest.mark.parametrize(
    ("incoming", "existing", "args", "expected"),
    [case[1:] for case in ENOUGH_CASES],
    ids=[case[0] for case in ENOUGH_CASES],
)
def test_enough_requests(
    incoming: dict[str, Any],
    existing: list[list[dict[str, str]]],
    args: dict[str, Any] | None,
    expected: tuple[str, tuple[str, ...], str] | None,
) -> None:
    alloc = resources(10, 20, 32, 5, 20, 5)
    nodes = [node(NODE, allocatable=alloc, capacity=alloc)]
    result = kube.filter_status(incoming, nodes, _node_pods(existing), plugin=PLUGIN, args=args)
    assert summarize(result) == {NODE: expected}


# ---------------------------------------------------------------------------------------------------------------
# TestNotEnoughRequests: allocatable = makeAllocatableResources(10, 20, 1, 0, 0, 0), capacity = {}.
# ---------------------------------------------------------------------------------------------------------------
NOT_ENOUGH_CASES = [
    (
        "even without specified resources, predicate fails when there's no space for additional pod",
        make_pod("p"),
        [[res(10, 20)]],
    ),
    (
        "even if both resources fit, predicate fails when there's no space for additional pod",
        make_pod("p", [res(1, 1)]),
        [[res(5, 5)]],
    ),
    (
        "even for equal edge case, predicate fails when there's no space for additional pod",
        make_pod("p", [res(5, 1)]),
        [[res(5, 19)]],
    ),
    (
        "even for equal edge case, predicate fails when there's no space for additional pod due to init container",
        make_pod("p", [res(5, 1)], init=[res(5, 1)]),
        [[res(5, 19)]],
    ),
]


@pytest.mark.parametrize(
    ("incoming", "existing"),
    [case[1:] for case in NOT_ENOUGH_CASES],
    ids=[case[0] for case in NOT_ENOUGH_CASES],
)
def test_not_enough_requests(incoming: dict[str, Any], existing: list[list[dict[str, str]]]) -> None:
    nodes = [node(NODE, allocatable=resources(10, 20, 1, 0, 0, 0), capacity={})]
    result = kube.filter_status(incoming, nodes, _node_pods(existing), plugin=PLUGIN)
    assert summarize(result) == {NODE: fails(UNSCHEDULABLE, "Too many pods")}


# ---------------------------------------------------------------------------------------------------------------
# TestStorageRequests: node allocatable = capacity = makeResources(10, 20, 32, 5, 20, 5).
# ---------------------------------------------------------------------------------------------------------------
STORAGE_CASES = [
    ("empty storage requested, and pod fits", make_pod("p", [res(1, 1)]), [[res(2, 10)]], None),
    (
        "storage ephemeral local storage request exceeds allocatable",
        make_pod("p", [res(eph=25)]),
        [[res(2, 2)]],
        fails(UNRESOLVABLE, insufficient("ephemeral-storage")),
    ),
    ("ephemeral local storage is sufficient", make_pod("p", [res(eph=5)]), [[res(2, 2, eph=10)]], None),
    ("pod fits", make_pod("p", [res(eph=10)]), [[res(2, 2)]], None),
]


@pytest.mark.parametrize(
    ("incoming", "existing", "expected"),
    [case[1:] for case in STORAGE_CASES],
    ids=[case[0] for case in STORAGE_CASES],
)
def test_storage_requests(
    incoming: dict[str, Any],
    existing: list[list[dict[str, str]]],
    expected: tuple[str, tuple[str, ...], str] | None,
) -> None:
    alloc = resources(10, 20, 32, 5, 20, 5)
    nodes = [node(NODE, allocatable=alloc, capacity=alloc)]
    result = kube.filter_status(incoming, nodes, _node_pods(existing), plugin=PLUGIN)
    assert summarize(result) == {NODE: expected}


# ---------------------------------------------------------------------------------------------------------------
# TestRestartableInitContainers (SidecarContainers on): allocatable = makeAllocatableResources(2, 0, 1, 0, 0, 0),
# capacity = {}, no pods on the node.
# ---------------------------------------------------------------------------------------------------------------
def pod_with_restartable_init_container(
    request: dict[str, str] | None = None, sidecar_request: dict[str, str] | None = None
) -> dict[str, Any]:
    return pod(
        "p",
        containers=[container(request, name="regular")],
        init_containers=[container(sidecar_request, name="restartable-init", restartPolicy="Always")],
    )


RESTARTABLE_CASES = [
    (
        "allow pod without restartable init containers if sidecar containers is enabled",
        pod("p", containers=[container(name="regular")]),
        None,
    ),
    (
        "allow pod with restartable init containers if sidecar containers is enabled",
        pod_with_restartable_init_container(),
        None,
    ),
    (
        "allow pod if the total requested resources do not exceed the node's allocatable resources",
        pod_with_restartable_init_container({"cpu": "1m"}, {"cpu": "1m"}),
        None,
    ),
    (
        "not allow pod if the total requested resources do exceed the node's allocatable resources",
        pod_with_restartable_init_container({"cpu": "1m"}, {"cpu": "2m"}),
        fails(UNRESOLVABLE, insufficient("cpu")),
    ),
]


@pytest.mark.parametrize(
    ("incoming", "expected"),
    [case[1:] for case in RESTARTABLE_CASES],
    ids=[case[0] for case in RESTARTABLE_CASES],
)
def test_restartable_init_containers(
    incoming: dict[str, Any], expected: tuple[str, tuple[str, ...], str] | None
) -> None:
    nodes = [node(NODE, allocatable=resources(2, 0, 1, 0, 0, 0), capacity={})]
    result = kube.filter_status(incoming, nodes, [], plugin=PLUGIN)
    assert summarize(result) == {NODE: expected}


# ---------------------------------------------------------------------------------------------------------------
# TestFitScore
# ---------------------------------------------------------------------------------------------------------------
DEFAULT_RESOURCES = [{"name": "cpu", "weight": 1}, {"name": "memory", "weight": 1}]


def strategy(kind: str, shape: list[tuple[int, int]] | None = None) -> dict[str, Any]:
    scoring: dict[str, Any] = {"type": kind, "resources": DEFAULT_RESOURCES}
    if shape is not None:
        scoring["requestedToCapacityRatio"] = {"shape": [{"utilization": u, "score": s} for u, s in shape]}
    return {"scoringStrategy": scoring}


RTCR_CASE1 = strategy("RequestedToCapacityRatio", [(0, 10), (100, 0)])
RTCR_CASE2 = strategy("RequestedToCapacityRatio", [(0, 0), (100, 10)])
MOST = strategy("MostAllocated")
LEAST = strategy("LeastAllocated")


def score_node(name: str, cpu: str, memory: str) -> dict[str, Any]:
    return node(name, allocatable={"cpu": cpu, "memory": memory})


def req_pod(name: str, cpu: str, memory: str, sidecar: dict[str, str] | None = None) -> dict[str, Any]:
    init = None
    if sidecar is not None:
        init = [container(sidecar, name="sidecar", restartPolicy="Always")]
    return pod(name, containers=[{"cpu": cpu, "memory": memory}], init_containers=init)


NODES_4000_6000 = [score_node("node1", "4000", "10000"), score_node("node2", "6000", "10000")]
NODES_4000_4000 = [score_node("node1", "4000", "10000"), score_node("node2", "4000", "10000")]
EXISTING_DEFAULT = [
    on_node(req_pod("existing-1", "2000", "4000"), "node1"),
    on_node(req_pod("existing-2", "1000", "2000"), "node2"),
]
EXISTING_SIDECAR = [
    on_node(req_pod("existing-1", "1000", "2000", sidecar={"cpu": "1000", "memory": "2000"}), "node1"),
    on_node(req_pod("existing-2", "1000", "2000"), "node2"),
]

# (id, incoming pod, nodes, existing pods, args, expected scores)
FIT_SCORE_CASES = [
    (
        "test case for ScoringStrategy RequestedToCapacityRatio case1",
        req_pod("p", "3000", "5000"),
        NODES_4000_6000,
        EXISTING_DEFAULT,
        RTCR_CASE1,
        {"node1": 10, "node2": 32},
    ),
    (
        "test case for ScoringStrategy RequestedToCapacityRatio case2",
        req_pod("p", "3000", "5000"),
        NODES_4000_6000,
        EXISTING_DEFAULT,
        RTCR_CASE2,
        {"node1": 95, "node2": 68},
    ),
    (
        "test case for ScoringStrategy MostAllocated",
        req_pod("p", "1000", "2000"),
        NODES_4000_6000,
        EXISTING_DEFAULT,
        MOST,
        {"node1": 67, "node2": 36},
    ),
    (
        "test case for ScoringStrategy LeastAllocated",
        req_pod("p", "1000", "2000"),
        NODES_4000_6000,
        EXISTING_DEFAULT,
        LEAST,
        {"node1": 32, "node2": 63},
    ),
    (
        "test case for ScoringStrategy RequestedToCapacityRatio case1 if PreScore is not called",
        req_pod("p", "3000", "5000"),
        NODES_4000_6000,
        EXISTING_DEFAULT,
        RTCR_CASE1,
        {"node1": 10, "node2": 32},
    ),
    (
        "test case for ScoringStrategy MostAllocated if PreScore is not called",
        req_pod("p", "1000", "2000"),
        NODES_4000_6000,
        EXISTING_DEFAULT,
        MOST,
        {"node1": 67, "node2": 36},
    ),
    (
        "test case for ScoringStrategy LeastAllocated if PreScore is not called",
        req_pod("p", "1000", "2000"),
        NODES_4000_6000,
        EXISTING_DEFAULT,
        LEAST,
        {"node1": 32, "node2": 63},
    ),
    (
        "test case for ScoringStrategy MostAllocated with sidecar container",
        req_pod("p", "1000", "2000"),
        NODES_4000_4000,
        EXISTING_SIDECAR,
        MOST,
        {"node1": 67, "node2": 45},
    ),
    (
        "test case for ScoringStrategy LeastAllocated with sidecar container",
        req_pod("p", "1000", "2000"),
        NODES_4000_4000,
        EXISTING_SIDECAR,
        LEAST,
        {"node1": 32, "node2": 55},
    ),
]


@pytest.mark.parametrize(
    ("incoming", "nodes", "existing", "args", "expected"),
    [case[1:] for case in FIT_SCORE_CASES],
    ids=[case[0] for case in FIT_SCORE_CASES],
)
def test_fit_score(
    incoming: dict[str, Any],
    nodes: list[dict[str, Any]],
    existing: list[dict[str, Any]],
    args: dict[str, Any],
    expected: dict[str, int],
) -> None:
    assert kube.score(incoming, nodes, existing, plugin=PLUGIN, args=args) == expected
