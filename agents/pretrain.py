"""Learning from demonstrations: behaviour cloning (and DAgger) of a heuristic expert into the per-node network.

Any heuristic of ``agents.make_policy`` can be the expert. Its demonstrations are the states it visits in the
Python environment, each labelled with the set of actions the expert rates highest (a heuristic's ties are
real: kube-scheduler breaks them at random, so the target is the whole tied set, and the loss is the negative
log of the probability the network gives that set; a scenario that breaks ties by node rank, as FGD's
experiment does, labels the one node of lowest rank, which the ``node_rank`` feature shows). DAgger rounds then
run the cloned network, label the states it reaches with the expert's choice, and train again on everything
gathered, so that the clone learns to recover from its own mistakes. The critic is fitted to the discounted
returns of the expert's episodes, so that policy-gradient fine-tuning starts from a value estimate that matches
the policy it starts from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch as th
from pydantic import Field, field_validator
from torch import nn

from podgym.agents.network import NodeScoringNet, valid_rows
from podgym.envs.env import PodSchedulingEnv
from podgym.envs.workload._fields import StrictModel
from podgym.policies import is_heuristic, scenario_policy, unknown_heuristic


class DaggerConfig(StrictModel):
    """DAgger: rounds of running the clone, labelling what it visits with the expert, training again."""

    rounds: int = Field(default=1, ge=0, description="rounds after the first cloning")
    episodes: int = Field(default=4, ge=1, description="episodes the clone runs per round")


class PretrainConfig(StrictModel):
    """The ``pretrain:`` section of a training config."""

    expert: str = Field(description="a heuristic policy name (agents.make_policy)")
    episodes: int = Field(default=16, ge=1, description="expert demonstration episodes")
    first_seed: int = Field(
        default=20_000, description="demonstration seeds: first_seed, first_seed+1, ... (training seeds only)"
    )
    epochs: int = Field(default=8, ge=1, description="passes over the demonstrations per training phase")
    batch_size: int = Field(default=256, ge=1)
    learning_rate: float = Field(default=1e-3, gt=0)
    value_coef: float = Field(default=0.5, ge=0, description="weight of the critic's loss (0: policy only)")
    dagger: DaggerConfig | None = None

    @field_validator("expert")
    @classmethod
    def _known_expert(cls, name: str) -> str:
        if not is_heuristic(name):
            raise unknown_heuristic(name, "expert")
        return name


def expert_policy(name: str, env: PodSchedulingEnv) -> Any:
    """The heuristic `name` as an expert on `env`: kube-default (alone or in a pair) is kube-scheduler with the
    scenario's own profile (its scheduler config), the kube-default that evaluate.py measures."""
    return scenario_policy(name, env.profile, env.scenario.scheduler.sample_nodes)


def expert_targets(policy: Any, env: PodSchedulingEnv, obs: dict[str, np.ndarray]) -> np.ndarray:
    """The actions `policy` rates highest in the current state (bool over the action space): its ties included,
    unless the scenario breaks ties by rank (``simulation.tie_break: rank``): then the one its simulator would take.

    With no feasible node the allowed actions (leave pending) are the target. The expert's hooks are wired as
    ``heuristic_actor`` wires them (``reset(sim)`` once per episode, placement events as a listener).
    """
    mask = obs["action_mask"].astype(bool)
    out = np.zeros(len(mask), dtype=bool)
    nodes = np.flatnonzero(mask[: env.num_nodes])
    if len(nodes) == 0:
        out[mask] = True
        return out
    if len(nodes) == 1:
        out[nodes[0]] = True
        return out
    sim = env.sim
    scores = np.asarray(policy.score(sim.cluster, sim.request(env.pod), nodes))
    best = nodes[scores == scores.max()]
    if sim.options.tie_break == "rank":
        # The scenario breaks ties by the run's node ranks (the node_rank feature): the expert's choice is one node.
        best = best[np.argmin(sim.rank[best])]
    out[best] = True
    return out


@dataclass
class Demonstrations:
    """Labelled states: node features [S, N, F], pod features [S, P], masks [S, A], targets [S, A], returns [S]
    (NaN where the state came from the clone's own rollouts: no return of the expert to fit)."""

    nodes: list[np.ndarray] = field(default_factory=list)
    pods: list[np.ndarray] = field(default_factory=list)
    masks: list[np.ndarray] = field(default_factory=list)
    targets: list[np.ndarray] = field(default_factory=list)
    returns: list[np.ndarray] = field(default_factory=list)

    def __len__(self) -> int:
        return sum(len(r) for r in self.returns)

    def tensors(self) -> tuple[th.Tensor, ...]:
        return tuple(
            th.as_tensor(np.concatenate(x)) for x in (self.nodes, self.pods, self.masks, self.targets, self.returns)
        )


def _discounted(rewards: list[float], gamma: float) -> np.ndarray:
    out = np.empty(len(rewards), dtype=np.float32)
    acc = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        acc = rewards[t] + gamma * acc
        out[t] = acc
    return out


def _attach(policy: Any, env: PodSchedulingEnv) -> None:
    """Give a stateful expert the new episode's simulator (as Simulator.run does)."""
    sim = env.sim
    if hasattr(policy, "reset"):
        policy.reset(sim)
    if hasattr(policy, "on_bind"):
        sim.listeners.append(policy)


