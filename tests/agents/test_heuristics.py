"""Heuristic node scorers on toy clusters whose right answer is worked out by hand from each formula.

Nodes are Node dicts (tests/kube/builders.py), pods are Pod dicts (GPU asks through the podgym GPU-share
annotations). A "snapshot" of pods already bound sets up a state; then one or a few pods arrive and the
simulator (no departures, no retries, ties to the smallest rank: the FGD experiment's rules) places them.
"""

from __future__ import annotations

import numpy as np
import pytest

from podgym.envs.cluster import ClusterState, PodRequest
from podgym.envs.kube import parse_nodes
from podgym.envs.policy import KubeSchedulerPolicy, NodeScorer
from podgym.envs.simulator import SimulationOptions, Simulator
from podgym.envs.workload.objects import workload_from_pods
from podgym.envs.workload.types import GPU_COUNT_ANNOTATION, GPU_MILLI_ANNOTATION, GPU_MODEL_LABEL, ClusterSource
from podgym.policies import HEURISTICS, make_policy
from podgym.policies.heuristics import (
    BestFitPolicy,
    DotProductPolicy,
    FirstFitPolicy,
    GpuClusteringPolicy,
    GpuPackingPolicy,
    RandomPolicy,
    RoundRobinPolicy,
    balanced_allocation,
    kube_default,
    least_allocated,
    most_allocated,
    requested_to_capacity_ratio,
)
from tests.kube.builders import node, pod

# ---- builders ----------------------------------------------------------------------------------------------------


def gnode(name: str, cpu: str = "32", gpus: int = 0, memory: str = "256Gi", model: str = "V100") -> dict:
    alloc = {"cpu": cpu, "memory": memory, "pods": "110"}
    labels = {}
    if gpus:
        alloc["nvidia.com/gpu"] = str(gpus)
        labels[GPU_MODEL_LABEL] = model
    return node(name, allocatable=alloc, labels=labels)


def gpod(name: str, cpu: str = "1", k: int = 0, m: int = 1000, memory: str = "1Gi", **kwargs) -> dict:
    p = pod(name, containers=[{"cpu": cpu, "memory": memory}], **kwargs)
    if k:
        p["metadata"]["annotations"] = {GPU_COUNT_ANNOTATION: str(k), GPU_MILLI_ANNOTATION: str(m)}
    return p


def prepared(
    nodes: list[dict],
    pods: list[dict],
    bound: list[tuple[dict, str]] = (),
    seed: int = 0,
    arrival: list[float] | None = None,
    duration: list[float] | None = None,
) -> Simulator:
    """A simulator of `pods` (arriving at 0 in order, never leaving, unless given) on `nodes` already holding the
    `bound` (pod, node) pairs. Pods depart only when `duration` is given."""
    initial = workload_from_pods([p for p, _ in bound]) if bound else None
    source = ClusterSource(parse_nodes(nodes), initial, [n for _, n in bound])
    options = SimulationOptions(departures=duration is not None, retry_unschedulable=False, tie_break="rank")
    return Simulator(source, workload_from_pods(pods, arrival, duration), options, seed=seed)


def simulate(
    policy: NodeScorer,
    nodes: list[dict],
    pods: list[dict],
    bound: list[tuple[dict, str]] = (),
    seed: int = 0,
    arrival: list[float] | None = None,
    duration: list[float] | None = None,
) -> Simulator:
    """Run `policy` over `pods` on `nodes` holding `bound` (see `prepared`)."""
    sim = prepared(nodes, pods, bound, seed, arrival, duration)
    sim.run(policy)
    return sim


def placed(sim: Simulator) -> list[tuple[str | None, tuple[int, ...]]]:
    """(node name or None, GPUs) of each arriving pod, in order."""
    n0 = sim.num_pods - len(sim.workload)
    return [
        (sim.cluster.node_names[j] if j >= 0 else None, sim.gpus_of[n0 + k])
        for k, j in enumerate(sim.node_of[n0:].tolist())
    ]


def state(nodes: list[dict], bound: list[tuple[dict, str]], pending: dict) -> tuple[ClusterState, PodRequest]:
    """The cluster with `bound` placed (the default GPU choice) and the PodRequest of `pending`."""
    sim = prepared(nodes, [pending], bound)
    return sim.cluster, sim.request(len(bound))


