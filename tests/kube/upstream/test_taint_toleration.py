"""Cases from kubernetes/kubernetes pkg/scheduler/framework/plugins/tainttoleration/taint_toleration_test.go
@ 04c0d74f8e8b (TestTaintTolerationScore, TestTaintTolerationFilter, TestTaintTolerationFilterWithFeatureGate),
and the toleration matching cases of staging/src/k8s.io/api/core/v1/toleration_test.go (v1.35 era, with the
feature-gate argument; read at galal-hussein/kubernetes @ 0723741bfaee: TestTolerationToleratesTaint,
TestCompareNumericValues), run through
`kube.filter(..., plugin="TaintToleration")` with one pod toleration and one node taint.

Upstream behaviour pinned here (plugin taint_toleration.go, component-helpers FindMatchingUntoleratedTaint,
core/v1 toleration.go):

* Filter looks only at taints with effect NoSchedule or NoExecute. The first one that no toleration tolerates gives
  ``fwk.NewStatus(fwk.UnschedulableAndUnresolvable, "node(s) had untolerated taint(s)")`` (no taint key/value in the
  message since ~v1.34; older releases said "node(s) had untolerated taint {key: value}").
* Score counts the node's PreferNoSchedule taints not tolerated by the pod's tolerations whose effect is empty or
  PreferNoSchedule; NormalizeScore is DefaultNormalizeScore(100, reverse=true).
* ToleratesTaint: a non-empty toleration effect must equal the taint effect; a non-empty key must equal the taint key;
  operator "" / Equal compares values, Exists matches any value; Gt / Lt (feature gate
  TaintTolerationComparisonOperators) parse both values as strict canonical decimal int64 (content.IsDecimalInteger:
  no leading zero, no "+", no spaces, no decimals, then strconv.ParseInt) and tolerate when
  ``taint > toleration`` (Gt) or ``taint < toleration`` (Lt). A value that does not parse means "not tolerated".

Feature gate: TaintTolerationComparisonOperators is alpha (default off) in v1.35, but a pod carrying a Gt/Lt toleration
only passes API validation when the gate is on, so podgym honours Gt/Lt. The gate-on cases are transcribed.

Deviations from the file at 04c0d74f:
* "Pod with Gt toleration cannot be scheduled on node with non-numeric taint value": at 04c0d74f the expected status
  is UnschedulableAndUnresolvable carrying the parse error as message (`failed to parse taint value "high" as int64:
  must be a valid decimal integer in canonical form`). That comes from kubernetes/kubernetes#140071 ("Return errors from
  ToleratesTaint", after v1.35). In v1.35 a parse failure is just "not tolerated", so the v1.35 message
  "node(s) had untolerated taint(s)" is expected here (same status code).
* Upstream Go nodes/pods are built with empty or minimal fields; the builders add a container, allocatable pods and
  the hostname label, none of which this plugin reads.

Left out:
* TestTaintTolerationFilterWithFeatureGate "Pod with Gt toleration cannot be scheduled when feature gate is disabled",
  "Pod with Lt toleration cannot be scheduled when feature gate is disabled" and "Pod with mixed tolerations, Gt
  toleration needed but filtered out when feature gate is disabled": gate-off variants; podgym models the gate as on
  (see above). ("... mixed tolerations (Equal and Gt) when feature gate is disabled - only Equal is honored" is kept:
  its result does not depend on the gate.)
* TestCompareNumericValues "Equal operator (unsupported for numeric comparison), expect false" and "Exists operator
  (unsupported for numeric comparison), expect false": they call the private compareNumericValues with Equal/Exists,
  which ToleratesTaint never does, so no pod/node pair can reach them.
* TestIsSchedulableAfterNodeChange, Test_isSchedulableAfterTargetPodTolerationChange: queueing hints, not Filter/Score.
"""

from __future__ import annotations

from typing import Any

import pytest

import podgym.envs.kube as kube
from tests.kube.builders import node, pod

