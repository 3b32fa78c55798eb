"""DBN estimator: exact checks on tiny models against an independent brute force.

The brute force below is written from the definition (Hinton et al. 2006):
``p(v) = sum_h P_0[v, h_1] P_1[h_1, h_2] ... p_top(h_{L-1})`` with the
directed conditionals ``P_l[x, h] = prod_i sigmoid((2 x_i - 1)(b_l,i + W_l[i] . h))``
tabulated over all states, and the top marginal ``p_top(h_{L-1})`` summed over
every state of ``h_L`` (and the label) by itertools. It never calls the
model's own free energies.
"""

import itertools
import math

import numpy as np
import pytest
from scipy.stats import chisquare

from pgm._validation import NotFittedError
from pgm.inference import exact
from pgm.models import DBN, RBM


# ----------------------------------------------------------------- brute force
def _states(n):
    """All 2**n binary vectors, first unit slowest (itertools order)."""
    return np.array(list(itertools.product((0, 1), repeat=n)), dtype=float).reshape(2**n, n)


def _index(x):
    """Row index of each binary row in :func:`_states` order."""
    x = np.asarray(x, dtype=np.int64)
    return x @ (1 << np.arange(x.shape[1] - 1, -1, -1))


def _directed(W, b):
    """``P[x, h] = p(x | h)`` over all states of x (rows of W) and h (columns)."""
    X, H = _states(W.shape[0]), _states(W.shape[1])
    P = np.ones((len(X), len(H)))
    for i, x in enumerate(X):
        for j, h in enumerate(H):
            for u in range(W.shape[0]):
                a = b[u] + W[u] @ h
                P[i, j] *= 1.0 / (1.0 + math.exp(-a)) if x[u] else 1.0 / (1.0 + math.exp(a))
    return P


def _top_unnormalised(W, b, c, U=None, d=None):
    """``sum_{h_L, y} exp(-E_top)`` per state of ``h_{L-1}``, shape (2**n, K or 1)."""
    A, B = _states(W.shape[0]), _states(W.shape[1])
    K = 1 if U is None else U.shape[0]
    out = np.zeros((len(A), K))
    for i, a in enumerate(A):
        for k in range(K):
            for h in B:
                e = a @ W @ h + b @ a + c @ h
                if U is not None:
                    e += U[k] @ h + d[k]
                out[i, k] += math.exp(e)
    return out


def _exact_p_v(dbn, label=None):
    """Exact ``p(v)`` (or ``p(v | y = label)``) of a DBN, by the brute force above."""
    W, b = dbn.weights_, dbn.biases_
    top = _top_unnormalised(W[-1], b[-2], b[-1], dbn.label_weights_, dbn.label_bias_)
    p = top[:, label] if label is not None else top.sum(axis=1)
    p = p / p.sum()
    for l in range(len(W) - 2, -1, -1):
        p = _directed(W[l], b[l]) @ p
    return p


