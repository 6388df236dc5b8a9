"""Several training seeds of one config: local processes (spawn) or Ray tasks, and their report across seeds.

RL results are reported across independent training runs, not from the best one: the interquartile mean of
the runs' evaluation returns (runs x evaluation episodes) with a percentile bootstrap interval over runs
(Agarwal et al., "Deep RL at the edge of the statistical precipice", NeurIPS 2021).
"""

from __future__ import annotations

import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from podgym.agents.evaluation import iqm_ci
from podgym.agents.io import atomic_write_json


def seed_dir(root: Path, seed: int) -> Path:
    return root / f"seed-{seed}"


def _train_one(cfg_data: dict[str, Any], run_dir: str, resume: bool) -> str:
    """One training run in a fresh process (its own torch and numba state)."""
    from podgym.agents.training import TrainConfig, train

    cfg = TrainConfig.model_validate(cfg_data)
    return str(train(cfg, Path(run_dir), resume=resume, progress_bar=False))


def train_seeds(
    cfg: Any, seeds: list[int], root: Path, workers: int = 2, ray_address: str | None = None, resume: bool = False
) -> dict[str, Any]:
    """Train `cfg` once per seed into root/seed-S (at most `workers` at a time), then write root/seeds.json.

    Each run is a separate spawned process (or a Ray task with `ray_address`: "auto", "local" or an address), so
    runs share no state and each is what ``train.py --set seed=S`` gives. `resume`: continue each run from
    its last checkpoint (a run without one starts over)."""
    root.mkdir(parents=True, exist_ok=True)
    jobs = [(cfg.model_copy(update={"seed": s}).model_dump(), str(seed_dir(root, s)), resume) for s in seeds]
    if ray_address is not None:
        try:
            import ray
        except ImportError:
            raise ValueError("--ray needs Ray: pip install 'podgym[ray]'") from None
        ray.init(
            address=None if ray_address == "local" else ray_address,
            ignore_reinit_error=True,
            include_dashboard=False,
            log_to_driver=False,
        )
        remote = ray.remote(num_cpus=1)(_train_one)
        ray.get([remote.remote(*job) for job in jobs])
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=max(1, min(workers, len(jobs))), mp_context=context) as pool:
            for future in [pool.submit(_train_one, *job) for job in jobs]:
                future.result()
    return summarize(root, seeds)


def summarize(root: Path, seeds: list[int]) -> dict[str, Any]:
    """root/seeds.json: per seed the final evaluation returns (best_eval.json), and the IQM across seeds."""
    runs = []
    for s in seeds:
        path = seed_dir(root, s) / "best_eval.json"
        if not path.exists():
            raise FileNotFoundError(f"{path}: the run of seed {s} has no evaluation")
        data = json.loads(path.read_text())
        runs.append({"seed": s, "returns": data["returns"], "num_timesteps": data["num_timesteps"]})
    point, lo, hi = iqm_ci(np.array([r["returns"] for r in runs]), np.random.default_rng(0))
    summary = {"seeds": seeds, "runs": runs, "iqm_return": point, "iqm_ci95": [lo, hi]}
    atomic_write_json(root / "seeds.json", summary)
    return summary
