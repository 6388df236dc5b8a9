"""Evaluation reports: results.json/.csv, report.md, a self-contained report.html with plots, a terminal table."""

from __future__ import annotations

import base64
import csv
import html
import io
from pathlib import Path
from typing import Any

import numpy as np

from agents.evaluation import METRICS_FOR_TABLES
from agents.io import atomic_write_json, atomic_write_text

CSV_SKIP = ("curves",)


def results_csv(rows: list[dict[str, Any]]) -> str:
    fields = [k for k in rows[0] if k not in CSV_SKIP] if rows else []
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow(r)
    return out.getvalue()


def _fmt(stat: dict[str, Any], key: str) -> str:
    s = stat[key]
    scale = 100 if ("allocation" in key or "fragmentation" in key or "imbalance" in key) else 1
    digits = 4 if key == "objective" else 2
    return (
        f"{s['mean'] * scale:.{digits}f} ± {s['std'] * scale:.{digits}f} [{s['ci95'][0] * scale:.{digits}f}, "
        f"{s['ci95'][1] * scale:.{digits}f}]"
    )


def table_markdown(agg: dict[str, Any]) -> str:
    lines = []
    for scenario, data in agg.items():
        lines += [
            f"### Scenario `{scenario}`",
            "",
            "Mean ± std [95% bootstrap CI] over seeds; allocation, fragmentation and imbalance in %. "
            "Ranked by the scenario's objective (higher is better).",
            "",
            "| rank | policy | seeds | " + " | ".join(METRICS_FOR_TABLES) + " |",
            "|---|---|---|" + "---|" * len(METRICS_FOR_TABLES),
        ]
        for i, p in enumerate(data["ranking"], 1):
            st = data["stats"][p]
            lines.append(f"| {i} | {p} | {st['seeds']} | " + " | ".join(_fmt(st, k) for k in METRICS_FOR_TABLES) + " |")
        if data["comparisons"]:
            lines += ["", "Objective differences (paired bootstrap over shared seeds, 95%):", ""]
            for c in data["comparisons"]:
                verdict = "significant" if c["significant"] else "not significant"
                lines.append(
                    f"- {c['better']} vs {c['worse']}: [{c['difference_ci95'][0]:.4f}, "
                    f"{c['difference_ci95'][1]:.4f}] over {c['seeds']} seeds: {verdict}"
                )
        lines.append("")
    return "\n".join(lines)


def terminal_table(agg: dict[str, Any]) -> str:
    keys = ("objective", "gpu_allocation_mean", "cpu_allocation_mean", "pods_never_scheduled", "wait_mean_s")
    out = []
    for scenario, data in agg.items():
        rows = [["rank", "policy", "seeds", *keys]]
        for i, p in enumerate(data["ranking"], 1):
            st = data["stats"][p]
            cells = []
            for k in keys:
                scale = 100 if "allocation" in k else 1
                cells.append(f"{st[k]['mean'] * scale:.4f}" if k == "objective" else f"{st[k]['mean'] * scale:.2f}")
            rows.append([str(i), p, str(st["seeds"]), *cells])
        widths = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
        out.append(f"Scenario {scenario}")
        out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
        out.append("")
    return "\n".join(out)


