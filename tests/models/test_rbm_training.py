"""RBM training: CD-k and PCD updates against exact expectations, learning, determinism.

The tiny model (4 visible, 3 hidden) is small enough that the expected CD-k
update is computed exactly: with the block-Gibbs transition matrix on
visible states ``T[v, v'] = sum_h p(h | v) p(v' | h)``, the negative-phase
visible state of CD-k started at a data row ``x`` has distribution
``e_x T^k``. Everything in ``_exact_cd`` is written from the definition in
the test (itertools over states), not with the code under test.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from pgm.learning.schedules import (
    Constant,
    ExponentialDecay,
    LinearDecay,
    StepDecay,
    get_schedule,
)
from pgm.models import RBM

N_VISIBLE, N_HIDDEN = 4, 3


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _states(n):
    return np.array(list(itertools.product([0, 1], repeat=n)), dtype=float)


def _tiny_model(seed=3, scale=0.8):
    rng = np.random.default_rng(seed)
    W = scale * rng.normal(size=(N_VISIBLE, N_HIDDEN))
    b = 0.5 * rng.normal(size=N_VISIBLE)
    c = 0.5 * rng.normal(size=N_HIDDEN)
    return W, b, c


DATA = np.array([[1, 1, 0, 0], [0, 0, 1, 1], [1, 0, 1, 0], [1, 1, 1, 0], [0, 1, 0, 1]], float)


def _bernoulli_table(prob, states):
    """P(state | ...) for each row of ``prob`` (rows) and each state (columns)."""
    return np.prod(
        np.where(states[None, :, :] == 1, prob[:, None, :], 1 - prob[:, None, :]), axis=2
    )


def _stats(v, q, W, c):
    """Expected statistics under visible distribution q (rows of v), hidden as probabilities."""
    ph = _sigmoid(v @ W + c)
    return {
        "weights": (v * q[:, None]).T @ ph,
        "visible_bias": q @ v,
        "hidden_bias": q @ ph,
    }


def _exact_cd(W, b, c, X, k):
    """Expected CD-k update (mean over rows of X), exactly, via T^k."""
    V, H = _states(N_VISIBLE), _states(N_HIDDEN)
    p_h_v = _bernoulli_table(_sigmoid(V @ W + c), H)  # (16, 8)
    p_v_h = _bernoulli_table(_sigmoid(H @ W.T + b), V)  # (8, 16)
    T = p_h_v @ p_v_h
    index = (X @ (2 ** np.arange(N_VISIBLE - 1, -1, -1))).astype(int)
    start = np.zeros(len(V))
    np.add.at(start, index, 1.0 / len(X))
    pos = _stats(V, start, W, c)
    neg = _stats(V, start @ np.linalg.matrix_power(T, k), W, c)
    return {name: pos[name] - neg[name] for name in pos}


def _exact_gradient_oracle(W, b, c, X):
    """Exact log-likelihood gradient from the definition (full enumeration)."""
    V = _states(N_VISIBLE)
    log_p = V @ b + np.logaddexp(0, V @ W + c).sum(axis=1)
    p = np.exp(log_p - log_p.max())
    p /= p.sum()
    data = _stats(X, np.full(len(X), 1.0 / len(X)), W, c)
    model = _stats(V, p, W, c)
    return {name: data[name] - model[name] for name in data}


def _update(rbm, X):
    """Run partial_fit with learning rate 1 and return the parameter change."""
    before = {"weights": rbm.weights_.copy(), "visible_bias": rbm.visible_bias_.copy()}
    before["hidden_bias"] = rbm.hidden_bias_.copy()
    rbm.partial_fit(X)
    after = {"weights": rbm.weights_, "visible_bias": rbm.visible_bias_}
    after["hidden_bias"] = rbm.hidden_bias_
    return {name: after[name] - before[name] for name in before}


def _max_deviation(a, b):
    return max(float(np.max(np.abs(a[name] - b[name]))) for name in a)


# --------------------------------------------------------- exact CD-k limit
def test_exact_cd_k_approaches_exact_gradient():
    """The CD-k bias shrinks with k and vanishes in the limit; the limit is the
    exact gradient from pgm.inference.exact on rbm.to_factor_graph()."""
    W, b, c = _tiny_model()
    oracle = _exact_gradient_oracle(W, b, c, DATA)
    errors = [_max_deviation(_exact_cd(W, b, c, DATA, k), oracle) for k in (1, 2, 5, 20, 200)]
    assert errors[0] > 1e-2  # CD-1 is visibly biased for this model
    assert all(later < earlier for earlier, later in zip(errors[:-2], errors[1:-1], strict=True))
    assert errors[-1] < 1e-12
    from pgm.inference import exact
    fg = RBM.from_parameters(W, b, c).to_factor_graph()
    grad = exact.log_likelihood_gradient(fg, DATA, visible=np.arange(N_VISIBLE))
    for name in oracle:
        np.testing.assert_allclose(grad[name], oracle[name], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("algorithm", ["dense", "sparse"])
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_cd_k_update_matches_exact_expectation(k, momentum, algorithm):
    """partial_fit with learning rate 1 on N = 5 x 6000 rows, one batch: the
    parameter change is the sampled CD-k update (momentum starts at zero so the
    first step is the same). Each per-row negative statistic lies in [0, 1],
    variance <= 1/4, so every entry must be within 5 * 0.5 / sqrt(N) = 0.0144 of
    its exact expectation; the same sample must miss a perturbed model's."""
    W, b, c = _tiny_model()
    X = np.repeat(DATA, 6000, axis=0)
    rbm = RBM.from_parameters(
        W,
        b,
        c,
        method="cd",
        k=k,
        learning_rate=1.0,
        momentum=momentum,
        batch_size=len(X),
        algorithm=algorithm,
        random_state=10 + k,
    )
    update = _update(rbm, X)
    tol = 5 * 0.5 / math.sqrt(len(X))
    assert _max_deviation(update, _exact_cd(W, b, c, DATA, k)) <= tol
    W_perturbed = W.copy()
    W_perturbed[0, 0] += 1.0
    assert _max_deviation(update, _exact_cd(W_perturbed, b, c, DATA, k)) > tol


