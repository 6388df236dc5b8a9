"""Reading dumps (envs.kube.dumps): what a layout carries besides Node and Pod objects is told apart from them."""

from __future__ import annotations

import json
from pathlib import Path

from podgym.envs.kube.dumps import read_dump
from tests.kube.builders import node, pod


def typed_list(kind: str, items: list[dict]) -> dict:
    """A typed List as ``kubectl cluster-info dump`` prints it: items without kind or apiVersion."""
    bare = [{k: v for k, v in item.items() if k not in ("kind", "apiVersion")} for item in items]
    return {"kind": f"{kind}List", "apiVersion": "v1", "metadata": {"resourceVersion": "7"}, "items": bare}


def test_structured_log_line_with_a_kind_is_not_an_object(tmp_path: Path) -> None:
    # Controller loggers write the kind of what they reconcile; such a line between the lists is a log line.
    log = '{"level":"info","ts":1733320000.1,"msg":"reconciled","kind":"Pod","name":"web-0"}'
    text = "\n".join(
        [
            json.dumps(typed_list("Node", [node("n1")]), indent=4),
            "==== START logs for container manager of pod ops/operator-0 ====",
            log,
            '{"level":"info","kind":"Deployment","items":"not a list"}',
            "==== END logs for container manager of pod ops/operator-0 ====",
            json.dumps(typed_list("Pod", [pod("web-0", node_name="n1")]), indent=4),
        ]
    )
    path = tmp_path / "dump.txt"
    path.write_text(text + "\n")
    dump = read_dump(path)
    assert [n["metadata"]["name"] for n in dump.nodes] == ["n1"]
    assert [p["metadata"]["name"] for p in dump.pods] == ["web-0"]
    assert dump.objects == [] and dump.ignored == {}
