"""Cases from kubernetes/kubernetes (v1.35 era):

* pkg/scheduler/framework/plugins/interpodaffinity/filtering_test.go @ 072825f9a367 (TestRequiredAffinitySingleNode,
  TestRequiredAffinityMultipleNodes: the Filter status of each node)
* pkg/scheduler/framework/plugins/interpodaffinity/scoring_test.go @ 8a4d98ac2f6d (TestPreferredAffinity and
  TestPreferredAffinityWithHardPodAffinitySymmetricWeight: final scores, with the Namespace objects of its
  `namespaces`), plus a few cases built here and checked by hand against scoring.go.

Each case runs the plugin at the object level (envs.kube) and vectorised (envs.scheduling over a ClusterState): both
must give the same statuses and scores (spread_helpers).

Upstream behaviour pinned here:

* Filter, in order: the incoming pod's required affinity (every term's topology key on the node and, in that domain,
  a pod matching all the terms, unless no pod anywhere matches them and the pod matches them itself):
  UnschedulableAndUnresolvable "node(s) didn't match pod affinity rules"; its required anti-affinity (no matching
  pod in the node's domain of the term's key): Unschedulable "node(s) didn't match pod anti-affinity rules"; the
  existing pods' required anti-affinity terms that match the incoming pod (symmetry): Unschedulable "node(s) didn't
  satisfy existing pods anti-affinity rules". A term counts the pods of its namespaces (its own by default).
* Score: per topology domain, + weight for each pod the incoming pod's preferred affinity terms match, - weight for
  its preferred anti-affinity, + hardPodAffinityWeight for each existing pod whose required affinity matches the
  incoming pod, +/- weight for existing pods' preferred terms matching it; NormalizeScore
  int(100 * (s - min) / (max - min)).

Deviations: upstream's empty namespace "" is podgym's "default".

Left out: TestPreferredAffinity's two "invalid ... fails PreScore" cases (podgym does not validate label values of
pod selectors); "Doesn't satisfy the PodAffinity because of unmatching labelSelector" (a required term with an empty
topologyKey: the API server refuses such a pod, and so does podgym's parser); the two cases with an invalid label value
in a selector (upstream fails PreFilter; podgym does not validate label values of pod selectors);
TestRequiredAffinityMultipleNodes after its twelfth case, TestPreFilterStateAddRemovePod and
the queueing-hint tests (isSchedulableAfter*): preemption's AddPod/RemovePod is not implemented; the property test in
tests/sim/test_scheduling_parity.py draws random multi-node clusters against the object-level form.
"""

from __future__ import annotations

import pytest

from tests.kube.upstream.spread_helpers import SUCCESS, filter_messages, make_node, make_pod, scores

IPA = "InterPodAffinity"
AFF = "node(s) didn't match pod affinity rules"
ANTI = "node(s) didn't match pod anti-affinity rules"
EXISTING = "node(s) didn't satisfy existing pods anti-affinity rules"
NODE1 = make_node("node1", {"region": "r1", "zone": "z11"})
SERVICE = {"service": "securityscan"}
SECURITY = {"security": "S1"}


def term(key: str, op: str, topology: str, values: list[str] | None = None, **extra) -> dict:
    expr = {"key": key, "operator": op}
    if values is not None:
        expr["values"] = values
    return {"labelSelector": {"matchExpressions": [expr]}, "topologyKey": topology, **extra}


