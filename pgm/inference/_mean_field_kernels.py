r"""Numba kernels for naive mean-field on a compiled graph (see ``pgm.compiled``).

A fully factorised distribution ``q(x) = prod_i q_i(x_i)`` is stored as an
array ``q`` of shape (n_variables, max_cardinality), float64, with ``q[i, s]``
the probability of state index ``s`` of variable ``i`` (rows sum to 1, entries
``s >= k_i`` are 0). Every kernel takes ``g`` (a
:class:`pgm.compiled.KernelGraph`) and ``theta`` (the flat float64 parameter
vector) and performs no validation: the caller guarantees the shapes, that
``q`` holds distributions, and that ``beta > 0`` and ``0 <= damping < 1``.

The mean-field update of variable ``i`` at inverse temperature ``beta`` is

.. math::

    q_i(s) \propto \exp\bigl(-\beta\, h_i(s)\bigr), \qquad
    h_i(s) = \mathbb{E}_{q_{-i}}\bigl[E(x) \mid x_i = s\bigr] - \text{const},

where ``h_i`` (the *expected conditional energies*) keeps only the terms that
involve ``x_i``: for a pairwise term the neighbour's value is replaced by its
mean under ``q``, and for a table factor the table is averaged over the other
scope positions with product weights. The variational lower bound is

.. math::

    \log Z_\beta \ge \mathcal{L}(q) = -\beta\, \mathbb{E}_q[E(x)] + H(q),
    \qquad H(q) = -\sum_i \sum_s q_i(s) \log q_i(s)\ (0 \log 0 = 0).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from pgm.inference._kernels import log_sum_exp_neg, unary_energies

__all__ = [
    "expected_value",
    "expected_conditional_energies",
    "mean_field_update",
    "sequential_step",
    "parallel_step",
    "expected_energy",
    "entropy",
    "log_z_bound",
]


@njit(cache=True)
def expected_value(j, q, g):
    """Mean value ``sum_s q[j, s] * value(j, s)`` of variable ``j`` under ``q``.

    Parameters
    ----------
    j : int
    q : ndarray of shape (n_variables, max_k), float64
    g : KernelGraph

    Returns
    -------
    float
    """
    base = g.state_offset[j]
    m = 0.0
    for s in range(g.cardinality[j]):
        m += q[j, s] * g.state_value[base + s]
    return m


@njit(cache=True)
def _table_size(f, g):
    """Number of entries of table factor ``f`` (product of its scope's cardinalities)."""
    size = 1
    for r in range(g.scope_indptr[f], g.scope_indptr[f + 1]):
        size *= g.cardinality[g.scope[r]]
    return size


@njit(cache=True)
def expected_conditional_energies(i, q, g, theta, out):
    """Expected energy terms that involve variable ``i``, for each of its states.

    The mean-field analogue of :func:`pgm.inference._kernels.conditional_energies`:
    writes ``out[s] = E_{q_{-i}}[E(x) | x_i = s] - (terms not involving x_i)``
    for ``s = 0..k_i-1``, so the coordinate-ascent update is
    ``q_i(s) ∝ exp(-beta * out[s])``. Unary terms are as in the conditional;
    pairwise terms use the neighbour's mean value; a table factor of scope
    size ``r`` is averaged over the joint states of its other ``r - 1``
    positions weighted by the product of their marginals (cost O(table size
    · r) per factor). Row ``i`` of ``q`` is not read.

    Parameters
    ----------
    i : int
    q : ndarray of shape (n_variables, max_k), float64
        Current marginals (not modified).
    g : KernelGraph
    theta : ndarray of shape (n_params,), float64
    out : ndarray of shape (>= k_i,), float64
        Written in place (first ``k_i`` entries).
    """
    k = g.cardinality[i]
    base = g.state_offset[i]
    unary_energies(i, g, theta, out)
    field = 0.0
    for t in range(g.adj_indptr[i], g.adj_indptr[i + 1]):
        field += theta[g.adj_param[t]] * expected_value(g.adj_indices[t], q, g)
    if field != 0.0:
        for s in range(k):
            out[s] -= field * g.state_value[base + s]
    for t in range(g.incidence_indptr[i], g.incidence_indptr[i + 1]):
        f = g.incidence_factor[t]
        start = g.scope_indptr[f]
        stop = g.scope_indptr[f + 1]
        me = start + g.incidence_pos[t]
        offset = g.table_offset[f]
        stride = g.table_stride[me]
        for flat in range(_table_size(f, g)):
            # decode the row-major flat index into each position's state index
            weight = 1.0
            for r in range(start, stop):
                if r != me:
                    v = g.scope[r]
                    weight *= q[v, (flat // g.table_stride[r]) % g.cardinality[v]]
            if weight != 0.0:
                out[(flat // stride) % k] += weight * theta[offset + flat]


@njit(cache=True)
def mean_field_update(i, q, g, theta, beta, out):
    """The undamped coordinate-ascent update of variable ``i``.

    Writes ``out[s] = exp(-beta * h_i(s)) / sum_t exp(-beta * h_i(t))`` for
    ``s < k_i`` (max-shifted, so no overflow; entries may underflow to 0) and
    zeros the rest of ``out``. ``q`` is not modified.

    Parameters
    ----------
    i : int
    q : ndarray of shape (n_variables, max_k), float64
    g : KernelGraph
    theta : ndarray of shape (n_params,), float64
    beta : float
        Inverse temperature, > 0.
    out : ndarray of shape (max_k,), float64
        Written in place.
    """
    k = g.cardinality[i]
    expected_conditional_energies(i, q, g, theta, out)
    for s in range(k):
        out[s] *= beta
    log_norm = log_sum_exp_neg(out, k)
    for s in range(k):
        out[s] = np.exp(-out[s] - log_norm)
    for s in range(k, out.shape[0]):
        out[s] = 0.0


@njit(cache=True)
def sequential_step(q, free, g, theta, beta, damping, buffer):
    """One sweep of sequential coordinate ascent, in place; returns the max change.

    Variables ``free`` are updated one after another in the given order, each
    to ``(1 - damping) * update + damping * old`` where ``update`` uses the
    already-updated rows. Each coordinate update maximises the (concave in
    ``q_i``) bound over ``q_i`` and the damped row lies between the old and
    the optimal one, so the bound never decreases.

    Parameters
    ----------
    q : ndarray of shape (n_variables, max_k), float64
        Marginals; rows ``free`` are overwritten, other rows only read.
    free : ndarray of shape (n_free,), int64
        Variables to update (distinct ids).
    g : KernelGraph
    theta : ndarray of shape (n_params,), float64
    beta : float
        Inverse temperature, > 0.
    damping : float
        In ``[0, 1)``.
    buffer : ndarray of shape (max_k,), float64
        Scratch space (overwritten).

    Returns
    -------
    float
        ``max |q_new - q_old|`` over all updated entries.
    """
    change = 0.0
    for t in range(free.shape[0]):
        i = free[t]
        mean_field_update(i, q, g, theta, beta, buffer)
        for s in range(g.cardinality[i]):
            new = (1.0 - damping) * buffer[s] + damping * q[i, s]
            delta = abs(new - q[i, s])
            if delta > change:
                change = delta
            q[i, s] = new
    return change


@njit(cache=True)
def parallel_step(q, free, g, theta, beta, damping, out_q):
    """One parallel (Jacobi) sweep with damping, in place; returns the max change.

    Every variable in ``free`` is updated from the *same* old marginals, then
    ``q[i] = (1 - damping) * update_i + damping * q_old[i]``. Without damping
    parallel updates can oscillate (e.g. on strongly coupled bipartite graphs).

    Parameters
    ----------
    q : ndarray of shape (n_variables, max_k), float64
        Marginals; rows ``free`` are overwritten, other rows only read.
    free : ndarray of shape (n_free,), int64
        Variables to update (distinct ids).
    g : KernelGraph
    theta : ndarray of shape (n_params,), float64
    beta : float
        Inverse temperature, > 0.
    damping : float
        In ``[0, 1)``.
    out_q : ndarray of shape (n_variables, max_k), float64
        Scratch space for the undamped updates (rows ``free`` overwritten).

    Returns
    -------
    float
        ``max |q_new - q_old|`` over all updated entries.
    """
    for t in range(free.shape[0]):
        i = free[t]
        mean_field_update(i, q, g, theta, beta, out_q[i])
    change = 0.0
    for t in range(free.shape[0]):
        i = free[t]
        for s in range(g.cardinality[i]):
            new = (1.0 - damping) * out_q[i, s] + damping * q[i, s]
            delta = abs(new - q[i, s])
            if delta > change:
                change = delta
            q[i, s] = new
    return change


@njit(cache=True)
def expected_energy(q, g, theta):
    """``E_q[E(x)]`` under the product distribution ``q``, computed exactly.

    Parameters
    ----------
    q : ndarray of shape (n_variables, max_k), float64
    g : KernelGraph
    theta : ndarray of shape (n_params,), float64

    Returns
    -------
    float
    """
    n = g.cardinality.shape[0]
    energy = 0.0
    for i in range(n):
        mean_i = expected_value(i, q, g)
        for t in range(g.unary_indptr[i], g.unary_indptr[i + 1]):
            p = g.unary_param[t]
            if g.unary_kind[t] == 0:
                energy -= theta[p] * mean_i
            else:
                for s in range(g.cardinality[i]):
                    energy -= q[i, s] * theta[p + s]
        # each edge is stored in both rows: count it once, from its lower endpoint;
        # E_q[x_i x_j] = E_q[x_i] E_q[x_j] because q factorises and i != j
        for t in range(g.adj_indptr[i], g.adj_indptr[i + 1]):
            j = g.adj_indices[t]
            if j > i:
                energy -= theta[g.adj_param[t]] * mean_i * expected_value(j, q, g)
    for f in range(g.table_offset.shape[0]):
        start = g.scope_indptr[f]
        stop = g.scope_indptr[f + 1]
        offset = g.table_offset[f]
        for flat in range(_table_size(f, g)):
            weight = 1.0
            for r in range(start, stop):
                v = g.scope[r]
                weight *= q[v, (flat // g.table_stride[r]) % g.cardinality[v]]
            if weight != 0.0:
                energy += weight * theta[offset + flat]
    return energy


@njit(cache=True)
def entropy(q, g):
    """Entropy ``-sum_i sum_s q[i, s] log q[i, s]`` with ``0 log 0 = 0``.

    Parameters
    ----------
    q : ndarray of shape (n_variables, max_k), float64
    g : KernelGraph

    Returns
    -------
    float
    """
    h = 0.0
    for i in range(g.cardinality.shape[0]):
        for s in range(g.cardinality[i]):
            p = q[i, s]
            if p > 0.0:
                h -= p * np.log(p)
    return h


@njit(cache=True)
def log_z_bound(q, g, theta, beta):
    """Variational lower bound ``-beta * E_q[E] + H(q)`` on ``log Z_beta``.

    Parameters
    ----------
    q : ndarray of shape (n_variables, max_k), float64
    g : KernelGraph
    theta : ndarray of shape (n_params,), float64
    beta : float

    Returns
    -------
    float
    """
    return -beta * expected_energy(q, g, theta) + entropy(q, g)
