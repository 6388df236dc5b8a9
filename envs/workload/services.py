"""Services: replicated workloads as Kubernetes runs them (Deployments, StatefulSets, ReplicaSets), with the
high-availability settings real services use, deterministic for a seed.

Written in a scenario's ``workload.services`` (snake_case, unknown fields are errors)::

    priority_classes:
      - {name: critical, value: 100000}
      - {name: batch, value: -10, preemption_policy: Never}
    services:
      - name: api                      # `count` services api-0, api-1, ... (count 1: just "api")
        count: 2
        kind: Deployment               # Deployment | StatefulSet | ReplicaSet
        replicas: [3, 6]               # a number, or [low, high]: drawn per service (inclusive)
        start: 0                       # when the controller creates the pods (s); or [low, high], drawn
        cpu: 500m
        memory: 1Gi
        priority_class: critical
        spread:                        # topologySpreadConstraints against the service's own pods
          - {topology_key: topology.kubernetes.io/zone, max_skew: 1, when_unsatisfiable: DoNotSchedule}
        anti_affinity: {mode: preferred, topology_key: kubernetes.io/hostname, weight: 100}
        disruption_budget: {min_available: 2}     # or max_unavailable; a number or "50%"

Each service gives the Pods its controller would create, at `start`, never departing: labels ``app: <service>``
(plus the class's ``labels``; a Deployment's pods also ``pod-template-hash``, their ReplicaSet's), a controller
``ownerReferences`` entry to that ReplicaSet (or the StatefulSet, or the ReplicaSet itself),
``priorityClassName`` with the class's ``priority`` (and ``preemptionPolicy``, as admission sets them), and the
spread constraints and anti-affinity term, all selecting ``app: <service>``. The workload's ``objects`` carry the
controllers (a Deployment and its ReplicaSet, a StatefulSet, or a ReplicaSet), one PodDisruptionBudget
(``policy/v1``) per service with a budget, and the PriorityClasses (``scheduling.k8s.io/v1``).

Pods are named as their controllers name them: ``<deployment>-<pod-template-hash>-<5 characters>``,
``<statefulset>-<ordinal>``, ``<replicaset>-<5 characters>``; the hash is upstream's (FNV-32a of the pod
template, in rand.SafeEncodeString's alphabet), the suffixes are drawn from the seed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from podgym.envs.kube.objects import CPU, MEMORY
from podgym.envs.kube.priority import PriorityClass, priority_classes, resolve_priority
from podgym.envs.workload._fields import Labels, Quantity, StrictModel, TolerationSpec
from podgym.envs.workload.objects import workload_from_pods
from podgym.envs.workload.pools import HOSTNAME_LABEL, ZONE_LABEL
from podgym.envs.workload.synthetic import _CLASS_NAME
from podgym.envs.workload.types import Workload

APP_LABEL = "app"
TEMPLATE_HASH_LABEL = "pod-template-hash"
# k8s.io/apimachinery/pkg/util/rand: the alphabet of SafeEncodeString (no vowels, no look-alikes).
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
# Distinguishes the services' random stream from the synthetic generator's for the same seed.
_STREAM = 0x5E41CE5


class PriorityClassSpec(StrictModel):
    """A PriorityClass (``scheduling.k8s.io/v1``)."""

    name: str
    value: int = Field(ge=-2147483648, le=1000000000, description="user classes go up to 1e9 (upstream limit)")
    preemption_policy: Literal["PreemptLowerPriority", "Never"] = "PreemptLowerPriority"
    global_default: bool = False
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": self.name},
            "value": self.value,
            "preemptionPolicy": self.preemption_policy,
        }
        if self.global_default:
            out["globalDefault"] = True
        if self.description:
            out["description"] = self.description
        return out


class SpreadSpec(StrictModel):
    """One topologySpreadConstraint over the service's own pods."""

    topology_key: str = ZONE_LABEL
    max_skew: int = Field(default=1, ge=1)
    when_unsatisfiable: Literal["DoNotSchedule", "ScheduleAnyway"] = "DoNotSchedule"
    min_domains: int | None = Field(default=None, ge=1, description="DoNotSchedule only (upstream validation)")
    match_label_keys: list[str] = Field(default_factory=list, description="e.g. [pod-template-hash]")

    @model_validator(mode="after")
    def _check(self) -> SpreadSpec:
        if self.min_domains is not None and self.when_unsatisfiable != "DoNotSchedule":
            raise ValueError("min_domains needs when_unsatisfiable DoNotSchedule")
        return self

    def to_dict(self, selector: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "maxSkew": self.max_skew,
            "topologyKey": self.topology_key,
            "whenUnsatisfiable": self.when_unsatisfiable,
            "labelSelector": selector,
        }
        if self.min_domains is not None:
            out["minDomains"] = self.min_domains
        if self.match_label_keys:
            out["matchLabelKeys"] = list(self.match_label_keys)
        return out


