"""Cases from kubernetes/kubernetes (v1.35 era, `fwk "k8s.io/kube-scheduler/framework"`):

* pkg/scheduler/framework/plugins/podtopologyspread/filtering_test.go @ 01c2588bf4a3 (TestSingleConstraint,
  TestMultipleConstraints: the status code of Filter on every node)
* pkg/scheduler/framework/plugins/podtopologyspread/scoring_test.go (TestPodTopologySpreadScore: final scores)

Each case runs the plugin at the object level (envs.kube) and vectorised (envs.scheduling over a ClusterState): both
must give the same statuses and scores (spread_helpers).

Upstream behaviour pinned here:

* Filter (DoNotSchedule constraints): a node without a constraint's topology key is UnschedulableAndUnresolvable,
  "node(s) didn't match pod topology spread constraints (missing required label)"; otherwise
  matchNum(domain) + selfMatch - minMatchNum > maxSkew is Unschedulable, "node(s) didn't match pod topology spread
  constraints". Counting (PreFilter) covers the nodes that have every constraint's key and pass the inclusion
  policies (nodeAffinityPolicy Honor by default: the pod's nodeSelector/required node affinity; nodeTaintsPolicy
  Ignore by default); pods of other namespaces and terminating pods do not count; with fewer domains than
  minDomains the global minimum is 0.
* Score (ScheduleAnyway constraints, or the System defaults): per node sum of cnt * ln(domains + 2) + maxSkew - 1,
  rounded; NormalizeScore 100 * (max + min - s) / max, ignored nodes (missing a key) 0.

Deviations: the upstream tests run with DefaultingType List (no default constraints), as here. Upstream toggles
enableNodeInclusionPolicy per case; podgym runs v1.35's default (on), and only cases whose outcome is the same
under it are kept (all of those read: the "in real case" comments of the Filter cases hold either way).

Left out: TestPreFilterState and TestPreFilterStateAddPod/RemovePod (they compare the internal preFilterState and
preemption's AddPod/RemovePod, which podgym does not implement; two of TestPreFilterState's counting cases are
checked through Filter instead); TestSingleConstraint's and TestMultipleConstraints' cases after those listed here;
the scoring cases "two Constraints on zone and node, 2 out of 4 nodes are candidates" and the one after it (not
read), "minDomains has no effect when ScheduleAnyway" (the API server, and podgym's parser, refuse minDomains with
ScheduleAnyway), "matchLabelKeys ignored when feature gate disabled" (the gate is on in v1.35) and the matchLabelKeys
cases after it (not read); the queueing-hint tests (isSchedulableAfter*); benchmarks.
"""

from __future__ import annotations

import pytest

from tests.kube.upstream.spread_helpers import (
    SUCCESS,
    exists,
    filter_codes,
    filter_messages,
    make_node,
    make_pod,
    scores,
)
from tests.kube.upstream.spread_helpers import spread as c

U, UU, S = "Unschedulable", "UnschedulableAndUnresolvable", SUCCESS
PTS = "PodTopologySpread"
LIST = {"defaultingType": "List"}
FOO = exists("foo")
BAR = exists("bar")
DNS = "DoNotSchedule"
TAINTS = [{"key": "node.kubernetes.io/unschedulable", "value": "", "effect": "NoSchedule"}]


def zone_nodes(*names_zones):
    return [make_node(n, {"zone": z, "node": n}) for n, z in names_zones]


ABXY = zone_nodes(("node-a", "zone1"), ("node-b", "zone1"), ("node-x", "zone2"), ("node-y", "zone2"))


def pods_on(*spec, labels=None):
    """Existing pods named p-<node letter><i>, each labelled foo."""
    out = []
    for node_name, count in spec:
        for i in range(count):
            out.append(make_pod(f"p-{node_name[-1]}{i + 1}", labels or {"foo": ""}, node=node_name))
    return out


