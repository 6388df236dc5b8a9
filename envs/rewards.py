"""Reward functions, pluggable like Jumanji's RewardFn.

Every objective is the time integral of a cluster signal (``envs.metrics.SIGNALS``), normalised by a
time scale T (the scenario's horizon, or ``time_scale`` seconds when it has none) and, where it counts
nodes or pods, by the number of nodes:

=========== ===================================================== =========================================
name        objective (the episode return)                        optimises
=========== ===================================================== =========================================
packing     (1/T) ∫ (w_gpu·gpu + w_cpu·cpu)/(w_gpu+w_cpu)          allocated share of GPU and cpu, less
            − fragmentation_weight · (1/T) ∫ fragmentation dt       GPU capacity stranded on partly used GPUs
allocation  (w_gpu·gpu + w_cpu·cpu)/(w_gpu+w_cpu) at the end        the share allocated when the run ends: for
                                                                    runs without time (the FGD experiment)
spreading   −(1/T) ∫ imbalance_cpu dt                              balance: std of node cpu allocation
waiting     −(1/(T·N)) ∫ pending dt                                wait: ∫ pending dt is the total wait time
energy      −(1/(T·N)) ∫ active_nodes dt                           active node-hours (nodes running pods)
weighted    Σ_k weight_k · objective_k                              a trade-off of the above
=========== ===================================================== =========================================

The **dense** form pays, at each step, the change of the objective since the previous step (the integral
over the simulated time that the step covered); the **sparse** form pays the whole objective when the
episode ends. By telescoping, both give exactly the same episode return.

Each objective is data: ``OBJECTIVES`` maps its name to a function of the config, the time scale and the node
count that gives its coefficients over the reward signals (``Linear``). Both engines evaluate that same data in
the same order, so a new objective over these signals is one entry here (``RewardConfig`` accepts its name); one
over a new signal also needs the signal in ``REWARD_SIGNALS`` and in the metrics (the compiled engine declares
the signals its kernels compute and leaves any other reward to the Python engine).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from pydantic import Field, model_validator

from podgym.envs.metrics import SIGNALS
from podgym.envs.workload._fields import StrictModel

# What an objective may read: each envs.metrics.SIGNALS integral up to the state's time, and the allocated share
# of cpu and GPU at that time.
REWARD_SIGNALS = (*SIGNALS, "current_cpu", "current_gpu")


@dataclass(frozen=True)
class RewardState:
    """What a reward function reads: the simulated time and each signal's integral up to it."""

    time: float
    integrals: dict[str, float] = field(default_factory=dict)
    # The allocated share of each resource now ("cpu", "gpu"): for objectives measured at a point, not over time.
    current: dict[str, float] = field(default_factory=dict)


class RewardFn(Protocol):
    """reward = fn(state, action, next_state, is_valid, is_done)."""

    needs_node_stats: bool

    def __call__(
        self, state: RewardState, action: int, next_state: RewardState, is_valid: bool, is_done: bool
    ) -> float: ...


@dataclass(frozen=True)
class Linear:
    """An objective's value over the reward signals, in this order of operations (both engines follow it)::

        (c1·s1 + c2·s2 + ...) / inner_den + d1·t1 + d2·t2 + ...) / den

    the inner terms summed left to right from the first product, then the outer terms added one by one."""

    inner: tuple[tuple[str, float], ...] = ()
    inner_den: float = 1.0
    outer: tuple[tuple[str, float], ...] = ()
    den: float = 1.0

    def __call__(self, values: Mapping[str, float]) -> float:
        inner = 0.0
        for k, (signal, coef) in enumerate(self.inner):
            term = coef * values.get(signal, 0.0)
            inner = term if k == 0 else inner + term
        value = inner / self.inner_den
        for signal, coef in self.outer:
            value = value + coef * values.get(signal, 0.0)
        return value / self.den

    @property
    def signals(self) -> set[str]:
        return {name for name, _ in (*self.inner, *self.outer)}


def _share(c, prefix: str = "") -> dict:
    """The weighted GPU and cpu share: (w_gpu·gpu + w_cpu·cpu)/(w_gpu+w_cpu)."""
    return {
        "inner": ((f"{prefix}gpu", c.gpu_weight), (f"{prefix}cpu", c.cpu_weight)),
        "inner_den": c.gpu_weight + c.cpu_weight,
    }


# name -> (config, time scale T, node count N) -> its Linear form (see the table above).
OBJECTIVES: dict[str, Callable[..., Linear]] = {
    "packing": lambda c, scale, n: Linear(**_share(c), outer=(("fragmentation", -c.fragmentation_weight),), den=scale),
    "allocation": lambda c, scale, n: Linear(**_share(c, "current_")),
    "spreading": lambda c, scale, n: Linear(inner=(("imbalance_cpu", -1.0),), den=scale),
    "waiting": lambda c, scale, n: Linear(inner=(("pending", -1.0),), den=scale * n),
    "energy": lambda c, scale, n: Linear(inner=(("active_nodes", -1.0),), den=scale * n),
}


# The names a config may give: every objective above (and "weighted", a sum of them).
ObjectiveName = Literal[tuple(OBJECTIVES)]  # type: ignore[valid-type]
ObjectiveOrWeighted = Literal[(*OBJECTIVES, "weighted")]  # type: ignore[valid-type]


