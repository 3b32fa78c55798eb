"""CRF tests against brute-force enumeration (itertools) and finite differences."""

import itertools

import numpy as np
import pytest

from pgm.inference import exact
from pgm.models.crf import CRF, grid_edges


def _tiny(rng, n=4, f=3, k=3):
    feats = rng.normal(size=(n, f))
    edges = np.array([[0, 1], [1, 2], [2, 3], [3, 0]])[: max(n - 1, 0) + (n >= 4)]
    return feats, edges


def _brute_log_z(feats, edges, u, p):
    k = u.shape[0]
    vals = []
    for y in itertools.product(range(k), repeat=feats.shape[0]):
        e = -sum(u[y[i]] @ feats[i] for i in range(len(y))) - sum(p[y[i], y[j]] for i, j in edges)
        vals.append(-e)
    m = max(vals)
    return m + np.log(sum(np.exp(v - m) for v in vals))


def test_cll_matches_brute_force():
    rng = np.random.default_rng(0)
    x = _tiny(rng)
    u, p = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    crf = CRF.from_parameters(u, p, inference="exact")
    y = np.array([0, 2, 1, 1])
    brute = -(-sum(u[y[i]] @ x[0][i] for i in range(4)) - sum(p[y[i], y[j]] for i, j in x[1]))
    brute -= _brute_log_z(x[0], x[1], u, p)
    # rtol: float64 rounding of a few dozen terms
    assert np.isclose(crf.conditional_log_likelihood([x], [y]), brute, rtol=1e-10)


def test_factor_graph_energy_and_log_z():
    rng = np.random.default_rng(1)
    x = _tiny(rng)
    crf = CRF.from_parameters(rng.normal(size=(3, 3)), rng.normal(size=(3, 3)))
    fg = crf.to_factor_graph(x)
    states = rng.integers(0, 3, size=(10, 4))
    np.testing.assert_allclose(crf.energy(x, states), fg.energy(states), rtol=1e-12, atol=1e-12)
    assert np.isclose(crf.log_partition(x), exact.log_partition(fg), rtol=1e-10)


@pytest.mark.parametrize("pairwise", ["potts", "full"])
@pytest.mark.parametrize("learning", ["inference", "pseudo_likelihood"])
def test_gradient_finite_differences(pairwise, learning):
    rng = np.random.default_rng(2)
    X = [_tiny(rng) for _ in range(2)]
    Y = [rng.integers(0, 3, size=4) for _ in range(2)]
    crf = CRF(n_labels=3, pairwise=pairwise, inference="exact", learning=learning, alpha=0.1)
    data = crf._check_xy(X, Y, 3)
    theta = rng.normal(size=9 + (1 if pairwise == "potts" else 9))
    _, g = crf._objective(theta, data, 3)
    num = np.zeros_like(theta)
    for j in range(len(theta)):
        h = 6e-6 * max(1.0, abs(theta[j]))
        tp, tm = theta.copy(), theta.copy()
        tp[j] += h
        tm[j] -= h
        num[j] = (crf._objective(tp, data, 3)[0] - crf._objective(tm, data, 3)[0]) / (2 * h)
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-8)


def test_mean_field_bound_and_marginals():
    rng = np.random.default_rng(3)
    for _ in range(5):
        x = _tiny(rng)
        u, p = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
        crf = CRF.from_parameters(u, p, mean_field_iter=200)
        assert crf.mean_field_bound(x) <= crf.log_partition(x) + 1e-12
    # weak coupling: mean-field error is O(coupling^2); 0.01 coupling gives < 1e-3
    crf = CRF.from_parameters(u, 0.01 * p, mean_field_iter=200)
    q = crf.predict_marginals([x])[0]
    crf_exact = CRF.from_parameters(u, 0.01 * p, inference="exact")
    np.testing.assert_allclose(q, crf_exact.predict_marginals([x])[0], atol=1e-3)


