"""kube-scheduler plugins podgym models, under their upstream names, and the registry that builds them."""

from __future__ import annotations

from typing import Any

from podgym.envs.kube.errors import ConfigError
from podgym.envs.kube.framework import Plugin
from podgym.envs.kube.plugins.args import NoArgs, parse_args
from podgym.envs.kube.plugins.defaultpreemption import DefaultPreemption
from podgym.envs.kube.plugins.imagelocality import ImageLocality
from podgym.envs.kube.plugins.interpodaffinity import InterPodAffinity
from podgym.envs.kube.plugins.nodeaffinity import NodeAffinity
from podgym.envs.kube.plugins.nodename import NodeName
from podgym.envs.kube.plugins.nodeports import NodePorts
from podgym.envs.kube.plugins.noderesources import BalancedAllocation, Fit
from podgym.envs.kube.plugins.nodeunschedulable import NodeUnschedulable
from podgym.envs.kube.plugins.podtopologyspread import PodTopologySpread
from podgym.envs.kube.plugins.tainttoleration import TaintToleration

REGISTRY: dict[str, type[Plugin]] = {
    cls.name: cls
    for cls in (
        NodeUnschedulable,
        NodeName,
        TaintToleration,
        NodeAffinity,
        NodePorts,
        Fit,
        PodTopologySpread,
        InterPodAffinity,
        BalancedAllocation,
        ImageLocality,
    )
}

# PostFilter plugins: they run when no node passes Filter (preemption), outside the Filter/Score decision.
POST_FILTER: dict[str, type[Plugin]] = {DefaultPreemption.name: DefaultPreemption}

# In-tree Filter/Score plugins of kube-scheduler v1.35 that podgym does not model. A profile may enable
# them (so a real configuration loads); they take no part in podgym's decisions, and `explain` says so.
UNMODELED: frozenset[str] = frozenset(
    {
        "VolumeRestrictions",
        "NodeVolumeLimits",
        "VolumeBinding",
        "VolumeZone",
        "DynamicResources",
        "NodeDeclaredFeatures",
        "EBSLimits",
        "GCEPDLimits",
        "AzureDiskLimits",
        "CinderLimits",
    }
)
# Plugins outside the Filter/Score decision: the queue order (PrioritySort), gates and binding are the
# simulator's business, not a placement decision's.
OUTSIDE_DECISION: frozenset[str] = frozenset(
    {
        "SchedulingGates",
        "PrioritySort",
        "DefaultBinder",
        "GangScheduling",
    }
)


def new_plugin(name: str, args: dict[str, Any] | None = None) -> Plugin:
    """Instantiate the plugin `name` with its pluginConfig `args` (None: upstream v1 defaults)."""
    cls = REGISTRY.get(name) or POST_FILTER.get(name)
    if cls is None:
        hint = " (an upstream plugin podgym does not model)" if name in UNMODELED else ""
        raise ConfigError(f"unknown plugin {name!r}{hint}; podgym models {', '.join(sorted(REGISTRY))}", field="plugin")
    if cls in (NodeUnschedulable, NodeName, TaintToleration, NodePorts, ImageLocality):
        parse_args(NoArgs, args, name)
    return cls(args)


__all__ = ["OUTSIDE_DECISION", "POST_FILTER", "REGISTRY", "UNMODELED", "new_plugin"]