class AntiAffinitySpec(StrictModel):
    """A podAntiAffinity term against the service's own pods: required, or preferred with a weight."""

    mode: Literal["required", "preferred"] = "preferred"
    topology_key: str = HOSTNAME_LABEL
    weight: int = Field(default=100, ge=1, le=100, description="preferred only")

    def to_dict(self, selector: dict[str, Any]) -> dict[str, Any]:
        term = {"labelSelector": selector, "topologyKey": self.topology_key}
        if self.mode == "required":
            return {"requiredDuringSchedulingIgnoredDuringExecution": [term]}
        return {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": self.weight, "podAffinityTerm": term}]}


IntOrPercent = int | str


class BudgetSpec(StrictModel):
    """A PodDisruptionBudget: exactly one of min_available, max_unavailable (a count or "NN%")."""

    min_available: IntOrPercent | None = None
    max_unavailable: IntOrPercent | None = None

    @field_validator("min_available", "max_unavailable")
    @classmethod
    def _value(cls, v: IntOrPercent | None) -> IntOrPercent | None:
        if v is None:
            return v
        if isinstance(v, int):
            if v < 0:
                raise ValueError(f"must be greater than or equal to 0, got {v}")
            return v
        if not (v.endswith("%") and v[:-1].isdigit() and int(v[:-1]) <= 100):
            raise ValueError(f"expected a count or a percentage between 0% and 100%, got {v!r}")
        return v

    @model_validator(mode="after")
    def _one(self) -> BudgetSpec:
        if (self.min_available is None) == (self.max_unavailable is None):
            raise ValueError("give exactly one of min_available, max_unavailable")
        return self

    def to_dict(self, name: str, namespace: str, selector: dict[str, Any]) -> dict[str, Any]:
        spec: dict[str, Any] = {"selector": selector}
        if self.min_available is not None:
            spec["minAvailable"] = self.min_available
        else:
            spec["maxUnavailable"] = self.max_unavailable
        return {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        }


def _range(v: Any) -> Any:
    return [v, v] if isinstance(v, (int, float)) and not isinstance(v, bool) else v


class ServiceClass(StrictModel):
    """`count` services of one shape (see the module doc)."""

    name: str
    count: int = Field(default=1, ge=1)
    kind: Literal["Deployment", "StatefulSet", "ReplicaSet"] = "Deployment"
    replicas: tuple[int, int] = Field(description="a number, or [low, high] drawn per service")
    start: tuple[float, float] = Field(default=(0.0, 0.0), description="seconds: a time, or [low, high]")
    cpu: Quantity | None = None
    memory: Quantity | None = None
    namespace: str = "default"
    labels: Labels = Field(default_factory=dict)
    priority_class: str | None = None
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[TolerationSpec] = Field(default_factory=list)
    spread: list[SpreadSpec] = Field(default_factory=list)
    anti_affinity: AntiAffinitySpec | None = None
    disruption_budget: BudgetSpec | None = None

    @field_validator("replicas", "start", mode="before")
    @classmethod
    def _single(cls, v: Any) -> Any:
        return _range(v)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _CLASS_NAME.match(v) or len(v) > 40:
            raise ValueError(f"must be a lowercase DNS name of at most 40 characters, got {v!r}")
        return v

    @model_validator(mode="after")
    def _check(self) -> ServiceClass:
        lo, hi = self.replicas
        if not 1 <= lo <= hi:
            raise ValueError(f"replicas: need 1 <= low <= high, got [{lo}, {hi}]")
        if not 0 <= self.start[0] <= self.start[1] < float("inf"):
            raise ValueError(f"start: need 0 <= low <= high (finite), got [{self.start[0]}, {self.start[1]}]")
        if APP_LABEL in self.labels:
            raise ValueError(f"labels: {APP_LABEL!r} is the service's own label (its name)")
        return self

    def names(self) -> list[str]:
        return [self.name] if self.count == 1 else [f"{self.name}-{j}" for j in range(self.count)]


class ServicesConfig(StrictModel):
    """A scenario's ``workload.services``: PriorityClasses and service classes."""

    priority_classes: list[PriorityClassSpec] = Field(default_factory=list)
    services: list[ServiceClass] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> ServicesConfig:
        classes = [p.name for p in self.priority_classes]
        dup = sorted({n for n in classes if classes.count(n) > 1})
        if dup:
            raise ValueError(f"duplicate priority class name(s): {', '.join(dup)}")
        if sum(p.global_default for p in self.priority_classes) > 1:
            raise ValueError("at most one priority class may be global_default")
        for k, s in enumerate(self.services):
            if s.priority_class is not None and s.priority_class not in classes:
                raise ValueError(
                    f"services[{k}].priority_class: {s.priority_class!r} is not one of priority_classes "
                    f"({', '.join(classes) or 'none'})"
                )
        names = [(s.namespace, n) for s in self.services for n in s.names()]
        dup = sorted({f"{ns}/{n}" for ns, n in names if names.count((ns, n)) > 1})
        if dup:
            raise ValueError(f"duplicate service name(s): {', '.join(dup)}")
        return self


def template_hash(template: Mapping[str, Any]) -> str:
    """A pod template's hash as upstream names it: FNV-32a of the template, then rand.SafeEncodeString of its
    decimal form (ComputeHash; podgym hashes the template's JSON with sorted keys)."""
    h = 0x811C9DC5
    for byte in json.dumps(template, sort_keys=True, separators=(",", ":")).encode():
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(SAFE_ALPHABET[int(c) % len(SAFE_ALPHABET)] for c in str(h))


def _uid(kind: str, namespace: str, name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"podgym.io/{kind}/{namespace}/{name}"))


