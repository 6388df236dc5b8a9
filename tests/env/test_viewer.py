"""The viewer (envs/viewer.py): text and picture renderings of the cluster, checked on toy clusters whose
state is set by hand (known bindings, a scripted node failure, a half-used GPU) and through the environment."""

from __future__ import annotations

import gc
import sys

import gymnasium as gym
import numpy as np
import pytest

import podgym.envs as envs  # noqa: F401  (registers podgym/PodScheduling-v0)
from podgym.envs.env import ENV_ID
from podgym.envs.kube import parse_nodes
from podgym.envs.simulator import FailureModel, SimulationOptions, Simulator
from podgym.envs.viewer import MAX_TEXT_NODES, RGB_SHAPE, render_ansi, render_rgb
from podgym.envs.workload.objects import workload_from_pods
from podgym.envs.workload.types import GPU_COUNT_ANNOTATION, GPU_MILLI_ANNOTATION, GPU_MODEL_LABEL, ClusterSource
from tests.kube.builders import node, pod

INF = float("inf")


# ---- builders ----------------------------------------------------------------------------------------------------


def mknode(name: str, cpu: str = "4", memory: str = "16Gi", gpus: int = 0) -> dict:
    alloc = {"cpu": cpu, "memory": memory, "pods": "110"}
    labels = None
    if gpus:
        alloc["nvidia.com/gpu"] = str(gpus)
        labels = {GPU_MODEL_LABEL: "Tesla-T4"}
    return node(name, allocatable=alloc, labels=labels)


def mkpod(name: str, cpu: str = "1", memory: str = "1Gi", gpu_count: int = 0, gpu_milli: int = 1000) -> dict:
    p = pod(name, containers=[{"cpu": cpu, "memory": memory}])
    if gpu_count:
        p["metadata"]["annotations"] = {GPU_COUNT_ANNOTATION: str(gpu_count), GPU_MILLI_ANNOTATION: str(gpu_milli)}
    return p


def make_sim(nodes: list[dict], pods: list[dict], arrival: list[float], **options) -> Simulator:
    workload = workload_from_pods(pods, arrival, [INF] * len(pods))
    return Simulator(ClusterSource(nodes=parse_nodes(nodes)), workload, SimulationOptions(**options))


def toy_sim() -> Simulator:
    """cpu-a (4 cores, 16Gi), gpu-b (8 cores, 32Gi, 2 GPUs), cpu-c (4 cores); cpu-c fails at t=5.

    Pods: web (1.5 cores, 2Gi) and note (1 core, 4Gi, half a GPU) at t=0, late (1 core) at t=10.
    """
    nodes = [mknode("cpu-a"), mknode("gpu-b", "8", "32Gi", gpus=2), mknode("cpu-c")]
    pods = [mkpod("web", "1500m", "2Gi"), mkpod("note", "1", "4Gi", gpu_count=1, gpu_milli=500), mkpod("late")]
    failures = FailureModel(events=((5.0, "cpu-c", "fail"),))
    return make_sim(nodes, pods, [0.0, 0.0, 10.0], failures=failures)


def bind_first_two(sim: Simulator) -> None:
    """web on cpu-a, note on gpu-b, then advance to late (past cpu-c's failure)."""
    for node_index in (0, 1):
        sim.next_pod()
        sim.bind(node_index)
    sim.next_pod()


def row(text: str, name: str) -> list[str]:
    """The cells of node `name`'s line of a render_ansi table."""
    lines = [line for line in text.splitlines() if line.split() and line.split()[0] == name]
    assert len(lines) == 1, text
    return lines[0].split()


# ---- text --------------------------------------------------------------------------------------------------------


def test_ansi_lists_every_node_and_the_pod_being_placed():
    sim = toy_sim()
    i = sim.next_pod()
    text = render_ansi(sim, sim.request(i))
    for name in sim.cluster.node_names:
        assert name in text
    header = text.splitlines()[0]
    assert "t=0.0s" in header and "pending 2" in header and "running 0" in header
    assert "web: cpu 1.5, memory 2Gi" in header
    assert row(text, "cpu-a") == ["cpu-a", "up", "0/4", "..........", "0/16", "..........", "0/110"]


def test_ansi_shows_used_over_allocatable_after_bindings():
    sim = toy_sim()
    bind_first_two(sim)
    text = render_ansi(sim, sim.request(sim.next_pod()))
    assert row(text, "cpu-a")[2:] == ["1.5/4", "####......", "2/16", "#.........", "1/110"]
    assert row(text, "gpu-b")[2:6] == ["1/8", "#.........", "4/32", "#........."]
    assert "running 2" in text.splitlines()[0] and "late: cpu 1, memory 1Gi" in text.splitlines()[0]


def test_ansi_marks_a_failed_node_down():
    sim = toy_sim()
    sim.next_pod()
    assert row(render_ansi(sim, None), "cpu-c")[1] == "up"
    bind_first_two(sim)
    assert sim.now == 10.0 and not sim.cluster.alive[2]
    text = render_ansi(sim, None)
    assert row(text, "cpu-c")[1] == "down"
    assert row(text, "cpu-a")[1] == "up"
    assert "nodes up 2/3" in text.splitlines()[0]
    sim.cluster.set_unschedulable(0, True)
    assert row(render_ansi(sim, None), "cpu-a")[1] == "cordoned"


