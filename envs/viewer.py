"""Rendering of a simulated cluster, kept out of the environment's logic (Jumanji's `viewer.py`).

Two pure functions of a `Simulator` and the pod being placed (None once the episode is over):

- `render_ansi`: a text table of the nodes (status, cpu and memory allocation with bars, one character
  per GPU device, pod count) under a header with the simulated time, the queue and the pod's requests.
- `render_rgb`: a fixed-size RGB picture (`RGB_SHAPE`) drawn with matplotlib's Agg backend: cpu and
  memory allocation per node on the left, a node x GPU-device heat map of milli-GPU used on the right.

Neither reads nor changes anything but the cluster's arrays and the simulator's counters. Large clusters
are cut to fit: the text shows the `MAX_TEXT_NODES` most allocated nodes, the picture groups consecutive
nodes into at most `MAX_BARS` bars and `MAX_HEAT_ROWS` heat-map rows (each the mean of its group).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from podgym.envs.cluster import ClusterState, PodRequest
from podgym.envs.kube.objects import CPU, MEMORY
from podgym.envs.workload.types import GPU_RESOURCE, MILLI_GPU

if TYPE_CHECKING:
    from podgym.envs.simulator import Simulator

MAX_TEXT_NODES = 40  # nodes listed by render_ansi; the others are counted as hidden
BAR_WIDTH = 10  # characters of an allocation bar
MAX_BARS = 48  # node rows of render_rgb's allocation panel; more nodes are grouped
MAX_HEAT_ROWS = 48  # GPU-node rows of render_rgb's heat map; more nodes are grouped
MAX_HEAT_COLS = 16  # GPU devices per node shown by the heat map
RGB_SIZE_INCHES, RGB_DPI = (6.4, 4.8), 100
RGB_SHAPE = (480, 640, 3)  # (height, width, channels) of render_rgb's array
GI = float(2**30)


# ---- quantities --------------------------------------------------------------------------------------------------


def _num(x: float) -> str:
    """`x` with at most one decimal: 4, 0.5, 12.3."""
    s = f"{x:.1f}"
    return s[:-2] if s.endswith(".0") else s


def _cores(milli: float) -> str:
    """Milli-cores as cores: 500 -> "0.5"."""
    return _num(milli / 1000.0)


def _gib(nbytes: float) -> str:
    """Bytes in Gi: 2**30 -> "1"."""
    return _num(nbytes / GI)


def _clock(t: float) -> str:
    """Simulated seconds as "1234.5s (0:20:34)"."""
    if not np.isfinite(t):
        return str(t)
    s = int(t)
    return f"{t:.1f}s ({s // 3600}:{s // 60 % 60:02d}:{s % 60:02d})"


def _bar(ratio: float, width: int = BAR_WIDTH) -> str:
    """`ratio` in [0, 1] as `width` characters of '#' (used) and '.' (free)."""
    filled = round(min(max(ratio, 0.0), 1.0) * width)
    return "#" * filled + "." * (width - filled)


def _gpu_char(free: int) -> str:
    """One GPU device from its free milli-GPU: ' ' absent, '.' idle, '1'-'9' tenths used, '#' full."""
    if free < 0:
        return " "
    used = MILLI_GPU - free
    if used <= 0:
        return "."
    if used >= MILLI_GPU:
        return "#"
    return str(min(max(used * 10 // MILLI_GPU, 1), 9))


def describe_pod(cluster: ClusterState, pod: PodRequest | None) -> str:
    """The pod being placed and what it asks ("web-3: cpu 0.5, memory 1Gi, gpu 1x250m"), or "(episode over)"."""
    if pod is None:
        return "(episode over)"
    parts = [
        f"cpu {_cores(pod.requests[cluster.column[CPU]])}",
        f"memory {_gib(pod.requests[cluster.column[MEMORY]])}Gi",
    ]
    if pod.gpu_count:
        share = "" if pod.gpu_milli >= MILLI_GPU else f"x{pod.gpu_milli}m"
        parts.append(f"gpu {pod.gpu_count}{share}")
    return f"{pod.name}: {', '.join(parts)}"


def _header(sim: Simulator, pod: PodRequest | None) -> str:
    c = sim.cluster
    return (
        f"t={_clock(sim.now)}  pending {sim.pending}  running {sim.running}  "
        f"nodes up {int(c.alive.sum())}/{c.num_nodes}  pod {describe_pod(c, pod)}"
    )


# ---- allocation ratios -------------------------------------------------------------------------------------------


def _ratio(used: np.ndarray, alloc: np.ndarray) -> np.ndarray:
    """used / alloc element-wise, 0 where nothing is allocatable."""
    out = np.zeros(used.shape, dtype=np.float64)
    np.divide(used, alloc, out=out, where=alloc > 0)
    return out


def _cpu_mem_ratios(cluster: ClusterState) -> tuple[np.ndarray, np.ndarray]:
    """Requested / allocatable of cpu and memory per node."""
    cpu, mem = cluster.column[CPU], cluster.column[MEMORY]
    return (
        _ratio(cluster.requested_t[cpu], cluster.allocatable_t[cpu]),
        _ratio(cluster.requested_t[mem], cluster.allocatable_t[mem]),
    )


def _gpu_used(cluster: ClusterState) -> np.ndarray:
    """Milli-GPU used per node and device, [N, G] float; NaN for devices that do not exist."""
    free = cluster.gpu_free
    return np.where(free >= 0, MILLI_GPU - free, np.nan).astype(np.float64)


def _dominant_ratio(cluster: ClusterState) -> np.ndarray:
    """Per node the largest allocation ratio over cpu, memory and GPUs (how full the node is)."""
    ratios = list(_cpu_mem_ratios(cluster))
    col = cluster.column.get(GPU_RESOURCE)
    if col is not None:
        ratios.append(_ratio(cluster.requested_t[col], cluster.allocatable_t[col]))
    return np.max(ratios, axis=0)


def _status(cluster: ClusterState, j: int) -> str:
    if not cluster.alive[j]:
        return "down"
    return "cordoned" if cluster.unschedulable[j] else "up"


# ---- text --------------------------------------------------------------------------------------------------------


def render_ansi(sim: Simulator, pod: PodRequest | None) -> str:
    """The cluster as a text table, one node a line, under a header line.

    Columns: node name, status (up, down or cordoned), cpu cores and memory Gi as "used/allocatable"
    with a bar of `BAR_WIDTH` characters ('#' used), one character per GPU device (' ' none, '.' idle,
    '1'-'9' tenths used, '#' full) and "pods/allowed". Clusters over `MAX_TEXT_NODES` nodes list the most
    allocated ones (largest of the cpu, memory and GPU ratios), in node order, and count the others.
    """
    c = sim.cluster
    n = c.num_nodes
    shown = np.arange(n)
    if n > MAX_TEXT_NODES:
        order = np.argsort(-_dominant_ratio(c), kind="stable")
        shown = np.sort(order[:MAX_TEXT_NODES])
    cpu, mem = c.column[CPU], c.column[MEMORY]
    cpu_ratio, mem_ratio = _cpu_mem_ratios(c)
    g = c.gpu_free.shape[1]
    rows = []
    for j in shown:
        rows.append(
            (
                c.node_names[j],
                _status(c, j),
                f"{_cores(c.requested_t[cpu, j])}/{_cores(c.allocatable_t[cpu, j])}",
                _bar(cpu_ratio[j]),
                f"{_gib(c.requested_t[mem, j])}/{_gib(c.allocatable_t[mem, j])}",
                _bar(mem_ratio[j]),
                "".join(_gpu_char(int(f)) for f in c.gpu_free[j]),
                f"{c.pod_count[j]}/{c.allowed_pods[j]}",
            )
        )
    titles = ("node", "status", "cpu", "", "memory Gi", "", "gpus" if g else "", "pods")
    widths = [max([len(t)] + [len(r[k]) for r in rows]) for k, t in enumerate(titles)]
    right = {2, 4, 7}  # numbers are right-aligned

    def line(cells: tuple[str, ...]) -> str:
        out = [cell.rjust(w) if k in right else cell.ljust(w) for k, (cell, w) in enumerate(zip(cells, widths))]
        return "  ".join(out).rstrip()

    lines = [_header(sim, pod), line(titles)]
    lines.extend(line(r) for r in rows)
    if len(shown) < n:
        lines.append(f"... {n - len(shown)} less allocated nodes hidden (of {n})")
    return "\n".join(lines) + "\n"


# ---- picture -----------------------------------------------------------------------------------------------------


def _groups(n: int, max_groups: int) -> np.ndarray:
    """Start indices of at most `max_groups` runs of consecutive items covering range(n)."""
    size = -(-n // max_groups) if n > max_groups else 1
    return np.arange(0, n, size)


def _group_mean(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The mean of `values` (axis 0, NaNs ignored) over each run starting at `starts`; NaN for all-NaN runs."""
    if values.shape[0] == 0:
        return values
    finite = np.isfinite(values)
    sums = np.add.reduceat(np.where(finite, values, 0.0), starts, axis=0)
    counts = np.add.reduceat(finite.astype(np.float64), starts, axis=0)
    out = np.full(sums.shape, np.nan)
    np.divide(sums, counts, out=out, where=counts > 0)
    return out


