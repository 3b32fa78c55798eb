"""Numba kernels for annealed importance sampling on layered models (see ``pgm.layered.ais``).

Pure functions on float64 arrays: no validation, no Python objects, no
randomness of their own (the caller draws uniforms or normals with a
``numpy.random.Generator`` and passes them in). The kernels are serial: the
BLAS products between them already use the machine's threads, and a second
thread pool fighting BLAS for the same cores made them slower, not faster.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from pgm.layered._kernels import exp_neg_abs_into, sigmoid_into

__all__ = ["softplus", "hidden_step", "visible_step_binary"]


@njit(cache=True)
def softplus(t):
    """Return ``log(1 + exp(t))`` for a float ``t`` without overflow.

    Uses ``max(t, 0) + log1p(exp(-|t|))``: the exponent is never positive.
    """
    if t > 0.0:
        return t + np.log1p(np.exp(-t))
    return np.log1p(np.exp(t))


@njit(cache=True)
def hidden_step(pre_hidden, beta_prev, beta, uniforms, sample, out_log_weights, out_hidden):
    """Hidden-unit part of one AIS step: weight increment and, optionally, a draw of h.

    For chain ``n`` with hidden pre-activations ``x = c + v @ W`` this adds
    ``sum_j softplus(beta * x_j) - softplus(beta_prev * x_j)`` to
    ``out_log_weights[n]`` (the hidden units' share of
    ``log f_k(v) - log f_{k-1}(v)``) and, when ``sample`` is true, sets
    ``out_hidden[n, j] = 1.0 if uniforms[n, j] < sigmoid(beta * x_j) else 0.0``.

    Parameters
    ----------
    pre_hidden : ndarray of shape (n_chains, n_hidden), float64
        ``c + v @ W`` for the current visible states (target model's parameters).
    beta_prev, beta : float
        Inverse temperatures ``beta_{k-1}`` and ``beta_k``.
    uniforms : ndarray of shape (n_chains, n_hidden), float64
        Uniform draws in [0, 1); read only when ``sample`` is true.
    sample : bool
        Whether to draw the hidden states.
    out_log_weights : ndarray of shape (n_chains,), float64
        Accumulated log importance weights, updated in place.
    out_hidden : ndarray of shape (n_chains, n_hidden), float64
        Overwritten with the 0/1 hidden draws when ``sample`` is true,
        untouched otherwise.
    """
    n_chains, n_hidden = pre_hidden.shape
    t, t_prev = np.empty(n_hidden), np.empty(n_hidden)
    z, z_prev, work = np.empty(n_hidden), np.empty(n_hidden), np.empty(n_hidden)
    for n in range(n_chains):
        for j in range(n_hidden):
            x = pre_hidden[n, j]
            t[j] = beta * x
            t_prev[j] = beta_prev * x
        exp_neg_abs_into(t, z, work)  # vectorised exp(-|t|), never overflows
        exp_neg_abs_into(t_prev, z_prev, work)
        acc = 0.0
        for j in range(n_hidden):
            # softplus(t) = max(t, 0) + log1p(exp(-|t|))
            acc += (max(t[j], 0.0) + np.log1p(z[j])) - (max(t_prev[j], 0.0) + np.log1p(z_prev[j]))
            if sample:
                p = 1.0 / (1.0 + z[j]) if t[j] >= 0.0 else z[j] / (1.0 + z[j])
                out_hidden[n, j] = 1.0 if uniforms[n, j] < p else 0.0
        out_log_weights[n] += acc


@njit(cache=True)
def visible_step_binary(pre_visible, beta, bias_base, bias_target, uniforms, out_visible):
    """Draw binary visible states of the AIS intermediate model at ``beta``.

    ``out_visible[n, i] = 1.0 if uniforms[n, i] < sigmoid(t) else 0.0`` with
    ``t = (1 - beta) * bias_base[i] + beta * (bias_target[i] + pre_visible[n, i])``.

    Parameters
    ----------
    pre_visible : ndarray of shape (n_chains, n_visible), float64
        ``h @ W.T`` for the current hidden states (zeros at ``beta = 0``).
    beta : float
        Inverse temperature.
    bias_base, bias_target : ndarray of shape (n_visible,), float64
        Visible biases of the base-rate and target models.
    uniforms : ndarray of shape (n_chains, n_visible), float64
        Uniform draws in [0, 1).
    out_visible : ndarray of shape (n_chains, n_visible), float64
        Overwritten with the 0/1 draws.
    """
    n_chains, n_visible = pre_visible.shape
    t, p, work = np.empty(n_visible), np.empty(n_visible), np.empty(n_visible)
    for n in range(n_chains):
        for i in range(n_visible):
            t[i] = (1.0 - beta) * bias_base[i] + beta * (bias_target[i] + pre_visible[n, i])
        sigmoid_into(t, p, work)  # vectorised
        for i in range(n_visible):
            out_visible[n, i] = 1.0 if uniforms[n, i] < p[i] else 0.0
