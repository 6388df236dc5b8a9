"""Environment throughput as ratios to Gymnasium's CartPole-v1, measured in the same process.

Random valid actions (a uniform choice among the allowed ones) for a fixed wall time each:
CartPole-v1 (gymnasium.make, random actions), the single PodSchedulingEnv on `default` and on a
100-node cluster, and the batched PodSchedulingVectorEnv on `default` (pod placements per second over
all its clusters; the actions of all clusters are drawn at once). Each runs the engine `env.engine: auto`
picks (the compiled one on these scenarios; `--engine python` for the Python engine), and the JSON says
which. The batched env is measured as it steps by default (one thread) and with ``threads`` = the cores
this process may use (numba's OpenMP threads). Targets: single env at 100 nodes >= 0.3x CartPole; batched
env >= 2x CartPole.

    python benchmarks/env_throughput.py [--seconds 3] [--num-envs 64] [--engine auto|python|compiled]
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

import podgym.envs as envs  # noqa: E402, F401  (registers the environment)
from podgym.envs.vector import PodSchedulingVectorEnv  # noqa: E402

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


WARM_UP_STEPS = 64  # real steps before any timing: every kernel a measurement calls is compiled and loaded


def single(seconds: float, overrides: dict, min_steps: int = 0) -> tuple[float, str]:
    """Steps per second of one env (at least `min_steps` steps) and the engine that ran it."""
    env = gym.make("podgym/PodScheduling-v0", scenario="default", overrides=overrides)
    obs, _ = env.reset(seed=0)
    engine = env.unwrapped.engine_name
    rng = np.random.default_rng(0)
    n, start = 0, time.perf_counter()
    while n < min_steps or time.perf_counter() - start < seconds:
        allowed = np.flatnonzero(obs["action_mask"])
        obs, _, terminated, truncated, _ = env.step(int(allowed[rng.integers(len(allowed))]))
        n += 1
        if terminated or truncated:
            obs, _ = env.reset()
    return n / (time.perf_counter() - start), engine


def batched(seconds: float, num_envs: int, overrides: dict, threads: int = 1, min_steps: int = 0) -> tuple[float, str]:
    """Pod placements per second of the vector env (all clusters; at least `min_steps` steps) and its engine."""
    env = PodSchedulingVectorEnv("default", num_envs=num_envs, overrides=overrides, threads=threads)
    obs, _ = env.reset(seed=0)
    engine = env.envs[0].engine_name
    rng = np.random.default_rng(0)
    n, start = 0, time.perf_counter()
    while n < min_steps * num_envs or time.perf_counter() - start < seconds:
        # A uniform choice among each cluster's allowed actions: the largest of iid uniforms over them.
        actions = np.argmax(rng.random(obs["action_mask"].shape) * obs["action_mask"], axis=1)
        obs, *_ = env.step(actions)
        n += num_envs
    return n / (time.perf_counter() - start), engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--num-envs", type=int, default=64)
    parser.add_argument("--engine", choices=["auto", "python", "compiled"], default="auto")
    args = parser.parse_args()
    engine = {"env.engine": args.engine}
    threads = len(os.sched_getaffinity(0))
    # Warm up with real steps (episodes end and reset within them) on every path a measurement takes, the
    # threaded kernel included: no timed window may include a compile or a first load from numba's cache.
    short = {**engine, "simulation.horizon": 1800}
    single(0.0, short, WARM_UP_STEPS)
    batched(0.0, 2, short, 1, WARM_UP_STEPS)
    batched(0.0, 2, short, threads, WARM_UP_STEPS)
    ref = cartpole(args.seconds)
    default, default_engine = single(args.seconds, engine)
    hundred, hundred_engine = single(args.seconds, {**pool_overrides(), **engine})
    vec, vec_engine = batched(args.seconds, args.num_envs, engine)
    vec_threads, _ = batched(args.seconds, args.num_envs, engine, threads)
    print(
        json.dumps(
            {
                "benchmark": "env_throughput",
                "engine_single_default": default_engine,
                "engine_single_100_nodes": hundred_engine,
                "engine_batched": vec_engine,
                "cartpole_steps_per_s": round(ref),
                "single_default_steps_per_s": round(default),
                "single_100_nodes_steps_per_s": round(hundred),
                "batched_placements_per_s": round(vec),
                "num_envs": args.num_envs,
                "threads": threads,
                "batched_threads_placements_per_s": round(vec_threads),
                "ratio_single_default": round(default / ref, 4),
                "ratio_single_100_nodes": round(hundred / ref, 4),
                "ratio_batched": round(vec / ref, 4),
                "ratio_batched_threads": round(vec_threads / ref, 4),
                "target_ratio_single_100_nodes": 0.3,
                "target_ratio_batched": 2.0,
            }
        )
    )


def pool_overrides() -> dict:
    return {"cluster.pools": POOLS_100, "workload.synthetic.arrivals.rate": 0.25, "env.max_nodes": 100}


if __name__ == "__main__":
    main()
