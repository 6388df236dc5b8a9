"""The extender's score mapping (policy scores -> kube-scheduler's 0..MaxExtenderPriority) level by level, against
a pure-Python reference written from its definition."""

from __future__ import annotations

import math

import numpy as np
import pytest

from podgym.plugin.extender import extender_scores


def reference(scores: list[float], top: int = 10) -> list[int]:
    """The definition: the argmax nodes get `top`; the others floor(top * (s - lo) / (hi - lo)), at most top - 1."""
    finite = [s for s in scores if math.isfinite(s)]
    best = max(scores)
    lo, hi = min(finite), max(finite)
    out = []
    for s in scores:
        if s == best:
            out.append(top)
        elif not math.isfinite(s) or hi == lo:
            out.append(0)
        else:
            out.append(min(math.floor(top * ((s - lo) / (hi - lo))), top - 1))  # the scaled share, then floor
    return out


def test_each_level_is_the_floor_of_the_linear_scale():
    # Span 16, all exact in binary: 10 * s / 16 = 0, 0.625, 1.875, 2.5, 3.125, 3.75, 5, 7.5, 8.125, 9.6875, 10.
    # floor: 0 0 1 2 3 3 5 7 8 9 10   (rounding would give 0 1 2 2 3 4 5 8 8 9 10; ceil 0 1 2 3 4 4 5 8 9 9 10)
    s = [0.0, 1.0, 3.0, 4.0, 5.0, 6.0, 8.0, 12.0, 13.0, 15.5, 16.0]
    assert extender_scores(s).tolist() == [0, 0, 1, 2, 3, 3, 5, 7, 8, 9, 10] == reference(s)
    # The same on another scale and offset, and with the top of the scale at 100.
    assert extender_scores([100 + 2 * v for v in s]).tolist() == [0, 0, 1, 2, 3, 3, 5, 7, 8, 9, 10]
    assert extender_scores(s, max_score=100).tolist() == [0, 6, 18, 25, 31, 37, 50, 75, 81, 96, 100]


@pytest.mark.parametrize("seed", range(5))
def test_random_scores_match_the_reference(seed):
    rng = np.random.default_rng(seed)
    for _ in range(100):
        s = rng.normal(scale=10.0 ** rng.integers(-2, 4), size=rng.integers(1, 30)).round(rng.integers(0, 4))
        assert extender_scores(s).tolist() == reference(s.tolist())
