"""ShapePriorCRF against its factor graph and enumeration on tiny instances."""

import numpy as np
import pytest

from pgm.inference import exact
from pgm.models.crf import grid_edges
from pgm.models.shape_prior import ShapePriorCRF, projection_matrix


def _model(rng, k=2, h=2):
    P = projection_matrix(2, 3, 2)  # 6 pixels onto a 2x2 grid
    m = ShapePriorCRF.from_parameters(
        rng.normal(size=(k, 3)), rng.normal(size=(k, k)), rng.normal(size=(4, k, h)),
        rng.normal(size=h), P, mean_field_iter=200)
    x = (rng.normal(size=(6, 3)), grid_edges(2, 3))
    return m, x


def test_projection_rows_and_columns():
    P = projection_matrix(4, 6, 2)
    # ybar_r is the fraction of cell r per label: rows sum to 1; each pixel spreads 4/24
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(P.sum(axis=0), 4 / 24, rtol=1e-12)
    assert P.shape == (4, 24) and np.count_nonzero(P) == 24


def test_energy_and_conditional_vs_factor_graph():
    rng = np.random.default_rng(0)
    m, x = _model(rng)
    fg = m.to_factor_graph(x)
    y = rng.integers(0, 2, size=(20, 6))
    h = rng.integers(0, 2, size=(20, 2))
    np.testing.assert_allclose(m.energy(x, y, h), fg.energy(np.hstack([y, h])), rtol=1e-12, atol=1e-12)
    q, log_z = m.exact_conditional(x)
    assert np.isclose(log_z, exact.log_partition(fg), rtol=1e-10)
    np.testing.assert_allclose(q, exact.marginals(fg)[:6, :2], rtol=1e-10, atol=1e-12)


def test_mean_field_bound():
    rng = np.random.default_rng(1)
    for _ in range(5):
        m, x = _model(rng)
        q, qh, b = m.mean_field(x)
        assert b <= m.exact_conditional(x)[1] + 1e-12
        np.testing.assert_allclose(q.sum(axis=1), 1.0, rtol=1e-12)


def test_bad_input():
    rng = np.random.default_rng(2)
    m, x = _model(rng)
    with pytest.raises(ValueError, match="projection expects 6"):
        m.mean_field((np.zeros((5, 3)), np.zeros((0, 2), dtype=int)))
    with pytest.raises(ValueError, match="rbm_weights must have shape"):
        ShapePriorCRF.from_parameters(np.zeros((2, 3)), np.zeros((2, 2)), np.zeros((4, 3, 2)), np.zeros(2), np.zeros((4, 6)))
