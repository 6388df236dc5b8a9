"""evaluate.py: run policies on experiments and write reports.

    python evaluate.py --config configs/eval/fgd-openb.yaml [--nodes CSV] [--pods CSV ...]
                       [--policies P ...] [--seeds S ...] [--workers N] [--out DIR]

Each (trace, policy, seed) cell is written to OUT/cells/ as soon as it is done; running again into the
same OUT skips the cells already there, so an interrupted evaluation resumes.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError
from tqdm import tqdm

from agents import HEURISTICS
from agents.fgd_experiment import run_one
from agents.fgd_report import write_report
from agents.io import atomic_write_json
from envs.kube.errors import KubeObjectError, from_validation_error
from envs.scenario import expand_data_dir
from envs.workload._fields import StrictModel


class FgdOpenbConfig(StrictModel):
    """configs/eval/*.yaml of kind fgd-openb: the FGD paper's experiment."""

    kind: Literal["fgd-openb"]
    nodes: str
    traces: list[str] = Field(min_length=1)
    policies: list[str] = Field(min_length=1)
    seeds: list[int] = Field(min_length=1)
    tune: float = Field(default=1.3, gt=0)
    out: str = "runs/eval/fgd-openb"


def load_config(path: str) -> FgdOpenbConfig:
    """Read and validate an evaluation config; errors name the file and the field."""
    try:
        with open(path) as stream:
            data = yaml.safe_load(stream)
    except OSError as exc:
        raise KubeObjectError(f"cannot read: {exc.strerror}", source=path) from None
    except yaml.YAMLError as exc:
        raise KubeObjectError(f"not valid YAML: {exc}", source=path) from None
    try:
        return FgdOpenbConfig.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc, obj="evaluation config", source=path) from None


def _cell(args: tuple[str, str, str, int, float]) -> dict:
    nodes, pods, policy, seed, tune = args
    return run_one(nodes, pods, policy, seed, tune).as_dict()


def run_fgd_openb(cfg: FgdOpenbConfig, workers: int = 1) -> Path:
    """Run every missing cell, then write the report. Returns the output directory."""
    out = Path(cfg.out)
    nodes = expand_data_dir(cfg.nodes)
    traces = [expand_data_dir(t) for t in cfg.traces]
    for path in [nodes, *traces]:
        if not Path(path).is_file():
            raise KubeObjectError(f"trace file not found: {path} (set PODGYM_DATA or pass --nodes/--pods)")
    unknown = [p for p in cfg.policies if p not in HEURISTICS]
    if unknown:
        raise KubeObjectError(f"unknown policy {unknown[0]!r}; known: {', '.join(HEURISTICS)}", field="policies")
    cells = out / "cells"
    todo = []
    for trace in traces:
        for policy in cfg.policies:
            for seed in cfg.seeds:
                path = cells / f"{Path(trace).stem}__{policy}__{seed}.json"
                if not path.exists():
                    todo.append((path, (nodes, trace, policy, seed, cfg.tune)))
    with tqdm(total=len(todo), desc="fgd-openb", unit="run", disable=not todo) as bar:
        if workers > 1 and len(todo) > 1:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = {pool.submit(_cell, args): path for path, args in todo}
                for future in as_completed(futures):
                    atomic_write_json(futures[future], future.result())
                    bar.update()
        else:
            for path, args in todo:
                atomic_write_json(path, _cell(args))
                bar.update()
    wanted = {(Path(t).stem, p, s) for t in traces for p in cfg.policies for s in cfg.seeds}
    rows = []
    for f in sorted(cells.glob("*.json")):
        r = json.loads(f.read_text())
        if (r["trace"], r["policy"], r["seed"]) in wanted:
            rows.append(r)
    atomic_write_json(out / "results.json", rows)
    write_report(rows, cfg.policies, out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="evaluate.py", description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True, help="an evaluation YAML (configs/eval/)")
    parser.add_argument("--nodes", help="override the node list (openb CSV)")
    parser.add_argument("--pods", nargs="+", help="override the pod lists (openb CSVs)")
    parser.add_argument("--policies", nargs="+", help=f"override the policies ({', '.join(HEURISTICS)})")
    parser.add_argument("--seeds", nargs="+", type=int, help="override the seeds")
    parser.add_argument("--workers", type=int, default=1, help="local worker processes")
    parser.add_argument("--out", help="override the output directory")
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.config)
        updates = {
            k: v
            for k, v in (
                ("nodes", args.nodes),
                ("traces", args.pods),
                ("policies", args.policies),
                ("seeds", args.seeds),
                ("out", args.out),
            )
            if v
        }
        cfg = cfg.model_copy(update=updates)
        out = run_fgd_openb(cfg, args.workers)
    except (KubeObjectError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print((out / "summary.md").read_text())
    print(f"Report: {out}/summary.md, results.json, results.csv and figures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
