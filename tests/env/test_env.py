"""PodSchedulingEnv (envs.env): registration, bad input, determinism, a hand-checked toy trajectory, invalid
actions, leaving pods pending, the end of an episode and observation bounds.

The toy scenarios are written to tmp_path: three one-node pools (small 4 cpu / 16Gi, big 8 cpu / 32Gi, gpu
8 cpu / 32Gi with 2 GPUs), so every mask, feature and reward below is worked out by hand from the requests.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import yaml

import podgym.envs as envs
from podgym.envs.env import PodSchedulingEnv
from podgym.envs.kube.errors import KubeObjectError
from podgym.envs.metrics import Summary
from podgym.envs.scenario import available_scenarios

SHORT = {"simulation.horizon": 1800}  # about 120 decisions of the default scenario
SUMMARY_FIELDS = {f.name for f in dataclasses.fields(Summary)}

TOY_POOLS = [
    {"name": "small", "count": 1, "cpu": "4", "memory": "16Gi"},
    {"name": "big", "count": 1, "cpu": "8", "memory": "32Gi"},
    {"name": "gpu", "count": 1, "cpu": "8", "memory": "32Gi", "gpus": 2, "gpu_model": "Tesla-T4"},
]
SMALL, BIG, GPU = range(3)
GI = 2**30

# Node feature columns (envs.features.NODE_FEATURES).
CPU_FREE, MEMORY_FREE, GPU_FREE = 0, 1, 2
CPU_AFTER, MEMORY_AFTER, GPU_DEVICES_FIT, PODS_FREE, FEASIBLE = 6, 7, 8, 10, 11


def write_yaml(path: Path, data: dict | list) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def toy_scenario(tmp_path: Path, workload: dict, **extra) -> Path:
    """A scenario file with the three toy nodes and `workload`."""
    data = {"name": "toy", "cluster": {"pools": TOY_POOLS}, "workload": workload, **extra}
    return write_yaml(tmp_path / "toy.yaml", data)


def first_allowed(obs: dict) -> int:
    return int(np.flatnonzero(obs["action_mask"])[0])


def run_episode(env: gym.Env, seed: int, policy=first_allowed, max_steps: int = 100_000) -> list[tuple]:
    """Play one episode; returns [(obs, reward, terminated, truncated, info)], the reset as the first entry."""
    obs, info = env.reset(seed=seed)
    steps = [(obs, 0.0, False, False, info)]
    for _ in range(max_steps):
        obs, reward, terminated, truncated, info = env.step(policy(obs))
        steps.append((obs, reward, terminated, truncated, info))
        if terminated or truncated:
            return steps
    raise AssertionError(f"the episode did not end within {max_steps} steps")


# ---- registration and keyword overrides ----------------------------------------------------------


def test_import_registers_the_env_id():
    assert envs.ENV_ID == "podgym/PodScheduling-v0"
    assert envs.ENV_ID in gym.registry
    env = gym.make(envs.ENV_ID, scenario="default")
    assert isinstance(env.unwrapped, PodSchedulingEnv)
    assert env.action_space == gym.spaces.Discrete(24)  # the 24 nodes of configs/scenarios/default.yaml
    obs, info = env.reset(seed=0)
    assert obs["nodes"].shape == (24, 22) and obs["pod"].shape == (7,) and obs["action_mask"].shape == (24,)
    assert info["pod"] is not None


def test_keyword_overrides_take_effect():
    env = gym.make(
        envs.ENV_ID,
        scenario="default",
        reward={"name": "waiting"},
        env={"allow_pending": True},
        overrides={"simulation.horizon": 600},
    )
    u = env.unwrapped
    assert env.action_space.n == 25  # 24 nodes + "leave pending"
    assert u.pending_action == 24
    assert u.scenario.reward.name == "waiting" and u.reward_fn.config.name == "waiting"
    assert u.reward_fn.weights == {"waiting": 1.0}
    assert u.scenario.simulation.horizon == 600
    assert u.reward_fn.scale == 600  # the reward's time scale is the horizon

    steps = run_episode(env, seed=0)
    _, _, terminated, truncated, info = steps[-1]
    assert truncated and not terminated
    assert all(s[4]["time"] <= 600 for s in steps)
    first_event = float(u.sim.arrival.min())
    assert info["metrics"]["duration_s"] == pytest.approx(600 - first_event)


def test_defaults_without_keywords():
    u = gym.make(envs.ENV_ID).unwrapped
    assert u.scenario.name == "default"
    assert u.reward_fn.config.name == "packing" and u.reward_fn.config.form == "dense"
    assert u.pending_action is None
    assert u.scenario.env.invalid_action.rule == "penalty"


def test_max_nodes_pads_the_observation():
    env = PodSchedulingEnv("default", overrides=SHORT, env={"max_nodes": 30, "allow_pending": True})
    assert env.action_space.n == 31 and env.pending_action == 30
    for obs, *_ in run_episode(env, seed=1)[:-1]:
        assert obs["nodes"].shape == (30, 22)
        assert not obs["nodes"][24:].any(), "padding rows must be 0"
        assert not obs["action_mask"][24:30].any(), "padding nodes must never be allowed"
        assert obs["action_mask"][30] == 1


# ---- bad input -----------------------------------------------------------------------------------


def test_unknown_scenario_lists_the_available_ones():
    with pytest.raises(KubeObjectError) as info:
        gym.make(envs.ENV_ID, scenario="no-such-scenario")
    message = str(info.value)
    assert "no-such-scenario" in message
    for name in available_scenarios():
        assert name in message


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"env": {"max_nodes": 0}}, "env.max_nodes"),
        ({"env": {"allow_pendin": True}}, "env.allow_pendin"),
        ({"env": {"invalid_action": {"rule": "explode"}}}, "env.invalid_action.rule"),
        ({"reward": {"name": "bogus"}}, "reward.name"),
        ({"reward": {"form": "dense", "weights": {"packing": 1.0}}}, "reward"),
        ({"simulation": {"horizon": -1}}, "simulation.horizon"),
    ],
    ids=["max_nodes-0", "unknown-env-field", "invalid-action-rule", "reward-name", "weights-not-weighted", "horizon"],
)
def test_invalid_scenario_names_the_file_and_the_field(tmp_path, section, field):
    path = toy_scenario(tmp_path, {"manifests": []}, **section)
    with pytest.raises(KubeObjectError) as info:
        PodSchedulingEnv(path)
    message = str(info.value)
    assert str(path) in message
    assert f"field {field}" in message


def test_max_nodes_smaller_than_the_cluster_is_an_error():
    with pytest.raises(KubeObjectError) as info:
        gym.make(envs.ENV_ID, scenario="default", env={"max_nodes": 10})
    message = str(info.value)
    assert "env.max_nodes" in message and "10" in message and "24" in message


@pytest.mark.parametrize(
    "section",
    [
        {"env": {"max_nodes": 2}},
        {"failures": {"events": [{"time": 1, "node": "nope-0", "action": "fail"}]}},
    ],
    ids=["max_nodes-too-small", "unknown-failure-node"],
)
def test_build_errors_name_the_scenario_file(tmp_path, section):
    """Errors found while building (not validating) the scenario must also name the file, as load_and_build does."""
    path = toy_scenario(tmp_path, {"manifests": []}, **section)
    with pytest.raises(KubeObjectError) as info:
        PodSchedulingEnv(path)
    assert str(path) in str(info.value)


def test_unknown_render_mode():
    with pytest.raises(ValueError, match="render_mode must be one of"):
        PodSchedulingEnv("default", render_mode="human")


@pytest.mark.parametrize("mode", ["ansi", "rgb_array"])
def test_render_modes(mode):
    """Every mode in metadata["render_modes"] renders (gymnasium's check_env renders each of them)."""
    env = PodSchedulingEnv("default", overrides=SHORT, render_mode=mode)
    env.reset(seed=0)
    frame = env.render()
    if mode == "ansi":
        assert isinstance(frame, str) and frame
    else:
        assert isinstance(frame, np.ndarray) and frame.dtype == np.uint8
        assert frame.ndim == 3 and frame.shape[2] == 3


# ---- determinism ---------------------------------------------------------------------------------


def _assert_same_steps(a: list[tuple], b: list[tuple]) -> None:
    assert len(a) == len(b)
    for k, ((obs_a, r_a, te_a, tr_a, info_a), (obs_b, r_b, te_b, tr_b, info_b)) in enumerate(zip(a, b)):
        for key in obs_a:
            np.testing.assert_array_equal(obs_a[key], obs_b[key], err_msg=f"step {k}: obs[{key!r}]")
        assert (r_a, te_a, tr_a) == (r_b, te_b, tr_b), f"step {k}"
        assert info_a == info_b, f"step {k}"


def test_same_seed_same_episode():
    one = gym.make(envs.ENV_ID, scenario="node-failures", overrides=SHORT)
    two = gym.make(envs.ENV_ID, scenario="node-failures", overrides=SHORT)
    a, b = run_episode(one, seed=7), run_episode(two, seed=7)
    _assert_same_steps(a, b)
    assert "metrics" in a[-1][4]
    # The same env replays the episode after another one.
    run_episode(one, seed=8)
    _assert_same_steps(run_episode(one, seed=7), a)


def test_another_seed_another_episode():
    env = gym.make(envs.ENV_ID, scenario="default", overrides=SHORT)
    a = run_episode(env, seed=7)
    arrival_7 = env.unwrapped.sim.arrival.copy()
    b = run_episode(env, seed=8)
    assert not np.array_equal(arrival_7, env.unwrapped.sim.arrival)
    assert [s[4]["time"] for s in a] != [s[4]["time"] for s in b]
    assert a[-1][4]["metrics"] != b[-1][4]["metrics"]


# ---- a hand-checked trajectory ---------------------------------------------------------------------


def test_toy_trajectory_with_arrivals_departures_and_rewards(tmp_path):
    """Four 3 cpu / 8Gi pods, 3600 s each, placed small, big, big, gpu; the packing reward by hand.

    Total cpu 20, GPUs 2 (never asked): the allocation share after k binds is (3k/20 + 0)/2, and the dense
    reward of a step is that share times the simulated time the step covers, over the horizon (7200 s).
    """
    horizon, life = 7200.0, 3600.0
    path = toy_scenario(
        tmp_path,
        {
            "synthetic": {
                "num_pods": 4,
                "arrivals": {"process": "poisson", "rate": 0.01},
                "lifetime": {"distribution": "fixed", "value": life},
                "classes": [{"name": "job", "cpu": "3", "memory": "8Gi"}],
            }
        },
        simulation={"horizon": horizon},
    )
    env = gym.make(envs.ENV_ID, scenario=str(path))
    obs, info = env.reset(seed=0)
    sim = env.unwrapped.sim
    assert sim.cluster.node_names == ["small-0", "big-0", "gpu-0"]
    a = sim.arrival
    assert len(a) == 4 and np.all(np.diff(a) > 0)
    assert a[3] < a[0] + life and a[3] + life < horizon, "the hand computation assumes this order of events"
    np.testing.assert_array_equal(sim.duration, np.full(4, life))

    def share(k: int) -> float:  # packing share with k pods running (gpu_weight = cpu_weight = 1)
        return (3 * k / 20 + 0.0) / 2

    # (action, mask, cpu_free, memory_free, cpu_after, memory_after) before each decision, by hand.
    expected = [
        (SMALL, [1, 1, 1], [1, 1, 1], [1, 1, 1], [1 / 4, 5 / 8, 5 / 8], [8 / 16, 24 / 32, 24 / 32]),
        (BIG, [0, 1, 1], [1 / 4, 1, 1], [8 / 16, 1, 1], [-2 / 4, 5 / 8, 5 / 8], [0, 24 / 32, 24 / 32]),
        (BIG, [0, 1, 1], [1 / 4, 5 / 8, 1], [8 / 16, 24 / 32, 1], [-2 / 4, 2 / 8, 5 / 8], [0, 16 / 32, 24 / 32]),
        (GPU, [0, 0, 1], [1 / 4, 2 / 8, 1], [8 / 16, 16 / 32, 1], [-2 / 4, -1 / 8, 5 / 8], [0, 8 / 32, 24 / 32]),
    ]
    node_of = [-1, -1, -1, -1]
    total = 0.0
    for k, (action, mask, cpu_free, mem_free, cpu_after, mem_after) in enumerate(expected):
        assert info == {"time": a[k], "pending": 1, "running": k, "pod": f"job-{k}"}
        np.testing.assert_array_equal(obs["action_mask"], mask)
        nodes = obs["nodes"]
        np.testing.assert_allclose(nodes[:, CPU_FREE], cpu_free, rtol=1e-6)
        np.testing.assert_allclose(nodes[:, MEMORY_FREE], mem_free, rtol=1e-6)
        np.testing.assert_allclose(nodes[:, CPU_AFTER], cpu_after, rtol=1e-6)
        np.testing.assert_allclose(nodes[:, MEMORY_AFTER], mem_after, rtol=1e-6)
        np.testing.assert_array_equal(nodes[:, FEASIBLE], mask)
        np.testing.assert_array_equal(nodes[:, GPU_FREE], [0, 0, 1])  # nobody asks for a GPU
        np.testing.assert_allclose(obs["pod"][:2], [3 / 8, 8 / 32], rtol=1e-6)  # over the largest node
        assert obs["pod"][6] == pytest.approx(a[k] / horizon, rel=1e-6)

        obs, reward, terminated, truncated, info = env.step(action)
        node_of[k] = action
        total += reward
        if k < 3:
            np.testing.assert_array_equal(sim.node_of, node_of)
            assert (terminated, truncated) == (False, False)
            assert reward == pytest.approx(share(k + 1) * (a[k + 1] - a[k]) / horizon, rel=1e-12)
        else:
            # After the last bind the pods leave one by one at a_i + 3600; the episode ends at the last departure.
            covered = (
                share(4) * (a[0] + life - a[3])
                + share(3) * (a[1] - a[0])
                + share(2) * (a[2] - a[1])
                + share(1) * (a[3] - a[2])
            )
            assert reward == pytest.approx(covered / horizon, rel=1e-12)
            assert (terminated, truncated) == (True, False)
            assert info["time"] == pytest.approx(a[3] + life)
            assert (info["pending"], info["running"], info["pod"]) == (0, 0, None)
            np.testing.assert_array_equal(sim.node_of, [-1, -1, -1, -1])  # all departed
    # Every pod holds 3/20 of the cpu for 3600 s: the return is 4 * (3/20)/2 * 3600 / 7200.
    assert total == pytest.approx(4 * (3 / 20) / 2 * life / horizon, rel=1e-12)
    m = info["metrics"]
    assert (m["pods_total"], m["pods_scheduled"], m["pods_pending_at_end"], m["evictions"]) == (4, 4, 0, 0)
    assert m["cpu_allocation_peak"] == pytest.approx(12 / 20)
    assert m["duration_s"] == pytest.approx(a[3] + life - a[0])


def _pod(name: str, **requests) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "pause", "resources": {"requests": requests}}]},
    }


