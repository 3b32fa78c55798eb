"""Hyper-parameter checks shared by the estimators' constraint tables.

Each estimator (``RBM``, ``DeepClassifier``, ``DeepAutoencoder``, ...) keeps one
table ``{parameter name: check}`` and runs it on entry to ``fit``; a check takes
``(value, name)``, returns the normalised value and raises ``ValueError``
naming the parameter otherwise. Factories (``int_at_least``, ``options``)
return such checks.
"""

from __future__ import annotations

import numbers

import numpy as np

from pgm._random import as_generator
from pgm._validation import check_positive_float, check_positive_int
from pgm.learning.schedules import get_schedule

__all__ = [
    "int_at_least",
    "options",
    "positive",
    "non_negative",
    "momentum",
    "optional_int",
    "float_dtype",
    "seed",
    "flag",
    "anything",
    "schedule",
]


def int_at_least(minimum: int):
    """A check accepting integers ``>= minimum``."""

    def check(value, name):
        return check_positive_int(value, name, minimum=minimum)

    return check


def options(*allowed: str):
    """A check accepting one of the strings ``allowed``."""

    def check(value, name):
        if not isinstance(value, str) or value not in allowed:
            raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
        return value

    return check


def positive(value, name):
    """A float ``> 0``."""
    return check_positive_float(value, name)


def non_negative(value, name):
    """A float ``>= 0``."""
    return check_positive_float(value, name, allow_zero=True)


def momentum(value, name):
    """A real number in ``[0, 1)``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must lie in [0, 1), got {value}")
    return value


def optional_int(value, name):
    """``None`` or a positive integer."""
    return None if value is None else check_positive_int(value, name)


def float_dtype(value, name):
    """``numpy.float32`` or ``numpy.float64`` in any spelling numpy accepts; returns the dtype."""
    # np.dtype(None) is float64 and a dtype compares equal to None, so the
    # failed conversion must not be tested with ``in``.
    try:
        dtype = np.dtype(value) if value is not None else None
    except (TypeError, ValueError):
        dtype = None
    if dtype is None or dtype.type not in (np.float32, np.float64):
        raise ValueError(f"{name} must be numpy.float32 or numpy.float64, got {value!r}")
    return dtype


def seed(value, name):
    """Anything :func:`pgm._random.as_generator` accepts (returned unchanged)."""
    try:
        as_generator(value if not isinstance(value, np.random.Generator) else None)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: {exc}") from None
    return value


def flag(value, name):
    """A bool (or integer); returns ``bool(value)``."""
    if not isinstance(value, (bool, np.bool_, numbers.Integral)):
        raise ValueError(f"{name} must be a bool, got {value!r}")
    return bool(value)


def anything(value, name):
    """No check here (the value is checked against the data in ``fit``)."""
    return value


def schedule(value, name):
    """A learning-rate schedule (name, description or object); any bad value is a ``ValueError``."""
    try:
        return get_schedule(value, name)
    except TypeError as exc:
        raise ValueError(str(exc)) from None
