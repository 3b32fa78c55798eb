"""RBM training by parallel tempering (``method="pt"``, Desjardins et al. 2010).

Exact answers come from enumerating the tiny model's joint states in the test
(itertools over ``(v, h)``), never from the code under test. To watch the
tempered chains of a fixed model, training runs at ``learning_rate=1e-200``:
every update ``theta += 1e-200 * g / n_chains`` is far below half an ulp of
the O(0.1-1) parameters, so they stay bit for bit the same (each test asserts
it), while the chains, the swaps and the counters run exactly as in training.
(``learning_rate=0`` itself is refused by the constraints table.)
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from pgm.inference.tempering import geometric_ladder
from pgm.models import RBM
from tests.models.test_rbm import _SquashedRBM

N_VISIBLE, N_HIDDEN = 4, 3
DATA = np.array([[1, 1, 0, 0], [0, 0, 1, 1], [1, 0, 1, 0], [1, 1, 1, 0], [0, 1, 0, 1]], float)
FROZEN = 1e-200


def _states(n):
    return np.array(list(itertools.product([0, 1], repeat=n)), dtype=float)


def _model(seed=3, scale=0.8):
    rng = np.random.default_rng(seed)
    W = scale * rng.normal(size=(N_VISIBLE, N_HIDDEN))
    b = 0.5 * rng.normal(size=N_VISIBLE)
    c = 0.5 * rng.normal(size=N_HIDDEN)
    return W, b, c


def _joint(W, b, c):
    """All joint states (v, h), their energies E = -v.b - h.c - v W h, written out."""
    rows = _states(N_VISIBLE + N_HIDDEN)
    v, h = rows[:, :N_VISIBLE], rows[:, N_VISIBLE:]
    energy = np.array(
        [
            -sum(v[n, i] * b[i] for i in range(N_VISIBLE))
            - sum(h[n, j] * c[j] for j in range(N_HIDDEN))
            - sum(v[n, i] * W[i, j] * h[n, j] for i in range(N_VISIBLE) for j in range(N_HIDDEN))
            for n in range(len(rows))
        ]
    )
    return v, h, energy


def _tempered(energy, beta):
    weights = np.exp(-beta * (energy - energy.min()))
    return weights / weights.sum()


def _hidden_marginal(W, b, c, beta):
    """p_beta(h) over the 2**N_HIDDEN states in itertools order."""
    _, h, energy = _joint(W, b, c)
    p = _tempered(energy, beta)
    index = (h @ (2 ** np.arange(N_HIDDEN - 1, -1, -1))).astype(int)
    return np.bincount(index, weights=p, minlength=2**N_HIDDEN)


def _frequencies(hidden):
    index = (hidden @ (2 ** np.arange(N_HIDDEN - 1, -1, -1))).astype(int)
    return np.bincount(index, minlength=2**N_HIDDEN) / len(hidden)


def _within(freq, p, n):
    """STYLE.md's rule for n independent draws: |p_hat - p| <= 5 sqrt(p(1-p)/n) + 1/n."""
    return bool(np.all(np.abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / n) + 1 / n))


def _frozen_rbm(W, b, c, **settings):
    return RBM.from_parameters(
        W, b, c, method="pt", learning_rate=FROZEN, momentum=0.0, batch_size=len(DATA), **settings
    )


def _assert_unchanged(rbm, W, b, c):
    assert rbm.weights_.tobytes() == W.tobytes()
    assert rbm.visible_bias_.tobytes() == b.tobytes()
    assert rbm.hidden_bias_.tobytes() == c.tobytes()


def _exact_gradient(W, b, c, X):
    """Exact log-likelihood gradient from the definition (joint enumeration)."""
    v, h, energy = _joint(W, b, c)
    p = _tempered(energy, 1.0)
    ph = 1 / (1 + np.exp(-(X @ W + c)))
    return {
        "weights": X.T @ ph / len(X) - (v * p[:, None]).T @ h,
        "visible_bias": X.mean(axis=0) - p @ v,
        "hidden_bias": ph.mean(axis=0) - p @ h,
    }


