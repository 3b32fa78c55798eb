"""RBM model: energies and conditionals against brute force, log Z, persistence, errors.

Brute-force references here are written from the energy definition
``E(v, h) = -v.b - h.c - v^T W h`` (Gaussian visible: ``sum (v - b)^2 / 2``
replaces ``-v.b``) with itertools over hidden states; they never call the
code under test.
"""

from __future__ import annotations

import itertools
import math

import numba
import numpy as np
import pytest
from scipy import integrate
from scipy.special import expit
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from pgm import NotFittedError
from pgm.layered import _kernels as kernels
from pgm.learning.schedules import ExponentialDecay
from pgm.models import RBM
from tests.models._sklearn_checks import BINARY_RANGE_CHECKS

N_VISIBLE, N_HIDDEN = 5, 3


def _params(rng, n_visible=N_VISIBLE, n_hidden=N_HIDDEN, scale=1.0):
    return (
        scale * rng.normal(size=(n_visible, n_hidden)),
        scale * rng.normal(size=n_visible),
        scale * rng.normal(size=n_hidden),
    )


def _brute_energy(v, h, W, b, c, visible="binary"):
    """Energy of one (v, h) pair, summed term by term."""
    e = 0.0
    for i in range(len(v)):
        e += 0.5 * (v[i] - b[i]) ** 2 if visible == "gaussian" else -v[i] * b[i]
    for j in range(len(h)):
        e -= h[j] * c[j]
        for i in range(len(v)):
            e -= v[i] * W[i, j] * h[j]
    return e


def _brute_free_energy(v, W, b, c, visible="binary"):
    """-log sum_h exp(-E(v, h)) by itertools over hidden states."""
    energies = [
        -_brute_energy(v, h, W, b, c, visible) for h in itertools.product([0, 1], repeat=W.shape[1])
    ]
    top = max(energies)
    return -(top + math.log(sum(math.exp(e - top) for e in energies)))


def _all_states(n):
    return np.array(list(itertools.product([0, 1], repeat=n)), dtype=float)


@pytest.fixture
def model(rng):
    return RBM.from_parameters(*_params(rng))


