"""A kube-scheduler extender (HTTP, ``filterVerb`` and ``prioritizeVerb``) that scores nodes with any podgym policy.

Wire format (``k8s.io/kube-scheduler/extender/v1``, whose structs have no json tags, so the keys are the Go
field names, capitalised exactly so):

* request, both verbs: ``ExtenderArgs`` ``{"Pod": <v1.Pod>, "Nodes": <v1.NodeList> | null,
  "NodeNames": [..] | null}``. With ``nodeCacheCapable: true`` the scheduler sends ``NodeNames`` and the
  extender judges them on its own cache (``plugin.cache.ClusterCache``); otherwise it sends whole ``Nodes``,
  judged with the cache's pods on them.
* ``filter`` answers ``ExtenderFilterResult`` ``{"Nodes", "NodeNames", "FailedNodes",
  "FailedAndUnresolvableNodes", "Error"}``: the nodes that pass (``NodeNames`` or ``Nodes``, as the caller
  gave them, in its order) and, for the others, the upstream reason of the first failing plugin of the
  default profile (``envs.scheduling.VectorProfile``, the same as ``envs.kube.filter_status``):
  UnschedulableAndUnresolvable ones in ``FailedAndUnresolvableNodes``, Unschedulable ones in
  ``FailedNodes``. A node the cache does not know is Unschedulable ("node(s) unknown to the extender's
  cache"), so the pod is retried once the watch has caught up.
* ``prioritize`` answers ``HostPriorityList`` ``[{"Host", "Score"}]``, one entry per node, in the caller's
  order: the scorer's scores mapped to integers by ``extender_scores`` (below: linear on the scorer's fixed
  range when it has one, else min-max); a node the cache does not know scores 0.

Errors: a body that is not JSON, not an ExtenderArgs, or whose Pod or Nodes are malformed (a Pod without
spec, a quantity above 2^63-1, a field of the wrong type...) gets 400, counted in the errors metric, with
the verb's upstream result type: an ``ExtenderFilterResult`` whose ``Error`` is the message (filter) or
``{"Error": message}`` (prioritize, whose HostPriorityList has no error field). An internal error in
``prioritize`` gives neutral scores (all 0) and a log line, never a 500 (kube-scheduler would ignore the
extender's scores anyway); in ``filter`` it gives a 200 ``ExtenderFilterResult`` whose ``Error`` says what
failed, as upstream expects (configure the extender ``ignorable: true`` to schedule without it then).

Also: ``GET /openapi.json`` (the API as OpenAPI 3.1, ``plugin.openapi``), ``GET /healthz`` (503 until the
watch has listed nodes and pods once), ``GET /metrics`` (Prometheus text: requests and errors per verb, a
latency histogram, the cache's sizes), every route also under a URL prefix (``urlPrefix:
http://host:8888/scheduler`` -> ``/scheduler/filter``), and each response carries a ``Server-Timing:
app;dur=<ms>`` header, the time spent in the handler. The hot routes (``POST`` to filter, prioritize and the
cache API) are answered by the app's own ASGI entry, past FastAPI's middleware stack and router, with the same
replies; host entries of responses are pre-encoded, per node of the cache's state.

With ``cache_api=True`` (``--cache-api``; for simulations and tests, never needed in a cluster) two more
routes feed the cache: ``POST /cache/state {"nodes": [...], "pods": [...]}`` replaces everything and
``POST /cache/events {"events": [{"type": "ADDED"|"MODIFIED"|"DELETED", "object": <Node|Pod>}, ...]}``
applies watch events in order. ``agents.extender_client.ExtenderPolicy`` mirrors a simulation through them.
"""

from __future__ import annotations

import bisect
import copy
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from operator import getitem
from typing import Any

import numpy as np
from fastapi import FastAPI, Request, Response

from podgym.envs.cluster import ClusterState, PodRequest
from podgym.envs.kube import parse_nodes
from podgym.envs.kube.errors import KubeObjectError
from podgym.envs.kube.framework import MAX_EXTENDER_PRIORITY, UNSCHEDULABLE_AND_UNRESOLVABLE
from podgym.plugin.cache import ClusterCache, ClusterView
from podgym.plugin.openapi import openapi_schema

