"""The evaluation's statistics against references that do not share its code: the exact bootstrap distribution
of small samples (all resamples enumerated), normal theory on large ones, and hand-built differences where a
two-sided and a one-sided test disagree."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from podgym.agents.evaluation import aggregate, bootstrap_ci, paired_difference_significant

Z95, Z90 = 1.959964, 1.644854


def exact_percentile_ci(values: list[float], level: float) -> tuple[float, float]:
    """The percentile interval of the bootstrap distribution of the mean, every resample enumerated."""
    means = np.sort([math.fsum(r) / len(values) for r in itertools.product(values, repeat=len(values))])
    return tuple(np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2]))


def standardised(n: int, seed: int) -> np.ndarray:
    """n values with mean 0 and standard deviation 1 (ddof=0) exactly, up to rounding."""
    x = np.random.default_rng(seed).normal(size=n)
    return (x - x.mean()) / x.std()


@pytest.mark.parametrize("level", [0.95, 0.9, 0.8])
def test_bootstrap_ci_matches_the_enumerated_bootstrap_distribution(level):
    values = [0.0, 1.0, 2.0, 4.0, 8.0, 16.0]  # 6^6 = 46,656 resamples, enumerated
    lo, hi = exact_percentile_ci(values, level)
    got = bootstrap_ci(np.array(values), np.random.default_rng(1), n=20_000, level=level)
    # Monte Carlo error of a tail quantile from 20,000 resamples: about 0.05 here; 95% vs 90% differ by 0.7.
    assert got == pytest.approx((lo, hi), abs=0.2)


def test_the_default_interval_is_95_percent():
    values = [0.0, 1.0, 2.0, 4.0, 8.0, 16.0]
    default = bootstrap_ci(np.array(values), np.random.default_rng(1))  # as aggregate() calls it
    assert default == pytest.approx(exact_percentile_ci(values, 0.95), abs=0.3)
    assert default != pytest.approx(exact_percentile_ci(values, 0.90), abs=0.3)


def test_bootstrap_ci_width_follows_normal_theory_on_a_large_sample():
    # Mean 0, sd 1, n = 400: the interval of the mean is about ± z · 1/sqrt(400) = ± 0.098 (95%), ± 0.082 (90%).
    x = standardised(400, 3) + 5.0
    lo, hi = bootstrap_ci(x, np.random.default_rng(0))
    assert (lo + hi) / 2 == pytest.approx(5.0, abs=0.01)
    assert (hi - lo) / 2 == pytest.approx(Z95 / 20, rel=0.07)
    lo90, hi90 = bootstrap_ci(x, np.random.default_rng(0), level=0.9)
    assert (hi90 - lo90) / 2 == pytest.approx(Z90 / 20, rel=0.07)


def test_degenerate_samples():
    assert bootstrap_ci(np.array([2.5]), np.random.default_rng(0)) == (2.5, 2.5)
    assert bootstrap_ci(np.array([3.0, 3.0, 3.0]), np.random.default_rng(0)) == (3.0, 3.0)


def test_significance_is_two_sided():
    # Differences with mean 0.09 and standard error 0.05 (z = 1.8): a one-sided 95% test would call it
    # significant (1.8 > 1.645), the two-sided one does not (1.8 < 1.96); in either direction.
    d = standardised(400, 7) + 0.09
    b = np.random.default_rng(8).normal(size=400)
    sig, lo, hi = paired_difference_significant(b + d, b, np.random.default_rng(0))
    assert not sig and lo < 0 < hi
    assert (hi - lo) / 2 == pytest.approx(Z95 / 20, rel=0.07)
    assert not paired_difference_significant(b - d, b, np.random.default_rng(0))[0]
    # z = 2.4: significant both ways round, whichever policy is the better one.
    d = standardised(400, 7) + 0.12
    assert paired_difference_significant(b + d, b, np.random.default_rng(0))[0]
    sig, lo, hi = paired_difference_significant(b - d, b, np.random.default_rng(0))
    assert sig and hi < 0


def test_significance_is_paired():
    # Large common noise, a small constant difference: significant only because the samples are paired.
    b = np.random.default_rng(2).normal(scale=10.0, size=10)
    sig, lo, hi = paired_difference_significant(b + 0.01, b, np.random.default_rng(0))
    assert sig and lo == pytest.approx(0.01) and hi == pytest.approx(0.01)


def test_aggregate_reports_the_95_percent_interval_and_the_sample_std():
    x = standardised(400, 11) * 2.0 + 1.0
    rows = [{"scenario": "s", "policy": "p", "seed": i, **{k: float(v) for k in METRICS}} for i, v in enumerate(x)]
    stats = aggregate(rows)["s"]["stats"]["p"]["objective"]
    assert stats["mean"] == pytest.approx(1.0, abs=1e-12)
    assert stats["std"] == pytest.approx(2.0 * math.sqrt(400 / 399), rel=1e-9)  # ddof=1
    lo, hi = stats["ci95"]
    assert (hi - lo) / 2 == pytest.approx(Z95 * 2.0 / 20, rel=0.07)


METRICS = (
    "objective",
    "gpu_allocation_mean",
    "cpu_allocation_mean",
    "pods_never_scheduled",
    "wait_mean_s",
    "wait_p95_s",
    "pending_pods_mean",
    "imbalance_cpu_mean",
    "gpu_fragmentation_mean",
    "active_node_hours",
    "evictions",
)


def _rows(values_by_policy: dict[str, list[float]]) -> list[dict]:
    return [
        {"scenario": "s", "policy": p, "seed": i, **{k: float(v) for k in METRICS}}
        for p, values in values_by_policy.items()
        for i, v in enumerate(values)
    ]


def test_aggregate_is_reproducible_from_its_seed():
    rows = _rows({"a": [1.0, 2.0, 4.0, 8.0], "b": [0.5, 1.0, 3.0, 4.0]})
    first = aggregate(rows)
    assert aggregate(rows) == first  # the same report every time
    # The first interval drawn is policy a's objective, from the stream of seed 0.
    assert first["s"]["stats"]["a"]["objective"]["ci95"] == list(
        bootstrap_ci(np.array([1.0, 2.0, 4.0, 8.0]), np.random.default_rng(0))
    )


def test_std_over_one_and_two_seeds():
    stats = aggregate(_rows({"one": [3.0], "two": [1.0, 4.0]}))["s"]["stats"]
    assert stats["one"]["objective"] == {"mean": 3.0, "std": 0.0, "ci95": [3.0, 3.0]}
    assert stats["two"]["objective"]["std"] == pytest.approx(3 / math.sqrt(2))


def test_every_policy_is_compared_with_the_best_and_with_the_one_above():
    agg = aggregate(_rows({"a": [3.0, 3.1, 3.2], "b": [2.0, 2.2, 2.1], "c": [1.0, 1.1, 0.9], "d": [0.0, 0.1, 0.2]}))
    pairs = {(c["better"], c["worse"]) for c in agg["s"]["comparisons"]}
    assert agg["s"]["ranking"] == ["a", "b", "c", "d"]
    assert pairs == {("a", "b"), ("a", "c"), ("b", "c"), ("a", "d"), ("c", "d")}
    assert all(c["significant"] and c["seeds"] == 3 for c in agg["s"]["comparisons"])


def test_two_values_give_a_real_interval_and_none_give_nan():
    # The bootstrap means of [0, 1] are 0, 0.5, 0.5, 1 (each resample of two equally likely): 2.5% -> 0, 97.5% -> 1.
    assert bootstrap_ci(np.array([0.0, 1.0]), np.random.default_rng(0)) == (0.0, 1.0)
    lo, hi = bootstrap_ci(np.array([]), np.random.default_rng(0))
    assert math.isnan(lo) and math.isnan(hi)


def test_no_difference_is_not_significant_and_the_level_is_passed_on():
    same = np.array([0.5, 0.7, 0.6, 0.9])
    assert paired_difference_significant(same, same.copy(), np.random.default_rng(0)) == (False, 0.0, 0.0)
    b = np.random.default_rng(8).normal(size=400)
    d = standardised(400, 7) + 0.09
    wide = paired_difference_significant(b + d, b, np.random.default_rng(0))
    narrow = paired_difference_significant(b + d, b, np.random.default_rng(0), level=0.5)
    assert narrow[2] - narrow[1] < 0.4 * (wide[2] - wide[1])  # z 0.67 vs 1.96
    assert narrow[0] and not wide[0]


def test_comparisons_use_the_seeds_both_policies_ran():
    rows = _rows({"a": [3.0, 3.1, 3.2], "b": [2.0, 2.2, 2.1]})
    rows = [r for r in rows if not (r["policy"] == "a" and r["seed"] == 0)]  # a: seeds 1, 2; b: 0, 1, 2
    rows += [{**rows[-1], "policy": "c", "seed": 5, "objective": 1.0}]  # c shares no seed with anyone
    (comparison,) = aggregate(rows)["s"]["comparisons"]
    assert (comparison["better"], comparison["worse"], comparison["seeds"]) == ("a", "b", 2)
    assert comparison["difference_ci95"] == pytest.approx([0.9, 1.1])  # differences 3.1 - 2.2 and 3.2 - 2.1
