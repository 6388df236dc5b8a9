"""Cases from kubernetes/kubernetes (v1.35 era, `fwk "k8s.io/kube-scheduler/framework"`), read at
natasha41575/kubernetes:

* pkg/scheduler/framework/plugins/nodeunschedulable/node_unschedulable_test.go @ 9829b8d729c3 (TestNodeUnschedulable)
* pkg/scheduler/framework/plugins/nodename/node_name_test.go @ 369d91a2d740 (TestNodeName)

Upstream behaviour pinned here:

* NodeUnschedulable Filter: when node.spec.unschedulable is true and the pod's tolerations do not tolerate the taint
  {key: node.kubernetes.io/unschedulable, effect: NoSchedule}, UnschedulableAndUnresolvable
  "node(s) were unschedulable".
* NodeName Filter: when pod.spec.nodeName is set and differs from the node's name, UnschedulableAndUnresolvable
  "node(s) didn't match the requested node name".

Deviation: upstream nodes built as `&v1.Node{}` have an empty name; here they are called "node".

Left out: TestNodeUnschedulable_DeferredResizeSkipped and TestNodeName_PreFilter (in-place pod resize /
InPlacePodVerticalScalingSchedulerPreemption, not modelled; TestNodeName_PreFilter only inspects the PreFilterResult);
TestIsSchedulableAfterNodeChange and TestIsSchedulableAfterPodTolerationChange (queueing hints, not Filter/Score).
"""

from __future__ import annotations

import pytest

import podgym.envs.kube as kube
from tests.kube.builders import node, pod

UNRESOLVABLE = "UnschedulableAndUnresolvable"
ERR_REASON_UNSCHEDULABLE = "node(s) were unschedulable"
ERR_REASON_NODE_NAME = "node(s) didn't match the requested node name"


def assert_filter(p, n, plugin, want):
    """One pod against one node: the message from kube.filter and the status code from kube.filter_status."""
    name = n["metadata"]["name"]
    assert kube.filter(p, [n], [], plugin=plugin) == {name: want}
    status = kube.filter_status(p, [n], [], plugin=plugin)[name]
    if want is None:
        assert status is None
    else:
        assert (status.code, status.reasons, status.message) == (UNRESOLVABLE, (want,), want)


# --------------------------------------------------------------------------------------------------------------------
# TestNodeUnschedulable
# --------------------------------------------------------------------------------------------------------------------

UNSCHEDULABLE_CASES = [
    pytest.param(
        pod("pod"),
        node("node", unschedulable=True),
        ERR_REASON_UNSCHEDULABLE,
        id="Does not schedule pod to unschedulable node (node.Spec.Unschedulable==true)",
    ),
    pytest.param(pod("pod"), node("node", unschedulable=False), None, id="Schedule pod to normal node"),
    pytest.param(
        pod("pod", tolerations=[{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]),
        node("node", unschedulable=True),
        None,
        id="Schedule pod with toleration to unschedulable node (node.Spec.Unschedulable==true)",
    ),
]


@pytest.mark.parametrize(("p", "n", "want"), UNSCHEDULABLE_CASES)
def test_node_unschedulable(p, n, want):
    assert_filter(p, n, "NodeUnschedulable", want)


# --------------------------------------------------------------------------------------------------------------------
# TestNodeName
# --------------------------------------------------------------------------------------------------------------------

NODE_NAME_CASES = [
    pytest.param(pod("pod"), node("node"), None, id="no host specified"),
    pytest.param(pod("pod", node_name="foo"), node("foo"), None, id="host matches"),
    pytest.param(pod("pod", node_name="bar"), node("foo"), ERR_REASON_NODE_NAME, id="host doesn't match"),
]


@pytest.mark.parametrize(("p", "n", "want"), NODE_NAME_CASES)
def test_node_name(p, n, want):
    assert_filter(p, n, "NodeName", want)