def test_toy_trajectory_with_gpus_and_a_pod_that_fits_nowhere(tmp_path):
    """Five manifest pods, all arriving at 0 (manifests have no times): the masks follow the free capacity.

    p1 3 cpu/8Gi -> big; p2 2 cpu/4Gi/1 GPU -> gpu (only GPU node); p3 5 cpu/20Gi -> gpu; p4 4 cpu/16Gi -> small
    (exact fit); p5 2 cpu/2Gi/2 GPUs fits nowhere (1 GPU left) and waits without asking the agent.
    """
    pods = [
        _pod("p1", cpu="3", memory="8Gi"),
        _pod("p2", cpu="2", memory="4Gi", **{"nvidia.com/gpu": "1"}),
        _pod("p3", cpu="5", memory="20Gi"),
        _pod("p4", cpu="4", memory="16Gi"),
        _pod("p5", cpu="2", memory="2Gi", **{"nvidia.com/gpu": "2"}),
    ]
    (tmp_path / "pods.yaml").write_text(yaml.safe_dump_all(pods, sort_keys=False))
    env = PodSchedulingEnv(toy_scenario(tmp_path, {"manifests": ["pods.yaml"]}))
    obs, info = env.reset(seed=0)
    sim = env.sim
    # (pod, action, mask, cpu_free, memory_free, cpu_after, gpu_free, gpu_devices_fit) by hand.
    expected = [
        ("p1", BIG, [1, 1, 1], [1, 1, 1], [1, 1, 1], [1 / 4, 5 / 8, 5 / 8], [0, 0, 1], [0, 0, 1]),
        ("p2", GPU, [0, 0, 1], [1, 5 / 8, 1], [1, 24 / 32, 1], [2 / 4, 3 / 8, 6 / 8], [0, 0, 1], [0, 0, 1]),
        ("p3", GPU, [0, 1, 1], [1, 5 / 8, 6 / 8], [1, 24 / 32, 28 / 32], [-1 / 4, 0, 1 / 8], [0, 0, 0.5], [0, 0, 0.5]),
        ("p4", SMALL, [1, 1, 0], [1, 5 / 8, 1 / 8], [1, 24 / 32, 8 / 32], [0, 1 / 8, -3 / 8], [0, 0, 0.5], [0, 0, 0.5]),
    ]
    node_of = [-1] * 5
    for k, (name, action, mask, cpu_free, mem_free, cpu_after, gpu_free, fit) in enumerate(expected):
        assert info == {"time": 0.0, "pending": 5 - k, "running": k, "pod": name}
        np.testing.assert_array_equal(obs["action_mask"], mask)
        np.testing.assert_array_equal(env.action_masks(), np.asarray(mask, dtype=bool))
        nodes = obs["nodes"]
        np.testing.assert_allclose(nodes[:, CPU_FREE], cpu_free, rtol=1e-6)
        np.testing.assert_allclose(nodes[:, MEMORY_FREE], mem_free, rtol=1e-6)
        np.testing.assert_allclose(nodes[:, CPU_AFTER], cpu_after, rtol=1e-6)
        np.testing.assert_allclose(nodes[:, GPU_FREE], gpu_free, rtol=1e-6)
        np.testing.assert_allclose(nodes[:, GPU_DEVICES_FIT], fit, rtol=1e-6)
        np.testing.assert_array_equal(nodes[:, FEASIBLE], mask)
        np.testing.assert_allclose(
            nodes[:, PODS_FREE], 1 - np.bincount(np.asarray(node_of[:k], dtype=int), minlength=3) / 110, rtol=1e-6
        )
        obs, reward, terminated, truncated, info = env.step(action)
        node_of[k] = action
        np.testing.assert_array_equal(sim.node_of, node_of)
        assert reward == 0.0  # simulated time never moves: no allocation integral
        assert truncated is False
        assert terminated is (k == 3)
    # p5 fitted nowhere: it stays pending, the workload is exhausted and the episode terminates.
    assert (info["pending"], info["running"], info["pod"]) == (1, 4, None)
    m = info["metrics"]
    assert (m["pods_total"], m["pods_scheduled"], m["pods_pending_at_end"], m["pods_never_scheduled"]) == (5, 4, 1, 1)
    assert m["gpu_allocation_final"] == pytest.approx(1 / 2)
    assert m["cpu_allocation_mean"] == pytest.approx(14 / 20)
    assert not obs["nodes"].any() and not obs["pod"].any()