@pytest.mark.parametrize("algorithm", ["dense", "sparse"])
def test_pcd_update_matches_exact_gradient_with_stationary_chains(algorithm):
    """PCD with 40000 fantasy particles whose hidden states are exact draws from
    p(h): one Gibbs half-step gives exact model samples, so the update is the
    exact gradient up to sampling error, |err| <= 5 * 0.5 / sqrt(40000) = 0.0125
    per entry (statistics in [0, 1]); the positive phase is exact."""
    W, b, c = _tiny_model()
    n_chains = 40_000
    H = _states(N_HIDDEN)
    log_p_h = H @ c + np.logaddexp(0, H @ W.T + b).sum(axis=1)
    p_h = np.exp(log_p_h - log_p_h.max())
    p_h /= p_h.sum()
    rng = np.random.default_rng(0)
    rbm = RBM.from_parameters(
        W,
        b,
        c,
        method="pcd",
        learning_rate=1.0,
        momentum=0.0,
        batch_size=len(DATA),
        n_chains=n_chains,
        algorithm=algorithm,
        random_state=1,
    )
    rbm.persistent_hidden_ = H[rng.choice(len(H), size=n_chains, p=p_h)]
    update = _update(rbm, DATA)
    tol = 5 * 0.5 / math.sqrt(n_chains)
    oracle = _exact_gradient_oracle(W, b, c, DATA)
    assert _max_deviation(update, oracle) <= tol
    W_perturbed = W.copy()
    W_perturbed[0, 0] += 1.0
    assert _max_deviation(update, _exact_gradient_oracle(W_perturbed, b, c, DATA)) > tol
    # The chains moved on: new hidden states were stored.
    assert rbm.persistent_hidden_.shape == (n_chains, N_HIDDEN)


