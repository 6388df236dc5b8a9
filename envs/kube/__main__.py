"""Command line of envs.kube: ``python -m envs.kube explain --pod POD.yaml --nodes NODES.json``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TypeVar

import envs.kube as kube
from envs.kube.dumps import read_dump
from envs.kube.errors import KubeObjectError
from envs.kube.explain import SAMPLES, as_items, load_objects, render, to_dict

T = TypeVar("T")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m envs.kube",
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
        help="the profile to use from --config (default: the pod's "
        "spec.schedulerName if the config has it, else the first profile)",
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
    pod = _located(pod_path, lambda: kube.parse_pod(pod_items[0]))
    dump = read_dump(nodes_path, pods_path)
    where = ", ".join(dump.sources)
    if not dump.nodes:
        raise KubeObjectError("no Node object found", source=where)
    nodes = _located(where, lambda: kube.parse_nodes(dump.nodes))
    pods = _located(where, lambda: kube.parse_pods(dump.pods))
    profile = kube.default_profile()
    if args.scheduler_name and not args.config and args.scheduler_name != profile.scheduler_name:
        raise KubeObjectError(
            f"--scheduler-name {args.scheduler_name!r} needs --config: without it only the default profile "
            f"({profile.scheduler_name!r}) exists"
        )
    if args.config:
        profiles = kube.parse_configuration(load_objects(args.config), args.config)
        wanted = args.scheduler_name or pod.scheduler_name
        by_name = {p.scheduler_name: p for p in profiles}
        if args.scheduler_name and wanted not in by_name:
            raise KubeObjectError(
                f"no profile with schedulerName {wanted!r}; it has {', '.join(by_name)}", source=args.config
            )
        profile = by_name.get(wanted, profiles[0])
    decision = kube.schedule(pod, nodes, pods, profile=profile, seed=args.seed)
    if args.output == "json":
        return json.dumps(to_dict(decision, profile), indent=2)
    return render(decision, profile)


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
