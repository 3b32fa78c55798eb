r"""AIS for deep Boltzmann machines (Salakhutdinov & Hinton 2009, section 4).

Intermediate distributions ``p_k ∝ exp(-(1 - beta_k) E_A - beta_k E_B)`` with
the base-rate model ``E_A = -b_A . v`` (no weights, hidden units uniform,
``log Z_A = sum softplus(b_A) + n_hidden log 2``); the odd layers are summed
out analytically in the importance weights, and each temperature's
transition is one block-Gibbs sweep (odd layers, then even layers) at
``beta_k``.

Reliability: the estimate is unbiased for ``Z`` (not ``log Z``) and its band
comes from the sample variance of the weights, which is itself unreliable
when a few runs dominate. With strong weights (sharp, multimodal targets) or
few temperatures the ESS collapses; this function then warns, and the band
must not be trusted. Use many temperatures (10^4 or more for MNIST-sized
models) and check the ESS.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy.special import expit

from pgm._random import as_generator
from pgm._validation import as_float_array, check_positive_int
from pgm.inference.ais import _check_betas, _summarise

__all__ = ["log_partition"]

_LOG_2 = math.log(2.0)


def _log_f(model, layers, beta, base_bias, odd_inputs=None):
    """``log f_beta`` of the even layers with the odd layers summed out.

    ``odd_inputs`` (the odd layers' total inputs, which depend on the even
    layers only) may be passed to skip recomputing them.
    """
    out = (1.0 - beta) * (layers[0] @ base_bias)
    for l in range(0, model.n_layers, 2):
        out = out + beta * (layers[l] @ model.biases[l])
    for i, l in enumerate(range(1, model.n_layers, 2)):
        a = model.total_input(layers, l) if odd_inputs is None else odd_inputs[i]
        out = out + np.logaddexp(0.0, beta * a).sum(axis=1)
    return out


def log_partition(
    model,
    *,
    n_chains=100,
    betas=None,
    base_rate=None,
    smoothing=1.0,
    seed=None,
    min_ess_fraction=0.05,
):
    """Estimate ``log Z`` of a :class:`~pgm.layered.model.LayeredModel` by AIS.

    Parameters
    ----------
    model : LayeredModel
    n_chains : int, default 100
    betas : None, int or array_like
        As in :func:`pgm.inference.ais.log_partition`.
    base_rate : None or array_like of shape (n_samples, n_visible)
        Data whose (smoothed) visible marginals define the base model;
        ``None`` uses the target's visible biases.
    smoothing : float, default 1.0
        Pseudo-count for the data marginals.
    seed : None, int, SeedSequence or Generator
    min_ess_fraction : float, default 0.05
        Warn when ``ESS < max(min_ess_fraction * n_chains, min(3, n_chains / 2))``.

    Returns
    -------
    result : pgm.inference.ais.AISResult

    Warns
    -----
    RuntimeWarning
        When the ESS is tiny, the log weights spread over more than 50 nats,
        or a single chain leaves no variance estimate: the band is then not to be trusted.
    """
    n_chains = check_positive_int(n_chains, "n_chains")
    betas = _check_betas(betas)
    n_visible = model.sizes[0]
    if base_rate is None:
        base_bias = model.biases[0].copy()
    else:
        data = as_float_array(base_rate, "base_rate", shape=(None, n_visible))
        p = (data.sum(axis=0) + smoothing) / (data.shape[0] + 2.0 * smoothing)
        base_bias = np.log(p) - np.log1p(-p)
    rng = as_generator(seed)
    n_hidden = sum(model.sizes[1:])
    log_z_base = float(np.logaddexp(0.0, base_bias).sum()) + n_hidden * _LOG_2

    layers = [(rng.random((n_chains, n)) < 0.5).astype(np.float64) for n in model.sizes]
    layers[0] = (rng.random((n_chains, n_visible)) < expit(base_bias)).astype(np.float64)
    log_w = np.zeros(n_chains)
    odd = range(1, model.n_layers, 2)
    for k in range(1, len(betas)):
        b0, b1 = float(betas[k - 1]), float(betas[k])
        # the odd layers' inputs depend on the even layers only: one product per step
        # serves both log f terms and the odd half of the transition
        a_odd = [model.total_input(layers, l) for l in odd]
        log_w += _log_f(model, layers, b1, base_bias, a_odd) - _log_f(
            model, layers, b0, base_bias, a_odd
        )
        if k < len(betas) - 1:
            for i, l in enumerate(odd):
                p = expit(b1 * a_odd[i])
                layers[l] = (rng.random(p.shape) < p).astype(np.float64)
            for l in range(0, model.n_layers, 2):
                a = model.total_input(layers, l)
                a = (1.0 - b1) * base_bias + b1 * a if l == 0 else b1 * a
                layers[l] = (rng.random(a.shape) < expit(a)).astype(np.float64)
    result = _summarise(log_w, log_z_base, base_bias, len(betas), None)
    spread = float(np.max(log_w) - np.min(log_w))
    ess_floor = max(min_ess_fraction * n_chains, min(3.0, n_chains / 2.0))
    if n_chains == 1 or result.effective_sample_size < ess_floor or spread > 50:
        warnings.warn(
            f"AIS estimate unreliable: effective sample size {result.effective_sample_size:.1f} "
            f"of {n_chains} chains, log-weight spread {spread:.1f} nats; the +-3 sigma band "
            "cannot be trusted (use more temperatures or chains)",
            RuntimeWarning,
            stacklevel=2,
        )
    return result
