"""Prioritize latency and throughput of the scheduler extender at the Kubernetes scale limit.

The cache holds 5,000 nodes (scheduler_perf's node-default: 4 cpu, 32Gi, 110 pods; hostname and zone
labels) and 20,000 bound pods, loaded from files (``python -m podgym.plugin.serve --no-watch``). Each request is
what a nodeCacheCapable kube-scheduler sends: ExtenderArgs with a pending pod (three shapes, 100m/500Mi as
scheduler_perf's pod-default among them) and 500 candidate NodeNames (numFeasibleNodesToFind at 5,000
nodes), the window moving round-robin over the nodes as kube-scheduler's start index does.

Each scorer's server runs in its own process, pinned to one core (the same for all); the client (this process,
pinned to another) sends the requests one after another over one keep-alive connection per server (http.client
with TCP_NODELAY, as Go's net/http), as kube-scheduler's one-pod-at-a-time cycle does. The servers take turns in
``--rounds`` rounds (default 10) of an equal share of the requests, so that a shared machine's changing load
reaches every scorer alike. Server-side time is the handler's own, read from the ``Server-Timing`` header of every
response; requests/s is a scorer's measured requests over the time its rounds took.

One run says little on a shared machine. ``--repeat N`` makes the whole measurement N times, each with fresh
servers: the figures pool every run's requests (percentiles over all of them, requests/s over the runs' summed
time), and each run's requests/s, server p99 and whether it met both targets are listed beside them.

With ``--bind-every N`` (default 0: off, the measurement the targets are for), after every Nth request the
client binds that request's pod to the first node it scored highest (``best_host``) and deletes the oldest pod
it bound (once it has bound 50), as watch events through the server's ``/cache/events`` (``--cache-api``): in a
cluster every scheduled pod reaches the extender's cache this way. Those events count in requests/s, not in the
prioritize server times, and the ONNX policy re-encodes the nodes they change. With ``--pending N`` as well, the
same events add or delete a pending pod (a seeded walk, the same for every scorer), so that the cache's queue
holds 0..N pods and its length changes as in a live cluster; the learned policy's ``pending`` feature follows it.

Targets: p99 server time <= 1.5 ms and >= 810 requests/s (scheduler_perf's SchedulingBasic/5000Nodes_50000Pods
threshold: the extender must not slow kube-scheduler below it). Two scorers are measured: a heuristic
(``--policy``, default kube-default, the whole default profile) and an ONNX per-node scoring network
(``--model``; by default a randomly initialised one of the training default size, hidden 64, exported here
with export.py's write_policy: policy.onnx, its parts, policy.json; the server never imports torch). The
heuristic, measured in the same rounds, is the reference: each later scorer's ``requests_per_s_to_reference``
is its requests/s over the heuristic's, a ratio that a loaded machine changes less than either figure. Prints one
JSON object.

    python benchmarks/extender.py [--nodes 5000] [--candidates 500] [--bound-pods 20000] [--requests 2000]
                                  [--policy kube-default] [--model policy.onnx | --no-onnx] [--bind-every N]
                                  [--pending N] [--rounds 10] [--repeat 1]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TARGET_P99_MS = 1.5
TARGET_RPS = 810  # pods/s, scheduler_perf SchedulingBasic/5000Nodes_50000Pods
WARMUP = 200
POD_SHAPES = (("100m", "500Mi"), ("250m", "1Gi"), ("1", "2Gi"))
CORES = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
HEADERS = {"Content-Type": "application/json"}


def node(i: int) -> dict:
    alloc = {"cpu": "4", "memory": "32Gi", "pods": "110"}
    labels = {"kubernetes.io/hostname": f"node-{i}", "topology.kubernetes.io/zone": f"zone-{i % 3}"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": f"node-{i}", "labels": labels},
        "status": {"capacity": alloc, "allocatable": alloc},
    }


def pod(name: str, shape: int, node_name: str | None = None) -> dict:
    cpu, memory = POD_SHAPES[shape]
    obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "labels": {"app": f"app-{shape}"}},
        "spec": {
            "schedulerName": "default-scheduler",
            "containers": [
                {
                    "name": "pause",
                    "image": "registry.k8s.io/pause:3.10",
                    "resources": {"requests": {"cpu": cpu, "memory": memory}},
                }
            ],
        },
        "status": {"phase": "Pending"},
    }
    if node_name:
        obj["spec"]["nodeName"] = node_name
        obj["status"] = {"phase": "Running"}
    return obj


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pin(pid: int, core: int) -> None:
    """Pin `pid` (0: this process) to one of the cores we started with, when there are several."""
    if len(CORES) > 1:
        os.sched_setaffinity(pid, {CORES[core % len(CORES)]})


def connect(port: int) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def start_server(scorer: list[str], files: Path, port: int) -> subprocess.Popen:
    """`python -m podgym.plugin.serve` on its own core (pinned before exec, so every thread it starts is pinned too)."""
    cmd = [sys.executable, "-m", "podgym.plugin.serve", *scorer, "--no-watch", "--nodes", str(files / "nodes.json")]
    cmd += ["--pods", str(files / "pods.json"), "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    cmd += ["--cache-api"]
    log = open(files / f"server-{port}.log", "w+")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, preexec_fn=lambda: pin(0, 0))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"the extender exited ({proc.returncode}): {log.read()[-2000:]}")
        try:
            conn = connect(port)
            conn.request("GET", "/healthz")
            ok = conn.getresponse().status == 200
            conn.close()
            if ok:
                return proc
        except OSError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the extender did not become healthy in 300 s")


def best_host(answer: bytes, max_score: int = 10) -> str:
    """The first host with the highest score in a HostPriorityList of scores 0..max_score (the extender's default
    range, which the servers here answer in). The extender writes each entry as ``{"Host":name,"Score":s}``, so the
    first entry of each score from the top is a byte search away. The client stands for kube-scheduler, which
    decodes the answer in Go in microseconds; decoding 500 objects in Python (~100 us) would count the client's
    slowness in the extender's requests/s. An answer written otherwise is decoded."""
    for score in range(max_score, -1, -1):
        end = answer.find(b',"Score":%d}' % score)
        if end >= 0:
            return json.loads(answer[answer.rfind(b'{"Host":', 0, end) + 8 : end])
    return max(json.loads(answer), key=lambda h: h["Score"])["Host"]


