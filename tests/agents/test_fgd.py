"""FGD (shared/specs/fgd-openb.md section 4.6.3): the truncated sigmoid score, node and GPU choices worked out
by hand on toy clusters, and the per-shape score cache against a policy built from scratch on the same state."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from podgym.agents.fgd_experiment import experiment_profile
from podgym.envs.kube import parse_nodes
from podgym.envs.simulator import SimulationOptions, Simulator
from podgym.envs.workload.objects import workload_from_pods
from podgym.envs.workload.types import ClusterSource
from podgym.policies import make_policy
from podgym.policies.fgd import FGDPolicy, fgd_score
from tests.agents.test_fragmentation import cpu_pod, gnode, share_pod, typical, whole_pod

# ---- fgd_score ---------------------------------------------------------------------------------------------------


def test_fgd_score_truncates_and_points_the_right_way():
    before = np.array([1000.0, 1040.0, 1041.0, 1000.0, 1200.0, 1000.0, 1000.0, 1000.0])
    after = np.array([1000.0, 1000.0, 1000.0, 1001.0, 1000.0, 1250.0, 1e9, 0.0])
    got = fgd_score(before, after)
    assert got.dtype == np.int64
    # x = (before - after) / 1000; score = trunc(100 / (1 + e^-x)):
    #   0      -> 50.0                       -> 50
    #   0.040  -> 50.9999 (round would be 51) -> 50   (small decreases tie with "no change")
    #   0.041  -> 51.0250                    -> 51   (the first decrease scoring above 50)
    #  -0.001  -> 49.975  (round would be 50) -> 49   (any increase scores below 50)
    #   0.2    -> 54.983                     -> 54
    #  -0.25   -> 43.782                     -> 43
    #  -1e6    -> 0 (exp overflows to inf without a warning)
    #   1.0    -> 73.106                     -> 73
    assert got.tolist() == [50, 50, 51, 49, 54, 43, 0, 73]
    for b, a, s in zip(before, after, got):
        assert s == math.trunc(100 / (1 + math.exp(min(-(b - a) / 1000, 700))))


def test_fgd_score_extremes_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fgd_score(np.array([1e9, 0.0]), np.array([0.0, 1e9])).tolist() == [100, 0]


def test_fgd_score_monotone_in_the_decrease():
    d = np.linspace(-5000, 5000, 2001)
    s = fgd_score(d, np.zeros_like(d))
    assert (np.diff(s) >= 0).all()
    assert (s[d < 0] < 50).all() and (s[d > 41] > 50).all()


# ---- toy clusters ------------------------------------------------------------------------------------------------

# Typical pods of the hand-worked cases: half (1000 cpu, 500 milli, 1 GPU), half (1000 cpu, 1000 milli, 1 GPU).
TWO_TYPES = typical((1000, 500, 1, "", 0.5), (1000, 1000, 1, "", 0.5))


def prepared(nodes, pods, bound=(), seed=0) -> Simulator:
    """`pods` arriving in order on `nodes` already holding the `bound` (pod, node) pairs (default GPU choice)."""
    initial = workload_from_pods([p for p, _ in bound]) if bound else None
    source = ClusterSource(parse_nodes(nodes), initial, [n for _, n in bound])
    options = SimulationOptions(departures=False, retry_unschedulable=False, tie_break="rank")
    return Simulator(source, workload_from_pods(pods), options, experiment_profile(), seed=seed)


def placements(sim: Simulator) -> list[tuple[str | None, tuple[int, ...]]]:
    n0 = sim.num_pods - len(sim.workload)
    return [
        (sim.cluster.node_names[j] if j >= 0 else None, sim.gpus_of[n0 + k])
        for k, j in enumerate(sim.node_of[n0:].tolist())
    ]


def abc(pods):
    """Nodes a, b, c (2 GPUs, 32 cores each): a holds a 400-milli pod (-> [600, 1000]), b a whole GPU
    (-> [0, 1000]), c is empty."""
    nodes = [gnode(n, gpus=2) for n in "abc"]
    bound = [(share_pod("x", "1", 400), "a"), (whole_pod("y", "1", 1), "b")]
    return prepared(nodes, pods, bound)


def test_sharing_pod_node_and_gpu_by_hand():
    # Before: a [600, 1000]: 500-type fits, small 0; 1000-type fits, small 600  -> F = 0.5*0 + 0.5*600 = 300
    #         b [0, 1000]:   both fit, small 0 (the used GPU has 0 idle)         -> F = 0
    #         c [1000,1000]:                                                    -> F = 0
    # Pod: 1 core, 500 milli on one GPU.
    #   a, GPU0 -> [100, 1000]: 500-type small 100; 1000-type small 100 -> F 100, x = +0.2  -> 54
    #   a, GPU1 -> [600, 500]:  500-type 0; 1000-type lacks a GPU: idle 1100 -> F 550, x = -0.25 -> 43
    #   b, GPU1 -> [0, 500]:    500-type 0; 1000-type idle 500 -> F 250, x = -0.25 -> 43 (GPU0 has no room)
    #   c, GPU0 -> [500, 1000]: 500-type 0; 1000-type small 500 -> F 250 -> 43; GPU1 the same -> GPU0 (lowest)
    pod = share_pod("p", "1", 500)
    sim = abc([pod])
    policy = FGDPolicy(TWO_TYPES)
    policy.reset(sim)
    sim.listeners.append(policy)
    req = sim.request(sim.next_pod())
    assert policy.index.values.tolist() == pytest.approx([300.0, 0.0, 0.0])
    assert policy.score(sim.cluster, req, np.arange(3)).tolist() == [54, 43, 43]
    assert [policy.choose_gpus(sim.cluster, n, req) for n in range(3)] == [(0,), (1,), (0,)]

    sim = abc([pod])
    sim.run(FGDPolicy(TWO_TYPES))
    assert placements(sim) == [("a", (0,))]


def test_fgd_gpu_choice_differs_from_best_fit():
    # One type (1000, 500, 1) p = 1. Node [600, 1000] (a 400-milli pod on GPU0), pod 200 milli:
    #   GPU0 -> [400, 1000]: fits, small 400 -> F 400, x = -0.4 -> 40
    #   GPU1 -> [600, 800]:  fits, small 0   -> F 0,   x = 0    -> 50   => FGD takes GPU1
    # The default ("best": least idle that fits) would take GPU0 (600 < 1000).
    nodes = [gnode("a", gpus=2)]
    sim = prepared(nodes, [share_pod("p", "1", 200)], [(share_pod("x", "1", 400), "a")])
    sim.run(FGDPolicy(typical((1000, 500, 1, "", 1.0))))
    assert placements(sim) == [("a", (1,))]
    sim = prepared(nodes, [share_pod("p", "1", 200)], [(share_pod("x", "1", 400), "a")])
    sim.run(make_policy("best-fit"))
    assert placements(sim) == [("a", (0,))]


def test_fgd_gpu_choice_lowest_index_on_equal_integer_scores():
    # One type (1000, 300, 1) p = 1. Node [308, 305] (pods of 692 and 695 milli), pod 10 milli:
    #   GPU0 -> [298, 305]: small 298 -> x = -0.298 -> 42.60 -> 42
    #   GPU1 -> [308, 295]: small 295 -> x = -0.295 -> 42.68 -> 42   (better as a float)
    # Equal integer scores: the lowest index (GPU0) wins, not the float optimum.
    sim = prepared(
        [gnode("a", gpus=2)],
        [share_pod("p", "1", 10)],
        [(share_pod("x", "1", 692), "a"), (share_pod("y", "1", 695), "a")],
    )
    assert sim.cluster.gpu_free[0].tolist() == [308, 305]
    policy = FGDPolicy(typical((1000, 300, 1, "", 1.0)))
    policy.reset(sim)
    req = sim.request(sim.next_pod())
    assert policy.index.after(np.array([0]), req)[0].tolist() == pytest.approx([298, 295])
    assert policy.choose_gpus(sim.cluster, 0, req) == (0,)
    sim.run(policy)
    assert placements(sim) == [("a", (0,))]


def test_whole_gpu_pod_weighs_the_cpu_left():
    # One type (1500 cpu, 1000 milli, 1 GPU) p = 1; nodes d (2 cores) and e (32 cores), 4 free GPUs each, F = 0.
    # Whole-GPU pod of 1 core takes GPU0 on either:
    #   d: cpu_left 1000 < 1500 -> the type no longer fits: all 3000 idle -> x = -3 -> 4.74 -> 4
    #   e: fits on the free GPUs, small 0 -> F 0 -> 50                                => e
    sim = prepared([gnode("d", cpu="2", gpus=4), gnode("e", gpus=4)], [whole_pod("w", "1", 1)])
    policy = FGDPolicy(typical((1500, 1000, 1, "", 1.0)))
    policy.reset(sim)
    req = sim.request(sim.next_pod())
    assert policy.score(sim.cluster, req, np.arange(2)).tolist() == [4, 50]
    assert policy.choose_gpus(sim.cluster, 1, req) is None  # not sharing: the default (lowest idle GPU)
    sim.run(policy)
    assert placements(sim) == [("e", (0,))]


def test_multi_gpu_pod_by_hand():
    # One type (1 core, 2 whole GPUs) p = 1. d: 4 idle GPUs, e: [0, 1000, 1000, 1000] (a 1-GPU pod on GPU0); F = 0.
    # A 2-GPU pod: d -> [0, 0, 1000, 1000]: the type still fits, F' = 0, x = 0 -> 50
    #              e -> [0, 0, 0, 1000]: one GPU left, the type no longer fits: F' = 1000, x = -1 -> 26.89 -> 26
    # (taking a single GPU would leave e two idle GPUs: 50 on both)
    sim = prepared([gnode("d", gpus=4), gnode("e", gpus=4)], [whole_pod("w", "1", 2)], [(whole_pod("y", "1", 1), "e")])
    policy = FGDPolicy(typical((1000, 1000, 2, "", 1.0)))
    policy.reset(sim)
    req = sim.request(sim.next_pod())
    assert policy.score(sim.cluster, req, np.arange(2)).tolist() == [50, 26]
    sim.run(policy)
    assert placements(sim) == [("d", (0, 1))]


def test_fgd_default_typical_pods_come_from_the_workload():
    # make_policy("fgd") has no typical pods: reset() derives them from the simulated workload.
    sim = abc([share_pod("p", "1", 500), cpu_pod("q", "1")])
    policy = make_policy("fgd")
    sim.run(policy)
    assert policy.index is not None and len(policy.index.typical) == 2
    assert all(node is not None for node, _ in placements(sim))


# ---- the cache: incremental == from scratch ----------------------------------------------------------------------

SHAPES = [
    cpu_pod("cpu", "2"),
    share_pod("s1", "1", 250),
    share_pod("s2", "3152m", 810),
    share_pod("s3", "1", 500, spec=("V100M16", "V100M32")),
    share_pod("s4", "2", 330),
    whole_pod("w1", "4", 1),
    whole_pod("w2", "8", 2),
    whole_pod("w4", "8", 4),
]


def test_cache_matches_a_fresh_policy_over_random_placements():
    rng = np.random.default_rng(11)
    specs = [(8, "G2"), (8, "G2"), (8, "V100M32"), (4, "V100M16"), (4, "V100M32"), (2, "T4"), (2, "T4"), (1, "P100")]
    nodes = [gnode(f"n{j}", cpu="64", gpus=g, model=m) for j, (g, m) in enumerate(specs)]
    pods = []
    for j in range(200):
        p = SHAPES[int(rng.integers(len(SHAPES)))]
        p = {**p, "metadata": {**p["metadata"], "name": f"p{j}", "uid": f"u{j}"}}
        pods.append(p)
    typ = typical(
        (1000, 0, 0, "", 0.1),
        (3152, 810, 1, "", 0.3),
        (1000, 250, 1, "", 0.2),
        (4000, 1000, 1, "", 0.25),
        (8000, 1000, 2, "", 0.1),
        (2000, 500, 1, "V100M16|V100M32", 0.05),
    )
    sim = prepared(nodes, pods, seed=5)
    policy = FGDPolicy(typ)
    policy.reset(sim)
    sim.listeners.append(policy)
    everything = np.arange(sim.cluster.num_nodes)
    bound: list[tuple[int, object, tuple[int, ...]]] = []
    steps = placed = unbound = 0
    while (i := sim.next_pod()) is not None:
        steps += 1
        req = sim.request(i)
        feasible = np.flatnonzero(sim.feasible())
        incremental = policy.score(sim.cluster, req, everything)
        fresh = FGDPolicy(typ)
        fresh.reset(sim)
        assert policy.index.numerators.tolist() == fresh.index.numerators.tolist()  # exact, not close
        assert incremental.tolist() == fresh.score(sim.cluster, req, everything).tolist(), steps
        for n in feasible:
            assert policy.choose_gpus(sim.cluster, int(n), req) == fresh.choose_gpus(sim.cluster, int(n), req)
        if not len(feasible):
            sim.defer()
            continue
        # Mostly FGD's own choice, sometimes a random feasible node, so that many nodes change.
        n = int(feasible[np.argmax(incremental[feasible])]) if rng.random() < 0.5 else int(rng.choice(feasible))
        sim.bind(n, policy.choose_gpus(sim.cluster, n, req))
        placed += 1
        bound.append((n, req, sim.gpus_of[i]))
        if rng.random() < 0.4 and bound:  # a departure: the unbind path of the cache
            n, r, g = bound.pop(int(rng.integers(len(bound))))
            sim.cluster.unbind(n, r, g)
            for listener in sim.listeners:
                listener.on_unbind(sim.cluster, n, r, g)
            unbound += 1
    assert steps == 200 and placed > 100 and unbound > 5
    assert len(policy._cache) <= len(SHAPES)  # the same shapes came back: cached scores were refreshed