# ---- invalid actions -----------------------------------------------------------------------------


def _masked_out(obs: dict) -> int:
    out = np.flatnonzero(obs["action_mask"] == 0)
    assert len(out), "the test needs a decision where some node is not allowed"
    return int(out[0])


def test_masked_out_action_pays_the_penalty_and_changes_nothing():
    env = PodSchedulingEnv("default", overrides=SHORT)
    obs, info = env.reset(seed=7)
    bad = _masked_out(obs)
    running = env.sim.node_of.copy()
    obs2, reward, terminated, truncated, info2 = env.step(bad)
    assert reward == -1.0
    assert info2["invalid_action"] is True
    assert (terminated, truncated) == (False, False)
    for key in obs:
        np.testing.assert_array_equal(obs2[key], obs[key], err_msg=key)
    assert {k: info2[k] for k in info} == info  # same pod, time, pending, running
    np.testing.assert_array_equal(env.sim.node_of, running)
    # The episode goes on: a valid action places that pod.
    _, reward, terminated, truncated, info3 = env.step(first_allowed(obs2))
    assert not info3.get("invalid_action", False)
    assert reward > -1.0 and info3["running"] == info["running"] + 1


@pytest.mark.parametrize("action", [10**6, -1, 24, np.int64(-5), np.array([0, 1])], ids=str)
def test_actions_outside_the_space_follow_the_same_rule(action):
    env = PodSchedulingEnv("default", overrides=SHORT)
    obs, info = env.reset(seed=7)
    obs2, reward, terminated, truncated, info2 = env.step(action)
    assert reward == -1.0 and info2["invalid_action"] is True
    assert (terminated, truncated) == (False, False)
    assert info2["pod"] == info["pod"]
    np.testing.assert_array_equal(obs2["nodes"], obs["nodes"])


