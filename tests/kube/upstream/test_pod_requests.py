"""PodRequests cases transcribed from upstream Kubernetes.

Sources (kubernetes/kubernetes):
- staging/src/k8s.io/component-helpers/resource/helpers_test.go @ 0085214e563468088672cf8c50849884198a18cc:
  TestPodRequestsAndLimits, TestPodRequestsAndLimitsWithoutOverhead, TestPodResourceRequests,
  TestPodResourceRequestsReuse, TestPodLevelResourceRequests, TestAggregateContainerRequestsAndLimits (requests
  half). Only the spec-only (no status, no DRA) cases are used; their semantics are the same as v1.35's helpers.go
  (PodRequests = AggregateContainerRequests, then pod-level override of cpu/memory/hugepages-*, then + overhead).
- pkg/scheduler/framework/plugins/noderesources/resource_allocation_test.go
  @ 0132f9167943dc1362a3f7aeb4bfb6beba5bd329: TestResourceAllocationScorerCalculateRequests, i.e. the scheduler's
  own NonMissingContainerRequests {cpu: 100m (DefaultMilliCPURequest), memory: 200Mi (DefaultMemoryRequest)}
  -> `kube.pod_requests(pod, non_zero=True)`.

Expected values are ints: cpu in milli-cores (MilliValue), everything else Value(). Upstream compares whole
ResourceLists (equality.Semantic.DeepEqual), so a resource absent upstream must be absent here (not 0). Upstream
containers without a name get "c<i>" / "init<i>" names here (names do not enter the computation).

Left out (options or inputs `pod_requests` does not model):
- ExcludeOverhead: TestPodRequestsAndLimitsWithoutOverhead "two container with overhead - shouldn't consider
  overhead", "two container with overhead, massive init - should just be the largest init"; TestPodResourceRequests
  "pod overhead excluded". (Its "two container no overhead" case has no overhead, so the option is a no-op: kept.)
- In-place resize / UseStatusResources (status resources): TestPodResourceRequests "resized, infeasible",
  "resized, infeasible & in-progress", "resized, no resize status", "resized: per-resource 3-way maximum",
  "resized, restartable init container, infeasible", "resized, restartable init container, no resize status",
  "aggregate request resolves max of sums instead of sum of maxes"; TestPodLevelResourceRequests "status resources
  include overhead for all pod-level resources", "status resources include overhead for only one pod-level
  resource", "status resources without overhead still receive overhead", "allocated resources include overhead when
  status requests do not", "allocated resources include stale overhead during resize"; TestAggregateContainer
  RequestsAndLimits "regularcontainers with empty requests, but status with non-empty requests", "always-restart init
  containers with empty requests, but status with non-empty requests", "aggregate container request resolves max of
  sums instead of sum of maxes", "aggregate container request/limit resolves directly from pod status when PLR
  vertical scaling enabled", "falls back to container status aggregation when PLR vertical scaling enabled but
  podAllocatedResources is nil", "... but podResources is nil"; all of TestPodRequestsAndLimitsVerticalScalingWrappers
  except the two below.
- SkipPodLevelResources=true with pod-level requests set: TestPodLevelResourceRequests "pod level memory resource
  with SkipPodLevelResources true". (Its second "container-level resources and init container set ..." case passes
  SkipPodLevelResources=true but sets no pod-level resources, so the option is a no-op: kept.)
- Custom NonMissingContainerRequests {memory: 100Mi}: TestPodRequestsAndLimitsVerticalScalingWrappers "non missing
  container requests applied to init container" / "... regular container" (non_zero=True uses 100m/200Mi; the same
  rule is covered by TestResourceAllocationScorerCalculateRequests).
- DRA: TestPodRequestsAndLimitsWithDRA, TestPodResourceRequestsWithSharedDRAClaims, TestGetContainerDRAAllocations.
- Limits-only tests (TestPodResourceLimits, limits halves) and predicate tests (TestIsPodLevel*Set,
  TestIsSupportedPodLevelResource): not part of pod_requests.
"""

from __future__ import annotations

from typing import Any

import pytest

import podgym.envs.kube as kube
from tests.kube.builders import bare_pod, container, pod

MI = 1024**2
GI = 1024**3
HP2MI = "hugepages-2Mi"
HP1GI = "hugepages-1Gi"
DEFAULT_MILLI_CPU = 100  # schedutil.DefaultMilliCPURequest
DEFAULT_MEMORY = 200 * MI  # schedutil.DefaultMemoryRequest