def smaller_rank(sim: Simulator, *names: str) -> str:
    return min(names, key=lambda n: sim.rank[sim.cluster.node_index[n]])


# ---- BestFit -----------------------------------------------------------------------------------------------------


def test_best_fit_scores_by_hand():
    # cpu-only pod of 1 core: frac = (cpu_left - 1000) / 128000 * 0.5, no GPU term (0 - 0).
    nodes = [gnode("a", cpu="64"), gnode("b", cpu="64100m"), gnode("c", cpu="32")]
    cluster, req = state(nodes, [], gpod("p", cpu="1"))
    # a: 1 - 63000/256000 = 0.75390625 -> 75; b: 1 - 63100/256000 -> 75.35 -> 75; c: 1 - 31000/256000 -> 87.89 -> 87
    assert BestFitPolicy().score(cluster, req, np.arange(3)).tolist() == [75, 75, 87]
    sim = simulate(BestFitPolicy(), nodes, [gpod("p", cpu="1")])
    assert placed(sim) == [("c", ())]


def test_best_fit_gpu_term_and_default_gpu_choice():
    # sharing pod 4 cores, 500 milli; both nodes 96 cores.
    # x: 8 idle GPUs: 92000/256000 + 7500/16000 = 0.359375 + 0.46875 -> 17.1875 -> 17
    # y: 2 GPUs, 2000 idle: 0.359375 + 1500/16000 = 0.453125 -> 54.6875 -> 54, wins; GPU: best fit, lowest index
    nodes = [gnode("x", cpu="96", gpus=8), gnode("y", cpu="96", gpus=2)]
    p = gpod("p", cpu="4", k=1, m=500)
    cluster, req = state(nodes, [], p)
    assert BestFitPolicy().score(cluster, req, np.arange(2)).tolist() == [17, 54]
    assert placed(simulate(BestFitPolicy(), nodes, [p])) == [("y", (0,))]
    # y's GPU 0 has 300 idle after a 700 pod: a 200 pod takes it (the least idle milli that fits), not idle GPU 1;
    # x: 92000/256000 + 7800/16000 = 0.846875 -> 15; y (95 cores left): 91000/256000 + 1100/16000 -> 57.58 -> 57
    bound = [(gpod("u", k=1, m=700), "y")]
    cluster, req = state(nodes, bound, gpod("q", cpu="4", k=1, m=200))
    assert BestFitPolicy().score(cluster, req, np.arange(2)).tolist() == [15, 57]
    sim = simulate(BestFitPolicy(), nodes, [gpod("q", cpu="4", k=1, m=200)], bound=bound)
    assert placed(sim) == [("y", (0,))]


def test_best_fit_truncation_tie_goes_to_the_smallest_rank():
    # a scores 75.39 and b 75.35 as floats, both 75 as integers: the rank decides, not the float.
    nodes = [gnode("a", cpu="64"), gnode("b", cpu="64100m")]
    chosen = set()
    for seed in range(12):
        sim = simulate(BestFitPolicy(), nodes, [gpod("p", cpu="1")], seed=seed)
        (where, _) = placed(sim)[0]
        assert where == smaller_rank(sim, "a", "b")
        chosen.add(where)
    assert chosen == {"a", "b"}


def test_best_fit_constants_can_be_given():
    nodes = [gnode("a", cpu="64"), gnode("c", cpu="32")]
    cluster, req = state(nodes, [], gpod("p", cpu="1"))
    # MaxCpu 64000: a: 1 - 63000/128000 = 0.5078125 -> 50; c: 1 - 31000/128000 = 0.7578125 -> 75
    assert BestFitPolicy(max_cpu=64000).score(cluster, req, np.arange(2)).tolist() == [50, 75]


