"""numba kernels of the compiled engine: one episode of ``envs.simulator.Simulator`` as driven by
``PodSchedulingEnv`` (next_pod / feasible / bind / defer), with the metrics it records, the features it
observes and the integral reward it pays.

An episode lives in two flat buffers: ``ib`` (int64) and ``fb`` (float64). Their first slots are the scalars
named below; the arrays follow, at offsets stored in the header (``envs.compiled.engine`` lays them out), so
one row of a [num_envs, length] buffer is a whole episode and one call steps every row. Every operation
mirrors the Python engine's, in the same order, so that floating-point results are bit for bit the same.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit, prange

# ---- int64 header slots -------------------------------------------------------------------------------------
(
    N,  # nodes
    R,  # resource columns
    G,  # GPU slots per node (gpu_free's width, may be 0)
    GD,  # max(G, 1): device slots per pod
    P,  # pods
    T,  # pod templates
    M,  # observation rows (max_nodes)
    A,  # actions
    FIT,  # 1: the profile has NodeResourcesFit
    RETRY,  # 1: retry_unschedulable
    TRACK,  # 1: imbalance and fragmentation at every observation (track_node_stats)
    CPU,  # column of cpu
    MEM,  # column of memory
    GPUCOL,  # column of nvidia.com/gpu, -1 when absent
    PENDING_ACTION,  # the "leave pending" action, -1 when not allowed
    TERMINATE,  # invalid_action.rule == terminate
    MAX_CONSEC,  # invalid_action.max_consecutive
    SPARSE,  # reward form is sparse
    NOBJ,  # weighted objectives
    SEQ,  # the simulator's sequence counter (events and queue share it)
    RUNNING,
    DIRTY,
    CURRENT,  # the pod being decided, -1 for none
    NEV,  # events in the heap
    NQ,  # pods in the active queue
    USN,  # pods in the unschedulable set
    USHEAD,
    USTAIL,
    GPU_ARRIVED,
    ATTEMPTS,
    FAILED,
    ACTIVE,  # live nodes running a pod
    VERSION,  # the cluster's version counter
    NOBS,  # observations recorded
    NSAMP,  # samples recorded
    NWAITS,
    NCURVE,
    HAS_LAST_T,
    DONE,
    TRUNCATED,  # the env's truncation (horizon or invalid streak)
    STREAK,  # invalid actions in a row
    INVALID,  # the last step's action was invalid
    PREV_INITIAL,  # the previous reward state is the episode's first
    MAX_CPU,
    MAX_MEM,
    MAX_GPUS,
    LIVE,  # live nodes
    HAS_GPUS,  # the encoder's has_gpus
    # offsets of int64 arrays
    O_PRIO,
    O_TMPL,
    O_GCOUNT,
    O_GMILLI,
    O_REQ,  # [P, R]
    O_ALLOC,  # [R, N]
    O_ALLOWED,
    O_STATIC,  # [T, N] static verdict codes
    O_CHECKED,  # [R]
    O_FREE,  # [R, N]
    O_PODCOUNT,
    O_GFREE,  # [N, G]
    O_GIDLE,
    O_GMAX,
    O_TOTREQ,  # [R]
    O_TOTALLOC,  # [R]
    O_NODEOF,
    O_INC,
    O_EVERB,
    O_ATT,
    O_DROP,
    O_GDEV,  # [P, GD]
    O_GN,
    O_EVSEQ,
    O_EVKIND,
    O_EVA,
    O_EVB,
    O_QNP,  # -priority
    O_QSEQ,
    O_QI,
    O_USNEXT,
    O_USPREV,
    O_USIN,
    O_MPEND,
    O_MRUN,
    O_MACT,
    O_MLIVE,
    O_CURVE_A,
    O_CURVE_B,
    O_MASK,  # [A]
    O_OBJ,  # per objective: inner and outer term counts, then each term's signal (envs.rewards.Linear)
    O_SHAPE,  # [P] the pod's shape (template, requests, GPU ask)
    O_NOFIT,  # [shapes] the cluster version at which the shape fitted nowhere (-1: none)
    O_FITSTAMP,  # [shapes] the queueing-hint scan that last evaluated the shape
    O_FITOK,  # [shapes] its verdict in that scan
    HINTS,  # queueing-hint scans so far
    NSVC,  # services (the workload's PodDisruptionBudgets; envs.availability)
    O_SVCPTR,  # [P + 1] each pod's services: O_SVCIDX[O_SVCPTR[i]:O_SVCPTR[i + 1]]
    O_SVCIDX,
    O_SVCDES,  # [NSVC] desired healthy replicas
    O_SVCRUN,  # [NSVC] running replicas
    # offsets of float64 arrays (in fb)
    OF_ARR,
    OF_DUR,
    OF_QAT,
    OF_EVT,
    OF_QT,
    OF_USSINCE,
    OF_TIMES,
    OF_ACPU,
    OF_AMEM,
    OF_AGPU,
    OF_STIMES,
    OF_IMBC,
    OF_IMBM,
    OF_FRAG,
    OF_WAITS,
    OF_STATICF,  # [N, 4] cpu_size, memory_size, gpu_size, node_rank
    OF_DCPU,  # divisors with 1.0 where the denominator is 0 (then the ratio is 0)
    OF_DMEM,
    OF_DGPU,
    OF_DDEV,
    OF_DPODS,
    OF_TPRIO,  # tanh(priority / 1000) per pod
    OF_TPEND,  # tanh(pending / nodes) per pending count
    OF_OBJW,  # per objective: weight, inner_den, den, then each term's coefficient
    OF_SVCFIRST,  # [NSVC] the first arrival among a service's pods (inf: none)
    OF_SVCTIME,  # [NSVC] time existing, integrated (MetricsRecorder.service_time)
    OF_SVCUP,  # [NSVC] time up, integrated (service_up_time)
    OF_SVCLE,  # [NSVC] existing at the last observation (1.0 / 0.0; service_last)
    OF_SVCLU,  # [NSVC] up at the last observation
    NTYP,  # typical pod types FGD's score is measured against (0: none, the fgd_score feature is 0)
    TYDEN,  # their total weight (the fragmentation numerators' denominator)
    TYZERO,  # FGD's score of no change in fragmentation (what a node without GPUs scores)
    O_TYCPU,  # [NTYP] cpu (milli) of each type
    O_TYMILLI,  # [NTYP] milli-GPU per GPU
    O_TYCOUNT,  # [NTYP] GPUs
    O_TYWEIGHT,  # [NTYP] pods of the type
    O_TYACCESS,  # [N, NTYP] 1: type t asks for GPUs and node n's GPU model serves it
    OF_FGDTH,  # [100] envs.fragmentation.SCORE_THRESHOLDS
    O_TYSTALE,  # [N] 1: the node's GPUs changed since O_TYENOUGH, O_TYSMALL and O_TYIDLE were counted
    O_TYENOUGH,  # [N, NTYP] GPUs of the node with room for type t (free >= its milli-GPU)
    O_TYSMALL,  # [N, NTYP] idle milli on the node's other GPUs
    O_TYIDLE,  # [N] idle milli-GPU of the node
    INT_HEADER,
) = range(142)

# ---- float64 header slots -----------------------------------------------------------------------------------
(
    NOW,
    HORIZON,
    INTERVAL,
    NEXT_SAMPLE,
    LAST_T,
    PENALTY,
    PREV_T,
    PREV_CUR_CPU,
    PREV_CUR_GPU,
    NEXT_T,
    NEXT_CUR_CPU,
    NEXT_CUR_GPU,
    REWARD,
    INTEG,  # NSIG signals
) = range(14)
NSIG = 9
LAST = INTEG + NSIG
PREV_INTEG = LAST + NSIG
NEXT_INTEG = PREV_INTEG + NSIG
FLOAT_HEADER = NEXT_INTEG + NSIG

# Signals, in envs.metrics.SIGNALS order.
S_CPU, S_MEM, S_GPU, S_PENDING, S_ACTIVE, S_LIVE, S_IMB, S_FRAG, S_UNAV = range(NSIG)
# Reward signals (envs.rewards.REWARD_SIGNALS order): the NSIG integrals, then the allocated cpu and GPU shares now.
REWARD_SIGNALS = (
    "cpu",
    "memory",
    "gpu",
    "pending",
    "active_nodes",
    "live_nodes",
    "imbalance_cpu",
    "fragmentation",
    "unavailability",
    "current_cpu",
    "current_gpu",
)
ARRIVE, DEPART = 0, 1
START = -(2**62)  # the action that starts an episode (the first decision after reset)
ACTION_LIMIT = 2**62  # actions passed to the kernels lie strictly within +-ACTION_LIMIT (others: -1, invalid)
MILLI_GPU = 1000
MAX_IN_UNSCHEDULABLE_S = 300.0
INT64_MAX = np.iinfo(np.int64).max


# ---- heaps --------------------------------------------------------------------------------------------------
@njit(cache=True)
def _ev_push(ib, fb, t, kind, a, b):
    """heappush((t, seq, kind, a, b)) on the event heap."""
    ot, os_, ok, oa, ob = ib[OF_EVT], ib[O_EVSEQ], ib[O_EVKIND], ib[O_EVA], ib[O_EVB]
    seq = ib[SEQ]
    ib[SEQ] = seq + 1
    k = ib[NEV]
    while k > 0:
        p = (k - 1) >> 1
        pt = fb[ot + p]
        ps = ib[os_ + p]
        if pt < t or (pt == t and ps < seq):
            break
        fb[ot + k] = pt
        ib[os_ + k] = ps
        ib[ok + k] = ib[ok + p]
        ib[oa + k] = ib[oa + p]
        ib[ob + k] = ib[ob + p]
        k = p
    fb[ot + k] = t
    ib[os_ + k] = seq
    ib[ok + k] = kind
    ib[oa + k] = a
    ib[ob + k] = b
    ib[NEV] += 1


@njit(cache=True)
def _ev_pop(ib, fb):
    """heappop of the event heap; returns (kind, a, b)."""
    ot, os_, ok, oa, ob = ib[OF_EVT], ib[O_EVSEQ], ib[O_EVKIND], ib[O_EVA], ib[O_EVB]
    kind, a, b = ib[ok], ib[oa], ib[ob]
    n = ib[NEV] - 1
    ib[NEV] = n
    if n > 0:
        t, seq, lk, la, lb = fb[ot + n], ib[os_ + n], ib[ok + n], ib[oa + n], ib[ob + n]
        k = 0
        while True:
            c = 2 * k + 1
            if c >= n:
                break
            if c + 1 < n and (
                fb[ot + c + 1] < fb[ot + c] or (fb[ot + c + 1] == fb[ot + c] and ib[os_ + c + 1] < ib[os_ + c])
            ):
                c += 1
            if not (fb[ot + c] < t or (fb[ot + c] == t and ib[os_ + c] < seq)):
                break
            fb[ot + k] = fb[ot + c]
            ib[os_ + k] = ib[os_ + c]
            ib[ok + k] = ib[ok + c]
            ib[oa + k] = ib[oa + c]
            ib[ob + k] = ib[ob + c]
            k = c
        fb[ot + k] = t
        ib[os_ + k] = seq
        ib[ok + k] = lk
        ib[oa + k] = la
        ib[ob + k] = lb
    return kind, a, b


@njit(cache=True)
def _q_less(ib, fb, x, y):
    """Queue entry x before y: (-priority, queue time, seq)."""
    onp, ot, os_ = ib[O_QNP], ib[OF_QT], ib[O_QSEQ]
    if ib[onp + x] != ib[onp + y]:
        return ib[onp + x] < ib[onp + y]
    if fb[ot + x] != fb[ot + y]:
        return fb[ot + x] < fb[ot + y]
    return ib[os_ + x] < ib[os_ + y]


@njit(cache=True)
def _q_move(ib, fb, dst, src):
    ib[ib[O_QNP] + dst] = ib[ib[O_QNP] + src]
    fb[ib[OF_QT] + dst] = fb[ib[OF_QT] + src]
    ib[ib[O_QSEQ] + dst] = ib[ib[O_QSEQ] + src]
    ib[ib[O_QI] + dst] = ib[ib[O_QI] + src]


@njit(cache=True)
def _q_push(ib, fb, i, since):
    """heappush((-priority, since, seq, i)) on the scheduling queue (PrioritySort)."""
    onp, ot, os_, oi = ib[O_QNP], ib[OF_QT], ib[O_QSEQ], ib[O_QI]
    seq = ib[SEQ]
    ib[SEQ] = seq + 1
    np_ = -ib[ib[O_PRIO] + i]
    k = ib[NQ]
    while k > 0:
        p = (k - 1) >> 1
        pn, pt, ps = ib[onp + p], fb[ot + p], ib[os_ + p]
        if pn < np_ or (pn == np_ and (pt < since or (pt == since and ps < seq))):
            break
        _q_move(ib, fb, k, p)
        k = p
    ib[onp + k] = np_
    fb[ot + k] = since
    ib[os_ + k] = seq
    ib[oi + k] = i
    ib[NQ] += 1


@njit(cache=True)
def _q_pop(ib, fb):
    """heappop of the scheduling queue; returns the pod."""
    onp, ot, os_, oi = ib[O_QNP], ib[OF_QT], ib[O_QSEQ], ib[O_QI]
    top = ib[oi]
    n = ib[NQ] - 1
    ib[NQ] = n
    if n > 0:
        ln, lt, ls, li = ib[onp + n], fb[ot + n], ib[os_ + n], ib[oi + n]
        k = 0
        while True:
            c = 2 * k + 1
            if c >= n:
                break
            if c + 1 < n and _q_less(ib, fb, c + 1, c):
                c += 1
            cn, ct, cs = ib[onp + c], fb[ot + c], ib[os_ + c]
            if not (cn < ln or (cn == ln and (ct < lt or (ct == lt and cs < ls)))):
                break
            _q_move(ib, fb, k, c)
            k = c
        ib[onp + k] = ln
        fb[ot + k] = lt
        ib[os_ + k] = ls
        ib[oi + k] = li
    return top


# ---- the unschedulable set (insertion order) ----------------------------------------------------------------
@njit(cache=True)
def _us_add(ib, fb, i, since):
    onext, oprev = ib[O_USNEXT], ib[O_USPREV]
    ib[onext + i] = -1
    ib[oprev + i] = ib[USTAIL]
    if ib[USTAIL] >= 0:
        ib[onext + ib[USTAIL]] = i
    else:
        ib[USHEAD] = i
    ib[USTAIL] = i
    ib[ib[O_USIN] + i] = 1
    fb[ib[OF_USSINCE] + i] = since
    ib[USN] += 1


@njit(cache=True)
def _us_pop(ib, fb, i):
    onext, oprev = ib[O_USNEXT], ib[O_USPREV]
    nx, pv = ib[onext + i], ib[oprev + i]
    if pv >= 0:
        ib[onext + pv] = nx
    else:
        ib[USHEAD] = nx
    if nx >= 0:
        ib[oprev + nx] = pv
    else:
        ib[USTAIL] = pv
    ib[ib[O_USIN] + i] = 0
    ib[USN] -= 1
    return fb[ib[OF_USSINCE] + i]


@njit(cache=True)
def _requeue(ib, fb, i):
    since = _us_pop(ib, fb, i)
    _q_push(ib, fb, i, since)


@njit(cache=True)
def _retry_unschedulable(ib, fb, node):
    """UnschedulablePods.fitting(node), then requeue those pods in insertion order (the queueing hint)."""
    if ib[USN] == 0:
        return
    n_nodes = ib[N]
    if ib[FIT] == 1 and ib[ib[O_PODCOUNT] + node] >= ib[ib[O_ALLOWED] + node]:
        return
    nr, g = ib[R], ib[G]
    ofree, oreq, ochk, ogf = ib[O_FREE], ib[O_REQ], ib[O_CHECKED], ib[O_GFREE]
    ostamp, ook, oshape = ib[O_FITSTAMP], ib[O_FITOK], ib[O_SHAPE]
    ib[HINTS] += 1
    stamp = ib[HINTS]
    buf = np.empty(ib[USN], dtype=np.int64)
    nfit = 0
    i = ib[USHEAD]
    while i >= 0:
        sh = ib[oshape + i]
        if ib[ostamp + sh] == stamp:  # a pod of the same shape was just evaluated on this node
            if ib[ook + sh] == 1:
                buf[nfit] = i
                nfit += 1
            i = ib[ib[O_USNEXT] + i]
            continue
        ok = ib[ib[O_STATIC] + ib[ib[O_TMPL] + i] * n_nodes + node] == 0
        if ok and ib[FIT] == 1:
            for col in range(nr):
                r = ib[oreq + i * nr + col]
                if r > ib[ofree + col * n_nodes + node] and r != 0 and ib[ochk + col] == 1:
                    ok = False
                    break
        count = ib[ib[O_GCOUNT] + i]
        if ok and count > 0:
            milli = ib[ib[O_GMILLI] + i]
            enough = 0
            for d in range(g):
                if ib[ogf + node * g + d] >= milli:
                    enough += 1
            ok = enough >= count
        ib[ostamp + sh] = stamp
        ib[ook + sh] = 1 if ok else 0
        if ok:
            buf[nfit] = i
            nfit += 1
        i = ib[ib[O_USNEXT] + i]
    for k in range(nfit):
        _requeue(ib, fb, buf[k])


@njit(cache=True)
def _flush_unschedulable(ib, fb):
    """Requeue the pods that waited PodMaxInUnschedulablePodsDuration (oldest first)."""
    now = fb[NOW]
    i = ib[USHEAD]
    while i >= 0:
        if now - fb[ib[OF_USSINCE] + i] < MAX_IN_UNSCHEDULABLE_S:
            break
        nxt = ib[ib[O_USNEXT] + i]
        _requeue(ib, fb, i)
        i = nxt


# ---- cluster ------------------------------------------------------------------------------------------------
@njit(cache=True)
def _gpu_row_changed(ib, node):
    g, ogf = ib[G], ib[O_GFREE]
    idle = 0
    best = ib[ogf + node * g]
    for d in range(g):
        v = ib[ogf + node * g + d]
        if v >= MILLI_GPU:
            idle += 1
        if v > best:
            best = v
    ib[ib[O_GIDLE] + node] = idle
    ib[ib[O_GMAX] + node] = best
    ib[ib[O_TYSTALE] + node] = 1


@njit(cache=True)
def _choose_gpus(ib, node, i):
    """ClusterState.choose_gpus: whole GPUs take the lowest-index idle ones; a shared GPU is the best fit."""
    count = ib[ib[O_GCOUNT] + i]
    ib[ib[O_GN] + i] = 0
    if count == 0:
        return
    g, ogf, gd, odev = ib[G], ib[O_GFREE], ib[GD], ib[O_GDEV]
    milli = ib[ib[O_GMILLI] + i]
    if milli >= MILLI_GPU:
        k = 0
        for d in range(g):
            if k < count and ib[ogf + node * g + d] >= MILLI_GPU:
                ib[odev + i * gd + k] = d
                k += 1
        ib[ib[O_GN] + i] = k
    else:
        best, best_d = INT64_MAX, 0
        for d in range(g):
            v = ib[ogf + node * g + d]
            if v >= milli and v < best:
                best, best_d = v, d
        ib[odev + i * gd] = best_d
        ib[ib[O_GN] + i] = 1


@njit(cache=True)
def _cluster_change(ib, node, i, sign):
    """ClusterState.bind (sign 1) or unbind (-1) of pod i's requests and devices on `node`."""
    nr, n_nodes = ib[R], ib[N]
    ofree, oreq, otot, opc = ib[O_FREE], ib[O_REQ], ib[O_TOTREQ], ib[O_PODCOUNT]
    ib[VERSION] += 1
    for col in range(nr):
        r = ib[oreq + i * nr + col]
        ib[ofree + col * n_nodes + node] -= sign * r
        ib[otot + col] += sign * r
    ib[opc + node] += sign
    if sign == 1 and ib[opc + node] == 1:
        ib[ACTIVE] += 1
    if sign == -1 and ib[opc + node] == 0:
        ib[ACTIVE] -= 1
    gn = ib[ib[O_GN] + i]
    if gn > 0:
        g, gd, odev, ogf = ib[G], ib[GD], ib[O_GDEV], ib[O_GFREE]
        milli = ib[ib[O_GMILLI] + i]
        for k in range(gn):
            ib[ogf + node * g + ib[odev + i * gd + k]] -= sign * milli
        _gpu_row_changed(ib, node)


