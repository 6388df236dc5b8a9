"""Cases from kubernetes/kubernetes pkg/scheduler/framework/plugins/defaultpreemption/default_preemption_test.go
@ 008b3652959ca58af8be3fb5b6ecfe9ae7638282 (the stored copy, just after v1.35: its PodGroup cases are of a later
feature and are left out; the others are the v1.35 behaviour): TestPostFilter, TestDryRunPreemption (every case:
the candidates with their victims and PDB violations, and the Filter calls its FakeFilter counts, over every start
of the dry run where numCandidates covers all nodes), TestSelectBestCandidate; and TestPodEligibleToPreemptOthers
and TestPreempt from the v1.3x file (stored public copy of the same package with
``PodEligibleToPreemptOthers(pod, nominatedNodeStatus)``), run through ``DefaultPreemption.post_filter`` with the
Filter statuses upstream's test hands PostFilter (TestDryRunPreemption: Unschedulable on every node, as its call
of DryRunPreemption on all nodes), or ``kube.preempt`` after a real Filter pass.

Upstream behaviour pinned here (defaultpreemption/default_preemption.go, framework/preemption/preemption.go,
pkg/scheduler/util MoreImportantPod / GetEarliestPodStartTime, framework/types.go FitError):

* Only nodes whose Filter status is Unschedulable are dry-run; an absent status means UnschedulableAndUnresolvable.
* A node without pods of lower priority: UnschedulableAndUnresolvable "No preemption victims found for incoming
  pod"; a node where the pod does not fit even without them: its Filter status ("Insufficient cpu").
* No candidate: ``Unschedulable`` with "preemption: " + FitError of the dry-run statuses, the nodes not dry-run
  counted as "Preemption is not helpful for scheduling".
* Victims: the fewest, reprieving the most important first, PDB-violating ones first; the best node: fewest PDB
  violations, lowest highest-priority victim, smallest sum of (priority + 2^31), fewest victims, latest start of the
  highest-priority victims.
* The candidate lists hold at most numCandidates entries each, and the dry run goes on past numCandidates until a
  candidate without PDB violation is found.
* ``preemptionPolicy: Never``: "preemption: not eligible due to preemptionPolicy=Never."; a pod nominated to a node
  where a victim of its earlier preemption is still terminating (deletionTimestamp and the DisruptionTarget
  condition with reason PreemptionByScheduler) is not eligible, unless that node is now UnschedulableAndUnresolvable.

Deviations: upstream's st.MakeNode().Capacity(res) gives 32 pods unless res says otherwise, as the nodes here do;
its start times epochTime1..6 are 1 ns apart, which a pod's JSON cannot say (metav1.Time has seconds): here they
are 1 s apart. Pods built without Req have no containers. Upstream's offset comes from rand.NewSource(4); the
offset is passed here (4 where the expected candidates depend on it, as the test's comments say; 4, 1, 3 over the
wrap-around case's three cycles). The dry run is sequential (the cases that depend on it set parallelism 1 upstream
too). Upstream's fake Filter plugins (FakeFilter, TrueFilter, FalseFilter, MatchFilter) are written here as
podgym plugins. TestPreempt's topology-spread case runs a real Filter pass, which finds every node Unschedulable
as upstream's test sets them.

Left out: TestPostFilter's extender, "TestPlugin" (PreFilter extension errors) and PodGroup cases (extenders, PreFilter
extensions and pod groups are not modelled: podgym recomputes PreFilter over the changed snapshot where upstream
calls AddPod/RemovePod, so no such call can fail); TestCustomSelection and TestCustomOrdering (custom IsEligiblePod
and MoreImportantPod functions: Go extension points); TestPreempt's extender cases; the async-preemption and
API-call tests (TestPreempt's deletions and patches of victims: podgym does not call an API server).
"""

from __future__ import annotations

from typing import Any

import pytest

import podgym.envs.kube as kube
from podgym.envs.kube.disruption import parse_pdb
from podgym.envs.kube.framework import UNSCHEDULABLE, UNSCHEDULABLE_AND_UNRESOLVABLE, Plugin, Status
from podgym.envs.kube.nodeinfo import build_node_infos
from podgym.envs.kube.objects import parse_pod
from podgym.envs.kube.plugins import new_plugin

NEG, LOW, MID, HIGH, VERY_HIGH = -100, 0, 100, 1000, 10000
SMALL = {"cpu": "100m", "memory": "100"}
MEDIUM = {"cpu": "200m", "memory": "200"}
LARGE = {"cpu": "300m", "memory": "300"}
VERY_LARGE = {"cpu": "500m", "memory": "500"}
ONE_POD = {"pods": "1"}
NODE_RES = {"cpu": "200m", "memory": "400"}
EPOCH = "1970-01-01T00:00:00Z"


def t(seconds: int) -> str:
    return f"1970-01-01T00:00:0{seconds}Z"


