"""docs/make_results.py: one section of the page rewritten alone (--only), and the learned policies' paired
differences to kube-default and IQM across training runs on ha-services."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("make_results", REPO / "docs" / "make_results.py")
make_results = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_results)

PAGE = """# Results

Written by `make results` on then.

Machine: somewhere.

## Policies on the default scenario

old default

## Trained on 64 nodes, run on 1,213

old openb

## Speed

old speed
"""


def test_only_inserts_a_missing_section_in_its_place_and_notes_it():
    page = make_results.replace_section(PAGE, "ha-services", ["## Highly available services", "", "new"], "NOTE A")
    headings = [ln for ln in page.splitlines() if ln.startswith("## ")]
    assert headings == [heading for _, heading in make_results.SECTIONS]
    assert "\n\nnew\n\n## Trained on 64 nodes" in page
    assert page.count("NOTE A") == 1 and page.index("Machine: somewhere.") < page.index("NOTE A")
    assert "old default" in page and "old openb" in page and "old speed" in page


def test_only_replaces_a_section_and_its_earlier_note():
    note = "The section 'Highly available services' was rewritten alone by X"
    first = make_results.replace_section(PAGE, "ha-services", ["## Highly available services", "", "BODY-1"], note)
    second = make_results.replace_section(
        first, "ha-services", ["## Highly available services", "", "BODY-2"], note + "Y"
    )
    assert "BODY-1" not in second and "\n\nBODY-2\n\n## Trained" in second
    assert second.count("was rewritten alone") == 1 and note + "Y" in second
    assert second.replace(note + "Y", note) == first.replace("BODY-1", "BODY-2")  # no blank lines pile up
    last = make_results.replace_section(second, "speed", ["## Speed", "", "fast"], "NOTE S")
    assert last.endswith("## Speed\n\nfast\n") and "old speed" not in last and "BODY-2" in last


def test_only_needs_the_pages_header():
    with pytest.raises(ValueError, match="Machine"):
        make_results.replace_section("## Speed\n", "speed", ["## Speed"], "NOTE")


def _cell(policy: str, seed: int, objective: float, availability: float, cpu: float) -> dict:
    return {
        "scenario": "ha-services",
        "policy": policy,
        "seed": seed,
        "objective": objective,
        "availability_mean": availability,
        "availability_min": availability,
        "replicas_lost_per_failure": 1.0,
        "cpu_allocation_mean": cpu,
        "pods_never_scheduled": 0,
    }


def _run_dir(path: Path, seed: int) -> str:
    """A training run's files as train.py writes them (what the summary reads)."""
    path.mkdir(parents=True)
    (path / "config.yaml").write_text(f"seed: {seed}\ntotal_timesteps: 1000\n")
    (path / "meta.json").write_text(json.dumps({"created": 1000.0}))
    (path / "best_eval.json").write_text(json.dumps({"num_timesteps": 500}))
    (path / "pretrain.json").write_text(
        json.dumps({"expert": "kube-default", "seconds": 7.0, "phases": [{"accuracy": 0.5}, {"accuracy": 0.9}]})
    )
    (path / "final_model.zip").write_bytes(b"")
    os.utime(path / "final_model.zip", (1042.0, 1042.0))
    return str(path)


def _results() -> dict:
    """evaluate.py's results.json for kube-default, the other heuristics and two learned runs on ten seeds."""
    cells = []
    for s in range(100, 110):
        noise = 0.01 * (s % 3)  # shared by every policy on a seed: pairing removes it
        cells.append(_cell("kube-default", s, 0.20 + noise, 0.99 + noise, 0.70))
        cells.append(_cell("seed-0", s, 0.21 + noise, 0.99 + noise, 0.70 + 0.001 * (s % 2)))
        cells.append(_cell("seed-1", s, 0.19 + noise, 0.99 + noise, 0.70))
        for policy in make_results.HA_POLICIES:
            if policy != "kube-default":
                cells.append(_cell(policy, s, 0.20 + noise, 0.98 + noise, 0.70))
    stats = {}
    for policy in {c["policy"] for c in cells}:
        mine = [c for c in cells if c["policy"] == policy]
        stats[policy] = {"pods_never_scheduled": {"mean": 0.0}}
        for key in ("objective", "availability_mean", "availability_min", "replicas_lost_per_failure"):
            mean = sum(c[key] for c in mine) / len(mine)
            stats[policy][key] = {"mean": mean, "ci95": [mean - 0.001, mean + 0.001]}
        stats[policy]["cpu_allocation_mean"] = stats[policy]["availability_min"]
    return {"cells": cells, "aggregate": {"ha-services": {"stats": stats}}}


