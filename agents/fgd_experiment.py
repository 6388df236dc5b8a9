"""The FGD paper's experiment (Weng et al., ATC'23, Fig. 9a): GPU allocation as the arrived workload grows.

Per trace, policy and seed: every pod of the trace in a random order, tuned with resampled clones to
`tune` x the cluster's GPU capacity (``envs.workload.ops.inflate_to_gpu``); no pod leaves, a pod that
fits nowhere is dropped; only NodeResourcesFit and NodeAffinity filter (GPU-model constraints); one
policy scores; ties go to the node with the smallest random rank (fixed per seed). After every pod
(placed or not) the run records (arrived milli-GPU, allocated milli-GPU) and the FGD fragmentation;
curves are bucketed by the arrived share of GPU capacity, rounded to whole percent (section 2.3 of
``shared/specs/fgd-openb.md``).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from podgym.envs.data import trace_name
from podgym.envs.fragmentation import FragmentationIndex, TypicalPods, typical_pods
from podgym.envs.kube.profile import Profile, parse_configuration
from podgym.envs.simulator import SimulationOptions, Simulator
from podgym.envs.workload.openb import read_openb_cluster, read_openb_pods
from podgym.envs.workload.ops import inflate_to_gpu
from podgym.envs.workload.types import GPU_RESOURCE, MILLI_GPU
from podgym.policies import TYPICAL_PODS_HEURISTICS, build_heuristic, is_heuristic, make_policy

PAPER_POLICIES = ("random", "dot-product", "gpu-clustering", "gpu-packing", "best-fit", "fgd")
COLUMNS = tuple(range(131))


def experiment_profile() -> Profile:
    """Filters: NodeResourcesFit and NodeAffinity only; every node filtered (percentageOfNodesToScore 100)."""
    config = {
        "apiVersion": "kubescheduler.config.k8s.io/v1",
        "kind": "KubeSchedulerConfiguration",
        "profiles": [
            {
                "schedulerName": "fgd-experiment",
                "percentageOfNodesToScore": 100,
                "plugins": {
                    "multiPoint": {"disabled": [{"name": "*"}]},
                    # kube-scheduler needs exactly one queue-sort and at least one bind plugin in a profile
                    "queueSort": {"enabled": [{"name": "PrioritySort"}]},
                    "filter": {"enabled": [{"name": "NodeResourcesFit"}, {"name": "NodeAffinity"}]},
                    "bind": {"enabled": [{"name": "DefaultBinder"}]},
                },
            }
        ],
    }
    return parse_configuration(config, "fgd-experiment")[0]


class FragmentationRecorder:
    """Keeps the cluster's FGD fragmentation current and records it after every pod's attempt."""

    def __init__(self, typical: TypicalPods):
        self.typical = typical
        self.index: FragmentationIndex | None = None
        self.frag: list[float] = []
        self.idle: list[int] = []

    def attach(self, sim: Simulator) -> None:
        self.index = FragmentationIndex(sim.cluster, self.typical)
        sim.listeners.append(self)

    def on_bind(self, cluster, node, pod, gpus) -> None:
        self.index.update(node)

    on_unbind = on_bind

    def on_attempt(self, sim: Simulator, i: int) -> None:
        self.frag.append(self.index.total())
        self.idle.append(self.index.idle())


def bucket(arrived: np.ndarray, values: np.ndarray, capacity_milli: int, decimals: int | None = 2) -> dict[int, float]:
    """Curve columns 0..130: the mean of the per-event values whose arrived share (whole percent, half to even)
    equals the column, else within ±1 of it."""
    # As the original computes it: arrived milli / number of GPUs / 10 (then half-to-even), so exact half
    # percents round the same way.
    x = np.round(arrived / (capacity_milli / 1000) / 10)
    out: dict[int, float] = {}
    for col in COLUMNS:
        sel = values[x == col]
        if not len(sel):
            sel = values[(x >= col - 1) & (x <= col + 1)]
        if len(sel):
            out[col] = round(float(sel.mean()), 2) if decimals is not None else float(sel.mean())
    return out


@dataclass
class RunResult:
    """One (trace, policy, seed) run of the experiment."""

    trace: str
    policy: str
    seed: int
    pods: int
    placed: int
    alloc_100: float | None
    alloc_130: float | None
    seconds: float
    allocation: dict[int, float] = field(default_factory=dict)
    frag_ratio: dict[int, float] = field(default_factory=dict)
    frag_amount: dict[int, float] = field(default_factory=dict)
    tie_break: str = "rank"
    policy_typical_pods: str = "experiment"

    def as_dict(self) -> dict:
        return asdict(self)


def experiment_heuristic(name: str, typical: TypicalPods):
    """The heuristic `name` (or pair) of the experiment: FGD (and FGD with a lookahead), alone or in a pair, scores
    against `typical`."""

    def make_one(single: str):
        return make_policy(single, typical=typical) if single in TYPICAL_PODS_HEURISTICS else make_policy(single)

    return build_heuristic(name, make_one)


def run_one(
    nodes_csv: str | Path,
    pods_csv: str | Path,
    policy: str,
    seed: int,
    tune: float = 1.3,
    tie_break: str = "rank",
    policy_typical_pods: str = "experiment",
) -> RunResult:
    """Run the experiment for one trace, policy and seed; `tie_break` "random" breaks ties as kube-scheduler does
    (a fresh random choice per pod) instead of the experiment's rank. A learned policy measures its fgd_score
    feature against the trace's typical pods, as FGD does ("experiment"), or an exported one against those its
    policy.json carries, as the extender serves it ("export")."""
    cluster = read_openb_cluster(nodes_csv)
    trace = read_openb_pods(pods_csv, times=False)
    typical = typical_pods(trace)
    capacity = sum(n.allocatable.get(GPU_RESOURCE, 0) for n in cluster.nodes) * MILLI_GPU
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(trace))
    pods = inflate_to_gpu(trace, order, round(tune * capacity), rng)
    options = SimulationOptions(departures=False, retry_unschedulable=False, tie_break=tie_break)
    sim = Simulator(cluster, pods, options, experiment_profile(), seed=seed)
    recorder = FragmentationRecorder(typical)
    recorder.attach(sim)
    if is_heuristic(policy):
        scorer = experiment_heuristic(policy, typical)
    else:  # a learned policy (run directory or model file) or an exported .onnx
        from podgym.agents.evaluation import make_scorer, resolve_policy

        spec = resolve_policy(policy)
        if policy_typical_pods == "export":
            if spec.kind != "onnx":
                raise ValueError(f"{policy}: only an exported .onnx policy carries typical pods of its own")
            from podgym.policies.onnx import OnnxPolicy

            scorer = OnnxPolicy(spec.ref)  # as the extender serves it
        else:
            scorer = make_scorer(spec, typical)
    start = time.perf_counter()
    summary = sim.run(scorer)
    seconds = time.perf_counter() - start
    curve = np.asarray(sim.curve, dtype=np.float64)
    arrived, used = curve[:, 0], curve[:, 1]
    alloc = np.round(used / capacity * 100, 2)
    allocation = bucket(arrived, alloc, capacity)
    frag = np.asarray(recorder.frag)
    idle = np.maximum(np.asarray(recorder.idle, dtype=np.float64), 1.0)
    return RunResult(
        trace=trace_name(pods_csv),
        policy=policy if is_heuristic(policy) else Path(policy.rstrip("/")).name,
        seed=seed,
        pods=len(pods),
        placed=summary.pods_scheduled,
        alloc_100=allocation.get(100),
        alloc_130=allocation.get(130),
        seconds=round(seconds, 3),
        allocation=allocation,
        frag_ratio=bucket(arrived, 100 * frag / idle, capacity, decimals=None),
        frag_amount=bucket(arrived, 100 * frag / capacity, capacity),
        tie_break=tie_break,
        policy_typical_pods=policy_typical_pods if not is_heuristic(policy) else "experiment",
    )
