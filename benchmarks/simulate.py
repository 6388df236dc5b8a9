"""Scheduling throughput of the simulator with kube-scheduler's default profile, at the Kubernetes scale limit.

The workload of upstream scheduler_perf's SchedulingBasic/5000Nodes_50000Pods: 5,000 nodes of 4 cpu,
32Gi, 110 pods (templates/node-default.yaml) and 50,000 pods requesting 100m cpu and 500Mi
(templates/pod-default.yaml), all pending at the start, placed one by one by the default profile
(numFeasibleNodesToFind sampling included). Runs on one core (BLAS/OpenMP threads pinned to 1).

Prints one JSON object: placements/s, the ratio to the 8,100/s target (ten times the 810 pods/s that
scheduler_perf requires of kube-scheduler at 5,000 nodes), peak memory, and the setup time.

    python benchmarks/simulate.py [--nodes 5000] [--pods 50000]
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


def node(i: int) -> dict:
    alloc = {"cpu": "4", "memory": "32Gi", "pods": "110"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": f"node-{i}", "labels": {"kubernetes.io/hostname": f"node-{i}"}},
        "status": {"capacity": alloc, "allocatable": alloc},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods", type=int, default=50000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    t0 = time.perf_counter()
    cluster = ClusterSource(kube.parse_nodes([node(i) for i in range(args.nodes)]))
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
    one = workload_from_pods([template])
    pods = take(one, np.zeros(args.pods, dtype=np.int64), names=[f"pod-{i}" for i in range(args.pods)])
    sim = Simulator(cluster, pods, SimulationOptions(departures=False), seed=args.seed)
    policy = KubeSchedulerPolicy()
    setup = time.perf_counter() - t0

    t1 = time.perf_counter()
    summary = sim.run(policy)
    elapsed = time.perf_counter() - t1
    rate = summary.pods_scheduled / elapsed
    print(
        json.dumps(
            {
                "benchmark": "simulate",
                "nodes": args.nodes,
                "pods": args.pods,
                "profile": "default-scheduler (kube-scheduler v1.35)",
                "placed": summary.pods_scheduled,
                "seconds": round(elapsed, 3),
                "placements_per_s": round(rate, 1),
                "target_placements_per_s": TARGET,
                "ratio_to_target": round(rate / TARGET, 3),
                "ratio_to_upstream_threshold": round(rate / UPSTREAM_THRESHOLD, 2),
                "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "setup_s": round(setup, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
