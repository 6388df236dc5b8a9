"""The per-node scoring actor-critic: one shared network scores every node, so the same weights schedule a
cluster of any size.

For a pod with features p and nodes with features x_1..x_N (``envs.features``):

    h_n = φ([x_n, p])                       shared node encoder (MLP)
    c   = [mean_n h_n, max_n h_n]           pooled cluster context (real nodes only)
    s_n = ψ([h_n, c])                       the score (logit) of node n
    s_0 = χ([c, p])                         "leave it pending" (when the scenario allows it)
    v   = ν([c, p])                         the critic's value

Masked softmax over the feasible nodes gives the policy; the highest score is the greedy choice.
"""

from __future__ import annotations

import torch as th
from torch import nn

from podgym.envs.features import NUM_NODE_FEATURES, NUM_POD_FEATURES


def mlp(sizes: list[int], last_activation: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2 or last_activation:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


class NodeScoringNet(nn.Module):
    """φ, ψ, χ, ν above. `hidden` is the width of every layer; weights do not depend on the node count."""

    def __init__(self, hidden: int = 64, node_features: int = NUM_NODE_FEATURES, pod_features: int = NUM_POD_FEATURES):
        super().__init__()
        self.hidden = hidden
        self.node_features = node_features
        self.pod_features = pod_features
        self.encoder = mlp([node_features + pod_features, hidden, hidden])
        self.scorer = mlp([3 * hidden, hidden, 1], last_activation=False)
        self.pending = mlp([2 * hidden + pod_features, hidden, 1], last_activation=False)
        self.critic = mlp([2 * hidden + pod_features, hidden, hidden])

    def encode(self, nodes: th.Tensor, pod: th.Tensor, valid: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        """Node embeddings [B, N, H] and pooled context [B, 2H] (mean and max over the valid nodes)."""
        b, n, _ = nodes.shape
        h = self.encoder(th.cat([nodes, pod[:, None, :].expand(b, n, pod.shape[-1])], dim=-1))
        w = valid.to(h.dtype)[..., None]
        count = w.sum(dim=1)
        mean = (h * w).sum(dim=1) / count.clamp(min=1.0)
        maxed = th.where(w > 0, h, th.full_like(h, -1e4)).max(dim=1).values
        maxed = th.where(count > 0, maxed, th.zeros_like(maxed))  # no real node (e.g. after the episode): zeros
        return h, th.cat([mean, maxed], dim=-1)

    def node_scores(self, nodes: th.Tensor, pod: th.Tensor, valid: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        """(scores [B, N], context [B, 2H])."""
        h, context = self.encode(nodes, pod, valid)
        n = nodes.shape[1]
        scores = self.scorer(th.cat([h, context[:, None, :].expand(-1, n, -1)], dim=-1)).squeeze(-1)
        return scores, context

    def pending_score(self, context: th.Tensor, pod: th.Tensor) -> th.Tensor:
        return self.pending(th.cat([context, pod], dim=-1)).squeeze(-1)

    def value_latent(self, context: th.Tensor, pod: th.Tensor) -> th.Tensor:
        return self.critic(th.cat([context, pod], dim=-1))


def valid_rows(nodes: th.Tensor) -> th.Tensor:
    """Rows that are real nodes: padding (and failed nodes) are all-zero feature rows."""
    return nodes.abs().sum(dim=-1) > 0


class ScoreOneNet(nn.Module):
    """The exported scorer: one pod, N nodes (any N) -> N scores. Used by export to ONNX and by the plugin."""

    def __init__(self, net: NodeScoringNet):
        super().__init__()
        self.net = net

    def forward(self, nodes: th.Tensor, pod: th.Tensor) -> th.Tensor:
        scores, _ = self.net.node_scores(nodes[None], pod[None], valid_rows(nodes[None]))
        return scores[0]


class EncodeOneNet(nn.Module):
    """The exported encoder part: one pod, N nodes (any N) -> embeddings h [N, H], φ of ScoreOneNet.

    With the head part and the pooling of ``NodeScoringNet.encode`` in between, it gives ScoreOneNet's scores;
    the plugin caches h per node, so that a request re-encodes only the nodes whose state changed.
    """

    def __init__(self, net: NodeScoringNet):
        super().__init__()
        self.net = net

    def forward(self, nodes: th.Tensor, pod: th.Tensor) -> th.Tensor:
        return self.net.encoder(th.cat([nodes, pod[None, :].expand(nodes.shape[0], pod.shape[-1])], dim=-1))


class HeadOneNet(nn.Module):
    """The exported head part: M embeddings h [M, H] and the pooled context c [2H] -> M scores, ψ([h, c]).

    The first layer is split into its h and c halves, so that c's product is computed once, not once per
    node: the same function as ``NodeScoringNet.node_scores``'s scorer, its first layer at a third of the cost.
    """

    def __init__(self, net: NodeScoringNet):
        super().__init__()
        self.net = net

    def forward(self, h: th.Tensor, context: th.Tensor) -> th.Tensor:
        first, rest = self.net.scorer[0], self.net.scorer[1:]
        hidden = h.shape[-1]
        x = h @ first.weight[:, :hidden].T + (context @ first.weight[:, hidden:].T + first.bias)
        return rest(x).squeeze(-1)
