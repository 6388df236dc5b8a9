"""Synthetic workloads: deterministic for a seed, the configured distributions, validated configuration."""

from __future__ import annotations

import time

import numpy as np
import pytest
from pydantic import ValidationError

from podgym.envs.kube.resources import DEFAULT_MEMORY_REQUEST, DEFAULT_MILLI_CPU_REQUEST
from podgym.envs.workload import GPU_MODEL_LABEL, SyntheticWorkloadConfig, arrival_times, generate, synthetic
from podgym.envs.workload.synthetic import CLASS_LABEL, DiurnalArrivals, PoissonArrivals

GIB = 1 << 30

CLASSES = [
    {"name": "web", "weight": 6, "cpu": "500m", "memory": "1Gi"},
    {
        "name": "train",
        "weight": 3,
        "cpu": "8",
        "memory": "64Gi",
        "gpu_count": 4,
        "priority": 100,
        "namespace": "ml",
        "node_selector": {GPU_MODEL_LABEL: "A100"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "labels": {"team": "ml"},
        "lifetime": {"distribution": "fixed", "value": 3600},
    },
    {"name": "notebook", "weight": 1, "gpu_count": 1, "gpu_milli": 250},
]


def config(**overrides):
    cfg = {
        "num_pods": 2000,
        "arrivals": {"process": "poisson", "rate": 2.0},
        "lifetime": {"distribution": "exponential", "mean": 600},
        "classes": CLASSES,
    }
    cfg.update(overrides)
    return cfg


def arrays(w):
    return {
        "arrival": w.arrival,
        "duration": w.duration,
        "nonzero_cpu": w.nonzero_cpu,
        "nonzero_memory": w.nonzero_memory,
        "gpu_count": w.gpu_count,
        "gpu_milli": w.gpu_milli,
        "priority": w.priority,
        "template": w.template,
        **{f"requests[{k}]": v for k, v in w.requests.items()},
    }


# --- determinism -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arrivals",
    [{"process": "poisson", "rate": 2.0}, {"process": "diurnal", "mean_rate": 1.0, "amplitude": 0.5, "period": 600}],
)
def test_same_seed_gives_identical_workloads(arrivals):
    a = generate(config(arrivals=arrivals), seed=7)
    b = generate(SyntheticWorkloadConfig.model_validate(config(arrivals=arrivals)), seed=7)
    assert a.names == b.names
    for name, arr in arrays(a).items():
        np.testing.assert_array_equal(arr, arrays(b)[name], err_msg=name)
        assert arr.dtype == arrays(b)[name].dtype
    assert [t.raw for t in a.templates] == [t.raw for t in b.templates]
    assert a.source == "synthetic(seed=7)"


def test_other_seeds_differ():
    a, b = generate(config(), seed=1), generate(config(), seed=2)
    assert not np.array_equal(a.arrival, b.arrival)
    assert a.names != b.names  # the class sequence differs too
    assert not np.array_equal(a.duration, b.duration)


def test_longer_request_extends_a_shorter_one():
    short = generate(config(num_pods=100), seed=3)
    long = generate(config(num_pods=5000), seed=3)
    assert long.names[:100] == short.names
    np.testing.assert_array_equal(long.arrival[:100], short.arrival)
    np.testing.assert_array_equal(long.duration[:100], short.duration)


def test_class_mix_does_not_move_arrivals():
    a = generate(config(), seed=5)
    b = generate(config(classes=[{"name": "only", "cpu": "1"}]), seed=5)
    np.testing.assert_array_equal(a.arrival, b.arrival)


# --- distributions -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_poisson_mean_interarrival_within_5_percent(seed):
    w = generate(config(num_pods=20_000, arrivals={"process": "poisson", "rate": 4.0}), seed=seed)
    gaps = np.diff(np.concatenate([[0.0], w.arrival]))
    assert np.all(gaps >= 0)
    assert abs(gaps.mean() - 0.25) < 0.05 * 0.25
    # exponential gaps: the standard deviation equals the mean
    assert abs(gaps.std() - 0.25) < 0.05 * 0.25


def test_class_mix_frequencies():
    w = generate(config(num_pods=20_000), seed=11)
    classes = np.array([name.rsplit("-", 1)[0] for name in w.names])
    for name, share in (("web", 0.6), ("train", 0.3), ("notebook", 0.1)):
        assert abs(np.mean(classes == name) - share) < 0.02, name


