"""The GPU features that BestFit and FGD decide from: each equals what the cluster shows after the placement, and
the fgd_score column is FGD's own score, in the encoder and in both engines' observations."""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest

from podgym.envs.env import PodSchedulingEnv
from podgym.envs.features import FGD_COLUMN, GPU_FREE_BINS, NODE_FEATURES, FeatureEncoder
from podgym.envs.fragmentation import TypicalPods
from podgym.envs.workload.types import MILLI_GPU
from podgym.policies.fgd import FGDPolicy
from tests.plugin import TYPICAL_JSON, typical
from tests.plugin.test_scorer import Churn, random_cluster, request

COLUMN = {f.name: k for k, f in enumerate(NODE_FEATURES)}


def churned(seed: int, n: int = 40):
    rng = np.random.default_rng(seed)
    cluster = random_cluster(rng, n)
    churn = Churn(cluster, rng)
    for _ in range(25):
        churn.step()
    for k in range(3 * n):  # shared and whole GPUs on random GPU nodes, so that partly used GPUs exist
        req = request(cluster, int(rng.choice([2, 2, 3])), f"g{k}")
        fits = np.flatnonzero(cluster.alive & cluster.gpu_fit(req) & (cluster.gpu_count > 0))
        if len(fits):
            cluster.bind(int(rng.choice(fits)), req)
    return cluster


@pytest.mark.parametrize("seed", range(4))
def test_after_features_equal_the_features_after_the_bind(seed):
    cluster = churned(seed)
    assert ((cluster.gpu_free > 0) & (cluster.gpu_free < MILLI_GPU)).any()  # partly used GPUs exist
    checked = 0
    for shape in range(5):  # cpu pods, a shared GPU, one and two whole GPUs
        req = request(cluster, shape)
        before = FeatureEncoder(cluster).nodes(req, np.ones(cluster.num_nodes, dtype=bool))
        for j in np.flatnonzero(cluster.alive & cluster.gpu_fit(req)):
            after_cluster = copy.deepcopy(cluster)
            gpus = after_cluster.bind(int(j), req)
            after = FeatureEncoder(after_cluster).nodes(req, np.ones(cluster.num_nodes, dtype=bool))
            if cluster.gpu_count[j]:
                assert before[j, COLUMN["gpu_after"]] == after[j, COLUMN["gpu_free"]]
                assert before[j, COLUMN["gpu_partial_after"]] == after[j, COLUMN["gpu_partial"]]
                left = after_cluster.gpu_free[j, gpus[0]] / MILLI_GPU if shape == 2 else 0.0
                assert before[j, COLUMN["shared_gpu_left"]] == np.float32(left)
                checked += 1
    assert checked > 20


@pytest.mark.parametrize("seed", range(3))
def test_gpu_histogram_counts_each_gpu_once(seed):
    cluster = churned(seed)
    feats = FeatureEncoder(cluster).nodes(request(cluster, 0), np.ones(cluster.num_nodes, dtype=bool))
    names = ["gpus_idle", "gpus_free_750", "gpus_free_500", "gpus_free_250", "gpus_free_1"]
    hist = feats[:, [COLUMN[k] for k in names]]
    for j in np.flatnonzero(cluster.alive & (cluster.gpu_count > 0)):
        free = cluster.gpu_free[j, : cluster.gpu_count[j]]
        bounds = [np.iinfo(np.int64).max, *GPU_FREE_BINS]
        want = [((free >= lo) & (free < hi)).sum() / cluster.gpu_count[j] for hi, lo in itertools.pairwise(bounds)]
        np.testing.assert_array_equal(hist[j], np.float32(want))
        assert hist[j].sum() + (free == 0).mean() == pytest.approx(1.0)
    assert not hist[cluster.gpu_count == 0].any()


TYPICAL = typical()


class _Sim:
    """What FGDPolicy.reset reads of a simulator."""

    def __init__(self, cluster):
        self.cluster, self.workload = cluster, None


def fgd_reference(cluster, req, typical=TYPICAL) -> np.ndarray:
    """FGDPolicy's scores of `req` on every node, from a fresh index of the cluster as it is, / 100, 0 for -1."""
    policy = FGDPolicy(typical)
    policy.reset(_Sim(cluster))
    scores = policy.score(cluster, req, np.arange(cluster.num_nodes))
    return np.float32(np.maximum(scores, 0) / 100.0)


def test_fgd_score_column_is_fgds_score():
    distinct = set()
    for seed in range(4):
        cluster = churned(seed)
        encoder = FeatureEncoder(cluster, TYPICAL)
        rows = np.sort(np.random.default_rng(seed).choice(cluster.num_nodes, size=9, replace=False))
        for shape in range(6):
            req = request(cluster, shape)
            feats = encoder.nodes(req, np.ones(cluster.num_nodes, dtype=bool))
            want = np.where(cluster.alive, fgd_reference(cluster, req), np.float32(0.0))
            np.testing.assert_array_equal(feats[:, FGD_COLUMN], want)
            np.testing.assert_array_equal(encoder.nodes(req, np.ones(9, dtype=bool), rows), feats[rows])
            distinct |= set(feats[cluster.alive & (cluster.gpu_count > 0), FGD_COLUMN].tolist())
    assert len(distinct) > 5  # the scores tell nodes apart


def test_fgd_score_column_is_zero_without_typical_pods():
    cluster = churned(0)
    feats = FeatureEncoder(cluster).nodes(request(cluster, 2), np.ones(cluster.num_nodes, dtype=bool))
    assert not feats[:, FGD_COLUMN].any()


def test_typical_pods_round_trip_through_json_and_name_a_bad_field():
    assert TYPICAL.to_json() == TYPICAL_JSON
    again = TypicalPods.from_json(TYPICAL.to_json())
    for name in ("cpu", "milli", "count", "weight"):
        np.testing.assert_array_equal(getattr(again, name), getattr(TYPICAL, name))
    assert again.models == TYPICAL.models
    bad = TYPICAL.to_json()
    bad[2]["gpu_milli"] = "600"
    with pytest.raises(ValueError, match=r"policy.json: typical_pods\[2\].gpu_milli"):
        TypicalPods.from_json(bad, "policy.json: typical_pods")
    with pytest.raises(ValueError, match="non-empty list"):
        TypicalPods.from_json([])


def test_the_env_observes_fgds_score_on_openb():
    """On openb-small, each decision's fgd_score column is FGD's score against the trace's typical pods (the
    compiled engine's too: tests/env/test_engines.py compares its observations with these byte for byte)."""
    env = PodSchedulingEnv("openb-small", overrides={"env.engine": "python"})
    obs, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    checked, distinct = 0, set()
    for _ in range(150):
        sim = env.sim
        policy = FGDPolicy()
        policy.reset(sim)
        req = sim.cluster.pod_request(sim.workload, sim.current)
        want = np.maximum(policy.score(sim.cluster, req, np.arange(sim.cluster.num_nodes)), 0) / 100.0
        n = sim.cluster.num_nodes
        np.testing.assert_array_equal(obs["nodes"][:n, FGD_COLUMN], np.float32(want))
        distinct |= set(want.tolist())
        checked += 1
        obs, _, terminated, truncated, _ = env.step(int(rng.choice(np.flatnonzero(obs["action_mask"]))))
        if terminated or truncated:
            break
    assert checked == 150 and len(distinct) > 5
