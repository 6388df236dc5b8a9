"""Scheduling profiles: the default profile and KubeSchedulerConfiguration v1 loading.

Upstream rules checked here (kube-scheduler v1.35):

* ``pkg/scheduler/apis/config/v1/default_plugins.go``: the default MultiPoint plugins, in order, with score weights
  TaintToleration 3, NodeAffinity 2, NodeResourcesFit 1, PodTopologySpread 2, InterPodAffinity 2,
  NodeResourcesBalancedAllocation 1, ImageLocality 1 (podgym models the Filter/Score plugins NodeUnschedulable,
  NodeName, TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit, NodeResourcesBalancedAllocation,
  ImageLocality).
* ``pkg/scheduler/apis/config/v1/defaults.go`` ``mergePluginSet``: a custom MultiPoint plugin with a default's name
  replaces the default in place (weight included); ``disabled`` removes defaults, ``"*"`` removes all of them.
* ``pkg/scheduler/framework/runtime/framework.go``: ``expandMultiPointPlugins`` orders an extension point as
  (1) plugins enabled both at the point and in MultiPoint, in the point's order, (2) the rest of MultiPoint,
  (3) the rest of the point; ``disabled: "*"`` at a point skips MultiPoint expansion there. ``getScoreWeights`` walks
  ``Score.Enabled`` then ``MultiPoint.Enabled``; the first weight seen for a plugin wins, and 0 means 1.
* ``pkg/scheduler/schedule_one.go`` ``numFeasibleNodesToFind``: the profile's percentageOfNodesToScore, when set,
  replaces the global one; the adaptive formula of spec §1.1; ``nextStartNodeIndex`` advances by the nodes processed.
* ``prioritizeNodes``: with no score plugins every feasible node scores 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import podgym.envs.kube as kube
from tests.kube.builders import node, on_node, pod

API_VERSION = "kubescheduler.config.k8s.io/v1"
KIND = "KubeSchedulerConfiguration"


def config(*profiles: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A KubeSchedulerConfiguration dict with the given profiles and top-level fields."""
    data: dict[str, Any] = {"apiVersion": API_VERSION, "kind": KIND, **top}
    if profiles:
        data["profiles"] = list(profiles)
    return data


def only_profile(**fields: Any) -> kube.Profile:
    """The single profile of a configuration holding one profile with `fields`."""
    (profile,) = kube.parse_configuration(config({"schedulerName": "custom", **fields}))
    return profile


def filter_names(profile: kube.Profile) -> list[str]:
    return [p.name for p in profile.filter_plugins]


def score_weights(profile: kube.Profile) -> list[tuple[str, int]]:
    return [(p.name, w) for p, w in profile.score_plugins]