PLUGIN = "TaintToleration"
UNTOLERATED = "node(s) had untolerated taint(s)"
UNRESOLVABLE = "UnschedulableAndUnresolvable"


def taint(key: str, value: str = "", effect: str = "NoSchedule") -> dict[str, Any]:
    """A v1.Taint as JSON (empty value is omitted, like `omitempty`)."""
    t: dict[str, Any] = {"key": key, "effect": effect}
    if value:
        t["value"] = value
    return t


def toleration(key: str = "", operator: str = "", value: str = "", effect: str = "") -> dict[str, Any]:
    """A v1.Toleration as JSON (empty fields omitted, like `omitempty`)."""
    t: dict[str, Any] = {}
    for field, v in (("key", key), ("operator", operator), ("value", value), ("effect", effect)):
        if v:
            t[field] = v
    return t


def assert_filter(tolerations: list[dict[str, Any]], taints: list[dict[str, Any]], want: str | None) -> None:
    """Run the Filter of one pod against one node "nodeA" and check message and status code."""
    p = pod("pod1", tolerations=tolerations)
    nodes = [node("nodeA", taints=taints)]
    assert kube.filter(p, nodes, [], plugin=PLUGIN) == {"nodeA": want}
    status = kube.filter_status(p, nodes, [], plugin=PLUGIN)["nodeA"]
    if want is None:
        assert status is None
    else:
        assert (status.code, status.reasons, status.message) == (UNRESOLVABLE, (want,), want)


# --------------------------------------------------------------------------------------------------------------------
# TestTaintTolerationScore
# --------------------------------------------------------------------------------------------------------------------

PNS = "PreferNoSchedule"

SCORE_CASES = [
    pytest.param(
        [toleration("foo", "Equal", "bar", PNS)],
        [("nodeA", [taint("foo", "bar", PNS)]), ("nodeB", [taint("foo", "blah", PNS)])],
        {"nodeA": 100, "nodeB": 0},
        id="node with taints tolerated by the pod, gets a higher score than those node with intolerable taints",
    ),
    pytest.param(
        [toleration("cpu-type", "Equal", "arm64", PNS), toleration("disk-type", "Equal", "ssd", PNS)],
        [
            ("nodeA", []),
            ("nodeB", [taint("cpu-type", "arm64", PNS)]),
            ("nodeC", [taint("cpu-type", "arm64", PNS), taint("disk-type", "ssd", PNS)]),
        ],
        {"nodeA": 100, "nodeB": 100, "nodeC": 100},
        id="the nodes that all of their taints are tolerated by the pod, get the same score, "
        "no matter how many tolerable taints a node has",
    ),
    pytest.param(
        [toleration("foo", "Equal", "bar", PNS)],
        [
            ("nodeA", []),
            ("nodeB", [taint("cpu-type", "arm64", PNS)]),
            ("nodeC", [taint("cpu-type", "arm64", PNS), taint("disk-type", "ssd", PNS)]),
        ],
        {"nodeA": 100, "nodeB": 50, "nodeC": 0},
        id="the more intolerable taints a node has, the lower score it gets.",
    ),
    pytest.param(
        [toleration("cpu-type", "Equal", "arm64", "NoSchedule"), toleration("disk-type", "Equal", "ssd", "NoSchedule")],
        [
            ("nodeA", []),
            ("nodeB", [taint("cpu-type", "arm64", "NoSchedule")]),
            ("nodeC", [taint("cpu-type", "arm64", PNS), taint("disk-type", "ssd", PNS)]),
        ],
        {"nodeA": 100, "nodeB": 100, "nodeC": 0},
        id="only taints and tolerations that have effect PreferNoSchedule are checked by taints-tolerations "
        "priority function",
    ),
    pytest.param(
        [],
        [("nodeA", []), ("nodeB", [taint("cpu-type", "arm64", PNS)])],
        {"nodeA": 100, "nodeB": 0},
        id="Default behaviour No taints and tolerations, lands on node with no taints",
    ),
    pytest.param(
        [toleration("node.kubernetes.io/sla", "Gt", "950", PNS)],
        [
            ("nodeA", [taint("node.kubernetes.io/sla", "800", PNS)]),
            ("nodeB", [taint("node.kubernetes.io/sla", "999", PNS)]),
        ],
        {"nodeA": 0, "nodeB": 100},
        id="Numeric Gt operator: pod with Gt toleration prefers nodes with matching SLA taint",
    ),
    pytest.param(
        [toleration("node.kubernetes.io/sla", "Lt", "800", PNS)],
        [
            ("nodeA", [taint("node.kubernetes.io/sla", "950", PNS)]),
            ("nodeB", [taint("node.kubernetes.io/sla", "700", PNS)]),
        ],
        {"nodeA": 0, "nodeB": 100},
        id="Numeric Lt operator: pod with Lt toleration prefers nodes with matching SLA taint",
    ),
    pytest.param(
        [toleration("node.kubernetes.io/sla", "Gt", "950", PNS)],
        [("nodeA", []), ("nodeB", [taint("node.kubernetes.io/sla", "high", PNS)])],
        {"nodeA": 100, "nodeB": 0},
        id="Score ignores parse errors from numeric PreferNoSchedule taint value",
    ),
]


