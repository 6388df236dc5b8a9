"""The command line ``python -m podgym.envs.kube explain``: the report, its JSON form, --config, errors and ties.

The sample snapshot (envs/kube/samples) worked out by hand under kube-scheduler v1.35 rules.

Pod ml/trainer-0 requests max(containers {cpu 4, memory 16Gi, nvidia.com/gpu 1}, init {cpu 500m, memory 20Gi})
= cpu 4, memory 20Gi, gpu 1; it tolerates nvidia.com/gpu:NoSchedule, requires kubernetes.io/arch=amd64 and prefers
(weight 50) nvidia.com/gpu.product=NVIDIA-A100-SXM4-40GB. Running pods (old-job is Succeeded, so not counted):

=========== ============================ ================================= ==================================
node        allocatable                  used                              Filter
=========== ============================ ================================= ==================================
cpu-1       7910m, 31Gi, no gpu          3 cpu, 12Gi (web + redis)         Fit: Insufficient memory (19Gi free),
                                                                           Insufficient nvidia.com/gpu
cpu-2       7910m, 31Gi, no gpu          2 cpu, 4Gi                        Fit: Insufficient nvidia.com/gpu
gpu-a100-1  31850m, 240Gi, 8 gpu         24 cpu, 160Gi, 7 gpu              fits (1 gpu left)
gpu-a100-2  31850m, 240Gi, 8 gpu         8 cpu, 64Gi, 2 gpu                fits
gpu-t4-1    15890m, 60Gi, 4 gpu          6 cpu, 24Gi, 3 gpu                fits
gpu-t4-2    cordoned                                                       NodeUnschedulable
arm-1       arch arm64                                                     NodeAffinity
=========== ============================ ================================= ==================================

Default profile (TaintToleration x3: no PreferNoSchedule taints on feasible nodes -> 100 each;
NodeAffinity x2: 50/50/0 -> normalised 100/100/0):

* LeastAllocated (cpu, memory): a100-1 cpu 3850*100/31850 = 12, mem 60*100/240 = 25 -> 18;
  a100-2 cpu 19850*100/31850 = 62, mem 156*100/240 = 65 -> 63; t4-1 cpu 5890*100/15890 = 37, mem 16*100/60 = 26 -> 31.
* BalancedAllocation: a100-1 |28000/31850 - 180/240|/2 = 0.0646 -> 93; a100-2 |0.3768 - 0.35|/2 -> 98;
  t4-1 |0.6293 - 0.7333|/2 = 0.052 -> 94.
* totals: a100-1 300+200+18+93 = 611, a100-2 300+200+63+98 = 661, t4-1 300+0+31+94 = 425 -> gpu-a100-2.

bin-packing-scheduler (MostAllocated cpu 1, memory 1, gpu 3, NodeResourcesFit x5, no BalancedAllocation):

* a100-1: cpu 28000*100/31850 = 87, mem 75, gpu 8/8 = 100 -> (87+75+300)/5 = 92 -> 460+300+200 = 960
* a100-2: cpu 12000*100/31850 = 37, mem 35, gpu 3/8 = 37 -> (37+35+111)/5 = 36 -> 180+300+200 = 680
* t4-1: cpu 10000*100/15890 = 62, mem 73, gpu 4/4 = 100 -> (62+73+300)/5 = 87 -> 435+300+0 = 735 -> gpu-a100-1.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import podgym.envs.kube as kube
from podgym.envs.kube.__main__ import main
from tests.kube.builders import node, on_node, pod

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "envs" / "kube" / "samples"
BINPACKING = SAMPLES / "binpacking.yaml"

SAMPLE_REJECTIONS = {
    "cpu-1": "NodeResourcesFit: Insufficient memory, Insufficient nvidia.com/gpu",
    "cpu-2": "NodeResourcesFit: Insufficient nvidia.com/gpu",
    "gpu-t4-2": "NodeUnschedulable: node(s) were unschedulable",
    "arm-1": "NodeAffinity: node(s) didn't match Pod's node affinity/selector",
}
DEFAULT_TOTALS = {"gpu-a100-1": 611, "gpu-a100-2": 661, "gpu-t4-1": 425}
BINPACKING_TOTALS = {"gpu-a100-1": 960, "gpu-a100-2": 680, "gpu-t4-1": 735}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["explain", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def sample_objects() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    pod_obj = yaml.safe_load((SAMPLES / "pod.yaml").read_text())
    nodes = json.loads((SAMPLES / "nodes.json").read_text())
    pods = json.loads((SAMPLES / "pods.json").read_text())
    return pod_obj, nodes, pods


def node_row(out: str, name: str) -> str:
    rows = [line for line in out.splitlines() if line.split()[:1] == [name]]
    assert len(rows) == 1, f"expected one row for {name} in:\n{out}"
    return rows[0]


# ---------------------------------------------------------------------------------------------------------------
# The sample
# ---------------------------------------------------------------------------------------------------------------


def test_sample_prints_every_node_and_each_rejection_reason(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--sample")
    assert code == 0, err
    assert err == ""
    _, nodes, _ = sample_objects()
    names = [n["metadata"]["name"] for n in nodes["items"]]
    assert len(names) == 7
    for name in names:
        row = node_row(out, name)
        if name in SAMPLE_REJECTIONS:
            assert SAMPLE_REJECTIONS[name] in row
        else:
            assert "fits" in row
            assert row.split()[-1 if "selected" not in row else -3] == str(DEFAULT_TOTALS[name])
    assert "selected" in node_row(out, "gpu-a100-2")
    assert "would bind ml/trainer-0 to gpu-a100-2" in out
    # Each Score plugin of the default profile has a column with its weight.
    for header in (
        "TaintToleration x3",
        "NodeAffinity x2",
        "NodeResourcesFit x1",
        "NodeResourcesBalancedAllocation x1",
    ):
        assert header in out
    assert "PodTopologySpread x2" in out and "InterPodAffinity x2" in out
    # They PreScore-skip for this pod (no spread constraint, no controller, no pod affinity); they are modelled.
    assert "Skipped by PreScore (contribute nothing): PodTopologySpread, InterPodAffinity." in out
    not_modeled = next(line for line in out.splitlines() if line.startswith("Not modeled"))
    assert "PodTopologySpread" not in not_modeled and "InterPodAffinity" not in not_modeled


def test_sample_rejections_agree_with_kube_schedule(capsys: pytest.CaptureFixture[str]) -> None:
    pod_obj, nodes, pods = sample_objects()
    decision = kube.schedule(pod_obj, nodes, pods)
    assert decision.selected == "gpu-a100-2"
    assert {v.name: v.total for v in decision.verdicts if v.total is not None} == DEFAULT_TOTALS
    assert {
        v.name: f"{v.status.plugin}: {v.status.message}" for v in decision.verdicts if v.status is not None
    } == SAMPLE_REJECTIONS
    _, out, _ = run(capsys, "--sample")
    for v in decision.verdicts:
        if v.status is not None:
            assert v.status.message in node_row(out, v.name)


def test_sample_json_output_matches_kube_schedule(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--sample", "--output", "json")
    assert code == 0, err
    report = json.loads(out)
    pod_obj, nodes, pods = sample_objects()
    decision = kube.schedule(pod_obj, nodes, pods)
    assert report["selected"] == decision.selected == "gpu-a100-2"
    assert report["pod"] == "ml/trainer-0"
    assert report["profile"] == "default-scheduler"
    assert report["weights"] == {
        "TaintToleration": 3,
        "NodeAffinity": 2,
        "NodeResourcesFit": 1,
        "PodTopologySpread": 2,
        "InterPodAffinity": 2,
        "NodeResourcesBalancedAllocation": 1,
        "ImageLocality": 1,
    }
    by_name = {n["name"]: n for n in report["nodes"]}
    assert list(by_name) == [n["metadata"]["name"] for n in nodes["items"]]
    for name, reason in SAMPLE_REJECTIONS.items():
        plugin, _, message = reason.partition(": ")
        assert by_name[name]["fits"] is False
        assert by_name[name]["plugin"] == plugin
        assert by_name[name]["reason"] == message
        assert by_name[name]["total"] is None
    for name, total in DEFAULT_TOTALS.items():
        assert by_name[name]["fits"] is True
        assert by_name[name]["total"] == total
        assert by_name[name]["total"] == sum(report["weights"][p] * s for p, s in by_name[name]["scores"].items())


def test_binpacking_config_picks_a_different_node(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--sample", "--output", "json")
    assert code == 0, err
    default = json.loads(out)
    code, out, err = run(
        capsys,
        "--sample",
        "--output",
        "json",
        "--config",
        BINPACKING,
        "--scheduler-name",
        "bin-packing-scheduler",
    )
    assert code == 0, err
    packed = json.loads(out)
    assert default["selected"] == "gpu-a100-2"
    assert packed["selected"] == "gpu-a100-1"
    assert packed["profile"] == "bin-packing-scheduler"
    assert packed["weights"] == {
        "NodeResourcesFit": 5,
        "TaintToleration": 3,
        "NodeAffinity": 2,
        "PodTopologySpread": 2,
        "InterPodAffinity": 2,
        "ImageLocality": 1,
    }
    assert {n["name"]: n["total"] for n in packed["nodes"] if n["fits"]} == BINPACKING_TOTALS


def test_binpacking_config_text_report(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--sample", "--config", BINPACKING, "--scheduler-name", "bin-packing-scheduler")
    assert code == 0, err
    assert "'bin-packing-scheduler'" in out
    assert "NodeResourcesFit x5" in out
    assert "NodeResourcesBalancedAllocation" not in out
    assert "would bind ml/trainer-0 to gpu-a100-1" in out


def test_config_profile_defaults_to_the_pods_scheduler_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Without --scheduler-name, the profile named by the pod's spec.schedulerName is used.
    pod_obj, _, _ = sample_objects()
    pod_obj["spec"]["schedulerName"] = "bin-packing-scheduler"
    pod_file = tmp_path / "pod.json"
    pod_file.write_text(json.dumps(pod_obj))
    code, out, err = run(capsys, "--sample", "--pod", pod_file, "--config", BINPACKING, "--output", "json")
    assert code == 0, err
    assert json.loads(out)["selected"] == "gpu-a100-1"


def test_module_entry_point_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "podgym.envs.kube", "explain", "--sample"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "would bind ml/trainer-0 to gpu-a100-2" in result.stdout
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------------------


def assert_error(code: int, out: str, err: str, *parts: str) -> None:
    assert code == 2
    assert out == ""
    assert err.startswith("error:"), err
    for part in parts:
        assert part in err, f"{part!r} not in {err!r}"
    assert "Traceback" not in err


def test_missing_pod_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-such-pod.yaml"
    assert_error(*run(capsys, "--sample", "--pod", missing), str(missing))


def test_missing_nodes_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-such-nodes.json"
    assert_error(*run(capsys, "--sample", "--nodes", missing), str(missing))


def test_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-such-config.yaml"
    assert_error(*run(capsys, "--sample", "--config", missing), str(missing))


def test_bad_pod_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "pod.yaml"
    bad.write_text(yaml.safe_dump(pod("web", containers=[{"cpu": "1.5.3"}])))
    assert_error(
        *run(capsys, "--sample", "--pod", bad), str(bad), "Pod default/web", "spec.containers[0].resources.requests.cpu"
    )


def test_pod_file_with_invalid_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "pod.yaml"
    bad.write_text("metadata: {name: web\nspec: [\n")
    assert_error(*run(capsys, "--sample", "--pod", bad), str(bad), "YAML")


def test_nodes_file_with_invalid_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "nodes.json"
    bad.write_text('{"items": [}')
    assert_error(*run(capsys, "--sample", "--nodes", bad), str(bad), "JSON")


def test_bad_node_in_nodes_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "nodes.json"
    bad.write_text(json.dumps({"kind": "NodeList", "items": [node("n1", taints=[{"key": "a", "effect": "Never"}])]}))
    assert_error(*run(capsys, "--sample", "--nodes", bad), str(bad), "Node n1", "spec.taints[0].effect")


def test_two_pods_in_pod_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    two = tmp_path / "pods.yaml"
    two.write_text(yaml.safe_dump_all([pod("a"), pod("b")]))
    assert_error(*run(capsys, "--sample", "--pod", two), str(two))


def test_unknown_scheduler_name_in_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert_error(
        *run(capsys, "--sample", "--config", BINPACKING, "--scheduler-name", "no-such-scheduler"),
        str(BINPACKING),
        "no-such-scheduler",
    )


def test_unknown_scheduler_name_without_config(capsys: pytest.CaptureFixture[str]) -> None:
    # Without --config the only profile is default-scheduler; asking for another one must not silently use it.
    assert_error(*run(capsys, "--sample", "--scheduler-name", "no-such-scheduler"), "no-such-scheduler")


def test_bad_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "config.yaml"
    bad.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kubescheduler.config.k8s.io/v1",
                "kind": "KubeSchedulerConfiguration",
                "profiles": [{"schedulerName": "x", "plugins": {"score": {"enabled": [{"name": "NodeResourceFit"}]}}}],
            }
        )
    )
    assert_error(*run(capsys, "--sample", "--config", bad), str(bad), "NodeResourceFit")


def test_no_input_without_sample(capsys: pytest.CaptureFixture[str]) -> None:
    assert_error(*run(capsys), "--pod", "--nodes")


# ---------------------------------------------------------------------------------------------------------------
# Ties
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture
def twin_files(tmp_path: Path) -> tuple[Path, Path]:
    """Two identical empty nodes and a pod: every score plugin gives both the same score."""
    pod_file = tmp_path / "pod.yaml"
    pod_file.write_text(yaml.safe_dump(pod("web", containers=[{"cpu": "500m", "memory": "512Mi"}])))
    nodes_file = tmp_path / "nodes.json"
    nodes = [node(name, allocatable={"cpu": "4", "memory": "8Gi", "pods": "110"}) for name in ("twin-a", "twin-b")]
    nodes_file.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": nodes}))
    return pod_file, nodes_file


def test_tie_is_reported(twin_files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    pod_file, nodes_file = twin_files
    code, out, err = run(capsys, "--pod", pod_file, "--nodes", nodes_file)
    assert code == 0, err
    assert "2 nodes tie for the top score" in out
    assert "twin-a" in out and "twin-b" in out
    code, out, err = run(capsys, "--pod", pod_file, "--nodes", nodes_file, "--output", "json")
    report = json.loads(out)
    assert sorted(report["tied"]) == ["twin-a", "twin-b"]
    assert report["selected"] in report["tied"]


def test_tie_break_depends_on_seed(twin_files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    # selectHost picks uniformly among the tied nodes; over 20 seeds both are chosen (each seed has a 1/2 chance,
    # so missing one node on every seed would happen with probability 2 * 2**-20 for a fair tie-break).
    pod_file, nodes_file = twin_files
    chosen = set()
    for seed in range(20):
        code, out, err = run(capsys, "--pod", pod_file, "--nodes", nodes_file, "--output", "json", "--seed", str(seed))
        assert code == 0, err
        chosen.add(json.loads(out)["selected"])
    assert chosen == {"twin-a", "twin-b"}


def test_same_seed_same_choice(twin_files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    pod_file, nodes_file = twin_files
    picks = []
    for _ in range(3):
        code, out, err = run(capsys, "--pod", pod_file, "--nodes", nodes_file, "--output", "json", "--seed", "7")
        assert code == 0, err
        picks.append(json.loads(out)["selected"])
    assert len(set(picks)) == 1


def test_zone_spread_constraint_verdicts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A DNS replica with a DoNotSchedule zone spread constraint (maxSkew 1): two replicas run in zone a, one in
    zone b, so the zone-a nodes are refused with upstream's reason; a node without the zone label is refused as
    missing it; the zone-b node fits."""
    zone = "topology.kubernetes.io/zone"

    def dns_pod(name: str, node_name: str | None = None) -> dict[str, Any]:
        p = pod(
            name,
            namespace="kube-system",
            containers=[{"cpu": "100m", "memory": "70Mi"}],
            labels={"k8s-app": "kube-dns"},
        )
        p["spec"]["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": zone,
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            }
        ]
        return on_node(p, node_name) if node_name else p

    nodes = [
        node(n, allocatable={"cpu": "2", "memory": "4Gi", "pods": "110"}, labels=lb)
        for n, lb in (
            ("a-1", {zone: "a"}),
            ("a-2", {zone: "a"}),
            ("b-1", {zone: "b"}),
            ("bare", {}),
        )
    ]
    running = [dns_pod("coredns-1", "a-1"), dns_pod("coredns-2", "a-2"), dns_pod("coredns-3", "b-1")]
    files = {"pod.json": dns_pod("coredns-4"), "nodes.json": nodes, "pods.json": running}
    for name, obj in files.items():
        (tmp_path / name).write_text(json.dumps(obj))
    code, out, err = run(
        capsys, "--pod", tmp_path / "pod.json", "--nodes", tmp_path / "nodes.json", "--pods", tmp_path / "pods.json"
    )
    assert code == 0, err
    reason = "PodTopologySpread: node(s) didn't match pod topology spread constraints"
    assert reason in node_row(out, "a-1") and reason in node_row(out, "a-2")
    assert f"{reason} (missing required label)" in node_row(out, "bare")
    assert "fits" in node_row(out, "b-1") and "selected" in node_row(out, "b-1")
    assert "would bind kube-system/coredns-4 to b-1" in out


