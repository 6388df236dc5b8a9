"""Scheduling profiles: the default profile and profiles read from a KubeSchedulerConfiguration v1 YAML.

Plugin sets are merged as kube-scheduler does: the defaults are MultiPoint plugins; a custom
MultiPoint set replaces defaults in place and appends the rest; per-extension-point enabled plugins
override MultiPoint ones, ``disabled: [{name: "*"}]`` drops every default at that point; a score
weight set at the Score point wins over the MultiPoint weight, and weight 0 means 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from envs.kube.errors import ConfigError, KubeObjectError, from_validation_error
from envs.kube.framework import Plugin
from envs.kube.plugins import OUTSIDE_DECISION, REGISTRY, UNMODELED, new_plugin

API_VERSION = "kubescheduler.config.k8s.io/v1"
DEFAULT_SCHEDULER_NAME = "default-scheduler"

# pkg/scheduler/apis/config/v1/default_plugins.go, MultiPoint order, with score weights.
DEFAULT_MULTI_POINT: tuple[tuple[str, int], ...] = (
    ("SchedulingGates", 0),
    ("PrioritySort", 0),
    ("NodeUnschedulable", 0),
    ("NodeName", 0),
    ("TaintToleration", 3),
    ("NodeAffinity", 2),
    ("NodePorts", 0),
    ("NodeResourcesFit", 1),
    ("VolumeRestrictions", 0),
    ("NodeVolumeLimits", 0),
    ("VolumeBinding", 0),
    ("VolumeZone", 0),
    ("PodTopologySpread", 2),
    ("InterPodAffinity", 2),
    ("DynamicResources", 0),
    ("DefaultPreemption", 0),
    ("NodeResourcesBalancedAllocation", 1),
    ("ImageLocality", 1),
    ("DefaultBinder", 0),
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class PluginRef(_Strict):
    name: str
    weight: int | None = Field(default=None, ge=0)


class PluginSet(_Strict):
    enabled: list[PluginRef] = Field(default_factory=list)
    disabled: list[PluginRef] = Field(default_factory=list)


class Plugins(_Strict):
    pre_enqueue: PluginSet = Field(default_factory=PluginSet, alias="preEnqueue")
    queue_sort: PluginSet = Field(default_factory=PluginSet, alias="queueSort")
    pre_filter: PluginSet = Field(default_factory=PluginSet, alias="preFilter")
    filter: PluginSet = Field(default_factory=PluginSet)
    post_filter: PluginSet = Field(default_factory=PluginSet, alias="postFilter")
    pre_score: PluginSet = Field(default_factory=PluginSet, alias="preScore")
    score: PluginSet = Field(default_factory=PluginSet)
    reserve: PluginSet = Field(default_factory=PluginSet)
    permit: PluginSet = Field(default_factory=PluginSet)
    pre_bind: PluginSet = Field(default_factory=PluginSet, alias="preBind")
    bind: PluginSet = Field(default_factory=PluginSet)
    post_bind: PluginSet = Field(default_factory=PluginSet, alias="postBind")
    multi_point: PluginSet = Field(default_factory=PluginSet, alias="multiPoint")


class PluginConfig(_Strict):
    name: str
    args: dict[str, Any] | None = None


class ProfileConfig(_Strict):
    scheduler_name: str = Field(default=DEFAULT_SCHEDULER_NAME, alias="schedulerName")
    percentage_of_nodes_to_score: int | None = Field(default=None, ge=0, le=100, alias="percentageOfNodesToScore")
    plugins: Plugins = Field(default_factory=Plugins)
    plugin_config: list[PluginConfig] = Field(default_factory=list, alias="pluginConfig")


class KubeSchedulerConfiguration(_Strict):
    """KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1); fields podgym does not use are accepted."""

    api_version: str = Field(alias="apiVersion")
    kind: str
    profiles: list[ProfileConfig] = Field(default_factory=lambda: [ProfileConfig()])
    percentage_of_nodes_to_score: int | None = Field(default=None, ge=0, le=100, alias="percentageOfNodesToScore")
    extenders: list[dict[str, Any]] = Field(default_factory=list)
    parallelism: int | None = None
    leader_election: dict[str, Any] | None = Field(default=None, alias="leaderElection")
    client_connection: dict[str, Any] | None = Field(default=None, alias="clientConnection")
    health_bind_address: str | None = Field(default=None, alias="healthzBindAddress")
    metrics_bind_address: str | None = Field(default=None, alias="metricsBindAddress")
    enable_profiling: bool | None = Field(default=None, alias="enableProfiling")
    enable_contention_profiling: bool | None = Field(default=None, alias="enableContentionProfiling")
    pod_initial_backoff_seconds: int | None = Field(default=None, alias="podInitialBackoffSeconds")
    pod_max_backoff_seconds: int | None = Field(default=None, alias="podMaxBackoffSeconds")
    delay_cache_until_active: bool | None = Field(default=None, alias="delayCacheUntilActive")


@dataclass(frozen=True)
class Profile:
    """A resolved scheduling profile: ordered Filter plugins and weighted Score plugins, instantiated."""

    scheduler_name: str
    filter_plugins: tuple[Plugin, ...]
    score_plugins: tuple[tuple[Plugin, int], ...]
    percentage_of_nodes_to_score: int = 0
    unmodeled: tuple[str, ...] = field(default=())

    def plugin(self, name: str) -> Plugin | None:
        """The instantiated plugin `name` of this profile, if enabled."""
        for p in (*self.filter_plugins, *(p for p, _ in self.score_plugins)):
            if p.name == name:
                return p
        return None


def _merge_multi_point(custom: PluginSet) -> list[tuple[str, int]]:
    disabled = {p.name for p in custom.disabled}
    replaced: set[int] = set()
    custom_index = {p.name: i for i, p in enumerate(custom.enabled)}
    merged: list[tuple[str, int]] = []
    if "*" not in disabled:
        for name, weight in DEFAULT_MULTI_POINT:
            if name in disabled:
                continue
            if name in custom_index:
                i = custom_index[name]
                weight = custom.enabled[i].weight or 0
                replaced.add(i)
            merged.append((name, weight))
    merged += [(p.name, p.weight or 0) for i, p in enumerate(custom.enabled) if i not in replaced]
    return merged


def _expand(point: PluginSet, multi_point: list[tuple[str, int]], implements) -> list[str]:
    """The plugins of one extension point, ordered as the framework's expandMultiPointPlugins does."""
    enabled = [p.name for p in point.enabled]
    disabled = {p.name for p in point.disabled}
    if "*" in disabled:
        return enabled
    overrides, from_multi = [], []
    for name, _ in multi_point:
        if not implements(name) or name in disabled:
            continue
        if name in enabled:
            overrides.append(name)
        elif name not in from_multi:
            from_multi.append(name)
    return [n for n in enabled if n in overrides] + from_multi + [n for n in enabled if n not in overrides]


