"""The compiled engine's Python side: which scenarios it runs, an episode's buffers (``CompiledEpisode``, an
``envs.engine.Engine``), and the way back to the Python engine (the exact same state, through
``Simulator.from_state``) for everything that reads the simulator itself.

At reset the parts that depend only on the pod's template and the node (the static Filter plugins) are
evaluated in Python with ``VectorProfile.static_verdict`` into a [templates, nodes] table; so are the
feature encoder's constants. The kernels (``envs.compiled.kernels``) do everything else.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from podgym.envs.availability import ServiceTracker, service_tracker
from podgym.envs.cluster import ClusterState, requested_resources
from podgym.envs.engine import EpisodeSpec, Observation, PythonEngine
from podgym.envs.features import FEATURE_VERSION, NUM_NODE_FEATURES, NUM_POD_FEATURES, FeatureEncoder
from podgym.envs.fragmentation import SCORE_THRESHOLDS, score_of_decrease, typical_pods
from podgym.envs.kube.framework import Plugin
from podgym.envs.kube.objects import CPU, MEMORY, Pod
from podgym.envs.kube.profile import Profile
from podgym.envs.metrics import SIGNALS, MetricsRecorder, Summary
from podgym.envs.rewards import IntegralReward, RewardState
from podgym.envs.scenario import Scenario
from podgym.envs.scheduling import VectorProfile
from podgym.envs.simulator import ARRIVE, Simulator, SimulatorState, tie_ranks
from podgym.envs.workload.types import GPU_RESOURCE

try:
    from podgym.envs.compiled import kernels as K
except ImportError:  # numba missing: every scenario runs on the Python engine
    K = None


@dataclass(frozen=True)
class Coverage:
    """What the kernels implement. Anything else runs on the Python engine under ``env.engine: auto`` and is refused
    under ``compiled``; a kernel that learns more says so here, beside a parity test.

    Filter plugins without checks of what is bound (``Plugin.dynamic`` False) are covered whatever they are: their
    static verdicts are evaluated in Python into the kernels' [templates, nodes] table. Score plugins and their
    scoring strategies take no part in an env episode (the agent scores the nodes), so the kernels need none.
    """

    dynamic_filters: frozenset[str]  # Filter plugins whose checks of what is bound on a node the kernels run
    reward: type  # the reward function whose potential the kernels evaluate
    signals: frozenset[str]  # the reward signals (envs.rewards.REWARD_SIGNALS) the kernels compute
    feature_version: int  # the observation encoding (envs.features.FEATURE_VERSION) the kernels write
    preemption: bool = False  # whether the kernels run DefaultPreemption (PostFilter)


COVERAGE = Coverage(
    dynamic_filters=frozenset({"NodeResourcesFit"}),
    reward=IntegralReward,
    signals=frozenset(K.REWARD_SIGNALS if K is not None else ()),
    feature_version=4,
)


def _signals(fb: np.ndarray, offset: int) -> dict[str, float]:
    """The SIGNALS dict of the kernels' signal block at `offset` of the float buffer (envs.metrics.SIGNALS order)."""
    return dict(zip(SIGNALS, fb[offset : offset + K.NSIG].tolist(), strict=True))


def uncovered_filters(profile: Profile, templates: Sequence[Pod] | None) -> list[Plugin]:
    """The profile's dynamic Filter plugins the kernels do not run, except those that cannot reject a pod of
    `templates` (``Plugin.filters_any``: e.g. NodePorts for pods without host ports); with `templates` None, every
    uncovered dynamic plugin."""
    return [
        p
        for p in profile.filter_plugins
        if p.dynamic and p.name not in COVERAGE.dynamic_filters and (templates is None or p.filters_any(templates))
    ]