SINGLE = [
    pytest.param(
        make_pod("p", {"foo": ""}, spread=[c(1, "zone", DNS, FOO)]),
        ABXY,
        pods_on(("node-a", 2), ("node-b", 1), ("node-y", 3)),
        {"node-a": S, "node-b": S, "node-x": S, "node-y": S},
        id="pods spread across zones as 3/3, all nodes fit",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}, spread=[c(1, "zone", DNS, FOO)]),
        [
            make_node("node-a", {"zone": "zone1", "node": "node-a"}),
            make_node("node-b", {"zon": "zone1", "node": "node-b"}),
            make_node("node-x", {"zone": "zone2", "node": "node-x"}),
            make_node("node-y", {"zone": "zone2", "node": "node-y"}),
        ],
        pods_on(("node-a", 1), ("node-b", 1), ("node-x", 1), ("node-y", 1)),
        {"node-a": S, "node-b": UU, "node-x": U, "node-y": U},
        id="pods spread across zones as 1/2 due to absence of label 'zone' on node-b",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}, spread=[c(1, "rack", DNS, FOO)]),
        zone_nodes(("node-a", "zone1"), ("node-x", "zone2")),
        [],
        {"node-a": UU, "node-x": UU},
        id="pod cannot be scheduled as all nodes don't have label 'rack'",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}, spread=[c(1, "node", DNS, FOO)]),
        ABXY,
        pods_on(("node-a", 2), ("node-b", 1), ("node-y", 3)),
        {"node-a": U, "node-b": U, "node-x": S, "node-y": U},
        id="pods spread across nodes as 2/1/0/3, only node-x fits",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}, spread=[c(2, "node", DNS, FOO)]),
        ABXY,
        pods_on(("node-a", 2), ("node-b", 1), ("node-y", 3)),
        {"node-a": U, "node-b": S, "node-x": S, "node-y": U},
        id="pods spread across nodes as 2/1/0/3, maxSkew is 2, node-b and node-x fit",
    ),
    pytest.param(
        make_pod("p", {"bar": ""}, spread=[c(1, "node", DNS, FOO)]),
        ABXY,
        pods_on(("node-a", 2), ("node-b", 1), ("node-y", 3)),
        {"node-a": U, "node-b": S, "node-x": S, "node-y": U},
        id="pods spread across nodes as 2/1/0/3, but pod doesn't match itself",
    ),
    pytest.param(
        make_pod(
            "p",
            {"foo": ""},
            spread=[c(1, "node", DNS, FOO)],
            affinity={
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {"matchExpressions": [{"key": "node", "operator": "In", "values": ["node-a", "node-y"]}]}
                        ]
                    }
                }
            },
        ),
        ABXY,
        pods_on(("node-a", 2), ("node-b", 1), ("node-y", 3)),
        {"node-a": S, "node-b": S, "node-x": S, "node-y": U},
        id="incoming pod has nodeAffinity, pods spread as 2/~1~/~0~/3, hence node-a fits",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}, spread=[c(1, "node", DNS, FOO)]),
        [make_node("node-a", {"node": "node-a"}), make_node("node-b", {"node": "node-b"})],
        [
            make_pod("p-a", {"foo": ""}, node="node-a", terminating=True),
            make_pod("p-b", {"foo": ""}, node="node-b"),
        ],
        {"node-a": S, "node-b": U},
        id="terminating Pods should be excluded",
    ),
    pytest.param(
        make_pod(
            "p",
            {"foo": ""},
            spread=[c(1, "zone", DNS, FOO)],
            affinity={
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {"matchExpressions": [{"key": "node", "operator": "NotIn", "values": ["node-b"]}]}
                        ]
                    }
                }
            },
        ),
        ABXY,
        [make_pod(n, {"foo": ""}, node=at) for n, at in (("p-b1", "node-b"), ("p-b2", "node-b"), ("p-y1", "node-y"))],
        {"node-a": S, "node-b": S, "node-x": U, "node-y": U},
        id="incoming pod has nodeAffinity, pods spread as 0/~2~/0/1, hence node-a fits",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}, spread=[c(2, "node", DNS, FOO, 4)]),
        [make_node(n, {"node": n}) for n in ("node-a", "node-b", "node-c")],
        pods_on(("node-a", 2), ("node-b", 2), ("node-c", 1)),
        {"node-a": U, "node-b": U, "node-c": S},
        id="pods spread across nodes as 2/2/1, maxSkew is 2, and the number of domains < minDomains",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}, spread=[c(2, "node", DNS, FOO, 2)]),
        [make_node(n, {"node": n}) for n in ("node-a", "node-b", "node-c")],
        pods_on(("node-a", 2), ("node-b", 2), ("node-c", 1)),
        {"node-a": S, "node-b": S, "node-c": S},
        id="pods spread across nodes as 2/2/1, maxSkew is 2, and the number of domains > minDomains",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}, spread=[c(2, "zone", DNS, FOO, 3)]),
        ABXY,
        [make_pod(n, {"foo": ""}, node=at) for n, at in (("p-b1", "node-a"), ("p-b2", "node-b"), ("p-y1", "node-y"))],
        {"node-a": U, "node-b": U, "node-x": S, "node-y": S},
        id="pods spread across zone as 2/1, maxSkew is 2 and the number of domains < minDomains",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}, spread=[c(2, "zone", DNS, FOO, 1)]),
        ABXY,
        [make_pod(n, {"foo": ""}, node=at) for n, at in (("p-b1", "node-a"), ("p-b2", "node-b"), ("p-y1", "node-y"))],
        {"node-a": S, "node-b": S, "node-x": S, "node-y": S},
        id="pods spread across zone as 2/1, maxSkew is 2 and the number of domains > minDomains",
    ),
]

