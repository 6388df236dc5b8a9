"""What the API server's defaulting writes into a Pod that a manifest may leave out and the scheduler reads.

``SetDefaults_Pod`` (pkg/apis/core/v1/defaults.go): a container or init container that limits a resource but does
not request it requests its limit. The pods of a dump carry this already (the API server stored them defaulted);
a pod manifest (``explain --pod``, a scenario's ``workload.manifests``) may not, and is defaulted as it would be on
creation. Pod-level ``spec.resources`` defaulting is not applied.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

CONTAINER_LISTS = ("containers", "initContainers")


def default_requests(pod: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `pod` whose containers request what they limit and do not request (SetDefaults_Pod).

    Malformed parts are left as they are, for ``parse_pod`` to report with their field path."""
    out = copy.deepcopy(dict(pod))
    spec = out.get("spec")
    if not isinstance(spec, dict):
        return out
    for key in CONTAINER_LISTS:
        containers = spec.get(key)
        if not isinstance(containers, list):
            continue
        for container in containers:
            resources = container.get("resources") if isinstance(container, dict) else None
            limits = resources.get("limits") if isinstance(resources, dict) else None
            if not isinstance(limits, Mapping) or not limits:
                continue
            requests = resources.get("requests")
            if requests is None:
                requests = resources["requests"] = {}
            if isinstance(requests, dict):
                for name, value in limits.items():
                    requests.setdefault(name, value)
    return out