def _figure():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.0), dpi=90)
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def plots(rows: list[dict[str, Any]]) -> dict[str, bytes]:
    """name -> PNG: per scenario allocation over time, wait CDF, allocation vs arrived, utilisation heat maps."""
    out: dict[str, bytes] = {}
    for scenario in sorted({r["scenario"] for r in rows}):
        srows = [r for r in rows if r["scenario"] == scenario]
        policies = sorted({r["policy"] for r in srows})
        first = {p: min((r for r in srows if r["policy"] == p), key=lambda r: r["seed"]) for p in policies}
        fig = _figure()
        ax = fig.add_subplot()
        for p in policies:
            c = first[p]["curves"]
            ax.plot(np.asarray(c["time"]) / 3600, 100 * np.asarray(c["gpu_allocation"]), label=f"{p} GPU")
            ax.plot(np.asarray(c["time"]) / 3600, 100 * np.asarray(c["cpu_allocation"]), "--", label=f"{p} cpu")
        ax.set(
            xlabel="simulated time (h)",
            ylabel="allocated (%)",
            title=f"{scenario}: allocation over time (seed {min(r['seed'] for r in srows)})",
        )
        ax.legend(fontsize=6, ncol=2)
        out[f"{scenario}-allocation-over-time"] = _png(fig)
        fig = _figure()
        ax = fig.add_subplot()
        for p in policies:
            q = np.concatenate(
                [
                    np.asarray(r["curves"]["wait_quantiles"])
                    for r in srows
                    if r["policy"] == p and r["curves"]["wait_quantiles"]
                ]
                or [np.zeros(0)]
            )
            if len(q):
                q = np.sort(q)
                ax.plot(q, np.linspace(0, 1, len(q)), label=p)
        ax.set(xlabel="wait time (s)", ylabel="CDF", title=f"{scenario}: wait time CDF (all seeds)")
        ax.legend(fontsize=7)
        out[f"{scenario}-wait-cdf"] = _png(fig)
        if any(first[p]["curves"]["arrived"] for p in policies):
            fig = _figure()
            ax = fig.add_subplot()
            for p in policies:
                c = first[p]["curves"]
                ax.plot(c["arrived"], c["allocated"], label=p)
            ax.set(
                xlabel="arrived GPU request (% of capacity)",
                ylabel="GPU allocated (% of capacity)",
                title=f"{scenario}: allocation vs arrived workload",
            )
            ax.legend(fontsize=7)
            out[f"{scenario}-allocation-vs-arrived"] = _png(fig)
        for p in policies:
            heat = np.asarray(first[p]["curves"]["utilisation"], dtype=np.float64)
            if heat.size:
                fig = _figure()
                ax = fig.add_subplot()
                im = ax.imshow(
                    np.ma.masked_less(heat.T, 0), aspect="auto", vmin=0, vmax=1, cmap="viridis", interpolation="nearest"
                )
                fig.colorbar(im, ax=ax, label="cpu allocated")
                ax.set(xlabel="sample (time)", ylabel="node", title=f"{scenario}: node utilisation, {p}")
                out[f"{scenario}-utilisation-{p}"] = _png(fig)
    return out


def write_report(rows: list[dict[str, Any]], agg: dict[str, Any], out: Path) -> None:
    """Every output file of an evaluation into `out` (atomic writes)."""
    atomic_write_json(out / "results.json", {"cells": rows, "aggregate": agg})
    atomic_write_text(out / "results.csv", results_csv(rows))
    images = plots(rows)
    for name, data in images.items():
        from agents.io import atomic_write_bytes

        atomic_write_bytes(out / "plots" / f"{name}.png", data)
    md = ["# podgym evaluation report", "", table_markdown(agg), "## Plots", ""]
    md += [f"![{name}](plots/{name}.png)" for name in images]
    atomic_write_text(out / "report.md", "\n".join(md) + "\n")
    body = ["<h1>podgym evaluation report</h1>"]
    body.append(f"<pre>{html.escape(table_markdown(agg))}</pre>")
    for name, data in images.items():
        body.append(
            f"<h3>{html.escape(name)}</h3><img alt='{html.escape(name)}' "
            f"src='data:image/png;base64,{base64.b64encode(data).decode()}'/>"
        )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>podgym evaluation</title><style>"
        "body{font-family:sans-serif;max-width:1100px;margin:auto}pre{font-size:12px;overflow-x:auto}"
        "img{max-width:100%}</style></head><body>" + "\n".join(body) + "</body></html>"
    )
    atomic_write_text(out / "report.html", page)
