"""The unschedulable pods of the scheduling queue, kept as arrays so that "which of them fit on node j now?"
is a few array operations, however many pods wait."""

from __future__ import annotations

import numpy as np

from podgym.envs.cluster import ClusterState, PodRequest
from podgym.envs.kube.objects import Pod
from podgym.envs.scheduling import FITS, VectorProfile


class UnschedulablePods:
    """Pods that fitted nowhere, in the order they became unschedulable (a dict: pod -> since), with their
    requests, GPU asks and templates in slot arrays for vectorised checks."""

    def __init__(self, num_resources: int, capacity: int = 64):
        self.since: dict[int, float] = {}
        self._slot: dict[int, int] = {}
        self._free_slots: list[int] = []
        self._requests = np.zeros((capacity, num_resources), dtype=np.int64)
        self._gpu = np.zeros((capacity, 2), dtype=np.int64)  # gpu_count, gpu_milli
        self._template = np.zeros(capacity, dtype=np.int64)
        self._active = np.zeros(capacity, dtype=bool)
        self._ids = np.full(capacity, -1, dtype=np.int64)
        self._pod_templates = np.full(capacity, None, dtype=object)  # per slot, for the dynamic plugins' hints
        self._templates: dict[int, int] = {}
        self._template_objects: list[Pod] = []

    def __len__(self) -> int:
        return len(self.since)

    def __bool__(self) -> bool:
        return bool(self.since)

    def __contains__(self, i: int) -> bool:
        return i in self.since

    def add(self, i: int, pod: PodRequest, since: float) -> None:
        """Pod `i` became unschedulable at `since`."""
        if not self._free_slots:
            self._grow()
        slot = self._free_slots.pop()
        self._slot[i] = slot
        self.since[i] = since
        self._requests[slot] = pod.requests
        self._gpu[slot] = (pod.gpu_count, pod.gpu_milli)
        key = id(pod.template)
        if key not in self._templates:
            self._templates[key] = len(self._template_objects)
            self._template_objects.append(pod.template)
        self._template[slot] = self._templates[key]
        self._pod_templates[slot] = pod.template
        self._active[slot] = True
        self._ids[slot] = i

    def pop(self, i: int) -> float:
        """Remove pod `i`; returns when it became unschedulable."""
        slot = self._slot.pop(i)
        self._active[slot] = False
        self._ids[slot] = -1
        self._pod_templates[slot] = None
        self._free_slots.append(slot)
        return self.since.pop(i)

    def _grow(self) -> None:
        old = len(self._active)
        new = max(2 * old, 64)
        self._requests = np.vstack([self._requests, np.zeros((new - old, self._requests.shape[1]), np.int64)])
        self._gpu = np.vstack([self._gpu, np.zeros((new - old, 2), np.int64)])
        self._template = np.concatenate([self._template, np.zeros(new - old, np.int64)])
        self._active = np.concatenate([self._active, np.zeros(new - old, bool)])
        self._ids = np.concatenate([self._ids, np.full(new - old, -1, np.int64)])
        self._pod_templates = np.concatenate([self._pod_templates, np.full(new - old, None, dtype=object)])
        self._free_slots.extend(range(new - 1, old - 1, -1))

    def fitting(self, cluster: ClusterState, filters: VectorProfile, node: int) -> list[int]:
        """The pods that pass every Filter plugin on `node` now, in the order they became unschedulable: the
        static verdicts, each dynamic Filter plugin's queueing hint, and the GPU devices."""
        if not self.since or not cluster.alive[node]:
            return []
        ok = self._active.copy()
        for plugin in filters.dynamic_filters:
            ok &= plugin.hint(cluster, self._requests, node, self._pod_templates)
        if not ok.any():
            return []
        static = np.array([filters.static_verdict(cluster, t).code[node] == FITS for t in self._template_objects])
        ok &= static[self._template]
        asks = ok & (self._gpu[:, 0] > 0)
        if asks.any():
            free = cluster.gpu_free[node]
            enough = (free[None, :] >= self._gpu[asks, 1][:, None]).sum(axis=1) >= self._gpu[asks, 0]
            ok[asks] = enough
        fitting = set(self._ids[ok].tolist())
        return [i for i in self.since if i in fitting] if fitting else []