log = logging.getLogger("podgym.plugin.extender")

UNKNOWN_NODE = "node(s) unknown to the extender's cache"
JSON = "application/json"
VERBS = ("filter", "prioritize")


# ---- the score mapping ------------------------------------------------------------------------------------
SCORE_MAPPINGS = ("auto", "linear", "minmax", "rank")


def extender_scores(
    scores: Any,
    max_score: int = MAX_EXTENDER_PRIORITY,
    mapping: str = "minmax",
    score_range: tuple[float, float] | None = None,
) -> np.ndarray:
    """A scorer's scores -> integers 0..`max_score` (MaxExtenderPriority, 10), by `mapping`.

    kube-scheduler adds ``score * weight * 10`` to each node's total, where every Score plugin adds at most
    ``100 * its weight``: an extender of weight w is meant to count like a plugin of weight w. How far apart
    two nodes' extender scores are must then say how far apart the policy holds them, which only a fixed
    scale gives:

    * ``linear``: ``floor(max_score * (s - lo) / (hi - lo))`` on the scorer's fixed `score_range` (lo, hi),
      clipped to 0..max_score. Close raw scores get close (often equal) extender scores, as a plugin's
      NormalizeScore gives: kube-default's totals 481, 493 and 492 of 700 become 6, 7 and 7. Needs a range.
    * ``minmax``: the lowest score of the request maps to 0 and the best node(s) to `max_score`, the others
      linearly in between but capped at ``max_score - 1``, so that the set at `max_score` is exactly the set
      of best nodes. Scale-free, so it fits any scorer (a learned policy's logits), but it stretches small
      differences: 481, 493, 492 become 0, 10, 9, and at weight 5 a 12-point gap outweighs most plugins.
    * ``rank``: the best distinct score gets `max_score`, the next `max_score - 1`, and so on down to 0.
    * ``auto`` (the server's default): ``linear`` when the scorer declares a ``score_range`` (kube-default
      and the profiles of ``envs.policy.KubeSchedulerPolicy``), else ``minmax``.

    NaN counts as the lowest score; -inf maps to 0 and +inf to the top.
    """
    if mapping == "auto":
        mapping = "linear" if score_range is not None else "minmax"
    if mapping not in SCORE_MAPPINGS:
        raise ValueError(f"unknown score mapping {mapping!r}; one of {', '.join(SCORE_MAPPINGS)}")
    s = np.asarray(scores, dtype=np.float64)
    if len(s) == 0:
        return np.zeros(0, dtype=np.int64)
    if mapping == "minmax":
        lo, hi = float(s.min()), float(s.max())  # NaN if any score is NaN
        if math.isfinite(lo) and math.isfinite(hi):  # the usual case in fewer steps: the general one's numbers
            if not hi > lo:
                return np.full(len(s), max_score, dtype=np.int64)
            levels = np.floor(max_score * ((s - lo) / (hi - lo)))  # >= 0, as s >= lo
            out = np.minimum(levels, max_score - 1, out=levels).astype(np.int64)
            out[s == hi] = max_score
            return out
    out = np.zeros(len(s), dtype=np.int64)
    s = np.where(np.isnan(s), -np.inf, s)
    if mapping == "linear":
        if score_range is None or not score_range[1] > score_range[0]:
            raise ValueError(f"the linear mapping needs a score range lo < hi, got {score_range}")
        lo, hi = score_range
        with np.errstate(invalid="ignore"):
            levels = np.floor(max_score * ((s - lo) / (hi - lo)))
        return np.clip(np.nan_to_num(levels, nan=0.0, posinf=max_score, neginf=0), 0, max_score).astype(np.int64)
    if mapping == "rank":
        distinct = np.unique(s)[::-1]  # descending
        rank = np.searchsorted(-distinct, -s)
        return np.maximum(max_score - rank, 0).astype(np.int64)
    top = s == s.max()
    out[top] = max_score
    rest = ~top
    if rest.any():
        finite = np.isfinite(s)
        if finite.any():
            lo, hi = s[finite].min(), s[finite].max()
            span = hi - lo
            if span > 0:
                r = np.where(finite & rest, s, lo)
                levels = np.floor(max_score * ((r - lo) / span))
                out[rest] = np.clip(levels[rest], 0, max_score - 1).astype(np.int64)
    return out


