"""Numba kernels for the junction tree (see :mod:`pgm.inference.junction_tree`).

Every clique ``c`` owns a dense table of log-weights over the joint states of
its (free) variables, row-major in the order of ``t.clique_vars[lo:hi]`` (the
last variable fastest), stored in one flat buffer ``beliefs`` at
``t.table_offset[c]:t.table_offset[c + 1]``. The tree is calibrated in log
space by two passes of Hugin-style message passing (Lauritzen & Spiegelhalter
1988; Koller & Friedman 2009, section 10.3): upward, each clique sends the
log-sum-exp (or max) of its table over the separator to its parent; downward,
each parent's calibrated separator minus the upward message is added to the
child. Every potential is finite (energies are finite), so the division of the
Hugin update is a subtraction of finite numbers.

Common arguments
----------------
x : ndarray of shape (n_variables,), int64
    State indices; clamped entries are read, free entries are overwritten
    (scratch).
t : TreeArrays
    The tree's structure arrays (see :func:`pgm.inference.junction_tree.build`).
g : KernelGraph
theta : ndarray of shape (n_params,), float64
beliefs : ndarray of shape (t.table_offset[-1],), float64
    Clique tables (overwritten).
sep_up : ndarray of shape (total separator size,), float64
    Upward messages (overwritten).
iwork : ndarray of shape (largest clique table,), int64
fwork, fsep : ndarray of shape (largest separator table,), float64
    Scratch.

No kernel validates its input; the junction-tree module does.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

__all__ = [
    "TreeArrays",
    "calibrate",
    "collect_moments",
    "backtrack",
    "rows_log_z",
    "rows_moments",
]

#: Term kinds in ``term_kind``/``const_kind``.
TERM_UNARY = 0
TERM_EDGE = 1
TERM_TABLE = 2

#: The structure arrays of one junction tree (all int64).
TreeArrays = namedtuple(
    "TreeArrays",
    [
        "clique_indptr",  # (n_cliques + 1,) CSR of clique_vars / clique_card
        "clique_vars",  # variable ids of each clique, table axis order
        "clique_card",  # their cardinalities
        "table_offset",  # (n_cliques + 1,) offsets of the clique tables in beliefs
        "order",  # (n_cliques,) children before parents
        "parent",  # (n_cliques,) parent clique or -1 (a root)
        "sep_offset",  # (n_cliques + 1,) offsets of upward messages in sep_up
        "child_stride",  # aligned with clique_vars: stride in the separator (0: not in it)
        "pstride",  # aligned with clique_vars of the parent: stride in the separator
        "pstride_indptr",  # (n_cliques + 1,) CSR of pstride by child clique
        "term_indptr",  # (n_cliques + 1,) CSR of the energy terms assigned to each clique
        "term_kind",
        "term_index",
        "term_stride",  # per term, aligned with its clique's vars: stride in the term's own table
        "term_stride_indptr",  # (n_terms + 1,) CSR of term_stride
        "const_kind",  # terms whose variables are all clamped
        "const_index",
        "node_indptr",  # (n_cliques + 1,) CSR of the free variables whose marginal a clique gives
        "node_var",
        "node_pos",  # position of node_var in its clique
        "clamped",  # ids of clamped variables
        "unary_var",  # (n_unary_terms,) variable of each unary term
        "edge_i",
        "edge_j",
        "edge_param",
    ],
)


@njit(cache=True, inline="always")
def _term_energy(kind, k, x, t, g, theta):
    """Energy of one term (unary term ``k``, edge ``k`` or table factor ``k``) at ``x``."""
    if kind == TERM_UNARY:
        i = t.unary_var[k]
        p = g.unary_param[k]
        if g.unary_kind[k] == 0:
            return -theta[p] * g.state_value[g.state_offset[i] + x[i]]
        return -theta[p + x[i]]
    if kind == TERM_EDGE:
        i = t.edge_i[k]
        j = t.edge_j[k]
        vi = g.state_value[g.state_offset[i] + x[i]]
        vj = g.state_value[g.state_offset[j] + x[j]]
        return -theta[t.edge_param[k]] * vi * vj
    idx = g.table_offset[k]
    for r in range(g.scope_indptr[k], g.scope_indptr[k + 1]):
        idx += g.table_stride[r] * x[g.scope[r]]
    return theta[idx]


@njit(cache=True, inline="always")
def _add_term_moment(kind, k, x, t, g, w, out_edge, out_table):
    """Add ``w`` times term ``k``'s sufficient statistic at ``x`` (edges and tables only).

    An edge adds ``w * value_i * value_j`` to ``out_edge[k]``, a table factor
    ``w`` at the ``theta`` index of its scope's joint state in ``out_table``;
    unary terms add nothing (their moments are the node marginals).
    """
    if kind == TERM_EDGE:
        i = t.edge_i[k]
        j = t.edge_j[k]
        vi = g.state_value[g.state_offset[i] + x[i]]
        vj = g.state_value[g.state_offset[j] + x[j]]
        out_edge[k] += w * vi * vj
    elif kind == TERM_TABLE:
        idx = g.table_offset[k]
        for r in range(g.scope_indptr[k], g.scope_indptr[k + 1]):
            idx += g.table_stride[r] * x[g.scope[r]]
        out_table[idx] += w


@njit(cache=True, inline="always")
def _advance(digits, card, vars_, x):
    """Row-major odometer step over a clique's states; keeps ``x[vars_]`` equal to ``digits``."""
    r = digits.shape[0] - 1
    while r >= 0:
        d = digits[r] + 1
        if d < card[r]:
            digits[r] = d
            x[vars_[r]] = d
            return
        digits[r] = 0
        x[vars_[r]] = 0
        r -= 1