# ------------------------------------------------------------ sampling
def test_tempered_chains_sample_every_tempered_hidden_marginal():
    """5000 independent ladders of 3 temperatures (0.3, 0.55, 1) after 30
    rounds: the hidden states stored at each temperature are 5000 independent
    draws, so every state frequency must satisfy |p_hat - p| <= 5 sqrt(p(1-p)/N)
    + 1/N against the exact p_beta(h) by enumeration. Power twins: the beta = 1
    chains against a model with W[0, 0] + 1, and the hottest chains against
    beta = 1, must both fail the same rule."""
    W, b, c = _model()
    n_chains = 5_000
    rbm = _frozen_rbm(W, b, c, n_temperatures=3, beta_min=0.3, n_chains=n_chains, random_state=0)
    rbm.partial_fit(np.tile(DATA, (30, 1)))
    _assert_unchanged(rbm, W, b, c)
    np.testing.assert_allclose(rbm.betas_, geometric_ladder(3, 0.3))
    assert rbm.persistent_hidden_.shape == (3, n_chains, N_HIDDEN)
    for t, beta in enumerate(rbm.betas_):
        freq = _frequencies(rbm.persistent_hidden_[t])
        assert _within(freq, _hidden_marginal(W, b, c, beta), n_chains), (t, beta)
    top = _frequencies(rbm.persistent_hidden_[-1])
    W_perturbed = W.copy()
    W_perturbed[0, 0] += 1.0
    assert not _within(top, _hidden_marginal(W_perturbed, b, c, 1.0), n_chains)
    hot = _frequencies(rbm.persistent_hidden_[0])
    assert not _within(hot, _hidden_marginal(W, b, c, 1.0), n_chains)


def test_negative_phase_of_the_beta_one_chains_is_the_exact_model_term():
    """After 30 frozen rounds, one update at learning rate 1 (momentum 0, one
    batch of the 5 data rows): the change is the positive statistics (exact)
    minus the mean over 10000 beta = 1 chains of v and P(h | v), each per-chain
    term in [0, 1] with variance <= 1/4, so every entry must lie within
    5 * 0.5 / sqrt(10000) = 0.025 of the exact gradient; the perturbed
    model's gradient must be missed."""
    W, b, c = _model()
    n_chains = 10_000
    rbm = _frozen_rbm(W, b, c, n_temperatures=3, beta_min=0.3, n_chains=n_chains, random_state=1)
    rbm.partial_fit(np.tile(DATA, (20, 1)))
    _assert_unchanged(rbm, W, b, c)
    rbm.set_params(learning_rate=1.0).partial_fit(DATA)
    update = {
        "weights": rbm.weights_ - W,
        "visible_bias": rbm.visible_bias_ - b,
        "hidden_bias": rbm.hidden_bias_ - c,
    }
    tol = 5 * 0.5 / math.sqrt(n_chains)

    def deviation(target):
        return max(float(np.max(np.abs(update[k] - target[k]))) for k in update)

    assert deviation(_exact_gradient(W, b, c, DATA)) <= tol
    W_perturbed = W.copy()
    W_perturbed[0, 0] += 1.0
    assert deviation(_exact_gradient(W_perturbed, b, c, DATA)) > tol


