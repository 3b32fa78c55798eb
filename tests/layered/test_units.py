"""Unit types against brute-force sums and numerical integration."""

import itertools

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import logsumexp

from pgm.layered.units import BinaryUnits, GaussianUnits, SoftmaxUnits, get_units


def test_binary_log_partition_and_mean_match_enumeration():
    a = np.array([[0.3, -2.0, 5.0]])
    states = np.array(list(itertools.product((0.0, 1.0), repeat=3)))
    logs = states @ a[0]
    u = BinaryUnits()
    np.testing.assert_allclose(u.log_partition(a), [logsumexp(logs)], rtol=1e-12)
    p = np.exp(logs - logsumexp(logs))
    np.testing.assert_allclose(u.mean(a)[0], p @ states, rtol=1e-12)


def test_binary_log_partition_finite_at_extreme_inputs():
    u = BinaryUnits()
    np.testing.assert_allclose(u.log_partition(np.array([[1e3, -1e3]])), [1e3], rtol=1e-12)


def test_gaussian_log_partition_matches_quad():
    sigma = np.array([0.7, 1.3])
    u = GaussianUnits(sigma)
    a = np.array([[0.4, -1.1]])
    total = 0.0
    for i in range(2):
        val, _ = quad(lambda x, i=i: np.exp(a[0, i] * x - x * x / (2 * sigma[i] ** 2)), -50, 50)
        total += np.log(val)
    # quad's default tolerance is ~1.5e-8 relative
    np.testing.assert_allclose(u.log_partition(a), [total], rtol=1e-8)
    mean_num = quad(lambda x: x * np.exp(a[0, 0] * x - x * x / (2 * 0.49)), -50, 50)[0]
    norm = quad(lambda x: np.exp(a[0, 0] * x - x * x / (2 * 0.49)), -50, 50)[0]
    np.testing.assert_allclose(u.mean(a)[0, 0], mean_num / norm, rtol=1e-8)


def test_softmax_log_partition_mean_and_samples():
    u = SoftmaxUnits(3)
    a = np.array([[0.1, 2.0, -1.0, 0.0, 0.0, 0.0]])
    expected = logsumexp(a[0, :3]) + logsumexp(a[0, 3:])
    np.testing.assert_allclose(u.log_partition(a), [expected], rtol=1e-12)
    np.testing.assert_allclose(u.mean(a).reshape(2, 3).sum(axis=1), 1.0, rtol=1e-12)
    rng = np.random.default_rng(0)
    s = u.sample(np.repeat(a, 4000, axis=0), rng)
    assert np.all(s.reshape(-1, 2, 3).sum(axis=2) == 1)
    p = u.mean(a)[0]
    # 5 sigma binomial band with N = 4000 draws
    band = 5 * np.sqrt(p * (1 - p) / 4000) + 1 / 4000
    assert np.all(np.abs(s.mean(axis=0) - p) <= band)


def test_binary_entropy_zero_at_deterministic_states():
    np.testing.assert_allclose(BinaryUnits().entropy(np.array([[0.0, 1.0, 0.5]])), [np.log(2)])


def _quad(f):
    # quad's default tolerance is ~1.5e-8 relative; the integrands are Gaussians
    # centred within a few units of 0, so [-60, 60] holds all their mass
    return quad(f, -60, 60, epsabs=0, epsrel=1e-11, limit=200)[0]


