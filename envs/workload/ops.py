"""Operations on Workloads: select and reorder pods without going back to Pod objects."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from podgym.envs.workload.types import Workload


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


def sample_fraction(workload: Workload, fraction: float, rng: np.random.Generator) -> Workload:
    """A uniform sample of round(fraction * pods) pods without replacement, in their original order."""
    if not 0 < fraction <= 1:
        raise ValueError(f"sample fraction must be in (0, 1], got {fraction}")
    k = round(fraction * len(workload))
    return take(workload, np.sort(rng.choice(len(workload), size=k, replace=False)))


def shuffle(workload: Workload, rng: np.random.Generator) -> Workload:
    """The pods in a uniformly random order."""
    return take(workload, rng.permutation(len(workload)))


def inflate_to_gpu(workload: Workload, order: np.ndarray, target_milli: int, rng: np.random.Generator) -> Workload:
    """Tune a trace to a total GPU request of `target_milli` (the FGD experiment's workload tuning).

    `order` is the arrival sequence (indices into `workload`, e.g. a shuffle). Tune-up: clones of pods
    drawn uniformly with replacement from the original list are appended while the total stays within
    the target (the draw that would pass it, judged by its per-GPU milli as the original does, stops the
    loop). Tune-down: pods at uniformly random positions are removed while the total exceeds the target.
    Clones are named ``<name>-tuned-<j>``.
    """
    milli = workload.gpu_count * workload.gpu_milli
    if not milli.any():
        raise ValueError("cannot tune a workload without GPU pods to a GPU total")
    seq = list(np.asarray(order, dtype=np.int64))
    total = int(milli[seq].sum())
    names = [workload.names[i] for i in seq]
    if total < target_milli:
        j = 0
        while True:
            i = int(rng.integers(len(workload)))
            if total + int(workload.gpu_milli[i]) > target_milli:
                break
            total += int(milli[i])
            seq.append(i)
            names.append(f"{workload.names[i]}-tuned-{j}")
            j += 1
    else:
        while total > target_milli and seq:
            k = int(rng.integers(len(seq)))
            total -= int(milli[seq[k]])
            del seq[k], names[k]
    return take(workload, np.asarray(seq, dtype=np.int64), names=names)


def concat(first: Workload, second: Workload) -> Workload:
    """The pods of `first` then those of `second` (each keeps its arrival times), templates side by side.

    A resource only one of them requests is 0 for the other's pods.
    """
    resources = list(dict.fromkeys([*first.requests, *second.requests]))

    def column(w: Workload, r: str) -> np.ndarray:
        return w.requests.get(r, np.zeros(len(w), dtype=np.int64))

    return Workload(
        names=[*first.names, *second.names],
        arrival=np.concatenate([first.arrival, second.arrival]),
        duration=np.concatenate([first.duration, second.duration]),
        requests={r: np.concatenate([column(first, r), column(second, r)]) for r in resources},
        nonzero_cpu=np.concatenate([first.nonzero_cpu, second.nonzero_cpu]),
        nonzero_memory=np.concatenate([first.nonzero_memory, second.nonzero_memory]),
        gpu_count=np.concatenate([first.gpu_count, second.gpu_count]),
        gpu_milli=np.concatenate([first.gpu_milli, second.gpu_milli]),
        priority=np.concatenate([first.priority, second.priority]),
        template=np.concatenate([first.template, second.template + len(first.templates)]).astype(np.int32),
        templates=[*first.templates, *second.templates],
        source=", ".join(s for s in (first.source, second.source) if s),
    )