POLICY_NODES = [
    make_node("node-a", {"node": "node-a", "foo": ""}),
    make_node("node-b", {"node": "node-b", "foo": ""}),
    make_node("node-x", {"node": "node-x", "foo": ""}),
    make_node("node-y", {"node": "node-y"}),
]
TAINT_NODES = [*POLICY_NODES[:3], make_node("node-y", {"node": "node-y"}, taints=TAINTS)]
POLICY_PODS = [
    make_pod(n, {"foo": ""}, node=at) for n, at in (("p-b1", "node-a"), ("p-b2", "node-b"), ("p-y1", "node-y"))
]
FOO_AFFINITY = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": "foo", "operator": "In", "values": [""]}]}]
        }
    }
}
SINGLE += [
    pytest.param(
        make_pod("p", {"foo": ""}, node_selector={"foo": ""}, spread=[c(1, "node", DNS, FOO)]),
        POLICY_NODES,
        POLICY_PODS,
        {"node-a": U, "node-b": U, "node-x": S, "node-y": S},
        id="NodeAffinityPolicy honored with labelSelectors",
    ),
    pytest.param(
        make_pod(
            "p", {"foo": ""}, node_selector={"foo": ""}, spread=[c(1, "node", DNS, FOO, nodeAffinityPolicy="Ignore")]
        ),
        POLICY_NODES,
        POLICY_PODS,
        {"node-a": U, "node-b": U, "node-x": S, "node-y": U},
        id="NodeAffinityPolicy ignored with labelSelectors",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}, affinity=FOO_AFFINITY, spread=[c(1, "node", DNS, FOO)]),
        POLICY_NODES,
        POLICY_PODS,
        {"node-a": U, "node-b": U, "node-x": S, "node-y": S},
        id="NodeAffinityPolicy honored with nodeAffinity",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}, affinity=FOO_AFFINITY, spread=[c(1, "node", DNS, FOO, nodeAffinityPolicy="Ignore")]),
        POLICY_NODES,
        POLICY_PODS,
        {"node-a": U, "node-b": U, "node-x": S, "node-y": U},
        id="NodeAffinityPolicy ignored with nodeAffinity",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}, spread=[c(1, "node", DNS, FOO, nodeTaintsPolicy="Honor")]),
        TAINT_NODES,
        POLICY_PODS,
        {"node-a": U, "node-b": U, "node-x": S, "node-y": S},
        id="NodeTaintsPolicy honored",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}, spread=[c(1, "node", DNS, FOO)]),
        TAINT_NODES,
        POLICY_PODS,
        {"node-a": U, "node-b": U, "node-x": S, "node-y": U},
        id="NodeTaintsPolicy ignored",
    ),
]