def affinity(required=(), anti=(), preferred=(), anti_preferred=()) -> dict:
    out: dict = {}
    if required or preferred:
        out["podAffinity"] = {}
        if required:
            out["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = list(required)
        if preferred:
            out["podAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"] = [
                {"weight": w, "podAffinityTerm": t} for w, t in preferred
            ]
    if anti or anti_preferred:
        out["podAntiAffinity"] = {}
        if anti:
            out["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = list(anti)
        if anti_preferred:
            out["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"] = [
                {"weight": w, "podAffinityTerm": t} for w, t in anti_preferred
            ]
    return out


EXISTING_POD = make_pod("existing", SERVICE, node="node1")
MULTI_OP_TERMS = [
    {
        "labelSelector": {
            "matchExpressions": [
                {"key": "service", "operator": "Exists"},
                {"key": "wrongkey", "operator": "DoesNotExist"},
            ]
        },
        "topologyKey": "region",
    },
]


def two_terms(value: str) -> list[dict]:
    return [
        *MULTI_OP_TERMS,
        {
            "labelSelector": {
                "matchExpressions": [
                    {"key": "service", "operator": "In", "values": [value]},
                    {"key": "service", "operator": "NotIn", "values": ["WrongValue"]},
                ]
            },
            "topologyKey": "region",
        },
    ]


SINGLE_NODE = [
    pytest.param(make_pod("p"), [], None, id="no required pod affinity rules, no existing pods"),
    pytest.param(
        make_pod("p", SECURITY, affinity=affinity([term("service", "In", "region", ["securityscan", "value2"])])),
        [EXISTING_POD],
        None,
        id="satisfies PodAffinity using In operator that matches the existing pod",
    ),
    pytest.param(
        make_pod("p", SECURITY, affinity=affinity([term("service", "NotIn", "region", ["securityscan3", "value3"])])),
        [EXISTING_POD],
        None,
        id="satisfies PodAffinity using not in operator in labelSelector that matches the existing pod",
    ),
    pytest.param(
        make_pod(
            "p",
            SECURITY,
            affinity=affinity(
                [term("service", "In", "region", ["securityscan", "value2"], namespaces=["DiffNameSpace"])]
            ),
        ),
        [make_pod("existing", SERVICE, node="node1", namespace="ns")],
        AFF,
        id="Does not satisfy the PodAffinity with labelSelector because of diff Namespace",
    ),
    pytest.param(
        make_pod("p", SECURITY, affinity=affinity(MULTI_OP_TERMS + two_terms("securityscan")[1:])),
        [EXISTING_POD],
        None,
        id="satisfies the PodAffinity with different label Operators in multiple terms",
    ),
    pytest.param(
        make_pod("p", SECURITY, affinity=affinity(two_terms("securityscan2"))),
        [EXISTING_POD],
        AFF,
        id="the labelSelector requirements are ANDed: one matchExpression item does not match",
    ),
    pytest.param(
        make_pod(
            "p",
            SECURITY,
            affinity=affinity(
                [term("service", "In", "region", ["securityscan", "value2"])],
                [term("service", "In", "node", ["antivirusscan", "value2"])],
            ),
        ),
        [EXISTING_POD],
        None,
        id="satisfies the PodAffinity and PodAntiAffinity with the existing pod",
    ),
    pytest.param(
        make_pod(
            "p",
            SECURITY,
            affinity=affinity(
                [term("service", "In", "region", ["securityscan", "value2"])],
                [term("service", "In", "node", ["antivirusscan", "value2"])],
            ),
        ),
        [
            make_pod(
                "existing",
                SERVICE,
                node="node1",
                affinity=affinity(anti=[term("service", "In", "node", ["antivirusscan", "value2"])]),
            )
        ],
        None,
        id="satisfies the PodAffinity and PodAntiAffinity and PodAntiAffinity symmetry with the existing pod",
    ),
    pytest.param(
        make_pod(
            "p",
            SECURITY,
            affinity=affinity(
                [term("service", "In", "region", ["securityscan", "value2"])],
                [term("service", "In", "zone", ["securityscan", "value2"])],
            ),
        ),
        [EXISTING_POD],
        ANTI,
        id="satisfies the PodAffinity but doesn't satisfy the PodAntiAffinity with the existing pod",
    ),
    pytest.param(
        make_pod(
            "p",
            SERVICE,
            affinity=affinity(
                [term("service", "In", "region", ["securityscan", "value2"])],
                [term("service", "In", "node", ["antivirusscan", "value2"])],
            ),
        ),
        [
            make_pod(
                "existing",
                SERVICE,
                node="node1",
                affinity=affinity(anti=[term("service", "In", "zone", ["securityscan", "value2"])]),
            )
        ],
        EXISTING,
        id="satisfies the PodAffinity and PodAntiAffinity but doesn't satisfy PodAntiAffinity symmetry",
    ),
    pytest.param(
        make_pod("p", SERVICE, affinity=affinity([term("service", "NotIn", "region", ["securityscan", "value2"])])),
        [make_pod("existing", SERVICE, node="node2")],
        AFF,
        id="pod matches its own Label in PodAffinity and that matches the existing pod Labels",
    ),
    pytest.param(
        make_pod("p", SERVICE),
        [
            make_pod(
                "existing",
                SERVICE,
                node="node1",
                affinity=affinity(anti=[term("service", "In", "zone", ["securityscan", "value2"])]),
            )
        ],
        EXISTING,
        id="PodAntiAffinity from existing pod is respected when pod has no AntiAffinity constraints (not satisfied)",
    ),
    pytest.param(
        make_pod("p", SERVICE),
        [
            make_pod(
                "existing",
                SERVICE,
                node="node1",
                affinity=affinity(anti=[term("service", "NotIn", "zone", ["securityscan", "value2"])]),
            )
        ],
        None,
        id="PodAntiAffinity from existing pod is respected when pod has no AntiAffinity constraints (satisfied)",
    ),
    pytest.param(
        make_pod(
            "p",
            SERVICE,
            affinity=affinity(anti=[term("service", "Exists", "region"), term("security", "Exists", "region")]),
        ),
        [make_pod("existing", SECURITY, node="node1", affinity=affinity(anti=[term("security", "Exists", "zone")]))],
        ANTI,
        id="satisfies the PodAntiAffinity with existing pod but doesn't satisfy PodAntiAffinity symmetry",
    ),
    pytest.param(
        make_pod(
            "p",
            SERVICE,
            affinity=affinity(anti=[term("service", "Exists", "zone"), term("security", "Exists", "zone")]),
        ),
        [make_pod("existing", SECURITY, node="node1", affinity=affinity(anti=[term("security", "Exists", "zone")]))],
        ANTI,
        id="PodAntiAffinity symmetry check a1",
    ),
    pytest.param(
        make_pod("p", SECURITY, affinity=affinity(anti=[term("security", "Exists", "zone")])),
        [
            make_pod(
                "existing",
                SERVICE,
                node="node1",
                affinity=affinity(anti=[term("service", "Exists", "zone"), term("security", "Exists", "zone")]),
            )
        ],
        EXISTING,
        id="PodAntiAffinity symmetry check a2",
    ),
    pytest.param(
        make_pod(
            "p",
            {"abc": "", "xyz": ""},
            affinity=affinity(anti=[term("abc", "Exists", "zone"), term("def", "Exists", "zone")]),
        ),
        [
            make_pod(
                "existing",
                {"def": "", "xyz": ""},
                node="node1",
                affinity=affinity(anti=[term("abc", "Exists", "zone"), term("def", "Exists", "zone")]),
            )
        ],
        ANTI,
        id="PodAntiAffinity symmetry check b1",
    ),
    pytest.param(
        make_pod(
            "p",
            {"def": "", "xyz": ""},
            affinity=affinity(anti=[term("abc", "Exists", "zone"), term("def", "Exists", "zone")]),
        ),
        [
            make_pod(
                "existing",
                {"abc": "", "xyz": ""},
                node="node1",
                affinity=affinity(anti=[term("abc", "Exists", "zone"), term("def", "Exists", "zone")]),
            )
        ],
        ANTI,
        id="PodAntiAffinity symmetry check b2",
    ),
]


@pytest.mark.parametrize(("pending", "existing", "want"), SINGLE_NODE)
def test_required_affinity_single_node(pending, existing, want):
    nodes = [NODE1, make_node("node2", {"region": "r2", "zone": "z21"})]
    assert filter_messages(IPA, pending, nodes, existing)["node1"] == want


def test_affinity_failure_is_unresolvable_and_anti_affinity_is_not():
    from tests.kube.upstream.spread_helpers import filter_codes

    pending = make_pod("p", SECURITY, affinity=affinity(two_terms("securityscan2")))
    assert filter_codes(IPA, pending, [NODE1], [EXISTING_POD]) == {"node1": "UnschedulableAndUnresolvable"}
    pending = make_pod("p", SERVICE, affinity=affinity(anti=[term("service", "Exists", "zone")]))
    assert filter_codes(IPA, pending, [NODE1], [EXISTING_POD]) == {"node1": "Unschedulable"}
    assert filter_codes(IPA, make_pod("p"), [NODE1], [EXISTING_POD]) == {"node1": SUCCESS}


def test_namespace_selector_matches_namespace_labels():
    """A namespaceSelector counts pods of the namespaces whose labels it matches (here team=a: only ns "other"),
    from the Namespace objects given; `{}` counts every namespace."""
    namespaces = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other", "labels": {"team": "a"}}},
    ]
    existing = [make_pod("e", SERVICE, node="node1", namespace="other")]
    anti = term("service", "Exists", "zone", namespaceSelector={"matchLabels": {"team": "a"}})
    pending = make_pod("p", affinity=affinity(anti=[anti]))
    nodes = [NODE1, make_node("node2", {"region": "r2", "zone": "z21"})]
    assert filter_messages(IPA, pending, nodes, existing, namespaces=namespaces) == {"node1": ANTI, "node2": None}
    # Without the Namespace object, "other" has only its name label: team=a matches nothing.
    assert filter_messages(IPA, pending, nodes, existing) == {"node1": None, "node2": None}
    everything = make_pod("p", affinity=affinity(anti=[term("service", "Exists", "zone", namespaceSelector={})]))
    assert filter_messages(IPA, everything, nodes, existing) == {"node1": ANTI, "node2": None}


# --------------------------------------------------------------------------------------------------------------------
# Score
# --------------------------------------------------------------------------------------------------------------------

REGION_NODES = [
    make_node("node1", {"region": "China", "zone": "z1"}),
    make_node("node2", {"region": "India", "zone": "z2"}),
    make_node("node3", {"region": "China", "zone": "z3"}),
]


def test_preferred_affinity_scores_by_region():
    """TestPreferredAffinity "Affinity: pod that matches topology key & pods in nodes will get high score comparing
    to others": one matching pod in China, weight 5: China nodes 100, India 0."""
    pending = make_pod("p", affinity=affinity(preferred=[(5, term("security", "In", "region", ["S1"]))]))
    existing = [make_pod("e1", SECURITY, node="node1")]
    assert scores(IPA, pending, REGION_NODES, existing) == {"node1": 100, "node2": 0, "node3": 100}


def test_preferred_anti_affinity_scores_by_region():
    """Anti-affinity: the domain with a matching pod gets the lowest score."""
    pending = make_pod("p", affinity=affinity(anti_preferred=[(5, term("security", "In", "region", ["S1"]))]))
    existing = [make_pod("e1", SECURITY, node="node2")]
    assert scores(IPA, pending, REGION_NODES, existing) == {"node1": 100, "node2": 0, "node3": 100}


def test_affinity_and_anti_affinity_combine_by_weight():
    """+10 per matching pod in a region for affinity, -4 per pod in a zone for anti-affinity: both pods on node1 give
    China 20, zone z1 -8: node1 12, node3 20, node2 0, normalised int(100 * 12 / 20) = 60, 100, 0."""
    pending = make_pod(
        "p",
        affinity=affinity(
            preferred=[(10, term("security", "In", "region", ["S1"]))],
            anti_preferred=[(4, term("security", "In", "zone", ["S1"]))],
        ),
    )
    existing = [make_pod("e1", SECURITY, node="node1"), make_pod("e2", SECURITY, node="node1")]
    assert scores(IPA, pending, REGION_NODES, existing) == {"node1": 60, "node2": 0, "node3": 100}


def test_existing_pods_required_affinity_counts_with_hard_pod_affinity_weight():
    """An existing pod whose required affinity matches the incoming pod adds hardPodAffinityWeight to its domain;
    with weight 0 nothing is added and PreScore skips."""
    existing = [
        make_pod("e1", SECURITY, node="node2", affinity=affinity([term("service", "In", "region", ["securityscan"])]))
    ]
    pending = make_pod("p", SERVICE)
    assert scores(IPA, pending, REGION_NODES, existing) == {"node1": 0, "node2": 100, "node3": 0}
    assert scores(IPA, pending, REGION_NODES, existing, args={"hardPodAffinityWeight": 0}) is None


def test_ignore_preferred_terms_of_existing_pods():
    """With ignorePreferredTermsOfExistingPods, a pod without preferred terms skips Score even when existing pods
    prefer it."""
    existing = [
        make_pod(
            "e1",
            SECURITY,
            node="node2",
            affinity=affinity(preferred=[(7, term("service", "In", "region", ["securityscan"]))]),
        )
    ]
    pending = make_pod("p", SERVICE)
    assert scores(IPA, pending, REGION_NODES, existing) == {"node1": 0, "node2": 100, "node3": 0}
    assert scores(IPA, pending, REGION_NODES, existing, args={"ignorePreferredTermsOfExistingPods": True}) is None


# --------------------------------------------------------------------------------------------------------------------
# TestPreferredAffinity (scoring_test.go @ 8a4d98ac2f6d), hardPodAffinityWeight 1
# --------------------------------------------------------------------------------------------------------------------

RG_CHINA, RG_INDIA = {"region": "China"}, {"region": "India"}
AZ1, AZ2 = {"az": "az1"}, {"az": "az2"}
RG_CHINA_AZ1 = {"region": "China", "az": "az1"}
S1, S2 = {"security": "S1"}, {"security": "S2"}
TEAM_NAMESPACES = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"team": team}}}
    for name, team in (
        ("subteam1.team1", "team1"),
        ("subteam2.team1", "team1"),
        ("subteam1.team2", "team2"),
        ("subteam2.team2", "team2"),
    )
]