# ---- metrics ------------------------------------------------------------------------------------------------
@njit(cache=True)
def _block_sum(a, lo, n):
    """numpy's pairwise_sum for n <= 128: eight running sums, combined as a tree, then the rest."""
    if n < 8:
        res = 0.0
        for k in range(n):
            res += a[lo + k]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    k = 8
    while k < n - (n % 8):
        r0 += a[lo + k]
        r1 += a[lo + k + 1]
        r2 += a[lo + k + 2]
        r3 += a[lo + k + 3]
        r4 += a[lo + k + 4]
        r5 += a[lo + k + 5]
        r6 += a[lo + k + 6]
        r7 += a[lo + k + 7]
        k += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while k < n:
        res += a[lo + k]
        k += 1
    return res


@njit(cache=True)
def _pairwise_sum(a, n):
    """numpy's pairwise summation of a[:n] (the order np.add.reduce adds float64 in): halves (rounded down to a
    multiple of 8) summed separately down to blocks of 128. Iterative, since numba cannot cache recursion."""
    if n <= 128:
        return _block_sum(a, 0, n)
    s_lo = np.empty(64, dtype=np.int64)
    s_n = np.empty(64, dtype=np.int64)
    s_stage = np.zeros(64, dtype=np.int64)
    s_left = np.empty(64)
    s_lo[0], s_n[0], s_stage[0] = 0, n, 0
    sp = 1
    value = 0.0
    while sp > 0:
        top = sp - 1
        lo, m, stage = s_lo[top], s_n[top], s_stage[top]
        half = m // 2
        half -= half % 8
        if m <= 128:
            value = _block_sum(a, lo, m)
            sp -= 1
        elif stage == 0:
            s_stage[top] = 1
            s_lo[sp], s_n[sp], s_stage[sp] = lo, half, 0
            sp += 1
            continue
        elif stage == 1:
            s_left[top] = value
            s_stage[top] = 2
            s_lo[sp], s_n[sp], s_stage[sp] = lo + half, m - half, 0
            sp += 1
            continue
        else:
            value = s_left[top] + value
            sp -= 1
    return value


