"""Vectorised cluster state: nodes x resources arrays, GPU devices, encoded labels and taints.

Built once from Node objects (``envs.kube``), then updated in place by ``bind``/``unbind`` with a
few array operations on one node's row, never a loop over nodes. Node labels and taints are encoded
so that NodeAffinity, TaintToleration and NodeUnschedulable evaluate over all nodes at once
(``envs.scheduling``).

Columns of ``allocatable``/``requested`` follow ``resources``: cpu (milli-cores), memory and
ephemeral-storage (bytes), then extended resources (sorted). GPUs are devices: each node has
``gpu_count`` GPUs with ``gpu_free`` milli-GPU free on each (1000 when idle). The ``nvidia.com/gpu``
column counts milli-GPU (1000 per whole GPU), which leaves every kube-scheduler ratio unchanged.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from podgym.envs.kube.objects import (
    BIND_ALL_HOST_IP,
    CPU,
    EPHEMERAL_STORAGE,
    MEMORY,
    PREFERRED_AFFINITY,
    PREFERRED_ANTI_AFFINITY,
    REQUIRED_AFFINITY,
    REQUIRED_ANTI_AFFINITY,
    HostPort,
    Namespace,
    Node,
    Pod,
    PodMatcher,
    Taint,
    namespace_labels,
    parse_namespace,
    parse_node,
    term_matcher,
)
from podgym.envs.kube.resources import is_scalar_resource_name
from podgym.envs.kube.validation import parse_int64
from podgym.envs.workload.types import GPU_MODEL_LABEL, GPU_RESOURCE, MILLI_GPU, Workload

NATIVE_RESOURCES = (CPU, MEMORY, EPHEMERAL_STORAGE)


def requested_resources(*workloads: Workload | None) -> set[str]:
    """The resources the workloads request (nvidia.com/gpu when a pod asks GPUs): the columns they need."""
    resources: set[str] = set()
    for w in workloads:
        if w is not None:
            resources.update(w.resource_names)
            if len(w) and w.gpu_count.any():
                resources.add(GPU_RESOURCE)
    return resources


@dataclass(frozen=True)
class PodRequest:
    """One pod as the cluster sees it: its requests over the cluster's columns and its constraints."""

    name: str
    requests: np.ndarray  # int64 [R], actual requests; the GPU column holds gpu_count * gpu_milli
    scoring_requests: np.ndarray  # int64 [R], the same with cpu/memory as scoring counts them (non-zero)
    gpu_count: int
    gpu_milli: int
    template: Pod  # constraints: tolerations, nodeSelector, affinity, nodeName, priority
    priority: int = 0