def test_gibbs_marginals():
    rng = np.random.default_rng(4)
    x = _tiny(rng, k=2)
    u, p = rng.normal(size=(2, 3)), 0.5 * rng.normal(size=(2, 2))
    crf = CRF.from_parameters(u, p, inference="gibbs", n_samples=4000, burn_in=100, random_state=0)
    q = crf.predict_marginals([x])[0]
    q_ex = CRF.from_parameters(u, p, inference="exact").predict_marginals([x])[0]
    # one chain, autocorrelated: allow 5 sigma with an effective N of 4000/10
    tol = 5 * np.sqrt(0.25 / 400)
    np.testing.assert_allclose(q, q_ex, atol=tol)


def test_training_recovers_parameters():
    """Data sampled exactly from a tiny CRF; tolerance ~ 5 / sqrt(n_examples)."""
    rng = np.random.default_rng(5)
    k, _f, n = 2, 2, 3
    u_true = np.array([[1.0, -0.5], [-1.0, 0.5]])
    p_true = np.array([[0.8, -0.3], [-0.3, 0.8]])
    true = CRF.from_parameters(u_true, p_true, inference="exact")
    edges = np.array([[0, 1], [1, 2]])
    X, Y = [], []
    states = np.indices((k,) * n).reshape(n, -1).T
    for _ in range(1500):
        feats = np.column_stack([rng.normal(size=n), np.ones(n)])
        logp = -true.energy((feats, edges), states)
        prob = np.exp(logp - logp.max())
        prob /= prob.sum()
        X.append((feats, edges))
        Y.append(states[rng.choice(len(states), p=prob)])
    crf = CRF(n_labels=2, pairwise="full", inference="exact", alpha=0.0, max_iter=200).fit(X, Y)
    # unary and pairwise are identifiable only up to per-feature shifts across labels:
    # compare label differences
    du = crf.unary_weights_[1] - crf.unary_weights_[0]
    dp = crf.pairwise_weights_ - crf.pairwise_weights_[0, 0]
    tol = 5 / np.sqrt(1500) * 3
    np.testing.assert_allclose(du[0], (u_true[1] - u_true[0])[0], atol=tol)
    P = p_true - p_true[0, 0]
    # the bias-feature column and pairwise offsets trade off; compare the Potts-like contrast
    assert (
        abs((dp[0, 0] + dp[1, 1] - dp[0, 1] - dp[1, 0]) - (P[0, 0] + P[1, 1] - P[0, 1] - P[1, 0]))
        < 2 * tol
    )
    assert crf.score(X[:50], Y[:50]) > 0.5


def test_mean_field_fit_and_grid():
    rng = np.random.default_rng(6)
    edges = grid_edges(4, 4)
    assert edges.shape == (24, 2)
    assert grid_edges(3, 3, connectivity=8).shape == (12 + 8, 2)
    X, Y = [], []
    for _ in range(5):
        y = (rng.random(16) < 0.5).astype(int)
        feats = np.column_stack([y + 0.8 * rng.normal(size=16), np.ones(16)])
        X.append((feats, edges))
        Y.append(y)
    crf = CRF(n_labels=2, max_iter=30).fit(X, Y)
    assert crf.score(X, Y) > 0.7
    pl = CRF(n_labels=2, learning="pseudo_likelihood", max_iter=30).fit(X, Y)
    assert pl.score(X, Y) > 0.7


