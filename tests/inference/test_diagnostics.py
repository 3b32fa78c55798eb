"""Tests for pgm.inference.diagnostics: autocorrelation, ESS, split-R-hat.

Tolerances come from the sampling spread of the estimators, measured over
100-200 seeds when the tests were written and consistent with a first-order
analysis: for iid draws the truncated sum tau = 1 + 2 sum_{t<=K} rho_t has
sd about 2 sqrt(K / N) (each rho_t has sd 1/sqrt(N), Geyer's truncation keeps
K ~ 3 lags), i.e. about 1.5 % at N = 40000. Every bound below is at least
about 5 such standard deviations, so a correct estimator fails with
negligible probability whatever the seed, while a wrong one (e.g. ignoring
autocorrelation, which would report N for the AR(1) chains) fails clearly.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import lfilter

from pgm.inference.diagnostics import autocorrelation, effective_sample_size, split_rhat


def ar1(rng: np.random.Generator, phi: float, n_chains: int, n_samples: int) -> np.ndarray:
    """Stationary AR(1) chains x_t = phi x_{t-1} + sqrt(1 - phi^2) e_t, unit variance."""
    noise = rng.normal(size=(n_chains, n_samples)) * np.sqrt(1.0 - phi**2)
    noise[:, 0] = rng.normal(size=n_chains)  # start in the stationary N(0, 1)
    return lfilter([1.0], [1.0, -phi], noise, axis=1)


def naive_autocorrelation(x: np.ndarray) -> np.ndarray:
    """Definition, term by term: (1/n) sum_i (x_i - m)(x_{i+t} - m) / var."""
    n = len(x)
    c = x - x.mean()
    acov = np.array([np.dot(c[: n - t], c[t:]) / n for t in range(n)])
    return acov / acov[0]


def naive_split_rhat(draws: np.ndarray) -> float:
    """BDA3 eqs. (11.2)-(11.4) on split chains, written out chain by chain."""
    half = draws.shape[1] // 2
    chains = [c[:half] for c in draws] + [c[draws.shape[1] - half :] for c in draws]
    n = half
    means = [float(np.mean(c)) for c in chains]
    grand = float(np.mean(means))
    b = n / (len(chains) - 1) * sum((m - grand) ** 2 for m in means)
    w = float(np.mean([np.sum((c - m) ** 2) / (n - 1) for c, m in zip(chains, means, strict=True)]))
    return float(np.sqrt(((n - 1) / n * w + b / n) / w))


# ------------------------------------------------------------------ autocorrelation
def test_autocorrelation_matches_definition():
    rng = np.random.default_rng(0)
    for n in (2, 7, 64, 257):
        x = rng.normal(size=n) + 3.0
        # FFT vs direct sums of <= 257 O(1) products: rounding only (about 1e-14)
        np.testing.assert_allclose(autocorrelation(x), naive_autocorrelation(x), atol=1e-12)


def test_autocorrelation_batches_along_last_axis():
    x = np.random.default_rng(1).normal(size=(3, 50))
    rho = autocorrelation(x)
    assert rho.shape == (3, 50)
    np.testing.assert_array_equal(rho[:, 0], 1.0)
    for row, chain in zip(rho, x, strict=True):
        # FFT vs direct sums of 50 O(1) products: rounding only
        np.testing.assert_allclose(row, naive_autocorrelation(chain), atol=1e-12)


def test_autocorrelation_of_ar1_is_geometric():
    """rho_t = phi^t; the sample value at lag t has sd <~ sqrt((1+phi^2)/(1-phi^2) / n).

    With n = 200000 that is < 0.004, so 0.02 is 5 sd.
    """
    phi = 0.7
    x = ar1(np.random.default_rng(2), phi, 1, 200_000)[0]
    np.testing.assert_allclose(autocorrelation(x)[:6], phi ** np.arange(6), atol=0.02)


def test_autocorrelation_constant_series_is_nan():
    rho = autocorrelation(np.stack([np.full(10, 1.0 / 3.0), np.arange(10.0)]))
    assert np.all(np.isnan(rho[0]))
    assert rho[1, 0] == 1.0


@pytest.mark.parametrize(
    ("x", "match"),
    [
        (3.0, "at least 2 samples"),
        ([1.0], "at least 2 samples"),
        ([1.0, np.nan, 2.0], "x must be finite"),
    ],
)
def test_autocorrelation_errors(x, match):
    with pytest.raises(ValueError, match=match):
        autocorrelation(x)


# ------------------------------------------------------------------ ESS
def test_ess_iid_close_to_total_draws():
    """iid normal, 8 x 5000: ESS / N has sd 1.4 % (measured), so |ratio - 1| < 0.08."""
    draws = np.random.default_rng(3).normal(size=(8, 5000))
    ratio = effective_sample_size(draws) / draws.size
    assert abs(ratio - 1.0) < 0.08, ratio


@pytest.mark.parametrize(
    ("phi", "tolerance"),
    [
        (0.5, 0.10),  # measured sd of ESS / truth: 2.0 % at 8 x 10000 draws
        (0.9, 0.22),  # measured sd 4.3 % (longer correlation, more lags summed)
        (-0.5, 0.15),  # antithetic: ESS > N; measured sd 2.5 %
    ],
)
def test_ess_ar1_matches_analytic(phi, tolerance):
    """ESS of stationary AR(1) is N (1 - phi) / (1 + phi) as N grows."""
    draws = ar1(np.random.default_rng(4), phi, 8, 10_000)
    truth = draws.size * (1 - phi) / (1 + phi)
    ratio = effective_sample_size(draws) / truth
    assert abs(ratio - 1.0) < tolerance, ratio
    # Power twin: the naive count N is far outside the same tolerance.
    assert abs(draws.size / truth - 1.0) > 2 * tolerance


def test_ess_three_dimensional_matches_per_statistic():
    rng = np.random.default_rng(5)
    stats = np.stack([rng.normal(size=(4, 300)), ar1(rng, 0.8, 4, 300)], axis=-1)
    ess = effective_sample_size(stats)
    assert ess.shape == (2,)
    for k in range(2):
        assert ess[k] == effective_sample_size(stats[:, :, k])
    assert ess[1] < ess[0]


def test_ess_split_penalises_trend_and_single_chain_works():
    rng = np.random.default_rng(6)
    chain = rng.normal(size=(1, 4000))
    chain[0, 2000:] += 1.5  # the chain moves half-way: not stationary
    assert effective_sample_size(chain) < 0.5 * effective_sample_size(chain, split=False)
    assert np.isfinite(effective_sample_size(rng.normal(size=(1, 4000)), split=False))


def test_ess_upper_bound_for_antithetic_chains():
    """Perfectly alternating chains hit Stan's safety bound N log10 N."""
    draws = np.tile([1.0, -1.0], (2, 50)) + np.random.default_rng(7).normal(0, 1e-3, (2, 100))
    # the bound is returned as computed: equal up to the rounding of log10
    assert effective_sample_size(draws) == pytest.approx(200 * np.log10(200), rel=1e-12)