# ------------------------------------------------------------ brute force
@pytest.mark.parametrize("visible", ["binary", "gaussian"])
def test_energy_matches_brute_force(rng, visible):
    W, b, c = _params(rng)
    rbm = RBM.from_parameters(W, b, c, visible=visible)
    if visible == "binary":
        v = rng.integers(0, 2, size=(20, N_VISIBLE)).astype(float)
    else:
        v = rng.normal(size=(20, N_VISIBLE))
    h = rng.integers(0, 2, size=(20, N_HIDDEN)).astype(float)
    expected = [_brute_energy(v[n], h[n], W, b, c, visible) for n in range(20)]
    np.testing.assert_allclose(rbm.energy(v, h), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("visible", ["binary", "gaussian"])
def test_free_energy_matches_brute_force(rng, visible):
    W, b, c = _params(rng)
    rbm = RBM.from_parameters(W, b, c, visible=visible)
    v = _all_states(N_VISIBLE) if visible == "binary" else rng.normal(size=(32, N_VISIBLE))
    expected = [_brute_free_energy(row, W, b, c, visible) for row in v]
    np.testing.assert_allclose(rbm.free_energy(v), expected, rtol=1e-12, atol=1e-12)


def test_free_energy_is_finite_for_extreme_parameters(rng):
    """Softplus in log space: parameters of +-1e3 give exact, finite values."""
    W, b, c = _params(rng, scale=1e3)
    rbm = RBM.from_parameters(W, b, c)
    v = _all_states(N_VISIBLE)
    got = rbm.free_energy(v)
    assert np.all(np.isfinite(got))
    expected = [_brute_free_energy(row, W, b, c) for row in v]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert np.isfinite(rbm.log_partition(method="exact"))


@pytest.mark.parametrize("visible", ["binary", "gaussian"])
def test_transform_matches_brute_force_posterior(rng, visible):
    """P(h_j = 1 | v) = sum_h h_j exp(-E(v, h)) / sum_h exp(-E(v, h))."""
    W, b, c = _params(rng)
    rbm = RBM.from_parameters(W, b, c, visible=visible)
    v = _all_states(N_VISIBLE) if visible == "binary" else rng.normal(size=(10, N_VISIBLE))
    hs = _all_states(N_HIDDEN)
    expected = np.empty((v.shape[0], N_HIDDEN))
    for n, row in enumerate(v):
        weights = np.array([math.exp(-_brute_energy(row, h, W, b, c, visible)) for h in hs])
        expected[n] = weights @ hs / weights.sum()
    np.testing.assert_allclose(rbm.transform(v), expected, rtol=1e-10, atol=1e-14)


def test_free_energy_gradient_matches_central_differences(rng):
    """STYLE 7: step h = 6e-6 * max(1, |theta|), rtol 1e-6, atol 1e-8, every parameter."""
    W, b, c = _params(rng)
    v = rng.integers(0, 2, size=(7, N_VISIBLE)).astype(float)
    grad = RBM.from_parameters(W, b, c).free_energy_gradient(v)
    params = {"weights": W, "visible_bias": b, "hidden_bias": c}
    for name, value in params.items():
        numeric = np.empty_like(value)
        for idx in np.ndindex(value.shape):
            step = 6e-6 * max(1.0, abs(value[idx]))
            shifted = []
            for sign in (1, -1):
                p = {k: x.copy() for k, x in params.items()}
                p[name][idx] += sign * step
                model = RBM.from_parameters(p["weights"], p["visible_bias"], p["hidden_bias"])
                shifted.append(model.free_energy(v).mean())
            numeric[idx] = (shifted[0] - shifted[1]) / (2 * step)
        np.testing.assert_allclose(grad[name], numeric, rtol=1e-6, atol=1e-8, err_msg=name)


# ------------------------------------------------------------------ log Z
def test_exact_log_partition_both_enumeration_orders_match_brute_force(rng):
    """Hidden-side enumeration (n_hidden <= n_visible) and visible-side agree with
    the full double sum over (v, h)."""
    for n_visible, n_hidden in ((5, 3), (3, 6)):
        W, b, c = _params(rng, n_visible, n_hidden)
        rbm = RBM.from_parameters(W, b, c)
        terms = [
            -_brute_energy(v, h, W, b, c)
            for v in itertools.product([0, 1], repeat=n_visible)
            for h in itertools.product([0, 1], repeat=n_hidden)
        ]
        top = max(terms)
        expected = top + math.log(sum(math.exp(t - top) for t in terms))
        assert rbm.log_partition(method="exact") == pytest.approx(expected, rel=1e-12)
        assert rbm.log_partition() == rbm.log_partition(method="exact")


def test_log_likelihood_is_normalised(rng):
    """exp(score_samples) over all 2^n visible states sums to 1."""
    rbm = RBM.from_parameters(*_params(rng))
    total = np.exp(rbm.score_samples(_all_states(N_VISIBLE))).sum()
    assert total == pytest.approx(1.0, rel=1e-12)
    X = _all_states(N_VISIBLE)[[1, 5, 7]]
    assert rbm.log_likelihood(X) == pytest.approx(rbm.score_samples(X).mean(), rel=1e-14)
    assert rbm.log_likelihood(X, log_z=0.0) == pytest.approx(-rbm.free_energy(X).mean())


def test_gaussian_log_partition_matches_numerical_integral(rng):
    """Z = sum_h integral exp(-E(v, h)) dv over R^2, by scipy.integrate.dblquad."""
    W, b, c = _params(rng, 2, 2, scale=0.7)
    rbm = RBM.from_parameters(W, b, c, visible="gaussian")
    total = 0.0
    for h in itertools.product([0, 1], repeat=2):
        h = np.array(h, float)

        def density(v2, v1, h=h):
            return math.exp(-_brute_energy(np.array([v1, v2]), h, W, b, c, "gaussian"))

        value, _ = integrate.dblquad(density, -12, 12, -12, 12, epsabs=1e-12, epsrel=1e-10)
        total += value
    assert rbm.log_partition(method="exact") == pytest.approx(math.log(total), rel=1e-8)


def test_gaussian_conditional_moments_match_numerical_integrals(rng):
    """p(v | h) ∝ exp(-rbm.energy(v, h)) has mean b + W h and unit variance per
    coordinate (quadrature over one visible unit, the other fixed at 0: the
    conditional factorises over visible units)."""
    W, b, c = _params(rng, 2, 3)
    rbm = RBM.from_parameters(W, b, c, visible="gaussian")
    for h in itertools.product([0, 1], repeat=3):
        h = np.array([h], float)
        for i in range(2):

            def weight(x, power, i=i, h=h):
                v = np.zeros((1, 2))
                v[0, i] = x
                return x**power * math.exp(-rbm.energy(v, h)[0])

            z = integrate.quad(weight, -30, 30, args=(0,), epsabs=0, epsrel=1e-12)[0]
            mean = integrate.quad(weight, -30, 30, args=(1,), epsabs=0, epsrel=1e-12)[0] / z
            second = integrate.quad(weight, -30, 30, args=(2,), epsabs=0, epsrel=1e-12)[0] / z
            assert mean == pytest.approx(b[i] + W[i] @ h[0], rel=1e-9, abs=1e-9)
            assert second - mean**2 == pytest.approx(1.0, rel=1e-9)


def test_gaussian_sampler_draws_the_conditional():
    """With W = 0 the Gibbs sampler's visible draws are exactly N(b, I):
    N = 20000 per unit, |mean - b| <= 5 / sqrt(N) = 0.035 and
    |var - 1| <= 5 sqrt(2 / N) = 0.05 (normal-theory standard errors)."""
    b = np.array([-1.0, 0.5, 2.0])
    rbm = RBM.from_parameters(np.zeros((3, 2)), b, np.zeros(2), visible="gaussian")
    n = 20_000
    v = rbm.sample(n, n_gibbs=2, seed=4)
    assert np.all(np.abs(v.mean(axis=0) - b) <= 5 / math.sqrt(n))
    assert np.all(np.abs(v.var(axis=0) - 1.0) <= 5 * math.sqrt(2 / n))
    # Power twin: a shifted mean must be detected.
    assert np.any(np.abs(v.mean(axis=0) - (b + 0.1)) > 5 / math.sqrt(n))


def test_gaussian_sampler_kernel_has_unit_variance():
    """N = 200000 draws of mean + N(0, 1): |mean err| <= 5 / sqrt(N) = 0.011,
    |var - 1| <= 5 sqrt(2 / N) = 0.016 (normal-theory standard errors)."""
    n = 200_000
    mean = np.full((n, 1), 1.5)
    out = np.empty_like(mean)
    kernels.gaussian_visible_sample(mean, 123, out)
    assert abs(out.mean() - 1.5) <= 5 / math.sqrt(n)
    assert abs(out.var() - 1.0) <= 5 * math.sqrt(2 / n)


def test_log_partition_refuses_large_layers_and_bad_method(rng):
    rbm = RBM.from_parameters(*_params(rng, 30, 28))
    with pytest.raises(ValueError, match=r"2\*\*28 states.*max_units"):
        rbm.log_partition(method="exact")
    with pytest.raises(ValueError, match="method must be"):
        rbm.log_partition(method="magic")


# -------------------------------------------------------------- factor graph
def test_to_factor_graph_energies_match(rng):
    W, b, c = _params(rng)
    rbm = RBM.from_parameters(W, b, c)
    fg = rbm.to_factor_graph()
    assert fg.n_variables == N_VISIBLE + N_HIDDEN
    states = rng.integers(0, 2, size=(50, N_VISIBLE + N_HIDDEN))
    v, h = states[:, :N_VISIBLE], states[:, N_VISIBLE:]
    np.testing.assert_allclose(fg.energy(states), rbm.energy(v, h), rtol=1e-12, atol=1e-12)
    params = fg.parameters()
    np.testing.assert_array_equal(params["weights"], W)
    np.testing.assert_array_equal(params["visible_bias"], b)
    np.testing.assert_array_equal(params["hidden_bias"], c)


def test_factor_graph_log_partition_matches_exact(rng):
    from pgm.inference import exact
    rbm = RBM.from_parameters(*_params(rng))
    assert exact.log_partition(rbm.to_factor_graph()) == pytest.approx(
        rbm.log_partition(method="exact"), rel=1e-10
    )
    X = _all_states(N_VISIBLE)[::3]
    got = exact.log_likelihood(rbm.to_factor_graph(), X, visible=np.arange(N_VISIBLE))
    assert got == pytest.approx(rbm.log_likelihood(X), rel=1e-10)


def test_gaussian_to_factor_graph_is_refused(rng):
    rbm = RBM.from_parameters(*_params(rng), visible="gaussian")
    with pytest.raises(NotImplementedError, match="Gaussian-visible or Gaussian-hidden RBM has continuous"):
        rbm.to_factor_graph()


def test_ais_estimate_matches_exact(rng):
    """AIS log Z within 5 of its reported standard errors (plus 0.02 for the
    finite-temperature bias) of the exact value on a small model."""
    rbm = RBM.from_parameters(*_params(rng, 8, 6, scale=0.5))
    exact = rbm.log_partition(method="exact")
    from pgm.inference import ais

    result = ais.log_partition(rbm, n_chains=200, betas=1000, seed=0)
    assert abs(result.log_z - exact) <= 5 * result.log_z_std + 0.02
    assert rbm.log_partition(method="ais", n_chains=200, betas=1000, seed=0) == result.log_z


# ---------------------------------------------------------------- sampling
def test_sample_shapes_and_determinism(model):
    a = model.sample(6, n_gibbs=5, seed=3)
    b = model.sample(6, n_gibbs=5, seed=3)
    assert a.shape == (6, N_VISIBLE) and set(np.unique(a)) <= {0.0, 1.0}
    np.testing.assert_array_equal(a, b)
    init = np.ones((6, N_VISIBLE))
    assert model.sample(6, n_gibbs=1, init=init, seed=1).shape == (6, N_VISIBLE)
    with pytest.raises(ValueError, match="init must have n_samples = 4 rows"):
        model.sample(4, init=init)


def test_sample_frequencies_match_exact_distribution():
    """4000 independent chains, 30 sweeps each (the 16-state chain mixes in a
    few sweeps for these weights). Each state frequency must satisfy
    |p_hat - p| <= 5 sqrt(p (1 - p) / N) + 1 / N with N = 4000."""
    rng = np.random.default_rng(7)
    rbm = RBM.from_parameters(*_params(rng, 4, 3, scale=0.8))
    states = _all_states(4)
    p = np.exp(rbm.score_samples(states))
    n = 4000
    samples = rbm.sample(n, n_gibbs=30, seed=11)
    codes = samples @ (2 ** np.arange(3, -1, -1))
    freq = np.bincount(codes.astype(int), minlength=16) / n
    tol = 5 * np.sqrt(p * (1 - p) / n) + 1 / n
    assert np.all(np.abs(freq - p) <= tol)
    # Power twin: the same frequencies against a perturbed model must fail.
    W, b, c = rbm.weights_.copy(), rbm.visible_bias_, rbm.hidden_bias_
    W[0, 0] += 1.5
    q = np.exp(RBM.from_parameters(W, b, c).score_samples(states))
    assert np.any(np.abs(freq - q) > 5 * np.sqrt(q * (1 - q) / n) + 1 / n)


# ----------------------------------------------------------------- kernels
def test_bernoulli_kernel_branches_and_thread_independence():
    """p = 0 never fires and p = 1 always does; parallel output equals serial for
    any thread count (uniforms depend on position only)."""
    act = np.array([[-np.inf, np.inf] * 40_000])
    act = np.repeat(act, 2, axis=0)
    prob = np.empty_like(act)
    out = np.empty_like(act)
    kernels.sigmoid_bernoulli(act, 2.0, 99, True, prob, out)
    np.testing.assert_array_equal(out[:, 0::2], 0.0)
    np.testing.assert_array_equal(out[:, 1::2], 1.0)
    np.testing.assert_array_equal(prob[:, 1::2], 2.0)

    rng = np.random.default_rng(0)
    act = rng.normal(size=(300, 200))
    results = []
    before = numba.get_num_threads()
    try:
        for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(threads)
            prob, out = np.empty_like(act), np.empty_like(act)
            kernels.sigmoid_bernoulli(act, 1.0, 5, True, prob, out)
            results.append((prob, out))
    finally:
        numba.set_num_threads(before)
    prob_s, out_s = np.empty_like(act), np.empty_like(act)
    kernels.sigmoid_bernoulli_serial(act, 1.0, 5, True, prob_s, out_s)
    for prob, out in results:
        np.testing.assert_array_equal(prob, prob_s)
        np.testing.assert_array_equal(out, out_s)
    # The draws are Bernoulli(p): 60000 entries, mean of (sample - p) within
    # 5 * 0.5 / sqrt(60000) = 0.0102.
    assert abs((out_s - prob_s).mean()) <= 5 * 0.5 / math.sqrt(act.size)
    # A column slice of a wider buffer, overwritten in place (as the training
    # loop calls it): the same probabilities and draws as on the contiguous copy.
    wide = np.hstack([act, rng.normal(size=(300, 3))])
    view, sample = wide[:, :200], np.empty_like(act)
    kernels.sigmoid_bernoulli_serial(view, 1.0, 5, True, view, sample)
    np.testing.assert_array_equal(view, prob_s)
    np.testing.assert_array_equal(sample, out_s)


def test_uniform_generator_is_uniform():
    """Kolmogorov-Smirnov-style bound: 100000 uniforms in 10 bins, chi-square
    with 9 dof; p-value above 1e-4."""
    from scipy import stats

    u = np.array([kernels.uniform_at(2024, i) for i in range(100_000)])
    assert u.min() >= 0.0 and u.max() < 1.0
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    assert stats.chisquare(counts).pvalue > 1e-4


# ------------------------------------------------------------- persistence
def test_save_load_round_trip_is_exact(tmp_path, rng):
    X = rng.integers(0, 2, size=(40, N_VISIBLE)).astype(float)
    rbm = RBM(
        n_hidden=4,
        n_epochs=2,
        batch_size=8,
        random_state=1,
        momentum=0.5,
        sparsity_target=0.2,
        learning_rate_schedule=ExponentialDecay(0.9),
        dtype=np.float32,
        monitor=("reconstruction_error",),
    ).fit(X)
    path = tmp_path / "model.npz"
    rbm.save(path)
    loaded = RBM.load(path)
    for name in ("weights_", "visible_bias_", "hidden_bias_", "persistent_hidden_", "_velocity"):
        a, b = getattr(rbm, name), getattr(loaded, name)
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), name
    assert loaded.get_params() == rbm.get_params()
    assert loaded.history_ == rbm.history_
    assert loaded.n_iter_ == rbm.n_iter_ == 2
    np.testing.assert_array_equal(loaded.transform(X), rbm.transform(X))


