r"""AIS for deep Boltzmann machines (Salakhutdinov & Hinton 2009, section 4).

Intermediate distributions ``p_k ∝ exp(-(1 - beta_k) E_A - beta_k E_B)`` with
the base-rate model ``E_A = e_0(v) - b_A . v`` (no weights, the visible unit
type's own base measure, hidden units uniform, ``log Z_A = log Z_0(b_A) +
sum_l log(#states of layer l)``, e.g. ``sum softplus(b_A) + n_hidden log 2``
for binary layers); the odd layers are summed out analytically in the
importance weights (their unit type's log-partition), and each temperature's
transition is one block-Gibbs sweep (odd layers, then even layers) at
``beta_k``. The visible layer may be binary, softmax or Gaussian (the
quadratic term ``e_0`` is the same in ``E_A`` and ``E_B``, so every
intermediate stays normalisable); hidden layers must be discrete.

Reliability: the estimate is unbiased for ``Z`` (not ``log Z``) and its band
comes from the sample variance of the weights, which is itself unreliable
when a few runs dominate. With strong weights (sharp, multimodal targets) or
few temperatures the ESS collapses; this function then warns, and the band
must not be trusted. Use many temperatures (10^4 or more for MNIST-sized
models) and check the ESS.
"""

from __future__ import annotations

import numpy as np

from pgm._random import as_generator
from pgm._validation import as_float_array, check_positive_int
from pgm.inference.ais import _check_betas, _summarise, check_ess_fraction, warn_if_unreliable

__all__ = ["log_partition"]


def _log_f(model, layers, beta, base_bias, odd_inputs=None):
    """``log f_beta`` of the even layers with the odd layers summed out.

    The visible base measure ``e_0(v)`` is left out: it is the same in every
    ``f_beta`` and cancels in the importance weights. ``odd_inputs`` (the odd
    layers' total inputs, which depend on the even layers only) may be passed
    to skip recomputing them.
    """
    out = (1.0 - beta) * (layers[0] @ base_bias)
    for l in range(0, model.n_layers, 2):
        out = out + beta * (layers[l] @ model.biases[l])
    for i, l in enumerate(range(1, model.n_layers, 2)):
        a = model.total_input(layers, l) if odd_inputs is None else odd_inputs[i]
        out = out + model.units[l].log_partition(beta * a)
    return out


def _base_bias(model, base_rate, smoothing):
    """The base model's visible biases: the target's, or matched to data means."""
    units = model.units[0]
    n_visible = model.sizes[0]
    if base_rate is None:
        return model.biases[0].copy()
    data = as_float_array(base_rate, "base_rate", shape=(None, n_visible))
    if data.shape[0] == 0:
        raise ValueError("base_rate must hold at least one row, got 0")
    if units.name == "gaussian":
        # N(sigma^2 b, sigma^2) with the data's mean
        return data.mean(axis=0) / units.sigma**2
    units.check(data, "base_rate")
    counts = data.sum(axis=0) + smoothing
    if units.name == "softmax":
        groups = counts.reshape(-1, units.k)
        return np.log(groups / groups.sum(axis=1, keepdims=True)).ravel()
    p = counts / (data.shape[0] + 2.0 * smoothing)
    return np.log(p) - np.log1p(-p)


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
        Data whose (smoothed) visible marginals define the base model
        (binary: log-odds; softmax: log group frequencies; Gaussian: the mean
        ``sigma^2 b_A`` set to the data mean); ``None`` uses the target's
        visible biases.
    smoothing : float, default 1.0
        Pseudo-count for the data marginals.
    seed : None, int, SeedSequence or Generator
    min_ess_fraction : float, default 0.05
        Passed to :func:`pgm.inference.ais.warn_if_unreliable`.

    Returns
    -------
    result : pgm.inference.ais.AISResult

    Raises
    ------
    ValueError
        If a hidden layer is Gaussian (its quadratic term would be annealed
        away at ``beta = 0``), or on bad ``base_rate``, ``betas``, ``n_chains``.

    Warns
    -----
    RuntimeWarning
        When the band cannot be trusted (see
        :func:`pgm.inference.ais.warn_if_unreliable`).
    """
    n_chains = check_positive_int(n_chains, "n_chains")
    betas = _check_betas(betas)
    check_ess_fraction(min_ess_fraction)
    for l in range(1, model.n_layers):
        if not model.units[l].discrete:
            raise ValueError(
                f"model: hidden layer {l} is Gaussian; AIS here needs discrete hidden layers"
            )
    n_visible = model.sizes[0]
    base_bias = _base_bias(model, base_rate, smoothing)
    rng = as_generator(seed)
    log_z_base = float(model.units[0].log_partition(base_bias[None])[0]) + sum(
        model.units[l].log_n_states(model.sizes[l]) for l in range(1, model.n_layers)
    )

    layers = [u.init(rng, n_chains, n) for u, n in zip(model.units, model.sizes, strict=True)]
    layers[0] = model.units[0].sample(np.broadcast_to(base_bias, (n_chains, n_visible)), rng)
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
                layers[l] = model.units[l].sample(b1 * a_odd[i], rng)
            for l in range(0, model.n_layers, 2):
                a = model.total_input(layers, l)
                a = (1.0 - b1) * base_bias + b1 * a if l == 0 else b1 * a
                layers[l] = model.units[l].sample(a, rng)
    result = _summarise(log_w, log_z_base, base_bias, len(betas), None)
    warn_if_unreliable(result, min_ess_fraction)
    return result
