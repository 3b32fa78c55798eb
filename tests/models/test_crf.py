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


# ------------------------------------------------------------ edge features
def _tiny_ef(rng, n=4, f=3, fe=2):
    feats, edges = _tiny(rng, n=n, f=f)
    return feats, edges, rng.normal(size=(len(edges), fe))


def _brute_ef(x, u, w, y):
    """log p(y | x) for the edge-feature CRF by itertools enumeration, written out
    from the definition E = -sum_i u[y_i].x_i - sum_e sum_f ef[e, f] w[f, y_i, y_j]."""
    feats, edges, ef = x
    k = u.shape[0]

    def neg_e(s):
        val = sum(u[s[i]] @ feats[i] for i in range(len(s)))
        return val + sum(ef[e] @ w[:, s[i], s[j]] for e, (i, j) in enumerate(edges))

    vals = np.array([neg_e(s) for s in itertools.product(range(k), repeat=feats.shape[0])])
    m = vals.max()
    return neg_e(y) - (m + np.log(np.exp(vals - m).sum()))


@pytest.mark.parametrize("potts", [False, True])
def test_edge_features_energy_matches_factor_graph(potts):
    rng = np.random.default_rng(20)
    x = _tiny_ef(rng)
    u = rng.normal(size=(3, 3))
    w = rng.normal(size=2) if potts else rng.normal(size=(2, 3, 3))
    crf = CRF.from_parameters(u, w, inference="exact")
    assert crf.pairwise_weights_.shape == (2, 3, 3)
    assert crf.pairwise == ("potts" if potts else "full")
    fg = crf.to_factor_graph(x)
    states = rng.integers(0, 3, size=(12, 4))
    np.testing.assert_allclose(crf.energy(x, states), fg.energy(states), rtol=1e-12, atol=1e-12)
    assert np.isclose(crf.log_partition(x), exact.log_partition(fg), rtol=1e-10)
    # and against the definition, written independently of both
    wf = crf.pairwise_weights_
    for s in states[:3]:
        direct = -sum(u[s[i]] @ x[0][i] for i in range(4))
        direct -= sum(x[2][e] @ wf[:, s[i], s[j]] for e, (i, j) in enumerate(x[1]))
        assert np.isclose(crf.energy(x, s), direct, rtol=1e-12)
    # the mean-field bound never exceeds the exact log Z
    mf = CRF.from_parameters(u, w, inference="mean_field")
    assert mf.mean_field_bound(x) <= crf.log_partition(x) + 1e-12


@pytest.mark.parametrize("pairwise", ["potts", "full"])
@pytest.mark.parametrize("learning", ["inference", "pseudo_likelihood"])
def test_edge_features_cll_and_gradient(pairwise, learning):
    rng = np.random.default_rng(21)
    X = [_tiny_ef(rng) for _ in range(2)]
    Y = [rng.integers(0, 3, size=4) for _ in range(2)]
    u = rng.normal(size=(3, 3))
    w = rng.normal(size=2) if pairwise == "potts" else rng.normal(size=(2, 3, 3))
    crf = CRF.from_parameters(u, w, inference="exact", learning=learning, alpha=0.1)
    if learning == "inference":
        brute = np.mean(
            [_brute_ef(x, u, crf.pairwise_weights_, y) for x, y in zip(X, Y, strict=True)]
        )
        # rtol: float64 rounding of a few hundred terms
        assert np.isclose(crf.conditional_log_likelihood(X, Y), brute, rtol=1e-10)
    data = crf._check_xy(X, Y, 3, 2)
    theta = rng.normal(size=9 + (2 if pairwise == "potts" else 18))
    _, g = crf._objective(theta, data, 3, 2)
    num = np.zeros_like(theta)
    h = 1e-6
    for j in range(len(theta)):
        tp, tm = theta.copy(), theta.copy()
        tp[j] += h
        tm[j] -= h
        num[j] = (crf._objective(tp, data, 3, 2)[0] - crf._objective(tm, data, 3, 2)[0]) / (2 * h)
    # central differences: O(h^2) truncation + O(eps/h) rounding, about 1e-9 here
    np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-7)


