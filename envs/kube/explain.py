"""`python -m podgym.envs.kube explain`: why kube-scheduler would place a pod where it does, without a cluster.

Prints, per node, the Filter verdict with its reason, each Score plugin's normalised score, the
weighted total, and the node kube-scheduler would pick, much as kube-scheduler-simulator's
annotations show it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from podgym.envs.kube.cycle import Decision
from podgym.envs.kube.dumps import load_yaml_all
from podgym.envs.kube.errors import KubeObjectError
from podgym.envs.kube.framework import MAX_NODE_SCORE, fit_error_message
from podgym.envs.kube.objects import CPU
from podgym.envs.kube.plugins.defaultpreemption import PreemptionResult
from podgym.envs.kube.profile import Profile
from podgym.envs.kube.resources import NON_ZERO_DEFAULTS, pod_requests

SAMPLES = Path(__file__).parent / "samples"


def load_objects(path: str | Path) -> Any:
    """A JSON or YAML file (one object, a List, or several YAML documents) as Python data."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KubeObjectError(f"cannot read file: {getattr(exc, 'strerror', None) or exc}", source=str(path)) from None
    try:
        if path.suffix == ".json":
            return json.loads(text)
        with path.open(encoding="utf-8") as stream:  # a named stream: YAML errors then name the file
            docs = load_yaml_all(stream)
    except json.JSONDecodeError as exc:
        raise KubeObjectError(
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", source=str(path)
        ) from None
    except yaml.YAMLError as exc:
        raise KubeObjectError(f"not valid YAML: {exc}", source=str(path)) from None
    if not docs:
        raise KubeObjectError("the file holds no object", source=str(path))
    return docs[0] if len(docs) == 1 else docs


def as_items(data: Any) -> list[Any]:
    """The objects of a List ({"items": [...]}), a plain list, or a single object."""
    if isinstance(data, dict) and "items" in data and data.get("kind", "List").endswith("List"):
        return list(data.get("items") or [])
    if isinstance(data, list):
        return data
    return [data]


