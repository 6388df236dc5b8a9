"""export.py: export a trained policy as a scheduler plugin model.

    python export.py RUN_DIR_OR_MODEL --out DIR [--typical-pods SCENARIO_OR_TRACE]

Writes DIR/policy.onnx (the per-node scorer: inputs `nodes` [N, F] with a dynamic node axis and `pod` [P],
output `scores` [N]), the same network in two parts, DIR/policy.encoder.onnx (`nodes` [N, F], `pod` [P] ->
`h` [N, H]) and DIR/policy.head.onnx (`h` [M, H], `context` [2H] -> `scores` [M]), with which the plugin
re-encodes only the nodes whose state changed and scores only the candidates, and DIR/policy.json (feature
schema and version, the parts and the pooling between them, source run and scenario, evaluation metrics, and
the typical pods of the training workload, which the fgd_score feature is measured against on any cluster).
Before writing, it checks that onnxruntime and torch agree on sample states, for the whole model and for
encoder + pooling + head, and refuses to write a model that does not.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch as th

from podgym.agents.io import atomic_write_bytes, atomic_write_json
from podgym.agents.learned import load_scoring_net, resolve_model_path
from podgym.agents.network import EncodeOneNet, HeadOneNet, NodeScoringNet, ScoreOneNet
from podgym.envs.features import FEATURE_VERSION, NODE_FEATURES, NUM_NODE_FEATURES, NUM_POD_FEATURES, POD_FEATURES
from podgym.envs.fragmentation import TypicalPods, typical_pods
from podgym.envs.kube.errors import KubeObjectError
from podgym.policies.onnx import ENCODER_FILE, HEAD_FILE, PARITY_TOLERANCE, POOLING, pool_context, valid_rows

TOLERANCE = PARITY_TOLERANCE


def sample_states(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """Feature matrices of several sizes (1 to 1000 nodes), with padding-like zero rows, for the parity check."""
    states = []
    for n in (1, 2, 7, 64, 513, 1000):
        nodes = rng.uniform(-1, 1, (n, NUM_NODE_FEATURES)).astype(np.float32)
        nodes[:, 11] = rng.integers(0, 2, n)
        if n > 2:
            nodes[rng.integers(0, n)] = 0.0
        states.append((nodes, rng.uniform(0, 1, NUM_POD_FEATURES).astype(np.float32)))
    return states


def to_onnx(module: ScoreOneNet) -> bytes:
    """The scorer as ONNX bytes, with a dynamic node axis."""
    example = (th.zeros(5, NUM_NODE_FEATURES), th.zeros(NUM_POD_FEATURES))
    return _export(
        module, example, ["nodes", "pod"], ["scores"], {"nodes": {0: "num_nodes"}, "scores": {0: "num_nodes"}}
    )


def parts_to_onnx(net: NodeScoringNet) -> tuple[bytes, bytes]:
    """The encoder and head parts (EncodeOneNet, HeadOneNet) as ONNX bytes, each with a dynamic row axis."""
    encoder = _export(
        EncodeOneNet(net).eval(),
        (th.zeros(5, NUM_NODE_FEATURES), th.zeros(NUM_POD_FEATURES)),
        ["nodes", "pod"],
        ["h"],
        {"nodes": {0: "num_nodes"}, "h": {0: "num_nodes"}},
    )
    head = _export(
        HeadOneNet(net).eval(),
        (th.zeros(5, net.hidden), th.zeros(2 * net.hidden)),
        ["h", "context"],
        ["scores"],
        {"h": {0: "num_scored"}, "scores": {0: "num_scored"}},
    )
    return encoder, head


def _export(module: th.nn.Module, example: tuple, inputs: list[str], outputs: list[str], axes: dict) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():  # the TorchScript exporter needs no onnxscript; its deprecation is noise here
        warnings.simplefilter("ignore", DeprecationWarning)
        th.onnx.export(
            module,
            example,
            buf,
            input_names=inputs,
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    return buf.getvalue()


def check_parity(module: ScoreOneNet, model_bytes: bytes, seed: int = 0) -> float:
    """Largest |torch - onnxruntime| score difference over the sample states."""
    import onnxruntime as ort

    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    worst = 0.0
    for nodes, pod in sample_states(np.random.default_rng(seed)):
        with th.no_grad():
            expected = module(th.as_tensor(nodes), th.as_tensor(pod)).numpy()
        (got,) = session.run(None, {"nodes": nodes, "pod": pod})
        if got.shape != expected.shape:
            raise KubeObjectError(f"onnxruntime gave scores of shape {got.shape}, torch {expected.shape}")
        worst = max(worst, float(np.max(np.abs(got - expected))))
    return worst


def check_parts_parity(module: ScoreOneNet, encoder_bytes: bytes, head_bytes: bytes, seed: int = 0) -> float:
    """Largest |torch - (encoder, numpy pooling, head on onnxruntime)| score difference over the sample states.

    The pooling is the plugin's own (``policies.onnx.pool_context`` over ``valid_rows``), so this checks the
    path the plugin serves, not a copy of it.
    """
    import onnxruntime as ort

    encoder = ort.InferenceSession(encoder_bytes, providers=["CPUExecutionProvider"])
    head = ort.InferenceSession(head_bytes, providers=["CPUExecutionProvider"])
    worst = 0.0
    for nodes, pod in sample_states(np.random.default_rng(seed)):
        with th.no_grad():
            expected = module(th.as_tensor(nodes), th.as_tensor(pod)).numpy()
        (h,) = encoder.run(None, {"nodes": nodes, "pod": pod})
        (got,) = head.run(None, {"h": h, "context": pool_context(h, valid_rows(nodes))})
        if got.shape != expected.shape:
            raise KubeObjectError(f"the exported parts gave scores of shape {got.shape}, torch {expected.shape}")
        worst = max(worst, float(np.max(np.abs(got - expected))))
    return worst


def write_policy(
    net: NodeScoringNet,
    out: str | Path,
    extra: dict | None = None,
    source: str | None = None,
    *,
    typical: TypicalPods,
) -> tuple[Path, float]:
    """Export `net` into directory `out`: policy.onnx, its two parts and policy.json (`extra` added to it, and the
    `typical` pods the fgd_score feature is measured against wherever the policy runs).

    Every file is written atomically, the parts before policy.onnx and policy.json last (it names the parts),
    and only after both parity checks pass: a model that onnxruntime does not reproduce is never written.
    Returns (policy.onnx path, largest parity error).
    """
    module = ScoreOneNet(net).eval()
    model_bytes = to_onnx(module)
    encoder_bytes, head_bytes = parts_to_onnx(net)
    error = check_parity(module, model_bytes)
    parts_error = check_parts_parity(module, encoder_bytes, head_bytes)
    for what, err in (("the model", error), ("encoder + pooling + head", parts_error)):
        if not err <= TOLERANCE:
            raise KubeObjectError(
                f"onnxruntime ({what}) and torch disagree by {err:.3g} (tolerance {TOLERANCE}): not written",
                source=source,
            )
    h = net.hidden
    meta = {
        "format": "podgym-policy",
        "features": {
            "version": FEATURE_VERSION,
            "node": [f.name for f in NODE_FEATURES],
            "pod": [f.name for f in POD_FEATURES],
            "normalisation": "none: every feature is already a ratio (see envs/features.py)",
        },
        "inputs": {"nodes": ["num_nodes", NUM_NODE_FEATURES], "pod": [NUM_POD_FEATURES]},
        "output": {"scores": ["num_nodes"], "meaning": "higher is better; the plugin maps them to 0-10"},
        "hidden": h,
        "parts": {
            "encoder": {
                "file": ENCODER_FILE,
                "inputs": {"nodes": ["num_nodes", NUM_NODE_FEATURES], "pod": [NUM_POD_FEATURES]},
                "output": {"h": ["num_nodes", h]},
            },
            "pooling": POOLING,
            "head": {
                "file": HEAD_FILE,
                "inputs": {"h": ["num_scored", h], "context": [2 * h]},
                "output": {"scores": ["num_scored"]},
            },
        },
        "typical_pods": typical.to_json(),
        **(extra or {}),
        "parity_max_abs_error": error,
        "parts_parity_max_abs_error": parts_error,
        "exported": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out = Path(out)
    atomic_write_bytes(out / ENCODER_FILE, encoder_bytes)
    atomic_write_bytes(out / HEAD_FILE, head_bytes)
    atomic_write_bytes(out / "policy.onnx", model_bytes)
    atomic_write_json(out / "policy.json", meta)
    return out / "policy.onnx", max(error, parts_error)


def export_typical_pods(source: str, seed: int = 0, overrides: dict | None = None) -> TypicalPods:
    """The typical pods, as FGD derives them, of `source`: an openb pod trace (a .csv file, ``${PODGYM_DATA}``
    allowed, read as the FGD experiment reads it) or a scenario's workload (built with `seed` and `overrides`)."""
    if source.endswith((".csv", ".csv.gz")):
        from podgym.envs.data import expand_data_dir
        from podgym.envs.workload.openb import read_openb_pods

        workload = read_openb_pods(expand_data_dir(source), times=False)
    else:
        from podgym.envs.scenario import load_and_build

        workload = load_and_build(source, seed=seed, overrides=overrides or {}).workload
    typical = typical_pods(workload)
    if not len(typical):
        raise KubeObjectError(f"{source!r} has no pods: no typical pods to export")
    return typical


