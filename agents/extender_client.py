"""A running scheduler extender as a simulator policy: scoring delegated over HTTP, exactly as kube-scheduler does.

``ExtenderPolicy(url)`` is a NodeScorer (``envs.policy``). For each decision it POSTs ``{url}/prioritize`` with
the ExtenderArgs kube-scheduler would send to a ``nodeCacheCapable`` extender: ``{"Pod": <the pod's dict,
Workload.pod_object>, "Nodes": null, "NodeNames": [the candidate nodes]}``, and uses the HostPriorityList
it gets back as the scores (integers 0..10). So a policy served by ``plugin.serve`` can be evaluated in the
simulator, and the parity test proves the served policy decides as the in-process one.

Mirroring the cluster: a nodeCacheCapable extender judges node names on its own cache, which in a cluster
its watch keeps current. Here the simulator plays the apiserver, through the extender's cache API (served
with ``--cache-api`` / ``create_app(cache_api=True)``, see ``plugin.extender``): ``reset(sim)`` replaces the
cache with the simulator's nodes and bound pods (``POST /cache/state``), and the simulator's listener calls
``on_bind``/``on_unbind`` queue ADDED/DELETED watch events for the pod, sent in one ``POST /cache/events``
before the next prioritize, as the watch delivers them before the next scheduling cycle. HTTP rather than a
shared ClusterCache object: the extender under test runs unchanged, in this process or another one.

Limits: pending pods are not mirrored (the server's ``pending`` count is 0, and its clock is 0: a learned
policy's ``pending`` and ``time`` features read 0 there, see the parity test), nor are node failures or
autoscaling (the simulator's cluster must keep every node up; this raises otherwise).
"""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from podgym.envs.cluster import ClusterState, PodRequest
from podgym.envs.kube.cycle import num_feasible_nodes_to_find
from podgym.envs.workload.types import Workload


class _Http:
    """POST JSON over one keep-alive HTTP/1.1 connection (reconnects once when the server closed it)."""

    def __init__(self, url: str, timeout: float):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"extender URL must be http:// or https://, got {url!r}")
        self.https = parts.scheme == "https"
        self.host, self.port = parts.hostname or "localhost", parts.port
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        conn = cls(self.host, self.port, timeout=self.timeout)
        conn.connect()
        # http.client sends the headers and the body in two writes: without TCP_NODELAY, Nagle's algorithm holds
        # the body until the server acknowledges the headers, which it delays (~40 ms a request). Go's net/http,
        # and so kube-scheduler, sets TCP_NODELAY on every connection.
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        for attempt in (0, 1):
            if self._conn is None:
                self._conn = self._connect()
            try:
                self._conn.request("POST", self.prefix + path, body, {"Content-Type": "application/json"})
                resp = self._conn.getresponse()
                return resp.status, resp.read()
            except (ConnectionError, http.client.RemoteDisconnected, http.client.CannotSendRequest):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class _Client:
    """POST through an httpx-style client (``fastapi.testclient.TestClient``: the app in this process)."""

    def __init__(self, client: Any, url: str):
        self.client = client
        self.prefix = url.rstrip("/")

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        resp = self.client.post(self.prefix + path, content=body, headers={"Content-Type": "application/json"})
        return resp.status_code, resp.content

    def close(self) -> None:
        pass