def unsupported_features(
    scenario: Scenario,
    reward_fn: Any,
    profile: Profile | None = None,
    templates: Sequence[Pod] | None = None,
    preempts: bool = False,
) -> list[str]:
    """What keeps `scenario` (with `reward_fn`, the built scheduler `profile`, the workload's pod `templates`, and
    whether its run can preempt, ``envs.simulator.may_preempt``) off the compiled engine: 'field: what' lines naming
    the scenario field; [] when the kernels cover everything (``COVERAGE``)."""
    out = []
    if K is None:
        out.append("env.engine: numba is not installed")
    for plugin in uncovered_filters(profile, templates) if profile is not None else ():
        out.append(
            f"scheduler: Filter plugin {plugin.name} (the kernels check only "
            f"{', '.join(sorted(COVERAGE.dynamic_filters))} against what runs on a node)"
        )
    if COVERAGE.feature_version != FEATURE_VERSION:
        out.append(
            f"env: observation features version {FEATURE_VERSION} (the kernels write {COVERAGE.feature_version})"
        )
    if preempts and not COVERAGE.preemption:
        out.append("simulation.preemption: PostFilter plugin DefaultPreemption (the kernels do not preempt)")
    f = scenario.failures
    if f.mtbf is not None or f.zone_mtbf is not None or f.events:
        out.append("failures: node failures and recoveries (of single nodes or whole zones)")
    if scenario.autoscaler is not None:
        out.append("autoscaler: nodes powered on and off")
    if scenario.cluster.snapshot is not None:
        out.append("cluster.snapshot: pods already bound and cordoned nodes of a snapshot")
    if type(reward_fn) is not COVERAGE.reward:
        out.append(f"reward_fn: a custom reward function ({type(reward_fn).__name__})")
    else:
        for signal in sorted(reward_fn.signals - COVERAGE.signals):
            out.append(
                f"reward: objective signal {signal!r} (the kernels compute {', '.join(sorted(COVERAGE.signals))})"
            )
    return out


class _Layout:
    """Offsets of the arrays that follow the headers of the int64 and float64 buffers."""

    def __init__(self) -> None:
        self.ints: list[tuple[int, int]] = []
        self.floats: list[tuple[int, int]] = []
        self.i_end, self.f_end = K.INT_HEADER, K.FLOAT_HEADER

    def int_array(self, slot: int, n: int) -> None:
        self.ints.append((slot, self.i_end))
        self.i_end += max(int(n), 0)

    def float_array(self, slot: int, n: int) -> None:
        self.floats.append((slot, self.f_end))
        self.f_end += max(int(n), 0)


_PRISTINE: OrderedDict[tuple, tuple[list, ClusterState]] = OrderedDict()


def _fresh_cluster(nodes: list, workload) -> ClusterState:
    """``ClusterState.for_workloads(nodes, None, workload)``, as a copy of the one built for the same Node objects
    and resource columns by an earlier episode (episodes reset often; Node objects are immutable)."""
    key = (tuple(map(id, nodes)), frozenset(requested_resources(workload)))
    hit = _PRISTINE.get(key)
    if hit is None:
        # The entry keeps its Node objects alive, so their ids in the key cannot be reused.
        hit = _PRISTINE[key] = (list(nodes), ClusterState.for_workloads(nodes, workload))
        while len(_PRISTINE) > 4:
            _PRISTINE.popitem(last=False)
    _PRISTINE.move_to_end(key)
    return hit[1].copy()


