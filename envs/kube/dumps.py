"""Nodes and pods out of every layout a cluster's state is saved in.

* ``kubectl get nodes -o json`` and ``kubectl get pods -A -o json`` (or ``-o yaml``): one List each;
* ``kubectl get nodes,pods -A -o json``: one List of both kinds;
* per-namespace pod files (``kubectl get pods -n NS -o yaml > NS.yaml``), several files or a directory of them;
* ``kubectl cluster-info dump`` to stdout: JSON lists (``NodeList``, then per namespace ``EventList``,
  ``PodList``...) one after the other, with container logs between them (``-o yaml``: YAML documents, the logs
  between them left out);
* ``kubectl cluster-info dump --output-directory DIR``: ``DIR/nodes.json`` and ``DIR/NS/pods.json`` among
  other lists and ``logs.txt`` files.

Every JSON or YAML file under a directory is read (in path order); other files (logs) are not. Objects are
told apart by ``kind``: an item of a typed list (``PodList`` items carry no ``kind``) takes the list's, an
object without any takes the role of the argument it was given under (nodes or pods). The objects that say
how pods are owned, protected and prioritised (``WORKLOAD_KINDS``: controllers, PodDisruptionBudgets,
PriorityClasses) are kept apart, in file order; objects of other kinds (events, services of a dump) are
counted and left out.

A pod listed more than once (the same pod in a List and in a namespace's file) is one pod, keyed as
kube-scheduler's cache keys pods: by ``metadata.uid``, else ``namespace/name``. The last listing wins, at
the place of the first (as a watch update replaces a cached pod); a node listed twice likewise, by name.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from podgym.envs.kube.errors import KubeObjectError

SUFFIXES = (".json", ".yaml", ".yml")
KINDS = ("Node", "Pod")
WORKLOAD_KINDS = ("Deployment", "ReplicaSet", "StatefulSet", "PodDisruptionBudget", "PriorityClass")

PathLike = str | Path
T = TypeVar("T")


@dataclass
class ClusterObjects:
    """The Node and Pod dicts of a dump, each once, and what was left out."""

    nodes: list[dict[str, Any]]
    pods: list[dict[str, Any]]
    node_sources: list[str] = field(default_factory=list)
    """The file each node came from ("" for objects given as data)."""
    pod_sources: list[str] = field(default_factory=list)
    ignored: dict[str, int] = field(default_factory=dict)
    """kind -> how many objects of that kind were left out."""
    duplicates: list[str] = field(default_factory=list)
    """The key (uid or namespace/name) of each pod listed more than once, once per extra listing."""
    sources: list[str] = field(default_factory=list)
    """The files read."""
    objects: list[dict[str, Any]] = field(default_factory=list)
    """The objects of WORKLOAD_KINDS, in file order, each once by kind and namespace/name."""

    @property
    def pdbs(self) -> list[dict[str, Any]]:
        """The PodDisruptionBudget objects (``kubectl get pdb -A -o json`` items)."""
        return [o for o in self.objects if o.get("kind") == "PodDisruptionBudget"]

    @property
    def priority_classes(self) -> list[dict[str, Any]]:
        """The PriorityClass objects."""
        return [o for o in self.objects if o.get("kind") == "PriorityClass"]

    def require_nodes(self, needs: str, source: str) -> None:
        """Raise a KubeObjectError naming `source` (and the kinds found instead) when the dump holds no Node;
        `needs` says what the caller needs them for."""
        if not self.nodes:
            found = f" (found: {', '.join(sorted(self.ignored))})" if self.ignored else ""
            raise KubeObjectError(f"no Node object found{found}: {needs}", source=source or None)


class KubeYamlLoader(yaml.SafeLoader):
    """YAML read as Kubernetes reads it (sigs.k8s.io/yaml turns YAML into JSON): an unquoted time such as
    ``creationTimestamp: 2026-01-02T03:04:05Z`` stays the string it is in JSON, not a datetime."""


KubeYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml_all(stream: Any) -> list[Any]:
    """The non-empty documents of a YAML text or stream, read with KubeYamlLoader."""
    return [d for d in yaml.load_all(stream, Loader=KubeYamlLoader) if d is not None]


def _is_object(value: Any) -> bool:
    """A Kubernetes object or List: a kind with items or metadata. A structured log line may carry a ``kind`` key
    (controller loggers write ``"kind":"Pod"``) but has neither."""
    if not isinstance(value, Mapping) or not isinstance(value.get("kind"), str):
        return False
    return isinstance(value.get("items"), list) or isinstance(value.get("metadata"), Mapping)


def _json_values(text: str, path: Path) -> list[Any]:
    """The JSON values of a file: one value, or (``kubectl cluster-info dump``) the lists (objects with a kind) of a
    stream of them with logs between them; JSON log lines there are log lines."""
    try:
        return [json.loads(text)]
    except json.JSONDecodeError as first:
        error = first
    decoder = json.JSONDecoder()
    values: list[Any] = []
    pos, n = 0, len(text)
    while pos < n:
        line_end = text.find("\n", pos)
        line_end = n if line_end < 0 else line_end
        stripped = text[pos:line_end].lstrip()
        if stripped[:1] in ("{", "["):
            start = pos + (line_end - pos - len(text[pos:line_end].lstrip()))
            try:
                value, end = decoder.raw_decode(text, start)
            except json.JSONDecodeError:
                pos = line_end + 1
                continue
            if _is_object(value):  # a list of the dump, not a JSON log line
                values.append(value)
            pos = end
            continue
        pos = line_end + 1  # a log line between the lists
    if not any(isinstance(v, Mapping) and "items" in v for v in values):
        raise KubeObjectError(
            f"not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})", source=str(path)
        ) from None
    return values


LOGS_START = "==== START logs for container "
LOGS_END = "==== END logs for container "


def _without_logs(text: str) -> str:
    """`text` without the container logs ``kubectl cluster-info dump -o yaml`` prints between its YAML documents
    (from a ``==== START logs for container ...`` line through its ``==== END logs ...`` line); the lines keep
    their numbers (blank), so that a YAML error points at the line of the file."""
    if LOGS_START not in text:
        return text
    lines = text.split("\n")
    inside = False
    for i, line in enumerate(lines):
        if line.startswith(LOGS_START):
            inside = True
        if inside:
            lines[i] = ""
            inside = not line.startswith(LOGS_END)
    return "\n".join(lines)


def read_file(path: PathLike) -> list[Any]:
    """The top-level values of one JSON or YAML file (several YAML documents, concatenated JSON values)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KubeObjectError(f"cannot read file: {getattr(exc, 'strerror', None) or exc}", source=str(path)) from None
    if path.suffix == ".json" or text.lstrip()[:1] in ("{", "["):
        return _json_values(text, path)
    try:
        return load_yaml_all(_without_logs(text))
    except yaml.YAMLError as exc:
        raise KubeObjectError(f"not valid YAML: {exc}", source=str(path)) from None


