"""Property-based fuzzing of every entry point that reads Kubernetes objects.

Pods, Nodes and ExtenderArgs are generated with hypothesis from real-shaped objects whose fields take
valid, malformed, overflowing and wrong-typed values. Whatever comes in, the parser answers a parsed
object or a KubeObjectError naming the object, and the extender answers 200 or a 400 in the verb's
result type, counted in its errors metric: never a 500, never another exception. The extender's HTTP
API is also fuzzed against its own OpenAPI document with schemathesis. Bounded to about a minute.
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from podgym.agents import make_policy
from podgym.envs.kube import parse_node, parse_pod
from podgym.envs.kube.errors import KubeObjectError
from podgym.envs.workload.objects import workload_from_pods
from podgym.plugin.cache import ClusterCache
from podgym.plugin.extender import create_app
from tests.kube.builders import node

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Values a field may hold in a hand-edited or corrupted object: every JSON type, big and odd numbers.
ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
QUANTITY = st.one_of(
    st.sampled_from(["100m", "1", "1Gi", "8Ei", "1e19", "9223372036854775808", "1e400", "1e-400", "-1", "1.5Ki"]),
    st.from_regex(r"\A[+-]?[0-9]{1,22}(\.[0-9]{0,3})?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|e[0-9]{1,3})?\Z"),
    st.integers(min_value=-(2**66), max_value=2**66),
    st.floats(min_value=-1e30, max_value=1e30),
    ODD,
)
RESOURCES = st.dictionaries(st.sampled_from(["cpu", "memory", "pods", "nvidia.com/gpu", "example.com/x"]), QUANTITY)
LABELS = st.one_of(st.dictionaries(st.sampled_from(["app", "zone", "k"]), st.one_of(st.text(max_size=5), ODD)), ODD)


def _maybe(value: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(value, ODD)


@st.composite
def pods(draw) -> dict:
    """A Pod dict, real-shaped, any field possibly odd."""
    container = st.fixed_dictionaries(
        {"name": st.just("c"), "resources": _maybe(st.fixed_dictionaries({"requests": _maybe(RESOURCES)}))}
    )
    term = {"matchFields": [{"key": "metadata.name", "operator": draw(_maybe(st.just("In"))), "values": ["n-0"]}]}
    spec = {
        "containers": draw(_maybe(st.lists(container, max_size=2))),
        "initContainers": draw(st.one_of(st.none(), st.lists(container, max_size=1))),
        "overhead": draw(st.one_of(st.none(), RESOURCES)),
        "priority": draw(st.one_of(st.none(), st.integers(min_value=-(2**40), max_value=2**40), ODD)),
        "nodeSelector": draw(st.one_of(st.none(), LABELS)),
        "tolerations": draw(st.one_of(st.none(), st.lists(_maybe(st.just({"operator": "Exists"})), max_size=2))),
        "affinity": draw(
            st.one_of(
                st.none(),
                st.just(
                    {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}}
                ),
                ODD,
            )
        ),
    }
    meta = {"name": draw(st.one_of(st.just("p"), ODD)), "namespace": draw(st.one_of(st.just("ns"), st.none(), ODD))}
    meta["labels"] = draw(st.one_of(st.none(), LABELS))
    meta["annotations"] = draw(
        st.one_of(st.none(), st.just({"podgym.io/gpu-count": "1", "podgym.io/gpu-milli": "500"}), LABELS)
    )
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": draw(st.one_of(st.just(spec), ODD))}


@st.composite
def nodes(draw) -> dict:
    """A Node dict, real-shaped, any field possibly odd."""
    taint = st.fixed_dictionaries({"key": st.just("k"), "effect": _maybe(st.just("NoSchedule"))})
    return {
        "kind": "Node",
        "metadata": {"name": draw(st.one_of(st.sampled_from(["n-0", "n-1"]), ODD)), "labels": draw(LABELS)},
        "spec": draw(
            _maybe(
                st.fixed_dictionaries(
                    {"taints": _maybe(st.lists(taint, max_size=2)), "unschedulable": st.one_of(st.booleans(), ODD)}
                )
            )
        ),
        "status": draw(_maybe(st.fixed_dictionaries({"allocatable": _maybe(RESOURCES)}))),
    }


def _parses_or_names_the_object(parse, obj) -> None:
    try:
        parse(obj)
    except KubeObjectError as exc:
        assert str(exc)  # a message that says what and where
        assert exc.obj or exc.field, f"no object nor field named in {exc}"


@FUZZ
@given(pods())
def test_pods_parse_or_raise_kube_object_error(obj):
    _parses_or_names_the_object(lambda o: workload_from_pods([parse_pod(o)]), obj)


@FUZZ
@given(nodes())
def test_nodes_parse_or_raise_kube_object_error(obj):
    _parses_or_names_the_object(parse_node, obj)


CLUSTER = [
    node("n-0", allocatable={"cpu": "4", "memory": "8Gi", "pods": "110"}),
    node("n-1", allocatable={"cpu": "8", "memory": "16Gi", "pods": "110", "nvidia.com/gpu": "2"}),
]


@pytest.fixture(scope="module")
def client():
    cache = ClusterCache()
    cache.set_state(CLUSTER, [])
    with TestClient(create_app(make_policy("kube-default"), cache), raise_server_exceptions=False) as c:
        yield c


def _errors(client, verb: str) -> int:
    text = client.get("/metrics").text
    return int(re.search(rf'podgym_extender_errors_total{{verb="{verb}"}} (\d+)', text).group(1))


@FUZZ
@given(
    verb=st.sampled_from(["filter", "prioritize"]),
    pod=pods(),
    names=st.one_of(st.just(["n-0", "n-1", "ghost"]), st.lists(st.text(max_size=4), max_size=3), ODD),
    by_objects=st.one_of(st.none(), st.lists(nodes(), max_size=2)),
)
def test_extender_answers_200_or_400_never_500(client, verb, pod, names, by_objects):
    args = {"Pod": pod, "NodeNames": names} if by_objects is None else {"Pod": pod, "Nodes": {"items": by_objects}}
    before = _errors(client, verb)
    r = client.post(f"/{verb}", content=json.dumps(args, default=str).encode())
    assert r.status_code in (200, 400), r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    if r.status_code == 400:
        assert _errors(client, verb) == before + 1
        assert isinstance(body["Error"], str) and body["Error"]
        if verb == "filter":
            assert set(body) == {"Nodes", "NodeNames", "FailedNodes", "FailedAndUnresolvableNodes", "Error"}


def test_the_reported_500s_are_400s_naming_the_field(client):
    """Decimal quantities past int64 and a wrong-typed annotations field, each a 400 naming its field."""
    base = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "resources": {"requests": {}}}]}}
    cases = {
        "spec.containers[0].resources.requests.memory": [
            {"memory": v} for v in ("1e19", "9223372036854775808", "1e400")
        ],
        "spec.containers[0].resources.requests.cpu": [{"cpu": "1e18"}, {"cpu": 10**19}],
    }
    for field, requests in cases.items():
        for req in requests:
            pod = json.loads(json.dumps(base))
            pod["spec"]["containers"][0]["resources"]["requests"] = req
            r = client.post("/prioritize", json={"Pod": pod, "NodeNames": ["n-0"]})
            assert r.status_code == 400 and f"field {field}" in r.json()["Error"], (req, r.text)
    pod = {**base, "metadata": {"name": "p", "annotations": "x"}}
    r = client.post("/filter", json={"Pod": pod, "NodeNames": ["n-0"]})
    assert r.status_code == 400 and "field metadata.annotations" in r.json()["Error"]
    assert r.json()["NodeNames"] is None and r.json()["FailedNodes"] == {}


# ---- the HTTP API against its own OpenAPI document ----------------------------------------------------------
schemathesis = pytest.importorskip("schemathesis")


def _schema():
    cache = ClusterCache()
    cache.set_state(CLUSTER, [])
    app = create_app(make_policy("kube-default"), cache, cache_api=True)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


SCHEMA = _schema()


@SCHEMA.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_schema(case):
    """Every route answers only the status codes, content types and bodies its OpenAPI document declares.

    The document does not encode all of a Pod's validation (a non-empty name...), so a schema-valid body
    may be refused: with a declared 400, which the status-code check covers.
    """
    from schemathesis.checks import positive_data_acceptance

    case.call_and_validate(excluded_checks=[positive_data_acceptance])