def _preemption_files(tmp_path: Path, priority: int, pdb_allowed: int | None = None) -> tuple[Path, Path]:
    """Two full 1-cpu nodes: n1 runs a priority-5 web pod, n2 a priority-1 batch pod; a 1-cpu pod of `priority`."""
    nodes = [node(f"n{i}", allocatable={"cpu": "1", "memory": "4Gi", "pods": "10"}) for i in (1, 2)]
    web = pod("web-0", containers=[{"cpu": "1"}], labels={"app": "web"})
    web["spec"].update(nodeName="n1", priority=5)
    batch = pod("batch-0", containers=[{"cpu": "1"}], labels={"app": "batch"})
    batch["spec"].update(nodeName="n2", priority=1)
    items: list[dict[str, Any]] = [*nodes, web, batch]
    if pdb_allowed is not None:
        items.append(
            {
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": {"name": "batch", "namespace": "default"},
                "spec": {"selector": {"matchLabels": {"app": "batch"}}, "minAvailable": 1},
                "status": {"disruptionsAllowed": pdb_allowed},
            }
        )
    cluster = tmp_path / "cluster.json"
    cluster.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    pending = pod("critical", containers=[{"cpu": "1"}])
    pending["spec"]["priority"] = priority
    pod_file = tmp_path / "pod.yaml"
    pod_file.write_text(yaml.safe_dump(pending))
    return pod_file, cluster


