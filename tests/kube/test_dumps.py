"""Reading dumps (envs.kube.dumps): what a layout carries besides Node and Pod objects is told apart from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from podgym.envs.kube.__main__ import main as explain_main
from podgym.envs.kube.dumps import parse_located, read_dump
from podgym.envs.kube.errors import KubeObjectError
from podgym.envs.kube.objects import parse_node, parse_pod
from podgym.envs.workload import load_documents
from podgym.plugin.serve import main as serve_main
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


def test_parse_located_names_the_file_of_the_object_at_fault(tmp_path: Path) -> None:
    good = tmp_path / "nodes.json"
    good.write_text(json.dumps({"kind": "List", "apiVersion": "v1", "items": [node("n1")]}))
    bad_pod = pod("db-0", node_name="n1", containers=[{"memory": "-4Gi"}])
    pods = tmp_path / "ns" / "shop.json"
    pods.parent.mkdir()
    pods.write_text(json.dumps(typed_list("Pod", [pod("web-0", node_name="n1"), bad_pod])))
    dump = read_dump(good, [tmp_path / "ns"])
    assert [parse_node(n).name for n in dump.nodes] == ["n1"]
    with pytest.raises(KubeObjectError) as exc:
        parse_located(parse_pod, dump.pods, dump.pod_sources, "pods")
    message = str(exc.value)
    assert message.startswith(f"{pods}: pods[1] (Pod default/db-0): field spec.containers[0].resources.requests.memory")
    assert exc.value.__cause__ is None


@pytest.mark.parametrize("command", ["serve", "explain"])
def test_commands_name_the_file_of_a_malformed_object(tmp_path: Path, capsys, command: str) -> None:
    nodes = tmp_path / "nodes.json"
    nodes.write_text(json.dumps({"kind": "List", "apiVersion": "v1", "items": [node("n1"), node("n2")]}))
    broken = node("n2")
    broken["status"]["allocatable"]["memory"] = "-1Gi"
    fix = tmp_path / "fix.json"
    fix.write_text(json.dumps({"kind": "List", "apiVersion": "v1", "items": [broken, pod("web-0", node_name="n1")]}))
    if command == "serve":
        rc = serve_main(["--policy", "kube-default", "--no-watch", "--nodes", str(nodes), str(fix)])
    else:
        pending = tmp_path / "pod.json"
        pending.write_text(json.dumps(pod("new")))
        rc = explain_main(["explain", "--pod", str(pending), "--nodes", str(nodes), str(fix)])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"error: {fix}: nodes[1] (Node n2): field status.allocatable.memory" in err
    assert str(nodes) not in err and "Traceback" not in err


def test_unquoted_times_in_yaml_stay_strings(tmp_path: Path) -> None:
    # Kubernetes reads YAML as JSON: an unquoted time is the string it would be in JSON, which parse_pod reads.
    bound = pod("web-0", node_name="n1")
    bound["metadata"]["creationTimestamp"] = "2026-11-30T08:12:40Z"
    bound["status"] = {"phase": "Running", "startTime": "2026-11-30T08:12:41Z"}
    text = yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [node("n1"), bound]})
    unquoted = text.replace("'2026-11-30T08:12:40Z'", "2026-11-30T08:12:40Z").replace(
        "'2026-11-30T08:12:41Z'", "2026-11-30T08:12:41Z"
    )
    assert unquoted != text
    path = tmp_path / "cluster.yaml"
    path.write_text(unquoted)
    dump = read_dump(path)
    assert dump.pods[0]["metadata"]["creationTimestamp"] == "2026-11-30T08:12:40Z"
    assert parse_pod(dump.pods[0]).name == "web-0"
    assert load_documents(path)[1]["status"]["startTime"] == "2026-11-30T08:12:41Z"


def test_serve_without_a_node_refuses_to_start(tmp_path: Path, capsys) -> None:
    # An extender with no node in its cache would answer every filter with "unknown to the extender's cache".
    pods = tmp_path / "pods.json"
    pods.write_text(json.dumps({"kind": "List", "apiVersion": "v1", "items": [pod("web-0", node_name="n1")]}))
    assert serve_main(["--policy", "kube-default", "--no-watch", "--pods", str(pods)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {pods}: no Node object found") and "Traceback" not in err
    with pytest.raises(SystemExit) as exc:
        serve_main(["--policy", "kube-default", "--no-watch"])
    assert exc.value.code == 2 and "--no-watch needs --nodes" in capsys.readouterr().err


def test_cluster_info_dump_as_yaml_with_logs_between_documents(tmp_path: Path) -> None:
    # `kubectl cluster-info dump -o yaml` separates its lists with "---" and prints each namespace's container
    # logs after its lists, between START and END lines.
    logs = (
        "==== START logs for container app of pod shop/web-0 ====\n"
        "I1204 15:00:00.1 1 main.go:1] listening: addr=:8080\n- not: [yaml\n"
        "==== END logs for container app of pod shop/web-0 ====\n"
    )
    text = (
        yaml.safe_dump(typed_list("Node", [node("n1")]))
        + "---\n"
        + yaml.safe_dump(typed_list("Pod", [pod("web-0", namespace="shop", node_name="n1")]))
        + logs
        + "---\n"
        + yaml.safe_dump({"kind": "EventList", "apiVersion": "v1", "metadata": {}, "items": []})
        + logs.replace("web-0", "web-1")
    )
    path = tmp_path / "dump.txt"
    path.write_text(text)
    dump = read_dump(path)
    assert [n["metadata"]["name"] for n in dump.nodes] == ["n1"]
    assert [p["metadata"]["name"] for p in dump.pods] == ["web-0"]
    # A YAML error elsewhere still points at its own line of the file.
    path.write_text(text + "---\nkind: List\nitems: [\n")
    with pytest.raises(KubeObjectError, match=f"{path}: not valid YAML") as exc:
        read_dump(path)
    assert f"line {text.count(chr(10)) + 4}" in str(exc.value)