def _weighted(weight: int, exprs: list[dict], key: str, **extra) -> tuple[int, dict]:
    return weight, {"labelSelector": {"matchExpressions": exprs}, "topologyKey": key, **extra}


IN_S1 = [{"key": "security", "operator": "In", "values": ["S1"]}]
IN_S2 = [{"key": "security", "operator": "In", "values": ["S2"]}]
TEAM1 = {
    "namespaces": ["subteam2.team2"],
    "namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "In", "values": ["team1"]}]},
}
STAY_WITH_S1_IN_REGION = affinity(preferred=[_weighted(5, IN_S1, "region")])
STAY_WITH_S2_IN_REGION = affinity(preferred=[_weighted(6, IN_S2, "region")])
AFFINITY3 = affinity(
    preferred=[
        _weighted(
            8,
            [
                {"key": "security", "operator": "NotIn", "values": ["S1"]},
                {"key": "security", "operator": "In", "values": ["S2"]},
            ],
            "region",
        ),
        _weighted(
            2, [{"key": "security", "operator": "Exists"}, {"key": "wrongkey", "operator": "DoesNotExist"}], "region"
        ),
    ]
)
HARD_AFFINITY = affinity(
    [
        {
            "labelSelector": {"matchExpressions": [{"key": "security", "operator": "In", "values": ["S1", "value2"]}]},
            "topologyKey": "region",
        },
        {
            "labelSelector": {
                "matchExpressions": [
                    {"key": "security", "operator": "Exists"},
                    {"key": "wrongkey", "operator": "DoesNotExist"},
                ]
            },
            "topologyKey": "region",
        },
    ]
)
AWAY_FROM_S1_IN_AZ = affinity(anti_preferred=[_weighted(5, IN_S1, "az")])
AWAY_FROM_S2_IN_AZ = affinity(anti_preferred=[_weighted(5, IN_S2, "az")])
STAY_S1_REGION_AWAY_S2_AZ = affinity(
    preferred=[_weighted(8, IN_S1, "region")], anti_preferred=[_weighted(5, IN_S2, "az")]
)
AFFINITY_NS_SELECTOR = affinity(preferred=[_weighted(5, IN_S1, "region", **TEAM1)])
ANTI_AFFINITY_NS_SELECTOR = affinity(anti_preferred=[_weighted(5, IN_S1, "region", **TEAM1)])