def write_yaml(tmp_path: Path, data: Any, name: str = "scheduler-config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


DEFAULT_FILTERS = [
    "NodeUnschedulable",
    "NodeName",
    "TaintToleration",
    "NodeAffinity",
    "NodePorts",
    "NodeResourcesFit",
    "PodTopologySpread",
    "InterPodAffinity",
]
DEFAULT_SCORES = [
    ("TaintToleration", 3),
    ("NodeAffinity", 2),
    ("NodeResourcesFit", 1),
    ("PodTopologySpread", 2),
    ("InterPodAffinity", 2),
    ("NodeResourcesBalancedAllocation", 1),
    ("ImageLocality", 1),
]
# Default Filter/Score plugins podgym does not model, in MultiPoint order (default_plugins.go; DynamicResources is on
# by default since DRA went GA in v1.34). SchedulingGates, PrioritySort, DefaultPreemption and DefaultBinder take no
# part in a placement decision and are not "unmodeled".
DEFAULT_UNMODELED = [
    "VolumeRestrictions",
    "NodeVolumeLimits",
    "VolumeBinding",
    "VolumeZone",
    "DynamicResources",
]


# ---------------------------------------------------------------------------------------------------------------
# The default profile
# ---------------------------------------------------------------------------------------------------------------


def test_default_profile_filter_order() -> None:
    assert filter_names(kube.default_profile()) == DEFAULT_FILTERS


def test_default_profile_score_weights() -> None:
    assert score_weights(kube.default_profile()) == DEFAULT_SCORES


def test_default_profile_unmodeled_and_name() -> None:
    profile = kube.default_profile()
    assert list(profile.unmodeled) == DEFAULT_UNMODELED
    assert profile.scheduler_name == "default-scheduler"
    assert profile.percentage_of_nodes_to_score == 0


def test_empty_configuration_is_the_default_profile() -> None:
    # v1 defaulting: no profiles -> one profile "default-scheduler" with the default plugins.
    (profile,) = kube.parse_configuration(config())
    assert profile.scheduler_name == "default-scheduler"
    assert filter_names(profile) == DEFAULT_FILTERS
    assert score_weights(profile) == DEFAULT_SCORES
    assert list(profile.unmodeled) == DEFAULT_UNMODELED


def test_default_profile_plugin_lookup() -> None:
    profile = kube.default_profile()
    assert profile.plugin("NodeResourcesBalancedAllocation") is not None
    assert profile.plugin("ImageLocality") is not None
    assert profile.plugin("VolumeBinding") is None


# ---------------------------------------------------------------------------------------------------------------
# Plugin merging
# ---------------------------------------------------------------------------------------------------------------


def test_score_disabled_removes_a_default_score_plugin_but_keeps_its_filter() -> None:
    profile = only_profile(plugins={"score": {"disabled": [{"name": "TaintToleration"}]}})
    assert score_weights(profile) == [
        ("NodeAffinity", 2),
        ("NodeResourcesFit", 1),
        ("PodTopologySpread", 2),
        ("InterPodAffinity", 2),
        ("NodeResourcesBalancedAllocation", 1),
        ("ImageLocality", 1),
    ]
    # Disabling at Score does not touch Filter.
    assert filter_names(profile) == DEFAULT_FILTERS


def test_score_disabled_star_leaves_only_score_enabled() -> None:
    profile = only_profile(
        plugins={"score": {"disabled": [{"name": "*"}], "enabled": [{"name": "NodeResourcesFit", "weight": 2}]}}
    )
    assert score_weights(profile) == [("NodeResourcesFit", 2)]
    assert filter_names(profile) == DEFAULT_FILTERS


def test_score_disabled_star_without_enabled_scores_every_feasible_node_1() -> None:
    # prioritizeNodes: no score plugins (and no extenders) -> every feasible node gets TotalScore 1.
    profile = only_profile(plugins={"score": {"disabled": [{"name": "*"}]}})
    assert profile.score_plugins == ()
    nodes = [node(name, allocatable={"cpu": "4", "memory": "8Gi", "pods": "110"}) for name in ("a", "b", "c")]
    nodes[2]["spec"]["unschedulable"] = True
    decision = kube.schedule(pod("p", containers=[{"cpu": "1"}]), nodes, profile=profile)
    totals = {v.name: v.total for v in decision.verdicts}
    assert totals == {"a": 1, "b": 1, "c": None}
    assert sorted(decision.tied) == ["a", "b"]
    assert decision.selected in ("a", "b")


def test_score_enabled_weight_overrides_multipoint_weight() -> None:
    # Score.Enabled is walked before MultiPoint.Enabled in getScoreWeights, so its weight wins; the plugin comes
    # first (part 1 of expandMultiPointPlugins), then the other MultiPoint score plugins in their order.
    profile = only_profile(plugins={"score": {"enabled": [{"name": "NodeResourcesFit", "weight": 5}]}})
    assert score_weights(profile) == [
        ("NodeResourcesFit", 5),
        ("TaintToleration", 3),
        ("NodeAffinity", 2),
        ("PodTopologySpread", 2),
        ("InterPodAffinity", 2),
        ("NodeResourcesBalancedAllocation", 1),
        ("ImageLocality", 1),
    ]


@pytest.mark.parametrize("weight", [0, None])
def test_score_enabled_weight_zero_or_unset_means_1(weight: int | None) -> None:
    # TaintToleration's MultiPoint weight is 3, but the Score.Enabled entry is seen first and its 0 becomes 1.
    entry: dict[str, Any] = {"name": "TaintToleration"}
    if weight is not None:
        entry["weight"] = weight
    profile = only_profile(plugins={"score": {"enabled": [entry]}})
    assert dict(score_weights(profile))["TaintToleration"] == 1
    assert dict(score_weights(profile))["NodeAffinity"] == 2


def test_multipoint_enabled_custom_weight_replaces_default_in_place() -> None:
    profile = only_profile(plugins={"multiPoint": {"enabled": [{"name": "NodeAffinity", "weight": 7}]}})
    # Same position (mergePluginSet updates the default in place), new weight.
    assert score_weights(profile) == [
        ("TaintToleration", 3),
        ("NodeAffinity", 7),
        ("NodeResourcesFit", 1),
        ("PodTopologySpread", 2),
        ("InterPodAffinity", 2),
        ("NodeResourcesBalancedAllocation", 1),
        ("ImageLocality", 1),
    ]
    assert filter_names(profile) == DEFAULT_FILTERS


def test_multipoint_enabled_without_weight_replaces_default_weight_with_1() -> None:
    # The custom entry (weight unset = 0) replaces the default entry {TaintToleration, 3}; 0 then means 1.
    profile = only_profile(plugins={"multiPoint": {"enabled": [{"name": "TaintToleration"}]}})
    assert score_weights(profile)[0] == ("TaintToleration", 1)


def test_multipoint_disabled_star_keeps_only_custom_multipoint_plugins() -> None:
    enabled = [{"name": "PrioritySort"}, {"name": "NodeResourcesFit", "weight": 4}, {"name": "DefaultBinder"}]
    profile = only_profile(plugins={"multiPoint": {"disabled": [{"name": "*"}], "enabled": enabled}})
    assert filter_names(profile) == ["NodeResourcesFit"]
    assert score_weights(profile) == [("NodeResourcesFit", 4)]
    assert profile.unmodeled == ()


def test_filter_disabled_lets_a_cordoned_node_through() -> None:
    profile = only_profile(plugins={"filter": {"disabled": [{"name": "NodeUnschedulable"}]}})
    assert filter_names(profile) == DEFAULT_FILTERS[1:]
    cordoned = node("cordoned", allocatable={"cpu": "4", "memory": "8Gi", "pods": "110"}, unschedulable=True)
    p = pod("p", containers=[{"cpu": "1"}])
    assert kube.schedule(p, [cordoned]).selected is None
    assert kube.schedule(p, [cordoned], profile=profile).selected == "cordoned"


def most_allocated_cluster() -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """Two equal nodes (4 cpu, 8Gi); `busy` already runs 2 cpu / 4Gi; the pod asks 1 cpu / 2Gi.

    Default profile (LeastAllocated):
      busy: cpu (4000-3000)*100/4000 = 25, memory (8-6)*100/8 = 25 -> 25
      idle: cpu (4000-1000)*100/4000 = 75, memory 75                -> 75
      TaintToleration: no taints -> 100 each (x3); NodeAffinity: no preferred terms -> Skip;
      BalancedAllocation: busy 0.75/0.75, idle 0.25/0.25 -> std 0 -> 100 each.
      totals busy 300+25+100 = 425, idle 300+75+100 = 475 -> idle.
    MostAllocated: busy 3000*100/4000 = 75, 75 -> 75; idle 25 -> busy 475, idle 425 -> busy.
    """
    nodes = [node(name, allocatable={"cpu": "4", "memory": "8Gi", "pods": "110"}) for name in ("busy", "idle")]
    running = [on_node(pod("running", containers=[{"cpu": "2", "memory": "4Gi"}]), "busy")]
    pending = pod("pending", containers=[{"cpu": "1", "memory": "2Gi"}])
    return pending, nodes, running


def test_plugin_config_most_allocated_changes_the_chosen_node() -> None:
    pending, nodes, running = most_allocated_cluster()
    default = kube.schedule(pending, nodes, running)
    assert default.selected == "idle"
    assert {v.name: v.total for v in default.verdicts} == {"busy": 425, "idle": 475}

    profile = only_profile(
        pluginConfig=[{"name": "NodeResourcesFit", "args": {"scoringStrategy": {"type": "MostAllocated"}}}]
    )
    packed = kube.schedule(pending, nodes, running, profile=profile)
    assert packed.selected == "busy"
    assert {v.name: v.total for v in packed.verdicts} == {"busy": 475, "idle": 425}
    assert {v.name: v.scores["NodeResourcesFit"] for v in packed.verdicts} == {"busy": 75, "idle": 25}


def test_plugin_config_most_allocated_from_a_file(tmp_path: Path) -> None:
    pending, nodes, running = most_allocated_cluster()
    path = write_yaml(
        tmp_path,
        config(
            {"schedulerName": "default-scheduler"},
            {
                "schedulerName": "packer",
                "pluginConfig": [
                    {
                        "name": "NodeResourcesFit",
                        "args": {
                            "scoringStrategy": {
                                "type": "MostAllocated",
                                "resources": [{"name": "cpu", "weight": 1}, {"name": "memory", "weight": 1}],
                            }
                        },
                    }
                ],
            },
        ),
    )
    assert kube.load_profile(path).scheduler_name == "default-scheduler"
    packer = kube.load_profile(path, "packer")
    assert packer.scheduler_name == "packer"
    assert kube.schedule(pending, nodes, running, profile=kube.load_profile(path)).selected == "idle"
    assert kube.schedule(pending, nodes, running, profile=packer).selected == "busy"


def test_plugin_config_added_affinity_reaches_node_affinity() -> None:
    profile = only_profile(
        pluginConfig=[
            {
                "name": "NodeAffinity",
                "args": {
                    "addedAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["batch"]}]}
                            ]
                        }
                    }
                },
            }
        ]
    )
    nodes = [
        node("web", allocatable={"cpu": "4", "pods": "110"}, labels={"pool": "web"}),
        node("batch", allocatable={"cpu": "4", "pods": "110"}, labels={"pool": "batch"}),
    ]
    decision = kube.schedule(pod("p"), nodes, profile=profile)
    assert decision.selected == "batch"
    rejected = next(v for v in decision.verdicts if v.name == "web")
    assert rejected.status is not None
    assert rejected.status.plugin == "NodeAffinity"
    assert rejected.status.message == "node(s) didn't match scheduler-enforced node affinity"