def export(
    source: str | Path, out: str | Path, extra: dict | None = None, typical_scenario: str | None = None
) -> tuple[Path, float]:
    """Export `source` (a run directory or model file) into `out` (`extra` added to policy.json); returns
    (onnx path, max parity error). The typical pods are those of `typical_scenario` (a scenario, seed 0, or an
    openb pod trace: ``export_typical_pods``), by default of the run's own scenario (its seed and overrides)."""
    model_path = resolve_model_path(source)
    net = load_scoring_net(model_path)
    run_dir = model_path.parent if model_path.parent.name != "checkpoints" else model_path.parent.parent
    config = {}
    if (run_dir / "config.yaml").exists():
        import yaml

        config = yaml.safe_load((run_dir / "config.yaml").read_text()) or {}
    evaluation = json.loads((run_dir / "best_eval.json").read_text()) if (run_dir / "best_eval.json").exists() else {}
    run_meta = json.loads((run_dir / "meta.json").read_text()) if (run_dir / "meta.json").exists() else {}
    meta = {
        "source": {
            "model": str(model_path),
            "run": str(run_dir),
            "scenario": config.get("scenario"),
            "algo": config.get("algo"),
            "seed": config.get("seed"),
            "git_commit": run_meta.get("git_commit"),
        },
        "evaluation": {
            k: evaluation[k] for k in ("return_mean", "num_timesteps", "baselines", "metrics") if k in evaluation
        },
    }
    if typical_scenario is not None:
        typical, origin = export_typical_pods(typical_scenario), {"source": typical_scenario, "seed": 0}
    elif config.get("scenario"):
        seed, overrides = int(config.get("seed") or 0), config.get("overrides") or {}
        typical = export_typical_pods(config["scenario"], seed, overrides)
        origin = {"source": config["scenario"], "seed": seed, "overrides": overrides}
    else:
        raise KubeObjectError(
            "no scenario to take the typical pods from: the run has no config.yaml; pass --typical-pods SCENARIO",
            source=str(model_path),
        )
    meta["typical_pods_from"] = origin
    return write_policy(net, out, {**meta, **(extra or {})}, source=str(model_path), typical=typical)