def nodes_with(*labels: dict) -> list[dict]:
    return [make_node(f"node{i + 1}", lb) for i, lb in enumerate(labels)]


def existing(*specs) -> list[dict]:
    """(node, labels[, affinity[, namespace]]) of each existing pod."""
    out = []
    for i, spec in enumerate(specs):
        node_name, labels, *rest = spec
        aff = rest[0] if rest else None
        namespace = rest[1] if len(rest) > 1 else "default"
        out.append(make_pod(f"e{i}", labels, node=node_name, affinity=aff or None, namespace=namespace))
    return out


PREFERRED = [
    pytest.param(
        make_pod("p", S1),
        [],
        nodes_with(RG_CHINA, RG_INDIA, AZ1),
        None,
        id="all nodes are same priority as Affinity is nil",
    ),
    pytest.param(
        make_pod("p", S1, affinity=STAY_WITH_S1_IN_REGION),
        existing(("node1", S1), ("node2", S2), ("node3", S1)),
        nodes_with(RG_CHINA, RG_INDIA, AZ1),
        [100, 0, 0],
        id="Affinity: pod that matches topology key & pods in nodes will get high score",
    ),
    pytest.param(
        make_pod("p", {}, affinity=STAY_WITH_S1_IN_REGION),
        existing(("node1", S1)),
        nodes_with(RG_CHINA, RG_CHINA_AZ1, RG_INDIA),
        [100, 100, 0],
        id="All the nodes that have the same topology key & label value have the same score",
    ),
    pytest.param(
        make_pod("p", S1, affinity=STAY_WITH_S2_IN_REGION),
        existing(("node1", S2), ("node1", S2), ("node2", S2), ("node3", S2), ("node4", S2), ("node5", S2)),
        nodes_with(RG_CHINA, RG_INDIA, RG_CHINA, RG_CHINA, RG_INDIA),
        [100, 0, 100, 100, 0],
        id="Affinity: the region which has more matches will get high score",
    ),
    pytest.param(
        make_pod("p", S1, affinity=AFFINITY3),
        existing(("node1", S1), ("node2", S2), ("node3", S1)),
        nodes_with(RG_CHINA, RG_INDIA, AZ1),
        [20, 100, 0],
        id="Affinity: different Label operators and values, including some match failures",
    ),
    pytest.param(
        make_pod("p", S2),
        existing(("node1", S1, STAY_WITH_S1_IN_REGION), ("node2", S2, STAY_WITH_S2_IN_REGION)),
        nodes_with(RG_CHINA, RG_INDIA, AZ1),
        [0, 100, 0],
        id="Affinity symmetry: preferred terms of existing pods",
    ),
    pytest.param(
        make_pod("p", S1, namespace="subteam1.team1"),
        existing(("node1", S1, AFFINITY_NS_SELECTOR), ("node2", S2, STAY_WITH_S2_IN_REGION)),
        nodes_with(RG_CHINA, RG_INDIA, AZ1),
        [100, 0, 0],
        id="Affinity symmetry with namespace selector",
    ),
    pytest.param(
        make_pod("p", S1, namespace="subteam1.team1"),
        existing(("node1", S1, ANTI_AFFINITY_NS_SELECTOR), ("node2", S2, STAY_WITH_S2_IN_REGION)),
        nodes_with(RG_CHINA, RG_INDIA, AZ1),
        [0, 100, 100],
        id="AntiAffinity symmetry with namespace selector",
    ),
    pytest.param(
        make_pod("p", S1),
        existing(("node1", S1, HARD_AFFINITY), ("node2", S2, HARD_AFFINITY)),
        nodes_with(RG_CHINA, RG_INDIA, AZ1),
        [100, 100, 0],
        id="Affinity symmetry: required terms of existing pods count with hardPodAffinityWeight",
    ),
    pytest.param(
        make_pod("p", S1, affinity=AWAY_FROM_S1_IN_AZ),
        existing(("node1", S1), ("node2", S2)),
        nodes_with(AZ1, RG_CHINA),
        [0, 100],
        id="Anti Affinity: pod that does not match existing pods in node will get high score",
    ),
    pytest.param(
        make_pod("p", S1, affinity=AWAY_FROM_S1_IN_AZ),
        existing(("node1", S1), ("node2", S1)),
        nodes_with(AZ1, RG_CHINA),
        [0, 100],
        id="Anti Affinity: pod that does not match topology key & match the pods in nodes gets higher score",
    ),
    pytest.param(
        make_pod("p", S1, affinity=AWAY_FROM_S1_IN_AZ),
        existing(("node1", S1), ("node1", S1), ("node2", S2)),
        nodes_with(AZ1, RG_INDIA),
        [0, 100],
        id="Anti Affinity: the node which has more unmatches will get high score",
    ),
    pytest.param(
        make_pod("p", S2),
        existing(("node1", S1, AWAY_FROM_S2_IN_AZ), ("node2", S2, AWAY_FROM_S1_IN_AZ)),
        nodes_with(AZ1, AZ2),
        [0, 100],
        id="Anti Affinity symmetry: the existing pods in node which has anti affinity match will get high score",
    ),
    pytest.param(
        make_pod("p", S1, affinity=STAY_S1_REGION_AWAY_S2_AZ),
        existing(("node1", S1), ("node2", S1)),
        nodes_with(RG_CHINA, AZ1),
        [100, 0],
        id="Affinity and Anti Affinity: preferred terms in both",
    ),
    pytest.param(
        make_pod("p", S1, affinity=STAY_S1_REGION_AWAY_S2_AZ),
        existing(
            ("node1", S1), ("node1", S1), ("node2", S1), ("node3", S1), ("node3", S1), ("node4", S1), ("node5", S1)
        ),
        nodes_with(RG_CHINA_AZ1, RG_INDIA, RG_CHINA, RG_CHINA, RG_INDIA),
        [100, 0, 100, 100, 0],
        id="Affinity and Anti Affinity: the pod to schedule and existing pods have the same labels",
    ),
    pytest.param(
        make_pod("p", S1, affinity=STAY_S1_REGION_AWAY_S2_AZ),
        existing(
            ("node1", S1), ("node2", S2), ("node3", {}, STAY_S1_REGION_AWAY_S2_AZ), ("node4", {}, AWAY_FROM_S1_IN_AZ)
        ),
        nodes_with(RG_CHINA, AZ1, RG_INDIA, AZ2),
        [100, 0, 100, 0],
        id="Affinity and Anti Affinity and symmetry",
    ),
    pytest.param(
        make_pod("p", S1),
        existing(("node1", S1), ("node2", {}, STAY_S1_REGION_AWAY_S2_AZ)),
        nodes_with(RG_CHINA, RG_CHINA),
        [0, 0],
        id="Avoid panic when partial nodes in a topology don't have pods with affinity",
    ),
]


