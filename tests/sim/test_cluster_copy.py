"""ClusterState.copy: a copy owns its state (binds, GPUs, failures, cordons) and shares only the read-only node data."""

from __future__ import annotations

import numpy as np

from podgym.envs.cluster import ClusterState
from podgym.envs.scenario import load_and_build
from podgym.envs.scheduling import VectorProfile


def state_of(c: ClusterState) -> dict:
    arrays = {name: getattr(c, name).copy() for name in ClusterState._STATE_ARRAYS}
    return {"arrays": arrays, "scalars": (c.version, c.static_version, c.active_count, c.live_count)}


def assert_same_state(a: dict, b: dict) -> None:
    assert a["scalars"] == b["scalars"]
    for name, value in a["arrays"].items():
        np.testing.assert_array_equal(value, b["arrays"][name], err_msg=name)


def test_a_copy_and_its_original_change_independently():
    built = load_and_build("default", {"simulation.horizon": 3600})
    original = ClusterState.for_workloads(built.cluster.nodes, built.workload)
    pristine = state_of(original)
    copy = original.copy()
    assert_same_state(state_of(copy), pristine)

    # Bind pods (GPU ones among them) wherever they fit, release some, fail an empty node, cordon another.
    filters = VectorProfile(built.profile)
    held = []
    for i in range(200):
        pod = copy.pod_request(built.workload, i)
        fits = np.flatnonzero(filters.filter(copy, pod))
        if len(fits):
            held.append((int(fits[-1]), pod, copy.bind(int(fits[-1]), pod)))
    for node, pod, gpus in held[::2]:
        copy.unbind(node, pod, gpus)
    copy.set_alive(int(np.flatnonzero(copy.pod_count == 0)[0]), False)
    copy.set_unschedulable(0, True)
    assert len(held) > 50 and any(gpus for _, _, gpus in held)
    changed = state_of(copy)
    assert changed["scalars"] != pristine["scalars"]
    for name in ("free_t", "pod_count", "gpu_free", "alive", "unschedulable", "total_requested"):
        assert not np.array_equal(changed["arrays"][name], pristine["arrays"][name]), name

    assert_same_state(state_of(original), pristine)  # the original did not move
    assert copy.labels is original.labels and copy.allocatable_t is original.allocatable_t  # shared, read-only
    assert_same_state(state_of(original.copy()), pristine)
