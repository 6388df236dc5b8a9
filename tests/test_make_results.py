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


def test_learned_summary_pairs_each_policy_with_kube_default_over_the_seeds(tmp_path):
    seeds = range(100, 110)
    cells = []
    for s in seeds:
        noise = 0.01 * (s % 3)  # shared by every policy on a seed: pairing removes it
        cells.append(_cell("kube-default", s, 0.20 + noise, 0.99 + noise, 0.70))
        cells.append(_cell("seed-0", s, 0.21 + noise, 0.99 + noise, 0.70 + 0.001 * (s % 2)))
        cells.append(_cell("seed-1", s, 0.19 + noise, 0.99 + noise, 0.70))
        for policy in make_results.HA_POLICIES:
            if policy != "kube-default":
                cells.append(_cell(policy, s, 0.20 + noise, 0.98 + noise, 0.70))
    stats = {"objective": {"mean": 0.0, "ci95": [0.0, 0.0]}}
    keys = ("availability_mean", "availability_min", "replicas_lost_per_failure", "cpu_allocation_mean")
    stats.update({k: stats["objective"] for k in keys})
    stats["pods_never_scheduled"] = {"mean": 0.0}
    results = {"cells": cells, "aggregate": {"ha-services": {"stats": {"seed-0": stats, "seed-1": stats}}}}
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
