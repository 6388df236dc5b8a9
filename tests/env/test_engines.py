"""The compiled engine (envs.compiled) against the Python engine: whole episodes with random valid actions, invalid
actions and "leave pending", on default, taints-affinity and the benchmark's 100-node cluster, must give the same
observations (bytes), rewards (exactly equal), flags, infos and final metrics; the vector env must equal the single
envs; a scenario the compiled engine does not run falls back under `auto` and is refused under `compiled`."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import yaml

from benchmarks.env_throughput import pool_overrides
from podgym.envs import rewards
from podgym.envs.compiled import COVERAGE, kernels
from podgym.envs.compiled import engine as compiled_engine
from podgym.envs.env import PodSchedulingEnv
from podgym.envs.features import FEATURE_VERSION
from podgym.envs.kube.errors import ConfigError, KubeObjectError
from podgym.envs.kube.framework import UNSCHEDULABLE, Plugin, Status
from podgym.envs.kube.objects import LabelSelector, PodMatcher, SelectorRequirement
from podgym.envs.kube.plugins import REGISTRY
from podgym.envs.rewards import Linear
from podgym.envs.vector import PodSchedulingVectorEnv, unbatch_info

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
        "ha-services",
        {
            "failures": {},
            "simulation.preemption": False,  # the kernels do not preempt
            # the kernels check no spread or pod-affinity Filter: the services' placement rules are left out here
            "scheduler.filters": [
                "NodeUnschedulable",
                "NodeName",
                "TaintToleration",
                "NodeAffinity",
                "NodeResourcesFit",
            ],
            "simulation.horizon": 5400,
            "workload.synthetic.horizon": 5400,
            "cluster": {"pools": [{"name": "n", "count": 7, "cpu": "8", "memory": "32Gi", "zones": ["a", "b", "c"]}]},
        },
        {"reward": {"name": "weighted", "weights": {"availability": 1.0, "packing": 0.5}}},
        id="ha-services-crowded",
    ),  # services below their budgets for a while (7 nodes are too few): the unavailability signal, availability
    pytest.param(
        "openb",
        {
            "cluster.openb_nodes": str(OPENB_SAMPLE / "nodes.csv"),
            "workload.openb_pods.path": str(OPENB_SAMPLE / "pods.csv"),
        },
        {},
        id="openb-sample-trace",
    ),
    pytest.param("openb-small", {}, {}, id="openb-small"),  # 64 GPU nodes: FGD's score of every GPU pod shape
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


def test_a_hand_over_keeps_the_services_replicas_and_availability():
    """Mid-episode on crowded ha-services, env.sim counts the same running replicas and availability integrals as
    the Python engine, and the episode ends with the same metrics."""
    case = next(c for c in CASES if c.id == "ha-services-crowded")
    python, compiled = envs_for(*case.values)
    for env in (python, compiled):
        obs, _ = env.reset(seed=2)
        rng = np.random.default_rng(2)
        for _ in range(40):
            obs, *_ = env.step(int(rng.choice(np.flatnonzero(obs["action_mask"]))))
    assert compiled.engine_name == "compiled"
    a, b = python.sim, compiled.sim
    assert compiled.engine_name == "python"
    assert a.services.running.tolist() == b.services.running.tolist()
    assert a.metrics.service_time.tolist() == b.metrics.service_time.tolist()
    assert a.metrics.service_up_time.tolist() == b.metrics.service_up_time.tolist()
    assert a.metrics.integrals == b.metrics.integrals
    ends = []
    for env in (python, compiled):
        rng, done = np.random.default_rng(3), False
        while not done:
            obs, _, terminated, truncated, info = env.step(int(rng.choice(np.flatnonzero(env.action_masks()))))
            done = terminated or truncated
        ends.append(info["metrics"])
    assert ends[0] == ends[1] and ends[0]["services"] == 9


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
    sa, sb = a.state(), b.state()
    for name in ("node_of", "queued_at", "ever_bound", "dropped", "incarnation", "attempted"):
        np.testing.assert_array_equal(getattr(sa, name), getattr(sb, name), err_msg=name)
    for name in ("now", "gpus_of", "seq", "current", "running", "dirty", "gpu_arrived", "curve"):
        assert getattr(sa, name) == getattr(sb, name), name
    assert a.node_pods == b.node_pods
    assert (sa.events, sa.work_events, sa.queue) == (sb.events, sb.work_events, sb.queue)
    assert sa.unschedulable == sb.unschedulable
    for name in ("free_t", "requested_t", "scoring_requested_t", "pod_count", "gpu_free", "gpu_idle", "gpu_max_free"):
        np.testing.assert_array_equal(getattr(a.cluster, name), getattr(b.cluster, name), err_msg=name)
    assert (a.cluster.active_count, a.cluster.version) == (b.cluster.active_count, b.cluster.version)
    # What PodTopologySpread and InterPodAffinity read of the bound pods is handed over too: per template, the
    # bound pods per node, through a matcher of each template's labels (registered after the hand-over).
    for template in a.workload.templates:
        matcher = PodMatcher(
            LabelSelector(tuple(SelectorRequirement(k, "In", (v,)) for k, v in sorted(template.labels.items()))),
            frozenset((template.namespace,)),
        )
        np.testing.assert_array_equal(a.cluster.bound_pods.count(matcher), b.cluster.bound_pods.count(matcher))
    in_default = [a.workload.templates[t].namespace == "default" for t in a.workload.template[sa.node_of >= 0]]
    everything = PodMatcher(LabelSelector(), frozenset({"default"}))
    assert a.cluster.bound_pods.count(everything).sum() == sum(in_default) > 0
    ma, mb = a.metrics, b.metrics
    for name in ("times", "alloc", "pending", "running", "active_nodes", "live_nodes", "sample_times", "waits"):
        assert getattr(ma, name) == getattr(mb, name), name
    for name in ("imbalance_cpu", "imbalance_memory", "fragmentation", "integrals", "last", "last_t", "next_sample"):
        assert getattr(ma, name) == getattr(mb, name), name
    assert python.engine.reward_state == compiled.engine.reward_state
    assert python.engine.invalid_streak == compiled.engine.invalid_streak
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


def test_random_zone_failures_alone_keep_an_episode_off_the_compiled_engine():
    """The kernels run no failures: a scenario whose only failures are random zone outages runs on Python."""
    only_zones = {"failures.mtbf": None, "failures.events": [], "simulation.horizon": 600}
    env = PodSchedulingEnv("ha-services", overrides=only_zones)
    env.reset(seed=0)
    assert env.engine_name == "python"
    with pytest.raises(KubeObjectError, match=r"failures: node failures and recoveries \(of single nodes or whole"):
        PodSchedulingEnv("ha-services", overrides=only_zones, env={"engine": "compiled"})


def test_numpy_pairwise_sum_order():
    """The imbalance metric sums like np.sum (pairwise), so the compiled std is numpy's bit for bit."""
    rng = np.random.default_rng(0)
    for n in [*range(1, 300), 1000, 1025, 4097, 9000]:
        a = rng.random(n) * 10.0 ** rng.uniform(-3, 3, n)
        assert kernels._np_sum(a, n) == float(np.sum(a)), n


