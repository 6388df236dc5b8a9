"""The benchmarks run and print what they document (their timings are their job, not a test's)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SIMULATE_KEYS = {
    "benchmark",
    "nodes",
    "pods",
    "profile",
    "placed",
    "seconds",
    "placements_per_s",
    "target_placements_per_s",
    "ratio_to_target",
    "ratio_to_upstream_threshold",
    "peak_rss_mib",
    "setup_s",
}


def test_simulate_benchmark_small():
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "simulate.py"), "--nodes", "200", "--pods", "2000"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout
    result = json.loads(lines[0])
    assert isinstance(result, dict)
    assert set(result) == SIMULATE_KEYS
    assert result["benchmark"] == "simulate"
    assert result["nodes"] == 200 and result["pods"] == 2000
    assert result["placed"] == 2000
    assert result["placements_per_s"] > 0
    assert result["target_placements_per_s"] == 8100
    assert abs(result["ratio_to_target"] - result["placements_per_s"] / 8100) < 0.01
    assert result["peak_rss_mib"] > 0
