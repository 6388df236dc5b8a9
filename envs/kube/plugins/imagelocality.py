"""ImageLocality: favour nodes that already hold the pod's images (pkg/scheduler/framework/plugins/imagelocality).

Each image of the pod's init containers and containers that the node lists in ``status.images`` adds its size
scaled by the share of nodes that hold it (the spread factor, against piling a service onto the few nodes that
have its image); the sum, clamped to [23 MiB, 1000 MiB x containers], maps linearly onto 0-100. No NormalizeScore.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from podgym.envs.kube.framework import MAX_NODE_SCORE, CycleState, Plugin
from podgym.envs.kube.nodeinfo import NodeInfo
from podgym.envs.kube.objects import Pod

if TYPE_CHECKING:  # envs.cluster imports envs.kube: for annotations only
    from podgym.envs.cluster import ClusterState, PodRequest

MB = 1024 * 1024
MIN_THRESHOLD = 23 * MB
MAX_CONTAINER_THRESHOLD = 1000 * MB
DEFAULT_IMAGE_TAG = "latest"


def normalized_image_name(name: str) -> str:
    """The image name with ``:latest`` when it has no tag (a ':' after the last '/')."""
    if name.rfind(":") <= name.rfind("/"):
        return f"{name}:{DEFAULT_IMAGE_TAG}"
    return name


def scaled_image_score(size: int, num_nodes: int, total_nodes: int) -> int:
    """The image's size times the share of nodes holding it, truncated: int64(float64(size) * spread)."""
    spread = float(num_nodes) / float(total_nodes)
    return int(float(size) * spread)


def calculate_priority(sum_scores: int, num_containers: int) -> int:
    """The node's score from the summed image scores (calculatePriority)."""
    max_threshold = MAX_CONTAINER_THRESHOLD * num_containers
    if sum_scores < MIN_THRESHOLD:
        sum_scores = MIN_THRESHOLD
    elif sum_scores > max_threshold:
        sum_scores = max_threshold
    num, den = MAX_NODE_SCORE * (sum_scores - MIN_THRESHOLD), max_threshold - MIN_THRESHOLD
    return abs(num) // abs(den) * (1 if (num >= 0) == (den > 0) else -1)  # Go's int64 division truncates


class ImageLocality(Plugin):
    name = "ImageLocality"
    scores = True

    def score(self, state: CycleState, pod: Pod, node: NodeInfo) -> int:
        total = 0
        for image in pod.images:
            summary = node.image_states.get(normalized_image_name(image))
            if summary is not None:
                total += scaled_image_score(summary.size, summary.num_nodes, node.snapshot_nodes)
        return calculate_priority(total, len(pod.images))

    # ---- vectorised: the images are static node data, so the score is cached per template --------------
    def static_score(self, cluster: ClusterState, pod: Pod) -> np.ndarray:
        total = np.zeros(cluster.num_nodes, dtype=np.int64)
        if not pod.images:  # nothing to sum: every node scores calculatePriority(0, 0) = 0
            return total
        for image in pod.images:
            held = cluster.images.holders(normalized_image_name(image))
            if held is None:
                continue
            nodes, sizes = held
            spread = float(len(nodes)) / float(cluster.num_nodes)
            total[nodes] += (sizes.astype(np.float64) * spread).astype(np.int64)
        max_threshold = MAX_CONTAINER_THRESHOLD * len(pod.images)
        clamped = np.clip(total, MIN_THRESHOLD, max_threshold)
        return MAX_NODE_SCORE * (clamped - MIN_THRESHOLD) // (max_threshold - MIN_THRESHOLD)

    def vector_score(
        self, cluster: ClusterState, pod: PodRequest, nodes: np.ndarray, static: np.ndarray | None
    ) -> np.ndarray:
        return static[nodes]