@pytest.mark.parametrize(("pending", "nodes", "existing", "want"), SINGLE)
def test_single_constraint(pending, nodes, existing, want):
    assert filter_codes(PTS, pending, nodes, existing, LIST) == want


MULTIPLE = [
    pytest.param(
        make_pod("p", {"foo": ""}, spread=[c(1, "zone", DNS, FOO), c(1, "node", DNS, FOO)]),
        ABXY,
        pods_on(("node-a", 2), ("node-b", 1), ("node-y", 3)),
        {"node-a": U, "node-b": U, "node-x": S, "node-y": U},
        id="two Constraints on zone and node, spreads = [3/3, 2/1/0/3]",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}, spread=[c(1, "zone", DNS, FOO), c(1, "node", DNS, FOO)]),
        ABXY,
        pods_on(("node-a", 2), ("node-b", 1), ("node-y", 4)),
        {"node-a": U, "node-b": U, "node-x": U, "node-y": U},
        id="two Constraints on zone and node, spreads = [3/4, 2/1/0/4]",
    ),
    pytest.param(
        make_pod("p", {"foo": "", "bar": ""}, spread=[c(1, "zone", DNS, FOO), c(1, "node", DNS, BAR)]),
        ABXY,
        [make_pod("p-a1", {"foo": ""}, node="node-a"), make_pod("p-y1", {"bar": ""}, node="node-y")],
        {"node-a": U, "node-b": U, "node-x": S, "node-y": U},
        id="Constraints hold different labelSelectors, spreads = [1/0, 1/0/0/1]",
    ),
    pytest.param(
        make_pod("p", {"foo": "", "bar": ""}, spread=[c(1, "zone", DNS, FOO), c(1, "node", DNS, BAR)]),
        ABXY,
        [
            make_pod("p-a1", {"foo": ""}, node="node-a"),
            make_pod("p-x1", {"bar": ""}, node="node-x"),
            make_pod("p-y1", {"bar": ""}, node="node-y"),
        ],
        {"node-a": U, "node-b": U, "node-x": U, "node-y": U},
        id="Constraints hold different labelSelectors, spreads = [1/0, 0/0/1/1]",
    ),
    pytest.param(
        make_pod("p", {"foo": "", "bar": ""}, spread=[c(1, "zone", DNS, FOO), c(1, "node", DNS, BAR)]),
        ABXY,
        [
            make_pod("p-a1", {"foo": ""}, node="node-a"),
            make_pod("p-a2", {"foo": "", "bar": ""}, node="node-a"),
            make_pod("p-y1", {"foo": ""}, node="node-y"),
            make_pod("p-y2", {"foo": "", "bar": ""}, node="node-y"),
            make_pod("p-y3", {"foo": ""}, node="node-y"),
        ],
        {"node-a": U, "node-b": S, "node-x": U, "node-y": U},
        id="Constraints hold different labelSelectors, spreads = [2/3, 1/0/0/1]",
    ),
    pytest.param(
        make_pod("p", {"bar": ""}, spread=[c(1, "zone", DNS, FOO), c(1, "node", DNS, BAR)]),
        ABXY,
        [
            make_pod("p-a1", {"foo": ""}, node="node-a"),
            make_pod("p-x1", {"bar": ""}, node="node-x"),
            make_pod("p-y1", {"bar": ""}, node="node-y"),
        ],
        {"node-a": S, "node-b": S, "node-x": U, "node-y": U},
        id="Constraints hold different labelSelectors but pod doesn't match itself on 'zone' constraint",
    ),
]


