"""The figures of an evaluation report, drawn for print: one colour per policy in every figure, small multiples
instead of many lines on one axis, units on every axis, and a caption for each.

``figures(rows)`` returns, per scenario, a list of ``Figure``: a file stem, a title, a caption and the image as
PNG and SVG bytes (the report embeds the PNG; the files go beside it for papers).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

WAIT_FLOOR_S = 1.0  # the wait-time CDF's log axis starts here; shorter waits are drawn at it
PANEL_COLUMNS = 3


@dataclass(frozen=True)
class Figure:
    """One figure of the report."""

    stem: str
    title: str
    caption: str
    png: bytes
    svg: bytes


def policy_colours(policies: list[str]) -> dict[str, str]:
    """A fixed colour per policy (sorted by name), the same in every figure of a report."""
    from matplotlib import colormaps

    names = sorted(set(policies))
    cmap = colormaps["tab10" if len(names) <= 10 else "tab20"]
    return {p: _hex(cmap(i % cmap.N)) for i, p in enumerate(names)}


def _hex(rgba: tuple[float, ...]) -> str:
    return "#" + "".join(f"{round(255 * c):02x}" for c in rgba[:3])


def _new(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _encode(fig) -> tuple[bytes, bytes]:
    from matplotlib import rc_context

    png, svg = io.BytesIO(), io.BytesIO()
    fig.savefig(png, format="png")
    # A fixed hash salt and no date: the same results give the same SVG bytes.
    with rc_context({"svg.hashsalt": "podgym"}):
        fig.savefig(svg, format="svg", metadata={"Date": None})
    return png.getvalue(), svg.getvalue()


def _grid(n: int) -> tuple[int, int]:
    cols = min(PANEL_COLUMNS, n)
    return math.ceil(n / cols), cols


def _panels(n: int, height_each: float = 2.3, sharey: bool = True):
    rows, cols = _grid(n)
    fig = _new(3.4 * cols, height_each * rows + 0.4)
    axes = fig.subplots(rows, cols, sharex=True, sharey=sharey, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def allocation_over_time(scenario: str, rows: dict[str, dict], colours: dict[str, str], seed: int) -> Figure:
    policies = sorted(rows)
    fig, axes = _panels(len(policies))
    for ax, p in zip(axes, policies):
        c = rows[p]["curves"]
        hours = np.asarray(c["time"], dtype=np.float64) / 3600
        ax.plot(hours, 100 * np.asarray(c["gpu_allocation"]), color=colours[p], lw=1.2, label="GPU")
        ax.plot(hours, 100 * np.asarray(c["cpu_allocation"]), color=colours[p], lw=1.0, ls="--", label="cpu")
        ax.set_title(p, fontsize=9, color=colours[p])
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
    for ax in axes:
        if ax.get_subplotspec().is_last_row() or len(policies) <= PANEL_COLUMNS:
            ax.set_xlabel("simulated time (h)")
        if ax.get_subplotspec().is_first_col():
            ax.set_ylabel("allocated (%)")
    axes[0].legend(fontsize=7, loc="lower right")
    png, svg = _encode(fig)
    return Figure(
        f"{scenario}-allocation-over-time",
        "Allocation over time",
        f"Allocated share of the cluster's GPUs (solid) and cpu (dashed) over simulated time, one panel per "
        f"policy, seed {seed} (the lowest seed evaluated).",
        png,
        svg,
    )


def wait_cdf(scenario: str, rows: list[dict], colours: dict[str, str]) -> Figure | None:
    """The wait-time CDF of every policy (all seeds pooled) on a log time axis."""
    pooled: dict[str, np.ndarray] = {}
    for p in sorted({r["policy"] for r in rows}):
        q = [
            np.asarray(r["curves"]["wait_quantiles"])
            for r in rows
            if r["policy"] == p and r["curves"]["wait_quantiles"]
        ]
        if q:
            pooled[p] = np.sort(np.concatenate(q))
    if not pooled:
        return None
    fig = _new(6.4, 4.0)
    ax = fig.add_subplot()
    top = max(float(v[-1]) for v in pooled.values())
    unders = {p: 100 * float(np.mean(v < WAIT_FLOOR_S)) for p, v in pooled.items()}
    bottom = max(0.0, 5 * math.floor(min(unders.values()) / 5) - 5)  # the axis starts below the shortest waits
    for p, v in pooled.items():
        under = unders[p]
        ax.step(
            np.maximum(v, WAIT_FLOOR_S),
            np.linspace(0, 100, len(v)),
            where="post",
            color=colours[p],
            lw=1.4,
            label=f"{p} ({under:.0f}% under {WAIT_FLOOR_S:g} s)",
        )
    ax.set_xscale("log")
    ax.set_xlim(WAIT_FLOOR_S, max(top, 10 * WAIT_FLOOR_S) * 1.2)
    ax.set_ylim(bottom, 100)
    ax.set(xlabel="wait before scheduling (s, log scale)", ylabel="pods waited at most this long (%)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="lower right")
    png, svg = _encode(fig)
    return Figure(
        f"{scenario}-wait-cdf",
        "Wait-time distribution",
        "Cumulative distribution of the time from a pod's arrival to its binding, all seeds pooled (101 quantiles "
        f"per episode), on a log time axis; waits under {WAIT_FLOOR_S:g} s (pods scheduled on arrival) are "
        f"drawn at the axis' left edge and the legend gives their share; the vertical axis starts at {bottom:g}%.",
        png,
        svg,
    )


def allocation_vs_arrived(scenario: str, rows: dict[str, dict], colours: dict[str, str]) -> Figure | None:
    policies = [p for p in sorted(rows) if rows[p]["curves"].get("arrived")]
    if not policies:
        return None
    fig = _new(6.4, 4.0)
    ax = fig.add_subplot()
    for p in policies:
        c = rows[p]["curves"]
        ax.plot(c["arrived"], c["allocated"], color=colours[p], lw=1.4, label=p)
    ax.set(xlabel="arrived GPU request (% of GPU capacity)", ylabel="GPU allocated (% of GPU capacity)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    png, svg = _encode(fig)
    return Figure(
        f"{scenario}-allocation-vs-arrived",
        "Allocation vs arrived workload",
        "GPU allocated against the GPU request that has arrived so far, both as a share of the cluster's GPU "
        "capacity (the FGD paper's Fig. 9a), lowest seed.",
        png,
        svg,
    )


def utilisation_maps(
    scenario: str, rows: dict[str, dict], colours: dict[str, str], resource: str, seed: int
) -> Figure | None:
    """Per-node allocated share of `resource` ("cpu" or "GPU") over time, one panel per policy."""
    key = "utilisation" if resource == "cpu" else "utilisation_gpu"
    maps = {p: np.asarray(rows[p]["curves"].get(key) or [], dtype=np.float64) for p in sorted(rows)}
    maps = {p: m for p, m in maps.items() if m.size and (m >= 0).any()}
    if not maps:
        return None
    if resource == "GPU":  # only the nodes that have GPUs (the same sample of nodes for every policy)
        has = np.any([(m >= 0).any(axis=0) for m in maps.values()], axis=0)
        maps = {p: m[:, has] for p, m in maps.items()}
    from matplotlib import colormaps

    cmap = colormaps["viridis"].with_extremes(bad="#d9d9d9")
    fig, axes = _panels(len(maps), height_each=2.6)
    image = None
    for ax, (p, m) in zip(axes, maps.items()):
        hours = rows[p]["curves"].get("utilisation_hours") or []
        end = float(hours[-1]) if len(hours) else float(m.shape[0])
        image = ax.imshow(
            np.ma.masked_less(100 * m.T, 0),
            aspect="auto",
            vmin=0,
            vmax=100,
            cmap=cmap,
            interpolation="nearest",
            extent=(0, end, m.shape[1] - 0.5, -0.5),
        )
        ax.set_title(p, fontsize=9, color=colours[p])
    for ax in axes:
        if ax.get_subplotspec().is_last_row() or len(maps) <= PANEL_COLUMNS:
            ax.set_xlabel("simulated time (h)")
        if ax.get_subplotspec().is_first_col():
            ax.set_ylabel("GPU node (sampled)" if resource == "GPU" else "node (sampled, by index)")
    fig.colorbar(image, ax=list(axes), label=f"{resource} allocated (% of node)", shrink=0.9)
    png, svg = _encode(fig)
    absent = " Nodes with GPUs only; grey: down." if resource == "GPU" else " Grey: a node that is down."
    return Figure(
        f"{scenario}-utilisation-{resource.lower()}",
        f"Node utilisation, {resource}",
        f"Share of each node's allocatable {resource} requested by the pods bound to it, over simulated time, "
        f"one panel per policy, seed {seed}; up to 48 nodes and 96 instants sampled evenly.{absent}",
        png,
        svg,
    )


def figures(rows: list[dict[str, Any]]) -> dict[str, list[Figure]]:
    """Scenario -> its figures, in the order the report shows them."""
    colours = policy_colours([r["policy"] for r in rows])
    out: dict[str, list[Figure]] = {}
    for scenario in sorted({r["scenario"] for r in rows}):
        srows = [r for r in rows if r["scenario"] == scenario]
        seed = min(r["seed"] for r in srows)
        first = {
            p: min((r for r in srows if r["policy"] == p), key=lambda r: r["seed"])
            for p in sorted({r["policy"] for r in srows})
        }
        made = [
            allocation_over_time(scenario, first, colours, seed),
            wait_cdf(scenario, srows, colours),
            allocation_vs_arrived(scenario, first, colours),
            utilisation_maps(scenario, first, colours, "cpu", seed),
            utilisation_maps(scenario, first, colours, "GPU", seed),
        ]
        out[scenario] = [f for f in made if f is not None]
    return out
