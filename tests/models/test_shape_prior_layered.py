"""The shape prior's RBM as a LayeredModel, against brute force over its definition."""

import itertools

import numpy as np
import pytest
from scipy.special import logsumexp

from pgm._validation import NotFittedError
from pgm.models import CRF, ShapePriorCRF, grid_edges
from pgm.models.shape_prior import projection_matrix, train_softmax_rbm

K, CELLS, H = 3, 3, 2


def _rbm(rng, k=K, cells=CELLS, h=H, scale=1.0):
    return (
        scale * rng.normal(size=(cells, k, h)),
        rng.normal(size=(cells, k)),
        rng.normal(size=h),
    )


def _prior(w, b, c):
    """A ShapePriorCRF whose CRF part is zero and whose projection is the identity.

    Then ``ybar`` is the one-hot label map and ``p(y | x)`` is the shape RBM's
    visible distribution.
    """
    cells, k, _ = w.shape
    m = ShapePriorCRF.from_parameters(
        np.zeros((k, 1)), np.zeros((k, k)), w, c, np.eye(cells), visible_bias=b
    )
    x = (np.zeros((cells, 1)), np.zeros((0, 2), dtype=np.int64))
    return m, x


def _brute_energy(w, b, c, y, h):
    """E(y, h) = -sum_r b[r, y_r] - sum_{r,j} W[r, y_r, j] h_j - c . h, term by term."""
    e = -sum(b[r, y[r]] for r in range(len(y)))
    e -= sum(w[r, y[r], j] * h[j] for r in range(len(y)) for j in range(len(h)))
    return e - sum(c[j] * h[j] for j in range(len(h)))


def _all_states(k, cells, h):
    ys = list(itertools.product(range(k), repeat=cells))
    hs = list(itertools.product((0, 1), repeat=h))
    return ys, hs


def _onehot(y, k):
    return np.eye(k)[np.asarray(y)].reshape(len(y), -1)


def test_to_layered_layout_and_not_fitted():
    rng = np.random.default_rng(0)
    w, b, c = _rbm(rng)
    m, _ = _prior(w, b, c)
    core = m.to_layered()
    assert core.sizes == (CELLS * K, H)
    assert [u.name for u in core.units] == ["softmax", "binary"] and core.units[0].k == K
    # unit r * K + k is label k of cell r
    np.testing.assert_array_equal(core.weights[0][1 * K + 2], w[1, 2])
    np.testing.assert_array_equal(core.biases[0], b.ravel())
    # copies: changing the engine's arrays leaves the model alone
    core.weights[0][:] = 0.0
    assert np.array_equal(m.rbm_weights_, w)
    with pytest.raises(NotFittedError):
        ShapePriorCRF().to_layered()


def test_energy_and_free_energy_match_definition_model_and_factor_graph():
    rng = np.random.default_rng(1)
    w, b, c = _rbm(rng)
    m, x = _prior(w, b, c)
    core = m.to_layered()
    ys, hs = _all_states(K, CELLS, H)
    y = np.array([ys[i] for i, _ in itertools.product(range(len(ys)), range(len(hs)))])
    h = np.array([hh for _, hh in itertools.product(range(len(ys)), hs)], dtype=float)
    v = _onehot(y, K).reshape(len(y), -1)
    brute = np.array([_brute_energy(w, b, c, yy, hh) for yy, hh in zip(y, h, strict=True)])
    e = core.energy([v, h])
    np.testing.assert_allclose(e, brute, rtol=0, atol=1e-12)
    np.testing.assert_allclose(m.energy(x, y, h), brute, rtol=0, atol=1e-12)
    fg = core.to_factor_graph()
    np.testing.assert_allclose(
        fg.energy(core.factor_graph_states([v, h])), brute, rtol=0, atol=1e-12
    )
    # the model's own factor graph: labels y, then h (pixel = cell here)
    np.testing.assert_allclose(
        m.to_factor_graph(x).energy(np.hstack([y, h.astype(np.int64)])), brute, atol=1e-12
    )
    # free energy: h summed out by enumeration, by the engine's parity sum and by the model
    yu = np.array(ys)
    vu = _onehot(yu, K).reshape(len(yu), -1)
    f_brute = -np.array([logsumexp([-_brute_energy(w, b, c, yy, hh) for hh in hs]) for yy in yu])
    np.testing.assert_allclose(core.free_energy(vu), f_brute, atol=1e-12)
    np.testing.assert_allclose(core.free_energy_parity([vu, None], 1), f_brute, atol=1e-12)
    np.testing.assert_allclose(m.free_energy(x, yu), f_brute, atol=1e-12)


def test_fractional_maps_energy_is_the_rbm_part_of_the_model_energy():
    # with a real projection ybar is fractional: E(y, h | x) = E_crf + E_layered(ybar, h)
    rng = np.random.default_rng(2)
    P = projection_matrix(2, 3, 2)
    w, b, c = _rbm(rng, k=2, cells=4, h=3)
    u, p = rng.normal(size=(2, 3)), rng.normal(size=(2, 2))
    m = ShapePriorCRF.from_parameters(u, p, w, c, P, visible_bias=b)
    feats, edges = rng.normal(size=(6, 3)), grid_edges(2, 3)
    y = rng.integers(0, 2, size=(5, 6))
    h = (rng.random((5, 3)) < 0.5).astype(float)
    ybar = np.einsum("rs,bsk->brk", P, np.eye(2)[y]).reshape(5, -1)
    core = m.to_layered()
    e_crf = CRF._energy(feats, edges, y, u, p)
    np.testing.assert_allclose(m.energy((feats, edges), y, h), e_crf + core.energy([ybar, h]))
    np.testing.assert_allclose(
        m.free_energy((feats, edges), y), e_crf + core.free_energy_parity([ybar, None], 1)
    )


