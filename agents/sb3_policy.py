"""stable-baselines3 policies around NodeScoringNet: MaskablePPO (sb3-contrib), PPO and A2C.

The features extractor passes the node matrix and the pod vector through; the "MLP extractor" is the
node-scoring network, whose actor latent is already the action logits (one per node, plus pending), so
the action head is the identity.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from podgym.agents.network import NodeScoringNet, valid_rows


class NodeObservationExtractor(BaseFeaturesExtractor):
    """Flattens the Dict observation to [nodes (N*F) | pod (P)]; the action mask is left to the algorithm."""

    def __init__(self, observation_space: gym.spaces.Dict):
        self.max_nodes, self.num_node_features = observation_space["nodes"].shape
        self.num_pod_features = observation_space["pod"].shape[0]
        super().__init__(observation_space, self.max_nodes * self.num_node_features + self.num_pod_features)

    def forward(self, observations: dict[str, th.Tensor]) -> th.Tensor:
        nodes = observations["nodes"].flatten(start_dim=1)
        return th.cat([nodes, observations["pod"]], dim=1)


class NodeScoringExtractor(nn.Module):
    """Actor: logits over the actions (nodes, then pending if allowed). Critic: a latent for the value head."""

    def __init__(self, max_nodes: int, num_node_features: int, num_pod_features: int, n_actions: int, hidden: int):
        super().__init__()
        self.max_nodes = max_nodes
        self.num_node_features = num_node_features
        self.net = NodeScoringNet(hidden, num_node_features, num_pod_features)
        self.with_pending = n_actions == max_nodes + 1
        self.latent_dim_pi = n_actions
        self.latent_dim_vf = hidden

    def _split(self, features: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        k = self.max_nodes * self.num_node_features
        nodes = features[:, :k].view(-1, self.max_nodes, self.num_node_features)
        return nodes, features[:, k:]

    def forward_actor(self, features: th.Tensor) -> th.Tensor:
        nodes, pod = self._split(features)
        scores, context = self.net.node_scores(nodes, pod, valid_rows(nodes))
        if self.with_pending:
            scores = th.cat([scores, self.net.pending_score(context, pod)[:, None]], dim=1)
        return scores

    def forward_critic(self, features: th.Tensor) -> th.Tensor:
        nodes, pod = self._split(features)
        _, context = self.net.encode(nodes, pod, valid_rows(nodes))
        return self.net.value_latent(context, pod)

    def forward(self, features: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        return self.forward_actor(features), self.forward_critic(features)


class _NodeScoringMixin:
    """Builds NodeScoringExtractor as the mlp_extractor and makes the action head the identity."""

    def __init__(self, observation_space, action_space, lr_schedule, hidden: int = 64, **kwargs: Any):
        self.hidden = hidden
        kwargs.setdefault("features_extractor_class", NodeObservationExtractor)
        kwargs.setdefault("share_features_extractor", True)
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)

    def _build_mlp_extractor(self) -> None:
        space = self.observation_space
        self.mlp_extractor = NodeScoringExtractor(
            space["nodes"].shape[0],
            space["nodes"].shape[1],
            space["pod"].shape[0],
            int(self.action_space.n),
            self.hidden,
        )

    def _build(self, lr_schedule) -> None:
        super()._build(lr_schedule)
        self.action_net = nn.Identity()
        # Rebuild the optimizer so that it holds exactly the parameters in use.
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data["hidden"] = self.hidden
        return data

    @property
    def scoring_net(self) -> NodeScoringNet:
        return self.mlp_extractor.net


class MaskableNodeScoringPolicy(_NodeScoringMixin, MaskableActorCriticPolicy):
    """For sb3-contrib's MaskablePPO."""


class NodeScoringPolicy(_NodeScoringMixin, ActorCriticPolicy):
    """For PPO and A2C (no masking: invalid actions are penalised by the environment)."""


def greedy_action(net: NodeScoringNet, obs: dict[str, np.ndarray], with_pending: bool) -> int:
    """The highest-scoring allowed action of one observation."""
    with th.no_grad():
        nodes = th.as_tensor(obs["nodes"][None])
        pod = th.as_tensor(obs["pod"][None])
        scores, context = net.node_scores(nodes, pod, valid_rows(nodes))
        if with_pending:
            scores = th.cat([scores, net.pending_score(context, pod)[:, None]], dim=1)
    logits = scores[0].numpy()
    mask = obs["action_mask"].astype(bool)
    return int(np.argmax(np.where(mask, logits, -np.inf)))
