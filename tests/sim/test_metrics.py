"""Scheduling metrics on hand-checked toys: the cluster-level measures (envs.metrics) and a run's Summary."""

from __future__ import annotations

import math

import numpy as np
import pytest

from podgym.envs.cluster import ClusterState
from podgym.envs.kube import parse_nodes
from podgym.envs.kube.objects import CPU, MEMORY
from podgym.envs.metrics import Summary, gpu_fragmentation, node_imbalance
from podgym.envs.policy import KubeSchedulerPolicy
from podgym.envs.simulator import FailureModel, SimulationOptions, Simulator
from podgym.envs.workload.objects import workload_from_pods
from podgym.envs.workload.types import GPU_COUNT_ANNOTATION, GPU_MILLI_ANNOTATION, ClusterSource
from podgym.policies.heuristics import FirstFitPolicy
from tests.kube.builders import node, pod

HOUR = 3600.0


def mkpod(name: str, cpu: str = "1", memory: str = "1Gi", gpus: int = 0, gpu_milli: int = 0) -> dict:
    requests = {"cpu": cpu, "memory": memory}
    if gpus and not gpu_milli:
        requests["nvidia.com/gpu"] = str(gpus)
    p = pod(name, containers=[requests])
    if gpu_milli:
        p["metadata"]["annotations"] = {GPU_COUNT_ANNOTATION: "1", GPU_MILLI_ANNOTATION: str(gpu_milli)}
    return p


def mknode(name: str, cpu: str = "4", memory: str = "16Gi", gpus: int = 0) -> dict:
    allocatable = {"cpu": cpu, "memory": memory, "pods": "110"}
    if gpus:
        allocatable["nvidia.com/gpu"] = str(gpus)
    return node(name, allocatable=allocatable)


def make_sim(nodes, pods, arrival, duration, seed: int = 0, **options) -> Simulator:
    workload = workload_from_pods(pods, arrival, duration)
    return Simulator(ClusterSource(nodes=parse_nodes(nodes)), workload, SimulationOptions(**options), seed=seed)


# ---- a whole run ----------------------------------------------------------------------------------------------


def two_node_run(sample_interval_s: float = 60.0) -> tuple[Simulator, Summary]:
    # a (2 cpu, 4Gi) runs over [0, 100] on one node; b (4 cpu, 8Gi) over [50, 100] fills the other.
    pods = [mkpod("a", cpu="2", memory="4Gi"), mkpod("b", cpu="4", memory="8Gi")]
    sim = make_sim([mknode("n0"), mknode("n1")], pods, [0, 50], [100, 50], sample_interval_s=sample_interval_s)
    return sim, sim.run(KubeSchedulerPolicy())


def test_time_weighted_allocation_node_hours_and_imbalance():
    sim, s = two_node_run()
    assert sim.node_of.tolist() == [-1, -1]
    assert s.duration_s == 100
    # cpu requested / allocatable: 2/8 over [0, 50), 6/8 over [50, 100).
    assert s.cpu_allocation_mean == pytest.approx((0.25 * 50 + 0.75 * 50) / 100)
    assert s.cpu_allocation_peak == 0.75
    assert s.memory_allocation_mean == pytest.approx((4 / 32 * 50 + 12 / 32 * 50) / 100)
    assert s.gpu_allocation_mean == 0.0 and s.gpu_allocation_final == 0.0
    # one node busy over [0, 50), two over [50, 100); two nodes live throughout.
    assert s.active_node_hours == pytest.approx((1 * 50 + 2 * 50) / HOUR)
    assert s.node_hours == pytest.approx(2 * 100 / HOUR)
    # imbalance sampled at t=0 (cpu shares 0.5 and 0) and t=100 (both empty); t=50 is within 60 s of t=0.
    assert sim.metrics.sample_times == [0, 100]
    assert s.imbalance_cpu_mean == pytest.approx((0.25 + 0.0) / 2)
    assert s.imbalance_memory_mean == pytest.approx((np.std([0.25, 0.0]) + 0.0) / 2)
    assert (s.pods_total, s.pods_scheduled, s.pods_pending_at_end, s.evictions) == (2, 2, 0, 0)
    assert s.wait_mean_s == 0.0 and s.wait_p95_s == 0.0
    assert set(s.as_dict()) == set(Summary.__dataclass_fields__)