@pytest.mark.parametrize(("pending", "nodes", "existing", "want"), MULTIPLE)
def test_multiple_constraints(pending, nodes, existing, want):
    assert filter_codes(PTS, pending, nodes, existing, LIST) == want


def test_reasons_are_upstream_strings():
    pending = make_pod("p", {"foo": ""}, spread=[c(1, "zone", DNS, FOO)])
    nodes = [make_node("node-a", {"zone": "zone1"}), make_node("node-b", {}), make_node("node-x", {"zone": "zone2"})]
    got = filter_messages(PTS, pending, nodes, pods_on(("node-a", 1)), LIST)
    assert got == {
        "node-a": "node(s) didn't match pod topology spread constraints",
        "node-b": "node(s) didn't match pod topology spread constraints (missing required label)",
        "node-x": None,
    }


def test_namespace_mismatch_doesnt_count():
    """TestPreFilterState "namespace mismatch doesn't count": zone1 counts 2 (not 3), zone2 counts 1 (not 2)."""
    pending = make_pod("p", {"foo": ""}, spread=[c(1, "zone", DNS, FOO)])
    existing = [
        make_pod("p-a1", {"foo": ""}, node="node-a"),
        make_pod("p-a2", {"foo": ""}, node="node-a", namespace="ns1"),
        make_pod("p-b1", {"foo": ""}, node="node-b"),
        make_pod("p-y1", {"foo": ""}, node="node-y", namespace="ns2"),
        make_pod("p-y2", {"foo": ""}, node="node-y"),
    ]
    # skew on zone1 = 2 + 1 - 1 = 2 > 1; on zone2 = 1 + 1 - 1 = 1.
    assert filter_codes(PTS, pending, ABXY, existing, LIST) == {"node-a": U, "node-b": U, "node-x": S, "node-y": S}


def test_null_label_selector_matches_nothing():
    """TestPreFilterState "normal case with null label selector": no pod counts, the pod does not match itself."""
    pending = make_pod("p", {"foo": ""}, spread=[c(1, "zone", DNS, None)])
    got = filter_codes(PTS, pending, ABXY, pods_on(("node-a", 2), ("node-b", 1), ("node-y", 2)), LIST)
    assert got == {"node-a": S, "node-b": S, "node-x": S, "node-y": S}


def test_match_label_keys_narrow_the_selector():
    """matchLabelKeys [bar] adds bar=<the pod's value> to the selector (filterTopologySpreadConstraints /
    mergeLabelSetWithSelector in common.go)."""
    pending = make_pod("p", {"foo": "", "bar": "a"}, spread=[c(1, "zone", DNS, FOO, matchLabelKeys=["bar"])])
    existing = [
        make_pod("p-a1", {"foo": "", "bar": "a"}, node="node-a"),
        make_pod("p-x1", {"foo": "", "bar": "b"}, node="node-x"),
        make_pod("p-y1", {"foo": "", "bar": "b"}, node="node-y"),
    ]
    # Counted with bar=a: zone1 1, zone2 0; without matchLabelKeys zone2 would hold 2 and zone1 would fit.
    assert filter_codes(PTS, pending, ABXY, existing, LIST) == {"node-a": U, "node-b": U, "node-x": S, "node-y": S}


# --------------------------------------------------------------------------------------------------------------------
# TestPodTopologySpreadScore (scoring_test.go): `nodes` are the candidates, `failed` the other nodes of the snapshot
# --------------------------------------------------------------------------------------------------------------------

HOST = "kubernetes.io/hostname"
SA = "ScheduleAnyway"


def host_nodes(*names):
    return [make_node(n, {HOST: n}) for n in names]