def assert_infos_equal(got: dict, want: dict, where: str = "infos") -> None:
    """Batched infos equal key by key: arrays, masks, nested infos and final observations."""
    assert set(got) == set(want), (where, sorted(set(got) ^ set(want)))
    for key, w in want.items():
        g = got[key]
        if isinstance(w, dict):
            assert_infos_equal(g, w, f"{where}[{key!r}]")
        elif key == "final_obs":
            assert [o is None for o in g] == [o is None for o in w], where
            for go, wo in zip(g, w):
                if wo is not None:
                    assert {k: v.tobytes() for k, v in go.items()} == {k: v.tobytes() for k, v in wo.items()}
        else:
            assert g.dtype == w.dtype and g.tolist() == w.tolist(), (where, key, g, w)


def test_vector_env_equals_gymnasium_sync_vector_env_over_python_engine_envs():
    """One kernel call steps every cluster; observations, rewards, ends and the batched infos (final_obs,
    final_info with the metrics, reset infos, invalid actions) are those of Gymnasium's own SyncVectorEnv
    (SAME_STEP autoreset) over single envs on the Python engine."""
    num_envs, seed, steps = 3, 5, 2500
    overrides = {"simulation.horizon": 3600, "env.allow_pending": True}
    vec = PodSchedulingVectorEnv("default", num_envs=num_envs, overrides=overrides)
    ref = gym.vector.SyncVectorEnv(
        [lambda: PodSchedulingEnv("default", overrides={**overrides, "env.engine": "python"})] * num_envs,
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
    )
    obs, info = vec.reset(seed=seed)
    want_obs, want_info = ref.reset(seed=seed)
    assert all(env.engine_name == "compiled" for env in vec.envs)
    assert all(env.engine_name == "python" for env in ref.envs)
    assert_infos_equal(info, want_info)
    rng = np.random.default_rng(0)
    episodes = invalid = 0
    for _ in range(steps):
        for key in obs:
            assert obs[key].tobytes() == want_obs[key].tobytes()
        masks = vec.action_masks()
        np.testing.assert_array_equal(masks, np.stack(ref.call("action_masks")))
        actions = np.array([int(rng.choice(np.flatnonzero(m))) for m in masks])
        if rng.random() < 0.05:  # now and then an action that is not allowed
            actions[int(rng.integers(num_envs))] = -1
            invalid += 1
        obs, rewards, terminated, truncated, info = vec.step(actions)
        want_obs, want_rewards, want_terminated, want_truncated, want_info = ref.step(actions)
        assert rewards.tolist() == want_rewards.tolist()
        assert terminated.tolist() == want_terminated.tolist() and truncated.tolist() == want_truncated.tolist()
        assert_infos_equal(info, want_info)
        episodes += int((terminated | truncated).sum())
    assert episodes >= num_envs and invalid > 0


