"""Tests for annealed importance sampling (pgm.inference.ais).

The oracle below is written from the definitions and never imports
``pgm.inference``: with the visible units summed out analytically,

    binary:   log Z = logsumexp_h [ c.h + sum_i softplus(b_i + W_i.h) ]
    Gaussian: log Z = n_v/2 log(2 pi) + logsumexp_h [ c.h + b.Wh + |Wh|^2 / 2 ]

over the 2^n_hidden hidden states, exact to rounding for n_hidden <= ~20.
"""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.special import expit, logsumexp

from pgm import NotFittedError
from pgm.inference import ais
from pgm.layered import _ais_kernels as kernels

# --------------------------------------------------------------------------- oracle


def hidden_states(n_hidden):
    """All 2^n_hidden binary hidden states, shape (2^n_hidden, n_hidden)."""
    codes = np.arange(2**n_hidden)[:, None]
    return ((codes >> np.arange(n_hidden)) & 1).astype(np.float64)


def exact_log_z_binary(W, b, c):
    H = hidden_states(W.shape[1])
    return float(logsumexp(H @ c + np.logaddexp(0.0, b + H @ W.T).sum(axis=1)))


def exact_log_z_gaussian(W, b, c):
    H = hidden_states(W.shape[1])
    mean_shift = H @ W.T  # (2^n_h, n_v): W h for each h
    terms = H @ c + mean_shift @ b + 0.5 * np.sum(mean_shift**2, axis=1)
    return 0.5 * W.shape[0] * math.log(2 * math.pi) + float(logsumexp(terms))


def exact_log_prob(W, b, c, X, visible):
    """log p(x) per row by summing exp(-E(x, h)) over every hidden state."""
    H = hidden_states(W.shape[1])
    if visible == "binary":
        log_z = exact_log_z_binary(W, b, c)
        neg_energy = (X @ b)[:, None] + (H @ c)[None, :] + X @ W @ H.T
    else:
        log_z = exact_log_z_gaussian(W, b, c)
        quad = 0.5 * np.sum((X - b) ** 2, axis=1)
        neg_energy = -quad[:, None] + (H @ c)[None, :] + X @ W @ H.T
    return logsumexp(neg_energy, axis=1) - log_z


def exact_samples_binary(W, b, c, n, rng):
    """Exact draws from a binary RBM: h from its marginal by enumeration, then v | h."""
    H = hidden_states(W.shape[1])
    log_p = H @ c + np.logaddexp(0.0, b + H @ W.T).sum(axis=1)
    p = np.exp(log_p - logsumexp(log_p))
    idx = rng.choice(len(H), size=n, p=p / p.sum())
    return (rng.random((n, W.shape[0])) < expit(b + H[idx] @ W.T)).astype(np.float64)


def rbm(W, b, c, visible=None):
    model = SimpleNamespace(weights_=W, visible_bias_=b, hidden_bias_=c)
    if visible is not None:
        model.visible = visible
    return model


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def mnist_sized():
    """784 x 12 binary RBM with W ~ N(0, 0.3^2), b ~ N(-1, 1), c ~ N(0, 1).

    At this scale log Z exceeds the zero-weight model's by ~73 nats and the
    data base rate's by ~3 nats: AIS has real work to do, yet 2^12 hidden
    states keep the oracle exact. The data are 2000 exact samples of the
    model itself, as a trained model's training set would roughly be.
    """
    rng = np.random.default_rng(20080705)
    W = rng.normal(0.0, 0.3, size=(784, 12))
    b = rng.normal(-1.0, 1.0, size=784)
    c = rng.normal(0.0, 1.0, size=12)
    X = exact_samples_binary(W, b, c, 2000, rng)
    return SimpleNamespace(model=rbm(W, b, c), X=X, log_z=exact_log_z_binary(W, b, c))


@pytest.fixture(scope="module")
def data_base_result(mnist_sized):
    return ais.log_partition(
        mnist_sized.model, n_chains=100, betas=1000, base_rate=mnist_sized.X, seed=1
    )


# --------------------------------------------------------------------------- schedule


