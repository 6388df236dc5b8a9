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
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, Protocol

from pydantic import Field, model_validator

from envs.workload._fields import StrictModel

OBJECTIVES = ("packing", "allocation", "spreading", "waiting", "energy")


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


class RewardConfig(StrictModel):
    """The scenario's `reward:` section."""

    name: Literal["packing", "allocation", "spreading", "waiting", "energy", "weighted"] = "packing"
    form: Literal["dense", "sparse"] = "dense"
    weights: dict[Literal["packing", "allocation", "spreading", "waiting", "energy"], float] = Field(
        default_factory=dict
    )
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
        self.needs_node_stats = "spreading" in self.weights or (
            "packing" in self.weights and config.fragmentation_weight > 0
        )

    def objective(self, name: str, s: RewardState) -> float:
        """One objective's value accumulated up to state `s`."""
        i, c = s.integrals, self.config
        if name == "packing":
            share = (c.gpu_weight * i.get("gpu", 0.0) + c.cpu_weight * i.get("cpu", 0.0)) / (
                c.gpu_weight + c.cpu_weight
            )
            return (share - c.fragmentation_weight * i.get("fragmentation", 0.0)) / self.scale
        if name == "allocation":
            cur = s.current
            return (c.gpu_weight * cur.get("gpu", 0.0) + c.cpu_weight * cur.get("cpu", 0.0)) / (
                c.gpu_weight + c.cpu_weight
            )
        if name == "spreading":
            return -i.get("imbalance_cpu", 0.0) / self.scale
        if name == "waiting":
            return -i.get("pending", 0.0) / (self.scale * self.num_nodes)
        if name == "energy":
            return -i.get("active_nodes", 0.0) / (self.scale * self.num_nodes)
        raise ValueError(f"unknown objective {name!r}; known: {', '.join(OBJECTIVES)}")

    def potential(self, s: RewardState) -> float:
        """Φ(s): the weighted objectives accumulated up to `s`."""
        return sum(w * self.objective(k, s) for k, w in self.weights.items())

    def __call__(
        self, state: RewardState, action: int, next_state: RewardState, is_valid: bool, is_done: bool
    ) -> float:
        if self.config.form == "dense":
            return self.potential(next_state) - self.potential(state)
        return self.potential(next_state) if is_done else 0.0


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
