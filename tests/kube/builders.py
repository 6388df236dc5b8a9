"""Builders for Pod and Node dicts shaped exactly like `kubectl get -o json` output.

Tests transcribed from upstream Kubernetes use these to write the same objects the Go tests build
with `st.MakePod()` / `st.MakeNode()`, without repeating the JSON boilerplate.
"""

from __future__ import annotations

from typing import Any

Container = dict[str, Any]


def container(requests: dict[str, Any] | None = None, *, name: str = "c", **extra: Any) -> Container:
    """A container with the given resource requests (quantities as strings or numbers)."""
    c: Container = {"name": name, "image": "registry.k8s.io/pause:3.10"}
    if requests is not None:
        c["resources"] = {"requests": dict(requests)}
    c.update(extra)
    return c


def _as_container(spec: Container | dict[str, Any], index: int, prefix: str) -> Container:
    # A dict with a "name" or "resources" key is already a container; anything else is a requests map.
    if "name" in spec or "resources" in spec:
        return dict(spec)
    return container(spec, name=f"{prefix}{index}")


def pod(
    name: str = "pod",
    *,
    namespace: str = "default",
    containers: list[Container | dict[str, Any]] | None = None,
    init_containers: list[Container | dict[str, Any]] | None = None,
    overhead: dict[str, Any] | None = None,
    node_name: str | None = None,
    node_selector: dict[str, str] | None = None,
    affinity: dict[str, Any] | None = None,
    tolerations: list[dict[str, Any]] | None = None,
    labels: dict[str, str] | None = None,
    uid: str | None = None,
) -> dict[str, Any]:
    """A Pod dict. `containers` entries are either requests maps ({"cpu": "1"}) or container dicts."""
    spec: dict[str, Any] = {
        "containers": [_as_container(c, i, "c") for i, c in enumerate(containers or [{}])],
    }
    if init_containers:
        spec["initContainers"] = [_as_container(c, i, "init") for i, c in enumerate(init_containers)]
    if overhead is not None:
        spec["overhead"] = dict(overhead)
    if node_name is not None:
        spec["nodeName"] = node_name
    if node_selector is not None:
        spec["nodeSelector"] = dict(node_selector)
    if affinity is not None:
        spec["affinity"] = affinity
    if tolerations is not None:
        spec["tolerations"] = list(tolerations)
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "uid": uid or f"uid-{namespace}-{name}"}
    if labels is not None:
        metadata["labels"] = dict(labels)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": {"phase": "Pending"}}


def node(
    name: str = "node",
    *,
    allocatable: dict[str, Any] | None = None,
    capacity: dict[str, Any] | None = None,
    labels: dict[str, str] | None = None,
    taints: list[dict[str, Any]] | None = None,
    unschedulable: bool = False,
) -> dict[str, Any]:
    """A Node dict. `allocatable` defaults to {"pods": "110"}; `capacity` defaults to `allocatable`."""
    alloc = dict(allocatable) if allocatable is not None else {"pods": "110"}
    spec: dict[str, Any] = {}
    if taints is not None:
        spec["taints"] = list(taints)
    if unschedulable:
        spec["unschedulable"] = True
    all_labels = {"kubernetes.io/hostname": name, **(labels or {})}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": all_labels},
        "spec": spec,
        "status": {"allocatable": alloc, "capacity": dict(capacity) if capacity is not None else dict(alloc)},
    }


def on_node(p: dict[str, Any], node_name: str) -> dict[str, Any]:
    """A copy of pod `p` bound to `node_name` (a running pod, as `pods` in kube.filter/score expects)."""
    bound = {**p, "spec": {**p["spec"], "nodeName": node_name}, "status": {"phase": "Running"}}
    return bound


def bare_pod(name: str = "pod", **kwargs: Any) -> dict[str, Any]:
    """A Pod dict with no containers at all, like upstream's `st.MakePod().Obj()`.

    `pod()` always gives at least one container; a container without requests gets the non-zero
    scoring defaults (100m cpu / 200Mi memory), while a pod with zero containers requests nothing.
    """
    p = pod(name, **kwargs)
    p["spec"]["containers"] = []
    return p
