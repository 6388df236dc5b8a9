"""Scheduling profiles: the default profile and profiles read from a KubeSchedulerConfiguration v1 YAML.

Plugin sets are merged as kube-scheduler does: the defaults are MultiPoint plugins; a custom
MultiPoint set replaces defaults in place and appends the rest; per-extension-point enabled plugins
override MultiPoint ones, ``disabled: [{name: "*"}]`` drops every default at that point; a score
weight set at the Score point wins over the MultiPoint weight, and weight 0 means 1.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from podgym.envs.kube.errors import ConfigError, KubeObjectError, from_validation_error
from podgym.envs.kube.framework import Plugin
from podgym.envs.kube.plugins import POST_FILTER, REGISTRY, UNMODELED, new_plugin

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


# The extension points each in-tree plugin of v1.35 implements (pkg/scheduler/framework/plugins): enabling a plugin
# at a point it does not implement is refused by the framework ("plugin %q does not extend %s plugin").
IN_TREE_POINTS: dict[str, frozenset[str]] = {
    name: frozenset(points.split())
    for name, points in {
        "SchedulingGates": "preEnqueue",
        "PrioritySort": "queueSort",
        "NodeUnschedulable": "filter",
        "NodeName": "filter",
        "TaintToleration": "filter preScore score",
        "NodeAffinity": "preFilter filter preScore score",
        "NodePorts": "preFilter filter",
        "NodeResourcesFit": "preFilter filter preScore score",
        "VolumeRestrictions": "preFilter filter",
        "NodeVolumeLimits": "preFilter filter",
        "VolumeBinding": "preFilter filter reserve preBind preScore score",
        "VolumeZone": "preFilter filter",
        "PodTopologySpread": "preFilter filter preScore score",
        "InterPodAffinity": "preFilter filter preScore score",
        "DynamicResources": "preEnqueue preFilter filter postFilter reserve preBind",
        "NodeDeclaredFeatures": "preFilter filter",
        "DefaultPreemption": "postFilter",
        "NodeResourcesBalancedAllocation": "preScore score",
        "ImageLocality": "score",
        "DefaultBinder": "bind",
        "GangScheduling": "preEnqueue permit",
    }.items()
}
# Volume-limit plugins that older releases had and v1.35's registry no longer has: the framework refuses them.
REMOVED_PLUGINS = frozenset({"EBSLimits", "GCEPDLimits", "AzureDiskLimits", "CinderLimits"})
# The Go interface each extension point asks for, as the framework's errors name it.
POINT_INTERFACES = {
    "preEnqueue": "PreEnqueuePlugin",
    "queueSort": "QueueSortPlugin",
    "preFilter": "PreFilterPlugin",
    "filter": "FilterPlugin",
    "postFilter": "PostFilterPlugin",
    "preScore": "PreScorePlugin",
    "score": "ScorePlugin",
    "reserve": "ReservePlugin",
    "permit": "PermitPlugin",
    "preBind": "PreBindPlugin",
    "bind": "BindPlugin",
    "postBind": "PostBindPlugin",
}
SERVED_VERSIONS = (API_VERSION,)


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
    scheduler_name: str | None = Field(default=None, alias="schedulerName")
    percentage_of_nodes_to_score: int | None = Field(default=None, alias="percentageOfNodesToScore")
    plugins: Plugins = Field(default_factory=Plugins)
    plugin_config: list[PluginConfig] = Field(default_factory=list, alias="pluginConfig")


class KubeSchedulerConfiguration(_Strict):
    """KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1); fields podgym does not use are accepted."""

    api_version: str = Field(alias="apiVersion")
    kind: str
    profiles: list[ProfileConfig] = Field(default_factory=lambda: [ProfileConfig()])
    percentage_of_nodes_to_score: int | None = Field(default=None, alias="percentageOfNodesToScore")
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
    """In-tree plugins the profile enables that podgym does not model: they take no part in its decisions."""
    ignored: tuple[str, ...] = field(default=())
    """Out-of-tree plugins (scheduler-plugins' Coscheduling...) the profile enables: not modelled, ignored."""
    post_filter_plugins: tuple[Plugin, ...] = field(default=())
    """PostFilter plugins (DefaultPreemption), run in order when no node passes Filter."""

    @property
    def preemption(self) -> Plugin | None:
        """The profile's DefaultPreemption, if enabled."""
        return next((p for p in self.post_filter_plugins if p.name == "DefaultPreemption"), None)

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


def _alias(point: str) -> str:
    return Plugins.model_fields[point].alias or point


def _check_plugin_names(config: ProfileConfig, strict: bool) -> list[str]:
    """Refuse what the framework refuses at each extension point; the out-of-tree plugins (ignored) in order."""
    ignored: list[str] = []
    for point, plugin_set in config.plugins:
        alias = _alias(point)
        interface = POINT_INTERFACES.get(alias, "MultiPoint")
        seen: set[str] = set()
        for k, ref in enumerate(plugin_set.enabled):
            name, where = ref.name, f"plugins.{alias}.enabled[{k}].name"
            if name in REMOVED_PLUGINS:
                raise ConfigError(
                    f'{interface} "{name}" does not exist: kube-scheduler v1.35 has no {name} plugin (removed; '
                    "NodeVolumeLimits counts every CSI volume)",
                    field=where,
                )
            if name in IN_TREE_POINTS:
                if alias != "multiPoint" and alias not in IN_TREE_POINTS[name]:
                    raise ConfigError(f'plugin "{name}" does not extend {interface} plugin', field=where)
            else:
                close = difflib.get_close_matches(name, list(IN_TREE_POINTS), n=1, cutoff=0.85)
                if close:
                    raise ConfigError(
                        f'{interface} "{name}" does not exist in kube-scheduler v1.35; did you mean {close[0]!r}?',
                        field=where,
                    )
                if strict:
                    raise ConfigError(
                        f"plugin {name!r} is not an in-tree plugin of kube-scheduler v1.35 (an out-of-tree plugin, "
                        "e.g. from scheduler-plugins): podgym does not model it, and strict mode refuses it",
                        field=where,
                    )
                if name not in ignored:
                    ignored.append(name)
            if name in seen:
                raise ConfigError(f'plugin "{name}" already registered as "{interface}"', field=where)
            seen.add(name)
    return ignored


def build_profile(
    config: ProfileConfig, percentage_of_nodes_to_score: int | None = None, *, strict: bool = False
) -> Profile:
    """Resolve a profile's plugin sets, weights and args into a Profile.

    Every in-tree plugin of v1.35 loads at the extension points it implements; those podgym does not model
    are listed in ``Profile.unmodeled``. Out-of-tree plugins (any other name) are listed in
    ``Profile.ignored`` and take no part in decisions, or, with `strict`, are refused. What kube-scheduler's
    framework refuses (a plugin at a point it does not implement, a removed plugin, a plugin twice at one
    point, no or several queue-sort plugins, no bind plugin) is refused with its message and field.
    """
    ignored = _check_plugin_names(config, strict)
    multi_point = _merge_multi_point(config.plugins.multi_point)
    name = config.scheduler_name or DEFAULT_SCHEDULER_NAME
    args: dict[str, Any] = {}
    for i, pc in enumerate(config.plugin_config):
        if pc.name in args:
            raise ConfigError(f"Duplicate value: {pc.name!r}", field=f"pluginConfig[{i}]")
        if pc.name in REMOVED_PLUGINS:
            raise ConfigError(f"{pc.name!r}: kube-scheduler v1.35 has no such plugin", field=f"pluginConfig[{i}]")
        args[pc.name] = pc.args

    def implements(point: str):
        def check(plugin: str) -> bool:
            if plugin in IN_TREE_POINTS:
                return point in IN_TREE_POINTS[plugin]
            return False  # an out-of-tree plugin's extension points are unknown: it is ignored

        return check

    def expand(point: str) -> list[str]:
        return _expand(getattr(config.plugins, point), multi_point, implements(_alias(point)))

    queue_sort = expand("queue_sort")
    queue_sort += [p.name for p in config.plugins.queue_sort.enabled if p.name in ignored and p.name not in queue_sort]
    if len(queue_sort) != 1:
        raise ConfigError(
            f"only one queue sort plugin required for profile with scheduler name {name!r}, but got {len(queue_sort)}",
            field="plugins.queueSort",
        )
    if not expand("bind") and not any(p.name in ignored for p in config.plugins.bind.enabled):
        raise ConfigError(
            f"at least one bind plugin is needed for profile with scheduler name {name!r}", field="plugins.bind"
        )
    filter_names = [n for n in expand("filter") if n in REGISTRY]
    score_names = [n for n in expand("score") if n in REGISTRY]
    post_filter_names = [n for n in expand("post_filter") if n in POST_FILTER]
    weights: dict[str, int] = {}
    for plugin, weight in [(p.name, p.weight or 0) for p in config.plugins.score.enabled] + multi_point:
        weights.setdefault(plugin, weight or 1)
    instances: dict[str, Plugin] = {}

    def instance(plugin: str) -> Plugin:
        if plugin not in instances:
            try:
                instances[plugin] = new_plugin(plugin, args.get(plugin))
            except KubeObjectError as exc:
                where = next(
                    (f"pluginConfig[{i}]" for i, pc in enumerate(config.plugin_config) if pc.name == plugin), None
                )
                if where is None:  # the defaults of a plugin never fail: a bug, not the configuration's
                    raise
                inner = exc.field if not exc.field or exc.field.startswith("args") else f"args.{exc.field}"
                raise ConfigError(exc.problem, field=f"{where}.{inner}" if inner else where) from None
        return instances[plugin]

    # validatePluginConfig checks the args of these plugins whether or not the profile enables them
    for plugin in ("InterPodAffinity", "NodeAffinity", "NodeResourcesBalancedAllocation", "PodTopologySpread"):
        if plugin in args and plugin not in filter_names + score_names:
            instance(plugin)
    every = [n for n, _ in multi_point] + [p.name for _, plugin_set in config.plugins for p in plugin_set.enabled]
    return Profile(
        scheduler_name=name,
        filter_plugins=tuple(instance(n) for n in filter_names),
        score_plugins=tuple((instance(n), weights.get(n, 1)) for n in score_names),
        percentage_of_nodes_to_score=(
            config.percentage_of_nodes_to_score
            if config.percentage_of_nodes_to_score is not None
            else percentage_of_nodes_to_score or 0
        ),
        unmodeled=tuple(dict.fromkeys(n for n in every if n in IN_TREE_POINTS and n in UNMODELED)),
        ignored=tuple(ignored),
        post_filter_plugins=tuple(instance(n) for n in post_filter_names),
    )


def default_profile() -> Profile:
    """kube-scheduler v1.35's default profile (default-scheduler) with upstream weights and args."""
    return build_profile(ProfileConfig())


def unwrap(data: Any, source: str = "<config>") -> Any:
    """The KubeSchedulerConfiguration of `data`: itself, or the one a ConfigMap holds under any ``data`` key
    (``scheduler-config.yaml`` as users copy them, or another name)."""
    if not isinstance(data, dict) or data.get("kind") != "ConfigMap":
        return data
    entries = data.get("data")
    if not isinstance(entries, dict):
        raise ConfigError("a ConfigMap without a data map", obj="ConfigMap", field="data", source=source)
    keys = sorted(entries, key=lambda k: (k != "scheduler-config.yaml", str(k)))
    for key in keys:
        text = entries[key]
        try:
            inner = yaml.safe_load(text) if isinstance(text, str) else None
        except yaml.YAMLError as exc:
            raise ConfigError(f"not valid YAML: {exc}", obj="ConfigMap", field=f"data.{key}", source=source) from None
        if isinstance(inner, dict) and inner.get("kind") == "KubeSchedulerConfiguration":
            return inner
    raise ConfigError(
        f"no key of the ConfigMap holds a KubeSchedulerConfiguration (keys: {', '.join(map(str, entries)) or 'none'})",
        obj="ConfigMap",
        field="data",
        source=source,
    )


def _validate(config: KubeSchedulerConfiguration) -> None:
    """ValidateKubeSchedulerConfiguration (pkg/scheduler/apis/config/validation) on what podgym reads."""
    if config.parallelism is not None and config.parallelism <= 0:
        raise ConfigError(
            f"Invalid value: {config.parallelism}: should be an integer value greater than zero", field="parallelism"
        )
    initial = 1 if config.pod_initial_backoff_seconds is None else config.pod_initial_backoff_seconds
    maximum = 10 if config.pod_max_backoff_seconds is None else config.pod_max_backoff_seconds
    if initial <= 0:
        raise ConfigError(f"Invalid value: {initial}: must be greater than 0", field="podInitialBackoffSeconds")
    if maximum < initial:
        raise ConfigError(
            f"Invalid value: {maximum}: must be greater than or equal to PodInitialBackoffSeconds",
            field="podMaxBackoffSeconds",
        )
    if not config.profiles:
        raise ConfigError("Required value", field="profiles")
    percentages = [("percentageOfNodesToScore", config.percentage_of_nodes_to_score)]
    percentages += [
        (f"profiles[{i}].percentageOfNodesToScore", p.percentage_of_nodes_to_score)
        for i, p in enumerate(config.profiles)
    ]
    for where, value in percentages:
        if value is not None and not 0 <= value <= 100:
            raise ConfigError(f"Invalid value: {value}: not in valid range [0-100]", field=where)
    if len(config.profiles) == 1 and config.profiles[0].scheduler_name is None:  # v1 defaulting: one profile only
        config.profiles[0].scheduler_name = DEFAULT_SCHEDULER_NAME
    seen: dict[str, int] = {}
    for i, profile in enumerate(config.profiles):
        if not profile.scheduler_name:
            raise ConfigError("Required value", field=f"profiles[{i}].schedulerName")
        if profile.scheduler_name in seen:
            raise ConfigError(
                f"Duplicate value: {profile.scheduler_name!r} "
                f"(as profiles[{seen[profile.scheduler_name]}].schedulerName)",
                field=f"profiles[{i}].schedulerName",
            )
        seen[profile.scheduler_name] = i
    canon = config.profiles[0].plugins.queue_sort.model_dump()
    for i, profile in enumerate(config.profiles[1:], start=1):
        if profile.plugins.queue_sort.model_dump() != canon:
            raise ConfigError(
                "Invalid value: queueSort must be the same for all profiles", field=f"profiles[{i}].plugins.queueSort"
            )
    binders = 0
    for i, extender in enumerate(config.extenders):
        weight = extender.get("weight", 0)
        if extender.get("prioritizeVerb") and (not isinstance(weight, int) or weight <= 0):
            raise ConfigError(
                f"Invalid value: {weight!r}: must have a positive weight applied to it", field=f"extenders[{i}].weight"
            )
        binders += bool(extender.get("bindVerb"))
    if binders > 1:
        raise ConfigError(
            f"Invalid value: found {binders} extenders implementing bind: only one extender can implement bind",
            field="extenders",
        )


def parse_configuration(data: Any, source: str = "<config>", *, strict: bool = False) -> list[Profile]:
    """Profiles of a KubeSchedulerConfiguration v1 given as a dict (bare, or inside a ConfigMap).

    What kube-scheduler v1.35 refuses is refused with its message and the field: another apiVersion, a
    duplicate schedulerName, profiles with different queueSort plugins, a plugin at an extension point it
    does not implement, removed plugins... Out-of-tree plugins load and are ignored (``Profile.ignored``),
    unless `strict`.
    """
    data = unwrap(data, source)
    if not isinstance(data, dict):
        raise ConfigError("expected a KubeSchedulerConfiguration object", source=source)
    version, kind = data.get("apiVersion"), data.get("kind")
    if kind != "KubeSchedulerConfiguration":
        raise ConfigError(
            f"expected 'KubeSchedulerConfiguration', got {kind!r}",
            obj="KubeSchedulerConfiguration",
            field="kind",
            source=source,
        )
    if version not in SERVED_VERSIONS:
        raise ConfigError(
            f'no kind "KubeSchedulerConfiguration" is registered for version "{version}": kube-scheduler v1.35 '
            f"reads only {API_VERSION} (v1beta2 and v1beta3 were removed in v1.28 and v1.29)",
            obj="KubeSchedulerConfiguration",
            field="apiVersion",
            source=source,
        )
    try:
        config = KubeSchedulerConfiguration.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc, obj="KubeSchedulerConfiguration", source=source, error=ConfigError) from None
    try:
        _validate(config)
    except KubeObjectError as exc:
        raise ConfigError(exc.problem, obj="KubeSchedulerConfiguration", field=exc.field, source=source) from None
    profiles = []
    for i, pc in enumerate(config.profiles):
        try:
            profiles.append(build_profile(pc, config.percentage_of_nodes_to_score, strict=strict))
        except KubeObjectError as exc:
            raise ConfigError(
                exc.problem,
                obj="KubeSchedulerConfiguration",
                field=f"profiles[{i}].{exc.field}" if exc.field else f"profiles[{i}]",
                source=source,
            ) from None
    return profiles


def read_configuration(path: str | Path, *, strict: bool = False) -> list[Profile]:
    """The profiles of a KubeSchedulerConfiguration YAML file (bare or a ConfigMap holding one)."""
    path = Path(path)
    try:
        with path.open() as stream:  # a stream with a name: YAML errors then name the file
            data = yaml.safe_load(stream)
    except OSError as exc:
        raise ConfigError(f"cannot read scheduler configuration: {exc.strerror}", source=str(path)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", source=str(path)) from None
    return parse_configuration(data, str(path), strict=strict)


def load_profile(path: str | Path, scheduler_name: str | None = None, *, strict: bool = False) -> Profile:
    """The profile `scheduler_name` (default: the first) of a KubeSchedulerConfiguration YAML file."""
    profiles = read_configuration(path, strict=strict)
    if scheduler_name is None:
        return profiles[0]
    for p in profiles:
        if p.scheduler_name == scheduler_name:
            return p
    raise ConfigError(
        f"no profile with schedulerName {scheduler_name!r}; it has {', '.join(p.scheduler_name for p in profiles)}",
        source=str(path),
    )
