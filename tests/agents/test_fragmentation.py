"""Typical pods and the FGD fragmentation measure (shared/specs/fgd-openb.md sections 4.6.1 and 4.6.2).

Expectations are worked out by hand from the spec (the derivation is in the comments) or, for `after()` and
`update()`, checked against a brute-force per-node, per-type recomputation written straight from section 4.6.2.
The real-data checks (section 4.6.1 "Checks for default", section 8.4) read the openb trace embedded in envs/data.
"""

from __future__ import annotations

import csv
import math
import random
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest

from podgym.envs.cluster import ClusterState
from podgym.envs.data import data_dir, open_data_file
from podgym.envs.fragmentation import FragmentationIndex, TypicalPods, typical_pods
from podgym.envs.kube.objects import CPU
from podgym.envs.workload.objects import workload_from_pods
from podgym.envs.workload.openb import read_openb_cluster, read_openb_pods
from podgym.envs.workload.types import GPU_COUNT_ANNOTATION, GPU_MILLI_ANNOTATION, GPU_MODEL_LABEL
from tests.kube.builders import node, pod

OPENB = data_dir() / "openb" / "csv"


# ---- builders ----------------------------------------------------------------------------------------------------


def gnode(name: str, cpu: str = "32", gpus: int = 0, model: str = "V100M16") -> dict:
    alloc = {"cpu": cpu, "memory": "256Gi", "pods": "110"}
    labels = {}
    if gpus:
        alloc["nvidia.com/gpu"] = str(gpus)
        labels[GPU_MODEL_LABEL] = model
    return node(name, allocatable=alloc, labels=labels)


def models_affinity(*models: str) -> dict:
    term = {"matchExpressions": [{"key": GPU_MODEL_LABEL, "operator": "In", "values": list(models)}]}
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}}


def share_pod(name: str, cpu: str, m: int, k: int = 1, spec: tuple[str, ...] = ()) -> dict:
    """A GPU pod through the podgym GPU-share annotations."""
    p = pod(name, containers=[{"cpu": cpu, "memory": "1Gi"}], affinity=models_affinity(*spec) if spec else None)
    p["metadata"]["annotations"] = {GPU_COUNT_ANNOTATION: str(k), GPU_MILLI_ANNOTATION: str(m)}
    return p


def whole_pod(name: str, cpu: str, k: int) -> dict:
    """A whole-GPU pod through an `nvidia.com/gpu` request."""
    return pod(name, containers=[{"cpu": cpu, "memory": "1Gi", "nvidia.com/gpu": str(k)}])


def cpu_pod(name: str, cpu: str, spec: tuple[str, ...] = ()) -> dict:
    return pod(name, containers=[{"cpu": cpu, "memory": "1Gi"}], affinity=models_affinity(*spec) if spec else None)


def typical(*types: tuple[int, int, int, str, float]) -> TypicalPods:
    """TypicalPods from (cpu, milli, count, spec, probability or weight) tuples; probabilities as written
    (0.1, 0.25) become integer weights over their common denominator."""
    shares = [Fraction(str(t[4])) for t in types]
    scale = math.lcm(*(f.denominator for f in shares))
    return TypicalPods(
        cpu=np.array([t[0] for t in types], dtype=np.int64),
        milli=np.array([t[1] for t in types], dtype=np.int64),
        count=np.array([t[2] for t in types], dtype=np.int64),
        weight=np.array([int(f * scale) for f in shares], dtype=np.int64),
        models=tuple(frozenset(s for s in t[3].split("|") if s) for t in types),
        keys=tuple(t[:4] for t in types),
    )


