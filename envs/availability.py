"""Services' availability during a simulation: the running replicas of each PodDisruptionBudget's pods.

A *service* is one PodDisruptionBudget of the workload (``envs.workload.budgets``): its pods are those the
budget's selector covers, its *desired healthy* count the disruption controller's. The service exists from its
first pod's arrival (the controller creating its replicas) to the end of the run; it is *up* at a time when at
least desired-healthy of its pods run on a live node. Its **availability** is the share of the time it exists
during which it is up (maxUnavailable budgets included: their desired-healthy count is expected - maxUnavailable).
The simulator tells the tracker about every bind and unbind; ``envs.metrics.MetricsRecorder`` integrates it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from podgym.envs.workload.budgets import Budget, resolve_budgets
from podgym.envs.workload.ops import concat
from podgym.envs.workload.types import Workload


class ServiceTracker:
    """Running replicas per service, updated on bind and unbind of the simulator's pods (indices into its pods).

    `names` [S] (namespace/name of the budget), `desired` [S] int64, `first_arrival` [S] float64 (inf: none of
    its pods is in the run), `running` [S] int64; `members[i]`: the services pod i counts for.
    """

    def __init__(self, budgets: Sequence[Budget], template: np.ndarray, arrival: np.ndarray):
        self.budgets = list(budgets)
        self.names = [b.name for b in budgets]
        self.desired = np.array([b.desired_healthy for b in budgets], dtype=np.int64)
        by_template: dict[int, list[int]] = {}
        for s, b in enumerate(budgets):
            for k in b.templates:
                by_template.setdefault(k, []).append(s)
        groups = {k: tuple(v) for k, v in by_template.items()}
        self.members: list[tuple[int, ...]] = [groups.get(int(k), ()) for k in template.tolist()]
        self.first_arrival = np.full(len(budgets), np.inf)
        for i, services in enumerate(self.members):
            for s in services:
                self.first_arrival[s] = min(self.first_arrival[s], float(arrival[i]))
        self.running = np.zeros(len(budgets), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.names)

    def bind(self, i: int) -> None:
        for s in self.members[i]:
            self.running[s] += 1

    def unbind(self, i: int) -> None:
        for s in self.members[i]:
            self.running[s] -= 1

    def is_replica(self, i: int) -> bool:
        """Whether pod `i` belongs to a service."""
        return bool(self.members[i])

    def recount(self, node_of: np.ndarray) -> None:
        """Running replicas from where each pod runs (-1: nowhere), e.g. after a hand-over between engines."""
        self.running[:] = 0
        for i in np.flatnonzero(node_of >= 0).tolist():
            self.bind(i)

    def disruptions_allowed(self) -> np.ndarray:
        """int64 [S]: replicas each service can lose now and stay up (the PodDisruptionBudget's
        status.disruptionsAllowed: running less desired healthy, at least 0)."""
        return np.maximum(self.running - self.desired, 0)

    def exists(self, t: float) -> np.ndarray:
        """bool [S]: services whose first pod has arrived by `t`."""
        return self.first_arrival <= t

    def up(self, t: float) -> np.ndarray:
        """bool [S]: services existing at `t` with at least their desired-healthy replicas running."""
        return self.exists(t) & (self.running >= self.desired)


def service_tracker(initial: Workload | None, workload: Workload, arrival: np.ndarray) -> ServiceTracker | None:
    """The tracker of a run's pods (a snapshot's bound pods first, then the workload's; `arrival` of them all),
    or None when the workload carries no PodDisruptionBudget."""
    if not workload.objects and (initial is None or not initial.objects):
        return None
    pods = workload if initial is None or not (len(initial) or initial.objects) else concat(initial, workload)
    budgets = resolve_budgets(pods)
    if not budgets:
        return None
    return ServiceTracker(budgets, pods.template, arrival)