def test_gaussian_entropy_expected_energy_and_samples_against_integrals():
    sigma = np.array([0.6, 1.7])
    u = GaussianUnits(sigma)
    a = np.array([[0.9, -0.4]])
    b = np.array([0.3, -0.2])
    mu = u.mean(a)
    for i in range(2):
        s2 = sigma[i] ** 2

        # log_partition of the 1-unit slice must equal log of the integral
        ui = GaussianUnits(sigma[i])
        norm = _quad(lambda x, i=i, s2=s2: np.exp(a[0, i] * x - x * x / (2 * s2)))
        np.testing.assert_allclose(ui.log_partition(a[:, i : i + 1]), [np.log(norm)], rtol=1e-10)

        def p(x, i=i, s2=s2, norm=norm):
            return np.exp(a[0, i] * x - x * x / (2 * s2)) / norm

        np.testing.assert_allclose(_quad(lambda x, p=p: x * p(x)), mu[0, i], rtol=1e-9)
        ent = _quad(lambda x, p=p: -p(x) * np.log(p(x)) if p(x) > 0 else 0.0)
        np.testing.assert_allclose(ui.entropy(mu[:, i : i + 1]), [ent], rtol=1e-8)
        ee = _quad(lambda x, p=p, i=i, s2=s2: p(x) * (x * x / (2 * s2) - b[i] * x))
        np.testing.assert_allclose(
            ui.expected_energy(mu[:, i : i + 1], b[i : i + 1]), [ee], rtol=1e-8
        )
    rng = np.random.default_rng(0)
    n = 20000
    x = u.sample(np.repeat(a, n, axis=0), rng)
    # mean: 5 standard errors sigma / sqrt(n); variance: 5 s.e. of s^2, sigma^2 sqrt(2 / n)
    assert np.all(np.abs(x.mean(axis=0) - mu[0]) < 5 * sigma / np.sqrt(n))
    assert np.all(np.abs(x.var(axis=0) - sigma**2) < 5 * sigma**2 * np.sqrt(2 / n))


def test_softmax_against_enumeration_of_one_hot_states():
    u = SoftmaxUnits(3)
    a = np.array([[0.1, 2.0, -1.0, 0.5, -0.3, 1.2]])
    b = np.array([0.2, -0.1, 0.4, 0.0, 1.0, -0.5])
    states = u.enumerate(6)
    assert states.shape == (9, 6)
    assert len({tuple(s) for s in states}) == 9
    assert np.all(states.reshape(9, 2, 3).sum(axis=2) == 1)
    logs = states @ a[0]
    np.testing.assert_allclose(u.log_partition(a), [logsumexp(logs)], rtol=1e-12)
    p = np.exp(logs - logsumexp(logs))
    mu = u.mean(a)
    np.testing.assert_allclose(mu[0], p @ states, rtol=1e-12)
    np.testing.assert_allclose(u.entropy(mu), [-(p @ np.log(p))], rtol=1e-12)
    np.testing.assert_allclose(u.expected_energy(mu, b), [p @ -(states @ b)], rtol=1e-12)
    np.testing.assert_allclose(u.log_n_states(6), np.log(9), rtol=1e-12)
    np.testing.assert_array_equal(u.check(states), states)
    with pytest.raises(ValueError, match="one-hot"):
        u.check(np.array([[1.0, 1.0, 0.0, 0.0, 0.0, 1.0]]))


def test_binary_samples_and_enumeration():
    u = BinaryUnits()
    a = np.array([[1.5, -0.7, 0.0]])
    rng = np.random.default_rng(1)
    n = 20000
    s = u.sample(np.repeat(a, n, axis=0), rng)
    p = u.mean(a)[0]
    # 5 sigma binomial band
    assert np.all(np.abs(s.mean(axis=0) - p) <= 5 * np.sqrt(p * (1 - p) / n))
    states = u.enumerate(3)
    assert states.shape == (8, 3) and len({tuple(x) for x in states}) == 8
    logs = states @ a[0]
    q = np.exp(logs - logsumexp(logs))
    np.testing.assert_allclose(u.entropy(p[None]), [-(q @ np.log(q))], rtol=1e-12)


def test_unit_specs_round_trip_and_errors():
    for spec in ("binary", "gaussian", "softmax:4"):
        assert get_units(spec).spec() == spec
    assert get_units(("softmax", 3)).k == 3
    np.testing.assert_array_equal(get_units(("gaussian", [1.0, 2.0])).sigma, [1.0, 2.0])
    with pytest.raises(ValueError, match="units must be"):
        get_units("poisson")
    with pytest.raises(ValueError, match="k .* int >= 2"):
        SoftmaxUnits(1)
    with pytest.raises(ValueError, match="positive"):
        GaussianUnits([1.0, 0.0])
    with pytest.raises(ValueError, match="not a multiple"):
        SoftmaxUnits(3).check_size(5)
    with pytest.raises(ValueError, match="sigma has 2 entries"):
        GaussianUnits([1.0, 2.0]).check_size(3)
