r"""Annealed importance sampling for every layered model (RBM, DBM, labelled RBMs).

One engine serves them all (Salakhutdinov & Murray 2008, section 4 and
appendix; Salakhutdinov & Hinton 2009, section 4). Intermediate
distributions ``p_k ∝ exp(-(1 - beta_k) E_A - beta_k E_B)`` run from the
base-rate model ``E_A = e_0(v) - b_A . v`` (no weights, the visible unit
type's own base measure ``e_0``, hidden units uniform, so ``log Z_A = log
Z_0(b_A) + sum_l log(#states of layer l)``, e.g. ``sum softplus(b_A) +
n_hidden log 2`` for binary layers) to the target ``E_B``. The odd layers
are summed out analytically in the importance weights (their unit type's
log-partition of ``beta_k`` times their input), and each temperature's
transition is one block-Gibbs sweep at ``beta_k``: odd layers, then even
layers. The visible layer may be binary, softmax or Gaussian (``e_0`` is
the same in ``E_A`` and ``E_B``, so every intermediate stays normalisable);
hidden layers must be discrete.

Binary odd layers go through one fused Numba kernel per layer and step (the
weight increment ``sum softplus(beta_k a) - softplus(beta_{k-1} a)`` and the
Bernoulli draw in one pass over the BLAS product), binary even layers
through another (the mixed input ``(1 - beta) b_A + beta (b + input)`` and
the draw); softmax and Gaussian layers use their unit type's
``log_partition`` and ``sample``. An RBM is the two-layer case, a DBM the
general one.

Base model: the visible layer's base-rate biases come from the data's
marginals (``base_rate``) and, with ``base_hidden="mean_field"`` (the
default when data are given), the even hidden layers' from their mean-field
posteriors over the same data; without data every hidden layer starts
uniform. A uniform start can be far from the target: a DBM's top layer often
has most units off under the data, and annealing them off from
``p = 1/2`` is slow, so with a finite number of temperatures log Z comes
out far too low and the bound far too high. On a 784-500-1000 DBM trained
on MNIST (``benchmarks/bench_dbm_mnist.py``, 808 of its 1000 top units
off), 100 chains from the uniform base gave log Z 1539.4 with 20,000
temperatures, 1541.5 with 60,000 and 1547.7 with 200,000; the mean-field
base gives 1578.9 with 2,000, 1577.5 with 20,000, and 1576.8 and 1577.2
with 60,000 and two seeds (``benchmarks/dbm_log_z.py``).

Reliability: the estimate is unbiased for ``Z`` (not ``log Z``: its log is
low on average, and is above the truth by ``t`` nats with probability at
most ``exp(-t)``), and its band comes from the sample variance of the
weights, which is itself unreliable when a few runs dominate. With strong
weights (sharp, multimodal targets), few temperatures or a poor base the ESS
collapses; this function then warns, and the band must not be trusted. Use
many temperatures (10^4 or more for MNIST-sized models), check the ESS, and
check that log Z no longer moves when the number of temperatures grows (a
784-500 RBM trained by CD-1 gets an ESS of 62/100 from 14,500;
``docs/benchmarks/rbm_mnist_loglik.md``).
"""

from __future__ import annotations

import numpy as np

from pgm._random import as_generator
from pgm._validation import as_float_array, check_positive_float, check_positive_int
from pgm.inference.ais import _check_betas, _summarise, check_ess_fraction, warn_if_unreliable
from pgm.layered import _ais_kernels as _k

__all__ = ["log_partition", "base_biases"]


def _smoothed_log_frequencies(units, means, smoothing):
    """Natural parameters of the smoothed column frequencies of ``means`` (rows in [0, 1]).

    Softmax: log group frequencies of ``sum_n x_ni + smoothing``; binary: log-odds of
    ``p = (sum_n x_ni + smoothing) / (n_samples + 2 smoothing)``.
    """
    counts = means.sum(axis=0) + smoothing
    if units.name == "softmax":
        groups = counts.reshape(-1, units.k)
        return np.log(groups / groups.sum(axis=1, keepdims=True)).ravel()
    p = counts / (means.shape[0] + 2.0 * smoothing)
    return np.log(p) - np.log1p(-p)


