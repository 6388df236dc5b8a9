"""Real-shaped KubeSchedulerConfigurations (tests/data/scheduler-configs): each loads or is refused as kube-scheduler
v1.35 would, with its message and the field; what podgym does not model is reported, never silently dropped."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import yaml

import podgym.envs.kube as kube
from podgym.envs.kube.__main__ import choose_profile, explain
from podgym.envs.kube.errors import KubeObjectError
from podgym.envs.kube.profile import read_configuration
from podgym.envs.scenario import load_and_build
from tests.kube.builders import node, pod

CONFIGS = Path(__file__).resolve().parents[1] / "data" / "scheduler-configs"

# file -> (scheduler names, unmodelled in-tree plugins, ignored out-of-tree plugins)
LOADS = {
    "docs-most-allocated.yaml": (["default-scheduler"], None, ()),
    "docs-requested-to-capacity-ratio.yaml": (["default-scheduler"], None, ()),
    "configmap-my-scheduler.yaml": (["my-scheduler"], None, ()),
    "configmap-scheduler-config.yaml": (["default-scheduler", "bin-packing-scheduler"], None, ()),
    "in-tree-unmodelled-single-points.yaml": (
        ["default-scheduler"],
        {"VolumeBinding"},
        (),
    ),
    "scheduler-plugins-coscheduling.yaml": (["default-scheduler"], None, ("Coscheduling",)),
    "scheduler-plugins-capacityscheduling.yaml": (["default-scheduler"], None, ("CapacityScheduling",)),
    "scheduler-plugins-noderesources-allocatable.yaml": (["default-scheduler"], None, ("NodeResourcesAllocatable",)),
    "simulator-explicit-defaults.yaml": (["default-scheduler"], None, ()),
    "args-for-a-disabled-plugin.yaml": (["default-scheduler"], None, ()),
    "no-scores.yaml": (["default-scheduler"], None, ()),
}
# file -> (field, a part of upstream's message)
REFUSED = {
    "configmap-v1beta3.yaml": (
        "apiVersion",
        'no kind "KubeSchedulerConfiguration" is registered for version "kubescheduler.config.k8s.io/v1beta3"',
    ),
    "removed-ebslimits.yaml": ("profiles[0].plugins.filter.enabled[0].name", 'FilterPlugin "EBSLimits" does not exist'),
    "nodeunschedulable-as-score.yaml": (
        "profiles[0].plugins.score.enabled[0].name",
        'plugin "NodeUnschedulable" does not extend ScorePlugin plugin',
    ),
    "duplicate-scheduler-name.yaml": ("profiles[1].schedulerName", "Duplicate value: 'batch-scheduler'"),
    "different-queue-sort.yaml": ("profiles[1].plugins.queueSort", "queueSort must be the same for all profiles"),
    "second-profile-without-name.yaml": ("profiles[1].schedulerName", "Required value"),
    "no-queue-sort.yaml": (
        "profiles[0].plugins.queueSort",
        "only one queue sort plugin required for profile with scheduler name 'minimal', but got 0",
    ),
    "typo-plugin-name.yaml": ("profiles[0].plugins.score.enabled[0].name", "did you mean 'NodeResourcesFit'"),
    "extender-without-weight.yaml": ("extenders[0].weight", "must have a positive weight applied to it"),
    "percentage-out-of-range.yaml": ("profiles[0].percentageOfNodesToScore", "not in valid range [0-100]"),
    "bad-args-for-a-disabled-plugin.yaml": (
        "profiles[0].pluginConfig[0].args.addedAffinity.requiredDuringSchedulingIgnoredDuringExecution"
        ".nodeSelectorTerms[0].matchExpressions[0].operator",
        "got 'Near'",
    ),
    "duplicate-plugin-at-a-point.yaml": (
        "profiles[0].plugins.filter.enabled[1].name",
        'plugin "NodeAffinity" already registered as "FilterPlugin"',
    ),
}


def test_every_file_is_a_case():
    assert {p.name for p in CONFIGS.glob("*.yaml")} == set(LOADS) | set(REFUSED)


@pytest.mark.parametrize("name", sorted(LOADS))
def test_loads(name):
    names, unmodeled, ignored = LOADS[name]
    profiles = read_configuration(CONFIGS / name)
    assert [p.scheduler_name for p in profiles] == names
    if unmodeled is not None:
        assert unmodeled <= set(profiles[0].unmodeled)
    assert profiles[0].ignored == ignored
    assert all(p.filter_plugins for p in profiles)  # the in-tree part is simulated


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_with_upstreams_message_and_field(name):
    field, message = REFUSED[name]
    with pytest.raises(KubeObjectError) as info:
        read_configuration(CONFIGS / name)
    assert info.value.field == field and message in info.value.problem, str(info.value)
    assert str(CONFIGS / name) in str(info.value)
    assert "plugins.plugin" not in str(info.value)


@pytest.mark.parametrize(
    "name",
    [
        "scheduler-plugins-coscheduling.yaml",
        "scheduler-plugins-capacityscheduling.yaml",
        "scheduler-plugins-noderesources-allocatable.yaml",
    ],
)
def test_strict_mode_refuses_out_of_tree_plugins(name):
    with pytest.raises(KubeObjectError, match=r"not an in-tree plugin of kube-scheduler v1\.35.*strict mode refuses"):
        read_configuration(CONFIGS / name, strict=True)


def test_the_in_tree_part_of_an_out_of_tree_profile_is_simulated():
    """NodeResourcesAllocatable replaces every score plugin: the profile keeps the default filters, and no score."""
    profile = read_configuration(CONFIGS / "scheduler-plugins-noderesources-allocatable.yaml")[0]
    assert [p.name for p in profile.filter_plugins] == [p.name for p in kube.default_profile().filter_plugins]
    assert profile.score_plugins == ()


def test_configmap_profile_decides_as_the_bare_config(tmp_path):
    text = yaml.safe_load((CONFIGS / "configmap-scheduler-config.yaml").read_text())["data"]["scheduler-config.yaml"]
    bare = tmp_path / "bare.yaml"
    bare.write_text(text)
    nodes = [node(f"n{i}", allocatable={"cpu": "4", "memory": "8Gi", "pods": "110"}) for i in range(2)]
    running = [pod("busy", containers=[{"cpu": "2", "memory": "4Gi"}])]
    running[0]["spec"]["nodeName"] = "n1"
    p = pod("p", containers=[{"cpu": "1", "memory": "1Gi"}])
    for path in (CONFIGS / "configmap-scheduler-config.yaml", bare):
        profile = read_configuration(path)[1]
        assert kube.schedule(p, nodes, running, profile=profile).selected == "n1"  # MostAllocated packs


def _explain_args(**kw):
    base = {
        "pod": None,
        "nodes": None,
        "pods": None,
        "config": None,
        "scheduler_name": None,
        "seed": 0,
        "output": "text",
        "sample": True,
        "strict": False,
    }
    return argparse.Namespace(**{**base, **kw})


def test_explain_says_which_profile_and_why(tmp_path):
    config = str(CONFIGS / "configmap-scheduler-config.yaml")
    text = explain(_explain_args(config=config, scheduler_name="bin-packing-scheduler"))
    assert "Profile 'bin-packing-scheduler': from" in text and "chosen by --scheduler-name" in text
    stray = pod("p", containers=[{"cpu": "1"}])
    stray["spec"]["schedulerName"] = "nobody"
    profile, why = choose_profile(kube.parse_pod(stray), config, None)
    assert profile.scheduler_name == "default-scheduler"
    assert "'nobody' is no profile here" in why and "would not schedule it" in why


def test_explain_without_score_plugins_never_prints_of_zero():
    text = explain(_explain_args(config=str(CONFIGS / "no-scores.yaml")))
    assert "of 0)" not in text and "no Score plugin: every feasible node scores 1" in text


def test_explain_notes_ignored_plugins():
    text = explain(_explain_args(config=str(CONFIGS / "scheduler-plugins-coscheduling.yaml")))
    assert "Out-of-tree plugins, not modelled, ignored: Coscheduling." in text


def test_scenario_profile_and_strict_mode(tmp_path):
    scenario = {
        "name": "packing",
        "cluster": {"pools": [{"name": "p", "count": 2, "cpu": 8, "memory": "32Gi"}]},
        "workload": {"manifests": [str(CONFIGS.parent / "manifests" / "app.yaml")]},
        "scheduler": {"config": str(CONFIGS / "scheduler-plugins-coscheduling.yaml")},
    }
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenario))
    assert load_and_build(path).profile.ignored == ("Coscheduling",)
    from podgym.envs.env import PodSchedulingEnv

    assert PodSchedulingEnv(path).profile.ignored == ("Coscheduling",)  # what the baselines score with
    scenario["scheduler"]["strict"] = True
    path.write_text(yaml.safe_dump(scenario))
    with pytest.raises(KubeObjectError, match=r"scheduler\.config.*strict mode refuses"):
        load_and_build(path)