def test_edge_features_bp_on_a_tree_is_exact():
    rng = np.random.default_rng(22)
    feats = rng.normal(size=(5, 2))
    edges = np.array([[0, 1], [1, 2], [1, 3], [3, 4]])
    x = (feats, edges, rng.normal(size=(4, 2)))
    y = rng.integers(0, 3, size=5)
    u, w = rng.normal(size=(3, 2)), rng.normal(size=(2, 3, 3))
    ex = CRF.from_parameters(u, w, inference="exact")
    bp = CRF.from_parameters(u, w, inference="bp", tol=1e-12)
    # BP is exact on a tree; residual from the message tolerance only
    assert np.isclose(
        bp.conditional_log_likelihood([x], [y]), ex.conditional_log_likelihood([x], [y]), atol=1e-8
    )
    np.testing.assert_allclose(
        bp.predict_marginals([x])[0], ex.predict_marginals([x])[0], atol=1e-8
    )
    theta = ex._pack(ex.unary_weights_, ex.pairwise_weights_)
    data = ex._check_xy([x], [y], 2, 2)
    np.testing.assert_allclose(
        bp._objective(theta, data, 2, 2)[1], ex._objective(theta, data, 2, 2)[1], atol=1e-7
    )
    np.testing.assert_array_equal(bp.predict([x])[0], ex.predict([x])[0])


