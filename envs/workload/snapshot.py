"""A real cluster's state (``kubectl get nodes -o json``, ``kubectl get pods -A -o json``) and workload manifests.

``read_snapshot`` reads any layout of ``envs.kube.dumps`` and splits a snapshot's pods as kube-scheduler's
cache would see them (each pod once, keyed by uid):

* terminal pods (phase Succeeded or Failed) are skipped: they hold no resources;
* a pod with ``spec.nodeName`` is *bound*: it goes into ``ClusterSource.initial`` with its node in
  ``ClusterSource.bound_to``; one bound to a node the node list lacks (deleted between two listings) is left
  out (``Snapshot.orphans``), as kube-scheduler's cache keeps such a pod off every node it schedules onto;
* any other pod is *pending* (phase Pending, or no status as in a manifest): it goes into the pending
  Workload, every pod arriving at 0, ordered by ``metadata.creationTimestamp`` (then file order),
  as the scheduling queue sees them among equal priorities.

Pods of every ``spec.schedulerName`` are kept (the templates keep the name); a simulator that
models one scheduler can filter on it. Bound pods never depart (duration inf).

The snapshot's PodDisruptionBudgets, PriorityClasses and controllers (``envs.kube.dumps.WORKLOAD_KINDS``) go
into ``Snapshot.objects`` and the ``objects`` of the cluster's bound pods (``ClusterSource.initial``), so that a
budget covers the snapshot's pods whether or not its pending pods are part of the workload.
``snapshot_documents`` / ``write_snapshot`` write a cluster and a workload back as such a snapshot (a
``kubectl get -o json`` List).

``pods_from_manifests`` expands workload manifests (Deployment, ReplicaSet, StatefulSet, Job, Pod, and
Lists of them) into the Pod dicts their controllers would create; PodDisruptionBudgets and PriorityClasses
are kept (``workload_from_manifests`` puts them and the controllers into ``objects``, and sets the priority of
a pod that names a PriorityClass, as admission does). ``manifests_of`` / ``write_manifests`` write a workload
as manifests again: its PriorityClasses, controllers, PodDisruptionBudgets and the pods no controller owns.

Files are JSON or YAML: one object, a List (``{"kind": "List", "items": [...]}``), a plain list, or
several YAML documents.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from podgym.envs.kube import parse_nodes
from podgym.envs.kube.defaults import default_pod
from podgym.envs.kube.disruption import PodDisruptionBudget, parse_pdb, parse_pdbs
from podgym.envs.kube.dumps import load_yaml_all, read_dump
from podgym.envs.kube.errors import KubeObjectError
from podgym.envs.kube.objects import Pod, parse_pod
from podgym.envs.kube.priority import priority_classes, resolve_priority
from podgym.envs.workload.objects import workload_from_pods
from podgym.envs.workload.services import TEMPLATE_HASH_LABEL, controller_ref, template_hash
from podgym.envs.workload.types import ClusterSource, Workload

WORKLOAD_KINDS = ("Pod", "Deployment", "ReplicaSet", "StatefulSet", "Job")
# Manifests that create no pod of their own but say how pods are protected and prioritised.
POLICY_KINDS = ("PodDisruptionBudget", "PriorityClass")

Source = str | Path | Mapping[str, Any]


def load_documents(path: str | Path) -> list[Any]:
    """The objects of a JSON or YAML file: Lists and several YAML documents flattened into one list."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KubeObjectError(f"cannot read file: {exc.strerror}", source=str(path)) from None
    try:
        docs = [json.loads(text)] if path.suffix == ".json" else load_yaml_all(text)
    except json.JSONDecodeError as exc:
        raise KubeObjectError(
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", source=str(path)
        ) from None
    except yaml.YAMLError as exc:
        raise KubeObjectError(f"not valid YAML: {exc}", source=str(path)) from None
    return flatten(docs)


def flatten(data: Any) -> list[Any]:
    """The objects of a List (``{"items": [...]}``, kind ``List`` or ``*List``), a plain list, or one object."""
    if isinstance(data, Mapping) and "items" in data and str(data.get("kind", "List")).endswith("List"):
        items = data.get("items") or []
        if not isinstance(items, list):
            raise KubeObjectError(
                f"expected a list, got {type(items).__name__}", obj=str(data.get("kind")), field="items"
            )
        return [obj for item in items for obj in flatten(item)]
    if isinstance(data, list):
        return [obj for item in data for obj in flatten(item)]
    return [data]