def provenance(
    source: str | Path,
    evaluation: str | Path | None,
    seeds_summary: str | Path | None,
    command: str | None,
    label: str | None = None,
) -> dict:
    """What a shipped model records of where it came from: the run's config and commit, the training seeds
    (with their IQM when trained with --seeds), the command, and an evaluate.py report's figures for it (the
    policy named `label` there, by default the run directory's name)."""
    run_dir = resolve_model_path(source).parent
    run_dir = run_dir.parent if run_dir.name == "checkpoints" else run_dir
    import yaml

    out: dict = {"command": command or f"python train.py --run-dir {run_dir}"}
    out["config"] = yaml.safe_load((run_dir / "config.yaml").read_text()) if (run_dir / "config.yaml").exists() else {}
    meta = json.loads((run_dir / "meta.json").read_text()) if (run_dir / "meta.json").exists() else {}
    out["git_commit"] = meta.get("git_commit")
    out["versions"] = meta.get("versions")
    out["training_seeds"] = [out["config"].get("seed")]
    if seeds_summary:
        summary = json.loads(Path(seeds_summary).read_text())
        out["training_seeds"] = summary["seeds"]
        out["across_seeds"] = {k: summary[k] for k in ("iqm_return", "iqm_ci95")}
    if evaluation:
        results = json.loads((Path(evaluation) / "results.json").read_text())
        label = label or run_dir.name
        if isinstance(results, list):  # the FGD experiment's cells
            out["evaluation"] = fgd_experiment_summary(results, label)
            return out
        out["evaluation"] = {
            scenario: {
                "seeds": sorted({c["seed"] for c in results["cells"] if c["scenario"] == scenario}),
                "ranking": agg["ranking"],
                "objective": {name: stats["objective"] for name, stats in agg["stats"].items()},
                "comparisons": [c for c in agg["comparisons"] if label in (c["better"], c["worse"])],
            }
            for scenario, agg in results["aggregate"].items()
        }
    return out


