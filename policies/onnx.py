"""Scoring nodes in the deployed plugin: an exported ONNX policy, or a heuristic, behind one interface.

``OnnxPolicy`` is a node scorer (``envs.policy.NodeScorer``) over the files export.py writes. The network is
(agents/network.py) h_n = φ([x_n, p]), c = [mean, max] of h over the real nodes, s_n = ψ([h_n, c]), and of the
node features only the last, ``feasible``, depends on which nodes a request asks about. With the two exported
parts (policy.encoder.onnx: φ, policy.head.onnx: ψ) a pod that comes back costs no encoding of the cluster:

* per pod feature vector (a bounded LRU) it keeps every node's features and two embeddings, φ with
  feasible = 0 and with feasible = 1, and the sums and maxima the pooling needs (``_Embeddings``): each a
  function of the current node features alone, kept so exactly (sums in a fixed order, maxima per block of
  rows), so the kept state equals a fresh build's bit for bit whatever happened before;
* a request re-encodes only the nodes whose state changed since that pod's last request (binds, releases,
  failures: ``_NodeChanges``, told by the extender's cache which node each bind changed), pools with the
  candidates' feasible = 1 embedding and everyone else's feasible = 0 one, and runs the head on the
  candidates only;
* served from a live cluster, the pod feature vectors repeat (no clock; the pending feature rounded to a grid,
  ``PENDING_GRID``), and a new one is kept at once. In a simulation the clock makes most of them one-offs: one
  seen for the first time is encoded once, candidates marked, without caching, and kept when it comes back.

The scores are the full model's (for the pod features so formed), to float32 rounding. Without the parts (an
export from before them) every request runs policy.onnx over the whole cluster.
"""

from __future__ import annotations

import json
from collections import OrderedDict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from podgym.envs.cluster import ClusterState, PodRequest
from podgym.envs.features import (
    FEATURE_VERSION,
    NODE_FEATURES,
    NUM_NODE_FEATURES,
    NUM_POD_FEATURES,
    POD_FEATURES,
    FeatureEncoder,
    encode_candidates,
    simulation_context,
)
from podgym.envs.fragmentation import TypicalPods, typical_pods
from podgym.envs.kube.errors import KubeObjectError

ENCODER_FILE = "policy.encoder.onnx"
HEAD_FILE = "policy.head.onnx"
PARITY_TOLERANCE = 1e-4  # largest |score difference| allowed between torch, policy.onnx and the parts
POOLING = "context = [mean, max] of h over the valid rows (node feature rows not all zero); zeros without any"
FEASIBLE = next(i for i, f in enumerate(NODE_FEATURES) if f.name == "feasible")
PENDING = next(i for i, f in enumerate(POD_FEATURES) if f.name == "pending")
# Served from a live cluster (the cache's view), the `pending` feature is rounded to the nearest multiple of 1/64: a
# real queue's length changes with every arrival and bind, and each value would make a new pod feature vector, whose
# embeddings of the whole cluster are built anew. On the grid (an error of at most 1/128 in tanh(pending / nodes)) the
# vectors repeat: on 5,000 nodes any queue of up to 39 pods reads as 0, on 24 nodes each length keeps its own value.
PENDING_GRID = 64
MAX_TEMPLATES = 64  # pod feature vectors whose node embeddings are kept
CACHE_BYTES = 256 << 20  # ... in at most this much memory (5.5 MB each at 5,000 nodes and H 64: 48 of them)
MAX_SEEN = 1024  # pod feature vectors remembered as seen once (one is cached the second time it comes)
LOGGED_TICKS = 16  # ticks whose changed rows _NodeChanges keeps as lists
BLOCK = 32  # rows per partial sum and max of the pooling: a bind redoes the 32 rows of its block, then N/32 blocks


def load_metadata(onnx_path: str | Path) -> dict[str, Any]:
    """policy.json next to the model (feature schema and version, source run); {} when absent."""
    meta = Path(onnx_path).with_name("policy.json")
    return json.loads(meta.read_text()) if meta.exists() else {}


