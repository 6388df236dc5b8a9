"""NodePorts in the simulator: a pod whose host port is taken waits, and its queueing hint requeues it as soon
as the holder leaves the node (upstream isSchedulableAfterPodDeleted: Queue when the deleted pod held one of its
ports, QueueSkip when it held none or other ports); pods without host ports never touch the port state."""

from __future__ import annotations

import numpy as np

from podgym.envs.cluster import ClusterState
from podgym.envs.kube import parse_nodes
from podgym.envs.policy import KubeSchedulerPolicy
from podgym.envs.simulator import Simulator
from podgym.envs.workload.objects import workload_from_pods
from podgym.envs.workload.types import ClusterSource
from tests.kube.builders import container, node, pod


class BindTimes:
    """Records when each pod is bound."""

    def __init__(self) -> None:
        self.sim: Simulator | None = None
        self.times: dict[str, float] = {}

    def on_bind(self, cluster, node, pod, gpus) -> None:
        self.times[pod.name] = self.sim.now

    def on_unbind(self, cluster, node, pod, gpus) -> None:
        pass


def port_pod(name: str, port: int | None) -> dict:
    ports = [{"containerPort": 80, "hostPort": port}] if port else []
    return pod(name, containers=[container({"cpu": "100m"}, name="c", ports=ports)])


def run(pods: list[dict], arrival: list[float], duration: list[float]) -> tuple[Simulator, dict[str, float]]:
    nodes = parse_nodes([node("n0", allocatable={"cpu": "4", "memory": "8Gi", "pods": "110"})])
    sim = Simulator(ClusterSource(nodes=nodes), workload_from_pods(pods, arrival, duration))
    times = BindTimes()
    times.sim = sim
    sim.listeners.append(times)
    sim.run(KubeSchedulerPolicy())
    return sim, times.times


def test_a_pod_waits_for_its_host_port_and_binds_when_the_holder_leaves() -> None:
    pods = [port_pod("a", 8080), port_pod("b", 8080), port_pod("c", 9090), port_pod("d", None)]
    _, times = run(pods, [0, 10, 20, 30], [100, np.inf, np.inf, np.inf])
    # c (another port) and d (no port) bind on arrival; b binds when a departs at 100, not at the 5-minute flush.
    assert times == {"a": 0.0, "c": 20.0, "d": 30.0, "b": 100.0}


def test_a_departure_that_frees_no_port_of_the_waiting_pod_does_not_requeue_it() -> None:
    # c (port 9090) leaves at 50; b waits for 8080, held by a until 200: the hint keeps b waiting past 50.
    pods = [port_pod("a", 8080), port_pod("c", 9090), port_pod("b", 8080)]
    _, times = run(pods, [0, 1, 10], [200, 49, np.inf])
    assert times["b"] == 200.0


def test_pods_without_host_ports_leave_the_port_state_untouched() -> None:
    nodes = [node("n0", allocatable={"cpu": "4", "memory": "8Gi", "pods": "110"})]
    w = workload_from_pods([port_pod("x", None), port_pod("y", 7000)])
    cluster = ClusterState.for_workloads(nodes, w)
    cluster.bind(0, cluster.pod_request(w, 0))
    assert cluster.used_ports.counts == {} and cluster.used_ports.per_node.tolist() == [0]
    y = cluster.pod_request(w, 1)
    cluster.bind(0, y)
    assert cluster.used_ports.per_node.tolist() == [1]
    copy = cluster.copy()
    cluster.unbind(0, y, ())
    assert cluster.used_ports.per_node.tolist() == [0] and not cluster.used_ports.conflicts(y.template.host_ports)[0]
    assert copy.used_ports.conflicts(y.template.host_ports).tolist() == [True]  # a copy owns its port state