@pytest.mark.parametrize("algorithm", ["dense", "sparse"])
def test_weight_decay_momentum_and_sparsity_algebra(algorithm):
    """With the same random stream the sampled gradient g is identical, so
    - weight decay: delta_W = lr * (g - wd * W), biases undecayed;
    - sparsity: delta_c gains lr * cost * (target - mean_n P(h | x_n))."""
    W, b, c = _tiny_model()
    X = np.repeat(DATA, 4, axis=0)
    common = dict(
        method="cd", learning_rate=0.3, batch_size=len(X), algorithm=algorithm, random_state=5
    )
    plain = _update(RBM.from_parameters(W, b, c, momentum=0.0, **common), X)
    decayed = _update(RBM.from_parameters(W, b, c, momentum=0.0, weight_decay=0.1, **common), X)
    np.testing.assert_allclose(decayed["weights"], plain["weights"] - 0.3 * 0.1 * W, atol=1e-14)
    np.testing.assert_allclose(decayed["visible_bias"], plain["visible_bias"], atol=1e-15)
    sparse = _update(
        RBM.from_parameters(
            W, b, c, momentum=0.0, sparsity_target=0.05, sparsity_cost=2.0, **common
        ),
        X,
    )
    q = _sigmoid(X @ W + c).mean(axis=0)
    np.testing.assert_allclose(
        sparse["hidden_bias"], plain["hidden_bias"] + 0.3 * 2.0 * (0.05 - q), atol=1e-14
    )
    np.testing.assert_allclose(sparse["weights"], plain["weights"], atol=1e-15)
    # Momentum: two steps; the second moves by momentum * first + new gradient.
    rbm = RBM.from_parameters(W, b, c, momentum=0.9, **common)
    first = _update(rbm, X)
    second = _update(rbm, X)
    twin = RBM.from_parameters(W, b, c, momentum=0.0, **common)
    _update(twin, X)
    twin.weights_, twin.visible_bias_, twin.hidden_bias_ = (
        rbm.weights_ - second["weights"],
        rbm.visible_bias_ - second["visible_bias"],
        rbm.hidden_bias_ - second["hidden_bias"],
    )
    gradient = _update(twin, X)
    np.testing.assert_allclose(
        second["weights"], 0.9 * first["weights"] + gradient["weights"], atol=1e-13
    )


# ----------------------------------------------------------------- learning
def _bars_and_stripes(side):
    try:
        from pgm.datasets import bars_and_stripes
    except ImportError:  # pragma: no cover - dataset module missing
        rows = [
            np.repeat(np.array(bits, float)[:, None], side, axis=1)
            for bits in itertools.product([0, 1], repeat=side)
        ]
        patterns = {tuple(r.ravel()) for r in rows} | {tuple(r.T.ravel()) for r in rows}
        return np.array(sorted(patterns))
    return bars_and_stripes(side)


@pytest.mark.parametrize(
    ("method", "settings"),
    [
        # PCD needs many fantasy particles and a small step to track the model.
        ("pcd", dict(k=1, learning_rate=0.05, batch_size=14, n_chains=100, n_epochs=3000)),
        ("cd", dict(k=5, learning_rate=0.1, batch_size=2, n_epochs=500)),
    ],
)
def test_training_improves_exact_log_likelihood_on_bars_and_stripes(method, settings):
    """3x3 bars and stripes (14 patterns): the untrained start scores about
    9 log(1/2) = -6.24 per pattern and the best possible is log(1/14) = -2.64.
    Training must gain at least 2 nats (a plain numpy PCD/CD loop with the same
    settings reaches about -3.4 / -3.8)."""
    X = _bars_and_stripes(3)
    assert X.shape == (14, 9)
    monitor = ("log_likelihood", "reconstruction_error", "pseudo_likelihood")
    rbm = RBM(n_hidden=8, method=method, momentum=0.5, random_state=0, monitor=monitor)
    n_epochs = settings.pop("n_epochs")
    rbm.set_params(**settings)
    start = rbm.set_params(n_epochs=1).fit(X).log_likelihood(X)
    trained = rbm.set_params(n_epochs=n_epochs).fit(X)
    final = trained.log_likelihood(X)
    assert final > start + 2.0
    assert final <= math.log(1 / 14) + 1e-9
    history = trained.history_
    assert len(history["log_likelihood"]) == n_epochs == trained.n_iter_
    assert history["log_likelihood"][-1] == pytest.approx(final, rel=1e-12)
    early, late = history["reconstruction_error"][:20], history["reconstruction_error"][-20:]
    assert np.mean(late) < np.mean(early)
    assert np.mean(history["pseudo_likelihood"][-20:]) > np.mean(history["pseudo_likelihood"][:20])


