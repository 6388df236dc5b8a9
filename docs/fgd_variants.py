"""FGD varied in the FGD paper's experiment on openb: is there a better expert to clone? One JSON line a variant.

Each variant changes one thing of FGD (``policies/fgd.py``) and runs the experiment (``agents/fgd_experiment.py``:
the full 1,213-node cluster, the default trace, 130 % arrived) on development seeds, never the evaluation seeds
42-51:

* ``scale=S``: the score ``trunc(100 sigmoid((F_n - F_n') / S))`` with another scale S (FGD: 1000), so coarser
  (S > 1000) or finer (S < 1000) ties;
* ``typical=P``: the typical pods FGD measures fragmentation against are the most popular pod types that make up
  the share P of the workload (FGD: 0.95);
* ``lookahead=M,K``: ``fgd-lookahead`` (``policies/lookahead.py``) with M candidate nodes and K drawn pods (not in
  the default list: each run takes 15-70 times FGD's time);
* ``then=KEY``: FGD's score first, then KEY among its tied nodes, then the run's rank as FGD: ``used`` (nodes
  already running a pod), ``least-idle-gpu`` (packing), ``most-idle-gpu`` (spreading), ``fewest-gpus``,
  ``most-gpus``, ``least-cpu``, ``most-cpu`` (node sizes), ``lowest-frag`` (the node's own F_n' after the pod).

    python docs/fgd_variants.py [--seeds 1 2 3 4 5 6] [--variants fgd scale=500 typical=0.9 then=used ...]
    python docs/fgd_variants.py --seeds 1 2 3 --variants fgd lookahead=3,8 lookahead=3,16 lookahead=6,16
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import podgym.agents.fgd_experiment as experiment  # noqa: E402
from podgym.envs.data import data_dir  # noqa: E402
from podgym.envs.fragmentation import FragmentationIndex, typical_pods  # noqa: E402
from podgym.policies.fgd import FGDPolicy  # noqa: E402
from podgym.policies.lookahead import FGDLookahead  # noqa: E402

NODES = data_dir() / "openb" / "csv" / "openb_node_list_gpu_node.csv.gz"
PODS = data_dir() / "openb" / "csv" / "openb_pod_list_default.csv.gz"
TIE_KEYS = (
    *("used", "least-idle-gpu", "most-idle-gpu"),
    *("fewest-gpus", "most-gpus", "least-cpu", "most-cpu", "lowest-frag"),
)
VARIANTS = (
    "fgd",
    *(f"scale={s}" for s in (300, 500, 700, 1500, 2000, 3000)),
    *(f"typical={p}" for p in (0.8, 0.9, 0.99, 1)),
    *(f"then={k}" for k in TIE_KEYS),
)
TIE_SPAN = 1000  # the secondary key's integer levels below one step of FGD's score


class ScaledIndex(FragmentationIndex):
    """FragmentationIndex whose scores are trunc(100 sigmoid(decrease / scale)) (FGD: scale 1000)."""

    scale = 1000.0

    def score_of(self, before: np.ndarray, after: np.ndarray) -> np.ndarray:
        x = (before - after) / (self.denominator * self.scale)
        return np.floor(100.0 / (1.0 + np.exp(-x))).astype(np.int64)


class FGDVariant(FGDPolicy):
    """FGD with another score scale, other typical pods, or a key that breaks its ties before the rank does."""

    def __init__(self, typical, scale: float | None = None, popularity: float | None = None, then: str | None = None):
        super().__init__(typical)
        self.scale, self.popularity, self.then = scale, popularity, then

    def reset(self, sim) -> None:
        super().reset(sim)
        if self.scale is not None:
            self.index = ScaledIndex(sim.cluster, self.index.typical)
            self.index.scale = self.scale
        if self.popularity is not None:  # the run's pods (the trace, resampled to the arrived share) at this share
            self.index = FragmentationIndex(sim.cluster, typical_pods(sim.workload, self.popularity))

    def score(self, cluster, pod, nodes):
        base = super().score(cluster, pod, nodes)
        if self.then is None:
            return base
        gpus = (cluster.gpu_free[nodes] >= 0).sum(axis=1).astype(np.float64)
        idle = np.maximum(cluster.gpu_free[nodes], 0).sum(axis=1) / np.maximum(gpus * 1000.0, 1.0)
        cpu = cluster.allocatable_t[self.index.cpu, nodes].astype(np.float64)
        key = {  # each in [0, 1], higher preferred
            "used": lambda: (cluster.pod_count[nodes] > 0).astype(np.float64),
            "least-idle-gpu": lambda: 1.0 - idle,
            "most-idle-gpu": lambda: idle,
            "fewest-gpus": lambda: 1.0 - gpus / max(gpus.max(), 1.0),
            "most-gpus": lambda: gpus / max(gpus.max(), 1.0),
            "least-cpu": lambda: 1.0 - cpu / max(cpu.max(), 1.0),
            "most-cpu": lambda: cpu / max(cpu.max(), 1.0),
            "lowest-frag": lambda: 1.0 - np.clip(self._after(nodes, pod) / 8000.0, 0.0, 1.0),
        }[self.then]()
        return base * TIE_SPAN + np.floor(key * (TIE_SPAN - 1)).astype(np.int64)

    def _after(self, nodes, pod) -> np.ndarray:
        after = self.index.after(nodes, pod)
        after = after.min(axis=1) if after.ndim == 2 else after
        return np.where(np.isfinite(after), after, np.inf)


def make_variant(name: str, typical):
    """The variant `name` (see VARIANTS) of FGD scoring against `typical`."""
    kind, _, value = name.partition("=")
    if name == "fgd":
        return FGDPolicy(typical)
    if kind == "lookahead" and all(p.isdigit() for p in value.split(",")) and value.count(",") == 1:
        candidates, depth = (int(p) for p in value.split(","))
        return FGDLookahead(typical, candidates=max(candidates, 1), depth=depth)
    if kind == "then" and value in TIE_KEYS:
        return FGDVariant(typical, then=value)
    number = float(value) if value.replace(".", "", 1).isdigit() else 0.0
    if kind == "scale" and number > 0:
        return FGDVariant(typical, scale=number)
    if kind == "typical" and 0 < number <= 1:
        return FGDVariant(typical, popularity=number)
    keys = ", ".join(TIE_KEYS)
    raise SystemExit(
        f"unknown variant {name!r}: fgd, scale=S (S > 0), typical=P (0 < P <= 1), lookahead=M,K or then=KEY ({keys})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS))
    args = parser.parse_args()
    if set(args.seeds) & set(range(42, 52)):
        parser.error("seeds 42-51 are the evaluation seeds: choose experts on other seeds")
    reference: list[float] | None = None
    for name in args.variants:
        experiment.experiment_heuristic = lambda _, typical, name=name: make_variant(name, typical)
        alloc = [experiment.run_one(NODES, PODS, "fgd", seed).alloc_130 for seed in args.seeds]
        reference = reference if reference is not None or name != "fgd" else alloc
        line = {"variant": name, "seeds": args.seeds, "alloc_130": alloc, "mean": round(float(np.mean(alloc)), 3)}
        if reference is not None and name != "fgd":
            diff = np.subtract(alloc, reference)
            line["minus_fgd"] = round(float(diff.mean()), 3)
            line["minus_fgd_range"] = [round(float(diff.min()), 2), round(float(diff.max()), 2)]
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
