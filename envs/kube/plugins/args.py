"""Typed plugin args, read exactly as KubeSchedulerConfiguration v1 writes them, with upstream defaults.

Defaulting follows pkg/scheduler/apis/config/v1/defaults.go and validation follows
pkg/scheduler/apis/config/validation/validation_pluginargs.go. Unknown fields are errors, as in
kube-scheduler's strict decoding.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from podgym.envs.kube.errors import ConfigError, from_validation_error


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class ResourceSpec(_Args):
    """A resource and its weight in a scoring strategy; weight 0 (unset) defaults to 1."""

    name: str
    weight: int = 1

    @field_validator("weight")
    @classmethod
    def _check_weight(cls, weight: int, info: ValidationInfo) -> int:
        weight = weight or 1  # v1 defaulting: an unset or zero weight is 1
        if not 1 <= weight <= 100:
            name = info.data.get("name", "")
            raise ValueError(f"resource weight of {name} should be in the range of 1-100, got {weight}")
        return weight


def _default_resources() -> list[ResourceSpec]:
    return [ResourceSpec(name="cpu", weight=1), ResourceSpec(name="memory", weight=1)]


class UtilizationShapePoint(_Args):
    """A point of the RequestedToCapacityRatio shape: utilization 0-100 -> score 0-10."""

    utilization: int = Field(ge=0, le=100)
    score: int = Field(ge=0, le=10)


class RequestedToCapacityRatioParam(_Args):
    shape: list[UtilizationShapePoint]

    @field_validator("shape")
    @classmethod
    def _check_shape(cls, shape: list[UtilizationShapePoint]) -> list[UtilizationShapePoint]:
        if not shape:
            raise ValueError("at least one point must be specified")
        for prev, cur in pairwise(shape):
            if cur.utilization <= prev.utilization:
                raise ValueError("utilization values must be sorted in increasing order")
        return shape


class ScoringStrategy(_Args):
    type: Literal["LeastAllocated", "MostAllocated", "RequestedToCapacityRatio"] = "LeastAllocated"
    resources: list[ResourceSpec] = Field(default_factory=_default_resources)
    requested_to_capacity_ratio: RequestedToCapacityRatioParam | None = Field(
        default=None, alias="requestedToCapacityRatio"
    )

    @field_validator("resources")
    @classmethod
    def _default_if_empty(cls, resources: list[ResourceSpec]) -> list[ResourceSpec]:
        return resources or _default_resources()

    @model_validator(mode="after")
    def _shape_required(self) -> ScoringStrategy:
        if self.type == "RequestedToCapacityRatio" and self.requested_to_capacity_ratio is None:
            raise ValueError("requestedToCapacityRatio.shape is required for type RequestedToCapacityRatio")
        return self


class NodeResourcesFitArgs(_Args):
    """NodeResourcesFitArgs (kubescheduler.config.k8s.io/v1)."""

    kind: str | None = None
    api_version: str | None = Field(default=None, alias="apiVersion")
    ignored_resources: list[str] = Field(default_factory=list, alias="ignoredResources")
    ignored_resource_groups: list[str] = Field(default_factory=list, alias="ignoredResourceGroups")
    scoring_strategy: ScoringStrategy = Field(default_factory=ScoringStrategy, alias="scoringStrategy")

    @field_validator("ignored_resource_groups")
    @classmethod
    def _groups_have_no_slash(cls, groups: list[str]) -> list[str]:
        for g in groups:
            if "/" in g:
                raise ValueError(f"resource group name {g!r} can't contain '/'")
        return groups


class NodeResourcesBalancedAllocationArgs(_Args):
    """NodeResourcesBalancedAllocationArgs (kubescheduler.config.k8s.io/v1)."""

    kind: str | None = None
    api_version: str | None = Field(default=None, alias="apiVersion")
    resources: list[ResourceSpec] = Field(default_factory=_default_resources)

    @field_validator("resources")
    @classmethod
    def _default_if_empty(cls, resources: list[ResourceSpec]) -> list[ResourceSpec]:
        return resources or _default_resources()


class NodeAffinityArgs(_Args):
    """NodeAffinityArgs (kubescheduler.config.k8s.io/v1); addedAffinity is a core/v1 NodeAffinity."""

    kind: str | None = None
    api_version: str | None = Field(default=None, alias="apiVersion")
    added_affinity: dict[str, Any] | None = Field(default=None, alias="addedAffinity")


class DefaultPreemptionArgs(_Args):
    """DefaultPreemptionArgs (kubescheduler.config.k8s.io/v1): how many candidate nodes a preemption dry-runs."""

    kind: str | None = None
    api_version: str | None = Field(default=None, alias="apiVersion")
    min_candidate_nodes_percentage: int = Field(default=10, alias="minCandidateNodesPercentage")
    min_candidate_nodes_absolute: int = Field(default=100, alias="minCandidateNodesAbsolute")

    @field_validator("min_candidate_nodes_percentage")
    @classmethod
    def _percentage_in_range(cls, value: int) -> int:
        if not 0 <= value <= 100:
            raise ValueError(f"Invalid value: {value}: not in valid range [0, 100]")
        return value

    @field_validator("min_candidate_nodes_absolute")
    @classmethod
    def _absolute_in_range(cls, value: int) -> int:
        if value < 0:
            raise ValueError(f"Invalid value: {value}: not in valid range [0, inf)")
        return value

    @model_validator(mode="after")
    def _not_both_zero(self) -> DefaultPreemptionArgs:
        if self.min_candidate_nodes_percentage == 0 and self.min_candidate_nodes_absolute == 0:
            raise ValueError(
                "minCandidateNodesPercentage: Invalid value: 0: cannot be zero at the same time as "
                "minCandidateNodesAbsolute"
            )
        return self


class NoArgs(_Args):
    """Plugins that take no args accept only an empty object."""

    kind: str | None = None
    api_version: str | None = Field(default=None, alias="apiVersion")


A = TypeVar("A", bound=BaseModel)


def parse_args(model: type[A], args: Any, plugin: str) -> A:
    """Validate `args` for `plugin`; a wrong field becomes a ConfigError naming it."""
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise ConfigError(f"expected an object, got {type(args).__name__}", obj=f"{plugin} args", field="args")
    try:
        return model.model_validate(args)
    except ValidationError as exc:
        raise from_validation_error(exc, obj=f"{plugin} args", prefix="args", error=ConfigError) from None


class DefaultSpreadConstraint(_Args):
    """A default constraint of PodTopologySpreadArgs: no labelSelector (it is derived for each pod)."""

    max_skew: int = Field(alias="maxSkew")
    topology_key: str = Field(alias="topologyKey")
    when_unsatisfiable: Literal["DoNotSchedule", "ScheduleAnyway"] = Field(alias="whenUnsatisfiable")
    label_selector: dict[str, Any] | None = Field(default=None, alias="labelSelector")
    min_domains: int | None = Field(default=None, alias="minDomains")
    node_affinity_policy: Literal["Honor", "Ignore"] | None = Field(default=None, alias="nodeAffinityPolicy")
    node_taints_policy: Literal["Honor", "Ignore"] | None = Field(default=None, alias="nodeTaintsPolicy")
    match_label_keys: list[str] = Field(default_factory=list, alias="matchLabelKeys")

    @field_validator("max_skew")
    @classmethod
    def _positive_skew(cls, v: int) -> int:
        if v <= 0:
            raise ValueError(f"must be greater than zero, got {v}")
        return v

    @field_validator("topology_key")
    @classmethod
    def _key_set(cls, v: str) -> str:
        if not v:
            raise ValueError("can not be empty")
        return v

    @field_validator("label_selector")
    @classmethod
    def _no_selector(cls, v: dict[str, Any] | None) -> None:
        if v is not None:
            raise ValueError("constraint must not define a selector, as they deduced for each pod")
        return None


class PodTopologySpreadArgs(_Args):
    """PodTopologySpreadArgs (kubescheduler.config.k8s.io/v1); defaultingType defaults to System."""

    kind: str | None = None
    api_version: str | None = Field(default=None, alias="apiVersion")
    default_constraints: list[DefaultSpreadConstraint] = Field(default_factory=list, alias="defaultConstraints")
    defaulting_type: Literal["System", "List"] = Field(default="System", alias="defaultingType")

    @model_validator(mode="after")
    def _check(self) -> PodTopologySpreadArgs:
        if self.defaulting_type == "System" and self.default_constraints:
            raise ValueError('when .defaultingType is "System", .defaultConstraints must be empty')
        seen = set()
        for c in self.default_constraints:
            pair = (c.topology_key, c.when_unsatisfiable)
            if pair in seen:
                raise ValueError(f"defaultConstraints: Duplicate value: {{{c.topology_key}, {c.when_unsatisfiable}}}")
            seen.add(pair)
        return self


class InterPodAffinityArgs(_Args):
    """InterPodAffinityArgs (kubescheduler.config.k8s.io/v1)."""

    kind: str | None = None
    api_version: str | None = Field(default=None, alias="apiVersion")
    hard_pod_affinity_weight: int = Field(default=1, alias="hardPodAffinityWeight")
    ignore_preferred_terms_of_existing_pods: bool = Field(default=False, alias="ignorePreferredTermsOfExistingPods")

    @field_validator("hard_pod_affinity_weight")
    @classmethod
    def _weight_range(cls, v: int) -> int:
        if not 0 <= v <= 100:
            raise ValueError(f"not in valid range [0-100], got {v}")
        return v
