"""Pairs of heuristics (policies.composite, ``make_policy("CPU+GPU")``): pods without GPUs go to the first,
pods with GPUs to the second, and both see every placement."""

from __future__ import annotations

import numpy as np
import pytest

from podgym.envs.kube.profile import default_profile
from podgym.envs.policy import KubeSchedulerPolicy
from podgym.policies import HEURISTICS, is_heuristic, make_policy, scenario_policy
from podgym.policies.composite import ByPodKind
from podgym.policies.fgd import FGDPolicy
from podgym.policies.heuristics import BestFitPolicy, GpuClusteringPolicy, RandomPolicy
from tests.agents.test_heuristics import CLUSTER_BOUND, CLUSTER_NODES, gnode, gpod, placed, prepared, simulate


def test_each_pod_is_scored_by_its_kind():
    """On one state a GPU pod gets the GPU part's scores and a CPU pod the CPU part's, hooks and all."""
    pair = make_policy("best-fit+gpu-clustering")
    assert isinstance(pair, ByPodKind) and pair.name == "best-fit+gpu-clustering"
    alone = GpuClusteringPolicy()
    sim = prepared(CLUSTER_NODES, [gpod("p", k=1, m=500), gpod("c", cpu="3")], CLUSTER_BOUND)
    pair.reset(sim)
    alone.reset(sim)  # the snapshot's tags, through the pair's reset too
    nodes = np.arange(4)
    gpu_pod, cpu_pod = sim.request(len(CLUSTER_BOUND)), sim.request(len(CLUSTER_BOUND) + 1)
    assert pair.score(sim.cluster, gpu_pod, nodes).tolist() == alone.score(sim.cluster, gpu_pod, nodes).tolist()
    assert pair.score(sim.cluster, gpu_pod, nodes).tolist() == [88, 66, 37, 15]
    expected = BestFitPolicy().score(sim.cluster, cpu_pod, nodes).tolist()
    assert pair.score(sim.cluster, cpu_pod, nodes).tolist() == expected
    assert expected != [0, 0, 0, 0]  # GpuClustering would score a CPU pod 0 everywhere


def test_a_pair_schedules_each_kind_as_its_part_alone():
    """On GPU pods only, kube-default+gpu-clustering places as gpu-clustering (its tags kept by the forwarded
    hooks), first-fit+fgd as FGD and best-fit+random as random (whose choices of GPU for a sharing pod the pair
    forwards); on CPU pods only,
    the pair places as its first part."""
    nodes = [gnode(f"n{i}", gpus=4, cpu="16") for i in range(4)]
    rng = np.random.default_rng(0)
    shapes = zip(rng.choice([1, 1, 2], 14).tolist(), rng.choice([250, 500, 1000], 14).tolist())
    gpu_pods = [gpod(f"g{i}", k=k, m=m if k == 1 else 1000) for i, (k, m) in enumerate(shapes)]
    cpu_pods = [gpod(f"c{i}", cpu=str(int(c))) for i, c in enumerate(rng.integers(1, 6, 14))]
    for seed in range(3):
        pairs = (
            ("kube-default+gpu-clustering", GpuClusteringPolicy),
            ("first-fit+fgd", FGDPolicy),
            ("best-fit+random", RandomPolicy),  # picks a sharing pod's GPU at random
        )
        for name, alone in pairs:
            pair = simulate(make_policy(name), nodes, gpu_pods, seed=seed)
            assert placed(pair) == placed(simulate(alone(), nodes, gpu_pods, seed=seed))
        pair = simulate(make_policy("best-fit+gpu-packing"), nodes, cpu_pods, seed=seed)
        assert placed(pair) == placed(simulate(BestFitPolicy(), nodes, cpu_pods, seed=seed))


def test_pair_names():
    assert is_heuristic("kube-default+gpu-packing") and is_heuristic("fgd")
    assert not is_heuristic("kube-default+gpu-packing+fgd") and not is_heuristic("kube-default+")
    for bad in ("kube-default+nope", "nope+fgd", "a+b+c"):
        with pytest.raises(ValueError, match=r"pairs CPU\+GPU"):
            make_policy(bad)
    assert all(make_policy(f"{name}+gpu-packing").cpu.__class__ is make_policy(name).__class__ for name in HEURISTICS)


def test_a_scenarios_kube_default_is_its_own_profile_inside_a_pair_too():
    profile = default_profile()
    pair = scenario_policy("kube-default+gpu-packing", profile, sample_nodes=False)
    assert isinstance(pair.cpu, KubeSchedulerPolicy) and pair.cpu.profile is profile and not pair.cpu.sample_nodes
    assert scenario_policy("kube-default", profile).profile is profile
    with pytest.raises(ValueError, match="unknown policy"):
        scenario_policy("kube-default+nope", profile)


def test_fgd_inside_a_pair_scores_against_the_experiments_typical_pods():
    """In the FGD experiment, FGD alone or in a pair measures against the trace's typical pods."""
    from pathlib import Path

    from podgym.agents.fgd_experiment import experiment_heuristic
    from podgym.envs.fragmentation import typical_pods
    from podgym.envs.workload.openb import read_openb_pods

    typical = typical_pods(read_openb_pods(Path(__file__).resolve().parents[1] / "data" / "openb" / "pods.csv"))
    assert experiment_heuristic("fgd", typical).typical is typical
    pair = experiment_heuristic("best-fit+fgd", typical)
    assert isinstance(pair, ByPodKind) and isinstance(pair.cpu, BestFitPolicy) and pair.gpu.typical is typical
    assert experiment_heuristic("fgd+best-fit", typical).cpu.typical is typical