class RewardConfig(StrictModel):
    """The scenario's `reward:` section."""

    name: ObjectiveOrWeighted = "packing"
    form: Literal["dense", "sparse"] = "dense"
    weights: dict[ObjectiveName, float] = Field(default_factory=dict)
    gpu_weight: float = Field(default=1.0, ge=0)
    cpu_weight: float = Field(default=1.0, ge=0)
    fragmentation_weight: float = Field(default=0.0, ge=0)
    time_scale: float = Field(default=3600.0, gt=0, description="seconds; used when the horizon is infinite")

    @model_validator(mode="after")
    def _check(self) -> RewardConfig:
        if self.name == "weighted" and not self.weights:
            raise ValueError("reward 'weighted' needs weights, e.g. {packing: 1.0, waiting: 0.5}")
        if self.name != "weighted" and self.weights:
            raise ValueError(f"weights apply to reward 'weighted' only, not {self.name!r}")
        if self.gpu_weight + self.cpu_weight == 0:
            raise ValueError("gpu_weight and cpu_weight cannot both be 0")
        return self


class IntegralReward:
    """A reward whose episode return is Φ(end) for a potential Φ over reward states; dense or sparse."""

    def __init__(self, config: RewardConfig, horizon: float, num_nodes: int):
        self.config = config
        self.scale = horizon if math.isfinite(horizon) else config.time_scale
        self.num_nodes = max(num_nodes, 1)
        weights = config.weights if config.name == "weighted" else {config.name: 1.0}
        self.weights = {k: float(v) for k, v in weights.items() if v}
        unknown = sorted(set(self.weights) - set(OBJECTIVES))
        if unknown:
            raise ValueError(f"unknown objective {unknown[0]!r}; known: {', '.join(OBJECTIVES)}")
        # Each weighted objective as its coefficients over the reward signals.
        self.terms: dict[str, Linear] = {k: OBJECTIVES[k](config, self.scale, self.num_nodes) for k in self.weights}
        self.signals = set().union(*(t.signals for t in self.terms.values()))
        unknown = sorted(self.signals - set(REWARD_SIGNALS))
        if unknown:
            raise ValueError(f"objective reads unknown signal {unknown[0]!r}; known: {', '.join(REWARD_SIGNALS)}")
        # Imbalance and fragmentation at every event (not only at samples), for the objectives that integrate them.
        self.needs_node_stats = any(
            coef != 0
            for t in self.terms.values()
            for name, coef in (*t.inner, *t.outer)
            if name in ("imbalance_cpu", "fragmentation")
        )

    def objective(self, name: str, s: RewardState) -> float:
        """One objective's value accumulated up to state `s`."""
        linear = self.terms.get(name) or OBJECTIVES[name](self.config, self.scale, self.num_nodes)
        return linear(signal_values(s))

    def potential(self, s: RewardState) -> float:
        """Φ(s): the weighted objectives accumulated up to `s`."""
        values = signal_values(s)
        return sum(w * self.terms[k](values) for k, w in self.weights.items())

    def __call__(
        self, state: RewardState, action: int, next_state: RewardState, is_valid: bool, is_done: bool
    ) -> float:
        if self.config.form == "dense":
            return self.potential(next_state) - self.potential(state)
        return self.potential(next_state) if is_done else 0.0


def signal_values(s: RewardState) -> dict[str, float]:
    """The reward signals of a state by name (REWARD_SIGNALS)."""
    values = dict(s.integrals)
    for resource, share in s.current.items():
        values[f"current_{resource}"] = share
    return values


def describe_objective(config: RewardConfig | dict | None) -> str:
    """The objective a reward config defines, in words with its weights (for reports)."""
    if not isinstance(config, RewardConfig):
        config = RewardConfig.model_validate(config or {})
    c = config
    share = f"({c.gpu_weight:g}·GPU + {c.cpu_weight:g}·cpu) / {c.gpu_weight + c.cpu_weight:g}"
    parts = {
        "packing": f"the time-mean allocated share {share} over the run"
        + (f", minus {c.fragmentation_weight:g} × the time-mean GPU fragmentation" if c.fragmentation_weight else ""),
        "allocation": f"the allocated share {share} when the run ends",
        "spreading": "minus the time-mean imbalance (std over nodes of the cpu allocated share)",
        "waiting": "minus the time-mean number of pending pods per node (the total wait, normalised)",
        "energy": "minus the time-mean share of nodes running pods (active node-hours, normalised)",
    }
    if c.name == "weighted":
        terms = " + ".join(f"{w:g} × [{k}: {parts[k]}]" for k, w in c.weights.items())
        return f"weighted: {terms}"
    return f"{c.name}: {parts[c.name]}"


def current_allocation(cluster) -> dict[str, float]:
    """The allocated share of cpu and GPU now (an envs.cluster.ClusterState)."""
    return {"cpu": cluster.allocation_ratio("cpu"), "gpu": cluster.allocation_ratio("nvidia.com/gpu")}


def make_reward(config: RewardConfig | dict | None, horizon: float, num_nodes: int) -> IntegralReward:
    """The reward function a scenario's `reward:` section describes."""
    if not isinstance(config, RewardConfig):
        config = RewardConfig.model_validate(config or {})
    return IntegralReward(config, horizon, num_nodes)
