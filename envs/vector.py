"""Many clusters stepped together: a Gymnasium VectorEnv (``agents.vec_env.SB3VecEnv`` adapts it to SB3).

``PodSchedulingVectorEnv`` holds `num_envs` PodSchedulingEnv instances of one scenario (each its own
seed stream) and steps them in one call, with observations batched into arrays: for evaluation
loops, and for training through ``agents.vec_env.SB3VecEnv`` (MaskablePPO reads ``env_method("action_masks")``).
Episodes reset in the same step that ends them (Gymnasium's SAME_STEP autoreset): the returned
observation is the new episode's first; the last one is in ``infos["final_obs"]`` and the last step's
info (with the episode's ``metrics``) in ``infos["final_info"]``. Infos follow Gymnasium's vector
convention exactly as ``gymnasium.vector.SyncVectorEnv`` builds them: a dict of arrays, one entry per
env, with a boolean mask ``infos["_key"]`` of the envs that have `key` (``unbatch_info`` gives one env's).

Under the compiled engine (``env.engine``, see PodSchedulingEnv) the episodes' buffers are rows of two
[num_envs, length] arrays and one kernel call steps every cluster, writing the batched observations in
place; only the infos, the end of an episode and the resets run in Python. ``threads=N`` spreads that call
over numba's OpenMP threads: faster, with the same results, but that pool is not fork-safe (fork worker
processes before using it, or start them with spawn/forkserver) and, when it starts, it sets the process's
OpenMP thread count, which torch reads (set torch's after).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from podgym.envs.env import PodSchedulingEnv

try:
    from podgym.envs.compiled import kernels
    from podgym.envs.compiled.engine import CompiledEpisode
except ImportError:  # numba missing: every env runs the Python engine
    kernels = CompiledEpisode = None


class PodSchedulingVectorEnv(VectorEnv):
    """`num_envs` independent clusters of one scenario, stepped together (arguments as PodSchedulingEnv)."""

    metadata: ClassVar[dict[str, Any]] = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}

    def __init__(self, scenario: Any = "default", num_envs: int = 8, *, threads: int = 1, **kwargs: Any):
        if num_envs < 1:
            raise ValueError(f"num_envs must be at least 1, got {num_envs}")
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        # Under the compiled engine, > 1 steps the clusters on numba's OpenMP threads (see kernels.step_all).
        self.threads = threads
        self.envs = [PodSchedulingEnv(scenario, **kwargs) for _ in range(num_envs)]
        self.num_envs = num_envs
        self.single_observation_space = self.envs[0].observation_space
        self.single_action_space = self.envs[0].action_space
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._keys = list(self.single_observation_space.spaces)
        # The compiled episodes' buffers, one row per env (grown when a new episode needs more room).
        self._ibuf = np.zeros((num_envs, 0), dtype=np.int64)
        self._fbuf = np.zeros((num_envs, 0), dtype=np.float64)
        self._rows: list[Any] = [None] * num_envs  # the episode that lives in each row
        self._names = np.full((num_envs, 0), None, dtype=object)  # each row's pod names, for the infos
        self._env_index = np.arange(num_envs)

    def _stack(self, observations: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        return {k: np.stack([o[k] for o in observations]) for k in self._keys}

    def reset(self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None):
        """Reset every cluster; an int seed gives env i the seed `seed + i`."""
        seeds = seed if isinstance(seed, list) else [None if seed is None else seed + i for i in range(self.num_envs)]
        results = [env.reset(seed=s, options=options) for env, s in zip(self.envs, seeds)]
        for k in range(self.num_envs):
            self._adopt(k)
        infos: dict[str, Any] = {}
        for k, (_, info) in enumerate(results):
            infos = self._add_info(infos, info, k)
        return self._stack([o for o, _ in results]), infos

    def _adopt(self, k: int) -> None:
        """Move env k's compiled episode (if it has one) into row k of the shared buffers."""
        ep = self.envs[k].engine
        if CompiledEpisode is None or not isinstance(ep, CompiledEpisode):
            self._rows[k] = None
            return
        ni, nf = len(ep.ib), len(ep.fb)
        if ni > self._ibuf.shape[1] or nf > self._fbuf.shape[1]:
            wi = max(ni, self._ibuf.shape[1]) + max(ni, self._ibuf.shape[1]) // 4
            wf = max(nf, self._fbuf.shape[1]) + max(nf, self._fbuf.shape[1]) // 4
            ibuf = np.zeros((self.num_envs, wi), dtype=np.int64)
            fbuf = np.zeros((self.num_envs, wf), dtype=np.float64)
            ibuf[:, : self._ibuf.shape[1]] = self._ibuf
            fbuf[:, : self._fbuf.shape[1]] = self._fbuf
            self._ibuf, self._fbuf = ibuf, fbuf
            for j, row in enumerate(self._rows):
                if row is not None:
                    row.rebind(ibuf[j], fbuf[j])
        self._ibuf[k, :ni] = ep.ib
        self._fbuf[k, :nf] = ep.fb
        ep.rebind(self._ibuf[k], self._fbuf[k])
        self._rows[k] = ep
        if len(ep.names) > self._names.shape[1]:
            grown = np.full((self.num_envs, len(ep.names) + len(ep.names) // 4), None, dtype=object)
            grown[:, : self._names.shape[1]] = self._names
            self._names = grown
        self._names[k, : len(ep.names)] = ep.names

    def step(self, actions):
        actions = np.asarray(actions).reshape(self.num_envs)
        # Reading an env's `sim` hands its episode to the Python engine: then this step runs env by env.
        if None not in self._rows and [env.engine for env in self.envs] == self._rows:
            return self._step_compiled(actions)
        observations, rewards = [], np.zeros(self.num_envs, dtype=np.float64)
        terminated = np.zeros(self.num_envs, dtype=bool)
        truncated = np.zeros(self.num_envs, dtype=bool)
        infos: dict[str, Any] = {}
        for k, (env, a) in enumerate(zip(self.envs, actions)):
            obs, rewards[k], terminated[k], truncated[k], info = env.step(int(a))
            if terminated[k] or truncated[k]:
                infos = self._add_info(infos, {"final_obs": obs, "final_info": info}, k)
                obs, info = env.reset()
                self._adopt(k)
            infos = self._add_info(infos, info, k)
            observations.append(obs)
        return self._stack(observations), rewards, terminated, truncated, infos

    def _step_compiled(self, actions: np.ndarray):
        """Every cluster in one kernel call; Python only builds the infos and ends and resets episodes."""
        e, env0 = self.num_envs, self.envs[0]
        limit = kernels.ACTION_LIMIT  # beyond it, an action is invalid anyway; kernels.START is reserved
        if actions.dtype == np.int64 and ((actions > -limit) & (actions < limit)).all():
            acts = actions  # the common case, as it is
        else:
            if actions.dtype.kind in "iu":
                acts = actions.astype(np.int64)  # a value beyond int64 wraps to a negative, invalid action as well
            else:
                acts = np.array([int(a) for a in actions.tolist()], dtype=object)
            acts = np.where((acts > -limit) & (acts < limit), acts, -1).astype(np.int64)
        nodes = np.empty((e, env0.max_nodes, env0.observation_space["nodes"].shape[1]), dtype=np.float32)
        pods = np.empty((e, env0.observation_space["pod"].shape[0]), dtype=np.float32)
        masks = np.empty((e, env0.action_space.n), dtype=np.int8)
        rewards = np.empty(e, dtype=np.float64)
        ib, fb = self._ibuf, self._fbuf
        kernels.step_all(ib, fb, acts, nodes, pods, masks, rewards, self.threads)
        current = ib[:, kernels.CURRENT]
        done = ib[:, kernels.DONE].astype(bool)
        truncated = ib[:, kernels.TRUNCATED].astype(bool) & done
        terminated = done & ~truncated
        invalid = ib[:, kernels.INVALID].astype(bool)
        # The infos PodSchedulingEnv.step gives, batched as Gymnasium's _add_info would batch them.
        names = self._names[self._env_index, np.maximum(current, 0)]
        names[current < 0] = None
        infos: dict[str, Any] = {
            "time": fb[:, kernels.NOW].copy(),
            "pending": ib[:, kernels.NQ] + ib[:, kernels.USN] + (current >= 0),
            "running": ib[:, kernels.RUNNING].copy(),
            "pod": names,
        }
        for key in list(infos):
            infos[f"_{key}"] = np.ones(e, dtype=bool)
        live_invalid = invalid & ~done  # an ended env's top-level info is its new episode's reset info
        if live_invalid.any():
            infos["invalid_action"], infos["_invalid_action"] = live_invalid.copy(), live_invalid.copy()
        for k in np.flatnonzero(done).tolist():
            env = self.envs[k]
            info = env.engine.info()
            if invalid[k]:
                info["invalid_action"] = True
            final = {"nodes": nodes[k].copy(), "pod": pods[k].copy(), "action_mask": masks[k].copy()}
            infos = self._add_info(infos, {"final_obs": final, "final_info": info}, k)
            obs, reset_info = env.reset()
            self._adopt(k)
            nodes[k], pods[k], masks[k] = obs["nodes"], obs["pod"], obs["action_mask"]
            infos = self._add_info(infos, reset_info, k)
        observations = {"nodes": nodes, "pod": pods, "action_mask": masks}
        return observations, rewards, terminated, truncated, infos

    def action_masks(self) -> np.ndarray:
        """[num_envs, n_actions] booleans."""
        return np.stack([env.action_masks() for env in self.envs])

    def close_extras(self, **kwargs: Any) -> None:
        for env in self.envs:
            env.close()


def unbatch_info(infos: dict[str, Any], k: int) -> dict[str, Any]:
    """Env `k`'s info out of Gymnasium's batched infos: the keys whose mask ``_key`` is set for `k`,
    with numpy scalars as Python numbers (as the single env gives them)."""
    out: dict[str, Any] = {}
    for key, value in infos.items():
        mask = infos.get(f"_{key}")
        if key.startswith("_") or mask is None or not mask[k]:
            continue
        item = unbatch_info(value, k) if isinstance(value, dict) else value[k]
        out[key] = item.item() if isinstance(item, np.generic) else item
    return out