def controller_ref(kind: str, namespace: str, name: str) -> dict[str, Any]:
    """The controller ownerReference to an apps/v1 controller (its uid derived from its kind, namespace and name)."""
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "name": name,
        "uid": _uid(kind, namespace, name),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _suffixes(rng: np.random.Generator, n: int) -> list[str]:
    """n distinct 5-character pod name suffixes (rand.String's alphabet), drawn from `rng`."""
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        s = "".join(SAFE_ALPHABET[i] for i in rng.integers(0, len(SAFE_ALPHABET), 5))
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def _pod_template(sc: ServiceClass, name: str, classes: Mapping[str, PriorityClass]) -> dict[str, Any]:
    """spec.template of the service's controller: labels and the pod spec."""
    selector = {"matchLabels": {APP_LABEL: name}}
    requests = {r: v for r, v in ((CPU, sc.cpu), (MEMORY, sc.memory)) if v is not None}
    spec: dict[str, Any] = {
        "containers": [{"name": "main", "image": "registry.k8s.io/pause:3.10", "resources": {"requests": requests}}]
    }
    if sc.priority_class:
        spec["priorityClassName"] = sc.priority_class
    # Priority admission sets priority and preemptionPolicy from the class (or the global default class).
    spec = resolve_priority({"metadata": {"name": name, "namespace": sc.namespace}, "spec": spec}, classes)["spec"]
    if sc.node_selector:
        spec["nodeSelector"] = dict(sc.node_selector)
    if sc.tolerations:
        spec["tolerations"] = [t.to_dict() for t in sc.tolerations]
    if sc.spread:
        spec["topologySpreadConstraints"] = [c.to_dict(selector) for c in sc.spread]
    if sc.anti_affinity is not None:
        spec["affinity"] = {"podAntiAffinity": sc.anti_affinity.to_dict(selector)}
    return {"metadata": {"labels": {**sc.labels, APP_LABEL: name}}, "spec": spec}