def fgd_experiment_summary(cells: list[dict], label: str) -> dict:
    """Per trace: each policy's GPU allocation at 100% and 130% arrived (mean, sample std, seeds), and the
    paired bootstrap difference of `label` to FGD over their shared seeds."""
    from podgym.agents.evaluation import paired_difference_significant

    out: dict = {}
    for trace in sorted({c["trace"] for c in cells}):
        by_policy: dict[str, dict[int, dict]] = {}
        for c in cells:
            if c["trace"] == trace:
                by_policy.setdefault(c["policy"], {})[c["seed"]] = c
        entry: dict = {}
        for policy, runs in sorted(by_policy.items()):
            seeds = sorted(runs)
            entry[policy] = {"seeds": seeds}
            for key in ("alloc_100", "alloc_130"):
                values = np.array([runs[s][key] for s in seeds])
                entry[policy][key] = {"mean": float(values.mean()), "std": float(values.std(ddof=1))}
        if label in by_policy and "fgd" in by_policy:
            shared = sorted(set(by_policy[label]) & set(by_policy["fgd"]))
            for key in ("alloc_100", "alloc_130"):
                a = np.array([by_policy[label][s][key] for s in shared])
                b = np.array([by_policy["fgd"][s][key] for s in shared])
                significant, lo, hi = paired_difference_significant(a, b, np.random.default_rng(0))
                entry[f"{label} - fgd"] = entry.get(f"{label} - fgd", {})
                entry[f"{label} - fgd"][key] = {
                    "mean": float((a - b).mean()),
                    "ci95": [lo, hi],
                    "significant": significant,
                }
        out[trace] = entry
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="export.py", description=__doc__.split("\n")[0])
    parser.add_argument("source", help="a training run directory or a model file (.zip)")
    parser.add_argument("--out", required=True, help="output directory for policy.onnx, its parts and policy.json")
    parser.add_argument("--evaluation", metavar="DIR", help="an evaluate.py output of this run, for the provenance")
    parser.add_argument("--seeds-summary", metavar="JSON", help="seeds.json of a train.py --seeds run it belongs to")
    parser.add_argument("--command", help="the command that trained it (recorded in policy.json)")
    parser.add_argument(
        "--evaluated-as", metavar="LABEL", help="its name in the --evaluation report (default: the run directory's)"
    )
    parser.add_argument(
        "--typical-pods",
        metavar="SCENARIO_OR_TRACE",
        help="the scenario or openb pod trace (.csv) whose typical pods the policy carries (default: the run's "
        "scenario)",
    )
    args = parser.parse_args(argv)
    try:
        extra = None
        if args.evaluation or args.seeds_summary or args.command:
            extra = {
                "provenance": provenance(
                    args.source, args.evaluation, args.seeds_summary, args.command, args.evaluated_as
                )
            }
        path, error = export(args.source, args.out, extra, typical_scenario=args.typical_pods)
    except (KubeObjectError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Exported {path} (onnxruntime vs torch max |difference| {error:.2g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
