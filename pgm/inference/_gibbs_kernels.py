"""Numba kernels for Gibbs sampling on a compiled graph (see ``pgm.inference.gibbs``).

Pure functions on flat arrays: no validation, no Python objects beyond the
:class:`pgm.compiled.KernelGraph` namedtuple. A chain's state is kept twice,
as state indices ``x`` (int64, read by the shared
:func:`pgm.inference._kernels.conditional_energies`) and as values ``v``
(float64, read by the binary/spin fast path); every update writes both.

Randomness: a counter-based generator
-------------------------------------
Each site update consumes one uniform ``u(key, chain, sweep, i)``, a pure
function of a 64-bit key (drawn once from the caller's
``numpy.random.Generator``), the chain index, the global sweep number and the
variable id. It is the package's one generator, SplitMix64 at a counter
(:mod:`pgm._rng_kernels`; Steele, Lea & Flood, "Fast splittable pseudorandom
number generators", OOPSLA 2014), applied at three levels::

    chain_key = mix64(key       + (chain + 1) * GOLDEN)
    sweep_key = mix64(chain_key + (sweep + 1) * GOLDEN)
    u         = (mix64(sweep_key + (i + 1) * GOLDEN) >> 11) * 2**-53

so the draws of one sweep of one chain are consecutive outputs of a SplitMix64
stream seeded with ``sweep_key``. Because no stream is shared, the samples do
not depend on the number of threads, on how a sweep is split between them
(across chains or across the variables of one colour), nor on how many
sweeps a call performs (``run(10); run(10)`` equals ``run(20)``), and the
hot loop needs no generator state. ``u`` lies in [0, 1) on the 2**-53 grid.

Speed
-----
- A sweep follows a :data:`SweepPlan`: the positions in update order with the
  fast variables' neighbour lists copied in that order, so memory is read
  sequentially (apart from the neighbours' values).
- Binary/spin variables in no table factor take a fast path: the logit
  ``bias + sum_t weight[t] * v[nbr[t]]`` (``theta`` and ``beta`` folded in
  once per parameter change by :func:`fast_parameters`) and the decision
  ``u < sigmoid(logit)``, taken by :func:`bernoulli_high` with a cheap
  polynomial ``exp`` and an exact fallback whenever the cheap value could
  decide differently, so that the result is bitwise that of ``np.exp``.
- Inside a colour class (whose variables do not interact)
  :func:`update_independent` works in blocks: logits, then all decisions in
  one branch-free loop (:func:`decide_block`), then the stores.
- Other variables (categorical, or in table factors) draw from the softmax of
  the shared :func:`pgm.inference._kernels.conditional_energies`, inlined.
- A plan whose every position is fast runs narrow kernels
  (:data:`BinaryPlan`: int8 values, int32 ids): ``binary_*`` sum the same
  logits, ``table_*`` look up an exact threshold per position type and
  neighbour pattern (:func:`high_threshold`). Both give bitwise the samples of
  the general kernels; they record samples as int8.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit, prange

from pgm._rng_kernels import bits_at, mix64, sweep_key, uniform_at
from pgm.inference._kernels import conditional_energies

# The shared primitive, compiled to be inlined into the sweep loops: a call that
# passes the KernelGraph namedtuple (16 arrays) costs more than the work itself
# (each array's reference count is touched on the way in and out).
_conditional_energies = njit(inline="always")(
    getattr(conditional_energies, "py_func", conditional_energies)  # no py_func without JIT
)

__all__ = [
    "SweepPlan",
    "mix64",
    "sweep_key",
    "site_uniform",
    "uniforms",
    "exp_neg_approx",
    "bernoulli_high_exact",
    "bernoulli_high",
    "draw_from_energies",
    "fast_parameters",
    "update_general",
    "update_positions",
    "decide_block",
    "restore_indices",
    "update_independent",
    "sweeps_by_chain",
    "sweeps_by_vertex",
    "BinaryPlan",
    "binary_positions",
    "binary_independent",
    "binary_sweeps_by_chain",
    "binary_sweeps_by_vertex",
    "high_threshold",
    "table_thresholds",
    "table_class",
    "table_sweeps_by_chain",
    "table_sweeps_by_vertex",
    "same_array",
    "group_rows",
]

#: Variables per task when one colour class is split between threads.
VERTEX_CHUNK = 1024

# The package's one counter-based generator (pgm._rng_kernels): a site's
# uniform is the stream position ``i`` of the sweep's key.
site_uniform = uniform_at


@njit(cache=True)
def uniforms(key, chain, sweep, n):
    """The uniforms ``u(key, chain, sweep, i)`` for ``i = 0..n-1``, shape (n,), float64.

    The draws the samplers use, exposed for tests of the generator.
    """
    out = np.empty(n, dtype=np.float64)
    skey = sweep_key(key, chain, sweep)
    for i in range(n):
        out[i] = site_uniform(skey, i)
    return out


# exp(-y) to a relative error < 2.7e-6 (bound used: _EXP_REL_ERR) for
# y * log2(e) < _EXP_MAX_W: 2**-w = 2**-floor(w) * 2**-frac(w), the second
# factor by a degree-4 polynomial fitted on [0, 1] (weighted least squares at
# Chebyshev nodes; the error bound is pinned by a test on a dense grid).
_LOG2E = 1.4426950408889634
_P0 = 0.9999973320084229
_P1 = -0.6930281531391977
_P2 = 0.23933169937889007
_P3 = -0.053059920781671
_P4 = 0.0067603015986231986
_EXP_MAX_W = 59.0
_EXP_REL_ERR = 1e-5
_POW2_NEG = np.array([2.0**-k for k in range(64)])


@njit(cache=True)
def exp_neg_approx(y):
    """``exp(-y)`` within relative error ``_EXP_REL_ERR`` for ``0 <= y * log2(e) <= 59``."""
    w = y * _LOG2E
    kf = np.floor(w)
    f = w - kf
    return (_P0 + f * (_P1 + f * (_P2 + f * (_P3 + f * _P4)))) * _POW2_NEG[int(kf)]


@njit(cache=True)
def bernoulli_high_exact(a, u):
    """Whether ``u < sigmoid(a)``, for a float ``a`` and ``u`` in [0, 1).

    Evaluated as ``u * (1 + t) < (1 if a >= 0 else t)`` with ``t = exp(-|a|)``
    in (0, 1], which never overflows and needs no division. ``u = 0`` gives
    True unless ``sigmoid(a)`` underflows to 0; ``u -> 1`` gives False unless
    ``sigmoid(a)`` rounds to 1.
    """
    t = np.exp(-abs(a))
    num = 1.0 if a >= 0.0 else t
    return u * (1.0 + t) < num


@njit(cache=True)
def bernoulli_high(a, u):
    """The decision of :func:`bernoulli_high_exact`, mostly without calling ``exp``.

    With ``t~ = exp_neg_approx(|a|)`` (relative error ``d <= _EXP_REL_ERR``)
    it computes ``D~ = u (1 + t~) - num(t~)``. Since ``|dD/dt| <= 1``,
    ``|D~ - D| <= d t <= 1.0001 d t~``, so when ``|D~| > 2 d t~ + 1e-14``
    (the ``1e-14`` covers rounding) the sign of ``D~`` is the sign of the
    exact expression and the decision is the exact one; otherwise (a
    fraction ~ 1e-5 of the draws, and every ``|a| >= 59 ln 2 ~ 40.9``) it falls back to
    :func:`bernoulli_high_exact`. The result is therefore bitwise that of
    the exact rule, at about a third of its cost.
    """
    y = abs(a)
    if y * _LOG2E < _EXP_MAX_W:
        t = exp_neg_approx(y)
        d = u * (1.0 + t) - (1.0 if a >= 0.0 else t)
        if abs(d) > 2.0 * _EXP_REL_ERR * t + 1e-14:
            return d < 0.0
    return bernoulli_high_exact(a, u)


@njit(cache=True)
def draw_from_energies(energies, k, beta, u):
    """Draw a state index from ``p(s) ∝ exp(-beta * energies[s])``, ``s < k``.

    Inverse-CDF on the max-shifted weights with ``u`` in [0, 1): returns the
    first ``s`` whose cumulative weight exceeds ``u * total`` (``u = 0``: the
    first state of positive weight; ``u -> 1``: the last one). ``energies``
    (float64, length >= k, finite) is overwritten with the unnormalised
    weights.
    """
    m = np.inf
    for s in range(k):
        if energies[s] < m:
            m = energies[s]
    total = 0.0
    for s in range(k):
        w = np.exp(-beta * (energies[s] - m))
        energies[s] = w
        total += w
    target = u * total
    acc = 0.0
    last = 0
    for s in range(k):
        w = energies[s]
        if w > 0.0:
            acc += w
            last = s
            if target < acc:
                return s
    return last


#: A sweep, laid out in the order it is performed (structure only; built once
#: per sampler by ``pgm.inference.gibbs``). Position ``p`` updates variable
#: ``order[p]``; positions ``class_indptr[c]:class_indptr[c+1]`` form class
#: ``c`` (a colour class, or every free variable for a sequential scan).
#: A *fast* position (a binary or spin variable in no table factor and with no
#: one-hot unary term) has low value ``low[p]`` and high-minus-low ``step[p]``
#: (1 binary, 2 spin). Its pairwise neighbours are stored in blocks of ``B``
#: consecutive positions of one class (``B = BLOCK`` for a chromatic plan,
#: 1 for a sequential one; blocks start at each class start): a block of ``m``
#: positions whose largest degree is ``d`` holds ``d * m`` entries slot-major,
#: entry ``s`` of its ``k``-th position at ``nbr_start[p] + s * m``
#: (``nbr_start[p] = block base + k``); ``degree[p] = d`` for every position of
#: the block, and entries beyond a position's own degree are padding (zero
#: weight, ``entry_pos = -1``, ``nbr`` = the variable itself). So a block's
#: logits are one vectorisable loop per slot, and with ``B = 1`` this is CSR.
#: ``param[t]`` indexes the coupling in ``theta``, ``entry_pos[t]`` the
#: position the entry belongs to.
SweepPlan = namedtuple(
    "SweepPlan",
    [
        "order", "class_indptr", "fast", "low", "step", "nbr_start", "degree", "nbr", "param",
        "entry_pos",
    ],
)  # fmt: skip


@njit(cache=True)
def fast_parameters(plan, g, theta, beta, out_bias, out_weight):
    """Fold ``theta`` and ``beta`` into the logits of the plan's fast positions.

    For fast position ``p`` (variable ``i = order[p]``) the energy difference
    between the high and the low value is
    ``-step[p] * (sum of i's value-unary theta + sum_j theta[w_ij] v_j)``, so

    ``p(high | rest) = sigmoid(out_bias[p] + sum_t out_weight[t] * v[nbr[t]])``

    over the entries ``t`` of position ``p`` (padding gets weight 0).

    Parameters
    ----------
    plan : SweepPlan
    g : KernelGraph
    theta : ndarray of shape (n_params,), float64
    beta : float
    out_bias : ndarray of shape (len(order),), float64
        Written in place (0 at positions that are not fast).
    out_weight : ndarray of shape (len(nbr),), float64
        Written in place.
    """
    for p in range(plan.order.shape[0]):
        if not plan.fast[p]:
            out_bias[p] = 0.0
            continue
        i = plan.order[p]
        b = 0.0
        for t in range(g.unary_indptr[i], g.unary_indptr[i + 1]):
            b += theta[g.unary_param[t]]
        out_bias[p] = beta * plan.step[p] * b
    for t in range(plan.nbr.shape[0]):
        p = plan.entry_pos[t]
        out_weight[t] = 0.0 if p < 0 else beta * plan.step[p] * theta[plan.param[t]]


@njit(cache=True, inline="always")
def update_general(i, x, v, g, theta, beta, u, buf):
    """Resample variable ``i`` of one chain from ``conditional_energies``, given uniform ``u``.

    Valid for any variable. Draws ``s`` by :func:`draw_from_energies` and sets
    ``x[i] = s``, ``v[i] = value of s``.

    Parameters
    ----------
    i : int
    x : ndarray of shape (n_variables,), int64
        State indices of the chain, ``x[i]`` updated in place.
    v : ndarray of shape (n_variables,), float64
        Values of the chain (consistent with ``x``), ``v[i]`` updated in place.
    g : KernelGraph
    theta : ndarray of shape (n_params,), float64
    beta : float
    u : float
        Uniform in [0, 1).
    buf : ndarray of shape (>= k_i,), float64
        Scratch space.
    """
    _conditional_energies(i, x, g, theta, buf)
    s = draw_from_energies(buf, g.cardinality[i], beta, u)
    x[i] = s
    v[i] = g.state_value[g.state_offset[i] + s]


@njit(cache=True)
def update_positions(lo, hi, x, v, g, theta, beta, plan, bias, weight, track, skey, buf):
    """Update the variables at plan positions ``lo:hi`` of one chain, in order.

    For a plan with blocks of one position (sequential). A fast position
    ``p`` takes its high value iff
    ``bernoulli_high(bias[p] + sum_t weight[t] * v[nbr[t]], u)``; any other
    goes through :func:`update_general`. Variable ``i`` uses the uniform
    ``site_uniform(skey, i)``.

    Parameters
    ----------
    lo, hi : int
    x, v : ndarray of shape (n_variables,)
        One chain's state indices (int64) and values (float64), updated in place.
    g, theta, beta
        As in :func:`update_general`.
    plan : SweepPlan
    bias, weight : ndarray, float64
        From :func:`fast_parameters` at the same ``theta`` and ``beta``.
    track : bool
        Whether fast positions also write ``x`` (needed only when a general
        variable is updated; otherwise the caller restores ``x`` from ``v``).
    skey : uint64
        The sweep's key (:func:`sweep_key`).
    buf : ndarray of shape (>= max k,), float64
        Scratch space.
    """
    order = plan.order
    fast = plan.fast
    low = plan.low
    step = plan.step
    nbr_start = plan.nbr_start
    degree = plan.degree
    nbr = plan.nbr
    for p in range(lo, hi):
        i = order[p]
        u = site_uniform(skey, i)
        if fast[p]:
            a = bias[p]
            for t in range(nbr_start[p], nbr_start[p] + degree[p]):  # blocks of 1: CSR
                a += weight[t] * v[nbr[t]]
            high = bernoulli_high(a, u)
            if track:
                x[i] = high
            v[i] = low[p] + step[p] * high
        else:
            update_general(i, x, v, g, theta, beta, u, buf)


#: Positions per block of :func:`update_independent` (three scratch buffers of this length).
BLOCK = 256


@njit(cache=True)
def decide_block(start, m, order, logits, skey, out_high, out_sure):
    """The decisions of :func:`bernoulli_high` for ``m`` positions, without branches.

    For ``k < m`` with variable ``i = order[start + k]`` and uniform
    ``u = site_uniform(skey, i)``: ``out_high[k]`` is the cheap-exp decision
    for logit ``logits[k]`` and ``out_sure[k]`` whether it is certain (then it
    equals ``bernoulli_high_exact(logits[k], u)``); the caller falls back to
    the exact rule where it is not. The same arithmetic as
    :func:`bernoulli_high`, written as one straight loop that the compiler
    can vectorise.

    Parameters
    ----------
    start, m : int
    order : ndarray, int64
    logits : ndarray of shape (>= m,), float64
    skey : uint64
    out_high, out_sure : ndarray of shape (>= m,), bool
        Written in place.
    """
    for k in range(m):
        u = site_uniform(skey, order[start + k])
        a = logits[k]
        y = abs(a)
        w_raw = y * _LOG2E
        w = min(w_raw, _EXP_MAX_W)  # keeps the table index in range; unsure beyond
        kf = np.floor(w)
        f = w - kf
        t = (_P0 + f * (_P1 + f * (_P2 + f * (_P3 + f * _P4)))) * _POW2_NEG[np.int64(kf)]
        d = u * (1.0 + t) - (1.0 if a >= 0.0 else t)
        out_sure[k] = (w_raw < _EXP_MAX_W) & (abs(d) > 2.0 * _EXP_REL_ERR * t + 1e-14)
        out_high[k] = d < 0.0


@njit(cache=True)
def update_independent(lo, hi, x, v, g, theta, beta, plan, bias, weight, track, skey, bufs):
    """As :func:`update_positions` for positions that do not interact (one colour class).

    For a plan with blocks of :data:`BLOCK` positions (chromatic), ``lo`` at a
    block start. Works block by block: all logits first (they read only
    variables outside the class, so the order of updates inside it does not
    matter), then the decisions (:func:`decide_block`), then the stores (and
    the general updates). Gives bitwise the result of
    :func:`update_positions` on the same class laid out in blocks of one.

    Parameters
    ----------
    lo, hi, x, v, g, theta, beta, plan, bias, weight, track, skey
        As in :func:`update_positions`.
    bufs : tuple of ndarray
        ``(logits float64, high bool, sure bool, energies float64)``, the
        first three of length :data:`BLOCK`, the last of length >= max k.
    """
    logits, high, sure, buf = bufs
    order = plan.order
    fast = plan.fast
    low = plan.low
    step = plan.step
    nbr = plan.nbr
    for start in range(lo, hi, BLOCK):
        m = min(BLOCK, hi - start)
        for k in range(m):
            logits[k] = bias[start + k]
        base = plan.nbr_start[start]
        for slot in range(plan.degree[start]):  # slot-major: one gather loop per slot
            offset = base + slot * m
            for k in range(m):
                logits[k] += weight[offset + k] * v[nbr[offset + k]]
        decide_block(start, m, order, logits, skey, high, sure)
        for k in range(m):
            p = start + k
            i = order[p]
            if fast[p]:
                h = high[k]
                if not sure[k]:
                    h = bernoulli_high_exact(logits[k], site_uniform(skey, i))
                if track:
                    x[i] = h
                v[i] = low[p] + step[p] * h
            else:
                update_general(i, x, v, g, theta, beta, site_uniform(skey, i), buf)


@njit(cache=True)
def _buffers(max_k):
    return (
        np.empty(BLOCK, dtype=np.float64),
        np.empty(BLOCK, dtype=np.bool_),
        np.empty(BLOCK, dtype=np.bool_),
        np.empty(max_k, dtype=np.float64),
    )


@njit(cache=True)
def _max_cardinality(g):
    max_k = 1
    for i in range(g.cardinality.shape[0]):
        if g.cardinality[i] > max_k:
            max_k = g.cardinality[i]
    return max_k


@njit(cache=True)
def restore_indices(x, v, plan):
    """Set ``x[c, i]`` from ``v[c, i]`` at the plan's fast positions (after untracked sweeps).

    ``x``: ndarray of shape (n_chains, n_variables), int64, written in place;
    ``v``: the values, float64, same shape.
    """
    for c in range(x.shape[0]):
        for p in range(plan.order.shape[0]):
            if plan.fast[p]:
                i = plan.order[p]
                x[c, i] = 1 if v[c, i] > plan.low[p] else 0


@njit(cache=True)
def _sweep_class(lo, hi, x, v, g, theta, beta, plan, bias, weight, independent, track, skey, bufs):
    if independent:
        update_independent(lo, hi, x, v, g, theta, beta, plan, bias, weight, track, skey, bufs)
    else:
        update_positions(lo, hi, x, v, g, theta, beta, plan, bias, weight, track, skey, bufs[3])


@njit(cache=True, parallel=True)
def sweeps_by_chain(
    x, v, g, theta, beta, plan, bias, weight, independent, track, key, sweep0, n_sweeps, thin, out
):  # fmt: skip
    """Run ``n_sweeps`` sweeps of every chain, chains in parallel (``prange``).

    A sweep visits the plan's positions in order, class by class. Variables
    not in the plan (clamped ones) keep their values. With ``independent``
    (a chromatic plan) each class goes through :func:`update_independent`,
    otherwise through :func:`update_positions`; the samples are the same.

    Parameters
    ----------
    x : ndarray of shape (n_chains, n_variables), int64
        State indices, updated in place (only when ``track``).
    v : ndarray of shape (n_chains, n_variables), float64
        Values, updated in place.
    g, theta, beta, plan, bias, weight, track
        As in :func:`update_positions`.
    independent : bool
        Whether no two variables of a class interact.
    key : int
        Non-negative int64 key of the counter-based generator.
    sweep0 : int
        Global number of the first sweep (the generator's sweep counter).
    n_sweeps, thin : int
        ``thin >= 1``.
    out : ndarray of shape (n_chains, n_record, n_variables), int64
        The values after sweeps ``thin, 2 thin, ...`` (``n_record`` of them,
        ``n_record * thin <= n_sweeps``) are written here.
    """
    n_chains = x.shape[0]
    n_record = out.shape[1]
    class_indptr = plan.class_indptr
    n_classes = class_indptr.shape[0] - 1
    max_k = _max_cardinality(g)
    for c in prange(n_chains):
        bufs = _buffers(max_k)
        xc = x[c]
        vc = v[c]
        r = 0
        for s in range(n_sweeps):
            skey = sweep_key(key, c, sweep0 + s)
            for col in range(n_classes):
                _sweep_class(
                    class_indptr[col], class_indptr[col + 1], xc, vc, g, theta, beta, plan,
                    bias, weight, independent, track, skey, bufs,
                )  # fmt: skip
            if r < n_record and (s + 1) % thin == 0:
                for i in range(vc.shape[0]):
                    out[c, r, i] = np.int64(vc[i])
                r += 1


@njit(cache=True, parallel=True)
def sweeps_by_vertex(
    x, v, g, theta, beta, plan, bias, weight, track, key, sweep0, n_sweeps, thin, out
):  # fmt: skip
    """As :func:`sweeps_by_chain`, with each class split between threads.

    Valid only for a chromatic plan (no two variables of a class interact),
    where it gives bitwise the output of :func:`sweeps_by_chain`: each
    update reads the same neighbours and the same uniform. Chains run one
    after another, each class in chunks of :data:`VERTEX_CHUNK` positions;
    use it when there are fewer chains than threads.
    """
    n_chains = x.shape[0]
    n_record = out.shape[1]
    class_indptr = plan.class_indptr
    n_classes = class_indptr.shape[0] - 1
    max_k = _max_cardinality(g)
    for c in range(n_chains):
        xc = x[c]
        vc = v[c]
        r = 0
        for s in range(n_sweeps):
            skey = sweep_key(key, c, sweep0 + s)
            for col in range(n_classes):
                start = class_indptr[col]
                stop = class_indptr[col + 1]
                n_chunks = (stop - start + VERTEX_CHUNK - 1) // VERTEX_CHUNK
                for chunk in prange(n_chunks):
                    bufs = _buffers(max_k)
                    lo = start + chunk * VERTEX_CHUNK
                    hi = min(stop, lo + VERTEX_CHUNK)
                    update_independent(
                        lo, hi, xc, vc, g, theta, beta, plan, bias, weight, track, skey, bufs
                    )
            if r < n_record and (s + 1) % thin == 0:
                for i in range(vc.shape[0]):
                    out[c, r, i] = np.int64(vc[i])
                r += 1


# ---------------------------------------------------------------------- binary fast path
#: The sweep of a plan whose every position is fast (an all-binary/spin pairwise
#: graph once the clamped variables are left out), with narrow arrays: the
#: positions ``order`` and neighbours ``nbr`` as int32, the low and high value
#: of each position as int8, and the chain's values as int8. Entry layout,
#: ``nbr_start``, ``degree`` and ``class_indptr`` are those of the
#: :data:`SweepPlan` it comes from, so :func:`fast_parameters` of that plan
#: gives its ``bias`` and ``weight``, and each logit is summed in the same
#: order from the same float64 terms (an int8 value converts to float64
#: exactly): the samples are bitwise those of the general kernels.
BinaryPlan = namedtuple(
    "BinaryPlan", ["order", "class_indptr", "low", "high", "nbr_start", "degree", "nbr"]
)


@njit(cache=True)
def binary_positions(lo, hi, v, plan, bias, weight, skey):
    """:func:`update_positions` on a :data:`BinaryPlan` with blocks of one (sequential).

    ``v`` : ndarray of shape (n_variables,), int8, the chain's values, in place.
    The ids are read as uint32 views (see :func:`table_class_one_type`).
    """
    order = plan.order.view(np.uint32)
    nbr = plan.nbr.view(np.uint32)
    nbr_start = plan.nbr_start
    degree = plan.degree
    for p in range(lo, hi):
        i = order[p]
        a = bias[p]
        start = nbr_start[p]
        for t in range(start, start + degree[p]):
            a += weight[t] * v[nbr[t]]
        v[i] = plan.high[p] if bernoulli_high(a, site_uniform(skey, i)) else plan.low[p]


@njit(cache=True)
def binary_independent(lo, hi, v, plan, bias, weight, skey, logits, high, sure):
    """:func:`update_independent` on a :data:`BinaryPlan` (one colour class, blocks of BLOCK).

    ``v`` : ndarray of shape (n_variables,), int8, in place; ``logits``
    (float64), ``high``, ``sure`` (bool): scratch of length :data:`BLOCK`.
    The ids are read as uint32 views (see :func:`table_class_one_type`).
    """
    order = plan.order.view(np.uint32)
    nbr = plan.nbr.view(np.uint32)
    low_value = plan.low
    high_value = plan.high
    for start in range(lo, hi, BLOCK):
        m = min(BLOCK, hi - start)
        for k in range(m):
            logits[k] = bias[start + k]
        base = plan.nbr_start[start]
        for slot in range(plan.degree[start]):
            offset = base + slot * m
            for k in range(m):
                logits[k] += weight[offset + k] * v[nbr[offset + k]]
        decide_block(start, m, order, logits, skey, high, sure)
        for k in range(m):
            p = start + k
            h = high[k]
            if not sure[k]:
                h = bernoulli_high_exact(logits[k], site_uniform(skey, order[p]))
            v[order[p]] = high_value[p] if h else low_value[p]


@njit(cache=True, parallel=True)
def binary_sweeps_by_chain(v, plan, bias, weight, independent, key, sweep0, n_sweeps, thin, out):
    """:func:`sweeps_by_chain` on a :data:`BinaryPlan`: int8 values ``v`` (n_chains, n_variables).

    ``out`` : ndarray of shape (n_chains, n_record, n_variables), int8.
    """
    n_chains = v.shape[0]
    n_record = out.shape[1]
    class_indptr = plan.class_indptr
    n_classes = class_indptr.shape[0] - 1
    for c in prange(n_chains):
        logits = np.empty(BLOCK, dtype=np.float64)
        high = np.empty(BLOCK, dtype=np.bool_)
        sure = np.empty(BLOCK, dtype=np.bool_)
        vc = v[c]
        r = 0
        for s in range(n_sweeps):
            skey = sweep_key(key, c, sweep0 + s)
            for col in range(n_classes):
                lo = class_indptr[col]
                hi = class_indptr[col + 1]
                if independent:
                    binary_independent(lo, hi, vc, plan, bias, weight, skey, logits, high, sure)
                else:
                    binary_positions(lo, hi, vc, plan, bias, weight, skey)
            if r < n_record and (s + 1) % thin == 0:
                out[c, r, :] = vc
                r += 1


@njit(cache=True, parallel=True)
def binary_sweeps_by_vertex(v, plan, bias, weight, key, sweep0, n_sweeps, thin, out):
    """:func:`sweeps_by_vertex` on a :data:`BinaryPlan` (chromatic plans only)."""
    n_chains = v.shape[0]
    n_record = out.shape[1]
    class_indptr = plan.class_indptr
    n_classes = class_indptr.shape[0] - 1
    for c in range(n_chains):
        vc = v[c]
        r = 0
        for s in range(n_sweeps):
            skey = sweep_key(key, c, sweep0 + s)
            for col in range(n_classes):
                start = class_indptr[col]
                stop = class_indptr[col + 1]
                n_chunks = (stop - start + VERTEX_CHUNK - 1) // VERTEX_CHUNK
                for chunk in prange(n_chunks):
                    logits = np.empty(BLOCK, dtype=np.float64)
                    high = np.empty(BLOCK, dtype=np.bool_)
                    sure = np.empty(BLOCK, dtype=np.bool_)
                    lo = start + chunk * VERTEX_CHUNK
                    hi = min(stop, lo + VERTEX_CHUNK)
                    binary_independent(lo, hi, vc, plan, bias, weight, skey, logits, high, sure)
            if r < n_record and (s + 1) % thin == 0:
                out[c, r, :] = vc
                r += 1


# ---------------------------------------------------------------------- lookup-table tier
#: Most neighbour slots a position may have for the lookup-table tier (a
#: table of ``2**slots`` thresholds per position type).
TABLE_MAX_SLOTS = 10
#: Most thresholds (types x patterns) in the lookup table.
TABLE_MAX_ENTRIES = 1 << 16
#: Most position types of the lookup table (they are found by linear search).
TABLE_MAX_TYPES = 64


@njit(cache=True)
def high_threshold(a):
    """The least ``u`` on the 2**-53 grid with ``not bernoulli_high_exact(a, u)`` (1.0 if none).

    ``u * (1 + t)`` rounds monotonically in ``u``, so the decision of
    :func:`bernoulli_high_exact` is ``u < high_threshold(a)`` for every grid
    ``u`` in [0, 1): a binary search over the 2**53 grid points.
    """
    lo = 0  # decision True below lo (invariant: every m < lo is True)
    hi = 1 << 53  # decision False at every m >= hi (m = 2**53 stands for u = 1)
    while lo < hi:
        mid = (lo + hi) // 2
        if bernoulli_high_exact(a, mid * 2.0**-53):
            lo = mid + 1
        else:
            hi = mid
    return lo * 2.0**-53


@njit(cache=True)
def table_thresholds(type_bias, type_weight, type_spin, out):
    """Thresholds of every position type and neighbour pattern, in place.

    For type ``q`` and pattern ``b`` (bit ``s`` = whether the neighbour in
    slot ``s`` is at its high value 1; its low value is -1 if ``type_spin[q,
    s]`` else 0) the logit is summed as the general kernels sum it,
    ``bias + w_0 * v_0 + w_1 * v_1 + ...`` in slot order, and
    ``out[q, b] = high_threshold(logit)``.

    Parameters
    ----------
    type_bias : ndarray of shape (n_types,), float64
    type_weight : ndarray of shape (n_types, n_slots), float64
        Padding slots have weight 0 (adding ``0 * v`` changes no decision).
    type_spin : ndarray of shape (n_types, n_slots), bool
    out : ndarray of shape (n_types, 2**n_slots), float64
    """
    n_types, n_slots = type_weight.shape
    for q in range(n_types):
        for b in range(out.shape[1]):
            a = type_bias[q]
            for s in range(n_slots):
                if (b >> s) & 1:
                    val = 1.0
                elif type_spin[q, s]:
                    val = -1.0
                else:
                    val = 0.0
                a += type_weight[q, s] * val
            out[q, b] = high_threshold(a)


@njit(cache=True, inline="always")
def _neighbour(i, t, nbr, n, delta):
    """Neighbour id of entry ``t`` of variable ``i``: absolute, or ``i + nbr[t]`` modulo ``n``."""
    j = np.int64(nbr[t])
    if delta:
        j += i
        if j < 0:
            j += n
        elif j >= n:
            j -= n
    return j


@njit(cache=True, inline="always")
def _pattern(v, i, start, stride, d, nbr, n, delta):
    """Bits ``v[neighbour] > 0`` of the ``d`` slots at entries ``start + s * stride``."""
    b = 0
    for s in range(d):
        j = np.int64(nbr[start + s * stride])
        if delta:
            j += i
            j = j - n if j >= n else j
            j = j + n if j < 0 else j
        b |= np.int64(v[j] > 0) << s  # no branch on a random bit
    return b


@njit(cache=True)
def table_class(lo, hi, v, plan, nbr, delta, ptype, thresholds, independent, skey):
    """Update plan positions ``lo:hi`` of one chain through the lookup table.

    Position ``p`` (variable ``i``) takes its high value iff
    ``site_uniform(skey, i) < thresholds[ptype[p], b]`` with ``b`` the
    pattern of its neighbours' bits (bit ``s`` = whether slot ``s``'s
    neighbour is at value 1, ``v > 0``), which is bitwise the decision of the
    logit kernels. With ``independent`` (a colour class in blocks of
    :data:`BLOCK`) entry ``s`` of the ``k``-th position of a block is
    ``base + s * m + k``, otherwise ``nbr_start[p] + s``. Common degrees (2,
    3, 4, 6, 8) have their own unrolled loop.

    Parameters
    ----------
    lo, hi : int
        Plan positions, ``lo`` at a block start.
    v : ndarray of shape (n_variables,), int8
        The chain's values, in place.
    plan : BinaryPlan
    nbr : ndarray, int16 or int32
        Neighbours in the plan's entry layout: offsets from the variable
        modulo ``n_variables`` (``delta``), or ids.
    delta : bool
    ptype : ndarray of shape (n_positions,), int32
    thresholds : ndarray of shape (n_types, 2**n_slots), float64
    independent : bool
    skey : uint64
    """
    order = plan.order
    low = plan.low
    high = plan.high
    n = np.int64(v.shape[0])
    p = lo
    while p < hi:
        m = min(BLOCK, hi - p) if independent else 1
        base = plan.nbr_start[p]  # position p + k starts at entry base + k
        d = plan.degree[p]  # one padded degree per block
        for k in range(m):
            q = p + k
            i = np.int64(order[q])
            t = base + k
            if d == 4:
                b = _pattern(v, i, t, m, 4, nbr, n, delta)
            elif d == 2:
                b = _pattern(v, i, t, m, 2, nbr, n, delta)
            elif d == 6:
                b = _pattern(v, i, t, m, 6, nbr, n, delta)
            elif d == 8:
                b = _pattern(v, i, t, m, 8, nbr, n, delta)
            elif d == 3:
                b = _pattern(v, i, t, m, 3, nbr, n, delta)
            else:
                b = _pattern(v, i, t, m, d, nbr, n, delta)
            h = np.int8(site_uniform(skey, i) < thresholds[ptype[q], b])
            v[i] = low[q] + h * (high[q] - low[q])
        p += m


@njit(cache=True)
def table_class_one_type(lo, hi, v, plan, row, low, span, independent, skey):
    """:func:`table_class` when every position has one type and the same two values.

    The thresholds are one row ``row`` (float64, ``2**n_slots``), the values
    ``low`` and ``low + span`` (int8 scalars), and the neighbours come from the
    plan's absolute ids: no per-position type, value or wrap look-ups, so a
    uniform lattice runs at the speed of a hand-written kernel. The decisions
    are those of :func:`table_class` (the same thresholds and uniforms).
    The ids are read as uint32 (a view): with unsigned indices numba skips the
    negative-index wrap-around test, which cost a third of the time here.
    """
    order = plan.order.view(np.uint32)  # ids are non-negative: see above
    nbr = plan.nbr.view(np.uint32)
    grid = np.empty(row.shape[0], dtype=np.uint64)  # thresholds in units of 2**-53
    for b in range(row.shape[0]):
        grid[b] = np.uint64(row[b] * 9007199254740992.0)
    p = lo
    while p < hi:
        m = min(BLOCK, hi - p) if independent else 1
        base = plan.nbr_start[p]
        d = plan.degree[p]
        if d == 4:  # lattices: one slice per neighbour slot (measured ~1.25x the slot loop)
            n0 = nbr[base : base + m]
            n1 = nbr[base + m : base + 2 * m]
            n2 = nbr[base + 2 * m : base + 3 * m]
            n3 = nbr[base + 3 * m : base + 4 * m]
            for k in range(m):
                i = order[p + k]
                b = (
                    np.int64(v[n0[k]] > 0)
                    | (np.int64(v[n1[k]] > 0) << 1)
                    | (np.int64(v[n2[k]] > 0) << 2)
                    | (np.int64(v[n3[k]] > 0) << 3)
                )
                v[i] = low + np.int8(bits_at(skey, i) < grid[b]) * span
        else:
            for k in range(m):
                i = order[p + k]
                t = base + k
                b = 0
                for s in range(d):
                    b |= np.int64(v[nbr[t + s * m]] > 0) << s
                v[i] = low + np.int8(bits_at(skey, i) < grid[b]) * span
        p += m


@njit(cache=True)
def _table_class_any(lo, hi, v, plan, nbr, delta, ptype, thresholds, one, independent, skey):
    """:func:`table_class_one_type` when ``one`` (see :func:`one_type_values`), else :func:`table_class`."""
    if one[0] != 0:
        table_class_one_type(
            lo, hi, v, plan, thresholds[0], np.int8(one[1]), np.int8(one[2]), independent, skey
        )
    else:
        table_class(lo, hi, v, plan, nbr, delta, ptype, thresholds, independent, skey)


def one_type_values(plan, thresholds) -> np.ndarray:
    """``[1, low, high - low]`` (int64) when one type and one value pair cover the plan, else zeros."""
    low, high = plan.low, plan.high
    if (
        thresholds.shape[0] == 1
        and low.shape[0] > 0
        and np.all(low == low[0])
        and np.all(high == high[0])
    ):
        return np.array([1, int(low[0]), int(high[0]) - int(low[0])], dtype=np.int64)
    return np.zeros(3, dtype=np.int64)


@njit(cache=True, parallel=True)
def table_sweeps_by_chain(
    v, plan, nbr, delta, ptype, thresholds, one, independent, key, sweep0, n_sweeps, thin, out
):  # fmt: skip
    """:func:`binary_sweeps_by_chain` through the lookup table (:func:`table_class`).

    ``one`` : ndarray of shape (3,), int64, from :func:`one_type_values`.
    """
    n_chains = v.shape[0]
    n_record = out.shape[1]
    class_indptr = plan.class_indptr
    n_classes = class_indptr.shape[0] - 1
    for c in prange(n_chains):
        vc = v[c]
        r = 0
        for s in range(n_sweeps):
            skey = sweep_key(key, c, sweep0 + s)
            for col in range(n_classes):
                _table_class_any(
                    class_indptr[col], class_indptr[col + 1], vc, plan, nbr, delta, ptype,
                    thresholds, one, independent, skey,
                )  # fmt: skip
            if r < n_record and (s + 1) % thin == 0:
                out[c, r, :] = vc
                r += 1


@njit(cache=True, parallel=True)
def table_sweeps_by_vertex(
    v, plan, nbr, delta, ptype, thresholds, one, key, sweep0, n_sweeps, thin, out
):  # fmt: skip
    """:func:`binary_sweeps_by_vertex` through the lookup table (chromatic plans only)."""
    n_chains = v.shape[0]
    n_record = out.shape[1]
    class_indptr = plan.class_indptr
    n_classes = class_indptr.shape[0] - 1
    for c in range(n_chains):
        vc = v[c]
        r = 0
        for s in range(n_sweeps):
            skey = sweep_key(key, c, sweep0 + s)
            for col in range(n_classes):
                start = class_indptr[col]
                stop = class_indptr[col + 1]
                n_chunks = (stop - start + VERTEX_CHUNK - 1) // VERTEX_CHUNK
                for chunk in prange(n_chunks):
                    lo = start + chunk * VERTEX_CHUNK
                    hi = min(stop, lo + VERTEX_CHUNK)
                    _table_class_any(
                        lo, hi, vc, plan, nbr, delta, ptype, thresholds, one, True, skey
                    )  # fmt: skip
            if r < n_record and (s + 1) % thin == 0:
                out[c, r, :] = vc
                r += 1


@njit(cache=True)
def same_array(a, b):
    """Whether float64 arrays ``a`` and ``b`` (same shape, 1-D) are equal entry by entry."""
    if a.shape[0] != b.shape[0]:
        return False
    for i in range(a.shape[0]):
        if a[i] != b[i]:
            return False
    return True


@njit(cache=True)
def group_rows(key, max_types, out_type):
    """Number the distinct rows of ``key`` in order of first appearance; -1 if over ``max_types``.

    ``key`` : ndarray of shape (n, k), float64; ``out_type`` : ndarray of
    shape (n,), int32, written in place (row ``p`` is type ``out_type[p]``;
    meaningless on -1). Each row is compared with the types found so far
    and the search stops at the first row past ``max_types``, so this costs
    O(n * n_types * k), never more than O(max_types**2 * k) on refusal.
    Entries compare with ``==`` (so -0.0 and 0.0 are one value).
    """
    n, k = key.shape
    first = np.empty(max_types, dtype=np.int64)  # a row of each type
    n_types = 0
    for p in range(n):
        found = -1
        for q in range(n_types):
            r = first[q]
            same = True
            for c in range(k):
                if key[p, c] != key[r, c]:
                    same = False
                    break
            if same:
                found = q
                break
        if found < 0:
            if n_types == max_types:
                return -1
            first[n_types] = p
            found = n_types
            n_types += 1
        out_type[p] = found
    return n_types
