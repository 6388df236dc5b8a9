"""NodeAffinity: nodeSelector and required node affinity filter; preferred terms score.

Matching follows k8s.io/component-helpers/scheduling/corev1/nodeaffinity: terms are ORed, the
expressions and fields inside a term are ANDed, an empty term matches nothing, and a term with an
invalid requirement (e.g. Gt with a non-integer) never matches.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from podgym.envs.kube.errors import KubeObjectError
from podgym.envs.kube.framework import (
    MAX_NODE_SCORE,
    UNSCHEDULABLE_AND_UNRESOLVABLE,
    Check,
    CycleState,
    Plugin,
    Status,
    default_normalize_score,
    normalize,
    prefilter_reason,
)
from podgym.envs.kube.nodeinfo import NodeInfo
from podgym.envs.kube.objects import (
    Node,
    Pod,
    PreferredTerm,
    SelectorRequirement,
    SelectorTerm,
    _Reader,
    parse_node_selector,
    parse_preferred_terms,
)
from podgym.envs.kube.plugins.args import NodeAffinityArgs, parse_args
from podgym.envs.kube.validation import label_value_error, parse_int64, qualified_name_error

if TYPE_CHECKING:  # envs.cluster imports envs.kube: for annotations only
    from podgym.envs.cluster import ClusterState, PodRequest

ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector"
ERR_REASON_ENFORCED = "node(s) didn't match scheduler-enforced node affinity"
ERR_REASON_CONFLICT = "pod affinity terms conflict"
OBJECT_NAME_FIELD = "metadata.name"


def requirement_error(req: SelectorRequirement, *, field: bool = False) -> str | None:
    """Why `req` is not a valid requirement (labels.NewRequirement / field selector rules), or None."""
    if field:
        if req.key != OBJECT_NAME_FIELD:
            return f"{req.key!r} is not a valid field selector key"
        if req.operator not in ("In", "NotIn"):
            return f"{req.operator!r} is not a valid field selector operator"
        if len(req.values) != 1:
            return "must have one element"
        return None
    key_problem = qualified_name_error(req.key)
    if key_problem:
        return f"key: Invalid value: {req.key!r}: {key_problem}"
    if req.operator in ("In", "NotIn") and not req.values:
        return "for 'in', 'notin' operators, values set can't be empty"
    if req.operator in ("Exists", "DoesNotExist") and req.values:
        return "values set must be empty for exists and does not exist"
    if req.operator in ("Gt", "Lt") and (len(req.values) != 1 or parse_int64(req.values[0]) is None):
        return "for 'Gt', 'Lt' operators, exactly one value is required and it must be an integer"
    for value in req.values:
        value_problem = label_value_error(value)
        if value_problem:
            return f"values: Invalid value: {value!r}: {value_problem}"
    return None


def _label_matches(req: SelectorRequirement, labels: dict[str, str]) -> bool:
    has = req.key in labels
    op = req.operator
    if op == "In":
        return has and labels[req.key] in req.values
    if op == "NotIn":
        return not has or labels[req.key] not in req.values
    if op == "Exists":
        return has
    if op == "DoesNotExist":
        return not has
    if not has:
        return False
    value = parse_int64(labels[req.key])
    if value is None:
        return False
    bound = parse_int64(req.values[0])
    return value > bound if op == "Gt" else value < bound


def term_matches(term: SelectorTerm, node: Node) -> bool:
    """Whether a NodeSelectorTerm matches `node`; empty or invalid terms match nothing."""
    if not term.match_expressions and not term.match_fields:
        return False
    if any(requirement_error(r) for r in term.match_expressions):
        return False
    if any(requirement_error(r, field=True) for r in term.match_fields):
        return False
    if not all(_label_matches(r, node.labels) for r in term.match_expressions):
        return False
    fields = {OBJECT_NAME_FIELD: node.name}
    return all((fields[r.key] == r.values[0]) == (r.operator == "In") for r in term.match_fields)


def node_selector_matches(terms: Iterable[SelectorTerm], node: Node) -> bool:
    """Whether any of the ORed terms matches (an empty list matches nothing)."""
    return any(term_matches(t, node) for t in terms)


def required_affinity_matches(pod: Pod, node: Node) -> bool:
    """nodeaffinity.GetRequiredNodeAffinity(pod).Match(node): nodeSelector AND required terms."""
    if any(node.labels.get(k) != v for k, v in pod.node_selector.items()):
        return False
    return pod.required_terms is None or node_selector_matches(pod.required_terms, node)


def preferred_score(terms: Iterable[PreferredTerm], node: Node) -> int:
    """Sum of the weights of matching preferred terms (weight-0 and empty terms are ignored)."""
    return sum(t.weight for t in terms if t.weight != 0 and term_matches(t.preference, node))


def pinned_node_names(pod: Pod) -> set[str] | None:
    """The node names the pod's required terms pin through metadata.name (PreFilterResult); None: any node.

    Terms are ORed, so one term that pins no name allows every node; an empty set means the terms conflict.
    """
    if not pod.required_terms:
        return None
    names: set[str] = set()
    for term in pod.required_terms:
        term_names: set[str] | None = None
        for r in term.match_fields:
            if r.key == OBJECT_NAME_FIELD and r.operator == "In":
                term_names = set(r.values) if term_names is None else term_names & set(r.values)
        if term_names is None:
            return None
        names |= term_names
    return names


# ---- vectorised matching over a ClusterState's label columns ---------------------------------------------
def term_mask(cluster: ClusterState, term: SelectorTerm) -> np.ndarray:
    """Nodes a NodeSelectorTerm matches (term_matches over every node)."""
    n = cluster.num_nodes
    if not term.match_expressions and not term.match_fields:
        return np.zeros(n, dtype=bool)
    mask = np.ones(n, dtype=bool)
    labels = cluster.labels
    for r in term.match_expressions:
        if requirement_error(r):
            return np.zeros(n, dtype=bool)
        if r.operator == "In":
            mask &= labels.equals(r.key, r.values)
        elif r.operator == "NotIn":
            mask &= ~labels.equals(r.key, r.values)
        elif r.operator == "Exists":
            mask &= labels.exists(r.key)
        elif r.operator == "DoesNotExist":
            mask &= ~labels.exists(r.key)
        else:
            mask &= labels.compare(r.key, int(r.values[0]), r.operator == "Gt")
    for r in term.match_fields:
        if requirement_error(r, field=True):
            return np.zeros(n, dtype=bool)
        same = cluster.names_array == r.values[0]
        mask &= same if r.operator == "In" else ~same
    return mask


def terms_mask(cluster: ClusterState, terms: tuple[SelectorTerm, ...]) -> np.ndarray:
    """Nodes any of the ORed terms matches."""
    mask = np.zeros(cluster.num_nodes, dtype=bool)
    for t in terms:
        mask |= term_mask(cluster, t)
    return mask


def preferred_scores(cluster: ClusterState, terms: tuple[PreferredTerm, ...]) -> np.ndarray:
    """Sum of the weights of matching preferred terms, per node."""
    out = np.zeros(cluster.num_nodes, dtype=np.int64)
    for t in terms:
        if t.weight != 0:
            out += t.weight * term_mask(cluster, t.preference)
    return out


def _has_preferred(pod: Pod) -> bool:
    """Whether the pod's spec sets preferred node affinity at all (even an empty list)."""
    return "preferredDuringSchedulingIgnoredDuringExecution" in (
        ((pod.raw.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {}
    )


def check_preferred_terms(terms: Iterable[PreferredTerm], obj: str, field: str) -> None:
    """Upstream errors the scheduling cycle on an invalid preferred term; podgym raises KubeObjectError."""
    for i, t in enumerate(terms):
        if t.weight == 0 or not (t.preference.match_expressions or t.preference.match_fields):
            continue
        for kind, reqs in (
            ("matchExpressions", t.preference.match_expressions),
            ("matchFields", t.preference.match_fields),
        ):
            for j, r in enumerate(reqs):
                problem = requirement_error(r, field=kind == "matchFields")
                if problem:
                    sub, _, text = (
                        problem.partition(": ") if problem.startswith(("key:", "values:")) else ("", "", problem)
                    )
                    path = f"{field}[{i}].preference.{kind}[{j}]" + (f".{sub}" if sub else "")
                    raise KubeObjectError(text, obj=obj, field=path)


class NodeAffinity(Plugin):
    name = "NodeAffinity"
    filters = True
    scores = True

    def __init__(self, args=None):
        super().__init__(args)
        added = parse_args(NodeAffinityArgs, args, self.name).added_affinity or {}
        r = _Reader(f"{self.name} args")
        path = "addedAffinity."
        self.added_required = parse_node_selector(
            r,
            added.get("requiredDuringSchedulingIgnoredDuringExecution"),
            f"{path}requiredDuringSchedulingIgnoredDuringExecution",
        )
        preferred = added.get("preferredDuringSchedulingIgnoredDuringExecution")
        self.added_preferred: tuple[PreferredTerm, ...] | None = None
        if preferred is not None:
            self.added_preferred = parse_preferred_terms(
                r,
                r.items(added, "preferredDuringSchedulingIgnoredDuringExecution", path),
                f"{path}preferredDuringSchedulingIgnoredDuringExecution",
            )
            check_preferred_terms(
                self.added_preferred, f"{self.name} args", f"{path}preferredDuringSchedulingIgnoredDuringExecution"
            )

    def pre_filter(self, state: CycleState, pod: Pod, nodes: list[NodeInfo]) -> Status | set[str] | None:
        names = pinned_node_names(pod)
        if names is not None and not names:
            return Status(UNSCHEDULABLE_AND_UNRESOLVABLE, (ERR_REASON_CONFLICT,), self.name)
        return names

    def filter(self, state: CycleState, pod: Pod, node: NodeInfo) -> Status | None:
        if self.added_required is not None and not node_selector_matches(self.added_required, node.node):
            return Status(UNSCHEDULABLE_AND_UNRESOLVABLE, (ERR_REASON_ENFORCED,), self.name)
        if not required_affinity_matches(pod, node.node):
            return Status(UNSCHEDULABLE_AND_UNRESOLVABLE, (ERR_REASON_POD,), self.name)
        return None

    def pre_score(self, state: CycleState, pod: Pod, nodes: list[NodeInfo]) -> bool:
        if not _has_preferred(pod) and self.added_preferred is None:
            return False
        check_preferred_terms(
            pod.preferred_terms,
            f"Pod {pod.ref}",
            "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution",
        )
        return True

    def score(self, state: CycleState, pod: Pod, node: NodeInfo) -> int:
        return preferred_score(pod.preferred_terms, node.node) + preferred_score(self.added_preferred or (), node.node)

    def normalize_score(self, state: CycleState, pod: Pod, scores: list[int]) -> list[int]:
        return default_normalize_score(MAX_NODE_SCORE, False, scores)

    # ---- vectorised ---------------------------------------------------------------------------------
    def static_pre_filter(self, cluster: ClusterState, pod: Pod) -> list[Check]:
        allowed = pinned_node_names(pod)
        if not allowed:  # None: any node; empty: the conflict Filter reports
            return []
        return [(prefilter_reason([self.name]), ~np.isin(cluster.names_array, sorted(allowed)))]

    def static_filter(self, cluster: ClusterState, pod: Pod) -> list[Check]:
        n = cluster.num_nodes
        allowed = pinned_node_names(pod)
        if allowed is not None and not allowed:  # every term pins metadata.name, and no name is left
            return [(ERR_REASON_CONFLICT, np.ones(n, dtype=bool))]
        checks = []
        if self.added_required is not None:
            checks.append((ERR_REASON_ENFORCED, ~terms_mask(cluster, self.added_required)))
        ok = np.ones(n, dtype=bool)
        for key, value in pod.node_selector.items():
            ok &= cluster.labels.equals(key, (value,))
        if pod.required_terms is not None:
            ok &= terms_mask(cluster, pod.required_terms)
        checks.append((ERR_REASON_POD, ~ok))
        return checks

    def static_score(self, cluster: ClusterState, pod: Pod) -> np.ndarray | None:
        if not _has_preferred(pod) and self.added_preferred is None:
            return None  # PreScore skips
        return preferred_scores(cluster, pod.preferred_terms) + preferred_scores(cluster, self.added_preferred or ())

    def vector_score(
        self, cluster: ClusterState, pod: PodRequest, nodes: np.ndarray, static: np.ndarray | None
    ) -> np.ndarray | None:
        return None if static is None else normalize(static[nodes], reverse=False)