def test_same_random_state_gives_identical_fits():
    X = _bars_and_stripes(3)
    kwargs = dict(n_hidden=5, n_epochs=20, batch_size=4, random_state=42)
    a, b = RBM(**kwargs).fit(X), RBM(**kwargs).fit(X)
    for name in ("weights_", "visible_bias_", "hidden_bias_", "persistent_hidden_"):
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes()
    c = RBM(**{**kwargs, "random_state": 43}).fit(X)
    assert not np.array_equal(a.weights_, c.weights_)


def test_fit_is_independent_of_thread_count(monkeypatch):
    """Every kernel forced onto its parallel version: 1 thread and all threads
    give the same fit bit for bit (uniforms depend on position, not thread)."""
    import numba

    from pgm.layered import _kernels as _rbm_kernels

    monkeypatch.setattr(_rbm_kernels, "PARALLEL_MIN_ENTRIES", 0)
    rng = np.random.default_rng(1)
    X = (rng.random((200, 30)) < 0.3).astype(float)
    results = []
    before = numba.get_num_threads()
    try:
        for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(threads)
            results.append(RBM(n_hidden=20, n_epochs=2, batch_size=50, random_state=0).fit(X))
    finally:
        numba.set_num_threads(before)
    serial = RBM(n_hidden=20, n_epochs=2, batch_size=50, random_state=0)
    monkeypatch.setattr(_rbm_kernels, "PARALLEL_MIN_ENTRIES", 1 << 62)
    results.append(serial.fit(X))
    for rbm in results[1:]:
        assert rbm.weights_.tobytes() == results[0].weights_.tobytes()
        assert rbm.persistent_hidden_.tobytes() == results[0].persistent_hidden_.tobytes()


def test_float32_training_tracks_float64():
    """Same seed and data: float32 keeps float32 end to end and follows the
    float64 trajectory (the Bernoulli draws can only differ where a probability
    sits within float32 rounding of its uniform, so results stay close)."""
    X = _bars_and_stripes(3)
    kwargs = dict(n_hidden=6, n_epochs=30, batch_size=7, random_state=3)
    r64 = RBM(**kwargs).fit(X)
    r32 = RBM(dtype=np.float32, **kwargs).fit(X.astype(np.float32))
    assert r32.weights_.dtype == np.float32 and r32.persistent_hidden_.dtype == np.float32
    np.testing.assert_allclose(r32.weights_, r64.weights_, atol=1e-3)


def test_partial_fit_honours_batch_size_and_continues():
    """partial_fit on n rows makes ceil(n / batch_size) updates: with momentum 0,
    a single-batch pass equals one update, whereas batch_size=1 makes n of them."""
    X = _bars_and_stripes(3)
    one = RBM(n_hidden=4, batch_size=14, momentum=0.0, random_state=0).partial_fit(X)
    many = RBM(n_hidden=4, batch_size=1, momentum=0.0, random_state=0).partial_fit(X)
    assert not np.allclose(one.weights_, many.weights_)
    first = one.weights_.copy()
    one.partial_fit(X)
    assert not np.array_equal(first, one.weights_)
    assert one.n_iter_ == 0
    with pytest.raises(ValueError, match="X has 4 features, but RBM is expecting 9"):
        one.partial_fit(X[:, :4])


