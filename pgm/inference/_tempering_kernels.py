"""Numba kernels for parallel tempering (see ``pgm.inference.tempering``).

Built on the Gibbs kernels of :mod:`pgm.inference._gibbs_kernels` (sweep plans,
fast-path parameters, the counter-based generator) and on the shared energy
:func:`pgm.inference._kernels.state_energy`. Replica ``r = c * T + t`` is the
configuration at temperature slot ``t`` of chain ``c``; configurations stay in
their rows and ``slot[c, t]`` names the row currently at temperature ``t``, so a
swap exchanges two integers. The Gibbs uniforms of slot ``t`` of chain ``c``
are ``u(key, c * T + t, sweep, i)``, those of the swap decisions
``u(swap_key, c, round, t)``: no stream is shared, so the output does not
depend on the thread count nor on how the sweeps are split between calls.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from pgm.inference._gibbs_kernels import (
    _buffers,
    _max_cardinality,
    _sweep_class,
    fast_parameters,
    site_uniform,
    sweep_key,
)
from pgm.inference._kernels import state_energy

__all__ = ["ladder_parameters", "swap_round", "tempering_sweeps"]


@njit(cache=True)
def ladder_parameters(plan, g, theta, betas, out_bias, out_weight):
    """:func:`fast_parameters` at every beta, into rows ``t`` of ``out_bias``, ``out_weight``."""
    for t in range(betas.shape[0]):
        fast_parameters(plan, g, theta, betas[t], out_bias[t], out_weight[t])


@njit(cache=True)
def swap_round(slot, energy, betas, swap_key, q, out_attempts, out_accepts):
    """One even-odd round ``q`` of replica exchanges in every chain (in place).

    Pairs ``(t, t + 1)`` with ``t = q % 2, q % 2 + 2, ...`` are proposed;
    the swap of configurations ``x`` (at ``beta_t``) and ``y`` (at
    ``beta_t+1``) is accepted with probability
    ``min(1, exp((beta_t+1 - beta_t) * (E(y) - E(x))))``.

    Parameters
    ----------
    slot : ndarray of shape (n_chains, T), int64
        Row of the configuration at each temperature; swapped in place.
    energy : ndarray of shape (n_chains * T,), float64
        Energy of each row.
    betas : ndarray of shape (T,), float64
    swap_key : int
        Non-negative int64 key of the swap decisions.
    q : int
        Round number (global, from 0).
    out_attempts, out_accepts : ndarray of shape (n_chains, T - 1), int64
        Counters, incremented in place.
    """
    n_chains, n_temps = slot.shape
    for c in range(n_chains):
        skey = sweep_key(swap_key, c, q)
        for t in range(q % 2, n_temps - 1, 2):
            lo = slot[c, t]
            hi = slot[c, t + 1]
            log_ratio = (betas[t + 1] - betas[t]) * (energy[hi] - energy[lo])
            out_attempts[c, t] += 1
            u = site_uniform(skey, t)
            if log_ratio >= 0.0 or u < np.exp(log_ratio):
                slot[c, t] = hi
                slot[c, t + 1] = lo
                out_accepts[c, t] += 1


@njit(cache=True, parallel=True)
def tempering_sweeps(
    x, v, g, theta, betas, plan, bias, weight, independent, key, swap_key, slot, sweep0,
    n_sweeps, swap_every, thin, out, out_attempts, out_accepts,
):  # fmt: skip
    """Run ``n_sweeps`` tempered Gibbs sweeps of every replica, with swaps.

    After global sweep ``S`` (counted from 1) with ``S % swap_every == 0``
    comes swap round ``S // swap_every - 1`` (:func:`swap_round`). Between
    swaps the replicas are independent and run in parallel (``prange``).

    Parameters
    ----------
    x, v : ndarray of shape (n_chains * T, n_variables)
        State indices (int64) and values (float64) of each row, in place.
    g, theta, plan, independent
        As in :func:`pgm.inference._gibbs_kernels.sweeps_by_chain`.
    betas : ndarray of shape (T,), float64
    bias, weight : ndarray of shape (T, ...), float64
        From :func:`ladder_parameters` at the same ``theta`` and ``betas``.
    key, swap_key : int
        Non-negative int64 keys of the Gibbs and swap uniforms.
    slot : ndarray of shape (n_chains, T), int64
        In place.
    sweep0 : int
        Global number of the first sweep.
    n_sweeps, swap_every, thin : int
        ``swap_every, thin >= 1``.
    out : ndarray of shape (n_chains, n_record, n_variables), int64
        Values at temperature slot ``T - 1`` after local sweeps ``thin, 2 thin, ...``.
    out_attempts, out_accepts : ndarray of shape (n_chains, T - 1), int64
        Swap counters, incremented in place.
    """
    n_chains, n_temps = slot.shape
    n_rows = n_chains * n_temps
    n_record = out.shape[1]
    n_var = x.shape[1]
    class_indptr = plan.class_indptr
    n_classes = class_indptr.shape[0] - 1
    max_k = _max_cardinality(g)
    energy = np.zeros(n_rows, dtype=np.float64)
    s = 0
    r = 0
    while s < n_sweeps:
        glob = sweep0 + s
        seg = min(swap_every - glob % swap_every, n_sweeps - s)
        if r < n_record:
            seg = min(seg, thin - s % thin)
        swap = (glob + seg) % swap_every == 0 and n_temps > 1
        for rep in prange(n_rows):
            c = rep // n_temps
            t = rep % n_temps
            row = slot[c, t]
            bufs = _buffers(max_k)
            xr = x[row]
            vr = v[row]
            for k in range(seg):
                skey = sweep_key(key, rep, glob + k)
                for col in range(n_classes):
                    _sweep_class(
                        class_indptr[col], class_indptr[col + 1], xr, vr, g, theta, betas[t],
                        plan, bias[t], weight[t], independent, True, skey, bufs,
                    )  # fmt: skip
            if swap:
                energy[row] = state_energy(xr, g, theta)
        s += seg
        if swap:
            q = (sweep0 + s) // swap_every - 1
            swap_round(slot, energy, betas, swap_key, q, out_attempts, out_accepts)
        if r < n_record and s % thin == 0:
            for c in range(n_chains):
                row = slot[c, n_temps - 1]
                for i in range(n_var):
                    out[c, r, i] = np.int64(v[row, i])
            r += 1