def test_explain_shows_the_preemption_when_no_node_fits(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pod_file, cluster = _preemption_files(tmp_path, priority=10)
    code, out, err = run(capsys, "--pod", pod_file, "--nodes", cluster)
    assert code == 0, err
    # The lowest highest-priority victim: batch-0 on n2.
    assert "DefaultPreemption nominates n2 for default/critical, evicting default/batch-0" in out
    assert "FailedScheduling: 0/2 nodes are available: 2 Insufficient cpu." in out
    # A budget that allows no disruption of batch-0 sends the preemption to n1 (fewest PDB violations first).
    pod_file, cluster = _preemption_files(tmp_path, priority=10, pdb_allowed=0)
    code, out, err = run(capsys, "--pod", pod_file, "--nodes", cluster, "--output", "json")
    report = json.loads(out)
    assert report["preemption"]["nominatedNode"] == "n1"
    assert report["preemption"]["victims"] == ["default/web-0"] and report["preemption"]["numPDBViolations"] == 0


def test_explain_says_why_preemption_does_not_help(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pod_file, cluster = _preemption_files(tmp_path, priority=1)
    code, out, err = run(capsys, "--pod", pod_file, "--nodes", cluster)
    assert code == 0, err
    assert "would stay Pending" in out
    assert (
        "FailedScheduling: 0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: "
        "2 No preemption victims found for incoming pod.." in out
    )


@pytest.mark.parametrize(
    ("class_name", "classes", "nominated"),
    [
        ("critical", [{"name": "critical", "value": 10}], "n2"),  # a class of the dump: priority 10 preempts batch-0
        ("system-cluster-critical", [], "n2"),  # a system class exists in every cluster
        ("low", [{"name": "low", "value": 1}], None),  # priority 1: no pod of lower priority on any node
    ],
)
def test_a_manifest_naming_a_priority_class_is_admitted_before_it_is_explained(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, class_name: str, classes: list, nominated: str | None
) -> None:
    """A pod manifest as written (``priorityClassName``, no ``priority``) gets its priority as admission would set it
    from the dump's PriorityClasses, so that its preemption is the one a cluster would run."""
    pod_file, cluster = _preemption_files(tmp_path, priority=0)
    manifest = yaml.safe_load(pod_file.read_text())
    del manifest["spec"]["priority"]
    manifest["spec"]["priorityClassName"] = class_name
    pod_file.write_text(yaml.safe_dump(manifest))
    dump = json.loads(cluster.read_text())
    dump["items"] += [
        {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": c["name"]},
            "value": c["value"],
        }
        for c in classes
    ]
    cluster.write_text(json.dumps(dump))
    code, out, err = run(capsys, "--pod", pod_file, "--nodes", cluster, "--output", "json")
    assert code == 0, err
    assert json.loads(out)["preemption"]["nominatedNode"] == nominated


def test_a_manifest_naming_an_unknown_priority_class_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pod_file, cluster = _preemption_files(tmp_path, priority=0)
    manifest = yaml.safe_load(pod_file.read_text())
    del manifest["spec"]["priority"]
    manifest["spec"]["priorityClassName"] = "nosuch"
    pod_file.write_text(yaml.safe_dump(manifest))
    code, _, err = run(capsys, "--pod", pod_file, "--nodes", cluster)
    assert code != 0
    assert "no PriorityClass with name nosuch was found" in err and "spec.priorityClassName" in err
    assert str(pod_file) in err


@pytest.mark.parametrize(
    "change, note",
    [
        (lambda p: p["spec"].update(schedulingGates=[{"name": "example.com/quota"}]), "scheduling gates"),
        (lambda p: p["metadata"].update(deletionTimestamp="2026-12-04T15:02:00Z"), "being deleted"),
        (lambda p: None, None),
    ],
)
def test_a_pod_kube_scheduler_holds_back_is_explained_with_a_note(tmp_path, capsys, change, note) -> None:
    pod_obj, _, _ = sample_objects()
    change(pod_obj)
    path = tmp_path / "pod.yaml"
    path.write_text(yaml.safe_dump(pod_obj))
    code, out, _ = run(capsys, "--pod", path, "--sample")
    assert code == 0 and "kube-scheduler would bind ml/trainer-0 to gpu-a100-2" in out
    assert (out.splitlines()[-1].startswith("Note: ") and note in out.splitlines()[-1]) if note else "Note:" not in out
    code, out, _ = run(capsys, "--pod", path, "--sample", "--output", "json")
    held = json.loads(out)["heldBack"]
    assert (note in held) if note else held is None


def test_a_manifest_with_limits_only_requests_its_limits(tmp_path, capsys) -> None:
    # The API server defaults a missing request to the limit; kubectl apply of this pod asks for 6 cpu and 8Gi.
    manifest = pod("limited", containers=[{"name": "app", "resources": {"limits": {"cpu": "6", "memory": "8Gi"}}}])
    path = tmp_path / "pod.yaml"
    path.write_text(yaml.safe_dump(manifest))
    nodes = tmp_path / "nodes.json"
    small = node("small", allocatable={"cpu": "4", "memory": "16Gi", "pods": "110"})
    large = node("large", allocatable={"cpu": "8", "memory": "16Gi", "pods": "110"})
    nodes.write_text(json.dumps({"kind": "List", "apiVersion": "v1", "items": [small, large]}))
    code, out, _ = run(capsys, "--pod", path, "--nodes", nodes)
    assert code == 0
    assert "requests (filter):  cpu 6, memory 8Gi" in out
    assert "NodeResourcesFit: Insufficient cpu" in node_row(out, "small")
    assert "kube-scheduler would bind default/limited to large" in out


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"\xff\xfe\x00garbage", "cannot read file"),
        (b"just a string\n", "Pod: expected a Pod object (a mapping), got str"),
        (
            b"kind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c, resources: {limits: {cpu: lots}}}]}\n",
            "Pod default/a: field spec.containers[0].resources.limits.cpu: quantity 'lots' is malformed",
        ),
    ],
    ids=["not-utf-8", "a-string", "malformed-limit"],
)
def test_a_bad_pod_file_is_an_error_naming_it(tmp_path, capsys, content: bytes, problem: str) -> None:
    path = tmp_path / "pod.yaml"
    path.write_bytes(content)
    code, out, err = run(capsys, "--pod", path, "--sample")
    assert code == 2 and out == ""
    assert err.startswith(f"error: {path}: ") and problem in err


