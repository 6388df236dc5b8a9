"""Malformed objects, quantities and plugin arguments give one clear KubeObjectError, never a deep traceback.

Each error must name the object (``Pod default/web``, ``Node n1``) and the field path, as the API server's
validation errors do (``spec.containers[0].resources.requests.cpu``), and must not chain an internal exception.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

import podgym.envs.kube as kube
from podgym.envs.kube.errors import ConfigError
from tests.kube.builders import bare_pod, node, on_node, pod

NODES = [node("n1", allocatable={"cpu": "4", "memory": "8Gi", "pods": "110"})]


def web(**kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("containers", [{"cpu": "1", "memory": "1Gi"}])
    return pod("web", **kwargs)


def changed(obj: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    change(out)
    return out


def raises_clean(call: Callable[[], Any], kind: type[kube.KubeObjectError] = kube.KubeObjectError):
    """The KubeObjectError (exactly `kind`: ConfigError for configuration) `call` raises; it must not carry a
    chained internal exception."""
    with pytest.raises(kube.KubeObjectError) as exc:
        call()
    err = exc.value
    assert type(err) is kind
    assert err.__cause__ is None
    assert err.__suppress_context__ or err.__context__ is None, "an internal exception is chained under the error"
    return err


def assert_names(err: kube.KubeObjectError, *parts: str) -> None:
    message = str(err)
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"


# ---------------------------------------------------------------------------------------------------------------
# Pods
# ---------------------------------------------------------------------------------------------------------------


def test_pod_without_spec() -> None:
    p = changed(web(), lambda p: p.pop("spec"))
    err = raises_clean(lambda: kube.schedule(p, NODES))
    assert_names(err, "Pod default/web", "field spec")


@pytest.mark.parametrize("spec", [None, [], "spec"])
def test_pod_spec_not_an_object(spec: Any) -> None:
    p = changed(web(), lambda p: p.__setitem__("spec", spec))
    err = raises_clean(lambda: kube.parse_pod(p))
    assert_names(err, "Pod default/web", "field spec")


def test_pod_without_metadata_name() -> None:
    p = changed(web(), lambda p: p["metadata"].pop("name"))
    err = raises_clean(lambda: kube.schedule(p, NODES))
    assert_names(err, "Pod", "metadata.name")


def test_pod_without_metadata() -> None:
    p = changed(web(), lambda p: p.pop("metadata"))
    err = raises_clean(lambda: kube.parse_pod(p))
    assert_names(err, "Pod", "metadata")


def test_pod_not_a_mapping() -> None:
    err = raises_clean(lambda: kube.parse_pod(["web"]))
    assert_names(err, "Pod", "list")


def test_pod_in_other_namespace_is_named_with_it() -> None:
    p = pod("web", namespace="shop", containers=[{"cpu": "x"}])
    err = raises_clean(lambda: kube.parse_pod(p))
    assert_names(err, "Pod shop/web", "spec.containers[0].resources.requests.cpu")


def test_negative_cpu_request() -> None:
    err = raises_clean(lambda: kube.schedule(web(containers=[{"cpu": "-1"}]), NODES))
    assert_names(err, "Pod default/web", "spec.containers[0].resources.requests.cpu", "-1")


def test_negative_overhead() -> None:
    err = raises_clean(lambda: kube.parse_pod(web(overhead={"memory": "-1Mi"})))
    assert_names(err, "Pod default/web", "spec.overhead.memory")


@pytest.mark.parametrize("quantity", ["1.5.3", "12Kb", "abc", "", "1 Gi", "--1", "1e", "0x10"])
def test_malformed_quantity_in_a_request(quantity: str) -> None:
    err = raises_clean(lambda: kube.schedule(web(containers=[{"cpu": "1", "memory": quantity}]), NODES))
    assert_names(err, "Pod default/web", "spec.containers[0].resources.requests.memory", repr(quantity))


@pytest.mark.parametrize("quantity", ["1.5.3", "12Kb", "abc"])
def test_malformed_quantity_direct(quantity: str) -> None:
    err = raises_clean(lambda: kube.parse_quantity(quantity, field="spec.x", obj="Pod default/web"))
    assert_names(err, "Pod default/web", "spec.x", repr(quantity))


def test_malformed_quantity_in_the_second_container() -> None:
    p = web(containers=[{"cpu": "1"}, {"cpu": "1.5.3"}])
    err = raises_clean(lambda: kube.parse_pod(p))
    assert_names(err, "Pod default/web", "spec.containers[1].resources.requests.cpu")


def test_malformed_quantity_in_an_init_container() -> None:
    p = web(init_containers=[{"memory": "12Kb"}])
    err = raises_clean(lambda: kube.parse_pod(p))
    assert_names(err, "Pod default/web", "spec.initContainers[0].resources.requests.memory")


@pytest.mark.parametrize("value", [True, False, None, [1], {"v": 1}])
def test_wrong_type_as_a_quantity(value: Any) -> None:
    p = changed(web(), lambda p: p["spec"]["containers"][0]["resources"]["requests"].__setitem__("cpu", value))
    err = raises_clean(lambda: kube.parse_pod(p))
    assert_names(err, "Pod default/web", "spec.containers[0].resources.requests.cpu")


def test_containers_a_dict() -> None:
    p = changed(web(), lambda p: p["spec"].__setitem__("containers", {"name": "c"}))
    err = raises_clean(lambda: kube.schedule(p, NODES))
    assert_names(err, "Pod default/web", "spec.containers", "list")


def test_container_not_an_object() -> None:
    p = changed(web(), lambda p: p["spec"].__setitem__("containers", ["nginx"]))
    err = raises_clean(lambda: kube.parse_pod(p))
    assert_names(err, "Pod default/web", "spec.containers[0]")


def test_requests_a_list() -> None:
    p = changed(web(), lambda p: p["spec"]["containers"][0]["resources"].__setitem__("requests", ["cpu", "1"]))
    err = raises_clean(lambda: kube.schedule(p, NODES))
    assert_names(err, "Pod default/web", "spec.containers[0].resources.requests")


def test_limits_a_list() -> None:
    p = changed(web(), lambda p: p["spec"]["containers"][0]["resources"].__setitem__("limits", ["cpu", "1"]))
    err = raises_clean(lambda: kube.schedule(p, NODES))
    assert_names(err, "Pod default/web", "spec.containers[0].resources.limits")


@pytest.mark.parametrize(
    ("stamp", "value"),
    [("creationTimestamp", "yesterday"), ("creationTimestamp", "2026-13-40T00:00:00Z"), ("deletionTimestamp", 5)],
)
def test_a_malformed_timestamp(stamp: str, value: Any) -> None:
    # The queue orders pending pods by creationTimestamp and holds back those being deleted: a time that is none
    # is named, as the API server would refuse it.
    p = changed(web(), lambda p: p["metadata"].__setitem__(stamp, value))
    err = raises_clean(lambda: kube.schedule(p, NODES))
    assert_names(err, "Pod default/web", f"metadata.{stamp}")


def test_well_formed_timestamps_are_read() -> None:
    stamps = {"creationTimestamp": "2026-12-04T15:02:00Z", "deletionTimestamp": "2026-12-04T15:03:00.5+01:00"}
    p = changed(web(), lambda p: p["metadata"].update(stamps))
    assert kube.parse_pod(p).terminating


def test_label_with_an_int_value() -> None:
    err = raises_clean(lambda: kube.schedule(web(labels={"app": "web", "replica": 3}), NODES))  # type: ignore[dict-item]
    assert_names(err, "Pod default/web", "metadata.labels.replica")


def test_node_selector_with_an_int_value() -> None:
    err = raises_clean(lambda: kube.parse_pod(web(node_selector={"tier": 1})))  # type: ignore[dict-item]
    assert_names(err, "Pod default/web", "spec.nodeSelector.tier")


def test_toleration_operator_foo() -> None:
    p = web(tolerations=[{"key": "a", "operator": "Exists"}, {"key": "b", "operator": "Foo", "value": "x"}])
    err = raises_clean(lambda: kube.schedule(p, NODES))
    assert_names(err, "Pod default/web", "spec.tolerations[1].operator", "'Foo'")


def test_toleration_effect_never() -> None:
    p = web(tolerations=[{"key": "a", "operator": "Exists", "effect": "Never"}])
    err = raises_clean(lambda: kube.parse_pod(p))
    assert_names(err, "Pod default/web", "spec.tolerations[0].effect", "'Never'")


def test_node_selector_term_operator_like() -> None:
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "Like", "values": ["a"]}]}]
            }
        }
    }
    err = raises_clean(lambda: kube.schedule(web(affinity=affinity), NODES))
    assert_names(
        err,
        "Pod default/web",
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
        ".nodeSelectorTerms[0].matchExpressions[0].operator",
        "'Like'",
    )


def test_preferred_term_operator_like() -> None:
    affinity = {
        "nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 1, "preference": {"matchExpressions": [{"key": "zone", "operator": "Like"}]}}
            ]
        }
    }
    err = raises_clean(lambda: kube.parse_pod(web(affinity=affinity)))
    assert_names(
        err,
        "Pod default/web",
        "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].preference"
        ".matchExpressions[0].operator",
    )


def test_bad_running_pod_is_named() -> None:
    running = on_node(pod("db", namespace="data", containers=[{"cpu": "abc"}]), "n1")
    err = raises_clean(lambda: kube.schedule(web(), NODES, [running]))
    assert_names(err, "Pod data/db", "spec.containers[0].resources.requests.cpu")


def test_bad_entry_in_a_list_of_pods_names_its_index() -> None:
    running = [on_node(pod("ok"), "n1"), {"kind": "Pod", "spec": {"containers": []}}]
    err = raises_clean(lambda: kube.schedule(web(), NODES, running))
    assert_names(err, "pods[1]", "metadata")


# ---------------------------------------------------------------------------------------------------------------
# Nodes
# ---------------------------------------------------------------------------------------------------------------


def test_node_without_allocatable() -> None:
    bad = changed(node("n2"), lambda n: n["status"].pop("allocatable"))
    err = raises_clean(lambda: kube.schedule(web(), [*NODES, bad]))
    assert_names(err, "Node n2", "status.allocatable")


def test_node_without_status() -> None:
    bad = changed(node("n2"), lambda n: n.pop("status"))
    err = raises_clean(lambda: kube.parse_node(bad))
    assert_names(err, "Node n2", "status.allocatable")


@pytest.mark.parametrize("field, value", [("status.allocatable", ["cpu", "4"]), ("status", "Ready")])
def test_node_allocatable_or_status_of_the_wrong_type(field: str, value: Any) -> None:
    # Present but not an object: the error says what it got, not that the field is missing.
    def change(n: dict[str, Any]) -> None:
        if field == "status":
            n["status"] = value
        else:
            n["status"]["allocatable"] = value

    err = raises_clean(lambda: kube.parse_node(changed(node("n2"), change)))
    assert_names(err, "Node n2", field, "expected an object", repr(value))
    assert "missing" not in str(err)


def test_node_malformed_allocatable() -> None:
    bad = node("n2", allocatable={"cpu": "4", "memory": "8GB"})
    err = raises_clean(lambda: kube.schedule(web(), [bad]))
    assert_names(err, "Node n2", "status.allocatable.memory", "'8GB'")


def test_node_negative_allocatable() -> None:
    bad = node("n2", allocatable={"cpu": "-4"})
    err = raises_clean(lambda: kube.parse_node(bad))
    assert_names(err, "Node n2", "status.allocatable.cpu")


def test_taint_effect_never() -> None:
    bad = node("n2", taints=[{"key": "a", "value": "b", "effect": "Never"}])
    err = raises_clean(lambda: kube.schedule(web(), [bad]))
    assert_names(err, "Node n2", "spec.taints[0].effect", "'Never'")


def test_node_unschedulable_not_a_bool() -> None:
    bad = changed(node("n2"), lambda n: n["spec"].__setitem__("unschedulable", "yes"))
    err = raises_clean(lambda: kube.parse_node(bad))
    assert_names(err, "Node n2", "spec.unschedulable")


def test_node_label_with_an_int_value() -> None:
    bad = node("n2", labels={"gpus": 4})  # type: ignore[dict-item]
    err = raises_clean(lambda: kube.parse_node(bad))
    assert_names(err, "Node n2", "metadata.labels.gpus")


def test_duplicate_node_name() -> None:
    err = raises_clean(lambda: kube.schedule(web(), [*NODES, node("n2"), node("n1")]))
    assert_names(err, "Node n1", "duplicate")


def test_bad_entry_in_a_list_of_nodes_names_its_index() -> None:
    # The entry has no name, so only its index can locate it.
    nameless = changed(node("n2"), lambda n: n["metadata"].pop("name"))
    err = raises_clean(lambda: kube.schedule(web(), [*NODES, nameless]))
    assert_names(err, "nodes[1]", "metadata.name")


def test_non_object_entry_in_a_list_of_nodes_names_its_index() -> None:
    err = raises_clean(lambda: kube.schedule(web(), [*NODES, "n2"]))
    assert_names(err, "nodes[1]", "str")


def test_bad_entry_in_a_node_list_object_names_its_index() -> None:
    node_list = {"apiVersion": "v1", "kind": "NodeList", "items": [NODES[0], node("n2", allocatable={"cpu": "abc"})]}
    err = raises_clean(lambda: kube.schedule(web(), node_list))  # type: ignore[arg-type]
    assert_names(err, "Node n2", "status.allocatable.cpu")


# ---------------------------------------------------------------------------------------------------------------
# Plugins and their args
# ---------------------------------------------------------------------------------------------------------------


def test_unknown_plugin_in_filter() -> None:
    err = raises_clean(lambda: kube.filter(web(), NODES, plugin="NodeResourceFit"), ConfigError)
    assert_names(err, "'NodeResourceFit'", "plugin")


def test_unknown_plugin_in_score() -> None:
    err = raises_clean(lambda: kube.score(web(), NODES, plugin="LeastAllocated"), ConfigError)
    assert_names(err, "'LeastAllocated'", "plugin")


def test_unmodeled_plugin_in_filter_says_so() -> None:
    err = raises_clean(lambda: kube.filter(web(), NODES, plugin="VolumeBinding"), ConfigError)
    assert_names(err, "'VolumeBinding'", "does not model")


def test_score_of_a_filter_only_plugin() -> None:
    err = raises_clean(lambda: kube.score(web(), NODES, plugin="NodeName"))
    assert_names(err, "'NodeName'", "Score")


def test_args_with_an_unknown_field_in_filter() -> None:
    err = raises_clean(
        lambda: kube.filter(web(), NODES, plugin="NodeResourcesFit", args={"ignoredResource": ["x"]}), ConfigError
    )
    assert_names(err, "NodeResourcesFit", "ignoredResource")


def test_args_with_an_unknown_nested_field_in_score() -> None:
    args = {"scoringStrategy": {"type": "MostAllocated", "resource": [{"name": "cpu"}]}}
    err = raises_clean(lambda: kube.score(web(), NODES, plugin="NodeResourcesFit", args=args), ConfigError)
    assert_names(err, "NodeResourcesFit", "scoringStrategy.resource")


def test_args_for_a_plugin_without_args() -> None:
    err = raises_clean(lambda: kube.filter(web(), NODES, plugin="TaintToleration", args={"weight": 3}), ConfigError)
    assert_names(err, "TaintToleration", "weight")


def test_args_not_an_object() -> None:
    err = raises_clean(
        lambda: kube.score(web(), NODES, plugin="NodeResourcesBalancedAllocation", args=["cpu"]), ConfigError
    )  # type: ignore[arg-type]
    assert_names(err, "NodeResourcesBalancedAllocation", "args")


def test_args_weight_out_of_range() -> None:
    args = {"scoringStrategy": {"resources": [{"name": "cpu", "weight": 101}]}}
    err = raises_clean(lambda: kube.score(web(), NODES, plugin="NodeResourcesFit", args=args), ConfigError)
    assert_names(err, "NodeResourcesFit", "scoringStrategy.resources[0].weight", "101")


# ---------------------------------------------------------------------------------------------------------------
# Documented outcomes that are not errors
# ---------------------------------------------------------------------------------------------------------------


def test_pod_larger_than_every_node_fits_nowhere() -> None:
    nodes = [
        node("small", allocatable={"cpu": "2", "memory": "4Gi", "pods": "110"}),
        node("large", allocatable={"cpu": "8", "memory": "32Gi", "pods": "110"}),
    ]
    huge = pod("huge", containers=[{"cpu": "16", "memory": "8Gi"}])
    decision = kube.schedule(huge, nodes)
    assert decision.selected is None
    assert decision.tied == []
    assert decision.feasible == []
    for v in decision.verdicts:
        assert v.evaluated
        assert v.status is not None
        assert v.status.plugin == "NodeResourcesFit"
        assert "Insufficient cpu" in v.status.reasons
        # 16 cpu > allocatable on both nodes: preemption cannot help (fit.go: Unresolvable = request > allocatable).
        assert v.status.code == "UnschedulableAndUnresolvable"
        assert v.total is None
    # small also lacks memory (8Gi > 4Gi); large has 32Gi.
    reasons = {v.name: v.status.reasons for v in decision.verdicts if v.status}
    assert reasons == {"small": ("Insufficient cpu", "Insufficient memory"), "large": ("Insufficient cpu",)}


def test_no_nodes_at_all() -> None:
    decision = kube.schedule(web(), [])
    assert decision.selected is None
    assert decision.verdicts == []


def test_pod_without_containers_is_accepted() -> None:
    # A pod with no containers requests nothing: it fits, and is not an error.
    assert kube.schedule(bare_pod("empty"), NODES).selected == "n1"


# ---------------------------------------------------------------------------------------------------------------
# Topology spread constraints, pod (anti-)affinity, owner references, namespaces
# ---------------------------------------------------------------------------------------------------------------

SPREAD = {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {}}
TERM = {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ({**SPREAD, "maxSkew": 0}, "spec.topologySpreadConstraints[0].maxSkew", "greater than zero"),
        ({**SPREAD, "topologyKey": ""}, "spec.topologySpreadConstraints[0].topologyKey", "can not be empty"),
        ({**SPREAD, "whenUnsatisfiable": "Never"}, "spec.topologySpreadConstraints[0].whenUnsatisfiable", "Never"),
        ({**SPREAD, "minDomains": 0}, "spec.topologySpreadConstraints[0].minDomains", "greater than 0"),
        (
            {**SPREAD, "whenUnsatisfiable": "ScheduleAnyway", "minDomains": 2},
            "spec.topologySpreadConstraints[0].minDomains",
            "DoNotSchedule",
        ),
        ({**SPREAD, "nodeTaintsPolicy": "Always"}, "spec.topologySpreadConstraints[0].nodeTaintsPolicy", "Honor"),
        (
            {**SPREAD, "labelSelector": {"matchExpressions": [{"key": "app", "operator": "Has"}]}},
            "spec.topologySpreadConstraints[0].labelSelector.matchExpressions[0].operator",
            "Has",
        ),
        (
            {**SPREAD, "labelSelector": {"matchExpressions": [{"key": "app", "operator": "In"}]}},
            "spec.topologySpreadConstraints[0].labelSelector.matchExpressions[0].values",
            "can't be empty",
        ),
    ],
)
def test_bad_spread_constraint_names_the_field(change, field, problem) -> None:
    p = changed(web(), lambda p: p["spec"].__setitem__("topologySpreadConstraints", [change]))
    err = raises_clean(lambda: kube.filter(p, NODES, plugin="PodTopologySpread"))
    assert_names(err, "Pod default/web", f"field {field}", problem)


@pytest.mark.parametrize(
    ("affinity", "field", "problem"),
    [
        (
            {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{**TERM, "topologyKey": ""}]}},
            "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey",
            "can not be empty",
        ),
        (
            {
                "podAntiAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 0, "podAffinityTerm": TERM}]
                }
            },
            "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
            "1-100",
        ),
        (
            {
                "podAntiAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [{**TERM, "namespaces": "default"}]
                }
            },
            "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].namespaces",
            "expected a list",
        ),
        (
            {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{**TERM, "namespaceSelector": []}]}},
            "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].namespaceSelector",
            "label selector",
        ),
    ],
)
def test_bad_pod_affinity_names_the_field(affinity, field, problem) -> None:
    p = changed(web(), lambda p: p["spec"].__setitem__("affinity", affinity))
    err = raises_clean(lambda: kube.filter(p, NODES, plugin="InterPodAffinity"))
    assert_names(err, "Pod default/web", f"field {field}", problem)


def test_bad_owner_reference_and_namespace() -> None:
    p = changed(
        web(), lambda p: p["metadata"].__setitem__("ownerReferences", [{"kind": "ReplicaSet", "controller": "yes"}])
    )
    err = raises_clean(lambda: kube.filter(p, NODES, plugin="PodTopologySpread"))
    assert_names(err, "Pod default/web", "field metadata.ownerReferences[0].controller", "boolean")
    bad_ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team", "labels": {"tier": 1}}}
    err = raises_clean(lambda: kube.filter(web(), NODES, plugin="InterPodAffinity", namespaces=[bad_ns]))
    assert_names(err, "namespaces[0]", "Namespace team", "field metadata.labels.tier")


def test_bad_spread_args_name_the_field() -> None:
    err = raises_clean(
        lambda: kube.filter(web(), NODES, plugin="PodTopologySpread", args={"defaultConstraints": [SPREAD]}),
        ConfigError,
    )
    assert_names(err, "PodTopologySpread args", "defaultConstraints")
    err = raises_clean(
        lambda: kube.filter(web(), NODES, plugin="InterPodAffinity", args={"hardPodAffinityWeight": 101}), ConfigError
    )
    assert_names(err, "InterPodAffinity args", "hardPodAffinityWeight", "0-100")
