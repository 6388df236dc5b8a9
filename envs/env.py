"""PodSchedulingEnv: the Gymnasium environment. It only wires the parts together: a scenario (cluster and
workload generators), an engine that runs the episode (``envs.engine``: the Python simulator or the compiled
kernels), a reward function and a viewer."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from podgym.envs.engine import Engine, EpisodeSpec, PythonEngine
from podgym.envs.features import NUM_NODE_FEATURES, NUM_POD_FEATURES
from podgym.envs.kube.errors import ConfigError, KubeObjectError
from podgym.envs.kube.profile import Profile
from podgym.envs.rewards import RewardFn, make_reward
from podgym.envs.scenario import BuiltScenario, Scenario, build_scenario, load_scenario, require_pods
from podgym.envs.simulator import Simulator, may_preempt

try:
    from podgym.envs.compiled.engine import CompiledEpisode, unsupported_features
except ImportError:  # numba missing: the Python engine only
    CompiledEpisode = None

    def unsupported_features(
        scenario: Scenario, reward_fn: Any, profile: Any = None, templates: Any = None, preempts: bool = False
    ) -> list[str]:
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
    the simulation advanced to the first pod that fits somewhere. A scenario without pods to place is an
    error at construction; an episode in which no pod ever fits a node is an error from `reset()`, which
    never returns a finished episode.

    ## Episode End
    Terminated when the workload is exhausted (no event is left; pods that never fit stay pending). Once
    the episode has ended there is no pod: the observation's features are 0 and the mask is all false.
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
    the same observations, rewards, infos and metrics, bit for bit, behind one protocol (`envs.engine.Engine`;
    `env.engine` is the current episode's). The compiled engine runs only what its kernels declare
    (`envs.compiled.engine.COVERAGE`: Filter plugins, reward signals, the feature version; no node failures,
    autoscaler, cluster snapshots or custom `reward_fn`): `auto` then uses Python and `compiled` raises an
    error naming the field. `env.engine_name` says which engine runs the current episode. Reading `env.sim`
    hands the episode to the Python engine (`Engine.to_python`: the same state, so outside code may observe or
    change the simulator); the episode goes on there.

    ## Example
    ```python
    import gymnasium as gym
    import podgym.envs as envs  # registers podgym/PodScheduling-v0
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
        try:
            require_pods(self._built)
        except KubeObjectError as exc:
            raise exc.within(source=self._source) from None
        self._workload_seed = self.scenario.seed
        num_nodes = len(self._built.cluster.nodes)
        cfg = self.scenario.env
        self.max_nodes = cfg.max_nodes or num_nodes
        if self.max_nodes < num_nodes:
            raise ConfigError(
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
        # A time-integral objective (every one but `allocation`) over an episode whose clock never moves is 0 for
        # any policy: said once, when an episode ends so (a snapshot whose pods are all placed at time 0).
        reward = self.scenario.reward
        point = reward.name == "allocation" or (reward.name == "weighted" and reward.weights.get("allocation"))
        self._warn_at_time_0 = reward_fn is None and not point
        self._unsupported = unsupported_features(
            self.scenario,
            self.reward_fn,
            self._built.profile,
            _templates(self._built),
            may_preempt(self._built.options, self._built.profile, self._built.workload),
        )
        if cfg.engine == "compiled" and self._unsupported:
            raise ConfigError(
                "engine 'compiled' does not run this scenario: " + "; ".join(self._unsupported),
                obj="Scenario",
                field="env.engine",
                source=self._source,
            )
        self._compiled = cfg.engine != "python" and not self._unsupported
        self.engine: Engine | None = None  # the current episode's engine

    @property
    def sim(self) -> Simulator | None:
        """The episode's simulator. Under the compiled engine, reading it hands the episode to the Python engine."""
        if self.engine is None:
            return None
        if not isinstance(self.engine, PythonEngine):
            self.engine = self.engine.to_python()
        return self.engine.sim

    @property
    def profile(self) -> Profile:
        """The scheduling profile of the scenario (its `scheduler.config`, else kube-scheduler's default): what
        the env's Filter mask applies, and what a kube-default baseline should score with."""
        return self._built.profile

    @property
    def engine_name(self) -> str:
        """The engine that runs the current episode: "compiled" or "python"."""
        return self.engine.name if self.engine is not None else "python"

    @property
    def pod(self) -> int | None:
        """The index (in the episode's simulator) of the pod being decided; None once the episode is over."""
        return self.engine.pod if self.engine is not None else None

    # ---- Gymnasium API -----------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is None and self._np_random is None:
            seed = self.scenario.seed  # the first episode of an unseeded env is the scenario's own seed
        super().reset(seed=seed)
        # The workload of an episode is a function of its seed: reset(seed=s) replays the same episode.
        workload_seed = int(self.np_random.integers(2**31 - 1))
        if workload_seed != self._workload_seed or self.engine is None:
            self._built = self._build(workload_seed)
            self._workload_seed = workload_seed
        spec = EpisodeSpec(
            self._built, workload_seed, self.reward_fn, self.max_nodes, int(self.action_space.n), self.pending_action
        )
        compiled = self._compiled
        if compiled:
            # Each seed's workload is checked: it may hold pods that a Filter the kernels lack can reject.
            unsupported = unsupported_features(
                self.scenario,
                self.reward_fn,
                self._built.profile,
                _templates(self._built),
                may_preempt(self._built.options, self._built.profile, self._built.workload),
            )
            if unsupported and self.scenario.env.engine == "compiled":
                raise ConfigError(
                    "engine 'compiled' does not run this episode: " + "; ".join(unsupported),
                    obj="Scenario",
                    field="env.engine",
                    source=self._source,
                )
            compiled = not unsupported
        self.engine = CompiledEpisode(spec) if compiled else PythonEngine(spec)
        obs = self.engine.reset()
        self._require_decision(workload_seed)
        return obs, self.engine.info()

    def step(self, action):
        engine = self.engine
        if engine is None:
            raise RuntimeError("call reset() before step()")
        if engine.done:
            raise RuntimeError("the episode has ended: call reset() before step()")
        a = int(action) if isinstance(action, (int, np.integer)) or np.ndim(action) == 0 else -1
        obs, reward, invalid = engine.step(a)
        info = engine.info()
        if invalid:
            info["invalid_action"] = True
        done, truncated = engine.done, engine.truncated
        if done and self._warn_at_time_0 and info["time"] == 0:
            self._warn_at_time_0 = False
            warnings.warn(
                f"scenario {self.scenario.name!r}: the episode ended at simulated time 0 (every pod placed as it "
                f"arrived), so the reward {self.scenario.reward.name!r}, a time integral, is 0 whatever the policy "
                "did; `reward: {name: allocation}` pays the allocation the episode ends with",
                stacklevel=2,
            )
        return obs, reward, done and not truncated, truncated, info

    def action_masks(self) -> np.ndarray:
        """The allowed actions as booleans (sb3-contrib MaskablePPO reads this)."""
        return self.engine.mask().astype(bool)

    def render(self):
        if self.render_mode is None or self.sim is None:
            return None
        from podgym.envs.viewer import render_ansi, render_rgb

        pod = self.sim.request(self.pod) if self.pod is not None else None
        if self.render_mode == "ansi":
            return render_ansi(self.sim, pod)
        return render_rgb(self.sim, pod)

    # ---- internals ---------------------------------------------------------------------------
    def _require_decision(self, workload_seed: int) -> None:
        """reset() never hands out a finished episode: one without a single decision is an error that says why."""
        if not self.engine.done:
            return
        pods = len(self._built.workload)
        raise KubeObjectError(
            f"scenario {self.scenario.name!r} (workload seed {workload_seed}): the episode has no decision to make: "
            f"none of its {pods} pod(s) fits any node before the episode ends (they stay pending; "
            "`python -m podgym.envs.kube explain` says why a pod fits nowhere)",
            obj="Scenario",
            field="workload",
            source=self._source,
        )

    def _build(self, seed: int | None) -> BuiltScenario:
        try:
            return build_scenario(self.scenario, self._base, seed)
        except KubeObjectError as exc:
            raise exc.within(source=self._source) from None


def _templates(built: BuiltScenario) -> list:
    """The pod templates of a built scenario's workload and of its snapshot's bound pods."""
    templates = list(built.workload.templates)
    if built.cluster.initial is not None:
        templates += built.cluster.initial.templates
    return templates