def _objects(source: Source | Sequence[Source]) -> list[tuple[str, Any]]:
    """(source name, object) pairs of a file, an object/List, or a sequence of those."""
    if isinstance(source, (str, Path)):
        return [(str(source), obj) for obj in load_documents(source)]
    if isinstance(source, Mapping):
        return [("", obj) for obj in flatten(source)]
    return [pair for s in source for pair in _objects(s)]


@dataclass
class Snapshot:
    """A cluster snapshot: the nodes with their bound pods, and the pods waiting to be scheduled."""

    cluster: ClusterSource
    pending: Workload
    skipped: list[str]
    """``namespace/name`` of the terminal pods that were skipped."""
    duplicates: list[str] = field(default_factory=list)
    """The key (uid, else namespace/name) of each extra listing of a pod that was listed more than once."""
    ignored: dict[str, int] = field(default_factory=dict)
    """Objects of other kinds than Node and Pod that were left out (a cluster-info dump's events...), by kind."""
    objects: list[dict[str, Any]] = field(default_factory=list)
    """Controllers, PodDisruptionBudgets and PriorityClasses (``envs.kube.dumps.WORKLOAD_KINDS``), in file order."""
    pdbs: list[PodDisruptionBudget] = field(default_factory=list)
    """The PodDisruptionBudgets of the dump (``kubectl get pdb -A -o json`` items)."""
    held: list[str] = field(default_factory=list)
    """``namespace/name`` of the unbound pods kube-scheduler does not schedule: those with scheduling gates and
    those being deleted (``metadata.deletionTimestamp``). They are not among the pending pods."""
    orphans: list[str] = field(default_factory=list)
    """``namespace/name`` of the pods bound to a node the node list lacks: left out, on no node of the cluster."""


def _sort_key(item: tuple[int, Pod]) -> tuple[str, int]:
    i, pod = item
    ts = (pod.raw.get("metadata") or {}).get("creationTimestamp")
    return (ts if isinstance(ts, str) else "", i)


def snapshot_from_objects(
    nodes: Iterable[Any],
    pods: Iterable[Any],
    nodes_source: str = "",
    pods_source: str = "",
    *,
    pod_sources: Sequence[str] | None = None,
) -> Snapshot:
    """A Snapshot of Node and Pod dicts (or Lists): bound pods onto their nodes, pending pods in queue order
    (unbound pods with scheduling gates or being deleted are held back, as kube-scheduler's queue holds them).

    A pod listed more than once is one pod, keyed as the scheduler's cache keys it (``metadata.uid``, else
    ``namespace/name``): the last listing wins. `pod_sources` names the file of each pod, for errors.
    """
    try:
        parsed_nodes = parse_nodes(flatten(nodes if isinstance(nodes, (Mapping, list)) else list(nodes)))
    except KubeObjectError as exc:
        raise exc.within(source=nodes_source or None) from None
    node_names = {n.name for n in parsed_nodes}
    items = flatten(pods if isinstance(pods, (Mapping, list)) else list(pods))
    by_key: dict[str, tuple[int, Pod, str]] = {}
    duplicates: list[str] = []
    for i, item in enumerate(items):
        source = (pod_sources[i] if pod_sources is not None else pods_source) or None
        try:
            pod = parse_pod(item)
        except KubeObjectError as exc:
            raise exc.within(obj=f"pods[{i}]", source=source) from None
        if pod.uid in by_key:
            duplicates.append(pod.uid)
            by_key[pod.uid] = (by_key[pod.uid][0], pod, source or "")
        else:
            by_key[pod.uid] = (i, pod, source or "")
    bound: list[Pod] = []
    bound_to: list[str] = []
    pending: list[tuple[int, Pod]] = []
    skipped: list[str] = []
    held: list[str] = []
    orphans: list[str] = []
    for i, pod, _ in by_key.values():
        if pod.is_terminal:
            skipped.append(pod.ref)
        elif not pod.node_name and (pod.gated or pod.terminating):
            held.append(pod.ref)  # the scheduling queue never pops it (PreEnqueue gates; a deleted pod is skipped)
        elif pod.node_name:
            if pod.node_name not in node_names:
                orphans.append(pod.ref)
                continue
            bound.append(pod)
            bound_to.append(pod.node_name)
        else:
            pending.append((i, pod))
    pending.sort(key=_sort_key)
    source = ", ".join(dict.fromkeys(s for s in (nodes_source, pods_source) if s))
    cluster = ClusterSource(
        nodes=parsed_nodes,
        initial=workload_from_pods(bound, source=pods_source),
        bound_to=bound_to,
        source=source,
    )
    pending_workload = workload_from_pods([p for _, p in pending], source=pods_source)
    return Snapshot(cluster, pending_workload, skipped, duplicates, held=held, orphans=orphans)