def base_biases(units, visible_bias, base_rate=None, given=None, smoothing=1.0):
    """The base-rate model's visible biases ``b_A`` (natural parameters of the visible units).

    Parameters
    ----------
    units : unit type of the visible layer (``pgm.layered.units``)
    visible_bias : ndarray of shape (n_visible,)
        The target's visible biases (the base when nothing else is given).
    base_rate : None or array_like
        Data of shape (n_samples, n_visible), whose ``smoothing``-smoothed
        marginals define ``b_A``: binary log-odds
        ``log(p / (1 - p))`` with ``p = (sum_n x_ni + smoothing) /
        (n_samples + 2 smoothing)`` (values in [0, 1]); softmax log group
        frequencies (one-hot rows); Gaussian the data mean (``b_A = mean /
        sigma^2``). Binary units also take probabilities of shape
        (n_visible,), each strictly inside (0, 1).
    given : None or array_like of shape (n_visible,)
        ``b_A`` itself (exclusive with ``base_rate``).
    smoothing : float
        Pseudo-count, already checked positive.
    """
    n_visible = visible_bias.shape[0]
    if base_rate is not None and given is not None:
        raise ValueError("give at most one of base_rate and base_visible_bias, got both")
    if given is not None:
        return as_float_array(given, "base_visible_bias", shape=(n_visible,))
    if base_rate is None:
        return visible_bias.copy()
    arr = as_float_array(base_rate, "base_rate", copy=False)
    if arr.ndim == 2:
        if arr.shape[1] != n_visible or arr.shape[0] == 0:
            raise ValueError(
                f"base_rate given as data must have shape (n_samples >= 1, {n_visible}) "
                f"= (n_samples, n_visible); got {arr.shape}"
            )
        if units.name == "gaussian":
            return arr.mean(axis=0) / units.sigma**2
        if units.name == "softmax":
            units.check(arr, "base_rate")
        elif np.any(arr < 0.0) or np.any(arr > 1.0):
            raise ValueError("base_rate given as data must hold values in [0, 1]")
        return _smoothed_log_frequencies(units, arr, smoothing)
    if arr.ndim == 1:
        if units.name != "binary":
            raise ValueError(
                "base_rate as a 1-d array of probabilities applies to binary visible units "
                f"only; pass {units.name} base biases as base_visible_bias"
            )
        if arr.shape != (n_visible,):
            raise ValueError(
                f"base_rate given as probabilities must have shape ({n_visible},) "
                f"= (n_visible,); got {arr.shape}"
            )
        if np.any(arr <= 0.0) or np.any(arr >= 1.0):
            raise ValueError(
                "base_rate given as probabilities must lie strictly inside (0, 1); got "
                f"values in [{arr.min()!r}, {arr.max()!r}]"
            )
        return np.log(arr) - np.log1p(-arr)
    raise ValueError(
        "base_rate must be data of shape (n_samples, n_visible) or probabilities of shape "
        f"(n_visible,); got shape {arr.shape}"
    )