# ---- running a policy outside the simulator --------------------------------------------------------------
class ScorerHost:
    """Runs a NodeScorer (``envs.policy``) against the cache instead of a simulator.

    It is a cache listener: after each rebuild of the ClusterState it calls the scorer's ``reset(view)``
    (``ClusterView``: the bound pods, the pending count, no clock), and it forwards ``on_bind``/``on_unbind``
    to a scorer that keeps state (round-robin, FGD), so that the scorer follows the cluster exactly as it
    follows a simulation. For a cluster of nodes the scheduler sent (``nodeCacheCapable: false`` with nodes
    the cache does not hold) a stateful scorer is a fresh copy reset on that cluster.
    """

    def __init__(self, scorer: Any, cache: ClusterCache):
        self.scorer = scorer
        self.cache = cache
        self.name = getattr(scorer, "name", type(scorer).__name__)
        self.stateful = hasattr(scorer, "on_bind")
        self.notes_changes = hasattr(scorer, "nodes_changed")  # OnnxPolicy: told which node each bind changed
        self._prototype = copy.deepcopy(scorer) if self.stateful else None
        self._cluster: ClusterState | None = None
        cache.listeners.append(self)

    def on_reset(self, view: ClusterView) -> None:
        self._cluster = None
        try:
            if hasattr(self.scorer, "reset"):
                self.scorer.reset(view)
        except Exception:
            log.exception("scorer %s: reset on the cache's state failed; it is retried on the next request", self.name)
            return
        self._cluster = view.cluster

    def on_bind(self, cluster: ClusterState, node: int, pod: PodRequest, gpus: tuple[int, ...]) -> None:
        if self.stateful and cluster is self._cluster:
            self.scorer.on_bind(cluster, node, pod, gpus)
        if self.notes_changes:
            self.scorer.nodes_changed(cluster, node)

    def on_unbind(self, cluster: ClusterState, node: int, pod: PodRequest, gpus: tuple[int, ...]) -> None:
        if self.stateful and cluster is self._cluster:
            self.scorer.on_unbind(cluster, node, pod, gpus)
        if self.notes_changes:
            self.scorer.nodes_changed(cluster, node)

    def score(self, cluster: ClusterState, pod: PodRequest, nodes: np.ndarray) -> np.ndarray:
        """The scorer's raw scores of `nodes` (indices into `cluster`). Hold the cache's lock."""
        if cluster is self.cache.cluster():
            if self._cluster is not cluster:
                view = self.cache.view()
                if hasattr(self.scorer, "reset"):
                    self.scorer.reset(view)
                self._cluster = cluster
            return np.asarray(self.scorer.score(cluster, pod, nodes))
        scorer = self.scorer
        if self._prototype is not None:
            scorer = copy.deepcopy(self._prototype)
        if hasattr(scorer, "reset") and self._prototype is not None:
            bound = []  # the pods ClusterCache.cluster_for bound are not listed: stateful scorers start empty
            scorer.reset(ClusterView(cluster, bound))
        return np.asarray(scorer.score(cluster, pod, nodes))


