"""Services: replicated pods with controllers, spread constraints, anti-affinity, priority classes and budgets."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from pydantic import ValidationError

from podgym.envs.kube.errors import KubeObjectError
from podgym.envs.workload import (
    ServicesConfig,
    generate_services,
    load_snapshot,
    manifests_of,
    resolve_budgets,
    selector_matches,
    workload_from_manifests,
    workload_from_pods,
    write_manifests,
    write_snapshot,
)
from podgym.envs.workload.ops import concat
from podgym.envs.workload.pools import cluster_from_pools
from podgym.envs.workload.services import SAFE_ALPHABET, template_hash

CONFIG = {
    "priority_classes": [
        {"name": "critical", "value": 100000},
        {"name": "standard", "value": 1000, "global_default": True},
        {"name": "batch", "value": -10, "preemption_policy": "Never"},
    ],
    "services": [
        {
            "name": "api",
            "count": 2,
            "replicas": [3, 6],
            "cpu": "500m",
            "memory": "1Gi",
            "priority_class": "critical",
            "spread": [
                {"topology_key": "topology.kubernetes.io/zone", "max_skew": 1, "when_unsatisfiable": "DoNotSchedule"},
                {"topology_key": "kubernetes.io/hostname", "when_unsatisfiable": "ScheduleAnyway"},
            ],
            "anti_affinity": {"mode": "required"},
            "disruption_budget": {"min_available": 2},
        },
        {
            "name": "db",
            "kind": "StatefulSet",
            "replicas": 3,
            "start": [10, 100],
            "cpu": "1",
            "anti_affinity": {"mode": "preferred", "weight": 50},
            "disruption_budget": {"max_unavailable": 1},
        },
        {"name": "cache", "kind": "ReplicaSet", "replicas": 4, "disruption_budget": {"min_available": "50%"}},
    ],
}


def pods_of(w):
    return [w.pod_object(i) for i in range(len(w))]


def test_deployment_pods_carry_their_replicaset_labels_constraints_and_priority():
    w = generate_services(CONFIG, seed=0)
    api0 = [p for p in pods_of(w) if p["metadata"]["labels"]["app"] == "api-0"]
    assert 3 <= len(api0) <= 6
    h = api0[0]["metadata"]["labels"]["pod-template-hash"]
    assert len(h) >= 8 and set(h) <= set(SAFE_ALPHABET)
    for p in api0:
        meta, spec = p["metadata"], p["spec"]
        assert meta["labels"] == {"app": "api-0", "pod-template-hash": h}
        (ref,) = meta["ownerReferences"]
        assert (ref["apiVersion"], ref["kind"], ref["name"], ref["controller"]) == (
            "apps/v1",
            "ReplicaSet",
            f"api-0-{h}",
            True,
        )
        assert meta["name"].startswith(f"api-0-{h}-") and len(meta["name"]) == len(f"api-0-{h}-") + 5
        assert (spec["priorityClassName"], spec["priority"], spec["preemptionPolicy"]) == (
            "critical",
            100000,
            "PreemptLowerPriority",
        )
        selector = {"matchLabels": {"app": "api-0"}}
        assert spec["topologySpreadConstraints"] == [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": selector,
            },
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": selector,
            },
        ]
        assert spec["affinity"] == {
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": selector, "topologyKey": "kubernetes.io/hostname"}
                ]
            }
        }
    assert len({p["metadata"]["name"] for p in api0}) == len(api0)
    assert w.priority[[n.startswith("api-") for n in w.names]].tolist() == [100000] * sum(
        n.startswith("api-") for n in w.names
    )


def test_statefulset_and_replicaset_pods_and_the_objects():
    w = generate_services(CONFIG, seed=0)
    db = [p for p in pods_of(w) if p["metadata"]["labels"]["app"] == "db"]
    assert [p["metadata"]["name"] for p in db] == ["db-0", "db-1", "db-2"]
    assert db[0]["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet"
    # No priority_class: the global default class, as admission gives it.
    assert (db[0]["spec"]["priorityClassName"], db[0]["spec"]["priority"]) == ("standard", 1000)
    assert db[0]["spec"]["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"] == [
        {
            "weight": 50,
            "podAffinityTerm": {
                "labelSelector": {"matchLabels": {"app": "db"}},
                "topologyKey": "kubernetes.io/hostname",
            },
        }
    ]
    # Every db pod arrives at one time within [10, 100]; the api and cache pods at 0, first.
    times = w.arrival[[n.startswith("db-") for n in w.names]]
    assert len(set(times.tolist())) == 1 and 10 <= times[0] <= 100
    assert np.all(np.diff(w.arrival) >= 0) and np.all(np.isinf(w.duration))
    kinds = [(o["kind"], o["metadata"]["name"]) for o in w.objects]
    assert kinds[:3] == [("PriorityClass", "critical"), ("PriorityClass", "standard"), ("PriorityClass", "batch")]
    assert ("Deployment", "api-0") in kinds and ("StatefulSet", "db") in kinds and ("ReplicaSet", "cache") in kinds
    pdbs = [o for o in w.objects if o["kind"] == "PodDisruptionBudget"]
    assert [(p["apiVersion"], p["metadata"]["name"], p["spec"]) for p in pdbs] == [
        ("policy/v1", "api-0", {"selector": {"matchLabels": {"app": "api-0"}}, "minAvailable": 2}),
        ("policy/v1", "api-1", {"selector": {"matchLabels": {"app": "api-1"}}, "minAvailable": 2}),
        ("policy/v1", "db", {"selector": {"matchLabels": {"app": "db"}}, "maxUnavailable": 1}),
        ("policy/v1", "cache", {"selector": {"matchLabels": {"app": "cache"}}, "minAvailable": "50%"}),
    ]
    rs = next(o for o in w.objects if o["kind"] == "ReplicaSet" and o["metadata"]["name"].startswith("api-0-"))
    assert rs["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    assert rs["spec"]["replicas"] == sum(n.startswith("api-0-") for n in w.names)


def test_same_seed_same_services_other_seed_other_draws():
    a, b = generate_services(CONFIG, seed=5), generate_services(ServicesConfig.model_validate(CONFIG), seed=5)
    assert a.names == b.names and pods_of(a) == pods_of(b) and a.objects == b.objects
    np.testing.assert_array_equal(a.arrival, b.arrival)
    others = [generate_services(CONFIG, seed=s) for s in range(6, 12)]
    assert any(o.names != a.names for o in others)  # suffixes, replica counts, start times are drawn
    counts = {sum(n.startswith("api-0-") for n in o.names) for o in others}
    assert counts <= set(range(3, 7)) and len(counts) > 1


def test_the_pod_template_hash_is_fnv32a_of_the_template():
    # FNV-32a spelled out: the offset basis, then per byte xor and multiply by the prime (mod 2^32).
    h = 0x811C9DC5
    for byte in b"{}":
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    assert template_hash({}) == "".join(SAFE_ALPHABET[int(c) % 27] for c in str(h))
    assert template_hash({"a": 1}) != template_hash({"a": 2})


def test_budgets_resolve_desired_healthy_as_the_disruption_controller():
    w = generate_services(CONFIG, seed=0)
    budgets = {b.name: b for b in resolve_budgets(w)}
    api0 = sum(n.startswith("api-0-") for n in w.names)
    assert (budgets["default/api-0"].expected, budgets["default/api-0"].desired_healthy) == (api0, 2)
    assert (budgets["default/db"].expected, budgets["default/db"].desired_healthy) == (3, 2)  # 3 - maxUnavailable 1
    assert (budgets["default/cache"].expected, budgets["default/cache"].desired_healthy) == (4, 2)  # ceil(50% of 4)


@pytest.mark.parametrize(
    ("spec", "expected", "desired"),
    [
        ({"minAvailable": "34%"}, 3, 2),  # ceil(1.02)
        ({"maxUnavailable": "34%"}, 3, 1),  # 3 - ceil(1.02)
        ({"maxUnavailable": 5}, 3, 0),  # never below 0
        ({"minAvailable": 0}, 3, 0),
        ({}, 3, 0),
    ],
)
def test_percentages_round_up(spec, expected, desired):
    pods = [
        {"metadata": {"name": f"p{i}", "labels": {"app": "x"}}, "spec": {"containers": [{"name": "c"}]}}
        for i in range(3)
    ]
    w = workload_from_pods(pods)
    w.objects = [{"kind": "PodDisruptionBudget", "metadata": {"name": "b"}, "spec": {"selector": {}, **spec}}]
    (b,) = resolve_budgets(w)
    assert (b.expected, b.desired_healthy, b.templates) == (expected, desired, (0,))


def test_label_selectors():
    labels = {"app": "web", "tier": "front"}
    assert selector_matches({}, labels) and not selector_matches(None, labels)
    assert selector_matches({"matchLabels": {"app": "web"}}, labels)
    assert not selector_matches({"matchLabels": {"app": "db"}}, labels)
    expr = {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front", "back"]}]}
    assert selector_matches(expr, labels)
    assert not selector_matches(
        {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["front"]}]}, labels
    )
    assert selector_matches({"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "zone", "operator": "Exists"}]}, labels)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"services": []}, "services"),
        ({"services": [{"name": "a"}]}, "replicas"),
        ({"services": [{"name": "a", "replicas": 0}]}, "1 <= low <= high"),
        ({"services": [{"name": "a", "replicas": [4, 2]}]}, "1 <= low <= high"),
        ({"services": [{"name": "a", "replicas": 1, "replica": 2}]}, "replica"),
        ({"services": [{"name": "A", "replicas": 1}]}, "lowercase DNS name"),
        ({"services": [{"name": "a", "replicas": 1, "kind": "Job"}]}, "kind"),
        ({"services": [{"name": "a", "replicas": 1, "priority_class": "gold"}]}, "'gold' is not one of"),
        ({"services": [{"name": "a", "replicas": 1, "labels": {"app": "x"}}]}, "'app' is the service's own label"),
        ({"services": [{"name": "a", "replicas": 1, "disruption_budget": {}}]}, "exactly one of min_available"),
        (
            {
                "services": [
                    {"name": "a", "replicas": 1, "disruption_budget": {"min_available": 1, "max_unavailable": 1}}
                ]
            },
            "exactly one of min_available",
        ),
        ({"services": [{"name": "a", "replicas": 1, "disruption_budget": {"min_available": "150%"}}]}, "percentage"),
        ({"services": [{"name": "a", "replicas": 1, "spread": [{"max_skew": 0}]}]}, "max_skew"),
        (
            {
                "services": [
                    {"name": "a", "replicas": 1, "spread": [{"when_unsatisfiable": "ScheduleAnyway", "min_domains": 2}]}
                ]
            },
            "min_domains needs",
        ),
        ({"services": [{"name": "a", "replicas": 1, "anti_affinity": {"mode": "sometimes"}}]}, "mode"),
        (
            {"services": [{"name": "a", "replicas": 1}, {"name": "a", "replicas": 2}]},
            "duplicate service name(s): default/a",
        ),
        ({"priority_classes": [{"name": "p", "value": 1}, {"name": "p", "value": 2}]}, "duplicate priority class"),
        ({"priority_classes": [{"name": "p", "value": 2_000_000_000}]}, "value"),
    ],
)
def test_bad_config_names_the_field(change, message):
    cfg = {**copy.deepcopy(CONFIG), **change}
    with pytest.raises(ValidationError) as info:
        ServicesConfig.model_validate(cfg)
    assert message in str(info.value)


def test_a_snapshot_keeps_the_services_fields(tmp_path):
    """Write a snapshot (some pods bound, the others pending), load it: the same pods, fields and budgets."""
    w = generate_services(CONFIG, seed=3)
    cluster = cluster_from_pools([{"name": "n", "count": 3, "cpu": "8", "memory": "32Gi", "zones": ["a", "b"]}])
    bound = [cluster.nodes[i % 3].name if i % 2 == 0 else None for i in range(len(w))]
    path = tmp_path / "snapshot.json"
    write_snapshot(path, cluster, w, bound)
    snap = load_snapshot(path)
    original = pods_of(w)
    loaded = [snap.cluster.initial.pod_object(i) for i in range(len(snap.cluster.initial))] + [
        snap.pending.pod_object(i) for i in range(len(snap.pending))
    ]
    assert sorted(p["metadata"]["name"] for p in loaded) == sorted(w.names)
    by_name = {p["metadata"]["name"]: p for p in loaded}
    for p in original:
        q = by_name[p["metadata"]["name"]]
        assert q["metadata"]["labels"] == p["metadata"]["labels"]
        assert q["metadata"]["ownerReferences"] == p["metadata"]["ownerReferences"]
        for key in ("topologySpreadConstraints", "affinity", "priorityClassName", "priority", "preemptionPolicy"):
            assert q["spec"].get(key) == p["spec"].get(key), key
    assert snap.cluster.bound_to == [b for b in bound if b]
    assert snap.objects == snap.cluster.initial.objects == w.objects
    assert [(b.name, b.desired_healthy) for b in resolve_budgets(concat(snap.cluster.initial, snap.pending))] == [
        (b.name, b.desired_healthy) for b in resolve_budgets(w)
    ]


def test_manifests_podgym_writes_read_back_to_the_same_services(tmp_path):
    w = generate_services(CONFIG, seed=1)
    docs = manifests_of(w)
    kinds = [d["kind"] for d in docs]
    assert kinds[:3] == ["PriorityClass"] * 3 and "Pod" not in kinds
    # A Deployment creates its ReplicaSet: only the standalone ReplicaSet is written.
    assert [d["metadata"]["name"] for d in docs if d["kind"] == "ReplicaSet"] == ["cache"]
    path = tmp_path / "services.yaml"
    write_manifests(path, w)
    back = workload_from_manifests(path)
    assert len(back) == len(w)
    key = lambda p: (  # noqa: E731
        p["metadata"]["labels"]["app"],
        str(p["metadata"]["labels"]),
        str(p["metadata"]["ownerReferences"]),
        str(sorted(p["spec"].items())),
    )
    assert sorted(map(key, pods_of(back))) == sorted(map(key, pods_of(w)))
    assert [(b.name, b.expected, b.desired_healthy) for b in resolve_budgets(back)] == [
        (b.name, b.expected, b.desired_healthy) for b in resolve_budgets(w)
    ]


def test_manifests_admit_priority_classes(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(
        "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: gold}\nvalue: 500\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {priorityClassName: gold, containers: [{name: c}]}\n"
        "---\napiVersion: v1\nkind: Pod\nmetadata: {name: q}\nspec: {containers: [{name: c}]}\n"
    )
    w = workload_from_manifests(path)
    assert w.priority.tolist() == [500, 0]
    assert [o["kind"] for o in w.objects] == ["PriorityClass"]
    path.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {priorityClassName: gold, containers: []}\n")
    with pytest.raises(KubeObjectError, match=r"Pod default/p.*spec\.priorityClassName.*no PriorityClass"):
        workload_from_manifests(path)


def test_a_malformed_budget_in_manifests_names_its_field(tmp_path):
    path = tmp_path / "pdb.yaml"
    path.write_text(
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: b}\n"
        "spec: {minAvailable: 1, maxUnavailable: 1}\n"
    )
    with pytest.raises(KubeObjectError, match=r"pdb\.yaml.*PodDisruptionBudget default/b.*both set"):
        workload_from_manifests(path)
    path.write_text(
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: b}\n"
        "spec: {selector: {matchExpressions: [{key: a, operator: Near}]}}\n"
    )
    with pytest.raises(KubeObjectError, match=r"matchExpressions\[0\]\.operator"):
        workload_from_manifests(path)


def test_a_malformed_budget_or_controller_in_a_snapshot_names_it(tmp_path):
    cluster = cluster_from_pools([{"name": "n", "count": 1, "cpu": "8", "memory": "32Gi"}])
    w = generate_services(CONFIG, seed=0)
    w.objects = [
        {"kind": "PodDisruptionBudget", "metadata": {"name": "b"}, "spec": {"minAvailable": "lots"}},
    ]
    path = tmp_path / "snapshot.json"
    write_snapshot(path, cluster, w)
    with pytest.raises(KubeObjectError, match=r"snapshot\.json.*PodDisruptionBudget default/b.*spec\.minAvailable"):
        load_snapshot(path)
    w.objects = [
        {"kind": "StatefulSet", "metadata": {"name": "db"}, "spec": {"replicas": "three"}},
        {"kind": "PodDisruptionBudget", "metadata": {"name": "db"}, "spec": {"maxUnavailable": 1, "selector": {}}},
    ]
    with pytest.raises(KubeObjectError, match=r"StatefulSet default/db.*spec\.replicas.*'three'"):
        resolve_budgets(w)
