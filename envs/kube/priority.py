"""PriorityClasses (scheduling.k8s.io/v1) and what the Priority admission plugin writes into a pod from them.

A pod names its class in ``spec.priorityClassName``; admission sets ``spec.priority`` to the class's value and
``spec.preemptionPolicy`` to the class's policy (PreemptLowerPriority by default). A pod without a class takes
the class marked ``globalDefault`` (else priority 0); a class that does not exist rejects the pod. The two
system classes exist in every cluster. Pods of a dump already carry the resolved fields and are left as they are.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from podgym.envs.kube.errors import KubeObjectError
from podgym.envs.kube.objects import PREEMPTION_POLICIES, _object_name, _Reader

HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000
SYSTEM_CLASSES = {"system-cluster-critical": 2_000_000_000, "system-node-critical": 2_000_001_000}


@dataclass(frozen=True)
class PriorityClass:
    """A PriorityClass: its value, whether it is the global default, and the preemption policy of its pods."""

    name: str
    value: int
    global_default: bool = False
    preemption_policy: str = "PreemptLowerPriority"


def parse_priority_class(data: Any) -> PriorityClass:
    """Parse a PriorityClass dict; a malformed field is a KubeObjectError naming the class and the field."""
    if isinstance(data, PriorityClass):
        return data
    name, _ = _object_name(data, "PriorityClass")
    r = _Reader(f"PriorityClass {name}")
    if "value" not in data:
        raise r.error("value", "required: the priority of the class's pods")
    value = r.integer(data, "value", "", 0, (-(2**31), HIGHEST_USER_DEFINABLE_PRIORITY))
    policy = r.string(data, "preemptionPolicy", "", "PreemptLowerPriority")
    if policy not in PREEMPTION_POLICIES:
        raise r.error("preemptionPolicy", f"must be one of {', '.join(PREEMPTION_POLICIES)}, got {policy!r}")
    return PriorityClass(name, value, r.get(data, "globalDefault", "", bool, False), policy)


def priority_classes(items: Iterable[Any]) -> dict[str, PriorityClass]:
    """Classes by name (the system classes included); two classes marked globalDefault are an error."""
    classes = {n: PriorityClass(n, v) for n, v in SYSTEM_CLASSES.items()}
    defaults = []
    for item in items:
        pc = parse_priority_class(item)
        classes[pc.name] = pc
        if pc.global_default:
            defaults.append(pc.name)
    if len(defaults) > 1:
        raise KubeObjectError(
            f"more than one global default: {', '.join(defaults)}", obj="PriorityClass", field="globalDefault"
        )
    return classes


def resolve_priority(pod: Mapping[str, Any], classes: Mapping[str, PriorityClass]) -> dict[str, Any]:
    """The pod as the Priority admission plugin leaves it: ``spec.priority`` and ``spec.preemptionPolicy`` from its
    class (or the global default class). A pod that already has ``spec.priority`` is returned unchanged."""
    if not isinstance(pod, Mapping):
        return pod  # not an object: parse_pod says so
    spec = pod.get("spec")
    if not isinstance(spec, Mapping) or spec.get("priority") is not None:
        return dict(pod)
    name = spec.get("priorityClassName")
    if name:
        pc = classes.get(name)
        if pc is None:
            meta = pod.get("metadata") or {}
            raise KubeObjectError(
                f"no PriorityClass with name {name} was found",
                obj=f"Pod {meta.get('namespace') or 'default'}/{meta.get('name')}",
                field="spec.priorityClassName",
            )
    else:
        pc = next((c for c in classes.values() if c.global_default), None)
        if pc is None:
            return dict(pod)  # priority 0, PreemptLowerPriority: the defaults the pod parses to
    out = copy.deepcopy(dict(pod))
    out["spec"]["priority"] = pc.value
    out["spec"]["priorityClassName"] = pc.name
    out["spec"].setdefault("preemptionPolicy", pc.preemption_policy)
    return out