def test_default_schedule_is_the_papers():
    """500 steps of 1e-3 on [0, .5], 4000 of 1e-4 on [.5, .9], 10000 of 1e-5 on [.9, 1]."""
    betas = ais.annealing_schedule()
    assert betas.shape == (14_501,)
    assert betas[0] == 0.0 and betas[-1] == 1.0
    steps = np.diff(betas)
    # linspace values near 1 carry absolute rounding ~1e-16, far below 1e-12.
    np.testing.assert_allclose(steps[:500], 1e-3, rtol=0, atol=1e-12)
    np.testing.assert_allclose(steps[500:4500], 1e-4, rtol=0, atol=1e-12)
    np.testing.assert_allclose(steps[4500:], 1e-5, rtol=0, atol=1e-12)
    assert betas[500] == 0.5 and betas[4500] == 0.9


@pytest.mark.parametrize("n_betas", [2, 3, 4, 5, 17, 1000, 2901])
def test_schedule_of_any_length_is_a_valid_grid(n_betas):
    betas = ais.annealing_schedule(n_betas)
    assert betas.shape == (n_betas,)
    assert betas[0] == 0.0 and betas[-1] == 1.0
    assert np.all(np.diff(betas) > 0)


def test_schedule_at_a_fifth_of_the_length_keeps_the_proportions():
    betas = ais.annealing_schedule(2901)  # 2900 steps = 100 + 800 + 2000
    assert betas[100] == 0.5 and betas[900] == 0.9


# --------------------------------------------------------------------------- accuracy


def test_matches_exact_log_z_with_data_base_rate(data_base_result, mnist_sized):
    """AIS from the data base rate lands on the exact log Z of a 784 x 12 RBM.

    Three checks: the exact value lies in the reported +-3 sigma band
    (Salakhutdinov & Murray's log(Z_hat +- 3 sigma_hat)); the error is within
    0.3 nats (the accuracy the benchmark needs to rank models); and sigma is
    below 0.1, so the band is narrow enough to be informative (the power twin
    below depends on it).
    """
    result = data_base_result
    lower, upper = result.log_z_interval
    assert lower < mnist_sized.log_z < upper, (result.log_z, mnist_sized.log_z, result.log_z_std)
    assert abs(result.log_z - mnist_sized.log_z) < 0.3
    assert result.log_z_std < 0.1
    assert result.n_chains == 100 and result.n_betas == 1000
    assert result.log_weights.shape == (100,)


def test_power_twin_wrong_exact_value_is_rejected(data_base_result, mnist_sized):
    """The same +-3 sigma check against exact + 1 nat must fail (and - 1 nat too)."""
    lower, upper = data_base_result.log_z_interval
    for wrong in (mnist_sized.log_z + 1.0, mnist_sized.log_z - 1.0):
        assert not (lower < wrong < upper)
        assert abs(data_base_result.log_z - wrong) > 3 * data_base_result.log_z_std


def test_matches_exact_log_z_from_zero_weight_base(mnist_sized):
    """The default base (target's visible biases, W = 0) is ~73 nats away, still within 3 sigma."""
    result = ais.log_partition(mnist_sized.model, n_chains=100, betas=2000, seed=2)
    lower, upper = result.log_z_interval
    assert lower < mnist_sized.log_z < upper, (result.log_z, mnist_sized.log_z, result.log_z_std)
    assert abs(result.log_z - mnist_sized.log_z) < 0.3
    np.testing.assert_array_equal(result.base_visible_bias, mnist_sized.model.visible_bias_)


def test_base_rate_from_data_uses_smoothed_log_odds(mnist_sized, data_base_result):
    X = mnist_sized.X
    p = (X.sum(axis=0) + 1.0) / (X.shape[0] + 2.0)
    np.testing.assert_allclose(data_base_result.base_visible_bias, np.log(p / (1 - p)), rtol=1e-12)
    expected_log_z_base = np.logaddexp(0, np.log(p / (1 - p))).sum() + 12 * np.log(2)
    np.testing.assert_allclose(data_base_result.log_z_base, expected_log_z_base, rtol=1e-12)


