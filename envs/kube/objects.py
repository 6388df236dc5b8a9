"""Pod and Node objects parsed from dicts shaped exactly as ``kubectl get -o json`` / ``-o yaml`` gives them.

Parsing converts once, at the edge: quantities become ints (cpu in milli-cores, everything else in
base units, rounded up as Go's ``MilliValue()``/``Value()``), and every malformed field raises a
KubeObjectError naming the object and the field path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from podgym.envs.kube.errors import KubeObjectError
from podgym.envs.kube.quantity import parse_quantity
from podgym.envs.kube.validation import parse_decimal_integer

CPU = "cpu"
MEMORY = "memory"
EPHEMERAL_STORAGE = "ephemeral-storage"
PODS = "pods"

TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
TOLERATION_OPERATORS = ("", "Equal", "Exists", "Gt", "Lt")
SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")
PROTOCOLS = ("TCP", "UDP", "SCTP")
PREEMPTION_POLICIES = ("PreemptLowerPriority", "Never")
# A host port without hostIP binds every address (pkg/scheduler/framework DefaultBindAllHostIP).
BIND_ALL_HOST_IP = "0.0.0.0"

ResourceList = dict[str, int]

INT32 = (-(2**31), 2**31 - 1)
# Valid, non-negative quantity texts already parsed: (is cpu, text) -> int (milli for cpu). Exact parsing through
# fractions costs tens of microseconds; a cluster's pods repeat a handful of texts ("100m", "500Mi").
_VALUES: dict[tuple[bool, str], int] = {}
_MAX_VALUES = 4096
INT64_MAX = 2**63 - 1


class _Reader:
    """Typed access to one object's fields; errors name the object and the field path."""

    def __init__(self, obj: str):
        self.obj = obj

    def error(self, path: str, problem: str) -> KubeObjectError:
        return KubeObjectError(problem, obj=self.obj, field=path)

    def get(self, data: Mapping[str, Any], key: str, path: str, kind: type | tuple[type, ...], default: Any = None):
        value = data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) and kind is not bool and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise self.error(f"{path}{key}", f"expected {_kind_name(kind)}, got bool {value!r}")
        if not isinstance(value, kind):
            raise self.error(f"{path}{key}", f"expected {_kind_name(kind)}, got {type(value).__name__} {value!r}")
        return value

    def mapping(self, data: Mapping[str, Any], key: str, path: str) -> dict[str, Any]:
        return self.get(data, key, path, dict, {})

    def items(self, data: Mapping[str, Any], key: str, path: str) -> list[Any]:
        return self.get(data, key, path, list, [])

    def string(self, data: Mapping[str, Any], key: str, path: str, default: str = "") -> str:
        return self.get(data, key, path, str, default)

    def integer(self, data: Mapping[str, Any], key: str, path: str, default: int, bounds: tuple[int, int]) -> int:
        """An integer field within `bounds` (the Go type's range, e.g. int32): out of range is an error, not a wrap."""
        value = self.get(data, key, path, int, default)
        if not bounds[0] <= value <= bounds[1]:
            raise self.error(f"{path}{key}", f"must be between {bounds[0]} and {bounds[1]}, got {value}")
        return value

    def string_map(self, data: Mapping[str, Any], key: str, path: str) -> dict[str, str]:
        raw = self.mapping(data, key, path)
        for k, v in raw.items():
            if not isinstance(v, str):
                raise self.error(f"{path}{key}.{k}", f"expected a string, got {type(v).__name__} {v!r}")
        return dict(raw)

    def resources(self, data: Mapping[str, Any], key: str, path: str) -> ResourceList:
        """A ResourceList (name -> quantity); negative quantities are rejected as the API server does."""
        out: ResourceList = {}
        for name, raw in self.mapping(data, key, path).items():
            if type(raw) is str:  # the common case: a quantity text seen before (pods of one template)
                value = _VALUES.get((name == CPU, raw))
                if value is not None:
                    out[name] = value
                    continue
            where = f"{path}{key}.{name}"
            q = parse_quantity(raw, field=where, obj=self.obj)
            if q.amount < 0:
                raise self.error(where, f"must be greater than or equal to 0, got {raw!r}")
            value = q.milli_value() if name == CPU else q.value()
            if value > INT64_MAX:
                unit = "milli-units" if name == CPU else "units"
                raise self.error(
                    where, f"quantity {raw!r} overflows: more than 2^63-1 {unit}, the most Kubernetes holds"
                )
            if type(raw) is str:
                if len(_VALUES) >= _MAX_VALUES:
                    _VALUES.clear()
                _VALUES[(name == CPU, raw)] = value
            out[name] = value
        return out


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {dict: "an object", list: "a list", str: "a string", int: "an integer", bool: "a boolean"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


@dataclass(frozen=True)
class Taint:
    """A node taint (``spec.taints[i]``)."""

    key: str
    value: str
    effect: str


@dataclass(frozen=True)
class Toleration:
    """A pod toleration (``spec.tolerations[i]``)."""

    key: str = ""
    operator: str = ""
    value: str = ""
    effect: str = ""

    def tolerates(self, taint: Taint) -> bool:
        """Upstream ``Toleration.ToleratesTaint`` (k8s.io/api/core/v1/toleration.go)."""
        if self.effect and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        if self.operator in ("", "Equal"):
            return self.value == taint.value
        if self.operator == "Exists":
            return True
        if self.operator in ("Gt", "Lt"):
            taint_value, toleration_value = parse_decimal_integer(taint.value), parse_decimal_integer(self.value)
            if taint_value is None or toleration_value is None:
                return False
            return taint_value > toleration_value if self.operator == "Gt" else taint_value < toleration_value
        return False


@dataclass(frozen=True)
class SelectorRequirement:
    """A ``matchExpressions`` / ``matchFields`` entry of a NodeSelectorTerm."""

    key: str
    operator: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class SelectorTerm:
    """A NodeSelectorTerm: its expressions and fields are ANDed; an empty term matches nothing."""

    match_expressions: tuple[SelectorRequirement, ...] = ()
    match_fields: tuple[SelectorRequirement, ...] = ()


@dataclass(frozen=True)
class PreferredTerm:
    """A ``preferredDuringSchedulingIgnoredDuringExecution`` entry."""

    weight: int
    preference: SelectorTerm


LABEL_SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
WHEN_UNSATISFIABLE = ("DoNotSchedule", "ScheduleAnyway")
NODE_INCLUSION_POLICIES = ("Honor", "Ignore")
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class LabelSelector:
    """A metav1.LabelSelector as labels.Selector matches it: its requirements are ANDed; an empty selector (``{}``)
    matches every label set, and `nothing` (the selector of an absent field) matches none."""

    requirements: tuple[SelectorRequirement, ...] = ()
    nothing: bool = False

    @property
    def empty(self) -> bool:
        """labels.Selector.Empty(): no requirement (``{}``), which matches everything."""
        return not self.nothing and not self.requirements

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.nothing:
            return False
        for r in self.requirements:
            has = r.key in labels
            op = r.operator
            if op == "In":
                ok = has and labels[r.key] in r.values
            elif op == "NotIn":
                ok = not has or labels[r.key] not in r.values
            elif op == "Exists":
                ok = has
            else:  # DoesNotExist
                ok = not has
            if not ok:
                return False
        return True

    def with_requirements(self, extra: tuple[SelectorRequirement, ...]) -> LabelSelector:
        """The selector with `extra` requirements ANDed (matchLabelKeys merged as the API server merges them)."""
        if not extra or self.nothing:
            return self
        return LabelSelector(tuple(dict.fromkeys(extra + self.requirements)))


NOTHING = LabelSelector(nothing=True)

# The kinds of a bound pod's affinity terms, as ClusterState keeps them and InterPodAffinity reads them.
REQUIRED_AFFINITY = "requiredAffinity"
REQUIRED_ANTI_AFFINITY = "requiredAntiAffinity"
PREFERRED_AFFINITY = "preferredAffinity"
PREFERRED_ANTI_AFFINITY = "preferredAntiAffinity"


@dataclass(frozen=True)
class TopologySpreadConstraint:
    """A ``spec.topologySpreadConstraints[i]`` entry; unset optional fields are None (upstream's defaults apply)."""

    max_skew: int
    topology_key: str
    when_unsatisfiable: str
    selector: LabelSelector
    min_domains: int | None = None
    node_affinity_policy: str | None = None
    node_taints_policy: str | None = None
    match_label_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class PodAffinityTerm:
    """A PodAffinityTerm. `namespaces` empty and `namespace_selector` None mean the pod's own namespace."""

    selector: LabelSelector
    topology_key: str
    namespaces: tuple[str, ...] = ()
    namespace_selector: LabelSelector | None = None
    match_label_keys: tuple[str, ...] = ()
    mismatch_label_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class WeightedPodAffinityTerm:
    """A ``preferredDuringSchedulingIgnoredDuringExecution`` entry of podAffinity / podAntiAffinity."""

    weight: int
    term: PodAffinityTerm


@dataclass(frozen=True)
class OwnerReference:
    """A ``metadata.ownerReferences[i]`` entry."""

    api_version: str
    kind: str
    name: str
    uid: str = ""
    controller: bool = False


@dataclass(frozen=True)
class Namespace:
    """A Namespace: its name and labels (what a namespaceSelector matches)."""

    name: str
    labels: dict[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class PodMatcher:
    """Which pods a spread constraint or an affinity term counts (fwk.AffinityTerm.Matches): a pod whose namespace is
    in `namespaces` or has labels `namespace_selector` matches, and whose labels `selector` matches."""

    selector: LabelSelector
    namespaces: frozenset[str]
    namespace_selector: LabelSelector = NOTHING
    live_only: bool = False  # terminating pods do not match (PodTopologySpread's countPodsMatchSelector)

    def __post_init__(self) -> None:
        # Looked up per scheduling decision (envs.cluster.BoundPods.count): hash once.
        fields = (self.selector, self.namespaces, self.namespace_selector, self.live_only)
        object.__setattr__(self, "_hash", hash(fields))

    def __hash__(self) -> int:
        return self._hash  # type: ignore[attr-defined]

    def matches(
        self, namespace: str, labels: Mapping[str, str], ns_labels: Mapping[str, str], terminating: bool = False
    ) -> bool:
        if terminating and self.live_only:
            return False
        if namespace not in self.namespaces and not self.namespace_selector.matches(ns_labels):
            return False
        return self.selector.matches(labels)


def term_matcher(term: PodAffinityTerm, namespace: str) -> PodMatcher:
    """The matcher of a pod's affinity term: no namespaces and no namespaceSelector mean the pod's own namespace."""
    if not term.namespaces and term.namespace_selector is None:
        return PodMatcher(term.selector, frozenset((namespace,)))
    return PodMatcher(term.selector, frozenset(term.namespaces), term.namespace_selector or NOTHING)


def namespace_labels(namespaces: Mapping[str, Namespace] | None, name: str) -> dict[str, str]:
    """The labels of namespace `name`: those given, else what the API server sets on every namespace."""
    ns = (namespaces or {}).get(name)
    return ns.labels if ns is not None else {NAMESPACE_NAME_LABEL: name}


@dataclass(frozen=True)
class HostPort:
    """A container port with a ``hostPort`` (> 0), as the node's used ports record it: an unset ``hostIP`` is
    0.0.0.0 and an unset ``protocol`` is TCP (HostPortInfo's sanitize)."""

    host_ip: str
    protocol: str
    port: int


@dataclass(frozen=True)
class ContainerImage:
    """A ``status.images`` entry of a node: the image's names and its size."""

    names: tuple[str, ...]
    size_bytes: int


@dataclass(frozen=True)
class Container:
    """The scheduling-relevant part of a container."""

    name: str
    requests: ResourceList
    restart_policy: str = ""
    image: str = ""
    host_ports: tuple[HostPort, ...] = ()

    @property
    def is_sidecar(self) -> bool:
        """A restartable init container (``restartPolicy: Always``)."""
        return self.restart_policy == "Always"


@dataclass(frozen=True)
class Pod:
    """A Pod, reduced to what scheduling reads. `raw` keeps the original dict."""

    name: str
    namespace: str
    uid: str
    labels: dict[str, str]
    node_name: str
    phase: str
    containers: tuple[Container, ...]
    init_containers: tuple[Container, ...]
    overhead: ResourceList
    pod_level_requests: ResourceList
    node_selector: dict[str, str]
    required_terms: tuple[SelectorTerm, ...] | None
    preferred_terms: tuple[PreferredTerm, ...]
    tolerations: tuple[Toleration, ...]
    priority: int
    scheduler_name: str
    topology_spread_constraints: tuple[TopologySpreadConstraint, ...]
    pod_affinity: tuple[PodAffinityTerm, ...]  # required
    pod_affinity_preferred: tuple[WeightedPodAffinityTerm, ...]
    pod_anti_affinity: tuple[PodAffinityTerm, ...]  # required
    pod_anti_affinity_preferred: tuple[WeightedPodAffinityTerm, ...]
    owner_references: tuple[OwnerReference, ...]
    raw: dict[str, Any] = field(repr=False, compare=False, hash=False)
    # The host ports the pod holds while it runs: its containers' and its sidecars' (util.GetHostPorts).
    host_ports: tuple[HostPort, ...] = ()
    preemption_policy: str = "PreemptLowerPriority"
    start_time: float | None = None  # status.startTime, seconds since the epoch (None: not started)

    @property
    def images(self) -> tuple[str, ...]:
        """The images of the init containers, then of the containers, as written in the spec."""
        return tuple(c.image for c in (*self.init_containers, *self.containers))

    @property
    def has_pod_affinity(self) -> bool:
        """Whether the pod carries any (anti-)affinity term to other pods."""
        return bool(
            self.pod_affinity
            or self.pod_affinity_preferred
            or self.pod_anti_affinity
            or self.pod_anti_affinity_preferred
        )

    @property
    def controller(self) -> OwnerReference | None:
        """The owner reference with ``controller: true`` (metav1.GetControllerOf), if any."""
        return next((o for o in self.owner_references if o.controller), None)

    @property
    def ref(self) -> str:
        """``namespace/name``, as kubectl and the scheduler's logs name a pod."""
        return f"{self.namespace}/{self.name}"

    @property
    def terminating(self) -> bool:
        """The pod is being deleted (``metadata.deletionTimestamp`` set)."""
        return bool((self.raw.get("metadata") or {}).get("deletionTimestamp"))

    @property
    def gated(self) -> bool:
        """The pod has scheduling gates (``spec.schedulingGates``): kube-scheduler's queue holds it until they go."""
        spec = self.raw.get("spec")
        return isinstance(spec, Mapping) and bool(spec.get("schedulingGates"))

    @property
    def is_terminal(self) -> bool:
        """Succeeded and Failed pods hold no resources; the scheduler's cache never sees them."""
        return self.phase in ("Succeeded", "Failed")


@dataclass(frozen=True)
class Node:
    """A Node, reduced to what scheduling reads. `raw` keeps the original dict."""

    name: str
    labels: dict[str, str]
    allocatable: ResourceList
    taints: tuple[Taint, ...]
    unschedulable: bool
    raw: dict[str, Any] = field(repr=False, compare=False, hash=False)
    images: tuple[ContainerImage, ...] = ()  # status.images

    @property
    def allowed_pods(self) -> int:
        """``status.allocatable.pods`` (0 when absent, as upstream's NodeInfo has it)."""
        return self.allocatable.get(PODS, 0)


def parse_list(items: Iterable[Any], parse: Callable[[Any], Any], container: str) -> list:
    """`parse` of each object of a list or of a whole ``kubectl get -o json`` List ({"kind": "NodeList", "items":
    [...]}); an error names its place in the `container` (``nodes[3]``)."""
    if isinstance(items, Mapping):
        items = items.get("items") or []
    out = []
    for i, item in enumerate(items):
        try:
            out.append(parse(item))
        except KubeObjectError as exc:
            raise exc.within(container=f"{container}[{i}]") from None
    return out


def _object_name(data: Any, kind: str) -> tuple[str, str]:
    if not isinstance(data, Mapping):
        raise KubeObjectError(f"expected a {kind} object (a mapping), got {type(data).__name__}", obj=kind)
    meta = data.get("metadata")
    if not isinstance(meta, Mapping):
        raise KubeObjectError("missing or not an object", obj=kind, field="metadata")
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        raise KubeObjectError("a non-empty string is required", obj=kind, field="metadata.name")
    namespace = meta.get("namespace") or "default"
    if not isinstance(namespace, str):
        raise KubeObjectError(f"expected a string, got {namespace!r}", obj=f"{kind} {name}", field="metadata.namespace")
    return name, namespace


def _requirement(r: _Reader, data: Any, path: str) -> SelectorRequirement:
    if not isinstance(data, Mapping):
        raise r.error(path, "expected an object with key, operator and values")
    key = r.string(data, "key", f"{path}.")
    operator = r.string(data, "operator", f"{path}.")
    if operator not in SELECTOR_OPERATORS:
        raise r.error(f"{path}.operator", f"must be one of {', '.join(SELECTOR_OPERATORS)}, got {operator!r}")
    values = r.items(data, "values", f"{path}.")
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise r.error(f"{path}.values[{i}]", f"expected a string, got {type(v).__name__} {v!r}")
    return SelectorRequirement(key, operator, tuple(values))


def parse_selector_term(r: _Reader, data: Any, path: str) -> SelectorTerm:
    """A NodeSelectorTerm dict -> SelectorTerm."""
    if data is None:
        return SelectorTerm()
    if not isinstance(data, Mapping):
        raise r.error(path, "expected an object with matchExpressions and/or matchFields")
    return SelectorTerm(
        tuple(
            _requirement(r, e, f"{path}.matchExpressions[{i}]")
            for i, e in enumerate(r.items(data, "matchExpressions", f"{path}."))
        ),
        tuple(
            _requirement(r, e, f"{path}.matchFields[{i}]")
            for i, e in enumerate(r.items(data, "matchFields", f"{path}."))
        ),
    )


def parse_node_selector(r: _Reader, data: Any, path: str) -> tuple[SelectorTerm, ...] | None:
    """A NodeSelector ({nodeSelectorTerms: [...]}) -> its terms; None when absent."""
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise r.error(path, "expected an object with nodeSelectorTerms")
    terms = r.items(data, "nodeSelectorTerms", f"{path}.")
    return tuple(parse_selector_term(r, t, f"{path}.nodeSelectorTerms[{i}]") for i, t in enumerate(terms))


def parse_preferred_terms(r: _Reader, items: list[Any], path: str) -> tuple[PreferredTerm, ...]:
    """PreferredSchedulingTerm dicts -> PreferredTerms."""
    out = []
    for i, item in enumerate(items):
        where = f"{path}[{i}]"
        if not isinstance(item, Mapping):
            raise r.error(where, "expected an object with weight and preference")
        weight = r.integer(item, "weight", f"{where}.", 0, INT32)
        out.append(PreferredTerm(weight, parse_selector_term(r, item.get("preference"), f"{where}.preference")))
    return tuple(out)


def parse_label_selector(r: _Reader, data: Any, path: str) -> LabelSelector:
    """A metav1.LabelSelector dict -> LabelSelector (absent: matches nothing), checked as LabelSelectorAsSelector."""
    if data is None:
        return NOTHING
    if not isinstance(data, Mapping):
        raise r.error(path, "expected a label selector object with matchLabels and/or matchExpressions")
    reqs = [
        SelectorRequirement(k, "In", (v,)) for k, v in sorted(r.string_map(data, "matchLabels", f"{path}.").items())
    ]
    for i, e in enumerate(r.items(data, "matchExpressions", f"{path}.")):
        where = f"{path}.matchExpressions[{i}]"
        if not isinstance(e, Mapping):
            raise r.error(where, "expected an object with key, operator and values")
        key = r.string(e, "key", f"{where}.")
        operator = r.string(e, "operator", f"{where}.")
        if operator not in LABEL_SELECTOR_OPERATORS:
            raise r.error(
                f"{where}.operator", f"must be one of {', '.join(LABEL_SELECTOR_OPERATORS)}, got {operator!r}"
            )
        values = r.items(e, "values", f"{where}.")
        for j, v in enumerate(values):
            if not isinstance(v, str):
                raise r.error(f"{where}.values[{j}]", f"expected a string, got {type(v).__name__} {v!r}")
        if operator in ("In", "NotIn") and not values:
            raise r.error(f"{where}.values", "for 'in', 'notin' operators, values set can't be empty")
        if operator in ("Exists", "DoesNotExist") and values:
            raise r.error(f"{where}.values", "values set must be empty for exists and does not exist")
        reqs.append(SelectorRequirement(key, operator, tuple(values)))
    return LabelSelector(tuple(reqs))


def label_selector(data: Any, obj: str, field: str) -> LabelSelector:
    """A metav1.LabelSelector dict of object `obj` (e.g. ``PodDisruptionBudget ns/name``) at `field`; None (an absent
    selector) matches nothing, ``{}`` everything. Errors name the object and the field."""
    return parse_label_selector(_Reader(obj), data, field)


def _string_list(r: _Reader, data: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
    items = r.items(data, key, path)
    for i, v in enumerate(items):
        if not isinstance(v, str):
            raise r.error(f"{path}{key}[{i}]", f"expected a string, got {type(v).__name__} {v!r}")
    return tuple(items)


def parse_spread_constraint(r: _Reader, data: Any, path: str) -> TopologySpreadConstraint:
    """A TopologySpreadConstraint dict, checked as the API server validates it."""
    if not isinstance(data, Mapping):
        raise r.error(path, "expected an object with maxSkew, topologyKey, whenUnsatisfiable and labelSelector")
    p = f"{path}."
    max_skew = r.integer(data, "maxSkew", p, 0, INT32)
    if max_skew <= 0:
        raise r.error(f"{p}maxSkew", f"must be greater than zero, got {max_skew}")
    key = r.string(data, "topologyKey", p)
    if not key:
        raise r.error(f"{p}topologyKey", "can not be empty")
    when = r.string(data, "whenUnsatisfiable", p)
    if when not in WHEN_UNSATISFIABLE:
        raise r.error(f"{p}whenUnsatisfiable", f"must be one of {', '.join(WHEN_UNSATISFIABLE)}, got {when!r}")
    min_domains = data.get("minDomains")
    if min_domains is not None:
        min_domains = r.integer(data, "minDomains", p, 0, INT32)
        if min_domains <= 0:
            raise r.error(f"{p}minDomains", f"must be greater than 0, got {min_domains}")
        if when != "DoNotSchedule":
            raise r.error(f"{p}minDomains", "can only use minDomains if whenUnsatisfiable=DoNotSchedule")
    policies = []
    for name in ("nodeAffinityPolicy", "nodeTaintsPolicy"):
        value = data.get(name)
        if value is not None and value not in NODE_INCLUSION_POLICIES:
            raise r.error(f"{p}{name}", f"must be one of {', '.join(NODE_INCLUSION_POLICIES)}, got {value!r}")
        policies.append(value)
    return TopologySpreadConstraint(
        max_skew=max_skew,
        topology_key=key,
        when_unsatisfiable=when,
        selector=parse_label_selector(r, data.get("labelSelector"), f"{p}labelSelector"),
        min_domains=min_domains,
        node_affinity_policy=policies[0],
        node_taints_policy=policies[1],
        match_label_keys=_string_list(r, data, "matchLabelKeys", p),
    )


def label_key_requirements(
    labels: Mapping[str, str], match: tuple[str, ...], mismatch: tuple[str, ...] = ()
) -> tuple[SelectorRequirement, ...]:
    """matchLabelKeys (key In the pod's value) and mismatchLabelKeys (key NotIn it), for keys the pod has."""
    out = [SelectorRequirement(k, "In", (labels[k],)) for k in match if k in labels]
    out += [SelectorRequirement(k, "NotIn", (labels[k],)) for k in mismatch if k in labels]
    return tuple(out)


def parse_affinity_term(r: _Reader, data: Any, path: str, labels: Mapping[str, str]) -> PodAffinityTerm:
    """A PodAffinityTerm dict; matchLabelKeys/mismatchLabelKeys merged into the selector as the API server does."""
    if not isinstance(data, Mapping):
        raise r.error(path, "expected a pod affinity term object with labelSelector and topologyKey")
    p = f"{path}."
    key = r.string(data, "topologyKey", p)
    if not key:
        raise r.error(f"{p}topologyKey", "can not be empty")
    match = _string_list(r, data, "matchLabelKeys", p)
    mismatch = _string_list(r, data, "mismatchLabelKeys", p)
    selector = parse_label_selector(r, data.get("labelSelector"), f"{p}labelSelector")
    ns_selector = data.get("namespaceSelector")
    return PodAffinityTerm(
        selector=selector.with_requirements(label_key_requirements(labels, match, mismatch)),
        topology_key=key,
        namespaces=_string_list(r, data, "namespaces", p),
        namespace_selector=None
        if ns_selector is None
        else parse_label_selector(r, ns_selector, f"{p}namespaceSelector"),
        match_label_keys=match,
        mismatch_label_keys=mismatch,
    )


def _pod_affinity(
    r: _Reader, affinity: Mapping[str, Any], kind: str, labels: Mapping[str, str]
) -> tuple[tuple[PodAffinityTerm, ...], tuple[WeightedPodAffinityTerm, ...]]:
    path = f"spec.affinity.{kind}."
    data = r.mapping(affinity, kind, "spec.affinity.")
    required = tuple(
        parse_affinity_term(r, t, f"{path}requiredDuringSchedulingIgnoredDuringExecution[{i}]", labels)
        for i, t in enumerate(r.items(data, "requiredDuringSchedulingIgnoredDuringExecution", path))
    )
    preferred = []
    for i, item in enumerate(r.items(data, "preferredDuringSchedulingIgnoredDuringExecution", path)):
        where = f"{path}preferredDuringSchedulingIgnoredDuringExecution[{i}]"
        if not isinstance(item, Mapping):
            raise r.error(where, "expected an object with weight and podAffinityTerm")
        weight = r.integer(item, "weight", f"{where}.", 0, INT32)
        if not 1 <= weight <= 100:
            raise r.error(f"{where}.weight", f"must be in the range 1-100, got {weight}")
        term = parse_affinity_term(r, item.get("podAffinityTerm"), f"{where}.podAffinityTerm", labels)
        preferred.append(WeightedPodAffinityTerm(weight, term))
    return required, tuple(preferred)


def _owner_references(r: _Reader, meta: Mapping[str, Any]) -> tuple[OwnerReference, ...]:
    out = []
    for i, o in enumerate(r.items(meta, "ownerReferences", "metadata.")):
        where = f"metadata.ownerReferences[{i}]."
        if not isinstance(o, Mapping):
            raise r.error(where[:-1], "expected an owner reference object")
        out.append(
            OwnerReference(
                api_version=r.string(o, "apiVersion", where),
                kind=r.string(o, "kind", where),
                name=r.string(o, "name", where),
                uid=r.string(o, "uid", where),
                controller=r.get(o, "controller", where, bool, False),
            )
        )
    return tuple(out)


def parse_namespace(data: Any) -> Namespace:
    """Parse a Namespace dict (``kubectl get namespace -o json``); its labels are what namespaceSelectors match."""
    if isinstance(data, Namespace):
        return data
    name, _ = _object_name(data, "Namespace")
    r = _Reader(f"Namespace {name}")
    return Namespace(name, r.string_map(data["metadata"], "labels", "metadata."))


def _host_ports(r: _Reader, data: Mapping[str, Any], path: str) -> tuple[HostPort, ...]:
    """The container's ports that set a hostPort (> 0), with upstream's defaults for hostIP and protocol."""
    out = []
    for i, port in enumerate(r.items(data, "ports", f"{path}.")):
        where = f"{path}.ports[{i}]"
        if not isinstance(port, Mapping):
            raise r.error(where, "expected a container port object")
        r.integer(port, "containerPort", f"{where}.", 0, (0, 65535))
        host_port = r.integer(port, "hostPort", f"{where}.", 0, (0, 65535))
        protocol = r.string(port, "protocol", f"{where}.") or "TCP"
        if protocol not in PROTOCOLS:
            raise r.error(f"{where}.protocol", f"must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
        host_ip = r.string(port, "hostIP", f"{where}.") or BIND_ALL_HOST_IP
        if host_port > 0:
            out.append(HostPort(host_ip, protocol, host_port))
    return tuple(out)


def _timestamp(r: _Reader, data: Mapping[str, Any], key: str, path: str) -> float | None:
    """An RFC 3339 metav1.Time ("2026-01-02T03:04:05Z") as seconds since the epoch; None when absent."""
    text = r.string(data, key, path)
    if not text:
        return None
    try:  # Python 3.10's fromisoformat does not read a "Z" suffix
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        raise r.error(f"{path}{key}", f"expected an RFC 3339 time such as 2026-01-02T03:04:05Z, got {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _container(r: _Reader, data: Any, path: str) -> Container:
    if not isinstance(data, Mapping):
        raise r.error(path, "expected a container object")
    resources = r.mapping(data, "resources", f"{path}.")
    r.mapping(resources, "limits", f"{path}.resources.")  # not read (requests are), but a list is no ResourceList
    return Container(
        name=r.string(data, "name", f"{path}."),
        requests=r.resources(resources, "requests", f"{path}.resources."),
        restart_policy=r.string(data, "restartPolicy", f"{path}."),
        image=r.string(data, "image", f"{path}."),
        host_ports=_host_ports(r, data, path) if "ports" in data else (),
    )


def parse_pod(data: Any) -> Pod:
    """Parse a Pod dict (``kubectl get pod -o json``). Raises KubeObjectError on malformed fields."""
    if isinstance(data, Pod):
        return data
    name, namespace = _object_name(data, "Pod")
    r = _Reader(f"Pod {namespace}/{name}")
    spec = data.get("spec")
    if not isinstance(spec, Mapping):
        raise r.error("spec", "missing or not an object: a Pod needs a spec with containers")
    containers = r.items(spec, "containers", "spec.")
    meta = data["metadata"]
    affinity = r.mapping(spec, "affinity", "spec.")
    node_affinity = r.mapping(affinity, "nodeAffinity", "spec.affinity.")
    na_path = "spec.affinity.nodeAffinity."
    tolerations = []
    for i, t in enumerate(r.items(spec, "tolerations", "spec.")):
        where = f"spec.tolerations[{i}]"
        if not isinstance(t, Mapping):
            raise r.error(where, "expected a toleration object")
        tol = Toleration(
            key=r.string(t, "key", f"{where}."),
            operator=r.string(t, "operator", f"{where}."),
            value=r.string(t, "value", f"{where}."),
            effect=r.string(t, "effect", f"{where}."),
        )
        if tol.operator not in TOLERATION_OPERATORS:
            raise r.error(f"{where}.operator", f"must be one of Equal, Exists, Gt, Lt, got {tol.operator!r}")
        if tol.effect and tol.effect not in TAINT_EFFECTS:
            raise r.error(f"{where}.effect", f"must be one of {', '.join(TAINT_EFFECTS)}, got {tol.effect!r}")
        tolerations.append(tol)
    labels = r.string_map(meta, "labels", "metadata.")
    pod_affinity, pod_affinity_preferred = _pod_affinity(r, affinity, "podAffinity", labels)
    pod_anti_affinity, pod_anti_affinity_preferred = _pod_affinity(r, affinity, "podAntiAffinity", labels)
    spread = tuple(
        parse_spread_constraint(r, c, f"spec.topologySpreadConstraints[{i}]")
        for i, c in enumerate(r.items(spec, "topologySpreadConstraints", "spec."))
    )
    pod_resources = r.mapping(spec, "resources", "spec.")
    r.string_map(meta, "annotations", "metadata.")  # read by GPU-share and template code: a map of strings
    for stamp in ("creationTimestamp", "deletionTimestamp"):  # the queue's order; a pod being deleted
        _timestamp(r, meta, stamp, "metadata.")
    status = r.mapping(data, "status", "")
    regular = tuple(_container(r, c, f"spec.containers[{i}]") for i, c in enumerate(containers))
    init = tuple(
        _container(r, c, f"spec.initContainers[{i}]") for i, c in enumerate(r.items(spec, "initContainers", "spec."))
    )
    preemption_policy = r.string(spec, "preemptionPolicy", "spec.", "PreemptLowerPriority")
    if preemption_policy not in PREEMPTION_POLICIES:
        raise r.error(
            "spec.preemptionPolicy", f"must be one of {', '.join(PREEMPTION_POLICIES)}, got {preemption_policy!r}"
        )
    return Pod(
        name=name,
        namespace=namespace,
        uid=r.string(meta, "uid", "metadata.") or f"{namespace}/{name}",
        labels=labels,
        node_name=r.string(spec, "nodeName", "spec."),
        phase=r.string(status, "phase", "status."),
        containers=regular,
        init_containers=init,
        overhead=r.resources(spec, "overhead", "spec."),
        pod_level_requests=r.resources(pod_resources, "requests", "spec.resources."),
        node_selector=r.string_map(spec, "nodeSelector", "spec."),
        required_terms=parse_node_selector(
            r,
            node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution"),
            f"{na_path}requiredDuringSchedulingIgnoredDuringExecution",
        ),
        preferred_terms=parse_preferred_terms(
            r,
            r.items(node_affinity, "preferredDuringSchedulingIgnoredDuringExecution", na_path),
            f"{na_path}preferredDuringSchedulingIgnoredDuringExecution",
        ),
        tolerations=tuple(tolerations),
        priority=r.integer(spec, "priority", "spec.", 0, INT32),
        scheduler_name=r.string(spec, "schedulerName", "spec.", "default-scheduler"),
        topology_spread_constraints=spread,
        pod_affinity=pod_affinity,
        pod_affinity_preferred=pod_affinity_preferred,
        pod_anti_affinity=pod_anti_affinity,
        pod_anti_affinity_preferred=pod_anti_affinity_preferred,
        owner_references=_owner_references(r, meta),
        raw=data,
        host_ports=tuple(p for c in (*(c for c in init if c.is_sidecar), *regular) for p in c.host_ports),
        preemption_policy=preemption_policy,
        start_time=_timestamp(r, status, "startTime", "status."),
    )


def parse_node(data: Any) -> Node:
    """Parse a Node dict (``kubectl get node -o json``). Raises KubeObjectError on malformed fields."""
    if isinstance(data, Node):
        return data
    name, _ = _object_name(data, "Node")
    r = _Reader(f"Node {name}")
    spec = r.mapping(data, "spec", "")
    status = data.get("status")
    allocatable = status.get("allocatable") if isinstance(status, Mapping) else None
    if status is not None and not isinstance(status, Mapping):
        raise r.error("status", f"expected an object, got {type(status).__name__} {status!r}")
    if allocatable is not None and not isinstance(allocatable, Mapping):
        raise r.error("status.allocatable", f"expected an object, got {type(allocatable).__name__} {allocatable!r}")
    if allocatable is None:
        raise r.error("status.allocatable", "missing: a Node needs status.allocatable (as the kubelet reports it)")
    taints = []
    for i, t in enumerate(r.items(spec, "taints", "spec.")):
        where = f"spec.taints[{i}]"
        if not isinstance(t, Mapping):
            raise r.error(where, "expected a taint object with key, value and effect")
        taint = Taint(
            r.string(t, "key", f"{where}."), r.string(t, "value", f"{where}."), r.string(t, "effect", f"{where}.")
        )
        if taint.effect not in TAINT_EFFECTS:
            raise r.error(f"{where}.effect", f"must be one of {', '.join(TAINT_EFFECTS)}, got {taint.effect!r}")
        taints.append(taint)
    images = []
    for i, image in enumerate(r.items(status, "images", "status.")):
        where = f"status.images[{i}]"
        if not isinstance(image, Mapping):
            raise r.error(where, "expected an image object with names and sizeBytes")
        names = r.items(image, "names", f"{where}.")
        for k, image_name in enumerate(names):
            if not isinstance(image_name, str):
                raise r.error(
                    f"{where}.names[{k}]", f"expected a string, got {type(image_name).__name__} {image_name!r}"
                )
        images.append(ContainerImage(tuple(names), r.integer(image, "sizeBytes", f"{where}.", 0, (0, INT64_MAX))))
    return Node(
        name=name,
        labels=r.string_map(data["metadata"], "labels", "metadata."),
        allocatable=r.resources(status, "allocatable", "status."),
        taints=tuple(taints),
        unschedulable=r.get(spec, "unschedulable", "spec.", bool, False),
        raw=data,
        images=tuple(images),
    )
