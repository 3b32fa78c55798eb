"""DBM estimator: exact checks on tiny models, training smoke test, errors."""

import numpy as np
import pytest

from pgm._validation import NotFittedError
from pgm.inference import ais, exact
from pgm.models import DBM


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