def test_best_fit_counts_every_gpu_of_a_multi_gpu_pod():
    # 4 cores and 4 whole GPUs (req_gpu_total = 4 * 1000), both nodes 96 cores:
    # x, 8 idle GPUs: 92000/256000 + (8000 - 4000)/16000 = 0.359375 + 0.25  -> 39.0625 -> 39
    # y, 4 idle GPUs: 0.359375 + 0 -> 64.0625 -> 64 (wins: nothing left over)
    # (counting one GPU only would give 20 and 45)
    nodes = [gnode("x", cpu="96", gpus=8), gnode("y", cpu="96", gpus=4)]
    p = gpod("p", cpu="4", k=4)
    cluster, req = state(nodes, [], p)
    assert BestFitPolicy().score(cluster, req, np.arange(2)).tolist() == [39, 64]
    assert placed(simulate(BestFitPolicy(), nodes, [p])) == [("y", (0, 1, 2, 3))]
    # With a 2-GPU pod bound on x (6 idle left) a 2-GPU pod: x 0.359375 + 4000/16000 -> 39 (92 cores: 91000 ->
    # 0.35546875 + 0.25 -> 39.45 -> 39); y: 0.359375 + 2000/16000 = 0.484375 -> 51.5625 -> 51
    bound = [(gpod("u", cpu="1", k=2), "x")]
    cluster, req = state(nodes, bound, gpod("q", cpu="4", k=2))
    assert BestFitPolicy().score(cluster, req, np.arange(2)).tolist() == [39, 51]


# ---- DotProd -----------------------------------------------------------------------------------------------------


def test_dot_product_smaller_dot_product_wins():
    # pod: 8 cores, one whole GPU -> b = [0.0625, 0.125]
    # p: 64 cores, 8 GPUs -> a = [0.5, 1.0], d = 0.03125 + 0.125 = 0.15625, 100 * (1 - 0.078125) = 92.19 -> 92
    # q: 16 cores, 2 GPUs -> a = [0.125, 0.25], d = 0.0078125 + 0.03125 = 0.0390625 -> 98.05 -> 98 (wins)
    nodes = [gnode("p", cpu="64", gpus=8), gnode("q", cpu="16", gpus=2)]
    pd = gpod("pod", cpu="8", k=1, m=1000)
    cluster, req = state(nodes, [], pd)
    assert DotProductPolicy().score(cluster, req, np.arange(2)).tolist() == [92, 98]
    assert placed(simulate(DotProductPolicy(), nodes, [pd])) == [("q", (0,))]


def test_dot_product_multi_gpu_and_sharing_pods_by_hand():
    # 2 whole GPUs and 8 cores: b = [8000/128000, 2000/8000] = [0.0625, 0.25]
    # p (64 cores, 8 GPUs): a = [0.5, 1.0], d = 0.03125 + 0.25 = 0.28125 -> 100 * (1 - 0.140625) = 85.94 -> 85
    # q (16 cores, 2 GPUs): a = [0.125, 0.25], d = 0.0078125 + 0.0625 = 0.0703125 -> 96.48 -> 96
    # (counting one GPU only: 92 and 98)
    nodes = [gnode("p", cpu="64", gpus=8), gnode("q", cpu="16", gpus=2)]
    cluster, req = state(nodes, [], gpod("w", cpu="8", k=2))
    assert DotProductPolicy().score(cluster, req, np.arange(2)).tolist() == [85, 96]
    # A sharing pod, 2 cores and 250 milli: b = [0.015625, 0.03125]
    # p: d = 0.0078125 + 0.03125 = 0.0390625 -> 98.05 -> 98; q: 0.001953125 + 0.0078125 -> 99.51 -> 99
    cluster, req = state(nodes, [], gpod("s", cpu="2", k=1, m=250))
    assert DotProductPolicy().score(cluster, req, np.arange(2)).tolist() == [98, 99]


def test_dot_product_cpu_only_pod_counts_cpu_and_zero_when_cpu_short():
    # cpu-only pod of 32 cores: b = [0.25, 0]; a: 64 cores -> d = 0.125 -> 93.75 -> 93; 48 cores -> 0.09375 -> 95
    nodes = [gnode("a", cpu="64", gpus=8), gnode("b", cpu="48"), gnode("c", cpu="16")]
    cluster, req = state(nodes, [], gpod("p", cpu="32"))
    # c has 16 < 32 cores left: 0 (the filter would drop it anyway)
    assert DotProductPolicy().score(cluster, req, np.arange(3)).tolist() == [93, 95, 0]


def test_dot_product_truncation_tie():
    # 1-core pod: d = cpu_left / 128000 / 128; 64 cores -> 99.8046875 -> 99; 60 cores -> 99.8169 -> 99: tie -> rank
    nodes = [gnode("a", cpu="64"), gnode("b", cpu="60")]
    for seed in range(6):
        sim = simulate(DotProductPolicy(), nodes, [gpod("p", cpu="1")], seed=seed)
        assert placed(sim)[0][0] == smaller_rank(sim, "a", "b")