class Client:
    """One keep-alive connection to one server, its measured requests and, with binds, the pods it bound."""

    def __init__(self, port: int, bodies: list[bytes], bind_every: int, pending: int = 0):
        self.port = port
        self.conn = connect(port)
        self.bodies, self.bind_every, self.pending = bodies, bind_every, pending
        self.pods = [json.loads(body)["Pod"] for body in bodies]  # each request's pod, to bind
        self.sent = 0
        self.bound: list[dict] = []
        self.queue: list[dict] = []  # pending pods of the cluster's queue (--pending)
        self.walk = random.Random(0)  # the same queue lengths for every scorer
        self.server: list[float] = []
        self.client: list[float] = []
        self.event_server: list[float] = []
        self.event_client: list[float] = []
        self.wall = 0.0

    def run(self, requests: int, measured: bool = True) -> None:
        """`requests` prioritize requests (each followed by its bind when due), timed when `measured`."""
        # A connection left idle while the other servers had their turn may have been closed by this server's
        # keep-alive timeout: each turn opens its own, before the clock starts.
        self.conn.close()
        self.conn = connect(self.port)
        start = time.perf_counter()
        for _ in range(requests):
            k = self.sent
            body = self.bodies[k % len(self.bodies)]
            server, client, answer = self._prioritize(body)
            if measured:
                self.server.append(server)
                self.client.append(client)
            if self.bind_every and k % self.bind_every == 0:
                self._bind(k, answer, measured)
            self.sent += 1
        if measured:
            self.wall += time.perf_counter() - start

    def _prioritize(self, body: bytes) -> tuple[float, float, bytes]:
        t = time.perf_counter()
        self.conn.request("POST", "/scheduler/prioritize", body, HEADERS)
        resp = self.conn.getresponse()
        data = resp.read()
        elapsed = time.perf_counter() - t
        if resp.status != 200 or not data.startswith(b'[{"Host":'):
            raise RuntimeError(f"prioritize answered {resp.status}: {data[:300]!r}")
        timing = resp.getheader("Server-Timing") or ""
        return float(timing.partition("dur=")[2]), elapsed * 1000, data

    def _bind(self, k: int, answer: bytes, measured: bool) -> None:
        """Bind request k's pod where it scored highest; delete the oldest bound one (watch events)."""
        template = self.pods[k % len(self.pods)]
        name = f"bound-{k}"
        obj = {**template, "metadata": {**template["metadata"], "name": name, "uid": f"uid-{name}"}}
        obj["spec"] = {**obj["spec"], "nodeName": best_host(answer)}
        obj["status"] = {"phase": "Running"}
        events = [{"type": "ADDED", "object": obj}]
        self.bound.append(obj)
        if len(self.bound) > 50:
            events.append({"type": "DELETED", "object": self.bound.pop(0)})
        if self.pending:  # the queue grows or shrinks by one pod, or stays, within 0..pending
            step = self.walk.choice((-1, 0, 1))
            if step > 0 and len(self.queue) < self.pending:
                self.queue.append(pod(f"queued-{k}", k % len(POD_SHAPES)))
                events.append({"type": "ADDED", "object": self.queue[-1]})
            elif step < 0 and self.queue:
                events.append({"type": "DELETED", "object": self.queue.pop(0)})
        t = time.perf_counter()
        self.conn.request("POST", "/cache/events", json.dumps({"events": events}).encode(), HEADERS)
        resp = self.conn.getresponse()
        if resp.status != 200:
            raise RuntimeError(f"/cache/events answered {resp.status}: {resp.read()[:300]!r}")
        resp.read()
        if measured:
            self.event_client.append((time.perf_counter() - t) * 1000)
            self.event_server.append(float((resp.getheader("Server-Timing") or "").partition("dur=")[2]))

    def result(self) -> dict:
        return summarize([self])


