"""The FGD experiment (shared/specs/fgd-openb.md sections 2 and 5): curve bucketing, workload tuning, the
experiment profile and whole runs on the shipped samples; with the real traces (skipped when absent), the
paper's default-trace numbers from the spec's section 8.1 table."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from podgym.agents.fgd_experiment import COLUMNS, PAPER_POLICIES, bucket, experiment_profile, run_one
from podgym.envs.scenario import data_dir
from podgym.envs.workload.objects import workload_from_pods
from podgym.envs.workload.ops import inflate_to_gpu
from tests.agents.test_fragmentation import cpu_pod, share_pod, whole_pod

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "data" / "openb"
NODES = SAMPLE / "nodes.csv"
OPENB = data_dir() / "openb" / "csv"


def without_seconds(result) -> dict:
    d = result.as_dict()
    d.pop("seconds")
    return d


# ---- bucket (section 2.3) ----------------------------------------------------------------------------------------


def test_bucket_exact_fallback_and_missing_columns():
    # capacity 1000 milli: arrived 0, 10, 10, 20, 40 -> whole percent 0, 1, 1, 2, 4.
    arrived = np.array([0, 10, 10, 20, 40])
    values = np.array([0.0, 1.0, 3.0, 5.0, 7.0])
    got = bucket(arrived, values, 1000)
    # col 0: {0} -> 0; col 1: mean(1, 3) = 2; col 2: 5; col 3: nothing exact -> x in [2, 4]: mean(5, 7) = 6;
    # col 4: 7; col 5: nothing exact -> x in [4, 6]: 7; col 6 and up: nothing within +-1 -> missing.
    assert got == {0: 0.0, 1: 2.0, 2: 5.0, 3: 6.0, 4: 7.0, 5: 7.0}


def test_bucket_rounds_the_mean_to_two_decimals_unless_told():
    arrived = np.array([10, 10, 10])  # all in column 1 (and in 0 and 2 by the fallback)
    values = np.array([1.0, 1.0, 1.05])  # mean 1.0166...
    assert bucket(arrived, values, 1000) == {0: 1.02, 1: 1.02, 2: 1.02}
    assert bucket(arrived, values, 1000, decimals=None)[1] == pytest.approx(3.05 / 3, abs=1e-15)


def test_bucket_column_130_and_arrivals_past_it():
    # arrived 131% only: column 130 takes it through the fallback (131 is within +-1), 129 does not exist.
    got = bucket(np.array([1310]), np.array([9.0]), 1000)
    assert got == {130: 9.0}
    assert set(bucket(np.arange(0, 1400, 5), np.ones(280), 1000)) == set(COLUMNS)


def test_bucket_half_to_even_small_capacity():
    # capacity 1000: arrived 5 -> 0.5% -> 0; 15 -> 1.5% -> 2; 25 -> 2.5% -> 2 (halves go to the even neighbour).
    got = bucket(np.array([5, 15, 25]), np.array([1.0, 2.0, 4.0]), 1000)
    # col 0: {1}; col 1: no exact -> x in [0, 2]: mean(1, 2, 4) = 2.33; col 2: mean(2, 4) = 3; col 3: x in [2, 4] -> 3
    assert got == {0: 1.0, 1: 2.33, 2: 3.0, 3: 3.0}


def test_bucket_half_to_even_on_the_openb_capacity():
    # Section 2.3: arrive_ratio = round(arrived / 6212 / 10). 3,385,540 = 54.5% exactly -> 54 (even);
    # 3,571,900 = 57.5% -> 58 (even). 3,416,600 = 55% and 3,540,840 = 57% exactly.
    cap = 6_212_000
    assert round(3_385_540 / 6212 / 10) == 54 and round(3_571_900 / 6212 / 10) == 58
    got = bucket(np.array([3_385_540, 3_416_600, 3_540_840, 3_571_900]), np.array([1.0, 3.0, 5.0, 7.0]), cap)
    # 54: {1}; 55: {3}; 57: {5}; 58: {7} (no fallback mixes when every bucket is exact)
    assert (got[54], got[55], got[57], got[58]) == (1.0, 3.0, 5.0, 7.0)


# ---- inflate_to_gpu (section 2.1 step 5) -------------------------------------------------------------------------


class ScriptedRng:
    """Stands in for numpy's Generator: integers(n) returns the scripted draws and records each n."""

    def __init__(self, draws):
        self.draws = list(draws)
        self.asked: list[int] = []

    def integers(self, n):
        self.asked.append(int(n))
        d = self.draws.pop(0)
        assert 0 <= d < n
        return d


def four_pods():
    # p0 CPU-only (0), p1 300 milli, p2 two whole GPUs (2000, per-GPU m = 1000), p3 500 milli: S = 2800
    return workload_from_pods(
        [cpu_pod("p0", "1"), share_pod("p1", "1", 300), whole_pod("p2", "2", 2), share_pod("p3", "1", 500)]
    )


ORDER = np.array([2, 0, 3, 1])  # the shuffled originals


def total(w) -> int:
    return int((w.gpu_count * w.gpu_milli).sum())