# ---- GpuPacking --------------------------------------------------------------------------------------------------


PACKING_NODES = [gnode("idle", gpus=4), gnode("part", gpus=4), gnode("full0", gpus=4)]
PACKING_BOUND = [(gpod("u1", k=1, m=400), "part"), (gpod("u2", k=1, m=700), "full0")]


def test_gpu_packing_three_cases():
    # sharing pod of 500 milli:
    # idle: case 3, F = 4 -> max(33 - 4, 4) = 29
    # part: GPU 0 has 600 idle (>= 500, the least): u = 0, case 1 -> max(100 - (600*100/1000)/10, 50) = 94
    # full0: GPU 0 has 300 idle (< 500), the first fit is idle GPU 1: u = 1, case 2 -> max(50 - 1, 33) = 49
    cluster, req = state(PACKING_NODES, PACKING_BOUND, gpod("p", k=1, m=500))
    assert GpuPackingPolicy().score(cluster, req, np.arange(3)).tolist() == [29, 94, 49]
    sim = simulate(GpuPackingPolicy(), PACKING_NODES, [gpod("p", k=1, m=500)], bound=PACKING_BOUND)
    assert placed(sim) == [("part", (0,))]
    # a 2-GPU pod: idle 29; part and full0 take two idle GPUs, u = 2 -> 48 each: a tie, the rank decides
    cluster, req = state(PACKING_NODES, PACKING_BOUND, gpod("w", k=2))
    assert GpuPackingPolicy().score(cluster, req, np.arange(3)).tolist() == [29, 48, 48]
    sim = simulate(GpuPackingPolicy(), PACKING_NODES, [gpod("w", k=2)], bound=PACKING_BOUND)
    assert placed(sim) == [(smaller_rank(sim, "part", "full0"), (1, 2))]


def test_gpu_packing_integer_division_tie_and_cpu_only():
    # GPUs at 650 and 690 idle: (65)/10 = 6 and (69)/10 = 6 -> 94 both; the rank decides, not the better fit
    nodes = [gnode("a", gpus=2), gnode("b", gpus=2)]
    bound = [(gpod("u1", k=1, m=350), "a"), (gpod("u2", k=1, m=310), "b")]
    cluster, req = state(nodes, bound, gpod("p", k=1, m=100))
    assert GpuPackingPolicy().score(cluster, req, np.arange(2)).tolist() == [94, 94]
    for seed in range(6):
        sim = simulate(GpuPackingPolicy(), nodes, [gpod("p", k=1, m=100)], bound=bound, seed=seed)
        assert placed(sim) == [(smaller_rank(sim, "a", "b"), (0,))]
    cluster, req = state(nodes, bound, gpod("c", cpu="2"))
    assert GpuPackingPolicy().score(cluster, req, np.arange(2)).tolist() == [0, 0]


# ---- GpuClustering -----------------------------------------------------------------------------------------------

CLUSTER_NODES = [gnode(n, gpus=4) for n in ("same", "mixed", "empty", "other")]
CLUSTER_BOUND = [
    (gpod("s1", k=1, m=300), "same"),
    (gpod("s2", k=1, m=300), "mixed"),
    (gpod("w1", k=1, m=1000), "mixed"),
    (gpod("w2", k=1, m=1000), "other"),
    (gpod("c1", cpu="2"), "empty"),  # a CPU-only pod adds no tag
]