def mkpod(
    name: str,
    priority: int | None = None,
    node: str | None = None,
    req: dict | None = None,
    start: str | None = None,
    labels: dict | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """st.MakePod(): no container unless Req gives one."""
    s: dict[str, Any] = {"containers": [{"name": "c", "resources": {"requests": dict(req)}}] if req else []}
    if priority is not None:
        s["priority"] = priority
    if node:
        s["nodeName"] = node
    s.update(spec)
    meta: dict[str, Any] = {"name": name, "namespace": "default", "uid": name}
    if labels:
        meta["labels"] = labels
    status: dict[str, Any] = {"phase": "Running" if node else "Pending"}
    if start:
        status["startTime"] = start
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": s, "status": status}


def mknode(name: str, capacity: dict | None = None, labels: dict | None = None) -> dict[str, Any]:
    """st.MakeNode().Capacity(res): 32 pods unless res sets pods."""
    alloc = {"pods": "32", **(capacity or {})}
    status = {"allocatable": alloc, "capacity": alloc}
    meta: dict[str, Any] = {"name": name, "labels": dict(labels)} if labels else {"name": name}
    return {"apiVersion": "v1", "kind": "Node", "metadata": meta, "status": status}


def topology_node(spec: str) -> dict[str, Any]:
    """A node of upstream's TestDryRunPreemption / TestPreempt: "node-a/zone1" is node-a labelled hostname=node-a,
    zone=zone1 (a third part: region), with veryLargeRes."""
    values = spec.split("/")
    return mknode(values[0], VERY_LARGE, dict(zip(("hostname", "zone", "region"), values)))


FIT_ONLY = kube.Profile(scheduler_name="s", filter_plugins=(new_plugin("NodeResourcesFit"),), score_plugins=())


def post_filter(pod, pods, nodes, statuses: dict[str, str], pdbs=(), args=None, offset=0, filters=None):
    p = parse_pod(pod)
    infos = build_node_infos([kube.parse_node(n) for n in nodes], [parse_pod(x) for x in pods])
    codes = {name: Status(code, ()) for name, code in statuses.items()}
    plugin = new_plugin("DefaultPreemption", args)
    filters = FIT_ONLY.filter_plugins if filters is None else filters
    return plugin.post_filter(p, infos, codes, filters, [parse_pdb(b) for b in pdbs], offset)


U, UU = UNSCHEDULABLE, UNSCHEDULABLE_AND_UNRESOLVABLE


def pdb(name: str, labels: dict, min_available: Any, allowed: int | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"selector": {"matchLabels": labels}, "minAvailable": min_available},
    }
    if allowed is not None:
        obj["status"] = {"disruptionsAllowed": allowed}
    return obj


VIOLATING = {"test.kubernetes.io/is-violating-pdb": "violating"}
NON_VIOLATING = {"test.kubernetes.io/is-violating-pdb": "non-violating"}

