"""FGD with a lookahead: each of FGD's best nodes tried against pods drawn from the workload, placed after it.

FGD (``policies.fgd``) scores a node by how much placing the pod there raises the expected fragmentation against
the workload's typical pods, one pod at a time. ``fgd-lookahead`` takes FGD's best `candidates` nodes (its score,
then the simulation's tie rank), and for each places the pod there and then `depth` pods drawn from the run's
workload (its distribution, not its order: the same draw for every candidate), each where FGD would; the
candidate whose rollout leaves the least GPU unplaced (pods that fit nowhere), then the least fragmentation, wins,
FGD's own choice on equal outcomes. Everything is undone after each rollout. The outcomes are exact integers and
the draw is seeded by the run's seed, so a run is the same on any machine.

It needs a simulation (``reset`` with a ``Simulator``): pods to draw and the filter that says where they fit.
The extender and the secondary scheduler, which score a live cluster, refuse it (``needs_simulation``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from podgym.envs.cluster import ClusterState, PodRequest
from podgym.envs.fragmentation import TypicalPods
from podgym.policies.fgd import FGDPolicy

# Chosen on development seeds 1-3 of the FGD experiment on openb (FGD: 95.50 % at 130 %; docs/learned.md): an
# earlier draw of the check gave 3 nodes and 8 pods 95.77, 3 and 16 95.85; `python docs/fgd_variants.py` gives
# 95.81 and 95.80. Each drawn pod costs a bind, a filter and FGD's score on the nodes it changed.
CANDIDATES = 3
DEPTH = 16
SEED_SALT = 0x10CA  # the draw's stream, apart from the simulation's own streams


class FGDLookahead:
    """FGD's best `candidates` nodes each tried with `depth` drawn pods placed after the pod (module doc)."""

    name = "fgd-lookahead"
    needs_simulation = True

    def __init__(self, typical: TypicalPods | None = None, candidates: int = CANDIDATES, depth: int = DEPTH):
        if candidates < 1 or depth < 0:
            raise ValueError(f"fgd-lookahead needs candidates >= 1 and depth >= 0, got {candidates} and {depth}")
        self.fgd = FGDPolicy(typical)
        self.candidates, self.depth = candidates, depth
        self.sim: Any = None

    def num_to_find(self, num_nodes: int) -> int:
        return num_nodes

    def reset(self, sim: Any) -> None:
        """Start a run of the Simulator `sim` (anything else has no workload to draw from: a ValueError)."""
        if not all(hasattr(sim, a) for a in ("workload", "num_pods", "request", "feasible", "rank", "seed")):
            raise ValueError(
                "fgd-lookahead needs a simulation: it places pods drawn from the workload ahead of each decision, "
                "which a live cluster (the extender, the secondary scheduler) does not have"
            )
        self.sim = sim
        self.fgd.reset(sim)
        self.rng = np.random.default_rng([int(sim.seed), SEED_SALT])
        self.first = sim.num_pods - len(sim.workload)  # the workload's pods follow the snapshot's bound ones

    def on_bind(self, cluster: ClusterState, node: int, pod: PodRequest, gpus: tuple[int, ...]) -> None:
        self.fgd.on_bind(cluster, node, pod, gpus)

    on_unbind = on_bind

    def choose_gpus(self, cluster: ClusterState, node: int, pod: PodRequest) -> tuple[int, ...] | None:
        return self.fgd.choose_gpus(cluster, node, pod)

    def score(self, cluster: ClusterState, pod: PodRequest, nodes: np.ndarray) -> np.ndarray:
        """1 on the chosen node, 0 elsewhere (FGD's scores when the lookahead has no choice to make)."""
        base = self.fgd.score(cluster, pod, nodes)
        tried = nodes[np.lexsort((self.sim.rank[nodes], -base))[: self.candidates]]
        if len(tried) < 2 or self.depth == 0 or self.first >= self.sim.num_pods:
            return base
        drawn = self.rng.integers(self.first, self.sim.num_pods, self.depth).tolist()
        best, outcome = int(tried[0]), self._rollout(cluster, pod, int(tried[0]), drawn)
        for node in tried[1:].tolist():
            trial = self._rollout(cluster, pod, node, drawn)
            if trial > outcome:
                best, outcome = node, trial
        return (nodes == best).astype(np.float64)

    def _rollout(self, cluster: ClusterState, pod: PodRequest, node: int, drawn: list[int]) -> tuple[int, int]:
        """(-GPU milli left unplaced, -fragmentation) after `pod` on `node` and the `drawn` pods where FGD puts them;
        the cluster and FGD's index are as before when it returns."""
        placed = [(node, pod, self._bind(cluster, node, pod))]
        unplaced = 0
        try:
            for j in drawn:
                req = self.sim.request(j)
                feasible = np.flatnonzero(self.sim.feasible(j))
                if not len(feasible):
                    unplaced += req.gpu_count * req.gpu_milli
                    continue
                scores = self.fgd.score(cluster, req, feasible)
                top = feasible[scores == scores.max()]
                there = int(top[np.argmin(self.sim.rank[top])])
                placed.append((there, req, self._bind(cluster, there, req)))
            fragmentation = int(self.fgd.index.numerators[cluster.alive].sum())
        finally:
            for there, req, gpus in reversed(placed):
                cluster.unbind(there, req, gpus)
                self.fgd.on_unbind(cluster, there, req, gpus)
        return -unplaced, -fragmentation

    def _bind(self, cluster: ClusterState, node: int, pod: PodRequest) -> tuple[int, ...]:
        gpus = cluster.bind(node, pod, self.fgd.choose_gpus(cluster, node, pod))
        self.fgd.on_bind(cluster, node, pod, gpus)
        return gpus
