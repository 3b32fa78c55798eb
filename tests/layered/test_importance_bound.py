"""Importance-weighted log-likelihood bounds of layered models against exact sums.

``LayeredModel.importance_bound`` draws the even hidden layers from their
mean-field factors and sums the odd layers out exactly. Each draw's weight
``p*(v, h) / q(h)`` has expectation exactly ``p*(v) = exp(-F(v))``, which the
tests check by averaging many draws (the band is five standard errors of the
mean of the weights, measured from the same draws), for binary, softmax and
Gaussian even layers.
"""

import numpy as np
import pytest

from tests.layered.test_unit_types import _model

N_DRAWS = 20_000

CASES = [
    ((5, 4, 3), ["binary"] * 3),
    ((4, 3, 3, 2), ["binary"] * 4),
    ((3, 2, 4), ["binary", "binary", ("softmax", 2)]),
    ((3, 2, 2), ["binary", "binary", ("gaussian", np.array([0.8, 1.2]))]),
]
V = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])


def _setup(sizes, units, seed=0):
    m = _model(sizes, units, seed=seed, scale=0.8)
    v = np.hstack([V, np.zeros((2, sizes[0] - 3))]) if sizes[0] > 3 else V
    mu, converged, _ = m.mean_field(v, max_iter=1000, tol=1e-12)
    assert converged
    return m, v, mu


@pytest.mark.parametrize(("sizes", "units"), CASES)
def test_importance_weights_have_mean_p_star(sizes, units):
    m, v, mu = _setup(sizes, units)
    log_p = -m.free_energy(v)
    reps = [np.repeat(x, N_DRAWS, axis=0) for x in mu]
    log_w = m.importance_bound(reps, 1, np.random.default_rng(0)).reshape(2, N_DRAWS)
    ratio = np.exp(log_w - log_p[:, None])
    band = 5 * ratio.std(axis=1) / np.sqrt(N_DRAWS)
    assert np.all(np.abs(ratio.mean(axis=1) - 1) <= band)
    # power twin: a target off by 0.1 nats (ratio off by about 0.1) is outside the band
    assert np.all(band < 0.05)
    assert np.all(np.abs(np.exp(log_w - log_p[:, None] - 0.1).mean(axis=1) - 1) > band)
    # E_q[log w] lies between the mean-field bound and log p*(v) (Jensen both ways)
    se = log_w.std(axis=1) / np.sqrt(N_DRAWS)
    assert np.all(log_w.mean(axis=1) >= m.mean_field_bound(mu) - 5 * se)
    assert np.all(log_w.mean(axis=1) <= log_p + 5 * se)


@pytest.mark.parametrize(("sizes", "units"), CASES[:2])
def test_many_samples_approach_log_p_star(sizes, units):
    m, v, mu = _setup(sizes, units, seed=1)
    log_p = -m.free_energy(v)
    reps = [np.repeat(x, N_DRAWS, axis=0) for x in mu]
    sd = np.exp(m.importance_bound(reps, 1, np.random.default_rng(1)) - np.repeat(log_p, N_DRAWS))
    sd = sd.reshape(2, N_DRAWS).std(axis=1)
    k = 5000
    est = m.importance_bound(mu, k, np.random.default_rng(2))
    # log of a mean of k weights: standard error sd / sqrt(k) (delta method), bias below it
    assert np.all(np.abs(est - log_p) <= 5 * sd / np.sqrt(k) + sd**2 / k)
    # power twin: a target 0.05 nats away is outside the band (about 0.012 wide here)
    assert np.all(np.abs(est - log_p - 0.05) > 5 * sd / np.sqrt(k) + sd**2 / k)


def test_no_even_hidden_layer_is_exact_and_draws_nothing():
    m = _model((4, 3), ["binary", "binary"], seed=2)
    v = np.array([[1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 1.0]])
    mu, _, _ = m.mean_field(v)
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    np.testing.assert_allclose(m.importance_bound(mu, 7, rng), -m.free_energy(v), rtol=1e-13)
    assert rng.bit_generator.state == state


def test_chunking_does_not_change_the_estimate():
    m, v, mu = _setup((5, 4, 3), ["binary"] * 3)
    a = m.importance_bound(mu, 50, np.random.default_rng(4))
    b = m.importance_bound(mu, 50, np.random.default_rng(4), max_rows=1)
    np.testing.assert_array_equal(a, b)


def test_bad_n_samples_is_refused():
    m, v, mu = _setup((5, 4, 3), ["binary"] * 3)
    with pytest.raises(ValueError, match="n_samples"):
        m.importance_bound(mu, 0, np.random.default_rng(0))
