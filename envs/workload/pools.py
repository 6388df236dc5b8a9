"""Heterogeneous node pools: a scenario's cluster as a few pools of identical nodes.

A pool is written in podgym's scenario YAML (snake_case, unknown fields are errors)::

    - name: gpu-a100
      count: 4
      cpu: "64"
      memory: 512Gi
      gpus: 8
      gpu_model: NVIDIA-A100-SXM4-80GB
      taints: [{key: nvidia.com/gpu, value: present, effect: NoSchedule}]
      zones: [eu-west-1a, eu-west-1b]

``nodes_from_pools`` turns pools into Node dicts shaped exactly as ``kubectl get nodes -o json`` items,
so the rest of podgym reads them through ``envs.kube.parse_node`` like any real node.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import Field, field_validator, model_validator

from podgym.envs.kube import parse_nodes
from podgym.envs.kube.objects import CPU, EPHEMERAL_STORAGE, MEMORY, PODS
from podgym.envs.kube.validation import label_value_error
from podgym.envs.workload._fields import Labels, Quantity, StrictModel, TaintSpec
from podgym.envs.workload.types import GPU_MODEL_LABEL, GPU_RESOURCE, ClusterSource

HOSTNAME_LABEL = "kubernetes.io/hostname"
OS_LABEL = "kubernetes.io/os"
ARCH_LABEL = "kubernetes.io/arch"
ZONE_LABEL = "topology.kubernetes.io/zone"
POOL_LABEL = "podgym.io/pool"

_POOL_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


class NodePool(StrictModel):
    """`count` identical nodes named ``<name>-<i>`` (i from 0), spread round-robin over `zones`."""

    name: str = Field(description="pool name; nodes are named <name>-0, <name>-1, ...")
    count: int = Field(ge=0, description="number of nodes")
    cpu: Quantity = Field(description="allocatable CPU per node, e.g. '8' or '7910m'")
    memory: Quantity = Field(description="allocatable memory per node, e.g. '32Gi'")
    ephemeral_storage: Quantity = Field(default="100Gi", description="allocatable ephemeral storage per node")
    pods: int = Field(default=110, ge=0, description="max pods per node (status.allocatable.pods)")
    gpus: int = Field(default=0, ge=0, description="GPUs per node (nvidia.com/gpu)")
    gpu_model: str | None = Field(default=None, description="GPU model, the node label " + GPU_MODEL_LABEL)
    labels: Labels = Field(default_factory=dict, description="extra node labels")
    taints: list[TaintSpec] = Field(default_factory=list)
    zones: list[str] = Field(default_factory=lambda: ["zone-a"], min_length=1, description="zones, round-robin")
    arch: str = "amd64"
    unschedulable: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _POOL_NAME.match(v) or len(v) > 200:
            raise ValueError(f"must be a lowercase DNS name (a-z, 0-9, '-', '.'), got {v!r}")
        return v

    @field_validator("zones", mode="before")
    @classmethod
    def _zones(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _check(self) -> NodePool:
        for what, value in [("gpu_model", self.gpu_model or ""), ("arch", self.arch)] + [
            ("zones", z) for z in self.zones
        ]:
            problem = label_value_error(value)
            if problem:
                raise ValueError(f"{what}: {value!r} is not a valid label value: {problem}")
        if self.gpus and not self.gpu_model:
            raise ValueError(f"pool {self.name!r} has gpus={self.gpus}: gpu_model is required")
        if self.gpu_model and not self.gpus:
            raise ValueError(f"pool {self.name!r} sets gpu_model {self.gpu_model!r} but has no gpus")
        return self

    def node(self, i: int) -> dict[str, Any]:
        """The Node dict of node `i` of this pool."""
        name = f"{self.name}-{i}"
        labels = {
            ARCH_LABEL: self.arch,
            OS_LABEL: "linux",
            ZONE_LABEL: self.zones[i % len(self.zones)],
            POOL_LABEL: self.name,
            **self.labels,
            HOSTNAME_LABEL: name,
        }
        resources = {
            CPU: self.cpu,
            MEMORY: self.memory,
            EPHEMERAL_STORAGE: self.ephemeral_storage,
            PODS: str(self.pods),
        }
        if self.gpus:
            labels[GPU_MODEL_LABEL] = self.gpu_model
            resources[GPU_RESOURCE] = str(self.gpus)
        spec: dict[str, Any] = {}
        if self.taints:
            spec["taints"] = [t.to_dict() for t in self.taints]
        if self.unschedulable:
            spec["unschedulable"] = True
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "labels": labels},
            "spec": spec,
            "status": {
                "capacity": dict(resources),
                "allocatable": dict(resources),
                "conditions": [{"type": "Ready", "status": "True"}],
                "nodeInfo": {"architecture": self.arch, "operatingSystem": "linux", "kubeletVersion": "v1.35.0"},
            },
        }


def _pools(pools: Iterable[NodePool | Mapping[str, Any]]) -> list[NodePool]:
    out = [p if isinstance(p, NodePool) else NodePool.model_validate(p) for p in pools]
    seen: set[str] = set()
    for p in out:
        if p.name in seen:
            raise ValueError(f"duplicate node pool name {p.name!r}")
        seen.add(p.name)
    return out


def nodes_from_pools(pools: Iterable[NodePool | Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Node dicts (as ``kubectl get nodes -o json`` items) of every pool, pool by pool, in order.

    Pools may be NodePool models or plain mappings (validated here). Allocatable equals capacity.
    """
    nodes = [p.node(i) for p in _pools(pools) for i in range(p.count)]
    seen: set[str] = set()
    for n in nodes:
        name = n["metadata"]["name"]
        if name in seen:
            raise ValueError(f"node pools produce the node name {name!r} twice")
        seen.add(name)
    return nodes


def cluster_from_pools(pools: Iterable[NodePool | Mapping[str, Any]], source: str = "pools") -> ClusterSource:
    """A ClusterSource of the pools' nodes (parsed), with no pods bound."""
    return ClusterSource(nodes=parse_nodes(nodes_from_pools(pools)), source=source)