@njit(cache=True)
def _np_sum(a, n):
    """float(np.sum(a[:n])) for a contiguous float64 array."""
    return 0.0 + _pairwise_sum(a, n)


@njit(cache=True)
def _node_imbalance(ib, col):
    """podgym.envs.metrics.node_imbalance: np.std of requested/allocatable over live nodes that offer `col`."""
    n_nodes, oa, of = ib[N], ib[O_ALLOC], ib[O_FREE]
    x = np.empty(n_nodes)
    n = 0
    for j in range(n_nodes):
        alloc = ib[oa + col * n_nodes + j]
        if alloc > 0:
            x[n] = (alloc - ib[of + col * n_nodes + j]) / alloc
            n += 1
    if n == 0:
        return 0.0
    mean = _np_sum(x, n) / n
    for k in range(n):
        d = x[k] - mean
        x[k] = d * d
    return math.sqrt(_np_sum(x, n) / n)


@njit(cache=True)
def _gpu_fragmentation(ib):
    """podgym.envs.metrics.gpu_fragmentation over the live nodes."""
    total, partial = 0, 0
    ogf = ib[O_GFREE]
    for k in range(ib[N] * ib[G]):
        v = ib[ogf + k]
        if v >= 0:
            total += v
            if 0 < v < MILLI_GPU:
                partial += v
    if total == 0:
        return 0.0
    return partial / total