SCORES = [
    pytest.param(
        make_pod("p", {"foo": ""}, spread=[c(1, HOST, SA, FOO)]),
        host_nodes("node-a", "node-b"),
        [],
        [],
        {"node-a": 100, "node-b": 100},
        id="one constraint on node, no existing pods",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}, spread=[c(1, HOST, SA, FOO)]),
        host_nodes("node-a"),
        host_nodes("node-b"),
        pods_on(("node-a", 2), ("node-b", 1)),
        {"node-a": 100},
        id="one constraint on node, only one node is candidate",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}, spread=[c(1, HOST, SA, FOO)]),
        host_nodes("node-a", "node-b"),
        [],
        pods_on(("node-a", 1), ("node-b", 1)),
        {"node-a": 100, "node-b": 100},
        id="one constraint on node, all nodes have the same number of matching pods",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}, spread=[c(1, HOST, SA, FOO)]),
        host_nodes("node-a", "node-b", "node-c", "node-d"),
        [],
        pods_on(("node-a", 2), ("node-b", 1), ("node-d", 3)),
        {"node-a": 20, "node-b": 60, "node-c": 100, "node-d": 0},
        id="one constraint on node, all 4 nodes are candidates",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}, spread=[c(1, HOST, SA, None)]),
        host_nodes("node-a", "node-b", "node-c", "node-d"),
        [],
        pods_on(("node-a", 2), ("node-b", 1), ("node-d", 3)),
        {"node-a": 100, "node-b": 100, "node-c": 100, "node-d": 100},
        id="one constraint on node, null selector",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}, spread=[c(2, HOST, SA, FOO)]),
        host_nodes("node-a", "node-b", "node-c", "node-d"),
        [],
        pods_on(("node-a", 2), ("node-b", 1), ("node-d", 3)),
        {"node-a": 33, "node-b": 66, "node-c": 100, "node-d": 16},
        id="one constraint on node, all 4 nodes are candidates, maxSkew=2",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}, spread=[c(3, HOST, SA, FOO)]),
        host_nodes("node-a", "node-b", "node-c", "node-d"),
        [],
        pods_on(("node-a", 4), ("node-b", 3), ("node-c", 2), ("node-d", 1)),
        {"node-a": 44, "node-b": 66, "node-c": 77, "node-d": 100},
        id="one constraint on node, all 4 nodes are candidates, maxSkew=3",
    ),
    pytest.param(
        make_pod(
            "p", {"foo": ""}, owner={"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "controller": True}
        ),
        host_nodes("node-a", "node-b", "node-c", "node-d"),
        [],
        pods_on(("node-a", 4), ("node-b", 3), ("node-c", 2), ("node-d", 1)),
        {"node-a": 44, "node-b": 66, "node-c": 77, "node-d": 100},
        id="system defaulting, nodes don't have zone, pods match the owner's selector",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}, spread=[c(1, HOST, SA, FOO)]),
        host_nodes("node-a", "node-b", "node-x"),
        host_nodes("node-y"),
        pods_on(("node-a", 4), ("node-b", 2), ("node-x", 1), ("node-y", 3)),
        {"node-a": 33, "node-b": 83, "node-x": 100},
        id="one constraint on node, 3 out of 4 nodes are candidates",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}, spread=[c(1, HOST, SA, FOO)]),
        [
            make_node("node-a", {HOST: "node-a"}),
            make_node("node-b", {"n": "node-b"}),
            make_node("node-x", {HOST: "node-x"}),
        ],
        host_nodes("node-y"),
        pods_on(("node-a", 4), ("node-b", 2), ("node-x", 1), ("node-y", 3)),
        {"node-a": 16, "node-b": 0, "node-x": 100},
        id="one constraint on node, 3 out of 4 nodes are candidates, one node doesn't match topology key",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}, spread=[c(1, "zone", SA, FOO)]),
        [
            make_node(n, {"zone": z, HOST: n})
            for n, z in (("node-a", "zone1"), ("node-b", "zone1"), ("node-x", "zone2"))
        ],
        [make_node("node-y", {"zone": "zone2", HOST: "node-y"})],
        pods_on(("node-a", 4), ("node-b", 2), ("node-x", 1), ("node-y", 3)),
        {"node-a": 75, "node-b": 75, "node-x": 100},
        id="one constraint on zone, 3 out of 4 nodes are candidates",
    ),
]