def build_profile(config: ProfileConfig, percentage_of_nodes_to_score: int | None = None) -> Profile:
    """Resolve a profile's plugin sets, weights and args into a Profile."""
    multi_point = _merge_multi_point(config.plugins.multi_point)
    args = {}
    for i, pc in enumerate(config.plugin_config):
        if pc.name in args:
            raise ConfigError(f"duplicate pluginConfig for plugin {pc.name!r}", field=f"pluginConfig[{i}]")
        args[pc.name] = pc.args

    def implements(kind: str):
        return lambda name: name in REGISTRY and getattr(REGISTRY[name], kind)

    filter_names = _expand(config.plugins.filter, multi_point, implements("filters"))
    score_names = _expand(config.plugins.score, multi_point, implements("scores"))
    weights: dict[str, int] = {}
    for name, weight in [(p.name, p.weight or 0) for p in config.plugins.score.enabled] + multi_point:
        weights.setdefault(name, weight or 1)
    instances: dict[str, Plugin] = {}

    def instance(name: str) -> Plugin:
        if name not in instances:
            try:
                instances[name] = new_plugin(name, args.get(name))
            except KubeObjectError as exc:
                where = next(
                    (f"pluginConfig[{i}]" for i, pc in enumerate(config.plugin_config) if pc.name == name), "plugins"
                )
                raise ConfigError(exc.problem, field=f"{where}.{exc.field}" if exc.field else where) from None
        return instances[name]

    for point, plugin_set in config.plugins:
        for j, ref in enumerate([*plugin_set.enabled, *plugin_set.disabled]):
            if ref.name != "*" and ref.name not in REGISTRY and ref.name not in UNMODELED | OUTSIDE_DECISION:
                which = "enabled" if j < len(plugin_set.enabled) else "disabled"
                k = j if which == "enabled" else j - len(plugin_set.enabled)
                alias = Plugins.model_fields[point].alias or point
                raise ConfigError(
                    f"plugin {ref.name!r} does not exist in kube-scheduler v1.35; known plugins: "
                    f"{', '.join(sorted(REGISTRY.keys() | UNMODELED | OUTSIDE_DECISION))}",
                    field=f"plugins.{alias}.{which}[{k}].name",
                )
    every = [name for name, _ in multi_point] + [
        p.name
        for s in (config.plugins.filter, config.plugins.score, config.plugins.pre_filter, config.plugins.pre_score)
        for p in s.enabled
    ]
    return Profile(
        scheduler_name=config.scheduler_name,
        filter_plugins=tuple(instance(n) for n in filter_names),
        score_plugins=tuple((instance(n), weights.get(n, 1)) for n in score_names),
        percentage_of_nodes_to_score=(
            config.percentage_of_nodes_to_score
            if config.percentage_of_nodes_to_score is not None
            else percentage_of_nodes_to_score or 0
        ),
        unmodeled=tuple(dict.fromkeys(n for n in every if n in UNMODELED)),
    )


