"""``python -m podgym.plugin.serve`` (or ``podgym-serve``): run the scheduler extender; ``--help`` lists the options.

::

    podgym-serve --model policy.onnx --port 8888              # watch the cluster of ~/.kube/config
    podgym-serve --policy kube-default --in-cluster           # inside a pod (service account)
    podgym-serve --policy best-fit --no-watch --nodes nodes.json --pods pods.json

The scorer is an exported model (``--model``: policy.onnx from export.py) or a heuristic by name
(``--policy``: see ``policies.HEURISTICS``). The cache of nodes and pods comes from the apiserver (list and
watch, with ``--kubeconfig`` or ``--in-cluster``) or, with ``--no-watch``, from ``kubectl get nodes -o json`` /
``kubectl get pods -A -o json`` files. Point kube-scheduler at it with an ``extenders`` entry
(``urlPrefix: http://<host>:8888``, ``filterVerb: filter``, ``prioritizeVerb: prioritize``,
``nodeCacheCapable: true``, ``weight``, ``ignorable: true``). Never imports torch (DESIGN rule 6).
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from typing import Any

from podgym.envs.kube.dumps import parse_located, read_dump
from podgym.envs.kube.errors import KubeObjectError
from podgym.envs.kube.objects import parse_node, parse_pod
from podgym.plugin.cache import ClusterCache, KubeSource, load_kube_client
from podgym.plugin.extender import MAX_EXTENDER_PRIORITY, SCORE_MAPPINGS, create_app

log = logging.getLogger("podgym.plugin.serve")


def load_scorer(model: str | None = None, policy: str | None = None) -> Any:
    """An OnnxPolicy for `model`, or the heuristic named `policy` (default kube-default), to score a live cluster: a
    heuristic that needs a simulation (``needs_simulation``: fgd-lookahead) is a ValueError saying so."""
    if model:
        from podgym.policies.onnx import OnnxPolicy

        return OnnxPolicy(model)
    from podgym.policies import make_policy

    scorer = make_policy(policy or "kube-default")
    if getattr(scorer, "needs_simulation", False):
        raise ValueError(
            f"the heuristic {scorer.name!r} needs a simulation (it draws pods of a workload to place ahead), "
            "not a live cluster: serve another heuristic or a model"
        )
    return scorer


def build_cache(args: argparse.Namespace) -> ClusterCache:
    """The cache, filled from files (--no-watch) or watching the apiserver."""
    cache = ClusterCache()
    if args.no_watch:
        dump = read_dump(args.nodes or [], args.pods)  # any layout; each pod once, keyed by uid
        # Parsed here so that an error names the file of the object at fault.
        if dump.sources:  # files without a Node: every request would find no node
            needs = "--nodes needs `kubectl get nodes -o json` output or a dump with nodes"
            dump.require_nodes(needs, ", ".join(dump.sources))
        nodes = parse_located(parse_node, dump.nodes, dump.node_sources, "nodes")
        pods = parse_located(parse_pod, dump.pods, dump.pod_sources, "pods")
        cache.set_state(nodes, pods)
        return cache
    client = load_kube_client(args.kubeconfig, args.in_cluster)
    cache.start_watch(KubeSource(client))
    return cache


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m podgym.plugin.serve", description=__doc__.split("\n")[0])
    scorer = parser.add_mutually_exclusive_group(required=True)
    scorer.add_argument("--model", help="an exported policy.onnx (export.py)")
    scorer.add_argument("--policy", help="a heuristic by name, e.g. kube-default, best-fit, fgd")
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    parser.add_argument("--port", type=int, default=8888)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    source.add_argument("--in-cluster", action="store_true", help="use the pod's service account")
    source.add_argument("--no-watch", action="store_true", help="no apiserver: the cache is --nodes and --pods")
    parser.add_argument(
        "--nodes",
        nargs="+",
        help="with --no-watch: files or directories with the nodes (`kubectl get nodes -o json`, "
        "`kubectl get nodes,pods -A -o json`, `kubectl cluster-info dump` output or directory)",
    )
    parser.add_argument(
        "--pods", nargs="+", help="with --no-watch: files or directories with the pods (`kubectl get pods -A -o json`)"
    )
    parser.add_argument("--max-score", type=int, default=MAX_EXTENDER_PRIORITY, help="top of the prioritize scale")
    parser.add_argument(
        "--score-mapping",
        choices=SCORE_MAPPINGS,
        default="auto",
        help="raw scores -> 0..max-score: linear on the scorer's fixed range (auto when it has one, e.g. "
        "kube-default), minmax (auto otherwise, e.g. an ONNX policy) or rank; see plugin.extender.extender_scores",
    )
    parser.add_argument("--cache-api", action="store_true", help="add POST /cache/state and /cache/events (tests)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    parser.add_argument("--access-log", action="store_true", help="log every request (slower)")
    args = parser.parse_args(argv)
    if (args.nodes or args.pods) and not args.no_watch:
        parser.error("--nodes and --pods need --no-watch")
    if args.no_watch and not (args.nodes or args.pods or args.cache_api):
        parser.error("--no-watch needs --nodes (a saved dump), or --cache-api to fill the cache by POST /cache/state")
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        policy = load_scorer(args.model, args.policy)
        cache = build_cache(args)
    except (KubeObjectError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        app = create_app(
            policy, cache, max_score=args.max_score, cache_api=args.cache_api, score_mapping=args.score_mapping
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # The cache's objects (every node and pod dict) live as long as the server: freeze them out of the
    # collector's view, so that its full passes, which would walk all of them, stay off the request path.
    gc.collect()
    gc.freeze()
    log.info(
        "scorer %s, %d nodes and %d pods cached, listening on %s:%d",
        getattr(policy, "name", policy),
        cache.num_nodes,
        cache.num_pods,
        args.host,
        args.port,
    )
    import uvicorn

    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=args.access_log)
    cache.stop_watch()
    return 0


if __name__ == "__main__":
    sys.exit(main())
