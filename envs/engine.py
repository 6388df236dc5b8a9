"""The engines that run an episode of ``PodSchedulingEnv``, behind one protocol.

``PythonEngine`` drives ``envs.simulator.Simulator`` one decision at a time; ``envs.compiled.CompiledEpisode``
runs the same episode in numba kernels, bit for bit the same. The env wires one of them per episode and holds
neither's logic. ``to_python()`` is the explicit hand-over: an engine gives a PythonEngine in its exact state
(the compiled engine builds it with ``Simulator.from_state``), and the episode goes on there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from podgym.envs.features import NUM_NODE_FEATURES, NUM_POD_FEATURES, FeatureEncoder, simulation_context
from podgym.envs.fragmentation import typical_pods
from podgym.envs.metrics import Summary
from podgym.envs.rewards import RewardFn, RewardState, current_allocation
from podgym.envs.scenario import BuiltScenario
from podgym.envs.simulator import Simulator

Observation = dict[str, np.ndarray]


@dataclass(frozen=True)
class EpisodeSpec:
    """What an engine needs to run one episode: the built scenario, the episode's seed, the reward and the spaces."""

    built: BuiltScenario
    seed: int
    reward_fn: RewardFn
    max_nodes: int
    n_actions: int
    pending_action: int | None  # the "leave pending" action, None when not allowed


class Engine(Protocol):
    """One episode: ``reset`` to its first decision, then ``step`` per action until ``done``."""

    name: str

    @property
    def done(self) -> bool:
        """The episode has ended (terminated or truncated)."""
        ...

    @property
    def truncated(self) -> bool: ...

    @property
    def pod(self) -> int | None:
        """The pod being decided (None once the episode is over)."""
        ...

    @property
    def invalid_streak(self) -> int:
        """Invalid actions in a row."""
        ...

    def reset(self) -> Observation:
        """Advance to the first decision and observe it."""
        ...

    def step(self, action: int) -> tuple[Observation, float, bool]:
        """Apply `action` (any int; one the mask does not allow is invalid): (observation, reward, invalid)."""
        ...

    def mask(self) -> np.ndarray:
        """The allowed actions (int8 [n_actions])."""
        ...

    def info(self) -> dict[str, Any]:
        """time, pending, running and the pod's name; once done, the run's ``metrics`` too."""
        ...

    def metrics(self) -> Summary:
        """The run's metrics so far (reading them changes nothing)."""
        ...

    def to_python(self) -> PythonEngine:
        """The same episode in the same state on the Python engine."""
        ...