@pytest.mark.parametrize(("pending", "existing_pods", "nodes", "want"), PREFERRED)
def test_preferred_affinity(pending, existing_pods, nodes, want):
    got = scores(IPA, pending, nodes, existing_pods, namespaces=TEAM_NAMESPACES)
    if want is None:
        assert got is None  # PreScore Skip
    else:
        assert list(got.values()) == want


NS_CASES = [
    pytest.param(
        AFFINITY_NS_SELECTOR,
        ["subteam1.team1", "subteam1.team1", "subteam1.team2"],
        [100, 0],
        id="Affinity with pods matching NamespaceSelector",
    ),
    pytest.param(
        AFFINITY_NS_SELECTOR,
        ["subteam1.team1", "subteam1.team1", "subteam2.team2"],
        [100, 0],
        id="Affinity with pods matching both NamespaceSelector and Namespaces fields",
    ),
    pytest.param(
        ANTI_AFFINITY_NS_SELECTOR,
        ["subteam1.team1", "subteam1.team1", "subteam1.team2"],
        [0, 100],
        id="Anti-affinity with pods matching NamespaceSelector",
    ),
    pytest.param(
        ANTI_AFFINITY_NS_SELECTOR,
        ["subteam1.team1", "subteam1.team1", "subteam2.team2"],
        [0, 100],
        id="Anti-affinity with pods matching both NamespaceSelector and Namespaces fields",
    ),
]


