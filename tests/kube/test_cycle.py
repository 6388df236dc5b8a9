"""``kube.schedule`` (one full cycle of the default profile) agrees with the per-plugin API.

For random small clusters (fewer than 100 nodes, so every node is evaluated):

* feasible nodes = the nodes where every default-profile Filter plugin's ``kube.filter`` is None;
* each feasible node's total = sum(weight * ``kube.score(pod, feasible_nodes, ...)``) — scores are normalised over
  the feasible nodes only (RunScorePlugins runs on the filtered list), and a plugin whose PreScore skips contributes 0;
* the selected node has the maximum total, and ``tied`` holds exactly the nodes with that total.

Two pieces are also checked against independent re-statements of the upstream rules: NodeResourcesFit's Filter
(spec §1.3 ``fitsRequest``) and TaintToleration's Score (spec §2.8).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import podgym.envs.kube as kube
from tests.kube.builders import bare_pod, node, on_node, pod

GPU = "nvidia.com/gpu"
GI = 1024**3

TAINTS = [
    {"key": "dedicated", "value": "batch", "effect": "NoSchedule"},
    {"key": GPU, "value": "present", "effect": "NoSchedule"},
    {"key": "spot", "value": "true", "effect": "PreferNoSchedule"},
    {"key": "drain", "value": "", "effect": "PreferNoSchedule"},
    {"key": "maintenance", "value": "true", "effect": "NoExecute"},
]
TOLERATIONS = [
    {"key": "dedicated", "operator": "Equal", "value": "batch", "effect": "NoSchedule"},
    {"key": "dedicated", "operator": "Equal", "value": "web"},
    {"key": GPU, "operator": "Exists"},
    {"key": "spot", "operator": "Exists", "effect": "PreferNoSchedule"},
    {"operator": "Exists", "effect": "PreferNoSchedule"},
    {"key": "maintenance", "operator": "Equal", "value": "true", "effect": "NoExecute"},
    {"key": "drain", "operator": "Exists", "effect": "NoSchedule"},
    {"operator": "Exists"},
]
LABELS = {"zone": ["a", "b", "c"], "disk": ["ssd", "hdd"], "tier": ["1", "2", "3"]}
DEFAULT = kube.default_profile()
FILTERS = [p.name for p in DEFAULT.filter_plugins]
SCORES = [(p.name, w) for p, w in DEFAULT.score_plugins]


def labels_strategy() -> st.SearchStrategy[dict[str, str]]:
    return st.dictionaries(st.sampled_from(sorted(LABELS)), st.just(""), max_size=3).flatmap(
        lambda keys: st.fixed_dictionaries({k: st.sampled_from(LABELS[k]) for k in keys})
    )


@st.composite
def nodes_strategy(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 8))
    nodes = []
    for i in range(count):
        allocatable = {
            "cpu": f"{draw(st.integers(0, 64)) * 250}m",
            "memory": f"{draw(st.integers(0, 32))}Gi",
            "pods": str(draw(st.sampled_from([0, 1, 2, 3, 8, 110]))),
        }
        gpus = draw(st.integers(0, 4))
        if gpus:
            allocatable[GPU] = str(gpus)
        taints = draw(st.lists(st.sampled_from(TAINTS), max_size=2, unique_by=lambda t: t["key"]))
        nodes.append(
            node(
                f"node-{i}",
                allocatable=allocatable,
                labels=draw(labels_strategy()),
                taints=taints or None,
                unschedulable=draw(st.sampled_from([False, False, False, False, False, True])),
            )
        )
    return nodes


def requests_strategy(max_cpu_milli: int, max_mem_gi: int, gpu: bool) -> st.SearchStrategy[dict[str, str]]:
    fields: dict[str, st.SearchStrategy[str]] = {
        "cpu": st.integers(0, max_cpu_milli // 100).map(lambda m: f"{m * 100}m"),
        "memory": st.integers(0, max_mem_gi * 4).map(lambda q: f"{q * 256}Mi"),
    }
    if gpu:
        fields[GPU] = st.integers(1, 2).map(str)
    return st.fixed_dictionaries({}, optional=fields)


@st.composite
def running_pods_strategy(draw: st.DrawFn, node_names: list[str]) -> list[dict[str, Any]]:
    pods = []
    for i in range(draw(st.integers(0, 8))):
        containers = draw(st.lists(requests_strategy(3000, 6, draw(st.booleans())), min_size=1, max_size=2))
        bound = on_node(pod(f"running-{i}", containers=containers), draw(st.sampled_from([*node_names, "ghost"])))
        bound["status"]["phase"] = draw(st.sampled_from(["Running", "Running", "Pending", "Succeeded", "Failed"]))
        pods.append(bound)
    return pods


def expression_strategy() -> st.SearchStrategy[dict[str, Any]]:
    key = st.sampled_from(sorted(LABELS))
    return st.one_of(
        st.builds(
            lambda k, op, vals: {"key": k, "operator": op, "values": vals},
            key,
            st.sampled_from(["In", "NotIn"]),
            st.lists(st.sampled_from(["a", "b", "ssd", "hdd", "1", "2"]), min_size=1, max_size=2, unique=True),
        ),
        st.builds(lambda k, op: {"key": k, "operator": op}, key, st.sampled_from(["Exists", "DoesNotExist"])),
        st.builds(
            lambda op, v: {"key": "tier", "operator": op, "values": [v]},
            st.sampled_from(["Gt", "Lt"]),
            st.sampled_from(["1", "2"]),
        ),
    )


@st.composite
def pending_pod_strategy(draw: st.DrawFn) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    tolerations = draw(st.lists(st.sampled_from(TOLERATIONS), max_size=4))
    if tolerations:
        kwargs["tolerations"] = tolerations
    selector = draw(labels_strategy())
    if selector and draw(st.booleans()):
        kwargs["node_selector"] = dict(list(selector.items())[:1])
    preferred = draw(
        st.lists(
            st.builds(
                lambda w, exprs: {"weight": w, "preference": {"matchExpressions": exprs}},
                st.integers(1, 100),
                st.lists(expression_strategy(), min_size=1, max_size=2),
            ),
            max_size=3,
        )
    )
    # A required term on about one pod in four (it rejects many nodes).
    required = draw(st.lists(expression_strategy(), min_size=1, max_size=2)) if draw(st.integers(0, 3)) == 3 else []
    if preferred or required:
        node_affinity: dict[str, Any] = {}
        if preferred:
            node_affinity["preferredDuringSchedulingIgnoredDuringExecution"] = preferred
        if required:
            node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {
                "nodeSelectorTerms": [{"matchExpressions": required}]
            }
        kwargs["affinity"] = {"nodeAffinity": node_affinity}
    if draw(st.integers(0, 9)) == 0:
        return bare_pod("pending", **kwargs)  # requests nothing: BalancedAllocation's PreScore skips
    containers = draw(st.lists(requests_strategy(4000, 8, draw(st.booleans())), min_size=1, max_size=2))
    return pod("pending", containers=containers, **kwargs)


@st.composite
def clusters(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    nodes = draw(nodes_strategy())
    running = draw(running_pods_strategy([n["metadata"]["name"] for n in nodes]))
    return draw(pending_pod_strategy()), nodes, running


CYCLE_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@CYCLE_SETTINGS
@given(clusters(), st.integers(0, 2**32 - 1))
def test_schedule_agrees_with_per_plugin_api(
    cluster: tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]], seed: int
) -> None:
    pending, nodes, running = cluster
    decision = kube.schedule(pending, nodes, running, seed=seed)
    names = [n["metadata"]["name"] for n in nodes]
    assert [v.name for v in decision.verdicts] == names
    assert all(v.evaluated for v in decision.verdicts)  # < 100 nodes: numFeasibleNodesToFind = all nodes

    # Filter: a node is feasible iff every default Filter plugin passes it; a rejected node carries the status of
    # the first plugin (in profile order) that rejects it.
    per_plugin = {name: kube.filter(pending, nodes, running, plugin=name) for name in FILTERS}
    feasible = [n for n in names if all(per_plugin[p][n] is None for p in FILTERS)]
    assert decision.feasible == feasible
    for v in decision.verdicts:
        if v.name in feasible:
            assert v.status is None
            continue
        first = next(p for p in FILTERS if per_plugin[p][v.name] is not None)
        assert v.status is not None
        assert (v.status.plugin, v.status.message) == (first, per_plugin[first][v.name])
        assert v.total is None

    if not feasible:
        assert decision.selected is None
        assert decision.tied == []
        return

    # Score: normalised over the feasible nodes only; a skipped plugin contributes 0.
    feasible_nodes = [n for n in nodes if n["metadata"]["name"] in feasible]
    expected = dict.fromkeys(feasible, 0)
    for name, weight in SCORES:
        scores = kube.score(pending, feasible_nodes, running, plugin=name)
        assert set(scores) == set(feasible)
        for n in feasible:
            expected[n] += weight * scores[n]
            if name not in decision.skipped:
                assert decision.verdicts[names.index(n)].scores[name] == scores[n]
            else:
                assert scores[n] == 0
    totals = {v.name: v.total for v in decision.verdicts if v.total is not None}
    assert totals == expected

    best = max(expected.values())
    assert expected[decision.selected] == best
    assert sorted(decision.tied) == sorted(n for n in feasible if expected[n] == best)
    assert decision.selected in decision.tied


def _requests(p: dict[str, Any]) -> dict[str, int]:
    """Sum of container requests (cpu milli, memory bytes, gpus); the generated pods have no init containers."""
    out: dict[str, int] = {}
    for c in p["spec"]["containers"]:
        for name, raw in (c.get("resources") or {}).get("requests", {}).items():
            value = kube.parse_quantity(raw)
            out[name] = out.get(name, 0) + (value.milli_value() if name == "cpu" else value.value())
    return out


@CYCLE_SETTINGS
@given(clusters())
def test_fit_filter_matches_fits_request(
    cluster: tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    pending, nodes, running = cluster
    got = kube.filter(pending, nodes, running, plugin="NodeResourcesFit")
    request = _requests(pending)
    for n in nodes:
        name = n["metadata"]["name"]
        alloc = {
            k: (kube.parse_quantity(v).milli_value() if k == "cpu" else kube.parse_quantity(v).value())
            for k, v in n["status"]["allocatable"].items()
        }
        here = [
            p for p in running if p["spec"]["nodeName"] == name and p["status"]["phase"] not in ("Succeeded", "Failed")
        ]
        used: dict[str, int] = {}
        for p in here:
            for k, v in _requests(p).items():
                used[k] = used.get(k, 0) + v
        reasons = []
        if len(here) + 1 > alloc.get("pods", 0):
            reasons.append("Too many pods")
        for resource in ("cpu", "memory", GPU):
            req = request.get(resource, 0)
            if req > 0 and req > alloc.get(resource, 0) - used.get(resource, 0):
                reasons.append(f"Insufficient {resource}")
        assert got[name] == (", ".join(reasons) or None), (name, request, alloc, used)


@CYCLE_SETTINGS
@given(clusters())
def test_taint_toleration_score_matches_upstream_formula(
    cluster: tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    pending, nodes, running = cluster
    tolerations = [t for t in pending["spec"].get("tolerations", []) if t.get("effect", "") in ("", "PreferNoSchedule")]

    def tolerates(t: dict[str, Any], taint: dict[str, Any]) -> bool:
        if t.get("effect") and t["effect"] != taint["effect"]:
            return False
        if t.get("key") and t["key"] != taint["key"]:
            return False
        return t.get("operator") == "Exists" or t.get("value", "") == taint["value"]

    counts = {
        n["metadata"]["name"]: sum(
            1
            for taint in n["spec"].get("taints", [])
            if taint["effect"] == "PreferNoSchedule" and not any(tolerates(t, taint) for t in tolerations)
        )
        for n in nodes
    }
    top = max(counts.values())
    # DefaultNormalizeScore(100, reverse=true): all 100 when the max count is 0, else 100 - 100*count/max.
    want = {n: 100 if top == 0 else 100 - 100 * c // top for n, c in counts.items()}
    assert kube.score(pending, nodes, running, plugin="TaintToleration") == want


# ---------------------------------------------------------------------------------------------------------------
# Pods that the scheduler's cache does not hold
# ---------------------------------------------------------------------------------------------------------------


def small_node(name: str = "n1") -> dict[str, Any]:
    return node(name, allocatable={"cpu": "2", "memory": "4Gi", "pods": "1"})


def finished(phase: str) -> dict[str, Any]:
    done = on_node(pod(f"job-{phase.lower()}", containers=[{"cpu": "2", "memory": "4Gi"}]), "n1")
    done["status"]["phase"] = phase
    return done


def test_running_pod_is_counted() -> None:
    # Control case: the same pod Running fills the node (cpu, memory, and its only pod slot).
    running = finished("Running")
    got = kube.filter(pod("p", containers=[{"cpu": "1"}]), [small_node()], [running], plugin="NodeResourcesFit")
    assert got == {"n1": "Too many pods, Insufficient cpu"}


def test_pending_bound_pod_is_counted() -> None:
    # A pod bound to the node (spec.nodeName set) but still Pending holds its resources in the cache.
    bound = finished("Pending")
    assert kube.schedule(pod("p", containers=[{"cpu": "1"}]), [small_node()], [bound]).selected is None


def test_terminal_pods_are_not_counted() -> None:
    for phase in ("Succeeded", "Failed"):
        p = pod("p", containers=[{"cpu": "1", "memory": "1Gi"}])
        assert kube.filter(p, [small_node()], [finished(phase)], plugin="NodeResourcesFit") == {"n1": None}, phase
        decision = kube.schedule(p, [small_node()], [finished(phase)])
        assert decision.selected == "n1", phase
        # Scores as if the node were empty.
        empty = kube.schedule(p, [small_node()], [])
        assert decision.verdicts[0].scores == empty.verdicts[0].scores, phase


def test_terminal_pods_do_not_change_scores() -> None:
    nodes = [small_node("n1"), node("n2", allocatable={"cpu": "2", "memory": "4Gi", "pods": "1"})]
    done = on_node(pod("old", containers=[{"cpu": "1500m", "memory": "3Gi"}]), "n1")
    done["status"]["phase"] = "Succeeded"
    p = pod("p", containers=[{"cpu": "500m", "memory": "1Gi"}])
    for plugin in ("NodeResourcesFit", "NodeResourcesBalancedAllocation"):
        assert kube.score(p, nodes, [done], plugin=plugin) == kube.score(p, nodes, [], plugin=plugin), plugin
    # Running, the same pod lowers n1's LeastAllocated score: n1 cpu (2000-2000)*100/2000 = 0, memory 0 -> 0;
    # n2 cpu 1500*100/2000 = 75, memory 3*100/4 = 75 -> 75.
    done["status"]["phase"] = "Running"
    assert kube.score(p, nodes, [done], plugin="NodeResourcesFit") == {"n1": 0, "n2": 75}


def test_pods_bound_to_unknown_nodes_are_not_counted() -> None:
    elsewhere = on_node(pod("elsewhere", containers=[{"cpu": "2", "memory": "4Gi"}]), "not-in-this-cluster")
    unbound = pod("unbound", containers=[{"cpu": "2", "memory": "4Gi"}])
    p = pod("p", containers=[{"cpu": "1", "memory": "1Gi"}])
    assert kube.filter(p, [small_node()], [elsewhere, unbound], plugin="NodeResourcesFit") == {"n1": None}
    with_strangers = kube.schedule(p, [small_node()], [elsewhere, unbound])
    alone = kube.schedule(p, [small_node()], [])
    assert with_strangers.selected == "n1"
    assert with_strangers.verdicts[0].scores == alone.verdicts[0].scores
    assert with_strangers.verdicts[0].total == alone.verdicts[0].total


def test_prefilter_result_leaves_other_nodes_out_of_the_cycle():
    """A pod pinned by `matchFields metadata.name In [n1]`: in a scheduling cycle the other nodes get
    schedule_one.go's "didn't satisfy plugin(s)" status, while NodeAffinity's own Filter (kube.filter with
    plugin=...) reports its Filter reason."""
    nodes = [node(f"n{i}", allocatable={"cpu": "2", "memory": "2Gi", "pods": "10"}) for i in range(3)]
    pinned = pod(
        "pinned",
        affinity={
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}
                    ]
                }
            }
        },
    )
    cycle = kube.filter(pinned, nodes, [])
    assert cycle == {
        "n0": "node(s) didn't satisfy plugin(s) [NodeAffinity]",
        "n1": None,
        "n2": "node(s) didn't satisfy plugin(s) [NodeAffinity]",
    }
    plugin_only = kube.filter(pinned, nodes, [], plugin="NodeAffinity")
    assert plugin_only["n0"] == "node(s) didn't match Pod's node affinity/selector"
    decision = kube.schedule(pinned, nodes, [])
    assert decision.selected == "n1"
    assert decision.next_start_index == 1  # only the one candidate was processed
