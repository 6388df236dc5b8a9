"""The plugin's view of the cluster: the nodes and the pods bound to them, kept current by list and watch.

kube-scheduler calls a ``nodeCacheCapable`` extender with node *names* only, so the extender keeps its own
cache, as kube-scheduler's informers do; the secondary scheduler (``plugin.scheduler``) keeps the same one,
so that both account nodes and pods alike. ``ClusterCache`` holds the Node and Pod dicts exactly as the API
gives them and maintains, under one lock, the ``envs.cluster.ClusterState`` that the filters
(``envs.scheduling.VectorProfile``) and the scorers read:

* nodes: a change to what scheduling reads (labels, allocatable, taints) marks the state stale and it is
  rebuilt on the next read, once for a burst of changes; a cordon (``spec.unschedulable``) is applied in
  place; a change to anything else (status heartbeats) only replaces the stored dict;
* pods: a pod with ``spec.nodeName`` is bound to its node (``ClusterState.bind``), a pod without it is
  pending (counted, for the ``pending`` feature), a terminal pod (Succeeded/Failed) or a deleted one is
  released (``unbind``), all incrementally. A pod bound to a node the cache does not know yet waits and
  is bound when the node appears. Pods are keyed by ``metadata.uid`` (else ``namespace/name``).

Feeding it: ``start_watch(KubeSource(...))`` lists and watches nodes and pods with the official kubernetes
client (``kubernetes.watch.Watch`` on ``CoreV1Api.list_node`` / ``list_pod_for_all_namespaces``),
resumes each watch from the last ``resourceVersion`` seen (bookmarks included) and relists on
``410 Gone``; or, for tests, ``--no-watch`` and simulations, ``set_state`` / ``set_nodes`` /
``apply_event`` / ``apply_pod_event`` by hand. The secondary scheduler applies its own streams (nodes,
bound pods) this way, and accounts a pod it has just bound with ``assume``, before the watch reports it.
Readers hold ``cache.lock`` while they use what ``snapshot()`` returns: the ClusterState is the live one,
updated in place by the watch threads.

Listeners (``on_reset(view)`` after a rebuild, ``on_bind``/``on_unbind`` as the simulator calls them)
let a stateful scorer (round-robin, FGD's fragmentation index) follow the cache as it follows a simulation.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from podgym.envs.cluster import ClusterState, PodRequest
from podgym.envs.kube import parse_nodes
from podgym.envs.kube.dumps import pod_key
from podgym.envs.kube.errors import KubeObjectError
from podgym.envs.kube.objects import Node, Pod, parse_list, parse_node, parse_pod
from podgym.envs.kube.profile import Profile, default_profile
from podgym.envs.scheduling import VectorProfile
from podgym.envs.simulator import SimulationOptions
from podgym.envs.workload.objects import workload_from_pods
from podgym.envs.workload.types import GPU_RESOURCE, Workload, empty_workload

log = logging.getLogger("podgym.plugin.cache")

NODES, PODS = "nodes", "pods"
KINDS = (NODES, PODS)
EVENT_TYPES = ("ADDED", "MODIFIED", "DELETED", "BOOKMARK")
MAX_TEMPLATES = 4096  # distinct pod templates remembered (scheduling constraints); then the memo starts over


class GoneError(Exception):
    """The watch's resourceVersion is too old (HTTP 410 Gone): relist."""

    status = 410


def is_gone(exc: BaseException) -> bool:
    """Whether `exc` says 410 Gone (our GoneError or the kubernetes client's ApiException)."""
    return getattr(exc, "status", None) == 410


class Listener(Protocol):
    def on_reset(self, view: ClusterView) -> None: ...

    def on_bind(self, cluster: ClusterState, node: int, pod: PodRequest, gpus: tuple[int, ...]) -> None: ...

    def on_unbind(self, cluster: ClusterState, node: int, pod: PodRequest, gpus: tuple[int, ...]) -> None: ...