POST_FILTER_CASES = [
    pytest.param(
        mkpod("p", HIGH), [mkpod("p1", node="node1")], [mknode("node1", ONE_POD)], {"node1": U}, (), "node1", None,
        id="pod with higher priority can be made schedulable",
    ),
    pytest.param(
        mkpod("p"), [mkpod("p1", node="node1")], [mknode("node1", ONE_POD)], {"node1": U}, (), None,
        "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
        id="pod with tied priority is still unschedulable",
    ),
    pytest.param(
        mkpod("p", HIGH), [mkpod("p1", node="node1")], [mknode("node1", ONE_POD)], {"node1": UU}, (), None,
        "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
        id="preemption should respect filteredNodesStatuses",
    ),
    pytest.param(
        mkpod("p", HIGH), [mkpod("p1", node="node1")], [mknode("node1", ONE_POD)], {}, (), None,
        "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
        id="preemption should respect absent NodeToStatusReader entry meaning UnschedulableAndUnresolvable",
    ),
    pytest.param(
        mkpod("p", MID),
        [mkpod("p1", HIGH, "node1"), mkpod("p2", LOW, "node2")],
        [mknode("node1", ONE_POD), mknode("node2", ONE_POD)],
        {"node1": U, "node2": U}, (), "node2", None,
        id="pod can be made schedulable on one node",
    ),
    pytest.param(
        mkpod("p", VERY_HIGH),
        [
            mkpod("p1", HIGH, "node1", labels=NON_VIOLATING),
            mkpod("p2", LOW, "node1", labels=VIOLATING),
            mkpod("p3", MID, "node2", labels=VIOLATING),
        ],
        [mknode("node1", ONE_POD), mknode("node2", ONE_POD)],
        {"node1": U, "node2": U},
        (pdb("violating-pdb", VIOLATING, "100%"), pdb("non-violating-pdb", NON_VIOLATING, 0, 2**31 - 1)),
        "node2", None,
        id="pod can be made schedulable on minHighestPriority node",
    ),
    pytest.param(
        mkpod("p", HIGH, req=LARGE),
        [mkpod("p1", node="node1"), mkpod("p2", node="node2")],
        [mknode("node1", NODE_RES), mknode("node2", NODE_RES)],
        {"node1": U, "node2": U}, (), None,
        "preemption: 0/2 nodes are available: 2 Insufficient cpu.",
        id="no candidate nodes found, no enough resource after removing low priority pods",
    ),
    pytest.param(
        mkpod("p", HIGH, req=LARGE),
        [mkpod("p1", HIGH, "node1"), mkpod("p2", node="node2"), mkpod("p3", HIGH, "node3")],
        [mknode("node1", ONE_POD), mknode("node2", NODE_RES), mknode("node3", ONE_POD)],
        {"node1": U, "node2": U, "node3": U}, (), None,
        "preemption: 0/3 nodes are available: 1 Insufficient cpu, 2 No preemption victims found for incoming pod.",
        id="no candidate nodes found with mixed reasons, no lower priority pod and no enough CPU resource",
    ),
    pytest.param(
        mkpod("p", HIGH, req=LARGE),
        [mkpod("p1", node="node1"), mkpod("p2", node="node2")],
        [mknode(f"node{i}", NODE_RES) for i in range(1, 5)],
        {"node1": U, "node2": U, "node4": UU}, (), None,
        "preemption: 0/4 nodes are available: 2 Insufficient cpu, 2 Preemption is not helpful for scheduling.",
        id="no candidate nodes found with mixed reason, 2 UnschedulableAndUnresolvable nodes and 2 nodes don't have "
        "enough CPU resource",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("pod", "pods", "nodes", "statuses", "pdbs", "nominated", "message"), POST_FILTER_CASES)
def test_post_filter(pod, pods, nodes, statuses, pdbs, nominated, message) -> None:
    result = post_filter(pod, pods, nodes, statuses, pdbs)
    assert result.nominated_node == nominated
    if message is None:
        assert result.status is None and result.victims
    else:
        assert (result.status.code, result.status.message) == (UNSCHEDULABLE, message)


def test_post_filter_nominates_the_non_violating_candidate_found_past_num_candidates() -> None:
    """TestDryRunPreemption's "preemption looks past numCandidates until a non-PDB violating node is found" (below,
    in DRY_RUN_CASES), through PostFilter: the candidate without PDB violation is nominated."""
    foo = {"app": "foo"}
    pods = [
        mkpod("p1", MID, "node1", LARGE, labels=foo),
        mkpod("p2", MID, "node2", LARGE, labels=foo),
        mkpod("p3", MID, "node3", LARGE),
        mkpod("p4", MID, "node4", LARGE),
        mkpod("p5", MID, "node5", LARGE, labels=foo),
    ]
    nodes = [mknode(f"node{i}", VERY_LARGE) for i in range(1, 6)]
    budget = pdb("foo", foo, 1, allowed=0)
    del budget["spec"]["minAvailable"]
    args = {"minCandidateNodesPercentage": 40, "minCandidateNodesAbsolute": 2}
    # cycle=0 => offset=4 => node5 (yes, pdb), node1 (yes, pdb), node2 (no: the violating list is full), node3 (yes)
    result = post_filter(
        mkpod("p", HIGH, req=LARGE), pods, nodes, dict.fromkeys([f"node{i}" for i in range(1, 6)], U), [budget], args, 4
    )
    got = sorted((c.node, [v.name for v in c.victims], c.num_pdb_violations) for c in result.candidates)
    assert got == [("node1", ["p1"], 1), ("node3", ["p3"], 0), ("node5", ["p5"], 1)]
    assert result.nominated_node == "node3"


class FakeFilter(Plugin):
    """tf.FakeFilterPlugin: counts its Filter calls and answers `code` on every node (None: Success)."""

    name = "FakeFilter"
    filters = True

    def __init__(self, code: str | None = None):
        super().__init__()
        self.code, self.calls = code, 0

    def filter(self, state, pod, node):
        self.calls += 1
        return Status(self.code, (f"injecting failure for pod {pod.name}",), self.name) if self.code else None


class TrueFilter(Plugin):
    """tf.NewTrueFilterPlugin: every node passes."""

    name = "TrueFilter"
    filters = True


class FalseFilter(Plugin):
    """tf.NewFalseFilterPlugin: no node passes."""

    name = "FalseFilter"
    filters = True

    def filter(self, state, pod, node):
        return Status(U, ("Nodes failed the test predicate",), self.name)


class MatchFilter(Plugin):
    """tf.NewMatchFilterPlugin: only the node named as the pod passes."""

    name = "MatchFilter"
    filters = True

    def filter(self, state, pod, node):
        return None if pod.name == node.name else Status(U, ("Nodes failed the test predicate",), self.name)


FAKE_FILTERS = {cls.name: cls for cls in (TrueFilter, FalseFilter, MatchFilter)}
FOO = {"foo": ""}
FOO_EXISTS = {"matchExpressions": [{"key": "foo", "operator": "Exists"}]}
ANTI_FOO_ON_HOSTNAME = {  # st.PodAntiAffinityExists("foo", "hostname", st.PodAntiAffinityWithRequiredReq)
    "podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [{"labelSelector": FOO_EXISTS, "topologyKey": "hostname"}]
    }
}
SPREAD_FOO = [  # SpreadConstraint(1, "zone", DoNotSchedule, foo exists), the same over "hostname"
    {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "DoNotSchedule", "labelSelector": FOO_EXISTS}
    for key in ("zone", "hostname")
]
APP_FOO = {"app": "foo"}
LIMIT_TO_2 = {"minCandidateNodesPercentage": 40, "minCandidateNodesAbsolute": 1}