@pytest.mark.parametrize("method", ["pcd", "cd"])
def test_training_resumes_identically_after_save_and_load(tmp_path, rng, method):
    """partial_fit, save, load, partial_fit equals two partial_fit calls on one
    object bit for bit: parameters, chains, momentum and the generator state
    all travel through the file."""
    X = rng.integers(0, 2, size=(40, N_VISIBLE)).astype(float)
    settings = dict(n_hidden=4, batch_size=8, method=method, momentum=0.6, random_state=3)
    straight = RBM(**settings).partial_fit(X[:20])
    resumed = RBM(**settings).partial_fit(X[:20])
    resumed.save(tmp_path / "half.npz")
    resumed = RBM.load(tmp_path / "half.npz")
    straight.partial_fit(X[20:])
    resumed.partial_fit(X[20:])
    for name in ("weights_", "visible_bias_", "hidden_bias_", "_velocity"):
        assert getattr(straight, name).tobytes() == getattr(resumed, name).tobytes(), name
    if method == "pcd":
        np.testing.assert_array_equal(straight.persistent_hidden_, resumed.persistent_hidden_)
    # And after fit (whose generator also drew the shuffles).
    fitted = RBM(n_hidden=3, n_epochs=2, random_state=1).fit(X)
    fitted.save(tmp_path / "fit.npz")
    again = RBM.load(tmp_path / "fit.npz")
    assert fitted.partial_fit(X).weights_.tobytes() == again.partial_fit(X).weights_.tobytes()


