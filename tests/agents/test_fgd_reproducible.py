"""FGD decides the same on every machine: every score it gives in a whole episode equals a pure-Python reference
in exact rational arithmetic, and its metrics on a small scenario are pinned to exact values.

The reference (below) is written from the definition alone, with nothing shared with agents/fgd.py or
envs/fragmentation.py: F_n = Σ_t p_t · frag_t(n) in fractions.Fraction, the score
trunc(100 · sigmoid((F_n - F_n') / 1000)) decided with 50-digit decimal exp, the GPU a sharing pod takes
chosen by the best score, lowest index on ties. Where a float computation would depend on the order of a
sum (a BLAS dot product, a SIMD exp), the reference has no order at all, so agreement on every decision of
the episode means FGD's decisions do not depend on the machine either.

The pinned metrics were computed once from this run; they are pinned by construction: the run's decisions
are the reference's (checked step by step in the same test) and the metrics are a deterministic function of
the decisions, so a change of any of these values means FGD's decisions, or the metrics, changed.
"""

from __future__ import annotations

from decimal import Context, Decimal
from fractions import Fraction

import numpy as np

from podgym.envs.kube.objects import CPU
from podgym.envs.scenario import load_and_build
from podgym.envs.simulator import Simulator
from podgym.envs.workload.types import MILLI_GPU
from podgym.policies.fgd import SCORE_THRESHOLDS, FGDPolicy, score_of_decrease

DEC = Context(prec=50)


def ref_frag(cpu_left: int, gpus: list[int], model: str, types: list[tuple]) -> Fraction:
    """F_n exactly: Σ_t w_t · frag_t / Σ_t w_t over (cpu, milli, count, models, weight) types."""
    idle = sum(gpus)
    num = 0
    for cpu, milli, count, models, weight in types:
        if milli == 0 or (models and model not in models):
            frag = idle
        elif sum(g >= milli for g in gpus) >= count and cpu_left >= cpu:
            frag = sum(g for g in gpus if g < milli)
        else:
            frag = idle
        num += weight * frag
    return Fraction(num, sum(t[4] for t in types))


def ref_score(decrease: Fraction) -> int:
    """trunc(100 / (1 + e^-x)) for x = decrease / 1000: the largest k with e^x >= k / (100 - k) (100 at e^-x <=
    2^-53, where float64 sigmoid is 1)."""
    x = DEC.divide(Decimal(decrease.numerator), Decimal(decrease.denominator * 1000))
    if x >= DEC.multiply(53, DEC.ln(2)):
        return 100
    ex = DEC.exp(x)
    return max(k for k in range(100) if k == 0 or ex >= DEC.divide(k, 100 - k))


def ref_node(cluster, node: int, pod, types) -> tuple[int, int | None]:
    """(score, GPU for a sharing pod) of `pod` on `node`, from the node's state alone."""
    g = int(cluster.gpu_count[node])
    cpu_left = int(cluster.free_t[cluster.column[CPU], node])
    gpus = [int(v) for v in cluster.gpu_free[node, :g]]
    model = cluster.gpu_model[node]
    before = ref_frag(cpu_left, gpus, model, types)
    cpu_after = cpu_left - int(pod.requests[cluster.column[CPU]])
    if pod.gpu_count == 0:
        return ref_score(before - ref_frag(cpu_after, gpus, model, types)), None
    if pod.gpu_milli >= MILLI_GPU:
        after, taken = list(gpus), 0
        for j, v in enumerate(after):
            if v >= MILLI_GPU and taken < pod.gpu_count:
                after[j] -= pod.gpu_milli
                taken += 1
        return ref_score(before - ref_frag(cpu_after, after, model, types)), None
    best, best_gpu = -1, None
    for j, v in enumerate(gpus):
        if v >= pod.gpu_milli:
            after = [*gpus[:j], v - pod.gpu_milli, *gpus[j + 1 :]]
            s = ref_score(before - ref_frag(cpu_after, after, model, types))
            if s > best:
                best, best_gpu = s, j
    return best, best_gpu


