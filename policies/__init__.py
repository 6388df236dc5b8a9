"""Node scorers that need only numpy: the heuristic baselines, FGD and the exported ONNX policy (DESIGN rule 2).

agents/ (evaluation, training baselines) and plugin/ (the deployed scheduler) both import them from here, so
that neither imports the other. The learned torch policies live in agents/.

``make_policy(name)`` builds a policy by name, as configs and command lines give it::

    random, round-robin, first-fit, best-fit, dot-product, gpu-packing, gpu-clustering, fgd,
    kube-default, least-allocated, most-allocated, requested-to-capacity-ratio, balanced-allocation

and pairs of them, ``CPU+GPU`` (``kube-default+gpu-packing``): the first scores pods without GPUs, the second
pods with GPUs (policies.composite). ``scenario_policy`` builds one for a scenario: its kube-default is
kube-scheduler with the scenario's own profile.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _registry() -> dict[str, Callable[..., Any]]:
    from podgym.policies import heuristics as h
    from podgym.policies.fgd import FGDPolicy
    from podgym.policies.lookahead import FGDLookahead

    return {
        "random": h.RandomPolicy,
        "round-robin": h.RoundRobinPolicy,
        "first-fit": h.FirstFitPolicy,
        "best-fit": h.BestFitPolicy,
        "dot-product": h.DotProductPolicy,
        "gpu-packing": h.GpuPackingPolicy,
        "gpu-clustering": h.GpuClusteringPolicy,
        "fgd": FGDPolicy,
        "fgd-lookahead": FGDLookahead,
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
    "fgd-lookahead",
    "kube-default",
    "least-allocated",
    "most-allocated",
    "requested-to-capacity-ratio",
    "balanced-allocation",
)


# The heuristics that score against a workload's typical pods (a constructor argument `typical`; by default the
# simulated workload's): the FGD experiment gives them the trace's, as the paper's FGD measures against.
TYPICAL_PODS_HEURISTICS = ("fgd", "fgd-lookahead")


def pair_parts(name: str) -> tuple[str, str] | None:
    """(cpu, gpu) of a pair name ``CPU+GPU``; None for a single name."""
    from podgym.policies.composite import SEPARATOR

    if SEPARATOR not in name:
        return None
    cpu, _, gpu = name.partition(SEPARATOR)
    return cpu, gpu


def unknown_heuristic(name: str, what: str = "policy") -> ValueError:
    """The error for a name that is neither a heuristic nor a pair of two; it lists the known ones."""
    return ValueError(
        f"unknown {what} {name!r}; known: {', '.join(HEURISTICS)}, and pairs CPU+GPU of them "
        "(e.g. kube-default+gpu-packing: the first for pods without GPUs, the second for pods with GPUs)"
    )


def is_heuristic(name: str) -> bool:
    """Whether `name` is a heuristic or a pair ``CPU+GPU`` of two."""
    parts = pair_parts(name)
    return all(p in HEURISTICS for p in parts) if parts else name in HEURISTICS


def build_heuristic(name: str, make_one: Callable[[str], Any]):
    """The heuristic `name`, or the pair ``CPU+GPU`` of two, each single one made by `make_one(single name)`: the
    one place a name becomes a scorer, whatever builds the single heuristics (a scenario's profile, an
    experiment's typical pods)."""
    if not is_heuristic(name):
        raise unknown_heuristic(name)
    parts = pair_parts(name)
    if parts:
        from podgym.policies.composite import ByPodKind

        return ByPodKind(make_one(parts[0]), make_one(parts[1]), name)
    return make_one(name)


def make_policy(name: str, **kwargs: Any):
    """The heuristic policy `name` (see HEURISTICS, and the pairs ``CPU+GPU``); an unknown name lists the known
    ones. `kwargs` go to the constructor of each single heuristic."""
    registry = _registry()
    return build_heuristic(name, lambda single: registry[single](**kwargs))


def scenario_policy(name: str, profile: Any = None, sample_nodes: bool = True):
    """The heuristic `name` for a scenario: kube-default (alone or in a pair) is kube-scheduler with the
    scenario's `profile` and node sampling (its scheduler config), as envs.simulate runs it."""

    def make_one(single: str):
        if single == "kube-default" and profile is not None:
            from podgym.envs.policy import KubeSchedulerPolicy

            return KubeSchedulerPolicy(profile, name=single, sample_nodes=sample_nodes)
        return make_policy(single)

    return build_heuristic(name, make_one)


__all__ = [
    "HEURISTICS",
    "TYPICAL_PODS_HEURISTICS",
    "build_heuristic",
    "is_heuristic",
    "make_policy",
    "pair_parts",
    "scenario_policy",
    "unknown_heuristic",
]
