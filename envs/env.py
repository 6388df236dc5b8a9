"""PodSchedulingEnv: the Gymnasium environment. It only wires the parts together: a scenario (cluster and
workload generators), the simulator, the feature encoder, a reward function and a viewer."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.features import NUM_NODE_FEATURES, NUM_POD_FEATURES, FeatureEncoder, simulation_context
from envs.kube.errors import KubeObjectError
from envs.rewards import RewardFn, RewardState, current_allocation, make_reward
from envs.scenario import BuiltScenario, Scenario, build_scenario, load_scenario
from envs.simulator import Simulator

try:
    from envs.compiled import kernels
    from envs.compiled.engine import CompiledEpisode, unsupported_features
except ImportError:  # numba missing: the Python engine only
    kernels = None
    CompiledEpisode = None

    def unsupported_features(scenario: Scenario, reward_fn: Any) -> list[str]:
        return ["env.engine: numba is not installed"]


ENV_ID = "podgym/PodScheduling-v0"


class PodSchedulingEnv(gym.Env):
    """Place the pods of a simulated Kubernetes cluster, one scheduling decision per step.

    ## Description
    A discrete-event simulation of a cluster (nodes with cpu, memory, GPUs, labels and taints) that
    decides exactly as kube-scheduler v1.35 does what fits where. Pods arrive, wait in a priority queue,
    run for their lifetime and leave; nodes may fail and recover. At each step the agent binds the pod at
    the head of the queue to a node. Pods that fit nowhere wait without asking the agent and are retried
    when resources are freed.

    ## Action Space
    `Discrete(max_nodes)`, or `Discrete(max_nodes + 1)` with `env.allow_pending` (the last action leaves the
    pod pending). Only nodes where the pod passes every Filter plugin are allowed: see
    `observation["action_mask"]` and `action_masks()` (for sb3-contrib's MaskablePPO). An action that is not
    allowed, or outside the space, never raises; `env.invalid_action.rule` decides: `penalty` (default)
    pays `-penalty`, leaves the state unchanged and, after `max_consecutive` in a row, truncates the
    episode; `terminate` pays `-penalty` and ends the episode.

    ## Observation Space
    A `Dict`:

    | key | shape | dtype | content |
    |---|---|---|---|
    | `nodes` | (max_nodes, 20) | float32 | node features (`envs.features.NODE_FEATURES`); padding rows are 0 |
    | `pod` | (7,) | float32 | the pending pod and its context (`envs.features.POD_FEATURES`) |
    | `action_mask` | (n_actions,) | int8 | 1 for the allowed actions |

    Features are ratios in [0, 1] (a few in [-1, 1]); see the table in the README.

    ## Rewards
    From `envs.rewards` (the scenario's `reward:` section): packing (default), spreading, waiting, energy,
    or a weighted sum, each in a dense or a sparse form with the same episode return.

    ## Starting State
    An empty cluster (or a snapshot's running pods), the workload generated from the episode's seed, and
    the simulation advanced to the first pod that fits somewhere.

    ## Episode End
    Terminated when the workload is exhausted (no event is left; pods that never fit stay pending).
    Truncated when the scenario's horizon is reached with events left, or after too many invalid actions
    in a row. `info["metrics"]` then holds the run's `envs.metrics.Summary` (and `info["episode_metrics"]`
    at every step would be too costly, so only the last step carries it).

    ## Arguments
    `scenario`: a name under configs/scenarios/ or a YAML path. `overrides`: dotted keys, e.g.
    `{"simulation.horizon": 3600}`. Any other keyword replaces a top-level scenario section or field,
    e.g. `reward={"name": "waiting"}`, `env={"allow_pending": True}`, `seed=3`. `render_mode`: "ansi" or
    "rgb_array".

    ## Engines
    `env.engine` picks what runs an episode: `python` (`envs.simulator.Simulator`), `compiled` (numba kernels,
    `envs.compiled`, about 10x faster) or `auto` (default: compiled where the scenario allows it). Both give
    the same observations, rewards, infos and metrics, bit for bit. The compiled engine does not run node
    failures, the autoscaler, cluster snapshots or a custom `reward_fn`: `auto` then uses Python and
    `compiled` raises an error naming the field. `env.engine_name` says which engine runs the current
    episode. Reading `env.sim` hands the episode to the Python engine (the same state, so outside code may
    observe or change the simulator); the episode goes on there.

    ## Example
    ```python
    import gymnasium as gym
    import envs  # registers podgym/PodScheduling-v0
    env = gym.make("podgym/PodScheduling-v0", scenario="default")
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(int(np.flatnonzero(obs["action_mask"])[0]))
    ```
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(
        self,
        scenario: str | Path | Scenario = "default",
        *,
        render_mode: str | None = None,
        overrides: dict[str, Any] | None = None,
        reward_fn: RewardFn | None = None,
        **sections: Any,
    ):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.render_mode = render_mode
        if isinstance(scenario, Scenario):
            self.scenario, self._base = scenario, Path.cwd()
        else:
            merged = dict(overrides or {})
            merged.update(sections)
            self.scenario, path = load_scenario(scenario, merged)
            self._base = path.parent
        self._source = None if isinstance(scenario, Scenario) else str(path)
        self._built: BuiltScenario = self._build(None)
        self._workload_seed = self.scenario.seed
        num_nodes = len(self._built.cluster.nodes)
        cfg = self.scenario.env
        self.max_nodes = cfg.max_nodes or num_nodes
        if self.max_nodes < num_nodes:
            raise KubeObjectError(
                f"{self.max_nodes} is smaller than the cluster ({num_nodes} nodes)",
                obj="Scenario",
                field="env.max_nodes",
                source=self._source,
            )
        self.num_nodes = num_nodes
        self.pending_action = self.max_nodes if cfg.allow_pending else None
        n_actions = self.max_nodes + (1 if cfg.allow_pending else 0)
        self.action_space = spaces.Discrete(n_actions)
        self.observation_space = spaces.Dict(
            {
                "nodes": spaces.Box(-1.0, 1.0, (self.max_nodes, NUM_NODE_FEATURES), np.float32),
                "pod": spaces.Box(-1.0, 1.0, (NUM_POD_FEATURES,), np.float32),
                "action_mask": spaces.Box(0, 1, (n_actions,), np.int8),
            }
        )
        self.reward_fn: RewardFn = reward_fn or make_reward(
            self.scenario.reward, self.scenario.simulation.horizon, num_nodes
        )
        self._unsupported = unsupported_features(self.scenario, self.reward_fn)
        if cfg.engine == "compiled" and self._unsupported:
            raise KubeObjectError(
                "engine 'compiled' does not run this scenario: " + "; ".join(self._unsupported),
                obj="Scenario",
                field="env.engine",
                source=self._source,
            )
        self._compiled = cfg.engine != "python" and not self._unsupported
        self._sim: Simulator | None = None
        self._episode: CompiledEpisode | None = None
        self._viewer = None

    @property
    def sim(self) -> Simulator | None:
        """The episode's simulator. Under the compiled engine, reading it hands the episode to the Python engine."""
        if self._episode is not None:
            self._hand_over()
        return self._sim

    @sim.setter
    def sim(self, value: Simulator | None) -> None:
        self._episode = None
        self._sim = value

    @property
    def engine_name(self) -> str:
        """The engine that runs the current episode: "compiled" or "python"."""
        return "compiled" if self._episode is not None else "python"

    @property
    def current_pod(self) -> int | None:
        """The index (in the simulator's workload) of the pod the next action places; None after the episode."""
        return self._pod

    # ---- Gymnasium API -----------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is None and self._np_random is None:
            seed = self.scenario.seed  # the first episode of an unseeded env is the scenario's own seed
        super().reset(seed=seed)
        # The workload of an episode is a function of its seed: reset(seed=s) replays the same episode.
        workload_seed = int(self.np_random.integers(2**31 - 1))
        if workload_seed != self._workload_seed or self.sim is None:
            self._built = self._build(workload_seed)
            self._workload_seed = workload_seed
        b = self._built
        self._invalid_streak = 0
        self._done = False
        self._truncated = False
        if self._compiled:
            self._sim = None
            self._episode = CompiledEpisode(
                b, workload_seed, self.reward_fn, self.max_nodes, int(self.action_space.n), self.pending_action
            )
            obs, _, _ = self._compiled_step(kernels.START)
            return obs, self._compiled_info()
        self._episode = None
        self._sim = Simulator(b.cluster, b.workload, b.options, b.profile, seed=workload_seed)
        self._sim.metrics.track_node_stats = getattr(self.reward_fn, "needs_node_stats", True)
        self.encoder = FeatureEncoder(self._sim.cluster)
        self._pod: int | None = None
        self._mask = np.zeros(self.action_space.n, dtype=np.int8)
        self._reward_state = RewardState(0.0, dict.fromkeys(self._sim.metrics.integrals, 0.0))
        self._next_decision()
        return self._observation(), self._info()

    def step(self, action):
        if self._sim is None and self._episode is None:
            raise RuntimeError("call reset() before step()")
        if self._done:
            raise RuntimeError("the episode has ended: call reset() before step()")
        a = int(action) if isinstance(action, (int, np.integer)) or np.ndim(action) == 0 else -1
        if self._episode is not None:
            obs, reward, invalid = self._compiled_step(a if abs(a) < kernels.ACTION_LIMIT else -1)
            info = self._compiled_info()
            if invalid:
                info["invalid_action"] = True
            return obs, reward, self._done and not self._truncated, self._truncated, info
        valid = 0 <= a < self.action_space.n and self._mask[a] == 1
        if not valid:
            return self._invalid(a)
        self._invalid_streak = 0
        if a == self.pending_action:
            self.sim.defer()
        else:
            self.sim.bind(a)
        self._next_decision()
        state = self._reward_state
        self._reward_state = self._current_reward_state()
        reward = float(self.reward_fn(state, a, self._reward_state, True, self._done))
        return self._observation(), reward, self._done and not self._truncated, self._truncated, self._info()

    def action_masks(self) -> np.ndarray:
        """The allowed actions as booleans (sb3-contrib MaskablePPO reads this)."""
        if self._episode is not None:
            return self._episode.mask().astype(bool)
        return self._mask.astype(bool)

    def render(self):
        if self.render_mode is None or self.sim is None:
            return None
        from envs.viewer import render_ansi, render_rgb

        pod = self.sim.request(self._pod) if self._pod is not None else None
        if self.render_mode == "ansi":
            return render_ansi(self.sim, pod)
        return render_rgb(self.sim, pod)

    def close(self):
        self._viewer = None

    # ---- the compiled engine -----------------------------------------------------------------
    def _compiled_step(self, action: int) -> tuple[dict[str, np.ndarray], float, bool]:
        """One step of the compiled episode (kernels.START: its first decision): (observation, reward, invalid)."""
        ep = self._episode
        nodes = np.empty((1, self.max_nodes, NUM_NODE_FEATURES), dtype=np.float32)
        pod = np.empty((1, NUM_POD_FEATURES), dtype=np.float32)
        mask = np.empty((1, self.action_space.n), dtype=np.int8)
        reward = ep.step(action, nodes, pod, mask)
        invalid = bool(ep.ib[kernels.INVALID])
        self._after_compiled_step()
        return {"nodes": nodes[0], "pod": pod[0], "action_mask": mask[0]}, reward, invalid

    def _after_compiled_step(self) -> None:
        """Read the episode's flags."""
        ib = self._episode.ib
        self._pod = self._episode.current
        self._invalid_streak = int(ib[kernels.STREAK])
        self._done, self._truncated = bool(ib[kernels.DONE]), bool(ib[kernels.TRUNCATED])

    def _compiled_info(self) -> dict[str, Any]:
        if self._episode is None:
            return self._info()
        info = self._episode.info()
        if self._done:
            info["metrics"] = self._episode.summary().as_dict()
        return info

    def _hand_over(self) -> None:
        """Continue the episode on the Python engine from the compiled engine's exact state."""
        ep = self._episode
        self._episode = None
        self._sim = sim = ep.materialize()
        self.encoder = FeatureEncoder(sim.cluster)
        self._pod = ep.current
        self._mask = ep.mask().astype(np.int8)
        if self._pod is not None:
            self._feasible = sim.feasible()
        self._reward_state = ep.reward_state()
        self._invalid_streak = int(ep.ib[kernels.STREAK])
        self._done, self._truncated = bool(ep.ib[kernels.DONE]), bool(ep.ib[kernels.TRUNCATED])

    # ---- internals ---------------------------------------------------------------------------
    def _build(self, seed: int | None) -> BuiltScenario:
        try:
            return build_scenario(self.scenario, self._base, seed)
        except KubeObjectError as exc:
            raise exc.within(source=self._source) from None

    def _next_decision(self) -> None:
        """Advance the simulation to the next pod that fits somewhere (others wait on their own)."""
        sim = self.sim
        while True:
            i = sim.next_pod()
            if i is None:
                self._pod = None
                self._done = True
                self._truncated = sim.truncated
                self._mask = np.zeros(self.action_space.n, dtype=np.int8)
                self._mask[0] = 1  # a placeholder after the end, so that a masked distribution stays defined
                return
            feasible = sim.feasible()
            if feasible.any():
                self._pod, self._feasible = i, feasible
                mask = np.zeros(self.action_space.n, dtype=np.int8)
                mask[: self.num_nodes] = feasible
                if self.pending_action is not None:
                    mask[self.pending_action] = 1
                self._mask = mask
                return
            sim.defer()

    def _current_reward_state(self) -> RewardState:
        # A run cut by the horizon counts until the horizon: the last state holds until then.
        t = self.sim.options.horizon_s if self._done and self.sim.truncated else self.sim.now
        return RewardState(t, self.sim.metrics.integrals_until(t), current_allocation(self.sim.cluster))

    def _invalid(self, a: int):
        rule = self.scenario.env.invalid_action
        self._invalid_streak += 1
        terminated = rule.rule == "terminate"
        truncated = not terminated and self._invalid_streak >= rule.max_consecutive
        reward = -rule.penalty
        if terminated or truncated:
            self._done, self._truncated = True, truncated
            # The objective is settled when the episode ends, here too (a sparse reward pays it now).
            state, self._reward_state = self._reward_state, self._current_reward_state()
            reward += float(self.reward_fn(state, a, self._reward_state, False, True))
        info = self._info()
        info["invalid_action"] = True
        return self._observation(), reward, terminated, truncated, info

    def _observation(self) -> dict[str, np.ndarray]:
        nodes = np.zeros((self.max_nodes, NUM_NODE_FEATURES), dtype=np.float32)
        pod = np.zeros(NUM_POD_FEATURES, dtype=np.float32)
        if self._pod is not None:
            request = self.sim.request(self._pod)
            nodes[: self.num_nodes] = self.encoder.nodes(request, self._feasible)
            pod = self.encoder.pod(request, *simulation_context(self.sim))
        return {"nodes": nodes, "pod": pod, "action_mask": self._mask.copy()}

    def _info(self) -> dict[str, Any]:
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
