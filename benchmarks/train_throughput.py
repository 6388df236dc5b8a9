"""Training throughput as a ratio to stable-baselines3's PPO on CartPole-v1, measured in the same process.

Both learn with the same PPO settings (n_envs environments, n_steps per rollout, n_epochs, batch size, one torch
thread): SB3 PPO with its MlpPolicy on CartPole-v1 (DummyVecEnv), and podgym's MaskablePPO with the per-node
network on a scenario's batched compiled env (``PodSchedulingVectorEnv`` through ``SB3VecEnv``), as train.py
runs it. Reported per algorithm: env steps per second inside rollout collection (the policy's forward pass,
the env steps and the buffer; what "throughput" means for an RL environment) and over the whole learn() call
(collection and gradient updates), and their ratios to CartPole's.

    python benchmarks/train_throughput.py [--steps 8192] [--scenario default] [--n-envs 4] [--hidden 64]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import torch as th  # noqa: E402


def timed_learn(model, steps: int) -> dict[str, float]:
    """model.learn(steps) with the time spent in collect_rollouts measured apart."""
    inner = model.collect_rollouts
    spent = {"collect": 0.0}

    def collect(*args, **kwargs):
        start = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent["collect"] += time.perf_counter() - start

    model.collect_rollouts = collect
    start = time.perf_counter()
    model.learn(steps)
    total = time.perf_counter() - start
    done = model.num_timesteps
    return {"steps": done, "collect_steps_per_s": done / spent["collect"], "learn_steps_per_s": done / total}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=8192, help="env steps per algorithm")
    parser.add_argument("--scenario", default="default")
    parser.add_argument("--n-envs", type=int, default=4)
    parser.add_argument("--n-steps", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=64)
    args = parser.parse_args(argv)
    th.set_num_threads(1)

    from sb3_contrib import MaskablePPO
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    from podgym.agents.sb3_policy import MaskableNodeScoringPolicy
    from podgym.agents.vec_env import SB3VecEnv
    from podgym.envs.vector import PodSchedulingVectorEnv

    common = {"n_steps": args.n_steps, "batch_size": 256, "n_epochs": 4, "seed": 0, "device": "cpu", "verbose": 0}
    cartpole = PPO("MlpPolicy", make_vec_env("CartPole-v1", n_envs=args.n_envs, seed=0), **common)
    ref = timed_learn(cartpole, args.steps)
    vec = PodSchedulingVectorEnv(args.scenario, num_envs=args.n_envs)
    venv = SB3VecEnv(vec)
    venv.seed(0)
    model = MaskablePPO(MaskableNodeScoringPolicy, venv, policy_kwargs={"hidden": args.hidden}, **common)
    ours = timed_learn(model, args.steps)
    print(
        json.dumps(
            {
                "benchmark": "train_throughput",
                "scenario": args.scenario,
                "engine": vec.envs[0].engine_name,
                "n_envs": args.n_envs,
                "steps": args.steps,
                "cartpole_collect_steps_per_s": round(ref["collect_steps_per_s"]),
                "cartpole_learn_steps_per_s": round(ref["learn_steps_per_s"]),
                "podgym_collect_steps_per_s": round(ours["collect_steps_per_s"]),
                "podgym_learn_steps_per_s": round(ours["learn_steps_per_s"]),
                "ratio_collect": round(ours["collect_steps_per_s"] / ref["collect_steps_per_s"], 4),
                "ratio_learn": round(ours["learn_steps_per_s"] / ref["learn_steps_per_s"], 4),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