def budget_status(allowed: int, disrupted: tuple[str, ...] = ()) -> dict[str, Any]:
    """The budget of upstream's PDB cases: a selector (app=foo) and a status, no minAvailable."""
    obj = pdb("foo", APP_FOO, None, allowed)
    del obj["spec"]["minAvailable"]
    if disrupted:
        obj["status"]["disruptedPods"] = dict.fromkeys(disrupted, EPOCH)
    return obj


def same_pdb_pods(n: int) -> list[dict[str, Any]]:
    return [mkpod(f"p1.{i}", MID, "node1", MEDIUM, labels=APP_FOO) for i in range(1, n + 1)]


def mid_large_on_five(priorities: dict[int, int] | None = None, labels: dict[int, dict] | None = None) -> list[dict]:
    """p1..p5, one per node1..node5, of largeRes and midPriority unless `priorities` says otherwise."""
    return [
        mkpod(f"p{i}", (priorities or {}).get(i, MID), f"node{i}", LARGE, labels=(labels or {}).get(i))
        for i in range(1, 6)
    ]


NODES_1_2 = ["node1", "node2"]
NODES_1_5 = [f"node{i}" for i in range(1, 6)]
TWO_MID = [mkpod("p1", MID, "node1"), mkpod("p2", MID, "node2")]
TWO_MID_LARGE = [mkpod("p1", MID, "node1", LARGE), mkpod("p2", MID, "node2", LARGE)]
HIGH_LARGE = mkpod("p", HIGH, req=LARGE)
ANY = None  # every offset: all nodes are dry-run (numCandidates covers them), so the start does not matter