def test_diurnal_rate_higher_at_peak_than_trough():
    arrivals = {"process": "diurnal", "mean_rate": 1.0, "amplitude": 0.8, "period": 1000.0, "phase": 250.0}
    w = generate(config(num_pods=None, horizon=50_000.0, arrivals=arrivals), seed=4)
    assert abs(len(w) - 50_000) < 0.05 * 50_000  # the mean rate over whole periods
    phase_in_period = (w.arrival - 250.0) % 1000.0
    near_peak = np.sum((phase_in_period < 100) | (phase_in_period > 900))
    near_trough = np.sum(np.abs(phase_in_period - 500) < 100)
    # expected ratio (1 + 0.8 * 0.935) / (1 - 0.8 * 0.935) ~ 6.9 for windows of +-0.1 period
    assert near_peak > 4 * near_trough
    assert np.all(np.diff(w.arrival) >= 0)


def test_diurnal_rate_function():
    d = DiurnalArrivals(process="diurnal", mean_rate=2.0, amplitude=0.5, period=100.0, phase=10.0)
    assert d.rate_at(10.0) == pytest.approx(3.0)
    assert d.rate_at(60.0) == pytest.approx(1.0)


def test_horizon_and_num_pods():
    by_horizon = generate(config(num_pods=None, horizon=1000.0), seed=9)
    assert np.all(by_horizon.arrival < 1000.0)
    assert abs(len(by_horizon) - 2000) < 200  # rate 2/s for 1000 s
    both = generate(config(num_pods=50, horizon=1000.0), seed=9)
    assert len(both) == 50
    assert both.names == by_horizon.names[:50]
    capped = generate(config(num_pods=10**6, horizon=10.0), seed=9)
    assert len(capped) == np.sum(by_horizon.arrival < 10.0)


def test_arrival_times_zero_pods():
    assert len(arrival_times(PoissonArrivals(process="poisson", rate=1.0), 0, num_pods=0)) == 0
    assert len(generate(config(num_pods=0), seed=0)) == 0


def test_lifetimes():
    w = generate(config(num_pods=20_000), seed=12)
    classes = np.array([name.rsplit("-", 1)[0] for name in w.names])
    assert np.all(w.duration[classes == "train"] == 3600.0)  # the class override
    exp = w.duration[classes != "train"]
    assert abs(exp.mean() - 600) < 0.05 * 600

    logn = generate(config(num_pods=20_000, lifetime={"distribution": "lognormal", "median": 100, "sigma": 1.5}), 12)
    d = logn.duration[np.array([not n.startswith("train-") for n in logn.names])]
    assert abs(np.median(d) - 100) < 0.05 * 100
    assert abs(np.log(d).std() - 1.5) < 0.05 * 1.5

    forever = generate(config(lifetime={"distribution": "forever"}), 12)
    assert np.all(np.isinf(forever.duration[[not n.startswith("train-") for n in forever.names]]))
    default = generate({k: v for k, v in config().items() if k != "lifetime"}, 12)
    assert np.all(np.isinf(default.duration[[not n.startswith("train-") for n in default.names]]))


# --- what each pod asks ------------------------------------------------------------------------------------------


def test_requests_templates_and_names():
    w = generate(config(), seed=21)
    by_class = {c: [i for i, n in enumerate(w.names) if n.rsplit("-", 1)[0] == c] for c in ("web", "train", "notebook")}
    for c, idx in by_class.items():
        assert [w.names[i] for i in idx] == [f"{c}-{k}" for k in range(len(idx))]
    web, train, nb = by_class["web"][0], by_class["train"][0], by_class["notebook"][0]
    assert (w.requests["cpu"][web], w.requests["memory"][web]) == (500, GIB)
    assert (w.gpu_count[web], w.gpu_milli[web], w.priority[web]) == (0, 0, 0)
    assert (w.requests["cpu"][train], w.requests["memory"][train]) == (8000, 64 * GIB)
    assert (w.gpu_count[train], w.gpu_milli[train], w.priority[train]) == (4, 1000, 100)
    # a class without cpu/memory requests: actual 0, scoring defaults 100m / 200Mi
    assert (w.requests["cpu"][nb], w.requests["memory"][nb]) == (0, 0)
    assert (w.nonzero_cpu[nb], w.nonzero_memory[nb]) == (DEFAULT_MILLI_CPU_REQUEST, DEFAULT_MEMORY_REQUEST)
    assert (w.gpu_count[nb], w.gpu_milli[nb]) == (1, 250)
    assert "nvidia.com/gpu" not in w.requests

    tmpl = w.templates[w.template[train]]
    assert tmpl.namespace == "ml"
    assert tmpl.node_selector == {GPU_MODEL_LABEL: "A100"}
    assert [(t.key, t.operator, t.effect) for t in tmpl.tolerations] == [("nvidia.com/gpu", "Exists", "NoSchedule")]
    assert tmpl.labels == {"team": "ml", CLASS_LABEL: "train"}
    assert len(w.templates) == 3 and len({int(w.template[i]) for i in (web, train, nb)}) == 3

    pod = w.pod_object(train)
    assert pod["metadata"]["name"] == w.names[train] and pod["metadata"]["namespace"] == "ml"
    assert pod["spec"]["containers"][0]["resources"]["requests"]["nvidia.com/gpu"] == "4"
    share = w.pod_object(nb)["metadata"]["annotations"]
    assert share == {"podgym.io/gpu-count": "1", "podgym.io/gpu-milli": "250"}