@njit(cache=True)
def _sep_index(card, stride, out):
    """``out[s]`` = separator index of clique state ``s`` (``sum_r stride[r] * digit_r``)."""
    m = card.shape[0]
    digits = np.zeros(m, dtype=np.int64)
    j = 0
    for s in range(out.shape[0]):
        out[s] = j
        r = m - 1
        while r >= 0:
            digits[r] += 1
            j += stride[r]
            if digits[r] < card[r]:
                break
            j -= stride[r] * card[r]
            digits[r] = 0
            r -= 1


@njit(cache=True, inline="always")
def _child_sep_index(c, t, iwork):
    """Clique ``c``'s table range ``s0, s1`` and each state's separator entry (in ``iwork``)."""
    s0 = t.table_offset[c]
    s1 = t.table_offset[c + 1]
    idx = iwork[: s1 - s0]
    lo = t.clique_indptr[c]
    hi = t.clique_indptr[c + 1]
    _sep_index(t.clique_card[lo:hi], t.child_stride[lo:hi], idx)
    return s0, s1, idx


@njit(cache=True, inline="always")
def _parent_sep_index(c, p, t, iwork):
    """Parent ``p``'s table range and its states' entries in its separator with child ``c``."""
    p0 = t.table_offset[p]
    p1 = t.table_offset[p + 1]
    idxp = iwork[: p1 - p0]
    _sep_index(
        t.clique_card[t.clique_indptr[p] : t.clique_indptr[p + 1]],
        t.pstride[t.pstride_indptr[c] : t.pstride_indptr[c + 1]],
        idxp,
    )
    return p0, p1, idxp


