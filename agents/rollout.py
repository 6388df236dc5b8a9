"""Running policies in the Gymnasium environment: heuristics (node scorers) and learned networks alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from podgym.envs.env import PodSchedulingEnv

Actor = Callable[[PodSchedulingEnv, dict[str, np.ndarray]], int]


def heuristic_actor(policy: Any, seed: int = 0) -> Actor:
    """An actor that asks a node scorer to score the feasible nodes and takes the best, breaking ties by the
    scenario's rule as ``Simulator.run`` does: the lowest node rank (``simulation.tie_break: rank``), else a seeded
    uniform choice.

    Policies with hooks get them as in ``Simulator.run``: ``reset(sim)`` at each new episode and placement
    events through the simulator's listeners.
    """
    rng = np.random.default_rng(seed)
    seen: dict[str, Any] = {"sim": None}

    def act(env: PodSchedulingEnv, obs: dict[str, np.ndarray]) -> int:
        sim = env.sim
        if seen["sim"] is not sim:
            seen["sim"] = sim
            if hasattr(policy, "reset"):
                policy.reset(sim)
            if hasattr(policy, "on_bind"):
                sim.listeners.append(policy)
        nodes = np.flatnonzero(obs["action_mask"][: env.num_nodes])
        if len(nodes) == 0:
            return int(np.flatnonzero(obs["action_mask"])[0])
        if len(nodes) == 1:
            return int(nodes[0])
        scores = np.asarray(policy.score(sim.cluster, sim.request(env.pod), nodes))
        best = nodes[scores == scores.max()]
        if len(best) == 1:
            return int(best[0])
        if sim.options.tie_break == "rank":
            return int(best[np.argmin(sim.rank[best])])
        return int(best[rng.integers(len(best))])

    return act


def run_episode(env: PodSchedulingEnv, act: Actor, seed: int) -> tuple[float, dict[str, float]]:
    """One episode from reset(seed): (return, the run's metrics)."""
    obs, info = env.reset(seed=seed)
    total = 0.0
    while True:
        obs, reward, terminated, truncated, info = env.step(act(env, obs))
        total += reward
        if terminated or truncated:
            return total, info.get("metrics", {})


def evaluate_actor(env: PodSchedulingEnv, act: Actor, seeds: list[int]) -> dict[str, Any]:
    """Mean return and mean metrics over episodes with the given seeds."""
    returns, metrics = [], []
    for s in seeds:
        ret, m = run_episode(env, act, s)
        returns.append(ret)
        metrics.append(m)
    keys = metrics[0].keys() if metrics else []
    return {
        "returns": returns,
        "return_mean": float(np.mean(returns)),
        "return_std": float(np.std(returns)),
        "metrics": {k: float(np.mean([m[k] for m in metrics])) for k in keys},
    }
