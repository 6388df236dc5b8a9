"""The hot routes answered by ExtenderApp's own ASGI entry give what FastAPI's routes give, byte for byte."""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi import FastAPI

from podgym.plugin.cache import ClusterCache
from podgym.plugin.extender import create_app
from podgym.policies import make_policy
from tests.plugin.test_extender import BOUND, NAMES, NODES_, PENDING


def call(entry, app, method: str, path: str, body: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
    """One request to the ASGI callable `entry`: (status, headers, body), Server-Timing's value as "dur"."""
    sent: list[dict] = []
    incoming = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "app": app,
    }
    asyncio.run(entry(scope, receive, send))
    headers = dict(sent[0]["headers"])
    if b"server-timing" in headers:  # the time differs from run to run, not the header
        assert headers[b"server-timing"].startswith(b"app;dur=")
        headers[b"server-timing"] = b"dur"
    return sent[0]["status"], headers, b"".join(m.get("body", b"") for m in sent[1:])


REQUESTS = [
    ("POST", "/prioritize", {"Pod": PENDING["small"], "NodeNames": NAMES}),
    ("POST", "/scheduler/prioritize", {"Pod": PENDING["big"], "NodeNames": [*NAMES, "unknown"]}),
    ("POST", "/filter", {"Pod": PENDING["tolerant"], "NodeNames": NAMES}),
    ("POST", "/a/b/filter", {"Pod": PENDING["pinned"], "Nodes": {"items": NODES_}}),
    ("POST", "/prioritize", b"{not json"),
    ("POST", "/filter", {"Pod": "x", "NodeNames": NAMES}),
    ("POST", "/cache/events", {"events": [{"type": "DELETED", "object": {**BOUND[0], "kind": "Pod"}}]}),
    ("POST", "/cache/events", {"events": "x"}),
    ("GET", "/prioritize", b""),  # not a hot route: FastAPI's 405 either way
    ("POST", "/prioritize/", b"{}"),
]


@pytest.mark.parametrize("method,path,payload", REQUESTS)
def test_hot_routes_answer_as_fastapi(method, path, payload):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    replies = []
    for through_fastapi in (False, True):
        cache = ClusterCache()
        cache.set_state(NODES_, BOUND)
        app = create_app(make_policy("kube-default"), cache, cache_api=True)
        entry = (lambda s, r, se, app=app: FastAPI.__call__(app, s, r, se)) if through_fastapi else app
        replies.append(call(entry, app, method, path, body))
    assert replies[0] == replies[1]