PathArg = str | Path | Sequence[str | Path]


def _names(paths: PathArg | None) -> str:
    if paths is None:
        return ""
    return ", ".join(str(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths))


def load_snapshot(nodes_path: PathArg, pods_path: PathArg | None = None) -> Snapshot:
    """Read a snapshot from files or directories in any layout of ``envs.kube.dumps``.

    ``kubectl get nodes -o json`` and ``kubectl get pods -A -o json`` files, one ``kubectl get nodes,pods -A``
    file, per-namespace pod files, ``kubectl cluster-info dump`` output or its ``--output-directory``: Nodes
    and Pods are told apart by kind, wherever they are; each is counted once.
    """
    dump = read_dump(nodes_path, pods_path)
    dump.require_nodes("a snapshot needs `kubectl get nodes -o json` output", _names(nodes_path))
    snap = snapshot_from_objects(
        dump.nodes, dump.pods, _names(nodes_path), _names(pods_path) or _names(nodes_path), pod_sources=dump.pod_sources
    )
    snap.duplicates = dump.duplicates + snap.duplicates
    snap.ignored = dump.ignored
    try:
        snap.pdbs = parse_pdbs(dump.pdbs)
    except KubeObjectError as exc:
        raise exc.within(source=_names(pods_path) or _names(nodes_path)) from None
    snap.objects = dump.objects
    snap.cluster.initial.objects = dump.objects
    return snap


def read_snapshot(nodes_path: PathArg, pods_path: PathArg | None = None) -> tuple[ClusterSource, Workload]:
    """(ClusterSource with the nodes and the bound non-terminal pods, pending Workload) of a snapshot's files."""
    snap = load_snapshot(nodes_path, pods_path)
    return snap.cluster, snap.pending


# --- manifests ---------------------------------------------------------------------------------------------------


def _count(obj: Mapping[str, Any], field: str, default: int, where: str, source: str) -> int:
    spec = obj.get("spec") or {}
    value = spec.get(field, default) if isinstance(spec, Mapping) else default
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise KubeObjectError(
            f"expected a non-negative integer, got {value!r}", obj=where, field=f"spec.{field}", source=source or None
        )
    return value


