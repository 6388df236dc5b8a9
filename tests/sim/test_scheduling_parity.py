"""The vectorised profile (envs.scheduling over envs.cluster) agrees exactly with envs.kube's object API.

Random clusters: nodes with random capacity, GPUs, labels (hostname and zone keys, some missing), taints, cordons
and images; running pods bound to them (init containers, sidecars, missing requests, images and host ports
included), in two namespaces, with labels, controllers, spread constraints and pod (anti-)affinity terms; a pending
pod with random requests, images, host ports, tolerations, nodeSelector, node affinity, labels, topology spread
constraints and pod (anti-)affinity; and random profiles (default, MostAllocated,
RequestedToCapacityRatio with GPUs, BalancedAllocation over three resources, addedAffinity); and every
registered plugin alone, its queueing hint included.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import podgym.envs.kube as kube
from podgym.envs.cluster import ClusterState
from podgym.envs.kube.cycle import run_filters, run_score_plugin
from podgym.envs.kube.framework import ALL_NODES, NAMESPACES, UNSCHEDULABLE, Status
from podgym.envs.kube.plugins import REGISTRY, new_plugin
from podgym.envs.scheduling import ERR_REASON_GPU_DEVICES, GPU_DEVICES, VectorProfile
from podgym.envs.unschedulable import UnschedulablePods
from podgym.envs.workload.objects import workload_from_pods
from podgym.envs.workload.types import GPU_MODEL_LABEL
from tests.kube.builders import container, node, on_node, pod

TAINTS = [
    {"key": "gpu", "value": "true", "effect": "NoSchedule"},
    {"key": "spot", "value": "", "effect": "NoExecute"},
    {"key": "batch", "value": "yes", "effect": "PreferNoSchedule"},
    {"key": "legacy", "value": "1", "effect": "PreferNoSchedule"},
]
TOLERATIONS = [
    {"key": "gpu", "operator": "Exists"},
    {"key": "spot", "operator": "Equal", "value": "", "effect": "NoExecute"},
    {"key": "batch", "operator": "Equal", "value": "yes", "effect": "PreferNoSchedule"},
    {"operator": "Exists", "effect": "PreferNoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]
ZONES = ["a", "b", "c"]
HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
TOPOLOGY_KEYS = ["zone", HOSTNAME, ZONE]
APPS = ["web", "db"]
TIERS = ["x", "y"]
NAMESPACE_NAMES = ["default", "other"]
NS_NAME_LABEL = "kubernetes.io/metadata.name"
NAMESPACE_OBJECTS = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default", "labels": {NS_NAME_LABEL: "default"}}},
    {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "other", "labels": {NS_NAME_LABEL: "other", "team": "a"}},
    },
]
MB = 1024 * 1024
# Node images (names as the kubelet lists them, size) and the pods' images (some without a tag: ":latest").
NODE_IMAGES = [
    {"names": ["gcr.io/web:latest", "gcr.io/web:v1"], "sizeBytes": 300 * MB},
    {"names": ["gcr.io/ml:2.1"], "sizeBytes": 2500 * MB},
    {"names": ["registry.k8s.io/pause:3.10"], "sizeBytes": 700 * 1024},
    {"names": ["docker.io/library/db:latest"], "sizeBytes": 40 * MB},
]
POD_IMAGES = ["gcr.io/web", "gcr.io/web:v1", "gcr.io/ml:2.1", "registry.k8s.io/pause:3.10", "docker.io/library/db"]
HOST_PORTS = [
    {"containerPort": 80},
    {"containerPort": 80, "hostPort": 8080},
    {"containerPort": 80, "hostPort": 8080, "protocol": "UDP"},
    {"containerPort": 80, "hostPort": 8080, "hostIP": "127.0.0.1"},
    {"containerPort": 90, "hostPort": 9090, "hostIP": "10.0.0.1", "protocol": "TCP"},
    {"containerPort": 90, "hostPort": 9090, "hostIP": "0.0.0.0"},
]
MODELS = ["A100", "T4"]

cpu_values = st.sampled_from(["0", "100m", "250m", "500m", "1", "2", "3500m"])
mem_values = st.sampled_from(["0", "64Mi", "200Mi", "512Mi", "1Gi", "3Gi"])


@st.composite
def requests(draw, gpu: bool = True) -> dict:
    out = {}
    if draw(st.booleans()):
        out["cpu"] = draw(cpu_values)
    if draw(st.booleans()):
        out["memory"] = draw(mem_values)
    if draw(st.integers(0, 4)) == 0:
        out["ephemeral-storage"] = draw(st.sampled_from(["1Gi", "10Gi"]))
    if gpu and draw(st.integers(0, 2)) == 0:
        out["nvidia.com/gpu"] = str(draw(st.integers(1, 2)))
    return out


@st.composite
def node_dicts(draw, i: int) -> dict:
    gpus = draw(st.sampled_from([0, 0, 2, 4]))
    alloc = {
        "cpu": draw(st.sampled_from(["2", "4", "7500m"])),
        "memory": draw(st.sampled_from(["4Gi", "8Gi", "16Gi"])),
        "pods": str(draw(st.integers(1, 6))),
    }
    if draw(st.booleans()):
        alloc["ephemeral-storage"] = "20Gi"
    labels = {"zone": draw(st.sampled_from(ZONES)), "rank": str(draw(st.integers(0, 9)))}
    if draw(st.integers(0, 5)):
        labels[HOSTNAME] = f"n{i}"
    if draw(st.integers(0, 3)):
        labels[ZONE] = draw(st.sampled_from(ZONES))
    if gpus:
        alloc["nvidia.com/gpu"] = str(gpus)
        labels[GPU_MODEL_LABEL] = draw(st.sampled_from(MODELS))
    taints = draw(st.lists(st.sampled_from(TAINTS), max_size=2, unique_by=lambda t: t["key"]))
    out = node(f"n{i}", allocatable=alloc, labels=labels, taints=taints, unschedulable=draw(st.integers(0, 5)) == 0)
    images = draw(st.lists(st.sampled_from(NODE_IMAGES), max_size=3, unique_by=lambda m: m["names"][0]))
    if images:
        out["status"]["images"] = images
    return out


@st.composite
def containers(draw, gpu: bool = True, ports: bool = True) -> list[dict]:
    """1-2 containers with random requests, and sometimes an image and host ports."""
    out = []
    for k in range(draw(st.integers(1, 2))):
        extra: dict = {}
        if draw(st.integers(0, 2)) == 0:
            extra["image"] = draw(st.sampled_from(POD_IMAGES))
        if ports and draw(st.integers(0, 2)) == 0:
            extra["ports"] = draw(st.lists(st.sampled_from(HOST_PORTS), min_size=1, max_size=2))
        out.append(container(draw(requests(gpu=gpu)), name=f"c{k}", **extra))
    return out


@st.composite
def sidecars(draw) -> list[dict] | None:
    """Sometimes an init container, sometimes a sidecar (restartPolicy Always) whose host ports count."""
    choice = draw(st.integers(0, 5))
    if choice > 1:
        return None
    extra: dict = {"image": draw(st.sampled_from(POD_IMAGES))}
    if choice == 0:
        extra["restartPolicy"] = "Always"
    if draw(st.booleans()):
        extra["ports"] = [draw(st.sampled_from(HOST_PORTS))]
    return [container(draw(requests(gpu=False)), name="init0", **extra)]


@st.composite
def affinity(draw) -> dict | None:
    exprs = [
        {"key": "zone", "operator": "In", "values": draw(st.lists(st.sampled_from(ZONES), min_size=1, max_size=2))},
        {"key": "zone", "operator": "NotIn", "values": [draw(st.sampled_from(ZONES))]},
        {"key": "rank", "operator": draw(st.sampled_from(["Gt", "Lt"])), "values": [str(draw(st.integers(0, 9)))]},
        {"key": GPU_MODEL_LABEL, "operator": draw(st.sampled_from(["Exists", "DoesNotExist"]))},
    ]
    out: dict = {}
    if draw(st.booleans()):
        terms = [
            {"matchExpressions": draw(st.lists(st.sampled_from(exprs), min_size=1, max_size=2))}
            for _ in range(draw(st.integers(1, 2)))
        ]
        pin = {
            "matchFields": [{"key": "metadata.name", "operator": "In", "values": [draw(st.sampled_from(["n0", "n1"]))]}]
        }
        choice = draw(st.integers(0, 5))
        if choice == 0:
            terms.append(pin)  # a term without names: no PreFilterResult
        elif choice == 1:
            terms = [pin]  # every term pins a name: PreFilterResult narrows the candidates
        out["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": terms}
    if draw(st.booleans()):
        out["preferredDuringSchedulingIgnoredDuringExecution"] = [
            {"weight": draw(st.integers(0, 100)), "preference": {"matchExpressions": [draw(st.sampled_from(exprs))]}}
            for _ in range(draw(st.integers(0, 3)))
        ]
    return {"nodeAffinity": out} if out else None


@st.composite
def pod_selector(draw) -> dict | None:
    """A label selector over the pods' labels: absent, empty, or matchLabels/matchExpressions on app and tier."""
    choice = draw(st.integers(0, 5))
    if choice == 0:
        return None
    if choice == 1:
        return {}
    if choice <= 3:
        return {"matchLabels": {"app": draw(st.sampled_from(APPS))}}
    op = draw(st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"]))
    expr = {"key": draw(st.sampled_from(["app", "tier"])), "operator": op}
    if op in ("In", "NotIn"):
        expr["values"] = draw(st.lists(st.sampled_from(APPS + TIERS), min_size=1, max_size=2, unique=True))
    return {"matchExpressions": [expr]}


@st.composite
def spread_constraints(draw) -> list[dict]:
    out = []
    for key in draw(st.lists(st.sampled_from(TOPOLOGY_KEYS), max_size=2, unique=True)):
        c = {
            "maxSkew": draw(st.sampled_from([1, 1, 1, 2, 3])),
            "topologyKey": key,
            "whenUnsatisfiable": draw(st.sampled_from(["DoNotSchedule", "ScheduleAnyway"])),
        }
        selector = draw(pod_selector())
        if selector is not None:
            c["labelSelector"] = selector
        if c["whenUnsatisfiable"] == "DoNotSchedule" and draw(st.integers(0, 3)) == 0:
            c["minDomains"] = draw(st.integers(1, 5))
        for policy in ("nodeAffinityPolicy", "nodeTaintsPolicy"):
            if draw(st.integers(0, 2)) == 0:
                c[policy] = draw(st.sampled_from(["Honor", "Ignore"]))
        if draw(st.integers(0, 3)) == 0:
            c["matchLabelKeys"] = ["tier"]
        out.append(c)
    return out


@st.composite
def affinity_term(draw) -> dict:
    term = {"topologyKey": draw(st.sampled_from(TOPOLOGY_KEYS))}
    selector = draw(pod_selector())
    if selector is not None:
        term["labelSelector"] = selector
    choice = draw(st.integers(0, 4))
    if choice == 1:
        term["namespaces"] = draw(st.lists(st.sampled_from(NAMESPACE_NAMES), min_size=1, max_size=2, unique=True))
    elif choice == 2:
        term["namespaceSelector"] = draw(
            st.sampled_from([{}, {"matchLabels": {"team": "a"}}, {"matchLabels": {NS_NAME_LABEL: "other"}}])
        )
    if draw(st.integers(0, 4)) == 0:
        term["matchLabelKeys" if draw(st.booleans()) else "mismatchLabelKeys"] = ["tier"]
    return term


@st.composite
def pod_affinity(draw) -> dict:
    out = {}
    for kind in ("podAffinity", "podAntiAffinity"):
        terms: dict = {}
        if draw(st.integers(0, 2)) == 0:
            terms["requiredDuringSchedulingIgnoredDuringExecution"] = [
                draw(affinity_term()) for _ in range(draw(st.integers(1, 2)))
            ]
        if draw(st.integers(0, 2)) == 0:
            terms["preferredDuringSchedulingIgnoredDuringExecution"] = [
                {"weight": draw(st.integers(1, 100)), "podAffinityTerm": draw(affinity_term())}
                for _ in range(draw(st.integers(1, 2)))
            ]
        if terms:
            out[kind] = terms
    return out


@st.composite
def pod_identity(draw) -> dict:
    """Namespace, labels and controller of a pod, and its spread constraints and pod (anti-)affinity."""
    labels = {}
    if draw(st.integers(0, 4)):
        labels["app"] = draw(st.sampled_from(APPS))
    if draw(st.booleans()):
        labels["tier"] = draw(st.sampled_from(TIERS))
    owner = None
    if draw(st.integers(0, 2)) == 0:
        kind = draw(st.sampled_from(["ReplicaSet", "StatefulSet", "Job"]))
        owner = [
            {"apiVersion": "batch/v1" if kind == "Job" else "apps/v1", "kind": kind, "name": "c", "controller": True}
        ]
    return {
        "namespace": draw(st.sampled_from(NAMESPACE_NAMES)),
        "labels": labels,
        "owner": owner,
        "spread": draw(spread_constraints()) if draw(st.integers(0, 2)) == 0 else [],
        "pod_affinity": draw(pod_affinity()) if draw(st.integers(0, 2)) == 0 else {},
    }


def with_identity(p: dict, identity: dict) -> dict:
    """`p` with the namespace, labels, owner, spread constraints and pod affinity of `identity`."""
    meta, spec = p["metadata"], p["spec"]
    meta["namespace"] = identity["namespace"]
    meta["uid"] = f"uid-{identity['namespace']}-{meta['name']}"
    if identity["labels"]:
        meta["labels"] = identity["labels"]
    if identity["owner"]:
        meta["ownerReferences"] = identity["owner"]
    if identity["spread"]:
        spec["topologySpreadConstraints"] = identity["spread"]
    if identity["pod_affinity"]:
        spec["affinity"] = {**(spec.get("affinity") or {}), **identity["pod_affinity"]}
    return p


PROFILES = [
    None,
    {
        "plugins": {"score": {"enabled": [{"name": "NodeResourcesFit", "weight": 3}]}},
        "pluginConfig": [
            {
                "name": "NodeResourcesFit",
                "args": {
                    "scoringStrategy": {
                        "type": "MostAllocated",
                        "resources": [
                            {"name": "cpu", "weight": 2},
                            {"name": "memory"},
                            {"name": "nvidia.com/gpu", "weight": 5},
                        ],
                    }
                },
            }
        ],
    },
    {
        "pluginConfig": [
            {
                "name": "NodeResourcesFit",
                "args": {
                    "scoringStrategy": {
                        "type": "RequestedToCapacityRatio",
                        "resources": [{"name": "cpu"}, {"name": "nvidia.com/gpu", "weight": 3}],
                        "requestedToCapacityRatio": {
                            "shape": [
                                {"utilization": 0, "score": 10},
                                {"utilization": 60, "score": 3},
                                {"utilization": 100, "score": 7},
                            ]
                        },
                    }
                },
            },
            {
                "name": "NodeResourcesBalancedAllocation",
                "args": {"resources": [{"name": "cpu"}, {"name": "memory"}, {"name": "nvidia.com/gpu"}]},
            },
            {
                "name": "NodeAffinity",
                "args": {
                    "addedAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["c"]}]}
                            ]
                        },
                        "preferredDuringSchedulingIgnoredDuringExecution": [
                            {
                                "weight": 7,
                                "preference": {
                                    "matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]
                                },
                            }
                        ],
                    }
                },
            },
        ]
    },
    {
        "plugins": {
            "filter": {"disabled": [{"name": "TaintToleration"}]},
            "score": {"disabled": [{"name": "*"}], "enabled": [{"name": "NodeResourcesBalancedAllocation"}]},
        }
    },
]