@pytest.mark.parametrize(("tolerations", "node_taints", "expected"), SCORE_CASES)
def test_taint_toleration_score(tolerations, node_taints, expected):
    p = pod("pod1", tolerations=tolerations)
    nodes = [node(name, taints=taints) for name, taints in node_taints]
    assert kube.score(p, nodes, [], plugin=PLUGIN) == expected


# --------------------------------------------------------------------------------------------------------------------
# TestTaintTolerationFilter
# --------------------------------------------------------------------------------------------------------------------

FILTER_CASES = [
    pytest.param(
        [],
        [taint("dedicated", "user1")],
        UNTOLERATED,
        id="A pod having no tolerations can't be scheduled onto a node with nonempty taints",
    ),
    pytest.param(
        [toleration("dedicated", "", "user1", "NoSchedule")],
        [taint("dedicated", "user1")],
        None,
        id="A pod which can be scheduled on a dedicated node assigned to user1 with effect NoSchedule",
    ),
    pytest.param(
        [toleration("dedicated", "Equal", "user2", "NoSchedule")],
        [taint("dedicated", "user1")],
        UNTOLERATED,
        id="A pod which can't be scheduled on a dedicated node assigned to user2 with effect NoSchedule",
    ),
    pytest.param(
        [toleration("foo", "Exists", "", "NoSchedule")],
        [taint("foo", "bar")],
        None,
        id="A pod can be scheduled onto the node, with a toleration uses operator Exists that tolerates the taints on "
        "the node",
    ),
    pytest.param(
        [toleration("dedicated", "Equal", "user2", "NoSchedule"), toleration("foo", "Exists", "", "NoSchedule")],
        [taint("dedicated", "user2"), taint("foo", "bar")],
        None,
        id="A pod has multiple tolerations, node has multiple taints, all the taints are tolerated, pod can be "
        "scheduled onto the node",
    ),
    pytest.param(
        [toleration("foo", "Equal", "bar", "PreferNoSchedule")],
        [taint("foo", "bar")],
        UNTOLERATED,
        id="A pod has a toleration that keys and values match the taint on the node, but (non-empty) effect doesn't "
        "match, can't be scheduled onto the node",
    ),
    pytest.param(
        [toleration("foo", "Equal", "bar")],
        [taint("foo", "bar")],
        None,
        id="The pod has a toleration that keys and values match the taint on the node, the effect of toleration is "
        "empty, and the effect of taint is NoSchedule. Pod can be scheduled onto the node",
    ),
    pytest.param(
        [toleration("dedicated", "Equal", "user2", "NoSchedule")],
        [taint("dedicated", "user1", "PreferNoSchedule")],
        None,
        id="The pod has a toleration that key and value don't match the taint on the node, but the effect of taint on "
        "node is PreferNoSchedule. Pod can be scheduled onto the node",
    ),
    pytest.param(
        [],
        [taint("dedicated", "user1", "PreferNoSchedule")],
        None,
        id="The pod has no toleration, but the effect of taint on node is PreferNoSchedule. Pod can be scheduled onto "
        "the node",
    ),
    pytest.param(
        [toleration("node.example.com/priority-level", "Gt", "950", "NoSchedule")],
        [taint("node.example.com/priority-level", "800")],
        UNTOLERATED,
        id="Pod with Gt toleration cannot be scheduled on node when taint value is lower than threshold",
    ),
    pytest.param(
        [toleration("node.kubernetes.io/sla", "Gt", "750", "NoSchedule")],
        [taint("node.kubernetes.io/sla", "950")],
        None,
        id="Pod with Gt toleration can be scheduled on node when taint value is higher than threshold",
    ),
    pytest.param(
        [toleration("node.example.com/priority-level", "Lt", "800", "NoSchedule")],
        [taint("node.example.com/priority-level", "950")],
        UNTOLERATED,
        id="Pod with Lt toleration cannot be scheduled on node when taint value is higher than threshold",
    ),
    pytest.param(
        [toleration("node.kubernetes.io/sla", "Lt", "950", "NoSchedule")],
        [taint("node.kubernetes.io/sla", "800")],
        None,
        id="Pod with Lt toleration can be scheduled on node when taint value is lower than threshold",
    ),
    pytest.param(
        # v1.35 message; see the module docstring for the post-v1.35 parse-error message at 04c0d74f.
        [toleration("node.kubernetes.io/sla", "Gt", "950", "NoSchedule")],
        [taint("node.kubernetes.io/sla", "high")],
        UNTOLERATED,
        id="Pod with Gt toleration cannot be scheduled on node with non-numeric taint value",
    ),
]