def test_ephemeral_storage_class():
    w = generate(config(classes=[{"name": "a", "cpu": "1", "ephemeral_storage": "10Gi"}, {"name": "b", "cpu": "1"}]), 0)
    assert set(w.requests) == {"cpu", "memory", "ephemeral-storage"}
    is_a = np.array([n.startswith("a-") for n in w.names])
    assert np.all(w.requests["ephemeral-storage"][is_a] == 10 * GIB)
    assert np.all(w.requests["ephemeral-storage"][~is_a] == 0)


def test_fifty_thousand_pods_in_well_under_a_second():
    cfg = SyntheticWorkloadConfig.model_validate(
        config(
            num_pods=50_000,
            arrivals={"process": "diurnal", "mean_rate": 0.5, "amplitude": 0.6},
            lifetime={"distribution": "lognormal", "median": 1800, "sigma": 1.0},
        )
    )
    generate(cfg, seed=0)  # warm-up
    start = time.perf_counter()
    w = generate(cfg, seed=1)
    elapsed = time.perf_counter() - start
    assert len(w) == 50_000
    assert elapsed < 0.5, f"50,000 pods took {elapsed:.3f} s"


# --- bad configuration -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"num_pods": None}, "set num_pods or horizon"),
        ({"arrivals": {"process": "bursty", "rate": 1}}, "arrivals"),
        ({"arrivals": {"process": "poisson", "rate": 0}}, "rate"),
        ({"arrivals": {"process": "diurnal", "mean_rate": 1, "amplitude": 1.5}}, "amplitude"),
        ({"arrivals": {"process": "poisson", "rate": 1, "mean_rate": 1}}, "mean_rate"),
        ({"lifetime": {"distribution": "weibull"}}, "lifetime"),
        ({"lifetime": {"distribution": "lognormal", "median": 10}}, "sigma"),
        ({"classes": []}, "classes"),
        ({"classes": [{"name": "a", "gpu_count": 2, "gpu_milli": 500}]}, "gpu_count 1"),
        ({"classes": [{"name": "a", "gpu_count": 1, "gpu_milli": 1001}]}, "gpu_milli"),
        ({"classes": [{"name": "a", "cpu": "lots"}]}, "cpu"),
        ({"classes": [{"name": "a", "cpu": "-1"}]}, "cpu"),
        ({"classes": [{"name": "a"}, {"name": "a"}]}, "duplicate pod class name(s): a"),
        ({"classes": [{"name": "a", "weight": 0}]}, "weight"),
        ({"classes": [{"name": "a", "nodeSelector": {}}]}, "nodeSelector"),
        ({"classes": [{"name": "a", "tolerations": [{"operator": "Maybe"}]}]}, "operator"),
        ({"horizon": 1e12, "num_pods": None}, "set num_pods"),
        ({"pods": 10}, "pods"),
    ],
)
def test_bad_config_names_the_field(change, message):
    with pytest.raises(ValidationError) as info:
        SyntheticWorkloadConfig.model_validate(config(**change))
    assert message in str(info.value)


@pytest.mark.parametrize("seed", [-1, 1.5, "1", True])
def test_bad_seed(seed):
    with pytest.raises(ValueError, match="seed"):
        generate(config(), seed=seed)


@pytest.mark.parametrize(
    ("arrivals", "num_pods", "horizon"),
    [
        ({"process": "poisson", "rate": 40.0}, None, 5000.0),  # several chunks, cut by the horizon
        ({"process": "poisson", "rate": 0.07}, None, 21600.0),  # less than one piece
        ({"process": "poisson", "rate": 3.0}, 150_000, None),  # a pod count over three chunks
        ({"process": "diurnal", "mean_rate": 5.0, "amplitude": 0.8}, 90_000, 86400.0),  # thinned
    ],
)
def test_arrivals_drawn_in_pieces_are_those_of_whole_chunks(monkeypatch, arrivals, num_pods, horizon):
    """Gaps are drawn and summed in pieces of a chunk: the same numbers as one draw of the whole chunk."""
    cfg = SyntheticWorkloadConfig.model_validate({"arrivals": arrivals, "num_pods": 1, "classes": [{"name": "a"}]})
    pieces = synthetic.arrival_times(cfg.arrivals, 11, num_pods, horizon)
    monkeypatch.setattr(synthetic, "_PIECE", synthetic._CHUNK)
    whole = synthetic.arrival_times(cfg.arrivals, 11, num_pods, horizon)
    assert len(whole) > 100 and pieces.tobytes() == whole.tobytes()
