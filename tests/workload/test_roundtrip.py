"""One source of truth: every workload's `pod_object(i)` goes back through workload_from_pods to the same arrays."""

from __future__ import annotations

import numpy as np
import pytest

from podgym.envs.workload import (
    generate,
    read_openb_pods,
    read_snapshot,
    sort_by_arrival,
    take,
    workload_from_manifests,
    workload_from_pods,
)
from tests.workload.helpers import DATA, assert_same_arrays, openb_file

SYNTHETIC = {
    "num_pods": 300,
    "arrivals": {"process": "diurnal", "mean_rate": 1.0, "amplitude": 0.3, "period": 100},
    "lifetime": {"distribution": "exponential", "mean": 50},
    "classes": [
        {"name": "web", "weight": 3, "cpu": "250m", "memory": "512Mi", "labels": {"app": "web"}},
        {"name": "idle", "weight": 1},  # no requests: scoring defaults
        {"name": "zero", "weight": 1, "cpu": "0", "memory": "0"},  # explicit zeros: no scoring defaults
        {"name": "disk", "weight": 1, "cpu": "1", "ephemeral_storage": "20Gi"},
        {"name": "share", "weight": 2, "cpu": "2", "memory": "4Gi", "gpu_count": 1, "gpu_milli": 300},
        {
            "name": "whole",
            "weight": 1,
            "cpu": "8",
            "memory": "32Gi",
            "gpu_count": 2,
            "priority": 1000,
            "namespace": "ml",
            "node_selector": {"nvidia.com/gpu.product": "A100"},
            "tolerations": [{"key": "gpu", "operator": "Exists"}],
        },
    ],
}


def roundtrip(w):
    pods = [w.pod_object(i) for i in range(len(w))]
    back = workload_from_pods(pods, arrival=w.arrival, duration=w.duration, extra_resources=w.resource_names)
    assert_same_arrays(w, back)
    # the same constraints: each pod's template agrees with the original's
    for i in range(len(w)):
        a, b = w.templates[w.template[i]], back.templates[back.template[i]]
        assert (a.namespace, a.labels, a.node_selector, a.required_terms, a.tolerations, a.priority) == (
            b.namespace,
            b.labels,
            b.node_selector,
            b.required_terms,
            b.tolerations,
            b.priority,
        )
    return back


@pytest.mark.parametrize("seed", [0, 1])
def test_synthetic_roundtrip(seed):
    w = generate(SYNTHETIC, seed)
    zero = [i for i, n in enumerate(w.names) if n.startswith("zero-")]
    idle = [i for i, n in enumerate(w.names) if n.startswith("idle-")]
    assert zero and idle
    assert np.all(w.nonzero_cpu[zero] == 0) and np.all(w.nonzero_cpu[idle] == 100)
    roundtrip(w)


def test_openb_sample_roundtrip():
    roundtrip(read_openb_pods(DATA / "openb" / "pods.csv"))


def test_snapshot_and_manifest_roundtrip():
    cluster, pending = read_snapshot(DATA / "snapshot" / "nodes.json", DATA / "snapshot" / "pods.yaml")
    roundtrip(cluster.initial)
    roundtrip(pending)
    roundtrip(workload_from_manifests([DATA / "manifests" / "app.yaml", DATA / "manifests" / "more.json"]))


def test_openb_real_roundtrip():
    w = read_openb_pods(openb_file("openb_pod_list_gpuspec25.csv"))
    roundtrip(take(w, np.arange(0, len(w), 7)))


def test_take_and_sort_by_arrival():
    w = read_openb_pods(DATA / "openb" / "pods.csv")
    rev = take(w, np.arange(len(w))[::-1])
    assert rev.names == w.names[::-1]
    np.testing.assert_array_equal(rev.gpu_milli, w.gpu_milli[::-1])
    assert rev.templates is w.templates
    assert_same_arrays(sort_by_arrival(rev), w)
    clones = take(w, [1, 1], names=["a-tuned-0", "a-tuned-1"])
    assert clones.names == ["a-tuned-0", "a-tuned-1"] and clones.gpu_milli.tolist() == [460, 460]
    with pytest.raises(ValueError, match="2 names for 1 pods"):
        take(w, [0], names=["x", "y"])