def test_hyper_parameters_keep_their_types_on_the_round_trip(tmp_path, rng):
    X = rng.integers(0, 2, size=(20, N_VISIBLE)).astype(float)
    for settings in (
        dict(random_state=np.int64(5), dtype=np.float32, monitor=("reconstruction_error",)),
        dict(random_state=7, dtype=np.dtype("float64"), monitor=["reconstruction_error"]),
        dict(dtype="float32", monitor="reconstruction_error", n_hidden=np.int32(3)),
        dict(learning_rate=np.float32(0.05), verbose=np.bool_(False), n_epochs=np.int64(2)),
    ):
        rbm = RBM(**{"n_hidden": 3, "n_epochs": 1, **settings}).fit(X)
        rbm.save(tmp_path / "m.npz")
        loaded = RBM.load(tmp_path / "m.npz")
        for name, value in rbm.get_params().items():
            got = loaded.get_params()[name]
            assert type(got) is type(value), (name, type(got), type(value))
            assert got == value, name
        assert clone(loaded).get_params() == loaded.get_params()


def _tamper(source, target, **changes):
    """Copy the archive ``source`` to ``target`` with entries replaced or (None) removed."""
    with np.load(source, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    for key, value in changes.items():
        if value is None:
            arrays.pop(key, None)
        else:
            arrays[key] = value
    np.savez(target, **arrays)
    return target


def _params_json(path, **changes):
    import json

    with np.load(path, allow_pickle=False) as archive:
        params = json.loads(str(archive["params_json"]))
    params.update(changes)
    return np.array(json.dumps(params))


@pytest.fixture
def saved(tmp_path, rng):
    X = rng.integers(0, 2, size=(30, N_VISIBLE)).astype(float)
    rbm = RBM(n_hidden=N_HIDDEN, n_epochs=2, batch_size=6, momentum=0.5, random_state=0).fit(X)
    path = tmp_path / "good.npz"
    rbm.save(path)
    return path


def test_load_validates_every_entry(saved, tmp_path):
    """Each tampered entry is refused with a ValueError naming the file and the
    entry, never accepted, broadcast or silently dropped."""
    bad = tmp_path / "bad.npz"
    W = np.zeros((N_VISIBLE, N_HIDDEN))
    nan_W = W.copy()
    nan_W[0, 0] = np.nan
    cases = [
        ({"visible_bias": np.zeros(1)}, r"visible_bias must have shape \(5,\)"),
        ({"hidden_bias": np.zeros((N_HIDDEN, 1))}, "hidden_bias must have shape"),
        ({"weights": np.zeros((N_VISIBLE, N_HIDDEN + 1))}, r"hidden_bias must have shape \(4,\)"),
        (
            {"weights": np.zeros((N_VISIBLE, N_HIDDEN + 1)), "hidden_bias": np.zeros(N_HIDDEN + 1)},
            "stored n_hidden is 3",
        ),
        ({"weights": np.zeros(N_VISIBLE)}, "weights must be 2-dimensional"),
        ({"weights": nan_W}, "weights must be finite"),
        ({"weights": np.full((N_VISIBLE, N_HIDDEN), np.inf)}, "weights must be finite"),
        ({"weights": W.astype(np.int64)}, "weights must have dtype float64"),
        ({"weights": W.astype(np.float32)}, "weights must have dtype float64"),
        ({"n_iter": np.array(-1)}, "n_iter must be >= 0"),
        ({"n_iter": np.array(1.5)}, "n_iter must be an integer scalar"),
        ({"n_features_in": np.array(4)}, "n_features_in is 4"),
        ({"persistent_hidden": np.zeros((2, N_HIDDEN))}, r"persistent_hidden must have shape"),
        ({"persistent_hidden": np.full((6, N_HIDDEN), 0.5)}, "persistent_hidden must be binary"),
        ({"velocity": np.zeros((N_VISIBLE, N_HIDDEN))}, r"velocity must have shape"),
        ({"velocity": np.full((N_VISIBLE + 1, N_HIDDEN + 1), np.nan)}, "velocity must be finite"),
        ({"history_keys": np.array(["accuracy"])}, "history_keys must be distinct names"),
        ({"history__learning_rate": None}, "lacks the history of 'learning_rate'"),
        ({"rng_state_json": np.array('{"bit_generator": "Evil"}')}, "must name a bit generator"),
        ({"rng_state_json": np.array('{"bit_generator": "PCG64", "state": 3}')}, "valid PCG64"),
        ({"extra": np.zeros(2)}, r"unknown entries \['extra'\]"),
        ({"weights": None}, r"lacks the entries \['weights'\]"),
    ]
    for changes, match in cases:
        _tamper(saved, bad, **changes)
        with pytest.raises(ValueError, match=match) as info:
            RBM.load(bad)
        assert "bad.npz" in str(info.value), changes
    params = [
        ({"n_hidden": -1}, "n_hidden must be an integer >= 1"),
        ({"visible": "poisson"}, "visible must be one of"),
        ({"momentum": 1.5}, r"momentum must lie in \[0, 1\)"),
        ({"dtype": "int8"}, "dtype must be numpy.float32"),
        ({"learning_rate_schedule": {"kind": "cosine"}}, "learning_rate_schedule"),
        ({"surprise": 1}, "stored hyper-parameters"),
    ]
    for changes, match in params:
        _tamper(saved, bad, params_json=_params_json(saved, **changes))
        with pytest.raises(ValueError, match=match) as info:
            RBM.load(bad)
        assert "bad.npz" in str(info.value), changes
    # Chains for a CD model, momentum buffers without momentum: refused too.
    for changes, match in (({"method": "cd"}, "holds persistent chains"), ({"momentum": 0.0},
                           "holds a momentum buffer")):  # fmt: skip
        _tamper(saved, bad, params_json=_params_json(saved, **changes))
        with pytest.raises(ValueError, match=match):
            RBM.load(bad)
    assert RBM.load(saved).n_iter_ == 2  # the untampered file loads


def test_load_wraps_unreadable_files(tmp_path, saved):
    text = tmp_path / "notes.npz"
    text.write_text("not an archive")
    with pytest.raises(ValueError, match=r"notes.npz' is not an .npz archive"):
        RBM.load(text)
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(ValueError, match="single .npy array"):
        RBM.load(single)
    truncated = tmp_path / "cut.npz"
    truncated.write_bytes(saved.read_bytes()[:400])
    with pytest.raises(ValueError, match="cut.npz"):
        RBM.load(truncated)
    with pytest.raises(FileNotFoundError):
        RBM.load(tmp_path / "missing.npz")


def test_load_rejects_foreign_files(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, a=np.arange(3))
    with pytest.raises(ValueError, match="not a saved pgm model"):
        RBM.load(path)
    np.savez(path, format_version=1, class_name="DBN", params_json="{}")
    with pytest.raises(ValueError, match="holds a DBN, not a RBM"):
        RBM.load(path)
    np.savez(path, format_version=99, class_name="RBM", params_json="{}")
    with pytest.raises(ValueError, match="format_version 99"):
        RBM.load(path)


def test_save_before_fit_raises(tmp_path):
    with pytest.raises(NotFittedError, match="not fitted"):
        RBM().save(tmp_path / "x.npz")


# ---------------------------------------------------------------- bad input
def test_transform_before_fit_raises():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        RBM().transform(np.zeros((2, 3)))


@pytest.mark.parametrize(
    ("X", "match"),
    [
        (np.array([[0.0, 2.0], [1.0, 0.0]]), r"values in \[0, 1\]"),
        (np.array([[0.0, -1.0], [1.0, 0.0]]), r"values in \[0, 1\]"),
        (np.array([[0.0, np.nan], [1.0, 0.0]]), "must be finite"),
        (np.array([[0.0, np.inf], [1.0, 0.0]]), "must be finite"),
        (np.zeros(4), "must be 2-dimensional"),
        (np.zeros((0, 4)), r"0 sample\(s\)"),
        (np.array([[1 + 1j, 0]]), "Complex data not supported"),
    ],
)
def test_fit_rejects_bad_data(X, match):
    with pytest.raises(ValueError, match=match):
        RBM(n_hidden=2, n_epochs=1).fit(X)


def test_likelihood_requires_exact_binary_data(model):
    with pytest.raises(ValueError, match=r"must be binary \(0/1\)"):
        model.log_likelihood(np.full((2, N_VISIBLE), 0.5))
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        model.score_samples(np.full((2, N_VISIBLE), 1.5))


def test_wrong_feature_count_at_transform(model):
    with pytest.raises(ValueError, match="X has 4 features, but RBM is expecting 5"):
        model.transform(np.zeros((2, 4)))


def test_energy_rejects_bad_hidden_states(model):
    with pytest.raises(ValueError, match="h must be binary"):
        model.energy(np.zeros((1, N_VISIBLE)), np.full((1, N_HIDDEN), 0.5))
    with pytest.raises(ValueError, match=r"h must have shape \(1, 3\)"):
        model.energy(np.zeros((1, N_VISIBLE)), np.zeros((1, 2)))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_hidden": 0}, "n_hidden must be an integer >= 1"),
        ({"n_hidden": 2.5}, "n_hidden must be an integer"),
        ({"visible": "poisson"}, "visible must be one of"),
        ({"method": "sgd"}, "method must be one of"),
        ({"k": 0}, "k must be an integer >= 1"),
        ({"learning_rate": 0.0}, "learning_rate must be a finite positive"),
        ({"learning_rate": -1.0}, "learning_rate must be a finite positive"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1"),
        ({"n_epochs": 0}, "n_epochs must be an integer >= 1"),
        ({"momentum": 1.0}, r"momentum must lie in \[0, 1\)"),
        ({"weight_decay": -0.1}, "weight_decay must be a finite non-negative"),
        ({"sparsity_target": 1.5}, r"sparsity_target must be None or a number in \(0, 1\)"),
        ({"sparsity_cost": -1}, "sparsity_cost must be a finite non-negative"),
        ({"learning_rate_schedule": "cosine"}, "learning_rate_schedule must be one of"),
        ({"n_chains": 0}, "n_chains must be an integer >= 1"),
        ({"dtype": np.int32}, "dtype must be numpy.float32 or numpy.float64"),
        ({"monitor": ("accuracy",)}, "monitor entries must be in"),
        ({"random_state": "seed"}, "random_state: seed must be None"),
        ({"random_state": -3}, "random_state: seed must be a non-negative"),
    ],
)
def test_bad_hyper_parameters(params, match):
    X = np.array([[0, 1, 1], [1, 0, 0]], dtype=float)
    rbm = RBM(**params)
    with pytest.raises(ValueError, match=match):
        rbm.fit(X)
    assert not hasattr(rbm, "weights_")