@pytest.mark.parametrize("visible", ["binary", "gaussian"])
def test_exact_when_target_equals_base(visible):
    """W = 0 and the base takes the target's visible biases: every weight is the same.

    With W = 0 the hidden pre-activation is c for every chain, so each chain
    adds the very same increments and the log weights agree bit for bit; they
    telescope to sum_j softplus(c_j) - n_hidden log 2, which gives log Z
    exactly, up to the rounding of ~1000 float64 additions (rtol 1e-12).
    """
    rng = np.random.default_rng(7)
    b, c = rng.normal(0, 2, size=20), rng.normal(0, 2, size=6)
    model = rbm(np.zeros((20, 6)), b, c, visible=visible)
    result = ais.log_partition(model, n_chains=50, betas=1000, seed=0)
    assert np.ptp(result.log_weights) == 0.0
    assert result.log_z_std == 0.0
    assert result.log_z_interval == (result.log_z, result.log_z)
    assert result.effective_sample_size == pytest.approx(50, rel=1e-12)
    if visible == "binary":
        exact = np.logaddexp(0, b).sum() + np.logaddexp(0, c).sum()
    else:
        exact = 10 * np.log(2 * np.pi) + np.logaddexp(0, c).sum()
        assert exact == pytest.approx(exact_log_z_gaussian(np.zeros((20, 6)), b, c), rel=1e-12)
    assert result.log_z == pytest.approx(exact, rel=1e-12)


def test_gaussian_visible_matches_exact():
    """Unit-variance Gaussian RBM (30 x 10) against the Gaussian-integral oracle.

    Base model N(b_A, I) with b_A the mean of standard-normal-ish data; the
    target's Wh shifts of ~0.2 per unit keep log Z ~14 nats above the base.
    """
    rng = np.random.default_rng(11)
    W = rng.normal(0.0, 0.2, size=(30, 10))
    b = rng.normal(0.0, 0.5, size=30)
    c = rng.normal(0.0, 1.0, size=10)
    X = rng.normal(size=(500, 30))
    model = rbm(W, b, c, visible="gaussian")
    exact = exact_log_z_gaussian(W, b, c)
    result = ais.log_partition(model, n_chains=100, betas=1000, base_rate=X, seed=3)
    np.testing.assert_allclose(result.base_visible_bias, X.mean(axis=0), rtol=1e-12)
    lower, upper = result.log_z_interval
    assert lower < exact < upper, (result.log_z, exact, result.log_z_std)
    assert abs(result.log_z - exact) < 0.3
    assert not (lower < exact + 1.0 < upper)  # power twin


# --------------------------------------------------------------------------- reproducibility


def test_same_seed_gives_identical_results(mnist_sized):
    kwargs = dict(n_chains=20, betas=100, base_rate=mnist_sized.X)
    first = ais.log_partition(mnist_sized.model, seed=5, **kwargs)
    second = ais.log_partition(mnist_sized.model, seed=5, **kwargs)
    np.testing.assert_array_equal(first.log_weights, second.log_weights)
    assert first.log_z == second.log_z
    third = ais.log_partition(mnist_sized.model, seed=np.random.default_rng(5), **kwargs)
    np.testing.assert_array_equal(first.log_weights, third.log_weights)
    other = ais.log_partition(mnist_sized.model, seed=6, **kwargs)
    assert not np.array_equal(first.log_weights, other.log_weights)


def test_different_seeds_agree_within_error_bars(mnist_sized, data_base_result):
    """Two independent estimates differ by less than 3 combined standard errors."""
    other = ais.log_partition(
        mnist_sized.model, n_chains=100, betas=1000, base_rate=mnist_sized.X, seed=99
    )
    assert not np.array_equal(other.log_weights, data_base_result.log_weights)
    combined = math.hypot(other.log_z_std, data_base_result.log_z_std)
    assert abs(other.log_z - data_base_result.log_z) < 3 * combined


# --------------------------------------------------------------------------- result object