# ---- metrics ----------------------------------------------------------------------------------------------
class Metrics:
    """Counters and a latency histogram per verb, rendered in the Prometheus text format (version 0.0.4)."""

    BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0015, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

    def __init__(self, verbs: tuple[str, ...] = VERBS):
        self.requests = dict.fromkeys(verbs, 0)
        self.errors = dict.fromkeys(verbs, 0)
        self.sums = dict.fromkeys(verbs, 0.0)
        self.counts = {v: [0] * (len(self.BUCKETS) + 1) for v in verbs}

    def observe(self, verb: str, seconds: float, error: bool = False) -> None:
        self.requests[verb] += 1
        if error:
            self.errors[verb] += 1
        self.sums[verb] += seconds
        self.counts[verb][bisect.bisect_left(self.BUCKETS, seconds)] += 1

    def render(self, cache: ClusterCache) -> str:
        p = "podgym_extender"
        lines = [
            f"# HELP {p}_requests_total Extender requests handled, by verb.",
            f"# TYPE {p}_requests_total counter",
            *(f'{p}_requests_total{{verb="{v}"}} {n}' for v, n in self.requests.items()),
            f"# HELP {p}_errors_total Requests answered with an error (400, Error, or neutral scores), by verb.",
            f"# TYPE {p}_errors_total counter",
            *(f'{p}_errors_total{{verb="{v}"}} {n}' for v, n in self.errors.items()),
            f"# HELP {p}_request_duration_seconds Time spent in the handler, by verb.",
            f"# TYPE {p}_request_duration_seconds histogram",
        ]
        for v, counts in self.counts.items():
            total = 0
            for le, c in zip((*self.BUCKETS, None), counts):
                total += c
                bound = "+Inf" if le is None else repr(le)
                lines.append(f'{p}_request_duration_seconds_bucket{{verb="{v}",le="{bound}"}} {total}')
            lines.append(f'{p}_request_duration_seconds_sum{{verb="{v}"}} {self.sums[v]!r}')
            lines.append(f'{p}_request_duration_seconds_count{{verb="{v}"}} {total}')
        gauges = (
            ("cache_nodes", "Nodes in the extender's cache.", cache.num_nodes),
            ("cache_pods", "Pods in the extender's cache (bound and pending).", cache.num_pods),
            ("cache_pending_pods", "Pending pods in the extender's cache.", cache.num_pending),
            ("cache_synced", "1 once the watch has listed nodes and pods (1 without a watch).", int(cache.synced)),
        )
        for name, doc, value in gauges:
            lines += [f"# HELP {p}_{name} {doc}", f"# TYPE {p}_{name} gauge", f"{p}_{name} {value}"]
        lines += [
            f"# HELP {p}_cache_relists_total Lists of the apiserver (initial and after 410 Gone or errors).",
            f"# TYPE {p}_cache_relists_total counter",
        ]
        lines += [f'{p}_cache_relists_total{{kind="{k}"}} {n}' for k, n in cache.relists.items()]
        lines += [
            f"# HELP {p}_cache_rebuilds_total Rebuilds of the cluster state (node changes).",
            f"# TYPE {p}_cache_rebuilds_total counter",
            f"{p}_cache_rebuilds_total {cache.rebuilds}",
        ]
        return "\n".join(lines) + "\n"


# ---- the app ----------------------------------------------------------------------------------------------
class BadRequest(Exception):
    """A request the extender cannot read: answered 400."""


@dataclass(frozen=True)
class Reply:
    """A handler's answer: status, JSON body and the ``Server-Timing`` value (None: no header)."""

    status: int
    body: bytes
    timing: str | None = None

    def response(self) -> Response:
        headers = {"Server-Timing": self.timing} if self.timing is not None else None
        return Response(self.body, self.status, headers, media_type=JSON)


def _field(args: Mapping[str, Any], name: str) -> Any:
    """``args[name]``, matching the key case-insensitively as Go's encoding/json does."""
    if name in args:
        return args[name]
    lower = name.lower()
    for k, v in args.items():
        if isinstance(k, str) and k.lower() == lower:
            return v
    return None