def test_load_profile_unknown_scheduler_name_names_the_file(tmp_path: Path) -> None:
    path = write_yaml(tmp_path, config({"schedulerName": "one"}))
    with pytest.raises(kube.KubeObjectError) as exc:
        kube.load_profile(path, "two")
    assert str(path) in str(exc.value)
    assert "'two'" in str(exc.value)


def test_load_profile_sample_binpacking() -> None:
    path = Path(kube.__file__).parent / "samples" / "binpacking.yaml"
    profile = kube.load_profile(path, "bin-packing-scheduler")
    # score.enabled NodeResourcesFit weight 5 comes first; BalancedAllocation is disabled at Score.
    assert score_weights(profile) == [
        ("NodeResourcesFit", 5),
        ("TaintToleration", 3),
        ("NodeAffinity", 2),
        ("PodTopologySpread", 2),
        ("InterPodAffinity", 2),
        ("ImageLocality", 1),
    ]
    assert filter_names(profile) == DEFAULT_FILTERS


# ---------------------------------------------------------------------------------------------------------------
# percentageOfNodesToScore
# ---------------------------------------------------------------------------------------------------------------


def test_percentage_top_level_applies_to_profiles() -> None:
    profiles = kube.parse_configuration(
        config(
            {"schedulerName": "a"}, {"schedulerName": "b", "percentageOfNodesToScore": 10}, percentageOfNodesToScore=30
        )
    )
    assert [(p.scheduler_name, p.percentage_of_nodes_to_score) for p in profiles] == [("a", 30), ("b", 10)]


