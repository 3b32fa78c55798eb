"""LayeredModel against the factor graph and exact enumeration."""

import numpy as np
import pytest

from pgm.inference import exact
from pgm.layered import ais
from pgm.layered.model import LayeredModel


def _model(sizes, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    w = [rng.normal(0, scale, (a, b)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    return LayeredModel(w, [rng.normal(0, scale, n) for n in sizes])


@pytest.mark.parametrize("sizes", [(5, 4, 3), (4, 3, 3, 2)])
def test_energy_log_z_and_free_energy_match_factor_graph(sizes):
    m = _model(sizes)
    fg = m.to_factor_graph()
    rng = np.random.default_rng(1)
    x = (rng.random((20, sum(sizes))) < 0.5).astype(np.int64)
    np.testing.assert_allclose(m.energy(m.split(x)), fg.energy(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(m.log_partition_exact(), exact.log_partition(fg), rtol=1e-10)
    v = x[:, : sizes[0]].astype(float)
    # log p(v) = -F(v) - log Z, checked against exact.log_likelihood row by row
    for row in v[:5]:
        ll = exact.log_likelihood(fg, row[None].astype(np.int64), visible=np.arange(sizes[0]))
        np.testing.assert_allclose(
            -m.free_energy(row[None])[0] - m.log_partition_exact(), ll, rtol=1e-10
        )


def test_mean_field_fixed_point_and_bound():
    m = _model((5, 4, 3), seed=2, scale=1.0)
    fg = m.to_factor_graph()
    v = np.array([[1, 0, 1, 1, 0], [0, 0, 0, 1, 1]], dtype=float)
    mu, converged, _ = m.mean_field(v, max_iter=500, tol=1e-12)
    assert converged
    from scipy.special import expit

    for l in range(1, 3):
        np.testing.assert_allclose(mu[l], expit(m.total_input(mu, l)), atol=1e-10)
    bound = m.mean_field_bound(mu) - m.log_partition_exact()
    for r in range(2):
        ll = exact.log_likelihood(fg, v[r : r + 1].astype(np.int64), visible=np.arange(5))
        assert bound[r] <= ll + 1e-12


def test_ais_within_band_of_exact_log_z():
    m = _model((5, 4, 3), seed=4)
    r = ais.log_partition(m, n_chains=200, betas=500, seed=0)
    lo, hi = r.log_z_interval
    assert lo <= m.log_partition_exact() <= hi
    assert r.effective_sample_size > 100


def test_ais_warns_on_degenerate_weights():
    m = _model((5, 4, 3), seed=4, scale=8.0)
    with pytest.warns(RuntimeWarning, match="unreliable"):
        # one step and strong weights: ESS about 6 of 50 chains (measured), below half
        ais.log_partition(m, n_chains=50, betas=2, seed=0, min_ess_fraction=0.5)


def test_gibbs_samples_match_exact_marginals():
    m = _model((3, 2, 2), seed=5)
    fg = m.to_factor_graph()
    rng = np.random.default_rng(0)
    n = 4000
    layers = [(rng.random((n, k)) < 0.5).astype(float) for k in m.sizes]
    for _ in range(50):
        m.gibbs_sweep(layers, rng)
    p = exact.marginals(fg)[:, 1]
    freq = np.hstack(layers).mean(axis=0)
    # n independent chains after burn-in: 5 sigma binomial band + 1/n
    assert np.all(np.abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / n) + 1 / n)
    # power twin: the same check against a target whose h1 biases moved by 0.5 must
    # fail (its marginals move by about 0.1, the band is about 0.04 wide)
    twin = LayeredModel(m.weights, [m.biases[0], m.biases[1] + 0.5, m.biases[2]])
    q = exact.marginals(twin.to_factor_graph())[:, 1]
    assert not np.all(np.abs(freq - q) <= 5 * np.sqrt(q * (1 - q) / n) + 1 / n)


def test_statistics_give_exact_gradient():
    """Exact data phase minus exact model phase of statistics() equals the exact gradient."""
    m = _model((3, 2, 2), seed=6)
    fg = m.to_factor_graph()
    from pgm.learning.gradient import log_likelihood_gradient

    data = np.array([[1, 0, 1], [0, 1, 1]])
    grad = log_likelihood_gradient(fg, data, visible=np.arange(3))
    import itertools

    allx = np.array(list(itertools.product((0, 1), repeat=7)), dtype=float)
    e = m.energy(m.split(allx))
    pj = np.exp(-e - np.max(-e))
    pj /= pj.sum()
    model_stats = {k: np.tensordot(pj, v, axes=1) for k, v in _per_state_stats(m, allx).items()}
    data_stats = {k: 0.0 for k in model_stats}
    for row in data:
        mask = np.all(allx[:, :3] == row, axis=1)
        q = pj * mask
        q /= q.sum()
        for k, v in _per_state_stats(m, allx).items():
            data_stats[k] = data_stats[k] + np.tensordot(q, v, axes=1) / len(data)
    for k in grad:
        np.testing.assert_allclose(data_stats[k] - model_stats[k], grad[k], rtol=1e-9, atol=1e-12)


def _per_state_stats(m, allx):
    layers = m.split(allx)
    out = {}
    for l in range(m.n_layers):
        out[f"biases_{l}"] = layers[l]
    for l in range(m.n_layers - 1):
        out[f"weights_{l}"] = np.einsum("bi,bj->bij", layers[l], layers[l + 1])
    return out


def test_bad_shapes_rejected():
    with pytest.raises(ValueError, match="weights\\[1\\] must have 4 rows"):
        LayeredModel([np.zeros((3, 4)), np.zeros((3, 2))], [np.zeros(3), np.zeros(4), np.zeros(2)])
    with pytest.raises(ValueError, match="biases must hold"):
        LayeredModel([np.zeros((3, 4))], [np.zeros(3)])


def test_log_z_matches_naive_oracle():
    """The naive term-by-term brute force of tests/oracle.py (no pgm.inference)."""
    from tests import oracle

    sizes = (3, 2, 2)
    m = _model(sizes, seed=3)
    terms = oracle.Terms()
    ids = [terms.add_variables(n, "binary") for n in sizes]
    for layer, b in zip(ids, m.biases, strict=True):
        terms.unary.extend(zip(layer, b, strict=True))
    for l, w in enumerate(m.weights):
        for i, a in enumerate(ids[l]):
            for j, c in enumerate(ids[l + 1]):
                terms.pairwise.append((a, c, w[i, j]))
    np.testing.assert_allclose(m.log_partition_exact(), oracle.log_partition(terms), rtol=1e-10)