def files_of(path: PathLike) -> list[Path]:
    """`path` itself, or the JSON and YAML files under a directory, in path order."""
    path = Path(path)
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
        if not found:
            raise KubeObjectError("no JSON or YAML file in this directory", source=str(path))
        return found
    return [path]  # read_file reports a missing file


def typed_objects(data: Any, kind: str | None = None) -> list[tuple[str | None, Any]]:
    """(kind, object) of a List (items take the kind of a typed ``XList``), a plain list, or one object."""
    if isinstance(data, Mapping) and "items" in data and str(data.get("kind", "List")).endswith("List"):
        items = data.get("items") or []
        if not isinstance(items, list):
            raise KubeObjectError(
                f"expected a list, got {type(items).__name__}", obj=str(data.get("kind")), field="items"
            )
        list_kind = str(data.get("kind", "List"))[: -len("List")] or kind
        return [pair for item in items for pair in typed_objects(item, list_kind)]
    if isinstance(data, list):
        return [pair for item in data for pair in typed_objects(item, kind)]
    own = data.get("kind") if isinstance(data, Mapping) else None
    return [(own if isinstance(own, str) and own else kind, data)]


def pod_key(obj: Any) -> str | None:
    """The key kube-scheduler's cache gives a pod object: its uid, else namespace/name; None without metadata."""
    meta = obj.get("metadata") if isinstance(obj, Mapping) else None
    if not isinstance(meta, Mapping):
        return None
    uid = meta.get("uid")
    if isinstance(uid, str) and uid:
        return uid
    name, namespace = meta.get("name"), meta.get("namespace") or "default"
    return f"{namespace}/{name}" if isinstance(name, str) and name and isinstance(namespace, str) else None