@njit(cache=True)
def _pending(ib):
    return ib[NQ] + ib[USN] + (1 if ib[CURRENT] >= 0 else 0)


@njit(cache=True)
def _alloc_ratio(ib, col):
    if col < 0:
        return 0.0
    total = ib[ib[O_TOTALLOC] + col]
    if total == 0:
        return 0.0
    return ib[ib[O_TOTREQ] + col] / total


@njit(cache=True)
def _observe(ib, fb):
    """Simulator._observe: MetricsRecorder.observe(now, pending, running) once per state."""
    if ib[DIRTY] == 0:
        return
    ib[DIRTY] = 0
    t = fb[NOW]
    pending = _pending(ib)
    k = ib[NOBS]
    ib[NOBS] = k + 1
    fb[ib[OF_TIMES] + k] = t
    cpu, mem, gpu = _alloc_ratio(ib, ib[CPU]), _alloc_ratio(ib, ib[MEM]), _alloc_ratio(ib, ib[GPUCOL])
    fb[ib[OF_ACPU] + k] = cpu
    fb[ib[OF_AMEM] + k] = mem
    fb[ib[OF_AGPU] + k] = gpu
    ib[ib[O_MPEND] + k] = pending
    ib[ib[O_MRUN] + k] = ib[RUNNING]
    ib[ib[O_MACT] + k] = ib[ACTIVE]
    ib[ib[O_MLIVE] + k] = ib[LIVE]
    sampled = t >= fb[NEXT_SAMPLE]
    imbalance, fragmentation = 0.0, 0.0
    if sampled or ib[TRACK] == 1:
        imbalance, fragmentation = _node_imbalance(ib, ib[CPU]), _gpu_fragmentation(ib)
    if sampled:
        s = ib[NSAMP]
        ib[NSAMP] = s + 1
        fb[ib[OF_STIMES] + s] = t
        fb[ib[OF_IMBC] + s] = imbalance
        fb[ib[OF_IMBM] + s] = _node_imbalance(ib, ib[MEM])
        fb[ib[OF_FRAG] + s] = fragmentation
        fb[NEXT_SAMPLE] = t + fb[INTERVAL]
    if ib[HAS_LAST_T] == 1:
        dt = t - fb[LAST_T]
        for s in range(NSIG):
            fb[INTEG + s] += fb[LAST + s] * dt
        for s in range(ib[NSVC]):
            fb[ib[OF_SVCTIME] + s] += fb[ib[OF_SVCLE] + s] * dt
            fb[ib[OF_SVCUP] + s] += fb[ib[OF_SVCLU] + s] * dt
    if ib[NSVC] > 0:
        down = 0
        for s in range(ib[NSVC]):
            exists = fb[ib[OF_SVCFIRST] + s] <= t
            up = exists and ib[ib[O_SVCRUN] + s] >= ib[ib[O_SVCDES] + s]
            fb[ib[OF_SVCLE] + s] = 1.0 if exists else 0.0
            fb[ib[OF_SVCLU] + s] = 1.0 if up else 0.0
            if exists and not up:
                down += 1
        fb[LAST + S_UNAV] = down / ib[NSVC]
    fb[LAST + S_CPU] = cpu
    fb[LAST + S_MEM] = mem
    fb[LAST + S_GPU] = gpu
    fb[LAST + S_PENDING] = float(pending)
    fb[LAST + S_ACTIVE] = float(ib[ACTIVE])
    fb[LAST + S_LIVE] = float(ib[LIVE])
    if ib[TRACK] == 1:
        fb[LAST + S_IMB] = imbalance
        fb[LAST + S_FRAG] = fragmentation
    fb[LAST_T] = t
    ib[HAS_LAST_T] = 1


