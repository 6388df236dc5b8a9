"""Scheduling throughput of the simulator with kube-scheduler's default profile, at the Kubernetes scale limit.

The workload of upstream scheduler_perf's SchedulingBasic/5000Nodes_50000Pods: 5,000 nodes of 4 cpu,
32Gi, 110 pods (templates/node-default.yaml) and 50,000 pods requesting 100m cpu and 500Mi
(templates/pod-default.yaml), all pending at the start, placed one by one by the default profile
(numFeasibleNodesToFind sampling included). Runs on one core (BLAS/OpenMP threads pinned to 1).

Prints one JSON object: placements/s, the ratio to the 8,100/s target (ten times the 810 pods/s that
scheduler_perf requires of kube-scheduler at 5,000 nodes), peak memory, and the setup time.

``--workload spread-services`` measures, in the same run, the basic workload above and a workload of highly
available services: nodes spread over three zones (scheduler_perf's TopologySpreading labels them moon-1..3), pods
of services of ``--replicas`` replicas, each with one zone spread constraint (maxSkew 1, DoNotSchedule) and one
required hostname anti-affinity term against its own service; it reports both rates, their ratio (goal >= 0.5) and
upstream scheduler_perf's thresholds for its spreading and anti-affinity workloads, whose numbers are not
comparable one to one (they measure kube-scheduler against an API server, podgym one process on one core).

    python benchmarks/simulate.py [--nodes 5000] [--pods 50000]
    python benchmarks/simulate.py --workload spread-services [--pods 10000] [--replicas 100]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import podgym.envs.kube as kube  # noqa: E402
from podgym.envs.policy import KubeSchedulerPolicy  # noqa: E402
from podgym.envs.simulator import SimulationOptions, Simulator  # noqa: E402
from podgym.envs.workload.objects import workload_from_pods  # noqa: E402
from podgym.envs.workload.ops import take  # noqa: E402
from podgym.envs.workload.types import ClusterSource  # noqa: E402

UPSTREAM_THRESHOLD = 810  # pods/s, scheduler_perf SchedulingBasic/5000Nodes_50000Pods
TARGET = 10 * UPSTREAM_THRESHOLD
SPREAD_GOAL = 0.5  # the spread-services rate as a share of the basic rate, same run
# pods/s that scheduler_perf's performance job requires of kube-scheduler at 5,000 nodes (v1.35 era):
# test/integration/scheduler_perf/topology_spreading/performance-config.yaml @ 05377107b088 and
# test/integration/scheduler_perf/affinity/performance-config.yaml @ 1bd6a8f3c425.
UPSTREAM_SPREAD_THRESHOLDS = {
    "TopologySpreading/5000Nodes_5000Pods": 460,
    "PreferredTopologySpreading/5000Nodes_5000Pods": 340,
    "DefaultTopologySpreading/5000Nodes_50000Pods": 160,
    "SchedulingPodAntiAffinity/5000Nodes_2000Pods": 60,
    "SchedulingPodMatchingAntiAffinity/5000Nodes_5000Pods": 595,
    "SchedulingPodAffinity/5000Nodes_5000Pods": 35,
}
ZONES = ("moon-1", "moon-2", "moon-3")
HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"


def node(i: int, zoned: bool = False) -> dict:
    alloc = {"cpu": "4", "memory": "32Gi", "pods": "110"}
    labels = {HOSTNAME: f"node-{i}"}
    if zoned:
        labels[ZONE] = ZONES[i % len(ZONES)]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": f"node-{i}", "labels": labels},
        "status": {"capacity": alloc, "allocatable": alloc},
    }


def pod_template(service: str | None = None) -> dict:
    """pod-default.yaml's pod; with `service`, a replica of it: labelled app=<service>, spread over zones and never
    on a node with another replica."""
    template = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "pod", "namespace": "default"},
        "spec": {
            "containers": [
                {
                    "name": "pause",
                    "image": "registry.k8s.io/pause:3.10",
                    "resources": {"requests": {"cpu": "100m", "memory": "500Mi"}},
                }
            ]
        },
    }
    if service is not None:
        selector = {"matchLabels": {"app": service}}
        template["metadata"]["labels"] = {"app": service}
        template["spec"]["topologySpreadConstraints"] = [
            {"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule", "labelSelector": selector}
        ]
        template["spec"]["affinity"] = {
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [{"labelSelector": selector, "topologyKey": HOSTNAME}]
            }
        }
    return template


def measure(num_nodes: int, num_pods: int, seed: int, replicas: int | None = None) -> dict:
    """Place `num_pods` pods on `num_nodes` nodes with the default profile; with `replicas`, pods of services of that
    many replicas (in a seeded random order), spread over zones with hostname anti-affinity."""
    t0 = time.perf_counter()
    zoned = replicas is not None
    cluster = ClusterSource(kube.parse_nodes([node(i, zoned) for i in range(num_nodes)]))
    if replicas is None:
        one = workload_from_pods([pod_template()])
        pods = take(one, np.zeros(num_pods, dtype=np.int64), names=[f"pod-{i}" for i in range(num_pods)])
    else:
        services = -(-num_pods // replicas)
        templates = workload_from_pods([pod_template(f"svc-{k}") for k in range(services)])
        which = np.random.default_rng(seed).permutation(np.arange(num_pods) % services)
        pods = take(templates, which, names=[f"svc-{k}-{i}" for i, k in enumerate(which.tolist())])
    sim = Simulator(cluster, pods, SimulationOptions(departures=False), seed=seed)
    policy = KubeSchedulerPolicy()
    setup = time.perf_counter() - t0
    t1 = time.perf_counter()
    summary = sim.run(policy)
    elapsed = time.perf_counter() - t1
    return {
        "placed": summary.pods_scheduled,
        "seconds": elapsed,
        "rate": summary.pods_scheduled / elapsed,
        "setup": setup,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods", type=int, default=None, help="default: 50000, or 10000 for spread-services")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workload", choices=["basic", "spread-services"], default="basic")
    parser.add_argument("--replicas", type=int, default=100, help="replicas per service (spread-services)")
    args = parser.parse_args()
    if args.workload == "spread-services":
        spread_services(args)
        return
    pods = 50000 if args.pods is None else args.pods
    basic = measure(args.nodes, pods, args.seed)
    rate = basic["rate"]
    print(
        json.dumps(
            {
                "benchmark": "simulate",
                "nodes": args.nodes,
                "pods": pods,
                "profile": "default-scheduler (kube-scheduler v1.35)",
                "placed": basic["placed"],
                "seconds": round(basic["seconds"], 3),
                "placements_per_s": round(rate, 1),
                "target_placements_per_s": TARGET,
                "ratio_to_target": round(rate / TARGET, 3),
                "ratio_to_upstream_threshold": round(rate / UPSTREAM_THRESHOLD, 2),
                "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "setup_s": round(basic["setup"], 3),
            }
        )
    )


def spread_services(args: argparse.Namespace) -> None:
    """The basic and the spread-services workloads, same nodes count and pods count, one after the other."""
    pods = 10000 if args.pods is None else args.pods
    basic = measure(args.nodes, pods, args.seed)
    spread = measure(args.nodes, pods, args.seed, replicas=args.replicas)
    ratio = spread["rate"] / basic["rate"]
    print(
        json.dumps(
            {
                "benchmark": "simulate-spread-services",
                "nodes": args.nodes,
                "pods": pods,
                "replicas_per_service": args.replicas,
                "profile": "default-scheduler (kube-scheduler v1.35)",
                "basic_placed": basic["placed"],
                "basic_placements_per_s": round(basic["rate"], 1),
                "spread_placed": spread["placed"],
                "spread_placements_per_s": round(spread["rate"], 1),
                "ratio_to_basic": round(ratio, 3),
                "goal_ratio_to_basic": SPREAD_GOAL,
                "upstream_thresholds_pods_per_s": UPSTREAM_SPREAD_THRESHOLDS,
                "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "setup_s": round(basic["setup"] + spread["setup"], 3),
            }
        )
    )


if __name__ == "__main__":
    main()