@pytest.mark.parametrize(("tolerations", "taints", "want"), FILTER_CASES)
def test_taint_toleration_filter(tolerations, taints, want):
    assert_filter(tolerations, taints, want)


# --------------------------------------------------------------------------------------------------------------------
# TestTaintTolerationFilterWithFeatureGate (gate-on cases, and the one whose result is the same either way)
# --------------------------------------------------------------------------------------------------------------------

FEATURE_GATE_CASES = [
    pytest.param(
        [toleration("node.kubernetes.io/sla", "Gt", "750", "NoSchedule")],
        [taint("node.kubernetes.io/sla", "950")],
        None,
        id="Pod with Gt toleration can be scheduled when feature gate is enabled and taint value is higher",
    ),
    pytest.param(
        [toleration("node.kubernetes.io/sla", "Lt", "950", "NoSchedule")],
        [taint("node.kubernetes.io/sla", "800")],
        None,
        id="Pod with Lt toleration can be scheduled when feature gate is enabled and taint value is lower",
    ),
    pytest.param(
        [
            toleration("dedicated", "Equal", "user1", "NoSchedule"),
            toleration("node.kubernetes.io/sla", "Gt", "750", "NoSchedule"),
        ],
        [taint("dedicated", "user1")],
        None,
        id="Pod with mixed tolerations (Equal and Gt) when feature gate is disabled - only Equal is honored",
    ),
]


@pytest.mark.parametrize(("tolerations", "taints", "want"), FEATURE_GATE_CASES)
def test_taint_toleration_filter_with_feature_gate(tolerations, taints, want):
    assert_filter(tolerations, taints, want)


# --------------------------------------------------------------------------------------------------------------------
# core/v1 TestTolerationToleratesTaint, through Filter with one toleration and one taint
# --------------------------------------------------------------------------------------------------------------------

