"""RBM with Gaussian (linear, unit-variance) hidden units: against brute force and integrals.

References are written from the energy ``E(v, h) = |h|^2 / 2 - b.v - c.h - v W h``
(binary v, real h): numerical integrals over h with scipy, enumeration over v,
finite differences; they never call the code under test.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from scipy import integrate

from pgm.models import RBM
from tests.models.test_rbm import _params as rbm_params

N_VISIBLE, N_HIDDEN = 4, 2


def _params(rng, n_visible=N_VISIBLE, n_hidden=N_HIDDEN, scale=0.6):
    """(W, b, c) of the RBM tests' generator, smaller by default."""
    return rbm_params(rng, n_visible, n_hidden, scale)


def _brute_energy(v, h, W, b, c):
    e = 0.5 * sum(x * x for x in h) - sum(v[i] * b[i] for i in range(len(v)))
    for j in range(len(h)):
        e -= h[j] * c[j]
        for i in range(len(v)):
            e -= v[i] * W[i, j] * h[j]
    return e


def _integrated_free_energy(v, W, b, c):
    """-log of the integral of exp(-E(v, h)) over R^2 (two hidden units), by dblquad."""

    def density(h2, h1):
        return math.exp(-_brute_energy(v, [h1, h2], W, b, c))

    value, _ = integrate.dblquad(density, -15, 15, -15, 15, epsabs=1e-13, epsrel=1e-11)
    return -math.log(value)