def test_ess_constant_chains():
    equal = np.full((3, 1000), 1.0 / 3.0)  # its float mean differs from 1/3
    assert np.isnan(effective_sample_size(equal))
    stuck = equal + np.arange(3.0)[:, None]  # each chain stuck at its own value
    ess = effective_sample_size(stuck)
    assert np.isfinite(ess) and ess < 10
    mixed = np.stack([equal, np.random.default_rng(8).normal(size=(3, 1000))], axis=-1)
    out = effective_sample_size(mixed)
    assert np.isnan(out[0]) and np.isfinite(out[1])


# ------------------------------------------------------------------ split R-hat
def test_rhat_matches_bda3_formula():
    rng = np.random.default_rng(9)
    for shape in [(4, 100), (3, 101), (1, 10), (2, 4)]:
        draws = rng.normal(size=shape) + rng.normal(size=(shape[0], 1))
        # the same formula in another summation order: rounding only
        assert split_rhat(draws) == pytest.approx(naive_split_rhat(draws), rel=1e-12)


def test_rhat_close_to_one_for_well_mixed_chains():
    """iid chains: R^2 = (n-1)/n + F/n with F ~ F(M-1, M(n-1)), M = 8 split chains.

    With n = 1000 per split chain, P(F > 5) < 1e-4, so R - 1 < 5 / (2 n) = 0.0025.
    """
    draws = np.random.default_rng(10).normal(size=(4, 2000))
    assert 0.995 < split_rhat(draws) < 1.0025


