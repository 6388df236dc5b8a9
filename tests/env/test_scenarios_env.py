"""Every shipped scenario passes Gymnasium's and stable-baselines3's env checkers, and MaskablePPO trains on
the default one with action masking end to end.

The openb scenarios run on the trace embedded in envs/data (ids ending in ``real-trace``) and on the small
sample in tests/data/openb (``sample-trace``).
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from sb3_contrib import MaskablePPO
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import podgym.envs as envs
from podgym.envs.scenario import OpenbNodes, available_scenarios, load_scenario

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "openb"
SAMPLE_NODES = 5  # rows of tests/data/openb/nodes.csv
LARGE_CLUSTER = 1000  # pool clusters above this many nodes run a one-minute horizon


def _variants(name: str) -> list:
    """pytest params (scenario, overrides) of one scenario: cheap overrides, and the trace to read."""
    scenario, _ = load_scenario(name)
    c, w = scenario.cluster, scenario.workload
    if c.openb_nodes is None:
        overrides = {}
        if sum(p.count for p in c.pools or []) > LARGE_CLUSTER:
            overrides["simulation.horizon"] = 60
            if w.synthetic is not None:
                overrides["workload.synthetic.horizon"] = 60
        return [pytest.param(name, overrides, id=name)]
    # openb: the small sample and the embedded trace.
    sampled = isinstance(c.openb_nodes, OpenbNodes)
    sample = {
        ("cluster.openb_nodes.path" if sampled else "cluster.openb_nodes"): str(SAMPLE / "nodes.csv"),
        "workload.openb_pods.path": str(SAMPLE / "pods.csv"),
    }
    if sampled and c.openb_nodes.sample is not None:
        sample["cluster.openb_nodes.sample"] = min(c.openb_nodes.sample, SAMPLE_NODES - 2)
    return [
        pytest.param(name, sample, id=f"{name}-sample-trace"),
        pytest.param(name, {}, id=f"{name}-real-trace"),
    ]


SCENARIOS = [p for name in available_scenarios() for p in _variants(name)]


def test_every_shipped_scenario_is_covered():
    names = {p.values[0] for p in SCENARIOS}
    assert names == set(available_scenarios())
    assert {"default", "large", "openb", "openb-small"} <= names


@pytest.mark.parametrize(("name", "overrides"), SCENARIOS)
def test_gymnasium_env_checker(name, overrides):
    env = gym.make(envs.ENV_ID, scenario=name, overrides=overrides)
    gym_check_env(env.unwrapped)  # also renders every mode of metadata["render_modes"]


@pytest.mark.parametrize(("name", "overrides"), SCENARIOS)
def test_sb3_env_checker_and_a_few_steps(name, overrides):
    env = gym.make(envs.ENV_ID, scenario=name, overrides=overrides)
    sb3_check_env(env, warn=False)
    u = env.unwrapped
    obs, info = env.reset(seed=0)
    for _ in range(20):
        assert env.observation_space.contains(obs)
        np.testing.assert_array_equal(u.action_masks(), obs["action_mask"].astype(bool))
        allowed = np.flatnonzero(obs["action_mask"])
        assert len(allowed), "a decision is only asked for a pod that fits somewhere"
        obs, reward, terminated, truncated, info = env.step(int(allowed[-1]))
        assert np.isfinite(reward) and not info.get("invalid_action", False)
        if terminated or truncated:
            assert "metrics" in info
            break
    if overrides and name.startswith("openb"):
        assert u.num_nodes == overrides.get("cluster.openb_nodes.sample", SAMPLE_NODES)


class _RecordActions(gym.Wrapper):
    """Records, for every step, whether the chosen action was allowed by the previous observation's mask."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.allowed: list[bool] = []
        self.invalid = 0

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self._mask = obs["action_mask"]
        return obs, info

    def step(self, action):
        self.allowed.append(bool(self._mask[int(action)] == 1))
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.invalid += bool(info.get("invalid_action", False))
        self._mask = obs["action_mask"]
        return obs, reward, terminated, truncated, info


def test_maskable_ppo_learns_on_default():
    env = _RecordActions(gym.make(envs.ENV_ID, scenario="default", overrides={"simulation.horizon": 1800}))
    model = MaskablePPO("MultiInputPolicy", env, n_steps=32, batch_size=32, n_epochs=1, seed=0, device="cpu", verbose=0)
    model.learn(total_timesteps=64)
    assert model.num_timesteps == 64
    assert len(env.allowed) == 64
    assert all(env.allowed) and env.invalid == 0, "MaskablePPO chose a masked-out node: the mask is not used"
    obs, _ = env.reset(seed=1)
    action, _ = model.predict(obs, action_masks=env.unwrapped.action_masks(), deterministic=True)
    assert obs["action_mask"][int(action)] == 1


def test_openb_node_samples_fixed_or_per_episode():
    """openb_nodes.sample_seed fixes the sample for every episode; null draws one per episode from its seed (the
    same seed, the same nodes), and the env's episodes then run on different nodes of one size."""
    from podgym.envs.env import PodSchedulingEnv
    from podgym.envs.scenario import load_and_build

    def names(seed: int, overrides: dict | None = None) -> list[str]:
        return [n.name for n in load_and_build("openb-small", overrides, seed=seed).cluster.nodes]

    assert names(1) == names(2)
    per_episode = {"cluster.openb_nodes.sample_seed": None}
    assert names(1, per_episode) == names(1, per_episode) != names(2, per_episode)
    env = PodSchedulingEnv("openb-small", overrides={**per_episode, "env.engine": "python"})
    env.reset(seed=1)
    first = list(env.sim.cluster.node_names)
    env.reset(seed=2)
    assert len(env.sim.cluster.node_names) == len(first) == 64 and list(env.sim.cluster.node_names) != first


def test_several_openb_pod_lists_one_per_episode():
    """workload.openb_pods.path may list several traces: each episode draws one from its seed (the same seed, the
    same trace); a file that is missing is named by its index when an episode draws it; an empty list is refused."""
    import pytest

    from podgym.envs.kube.errors import KubeObjectError
    from podgym.envs.scenario import load_and_build

    default = "${PODGYM_DATA}/openb/csv/openb_pod_list_default.csv"
    lists = {"workload.openb_pods.path": [default, "no_such_trace.csv"]}
    drawn = {}
    for seed in range(12):
        try:
            drawn[seed] = len(load_and_build("openb-small", lists, seed=seed).workload)
        except KubeObjectError as exc:
            assert "workload.openb_pods.path[1]" in str(exc) and "no_such_trace.csv" in str(exc)
            drawn[seed] = None
    assert {v is None for v in drawn.values()} == {True, False}  # both lists drawn over twelve episodes
    ok = next(s for s, v in drawn.items() if v is not None)
    single = load_and_build("openb-small", {"workload.openb_pods.path": [default]}, seed=ok)
    assert len(load_and_build("openb-small", lists, seed=ok).workload) == drawn[ok] == len(single.workload)
    assert len(single.workload) == len(load_and_build("openb-small", seed=ok).workload)  # one trace: as before
    with pytest.raises(KubeObjectError, match=r"workload\.openb_pods"):
        load_and_build("openb-small", {"workload.openb_pods.path": []}, seed=0)