def _controllers(sc: ServiceClass, name: str, replicas: int, template: dict[str, Any]):
    """(controller objects, the owner of the pods, the pods' extra labels) of one service."""
    ns = sc.namespace
    selector = {"matchLabels": {APP_LABEL: name}}
    spec = {"replicas": replicas, "selector": selector, "template": template}
    if sc.kind in ("StatefulSet", "ReplicaSet"):
        meta = {"name": name, "namespace": ns, "uid": _uid(sc.kind, ns, name)}
        if sc.kind == "StatefulSet":
            spec["serviceName"] = name
        obj = {"apiVersion": "apps/v1", "kind": sc.kind, "metadata": meta, "spec": spec}
        return [obj], controller_ref(sc.kind, ns, name), {}
    h = template_hash(template)
    rs_name = f"{name}-{h}"
    rs_template = {**template, "metadata": {"labels": {**template["metadata"]["labels"], TEMPLATE_HASH_LABEL: h}}}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "uid": _uid("Deployment", ns, name)},
        "spec": spec,
    }
    rs = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": rs_name,
            "namespace": ns,
            "uid": _uid("ReplicaSet", ns, rs_name),
            "labels": {**template["metadata"]["labels"], TEMPLATE_HASH_LABEL: h},
            "ownerReferences": [controller_ref("Deployment", ns, name)],
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {APP_LABEL: name, TEMPLATE_HASH_LABEL: h}},
            "template": rs_template,
        },
    }
    return [deployment, rs], controller_ref("ReplicaSet", ns, rs_name), {TEMPLATE_HASH_LABEL: h}


def generate_services(config: ServicesConfig | Mapping[str, Any], seed: int) -> Workload:
    """The pods of every service of `config` for `seed`, in arrival order (then service order, replica order),
    never departing; ``objects`` holds the PriorityClasses, the controllers and the PodDisruptionBudgets.

    `config` may be a ServicesConfig or a plain mapping (validated here). Fully deterministic for (config, seed);
    each service class draws from its own stream, so adding a class changes no other class's services.
    """
    cfg = config if isinstance(config, ServicesConfig) else ServicesConfig.model_validate(config)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    classes = priority_classes(p.to_dict() for p in cfg.priority_classes)
    streams = np.random.SeedSequence([_STREAM, int(seed)]).spawn(len(cfg.services))
    objects: list[dict[str, Any]] = [p.to_dict() for p in cfg.priority_classes]
    pods: list[dict[str, Any]] = []
    arrival: list[float] = []
    for sc, ss in zip(cfg.services, streams, strict=True):
        rng = np.random.default_rng(ss)
        names = sc.names()
        counts = rng.integers(sc.replicas[0], sc.replicas[1] + 1, len(names))
        starts = rng.uniform(sc.start[0], sc.start[1], len(names)) if sc.start[1] > sc.start[0] else None
        for j, name in enumerate(names):
            replicas = int(counts[j])
            template = _pod_template(sc, name, classes)
            controllers, owner, extra = _controllers(sc, name, replicas, template)
            objects.extend(json.loads(json.dumps(controllers)))  # no dict shared with the pods
            if sc.disruption_budget is not None:
                objects.append(sc.disruption_budget.to_dict(name, sc.namespace, {"matchLabels": {APP_LABEL: name}}))
            if sc.kind == "StatefulSet":
                pod_names = [f"{name}-{i}" for i in range(replicas)]
            else:
                pod_names = [f"{owner['name']}-{s}" for s in _suffixes(rng, replicas)]
            t = float(starts[j]) if starts is not None else float(sc.start[0])
            for pod_name in pod_names:
                meta = {
                    "name": pod_name,
                    "namespace": sc.namespace,
                    "labels": {**template["metadata"]["labels"], **extra},
                    "ownerReferences": [dict(owner)],
                }
                spec = json.loads(json.dumps(template["spec"]))  # each pod owns its dict
                pods.append({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec})
                arrival.append(t)
    order = np.argsort(np.asarray(arrival), kind="stable")
    workload = workload_from_pods([pods[i] for i in order], arrival=np.asarray(arrival)[order], source="services")
    workload.source = f"services(seed={int(seed)})"
    workload.objects = objects
    return workload