def test_max_consecutive_invalid_actions_truncate():
    env = PodSchedulingEnv("default", overrides=SHORT, env={"invalid_action": {"penalty": 0.5, "max_consecutive": 3}})
    obs, _ = env.reset(seed=7)
    # A valid action in between starts the count again.
    for action in (-1, -1, first_allowed(obs)):
        obs, reward, terminated, truncated, info = env.step(action)
        assert not (terminated or truncated)
    for k in range(3):
        obs, reward, terminated, truncated, info = env.step(_masked_out(obs))
        assert reward == -0.5 and info["invalid_action"] is True
        assert terminated is False
        assert truncated is (k == 2)
    with pytest.raises(RuntimeError, match=r"call reset\(\)"):
        env.step(first_allowed(obs))


def test_terminate_rule_ends_the_episode():
    env = PodSchedulingEnv("default", overrides=SHORT, env={"invalid_action": {"rule": "terminate"}})
    env.reset(seed=7)
    _, reward, terminated, truncated, info = env.step(10**6)
    assert (reward, terminated, truncated, info["invalid_action"]) == (-1.0, True, False, True)
    with pytest.raises(RuntimeError, match=r"call reset\(\)"):
        env.step(0)


@pytest.mark.parametrize(
    "invalid",
    [{"rule": "terminate"}, {"rule": "penalty", "max_consecutive": 1}],
    ids=["terminate", "max-consecutive"],
)
def test_an_episode_ended_by_invalid_actions_reports_metrics(invalid):
    """Episode End: info["metrics"] holds the run's Summary on the last step, whatever ended the episode."""
    env = PodSchedulingEnv("default", overrides=SHORT, env={"invalid_action": invalid})
    obs, _ = env.reset(seed=7)
    obs, *_ = env.step(first_allowed(obs))
    *_, terminated, truncated, info = env.step(-1)
    assert terminated or truncated
    assert set(info.get("metrics", {})) == SUMMARY_FIELDS