def test_bad_input():
    crf = CRF.from_parameters(np.zeros((2, 3)), np.zeros((2, 2)))
    feats = np.zeros((4, 3))
    with pytest.raises(ValueError, match="labels must lie in 0..1"):
        crf.conditional_log_likelihood([(feats, np.array([[0, 1]]))], [np.array([0, 2, 0, 0])])
    with pytest.raises(ValueError, match="edges name nodes outside 0..3"):
        crf.predict([(feats, np.array([[0, 4]]))])
    with pytest.raises(ValueError, match="labels must have shape"):
        crf.conditional_log_likelihood([(feats, np.array([[0, 1]]))], [np.array([0, 1])])
    with pytest.raises(ValueError, match="node_features must have 3 columns"):
        crf.predict([(np.zeros((4, 2)), np.array([[0, 1]]))])
    with pytest.raises(ValueError, match="pairwise_weights must have shape"):
        CRF.from_parameters(np.zeros((2, 3)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="not fitted"):
        CRF(n_labels=2).predict([(feats, np.array([[0, 1]]))])


def test_bad_input_types_and_values():
    crf = CRF.from_parameters(np.zeros((2, 3)), np.zeros((2, 2)))
    feats = np.zeros((4, 3))
    with pytest.raises(TypeError, match="pair"):
        crf.predict([feats])
    with pytest.raises(ValueError, match="node_features must be finite"):
        crf.predict([(np.full((4, 3), np.nan), np.array([[0, 1]]))])
    with pytest.raises(ValueError, match="edges must hold integers"):
        crf.predict([(feats, np.array([[0.5, 1.0]]))])
    with pytest.raises(ValueError, match="edges must have shape"):
        crf.predict([(feats, np.array([[0, 1, 2]]))])
    with pytest.raises(ValueError, match="self-loops"):
        crf.predict([(feats, np.array([[1, 1]]))])
    with pytest.raises(ValueError, match="labels must hold integers"):
        crf.conditional_log_likelihood([(feats, np.array([[0, 1]]))], [np.array([0, 0.5, 0, 0])])


def test_bp_exact_on_a_tree_and_gradient():
    """On a chain, BP marginals, Bethe log Z and the learning gradient are exact."""
    rng = np.random.default_rng(8)
    feats = rng.normal(size=(5, 3))
    chain = np.array([[0, 1], [1, 2], [2, 3], [3, 4]])
    u, p = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    x = (feats, chain)
    bp = CRF.from_parameters(u, p, inference="bp", tol=1e-12)
    ex = CRF.from_parameters(u, p, inference="exact")
    # tol 1e-12 on log messages: beliefs exact to ~1e-10
    np.testing.assert_allclose(
        bp.predict_marginals([x])[0], ex.predict_marginals([x])[0], atol=1e-9
    )
    y = rng.integers(0, 3, size=5)
    assert np.isclose(
        bp.conditional_log_likelihood([x], [y]), ex.conditional_log_likelihood([x], [y]), rtol=1e-9
    )
    np.testing.assert_array_equal(bp.predict([x])[0], ex.predict([x])[0])
    est = CRF(n_labels=3, pairwise="full", inference="bp", alpha=0.1, tol=1e-12)
    data = est._check_xy([x], [y], 3)
    theta = rng.normal(size=18)
    _, g = est._objective(theta, data, 3)
    num = np.zeros_like(theta)
    for j in range(len(theta)):
        tp, tm = theta.copy(), theta.copy()
        tp[j] += 1e-6
        tm[j] -= 1e-6
        num[j] = (est._objective(tp, data, 3)[0] - est._objective(tm, data, 3)[0]) / 2e-6
    np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-7)


def test_bp_fit_on_a_grid():
    rng = np.random.default_rng(9)
    edges = grid_edges(3, 3)
    X, Y = [], []
    for _ in range(6):
        y = (rng.random(9) < 0.5).astype(int)
        X.append((np.column_stack([y + 0.8 * rng.normal(size=9), np.ones(9)]), edges))
        Y.append(y)
    crf = CRF(n_labels=2, inference="bp", max_iter=50).fit(X, Y)
    best = CRF(n_labels=2, inference="exact", max_iter=50).fit(X, Y)
    ex = CRF.from_parameters(crf.unary_weights_, crf.pairwise_weights_, inference="exact")
    # loopy BP's Bethe estimate is close to exact log Z on a weakly coupled 3x3 grid ...
    assert abs(crf.conditional_log_likelihood(X, Y) - ex.conditional_log_likelihood(X, Y)) < 0.1
    # ... so BP learning lands near the exact maximum of the conditional likelihood
    exact_best = best.conditional_log_likelihood(X, Y)
    assert ex.conditional_log_likelihood(X, Y) > exact_best - 0.05
