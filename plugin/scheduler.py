"""A standalone secondary scheduler: podgym's policy places the pods that ask for it, no kube-scheduler involved.

``SecondaryScheduler(api, scorer)`` takes a ``kubernetes.client.CoreV1Api`` and a node scorer (an
``OnnxPolicy`` or any ``policies.make_policy`` heuristic) and runs kube-scheduler's cycle with podgym's
semantics (``envs.kube``, vectorised by ``envs.scheduling.VectorProfile``, the filters the simulator uses):

* **Watches** three streams, list then watch as client-go's reflector does (relist on 410 Gone):
  nodes; bound pods (``spec.nodeName!=``, terminal pods excluded); and the pods addressed to it
  (``spec.schedulerName=<name>,spec.nodeName=``). Pods with scheduling gates or a deletion timestamp
  wait. All events are applied by one thread.
* **Keeps** the nodes and the bound pods of every scheduler in ``plugin.cache.ClusterCache``, the cache the
  extender uses, so that both deployments account the cluster the same way: its ``ClusterState`` (nodes
  in name order) follows bound pods in place and is rebuilt when what scheduling reads of a node changes.
  A pod it binds is accounted at once (``ClusterCache.assume``), before the watch reports it, so the next
  pod sees the resources it uses. What only a scheduler has stays here: the queue of pending pods, the
  pods bound moments ago (kept across a relist that does not show them yet), the round-robin start.
* **Filters** with the profile's Filter plugins (default: kube-scheduler v1.35's default profile, or
  ``--config`` KubeSchedulerConfiguration), looks for ``scorer.num_to_find`` feasible nodes from a
  round-robin start as kube-scheduler does (``envs.simulator.sample_candidates``), **scores** them with the scorer,
  and takes the highest score. **Ties**: uniformly at random from a seeded RNG, the same stream the
  simulator uses for the same seed (``tie_break="random"``, default, kube-scheduler's selectHost), or
  the lowest node name (``tie_break="name"``).
* **Binds** with ``POST /api/v1/namespaces/{ns}/pods/{name}/binding`` (``create_namespaced_pod_binding``)
  and ``_preload_content=False``: the client cannot deserialise the Status the server answers into a
  V1Binding (kubernetes-client/python#547, #825: "Invalid value for `target`, must not be None"; the
  legacy namespaced ``bindings`` endpoint has the same problem). A 409 Conflict is retried with
  exponential backoff (0.2 s, doubling, 5 attempts), unless the message or a fresh GET of the pod says it
  is already assigned (another scheduler won); 429, 5xx and connection errors are retried too.
* **Records** a core/v1 Event on the pod: ``Scheduled`` ("Successfully assigned ns/pod to node") or
  ``FailedScheduling`` (Warning) with upstream's FitError message, recorded again only when it changes.
* **Retries** an unschedulable pod when a node is added or changes, when a bound pod is deleted or
  finishes, when the pod itself changes, and every 5 minutes (PodMaxInUnschedulablePodsDuration).
* **Preempts** when the profile enables DefaultPreemption and no node fits: ``envs.kube.preempt`` on the cached
  nodes and pods (PodDisruptionBudgets listed through ``policy_api``, a PolicyV1Api) chooses the node and the
  victims; the victims are deleted (a ``Preempted`` Event each) and the pod's ``status.nominatedNodeName`` is
  set; the pod is retried when the deletions arrive.

The FitError message follows ``pkg/scheduler/framework/types.go`` ``(*FitError).Error()`` (v1.35):
``"0/%v nodes are available:"``, then, when a PreFilter plugin rejected the pod,
``" <PreFilterMsg>."``; otherwise every reason of every node's Status is counted, the strings
``"<count> <reason>"`` are sorted (Go ``sort.Strings``: byte order, so "10 x" sorts before "2 y"), joined
with ", " and appended as ``" <joined>."``, then DefaultPreemption's message when it does not help. The
Event message is cut to 1024 bytes with a " ..." suffix (truncateMessage,
NoteLengthLimit). With no nodes at all the message is upstream's ErrNoNodesAvailable, "no nodes available
to schedule pods".

PodTopologySpread and InterPodAffinity read the labels, namespaces and (anti-)affinity terms of the bound pods,
which the cache keeps (``ClusterState.bound_pods``); Namespace objects are not watched, so a namespaceSelector sees
only each namespace's ``kubernetes.io/metadata.name`` label. A pod rejected by them is retried when a bound pod is
deleted or finishes and by the periodic flush (a bind elsewhere that would let it spread is not a trigger).

Not done: pod status conditions (PodScheduled=False), leader election (run one replica), volume filters (not
modelled by envs.kube; see the README).

    python -m podgym.plugin.scheduler --model policy.onnx [--scheduler-name podgym-scheduler] [--in-cluster]
    python -m podgym.plugin.scheduler --policy kube-default --kubeconfig ~/.kube/config
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import queue
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np

import podgym.envs.kube as kube
from podgym.envs.cluster import ClusterState, PodRequest
from podgym.envs.kube.errors import KubeObjectError
from podgym.envs.kube.framework import NO_NODES_AVAILABLE as NO_NODES_AVAILABLE  # upstream ErrNoNodesAvailable
from podgym.envs.kube.framework import SKIP, Status, fit_error_message
from podgym.envs.kube.objects import parse_pod
from podgym.envs.kube.profile import Profile, default_profile
from podgym.envs.scheduling import VectorProfile
from podgym.envs.simulator import sample_candidates
from podgym.plugin.cache import ClusterCache, ClusterView

log = logging.getLogger("podgym.scheduler")

DEFAULT_SCHEDULER_NAME = "podgym-scheduler"
NOTE_LENGTH_LIMIT = 1024  # k8s.io/apimachinery validation.NoteLengthLimit
MAX_IN_UNSCHEDULABLE_S = 300.0  # DefaultPodMaxInUnschedulablePodsDuration
BOUND_SELECTOR = "spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed"
RETRYABLE_STATUS = (409, 429, 500, 502, 503, 504)
ASSUMED_TTL_S = 30.0  # how long a pod this scheduler bound is kept across a relist that does not show it yet
LIST_PAGE = 500


# ---- small helpers on Kubernetes JSON ------------------------------------------------------------------------


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("spec") or {}


def pod_uid(pod: Mapping[str, Any]) -> str:
    meta = _meta(pod)
    return meta.get("uid") or f"{meta.get('namespace', 'default')}/{meta.get('name', '')}"


def pod_ref(pod: Mapping[str, Any]) -> str:
    meta = _meta(pod)
    return f"{meta.get('namespace', 'default')}/{meta.get('name', '')}"


def _is_terminal(pod: Mapping[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def _pod_key(pod: Mapping[str, Any]) -> str:
    """What scheduling reads of a Pod (its spec, labels and annotations)."""
    meta = _meta(pod)
    return json.dumps([_spec(pod), meta.get("labels") or {}, meta.get("annotations") or {}], sort_keys=True)


def binding_body(name: str, namespace: str, node: str) -> dict[str, Any]:
    """The Binding a scheduler POSTs to pods/{name}/binding."""
    return {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": name, "namespace": namespace},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node},
    }


def truncate_message(message: str, limit: int = NOTE_LENGTH_LIMIT) -> str:
    """Upstream truncateMessage: at most `limit` bytes, cut with a " ..." suffix."""
    data = message.encode()
    if len(data) <= limit:
        return message
    suffix = " ..."
    return data[: limit - len(suffix)].decode(errors="ignore") + suffix


def _now_rfc3339() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- the scheduler -------------------------------------------------------------------------------------------


class _ScorerListener:
    """Connects the scorer to the cache: ``reset(view)`` after each rebuild, then every bind and unbind."""

    def __init__(self, scorer: Any):
        self.scorer = scorer

    def on_reset(self, view: ClusterView) -> None:
        if hasattr(self.scorer, "reset"):
            self.scorer.reset(view)

    def on_bind(self, cluster: ClusterState, node: int, pod: PodRequest, gpus: tuple[int, ...]) -> None:
        if hasattr(self.scorer, "on_bind"):
            self.scorer.on_bind(cluster, node, pod, gpus)

    def on_unbind(self, cluster: ClusterState, node: int, pod: PodRequest, gpus: tuple[int, ...]) -> None:
        if hasattr(self.scorer, "on_unbind"):
            self.scorer.on_unbind(cluster, node, pod, gpus)


def _bound_pods(pods: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The pods of a relist that hold resources: bound, not terminal, and readable (a malformed one is logged)."""
    out = []
    for p in pods:
        if not _spec(p).get("nodeName") or _is_terminal(p):
            continue
        try:
            parse_pod(p)
        except KubeObjectError as exc:
            log.warning("ignoring bound pod %s: %s", pod_ref(p), exc)
            continue
        out.append(p)
    return out


