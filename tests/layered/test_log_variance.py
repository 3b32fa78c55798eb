"""Learned Gaussian variances: the log-variance z = log sigma^2 of Gaussian layers.

Checks, against independent references: the energy derivative dE/dz against
central finite differences of the energy; the conditional and model
expectations of the statistic ``h^2 / (2 sigma^2)`` against numerical
integration (``scipy.integrate.quad``) with the binary layers enumerated by
itertools and the energy written out term by term; and the exact
log-likelihood gradient (data minus model expectation) against central finite
differences of the exact log-likelihood (free energy and log Z, Gaussian
layers integrated analytically, binary layers enumerated).
"""

import itertools

import numpy as np
import pytest
from scipy.integrate import quad

from pgm.layered.model import LayeredModel
from pgm.layered.units import GaussianUnits


def _fd_step(x):
    return 6e-6 * max(1.0, abs(x))


def test_energy_log_variance_derivative_against_finite_differences():
    rng = np.random.default_rng(0)
    z = np.array([-0.7, 0.3, 1.2])
    h = rng.normal(0, 1.5, (4, 3))
    bias = rng.normal(0, 1, 3)
    u = GaussianUnits.from_log_variance(z)
    np.testing.assert_allclose(u.sigma, np.exp(z / 2), rtol=1e-15)
    np.testing.assert_allclose(u.log_variance, z, rtol=1e-14)
    d = u.energy_log_variance_derivative(h)
    assert d.shape == h.shape
    np.testing.assert_array_equal(u.log_variance_statistics(h), -d)
    for i in range(3):
        step = _fd_step(z[i])
        zp, zm = z.copy(), z.copy()
        zp[i] += step
        zm[i] -= step
        fd = (
            GaussianUnits.from_log_variance(zp).energy(h, bias)
            - GaussianUnits.from_log_variance(zm).energy(h, bias)
        ) / (2 * step)
        np.testing.assert_allclose(d[:, i], fd, rtol=1e-6, atol=1e-8)


def test_conditional_expected_statistic_against_quad():
    sigma = np.array([0.6, 1.7])
    a = np.array([[0.9, -0.4], [-1.5, 0.2]])
    u = GaussianUnits(sigma)
    got = u.expected_log_variance_statistics(a)
    for r in range(2):
        for i in range(2):
            s2, ai = sigma[i] ** 2, a[r, i]
            dens = lambda x, s2=s2, ai=ai: np.exp(ai * x - x * x / (2 * s2))  # noqa: E731
            num = quad(lambda x, d=dens, s2=s2: x * x / (2 * s2) * d(x), -60, 60, epsrel=1e-12)[0]
            den = quad(dens, -60, 60, epsrel=1e-12)[0]
            np.testing.assert_allclose(got[r, i], num / den, rtol=1e-9)


def _energy_by_hand(w, b, sigma, gauss_layer, layers):
    """E of one joint state, term by term from the definition (no pgm code)."""
    e = 0.0
    for l, h in enumerate(layers):
        e -= float(np.dot(b[l], h))
        if l == gauss_layer:
            e += float(np.sum(np.asarray(h) ** 2 / (2 * sigma**2)))
    for l in range(len(w)):
        e -= float(layers[l] @ w[l] @ layers[l + 1])
    return e


def _quad_expectations(w, b, sigma, gauss_layer, sizes, clamp=None):
    """E[x^2 / (2 sigma^2)] of the single Gaussian unit by quad, the binary layers enumerated.

    ``clamp`` (visible state, when the Gaussian layer is hidden) conditions on v.
    """
    assert sizes[gauss_layer] == 1
    discrete = [
        l for l in range(len(sizes)) if l != gauss_layer and not (clamp is not None and l == 0)
    ]
    num = den = 0.0
    for bits in itertools.product((0.0, 1.0), repeat=sum(sizes[l] for l in discrete)):
        bits = np.array(bits)
        parts, k = {}, 0
        for l in discrete:
            parts[l] = bits[k : k + sizes[l]]
            k += sizes[l]
        if clamp is not None:
            parts[0] = np.asarray(clamp, dtype=float)

        def f(x, parts=parts):
            layers = [parts[l] if l != gauss_layer else np.array([x]) for l in range(len(sizes))]
            return np.exp(-_energy_by_hand(w, b, sigma, gauss_layer, layers))

        opts = dict(epsabs=0, epsrel=1e-12, limit=200)
        num += quad(lambda x, f=f: x * x / (2 * sigma[0] ** 2) * f(x), -40, 40, **opts)[0]
        den += quad(f, -40, 40, **opts)[0]
    return num / den


