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
    "nonfinite_error",
    "check_positive_int",
    "check_positive_float",
    "check_beta_ladder",
    "check_numeric_dtype",
    "describe_domain",
    "format_shape",
    "MAX_CARDINALITY",
    "check_allocation",
    "check_states",
    "values_to_indices",
    "check_marginals",
    "padding_mask",
    "ROW_SUM_ATOL",
]

#: Largest number of states a categorical variable may have. Tables and the
#: compiled state map grow with k, so a larger k is refused when the variable
#: is added, before anything is allocated.
MAX_CARDINALITY = 2**20

#: Tolerance on row sums when checking user-supplied marginals.
ROW_SUM_ATOL = 1e-8

_DOMAIN_BINARY, _DOMAIN_SPIN = 0, 1  # the codes of pgm.compiled (kept local: no import cycle)
_INT64_MAX = np.iinfo(np.int64).max


def format_shape(shape) -> str:
    """Write a shape as Python writes a tuple: ``(21,)``, ``(2, 3)``; ``None`` prints ``*``."""
    parts = ["*" if s is None else str(int(s)) for s in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def describe_domain(kind: int, card: int) -> str:
    """Human-readable domain of a variable, for error messages."""
    if kind == _DOMAIN_BINARY:
        return "binary: 0 or 1"
    if kind == _DOMAIN_SPIN:
        return "spin: -1 or +1"
    return f"categorical: 0..{card - 1}"


def check_numeric_dtype(arr: np.ndarray, name: str, *, integer: bool = False) -> None:
    """Refuse arrays whose dtype cannot be read as real numbers without loss.

    Complex, string, bytes, object and datetime arrays raise ``TypeError``;
    unsigned or other integers beyond the int64 range raise ``ValueError``
    (they would wrap, e.g. ``uint64`` ``2**64-1`` read as ``-1``).
    """
    kind = arr.dtype.kind
    if kind == "c":
        raise TypeError(f"{name} must hold real numbers, got complex dtype {arr.dtype}")
    if kind not in "biuf":
        raise TypeError(
            f"{name} must be a numeric array (bool, integer or float), got dtype {arr.dtype}"
        )
    if kind == "u" and arr.dtype.itemsize >= 8 and arr.size and int(arr.max()) > _INT64_MAX:
        raise ValueError(
            f"{name} holds values above {_INT64_MAX} (the int64 limit): {int(arr.max())}"
        )
    if integer and kind == "f" and arr.size:
        finite = np.isfinite(arr)
        # compared in float64: 2**63 itself overflows a float16
        if np.all(finite) and np.any(np.abs(arr.astype(np.float64)) >= 2.0**63):
            raise ValueError(f"{name} holds values outside the int64 range")


def check_allocation(n_bytes, what: str) -> None:
    """Refuse an allocation of ``n_bytes`` bytes larger than this machine's memory.

    Called with the size an argument implies (e.g. ``n_chains * n_variables *
    16``) before anything is allocated, so that an impossible size gives a
    ``ValueError`` naming the argument instead of numpy's ``MemoryError`` or
    the operating system killing the process.
    """
    limit = _physical_memory()
    if limit is not None and n_bytes > limit:
        raise ValueError(
            f"{what} would need {n_bytes / 2**30:,.1f} GiB, more than this machine's "
            f"{limit / 2**30:,.1f} GiB of memory"
        )


def _physical_memory() -> int | None:
    """Bytes of physical memory, or None where the platform does not say."""
    import os

    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - non-POSIX
        return None


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
        raw = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of real numbers: {exc}") from None
    check_numeric_dtype(raw, name)
    try:
        arr = np.array(raw, dtype=dtype, copy=copy) if copy else np.asarray(raw, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of real numbers: {exc}") from None
    if shape is not None:
        if arr.ndim != len(shape) or any(
            want is not None and got != want for got, want in zip(arr.shape, shape, strict=False)
        ):
            raise ValueError(f"{name} must have shape {format_shape(shape)}, got {arr.shape}")
    elif ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if not allow_nonfinite and arr.size and not np.all(np.isfinite(arr)):
        raise nonfinite_error(name, int(np.size(arr) - np.count_nonzero(np.isfinite(arr))))
    return arr


def nonfinite_error(name: str, n_bad: int) -> ValueError:
    """The error for an array argument with ``n_bad`` NaN or infinite entries."""
    return ValueError(f"{name} must be finite, found {n_bad} NaN or infinite entries")


def as_index_array(value, name: str, *, ndim: int = 1) -> np.ndarray:
    """Convert ``value`` to an ``int64`` array, rejecting non-integral entries."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of integers: {exc}") from None
    if arr.dtype == bool:
        raise ValueError(f"{name} must hold integers, got booleans")
    if arr.size:
        check_numeric_dtype(arr, name, integer=True)
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


def check_clamp(cg, clamp) -> tuple[np.ndarray, np.ndarray]:
    """Validate evidence ``clamp`` (dict variable id -> value) against a compiled graph.

    Shared by exact enumeration, Gibbs sampling and mean-field.

    Returns
    -------
    ids : ndarray of shape (n_clamped,), int64, sorted
    indices : ndarray of shape (n_clamped,), int64
        State index of each clamped value.

    Raises
    ------
    TypeError
        If ``clamp`` is not a mapping.
    ValueError
        On a non-integer or out-of-range id, or a value outside the domain.
    """
    from collections.abc import Mapping

    if clamp is None:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if not isinstance(clamp, Mapping):
        raise TypeError(
            f"clamp must be a dict mapping variable id to value, got {type(clamp).__name__}"
        )
    n = cg.n_variables
    found = {}
    for key, value in clamp.items():
        if isinstance(key, (bool, np.bool_)) or not isinstance(key, numbers.Integral):
            raise ValueError(f"clamp: keys must be integer variable ids, got {key!r}")
        if not 0 <= key < n:
            raise ValueError(
                f"clamp: variable id {key} is out of range; the graph has {n} variables "
                f"(ids 0..{n - 1})"
            )
        i = int(key)
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise ValueError(f"clamp[{i}] = {value!r} must be a number in the variable's domain")
        if not np.isfinite(value):
            raise ValueError(f"clamp values must be finite, got clamp[{i}] = {value!r}")
        allowed = cg.state_value[cg.state_offset[i] : cg.state_offset[i + 1]]
        hit = np.flatnonzero(allowed == value)
        if hit.size != 1:
            raise ValueError(
                f"clamp[{i}] = {value!r} is outside the domain of variable {i} "
                f"({describe_domain(cg.domain_kind[i], cg.cardinality[i])})"
            )
        found[i] = int(hit[0])
    ids = np.array(sorted(found), dtype=np.int64)
    return ids, np.array([found[i] for i in ids.tolist()], dtype=np.int64)


def check_beta_ladder(betas, name: str = "betas") -> np.ndarray:
    """Validate a ladder of inverse temperatures: finite, > 0, strictly increasing to 1.

    The last entry must equal 1 to within 1e-12 (it is then set to exactly 1).
    Returns a fresh float64 array of shape (n_temperatures,).
    """
    arr = as_float_array(betas, name, ndim=1)
    if arr.size == 0:
        raise ValueError(f"{name} must hold at least one inverse temperature, got none")
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be positive, got min {arr.min()!r}")
    steps = np.diff(arr)
    if np.any(steps <= 0):
        k = int(np.flatnonzero(steps <= 0)[0])
        raise ValueError(
            f"{name} must be strictly increasing, got {name}[{k}] = {arr[k]!r} >= "
            f"{name}[{k + 1}] = {arr[k + 1]!r}"
        )
    if abs(arr[-1] - 1.0) > 1e-12:
        raise ValueError(f"{name} must end at 1 (the target distribution), got {arr[-1]!r}")
    arr[-1] = 1.0
    return arr


def values_to_indices(values: np.ndarray, kind: np.ndarray, card: np.ndarray, name: str, labels):
    """Map integer values (..., n) of variables with domains ``kind``/``card`` to state indices.

    The one value-to-index conversion (spin -1 -> 0, +1 -> 1; binary and
    categorical values are their own indices), with the domain check.

    Parameters
    ----------
    values : ndarray of shape (..., n), int64
    kind, card : ndarray of shape (n,), int64
        Domain code and number of states of each column's variable.
    name : str
        The argument's name, used in messages.
    labels : callable
        ``labels(pos) -> (text, variable id)`` for the first offending
        position ``pos`` (a tuple of ints), e.g. ``("[3, 1]", 7)``.

    Returns
    -------
    ndarray of the shape of ``values``, int64

    Raises
    ------
    ValueError
        Naming the first value outside its variable's domain.
    """
    spin = kind == _DOMAIN_SPIN
    index = np.where(spin, (values + 1) // 2, values).astype(np.int64)
    bad = (index < 0) | (index >= card) | (spin & (values != -1) & (values != 1))
    if np.any(bad):
        pos = tuple(int(t[0]) for t in np.nonzero(bad))
        text, var = labels(pos)
        col = pos[-1]
        raise ValueError(
            f"{name}{text} = {values[pos]} is outside the domain of variable {var} "
            f"({describe_domain(kind[col], card[col])})"
        )
    return index


def check_states(values, kind: np.ndarray, card: np.ndarray, name: str = "states", ids=None):
    """Validate a batch of variable values against each variable's domain.

    Parameters
    ----------
    values : array_like of shape (batch, n_variables) or (n_variables,)
        Integer-valued entries (bool, any integer dtype within int64, or
        integral floats).
    kind, card : ndarray of shape (n_variables,), int64
        Domain code and number of states of each variable.
    name : str
        The argument's name, used in messages.
    ids : ndarray of shape (n_variables,), optional
        The variable id of each column, for messages (default: the column).

    Returns
    -------
    values : ndarray of shape (batch, n_variables), int64
    index : ndarray of shape (batch, n_variables), int64
        State index of each value (spin -1 -> 0, +1 -> 1).

    Raises
    ------
    TypeError
        On complex, string or object input.
    ValueError
        On a wrong shape, non-finite or non-integral entries, integers
        beyond int64, or values outside a variable's domain.
    """
    n = int(kind.shape[0])
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of integers: {exc}") from None
    shape_in = arr.shape
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != n:
        raise ValueError(f"{name} must have shape (batch, {n}) or ({n},), got {shape_in}")
    if arr.dtype == bool:
        arr = arr.astype(np.int64)
    check_numeric_dtype(arr, name)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite, found NaN or infinite entries")
        if np.any(arr != np.round(arr)):
            raise ValueError(f"{name} must hold integer values, got non-integral entries")
        if arr.size and np.max(np.abs(arr.astype(np.float64))) >= 2.0**63:
            raise ValueError(f"{name} holds values outside the int64 range")
    out = arr.astype(np.int64)

    def labels(pos):
        return f"[{pos[0]}, {pos[1]}]", pos[1] if ids is None else int(ids[pos[1]])

    index = values_to_indices(out, kind, card, name, labels)
    return out, index


def padding_mask(cg) -> np.ndarray:
    """True where column ``s`` is beyond variable ``i``'s states."""
    return np.arange(cg.max_cardinality)[None, :] >= cg.cardinality[:, None]


def check_marginals(value, name: str, cg) -> np.ndarray:
    """Validate product-distribution marginals against a compiled graph ``cg``.

    ``value`` must have shape (n_variables, max_cardinality), hold finite
    non-negative numbers, be zero beyond each variable's states and have rows
    summing to 1 within ``ROW_SUM_ATOL``. Returns a fresh float64 copy with
    the rows renormalised exactly.
    """
    q = as_float_array(value, name, shape=(cg.n_variables, cg.max_cardinality))
    if np.any(q < 0):
        row, col = (int(t[0]) for t in np.nonzero(q < 0))
        raise ValueError(
            f"{name} must hold probability distributions; {name}[{row}, {col}] = "
            f"{q[row, col]} is negative"
        )
    pad = padding_mask(cg)
    if np.any(q[pad] != 0):
        row, col = (int(t[0]) for t in np.nonzero(pad & (q != 0)))
        raise ValueError(
            f"{name} must be zero padded: variable {row} has {cg.cardinality[row]} states but "
            f"{name}[{row}, {col}] = {q[row, col]}"
        )
    sums = q.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > ROW_SUM_ATOL)
    if bad.size:
        raise ValueError(
            f"{name} must hold probability distributions; row {int(bad[0])} sums to "
            f"{float(sums[bad[0]]):.12g}, not 1"
        )
    return q / sums[:, None] if q.size else q
