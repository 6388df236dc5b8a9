"""What workloads produce: pods in arrival order (struct-of-arrays) and the nodes they run on.

A pod's constraints (tolerations, nodeSelector, affinity, priority class, namespace, labels) are
shared by many pods, so they live once in a *template* (a parsed ``envs.kube.Pod``); each pod keeps
its own requests, GPU ask, arrival time and lifetime in arrays. ``Workload.pod_object(i)`` rebuilds
the full Pod dict of pod `i`, so every pod can still be handed to the object-level API.

GPUs: a pod asks ``gpu_count`` GPUs with ``gpu_milli`` milli-GPU on each (1000 = a whole GPU). A
whole-GPU pod is written in Kubernetes as ``nvidia.com/gpu: k``; a GPU-sharing pod (one GPU,
``gpu_milli < 1000``, as in the openb trace) carries the annotations ``podgym.io/gpu-count`` and
``podgym.io/gpu-milli`` instead, because Kubernetes itself has no fractional GPUs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from podgym.envs.kube.objects import CPU, MEMORY, Node, Pod

GPU_RESOURCE = "nvidia.com/gpu"
GPU_MODEL_LABEL = "nvidia.com/gpu.product"
GPU_COUNT_ANNOTATION = "podgym.io/gpu-count"
GPU_MILLI_ANNOTATION = "podgym.io/gpu-milli"
MILLI_GPU = 1000


@dataclass
class Workload:
    """Pods in arrival order.

    Arrays have one entry per pod (P pods):
      names [P] str, arrival [P] float64 seconds, duration [P] float64 seconds (inf: never departs),
      requests {resource: int64 [P]} actual requests (cpu in milli-cores, others in base units; GPUs excluded),
      nonzero_cpu / nonzero_memory [P] int64 scoring requests (100m / 200Mi for a container that sets none),
      gpu_count [P] int64, gpu_milli [P] int64 per GPU, priority [P] int64, template [P] int32 index into templates.

    `objects` holds the workload's other Kubernetes objects as dicts (the controllers that own its pods:
    Deployments, ReplicaSets, StatefulSets; PodDisruptionBudgets; PriorityClasses), in manifest order.
    """

    names: list[str]
    arrival: np.ndarray
    duration: np.ndarray
    requests: dict[str, np.ndarray]
    nonzero_cpu: np.ndarray
    nonzero_memory: np.ndarray
    gpu_count: np.ndarray
    gpu_milli: np.ndarray
    priority: np.ndarray
    template: np.ndarray
    templates: list[Pod]
    source: str = ""
    objects: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.names)

    def __post_init__(self) -> None:
        n = len(self.names)
        arrays = {
            "arrival": self.arrival,
            "duration": self.duration,
            "nonzero_cpu": self.nonzero_cpu,
            "nonzero_memory": self.nonzero_memory,
            "gpu_count": self.gpu_count,
            "gpu_milli": self.gpu_milli,
            "priority": self.priority,
            "template": self.template,
            **{f"requests[{k}]": v for k, v in self.requests.items()},
        }
        for name, arr in arrays.items():
            if len(arr) != n:
                raise ValueError(f"Workload.{name} has {len(arr)} entries, expected {n} (one per pod)")

    @property
    def resource_names(self) -> list[str]:
        return list(self.requests)

    def pod_object(self, i: int) -> dict[str, Any]:
        """The Pod dict of pod `i`: its template with this pod's name, requests and GPU ask."""
        tmpl = self.templates[int(self.template[i])]
        obj = copy.deepcopy(tmpl.raw)
        meta = obj.setdefault("metadata", {})
        meta["name"] = self.names[i]
        meta.pop("uid", None)
        requests: dict[str, str] = {}
        # An explicit zero cpu/memory request (non-zero request 0 too) stays explicit, so that the scoring
        # defaults (100m / 200Mi for an unset request) apply to the rebuilt pod exactly as to the original.
        explicit_zero = {CPU: int(self.nonzero_cpu[i]) == 0, MEMORY: int(self.nonzero_memory[i]) == 0}
        for name, arr in self.requests.items():
            v = int(arr[i])
            if v or explicit_zero.get(name, False):
                requests[name] = f"{v}m" if name == CPU else str(v)
        k, m = int(self.gpu_count[i]), int(self.gpu_milli[i])
        annotations = {
            kk: vv
            for kk, vv in (meta.get("annotations") or {}).items()
            if kk not in (GPU_COUNT_ANNOTATION, GPU_MILLI_ANNOTATION)
        }
        if k and m == MILLI_GPU:
            requests[GPU_RESOURCE] = str(k)
        elif k:
            annotations[GPU_COUNT_ANNOTATION] = str(k)
            annotations[GPU_MILLI_ANNOTATION] = str(m)
        if annotations:
            meta["annotations"] = annotations
        else:
            meta.pop("annotations", None)
        spec = obj.setdefault("spec", {})
        container = {"name": "main", "image": "registry.k8s.io/pause:3.10", "resources": {"requests": requests}}
        kept = spec.get("containers") or []  # the template's images and host ports (without requests)
        first = container | (kept[0] if kept else {})
        spec["containers"] = [first, *({"name": f"c{k}"} | c for k, c in enumerate(kept[1:], 1))]
        if spec.get("initContainers"):
            spec["initContainers"] = [{"name": f"init{k}"} | c for k, c in enumerate(spec["initContainers"])]
        spec.pop("overhead", None)
        spec.pop("nodeName", None)
        spec.pop("resources", None)
        return obj


@dataclass
class ClusterSource:
    """Nodes (parsed Node objects) and, from a snapshot, the pods already bound to them.

    `bound` pods are described by `initial` (a Workload whose arrival times are all 0) and their node names.
    """

    nodes: list[Node]
    initial: Workload | None = None
    bound_to: list[str] = field(default_factory=list)
    source: str = ""


def empty_workload(resources: tuple[str, ...] = (CPU, MEMORY)) -> Workload:
    """A workload with no pods."""
    z = np.zeros(0, dtype=np.int64)
    return Workload(
        [],
        np.zeros(0),
        np.zeros(0),
        {r: z.copy() for r in resources},
        z.copy(),
        z.copy(),
        z.copy(),
        z.copy(),
        z.copy(),
        np.zeros(0, dtype=np.int32),
        [],
    )