def parse_args(body: bytes) -> tuple[dict[str, Any], list[str] | None, list[dict[str, Any]] | None]:
    """(Pod, NodeNames, Nodes' items) of an ExtenderArgs body; exactly one of the last two is not None."""
    try:
        args = json.loads(body)
    except ValueError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
    if not isinstance(args, dict):
        raise BadRequest(f"expected ExtenderArgs, an object with Pod and NodeNames or Nodes; got {type(args).__name__}")
    pod = _field(args, "Pod")
    if not isinstance(pod, dict):
        raise BadRequest("ExtenderArgs.Pod is missing or not an object")
    nodes = _field(args, "Nodes")
    if nodes is not None:
        items = nodes.get("items") if isinstance(nodes, dict) else None
        if items is None and isinstance(nodes, dict):
            items = []
        if not isinstance(items, list) or not all(isinstance(n, dict) for n in items):
            raise BadRequest("ExtenderArgs.Nodes must be a NodeList: an object with items, a list of Node objects")
        return pod, None, items
    names = _field(args, "NodeNames")
    if names is None:
        raise BadRequest("ExtenderArgs has neither NodeNames (nodeCacheCapable: true) nor Nodes")
    if not isinstance(names, list) or not set(map(type, names)) <= {str}:
        raise BadRequest("ExtenderArgs.NodeNames must be a list of node names")
    return pod, names, None


def _object_list(data: Mapping[str, Any], key: str) -> list[Any]:
    """``data[key]``: a list of objects or a List of them (absent or null: none); anything else is a BadRequest."""
    value = data.get(key)
    items = value.get("items", []) if isinstance(value, dict) else value
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(o, dict) for o in items):
        raise BadRequest(f"{key} must be a list of objects (or a List of them)")
    return items