def format_quantity(name: str, value: int) -> str:
    """An int request as a Kubernetes quantity string (cpu from milli-cores, memory in Ki/Mi/Gi)."""
    if name == CPU:
        return f"{value // 1000}" if value % 1000 == 0 else f"{value}m"
    for suffix, shift in (("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10)):
        if value and value % (1 << shift) == 0:
            return f"{value >> shift}{suffix}"
    return str(value)


def _requests_line(requests: dict[str, int]) -> str:
    return ", ".join(f"{k} {format_quantity(k, v)}" for k, v in sorted(requests.items())) or "nothing"


def failed_scheduling_message(decision: Decision, preemption: PreemptionResult | None) -> str:
    """The FailedScheduling message kube-scheduler records when no node fits (FitError, with the PostFilter's)."""
    statuses = [v.status for v in decision.verdicts]
    return fit_error_message(len(statuses), statuses, post_filter_msg=preemption.message if preemption else "")


def _preemption_dict(preemption: PreemptionResult | None) -> dict[str, Any] | None:
    if preemption is None:
        return None
    return {
        "nominatedNode": preemption.nominated_node,
        "victims": [p.ref for p in preemption.victims],
        "numPDBViolations": preemption.num_pdb_violations,
        "candidates": [c.node for c in preemption.candidates],
        "message": preemption.message,
    }


def to_dict(
    decision: Decision, profile: Profile, why: str = "", preemption: PreemptionResult | None = None
) -> dict[str, Any]:
    """A JSON-ready view of a decision (`why`: how the profile was chosen; `preemption`: DefaultPreemption's
    outcome when no node fits)."""
    return {
        "pod": decision.pod.ref,
        "profile": profile.scheduler_name,
        "profileChosenBecause": why,
        "ignoredPlugins": list(profile.ignored),
        "selected": decision.selected,
        "tied": decision.tied,
        "weights": decision.weights,
        "skippedPlugins": decision.skipped,
        "notModeled": list(profile.unmodeled),
        "nodes": [
            {
                "name": v.name,
                "evaluated": v.evaluated,
                "fits": v.evaluated and v.status is None,
                "plugin": v.status.plugin if v.status else None,
                "code": v.status.code if v.status else None,
                "reason": v.status.message if v.status else None,
                "scores": v.scores,
                "total": v.total,
            }
            for v in decision.verdicts
        ],
        "preemption": _preemption_dict(preemption),
        "message": failed_scheduling_message(decision, preemption) if decision.selected is None else None,
    }


def render(decision: Decision, profile: Profile, why: str = "", preemption: PreemptionResult | None = None) -> str:
    """A plain-text report of a decision: one row per node, one column per Score plugin (`why`: how the profile
    was chosen; `preemption`: DefaultPreemption's outcome when no node fits)."""
    pod = decision.pod
    lines = [
        f"Pod {pod.ref}: kube-scheduler v1.35 semantics, profile {profile.scheduler_name!r}",
        f"  requests (filter):  {_requests_line(pod_requests(pod))}",
        f"  requests (scoring): {_requests_line(pod_requests(pod, NON_ZERO_DEFAULTS))}",
        "",
    ]
    plugins = [p.name for p, _ in profile.score_plugins]
    headers = ["NODE", "FILTER", *[f"{name} x{decision.weights[name]}" for name in plugins], "TOTAL"]
    rows = []
    for v in decision.verdicts:
        if not v.evaluated:
            verdict = "not evaluated (enough feasible nodes found)"
        elif v.status is not None:
            verdict = f"{v.status.plugin}: {v.status.message}"
        else:
            verdict = "fits"
        cells = [
            "skip" if name in decision.skipped else (str(v.scores[name]) if name in v.scores else "")
            for name in plugins
        ]
        total = "" if v.total is None else str(v.total)
        mark = "  <- selected" if v.name == decision.selected else ""
        rows.append([v.name, verdict, *cells, total + mark])
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    for r in [headers, *rows]:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())
    lines.append("")
    max_total = MAX_NODE_SCORE * sum(decision.weights.values())
    if decision.selected is None and preemption is not None and preemption.nominated_node is not None:
        victims = ", ".join(p.ref for p in preemption.victims)
        lines.append(
            f"No node fits: DefaultPreemption nominates {preemption.nominated_node} for {pod.ref}, evicting "
            f"{victims} ({preemption.num_pdb_violations} PodDisruptionBudget violation(s))."
        )
        lines.append(f"  FailedScheduling: {failed_scheduling_message(decision, preemption)}")
    elif decision.selected is None:
        lines.append(f"No node fits: pod {pod.ref} would stay Pending.")
        lines.append(f"  FailedScheduling: {failed_scheduling_message(decision, preemption)}")
    else:
        winner = next(v for v in decision.verdicts if v.name == decision.selected)
        if max_total:
            total = f"total {winner.total} of {max_total}"
        else:  # prioritizeNodes: without score plugins every feasible node scores 1
            total = "the profile has no Score plugin: every feasible node scores 1"
        lines.append(f"kube-scheduler would bind {pod.ref} to {decision.selected} ({total}).")
        if len(decision.tied) > 1:
            lines.append(
                f"  {len(decision.tied)} nodes tie for the top score ({', '.join(decision.tied)}); "
                "kube-scheduler picks one of them uniformly at random (here: seeded)."
            )
    if decision.skipped:
        lines.append(f"Skipped by PreScore (contribute nothing): {', '.join(decision.skipped)}.")
    evaluated = sum(v.evaluated for v in decision.verdicts)
    if evaluated < len(decision.verdicts):
        lines.append(f"Filtering stopped after {decision.num_to_find} feasible nodes (percentageOfNodesToScore).")
    if profile.unmodeled:
        lines.append(f"Not modeled by podgym (no effect here): {', '.join(profile.unmodeled)}.")
    if profile.ignored:
        lines.append(f"Out-of-tree plugins, not modelled, ignored: {', '.join(profile.ignored)}.")
    if why:
        lines.append(f"Profile {profile.scheduler_name!r}: {why}.")
    return "\n".join(lines)
