"""The RBM as a facade over the layered engine, checked against independent routes.

Each quantity of ``RBM`` (energy, free energy, exact ``log Z``) is compared
with (a) a ``LayeredModel`` built here from the same arrays, whose exact free
energy enumerates the hidden layer with ``v`` clamped (a different code path
from the analytic sum the RBM uses), and (b) for binary visible units the
RBM's ``to_factor_graph()`` summed by :mod:`pgm.inference.exact` and by
enumerating ``fg.energy`` over every hidden state. Gaussian visible units
have no factor graph; there the reference is the closed-form Gaussian
integral over ``v`` for each hidden state, written here from the energy
``|v - b|^2 / 2 - c.h - v^T W h``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.special import logsumexp

from pgm.inference import exact
from pgm.layered import model as layered_model
from pgm.layered.model import LayeredModel
from pgm.models import RBM


def _params(rng, n_visible, n_hidden, scale=1.0):
    return (
        scale * rng.normal(size=(n_visible, n_hidden)),
        scale * rng.normal(size=n_visible),
        scale * rng.normal(size=n_hidden),
    )


def _bits(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n))).reshape(-1, n)


def _gaussian_log_z(W, b, c):
    """``log sum_h exp(c.h) int exp(-|v - b|^2 / 2 + v.Wh) dv``, Gaussian integral per h."""
    hs = _bits(W.shape[1])
    m = hs @ W.T  # W h per row
    terms = hs @ c + m @ b + 0.5 * np.einsum("ij,ij->i", m, m)
    return float(logsumexp(terms)) + 0.5 * W.shape[0] * math.log(2 * math.pi)


@pytest.mark.parametrize("visible", ["binary", "gaussian"])
@pytest.mark.parametrize("shape", [(5, 3), (3, 6), (4, 4)])
def test_rbm_matches_an_independently_built_layered_model(visible, shape):
    rng = np.random.default_rng(sum(shape) + (visible == "gaussian"))
    W, b, c = _params(rng, *shape)
    rbm = RBM.from_parameters(W, b, c, visible=visible)
    core = LayeredModel([W], [b, c], units=[visible, "binary"])
    offset = 0.5 * float(b @ b) if visible == "gaussian" else 0.0
    n = 40
    v = rng.normal(size=(n, shape[0])) if visible == "gaussian" else _bits(shape[0])
    h = (rng.random((v.shape[0], shape[1])) < 0.5).astype(float)
    np.testing.assert_allclose(rbm.energy(v, h), core.energy([v, h]) + offset, rtol=1e-13)
    # core.free_energy enumerates h with v clamped; the RBM sums h analytically
    np.testing.assert_allclose(rbm.free_energy(v), core.free_energy(v) + offset, rtol=1e-12)
    assert rbm.log_partition("exact") == pytest.approx(
        core.log_partition_exact() - offset, rel=1e-12
    )
    # the view the RBM exposes is the same model
    view = rbm.to_layered()
    assert [u.name for u in view.units] == [visible, "binary"]
    np.testing.assert_array_equal(view.weights[0], W)
    np.testing.assert_array_equal(view.biases[0], b)
    np.testing.assert_array_equal(view.biases[1], c)


def test_gaussian_offset_is_needed():
    """Power twin: without ``|b|^2 / 2`` the layered energy is not the RBM's."""
    rng = np.random.default_rng(3)
    W, b, c = _params(rng, 4, 3)
    b = b + 1.0  # |b|^2 / 2 well away from 0
    rbm = RBM.from_parameters(W, b, c, visible="gaussian")
    core = rbm.to_layered()
    v, h = rng.normal(size=(5, 4)), np.ones((5, 3))
    gap = rbm.energy(v, h) - core.energy([v, h])
    np.testing.assert_allclose(gap, 0.5 * b @ b, rtol=1e-12)
    assert 0.5 * b @ b > 0.5


@pytest.mark.parametrize("shape", [(5, 3), (3, 6), (4, 4)])
def test_binary_rbm_matches_its_factor_graph_by_enumeration(shape):
    rng = np.random.default_rng(10 + sum(shape))
    W, b, c = _params(rng, *shape)
    rbm = RBM.from_parameters(W, b, c)
    fg = rbm.to_factor_graph()
    nv, nh = shape
    assert fg.n_variables == nv + nh
    # energy on random joint states
    states = rng.integers(0, 2, size=(30, nv + nh))
    np.testing.assert_allclose(
        fg.energy(states), rbm.energy(states[:, :nv], states[:, nv:]), rtol=1e-12, atol=1e-12
    )
    # free energy: -log sum_h exp(-E_fg(v, h)) over all hidden states
    vs, hs = _bits(nv), _bits(nh)
    for v in vs:
        joint = np.hstack([np.broadcast_to(v, (hs.shape[0], nv)), hs]).astype(np.int64)
        expected = -logsumexp(-fg.energy(joint))
        assert rbm.free_energy(v[None])[0] == pytest.approx(expected, rel=1e-12, abs=1e-12)
    # log Z: the exact inference module on the factor graph, and the full double sum
    joint = np.array(list(itertools.product([0, 1], repeat=nv + nh)), dtype=np.int64)
    brute = float(logsumexp(-fg.energy(joint)))
    assert rbm.log_partition("exact") == pytest.approx(brute, rel=1e-12)
    assert rbm.log_partition("exact") == pytest.approx(exact.log_partition(fg), rel=1e-10)