def test_vector_env_with_services_equals_python_engine_envs():
    """Crowded ha-services in one kernel call per step: rewards (availability and packing), ends and infos (the
    services' availability in the final metrics) are those of single envs on the Python engine."""
    case = next(c for c in CASES if c.id == "ha-services-crowded")
    _, overrides, sections = case.values
    vec = PodSchedulingVectorEnv("ha-services", num_envs=2, overrides=overrides, **sections)
    ref = gym.vector.SyncVectorEnv(
        [lambda: PodSchedulingEnv("ha-services", overrides={**overrides, "env.engine": "python"}, **sections)] * 2,
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
    )
    _, info = vec.reset(seed=7)
    _, want_info = ref.reset(seed=7)
    assert all(env.engine_name == "compiled" for env in vec.envs)
    assert_infos_equal(info, want_info)
    rng = np.random.default_rng(1)
    ended = 0
    for _ in range(400):
        actions = np.array([int(rng.choice(np.flatnonzero(m))) for m in vec.action_masks()])
        obs, rewards, terminated, truncated, info = vec.step(actions)
        want_obs, want_rewards, want_terminated, want_truncated, want_info = ref.step(actions)
        assert all(obs[key].tobytes() == want_obs[key].tobytes() for key in obs)
        assert rewards.tolist() == want_rewards.tolist()
        assert terminated.tolist() == want_terminated.tolist() and truncated.tolist() == want_truncated.tolist()
        assert_infos_equal(info, want_info)
        ended += int((terminated | truncated).sum())
    assert ended >= 2


def test_unbatch_info_gives_each_envs_own_info():
    vec = PodSchedulingVectorEnv("default", num_envs=2, overrides={"simulation.horizon": 600})
    singles = [PodSchedulingEnv("default", overrides={"simulation.horizon": 600}) for _ in range(2)]
    _, info = vec.reset(seed=3)
    for k, env in enumerate(singles):
        assert unbatch_info(info, k) == env.reset(seed=3 + k)[1]
    ended = False
    while not ended:
        actions = [int(np.flatnonzero(m)[0]) for m in vec.action_masks()]
        _, _, terminated, truncated, info = vec.step(actions)
        for k, env in enumerate(singles):
            _, _, te, tr, single = env.step(actions[k])
            assert (terminated[k], truncated[k]) == (te, tr)
            if te or tr:
                ended = True
                assert unbatch_info(info["final_info"], k) == single  # with the episode's metrics
                assert "metrics" in single
                top = unbatch_info(info, k)
                assert set(top.pop("final_obs")) == {"nodes", "pod", "action_mask"}
                assert top.pop("final_info") == single
                assert top == env.reset()[1]  # the new episode's reset info
            else:
                assert unbatch_info(info, k) == single