def test_pt_crosses_a_barrier_that_pcd_chains_do_not_within_the_same_budget():
    """A bimodal RBM (4 visible, 1 hidden; W = 10, b = -5, c = -20) symmetric
    under (v, h) -> (1 - v, 1 - h): its two modes (0000, 0) and (1111, 1) hold
    equal mass, so exactly p(h = 1) = 1/2 (computed here by enumeration), but
    leaving a mode by Gibbs needs two visible units on at once (probability
    about 6 sigmoid(-5)^2 = 3e-4 per step). Every chain starts in (0000, 0)
    (the data are all zeros), 60 frozen updates. 2000 independent chains: the
    beta = 1 frequency of h = 1 must satisfy the 5-sigma rule
    |p_hat - 1/2| <= 5 sqrt(1/4 / 2000) + 1/2000 = 0.056 for PT (6 temperatures
    down to 0.1), and PCD's chains, with the same updates, fail it (they stay
    in the first mode: about 1% cross; PT's 6 temperatures do 6 times the
    Gibbs work, but even 360 PCD steps would let only about 5% cross)."""
    W, b, c = np.full((4, 1), 10.0), np.full(4, -5.0), np.array([-20.0])
    rows = _states(5)
    energy = -(rows[:, :4] @ b) - rows[:, 4] * c[0] - rows[:, 4] * (rows[:, :4] @ W[:, 0])
    p_h1 = float(_tempered(energy, 1.0) @ rows[:, 4])
    assert p_h1 == pytest.approx(0.5, abs=1e-12)
    n_chains = 2000
    tol = 5 * math.sqrt(p_h1 * (1 - p_h1) / n_chains) + 1 / n_chains
    frequency = {}
    for method in ("pcd", "pt"):
        rbm = RBM.from_parameters(
            W, b, c, method=method, n_temperatures=6, beta_min=0.1, learning_rate=FROZEN,
            momentum=0.0, batch_size=5, n_chains=n_chains, random_state=0,
        )  # fmt: skip
        rbm.partial_fit(np.zeros((5 * 60, 4)))
        _assert_unchanged(rbm, W, b, c)
        top = rbm.persistent_hidden_[-1] if method == "pt" else rbm.persistent_hidden_
        frequency[method] = float(top.mean())
    assert abs(frequency["pt"] - p_h1) <= tol, frequency
    assert abs(frequency["pcd"] - p_h1) > tol, frequency


def _exact_acceptance(energy, betas):
    """Expected swap acceptance per pair at stationarity: x ~ p_t, y ~ p_{t+1}
    independent (the product of the tempered joints is invariant), accepted
    with min(1, exp((beta_{t+1} - beta_t)(E(y) - E(x)))), summed over all
    pairs of joint states."""
    out = []
    for lo, hi in itertools.pairwise(betas):
        p_lo, p_hi = _tempered(energy, lo), _tempered(energy, hi)
        ratio = np.exp(np.minimum((hi - lo) * (energy[None, :] - energy[:, None]), 0.0))
        out.append(float(p_lo @ ratio @ p_hi))  # x indexes rows, y columns
    return np.array(out)


def test_swap_acceptance_matches_the_exact_expectation():
    """A strongly coupled tiny model (weights x 2.5), 4 temperatures down to
    0.1, 4000 ladders: after 10 burn-in rounds, 20 rounds measured (each
    pair proposed in 10 of them). Per round the 4000 accept indicators are
    independent (variance <= 1/4); the rate averages 10 such round means,
    whose correlation cannot raise its standard deviation above one round's
    0.5 / sqrt(4000) = 0.0079, so each rate must lie within 0.04 of the
    exact expectation. Power twin: the exact rates of the ladder down to 0.3
    are more than the tolerance away."""
    W, b, c = _model(seed=5, scale=2.5)
    _, _, energy = _joint(W, b, c)
    n_chains = 4_000
    rbm = _frozen_rbm(W, b, c, n_temperatures=4, beta_min=0.1, n_chains=n_chains, random_state=2)
    rbm.partial_fit(np.tile(DATA, (10, 1)))
    attempts0, accepts0 = rbm.swap_attempts_.copy(), rbm.swap_accepts_.copy()
    rbm.partial_fit(np.tile(DATA, (20, 1)))
    _assert_unchanged(rbm, W, b, c)
    attempts = rbm.swap_attempts_ - attempts0
    np.testing.assert_array_equal(attempts, [10 * n_chains] * 3)
    rate = (rbm.swap_accepts_ - accepts0) / attempts
    exact = _exact_acceptance(energy, rbm.betas_)
    assert np.all(exact < 0.9), exact  # swaps are far from always accepted
    assert np.all(np.abs(rate - exact) <= 0.04), (rate, exact)
    other = _exact_acceptance(energy, geometric_ladder(4, 0.3))
    assert np.any(np.abs(rate - other) > 0.04), (rate, other)
    # The public rate is the running ratio, burn-in included.
    np.testing.assert_array_equal(rbm.swap_acceptance_, rbm.swap_accepts_ / rbm.swap_attempts_)


