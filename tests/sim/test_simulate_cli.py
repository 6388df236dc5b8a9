"""``python -m podgym.envs.simulate``: the metrics table, --json, --set, --seed, errors, and the module entry point."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

from podgym.envs.metrics import Summary
from podgym.envs.simulate import LABELS, main

REPO = Path(__file__).resolve().parents[2]
SUMMARY_FIELDS = {f.name for f in dataclasses.fields(Summary)}


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def run_json(capsys, *args: str) -> dict:
    rc, out, err = run_cli(capsys, "--json", *args)
    assert rc == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    result = json.loads(lines[0])
    assert isinstance(result, dict)
    return result


def test_default_scenario_prints_every_metric(capsys):
    rc, out, err = run_cli(capsys)
    assert rc == 0, err
    assert "Scenario 'default'" in out
    assert "24 nodes" in out
    for label in LABELS.values():
        assert label in out, label


def test_labels_cover_every_summary_field():
    assert set(LABELS) == SUMMARY_FIELDS


def test_json_has_every_summary_field(capsys):
    result = run_json(capsys)
    assert set(result) >= SUMMARY_FIELDS
    assert result["scenario"] == "default"
    assert result["seed"] == 0
    assert result["pods_total"] > 1000
    assert result["pods_scheduled"] > 0
    assert result["pods_scheduled"] + result["pods_never_scheduled"] == result["pods_total"]


def test_shorter_horizon_gives_fewer_pods(capsys):
    full = run_json(capsys)
    short = run_json(capsys, "--set", "simulation.horizon=600")
    assert short["duration_s"] <= 600
    assert short["pods_scheduled"] < full["pods_scheduled"]
    assert short["pods_scheduled"] + short["pods_never_scheduled"] == short["pods_total"]
    # "pods arrived": only the pods that arrive within the simulated 600 s
    assert short["pods_total"] < full["pods_total"]


def test_same_seed_same_result(capsys):
    args = ("--seed", "5", "--set", "simulation.horizon=3600")
    first = run_json(capsys, *args)
    second = run_json(capsys, *args)
    assert first["seed"] == 5
    assert first == second
    other = run_json(capsys, "--seed", "6", "--set", "simulation.horizon=3600")
    assert other != first


def test_bad_set_exits_2(capsys):
    rc, out, err = run_cli(capsys, "--set", "simulation.horizon")
    assert rc == 2
    assert err.startswith("error:")
    assert "key=value" in err
    assert out == ""


def test_unknown_scenario_exits_2(capsys):
    rc, out, err = run_cli(capsys, "--scenario", "no-such-scenario")
    assert rc == 2
    assert err.startswith("error:")
    assert "no-such-scenario" in err and "default" in err
    assert out == ""


def test_module_entry_point():
    proc = subprocess.run(
        [sys.executable, "-m", "podgym.envs.simulate", "--json", "--set", "simulation.horizon=1800"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout
    result = json.loads(lines[0])
    assert set(result) >= SUMMARY_FIELDS
    assert result["scenario"] == "default"
    assert 0 < result["duration_s"] <= 1800
    assert result["pods_scheduled"] > 0
