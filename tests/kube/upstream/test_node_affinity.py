"""Cases from kubernetes/kubernetes pkg/scheduler/framework/plugins/nodeaffinity/node_affinity_test.go, v1.35 era
(`fwk "k8s.io/kube-scheduler/framework"`), read at natasha41575/kubernetes @ 9829b8d729c3 and checked against
kubernetes/kubernetes @ 17bae91f207a (same TestNodeAffinity / TestNodeAffinityPriority cases):
TestNodeAffinity (PreFilter + Filter) and TestNodeAffinityPriority (PreScore + Score + NormalizeScore).

Upstream behaviour pinned here (plugin node_affinity.go, component-helpers scheduling/corev1/nodeaffinity,
apimachinery labels.Requirement):

* Filter: args.addedAffinity required terms not matching -> UnschedulableAndUnresolvable
  "node(s) didn't match scheduler-enforced node affinity" (checked first); pod nodeSelector AND required node affinity
  not matching -> UnschedulableAndUnresolvable "node(s) didn't match Pod's node affinity/selector". Parse errors in
  required terms are ignored: a term that does not parse matches no node.
* PreFilter: Skip when the pod has no nodeSelector, no required node affinity and there is no added affinity. When every
  required term has `metadata.name In [...]` matchFields it returns PreFilterResult{NodeNames}; an empty union gives
  UnschedulableAndUnresolvable "pod affinity terms conflict". podgym's contract: a PreFilter rejection is the message
  for every node; a node outside PreFilterResult gets "node(s) didn't match Pod's node affinity/selector".
* Gt / Lt (labels.Requirement): exactly one value that strconv.ParseInt(v, 10, 64) accepts (so "0204" is 204); the
  node must have the label and its value must also parse; then label > value (Gt) or label < value (Lt).
* Score: sum of the weights of the preferred terms (pod's and args.addedAffinity's) matching the node;
  NormalizeScore = DefaultNormalizeScore(100, reverse=false). PreScore Skip (no preferred terms anywhere) -> 0.

Deviations: upstream Filter cases build a single node whose name is often "" and whose labels are exactly the case's;
here a node with no upstream name is called "node", and the builder adds the kubernetes.io/hostname label, which no
case selects on. Cases that upstream runs "even if PreFilter is not called" / "even if PreScore is not called" run the
full PreFilter/PreScore path here (the results are the same by construction).

"PreScore returns error when an incoming Pod has a broken affinity" has no status channel in kube.score: upstream
PreScore returns an Error status (`[0].matchExpressions[0].key: Invalid value: "invalid key": name part must consist
of ...`), so here kube.score must raise KubeObjectError naming that key.

Left out: TestNodeAffinity_DeferredResizeSkipped (in-place pod resize, not modelled); Test_isSchedulableAfterNodeChange
(queueing hints, not Filter/Score).
"""

from __future__ import annotations

from typing import Any

import pytest

import podgym.envs.kube as kube
from tests.kube.builders import node, pod

PLUGIN = "NodeAffinity"
UNRESOLVABLE = "UnschedulableAndUnresolvable"
ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector"
ERR_REASON_ENFORCED = "node(s) didn't match scheduler-enforced node affinity"
ERR_REASON_CONFLICT = "pod affinity terms conflict"


def req(key: str, operator: str, values: list[str] | None = None) -> dict[str, Any]:
    """A NodeSelectorRequirement."""
    r: dict[str, Any] = {"key": key, "operator": operator}
    if values is not None:
        r["values"] = list(values)
    return r


def name_in(*names: str) -> dict[str, Any]:
    """A matchFields requirement `metadata.name In names`."""
    return req("metadata.name", "In", list(names))


def required(*terms: dict[str, Any]) -> dict[str, Any]:
    """An Affinity with required node affinity made of the given NodeSelectorTerms."""
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}}


