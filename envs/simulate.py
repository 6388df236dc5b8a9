"""``python -m podgym.envs.simulate``: simulate a scenario with kube-scheduler and print its metrics.

::

    python -m podgym.envs.simulate                                   # the built-in default scenario
    python -m podgym.envs.simulate --scenario openb-small --seed 3 --set simulation.horizon=3600 --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import yaml

from podgym.envs.kube.errors import ConfigError, KubeObjectError
from podgym.envs.metrics import Summary
from podgym.envs.policy import KubeSchedulerPolicy
from podgym.envs.scenario import available_scenarios, load_and_build
from podgym.envs.simulator import Simulator

LABELS = {
    "pods_total": "pods arrived",
    "pods_scheduled": "pods scheduled",
    "pods_pending_at_end": "pods pending at the end",
    "pods_never_scheduled": "pods never scheduled",
    "scheduling_attempts": "scheduling attempts",
    "failed_attempts": "failed attempts (fit nowhere)",
    "evictions": "evictions (node failures)",
    "wait_mean_s": "wait mean (s)",
    "wait_p95_s": "wait p95 (s)",
    "cpu_allocation_mean": "cpu allocated (time mean)",
    "memory_allocation_mean": "memory allocated (time mean)",
    "gpu_allocation_mean": "GPU allocated (time mean)",
    "cpu_allocation_peak": "cpu allocated (peak)",
    "gpu_allocation_final": "GPU allocated (end)",
    "pending_pods_mean": "pending pods (time mean)",
    "imbalance_cpu_mean": "cpu imbalance across nodes (std)",
    "imbalance_memory_mean": "memory imbalance across nodes (std)",
    "gpu_fragmentation_mean": "GPU fragmentation (free on partly used GPUs)",
    "active_node_hours": "active node-hours (nodes running pods)",
    "node_hours": "node-hours (nodes up)",
    "duration_s": "simulated time (s)",
    "services": "services (PodDisruptionBudgets)",
    "availability_mean": "availability (mean over services)",
    "availability_min": "availability (least available service)",
    "failures": "failures (node; zone counts once)",
    "replicas_lost": "service replicas lost to failures",
    "replicas_lost_per_failure": "replicas lost per failure",
    "preemptions": "preemptions (pods that evicted others)",
    "preemption_victims": "pods evicted by preemption",
}
RATIOS = {k for k in LABELS if "allocation" in k or "fragmentation" in k or "imbalance" in k or "availability" in k}


def summary_end(sim: Simulator) -> float:
    """The time the run's metrics end at: the horizon when it cut the run, else the last event."""
    return sim.options.horizon_s if sim.truncated else sim.now


def parse_overrides(items: list[str]) -> dict[str, object]:
    """`key=value` pairs; values are read as YAML (numbers, booleans, lists)."""
    out: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects key=value, got {item!r}")
        out[key] = yaml.safe_load(value)
    return out


def format_summary(summary: Summary) -> str:
    """A two-column table of the metrics."""
    rows = []
    for key, value in summary.as_dict().items():
        shown = (
            f"{100 * value:.1f} %" if key in RATIOS else (f"{value:,.1f}" if isinstance(value, float) else f"{value:,}")
        )
        rows.append((LABELS.get(key, key), shown))
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"  {label.ljust(width)}  {value.rjust(12)}" for label, value in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m podgym.envs.simulate", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--scenario", default="default", help=f"a scenario name ({', '.join(available_scenarios())}) or a YAML path"
    )
    parser.add_argument("--seed", type=int, default=None, help="seed (default: the scenario's)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario field, e.g. simulation.horizon=3600 (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    args = parser.parse_args(argv)
    try:
        built = load_and_build(args.scenario, parse_overrides(args.set), args.seed)
        seed = built.scenario.seed if args.seed is None else args.seed
        policy = KubeSchedulerPolicy(built.profile, sample_nodes=built.scenario.scheduler.sample_nodes)
        sim = Simulator(built.cluster, built.workload, built.options, built.profile, seed=seed)
        start = time.perf_counter()
        summary = sim.run(policy)
        elapsed = time.perf_counter() - start
    except (KubeObjectError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"scenario": built.scenario.name, "policy": policy.name, "seed": seed, **summary.as_dict()}))
        return 0
    print(f"Scenario {built.scenario.name!r} ({built.scenario.description}), seed {seed}")
    print(
        f"{len(built.cluster.nodes)} nodes, {len(built.workload)} pods, policy {policy.name} "
        f"(kube-scheduler v1.35 semantics); simulated in {elapsed:.2f} s\n"
    )
    print(format_summary(summary))
    if summary.services:
        print("\n  availability per service:")
        shares = sim.metrics.service_availability(summary_end(sim))
        width = max(len(name) for name in shares)
        for name, share in shares.items():
            print(f"    {name.ljust(width)}  {100 * share:6.2f} %")
    if max(summary.cpu_allocation_peak, summary.memory_allocation_mean, summary.gpu_allocation_final) > 1:
        print(
            "\n  allocation above 100 %: the bound pods request more than the nodes' allocatable "
            "(an overcommitted snapshot); the share is requested / allocatable, not clipped"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
