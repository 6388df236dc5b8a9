"""Speed of the FGD paper's experiment: one policy, one seed, the default openb trace tuned to 130%.

For each policy: seconds of the scheduling run alone (trace reading, tuning and set-up excluded), on
one core. Targets: FGD at most 10 s, every other policy at most 2 s. Needs the openb trace
(embedded in envs/data; $PODGYM_DATA overrides).

    python benchmarks/fgd.py [--policies fgd best-fit ...] [--seed 42]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from podgym.agents.fgd_experiment import PAPER_POLICIES, experiment_profile  # noqa: E402
from podgym.envs.data import data_dir, data_file_exists  # noqa: E402
from podgym.envs.fragmentation import typical_pods  # noqa: E402
from podgym.envs.simulator import SimulationOptions, Simulator  # noqa: E402
from podgym.envs.workload.openb import read_openb_cluster, read_openb_pods  # noqa: E402
from podgym.envs.workload.ops import inflate_to_gpu  # noqa: E402
from podgym.envs.workload.types import GPU_RESOURCE, MILLI_GPU  # noqa: E402
from podgym.policies import make_policy  # noqa: E402
from podgym.policies.fgd import FGDPolicy  # noqa: E402

TARGETS = {"fgd": 10.0}
DEFAULT_TARGET = 2.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--policies", nargs="+", default=list(PAPER_POLICIES))
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    csv = data_dir() / "openb" / "csv"
    nodes_path, pods_path = csv / "openb_node_list_gpu_node.csv", csv / "openb_pod_list_default.csv"
    if not data_file_exists(nodes_path) or not data_file_exists(pods_path):
        print(json.dumps({"benchmark": "fgd", "error": f"openb trace not found under {csv}"}))
        sys.exit(1)
    cluster = read_openb_cluster(nodes_path)
    trace = read_openb_pods(pods_path, times=False)
    typical = typical_pods(trace)
    capacity = sum(n.allocatable.get(GPU_RESOURCE, 0) for n in cluster.nodes) * MILLI_GPU
    results = {}
    for policy in args.policies:
        rng = np.random.default_rng(args.seed)
        pods = inflate_to_gpu(trace, rng.permutation(len(trace)), round(1.3 * capacity), rng)
        options = SimulationOptions(departures=False, retry_unschedulable=False, tie_break="rank")
        sim = Simulator(cluster, pods, options, experiment_profile(), seed=args.seed)
        scorer = FGDPolicy(typical) if policy == "fgd" else make_policy(policy)
        start = time.perf_counter()
        summary = sim.run(scorer)
        seconds = time.perf_counter() - start
        target = TARGETS.get(policy, DEFAULT_TARGET)
        results[policy] = {
            "seconds": round(seconds, 3),
            "target_s": target,
            "ratio_to_target": round(seconds / target, 3),
            "pods": len(pods),
            "placed": summary.pods_scheduled,
        }
    print(
        json.dumps(
            {
                "benchmark": "fgd",
                "trace": "openb_pod_list_default",
                "tune": 1.3,
                "seed": args.seed,
                "nodes": len(cluster.nodes),
                "policies": results,
            }
        )
    )


if __name__ == "__main__":
    main()
