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

from podgym.envs.kube.objects import BIND_ALL_HOST_IP, CPU, EPHEMERAL_STORAGE, MEMORY, HostPort, Node, Pod, Taint, parse_node
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

    def compare(self, key: str, bound: int, greater: bool) -> np.ndarray:
        """Nodes whose label `key` parses as an integer greater (or less) than `bound`."""
        i = self.key_index.get(key)
        if i is None:
            return np.zeros(self.codes.shape[1], dtype=bool)
        return self.int_ok[i] & ((self.ints[i] > bound) if greater else (self.ints[i] < bound))


class TaintIndex:
    """Node taints encoded as a boolean matrix nodes x distinct taints."""

    def __init__(self, nodes: Sequence[Node]):
        self.taints: list[Taint] = list(dict.fromkeys(t for n in nodes for t in n.taints))
        index = {t: i for i, t in enumerate(self.taints)}
        self.matrix = np.zeros((len(nodes), len(self.taints)), dtype=bool)
        for j, node in enumerate(nodes):
            for t in node.taints:
                self.matrix[j, index[t]] = True


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

    def __init__(self, nodes: Sequence[Node | dict], resources: Iterable[str] = ()):
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
        # Bumped by every change of what any Filter reads (binds, departures, failures, cordons).
        self.version = 0
        # Running totals over live nodes, kept by bind/unbind/set_alive so metrics never scan all nodes.
        self.total_allocatable = self.allocatable.sum(axis=0)
        self.total_requested = np.zeros(r, dtype=np.int64)
        self.active_count = 0  # live nodes running at least one pod
        self.live_count = n

    @classmethod
    def for_workloads(cls, nodes: Sequence[Node | dict], *workloads: Workload | None) -> ClusterState:
        """A ClusterState with a column for every resource the nodes offer or the workloads request."""
        return cls(nodes, requested_resources(*workloads))

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

    def bind(self, node: int, pod: PodRequest, gpus: tuple[int, ...] | None = None) -> tuple[int, ...]:
        """Account for `pod` running on `node` (its requests, GPUs and host ports); returns the GPU devices it took."""
        if gpus is None:
            gpus = self.choose_gpus(node, pod)
        self.version += 1
        self.requested_t[:, node] += pod.requests
        self.free_t[:, node] -= pod.requests
        self.scoring_requested_t[:, node] += pod.scoring_requests
        self.pod_count[node] += 1
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

    def unbind(self, node: int, pod: PodRequest, gpus: tuple[int, ...]) -> None:
        """Release what `pod` held on `node` (a departure or an eviction)."""
        self.version += 1
        self.requested_t[:, node] -= pod.requests
        self.free_t[:, node] += pod.requests
        self.scoring_requested_t[:, node] -= pod.scoring_requests
        self.pod_count[node] -= 1
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