def _expand(obj: Any, source: str) -> list[dict[str, Any]]:
    if not isinstance(obj, Mapping):
        raise KubeObjectError(
            f"expected a Kubernetes object (a mapping), got {type(obj).__name__}", source=source or None
        )
    kind = obj.get("kind")
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str) or not meta.get("name"):
        raise KubeObjectError(
            "a non-empty string is required", obj=str(kind), field="metadata.name", source=source or None
        )
    name = meta["name"]
    namespace = meta.get("namespace") or "default"
    where = f"{kind} {namespace}/{name}"
    if kind == "Pod":
        pod = copy.deepcopy(dict(obj))
        pod["metadata"] = {**pod["metadata"], "namespace": namespace}
        return [pod]
    if kind in POLICY_KINDS:
        if kind == "PodDisruptionBudget":
            try:
                parse_pdb(obj)
            except KubeObjectError as exc:
                raise exc.within(source=source or None) from None
        return []
    if kind not in WORKLOAD_KINDS:
        raise KubeObjectError(
            f"unsupported kind {kind!r}: podgym expands {', '.join(WORKLOAD_KINDS)} and keeps "
            f"{', '.join(POLICY_KINDS)} (and Lists of them)",
            obj=f"{kind} {namespace}/{name}",
            field="kind",
            source=source or None,
        )
    if kind == "Job":
        parallelism = _count(obj, "parallelism", 1, where, source)
        completions = (obj.get("spec") or {}).get("completions")
        replicas = (
            parallelism if completions is None else min(parallelism, _count(obj, "completions", 1, where, source))
        )
    else:
        replicas = _count(obj, "replicas", 1, where, source)
    spec = obj.get("spec")
    template = spec.get("template") if isinstance(spec, Mapping) else None
    if not isinstance(template, Mapping) or not isinstance(template.get("spec"), Mapping):
        raise KubeObjectError(
            "missing or not an object: a pod template with a spec is required",
            obj=where,
            field="spec.template.spec",
            source=source or None,
        )
    tmeta = template.get("metadata") or {}
    if not isinstance(tmeta, Mapping):
        raise KubeObjectError("expected an object", obj=where, field="spec.template.metadata", source=source or None)
    if kind == "Job":
        owner = {"apiVersion": obj.get("apiVersion", ""), "kind": kind, "name": name, "controller": True}
        extra: dict[str, str] = {}
    elif kind == "Deployment":  # the Deployment's ReplicaSet owns the pods and labels them with its hash
        h = template_hash(template)
        owner, extra = controller_ref("ReplicaSet", namespace, f"{name}-{h}"), {TEMPLATE_HASH_LABEL: h}
    else:
        owner, extra = controller_ref(kind, namespace, name), {}
    pods = []
    for i in range(replicas):
        pod_meta: dict[str, Any] = {"name": f"{name}-{i}", "namespace": namespace, "ownerReferences": [dict(owner)]}
        for key in ("labels", "annotations"):
            if tmeta.get(key):
                pod_meta[key] = copy.deepcopy(tmeta[key])
        if extra:
            pod_meta["labels"] = {**pod_meta.get("labels", {}), **extra}
        pods.append(
            {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": copy.deepcopy(dict(template["spec"]))}
        )
    return pods


def _manifests(sources: Source | Sequence[Source]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(pods, the other objects kept: controllers, PodDisruptionBudgets, PriorityClasses) of manifests."""
    pods: list[dict[str, Any]] = []
    kept: list[dict[str, Any]] = []
    for source, obj in _objects(sources):
        for pod in _expand(obj, source):
            try:
                parse_pod(pod)
            except KubeObjectError as exc:
                raise exc.within(source=source or None) from None
            pods.append(pod)
        if obj.get("kind") in (*POLICY_KINDS, "Deployment", "ReplicaSet", "StatefulSet"):
            kept.append(copy.deepcopy(dict(obj)))
    return pods, kept


def pods_from_manifests(sources: Source | Sequence[Source]) -> list[dict[str, Any]]:
    """Pod dicts of workload manifests: files, objects or Lists (or a sequence of those), in order.

    Deployment, ReplicaSet and StatefulSet give ``spec.replicas`` pods (default 1); a Job gives
    ``min(parallelism, completions)`` pods (parallelism default 1), the pods its controller starts
    first; a Pod is kept as is. Pods are named ``<owner>-<i>`` (i from 0), take the owner's namespace
    (or ``default``), the template's labels and annotations, a controller ownerReference and a copy of
    ``spec.template.spec``. The owner is the manifest itself, except for a Deployment: its ReplicaSet
    ``<name>-<pod-template-hash>``, whose hash label the pods carry (``envs.workload.services.template_hash``).
    PriorityClasses among the manifests give the pods their priority and preemption policy as admission does
    (``envs.kube.priority``); PodDisruptionBudgets give no pod (a malformed budget is an error). Any other kind
    is a KubeObjectError naming the file and the kind.
    """
    pods, kept = _manifests(sources)
    _admit_priorities(pods, kept, _source_names(sources))
    return pods


def _source_names(sources: Source | Sequence[Source]) -> str:
    items = sources if isinstance(sources, (list, tuple)) else [sources]
    return ", ".join(str(s) for s in items if isinstance(s, (str, Path))) or "manifests"


def _admit_priorities(
    pods: list[dict[str, Any]], objects: list[dict[str, Any]], source: str, cluster_classes: Sequence[Any] = ()
) -> None:
    """Admission of `pods`, in place: requests defaulted from limits (``envs.kube.defaults``), then priority
    (``envs.kube.priority``) from `cluster_classes` (the PriorityClasses of the cluster the pods are created in) and
    the PriorityClasses among `objects` (a manifest's wins by name)."""
    try:
        own = [o for o in objects if o.get("kind") == "PriorityClass"]
        names = {(o.get("metadata") or {}).get("name") for o in own}
        inherited = [c for c in cluster_classes if (c.get("metadata") or {}).get("name") not in names]
        classes = priority_classes([*inherited, *own])
        for i, pod in enumerate(pods):
            pods[i] = resolve_priority(default_pod(pod), classes)
    except KubeObjectError as exc:
        raise exc.within(source=source) from None


def _kind(obj: Any) -> Any:
    return obj.get("kind") if isinstance(obj, Mapping) else None


def pdbs_from_manifests(sources: Source | Sequence[Source]) -> list[PodDisruptionBudget]:
    """The PodDisruptionBudgets (policy/v1) among workload manifests, in order."""
    out = []
    for source, obj in _objects(sources):
        if _kind(obj) == "PodDisruptionBudget":
            try:
                out.append(parse_pdb(obj))
            except KubeObjectError as exc:
                raise exc.within(source=source or None) from None
    return out


def workload_from_manifests(
    sources: Source | Sequence[Source], cluster_classes: Sequence[Mapping[str, Any]] = ()
) -> Workload:
    """The Workload of ``pods_from_manifests(sources)``: every pod arrives at 0 and never departs; ``objects``
    holds the manifests' controllers, PodDisruptionBudgets and PriorityClasses (priorities admitted from them).
    `cluster_classes`: the PriorityClass dicts of the cluster the manifests are applied to (a snapshot's), which
    admission sees as well; a class among the manifests replaces the cluster's of the same name."""
    source = _source_names(sources)
    pods, kept = _manifests(sources)
    _admit_priorities(pods, kept, source, cluster_classes)
    workload = workload_from_pods(pods, source=source)
    workload.objects = kept
    return workload


# --- writing snapshots and manifests -----------------------------------------------------------------------------


def _write_atomically(path: str | Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _owned_by_objects(workload: Workload) -> set[tuple[str, str, str]]:
    """(namespace, kind, name) of the workload's controllers."""
    return {
        (o["metadata"].get("namespace") or "default", o["kind"], o["metadata"]["name"])
        for o in workload.objects
        if o.get("kind") in ("Deployment", "ReplicaSet", "StatefulSet")
    }


def manifests_of(workload: Workload) -> list[dict[str, Any]]:
    """Manifests that recreate `workload` with ``kubectl apply``: its PriorityClasses, then its other objects
    (controllers, PodDisruptionBudgets) without the ReplicaSets a Deployment among them creates, then the pods
    that no controller among them owns (arrival times and lifetimes are not part of manifests)."""
    controllers = _owned_by_objects(workload)
    objects = [copy.deepcopy(o) for o in workload.objects if o.get("kind") == "PriorityClass"]
    for o in workload.objects:
        if o.get("kind") == "PriorityClass":
            continue
        ns = o["metadata"].get("namespace") or "default"
        owners = o["metadata"].get("ownerReferences") or []
        if any((ns, r.get("kind"), r.get("name")) in controllers for r in owners if r.get("controller")):
            continue  # created by its controller
        objects.append(copy.deepcopy(o))
    for i in range(len(workload)):
        tmpl = workload.templates[int(workload.template[i])]
        refs = (tmpl.raw.get("metadata") or {}).get("ownerReferences") or []
        if any((tmpl.namespace, r.get("kind"), r.get("name")) in controllers for r in refs if r.get("controller")):
            continue
        objects.append(workload.pod_object(i))
    return objects


def write_manifests(path: str | Path, workload: Workload) -> None:
    """``manifests_of(workload)`` as a multi-document YAML file (written to a temporary file, then renamed)."""
    _write_atomically(path, yaml.safe_dump_all(manifests_of(workload), sort_keys=False))


def snapshot_documents(
    cluster: ClusterSource, workload: Workload | None = None, bound_to: Sequence[str | None] | None = None
) -> dict[str, Any]:
    """A ``kubectl get nodes,pods,... -o json`` List of a cluster and a workload: the nodes, the cluster's bound
    pods (``cluster.initial`` on ``cluster.bound_to``), the workload's pods (running on ``bound_to[i]`` when given,
    else pending) and the objects of both (controllers, PodDisruptionBudgets, PriorityClasses)."""
    items: list[dict[str, Any]] = [copy.deepcopy(n.raw) for n in cluster.nodes]
    parts = [(cluster.initial, list(cluster.bound_to))] if cluster.initial is not None else []
    if workload is not None:
        parts.append((workload, list(bound_to) if bound_to is not None else [None] * len(workload)))
    for pods, nodes in parts:
        if len(nodes) != len(pods):
            raise ValueError(f"bound_to has {len(nodes)} entries for {len(pods)} pods")
        for i, node in enumerate(nodes):
            pod = pods.pod_object(i)
            if node:
                pod["spec"]["nodeName"] = node
            pod["status"] = {"phase": "Running" if node else "Pending"}
            items.append(pod)
    for pods, _ in parts:
        items.extend(copy.deepcopy(o) for o in pods.objects)
    return {"apiVersion": "v1", "kind": "List", "items": items}


def write_snapshot(
    path: str | Path,
    cluster: ClusterSource,
    workload: Workload | None = None,
    bound_to: Sequence[str | None] | None = None,
) -> None:
    """``snapshot_documents`` as one JSON file that ``load_snapshot(path)`` reads back (temporary file, then
    renamed)."""
    _write_atomically(path, json.dumps(snapshot_documents(cluster, workload, bound_to), indent=1))