@pytest.mark.parametrize(("aff", "node1_namespaces", "want"), NS_CASES)
def test_preferred_affinity_namespace_selector(aff, node1_namespaces, want):
    pending = make_pod("p", S1, namespace="subteam1.team1", affinity=aff)
    pods = existing(*[("node1", S1, None, ns) for ns in node1_namespaces], ("node2", S1, None, "subteam2.team1"))
    got = scores(IPA, pending, nodes_with(RG_CHINA, RG_INDIA), pods, namespaces=TEAM_NAMESPACES)
    assert list(got.values()) == want


@pytest.mark.parametrize(("ignore", "want"), [(True, None), (False, [0, 100])])
def test_ignore_preferred_terms_of_existing_pods_upstream(ignore, want):
    """TestPreferredAffinity "Ignore preferred terms of existing pods" / "Do not ignore ..."."""
    pods = existing(("node1", S1, STAY_S1_REGION_AWAY_S2_AZ), ("node2", S2, STAY_WITH_S2_IN_REGION))
    args = {"hardPodAffinityWeight": 1, "ignorePreferredTermsOfExistingPods": ignore}
    got = scores(IPA, make_pod("p", S2), nodes_with(RG_CHINA, RG_INDIA), pods, args=args)
    assert (None if got is None else list(got.values())) == want