THREADS_SCRIPT = """
import json, sys
import numpy as np
from podgym.envs.vector import PodSchedulingVectorEnv

out = []
for threads in (1, 2):
    vec = PodSchedulingVectorEnv("default", num_envs=8, threads=threads, overrides={"simulation.horizon": 3600})
    obs, _ = vec.reset(seed=3)
    rng = np.random.default_rng(0)
    digest = []
    for _ in range(1500):
        actions = np.argmax(rng.random(obs["action_mask"].shape) * obs["action_mask"], axis=1)
        obs, rewards, terminated, truncated, _ = vec.step(actions)
        digest.append([obs["nodes"].sum(dtype=np.float64).item(), rewards.tolist(), (terminated | truncated).tolist()])
    out.append({"engine": vec.envs[0].engine_name, "digest": digest, "nodes": obs["nodes"].tobytes().hex()})
json.dump(out, sys.stdout)
"""


def test_vector_env_on_threads_gives_the_same_results():
    """threads=2 (numba's OpenMP pool, run in its own process: it is not fork-safe) steps as one thread does."""
    done = subprocess.run(
        [sys.executable, "-c", THREADS_SCRIPT], capture_output=True, text=True, timeout=300, check=True
    )
    one, two = json.loads(done.stdout)
    assert one["engine"] == two["engine"] == "compiled"
    assert sum(any(d[2]) for d in one["digest"]) > 0  # episodes ended (and reset) along the way
    assert one == two


def _step_in_child(seed: int) -> tuple[str, float]:
    env = PodSchedulingEnv("default", overrides={"simulation.horizon": 1800})
    obs, _ = env.reset(seed=seed)
    total = 0.0
    while True:
        obs, reward, terminated, truncated, _ = env.step(int(np.flatnonzero(obs["action_mask"])[0]))
        total += reward
        if terminated or truncated:
            break
    vec = PodSchedulingVectorEnv("default", num_envs=4, overrides={"simulation.horizon": 1800})
    vec.reset(seed=seed)
    for _ in range(50):
        vec.step([int(np.flatnonzero(m)[0]) for m in vec.action_masks()])
    return env.engine_name, total


def test_processes_forked_after_the_compiled_engine_ran_can_run_it():
    """evaluate.py's workers are forked: the default (one-thread) compiled engine keeps that safe."""
    here = _step_in_child(0)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        children = list(pool.map(_step_in_child, [0, 1]))
    assert here[0] == children[0][0] == children[1][0] == "compiled"
    assert children[0] == here


class OnePodPerNode(Plugin):
    """A Filter plugin that reads what runs on a node, which the compiled kernels do not implement."""

    name = "OnePodPerNode"
    filters = True
    dynamic = True
    REASON = "node(s) already run a pod"

    def filter(self, state, pod, node):
        return Status(UNSCHEDULABLE, (self.REASON,), self.name) if node.pods else None

    def fits(self, cluster, pod):
        return cluster.pod_count == 0

    def fit_reasons(self, cluster, pod):
        return [[(self.REASON, False)] if count else [] for count in cluster.pod_count]

    def hint(self, cluster, requests, node, templates=(), template_of=None):
        return np.full(len(requests), cluster.pod_count[node] == 0)