def test_monitor_requirements():
    X = np.zeros((4, 30))
    with pytest.raises(ValueError, match="monitor 'log_likelihood' needs exact log Z"):
        RBM(n_hidden=25, monitor=("log_likelihood",)).fit(X)
    with pytest.raises(ValueError, match="only defined for binary"):
        RBM(visible="gaussian", monitor=("pseudo_likelihood",)).fit(X)


def test_from_parameters_validates(rng):
    W, b, c = _params(rng)
    with pytest.raises(ValueError, match=r"visible_bias must have shape \(5,\)"):
        RBM.from_parameters(W, b[:4], c)
    with pytest.raises(ValueError, match=r"hidden_bias must have shape \(3,\)"):
        RBM.from_parameters(W, b, c[:2])
    with pytest.raises(ValueError, match="weights must be 2-dimensional"):
        RBM.from_parameters(W[0], b, c)
    bad = W.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="weights must be finite"):
        RBM.from_parameters(bad, b, c)
    rbm = RBM.from_parameters(W, b, c)
    assert rbm.n_features_in_ == N_VISIBLE and rbm.n_hidden == N_HIDDEN
    assert rbm.weights_.shape == (N_VISIBLE, N_HIDDEN)


def test_inputs_are_not_modified_and_float32_is_kept(rng):
    X = rng.integers(0, 2, size=(30, 6)).astype(np.float32)
    before = X.copy()
    rbm = RBM(n_hidden=3, n_epochs=2, batch_size=7, dtype=np.float32, random_state=0).fit(X)
    np.testing.assert_array_equal(X, before)
    assert rbm.weights_.dtype == np.float32
    assert rbm.transform(X).dtype == np.float32
    assert rbm.sample(2, n_gibbs=2, seed=0).dtype == np.float32