def test_gpu_clustering_four_tag_cases():
    # sharing pod of 500; base = 25 * (8000 - L) // 8000
    # same:  {share-gpu},         L = 3700 -> 107500 // 8000 = 13, + 75 = 88
    # mixed: {share-gpu, 1-gpu},  L = 2700 -> 132500 // 8000 = 16, + 50 = 66
    # empty: {},                  L = 4000 -> 100000 // 8000 = 12, + 25 = 37
    # other: {1-gpu},             L = 3000 -> 125000 // 8000 = 15, +  0 = 15
    policy = GpuClusteringPolicy()
    sim = simulate(policy, CLUSTER_NODES, [gpod("p", k=1, m=500)], bound=CLUSTER_BOUND)
    # the policy learnt the snapshot's tags in reset(); the pod joins its kind on "same", GPU 0 (700 idle, best fit)
    assert placed(sim) == [("same", (0,))]
    # the scores, from a policy reset on the snapshot alone
    sim = prepared(CLUSTER_NODES, [gpod("p", k=1, m=500)], CLUSTER_BOUND)
    fresh = GpuClusteringPolicy()
    fresh.reset(sim)
    cluster, req = sim.cluster, sim.request(len(CLUSTER_BOUND))
    assert fresh.score(cluster, req, np.arange(4)).tolist() == [88, 66, 37, 15]
    # a 1-GPU whole pod: same {share} -> +0, mixed -> +50, empty -> +25, other {1-gpu} -> +75
    cluster, req = state(CLUSTER_NODES, CLUSTER_BOUND, gpod("q", k=1, m=1000))
    assert fresh.score(cluster, req, np.arange(4)).tolist() == [13, 66, 37, 90]
    # a CPU-only pod scores 0 everywhere
    cluster, req = state(CLUSTER_NODES, CLUSTER_BOUND, gpod("c", cpu="1"))
    assert fresh.score(cluster, req, np.arange(4)).tolist() == [0, 0, 0, 0]


def test_gpu_clustering_multi_gpu_pods_have_their_own_tag():
    # A 2-GPU pod's tag is "2-gpu": a node holding one (L = 2000) scores 25 * 6000 // 8000 = 18, + 75 = 93; a node
    # holding a 1-GPU pod (L = 3000) 15 + 0 = 15; an empty node (L = 4000) 12 + 25 = 37.
    nodes = [gnode("two", gpus=4), gnode("one", gpus=4), gnode("none", gpus=4)]
    bound = [(gpod("t", k=2), "two"), (gpod("o", k=1), "one")]
    sim = prepared(nodes, [gpod("w", k=2)], bound)
    policy = GpuClusteringPolicy()
    policy.reset(sim)
    assert policy.score(sim.cluster, sim.request(len(bound)), np.arange(3)).tolist() == [93, 15, 37]
    assert placed(simulate(GpuClusteringPolicy(), nodes, [gpod("w", k=2)], bound=bound)) == [("two", (2, 3))]


def test_gpu_clustering_unbind_removes_the_tag():
    nodes = [gnode("a", gpus=2), gnode("b", gpus=2)]
    cluster, req = state(nodes, [], gpod("p", k=2))
    policy = GpuClusteringPolicy()
    # empty nodes: base = 25 * 6000 // 8000 = 18, + 25
    assert policy.score(cluster, req, np.arange(2)).tolist() == [43, 43]
    policy.on_bind(cluster, 1, req, ())
    assert policy.score(cluster, req, np.arange(2)).tolist() == [43, 93]  # b holds {2-gpu}: + 75
    policy.on_unbind(cluster, 1, req, ())
    assert policy.score(cluster, req, np.arange(2)).tolist() == [43, 43]
    # through the simulator: x (sharing) goes to the smaller rank (both empty: 43 each) and leaves at t=10;
    # y (1 whole GPU) comes at t=20. Had x's tag stayed, its node would score 18 + 0 and y go to the other one.
    pods = [gpod("x", k=1, m=500), gpod("y", k=1)]
    for seed in range(4):
        policy = GpuClusteringPolicy()
        sim = simulate(policy, nodes, pods, seed=seed, arrival=[0, 20], duration=[10, float("inf")])
        first = smaller_rank(sim, "a", "b")
        assert placed(sim) == [(None, ()), (first, (0,))]  # x has left
        assert policy.counts.sum() == 1 and policy.counts[sim.cluster.node_index[first], policy.tag_index["1-gpu"]]


# ---- Round robin, first fit, random --------------------------------------------------------------------------


def test_round_robin_cycles_and_skips_infeasible_nodes():
    nodes = [gnode("n0", cpu="8"), gnode("n1", cpu="1"), gnode("n2", cpu="8")]
    pods = [gpod(f"p{i}", cpu="1") for i in range(6)]
    sim = simulate(RoundRobinPolicy(), nodes, pods)
    # n1 holds one pod; after n0 the next feasible one is n2
    assert [n for n, _ in placed(sim)] == ["n0", "n1", "n2", "n0", "n2", "n0"]
    # a second run starts over from node 0 (reset)
    policy = RoundRobinPolicy()
    for _ in range(2):
        assert [n for n, _ in placed(simulate(policy, nodes, pods[:3]))] == ["n0", "n1", "n2"]