def summarize(clients: list[Client]) -> dict:
    """The figures of one scorer's measured requests over `clients` (its client of each run, pooled: percentiles
    over every request, requests/s over the runs' summed time)."""
    server = np.concatenate([c.server for c in clients])
    client = np.concatenate([c.client for c in clients])
    p50, p99 = (float(x) for x in np.percentile(server, [50, 99]))
    rps = len(server) / sum(c.wall for c in clients)
    events = {}
    if any(c.event_server for c in clients):
        events = {
            "event_server_mean_ms": round(float(np.mean(np.concatenate([c.event_server for c in clients]))), 4),
            "event_client_mean_ms": round(float(np.mean(np.concatenate([c.event_client for c in clients]))), 4),
        }
    return {
        "server_p50_ms": round(p50, 4),
        "server_p99_ms": round(p99, 4),
        "server_mean_ms": round(float(server.mean()), 4),
        "client_p50_ms": round(float(np.percentile(client, 50)), 4),
        "client_p99_ms": round(float(np.percentile(client, 99)), 4),
        "requests_per_s": round(rps, 1),
        "p99_to_target": round(p99 / TARGET_P99_MS, 3),
        "throughput_to_target": round(rps / TARGET_RPS, 3),
        "meets_targets": bool(p99 <= TARGET_P99_MS and rps >= TARGET_RPS),
        **events,
    }


def measure(clients: list[Client], requests: int, rounds: int) -> None:
    """Warm every server up, then `rounds` rounds in which each server in turn (the order reversed every other
    round) answers its share of `requests`: a change in the machine's load over the run reaches every scorer
    alike, so their ratio holds."""
    for c in clients:
        c.run(WARMUP, measured=False)
    rounds = max(1, min(rounds, requests))
    for r in range(rounds):
        share = requests * (r + 1) // rounds - requests * r // rounds
        for c in clients if r % 2 == 0 else clients[::-1]:
            c.run(share)
    for c in clients:
        c.conn.close()