class LabelIndex:
    """Node labels encoded per key: a value code per node (-1 when absent) and the value as int64."""

    def __init__(self, nodes: Sequence[Node]):
        keys = sorted({k for n in nodes for k in n.labels})
        self.key_index = {k: i for i, k in enumerate(keys)}
        self.vocab: list[dict[str, int]] = [{} for _ in keys]
        n = len(nodes)
        self.codes = np.full((len(keys), n), -1, dtype=np.int32)
        self.ints = np.zeros((len(keys), n), dtype=np.int64)
        self.int_ok = np.zeros((len(keys), n), dtype=bool)
        self._topologies: dict[str, Topology] = {}
        for j, node in enumerate(nodes):
            for k, v in node.labels.items():
                i = self.key_index[k]
                self.codes[i, j] = self.vocab[i].setdefault(v, len(self.vocab[i]))
                parsed = parse_int64(v)
                if parsed is not None:
                    self.ints[i, j], self.int_ok[i, j] = parsed, True

    def value_codes(self, key: str) -> np.ndarray | None:
        """The value codes of `key` over nodes; None when no node has the key."""
        i = self.key_index.get(key)
        return None if i is None else self.codes[i]

    def equals(self, key: str, values: Iterable[str]) -> np.ndarray:
        """Nodes whose label `key` has one of `values`."""
        n = self.codes.shape[1]
        i = self.key_index.get(key)
        if i is None:
            return np.zeros(n, dtype=bool)
        wanted = [self.vocab[i][v] for v in values if v in self.vocab[i]]
        if not wanted:
            return np.zeros(n, dtype=bool)
        return np.isin(self.codes[i], wanted) if len(wanted) > 1 else self.codes[i] == wanted[0]

    def exists(self, key: str) -> np.ndarray:
        i = self.key_index.get(key)
        return np.zeros(self.codes.shape[1], dtype=bool) if i is None else self.codes[i] >= 0

    def topology(self, key: str) -> Topology:
        """The domains of topology key `key` (cached: node labels do not change)."""
        hit = self._topologies.get(key)
        if hit is None:
            n = self.codes.shape[1]
            i = self.key_index.get(key)
            if i is None:
                hit = Topology(np.full(n, -1, dtype=np.int32), np.zeros(n, dtype=bool), 0, n == 0, True)
            else:
                codes = self.codes[i]
                has = codes >= 0
                size = len(self.vocab[i])
                hit = Topology(codes, has, size, bool(has.all()), size == int(has.sum()))
            self._topologies[key] = hit
        return hit

    def compare(self, key: str, bound: int, greater: bool) -> np.ndarray:
        """Nodes whose label `key` parses as an integer greater (or less) than `bound`."""
        i = self.key_index.get(key)
        if i is None:
            return np.zeros(self.codes.shape[1], dtype=bool)
        return self.int_ok[i] & ((self.ints[i] > bound) if greater else (self.ints[i] < bound))


@dataclass(frozen=True)
class Topology:
    """The domains of one topology key over the nodes: a value code per node (-1 where the key is missing)."""

    codes: np.ndarray  # int32 [N]
    has: np.ndarray  # bool [N]: the node has the key
    size: int  # number of value codes
    complete: bool  # every node has the key
    unique: bool  # no two nodes share a value (hostname): each node is its own domain

    def sums(self, counts: np.ndarray, nodes: np.ndarray | None = None) -> np.ndarray:
        """Per domain, the sum of `counts` (int64 [N]) over the nodes with the key (and in the mask `nodes`), as
        float64: exact for integers below 2**53."""
        if nodes is None and self.complete:
            return np.bincount(self.codes, weights=counts, minlength=self.size)
        keep = self.has if nodes is None else self.has & nodes
        return np.bincount(self.codes[keep], weights=counts[keep], minlength=self.size)

    def of_nodes(self, per_domain: np.ndarray) -> np.ndarray:
        """Each node's domain's value of `per_domain` (0 where the node lacks the key)."""
        if not self.size:
            return np.zeros(len(self.codes), dtype=per_domain.dtype)
        if self.complete:
            return per_domain[self.codes]
        return np.where(self.has, per_domain[np.maximum(self.codes, 0)], np.zeros((), dtype=per_domain.dtype))

    def positive(self, counts: np.ndarray) -> np.ndarray:
        """Nodes whose domain holds a positive sum of `counts`."""
        if self.unique:
            return self.has & (counts > 0)
        return self.has & (self.of_nodes(self.sums(counts)) > 0)


class TaintIndex:
    """Node taints encoded as a boolean matrix nodes x distinct taints."""

    def __init__(self, nodes: Sequence[Node]):
        self.taints: list[Taint] = list(dict.fromkeys(t for n in nodes for t in n.taints))
        index = {t: i for i, t in enumerate(self.taints)}
        self.matrix = np.zeros((len(nodes), len(self.taints)), dtype=bool)
        for j, node in enumerate(nodes):
            for t in node.taints:
                self.matrix[j, index[t]] = True


@dataclass(frozen=True)
class ExistingTerm:
    """One pod-affinity term that bound pods carry (InterPodAffinity reads them for symmetry)."""

    kind: str  # REQUIRED_AFFINITY, REQUIRED_ANTI_AFFINITY, PREFERRED_AFFINITY or PREFERRED_ANTI_AFFINITY
    matcher: PodMatcher
    topology_key: str
    weight: int = 0


