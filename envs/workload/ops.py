"""Operations on Workloads: select and reorder pods without going back to Pod objects."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from envs.workload.types import Workload


def take(workload: Workload, indices: Sequence[int] | np.ndarray, names: Sequence[str] | None = None) -> Workload:
    """The pods at `indices` (in that order; repeats allowed), sharing `workload`'s templates.

    `names` renames the selected pods (e.g. clones of a resampled trace); by default they keep their names.
    """
    idx = np.asarray(indices, dtype=np.intp).reshape(-1)
    if names is not None and len(names) != len(idx):
        raise ValueError(f"take: {len(names)} names for {len(idx)} pods")
    return Workload(
        names=list(names) if names is not None else [workload.names[i] for i in idx.tolist()],
        arrival=workload.arrival[idx],
        duration=workload.duration[idx],
        requests={r: v[idx] for r, v in workload.requests.items()},
        nonzero_cpu=workload.nonzero_cpu[idx],
        nonzero_memory=workload.nonzero_memory[idx],
        gpu_count=workload.gpu_count[idx],
        gpu_milli=workload.gpu_milli[idx],
        priority=workload.priority[idx],
        template=workload.template[idx],
        templates=workload.templates,
        source=workload.source,
    )


def sort_by_arrival(workload: Workload) -> Workload:
    """The same pods ordered by arrival time (stable: pods arriving together keep their order)."""
    return take(workload, np.argsort(workload.arrival, kind="stable"))
