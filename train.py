"""train.py: train a learned scheduler on a scenario with stable-baselines3.

    python train.py                                   # default scenario, MaskablePPO, default config
    python train.py --config configs/train/openb-small__maskable_ppo.yaml --set seed=3 --set total_timesteps=50000
    python train.py --resume runs/default__maskable_ppo__0__20260101-120000
    python train.py --seeds 0 1 2 --run-dir runs/default-3seeds          # three runs, two processes at a time
    python train.py --seeds 0 1 2 --run-dir runs/default-3seeds --resume  # continue all three
    python train.py --seeds 0 1 2 --run-dir runs/default-3seeds --ray auto

Each run writes runs/{scenario}__{algo}__{seed}__{time}/: config.yaml (resolved), meta.json (seed, package
versions, git commit), tb/ (TensorBoard: SB3 losses, scheduling/*, eval/*), checkpoints/latest.zip (atomic,
every checkpoint_every steps), best_model.zip and best_eval.json (by periodic evaluation against the
baselines), final_model.zip. --resume continues a killed run from its last checkpoint. With --seeds, each seed
trains in its own process into RUN_DIR/seed-S, and RUN_DIR/seeds.json reports the interquartile mean of their
evaluation returns with a bootstrap interval over the seeds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import yaml

from podgym.agents.io import atomic_write_text
from podgym.agents.multiseed import train_seeds
from podgym.agents.training import load_run_config, load_train_config, train, validate_inputs
from podgym.envs.kube.errors import KubeObjectError
from podgym.envs.simulate import parse_overrides


def _from_set(exc: KubeObjectError, items: list[str]) -> KubeObjectError:
    """`exc` blamed on the `--set KEY=VALUE` whose key names its field (the field inside the scenario for an
    ``overrides.`` key), else `exc` as it is."""
    if not exc.field:
        return exc
    for item in items:
        key = item.partition("=")[0]
        field = exc.field
        if key.startswith("overrides."):
            if exc.obj != "Scenario":
                continue
            key = key.removeprefix("overrides.")
        if field == key or field.startswith((key + ".", key + "[")) or key.startswith(field + "."):
            return KubeObjectError(exc.problem, obj=exc.obj, field=exc.field, source=f"--set {item}")
    return exc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="train.py",
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.split("\n")[2:]),
    )
    parser.add_argument("--config", help="a training YAML (default: configs/train/default__maskable_ppo.yaml)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config field, e.g. total_timesteps=100000, hyperparameters.n_steps=128, "
        "overrides.simulation.horizon=3600 (repeatable)",
    )
    parser.add_argument(
        "--resume", nargs="?", const="", metavar="RUN_DIR", help="continue a run (or with --seeds, every run)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", metavar="S", help="train one run per seed (spawned processes)")
    parser.add_argument("--workers", type=int, default=2, help="with --seeds: runs at a time (default 2)")
    parser.add_argument(
        "--ray", metavar="ADDRESS", help="with --seeds: run them as Ray tasks ('auto', 'local' or an address)"
    )
    parser.add_argument("--run-dir", help="write the run here instead of runs/{scenario}__{algo}__{seed}__{time}")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        if args.seeds:
            return _multi_seed(args)
        if args.resume == "":
            raise KubeObjectError("--resume needs the run directory (or --seeds and --run-dir)")
        if args.resume:
            run_dir = Path(args.resume)
            cfg = load_run_config(run_dir)
            run_dir = train(cfg, run_dir, resume=True, progress_bar=not args.no_progress)
        else:
            sets = parse_overrides(args.set)
            overrides = {k.removeprefix("overrides."): v for k, v in sets.items() if k.startswith("overrides.")}
            try:
                cfg = load_train_config(args.config, {k: v for k, v in sets.items() if not k.startswith("overrides.")})
                cfg.overrides.update(overrides)
                validate_inputs(cfg)
            except KubeObjectError as exc:
                raise _from_set(exc, args.set) from None
            run_dir = Path(args.run_dir) if args.run_dir else None
            if run_dir is not None and (run_dir / "config.yaml").exists():
                raise KubeObjectError(
                    "a run already exists here: use --resume to continue it, or another --run-dir", source=str(run_dir)
                )
            run_dir = train(cfg, run_dir, progress_bar=not args.no_progress)
    except (KubeObjectError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    best = run_dir / "best_eval.json"
    if best.exists():
        data = json.loads(best.read_text())
        print(
            f"best evaluation return {data['return_mean']:.4f} at {data['num_timesteps']} steps; baselines: "
            + ", ".join(f"{k} {v:.4f}" for k, v in data["baselines"].items())
        )
    print(f"Run directory: {run_dir}")
    return 0


def _multi_seed(args: argparse.Namespace) -> int:
    if not args.run_dir:
        raise KubeObjectError("--seeds needs --run-dir: the directory that holds one run per seed")
    root = Path(args.run_dir)
    if args.resume is not None:
        cfg = load_run_config(root)
    else:
        if (root / "config.yaml").exists():
            raise KubeObjectError("runs already exist here: add --resume to continue them", source=str(root))
        sets = parse_overrides(args.set)
        overrides = {k.removeprefix("overrides."): v for k, v in sets.items() if k.startswith("overrides.")}
        cfg = load_train_config(args.config, {k: v for k, v in sets.items() if not k.startswith("overrides.")})
        cfg.overrides.update(overrides)
        root.mkdir(parents=True, exist_ok=True)
        atomic_write_text(root / "config.yaml", yaml.safe_dump(cfg.model_dump(), sort_keys=False))
    summary = train_seeds(cfg, args.seeds, root, args.workers, args.ray, resume=args.resume is not None)
    for run in summary["runs"]:
        print(f"seed {run['seed']}: evaluation return {np.mean(run['returns']):.4f} at {run['num_timesteps']} steps")
    lo, hi = summary["iqm_ci95"]
    print(f"IQM over {len(args.seeds)} seeds: {summary['iqm_return']:.4f} [{lo:.4f}, {hi:.4f}]   Runs: {root}/seed-*")
    return 0


if __name__ == "__main__":
    sys.exit(main())