def test_even_and_odd_pairs_alternate():
    """Round r proposes the pairs t = r mod 2, r mod 2 + 2, ...: after 3 rounds
    of a 4-temperature ladder, pairs 0 and 2 were proposed twice, pair 1 once."""
    W, b, c = _model()
    rbm = _frozen_rbm(W, b, c, n_temperatures=4, n_chains=7, random_state=0)
    rbm.partial_fit(np.tile(DATA, (3, 1)))
    np.testing.assert_array_equal(rbm.swap_attempts_, [14, 7, 14])
    assert np.all(rbm.swap_accepts_ <= rbm.swap_attempts_)


# ------------------------------------------------------------ learning
def test_pt_learns_a_bimodal_data_set_better_than_pcd_at_equal_updates():
    """Two opposite 10-pixel patterns (1^5 0^5 and its complement, 50 rows
    each), 4 hidden units, 300 updates of 10 rows (lr 0.1, momentum 0.5,
    10 chains) for both methods; the exact log-likelihood (4 hidden units
    enumerated) is at most log(1/2) = -0.69. PCD's few chains sit in one mode
    while the fast-changing model moves the other, and several seeds end far
    below; PT's hot chains carry states across. Over 6 seeds the mean must be
    at least 1 nat higher for PT. Measured over 5 disjoint groups of 6 seeds
    (seeds 0-29): PCD means -4.5 to -10.9, PT -1.4 to -2.9, gap 1.6 to 9.2;
    these seeds (0-5): -4.6 against -1.4."""
    pattern = np.array([1.0] * 5 + [0.0] * 5)
    X = np.array([pattern, 1 - pattern] * 50)
    settings = dict(
        n_hidden=4, learning_rate=0.1, momentum=0.5, n_epochs=30, batch_size=10, n_chains=10
    )
    scores = {}
    for method in ("pcd", "pt"):
        scores[method] = np.array(
            [
                RBM(method=method, n_temperatures=4, beta_min=0.2, random_state=seed, **settings)
                .fit(X)
                .log_likelihood(X)
                for seed in range(6)
            ]
        )
    assert np.all(scores["pt"] <= math.log(0.5) + 1e-9)
    assert scores["pt"].mean() > scores["pcd"].mean() + 1.0, scores


def test_gaussian_visible_tempered_conditional_has_variance_one_over_beta():
    """Gaussian visible units: at beta the visible conditional is N(b + W h,
    1 / beta). With W = 0 it is N(b, 1 / beta) whatever h, so one tempered
    Gibbs step of the training workspace (the visible states are not kept
    after an update, hence the private call) gives 4 x 20000 independent
    normal draws per temperature: the mean square deviation from b has
    standard error sqrt(2 / 80000) / beta and the mean 1 / sqrt(80000 beta);
    both must lie within 5 of them. Power: a variance of 1 at every beta
    (no tempering) would miss beta = 0.25 by 3, over 300 standard errors."""
    from pgm.layered.two_layer import Workspace

    rbm = RBM.from_parameters(
        np.zeros((4, 2)), np.array([0.5, -1.0, 2.0, 0.0]), np.zeros(2), visible="gaussian",
        method="pt", n_temperatures=3, beta_min=0.25, n_chains=20_000, batch_size=5,
        learning_rate=FROZEN, momentum=0.0, random_state=0,
    )  # fmt: skip
    p = rbm._validated()
    work = Workspace(rbm, p, 5)
    rng = np.random.default_rng(0)
    work._init_tempered_chains(np.zeros((5, 4)), rng)
    work._tempered_step(rng)
    v = work.pt_v[:, :4].reshape(3, 20_000, 4)
    for t, beta in enumerate(work.betas):
        centred = v[t] - np.array([0.5, -1.0, 2.0, 0.0])
        variance = float(np.mean(centred**2))
        assert abs(variance - 1 / beta) <= 5 * math.sqrt(2 / 80_000) / beta, (beta, variance)
        assert abs(float(centred.mean())) <= 5 / math.sqrt(80_000 * beta)


