"""What the API server's defaulting writes into a Pod that a manifest may leave out and the scheduler reads.

``SetDefaults_Pod`` (pkg/apis/core/v1/defaults.go): a container or init container that limits a resource but does
not request it requests its limit; in a ``hostNetwork`` pod, a container port without a ``hostPort`` takes its
``containerPort`` as host port. The pods of a dump carry this already (the API server stored them defaulted);
a pod manifest (``explain --pod``, a scenario's ``workload.manifests``) may not, and is defaulted as it would be on
creation. Pod-level ``spec.resources`` (PodLevelResources, on in v1.35) with limits: a cpu or memory request no
container makes, and a hugepages request, that the pod level leaves out is the pod-level limit (``defaultPodRequests``;
a cpu or memory request some container makes defaults to the containers' aggregate, which is what the scheduler
counts without it, so it is left out).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from podgym.envs.kube.objects import CPU, MEMORY
from podgym.envs.kube.quantity import parse_quantity
from podgym.envs.kube.resources import is_supported_pod_level_resource

CONTAINER_LISTS = ("containers", "initContainers")


def default_pod(pod: Any) -> Any:
    """A copy of `pod` as SetDefaults_Pod leaves it: requests defaulted from limits, host ports of a hostNetwork pod.

    A malformed limit it would copy is a KubeObjectError naming the limit; other malformed parts are left as they
    are, for ``parse_pod`` to report with their field path."""
    if not isinstance(pod, Mapping):
        return pod  # not an object: parse_pod says so
    out = copy.deepcopy(dict(pod))
    spec = out.get("spec")
    if not isinstance(spec, dict):
        return out
    meta = out.get("metadata") if isinstance(out.get("metadata"), Mapping) else {}
    obj = f"Pod {meta.get('namespace') or 'default'}/{meta.get('name')}"
    for key in CONTAINER_LISTS:
        containers = spec.get(key)
        if not isinstance(containers, list):
            continue
        for i, container in enumerate(containers):
            resources = container.get("resources") if isinstance(container, dict) else None
            limits = resources.get("limits") if isinstance(resources, dict) else None
            if not isinstance(limits, Mapping) or not limits:
                continue
            requests = resources.get("requests")
            if requests is None:
                requests = resources["requests"] = {}
            if not isinstance(requests, dict):
                continue
            for name, value in limits.items():
                if name not in requests:
                    # A malformed limit is reported as the limit it is, not as the request it would become.
                    parse_quantity(value, field=f"spec.{key}[{i}].resources.limits.{name}", obj=obj)
                    requests[name] = value
    if spec.get("hostNetwork") is True:
        for key in CONTAINER_LISTS:
            containers = spec.get(key)
            for container in containers if isinstance(containers, list) else []:
                ports = container.get("ports") if isinstance(container, dict) else None
                for port in ports if isinstance(ports, list) else []:
                    if isinstance(port, dict) and not port.get("hostPort") and "containerPort" in port:
                        port["hostPort"] = port["containerPort"]
    _default_pod_level_requests(spec, obj)
    return out


def _default_pod_level_requests(spec: dict[str, Any], obj: str) -> None:
    """defaultPodRequests, in place: the pod-level requests a pod with pod-level limits leaves out."""
    resources = spec.get("resources")
    limits = resources.get("limits") if isinstance(resources, dict) else None
    if not isinstance(limits, Mapping) or not limits:
        return
    requests = resources.get("requests")
    if requests is None:
        requests = {}
    if not isinstance(requests, dict):
        return  # parse_pod reports it
    requested: set[str] = set()  # what some container (init and sidecars included) requests
    for key in CONTAINER_LISTS:
        containers = spec.get(key)
        for container in containers if isinstance(containers, list) else []:
            own = container.get("resources") if isinstance(container, dict) else None
            if isinstance(own, dict) and isinstance(own.get("requests"), dict):
                requested.update(own["requests"])
    for name, value in limits.items():
        if name in requests or not is_supported_pod_level_resource(name):
            continue
        if name in (CPU, MEMORY) and name in requested:
            continue  # defaults to the containers' aggregate, which the scheduler counts anyway
        parse_quantity(value, field=f"spec.resources.limits.{name}", obj=obj)
        requests[name] = value
    if requests:
        resources["requests"] = requests
