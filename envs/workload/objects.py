"""Workloads from Kubernetes Pod objects: the one path from Pod dicts to the simulator's arrays."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from podgym.envs.kube.errors import KubeObjectError
from podgym.envs.kube.objects import CPU, MEMORY, Pod, parse_pod
from podgym.envs.kube.resources import non_zero_requests, pod_requests
from podgym.envs.workload.types import GPU_COUNT_ANNOTATION, GPU_MILLI_ANNOTATION, GPU_RESOURCE, MILLI_GPU, Workload

# Everything of a Pod that scheduling reads, except its requests: pods that agree on these share a template.
_PER_POD_FIELDS = ("containers", "initContainers", "overhead", "resources", "nodeName")


def gpu_ask(pod: Pod) -> tuple[int, int]:
    """(gpu_count, milli-GPU per GPU) of a pod: `nvidia.com/gpu: k` or the podgym GPU-share annotations."""
    annotations = (pod.raw.get("metadata") or {}).get("annotations") or {}
    if GPU_COUNT_ANNOTATION in annotations or GPU_MILLI_ANNOTATION in annotations:
        try:
            count = int(annotations.get(GPU_COUNT_ANNOTATION, "1"))
            milli = int(annotations.get(GPU_MILLI_ANNOTATION, str(MILLI_GPU)))
        except ValueError:
            raise KubeObjectError(
                "GPU annotations must be integers", obj=f"Pod {pod.ref}", field="metadata.annotations"
            ) from None
        if count < 0 or not 0 <= milli <= MILLI_GPU:
            raise KubeObjectError(
                f"GPU ask out of range: {count} GPUs of {milli} milli (milli must be 0-1000)",
                obj=f"Pod {pod.ref}",
                field="metadata.annotations",
            )
        return (count, milli) if count and milli else (0, 0)
    whole = pod_requests(pod).get(GPU_RESOURCE, 0)
    return (whole, MILLI_GPU) if whole else (0, 0)


def template_of(pod: Pod) -> dict[str, Any]:
    """The pod's dict without what is per pod (name, uid, requests, binding, status); a terminating pod keeps its
    deletionTimestamp (PodTopologySpread does not count it)."""
    raw = pod.raw
    meta = {
        k: v
        for k, v in (raw.get("metadata") or {}).items()
        if k in ("namespace", "labels", "annotations", "ownerReferences", "deletionTimestamp")
    }
    annotations = {
        k: v
        for k, v in (meta.get("annotations") or {}).items()
        if k not in (GPU_COUNT_ANNOTATION, GPU_MILLI_ANNOTATION)
    }
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    meta["name"] = "template"
    spec = {k: v for k, v in (raw.get("spec") or {}).items() if k not in _PER_POD_FIELDS}
    spec["containers"] = []
    # What scheduling reads of the containers besides their requests: images (ImageLocality) and host ports
    # (NodePorts). Kept only when some container has one, so that pods of other images still share a template.
    src = raw.get("spec") or {}
    containers = [_scheduling_part(c) for c in src.get("containers") or []]
    init = [_scheduling_part(c) for c in src.get("initContainers") or []]
    if any(containers) or any(init):
        spec["containers"] = containers
        if init:
            spec["initContainers"] = init
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def _scheduling_part(container: Any) -> dict[str, Any]:
    """A container's image, host ports and restart policy (a sidecar's host ports count): no name, no requests."""
    if not isinstance(container, dict):
        return {}
    out: dict[str, Any] = {}
    if container.get("image"):
        out["image"] = container["image"]
    ports = [p for p in container.get("ports") or [] if isinstance(p, dict) and p.get("hostPort")]
    if ports:
        out["ports"] = ports
        if container.get("restartPolicy"):
            out["restartPolicy"] = container["restartPolicy"]
    return out


def workload_from_pods(
    pods: Sequence[dict[str, Any] | Pod],
    arrival: Sequence[float] | np.ndarray | None = None,
    duration: Sequence[float] | np.ndarray | None = None,
    source: str = "",
    extra_resources: Sequence[str] = (),
) -> Workload:
    """A Workload of `pods` (dicts or parsed), in the given order.

    Requests are the pods' effective requests (init containers, sidecars, overhead included);
    `arrival` defaults to 0 and `duration` to inf (never departs).
    """
    parsed: list[Pod] = []
    for i, p in enumerate(pods):
        try:
            parsed.append(parse_pod(p))
        except KubeObjectError as exc:
            raise exc.within(obj=f"pods[{i}]", source=source or None) from None
    n = len(parsed)
    reqs = [pod_requests(p) for p in parsed]
    names_set = {CPU, MEMORY, *extra_resources}
    for r in reqs:
        names_set.update(k for k in r if k != GPU_RESOURCE)
    resources = [CPU, MEMORY, *sorted(names_set - {CPU, MEMORY})]
    requests = {name: np.array([r.get(name, 0) for r in reqs], dtype=np.int64) for name in resources}
    non_zero = [non_zero_requests(p) for p in parsed]
    gpu = [gpu_ask(p) for p in parsed]
    templates: list[Pod] = []
    index: dict[str, int] = {}
    template_ids = np.zeros(n, dtype=np.int32)
    for i, p in enumerate(parsed):
        tmpl = template_of(p)
        key = json.dumps(tmpl, sort_keys=True)
        if key not in index:
            index[key] = len(templates)
            templates.append(parse_pod(tmpl))
        template_ids[i] = index[key]
    return Workload(
        names=[p.name for p in parsed],
        arrival=np.zeros(n) if arrival is None else np.asarray(arrival, dtype=np.float64),
        duration=np.full(n, np.inf) if duration is None else np.asarray(duration, dtype=np.float64),
        requests=requests,
        nonzero_cpu=np.array([r.get(CPU, 0) for r in non_zero], dtype=np.int64),
        nonzero_memory=np.array([r.get(MEMORY, 0) for r in non_zero], dtype=np.int64),
        gpu_count=np.array([g[0] for g in gpu], dtype=np.int64),
        gpu_milli=np.array([g[1] for g in gpu], dtype=np.int64),
        priority=np.array([p.priority for p in parsed], dtype=np.int64),
        template=template_ids,
        templates=templates,
        source=source,
    )