def test_factor_graph_names_are_the_rbm_parameters():
    rng = np.random.default_rng(5)
    W, b, c = _params(rng, 3, 2)
    params = RBM.from_parameters(W, b, c).to_factor_graph().parameters()
    assert set(params) == {"visible_bias", "hidden_bias", "weights"}
    np.testing.assert_array_equal(params["weights"], W)
    np.testing.assert_array_equal(params["visible_bias"], b)
    np.testing.assert_array_equal(params["hidden_bias"], c)


@pytest.mark.parametrize("shape", [(3, 2), (2, 5)])
def test_gaussian_rbm_matches_the_gaussian_integral(shape):
    rng = np.random.default_rng(20 + sum(shape))
    W, b, c = _params(rng, *shape, scale=0.7)
    rbm = RBM.from_parameters(W, b, c, visible="gaussian")
    assert rbm.log_partition("exact") == pytest.approx(_gaussian_log_z(W, b, c), rel=1e-12)
    # free energy: -log sum_h exp(-|v - b|^2 / 2 + c.h + v.Wh)
    v = rng.normal(size=(6, shape[0]))
    hs = _bits(shape[1])
    diff = v - b
    terms = -0.5 * np.einsum("ij,ij->i", diff, diff)[:, None] + (hs @ c)[None] + v @ W @ hs.T
    np.testing.assert_allclose(rbm.free_energy(v), -logsumexp(terms, axis=1), rtol=1e-12)


def test_exact_log_partition_is_the_same_in_one_chunk_or_many(monkeypatch):
    """The chunked enumeration (tiny chunks here) agrees with one chunk and brute force."""
    rng = np.random.default_rng(8)
    W, b, c = _params(rng, 7, 9)
    rbm = RBM.from_parameters(W, b, c)
    whole = rbm.log_partition("exact")
    monkeypatch.setattr(layered_model, "_CHUNK_ENTRIES", 50)  # 3 states per chunk
    chunked = rbm.log_partition("exact")
    assert chunked == pytest.approx(whole, rel=1e-13)
    terms = [v @ b + np.logaddexp(0.0, v @ W + c).sum() for v in _bits(7)]
    assert whole == pytest.approx(float(logsumexp(terms)), rel=1e-12)


def test_chunked_enumeration_of_a_softmax_layer_matches_brute_force(monkeypatch):
    """Binary and softmax states generated from their joint index, in chunks.

    Sizes (4, 8, 6) make the even parity (layers 0 and 2: 2**4 * 3**2 = 144
    states) the enumerated one, so the mixed-radix states of a binary and a
    softmax layer are both exercised; log Z against the full triple sum.
    """
    rng = np.random.default_rng(9)
    W0, W1 = rng.normal(size=(4, 8)), rng.normal(size=(8, 6))
    biases = [rng.normal(size=4), rng.normal(size=8), rng.normal(size=6)]
    core = LayeredModel([W0, W1], biases, units=["binary", "binary", ("softmax", 3)])
    assert core._enum_parity((), 2**22)[0] == 0
    monkeypatch.setattr(layered_model, "_CHUNK_ENTRIES", 50)  # 2 states per chunk
    got = core.log_partition_exact()
    tops = np.array([np.concatenate([np.eye(3)[g0], np.eye(3)[g1]])
                     for g0, g1 in itertools.product(range(3), repeat=2)])  # fmt: skip
    v, h, t = _bits(4), _bits(8), tops
    iv, ih, it = (g.ravel() for g in np.meshgrid(
        np.arange(len(v)), np.arange(len(h)), np.arange(len(t)), indexing="ij"))  # fmt: skip
    brute = float(logsumexp(-core.energy([v[iv], h[ih], t[it]])))
    assert got == pytest.approx(brute, rel=1e-12)


def test_to_factor_graph_layer_names_must_match_the_layers():
    core = LayeredModel([np.zeros((2, 2))], [np.zeros(2), np.zeros(2)])
    with pytest.raises(ValueError, match="layer_names must hold 2 names"):
        core.to_factor_graph(["v"])


@pytest.mark.parametrize("visible", ["binary", "gaussian"])
def test_ais_is_the_engines_on_the_two_layer_model(visible):
    """RBM AIS = pgm.layered.ais on an independently built LayeredModel (same seed).

    Binary: the same number bitwise. Gaussian: the engine's log Z minus the energy
    offset |b|^2 / 2 (the RBM writes |v - b|^2 / 2), to rounding; the band and the
    base log Z move with it, and the ESS is the same run's.
    """
    from pgm.layered import ais as layered_ais

    rng = np.random.default_rng(3)
    W, b, c = _params(rng, 6, 4, scale=0.5)
    rbm = RBM.from_parameters(W, b, c, visible=visible)
    got = rbm.log_partition("ais", seed=11, n_chains=40, betas=300)
    core = LayeredModel([W], [b, c], units=[visible, "binary"])
    engine = layered_ais.log_partition(core, n_chains=40, betas=300, seed=11)
    offset = 0.5 * float(b @ b) if visible == "gaussian" else 0.0
    if visible == "binary":
        assert got == engine.log_z
    else:
        assert got == pytest.approx(engine.log_z - offset, abs=1e-12)
        assert abs(engine.log_z - got) > 0.5  # the offset (0.65) is not negligible (power)
    exact_log_z = rbm.log_partition("exact")
    lo, hi = engine.log_z_interval
    assert lo - offset <= exact_log_z <= hi - offset
