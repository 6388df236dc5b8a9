"""NodeResourcesFit scoring strategies: LeastAllocated, MostAllocated, RequestedToCapacityRatio.

Integer arithmetic as upstream (least_allocated.go, most_allocated.go, requested_to_capacity_ratio.go,
helper/shape_score.go): per-resource scores truncate, the weighted mean truncates for Least/Most and
rounds for RequestedToCapacityRatio, which also drops resources that score 0 from the weight sum.
"""

from __future__ import annotations

from collections.abc import Sequence

from envs.kube.framework import MAX_NODE_SCORE
from envs.kube.plugins.args import ScoringStrategy
from envs.kube.plugins.noderesources.resource_allocation import Scorer, go_div

MAX_UTILIZATION = 100
MAX_CUSTOM_PRIORITY_SCORE = 10


def least_requested_score(requested: int, capacity: int) -> int:
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_NODE_SCORE // capacity


def most_requested_score(requested: int, capacity: int) -> int:
    if capacity == 0:
        return 0
    return min(requested, capacity) * MAX_NODE_SCORE // capacity


def _weighted_mean(per_resource, weights: Sequence[int]) -> Scorer:
    def scorer(requested: list[int], allocatable: list[int]) -> int:
        total = weight_sum = 0
        for req, alloc, weight in zip(requested, allocatable, weights):
            if alloc == 0:
                continue
            total += per_resource(req, alloc) * weight
            weight_sum += weight
        return total // weight_sum if weight_sum else 0

    return scorer


def broken_linear(shape: Sequence[tuple[int, int]]):
    """helper.BuildBrokenLinearFunction over (utilization, score) points."""

    def f(p: int) -> int:
        for i, (u, s) in enumerate(shape):
            if p <= u:
                if i == 0:
                    return shape[0][1]
                u0, s0 = shape[i - 1]
                return s0 + go_div((s - s0) * (p - u0), u - u0)
        return shape[-1][1]

    return f


def requested_to_capacity_ratio_scorer(shape: Sequence[tuple[int, int]], weights: Sequence[int]) -> Scorer:
    scale = MAX_NODE_SCORE // MAX_CUSTOM_PRIORITY_SCORE
    raw = broken_linear([(u, s * scale) for u, s in shape])

    def resource_score(requested: int, capacity: int) -> int:
        if capacity == 0 or requested > capacity:
            return raw(MAX_UTILIZATION)
        return raw(requested * MAX_UTILIZATION // capacity)

    def scorer(requested: list[int], allocatable: list[int]) -> int:
        total = weight_sum = 0
        for req, alloc, weight in zip(requested, allocatable, weights):
            if alloc == 0:
                continue
            s = resource_score(req, alloc)
            if s > 0:
                total += s * weight
                weight_sum += weight
        if weight_sum == 0:
            return 0
        # math.Round: half away from zero; exact on the rational value.
        return (2 * total + weight_sum) // (2 * weight_sum)

    return scorer


def build_scorer(strategy: ScoringStrategy) -> Scorer:
    """The scorer for a validated scoring strategy."""
    weights = [r.weight for r in strategy.resources]
    if strategy.type == "LeastAllocated":
        return _weighted_mean(least_requested_score, weights)
    if strategy.type == "MostAllocated":
        return _weighted_mean(most_requested_score, weights)
    assert strategy.requested_to_capacity_ratio is not None
    shape = [(p.utilization, p.score) for p in strategy.requested_to_capacity_ratio.shape]
    return requested_to_capacity_ratio_scorer(shape, weights)