class PythonEngine:
    """An episode on ``envs.simulator.Simulator``: the reference every other engine equals bit for bit."""

    name = "python"

    def __init__(self, spec: EpisodeSpec, sim: Simulator | None = None):
        self.spec = spec
        if sim is None:
            b = spec.built
            sim = Simulator(b.cluster, b.workload, b.options, b.profile, seed=spec.seed)
            sim.metrics.track_node_stats = getattr(spec.reward_fn, "needs_node_stats", True)
        self.sim = sim
        self.encoder = FeatureEncoder(sim.cluster, typical_pods(sim.workload), sim.rank)
        self.num_nodes = sim.cluster.num_nodes
        self.reward_state = RewardState(0.0, dict.fromkeys(sim.metrics.integrals, 0.0))
        self._pod: int | None = None
        self._feasible: np.ndarray | None = None
        self._mask = np.zeros(spec.n_actions, dtype=np.int8)
        self._streak = 0
        self._done = False
        self._truncated = False

    @classmethod
    def resume(
        cls,
        spec: EpisodeSpec,
        sim: Simulator,
        *,
        mask: np.ndarray,
        reward_state: RewardState,
        invalid_streak: int,
        done: bool,
        truncated: bool,
    ) -> PythonEngine:
        """An episode handed over mid-way: `sim` in its state (its current pod being decided), the env's mask,
        the reward state the next reward is measured from, and the episode's flags."""
        engine = cls(spec, sim)
        engine._pod = sim.current
        if engine._pod is not None:
            engine._feasible = sim.feasible()
        engine._mask = np.asarray(mask, dtype=np.int8).copy()
        engine.reward_state = reward_state
        engine._streak, engine._done, engine._truncated = invalid_streak, done, truncated
        return engine

    @property
    def done(self) -> bool:
        return self._done

    @property
    def truncated(self) -> bool:
        return self._truncated

    @property
    def pod(self) -> int | None:
        return self._pod

    @property
    def invalid_streak(self) -> int:
        return self._streak

    def reset(self) -> Observation:
        self._next_decision()
        return self.observation()

    def step(self, action: int) -> tuple[Observation, float, bool]:
        a = action
        if not (0 <= a < self.spec.n_actions and self._mask[a] == 1):
            return self._invalid(a)
        self._streak = 0
        if a == self.spec.pending_action:
            self.sim.defer()
        else:
            self.sim.bind(a)
        self._next_decision()
        state = self.reward_state
        self.reward_state = self._current_reward_state()
        reward = float(self.spec.reward_fn(state, a, self.reward_state, True, self._done))
        return self.observation(), reward, False

    def mask(self) -> np.ndarray:
        return self._mask

    def info(self) -> dict[str, Any]:
        sim = self.sim
        info: dict[str, Any] = {
            "time": sim.now,
            "pending": sim.pending,
            "running": sim.running,
            "pod": sim.request(self._pod).name if self._pod is not None else None,
        }
        if self._done:
            info["metrics"] = sim.summary().as_dict()
        return info

    def metrics(self) -> Summary:
        return self.sim.summary()

    def to_python(self) -> PythonEngine:
        return self

    def observation(self) -> Observation:
        """Node and pod features of the current pod (zeros once done) and the action mask."""
        nodes = np.zeros((self.spec.max_nodes, NUM_NODE_FEATURES), dtype=np.float32)
        pod = np.zeros(NUM_POD_FEATURES, dtype=np.float32)
        if self._pod is not None:
            request = self.sim.request(self._pod)
            nodes[: self.num_nodes] = self.encoder.nodes(request, self._feasible)
            pod = self.encoder.pod(request, *simulation_context(self.sim))
        return {"nodes": nodes, "pod": pod, "action_mask": self._mask.copy()}

    def _next_decision(self) -> None:
        """Advance the simulation to the next pod that fits somewhere (others wait on their own)."""
        sim = self.sim
        while True:
            i = sim.next_pod()
            if i is None:
                self._pod = None
                self._done = True
                self._truncated = sim.truncated
                self._mask = np.zeros(self.spec.n_actions, dtype=np.int8)  # no pod, no allowed action
                return
            feasible = sim.feasible()
            if feasible.any():
                self._pod, self._feasible = i, feasible
                mask = np.zeros(self.spec.n_actions, dtype=np.int8)
                mask[: self.num_nodes] = feasible
                if self.spec.pending_action is not None:
                    mask[self.spec.pending_action] = 1
                self._mask = mask
                return
            sim.defer()

    def _current_reward_state(self) -> RewardState:
        # A run cut by the horizon counts until the horizon: the last state holds until then.
        sim = self.sim
        t = sim.options.horizon_s if self._done and sim.truncated else sim.now
        return RewardState(t, sim.metrics.integrals_until(t), current_allocation(sim.cluster))

    def _invalid(self, a: int) -> tuple[Observation, float, bool]:
        rule = self.spec.built.scenario.env.invalid_action
        self._streak += 1
        terminated = rule.rule == "terminate"
        truncated = not terminated and self._streak >= rule.max_consecutive
        reward = -rule.penalty
        if terminated or truncated:
            self._done, self._truncated = True, truncated
            # The objective is settled when the episode ends, here too (a sparse reward pays it now).
            state, self.reward_state = self.reward_state, self._current_reward_state()
            reward += float(self.spec.reward_fn(state, a, self.reward_state, False, True))
        return self.observation(), reward, True
