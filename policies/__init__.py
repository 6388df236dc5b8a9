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


def pair_parts(name: str) -> tuple[str, str] | None:
    """(cpu, gpu) of a pair name ``CPU+GPU``; None for a single name."""
    from podgym.policies.composite import SEPARATOR

    if SEPARATOR not in name:
        return None
    cpu, _, gpu = name.partition(SEPARATOR)
    return cpu, gpu


def _unknown(name: str) -> ValueError:
    return ValueError(
        f"unknown policy {name!r}; known: {', '.join(HEURISTICS)}, and pairs CPU+GPU of them "
        "(e.g. kube-default+gpu-packing: the first for pods without GPUs, the second for pods with GPUs)"
    )


def is_heuristic(name: str) -> bool:
    """Whether `name` is a heuristic or a pair ``CPU+GPU`` of two."""
    parts = pair_parts(name)
    return all(p in HEURISTICS for p in parts) if parts else name in HEURISTICS


def make_policy(name: str, **kwargs: Any):
    """The heuristic policy `name` (see HEURISTICS, and the pairs ``CPU+GPU``); an unknown name lists the known
    ones. `kwargs` go to a single heuristic's constructor."""
    if not is_heuristic(name):
        raise _unknown(name)
    parts = pair_parts(name)
    if parts:
        from podgym.policies.composite import ByPodKind

        return ByPodKind(make_policy(parts[0]), make_policy(parts[1]), name)
    return _registry()[name](**kwargs)


def scenario_policy(name: str, profile: Any = None, sample_nodes: bool = True):
    """The heuristic `name` for a scenario: kube-default (alone or in a pair) is kube-scheduler with the
    scenario's `profile` and node sampling (its scheduler config), as envs.simulate runs it."""
    if not is_heuristic(name):
        raise _unknown(name)
    parts = pair_parts(name)
    if parts:
        from podgym.policies.composite import ByPodKind

        return ByPodKind(
            scenario_policy(parts[0], profile, sample_nodes), scenario_policy(parts[1], profile, sample_nodes), name
        )
    if name == "kube-default" and profile is not None:
        from podgym.envs.policy import KubeSchedulerPolicy

        return KubeSchedulerPolicy(profile, name=name, sample_nodes=sample_nodes)
    return make_policy(name)


__all__ = ["HEURISTICS", "is_heuristic", "make_policy", "pair_parts", "scenario_policy"]
