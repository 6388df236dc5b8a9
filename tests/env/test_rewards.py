"""Rewards (envs.rewards) through the environment: dense and sparse forms give the same return, the packing
return is the time-mean allocation share of info["metrics"], and each objective prefers what it should.

From envs/rewards.py and envs/metrics.py: the packing return is (1/T) ∫ (w_gpu·gpu + w_cpu·cpu)/(w_gpu+w_cpu) dt
over the run, and Summary's ``*_allocation_mean`` is that share's time mean over ``duration_s`` (first event to
the end), so return = (w_gpu·gpu_allocation_mean + w_cpu·cpu_allocation_mean)/(w_gpu+w_cpu) · duration_s / T
(T: the horizon, or reward.time_scale without one).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from podgym.envs.env import PodSchedulingEnv

SHORT = {"simulation.horizon": 1800}
REWARDS = {
    "packing": {"name": "packing"},
    "spreading": {"name": "spreading"},
    "waiting": {"name": "waiting"},
    "energy": {"name": "energy"},
    "allocation": {"name": "allocation", "cpu_weight": 0.0},
    "weighted-packing-waiting": {"name": "weighted", "weights": {"packing": 1.0, "waiting": 0.5}},
    "weighted-spreading-energy": {"name": "weighted", "weights": {"spreading": 2.0, "energy": 0.25}},
}


def random_allowed(seed: int, pending_every: int = 0):
    """A seeded policy: a random allowed node; with `pending_every`, the pending action every so often."""
    rng = np.random.default_rng(seed)
    count = [0]

    def policy(obs: dict) -> int:
        count[0] += 1
        allowed = np.flatnonzero(obs["action_mask"])
        if pending_every and count[0] % pending_every == 0:
            return int(allowed[-1])  # the last action is "leave pending" with env.allow_pending
        return int(rng.choice(allowed))

    return policy


def play(env: PodSchedulingEnv, seed: int, policy) -> tuple[list[float], dict]:
    """Rewards of one episode and the last info."""
    obs, info = env.reset(seed=seed)
    rewards = []
    while True:
        obs, reward, terminated, truncated, info = env.step(policy(obs))
        rewards.append(reward)
        if terminated or truncated:
            return rewards, info


def episode_return(scenario: str | Path, reward: dict, seed: int = 3, pending_every: int = 0, **kwargs) -> float:
    env = PodSchedulingEnv(scenario, reward=reward, **kwargs)
    rewards, _ = play(env, seed, random_allowed(seed, pending_every))
    return math.fsum(rewards)


# ---- dense and sparse ------------------------------------------------------------------------------


@pytest.mark.parametrize("reward", REWARDS.values(), ids=REWARDS.keys())
def test_dense_and_sparse_give_the_same_return(reward):
    dense_env = PodSchedulingEnv("node-failures", overrides=SHORT, reward={**reward, "form": "dense"})
    sparse_env = PodSchedulingEnv("node-failures", overrides=SHORT, reward={**reward, "form": "sparse"})
    dense, dense_info = play(dense_env, 3, random_allowed(3))
    sparse, sparse_info = play(sparse_env, 3, random_allowed(3))
    assert len(dense) == len(sparse) > 50
    assert dense_info["metrics"] == sparse_info["metrics"]  # the same episode
    assert all(r == 0.0 for r in sparse[:-1])
    assert any(r != 0.0 for r in dense[:-1])
    assert sparse[-1] != 0.0
    assert math.isclose(math.fsum(dense), math.fsum(sparse), rel_tol=1e-9, abs_tol=0.0)


def test_dense_and_sparse_agree_when_pods_are_left_pending():
    reward = {"name": "weighted", "weights": {"waiting": 1.0, "packing": 1.0}}
    returns = [
        episode_return(
            "default", {**reward, "form": form}, pending_every=3, overrides=SHORT, env={"allow_pending": True}
        )
        for form in ("dense", "sparse")
    ]
    assert math.isclose(*returns, rel_tol=1e-9)


@pytest.mark.parametrize(
    "invalid",
    [{"rule": "terminate"}, {"rule": "penalty", "max_consecutive": 2}],
    ids=["terminate", "max-consecutive"],
)
def test_dense_and_sparse_agree_when_invalid_actions_end_the_episode(invalid):
    """The forms must still have the same return when the episode ends on invalid actions (penalties included)."""
    totals = []
    for form in ("dense", "sparse"):
        env = PodSchedulingEnv("default", overrides=SHORT, reward={"form": form}, env={"invalid_action": invalid})
        obs, _ = env.reset(seed=3)
        total = 0.0
        for _ in range(30):  # placements that build up allocation
            obs, reward, *_ = env.step(int(np.flatnonzero(obs["action_mask"])[0]))
            total += reward
        while True:
            obs, reward, terminated, truncated, _ = env.step(-1)
            total += reward
            if terminated or truncated:
                break
        totals.append(total)
    assert math.isclose(*totals, rel_tol=1e-9), f"dense {totals[0]} != sparse {totals[1]}"


def test_weighted_is_the_weighted_sum_of_its_objectives():
    kwargs = {"overrides": SHORT}
    packing = episode_return("default", {"name": "packing"}, **kwargs)
    waiting = episode_return("default", {"name": "waiting"}, **kwargs)
    weighted = episode_return("default", REWARDS["weighted-packing-waiting"], **kwargs)
    assert packing > 0 and waiting <= 0
    assert math.isclose(weighted, 1.0 * packing + 0.5 * waiting, rel_tol=1e-9)


# ---- the packing return and the metrics --------------------------------------------------------------


def _toy(tmp_path: Path, pools: list[dict], classes: list[dict], num_pods: int, life: float, horizon: float) -> Path:
    data = {
        "name": "toy",
        "cluster": {"pools": pools},
        "workload": {
            "synthetic": {
                "num_pods": num_pods,
                "arrivals": {"process": "poisson", "rate": 0.01},
                "lifetime": {"distribution": "fixed", "value": life},
                "classes": classes,
            }
        },
        "simulation": {"horizon": horizon},
    }
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _packing_from_metrics(m: dict, reward: dict, scale: float) -> float:
    wg, wc = reward.get("gpu_weight", 1.0), reward.get("cpu_weight", 1.0)
    share = (wg * m["gpu_allocation_mean"] + wc * m["cpu_allocation_mean"]) / (wg + wc)
    return share * m["duration_s"] / scale


TERMINATES = {"simulation.horizon": 10**6, "workload.synthetic.horizon": 1800}  # no event left after the arrivals
NO_HORIZON = {"simulation": {}, "workload.synthetic.horizon": 1800}  # the reward's time_scale applies


@pytest.mark.parametrize(
    ("overrides", "reward", "ends"),
    [
        (TERMINATES, {"name": "packing"}, "terminated"),
        (TERMINATES, {"name": "packing", "gpu_weight": 3.0, "cpu_weight": 1.0}, "terminated"),
        (NO_HORIZON, {"name": "packing", "time_scale": 7200.0}, "terminated"),
        (SHORT, {"name": "packing"}, "truncated"),
        (SHORT, {"name": "packing", "gpu_weight": 1.0, "cpu_weight": 0.0}, "truncated"),
    ],
    ids=["terminated", "terminated-gpu3-cpu1", "terminated-no-horizon", "truncated-at-horizon", "truncated-gpu-only"],
)
def test_packing_return_is_the_mean_allocation_share(overrides, reward, ends):
    env = PodSchedulingEnv("default", overrides=overrides, reward=reward)
    rewards, info = play(env, 5, random_allowed(5))
    assert env.sim.truncated is (ends == "truncated")
    scale = env.scenario.simulation.horizon
    scale = scale if math.isfinite(scale) else reward["time_scale"]
    assert env.reward_fn.scale == scale
    expected = _packing_from_metrics(info["metrics"], reward, scale)
    assert expected > 0
    assert math.isclose(math.fsum(rewards), expected, rel_tol=1e-9), (
        f"return {math.fsum(rewards)} != mean share x duration_s / T = {expected} "
        f"(duration_s {info['metrics']['duration_s']}, last event {info['time']})"
    )


def test_packing_return_on_the_toy_cluster_by_hand(tmp_path):
    """Four pods of 3 cpu (of 20) for 3600 s each, horizon 7200 s, no GPU asked: (4·3/20)/2 · 3600/7200."""
    pools = [
        {"name": "small", "count": 1, "cpu": "4", "memory": "16Gi"},
        {"name": "big", "count": 1, "cpu": "8", "memory": "32Gi"},
        {"name": "gpu", "count": 1, "cpu": "8", "memory": "32Gi", "gpus": 2, "gpu_model": "Tesla-T4"},
    ]
    path = _toy(tmp_path, pools, [{"name": "job", "cpu": "3", "memory": "8Gi"}], 4, 3600.0, 7200.0)
    env = PodSchedulingEnv(path)
    rewards, info = play(env, 0, random_allowed(0))
    assert len(rewards) == 4
    assert math.isclose(math.fsum(rewards), 4 * (3 / 20) / 2 * 3600 / 7200, rel_tol=1e-12)
    assert math.isclose(math.fsum(rewards), _packing_from_metrics(info["metrics"], {}, 7200.0), rel_tol=1e-9)


# ---- what each objective prefers ----------------------------------------------------------------------


def _homogeneous(tmp_path: Path) -> Path:
    """Three identical 4-cpu nodes, six 1-cpu pods that all overlap (3000 s lifetimes, about 100 s apart)."""
    pools = [{"name": "node", "count": 3, "cpu": "4", "memory": "16Gi"}]
    return _toy(tmp_path, pools, [{"name": "job", "cpu": "1", "memory": "1Gi"}], 6, 3000.0, 20000.0)


def _pack(obs: dict) -> int:
    """The allowed node with the least cpu left after placing the pod (best fit)."""
    after = np.where(obs["action_mask"] == 1, obs["nodes"][:, 6], np.inf)
    return int(np.argmin(after))


def _spread(obs: dict) -> int:
    """The allowed node with the most free cpu (least allocated)."""
    free = np.where(obs["action_mask"] == 1, obs["nodes"][:, 0], -np.inf)
    return int(np.argmax(free))


def test_spreading_prefers_a_spreading_policy(tmp_path):
    path = _homogeneous(tmp_path)
    env = PodSchedulingEnv(path, reward={"name": "spreading"})
    spread_rewards, spread_info = play(env, 0, _spread)
    pack_rewards, pack_info = play(env, 0, _pack)
    assert spread_info["metrics"]["imbalance_cpu_mean"] < pack_info["metrics"]["imbalance_cpu_mean"]
    spread, pack = math.fsum(spread_rewards), math.fsum(pack_rewards)
    assert pack < spread <= 0
    assert all(r <= 0 for r in spread_rewards + pack_rewards)  # imbalance is never negative


def test_energy_prefers_a_packing_policy(tmp_path):
    path = _homogeneous(tmp_path)
    env = PodSchedulingEnv(path, reward={"name": "energy"})
    spread, spread_info = play(env, 0, _spread)
    pack, pack_info = play(env, 0, _pack)
    assert spread_info["metrics"]["active_node_hours"] > pack_info["metrics"]["active_node_hours"]
    assert math.fsum(spread) < math.fsum(pack) < 0
    # energy = -(1/(T·N)) ∫ active nodes dt = -active_node_hours·3600 / (T·N)
    for rewards, info in ((spread, spread_info), (pack, pack_info)):
        expected = -info["metrics"]["active_node_hours"] * 3600 / (20000.0 * 3)
        assert math.isclose(math.fsum(rewards), expected, rel_tol=1e-9)


def test_allocation_return_is_the_final_allocated_share():
    """The `allocation` objective is the share allocated when the run ends (runs without time: FGD rules)."""
    env = PodSchedulingEnv("default", reward={"name": "allocation", "cpu_weight": 0.0}, overrides=SHORT)
    obs, _ = env.reset(seed=3)
    total = 0.0
    while True:
        obs, reward, terminated, truncated, _ = env.step(int(np.flatnonzero(obs["action_mask"])[0]))
        total += reward
        if terminated or truncated:
            break
    assert total == pytest.approx(env.sim.cluster.allocation_ratio("nvidia.com/gpu"), abs=1e-12)
    assert 0 < total <= 1