@st.composite
def scenarios(draw):
    nodes = [draw(node_dicts(i)) for i in range(draw(st.integers(1, 7)))]
    running = []
    gpu_left = {n["metadata"]["name"]: int(n["status"]["allocatable"].get("nvidia.com/gpu", "0")) for n in nodes}
    for j in range(draw(st.integers(0, 10))):
        target = draw(st.sampled_from(nodes))["metadata"]["name"]
        ctrs = draw(containers())
        for c in ctrs:
            reqs = c["resources"]["requests"]
            k = int(reqs.get("nvidia.com/gpu", "0"))
            if k > gpu_left[target]:
                reqs.pop("nvidia.com/gpu")
            else:
                gpu_left[target] -= k
        init = draw(sidecars())
        running_pod = pod(f"r{j}", containers=ctrs, init_containers=init, tolerations=TOLERATIONS)
        running.append(on_node(with_identity(running_pod, draw(pod_identity())), target))
    pending = pod(
        "pending",
        containers=draw(containers()),
        init_containers=draw(sidecars()),
        tolerations=draw(st.lists(st.sampled_from(TOLERATIONS), max_size=3)),
        node_selector={"zone": draw(st.sampled_from(ZONES))} if draw(st.integers(0, 3)) == 0 else None,
        affinity=draw(affinity()),
    )
    pending = with_identity(pending, draw(pod_identity()))
    config = draw(st.sampled_from(PROFILES))
    return nodes, running, pending, config


