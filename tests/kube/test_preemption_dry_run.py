"""Preemption's dry run keeps upstream's PreFilter state: upstream updates it through the PreFilter extensions'
RemovePod/AddPod as it removes and restores the potential victims on a node, podgym recomputes PreFilter over the
changed snapshot. Where the two count differently (PodTopologySpread's RemovePod counts a terminating pod that its
PreFilter skips), the verdicts are upstream's, in ``kube.preempt`` and the simulator alike."""

from __future__ import annotations

import podgym.envs.kube as kube
from podgym.envs.kube.plugins import new_plugin
from tests.kube.builders import node, on_node, pod

ZONE = "topology.kubernetes.io/zone"
SPREAD = [
    {
        "maxSkew": 1,
        "topologyKey": ZONE,
        "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"app": "a"}},
    }
]
PROFILE = kube.Profile(
    scheduler_name="s",
    filter_plugins=(new_plugin("NodeResourcesFit"), new_plugin("PodTopologySpread")),
    score_plugins=(),
)


def mkpod(name: str, priority: int, cpu: str, at: str, node_name: str, terminating: bool = False) -> dict:
    p = on_node(pod(name, containers=[{"cpu": cpu}], labels={"app": "a"}), node_name)
    p["spec"]["priority"] = priority
    p["status"]["startTime"] = at
    if terminating:
        p["metadata"]["deletionTimestamp"] = "1970-01-01T00:01:00Z"
    return p


def test_a_terminating_victim_counts_in_the_spread_while_the_dry_run_has_removed_it() -> None:
    # zone z0 (n0): a0, a1 and the terminating t, all of priority 0; zone z1 (n1): one pod of priority 10 filling n1.
    # PreFilter counts app=a: z0 2 (t is terminating), z1 1, so the pod (app=a) fails the spread on n0 (2 + 1 - 1 > 1)
    # and fits no cpu on n1. The dry run on n0 removes a0, a1 and t: upstream's RemovePod takes each off z0, t too,
    # (z0 -1); restoring a0 (z0 0) and a1 (z0 1, the minimum 1) keeps the spread, restoring t (z0 2) breaks it: t is
    # the victim. Counting only the pods left on n0 would make a1 the victim and keep t.
    nodes = [node(f"n{j}", allocatable={"cpu": "2", "pods": "10"}, labels={ZONE: f"z{j}"}) for j in (0, 1)]
    pods = [
        mkpod("a0", 0, "100m", "1970-01-01T00:00:01Z", "n0"),
        mkpod("a1", 0, "100m", "1970-01-01T00:00:02Z", "n0"),
        mkpod("t", 0, "100m", "1970-01-01T00:00:03Z", "n0", terminating=True),
        mkpod("b", 10, "2", "1970-01-01T00:00:00Z", "n1"),
    ]
    high = pod("high", containers=[{"cpu": "100m"}], labels={"app": "a"})
    high["spec"].update(priority=10, topologySpreadConstraints=SPREAD)
    for offset in (0, 1):
        result = kube.preempt(high, nodes, pods, profile=PROFILE, offset=offset)
        assert (result.nominated_node, [v.name for v in result.victims]) == ("n0", ["t"])
