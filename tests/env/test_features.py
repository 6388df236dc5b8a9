"""The GPU features that BestFit and FGD decide from: each equals what the cluster shows after the placement."""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest

from podgym.envs.features import GPU_FREE_BINS, NODE_FEATURES, FeatureEncoder
from podgym.envs.workload.types import MILLI_GPU
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
