"""Node scorers that need only numpy: the heuristic baselines, FGD and the exported ONNX policy (DESIGN rule 2).

agents/ (evaluation, training baselines) and plugin/ (the deployed scheduler) both import them from here, so
that neither imports the other. The learned torch policies live in agents/.

``make_policy(name)`` builds a policy by name, as configs and command lines give it::

    random, round-robin, first-fit, best-fit, dot-product, gpu-packing, gpu-clustering, fgd,
    kube-default, least-allocated, most-allocated, requested-to-capacity-ratio, balanced-allocation
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _registry() -> dict[str, Callable[..., Any]]:
    from podgym.policies import heuristics as h
    from podgym.policies.fgd import FGDPolicy

    return {
        "random": h.RandomPolicy,
        "round-robin": h.RoundRobinPolicy,
        "first-fit": h.FirstFitPolicy,
        "best-fit": h.BestFitPolicy,
        "dot-product": h.DotProductPolicy,
        "gpu-packing": h.GpuPackingPolicy,
        "gpu-clustering": h.GpuClusteringPolicy,
        "fgd": FGDPolicy,
        "kube-default": h.kube_default,
        "least-allocated": h.least_allocated,
        "most-allocated": h.most_allocated,
        "requested-to-capacity-ratio": h.requested_to_capacity_ratio,
        "balanced-allocation": h.balanced_allocation,
    }


HEURISTICS = (
    "random",
    "round-robin",
    "first-fit",
    "best-fit",
    "dot-product",
    "gpu-packing",
    "gpu-clustering",
    "fgd",
    "kube-default",
    "least-allocated",
    "most-allocated",
    "requested-to-capacity-ratio",
    "balanced-allocation",
)


def make_policy(name: str, **kwargs: Any):
    """The heuristic policy `name` (see HEURISTICS); an unknown name lists the known ones."""
    registry = _registry()
    if name not in registry:
        raise ValueError(f"unknown policy {name!r}; known: {', '.join(HEURISTICS)}")
    return registry[name](**kwargs)


__all__ = ["HEURISTICS", "make_policy"]