def ref_frag(cpu_left: int, gpu_left: list[int], model: str, typ: TypicalPods) -> float:
    """F_n straight from section 4.6.2 (gpu_left: the node's own GPUs only)."""
    idle = sum(gpu_left)
    total = 0.0
    for t in range(len(typ)):
        c, m, k, models, p = int(typ.cpu[t]), int(typ.milli[t]), int(typ.count[t]), typ.models[t], typ.prob[t]
        if m == 0 or (models and model not in models):
            f = idle  # CPU-only type or no access
        elif sum(g >= m for g in gpu_left) >= k and cpu_left >= c:
            f = sum(g for g in gpu_left if g < m)  # fits: only the GPUs too small for t
        else:
            f = idle  # lacks GPU and/or CPU
        total += p * f
    return total


def node_state(cluster: ClusterState, n: int) -> tuple[int, list[int], str]:
    g = int(cluster.gpu_count[n])
    return int(cluster.free_t[cluster.column[CPU], n]), cluster.gpu_free[n, :g].tolist(), cluster.gpu_model[n]


# ---- typical pods ----------------------------------------------------------------------------------------------


def handmade_workload():
    pods = []
    # A: 4 x (2000, 500, 1, '')                      B: 4 x CPU-only 2000 (two of them carry a model affinity,
    #                                                    which a CPU-only pod's type ignores: still '')
    pods += [share_pod(f"a{i}", "2", 500) for i in range(4)]
    pods += [cpu_pod("b0", "2"), cpu_pod("b1", "2"), cpu_pod("b2", "2", ("T4",)), cpu_pod("b3", "2", ("T4",))]
    # E: 2 x (4000, 250, 1, '')   G: 2 x (2000, 1000, 2, '') via nvidia.com/gpu: 2
    # F: 2 x (2000, 1000, 1, ''), one via the annotations (1 x 1000 milli), one via nvidia.com/gpu: 1
    pods += [share_pod(f"e{i}", "4", 250) for i in range(2)]
    pods += [whole_pod(f"g{i}", "2", 2) for i in range(2)]
    pods += [share_pod("f0", "2", 1000), whole_pod("f1", "2", 1)]
    # C: 2 x (2000, 500, 1, 'V100M16|V100M32')   D: 2 x (2000, 500, 1, 'V100M16|V100M32|V100M32')
    pods += [share_pod(f"c{i}", "2", 500, spec=("V100M16", "V100M32")) for i in range(2)]
    pods += [share_pod(f"d{i}", "2", 500, spec=("V100M16", "V100M32", "V100M32")) for i in range(2)]
    # H: 1 x (1000, 100, 1, '')   I: 1 x (500, 100, 1, '')
    pods += [share_pod("h", "1", 100), share_pod("i", "500m", 100)]
    random.Random(7).shuffle(pods)  # file order must not matter
    return workload_from_pods(pods)


def test_typical_pods_order_cut_and_probabilities():
    t = typical_pods(handmade_workload())
    # 20 pods, need >= 0.95 * 20 = 19. Order: count desc; ties -> larger cpu, milli, count, spec string.
    #  count 4: A (2000,500) before B (2000,0): same cpu, larger milli.            cumulative 4, 8
    #  count 2: E (cpu 4000) first; then cpu 2000 by milli: G, F (1000) before D, C (500);
    #           G (k=2) before F (k=1); D ('...|V100M32|V100M32') > C ('...|V100M32') as strings.  cumulative 18
    #  count 1: H (cpu 1000) before I (cpu 500); H makes 19 >= 19 -> stop; I is cut.
    assert t.keys == (
        (2000, 500, 1, ""),
        (2000, 0, 0, ""),
        (4000, 250, 1, ""),
        (2000, 1000, 2, ""),
        (2000, 1000, 1, ""),
        (2000, 500, 1, "V100M16|V100M32|V100M32"),
        (2000, 500, 1, "V100M16|V100M32"),
        (1000, 100, 1, ""),
    )
    # Renormalised over the 19 pods of the prefix (not the 20 of the trace).
    np.testing.assert_allclose(t.prob, np.array([4, 4, 2, 2, 2, 2, 2, 1]) / 19)
    assert t.prob.sum() == pytest.approx(1.0)
    assert t.cpu.tolist() == [2000, 2000, 4000, 2000, 2000, 2000, 2000, 1000]
    assert t.milli.tolist() == [500, 0, 250, 1000, 1000, 500, 500, 100]
    assert t.count.tolist() == [1, 0, 1, 2, 1, 1, 1, 1]
    # The raw strings differ (two types), but for matching both are the set {V100M16, V100M32}.
    assert t.models[5] == t.models[6] == frozenset({"V100M16", "V100M32"})
    assert t.models[1] == frozenset()  # the CPU-only type has no constraint
    assert len(t) == 8


