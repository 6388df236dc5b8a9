"""GPU fragmentation as the FGD paper measures it (Weng et al., ATC'23): the expected idle milli-GPU of a node
that a random *typical* pod could not use, kept incrementally per node.

Typical pods: the pod types (cpu, milli-GPU per GPU, GPU count, GPU-model constraint) of a trace, the most
popular first, up to 95% of the pods, with their renormalised frequencies. For node n and type t:

* a CPU-only type, or a type the node's GPU model does not serve: every idle milli-GPU is a fragment;
* a type that fits (k GPUs with >= m idle each, and enough cpu): the idle milli on GPUs with < m idle;
* a type that does not fit: every idle milli-GPU.

F_n = Σ_t p_t · frag_t(n). The cluster's fragmentation is Σ_n F_n, its ratio to the idle milli-GPU the
"frag ratio". ``FragmentationIndex`` keeps F_n for every node and recomputes only the nodes that change.

The sums are exact: p_t = w_t / W with w_t the type's pod count, so F_n = (Σ_t w_t · frag_t(n)) / W with an
integer numerator (``numerators``), rounded once when divided. A float dot product would add the terms in
an order that depends on the CPU's vector width (BLAS), and FGD's scores, truncated to integers, would then
differ between machines.

FGD's node score is ``trunc(100 · sigmoid((F_n - F_n') / 1000))`` with F_n' the node's F once the pod is placed;
``FragmentationIndex.scores`` computes it from the exact numerators (``fgd_score_exact``), decided against
thresholds computed once in decimal arithmetic, so no platform's ``exp`` can move a score across an integer.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Context

import numpy as np

from podgym.envs.cluster import ClusterState, PodRequest
from podgym.envs.kube.objects import CPU
from podgym.envs.workload.types import GPU_MODEL_LABEL, MILLI_GPU, Workload

POPULARITY = 0.95


def _score_thresholds() -> np.ndarray:
    """x_k with trunc(100 * sigmoid(x)) >= k  <=>  x >= x_k, for k = 1..100, as float64.

    x_k = ln(k / (100 - k)) for k < 100, each correctly rounded from 40-digit decimal arithmetic (the same on
    every machine). Score 100 is reached where float64 sigmoid rounds to 1 (e^-x below 2^-53, x >= 53 ln 2),
    as the original's float arithmetic does.
    """
    ctx = Context(prec=40)
    ks = [float(ctx.ln(ctx.divide(k, 100 - k))) for k in range(1, 100)]
    return np.array([*ks, float(ctx.multiply(53, ctx.ln(2)))])


SCORE_THRESHOLDS = _score_thresholds()


def score_of_decrease(x: np.ndarray) -> np.ndarray:
    """trunc(100 * sigmoid(x)) (int64) of x = (F_n - F_n') / 1000, decided against SCORE_THRESHOLDS."""
    return np.searchsorted(SCORE_THRESHOLDS, np.asarray(x, dtype=np.float64), side="right").astype(np.int64)


def fgd_score(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """int64(sigmoid((F_n - F_n') / 1000) * 100), truncated as the original's int64 conversion."""
    return score_of_decrease((np.asarray(before, dtype=np.float64) - after) / 1000.0)


def fgd_score_exact(before: np.ndarray, after: np.ndarray, denominator: int) -> np.ndarray:
    """fgd_score of F = numerator / denominator with integer numerators: x is rounded once, from exact integers."""
    return score_of_decrease((np.asarray(before, dtype=np.int64) - after) / (1000.0 * denominator))


@dataclass(frozen=True)
class TypicalPods:
    """Typical pod types: arrays over types t of cpu (milli), GPU milli per GPU, GPU count, weight (how many
    pods of the trace are of that type; the probability is weight / total), and the GPU models each type
    accepts (an empty set: any)."""

    cpu: np.ndarray
    milli: np.ndarray
    count: np.ndarray
    weight: np.ndarray
    models: tuple[frozenset[str], ...]
    keys: tuple[tuple, ...]

    def __len__(self) -> int:
        return len(self.weight)

    @property
    def total(self) -> int:
        """Σ_t weight_t: the denominator of every probability."""
        return int(self.weight.sum())

    @property
    def prob(self) -> np.ndarray:
        """p_t = weight_t / total (float64)."""
        return self.weight / self.total

    def to_json(self) -> list[dict]:
        """The types as JSON objects (what an exported policy carries; ``from_json`` reads them back)."""
        return [
            {"cpu_milli": int(c), "gpu_milli": int(m), "gpus": int(k), "gpu_models": sorted(s), "weight": int(w)}
            for c, m, k, s, w in zip(self.cpu, self.milli, self.count, self.models, self.weight)
        ]

    @classmethod
    def from_json(cls, types: object, source: str = "typical_pods") -> TypicalPods:
        """TypicalPods from ``to_json``'s list; ValueError naming `source`, the entry and the field when malformed."""
        if not isinstance(types, list) or not types:
            raise ValueError(f"{source}: expected a non-empty list of typical pod types, got {types!r}")
        rows = []
        for k, t in enumerate(types):
            where = f"{source}[{k}]"
            if not isinstance(t, dict):
                raise ValueError(f"{where}: expected an object, got {t!r}")
            row = []
            for field in ("cpu_milli", "gpu_milli", "gpus", "weight"):
                v, least = t.get(field), 1 if field == "weight" else 0
                if not isinstance(v, int) or isinstance(v, bool) or v < least:
                    raise ValueError(f"{where}.{field}: expected an integer >= {least}, got {v!r}")
                row.append(v)
            models = t.get("gpu_models", [])
            if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
                raise ValueError(f"{where}.gpu_models: expected a list of GPU model names, got {models!r}")
            rows.append((*row, frozenset(models)))
        return cls(
            cpu=np.array([r[0] for r in rows], dtype=np.int64),
            milli=np.array([r[1] for r in rows], dtype=np.int64),
            count=np.array([r[2] for r in rows], dtype=np.int64),
            weight=np.array([r[3] for r in rows], dtype=np.int64),
            models=tuple(r[4] for r in rows),
            keys=tuple((r[0], r[1], r[2], "|".join(sorted(r[4]))) for r in rows),
        )


def pod_models(workload: Workload, i: int) -> tuple[str, str]:
    """(raw GPU-model constraint string, as the trace wrote it) of pod i: the values of a required
    `nvidia.com/gpu.product In [...]` term, joined with '|'."""
    t = workload.templates[int(workload.template[i])]
    for term in t.required_terms or ():
        for r in term.match_expressions:
            if r.key == GPU_MODEL_LABEL and r.operator == "In":
                return "|".join(r.values)
    return ""


def typical_pods(workload: Workload, popularity: float = POPULARITY) -> TypicalPods:
    """The typical pod types of a trace (all pods, CPU-only included), as the FGD simulator derives them."""
    # Each pod's key (cpu, milli-GPU per GPU, GPU count, GPU-model spec), counted with one np.unique over the
    # integer columns and the spec's index among the templates' specs (a spec is a template's, found once each).
    cpu = np.asarray(workload.requests[CPU], dtype=np.int64)
    count = np.asarray(workload.gpu_count, dtype=np.int64)
    milli = np.where(count > 0, np.asarray(workload.gpu_milli, dtype=np.int64), 0)
    template = np.asarray(workload.template, dtype=np.int64)
    used, first = np.unique(template, return_index=True)
    specs = [""]
    spec_of_template = np.zeros(int(used.max(initial=-1)) + 1, dtype=np.int64)
    for tid, i in zip(used.tolist(), first.tolist()):
        spec = pod_models(workload, i)
        if spec not in specs:
            specs.append(spec)
        spec_of_template[tid] = specs.index(spec)
    spec = np.where(count > 0, spec_of_template[template], 0)
    columns = np.stack([cpu, milli, count, spec])
    ordered_cols = columns[:, np.lexsort(columns[::-1])]
    starts = np.flatnonzero(np.r_[True, (ordered_cols[:, 1:] != ordered_cols[:, :-1]).any(axis=0)])
    sizes = np.diff(np.r_[starts, ordered_cols.shape[1]])
    keys = [(c, m, k, specs[s]) for c, m, k, s in ordered_cols[:, starts].T.tolist()]
    counts = dict(zip(keys, sizes.tolist()))
    # Most popular first; ties: larger cpu, then larger milli, then larger count, then larger spec string.
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], -kv[0][0], -kv[0][1], -kv[0][2], _neg(kv[0][3])))
    chosen, total, need = [], 0, popularity * len(workload)
    for key, c in ordered:
        chosen.append((key, c))
        total += c
        if total >= need:
            break
    return TypicalPods(
        cpu=np.array([k[0] for k, _ in chosen], dtype=np.int64),
        milli=np.array([k[1] for k, _ in chosen], dtype=np.int64),
        count=np.array([k[2] for k, _ in chosen], dtype=np.int64),
        weight=np.array([c for _, c in chosen], dtype=np.int64),
        models=tuple(frozenset(t for t in k[3].split("|") if t) for k, _ in chosen),
        keys=tuple(k for k, _ in chosen),
    )