def test_result_is_frozen_and_read_only(mnist_sized):
    # 10 betas is far too few for this model: the estimate warns (checked), and
    # only the result's read-only layout matters here
    with pytest.warns(RuntimeWarning, match="unreliable"):
        result = ais.log_partition(
            mnist_sized.model, n_chains=4, betas=10, seed=0, return_chains=True
        )
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.log_z = 0.0
    with pytest.raises(ValueError):
        result.log_weights[0] = 0.0
    assert result.chains.shape == (4, 784)
    assert set(np.unique(result.chains)) <= {0.0, 1.0}
    with pytest.raises(ValueError):
        result.chains[0, 0] = 1.0
    with pytest.warns(RuntimeWarning, match="unreliable"):
        assert ais.log_partition(mnist_sized.model, n_chains=4, betas=10, seed=0).chains is None


def test_uncertainty_formula_and_single_chain():
    """log_z_std = std(w) / (sqrt(n) mean(w)) (ddof=1); n = 1 gives no error bar."""
    rng = np.random.default_rng(3)
    model = rbm(rng.normal(0, 0.5, (8, 3)), rng.normal(size=8), rng.normal(size=3))
    result = ais.log_partition(model, n_chains=30, betas=5, seed=4)
    w = np.exp(result.log_weights)
    rel = np.std(w, ddof=1) / (np.sqrt(30) * np.mean(w))
    assert result.log_z_std == pytest.approx(rel, rel=1e-12)
    assert result.log_z == pytest.approx(result.log_z_base + np.log(np.mean(w)), rel=1e-12)
    Z, sigma = np.exp(result.log_z), np.exp(result.log_z) * rel
    np.testing.assert_allclose(result.log_z_interval, np.log([Z - 3 * sigma, Z + 3 * sigma]))
    assert result.effective_sample_size == pytest.approx(w.sum() ** 2 / (w**2).sum(), rel=1e-12)

    with pytest.warns(RuntimeWarning, match="unreliable"):
        single = ais.log_partition(model, n_chains=1, betas=5, seed=4)
    assert single.log_z_std == math.inf
    assert single.log_z_interval == (-math.inf, math.inf)


def test_log_weights_are_finite_for_extreme_parameters():
    """Parameters of +-50 saturate every unit; log space keeps all weights finite."""
    rng = np.random.default_rng(8)
    W = rng.choice([-50.0, 50.0], size=(10, 4))
    model = rbm(W, rng.choice([-50.0, 50.0], size=10), rng.choice([-50.0, 50.0], size=4))
    result = ais.log_partition(model, n_chains=10, betas=50, seed=0)
    assert np.all(np.isfinite(result.log_weights))
    assert math.isfinite(result.log_z)


# --------------------------------------------------------------------------- log_likelihood


@pytest.mark.parametrize("visible", ["binary", "gaussian"])
def test_log_likelihood_matches_enumeration(visible):
    rng = np.random.default_rng(12)
    W, b, c = rng.normal(0, 0.5, (9, 4)), rng.normal(size=9), rng.normal(size=4)
    if visible == "binary":
        X = (rng.random((25, 9)) < 0.4).astype(float)
        log_z = exact_log_z_binary(W, b, c)
    else:
        X = rng.normal(size=(25, 9))
        log_z = exact_log_z_gaussian(W, b, c)
    got = ais.log_likelihood(rbm(W, b, c, visible=visible), X, log_z)
    assert got == pytest.approx(np.mean(exact_log_prob(W, b, c, X, visible)), rel=1e-12)


def test_log_likelihood_accepts_a_result(mnist_sized, data_base_result):
    X = mnist_sized.X[:50]
    via_float = ais.log_likelihood(mnist_sized.model, X, data_base_result.log_z)
    assert ais.log_likelihood(mnist_sized.model, X, data_base_result) == via_float


def test_log_likelihood_errors(mnist_sized):
    with pytest.raises(ValueError, match=r"X must hold only 0 and 1"):
        ais.log_likelihood(mnist_sized.model, np.full((2, 784), 0.5), 1.0)
    with pytest.raises(ValueError, match=r"X must have shape \(\*, 784\)"):
        ais.log_likelihood(mnist_sized.model, np.zeros((2, 5)), 1.0)
    with pytest.raises(ValueError, match=r"log_z must be finite"):
        ais.log_likelihood(mnist_sized.model, np.zeros((2, 784)), math.nan)
    with pytest.raises(ValueError, match=r"X must hold at least one row"):
        ais.log_likelihood(mnist_sized.model, np.zeros((0, 784)), 1.0)


