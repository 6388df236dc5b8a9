"""Pod resource requests, as k8s.io/component-helpers/resource PodRequests computes them (v1.35).

``requests = max(sum(containers) + sum(sidecars), max_i(init_i + sidecars started before i))``
per resource, then pod-level ``spec.resources.requests`` (cpu, memory, hugepages-*) override the
aggregate, then ``spec.overhead`` is added.
"""

from __future__ import annotations

import re

from podgym.envs.kube.objects import CPU, MEMORY, Container, Pod, ResourceList

# pkg/scheduler/util/pod_resources.go: used for scoring when a container sets no cpu/memory request.
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024
NON_ZERO_DEFAULTS: ResourceList = {CPU: DEFAULT_MILLI_CPU_REQUEST, MEMORY: DEFAULT_MEMORY_REQUEST}

HUGEPAGES_PREFIX = "hugepages-"
_QUALIFIED_NAME = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


def _container_requests(c: Container, non_missing: ResourceList | None) -> ResourceList:
    if not non_missing:
        return c.requests
    out = dict(c.requests)
    for name, default in non_missing.items():
        out.setdefault(name, default)
    return out


def _add(into: ResourceList, extra: ResourceList) -> None:
    for name, v in extra.items():
        into[name] = into.get(name, 0) + v


def _max(into: ResourceList, other: ResourceList) -> None:
    for name, v in other.items():
        if v > into.get(name, 0):
            into[name] = v


def is_supported_pod_level_resource(name: str) -> bool:
    """Resources a pod may set in ``spec.resources`` (PodLevelResources, beta and on in v1.35)."""
    return name in (CPU, MEMORY) or name.startswith(HUGEPAGES_PREFIX)


def aggregate_container_requests(pod: Pod, non_missing: ResourceList | None = None) -> ResourceList:
    """Sum of containers and sidecars, maxed with each init container's use (AggregateContainerRequests)."""
    reqs: ResourceList = {}
    for c in pod.containers:
        _add(reqs, _container_requests(c, non_missing))
    restartable: ResourceList = {}
    init_max: ResourceList = {}
    for c in pod.init_containers:
        creq = _container_requests(c, non_missing)
        if c.is_sidecar:
            # A sidecar runs for the whole life of the pod: it adds to the steady-state sum...
            _add(reqs, creq)
            _add(restartable, creq)
            use = dict(restartable)
        else:
            # ...and every init container runs beside the sidecars started before it.
            use = dict(restartable)
            _add(use, creq)
        _max(init_max, use)
    _max(reqs, init_max)
    return reqs


def pod_requests(pod: Pod, non_missing: ResourceList | None = None) -> ResourceList:
    """Effective requests of `pod` (PodRequests). `non_missing` defaults missing container requests."""
    reqs = aggregate_container_requests(pod, non_missing)
    for name, v in pod.pod_level_requests.items():
        if is_supported_pod_level_resource(name):
            reqs[name] = v
    _add(reqs, pod.overhead)
    return reqs


def non_zero_requests(pod: Pod) -> ResourceList:
    """The requests scoring counts for a pod: a container missing a cpu/memory request counts 100m / 200Mi.

    With pod-level requests, only keys still missing after aggregation get the defaults (upstream
    getNonMissingContainerRequests); otherwise every container gets them.
    """
    requests = pod_requests(pod)
    non_missing = NON_ZERO_DEFAULTS
    if any(is_supported_pod_level_resource(k) for k in pod.pod_level_requests):
        non_missing = {k: v for k, v in NON_ZERO_DEFAULTS.items() if k not in requests}
    return pod_requests(pod, non_missing) if non_missing else requests


def is_scalar_resource_name(name: str) -> bool:
    """Extended, hugepages, prefixed-native and attachable-volume resources (v1helper.IsScalarResourceName)."""
    if name.startswith(HUGEPAGES_PREFIX) or name.startswith("attachable-volumes-"):
        return True
    if "/" not in name:
        return False
    if "kubernetes.io/" in name:  # prefixed native resource
        return True
    # An extended resource: not in the "requests." quota namespace and a qualified name once prefixed.
    return not name.startswith("requests.") and bool(_QUALIFIED_NAME.match(name))