def test_typical_pods_popularity_threshold():
    w = handmade_workload()
    # popularity 0.5: need >= 10; A, B give 8, E gives 10 -> three types, probabilities 4/10, 4/10, 2/10.
    t = typical_pods(w, popularity=0.5)
    assert t.keys == ((2000, 500, 1, ""), (2000, 0, 0, ""), (4000, 250, 1, ""))
    np.testing.assert_allclose(t.prob, [0.4, 0.4, 0.2])
    # popularity 1.0: every type, the last one I included; probabilities over all 20 pods.
    t = typical_pods(w, popularity=1.0)
    assert len(t) == 9 and t.keys[-1] == (500, 100, 1, "")
    assert t.prob[-1] == pytest.approx(1 / 20)


def test_typical_pods_from_the_openb_reader_keeps_raw_spec():
    # tests/data/openb/pods.csv: pods 4 and 5 carry 'V100M16|V100M32' and 'V100M16|V100M32|V100M32';
    # 'T4||P100' drops its empty token; a CPU-only pod with gpu_spec 'T4' (pod 7) has no constraint.
    t = typical_pods(read_openb_pods("tests/data/openb/pods.csv", times=False), popularity=1.0)
    specs = {k[3] for k in t.keys}
    assert {"V100M16|V100M32", "V100M16|V100M32|V100M32", "T4|P100"} <= specs
    assert (1000, 0, 0, "") in t.keys  # pod 7: CPU-only, gpu_spec ignored
    # pods 1 and 17 share (6000, 460, 1, ''): the only type with 2 pods among 20 -> first, p = 2/20
    assert t.keys[0] == (6000, 460, 1, "") and t.prob[0] == pytest.approx(2 / 20)


# ---- F_n by class (section 4.6.2) --------------------------------------------------------------------------------


@pytest.fixture
def one_node():
    """One node with 4 V100M16 GPUs and 32 cores, and one with no GPU (next to it, so G = 4)."""
    return ClusterState([gnode("n", gpus=4, model="V100M16"), gnode("cpu-only")])


def frag1(cluster, typ, cpu_left, gpu_left):
    idx = FragmentationIndex(cluster, typ)
    return float(idx.frag(np.array([0]), np.array([cpu_left]), np.array([gpu_left]))[0])


@pytest.mark.parametrize(
    "typ_, cpu_left, gpu_left, expected",
    [
        # gpu_left [1000, 600, 300, 0] -> idle 1900 in every case below unless said otherwise.
        ((1000, 0, 0, "", 1.0), 4000, [1000, 600, 300, 0], 1900),  # CPU-only type: all idle, though cpu fits
        ((1000, 500, 1, "T4", 1.0), 4000, [1000, 600, 300, 0], 1900),  # no access (V100M16 not in {T4})
        ((1000, 500, 1, "V100M16|V100M32", 1.0), 4000, [1000, 600, 300, 0], 300),  # fits: 300 + 0 (< 500)
        ((1000, 600, 1, "", 1.0), 4000, [1000, 600, 300, 0], 300),  # 600 >= 600 is enough: only 300 + 0
        ((1000, 1000, 1, "", 1.0), 4000, [1000, 600, 300, 0], 900),  # 1000-milli type: every partly used GPU
        ((1000, 1000, 2, "", 1.0), 4000, [1000, 600, 300, 0], 1900),  # needs 2 free GPUs, has 1: all idle
        ((1000, 1000, 2, "", 1.0), 4000, [1000, 1000, 300, 0], 300),  # multi-GPU fits: 2300 idle, 300 small
        ((4000, 500, 1, "", 1.0), 4000, [1000, 600, 300, 0], 300),  # cpu_left >= c is inclusive: fits
        ((4001, 500, 1, "", 1.0), 4000, [1000, 600, 300, 0], 1900),  # 1 milli-CPU short: all idle
        ((1000, 500, 1, "", 1.0), 4000, [0, 0, 0, 0], 0),  # nothing idle: 0
    ],
)
def test_frag_classes(one_node, typ_, cpu_left, gpu_left, expected):
    assert frag1(one_node, typical(typ_), cpu_left, gpu_left) == pytest.approx(expected)