@pytest.mark.parametrize(("pending", "nodes", "failed", "existing", "want"), SCORES)
def test_pod_topology_spread_score(pending, nodes, failed, existing, want):
    names = [n["metadata"]["name"] for n in nodes]
    assert scores(PTS, pending, nodes + failed, existing, filtered=names) == want


def test_score_skips_without_soft_constraints():
    """PreScore returns Skip when the pod has no ScheduleAnyway constraint and no default applies (no controller)."""
    pending = make_pod("p", {"foo": ""}, spread=[c(1, HOST, DNS, FOO)])
    assert scores(PTS, pending, host_nodes("node-a", "node-b"), pods_on(("node-a", 1))) is None
    assert scores(PTS, make_pod("p", {"foo": ""}), host_nodes("node-a", "node-b"), pods_on(("node-a", 1))) is None


def test_statefulset_default_selector_leaves_out_per_pod_labels():
    """A StatefulSet's selector holds neither controller-revision-hash nor the pod's name label: a replica counts
    its siblings although each carries its own name."""
    owner = {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "controller": True}
    per_pod = "statefulset.kubernetes.io/pod-name"
    existing = [
        make_pod(f"db-{i}", {"app": "db", per_pod: f"db-{i}"}, node=at, owner=owner)
        for i, at in enumerate(["node-a", "node-a", "node-b"])
    ]
    pending = make_pod("db-3", {"app": "db", per_pod: "db-3"}, owner=owner)
    got = scores(PTS, pending, host_nodes("node-a", "node-b", "node-c"), existing)
    assert got["node-c"] == 100 and got["node-c"] > got["node-b"] > got["node-a"]


ABXY_HOSTS = [
    make_node(n, {"zone": z, HOST: n})
    for n, z in (("node-a", "zone1"), ("node-b", "zone1"), ("node-x", "zone2"), ("node-y", "zone2"))
]
NODE_ABC = [
    make_node("node-a", {"node": "node-a", "foo": ""}),
    make_node("node-b", {"node": "node-b", "foo": ""}),
    make_node("node-c", {"node": "node-c"}),
]
NODE_ABC_TAINTED = [
    make_node("node-a", {"node": "node-a"}),
    make_node("node-b", {"node": "node-b"}),
    make_node("node-c", {"node": "node-c"}, taints=TAINTS),
]
POLICY_EXISTING = pods_on(("node-a", 2), ("node-b", 1), ("node-c", 1))
DIFFERENT_SELECTORS = [
    make_pod("p-a1", {"foo": ""}, node="node-a"),
    make_pod("p-b1", {"foo": "", "bar": ""}, node="node-b"),
    make_pod("p-y1", {"foo": ""}, node="node-y"),
    make_pod("p-y2", {"bar": ""}, node="node-y"),
]
TWO_SELECTORS_POD = make_pod("p", {"foo": "", "bar": ""}, spread=[c(1, "zone", SA, FOO), c(1, HOST, SA, BAR)])

