"""Pod and Node objects parsed from dicts shaped exactly as ``kubectl get -o json`` / ``-o yaml`` gives them.

Parsing converts once, at the edge: quantities become ints (cpu in milli-cores, everything else in
base units, rounded up as Go's ``MilliValue()``/``Value()``), and every malformed field raises a
KubeObjectError naming the object and the field path.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    def ref(self) -> str:
        """``namespace/name``, as kubectl and the scheduler's logs name a pod."""
        return f"{self.namespace}/{self.name}"

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
    pod_resources = r.mapping(spec, "resources", "spec.")
    r.string_map(meta, "annotations", "metadata.")  # read by GPU-share and template code: a map of strings
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
        labels=r.string_map(meta, "labels", "metadata."),
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
    if not isinstance(status, Mapping) or not isinstance(status.get("allocatable"), Mapping):
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