# ------------------------------------------------------- scikit-learn checks
# Every check below was run on the binary RBM with its [0, 1] domain check
# switched off, and all passed: each of these fails only because the check
# feeds values outside [0, 1] (normal or shifted-uniform data, integers up to
# 3 or around 100), which a binary RBM must refuse. The whole list therefore
# also runs, and must pass, on _SquashedRBM below, the binary RBM fed the
# same data mapped into (0, 1).
_DOMAIN = "the check feeds data outside [0, 1]; a binary RBM rejects it by design"
_BINARY_XFAILS = dict.fromkeys(BINARY_RANGE_CHECKS, _DOMAIN)


def _squash(X):
    """Finite real arrays mapped into (0, 1) elementwise; anything else (NaN/inf,
    strings, sparse) unchanged, so the checks' bad-input cases still reach the
    RBM's own validation."""
    if isinstance(X, (list, tuple)) or hasattr(X, "__array__"):
        arr = np.asarray(X)
        if arr.dtype.kind in "biuf" and np.all(np.isfinite(arr)):
            return expit(arr.astype(np.result_type(arr.dtype, np.float32)))
    return X


class _SquashedRBM(RBM):
    """The binary RBM behind a logistic squashing of its inputs (test only)."""

    def fit(self, X, y=None):
        return super().fit(_squash(X), y)

    def partial_fit(self, X, y=None):
        return super().partial_fit(_squash(X), y)

    def transform(self, X):
        return super().transform(_squash(X))

    def score_samples(self, X, log_z=None, *, seed=None):
        return super().score_samples(_squash(X), log_z, seed=seed)