def valid_rows(nodes: np.ndarray) -> np.ndarray:
    """Rows of node features [N, F] that are real nodes: padding and failed nodes are all-zero rows
    (numpy's ``agents.network.valid_rows``)."""
    return np.any(nodes != 0, axis=1)


def pool_context(h: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """The pooled context c [2H] of embeddings h [N, H]: [mean, max] over the `valid` rows, zeros without any
    (``NodeScoringNet.encode``'s pooling), float32."""
    rows = h[valid]
    if not len(rows):
        return np.zeros(2 * h.shape[1], dtype=np.float32)
    return np.concatenate([rows.mean(axis=0, dtype=np.float64), rows.max(axis=0)]).astype(np.float32)


class _NodeChanges:
    """Which nodes' features may have changed, and when. Two ways to know, both exact:

    * noted: whoever binds and releases pods says which node each time (``OnnxPolicy.nodes_changed``, as the
      extender's cache does through its listeners). When the notes account for every step of
      ``ClusterState.version`` since the last update (each bind, release, failure and cordon bumps it once),
      they are all the changes: no scan of the cluster.
    * otherwise (no notes, or changes made without one: a failure, a cordon, a simulator's binds) a diff, at
      each request, of the cluster arrays that ``FeatureEncoder.nodes`` reads and that binds, unbinds and node
      failures change (free cpu and memory, pod counts, free GPU milli, liveness: a few vector compares over N,
      no [R, N] temporaries).

    Allocatable, GPU counts and allowed pods are fixed for a ClusterState (FeatureEncoder relies on that too);
    anything else that changes builds a new ClusterState, and so a new FeatureEncoder.
    """

    def __init__(self, cluster: ClusterState, columns: tuple[int, ...]):
        self.cluster = cluster
        self.columns = columns  # the rows of free_t the features read (cpu, memory)
        self.tick = 0
        self.changed_at = np.zeros(cluster.num_nodes, dtype=np.int64)
        c = cluster
        self._seen = ([c.free_t[r].copy() for r in columns], c.gpu_free.copy(), c.pod_count.copy(), c.alive.copy())
        self._version = c.version
        self._noted: list[int] = []
        # The rows marked at each of the last ticks, so that `since` a recent tick costs no scan of changed_at.
        self._log: deque[tuple[int, list[int]]] = deque(maxlen=LOGGED_TICKS)

    def note(self, node: int) -> None:
        """`node` changed by one bind or release (one step of ClusterState.version)."""
        self._noted.append(node)

    def update(self) -> int:
        """Record the nodes changed since the last update; returns the tick they are marked with (or the last)."""
        c = self.cluster
        steps, noted = c.version - self._version, self._noted
        self._version, self._noted = c.version, []
        free, gpus, pods, alive = self._seen
        if noted and steps == len(noted):
            marked = sorted(set(noted))
            rows = np.array(marked, dtype=np.int64)
        else:
            changed = pods != c.pod_count
            changed |= alive != c.alive
            for seen, r in zip(free, self.columns):
                changed |= seen != c.free_t[r]
            if gpus.shape[1]:
                changed |= (gpus != c.gpu_free).any(axis=1)
            rows = np.flatnonzero(changed)
            if not len(rows):
                return self.tick  # nothing changed since the last request
            marked = rows.tolist()
        for seen, r in zip(free, self.columns):
            seen[rows] = c.free_t[r, rows]
        gpus[rows] = c.gpu_free[rows]
        pods[rows] = c.pod_count[rows]
        alive[rows] = c.alive[rows]
        self.tick += 1
        self.changed_at[rows] = self.tick
        self._log.append((self.tick, marked))
        return self.tick

    def since(self, tick: int) -> np.ndarray:
        """Nodes changed after `tick`, in index order."""
        log = self._log
        if tick >= self.tick:
            return np.zeros(0, dtype=np.int64)
        if log and log[0][0] <= tick + 1:  # every tick after `tick` is logged
            if log[-1][0] == tick + 1:
                return np.array(log[-1][1], dtype=np.int64)
            rows: set[int] = set()
            for t, marked in log:
                if t > tick:
                    rows.update(marked)
            return np.array(sorted(rows), dtype=np.int64)
        return np.flatnonzero(self.changed_at > tick)


@dataclass
class _Embeddings:
    """Every node of the cluster encoded for one pod (one pod feature vector), as of `tick`.

    A request pools h = φ1 on its candidates and φ0 on the other valid rows. Every field is a function of the
    current node features alone, kept so by ``OnnxPolicy._refresh`` (a fresh build gives the same bits):

    * the sum is `total`, φ0 summed in a fixed order (each block of BLOCK rows, then the blocks), plus the
      candidates' φ1 and minus their φ0;
    * the max is the larger of the candidates' φ1 max and φ0's max over the other valid rows: the blocks
      without a candidate give theirs from `block_max`, and only where that falls short of `top` are the other
      rows of the candidates' blocks read.

    So a request reads its candidates' rows, the block maxima and at most the rest of the candidates' blocks, and a
    bind rewrites only the rows and blocks it changed.
    """

    features: np.ndarray  # [N, F] float32: the node features with feasible = 0
    valid: np.ndarray  # [N] bool: rows of `features` not all zero
    h1: np.ndarray  # [N, H] float32: φ1, φ with feasible = 1 (a candidate's embedding)
    delta: np.ndarray  # [N, H] float32: φ1 - h0, what a candidate adds to the sum
    h0: np.ndarray  # [N, H] float32: φ0 (feasible = 0) on valid rows, 0 on the others (a view of `padded`)
    padded: np.ndarray  # [B * BLOCK, H] float32: h0 and zero rows up to whole blocks
    lifted: np.ndarray  # [B * BLOCK, H] float32: φ0 on valid rows, -inf on the others and up to whole blocks
    blocks: np.ndarray  # [B, H] float64: sum of h0 over each block of BLOCK rows
    total: np.ndarray  # [H] float64: sum of `blocks` in block order
    count: int  # valid rows
    block_max: np.ndarray  # [B, H] float32: max of φ0 over each block's valid rows (-inf without any)
    top: np.ndarray  # [H] float32: max of `block_max` (of φ0 over the valid rows; -inf without any)
    tick: int  # _NodeChanges.tick the rows are current at


def _block_sums(padded: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """[len(blocks), H] float64: each block of BLOCK rows of `padded` summed row after row, in row order (numpy's
    reduction over the non-contiguous row axis; the same bits whichever blocks are asked for together)."""
    return np.add.reduce(padded.reshape(-1, BLOCK, padded.shape[1])[blocks], axis=1, dtype=np.float64)


def _block_max(lifted: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """[len(blocks), H]: the max of each block of BLOCK rows of `lifted` [B * BLOCK, H] (-inf: none valid)."""
    return lifted.reshape(-1, BLOCK, lifted.shape[1])[blocks].max(axis=1)


def _fold(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """[U, H] as (head [q, m * H]: m rows side by side per row, tail [U - q * m, H], m), m about sqrt(U): a column
    reduction over the head then runs ~2 sqrt(U) inner loops of m * H elements instead of U loops of H."""
    m = max(1, int(np.sqrt(len(a))))
    q = len(a) // m
    return a[: q * m].reshape(q, m * a.shape[1]), a[q * m :], m


def _column_max(a: np.ndarray) -> np.ndarray:
    """The max of each column of a [U, H] (U >= 1), exactly ``a.max(axis=0)`` (a max in any grouping)."""
    head, tail, m = _fold(a)
    out = head.max(axis=0).reshape(m, a.shape[1]).max(axis=0)
    return np.maximum(out, tail.max(axis=0)) if len(tail) else out


class OnnxPolicy:
    """An exported per-node scorer on onnxruntime, as a NodeScorer (see the module doc).

    `path` is policy.onnx; the parts and policy.json are looked up next to it. policy.json carries the typical
    pods FGD's score feature (``fgd_score``) is measured against, the same on every cluster the policy scores;
    with `workload_typical`, a simulation (``reset`` with a Simulator) measures it against the simulated
    workload's typical pods instead, as FGD and the training env do (evaluate.py's choice); `typical` replaces
    policy.json's everywhere (the FGD experiment passes the ones it scores FGD with).
    Raises KubeObjectError when the model is missing or unreadable, was exported for other features, carries no
    typical pods, or its parts do not reproduce it.
    """

    def __init__(
        self,
        path: str | Path,
        name: str | None = None,
        workload_typical: bool = False,
        typical: TypicalPods | None = None,
    ):
        self.path = Path(path)
        if not self.path.is_file():
            raise KubeObjectError("ONNX model not found", source=str(self.path))
        self.metadata = load_metadata(self.path)
        features = self.metadata.get("features", {})
        if features and (
            features.get("version") != FEATURE_VERSION
            or (features.get("node") and len(features["node"]) != NUM_NODE_FEATURES)
            or (features.get("pod") and len(features["pod"]) != NUM_POD_FEATURES)
        ):
            raise KubeObjectError(
                f"the model was exported for feature version {features.get('version')} "
                f"({len(features.get('node', []))} node, {len(features.get('pod', []))} pod features); this podgym "
                f"computes version {FEATURE_VERSION} ({NUM_NODE_FEATURES} node, {NUM_POD_FEATURES} pod features)",
                source=str(self.path),
            )
        self.typical = typical or self._typical_pods()
        self.workload_typical = workload_typical and typical is None
        self._typical = self.typical  # the typical pods in use
        self.session = self._load(self.path)
        self.encoder_session = self.head_session = None
        parts = self.metadata.get("parts")
        if parts:
            try:
                files = str(parts["encoder"]["file"]), str(parts["head"]["file"])
            except (KeyError, TypeError):
                raise KubeObjectError(
                    "policy.json: `parts` must name the encoder and head files; re-export the policy",
                    source=str(self.path),
                ) from None
            self.encoder_session = self._load(self.path.with_name(files[0]))
            self.head_session = self._load(self.path.with_name(files[1]))
            self._check_parts()
        self.name = name or f"onnx:{self.path.name}"
        self._sim = None
        self._simulated = False  # following a Simulator (exact pod features), not the cache's view
        self._encoder: FeatureEncoder | None = None
        self._changes: _NodeChanges | None = None
        self._embeddings: OrderedDict[bytes, _Embeddings] = OrderedDict()
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._ones_buffer = np.ones(0, dtype=np.float32)

    def _typical_pods(self) -> TypicalPods:
        """The typical pods policy.json carries (export.py writes them: the training workload's)."""
        meta = self.path.with_name("policy.json")
        if not self.metadata:
            raise KubeObjectError(
                f"{meta.name} not found next to the model: it carries the feature version and the typical pods the "
                "fgd_score feature needs; export the policy with export.py",
                source=str(meta),
            )
        if "typical_pods" not in self.metadata:
            raise KubeObjectError(
                "policy.json has no `typical_pods` (the workload's typical pods, which the fgd_score feature is "
                "measured against); re-export the policy with export.py",
                source=str(meta),
            )
        try:
            return TypicalPods.from_json(self.metadata["typical_pods"], "typical_pods")
        except ValueError as exc:
            raise KubeObjectError(str(exc), source=str(meta)) from None

    @staticmethod
    def _load(path: Path) -> Any:
        import onnxruntime as ort

        if not path.is_file():
            raise KubeObjectError("ONNX model not found (policy.json lists it: re-export the policy)", source=str(path))
        # One thread: a request is a few small matrix products (the head on 500 candidates is ~45 us of compute, the
        # encoder on a bind's rows ~10 us, mostly the call itself), which a thread pool's hand-offs would slow, and
        # the server runs on one core. The graph optimisation stays at its default (all); the other levels and IO
        # binding are no faster for these shapes.
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        try:
            return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for unreadable models
            raise KubeObjectError(f"cannot load the ONNX model: {exc}", source=str(path)) from None

    def _check_parts(self) -> None:
        """Refuse parts that do not reproduce policy.onnx (files of different exports side by side)."""
        rng = np.random.default_rng(0)
        nodes = rng.uniform(-1, 1, (9, NUM_NODE_FEATURES)).astype(np.float32)
        nodes[:, FEASIBLE] = rng.integers(0, 2, len(nodes))
        nodes[4] = 0.0
        pod = rng.uniform(0, 1, NUM_POD_FEATURES).astype(np.float32)
        try:
            expected = self.scores_for(nodes, pod)
            got = self._parts_scores(nodes, pod, np.arange(len(nodes)))
            error = float(np.max(np.abs(got - expected))) if got.shape == expected.shape else np.inf
        except Exception as exc:  # wrong input names or shapes
            raise KubeObjectError(f"the exported parts cannot score: {exc}", source=str(self.path)) from None
        if not error <= PARITY_TOLERANCE:
            raise KubeObjectError(
                f"{ENCODER_FILE} and {HEAD_FILE} do not reproduce {self.path.name} (max |difference| {error:.3g}, "
                f"tolerance {PARITY_TOLERANCE}): they come from different exports; re-export the policy",
                source=str(self.path),
            )

    @property
    def uses_parts(self) -> bool:
        """Whether requests go through the encoder and head parts (else the full model scores every node)."""
        return self.encoder_session is not None

    def num_to_find(self, num_nodes: int) -> int:
        return num_nodes

    def reset(self, sim) -> None:
        """Follow `sim` (a Simulator or the cache's ClusterView): its cluster, pending count and clock, and a
        simulation's node ranks (the cache's view has none: node_ranks of the names)."""
        self._sim = sim
        # A simulation (a Simulator has node ranks; the cache's view has none) has a workload of its own.
        simulated = self._simulated = getattr(sim, "rank", None) is not None
        workload = getattr(sim, "workload", None) if self.workload_typical and simulated else None
        self._typical = typical_pods(workload) if workload is not None else self.typical
        self._set_encoder(FeatureEncoder(sim.cluster, self._typical, getattr(sim, "rank", None)))

    def encoder(self, cluster: ClusterState) -> FeatureEncoder:
        """The FeatureEncoder of `cluster` (a new cluster drops every cached embedding)."""
        if self._encoder is None or self._encoder.cluster is not cluster:
            self._set_encoder(FeatureEncoder(cluster, self._typical))
        assert self._encoder is not None
        return self._encoder

    def _set_encoder(self, encoder: FeatureEncoder) -> None:
        self._encoder = encoder
        self._changes = None
        self._embeddings.clear()
        self._seen.clear()

    def nodes_changed(self, cluster: ClusterState, node: int) -> None:
        """Note that `node` of `cluster` changed by one bind or release, made by the caller (the extender's cache
        says so for every one): the next request then re-encodes it without a scan of the cluster for changes.
        Optional: without notes the policy finds the changes itself."""
        if self._changes is not None and self._changes.cluster is cluster:
            self._changes.note(node)

    def scores_for(self, node_features: np.ndarray, pod_features: np.ndarray) -> np.ndarray:
        """Scores of the rows of `node_features` [N, F] for `pod_features` [P] (policy.onnx, one call)."""
        (out,) = self.session.run(
            None,
            {"nodes": node_features.astype(np.float32, copy=False), "pod": pod_features.astype(np.float32, copy=False)},
        )
        return out

    def score(self, cluster: ClusterState, pod: PodRequest, nodes: np.ndarray) -> np.ndarray:
        """Scores (float64) of `nodes`, the candidates of `pod` (indices into `cluster`), in their order."""
        encoder = self.encoder(cluster)
        if not self.uses_parts:
            node_features, pod_features = encode_candidates(encoder, pod, nodes, self._sim)
            scores = self.scores_for(node_features, self._served(pod_features))
            return scores[nodes].astype(np.float64)
        nodes = np.asarray(nodes, dtype=np.int64)
        if not len(nodes):
            return np.zeros(0)
        sim = self._sim if self._sim is not None and self._sim.cluster is cluster else None
        pod_features = self._served(encoder.pod(pod, *simulation_context(sim)))
        key = pod_features.tobytes()
        if self._changes is None:
            self._changes = _NodeChanges(cluster, (encoder.cpu, encoder.mem))
        tick = self._changes.update()
        emb = self._embeddings.get(key)
        if emb is None:
            if self._simulated and key not in self._seen:  # a one-off (a new pending count, the clock): not kept
                self._seen[key] = None
                if len(self._seen) > MAX_SEEN:
                    self._seen.popitem(last=False)
                feasible = np.zeros(cluster.num_nodes, dtype=bool)
                feasible[nodes] = True
                return self._parts_scores(encoder.nodes(pod, feasible), pod_features, nodes).astype(np.float64)
            emb = self._build(encoder, pod, pod_features, tick)
        else:
            self._embeddings.move_to_end(key)
            if emb.tick != tick:
                self._refresh(emb, encoder, pod, pod_features, self._changes.since(emb.tick))
                emb.tick = tick
        return self._cached_scores(emb, nodes).astype(np.float64)

    def _served(self, pod_features: np.ndarray) -> np.ndarray:
        """`pod_features` as scored: outside a simulation, the pending feature on the grid (see PENDING_GRID)."""
        if not self._simulated:
            pod_features[PENDING] = np.round(pod_features[PENDING] * PENDING_GRID) / PENDING_GRID
        return pod_features

    # ---- the parts ------------------------------------------------------------------------------------
    def _ones(self, n: int) -> np.ndarray:
        """n float32 ones (a view of one array kept across requests)."""
        if len(self._ones_buffer) < n:
            self._ones_buffer = np.ones(max(n, 2 * len(self._ones_buffer)), dtype=np.float32)
        return self._ones_buffer[:n]

    def _parts_scores(self, nodes: np.ndarray, pod_features: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Scores of `rows` of the node features `nodes` [N, F]: encoder over all, pooling, head over `rows`."""
        assert self.encoder_session is not None and self.head_session is not None
        (h,) = self.encoder_session.run(None, {"nodes": nodes, "pod": pod_features})
        context = pool_context(h, valid_rows(nodes))
        (out,) = self.head_session.run(None, {"h": h.take(rows, axis=0), "context": context})
        return out

    def _embed(self, nodes: np.ndarray, pod_features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """φ of the rows of `nodes` (feasible = 0) with feasible 0 and with feasible 1, in one call."""
        assert self.encoder_session is not None
        n = len(nodes)
        both = np.concatenate([nodes, nodes])
        both[n:, FEASIBLE] = 1.0
        (h,) = self.encoder_session.run(None, {"nodes": both, "pod": pod_features})
        return h[:n], h[n:]

    def _build(self, encoder: FeatureEncoder, pod: PodRequest, pod_features: np.ndarray, tick: int) -> _Embeddings:
        n = encoder.cluster.num_nodes
        features = encoder.nodes(pod, np.zeros(n, dtype=bool))
        h0, h1 = self._embed(features, pod_features)
        valid = valid_rows(features)
        padded = np.zeros((-(-n // BLOCK) * BLOCK, h0.shape[1]), dtype=np.float32)
        padded[:n] = np.where(valid[:, None], h0, np.float32(0.0))
        lifted = np.full_like(padded, -np.inf)
        lifted[:n] = np.where(valid[:, None], h0, np.float32(-np.inf))
        every = np.arange(len(padded) // BLOCK)
        blocks = _block_sums(padded, every)
        block_max = _block_max(lifted, every)
        emb = _Embeddings(
            features=features,
            valid=valid,
            h1=np.ascontiguousarray(h1),
            delta=h1 - padded[:n],
            h0=padded[:n],
            padded=padded,
            lifted=lifted,
            blocks=blocks,
            total=np.add.reduce(blocks, axis=0),
            count=int(valid.sum()),
            block_max=block_max,
            top=block_max.max(axis=0),
            tick=tick,
        )
        per_template = sum(a.nbytes for a in (emb.features, emb.h1, emb.delta, emb.padded, emb.lifted))
        limit = max(1, min(MAX_TEMPLATES, CACHE_BYTES // max(per_template, 1)))
        while len(self._embeddings) >= limit:
            self._embeddings.popitem(last=False)
        self._embeddings[pod_features.tobytes()] = emb
        return emb

    def _refresh(
        self, emb: _Embeddings, encoder: FeatureEncoder, pod: PodRequest, pod_features: np.ndarray, rows: np.ndarray
    ) -> None:
        """Re-encode the nodes `rows` (changed since the embeddings' tick); keep the pooling's sums and maxima
        current."""
        if not len(rows):
            return
        # Rows whose features did not move are encoded again all the same: a row's embedding does not depend on
        # the batch it is encoded in, so the state stays what a fresh build gives.
        features = encoder.nodes(pod, np.zeros(len(rows), dtype=bool), rows)
        h0, h1 = self._embed(features, pod_features)
        now = features.any(axis=1)  # valid_rows: any feature not 0
        if now.all():  # the usual case: rows of live nodes
            masked = lifted = h0
        else:
            masked = np.where(now[:, None], h0, np.float32(0.0))
            lifted = np.where(now[:, None], h0, np.float32(-np.inf))
        emb.count += int(np.count_nonzero(now)) - int(np.count_nonzero(emb.valid[rows]))
        emb.features[rows] = features
        emb.valid[rows] = now
        emb.h1[rows] = h1
        emb.h0[rows] = masked
        emb.delta[rows] = h1 - masked
        emb.lifted[rows] = lifted
        touched = rows // BLOCK  # a block twice is summed twice alike
        emb.blocks[touched] = _block_sums(emb.padded, touched)
        emb.total = np.add.reduce(emb.blocks, axis=0)
        emb.block_max[touched] = _block_max(emb.lifted, touched)
        emb.top = emb.block_max.max(axis=0)

    def _cached_scores(self, emb: _Embeddings, nodes: np.ndarray) -> np.ndarray:
        """The scores of `nodes` as candidates: h = φ1 on them, φ0 elsewhere; pooled; the head on them only."""
        assert self.head_session is not None
        mask = np.zeros(len(emb.padded), dtype=bool)  # [B * BLOCK]: the candidates
        mask[nodes] = True
        cand = np.flatnonzero(mask)
        h1 = emb.h1.take(cand, axis=0)  # [U, H]
        count = emb.count + len(cand) - int(np.count_nonzero(emb.valid[cand]))  # a candidate is valid (feasible 1)
        # The candidates' part of the sum: a float32 matrix-vector product over their rows in index order, added
        # to the float64 sum of φ0.
        total = emb.total + (self._ones(len(cand)) @ emb.delta.take(cand, axis=0)).astype(np.float64)
        # The max of φ0 over the valid rows that are not candidates: the blocks without a candidate give theirs;
        # a dimension where they fall short of `top` also reads the other rows of the candidates' blocks.
        held = np.zeros(len(emb.block_max), dtype=bool)
        held[cand // BLOCK] = True
        free = emb.block_max[~held]
        rest = free.max(axis=0) if len(free) else np.full(len(emb.top), -np.inf, dtype=np.float32)
        short = np.flatnonzero(rest < emb.top)
        if len(short):
            others = np.flatnonzero(np.repeat(held, BLOCK) & ~mask)
            if len(others):
                rest[short] = np.maximum(rest[short], _column_max(emb.lifted.take(others, axis=0))[short])
        top = np.maximum(rest, _column_max(h1))
        context = np.concatenate([total / count, top]).astype(np.float32)
        rows = h1 if len(cand) == len(nodes) and np.array_equal(cand, nodes) else emb.h1.take(nodes, axis=0)
        (out,) = self.head_session.run(None, {"h": rows, "context": context})
        return out