def test_no_nodes_to_score():
    assert scores(IPA, make_pod("p", S2), [], []) is None


# TestPreferredAffinityWithHardPodAffinitySymmetricWeight: upstream's "" namespace (in the term's namespaces too) is
# podgym's "default".
HARD_POD_AFFINITY = affinity(
    [
        {
            "labelSelector": {"matchExpressions": [{"key": "service", "operator": "In", "values": ["S1"]}]},
            "namespaces": ["default", "subteam2.team2"],
            "namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "In", "values": ["team1"]}]},
            "topologyKey": "region",
        }
    ]
)


@pytest.mark.parametrize(
    ("namespace", "weight", "want"),
    [
        pytest.param("default", 1, [100, 100, 0], id="with default weight"),
        pytest.param("default", 0, None, id="with zero weight"),
        pytest.param("subteam1.team2", 1, None, id="with no matching namespace"),
        pytest.param("subteam1.team1", 1, [100, 100, 0], id="with matching NamespaceSelector"),
        pytest.param("subteam2.team2", 1, [100, 100, 0], id="with matching Namespaces"),
    ],
)
def test_preferred_affinity_with_hard_pod_affinity_symmetric_weight(namespace, weight, want):
    pending = make_pod("p", {"service": "S1"}, namespace=namespace)
    pods = existing(("node1", {}, HARD_POD_AFFINITY), ("node2", {}, HARD_POD_AFFINITY))
    got = scores(
        IPA,
        pending,
        nodes_with(RG_CHINA, RG_INDIA, AZ1),
        pods,
        args={"hardPodAffinityWeight": weight},
        namespaces=TEAM_NAMESPACES,
    )
    assert (None if got is None else list(got.values())) == want


# --------------------------------------------------------------------------------------------------------------------
# TestRequiredAffinityMultipleNodes (filtering_test.go @ 072825f9a367): the Filter status of every node
# --------------------------------------------------------------------------------------------------------------------


def named_nodes(*specs: tuple[str, dict]) -> list[dict]:
    return [make_node(name, labels) for name, labels in specs]


def aff_in(key: str, topology: str, values: list[str]) -> dict:
    return term(key, "In", topology, values)


def exists_term(key: str, topology: str) -> dict:
    return term(key, "Exists", topology)


HOSTS = [
    ("nodeA", {"region": "r1", "zone": "z1", "hostname": "nodeA"}),
    ("nodeB", {"region": "r1", "zone": "z2", "hostname": "nodeB"}),
]
SAME_ZONE_HOSTS = [
    ("nodeA", {"region": "r1", "zone": "z1", "hostname": "nodeA"}),
    ("nodeB", {"region": "r1", "zone": "z1", "hostname": "nodeB"}),
]
CHINA_INDIA = [("nodeA", RG_CHINA), ("nodeB", RG_CHINA_AZ1), ("nodeC", RG_INDIA)]