def test_a_plugin_the_kernels_do_not_cover_leaves_the_compiled_engine(monkeypatch, tmp_path):
    """Adding a Filter plugin to the profile: `auto` runs Python (which enforces it) and `compiled` names the field."""
    monkeypatch.setitem(REGISTRY, OnePodPerNode.name, OnePodPerNode)
    config = tmp_path / "scheduler.yaml"
    config.write_text(
        "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n"
        "profiles:\n- plugins:\n    filter:\n      enabled:\n      - name: OnePodPerNode\n"
    )
    overrides = {"scheduler.config": str(config), "simulation.horizon": 1800}
    env = PodSchedulingEnv("default", overrides=overrides)
    steps = play(env, 0)
    assert env.engine_name == "python"
    assert env.sim.cluster.pod_count.max() == 1 and len(steps) > 1
    with pytest.raises(ConfigError, match=r"env\.engine.*scheduler: Filter plugin OnePodPerNode"):
        PodSchedulingEnv("default", overrides={**overrides, "env.engine": "compiled"})
    plain = PodSchedulingEnv("default", overrides={"simulation.horizon": 1800})
    plain.reset(seed=0)
    assert plain.engine_name == "compiled"


def test_a_reward_over_a_signal_the_kernels_do_not_compute_leaves_the_compiled_engine(monkeypatch):
    monkeypatch.setattr(rewards, "REWARD_SIGNALS", (*rewards.REWARD_SIGNALS, "available_services"))
    monkeypatch.setitem(rewards.OBJECTIVES, "energy", lambda c, scale, n: Linear(inner=(("available_services", 1.0),)))
    env = PodSchedulingEnv("default", overrides={"simulation.horizon": 600}, reward={"name": "energy"})
    env.reset(seed=0)
    assert env.engine_name == "python"
    with pytest.raises(ConfigError, match=r"reward: objective signal 'available_services'"):
        PodSchedulingEnv("default", reward={"name": "energy"}, env={"engine": "compiled"})


def test_another_feature_version_leaves_the_compiled_engine(monkeypatch):
    monkeypatch.setattr(compiled_engine, "FEATURE_VERSION", COVERAGE.feature_version + 1)
    with pytest.raises(ConfigError, match=r"env: observation features version"):
        PodSchedulingEnv("default", env={"engine": "compiled"})
    env = PodSchedulingEnv("default", overrides={"simulation.horizon": 600})
    env.reset(seed=0)
    assert env.engine_name == "python"


def test_the_coverage_matches_the_kernels():
    """The declared reward signals are the kernels' own, in envs.rewards.REWARD_SIGNALS order; the feature version
    is envs.features' (a new version must be implemented in the kernels, then declared)."""
    assert kernels.REWARD_SIGNALS == rewards.REWARD_SIGNALS
    assert COVERAGE.signals == set(rewards.REWARD_SIGNALS)
    assert COVERAGE.feature_version == FEATURE_VERSION


def _replica_scenario(tmp_path: Path, affinity: dict) -> Path:
    """Six nodes over three zones and one class of replicas with `affinity` (against the class's own pods)."""
    data = {
        "name": "replicas",
        "cluster": {"pools": [{"name": "w", "count": 6, "cpu": "4", "memory": "16Gi", "zones": ["a", "b", "c"]}]},
        "workload": {
            "synthetic": {
                "num_pods": 12,
                "arrivals": {"process": "poisson", "rate": 1.0},
                "classes": [{"name": "web", "cpu": "100m", "memory": "128Mi", "affinity": affinity}],
            }
        },
        "simulation": {"horizon": 600},
    }
    path = tmp_path / "replicas.json"
    path.write_text(json.dumps(data))
    return path


def _anti_affinity(kind: str) -> dict:
    term = {"labelSelector": {"matchLabels": {"podgym.io/class": "web"}}, "topologyKey": "kubernetes.io/hostname"}
    if kind == "required":
        return {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}
    return {
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 10, "podAffinityTerm": term}]
        }
    }


def test_required_pod_anti_affinity_leaves_the_compiled_engine(tmp_path):
    """InterPodAffinity reads the bound pods: pods it can reject run on Python under `auto` (which keeps replicas
    apart), and `compiled` names it; pods with only preferred terms keep the compiled engine (Score takes no part
    in an env episode)."""
    path = _replica_scenario(tmp_path, _anti_affinity("required"))
    env = PodSchedulingEnv(str(path))
    steps = play(env, 0)
    assert env.engine_name == "python" and len(steps) > 1
    assert env.sim.cluster.pod_count.max() == 1  # at most one replica per node, 6 of 12 placed
    with pytest.raises(ConfigError, match=r"env\.engine.*scheduler: Filter plugin InterPodAffinity"):
        PodSchedulingEnv(str(path), overrides={"env.engine": "compiled"})
    soft = PodSchedulingEnv(str(_replica_scenario(tmp_path, _anti_affinity("preferred"))))
    soft.reset(seed=0)
    assert soft.engine_name == "compiled"