# --------------------------------------------------------------------------- errors


@pytest.fixture
def small():
    rng = np.random.default_rng(0)
    return rbm(rng.normal(size=(5, 3)), rng.normal(size=5), rng.normal(size=3))


@pytest.mark.parametrize("n_chains", [0, -3, 2.5, True])
def test_bad_n_chains(small, n_chains):
    with pytest.raises(ValueError, match="n_chains must be an integer >= 1"):
        ais.log_partition(small, n_chains=n_chains, betas=5)


@pytest.mark.parametrize(
    ("betas", "message"),
    [
        ([0.1, 0.5, 1.0], "betas must start at exactly 0 and end at exactly 1"),
        ([0.0, 0.5, 0.9], "betas must start at exactly 0 and end at exactly 1"),
        ([0.0, 0.6, 0.5, 1.0], r"betas must be strictly increasing, got betas\[1\]"),
        ([0.0, 0.5, 0.5, 1.0], "betas must be strictly increasing"),
        ([1.0], "betas must hold at least 2 values"),
        ([[0.0, 1.0]], "betas must be 1-dimensional"),
        ([0.0, np.nan, 1.0], "betas must be finite"),
        (1, r"betas must be an integer >= 2"),
    ],
)
def test_bad_betas(small, betas, message):
    with pytest.raises(ValueError, match=message):
        ais.log_partition(small, betas=betas)


@pytest.mark.parametrize(
    ("base_rate", "message"),
    [
        (np.zeros((10, 4)), r"base_rate given as data must have shape \(n_samples >= 1, 5\)"),
        (np.zeros((0, 5)), r"base_rate given as data must have shape"),
        (np.full((10, 5), 2.0), r"base_rate given as data must hold values in \[0, 1\]"),
        (np.full(4, 0.5), r"base_rate given as probabilities must have shape \(5,\)"),
        (np.array([0.0, 0.5, 0.5, 0.5, 0.5]), r"strictly inside \(0, 1\)"),
        (np.array([0.5, 0.5, 1.0, 0.5, 0.5]), r"strictly inside \(0, 1\)"),
        (np.zeros((2, 2, 5)), r"base_rate must be data of shape"),
        (np.full(5, np.nan), "base_rate must be finite"),
    ],
)
def test_bad_base_rate(small, base_rate, message):
    with pytest.raises(ValueError, match=message):
        ais.log_partition(small, betas=5, base_rate=base_rate)


def test_probability_base_rate_and_explicit_bias_agree(small):
    p = np.array([0.1, 0.2, 0.5, 0.7, 0.9])
    via_p = ais.log_partition(small, n_chains=5, betas=20, base_rate=p, seed=0)
    via_bias = ais.log_partition(
        small, n_chains=5, betas=20, base_visible_bias=np.log(p / (1 - p)), seed=0
    )
    np.testing.assert_allclose(via_p.log_weights, via_bias.log_weights, rtol=1e-12)


def test_other_base_errors(small):
    with pytest.raises(ValueError, match="at most one of base_rate and base_visible_bias"):
        ais.log_partition(small, betas=5, base_rate=np.full(5, 0.5), base_visible_bias=np.zeros(5))
    with pytest.raises(ValueError, match=r"base_visible_bias must have shape \(5,\)"):
        ais.log_partition(small, betas=5, base_visible_bias=np.zeros(3))
    with pytest.raises(ValueError, match="smoothing must be a finite positive number"):
        ais.log_partition(small, betas=5, base_rate=np.zeros((3, 5)), smoothing=0.0)
    gaussian = rbm(small.weights_, small.visible_bias_, small.hidden_bias_, visible="gaussian")
    with pytest.raises(ValueError, match="applies to binary visible units only"):
        ais.log_partition(gaussian, betas=5, base_rate=np.full(5, 0.5))