def _group_labels(names: list[str], starts: np.ndarray, n: int) -> list[str]:
    """Names of the rows: the node's name, or "first..last (k)" for a group."""
    ends = np.append(starts[1:], n)
    return [names[s] if e - s == 1 else f"{names[s]}..{names[e - 1]} ({e - s})" for s, e in zip(starts, ends)]


def _tick_step(rows: int, max_labels: int = 24) -> int:
    return max(1, -(-rows // max_labels))


def _draw_allocation(ax, cluster: ClusterState) -> None:
    """Horizontal cpu and memory bars per node (or group of nodes), node 0 on top.

    Down nodes (or groups with one) get a red band and a red label; cordoned nodes a purple label."""
    n = cluster.num_nodes
    starts = _groups(n, MAX_BARS)
    cpu_ratio, mem_ratio = _cpu_mem_ratios(cluster)
    alive = cluster.alive.astype(np.float64)
    live_cpu = np.where(cluster.alive, cpu_ratio, np.nan)
    live_mem = np.where(cluster.alive, mem_ratio, np.nan)
    cpu = np.nan_to_num(_group_mean(live_cpu, starts))
    mem = np.nan_to_num(_group_mean(live_mem, starts))
    down = 1.0 - _group_mean(alive, starts) if n else alive
    cordoned = _group_mean(cluster.unschedulable.astype(np.float64), starts) if n else alive
    y = np.arange(len(starts))
    h = 0.4
    ax.barh(y - h / 2, cpu, height=h, color="tab:blue", label="cpu")
    ax.barh(y + h / 2, mem, height=h, color="tab:orange", label="memory")
    if n and down.any():
        ax.barh(y, down, height=0.9, left=1.0 - down, color="tab:red", alpha=0.25, label="down")
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(len(starts) - 0.5, -0.5)
    step = _tick_step(len(starts))
    labels = _group_labels(cluster.node_names, starts, n)
    ticks = y[::step]
    ax.set_yticks(ticks)
    ax.set_yticklabels([labels[k] for k in ticks], fontsize=5)
    for tick, k in zip(ax.get_yticklabels(), ticks):
        if down[k] > 0:
            tick.set_color("tab:red")
        elif cordoned[k] > 0:
            tick.set_color("tab:purple")
    grouped = (
        f" (groups of {starts[1] - starts[0]} nodes, mean over nodes up)" if len(starts) > 1 and n > MAX_BARS else ""
    )
    ax.set_xlabel("requested / allocatable" + grouped, fontsize=6)
    ax.tick_params(axis="x", labelsize=6)
    ax.legend(fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False, borderaxespad=0.2)


def _draw_gpus(fig, ax, cluster: ClusterState) -> None:
    """A heat map of milli-GPU used per GPU node (or group) and device; grey where a device does not exist."""
    has = np.flatnonzero(cluster.gpu_count > 0)
    if len(has) == 0:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no GPUs in this cluster", ha="center", va="center", fontsize=9, transform=ax.transAxes)
        return
    used = _gpu_used(cluster)[has, :MAX_HEAT_COLS]
    starts = _groups(len(has), MAX_HEAT_ROWS)
    grid = np.ma.masked_invalid(_group_mean(used, starts))
    cmap = _heat_cmap()
    image = ax.imshow(grid, aspect="auto", cmap=cmap, vmin=0, vmax=MILLI_GPU, interpolation="nearest")
    names = [cluster.node_names[j] for j in has]
    labels = _group_labels(names, starts, len(has))
    ticks = np.arange(len(starts))[:: _tick_step(len(starts))]
    ax.set_yticks(ticks)
    ax.set_yticklabels([labels[k] for k in ticks], fontsize=5)
    cols = grid.shape[1]
    ax.set_xticks(np.arange(cols)[:: _tick_step(cols, 16)])
    ax.tick_params(axis="x", labelsize=6)
    more = (
        f", first {MAX_HEAT_COLS} of {cluster.gpu_free.shape[1]}" if cluster.gpu_free.shape[1] > MAX_HEAT_COLS else ""
    )
    ax.set_xlabel(f"GPU device{more}", fontsize=6)
    ax.set_title("milli-GPU used per device", fontsize=8)
    bar = fig.colorbar(image, ax=ax, fraction=0.08, pad=0.03)
    bar.ax.tick_params(labelsize=5)


def _heat_cmap():
    from matplotlib import colormaps

    return colormaps["viridis"].with_extremes(bad="lightgrey")


def render_rgb(sim: Simulator, pod: PodRequest | None) -> np.ndarray:
    """The cluster as a picture: a uint8 array of shape `RGB_SHAPE` (480, 640, 3), whatever the cluster size.

    Left: cpu and memory requested / allocatable per node (bars; consecutive nodes grouped into at most
    `MAX_BARS` rows, each their mean over nodes up; nodes down are red). Right: milli-GPU used on each
    device of the GPU nodes (a heat map, grouped the same way into at most `MAX_HEAT_ROWS` rows), or a note
    when the cluster has no GPU. The title holds the time, the queue and the pod being placed.

    The figure is built with matplotlib's object API and the Agg canvas (no pyplot, no global figure
    registry) and cleared before returning, so repeated calls hold no memory.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    c = sim.cluster
    fig = Figure(figsize=RGB_SIZE_INCHES, dpi=RGB_DPI)
    canvas = FigureCanvasAgg(fig)
    try:
        fig.subplots_adjust(left=0.2, right=0.92, bottom=0.1, top=0.86, wspace=0.55)
        ax_alloc, ax_gpu = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.0, 1.0]})
        fig.suptitle(
            f"t={_clock(sim.now)}  pending {sim.pending}  running {sim.running}  "
            f"nodes up {int(c.alive.sum())}/{c.num_nodes}\npod {describe_pod(c, pod)}",
            fontsize=8,
        )
        _draw_allocation(ax_alloc, c)
        _draw_gpus(fig, ax_gpu, c)
        canvas.draw()
        rgba = np.asarray(canvas.buffer_rgba())
        image = np.array(rgba[..., :3], dtype=np.uint8)
    finally:
        fig.clear()
        del fig, canvas
    if image.shape != RGB_SHAPE:  # a backend rounding the size differently: pad or crop to the promise
        out = np.full(RGB_SHAPE, 255, dtype=np.uint8)
        h, w = min(image.shape[0], RGB_SHAPE[0]), min(image.shape[1], RGB_SHAPE[1])
        out[:h, :w] = image[:h, :w]
        image = out
    return image
