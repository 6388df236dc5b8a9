"""What only the Python engine runs, through the environment, step by step and worked out by hand: node failures,
the autoscaler, a cluster snapshot and a custom reward_fn (the compiled engine declines each of them, so no
parity test can cover them).

The toy clusters have 4-cpu nodes and pods of 3 cpu that all arrive at time 0 and never leave (manifests), so
every node holds at most one pod and every time and metric below follows from the event times alone.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

from podgym.envs.env import PodSchedulingEnv
from podgym.envs.kube.errors import KubeObjectError

REPO = Path(__file__).resolve().parents[2]
POD = {"name": "c", "image": "x", "resources": {"requests": {"cpu": "3", "memory": "1Gi"}}}
THREE_NODES = {"pools": [{"name": "n", "count": 3, "cpu": "4", "memory": "16Gi"}]}
FAIL_AND_RECOVER = {
    "events": [{"time": 100, "node": "n-0", "action": "fail"}, {"time": 200, "node": "n-0", "action": "recover"}]
}


def scenario(tmp_path: Path, **sections) -> Path:
    pods = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}", "namespace": "default"},
             "spec": {"containers": [POD]}}
            for i in range(3)
        ],
    }  # fmt: skip
    (tmp_path / "pods.yaml").write_text(yaml.safe_dump(pods))
    data = {"name": "toy", "workload": {"manifests": ["pods.yaml"]}, "simulation": {"horizon": 1000}, **sections}
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def steps(env: PodSchedulingEnv, actions: list[int]) -> list[tuple]:
    """(reward, terminated, truncated, time, mask, next pod) after each action."""
    out = []
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        out.append((reward, terminated, truncated, info["time"], obs["action_mask"].tolist(), info.get("pod")))
    return out, info


def test_a_node_failure_evicts_its_pod_which_waits_for_the_recovery(tmp_path):
    path = scenario(tmp_path, cluster=THREE_NODES, failures=FAIL_AND_RECOVER)
    env = PodSchedulingEnv(path)
    obs, info = env.reset(seed=0)
    assert env.engine_name == "python"
    assert (info["time"], info["pod"], obs["action_mask"].tolist()) == (0.0, "p0", [1, 1, 1])
    got, info = steps(env, [0, 1, 2, 0])
    # p0 -> n-0, p1 -> n-1, p2 -> n-2 at 0; n-0 fails at 100 and evicts p0, which fits nowhere (n-1 and n-2 hold
    # 3 of their 4 cpu) until n-0 recovers at 200: the next decision is p0's, at 200, on n-0 alone. The packing
    # reward pays (0.75 cpu share + 0 GPU) / 2 over 200 s of the 1000 s horizon when time moves: 0.075.
    assert got == [
        (0.0, False, False, 0.0, [0, 1, 1], "p1"),
        (0.0, False, False, 0.0, [0, 0, 1], "p2"),
        (pytest.approx(0.075, abs=1e-15), False, False, 200.0, [1, 0, 0], "p0"),
        (0.0, True, False, 200.0, [0, 0, 0], None),
    ]
    m = info["metrics"]
    assert (m["evictions"], m["scheduling_attempts"], m["failed_attempts"], m["pods_scheduled"]) == (1, 5, 1, 3)
    assert m["wait_mean_s"] == 25.0  # waits 0, 0, 0 and 100 (p0's second wait)
    assert m["wait_p95_s"] == pytest.approx(85.0)  # numpy's linear quantile of [0, 0, 0, 100]
    assert m["cpu_allocation_mean"] == 0.75  # 9 of 12 cpu, then 6 of the 8 on live nodes
    assert m["pending_pods_mean"] == 0.5  # 0 for 100 s, 1 for 100 s
    assert m["active_node_hours"] == pytest.approx(500 / 3600)  # 3 nodes for 100 s, 2 for 100 s
    assert m["duration_s"] == 200.0


def test_the_autoscaler_powers_on_a_node_per_pending_pod_after_the_delay(tmp_path):
    path = scenario(
        tmp_path,
        cluster={"pools": [{"name": "base", "count": 1, "cpu": "4", "memory": "16Gi"},
                           {"name": "extra", "count": 2, "cpu": "4", "memory": "16Gi"}]},
        autoscaler={"pool": "extra", "provision_delay": 60, "scale_down_after": 300},
    )  # fmt: skip
    env = PodSchedulingEnv(path)
    obs, info = env.reset(seed=0)
    assert env.engine_name == "python"
    assert obs["action_mask"].tolist() == [1, 0, 0]  # the extra nodes start powered off
    got, info = steps(env, [0, 1, 2])
    # p1 and p2 fit nowhere at 0: one node comes up at 60 (p1 takes it), p2 still waits, a second at 120.
    # Rewards: 0.375 (the cpu share / 2) per second / 1000 over [0, 60], [60, 120], then [120, 420] when the
    # scale-down check at 420 (120 + 300) finds no idle node and the run ends.
    assert got == [
        (pytest.approx(0.0225, abs=1e-15), False, False, 60.0, [0, 1, 0], "p1"),
        (pytest.approx(0.0225, abs=1e-15), False, False, 120.0, [0, 0, 1], "p2"),
        (pytest.approx(0.1125, abs=1e-15), True, False, 420.0, [0, 0, 0], None),
    ]
    m = info["metrics"]
    assert (m["scheduling_attempts"], m["failed_attempts"]) == (6, 3)  # p0 once, p1 twice, p2 three times
    assert m["wait_mean_s"] == 60.0  # 0, 60, 120
    assert m["pending_pods_mean"] == pytest.approx((2 * 60 + 1 * 60) / 420)
    assert m["active_node_hours"] == pytest.approx((1 * 60 + 2 * 60 + 3 * 300) / 3600)
    assert m["cpu_allocation_mean"] == 0.75  # 3/4, 6/8, 9/12 of the powered-on nodes


def test_a_cluster_snapshot_starts_from_its_bound_pods(tmp_path):
    data = {
        "name": "snap",
        "cluster": {"snapshot": {"nodes": str(REPO / "tests/data/snapshot/nodes.json"),
                                 "pods": str(REPO / "tests/data/snapshot/pods.yaml")}},
        "workload": {"snapshot_pending": True},
        "simulation": {"horizon": 600},
    }  # fmt: skip
    path = tmp_path / "snap.yaml"
    path.write_text(yaml.safe_dump(data))
    env = PodSchedulingEnv(path)
    obs, info = env.reset(seed=0)
    assert env.engine_name == "python"
    # Pending pods web-2 (created 10:04, no requests) and web-3 (10:05); web-2 first. node-b's NoSchedule taint
    # keeps both off it.
    assert (info["pending"], info["running"], info["pod"]) == (2, 3, "web-2")
    assert obs["action_mask"].tolist() == [1, 0, 1]
    # Free shares: node-a 7910m less web-1's 1 cpu (done-1 Succeeded: ignored); node-b less batch-1's 3 cpu
    # (its init container's 3 cpu outweighs its 500m container); gpu-a 63 less 16 cpu, 4 of 8 GPUs.
    expected = np.array(
        [
            [(7910 - 1000) / 7910, (31 - 2) / 31, 0.0],
            [(7910 - 3000) / 7910, (31 - 4) / 31, 0.0],
            [(63 - 16) / 63, (500 - 64) / 500, 0.5],
        ],
        dtype=np.float32,
    )
    np.testing.assert_array_equal(obs["nodes"][:, :3], expected)
    assert obs["pod"][5] == np.float32(math.tanh(2 / 3))  # pending pods per node
    _, _, _, _, info = env.step(0)
    assert info["pod"] == "web-3"


def test_a_custom_reward_fn_gets_every_transition(tmp_path):
    path = scenario(tmp_path, cluster=THREE_NODES, failures=FAIL_AND_RECOVER)
    calls = []

    def cpu_seconds(state, action, next_state, is_valid, is_done) -> float:
        calls.append((state.time, action, next_state.time, is_valid, is_done))
        return next_state.integrals["cpu"] - state.integrals["cpu"] + (0.0 if is_valid else -7.0)

    env = PodSchedulingEnv(path, reward_fn=cpu_seconds)
    env.reset(seed=0)
    assert env.engine_name == "python"
    rewards = [env.step(a)[1] for a in (0, 2, 1, 0)]
    # ∫ cpu share dt = 0.75 · 100 + 0.75 · 100 = 150, paid by the third step, which moves time from 0 to 200.
    assert rewards == [0.0, 0.0, 150.0, 0.0]
    assert calls == [(0.0, 0, 0.0, True, False), (0.0, 2, 0.0, True, False), (0.0, 1, 200.0, True, False),
                     (200.0, 0, 200.0, True, True)]  # fmt: skip
    # An invalid action that ends the episode (the terminate rule) reaches reward_fn with is_valid False.
    env = PodSchedulingEnv(path, reward_fn=cpu_seconds, env={"invalid_action": {"rule": "terminate"}})
    env.reset(seed=0)
    _, reward, terminated, *_ = env.step(10**6)
    assert terminated and reward == -1.0 - 7.0  # the rule's penalty plus the function's
    assert calls[-1] == (0.0, 10**6, 0.0, False, True)


def test_the_compiled_engine_refuses_what_it_does_not_run(tmp_path):
    path = scenario(tmp_path, cluster=THREE_NODES, failures=FAIL_AND_RECOVER)
    with pytest.raises((KubeObjectError, ValueError), match="failures"):
        PodSchedulingEnv(path, env={"engine": "compiled"}).reset(seed=0)


@pytest.mark.parametrize(
    ("reward", "warns"),
    [
        ({}, True),
        ({"name": "allocation"}, False),
        ({"name": "weighted", "weights": {"allocation": 1, "waiting": 1}}, False),
    ],
)
def test_an_episode_ending_at_time_0_says_its_time_integral_reward_is_0(tmp_path, reward, warns):
    # A snapshot whose pending pods are all placed as they arrive, at time 0: the default `packing`, a time
    # integral, pays 0 whatever the policy does, and the env says so once; `allocation` pays.
    data = {
        "name": "snap",
        "cluster": {"snapshot": {"nodes": str(REPO / "tests/data/snapshot/nodes.json"),
                                 "pods": str(REPO / "tests/data/snapshot/pods.yaml")}},
        "workload": {"snapshot_pending": True},
        "reward": reward,
    }  # fmt: skip
    path = tmp_path / "snap.yaml"
    path.write_text(yaml.safe_dump(data))
    env = PodSchedulingEnv(path)
    total = 0.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):  # said once, not at every episode
            obs, _ = env.reset(seed=0)
            done = False
            while not done:
                obs, r, terminated, truncated, _ = env.step(int(np.flatnonzero(obs["action_mask"])[0]))
                total += r
                done = terminated or truncated
    said = [w for w in caught if "ended at simulated time 0" in str(w.message)]
    assert len(said) == (1 if warns else 0)
    assert (total == 0.0) == warns