class _Reversed(str):
    """A string that sorts in reverse (for 'larger spec string first' in a sort key)."""

    def __lt__(self, other: str) -> bool:  # type: ignore[override]
        return str.__gt__(self, other)


def _neg(s: str) -> _Reversed:
    return _Reversed(s)


class FragmentationIndex:
    """F_n for every node of a cluster, for one typical-pod distribution; recompute nodes as they change."""

    def __init__(self, cluster: ClusterState, typical: TypicalPods):
        self.cluster = cluster
        self.typical = typical
        self.cpu = cluster.column[CPU]
        # access[n, t]: node n's GPU model is accepted by type t (types without a constraint accept all).
        models = cluster.gpu_model
        self.access = np.array(
            [[not allowed or m in allowed for allowed in typical.models] for m in models], dtype=bool
        ).reshape(cluster.num_nodes, len(typical))
        self.gpu_type = typical.milli > 0
        self.weight = np.asarray(typical.weight, dtype=np.int64)
        self.denominator = typical.total
        self.numerators = self._frag(np.arange(cluster.num_nodes), cluster.free_t[self.cpu], cluster.gpu_free)

    @property
    def values(self) -> np.ndarray:
        """F_n of every node (float64 [N], milli-GPU): numerators / denominator, each rounded once."""
        return self.numerators / self.denominator

    def frag(
        self, nodes: np.ndarray, cpu_left: np.ndarray | None = None, gpu_left: np.ndarray | None = None
    ) -> np.ndarray:
        """F_n of `nodes` (float64 [M]); `cpu_left` [M] and `gpu_left` [M, G] override the current state."""
        c = self.cluster
        if cpu_left is None:
            cpu_left = c.free_t[self.cpu, nodes]
        if gpu_left is None:
            gpu_left = c.gpu_free[nodes]
        return self._frag(nodes, cpu_left, gpu_left) / self.denominator

    def _frag(self, nodes: np.ndarray, cpu_left: np.ndarray, gpu_left: np.ndarray) -> np.ndarray:
        """The exact numerator Σ_t w_t · frag_t(n) (int64) of each of `nodes`."""
        t = self.typical
        g = np.maximum(gpu_left, 0).astype(np.int64)  # -1 marks GPUs the node does not have
        idle = g.sum(axis=-1)  # [..., M]
        if g.shape[-1] == 0:
            return np.zeros(idle.shape, dtype=np.int64)
        # [..., T, G]: GPU g has at least m_t idle.
        enough = gpu_left[..., None, :] >= t.milli[:, None]
        gpu_ok = enough.sum(axis=-1) >= t.count  # [..., M, T]
        cpu_ok = cpu_left[..., None] >= t.cpu
        small = np.where(~enough, g[..., None, :], 0).sum(axis=-1)  # idle milli on GPUs too small for t
        fits = gpu_ok & cpu_ok & self.gpu_type & self.access[nodes]
        frag = np.where(fits, small, idle[..., None])
        return frag @ self.weight  # integer: exact in any order

    def update(self, node: int) -> None:
        """Recompute F_n of one node after its state changed."""
        nodes = np.array([node])
        c = self.cluster
        self.numerators[node] = self._frag(nodes, c.free_t[self.cpu, nodes], c.gpu_free[nodes])[0]

    def current(self, nodes: np.ndarray) -> np.ndarray:
        """The exact numerators (int64 [M]) of `nodes` in the cluster's current state (``numerators`` is only as
        current as the last ``update``)."""
        c = self.cluster
        return self._frag(nodes, c.free_t[self.cpu, nodes], c.gpu_free[nodes])

    def scores(self, nodes: np.ndarray, pod: PodRequest, before: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """FGD's integer scores (int64 [M]) of placing `pod` on each of `nodes`, whose numerators are `before`,
        and the GPU it takes there: a GPU-sharing pod the best-scoring GPU with room (first index on equal
        scores; score and GPU -1 where none has room), any other pod -1 (the default choice)."""
        after, room = self.after_numerators(nodes, pod)
        if room is None:
            return self.score_of(before, after), np.full(len(nodes), -1, dtype=np.int64)
        per_gpu = np.where(room, self.score_of(before[:, None], after), -1)
        best = per_gpu.argmax(axis=1)
        score = per_gpu[np.arange(len(nodes)), best]
        return score, np.where(score >= 0, best, -1)

    def score_of(self, before: np.ndarray, after: np.ndarray) -> np.ndarray:
        """FGD's integer score of the numerators `before` becoming `after` (``scores`` maps every change with it)."""
        return fgd_score_exact(before, after, self.denominator)

    def total(self) -> float:
        """Σ_n F_n over the live nodes (milli-GPU), summed exactly."""
        return int(self.numerators[self.cluster.alive].sum()) / self.denominator

    def idle(self) -> int:
        """Idle milli-GPU over the live nodes."""
        g = self.cluster.gpu_free[self.cluster.alive]
        return int(g[g > 0].sum())

    def after(self, nodes: np.ndarray, pod: PodRequest) -> np.ndarray:
        """F_n' of each of `nodes` once `pod` is placed there: [M] for a CPU-only or whole-GPU pod (which takes
        the lowest-index idle GPUs), [M, G] for a GPU-sharing pod placed on GPU g (inf where g lacks room)."""
        numerators, room = self.after_numerators(nodes, pod)
        values = numerators / self.denominator
        return values if room is None else np.where(room, values, np.inf)

    def after_numerators(self, nodes: np.ndarray, pod: PodRequest) -> tuple[np.ndarray, np.ndarray | None]:
        """The exact numerators of after() (int64, [M] or [M, G]) and, for a sharing pod, where GPU g has room
        ([M, G] bool; None otherwise)."""
        c = self.cluster
        cpu_left = c.free_t[self.cpu, nodes] - pod.requests[self.cpu]
        gpu_left = c.gpu_free[nodes].copy()
        if pod.gpu_count == 0:
            return self._frag(nodes, cpu_left, gpu_left), None
        if pod.gpu_milli >= MILLI_GPU:
            idle = gpu_left >= MILLI_GPU
            gpu_left[idle & (np.cumsum(idle, axis=1) <= pod.gpu_count)] -= pod.gpu_milli
            return self._frag(nodes, cpu_left, gpu_left), None
        # Sharing: only GPU g changes when the pod goes there, so adjust each type's counts for that one GPU.
        t = self.typical
        g = np.maximum(gpu_left, 0).astype(np.int64)  # [M, G]
        enough = gpu_left[:, None, :] >= t.milli[:, None]  # [M, T, G]
        count = enough.sum(axis=2)  # [M, T]
        small = np.where(enough, 0, g[:, None, :]).sum(axis=2)  # [M, T]
        idle = g.sum(axis=1)  # [M]
        after = gpu_left - pod.gpu_milli  # [M, G]: GPU g once the pod is on it
        was = enough.transpose(0, 2, 1)  # [M, G, T]
        now = after[:, :, None] >= t.milli  # [M, G, T]
        count_after = count[:, None, :] - was + now
        small_after = small[:, None, :] - np.where(was, 0, g[:, :, None]) + np.where(now, 0, after[:, :, None])
        idle_after = (idle - pod.gpu_milli)[:, None, None]
        fits = (count_after >= t.count) & (cpu_left[:, None, None] >= t.cpu) & self.gpu_type
        fits &= self.access[nodes][:, None, :]
        frags = np.where(fits, small_after, idle_after) @ self.weight  # [M, G], integer: exact
        return frags, gpu_left >= pod.gpu_milli


class NodeTypeCounts:
    """FGD's scores for the feature encoder: per node and typical type, the GPUs with room for the type and the
    idle milli on the node's other GPUs, recounted only for the nodes whose GPUs changed since they were counted
    (a compare of their rows), so that a request costs O(nodes x types) and a GPU-sharing pod's GPUs are scored
    once per distinct free milli on a node. The scores equal ``FragmentationIndex.scores`` (integer sums)."""

    def __init__(self, index: FragmentationIndex):
        self.index = index
        c = index.cluster
        t = index.typical
        self.milli, self.count, self.cpu_need = t.milli, t.count, t.cpu
        self.served = index.access & index.gpu_type  # [N, T]
        self.seen = c.gpu_free.copy()
        self.enough, self.small = self._count(c.gpu_free)
        g = np.maximum(c.gpu_free, 0).astype(np.int64)
        self.idle = g.sum(axis=1)
        self.idle_gpus = np.count_nonzero(c.gpu_free >= MILLI_GPU, axis=1)

    def _count(self, gpu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        enough = gpu[:, None, :] >= self.milli[:, None]  # [M, T, G]
        small = np.where(enough, 0, np.maximum(gpu, 0)[:, None, :]).sum(axis=2)
        return enough.sum(axis=2), small

    def _refresh(self, nodes: np.ndarray) -> None:
        gpu = self.index.cluster.gpu_free[nodes]
        changed = (gpu != self.seen[nodes]).any(axis=1)
        if not changed.any():
            return
        rows, gpu = nodes[changed], gpu[changed]
        self.seen[rows] = gpu
        self.enough[rows], self.small[rows] = self._count(gpu)
        self.idle[rows] = np.maximum(gpu, 0).sum(axis=1)
        self.idle_gpus[rows] = np.count_nonzero(gpu >= MILLI_GPU, axis=1)

    def _numerators(self, served, enough, small, idle, cpu) -> np.ndarray:
        fits = served & (enough >= self.count) & (cpu[..., None] >= self.cpu_need)
        return np.where(fits, small, idle[..., None]) @ self.index.weight

    def scores(self, nodes: np.ndarray, pod: PodRequest) -> np.ndarray:
        """FGD's integer score of `pod` on each of `nodes` (int64 [M]; -1 where a sharing pod finds no room)."""
        self._refresh(nodes)
        c, index = self.index.cluster, self.index
        cpu_free = c.free_t[index.cpu, nodes]
        cpu_left = cpu_free - pod.requests[index.cpu]
        served, enough, small, idle = self.served[nodes], self.enough[nodes], self.small[nodes], self.idle[nodes]
        before = self._numerators(served, enough, small, idle, cpu_free)
        if pod.gpu_count == 0:
            after = self._numerators(served, enough, small, idle, cpu_left)
            return fgd_score_exact(before, after, index.denominator)
        m, milli = self.milli, pod.gpu_milli
        if milli >= MILLI_GPU:  # the lowest-index idle GPUs, each with MILLI_GPU free, keep `left`
            taken = np.minimum(pod.gpu_count, self.idle_gpus[nodes])[:, None]
            left = MILLI_GPU - milli
            enough = enough - taken * (m <= MILLI_GPU) + taken * (left >= m)
            small = small - taken * MILLI_GPU * (m > MILLI_GPU) + taken * left * ((left < m) & (left > 0))
            idle = idle - taken[:, 0] * (MILLI_GPU - max(left, 0))
            after = self._numerators(served, enough, small, idle, cpu_left)
            return fgd_score_exact(before, after, index.denominator)
        # Sharing: one GPU with room takes the pod; GPUs of a node with the same free milli score the same.
        gpu = c.gpu_free[nodes]
        node, dev = np.nonzero(gpu >= milli)
        out = np.full(len(nodes), -1, dtype=np.int64)
        if not len(node):
            return out
        key = node * (MILLI_GPU + 1) + gpu[node, dev]
        key, first = np.unique(key, return_index=True)
        node = node[first]
        v = gpu[node, dev[first]][:, None]  # [U, 1]
        a = v - milli
        was, now = v >= m, a >= m  # [U, T]
        e = enough[node] - was + now
        sm = small[node] - np.where(was, 0, v) + np.where(now, 0, a)
        after = self._numerators(served[node], e, sm, idle[node] - milli, cpu_left[node])
        score = fgd_score_exact(before[node], after, index.denominator)
        np.maximum.at(out, node, score)
        return out
