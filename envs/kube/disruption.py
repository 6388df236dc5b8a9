"""PodDisruptionBudgets (policy/v1), parsed from dicts exactly as ``kubectl get pdb -o json`` gives them, and the
number of disruptions each allows (what the disruption controller writes to ``status.disruptionsAllowed``).

Preemption reads a budget as upstream's ``filterPodsWithPDBViolation`` does: a budget covers the pods of its
namespace whose labels its selector matches (a nil or empty selector covers none there), and a pod listed in
``status.disruptedPods`` is already being disrupted and uses no budget.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from podgym.envs.kube.objects import INT32, LabelSelector, Pod, _object_name, _Reader, parse_label_selector, parse_list

_PERCENT = re.compile(r"^([0-9]+)%$")


@dataclass(frozen=True)
class IntOrPercent:
    """An intstr.IntOrString of a budget: an integer, or a percentage ("50%")."""

    value: int
    percent: bool = False

    def scaled(self, total: int) -> int:
        """intstr.GetScaledValueFromIntOrPercent(self, total, roundUp=true)."""
        return -(-self.value * total // 100) if self.percent else self.value

    def __str__(self) -> str:
        return f"{self.value}%" if self.percent else str(self.value)


def _int_or_percent(r: _Reader, data: Mapping[str, Any], key: str, path: str) -> IntOrPercent | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value <= INT32[1]:
            raise r.error(f"{path}{key}", f"must be greater than or equal to 0, got {value}")
        return IntOrPercent(value)
    if isinstance(value, str):
        m = _PERCENT.match(value)
        if m is None:
            raise r.error(f"{path}{key}", f"must be an integer or a percentage such as '50%', got {value!r}")
        if int(m.group(1)) > 100:
            raise r.error(f"{path}{key}", f"must not be greater than 100%, got {value!r}")
        return IntOrPercent(int(m.group(1)), percent=True)
    raise r.error(f"{path}{key}", f"expected an integer or a percentage string, got {type(value).__name__} {value!r}")


@dataclass(frozen=True)
class PodDisruptionBudget:
    """A PodDisruptionBudget: whom it covers, how many of them must stay up, and its status when the dump has one."""

    name: str
    namespace: str
    selector: LabelSelector
    min_available: IntOrPercent | None = None
    max_unavailable: IntOrPercent | None = None
    disruptions_allowed: int | None = None  # status.disruptionsAllowed (None: no status given)
    disrupted_pods: frozenset[str] = frozenset()  # status.disruptedPods (pod names)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    def covers(self, pod: Pod) -> bool:
        """Whether a disruption of `pod` uses this budget (filterPodsWithPDBViolation: same namespace, a selector
        that is neither nil nor empty and matches the pod's labels, the pod not already in disruptedPods)."""
        if pod.namespace != self.namespace or not pod.labels or self.selector.nothing or self.selector.empty:
            return False
        return self.selector.matches(pod.labels) and pod.name not in self.disrupted_pods

    def selects(self, pod: Pod) -> bool:
        """Whether the disruption controller counts `pod` (policy/v1: an empty selector selects the namespace)."""
        return pod.namespace == self.namespace and self.selector.matches(pod.labels)

    def allowed(self, pods: Iterable[Pod], expected: int | None = None) -> int:
        """Disruptions allowed now: ``status.disruptionsAllowed`` when the budget carries one, else as the disruption
        controller computes it from `pods` (the pods that exist; those bound to a node and not terminal are the
        healthy ones) and `expected`, the scale of their controllers (default: the selected pods).

        desiredHealthy: minAvailable N -> N; minAvailable P% -> ceil(P% x expected); maxUnavailable -> expected -
        its scaled value, at least 0; neither -> 0 with nothing expected. allowed = healthy - desired, 0 when
        negative or when nothing is expected."""
        if self.disruptions_allowed is not None:
            return self.disruptions_allowed
        selected = [p for p in pods if self.selects(p) and not p.is_terminal]
        return self.allowed_from_counts(len(selected), sum(1 for p in selected if p.node_name), expected)

    def allowed_from_counts(self, selected: int, healthy: int, expected: int | None = None) -> int:
        """``allowed`` from the number of pods the budget selects, how many of them are healthy, and the
        controllers' scale (default: the selected pods); ``status.disruptionsAllowed`` when given."""
        if self.disruptions_allowed is not None:
            return self.disruptions_allowed
        scale = selected if expected is None else expected
        if self.max_unavailable is not None:
            expected_count = scale
            desired = max(expected_count - self.max_unavailable.scaled(expected_count), 0)
        elif self.min_available is not None:
            expected_count = scale if self.min_available.percent else selected
            desired = self.min_available.scaled(expected_count)
        else:
            expected_count, desired = 0, 0
        allowed = healthy - desired
        return allowed if expected_count > 0 and allowed > 0 else 0


def parse_pdb(data: Any) -> PodDisruptionBudget:
    """Parse a PodDisruptionBudget dict (``kubectl get pdb -o json`` item, policy/v1). Raises KubeObjectError on
    malformed fields, naming the budget and the field."""
    if isinstance(data, PodDisruptionBudget):
        return data
    name, namespace = _object_name(data, "PodDisruptionBudget")
    r = _Reader(f"PodDisruptionBudget {namespace}/{name}")
    spec = r.mapping(data, "spec", "")
    status = r.mapping(data, "status", "")
    min_available = _int_or_percent(r, spec, "minAvailable", "spec.")
    max_unavailable = _int_or_percent(r, spec, "maxUnavailable", "spec.")
    if min_available is not None and max_unavailable is not None:
        raise r.error("spec", "minAvailable and maxUnavailable cannot be both set")
    allowed = None
    if "disruptionsAllowed" in status:
        allowed = r.integer(status, "disruptionsAllowed", "status.", 0, INT32)
    elif any(k in status for k in ("currentHealthy", "desiredHealthy", "expectedPods")):
        allowed = 0  # a status the controller wrote, its zero disruptionsAllowed left out
    disrupted = r.mapping(status, "disruptedPods", "status.")
    return PodDisruptionBudget(
        name=name,
        namespace=namespace,
        selector=parse_label_selector(r, spec.get("selector"), "spec.selector"),
        min_available=min_available,
        max_unavailable=max_unavailable,
        disruptions_allowed=allowed,
        disrupted_pods=frozenset(disrupted),
        raw=data,
    )


def parse_pdbs(items: Iterable[Any]) -> list[PodDisruptionBudget]:
    """Parse PodDisruptionBudget dicts (a list or a ``kubectl get pdb -A -o json`` List)."""
    return parse_list(items, parse_pdb, "pdbs")