def existing_terms(pod: Pod) -> list[ExistingTerm]:
    """The pod-affinity terms of `pod`, resolved against its namespace, in upstream's order."""
    ns = pod.namespace
    out = [ExistingTerm(REQUIRED_AFFINITY, term_matcher(t, ns), t.topology_key) for t in pod.pod_affinity]
    out += [ExistingTerm(REQUIRED_ANTI_AFFINITY, term_matcher(t, ns), t.topology_key) for t in pod.pod_anti_affinity]
    out += [
        ExistingTerm(PREFERRED_AFFINITY, term_matcher(w.term, ns), w.term.topology_key, w.weight)
        for w in pod.pod_affinity_preferred
    ]
    out += [
        ExistingTerm(PREFERRED_ANTI_AFFINITY, term_matcher(w.term, ns), w.term.topology_key, w.weight)
        for w in pod.pod_anti_affinity_preferred
    ]
    return out


class _Template:
    """A template some bound pod has: the nodes its pods run on (node -> count), the matchers it matches, the
    matchers that skip it only for being terminating (`uncounted`) and the terms it carries (indices into
    BoundPods' tables)."""

    __slots__ = ("groups", "nodes", "template", "terms", "uncounted")

    def __init__(self, template: Pod, groups: list[int], terms: list[int], uncounted: list[int]):
        self.template = template
        self.nodes: dict[int, int] = {}
        self.groups = groups
        self.terms = terms
        self.uncounted = uncounted

    def copy(self) -> _Template:
        t = _Template(self.template, list(self.groups), self.terms, list(self.uncounted))
        t.nodes = dict(self.nodes)
        return t