def _namespaced_key(obj: Any) -> str | None:
    meta = obj.get("metadata") if isinstance(obj, Mapping) else None
    name = meta.get("name") if isinstance(meta, Mapping) else None
    namespace = (meta.get("namespace") or "default") if isinstance(meta, Mapping) else None
    return f"{namespace}/{name}" if isinstance(name, str) and name and isinstance(namespace, str) else None


def _object_key(obj: Mapping[str, Any]) -> str | None:
    key = _namespaced_key(obj)
    return f"{obj['kind']}/{key}" if key is not None else None


def _node_key(obj: Any) -> str | None:
    meta = obj.get("metadata") if isinstance(obj, Mapping) else None
    name = meta.get("name") if isinstance(meta, Mapping) else None
    return name if isinstance(name, str) and name else None


def _unique(objects: list[Any], key_of) -> tuple[list[Any], list[str]]:
    """Objects once per key, the last listing at the first's place; objects without a key are kept (the parser
    reports them); and the keys seen again."""
    slots: dict[str, int] = {}
    out: list[Any] = []
    again: list[str] = []
    for obj in objects:
        key = key_of(obj)
        if key is None:
            out.append(obj)
        elif key in slots:
            out[slots[key]] = obj
            again.append(key)
        else:
            slots[key] = len(out)
            out.append(obj)
    return out, again


def collect(nodes: Sequence[tuple[str, Any]] = (), pods: Sequence[tuple[str, Any]] = ()) -> ClusterObjects:
    """ClusterObjects of (source, data) pairs given as nodes and as pods (their role for objects without a kind)."""
    found: dict[str, list[tuple[str, Any]]] = {k: [] for k in KINDS}
    ignored: dict[str, int] = {}
    kept: list[tuple[str, dict[str, Any]]] = []
    sources: list[str] = []
    for role, pairs in (("Node", nodes), ("Pod", pods)):
        for source, data in pairs:
            if source and source not in sources:
                sources.append(source)
            try:
                typed = typed_objects(data, role)
            except KubeObjectError as exc:
                raise exc.within(source=source or None) from None
            for kind, obj in typed:
                if kind in found:
                    found[kind].append((source, obj))
                elif kind in WORKLOAD_KINDS and isinstance(obj, Mapping):
                    kept.append((source, {**obj, "kind": kind}))
                else:
                    ignored[str(kind)] = ignored.get(str(kind), 0) + 1
    node_list, _ = _unique(found["Node"], lambda pair: _node_key(pair[1]))
    pod_list, duplicates = _unique(found["Pod"], lambda pair: pod_key(pair[1]))
    kept, _ = _unique(kept, lambda pair: _object_key(pair[1]))
    return ClusterObjects(
        [o for _, o in node_list],
        [o for _, o in pod_list],
        [s for s, _ in node_list],
        [s for s, _ in pod_list],
        ignored,
        duplicates,
        sources,
        [o for _, o in kept],
    )


def parse_located(parse: Callable[[Any], T], objects: Sequence[Any], sources: Sequence[str], container: str) -> list[T]:
    """`parse` of each object of a dump (``ClusterObjects.nodes`` with ``node_sources``, or the pods); an error
    names the file the object came from and its place among the dump's objects (``nodes[3]``)."""
    out = []
    for i, obj in enumerate(objects):
        try:
            out.append(parse(obj))
        except KubeObjectError as exc:
            source = sources[i] if i < len(sources) else ""
            raise exc.within(container=f"{container}[{i}]", source=source or None) from None
    return out


def _pairs(paths: PathLike | Sequence[PathLike] | None) -> list[tuple[str, Any]]:
    if paths is None:
        return []
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    return [(str(f), value) for p in items for f in files_of(p) for value in read_file(f)]


def read_dump(
    nodes: PathLike | Sequence[PathLike] | None, pods: PathLike | Sequence[PathLike] | None = None
) -> ClusterObjects:
    """The nodes and pods of files or directories in any layout of the module doc.

    Node and Pod objects are taken from every path given; `nodes` and `pods` say only what an object
    without a kind is. A path that does not exist, or a directory without a JSON or YAML file, is a
    KubeObjectError naming it.
    """
    return collect(_pairs(nodes), _pairs(pods))