def test_frag_mixed_distribution_and_node_without_gpus(one_node):
    typ = typical(
        (1000, 0, 0, "", 0.25),  # CPU-only: 1900
        (1000, 500, 1, "", 0.5),  # fits: 300
        (1000, 1000, 2, "", 0.25),  # lacks GPUs: 1900
    )
    # 0.25 * 1900 + 0.5 * 300 + 0.25 * 1900 = 475 + 150 + 475 = 1100
    assert frag1(one_node, typ, 4000, [1000, 600, 300, 0]) == pytest.approx(1100)
    idx = FragmentationIndex(one_node, typ)
    # Empty cluster: node n has 4000 idle; CPU-only -> 4000, 500-type -> 0, 2x1000 type -> 0 => 0.25 * 4000 = 1000.
    # The node without GPUs has nothing idle (its padding GPUs of -1 count for nothing): 0.
    assert idx.values.tolist() == pytest.approx([1000.0, 0.0])
    assert idx.total() == pytest.approx(1000.0) and idx.idle() == 4000


def test_frag_padding_gpus_do_not_count():
    # Node "small" has 2 GPUs in a cluster whose widest node has 8: its gpu_free row is [1000, 400, -1 x 6].
    cluster = ClusterState([gnode("big", gpus=8, model="G2"), gnode("small", gpus=2, model="T4")])
    cluster.gpu_free[1, 1] = 400
    typ = typical((1000, 500, 1, "", 0.5), (1000, 0, 0, "", 0.5))
    # fits type: GPUs < 500 on the node: 400 -> 400; CPU-only: idle 1400. 0.5 * 400 + 0.5 * 1400 = 900
    idx = FragmentationIndex(cluster, typ)
    assert idx.values[1] == pytest.approx(900)
    assert idx.values[0] == pytest.approx(0.5 * 8000)  # big: fits type 0, CPU-only type 8000
    assert idx.idle() == 8000 + 1400


# ---- after() and update() against brute force --------------------------------------------------------------------


def random_cluster(rng: np.random.Generator) -> ClusterState:
    specs = [(0, ""), (1, "P100"), (2, "T4"), (2, "P100"), (4, "V100M16"), (4, "V100M32"), (8, "G2"), (8, "V100M32")]
    nodes = [gnode(f"n{j:02d}", cpu=str(int(rng.integers(8, 97))), gpus=g, model=m) for j, (g, m) in enumerate(specs)]
    cluster = ClusterState(nodes)
    cpu = cluster.column[CPU]
    for n in range(cluster.num_nodes):
        g = int(cluster.gpu_count[n])
        # GPUs: free, fully used, or some partly used value (multiples of 10 and odd values alike).
        cluster.gpu_free[n, :g] = rng.choice([1000, 1000, 0, 500, 250, 70, 330, 999], size=g)
        cluster.free_t[cpu, n] = int(rng.integers(0, cluster.allocatable_t[cpu, n] + 1))
    return cluster


