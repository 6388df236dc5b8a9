"""Scenarios: a cluster, a workload, scheduler settings and simulation rules, in one validated YAML file.

A scenario is a name (a file ``configs/scenarios/NAME.yaml``) or a path. Relative paths inside it are
relative to the file. Unknown fields and wrong values are errors that name the file and the field.

::

    name: default
    seed: 0
    cluster:   {pools: [...]}  |  {openb_nodes: path | {path, sample: 64, sample_seed: 0}}
               |  {snapshot: {nodes: path, pods: path}}
    workload:  {synthetic: {...}}  |  {manifests: [paths]}
               |  {openb_pods: {path, times: true, sample_fraction: proportional, shuffle: true, inflate_gpu: 1.3}}
               |  {snapshot_pending: true}  (alone, or with one of the others)
               and/or {services: {priority_classes: [...], services: [...]}}  (envs.workload.services)
    scheduler: {config: kube-scheduler-config.yaml, scheduler_name: NAME, sample_nodes: true}
    simulation: {horizon: 21600, retry_unschedulable: true, departures: true, sample_interval: 60}
    env:       {max_nodes: 32, allow_pending: false, invalid_action: {rule: penalty, penalty: 1.0}, engine: auto}
    reward:    {name: packing, form: dense, gpu_weight: 1, cpu_weight: 1, fragmentation_weight: 0}
    failures:  {mtbf: 86400, mttr: 3600, zone_mtbf: 604800, zone_mttr: 3600, replacement_delay: 300,
                events: [{time: 600, node: n-0, action: fail}, {time: 900, zone: zone-b, action: fail}]}
    autoscaler: {pool: NAME, provision_delay: 60, scale_down_after: 600}
"""

from __future__ import annotations

import copy
import functools
import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import Field, ValidationError, model_validator

from podgym.envs.data import data_dir, expand_data_dir, resolve_data_file  # noqa: F401 - data_dir: part of this API
from podgym.envs.kube.disruption import PodDisruptionBudget
from podgym.envs.kube.errors import ConfigError, KubeObjectError, from_validation_error
from podgym.envs.kube.profile import Profile, default_profile, load_profile
from podgym.envs.rewards import RewardConfig
from podgym.envs.simulator import Autoscaler, FailureModel, SimulationOptions
from podgym.envs.workload import (
    ClusterSource,
    NodePool,
    SyntheticWorkloadConfig,
    Workload,
    cluster_from_pools,
    generate,
    load_snapshot,
    read_openb_cluster,
    read_openb_pods,
    workload_from_manifests,
)
from podgym.envs.workload._fields import StrictModel
from podgym.envs.workload.openb import sample_nodes
from podgym.envs.workload.ops import concat, inflate_to_gpu, sample_fraction, sort_by_arrival, take
from podgym.envs.workload.pools import ZONE_LABEL
from podgym.envs.workload.services import ServicesConfig, generate_services
from podgym.envs.workload.snapshot import pdbs_from_manifests
from podgym.envs.workload.types import GPU_RESOURCE, MILLI_GPU

SCENARIO_DIR = Path(__file__).resolve().parents[1] / "configs" / "scenarios"
NODE_SAMPLE_STREAM = 11  # the per-episode node sample draws from (seed, 11), apart from the workload's (seed)
TRACE_STREAM = 12  # the per-episode choice among several openb pod lists


class SnapshotFiles(StrictModel):
    """Files or directories in any layout of ``envs.kube.dumps``; Nodes and Pods are told apart by kind."""

    nodes: str | list[str] = Field(
        description="`kubectl get nodes -o json` output, a `kubectl get nodes,pods -A` file, a cluster-info dump "
        "(stdout or directory), or a list of those"
    )
    pods: str | list[str] | None = Field(
        default=None, description="`kubectl get pods -A -o json` output, per-namespace files or a directory"
    )


class OpenbNodes(StrictModel):
    path: str
    sample: int | None = Field(default=None, ge=1, description="a proportional sample of this many nodes")
    sample_seed: int | None = Field(
        default=0,
        description="seed of the node sample (every episode, the same nodes); null: a sample per episode, drawn from "
        "the episode's seed",
    )


