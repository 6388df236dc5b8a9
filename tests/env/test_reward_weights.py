"""Every reward's weights and the invalid-action rule's limits, by hand, on both engines.

The objectives are checked first on hand-made integrals (envs.rewards alone), then through whole episodes on
the Python engine and on the compiled one, each with its own implementation of the reward and of the
invalid-action rule: a weight or a limit wrong in either engine fails here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from podgym.envs.env import PodSchedulingEnv
from podgym.envs.rewards import RewardState, make_reward

ENGINES = ("python", "compiled")
T, N = 1000.0, 4
INTEGRALS = {
    "gpu": 800.0,  # ∫ allocated GPU share dt: a time-mean of 0.8 over T
    "cpu": 400.0,  # 0.4
    "fragmentation": 100.0,  # 0.1
    "imbalance_cpu": 50.0,  # 0.05
    "pending": 2000.0,  # 2 pending pods on average, 0.5 per node
    "active_nodes": 3000.0,  # 3 of 4 nodes active on average
}
NOW = {"gpu": 0.9, "cpu": 0.3}


def value(reward: dict) -> float:
    return make_reward(reward, T, N).potential(RewardState(T, INTEGRALS, NOW))


@pytest.mark.parametrize(
    ("reward", "expected"),
    [
        ({"name": "packing"}, (0.8 + 0.4) / 2),
        ({"name": "packing", "gpu_weight": 3.0, "cpu_weight": 1.0}, (3 * 0.8 + 0.4) / 4),  # 0.7; swapped: 0.5
        ({"name": "packing", "gpu_weight": 0.0, "cpu_weight": 2.0}, 0.4),
        ({"name": "packing", "fragmentation_weight": 2.0}, 0.6 - 2 * 0.1),
        ({"name": "allocation", "gpu_weight": 1.0, "cpu_weight": 3.0}, (0.9 + 3 * 0.3) / 4),  # swapped: 0.5
        ({"name": "spreading"}, -0.05),
        ({"name": "waiting"}, -0.5),
        ({"name": "energy"}, -0.75),
        ({"name": "weighted", "weights": {"packing": 2.0, "waiting": 0.5}}, 2 * 0.6 - 0.5 * 0.5),
        ({"name": "weighted", "weights": {"spreading": 4.0, "energy": 0.25, "allocation": 1.0}}, -0.2 - 0.1875 + 0.6),
    ],
    ids=lambda x: str(x) if not isinstance(x, dict) else "-".join(f"{k}={v}" for k, v in x.items()),
)
def test_objective_values_by_hand(reward, expected):
    assert value(reward) == pytest.approx(expected, abs=1e-12)


def test_time_scale_applies_without_a_horizon():
    reward = make_reward({"name": "packing", "time_scale": 500.0}, math.inf, N)
    assert reward.scale == 500.0
    assert reward.potential(RewardState(T, INTEGRALS, NOW)) == pytest.approx(1.2, abs=1e-12)


# ---- whole episodes, both engines --------------------------------------------------------------------------

SHORT = {"simulation.horizon": 1800}


def play(env: PodSchedulingEnv, seed: int = 5) -> tuple[list[float], dict]:
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    rewards = []
    while True:
        obs, reward, terminated, truncated, info = env.step(int(rng.choice(np.flatnonzero(obs["action_mask"]))))
        rewards.append(reward)
        if terminated or truncated:
            return rewards, info


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("wg", "wc"), [(3.0, 1.0), (1.0, 4.0), (0.0, 1.0)])
def test_packing_weights_through_an_episode(engine, wg, wc):
    reward = {"name": "packing", "gpu_weight": wg, "cpu_weight": wc}
    env = PodSchedulingEnv("default", overrides={**SHORT, "env.engine": engine}, reward=reward)
    rewards, info = play(env)
    assert env.engine_name == engine
    m = info["metrics"]
    expected = (wg * m["gpu_allocation_mean"] + wc * m["cpu_allocation_mean"]) / (wg + wc) * m["duration_s"] / 1800
    assert m["gpu_allocation_mean"] != pytest.approx(m["cpu_allocation_mean"], rel=0.05)  # a swap would show
    assert math.isclose(math.fsum(rewards), expected, rel_tol=1e-9)


@pytest.mark.parametrize("engine", ENGINES)
def test_allocation_weights_through_an_episode(engine):
    reward = {"name": "allocation", "gpu_weight": 1.0, "cpu_weight": 3.0}
    env = PodSchedulingEnv("default", overrides={**SHORT, "env.engine": engine}, reward=reward)
    rewards, _ = play(env, seed=6)
    c = env.sim.cluster  # the episode has ended: reading sim hands the final state over
    gpu, cpu = c.allocation_ratio("nvidia.com/gpu"), c.allocation_ratio("cpu")
    assert abs(gpu - cpu) > 0.05
    assert math.fsum(rewards) == pytest.approx((gpu + 3 * cpu) / 4, abs=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_fragmentation_weight_is_linear_and_subtracts(engine):
    def ret(fw: float) -> float:
        reward = {"name": "packing", "fragmentation_weight": fw}
        return math.fsum(play(PodSchedulingEnv("default", overrides={**SHORT, "env.engine": engine}, reward=reward))[0])

    r0, r1, r3 = ret(0.0), ret(1.0), ret(3.0)
    assert r1 < r0
    assert r3 - r0 == pytest.approx(3 * (r1 - r0), rel=1e-9)


@pytest.mark.parametrize("engine", ENGINES)
def test_waiting_and_energy_through_an_episode(engine):
    overrides = {**SHORT, "env.engine": engine}
    rewards, info = play(PodSchedulingEnv("default", overrides=overrides, reward={"name": "waiting"}))
    m = info["metrics"]
    assert m["pending_pods_mean"] > 0
    assert math.isclose(math.fsum(rewards), -m["pending_pods_mean"] * m["duration_s"] / (1800 * 24), rel_tol=1e-9)
    rewards, info = play(PodSchedulingEnv("default", overrides=overrides, reward={"name": "energy"}))
    expected = -info["metrics"]["active_node_hours"] * 3600 / (1800 * 24)
    assert math.isclose(math.fsum(rewards), expected, rel_tol=1e-9)


# ---- the invalid-action rule's limits ----------------------------------------------------------------------


def masked_out(obs: dict) -> int:
    return int(np.flatnonzero(obs["action_mask"] == 0)[0])


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("limit", [1, 2, 5])
def test_the_streak_limit_is_exact(engine, limit):
    env = PodSchedulingEnv(
        "default",
        overrides=SHORT,
        env={"engine": engine, "invalid_action": {"penalty": 0.25, "max_consecutive": limit}},
    )
    obs, _ = env.reset(seed=7)
    assert env.engine_name == engine
    # One short of the limit, then a valid action: the count starts again.
    for _ in range(limit - 1):
        obs, reward, terminated, truncated, info = env.step(masked_out(obs))
        assert (reward, terminated, truncated, info["invalid_action"]) == (-0.25, False, False, True)
    obs, _, terminated, truncated, info = env.step(int(np.flatnonzero(obs["action_mask"])[0]))
    assert not (terminated or truncated or info.get("invalid_action", False))
    # Now exactly `limit` in a row, mixing masked-out nodes and actions outside the space.
    for k in range(limit):
        obs, reward, terminated, truncated, info = env.step(masked_out(obs) if k % 2 else 10**6)
        assert info["invalid_action"] is True and terminated is False
        assert truncated is (k == limit - 1), k
    assert "metrics" in info
    with pytest.raises(RuntimeError, match=r"call reset\(\)"):
        env.step(0)


@pytest.mark.parametrize("engine", ENGINES)
def test_the_terminate_rule_ends_at_the_first_invalid_action(engine):
    env = PodSchedulingEnv(
        "default",
        overrides=SHORT,
        env={"engine": engine, "invalid_action": {"rule": "terminate", "penalty": 2.0, "max_consecutive": 50}},
    )
    obs, _ = env.reset(seed=7)
    assert env.engine_name == engine
    obs, *_ = env.step(int(np.flatnonzero(obs["action_mask"])[0]))
    _, reward, terminated, truncated, info = env.step(masked_out(obs))
    assert (terminated, truncated, info["invalid_action"]) == (True, False, True)
    assert reward <= -2.0 + 1.0  # the penalty plus at most the objective's last increment (a share, <= 1)


@pytest.mark.parametrize(
    ("reward", "text"),
    [
        ({"name": "packing"}, "packing: the time-mean allocated share (1·GPU + 1·cpu) / 2 over the run"),
        (
            {"name": "packing", "gpu_weight": 3.0, "cpu_weight": 1.0, "fragmentation_weight": 0.5},
            "packing: the time-mean allocated share (3·GPU + 1·cpu) / 4 over the run, minus 0.5 × the time-mean "
            "GPU fragmentation",
        ),
        (
            {"name": "allocation", "cpu_weight": 0.0},
            "allocation: the allocated share (1·GPU + 0·cpu) / 1 when the run ends",
        ),
        ({"name": "spreading"}, "spreading: minus the time-mean imbalance (std over nodes of the cpu allocated share)"),
        (
            {"name": "weighted", "weights": {"packing": 1.0, "waiting": 0.5}},
            "weighted: 1 × [packing: the time-mean allocated share (1·GPU + 1·cpu) / 2 over the run] + 0.5 × "
            "[waiting: minus the time-mean number of pending pods per node (the total wait, normalised)]",
        ),
    ],
)
def test_reports_define_the_objective_with_its_weights(reward, text):
    from podgym.envs.rewards import describe_objective

    assert describe_objective(reward) == text