# (filter plugins after FakeFilter, FakeFilter's code, nodes, running pods, budgets, args,
#  cycles: [(preemptor, offset, candidates as (node, victims by name, PDB violations), Filter calls counted)])
DRY_RUN_CASES = [
    pytest.param(
        ("FalseFilter",), None, NODES_1_2, TWO_MID, (), None, [(mkpod("p", HIGH), ANY, [], 2)],
        id="a pod that does not fit on any node",
    ),
    pytest.param(
        ("TrueFilter",), U, NODES_1_2, TWO_MID, (), None, [(mkpod("p", HIGH), ANY, [], 2)],
        id="a pod that fits with no preemption",
    ),
    pytest.param(
        ("MatchFilter",), U, NODES_1_2, TWO_MID, (), None, [(mkpod("node1", HIGH), ANY, [], 2)],
        id="a pod that fits on one node with no preemption",
    ),
    pytest.param(
        ("NodeResourcesFit",), None, NODES_1_2, TWO_MID_LARGE, (), None,
        [(HIGH_LARGE, ANY, [("node1", ["p1"], 0), ("node2", ["p2"], 0)], 4)],
        id="a pod that fits on both nodes when lower priority pods are preempted",
    ),
    pytest.param(
        ("NodeResourcesFit",), None, NODES_1_2, TWO_MID_LARGE, (), None,
        [(mkpod("p", LOW, req=LARGE), ANY, [], 0)],
        id="a pod that would fit on the nodes, but other pods running are higher priority, no preemption would "
        "happen",
    ),
    pytest.param(
        ("NodeResourcesFit",), None, NODES_1_2,
        [mkpod("p1.1", LOW, "node1", SMALL), mkpod("p1.2", MID, "node1", LARGE), mkpod("p2", MID, "node2", LARGE)],
        (), None, [(HIGH_LARGE, ANY, [("node1", ["p1.2"], 0), ("node2", ["p2"], 0)], 5)],
        id="medium priority pod is preempted, but lower priority one stays as it is small",
    ),
    pytest.param(
        ("NodeResourcesFit",), None, NODES_1_2,
        [
            mkpod("p1.1", MID, "node1", SMALL), mkpod("p1.2", LOW, "node1", SMALL),
            mkpod("p1.3", MID, "node1", MEDIUM), mkpod("p1.4", HIGH, "node1", SMALL),
            mkpod("p2", HIGH, "node2", LARGE),
        ],
        (), None, [(HIGH_LARGE, ANY, [("node1", ["p1.2", "p1.3"], 0)], 4)],
        id="mixed priority pods are preempted",
    ),
    pytest.param(
        ("NodeResourcesFit",), None, NODES_1_2,
        [
            mkpod("p1.1", LOW, "node1", SMALL, t(5)), mkpod("p1.2", LOW, "node1", SMALL, t(4)),
            mkpod("p1.3", MID, "node1", MEDIUM, t(3)), mkpod("p1.4", HIGH, "node1", SMALL, t(2)),
            mkpod("p2", HIGH, "node2", LARGE, t(1)),
        ],
        (), None, [(HIGH_LARGE, ANY, [("node1", ["p1.1", "p1.3"], 0)], 4)],
        id="mixed priority pods are preempted, pick later StartTime one when priorities are equal",
    ),
    pytest.param(
        ("NodeResourcesFit", "InterPodAffinity"), None, NODES_1_2,
        [
            mkpod("p1.1", LOW, "node1", SMALL, labels=FOO, affinity=ANTI_FOO_ON_HOSTNAME),
            mkpod("p1.2", MID, "node1", SMALL), mkpod("p1.3", HIGH, "node1", SMALL),
            mkpod("p2", HIGH, "node2", SMALL),
        ],
        (), None, [(mkpod("p", HIGH, req=SMALL, labels=FOO), ANY, [("node1", ["p1.1"], 0)], 3)],
        id="pod with anti-affinity is preempted",
    ),
    pytest.param(
        ("PodTopologySpread",), None, ["node-a/zone1", "node-b/zone1", "node-x/zone2"],
        [
            mkpod("pod-a1", MID, "node-a", labels=FOO), mkpod("pod-a2", LOW, "node-a", labels=FOO),
            mkpod("pod-b1", LOW, "node-b", labels=FOO),
            mkpod("pod-x1", HIGH, "node-x", labels=FOO), mkpod("pod-x2", HIGH, "node-x", labels=FOO),
        ],
        (), None,
        [(
            mkpod("p", HIGH, labels=FOO, topologySpreadConstraints=SPREAD_FOO), ANY,
            [("node-a", ["pod-a2"], 0), ("node-b", ["pod-b1"], 0)], 5,  # node-a (3), node-b (2), node-x (0)
        )],
        id="preemption to resolve pod topology spread filter failure",
    ),
    pytest.param(
        ("NodeResourcesFit",), U, NODES_1_2, TWO_MID_LARGE, (), None, [(HIGH_LARGE, ANY, [], 2)],
        id="get Unschedulable in the preemption phase when the filter plugins filtering the nodes",
    ),
    pytest.param(
        ("NodeResourcesFit",), None, ["node1"], same_pdb_pods(2), (budget_status(1),), None,
        [(mkpod("p", HIGH, req=VERY_LARGE), ANY, [("node1", ["p1.1", "p1.2"], 1)], 3)],
        id="preemption with violation of same pdb",
    ),
    pytest.param(
        ("NodeResourcesFit",), None, ["node1"], same_pdb_pods(2), (budget_status(1, ("p2",)),), None,
        [(mkpod("p", HIGH, req=VERY_LARGE), ANY, [("node1", ["p1.1", "p1.2"], 1)], 3)],
        id="preemption with violation of the pdb with pod whose eviction was processed, the victim doesn't belong "
        "to DisruptedPods",
    ),
    pytest.param(
        ("NodeResourcesFit",), None, ["node1"], same_pdb_pods(2), (budget_status(1, ("p1.2",)),), None,
        [(mkpod("p", HIGH, req=VERY_LARGE), ANY, [("node1", ["p1.1", "p1.2"], 0)], 3)],
        id="preemption with violation of the pdb with pod whose eviction was processed, the victim belongs to "
        "DisruptedPods",
    ),
    pytest.param(
        ("NodeResourcesFit",), None, ["node1"], same_pdb_pods(3), (budget_status(1, ("p1.3",)),), None,
        [(mkpod("p", HIGH, req=VERY_LARGE), ANY, [("node1", ["p1.1", "p1.2", "p1.3"], 1)], 4)],
        id="preemption with violation of the pdb with pod whose eviction was processed, the victim which belongs "
        "to DisruptedPods is treated as 'nonViolating'",
    ),
    pytest.param(
        ("NodeResourcesFit",), None, NODES_1_5, mid_large_on_five(), (), LIMIT_TO_2,
        [(HIGH_LARGE, 4, [("node1", ["p1"], 0), ("node5", ["p5"], 0)], 4)],  # node5 (yes), node1 (yes)
        id="all nodes are possible candidates, but DefaultPreemptionArgs limits to 2",
    ),
    pytest.param(
        ("NodeResourcesFit",), None, NODES_1_5, mid_large_on_five({2: VERY_HIGH, 5: VERY_HIGH}), (), LIMIT_TO_2,
        # node5 (no), node1 (yes), node2 (no), node3 (yes)
        [(HIGH_LARGE, 4, [("node1", ["p1"], 0), ("node3", ["p3"], 0)], 4)],
        id="some nodes are not possible candidates, DefaultPreemptionArgs limits to 2",
    ),
    pytest.param(
        ("NodeResourcesFit",), None, NODES_1_5, mid_large_on_five(), (), LIMIT_TO_2,
        [  # rand.NewSource(4).Int31n(5) draws 4, 1, 3
            (mkpod("tp1", HIGH, req=LARGE), 4, [("node1", ["p1"], 0), ("node5", ["p5"], 0)], 4),
            (mkpod("tp2", HIGH, req=LARGE), 1, [("node2", ["p2"], 0), ("node3", ["p3"], 0)], 4),
            (mkpod("tp3", HIGH, req=LARGE), 3, [("node4", ["p4"], 0), ("node5", ["p5"], 0)], 4),
        ],
        id="preemption offset across multiple scheduling cycles and wrap around",
    ),
    pytest.param(
        ("NodeResourcesFit",), None, NODES_1_5, mid_large_on_five(labels={1: APP_FOO, 2: APP_FOO, 5: APP_FOO}),
        (budget_status(0),), {"minCandidateNodesPercentage": 40, "minCandidateNodesAbsolute": 2},
        # node5 (yes, pdb), node1 (yes, pdb), node2 (no, pdb), node3 (yes)
        [(HIGH_LARGE, 4, [("node1", ["p1"], 1), ("node3", ["p3"], 0), ("node5", ["p5"], 1)], 8)],
        id="preemption looks past numCandidates until a non-PDB violating node is found",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("plugins", "fake_code", "node_names", "pods", "pdbs", "args", "cycles"), DRY_RUN_CASES)
def test_dry_run_preemption(plugins, fake_code, node_names, pods, pdbs, args, cycles) -> None:
    nodes = [topology_node(n) for n in node_names]
    statuses = {n["metadata"]["name"]: U for n in nodes}
    for preemptor, offset, expected, num_filter_called in cycles:
        for start in range(len(nodes)) if offset is ANY else (offset,):
            counter = FakeFilter(fake_code)
            filters = [counter, *(FAKE_FILTERS[n]() if n in FAKE_FILTERS else new_plugin(n) for n in plugins)]
            result = post_filter(preemptor, pods, nodes, statuses, pdbs, args, start, filters)
            got = sorted((c.node, sorted(v.name for v in c.victims), c.num_pdb_violations) for c in result.candidates)
            assert got == expected
            assert counter.calls == num_filter_called


SELECT_CASES = [
    pytest.param(
        mkpod("p", HIGH, req=LARGE), 2,
        [mkpod("p1", MID, "node1", LARGE, EPOCH), mkpod("p2", MID, "node2", LARGE, EPOCH)],
        ["node1", "node2"],
        id="a pod that fits on both nodes when lower priority pods are preempted",
    ),
    pytest.param(
        mkpod("p", HIGH, req=VERY_LARGE), 3,
        [
            mkpod("p1.1", MID, "node1", MEDIUM, EPOCH), mkpod("p1.2", MID, "node1", LARGE, EPOCH),
            mkpod("p2.1", MID, "node2", MEDIUM, EPOCH), mkpod("p2.2", LOW, "node2", MEDIUM, EPOCH),
            mkpod("p3.1", LOW, "node3", MEDIUM, EPOCH), mkpod("p3.2", LOW, "node3", MEDIUM, EPOCH),
        ],
        ["node3"],
        id="node with min highest priority pod is picked",
    ),
    pytest.param(
        mkpod("p", HIGH, req=VERY_LARGE), 3,
        [
            mkpod("p1.1", MID, "node1", MEDIUM, EPOCH), mkpod("p1.2", MID, "node1", LARGE, EPOCH),
            mkpod("p2.1", MID, "node2", LARGE, EPOCH), mkpod("p2.2", LOW, "node2", MEDIUM, EPOCH),
            mkpod("p3.1", MID, "node3", MEDIUM, EPOCH), mkpod("p3.2", MID, "node3", MEDIUM, EPOCH),
        ],
        ["node2"],
        id="when highest priorities are the same, minimum sum of priorities is picked",
    ),
    pytest.param(
        mkpod("p", HIGH, req=VERY_LARGE), 3,
        [
            mkpod("p1.1", MID, "node1", SMALL, EPOCH), mkpod("p1.2", NEG, "node1", SMALL, EPOCH),
            mkpod("p1.3", MID, "node1", SMALL, EPOCH), mkpod("p1.4", NEG, "node1", SMALL, EPOCH),
            mkpod("p2.1", MID, "node2", LARGE, EPOCH), mkpod("p2.2", NEG, "node2", MEDIUM, EPOCH),
            mkpod("p3.1", MID, "node3", MEDIUM, EPOCH), mkpod("p3.2", NEG, "node3", SMALL, EPOCH),
            mkpod("p3.3", LOW, "node3", SMALL, EPOCH),
        ],
        ["node2"],
        id="when highest priority and sum are the same, minimum number of pods is picked",
    ),
    pytest.param(
        mkpod("p", HIGH, req=VERY_LARGE), 3,
        [
            mkpod("p1.1", MID, "node1", SMALL, EPOCH), mkpod("p1.2", NEG, "node1", SMALL, EPOCH),
            mkpod("p1.3", NEG, "node1", SMALL, EPOCH),
            mkpod("p2.1", MID, "node2", LARGE, EPOCH), mkpod("p2.2", NEG, "node2", MEDIUM, EPOCH),
            mkpod("p3.1", MID, "node3", MEDIUM, EPOCH), mkpod("p3.2", NEG, "node3", SMALL, EPOCH),
            mkpod("p3.3", LOW, "node3", SMALL, EPOCH),
        ],
        ["node2"],
        id="sum of adjusted priorities is considered",
    ),
    pytest.param(
        mkpod("p", VERY_HIGH, req=VERY_LARGE), 4,
        [
            mkpod("p1.1", MID, "node1", SMALL, EPOCH), mkpod("p1.2", LOW, "node1", SMALL, EPOCH),
            mkpod("p1.3", LOW, "node1", SMALL, EPOCH),
            mkpod("p2.1", HIGH, "node2", LARGE, EPOCH),
            mkpod("p3.1", MID, "node3", MEDIUM, EPOCH), mkpod("p3.2", LOW, "node3", SMALL, EPOCH),
            mkpod("p3.3", LOW, "node3", SMALL, EPOCH), mkpod("p3.4", LOW, "node3", MEDIUM, EPOCH),
            mkpod("p4.1", MID, "node4", MEDIUM, EPOCH), mkpod("p4.2", MID, "node4", SMALL, EPOCH),
            mkpod("p4.3", MID, "node4", SMALL, EPOCH), mkpod("p4.4", NEG, "node4", SMALL, EPOCH),
        ],
        ["node1"],
        id="non-overlapping lowest high priority, sum priorities, and number of pods",
    ),
    pytest.param(
        mkpod("p", HIGH, req=VERY_LARGE), 3,
        [
            mkpod("p1.1", MID, "node1", MEDIUM, t(2)), mkpod("p1.2", MID, "node1", MEDIUM, t(2)),
            mkpod("p2.1", MID, "node2", MEDIUM, t(3)), mkpod("p2.2", MID, "node2", MEDIUM, t(3)),
            mkpod("p3.1", MID, "node3", MEDIUM, t(1)), mkpod("p3.2", MID, "node3", MEDIUM, t(1)),
        ],
        ["node2"],
        id="same priority, same number of victims, different start time for each node's pod",
    ),
    pytest.param(
        mkpod("p", HIGH, req=VERY_LARGE), 3,
        [
            mkpod("p1.1", MID, "node1", MEDIUM, t(4)), mkpod("p1.2", MID, "node1", MEDIUM, t(2)),
            mkpod("p2.1", MID, "node2", MEDIUM, t(5)), mkpod("p2.2", MID, "node2", MEDIUM, t(1)),
            mkpod("p3.1", MID, "node3", MEDIUM, t(3)), mkpod("p3.2", MID, "node3", MEDIUM, t(6)),
        ],
        ["node3"],
        id="same priority, same number of victims, different start time for all pods",
    ),
    pytest.param(
        mkpod("p", HIGH, req=VERY_LARGE), 3,
        [
            mkpod("p1.1", LOW, "node1", MEDIUM, t(4)), mkpod("p1.2", MID, "node1", MEDIUM, t(2)),
            mkpod("p2.1", MID, "node2", MEDIUM, t(6)), mkpod("p2.2", LOW, "node2", MEDIUM, t(1)),
            mkpod("p3.1", LOW, "node3", MEDIUM, t(3)), mkpod("p3.2", MID, "node3", MEDIUM, t(5)),
        ],
        ["node2"],
        id="different priority, same number of victims, different start time for all pods",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("pod", "num_nodes", "pods", "expected"), SELECT_CASES)
def test_select_best_candidate(pod, num_nodes, pods, expected) -> None:
    nodes = [mknode(f"node{i}", VERY_LARGE) for i in range(1, num_nodes + 1)]
    for offset in range(num_nodes):  # whatever node the dry run starts at
        result = post_filter(pod, pods, nodes, {n["metadata"]["name"]: U for n in nodes}, offset=offset)
        assert result.nominated_node in expected


def terminating(pod: dict, victim: bool) -> dict:
    pod["metadata"]["deletionTimestamp"] = EPOCH
    if victim:
        pod["status"]["conditions"] = [
            {"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler"}
        ]
    return pod


@pytest.mark.parametrize(
    ("pod", "pods", "nodes", "nominated_status", "expected"),
    [
        pytest.param(
            mkpod("p_with_nominated_node", HIGH, status_nominated="node1"),
            [terminating(mkpod("p1", LOW, "node1"), victim=False)], ["node1"], UU, True,
            id="Pod with nominated node",
        ),
        pytest.param(mkpod("p_without_nominated_node", HIGH), [], [], None, True, id="Pod without nominated node"),
        pytest.param(
            mkpod("p_with_preempt_never_policy", HIGH, preemptionPolicy="Never"), [], [], None, False,
            id="Pod with 'PreemptNever' preemption policy",
        ),
        pytest.param(
            mkpod("p_with_nominated_node", HIGH, status_nominated="node1"),
            [terminating(mkpod("p1", LOW, "node1"), victim=True)], ["node1"], None, False,
            id="preemption victim pod terminating, as indicated by the dedicated DisruptionTarget condition",
        ),
        pytest.param(
            mkpod("p_with_nominated_node", HIGH, status_nominated="node1"),
            [terminating(mkpod("p1", LOW, "node1"), victim=False)], ["node1"], None, True,
            id="non-victim Pods terminating",
        ),
    ],
)  # fmt: skip
def test_pod_eligible_to_preempt_others(pod, pods, nodes, nominated_status, expected) -> None:
    nominated = pod["spec"].pop("status_nominated", None)
    if nominated:
        pod["status"]["nominatedNodeName"] = nominated
    infos = build_node_infos([kube.parse_node(mknode(n)) for n in nodes], [parse_pod(p) for p in pods])
    statuses = {"node1": Status(nominated_status, ())} if nominated_status else {}
    plugin = new_plugin("DefaultPreemption")
    eligible, _ = plugin.pod_eligible_to_preempt_others(parse_pod(pod), infos, statuses)
    assert eligible is expected


PREEMPT_PODS = [
    mkpod("p1.1", LOW, "node1", SMALL),
    mkpod("p1.2", LOW, "node1", SMALL),
    mkpod("p2.1", HIGH, "node2", LARGE),
    mkpod("p3.1", MID, "node3", MEDIUM),
]


@pytest.mark.parametrize(
    ("policy", "nominated", "victims"),
    [
        pytest.param("PreemptLowerPriority", "node1", ["p1.1", "p1.2"], id="basic preemption logic"),
        pytest.param("Never", None, [], id="no preempting in pod"),
        pytest.param(None, "node1", ["p1.1", "p1.2"], id="PreemptionPolicy is nil"),
    ],
)
def test_preempt(policy: str | None, nominated: str | None, victims: list[str]) -> None:
    extra = {"preemptionPolicy": policy} if policy else {}
    pod = mkpod("p", HIGH, req=VERY_LARGE, **extra)
    nodes = [mknode(f"node{i}", VERY_LARGE) for i in (1, 2, 3)]
    result = kube.preempt(pod, nodes, PREEMPT_PODS, profile=FIT_ONLY)
    assert result.nominated_node == nominated
    assert sorted(v.name for v in result.victims) == victims
    if policy == "Never":
        assert result.status.message == "preemption: not eligible due to preemptionPolicy=Never."


def test_preemption_for_topology_spread_constraints() -> None:
    """TestPreempt's topology-spread case, after a real Filter pass (every node fails the spread, Unschedulable)."""
    pods = [
        mkpod("p-a1", HIGH, "node-a", labels=FOO), mkpod("p-a2", HIGH, "node-a", labels=FOO),
        mkpod("p-b1", LOW, "node-b", labels=FOO),
        mkpod("p-x1", HIGH, "node-x", labels=FOO), mkpod("p-x2", HIGH, "node-x", labels=FOO),
    ]  # fmt: skip
    nodes = [topology_node(n) for n in ("node-a/zone1", "node-b/zone1", "node-x/zone2")]
    pod = mkpod("p", HIGH, labels=FOO, topologySpreadConstraints=SPREAD_FOO)
    profile = kube.Profile(scheduler_name="s", filter_plugins=(new_plugin("PodTopologySpread"),), score_plugins=())
    for offset in range(len(nodes)):
        result = kube.preempt(pod, nodes, pods, profile=profile, offset=offset)
        assert (result.nominated_node, [v.name for v in result.victims]) == ("node-b", ["p-b1"])


def test_fit_error_carries_the_preemption_verdict_unless_the_profile_disables_it() -> None:
    pods = [mkpod("p1", HIGH, "node1", LARGE)]
    pod = mkpod("p", HIGH, req=VERY_LARGE)
    nodes = [mknode("node1", VERY_LARGE)]
    assert kube.fit_error(pod, nodes, pods) == (
        "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory. "
        "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.."
    )
    config = {
        "apiVersion": "kubescheduler.config.k8s.io/v1",
        "kind": "KubeSchedulerConfiguration",
        "profiles": [{"plugins": {"postFilter": {"disabled": [{"name": "DefaultPreemption"}]}}}],
    }
    (profile,) = kube.parse_configuration(config)
    assert profile.preemption is None
    assert kube.fit_error(pod, nodes, pods, profile=profile) == (
        "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory."
    )
