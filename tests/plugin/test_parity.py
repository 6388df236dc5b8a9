"""Closed loop: the simulator driven through a live extender decides as the simulator with the policy in-process.

One episode of the default scenario (24 nodes, CPU and GPU pools, departures) with a one-hour horizon runs
twice with the same seed: once with the policy in this process, once with ``ExtenderPolicy``, which asks an
extender served by uvicorn on a free port over real HTTP (ExtenderArgs with NodeNames, as a nodeCacheCapable
kube-scheduler) and mirrors every bind and unbind into the extender's cache. The final placements
(``sim.node_of``) and the whole sequence of binds must be identical.

The in-process side is the policy behind the same 0..10 mapping the extender applies
(``plugin.extender.extender_scores``). The mapping keeps exactly the argmax set, so it cannot change a
decision; applying it on both sides makes "the same decisions" an exact statement about the same scores
(the simulator breaks ties among the top nodes with its seeded RNG, so only identical top sets keep the two
runs in step). The learned policy is used without ``reset(sim)`` in-process: the deployed scorer has no
simulated clock and sees no pending pods (ExtenderPolicy mirrors binds only), so its ``pending`` and
``time`` features are 0 on both sides.
"""

from __future__ import annotations

import numpy as np
import pytest

from podgym.agents.extender_client import ExtenderPolicy
from podgym.envs.scenario import load_and_build
from podgym.envs.simulator import Simulator
from podgym.plugin.cache import ClusterCache
from podgym.plugin.extender import create_app, extender_scores
from podgym.policies import make_policy
from podgym.policies.onnx import OnnxPolicy
from tests.plugin import serve, tiny_onnx_model

HORIZON_S = 3600


@pytest.fixture(scope="session")
def onnx_model(tmp_path_factory):
    return tiny_onnx_model(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def scenario():
    return load_and_build("default", {"simulation.horizon": HORIZON_S}, None)


class Mapped:
    """`policy` with the extender's 0..10 mapping applied to its scores (state forwarded, if it keeps any)."""

    def __init__(self, policy, forward_state: bool):
        self.policy = policy
        self.name = f"mapped:{policy.name}"
        if forward_state:
            for hook in ("reset", "on_bind", "on_unbind"):
                if hasattr(policy, hook):
                    setattr(self, hook, getattr(policy, hook))

    def num_to_find(self, num_nodes: int) -> int:
        return self.policy.num_to_find(num_nodes)

    def score(self, cluster, pod, nodes):
        return extender_scores(self.policy.score(cluster, pod, nodes))


class BindLog:
    """A simulator listener recording every bind (pod, node) and unbind in order."""

    def __init__(self):
        self.events: list[tuple[str, str, int]] = []

    def on_bind(self, cluster, node, pod, gpus):
        self.events.append(("bind", pod.name, node))

    def on_unbind(self, cluster, node, pod, gpus):
        self.events.append(("unbind", pod.name, node))


def run(scenario, policy) -> tuple[Simulator, BindLog]:
    sim = Simulator(scenario.cluster, scenario.workload, scenario.options, scenario.profile, seed=0)
    binds = BindLog()
    sim.listeners.append(binds)
    sim.run(policy)
    return sim, binds


def assert_same_episode(scenario, reference, scorer) -> ExtenderPolicy:
    sim_a, log_a = run(scenario, reference)
    with serve(create_app(scorer, ClusterCache(), cache_api=True)) as url:
        policy = ExtenderPolicy(url + "/scheduler")  # a urlPrefix, as kube-scheduler's config gives it
        try:
            sim_b, log_b = run(scenario, policy)
        finally:
            policy.close()
    assert policy.requests > 50, "the episode should ask the extender for many decisions"
    assert sum(e[0] == "bind" for e in log_a.events) > 50
    assert log_b.events == log_a.events
    np.testing.assert_array_equal(sim_b.node_of, sim_a.node_of)
    assert sim_b.summary().as_dict() == sim_a.summary().as_dict()
    return policy


def test_onnx_policy_served_decides_as_in_process(scenario, onnx_model):
    reference = Mapped(OnnxPolicy(onnx_model), forward_state=False)
    assert_same_episode(scenario, reference, OnnxPolicy(onnx_model))


@pytest.mark.parametrize("name", ["best-fit", "round-robin"])
def test_heuristic_served_decides_as_in_process(scenario, name):
    # round-robin keeps state (the last node bound): the extender's cache forwards the mirrored binds to it.
    assert_same_episode(scenario, Mapped(make_policy(name), forward_state=True), make_policy(name))