def _profile(config: dict | None) -> kube.Profile:
    if config is None:
        return kube.default_profile()
    data = {
        "apiVersion": "kubescheduler.config.k8s.io/v1",
        "kind": "KubeSchedulerConfiguration",
        "profiles": [{"schedulerName": "s", **config}],
    }
    return kube.parse_configuration(data)[0]


def _cluster(nodes, running, pending):
    bound, pending_workload = workload_from_pods(running), workload_from_pods([pending])
    state = ClusterState.for_workloads(nodes, bound, pending_workload, namespaces=NAMESPACE_OBJECTS)
    for i, p in enumerate(running):
        state.bind(state.node_index[p["spec"]["nodeName"]], state.pod_request(bound, i))
    return state, state.pod_request(pending_workload, 0)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_vectorised_profile_matches_object_api(scenario):
    nodes, running, pending, config = scenario
    profile = _profile(config)
    vector = VectorProfile(profile)
    state, request = _cluster(nodes, running, pending)

    p, infos = kube.cluster(pending, nodes, running)
    namespaces = kube.parse_namespaces(NAMESPACE_OBJECTS)
    expected = run_filters(profile.filter_plugins, p, infos, {NAMESPACES: namespaces})
    got = vector.filter_statuses(state, request)
    assert [expected[n.name] for n in infos] == got
    feasible_mask = vector.filter(state, request)
    assert [s is None for s in got] == feasible_mask.tolist()

    feasible = [info for info in infos if expected[info.name] is None]
    if not feasible:
        return
    idx = np.flatnonzero(feasible_mask)
    vector_scores = vector.plugin_scores(state, request, idx)
    state_obj: dict = {NAMESPACES: namespaces, ALL_NODES: infos}
    total = np.zeros(len(feasible), dtype=np.int64)
    for plugin, weight in profile.score_plugins:
        scores = run_score_plugin(plugin, p, feasible, state_obj)
        if scores is None:
            assert plugin.name not in vector_scores
            continue
        assert vector_scores[plugin.name].tolist() == list(scores), plugin.name
        total += weight * np.asarray(scores, dtype=np.int64)
    if profile.score_plugins:
        assert vector.score(state, request, idx).tolist() == total.tolist()


