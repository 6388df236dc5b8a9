"""Paths and comparisons shared by the workload tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from podgym.envs.scenario import data_dir
from podgym.envs.workload import Workload

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
OPENB_CSV = data_dir() / "openb" / "csv"


def openb_file(name: str) -> Path:
    """A file of the openb trace as scenarios name it: ``$PODGYM_DATA/openb/csv/NAME`` (by default the embedded one)."""
    return OPENB_CSV / name


def assert_same_arrays(a: Workload, b: Workload, *, times: bool = True) -> None:
    """Two workloads agree pod for pod on names, requests, non-zero requests, GPU asks, priority (and times)."""
    assert a.names == b.names
    assert a.resource_names == b.resource_names
    for r in a.requests:
        np.testing.assert_array_equal(a.requests[r], b.requests[r], err_msg=r)
    for field in ("nonzero_cpu", "nonzero_memory", "gpu_count", "gpu_milli", "priority"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
    if times:
        np.testing.assert_array_equal(a.arrival, b.arrival)
        np.testing.assert_array_equal(a.duration, b.duration)