def _expected_failures(estimator):
    if type(estimator) is RBM and estimator.visible == "binary":
        return _BINARY_XFAILS
    return {}


@parametrize_with_checks(
    [
        # Gaussian visible units accept any real data: the full API is checked.
        RBM(visible="gaussian", n_hidden=4, n_epochs=2, batch_size=10, random_state=0),
        RBM(n_hidden=4, n_epochs=2, batch_size=10, random_state=0),
        _SquashedRBM(n_hidden=4, n_epochs=2, batch_size=10, random_state=0),
    ],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_clone_and_params_round_trip():
    rbm = RBM(n_hidden=7, learning_rate=0.2, batch_size=5, n_epochs=3, random_state=4)
    assert clone(rbm).get_params() == rbm.get_params()
    rbm.set_params(n_hidden=9)
    assert rbm.n_hidden == 9
    assert set(rbm.get_params()) >= {"n_hidden", "n_epochs", "batch_size", "learning_rate"}


def test_counter_generator_same_compiled_and_interpreted():
    """The wrapping uint64 arithmetic gives the same stream under
    NUMBA_DISABLE_JIT (py_func) as compiled, with no overflow warnings."""
    for key, index in ((0, 0), (5, 3), (2**63 - 1, 10**12), (123456789, 2**40)):
        assert kernels.uniform_at(key, index) == kernels.uniform_at.py_func(key, index)
        assert kernels.normal_at(key, index) == kernels.normal_at.py_func(key, index)


# ------------------------------------------- fractional scores, sklearn API
def test_fractional_score_is_the_jensen_lower_bound(rng):
    """For v in [0, 1]^n, score_samples(v) = -F(v) - log Z and, -F being convex,
    it is at most E_{x ~ Bernoulli(v)} log p(x), computed here by summing over
    all 2^5 binary x with the brute-force free energy; equality at 0/1 rows."""
    W, b, c = _params(rng)
    rbm = RBM.from_parameters(W, b, c)
    states = _all_states(N_VISIBLE)
    log_z = rbm.log_partition(method="exact")
    log_p = np.array([-_brute_free_energy(x, W, b, c) for x in states]) - log_z
    V = rng.random((20, N_VISIBLE))
    V[:3] = states[[0, 9, 31]]  # binary rows: the bound is tight
    got = rbm.score_samples(V)
    for n, v in enumerate(V):
        weight = np.prod(np.where(states == 1, v, 1 - v), axis=1)
        expected = weight @ log_p
        assert got[n] <= expected + 1e-12
        assert got[n] == pytest.approx(-_brute_free_energy(v, W, b, c) - log_z, rel=1e-12)
    np.testing.assert_allclose(got[:3], log_p[[0, 9, 31]], rtol=1e-12)
    # Strictly below the expectation where v is fractional (a curved -F).
    assert np.all(got[3:] < np.array([np.prod(np.where(states == 1, v, 1 - v), axis=1) @ log_p
                                      for v in V[3:]]))  # fmt: skip
    assert rbm.score(V) == pytest.approx(got.mean(), rel=1e-14)


def test_grid_search_scores_fractional_data(rng):
    """GridSearchCV(RBM) on data in [0, 1] (what fit accepts) gets finite scores
    for every candidate and picks the best of them."""
    from sklearn.model_selection import GridSearchCV

    protos = np.array([[0.9, 0.8, 0.9, 0.1, 0.2, 0.1], [0.1, 0.2, 0.1, 0.9, 0.8, 0.9]])
    X = np.clip(protos[rng.integers(0, 2, 120)] + 0.05 * rng.normal(size=(120, 6)), 0, 1)
    search = GridSearchCV(
        RBM(n_epochs=15, random_state=0), {"n_hidden": [1, 4]}, cv=3, error_score="raise"
    ).fit(X)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores))
    assert search.best_params_["n_hidden"] in (1, 4)
    assert search.best_score_ == scores.max()