def test_first_fit_takes_the_lowest_index():
    nodes = [gnode("z0", cpu="2"), gnode("a1", cpu="8"), gnode("m2", cpu="8")]
    sim = simulate(FirstFitPolicy(), nodes, [gpod(f"p{i}", cpu="1") for i in range(4)], seed=3)
    assert [n for n, _ in placed(sim)] == ["z0", "z0", "a1", "a1"]


def test_random_is_deterministic_per_seed_and_differs_across_seeds():
    nodes = [gnode(f"n{i}", cpu="64") for i in range(8)]
    pods = [gpod(f"p{i}", cpu="1") for i in range(30)]
    runs = {seed: simulate(RandomPolicy(), nodes, pods, seed=seed).node_of.tolist() for seed in (1, 2)}
    assert simulate(RandomPolicy(), nodes, pods, seed=1).node_of.tolist() == runs[1]
    assert runs[1] != runs[2]
    assert len(set(runs[1])) > 3  # spread, not first fit


def test_random_gpu_choice_is_uniform_among_fitting_gpus():
    # one node, 4 GPUs; 12 pods of 300: best fit would fill GPU 0 first (3 pods), random spreads them
    nodes = [gnode("g", gpus=4)]
    pods = [gpod(f"p{i}", k=1, m=300) for i in range(12)]
    first = [g for _, g in placed(simulate(RandomPolicy(), nodes, pods, seed=5))]
    again = simulate(RandomPolicy(), nodes, pods, seed=5)
    assert [g for _, g in placed(again)] == first
    assert first != [(g,) for g in range(4) for _ in range(3)]  # not best fit's order
    assert sorted(first) == [(g,) for g in range(4) for _ in range(3)]  # three 300s on each GPU, none overcommitted
    # every pod placed and no GPU overcommitted: the choice only ever took GPUs that fit
    assert all(n == "g" for n, _ in placed(again))
    assert again.cluster.gpu_free.tolist() == [[100, 100, 100, 100]]
    # whole-GPU pods keep the default: the lowest-index idle GPUs
    sim = simulate(RandomPolicy(), nodes, [gpod("w", k=2)], seed=5)
    assert placed(sim) == [("g", (0, 1))]


# ---- kube-scheduler strategies -------------------------------------------------------------------------------


def test_kube_strategies_by_hand():
    nodes = [gnode("n0", cpu="4", memory="16Gi"), gnode("n1", cpu="8", memory="16Gi")]
    p = gpod("p", cpu="1", memory="1Gi")
    cluster, req = state(nodes, [], p)
    # LeastAllocated: n0 (75 + 93) / 2 = 84, n1 (87 + 93) / 2 = 90
    assert least_allocated().score(cluster, req, np.arange(2)).tolist() == [84, 90]
    # MostAllocated: n0 (25 + 6) / 2 = 15, n1 (12 + 6) / 2 = 9
    assert most_allocated().score(cluster, req, np.arange(2)).tolist() == [15, 9]
    assert placed(simulate(least_allocated(), nodes, [p])) == [("n1", ())]
    assert placed(simulate(most_allocated(), nodes, [p])) == [("n0", ())]
    assert placed(simulate(requested_to_capacity_ratio(), nodes, [p])) == [("n0", ())]
    spread = [{"utilization": 0, "score": 10}, {"utilization": 100, "score": 0}]
    assert placed(simulate(requested_to_capacity_ratio(spread), nodes, [p])) == [("n1", ())]
    # BalancedAllocation: n0 fractions (0.25, 0.25) -> 100; n1 (0.25, 0.0625) -> std 0.09375 -> 90
    nodes = [gnode("n0", cpu="4", memory="4Gi"), gnode("n1", cpu="4", memory="16Gi")]
    cluster, req = state(nodes, [], p)
    assert balanced_allocation().score(cluster, req, np.arange(2)).tolist() == [100, 90]
    assert placed(simulate(balanced_allocation(), nodes, [p])) == [("n0", ())]