MORE_SCORES = [
    pytest.param(
        TWO_SELECTORS_POD,
        ABXY_HOSTS,
        [],
        DIFFERENT_SELECTORS,
        {"node-a": 60, "node-b": 20, "node-x": 100, "node-y": 60},
        id="two Constraints on zone and node, with different labelSelectors",
    ),
    pytest.param(
        TWO_SELECTORS_POD,
        ABXY_HOSTS,
        [],
        [
            make_pod("p-b1", {"bar": ""}, node="node-b"),
            make_pod("p-x1", {"foo": ""}, node="node-x"),
            make_pod("p-y1", {"foo": "", "bar": ""}, node="node-y"),
        ],
        {"node-a": 100, "node-b": 60, "node-x": 40, "node-y": 0},
        id="two Constraints on zone and node, with different labelSelectors, some nodes have 0 pods",
    ),
    pytest.param(
        TWO_SELECTORS_POD,
        ABXY_HOSTS[:3],
        ABXY_HOSTS[3:],
        DIFFERENT_SELECTORS,
        {"node-a": 50, "node-b": 25, "node-x": 100},
        id="two Constraints on zone and node, with different labelSelectors, 3 out of 4 nodes are candidates",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}, spread=[c(1, HOST, SA, FOO)]),
        host_nodes("node-a", "node-b"),
        [],
        [
            make_pod("p-a1", {"foo": ""}, node="node-a", namespace="ns1"),
            *pods_on(("node-a", 1)),
            make_pod("p-b1", {"foo": ""}, node="node-b"),
            make_pod("p-b2", {"foo": ""}, node="node-b"),
        ],
        {"node-a": 100, "node-b": 33},
        id="existing pods in a different namespace do not count",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}, spread=[c(1, HOST, SA, FOO)]),
        host_nodes("node-a", "node-b"),
        [],
        [make_pod("p-a", {"foo": ""}, node="node-a", terminating=True), make_pod("p-b", {"foo": ""}, node="node-b")],
        {"node-a": 100, "node-b": 0},
        id="terminating Pods should be excluded",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}, node_selector={"foo": ""}, spread=[c(1, "node", SA, FOO)]),
        NODE_ABC,
        [],
        POLICY_EXISTING,
        {"node-a": 0, "node-b": 33, "node-c": 100},
        id="NodeAffinityPolicy honored with labelSelectors",
    ),
    pytest.param(
        make_pod(
            "p", {"foo": ""}, node_selector={"foo": ""}, spread=[c(1, "node", SA, FOO, nodeAffinityPolicy="Ignore")]
        ),
        NODE_ABC,
        [],
        POLICY_EXISTING,
        {"node-a": 66, "node-b": 100, "node-c": 100},
        id="NodeAffinityPolicy ignored with labelSelectors",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}, affinity=FOO_AFFINITY, spread=[c(1, "node", SA, FOO)]),
        NODE_ABC,
        [],
        POLICY_EXISTING,
        {"node-a": 0, "node-b": 33, "node-c": 100},
        id="NodeAffinityPolicy honored with nodeAffinity",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}, affinity=FOO_AFFINITY, spread=[c(1, "node", SA, FOO, nodeAffinityPolicy="Ignore")]),
        NODE_ABC,
        [],
        POLICY_EXISTING,
        {"node-a": 66, "node-b": 100, "node-c": 100},
        id="NodeAffinityPolicy ignored with nodeAffinity",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}, spread=[c(1, "node", SA, FOO, nodeTaintsPolicy="Honor")]),
        NODE_ABC_TAINTED,
        [],
        POLICY_EXISTING,
        {"node-a": 0, "node-b": 33, "node-c": 100},
        id="NodeTaintsPolicy honored",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}, spread=[c(1, "node", SA, FOO)]),
        NODE_ABC_TAINTED,
        [],
        POLICY_EXISTING,
        {"node-a": 66, "node-b": 100, "node-c": 100},
        id="NodeTaintsPolicy ignored",
    ),
]


@pytest.mark.parametrize(("pending", "nodes", "failed", "existing", "want"), MORE_SCORES)
def test_pod_topology_spread_score_more(pending, nodes, failed, existing, want):
    names = [n["metadata"]["name"] for n in nodes]
    assert scores(PTS, pending, nodes + failed, existing, filtered=names) == want