def test_ansi_gpu_characters():
    sim = toy_sim()
    i = sim.next_pod()
    text = render_ansi(sim, sim.request(i))
    assert row(text, "gpu-b")[6] == ".."  # two idle GPUs
    bind_first_two(sim)
    text = render_ansi(sim, None)
    assert row(text, "gpu-b")[6] == "5."  # half of GPU 0 used, GPU 1 idle
    assert len(row(text, "cpu-a")) == 7  # no GPU: the column is blank
    sim.cluster.gpu_free[1] = [0, 900]
    assert row(render_ansi(sim, None), "gpu-b")[6] == "#1"  # full, then a tenth used
    assert "(episode over)" in render_ansi(sim, None).splitlines()[0]


def test_ansi_gpu_ask_in_header():
    sim = toy_sim()
    sim.next_pod()
    sim.bind(0)
    header = render_ansi(sim, sim.request(sim.next_pod())).splitlines()[0]
    assert "note: cpu 1, memory 4Gi, gpu 1x500m" in header


def test_ansi_large_cluster_lists_the_most_allocated_nodes():
    n = 60
    nodes = [mknode(f"n{j:02d}") for j in range(n)]
    busy = [7, 31, 45, 59]
    sim = make_sim(nodes, [mkpod(f"p{k}") for k in range(len(busy))], [0.0] * len(busy))
    for j in busy:
        sim.next_pod()
        sim.bind(j)
    lines = render_ansi(sim, None).splitlines()
    table = lines[2:-1]
    assert len(table) == MAX_TEXT_NODES
    names = [line.split()[0] for line in table]
    assert all(f"n{j:02d}" in names for j in busy)
    assert names == sorted(names)  # node order
    assert f"{n - MAX_TEXT_NODES} less allocated nodes hidden" in lines[-1]


def test_env_render_ansi():
    env = gym.make(ENV_ID, scenario="default", render_mode="ansi")
    _, info = env.reset(seed=0)
    text = env.render()
    assert isinstance(text, str)
    for name in env.unwrapped.sim.cluster.node_names:
        assert name in text
    assert info["pod"] in text.splitlines()[0]
    env.close()


def test_render_returns_none_without_render_mode():
    env = gym.make(ENV_ID, scenario="default")
    env.reset(seed=0)
    assert env.render() is None
    env.close()


# ---- picture -----------------------------------------------------------------------------------------------------

LARGE_CLUSTER = {
    "pools": [
        {"name": "cpu", "count": 400, "cpu": "4", "memory": "16Gi"},
        {"name": "gpu", "count": 100, "cpu": "32", "memory": "128Gi", "gpus": 8, "gpu_model": "Tesla-T4"},
    ]
}


def test_env_render_rgb_shape_content_and_change():
    env = gym.make(ENV_ID, scenario="default", render_mode="rgb_array")
    obs, _ = env.reset(seed=0)
    before = env.render()
    assert before.dtype == np.uint8 and before.shape == RGB_SHAPE == (480, 640, 3)
    assert before.min() < before.max()
    env.step(int(np.flatnonzero(obs["action_mask"])[0]))
    after = env.render()
    assert after.shape == RGB_SHAPE
    assert not np.array_equal(before, after)
    env.close()


def test_rgb_same_size_for_24_and_500_nodes():
    small = gym.make(ENV_ID, scenario="default", render_mode="rgb_array")
    large = gym.make(ENV_ID, scenario="default", render_mode="rgb_array", cluster=LARGE_CLUSTER)
    small.reset(seed=0)
    obs, _ = large.reset(seed=0)
    assert large.unwrapped.num_nodes == 500
    for _ in range(20):
        obs, *_ = large.step(int(np.flatnonzero(obs["action_mask"])[-1]))
    a, b = small.render(), large.render()
    assert a.shape == b.shape == RGB_SHAPE
    assert b.dtype == np.uint8 and b.min() < b.max()


def test_rgb_cluster_without_gpus_and_thousands_of_nodes():
    nodes = [mknode(f"n{j:04d}") for j in range(2000)]
    sim = make_sim(nodes, [mkpod("p")], [0.0])
    i = sim.next_pod()
    image = render_rgb(sim, sim.request(i))
    assert image.shape == RGB_SHAPE and image.dtype == np.uint8 and image.min() < image.max()
    sim.bind(1999)
    assert not np.array_equal(image, render_rgb(sim, None))
    assert len(render_ansi(sim, None).splitlines()) == MAX_TEXT_NODES + 3


def test_rgb_shows_gpu_use():
    sim = toy_sim()
    sim.next_pod()
    idle = render_rgb(sim, None)
    bind_first_two(sim)
    assert not np.array_equal(idle, render_rgb(sim, None))


def test_rgb_holds_no_memory_across_calls():
    from matplotlib.figure import Figure

    sim = toy_sim()
    bind_first_two(sim)
    for _ in range(3):
        render_rgb(sim, None)
    gc.collect()
    before = len(gc.get_objects())
    for _ in range(30):
        render_rgb(sim, None)
    gc.collect()
    growth = len(gc.get_objects()) - before
    assert growth < 100, f"render_rgb left {growth} objects alive over 30 calls"
    assert not [o for o in gc.get_objects() if isinstance(o, Figure)]
    if "matplotlib.pyplot" in sys.modules:  # no figure left in pyplot's registry
        assert sys.modules["matplotlib.pyplot"].get_fignums() == []


@pytest.mark.parametrize("mode", ["ansi", "rgb_array"])
def test_render_after_the_episode_ends(mode):
    sim = toy_sim()
    while sim.next_pod() is not None:
        sim.bind(int(np.flatnonzero(sim.feasible())[0]))
    out = render_ansi(sim, None) if mode == "ansi" else render_rgb(sim, None)
    if mode == "ansi":
        assert "(episode over)" in out
    else:
        assert out.shape == RGB_SHAPE
