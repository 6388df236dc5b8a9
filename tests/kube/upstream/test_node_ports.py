"""Cases from kubernetes/kubernetes pkg/scheduler/framework/plugins/nodeports/node_ports_test.go, the v1.35-era file
(``fwk "k8s.io/kube-scheduler/framework"``, PreFilter taking the node list, the sidecar cases; read through the
stored public copy with those markers, its plugin file node_ports.go carrying SignPod), TestNodePorts, and the
queueing-hint cases of Test_isSchedulableAfterPodDeleted that a simulation can express, run through
`kube.filter(..., plugin="NodePorts")` with the node's pods as the running pods.

Upstream behaviour pinned here (node_ports.go, pkg/scheduler/util GetHostPorts, framework HostPortInfo):

* The pod's host ports are those of its containers and of its sidecars (init containers with
  ``restartPolicy: Always``) with ``hostPort > 0``; PreFilter returns Skip when there are none, so Filter never
  runs (``kube.filter`` reports the node as fitting).
* Filter: ``fwk.NewStatus(fwk.Unschedulable, "node(s) didn't have free ports for the requested pod ports")`` when
  one of the pod's ports conflicts with a port used on the node: the same protocol (TCP when unset) and port, and
  the same host IP, or 0.0.0.0 (the default for an unset hostIP) on either side.
* The status code is Unschedulable (preemption may help: removing the pod that holds the port frees it).

Deviations: upstream's ``newPod(host, "PROTO/IP/PORT")`` builds a pod whose containers carry the ports with no
containerPort; the builders here add ``containerPort`` equal to the host port (the API requires one) and a name.

Left out:
* TestPreFilterDisabled: Filter without PreFilter returns an internal error; ``kube.filter`` always runs PreFilter.
* Test_isSchedulableAfterPodDeleted "backoff-wrong-old-object" and "skip-queue-on-unscheduled": the event handler's
  type check and unscheduled deleted pods; the simulator's queueing hint asks "does the waiting pod fit on this node
  now" after a pod leaves a node, which the remaining cases check in `tests/sim/test_node_ports_hint.py`.
"""

from __future__ import annotations

from typing import Any

import pytest

import podgym.envs.kube as kube
from tests.kube.builders import container, node, on_node, pod

PLUGIN = "NodePorts"
ERR = "node(s) didn't have free ports for the requested pod ports"


def ports(*specs: str) -> list[dict[str, Any]]:
    """Container ports from upstream's "PROTO/IP/PORT" strings (empty fields omitted, as JSON's omitempty)."""
    out = []
    for spec in specs:
        protocol, ip, port = spec.split("/")
        p: dict[str, Any] = {"containerPort": int(port), "hostPort": int(port)}
        if protocol:
            p["protocol"] = protocol
        if ip:
            p["hostIP"] = ip
        out.append(p)
    return out


def port_pod(name: str, *specs: str) -> dict[str, Any]:
    return pod(name, containers=[container(name="c", ports=ports(*specs))])