class CompiledEpisode:
    """One episode in the compiled engine's buffers ``ib`` (int64) and ``fb`` (float64): an ``envs.engine.Engine``.

    A vector env may move the buffers into rows of its own (``rebind``) and step many episodes in one kernel call.
    """

    name = "compiled"

    def __init__(self, spec: EpisodeSpec):
        built, seed, reward_fn = spec.built, spec.seed, spec.reward_fn
        max_nodes, n_actions, pending_action = spec.max_nodes, spec.n_actions, spec.pending_action
        self.spec = spec
        self.built, self.seed, self.reward_fn = built, seed, reward_fn
        source, w, options = built.cluster, built.workload, built.options
        self.cluster = cluster = (
            _fresh_cluster(source.nodes, w)
            if source.initial is None
            else ClusterState.for_workloads(source.nodes, source.initial, w)
        )
        self.filters = filters = VectorProfile(built.profile)
        uncovered = uncovered_filters(built.profile, w.templates)
        if uncovered:  # this seed's pods need a Filter plugin the kernels do not run
            raise ValueError(
                f"the compiled engine does not run Filter plugin {uncovered[0].name} for this workload's pods "
                f"(seed {seed}); use env.engine: python"
            )
        self.names = w.names
        self.track_node_stats = bool(getattr(reward_fn, "needs_node_stats", True))
        n, r = cluster.num_nodes, len(cluster.resources)
        g = cluster.gpu_free.shape[1]
        gd = max(g, 1)
        p, t = len(w), len(w.templates)
        cap = 2 * p + 2  # observations: at most one per event time, plus the last
        weights = list(reward_fn.weights.items())
        obj_ints, obj_floats = self._objectives(reward_fn)
        shape, num_shapes = self._shapes(cluster, w)
        # Services (PodDisruptionBudgets): each pod's services as CSR arrays, for the availability metrics.
        self.services: ServiceTracker | None = service_tracker(None, w, np.asarray(w.arrival, dtype=np.float64))
        svc = self.services
        ns = len(svc) if svc is not None else 0
        svc_ptr = np.zeros(p + 1, dtype=np.int64)
        svc_idx = np.zeros(0, dtype=np.int64)
        if svc is not None:
            svc_ptr[1:] = np.cumsum([len(m) for m in svc.members])
            svc_idx = np.array([s for m in svc.members for s in m], dtype=np.int64)

        # The encoder (its constants are the kernels' too) and the typical pods FGD's score feature is measured against.
        enc = FeatureEncoder(cluster, typical_pods(w), tie_ranks(cluster.node_names, seed))
        frag = enc.fragmentation.index if enc.fragmentation is not None else None
        nt = len(frag.typical) if frag is not None else 0

        lay = _Layout()
        for slot, size in (
            (K.O_PRIO, p),
            (K.O_TMPL, p),
            (K.O_GCOUNT, p),
            (K.O_GMILLI, p),
            (K.O_REQ, p * r),
            (K.O_ALLOC, r * n),
            (K.O_ALLOWED, n),
            (K.O_STATIC, t * n),
            (K.O_CHECKED, r),
            (K.O_FREE, r * n),
            (K.O_PODCOUNT, n),
            (K.O_GFREE, n * g),
            (K.O_GIDLE, n),
            (K.O_GMAX, n),
            (K.O_TOTREQ, r),
            (K.O_TOTALLOC, r),
            (K.O_NODEOF, p),
            (K.O_INC, p),
            (K.O_EVERB, p),
            (K.O_ATT, p),
            (K.O_DROP, p),
            (K.O_GDEV, p * gd),
            (K.O_GN, p),
            (K.O_EVSEQ, 2 * p),
            (K.O_EVKIND, 2 * p),
            (K.O_EVA, 2 * p),
            (K.O_EVB, 2 * p),
            (K.O_QNP, p),
            (K.O_QSEQ, p),
            (K.O_QI, p),
            (K.O_USNEXT, p),
            (K.O_USPREV, p),
            (K.O_USIN, p),
            (K.O_MPEND, cap),
            (K.O_MRUN, cap),
            (K.O_MACT, cap),
            (K.O_MLIVE, cap),
            (K.O_CURVE_A, p),
            (K.O_CURVE_B, p),
            (K.O_MASK, n_actions),
            (K.O_OBJ, len(obj_ints)),
            (K.O_SHAPE, p),
            (K.O_NOFIT, num_shapes),
            (K.O_FITSTAMP, num_shapes),
            (K.O_FITOK, num_shapes),
            (K.O_SVCPTR, p + 1),
            (K.O_SVCIDX, len(svc_idx)),
            (K.O_SVCDES, ns),
            (K.O_SVCRUN, ns),
            (K.O_TYCPU, nt),
            (K.O_TYMILLI, nt),
            (K.O_TYCOUNT, nt),
            (K.O_TYWEIGHT, nt),
            (K.O_TYACCESS, n * nt),
            (K.O_TYSTALE, n),
            (K.O_TYENOUGH, n * nt),
            (K.O_TYSMALL, n * nt),
            (K.O_TYIDLE, n),
        ):
            lay.int_array(slot, size)
        for slot, size in (
            (K.OF_ARR, p),
            (K.OF_DUR, p),
            (K.OF_QAT, p),
            (K.OF_EVT, 2 * p),
            (K.OF_QT, p),
            (K.OF_USSINCE, p),
            (K.OF_TIMES, cap),
            (K.OF_ACPU, cap),
            (K.OF_AMEM, cap),
            (K.OF_AGPU, cap),
            (K.OF_STIMES, cap),
            (K.OF_IMBC, cap),
            (K.OF_IMBM, cap),
            (K.OF_FRAG, cap),
            (K.OF_WAITS, p),
            (K.OF_STATICF, 4 * n),
            (K.OF_DCPU, n),
            (K.OF_DMEM, n),
            (K.OF_DGPU, n),
            (K.OF_DDEV, n),
            (K.OF_DPODS, n),
            (K.OF_TPRIO, p),
            (K.OF_TPEND, p + 2),
            (K.OF_OBJW, len(obj_floats)),
            (K.OF_SVCFIRST, ns),
            (K.OF_SVCTIME, ns),
            (K.OF_SVCUP, ns),
            (K.OF_SVCLE, ns),
            (K.OF_SVCLU, ns),
            (K.OF_FGDTH, len(SCORE_THRESHOLDS)),
        ):
            lay.float_array(slot, size)
        self.ib = ib = np.zeros(lay.i_end, dtype=np.int64)
        self.fb = fb = np.zeros(lay.f_end, dtype=np.float64)
        for slot, off in lay.ints:
            ib[slot] = off
        for slot, off in lay.floats:
            ib[slot] = off

        col = cluster.column
        gpu_col = col.get(GPU_RESOURCE, -1)
        ib[K.N], ib[K.R], ib[K.G], ib[K.GD], ib[K.P], ib[K.T] = n, r, g, gd, p, t
        ib[K.M], ib[K.A] = max_nodes, n_actions
        fit = next((p for p in filters.dynamic_filters if p.name == "NodeResourcesFit"), None)
        ib[K.FIT] = fit is not None
        ib[K.RETRY] = options.retry_unschedulable
        ib[K.TRACK] = self.track_node_stats
        ib[K.CPU], ib[K.MEM], ib[K.GPUCOL] = col[CPU], col[MEMORY], gpu_col
        ib[K.PENDING_ACTION] = -1 if pending_action is None else pending_action
        invalid = built.scenario.env.invalid_action
        ib[K.TERMINATE] = invalid.rule == "terminate"
        ib[K.MAX_CONSEC] = invalid.max_consecutive
        ib[K.SPARSE] = reward_fn.config.form == "sparse"
        ib[K.NOBJ] = len(weights)
        ib[K.SEQ] = p
        ib[K.CURRENT] = -1
        ib[K.NEV] = p
        ib[K.USHEAD] = ib[K.USTAIL] = -1
        ib[K.PREV_INITIAL] = 1
        ib[K.LIVE] = cluster.live_count

        # Pods: requests over the cluster's columns, as ClusterState.pod_request builds them.
        req = self._view(K.O_REQ, p * r).reshape(p, r)
        for name, arr in w.requests.items():
            c = col.get(name)
            if c is not None:
                req[:, c] = arr
        gcount = np.asarray(w.gpu_count, dtype=np.int64)
        gmilli = np.asarray(w.gpu_milli, dtype=np.int64)
        if gpu_col >= 0:
            asks = gcount > 0
            req[asks, gpu_col] = gcount[asks] * gmilli[asks]
        self._view(K.O_PRIO, p)[:] = w.priority
        self._view(K.O_TMPL, p)[:] = w.template
        self._view(K.O_GCOUNT, p)[:] = gcount
        self._view(K.O_GMILLI, p)[:] = gmilli
        # Nodes.
        self._view(K.O_ALLOC, r * n)[:] = cluster.allocatable_t.ravel()
        self._view(K.O_FREE, r * n)[:] = cluster.free_t.ravel()
        self._view(K.O_ALLOWED, n)[:] = cluster.allowed_pods
        self._view(K.O_GFREE, n * g)[:] = cluster.gpu_free.ravel()
        self._view(K.O_GIDLE, n)[:] = cluster.gpu_idle
        self._view(K.O_GMAX, n)[:] = cluster.gpu_max_free
        self._view(K.O_TOTALLOC, r)[:] = cluster.total_allocatable
        if fit is not None:
            self._view(K.O_CHECKED, r)[:] = fit.checked(cluster)
        static = self._view(K.O_STATIC, t * n).reshape(t, n)
        for k, template in enumerate(w.templates):
            static[k] = filters.static_verdict(cluster, template).code
        self._view(K.O_NODEOF, p)[:] = -1
        self._view(K.O_SHAPE, p)[:] = shape
        self._view(K.O_NOFIT, num_shapes)[:] = -1
        self._view(K.O_USNEXT, p)[:] = -1
        self._view(K.O_USPREV, p)[:] = -1
        # The arrivals, pushed in pod order: a list sorted by (time, seq) is a valid heap.
        order = np.argsort(w.arrival, kind="stable")
        self._view(K.O_EVSEQ, p)[:] = order
        self._view(K.O_EVKIND, p)[:] = ARRIVE
        self._view(K.O_EVA, p)[:] = order
        self._fview(K.OF_EVT, p)[:] = w.arrival[order]
        self._fview(K.OF_ARR, p)[:] = w.arrival
        self._fview(K.OF_DUR, p)[:] = w.duration if options.departures else np.inf
        self._fview(K.OF_QAT, p)[:] = np.nan
        # Features: the encoder's own constants, so every ratio divides the same numbers.
        ib[K.NTYP] = nt
        self._fview(K.OF_FGDTH, len(SCORE_THRESHOLDS))[:] = SCORE_THRESHOLDS
        if frag is not None:
            ty = frag.typical
            ib[K.TYDEN] = frag.denominator
            ib[K.TYZERO] = int(score_of_decrease(np.float64(0.0)))
            for slot, values in ((K.O_TYCPU, ty.cpu), (K.O_TYMILLI, ty.milli), (K.O_TYCOUNT, ty.count)):
                self._view(slot, nt)[:] = values
            self._view(K.O_TYWEIGHT, nt)[:] = frag.weight
            self._view(K.O_TYACCESS, n * nt)[:] = (frag.access & frag.gpu_type).ravel()
            self._view(K.O_TYSTALE, n)[:] = 1  # every node's counts are made at its first observation
        ib[K.MAX_CPU], ib[K.MAX_MEM], ib[K.MAX_GPUS] = enc.max_cpu, enc.max_mem, enc.max_gpus
        ib[K.HAS_GPUS] = enc.has_gpus
        self._fview(K.OF_STATICF, 4 * n)[:] = enc.static.ravel()
        denominators = enc.denominators()
        for slot, name in (
            (K.OF_DCPU, "cpu"),
            (K.OF_DMEM, "memory"),
            (K.OF_DGPU, "gpu"),
            (K.OF_DDEV, "devices"),
            (K.OF_DPODS, "pods"),
        ):
            self._fview(slot, n)[:] = denominators[name]
        # The priority feature as FeatureEncoder.pod computes it (a scalar tanh), once per distinct priority.
        distinct, which = np.unique(np.asarray(w.priority), return_inverse=True)
        self._fview(K.OF_TPRIO, p)[:] = np.array([np.tanh(v / 1000) for v in distinct.tolist()])[which]
        self._fview(K.OF_TPEND, p + 2)[:] = np.tanh(np.arange(p + 2) / max(n, 1))
        # Simulation, metrics and reward settings.
        fb[K.HORIZON] = options.horizon_s
        fb[K.INTERVAL] = options.sample_interval_s
        fb[K.PENALTY] = invalid.penalty
        self._view(K.O_OBJ, len(obj_ints))[:] = obj_ints
        self._fview(K.OF_OBJW, len(obj_floats))[:] = obj_floats
        ib[K.NSVC] = ns
        self._view(K.O_SVCPTR, p + 1)[:] = svc_ptr
        self._view(K.O_SVCIDX, len(svc_idx))[:] = svc_idx
        if svc is not None:
            self._view(K.O_SVCDES, ns)[:] = svc.desired
            self._fview(K.OF_SVCFIRST, ns)[:] = svc.first_arrival

        # A one-row batch, so that a single env steps through the same kernel as the vector env.
        self.ib2, self.fb2 = ib[None, :], fb[None, :]
        self._action = np.zeros(1, dtype=np.int64)
        self._reward = np.zeros(1, dtype=np.float64)

    @staticmethod
    def _objectives(reward_fn: IntegralReward) -> tuple[list[int], list[float]]:
        """The weighted objectives' coefficients (envs.rewards.Linear) in the kernels' layout (O_OBJ, OF_OBJW)."""
        ints: list[int] = []
        floats: list[float] = []
        for name, weight in reward_fn.weights.items():
            linear = reward_fn.terms[name]
            terms = (*linear.inner, *linear.outer)
            ints += [len(linear.inner), len(linear.outer), *(K.REWARD_SIGNALS.index(s) for s, _ in terms)]
            floats += [weight, linear.inner_den, linear.den, *(c for _, c in terms)]
        return ints, floats

    @staticmethod
    def _shapes(cluster: ClusterState, w) -> tuple[np.ndarray, int]:
        """Per pod, an id of what its Filter result depends on: template, requests and GPU ask."""
        cols = [np.asarray(c, dtype=np.int64) for c in (w.template, w.gpu_count, w.gpu_milli)]
        cols += [np.asarray(w.requests[name], dtype=np.int64) for name in sorted(w.requests)]
        if not len(w):
            return np.zeros(0, dtype=np.int64), 1
        order = np.lexsort(cols)
        changed = np.zeros(len(w), dtype=bool)
        for c in cols:
            changed[1:] |= c[order][1:] != c[order][:-1]
        ids = np.empty(len(w), dtype=np.int64)
        ids[order] = np.cumsum(changed)
        return ids, int(ids.max()) + 1

    # ---- buffers ----------------------------------------------------------------------------------------
    def _view(self, slot: int, n: int) -> np.ndarray:
        off = int(self.ib[slot])
        return self.ib[off : off + n]

    def _fview(self, slot: int, n: int) -> np.ndarray:
        off = int(self.ib[slot])
        return self.fb[off : off + n]

    def rebind(self, ibuf: np.ndarray, fbuf: np.ndarray) -> None:
        """Use `ibuf`/`fbuf` (rows of a vector env's buffers holding a copy of this episode) from now on."""
        self.ib, self.fb = ibuf, fbuf
        self.ib2, self.fb2 = ibuf[None, :], fbuf[None, :]

    # ---- the Engine protocol ----------------------------------------------------------------------------
    def reset(self) -> Observation:
        return self._step(K.START)[0]

    def step(self, action: int) -> tuple[Observation, float, bool]:
        # Beyond +-ACTION_LIMIT an action is invalid anyway; K.START is reserved.
        return self._step(action if abs(action) < K.ACTION_LIMIT else -1)

    def _step(self, action: int) -> tuple[Observation, float, bool]:
        """One kernel step of this episode (K.START: its first decision): (observation, reward, invalid)."""
        nodes = np.empty((1, self.spec.max_nodes, NUM_NODE_FEATURES), dtype=np.float32)
        pod = np.empty((1, NUM_POD_FEATURES), dtype=np.float32)
        mask = np.empty((1, self.spec.n_actions), dtype=np.int8)
        self._action[0] = action
        K.step_all(self.ib2, self.fb2, self._action, nodes, pod, mask, self._reward)
        obs = {"nodes": nodes[0], "pod": pod[0], "action_mask": mask[0]}
        return obs, float(self._reward[0]), bool(self.ib[K.INVALID])

    @property
    def done(self) -> bool:
        return bool(self.ib[K.DONE])

    @property
    def truncated(self) -> bool:
        return bool(self.ib[K.TRUNCATED])

    @property
    def pod(self) -> int | None:
        i = int(self.ib[K.CURRENT])
        return None if i < 0 else i

    current = pod

    @property
    def invalid_streak(self) -> int:
        return int(self.ib[K.STREAK])

    def info(self) -> dict[str, Any]:
        ib = self.ib
        i = int(ib[K.CURRENT])
        info: dict[str, Any] = {
            "time": float(self.fb[K.NOW]),
            "pending": int(ib[K.NQ] + ib[K.USN] + (i >= 0)),
            "running": int(ib[K.RUNNING]),
            "pod": self.names[i] if i >= 0 else None,
        }
        if ib[K.DONE]:
            info["metrics"] = self.metrics().as_dict()
        return info

    def mask(self) -> np.ndarray:
        return self._view(K.O_MASK, int(self.ib[K.A]))

    def to_python(self) -> PythonEngine:
        return PythonEngine.resume(
            self.spec,
            self.materialize(),
            mask=self.mask(),
            reward_state=self.reward_state(),
            invalid_streak=self.invalid_streak,
            done=self.done,
            truncated=self.truncated,
        )

    # ---- back to the Python engine -----------------------------------------------------------------------
    def materialize(self) -> Simulator:
        """A Simulator in exactly this episode's state (as if the Python engine had run it)."""
        b, ib, fb = self.built, self.ib, self.fb
        gd, p = int(ib[K.GD]), int(ib[K.P])
        gn, gdev = self._view(K.O_GN, p), self._view(K.O_GDEV, p * gd).reshape(p, gd)
        nev = int(ib[K.NEV])
        events = zip(
            self._fview(K.OF_EVT, nev).tolist(),
            self._view(K.O_EVSEQ, nev).tolist(),
            self._view(K.O_EVKIND, nev).tolist(),
            self._view(K.O_EVA, nev).tolist(),
            self._view(K.O_EVB, nev).tolist(),
        )
        nq = int(ib[K.NQ])
        queue = zip(
            self._view(K.O_QNP, nq).tolist(),
            self._fview(K.OF_QT, nq).tolist(),
            self._view(K.O_QSEQ, nq).tolist(),
            self._view(K.O_QI, nq).tolist(),
        )
        unschedulable = []
        since, nxt = self._fview(K.OF_USSINCE, p), self._view(K.O_USNEXT, p)
        i = int(ib[K.USHEAD])
        while i >= 0:
            unschedulable.append((i, float(since[i])))
            i = int(nxt[i])
        ncurve = int(ib[K.NCURVE])
        state = SimulatorState(
            now=float(fb[K.NOW]),
            node_of=self._view(K.O_NODEOF, p).copy(),
            gpus_of=[tuple(int(d) for d in gdev[i, : gn[i]]) if gn[i] else () for i in range(p)],
            queued_at=self._fview(K.OF_QAT, p).copy(),
            ever_bound=self._view(K.O_EVERB, p).astype(bool),
            dropped=self._view(K.O_DROP, p).astype(bool),
            incarnation=self._view(K.O_INC, p).copy(),
            attempted=self._view(K.O_ATT, p).astype(bool),
            events=sorted(events),
            work_events=nev,
            queue=sorted(queue),
            seq=int(ib[K.SEQ]),
            unschedulable=unschedulable,
            current=self.pod,
            running=int(ib[K.RUNNING]),
            dirty=bool(ib[K.DIRTY]),
            gpu_arrived=int(ib[K.GPU_ARRIVED]),
            curve=list(
                zip(self._view(K.O_CURVE_A, ncurve).tolist(), self._view(K.O_CURVE_B, ncurve).tolist(), strict=True)
            ),
        )
        sim = Simulator.from_state(b.cluster, b.workload, b.options, b.profile, self.seed, state)
        sim.metrics.track_node_stats = self.track_node_stats
        self._sync_cluster(sim.cluster)
        self._fill_metrics(sim.metrics)
        return sim

    def metrics(self) -> Summary:
        """Simulator.summary of this episode, without building a Simulator."""
        ib, fb = self.ib, self.fb
        m = MetricsRecorder(self.cluster, self.built.options.sample_interval_s)
        m.track_node_stats = self.track_node_stats
        now, p = float(fb[K.NOW]), int(ib[K.P])
        end = now
        if ib[K.NEV] > 0 and fb[int(ib[K.OF_EVT])] > fb[K.HORIZON]:
            end = float(fb[K.HORIZON])
        arrived = self._fview(K.OF_ARR, p) <= now
        bound = self._view(K.O_EVERB, p).astype(bool)
        pending, running = int(ib[K.NQ] + ib[K.USN] + (ib[K.CURRENT] >= 0)), int(ib[K.RUNNING])
        current = (now, pending, running) if ib[K.DIRTY] else None
        never = int((arrived & ~bound).sum())
        if current is None:  # nothing to add to the series: aggregate the buffers as they are
            self._fill_metrics(m, as_arrays=True)
            return m.aggregate(int(arrived.sum()), int(bound.sum()), pending, never, end)
        self._sync_cluster(self.cluster)
        self._fill_metrics(m)
        return m.summary(int(arrived.sum()), int(bound.sum()), pending, never, end, current)

    def _sync_cluster(self, c: ClusterState) -> None:
        """Write the episode's cluster state into `c` (a ClusterState of the same nodes)."""
        ib = self.ib
        n, r, g, p = (int(ib[s]) for s in (K.N, K.R, K.G, K.P))
        c.free_t[:] = self._view(K.O_FREE, r * n).reshape(r, n)
        c.requested_t[:] = c.allocatable_t - c.free_t
        c.pod_count[:] = self._view(K.O_PODCOUNT, n)
        c.gpu_free[:] = self._view(K.O_GFREE, n * g).reshape(n, g)
        c.gpu_idle[:] = self._view(K.O_GIDLE, n)
        c.gpu_max_free[:] = self._view(K.O_GMAX, n)
        c.total_requested[:] = self._view(K.O_TOTREQ, r)
        c.active_count = int(ib[K.ACTIVE])
        c.version = int(ib[K.VERSION])
        node_of = self._view(K.O_NODEOF, p)
        bound = np.flatnonzero(node_of >= 0)
        scoring = self._view(K.O_REQ, p * r).reshape(p, r)[bound].copy()
        w = self.built.workload
        scoring[:, c.column[CPU]] = w.nonzero_cpu[bound]
        scoring[:, c.column[MEMORY]] = w.nonzero_memory[bound]
        c.scoring_requested_t[:] = 0
        np.add.at(c.scoring_requested_t.T, node_of[bound], scoring)
        templates = [w.templates[t] for t in w.template[bound].tolist()]
        c.bound_pods = c.bound_pods.rebuild(node_of[bound].tolist(), templates)

    def _fill_metrics(self, m: MetricsRecorder, as_arrays: bool = False) -> None:
        """The recorder's series and totals; `as_arrays`: views of the buffers, for a read-only aggregate."""
        ib, fb = self.ib, self.fb
        nobs, nsamp, nwaits = int(ib[K.NOBS]), int(ib[K.NSAMP]), int(ib[K.NWAITS])

        def series(view: np.ndarray) -> np.ndarray | list:
            return view if as_arrays else view.tolist()

        m.times = series(self._fview(K.OF_TIMES, nobs))
        m.alloc = {
            CPU: series(self._fview(K.OF_ACPU, nobs)),
            MEMORY: series(self._fview(K.OF_AMEM, nobs)),
            GPU_RESOURCE: series(self._fview(K.OF_AGPU, nobs)),
        }
        m.pending = series(self._view(K.O_MPEND, nobs))
        m.running = series(self._view(K.O_MRUN, nobs))
        m.active_nodes = series(self._view(K.O_MACT, nobs))
        m.live_nodes = series(self._view(K.O_MLIVE, nobs))
        m.sample_times = series(self._fview(K.OF_STIMES, nsamp))
        m.imbalance_cpu = series(self._fview(K.OF_IMBC, nsamp))
        m.imbalance_memory = series(self._fview(K.OF_IMBM, nsamp))
        m.fragmentation = series(self._fview(K.OF_FRAG, nsamp))
        m.waits = series(self._fview(K.OF_WAITS, nwaits))
        m.attempts, m.failed_attempts = int(ib[K.ATTEMPTS]), int(ib[K.FAILED])
        m.next_sample = float(fb[K.NEXT_SAMPLE])
        m.integrals = _signals(fb, K.INTEG)
        m.last = _signals(fb, K.LAST)
        m.last_t = float(fb[K.LAST_T]) if ib[K.HAS_LAST_T] else None
        if self.services is not None:
            # A Simulator's recorder keeps its own tracker (recounted from where the pods run); a fresh one reads
            # this episode's, with the running replicas of the buffers.
            if m.services is None:
                self.services.running[:] = self._view(K.O_SVCRUN, len(self.services))
                m.track_services(self.services)
            k = len(self.services)
            m.service_time = self._fview(K.OF_SVCTIME, k).copy()
            m.service_up_time = self._fview(K.OF_SVCUP, k).copy()
            m.service_last = (self._fview(K.OF_SVCLE, k).copy(), self._fview(K.OF_SVCLU, k).copy())

    def reward_state(self) -> RewardState:
        """The env's previous RewardState (what the next dense reward is measured from)."""
        fb = self.fb
        integrals = _signals(fb, K.PREV_INTEG)
        if self.ib[K.PREV_INITIAL]:
            return RewardState(0.0, integrals)
        current = {"cpu": float(fb[K.PREV_CUR_CPU]), "gpu": float(fb[K.PREV_CUR_GPU])}
        return RewardState(float(fb[K.PREV_T]), integrals, current)