def test_tune_up_stop_rule_uses_the_per_gpu_milli():
    rng = ScriptedRng([0, 1, 2, 0, 3])
    got = inflate_to_gpu(four_pods(), ORDER, 4100, rng)
    # S = 2800. draw p0: 2800 + 0 <= 4100 -> clone, S 2800. draw p1: 3100 <= 4100 -> clone, S 3100.
    # draw p2: 3100 + m (1000, per GPU) = 4100 <= 4100 -> clone, S += 2 * 1000 -> 5100 (overshoots by 1000;
    # a test on m*k would have stopped here). draw p0: 5100 + 0 > 4100 -> stop; the draw of p3 never happens.
    assert got.names == ["p2", "p0", "p3", "p1", "p0-tuned-0", "p1-tuned-1", "p2-tuned-2"]
    assert total(got) == 5100
    assert rng.asked == [4, 4, 4, 4] and rng.draws == [3]
    assert got.gpu_count.tolist() == [2, 0, 1, 1, 0, 1, 2]
    assert got.gpu_milli.tolist() == [1000, 0, 500, 300, 0, 300, 1000]


def test_tune_up_stops_at_the_first_clone_that_does_not_fit():
    rng = ScriptedRng([1, 3, 1])
    got = inflate_to_gpu(four_pods(), ORDER, 3500, rng)
    # p1: 3100 <= 3500 -> clone. p3: 3100 + 500 > 3500 -> stop, even though the next draw (p1: 3400) would fit.
    assert got.names == ["p2", "p0", "p3", "p1", "p1-tuned-0"]
    assert rng.draws == [1] and total(got) == 3100


def test_tune_up_cpu_only_clones_never_stop_it():
    rng = ScriptedRng([0, 0, 0, 0, 1])
    got = inflate_to_gpu(four_pods(), ORDER, 2900, rng)
    # Four CPU-only clones (2800 + 0 <= 2900 each time), then p1: 3100 > 2900 -> stop.
    assert got.names[4:] == ["p0-tuned-0", "p0-tuned-1", "p0-tuned-2", "p0-tuned-3"]
    assert len(got) == 8 and total(got) == 2800 and rng.draws == []


def test_tune_down_removes_random_positions_until_within_target():
    rng = ScriptedRng([1, 0, 0])
    got = inflate_to_gpu(four_pods(), ORDER, 1000, rng)
    # seq [p2, p0, p3, p1], S 2800 > 1000: position 1 of 4 (p0, CPU-only: S stays 2800);
    # position 0 of 3 (p2: S 800 <= 1000) -> stop. Survivors keep their order.
    assert got.names == ["p3", "p1"] and total(got) == 800
    assert rng.asked == [4, 3]


def test_tune_exactly_at_target_leaves_the_sequence():
    rng = ScriptedRng([])
    got = inflate_to_gpu(four_pods(), ORDER, 2800, rng)
    assert got.names == ["p2", "p0", "p3", "p1"] and rng.asked == []


def test_tune_without_gpu_pods_is_an_error():
    with pytest.raises(ValueError, match="without GPU pods"):
        inflate_to_gpu(workload_from_pods([cpu_pod("a", "1")]), np.array([0]), 1000, np.random.default_rng(0))


def test_tune_up_with_a_real_generator():
    w = four_pods()
    for seed in range(20):
        got = inflate_to_gpu(w, ORDER, 20_000, np.random.default_rng(seed))
        assert got.names[:4] == ["p2", "p0", "p3", "p1"]  # all originals first, in the given order
        clones = got.names[4:]
        assert [int(n.rsplit("-", 1)[1]) for n in clones] == list(range(len(clones)))
        assert all(re.fullmatch(r"p[0-3]-tuned-\d+", n) for n in clones)
        # The last accepted clone passed S + m <= target: the total can overshoot by at most (k - 1) * m = 1000.
        assert total(got) <= 20_000 + 1000 and total(got) > 20_000 - 1000


# ---- the profile and whole runs ----------------------------------------------------------------------------------


def test_experiment_profile_filters_only():
    p = experiment_profile()
    assert [f.name for f in p.filter_plugins] == ["NodeResourcesFit", "NodeAffinity"]
    assert p.score_plugins == () and p.percentage_of_nodes_to_score == 100


@pytest.mark.parametrize("trace", ["pods.csv", "pods_multigpu.csv"])
def test_run_one_all_paper_policies_on_the_samples(trace):
    for policy in PAPER_POLICIES:
        r = run_one(NODES, SAMPLE / trace, policy, 42)
        assert (r.trace, r.policy, r.seed) == (Path(trace).stem, policy, 42)
        assert 0 < r.placed <= r.pods
        # The sample is tiny (15 GPUs): a pod moves the arrived share by up to 53%, so columns 100/130 may be
        # missing (None); when present they lie in [0, 100], like every column of every curve.
        for v in (r.alloc_100, r.alloc_130):
            assert v is None or 0 <= v <= 100
        assert r.allocation and all(0 <= v <= 100 for v in r.allocation.values())
        assert all(0 <= v <= 100 for v in r.frag_ratio.values())
        assert all(0 <= v <= 100 for v in r.frag_amount.values())
        assert set(r.allocation) <= set(COLUMNS)
        assert r.alloc_100 == r.allocation.get(100) and r.alloc_130 == r.allocation.get(130)


