"""PodDisruptionBudgets (``policy/v1``) over a workload's pods: which pods each one covers and how many of them
must run, as Kubernetes' disruption controller counts them (pkg/controller/disruption, v1.35).

A budget covers the pods of its namespace that its ``spec.selector`` (a metav1 LabelSelector) matches; an empty
selector matches every pod of the namespace, a missing one none (policy/v1). Its *desired healthy* count:

* ``minAvailable: N`` -> N;
* ``minAvailable: "P%"`` -> ceil(P/100 · expected);
* ``maxUnavailable: N`` or ``"P%"`` -> expected - N (or - ceil(P/100 · expected)), at least 0;

where *expected* is the scale of the pods' controllers (``getExpectedScale``): the sum of ``spec.replicas`` of
each distinct controller of a covered pod (a ReplicaSet owned by a Deployment counts as the Deployment), taken
from the workload's objects; a covered pod whose controller is not among them counts as one replica.

A pod's labels and namespace live in its template, so a budget covers all pods of a template or none: budgets
resolve per template, once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from podgym.envs.kube.disruption import PodDisruptionBudget, parse_pdb
from podgym.envs.kube.errors import KubeObjectError
from podgym.envs.kube.objects import label_selector
from podgym.envs.workload.types import Workload

PDB_KIND = "PodDisruptionBudget"
CONTROLLER_KINDS = ("Deployment", "ReplicaSet", "StatefulSet")


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Whether a metav1 LabelSelector dict selects `labels` (None selects nothing; ``{}`` everything)."""
    return label_selector(selector, "LabelSelector", "").matches(labels)


@dataclass(frozen=True)
class Budget:
    """One PodDisruptionBudget resolved over a workload."""

    pdb: PodDisruptionBudget
    templates: tuple[int, ...]  # the workload's templates whose pods it covers
    expected: int  # the controllers' scale (see the module doc)
    desired_healthy: int  # pods that must run for the budget to hold

    @property
    def name(self) -> str:
        """namespace/name"""
        return self.pdb.ref


def _controller(template_raw: Mapping[str, Any]) -> tuple[str, str] | None:
    """(kind, name) of the controller owner reference of a pod (template) dict."""
    for ref in (template_raw.get("metadata") or {}).get("ownerReferences") or []:
        if isinstance(ref, Mapping) and ref.get("controller"):
            return str(ref.get("kind")), str(ref.get("name"))
    return None


def _replicas(obj: Mapping[str, Any], key: tuple[str, str, str]) -> int:
    """spec.replicas of a controller (default 1); anything but a non-negative integer is an error naming it."""
    spec = obj.get("spec")
    value = spec.get("replicas", 1) if isinstance(spec, Mapping) else 1
    value = 1 if value is None else value
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise KubeObjectError(
            f"expected a non-negative integer, got {value!r}", obj=f"{key[1]} {key[0]}/{key[2]}", field="spec.replicas"
        )
    return value


def _scales(objects: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str, str], tuple[tuple[str, str, str], int]]:
    """(namespace, kind, name) of each controller -> (the controller that sets its scale, that scale)."""
    out: dict[tuple[str, str, str], tuple[tuple[str, str, str], int]] = {}
    by_key = {}
    for obj in objects:
        if obj.get("kind") in CONTROLLER_KINDS:
            meta = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
            key = (meta.get("namespace") or "default", obj["kind"], meta.get("name"))
            by_key[key] = obj
    for key, obj in by_key.items():
        owner = _controller(obj)
        if key[1] == "ReplicaSet" and owner is not None and owner[0] == "Deployment":
            deployment = (key[0], "Deployment", owner[1])
            if deployment in by_key:
                out[key] = (deployment, _replicas(by_key[deployment], deployment))
                continue
        out[key] = (key, _replicas(obj, key))
    return out


def resolve_budgets(workload: Workload) -> list[Budget]:
    """The workload's PodDisruptionBudgets (its objects of that kind), in order, over its pods."""
    pdbs = [o for o in workload.objects if isinstance(o, Mapping) and o.get("kind") == PDB_KIND]
    if not pdbs:
        return []
    scales = _scales(workload.objects)
    pods_per_template = np.bincount(workload.template, minlength=len(workload.templates))
    budgets = []
    for obj in pdbs:
        pdb = parse_pdb(obj)
        covered = tuple(
            k
            for k, t in enumerate(workload.templates)
            if t.namespace == pdb.namespace and pdb.selector.matches(t.labels) and pods_per_template[k]
        )
        controllers: dict[tuple[str, str, str], int] = {}
        loose = 0
        for k in covered:
            ref = _controller(workload.templates[k].raw)
            found = scales.get((pdb.namespace, *ref)) if ref is not None else None
            if found is None:
                loose += int(pods_per_template[k])
            else:
                controllers[found[0]] = found[1]
        expected = sum(controllers.values()) + loose
        if pdb.max_unavailable is not None:
            desired = max(expected - pdb.max_unavailable.scaled(expected), 0)
        elif pdb.min_available is not None:
            desired = pdb.min_available.scaled(expected)
        else:
            desired = 0  # neither set: policy/v1 defaults nothing; the budget never blocks
        budgets.append(Budget(pdb, covered, expected, desired))
    return budgets