# ---- leaving a pod pending -----------------------------------------------------------------------


def test_allow_pending_last_action_is_always_allowed_and_defers_the_pod():
    env = PodSchedulingEnv("default", overrides={"simulation.horizon": 7200}, env={"allow_pending": True})
    pend = env.action_space.n - 1
    obs, info = env.reset(seed=3)
    assert obs["action_mask"][pend] == 1
    deferred, t0 = info["pod"], info["time"]
    pod_index = env.sim.workload.names.index(deferred)
    pending_before = info["pending"]
    obs, _, terminated, truncated, info = env.step(pend)
    assert not info.get("invalid_action", False) and not (terminated or truncated)
    assert info["pending"] >= pending_before
    assert info["pending"] >= 1 + (info["pod"] is not None)  # the deferred pod and the one being decided
    assert env.sim.node_of[pod_index] == -1
    assert env.sim.metrics.failed_attempts == 1
    # The deferred pod is retried later (freed resources or the 5-minute flush) and can then be placed.
    while info["pod"] != deferred:
        assert obs["action_mask"][pend] == 1
        obs, _, terminated, truncated, info = env.step(first_allowed(obs))
        assert not (terminated or truncated), f"{deferred} was never retried"
    assert info["time"] > t0
    obs, *_ = env.step(first_allowed(obs))
    assert env.sim.node_of[pod_index] >= 0


