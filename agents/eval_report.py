"""Evaluation reports: results.json/.csv, report.md, a self-contained report.html, the figures as PNG and SVG
files (figures/), and a terminal table.

report.html is written to be read (and put in a paper's appendix): per scenario the objective named and
defined, a summary of who wins and by how much with intervals, HTML tables (sortable by clicking a
header, with a few lines of inline script and no download), the paired comparisons, and captioned figures.
"""

from __future__ import annotations

import base64
import csv
import html
import io
from pathlib import Path
from typing import Any

from podgym.agents.eval_figures import Figure, figures, policy_colours
from podgym.agents.evaluation import METRICS_FOR_TABLES
from podgym.agents.io import atomic_write_bytes, atomic_write_json, atomic_write_text

CSV_SKIP = ("curves",)
HEADLINE = METRICS_FOR_TABLES[:6]  # objective, allocation, unscheduled pods, wait
MORE = tuple(k for k in METRICS_FOR_TABLES if k not in HEADLINE)
LABELS = {
    "objective": "objective",
    "gpu_allocation_mean": "GPU allocated (%)",
    "cpu_allocation_mean": "cpu allocated (%)",
    "pods_never_scheduled": "pods never scheduled",
    "wait_mean_s": "wait, mean (s)",
    "wait_p95_s": "wait, p95 (s)",
    "pending_pods_mean": "pending pods, mean",
    "imbalance_cpu_mean": "cpu imbalance (%)",
    "gpu_fragmentation_mean": "GPU fragmentation (%)",
    "active_node_hours": "active node-hours",
    "evictions": "evictions",
}
SORT_SCRIPT = """
document.querySelectorAll("table.sortable th").forEach(function (th, col) {
  th.addEventListener("click", function () {
    var body = th.closest("table").tBodies[0], up = th.dataset.dir !== "asc";
    th.closest("tr").querySelectorAll("th").forEach(function (h) { delete h.dataset.dir; });
    th.dataset.dir = up ? "asc" : "desc";
    Array.from(body.rows).sort(function (a, b) {
      var x = a.cells[th.cellIndex].dataset.value, y = b.cells[th.cellIndex].dataset.value;
      var c = (x !== undefined && y !== undefined) ? x - y : a.cells[th.cellIndex].textContent.localeCompare(
        b.cells[th.cellIndex].textContent);
      return up ? c : -c;
    }).forEach(function (r) { body.appendChild(r); });
  });
});
"""
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1150px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}"
    "table{border-collapse:collapse;margin:.6em 0 1.4em;font-size:13px}"
    "th,td{border-bottom:1px solid #ddd;padding:4px 9px;text-align:right;vertical-align:top}"
    "th{background:#f4f4f4;cursor:pointer;user-select:none}th[data-dir=asc]::after{content:' \\25B2'}"
    "th[data-dir=desc]::after{content:' \\25BC'}td.name,th.name{text-align:left;white-space:nowrap}"
    ".ci{display:block;color:#777;font-size:11px}.swatch{display:inline-block;width:10px;height:10px;"
    "margin-right:6px;border-radius:2px}figure{margin:1.5em 0}figure img{max-width:100%;border:1px solid #eee}"
    "figcaption{font-size:13px;color:#444;max-width:900px}.objective{background:#f7f9fc;border-left:4px solid "
    "#4c78a8;padding:.5em 1em}.sig{font-weight:600}"
)


def results_csv(rows: list[dict[str, Any]]) -> str:
    fields = [k for k in rows[0] if k not in CSV_SKIP] if rows else []
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow(r)
    return out.getvalue()


def _scale(key: str) -> int:
    return 100 if ("allocation" in key or "fragmentation" in key or "imbalance" in key) else 1


def _digits(key: str) -> int:
    return 4 if key == "objective" else 2


def _num(value: float, key: str) -> str:
    return f"{value * _scale(key):.{_digits(key)}f}"


def _fmt(stat: dict[str, Any], key: str) -> str:
    s = stat[key]
    return f"{_num(s['mean'], key)} ± {_num(s['std'], key)} [{_num(s['ci95'][0], key)}, {_num(s['ci95'][1], key)}]"