def added_required(*terms: dict[str, Any]) -> dict[str, Any]:
    """NodeAffinityArgs with addedAffinity required terms."""
    return {"addedAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}}


# --------------------------------------------------------------------------------------------------------------------
# TestNodeAffinity: (pod kwargs, node name, node labels, args, expected message)
# --------------------------------------------------------------------------------------------------------------------

FILTER_CASES = [
    pytest.param({"node_selector": {"foo": "bar"}}, "node", {}, None, ERR_REASON_POD, id="missing labels"),
    pytest.param({"node_selector": {"foo": "bar"}}, "node", {"foo": "bar"}, None, None, id="same labels"),
    pytest.param(
        {"node_selector": {"foo": "bar"}},
        "node",
        {"foo": "bar", "baz": "blah"},
        None,
        None,
        id="node labels are superset",
    ),
    pytest.param(
        {"node_selector": {"foo": "bar", "baz": "blah"}},
        "node",
        {"foo": "bar"},
        None,
        ERR_REASON_POD,
        id="node labels are subset",
    ),
    pytest.param(
        {"affinity": required({"matchExpressions": [req("foo", "In", ["bar", "value2"])]})},
        "node",
        {"foo": "bar"},
        None,
        None,
        id="Pod with matchExpressions using In operator that matches the existing node",
    ),
    pytest.param(
        {"affinity": required({"matchExpressions": [req("kernel-version", "Gt", ["0204"])]})},
        "node",
        {"kernel-version": "0206"},
        None,
        None,
        id="Pod with matchExpressions using Gt operator that matches the existing node",
    ),
    pytest.param(
        {"affinity": required({"matchExpressions": [req("mem-type", "NotIn", ["DDR", "DDR2"])]})},
        "node",
        {"mem-type": "DDR3"},
        None,
        None,
        id="Pod with matchExpressions using NotIn operator that matches the existing node",
    ),
    pytest.param(
        {"affinity": required({"matchExpressions": [req("GPU", "Exists")]})},
        "node",
        {"GPU": "NVIDIA-GRID-K1"},
        None,
        None,
        id="Pod with matchExpressions using Exists operator that matches the existing node",
    ),
    pytest.param(
        {"affinity": required({"matchExpressions": [req("foo", "In", ["value1", "value2"])]})},
        "node",
        {"foo": "bar"},
        None,
        ERR_REASON_POD,
        id="Pod with affinity that don't match node's labels won't schedule onto the node",
    ),
    pytest.param(
        {"affinity": required({"matchExpressions": []})},
        "node",
        {"foo": "bar"},
        None,
        ERR_REASON_POD,
        id="Pod with empty MatchExpressions is not a valid value will match no objects and won't schedule onto the "
        "node",
    ),
    pytest.param({}, "node", {"foo": "bar"}, None, None, id="Pod with no Affinity will schedule onto a node"),
    pytest.param(
        {"affinity": {"nodeAffinity": {}}},
        "node",
        {"foo": "bar"},
        None,
        None,
        id="Pod with Affinity but nil NodeSelector will schedule onto a node",
    ),
    pytest.param(
        {"affinity": required({"matchExpressions": [req("GPU", "Exists"), req("GPU", "NotIn", ["AMD", "INTER"])]})},
        "node",
        {"GPU": "NVIDIA-GRID-K1"},
        None,
        None,
        id="Pod with multiple matchExpressions ANDed that matches the existing node",
    ),
    pytest.param(
        {"affinity": required({"matchExpressions": [req("GPU", "Exists"), req("GPU", "In", ["AMD", "INTER"])]})},
        "node",
        {"GPU": "NVIDIA-GRID-K1"},
        None,
        ERR_REASON_POD,
        id="Pod with multiple matchExpressions ANDed that doesn't match the existing node",
    ),
    pytest.param(
        {
            "affinity": required(
                {"matchExpressions": [req("foo", "In", ["bar", "value2"])]},
                {"matchExpressions": [req("diffkey", "In", ["wrong", "value2"])]},
            )
        },
        "node",
        {"foo": "bar"},
        None,
        None,
        id="Pod with multiple NodeSelectorTerms ORed in affinity, matches the node's labels and will schedule onto "
        "the node",
    ),
    pytest.param(
        {"node_selector": {"foo": "bar"}, "affinity": required({"matchExpressions": [req("foo", "Exists")]})},
        "node",
        {"foo": "bar"},
        None,
        None,
        id="Pod with an Affinity and a PodSpec.NodeSelector(the old thing that we are deprecating) both are satisfied, "
        "will schedule onto the node",
    ),
    pytest.param(
        {"node_selector": {"foo": "bar"}, "affinity": required({"matchExpressions": [req("foo", "Exists")]})},
        "node",
        {"foo": "barrrrrr"},
        None,
        ERR_REASON_POD,
        id="Pod with an Affinity matches node's labels but the PodSpec.NodeSelector(the old thing that we are "
        "deprecating) is not satisfied, won't schedule onto the node",
    ),
    pytest.param(
        {"affinity": required({"matchExpressions": [req("foo", "NotIn", ["invalid value: ___@#$%^"])]})},
        "node",
        {"foo": "bar"},
        None,
        ERR_REASON_POD,
        id="Pod with an invalid value in Affinity term won't be scheduled onto the node",
    ),
    pytest.param(
        {"affinity": required({"matchFields": [name_in("node1")]})},
        "node1",
        {},
        None,
        None,
        id="Pod with matchFields using In operator that matches the existing node",
    ),
    pytest.param(
        # PreFilterResult is {node1}; node2 is outside it.
        {"affinity": required({"matchFields": [name_in("node1")]})},
        "node2",
        {},
        None,
        ERR_REASON_POD,
        id="Pod with matchFields using In operator that does not match the existing node",
    ),
    pytest.param(
        {
            "affinity": required(
                {"matchFields": [name_in("node1"), name_in("node2")]},
                {"matchExpressions": [req("foo", "In", ["bar"])]},
            )
        },
        "node2",
        {"foo": "bar"},
        None,
        None,
        id="Pod with two terms: matchFields does not match, but matchExpressions matches",
    ),
    pytest.param(
        # PreFilterResult is {node1}.
        {
            "affinity": required(
                {"matchFields": [name_in("node1")], "matchExpressions": [req("foo", "In", ["bar"])]},
            )
        },
        "node2",
        {"foo": "bar"},
        None,
        ERR_REASON_POD,
        id="Pod with one term: matchFields does not match, but matchExpressions matches",
    ),
    pytest.param(
        {
            "affinity": required(
                {"matchFields": [name_in("node1")], "matchExpressions": [req("foo", "In", ["bar"])]},
            )
        },
        "node1",
        {"foo": "bar"},
        None,
        None,
        id="Pod with one term: both matchFields and matchExpressions match",
    ),
    pytest.param(
        {
            "affinity": required(
                {"matchFields": [name_in("node1")]},
                {"matchExpressions": [req("foo", "In", ["not-match-to-bar"])]},
            )
        },
        "node2",
        {"foo": "bar"},
        None,
        ERR_REASON_POD,
        id="Pod with two terms: both matchFields and matchExpressions do not match",
    ),
    pytest.param(
        # PreFilterResult is {node1, node2}.
        {"affinity": required({"matchFields": [name_in("node1")]}, {"matchFields": [name_in("node2")]})},
        "node2",
        {},
        None,
        None,
        id="Pod with two terms of node.Name affinity",
    ),
    pytest.param(
        # PreFilter: UnschedulableAndUnresolvable "pod affinity terms conflict" (empty intersection in one term).
        {"affinity": required({"matchFields": [name_in("node1"), name_in("node2")]})},
        "node2",
        {"foo": "bar"},
        None,
        ERR_REASON_CONFLICT,
        id="Pod with two conflicting mach field requirements",
    ),
    pytest.param(
        {"affinity": required({"matchExpressions": [req("zone", "In", ["foo"])]})},
        "node2",
        {"zone": "foo"},
        added_required({"matchFields": [name_in("node2")]}),
        None,
        id="Matches added affinity and Pod's node affinity",
    ),
    pytest.param(
        {"affinity": required({"matchExpressions": [req("zone", "In", ["bar"])]})},
        "node2",
        {"zone": "foo"},
        added_required({"matchFields": [name_in("node2")]}),
        ERR_REASON_POD,
        id="Matches added affinity but not Pod's node affinity",
    ),
    pytest.param(
        {},
        "node2",
        {"zone": "foo"},
        added_required({"matchExpressions": [req("zone", "In", ["bar"])]}),
        ERR_REASON_ENFORCED,
        id="Doesn't match added affinity",
    ),
    pytest.param(
        {"node_selector": {"foo": "bar"}},
        "node",
        {"foo": "bar", "baz": "blah"},
        None,
        None,
        id="Matches node selector correctly even if PreFilter is not called",
    ),
    pytest.param(
        {"affinity": required({"matchExpressions": [req("GPU", "Exists"), req("GPU", "NotIn", ["AMD", "INTER"])]})},
        "node",
        {"GPU": "NVIDIA-GRID-K1"},
        None,
        None,
        id="Matches node affinity correctly even if PreFilter is not called",
    ),
]


@pytest.mark.parametrize(("pod_kwargs", "node_name", "labels", "args", "want"), FILTER_CASES)
def test_node_affinity_filter(pod_kwargs, node_name, labels, args, want):
    p = pod("pod", **pod_kwargs)
    nodes = [node(node_name, labels=labels)]
    assert kube.filter(p, nodes, [], plugin=PLUGIN, args=args) == {node_name: want}
    status = kube.filter_status(p, nodes, [], plugin=PLUGIN, args=args)[node_name]
    if want is None:
        assert status is None
    else:
        assert (status.code, status.reasons, status.message) == (UNRESOLVABLE, (want,), want)


# --------------------------------------------------------------------------------------------------------------------
# TestNodeAffinityPriority
# --------------------------------------------------------------------------------------------------------------------

LABEL1 = {"foo": "bar"}
LABEL2 = {"key": "value"}
LABEL3 = {"az": "az1"}
LABEL4 = {"abc": "az11", "def": "az22"}
LABEL5 = {"foo": "bar", "key": "value", "az": "az1"}


def preferred(weight: int, *requirements: dict[str, Any]) -> dict[str, Any]:
    """A PreferredSchedulingTerm with matchExpressions."""
    return {"weight": weight, "preference": {"matchExpressions": list(requirements)}}


NODE_AFFINITY1 = {"preferredDuringSchedulingIgnoredDuringExecution": [preferred(2, req("foo", "In", ["bar"]))]}
NODE_AFFINITY2 = {
    "preferredDuringSchedulingIgnoredDuringExecution": [
        preferred(2, req("foo", "In", ["bar"])),
        preferred(4, req("key", "In", ["value"])),
        preferred(5, req("foo", "In", ["bar"]), req("key", "In", ["value"]), req("az", "In", ["az1"])),
    ]
}
AFFINITY1 = {"nodeAffinity": NODE_AFFINITY1}
AFFINITY2 = {"nodeAffinity": NODE_AFFINITY2}

SCORE_CASES = [
    pytest.param(
        None,
        [("node1", LABEL1), ("node2", LABEL2), ("node3", LABEL3)],
        None,
        {"node1": 0, "node2": 0, "node3": 0},
        id="all nodes are same priority as NodeAffinity is nil",
    ),
    pytest.param(
        None,
        [("node1", LABEL1)],
        None,
        {"node1": 0},
        id="Skip is returned in PreScore when NodeAffinity is nil",
    ),
    pytest.param(
        AFFINITY1,
        [("node1", LABEL4), ("node2", LABEL2), ("node3", LABEL3)],
        None,
        {"node1": 0, "node2": 0, "node3": 0},
        id="no node matches preferred scheduling requirements in NodeAffinity of pod so all nodes' priority is zero",
    ),
    pytest.param(
        AFFINITY1,
        [("node1", LABEL1), ("node2", LABEL2), ("node3", LABEL3)],
        None,
        {"node1": 100, "node2": 0, "node3": 0},
        id="only node1 matches the preferred scheduling requirements of pod",
    ),
    pytest.param(
        AFFINITY2,
        [("node1", LABEL1), ("node5", LABEL5), ("node2", LABEL2)],
        None,
        {"node1": 18, "node5": 100, "node2": 36},
        id="all nodes matches the preferred scheduling requirements of pod but with different priorities ",
    ),
    pytest.param(
        None,
        [("node1", LABEL1), ("node2", LABEL2)],
        {"addedAffinity": NODE_AFFINITY1},
        {"node1": 100, "node2": 0},
        id="added affinity",
    ),
    pytest.param(
        AFFINITY1,
        [("node1", LABEL1), ("node2", LABEL2), ("node3", LABEL5)],
        {
            "addedAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [preferred(3, req("key", "In", ["value"]))]
            }
        },
        {"node1": 40, "node2": 60, "node3": 100},
        id="added affinity and pod has default affinity",
    ),
    pytest.param(
        AFFINITY2,
        [("node1", LABEL1), ("node5", LABEL5), ("node2", LABEL2)],
        None,
        {"node1": 18, "node5": 100, "node2": 36},
        id="calculate the priorities correctly even if PreScore is not called",
    ),
]


@pytest.mark.parametrize(("affinity", "node_labels", "args", "expected"), SCORE_CASES)
def test_node_affinity_priority(affinity, node_labels, args, expected):
    p = pod("pod", affinity=affinity)
    nodes = [node(name, labels=labels) for name, labels in node_labels]
    assert kube.score(p, nodes, [], plugin=PLUGIN, args=args) == expected


def test_node_affinity_priority_broken_affinity():
    """Upstream id: "PreScore returns error when an incoming Pod has a broken affinity".

    Upstream PreScore returns fwk.AsStatus(`[0].matchExpressions[0].key: Invalid value: "invalid key": name part must
    consist of alphanumeric characters, ...`), an Error status; kube.score reports it as KubeObjectError.
    """
    p = pod(
        "pod",
        affinity={
            "nodeAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [preferred(2, req("invalid key", "In", ["bar"]))]
            }
        },
    )
    with pytest.raises(kube.KubeObjectError) as excinfo:
        kube.score(p, [node("node1", labels=LABEL1)], [], plugin=PLUGIN)
    message = str(excinfo.value)
    assert "matchExpressions[0].key" in message
    assert "invalid key" in message
