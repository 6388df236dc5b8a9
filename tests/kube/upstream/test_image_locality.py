"""Cases from kubernetes/kubernetes pkg/scheduler/framework/plugins/imagelocality/image_locality_test.go, the file
of the numContainers era (maxContainerThreshold per container, init containers counted; v1.28 to v1.35: read
through the stored public copy with the "include InitContainers" case), TestImageLocalityPriority and
TestNormalizedImageName, run through `kube.score(..., plugin="ImageLocality")` on the same nodes.

Upstream behaviour pinned here (image_locality.go, the scheduler snapshot's getNodeImageStates):

* The sum over the pod's init containers and containers whose normalised image (``:latest`` added when the name
  has no tag) the node lists in ``status.images``: ``int64(float64(size) * numNodesWithImage / totalNumNodes)``,
  the nodes counted over the whole snapshot (every node given), the size as this node lists it.
* calculatePriority: the sum clamped to [23 MiB, 1000 MiB x (init containers + containers)], then
  ``100 * (sum - 23 MiB) / (max - 23 MiB)``; no NormalizeScore.
* Names on the node are used as listed (not normalised); only the pod's images are normalised.

Deviations: upstream's PodSpecs have containers with only an image; the builders add a name (no requests, which
this plugin does not read). Nodes are built with the builders' allocatable and hostname label, unused here.

Left out: none of these two tests' cases.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

import podgym.envs.kube as kube
from podgym.envs.kube.plugins.imagelocality import normalized_image_name
from tests.kube.builders import container, node, pod

PLUGIN = "ImageLocality"
MB = 1024 * 1024


def image_pod(images: list[str], init: list[str] = ()) -> dict[str, Any]:
    return pod(
        "p",
        containers=[container(name=f"c{i}", image=image) for i, image in enumerate(images)],
        init_containers=[container(name=f"i{i}", image=image) for i, image in enumerate(init)] or None,
    )


def image_node(name: str, images: list[tuple[list[str], int]]) -> dict[str, Any]:
    n = node(name)
    if images:
        n["status"]["images"] = [{"names": names, "sizeBytes": size * MB} for names, size in images]
    return n


NODE_40_300_2000 = [
    (["gcr.io/40:latest", "gcr.io/40:v1", "gcr.io/40:v1"], 40),
    (["gcr.io/300:latest", "gcr.io/300:v1"], 300),
    (["gcr.io/2000:latest"], 2000),
]
NODE_250_10 = [(["gcr.io/250:latest"], 250), (["gcr.io/10:latest", "gcr.io/10:v1"], 10)]
NODE_600_40_900 = [(["gcr.io/600:latest"], 600), (["gcr.io/40:latest"], 40), (["gcr.io/900:latest"], 900)]
NODE_300_600_900 = [(["gcr.io/300:latest"], 300), (["gcr.io/600:latest"], 600), (["gcr.io/900:latest"], 900)]
NODE_4000_30 = [(["gcr.io/4000:latest"], 4000), (["gcr.io/30:latest"], 30)]
NODE_20_30_40 = [(["gcr.io/20:latest"], 20), (["gcr.io/30:latest"], 30), (["gcr.io/40:latest"], 40)]

CASES = [
    pytest.param(
        image_pod(["gcr.io/40", "gcr.io/250"]),
        [("node1", NODE_40_300_2000), ("node2", NODE_250_10)],
        {"node1": 0, "node2": 5},
        id="two images spread on two nodes, prefer the larger image one",
    ),
    pytest.param(
        image_pod(["gcr.io/40", "gcr.io/300"]),
        [("node1", NODE_40_300_2000), ("node2", NODE_250_10)],
        {"node1": 7, "node2": 0},
        id="two images on one node, prefer this node",
    ),
    pytest.param(
        image_pod(["gcr.io/10", "gcr.io/4000"]),
        [("node1", NODE_4000_30), ("node2", NODE_250_10)],
        {"node1": 100, "node2": 0},
        id="if exceed limit, use limit",
    ),
    pytest.param(
        image_pod(["gcr.io/10", "gcr.io/4000"]),
        [("node1", NODE_4000_30), ("node2", NODE_250_10), ("node3", [])],
        {"node1": 66, "node2": 0, "node3": 0},
        id="if exceed limit, use limit (with node which has no images present)",
    ),
    pytest.param(
        image_pod(["gcr.io/300", "gcr.io/600", "gcr.io/900"]),
        [("node1", NODE_600_40_900), ("node2", NODE_300_600_900), ("node3", [])],
        {"node1": 32, "node2": 36, "node3": 0},
        id="pod with multiple large images, node2 is preferred",
    ),
    pytest.param(
        image_pod(["gcr.io/30", "gcr.io/40"]),
        [("node1", NODE_20_30_40), ("node2", NODE_4000_30)],
        {"node1": 1, "node2": 0},
        id="pod with multiple small images",
    ),
    pytest.param(
        image_pod(["gcr.io/30"], init=["gcr.io/300"]),
        [("node1", NODE_40_300_2000), ("node2", NODE_20_30_40)],
        {"node1": 6, "node2": 0},
        id="include InitContainers: two images spread on two nodes, prefer the larger image one",
    ),
]


@pytest.mark.parametrize(("p", "nodes", "want"), CASES)
def test_image_locality_priority(p: dict[str, Any], nodes: list[tuple[str, Any]], want: dict[str, int]) -> None:
    assert kube.score(p, [image_node(name, images) for name, images in nodes], [], plugin=PLUGIN) == want


def fake_digest(content: str) -> str:
    return "sha256:" + hashlib.sha256(content.encode()).hexdigest()


@pytest.mark.parametrize(
    ("name", "want"),
    [
        ("root", "root:latest"),
        ("gcr.io:5000/root", "gcr.io:5000/root:latest"),
        ("root:tag", "root:tag"),
        ("root@" + fake_digest("root"), "root@" + fake_digest("root")),
    ],
    ids=["add :latest postfix 1", "add :latest postfix 2", "keep it as is 1", "keep it as is 2"],
)
def test_normalized_image_name(name: str, want: str) -> None:
    assert normalized_image_name(name) == want


def test_a_malformed_image_list_names_the_node_and_the_field() -> None:
    n = node("n1")
    n["status"]["images"] = [{"names": ["a:1"], "sizeBytes": "big"}]
    with pytest.raises(kube.KubeObjectError) as info:
        kube.parse_node(n)
    assert "Node n1" in str(info.value) and "status.images[0].sizeBytes" in str(info.value)
