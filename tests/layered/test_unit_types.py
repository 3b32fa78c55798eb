"""Layered models with softmax and Gaussian layers against independent brute force.

Softmax layers are checked against the same model as a FactorGraph with
categorical variables (``pgm.inference.exact``); Gaussian layers have no
discrete counterpart, so their log-partitions are checked against numerical
integration (``scipy.integrate.quad``) of ``exp(-E)`` summed over every
discrete state with :meth:`LayeredModel.energy`.
"""

import itertools

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import logsumexp

from pgm.inference import exact
from pgm.layered import ais
from pgm.layered.model import LayeredModel


def _model(sizes, units, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    w = [rng.normal(0, scale, (a, b)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    return LayeredModel(w, [rng.normal(0, scale, n) for n in sizes], units=units)


def _all_states(m, layers_idx):
    """Every joint state of the listed discrete layers, as per-layer arrays."""
    per = [m.units[l].enumerate(m.sizes[l]) for l in layers_idx]
    combos = list(itertools.product(*[range(p.shape[0]) for p in per]))
    return [np.array([p[c[i]] for c in combos]) for i, p in enumerate(per)]


SOFTMAX_CASES = [
    ((4, 6, 2), ["binary", ("softmax", 3), "binary"]),
    ((6, 3, 4), [("softmax", 3), "binary", ("softmax", 2)]),
]


@pytest.mark.parametrize(("sizes", "units"), SOFTMAX_CASES)
def test_softmax_layers_match_categorical_factor_graph(sizes, units):
    m = _model(sizes, units)
    fg = m.to_factor_graph()
    states = _all_states(m, range(m.n_layers))
    x = m.factor_graph_states(states)
    np.testing.assert_allclose(m.energy(states), fg.energy(x), rtol=1e-12, atol=1e-12)
    log_z = exact.log_partition(fg)
    np.testing.assert_allclose(m.log_partition_exact(), log_z, rtol=1e-10)
    n_vis_vars = x.shape[1] - sum(
        m.sizes[l] // (m.units[l].k if m.units[l].name == "softmax" else 1)
        for l in range(1, m.n_layers)
    )
    v_rows = np.unique(states[0], axis=0)[:4]
    v_vars = m.factor_graph_states([v_rows] + [s[: len(v_rows)] for s in states[1:]])
    for row, vv in zip(v_rows, v_vars[:, :n_vis_vars], strict=True):
        ll = exact.log_likelihood(fg, vv[None], visible=np.arange(n_vis_vars))
        np.testing.assert_allclose(-m.free_energy(row[None])[0] - log_z, ll, rtol=1e-10)


def test_softmax_mean_field_fixed_point_and_bound_below_exact():
    m = _model((4, 6, 2), ["binary", ("softmax", 3), "binary"], seed=2, scale=1.0)
    v = np.array([[1, 0, 1, 1], [0, 0, 0, 1]], dtype=float)
    mu, converged, _ = m.mean_field(v, max_iter=500, tol=1e-12)
    assert converged
    for l in (1, 2):
        np.testing.assert_allclose(mu[l], m.units[l].mean(m.total_input(mu, l)), atol=1e-10)
    np.testing.assert_allclose(mu[1].reshape(2, 2, 3).sum(axis=2), 1.0, rtol=1e-12)
    log_p = -m.free_energy(v) - m.log_partition_exact()
    bound = m.mean_field_bound(mu) - m.log_partition_exact()
    assert np.all(bound <= log_p + 1e-12)
    # the bound is tight to within the KL of q from the exact posterior, here small
    assert np.all(bound > log_p - 1.0)


def _gibbs_freq(m, n, sweeps, seed):
    rng = np.random.default_rng(seed)
    layers = [u.init(rng, n, k) for u, k in zip(m.units, m.sizes, strict=True)]
    for _ in range(sweeps):
        m.gibbs_sweep(layers, rng)
    return np.hstack(layers).mean(axis=0)


def _unit_marginals(m):
    """Exact P(unit on) for every unit, from the factor graph's marginals."""
    marg = exact.marginals(m.to_factor_graph())  # (n_vars, max_card)
    out, var = [], 0
    for u, n in zip(m.units, m.sizes, strict=True):
        if u.name == "softmax":
            for _ in range(n // u.k):
                out.extend(marg[var, : u.k])
                var += 1
        else:
            out.extend(marg[var : var + n, 1])
            var += n
    return np.array(out)


def test_gibbs_with_softmax_layer_matches_exact_marginals_and_power_twin():
    m = _model((3, 6, 2), ["binary", ("softmax", 3), "binary"], seed=5)
    n = 4000
    freq = _gibbs_freq(m, n, 50, seed=0)
    p = _unit_marginals(m)
    # n independent chains after 50 sweeps of burn-in: 5 sigma binomial band + 1/n
    band = 5 * np.sqrt(p * (1 - p) / n) + 1 / n
    assert np.all(np.abs(freq - p) <= band)
    # power twin: the same samples against a target with shifted softmax biases must fail
    shifted = LayeredModel(
        m.weights,
        [m.biases[0], m.biases[1] + np.array([0.8, 0.0, -0.8] * 2), m.biases[2]],
        units=m.units,
    )
    q = _unit_marginals(shifted)
    assert not np.all(np.abs(freq - q) <= 5 * np.sqrt(q * (1 - q) / n) + 1 / n)


def _quad_log_integral(a, sigma):
    """``log prod_i int exp(a_i x - x^2 / (2 sigma_i^2)) dx`` by quad, unit by unit."""
    total = 0.0
    for ai, si in zip(a, sigma, strict=True):
        # the integrand's mode is si^2 ai, within a few units of 0 here
        val = quad(
            lambda x, ai=ai, si=si: np.exp(ai * x - x * x / (2 * si * si)),
            -60,
            60,
            epsabs=0,
            epsrel=1e-11,
            limit=200,
        )[0]
        total += np.log(val)
    return total


def test_gaussian_visible_log_z_and_free_energy_against_quad():
    sigma = np.array([0.8, 1.3])
    m = _model((2, 3, 2), [("gaussian", sigma), "binary", "binary"], seed=3)
    h1, h2 = _all_states(m, [1, 2])
    # brute force: sum over every (h1, h2) of the v-integral of exp(-E), by quad; E's
    # h-dependent part is read from LayeredModel.energy at v = 0 (no Gaussian term there)
    logs = []
    for a, b in zip(h1, h2, strict=True):
        e0 = m.energy([np.zeros((1, 2)), a[None], b[None]])[0]
        a_v = m.biases[0] + m.weights[0] @ a
        logs.append(-e0 + _quad_log_integral(a_v, sigma))
    np.testing.assert_allclose(m.log_partition_exact(), logsumexp(logs), rtol=1e-9)
    # F(v): sum over the hidden states of exp(-E(v, h)) with the full energy
    v = np.array([[0.3, -1.2], [2.0, 0.5]])
    for row in v:
        e = m.energy([np.repeat(row[None], len(h1), axis=0), h1, h2])
        np.testing.assert_allclose(m.free_energy(row[None])[0], -logsumexp(-e), rtol=1e-12)
    # the energy's Gaussian term: E(v, 0, 0) = sum v^2 / (2 sigma^2) - b . v
    e = m.energy([v, np.zeros((2, 3)), np.zeros((2, 2))])
    np.testing.assert_allclose(e, (v * v / (2 * sigma**2)).sum(1) - v @ m.biases[0], rtol=1e-12)


def test_gaussian_hidden_layer_log_z_against_quad_and_mean_field_bound():
    sigma = np.array([0.7, 1.1, 0.9])
    m = _model((3, 3, 2), ["binary", ("gaussian", sigma), "binary"], seed=4)
    v, h2 = _all_states(m, [0, 2])
    logs = []
    for a, b in zip(v, h2, strict=True):
        e0 = m.energy([a[None], np.zeros((1, 3)), b[None]])[0]
        a_h = m.biases[1] + a @ m.weights[0] + m.weights[1] @ b
        logs.append(-e0 + _quad_log_integral(a_h, sigma))
    log_z = logsumexp(logs)
    np.testing.assert_allclose(m.log_partition_exact(), log_z, rtol=1e-9)
    # log p(v) by the same quad sums, restricted to each v; the mean-field bound is below
    x = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    mu, converged, _ = m.mean_field(x, max_iter=1000, tol=1e-13)
    assert converged
    bound = m.mean_field_bound(mu) - log_z
    for r, row in enumerate(x):
        rows = np.all(v == row, axis=1)
        log_p = logsumexp(np.array(logs)[rows]) - log_z
        np.testing.assert_allclose(-m.free_energy(row[None])[0] - log_z, log_p, rtol=1e-9)
        assert bound[r] <= log_p + 1e-10


@pytest.mark.parametrize(
    ("sizes", "units", "data_kind"),
    [
        ((6, 3, 4), [("softmax", 3), "binary", ("softmax", 2)], "softmax"),
        ((3, 4, 2), [("gaussian", 0.9), "binary", "binary"], "gaussian"),
    ],
)
def test_ais_within_band_for_softmax_and_gaussian_visible(sizes, units, data_kind):
    m = _model(sizes, units, seed=6)
    rng = np.random.default_rng(0)
    if data_kind == "softmax":
        data = m.units[0].init(rng, 50, sizes[0])
    else:
        data = rng.normal(0.5, 1.0, (50, sizes[0]))
    r = ais.log_partition(m, n_chains=200, betas=300, base_rate=data, seed=1)
    lo, hi = r.log_z_interval
    assert lo <= m.log_partition_exact() <= hi


def test_save_load_keeps_unit_types(tmp_path):
    m = _model((6, 3, 4), [("softmax", 3), "binary", ("softmax", 2)])
    g = _model((2, 3, 2), [("gaussian", [0.5, 2.0]), "binary", "binary"])
    for model, name in ((m, "s.npz"), (g, "g.npz")):
        model.save(tmp_path / name)
        w, b, data = LayeredModel.load_arrays(tmp_path / name)
        back = LayeredModel(w, b, units=data["units"])
        assert [u.spec() for u in back.units] == [u.spec() for u in model.units]
        for x, y in zip(model.weights + model.biases, back.weights + back.biases, strict=True):
            np.testing.assert_array_equal(x, y)
        assert back.log_partition_exact() == model.log_partition_exact()
    w, b, data = LayeredModel.load_arrays(tmp_path / "g.npz")
    np.testing.assert_array_equal(LayeredModel(w, b, units=data["units"]).units[0].sigma, [0.5, 2])


def test_unit_type_errors():
    with pytest.raises(ValueError, match="not a multiple of k"):
        _model((4, 5, 2), ["binary", ("softmax", 3), "binary"])
    with pytest.raises(ValueError, match="both Gaussian"):
        _model((2, 3), ["gaussian", "gaussian"])
    with pytest.raises(ValueError, match="one spec per layer"):
        _model((2, 3), ["binary"])
    with pytest.raises(ValueError, match="sigma has 3 entries"):
        _model((2, 2), ["binary", ("gaussian", [1.0, 1.0, 1.0])])
    g = _model((2, 3, 2), ["gaussian", "binary", "binary"])
    with pytest.raises(ValueError, match="layer 0 is Gaussian"):
        g.to_factor_graph()
    both = _model((2, 2, 2, 2), ["gaussian", "binary", "binary", "gaussian"])
    with pytest.raises(ValueError, match="both hold Gaussian"):
        both.log_partition_exact()
    hid = _model((3, 2, 2), ["binary", "gaussian", "binary"])
    with pytest.raises(ValueError, match="hidden layer 1 is Gaussian"):
        ais.log_partition(hid, n_chains=4, betas=3)
    s = _model((4, 6, 2), ["binary", ("softmax", 3), "binary"])
    with pytest.raises(ValueError, match="one-hot"):
        s.check_states([np.zeros((1, 4)), np.zeros((1, 6)), np.zeros((1, 2))])
