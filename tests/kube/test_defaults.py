"""API server defaulting of a pod manifest (envs.kube.defaults.default_pod), as SetDefaults_Pod writes it."""

from __future__ import annotations

import copy

import podgym.envs.kube as kube
from podgym.envs.kube.defaults import default_pod
from tests.kube.builders import pod

MI = 1 << 20


def test_a_dumped_pod_is_unchanged() -> None:
    # The API server stored it defaulted: requests where limits are, host ports set.
    p = pod("web", containers=[{"name": "c", "resources": {"requests": {"cpu": "1"}, "limits": {"cpu": "1"}}}])
    assert default_pod(p) == p


def test_pod_level_limits_default_the_requests_no_container_makes() -> None:
    p = pod("db", containers=[{"name": "c", "resources": {"requests": {"cpu": "500m", "hugepages-2Mi": "32Mi"}}}])
    p["spec"]["resources"] = {"limits": {"cpu": "2", "memory": "1Gi", "hugepages-2Mi": "64Mi", "example.com/x": "1"}}
    before = copy.deepcopy(p)
    out = default_pod(p)
    assert p == before, "the manifest itself is left as it is"
    # memory: no container requests it, so the pod-level limit; hugepages: always the limit; cpu: the containers'
    # aggregate (left out, as the scheduler counts it anyway); an unsupported resource: nothing.
    assert out["spec"]["resources"]["requests"] == {"memory": "1Gi", "hugepages-2Mi": "64Mi"}
    assert kube.pod_requests(out) == {"cpu": 500, "memory": 1024 * MI, "hugepages-2Mi": 64 * MI}
    assert kube.pod_requests(p) == {"cpu": 500, "hugepages-2Mi": 32 * MI}


def test_pod_level_requests_given_are_kept() -> None:
    p = pod("db", containers=[{"name": "c"}])
    p["spec"]["resources"] = {"requests": {"cpu": "1"}, "limits": {"cpu": "2"}}
    assert default_pod(p)["spec"]["resources"]["requests"] == {"cpu": "1"}


def test_init_container_limits_and_host_network_ports() -> None:
    p = pod("edge", containers=[{"name": "c", "ports": [{"containerPort": 80}, {"containerPort": 81, "hostPort": 9}]}])
    p["spec"]["initContainers"] = [{"name": "i", "resources": {"limits": {"memory": "3Gi"}}}]
    p["spec"]["hostNetwork"] = True
    out = default_pod(p)
    assert out["spec"]["initContainers"][0]["resources"]["requests"] == {"memory": "3Gi"}
    assert [q["hostPort"] for q in out["spec"]["containers"][0]["ports"]] == [80, 9]
    p["spec"]["hostNetwork"] = False
    assert "hostPort" not in default_pod(p)["spec"]["containers"][0]["ports"][0]