SLA = "node.kubernetes.io/sla"

TOLERATES_TAINT_CASES = [
    pytest.param(
        toleration("foo", "Exists", "", "NoSchedule"),
        taint("foo", "", "NoSchedule"),
        True,
        id="toleration and taint have the same key and effect, and operator is Exists, and taint has no value, "
        "expect tolerated",
    ),
    pytest.param(
        toleration("foo", "Exists", "", "NoSchedule"),
        taint("foo", "bar", "NoSchedule"),
        True,
        id="toleration and taint have the same key and effect, and operator is Exists, and taint has some value, "
        "expect tolerated",
    ),
    pytest.param(
        toleration("", "Exists", "", "NoSchedule"),
        taint("foo", "bar", "NoSchedule"),
        True,
        id="toleration and taint have the same effect, toleration has empty key and operator is Exists, means match "
        "all taints, expect tolerated",
    ),
    pytest.param(
        toleration("foo", "Equal", "bar", "NoSchedule"),
        taint("foo", "bar", "NoSchedule"),
        True,
        id="toleration and taint have the same key, effect and value, and operator is Equal, expect tolerated",
    ),
    pytest.param(
        toleration("foo", "Equal", "value1", "NoSchedule"),
        taint("foo", "value2", "NoSchedule"),
        False,
        id="toleration and taint have the same key and effect, but different values, and operator is Equal, "
        "expect not tolerated",
    ),
    pytest.param(
        # The taint is NoExecute (as upstream): Filter checks NoExecute taints too.
        toleration("foo", "Equal", "bar", "NoSchedule"),
        taint("foo", "bar", "NoExecute"),
        False,
        id="toleration and taint have the same key and value, but different effects, and operator is Equal, "
        "expect not tolerated",
    ),
    pytest.param(
        toleration(SLA, "Gt", "950", "NoSchedule"),
        taint(SLA, "800"),
        False,
        id="toleration with Gt operator - taint value less than toleration value, expect not tolerated",
    ),
    pytest.param(
        toleration(SLA, "Gt", "750", "NoSchedule"),
        taint(SLA, "950"),
        True,
        id="toleration with Gt operator - taint value greater than toleration value, expect tolerated",
    ),
    pytest.param(
        toleration(SLA, "Lt", "800", "NoSchedule"),
        taint(SLA, "950"),
        False,
        id="toleration with Lt operator - taint value greater than toleration value, expect not tolerated",
    ),
    pytest.param(
        toleration(SLA, "Lt", "950", "NoSchedule"),
        taint(SLA, "800"),
        True,
        id="toleration with Lt operator - taint value less than toleration value, expect tolerated",
    ),
    pytest.param(
        toleration(SLA, "Gt", "950", "NoSchedule"),
        taint(SLA, "950"),
        False,
        id="toleration with Gt operator and taint with equal numeric value, expect not tolerated",
    ),
    pytest.param(
        toleration(SLA, "Gt", "950", "NoSchedule"),
        taint(SLA, "high"),
        False,
        id="toleration with Gt operator and taint with non-numeric value, expect not tolerated",
    ),
    pytest.param(
        toleration("test-key", "Gt", "-100", "NoSchedule"),
        taint("test-key", "-200"),
        False,
        id="toleration with Gt operator and negative numeric values - taint value less than threshold, "
        "expect not tolerated",
    ),
    pytest.param(
        toleration("test-key", "Gt", "9223372036854775806", "NoSchedule"),
        taint("test-key", "100"),
        False,
        id="toleration with Gt operator and large int64 values - taint value less than threshold, expect not tolerated",
    ),
]


@pytest.mark.parametrize(("tol", "node_taint", "tolerated"), TOLERATES_TAINT_CASES)
def test_toleration_tolerates_taint(tol, node_taint, tolerated):
    assert_filter([tol], [node_taint], None if tolerated else UNTOLERATED)


