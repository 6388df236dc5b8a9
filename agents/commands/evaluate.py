"""evaluate.py: evaluate scheduling policies and write a report a researcher can publish.

    python evaluate.py --config configs/eval/default.yaml
    python evaluate.py --policies kube-default best-fit runs/default__maskable_ppo__0__... policy.onnx \\
                       --scenarios default node-failures --seeds 100 101 102 --workers 2 [--ray auto|ADDRESS]
    python evaluate.py --config configs/eval/fgd-openb.yaml [--nodes CSV] [--pods CSV ...]

Policies are heuristic names, training run directories or model files, or exported .onnx files. Every
(policy, scenario, seed) cell is saved to OUT/cells/ when done; running again into the same OUT skips the
cells already there, so an interrupted evaluation resumes. Serial, --workers and --ray runs give the
same results. OUT gets results.json, results.csv, report.md and a self-contained report.html.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError

from podgym.agents.eval_report import terminal_table, write_report
from podgym.agents.evaluation import aggregate, check_scenario, resolve_policy, run_cell
from podgym.agents.fgd_experiment import run_one
from podgym.agents.fgd_report import write_report as write_fgd_report
from podgym.agents.io import atomic_write_json
from podgym.agents.progress import CountProgress
from podgym.envs.data import data_file_exists, expand_data_dir, missing_file_error, trace_name
from podgym.envs.kube.errors import ConfigError, KubeObjectError, from_validation_error
from podgym.envs.workload._fields import StrictModel
from podgym.policies import HEURISTICS, is_heuristic


class PoliciesConfig(StrictModel):
    """configs/eval/*.yaml of kind policies: policies x scenarios x seeds."""

    kind: Literal["policies"] = "policies"
    policies: list[str] = Field(min_length=1)
    scenarios: list[str] = Field(min_length=1)
    seeds: list[int] = Field(min_length=1)
    out: str = "runs/eval/latest"


class FgdOpenbConfig(StrictModel):
    """configs/eval/*.yaml of kind fgd-openb: the FGD paper's experiment."""

    kind: Literal["fgd-openb"]
    nodes: str
    traces: list[str] = Field(min_length=1)
    policies: list[str] = Field(min_length=1)
    seeds: list[int] = Field(min_length=1)
    tune: float = Field(default=1.3, gt=0)
    tie_break: Literal["rank", "random"] = Field(
        default="rank",
        description="ties for the top score: 'rank' (the experiment's rule: a random node order drawn once per "
        "run) or 'random' (kube-scheduler's: a fresh random choice per pod)",
    )
    policy_typical_pods: Literal["experiment", "export"] = Field(
        default="experiment",
        description="the typical pods a learned policy's fgd_score feature is measured against: 'experiment' (the "
        "trace's, as FGD's score is) or 'export' (those an exported policy's policy.json carries, as the extender "
        "serves it; .onnx policies only)",
    )
    out: str = "runs/eval/fgd-openb"


def load_config(path: str) -> PoliciesConfig | FgdOpenbConfig:
    """Read and validate an evaluation config; errors name the file and the field."""
    try:
        with open(path) as stream:
            data = yaml.safe_load(stream)
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=path) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", source=path) from None
    if not isinstance(data, dict):
        raise ConfigError("an evaluation config must be a mapping", source=path)
    kind = data.get("kind", "policies")
    if kind not in ("policies", "fgd-openb"):
        raise ConfigError(
            f"expected 'policies' or 'fgd-openb', got {kind!r}", obj="evaluation config", field="kind", source=path
        )
    model = FgdOpenbConfig if kind == "fgd-openb" else PoliciesConfig
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc, obj="evaluation config", source=path, error=ConfigError) from None


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")[:80]


def _resolve_all(policies: list[str]):
    """Every policy resolved before any work starts; an error names its place in `policies`."""
    specs = []
    for i, ref in enumerate(policies):
        try:
            specs.append(resolve_policy(ref))
        except KubeObjectError as exc:
            raise KubeObjectError(str(exc), field=f"policies[{i}]") from None
    seen: dict[str, int] = {}
    for i, spec in enumerate(specs):
        j = seen.setdefault(spec.label, i)
        if j != i and spec.ref != specs[j].ref:
            raise KubeObjectError(
                f"{specs[j].ref!r} and {spec.ref!r} would both be reported as {spec.label!r}: give one another "
                "name (rename or link its file or run directory)",
                field=f"policies[{i}]",
            )
    return specs


def run_cells(todo: list[tuple[Path, tuple]], fn, workers: int, ray_address: str | None, desc: str) -> None:
    """Run every cell (serially, in processes or on Ray) and save each result as soon as it is done."""
    with CountProgress(len(todo), desc) as bar:
        if ray_address:
            try:
                import ray
            except ImportError:
                raise KubeObjectError("--ray needs Ray: pip install 'podgym[ray]'") from None
            ray.init(
                address=None if ray_address == "local" else ray_address,
                ignore_reinit_error=True,
                include_dashboard=False,
                log_to_driver=False,
            )
            remote = ray.remote(fn)
            pending = {remote.remote(*args): path for path, args in todo}
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    atomic_write_json(pending.pop(ref), ray.get(ref))
                    bar.update()
        elif workers > 1 and len(todo) > 1:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = {pool.submit(fn, *args): path for path, args in todo}
                for future in as_completed(futures):
                    atomic_write_json(futures[future], future.result())
                    bar.update()
        else:
            for path, args in todo:
                atomic_write_json(path, fn(*args))
                bar.update()


def evaluate_policies(cfg: PoliciesConfig, workers: int = 1, ray_address: str | None = None) -> tuple[Path, dict]:
    """Check every input, run the missing cells, aggregate and write the report."""
    specs = _resolve_all(cfg.policies)
    for s in cfg.scenarios:
        check_scenario(s)
    out = Path(cfg.out)
    cells = out / "cells"
    todo, wanted = [], []
    for spec in specs:
        for scenario in cfg.scenarios:
            for seed in cfg.seeds:
                path = cells / f"{_safe(scenario)}__{_safe(spec.label)}__{seed}.json"
                wanted.append(path)
                if not path.exists():
                    todo.append((path, (spec.ref, scenario, seed)))
    run_cells(todo, run_cell, workers, ray_address, "evaluate")
    rows = [json.loads(p.read_text()) for p in wanted]
    agg = aggregate(rows)
    write_report(rows, agg, out)
    return out, agg


def _fgd_cell(
    nodes: str, pods: str, policy: str, seed: int, tune: float, tie_break: str = "rank", typical: str = "experiment"
) -> dict:
    return run_one(nodes, pods, policy, seed, tune, tie_break, typical).as_dict()


def run_fgd_openb(cfg: FgdOpenbConfig, workers: int = 1, ray_address: str | None = None) -> Path:
    """The FGD experiment: run every missing cell, then write the report."""
    out = Path(cfg.out)
    nodes = expand_data_dir(cfg.nodes)
    traces = [expand_data_dir(t) for t in cfg.traces]
    for path in [nodes, *traces]:
        if not data_file_exists(path):
            raise missing_file_error(path, "openb trace file (--nodes/--pods)")
    specs = _resolve_all(cfg.policies)
    if cfg.policy_typical_pods == "export":
        for spec in specs:
            if spec.kind == "learned":
                raise ConfigError(
                    f"policy_typical_pods 'export' needs exported .onnx policies (their policy.json's typical "
                    f"pods); {spec.ref} is a run or model file"
                )
    cells = out / "cells"
    todo, wanted = [], []
    for trace in traces:
        for policy in cfg.policies:
            for seed in cfg.seeds:
                # The inputs that change a result are in the name: another node list, tune, tie rule or (for a
                # learned policy) typical pods is another cell (the defaults add nothing, so that cells keep names).
                inputs = f"{Path(nodes).resolve()}|{Path(trace).resolve()}|{cfg.tune}"
                if cfg.tie_break != "rank":
                    inputs += f"|{cfg.tie_break}"
                typical = "experiment" if is_heuristic(policy) else cfg.policy_typical_pods
                if typical != "experiment":
                    inputs += f"|typical-{typical}"
                key = hashlib.sha1(inputs.encode()).hexdigest()
                path = cells / f"{trace_name(trace)}__{_safe(resolve_policy(policy).label)}__{seed}__{key[:10]}.json"
                wanted.append(path)
                if not path.exists():
                    todo.append((path, (nodes, trace, policy, seed, cfg.tune, cfg.tie_break, typical)))
    run_cells(todo, _fgd_cell, workers, ray_address, "fgd-openb")
    rows = [json.loads(p.read_text()) for p in wanted]
    atomic_write_json(out / "results.json", rows)
    write_fgd_report(rows, [s.label for s in _resolve_all(cfg.policies)], out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="evaluate.py",
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.split("\n")[2:]),
    )
    parser.add_argument("--config", help="an evaluation YAML (configs/eval/)")
    parser.add_argument(
        "--policies",
        nargs="+",
        help=f"heuristics ({', '.join(HEURISTICS)}; or pairs CPU+GPU of them, e.g. "
        "kube-default+gpu-packing: the first for pods without GPUs, the second for pods with GPUs), run dirs, "
        "model files or .onnx files",
    )
    parser.add_argument("--scenarios", nargs="+", help="scenario names or YAML paths")
    parser.add_argument("--seeds", nargs="+", type=int, help="episode seeds")
    parser.add_argument("--nodes", help="fgd-openb: the node list (openb CSV)")
    parser.add_argument("--pods", nargs="+", help="fgd-openb: the pod lists (openb CSVs)")
    parser.add_argument(
        "--tie-break",
        choices=("rank", "random"),
        help="fgd-openb: ties for the top score by a node rank drawn once per run (the experiment's rule) or by a "
        "fresh random choice per pod (kube-scheduler's)",
    )
    parser.add_argument(
        "--policy-typical-pods",
        choices=("experiment", "export"),
        help="fgd-openb: a learned policy's fgd_score feature against the trace's typical pods, as FGD's score "
        "(experiment, the default), or against those its policy.json carries, as the extender serves it (export)",
    )
    parser.add_argument("--workers", type=int, default=1, help="local worker processes")
    parser.add_argument("--ray", metavar="ADDRESS", help="run the cells on Ray: 'auto', 'local' or an address")
    parser.add_argument("--out", help="the output directory")
    args = parser.parse_args(argv)
    try:
        if args.policies:
            _resolve_all(args.policies)  # a wrong policy is the first thing to hear about
        if args.config:
            cfg = load_config(args.config)
        elif args.policies and args.scenarios:
            cfg = PoliciesConfig(policies=args.policies, scenarios=args.scenarios, seeds=args.seeds or [0])
        else:
            raise ConfigError("give --config, or --policies and --scenarios")
        updates: dict[str, Any] = {
            k: v for k, v in (("policies", args.policies), ("seeds", args.seeds), ("out", args.out)) if v
        }
        if isinstance(cfg, FgdOpenbConfig):
            if args.scenarios:
                raise ConfigError("--scenarios does not apply to an fgd-openb config (use --nodes/--pods)")
            updates.update(
                {
                    k: v
                    for k, v in (
                        ("nodes", args.nodes),
                        ("traces", args.pods),
                        ("tie_break", args.tie_break),
                        ("policy_typical_pods", args.policy_typical_pods),
                    )
                    if v
                }
            )
            cfg = cfg.model_copy(update=updates)
            out = run_fgd_openb(cfg, args.workers, args.ray)
            print((out / "summary.md").read_text())
            print(f"Report: {out}/summary.md (results.json, results.csv, figures)")
            return 0
        if args.tie_break:
            raise ConfigError("--tie-break applies to an fgd-openb config only (scenarios set simulation.tie_break)")
        if args.policy_typical_pods:
            raise ConfigError("--policy-typical-pods applies to an fgd-openb config only")
        if args.scenarios:
            updates["scenarios"] = args.scenarios
        cfg = cfg.model_copy(update=updates)
        out, agg = evaluate_policies(cfg, args.workers, args.ray)
    except (KubeObjectError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(terminal_table(agg))
    print(f"Report: {out / 'report.html'} (and report.md, results.json, results.csv)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