def test_exact_log_partition_by_enumeration():
    rng = np.random.default_rng(3)
    w, b, c = _rbm(rng, scale=2.0)
    m, x = _prior(w, b, c)
    ys, hs = _all_states(K, CELLS, H)
    log_z = logsumexp([-_brute_energy(w, b, c, y, h) for y in ys for h in hs])
    assert m.to_layered().log_partition_exact() == pytest.approx(log_z, abs=1e-12)
    # the model's exact conditional sums the same states (h analytically)
    assert m.exact_conditional(x)[1] == pytest.approx(log_z, abs=1e-12)


def test_conditionals_against_brute_force():
    rng = np.random.default_rng(4)
    w, b, c = _rbm(rng, scale=1.5)
    core = _prior(w, b, c)[0].to_layered()
    ys, hs = _all_states(K, CELLS, H)
    for h in hs:
        # p(y_r = k | h) by summing exp(-E) over every labelling
        lw = np.array([-_brute_energy(w, b, c, y, h) for y in ys])
        pr = np.exp(lw - logsumexp(lw))
        brute = np.array([[pr @ (np.array(ys)[:, r] == k) for k in range(K)] for r in range(CELLS)])
        a = core.total_input([None, np.array([h], dtype=float)], 0)
        np.testing.assert_allclose(core.units[0].mean(a)[0], brute.ravel(), atol=1e-12)
    for y in ys:
        lw = np.array([-_brute_energy(w, b, c, y, h) for h in hs])
        pr = np.exp(lw - logsumexp(lw))
        brute = pr @ np.array(hs, dtype=float)
        a = core.total_input([_onehot(y, K).reshape(1, -1), None], 1)
        np.testing.assert_allclose(core.units[1].mean(a)[0], brute, atol=1e-12)


def test_sample_from_mean_uses_the_draws_of_sample():
    rng = np.random.default_rng(5)
    core = _prior(*_rbm(rng))[0].to_layered()
    vis = core.units[0]
    a = rng.normal(size=(50, CELLS * K))
    np.testing.assert_array_equal(
        vis.sample(a, np.random.default_rng(9)),
        vis.sample_from_mean(vis.mean(a), np.random.default_rng(9)),
    )


def test_sample_shapes_follows_the_exact_visible_marginals():
    rng = np.random.default_rng(6)
    w, b, c = _rbm(rng, k=2, cells=3, h=2)
    m, x = _prior(w, b, c)
    exact_q, _ = m.exact_conditional(x)  # p(y_r = k), identity projection
    n = 4000
    maps = m.sample_shapes(n_samples=n, n_steps=30, seed=0)
    assert maps.shape == (n, 3, 2)
    np.testing.assert_allclose(maps.sum(axis=2), 1.0, atol=1e-12)
    # E[p(v | h)] over chains = p(v) (Rao-Blackwellised); 5 standard errors
    se = maps.std(axis=0) / np.sqrt(n)
    assert np.all(np.abs(maps.mean(axis=0) - exact_q) < 5 * se + 1e-3)
    # same seed, same maps
    np.testing.assert_array_equal(maps[:5], m.sample_shapes(n_samples=n, n_steps=30, seed=0)[:5])


def _log_likelihood(w, b, c, v):
    core = _prior(w, b, c)[0].to_layered()
    return float(np.mean(-core.free_energy_parity([v, None], 1)) - core.log_partition_exact())


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("method", ["pcd", "cd"])
def test_training_increases_the_exact_log_likelihood(method, seed):
    # two shapes on 4 cells (K = 2), with their noisy copies
    base = np.array([[0, 0, 1, 1], [1, 1, 0, 0]])
    rng = np.random.default_rng(7)
    y = base[rng.integers(0, 2, 40)]
    flip = rng.random(y.shape) < 0.05
    y = np.where(flip, 1 - y, y)
    maps = np.eye(2)[y]  # (40, 4, 2)
    v = maps.reshape(40, -1)
    # (20 persistent chains: with 10 and this step PCD oscillated on one seed of five)
    kw = dict(method=method, cd_k=1, learning_rate=0.1, batch_size=20, seed=seed)
    init = train_softmax_rbm(maps, 2, 3, n_epochs=0, **kw)
    trained = train_softmax_rbm(maps, 2, 3, n_epochs=150, **kw)
    before, after = _log_likelihood(*init, v), _log_likelihood(*trained, v)
    # the visible bias starts at the data's log-frequencies (the best independent model);
    # the hidden units must capture the correlation between cells on top of it
    # (measured: about -2.70 before, -1.55 to -1.65 after for seeds 0-5)
    assert after > before + 0.5, (before, after)