@dataclass
class _PodEntry:
    obj: dict[str, Any]
    node: str  # spec.nodeName ("" while pending)
    request: PodRequest | None = None  # over the columns `columns`; None until first needed
    columns: tuple[str, ...] = ()
    index: int = -1  # the node's index in the current ClusterState; -1 when not bound there
    gpus: tuple[int, ...] = ()


class _MissingColumns(Exception):
    def __init__(self, resources: set[str]):
        super().__init__(", ".join(sorted(resources)))
        self.resources = resources


def _pod_key(pod: Pod) -> str:
    return pod.uid  # metadata.uid, else namespace/name (parse_pod's fallback)


def _parse_pods(pods: Iterable[Any] | Mapping[str, Any]) -> list[Pod]:
    return parse_list(pods, parse_pod, "pods")


def _memo_key(obj: Mapping[str, Any], cluster: ClusterState) -> tuple[str | None, tuple[tuple[str, ...], str] | None]:
    """(name, key) of a pod dict for ClusterCache's memo of conversions: everything workload_from_pods reads
    but the name and the binding (pods of one controller differ only there); key None when it cannot be made."""
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, Mapping) else None
    if not isinstance(name, str) or not name:
        return None, None
    spec = obj.get("spec")
    if isinstance(spec, Mapping) and "nodeName" in spec:
        spec = {k: v for k, v in spec.items() if k != "nodeName"}
    try:
        text = json.dumps(
            [meta.get(k) for k in ("namespace", "labels", "annotations", "ownerReferences", "deletionTimestamp")]
            + [spec],
            separators=(",", ":"),
        )
    except (TypeError, ValueError):
        return name, None
    return name, (cluster.resources_key, text)


def _scheduling_view(obj: Mapping[str, Any]) -> tuple:
    """What of a pod dict scheduling reads, to tell a status-only update from a real change."""
    meta = obj.get("metadata") or {}
    return (obj.get("spec"), meta.get("labels"), meta.get("annotations"), meta.get("namespace"))


class ClusterView:
    """What a policy's ``reset(sim)`` reads of a simulator, served from a ClusterState and its bound pods.

    ``pending`` is the number of pending pods the cache knows; the clock is 0 and there is no horizon (a real
    cluster has neither), so a learned policy's ``time`` feature is 0. ``workload`` holds every known pod
    (FGD derives its typical pods from it).
    """

    def __init__(
        self,
        cluster: ClusterState,
        bound: list[tuple[int, PodRequest, tuple[int, ...]]],
        pending: Callable[[], int] = lambda: 0,
        pods: Callable[[], list[dict[str, Any]]] = list,
    ):
        self.cluster = cluster
        self.seed = 0
        self.now = 0.0
        self.options = SimulationOptions()
        self._pending = pending
        self._pods = pods
        self._workload: Workload | None = None
        self.node_of = np.array([b[0] for b in bound], dtype=np.int64)
        self.gpus_of = [b[2] for b in bound]
        self._requests = [b[1] for b in bound]

    @property
    def pending(self) -> int:
        return self._pending()

    def request(self, i: int) -> PodRequest:
        return self._requests[i]

    @property
    def workload(self) -> Workload:
        if self._workload is None:
            pods = self._pods()
            self._workload = workload_from_pods(pods) if pods else empty_workload()
        return self._workload


@dataclass(frozen=True)
class Snapshot:
    """The state to score against: read it under ``cache.lock``."""

    cluster: ClusterState
    vector: VectorProfile
    pending: int
    version: int