class Extender:
    """The handlers of create_app, over one cache and one scorer."""

    def __init__(
        self, scorer: Any, cache: ClusterCache, max_score: int = MAX_EXTENDER_PRIORITY, score_mapping: str = "auto"
    ):
        if max_score < 1:
            raise ValueError(f"max_score must be at least 1, got {max_score}")
        self.score_range = getattr(scorer, "score_range", None)
        if score_mapping not in SCORE_MAPPINGS:
            raise ValueError(f"unknown score mapping {score_mapping!r}; one of {', '.join(SCORE_MAPPINGS)}")
        if score_mapping == "linear" and self.score_range is None:
            raise ValueError(f"score mapping 'linear' needs a scorer with a fixed score_range; {scorer!r} has none")
        self.score_mapping = score_mapping
        self.cache = cache
        self.host = ScorerHost(scorer, cache)
        self.max_score = max_score
        self.metrics = Metrics()
        self._entries: dict[str, tuple[bytes, ...]] = {}
        self._table_of: ClusterState | None = None  # the state whose node indices `_table` rows follow
        self._table = np.empty((0, max_score + 1), dtype=object)  # [N, max_score + 1]: the entries by node index
        self._filled = np.zeros(0, dtype=bool)  # [N]: rows of `_table` filled

    # -- helpers
    def _entry(self, name: str) -> tuple[bytes, ...]:
        """The pre-encoded ``{"Host":name,"Score":s}`` of every s in 0..max_score."""
        entry = self._entries.get(name)
        if entry is None:
            if len(self._entries) > 4 * self.cache.num_nodes + 1024:  # names of nodes long gone: start over
                self._entries.clear()
            host = json.dumps(name).encode()
            entry = self._entries[name] = tuple(
                b'{"Host":%s,"Score":%d}' % (host, s) for s in range(self.max_score + 1)
            )
        return entry

    def _encode(self, cluster: ClusterState, names: list[str], idx: np.ndarray, scores: np.ndarray) -> bytes:
        """The HostPriorityList of `names` (indices `idx` into `cluster`, -1 unknown) and their `scores` (0..max_score).

        On the cache's state the entries are rows of a table by node index, so that one fancy index picks the
        whole answer (no Python-level loop over the names); a name the cache does not know, or a cluster of
        nodes the scheduler sent, takes the entries by name.
        """
        if cluster is self.cache.cluster() and len(idx) and idx.min() >= 0:
            if self._table_of is not cluster:
                self._table_of = cluster
                self._table = np.empty((cluster.num_nodes, self.max_score + 1), dtype=object)
                self._filled = np.zeros(cluster.num_nodes, dtype=bool)
            missing = np.flatnonzero(~self._filled[idx])
            if len(missing):  # the first requests that name these nodes
                for j in np.unique(idx[missing]).tolist():
                    self._table[j] = self._entry(cluster.node_names[j])
                self._filled[idx[missing]] = True
            return b"[" + b",".join(self._table[idx, scores].tolist()) + b"]"
        return b"[" + b",".join(map(getitem, map(self._entry, names), scores.tolist())) + b"]"

    def _respond(self, verb: str, t0: float, body: bytes, status: int = 200, error: bool = False) -> Reply:
        elapsed = time.perf_counter() - t0
        self.metrics.observe(verb, elapsed, error)
        return Reply(status, body, f"app;dur={elapsed * 1000:.3f}")

    def _bad(self, verb: str, t0: float, message: str) -> Reply:
        """400 in the verb's upstream result type: an ExtenderFilterResult with ``Error`` (filter), else ``{Error}``."""
        log.info("%s: 400: %s", verb, message)
        body: dict[str, Any] = {"Error": message}
        if verb == "filter":
            body = {"Nodes": None, "NodeNames": None, "FailedNodes": {}, "FailedAndUnresolvableNodes": {}, **body}
        return self._respond(verb, t0, json.dumps(body).encode(), 400, True)

    def _unreadable(self, verb: str, t0: float, exc: Exception) -> Reply:
        """400 for a request whose Pod or Nodes could not be converted (an input podgym's parser let through)."""
        if isinstance(exc, KubeObjectError):
            return self._bad(verb, t0, str(exc))
        log.exception("%s: the request's Pod or Nodes could not be converted", verb)
        return self._bad(verb, t0, f"cannot read the Pod or Nodes: {type(exc).__name__}: {exc}")

    def _resolve(self, pod_obj: dict[str, Any], names: list[str] | None, items: list[dict[str, Any]] | None):
        """(cluster, vector, pod request, node names, indices with -1 for unknown names); hold the lock."""
        cache = self.cache
        pod = cache.pod_request(pod_obj)  # KubeObjectError for a malformed pod; adds a missing column
        if items is None:
            assert names is not None
            snap = cache.snapshot()
            index = snap.cluster.node_index
            try:
                found = np.fromiter(map(index.__getitem__, names), dtype=np.int64, count=len(names))
            except KeyError:  # a name the cache does not know: -1
                found = np.array([index.get(n, -1) for n in names], dtype=np.int64)
            return snap.cluster, snap.vector, pod, names, found
        nodes = parse_nodes(items)
        cluster, vector, idx = cache.cluster_for(nodes)
        if cluster is not cache.cluster():
            pod = cache.pod_request(pod_obj, cluster)
        return cluster, vector, pod, [n.name for n in nodes], idx

    # -- verbs: a request body in, a Reply out (t0: when the request arrived, for Server-Timing and the metrics)
    def prioritize(self, body: bytes, t0: float) -> Reply:
        try:
            pod_obj, names, items = parse_args(body)
        except BadRequest as exc:
            return self._bad("prioritize", t0, str(exc))
        error = False
        with self.cache.lock:
            try:
                cluster, _, pod, names, idx = self._resolve(pod_obj, names, items)
            except Exception as exc:  # any failure to convert the input is the input's: 400, never 500
                return self._unreadable("prioritize", t0, exc)
            scores = np.zeros(len(idx), dtype=np.int64)
            known = idx >= 0
            try:
                if len(idx) and known.all():  # every node known (the usual case): no masking
                    raw = self.host.score(cluster, pod, idx)
                    if len(raw) != len(idx):
                        raise ValueError(f"the scorer returned {len(raw)} scores for {len(idx)} nodes")
                    scores = extender_scores(raw, self.max_score, self.score_mapping, self.score_range)
                elif known.any():
                    raw = self.host.score(cluster, pod, idx[known])
                    if len(raw) != int(known.sum()):
                        raise ValueError(f"the scorer returned {len(raw)} scores for {int(known.sum())} nodes")
                    scores[known] = extender_scores(raw, self.max_score, self.score_mapping, self.score_range)
            except Exception:
                log.exception("prioritize: scoring pod %s failed; answering neutral scores (0)", pod.name)
                scores[:] = 0
                error = True
            answer = self._encode(cluster, names, idx, scores)
        return self._respond("prioritize", t0, answer, error=error)

    def filter(self, body: bytes, t0: float) -> Reply:
        try:
            pod_obj, names, items = parse_args(body)
        except BadRequest as exc:
            return self._bad("filter", t0, str(exc))
        by_name = items is not None
        with self.cache.lock:
            try:
                cluster, vector, pod, names, idx = self._resolve(pod_obj, names, items)
            except Exception as exc:  # any failure to convert the input is the input's: 400, never 500
                return self._unreadable("filter", t0, exc)
            try:
                failed: dict[str, str] = {}
                unresolvable: dict[str, str] = {}
                known = idx >= 0
                ok = np.zeros(len(idx), dtype=bool)
                ok[known] = vector.filter(cluster, pod)[idx[known]]
                if not ok[known].all():
                    statuses = vector.filter_statuses(cluster, pod)
                    for k in np.flatnonzero(known & ~ok):
                        status = statuses[int(idx[k])]
                        if status is None:  # cannot happen: filter and filter_statuses agree
                            raise RuntimeError(f"node {names[k]}: filter and filter_statuses disagree")
                        target = unresolvable if status.code == UNSCHEDULABLE_AND_UNRESOLVABLE else failed
                        target[names[k]] = status.message
                for k in np.flatnonzero(~known):
                    failed[names[k]] = UNKNOWN_NODE
                passing = [names[k] for k in np.flatnonzero(ok)]
                result: dict[str, Any] = {
                    "Nodes": None,
                    "NodeNames": passing,
                    "FailedNodes": failed,
                    "FailedAndUnresolvableNodes": unresolvable,
                    "Error": "",
                }
                if by_name:
                    assert items is not None
                    result["Nodes"] = {"metadata": {}, "items": [items[k] for k in np.flatnonzero(ok)]}
                    result["NodeNames"] = None
                error = False
            except Exception as exc:
                log.exception("filter: pod %s failed", pod.name)
                result = {
                    "Nodes": None,
                    "NodeNames": None,
                    "FailedNodes": {},
                    "FailedAndUnresolvableNodes": {},
                    "Error": f"podgym extender: {type(exc).__name__}: {exc}",
                }
                error = True
        return self._respond("filter", t0, json.dumps(result, separators=(",", ":")).encode(), error=error)

    async def healthz(self, request: Request) -> Response:
        c = self.cache
        body = {
            "status": "ok" if c.synced else "syncing",
            "scorer": self.host.name,
            "nodes": c.num_nodes,
            "pods": c.num_pods,
            "pending": c.num_pending,
            "synced": c.synced,
        }
        return Response(json.dumps(body).encode(), 200 if c.synced else 503, media_type=JSON)

    async def metrics_text(self, request: Request) -> Response:
        return Response(self.metrics.render(self.cache).encode(), media_type="text/plain; version=0.0.4; charset=utf-8")

    # -- the cache API (tests and simulations)
    def cache_state(self, body: bytes, t0: float) -> Reply:
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise BadRequest('expected {"nodes": [...], "pods": [...]}')
            self.cache.set_state(_object_list(data, "nodes"), _object_list(data, "pods"))
        except Exception as exc:  # input it cannot apply: 400 (KubeObjectError, JSONDecodeError, a wrong type...)
            return Reply(400, json.dumps({"Error": str(exc)}).encode())
        return Reply(200, json.dumps({"version": self.cache.version}).encode())

    def cache_events(self, body: bytes, t0: float) -> Reply:
        try:
            data = json.loads(body)
            events = data.get("events") if isinstance(data, dict) else data
            if not isinstance(events, list):
                raise BadRequest('expected {"events": [{"type": ..., "object": ...}, ...]}')
            for event in events:
                self.cache.apply_event(event)
        except Exception as exc:  # input it cannot apply: 400, never 500
            return Reply(400, json.dumps({"Error": str(exc)}).encode())
        timing = f"app;dur={(time.perf_counter() - t0) * 1000:.3f}"
        return Reply(200, json.dumps({"version": self.cache.version}).encode(), timing)