@pytest.mark.parametrize("inference", ["exact", "mean_field", "bp", "gibbs"])
@pytest.mark.parametrize("pairwise", ["potts", "full"])
def test_constant_edge_feature_equals_plain_crf(inference, pairwise):
    rng = np.random.default_rng(23)
    X2 = [_tiny(rng) for _ in range(2)]
    X3 = [(f, e, np.ones((len(e), 1))) for f, e in X2]
    Y = [rng.integers(0, 3, size=4) for _ in range(2)]
    u = rng.normal(size=(3, 3))
    if pairwise == "potts":
        wv = rng.normal()
        plain = CRF.from_parameters(u, wv * np.eye(3), pairwise="potts", inference=inference)
        ef = CRF.from_parameters(u, [wv], inference=inference)
    else:
        p = rng.normal(size=(3, 3))
        plain = CRF.from_parameters(u, p, inference=inference)
        ef = CRF.from_parameters(u, p[None], inference=inference)
    for a, b in zip(
        ef.predict_marginals(X3, seed=5), plain.predict_marginals(X2, seed=5), strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    for a, b in zip(ef.predict(X3, seed=5), plain.predict(X2, seed=5), strict=True):
        np.testing.assert_array_equal(a, b)
    if inference == "gibbs":
        return
    assert (
        abs(ef.conditional_log_likelihood(X3, Y) - plain.conditional_log_likelihood(X2, Y)) < 1e-12
    )
    theta = plain._pack(plain.unary_weights_, plain.pairwise_weights_)
    g2 = plain._objective(theta, plain._check_xy(X2, Y, 3), 3)[1]
    g3 = ef._objective(theta, ef._check_xy(X3, Y, 3, 1), 3, 1)[1]
    np.testing.assert_allclose(g3, g2, rtol=1e-12, atol=1e-12)


def test_edge_feature_fit_recovers_parameters():
    # Data sampled exactly (enumeration) from a known tiny Potts edge-feature CRF.
    rng = np.random.default_rng(24)
    n, k = 4, 2
    edges = np.array([[0, 1], [1, 2], [2, 3], [3, 0]])
    u_true = np.array([[0.8, -0.5], [-0.8, 0.5]])  # rows sum to 0: the L2 minimum-norm form
    w_true = np.array([0.9, -1.2])
    truth = CRF.from_parameters(u_true, w_true, inference="exact")
    X, Y = [], []
    for _ in range(400):
        x = (rng.normal(size=(n, 2)), edges, np.stack([np.ones(4), rng.normal(size=4)], axis=1))
        states, prob, _ = truth._enumerate(x[0], edges, u_true, truth._prepare(x)[2])
        X.append(x)
        Y.append(states[rng.choice(len(prob), p=prob)])
    est = CRF(n_labels=k, pairwise="potts", inference="exact", alpha=1e-4, max_iter=200).fit(X, Y)
    assert est.pairwise_weights_.shape == (2, 2, 2) and est.n_edge_features_in_ == 2
    w_hat = est.pairwise_weights_[:, 0, 0]
    # 400 examples x 4 edges: each weight's standard error is about 1/sqrt(1600 * var) ~ 0.05-0.1;
    # 0.35 is > 3.5 standard errors, and far below the distance from the start (0) to the truth
    np.testing.assert_allclose(w_hat, w_true, atol=0.35)
    np.testing.assert_allclose(est.unary_weights_, u_true, atol=0.35)
    # power twin: labels from a model with the pairwise weights negated give estimates that fail
    twin = CRF.from_parameters(u_true, -w_true, inference="exact")
    Yt = []
    for x in X:
        states, prob, _ = twin._enumerate(x[0], edges, u_true, twin._prepare(x)[2])
        Yt.append(states[rng.choice(len(prob), p=prob)])
    est_t = CRF(n_labels=k, pairwise="potts", inference="exact", alpha=1e-4, max_iter=200)
    est_t.fit(X, Yt)
    assert np.max(np.abs(est_t.pairwise_weights_[:, 0, 0] - w_true)) > 0.35


def test_edge_features_bad_input():
    rng = np.random.default_rng(25)
    feats, edges, ef = _tiny_ef(rng)
    crf = CRF.from_parameters(rng.normal(size=(3, 3)), rng.normal(size=(2, 3, 3)))
    y = np.zeros(4, dtype=int)
    with pytest.raises(ValueError, match="edge_features must have one row per edge"):
        crf.energy((feats, edges, ef[:-1]), y)
    with pytest.raises(ValueError, match="edge_features must have 2 columns"):
        crf.energy((feats, edges, ef[:, :1]), y)
    bad = ef.copy()
    bad[1, 0] = np.nan
    with pytest.raises(ValueError, match="edge_features must be finite"):
        crf.to_factor_graph((feats, edges, bad))
    with pytest.raises(TypeError, match="triple"):
        crf.energy((feats, edges), y)
    plain = CRF.from_parameters(rng.normal(size=(3, 3)), rng.normal(size=(3, 3)))
    with pytest.raises(TypeError, match="no edge features"):
        plain.energy((feats, edges, ef), y)
    # mixing 2- and 3-tuples in one X
    Y = [y, y]
    for X in ([(feats, edges, ef), (feats, edges)], [(feats, edges), (feats, edges, ef)]):
        with pytest.raises(TypeError, match=r"X\[1\].*same form"):
            CRF(n_labels=3, inference="exact").fit(X, Y)
    with pytest.raises(TypeError, match=r"X\[1\]"):
        crf.conditional_log_likelihood([(feats, edges, ef), (feats, edges)], Y)
    # from_parameters: shapes and finiteness, naming the argument
    u = rng.normal(size=(3, 3))
    with pytest.raises(ValueError, match=r"pairwise_weights must have shape \(n_edge_features, 3"):
        CRF.from_parameters(u, np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match=r"pairwise_weights must have shape \(n_edge_features, 3"):
        CRF.from_parameters(u, np.zeros((0, 3, 3)))
    with pytest.raises(ValueError, match="pairwise_weights must be finite"):
        CRF.from_parameters(u, [1.0, np.inf])
    with pytest.raises(ValueError, match="pairwise_weights must be finite"):
        CRF.from_parameters(u, np.full((1, 3, 3), np.nan))
    with pytest.raises(ValueError, match="unary_weights must be finite"):
        CRF.from_parameters(np.full((3, 3), np.nan), np.zeros((1, 3, 3)))


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"alpha": -1.0}, "alpha"),
        ({"max_iter": "a"}, "max_iter"),
        ({"damping": 1.0}, "damping"),
        ({"inference": "loopy"}, "inference"),
        ({"learning": "contrastive"}, "learning"),
        ({"n_labels": 1}, "n_labels"),
        ({"tol": 0.0}, "tol"),
    ],
)
def test_bad_hyper_parameters_are_named_and_leave_the_model_unfitted(kwargs, name):
    x = (np.ones((4, 2)), grid_edges(2, 2))
    crf = CRF(**kwargs)
    with pytest.raises(ValueError, match=name):
        crf.fit([x], [np.array([0, 1, 0, 1])])
    assert not hasattr(crf, "unary_weights_")