def test_gaussian_rbm_learns_a_two_cluster_mixture():
    """Standardised data from two well-separated clusters: training raises the
    exact log-likelihood (hidden layer enumerated, visibles integrated)."""
    rng = np.random.default_rng(0)
    centres = np.array([[1.5, -1.5, 1.5], [-1.5, 1.5, -1.5]])
    X = centres[rng.integers(0, 2, size=400)] + 0.3 * rng.normal(size=(400, 3))
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    rbm = RBM(
        visible="gaussian",
        n_hidden=4,
        learning_rate=0.01,
        batch_size=20,
        n_epochs=1,
        random_state=0,
    )
    start = rbm.fit(X).log_likelihood(X)
    final = rbm.set_params(n_epochs=60).fit(X).log_likelihood(X)
    assert final > start + 0.3


# ---------------------------------------------------------------- schedules
def test_schedules_values():
    assert Constant()(0.1, 7, 10) == 0.1
    assert ExponentialDecay(0.5)(1.0, 3, 10) == 0.125
    assert StepDecay(drop=0.1, every=2)(1.0, 3, 10) == pytest.approx(0.1)
    assert StepDecay(drop=0.1, every=2)(1.0, 4, 10) == pytest.approx(0.01)
    linear = LinearDecay(final_fraction=0.5)
    assert [linear(2.0, e, 3) for e in range(3)] == [2.0, 1.5, 1.0]
    assert linear(2.0, 10, 3) == 1.0 and linear(2.0, 0, 1) == 2.0
    assert get_schedule("exponential") == ExponentialDecay()
    assert get_schedule(StepDecay(0.5, 3).to_dict()) == StepDecay(0.5, 3)


def test_schedule_errors():
    with pytest.raises(ValueError, match="learning_rate_schedule must be one of"):
        get_schedule("cosine")
    with pytest.raises(TypeError, match="learning_rate_schedule must be a str"):
        get_schedule(3)
    with pytest.raises(ValueError, match=r"decay must lie in \(0, 1\]"):
        ExponentialDecay(0.0)
    with pytest.raises(ValueError, match="every must be an integer >= 1"):
        StepDecay(every=0)
    with pytest.raises(ValueError, match="epoch must be a non-negative integer"):
        Constant()(0.1, -1, 3)


def test_fit_follows_the_schedule():
    X = _bars_and_stripes(3)
    rbm = RBM(
        n_hidden=3,
        n_epochs=4,
        learning_rate=0.4,
        batch_size=14,
        random_state=0,
        learning_rate_schedule=ExponentialDecay(0.5),
    ).fit(X)
    assert rbm.history_["learning_rate"] == [0.4, 0.2, 0.1, 0.05]


def _final_log_likelihoods(X, seeds, **settings):
    return np.array([RBM(random_state=seed, **settings).fit(X).log_likelihood(X) for seed in seeds])


def test_pcd_defaults_do_not_end_below_the_start_on_small_data():
    """PCD at a constant learning rate 0.1 with the default momentum and batch
    size, on 3x3 bars and stripes (each pattern 3 times, 42 rows), 8 seeds:
    the exact log-likelihood (hidden layer enumerated, 4 units) must end
    above the start, the independent-bits model the fit begins from (its
    weights are only 0.01-scale noise), which for these data with every pixel
    on half the time is the uniform model, -9 log 2 = -6.238. Observed gains
    are 0.3-0.5 nats; 0.1 is required. Power twin: momentum 0.9 at the same
    rate, the risk the docstring names, ends below the start for some seed."""
    X = np.repeat(_bars_and_stripes(3), 3, axis=0)
    q = np.clip(X.mean(axis=0), 1e-3, 1 - 1e-3)
    start = RBM.from_parameters(np.zeros((9, 4)), np.log(q / (1 - q)), np.zeros(4))
    start_ll = start.log_likelihood(X)
    assert start_ll == pytest.approx(-9 * math.log(2), rel=1e-12)
    settings = dict(n_hidden=4, learning_rate=0.1, n_epochs=200)
    seeds = range(8)
    final = _final_log_likelihoods(X, seeds, **settings)
    assert np.all(final > start_ll + 0.1), final
    risky = _final_log_likelihoods(X, seeds, momentum=0.9, **settings)
    assert np.any(risky < start_ll), risky