CASES = [
    pytest.param(pod("p"), [], None, id="skip filter"),
    pytest.param(port_pod("p", "UDP/127.0.0.1/8080"), ["UDP/127.0.0.1/9090"], None, id="other port"),
    pytest.param(port_pod("p", "UDP/127.0.0.1/8080"), ["UDP/127.0.0.1/8080"], ERR, id="same udp port"),
    pytest.param(port_pod("p", "TCP/127.0.0.1/8080"), ["TCP/127.0.0.1/8080"], ERR, id="same tcp port"),
    pytest.param(port_pod("p", "TCP/127.0.0.1/8080"), ["TCP/127.0.0.2/8080"], None, id="different host ip"),
    pytest.param(port_pod("p", "UDP/127.0.0.1/8080"), ["TCP/127.0.0.1/8080"], None, id="different protocol"),
    pytest.param(
        port_pod("p", "UDP/127.0.0.1/8000", "UDP/127.0.0.1/8080"),
        ["UDP/127.0.0.1/8080"],
        ERR,
        id="second udp port conflict",
    ),
    pytest.param(
        port_pod("p", "TCP/127.0.0.1/8001", "UDP/127.0.0.1/8080"),
        ["TCP/127.0.0.1/8001", "UDP/127.0.0.1/8081"],
        ERR,
        id="first tcp port conflict",
    ),
    pytest.param(
        port_pod("p", "TCP/0.0.0.0/8001"),
        ["TCP/127.0.0.1/8001"],
        ERR,
        id="first tcp port conflict due to 0.0.0.0 hostIP",
    ),
    pytest.param(
        port_pod("p", "TCP/10.0.10.10/8001", "TCP/0.0.0.0/8001"),
        ["TCP/127.0.0.1/8001"],
        ERR,
        id="TCP hostPort conflict due to 0.0.0.0 hostIP",
    ),
    pytest.param(
        port_pod("p", "TCP/127.0.0.1/8001"),
        ["TCP/0.0.0.0/8001"],
        ERR,
        id="second tcp port conflict to 0.0.0.0 hostIP",
    ),
    pytest.param(port_pod("p", "UDP/127.0.0.1/8001"), ["TCP/0.0.0.0/8001"], None, id="second different protocol"),
    pytest.param(
        port_pod("p", "UDP/127.0.0.1/8001"),
        ["TCP/0.0.0.0/8001", "UDP/0.0.0.0/8001"],
        ERR,
        id="UDP hostPort conflict due to 0.0.0.0 hostIP",
    ),
    pytest.param(
        pod("p", init_containers=[container(name="init", ports=ports("TCP//8001"))]),
        ["TCP/0.0.0.0/8001"],
        None,
        id="non-sidecar initContainer using hostPort",
    ),
    pytest.param(
        pod("p", init_containers=[container(name="init", restartPolicy="Always", ports=ports("TCP//8001"))]),
        ["TCP/0.0.0.0/8001"],
        ERR,
        id="TCP hostPort conflict from sidecar initContainer",
    ),
]


@pytest.mark.parametrize(("p", "used", "want"), CASES)
def test_node_ports(p: dict[str, Any], used: list[str], want: str | None) -> None:
    running = [on_node(port_pod("m1", *used), "m1")] if used else []
    nodes = [node("m1")]
    assert kube.filter(p, nodes, running, plugin=PLUGIN) == {"m1": want}
    status = kube.filter_status(p, nodes, running, plugin=PLUGIN)["m1"]
    if want is not None:
        assert (status.code, status.reasons, status.plugin) == ("Unschedulable", (ERR,), PLUGIN)


def test_unset_protocol_is_tcp_and_unset_host_ip_binds_every_address() -> None:
    # HostPortInfo.sanitize: "" -> TCP and "" -> 0.0.0.0.
    nodes = [node("m1")]
    running = [on_node(port_pod("m1", "TCP/10.0.0.1/80"), "m1")]
    assert kube.filter(port_pod("p", "//80"), nodes, running, plugin=PLUGIN) == {"m1": ERR}
    assert kube.filter(port_pod("p", "UDP//80"), nodes, running, plugin=PLUGIN) == {"m1": None}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("protocol", "HTTP", "must be one of TCP, UDP, SCTP"),
        ("hostPort", 70000, "must be between 0 and 65535"),
        ("hostPort", "80", "expected an integer"),
        ("hostIP", 1, "expected a string"),
    ],
)
def test_a_malformed_port_names_the_pod_and_the_field(field: str, value: Any, message: str) -> None:
    port = {"containerPort": 80, "hostPort": 80, field: value}
    with pytest.raises(kube.KubeObjectError) as info:
        kube.parse_pod(pod("web", containers=[container(name="c", ports=[port])]))
    text = str(info.value)
    assert "Pod default/web" in text and f"spec.containers[0].ports[0].{field}" in text and message in text
