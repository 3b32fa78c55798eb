"""Input checks shared by every public entry point.

Every check names the argument it rejects and says what was expected, so a
user never meets an error from inside a kernel.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "NotFittedError",
    "as_float_array",
    "as_index_array",
    "check_positive_int",
    "check_positive_float",
]

try:  # scikit-learn's class, so its tooling recognises our unfitted errors
    from sklearn.exceptions import NotFittedError
except ImportError:  # pragma: no cover - scikit-learn is a dependency

    class NotFittedError(ValueError, AttributeError):
        """Raised when an estimator is used before ``fit``."""


def as_float_array(
    value,
    name: str,
    *,
    shape: tuple | None = None,
    ndim: int | None = None,
    dtype=np.float64,
    allow_nonfinite: bool = False,
    copy: bool = True,
) -> np.ndarray:
    """Convert ``value`` to a float array and check its shape and finiteness.

    Parameters
    ----------
    value : array_like
        The user's input.
    name : str
        The argument's name, used in error messages.
    shape : tuple of int or None, optional
        Required shape; ``None`` entries match any length.
    ndim : int, optional
        Required number of dimensions (ignored when ``shape`` is given).
    dtype : numpy dtype, default float64
    allow_nonfinite : bool, default False
        If False, NaN and infinite entries raise.
    copy : bool, default True
        Always return a fresh array, so later changes by the caller never
        reach the model.

    Raises
    ------
    ValueError
        On a non-numeric input, a wrong shape or non-finite entries.
    """
    try:
        arr = np.array(value, dtype=dtype, copy=copy) if copy else np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of real numbers: {exc}") from None
    if shape is not None:
        if arr.ndim != len(shape) or any(
            want is not None and got != want for got, want in zip(arr.shape, shape)
        ):
            want_text = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name} must have shape {want_text}, got {arr.shape}")
    elif ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if not allow_nonfinite and arr.size and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} must be finite, found {bad} NaN or infinite entries")
    return arr


def as_index_array(value, name: str, *, ndim: int = 1) -> np.ndarray:
    """Convert ``value`` to an ``int64`` array, rejecting non-integral entries."""
    arr = np.asarray(value)
    if arr.dtype == bool:
        raise ValueError(f"{name} must hold integers, got booleans")
    if arr.size == 0:
        arr = arr.astype(np.int64).reshape((0,) * ndim if ndim > 1 else (0,))
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.issubdtype(arr.dtype, np.floating):
            raise ValueError(f"{name} must hold integers, got dtype {arr.dtype}")
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ValueError(f"{name} must hold integers, got non-integral values")
    arr = arr.astype(np.int64)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    return arr


def check_positive_int(value, name: str, *, minimum: int = 1) -> int:
    """Return ``value`` as an int, raising if it is not an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def check_positive_float(value, name: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float, raising unless it is finite and positive."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a positive real number, got {value!r}")
    value = float(value)
    ok = value >= 0 if allow_zero else value > 0
    if not (np.isfinite(value) and ok):
        what = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be a finite {what} number, got {value}")
    return value