def _definitions(rows: list[dict[str, Any]]) -> dict[str, str]:
    """Scenario -> the objective's definition (from the cells; older cells carry only the reward's name)."""
    out: dict[str, str] = {}
    for r in rows:
        out.setdefault(r["scenario"], r.get("objective_definition") or r.get("reward", "the scenario's reward"))
    return out


def summary_lines(data: dict[str, Any]) -> list[str]:
    """Who wins and by how much, with intervals: plain sentences for one scenario's aggregate."""
    ranking, stats = data["ranking"], data["stats"]
    if not ranking:
        return []
    best = ranking[0]
    o = stats[best]["objective"]
    lines = [
        f"{best} ranks first: objective {o['mean']:.4f} (95% CI [{o['ci95'][0]:.4f}, {o['ci95'][1]:.4f}], "
        f"{stats[best]['seeds']} seeds)."
    ]
    against_best = {c["worse"]: c for c in data["comparisons"] if c["better"] == best}
    for p in ranking[1:]:
        c = against_best.get(p)
        diff = stats[best]["objective"]["mean"] - stats[p]["objective"]["mean"]
        if c is None:
            lines.append(f"It leads {p} by {diff:+.4f} (too few shared seeds to compare in pairs).")
            continue
        lo, hi = c["difference_ci95"]
        verdict = "significant" if c["significant"] else "not significant"
        lines.append(
            f"It leads {p} by {diff:+.4f} (paired 95% CI [{lo:+.4f}, {hi:+.4f}] over {c['seeds']} seeds: {verdict})."
        )
    return lines


