"""Write docs/results.md from the commands it quotes, and say on what machine they ran.

    make results                                   # = python docs/make_results.py
    python docs/make_results.py [--learned RUN] [--learned-openb RUN] [--learned-ha RUN ...] [--workers 2]
                                [--only SECTION] [--out docs/results.md]

Runs, from the repository root, each command the page quotes: the evaluation of the baselines on `default`
and on `ha-services` (seeds 100-109), the FGD paper's experiment on openb (seeds 42-51) and the four
benchmarks; then writes the page from their outputs (results.json files and the benchmarks' JSON) with the
machine's description. The
learned-policy rows need trained runs (a 500k-step training takes minutes): given with --learned /
--learned-openb / --learned-ha (one run per training seed, e.g. RUNS/seed-0 RUNS/seed-1 RUNS/seed-2 of
`train.py --seeds`) they are evaluated with the rest; otherwise they are carried from docs/results_learned.json,
measured earlier, and the page says so (with --learned-ha, runs/results/ha-services/learned.json holds what
the page carries). `--only SECTION` runs one section's commands and replaces that section of the existing page;
the header then says which section was rewritten, when, at what commit and on what machine. Evaluation outputs
go under runs/results/, written afresh on each run (cells left from older code must not stand in for this
code's).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from podgym.agents.evaluation import iqm_ci, paired_difference_significant  # noqa: E402
from podgym.agents.fgd_report import aggregate as fgd_aggregate  # noqa: E402
from podgym.agents.io import atomic_write_text  # noqa: E402

SEEDS = [str(s) for s in range(100, 110)]
BASELINES = ["random", "round-robin", "kube-default", "best-fit", "fgd", "kube-default+gpu-packing"]
HA_POLICIES = ["random", "round-robin", "kube-default", "best-fit", "most-allocated"]
OPENB_POLICIES = ["random", "dot-product", "gpu-clustering", "gpu-packing", "best-fit", "fgd"]
CARRIED = ROOT / "docs" / "results_learned.json"


def shown(cmd: list[str]) -> str:
    """A command as the page quotes it (python for the interpreter, the seed list abbreviated)."""
    words = ["python" if w == sys.executable else w for w in cmd]
    text = " ".join(words)
    return text.replace(" ".join(SEEDS), "100 ... 109")


def run(cmd: list[str], capture: bool = False) -> str:
    """Run `cmd` in the repository root; its output goes to stderr unless captured (then returned)."""
    print(f"$ {shown(cmd)}", file=sys.stderr, flush=True)
    done = subprocess.run(cmd, cwd=ROOT, check=True, text=True, stdout=subprocess.PIPE if capture else sys.stderr)
    return done.stdout or ""


def fresh(path: Path) -> Path:
    """`path`, emptied: this script's own output directory."""
    shutil.rmtree(path, ignore_errors=True)
    return path


def last_json(text: str) -> dict[str, Any]:
    """The JSON object a benchmark prints (its last line starting with '{')."""
    return json.loads(next(line for line in reversed(text.splitlines()) if line.startswith("{")))


def machine() -> str:
    """CPU model, cores, vector extensions, memory, OS, Python and numpy, as one sentence."""
    import numpy

    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name")), None)
    flags = next((ln.split(":", 1)[1].split() for ln in info.splitlines() if ln.startswith("flags")), [])
    vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mem = ""
    if Path("/proc/meminfo").exists():
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 2**20:.0f} GiB memory"
    load = f", load average {os.getloadavg()[0]:.1f} at the start" if hasattr(os, "getloadavg") else ""
    return (
        f"{model or platform.processor() or platform.machine()} ({vector}), {cores} cores available{mem}, "
        f"no GPU used; {platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"numpy {numpy.__version__}{load}"
    )


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True)
        return head.stdout.strip() + (" with local changes" if dirty.stdout.strip() else "")
    except OSError:
        return "unknown"


# ---- the default scenario ---------------------------------------------------------------------------------------