def test_run_one_is_deterministic_per_seed():
    for policy in ("random", "fgd"):
        a = run_one(NODES, SAMPLE / "pods.csv", policy, 43)
        b = run_one(NODES, SAMPLE / "pods.csv", policy, 43)
        assert without_seconds(a) == without_seconds(b)


def test_fgd_not_below_random_at_the_end_of_the_multigpu_sample():
    # pods_multigpu.csv (a 1-GPU, a 460-milli, a CPU-only, an 8-GPU and a 4-GPU pod, resampled to 130%): Random
    # strands the 8- and 4-GPU pods by scattering small pods; FGD at the last column >= Random for 200/200 seeds
    # tried. (On pods.csv this is not robust -- FGD ends lower for seeds 44 and 48 -- so it is not asserted there.)
    for seed in range(42, 52):
        f = run_one(NODES, SAMPLE / "pods_multigpu.csv", "fgd", seed).allocation
        r = run_one(NODES, SAMPLE / "pods_multigpu.csv", "random", seed).allocation
        last = max(f)
        assert last == max(r)  # same seed: same tuned sequence, same arrived axis
        assert f[last] >= r[last], seed


def test_run_one_fine_grained_trace(tmp_path):
    # 200 pods of 100 milli on one GPU (100m cpu, 1 MiB): S = 20,000; target round(1.3 * 15,000) = 19,500
    # -> tune-down removes exactly 5 pods -> 195 pods. The 15 GPUs take 10 pods each and nothing fragments
    # (100 divides 1000), so every policy places 150 and fails 45. Arrived moves by 2/3 % per pod:
    # column 100 holds only the 150th pod (arrived 15,000 = 100%, all placed) -> 100.0; column 130 holds the
    # pods at 129.33% .. 130% (all GPUs full) -> 100.0; column 50 only the 75th pod (50% placed) -> 50.0.
    csv = tmp_path / "fine.csv"
    csv.write_text(
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli\n" + "".join(f"f-{j:03d},100,1,1,100\n" for j in range(200))
    )
    for policy in PAPER_POLICIES:
        r = run_one(NODES, csv, policy, 7)
        assert (r.pods, r.placed) == (195, 150), policy
        assert (r.alloc_100, r.alloc_130, r.allocation[50]) == (100.0, 100.0, 50.0), policy
        assert set(r.allocation) == set(COLUMNS)
        assert r.frag_amount[130] == 0.0


# ---- the real default trace (section 8.1) ------------------------------------------------------------------------

# The published means at 130% arrived GPU workload on the default trace, seeds 42-51 (Weng et al., ATC'23,
# the artifact's summary table "Column 130"; docs/fgd-openb.md sets them beside podgym's).
PAPER_DEFAULT_130 = {
    "random": 87.47,
    "dot-product": 90.85,
    "gpu-clustering": 91.88,
    "gpu-packing": 92.00,
    "best-fit": 93.08,
    "fgd": 95.39,
}


def test_default_trace_fgd_and_best_fit_match_the_paper():
    paper = PAPER_DEFAULT_130
    assert set(paper) == set(PAPER_POLICIES)
    got = {}
    for policy in ("fgd", "best-fit"):
        r = run_one(OPENB / "openb_node_list_gpu_node.csv", OPENB / "openb_pod_list_default.csv", policy, 42)
        assert 10_700 <= r.pods <= 11_000  # section 2.1: about 10,750-10,950 pods after tune-up
        assert r.alloc_130 == pytest.approx(paper[policy], abs=1.0), policy
        got[policy] = r
    assert got["fgd"].alloc_130 > got["best-fit"].alloc_130
    assert got["fgd"].alloc_100 > got["best-fit"].alloc_100
    # Column 0 is about the empty cluster: frag ratio near the published 13.9-14.1 %.
    assert got["fgd"].frag_ratio[0] == pytest.approx(13.94, abs=0.2)


def test_fgd_needs_a_consistent_tie_break():
    """FGD's integer score ties often; the experiment breaks ties by a node rank drawn once per run. With
    kube-scheduler's rule (a fresh random choice per pod) the same FGD places far fewer GPUs on openb (6 dev seeds:
    89.9 % against 95.5 % at 130 %; docs/learned.md): the consistent preference is part of what FGD's results
    measure, and what a learned policy needs the node_rank feature for."""
    nodes, pods = OPENB / "openb_node_list_gpu_node.csv", OPENB / "openb_pod_list_default.csv"
    ranked = run_one(nodes, pods, "fgd", 1)
    fresh = run_one(nodes, pods, "fgd", 1, tie_break="random")
    assert (ranked.tie_break, fresh.tie_break) == ("rank", "random")
    assert ranked.pods == fresh.pods  # the same tuned workload: only the tie rule differs
    assert fresh.alloc_130 < ranked.alloc_130 - 3.0