def test_allow_pending_every_pod_pending():
    """Deferring every pod never binds anything and never raises; pending only grows until the episode ends."""
    env = PodSchedulingEnv("default", overrides=SHORT, env={"allow_pending": True})
    pend = env.action_space.n - 1
    steps = run_episode(env, seed=0, policy=lambda obs: pend)
    assert all(s[4]["running"] == 0 for s in steps)
    pending = [s[4]["pending"] for s in steps]
    assert pending[-1] >= pending[0] and max(pending) > 1
    assert steps[-1][4]["metrics"]["pods_scheduled"] == 0


# ---- the end of an episode -------------------------------------------------------------------------


def test_default_episode_is_truncated_at_the_horizon():
    env = gym.make(envs.ENV_ID, scenario="default")
    steps = run_episode(env, seed=0)
    _, _, terminated, truncated, info = steps[-1]
    assert truncated and not terminated
    assert not any(s[2] or s[3] for s in steps[:-1])
    assert all("metrics" not in s[4] for s in steps[:-1])
    assert info["time"] <= 21600 and info["pod"] is None
    m = info["metrics"]
    assert set(m) == SUMMARY_FIELDS
    assert m["duration_s"] == pytest.approx(21600 - float(env.unwrapped.sim.arrival.min()))
    assert m["pods_scheduled"] == len(steps) - 1  # one bind per step, none invalid
    assert 0 < m["cpu_allocation_mean"] <= m["cpu_allocation_peak"] <= 1
    with pytest.raises(RuntimeError, match=r"episode has ended.*call reset\(\) before step\(\)"):
        env.unwrapped.step(0)
    # reset() starts a new episode.
    obs, info = env.reset(seed=0)
    assert info["running"] == 0 and obs["action_mask"].any()