def test_percentage_explicit_zero_in_profile_overrides_top_level() -> None:
    # Upstream: `if percentageOfNodesToScore != nil { percentage = *percentageOfNodesToScore }` (the profile's value,
    # a pointer) else the global one, so an explicit profile 0 means "adaptive" even when the global value is 30.
    (profile,) = kube.parse_configuration(
        config({"schedulerName": "a", "percentageOfNodesToScore": 0}, percentageOfNodesToScore=30)
    )
    assert profile.percentage_of_nodes_to_score == 0


def test_percentage_unset_is_adaptive() -> None:
    (profile,) = kube.parse_configuration(config({"schedulerName": "a"}))
    assert profile.percentage_of_nodes_to_score == 0


@pytest.mark.parametrize(
    ("num_nodes", "percentage", "expected"),
    [
        (0, 0, 0),
        (50, 0, 50),  # < 100 nodes: all of them
        (99, 0, 99),
        (99, 5, 99),
        (100, 0, 100),  # adaptive 50 - 100/125 = 50% -> 50 -> raised to the minimum 100
        (125, 0, 100),  # adaptive 49% -> 61 -> 100
        (1000, 0, 420),  # adaptive 50 - 8 = 42% -> 420
        (5000, 0, 500),  # adaptive 50 - 40 = 10% -> 500
        (6000, 0, 300),  # adaptive 50 - 48 = 2% -> raised to 5% -> 300
        (10000, 0, 500),  # adaptive < 5 -> 5% -> 500
        (5000, 100, 5000),  # >= 100%: all nodes
        (200, 10, 100),  # 20 -> raised to the minimum 100
        (1000, 50, 500),
        (3000, 1, 100),  # 30 -> 100
    ],
)
def test_num_feasible_nodes_to_find(num_nodes: int, percentage: int, expected: int) -> None:
    assert kube.num_feasible_nodes_to_find(num_nodes, percentage) == expected