class CheckedFGD(FGDPolicy):
    """FGD, asserting every score and GPU choice against the reference as the episode runs."""

    checked = 0

    def score(self, cluster, pod, nodes):
        got = super().score(cluster, pod, nodes)
        t = self.index.typical
        types = [
            (int(t.cpu[i]), int(t.milli[i]), int(t.count[i]), t.models[i], int(t.weight[i])) for i in range(len(t))
        ]
        want = [ref_node(cluster, int(n), pod, types) for n in nodes]
        assert got.tolist() == [s for s, _ in want]
        for n, (_, gpu) in zip(nodes, want):
            if gpu is not None:
                assert self.choose_gpus(cluster, int(n), pod) == (gpu,)
        self.checked += len(nodes)
        return got


def test_fgd_agrees_with_the_exact_reference_on_every_decision_and_its_metrics_are_pinned():
    built = load_and_build("default", seed=101)  # the whole 6-hour episode, about 1,400 pods
    sim = Simulator(built.cluster, built.workload, built.options, built.profile, seed=101)
    policy = CheckedFGD()
    summary = sim.run(policy).as_dict()
    assert policy.checked > 15_000  # every feasible node of every decision among several nodes
    pinned = {
        "pods_total": 1386,
        "pods_scheduled": 1344,
        "pods_never_scheduled": 42,
        "scheduling_attempts": 2998,
        "gpu_allocation_mean": 0.691207037306322,
        "cpu_allocation_mean": 0.6186285402927014,
        "wait_mean_s": 131.33714119617898,
        "gpu_fragmentation_mean": 0.19912052107278794,
    }
    assert {k: summary[k] for k in pinned} == pinned


def test_score_thresholds_are_the_truncated_sigmoid():
    # x_k = ln(k / (100 - k)): exactly where trunc(100 * sigmoid) steps from k - 1 to k.
    assert SCORE_THRESHOLDS[49] == 0.0 and len(SCORE_THRESHOLDS) == 100
    for k in range(1, 100):
        x = SCORE_THRESHOLDS[k - 1]
        assert score_of_decrease(np.array([x])).item() == k
        assert score_of_decrease(np.array([np.nextafter(x, -np.inf)])).item() == k - 1
        # The decimal reference puts the true threshold within one float step of x_k (x_k is correctly rounded).
        assert ref_score(Fraction(np.nextafter(x, np.inf)) * 1000) == k
        below = np.nextafter(x, -np.inf) if k != 50 else -1e-30  # 50 digits cannot see e^-5e-324 < 1
        assert ref_score(Fraction(below) * 1000) == k - 1
    # Away from the thresholds the float formula and the threshold rule agree everywhere.
    xs = np.linspace(-8, 8, 20001)
    with np.errstate(over="ignore"):
        floats = np.trunc(100 / (1 + np.exp(-xs))).astype(np.int64)
    near = np.min(np.abs(xs[:, None] - SCORE_THRESHOLDS[None, :99]), axis=1) < 1e-12
    assert (score_of_decrease(xs)[~near] == floats[~near]).all()


def test_fragmentation_sums_are_exact_in_any_order():
    # F_n is an integer numerator over the total weight: summing the types in any order gives the same bits.
    from podgym.envs.fragmentation import TypicalPods

    rng = np.random.default_rng(0)
    weight = rng.integers(1, 10_000, 40)
    frag = rng.integers(0, 8000, (50, 40))
    num = frag @ weight
    shuffled = rng.permutation(40)
    assert (frag[:, shuffled] @ weight[shuffled] == num).all()
    t = TypicalPods(
        cpu=np.zeros(40, dtype=np.int64),
        milli=np.ones(40, dtype=np.int64),
        count=np.ones(40, dtype=np.int64),
        weight=weight,
        models=(frozenset(),) * 40,
        keys=tuple((0, 1, 1, str(i)) for i in range(40)),
    )
    assert t.total == int(weight.sum()) and t.prob.tolist() == (weight / weight.sum()).tolist()