def onnx_model(directory: Path) -> Path:
    """A randomly initialised scoring network of the training default size, exported as export.py does."""
    import torch as th

    sys.path.insert(0, str(REPO))
    from podgym.agents.commands.export import write_policy
    from podgym.agents.network import NodeScoringNet
    from podgym.envs.fragmentation import TypicalPods

    # The typical pods are the benchmark's pod shapes, CPU-only (on these GPU-less nodes FGD's score does not vary).
    typical = TypicalPods.from_json(
        [{"cpu_milli": m, "gpu_milli": 0, "gpus": 0, "weight": 1} for m in (100, 250, 1000)]
    )
    th.manual_seed(0)
    path, _ = write_policy(NodeScoringNet(64).eval(), directory, typical=typical)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--candidates", type=int, default=500)
    parser.add_argument("--bound-pods", type=int, default=20000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--policy", default="kube-default", help="the heuristic to serve")
    parser.add_argument("--model", help="an exported policy.onnx (default: a random network, hidden 64)")
    parser.add_argument("--no-onnx", action="store_true", help="measure the heuristic only")
    parser.add_argument("--bind-every", type=int, default=0, help="bind a scored pod after every Nth request (0: none)")
    parser.add_argument("--rounds", type=int, default=10, help="rounds the scorers take turns in (see measure)")
    parser.add_argument("--repeat", type=int, default=1, help="whole runs, each with fresh servers (see the doc)")
    parser.add_argument(
        "--pending", type=int, default=0, help="with --bind-every: a queue of 0..N pending pods in the cache (a walk)"
    )
    args = parser.parse_args()
    if args.pending and not args.bind_every:
        parser.error("--pending needs --bind-every: the queue changes with the bind's watch events")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    pin(0, 1)
    with tempfile.TemporaryDirectory() as tmp:
        files = Path(tmp)
        t0 = time.perf_counter()
        (files / "nodes.json").write_text(json.dumps({"kind": "List", "items": [node(i) for i in range(args.nodes)]}))
        bound = [pod(f"running-{k}", k % 3, f"node-{k % args.nodes}") for k in range(args.bound_pods)]
        (files / "pods.json").write_text(json.dumps({"kind": "List", "items": bound}))
        bodies = []
        for k in range(256):
            first = (k * args.candidates) % args.nodes
            names = [f"node-{(first + j) % args.nodes}" for j in range(args.candidates)]
            payload = {"Pod": pod(f"pending-{k}", k % 3), "Nodes": None, "NodeNames": names}
            bodies.append(json.dumps(payload, separators=(",", ":")).encode())
        scorers: list[tuple[str, list[str]]] = [(args.policy, ["--policy", args.policy])]
        if not args.no_onnx:
            model = Path(args.model) if args.model else onnx_model(files)
            scorers.append(
                (f"onnx:{model.name}" + ("" if args.model else " (random, hidden 64)"), ["--model", str(model)])
            )
        setup = time.perf_counter() - t0
        runs: list[list[Client]] = []  # [run][scorer]
        startups: list[float] = [0.0] * len(scorers)
        for _ in range(args.repeat):
            procs, clients = [], []
            try:
                for k, (_, flags) in enumerate(scorers):
                    port = free_port()
                    t1 = time.perf_counter()
                    procs.append(start_server(flags, files, port))
                    startups[k] = max(startups[k], time.perf_counter() - t1)
                    clients.append(Client(port, bodies, args.bind_every, args.pending))
                measure(clients, args.requests, args.rounds)
            finally:
                for proc in procs:
                    proc.terminate()
                    proc.wait(30)
            runs.append(clients)
        results = []
        for k, (name, _) in enumerate(scorers):
            result = {"scorer": name, "server_startup_s": round(startups[k], 2), **summarize([r[k] for r in runs])}
            if args.repeat > 1:  # each run's own figures: how far one run can be from the pooled one
                each = [r[k].result() for r in runs]
                result["runs_requests_per_s"] = [e["requests_per_s"] for e in each]
                result["runs_server_p99_ms"] = [e["server_p99_ms"] for e in each]
                result["runs_meeting_targets"] = sum(e["meets_targets"] for e in each)
            results.append(result)
        for r in results[1:]:
            r["requests_per_s_to_reference"] = round(r["requests_per_s"] / results[0]["requests_per_s"], 3)
    print(
        json.dumps(
            {
                "benchmark": "extender",
                "verb": "prioritize",
                "nodes": args.nodes,
                "candidates": args.candidates,
                "bound_pods": args.bound_pods,
                "requests": args.requests,
                "bind_every": args.bind_every,
                "rounds": args.rounds,
                "repeat": args.repeat,
                "pending": args.pending,
                "target_p99_ms": TARGET_P99_MS,
                "target_requests_per_s": TARGET_RPS,
                "cores": len(CORES) or os.cpu_count(),
                "setup_s": round(setup, 2),
                "reference": results[0]["scorer"],
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