Handler = Callable[[bytes, float], Reply]


def _endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """`handler` as a Starlette endpoint."""

    async def endpoint(request: Request) -> Response:
        t0 = time.perf_counter()
        return handler(await request.body(), t0).response()

    return endpoint


class ExtenderApp(FastAPI):
    """The extender's FastAPI app, whose ASGI entry answers a POST to a hot route itself.

    A hot route is a path ending in one of `hot`'s suffixes (``/prioritize``: ``/prioritize`` or
    ``/{prefix:path}/prioritize``, the routes the app also declares); its handler gets the body and the reply goes
    out as the declared route's would, without the middleware stack, the router and the Request and Response
    objects on the way (a few tens of microseconds a request). Anything else goes through FastAPI.
    """

    def __init__(self, hot: Mapping[str, Handler] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.hot = dict(hot or {})

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path = scope["path"]
            for suffix, handler in self.hot.items():
                if path.endswith(suffix):
                    await self._answer(handler, receive, send)
                    return
        await super().__call__(scope, receive, send)

    @staticmethod
    async def _answer(handler: Handler, receive: Any, send: Any) -> None:
        t0 = time.perf_counter()
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        try:
            reply = handler(b"".join(chunks), t0)
        except Exception:  # as Starlette's ServerErrorMiddleware: a 500, and the traceback in the log
            log.exception("unhandled error in the extender's handler")
            reply = Reply(500, b"Internal Server Error")
            headers = [(b"content-length", b"21"), (b"content-type", b"text/plain; charset=utf-8")]
        else:
            headers = [(b"content-length", b"%d" % len(reply.body)), (b"content-type", JSON.encode())]
            if reply.timing is not None:
                headers.append((b"server-timing", reply.timing.encode()))
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": reply.body})


def create_app(
    scorer: Any,
    cache: ClusterCache | None = None,
    *,
    max_score: int = MAX_EXTENDER_PRIORITY,
    cache_api: bool = False,
    score_mapping: str = "auto",
) -> FastAPI:
    """The extender as an ASGI app: `scorer` (a NodeScorer: OnnxPolicy, a heuristic) over `cache`.

    `max_score` is the top of the prioritize scale (MaxExtenderPriority, 10, unless the scheduler's
    configuration is known to expect another range: kube-scheduler does not clamp extender scores);
    `score_mapping` how raw scores become 0..max_score (``extender_scores``: auto, linear, minmax, rank);
    `cache_api` adds the routes that feed the cache by hand (module doc).
    """
    cache = cache or ClusterCache()
    ext = Extender(scorer, cache, max_score, score_mapping)
    hot: dict[str, Handler] = {"filter": ext.filter, "prioritize": ext.prioritize}
    if cache_api:
        hot.update({"cache/state": ext.cache_state, "cache/events": ext.cache_events})
    app = ExtenderApp(
        {f"/{path}": handler for path, handler in hot.items()},
        title="podgym scheduler extender",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.extender = ext
    for path, handler in hot.items():
        app.add_route(f"/{path}", _endpoint(handler), methods=["POST"])
        app.add_route(f"/{{prefix:path}}/{path}", _endpoint(handler), methods=["POST"])
    schema = json.dumps(openapi_schema(cache_api)).encode()

    async def openapi(request: Request) -> Response:
        return Response(schema, media_type=JSON)

    app.add_route("/openapi.json", openapi, methods=["GET"])
    app.add_route("/healthz", ext.healthz, methods=["GET"])
    app.add_route("/metrics", ext.metrics_text, methods=["GET"])
    return app


__all__ = [
    "MAX_EXTENDER_PRIORITY",
    "SCORE_MAPPINGS",
    "Extender",
    "ExtenderApp",
    "Metrics",
    "Reply",
    "ScorerHost",
    "create_app",
    "extender_scores",
    "parse_args",
]


if __name__ == "__main__":  # the server's one entry point is plugin.serve; this module only defines the app
    import sys

    from podgym.plugin.serve import main

    sys.exit(main())