# ------------------------------------------------------------ persistence
def test_save_load_round_trip_and_identical_resume(tmp_path):
    """fit, save, load: chains of every temperature, swap counters and the
    round parity come back exactly, and partial_fit then continues bit for
    bit as on the original object (parameters, chains, swap counts)."""
    rng = np.random.default_rng(0)
    X = rng.integers(0, 2, size=(40, N_VISIBLE)).astype(float)
    settings = dict(n_hidden=3, method="pt", n_temperatures=3, batch_size=7, momentum=0.5)
    straight = RBM(n_epochs=2, random_state=3, **settings).fit(X)
    straight.save(tmp_path / "pt.npz")
    loaded = RBM.load(tmp_path / "pt.npz")
    for name in ("persistent_hidden_", "swap_attempts_", "swap_accepts_", "betas_", "_velocity"):
        a, b = getattr(straight, name), getattr(loaded, name)
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), name
    np.testing.assert_array_equal(loaded.swap_acceptance_, straight.swap_acceptance_)
    assert loaded._swap_rounds == straight._swap_rounds == 2 * math.ceil(40 / 7)
    assert loaded.get_params() == straight.get_params()
    straight.partial_fit(X[:15])
    loaded.partial_fit(X[:15])  # an odd number of rounds after an even one: parity matters
    for name in ("weights_", "visible_bias_", "hidden_bias_", "persistent_hidden_"):
        assert getattr(straight, name).tobytes() == getattr(loaded, name).tobytes(), name
    np.testing.assert_array_equal(straight.swap_accepts_, loaded.swap_accepts_)
    np.testing.assert_array_equal(straight.swap_attempts_, loaded.swap_attempts_)


def _tamper(source, target, **changes):
    with np.load(source, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    for key, value in changes.items():
        if value is None:
            arrays.pop(key, None)
        else:
            arrays[key] = value
    np.savez(target, **arrays)
    return target


def test_load_validates_the_tempered_entries(tmp_path):
    X = np.tile(DATA, (4, 1))
    rbm = RBM(n_hidden=3, method="pt", n_temperatures=3, batch_size=5, random_state=0).fit(X)
    good = tmp_path / "good.npz"
    rbm.save(good)
    bad = tmp_path / "bad.npz"
    cases = [
        (dict(persistent_hidden=np.zeros((5, N_HIDDEN))), r"\(n_temperatures, n_chains, n_hidden"),
        (dict(persistent_hidden=np.full((3, 5, N_HIDDEN), 0.5)), "must be binary"),
        (dict(swap_attempts=np.zeros(3, dtype=np.int64)), r"swap_attempts must be int64 of shape"),
        (dict(swap_accepts=np.array([1.0, 0.0])), "swap_accepts must be int64"),
        (
            dict(swap_accepts=rbm.swap_attempts_ + 1),
            "0 <= swap_accepts <= swap_attempts",
        ),
        (dict(swap_rounds=np.array(-1)), "swap_rounds must be >= 0"),
        (dict(swap_rounds=None), r"missing \['swap_rounds'\]"),
        (dict(persistent_hidden=None), r"missing \['persistent_hidden'\]"),
    ]
    for changes, match in cases:
        with pytest.raises(ValueError, match=match):
            RBM.load(_tamper(good, bad, **changes))
    # Swap statistics in a PCD archive are refused, not dropped.
    pcd = RBM(n_hidden=3, batch_size=5, random_state=0).fit(X)
    pcd.save(tmp_path / "pcd.npz")
    with np.load(good) as archive:
        extra = {key: archive[key] for key in ("swap_attempts", "swap_accepts", "swap_rounds")}
    with pytest.raises(ValueError, match="holds swap statistics but method is 'pcd'"):
        RBM.load(_tamper(tmp_path / "pcd.npz", bad, **extra))


# ------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_temperatures": 1}, "n_temperatures must be an integer >= 2"),
        ({"n_temperatures": 2.5}, "n_temperatures must be an integer"),
        ({"n_temperatures": "4"}, "n_temperatures must be an integer"),
        ({"beta_min": 0.0}, "beta_min must be a finite positive"),
        ({"beta_min": 1.0}, r"beta_min must lie in \(0, 1\)"),
        ({"beta_min": float("nan")}, "beta_min must be a finite positive"),
        ({"beta_min": "small"}, "beta_min must be a positive real number"),
        ({"algorithm": "sparse"}, "algorithm='sparse' is not available with method='pt'"),
    ],
)
def test_bad_tempering_hyper_parameters(params, match):
    rbm = RBM(method="pt", **params)
    with pytest.raises(ValueError, match=match):
        rbm.fit(DATA)
    assert not hasattr(rbm, "weights_") and not hasattr(rbm, "swap_acceptance_")


