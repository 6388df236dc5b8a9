"""Environment throughput as ratios to Gymnasium's CartPole-v1, measured in the same process.

Random valid actions (a uniform choice among the allowed ones) for a fixed wall time each:
CartPole-v1 (gymnasium.make, random actions), the single PodSchedulingEnv on `default` and on a
100-node cluster, and the batched PodSchedulingVectorEnv (pod placements per second over all its
clusters). Targets: single env at 100 nodes >= 0.3x CartPole; batched env >= 2x CartPole.

    python benchmarks/env_throughput.py [--seconds 3] [--num-envs 16]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

import envs  # noqa: E402, F401  (registers the environment)
from envs.vector import PodSchedulingVectorEnv  # noqa: E402

# A 100-node cluster (80 cpu nodes, 20 GPU nodes) with the default workload scaled to its size.
POOLS_100 = [
    {"name": "cpu", "count": 80, "cpu": "16", "memory": "64Gi", "zones": ["zone-a", "zone-b"]},
    {"name": "gpu", "count": 20, "cpu": "32", "memory": "128Gi", "gpus": 4, "gpu_model": "Tesla-T4"},
]


def cartpole(seconds: float) -> float:
    env = gym.make("CartPole-v1")
    env.reset(seed=0)
    space = env.action_space
    space.seed(0)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        _, _, terminated, truncated, _ = env.step(space.sample())
        n += 1
        if terminated or truncated:
            env.reset()
    return n / (time.perf_counter() - start)


def single(seconds: float, **kwargs) -> float:
    env = gym.make("podgym/PodScheduling-v0", **kwargs)
    obs, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        obs, _, terminated, truncated, _ = env.step(int(rng.choice(np.flatnonzero(obs["action_mask"]))))
        n += 1
        if terminated or truncated:
            obs, _ = env.reset()
    return n / (time.perf_counter() - start)


def batched(seconds: float, num_envs: int) -> float:
    env = PodSchedulingVectorEnv("default", num_envs=num_envs)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        masks = env.action_masks()
        actions = [int(rng.choice(np.flatnonzero(m))) for m in masks]
        env.step(actions)
        n += num_envs
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--num-envs", type=int, default=16)
    args = parser.parse_args()
    ref = cartpole(args.seconds)
    default = single(args.seconds, scenario="default")
    hundred = single(args.seconds, scenario="default", overrides=pool_overrides())
    vec = batched(args.seconds, args.num_envs)
    print(
        json.dumps(
            {
                "benchmark": "env_throughput",
                "cartpole_steps_per_s": round(ref),
                "single_default_steps_per_s": round(default),
                "single_100_nodes_steps_per_s": round(hundred),
                "batched_placements_per_s": round(vec),
                "num_envs": args.num_envs,
                "ratio_single_default": round(default / ref, 4),
                "ratio_single_100_nodes": round(hundred / ref, 4),
                "ratio_batched": round(vec / ref, 4),
                "target_ratio_single_100_nodes": 0.3,
                "target_ratio_batched": 2.0,
            }
        )
    )


def pool_overrides() -> dict:
    return {"cluster.pools": POOLS_100, "workload.synthetic.arrivals.rate": 0.25, "env.max_nodes": 100}


if __name__ == "__main__":
    main()