@pytest.mark.parametrize("name", sorted(REGISTRY))
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios())
def test_every_registered_plugin_agrees_with_its_object_form(name, scenario):
    """Each plugin alone (upstream default args): its vectorised Filter (static checks, dynamic fits and their
    reasons), its queueing hint on every node and its scores are its object-level Filter and Score."""
    nodes, running, pending, _ = scenario
    plugin = new_plugin(name)
    profile = kube.Profile(
        scheduler_name="s",
        filter_plugins=(plugin,) if plugin.filters else (),
        score_plugins=((plugin, 1),) if plugin.scores else (),
    )
    vector = VectorProfile(profile)
    state, request = _cluster(nodes, running, pending)
    p, infos = kube.cluster(pending, nodes, running)
    namespaces = kube.parse_namespaces(NAMESPACE_OBJECTS)

    expected = run_filters(profile.filter_plugins, p, infos, {NAMESPACES: namespaces})
    # After every plugin, the vectorised profile checks that the pod's GPU devices fit (not a kube plugin).
    devices = Status(UNSCHEDULABLE, (ERR_REASON_GPU_DEVICES,), GPU_DEVICES)
    gpu_ok = state.gpu_fit(request)
    for j, info in enumerate(infos):
        if expected[info.name] is None and not gpu_ok[j]:
            expected[info.name] = devices
    got = vector.filter_statuses(state, request)
    assert got == [expected[n.name] for n in infos]
    feasible_mask = vector.filter(state, request)
    assert feasible_mask.tolist() == [s is None for s in got]
    # The queueing hint of one node is the Filter of that node (as the pending pod waits unschedulable).
    waiting = UnschedulablePods(len(state.resources))
    waiting.add(0, request, 0.0)
    assert [bool(waiting.fitting(state, vector, j)) for j in range(state.num_nodes)] == feasible_mask.tolist()
    if plugin.dynamic:
        ones = [True] * state.num_nodes
        hints = [
            bool(plugin.hint(state, request.requests[None, :], j, [request.template], np.zeros(1, np.int64))[0])
            for j in range(state.num_nodes)
        ]
        assert hints == (plugin.fits(state, request).tolist() if not plugin.skips_filter(request.template) else ones)

    feasible = [info for info in infos if expected[info.name] is None]
    if not plugin.scores or not feasible:
        return
    scores = run_score_plugin(plugin, p, feasible, {NAMESPACES: namespaces}, all_nodes=infos)
    vector_scores = vector.plugin_scores(state, request, np.flatnonzero(feasible_mask))
    if scores is None:
        assert name not in vector_scores
    else:
        assert vector_scores[name].tolist() == list(scores)