def test_imbalance_is_sampled_at_the_configured_interval():
    sim, s = two_node_run(sample_interval_s=1.0)
    assert sim.metrics.sample_times == [0, 50, 100]
    # t=50: cpu shares 0.5 and 1.0 -> std 0.25.
    assert s.imbalance_cpu_mean == pytest.approx((0.25 + 0.25 + 0.0) / 3)


def test_wait_mean_p95_and_pending_mean():
    # Five 1-cpu pods at t=0 on a 1-cpu node, 10 s each: they run one after the other.
    pods = [mkpod(f"p{i}") for i in range(5)]
    sim = make_sim([mknode("n0", cpu="1")], pods, [0] * 5, [10] * 5)
    s = sim.run(KubeSchedulerPolicy())
    assert sim.metrics.waits == [0, 10, 20, 30, 40]
    assert s.wait_mean_s == 20.0
    assert s.wait_p95_s == pytest.approx(38.0)  # linear interpolation: 30 + 0.8 * 10
    # pending 4, 3, 2, 1, 0 over consecutive 10 s spans; the run ends at 50.
    assert s.duration_s == 50
    assert s.pending_pods_mean == pytest.approx((4 + 3 + 2 + 1 + 0) * 10 / 50)
    assert s.cpu_allocation_mean == 1.0
    assert (s.scheduling_attempts, s.failed_attempts) == (15, 10)  # every pending pod is retried at each departure


def test_gpu_allocation_and_fragmentation_over_a_run():
    # A 500-milli GPU share on a 2-GPU node over [0, 100]: half of one GPU is used; 500 of the 1500
    # free milli-GPU sit on a partly used GPU. Fragmentation is sampled at t=0 and t=100 (empty again).
    sim = make_sim([mknode("g0", gpus=2)], [mkpod("share", gpu_milli=500)], [0], [100])
    s = sim.run(KubeSchedulerPolicy())
    assert s.gpu_allocation_mean == pytest.approx(500 / 2000)
    assert s.gpu_allocation_final == 0.0
    assert sim.metrics.fragmentation == [pytest.approx(500 / 1500), 0.0]
    assert s.gpu_fragmentation_mean == pytest.approx(500 / 1500 / 2)


def test_evictions_and_allocation_over_live_nodes_only():
    # n0 (both pods, first fit) fails at 10 and never recovers: 2 evictions, the pods move to n1.
    pods = [mkpod("a", cpu="2"), mkpod("b", cpu="1")]
    failures = FailureModel(events=((10, "n0", "fail"),))
    sim = make_sim([mknode("n0"), mknode("n1")], pods, [0, 0], [math.inf, 20], failures=failures)
    s = sim.run(FirstFitPolicy())
    assert s.evictions == 2
    assert sim.node_of.tolist() == [1, -1]
    # cpu over live nodes: 3/8 over [0, 10), 3/4 over [10, 30) (b restarted at 10, leaves at 30;
    # t=20 is its stale first departure).
    assert s.duration_s == 30
    assert dict(zip(sim.metrics.times, sim.metrics.alloc[CPU])) == {0: 3 / 8, 10: 3 / 4, 20: 3 / 4, 30: 2 / 4}
    assert s.cpu_allocation_mean == pytest.approx((3 / 8 * 10 + 3 / 4 * 20) / 30)
    assert s.node_hours == pytest.approx((2 * 10 + 1 * 20) / HOUR)