# --------------------------------------------------------------------------------------------------------------------
# core/v1 TestCompareNumericValues, through Filter: toleration {test-key <op> tolerationVal NoSchedule} against taint
# {test-key=taintVal:NoSchedule}
# --------------------------------------------------------------------------------------------------------------------

COMPARE_NUMERIC_CASES = [
    pytest.param("100", "200", "Gt", True, id="Gt operator - taint value greater than toleration value, expect true"),
    pytest.param("200", "100", "Gt", False, id="Gt operator - taint value less than toleration value, expect false"),
    pytest.param("100", "100", "Gt", False, id="Gt operator - taint value equal to toleration value, expect false"),
    pytest.param("-100", "-50", "Gt", True, id="Gt operator - negative numbers, taint greater, expect true"),
    pytest.param("-50", "-100", "Gt", False, id="Gt operator - negative numbers, taint less, expect false"),
    pytest.param("0", "1", "Gt", True, id="Gt operator - zero and positive, expect true"),
    pytest.param(
        "9223372036854775806",
        "9223372036854775807",
        "Gt",
        True,
        id="Gt operator - large int64 values, taint greater, expect true",
    ),
    pytest.param("200", "100", "Lt", True, id="Lt operator - taint value less than toleration value, expect true"),
    pytest.param("100", "200", "Lt", False, id="Lt operator - taint value greater than toleration value, expect false"),
    pytest.param("100", "100", "Lt", False, id="Lt operator - taint value equal to toleration value, expect false"),
    pytest.param("-50", "-100", "Lt", True, id="Lt operator - negative numbers, taint less, expect true"),
    pytest.param("-100", "-50", "Lt", False, id="Lt operator - negative numbers, taint greater, expect false"),
    pytest.param("0", "-1", "Lt", True, id="Lt operator - zero and negative, expect true"),
    pytest.param("abc", "100", "Gt", False, id="Gt operator - invalid toleration value (non-numeric), expect false"),
    pytest.param("", "100", "Gt", False, id="Gt operator - invalid toleration value (empty string), expect false"),
    pytest.param("0100", "200", "Gt", False, id="Gt operator - invalid toleration value (leading zero), expect false"),
    pytest.param("+100", "200", "Gt", False, id="Gt operator - invalid toleration value (plus sign), expect false"),
    pytest.param(
        "100.5", "200", "Gt", False, id="Gt operator - invalid toleration value (floating point), expect false"
    ),
    pytest.param("-", "100", "Gt", False, id="Gt operator - invalid toleration value (just minus sign), expect false"),
    pytest.param("100", "xyz", "Gt", False, id="Gt operator - invalid taint value (non-numeric), expect false"),
    pytest.param("100", "", "Gt", False, id="Gt operator - invalid taint value (empty string), expect false"),
    pytest.param("100", "0200", "Gt", False, id="Gt operator - invalid taint value (leading zero), expect false"),
    pytest.param("100", "+200", "Lt", False, id="Lt operator - invalid taint value (plus sign), expect false"),
    pytest.param("100", " 200 ", "Lt", False, id="Lt operator - invalid taint value (spaces), expect false"),
    pytest.param("0", "0", "Gt", False, id="Gt operator - both zero, expect false"),
    pytest.param("0", "0", "Lt", False, id="Lt operator - both zero, expect false"),
    pytest.param("0", "9223372036854775807", "Gt", True, id="Gt operator - max int64 as taint, expect true"),
    pytest.param("0", "-9223372036854775808", "Lt", True, id="Lt operator - min int64 as taint, expect true"),
]


@pytest.mark.parametrize(("toleration_val", "taint_val", "operator", "expected"), COMPARE_NUMERIC_CASES)
def test_compare_numeric_values(toleration_val, taint_val, operator, expected):
    tol = toleration("test-key", operator, toleration_val, "NoSchedule")
    assert_filter([tol], [taint("test-key", taint_val)], None if expected else UNTOLERATED)