def test_episode_terminates_when_the_workload_is_exhausted():
    """Arrivals stop at 1800 s and the horizon is beyond every lifetime: the run ends with no event left."""
    env = PodSchedulingEnv("default", overrides={"simulation.horizon": 10**7, "workload.synthetic.horizon": 1800})
    steps = run_episode(env, seed=0)
    _, _, terminated, truncated, info = steps[-1]
    assert terminated and not truncated
    m = info["metrics"]
    assert set(m) == SUMMARY_FIELDS
    assert info["running"] == 0 and info["pending"] == 0  # everything placed and departed
    assert m["pods_total"] == len(env.sim.arrival) == m["pods_scheduled"]
    last_departure = float((env.sim.arrival + env.sim.duration).max())
    assert info["time"] >= last_departure


def test_step_before_reset():
    env = PodSchedulingEnv("default")
    with pytest.raises(RuntimeError, match=r"call reset\(\) before step\(\)"):
        env.step(0)


# ---- observation bounds ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "kwargs"),
    [
        ("default", {}),
        ("default", {"env": {"allow_pending": True, "max_nodes": 32}}),
        ("node-failures", {}),
        ("taints-affinity", {}),
    ],
    ids=["default", "default-pending-padded", "node-failures", "taints-affinity"],
)
def test_every_observation_is_inside_the_space(scenario, kwargs):
    env = PodSchedulingEnv(scenario, overrides={"simulation.horizon": 3600}, **kwargs)
    rng = np.random.default_rng(0)

    def random_allowed(obs):
        return int(rng.choice(np.flatnonzero(obs["action_mask"])))

    steps = run_episode(env, seed=5, policy=random_allowed)
    for k, (obs, *_) in enumerate(steps):
        assert env.observation_space.contains(obs), f"step {k}: {scenario} observation outside the space"
        assert obs["action_mask"].dtype == np.int8
        if k < len(steps) - 1:
            assert obs["action_mask"].any()
            np.testing.assert_array_equal(obs["nodes"][: env.num_nodes, FEASIBLE], obs["action_mask"][: env.num_nodes])
