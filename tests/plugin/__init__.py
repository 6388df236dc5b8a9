"""Tests of the deployable plugin: the extender's wire format and cache, and its parity with the simulator."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn


@contextmanager
def serve(app, host: str = "127.0.0.1") -> Iterator[str]:
    """Run an ASGI app with uvicorn in a thread on a free port; yields its base URL."""
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted connections only then (else Nagle + delayed ACK
    # cost ~40 ms a response).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


# Typical pods of the tests' workloads: small and large CPU pods, shared GPUs of two sizes, one and two whole GPUs.
TYPICAL_JSON = [
    {"cpu_milli": 500, "gpu_milli": 0, "gpus": 0, "gpu_models": [], "weight": 5},
    {"cpu_milli": 1000, "gpu_milli": 300, "gpus": 1, "gpu_models": [], "weight": 7},
    {
        "cpu_milli": 1000,
        "gpu_milli": 600,
        "gpus": 1,
        "gpu_models": ["T4", "V100"],
        "weight": 3,
    },  # no test node has them
    {"cpu_milli": 2000, "gpu_milli": 1000, "gpus": 2, "gpu_models": [], "weight": 2},
    {"cpu_milli": 1000, "gpu_milli": 1000, "gpus": 1, "gpu_models": [], "weight": 4},
]


def typical():
    """TYPICAL_JSON as TypicalPods."""
    from podgym.envs.fragmentation import TypicalPods

    return TypicalPods.from_json(TYPICAL_JSON)


def tiny_onnx_model(directory: Path, hidden: int = 16, seed: int = 0, parts: bool = True) -> Path:
    """A randomly initialised per-node scoring network exported as export.py does (torch only here, never in
    plugin/); `parts=False`: policy.onnx and a policy.json that lists no parts, as an export that predates the
    encoder and head parts."""
    import json

    import torch as th

    from podgym.agents.commands.export import write_policy
    from podgym.agents.network import NodeScoringNet

    th.manual_seed(seed)
    net = NodeScoringNet(hidden).eval()
    path, _ = write_policy(net, directory, typical=typical())
    if not parts:
        meta = json.loads((path.parent / "policy.json").read_text())
        del meta["parts"]
        (path.parent / "policy.json").write_text(json.dumps(meta))
        for name in ("policy.encoder.onnx", "policy.head.onnx"):
            (path.parent / name).unlink()
    return path