def collect(
    env: PodSchedulingEnv,
    expert: Any,
    seeds: list[int],
    gamma: float,
    out: Demonstrations,
    learner: NodeScoringNet | None = None,
    rng: np.random.Generator | None = None,
) -> list[float]:
    """Run one episode per seed, labelling every state with the expert's targets; returns the episode returns.

    The expert acts (a uniform choice among its ties, from `rng`) unless `learner` is given: then the learner's
    greedy choice is taken (DAgger) and no return targets are kept.
    """
    rng = rng or np.random.default_rng(0)
    with_pending = env.pending_action is not None
    totals = []
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        _attach(expert, env)
        rewards: list[float] = []
        while True:
            target = expert_targets(expert, env, obs)
            out.nodes.append(obs["nodes"][None])
            out.pods.append(obs["pod"][None])
            out.masks.append(obs["action_mask"].astype(bool)[None])
            out.targets.append(target[None])
            if learner is None:
                choices = np.flatnonzero(target)
                action = int(choices[0] if len(choices) == 1 else choices[rng.integers(len(choices))])
            else:
                action = greedy(learner, obs, with_pending)
            obs, reward, terminated, truncated, _ = env.step(action)
            rewards.append(float(reward))
            if terminated or truncated:
                break
        returns = _discounted(rewards, gamma) if learner is None else np.full(len(rewards), np.nan, np.float32)
        out.returns.append(returns)
        totals.append(float(sum(rewards)))
    return totals


def greedy(net: NodeScoringNet, obs: dict[str, np.ndarray], with_pending: bool) -> int:
    """The network's highest-scoring allowed action."""
    logits = _logits(net, th.as_tensor(obs["nodes"][None]), th.as_tensor(obs["pod"][None]), with_pending)[0]
    mask = obs["action_mask"].astype(bool)
    return int(np.argmax(np.where(mask, logits.detach().numpy(), -np.inf)))


def _logits(net: NodeScoringNet, nodes: th.Tensor, pod: th.Tensor, with_pending: bool) -> th.Tensor:
    scores, context = net.node_scores(nodes, pod, valid_rows(nodes))
    if with_pending:
        scores = th.cat([scores, net.pending_score(context, pod)[:, None]], dim=1)
    return scores


def _context(net: NodeScoringNet, nodes: th.Tensor, pod: th.Tensor) -> th.Tensor:
    _, context = net.encode(nodes, pod, valid_rows(nodes))
    return net.value_latent(context, pod)


def fit(
    net: NodeScoringNet,
    value_head: nn.Module,
    data: Demonstrations,
    cfg: PretrainConfig,
    with_pending: bool,
    generator: th.Generator,
) -> dict[str, float]:
    """`cfg.epochs` passes of minibatch Adam over `data`: set cross-entropy for the actor, MSE for the critic."""
    nodes, pods, masks, targets, returns = data.tensors()
    params = list(net.parameters()) + list(value_head.parameters())
    optimizer = th.optim.Adam(params, lr=cfg.learning_rate)
    has_return = ~th.isnan(returns)
    n = len(returns)
    last: dict[str, float] = {}
    for _ in range(cfg.epochs):
        order = th.randperm(n, generator=generator)
        sums = {"policy_loss": 0.0, "value_loss": 0.0, "accuracy": 0.0}
        for start in range(0, n, cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            logits = _logits(net, nodes[idx], pods[idx], with_pending)
            allowed = logits.masked_fill(~masks[idx], -1e9)
            best = logits.masked_fill(~targets[idx], -1e9)
            policy_loss = (th.logsumexp(allowed, dim=1) - th.logsumexp(best, dim=1)).mean()
            loss = policy_loss
            ret_ok = has_return[idx]
            value_loss = th.zeros(())
            if cfg.value_coef > 0 and bool(ret_ok.any()):
                value = value_head(_context(net, nodes[idx][ret_ok], pods[idx][ret_ok])).squeeze(-1)
                value_loss = ((value - returns[idx][ret_ok]) ** 2).mean()
                loss = loss + cfg.value_coef * value_loss
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            with th.no_grad():
                hit = targets[idx].gather(1, allowed.argmax(dim=1, keepdim=True)).float().sum()
            k = len(idx)
            sums["policy_loss"] += float(policy_loss.detach()) * k
            sums["value_loss"] += float(value_loss.detach()) * k
            sums["accuracy"] += float(hit)
        last = {key: value / n for key, value in sums.items()}
    return last


def pretrain(
    net: NodeScoringNet,
    value_head: nn.Module,
    cfg: PretrainConfig,
    env: PodSchedulingEnv,
    gamma: float,
    seed: int,
) -> dict[str, Any]:
    """Clone `cfg.expert` into `net` (and fit `value_head` to its returns); DAgger rounds if configured.

    `env` must run the Python engine (the expert reads the simulator). Returns a report: the expert's mean
    demonstration return, and per phase the states, loss and accuracy (the share of states where the network's
    choice is among the expert's best).
    """
    th.manual_seed(seed)
    generator = th.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    expert = expert_policy(cfg.expert, env)
    with_pending = env.pending_action is not None
    data = Demonstrations()
    seeds = list(range(cfg.first_seed, cfg.first_seed + cfg.episodes))
    expert_returns = collect(env, expert, seeds, gamma, data, rng=rng)
    report: dict[str, Any] = {
        "expert": cfg.expert,
        "expert_return_mean": float(np.mean(expert_returns)),
        "phases": [],
    }
    net.train()
    report["phases"].append({"states": len(data), **fit(net, value_head, data, cfg, with_pending, generator)})
    next_seed = seeds[-1] + 1
    for _ in range(cfg.dagger.rounds if cfg.dagger else 0):
        round_seeds = list(range(next_seed, next_seed + cfg.dagger.episodes))
        next_seed += cfg.dagger.episodes
        with th.no_grad():
            clone_returns = collect(env, expert, round_seeds, gamma, data, learner=net)
        phase = fit(net, value_head, data, cfg, with_pending, generator)
        report["phases"].append({"states": len(data), "clone_return_mean": float(np.mean(clone_returns)), **phase})
    return report