class ClusterCache:
    """Nodes and pods as the API gives them, and the ClusterState built from them (see the module doc).

    `seed` is what a policy's ``reset`` reads as the simulation's seed. `pending` counts the pending pods
    when they are kept elsewhere (the secondary scheduler's queue); by default the cache counts the pods
    without a node it holds. `sort_nodes` puts the nodes in name order in the ClusterState (the secondary
    scheduler's order); by default they keep the order they were listed and added in.
    """

    def __init__(
        self,
        profile: Profile | None = None,
        resources: Iterable[str] = (),
        *,
        seed: int = 0,
        pending: Callable[[], int] | None = None,
        sort_nodes: bool = False,
    ):
        self.lock = threading.RLock()
        self.profile = profile or default_profile()
        self.seed = seed
        self.sort_nodes = sort_nodes
        self.listeners: list[Listener] = []
        self._count_pending = pending or (lambda: len(self._pending))
        self._nodes: dict[str, Node] = {}
        self._pods: dict[str, _PodEntry] = {}
        self._by_node: dict[str, dict[str, None]] = {}  # node name -> keys of the pods bound to it, in order
        self._pending: set[str] = set()
        self._extra: set[str] = set(resources)  # every resource a known pod asks: always a column
        self._state: ClusterState | None = None
        self._vector: VectorProfile = VectorProfile(self.profile)
        self._dirty = True
        self._templates: dict[str, Pod] = {}
        self._memo: dict[tuple[tuple[str, ...], str], PodRequest] = {}  # pod_request of pods alike but their name
        self.version = 0
        self.rebuilds = 0
        self.relists = {NODES: 0, PODS: 0}
        self.resource_versions: dict[str, str | None] = {NODES: None, PODS: None}
        self._listed: set[str] = set()
        self._watch_kinds: tuple[str, ...] = ()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._source: Any = None

    # ---- reading ------------------------------------------------------------------------------------
    @property
    def num_nodes(self) -> int:
        return len(self._nodes)

    @property
    def num_pods(self) -> int:
        """Pods the cache holds (bound and pending)."""
        return len(self._pods)

    @property
    def num_pending(self) -> int:
        return self._count_pending()

    @property
    def synced(self) -> bool:
        """False while a watch has not listed every kind once; True for a cache fed by hand."""
        return all(k in self._listed for k in self._watch_kinds)

    def pod_objects(self) -> list[dict[str, Any]]:
        with self.lock:
            return [e.obj for e in self._pods.values()]

    def node_objects(self) -> list[Node]:
        """The parsed Nodes, in the cluster's order (by name when the cache sorts its nodes)."""
        with self.lock:
            nodes = list(self._nodes.values())
        return sorted(nodes, key=lambda n: n.name) if self.sort_nodes else nodes

    def node_of(self, pod_key: str) -> str | None:
        """The node the pod with this key (uid, else namespace/name) is bound to; "" pending; None unknown."""
        with self.lock:
            e = self._pods.get(pod_key)
            return None if e is None else e.node

    def cluster(self) -> ClusterState:
        """The current ClusterState (rebuilt first if nodes changed); hold ``lock`` while using it."""
        with self.lock:
            if self._dirty or self._state is None:
                self._rebuild()
            assert self._state is not None
            return self._state

    def snapshot(self) -> Snapshot:
        """The state to score against (hold ``lock`` while using it: it is the live state)."""
        with self.lock:
            cluster = self.cluster()
            return Snapshot(cluster, self._vector, self._count_pending(), self.version)

    def view(self) -> ClusterView:
        """A simulator-like view of the current state, for a policy's ``reset``."""
        with self.lock:
            cluster = self.cluster()
            bound = [(e.index, e.request, e.gpus) for e in self._pods.values() if e.index >= 0]
            view = ClusterView(cluster, bound, self._count_pending, self.pod_objects)
            view.seed = self.seed
            return view

    # ---- pods as PodRequests --------------------------------------------------------------------------
    def pod_request(self, obj: Mapping[str, Any], cluster: ClusterState | None = None) -> PodRequest:
        """A Pod dict as a PodRequest over `cluster`'s columns (default: the cache's state).

        A pod that asks for a resource no column holds (no node offers it) adds the column: the state is
        rebuilt, as Filter must then find it insufficient on every node. Raises KubeObjectError for a
        malformed pod.
        """
        with self.lock:
            own = cluster is None
            cluster = self.cluster() if own else cluster
            # Pods of one controller differ only in name (and uid, timestamps...): their requests and constraints
            # are converted once. The key holds everything workload_from_pods reads but the name.
            name, key = _memo_key(obj, cluster)
            hit = self._memo.get(key) if key is not None else None
            if hit is not None:
                return hit if hit.name == name else dataclasses.replace(hit, name=name)
            w = self._workload(obj)
            try:
                request = self._convert(w, cluster)
            except _MissingColumns as missing:
                if not own:
                    raise KubeObjectError(f"no column for resource(s) {missing}") from None
                self._extra |= missing.resources
                self._dirty = True
                return self._convert(w, self.cluster())
            if key is not None:
                if len(self._memo) >= MAX_TEMPLATES:
                    self._memo.clear()
                self._memo[key] = request
            return request

    def _workload(self, obj: Mapping[str, Any]) -> Workload:
        """A one-pod Workload of `obj`, its template shared with earlier pods of the same constraints."""
        w = workload_from_pods([obj])
        tmpl = w.templates[0]
        key = json.dumps(tmpl.raw, sort_keys=True, separators=(",", ":"))
        cached = self._templates.get(key)
        if cached is None:
            if len(self._templates) >= MAX_TEMPLATES:
                # Start over; VectorProfile caches verdicts per template object, so it starts over too.
                self._templates.clear()
                self._memo.clear()
                self._vector = VectorProfile(self.profile)
            self._templates[key] = cached = tmpl
        w.templates[0] = cached
        return w

    @staticmethod
    def _convert(w: Workload, cluster: ClusterState) -> PodRequest:
        needed = {r for r, arr in w.requests.items() if arr[0] and r != "pods"}
        if w.gpu_count[0]:
            needed.add(GPU_RESOURCE)
        missing = needed - cluster.column.keys()
        if missing:
            raise _MissingColumns(missing)
        return cluster.pod_request(w, 0)

    @staticmethod
    def _remap(request: PodRequest, old: tuple[str, ...], cluster: ClusterState) -> PodRequest | None:
        """`request` (over columns `old`) over `cluster`'s columns; None if one of its resources has no column."""
        if old == cluster.resources_key:
            return request
        req = np.zeros(len(cluster.resources), dtype=np.int64)
        scoring = np.zeros(len(cluster.resources), dtype=np.int64)
        for i, r in enumerate(old):
            col = cluster.column.get(r)
            if col is None:
                if request.requests[i] or request.scoring_requests[i]:
                    return None
                continue
            req[col], scoring[col] = request.requests[i], request.scoring_requests[i]
        return dataclasses.replace(request, requests=req, scoring_requests=scoring)

    # ---- rebuilding ---------------------------------------------------------------------------------
    def _rebuild(self) -> None:
        """A new ClusterState from the nodes; every bound pod bound again, in the order it was bound."""
        while True:
            nodes = list(self._nodes.values())
            if self.sort_nodes:
                nodes.sort(key=lambda n: n.name)
            state = ClusterState(nodes, self._extra)
            try:
                for e in self._pods.values():
                    e.index, e.gpus = -1, ()
                    if not e.node or e.node not in state.node_index:
                        continue
                    self._ensure_request(e, state)
                break
            except _MissingColumns as missing:  # a pod seen before its resource was a column: add it, start over
                self._extra |= missing.resources
        for e in self._pods.values():
            j = state.node_index.get(e.node) if e.node else None
            if j is not None:
                e.index, e.gpus = j, self._bind(state, j, e)
        self._state = state
        self._vector = VectorProfile(self.profile)
        self._dirty = False
        self.rebuilds += 1
        if self.listeners:
            view = self.view()
            for listener in self.listeners:
                listener.on_reset(view)

    def _ensure_request(self, e: _PodEntry, state: ClusterState) -> None:
        if e.request is not None:
            remapped = self._remap(e.request, e.columns, state)
            if remapped is not None:
                e.request, e.columns = remapped, state.resources_key
                return
        name, key = _memo_key(e.obj, state)
        hit = self._memo.get(key) if key is not None else None
        if hit is not None:  # a pod alike one converted before (its controller's other pods): no re-parsing
            e.request = hit if hit.name == name else dataclasses.replace(hit, name=name)
        else:
            e.request = self._convert(self._workload(e.obj), state)
            if key is not None:
                if len(self._memo) >= MAX_TEMPLATES:
                    self._memo.clear()
                self._memo[key] = e.request
        e.columns = state.resources_key

    @staticmethod
    def _bind(state: ClusterState, j: int, e: _PodEntry, gpus: tuple[int, ...] | None = None) -> tuple[int, ...]:
        assert e.request is not None
        try:
            return state.bind(j, e.request, gpus)
        except ValueError as exc:  # no GPU device fits (an over-committed shared GPU): account without devices
            log.warning("pod %s on node %s: %s; accounted without GPU devices", e.request.name, e.node, exc)
            return state.bind(j, e.request, ())

    # ---- nodes --------------------------------------------------------------------------------------
    def set_nodes(self, nodes: Iterable[Mapping[str, Any]] | Mapping[str, Any]) -> bool:
        """Replace every node (a list of Node dicts or a NodeList); True when what scheduling reads changed.
        Raises KubeObjectError for a bad node."""
        parsed = parse_nodes(nodes)
        with self.lock:
            self.version += 1
            new = {n.name: n for n in parsed}
            # Node equality ignores `raw`: a relist of the same nodes (in the same order, unless sorted) is no change
            same = self._nodes == new and (self.sort_nodes or list(self._nodes.values()) == parsed)
            self._nodes = new
            if not same:
                self._dirty = True
            return not same

    def apply_node_event(self, kind: str, obj: Mapping[str, Any]) -> bool:
        """ADDED / MODIFIED / DELETED of a Node dict; True when what scheduling reads changed."""
        if kind == "BOOKMARK":
            return False
        node = parse_node(obj)
        with self.lock:
            self.version += 1
            old = self._nodes.get(node.name)
            if kind == "DELETED":
                if old is None:
                    return False
                del self._nodes[node.name]
                self._dirty = True
                return True
            if kind not in ("ADDED", "MODIFIED"):
                raise KubeObjectError(f"unknown event type {kind!r}; expected one of {', '.join(EVENT_TYPES)}")
            self._nodes[node.name] = node
            if old is None:
                self._dirty = True
            elif old != node:  # Node equality compares what scheduling reads, not `raw`
                if dataclasses.replace(old, unschedulable=node.unschedulable) == node and not self._dirty:
                    state = self._state
                    assert state is not None
                    j = state.node_index[node.name]
                    state.set_unschedulable(j, node.unschedulable)
                    state.nodes[j] = node
                else:
                    self._dirty = True
            return old != node

    # ---- pods ---------------------------------------------------------------------------------------
    def set_pods(self, pods: Iterable[Mapping[str, Any]] | Mapping[str, Any]) -> None:
        """Make the pods exactly `pods` (a relist): the ones absent go, the others are applied as ADDED."""
        parsed = _parse_pods(pods)
        with self.lock:
            keep = {_pod_key(p) for p in parsed}
            for key in [k for k in self._pods if k not in keep]:
                self._remove(key)
            for p in parsed:
                self._apply_pod("ADDED", p)
            self.version += 1

    def set_state(self, nodes: Iterable[Mapping[str, Any]] | Mapping[str, Any], pods: Iterable[Any] = ()) -> None:
        """Replace everything: the nodes, then the pods (bound in the given order), then rebuild once."""
        parsed_nodes = parse_nodes(nodes)
        parsed_pods = _parse_pods(pods)
        with self.lock:
            self._pods.clear()
            self._by_node.clear()
            self._pending.clear()
            self._nodes = {n.name: n for n in parsed_nodes}
            self._dirty = True
            for p in parsed_pods:
                self._apply_pod("ADDED", p)
            self.version += 1
            self.cluster()

    def apply_pod_event(self, kind: str, obj: Mapping[str, Any]) -> bool:
        """ADDED / MODIFIED / DELETED of a Pod dict; True when resources may have been freed (a known pod was
        deleted, or one bound in the state changed)."""
        if kind == "BOOKMARK":
            return False
        if kind == "DELETED":  # a deletion needs only the key (as an informer's DeletionHandlingMetaNamespaceKeyFunc)
            key = pod_key(obj)
            if key is None:
                key = _pod_key(parse_pod(obj))  # raises the KubeObjectError that says what is wrong
            with self.lock:
                self.version += 1
                return self._remove(key)
        pod = parse_pod(obj)
        with self.lock:
            self.version += 1
            if kind == "DELETED":
                return self._remove(_pod_key(pod))
            elif kind in ("ADDED", "MODIFIED"):
                return self._apply_pod(kind, pod)
            else:
                raise KubeObjectError(f"unknown event type {kind!r}; expected one of {', '.join(EVENT_TYPES)}")

    def apply_event(self, event: Mapping[str, Any]) -> None:
        """A watch event ``{"type": ..., "object": {"kind": "Node" | "Pod", ...}}``."""
        if not isinstance(event, Mapping):
            raise KubeObjectError("an event must be an object with type and object")
        kind, obj = event.get("type"), event.get("object")
        if kind == "BOOKMARK":
            return
        what = obj.get("kind") if isinstance(obj, Mapping) else None
        if what == "Node":
            self.apply_node_event(str(kind), obj)
        elif what == "Pod":
            self.apply_pod_event(str(kind), obj)
        else:
            raise KubeObjectError(f"event object kind must be Node or Pod, got {what!r}", field="object.kind")

    def assume(
        self, obj: Mapping[str, Any], node: str, request: PodRequest, gpus: tuple[int, ...] | None = None
    ) -> None:
        """Account a pod just bound to `node` (by the secondary scheduler), before the watch reports it.

        `request` is the pod's ``pod_request`` over the current state; `gpus` its devices (None: the ClusterState
        chooses). The pod's watch event then finds it already bound and changes nothing.
        """
        bound = dict(obj)
        bound["spec"] = {**(obj.get("spec") or {}), "nodeName": node}
        pod = parse_pod(bound)
        with self.lock:
            self.version += 1
            key = _pod_key(pod)
            self._remove(key)
            e = _PodEntry(pod.raw, node)
            self._pods[key] = e
            self._by_node.setdefault(node, {})[key] = None
            state = self._state
            if not self._dirty and state is not None:  # else bound at the next rebuild
                e.request, e.columns = request, state.resources_key
                self._place(e, state, gpus)

    def _apply_pod(self, kind: str, pod: Pod) -> bool:
        key = _pod_key(pod)
        old = self._pods.get(key)
        if pod.is_terminal:
            return self._remove(key)
        if old is not None and old.node == pod.node_name and _scheduling_view(old.obj) == _scheduling_view(pod.raw):
            old.obj = pod.raw  # a status-only update
            return False
        freed = old is not None and old.index >= 0
        if old is not None:
            self._remove(key)
        e = _PodEntry(pod.raw, pod.node_name)
        self._pods[key] = e
        if not e.node:
            self._pending.add(key)
            return freed
        self._by_node.setdefault(e.node, {})[key] = None
        state = self._state
        if not self._dirty and state is not None:
            self._place(e, state)
        return freed

    def _place(self, e: _PodEntry, state: ClusterState, gpus: tuple[int, ...] | None = None) -> None:
        """Bind entry `e` into the current `state` now, if its node is there (else at the next rebuild)."""
        if e.node not in state.node_index:
            return
        try:
            self._ensure_request(e, state)
        except _MissingColumns as missing:
            self._extra |= missing.resources
            self._dirty = True
            return
        assert e.request is not None
        j = state.node_index[e.node]
        e.index, e.gpus = j, self._bind(state, j, e, gpus)
        for listener in self.listeners:
            listener.on_bind(state, j, e.request, e.gpus)

    def _remove(self, key: str) -> bool:
        e = self._pods.pop(key, None)
        if e is None:
            return False
        self._pending.discard(key)
        if e.node:
            on_node = self._by_node.get(e.node)
            if on_node is not None:
                on_node.pop(key, None)
                if not on_node:
                    del self._by_node[e.node]
        state = self._state
        if e.index >= 0 and not self._dirty and state is not None:
            assert e.request is not None
            state.unbind(e.index, e.request, e.gpus)
            for listener in self.listeners:
                listener.on_unbind(state, e.index, e.request, e.gpus)
        e.index, e.gpus = -1, ()
        return True

    # ---- a cluster of given nodes (nodeCacheCapable: false) ----------------------------------------------
    def cluster_for(self, nodes: list[Node]) -> tuple[ClusterState, VectorProfile, np.ndarray]:
        """A ClusterState to judge `nodes` (as the scheduler sent them) with the cache's pods on them.

        When every node is the cache's own (same name, same scheduling fields) this is the cache's state and
        the indices of the nodes in it; otherwise a new ClusterState of just these nodes. Hold ``lock``.
        """
        state = self.cluster()
        idx = [state.node_index.get(n.name, -1) for n in nodes]
        if all(j >= 0 and state.nodes[j] == n for j, n in zip(idx, nodes)) and len(set(idx)) == len(idx):
            return state, self._vector, np.asarray(idx, dtype=np.int64)
        temp = ClusterState(nodes, state.resources)
        for j, name in enumerate(temp.node_names):
            for key in self._by_node.get(name, ()):
                e = self._pods[key]
                request = e.request
                if request is not None:
                    request = self._remap(request, e.columns, temp)
                if request is None:
                    request = self._convert(self._workload(e.obj), temp)
                try:
                    temp.bind(j, request)
                except ValueError:
                    temp.bind(j, request, ())
        return temp, VectorProfile(self.profile), np.arange(temp.num_nodes, dtype=np.int64)

    # ---- list and watch -----------------------------------------------------------------------------
    def replace(self, kind: str, items: list[dict[str, Any]]) -> None:
        """The result of a list: every node or every pod."""
        if kind == NODES:
            self.set_nodes(items)
        else:
            self.set_pods(items)

    def apply_watch_event(self, kind: str, event: Mapping[str, Any]) -> str | None:
        """Apply one watch event of `kind`; returns the resourceVersion it carries. Raises GoneError on 410."""
        etype = event.get("type")
        obj = event.get("object") or {}
        if etype == "ERROR":
            code = obj.get("code") if isinstance(obj, Mapping) else None
            if code == 410:
                raise GoneError(obj.get("message", "resourceVersion too old"))
            raise RuntimeError(f"watch error: {obj}")
        rv = (obj.get("metadata") or {}).get("resourceVersion") if isinstance(obj, Mapping) else None
        if etype != "BOOKMARK":
            if kind == NODES:
                self.apply_node_event(str(etype), obj)
            else:
                self.apply_pod_event(str(etype), obj)
        if rv:
            self.resource_versions[kind] = rv
        return rv

    def watch_loop(self, source: Any, kind: str, stop: threading.Event | None = None, backoff: float = 0.5) -> None:
        """List `kind` from `source`, then watch it from the list's resourceVersion, until `stop` is set.

        `source` has ``list(kind) -> (items, resourceVersion)`` and ``watch(kind, resourceVersion)`` (an
        iterator of ``{"type", "object"}`` events). A watch that ends (its timeout) resumes from the last
        resourceVersion; 410 Gone (an ERROR event or an exception with status 410) relists at once; any
        other error relists after a back-off (doubling up to 30 s).
        """
        stop = stop or self._stop
        rv: str | None = None
        delay = backoff
        while not stop.is_set():
            try:
                if rv is None:
                    items, rv = source.list(kind)
                    self.replace(kind, items)
                    self.resource_versions[kind] = rv
                    self.relists[kind] += 1
                    self._listed.add(kind)
                for event in source.watch(kind, rv):
                    new_rv = self.apply_watch_event(kind, event)
                    rv = new_rv or rv
                    if stop.is_set():
                        return
                delay = backoff
            except Exception as exc:
                if is_gone(exc):
                    log.info("%s watch: 410 Gone (resourceVersion %s too old); relisting", kind, rv)
                    rv = None
                    continue
                log.warning("%s list/watch failed: %s; relisting in %.1f s", kind, exc, delay)
                rv = None
                stop.wait(delay)
                delay = min(2 * delay, 30.0)

    def start_watch(self, source: Any, kinds: tuple[str, ...] = KINDS) -> None:
        """Run ``watch_loop`` for each kind in a daemon thread (nodes first)."""
        self._source = source
        self._watch_kinds = tuple(kinds)
        self._stop.clear()
        for kind in kinds:
            t = threading.Thread(target=self.watch_loop, args=(source, kind), name=f"watch-{kind}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop_watch(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._source is not None and hasattr(self._source, "stop"):
            self._source.stop()
        for t in self._threads:
            t.join(timeout)
        self._threads.clear()


class KubeSource:
    """Nodes and pods from the apiserver with the official kubernetes client (``CoreV1Api``).

    Lists are paginated (``limit``/``continue``) and read as raw JSON; watches use ``kubernetes.watch.Watch``
    without model deserialisation, with bookmarks, and end after `timeout_seconds` (then resumed). Pods in a
    terminal phase are left out by a field selector, as kube-scheduler's informer does: one that turns
    terminal arrives as DELETED.
    """

    POD_SELECTOR = "status.phase!=Succeeded,status.phase!=Failed"

    def __init__(self, api_client: Any = None, timeout_seconds: int = 300, page_size: int = 500):
        from kubernetes import client

        self.api = client.CoreV1Api(api_client)
        self.timeout_seconds = timeout_seconds
        self.page_size = page_size
        self._watches: set[Any] = set()

    def _fn(self, kind: str) -> tuple[Callable[..., Any], dict[str, Any]]:
        if kind == NODES:
            return self.api.list_node, {}
        return self.api.list_pod_for_all_namespaces, {"field_selector": self.POD_SELECTOR}

    def list(self, kind: str) -> tuple[list[dict[str, Any]], str]:
        fn, kwargs = self._fn(kind)
        items: list[dict[str, Any]] = []
        token, rv = None, ""
        while True:
            page = {"limit": self.page_size, **kwargs}
            if token:
                page["_continue"] = token
            resp = fn(_preload_content=False, **page)
            data = json.loads(resp.data)
            items.extend(data.get("items") or [])
            meta = data.get("metadata") or {}
            rv = rv or meta.get("resourceVersion", "")
            token = meta.get("continue")
            if not token:
                return items, rv

    def watch(self, kind: str, resource_version: str) -> Iterator[dict[str, Any]]:
        from kubernetes import watch

        fn, kwargs = self._fn(kind)
        w = watch.Watch()
        self._watches.add(w)
        try:
            yield from w.stream(
                fn,
                resource_version=resource_version,
                timeout_seconds=self.timeout_seconds,
                allow_watch_bookmarks=True,
                deserialize=False,
                **kwargs,
            )
        finally:
            self._watches.discard(w)

    def stop(self) -> None:
        for w in list(self._watches):
            with contextlib.suppress(Exception):
                w.stop()


def load_kube_client(kubeconfig: str | None = None, in_cluster: bool = False) -> Any:
    """An ApiClient from a kubeconfig file (default ~/.kube/config) or the pod's service account."""
    from kubernetes import client, config

    if in_cluster:
        config.load_incluster_config()
        return client.ApiClient()
    return config.new_client_from_config(config_file=kubeconfig)


__all__ = [
    "KINDS",
    "NODES",
    "PODS",
    "ClusterCache",
    "ClusterView",
    "GoneError",
    "KubeSource",
    "Snapshot",
    "is_gone",
    "load_kube_client",
]