def test_auto_algorithm_takes_the_dense_path_and_refits_cleanly():
    """Sparse binary data would send PCD to the sparse path; PT stays dense.
    A refit as PCD drops every PT attribute."""
    from pgm.models import rbm as rbm_module

    X = np.zeros((20, 30))
    X[:, 0] = 1.0
    p = RBM(method="pt")._validated()
    assert not rbm_module._use_sparse(X, p)
    assert rbm_module._use_sparse(X, RBM(method="pcd")._validated())
    model = RBM(n_hidden=3, method="pt", n_temperatures=3, n_epochs=1, random_state=0).fit(X)
    assert model.persistent_hidden_.shape == (3, 10, 3)
    model.set_params(method="pcd").fit(X)
    assert model.persistent_hidden_.shape == (10, 3)
    assert not hasattr(model, "swap_acceptance_") and not hasattr(model, "betas_")


# ------------------------------------------------------- scikit-learn checks
# One estimator keeps this file fast: the binary RBM behind the logistic
# squashing of tests/models/test_rbm.py, which passes every check (the plain
# binary RBM only adds the xfails that test_rbm.py documents for PCD).
@parametrize_with_checks(
    [
        _SquashedRBM(
            method="pt", n_temperatures=3, n_hidden=4, n_epochs=2, batch_size=10, random_state=0
        ),
    ]
)
def test_sklearn_compatible_with_parallel_tempering(estimator, check):
    check(estimator)


def test_pt_fit_is_reproducible_and_independent_of_thread_count(monkeypatch):
    """Every kernel forced onto its parallel version: 1 thread and all threads
    give the same PT fit bit for bit (uniforms depend on position, not thread),
    and another seed gives another fit."""
    import numba

    from pgm.layered import _kernels as _rbm_kernels

    monkeypatch.setattr(_rbm_kernels, "PARALLEL_MIN_ENTRIES", 0)
    rng = np.random.default_rng(1)
    X = (rng.random((60, 12)) < 0.3).astype(float)
    settings = dict(n_hidden=5, method="pt", n_temperatures=3, n_epochs=2, batch_size=20)
    fits = []
    before = numba.get_num_threads()
    try:
        for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(threads)
            fits.append(RBM(random_state=0, **settings).fit(X))
    finally:
        numba.set_num_threads(before)
    fits.append(RBM(random_state=0, **settings).fit(X))
    for rbm in fits[1:]:
        assert rbm.weights_.tobytes() == fits[0].weights_.tobytes()
        assert rbm.persistent_hidden_.tobytes() == fits[0].persistent_hidden_.tobytes()
        np.testing.assert_array_equal(rbm.swap_accepts_, fits[0].swap_accepts_)
    other = RBM(random_state=1, **settings).fit(X)
    assert not np.array_equal(other.weights_, fits[0].weights_)