def _dbn(sizes=(5, 4, 3), seed=0, scale=1.0, n_classes=None, untied=False):
    rng = np.random.default_rng(seed)
    w = [rng.normal(0, scale, (a, b)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    bs = [rng.normal(0, 0.5, n) for n in sizes]
    kw = {}
    if n_classes:
        kw["label_weights"] = rng.normal(0, 1.5, (n_classes, sizes[-1]))
        kw["label_bias"] = rng.normal(0, 0.5, n_classes)
    if untied:
        kw["recognition_weights"] = [rng.normal(0, scale, x.shape) for x in w[:-1]]
        kw["recognition_biases"] = [rng.normal(0, 0.5, n) for n in sizes[1:-1]]
    return DBN.from_parameters(w, bs, **kw)


def _chi2_pvalue(samples, p):
    """Chi-square p-value of sampled visible states against ``p`` (expected < 5 pooled)."""
    n = samples.shape[0]
    counts = np.bincount(_index(samples), minlength=len(p)).astype(float)
    expected = n * p
    small = expected < 5
    obs = np.append(counts[~small], counts[small].sum())
    exp = np.append(expected[~small], expected[small].sum())
    keep = exp > 0
    obs, exp = obs[keep], exp[keep]
    return chisquare(obs, exp * obs.sum() / exp.sum()).pvalue


# ----------------------------------------------------------------- sampling
# N = 20000 independent chains, one draw each after n_gibbs sweeps of a 4-3 top
# RBM (|weights| ~ 1: it mixes in a few sweeps, so after 100 the chains are at
# stationarity to far below sampling error). Each sampled v is then an exact
# draw of the model's p(v); the chi-square test over the 32 states (pooled
# below 5 expected counts) must give a p-value above 1e-4 (a false alarm once
# in 10^4 runs). The power twins compare the same draws with a target whose
# bottom weight W_0[0, 0] moved by 1.0 (p(v_0) shifts by ~0.2, a chi-square of
# thousands at this N): the p-value must drop below 1e-4.
N_CHAINS = 20000


def _perturbed(dbn):
    W = [w.copy() for w in dbn.weights_]
    W[0][0, 0] += 1.0
    kw = {}
    if dbn.label_weights_ is not None:
        kw = {"label_weights": dbn.label_weights_, "label_bias": dbn.label_bias_}
    return DBN.from_parameters(W, dbn.biases_, **kw)


@pytest.mark.parametrize("sizes", [(5, 4, 3), (4, 3, 3, 2)])
def test_samples_match_exact_p_v(sizes):
    dbn = _dbn(sizes, seed=1)
    samples = dbn.sample(N_CHAINS, n_gibbs=100, seed=2)
    assert samples.dtype == np.int64 and samples.shape == (N_CHAINS, sizes[0])
    assert _chi2_pvalue(samples, _exact_p_v(dbn)) > 1e-4


def test_samples_power_twin_fails_on_perturbed_target():
    dbn = _dbn((5, 4, 3), seed=1)
    samples = dbn.sample(N_CHAINS, n_gibbs=100, seed=2)
    assert _chi2_pvalue(samples, _exact_p_v(_perturbed(dbn))) < 1e-4


def test_sample_with_labels_marginal_and_clamped_label_conditional():
    dbn = _dbn((5, 4, 3), seed=3, n_classes=3)
    free = dbn.sample(N_CHAINS, n_gibbs=100, seed=4)
    assert _chi2_pvalue(free, _exact_p_v(dbn)) > 1e-4
    for k in range(3):
        clamped = dbn.sample(N_CHAINS, n_gibbs=100, seed=5 + k, label=k)
        assert _chi2_pvalue(clamped, _exact_p_v(dbn, label=k)) > 1e-4
    # power twin: the draws with label 0 clamped do not fit p(v | y = 1), nor a perturbed model
    clamped = dbn.sample(N_CHAINS, n_gibbs=100, seed=5, label=0)
    assert _chi2_pvalue(clamped, _exact_p_v(dbn, label=1)) < 1e-4
    assert _chi2_pvalue(clamped, _exact_p_v(_perturbed(dbn), label=0)) < 1e-4


def test_sample_same_seed_same_result_and_mean():
    dbn = _dbn((5, 4, 3), seed=1, n_classes=2)
    a = dbn.sample(7, n_gibbs=5, seed=11, label=[0, 1, 0, 1, 0, 1, 0])
    b = dbn.sample(7, n_gibbs=5, seed=11, label=[0, 1, 0, 1, 0, 1, 0])
    np.testing.assert_array_equal(a, b)
    m = dbn.sample(7, n_gibbs=5, seed=11, return_mean=True)
    assert m.dtype == np.float64 and np.all((m > 0) & (m < 1))


# ----------------------------------------------------------------- log Z and the bound
@pytest.mark.parametrize("n_classes", [None, 3])
def test_log_partition_exact_and_ais(n_classes):
    dbn = _dbn((5, 4, 3), seed=6, n_classes=n_classes)
    ref = math.log(_top_unnormalised(
        dbn.weights_[-1], dbn.biases_[-2], dbn.biases_[-1], dbn.label_weights_, dbn.label_bias_
    ).sum())  # fmt: skip
    np.testing.assert_allclose(dbn.log_partition("exact"), ref, rtol=1e-12)
    # AIS on this 4-3 RBM (per label), 1000 betas, 200 chains: the error's standard deviation
    # over 10 seeds measured 0.0045 (0.0036 with labels); 0.03 is over 6 sigma
    assert abs(dbn.log_partition("ais", n_chains=200, betas=1000, seed=0) - ref) < 0.03


def _all_v(n):
    return _states(n)


@pytest.mark.parametrize(
    ("sizes", "n_classes", "untied"),
    [((5, 4, 3), None, False), ((4, 3, 3, 2), None, True), ((5, 4, 3), 3, True)],
)
def test_bound_never_exceeds_exact_log_p_v(sizes, n_classes, untied):
    dbn = _dbn(sizes, seed=7, n_classes=n_classes, untied=untied)
    V = _all_v(sizes[0])
    exact_log_p = np.log(_exact_p_v(dbn))
    bound = dbn.log_likelihood_lower_bound(V, method="exact", per_row=True)
    assert np.all(bound <= exact_log_p + 1e-10)
    # and it is a real approximation here: the recognition posterior is not exact
    assert np.max(exact_log_p - bound) > 1e-3
    np.testing.assert_allclose(
        dbn.log_likelihood_lower_bound(V, method="exact"), bound.mean(), rtol=1e-12
    )


def test_sampled_bound_is_unbiased_for_exact_bound():
    """Mean of 4000 one-draw estimates within 5 standard errors of the enumerated bound."""
    dbn = _dbn((4, 3, 3, 2), seed=8, untied=True)
    V = _all_v(4)[[0, 5, 11]]
    log_z = dbn.log_partition("exact")
    ref = dbn.log_likelihood_lower_bound(V, method="exact", per_row=True, log_z=log_z)
    draws = np.array([
        dbn.log_likelihood_lower_bound(V, method="sample", n_draws=1, per_row=True, seed=s,
                                       log_z=log_z)
        for s in range(4000)
    ])  # fmt: skip
    se = draws.std(axis=0) / math.sqrt(draws.shape[0])
    assert np.all(np.abs(draws.mean(axis=0) - ref) <= 5 * se + 1e-12)
    many = dbn.log_likelihood_lower_bound(
        V, method="sample", n_draws=4000, per_row=True, seed=0, log_z=log_z
    )
    assert np.all(np.abs(many - ref) <= 5 * draws.std(axis=0) / math.sqrt(4000) + 1e-12)


def _rbm_exact_log_p(W, b, c):
    V, H = _states(W.shape[0]), _states(W.shape[1])
    un = np.exp(V @ W @ H.T + (V @ b)[:, None] + (H @ c)[None, :]).sum(axis=1)
    return np.log(un / un.sum())


def test_one_layer_bound_is_exact_and_transposed_layer_keeps_it():
    """Seed 002: a DBN = RBM has exact bound; stacking the RBM's transpose changes nothing.

    With top RBM ``(W^T, c, b)`` over ``(h_1, h_2)`` the DBN's ``p(h_1)`` is the
    RBM's marginal, ``p(v | h_1)`` its conditional, and ``Q(h_1 | v)`` its exact
    posterior, so the greedy bound equals the RBM's exact ``log p(v)``.
    """
    rng = np.random.default_rng(9)
    W, b, c = rng.normal(0, 1.0, (5, 4)), rng.normal(0, 0.5, 5), rng.normal(0, 0.5, 4)
    V = _all_v(5)
    ref = _rbm_exact_log_p(W, b, c)
    one = DBN.from_parameters([W], [b, c])
    np.testing.assert_allclose(one.log_likelihood_lower_bound(V, per_row=True), ref, rtol=1e-10)
    two = DBN.from_parameters([W, W.T], [b, c, b], recognition_biases=[c])
    np.testing.assert_allclose(two.log_likelihood_lower_bound(V, per_row=True), ref, rtol=1e-10)
    np.testing.assert_allclose(np.log(_exact_p_v(two)), ref, rtol=1e-10)
    # power twin: a top RBM that is not the transpose gives a strictly looser bound
    off = DBN.from_parameters([W, W.T + 0.5], [b, c, b], recognition_biases=[c])
    assert np.mean(off.log_likelihood_lower_bound(V, per_row=True) - ref) < -1e-3


def test_training_the_added_layer_does_not_lower_the_bound():
    """Seed 002: from the transposed init, fitting p_top(h_1) to Q(h_1 | v) raises the bound.

    The bound is ``E_Q[log p_top(h_1)] + const`` in the top RBM's parameters, so
    maximum-likelihood training of the top RBM on draws of the aggregated
    posterior raises it in expectation; checked on three seeds (CD-10, 20 epochs).
    """
    gains = []
    for seed in range(3):
        rng = np.random.default_rng(seed)
        W, b, c = rng.normal(0, 1.0, (5, 4)), rng.normal(0, 0.5, 5), rng.normal(0, 0.5, 4)
        protos = (rng.random((3, 5)) < 0.5).astype(float)
        X = np.abs(protos[rng.integers(0, 3, 300)] - (rng.random((300, 5)) < 0.1))
        two = DBN.from_parameters([W, W.T], [b, c, b], recognition_biases=[c])
        before = two.log_likelihood_lower_bound(X)
        np.testing.assert_allclose(before, _rbm_exact_log_p(W, b, c)[_index(X)].mean(), rtol=1e-10)
        H = (rng.random((300, 4)) < 1 / (1 + np.exp(-(X @ W + c)))).astype(float)
        top = RBM.from_parameters(
            W.T, c, b, method="cd", k=10, learning_rate=0.1, batch_size=30, random_state=seed
        )
        for _ in range(20):
            top.partial_fit(H[rng.permutation(300)])
        trained = DBN.from_parameters(
            [W, top.weights_], [b, top.visible_bias_, top.hidden_bias_], recognition_biases=[c]
        )
        gains.append(trained.log_likelihood_lower_bound(X) - before)
    assert min(gains) > 0.0


# ----------------------------------------------------------------- classification
def test_predict_equals_exact_posterior_argmax_one_layer():
    dbn = _dbn((5, 4), seed=10, n_classes=4)
    V = _all_v(5)
    W, b, c = dbn.weights_[0], dbn.biases_[0], dbn.biases_[1]
    U, d = dbn.label_weights_, dbn.label_bias_
    H = _states(4)
    joint = np.zeros((len(V), 4))  # exact p(v, y) up to Z, by enumeration of h
    for k in range(4):
        joint[:, k] = np.exp(V @ W @ H.T + (V @ b)[:, None] + (H @ (c + U[k]))[None, :] + d[k]).sum(
            axis=1
        )
    post = joint / joint.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(dbn.predict_proba(V), post, rtol=1e-10)
    np.testing.assert_array_equal(dbn.predict(V), np.argmax(post, axis=1))


def test_predict_deep_uses_top_free_energy_at_up_pass():
    dbn = _dbn((5, 4, 3), seed=11, n_classes=3, untied=True)
    V = _all_v(5)
    h = 1 / (1 + np.exp(-(V @ dbn.recognition_weights_[0] + dbn.recognition_biases_[0])))
    W, b, c = dbn.weights_[1], dbn.biases_[1], dbn.biases_[2]
    neg_f = np.stack([
        h @ b + dbn.label_bias_[k] + np.log1p(np.exp(h @ W + c + dbn.label_weights_[k])).sum(1)
        for k in range(3)
    ], axis=1)  # fmt: skip
    np.testing.assert_array_equal(dbn.predict(V), np.argmax(neg_f, axis=1))
    np.testing.assert_allclose(dbn.predict_proba(V).sum(axis=1), 1.0, rtol=1e-12)


def _toy(n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    protos = np.array([[1, 1, 1, 0, 0, 0, 1, 0], [0, 0, 0, 1, 1, 1, 0, 1]], dtype=float)
    X = np.abs(protos[y] - (rng.random((n, 8)) < 0.05))
    return X, y


def test_fit_with_labels_classifies_separable_toy_and_up_down_keeps_it():
    X, y = _toy()
    opts = {"n_epochs": 30, "batch_size": 20, "learning_rate": 0.1, "method": "cd"}
    dbn = DBN((6, 5), rbm_options=opts, random_state=0).fit(X, y)
    assert dbn.weights_[0].shape == (8, 6) and dbn.label_weights_.shape == (2, 5)
    np.testing.assert_array_equal(dbn.recognition_weights_[0], dbn.weights_[0])
    assert np.mean(dbn.predict(X) == y) >= 0.95
    before = dbn.log_likelihood_lower_bound(X)
    dbn.fine_tune_up_down(X, y, n_epochs=5, learning_rate=0.05, cd_k=3, batch_size=20, seed=1)
    assert not np.array_equal(dbn.recognition_weights_[0], dbn.weights_[0])  # untied
    assert np.mean(dbn.predict(X) == y) >= 0.95
    assert np.isfinite(dbn.log_likelihood_lower_bound(X)) and np.isfinite(before)


def _sig(a):
    return 1.0 / (1.0 + np.exp(-a))


def _bernoulli(x, p):
    """Probability of the binary vector ``x`` under independent ``Bernoulli(p)``."""
    return float(np.prod(np.where(x == 1, p, 1.0 - p)))


def _expected_up_down_update(X, W, b, R0, r0, labels=None, U=None, d=None):
    """Exact mean and variance, per row of X, of one up-down step's update (CD-1, L = 2).

    Written from Hinton et al. (2006, appendix B) by enumeration over every
    random choice of the step: the wake sample ``h ~ q(h | v)`` (recognition
    weights ``R0, r0``), the top RBM's positive ``t ~ p(t | h, y)``, its
    negative ``h' ~ p(h' | t)``; the negative label is the softmax
    probability given ``t`` and the sleep visible the mean
    ``sigmoid(h' W0^T + b0)``, as in the paper's code. The update, flattened
    as ``W0, b0, W1, b1, b2, R0, r0`` (then ``U, d`` with labels), is the
    wake delta rule for the generative layer, CD-1 for the top RBM (negative
    top probabilities) and the sleep delta rule for the recognition layer.
    """
    W0, W1 = W
    b0, b1, b2 = b
    H, T = _states(W0.shape[1]), _states(W1.shape[1])
    K = 0 if U is None else U.shape[0]
    size = W0.size + b0.size + W1.size + b1.size + b2.size + R0.size + r0.size
    size += 0 if U is None else U.size + d.size
    mean, second = np.zeros((X.shape[0], size)), np.zeros((X.shape[0], size))
    for n, v in enumerate(X):
        y = np.zeros(K) if U is None else np.eye(K)[labels[n]]
        label_in = 0.0 if U is None else y @ U
        for h in H:
            p_h = _bernoulli(h, _sig(v @ R0 + r0))
            err_v = v - _sig(W0 @ h + b0)
            for t in T:
                p_t = p_h * _bernoulli(t, _sig(h @ W1 + b2 + label_in))
                neg_y = np.zeros(K) if U is None else np.exp(U @ t + d) / np.exp(U @ t + d).sum()
                neg_label_in = 0.0 if U is None else neg_y @ U
                for h2 in H:
                    p = p_t * _bernoulli(h2, _sig(W1 @ t + b1))
                    neg_t = _sig(h2 @ W1 + b2 + neg_label_in)
                    sleep_v = _sig(W0 @ h2 + b0)
                    err_h = h2 - _sig(sleep_v @ R0 + r0)
                    g = [
                        np.outer(err_v, h).ravel(), err_v,
                        (np.outer(h, t) - np.outer(h2, neg_t)).ravel(), h - h2, t - neg_t,
                        np.outer(sleep_v, err_h).ravel(), err_h,
                    ]  # fmt: skip
                    if U is not None:
                        g += [(np.outer(y, t) - np.outer(neg_y, neg_t)).ravel(), y - neg_y]
                    g = np.concatenate(g)
                    mean[n] += p * g
                    second[n] += p * g**2
    return mean, second - mean**2


@pytest.mark.parametrize("labelled", [False, True])
def test_up_down_step_is_its_expected_update(labelled):
    """Averaged over its random choices, one up-down step (CD-1) moves every
    parameter by ``lr`` times the exact expected update of the algorithm,
    enumerated independently; the twin that runs the up-pass on the
    generative weights (what a tied-weight slip would compute) must fail."""
    rng = np.random.default_rng(3)
    W = [rng.normal(0, 1.0, (4, 3)), rng.normal(0, 1.0, (3, 2))]
    b = [rng.normal(0, 0.5, n) for n in (4, 3, 2)]
    R0, r0 = rng.normal(0, 1.5, (4, 3)), rng.normal(0, 0.5, 3)
    U, d = (rng.normal(0, 1.0, (3, 2)), rng.normal(0, 0.5, 3)) if labelled else (None, None)
    patterns, labels = _states(4)[[1, 6, 9, 14]], np.array([0, 2, 1, 2])
    reps = 10_000
    X, y = np.repeat(patterns, reps, axis=0), np.repeat(labels, reps)
    dbn = DBN.from_parameters(
        W, b, recognition_weights=[R0], recognition_biases=[r0], label_weights=U, label_bias=d
    )
    lr = 1e-3
    dbn.fine_tune_up_down(
        X, y if labelled else None, n_epochs=1, learning_rate=lr, cd_k=1,
        batch_size=X.shape[0], seed=0,
    )  # fmt: skip
    before = [W[0], b[0], W[1], b[1], b[2], R0, r0]
    after = [dbn.weights_[0], dbn.biases_[0], dbn.weights_[1], *dbn.biases_[1:]]
    after += [dbn.recognition_weights_[0], dbn.recognition_biases_[0]]
    if labelled:
        before, after = before + [U, d], after + [dbn.label_weights_, dbn.label_bias_]
    step = np.concatenate([((a - o) / lr).ravel() for a, o in zip(after, before, strict=True)])
    mean, var = _expected_up_down_update(patterns, W, b, R0, r0, labels, U, d)
    se = np.sqrt(var.sum(axis=0) * reps) / X.shape[0]  # the rows are independent draws
    z = np.abs(step - mean.mean(axis=0)) / se
    assert z.max() < 4.5, z  # at most 51 entries: a false alarm has probability below 4e-4
    twin, _ = _expected_up_down_update(patterns, W, b, W[0], b[1], labels, U, d)
    assert (np.abs(step - twin.mean(axis=0)) / se).max() > 10


def test_fit_unlabelled_options_per_layer_and_propagate_sample():
    X, _ = _toy()
    opts = [
        {"n_epochs": 20, "batch_size": 20, "learning_rate": 0.1},
        {"n_epochs": 1, "learning_rate": 1e-6},
    ]
    dbn = DBN((6, 5), rbm_options=opts, propagate="sample", random_state=0).fit(X)
    # the second RBM barely moved from its 0.01-scale initialisation, the first did
    assert np.abs(dbn.weights_[1]).max() < 0.1 < np.abs(dbn.weights_[0]).max()
    assert dbn.transform(X, layer=1).shape == (200, 6) and dbn.transform(X).shape == (200, 5)
    again = DBN((6, 5), rbm_options=opts, propagate="sample", random_state=0).fit(X)
    for a, b in zip(dbn.weights_, again.weights_, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not hasattr(dbn, "classes_")


# ----------------------------------------------------------------- factor graph
@pytest.mark.parametrize(("sizes", "n_classes"), [((5, 4, 3), None), ((3, 3, 2, 2), 3)])
def test_factor_graph_energy_is_minus_log_joint(sizes, n_classes):
    dbn = _dbn(sizes, seed=12, n_classes=n_classes)
    fg = dbn.to_factor_graph()
    assert fg.n_variables == sum(sizes) + (1 if n_classes else 0)
    log_z = dbn.log_partition("exact")
    np.testing.assert_allclose(exact.log_partition(fg), log_z, rtol=1e-10)
    rng = np.random.default_rng(13)
    x = (rng.random((20, sum(sizes))) < 0.5).astype(np.int64)
    layers = np.split(x.astype(float), np.cumsum(sizes)[:-1], axis=1)
    # -log p(v, h_1..h_L[, y]) - log Z_top from the definition, term by term
    ref = np.zeros(len(x))
    for l in range(len(sizes) - 2):
        a = layers[l + 1] @ dbn.weights_[l].T + dbn.biases_[l]
        ref += np.sum(np.log1p(np.exp(np.where(layers[l] == 1, -a, a))), axis=1)
    top_e = -(np.einsum("bi,ij,bj->b", layers[-2], dbn.weights_[-1], layers[-1])
              + layers[-2] @ dbn.biases_[-2] + layers[-1] @ dbn.biases_[-1])  # fmt: skip
    ref += top_e
    if n_classes:
        lab = rng.integers(0, n_classes, len(x))
        x = np.hstack([x, lab[:, None]])
        ref -= np.einsum("bj,bj->b", dbn.label_weights_[lab], layers[-1]) + dbn.label_bias_[lab]
    np.testing.assert_allclose(fg.energy(x), ref, rtol=1e-10, atol=1e-12)
    # the graph's visible marginal is the DBN's p(v)
    V = _all_v(sizes[0]).astype(np.int64)
    ll = [exact.log_likelihood(fg, row[None], visible=np.arange(sizes[0])) for row in V[:6]]
    np.testing.assert_allclose(ll, np.log(_exact_p_v(dbn))[:6], rtol=1e-10)


# ----------------------------------------------------------------- persistence
def test_save_load_round_trip_exact(tmp_path):
    dbn = _dbn((5, 4, 3), seed=14, n_classes=3, untied=True)
    dbn.set_params(random_state=3, rbm_options={"n_epochs": 2})
    dbn.save(tmp_path / "m.npz")
    back = DBN.load(tmp_path / "m.npz")
    for name in ("weights_", "biases_", "recognition_weights_", "recognition_biases_"):
        for a, b in zip(getattr(dbn, name), getattr(back, name), strict=True):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(dbn.label_weights_, back.label_weights_)
    np.testing.assert_array_equal(dbn.label_bias_, back.label_bias_)
    assert back.get_params() == dbn.get_params() | {"hidden_layer_sizes": (4, 3)}
    V = _all_v(5)
    np.testing.assert_array_equal(dbn.predict_proba(V), back.predict_proba(V))
    np.testing.assert_array_equal(dbn.sample(5, n_gibbs=3), back.sample(5, n_gibbs=3))
    plain = _dbn((4, 3))
    # a dtype in rbm_options is written by name (JSON), which RBM accepts back
    plain.set_params(rbm_options={"dtype": np.float32, "n_epochs": 1})
    plain.save(tmp_path / "p.npz")
    loaded = DBN.load(tmp_path / "p.npz")
    assert loaded.label_weights_ is None
    assert loaded.rbm_options == {"dtype": "float32", "n_epochs": 1}
    loaded.fit(_toy(20)[0][:, :4])


def test_load_rejects_foreign_and_broken_files(tmp_path):
    RBM.from_parameters(np.zeros((3, 2)), np.zeros(3), np.zeros(2)).save(tmp_path / "rbm.npz")
    with pytest.raises(ValueError, match="not a saved DBN"):
        DBN.load(tmp_path / "rbm.npz")
    _dbn((4, 3, 2)).save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as f:
        data = dict(f)
    data["class_name"] = np.array("DBM")
    np.savez(tmp_path / "other.npz", **data)
    with pytest.raises(ValueError, match="holds a DBM"):
        DBN.load(tmp_path / "other.npz")
    data["class_name"] = np.array("DBN")
    data["format_version"] = np.array(99)
    np.savez(tmp_path / "v.npz", **data)
    with pytest.raises(ValueError, match="format_version 99"):
        DBN.load(tmp_path / "v.npz")
    data["format_version"] = np.array(1)
    del data["weights_1"]
    np.savez(tmp_path / "missing.npz", **data)
    with pytest.raises(ValueError, match="missing"):
        DBN.load(tmp_path / "missing.npz")
    data["weights_1"] = np.zeros((4, 2))  # wrong shape for a 3-unit layer
    np.savez(tmp_path / "shape.npz", **data)
    with pytest.raises(ValueError, match=r"weights\[1\] must have 3 rows"):
        DBN.load(tmp_path / "shape.npz")


# ----------------------------------------------------------------- errors
def test_unfitted_model_raises_not_fitted():
    dbn = DBN((3, 2))
    for call in (
        lambda: dbn.predict(np.zeros((1, 4))),
        lambda: dbn.transform(np.zeros((1, 4))),
        lambda: dbn.sample(2),
        lambda: dbn.log_likelihood_lower_bound(np.zeros((1, 4))),
        lambda: dbn.to_factor_graph(),
        lambda: dbn.save("never.npz"),
    ):
        with pytest.raises(NotFittedError, match="not fitted"):
            call()


@pytest.mark.parametrize("sizes", [(0,), (3, -1), (), (2.5,), "abc", (True, 2)])
def test_bad_layer_sizes(sizes):
    with pytest.raises(ValueError, match="hidden_layer_sizes must be a non-empty tuple"):
        DBN(sizes).fit(np.zeros((4, 3)))


def test_bad_labels_and_inputs_leave_model_unchanged():
    X, y = _toy(40)
    dbn = DBN((4, 3), rbm_options={"n_epochs": 1}, random_state=0).fit(X, y)
    snapshot = [w.copy() for w in dbn.weights_]
    with pytest.raises(ValueError, match=r"y must hold labels in 0..2"):
        DBN((4, 3), n_classes=3).fit(X, np.full(40, 3))
    with pytest.raises(ValueError, match="y must hold labels >= 0"):
        dbn.fit(X, -y)
    with pytest.raises(ValueError, match="y must have 40 entries"):
        dbn.fit(X, y[:10])
    with pytest.raises(ValueError, match="X has 5 features, but DBN is expecting 8"):
        dbn.predict(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="X must have values in"):
        dbn.transform(X + 1.0)
    with pytest.raises(ValueError, match="must be binary"):
        dbn.log_likelihood_lower_bound(X * 0.5)
    with pytest.raises(ValueError, match="label must hold labels in 0..1"):
        dbn.sample(3, label=2)
    with pytest.raises(ValueError, match="layer must be an int in 1..2"):
        dbn.transform(X, layer=3)
    with pytest.raises(ValueError, match="y is required"):
        dbn.fine_tune_up_down(X)
    with pytest.raises(ValueError, match=r"rbm_options\[0\]: learning_rate"):
        DBN((4, 3), rbm_options={"learning_rate": -1.0}).fit(X)
    with pytest.raises(ValueError, match="list of 2 dicts"):
        DBN((4, 3), rbm_options=[{}]).fit(X)
    with pytest.raises(ValueError, match="does not support"):
        DBN((4, 3), rbm_options={"sparsity_target": 0.1}).fit(X, y)
    with pytest.raises(ValueError, match="binary units only"):
        DBN((4, 3), rbm_options={"visible": "gaussian"}).fit(X)
    with pytest.raises(ValueError, match="propagate must be"):
        DBN((4, 3), propagate="max").fit(X)
    with pytest.raises(ValueError, match="X must be finite"):
        dbn.fit(np.full((3, 8), np.nan))
    for a, b in zip(snapshot, dbn.weights_, strict=True):
        np.testing.assert_array_equal(a, b)
    plain = DBN((4, 3), rbm_options={"n_epochs": 1}, random_state=0).fit(X)
    with pytest.raises(ValueError, match="needs a DBN fitted with labels"):
        plain.predict(X)
    with pytest.raises(ValueError, match="needs a DBN fitted with labels"):
        plain.sample(2, label=0)
    with pytest.raises(ValueError, match="y must be None"):
        plain.fine_tune_up_down(X, y)


def test_from_parameters_shape_errors():
    with pytest.raises(ValueError, match="biases must hold len"):
        DBN.from_parameters([np.zeros((3, 2))], [np.zeros(3)])
    with pytest.raises(ValueError, match=r"biases\[1\] must have shape \(2,\)"):
        DBN.from_parameters([np.zeros((3, 2))], [np.zeros(3), np.zeros(3)])
    with pytest.raises(ValueError, match="given together"):
        DBN.from_parameters([np.zeros((3, 2))], [np.zeros(3), np.zeros(2)], label_bias=np.zeros(2))
    with pytest.raises(ValueError, match="recognition_weights must hold"):
        DBN.from_parameters(
            [np.zeros((3, 2))] * 1, [np.zeros(3), np.zeros(2)], recognition_weights=[np.zeros(1)]
        )


# ----------------------------------------------------------------- unrolled networks
def _sig(a):
    return 1 / (1 + np.exp(-a))


def test_to_classifier_starts_from_the_up_pass():
    X, y = _toy(60)
    dbn = _dbn((8, 5, 4), seed=15, n_classes=2, untied=True)
    clf = dbn.to_classifier(n_epochs=0, random_state=0).fit(X, y)  # builds, no training
    assert clf.hidden_layer_sizes == (5, 4) and list(clf.classes_) == [0, 1]
    np.testing.assert_array_equal(clf.weights_[0], dbn.recognition_weights_[0])
    np.testing.assert_array_equal(clf.weights_[1], dbn.weights_[1])
    np.testing.assert_array_equal(clf.biases_[0], dbn.recognition_biases_[0])
    np.testing.assert_array_equal(clf.biases_[1], dbn.biases_[2])
    hidden = clf.network_.propagate(X, 0, 2)
    np.testing.assert_allclose(hidden, dbn.transform(X), rtol=1e-12)
    # fine-tuning by backprop fits the separable toy
    tuned = dbn.to_classifier(optimizer="lbfgs", n_epochs=10, max_iter=10, random_state=0)
    assert tuned.fit(X, y).score(X, y) >= 0.95


def test_to_autoencoder_unrolls_encoder_and_down_pass():
    X, _ = _toy(30)
    dbn = _dbn((8, 5, 3), seed=16)
    ae = dbn.to_autoencoder(n_epochs=0, code_activation="sigmoid", random_state=0).fit(X)
    code = ae.transform(X)
    np.testing.assert_allclose(code, dbn.transform(X), rtol=1e-12)
    # decoder: W_l^T with the down-pass biases, mean-field top down
    h1 = _sig(code @ dbn.weights_[1].T + dbn.biases_[1])
    ref = _sig(h1 @ dbn.weights_[0].T + dbn.biases_[0])
    np.testing.assert_allclose(ae.reconstruct(X), ref, rtol=1e-10)


# ----------------------------------------------------------- Gaussian top layer
def test_gaussian_top_bound_of_one_layer_is_the_rbm_likelihood():
    """L = 1: no recognition chain, so the bound is the top RBM's exact log-likelihood."""
    rng = np.random.default_rng(21)
    W, b, c = rng.normal(0, 0.7, (5, 3)), rng.normal(0, 0.5, 5), rng.normal(0, 0.5, 3)
    dbn = DBN.from_parameters([W], [b, c], top_hidden="gaussian")
    rbm = RBM.from_parameters(W, b, c, hidden="gaussian")
    V = _states(5)
    np.testing.assert_allclose(
        dbn.log_likelihood_lower_bound(V, method="exact", per_row=True),
        rbm.score_samples(V), rtol=1e-12,
    )  # fmt: skip
    assert dbn.log_partition(method="exact") == pytest.approx(rbm.log_partition(method="exact"))
    # the Gaussian integral, by hand: F(v) = -v.b - sum_j [(c_j + v.W_j)^2 + log 2 pi] / 2
    act = V @ W + c
    F = -(V @ b) - 0.5 * (act**2 + math.log(2 * math.pi)).sum(axis=1)
    log_z = math.log(np.exp(-F).sum())
    assert dbn.log_partition(method="exact") == pytest.approx(log_z, rel=1e-12)


def test_gaussian_top_fit_transform_autoencoder_and_save(tmp_path):
    X, _ = _toy(60)
    opts = {"n_epochs": 5, "batch_size": 10, "method": "cd", "learning_rate": 0.05}
    dbn = DBN(
        (5, 3), rbm_options=[opts, {**opts, "learning_rate": 0.005}], top_hidden="gaussian",
        random_state=0,
    ).fit(X)  # fmt: skip
    h1 = dbn.transform(X, layer=1)
    code = dbn.transform(X)
    np.testing.assert_allclose(code, h1 @ dbn.weights_[1] + dbn.biases_[2], rtol=1e-12)
    ae = dbn.to_autoencoder(n_epochs=0, random_state=0).fit(X)
    assert ae.code_activation == "linear"
    np.testing.assert_allclose(ae.transform(X), code, rtol=1e-10)
    dbn.save(tmp_path / "g.npz")
    back = DBN.load(tmp_path / "g.npz")
    assert back.top_hidden == "gaussian"
    np.testing.assert_array_equal(back.transform(X), code)
    assert _dbn((8, 5, 3)).to_autoencoder(n_epochs=0).code_activation == "sigmoid"
    with pytest.raises(NotImplementedError, match="binary top layer"):
        dbn.sample(2)
    with pytest.raises(NotImplementedError, match="binary top layer"):
        dbn.fine_tune_up_down(X)


def test_gaussian_top_refusals_name_the_argument():
    X, y = _toy(20)
    with pytest.raises(ValueError, match="top_hidden"):
        DBN((4, 3), top_hidden="linear").fit(X)
    with pytest.raises(ValueError, match="top_hidden='gaussian' is for unlabelled"):
        DBN((4, 3), top_hidden="gaussian").fit(X, y)
    with pytest.raises(ValueError, match=r"rbm_options\[0\] must not set hidden"):
        DBN((4, 3), rbm_options={"hidden": "gaussian"}).fit(X)
    with pytest.raises(ValueError, match=r"rbm_options\[1\].*method 'cd' or 'pcd'"):
        DBN((4, 3), rbm_options={"method": "pt"}, top_hidden="gaussian").fit(X)