def test_a_host_network_manifest_binds_its_container_ports_on_the_host(tmp_path, capsys) -> None:
    # The API server gives a hostNetwork pod's container ports their containerPort as hostPort.
    manifest = pod("edge", containers=[{"name": "proxy", "ports": [{"containerPort": 8443}]}])
    manifest["spec"]["hostNetwork"] = True
    path = tmp_path / "pod.yaml"
    path.write_text(yaml.safe_dump(manifest))
    holder = on_node(
        pod("gateway", containers=[{"name": "gw", "ports": [{"containerPort": 1, "hostPort": 8443}]}]), "n1"
    )
    nodes = tmp_path / "cluster.json"
    items = [node("n1"), node("n2"), holder]
    nodes.write_text(json.dumps({"kind": "List", "apiVersion": "v1", "items": items}))
    code, out, _ = run(capsys, "--pod", path, "--nodes", nodes)
    assert code == 0
    assert "NodePorts: node(s) didn't have free ports for the requested pod ports" in node_row(out, "n1")
    assert "kube-scheduler would bind default/edge to n2" in out
    manifest["spec"]["hostNetwork"] = False
    path.write_text(yaml.safe_dump(manifest))
    code, out, _ = run(capsys, "--pod", path, "--nodes", nodes)
    assert "NodePorts" not in node_row(out, "n1")