class BoundPods:
    """What PodTopologySpread and InterPodAffinity read of the pods bound on each node, kept by bind/unbind.

    Pods share templates (namespace, labels, terms), so a pod matcher (a spread constraint's or an affinity term's
    selector and namespaces) is evaluated once per template: each matcher any plugin asked for keeps a count per node
    of the bound pods it matches (``counts``), and each pod-affinity term that bound pods carry keeps a count per node
    of the pods carrying it (``term_counts``, for the symmetry of existing pods' terms). A bind costs one step per
    matcher the pod's template matches and per term it carries: nothing more for pods that use none of them.
    """

    def __init__(self, num_nodes: int, namespaces: dict[str, Namespace]):
        self.num_nodes = num_nodes
        self.namespaces = namespaces
        self._templates: dict[int, _Template] = {}
        self.matchers: dict[PodMatcher, int] = {}
        self.counts: list[np.ndarray] = []
        self.terms: dict[ExistingTerm, int] = {}
        self.term_list: list[ExistingTerm] = []
        self.term_counts: list[np.ndarray] = []
        self._matching: dict[int, list] = {}

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        return namespace_labels(self.namespaces, namespace)

    def matches(self, matcher: PodMatcher, pod: Pod) -> bool:
        """Whether `matcher` counts a pod of template `pod`."""
        return matcher.matches(pod.namespace, pod.labels, self.namespace_labels(pod.namespace), pod.terminating)

    def uncounted(self, matcher: PodMatcher, pod: Pod) -> bool:
        """Whether `matcher` skips a pod of template `pod` only because it is terminating (``live_only``)."""
        if not (pod.terminating and matcher.live_only):
            return False
        return matcher.matches(pod.namespace, pod.labels, self.namespace_labels(pod.namespace))

    def bind(self, node: int, template: Pod, delta: int, dry_run: bool = False) -> None:
        """Add `delta` pods of `template` on `node`. With `dry_run` (preemption's dry run removing and restoring
        its potential victims), the matchers that skip terminating pods count them too, as upstream's
        PodTopologySpread RemovePod/AddPod do; such changes must be undone before any other."""
        entry = self._templates.get(id(template))
        if entry is None:
            entry = self._add_template(template)
        left = entry.nodes.get(node, 0) + delta
        if left:
            entry.nodes[node] = left
        else:
            del entry.nodes[node]
        for g in entry.groups:
            self.counts[g][node] += delta
        if dry_run:
            for g in entry.uncounted:
                self.counts[g][node] += delta
        for k in entry.terms:
            self.term_counts[k][node] += delta

    def _add_template(self, template: Pod) -> _Template:
        groups = [g for m, g in self.matchers.items() if self.matches(m, template)]
        uncounted = [g for m, g in self.matchers.items() if self.uncounted(m, template)]
        terms = []
        for term in existing_terms(template) if template.has_pod_affinity else ():
            k = self.terms.get(term)
            if k is None:
                k = self.terms[term] = len(self.term_list)
                self.term_list.append(term)
                self.term_counts.append(np.zeros(self.num_nodes, dtype=np.int64))
            terms.append(k)
        entry = self._templates[id(template)] = _Template(template, groups, terms, uncounted)
        return entry

    def count(self, matcher: PodMatcher) -> np.ndarray:
        """Per node, the bound pods `matcher` matches (read-only; registered on first use). `matcher` is any hashable
        object with PodMatcher's ``matches``."""
        g = self.matchers.get(matcher)
        if g is None:
            g = self.matchers[matcher] = len(self.counts)
            counts = np.zeros(self.num_nodes, dtype=np.int64)
            for entry in self._templates.values():
                if self.matches(matcher, entry.template):
                    entry.groups.append(g)
                    for node, c in entry.nodes.items():
                        counts[node] += c
                elif self.uncounted(matcher, entry.template):
                    entry.uncounted.append(g)
            self.counts.append(counts)
        return self.counts[g]

    def terms_matching(self, pod: Pod) -> list[int]:
        """The terms bound pods carry (indices into ``term_list``) that match a pod of template `pod`, cached per
        template: terms are only ever added."""
        hit = self._matching.get(id(pod))
        if hit is None or hit[0] is not pod:
            hit = self._matching[id(pod)] = [pod, 0, []]
        if hit[1] < len(self.term_list):
            labels = self.namespace_labels(pod.namespace)
            for k in range(hit[1], len(self.term_list)):
                if self.term_list[k].matcher.matches(pod.namespace, pod.labels, labels):
                    hit[2].append(k)
            hit[1] = len(self.term_list)
        return hit[2]

    def rebuild(self, nodes: Iterable[int], templates: Iterable[Pod]) -> BoundPods:
        """A BoundPods of the same matchers, holding exactly the pods given by their node and template (another
        engine's bound pods handed over); the matchers and terms keep their indices."""
        c = self.copy()
        for a in c.counts:
            a[:] = 0
        for a in c.term_counts:
            a[:] = 0
        for entry in c._templates.values():
            entry.nodes.clear()
        for node, template in zip(nodes, templates):
            c.bind(node, template, 1)
        return c

    def copy(self) -> BoundPods:
        c = BoundPods(self.num_nodes, self.namespaces)
        c._templates = {key: e.copy() for key, e in self._templates.items()}
        c.matchers = dict(self.matchers)
        c.counts = [a.copy() for a in self.counts]
        c.terms = dict(self.terms)
        c.term_list = list(self.term_list)
        c.term_counts = [a.copy() for a in self.term_counts]
        c._matching = {key: [hit[0], hit[1], list(hit[2])] for key, hit in self._matching.items()}
        return c


