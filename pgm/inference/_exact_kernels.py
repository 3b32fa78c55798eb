"""Numba kernels for exact enumeration (see :mod:`pgm.inference.exact`).

States are visited in reflected mixed-radix Gray-code order (Knuth, TAOCP
vol. 4A, section 7.2.1.1, Algorithm H): each step changes one free
variable's state index by +1 or -1, so the energy is updated from that
variable's Markov blanket only. The full energy is recomputed every
``chunk`` states to bound the drift of the running sum.

Weights ``exp(shift - E)`` are accumulated against a reference energy
``shift`` that is lowered (and every running accumulator rescaled) only when
a state's energy falls more than ``_SLACK`` below it, so no weight exceeds
``exp(_SLACK)`` and none of the accumulators can overflow, while the
rescaling branch is almost never taken. ``log Z = -shift + log(total)``.

Common arguments
----------------
free : ndarray of shape (n_free,), int64
    Ids of the enumerated variables; all others keep their entry of ``x``.
x : ndarray of shape (n_variables,), int64
    State indices. On entry the free entries must be 0 (the Gray code's first
    state); on exit they are the Gray code's last state. Mutated.
g : KernelGraph
theta : ndarray of shape (n_params,), float64
chunk : int
    Number of states between two full energy recomputations (>= 1).

No kernel validates its input; the public functions in
:mod:`pgm.inference.exact` do.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from pgm.inference._kernels import state_energy

__all__ = [
    "gray_init",
    "enumerate_log_z",
    "enumerate_moments",
    "rows_log_z",
    "rows_moments",
    "enumerate_min",
]

#: Largest log-weight ``shift - E`` tolerated before the reference is lowered.
#: ``2**62 * exp(600) < exp(650)``, far below the float64 limit ``exp(709)``.
_SLACK = 600.0


@njit(cache=True)
def gray_init(radix, out_digits, out_focus, out_direction):
    """Initialise Algorithm H for radices ``radix`` (all >= 2).

    Parameters
    ----------
    radix : ndarray of shape (n,), int64
    out_digits : ndarray of shape (n,), int64
        Set to 0 (the first state).
    out_focus : ndarray of shape (n + 1,), int64
        Focus pointers, set to ``0..n``.
    out_direction : ndarray of shape (n,), int64
        Set to +1.
    """
    n = radix.shape[0]
    for j in range(n):
        out_digits[j] = 0
        out_focus[j] = j
        out_direction[j] = 1
    out_focus[n] = n


@njit(cache=True)
def _fields(free, val, g, theta, out_field):
    """Recompute the value-linear local field of each free variable.

    ``out_field[a] = sum(value-unary biases of i) + sum_j w_ij * val[j]`` for
    ``i = free[a]``, so that the pairwise and value-unary energy terms of
    ``i`` are ``-out_field[a] * val[i]``.
    """
    for a in range(free.shape[0]):
        i = free[a]
        field = 0.0
        for t in range(g.unary_indptr[i], g.unary_indptr[i + 1]):
            if g.unary_kind[t] == 0:
                field += theta[g.unary_param[t]]
        for t in range(g.adj_indptr[i], g.adj_indptr[i + 1]):
            field += theta[g.adj_param[t]] * val[g.adj_indices[t]]
        out_field[a] = field


@njit(cache=True)
def _start(free, x, g, theta):
    """Set up an enumeration of ``free`` from state ``x`` (free entries 0).

    Returns
    -------
    val : ndarray of shape (n_variables,), float64
        Current values.
    field : ndarray of shape (n_free,), float64
        Local fields of the free variables (see :func:`_fields`).
    coupling : ndarray of shape (n_free, n_free), float64
        Dense sum of pairwise weights between free variables (zero diagonal),
        so a field update is one contiguous, vectorisable row.
    fidx : ndarray of shape (n_factors,), int64
        Current ``theta`` index of each table factor's entry.
    extra : ndarray of shape (n_free,), bool
        Whether the variable has one-hot unary terms or table factors.
    radix, digits, focus, direction : ndarray, int64
        Algorithm H's state (see :func:`gray_init`).
    """
    n = x.shape[0]
    nf = free.shape[0]
    val = np.empty(n, dtype=np.float64)
    for i in range(n):
        val[i] = g.state_value[g.state_offset[i] + x[i]]
    field = np.empty(nf, dtype=np.float64)
    _fields(free, val, g, theta, field)
    position = np.full(n, -1, dtype=np.int64)
    for a in range(nf):
        position[free[a]] = a
    coupling = np.zeros((nf, nf), dtype=np.float64)
    extra = np.zeros(nf, dtype=np.bool_)
    for a in range(nf):
        i = free[a]
        for t in range(g.adj_indptr[i], g.adj_indptr[i + 1]):
            b = position[g.adj_indices[t]]
            if b >= 0:
                coupling[a, b] += theta[g.adj_param[t]]
        for t in range(g.unary_indptr[i], g.unary_indptr[i + 1]):
            if g.unary_kind[t] != 0:
                extra[a] = True
        if g.incidence_indptr[i + 1] > g.incidence_indptr[i]:
            extra[a] = True
    n_factors = g.table_offset.shape[0]
    fidx = np.empty(n_factors, dtype=np.int64)
    for f in range(n_factors):
        idx = g.table_offset[f]
        for r in range(g.scope_indptr[f], g.scope_indptr[f + 1]):
            idx += g.table_stride[r] * x[g.scope[r]]
        fidx[f] = idx
    radix = np.empty(nf, dtype=np.int64)
    for a in range(nf):
        radix[a] = g.cardinality[free[a]]
    digits = np.empty(nf, dtype=np.int64)
    focus = np.empty(nf + 1, dtype=np.int64)
    direction = np.empty(nf, dtype=np.int64)
    gray_init(radix, digits, focus, direction)
    return val, field, coupling, fidx, extra, radix, digits, focus, direction


@njit(cache=True, inline="always")
def _extra_delta(i, old, new, g, theta, fidx):
    """Energy change of ``i``'s one-hot unary terms and table factors.

    Moves each of ``i``'s table factors' ``theta`` index (``fidx``, in place)
    from state ``old`` to ``new`` of ``i``.
    """
    delta = 0.0
    for t in range(g.unary_indptr[i], g.unary_indptr[i + 1]):
        if g.unary_kind[t] != 0:
            p = g.unary_param[t]
            delta -= theta[p + new] - theta[p + old]
    for t in range(g.incidence_indptr[i], g.incidence_indptr[i + 1]):
        f = g.incidence_factor[t]
        idx_old = fidx[f]
        idx_new = idx_old + g.table_stride[g.scope_indptr[f] + g.incidence_pos[t]] * (new - old)
        delta += theta[idx_new] - theta[idx_old]
        fidx[f] = idx_new
    return delta


@njit(cache=True)
def _enumerate(
    free,
    x,
    g,
    theta,
    chunk,
    edge_i,
    edge_j,
    pairs,
    want_node,
    want_edges,
    want_tables,
    want_min,
    out_node,
    out_edge,
    out_table,
    out_pair,
    out_best,
):
    """The one enumeration loop behind every public kernel of this module.

    Visits every joint state of ``free`` (others clamped at ``x``) in
    reflected mixed-radix Gray order and returns ``(shift, total, best)``
    with ``log Z = -shift + log(total)`` and ``best`` the lowest energy seen.
    Accumulates *unnormalised* weights ``exp(shift - E)`` into ``out_node``
    (shape (n_free, max_k), indexed by position in ``free``), ``out_edge``,
    ``out_table`` and ``out_pair`` when asked (see
    :func:`enumerate_moments`; all must be zero on entry), and copies the
    first lowest-energy state into ``out_best`` when ``want_min``.

    Algorithm H (Knuth, TAOCP 7.2.1.1, loopless reflected mixed-radix Gray
    code) is written out inline here: as a call it costs about as much as the
    rest of the loop.
    """
    nf = free.shape[0]
    n_edges = edge_i.shape[0]
    n_factors = g.table_offset.shape[0]
    n_pairs = pairs.shape[0]
    val, field, coupling, fidx, extra, radix, digits, focus, direction = _start(free, x, g, theta)
    energy = state_energy(x, g, theta)
    shift = energy
    total = 0.0
    best = np.inf
    countdown = chunk
    accumulate = want_node or want_edges or want_tables or want_min or n_pairs > 0
    while True:
        # ---- visit the current state
        d = shift - energy
        if d > _SLACK:
            scale = np.exp(energy - shift)
            total *= scale
            out_node *= scale
            out_edge *= scale
            out_table *= scale
            out_pair *= scale
            shift = energy
            d = 0.0
        w = np.exp(d)
        total += w
        if accumulate:  # one predictable branch keeps the log Z loop lean
            if want_node:
                for a in range(nf):
                    out_node[a, digits[a]] += w
            if want_edges:
                for e in range(n_edges):
                    out_edge[e] += w * val[edge_i[e]] * val[edge_j[e]]
            if want_tables:
                for f in range(n_factors):
                    out_table[fidx[f]] += w
            for q in range(n_pairs):
                out_pair[q, x[pairs[q, 0]], x[pairs[q, 1]]] += w
            if want_min and energy < best:
                best = energy
                out_best[:] = x
        # ---- Algorithm H, steps H3-H5: position j moves by direction[j]
        j = focus[0]
        focus[0] = 0
        if j == nf:
            break
        new = digits[j] + direction[j]
        digits[j] = new
        if new == 0 or new == radix[j] - 1:
            direction[j] = -direction[j]
            focus[j] = focus[j + 1]
            focus[j + 1] = j + 1
        # ---- energy update from the Markov blanket of i = free[j]
        i = free[j]
        old = x[i]
        value = g.state_value[g.state_offset[i] + new]
        dv = value - val[i]
        x[i] = new
        val[i] = value
        delta = -dv * field[j]
        if extra[j]:
            delta += _extra_delta(i, old, new, g, theta, fidx)
        countdown -= 1
        if countdown == 0:
            # full recomputation bounds the drift of the running sums
            _fields(free, val, g, theta, field)
            energy = state_energy(x, g, theta)
            countdown = chunk
        else:
            for b in range(nf):
                field[b] += coupling[j, b] * dv
            energy += delta
    return shift, total, best


@njit(cache=True)
def enumerate_log_z(free, x, g, theta, chunk):
    """``log sum exp(-E)`` over all joint states of the free variables.

    The loop of :func:`_enumerate` without accumulators: written out on its
    own because the accumulator branches cost a third of the log Z time
    (benchmarks/bench_exact.py).

    Returns
    -------
    float
        ``log Z`` of the free variables with the others clamped at ``x``.
    """
    nf = free.shape[0]
    val, field, coupling, fidx, extra, radix, digits, focus, direction = _start(free, x, g, theta)
    energy = state_energy(x, g, theta)
    shift = energy
    total = 0.0
    countdown = chunk
    while True:
        d = shift - energy
        if d > _SLACK:
            total *= np.exp(energy - shift)
            shift = energy
            d = 0.0
        total += np.exp(d)
        j = focus[0]
        focus[0] = 0
        if j == nf:
            break
        new = digits[j] + direction[j]
        digits[j] = new
        if new == 0 or new == radix[j] - 1:
            direction[j] = -direction[j]
            focus[j] = focus[j + 1]
            focus[j + 1] = j + 1
        i = free[j]
        old = x[i]
        value = g.state_value[g.state_offset[i] + new]
        dv = value - val[i]
        x[i] = new
        val[i] = value
        delta = -dv * field[j]
        if extra[j]:
            delta += _extra_delta(i, old, new, g, theta, fidx)
        countdown -= 1
        if countdown == 0:
            _fields(free, val, g, theta, field)
            energy = state_energy(x, g, theta)
            countdown = chunk
        else:
            for b in range(nf):
                field[b] += coupling[j, b] * dv
            energy += delta
    return -shift + np.log(total)


@njit(cache=True)
def enumerate_moments(
    free,
    x,
    g,
    theta,
    chunk,
    edge_i,
    edge_j,
    pairs,
    want_edges,
    want_tables,
    out_node,
    out_edge,
    out_table,
    out_pair,
):
    """Normalised moments of ``p(free | clamped)`` in one enumeration.

    Parameters
    ----------
    free, x, g, theta, chunk
        See the module docstring.
    edge_i, edge_j : ndarray of shape (n_edges,), int64
        Endpoints of the pairwise terms (``CompiledGraph.edge_i/edge_j``).
    pairs : ndarray of shape (n_pairs, 2), int64
        Variable pairs whose joint distribution is wanted (may be empty).
    want_edges, want_tables : bool
        Whether to accumulate ``out_edge`` and ``out_table``.
    out_node : ndarray of shape (n_variables, max_k), float64
        Set to ``P(x_i = s)`` (a clamped variable: 1 at its state).
    out_edge : ndarray of shape (n_edges,), float64
        Set to ``E[value_i * value_j]`` per pairwise term when ``want_edges``.
    out_table : ndarray of shape (n_params,), float64
        At each table-factor entry's ``theta`` index, the probability that the
        factor's scope is in that joint state, when ``want_tables``; other
        entries 0.
    out_pair : ndarray of shape (n_pairs, max_k, max_k), float64
        Joint distribution of each pair's state indices.

    Every ``out_*`` array is overwritten.

    Returns
    -------
    float
        ``log Z`` of the free variables given the clamped ones.
    """
    n = x.shape[0]
    nf = free.shape[0]
    out_edge[:] = 0.0
    out_table[:] = 0.0
    out_pair[:] = 0.0
    node = np.zeros((nf, out_node.shape[1]), dtype=np.float64)
    shift, total, _ = _enumerate(
        free,
        x,
        g,
        theta,
        chunk,
        edge_i,
        edge_j,
        pairs,
        True,
        want_edges,
        want_tables,
        False,
        node,
        out_edge,
        out_table,
        out_pair,
        np.zeros(0, dtype=np.int64),
    )
    inv = 1.0 / total
    out_node[:] = 0.0
    for i in range(n):
        out_node[i, x[i]] = 1.0  # clamped variables; free rows are overwritten next
    for a in range(nf):
        for s in range(out_node.shape[1]):
            out_node[free[a], s] = node[a, s] * inv
    out_edge *= inv
    out_table *= inv
    out_pair *= inv
    return -shift + np.log(total)


@njit(cache=True)
def enumerate_min(free, x, g, theta, chunk, out_best):
    """A lowest-energy state of the free variables (the first met in Gray order).

    ``out_best`` (shape (n_variables,), int64) receives its state indices;
    returns its energy as accumulated (callers may recompute it exactly).
    """
    i64 = np.zeros(0, dtype=np.int64)
    f1 = np.zeros(0, dtype=np.float64)
    _, _, best = _enumerate(
        free,
        x,
        g,
        theta,
        chunk,
        i64,
        i64,
        np.zeros((0, 2), dtype=np.int64),
        False,
        False,
        False,
        True,
        np.zeros((0, 0), dtype=np.float64),
        f1,
        f1,
        np.zeros((0, 0, 0), dtype=np.float64),
        out_best,
    )
    return best


@njit(cache=True)
def rows_log_z(rows, visible, free, g, theta, chunk, out_log_z):
    """``log sum_h exp(-E(v_r, h))`` for each data row.

    Parameters
    ----------
    rows : ndarray of shape (n_rows, n_visible), int64
        State indices of the visible variables.
    visible : ndarray of shape (n_visible,), int64
    free : ndarray of shape (n_hidden,), int64
        The hidden variables (every id not in ``visible``).
    g, theta, chunk
        See the module docstring.
    out_log_z : ndarray of shape (n_rows,), float64
        Written in place.
    """
    x = np.zeros(g.cardinality.shape[0], dtype=np.int64)
    for r in range(rows.shape[0]):
        for c in range(visible.shape[0]):
            x[visible[c]] = rows[r, c]
        for a in range(free.shape[0]):
            x[free[a]] = 0
        out_log_z[r] = enumerate_log_z(free, x, g, theta, chunk)


@njit(cache=True)
def rows_moments(
    rows, visible, free, g, theta, chunk, edge_i, edge_j, out_node, out_edge, out_table, out_log_z
):
    """Sums over rows of the moments of ``p(h | v_r)``, and each row's ``log Z``.

    Accumulates ``sum_r`` of the normalised node, edge and table moments of
    :func:`enumerate_moments` (clamped visible variables included) into
    ``out_node``, ``out_edge`` and ``out_table`` (overwritten), and writes
    each row's conditional ``log Z`` into ``out_log_z`` (shape (n_rows,)).
    Rows are summed in order, so the result does not depend on threading.
    """
    x = np.zeros(g.cardinality.shape[0], dtype=np.int64)
    node = np.empty_like(out_node)
    edge = np.empty_like(out_edge)
    table = np.empty_like(out_table)
    pairs = np.zeros((0, 2), dtype=np.int64)
    pair = np.zeros((0, out_node.shape[1], out_node.shape[1]), dtype=np.float64)
    out_node[:] = 0.0
    out_edge[:] = 0.0
    out_table[:] = 0.0
    for r in range(rows.shape[0]):
        for c in range(visible.shape[0]):
            x[visible[c]] = rows[r, c]
        for a in range(free.shape[0]):
            x[free[a]] = 0
        out_log_z[r] = enumerate_moments(
            free, x, g, theta, chunk, edge_i, edge_j, pairs, True, True, node, edge, table, pair
        )
        out_node += node
        out_edge += edge
        out_table += table