@pytest.mark.parametrize(
    ("sizes", "gauss_layer"),
    [((1, 2), 0), ((1, 1, 1), 0), ((2, 1, 1), 1)],
)
def test_model_expectation_of_statistic_against_quad(sizes, gauss_layer):
    """One Gaussian unit (visible or hidden) with its binary neighbours enumerated."""
    rng = np.random.default_rng(7)
    w = [rng.normal(0, 0.8, (a, c)) for a, c in zip(sizes[:-1], sizes[1:], strict=True)]
    b = [rng.normal(0, 0.8, n) for n in sizes]
    sigma = np.array([0.7 if gauss_layer == 0 else 1.3])
    units = ["binary"] * len(sizes)
    units[gauss_layer] = ("gaussian", sigma)
    m = LayeredModel(w, b, units=units)
    got = m.expected_log_variance_statistics()
    assert list(got) == [gauss_layer]
    want = _quad_expectations(w, b, sigma, gauss_layer, sizes)
    np.testing.assert_allclose(got[gauss_layer], [want], rtol=1e-8)
    if gauss_layer > 0:
        # posterior expectation given a clamped binary v, averaged over two rows
        v = np.array([[1.0, 0.0], [0.0, 1.0]])
        post = m.expected_log_variance_statistics(v)[gauss_layer]
        want = np.mean([_quad_expectations(w, b, sigma, gauss_layer, sizes, clamp=r) for r in v])
        np.testing.assert_allclose(post, [want], rtol=1e-8)
    else:
        # a clamped Gaussian v contributes its own statistic
        v = np.array([[0.4], [-1.1]])
        post = m.expected_log_variance_statistics(v)[0]
        np.testing.assert_allclose(post, np.mean(v[:, 0] ** 2) / (2 * sigma**2), rtol=1e-14)
        np.testing.assert_allclose(
            m.log_variance_statistics([v, None, None][: len(sizes)])[0], post
        )


def _exact_log_likelihood(w, b, units_of_z, z, v, layer=None):
    """Exact mean log p(v); with ``layer``, ``b[layer]`` holds m and the bias is m / sigma^2."""
    if layer is not None:
        b = list(b)
        b[layer] = b[layer] / np.exp(z)
    m = LayeredModel(w, b, units=units_of_z(z))
    return float(np.mean(-m.free_energy(v))) - m.log_partition_exact()


@pytest.mark.parametrize("centred", [False, True])
@pytest.mark.parametrize("case", ["gaussian_visible", "gaussian_hidden"])
def test_exact_log_likelihood_gradient_wrt_log_variance_against_finite_differences(case, centred):
    """d mean log p(v) / dz = E[s | v] - E_model[s], checked by central differences.

    At fixed biases (``s = h^2 / (2 sigma^2)``) and at fixed ``m = sigma^2 b``
    (``centred``: ``s = (h - m)^2 / (2 sigma^2)``, the chart DBM training uses).
    """
    rng = np.random.default_rng(11)
    if case == "gaussian_visible":
        sizes = (2, 3, 2)
        z = np.log(np.array([0.7, 1.4]) ** 2)

        def units_of_z(z):
            return [GaussianUnits.from_log_variance(z), "binary", "binary"]

        v = rng.normal(0.3, 1.2, (5, 2))
        layer = 0
    else:
        sizes = (3, 2, 2)
        z = np.log(np.array([0.8, 1.2]) ** 2)

        def units_of_z(z):
            return ["binary", GaussianUnits.from_log_variance(z), "binary"]

        v = (rng.random((5, 3)) < 0.5).astype(float)
        layer = 1
    w = [rng.normal(0, 0.6, (a, c)) for a, c in zip(sizes[:-1], sizes[1:], strict=True)]
    b = [rng.normal(0, 0.6, n) for n in sizes]
    m = LayeredModel(w, b, units=units_of_z(z))
    grad = (
        m.expected_log_variance_statistics(v, centred=centred)[layer]
        - m.expected_log_variance_statistics(centred=centred)[layer]
    )
    chart = None
    if centred:
        b = list(b)
        b[layer] = np.exp(z) * b[layer]
        chart = layer
    fd = np.empty_like(z)
    for i in range(z.shape[0]):
        step = _fd_step(z[i])
        zp, zm = z.copy(), z.copy()
        zp[i] += step
        zm[i] -= step
        fd[i] = (
            _exact_log_likelihood(w, b, units_of_z, zp, v, chart)
            - _exact_log_likelihood(w, b, units_of_z, zm, v, chart)
        ) / (2 * step)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)
    assert np.all(np.abs(fd) > 1e-3)  # a gradient of zero would pass only vacuously


def test_log_variance_errors():
    with pytest.raises(ValueError, match="log_variance"):
        GaussianUnits.from_log_variance([0.0, np.nan])
    with pytest.raises(ValueError, match="sigma must hold positive"):
        GaussianUnits([1.0, 0.0])
    with pytest.raises(ValueError, match="sigma must hold positive"):
        GaussianUnits(-2.0)
    with pytest.raises(ValueError, match="sigma"):
        GaussianUnits([1.0, np.inf])
