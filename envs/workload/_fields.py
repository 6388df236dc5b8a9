"""Field types shared by podgym's own workload and cluster configuration (pydantic, snake_case, strict).

Quantities are validated exactly as Kubernetes parses them (``envs.kube.quantity``) and kept as the
Kubernetes string the user wrote ("8", "500m", "32Gi"); numbers are accepted and written as strings.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from podgym.envs.kube.quantity import parse_quantity
from podgym.envs.kube.validation import label_value_error, qualified_name_error


def _quantity_text(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError(f"expected a Kubernetes quantity such as '500m' or '32Gi', got {value!r}")
    if isinstance(value, (int, float)):
        return str(parse_quantity(value))
    return value


def _check_quantity(value: str) -> str:
    q = parse_quantity(value)  # a KubeObjectError is a ValueError: pydantic reports it on the field
    if q.amount < 0:
        raise ValueError(f"must be greater than or equal to 0, got {value!r}")
    return value


Quantity = Annotated[str, BeforeValidator(_quantity_text), AfterValidator(_check_quantity)]
"""A non-negative Kubernetes quantity, kept as its string form."""


def _check_labels(labels: dict[str, str]) -> dict[str, str]:
    for key, value in labels.items():
        problem = qualified_name_error(key)
        if problem:
            raise ValueError(f"label key {key!r}: {problem}")
        problem = label_value_error(value)
        if problem:
            raise ValueError(f"label {key!r} value {value!r}: {problem}")
    return labels


Labels = Annotated[dict[str, str], AfterValidator(_check_labels)]
"""A label map whose keys and values are valid Kubernetes label keys and values."""

TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class StrictModel(BaseModel):
    """Base of podgym's configuration models: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid")


class TaintSpec(StrictModel):
    """A node taint, as in ``spec.taints``."""

    key: str
    value: str = ""
    effect: TaintEffect

    def to_dict(self) -> dict[str, str]:
        out = {"key": self.key, "effect": self.effect}
        if self.value:
            out["value"] = self.value
        return out


class TolerationSpec(StrictModel):
    """A pod toleration, as in ``spec.tolerations`` (snake_case: ``toleration_seconds``)."""

    key: str = ""
    operator: Literal["Equal", "Exists", "Gt", "Lt"] = "Equal"
    value: str = ""
    effect: Literal["", "NoSchedule", "PreferNoSchedule", "NoExecute"] = ""
    toleration_seconds: int | None = None

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"operator": self.operator}
        if self.key:
            out["key"] = self.key
        if self.value:
            out["value"] = self.value
        if self.effect:
            out["effect"] = self.effect
        if self.toleration_seconds is not None:
            out["tolerationSeconds"] = self.toleration_seconds
        return out