MULTIPLE_NODES = [
    pytest.param(
        make_pod("p", affinity=affinity([aff_in("foo", "region", ["bar"])])),
        [make_pod("p1", {"foo": "bar"}, node="node1")],
        named_nodes(("node1", RG_CHINA), ("node2", RG_CHINA_AZ1), ("node3", RG_INDIA)),
        [None, None, AFF],
        id="A pod can be scheduled onto all the nodes of the topology value where a pod matches its affinity",
    ),
    pytest.param(
        make_pod(
            "p",
            {"foo": "bar", "service": "securityscan"},
            affinity=affinity([aff_in("foo", "zone", ["bar"]), aff_in("service", "zone", ["securityscan"])]),
        ),
        [make_pod("p1", {"foo": "bar"}, node="nodeA")],
        named_nodes(("nodeA", {"zone": "az1", "hostname": "h1"}), ("nodeB", {"zone": "az2", "hostname": "h2"})),
        [None, None],
        id="The first pod of a collection with affinity to itself is not blocked",
    ),
    pytest.param(
        make_pod(
            "p",
            {"foo": "bar", "service": "securityscan"},
            affinity=affinity([aff_in("foo", "zone", ["bar"]), aff_in("service", "zone", ["securityscan"])]),
        ),
        [make_pod("p1", {"foo": "bar"}, node="nodeA")],
        named_nodes(
            ("nodeA", {"zoneLabel": "az1", "hostname": "h1"}), ("nodeB", {"zoneLabel": "az2", "hostname": "h2"})
        ),
        [AFF, AFF],
        id="The first pod of the collection can only be scheduled on nodes labelled with the requested topology keys",
    ),
    pytest.param(
        make_pod("p", affinity=affinity(anti=[aff_in("foo", "region", ["abc"])])),
        [make_pod("e", {"foo": "abc"}, node="nodeA")],
        named_nodes(("nodeA", {"region": "r1", "hostname": "nodeA"}), ("nodeB", {"region": "r1", "hostname": "nodeB"})),
        [ANTI, ANTI],
        id="NodeA and nodeB share the region where a pod matches the anti-affinity: neither fits",
    ),
    pytest.param(
        make_pod(
            "p", affinity=affinity(anti=[aff_in("foo", "region", ["abc"]), aff_in("service", "zone", ["securityscan"])])
        ),
        [make_pod("e", {"foo": "abc", "service": "securityscan"}, node="nodeA")],
        named_nodes(
            ("nodeA", {"region": "r1", "zone": "z1", "hostname": "nodeA"}),
            ("nodeB", {"region": "r1", "zone": "z2", "hostname": "nodeB"}),
        ),
        [ANTI, ANTI],
        id="anti-affinity matches a pod when any term of the anti-affinity rule matches it",
    ),
    pytest.param(
        make_pod("p", affinity=affinity(anti=[aff_in("foo", "region", ["abc"])])),
        [make_pod("e", {"foo": "abc"}, node="nodeA")],
        named_nodes(*CHINA_INDIA),
        [ANTI, ANTI, None],
        id="NodeA and nodeB share the region of a matching pod; nodeC fits",
    ),
    pytest.param(
        make_pod("p", {"foo": "123"}, namespace="NS1", affinity=affinity(anti=[aff_in("foo", "region", ["bar"])])),
        [
            make_pod("e1", {"foo": "bar"}, node="nodeA", namespace="NS1"),
            make_pod("e2", node="nodeC", namespace="NS2", affinity=affinity(anti=[aff_in("foo", "region", ["123"])])),
        ],
        named_nodes(*CHINA_INDIA),
        [ANTI, ANTI, None],
        id="an existing pod whose anti-affinity matches the incoming pod but in a different namespace does not count",
    ),
    pytest.param(
        make_pod("p", {"foo": ""}),
        [make_pod("e", node="nodeA", affinity=affinity(anti=[exists_term("foo", "invalid-node-label")]))],
        named_nodes(*SAME_ZONE_HOSTS),
        [None, None],
        id="existing pod's anti-affinity term with a topologyKey no node has",
    ),
    pytest.param(
        make_pod("p", affinity=affinity(anti=[exists_term("foo", "invalid-node-label")])),
        [make_pod("e", {"foo": ""}, node="nodeA")],
        named_nodes(*SAME_ZONE_HOSTS),
        [None, None],
        id="incoming pod's anti-affinity: even if labelSelector matches, the topologyKey must match",
    ),
    pytest.param(
        make_pod("p", {"foo": "", "bar": ""}),
        [
            make_pod("e1", node="nodeA", affinity=affinity(anti=[exists_term("foo", "zone")])),
            make_pod("e2", node="nodeA", affinity=affinity(anti=[exists_term("bar", "region")])),
        ],
        named_nodes(*HOSTS),
        [EXISTING, EXISTING],
        id="existing pods' anti-affinity: the incoming pod violates a term on every node",
    ),
    pytest.param(
        make_pod("p", affinity=affinity(anti=[exists_term("foo", "zone"), exists_term("bar", "region")])),
        [make_pod("e1", {"foo": ""}, node="nodeA"), make_pod("e2", {"bar": ""}, node="nodeB")],
        named_nodes(*HOSTS),
        [ANTI, ANTI],
        id="incoming pod's anti-affinity: it violates at least one rule on every node",
    ),
    pytest.param(
        make_pod("p", {"foo": "", "bar": ""}),
        [
            make_pod(
                "e",
                node="nodeA",
                affinity=affinity(anti=[exists_term("foo", "invalid-node-label"), exists_term("bar", "zone")]),
            )
        ],
        named_nodes(*HOSTS),
        [EXISTING, None],
        id="existing pod's anti-affinity: labelSelector and topologyKey must both match (one invalid key)",
    ),
]


@pytest.mark.parametrize(("pending", "existing_pods", "nodes", "want"), MULTIPLE_NODES)
def test_required_affinity_multiple_nodes(pending, existing_pods, nodes, want):
    got = filter_messages(IPA, pending, nodes, existing_pods)
    assert [got[n["metadata"]["name"]] for n in nodes] == want
