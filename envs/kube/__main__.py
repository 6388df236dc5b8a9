"""Command line of envs.kube: ``python -m podgym.envs.kube explain --pod POD.yaml --nodes NODES.json``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TypeVar

import podgym.envs.kube as kube
from podgym.envs.kube.defaults import default_pod
from podgym.envs.kube.dumps import parse_located, read_dump
from podgym.envs.kube.errors import KubeObjectError
from podgym.envs.kube.explain import SAMPLES, as_items, load_objects, render, to_dict
from podgym.envs.kube.priority import priority_classes, resolve_priority
from podgym.envs.kube.profile import read_configuration

T = TypeVar("T")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m podgym.envs.kube",
        description="Kubernetes scheduling semantics (kube-scheduler v1.35) on real objects, without a cluster.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    explain = sub.add_parser(
        "explain",
        help="explain where kube-scheduler would place a pod and why",
        description="Print, per node, the Filter verdict with its reason, each Score plugin's score, the "
        "weighted total, and the node kube-scheduler would pick.",
    )
    explain.add_argument("--pod", help="the pending Pod (YAML or JSON, e.g. `kubectl get pod P -o yaml`)")
    explain.add_argument(
        "--nodes",
        nargs="+",
        help="the nodes: files or directories in any layout (`kubectl get nodes -o json`, `kubectl get "
        "nodes,pods -A -o json`, `kubectl cluster-info dump` output or directory); their bound Pods count too",
    )
    explain.add_argument(
        "--pods",
        nargs="+",
        help="pods already running: files or directories (`kubectl get pods -A -o json`, per-namespace files); "
        "bound pods count, each once (keyed by uid)",
    )
    explain.add_argument("--config", help="a KubeSchedulerConfiguration v1 YAML (default: the default profile)")
    explain.add_argument(
        "--scheduler-name",
        help="the profile to use from --config (default: the pod's spec.schedulerName if the config has it, "
        "else the first profile; the report says which and why)",
    )
    explain.add_argument(
        "--strict",
        action="store_true",
        help="refuse out-of-tree plugins in --config (by default they load and are ignored, with a note)",
    )
    explain.add_argument("--seed", type=int, default=0, help="seed of the tie-break among top-scoring nodes")
    explain.add_argument("--output", choices=("text", "json"), default="text", help="output format")
    explain.add_argument(
        "--sample",
        action="store_true",
        help="use the sample cluster snapshot shipped with podgym for any input not given",
    )
    return parser


def _located(path, parse: Callable[[], T]) -> T:
    """Run `parse`, naming `path` in any KubeObjectError it raises."""
    try:
        return parse()
    except KubeObjectError as exc:
        raise exc.within(source=str(path)) from None


def choose_profile(
    pod: kube.Pod, config: str | None, scheduler_name: str | None, strict: bool = False
) -> tuple[kube.Profile, str]:
    """The profile that explains `pod`, and why: --scheduler-name, else the pod's spec.schedulerName.

    A pod whose schedulerName no profile has would not be scheduled by this kube-scheduler at all; it is
    explained with the first profile (the default one without --config), and the reason says so.
    """
    profiles = read_configuration(config, strict=strict) if config else [kube.default_profile()]
    where = f"from {config}" if config else "kube-scheduler v1.35's default profile (no --config)"
    by_name = {p.scheduler_name: p for p in profiles}
    if scheduler_name:
        if scheduler_name not in by_name:
            hint = "" if config else ": give --config with that profile"
            raise KubeObjectError(
                f"--scheduler-name {scheduler_name!r}: no such profile; there is "
                f"{', '.join(repr(n) for n in by_name)}{hint}",
                source=config,
            )
        return by_name[scheduler_name], f"{where}, chosen by --scheduler-name"
    if pod.scheduler_name in by_name:
        return by_name[pod.scheduler_name], f"{where}, chosen by the pod's spec.schedulerName"
    first = profiles[0]
    return first, (
        f"{where}; the pod's spec.schedulerName {pod.scheduler_name!r} is no profile here, so this "
        f"kube-scheduler would not schedule it: explained with the first profile {first.scheduler_name!r}"
    )


def held_back(pod: kube.Pod) -> str:
    """What keeps kube-scheduler from taking `pod` at all ("" if nothing): the report's note, JSON's ``heldBack``."""
    if pod.gated:
        return (
            "the pod has scheduling gates (spec.schedulingGates), so kube-scheduler holds it until they are "
            "removed: explained as if they were"
        )
    if pod.terminating:
        return "the pod is being deleted (metadata.deletionTimestamp), so kube-scheduler skips it: explained as if not"
    return ""


def explain(args: argparse.Namespace) -> str:
    """The explain report for the command-line arguments."""
    pod_path = args.pod or (SAMPLES / "pod.yaml" if args.sample else None)
    nodes_path = args.nodes or (SAMPLES / "nodes.json" if args.sample else None)
    pods_path = args.pods or (SAMPLES / "pods.json" if args.sample and not args.nodes else None)
    if pod_path is None or nodes_path is None:
        raise KubeObjectError("give --pod and --nodes (or --sample to use the shipped sample snapshot)")
    pod_items = as_items(load_objects(pod_path))
    if len(pod_items) != 1:
        raise KubeObjectError(f"expected exactly one Pod, found {len(pod_items)} objects", source=str(pod_path))
    dump = read_dump(nodes_path, pods_path)
    where = ", ".join(dump.sources)
    dump.require_nodes("explain needs the cluster's nodes (`kubectl get nodes -o json`)", where)
    # A manifest names its PriorityClass: admission sets its priority from the dump's classes (or the system ones).
    classes = _located(where, lambda: priority_classes(dump.priority_classes))
    # Admitted as the API server would create it: requests defaulted from limits, priority from its class.
    pod = _located(pod_path, lambda: kube.parse_pod(resolve_priority(default_pod(pod_items[0]), classes)))
    # Each object's own file is named when it is malformed.
    nodes = kube.parse_nodes(parse_located(kube.parse_node, dump.nodes, dump.node_sources, "nodes"))
    pods = kube.parse_pods(parse_located(kube.parse_pod, dump.pods, dump.pod_sources, "pods"))
    profile, why = choose_profile(pod, args.config, args.scheduler_name, strict=args.strict)
    held = held_back(pod)
    decision = kube.schedule(pod, nodes, pods, profile=profile, seed=args.seed)
    preemption = None
    if decision.selected is None and profile.preemption is not None and nodes:
        pdbs = _located(where, lambda: kube.parse_pdbs(dump.pdbs))
        preemption = kube.preempt(pod, nodes, pods, pdbs=pdbs, profile=profile)
    if args.output == "json":
        return json.dumps({**to_dict(decision, profile, why, preemption), "heldBack": held or None}, indent=2)
    return render(decision, profile, why, preemption) + (f"\nNote: {held}." if held else "")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        print(explain(args))
    except KubeObjectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