class ExtenderPolicy:
    """A NodeScorer that asks the extender at `url` (e.g. ``http://127.0.0.1:8888/scheduler``) for the scores.

    `client`: an httpx-style client to send through instead of HTTP (then `url` is a path prefix, e.g. "").
    `sample`: look for numFeasibleNodesToFind feasible nodes as kube-scheduler does (default: every feasible
    node, as the learned policies do). `mirror`: keep the extender's cache equal to the simulator's state
    (module doc); off for an extender that watches a cluster of its own.
    """

    def __init__(
        self,
        url: str,
        name: str | None = None,
        timeout: float = 5.0,
        client: Any = None,
        sample: bool = False,
        mirror: bool = True,
    ):
        self.url = url
        self.name = name or f"extender:{url}"
        self.sample = sample
        self.mirror = mirror
        self._http: _Http | _Client = _Client(client, url) if client is not None else _Http(url, timeout)
        self._sim: Any = None
        self._pods: dict[str, tuple[Workload, int]] = {}
        self._events: list[dict[str, Any]] = []
        self.requests = 0  # prioritize calls made

    def num_to_find(self, num_nodes: int) -> int:
        return num_feasible_nodes_to_find(num_nodes) if self.sample else num_nodes

    # ---- the simulator's hooks ------------------------------------------------------------------------
    def reset(self, sim: Any) -> None:
        """Index the simulation's pods by name and, when mirroring, load its nodes and bound pods into the cache."""
        self._sim = sim
        self._pods = {}
        self._events = []
        for w in (sim.source.initial, sim.workload):
            if w is None:
                continue
            for k, name in enumerate(w.names):
                if name in self._pods:
                    raise ValueError(f"pod name {name!r} is not unique in the simulation: the cache keys pods by name")
                self._pods[name] = (w, k)
        if not self.mirror:
            return
        self._check_alive(sim.cluster)
        bound = [int(i) for i in np.flatnonzero(sim.node_of >= 0)]  # in index order, as Simulator.reset bound them
        pods = [self.pod_object(sim.request(i).name, sim.cluster.node_names[int(sim.node_of[i])]) for i in bound]
        self._post("/cache/state", {"nodes": [n.raw for n in sim.cluster.nodes], "pods": pods})

    def on_bind(self, cluster: ClusterState, node: int, pod: PodRequest, gpus: tuple[int, ...]) -> None:
        if self.mirror:
            self._events.append({"type": "ADDED", "object": self.pod_object(pod.name, cluster.node_names[node])})

    def on_unbind(self, cluster: ClusterState, node: int, pod: PodRequest, gpus: tuple[int, ...]) -> None:
        if self.mirror:
            self._events.append({"type": "DELETED", "object": self.pod_object(pod.name, cluster.node_names[node])})

    def flush(self) -> None:
        """Send the queued pod events to the extender's cache."""
        if self._events:
            events, self._events = self._events, []
            self._post("/cache/events", {"events": events})

    # ---- scoring ------------------------------------------------------------------------------------
    def score(self, cluster: ClusterState, pod: PodRequest, nodes: np.ndarray) -> np.ndarray:
        if self.mirror:
            self._check_alive(cluster)
            self.flush()
        names = [cluster.node_names[int(j)] for j in nodes]
        args = {"Pod": self.pod_object(pod.name), "Nodes": None, "NodeNames": names}
        result = json.loads(self._post("/prioritize", args))
        self.requests += 1
        by_host = {entry["Host"]: entry["Score"] for entry in result}
        return np.array([by_host.get(n, 0) for n in names], dtype=np.int64)

    # ---- helpers ------------------------------------------------------------------------------------
    def pod_object(self, name: str, node: str | None = None) -> dict[str, Any]:
        """The Pod dict of the simulation's pod `name` (Workload.pod_object), bound to `node` if given."""
        hit = self._pods.get(name)
        if hit is None:
            raise KeyError(f"pod {name!r} is not in the simulation (call reset(sim) first)")
        w, k = hit
        obj = w.pod_object(k)
        if node is not None:
            obj["spec"]["nodeName"] = node
            obj["status"] = {"phase": "Running"}
        return obj

    @staticmethod
    def _check_alive(cluster: ClusterState) -> None:
        if cluster.live_count != cluster.num_nodes:
            raise ValueError(
                "ExtenderPolicy mirrors binds only: node failures and autoscaling are not mirrored to the "
                "extender's cache; run it on a scenario whose nodes stay up"
            )

    def _post(self, path: str, payload: Any) -> bytes:
        status, body = self._http.post(path, json.dumps(payload, separators=(",", ":")).encode())
        if status != 200:
            raise RuntimeError(f"extender {self.url}{path} answered {status}: {body[:500].decode(errors='replace')}")
        return body

    def close(self) -> None:
        self._http.close()
