"""Kubernetes scheduling semantics on real objects, pinned to kube-scheduler v1.35.

Objects are plain dicts exactly as ``kubectl get -o json`` gives them. The functions here are the
object-level contract that the simulator, the heuristics and the plugin agree with::

    import podgym.envs.kube as kube
    kube.filter(pod, nodes, pods, plugin="TaintToleration")
    # -> {node_name: None if it fits, else the upstream reason}
    kube.score(pod, nodes, pods, plugin="NodeResourcesFit",
               args={"scoringStrategy": {"type": "MostAllocated", "resources": [{"name": "cpu", "weight": 1}]}})
    # -> {node_name: final score of that plugin, after NormalizeScore where upstream has one}
    kube.preempt(pod, nodes, pods, pdbs=pdbs)
    # -> PreemptionResult: nominated_node, victims, or the status saying why preemption does not help
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from podgym.envs.kube.cycle import (
    Decision,
    NodeVerdict,
    num_feasible_nodes_to_find,
    run_filters,
    run_score_plugin,
    schedule_one,
)
from podgym.envs.kube.disruption import PodDisruptionBudget, parse_pdb, parse_pdbs
from podgym.envs.kube.errors import KubeObjectError
from podgym.envs.kube.framework import NAMESPACES, Status, fit_error_message
from podgym.envs.kube.nodeinfo import NodeInfo, build_node_infos
from podgym.envs.kube.objects import Namespace, Node, Pod, parse_list, parse_namespace, parse_node, parse_pod
from podgym.envs.kube.plugins import REGISTRY, new_plugin
from podgym.envs.kube.plugins.defaultpreemption import Candidate, PreemptionResult
from podgym.envs.kube.profile import Profile, default_profile, load_profile, parse_configuration
from podgym.envs.kube.quantity import Quantity, parse_quantity
from podgym.envs.kube.resources import NON_ZERO_DEFAULTS
from podgym.envs.kube.resources import pod_requests as _pod_requests

KUBERNETES_VERSION = "v1.35"

ObjectLike = Mapping[str, Any]


def parse_nodes(nodes: Iterable[ObjectLike | Node]) -> list[Node]:
    """Parse Node dicts (a list or a ``kubectl get nodes -o json`` List); names must be unique."""
    parsed = parse_list(nodes, parse_node, "nodes")
    seen: set[str] = set()
    for n in parsed:
        if n.name in seen:
            raise KubeObjectError("duplicate node name", obj=f"Node {n.name}", field="metadata.name")
        seen.add(n.name)
    return parsed


def parse_pods(pods: Iterable[ObjectLike | Pod]) -> list[Pod]:
    """Parse Pod dicts (a list or a ``kubectl get pods -A -o json`` List), each pod once.

    As kube-scheduler's cache, pods are keyed by ``metadata.uid`` (else ``namespace/name``): a pod listed twice
    counts once, its last listing in the place of its first.
    """
    unique: dict[str, Pod] = {}
    for p in parse_list(pods, parse_pod, "pods"):
        unique[p.uid] = p
    return list(unique.values())


def parse_namespaces(namespaces: Iterable[ObjectLike | Namespace] | None) -> dict[str, Namespace]:
    """Namespace dicts (a list or a ``kubectl get namespaces -o json`` List) by name. A namespace not given has
    upstream's default: only the label ``kubernetes.io/metadata.name`` the API server sets on every namespace."""
    return {ns.name: ns for ns in parse_list(namespaces or (), parse_namespace, "namespaces")}


def cluster(
    pod: ObjectLike | Pod, nodes: Iterable[ObjectLike | Node], pods: Iterable[ObjectLike | Pod] = ()
) -> tuple[Pod, list[NodeInfo]]:
    """Parse a pod, nodes and running pods into the scheduler's view: the Pod and one NodeInfo per node."""
    return parse_pod(pod), build_node_infos(parse_nodes(nodes), parse_pods(pods))


def filter_status(
    pod: ObjectLike,
    nodes: Iterable[ObjectLike],
    pods: Iterable[ObjectLike] = (),
    plugin: str | None = None,
    args: dict[str, Any] | None = None,
    profile: Profile | None = None,
    namespaces: Iterable[ObjectLike | Namespace] | None = None,
) -> dict[str, Status | None]:
    """PreFilter + Filter of one plugin (or, with plugin=None, every Filter plugin of `profile`, in order,
    as a scheduling cycle runs them: a PreFilterResult then leaves the other nodes out). `namespaces`: the
    Namespace objects a namespaceSelector matches against (see ``parse_namespaces``).

    Returns {node_name: None if the pod passes, else the Status (code, reasons, plugin)}.
    """
    p, infos = cluster(pod, nodes, pods)
    state = {NAMESPACES: parse_namespaces(namespaces)}
    if plugin:
        return run_filters([new_plugin(plugin, args)], p, infos, state, narrow=False)
    return run_filters(list((profile or default_profile()).filter_plugins), p, infos, state)


def filter(
    pod: ObjectLike,
    nodes: Iterable[ObjectLike],
    pods: Iterable[ObjectLike] = (),
    plugin: str | None = None,
    args: dict[str, Any] | None = None,
    profile: Profile | None = None,
    namespaces: Iterable[ObjectLike | Namespace] | None = None,
) -> dict[str, str | None]:
    """{node_name: None if the pod fits, else the upstream reason message} for one plugin (or the profile)."""
    statuses = filter_status(pod, nodes, pods, plugin, args, profile, namespaces)
    return {name: (s.message if s else None) for name, s in statuses.items()}


