"""DBM estimator: exact checks on tiny models, training smoke test, errors."""

import itertools

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import logsumexp
from sklearn.utils.estimator_checks import parametrize_with_checks

from pgm._validation import NotFittedError
from pgm.inference import ais, exact
from pgm.layered.model import LayeredModel
from pgm.learning.schedules import Constant, ExponentialDecay, InverseDecay
from pgm.models import DBM
from tests.models._sklearn_checks import BINARY_RANGE_CHECKS


def _dbm(sizes=(5, 4, 3), seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    w = [rng.normal(0, scale, (a, b)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    return DBM.from_parameters(w, [rng.normal(0, scale, n) for n in sizes])


@pytest.mark.parametrize("sizes", [(5, 4, 3), (4, 3, 3, 2)])
def test_energy_free_energy_log_z_against_factor_graph(sizes):
    dbm = _dbm(sizes)
    fg = dbm.to_factor_graph()
    rng = np.random.default_rng(1)
    x = (rng.random((10, sum(sizes))) < 0.5).astype(np.int64)
    np.testing.assert_allclose(dbm.energy(x), fg.energy(x), rtol=1e-12, atol=1e-12)
    layers = np.split(x, np.cumsum(sizes)[:-1], axis=1)
    np.testing.assert_allclose(dbm.energy(layers), fg.energy(x), rtol=1e-12, atol=1e-12)
    log_z = exact.log_partition(fg)
    np.testing.assert_allclose(dbm.log_partition("exact"), log_z, rtol=1e-10)
    v = x[:3, : sizes[0]]
    for row in v:
        ll = exact.log_likelihood(fg, row[None], visible=np.arange(sizes[0]))
        np.testing.assert_allclose(-dbm.free_energy(row[None])[0] - log_z, ll, rtol=1e-10)


def test_bound_below_exact_log_likelihood_and_transform_shapes():
    dbm = _dbm((4, 3, 3, 2), seed=3, scale=1.0)
    fg = dbm.to_factor_graph()
    X = np.array([[1, 0, 1, 1], [0, 0, 1, 0]])
    assert dbm.log_likelihood_lower_bound(X) <= exact.log_likelihood(fg, X, visible=np.arange(4))
    assert dbm.transform(X).shape == (2, 8)
    assert dbm.transform(X, layer=3).shape == (2, 2)


def test_importance_bound_between_the_variational_bound_and_log_likelihood():
    dbm = _dbm((4, 3, 3, 2), seed=3, scale=1.0)
    fg = dbm.to_factor_graph()
    X = np.array([[1, 0, 1, 1], [0, 0, 1, 0], [1, 1, 1, 0]])
    log_z = dbm.log_partition("exact")
    ll = exact.log_likelihood(fg, X, visible=np.arange(4))
    mf = dbm.log_likelihood_lower_bound(X, log_z=log_z)
    est = dbm.log_likelihood_importance_bound(X, log_z=log_z, n_samples=2000, seed=0)
    # the mean-field gap here is 0.11 nats; 2000 draws close it to within 0.01 (the
    # estimator's own band is checked in tests/layered/test_importance_bound.py)
    assert ll - mf > 0.1
    assert abs(est - ll) < 0.01
    # reproducible from its seed, also when it estimates log Z itself (AIS)
    opts = dict(n_samples=10, seed=5, method="ais", n_chains=50, betas=200)
    a = dbm.log_likelihood_importance_bound(X, **opts)
    assert a == dbm.log_likelihood_importance_bound(X, **opts)
    # 50 chains and 200 temperatures on 9 hidden units: AIS within 0.5 (measured 0.08)
    assert abs(a - ll) < 0.5
    # one hidden layer: the bound is the exact log-likelihood
    rbm = _dbm((4, 3), seed=1, scale=1.0)
    exact_ll = exact.log_likelihood(rbm.to_factor_graph(), X, visible=np.arange(4))
    got = rbm.log_likelihood_importance_bound(X, log_z=rbm.log_partition("exact"), n_samples=3)
    assert got == pytest.approx(exact_ll, abs=1e-12)
    with pytest.raises(ValueError, match="n_samples"):
        dbm.log_likelihood_importance_bound(X, log_z=log_z, n_samples=0)
    with pytest.raises(ValueError, match="log_z"):
        dbm.log_likelihood_importance_bound(X, log_z=np.nan)


def test_bound_by_ais_takes_its_base_from_the_data_scored():
    """Without log_z the AIS base is X's: the same log Z as an explicit call with base_rate=X."""
    from pgm.layered.ais import log_partition

    dbm = _dbm((6, 4, 5), seed=2, scale=1.0)
    X = (np.random.default_rng(0).random((30, 6)) < 0.3).astype(np.int64)
    mu, _, _ = dbm._core.mean_field(X, max_iter=100)
    fit = float(np.mean(dbm._core.mean_field_bound(mu)))
    opts = dict(n_chains=50, betas=400, seed=4)
    by_x = log_partition(dbm._core, base_rate=X, **opts).log_z
    got = dbm.log_likelihood_lower_bound(X, method="ais", **opts)
    assert got == pytest.approx(fit - by_x, abs=1e-12)
    uniform = log_partition(dbm._core, base_rate=X, base_hidden="uniform", **opts).log_z
    assert abs(by_x - uniform) > 1e-6  # the hidden base is the data's, not uniform
    given = dbm.log_likelihood_lower_bound(X, method="ais", base_visible_bias=np.zeros(6), **opts)
    assert given == pytest.approx(
        fit - log_partition(dbm._core, base_visible_bias=np.zeros(6), **opts).log_z, abs=1e-12
    )


def test_ais_dispatch_within_band():
    dbm = _dbm((5, 4, 3), seed=4)
    r = ais.log_partition(dbm, n_chains=200, betas=500, seed=0)
    lo, hi = r.log_z_interval
    assert lo <= dbm.log_partition("exact") <= hi


def test_save_load_round_trip(tmp_path):
    dbm = _dbm((4, 3, 3, 2))
    dbm.save(tmp_path / "m.npz")
    back = DBM.load(tmp_path / "m.npz")
    for a, b in zip(dbm.weights_ + dbm.biases_, back.weights_ + back.biases_, strict=True):
        np.testing.assert_array_equal(a, b)
    np.savez(
        tmp_path / "bad.npz",
        format_version=np.int64(1),
        class_name=np.str_("RBM"),
        n_layers=np.int64(2),
    )
    with pytest.raises(ValueError, match="holds a RBM, not a DBM"):
        DBM.load(tmp_path / "bad.npz")


def test_fit_smoke_and_sample():
    rng = np.random.default_rng(0)
    X = (rng.random((60, 6)) < 0.3).astype(float)
    dbm = DBM(
        hidden_layer_sizes=(4, 3),
        n_iter=3,
        n_pretrain_iter=2,
        batch_size=20,
        n_particles=20,
        random_state=0,
    ).fit(X)
    assert all(np.all(np.isfinite(w)) for w in dbm.weights_)
    s = dbm.sample(5, n_gibbs=10, seed=1)
    assert s.shape == (5, 6) and set(np.unique(s)) <= {0, 1}
    np.testing.assert_array_equal(s, dbm.sample(5, n_gibbs=10, seed=1))
    assert np.isfinite(dbm.score(X))


def test_errors():
    with pytest.raises(NotFittedError):
        DBM().transform(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        DBM(hidden_layer_sizes=()).fit(np.zeros((2, 3)))
    dbm = _dbm()
    with pytest.raises(ValueError, match="shape"):
        dbm.transform(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="only 0 and 1"):
        dbm.energy(np.full((1, 12), 0.5))
    with pytest.raises(ValueError, match="method"):
        dbm.log_partition("magic")
    with pytest.raises(ValueError, match="max_states"):
        dbm.log_partition("exact", max_states=4)


def test_ais_within_band_on_60_visible_dbm_with_enumerable_middle_layer():
    """60-8-4: exact log Z enumerates h1 (2^8 states) and sums v and h2 analytically."""
    rng = np.random.default_rng(0)
    sizes = (60, 8, 4)
    w = [rng.normal(0, 1.0, (a, b)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    b = [rng.normal(0, 0.5, n) for n in sizes]
    dbm = DBM.from_parameters(w, b)
    log_z = dbm.log_partition("exact")
    # independent check: enumerate h1 and h2 (2^12 states), sum only v analytically
    h = np.array(list(itertools.product((0.0, 1.0), repeat=12)))
    h1, h2 = h[:, :8], h[:, 8:]
    terms = (
        h1 @ b[1]
        + h2 @ b[2]
        + np.einsum("bi,bi->b", h1 @ w[1], h2)
        + np.logaddexp(0.0, b[0] + h1 @ w[0].T).sum(axis=1)
    )
    np.testing.assert_allclose(log_z, logsumexp(terms), rtol=1e-12)
    r = ais.log_partition(dbm, n_chains=100, betas=1000, seed=0)
    lo, hi = r.log_z_interval
    assert lo <= log_z <= hi
    # the band is informative: measured width about 0.4 nats at this size and schedule
    assert hi - lo < 1.0


def _quad_log_integral(a):
    """``log prod_i int exp(a_i x - x^2 / 2) dx`` by numerical integration."""
    total = 0.0
    for ai in a:
        # unit-variance Gaussian integrands with modes within a few units of 0
        total += np.log(quad(lambda x, ai=ai: np.exp(ai * x - x * x / 2), -60, 60, epsrel=1e-11)[0])
    return total


def test_gaussian_visible_dbm_log_z_free_energy_bound_and_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    sizes = (2, 3, 2)
    w = [rng.normal(0, 0.5, (a, b)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    b = [rng.normal(0, 0.5, n) for n in sizes]
    dbm = DBM.from_parameters(w, b, visible="gaussian")
    h = np.array(list(itertools.product((0.0, 1.0), repeat=5)))
    h1, h2 = h[:, :3], h[:, 3:]
    logs = [
        x1 @ b[1] + x2 @ b[2] + x1 @ w[1] @ x2 + _quad_log_integral(b[0] + w[0] @ x1)
        for x1, x2 in zip(h1, h2, strict=True)
    ]
    log_z = logsumexp(logs)
    np.testing.assert_allclose(dbm.log_partition(), log_z, rtol=1e-9)
    v = np.array([[0.4, -1.3], [1.5, 0.2]])
    e = np.array([dbm.energy([np.repeat(row[None], 32, 0), h1, h2]) for row in v])
    np.testing.assert_allclose(dbm.free_energy(v), -logsumexp(-e, axis=1), rtol=1e-12)
    log_p = -dbm.free_energy(v) - log_z
    assert dbm.log_likelihood_lower_bound(v[:1], log_z=log_z) <= log_p[0] + 1e-12
    s = dbm.sample(4, n_gibbs=5, seed=0)
    assert s.dtype == np.float64 and s.shape == (4, 2)
    dbm.save(tmp_path / "g.npz")
    back = DBM.load(tmp_path / "g.npz")
    assert back.visible == "gaussian"
    np.testing.assert_array_equal(back.free_energy(v), dbm.free_energy(v))
    with pytest.raises(ValueError, match="Gaussian"):
        dbm.to_factor_graph()


def test_gaussian_visible_fit_on_standardised_data():
    rng = np.random.default_rng(0)
    X = rng.normal(0, 1, (80, 5)) + np.array([1.0, -1.0, 0.0, 2.0, 0.5])
    dbm = DBM(
        (4, 3),
        visible="gaussian",
        n_iter=3,
        n_pretrain_iter=2,
        batch_size=20,
        n_particles=20,
        random_state=0,
    ).fit(X)
    assert dbm._core.units[0].name == "gaussian"
    # pretraining starts the visible biases at the data mean (the mean of N(b, I))
    assert np.all(np.abs(dbm.biases_[0] - X.mean(axis=0)) < 1.0)
    assert np.isfinite(dbm.score(X)) and dbm.transform(X).shape == (80, 7)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        DBM((2,), n_iter=1, n_pretrain_iter=1).fit(X)
    with pytest.raises(ValueError, match="visible"):
        DBM((2,), visible="poisson").fit(X)


@pytest.mark.parametrize(
    ("centering", "positive_gibbs"), [(False, 0), (True, 0), (False, 2), (True, 2)]
)
def test_joint_training_raises_exact_log_likelihood_on_small_data(centering, positive_gibbs):
    """PCD + mean-field (or sampled) data-phase epochs improve a tiny DBM's exact log-likelihood."""
    rng = np.random.default_rng(1)
    protos = np.array([[1, 1, 1, 0, 0, 0, 1, 0], [0, 0, 0, 1, 1, 1, 0, 1]], dtype=float)
    X = np.abs(protos[rng.integers(0, 2, 200)] - (rng.random((200, 8)) < 0.05))
    dbm = DBM(
        (4, 3),
        n_iter=0,
        n_pretrain_iter=0,
        random_state=0,
        learning_rate=0.1,
        batch_size=20,
        n_particles=50,
        centering=centering,
        positive_gibbs=positive_gibbs,
    ).fit(X)
    core = dbm._core
    before = float(np.mean(-core.free_energy(X))) - core.log_partition_exact()
    state = dbm._joint_state(core, rng, X)
    # the sampled data phase is noisier: it gets twice the epochs
    for _ in range(60 if positive_gibbs else 30):
        dbm._joint_epoch(core, X, rng, state)
    after = float(np.mean(-core.free_energy(X))) - core.log_partition_exact()
    # from small random weights (-5.55 nats, measured) towards the source's entropy,
    # 2.28 nats (log 2 for the prototype plus 8 H(0.05) for the flips): measured -2.34
    # (-2.45 plain and centred with other random streams); sampled: -2.50 and -2.42
    assert before < -5.0
    assert after > -3.0


@pytest.mark.parametrize("sizes", [(5, 4, 3), (4, 3, 3, 2)])
def test_sampled_data_phase_has_the_exact_posterior_statistics(sizes):
    """positive_gibbs draws average to E[statistics | v] by enumeration; mean-field misses."""
    dbm = _dbm(sizes, seed=6, scale=1.2).set_params(positive_gibbs=3)
    core = dbm._core
    v = np.array([1.0, 0.0, 1.0, 1.0, 0.0][: sizes[0]])
    # exact: every hidden state of (v, h), weighted by exp(-E)
    hidden = [np.array(list(itertools.product((0.0, 1.0), repeat=n))) for n in sizes[1:]]
    combos = list(itertools.product(*[range(h.shape[0]) for h in hidden]))
    layers = [np.tile(v, (len(combos), 1))]
    layers += [h[[c[i] for c in combos]] for i, h in enumerate(hidden)]
    p = np.exp(-core.energy(layers) - logsumexp(-core.energy(layers)))
    exact_stats = {k: np.einsum("s,s...->...", p, x) for k, x in _per_row_stats(layers).items()}
    n = 20_000
    mu, _, _ = core.mean_field(np.tile(v, (n, 1)), max_iter=200, tol=1e-12)
    drawn = _per_row_stats(dbm._posterior_sample(core, mu, np.random.default_rng(0)))
    mf = {k: x[0] for k, x in _per_row_stats(mu).items()}
    missed = 0.0
    for key, x in drawn.items():
        band = 5 * x.std(axis=0) / np.sqrt(n) + 1e-12
        assert np.all(np.abs(x.mean(axis=0) - exact_stats[key]) <= band), key
        missed = max(missed, float(np.max(np.abs(mf[key] - exact_stats[key]) / band)))
    # power twin: the mean-field statistics are outside the same bands
    assert missed > 1


def _per_row_stats(layers):
    """Each row's sufficient statistics (biases_l: h_l; weights_l: outer(h_l, h_l+1))."""
    out = {f"biases_{l}": np.asarray(h, dtype=float) for l, h in enumerate(layers)}
    for l in range(len(layers) - 1):
        out[f"weights_{l}"] = np.einsum("bi,bj->bij", layers[l], layers[l + 1])
    return out


def _two_prototypes(n=120, seed=1):
    rng = np.random.default_rng(seed)
    protos = np.array([[1, 1, 1, 0, 0, 0, 1, 0], [0, 0, 0, 1, 1, 1, 0, 1]], dtype=float)
    return np.abs(protos[rng.integers(0, 2, n)] - (rng.random((n, 8)) < 0.05))


def _fit_params(**params):
    dbm = DBM(
        (4, 3), batch_size=20, n_particles=30, learning_rate=0.05, random_state=0, **params
    ).fit(_two_prototypes())
    return dbm.weights_ + dbm.biases_


def _assert_bitwise(a, b):
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_default_schedule_and_momentum_are_the_explicit_ones():
    """Defaults == InverseDecay(10) with final_momentum equal to momentum, bitwise (7 epochs)."""
    sizes = dict(n_pretrain_iter=7, n_iter=7)
    _assert_bitwise(
        _fit_params(**sizes),
        _fit_params(learning_rate_schedule=InverseDecay(10.0), final_momentum=0.5, **sizes),
    )


def test_final_momentum_takes_over_at_epoch_5():
    """Five epochs (0-4) never use final_momentum; a sixth of either phase does (power twin)."""
    five = dict(n_pretrain_iter=5, n_iter=5)
    _assert_bitwise(_fit_params(**five), _fit_params(final_momentum=0.9, **five))
    for six in (dict(n_pretrain_iter=6, n_iter=5), dict(n_pretrain_iter=5, n_iter=6)):
        a, b = _fit_params(**six), _fit_params(final_momentum=0.9, **six)
        assert not all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_joint_rate_follows_the_schedule():
    """ExponentialDecay(0.5) == a constant rate set to 0.04 * 0.5**t before each epoch."""
    X = _two_prototypes()
    runs = []
    for schedule in (ExponentialDecay(0.5), Constant()):
        dbm = DBM(
            (4, 3), n_iter=0, n_pretrain_iter=2, learning_rate=0.04, batch_size=20,
            n_particles=30, learning_rate_schedule=schedule, random_state=0,
        ).fit(X)  # fmt: skip
        rng = np.random.default_rng(5)
        state = dbm._joint_state(dbm._core, rng, X)
        for t in range(4):
            if isinstance(schedule, Constant):
                dbm.set_params(learning_rate=0.04 * 0.5**t)
            dbm._joint_epoch(dbm._core, X, rng, state)
        runs.append(dbm._core.weights + dbm._core.biases)
    _assert_bitwise(*runs)


def test_n_gibbs_sweeps_the_particles_that_many_times_per_update(monkeypatch):
    """120 rows in batches of 20: 6 updates, so 3 sweeps each is 18 calls; 1 is the default."""
    X = _two_prototypes()
    dbm = DBM((4, 3), n_iter=0, n_pretrain_iter=1, batch_size=20, n_particles=30,
              random_state=0).fit(X)  # fmt: skip
    calls = []
    sweep = LayeredModel.gibbs_sweep

    def counting(self, layers, rng, **kw):
        calls.append(1)
        return sweep(self, layers, rng, **kw)

    monkeypatch.setattr(LayeredModel, "gibbs_sweep", counting)
    rng = np.random.default_rng(0)
    for n_gibbs, expected in ((3, 18), (1, 6)):
        calls.clear()
        dbm.set_params(n_gibbs=n_gibbs)
        dbm._joint_epoch(dbm._core, X, rng, dbm._joint_state(dbm._core, rng, X))
        assert len(calls) == expected
    monkeypatch.undo()
    sizes = dict(n_pretrain_iter=2, n_iter=2)
    _assert_bitwise(_fit_params(**sizes), _fit_params(n_gibbs=1, **sizes))
    a, b = _fit_params(**sizes), _fit_params(n_gibbs=5, **sizes)
    assert not all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_gibbs": 0}, "n_gibbs"),
        ({"n_gibbs": 2.5}, "n_gibbs"),
        ({"final_momentum": 1.5}, "final_momentum"),
        ({"learning_rate_schedule": "cosine"}, "learning_rate_schedule must be one of"),
        ({"learning_rate_schedule": 3}, "learning_rate_schedule must be a str"),
        ({"centering": "yes"}, "centering"),
        ({"positive_gibbs": -1}, "positive_gibbs"),
        ({"positive_gibbs": 1.5}, "positive_gibbs"),
    ],
)
def test_bad_schedule_and_momentum_are_refused(params, match):
    with pytest.raises(ValueError, match=match):
        DBM((3,), **params).fit(np.zeros((4, 5)))


_OUT_OF_RANGE = (
    "binary visible units take data in [0, 1] and refuse other values; this check feeds "
    "standard-normal or other out-of-range data (the Gaussian-visible DBM passes it)"
)
_OBJECT = "pgm refuses object-dtype arrays by design (pgm._validation accepts numeric dtypes only)"
_BINARY_RANGE_CHECKS = list(BINARY_RANGE_CHECKS)


def _expected_failed_checks(estimator):
    failed = {"check_dtype_object": _OBJECT}
    if estimator.visible == "binary":
        failed.update(dict.fromkeys(_BINARY_RANGE_CHECKS, _OUT_OF_RANGE))
    return failed


@parametrize_with_checks(
    [
        DBM(
            (3, 2),
            visible=vis,
            n_iter=2,
            n_pretrain_iter=1,
            batch_size=10,
            n_particles=10,
            random_state=0,
        )
        for vis in ("gaussian", "binary")
    ]
    + [
        DBM(
            (3, 2),
            visible="gaussian",
            learn_sigma=True,
            n_iter=2,
            n_pretrain_iter=1,
            batch_size=10,
            n_particles=10,
            random_state=0,
        )
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# ------------------------------------------------------------ discriminative fine-tuning
def test_to_classifier_network_starts_at_the_mean_field_posteriors():
    """With two hidden layers the initial network on ``[v, q(h2)]`` computes q(h1) and q(h2).

    The first layer's weights are ``[W0; W1^T]`` and its bias b1, the second's
    W1 and b2: at the mean-field fixed point these are the fixed-point
    equations, so the hidden activations equal ``transform`` (to the
    mean-field tolerance). A DBM with one hidden layer feeds ``X`` alone.
    """
    dbm = _dbm((6, 5, 4), seed=3, scale=1.0)
    rng = np.random.default_rng(0)
    X = (rng.random((40, 6)) < 0.5).astype(float)
    y = (X[:, 0] + X[:, 1] > 1).astype(int)
    A = dbm.classifier_input(X)
    assert A.shape == (40, 6 + 4)
    np.testing.assert_array_equal(A[:, :6], X)
    np.testing.assert_allclose(A[:, 6:], dbm.transform(X, layer=2), rtol=0, atol=0)
    clf = dbm.to_classifier(n_classes=2, n_epochs=0, random_state=0).fit(A, y)  # no training
    assert clf.hidden_layer_sizes == (5, 4)
    h1 = clf.network_.propagate(A, 0, 1)
    h2 = clf.network_.propagate(A, 0, 2)
    np.testing.assert_allclose(h1, dbm.transform(X, layer=1), atol=1e-7)
    np.testing.assert_allclose(h2, dbm.transform(X, layer=2), atol=1e-7)
    tuned = dbm.to_classifier(n_classes=2, optimizer="lbfgs", n_epochs=10, max_iter=10,
                              random_state=0).fit(A, y)  # fmt: skip
    assert tuned.score(A, y) >= 0.95  # fine-tuning fits the separable toy
    single = _dbm((6, 3), seed=4)
    np.testing.assert_array_equal(single.classifier_input(X), X)
    h = single.to_classifier(n_classes=2, n_epochs=0).fit(X, y).network_.propagate(X, 0, 1)
    np.testing.assert_allclose(h, single.transform(X), atol=1e-12)
    with pytest.raises(NotFittedError):
        DBM().to_classifier()
    with pytest.raises(ValueError, match="X has 5 features, but DBM is expecting 6"):
        dbm.classifier_input(X[:, :5])


@pytest.mark.parametrize("sizes", [(6, 4, 3), (6, 5, 4, 3)])
def test_composition_averages_the_pretrained_rbms_inputs(sizes):
    """Each layer between two RBMs gets the mean of the inputs the two RBMs give it.

    RBM l joins layers l and l + 1; in pretraining the bottom RBM doubles its
    upward input, the top RBM its downward input and middle RBMs both
    (section 3.1). The visible layer keeps the bottom RBM's conditional, the
    top layer the top RBM's.
    """
    rng = np.random.default_rng(3)
    L = len(sizes) - 1
    W = [rng.normal(0, 1, (a, b)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    vis = [rng.normal(0, 1, n) for n in sizes[:-1]]  # RBM l's visible bias
    hid = [None] + [rng.normal(0, 1, n) for n in sizes[1:]]  # RBM l-1's hidden bias
    weights, biases = DBM._compose(W, vis, hid)
    core = LayeredModel(weights, biases)
    layers = [(rng.random((7, n)) < 0.5).astype(float) for n in sizes]
    up = [1.0 if (l == L - 1 and L > 1) else 2.0 for l in range(L)]
    down = [1.0 if (l == 0 and L > 1) else 2.0 for l in range(L)]
    for l in range(L + 1):
        # input from RBM l - 1 (layer l as its hidden layer), from RBM l (as its visible one)
        from_below = layers[l - 1] @ W[l - 1] * up[l - 1] + hid[l] if l > 0 else None
        from_above = layers[l + 1] @ W[l].T * down[l] + vis[l] if l < L else None
        if from_below is None:
            expected = from_above
        elif from_above is None:
            expected = from_below
        else:
            expected = 0.5 * (from_below + from_above)
        np.testing.assert_allclose(core.total_input(layers, l), expected, rtol=1e-12, atol=1e-12)
    # the inputs are not modified
    assert all(np.array_equal(w, w0) for w, w0 in zip(weights, W, strict=True))


def test_fit_composes_the_rbms_it_pretrained(monkeypatch):
    """fit's pretrained DBM is _compose of the RBMs' own parameters (h1: mean of two biases)."""
    rng = np.random.default_rng(0)
    X = (rng.random((60, 6)) < 0.4).astype(float)
    seen = {}
    compose = DBM._compose

    def spy(weights, visible_biases, hidden_biases):
        seen["args"] = ([w.copy() for w in weights], [b.copy() for b in visible_biases],
                        [None] + [b.copy() for b in hidden_biases[1:]])  # fmt: skip
        return compose(weights, visible_biases, hidden_biases)

    monkeypatch.setattr(DBM, "_compose", staticmethod(spy))
    dbm = DBM((4, 3), n_pretrain_iter=3, n_iter=0, batch_size=20, random_state=0).fit(X)
    W, vis, hid = seen["args"]
    assert not np.allclose(hid[1], vis[1])  # the two RBMs learned different h1 biases
    np.testing.assert_array_equal(dbm.biases_[1], 0.5 * (hid[1] + vis[1]))
    np.testing.assert_array_equal(dbm.biases_[0], vis[0])
    np.testing.assert_array_equal(dbm.biases_[2], hid[2])
    for w, w0 in zip(dbm.weights_, W, strict=True):
        np.testing.assert_array_equal(w, w0)


def _flip(weights, biases, k):
    """The same DBM with layer ``k``'s units flipped (h_k -> 1 - h_k), up to a constant."""
    weights = [w.copy() for w in weights]
    biases = [b.copy() for b in biases]
    if k < len(weights):
        biases[k + 1] += weights[k].T.sum(axis=1)
        weights[k] *= -1.0
    if k > 0:
        biases[k - 1] += weights[k - 1].sum(axis=1)
        weights[k - 1] *= -1.0
    biases[k] *= -1.0
    return weights, biases


def _exact_statistics(core):
    """Model expectations of the sufficient statistics, by enumerating every joint state."""
    n = sum(core.sizes)
    states = np.array(list(itertools.product([0.0, 1.0], repeat=n)))
    layers = np.split(states, np.cumsum(core.sizes)[:-1], axis=1)
    log_p = -core.energy(layers)
    p = np.exp(log_p - logsumexp(log_p))
    stats = {f"biases_{l}": p @ layers[l] for l in range(core.n_layers)}
    for l in range(core.n_layers - 1):
        stats[f"weights_{l}"] = (layers[l] * p[:, None]).T @ layers[l + 1]
    return stats


@pytest.mark.parametrize("k", [0, 1, 2])
def test_centred_step_is_invariant_to_flipping_units(k):
    """Centring's defining property (Montavon & Mueller 2012): flipping a layer's units
    (h -> 1 - h, with the offsets 1 - mu) and taking one step gives the flipped model of
    the step taken without flipping. The plain gradient step is not invariant (power twin).
    Exact statistics: mean-field data phase at its fixed point, enumerated model phase.
    """
    rng = np.random.default_rng(4)
    sizes = (4, 3, 2)
    dbm0 = _dbm(sizes, seed=2, scale=0.8)
    X = (rng.random((30, 4)) < 0.4).astype(float)
    offsets = [rng.uniform(0.1, 0.9, n) for n in sizes]

    def step(weights, biases, data, offsets, centering):
        dbm = DBM.from_parameters(weights, biases)
        dbm.set_params(centering=centering, weight_decay=0.01)
        core = dbm._core
        mu, converged, _ = core.mean_field(data, max_iter=2000, tol=1e-13)
        assert converged
        state = {
            "vel_w": [np.zeros_like(w) for w in core.weights],
            "vel_b": [np.zeros_like(b) for b in core.biases],
            "offsets": [o.copy() for o in offsets],
        }
        dbm._step(core, core.statistics(mu), _exact_statistics(core), 0.3, 0.0, state)
        return core.weights, core.biases, state["offsets"]

    flipped_offsets = [1.0 - o if l == k else o for l, o in enumerate(offsets)]
    flipped_X = 1.0 - X if k == 0 else X
    gaps = {}
    for centering in (True, False):
        w, b, off = step(dbm0.weights_, dbm0.biases_, X, offsets, centering)
        fw, fb = _flip(dbm0.weights_, dbm0.biases_, k)
        w2, b2, off2 = step(fw, fb, flipped_X, flipped_offsets, centering)
        want_w, want_b = _flip(w, b, k)
        gaps[centering] = max(
            max(np.abs(x - y).max() for x, y in zip(want_w, w2, strict=True)),
            max(np.abs(x - y).max() for x, y in zip(want_b, b2, strict=True)),
        )
        if centering:  # the offsets slide to the data means, flipped with the layer
            for l in range(len(sizes)):
                np.testing.assert_allclose(off2[l], 1.0 - off[l] if l == k else off[l], atol=1e-12)
    assert gaps[True] < 1e-10
    assert gaps[False] > 1e-3