def many_nodes(count: int, tainted_every: int = 0) -> list[dict[str, Any]]:
    nodes = []
    for i in range(count):
        taints = (
            [{"key": "off", "value": "", "effect": "NoSchedule"}] if tainted_every and i % tainted_every == 0 else []
        )
        nodes.append(node(f"n{i:04d}", allocatable={"cpu": "4", "memory": "8Gi", "pods": "110"}, taints=taints))
    return nodes


def ten_percent() -> kube.Profile:
    return only_profile(percentageOfNodesToScore=10)


def test_schedule_stops_after_num_feasible_nodes() -> None:
    nodes = many_nodes(200)
    decision = kube.schedule(pod("p", containers=[{"cpu": "1"}]), nodes, profile=ten_percent())
    # 200 nodes at 10% -> 20 -> minimum 100 feasible nodes; all nodes fit, so exactly n0000..n0099 are evaluated.
    assert decision.num_to_find == 100
    evaluated = [v.name for v in decision.verdicts if v.evaluated]
    assert evaluated == [f"n{i:04d}" for i in range(100)]
    assert len(decision.feasible) == 100
    assert all(v.total is None and not v.scores for v in decision.verdicts if not v.evaluated)
    assert decision.selected in evaluated
    assert decision.next_start_index == 100


def test_schedule_wraps_around_from_start_index() -> None:
    nodes = many_nodes(200)
    decision = kube.schedule(pod("p", containers=[{"cpu": "1"}]), nodes, profile=ten_percent(), start_index=150)
    # The scan starts at n0150, wraps after n0199 and stops after 100 feasible nodes: n0150..n0199, n0000..n0049.
    evaluated = {v.name for v in decision.verdicts if v.evaluated}
    assert evaluated == {f"n{i:04d}" for i in [*range(150, 200), *range(50)]}
    assert decision.next_start_index == (150 + 100) % 200


def test_schedule_counts_infeasible_nodes_in_next_start_index() -> None:
    nodes = many_nodes(200, tainted_every=4)
    decision = kube.schedule(pod("p", containers=[{"cpu": "1"}]), nodes, profile=ten_percent())
    # Every 4th node (index % 4 == 0) is tainted, so each group of 4 holds 3 feasible nodes: after 33 groups
    # (n0000..n0131) 99 are found; n0132 fails, n0133 is the 100th. 134 nodes were processed.
    assert len(decision.feasible) == 100
    assert sum(v.evaluated for v in decision.verdicts) == 134
    assert decision.next_start_index == 134
    assert all(v.evaluated == (i < 134) for i, v in enumerate(decision.verdicts))


def test_schedule_default_adaptive_percentage_on_1000_nodes() -> None:
    nodes = many_nodes(1000)
    decision = kube.schedule(pod("p", containers=[{"cpu": "1"}]), nodes)
    # Adaptive: 50 - 1000/125 = 42% -> 420 feasible nodes.
    assert decision.num_to_find == 420
    assert len(decision.feasible) == 420
    assert decision.next_start_index == 420


def test_schedule_percentage_100_evaluates_every_node() -> None:
    nodes = many_nodes(200)
    profile = only_profile(percentageOfNodesToScore=100)
    decision = kube.schedule(pod("p", containers=[{"cpu": "1"}]), nodes, profile=profile, start_index=7)
    assert decision.num_to_find == 200
    assert all(v.evaluated for v in decision.verdicts)
    assert decision.next_start_index == 7  # (7 + 200) % 200


# ---------------------------------------------------------------------------------------------------------------
# Bad configuration
# ---------------------------------------------------------------------------------------------------------------


def fit_args(strategy: dict[str, Any]) -> dict[str, Any]:
    return {"pluginConfig": [{"name": "NodeResourcesFit", "args": {"scoringStrategy": strategy}}]}