def random_typical(rng: np.random.Generator) -> TypicalPods:
    choices = [
        (1000, 0, 0, ""),
        (3152, 810, 1, ""),
        (8000, 500, 1, "V100M16|V100M32"),
        (4000, 250, 1, "T4"),
        (11300, 1000, 1, ""),
        (16000, 1000, 2, ""),
        (32000, 1000, 8, "G2|V100M32"),
        (2000, 70, 1, ""),
    ]
    chosen = [choices[i] for i in sorted(rng.choice(len(choices), size=int(rng.integers(1, 8)), replace=False))]
    weights = rng.integers(1, 1000, len(chosen))
    return typical(*[(*c, int(w)) for c, w in zip(chosen, weights)])


def request(cluster: ClusterState, p: dict):
    return cluster.pod_request(workload_from_pods([p]), 0)


@pytest.mark.parametrize("seed", range(12))
def test_after_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    cluster = random_cluster(rng)
    typ = random_typical(rng)
    idx = FragmentationIndex(cluster, typ)
    nodes = np.arange(cluster.num_nodes)
    states = [node_state(cluster, n) for n in nodes]
    assert idx.values.tolist() == pytest.approx([ref_frag(c, g, m, typ) for c, g, m in states])

    # CPU-only pod of 3 cores: only cpu_left changes.
    got = idx.after(nodes, request(cluster, cpu_pod("c", "3")))
    assert got.shape == (cluster.num_nodes,)
    assert got.tolist() == pytest.approx([ref_frag(c - 3000, g, m, typ) for c, g, m in states])

    # Whole-GPU pod of 2 GPUs, 1 core: the two lowest-index fully free GPUs (judged only where it fits).
    got = idx.after(nodes, request(cluster, whole_pod("w", "1", 2)))
    for n, (c, g, m) in enumerate(states):
        free = [d for d, v in enumerate(g) if v >= 1000]
        if len(free) < 2:
            continue
        g2 = list(g)
        for d in free[:2]:
            g2[d] -= 1000
        assert got[n] == pytest.approx(ref_frag(c - 1000, g2, m, typ)), n

    # Sharing pod of 330 milli, 2 cores: per GPU, inf where fewer than 330 idle (and on missing GPUs).
    got = idx.after(nodes, request(cluster, share_pod("s", "2", 330)))
    assert got.shape == cluster.gpu_free.shape
    for n, (c, g, m) in enumerate(states):
        for d in range(cluster.gpu_free.shape[1]):
            if d >= len(g) or g[d] < 330:
                assert got[n, d] == np.inf, (n, d)
            else:
                g2 = list(g)
                g2[d] -= 330
                assert got[n, d] == pytest.approx(ref_frag(c - 2000, g2, m, typ)), (n, d)


def test_after_whole_gpu_takes_lowest_index_idle_gpus():
    # One 4-GPU node [500, 1000, 1000, 1000]; type (1000, 1000, 1) p = 1.
    cluster = ClusterState([gnode("n", gpus=4)])
    cluster.gpu_free[0] = [500, 1000, 1000, 1000]
    idx = FragmentationIndex(cluster, typical((1000, 1000, 1, "", 1.0)))
    assert idx.values[0] == pytest.approx(500)  # fits; the 500 GPU is too small
    # A 2-GPU pod takes GPUs 1 and 2 -> [500, 0, 0, 1000]: still fits (GPU 3), small = 500 + 0 + 0 = 500.
    # (Taking GPU 0 would be wrong: it is not idle.)
    assert idx.after(np.array([0]), request(cluster, whole_pod("w", "1", 2)))[0] == pytest.approx(500)
    # A 3-GPU pod takes 1, 2, 3 -> [500, 0, 0, 0]: no free GPU left -> all idle = 500.
    assert idx.after(np.array([0]), request(cluster, whole_pod("w", "1", 3)))[0] == pytest.approx(500)
    # Type (1000, 500, 1): before fits, small 0 -> 0; after 3-GPU pod [500, 0, 0, 0] fits on GPU 0 -> 0;
    # had the pod taken GPU 0 (500 -> -500) the result would differ.
    idx = FragmentationIndex(cluster, typical((1000, 500, 1, "", 1.0)))
    assert idx.after(np.array([0]), request(cluster, whole_pod("w", "1", 3)))[0] == pytest.approx(0)