def table_markdown(agg: dict[str, Any], definitions: dict[str, str] | None = None) -> str:
    lines = []
    for scenario, data in agg.items():
        lines += [f"## Scenario `{scenario}`", ""]
        if definitions and scenario in definitions:
            lines += [f"**Objective** (higher is better; the ranking's key): {definitions[scenario]}.", ""]
        lines += [f"- {s}" for s in summary_lines(data)] + [""]
        lines += [
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


# ---- HTML -------------------------------------------------------------------------------------------------------

e = html.escape


def _stat_cell(stat: dict[str, Any], key: str) -> str:
    s = stat[key]
    lo, hi = s["ci95"]
    return (
        f"<td data-value='{s['mean'] * _scale(key)!r}'>{_num(s['mean'], key)}"
        f"<span class='ci'>[{_num(lo, key)}, {_num(hi, key)}] ± {_num(s['std'], key)}</span></td>"
    )


def _policy_cell(p: str, colours: dict[str, str]) -> str:
    return f"<td class='name'><span class='swatch' style='background:{colours[p]}'></span>{e(p)}</td>"


def metrics_table_html(data: dict[str, Any], keys: tuple[str, ...], colours: dict[str, str]) -> str:
    head = "".join(f"<th>{e(LABELS.get(k, k))}</th>" for k in keys)
    rows = []
    for i, p in enumerate(data["ranking"], 1):
        st = data["stats"][p]
        cells = "".join(_stat_cell(st, k) for k in keys)
        rows.append(
            f"<tr><td data-value='{i}'>{i}</td>{_policy_cell(p, colours)}"
            f"<td data-value='{st['seeds']}'>{st['seeds']}</td>{cells}</tr>"
        )
    return (
        "<table class='sortable'><thead><tr><th>rank</th><th class='name'>policy</th><th>seeds</th>"
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def comparisons_table_html(data: dict[str, Any], colours: dict[str, str]) -> str:
    rows = []
    for c in data["comparisons"]:
        lo, hi = c["difference_ci95"]
        verdict = "<span class='sig'>significant</span>" if c["significant"] else "not significant"
        rows.append(
            f"<tr>{_policy_cell(c['better'], colours)}{_policy_cell(c['worse'], colours)}"
            f"<td data-value='{(lo + hi) / 2!r}'>[{lo:+.4f}, {hi:+.4f}]</td><td data-value='{c['seeds']}'>"
            f"{c['seeds']}</td><td class='name'>{verdict}</td></tr>"
        )
    return (
        "<table class='sortable'><thead><tr><th class='name'>higher-ranked</th><th class='name'>lower-ranked</th>"
        "<th>objective difference, 95% CI</th><th>seeds</th><th class='name'>verdict</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _figure_html(number: int, fig: Figure) -> str:
    data = base64.b64encode(fig.png).decode()
    return (
        f"<figure id='{e(fig.stem)}'><img alt='{e(fig.title)}' src='data:image/png;base64,{data}'/>"
        f"<figcaption><b>Figure {number}. {e(fig.title)}.</b> {e(fig.caption)} "
        f"Files: <code>figures/{e(fig.stem)}.png</code>, <code>figures/{e(fig.stem)}.svg</code>.</figcaption></figure>"
    )


def report_html(rows: list[dict[str, Any]], agg: dict[str, Any], figs: dict[str, list[Figure]]) -> str:
    colours = policy_colours([r["policy"] for r in rows])
    definitions = _definitions(rows)
    seeds = sorted({r["seed"] for r in rows})
    body = [
        "<h1>podgym evaluation report</h1>",
        f"<p>{len({r['policy'] for r in rows})} policies, {len(agg)} scenario(s), seeds "
        f"{e(', '.join(map(str, seeds)))}: one episode per (policy, scenario, seed). Means over seeds with "
        "95% percentile-bootstrap confidence intervals (2,000 resamples); the ± is the standard deviation "
        "over seeds. Click a column header to sort.</p>",
    ]
    number = 0
    for scenario, data in agg.items():
        body += [
            f"<h2>Scenario <code>{e(scenario)}</code></h2>",
            f"<div class='objective'><p><b>Objective</b> (the ranking's key; higher is better): "
            f"{e(definitions.get(scenario, ''))}.</p></div>",
            "<h3>Summary</h3><ul>" + "".join(f"<li>{e(s)}</li>" for s in summary_lines(data)) + "</ul>",
            "<h3>Results</h3><p>Allocation in % of the cluster's capacity; waits in seconds from arrival to "
            "binding.</p>",
            metrics_table_html(data, HEADLINE, colours),
            "<h3>More metrics</h3><p>Imbalance and fragmentation in %; active node-hours: hours of nodes running at "
            "least one pod.</p>",
            metrics_table_html(data, MORE, colours),
        ]
        if data["comparisons"]:
            body += [
                "<h3>Paired comparisons</h3><p>Difference of the objective between two policies over the seeds "
                "both ran (paired bootstrap, 4,000 resamples, 95%), for each policy against the best and against "
                "the one ranked just above it; significant where the interval excludes 0.</p>",
                comparisons_table_html(data, colours),
            ]
        body.append("<h3>Figures</h3>")
        for fig in figs.get(scenario, []):
            number += 1
            body.append(_figure_html(number, fig))
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>podgym evaluation report</title>"
        f"<style>{STYLE}</style></head><body>" + "\n".join(body) + f"<script>{SORT_SCRIPT}</script></body></html>\n"
    )


def write_report(rows: list[dict[str, Any]], agg: dict[str, Any], out: Path) -> None:
    """Every output file of an evaluation into `out` (atomic writes)."""
    atomic_write_json(out / "results.json", {"cells": rows, "aggregate": agg})
    atomic_write_text(out / "results.csv", results_csv(rows))
    figs = figures(rows)
    for scenario_figs in figs.values():
        for fig in scenario_figs:
            atomic_write_bytes(out / "figures" / f"{fig.stem}.png", fig.png)
            atomic_write_bytes(out / "figures" / f"{fig.stem}.svg", fig.svg)
    md = ["# podgym evaluation report", "", table_markdown(agg, _definitions(rows)), "## Figures", ""]
    number = 0
    for scenario_figs in figs.values():
        for fig in scenario_figs:
            number += 1
            md += [f"![{fig.title}](figures/{fig.stem}.png)", "", f"*Figure {number}. {fig.title}.* {fig.caption}", ""]
    atomic_write_text(out / "report.md", "\n".join(md) + "\n")
    atomic_write_text(out / "report.html", report_html(rows, agg, figs))
