"""evaluate.py on policies x scenarios x seeds: report files, statistics, resume, identical results serial /
processes / Ray, and bad input caught before any work starts."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from podgym.agents.commands import evaluate
from podgym.agents.evaluation import METRICS_FOR_TABLES, aggregate, bootstrap_ci, paired_difference_significant

SHORT = "default"  # the cells below override nothing: a default episode takes well under a second


def cells(out: Path) -> list[dict]:
    rows = json.loads((out / "results.json").read_text())["cells"]
    return sorted(
        ({k: v for k, v in r.items() if k != "seconds"} for r in rows),
        key=lambda r: (r["policy"], r["scenario"], r["seed"]),
    )


def run(tmp_path: Path, name: str, *extra: str, policies=("random", "best-fit"), seeds=("1", "2")) -> Path:
    out = tmp_path / name
    argv = ["--policies", *policies, "--scenarios", SHORT, "--seeds", *seeds, "--out", str(out), *extra]
    assert evaluate.main(argv) == 0
    return out


def test_report_files_and_table(tmp_path, capsys):
    out = run(tmp_path, "serial")
    printed = capsys.readouterr().out
    assert "Scenario default" in printed and "random" in printed and "best-fit" in printed
    rows = list(csv.DictReader(io.StringIO((out / "results.csv").read_text())))
    assert len(rows) == 4 and {r["policy"] for r in rows} == {"random", "best-fit"}
    assert {"objective", "gpu_allocation_mean", "wait_p95_s", "evictions"} <= set(rows[0])
    report = (out / "report.md").read_text()
    assert "| rank | policy |" in report and "95% bootstrap CI" in report
    page = (out / "report.html").read_text()
    assert page.startswith("<!doctype html>") and page.count("data:image/png;base64,") >= 4
    assert "src='plots/" not in page  # self-contained: no file references
    data = json.loads((out / "results.json").read_text())
    ranking = data["aggregate"]["default"]["ranking"]
    means = [data["aggregate"]["default"]["stats"][p]["objective"]["mean"] for p in ranking]
    assert means == sorted(means, reverse=True)


def test_resume_skips_finished_cells(tmp_path):
    out = run(tmp_path, "resume")
    stamps = {p: p.stat().st_mtime_ns for p in (out / "cells").glob("*.json")}
    first = cells(out)
    run(tmp_path, "resume", seeds=("1", "2", "3"))
    again = {p: p.stat().st_mtime_ns for p in (out / "cells").glob("*.json")}
    assert all(again[p] == t for p, t in stamps.items())  # finished cells were not recomputed
    assert len(again) == 6
    assert [c for c in cells(out) if c["seed"] in (1, 2)] == first


def test_serial_processes_and_ray_give_identical_results(tmp_path):
    serial = cells(run(tmp_path, "serial"))
    parallel = cells(run(tmp_path, "workers", "--workers", "2"))
    assert serial == parallel
    ray = pytest.importorskip("ray", reason="Ray is the optional extra podgym[ray]")
    try:
        on_ray = cells(run(tmp_path, "ray", "--ray", "local"))
    finally:
        ray.shutdown()
    assert serial == on_ray


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--policies", "no-such-policy", "--scenarios", "default"], "unknown policy 'no-such-policy'"),
        (["--policies", "random", "--scenarios", "no-such-scenario"], "available:"),
        (["--policies", "missing/model.onnx", "--scenarios", "default"], "missing/model.onnx"),
        (["--policies", "missing-run-dir/", "--scenarios", "default"], "unknown policy"),
    ],
)
def test_bad_input_fails_before_any_work(tmp_path, capsys, argv, needle):
    out = tmp_path / "out"
    assert evaluate.main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and needle in err
    assert not out.exists()


def test_model_with_another_feature_layout_is_refused(tmp_path, capsys):
    import torch as th

    bad = tmp_path / "model.zip"
    state = {"mlp_extractor.net.encoder.0.weight": th.zeros(8, 5)}
    buf = io.BytesIO()
    th.save(state, buf)
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("policy.pth", buf.getvalue())
    assert evaluate.main(["--policies", str(bad), "--scenarios", "default", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "feature" in err


def test_bootstrap_and_significance():
    rng = np.random.default_rng(0)
    lo, hi = bootstrap_ci(np.array([1.0, 2.0, 3.0, 4.0]), rng)
    assert 1.0 <= lo < 2.5 < hi <= 4.0
    assert paired_difference_significant(np.array([2.0, 3.0, 4.0, 5.0]), np.array([1.0, 2.0, 3.1, 4.0]), rng)[0]
    assert not paired_difference_significant(np.array([1.0, 2.0, 3.0]), np.array([1.5, 1.5, 3.0]), rng)[0]


def test_aggregate_ranks_by_objective():
    rows = [
        {
            "scenario": "s",
            "policy": p,
            "seed": k,
            **{m: v + k * 0.01 for m in METRICS_FOR_TABLES},
        }
        for p, v in (("a", 0.5), ("b", 0.7), ("c", 0.6))
        for k in range(4)
    ]
    agg = aggregate(rows)["s"]
    assert agg["ranking"] == ["b", "c", "a"]
    assert agg["stats"]["b"]["objective"]["mean"] == pytest.approx(0.715)
    assert all(c["significant"] for c in agg["comparisons"])


def test_kube_default_is_the_scenarios_profile(tmp_path):
    """evaluate.py's kube-default schedules with the scenario's scheduler config, as envs.simulate does."""
    import yaml

    from podgym.agents.evaluation import run_cell
    from podgym.envs.policy import KubeSchedulerPolicy
    from podgym.envs.scenario import load_and_build, scenario_path
    from podgym.envs.simulator import Simulator
    from podgym.policies.composite import ByPodKind
    from podgym.policies.heuristics import GpuPackingPolicy

    data = Path(__file__).resolve().parent / "data"
    scenario = yaml.safe_load(scenario_path(SHORT).read_text())
    scenario["scheduler"] = {"config": str(data / "scheduler-configs" / "docs-most-allocated.yaml")}
    path = tmp_path / "most-allocated.yaml"
    path.write_text(yaml.safe_dump(scenario))
    built = load_and_build(path, seed=0)
    assert built.profile.plugin("NodeResourcesFit").args["scoringStrategy"]["type"] == "MostAllocated"

    def active_nodes(profile, gpu=None) -> float:
        sim = Simulator(built.cluster, built.workload, built.options, profile, seed=0)
        kube = KubeSchedulerPolicy(profile)
        return sim.run(kube if gpu is None else ByPodKind(kube, gpu)).active_node_hours

    cell = run_cell("kube-default", str(path), 0)
    assert cell["active_node_hours"] == active_nodes(built.profile)
    assert cell["active_node_hours"] != active_nodes(KubeSchedulerPolicy().profile)  # packing differs
    # inside a pair too
    pair = run_cell("kube-default+gpu-packing", str(path), 0)["active_node_hours"]
    assert pair == active_nodes(built.profile, GpuPackingPolicy())
    assert pair != active_nodes(KubeSchedulerPolicy().profile, GpuPackingPolicy())


def test_a_scenario_with_services_reports_their_availability(tmp_path, capsys):
    """ha-services end to end: availability columns in the tables, one row per service, none for the default."""
    out = tmp_path / "ha"
    argv = ["--policies", "kube-default", "best-fit", "--scenarios", "ha-services", "default", "--seeds", "0"]
    assert evaluate.main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "availability_mean" in printed
    data = json.loads((out / "results.json").read_text())
    ha, plain = data["aggregate"]["ha-services"], data["aggregate"]["default"]
    assert ha["services"] and not plain["services"]
    assert {"availability_mean", "availability_min", "preemptions"} <= set(ha["stats"]["best-fit"])
    assert "availability_mean" not in plain["stats"]["best-fit"]
    cell = next(c for c in data["cells"] if c["scenario"] == "ha-services" and c["policy"] == "best-fit")
    per_service = cell["availability_by_service"]
    assert len(per_service) == cell["services"] == 9
    assert cell["availability_min"] == min(per_service.values())
    assert ha["availability_by_service"]["best-fit"] == per_service  # one seed: the mean is the cell's
    report = (out / "report.md").read_text()
    assert "| default/db |" in report and "availability_min" in report
    page = (out / "report.html").read_text()
    assert "<h3>Services</h3>" in page and page.count("<h3>Services</h3>") == 1
    assert "availability_by_service" not in (out / "results.csv").read_text()


def test_the_ha_services_config_names_the_scenario_and_its_baselines():
    cfg = evaluate.load_config(str(Path(__file__).resolve().parents[1] / "configs" / "eval" / "ha-services.yaml"))
    assert cfg.scenarios == ["ha-services"] and len(cfg.seeds) == 10
    assert {"kube-default", "best-fit"} <= set(cfg.policies)