class _Annealer:
    """Chains, buffers and the two half-sweeps of AIS on one layered model."""

    def __init__(self, model, n_chains, base, rng):
        self.model, self.rng = model, rng
        self.L = model.n_layers
        self.weights_t = [np.ascontiguousarray(w.T) for w in model.weights]
        self.base = base
        self.states = [np.zeros((n_chains, n)) for n in model.sizes]
        self.inputs = [np.zeros((n_chains, n)) for n in model.sizes]
        self.noise = [np.empty((n_chains, n)) for n in model.sizes]
        # the even layers' d log f / d beta: h_l . (b_l - b_A,l)
        self.bias_delta = {l: model.biases[l] - base[l] for l in range(0, self.L, 2)}

    def odd_inputs(self):
        """``a_l = h_{l-1} W_{l-1} (+ h_{l+1} W_l^T) + b_l`` of every odd layer, in place."""
        m, h = self.model, self.states
        for l in range(1, self.L, 2):
            a = self.inputs[l]
            np.matmul(h[l - 1], m.weights[l - 1], out=a)
            if l + 1 < self.L:
                a += h[l + 1] @ self.weights_t[l]
            a += m.biases[l]

    def anneal_odd(self, beta_prev, beta, sample, log_w):
        """Add the odd layers' ``log f_beta - log f_beta_prev`` to ``log_w``; draw them at beta."""
        m = self.model
        for l in range(1, self.L, 2):
            units, a = m.units[l], self.inputs[l]
            if units.name == "binary":
                if sample:
                    self.rng.random(out=self.noise[l])
                _k.hidden_step(a, beta_prev, beta, self.noise[l], sample, log_w, self.states[l])
            else:
                log_w += units.log_partition(beta * a) - units.log_partition(beta_prev * a)
                if sample:
                    self.states[l] = units.sample(beta * a, self.rng)

    def even_linear(self):
        """``sum_{even l} h_l.(b_l - b_A,l)``, the even layers' ``d log f / d beta``."""
        h = self.states
        out = h[0] @ self.bias_delta[0]
        for l in range(2, self.L, 2):
            out = out + h[l] @ self.bias_delta[l]
        return out

    def sample_even(self, beta):
        """Draw the even layers from ``p_beta`` given the odd ones (input (1-beta) b_A + beta a)."""
        m, h = self.model, self.states
        for l in range(0, self.L, 2):
            pre = self.inputs[l]
            if l + 1 < self.L:
                np.matmul(h[l + 1], self.weights_t[l], out=pre)
                if l > 0:
                    pre += h[l - 1] @ m.weights[l - 1]
            else:
                np.matmul(h[l - 1], m.weights[l - 1], out=pre)
            units = m.units[l]
            if units.name == "binary":
                self.rng.random(out=self.noise[l])
                _k.visible_step_binary(pre, beta, self.base[l], m.biases[l], self.noise[l], h[l])
            else:
                a = (1.0 - beta) * self.base[l] + beta * (m.biases[l] + pre)
                h[l] = units.sample(a, self.rng)


