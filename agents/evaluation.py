"""Policy evaluation: policies x scenarios x seeds, every metric per episode, statistics, ranking.

A policy is a heuristic name (``policies.HEURISTICS``), a training run directory or model file (a learned
policy), or an exported ``.onnx`` file. Each (policy, scenario, seed) cell runs the scenario's simulation
with that policy and records envs.metrics' Summary, the scenario's objective (the episode return its
reward would give), and curves for the report. Cells are independent and deterministic, so serial,
process-parallel and Ray runs give identical results.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from podgym.envs.fragmentation import TypicalPods
from podgym.envs.kube.errors import KubeObjectError
from podgym.envs.kube.objects import CPU
from podgym.envs.rewards import RewardState, current_allocation, describe_objective, make_reward
from podgym.envs.scenario import load_and_build, scenario_path
from podgym.envs.simulator import Simulator
from podgym.envs.workload.types import GPU_RESOURCE, MILLI_GPU
from podgym.policies import HEURISTICS, is_heuristic, make_policy, scenario_policy

CURVE_POINTS = 200
HEATMAP_NODES = 48
HEATMAP_TIMES = 96


@dataclass(frozen=True)
class PolicySpec:
    """How a policy was named on the command line or in a config, and what kind it is."""

    ref: str
    kind: str  # heuristic | learned | onnx

    @property
    def label(self) -> str:
        return self.ref if self.kind == "heuristic" else Path(self.ref.rstrip("/")).name


def resolve_policy(ref: str) -> PolicySpec:
    """Classify a policy reference; unknown names and missing or unreadable files are errors naming them."""
    if is_heuristic(ref):
        return PolicySpec(ref, "heuristic")
    path = Path(ref)
    if path.suffix == ".onnx":
        if not path.is_file():
            raise KubeObjectError("ONNX model not found", source=ref)
        return PolicySpec(ref, "onnx")
    if path.exists():
        from podgym.agents.learned import load_scoring_net

        load_scoring_net(path)  # fails early on a missing or mismatched model
        return PolicySpec(ref, "learned")
    raise KubeObjectError(
        f"unknown policy {ref!r}: not a heuristic ({', '.join(HEURISTICS)}) or a pair CPU+GPU of them "
        "(kube-default+gpu-packing), a run directory, a model file or an .onnx file"
    )


def check_scenario(name: str) -> str:
    """Fail early on an unknown scenario (the error lists the available ones)."""
    scenario_path(name)
    return name


def make_scorer(spec: PolicySpec, typical: TypicalPods | None = None):
    """The NodeScorer of `spec`. A learned or exported policy measures its fgd_score feature against `typical`
    when given (the FGD experiment's, FGD's own); else, in a simulation, against the simulated workload's typical
    pods, as FGD does there and as the torch policy of the same run does."""
    if spec.kind == "heuristic":
        return make_policy(spec.ref)
    if spec.kind == "learned":
        from podgym.agents.learned import LearnedPolicy

        return LearnedPolicy.load(spec.ref, typical=typical)
    from podgym.policies.onnx import OnnxPolicy

    return OnnxPolicy(spec.ref, workload_typical=True, typical=typical)


def _downsample(xs: np.ndarray, ys: np.ndarray, points: int = CURVE_POINTS) -> tuple[list[float], list[float]]:
    if len(xs) <= points:
        return xs.tolist(), ys.tolist()
    idx = np.linspace(0, len(xs) - 1, points).round().astype(int)
    return xs[idx].tolist(), ys[idx].tolist()


def run_cell(policy_ref: str, scenario: str, seed: int) -> dict[str, Any]:
    """One episode of `scenario` with seed `seed` scheduled by `policy_ref`: metrics, objective and curves."""
    import time

    spec = resolve_policy(policy_ref)
    built = load_and_build(scenario, seed=seed)
    sim = Simulator(built.cluster, built.workload, built.options, built.profile, seed=seed)
    reward = make_reward(built.scenario.reward, built.scenario.simulation.horizon, len(built.cluster.nodes))
    sim.metrics.track_node_stats = reward.needs_node_stats
    sim.metrics.record_node_utilisation = True
    if spec.kind == "heuristic":
        # kube-default is kube-scheduler with the scenario's profile (its scheduler config), as envs.simulate runs it
        scorer = scenario_policy(spec.ref, built.profile, built.scenario.scheduler.sample_nodes)
    else:
        scorer = make_scorer(spec)
    start = time.perf_counter()
    summary = sim.run(scorer)
    seconds = time.perf_counter() - start
    end = sim.options.horizon_s if sim.truncated else sim.now
    objective = reward.potential(RewardState(end, sim.metrics.integrals_until(end), current_allocation(sim.cluster)))
    m = sim.metrics
    times = np.asarray(m.times)
    alloc_t, alloc_gpu = _downsample(times, np.asarray(m.alloc[GPU_RESOURCE]))
    _, alloc_cpu = _downsample(times, np.asarray(m.alloc[CPU]))
    waits = np.sort(np.asarray(m.waits))
    wait_q = np.quantile(waits, np.linspace(0, 1, 101)).tolist() if len(waits) else []
    heat = np.asarray(m.node_utilisation) if m.node_utilisation else np.zeros((0, 0))
    heat_gpu = np.asarray(m.node_gpu_utilisation) if m.node_gpu_utilisation else np.zeros((0, 0))
    heat_hours: list[float] = []
    if heat.size:
        rows = np.linspace(0, heat.shape[0] - 1, min(HEATMAP_TIMES, heat.shape[0])).round().astype(int)
        cols = np.linspace(0, heat.shape[1] - 1, min(HEATMAP_NODES, heat.shape[1])).round().astype(int)
        heat = heat[np.ix_(rows, cols)]
        if heat_gpu.size:
            heat_gpu = heat_gpu[np.ix_(rows, cols)]
        heat_hours = (np.asarray(m.sample_times)[rows] / 3600).round(4).tolist()
    curve = np.asarray(sim.curve, dtype=np.float64) if sim.curve else np.zeros((0, 2))
    gpu_capacity = sum(n.allocatable.get(GPU_RESOURCE, 0) for n in built.cluster.nodes) * MILLI_GPU
    arrived_x, arrived_y = [], []
    if len(curve) and gpu_capacity:
        arrived_x, arrived_y = _downsample(curve[:, 0] / gpu_capacity * 100, curve[:, 1] / gpu_capacity * 100)
    return {
        "policy": spec.label,
        "policy_ref": policy_ref,
        "policy_kind": spec.kind,
        "scenario": scenario,
        "seed": seed,
        "objective": float(objective),
        "reward": built.scenario.reward.name,
        "objective_definition": describe_objective(built.scenario.reward),
        "seconds": round(seconds, 3),
        **summary.as_dict(),
        "availability_by_service": sim.metrics.service_availability(end),
        "curves": {
            "time": alloc_t,
            "gpu_allocation": alloc_gpu,
            "cpu_allocation": alloc_cpu,
            "wait_quantiles": wait_q,
            "utilisation": np.nan_to_num(heat, nan=-1.0).round(3).tolist(),
            "utilisation_gpu": np.nan_to_num(heat_gpu, nan=-1.0).round(3).tolist(),
            "utilisation_hours": heat_hours,
            "arrived": arrived_x,
            "allocated": arrived_y,
        },
    }


def bootstrap_ci(
    values: np.ndarray, rng: np.random.Generator, n: int = 2000, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        v = float(values.mean()) if len(values) else float("nan")
        return v, v
    means = rng.choice(values, size=(n, len(values)), replace=True).mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def paired_difference_significant(
    a: np.ndarray, b: np.ndarray, rng: np.random.Generator, n: int = 4000, level: float = 0.95
) -> tuple[bool, float, float]:
    """Is mean(a - b) != 0? Paired bootstrap over the shared seeds: (significant, ci_low, ci_high)."""
    lo, hi = bootstrap_ci(np.asarray(a) - np.asarray(b), rng, n, level)
    return bool(lo > 0 or hi < 0), lo, hi


def iqm(values: np.ndarray) -> float:
    """Interquartile mean (rliable's aggregate): the mean left after dropping the floor(n/4) lowest and the
    floor(n/4) highest values; fewer than four values: their mean."""
    values = np.sort(np.asarray(values, dtype=np.float64).ravel())
    if len(values) == 0:
        return float("nan")
    cut = int(np.floor(0.25 * len(values)))
    middle = values[cut : len(values) - cut]
    return float(middle.mean())


def iqm_ci(
    scores: np.ndarray, rng: np.random.Generator, n: int = 2000, level: float = 0.95
) -> tuple[float, float, float]:
    """IQM over runs x episodes (`scores` [runs, episodes]) and its percentile bootstrap interval over runs:
    (iqm, low, high). Runs (training seeds) are resampled with replacement, each keeping its episodes."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim == 1:
        scores = scores[:, None]
    point = iqm(scores)
    if len(scores) < 2:
        return point, point, point
    samples = [iqm(scores[rng.integers(0, len(scores), len(scores))]) for _ in range(n)]
    lo, hi = np.quantile(samples, [(1 - level) / 2, 1 - (1 - level) / 2])
    return point, float(lo), float(hi)


METRICS_FOR_TABLES = (
    "objective",
    "gpu_allocation_mean",
    "cpu_allocation_mean",
    "pods_never_scheduled",
    "wait_mean_s",
    "wait_p95_s",
    "pending_pods_mean",
    "imbalance_cpu_mean",
    "gpu_fragmentation_mean",
    "active_node_hours",
    "evictions",
)
# Also tabled for a scenario whose workload has services (PodDisruptionBudgets; envs.availability).
SERVICE_METRICS = (
    "availability_mean",
    "availability_min",
    "replicas_lost_per_failure",
    "preemptions",
    "preemption_victims",
)


def table_metrics(data: dict[str, Any]) -> tuple[str, ...]:
    """The metrics tabled for one scenario's aggregate: METRICS_FOR_TABLES, and SERVICE_METRICS with services."""
    return METRICS_FOR_TABLES + (SERVICE_METRICS if data.get("services") else ())


def _mean_by_service(cells: list[dict[str, float]]) -> dict[str, float]:
    """Each service's availability averaged over the seeds that had it (services differ by seed: replicas)."""
    names = sorted({name for c in cells for name in c})
    return {name: float(np.mean([c[name] for c in cells if name in c])) for name in names}


def aggregate(rows: list[dict[str, Any]], seed: int = 0) -> dict[str, Any]:
    """Per scenario: per policy mean, std and 95% bootstrap CI of each metric; ranking by objective; pairwise
    significance of objective differences (paired over seeds) between consecutive ranks and against the best."""
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {}
    for scenario in sorted({r["scenario"] for r in rows}):
        srows = [r for r in rows if r["scenario"] == scenario]
        policies = sorted({r["policy"] for r in srows})
        has_services = any(r.get("services", 0) for r in srows)
        keys = METRICS_FOR_TABLES + (SERVICE_METRICS if has_services else ())
        stats: dict[str, dict[str, Any]] = {}
        by_policy: dict[str, dict[int, dict]] = {p: {r["seed"]: r for r in srows if r["policy"] == p} for p in policies}
        for p in policies:
            cells = list(by_policy[p].values())
            stats[p] = {"seeds": len(cells)}
            for key in keys:
                values = np.array([c[key] for c in cells], dtype=np.float64)
                lo, hi = bootstrap_ci(values, rng)
                stats[p][key] = {
                    "mean": float(values.mean()),
                    "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                    "ci95": [lo, hi],
                }
        ranking = sorted(policies, key=lambda p: -stats[p]["objective"]["mean"])
        comparisons = []
        for i in range(1, len(ranking)):
            for other in dict.fromkeys((ranking[0], ranking[i - 1])):  # a fixed order: the bootstrap draws follow it
                a, b = by_policy[other], by_policy[ranking[i]]
                common = sorted(set(a) & set(b))
                if len(common) >= 2:
                    sig, lo, hi = paired_difference_significant(
                        np.array([a[s]["objective"] for s in common]),
                        np.array([b[s]["objective"] for s in common]),
                        rng,
                    )
                    comparisons.append(
                        {
                            "better": other,
                            "worse": ranking[i],
                            "seeds": len(common),
                            "difference_ci95": [lo, hi],
                            "significant": sig,
                        }
                    )
        out[scenario] = {"stats": stats, "ranking": ranking, "comparisons": comparisons, "services": has_services}
        if has_services:
            out[scenario]["availability_by_service"] = {
                p: _mean_by_service([c.get("availability_by_service") or {} for c in by_policy[p].values()])
                for p in policies
            }
    return out