def test_feature_names_and_set_output(rng):
    X = rng.random((30, 4))
    rbm = RBM(n_hidden=3, n_epochs=2, random_state=0)
    with pytest.raises(NotFittedError):
        rbm.get_feature_names_out()
    rbm.fit(X)
    assert list(rbm.get_feature_names_out()) == ["rbm0", "rbm1", "rbm2"]
    default = rbm.set_output(transform="default").transform(X)
    assert isinstance(default, np.ndarray)
    np.testing.assert_array_equal(default, rbm.transform(X))


def test_pandas_output_in_a_pipeline(rng):
    """set_output(transform="pandas") on a pipeline: the RBM's output is a
    DataFrame with its feature names (pandas is optional, not a dependency)."""
    pd = pytest.importorskip("pandas")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    X = pd.DataFrame(rng.normal(size=(30, 4)), columns=list("abcd"))
    pipe = make_pipeline(MinMaxScaler(), RBM(n_hidden=3, n_epochs=2, random_state=0))
    out = pipe.set_output(transform="pandas").fit_transform(X)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["rbm0", "rbm1", "rbm2"]
    np.testing.assert_array_equal(out.index, X.index)
    rbm = pipe[-1]
    np.testing.assert_allclose(out.to_numpy(), rbm.transform(pipe[0].transform(X).to_numpy()))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"dtype": "bogus"}, "dtype must be numpy.float32 or numpy.float64, got 'bogus'"),
        ({"dtype": None}, "dtype must be numpy.float32 or numpy.float64, got None"),
        ({"momentum": "x"}, r"momentum must be a number in \[0, 1\), got 'x'"),
        ({"momentum": -0.1}, r"momentum must lie in \[0, 1\)"),
    ],
)
def test_bad_dtype_and_momentum_name_the_argument(params, match):
    rbm = RBM(n_hidden=2, **params)
    with pytest.raises(ValueError, match=match):
        rbm.fit(np.array([[0, 1, 1], [1, 0, 0]], dtype=float))
    assert not hasattr(rbm, "weights_")


def test_progress_bar_shows_full_monitor_names(capsys):
    X = np.array([[0, 1, 1], [1, 0, 0]] * 5, dtype=float)
    RBM(
        n_hidden=2,
        n_epochs=2,
        monitor=("reconstruction_error", "log_likelihood"),
        verbose=True,
        random_state=0,
    ).fit(X)
    err = capsys.readouterr().err
    assert "reconstruction_error=" in err and "log_likelihood=" in err
