"""Small data sets that need no files: 8 x 8 digits and bars-and-stripes."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from pgm._validation import check_positive_int

__all__ = ["load_digits", "bars_and_stripes", "bars_and_stripes_log_likelihood_ceiling"]

#: Largest ``side`` accepted by :func:`bars_and_stripes` (131070 patterns of
#: 256 pixels, about 270 MB in float64); beyond it the array explodes.
MAX_BARS_AND_STRIPES_SIDE = 16


def load_digits(binarize: bool = True) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Load scikit-learn's bundled 8 x 8 handwritten digits (no download).

    Parameters
    ----------
    binarize : bool, default True
        If True, a pixel becomes 1 when its scaled value is at least 0.5
        (grey level 8 or more out of 16) and 0 otherwise.

    Returns
    -------
    X : ndarray of shape (1797, 64), dtype float64
        Images in row-major 8 x 8 order, grey levels 0..16 divided by 16 (so
        in [0, 1]), or 0/1 when ``binarize`` is True.
    y : ndarray of shape (1797,), dtype int64
        Digit labels 0..9.

    Raises
    ------
    TypeError
        If ``binarize`` is not a bool.

    References
    ----------
    E. Alpaydin and C. Kaynak, "Optical Recognition of Handwritten Digits",
    UCI Machine Learning Repository (1998); shipped with scikit-learn as
    ``sklearn.datasets.load_digits``.

    Examples
    --------
    >>> X, y = load_digits()
    >>> X.shape, sorted(set(X.ravel().tolist()))
    ((1797, 64), [0.0, 1.0])
    """
    if not isinstance(binarize, (bool, np.bool_)):
        raise TypeError(f"binarize must be True or False, got {binarize!r}")
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    X = np.asarray(bunch.data, dtype=np.float64) / 16.0
    if binarize:
        X = (X >= 0.5).astype(np.float64)
    return X, np.asarray(bunch.target, dtype=np.int64)


def bars_and_stripes(side: int) -> NDArray[np.float64]:
    """Every distinct bars-and-stripes pattern of a ``side`` x ``side`` grid.

    A pattern switches on a subset of the rows (horizontal stripes) or a
    subset of the columns (vertical bars). The empty and full grids arise both
    ways but are listed once, so there are ``2**(side + 1) - 2`` patterns.

    Parameters
    ----------
    side : int
        Grid side, 1 <= side <= 16 (``MAX_BARS_AND_STRIPES_SIDE``).

    Returns
    -------
    patterns : ndarray of shape (2**(side + 1) - 2, side * side), dtype float64
        0/1 pixels in row-major grid order (float64, the dtype models train
        on). Rows ``0 .. 2**side - 1`` are the stripe patterns, row ``k``
        switching on grid row ``r`` when bit ``r`` of ``k`` is set (so row 0 is
        empty and row ``2**side - 1`` full); the remaining ``2**side - 2`` rows
        are the bar patterns for column masks ``1 .. 2**side - 2`` in order.

    Raises
    ------
    ValueError
        If ``side`` is not an integer in [1, 16].

    References
    ----------
    D. J. C. MacKay, *Information Theory, Inference, and Learning
    Algorithms*, Cambridge University Press, 2003.

    Examples
    --------
    >>> bars_and_stripes(2)
    array([[0., 0., 0., 0.],
           [1., 1., 0., 0.],
           [0., 0., 1., 1.],
           [1., 1., 1., 1.],
           [1., 0., 1., 0.],
           [0., 1., 0., 1.]])
    """
    side = check_positive_int(side, "side")
    if side > MAX_BARS_AND_STRIPES_SIDE:
        raise ValueError(
            f"side must be at most {MAX_BARS_AND_STRIPES_SIDE} "
            f"(2**(side + 1) - 2 patterns of side**2 pixels), got {side}"
        )
    masks = np.arange(2**side, dtype=np.int64)
    # bits[k, r] = bit r of k: which rows (or columns) pattern k switches on.
    bits = (masks[:, None] >> np.arange(side, dtype=np.int64)) & 1
    stripes = np.repeat(bits[:, :, None], side, axis=2)  # (2**side, row, col)
    inner = bits[1:-1]  # drop the empty and full masks, already among the stripes
    bars = np.repeat(inner[:, None, :], side, axis=1)
    patterns = np.concatenate([stripes, bars]).reshape(-1, side * side)
    return patterns.astype(np.float64)


def bars_and_stripes_log_likelihood_ceiling(side: int) -> float:
    """Best possible mean log-likelihood of the bars-and-stripes data set.

    The data set is :func:`bars_and_stripes` with each pattern once; the
    distribution that maximises its mean log-likelihood is uniform on those
    patterns, which gives ``-log(2**(side + 1) - 2)``. Models trained on the
    data can approach but never exceed this value.

    Parameters
    ----------
    side : int
        Grid side, 1 <= side <= 16.

    Returns
    -------
    float
        ``-log(2**(side + 1) - 2)`` in nats.

    Raises
    ------
    ValueError
        If ``side`` is not an integer in [1, 16].

    Examples
    --------
    >>> round(bars_and_stripes_log_likelihood_ceiling(3), 6)  # -log(14)
    -2.639057
    """
    side = check_positive_int(side, "side")
    if side > MAX_BARS_AND_STRIPES_SIDE:
        raise ValueError(f"side must be at most {MAX_BARS_AND_STRIPES_SIDE}, got {side}")
    return -math.log(2 ** (side + 1) - 2)