class ClusterConfig(StrictModel):
    """Exactly one of: node pools, an openb node list, a cluster snapshot."""

    pools: list[NodePool] | None = None
    openb_nodes: str | OpenbNodes | None = None
    snapshot: SnapshotFiles | None = None

    @model_validator(mode="after")
    def _one(self) -> ClusterConfig:
        given = [k for k in ("pools", "openb_nodes", "snapshot") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of pools, openb_nodes, snapshot (got {', '.join(given) or 'none'})")
        return self


class OpenbPods(StrictModel):
    path: str | list[str] = Field(
        description="an openb pod list; several: each episode draws one of them from its seed (training across "
        "workloads)"
    )
    times: bool = Field(default=True, description="use creation/deletion times (False: all at 0, never leave)")
    sample_fraction: float | Literal["proportional"] | None = Field(
        default=None, description="keep this share of the pods; 'proportional': the share of nodes sampled"
    )
    shuffle: bool = Field(default=False, description="arrive in a random order (the episode's seed)")
    inflate_gpu: float | None = Field(
        default=None, gt=0, description="tune the total GPU request to this multiple of the cluster's GPU capacity"
    )

    @model_validator(mode="after")
    def _check(self) -> OpenbPods:
        if isinstance(self.sample_fraction, float) and not 0 < self.sample_fraction <= 1:
            raise ValueError(f"sample_fraction must be in (0, 1], got {self.sample_fraction}")
        if isinstance(self.path, list) and not self.path:
            raise ValueError("path: give a pod list or a non-empty list of them")
        return self


class WorkloadConfig(StrictModel):
    """One of: a synthetic generator, an openb pod list, manifests; and/or the snapshot's pending pods; and/or
    services (replicated Deployments/StatefulSets with their budgets: ``envs.workload.services``).

    With ``snapshot_pending`` and another source, the snapshot's pending pods come first (at time 0, in
    queue order), then the other source's pods. Services' pods join the others in arrival order (services
    first among pods arriving at the same time).
    """

    synthetic: SyntheticWorkloadConfig | None = None
    openb_pods: OpenbPods | None = None
    manifests: list[str] | None = None
    snapshot_pending: bool = False
    services: ServicesConfig | None = None

    @model_validator(mode="after")
    def _one(self) -> WorkloadConfig:
        given = [k for k in ("synthetic", "openb_pods", "manifests") if getattr(self, k) is not None]
        if len(given) > 1 or not (given or self.snapshot_pending or self.services is not None):
            raise ValueError(
                "give one of synthetic, openb_pods, manifests, and/or snapshot_pending, and/or services "
                f"(got {', '.join(given) or 'none'})"
            )
        return self


class SchedulerConfig(StrictModel):
    config: str | None = Field(
        default=None, description="a KubeSchedulerConfiguration v1 YAML, bare or inside a ConfigMap"
    )
    strict: bool = Field(default=False, description="refuse out-of-tree plugins (default: loaded and ignored)")
    scheduler_name: str | None = None
    sample_nodes: bool = Field(default=True, description="score only numFeasibleNodesToFind nodes, as upstream")
    filters: list[str] | None = Field(
        default=None, description="keep only these Filter plugins of the profile (e.g. [NodeResourcesFit])"
    )


class SimulationConfig(StrictModel):
    horizon: float = Field(default=math.inf, gt=0, description="seconds of simulated time")
    retry_unschedulable: bool = True
    departures: bool = True
    sample_interval: float = Field(default=60.0, gt=0)
    tie_break: Literal["random", "rank"] = Field(
        default="random", description="random: uniform among the top nodes (kube-scheduler); rank: a fixed random rank"
    )
    preemption: bool = Field(
        default=False, description="run DefaultPreemption (when the profile enables it) for a pod that fits nowhere"
    )


class FailureEvent(StrictModel):
    """A scripted failure or recovery of one node, or of every node of a zone (exactly one of node, zone)."""

    time: float = Field(ge=0)
    node: str | None = None
    zone: str | None = Field(default=None, description="a value of the nodes' topology.kubernetes.io/zone label")
    action: Literal["fail", "recover"]

    @model_validator(mode="after")
    def _one(self) -> FailureEvent:
        if (self.node is None) == (self.zone is None):
            raise ValueError("give exactly one of node, zone")
        return self


class FailureConfig(StrictModel):
    mtbf: float | None = Field(default=None, gt=0, description="mean time between failures per node (s)")
    mttr: float = Field(default=3600.0, gt=0, description="mean time to repair (s)")
    zone_mtbf: float | None = Field(
        default=None, gt=0, description="mean time between failures per zone (s): all its nodes fail together"
    )
    zone_mttr: float = Field(default=3600.0, gt=0, description="mean time to repair a failed zone (s)")
    replacement_delay: float = Field(
        default=0.0,
        ge=0,
        description="seconds from a node's failure until its pods' replacements are queued (upstream: the 300 s "
        "toleration of an unreachable node, then the controller's new pod); 0: at once",
    )
    events: list[FailureEvent] = Field(default_factory=list)


class AutoscalerConfig(StrictModel):
    pool: str = Field(description="the node pool that scales (its nodes start powered off)")
    provision_delay: float = Field(default=60.0, ge=0)
    scale_down_after: float = Field(default=600.0, ge=0)


class InvalidActionConfig(StrictModel):
    """What an action that is not allowed (masked out, or outside the space) does."""

    rule: Literal["penalty", "terminate"] = Field(
        default="penalty", description="penalty: reward -penalty and the pod stays queued; terminate: episode ends"
    )
    penalty: float = Field(default=1.0, ge=0)
    max_consecutive: int = Field(default=100, ge=1, description="penalty rule: truncate after this many in a row")


class EnvConfig(StrictModel):
    """The Gymnasium environment's options (the scenario's `env:` section)."""

    max_nodes: int | None = Field(default=None, ge=1, description="observation padding (default: the cluster size)")
    allow_pending: bool = Field(default=False, description="one more action: leave the pod pending")
    invalid_action: InvalidActionConfig = Field(default_factory=InvalidActionConfig)
    engine: Literal["auto", "python", "compiled"] = Field(
        default="auto",
        description="auto: the compiled engine where the scenario allows it, else Python; compiled: it or an error",
    )


class Scenario(StrictModel):
    """A whole experiment setting."""

    name: str
    description: str = ""
    seed: int = 0
    cluster: ClusterConfig
    workload: WorkloadConfig
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    simulation: SimulationConfig = Field(default_factory=SimulationConfig)
    failures: FailureConfig = Field(default_factory=FailureConfig)
    autoscaler: AutoscalerConfig | None = None
    env: EnvConfig = Field(default_factory=EnvConfig)
    reward: RewardConfig = Field(default_factory=RewardConfig)

    @model_validator(mode="after")
    def _cross(self) -> Scenario:
        if self.workload.snapshot_pending and self.cluster.snapshot is None:
            raise ValueError("workload.snapshot_pending needs cluster.snapshot")
        if self.autoscaler is not None:
            pools = {p.name for p in self.cluster.pools or []}
            if self.autoscaler.pool not in pools:
                raise ValueError(
                    f"autoscaler.pool {self.autoscaler.pool!r} is not one of the cluster's pools "
                    f"({', '.join(sorted(pools)) or 'none'})"
                )
        return self


def available_scenarios() -> list[str]:
    """Names of the scenarios shipped in configs/scenarios/."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def scenario_path(name_or_path: str | Path) -> Path:
    """The file of a scenario name or path; an unknown name lists the available ones."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.exists():
            raise ConfigError("scenario file not found", source=str(path))
        return path
    candidate = SCENARIO_DIR / f"{name_or_path}.yaml"
    if not candidate.exists():
        raise ConfigError(f"unknown scenario {str(name_or_path)!r}; available: {', '.join(available_scenarios())}")
    return candidate


def set_override(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set `dotted` (e.g. "simulation.horizon") in a nested dict, creating levels as needed."""
    keys = dotted.split(".")
    node = data
    for k in keys[:-1]:
        node = node.setdefault(k, {})
        if not isinstance(node, dict):
            raise ConfigError(f"cannot set {dotted!r}: {k!r} is not a mapping", field=dotted)
    node[keys[-1]] = value


def load_scenario(name_or_path: str | Path, overrides: dict[str, Any] | None = None) -> tuple[Scenario, Path]:
    """Read and validate a scenario (name or path); `overrides` maps dotted keys to values."""
    path = scenario_path(name_or_path)
    try:
        with path.open() as stream:
            data = yaml.safe_load(stream)
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", source=str(path)) from None
    if not isinstance(data, dict):
        raise ConfigError("a scenario must be a mapping", source=str(path))
    data = copy.deepcopy(data)
    for key, value in (overrides or {}).items():
        set_override(data, key, value)
    try:
        return Scenario.model_validate(data), path
    except ValidationError as exc:
        raise from_validation_error(exc, obj="Scenario", source=str(path), error=ConfigError) from None


@dataclass
class BuiltScenario:
    """What a scenario resolves to: ready to simulate."""

    scenario: Scenario
    cluster: ClusterSource
    workload: Workload
    options: SimulationOptions
    profile: Profile


@functools.lru_cache(maxsize=16)
def _read_cached(kind: str, path: str, mtime: float, times: bool = True):
    """Trace files are read once per process (episodes reset often): keyed by path and modification time."""
    if kind == "nodes":
        return read_openb_cluster(path)
    return read_openb_pods(path, times=times)


@functools.lru_cache(maxsize=16)
def _pools_cached(pools_json: str) -> ClusterSource:
    return cluster_from_pools(NodePool.model_validate(p) for p in json.loads(pools_json))


@functools.lru_cache(maxsize=1)
def _default_profile() -> Profile:
    """kube-scheduler's default profile, built once per process (a Profile is immutable)."""
    return default_profile()


def _pool_cluster(pools: list[NodePool]) -> ClusterSource:
    """The pools' nodes, parsed once per process (episodes reset often; Node objects are immutable)."""
    cached = _pools_cached(json.dumps([p.model_dump(mode="json") for p in pools]))
    return replace(cached, nodes=list(cached.nodes))


def _read_openb(kind: str, path: Path, times: bool = True):
    found = resolve_data_file(path)  # the file itself or its .gz form
    mtime = found.stat().st_mtime if found is not None else 0.0  # the reader reports a missing file
    return _read_cached(kind, str(path), mtime, times)


def _located(field: str, read):
    """Run `read`, naming the scenario field that pointed to the file in any KubeObjectError."""
    try:
        return read()
    except KubeObjectError as exc:
        raise KubeObjectError(str(exc), obj="Scenario", field=field) from None


def build_scenario(scenario: Scenario, base: Path, seed: int | None = None) -> BuiltScenario:
    """Read the files and generate the workload of `scenario` (paths relative to `base`)."""
    seed = scenario.seed if seed is None else seed

    def resolve(p: str) -> Path:
        q = Path(expand_data_dir(p))
        return q if q.is_absolute() else (base / q).resolve()

    c, w = scenario.cluster, scenario.workload
    snapshot = None
    pdbs: list[PodDisruptionBudget] = []  # of the snapshot and the manifests, for preemption
    if c.pools is not None:
        cluster = _pool_cluster(c.pools)
    elif c.openb_nodes is not None:
        spec = c.openb_nodes if isinstance(c.openb_nodes, OpenbNodes) else OpenbNodes(path=c.openb_nodes)
        cluster = _located("cluster.openb_nodes", lambda: _read_openb("nodes", resolve(spec.path)))
        full_size = len(cluster.nodes)
        if spec.sample is not None:
            if spec.sample > full_size:
                raise ConfigError(
                    f"sample of {spec.sample} nodes from a cluster of {full_size}",
                    obj="Scenario",
                    field="cluster.openb_nodes.sample",
                )
            # A fixed seed samples the same nodes in every episode; without one each episode has its own sample.
            sample_seed = [seed, NODE_SAMPLE_STREAM] if spec.sample_seed is None else spec.sample_seed
            cluster = sample_nodes(cluster, spec.sample, np.random.default_rng(sample_seed))
    else:

        def paths(value: str | list[str] | None) -> list[Path] | None:
            return None if value is None else [resolve(p) for p in ([value] if isinstance(value, str) else value)]

        snapshot = _located("cluster.snapshot", lambda: load_snapshot(paths(c.snapshot.nodes), paths(c.snapshot.pods)))
        cluster = snapshot.cluster
        pdbs += snapshot.pdbs
    if w.synthetic is not None:
        workload = generate(w.synthetic, seed)
    elif w.openb_pods is not None:
        o = w.openb_pods
        traces = [o.path] if isinstance(o.path, str) else o.path
        # One trace per episode, drawn from its own stream so that a single trace keeps its episodes as they were.
        k = 0 if len(traces) == 1 else int(np.random.default_rng([seed, TRACE_STREAM]).integers(len(traces)))
        where = "workload.openb_pods.path" + ("" if isinstance(o.path, str) else f"[{k}]")
        workload = _located(where, lambda: _read_openb("pods", resolve(traces[k]), o.times))
        rng = np.random.default_rng(seed)
        if o.sample_fraction is not None:
            fraction = o.sample_fraction
            if fraction == "proportional":
                if c.openb_nodes is None:
                    raise ConfigError(
                        "'proportional' needs cluster.openb_nodes",
                        obj="Scenario",
                        field="workload.openb_pods.sample_fraction",
                    )
                fraction = len(cluster.nodes) / full_size
            workload = sample_fraction(workload, fraction, rng)
        order = rng.permutation(len(workload)) if o.shuffle else np.arange(len(workload))
        if o.inflate_gpu is not None:
            capacity = sum(n.allocatable.get(GPU_RESOURCE, 0) for n in cluster.nodes) * MILLI_GPU
            workload = inflate_to_gpu(workload, order, round(o.inflate_gpu * capacity), rng)
        elif o.shuffle:
            workload = take(workload, order)
    elif w.manifests is not None:
        # Admission of the manifests' pods sees the PriorityClasses of the snapshot's cluster they are applied to.
        classes = [o for o in snapshot.objects if o.get("kind") == "PriorityClass"] if snapshot is not None else []
        workload = _located(
            "workload.manifests", lambda: workload_from_manifests([resolve(p) for p in w.manifests], classes)
        )
        pdbs += _located("workload.manifests", lambda: pdbs_from_manifests([resolve(p) for p in w.manifests]))
    else:
        workload = None
    if w.snapshot_pending:
        workload = snapshot.pending if workload is None else concat(snapshot.pending, workload)
    if w.services is not None:
        services = generate_services(w.services, seed)
        workload = services if workload is None else sort_by_arrival(concat(services, workload))
    names = {n.name for n in cluster.nodes}
    zones = {n.labels[ZONE_LABEL] for n in cluster.nodes if ZONE_LABEL in n.labels}
    for i, e in enumerate(scenario.failures.events):
        if e.node is not None and e.node not in names:
            raise ConfigError(
                f"unknown node {e.node!r}: not in the cluster", obj="Scenario", field=f"failures.events[{i}].node"
            )
        if e.zone is not None and e.zone not in zones:
            raise ConfigError(
                f"unknown zone {e.zone!r}: no node has the label {ZONE_LABEL}={e.zone} "
                f"(zones: {', '.join(sorted(zones)) or 'none'})",
                obj="Scenario",
                field=f"failures.events[{i}].zone",
            )
    if scenario.failures.zone_mtbf is not None and not zones:
        raise ConfigError(
            f"zone failures need nodes labelled {ZONE_LABEL}; this cluster has none",
            obj="Scenario",
            field="failures.zone_mtbf",
        )
    profile = _default_profile()
    if scenario.scheduler.config:
        profile = _located(
            "scheduler.config",
            lambda: load_profile(
                resolve(scenario.scheduler.config), scenario.scheduler.scheduler_name, strict=scenario.scheduler.strict
            ),
        )
    if scenario.scheduler.filters is not None:
        known = [p.name for p in profile.filter_plugins]
        unknown = [f for f in scenario.scheduler.filters if f not in known]
        if unknown:
            raise ConfigError(
                f"{unknown[0]!r} is not a Filter plugin of the profile ({', '.join(known)})",
                obj="Scenario",
                field="scheduler.filters",
            )
        profile = replace(
            profile, filter_plugins=tuple(p for p in profile.filter_plugins if p.name in scenario.scheduler.filters)
        )
    autoscaler = None
    if scenario.autoscaler is not None:
        pool = next(p for p in c.pools if p.name == scenario.autoscaler.pool)
        autoscaler = Autoscaler(
            tuple(f"{pool.name}-{i}" for i in range(pool.count)),
            scenario.autoscaler.provision_delay,
            scenario.autoscaler.scale_down_after,
        )
    f = scenario.failures
    options = SimulationOptions(
        horizon_s=scenario.simulation.horizon,
        retry_unschedulable=scenario.simulation.retry_unschedulable,
        departures=scenario.simulation.departures,
        sample_interval_s=scenario.simulation.sample_interval,
        tie_break=scenario.simulation.tie_break,
        failures=FailureModel(
            f.mtbf,
            f.mttr,
            tuple((e.time, e.node, e.action) for e in f.events if e.node is not None),
            zone_mtbf_s=f.zone_mtbf,
            zone_mttr_s=f.zone_mttr,
            replacement_delay_s=f.replacement_delay,
            zone_events=tuple((e.time, e.zone, e.action) for e in f.events if e.zone is not None),
        ),
        autoscaler=autoscaler,
        preemption=scenario.simulation.preemption,
        pdbs=tuple(pdbs),
    )
    return BuiltScenario(scenario, cluster, workload, options, profile)


def require_pods(built: BuiltScenario) -> None:
    """Raise a KubeObjectError naming the scenario when it has no pod to place (an env needs decisions)."""
    if len(built.workload):
        return
    w = built.scenario.workload
    where = "the snapshot has no pending pod" if w.snapshot_pending else "the workload is empty"
    hint = (
        " and no other workload is given (add workload.synthetic or workload.manifests)" if w.snapshot_pending else ""
    )
    raise KubeObjectError(
        f"scenario {built.scenario.name!r} has no pod to place: {where}{hint}", obj="Scenario", field="workload"
    )


def load_and_build(
    name_or_path: str | Path, overrides: dict[str, Any] | None = None, seed: int | None = None
) -> BuiltScenario:
    """load_scenario + build_scenario."""
    scenario, path = load_scenario(name_or_path, overrides)
    try:
        return build_scenario(scenario, path.parent, seed)
    except KubeObjectError as exc:
        raise exc.within(source=str(path)) from None