def test_rhat_detects_different_means():
    """Power twin: one of four chains shifted by 2 sd.

    Chain-mean variance (ddof=1) over the 8 split chains is 8/7 * 4 * (2/8)(6/8)
    = 0.86, so R-hat ~ sqrt(1 + 0.86) = 1.36, far above 1.1.
    """
    draws = np.random.default_rng(10).normal(size=(4, 2000))
    draws[3] += 2.0
    assert split_rhat(draws) > 1.3


def test_rhat_split_detects_drift_in_one_chain():
    draws = np.random.default_rng(11).normal(size=(1, 2000))
    draws[0, 1000:] += 2.0
    assert split_rhat(draws) > 1.3


def test_rhat_three_dimensional_and_constant_chains():
    rng = np.random.default_rng(12)
    same = np.full((2, 1000), 1.0 / 3.0)
    stuck = np.array([[0.0] * 1000, [1.0] * 1000])
    stats = np.stack([rng.normal(size=(2, 1000)), same, stuck], axis=-1)
    out = split_rhat(stats)
    assert out.shape == (3,)
    assert out[0] == split_rhat(stats[:, :, 0])
    assert np.isnan(out[1])  # all draws equal: undefined
    assert out[2] == np.inf  # zero within-chain variance, chains disagree


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("func", [effective_sample_size, split_rhat])
@pytest.mark.parametrize(
    ("draws", "match"),
    [
        (np.zeros(10), r"shape \(n_chains, n_samples\).*draws\[None, :\]"),
        (np.zeros((2, 3, 4, 5)), r"shape \(n_chains, n_samples\)"),
        (np.zeros((0, 10)), "at least 1 chain"),
        (np.zeros((2, 3)), "at least 4 samples per chain .* got 3"),
        (np.zeros((2, 10, 0)), "at least 1 statistic"),
        (np.array([[0.0, 1.0, np.nan, 2.0]] * 2), "draws must be finite, found 2 NaN"),
        (np.array([[0.0, 1.0, np.inf, 2.0]] * 2), "draws must be finite"),
    ],
)
def test_bad_draws_are_rejected(func, draws, match):
    with pytest.raises(ValueError, match=match):
        func(draws)


@pytest.mark.parametrize("func", [effective_sample_size, split_rhat])
def test_string_or_complex_draws_are_a_type_error(func):
    with pytest.raises(TypeError, match="draws must be a numeric array"):
        func([["a", "b", "c", "d"]])
    with pytest.raises(TypeError, match="draws must hold real numbers"):
        func(np.ones((2, 4), dtype=complex))


# ------------------------------------------------------------------ scale
@pytest.mark.parametrize("scale", [2.0**600, 2.0**-600, -(2.0**700)])
def test_diagnostics_are_scale_free_without_overflow(scale):
    """Draws near 1e180-1e210 (or 1e-180) give the diagnostics of the same draws at O(1).

    A power-of-two scale changes no digit, so the results are equal bit for
    bit; a RuntimeWarning (overflow of the squares) would fail the test.
    """
    draws = np.random.default_rng(11).normal(size=(3, 200, 2)) + np.array([0.0, 5.0])
    ess, rhat = effective_sample_size, split_rhat
    np.testing.assert_array_equal(ess(draws * scale), ess(draws))
    np.testing.assert_array_equal(rhat(draws * scale), rhat(draws))
    chain = draws[0, :, 0]
    np.testing.assert_array_equal(autocorrelation(chain * scale), autocorrelation(chain))


def test_diagnostics_near_1e200_agree_with_unit_draws():
    draws = np.random.default_rng(12).normal(size=(4, 100))
    # a decimal scale rounds each draw once: relative changes of 1e-16
    ess = effective_sample_size(draws)
    assert effective_sample_size(draws * 1e200) == pytest.approx(ess, rel=1e-9)
    assert split_rhat(draws * 1e200) == pytest.approx(split_rhat(draws), rel=1e-9)