# ---- the simulation -----------------------------------------------------------------------------------------
@njit(cache=True)
def _sim_truncated(ib, fb):
    return ib[NEV] > 0 and fb[ib[OF_EVT]] > fb[HORIZON]


@njit(cache=True)
def _advance(ib, fb):
    """Simulator._advance: apply every event at the next event time; False when none is left in the horizon."""
    if ib[NEV] == 0 or fb[ib[OF_EVT]] > fb[HORIZON]:
        _observe(ib, fb)
        return False
    _observe(ib, fb)
    now = fb[ib[OF_EVT]]
    fb[NOW] = now
    while ib[NEV] > 0 and fb[ib[OF_EVT]] == now:
        kind, a, b = _ev_pop(ib, fb)
        if kind == ARRIVE:
            fb[ib[OF_QAT] + a] = now
            _q_push(ib, fb, a, now)
        elif ib[ib[O_INC] + a] == b and ib[ib[O_NODEOF] + a] >= 0:
            node = ib[ib[O_NODEOF] + a]
            _unbind(ib, fb, a)
            _retry_unschedulable(ib, fb, node)
    ib[DIRTY] = 1
    if ib[USN] > 0:
        _flush_unschedulable(ib, fb)
    return True


@njit(cache=True)
def _services_change(ib, i, delta):
    """ServiceTracker.bind / unbind of pod i: its services' running replicas."""
    ptr = ib[O_SVCPTR]
    for k in range(ib[ptr + i], ib[ptr + i + 1]):
        s = ib[ib[O_SVCIDX] + k]
        ib[ib[O_SVCRUN] + s] += delta


@njit(cache=True)
def _unbind(ib, fb, i):
    node = ib[ib[O_NODEOF] + i]
    _cluster_change(ib, node, i, -1)
    ib[ib[O_NODEOF] + i] = -1
    ib[ib[O_GN] + i] = 0
    ib[ib[O_INC] + i] += 1
    ib[RUNNING] -= 1
    if ib[NSVC] > 0:
        _services_change(ib, i, -1)


@njit(cache=True)
def _first_attempt(ib, i):
    if ib[ib[O_ATT] + i] == 1:
        return
    ib[ib[O_ATT] + i] = 1
    ib[GPU_ARRIVED] += ib[ib[O_GCOUNT] + i] * ib[ib[O_GMILLI] + i]
    k = ib[NCURVE]
    ib[NCURVE] = k + 1
    ib[ib[O_CURVE_A] + k] = ib[GPU_ARRIVED]
    ib[ib[O_CURVE_B] + k] = ib[ib[O_TOTREQ] + ib[GPUCOL]] if ib[GPUCOL] >= 0 else 0


@njit(cache=True)
def _bind(ib, fb, node):
    """Simulator.bind(node) of the current pod."""
    i = ib[CURRENT]
    ib[ATTEMPTS] += 1
    w = ib[NWAITS]
    ib[NWAITS] = w + 1
    fb[ib[OF_WAITS] + w] = fb[NOW] - fb[ib[OF_QAT] + i]
    ib[CURRENT] = -1
    _choose_gpus(ib, node, i)
    _cluster_change(ib, node, i, 1)
    ib[ib[O_NODEOF] + i] = node
    ib[ib[O_EVERB] + i] = 1
    ib[RUNNING] += 1
    if ib[NSVC] > 0:
        _services_change(ib, i, 1)
    d = fb[ib[OF_DUR] + i]
    if math.isfinite(d):
        _ev_push(ib, fb, fb[NOW] + d, DEPART, i, ib[ib[O_INC] + i])
    _first_attempt(ib, i)


