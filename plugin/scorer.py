"""Scoring nodes in the deployed plugin: an exported ONNX policy, or a heuristic, behind one interface.

``OnnxPolicy`` is a node scorer (``envs.policy.NodeScorer``): features from ``envs.features`` over the
whole cluster, then one onnxruntime call scores every candidate node of the pod.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from envs.cluster import ClusterState, PodRequest
from envs.features import FEATURE_VERSION, NUM_NODE_FEATURES, NUM_POD_FEATURES, FeatureEncoder, encode_candidates
from envs.kube.errors import KubeObjectError


def load_metadata(onnx_path: str | Path) -> dict[str, Any]:
    """policy.json next to the model (feature schema and version, source run); {} when absent."""
    meta = Path(onnx_path).with_name("policy.json")
    return json.loads(meta.read_text()) if meta.exists() else {}


class OnnxPolicy:
    """An exported per-node scorer on onnxruntime, as a NodeScorer."""

    def __init__(self, path: str | Path, name: str | None = None):
        import onnxruntime as ort

        self.path = Path(path)
        if not self.path.is_file():
            raise KubeObjectError("ONNX model not found", source=str(self.path))
        self.metadata = load_metadata(self.path)
        features = self.metadata.get("features", {})
        if features and (
            features.get("version") != FEATURE_VERSION
            or (features.get("node") and len(features["node"]) != NUM_NODE_FEATURES)
            or (features.get("pod") and len(features["pod"]) != NUM_POD_FEATURES)
        ):
            raise KubeObjectError(
                f"the model was exported for feature version {features.get('version')} "
                f"({len(features.get('node', []))} node, {len(features.get('pod', []))} pod features); this podgym "
                f"computes version {FEATURE_VERSION} ({NUM_NODE_FEATURES} node, {NUM_POD_FEATURES} pod features)",
                source=str(self.path),
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for unreadable models
            raise KubeObjectError(f"cannot load the ONNX model: {exc}", source=str(self.path)) from None
        self.name = name or f"onnx:{self.path.name}"
        self._sim = None
        self._encoder: FeatureEncoder | None = None

    def num_to_find(self, num_nodes: int) -> int:
        return num_nodes

    def reset(self, sim) -> None:
        self._sim = sim
        self._encoder = FeatureEncoder(sim.cluster)

    def encoder(self, cluster: ClusterState) -> FeatureEncoder:
        if self._encoder is None or self._encoder.cluster is not cluster:
            self._encoder = FeatureEncoder(cluster)
        return self._encoder

    def scores_for(self, node_features: np.ndarray, pod_features: np.ndarray) -> np.ndarray:
        """Scores of the rows of `node_features` [N, F] for `pod_features` [P] (one onnxruntime call)."""
        (out,) = self.session.run(
            None,
            {"nodes": node_features.astype(np.float32, copy=False), "pod": pod_features.astype(np.float32, copy=False)},
        )
        return out

    def score(self, cluster: ClusterState, pod: PodRequest, nodes: np.ndarray) -> np.ndarray:
        scores = self.scores_for(*encode_candidates(self.encoder(cluster), pod, nodes, self._sim))
        return scores[nodes].astype(np.float64)
