"""PodDisruptionBudgets (policy/v1) and PriorityClasses: parsing exactly the Kubernetes API shape, the budget a
disruption uses (filterPodsWithPDBViolation's rules), the disruptions allowed (the disruption controller's
arithmetic), dumps and manifests that carry them, and the priority admission gives pods from their class."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from podgym.envs.kube import parse_pod
from podgym.envs.kube.disruption import IntOrPercent, parse_pdb, parse_pdbs
from podgym.envs.kube.dumps import read_dump
from podgym.envs.kube.errors import KubeObjectError
from podgym.envs.kube.priority import priority_classes, resolve_priority
from podgym.envs.workload.snapshot import load_snapshot, pdbs_from_manifests, pods_from_manifests
from tests.kube.builders import node, on_node, pod


def pdb(name: str = "web", namespace: str = "prod", selector: Any = None, **spec: Any) -> dict[str, Any]:
    """A policy/v1 PodDisruptionBudget as ``kubectl get pdb -o json`` prints an item."""
    body: dict[str, Any] = {"selector": selector if selector is not None else {"matchLabels": {"app": "web"}}}
    body.update(spec)
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": body,
    }


def web(name: str, bound: bool = True, **labels: str) -> Any:
    p = pod(name, namespace="prod", labels={"app": "web", **labels})
    return parse_pod(on_node(p, "n1") if bound else p)


def test_parse_the_api_shape() -> None:
    obj = pdb(minAvailable="50%")
    obj["status"] = {"disruptionsAllowed": 2, "currentHealthy": 4, "disruptedPods": {"web-3": "2026-01-01T00:00:00Z"}}
    b = parse_pdb(obj)
    assert (b.name, b.namespace, b.ref) == ("web", "prod", "prod/web")
    assert b.min_available == IntOrPercent(50, percent=True) and b.max_unavailable is None
    assert b.disruptions_allowed == 2 and b.disrupted_pods == {"web-3"}
    assert parse_pdb(pdb(maxUnavailable=1)).max_unavailable == IntOrPercent(1)
    # A status the controller wrote with its zero left out (omitempty) allows no disruption.
    assert (
        parse_pdb({**pdb(minAvailable=1), "status": {"currentHealthy": 1, "desiredHealthy": 1}}).disruptions_allowed
        == 0
    )


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        ({"minAvailable": 1, "maxUnavailable": 1}, "spec", "cannot be both set"),
        ({"minAvailable": "half"}, "spec.minAvailable", "an integer or a percentage"),
        ({"maxUnavailable": "150%"}, "spec.maxUnavailable", "greater than 100%"),
        ({"minAvailable": -1}, "spec.minAvailable", "greater than or equal to 0"),
        ({"minAvailable": 1.5}, "spec.minAvailable", "expected an integer or a percentage string"),
        (
            {"selector": {"matchExpressions": [{"key": "app", "operator": "Is", "values": ["web"]}]}},
            "spec.selector.matchExpressions[0].operator",
            "must be one of In, NotIn, Exists, DoesNotExist",
        ),
        (
            {"selector": {"matchExpressions": [{"key": "app", "operator": "In"}]}},
            "spec.selector.matchExpressions[0].values",
            "can't be empty",
        ),
    ],
)
def test_a_malformed_budget_names_itself_and_the_field(spec: dict, field: str, message: str) -> None:
    obj = pdb(**spec)
    with pytest.raises(KubeObjectError) as info:
        parse_pdbs([pdb("ok", minAvailable=1), obj])
    text = str(info.value)
    assert "PodDisruptionBudget prod/web" in text and field in text and message in text and "pdbs[1]" in text


def test_which_pods_a_disruption_charges() -> None:
    b = parse_pdb({**pdb(minAvailable=1), "status": {"disruptionsAllowed": 0, "disruptedPods": {"web-2": "t"}}})
    assert b.covers(web("web-0"))
    assert not b.covers(parse_pod(pod("other-ns", namespace="dev", labels={"app": "web"})))
    assert not b.covers(parse_pod(pod("db", namespace="prod", labels={"app": "db"})))
    assert not b.covers(web("web-2"))  # already being disrupted: its eviction uses no budget
    assert not b.covers(parse_pod(pod("bare", namespace="prod")))  # no labels match no budget
    # Preemption: a nil or an empty selector covers nothing (the controller counts the whole namespace for {}).
    everyone = parse_pdb(pdb(selector={}, minAvailable=1))
    assert not everyone.covers(web("web-0")) and everyone.selects(web("web-0"))
    nil = parse_pdb({**pdb(minAvailable=1), "spec": {"minAvailable": 1}})
    assert not nil.covers(web("web-0")) and not nil.selects(web("web-0"))
    exprs = {
        "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["canary"]}],
        "matchLabels": {"app": "web"},
    }
    b = parse_pdb(pdb(selector=exprs, minAvailable=1))
    assert b.covers(web("web-0")) and b.covers(web("web-1", tier="main")) and not b.covers(web("web-c", tier="canary"))


@pytest.mark.parametrize(
    ("spec", "healthy", "pending", "expected", "allowed"),
    [
        ({"minAvailable": 2}, 3, 0, None, 1),
        ({"minAvailable": 3}, 3, 1, None, 0),
        ({"minAvailable": 5}, 3, 0, None, 0),  # never negative
        ({"minAvailable": "50%"}, 4, 0, None, 2),
        ({"minAvailable": "50%"}, 3, 0, None, 1),  # ceil(1.5) = 2 must stay
        ({"minAvailable": "50%"}, 3, 0, 5, 0),  # the controllers' scale: ceil(2.5) = 3
        ({"maxUnavailable": 1}, 4, 0, None, 1),
        ({"maxUnavailable": 1}, 3, 1, None, 0),  # 4 expected, 3 desired, 3 healthy
        ({"maxUnavailable": "30%"}, 10, 0, None, 3),
        ({"maxUnavailable": "25%"}, 3, 0, None, 1),  # ceil(0.75) = 1 may go
        ({}, 3, 0, None, 0),  # neither set: nothing expected, nothing allowed
        ({"minAvailable": 0}, 0, 0, None, 0),  # no pods: nothing expected
    ],
)
def test_disruptions_allowed_as_the_controller_computes_them(spec, healthy, pending, expected, allowed) -> None:
    pods = [web(f"web-{i}") for i in range(healthy)] + [web(f"new-{i}", bound=False) for i in range(pending)]
    pods.append(parse_pod(pod("db", namespace="prod", labels={"app": "db"})))  # not selected
    assert parse_pdb(pdb(**spec)).allowed(pods, expected) == allowed


def test_a_given_status_wins_over_the_computation() -> None:
    obj = {**pdb(minAvailable=1), "status": {"disruptionsAllowed": 7}}
    assert parse_pdb(obj).allowed([web("web-0")]) == 7


def test_dumps_keep_budgets_and_priority_classes(tmp_path: Path) -> None:
    budgets = {"apiVersion": "v1", "kind": "List", "items": [pdb(minAvailable=1), pdb("db", maxUnavailable="10%")]}
    classes = {"apiVersion": "v1", "kind": "List", "items": [priority_class("high", 1000)]}
    running = on_node(pod("web-0", namespace="prod"), "n1")
    cluster = {"apiVersion": "v1", "kind": "List", "items": [node("n1"), running]}
    for name, data in (("pdb.json", budgets), ("pc.json", classes), ("cluster.json", cluster)):
        (tmp_path / name).write_text(json.dumps(data))
    dump = read_dump(tmp_path)
    assert [b["metadata"]["name"] for b in dump.pdbs] == ["web", "db"]
    assert [c["metadata"]["name"] for c in dump.priority_classes] == ["high"]
    assert "PodDisruptionBudget" not in dump.ignored and "PriorityClass" not in dump.ignored
    snap = load_snapshot(tmp_path)
    assert [b.ref for b in snap.pdbs] == ["prod/web", "prod/db"]
    assert snap.pdbs[1].max_unavailable == IntOrPercent(10, percent=True)
    bad = {"apiVersion": "v1", "kind": "List", "items": [pdb(minAvailable="x")]}
    (tmp_path / "pdb.json").write_text(json.dumps(bad))
    with pytest.raises(KubeObjectError, match=r"PodDisruptionBudget prod/web.*spec\.minAvailable"):
        load_snapshot(tmp_path)


def priority_class(name: str, value: int, **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {"name": name},
        "value": value,
        **extra,
    }


def test_priority_classes_give_pods_their_priority_and_preemption_policy() -> None:
    classes = priority_classes(
        [priority_class("high", 1000), priority_class("batch", -5, preemptionPolicy="Never", globalDefault=True)]
    )
    high = parse_pod(resolve_priority({**pod("a"), "spec": {**pod("a")["spec"], "priorityClassName": "high"}}, classes))
    assert (high.priority, high.preemption_policy) == (1000, "PreemptLowerPriority")
    default = parse_pod(resolve_priority(pod("b"), classes))
    assert (default.priority, default.preemption_policy) == (-5, "Never")
    critical = {**pod("c"), "spec": {**pod("c")["spec"], "priorityClassName": "system-node-critical"}}
    assert parse_pod(resolve_priority(critical, classes)).priority == 2000001000
    already = {**pod("d"), "spec": {**pod("d")["spec"], "priority": 7, "priorityClassName": "high"}}
    assert parse_pod(resolve_priority(already, classes)).priority == 7  # as the API server stored it
    unknown = {**pod("e"), "spec": {**pod("e")["spec"], "priorityClassName": "gold"}}
    with pytest.raises(
        KubeObjectError, match=r"Pod default/e.*spec\.priorityClassName.*no PriorityClass with name gold"
    ):
        resolve_priority(unknown, classes)
    with pytest.raises(KubeObjectError, match="more than one global default"):
        priority_classes([priority_class("x", 1, globalDefault=True), priority_class("y", 2, globalDefault=True)])
    with pytest.raises(KubeObjectError, match=r"PriorityClass x.*preemptionPolicy"):
        priority_classes([priority_class("x", 1, preemptionPolicy="Sometimes")])
    with pytest.raises(KubeObjectError, match=r"PriorityClass x.*value"):
        priority_classes([priority_class("x", 2_000_000_000)])


def test_manifests_resolve_priority_classes_and_carry_budgets(tmp_path: Path) -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "prod"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"priorityClassName": "high", "containers": [{"name": "c", "image": "nginx"}]},
            },
        },
    }
    docs = [priority_class("high", 100, preemptionPolicy="Never"), deployment, pdb(minAvailable=1)]
    (tmp_path / "app.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
    pods = [parse_pod(p) for p in pods_from_manifests(tmp_path / "app.yaml")]
    assert [(p.name, p.priority, p.preemption_policy) for p in pods] == [
        ("web-0", 100, "Never"),
        ("web-1", 100, "Never"),
    ]
    assert [b.ref for b in pdbs_from_manifests(tmp_path / "app.yaml")] == ["prod/web"]


def test_a_malformed_preemption_policy_names_the_pod() -> None:
    p = pod("x")
    p["spec"]["preemptionPolicy"] = "Always"
    with pytest.raises(KubeObjectError, match=r"Pod default/x.*spec\.preemptionPolicy"):
        parse_pod(p)


def test_a_pods_start_time_is_read_and_a_malformed_one_named() -> None:
    p = pod("x")
    p["status"]["startTime"] = "1970-01-01T00:01:40Z"
    assert parse_pod(p).start_time == 100.0
    p["status"]["startTime"] = "yesterday"
    with pytest.raises(KubeObjectError, match=r"Pod default/x.*status\.startTime.*RFC 3339"):
        parse_pod(p)