@pytest.mark.parametrize("name", ["weights_", "visible_bias_", "hidden_bias_"])
def test_nan_parameters_are_rejected(small, name):
    bad = rbm(small.weights_.copy(), small.visible_bias_.copy(), small.hidden_bias_.copy())
    getattr(bad, name).flat[0] = np.nan
    with pytest.raises(ValueError, match=f"model.{name} must be finite"):
        ais.log_partition(bad, betas=5)


def test_model_shape_and_kind_errors(small):
    with pytest.raises(ValueError, match=r"model.visible_bias_ must have shape \(5,\)"):
        ais.log_partition(rbm(small.weights_, np.zeros(4), small.hidden_bias_), betas=5)
    with pytest.raises(ValueError, match=r"model.hidden_bias_ must have shape \(3,\)"):
        ais.log_partition(rbm(small.weights_, small.visible_bias_, np.zeros(2)), betas=5)
    with pytest.raises(ValueError, match="model.weights_ must be 2-dimensional"):
        ais.log_partition(rbm(np.zeros(5), small.visible_bias_, small.hidden_bias_), betas=5)
    with pytest.raises(ValueError, match="model.visible must be 'binary' or 'gaussian'"):
        ais.log_partition(
            rbm(small.weights_, small.visible_bias_, small.hidden_bias_, "poisson"), betas=5
        )
    with pytest.raises(TypeError, match="lacks weights_, visible_bias_, hidden_bias_"):
        ais.log_partition(object(), betas=5)

    class Unfitted:
        def fit(self, X):
            return self

    with pytest.raises(NotFittedError, match="Unfitted is not fitted yet"):
        ais.log_partition(Unfitted(), betas=5)


