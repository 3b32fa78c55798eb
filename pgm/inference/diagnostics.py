"""MCMC convergence diagnostics: autocorrelation, effective sample size, split-R-hat.

All functions take ``draws`` of shape ``(n_chains, n_samples)`` for one scalar
statistic, or ``(n_chains, n_samples, n_stats)`` for several at once (the
per-statistic results then come back as arrays of shape ``(n_stats,)``). A
statistic can be anything computed from the sampled states: a variable's
value, the energy, a sufficient statistic. For ``gibbs.sample`` output of
shape ``(n_chains, n_samples, n_variables)`` this means the states can be
passed as they are.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
from numpy.typing import ArrayLike, NDArray

from pgm._validation import as_float_array

__all__ = ["autocorrelation", "effective_sample_size", "split_rhat"]

_MIN_SAMPLES = 4


def _check_draws(draws, name: str = "draws") -> tuple[np.ndarray, bool]:
    """Return draws as float64 of shape (n_stats, n_chains, n_samples).

    The flag says whether the input had a statistics axis (3-D).
    """
    arr = as_float_array(draws, name)
    if arr.ndim not in (2, 3):
        hint = " (for a single chain pass draws[None, :])" if arr.ndim == 1 else ""
        raise ValueError(
            f"{name} must have shape (n_chains, n_samples) or "
            f"(n_chains, n_samples, n_stats), got {arr.shape}{hint}"
        )
    n_chains, n_samples = arr.shape[:2]
    if n_chains < 1:
        raise ValueError(f"{name} must hold at least 1 chain, got shape {arr.shape}")
    if n_samples < _MIN_SAMPLES:
        raise ValueError(
            f"{name} must hold at least {_MIN_SAMPLES} samples per chain (axis 1), got {n_samples}"
        )
    if arr.ndim == 3 and arr.shape[2] < 1:
        raise ValueError(f"{name} must hold at least 1 statistic (axis 2), got {arr.shape}")
    has_stats = arr.ndim == 3
    stacked = np.moveaxis(arr, 2, 0) if has_stats else arr[None]
    return _rescaled(np.ascontiguousarray(stacked), axes=(1, 2)), has_stats


def _rescaled(x: np.ndarray, axes: tuple) -> np.ndarray:
    """``x`` times a power of two per slice, so each slice's largest magnitude lies in [0.5, 1).

    Every diagnostic here is invariant to the scale of the draws, but their
    squares and products overflow near 1e154 (and underflow near 1e-154).
    A power of two changes no digit, so ordinary draws give bit-identical
    results.
    """
    peak = np.max(np.abs(x), axis=axes, keepdims=True) if x.size else np.ones((1,) * x.ndim)
    _, exponent = np.frexp(np.where(peak > 0, peak, 1.0))
    return np.ldexp(x, -exponent)


def _split_chains(x: np.ndarray) -> np.ndarray:
    """Split each chain into its first and second half (middle draw dropped if odd).

    ``x`` has shape (..., n_chains, n_samples); the result (..., 2 n_chains, n_samples // 2).
    """
    half = x.shape[-1] // 2
    return np.concatenate([x[..., :half], x[..., x.shape[-1] - half :]], axis=-2)


def _centre(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Means and deviations along the last axis, exactly 0 for constant rows.

    The floating-point mean of n equal values can differ from them in the
    last bit (e.g. 1000 copies of 1/3), which would give a constant chain a
    tiny spurious variance; constant rows are therefore detected explicitly.
    """
    constant = np.ptp(x, axis=-1) == 0
    mean = np.where(constant, x[..., 0], x.mean(axis=-1))
    centred = np.where(constant[..., None], 0.0, x - mean[..., None])
    return mean, centred


def _var(x: np.ndarray, ddof: int) -> np.ndarray:
    """Variance along the last axis, exactly 0 for constant rows."""
    _, centred = _centre(x)
    return np.einsum("...i,...i->...", centred, centred) / (x.shape[-1] - ddof)


def _autocovariance(x: np.ndarray) -> np.ndarray:
    """Biased autocovariance along the last axis via FFT.

    ``acov[..., t] = sum_{i < n - t} (x_i - mean)(x_{i+t} - mean) / n`` for
    t = 0 .. n-1, the estimator of Geyer (1992) used by Stan. Zero padding to
    at least 2n makes the circular correlation of the FFT a linear one.
    """
    n = x.shape[-1]
    _, centred = _centre(x)
    n_fft = scipy.fft.next_fast_len(2 * n, real=True)
    spectrum = scipy.fft.rfft(centred, n=n_fft, axis=-1)
    acov = scipy.fft.irfft(spectrum * np.conj(spectrum), n=n_fft, axis=-1)[..., :n]
    return acov / n


def autocorrelation(x: ArrayLike) -> NDArray[np.float64]:
    """Sample autocorrelation of a series at every lag, computed by FFT.

    Parameters
    ----------
    x : array_like of shape (..., n_samples)
        One series, or a batch of series along the last axis (e.g. draws of
        shape (n_chains, n_samples)). At least 2 samples; finite values.

    Returns
    -------
    rho : ndarray of shape (..., n_samples), dtype float64
        ``rho[..., t] = acov[t] / acov[0]`` with the biased autocovariance
        ``acov[t] = (1/n) sum_{i<n-t} (x_i - xbar)(x_{i+t} - xbar)``, so
        ``rho[..., 0] == 1``. A constant series has no defined
        autocorrelation: its row is NaN, deliberately and without a warning.

    Raises
    ------
    ValueError
        If ``x`` is 0-dimensional, has fewer than 2 samples, or holds NaN or
        infinite values.

    Notes
    -----
    The biased (1/n) normalisation keeps the sequence positive semi-definite,
    which Geyer's initial-sequence estimators rely on.

    References
    ----------
    C. J. Geyer, "Practical Markov chain Monte Carlo", Statistical Science
    7(4), 1992, section 3.3.

    Examples
    --------
    >>> autocorrelation([1.0, 2.0, 1.0, 2.0]).round(3)
    array([ 1.  , -0.75,  0.5 , -0.25])
    """
    arr = as_float_array(x, "x")
    if arr.ndim == 0 or arr.shape[-1] < 2:
        raise ValueError(f"x must hold at least 2 samples along its last axis, got {arr.shape}")
    acov = _autocovariance(_rescaled(arr, axes=(-1,)))
    var = acov[..., :1]
    # acov[0] == 0 exactly only for a constant series (then every lag is 0/0).
    return np.divide(acov, var, out=np.full_like(acov, np.nan), where=var > 0)


def _ess_one(acov: np.ndarray, chain_mean: np.ndarray) -> float:
    """Geyer initial-monotone-sequence ESS for one statistic.

    ``acov`` has shape (n_chains, n_samples) (biased autocovariances per
    chain), ``chain_mean`` shape (n_chains,). Follows Stan's
    ``compute_effective_sample_size`` (Vehtari et al. 2021, section 3.2).
    """
    m, n = acov.shape
    chain_var = acov[:, 0] * n / (n - 1.0)
    mean_var = chain_var.mean()  # W
    var_plus = mean_var * (n - 1.0) / n  # (n-1)/n W + B/n, eq. (3)
    if m > 1:
        var_plus += _var(chain_mean, ddof=1)  # B/n
    if not var_plus > 0:
        return float("nan")  # every draw equal: the variance is 0, ESS undefined
    mean_acov = acov.mean(axis=0)
    # rho_t = 1 - (W - mean_chains(acov_t)) / var_plus, eq. (10)
    rho = 1.0 - (mean_var - mean_acov) / var_plus
    rho_hat = np.zeros(n)
    rho_hat[0] = 1.0
    rho_even, rho_odd = 1.0, rho[1]
    rho_hat[1] = rho_odd
    # Geyer's initial positive sequence: sum pairs while their sum is positive.
    t = 1
    while t < n - 3 and rho_even + rho_odd > 0.0:
        rho_even, rho_odd = rho[t + 1], rho[t + 2]
        if rho_even + rho_odd >= 0.0:
            rho_hat[t + 1], rho_hat[t + 2] = rho_even, rho_odd
        t += 2
    max_t = t - 2
    if rho_even > 0.0:  # improves the estimate of the tail (Stan)
        rho_hat[max_t + 1] = rho_even
    # Geyer's initial monotone sequence: pair sums must not increase.
    t = 1
    while t <= max_t - 2:
        if rho_hat[t + 1] + rho_hat[t + 2] > rho_hat[t - 1] + rho_hat[t]:
            rho_hat[t + 1] = rho_hat[t + 2] = (rho_hat[t - 1] + rho_hat[t]) / 2.0
        t += 2
    n_total = m * n
    tau = -1.0 + 2.0 * rho_hat[: max_t + 1].sum() + rho_hat[max_t + 1]
    # Safety bound from Stan: ESS at most n_total * log10(n_total).
    tau = max(tau, 1.0 / np.log10(n_total))
    return float(n_total / tau)


def effective_sample_size(draws: ArrayLike, *, split: bool = True) -> float | NDArray[np.float64]:
    """Effective sample size of MCMC draws, combined across chains.

    Parameters
    ----------
    draws : array_like of shape (n_chains, n_samples) or (n_chains, n_samples, n_stats)
        Draws of one scalar statistic per chain (or of ``n_stats`` statistics).
        At least 4 samples per chain; NaN and infinite values are rejected.
    split : bool, default True
        Split each chain into halves first (Vehtari et al. 2021), so that a
        trend within a chain lowers the ESS. With ``split=False`` the chains
        are used whole; a single chain is allowed either way.

    Returns
    -------
    ess : float or ndarray of shape (n_stats,)
        Estimated number of independent draws with the same Monte Carlo
        variance for the mean. Can exceed ``n_chains * n_samples`` for
        antithetic chains (bounded by ``n log10 n``). NaN, deliberately and
        without a warning, for a statistic whose draws are all equal (zero
        variance: the ESS is undefined).

    Raises
    ------
    ValueError
        If ``draws`` is not 2- or 3-dimensional, has fewer than 4 samples per
        chain, or holds NaN or infinite values.

    Notes
    -----
    This is the "bulk" ESS of Vehtari et al. (2021) without the rank
    normalisation (Stan's ``ess`` on raw draws). With ``M`` chains of ``N``
    draws, within-chain variance ``W``, between-chain variance ``B`` and
    ``var+ = (N-1)/N W + B/N``, the combined autocorrelation at lag t is
    ``rho_t = 1 - (W - mean_m acov_{m,t}) / var+``; autocovariances come from
    the FFT. Geyer's initial monotone sequence truncates and smooths the sum
    ``tau = -1 + 2 sum_t rho_t`` and ``ESS = M N / tau``.

    References
    ----------
    A. Vehtari, A. Gelman, D. Simpson, B. Carpenter, P.-C. Bürkner,
    "Rank-normalization, folding, and localization: an improved R-hat for
    assessing convergence of MCMC", Bayesian Analysis 16(2), 2021,
    section 3.2, equations (10)-(11).
    C. J. Geyer, "Practical Markov chain Monte Carlo", Statistical Science
    7(4), 1992.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ess = effective_sample_size(rng.normal(size=(4, 1000)))
    >>> bool(3500 < ess < 4500)
    True
    """
    x, has_stats = _check_draws(draws)
    if split:
        x = _split_chains(x)
    acov = _autocovariance(x)  # (n_stats, m, n)
    means, _ = _centre(x)
    ess = np.array([_ess_one(acov[k], means[k]) for k in range(x.shape[0])])
    return ess if has_stats else float(ess[0])


def split_rhat(draws: ArrayLike) -> float | NDArray[np.float64]:
    """Split-R-hat potential scale reduction factor.

    Parameters
    ----------
    draws : array_like of shape (n_chains, n_samples) or (n_chains, n_samples, n_stats)
        Draws of one scalar statistic per chain (or of ``n_stats``
        statistics). Each chain is split in halves (the middle draw dropped
        when ``n_samples`` is odd), so one chain already gives two to compare.
        At least 4 samples per chain; NaN and infinite values are rejected.

    Returns
    -------
    rhat : float or ndarray of shape (n_stats,)
        Close to 1 when the (split) chains agree; values above 1.01 (Vehtari
        et al. 2021; 1.1 in BDA3) signal that they have not mixed. Where
        every split chain is constant (zero within-chain variance) the ratio
        is deliberately ``inf`` if the chains sit at different values and
        ``nan`` if all draws are equal, without a numpy warning.

    Raises
    ------
    ValueError
        If ``draws`` is not 2- or 3-dimensional, has fewer than 4 samples per
        chain, or holds NaN or infinite values.

    Notes
    -----
    With ``M`` split chains of ``N`` draws, chain means ``m_j`` and variances
    ``s_j^2``: ``B = N/(M-1) sum_j (m_j - m)^2``, ``W = mean_j s_j^2``,
    ``var+ = (N-1)/N W + B/N`` and ``R-hat = sqrt(var+ / W)``. No rank
    normalisation or folding is applied.

    References
    ----------
    A. Gelman, J. B. Carlin, H. S. Stern, D. B. Dunson, A. Vehtari,
    D. B. Rubin, *Bayesian Data Analysis*, 3rd ed., CRC Press, 2013,
    section 11.4, equations (11.2)-(11.4).
    A. Vehtari et al., Bayesian Analysis 16(2), 2021, section 2.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> bool(split_rhat(rng.normal(size=(4, 1000))) < 1.01)
    True
    >>> bool(split_rhat(rng.normal(size=(4, 1000)) + np.arange(4)[:, None]) > 1.1)
    True
    """
    x, has_stats = _check_draws(draws)
    x = _split_chains(x)  # (n_stats, M, N)
    n = x.shape[-1]
    chain_mean, _ = _centre(x)
    between = n * _var(chain_mean, ddof=1)  # B
    within = _var(x, ddof=1).mean(axis=-1)  # W
    var_plus = (n - 1.0) / n * within + between / n
    out = np.full(x.shape[0], np.nan)
    ok = within > 0
    out[ok] = np.sqrt(var_plus[ok] / within[ok])
    out[~ok & (var_plus > 0)] = np.inf
    return out if has_stats else float(out[0])