def test_summary_in_the_middle_of_a_time_step_does_not_change_the_final_metrics():
    # The Gymnasium env asks for metrics between decisions. Asking after the first of two decisions at
    # t=0 must not freeze a half-scheduled t=0 into the record: the run's metrics are the same as without.
    def sim() -> Simulator:
        return make_sim([mknode("n0", cpu="2")], [mkpod("a"), mkpod("b")], [0, 0], [10, 20])

    reference = sim().run(FirstFitPolicy())
    stepped = sim()
    stepped.next_pod()
    stepped.bind(0)
    stepped.summary()
    assert stepped.run(FirstFitPolicy()) == reference
    assert reference.cpu_allocation_mean == pytest.approx((1.0 * 10 + 0.5 * 10) / 20)


# ---- cluster-level measures -----------------------------------------------------------------------------------


def gpu_cluster() -> tuple[ClusterState, object]:
    pods = [mkpod("s250", gpu_milli=250), mkpod("s500", gpu_milli=500), mkpod("whole", gpus=1)]
    workload = workload_from_pods(pods)
    cluster = ClusterState.for_workloads(parse_nodes([mknode("g0", gpus=2), mknode("g1", gpus=4)]), workload)
    return cluster, workload


def test_gpu_fragmentation_by_hand():
    cluster, w = gpu_cluster()
    assert gpu_fragmentation(cluster) == 0.0  # 6 idle GPUs, nothing partly used
    share250, share500, whole = (cluster.pod_request(w, i) for i in range(3))
    assert cluster.bind(0, share250) == (0,)
    # g0: [750, 1000], g1: 4 x 1000 -> 750 of 5750 free milli-GPU on a partly used GPU.
    assert gpu_fragmentation(cluster) == pytest.approx(750 / 5750)
    assert cluster.bind(0, share500) == (0,)  # best fit: the GPU with 750 free
    assert gpu_fragmentation(cluster) == pytest.approx(250 / 5250)
    assert cluster.bind(0, whole) == (1,)
    assert gpu_fragmentation(cluster) == pytest.approx(250 / 4250)
    # Dead nodes do not count: with g1 down, all that is free is the 250 on g0's shared GPU.
    cluster.set_alive(1, False)
    assert gpu_fragmentation(cluster) == 1.0
    cluster.unbind(0, share250, (0,))
    cluster.unbind(0, share500, (0,))
    assert gpu_fragmentation(cluster) == 0.0  # one idle GPU left free, nothing partly used
    cluster.bind(0, cluster.pod_request(w, 2))
    assert gpu_fragmentation(cluster) == 0.0  # nothing free at all


def test_gpu_fragmentation_without_gpus_is_zero():
    cluster = ClusterState(parse_nodes([mknode("n0")]))
    assert gpu_fragmentation(cluster) == 0.0


def test_node_imbalance_by_hand():
    nodes = [mknode("n0"), mknode("n1"), mknode("n2"), mknode("nomem", memory="0")]
    workload = workload_from_pods([mkpod("two", cpu="2", memory="8Gi"), mkpod("one", cpu="1", memory="0")])
    cluster = ClusterState.for_workloads(parse_nodes(nodes), workload)
    assert node_imbalance(cluster) == 0.0
    cluster.bind(0, cluster.pod_request(workload, 0))
    cluster.bind(1, cluster.pod_request(workload, 1))
    # cpu shares 0.5, 0.25, 0, 0 over four live nodes.
    assert node_imbalance(cluster, CPU) == pytest.approx(np.std([0.5, 0.25, 0.0, 0.0]))
    # memory: "nomem" offers none and is left out: shares 0.5, 0, 0.
    assert node_imbalance(cluster, MEMORY) == pytest.approx(np.std([0.5, 0.0, 0.0]))
    cluster.set_alive(2, False)
    cluster.set_alive(3, False)
    assert node_imbalance(cluster, CPU) == pytest.approx(np.std([0.5, 0.25]))
    assert node_imbalance(cluster, "example.com/foo") == 0.0
    assert cluster.allocation_ratio(CPU) == pytest.approx(3 / 8)
