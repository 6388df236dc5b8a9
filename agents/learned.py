"""A trained policy as a node scorer: the same interface as the heuristics (DESIGN rule 2).

Loads the node-scoring network from a run directory (best_model.zip, else final_model.zip, else the
latest checkpoint) or from a model file, and scores the feasible nodes of any cluster: features come
from ``envs.features`` over the whole cluster, so the network sees the same context it trained on.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import torch as th

from podgym.agents.network import NodeScoringNet, valid_rows
from podgym.envs.cluster import ClusterState, PodRequest
from podgym.envs.features import NUM_NODE_FEATURES, NUM_POD_FEATURES, FeatureEncoder, encode_candidates
from podgym.envs.fragmentation import TypicalPods, typical_pods
from podgym.envs.kube.errors import KubeObjectError

MODEL_FILES = ("best_model.zip", "final_model.zip", "checkpoints/latest.zip")


def resolve_model_path(path: str | Path) -> Path:
    """A model file, or the best model of a run directory."""
    path = Path(path)
    if path.is_dir():
        for name in MODEL_FILES:
            if (path / name).is_file():
                return path / name
        raise KubeObjectError(f"no model in run directory (looked for {', '.join(MODEL_FILES)})", source=str(path))
    if not path.is_file():
        raise KubeObjectError("model file not found", source=str(path))
    return path


def load_scoring_net(path: str | Path) -> NodeScoringNet:
    """The NodeScoringNet of an SB3 model zip (or run directory), without needing its environment."""
    path = resolve_model_path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            state = th.load(io.BytesIO(archive.read("policy.pth")), map_location="cpu", weights_only=True)
    except (zipfile.BadZipFile, KeyError, RuntimeError) as exc:
        raise KubeObjectError(f"not a podgym model file ({exc})", source=str(path)) from None
    prefix = "mlp_extractor.net."
    weights = {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}
    if not weights:
        raise KubeObjectError("the model has no node-scoring network (trained with another policy?)", source=str(path))
    first = weights["encoder.0.weight"]
    hidden, inputs = first.shape
    if inputs != NUM_NODE_FEATURES + NUM_POD_FEATURES:
        raise KubeObjectError(
            f"the model expects {inputs} node+pod features, podgym's observation has "
            f"{NUM_NODE_FEATURES + NUM_POD_FEATURES}: it was trained with another feature layout",
            source=str(path),
        )
    net = NodeScoringNet(hidden)
    net.load_state_dict(weights)
    net.eval()
    return net


class LearnedPolicy:
    """A trained node-scoring network as a NodeScorer. The fgd_score feature is measured against `typical`, by
    default the typical pods of the simulated workload (as FGD's and the training env's)."""

    def __init__(self, net: NodeScoringNet, name: str = "learned", typical: TypicalPods | None = None):
        # One pod's scores are a small computation: torch's thread pool only adds overhead and contention
        # (about 20x slower with parallel evaluation workers), so inference runs on one thread.
        th.set_num_threads(1)
        self.net = net
        self.name = name
        self._sim = None
        self._encoder: FeatureEncoder | None = None
        self.typical = typical
        self._typical = typical

    @classmethod
    def load(cls, path: str | Path, name: str | None = None, typical: TypicalPods | None = None) -> LearnedPolicy:
        return cls(load_scoring_net(path), name or f"learned:{Path(path).name}", typical)

    def num_to_find(self, num_nodes: int) -> int:
        return num_nodes

    def reset(self, sim) -> None:
        """Read the queue length and time from `sim` for the pod features, and its nodes' ranks."""
        self._sim = sim
        workload = getattr(sim, "workload", None)
        self._typical = self.typical or (typical_pods(workload) if workload is not None else None)
        self._encoder = FeatureEncoder(sim.cluster, self._typical, getattr(sim, "rank", None))

    def score(self, cluster: ClusterState, pod: PodRequest, nodes: np.ndarray) -> np.ndarray:
        if self._encoder is None or self._encoder.cluster is not cluster:
            self._encoder = FeatureEncoder(cluster, self._typical)
        node_features, pod_features = encode_candidates(self._encoder, pod, nodes, self._sim)
        node_x = th.as_tensor(node_features[None])
        pod_x = th.as_tensor(pod_features[None])
        with th.no_grad():
            scores, _ = self.net.node_scores(node_x, pod_x, valid_rows(node_x))
        return scores[0].numpy()[nodes].astype(np.float64)
