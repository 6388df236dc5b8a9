"""fgd-lookahead (policies/lookahead.py): FGD when it has nothing to weigh, every rollout undone, the same run for the
same seed, and refused where there is no simulation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from podgym.agents.fgd_experiment import experiment_profile
from podgym.envs.fragmentation import typical_pods
from podgym.envs.simulator import SimulationOptions, Simulator
from podgym.envs.workload.openb import read_openb_cluster, read_openb_pods
from podgym.envs.workload.ops import inflate_to_gpu
from podgym.envs.workload.types import GPU_RESOURCE, MILLI_GPU
from podgym.policies import make_policy
from podgym.policies.fgd import FGDPolicy
from podgym.policies.lookahead import FGDLookahead

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "openb"


def simulator(trace: str = "pods.csv", seed: int = 3, copies: int = 1, tmp: Path | None = None) -> Simulator:
    """The FGD experiment's run on the sample's nodes (`copies` of each, written under `tmp`): the trace resampled
    to 130 % of the cluster's GPUs, no departures."""
    options = SimulationOptions(departures=False, retry_unschedulable=False, tie_break="rank")
    nodes = SAMPLE / "nodes.csv"
    if copies > 1:
        header, *rows = nodes.read_text().splitlines()
        nodes = tmp / "nodes.csv"
        nodes.write_text(
            "\n".join([header, *(f"{r.split(',')[0]}-{k},{r.split(',', 1)[1]}" for k in range(copies) for r in rows)])
        )
    cluster = read_openb_cluster(nodes)
    pods = read_openb_pods(SAMPLE / trace, times=False)
    capacity = sum(n.allocatable.get(GPU_RESOURCE, 0) for n in cluster.nodes) * MILLI_GPU
    rng = np.random.default_rng(seed)
    pods = inflate_to_gpu(pods, rng.permutation(len(pods)), round(1.3 * capacity), rng)
    return Simulator(cluster, pods, options, experiment_profile(), seed=seed)


@pytest.mark.parametrize("trace", ["pods.csv", "pods_multigpu.csv"])
def test_without_a_choice_to_weigh_it_places_as_fgd(trace):
    typical = typical_pods(read_openb_pods(SAMPLE / trace, times=False))
    fgd = simulator(trace)
    fgd.run(FGDPolicy(typical))
    for policy in (FGDLookahead(typical, candidates=1), FGDLookahead(typical, depth=0)):
        sim = simulator(trace)
        sim.run(policy)
        assert sim.node_of.tolist() == fgd.node_of.tolist()
        assert sim.gpus_of == fgd.gpus_of


class Watch:
    """Checks, at every decision, that the lookahead's rollouts left the cluster and FGD's index as they were."""

    def __init__(self, policy: FGDLookahead):
        self.policy, self.checked, self.chose_otherwise = policy, 0, 0

    def __getattr__(self, name):
        return getattr(self.policy, name)

    def score(self, cluster, pod, nodes):
        before = [a.copy() for a in (cluster.free_t, cluster.gpu_free, cluster.pod_count, cluster.gpu_idle)]
        numerators = self.policy.fgd.index.numerators.copy()
        fgd = self.policy.fgd.score(cluster, pod, nodes)
        scores = self.policy.score(cluster, pod, nodes)
        after = (cluster.free_t, cluster.gpu_free, cluster.pod_count, cluster.gpu_idle)
        assert all(np.array_equal(a, b) for a, b in zip(before, after))
        assert np.array_equal(self.policy.fgd.index.numerators, numerators)
        assert np.array_equal(
            self.policy.fgd.index.numerators, self.policy.fgd.index.current(np.arange(cluster.num_nodes))
        )
        order = np.lexsort((self.policy.sim.rank[nodes], -fgd))  # FGD's order: its score, then the rank
        chosen = int(np.argmax(scores))
        assert chosen in order[: self.policy.candidates].tolist(), "the lookahead picks among FGD's best nodes only"
        self.checked += 1
        self.chose_otherwise += chosen != int(order[0])
        return scores


def test_rollouts_leave_the_cluster_as_it_was_and_pick_among_fgds_best(tmp_path):
    typical = typical_pods(read_openb_pods(SAMPLE / "pods.csv", times=False))
    watch = Watch(FGDLookahead(typical, candidates=4, depth=6))
    sim = simulator(copies=8, tmp=tmp_path)
    summary = sim.run(watch)
    assert watch.checked > 50 and summary.pods_scheduled > 0
    assert watch.chose_otherwise > 0, "the lookahead overrode FGD's own choice somewhere"


def test_the_same_seed_gives_the_same_run():
    typical = typical_pods(read_openb_pods(SAMPLE / "pods.csv", times=False))
    runs = []
    for _ in range(2):
        sim = simulator(seed=5)
        sim.run(FGDLookahead(typical))
        runs.append(sim.node_of.tolist())
    assert runs[0] == runs[1]


def test_a_live_cluster_has_nothing_to_look_ahead_at():
    with pytest.raises(ValueError, match="needs a simulation"):
        make_policy("fgd-lookahead").reset(object())
    with pytest.raises(ValueError, match="candidates >= 1"):
        FGDLookahead(candidates=0)
    assert make_policy("kube-default+fgd-lookahead").needs_simulation
    assert not make_policy("kube-default+fgd").needs_simulation
