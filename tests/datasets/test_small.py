"""Tests for pgm.datasets.small: 8 x 8 digits and bars-and-stripes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pgm.datasets import bars_and_stripes, bars_and_stripes_log_likelihood_ceiling, load_digits


def test_load_digits_scaled_and_binarised():
    X, y = load_digits(binarize=False)
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    # Grey levels are k / 16 for integers k.
    np.testing.assert_array_equal(X * 16, np.round(X * 16))
    np.testing.assert_array_equal(np.bincount(y), np.bincount(y, minlength=10))
    assert set(np.unique(y)) == set(range(10))

    B, yb = load_digits()
    np.testing.assert_array_equal(B, (X >= 0.5).astype(np.float64))
    np.testing.assert_array_equal(yb, y)


def test_load_digits_rejects_non_bool():
    with pytest.raises(TypeError, match="binarize must be True or False, got 0.5"):
        load_digits(binarize=0.5)


def _is_stripes(grid):
    return bool(np.all(grid == grid[:, :1]))  # every row constant


def _is_bars(grid):
    return bool(np.all(grid == grid[:1, :]))  # every column constant


@pytest.mark.parametrize("side", [1, 2, 3, 4, 5])
def test_bars_and_stripes_count_unique_and_shape(side):
    patterns = bars_and_stripes(side)
    n = 2 ** (side + 1) - 2
    assert patterns.shape == (n, side * side) and patterns.dtype == np.float64
    assert set(np.unique(patterns)) <= {0.0, 1.0}
    assert len({row.tobytes() for row in patterns}) == n  # all distinct
    for row in patterns:
        grid = row.reshape(side, side)
        assert _is_stripes(grid) or _is_bars(grid)


def test_bars_and_stripes_is_complete_for_side_3():
    """Brute force: of all 2^9 grids exactly the bars-or-stripes ones are listed."""
    side = 3
    listed = {tuple(row.astype(int)) for row in bars_and_stripes(side)}
    every = {
        bits
        for k in range(2 ** (side * side))
        for bits in [tuple((k >> np.arange(side * side)) & 1)]
        if _is_stripes(np.reshape(bits, (side, side))) or _is_bars(np.reshape(bits, (side, side)))
    }
    assert listed == {tuple(int(b) for b in bits) for bits in every}


def test_bars_and_stripes_documented_order():
    patterns = bars_and_stripes(2)
    expected = [
        [0, 0, 0, 0],
        [1, 1, 0, 0],
        [0, 0, 1, 1],
        [1, 1, 1, 1],
        [1, 0, 1, 0],
        [0, 1, 0, 1],
    ]
    np.testing.assert_array_equal(patterns, expected)


@pytest.mark.parametrize("side", [0, -1, 2.0, True, 17])
def test_bars_and_stripes_rejects_bad_side(side):
    with pytest.raises(ValueError, match="side must be"):
        bars_and_stripes(side)
    with pytest.raises(ValueError, match="side must be"):
        bars_and_stripes_log_likelihood_ceiling(side)


@pytest.mark.parametrize("side", [1, 2, 4])
def test_log_likelihood_ceiling_is_uniform_over_patterns(side):
    n = len(bars_and_stripes(side))
    ceiling = bars_and_stripes_log_likelihood_ceiling(side)
    assert ceiling == pytest.approx(-math.log(n), rel=1e-15)
    # The uniform distribution attains it; any other distribution on the
    # patterns does worse (Gibbs' inequality), e.g. one tilted towards row 0.
    p = np.full(n, 1.0 / n)
    assert np.mean(np.log(p)) == pytest.approx(ceiling, rel=1e-12)
    q = p.copy()
    q[0] += 0.5 / n
    q /= q.sum()
    assert np.mean(np.log(q)) < ceiling
