"""Shared Numba primitives on a compiled graph (see ``pgm.compiled``).

Every kernel takes ``g`` (a :class:`pgm.compiled.KernelGraph` namedtuple of
read-only structure arrays) and ``theta`` (the flat float64 parameter vector).
States are *state indices* ``x`` of shape (n_variables,), int64, with
``x[i]`` in ``0..k_i-1``. These small kernels are shared by exact
enumeration, Gibbs sampling, mean-field and pseudo-likelihood so that the
energy is written down once.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["state_energy", "unary_energies", "conditional_energies", "log_sum_exp_neg"]


@njit(cache=True)
def state_energy(x, g, theta):
    """Energy ``E(x)`` of one state.

    Parameters
    ----------
    x : ndarray of shape (n_variables,), int64
        State indices.
    g : KernelGraph
    theta : ndarray of shape (n_params,), float64

    Returns
    -------
    float
    """
    n = g.cardinality.shape[0]
    energy = 0.0
    for i in range(n):
        vi = g.state_value[g.state_offset[i] + x[i]]
        for t in range(g.unary_indptr[i], g.unary_indptr[i + 1]):
            p = g.unary_param[t]
            if g.unary_kind[t] == 0:
                energy -= theta[p] * vi
            else:
                energy -= theta[p + x[i]]
        # each edge is stored in both rows: count it once, from its lower endpoint
        for t in range(g.adj_indptr[i], g.adj_indptr[i + 1]):
            j = g.adj_indices[t]
            if j > i:
                energy -= theta[g.adj_param[t]] * vi * g.state_value[g.state_offset[j] + x[j]]
    n_factors = g.table_offset.shape[0]
    for f in range(n_factors):
        idx = g.table_offset[f]
        for r in range(g.scope_indptr[f], g.scope_indptr[f + 1]):
            idx += g.table_stride[r] * x[g.scope[r]]
        energy += theta[idx]
    return energy


@njit(cache=True)
def unary_energies(i, g, theta, out):
    """Write the unary energy of each state of variable ``i`` into ``out[:k_i]``.

    The starting point of every conditional (``conditional_energies``, and the
    expected conditionals of mean-field), which then add the neighbour terms.
    """
    k = g.cardinality[i]
    base = g.state_offset[i]
    for s in range(k):
        out[s] = 0.0
    for t in range(g.unary_indptr[i], g.unary_indptr[i + 1]):
        p = g.unary_param[t]
        if g.unary_kind[t] == 0:
            for s in range(k):
                out[s] -= theta[p] * g.state_value[base + s]
        else:
            for s in range(k):
                out[s] -= theta[p + s]


@njit(cache=True)
def conditional_energies(i, x, g, theta, out):
    """Energy terms that involve variable ``i``, for each of its states.

    Writes ``out[s] = E(x with x_i = s) - (terms not involving x_i)`` for
    ``s = 0..k_i-1``, so that ``p(x_i = s | rest) ∝ exp(-out[s])``. Cost is
    O(k_i · degree), read from the Markov blanket only.

    Parameters
    ----------
    i : int
    x : ndarray of shape (n_variables,), int64
        Current state indices (``x[i]`` itself is not read).
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
        j = g.adj_indices[t]
        field += theta[g.adj_param[t]] * g.state_value[g.state_offset[j] + x[j]]
    if field != 0.0:
        for s in range(k):
            out[s] -= field * g.state_value[base + s]
    for t in range(g.incidence_indptr[i], g.incidence_indptr[i + 1]):
        f = g.incidence_factor[t]
        pos = g.incidence_pos[t]
        start = g.scope_indptr[f]
        idx = g.table_offset[f]
        for r in range(start, g.scope_indptr[f + 1]):
            if r - start != pos:
                idx += g.table_stride[r] * x[g.scope[r]]
        stride = g.table_stride[start + pos]
        for s in range(k):
            out[s] += theta[idx + stride * s]


@njit(cache=True)
def log_sum_exp_neg(energies, k):
    """``log sum_s exp(-energies[s])`` over the first ``k`` entries, max-shifted."""
    m = np.inf
    for s in range(k):
        if energies[s] < m:
            m = energies[s]
    total = 0.0
    for s in range(k):
        total += np.exp(m - energies[s])
    return -m + np.log(total)
