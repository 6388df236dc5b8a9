"""Helpers for the PodTopologySpread and InterPodAffinity cases transcribed from upstream: pods and nodes written as
upstream's `st.MakePod()` / `st.MakeNode()` chains write them, and one check that runs a plugin both at the object
level (envs.kube) and vectorised (envs.scheduling over envs.cluster)."""

from __future__ import annotations

from typing import Any

import numpy as np

import podgym.envs.kube as kube
from podgym.envs.cluster import ClusterState
from podgym.envs.kube.cycle import run_filters, run_score_plugin
from podgym.envs.kube.framework import NAMESPACES
from podgym.envs.kube.plugins import new_plugin
from podgym.envs.scheduling import VectorProfile
from podgym.envs.workload.objects import workload_from_pods
from tests.kube.builders import bare_pod, on_node

SUCCESS = "Success"


def make_node(name: str, labels: dict[str, str] | None = None, taints: list[dict] | None = None) -> dict[str, Any]:
    """A node with exactly `labels` (upstream's MakeNode adds no hostname label)."""
    spec: dict[str, Any] = {"taints": list(taints)} if taints else {}
    alloc = {"pods": "110"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": dict(labels or {})},
        "spec": spec,
        "status": {"allocatable": alloc, "capacity": alloc},
    }


def make_pod(
    name: str,
    labels: dict[str, str] | None = None,
    *,
    node: str | None = None,
    namespace: str = "default",
    spread: list[dict] | None = None,
    affinity: dict | None = None,
    node_selector: dict[str, str] | None = None,
    owner: dict | None = None,
    terminating: bool = False,
) -> dict[str, Any]:
    p = bare_pod(name, namespace=namespace, labels=labels or {}, affinity=affinity, node_selector=node_selector)
    if spread:
        p["spec"]["topologySpreadConstraints"] = spread
    if owner:
        p["metadata"]["ownerReferences"] = [owner]
    if terminating:
        p["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return on_node(p, node) if node else p


def spread(
    max_skew: int, key: str, when: str, selector: dict | None, min_domains: int | None = None, **extra: Any
) -> dict:
    """st.SpreadConstraint(maxSkew, key, when, selector, minDomains, nodeAffinityPolicy, nodeTaintsPolicy, keys)."""
    c: dict[str, Any] = {"maxSkew": max_skew, "topologyKey": key, "whenUnsatisfiable": when}
    if selector is not None:
        c["labelSelector"] = selector
    if min_domains is not None:
        c["minDomains"] = min_domains
    c.update(extra)
    return c


def exists(key: str) -> dict:
    return {"matchExpressions": [{"key": key, "operator": "Exists"}]}


def _vector(plugin_name, args, pending, nodes, existing, namespaces):
    plugin = new_plugin(plugin_name, args)
    profile = kube.Profile("s", (plugin,), ((plugin, 1),))
    bound, incoming = workload_from_pods(existing), workload_from_pods([pending])
    state = ClusterState.for_workloads(nodes, bound, incoming, namespaces=namespaces or ())
    for i, p in enumerate(existing):
        state.bind(state.node_index[p["spec"]["nodeName"]], state.pod_request(bound, i))
    return VectorProfile(profile), state, state.pod_request(incoming, 0)


def filter_codes(
    plugin_name: str,
    pending: dict,
    nodes: list[dict],
    existing: list[dict],
    args: dict | None = None,
    namespaces: list[dict] | None = None,
) -> dict[str, str]:
    """{node: status code (or Success)} of the plugin's Filter; the vectorised form must give the same statuses."""
    plugin = new_plugin(plugin_name, args)
    pod, infos = kube.cluster(pending, nodes, existing)
    got = run_filters([plugin], pod, infos, {NAMESPACES: kube.parse_namespaces(namespaces)}, narrow=False)
    vector, state, request = _vector(plugin_name, args, pending, nodes, existing, namespaces)
    assert vector.filter_statuses(state, request) == [got[n.name] for n in infos]
    return {name: (s.code if s else SUCCESS) for name, s in got.items()}


def filter_messages(plugin_name, pending, nodes, existing, args=None, namespaces=None) -> dict[str, str | None]:
    filter_codes(plugin_name, pending, nodes, existing, args, namespaces)
    return kube.filter(pending, nodes, existing, plugin=plugin_name, args=args, namespaces=namespaces)


def scores(
    plugin_name: str,
    pending: dict,
    nodes: list[dict],
    existing: list[dict],
    filtered: list[str] | None = None,
    args: dict | None = None,
    namespaces: list[dict] | None = None,
) -> dict[str, int] | None:
    """{node: final score} over the `filtered` nodes (default: all), None when PreScore skips; the vectorised
    form must give the same."""
    plugin = new_plugin(plugin_name, args)
    pod, infos = kube.cluster(pending, nodes, existing)
    chosen = [i for i in infos if filtered is None or i.name in filtered]
    state = {NAMESPACES: kube.parse_namespaces(namespaces)}
    got = run_score_plugin(plugin, pod, chosen, state, all_nodes=infos)
    vector, cluster, request = _vector(plugin_name, args, pending, nodes, existing, namespaces)
    idx = np.array([cluster.node_index[i.name] for i in chosen], dtype=np.int64)
    vector_scores = vector.plugin_scores(cluster, request, idx)
    if got is None:
        assert plugin_name not in vector_scores
        return None
    assert vector_scores[plugin_name].tolist() == got
    return {i.name: s for i, s in zip(chosen, got)}