@njit(cache=True)
def _defer(ib, fb):
    """Simulator.defer of the current pod."""
    i = ib[CURRENT]
    ib[ATTEMPTS] += 1
    ib[FAILED] += 1
    ib[CURRENT] = -1
    _first_attempt(ib, i)
    if ib[RETRY] == 0:
        ib[ib[O_DROP] + i] = 1
        return
    _us_add(ib, fb, i, fb[NOW])


@njit(cache=True)
def _filter(ib, i):
    """VectorProfile.filter for pod i, written into the action mask's node slots; True when any node fits."""
    n_nodes, nr, g = ib[N], ib[R], ib[G]
    omask, ostat, ofree, oreq, ochk = ib[O_MASK], ib[O_STATIC], ib[O_FREE], ib[O_REQ], ib[O_CHECKED]
    opc, oal, ogf = ib[O_PODCOUNT], ib[O_ALLOWED], ib[O_GFREE]
    tmpl = ib[ib[O_TMPL] + i]
    count, milli = ib[ib[O_GCOUNT] + i], ib[ib[O_GMILLI] + i]
    anyfit = False
    for j in range(n_nodes):
        ok = ib[ostat + tmpl * n_nodes + j] == 0
        if ok and ib[FIT] == 1:
            ok = ib[opc + j] < ib[oal + j]
            if ok:
                for col in range(nr):
                    r = ib[oreq + i * nr + col]
                    if r != 0 and ib[ochk + col] == 1 and ib[ofree + col * n_nodes + j] < r:
                        ok = False
                        break
        if ok and count > 0:
            if g == 0:
                ok = False
            elif milli >= MILLI_GPU:
                ok = ib[ib[O_GIDLE] + j] >= count
            elif count == 1:
                ok = ib[ib[O_GMAX] + j] >= milli
            else:
                enough = 0
                for d in range(g):
                    if ib[ogf + j * g + d] >= milli:
                        enough += 1
                ok = enough >= count
        ib[omask + j] = 1 if ok else 0
        anyfit = anyfit or ok
    return anyfit


@njit(cache=True)
def _next_decision(ib, fb):
    """PodSchedulingEnv._next_decision: advance to the next pod that fits somewhere (others are deferred)."""
    omask, n_actions = ib[O_MASK], ib[A]
    while True:
        while ib[NQ] == 0:
            if not _advance(ib, fb):
                ib[DONE] = 1
                ib[TRUNCATED] = 1 if _sim_truncated(ib, fb) else 0
                for k in range(n_actions):  # no pod, no allowed action
                    ib[omask + k] = 0
                return
        i = _q_pop(ib, fb)
        ib[CURRENT] = i
        # Pods retried in a row (a flush) mostly share a few shapes and nothing changes between them.
        nofit = ib[O_NOFIT] + ib[ib[O_SHAPE] + i]
        if ib[nofit] != ib[VERSION]:
            if _filter(ib, i):
                for k in range(ib[N], n_actions):
                    ib[omask + k] = 0
                if ib[PENDING_ACTION] >= 0:
                    ib[omask + ib[PENDING_ACTION]] = 1
                return
            ib[nofit] = ib[VERSION]
        _defer(ib, fb)


# ---- reward -------------------------------------------------------------------------------------------------
@njit(cache=True)
def _next_reward_state(ib, fb):
    """PodSchedulingEnv._current_reward_state into the NEXT slots."""
    t = fb[HORIZON] if ib[DONE] == 1 and _sim_truncated(ib, fb) else fb[NOW]
    fb[NEXT_T] = t
    if ib[HAS_LAST_T] == 0:
        for s in range(NSIG):
            fb[NEXT_INTEG + s] = fb[INTEG + s]
    else:
        dt = max(t - fb[LAST_T], 0.0)
        for s in range(NSIG):
            fb[NEXT_INTEG + s] = fb[INTEG + s] + fb[LAST + s] * dt
    fb[NEXT_CUR_CPU] = _alloc_ratio(ib, ib[CPU])
    fb[NEXT_CUR_GPU] = _alloc_ratio(ib, ib[GPUCOL])


@njit(cache=True)
def _signal(fb, integ, cur_cpu, cur_gpu, s):
    """Reward signal `s` of a reward state (integrals at fb[integ:], current allocation)."""
    if s < NSIG:
        return fb[integ + s]
    return cur_cpu if s == NSIG else cur_gpu


@njit(cache=True)
def _potential(ib, fb, integ, cur_cpu, cur_gpu):
    """IntegralReward.potential: each objective's coefficients (envs.rewards.Linear), in the same operations."""
    total = 0.0
    oi, of = ib[O_OBJ], ib[OF_OBJW]
    for _ in range(ib[NOBJ]):
        n_inner, n_outer = ib[oi], ib[oi + 1]
        weight, inner_den, den = fb[of], fb[of + 1], fb[of + 2]
        oi += 2
        of += 3
        inner = 0.0
        for m in range(n_inner):
            term = fb[of + m] * _signal(fb, integ, cur_cpu, cur_gpu, ib[oi + m])
            inner = term if m == 0 else inner + term
        value = inner / inner_den
        for m in range(n_inner, n_inner + n_outer):
            value = value + fb[of + m] * _signal(fb, integ, cur_cpu, cur_gpu, ib[oi + m])
        total += weight * (value / den)
        oi += n_inner + n_outer
        of += n_inner + n_outer
    return total


@njit(cache=True)
def _settle_reward(ib, fb, is_done):
    """reward_fn(prev, a, next, ...) with next the current reward state; next becomes prev."""
    _next_reward_state(ib, fb)
    nxt = _potential(ib, fb, NEXT_INTEG, fb[NEXT_CUR_CPU], fb[NEXT_CUR_GPU])
    if ib[SPARSE] == 1:
        reward = nxt if is_done else 0.0
    else:
        prev = _potential(ib, fb, PREV_INTEG, fb[PREV_CUR_CPU], fb[PREV_CUR_GPU])
        reward = nxt - prev
    fb[PREV_T] = fb[NEXT_T]
    for s in range(NSIG):
        fb[PREV_INTEG + s] = fb[NEXT_INTEG + s]
    fb[PREV_CUR_CPU] = fb[NEXT_CUR_CPU]
    fb[PREV_CUR_GPU] = fb[NEXT_CUR_GPU]
    ib[PREV_INITIAL] = 0
    return reward


