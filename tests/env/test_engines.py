"""The compiled engine (envs.compiled) against the Python engine: whole episodes with random valid actions, invalid
actions and "leave pending", on default, taints-affinity and the benchmark's 100-node cluster, must give the same
observations (bytes), rewards (exactly equal), flags, infos and final metrics; the vector env must equal the single
envs; a scenario the compiled engine does not run falls back under `auto` and is refused under `compiled`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.env_throughput import pool_overrides
from envs.compiled import kernels
from envs.env import PodSchedulingEnv
from envs.kube.errors import KubeObjectError
from envs.vector import PodSchedulingVectorEnv

HUNDRED = {**pool_overrides(), "simulation.horizon": 7200}
OPENB_SAMPLE = Path(__file__).resolve().parents[1] / "data" / "openb"

CASES = [
    pytest.param("default", {}, {}, id="default"),
    pytest.param("taints-affinity", {}, {}, id="taints-affinity"),
    pytest.param("default", HUNDRED, {}, id="100-nodes"),
    pytest.param(
        "default",
        {"simulation.horizon": 7200, "env.allow_pending": True},
        {"reward": {"name": "weighted", "weights": {"packing": 1, "spreading": 1, "energy": 0.5}}},
        id="default-pending-node-stats",
    ),
    pytest.param(
        "taints-affinity",
        {"env.allow_pending": True, "env.invalid_action": {"rule": "penalty", "max_consecutive": 3}},
        {"reward": {"name": "packing", "form": "sparse", "fragmentation_weight": 0.5}},
        id="taints-affinity-pending-sparse",
    ),
    pytest.param(
        "default",
        {"simulation.retry_unschedulable": False, "simulation.departures": False, "simulation.horizon": 5400},
        {},
        id="default-no-retry-no-departures",
    ),
    pytest.param("default", {"env.max_nodes": 30, "simulation.horizon": 3600}, {}, id="default-padded"),
    pytest.param(
        "large", {"simulation.horizon": 120, "workload.synthetic.horizon": 120}, {}, id="large-2-minutes"
    ),  # 5,000 nodes: the imbalance metric's pairwise sum beyond one block
    pytest.param(
        "openb",
        {
            "cluster.openb_nodes": str(OPENB_SAMPLE / "nodes.csv"),
            "workload.openb_pods.path": str(OPENB_SAMPLE / "pods.csv"),
        },
        {},
        id="openb-sample-trace",
    ),
]


def play(env: PodSchedulingEnv, seed: int, invalid_every: int = 0) -> list[tuple]:
    """One episode with random valid actions (every `invalid_every`-th action a random, maybe invalid, one)."""
    obs, info = env.reset(seed=seed)
    steps = [(obs, 0.0, False, False, info)]
    rng = np.random.default_rng(seed)
    while True:
        a = int(rng.choice(np.flatnonzero(obs["action_mask"])))
        if invalid_every and len(steps) % invalid_every == 0:
            a = int(rng.integers(-2, env.action_space.n + 2))
        obs, reward, terminated, truncated, info = env.step(a)
        steps.append((obs, reward, terminated, truncated, info))
        if terminated or truncated:
            return steps


def assert_same(python: list[tuple], compiled: list[tuple]) -> None:
    assert len(python) == len(compiled)
    for k, (p, c) in enumerate(zip(python, compiled)):
        assert p[0].keys() == c[0].keys()
        for key in p[0]:
            assert p[0][key].dtype == c[0][key].dtype and p[0][key].shape == c[0][key].shape
            assert p[0][key].tobytes() == c[0][key].tobytes(), f"step {k}: observation[{key!r}] differs"
        assert p[1] == c[1], f"step {k}: reward {p[1]!r} != {c[1]!r}"
        assert p[2:4] == c[2:4], f"step {k}: terminated/truncated"
        assert p[4] == c[4], f"step {k}: info"


def envs_for(scenario: str, overrides: dict, sections: dict) -> tuple[PodSchedulingEnv, PodSchedulingEnv]:
    return tuple(
        PodSchedulingEnv(scenario, overrides={**overrides, "env.engine": engine}, **sections)
        for engine in ("python", "compiled")
    )


@pytest.mark.parametrize(("scenario", "overrides", "sections"), CASES)
@pytest.mark.parametrize("invalid_every", [0, 9])
def test_compiled_episodes_equal_python(scenario, overrides, sections, invalid_every):
    python, compiled = envs_for(scenario, overrides, sections)
    for seed in (0, 1):
        expected = play(python, seed, invalid_every)
        got = play(compiled, seed, invalid_every)
        assert python.engine_name == "python"
        assert_same(expected, got)
        assert "metrics" in got[-1][4]


def test_auto_runs_the_compiled_engine_where_supported():
    env = PodSchedulingEnv("default")
    env.reset(seed=0)
    assert env.engine_name == "compiled"
    env.step(int(np.flatnonzero(env.action_masks())[0]))
    assert env.engine_name == "compiled"


def test_reading_sim_hands_the_episode_over_with_the_same_state():
    """Mid-episode, env.sim is a Simulator in the Python engine's exact state; the episode goes on identically."""
    python, compiled = envs_for("default", {"simulation.horizon": 5400, "env.allow_pending": True}, {})
    for env in (python, compiled):
        obs, _ = env.reset(seed=3)
        rng = np.random.default_rng(3)
        for _ in range(150):
            obs, *_ = env.step(int(rng.choice(np.flatnonzero(obs["action_mask"]))))
    assert compiled.engine_name == "compiled"
    a, b = python.sim, compiled.sim
    assert compiled.engine_name == "python"
    for name in ("node_of", "queued_at", "ever_bound", "dropped", "_incarnation", "_attempted"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for name in ("now", "gpus_of", "node_pods", "_seq", "_current", "running", "_dirty", "gpu_arrived", "curve"):
        assert getattr(a, name) == getattr(b, name), name
    assert sorted(a._events) == b._events and sorted(a._queue) == b._queue
    assert list(a._unschedulable.since.items()) == list(b._unschedulable.since.items())
    for name in ("free_t", "requested_t", "scoring_requested_t", "pod_count", "gpu_free", "gpu_idle", "gpu_max_free"):
        np.testing.assert_array_equal(getattr(a.cluster, name), getattr(b.cluster, name), err_msg=name)
    assert (a.cluster.active_count, a.cluster.version) == (b.cluster.active_count, b.cluster.version)
    ma, mb = a.metrics, b.metrics
    for name in ("times", "alloc", "pending", "running", "active_nodes", "live_nodes", "sample_times", "waits"):
        assert getattr(ma, name) == getattr(mb, name), name
    for name in ("imbalance_cpu", "imbalance_memory", "fragmentation", "integrals", "_last", "_last_t"):
        assert getattr(ma, name) == getattr(mb, name), name
    assert python._reward_state == compiled._reward_state
    np.testing.assert_array_equal(python.action_masks(), compiled.action_masks())
    assert_same(play_on(python, 4), play_on(compiled, 4))


def play_on(env: PodSchedulingEnv, seed: int) -> list[tuple]:
    """Finish the current episode with random valid actions."""
    rng = np.random.default_rng(seed)
    mask = env.action_masks()
    steps = []
    while True:
        obs, reward, terminated, truncated, info = env.step(int(rng.choice(np.flatnonzero(mask))))
        steps.append((obs, reward, terminated, truncated, info))
        mask = obs["action_mask"].astype(bool)
        if terminated or truncated:
            return steps


def test_unsupported_scenario_falls_back_under_auto_and_is_refused_under_compiled():
    env = PodSchedulingEnv("node-failures", overrides={"simulation.horizon": 600})
    env.reset(seed=0)
    assert env.engine_name == "python"
    with pytest.raises(KubeObjectError, match=r"env\.engine.*failures: node failures"):
        PodSchedulingEnv("node-failures", env={"engine": "compiled"})
    with pytest.raises(KubeObjectError, match=r"reward_fn: a custom reward function"):
        PodSchedulingEnv("default", env={"engine": "compiled"}, reward_fn=lambda *args: 0.0)


def test_numpy_pairwise_sum_order():
    """The imbalance metric sums like np.sum (pairwise), so the compiled std is numpy's bit for bit."""
    rng = np.random.default_rng(0)
    for n in [*range(1, 300), 1000, 1025, 4097, 9000]:
        a = rng.random(n) * 10.0 ** rng.uniform(-3, 3, n)
        assert kernels._np_sum(a, n) == float(np.sum(a)), n


def test_vector_env_equals_single_envs():
    """The vector env steps every cluster in one compiled call; each equals a single env with the same seed."""
    num_envs, seed, steps = 3, 5, 2500
    overrides = {"simulation.horizon": 3600, "env.allow_pending": True}
    vec = PodSchedulingVectorEnv("default", num_envs=num_envs, overrides=overrides)
    singles = [PodSchedulingEnv("default", overrides={**overrides, "env.engine": "python"}) for _ in range(num_envs)]
    obs, info = vec.reset(seed=seed)
    single_obs = []
    for k, env in enumerate(singles):
        o, i = env.reset(seed=seed + k)
        single_obs.append(o)
        assert info["env_infos"][k] == i
    rng = np.random.default_rng(0)
    episodes = 0
    for _ in range(steps):
        for k in range(num_envs):
            for key in obs:
                assert obs[key][k].tobytes() == single_obs[k][key].tobytes()
        np.testing.assert_array_equal(vec.action_masks(), np.stack([e.action_masks() for e in singles]))
        actions = [int(rng.choice(np.flatnonzero(m))) for m in vec.action_masks()]
        obs, rewards, terminated, truncated, info = vec.step(actions)
        for k, env in enumerate(singles):
            o, r, te, tr, i = env.step(actions[k])
            assert (rewards[k], terminated[k], truncated[k]) == (r, te, tr)
            if te or tr:
                episodes += 1
                for key in o:
                    assert info["final_obs"][k][key].tobytes() == o[key].tobytes()
                assert info["env_infos"][k]["final_info"] == i
                o, i2 = env.reset()
                assert info["env_infos"][k]["reset_info"] == i2
            else:
                assert info["env_infos"][k] == i
            single_obs[k] = o
    assert episodes >= num_envs