@dataclass(frozen=True)
class Outcome:
    """One scheduling attempt: the node the pod was bound to, or why not."""

    pod: str  # namespace/name
    node: str | None
    message: str = ""
    bind_attempts: int = 0


class SecondaryScheduler:
    """Schedules the pods whose ``spec.schedulerName`` is `scheduler_name` with `scorer` (see the module doc)."""

    def __init__(
        self,
        api: Any,
        scorer: Any,
        scheduler_name: str = DEFAULT_SCHEDULER_NAME,
        profile: Profile | None = None,
        *,
        seed: int = 0,
        tie_break: str = "random",
        bind_attempts: int = 5,
        backoff_s: float = 0.2,
        max_backoff_s: float = 5.0,
        watch_timeout_s: int = 300,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        instance: str | None = None,
        policy_api: Any = None,
    ):
        if tie_break not in ("random", "name"):
            raise ValueError(f"tie_break must be 'random' or 'name', got {tie_break!r}")
        self.api = api
        self.scorer = scorer
        self.scheduler_name = scheduler_name
        self.profile = profile or default_profile()
        self.seed = seed
        self.tie_break = tie_break
        # The simulator's tie-break stream for the same seed (Simulator.reset: SeedSequence(seed).spawn(4)[0]).
        self.rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(4)[0])
        self.bind_attempts = bind_attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.watch_timeout_s = watch_timeout_s
        self._sleep = sleep
        self._clock = clock
        self.instance = instance or os.environ.get("POD_NAME") or socket.gethostname()
        self.pending: dict[str, dict[str, Any]] = {}  # uid -> pod waiting for this scheduler
        self.cache = ClusterCache(self.profile, seed=seed, pending=lambda: len(self.pending), sort_nodes=True)
        self.cache.listeners.append(_ScorerListener(scorer))
        self.next_start_index = 0  # kube-scheduler's round-robin start (sample_candidates advances it)
        self._pending_keys: dict[str, str] = {}
        self._order: dict[str, tuple[int, str, int]] = {}
        self._seq = 0
        self.unschedulable: dict[str, float] = {}  # uid -> since (clock)
        self._last_failure: dict[str, str] = {}
        self._assumed: dict[str, tuple[float, dict[str, Any]]] = {}
        self.stats = {
            "scheduled": 0,
            "failed": 0,
            "bind_conflicts": 0,
            "bind_errors": 0,
            "preemptions": 0,
            "preemption_victims": 0,
        }
        # PodDisruptionBudgets for preemption come from a PolicyV1Api (None: preemption honours none).
        self.policy_api = policy_api
        # The simulator's stream for the dry run's start (Simulator.reset: SeedSequence(seed).spawn(4)[3]).
        self.preempt_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(4)[3])
        self.pending_selector = (
            f"spec.schedulerName={scheduler_name},spec.nodeName=,status.phase!=Succeeded,status.phase!=Failed"
        )

    # ---- state from the API --------------------------------------------------------------------
    @property
    def cluster(self) -> ClusterState:
        """The cache's current ClusterState."""
        return self.cache.cluster()

    def _waits_for_us(self, pod: Mapping[str, Any]) -> bool:
        spec = _spec(pod)
        return (
            spec.get("schedulerName", "default-scheduler") == self.scheduler_name
            and not spec.get("nodeName")
            and not _is_terminal(pod)
            and not _meta(pod).get("deletionTimestamp")
            and not spec.get("schedulingGates")
        )

    def _add_pending(self, pod: dict[str, Any]) -> None:
        uid = pod_uid(pod)
        if self.cache.node_of(uid):
            return  # a late event of the pending stream for a pod already bound
        key = _pod_key(pod)
        if uid not in self._order:
            priority = int(_spec(pod).get("priority") or 0)
            self._order[uid] = (-priority, str(_meta(pod).get("creationTimestamp") or ""), self._seq)
            self._seq += 1
        elif self._pending_keys.get(uid) != key:
            self.unschedulable.pop(uid, None)  # the pod changed: try it again
        self.pending[uid], self._pending_keys[uid] = pod, key

    def _drop_pending(self, uid: str) -> None:
        self.pending.pop(uid, None)
        self._pending_keys.pop(uid, None)
        self._order.pop(uid, None)
        self.unschedulable.pop(uid, None)
        self._last_failure.pop(uid, None)

    def _activate_all(self) -> None:
        self.unschedulable.clear()

    def handle(self, stream: str, event_type: str, obj: Any) -> None:
        """Apply one list (``event_type`` "SYNC", `obj` the items) or watch event of `stream`:
        "nodes", "bound" (pods with a node) or "pending" (pods addressed to this scheduler)."""
        if stream == "nodes":
            if event_type == "SYNC":
                changed = self.cache.set_nodes(obj)
            else:
                changed = self.cache.apply_node_event(event_type, obj)
            if changed:
                self._activate_all()
        elif stream == "bound":
            now = self._clock()
            if event_type == "SYNC":
                listed = {pod_uid(p) for p in obj}
                keep = [p for uid, (t, p) in self._assumed.items() if uid not in listed and now - t < ASSUMED_TTL_S]
                self._assumed = {}
                self.cache.set_pods(_bound_pods([*obj, *keep]))
                self._activate_all()
                for p in obj:
                    self._drop_pending(pod_uid(p))
                return
            uid = pod_uid(obj)
            self._assumed.pop(uid, None)
            gone = event_type == "DELETED" or not _spec(obj).get("nodeName")
            try:
                freed = self.cache.apply_pod_event("DELETED" if gone else event_type, obj)
            except KubeObjectError as exc:
                log.warning("ignoring bound pod %s: %s", pod_ref(obj), exc)
                freed = False
            if event_type != "DELETED":
                self._drop_pending(uid)  # bound (by us or by someone else): nothing left to do
            if freed:
                self._activate_all()
        elif stream == "pending":
            if event_type == "SYNC":
                items = [p for p in obj if self._waits_for_us(p)]
                uids = {pod_uid(p) for p in items}
                for uid in [u for u in self.pending if u not in uids]:
                    self._drop_pending(uid)
                for p in items:
                    self._add_pending(p)
            elif event_type == "DELETED" or not self._waits_for_us(obj):
                self._drop_pending(pod_uid(obj))
            else:
                self._add_pending(obj)
        else:
            raise ValueError(f"unknown stream {stream!r}")

    # ---- scheduling ------------------------------------------------------------------------------
    def schedule_pending(self) -> list[Outcome]:
        """One attempt for every pod in the active queue (not unschedulable), in PrioritySort order:
        priority (high first), then creationTimestamp, then the order they were seen."""
        now = self._clock()
        for uid in [u for u, since in self.unschedulable.items() if now - since >= MAX_IN_UNSCHEDULABLE_S]:
            del self.unschedulable[uid]
        active = sorted((u for u in self.pending if u not in self.unschedulable), key=self._order.__getitem__)
        outcomes = []
        for uid in active:
            pod = self.pending.get(uid)
            if pod is None:
                continue
            try:
                outcomes.append(self.schedule_one(pod))
            except Exception:  # a bug or a lost connection: this pod waits like an unschedulable one
                log.exception("cannot schedule pod %s", pod_ref(pod))
                self.unschedulable[uid] = now
        return outcomes

    def select(self, pod: dict[str, Any]) -> tuple[str | None, str, PodRequest | None]:
        """The node `pod` goes to (None: no node fits) and the FitError message; does not bind."""
        try:
            request = self.cache.pod_request(pod)
        except KubeObjectError as exc:
            return None, str(exc), None
        snapshot = self.cache.snapshot()
        cluster = snapshot.cluster
        mask = snapshot.vector.filter(cluster, request)
        n = cluster.num_nodes
        self.next_start_index = self.next_start_index % n if n else 0  # the node count may have changed
        nodes, self.next_start_index = sample_candidates(
            mask, self.scorer.num_to_find(cluster.live_count), self.next_start_index
        )
        if len(nodes) == 0:
            return None, self._failure_message(cluster, snapshot.vector, request, pod), request
        if len(nodes) == 1:
            return cluster.node_names[int(nodes[0])], "", request
        scores = np.asarray(self.scorer.score(cluster, request, nodes))
        best = np.flatnonzero(scores == scores.max())
        if len(best) == 1 or self.tie_break == "name":
            j = int(nodes[best[0]]) if len(best) == 1 else int(nodes[best].min())  # nodes are in name order
        else:
            j = int(nodes[best[int(self.rng.integers(len(best)))]])
        return cluster.node_names[j], "", request

    def _failure_message(
        self, cluster: ClusterState, vector: VectorProfile, request: PodRequest, pod: dict[str, Any]
    ) -> str:
        prefilter = ""
        try:  # a PreFilter rejection (e.g. NodeAffinity's conflicting metadata.name terms) is reported alone
            parsed = parse_pod(pod)
            for plugin in self.profile.filter_plugins:
                result = plugin.pre_filter({}, parsed, [])
                if isinstance(result, Status) and result.code != SKIP:
                    prefilter = result.message
                    break
        except Exception:  # the vectorised statuses below are the answer anyway
            log.debug("PreFilter replay failed for %s", pod_ref(pod), exc_info=True)
        statuses = vector.filter_statuses(cluster, request) if not prefilter else []
        return fit_error_message(cluster.num_nodes, statuses, prefilter)

    def schedule_one(self, pod: dict[str, Any]) -> Outcome:
        """Filter, score, bind and record an Event for one pending pod."""
        uid, ref = pod_uid(pod), pod_ref(pod)
        node, message, request = self.select(pod)
        if node is None and request is not None and self.profile.preemption is not None:
            message = self._preempt(pod, message)
        if node is None:
            self.stats["failed"] += 1
            self.unschedulable[uid] = self._clock()
            if self._last_failure.get(uid) != message:
                self._last_failure[uid] = message
                self._event(pod, "FailedScheduling", message, "Warning", "Scheduling")
            log.info("pod %s is unschedulable: %s", ref, message)
            return Outcome(ref, None, message)
        result, attempts, detail = self._bind(pod, node)
        if result == "bound":
            assert request is not None
            gpus = None
            choose = getattr(self.scorer, "choose_gpus", None)
            cluster = self.cache.cluster()
            if choose is not None and node in cluster.node_index:
                gpus = choose(cluster, cluster.node_index[node], request)
            self.cache.assume(pod, node, request, gpus)
            self._assumed[uid] = (self._clock(), {**pod, "spec": {**_spec(pod), "nodeName": node}})
            self._drop_pending(uid)
            self.stats["scheduled"] += 1
            text = f"Successfully assigned {ref} to {node}"
            self._event(pod, "Scheduled", text, "Normal", "Binding")
            log.info("%s (%d binding attempt(s))", text, attempts)
            return Outcome(ref, node, text, attempts)
        if result == "gone":  # deleted, or bound by someone else: the watch will tell
            self._drop_pending(uid)
            return Outcome(ref, None, detail, attempts)
        self.stats["bind_errors"] += 1
        self.unschedulable[uid] = self._clock()
        message = f"Binding rejected: {detail}"
        self._last_failure[uid] = message
        self._event(pod, "FailedScheduling", message, "Warning", "Scheduling")
        log.warning("pod %s: %s", ref, message)
        return Outcome(ref, None, message, attempts)

    def _list_pdbs(self) -> list[dict[str, Any]]:
        if self.policy_api is None:
            return []
        try:
            items, _ = self.list_all(self.policy_api.list_pod_disruption_budget_for_all_namespaces)
        except Exception as exc:  # preemption then honours no budget, as it would with none in the cluster
            log.warning("cannot list PodDisruptionBudgets: %s", exc)
            return []
        return items

    def _preempt(self, pod: dict[str, Any], message: str) -> str:
        """DefaultPreemption for `pod`, which fits nowhere (``kube.preempt`` on the cache's nodes and pods):
        delete the victims (each gets a ``Preempted`` Event) and set the pod's ``status.nominatedNodeName``;
        the pod is retried when the victims' deletions arrive. Returns the FailedScheduling message, with the
        PostFilter's as kube-scheduler writes it."""
        nodes = self.cache.node_objects()
        if not nodes:
            return message
        pods = [p for p in self.cache.pod_objects() if _spec(p).get("nodeName")]
        offset = int(self.preempt_rng.integers(len(nodes)))  # taken modulo the number of candidate nodes
        try:
            result = kube.preempt(pod, nodes, pods, pdbs=self._list_pdbs(), profile=self.profile, offset=offset)
        except KubeObjectError as exc:  # e.g. the pod fits by kube's plugins but not by its GPU devices
            log.info("no preemption for %s: %s", pod_ref(pod), exc)
            return message
        if result.nominated_node is None:
            return f"{message} {result.message}." if result.message else message
        meta = _meta(pod)
        for victim in result.victims:
            try:
                _release(self.api.delete_namespaced_pod(victim.name, victim.namespace, _preload_content=False))
            except Exception as exc:
                if getattr(exc, "status", None) != 404:
                    log.warning("cannot delete preemption victim %s: %s", victim.ref, exc)
                    continue
            self.stats["preemption_victims"] += 1
            text = f"Preempted by pod {meta.get('uid', '')} on node {result.nominated_node}"
            self._event(victim.raw, "Preempted", text, "Normal", "Preempting")
        try:
            body = {"status": {"nominatedNodeName": result.nominated_node}}
            _release(
                self.api.patch_namespaced_pod_status(
                    meta.get("name", ""), meta.get("namespace", "default"), body, _preload_content=False
                )
            )
        except Exception as exc:
            log.warning("cannot nominate %s to %s: %s", pod_ref(pod), result.nominated_node, exc)
        self.stats["preemptions"] += 1
        log.info("pod %s preempts %d pod(s) on %s", pod_ref(pod), len(result.victims), result.nominated_node)
        return message

    def _bind(self, pod: dict[str, Any], node: str) -> tuple[str, int, str]:
        """POST the Binding; ("bound" | "gone" | "error", attempts, detail). Retries 409/429/5xx with backoff."""
        meta = _meta(pod)
        name, namespace = meta.get("name", ""), meta.get("namespace", "default")
        body = binding_body(name, namespace, node)
        detail = ""
        for attempt in range(1, self.bind_attempts + 1):
            try:
                resp = self.api.create_namespaced_pod_binding(name, namespace, body, _preload_content=False)
                _release(resp)
                return "bound", attempt, ""
            except Exception as exc:  # ApiException, or a connection error (no status: retried)
                status = getattr(exc, "status", None)
                detail = _api_error_detail(exc) if status is not None else str(exc)
                if status == 404:
                    return "gone", attempt, detail
                if status == 409:
                    self.stats["bind_conflicts"] += 1
                    if "already assigned" in detail or self._bound_elsewhere(name, namespace):
                        return "gone", attempt, detail
                if status is not None and status not in RETRYABLE_STATUS:
                    return "error", attempt, detail
            if attempt < self.bind_attempts:
                self._sleep(min(self.backoff_s * 2 ** (attempt - 1), self.max_backoff_s))
        return "error", self.bind_attempts, f"{detail} (after {self.bind_attempts} attempts)"

    def _bound_elsewhere(self, name: str, namespace: str) -> bool:
        """After a 409: whether the pod is gone or already has a node (then retrying cannot succeed)."""
        try:
            resp = self.api.read_namespaced_pod(name, namespace, _preload_content=False)
            current = json.loads(resp.data)
            _release(resp)
        except Exception as exc:
            return getattr(exc, "status", None) == 404
        return bool(_spec(current).get("nodeName"))

    def _event(self, pod: Mapping[str, Any], reason: str, message: str, event_type: str, action: str) -> None:
        """Record a core/v1 Event on the pod, as kube-scheduler's recorder does; failures are only logged."""
        meta = _meta(pod)
        namespace = meta.get("namespace", "default")
        now = _now_rfc3339()
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{meta.get('name', '')}.{time.time_ns():x}", "namespace": namespace},
            "involvedObject": {
                "apiVersion": "v1",
                "kind": "Pod",
                "name": meta.get("name", ""),
                "namespace": namespace,
                "uid": meta.get("uid", ""),
                "resourceVersion": meta.get("resourceVersion", ""),
            },
            "reason": reason,
            "message": truncate_message(message),
            "type": event_type,
            "action": action,
            "source": {"component": self.scheduler_name},
            "reportingComponent": self.scheduler_name,
            "reportingInstance": self.instance,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        try:
            _release(self.api.create_namespaced_event(namespace, body, _preload_content=False))
        except Exception as exc:
            log.warning("cannot record event %s for %s: %s", reason, pod_ref(pod), exc)

    # ---- list/watch and the main loop ------------------------------------------------------------
    def streams(self) -> dict[str, tuple[Callable[..., Any], dict[str, Any]]]:
        return {
            "nodes": (self.api.list_node, {}),
            "bound": (self.api.list_pod_for_all_namespaces, {"field_selector": BOUND_SELECTOR}),
            "pending": (self.api.list_pod_for_all_namespaces, {"field_selector": self.pending_selector}),
        }

    def list_all(self, func: Callable[..., Any], **kwargs: Any) -> tuple[list[dict[str, Any]], str]:
        """All items of a list call, page by page; (items, resourceVersion)."""
        items: list[dict[str, Any]] = []
        token = None
        while True:
            extra = {"_continue": token} if token else {}
            resp = func(limit=LIST_PAGE, _preload_content=False, _request_timeout=60, **kwargs, **extra)
            data = json.loads(resp.data)
            _release(resp)
            items.extend(data.get("items") or [])
            meta = data.get("metadata") or {}
            token = meta.get("continue")
            if not token:
                return items, str(meta.get("resourceVersion") or "")

    def watch(self, func: Callable[..., Any], resource_version: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """The events of one watch request (it ends at the server's timeout)."""
        resp = func(
            watch=True,
            resource_version=resource_version,
            allow_watch_bookmarks=True,
            timeout_seconds=self.watch_timeout_s,
            _preload_content=False,
            _request_timeout=(10, self.watch_timeout_s + 30),
            **kwargs,
        )
        try:
            for line in _lines(resp):
                yield json.loads(line)
        finally:
            close = getattr(resp, "close", None)
            if close is not None:
                close()
            _release(resp)

    def _reflect(self, stream: str, out: queue.Queue, stop: threading.Event) -> None:
        """list, then watch from the list's resourceVersion, forever; relist on 410 Gone or an error."""
        func, kwargs = self.streams()[stream]
        backoff = 1.0
        while not stop.is_set():
            try:
                items, rv = self.list_all(func, **kwargs)
                out.put((stream, "SYNC", items))
                backoff = 1.0
                relist = False
                while not stop.is_set() and not relist:
                    for event in self.watch(func, rv, **kwargs):
                        kind, obj = event.get("type"), event.get("object") or {}
                        if kind == "ERROR":
                            if obj.get("code") == 410:
                                relist = True
                                break
                            raise RuntimeError(f"watch error: {obj.get('message')}")
                        rv = str(_meta(obj).get("resourceVersion") or rv)
                        if kind != "BOOKMARK":
                            out.put((stream, kind, obj))
                        if stop.is_set():
                            break
            except Exception as exc:
                if getattr(exc, "status", None) == 410:
                    continue
                log.warning("%s list/watch failed: %s; retrying in %.0fs", stream, exc, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)

    def run(self, stop: threading.Event | None = None) -> None:
        """Watch and schedule until `stop` is set (or forever)."""
        stop = stop or threading.Event()
        events: queue.Queue = queue.Queue()
        names = list(self.streams())
        for name in names:
            threading.Thread(target=self._reflect, args=(name, events, stop), name=f"watch-{name}", daemon=True).start()
        synced: set[str] = set()
        log.info("scheduler %s started (scorer %s)", self.scheduler_name, getattr(self.scorer, "name", self.scorer))
        while not stop.is_set():
            batch = []
            try:
                batch.append(events.get(timeout=1.0))
                while True:
                    batch.append(events.get_nowait())
            except queue.Empty:
                pass
            for stream, kind, obj in batch:
                try:
                    self.handle(stream, kind, obj)
                except Exception:
                    log.exception("cannot apply %s %s event", stream, kind)
                if kind == "SYNC":
                    synced.add(stream)
            if len(synced) == len(names) and not stop.is_set():
                self.schedule_pending()


def _release(resp: Any) -> None:
    release = getattr(resp, "release_conn", None)
    if release is not None:
        release()


def _api_error_detail(exc: Any) -> str:
    """The Status message of an ApiException (its reason when the body is not a Status)."""
    body = getattr(exc, "body", None)
    if body:
        try:
            message = json.loads(body).get("message")
            if message:
                return str(message)
        except (ValueError, AttributeError):
            pass
    return f"{getattr(exc, 'status', '')} {getattr(exc, 'reason', '') or ''}".strip()


def _lines(resp: Any) -> Iterator[str]:
    """Lines of a streamed response (a watch sends one JSON event per line)."""
    buffer = b""
    for chunk in resp.stream(amt=None, decode_content=False):
        buffer += chunk.encode() if isinstance(chunk, str) else chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            if line.strip():
                yield line.decode(errors="replace")
    if buffer.strip():
        yield buffer.decode(errors="replace")


# ---- command line ---------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m podgym.plugin.scheduler", description=__doc__.split("\n")[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", help="an exported policy (policy.onnx from export.py)")
    which.add_argument("--policy", help="a heuristic policy by name (policies.HEURISTICS), e.g. kube-default")
    parser.add_argument("--scheduler-name", default=DEFAULT_SCHEDULER_NAME, help="the spec.schedulerName to serve")
    parser.add_argument("--config", help="a KubeSchedulerConfiguration whose profile gives the Filter plugins")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--kubeconfig", help="a kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    where.add_argument("--in-cluster", action="store_true", help="use the pod's service account")
    parser.add_argument("--seed", type=int, default=0, help="seed of the tie-break RNG")
    parser.add_argument("--tie-break", choices=("random", "name"), default="random")
    parser.add_argument("--log-level", default="INFO")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from kubernetes import client, config

    from podgym.plugin.serve import load_scorer

    try:
        scorer = load_scorer(args.model, args.policy)
        profile = None
        if args.config:
            from podgym.envs.kube.profile import load_profile

            profile = load_profile(args.config, scheduler_name=args.scheduler_name)
    except (KubeObjectError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        if args.in_cluster:
            config.load_incluster_config()
        else:
            config.load_kube_config(config_file=args.kubeconfig)
    except (config.ConfigException, OSError) as exc:
        print(f"error: cannot load the Kubernetes client configuration: {exc}", file=sys.stderr)
        return 2
    scheduler = SecondaryScheduler(
        client.CoreV1Api(),
        scorer,
        args.scheduler_name,
        profile,
        seed=args.seed,
        tie_break=args.tie_break,
        policy_api=client.PolicyV1Api(),
    )
    with contextlib.suppress(KeyboardInterrupt):
        scheduler.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
