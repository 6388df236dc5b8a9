"""stable-baselines3's VecEnv interface over ``envs.vector.PodSchedulingVectorEnv`` (MaskablePPO reads
``env_method("action_masks")``). It lives with the agents: envs/ never imports stable-baselines3."""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnv

from podgym.envs.env import PodSchedulingEnv
from podgym.envs.vector import PodSchedulingVectorEnv, unbatch_info


class SB3VecEnv(VecEnv):
    """stable-baselines3's VecEnv interface over a PodSchedulingVectorEnv (works with MaskablePPO)."""

    def __init__(self, vector: PodSchedulingVectorEnv):
        self.vector = vector
        super().__init__(vector.num_envs, vector.single_observation_space, vector.single_action_space)
        self._actions: np.ndarray | None = None

    def reset(self):
        seeds = [s for s in self._seeds] if any(s is not None for s in self._seeds) else None
        obs, _ = self.vector.reset(seed=seeds)
        self._reset_seeds()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self):
        obs, rewards, terminated, truncated, info = self.vector.step(self._actions)
        dones = terminated | truncated
        infos = []
        for k in range(self.num_envs):
            if dones[k]:
                item = unbatch_info(info["final_info"], k)
                item["terminal_observation"] = info["final_obs"][k]
                item["TimeLimit.truncated"] = bool(truncated[k] and not terminated[k])
            else:
                item = unbatch_info(info, k)
            infos.append(item)
        return obs, rewards.astype(np.float32), dones, infos

    def close(self) -> None:
        self.vector.close()

    def _targets(self, indices) -> list[PodSchedulingEnv]:
        return [self.vector.envs[i] for i in self._get_indices(indices)]

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        return [getattr(env, attr_name) for env in self._targets(indices)]

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        for env in self._targets(indices):
            setattr(env, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list[Any]:
        return [getattr(env, method_name)(*method_args, **method_kwargs) for env in self._targets(indices)]

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False for _ in self._targets(indices)]