def test_learned_summary_pairs_each_policy_with_kube_default_over_the_seeds(tmp_path):
    results = _results()
    runs = [_run_dir(tmp_path / "seed-0", 0), _run_dir(tmp_path / "seed-1", 1) + "/"]
    summary = make_results.ha_learned_summary(results, runs)
    assert summary["learned"] == ["seed-0", "seed-1"]
    d = summary["differences"]
    assert d["seed-0"]["objective"]["mean"] == pytest.approx(0.01)
    assert d["seed-0"]["objective"]["significant"] and d["seed-0"]["objective"]["ci95"][0] > 0
    assert d["seed-1"]["objective"]["significant"] and d["seed-1"]["objective"]["ci95"][1] < 0
    assert not d["seed-0"]["availability_mean"]["significant"]  # identical on every seed
    assert d["random"]["availability_mean"]["mean"] == pytest.approx(-0.01)
    assert "kube-default" not in d
    iqm = summary["iqm_objective"]
    assert (iqm["runs"], iqm["seeds"]) == (2, 10)
    assert iqm["ci95"][0] <= iqm["value"] <= iqm["ci95"][1]
    assert set(summary["rows"]) == {"seed-0", "seed-1"}
    first = summary["training"][0]
    assert (first["run"], first["seed"], first["best_at"], first["seconds"]) == ("seed-0", 0, 500, 42)
    assert (first["expert"], first["clone_accuracy"]) == ("kube-default", 0.9)  # after the last DAgger round
    gap = summary["iqm_difference_to_kube_default"]
    assert gap["value"] == pytest.approx(0.0) and gap["ci95"][0] < 0 < gap["ci95"][1]  # +0.01 and -0.01 runs


def test_the_section_with_runs_and_with_their_figures_carried(tmp_path, monkeypatch):
    """Given the runs, the section evaluates them and keeps what it would carry; without them, it shows the
    carried learned rows, differences, IQM and training lines beside the heuristics it measures."""
    results = _results()
    runs = [_run_dir(tmp_path / "train" / "seed-0", 0), _run_dir(tmp_path / "train" / "seed-1", 1)]

    def evaluate(cmd: list[str], capture: bool = False) -> str:
        learned = [c for c in results["cells"] if c["policy"].startswith("seed-")]
        out = Path(cmd[cmd.index("--out") + 1])
        out.mkdir(parents=True)
        cells = results["cells"] if runs[0] in cmd else [c for c in results["cells"] if c not in learned]
        (out / "results.json").write_text(json.dumps({**results, "cells": cells}))
        return ""

    monkeypatch.setattr(make_results, "ROOT", tmp_path)
    monkeypatch.setattr(make_results, "run", evaluate)
    live = make_results.ha_services_section(1, runs)
    carried = json.loads((tmp_path / "runs" / "results" / "ha-services" / "learned.json").read_text())
    path = tmp_path / "carried.json"
    path.write_text(json.dumps({"ha-services": {**carried, "made_by": "MADE-BY", "notes": "NOTES."}}))
    monkeypatch.setattr(make_results, "CARRIED", path)
    again = make_results.ha_services_section(1)
    assert any("learned, training seed 0" in line and "carried (see below)" in line for line in again)
    assert any("MADE-BY" in line for line in again) and not any("MADE-BY" in line for line in live)
    # Carried, the section is the same but for the evaluation command (no runs) and where the learned rows come from.
    live_lines = [line for line in live if "--policies" not in line]
    again_lines = [
        line.replace("carried (see below)", "the command above") for line in again if "--policies" not in line
    ]
    assert again_lines[: len(live_lines)] == live_lines
    training = [line for line in again if line.startswith("- training seed")]
    assert len(training) == 2 and "42 s from start to final model" in training[0]


def test_the_carried_openb_traces_table_has_a_row_per_trace_with_both_typical_pod_choices():
    carried = json.loads((REPO / "docs" / "results_learned.json").read_text())["openb"]["traces"]
    lines = make_results.openb_traces_table(carried)
    rows = [ln for ln in lines if ln.startswith("| ") and not ln.startswith("| trace")]
    assert [r.split(" | ")[0].removeprefix("| ") for r in rows] == [r["trace"] for r in carried["rows"]]
    for line, row in zip(rows, carried["rows"]):
        cells = line.strip("|").split(" | ")
        assert len(cells) == 7
        for cell, mode in ((cells[4], "experiment"), (cells[6], "export")):
            assert cell.strip().endswith("*") == row[mode]["significant"]
            assert cell.strip().startswith(f"{row[mode]['paired']:+.2f} [")
