"""The layered AIS engine against a plain numpy AIS written from its formulas, and exact log Z.

The reference below is the textbook algorithm (Neal 2001; Salakhutdinov & Hinton 2009,
section 4) for a model of layers ``0..L-1``: the odd layers summed out of ``log f_beta``,
one block-Gibbs sweep per temperature (odd layers, then even ones, the visible layer's
input mixed with the base biases), written with numpy's ``logaddexp`` and ``expit`` and
the units' own ``log_partition`` and ``sample``. It draws its random numbers in the order
the engine documents (even layers at ``beta = 0``; then per step each odd layer, then
each even layer), so the two runs see the same chains and their log weights must agree
to rounding; any wiring error in the fused kernels (a missing neighbour, a wrong bias,
a layer sampled at the wrong temperature) changes them by far more.
"""

import numpy as np
import pytest
from scipy.special import expit

from pgm.inference import ais as rbm_ais
from pgm.layered import ais
from pgm.layered.model import LayeredModel


def _model(sizes, units=None, seed=0, scale=0.6):
    rng = np.random.default_rng(seed)
    w = [rng.normal(0, scale, (a, b)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    return LayeredModel(w, [rng.normal(0, scale, n) for n in sizes], units=units)


def _input(m, h, l):
    a = np.zeros_like(h[l])
    if l > 0:
        a = a + h[l - 1] @ m.weights[l - 1]
    if l + 1 < m.n_layers:
        a = a + h[l + 1] @ m.weights[l].T
    return a


def _reference_log_weights(m, betas, n_chains, base, seed, hidden_base=None):
    """``hidden_base``: {even layer: its base biases} (the others' base is uniform)."""
    rng = np.random.default_rng(seed)
    L = m.n_layers
    h = [np.zeros((n_chains, n)) for n in m.sizes]
    bases = [base] + [np.zeros(n) for n in m.sizes[1:]]
    for l, b in (hidden_base or {}).items():
        bases[l] = b

    def draw_even(beta):
        for l in range(0, L, 2):
            a = (1.0 - beta) * bases[l] + beta * (m.biases[l] + _input(m, h, l))
            if m.units[l].name == "binary":
                h[l] = (rng.random(a.shape) < expit(a)).astype(float)
            else:
                h[l] = m.units[l].sample(a, rng)

    def log_f(beta):
        out = 0.0
        for l in range(0, L, 2):
            out = out + (1.0 - beta) * (h[l] @ bases[l]) + beta * (h[l] @ m.biases[l])
        for l in range(1, L, 2):
            a = beta * (m.biases[l] + _input(m, h, l))
            out = out + (
                np.logaddexp(0.0, a).sum(axis=1)
                if m.units[l].name == "binary"
                else m.units[l].log_partition(a)
            )
        return out

    draw_even(0.0)
    log_w = np.zeros(n_chains)
    for k in range(1, len(betas)):
        log_w += log_f(betas[k]) - log_f(betas[k - 1])
        if k < len(betas) - 1:
            for l in range(1, L, 2):
                a = betas[k] * (m.biases[l] + _input(m, h, l))
                if m.units[l].name == "binary":
                    h[l] = (rng.random(a.shape) < expit(a)).astype(float)
                else:
                    h[l] = m.units[l].sample(a, rng)
            draw_even(betas[k])
    return log_w


CASES = {
    "rbm": ((7, 5), None),
    "dbm-3-hidden (top odd)": ((6, 4, 5, 3), None),
    "dbm-4-hidden (top even)": ((5, 4, 3, 4, 2), None),
    "softmax visible": ((6, 4, 3), [("softmax", 3), "binary", "binary"]),
    "softmax odd layer": ((4, 6, 3), ["binary", ("softmax", 3), "binary"]),
    "softmax even hidden": ((4, 3, 4), ["binary", "binary", ("softmax", 2)]),
    "gaussian visible": ((3, 4, 2), [("gaussian", [0.7, 1.3, 1.0]), "binary", "binary"]),
}


@pytest.mark.parametrize("name", CASES)
def test_engine_equals_the_numpy_reference(name):
    sizes, units = CASES[name]
    m = _model(sizes, units, seed=3)
    betas = np.linspace(0.0, 1.0, 40)
    base = np.random.default_rng(9).normal(0, 0.5, sizes[0])
    r = ais.log_partition(m, n_chains=16, betas=betas, base_visible_bias=base, seed=5)
    want = _reference_log_weights(m, betas, 16, base, seed=5)
    np.testing.assert_allclose(r.log_weights, want, rtol=1e-12, atol=1e-11)
    # the power twin: a reference with one layer's bias perturbed is told apart
    twin = LayeredModel(m.weights, [b + (0.05 if i == 1 else 0) for i, b in enumerate(m.biases)],
                        units=units)  # fmt: skip
    assert np.max(np.abs(_reference_log_weights(twin, betas, 16, base, 5) - want)) > 1e-3


def _mean_field_marginals(m, v, n_iter=500):
    """Plain fixed-point mean field with ``v`` clamped (layers updated in order, from 1/2)."""
    mu = [v] + [np.full((v.shape[0], n), 0.5) for n in m.sizes[1:]]
    for _ in range(n_iter):
        for l in range(1, m.n_layers):
            a = m.biases[l] + _input(m, mu, l)
            mu[l] = expit(a) if m.units[l].name == "binary" else m.units[l].mean(a)
    return mu


@pytest.mark.parametrize("name", ["dbm-4-hidden (top even)", "softmax even hidden"])
def test_mean_field_hidden_base_equals_the_numpy_reference(name):
    """base_hidden='mean_field': even hidden layers start at their smoothed posterior means."""
    sizes, units = CASES[name]
    m = _model(sizes, units, seed=3, scale=0.3)
    data = (np.random.default_rng(2).random((40, sizes[0])) < 0.4).astype(float)
    betas = np.linspace(0.0, 1.0, 40)
    r = ais.log_partition(m, n_chains=16, betas=betas, base_rate=data, seed=5,
                          base_hidden="mean_field", smoothing=0.5)  # fmt: skip
    mu = _mean_field_marginals(m, data)
    hidden_base = {}
    for l in range(2, m.n_layers, 2):
        if m.units[l].name == "softmax":  # log group frequencies
            g = (mu[l].sum(axis=0) + 0.5).reshape(-1, m.units[l].k)
            hidden_base[l] = np.log(g / g.sum(axis=1, keepdims=True)).ravel()
        else:  # log-odds of the smoothed frequencies
            p = (mu[l].sum(axis=0) + 0.5) / (40 + 1.0)
            hidden_base[l] = np.log(p / (1 - p))
    want = _reference_log_weights(m, betas, 16, r.base_visible_bias, 5, hidden_base)
    np.testing.assert_allclose(r.log_weights, want, rtol=1e-9, atol=1e-8)
    # log Z_A counts the even hidden layers' base: it differs from the uniform base's
    uniform = ais.log_partition(m, n_chains=16, betas=betas, base_rate=data, seed=5,
                                base_hidden="uniform", smoothing=0.5)  # fmt: skip
    want = _reference_log_weights(m, betas, 16, r.base_visible_bias, 5)
    np.testing.assert_allclose(uniform.log_weights, want, rtol=1e-12, atol=1e-11)
    assert abs(uniform.log_z_base - r.log_z_base) > 1e-3


@pytest.mark.parametrize("base_hidden", ["uniform", "mean_field"])
@pytest.mark.parametrize("sizes", [(5, 4, 3, 4, 2), (6, 4, 5, 3)])
def test_deep_models_within_band_of_exact_log_z(sizes, base_hidden):
    m = _model(sizes, seed=4, scale=0.5)
    data = (np.random.default_rng(1).random((50, sizes[0])) < 0.3).astype(float)
    r = ais.log_partition(m, n_chains=200, betas=400, seed=0, base_rate=data,
                          base_hidden=base_hidden)  # fmt: skip
    lo, hi = r.log_z_interval
    assert lo <= m.log_partition_exact() <= hi
    assert r.effective_sample_size > 100


def test_mean_field_base_anneals_dead_top_units_that_a_uniform_base_cannot():
    """A top layer whose units are all off under the data, as in a DBM trained on MNIST.

    From a uniform base the annealing must switch 40 strongly coupled units off; from
    their posterior means it starts there. Same temperatures and chains: the uniform
    base's log Z falls far below the exact value, the mean-field base's band holds it.
    """
    rng = np.random.default_rng(0)
    w = [rng.normal(0, 0.5, (10, 6)), rng.normal(0, 3.0, (6, 40))]
    b = [rng.normal(0, 0.5, 10), rng.normal(0, 0.5, 6), np.full(40, -12.0)]
    m = LayeredModel(w, b)
    data = (rng.random((200, 10)) < 0.5).astype(float)
    exact = m.log_partition_exact()
    kw = dict(n_chains=100, betas=100, base_rate=data, seed=1)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the uniform base's ESS collapses
        uniform = ais.log_partition(m, base_hidden="uniform", **kw)
    by_mf = ais.log_partition(m, base_hidden="mean_field", **kw)
    lo, hi = by_mf.log_z_interval
    assert lo <= exact <= hi
    assert uniform.log_z < exact - 1.0
    assert by_mf.effective_sample_size > 5 * uniform.effective_sample_size


def test_gaussian_rbm_result_is_consistent_in_the_rbms_energy():
    """The RBM's Gaussian energy |v - b|^2 / 2: log Z = log Z_A + logmeanexp(log w) still holds."""
    rng = np.random.default_rng(0)
    from types import SimpleNamespace

    rbm = SimpleNamespace(weights_=rng.normal(0, 0.3, (4, 3)), visible_bias_=rng.normal(0, 1, 4),
                          hidden_bias_=rng.normal(0, 1, 3), visible="gaussian")  # fmt: skip
    r = rbm_ais.log_partition(rbm, n_chains=50, betas=200, seed=1)
    w = r.log_weights
    mean = np.log(np.mean(np.exp(w - w.max()))) + w.max()
    assert r.log_z == pytest.approx(r.log_z_base + mean, abs=1e-12)
    # base N(b_A, I), W = 0, hidden uniform: log Z_A = n_v log(2 pi) / 2 + n_h log 2
    assert r.log_z_base == pytest.approx(2 * np.log(2 * np.pi) + 3 * np.log(2), abs=1e-12)
    core = LayeredModel([rbm.weights_], [rbm.visible_bias_, rbm.hidden_bias_],
                        units=["gaussian", "binary"])  # fmt: skip
    exact = core.log_partition_exact() - 0.5 * rbm.visible_bias_ @ rbm.visible_bias_
    assert r.log_z_interval[0] <= exact <= r.log_z_interval[1]


def test_return_chains_and_base_options_reach_deep_models():
    m = _model((5, 4, 3), seed=1)
    data = (np.random.default_rng(2).random((30, 5)) < 0.3).astype(float)
    by_data = ais.log_partition(m, n_chains=30, betas=200, base_rate=data, seed=0,
                                return_chains=True, base_hidden="uniform")  # fmt: skip
    assert by_data.chains.shape == (30, 5) and set(np.unique(by_data.chains)) <= {0.0, 1.0}
    given = ais.log_partition(m, n_chains=30, betas=200,
                              base_visible_bias=by_data.base_visible_bias, seed=0)  # fmt: skip
    np.testing.assert_array_equal(given.log_weights, by_data.log_weights)
    with pytest.raises(ValueError, match="at most one of base_rate and base_visible_bias"):
        ais.log_partition(m, base_rate=data, base_visible_bias=np.zeros(5))
    with pytest.raises(ValueError, match="smoothing"):
        ais.log_partition(m, base_rate=data, smoothing=0.0)
    with pytest.raises(ValueError, match="base_hidden must be 'auto', 'uniform' or 'mean_field'"):
        ais.log_partition(m, base_rate=data, base_hidden="data")
    with pytest.raises(ValueError, match="base_hidden='mean_field' needs base_rate given as data"):
        ais.log_partition(m, base_visible_bias=np.zeros(5), base_hidden="mean_field")
    # 'auto' is 'mean_field' when base_rate is data, 'uniform' otherwise
    auto = ais.log_partition(m, n_chains=30, betas=200, base_rate=data, seed=0)
    mf = ais.log_partition(m, n_chains=30, betas=200, base_rate=data, seed=0,
                           base_hidden="mean_field")  # fmt: skip
    np.testing.assert_array_equal(auto.log_weights, mf.log_weights)
    assert auto.log_z_base != by_data.log_z_base
    # the public API passes base_hidden through
    for bh, want in (("uniform", by_data), ("auto", mf)):
        got = rbm_ais.log_partition(m, n_chains=30, betas=200, base_rate=data, seed=0,
                                    base_hidden=bh)  # fmt: skip
        np.testing.assert_array_equal(got.log_weights, want.log_weights)
    soft = _model((6, 4, 3), [("softmax", 3), "binary", "binary"])
    with pytest.raises(ValueError, match="one-hot"):
        ais.log_partition(soft, base_rate=np.full((2, 6), 0.5))
    with pytest.raises(ValueError, match="binary visible units only"):
        ais.log_partition(soft, base_rate=np.full(6, 0.5))