def test_inputs_are_not_modified(small, mnist_sized):
    before = [small.weights_.copy(), small.visible_bias_.copy(), small.hidden_bias_.copy()]
    X = (mnist_sized.X[:10, :5]).copy()
    X_before = X.copy()
    ais.log_partition(small, n_chains=3, betas=5, base_rate=X, seed=0)
    after = [small.weights_, small.visible_bias_, small.hidden_bias_]
    for got, want in zip(after, before, strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(X, X_before)


# --------------------------------------------------------------------------- kernels


def python_version(kernel, jit):
    """The compiled kernel, or its pure-Python original (itself under NUMBA_DISABLE_JIT=1)."""
    return kernel if jit else getattr(kernel, "py_func", kernel)


def reference_hidden_step(x, beta_prev, beta, u):
    increment = (np.logaddexp(0, beta * x) - np.logaddexp(0, beta_prev * x)).sum(axis=1)
    return increment, (u < expit(beta * x)).astype(float)


@pytest.mark.parametrize("jit", [True, False])
def test_hidden_step_kernel(jit):
    """Increments match numpy's logaddexp; u = 0 forces h = 1 and u -> 1 forces h = 0."""
    step = python_version(kernels.hidden_step, jit)
    rng = np.random.default_rng(1)
    x = rng.normal(0, 5, size=(4, 7))
    x[0, 0], x[1, 1] = 800.0, -800.0  # softplus must neither overflow nor lose the tail
    for u_value, expect in [(0.0, 1.0), (np.nextafter(1.0, 0.0), 0.0)]:
        u = np.full_like(x, u_value)
        out_w, out_h = np.full(4, 2.0), np.full_like(x, -1.0)
        step(x, 0.3, 0.7, u, True, out_w, out_h)
        increment, h_ref = reference_hidden_step(x, 0.3, 0.7, u)
        np.testing.assert_allclose(out_w, 2.0 + increment, rtol=1e-12)
        forced = np.abs(0.7 * x) < 30  # where sigmoid is not 0 or 1 in float64
        assert np.all(out_h[forced] == expect)
        np.testing.assert_array_equal(out_h, h_ref)
    u = rng.random(x.shape)
    out_w, out_h = np.zeros(4), np.full_like(x, -1.0)
    step(x, 0.3, 0.7, u, False, out_w, out_h)
    assert np.all(out_h == -1.0)  # sample=False leaves h untouched


@pytest.mark.parametrize("jit", [True, False])
def test_visible_step_kernel(jit):
    binary = python_version(kernels.visible_step_binary, jit)
    rng = np.random.default_rng(2)
    a = rng.normal(0, 3, size=(3, 6))
    bias_base, bias_target = rng.normal(size=6), rng.normal(size=6)
    t = 0.6 * bias_base + 0.4 * (bias_target + a)
    for u_value, expect in [(0.0, 1.0), (np.nextafter(1.0, 0.0), 0.0)]:
        out = np.full_like(a, -1.0)
        binary(a, 0.4, bias_base, bias_target, np.full_like(a, u_value), out)
        assert np.all(out == expect)
    u = rng.random(a.shape)
    out = np.empty_like(a)
    binary(a, 0.4, bias_base, bias_target, u, out)
    np.testing.assert_array_equal(out, (u < expit(t)).astype(float))


@pytest.mark.parametrize("jit", [True, False])
def test_softplus_kernel(jit):
    softplus = python_version(kernels.softplus, jit)
    for t in [-800.0, -30.0, -1.0, 0.0, 1e-3, 2.0, 40.0, 800.0]:
        assert softplus(t) == pytest.approx(np.logaddexp(0.0, t), rel=1e-15, abs=1e-300)


# --------------------------------------------------------------------------- with pgm.models.RBM


@pytest.mark.parametrize("visible", ["binary", "gaussian"])
def test_rbm_model_is_accepted_like_its_parameters(visible):
    """An ``RBM`` (built by ``from_parameters``) gives bit-identical results to its arrays."""
    from pgm import models  # the package's own module: a failed import is a failure

    rng = np.random.default_rng(21)
    W, b, c = rng.normal(0, 0.3, (15, 6)), rng.normal(size=15), rng.normal(size=6)
    model = models.RBM.from_parameters(W, b, c, visible=visible)
    via_rbm = ais.log_partition(model, n_chains=20, betas=200, seed=4)
    via_arrays = ais.log_partition(rbm(W, b, c, visible=visible), n_chains=20, betas=200, seed=4)
    np.testing.assert_array_equal(via_rbm.log_weights, via_arrays.log_weights)
    exact = (exact_log_z_binary if visible == "binary" else exact_log_z_gaussian)(W, b, c)
    lower, upper = via_rbm.log_z_interval
    assert lower < exact < upper


# --------------------------------------------------------------------------- reliability


@pytest.mark.parametrize("seed", range(4))
def test_strong_weights_warn_where_the_estimate_is_off(seed):
    """The issue's case: a 4x3 RBM with weights of order 1e3.

    A run reaches only the modes its start leads to, so a few runs carry all
    the weight. The estimate is then many nats off or its band has no lower
    edge, and the function must say so. Measured: ESS 3-7 of 64 and a band
    without lower edge on seeds 0-3; seed 1 sits 13 nats below the exact
    log Z at 1000 betas.
    """
    rng = np.random.default_rng(seed)
    W, b, c = rng.standard_normal((4, 3)) * 1e3, rng.standard_normal(4), rng.standard_normal(3)
    exact = exact_log_z_binary(W, b, c)
    with pytest.warns(RuntimeWarning, match="AIS estimate unreliable"):
        result = ais.log_partition(rbm(W, b, c), n_chains=64, betas=1000, seed=0)
    lo, hi = result.log_z_interval
    # the warning is needed: the band is unbounded below or misses the truth
    assert lo == -math.inf or not lo <= exact <= hi


def test_well_conditioned_estimate_does_not_warn(mnist_sized, data_base_result):
    """The fixture's run (ESS near n_chains, band containing log Z) raised no warning
    (warnings are errors in this test run); the single-chain run does warn."""
    lo, hi = data_base_result.log_z_interval
    assert lo <= mnist_sized.log_z <= hi
    assert data_base_result.effective_sample_size > 50
    with pytest.warns(RuntimeWarning, match="unreliable"):
        ais.log_partition(mnist_sized.model, n_chains=1, betas=10, seed=0)


@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan"), "x"])
def test_bad_min_ess_fraction(small, value):
    with pytest.raises(ValueError, match="min_ess_fraction"):
        ais.log_partition(small, n_chains=4, betas=5, seed=0, min_ess_fraction=value)