def _hidden_base(model, base_hidden, base_rate, smoothing, max_rows=10_000):
    """The base model's biases of the hidden layers, nonzero only on even layers.

    ``"mean_field"``: the smoothed means of the even layers' mean-field
    posteriors over the ``base_rate`` data (at most ``max_rows`` rows, evenly
    spaced), as ``base_biases`` turns data into visible biases.
    """
    if base_hidden not in ("auto", "uniform", "mean_field"):
        raise ValueError(
            f"base_hidden must be 'auto', 'uniform' or 'mean_field', got {base_hidden!r}"
        )
    base = [np.zeros(n) for n in model.sizes[1:]]
    has_data = base_rate is not None and np.ndim(base_rate) == 2
    if base_hidden == "auto":
        base_hidden = "mean_field" if has_data else "uniform"
    if base_hidden == "uniform" or model.n_layers < 3:
        return base
    if not has_data:
        raise ValueError(
            "base_hidden='mean_field' needs base_rate given as data of shape "
            "(n_samples, n_visible): their mean-field posteriors set the even hidden layers' base"
        )
    data = np.asarray(base_rate, dtype=np.float64)
    data = data[:: -(-data.shape[0] // max_rows)]
    mu, _, _ = model.mean_field(data, max_iter=100)
    for l in range(2, model.n_layers, 2):
        base[l - 1] = _smoothed_log_frequencies(model.units[l], mu[l], smoothing)
    return base


def log_partition(
    model,
    *,
    n_chains=100,
    betas=None,
    base_rate=None,
    base_visible_bias=None,
    base_hidden="auto",
    smoothing=1.0,
    seed=None,
    return_chains=False,
    verbose=False,
    min_ess_fraction=0.05,
):
    """Estimate ``log Z`` of a :class:`~pgm.layered.model.LayeredModel` by AIS.

    Parameters
    ----------
    model : LayeredModel
        Hidden layers must be discrete (binary or softmax).
    n_chains : int, default 100
        Independent annealing runs.
    betas : None, int or array_like
        As in :func:`pgm.inference.ais.log_partition` (``None``: the paper's
        14,501 temperatures).
    base_rate, base_visible_bias : None or array_like
        Where the base model's visible biases come from (at most one; see
        :func:`base_biases`); neither: the target's own visible biases.
    base_hidden : {"auto", "uniform", "mean_field"}, default "auto"
        The base model of the even hidden layers (``h_2``, ``h_4``, ...; the
        odd ones are summed out). ``"uniform"``: every state equally likely.
        ``"mean_field"``: factorial with the smoothed means of their
        mean-field posteriors over the ``base_rate`` data (at most 10,000
        rows, evenly spaced), so the annealing starts where the data put
        those layers; it needs ``base_rate`` as data. ``"auto"``:
        ``"mean_field"`` when ``base_rate`` is data, else ``"uniform"``.
        RBMs have no even hidden layer, and the option does not touch them.
    smoothing : float, default 1.0
        Pseudo-count for the data marginals; positive.
    seed : None, int, SeedSequence or Generator
    return_chains : bool, default False
        Keep the final visible states in ``AISResult.chains``.
    verbose : bool, default False
        A tqdm progress bar over the temperatures.
    min_ess_fraction : float, default 0.05
        Passed to :func:`pgm.inference.ais.warn_if_unreliable`.

    Returns
    -------
    result : pgm.inference.ais.AISResult
        ``log_weights`` and ``log_z_base`` in the layered engine's energy
        (Gaussian visible units: ``|v|^2 / (2 sigma^2) - b.v``).

    Raises
    ------
    ValueError
        If a hidden layer is Gaussian (its quadratic term would be annealed
        away at ``beta = 0``), or on bad ``base_rate``, ``betas``,
        ``n_chains``, ``smoothing``, ``base_hidden``.

    Warns
    -----
    RuntimeWarning
        When the band cannot be trusted (see
        :func:`pgm.inference.ais.warn_if_unreliable`).
    """
    n_chains = check_positive_int(n_chains, "n_chains")
    betas = _check_betas(betas)
    smoothing = check_positive_float(smoothing, "smoothing")
    check_ess_fraction(min_ess_fraction)
    for l in range(1, model.n_layers):
        if not model.units[l].discrete:
            raise ValueError(
                f"model: hidden layer {l} is Gaussian; AIS here needs discrete hidden layers"
            )
    base_bias = base_biases(
        model.units[0], model.biases[0], base_rate, base_visible_bias, smoothing
    )
    base = [base_bias] + _hidden_base(model, base_hidden, base_rate, smoothing)
    rng = as_generator(seed)
    log_z_base = 0.0
    for l in range(model.n_layers):
        if l % 2 == 0:  # factorial with biases base[l] (uniform where they are zero)
            log_z_base += float(model.units[l].log_partition(base[l][None])[0])
        else:  # absent from E_A: every state counts once
            log_z_base += model.units[l].log_n_states(model.sizes[l])
    chains = _Annealer(model, n_chains, base, rng)
    chains.sample_even(0.0)  # the even layers ~ p_A (the odd ones are still 0)
    log_w = np.zeros(n_chains)
    n_steps = len(betas) - 1
    steps = range(1, n_steps + 1)
    if verbose:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc="AIS", unit="beta", mininterval=0.5)
    for k in steps:
        beta_prev, beta = float(betas[k - 1]), float(betas[k])
        sample = k < n_steps
        log_w += (beta - beta_prev) * chains.even_linear()
        chains.odd_inputs()  # they depend on the even layers only
        chains.anneal_odd(beta_prev, beta, sample, log_w)
        if sample:
            chains.sample_even(beta)
    result = _summarise(
        log_w, log_z_base, base_bias, len(betas), chains.states[0].copy() if return_chains else None
    )
    warn_if_unreliable(result, min_ess_fraction)
    return result