@njit(cache=True)
def _fill(c, x, t, g, theta, beliefs, iwork):
    """Write clique ``c``'s log-potential ``-sum(assigned terms' energies)`` into ``beliefs``.

    Each term's energy is tabulated once over the joint states of its own free
    variables (few), then broadcast into the clique table through a stride
    map, so the cost per clique entry is one add per term.
    """
    lo = t.clique_indptr[c]
    hi = t.clique_indptr[c + 1]
    m = hi - lo
    vars_ = t.clique_vars[lo:hi]
    card = t.clique_card[lo:hi]
    start = t.table_offset[c]
    size = t.table_offset[c + 1] - start
    table = beliefs[start : start + size]
    table[:] = 0.0
    for q in range(t.term_indptr[c], t.term_indptr[c + 1]):
        stride = t.term_stride[t.term_stride_indptr[q] : t.term_stride_indptr[q + 1]]
        tsize = 1
        for r in range(m):
            if stride[r] > 0:
                tsize *= card[r]
        energies = np.empty(tsize, dtype=np.float64)
        for ts in range(tsize):
            for r in range(m):
                if stride[r] > 0:
                    x[vars_[r]] = (ts // stride[r]) % card[r]
            energies[ts] = _term_energy(t.term_kind[q], t.term_index[q], x, t, g, theta)
        if tsize == 1:
            e = energies[0]
            for s in range(size):
                table[s] -= e
            continue
        idx = iwork[:size]
        _sep_index(card, stride, idx)
        for s in range(size):
            table[s] -= energies[idx[s]]


@njit(cache=True)
def _project(table, idx, out, use_max, fwork):
    """Max or log-sum-exp of ``table`` over the states sharing a separator index ``idx``.

    ``out`` (the separator table) and ``fwork[:out.size]`` are overwritten.
    """
    m = out.shape[0]
    for j in range(m):
        out[j] = -np.inf
    for s in range(table.shape[0]):
        j = idx[s]
        if table[s] > out[j]:
            out[j] = table[s]
    if use_max:
        return
    acc = fwork[:m]
    acc[:] = 0.0
    for s in range(table.shape[0]):
        j = idx[s]
        acc[j] += np.exp(table[s] - out[j])
    for j in range(m):
        out[j] += np.log(acc[j])


@njit(cache=True)
def _reduce(table, use_max):
    """Max or log-sum-exp of a whole table."""
    top = -np.inf
    for s in range(table.shape[0]):
        if table[s] > top:
            top = table[s]
    if use_max:
        return top
    acc = 0.0
    for s in range(table.shape[0]):
        acc += np.exp(table[s] - top)
    return top + np.log(acc)


@njit(cache=True)
def calibrate(x, t, g, theta, use_max, downward, beliefs, sep_up, iwork, fwork, fsep):
    """Fill every clique's potential and pass messages; return log Z (or the max log-weight).

    Parameters
    ----------
    use_max : bool
        Max-product (semiring max, +) instead of sum-product.
    downward : bool
        Also run the downward pass (then every clique table holds the log of
        the unnormalised joint of its variables and the clamped values);
        without it only the roots are calibrated.

    Returns
    -------
    float
        ``log sum_{free} exp(-E)`` (``use_max``: ``max_{free} -E``) with the
        clamped variables held at ``x``.
    """
    n_cliques = t.parent.shape[0]
    for c in range(n_cliques):
        _fill(c, x, t, g, theta, beliefs, iwork)
    for a in range(n_cliques):
        c = t.order[a]
        p = t.parent[c]
        if p < 0:
            continue
        s0, s1, idx = _child_sep_index(c, t, iwork)
        msg = sep_up[t.sep_offset[c] : t.sep_offset[c + 1]]
        _project(beliefs[s0:s1], idx, msg, use_max, fwork)
        p0, p1, idxp = _parent_sep_index(c, p, t, iwork)
        for s in range(p1 - p0):
            beliefs[p0 + s] += msg[idxp[s]]
    log_z = 0.0
    for c in range(n_cliques):
        if t.parent[c] < 0:
            log_z += _reduce(beliefs[t.table_offset[c] : t.table_offset[c + 1]], use_max)
    for q in range(t.const_kind.shape[0]):
        log_z -= _term_energy(t.const_kind[q], t.const_index[q], x, t, g, theta)
    if downward:
        for a in range(n_cliques - 1, -1, -1):
            c = t.order[a]
            p = t.parent[c]
            if p < 0:
                continue
            msg = sep_up[t.sep_offset[c] : t.sep_offset[c + 1]]
            new = fsep[: msg.shape[0]]
            p0, p1, idxp = _parent_sep_index(c, p, t, iwork)
            _project(beliefs[p0:p1], idxp, new, use_max, fwork)
            for j in range(msg.shape[0]):
                new[j] -= msg[j]
            s0, s1, idx = _child_sep_index(c, t, iwork)
            for s in range(s1 - s0):
                beliefs[s0 + s] += new[idx[s]]
    return log_z


@njit(cache=True)
def collect_moments(x, t, g, theta, beliefs, weight, out_node, out_edge, out_table):
    """Add ``weight`` times the moments of a calibrated tree into the outputs.

    ``out_node`` (n_variables, max_k) gets ``P(x_i = s)`` (clamped variables:
    1 at their state); ``out_edge`` (n_edges,) ``E[value_i value_j]`` of each
    pairwise term; ``out_table`` (n_params,) at each table-factor entry's
    ``theta`` index the probability of that joint state of its scope. The
    outputs are added to, not overwritten.
    """
    for a in range(t.clamped.shape[0]):
        i = t.clamped[a]
        out_node[i, x[i]] += weight
    for q in range(t.const_kind.shape[0]):
        _add_term_moment(t.const_kind[q], t.const_index[q], x, t, g, weight, out_edge, out_table)
    n_cliques = t.parent.shape[0]
    for c in range(n_cliques):
        s0 = t.table_offset[c]
        s1 = t.table_offset[c + 1]
        table = beliefs[s0:s1]
        lz = _reduce(table, False)
        lo = t.clique_indptr[c]
        hi = t.clique_indptr[c + 1]
        vars_ = t.clique_vars[lo:hi]
        card = t.clique_card[lo:hi]
        digits = np.zeros(hi - lo, dtype=np.int64)
        for r in range(hi - lo):
            x[vars_[r]] = 0
        n0 = t.node_indptr[c]
        n1 = t.node_indptr[c + 1]
        t0 = t.term_indptr[c]
        t1 = t.term_indptr[c + 1]
        for s in range(s1 - s0):
            w = weight * np.exp(table[s] - lz)
            for q in range(n0, n1):
                out_node[t.node_var[q], digits[t.node_pos[q]]] += w
            for q in range(t0, t1):
                _add_term_moment(t.term_kind[q], t.term_index[q], x, t, g, w, out_edge, out_table)
            _advance(digits, card, vars_, x)


@njit(cache=True)
def backtrack(x, t, beliefs, assigned):
    """Decode a maximising state after an upward max-product pass (in place in ``x``).

    Cliques are visited parents first; each takes the first state (row-major
    order) of largest table value among those agreeing with the variables
    already decoded (by the running intersection property these are exactly
    its separator with its parent). ``assigned`` (n_variables,) bool is scratch.
    """
    assigned[:] = False
    n_cliques = t.parent.shape[0]
    for a in range(n_cliques - 1, -1, -1):
        c = t.order[a]
        s0 = t.table_offset[c]
        lo = t.clique_indptr[c]
        hi = t.clique_indptr[c + 1]
        m = hi - lo
        vars_ = t.clique_vars[lo:hi]
        card = t.clique_card[lo:hi]
        digits = np.zeros(m, dtype=np.int64)
        best = -np.inf
        best_s = -1
        for s in range(t.table_offset[c + 1] - s0):
            ok = True
            for r in range(m):
                if assigned[vars_[r]] and digits[r] != x[vars_[r]]:
                    ok = False
                    break
            if ok and (best_s < 0 or beliefs[s0 + s] > best):
                best = beliefs[s0 + s]
                best_s = s
            r = m - 1
            while r >= 0:
                digits[r] += 1
                if digits[r] < card[r]:
                    break
                digits[r] = 0
                r -= 1
        rest = best_s
        for r in range(m - 1, -1, -1):
            x[vars_[r]] = rest % card[r]
            rest //= card[r]
            assigned[vars_[r]] = True


@njit(cache=True)
def rows_log_z(rows, visible, t, g, theta, beliefs, sep_up, iwork, fwork, fsep, out_log_z):
    """``log sum_h exp(-E(v_r, h))`` for each row of visible state indices (written in place)."""
    x = np.zeros(g.cardinality.shape[0], dtype=np.int64)
    for r in range(rows.shape[0]):
        for c in range(visible.shape[0]):
            x[visible[c]] = rows[r, c]
        out_log_z[r] = calibrate(x, t, g, theta, False, False, beliefs, sep_up, iwork, fwork, fsep)


@njit(cache=True)
def rows_moments(
    rows,
    visible,
    t,
    g,
    theta,
    beliefs,
    sep_up,
    iwork,
    fwork,
    fsep,
    out_node,
    out_edge,
    out_table,
    out_log_z,
):
    """Sums over rows of the moments of ``p(h | v_r)`` (added in row order), and each row's log Z.

    ``out_node``, ``out_edge`` and ``out_table`` are overwritten with the sums
    (see :func:`collect_moments`); ``out_log_z`` (n_rows,) with each row's
    conditional log Z.
    """
    x = np.zeros(g.cardinality.shape[0], dtype=np.int64)
    out_node[:] = 0.0
    out_edge[:] = 0.0
    out_table[:] = 0.0
    for r in range(rows.shape[0]):
        for c in range(visible.shape[0]):
            x[visible[c]] = rows[r, c]
        out_log_z[r] = calibrate(x, t, g, theta, False, True, beliefs, sep_up, iwork, fwork, fsep)
        collect_moments(x, t, g, theta, beliefs, 1.0, out_node, out_edge, out_table)