def test_update_after_bind():
    rng = np.random.default_rng(3)
    cluster = random_cluster(rng)
    typ = random_typical(rng)
    idx = FragmentationIndex(cluster, typ)
    for n, p in [(6, share_pod("s", "1", 330)), (4, whole_pod("w", "2", 1)), (6, cpu_pod("c", "1"))]:
        req = request(cluster, p)
        if not cluster.gpu_fit(req)[n] or cluster.free_t[cluster.column[CPU], n] < req.requests[cluster.column[CPU]]:
            cluster.gpu_free[n, : cluster.gpu_count[n]] = 1000  # make room so the bind is legal
            cluster.free_t[cluster.column[CPU], n] = 64000
            idx.update(n)
        before = idx.values.copy()
        cluster.bind(n, req)
        assert idx.values.tolist() == before.tolist()  # nothing changes until told
        idx.update(n)
        others = np.arange(cluster.num_nodes) != n
        assert idx.values[others].tolist() == before[others].tolist()
        assert idx.values[n] == pytest.approx(ref_frag(*node_state(cluster, n), typ))
        assert idx.values.tolist() == pytest.approx(FragmentationIndex(cluster, typ).values.tolist())


# ---- the real default trace (section 4.6.1 checks, section 8.4 empty-cluster ratio) -----------------------------


def test_default_trace_typical_pods():
    w = read_openb_pods(OPENB / "openb_pod_list_default.csv", times=False)
    t = typical_pods(w)
    assert len(w) == 8152 and len(t) == 35
    counts = np.rint(t.prob * 7766).astype(int)
    # p_t = count_t / 7766: every p_t * 7766 is a whole count, and they add up to 7766 (95.26% of 8152).
    np.testing.assert_allclose(t.prob * 7766, counts, atol=1e-6)
    assert counts.sum() == 7766
    assert t.keys[0] == (3152, 810, 1, "") and t.prob[0] == pytest.approx(1047 / 7766)
    assert t.keys[1:4] == ((11300, 1000, 1, ""), (11400, 1000, 1, ""), (3152, 1000, 1, ""))
    assert counts[1:4].tolist() == [874, 599, 470]
    # Independently from the CSV (section 1.2): 91 distinct types, and the prefix is the top 35 by the tie order.
    raw: Counter = Counter()
    with open_data_file(OPENB / "openb_pod_list_default.csv") as f:
        for row in csv.DictReader(f):
            k, m = int(row["num_gpu"]), min(int(row["gpu_milli"]), 1000)
            spec = "|".join(s for s in (row.get("gpu_spec") or "").split("|") if s and s != "nan") if k else ""
            raw[(int(row["cpu_milli"]), m if k else 0, k, spec)] += 1
    assert len(raw) == 91
    assert dict(zip(t.keys, counts.tolist())) == {key: raw[key] for key in t.keys}
    assert min(counts) >= max(c for key, c in raw.items() if key not in t.keys)


def test_default_trace_empty_cluster_frag_ratio():
    w = read_openb_pods(OPENB / "openb_pod_list_default.csv", times=False)
    cluster = ClusterState.for_workloads(read_openb_cluster(OPENB / "openb_node_list_gpu_node.csv").nodes, w)
    idx = FragmentationIndex(cluster, typical_pods(w))
    assert idx.idle() == 6_212_000
    assert 100 * idx.total() / idx.idle() == pytest.approx(13.94, abs=0.01)