def ctr(
    name: str,
    requests: dict[str, str] | None = None,
    limits: dict[str, str] | None = None,
    *,
    sidecar: bool = False,
) -> dict[str, Any]:
    """A container; `sidecar=True` is restartPolicy: Always (a restartable init container)."""
    c = container(None, name=name)
    resources: dict[str, Any] = {}
    if requests is not None:
        resources["requests"] = dict(requests)
    if limits is not None:
        resources["limits"] = dict(limits)
    if resources:
        c["resources"] = resources
    if sidecar:
        c["restartPolicy"] = "Always"
    return c


def mk(
    containers: list[dict[str, Any]],
    init_containers: list[dict[str, Any]] | None = None,
    *,
    overhead: dict[str, str] | None = None,
    pod_resources: dict[str, Any] | None = None,
    status: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Pod with exactly these containers (none at all when `containers` is empty)."""
    p = pod("pod", containers=containers, init_containers=init_containers, overhead=overhead) if containers else None
    if p is None:
        p = bare_pod("pod", init_containers=init_containers, overhead=overhead)
    if pod_resources is not None:
        p["spec"]["resources"] = pod_resources
    if status is not None:
        p["status"].update(status)
    return p


def get_pod(
    cname: str,
    *,
    cpu_request: str = "",
    cpu_limit: str = "",
    memory_request: str = "",
    memory_limit: str = "",
    cpu_overhead: str = "",
    memory_overhead: str = "",
) -> dict[str, Any]:
    """helpers_test.go getPod(): one container and one init container "init-<cname>" with the same resources."""
    requests = {k: v for k, v in (("cpu", cpu_request), ("memory", memory_request)) if v}
    limits = {k: v for k, v in (("cpu", cpu_limit), ("memory", memory_limit)) if v}
    overhead = {k: v for k, v in (("cpu", cpu_overhead), ("memory", memory_overhead)) if v}
    return mk(
        [ctr(cname, requests, limits)],
        [ctr("init-" + cname, requests, limits)],
        overhead=overhead,
    )


INFEASIBLE = [{"type": "PodResizePending", "status": "True", "reason": "Infeasible"}]

# (upstream test name, pod, expected requests); all run with PodResourcesOptions{} (non_zero=False).
CASES: list[tuple[str, dict[str, Any], dict[str, int]]] = [
    # --- TestPodRequestsAndLimits ---
    ("just-limit-no-overhead", get_pod("foo", cpu_limit="9"), {}),
    ("just-overhead", get_pod("foo", cpu_overhead="5", memory_overhead="5"), {"cpu": 5000, "memory": 5}),
    (
        "req-and-overhead",
        get_pod("foo", cpu_request="1", memory_request="10", cpu_overhead="5", memory_overhead="5"),
        {"cpu": 6000, "memory": 15},
    ),
    (
        "all-req-lim-and-overhead",
        get_pod(
            "foo",
            cpu_request="1",
            cpu_limit="2",
            memory_request="10",
            memory_limit="12",
            cpu_overhead="5",
            memory_overhead="5",
        ),
        {"cpu": 6000, "memory": 15},
    ),
    (
        "req-some-lim-and-overhead",
        get_pod("foo", cpu_request="1", cpu_limit="2", memory_request="10", cpu_overhead="5", memory_overhead="5"),
        {"cpu": 6000, "memory": 15},
    ),
    # --- TestPodRequestsAndLimitsWithoutOverhead (ExcludeOverhead is a no-op here: no overhead) ---
    (
        "two container no overhead - should just be sum of containers",
        mk(
            [
                ctr("foobar", {"cpu": "1", "memory": "5"}, {"cpu": "2", "memory": "10"}),
                ctr("foobar2", {"cpu": "4", "memory": "12"}, {"cpu": "8", "memory": "24"}),
            ]
        ),
        {"cpu": 5000, "memory": 17},
    ),
    # --- TestPodResourceRequests ---
    (
        "nil options, larger init container",
        mk([ctr("c0", {"cpu": "1"})], [ctr("init0", {"cpu": "4"})]),
        {"cpu": 4000},
    ),
    (
        "nil options, larger containers",
        mk([ctr("c0", {"cpu": "2"}), ctr("c1", {"cpu": "3"})], [ctr("init0", {"cpu": "2"})]),
        {"cpu": 5000},
    ),
    (
        "pod overhead included",
        mk(
            [ctr("c0", {"cpu": "2"}), ctr("c1", {"cpu": "3"})],
            [ctr("init0", {"cpu": "2"}, {"cpu": "2"})],
            overhead={"cpu": "1", "memory": "1Gi"},
        ),
        {"cpu": 6000, "memory": GI},
    ),
    (
        "resized, infeasible, but don't use status",
        mk(
            [ctr("container-1", {"cpu": "4"})],
            status={
                "conditions": INFEASIBLE,
                "containerStatuses": [{"name": "container-1", "resources": {"requests": {"cpu": "2"}}}],
            },
        ),
        {"cpu": 4000},
    ),
    (
        "resized, restartable init container, infeasible, but don't use status",
        mk(
            [],
            [ctr("restartable-init-1", {"cpu": "4"}, sidecar=True)],
            status={
                "conditions": INFEASIBLE,
                "initContainerStatuses": [{"name": "restartable-init-1", "resources": {"requests": {"cpu": "2"}}}],
            },
        ),
        {"cpu": 4000},
    ),
    (
        "restartable init container",
        mk([ctr("container-1", {"cpu": "1"})], [ctr("restartable-init-1", {"cpu": "1"}, sidecar=True)]),
        {"cpu": 2000},  # restartable init + regular container
    ),
    (
        "multiple restartable init containers",
        mk(
            [ctr("container-1", {"cpu": "1"})],
            [
                ctr("init-1", {"cpu": "5"}),
                ctr("restartable-init-1", {"cpu": "1"}, sidecar=True),
                ctr("restartable-init-2", {"cpu": "2"}, sidecar=True),
                ctr("restartable-init-3", {"cpu": "3"}, sidecar=True),
            ],
        ),
        {"cpu": 7000},  # max(5, restartable init containers(3+2+1) + regular(1)) = 7
    ),
    (
        "multiple restartable and regular init containers",
        mk(
            [ctr("container-1", {"cpu": "1"})],
            [
                ctr("init-1", {"cpu": "5"}),
                ctr("restartable-init-1", {"cpu": "1"}, sidecar=True),
                ctr("restartable-init-2", {"cpu": "2"}, sidecar=True),
                ctr("init-2", {"cpu": "5"}),
                ctr("restartable-init-3", {"cpu": "3"}, sidecar=True),
            ],
        ),
        {"cpu": 8000},  # init-2 requires 5 + the previously running restartable init containers (1+2) = 8
    ),
    (
        "restartable-init, init and regular",
        mk(
            [ctr("container-1", {"cpu": "100"})],
            [ctr("restartable-init-1", {"cpu": "10"}, sidecar=True), ctr("init-1", {"cpu": "200"})],
        ),
        {"cpu": 210000},
    ),
    # --- TestPodResourceRequestsReuse (the Reuse map is a Go allocation detail; the result is checked) ---
    ("TestPodResourceRequestsReuse", mk([ctr("c0", {"cpu": "1"})]), {"cpu": 1000}),
    # --- TestPodLevelResourceRequests ---
    ("nil", mk([], pod_resources={}), {}),
    (
        "pod level memory resource with SkipPodLevelResources false",
        mk([], pod_resources={"requests": {"memory": "2Mi"}}),
        {"memory": 2 * MI},
    ),
    (
        "pod level memory and container level cpu resources with SkipPodLevelResources false",
        mk([ctr("c0", {"cpu": "2m"})], pod_resources={"requests": {"memory": "2Mi"}}),
        {"memory": 2 * MI, "cpu": 2},
    ),
    (
        "pod level unsupported resources set at both pod-level and container-level with SkipPodLevelResources false",
        mk([ctr("c0", {"storage": "3Mi"})], pod_resources={"requests": {"storage": "2Mi"}}),
        {"storage": 3 * MI},
    ),
    (
        "pod level unsupported resources set at pod-level with SkipPodLevelResources false",
        mk([ctr("c0", {"memory": "3Mi"})], pod_resources={"requests": {"storage": "2Mi"}}),
        {"memory": 3 * MI},
    ),
    (
        "only container level resources set with SkipPodLevelResources false",
        mk([ctr("c0", {"memory": "3Mi", "cpu": "2m"})], pod_resources={}),
        {"memory": 3 * MI, "cpu": 2},
    ),
    (
        "both container-level and pod-level resources set with SkipPodLevelResources false",
        mk([ctr("c0", {"memory": "3Mi", "cpu": "2m"})], pod_resources={"requests": {"memory": "6Mi", "cpu": "8m"}}),
        {"memory": 6 * MI, "cpu": 8},
    ),
    (
        "container-level resources and init container set with SkipPodLevelResources false",
        mk(
            [ctr("c0", {"memory": "3Mi", "cpu": "2m"})],
            [ctr("init0", {"memory": "5Mi", "cpu": "4m"})],
            pod_resources={},
        ),
        {"memory": 5 * MI, "cpu": 4},
    ),
    (
        # upstream repeats the name; this one passes SkipPodLevelResources: true (no pod-level resources set)
        "container-level resources and init container set with SkipPodLevelResources false",
        mk(
            [ctr("c0", {"memory": "3Mi", "cpu": "2m"})],
            [ctr("init0", {"memory": "5Mi", "cpu": "4m"})],
            pod_resources={},
        ),
        {"memory": 5 * MI, "cpu": 4},
    ),
    (
        "container-level resources and sidecar container set with SkipPodLevelResources false",
        mk(
            [ctr("c0", {"memory": "3Mi", "cpu": "2m"})],
            [ctr("init0", {"memory": "5Mi", "cpu": "4m"}, sidecar=True)],
            pod_resources={},
        ),
        {"memory": 8 * MI, "cpu": 6},
    ),
    (
        "container-level resources, init and sidecar container set with SkipPodLevelResources false",
        mk(
            [ctr("c0", {"memory": "3Mi", "cpu": "2m"})],
            [
                ctr("init0", {"memory": "5Mi", "cpu": "4m"}, sidecar=True),
                ctr("init1", {"memory": "6Mi", "cpu": "8m"}),
            ],
            pod_resources={},
        ),
        {"memory": 11 * MI, "cpu": 12},
    ),
    (
        "pod-level resources, container-level resources, init and sidecar container set with "
        "SkipPodLevelResources false",
        mk(
            [ctr("c0", {"memory": "3Mi", "cpu": "2m"})],
            [
                ctr("init0", {"memory": "5Mi", "cpu": "4m"}, sidecar=True),
                ctr("init1", {"memory": "6Mi", "cpu": "8m"}),
            ],
            pod_resources={"requests": {"memory": "15Mi", "cpu": "18m"}},
        ),
        {"memory": 15 * MI, "cpu": 18},
    ),
    (
        "pod-level resources, hugepage request/limit single page size",
        mk([], pod_resources={"limits": {HP2MI: "2Mi"}, "requests": {"memory": "10Mi", HP2MI: "2Mi"}}),
        {"memory": 10 * MI, HP2MI: 2 * MI},
    ),
    (
        "pod-level resources, hugepage request/limit multiple page sizes",
        mk(
            [],
            pod_resources={
                "limits": {HP2MI: "2Mi", HP1GI: "1Gi"},
                "requests": {"cpu": "1", HP2MI: "2Mi", HP1GI: "1Gi"},
            },
        ),
        {"cpu": 1000, HP2MI: 2 * MI, HP1GI: GI},
    ),
    (
        "pod-level resources, container-level resources, hugepage request/limit single page size",
        mk(
            [ctr("c0", {HP2MI: "6Mi"}, {HP2MI: "6Mi"})],
            pod_resources={"limits": {HP2MI: "10Mi"}, "requests": {"cpu": "1", HP2MI: "10Mi"}},
        ),
        {"cpu": 1000, HP2MI: 10 * MI},
    ),
    (
        "pod-level resources, container-level resources, hugepage request/limit multiple page sizes",
        mk(
            [ctr("c0", {"cpu": "1", HP1GI: "2Gi"}, {HP1GI: "2Gi"})],
            pod_resources={
                "limits": {HP2MI: "10Mi", HP1GI: "2Gi"},
                "requests": {"cpu": "1", HP2MI: "10Mi", HP1GI: "2Gi"},
            },
        ),
        {"cpu": 1000, HP2MI: 10 * MI, HP1GI: 2 * GI},
    ),
    (
        "pod-level resources, container-level resources, hugepage request/limit multiple page sizes between "
        "pod-level and container-level",
        mk(
            [ctr("c0", {"memory": "4Mi", HP1GI: "1Gi"}, {HP1GI: "1Gi"})],
            pod_resources={"limits": {HP2MI: "10Mi"}, "requests": {"cpu": "1", HP2MI: "10Mi"}},
        ),
        {"cpu": 1000, "memory": 4 * MI, HP2MI: 10 * MI, HP1GI: GI},
    ),
    # --- TestAggregateContainerRequestsAndLimits (no overhead, no pod-level: PodRequests == aggregate) ---
    ("one container with limits", mk([ctr("c0", limits={"cpu": "9"})]), {}),
    ("two containers with limits", mk([ctr("c0", limits={"cpu": "9"}), ctr("c1", limits={"cpu": "9"})]), {}),
    ("one container with requests", mk([ctr("c0", {"cpu": "9"})]), {"cpu": 9000}),
    ("two containers with requests", mk([ctr("c0", {"cpu": "9"}), ctr("c1", {"cpu": "9"})]), {"cpu": 18000}),
    (
        "regular and init containers with requests",
        mk([ctr("c0", {"cpu": "9"})], [ctr("init0", {"cpu": "9"})]),
        {"cpu": 9000},
    ),
    (
        "regular, init and sidecar containers with requests",
        mk([ctr("c0", {"cpu": "9"})], [ctr("init0", {"cpu": "8"}, sidecar=True), ctr("init1", {"cpu": "6"})]),
        {"cpu": 17000},
    ),
    (
        "regular and init containers with limits",
        mk([ctr("c0", limits={"cpu": "9"})], [ctr("init0", limits={"cpu": "9"})]),
        {},
    ),
    (
        "regular, init and sidecar containers with limits",
        mk(
            [ctr("c0", limits={"cpu": "9"})],
            [ctr("init0", limits={"cpu": "8"}, sidecar=True), ctr("init1", limits={"cpu": "6"})],
        ),
        {},
    ),
]


@pytest.mark.parametrize(("p", "expected"), [(p, e) for _, p, e in CASES], ids=[n for n, _, _ in CASES])
def test_pod_requests(p: dict[str, Any], expected: dict[str, int]) -> None:
    assert kube.pod_requests(p) == expected


# TestResourceAllocationScorerCalculateRequests: calculatePodResourceRequest with the scheduler's
# NonMissingContainerRequests (useRequested=false) -> pod_requests(non_zero=True). Expected cpu/memory only.
NON_ZERO_CASES: list[tuple[str, dict[str, Any], dict[str, int]]] = [
    ("overhead only", mk([], overhead={"cpu": "1", "memory": "1Mi"}), {"cpu": 1000, "memory": MI}),
    ("1x requestless container", mk([ctr("c0")]), {"cpu": DEFAULT_MILLI_CPU, "memory": DEFAULT_MEMORY}),
    (
        "2x requestless container",
        mk([ctr("c0"), ctr("c1")]),
        # should accumulate once per container without a request
        {"cpu": 2 * DEFAULT_MILLI_CPU, "memory": 2 * DEFAULT_MEMORY},
    ),
    (
        "request container + requestless container",
        mk([ctr("c0", {"cpu": "1", "memory": "1Mi"}), ctr("c1")]),
        {"cpu": 1000 + DEFAULT_MILLI_CPU, "memory": MI + DEFAULT_MEMORY},
    ),
    (
        "container + requestless container + overhead",
        mk([ctr("c0", {"cpu": "1", "memory": "1Mi"}), ctr("c1")], overhead={"cpu": "1", "memory": "1Mi"}),
        {"cpu": 2000 + DEFAULT_MILLI_CPU, "memory": 2 * MI + DEFAULT_MEMORY},
    ),
    (
        "init container + container + requestless container + overhead",
        mk(
            [ctr("c0", {"cpu": "1", "memory": "1Mi"}), ctr("c1")],
            [ctr("init0", {"cpu": "3"})],
            overhead={"cpu": "1", "memory": "1Mi"},
        ),
        {"cpu": 4000, "memory": 2 * MI + DEFAULT_MEMORY},
    ),
    (
        "requestless init container + small init container + small container ",
        mk([ctr("c0", {"cpu": "3m", "memory": "3"})], [ctr("init0"), ctr("init1", {"cpu": "1m", "memory": "1"})]),
        {"cpu": DEFAULT_MILLI_CPU, "memory": DEFAULT_MEMORY},
    ),
    (
        "requestless init container + small init container + small container + requestless container ",
        mk(
            [ctr("c0", {"cpu": "3m", "memory": "3"}), ctr("c1")],
            [ctr("init0"), ctr("init1", {"cpu": "1m", "memory": "1"})],
        ),
        {"cpu": 3 + DEFAULT_MILLI_CPU, "memory": 3 + DEFAULT_MEMORY},
    ),
]


@pytest.mark.parametrize(
    ("p", "expected"), [(p, e) for _, p, e in NON_ZERO_CASES], ids=[n for n, _, _ in NON_ZERO_CASES]
)
def test_pod_requests_non_zero(p: dict[str, Any], expected: dict[str, int]) -> None:
    assert kube.pod_requests(p, non_zero=True) == expected