def _all_states(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def _gaussian(rng, **params):
    return RBM.from_parameters(*_params(rng), hidden="gaussian", **params)


def test_energy_matches_brute_force(rng):
    W, b, c = _params(rng)
    rbm = RBM.from_parameters(W, b, c, hidden="gaussian")
    v = _all_states(N_VISIBLE)[[0, 5, 15]]
    h = rng.normal(size=(3, N_HIDDEN))
    want = [_brute_energy(v[n], h[n], W, b, c) for n in range(3)]
    np.testing.assert_allclose(rbm.energy(v, h), want, rtol=1e-12)


def test_free_energy_matches_numerical_integral(rng):
    W, b, c = _params(rng)
    rbm = RBM.from_parameters(W, b, c, hidden="gaussian")
    v = _all_states(N_VISIBLE)[[0, 6, 9, 15]]
    want = [_integrated_free_energy(row, W, b, c) for row in v]
    np.testing.assert_allclose(rbm.free_energy(v), want, rtol=1e-8)


def test_layered_engine_agrees_and_log_partition_is_exact(rng):
    W, b, c = _params(rng)
    rbm = RBM.from_parameters(W, b, c, hidden="gaussian")
    core = rbm.to_layered()
    assert [u.name for u in core.units] == ["binary", "gaussian"]
    states = _all_states(N_VISIBLE)
    brute = [_integrated_free_energy(row, W, b, c) for row in states]
    log_z = math.log(sum(math.exp(-f) for f in brute))
    assert rbm.log_partition(method="exact") == pytest.approx(log_z, rel=1e-9)
    assert rbm.log_partition() == pytest.approx(log_z, rel=1e-9)  # auto: exact here
    assert np.exp(rbm.score_samples(states)).sum() == pytest.approx(1.0, rel=1e-12)


def test_transform_is_the_conditional_mean_and_samples_have_unit_variance(rng):
    W, b, c = _params(rng)
    rbm = RBM.from_parameters(W, b, c, hidden="gaussian")
    v = _all_states(N_VISIBLE)
    np.testing.assert_allclose(rbm.transform(v), v @ W + c, rtol=1e-13)
    # Moments of h | v by quadrature of exp(-E) in h (one unit: the energy factorises).
    row = v[11]
    for j in range(N_HIDDEN):
        a = c[j] + row @ W[:, j]
        weights = [
            integrate.quad(lambda x, k=k, a=a: x**k * math.exp(a * x - x * x / 2), -20, 20)[0]
            for k in range(3)
        ]
        mean = weights[1] / weights[0]
        assert rbm.transform(row[None])[0, j] == pytest.approx(mean, rel=1e-9)
        assert weights[2] / weights[0] - mean**2 == pytest.approx(1.0, rel=1e-9)


def test_gibbs_hidden_draws_have_the_conditional_moments(rng):
    """The training sampler: h | v ~ N(c + v W, 1)."""
    from pgm.layered.two_layer import hidden_step

    act = np.tile(np.array([[-1.5, 0.3, 2.0]]), (40000, 1))
    mean = np.empty_like(act)
    h = np.empty_like(act)
    hidden_step("gaussian", act.copy(), 2.0, 7, True, mean, h)
    np.testing.assert_allclose(mean, 2.0 * act)
    np.testing.assert_allclose(h.mean(axis=0), act[0], atol=0.03)
    np.testing.assert_allclose(h.var(axis=0), 1.0, atol=0.03)


def test_free_energy_gradient_matches_central_differences(rng):
    W, b, c = _params(rng)
    rbm = RBM.from_parameters(W, b, c, hidden="gaussian")
    v = _all_states(N_VISIBLE)[[1, 7, 12]]
    grad = rbm.free_energy_gradient(v)
    eps = 1e-6
    for name, array in (("weights", W), ("visible_bias", b), ("hidden_bias", c)):
        numeric = np.zeros_like(array)
        for idx in np.ndindex(array.shape):
            plus, minus = array.copy(), array.copy()
            plus[idx] += eps
            minus[idx] -= eps
            pars = {"weights": W, "visible_bias": b, "hidden_bias": c}
            f = []
            for changed in (plus, minus):
                pars[name] = changed
                model = RBM.from_parameters(
                    pars["weights"], pars["visible_bias"], pars["hidden_bias"], hidden="gaussian"
                )
                f.append(model.free_energy(v).mean())
            numeric[idx] = (f[0] - f[1]) / (2 * eps)
        np.testing.assert_allclose(grad[name], numeric, rtol=1e-6, atol=1e-9)


def _exact_log_likelihood_gradient(rbm, X):
    """d mean log p(X) / d theta = -<dF/dtheta>_data + <dF/dtheta>_model (enumerating v)."""
    states = _all_states(X.shape[1])
    p = np.exp(rbm.score_samples(states))
    data = rbm.free_energy_gradient(X)
    W, b, c = (np.asarray(a, float) for a in (rbm.weights_, rbm.visible_bias_, rbm.hidden_bias_))
    mean_h = states @ W + c
    model = {
        "weights": -(states * p[:, None]).T @ mean_h,
        "visible_bias": -(p @ states),
        "hidden_bias": -(p @ mean_h),
    }
    return {k: model[k] - data[k] for k in data}


@pytest.mark.parametrize(("method", "k", "min_cos"), [("cd", 1, 0.3), ("cd", 25, 0.95),
                                                       ("pcd", 25, 0.9)])  # fmt: skip
def test_cd_step_follows_the_likelihood_gradient(rng, method, k, min_cos):
    """One small full-batch step of CD-k moves along the exact log-likelihood gradient."""
    W, b, c = _params(rng, scale=0.3)
    X = (rng.random((20000, N_VISIBLE)) < np.array([0.9, 0.1, 0.8, 0.3])).astype(float)
    rbm = RBM.from_parameters(
        W, b, c, hidden="gaussian", method=method, k=k, learning_rate=1e-3, momentum=0.0,
        batch_size=X.shape[0], n_epochs=1, random_state=3,
    )  # fmt: skip
    exact = _exact_log_likelihood_gradient(rbm, X)
    rbm.partial_fit(X)
    step = np.concatenate([(rbm.weights_ - W).ravel(), rbm.visible_bias_ - b, rbm.hidden_bias_ - c])
    want = np.concatenate([exact["weights"].ravel(), exact["visible_bias"], exact["hidden_bias"]])
    cos = step @ want / (np.linalg.norm(step) * np.linalg.norm(want))
    assert cos > min_cos


def test_training_raises_the_likelihood(rng):
    X = (rng.random((600, N_VISIBLE)) < np.array([0.9, 0.1, 0.8, 0.3])).astype(float)
    X[::2, 1] = X[::2, 0]  # some correlation for the hidden units to carry
    rbm = RBM(
        N_HIDDEN, hidden="gaussian", method="cd", learning_rate=0.01, batch_size=20,
        n_epochs=30, momentum=0.5, random_state=0,
    )  # fmt: skip
    before = RBM.from_parameters(
        np.zeros((N_VISIBLE, N_HIDDEN)), np.zeros(N_VISIBLE), np.zeros(N_HIDDEN),
        hidden="gaussian",
    ).log_likelihood(X)  # fmt: skip
    rbm.fit(X)
    assert np.all(np.isfinite(rbm.weights_))
    assert rbm.log_likelihood(X) > before + 0.5


def test_save_load_round_trip_and_old_archives_default_to_binary(tmp_path, rng):
    X = (rng.random((40, N_VISIBLE)) < 0.5).astype(float)
    rbm = RBM(N_HIDDEN, hidden="gaussian", method="pcd", n_epochs=2, batch_size=10,
              learning_rate=0.01, random_state=0).fit(X)  # fmt: skip
    path = tmp_path / "g.npz"
    rbm.save(path)
    back = RBM.load(path)
    assert back.hidden == "gaussian"
    np.testing.assert_array_equal(back.weights_, rbm.weights_)
    np.testing.assert_array_equal(back.persistent_hidden_, rbm.persistent_hidden_)
    np.testing.assert_array_equal(back.free_energy(X), rbm.free_energy(X))
    # An archive written before ``hidden`` existed (binary model) has no such key.
    binary = RBM(N_HIDDEN, n_epochs=1, batch_size=10, random_state=0).fit(X)
    old = tmp_path / "old.npz"
    binary.save(old)
    with np.load(old, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    params = json.loads(str(arrays["params_json"]))
    del params["hidden"]
    arrays["params_json"] = np.array(json.dumps(params))
    np.savez(old, **arrays)
    loaded = RBM.load(old)
    assert loaded.hidden == "binary"
    np.testing.assert_array_equal(loaded.transform(X), binary.transform(X))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"hidden": "linear"}, "hidden"),
        ({"hidden": "gaussian", "visible": "gaussian"}, "visible='binary'"),
        ({"hidden": "gaussian", "method": "pt"}, "method"),
        ({"hidden": "gaussian", "algorithm": "sparse"}, "algorithm='sparse'"),
    ],
)
def test_bad_combinations_name_the_argument(params, match):
    X = np.array([[0.0, 1.0], [1.0, 0.0]] * 5)
    with pytest.raises(ValueError, match=match):
        RBM(2, **params).fit(X)


def test_factor_graph_and_ais_are_refused(rng):
    rbm = _gaussian(rng)
    with pytest.raises(NotImplementedError, match="Gaussian-hidden"):
        rbm.to_factor_graph()
    with pytest.raises(ValueError, match="AIS needs binary hidden units"):
        rbm.log_partition(method="ais")
