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


def tiny_onnx_model(directory: Path, hidden: int = 16, seed: int = 0, parts: bool = True) -> Path:
    """A randomly initialised per-node scoring network exported as export.py does (torch only here, never in
    plugin/); `parts=False`: policy.onnx alone, as an export that predates the encoder and head parts."""
    import torch as th

    from podgym.agents.network import NodeScoringNet, ScoreOneNet
    from podgym.agents.commands.export import to_onnx, write_policy

    th.manual_seed(seed)
    net = NodeScoringNet(hidden).eval()
    if parts:
        path, _ = write_policy(net, directory)
        return path
    path = Path(directory) / "policy.onnx"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_onnx(ScoreOneNet(net).eval()))
    return path