# ---- observation --------------------------------------------------------------------------------------------
@njit(cache=True)
def _ratio(num, den):
    """_Divisor.ratio for one node: den is 1.0 where the true denominator is 0 (negative: marked zero)."""
    if den < 0.0:
        return 0.0
    return num / den


@njit(cache=True)
def _clip(x):
    return min(max(x, -1.0), 1.0)


@njit(cache=True)
def _write_observation(ib, fb, nodes, pod, mask):
    """PodSchedulingEnv._observation: node and pod features of the current pod, and the action mask."""
    n_nodes, m = ib[N], ib[M]
    omask = ib[O_MASK]
    for k in range(ib[A]):
        mask[k] = ib[omask + k]
    i = ib[CURRENT]
    for j in range(m):
        for f in range(nodes.shape[1]):
            nodes[j, f] = 0.0
    for f in range(7):
        pod[f] = 0.0
    if i < 0:
        return
    nr, g = ib[R], ib[G]
    cpu, mem = ib[CPU], ib[MEM]
    ofree, oreq, ogf, ostf = ib[O_FREE], ib[O_REQ], ib[O_GFREE], ib[OF_STATICF]
    rc, rm = ib[oreq + i * nr + cpu], ib[oreq + i * nr + mem]
    count, milli = ib[ib[O_GCOUNT] + i], ib[ib[O_GMILLI] + i]
    want = milli if count else MILLI_GPU
    for j in range(n_nodes):
        fc, fm = ib[ofree + cpu * n_nodes + j], ib[ofree + mem * n_nodes + j]
        dc, dm = fb[ib[OF_DCPU] + j], fb[ib[OF_DMEM] + j]
        nodes[j, 0] = _ratio(fc, dc)
        nodes[j, 1] = _ratio(fm, dm)
        nodes[j, 3] = fb[ostf + 4 * j]
        nodes[j, 4] = fb[ostf + 4 * j + 1]
        nodes[j, 5] = fb[ostf + 4 * j + 2]
        nodes[j, 21] = fb[ostf + 4 * j + 3]
        nodes[j, 6] = _clip(_ratio(fc - rc, dc))
        nodes[j, 7] = _clip(_ratio(fm - rm, dm))
        if ib[HAS_GPUS] == 1:
            _gpu_features(ib, fb, nodes, j, ogf + j * g, g, want, count, milli)
        nodes[j, 10] = _ratio(ib[ib[O_ALLOWED] + j] - ib[ib[O_PODCOUNT] + j], fb[ib[OF_DPODS] + j])
        nodes[j, 11] = ib[omask + j]
    pod[0] = min(rc / ib[MAX_CPU], 1.0)
    pod[1] = min(rm / ib[MAX_MEM], 1.0)
    pod[2] = min(count / ib[MAX_GPUS], 1.0)
    pod[3] = milli / MILLI_GPU if count else 0.0
    pod[4] = fb[ib[OF_TPRIO] + i]
    pod[5] = fb[ib[OF_TPEND] + _pending(ib)]
    horizon = fb[HORIZON]
    if math.isfinite(horizon):
        pod[6] = min(max(fb[NOW] / horizon, 0.0), 1.0)


@njit(cache=True)
def _gpu_features(ib, fb, nodes, j, row, g, want, count, milli):
    """FeatureEncoder.nodes' GPU columns (2, 8, 9 and 12-19) of node j, whose GPUs' free milli start at ib[row]."""
    total, fits, partial = 0, 0, 0
    idle, f750, f500, f250, f1 = 0, 0, 0, 0, 0
    sharing = count > 0 and milli < MILLI_GPU
    chosen = -1
    for d in range(g):
        v = ib[row + d]
        if v > 0:
            total += v
        if v >= want:
            fits += 1
        if 0 < v < MILLI_GPU:
            partial += v
        if v >= MILLI_GPU:
            idle += 1
        elif v >= 750:
            f750 += 1
        elif v >= 500:
            f500 += 1
        elif v >= 250:
            f250 += 1
        elif v >= 1:
            f1 += 1
        if sharing and v >= milli and (chosen < 0 or v < chosen):
            chosen = v
    dg, dd = fb[ib[OF_DGPU] + j], fb[ib[OF_DDEV] + j]
    if ib[NTYP] > 0:
        nodes[j, 20] = max(_fgd_score(ib, fb, j, row, g, count, milli), 0) / 100.0
    nodes[j, 2] = _ratio(total, dg)
    nodes[j, 8] = _ratio(fits, dd)
    nodes[j, 9] = _ratio(partial, dg)
    ask = count * milli if count else 0
    nodes[j, 12] = _clip(_ratio(total - ask, dg))
    nodes[j, 13] = _ratio(idle, dd)
    nodes[j, 14] = _ratio(f750, dd)
    nodes[j, 15] = _ratio(f500, dd)
    nodes[j, 16] = _ratio(f250, dd)
    nodes[j, 17] = _ratio(f1, dd)
    if sharing:
        left, was = 0, 0
        if chosen >= 0:
            left = chosen - milli
            if chosen < MILLI_GPU:
                was = chosen
        nodes[j, 18] = _ratio(partial - was + left, dg)
        nodes[j, 19] = left / MILLI_GPU
    else:
        nodes[j, 18] = nodes[j, 9]
        nodes[j, 19] = 0.0