def score(
    pod: ObjectLike,
    nodes: Iterable[ObjectLike],
    pods: Iterable[ObjectLike] = (),
    plugin: str = "NodeResourcesFit",
    args: dict[str, Any] | None = None,
    namespaces: Iterable[ObjectLike | Namespace] | None = None,
) -> dict[str, int]:
    """{node_name: the plugin's final score (after NormalizeScore over the given nodes)}; 0s when it Skips."""
    p, infos = cluster(pod, nodes, pods)
    instance = new_plugin(plugin, args)
    if not instance.scores:
        raise KubeObjectError(f"plugin {plugin!r} has no Score extension point", field="plugin")
    scores = run_score_plugin(instance, p, infos, {NAMESPACES: parse_namespaces(namespaces)})
    return {n.name: (scores[i] if scores is not None else 0) for i, n in enumerate(infos)}


def preempt(
    pod: ObjectLike,
    nodes: Iterable[ObjectLike],
    pods: Iterable[ObjectLike] = (),
    pdbs: Iterable[ObjectLike | PodDisruptionBudget] = (),
    args: dict[str, Any] | None = None,
    profile: Profile | None = None,
    offset: int = 0,
    namespaces: Iterable[ObjectLike | Namespace] | None = None,
) -> PreemptionResult:
    """DefaultPreemption's PostFilter for `pod` after Filter of `profile` (default: the default profile) rejected it
    on every node: the nominated node and the victims (``PreemptionResult``), or the reason preemption does not
    help, with upstream's messages. `pdbs` are PodDisruptionBudgets (policy/v1 dicts or a ``kubectl get pdb -A -o
    json`` List); `args` DefaultPreemptionArgs (default: the profile's, else upstream's); `offset` where the dry run
    starts among the candidate nodes (upstream draws it at random); `namespaces` Namespace objects, as for
    ``filter``. A pod that fits some node is an error."""
    p, infos = cluster(pod, nodes, pods)
    ns = parse_namespaces(namespaces)
    profile = profile or default_profile()
    plugin = new_plugin("DefaultPreemption", args) if args is not None or profile.preemption is None else None
    plugin = plugin or profile.preemption
    statuses = run_filters(profile.filter_plugins, p, infos, {NAMESPACES: ns})
    fitting = [name for name, status in statuses.items() if status is None]
    if fitting:
        raise KubeObjectError(
            f"the pod fits node(s) {', '.join(fitting)}: kube-scheduler preempts only when no node fits",
            obj=f"Pod {p.ref}",
        )
    return plugin.post_filter(p, infos, statuses, profile.filter_plugins, parse_pdbs(pdbs), offset, ns)


def fit_error(pod: ObjectLike, nodes: Iterable[ObjectLike], pods: Iterable[ObjectLike] = (), **kwargs: Any) -> str:
    """The FailedScheduling message kube-scheduler records for a pod no node fits, its preemption outcome included
    ("0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims
    found for incoming pod.."); `kwargs` as for ``preempt``; a profile without DefaultPreemption adds nothing."""
    p, infos = cluster(pod, nodes, pods)
    profile = kwargs.get("profile") or default_profile()
    statuses = run_filters(profile.filter_plugins, p, infos, {NAMESPACES: parse_namespaces(kwargs.get("namespaces"))})
    runs = profile.preemption is not None or kwargs.get("args") is not None  # a profile without PostFilter: none
    message = preempt(pod, nodes, pods, **kwargs).message if runs else ""
    return fit_error_message(len(infos), [statuses[n.name] for n in infos], post_filter_msg=message)


def pod_requests(pod: ObjectLike, non_zero: bool = False) -> dict[str, int]:
    """The pod's effective requests: cpu in milli-cores, the rest in base units.

    With `non_zero`, a container that sets no cpu/memory request counts 100m / 200Mi (scoring only).
    """
    return _pod_requests(parse_pod(pod), NON_ZERO_DEFAULTS if non_zero else None)


def schedule(
    pod: ObjectLike,
    nodes: Iterable[ObjectLike],
    pods: Iterable[ObjectLike] = (),
    profile: Profile | None = None,
    seed: int | None = 0,
    start_index: int = 0,
    namespaces: Iterable[ObjectLike | Namespace] | None = None,
) -> Decision:
    """One full scheduling cycle of `profile` (default: kube-scheduler's default profile) for `pod`."""
    p, infos = cluster(pod, nodes, pods)
    rng = np.random.default_rng(seed) if seed is not None else None
    return schedule_one(p, infos, profile or default_profile(), rng, start_index, parse_namespaces(namespaces))


__all__ = [
    "KUBERNETES_VERSION",
    "REGISTRY",
    "Candidate",
    "Decision",
    "KubeObjectError",
    "Namespace",
    "Node",
    "NodeInfo",
    "NodeVerdict",
    "Pod",
    "PodDisruptionBudget",
    "PreemptionResult",
    "Profile",
    "Quantity",
    "Status",
    "cluster",
    "default_profile",
    "filter",
    "filter_status",
    "fit_error",
    "load_profile",
    "num_feasible_nodes_to_find",
    "parse_configuration",
    "parse_namespaces",
    "parse_node",
    "parse_pdb",
    "parse_pod",
    "parse_quantity",
    "pod_requests",
    "preempt",
    "schedule",
]
