"""Results of the FGD experiment: the table of means and spreads over seeds and the paper's figures."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from pathlib import Path

import numpy as np

from podgym.agents.evaluation import paired_difference_significant
from podgym.agents.io import atomic_write_bytes, atomic_write_text

CSV_FIELDS = ("trace", "policy", "seed", "pods", "placed", "alloc_100", "alloc_130", "seconds")


def results_csv(rows: list[dict]) -> str:
    """One line per (trace, policy, seed)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow(r)
    return out.getvalue()


def aggregate(rows: list[dict]) -> dict[tuple[str, str], dict[str, float]]:
    """(trace, policy) -> mean and sample std (ddof=1) of the allocation at 100% and 130%, and the seed count."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        groups[(r["trace"], r["policy"])].append(r)
    out = {}
    for key, rs in groups.items():
        stats: dict[str, float] = {"n": len(rs)}
        for col in ("alloc_100", "alloc_130"):
            values = np.array([r[col] for r in rs if r[col] is not None], dtype=np.float64)
            stats[f"{col}_n"] = len(values)
            stats[f"{col}_mean"] = float(values.mean()) if len(values) else float("nan")
            stats[f"{col}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        stats["seconds_mean"] = float(np.mean([r["seconds"] for r in rs]))
        out[key] = stats
    return out


def summary_markdown(rows: list[dict], policies: list[str]) -> str:
    """Per trace: mean ± std over seeds of the GPU allocation (%) at 100% and 130% arrived, per policy."""
    agg = aggregate(rows)
    traces = sorted({r["trace"] for r in rows})
    lines = ["# GPU allocation ratio (%) at 100% and 130% arrived workload, mean ± std over seeds", ""]
    for col, title in (("alloc_130", "130% arrived (end of run)"), ("alloc_100", "100% arrived")):
        lines += [f"## {title}", "", "| trace | " + " | ".join(policies) + " |", "|---|" + "---|" * len(policies)]
        for trace in traces:
            cells = []
            for p in policies:
                s = agg.get((trace, p))
                if s and s[f"{col}_n"]:
                    cells.append(f"{s[col + '_mean']:.2f} ± {s[col + '_std']:.2f} (n={s[col + '_n']})")
                else:
                    cells.append("—")
            lines.append(f"| {trace} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += paired_markdown(rows, policies)
    lines += [
        "## Seconds per run (mean)",
        "",
        "| trace | " + " | ".join(policies) + " |",
        "|---|" + "---|" * len(policies),
    ]
    for trace in traces:
        cells = [f"{agg[(trace, p)]['seconds_mean']:.2f}" if (trace, p) in agg else "" for p in policies]
        lines.append(f"| {trace} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def paired_markdown(rows: list[dict], policies: list[str], reference: str = "fgd") -> list[str]:
    """Per trace: each policy's paired difference to `reference` (mean over the seeds both ran, and its 95%
    percentile-bootstrap interval; * where the interval excludes 0). Nothing when `reference` was not run."""
    others = [p for p in policies if p != reference]
    if reference not in policies or not others:
        return []
    by_cell = {(r["trace"], r["policy"], r["seed"]): r for r in rows}
    traces = sorted({r["trace"] for r in rows})
    lines = []
    for col, title in (("alloc_130", "130% arrived"), ("alloc_100", "100% arrived")):
        lines += [
            f"## Paired difference to {reference}, {title} (points; mean [95% bootstrap interval] over shared seeds)",
            "",
            "| trace | " + " | ".join(others) + " |",
            "|---|" + "---|" * len(others),
        ]
        for trace in traces:
            cells = []
            for p in others:
                pairs = [
                    (r[col], ref[col])
                    for (t, q, seed), r in sorted(by_cell.items())
                    if t == trace and q == p
                    for ref in [by_cell.get((trace, reference, seed))]
                    if ref is not None and r[col] is not None and ref[col] is not None
                ]
                if not pairs:
                    cells.append("—")
                    continue
                a, b = np.array(pairs).T
                significant, lo, hi = paired_difference_significant(a, b, np.random.default_rng(0))
                star = " *" if significant else ""
                cells.append(f"{(a - b).mean():+.2f} [{lo:+.2f}, {hi:+.2f}]{star} (n={len(a)})")
            lines.append(f"| {trace} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def _mean_curve(rows: list[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    cols = sorted({int(c) for r in rows for c in r[key]})
    means = [np.mean([r[key][str(c)] if str(c) in r[key] else r[key].get(c, np.nan) for r in rows]) for c in cols]
    return np.array(cols), np.array(means)


def write_figures(rows: list[dict], policies: list[str], out: Path) -> list[Path]:
    """Per trace: allocation vs arrived (Fig. 9a), fragmentation ratio and amount vs arrived. Returns the files."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    written = []
    for trace in sorted({r["trace"] for r in rows}):
        for key, ylabel, name in (
            ("allocation", "GPU allocation ratio (%)", "allocation"),
            ("frag_ratio", "fragmentation / idle GPU (%)", "frag-ratio"),
            ("frag_amount", "fragmented GPU (% of capacity)", "frag-amount"),
        ):
            fig = Figure(figsize=(6.4, 4.2), dpi=100)
            FigureCanvasAgg(fig)
            ax = fig.add_subplot()
            for p in policies:
                rs = [r for r in rows if r["trace"] == trace and r["policy"] == p]
                if rs:
                    x, y = _mean_curve(rs, key)
                    ax.plot(x, y, label=p)
            ax.set_xlabel("arrived workload (% of GPU capacity)")
            ax.set_ylabel(ylabel)
            ax.set_title(f"{trace}: {ylabel} (mean over seeds)")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
            buf = io.BytesIO()
            fig.savefig(buf, format="png")
            path = out / f"{trace}-{name}.png"
            atomic_write_bytes(path, buf.getvalue())
            written.append(path)
    return written