def default_profile() -> Profile:
    """kube-scheduler v1.35's default profile (default-scheduler) with upstream weights and args."""
    return build_profile(ProfileConfig())


def parse_configuration(data: Any, source: str = "<config>") -> list[Profile]:
    """Profiles of a KubeSchedulerConfiguration v1 given as a dict."""
    if not isinstance(data, dict):
        raise ConfigError("expected a KubeSchedulerConfiguration object", source=source)
    try:
        config = KubeSchedulerConfiguration.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc, obj="KubeSchedulerConfiguration", source=source, error=ConfigError) from None
    for field_name, got, want in (
        ("apiVersion", config.api_version, API_VERSION),
        ("kind", config.kind, "KubeSchedulerConfiguration"),
    ):
        if got != want:
            raise ConfigError(
                f"expected {want!r}, got {got!r}", obj="KubeSchedulerConfiguration", field=field_name, source=source
            )
    profiles = []
    for i, pc in enumerate(config.profiles):
        try:
            profiles.append(build_profile(pc, config.percentage_of_nodes_to_score))
        except KubeObjectError as exc:
            raise ConfigError(
                exc.problem,
                obj="KubeSchedulerConfiguration",
                field=f"profiles[{i}].{exc.field}" if exc.field else f"profiles[{i}]",
                source=source,
            ) from None
    return profiles


def load_profile(path: str | Path, scheduler_name: str | None = None) -> Profile:
    """The profile `scheduler_name` (default: the first) of a KubeSchedulerConfiguration YAML file."""
    path = Path(path)
    try:
        with path.open() as stream:  # a stream with a name: YAML errors then name the file
            data = yaml.safe_load(stream)
    except OSError as exc:
        raise ConfigError(f"cannot read scheduler configuration: {exc.strerror}", source=str(path)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", source=str(path)) from None
    profiles = parse_configuration(data, str(path))
    if scheduler_name is None:
        return profiles[0]
    for p in profiles:
        if p.scheduler_name == scheduler_name:
            return p
    raise ConfigError(
        f"no profile with schedulerName {scheduler_name!r}; it has {', '.join(p.scheduler_name for p in profiles)}",
        source=str(path),
    )
