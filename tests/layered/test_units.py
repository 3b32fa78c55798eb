"""Unit types against brute-force sums and numerical integration."""

import itertools

import numpy as np
from scipy.integrate import quad
from scipy.special import logsumexp

from pgm.layered.units import BinaryUnits, GaussianUnits, SoftmaxUnits


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