def write_report(rows: list[dict], policies: list[str], out: Path) -> None:
    """results.csv, summary.md and the figures, from every cell's result."""
    atomic_write_text(out / "results.csv", results_csv(rows))
    atomic_write_text(out / "summary.md", summary_markdown(rows, policies))
    write_figures(rows, policies, out)


def read_paper_tables(spec: str | Path) -> dict[str, dict[str, dict[str, tuple[float, float]]]]:
    """The published means ± std from the spec's "8.1 Summary" tables: {"130"|"100": {workload: {policy: (m, s)}}}."""
    text = Path(spec).read_text()
    out: dict[str, dict[str, dict[str, tuple[float, float]]]] = {}
    for column in ("130", "100"):
        start = text.index(f"**Column {column} (mean ± std over seeds 42–51):**")
        lines = text[start:].splitlines()[2:]
        header = [h.strip() for h in lines[0].strip("|").split("|")]
        policies = [h.split("-", 1)[1] if "-" in h else h for h in header[1:]]
        table: dict[str, dict[str, tuple[float, float]]] = {}
        for line in lines[2:]:
            if not line.startswith("|"):
                break
            cells = [c.strip() for c in line.strip("|").split("|")]
            table[cells[0]] = {p: tuple(float(x) for x in c.split("±")) for p, c in zip(policies, cells[1:])}
        out[column] = table
    return out


PAPER_NAMES = {
    "Random": "random",
    "DotProd": "dot-product",
    "GpuClustering": "gpu-clustering",
    "GpuPacking": "gpu-packing",
    "BestFit": "best-fit",
    "FGD": "fgd",
}


def comparison_markdown(rows: list[dict], paper: dict) -> str:
    """Side by side: podgym's mean ± std over seeds and the paper's, per workload and policy, with the gap."""
    agg = aggregate(rows)
    lines = []
    worst = 0.0
    for column, key in (("130", "alloc_130"), ("100", "alloc_100")):
        lines += [
            f"### GPU allocation (%) at {column}% arrived workload: podgym / paper (difference)",
            "",
            "| workload | " + " | ".join(PAPER_NAMES) + " |",
            "|---|" + "---|" * len(PAPER_NAMES),
        ]
        for workload, published in paper[column].items():
            trace = f"openb_pod_list_{workload}"
            cells = []
            for paper_name, ours_name in PAPER_NAMES.items():
                s = agg.get((trace, ours_name))
                p_mean, p_std = published[paper_name]
                if not s or not s.get(f"{key}_n"):
                    cells.append(f"— / {p_mean:.2f}")
                    continue
                diff = s[f"{key}_mean"] - p_mean
                worst = max(worst, abs(diff))
                cells.append(
                    f"{s[key + '_mean']:.2f} ± {s[key + '_std']:.2f} / {p_mean:.2f} ± {p_std:.2f} ({diff:+.2f})"
                )
            lines.append(f"| {workload} | " + " | ".join(cells) + " |")
        lines.append("")
    lines.append(f"Largest absolute difference from the paper's means: {worst:.2f} percentage points.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json

    parser = argparse.ArgumentParser(description="Compare FGD-experiment results with the paper's table.")
    parser.add_argument("--results", required=True, help="the evaluation output directory (results.json)")
    parser.add_argument("--paper", required=True, help="the experiment spec holding the paper's tables")
    args = parser.parse_args(argv)
    rows = json.loads((Path(args.results) / "results.json").read_text())
    print(comparison_markdown(rows, read_paper_tables(args.paper)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
