"""The one question every policy answers (DESIGN rule 2): given a pod and the feasible nodes, a score per node.

The simulator filters, asks the policy for scores, and binds the pod to the highest-scoring node,
breaking ties uniformly at random with its seeded RNG — kube-scheduler's Score extension point and
selectHost. Heuristics (policies/) and learned policies (agents/) implement the same protocol, so any of them
can be evaluated side by side and deployed.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from podgym.envs.cluster import ClusterState, PodRequest
from podgym.envs.kube.cycle import num_feasible_nodes_to_find
from podgym.envs.kube.profile import Profile, default_profile
from podgym.envs.scheduling import VectorProfile


@runtime_checkable
class NodeScorer(Protocol):
    """A scheduling policy: scores for `nodes` (indices of feasible nodes); the highest wins."""

    name: str

    def score(self, cluster: ClusterState, pod: PodRequest, nodes: np.ndarray) -> np.ndarray: ...

    def num_to_find(self, num_nodes: int) -> int:
        """How many feasible nodes to look for before scoring (all, unless the policy samples)."""
        ...


class KubeSchedulerPolicy:
    """kube-scheduler with a profile (default: v1.35's default profile), vectorised.

    Looks for numFeasibleNodesToFind feasible nodes from a round-robin start, as kube-scheduler does,
    unless `sample_nodes` is False.
    """

    def __init__(self, profile: Profile | None = None, name: str | None = None, sample_nodes: bool = True):
        self.profile = profile or default_profile()
        self.vector = VectorProfile(self.profile)
        self.name = name or f"kube:{self.profile.scheduler_name}"
        self.sample_nodes = sample_nodes

    @property
    def score_range(self) -> tuple[float, float] | None:
        """The fixed range of `score`: 0 to MaxNodeScore (100) times the sum of the profile's weights (None
        without Score plugins). The extender maps it linearly onto its own 0..10 (``plugin.extender``)."""
        top = 100 * sum(weight for _, weight in self.profile.score_plugins)
        return (0.0, float(top)) if top else None

    def num_to_find(self, num_nodes: int) -> int:
        if not self.sample_nodes:
            return num_nodes
        return num_feasible_nodes_to_find(num_nodes, self.profile.percentage_of_nodes_to_score)

    def score(self, cluster: ClusterState, pod: PodRequest, nodes: np.ndarray) -> np.ndarray:
        return self.vector.score(cluster, pod, nodes)
