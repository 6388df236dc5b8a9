"""ClusterState.copy: a copy owns its state (binds, GPUs, failures, cordons) and shares only the read-only node data."""

from __future__ import annotations

import numpy as np

from podgym.envs.cluster import ClusterState
from podgym.envs.kube.objects import LabelSelector, PodMatcher
from podgym.envs.scenario import load_and_build
from podgym.envs.scheduling import VectorProfile
from podgym.envs.workload.objects import workload_from_pods
from tests.kube import builders


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


def test_a_copy_owns_its_bound_pods():
    """What PodTopologySpread and InterPodAffinity read (per matcher counts, bound pods' terms) is the copy's own."""
    anti = {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}
            ]
        }
    }
    w = workload_from_pods([builders.pod("web", labels={"app": "web"}, affinity=anti)])
    original = ClusterState([builders.node("a"), builders.node("b")])
    everything = PodMatcher(LabelSelector(), frozenset({"default"}))
    original.bind(0, original.pod_request(w, 0))
    copy = original.copy()
    copy.bind(1, copy.pod_request(w, 0))
    later = PodMatcher(LabelSelector(), frozenset({"default", "other"}))  # registered after the copy, in each
    assert original.bound_pods.count(everything).tolist() == [1, 0] == original.bound_pods.count(later).tolist()
    assert copy.bound_pods.count(everything).tolist() == [1, 1] == copy.bound_pods.count(later).tolist()
    (k,) = copy.bound_pods.terms.values()
    assert original.bound_pods.term_counts[k].tolist() == [1, 0]
    assert copy.bound_pods.term_counts[k].tolist() == [1, 1]