def test_host_ports_leave_the_compiled_engine_and_pods_without_them_keep_it(tmp_path):
    """NodePorts is in the default profile and the kernels do not check host ports: a workload with a host port runs
    on Python under `auto` (which enforces it: two pods asking the same port never share a node) and is refused
    under `compiled`, naming NodePorts; a workload without host ports stays compiled (its PreFilter skips them)."""

    def manifest(name: str, host_port: int | None) -> dict:
        ports = [{"containerPort": 80, "hostPort": host_port}] if host_port else []
        c = {"name": "c", "image": "nginx", "ports": ports, "resources": {"requests": {"cpu": "100m"}}}
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": [c]}}

    pools = [{"name": "n", "count": 3, "cpu": "8", "memory": "32Gi"}]

    def scenario(pods: list[dict]) -> Path:
        (tmp_path / "pods.yaml").write_text(yaml.safe_dump_all(pods, sort_keys=False))
        data = {"name": "ports", "cluster": {"pools": pools}, "workload": {"manifests": ["pods.yaml"]}}
        (tmp_path / "ports.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        return tmp_path / "ports.yaml"

    with_ports = scenario([manifest(f"web-{i}", 8080) for i in range(3)] + [manifest("db", 5432)])
    env = PodSchedulingEnv(with_ports)
    play(env, 0)
    assert env.engine_name == "python"
    nodes = env.sim.node_of.tolist()
    assert sorted(nodes[:3]) == [0, 1, 2]  # one 8080 per node
    with pytest.raises(ConfigError, match=r"env\.engine.*scheduler: Filter plugin NodePorts"):
        PodSchedulingEnv(with_ports, env={"engine": "compiled"})
    plain = PodSchedulingEnv(scenario([manifest(f"web-{i}", None) for i in range(4)]))
    plain.reset(seed=0)
    assert plain.engine_name == "compiled"


def test_a_scenario_that_preempts_leaves_the_compiled_engine(tmp_path):
    """The kernels do not run DefaultPreemption: with `simulation.preemption` and pods of several priorities, `auto`
    runs Python (which preempts: high-priority pods evict low ones) and `compiled` refuses, naming it; the same
    pods without preemption, or with one priority, stay compiled."""

    def scenario(priorities: tuple[int, int], preemption: bool) -> Path:
        classes = [
            {"name": "low", "weight": 3, "cpu": "8", "memory": "1Gi", "priority": priorities[0]},
            {"name": "high", "weight": 1, "cpu": "8", "memory": "1Gi", "priority": priorities[1]},
        ]
        data = {
            "name": "preempt",
            "cluster": {"pools": [{"name": "n", "count": 2, "cpu": "8", "memory": "32Gi"}]},
            "workload": {
                "synthetic": {
                    "num_pods": 30,
                    "arrivals": {"process": "poisson", "rate": 0.01},
                    "lifetime": {"distribution": "exponential", "mean": 3000},
                    "classes": classes,
                }
            },
            "simulation": {"preemption": preemption},
        }
        (tmp_path / "preempt.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        return tmp_path / "preempt.yaml"

    env = PodSchedulingEnv(scenario((1, 10), True))
    play(env, 0)
    assert env.engine_name == "python"
    metrics = env.sim.summary()
    assert metrics.preemptions > 0 and metrics.preemption_victims == metrics.preemptions
    with pytest.raises(ConfigError, match=r"env\.engine.*simulation\.preemption: PostFilter plugin DefaultPreemption"):
        PodSchedulingEnv(scenario((1, 10), True), env={"engine": "compiled"})
    for path in (scenario((1, 10), False), scenario((5, 5), True)):
        plain = PodSchedulingEnv(path)
        plain.reset(seed=0)
        assert plain.engine_name == "compiled"