def default_section(learned: str | None, workers: int) -> list[str]:
    out = fresh(ROOT / "runs" / "results" / "default")
    policies = ([learned] if learned else []) + BASELINES
    cmd = [sys.executable, "evaluate.py", "--policies", *policies, "--scenarios", "default", "--seeds", *SEEDS]
    run([*cmd, "--workers", str(workers), "--out", str(out)])
    agg = json.loads((out / "results.json").read_text())["aggregate"]["default"]
    stats = agg["stats"]
    rows = []
    for p in agg["ranking"]:
        s = stats[p]
        lo, hi = s["objective"]["ci95"]
        rows.append(
            (
                s["objective"]["mean"],
                f"| {p} | {s['objective']['mean']:.4f} [{lo:.4f}, {hi:.4f}] | "
                f"{100 * s['gpu_allocation_mean']['mean']:.2f} | {s['pods_never_scheduled']['mean']:.1f} | "
                f"{s['wait_mean_s']['mean']:.1f} | "
                f"{s['wait_p95_s']['mean']:.1f} | the command above |",
            )
        )
    carried = None
    if not learned:
        carried = json.loads(CARRIED.read_text())["default"]
        lo, hi = carried["objective_ci95"]
        rows.append(
            (
                carried["objective_mean"],
                f"| {carried['label']} | {carried['objective_mean']:.4f} [{lo:.4f}, {hi:.4f}] | "
                f"{carried['gpu_allocation_pct']:.2f} | {carried['pods_never_scheduled']:.1f} | "
                f"{carried['wait_mean_s']:.1f} | {carried['wait_p95_s']:.1f} | carried (see below) |",
            )
        )
    rows.sort(key=lambda r: -r[0])
    lines = [
        "## Policies on the default scenario",
        "",
        f"`{shown(cmd)}` (ten seeds no training episode used). The objective is the scenario's `packing` reward:",
        "the time-mean allocated share of GPU and cpu (higher is better). Means over the ten seeds with 95%",
        "bootstrap intervals.",
        "",
        "| rank | policy | objective | GPU allocated (%) | pods never scheduled | wait mean (s) | wait p95 (s) "
        "| made by |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [f"| {i} {row[1]}" for i, row in enumerate(rows, 1)]
    lines += ["", "Paired over the seeds (bootstrap, 95%):", ""]
    for c in agg["comparisons"]:
        lo, hi = c["difference_ci95"]
        verdict = "significant" if c["significant"] else "not significant"
        lines.append(f"- {c['better']} - {c['worse']}: [{lo:+.4f}, {hi:+.4f}], {verdict}")
    if learned:
        item = training([learned])[0]
        lines += [
            "",
            f"The learned policy is the training run `{learned}` (training seed {item['seed']}, on the machine that "
            f"trained it): {training_line(item)}.",
        ]
    if carried:
        lines += [
            "",
            f"The learned policy's row is carried from an earlier measurement (`{carried['made_by']}`; the run is",
            "not part of the repository, and training it takes minutes): " + carried["notes"] + " Its paired",
            "comparison with the baselines needs its per-seed results: rerun with `make results LEARNED=RUN`.",
        ]
    return lines


# ---- highly available services -----------------------------------------------------------------------------------


HA_METRICS = (
    ("objective", "objective", 1.0, 4),
    ("availability_mean", "availability (%)", 100.0, 2),
    ("cpu_allocation_mean", "cpu allocated (%)", 100.0, 2),
)


def training(runs: list[str]) -> list[dict[str, Any]]:
    """What each training run did, from its directory: seed, steps, the expert cloned and how closely, the step
    of its best model (by the run's own evaluation episodes) and the wall time from its start to its final model."""
    out = []
    for run in runs:
        path = Path(run)
        config = yaml.safe_load((path / "config.yaml").read_text())
        meta = json.loads((path / "meta.json").read_text())
        best = json.loads((path / "best_eval.json").read_text())
        item = {
            "run": path.name,
            "seed": config["seed"],
            "total_timesteps": config["total_timesteps"],
            "best_at": best["num_timesteps"],
            "seconds": round((path / "final_model.zip").stat().st_mtime - meta["created"]),
        }
        if (path / "pretrain.json").exists():
            pretrain = json.loads((path / "pretrain.json").read_text())
            item["expert"] = pretrain["expert"]
            item["clone_accuracy"] = pretrain["phases"][-1]["accuracy"]
            item["pretrain_seconds"] = pretrain["seconds"]
        out.append(item)
    return out


def training_line(item: dict[str, Any]) -> str:
    """One training run of `training` in words."""
    clone = (
        f"cloned {item['expert']} in {item['pretrain_seconds']:.0f} s (the clone picks one of the expert's "
        f"best nodes in {100 * item['clone_accuracy']:.1f}% of the demonstrated states), then "
        if "expert" in item
        else ""
    )
    return (
        f"{clone}{item['total_timesteps']:,} steps; best model at {item['best_at']:,} steps; {item['seconds']} s "
        "from start to final model"
    )


def ha_learned_summary(results: dict[str, Any], learned: list[str]) -> dict[str, Any]:
    """What the page says of the learned policies on ha-services, from evaluate.py's results.json: per policy
    the paired difference to kube-default (bootstrap over the seeds) of the objective, availability and cpu
    allocation, and across the training runs the IQM of the objective (runs x seeds) with its interval over runs.
    The same dict is carried in docs/results_learned.json when the runs are not given."""
    cells = [c for c in results["cells"] if c["scenario"] == "ha-services"]
    by_policy: dict[str, dict[int, dict[str, Any]]] = {}
    for c in cells:
        by_policy.setdefault(c["policy"], {})[c["seed"]] = c
    reference = by_policy["kube-default"]
    labels = [Path(run.rstrip("/")).name for run in learned]
    differences: dict[str, dict[str, Any]] = {}
    for policy in [*labels, *(p for p in HA_POLICIES if p != "kube-default")]:
        seeds = sorted(set(by_policy[policy]) & set(reference))
        differences[policy] = {}
        for key, *_ in HA_METRICS:
            sig, lo, hi = paired_difference_significant(  # each its own draws: the same with or without others
                np.array([by_policy[policy][s][key] for s in seeds]),
                np.array([reference[s][key] for s in seeds]),
                np.random.default_rng(0),
            )
            mean = float(np.mean([by_policy[policy][s][key] - reference[s][key] for s in seeds]))
            differences[policy][key] = {"mean": mean, "ci95": [lo, hi], "significant": sig}
    summary: dict[str, Any] = {"learned": labels, "differences": differences, "training": training(learned)}
    if labels:
        seeds = sorted(set.intersection(*(set(by_policy[label]) for label in labels)))
        scores = np.array([[by_policy[label][s]["objective"] for s in seeds] for label in labels])
        point, lo, hi = iqm_ci(scores, np.random.default_rng(0))
        summary["iqm_objective"] = {"value": point, "ci95": [lo, hi], "runs": len(labels), "seeds": len(seeds)}
        gaps = scores - np.array([reference[s]["objective"] for s in seeds])[None, :]
        point, lo, hi = iqm_ci(gaps, np.random.default_rng(0))
        summary["iqm_difference_to_kube_default"] = {"value": point, "ci95": [lo, hi]}
        summary["rows"] = {
            label: {
                key: results["aggregate"]["ha-services"]["stats"][label][key]
                for key in (
                    "objective",
                    "availability_mean",
                    "availability_min",
                    "replicas_lost_per_failure",
                    "cpu_allocation_mean",
                    "pods_never_scheduled",
                )
            }
            for label in labels
        }
    return summary


def ha_services_section(workers: int, learned: list[str] | None = None) -> list[str]:
    """The heuristics on ha-services (seeds 100-109), and the learned policies of `learned` (training runs) beside
    them; without runs, the learned rows are carried from docs/results_learned.json."""
    out = fresh(ROOT / "runs" / "results" / "ha-services")
    learned = learned or []
    cmd = [sys.executable, "evaluate.py", "--policies", *learned, *HA_POLICIES, "--scenarios", "ha-services"]
    cmd += ["--seeds", *SEEDS]
    run([*cmd, "--workers", str(workers), "--out", str(out)])
    results = json.loads((out / "results.json").read_text())
    agg = results["aggregate"]["ha-services"]
    stats = {p: dict(s) for p, s in agg["stats"].items()}
    carried = None
    if learned:
        summary = ha_learned_summary(results, learned)
        atomic_write_text(out / "learned.json", json.dumps(summary, indent=2) + "\n")
    else:
        carried = json.loads(CARRIED.read_text())["ha-services"]
        summary = {
            **ha_learned_summary(results, []),
            **{k: carried[k] for k in ("learned", "iqm_objective", "iqm_difference_to_kube_default", "training")},
        }
        summary["differences"] = {**carried["differences"], **summary["differences"]}
        stats.update(carried["rows"])

    def cell(p: str, key: str, scale: float = 1.0, digits: int = 2) -> str:
        s = stats[p][key]
        lo, hi = s["ci95"]
        return f"{s['mean'] * scale:.{digits}f} [{lo * scale:.{digits}f}, {hi * scale:.{digits}f}]"

    labels = summary["learned"]
    made = {p: "carried (see below)" if carried and p in labels else "the command above" for p in stats}
    name = {p: f"learned, training seed {p.removeprefix('seed-')}" if p in labels else p for p in stats}
    ranking = sorted(stats, key=lambda p: -stats[p]["objective"]["mean"])
    lines = [
        "## Highly available services",
        "",
        f"`{shown(cmd)}`. The objective is the scenario's reward: availability (minus the time-mean share of",
        "services below their PodDisruptionBudget's minimum) plus 0.5 x packing; availability is the share of a",
        "service's time with at least its budget's minimum of replicas running, in % (definitions in",
        "[ha-services.md](ha-services.md)). Means over the ten seeds with 95% bootstrap intervals.",
        "",
        "| rank | policy | objective | availability, mean (%) | availability, least (%) | replicas lost per failure "
        "| cpu allocated (%) | pods never scheduled | made by |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for i, p in enumerate(ranking, 1):
        lines.append(
            f"| {i} | {name[p]} | {cell(p, 'objective', digits=4)} | {cell(p, 'availability_mean', 100)} | "
            f"{cell(p, 'availability_min', 100)} | {cell(p, 'replicas_lost_per_failure')} | "
            f"{cell(p, 'cpu_allocation_mean', 100)} | {stats[p]['pods_never_scheduled']['mean']:.1f} | {made[p]} |"
        )
    lines += [
        "",
        "Paired differences to kube-default over the seeds (policy minus kube-default, mean and 95% bootstrap",
        "interval; * significant):",
        "",
        "| policy | " + " | ".join(title for _, title, *_ in HA_METRICS) + " |",
        "|---|" + "---|" * len(HA_METRICS),
    ]
    for p in [q for q in ranking if q != "kube-default"]:
        row = []
        for key, _, scale, digits in HA_METRICS:
            d = summary["differences"][p][key]
            lo, hi = d["ci95"]
            star = " *" if d["significant"] else ""
            row.append(f"{d['mean'] * scale:+.{digits}f} [{lo * scale:+.{digits}f}, {hi * scale:+.{digits}f}]{star}")
        lines.append(f"| {name[p]} | " + " | ".join(row) + " |")
    if labels:
        iqm_ = summary["iqm_objective"]
        lo, hi = iqm_["ci95"]
        lines += [
            "",
            f"Across the {iqm_['runs']} training seeds ({iqm_['runs']} runs x {iqm_['seeds']} evaluation seeds), the "
            f"interquartile mean of the objective is {iqm_['value']:.4f}, bootstrap interval over the runs "
            f"[{lo:.4f}, {hi:.4f}]; the IQM of its paired difference to kube-default is "
            + "{value:+.4f} [{ci95[0]:+.4f}, {ci95[1]:+.4f}].".format(**summary["iqm_difference_to_kube_default"]),
            "",
            "The training runs (wall time from a run's start to its final model, on the machine that trained it):",
            "",
        ]
    for item in summary.get("training", []):
        lines.append(f"- training seed {item['seed']}: {training_line(item)}")
    if carried:
        lines += [
            "",
            f"The learned rows are carried from an earlier measurement (`{carried['made_by']}`; the runs are not",
            "part of the repository): " + carried["notes"] + " Rerun with `make results LEARNED_HA='RUN/seed-0",
            "RUN/seed-1 RUN/seed-2'` to measure them here.",
        ]
    return lines


# ---- the FGD experiment -----------------------------------------------------------------------------------------


def openb_section(learned: str | None, workers: int) -> list[str]:
    out = fresh(ROOT / "runs" / "results" / "fgd-openb")
    cmd = [sys.executable, "evaluate.py", "--config", "configs/eval/fgd-openb.yaml"]
    if learned:
        cmd += ["--policies", *OPENB_POLICIES, learned]
    run([*cmd, "--workers", str(workers), "--out", str(out)])
    rows = json.loads((out / "results.json").read_text())
    agg = fgd_aggregate(rows)
    table = []
    for (_, policy), s in agg.items():
        table.append(
            (
                s["alloc_130_mean"],
                f"| {policy} | {s['alloc_100_mean']:.2f} ± {s['alloc_100_std']:.2f} | "
                f"{s['alloc_130_mean']:.2f} ± {s['alloc_130_std']:.2f} | {s['seconds_mean']:.1f} | the command above |",
            )
        )
    carried = None
    if not learned:
        carried = json.loads(CARRIED.read_text())["openb"]
        (m100, s100), (m130, s130) = carried["alloc_100"], carried["alloc_130"]
        table.append(
            (
                m130,
                f"| **{carried['label']}** | **{m100:.2f} ± {s100:.2f}** | **{m130:.2f} ± {s130:.2f}** | "
                f"{carried['seconds_per_run']} | carried (see below) |",
            )
        )
    table.sort(key=lambda r: r[0])
    lines = [
        "## Trained on 64 nodes, run on 1,213",
        "",
        "A policy trained on `openb-small` (64 nodes sampled from openb, the FGD experiment's rules, the",
        "`allocation` reward) runs unchanged on the full openb cluster in the FGD paper's experiment",
        f"(`{shown(cmd)}`, seeds 42-51; the trace ships in `envs/data/openb/`):",
        "",
        "| policy | GPU allocated at 100% arrived (%) | at 130% (%) | seconds per run | made by |",
        "|---|---|---|---|---|",
        *[row[1] for row in table],
        "",
        "Mean ± std over the ten seeds.",
    ]
    if carried:
        lines += [
            f"The learned row is carried from an earlier measurement (`{carried['made_by']}`); rerun with",
            "`make results LEARNED_OPENB=RUN` to measure it here.",
        ]
        if carried.get("notes"):
            lines.append(carried["notes"])
        if carried.get("traces"):
            lines += ["", *openb_traces_table(carried["traces"])]
    return lines


def openb_traces_table(traces: dict[str, Any]) -> list[str]:
    """Training seed 0 of the carried openb run on every shipped trace beside FGD (the paper's and podgym's), with
    the paired difference to podgym's FGD, for both typical-pod choices of the experiment."""

    def learned(cell: dict[str, Any]) -> str:
        lo, hi = cell["ci95"]
        star = " *" if cell["significant"] else ""
        return f"{cell['mean']:.2f} ± {cell['std']:.2f} | {cell['paired']:+.2f} [{lo:+.2f}, {hi:+.2f}]{star}"

    lines = [
        "On every shipped trace, training seed 0 (`models/openb`), GPU allocation at 130% arrived, mean ± std over",
        f"seeds 42-51, carried from `{traces['made_by']}`. The paired difference is to podgym's FGD (95% bootstrap",
        "interval over the seeds; * significant). The policy's `fgd_score` feature is measured against the trace's",
        "typical pods, FGD's own (the experiment's default), or against the default trace's that its policy.json",
        "carries, as the extender serves it (`--policy-typical-pods export`):",
        "",
        "| trace | FGD, the paper | FGD, podgym | learned, the trace's typical pods | paired to FGD | learned, "
        "policy.json's | paired to FGD |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in traces["rows"]:
        (pm, ps), (fm, fs) = row["paper_fgd"], row["fgd"]
        lines.append(
            f"| {row['trace']} | {pm:.2f} ± {ps:.2f} | {fm:.2f} ± {fs:.2f} | {learned(row['experiment'])} | "
            f"{learned(row['export'])} |"
        )
    return lines


# ---- speed ------------------------------------------------------------------------------------------------------


TRAIN_MEASURES = (
    "env steps/s while MaskablePPO learns on the batched compiled env (default scenario), inside rollout collection "
    "and over all of learn(), as ratios to SB3 PPO on CartPole-v1 in the same process"
)


def train_cells(out: dict[str, Any]) -> str:
    """benchmarks/train_throughput.py's figures in words."""
    return (
        f"collection {out['podgym_collect_steps_per_s']:,} steps/s, {out['ratio_collect']:.2f}x CartPole's "
        f"{out['cartpole_collect_steps_per_s']:,}; over learn() {out['podgym_learn_steps_per_s']:,}, "
        f"{out['ratio_learn']:.2f}x CartPole's {out['cartpole_learn_steps_per_s']:,}; engine {out['engine']}"
    )


def speed_section() -> list[str]:
    py = sys.executable
    sim_cmd = [py, "benchmarks/simulate.py"]
    fgd_cmd = [py, "benchmarks/fgd.py"]
    env_cmd = [py, "benchmarks/env_throughput.py"]
    ext_cmd = [py, "benchmarks/extender.py"]
    spread_cmd = [py, "benchmarks/simulate.py", "--workload", "spread-services"]
    # With binds one run varies most (the server's work per request depends on the bind's rows): five runs each.
    repeated = ["--requests", "3000", "--repeat", "5"]
    ext_bind_cmd = [py, "benchmarks/extender.py", "--bind-every", "1", *repeated]
    ext_queue_cmd = [py, "benchmarks/extender.py", "--bind-every", "1", "--pending", "40", *repeated]
    train_cmd = [py, "benchmarks/train_throughput.py"]
    sim = last_json(run(sim_cmd, capture=True))
    spread = last_json(run(spread_cmd, capture=True))
    fgd = last_json(run(fgd_cmd, capture=True))
    env = last_json(run(env_cmd, capture=True))
    ext = last_json(run(ext_cmd, capture=True))
    ext_bind = last_json(run(ext_bind_cmd, capture=True))
    ext_queue = last_json(run(ext_queue_cmd, capture=True))
    train = last_json(run(train_cmd, capture=True))
    others = [v["seconds"] for k, v in fgd["policies"].items() if k != "fgd"]
    fgd_text = f"FGD {fgd['policies']['fgd']['seconds']:.1f}; others {min(others):.1f}-{max(others):.1f}"

    def extender_cells(out: dict) -> str:
        def runs(r: dict) -> str:
            if "runs_requests_per_s" not in r:
                return ""
            each = r["runs_requests_per_s"]
            return (
                f" (runs {min(each):,.0f}-{max(each):,.0f} req/s, p99 up to {max(r['runs_server_p99_ms']):.2f} ms; "
                f"{r['runs_meeting_targets']} of {len(each)} runs met both targets)"
            )

        cells = [
            f"{r['scorer']}: p50 {r['server_p50_ms']:.2f} ms, p99 {r['server_p99_ms']:.2f} ms, "
            f"{r['requests_per_s']:,.0f} req/s" + ("" if r["meets_targets"] else " (below target)") + runs(r)
            for r in out["results"]
        ]
        if len(out["results"]) == 2:
            heuristic, onnx = out["results"]
            cells.append(f"ONNX / {heuristic['scorer']} {onnx['requests_per_s_to_reference']:.2f}")
        return "; ".join(cells)

    ext_cells, ext_bind_cells = extender_cells(ext), extender_cells(ext_bind)
    ext_queue_cells = extender_cells(ext_queue)
    env_cells = (
        f"CartPole-v1 {env['cartpole_steps_per_s']:,} steps/s; single env on default "
        f"{env['ratio_single_default']:.2f}x, at 100 nodes {env['ratio_single_100_nodes']:.2f}x "
        f"({env['single_100_nodes_steps_per_s']:,} steps/s); batched, {env['num_envs']} clusters: one thread "
        f"{env['ratio_batched']:.2f}x, {env['threads']} threads {env['ratio_batched_threads']:.2f}x "
        f"({env['batched_threads_placements_per_s']:,} placements/s); engine {env['engine_batched']}"
    )
    return [
        "## Speed",
        "",
        "| command | measures | measured | target |",
        "|---|---|---|---|",
        f"| `{shown(sim_cmd)}` | placements/s, default profile, 50,000 pods on 5,000 nodes, one core | "
        f"{sim['placements_per_s']:,.0f} ({sim['ratio_to_target']:.2f}x target); peak RSS {sim['peak_rss_mib']} MiB"
        " | >= 8,100 |",
        f"| `{shown(spread_cmd)}` | placements/s, 10,000 replicas of 100 services on 5,000 nodes in 3 zones, each with "
        "a zone spread constraint and hostname anti-affinity against its service, as a ratio to the basic workload "
        f"in the same run | {spread['spread_placements_per_s']:,.0f} vs {spread['basic_placements_per_s']:,.0f} "
        f"basic: {spread['ratio_to_basic']:.2f}x (scheduler_perf requires of kube-scheduler "
        + ", ".join(f"{k} {v}" for k, v in spread["upstream_thresholds_pods_per_s"].items())
        + " pods/s) | >= 0.5x |",
        f"| `{shown(fgd_cmd)}` | seconds per FGD-experiment run (openb default trace, 130%) | {fgd_text} | "
        "FGD <= 10, others <= 2 |",
        f"| `{shown(env_cmd)}` | env steps/s as ratios to CartPole-v1 in the same process | {env_cells} | "
        "0.3x at 100 nodes; batched 2x |",
        f"| `{shown(train_cmd)}` | {TRAIN_MEASURES} | {train_cells(train)} | none set |",
        f"| `{shown(ext_cmd)}` | extender prioritize, 500 candidates of 5,000 nodes | {ext_cells} | "
        "p99 <= 1.5 ms, >= 810 req/s |",
        f"| `{shown(ext_bind_cmd)}` | the same, each scored pod then bound (and the oldest bound one deleted) "
        f"through watch events | {ext_bind_cells} | p99 <= 1.5 ms, >= 810 req/s |",
        f"| `{shown(ext_queue_cmd)}` | the same, and a queue of 0-40 pending pods in the cache that changes with the "
        f"binds | {ext_queue_cells} | p99 <= 1.5 ms, >= 810 req/s |",
        "",
        "Speed depends on the machine and on what else runs on it; a shared machine measures less than an",
        "idle one. With `--bind-every 1` every scored pod reaches the extender's cache again as watch events (a",
        "cluster's load on it): those requests count in requests/s, and the ONNX policy re-encodes the nodes they",
        "change. Each measured request is then two HTTP requests, one after the other (as kube-scheduler binds one",
        "pod at a time), and the client picks the node from the 500-host answer by a byte search (`best_host`: the",
        "scheduler decodes it in Go; decoding it in Python would count the client's 0.1 ms in the extender's",
        "requests/s). The two scorers take turns in ten rounds of each run, so that a change in the machine's load",
        "reaches both alike; the rows with binds are five whole runs each (`--repeat 5`, fresh servers each time),",
        "their figures pooled over the runs, with the range of the runs' requests/s and how many met both targets.",
    ]


# The page's sections, in order: (option name, heading).
SECTIONS = (
    ("default", "## Policies on the default scenario"),
    ("ha-services", "## Highly available services"),
    ("openb", "## Trained on 64 nodes, run on 1,213"),
    ("speed", "## Speed"),
)


def replace_section(page: str, name: str, lines: list[str], note: str) -> str:
    """`page` with section `name` replaced by `lines` (inserted in its place in SECTIONS' order if the page lacks
    it), and `note` (one line saying how the section was rewritten) after the header's Machine line, in place of
    an earlier note on the same section."""
    order = [n for n, _ in SECTIONS]
    heading = dict(SECTIONS)[name]
    rows = page.rstrip("\n").split("\n")
    headings = {ln: i for i, ln in enumerate(rows) if ln.startswith("## ")}
    if heading in headings:
        begin = headings[heading]
        end = next((i for i in sorted(headings.values()) if i > begin), len(rows))
    else:
        later = [dict(SECTIONS)[n] for n in order[order.index(name) + 1 :]]
        begin = end = next((headings[h] for h in later if h in headings), len(rows))
    block = [*lines, ""] if end < len(rows) else ["", *lines] if begin == len(rows) else lines
    rows = rows[:begin] + block + rows[end:]
    marker = f"The section {heading[3:]!r} was rewritten"
    earlier = next((i for i, ln in enumerate(rows) if ln.startswith(marker)), None)
    if earlier is not None:
        del rows[earlier - 1 : earlier + 1]  # the note and the blank line before it
    machine_line = next((i for i, ln in enumerate(rows) if ln.startswith("Machine: ")), None)
    if machine_line is None:
        raise ValueError("the page has no 'Machine:' line: write it whole first (without --only)")
    rows[machine_line + 1 : machine_line + 1] = ["", note]
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learned", help="a training run on default to evaluate with the baselines")
    parser.add_argument("--learned-openb", help="a training run on openb-small to run in the FGD experiment")
    parser.add_argument(
        "--learned-ha", nargs="+", metavar="RUN", help="training runs on ha-services (one per training seed)"
    )
    parser.add_argument(
        "--only",
        choices=[name for name, _ in SECTIONS],
        help="run only this section's commands and replace it in the existing page (the header says so)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "docs" / "results.md"))
    args = parser.parse_args(argv)
    for run_dir in (args.learned, args.learned_openb, *(args.learned_ha or [])):
        if run_dir and not Path(run_dir).exists():
            parser.error(f"training run not found: {run_dir}")
    if args.only and not Path(args.out).exists():
        parser.error(f"--only replaces a section of an existing page: {args.out} not found")
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    sections = {
        "default": lambda: default_section(args.learned, args.workers),
        "ha-services": lambda: ha_services_section(args.workers, args.learned_ha),
        "openb": lambda: openb_section(args.learned_openb, args.workers),
        "speed": speed_section,
    }
    if args.only:
        shown_args = [shown([sys.executable])] + (argv if argv is not None else sys.argv[1:])
        note = (
            f"The section {dict(SECTIONS)[args.only][3:]!r} was rewritten alone by "
            f"`python docs/make_results.py {' '.join(shown_args[1:])}` on {when}, at commit {git_commit()}; "
            f"machine: {machine()}."
        )
        page = replace_section(Path(args.out).read_text(), args.only, sections[args.only](), note)
        atomic_write_text(args.out, page)
        print(f"wrote {args.out}", file=sys.stderr)
        return 0
    header = [
        "# Results",
        "",
        f"Written by `make results` (`python docs/make_results.py`) on {when}, at commit {git_commit()}.",
        "",
        f"Machine: {machine()}.",
        "",
        "Each figure names the command that made it; rerun `make results` to reproduce the page. The heuristics",
        "are deterministic: their figures are the same on any machine (no decision depends on the order of a",
        "floating-point sum). Speed figures are this machine's, under its load at the time.",
        "",
        "A learned row marked carried comes from an earlier run (its command says which). The warm-started policies,",
        "which `make run` trains and `models/` ships, are measured across training seeds in [learned.md](learned.md).",
        "",
    ]
    body: list[str] = []
    for name, _ in SECTIONS:
        body += [*sections[name](), ""]
    atomic_write_text(args.out, "\n".join(header + body).rstrip("\n") + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