def test_kube_strategy_profiles():
    for factory, plugin in [
        (least_allocated, "NodeResourcesFit"),
        (most_allocated, "NodeResourcesFit"),
        (requested_to_capacity_ratio, "NodeResourcesFit"),
        (balanced_allocation, "NodeResourcesBalancedAllocation"),
    ]:
        policy = factory()
        assert isinstance(policy, KubeSchedulerPolicy)
        assert [(p.name, w) for p, w in policy.profile.score_plugins] == [(plugin, 1)]
        assert not policy.sample_nodes and policy.num_to_find(5000) == 5000
        assert policy.name == factory.__name__.replace("_", "-")
    default = kube_default()
    assert default.name == "kube-default" and default.sample_nodes
    assert default.num_to_find(5000) < 5000  # upstream's adaptive percentage


# ---- every policy, one interface -----------------------------------------------------------------------------

POLICIES = [
    RandomPolicy,
    RoundRobinPolicy,
    FirstFitPolicy,
    BestFitPolicy,
    DotProductPolicy,
    GpuPackingPolicy,
    GpuClusteringPolicy,
    least_allocated,
    most_allocated,
    requested_to_capacity_ratio,
    balanced_allocation,
    kube_default,
]


def mixed_cluster() -> tuple[list[dict], list[dict]]:
    nodes = [
        gnode("cpu-0", cpu="16", memory="64Gi"),
        gnode("cpu-1", cpu="8", memory="32Gi"),
        gnode("t4-0", cpu="32", gpus=2, model="T4"),
        gnode("t4-1", cpu="32", gpus=4, model="T4"),
        gnode("v100-0", cpu="64", gpus=8, model="V100"),
        gnode("v100-1", cpu="48", gpus=8, model="V100"),
    ]
    rng = np.random.default_rng(0)
    pods = []
    for i in range(60):
        kind = i % 4
        cpu = f"{int(rng.integers(1, 9))}"
        if kind == 0:
            pods.append(gpod(f"c{i}", cpu=cpu, memory="2Gi"))
        elif kind == 1:
            pods.append(gpod(f"s{i}", cpu=cpu, k=1, m=int(rng.choice([100, 250, 500, 700]))))
        elif kind == 2:
            pods.append(gpod(f"w{i}", cpu=cpu, k=int(rng.choice([1, 2, 4, 8]))))
        else:
            pods.append(gpod(f"t{i}", cpu=cpu, k=1, m=500, node_selector={GPU_MODEL_LABEL: "T4"}))
    return nodes, pods


@pytest.mark.parametrize("factory", POLICIES, ids=lambda f: f.__name__)
def test_every_policy_places_only_on_feasible_nodes(factory):
    policy = factory()
    assert isinstance(policy, NodeScorer)
    assert policy.num_to_find(6) <= 6
    nodes, pods = mixed_cluster()
    options = SimulationOptions(departures=False, retry_unschedulable=False, tie_break="rank")
    sim = Simulator(ClusterSource(parse_nodes(nodes)), workload_from_pods(pods), options, seed=11)
    bind, infeasible = sim.bind, []

    def checked_bind(node: int, gpus=None) -> None:
        i = sim.next_pod()
        if not sim.feasible(i)[node]:
            infeasible.append((sim.request(i).name, sim.cluster.node_names[node]))
        bind(node, gpus)

    sim.bind = checked_bind
    sim.run(policy)
    assert infeasible == []
    assert (sim.node_of >= 0).sum() > 20
    cluster = sim.cluster
    assert (cluster.free_t >= 0).all()
    exists = np.arange(cluster.gpu_free.shape[1])[None, :] < cluster.gpu_count[:, None]
    assert (cluster.gpu_free[exists] >= 0).all() and (cluster.gpu_free[~exists] == -1).all()
    for i, j in enumerate(sim.node_of.tolist()):
        req = sim.request(i)
        if j >= 0:
            assert len(sim.gpus_of[i]) == req.gpu_count and all(g < cluster.gpu_count[j] for g in sim.gpus_of[i])
            if req.name.startswith("t"):
                assert cluster.gpu_model[j] == "T4"
    # the same seed gives the same run
    again = Simulator(ClusterSource(parse_nodes(nodes)), workload_from_pods(pods), options, seed=11)
    again.run(factory())
    assert again.node_of.tolist() == sim.node_of.tolist()


def test_make_policy_names_match():
    for name in HEURISTICS:
        if name != "fgd":
            assert make_policy(name).name == name
