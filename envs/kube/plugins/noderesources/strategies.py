"""Resource scorers of NodeResourcesFit (LeastAllocated, MostAllocated, RequestedToCapacityRatio) and
NodeResourcesBalancedAllocation, written once over arrays.

Each scorer maps ``requested`` and ``allocatable``, int64 arrays of shape [nodes, resources] (the
pod included in ``requested``; ``allocatable == 0`` marks a resource left out on that node), to an
int64 score per node. The object-level plugins call them with one row; the vectorised cluster with
all nodes. Integer arithmetic as upstream (least_allocated.go, most_allocated.go,
requested_to_capacity_ratio.go, helper/shape_score.go, balanced_allocation.go v1.35): per-resource
scores truncate, the weighted mean truncates for Least/Most and rounds for RequestedToCapacityRatio,
which also drops resources that score 0 from the weight sum.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from podgym.envs.kube.framework import MAX_NODE_SCORE
from podgym.envs.kube.plugins.args import ScoringStrategy

MAX_UTILIZATION = 100
MAX_CUSTOM_PRIORITY_SCORE = 10

Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]


def go_div(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
    """Go's int64 division, which truncates toward zero (numpy's // floors)."""
    q = np.abs(a) // np.abs(b)
    return np.where((np.asarray(a) >= 0) == (np.asarray(b) >= 0), q, -q)


def least_requested_score(requested: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    ok = (capacity != 0) & (requested <= capacity)
    return np.where(ok, (capacity - requested) * MAX_NODE_SCORE // np.where(ok, capacity, 1), 0)


def most_requested_score(requested: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    safe = np.where(capacity != 0, capacity, 1)
    return np.where(capacity != 0, np.minimum(requested, capacity) * MAX_NODE_SCORE // safe, 0)


def _weighted_mean(per_resource, weights: Sequence[int]) -> Scorer:
    w = np.asarray(weights, dtype=np.int64)

    w_sum = int(w.sum())

    def scorer(requested: np.ndarray, allocatable: np.ndarray) -> np.ndarray:
        present = allocatable != 0
        scores = per_resource(requested, allocatable)
        if present.all():  # the common case, in fewer operations
            return scores @ w // w_sum
        total = (scores * w * present).sum(axis=1)
        weight_sum = (w * present).sum(axis=1)
        return np.where(weight_sum != 0, total // np.where(weight_sum != 0, weight_sum, 1), 0)

    return scorer


def broken_linear(shape: Sequence[tuple[int, int]]) -> Callable[[np.ndarray], np.ndarray]:
    """helper.BuildBrokenLinearFunction over (utilization, score) points, on arrays."""

    def f(p: np.ndarray) -> np.ndarray:
        out = np.full(p.shape, shape[-1][1], dtype=np.int64)
        done = np.zeros(p.shape, dtype=bool)
        for i, (u, s) in enumerate(shape):
            hit = ~done & (p <= u)
            if i == 0:
                value = np.full(p.shape, s, dtype=np.int64)
            else:
                u0, s0 = shape[i - 1]
                value = s0 + go_div((s - s0) * (p - u0), u - u0)
            out = np.where(hit, value, out)
            done |= hit
        return out

    return f


def requested_to_capacity_ratio_scorer(shape: Sequence[tuple[int, int]], weights: Sequence[int]) -> Scorer:
    scale = MAX_NODE_SCORE // MAX_CUSTOM_PRIORITY_SCORE
    raw = broken_linear([(u, s * scale) for u, s in shape])
    w = np.asarray(weights, dtype=np.int64)

    def scorer(requested: np.ndarray, allocatable: np.ndarray) -> np.ndarray:
        present = allocatable != 0
        over = ~present | (requested > allocatable)
        utilization = np.where(over, MAX_UTILIZATION, requested * MAX_UTILIZATION // np.where(present, allocatable, 1))
        scores = raw(utilization)
        counted = present & (scores > 0)
        total = (scores * w * counted).sum(axis=1)
        weight_sum = (w * counted).sum(axis=1)
        # math.Round (half away from zero) of total/weight_sum, exact on integers.
        return np.where(weight_sum != 0, (2 * total + weight_sum) // np.maximum(2 * weight_sum, 1), 0)

    return scorer


def balanced_resource_score(requested: np.ndarray, allocatable: np.ndarray) -> np.ndarray:
    """balancedResourceScorer (v1.35), in the same float64 operations and order as upstream."""
    present = allocatable != 0
    if requested.shape[1] == 2 and present.all():  # the common case: |f1 - f2| / 2
        fractions = np.minimum(requested / allocatable, 1.0)
        std = np.abs((fractions[:, 0] - fractions[:, 1]) / 2)
        return np.trunc((1 - std) * float(MAX_NODE_SCORE)).astype(np.int64)
    fractions = np.minimum(requested / np.where(present, allocatable, 1), 1.0)
    count = present.sum(axis=1)
    total = np.zeros(len(requested))
    for j in range(requested.shape[1]):
        total = total + np.where(present[:, j], fractions[:, j], 0.0)
    mean = total / np.maximum(count, 1)
    acc = np.zeros(len(requested))
    for j in range(requested.shape[1]):
        d = fractions[:, j] - mean
        acc = acc + np.where(present[:, j], d * d, 0.0)
    std = np.sqrt(acc / np.maximum(count, 1))
    # Two resources: upstream uses |f1 - f2| / 2 over the two present fractions, in that order.
    first = np.argmax(present, axis=1)
    last = requested.shape[1] - 1 - np.argmax(present[:, ::-1], axis=1)
    rows = np.arange(len(requested))
    std2 = np.abs((fractions[rows, first] - fractions[rows, last]) / 2) if requested.shape[1] else np.zeros(0)
    std = np.where(count == 2, std2, np.where(count > 2, std, 0.0))
    return np.trunc((1 - std) * float(MAX_NODE_SCORE)).astype(np.int64)


def build_scorer(strategy: ScoringStrategy) -> Scorer:
    """The scorer for a validated NodeResourcesFit scoring strategy."""
    weights = [r.weight for r in strategy.resources]
    if strategy.type == "LeastAllocated":
        return _weighted_mean(least_requested_score, weights)
    if strategy.type == "MostAllocated":
        return _weighted_mean(most_requested_score, weights)
    assert strategy.requested_to_capacity_ratio is not None
    shape = [(p.utilization, p.score) for p in strategy.requested_to_capacity_ratio.shape]
    return requested_to_capacity_ratio_scorer(shape, weights)