class ImageIndex:
    """The images of the nodes' ``status.images``, by name: the nodes that hold it and its size on each (as the
    scheduler's snapshot summarises them: an ImageStateSummary per node, NumNodes over all nodes)."""

    def __init__(self, nodes: Sequence[Node]):
        holders: dict[str, dict[int, int]] = {}
        for j, node in enumerate(nodes):
            for image in node.images:
                for name in image.names:
                    holders.setdefault(name, {})[j] = image.size_bytes
        self.names: dict[str, tuple[np.ndarray, np.ndarray]] = {
            name: (np.fromiter(by_node, np.int64, len(by_node)), np.fromiter(by_node.values(), np.int64, len(by_node)))
            for name, by_node in holders.items()
        }

    def holders(self, name: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(node indices, size on each) of the image `name` (exactly as the nodes list it); None when none has it."""
        return self.names.get(name)


class UsedPorts:
    """The host ports held on each node: per (protocol, port), per host IP, a count of holders over nodes. Empty,
    and never touched, while no pod asks a host port."""

    def __init__(self, num_nodes: int):
        self.num_nodes = num_nodes
        self.counts: dict[tuple[str, int], dict[str, np.ndarray]] = {}
        self.per_node = np.zeros(num_nodes, dtype=np.int64)  # host ports held on each node

    def copy(self) -> UsedPorts:
        c = UsedPorts.__new__(UsedPorts)
        c.num_nodes = self.num_nodes
        c.counts = {key: {ip: arr.copy() for ip, arr in by_ip.items()} for key, by_ip in self.counts.items()}
        c.per_node = self.per_node.copy()
        return c

    def add(self, node: int, ports: tuple[HostPort, ...], sign: int) -> None:
        for p in ports:
            by_ip = self.counts.setdefault((p.protocol, p.port), {})
            arr = by_ip.get(p.host_ip)
            if arr is None:
                arr = by_ip[p.host_ip] = np.zeros(self.num_nodes, dtype=np.int32)
            arr[node] += sign
        self.per_node[node] += sign * len(ports)

    def conflicts(self, ports: tuple[HostPort, ...]) -> np.ndarray:
        """The nodes where one of `ports` conflicts with a held one (HostPortInfo.CheckConflict): the same
        protocol and port, and the same host IP, or 0.0.0.0 on either side."""
        out = np.zeros(self.num_nodes, dtype=bool)
        for p in ports:
            by_ip = self.counts.get((p.protocol, p.port))
            if not by_ip:
                continue
            ips = by_ip if p.host_ip == BIND_ALL_HOST_IP else (BIND_ALL_HOST_IP, p.host_ip)
            for ip in ips:
                arr = by_ip.get(ip)
                if arr is not None:
                    out |= arr > 0
        return out

    def conflicts_on(self, ports: tuple[HostPort, ...], node: int) -> bool:
        """Whether one of `ports` conflicts with a port held on `node`."""
        for p in ports:
            by_ip = self.counts.get((p.protocol, p.port))
            if not by_ip:
                continue
            ips = by_ip if p.host_ip == BIND_ALL_HOST_IP else (BIND_ALL_HOST_IP, p.host_ip)
            if any(ip in by_ip and by_ip[ip][node] > 0 for ip in ips):
                return True
        return False


class ClusterState:
    """Struct-of-arrays state of a cluster (N nodes, R resource columns, up to G GPUs per node)."""

    def __init__(
        self, nodes: Sequence[Node | dict], resources: Iterable[str] = (), namespaces: Iterable[Namespace | dict] = ()
    ):
        self.nodes: list[Node] = [parse_node(n) for n in nodes]
        self.node_names = [n.name for n in self.nodes]
        self.node_index = {name: i for i, name in enumerate(self.node_names)}
        if len(self.node_index) != len(self.nodes):
            dup = next(name for name in self.node_names if self.node_names.count(name) > 1)
            raise ValueError(f"duplicate node name {dup!r}")
        extended = {r for n in self.nodes for r in n.allocatable if is_scalar_resource_name(r)}
        extended |= {r for r in resources if r not in NATIVE_RESOURCES and r != "pods"}
        self.resources: list[str] = [*NATIVE_RESOURCES, *sorted(extended)]
        self.column = {r: i for i, r in enumerate(self.resources)}
        self.resources_key = tuple(self.resources)
        n, r = len(self.nodes), len(self.resources)
        # Stored resource-major ([R, N], each resource's row contiguous): filters compare whole rows and
        # scorers gather columns with take(); the [N, R] properties below are views of the same memory.
        self.allocatable_t = np.zeros((r, n), dtype=np.int64)
        for j, node in enumerate(self.nodes):
            for name, value in node.allocatable.items():
                if name in self.column:
                    self.allocatable_t[self.column[name], j] = value * (MILLI_GPU if name == GPU_RESOURCE else 1)
        self.requested_t = np.zeros((r, n), dtype=np.int64)
        self.free_t = self.allocatable_t.copy()
        # What scoring counts as requested: actual requests, but cpu/memory with the non-zero defaults.
        self.scoring_requested_t = np.zeros((r, n), dtype=np.int64)
        self.pod_count = np.zeros(n, dtype=np.int64)
        self.allowed_pods = np.array([node.allowed_pods for node in self.nodes], dtype=np.int64)
        self.gpu_count = np.array([node.allocatable.get(GPU_RESOURCE, 0) for node in self.nodes], dtype=np.int64)
        g = int(self.gpu_count.max(initial=0))
        self.gpu_free = np.where(np.arange(g)[None, :] < self.gpu_count[:, None], MILLI_GPU, -1).astype(np.int64)
        self.gpu_model = [node.labels.get(GPU_MODEL_LABEL, "") for node in self.nodes]
        # Per node: GPUs fully idle, and the most idle milli on one GPU (kept by bind/unbind for the GPU filter).
        self.gpu_idle = self.gpu_count.copy()
        self.gpu_max_free = np.where(self.gpu_count > 0, MILLI_GPU, -1).astype(np.int64)
        self.unschedulable = np.array([node.unschedulable for node in self.nodes], dtype=bool)
        self.alive = np.ones(n, dtype=bool)
        self.labels = LabelIndex(self.nodes)
        self.taints = TaintIndex(self.nodes)
        self.images = ImageIndex(self.nodes)
        self.used_ports = UsedPorts(n)
        self.names_array = np.array(self.node_names, dtype=object)
        # Bumped whenever what the static filters read changes (cordon), so caches can tell.
        self.static_version = 0
        # What plugins compute from a pod template and the static node data, under their own keys (which hold the
        # static_version); shared by copies, which share the node data.
        self.static_cache: dict = {}
        # Bumped by every change of what any Filter reads (binds, departures, failures, cordons).
        self.version = 0
        # Running totals over live nodes, kept by bind/unbind/set_alive so metrics never scan all nodes.
        self.total_allocatable = self.allocatable.sum(axis=0)
        self.total_requested = np.zeros(r, dtype=np.int64)
        self.active_count = 0  # live nodes running at least one pod
        self.live_count = n
        # Namespaces by name (a namespace not listed has only the label the API server sets on every namespace).
        self.namespaces: dict[str, Namespace] = {ns.name: ns for ns in map(parse_namespace, namespaces)}
        self.bound_pods = BoundPods(n, self.namespaces)

    def remember(self, key: object, value: object) -> None:
        """Store `value` in ``static_cache`` (entries of past static versions go once it holds 4,096)."""
        if len(self.static_cache) >= 4096:
            self.static_cache.clear()
        self.static_cache[key] = value

    @classmethod
    def for_workloads(
        cls, nodes: Sequence[Node | dict], *workloads: Workload | None, namespaces: Iterable[Namespace | dict] = ()
    ) -> ClusterState:
        """A ClusterState with a column for every resource the nodes offer or the workloads request."""
        return cls(nodes, requested_resources(*workloads), namespaces)

    # What bind/unbind/set_alive/set_unschedulable change: a copy owns these; the rest is read-only node data.
    _STATE_ARRAYS = (
        "requested_t",
        "free_t",
        "scoring_requested_t",
        "pod_count",
        "gpu_free",
        "gpu_idle",
        "gpu_max_free",
        "unschedulable",
        "alive",
        "total_allocatable",
        "total_requested",
    )

    def copy(self) -> ClusterState:
        """A copy with its own state (requests, GPUs, liveness, cordons, counters) that shares the read-only node
        data (nodes, labels, taints, allocatable): cheaper than building the ClusterState again."""
        c = copy.copy(self)
        c.nodes, c.node_names = list(self.nodes), list(self.node_names)
        for name in self._STATE_ARRAYS:
            setattr(c, name, getattr(self, name).copy())
        c.bound_pods = self.bound_pods.copy()
        c.used_ports = self.used_ports.copy()
        return c

    # ---- sizes -------------------------------------------------------------------------------
    @property
    def num_nodes(self) -> int:
        return len(self.nodes)

    @property
    def allocatable(self) -> np.ndarray:
        """Allocatable per node and resource, [N, R] (a view)."""
        return self.allocatable_t.T

    @property
    def requested(self) -> np.ndarray:
        """Summed actual requests of the pods on each node, [N, R] (a view)."""
        return self.requested_t.T

    @property
    def scoring_requested(self) -> np.ndarray:
        """Summed scoring (non-zero) requests, [N, R] (a view)."""
        return self.scoring_requested_t.T

    @property
    def free(self) -> np.ndarray:
        """allocatable - requested, [N, R] (a view)."""
        return self.free_t.T

    # ---- pods --------------------------------------------------------------------------------
    def pod_request(self, workload: Workload, i: int) -> PodRequest:
        """Pod `i` of `workload` as a PodRequest over this cluster's columns."""
        req = np.zeros(len(self.resources), dtype=np.int64)
        for name, arr in workload.requests.items():
            col = self.column.get(name)
            if col is not None:
                req[col] = arr[i]
            elif arr[i] and name != "pods":
                # A resource no node offers: keep the pod unplaceable, as Fit would find it missing everywhere.
                raise ValueError(
                    f"resource {name!r} is not a column of this cluster; build the ClusterState "
                    "with the workload's resources"
                )
        k, m = int(workload.gpu_count[i]), int(workload.gpu_milli[i])
        if k:
            if GPU_RESOURCE not in self.column:
                raise ValueError(
                    f"pod {workload.names[i]} asks GPUs but the cluster has no {GPU_RESOURCE} column; "
                    "build it with ClusterState.for_workloads"
                )
            req[self.column[GPU_RESOURCE]] = k * m
        scoring = req.copy()
        scoring[self.column[CPU]] = workload.nonzero_cpu[i]
        scoring[self.column[MEMORY]] = workload.nonzero_memory[i]
        template = workload.templates[int(workload.template[i])]
        return PodRequest(
            workload.names[i],
            req,
            scoring,
            k,
            m,
            template,
            int(workload.priority[i]),
        )

    def gpu_fit(self, pod: PodRequest) -> np.ndarray:
        """Nodes with at least `gpu_count` GPUs that each have `gpu_milli` free."""
        if pod.gpu_count == 0:
            return np.ones(self.num_nodes, dtype=bool)
        if self.gpu_free.shape[1] == 0:
            return np.zeros(self.num_nodes, dtype=bool)
        if pod.gpu_milli >= MILLI_GPU:
            return self.gpu_idle >= pod.gpu_count
        if pod.gpu_count == 1:
            return self.gpu_max_free >= pod.gpu_milli
        return (self.gpu_free >= pod.gpu_milli).sum(axis=1) >= pod.gpu_count

    def choose_gpus(self, node: int, pod: PodRequest) -> tuple[int, ...]:
        """Devices for `pod` on `node`: whole GPUs take the lowest-index idle ones; a shared GPU is the
        best fit (least free milli that still fits, lowest index on ties)."""
        if pod.gpu_count == 0:
            return ()
        free = self.gpu_free[node]
        if pod.gpu_milli >= MILLI_GPU:
            idle = np.flatnonzero(free >= MILLI_GPU)
            if len(idle) < pod.gpu_count:
                raise ValueError(
                    f"node {self.node_names[node]} has {len(idle)} idle GPUs, pod {pod.name} asks {pod.gpu_count}"
                )
            return tuple(int(d) for d in idle[: pod.gpu_count])
        fits = free >= pod.gpu_milli
        if not fits.any():
            raise ValueError(f"node {self.node_names[node]} has no GPU with {pod.gpu_milli} milli free")
        return (int(np.argmin(np.where(fits, free, np.iinfo(np.int64).max))),)

    def bind(
        self, node: int, pod: PodRequest, gpus: tuple[int, ...] | None = None, dry_run: bool = False
    ) -> tuple[int, ...]:
        """Account for `pod` running on `node` (its requests, GPUs and host ports); returns the GPU devices it took.
        `dry_run`: preemption's dry run restores a potential victim (``BoundPods.bind``)."""
        if gpus is None:
            gpus = self.choose_gpus(node, pod)
        self.version += 1
        self.requested_t[:, node] += pod.requests
        self.free_t[:, node] -= pod.requests
        self.scoring_requested_t[:, node] += pod.scoring_requests
        self.pod_count[node] += 1
        self.bound_pods.bind(node, pod.template, 1, dry_run)
        self.total_requested += pod.requests
        if self.pod_count[node] == 1:
            self.active_count += 1
        if pod.template.host_ports:
            self.used_ports.add(node, pod.template.host_ports, 1)
        for d in gpus:
            self.gpu_free[node, d] -= pod.gpu_milli
        if gpus:
            self._gpu_row_changed(node)
        return gpus

    def unbind(self, node: int, pod: PodRequest, gpus: tuple[int, ...], dry_run: bool = False) -> None:
        """Release what `pod` held on `node` (a departure or an eviction). `dry_run`: preemption's dry run removes a
        potential victim (``BoundPods.bind``)."""
        self.version += 1
        self.requested_t[:, node] -= pod.requests
        self.free_t[:, node] += pod.requests
        self.scoring_requested_t[:, node] -= pod.scoring_requests
        self.pod_count[node] -= 1
        self.bound_pods.bind(node, pod.template, -1, dry_run)
        self.total_requested -= pod.requests
        if self.pod_count[node] == 0:
            self.active_count -= 1
        if pod.template.host_ports:
            self.used_ports.add(node, pod.template.host_ports, -1)
        for d in gpus:
            self.gpu_free[node, d] += pod.gpu_milli
        if gpus:
            self._gpu_row_changed(node)

    def _gpu_row_changed(self, node: int) -> None:
        row = self.gpu_free[node]
        self.gpu_idle[node] = int((row >= MILLI_GPU).sum())
        self.gpu_max_free[node] = int(row.max())

    # ---- nodes -------------------------------------------------------------------------------
    def set_alive(self, node: int, alive: bool) -> None:
        """Mark a node failed or removed (not schedulable; unbind its pods first) or back."""
        if self.alive[node] == alive:
            return
        if not alive and self.pod_count[node]:
            raise ValueError(f"node {self.node_names[node]} still runs {self.pod_count[node]} pods; unbind them first")
        self.alive[node] = alive
        self.version += 1
        sign = 1 if alive else -1
        self.total_allocatable += sign * self.allocatable_t[:, node]
        self.live_count += sign

    def set_unschedulable(self, node: int, unschedulable: bool) -> None:
        """Cordon or uncordon a node (spec.unschedulable)."""
        if self.unschedulable[node] != unschedulable:
            self.unschedulable[node] = unschedulable
            self.static_version += 1
            self.version += 1

    # ---- totals for metrics ------------------------------------------------------------------
    def allocation_ratio(self, resource: str) -> float:
        """Requested / allocatable of `resource` over the live nodes (0 when nothing is allocatable)."""
        col = self.column.get(resource)
        if col is None or not self.total_allocatable[col]:
            return 0.0
        return float(self.total_requested[col] / self.total_allocatable[col])