BAD_CONFIGS: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "wrong apiVersion",
        {"apiVersion": "kubescheduler.config.k8s.io/v1beta3", "kind": KIND},
        ["apiVersion", "kubescheduler.config.k8s.io/v1beta3"],
    ),
    ("wrong kind", {"apiVersion": API_VERSION, "kind": "SchedulerConfig"}, ["field kind", "SchedulerConfig"]),
    ("unknown top-level field", config(percentageOfNodesToScor=10), ["percentageOfNodesToScor"]),
    ("unknown profile field", config({"schedulerNme": "x"}), ["profiles[0].schedulerNme"]),
    (
        "misspelled plugin name",
        config({"plugins": {"score": {"enabled": [{"name": "NodeResourceFit"}]}}}),
        ["profiles[0].plugins", "NodeResourceFit"],
    ),
    (
        "resource weight of 101",
        config(fit_args({"type": "MostAllocated", "resources": [{"name": "cpu", "weight": 101}]})),
        ["profiles[0].pluginConfig[0].args.scoringStrategy.resources[0].weight", "101"],
    ),
    (
        "RequestedToCapacityRatio without shape",
        config(fit_args({"type": "RequestedToCapacityRatio"})),
        ["profiles[0].pluginConfig[0].args.scoringStrategy", "shape"],
    ),
    (
        "non-increasing shape",
        config(
            fit_args(
                {
                    "type": "RequestedToCapacityRatio",
                    "requestedToCapacityRatio": {
                        "shape": [{"utilization": 50, "score": 2}, {"utilization": 50, "score": 8}]
                    },
                }
            )
        ),
        ["profiles[0].pluginConfig[0].args.scoringStrategy.requestedToCapacityRatio.shape", "increasing"],
    ),
    (
        "bad args in the second profile",
        config({"schedulerName": "a"}, {"schedulerName": "b", **fit_args({"type": "Packed"})}),
        ["profiles[1].pluginConfig[0].args.scoringStrategy.type"],
    ),
    (
        "duplicate pluginConfig",
        config({"pluginConfig": [{"name": "NodeResourcesFit", "args": {}}, {"name": "NodeResourcesFit", "args": {}}]}),
        ["profiles[0].pluginConfig[1]", "NodeResourcesFit"],
    ),
    ("percentageOfNodesToScore of 101", config(percentageOfNodesToScore=101), ["percentageOfNodesToScore"]),
]


@pytest.mark.parametrize(("case", "data", "wanted"), BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_configuration_dict(case: str, data: dict[str, Any], wanted: list[str]) -> None:
    with pytest.raises(kube.KubeObjectError) as exc:
        kube.parse_configuration(data, "my-config.yaml")
    message = str(exc.value)
    assert "my-config.yaml" in message
    for part in wanted:
        assert part in message, f"{case}: {part!r} not in {message!r}"


@pytest.mark.parametrize(("case", "data", "wanted"), BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_configuration_file(tmp_path: Path, case: str, data: dict[str, Any], wanted: list[str]) -> None:
    path = write_yaml(tmp_path, data)
    with pytest.raises(kube.KubeObjectError) as exc:
        kube.load_profile(path)
    message = str(exc.value)
    assert str(path) in message
    for part in wanted:
        assert part in message, f"{case}: {part!r} not in {message!r}"
    # Raised "from None": the user sees one clear error, not a pydantic/yaml traceback chained under it.
    assert exc.value.__cause__ is None
    assert exc.value.__suppress_context__ or exc.value.__context__ is None


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(kube.KubeObjectError) as exc:
        kube.load_profile(path)
    assert str(path) in str(exc.value)
    assert "No such file" in str(exc.value)


def test_unreadable_file_names_the_file(tmp_path: Path) -> None:
    # A directory cannot be read as a file (IsADirectoryError), whoever runs the tests.
    path = tmp_path / "config.yaml"
    path.mkdir()
    with pytest.raises(kube.KubeObjectError) as exc:
        kube.load_profile(path)
    assert str(path) in str(exc.value)


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("apiVersion: kubescheduler.config.k8s.io/v1\nkind: [KubeSchedulerConfiguration\n")
    with pytest.raises(kube.KubeObjectError) as exc:
        kube.load_profile(path)
    assert str(path) in str(exc.value)
    assert "YAML" in str(exc.value)


def test_yaml_that_is_not_a_mapping_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- apiVersion: kubescheduler.config.k8s.io/v1\n")
    with pytest.raises(kube.KubeObjectError) as exc:
        kube.load_profile(path)
    assert str(path) in str(exc.value)
    assert KIND in str(exc.value)
