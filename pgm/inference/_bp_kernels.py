r"""Numba kernels for loopy belief propagation in log space (see ``belief_propagation``).

The factor graph BP runs on is derived from a compiled graph (``pgm.compiled``):

- every variable ``i`` carries a log unary potential ``phi[i, s]`` (minus its
  unary energies; ``-inf`` for the states a clamp rules out, and for the
  padding ``s >= k_i``);
- every distinct pair ``(a_e, b_e)`` of pairwise terms is one factor with log
  potential ``psi_e(s, t) = w_e value_a(s) value_b(t)`` (parallel edges
  between the same pair are merged, ``w_e`` summing their couplings, so that
  a tree stays a tree);
- every table factor ``f`` is one factor with log potential
  ``psi_f(x) = -theta[table_offset[f] + sum_r stride_r x_r]``.

Messages are stored factor-to-variable only, in one flat float64 array ``m``:
a *slot* is a (factor, scope position) pair, slot ``2e`` holds the message of
pair ``e`` to ``a_e``, slot ``2e + 1`` its message to ``b_e``, and slot
``2 n_pairs + r`` the message of a table factor to ``scope[r]`` (``r`` the
position in the compiled ``scope`` array). Slot ``q``'s message occupies
``m[slot_offset[q] : slot_offset[q] + k_{slot_var[q]}]`` and is kept
normalised to a maximum of 0 (finite everywhere). The log belief of a
variable is ``lb[i] = phi[i] + sum_{slots q into i} m[q]`` and the
variable-to-factor message is ``lb[i] - m[q]`` (the usual "divide out"
form, exact in log space because messages are finite).

Sum-product replaces each ``max`` below by a max-shifted log-sum-exp;
max-product keeps the ``max``. No kernel validates its input: the caller
guarantees shapes, finite potentials outside the clamped states, and that
``0 <= damping < 1``.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from pgm.inference._kernels import unary_energies

__all__ = [
    "BPGraph",
    "log_unary_potentials",
    "log_beliefs",
    "parallel_step",
    "sequential_step",
    "bethe_log_z",
    "pair_beliefs",
    "table_beliefs",
]

#: Structure arrays the BP kernels receive (all int64; built by
#: ``belief_propagation._prepare``).
BPGraph = namedtuple(
    "BPGraph",
    [
        "cardinality",  # (n,)
        "state_offset",  # (n + 1,)
        "state_value",  # (sum k,) float64
        "pair_a",  # (n_pairs,)
        "pair_b",  # (n_pairs,)
        "scope_indptr",  # (n_tables + 1,)
        "scope",  # (total scope size,)
        "table_offset",  # (n_tables,)
        "table_stride",  # (total scope size,)
        "slot_var",  # (n_slots,)
        "slot_offset",  # (n_slots + 1,)
        "var_indptr",  # (n + 1,) CSR over variables of their incoming slots
        "var_slots",  # (n_slots,)
        "frozen",  # (n,) 1 for clamped variables: no message is sent to them
    ],
)


@njit(cache=True)
def log_unary_potentials(g, theta, out):
    """Write ``-unary energy`` of every state into ``out`` (padding ``-inf``).

    Parameters
    ----------
    g : pgm.compiled.KernelGraph
    theta : ndarray of shape (n_params,), float64
    out : ndarray of shape (n_variables, max_k), float64
        Written in place.
    """
    buf = np.empty(out.shape[1])
    for i in range(out.shape[0]):
        k = g.cardinality[i]
        unary_energies(i, g, theta, buf)
        for s in range(k):
            out[i, s] = -buf[s]
        for s in range(k, out.shape[1]):
            out[i, s] = -np.inf


@njit(cache=True)
def log_beliefs(m, phi, g, out_lb):
    """``out_lb[i] = phi[i] + sum of the messages into i`` (padding stays ``-inf``).

    Parameters
    ----------
    m : ndarray of shape (slot_offset[-1],), float64
    phi : ndarray of shape (n_variables, max_k), float64
    g : BPGraph
    out_lb : ndarray of shape (n_variables, max_k), float64
        Written in place.
    """
    for i in range(phi.shape[0]):
        k = g.cardinality[i]
        for s in range(phi.shape[1]):
            out_lb[i, s] = phi[i, s]
        for t in range(g.var_indptr[i], g.var_indptr[i + 1]):
            off = g.slot_offset[g.var_slots[t]]
            for s in range(k):
                out_lb[i, s] += m[off + s]


@njit(cache=True)
def _pair_message(src, src_slot, tgt, w, lb, m, g, max_product, n_src, out):
    """Unnormalised message of a pair factor to ``tgt``, written into ``out[:k_tgt]``.

    ``out[t] = reduce_s (w value_src(s) value_tgt(t) + lb[src, s] - m[src_slot](s))``
    with reduce = max (max-product) or log-sum-exp. ``n_src`` is scratch.
    """
    ks = g.cardinality[src]
    kt = g.cardinality[tgt]
    off = g.slot_offset[src_slot]
    base_s = g.state_offset[src]
    base_t = g.state_offset[tgt]
    for s in range(ks):
        n_src[s] = lb[src, s] - m[off + s]
    for t in range(kt):
        c = w * g.state_value[base_t + t]
        best = -np.inf
        for s in range(ks):
            v = c * g.state_value[base_s + s] + n_src[s]
            if v > best:
                best = v
        if max_product:
            out[t] = best
        else:
            total = 0.0
            for s in range(ks):
                total += np.exp(c * g.state_value[base_s + s] + n_src[s] - best)
            out[t] = best + np.log(total)


@njit(cache=True)
def _table_message(f, pos, n_pairs, lb, m, g, theta, max_product, run_max, run_sum, digits, out):
    """Unnormalised message of table factor ``f`` to its scope position ``pos``.

    ``out[s] = reduce over the table entries with x_pos = s of
    (-theta[entry] + sum_{r != pos} (lb[x_r] - m[slot r](x_r)))``, one pass
    over the table in row-major order with a running (online) log-sum-exp
    per target state. The entry's digits are kept by an odometer (last axis
    fastest) rather than decoded with integer division, which dominated the
    cost. ``run_max`` and ``run_sum`` are float scratch of length >= k_target,
    ``digits`` int64 scratch of length >= 2 * scope size.
    """
    start = g.scope_indptr[f]
    r_n = g.scope_indptr[f + 1] - start
    kt = g.cardinality[g.scope[start + pos]]
    size = 1
    for q in range(r_n):
        size *= g.cardinality[g.scope[start + q]]
        digits[q] = 0
        digits[r_n + q] = g.slot_offset[2 * n_pairs + start + q]
    for s in range(kt):
        run_max[s] = -np.inf
        run_sum[s] = 0.0
    offset = g.table_offset[f]
    for flat in range(size):
        v = -theta[offset + flat]
        for q in range(r_n):
            if q != pos:
                xj = digits[q]
                v += lb[g.scope[start + q], xj] - m[digits[r_n + q] + xj]
        xt = digits[pos]
        q = r_n - 1  # advance the odometer before any `continue`
        while q >= 0:
            digits[q] += 1
            if digits[q] < g.cardinality[g.scope[start + q]]:
                break
            digits[q] = 0
            q -= 1
        if v == -np.inf:
            continue
        if max_product:
            if v > run_max[xt]:
                run_max[xt] = v
        elif v > run_max[xt]:
            run_sum[xt] = run_sum[xt] * np.exp(run_max[xt] - v) + 1.0
            run_max[xt] = v
        else:
            run_sum[xt] += np.exp(v - run_max[xt])
    for s in range(kt):
        out[s] = run_max[s] if max_product else run_max[s] + np.log(run_sum[s])


@njit(cache=True)
def _commit(new, k, m_old, off, damping, m_out, lb_row, update_lb):
    """Normalise, damp and store one message; return its largest change.

    ``new[:k]`` (unnormalised, overwritten) is shifted to maximum 0, damped
    in log space as ``(1 - damping) new + damping old`` and shifted again,
    then written to ``m_out[off:off + k]``. With ``update_lb`` the belief row
    ``lb_row`` moves by the change (sequential schedule).
    """
    top = -np.inf
    for s in range(k):
        if new[s] > top:
            top = new[s]
    for s in range(k):
        new[s] -= top
    if damping > 0.0:
        top = -np.inf
        for s in range(k):
            new[s] = (1.0 - damping) * new[s] + damping * m_old[off + s]
            if new[s] > top:
                top = new[s]
        for s in range(k):
            new[s] -= top
    change = 0.0
    for s in range(k):
        delta = new[s] - m_old[off + s]
        if abs(delta) > change:
            change = abs(delta)
        if update_lb:
            lb_row[s] += delta
        m_out[off + s] = new[s]
    return change


@njit(cache=True)
def _binary_pair_update(
    src, tgt, src_off, off, w, lb, m, state_offset, state_value, max_product, damping, m_out,
    sequential,
):  # fmt: skip
    """:func:`_pair_message` and :func:`_commit` for two 2-state variables, on scalars.

    The common case (binary and spin pairs), written without scratch arrays
    or row views: the log-sum-exp of two terms is ``max + log1p(exp(-|a -
    b|))``, one ``exp`` and one ``log1p`` per entry. Same result as the
    general path to rounding.
    """
    n0 = lb[src, 0] - m[src_off]
    n1 = lb[src, 1] - m[src_off + 1]
    v0 = state_value[state_offset[src]]
    v1 = state_value[state_offset[src] + 1]
    c0 = w * state_value[state_offset[tgt]]
    c1 = w * state_value[state_offset[tgt] + 1]
    a0 = c0 * v0 + n0
    b0 = c0 * v1 + n1
    a1 = c1 * v0 + n0
    b1 = c1 * v1 + n1
    out0 = a0 if a0 > b0 else b0
    out1 = a1 if a1 > b1 else b1
    if not max_product:
        out0 += np.log1p(np.exp(-abs(a0 - b0)))
        out1 += np.log1p(np.exp(-abs(a1 - b1)))
    top = out0 if out0 > out1 else out1
    out0 -= top
    out1 -= top
    old0 = m[off]
    old1 = m[off + 1]
    if damping > 0.0:
        out0 = (1.0 - damping) * out0 + damping * old0
        out1 = (1.0 - damping) * out1 + damping * old1
        top = out0 if out0 > out1 else out1
        out0 -= top
        out1 -= top
    if sequential:
        lb[tgt, 0] += out0 - old0
        lb[tgt, 1] += out1 - old1
    m_out[off] = out0
    m_out[off + 1] = out1
    d0 = abs(out0 - old0)
    d1 = abs(out1 - old1)
    return d0 if d0 > d1 else d1


@njit(cache=True)
def _sweep(m, m_out, lb, g, pair_weight, theta, max_product, damping, sequential, backward):
    """One pass over every factor; see :func:`parallel_step` and :func:`sequential_step`.

    Factor ``c`` of the pass is number ``c`` (pairs, then tables) or, with
    ``backward``, number ``n_factors - 1 - c``.
    """
    max_k = lb.shape[1]
    new = np.empty(max_k)
    scratch = np.empty(max_k)
    scratch2 = np.empty(max_k)
    n_pairs = g.pair_a.shape[0]
    n_tables = g.table_offset.shape[0]
    max_scope = 0
    for f in range(n_tables):
        max_scope = max(max_scope, g.scope_indptr[f + 1] - g.scope_indptr[f])
    digits = np.zeros(2 * max_scope, dtype=np.int64)
    change = 0.0
    for c in range(n_pairs + n_tables):
        e = n_pairs + n_tables - 1 - c if backward else c
        if e >= n_pairs:
            delta = _table_factor(
                e - n_pairs,
                m,
                m_out,
                lb,
                g,
                theta,
                max_product,
                damping,
                sequential,
                new,
                scratch,
                scratch2,
                digits,
            )
            if delta > change:
                change = delta
            continue
        a = g.pair_a[e]
        b = g.pair_b[e]
        w = pair_weight[e]
        # each message divides out the target's own incoming message, so the
        # order of the two updates of one factor does not matter
        for side in range(2):
            tgt = a if side == 0 else b
            src = b if side == 0 else a
            slot = 2 * e + side
            if g.frozen[tgt]:
                continue
            if g.cardinality[src] == 2 and g.cardinality[tgt] == 2:
                delta = _binary_pair_update(
                    src, tgt, g.slot_offset[2 * e + 1 - side], g.slot_offset[slot], w, lb, m,
                    g.state_offset, g.state_value, max_product, damping, m_out, sequential,
                )  # fmt: skip
                if delta > change:
                    change = delta
                continue
            _pair_message(src, 2 * e + 1 - side, tgt, w, lb, m, g, max_product, scratch, new)
            delta = _commit(
                new, g.cardinality[tgt], m, g.slot_offset[slot], damping, m_out, lb[tgt], sequential
            )
            if delta > change:
                change = delta
    return change


@njit(cache=True)
def _table_factor(
    f, m, m_out, lb, g, theta, max_product, damping, sequential, new, scratch, scratch2, digits
):
    """Send every message of table factor ``f``; return the largest change."""
    n_pairs = g.pair_a.shape[0]
    start = g.scope_indptr[f]
    change = 0.0
    for pos in range(g.scope_indptr[f + 1] - start):
        tgt = g.scope[start + pos]
        if g.frozen[tgt]:
            continue
        _table_message(
            f, pos, n_pairs, lb, m, g, theta, max_product, scratch, scratch2, digits, new
        )
        slot = 2 * n_pairs + start + pos
        delta = _commit(
            new, g.cardinality[tgt], m, g.slot_offset[slot], damping, m_out, lb[tgt], sequential
        )
        if delta > change:
            change = delta
    return change


@njit(cache=True)
def parallel_step(m, phi, g, pair_weight, theta, max_product, damping, lb, out_m):
    """One parallel (flooding) iteration; returns the largest message change.

    Every factor-to-variable message is recomputed from the beliefs of the
    previous iteration and written to ``out_m`` (messages to clamped
    variables are copied unchanged). ``m`` is only read.

    Parameters
    ----------
    m : ndarray of shape (n_message_entries,), float64
        Current messages (each normalised to maximum 0).
    phi : ndarray of shape (n_variables, max_k), float64
        Log unary potentials (``-inf`` for excluded and padding states).
    g : BPGraph
    pair_weight : ndarray of shape (n_pairs,), float64
        Merged coupling ``w_e`` of each pair factor.
    theta : ndarray of shape (n_params,), float64
        Parameters (the table factors' energies are read from it).
    max_product : bool
        Max-product instead of sum-product.
    damping : float
        In ``[0, 1)``; log-space convex combination with the old message.
    lb : ndarray of shape (n_variables, max_k), float64
        Scratch: receives the log beliefs of ``m``.
    out_m : ndarray like ``m``
        Written in place with the new messages.

    Returns
    -------
    float
        ``max |out_m - m|`` (log space).
    """
    log_beliefs(m, phi, g, lb)
    out_m[:] = m
    return _sweep(m, out_m, lb, g, pair_weight, theta, max_product, damping, False, False)


@njit(cache=True)
def sequential_step(m, phi, g, pair_weight, theta, max_product, damping, lb, backward):
    """One sequential iteration in place; returns the largest message change.

    Factors are visited in order (pairs, then table factors), or in reverse
    order with ``backward``; each sends its messages from the latest
    beliefs, and ``lb`` follows every update. Alternating the direction
    makes information cross the graph both ways in two sweeps (on a chain
    in factor order, BP is exact after one forward and one backward
    sweep). The
    beliefs are recomputed from the messages at the start of each iteration,
    which bounds the rounding drift of the running updates to one sweep.

    Parameters
    ----------
    m : ndarray of shape (n_message_entries,), float64
        Messages, updated in place.
    phi, g, pair_weight, theta, max_product, damping
        As in :func:`parallel_step`.
    lb : ndarray of shape (n_variables, max_k), float64
        Scratch: holds the log beliefs of the final messages on return.
    backward : bool
        Visit the factors in reverse order.

    Returns
    -------
    float
        Largest absolute change of a message entry (log space).
    """
    log_beliefs(m, phi, g, lb)
    return _sweep(m, m, lb, g, pair_weight, theta, max_product, damping, True, backward)


@njit(cache=True)
def _reduce_row(v, k, max_product):
    """Max (max-product) or log-sum-exp of ``v[:k]``, max-shifted."""
    top = -np.inf
    for s in range(k):
        if v[s] > top:
            top = v[s]
    if max_product or top == -np.inf:
        return top
    total = 0.0
    for s in range(k):
        total += np.exp(v[s] - top)
    return top + np.log(total)


@njit(cache=True)
def bethe_log_z(m, phi, g, pair_weight, theta):
    r"""Minus the Bethe free energy of the beliefs of ``m`` (sum-product).

    .. math::

        \log Z_{Bethe} = \sum_f \bigl(E_{b_f}[\psi_f] + H(b_f)\bigr)
            + \sum_i \bigl(E_{b_i}[\phi_i] + (1 - d_i) H(b_i)\bigr),

    ``d_i`` the number of factors containing ``i``, with ``b_f`` the factor
    beliefs ``∝ exp(psi_f + sum_{j in f} (lb_j - m_{f->j}))`` and ``b_i`` the
    normalised node beliefs. Exact (equal to ``log Z``) at the fixed point on
    a tree. For a factor, ``E[psi] + H = L_f - E_{b_f}[sum_j n_j]`` with
    ``L_f`` the log normaliser, which avoids ``log`` of zero beliefs.

    Returns
    -------
    float
    """
    n, max_k = phi.shape
    lb = np.empty((n, max_k))
    log_beliefs(m, phi, g, lb)
    total = 0.0
    for i in range(n):
        k = g.cardinality[i]
        norm = _reduce_row(lb[i], k, False)
        d = g.var_indptr[i + 1] - g.var_indptr[i]
        for s in range(k):
            if lb[i, s] > -np.inf:
                log_b = lb[i, s] - norm
                b = np.exp(log_b)
                total += b * phi[i, s] - (1.0 - d) * b * log_b
    n_pairs = g.pair_a.shape[0]
    for e in range(n_pairs):
        a = g.pair_a[e]
        b_ = g.pair_b[e]
        ka = g.cardinality[a]
        kb = g.cardinality[b_]
        oa = g.slot_offset[2 * e]
        ob = g.slot_offset[2 * e + 1]
        w = pair_weight[e]
        top = -np.inf
        for s in range(ka):
            for t in range(kb):
                v = _pair_entry(w, a, b_, s, t, oa, ob, lb, m, g)
                if v > top:
                    top = v
        z = 0.0
        acc = 0.0
        for s in range(ka):
            for t in range(kb):
                na = lb[a, s] - m[oa + s]
                nb = lb[b_, t] - m[ob + t]
                v = w * g.state_value[g.state_offset[a] + s] * g.state_value[g.state_offset[b_] + t]
                v += na + nb
                if v > -np.inf:
                    p = np.exp(v - top)
                    z += p
                    acc += p * (na + nb)
        total += top + np.log(z) - acc / z
    for f in range(g.table_offset.shape[0]):
        size = _table_size(f, g)
        offset = g.table_offset[f]
        top = -np.inf
        for flat in range(size):
            v = _table_entry(flat, f, n_pairs, lb, m, g, theta)
            if v > top:
                top = v
        z = 0.0
        acc = 0.0
        for flat in range(size):
            v = _table_entry(flat, f, n_pairs, lb, m, g, theta)
            if v > -np.inf:
                p = np.exp(v - top)
                z += p
                acc += p * (v + theta[offset + flat])  # the sum of the n_j
        total += top + np.log(z) - acc / z
    return total


@njit(cache=True, inline="always")
def _pair_entry(w, a, b, s, t, oa, ob, lb, m, g):
    """``psi_e(s, t) + n_{a->e}(s) + n_{b->e}(t)`` of pair factor ``e`` (coupling ``w``).

    ``oa``/``ob`` are the offsets of the messages ``e -> a`` and ``e -> b``.
    """
    return (
        w * g.state_value[g.state_offset[a] + s] * g.state_value[g.state_offset[b] + t]
        + lb[a, s] - m[oa + s] + lb[b, t] - m[ob + t]
    )  # fmt: skip


@njit(cache=True, inline="always")
def _table_size(f, g):
    """Number of joint states of table factor ``f``'s scope."""
    size = 1
    for r in range(g.scope_indptr[f], g.scope_indptr[f + 1]):
        size *= g.cardinality[g.scope[r]]
    return size


@njit(cache=True)
def _table_entry(flat, f, n_pairs, lb, m, g, theta):
    """``psi_f(x) + sum_j n_{j->f}(x_j)`` of the table entry ``flat`` of factor ``f``."""
    v = -theta[g.table_offset[f] + flat]
    for r in range(g.scope_indptr[f], g.scope_indptr[f + 1]):
        j = g.scope[r]
        xj = (flat // g.table_stride[r]) % g.cardinality[j]
        v += lb[j, xj] - m[g.slot_offset[2 * n_pairs + r] + xj]
    return v


@njit(cache=True)
def pair_beliefs(m, phi, g, pair_weight, max_product, out):
    """Beliefs of every pair factor, ``out[e, s, t]``, normalised (sum 1, or max 1).

    Parameters
    ----------
    m, phi, g, pair_weight, max_product
        As in :func:`parallel_step`.
    out : ndarray of shape (n_pairs, max_k, max_k), float64
        Written in place; entries beyond a variable's cardinality are 0.
    """
    n, max_k = phi.shape
    lb = np.empty((n, max_k))
    log_beliefs(m, phi, g, lb)
    row = np.empty(max_k * max_k)
    for e in range(g.pair_a.shape[0]):
        a = g.pair_a[e]
        b = g.pair_b[e]
        ka = g.cardinality[a]
        kb = g.cardinality[b]
        oa = g.slot_offset[2 * e]
        ob = g.slot_offset[2 * e + 1]
        for s in range(ka):
            for t in range(kb):
                row[s * kb + t] = _pair_entry(pair_weight[e], a, b, s, t, oa, ob, lb, m, g)
        norm = _reduce_row(row, ka * kb, max_product)
        out[e] = 0.0
        for s in range(ka):
            for t in range(kb):
                out[e, s, t] = np.exp(row[s * kb + t] - norm)


@njit(cache=True)
def table_beliefs(m, phi, g, theta, max_product, out):
    """Beliefs of every table factor, in the layout of ``theta``.

    Factor ``f``'s normalised belief (sum 1, or max 1 for max-product) is
    written to ``out[table_offset[f] : table_offset[f] + size_f]`` in the
    row-major order of its energy table; other entries are left alone.
    """
    n, max_k = phi.shape
    lb = np.empty((n, max_k))
    log_beliefs(m, phi, g, lb)
    n_pairs = g.pair_a.shape[0]
    for f in range(g.table_offset.shape[0]):
        size = _table_size(f, g)
        offset = g.table_offset[f]
        for flat in range(size):
            out[offset + flat] = _table_entry(flat, f, n_pairs, lb, m, g, theta)
        norm = _reduce_row(out[offset : offset + size], size, max_product)
        for flat in range(size):
            out[offset + flat] = np.exp(out[offset + flat] - norm)