@njit(cache=True)
def _fgd_threshold(ib, fb, diff, den):
    """envs.fragmentation.score_of_decrease of x = diff / (1000 den): how many of the thresholds are at or below x
    (np.searchsorted(side="right"), by binary search)."""
    x = diff / (1000.0 * den)
    th = ib[OF_FGDTH]
    lo, hi = 0, 100
    while lo < hi:
        mid = (lo + hi) // 2
        if fb[th + mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def _fgd_counts(ib, j, row, g):
    """Count node j's GPUs per typical type into O_TYENOUGH, O_TYSMALL and O_TYIDLE (only when they changed)."""
    ostale = ib[O_TYSTALE] + j
    if ib[ostale] == 0:
        return
    ib[ostale] = 0
    nt, otm = ib[NTYP], ib[O_TYMILLI]
    oe, osm = ib[O_TYENOUGH] + j * nt, ib[O_TYSMALL] + j * nt
    idle = 0
    for d in range(g):
        v = ib[row + d]
        if v > 0:
            idle += v
    ib[ib[O_TYIDLE] + j] = idle
    for t in range(nt):
        m_t = ib[otm + t]
        e, sm = 0, 0
        for d in range(g):
            v = ib[row + d]
            if v >= m_t:
                e += 1
            elif v > 0:
                sm += v
        ib[oe + t], ib[osm + t] = e, sm


@njit(cache=True)
def _fgd_score(ib, fb, j, row, g, count, milli):
    """FragmentationIndex.scores of the current pod on node j (GPUs' free milli at ib[row:]): FGD's integer score,
    for a GPU-sharing pod the best over the GPUs with room (-1 where none has room). The numerators are the exact
    integer sums of envs.fragmentation, from each type's counts of the node's GPUs (_fgd_counts), which the GPUs
    the pod takes change by one GPU each."""
    nt, den = ib[NTYP], ib[TYDEN]
    if g == 0 or ib[row] < 0:  # no GPUs: no room for a sharing pod; else no idle milli-GPU before or after, F = F'
        return -1 if count > 0 and milli < MILLI_GPU else ib[TYZERO]
    _fgd_counts(ib, j, row, g)
    otc, otm, otk, otw = ib[O_TYCPU], ib[O_TYMILLI], ib[O_TYCOUNT], ib[O_TYWEIGHT]
    oacc = ib[O_TYACCESS] + j * nt
    oe, osm = ib[O_TYENOUGH] + j * nt, ib[O_TYSMALL] + j * nt
    cpu_free = ib[ib[O_FREE] + ib[CPU] * ib[N] + j]
    cpu_left = cpu_free - ib[ib[O_REQ] + ib[CURRENT] * ib[R] + ib[CPU]]
    idle = ib[ib[O_TYIDLE] + j]
    whole = count > 0 and milli >= MILLI_GPU
    taken = min(count, ib[ib[O_GIDLE] + j]) if whole else 0
    left = MILLI_GPU - milli  # what a taken idle GPU keeps
    idle_after = idle - taken * MILLI_GPU + taken * max(left, 0)
    before, after = 0, 0
    for t in range(nt):
        m_t = ib[otm + t]
        e, sm = ib[oe + t], ib[osm + t]
        acc = ib[oacc + t] == 1
        w, k_t, c_t = ib[otw + t], ib[otk + t], ib[otc + t]
        before += w * (sm if acc and e >= k_t and cpu_free >= c_t else idle)
        if count == 0:
            after += w * (sm if acc and e >= k_t and cpu_left >= c_t else idle)
        elif whole:
            # the lowest-index idle GPUs take the pod (ClusterState.choose_gpus' default): each had MILLI_GPU free
            if m_t <= MILLI_GPU:
                e -= taken
            else:
                sm -= taken * MILLI_GPU
            if left >= m_t:
                e += taken
            elif left > 0:
                sm += taken * left
            after += w * (sm if acc and e >= k_t and cpu_left >= c_t else idle_after)
    if count == 0 or whole:
        return _fgd_threshold(ib, fb, before - after, den)
    best = -1
    for d in range(g):
        v = ib[row + d]
        if v < milli:
            continue
        a = v - milli  # GPU d once the pod is on it (>= 0)
        after = 0
        for t in range(nt):
            m_t = ib[otm + t]
            e, sm = ib[oe + t], ib[osm + t]
            if v >= m_t:
                e -= 1
            else:
                sm -= v
            if a >= m_t:
                e += 1
            else:
                sm += a
            fits = ib[oacc + t] == 1 and e >= ib[otk + t] and cpu_left >= ib[otc + t]
            after += ib[otw + t] * (sm if fits else idle - milli)
        score = _fgd_threshold(ib, fb, before - after, den)
        if score > best:
            best = score
    return best


# ---- one env step -------------------------------------------------------------------------------------------
@njit(cache=True)
def _step_one(ib, fb, a, nodes, pod, mask):
    """PodSchedulingEnv.step (or, for START, the end of reset) of one episode; the reward goes to fb[REWARD]."""
    reward = 0.0
    ib[INVALID] = 0
    if a == START:
        _next_decision(ib, fb)
    elif not (0 <= a < ib[A] and ib[ib[O_MASK] + a] == 1):
        ib[INVALID] = 1
        ib[STREAK] += 1
        terminated = ib[TERMINATE] == 1
        truncated = (not terminated) and ib[STREAK] >= ib[MAX_CONSEC]
        reward = -fb[PENALTY]
        if terminated or truncated:
            ib[DONE] = 1
            ib[TRUNCATED] = 1 if truncated else 0
            reward += _settle_reward(ib, fb, True)
    else:
        ib[STREAK] = 0
        if a == ib[PENDING_ACTION]:
            _defer(ib, fb)
        else:
            _bind(ib, fb, a)
        _next_decision(ib, fb)
        reward = _settle_reward(ib, fb, ib[DONE] == 1)
    fb[REWARD] = reward
    _write_observation(ib, fb, nodes, pod, mask)


@njit(cache=True)
def _step_rows(ibuf, fbuf, actions, nodes, pods, masks, rewards):
    for k in range(ibuf.shape[0]):
        ib, fb = ibuf[k], fbuf[k]
        _step_one(ib, fb, actions[k], nodes[k], pods[k], masks[k])
        rewards[k] = fb[REWARD]


@njit(cache=True, parallel=True)
def _step_rows_parallel(ibuf, fbuf, actions, nodes, pods, masks, rewards):
    for k in prange(ibuf.shape[0]):
        ib, fb = ibuf[k], fbuf[k]
        _step_one(ib, fb, actions[k], nodes[k], pods[k], masks[k])
        rewards[k] = fb[REWARD]


def step_all(ibuf, fbuf, actions, nodes, pods, masks, rewards, threads: int = 1) -> None:
    """Step every episode (row) of the buffers with its action, writing row k of the batched outputs.

    With `threads` > 1 the rows (independent episodes) run on numba's OpenMP threads; the results are the same.
    That pool is not fork-safe (a process forked after using it aborts when it steps with threads again) and,
    when it starts, it sets the process's OpenMP thread count, which torch reads as its own."""
    if threads > 1 and ibuf.shape[0] > 1:
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        _step_rows_parallel(ibuf, fbuf, actions, nodes, pods, masks, rewards)
    else:
        _step_rows(ibuf, fbuf, actions, nodes, pods, masks, rewards)
