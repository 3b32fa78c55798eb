"""Learning-rate schedules: the learning rate as a function of the epoch.

A schedule is a small frozen object called as
``schedule(learning_rate, epoch, n_epochs) -> float``, where
``learning_rate`` is the base rate, ``epoch`` counts completed passes over
the data (0 for the first) and ``n_epochs`` is the planned number of passes.
Estimators accept either a schedule object or one of the names in
``SCHEDULES`` (resolved with :func:`get_schedule`).

Examples
--------
>>> from pgm.learning.schedules import ExponentialDecay, get_schedule
>>> ExponentialDecay(decay=0.5)(0.1, 2, 10)
0.025
>>> get_schedule("linear")(1.0, 0, 10)
1.0
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Schedule",
    "Constant",
    "ExponentialDecay",
    "StepDecay",
    "LinearDecay",
    "InverseDecay",
    "SCHEDULES",
    "get_schedule",
]


def _check_epoch(epoch, n_epochs) -> tuple[int, int]:
    for name, value in (("epoch", epoch), ("n_epochs", n_epochs)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(epoch), max(int(n_epochs), 1)


def _check_fraction(value, name: str, *, allow_zero: bool, allow_one: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    low_ok = value >= 0 if allow_zero else value > 0
    high_ok = value <= 1 if allow_one else value < 1
    if not (np.isfinite(value) and low_ok and high_ok):
        low = "[0" if allow_zero else "(0"
        high = "1]" if allow_one else "1)"
        raise ValueError(f"{name} must lie in {low}, {high}, got {value}")
    return value


class Schedule:
    """Base class: ``schedule(learning_rate, epoch, n_epochs) -> float``."""

    name = "schedule"

    def __call__(self, learning_rate: float, epoch: int, n_epochs: int) -> float:
        """Return the learning rate for ``epoch`` (0-based) of ``n_epochs``."""
        epoch, n_epochs = _check_epoch(epoch, n_epochs)
        return float(learning_rate) * self.factor(epoch, n_epochs)

    def factor(self, epoch: int, n_epochs: int) -> float:  # pragma: no cover - abstract
        """Multiplier of the base learning rate at ``epoch``."""
        raise NotImplementedError

    def to_dict(self) -> dict:
        """Plain description (name and fields) for saving alongside a model."""
        fields = {k: getattr(self, k) for k in self.__dataclass_fields__}  # type: ignore[attr-defined]
        return {"name": self.name, **fields}


@dataclass(frozen=True)
class Constant(Schedule):
    """The base learning rate at every epoch."""

    name = "constant"

    def factor(self, epoch: int, n_epochs: int) -> float:
        """Return 1."""
        return 1.0


@dataclass(frozen=True)
class ExponentialDecay(Schedule):
    """``learning_rate * decay**epoch``.

    Parameters
    ----------
    decay : float in (0, 1], default 0.95
    """

    decay: float = 0.95
    name = "exponential"

    def __post_init__(self):
        _check_fraction(self.decay, "decay", allow_zero=False, allow_one=True)

    def factor(self, epoch: int, n_epochs: int) -> float:
        """Return ``decay**epoch``."""
        return float(self.decay) ** epoch


@dataclass(frozen=True)
class StepDecay(Schedule):
    """``learning_rate * factor**(epoch // every)`` (piecewise constant).

    Parameters
    ----------
    drop : float in (0, 1], default 0.5
        Multiplier applied every ``every`` epochs.
    every : int >= 1, default 10
    """

    drop: float = 0.5
    every: int = 10
    name = "step"

    def __post_init__(self):
        _check_fraction(self.drop, "drop", allow_zero=False, allow_one=True)
        if isinstance(self.every, bool) or not isinstance(self.every, numbers.Integral):
            raise ValueError(f"every must be an integer >= 1, got {self.every!r}")
        if self.every < 1:
            raise ValueError(f"every must be an integer >= 1, got {self.every}")

    def factor(self, epoch: int, n_epochs: int) -> float:
        """Return ``drop**(epoch // every)``."""
        return float(self.drop) ** (epoch // int(self.every))


@dataclass(frozen=True)
class LinearDecay(Schedule):
    """Linear decay from the base rate to ``final_fraction`` times it at the last epoch.

    ``factor = 1 - (1 - final_fraction) * min(epoch, n_epochs - 1) / (n_epochs - 1)``
    (1 when ``n_epochs == 1``).

    Parameters
    ----------
    final_fraction : float in (0, 1], default 0.1
        Kept strictly positive so the last epoch still learns.
    """

    final_fraction: float = 0.1
    name = "linear"

    def __post_init__(self):
        _check_fraction(self.final_fraction, "final_fraction", allow_zero=False, allow_one=True)

    def factor(self, epoch: int, n_epochs: int) -> float:
        """Return the linear interpolation factor for ``epoch``."""
        if n_epochs <= 1:
            return 1.0
        t = min(epoch, n_epochs - 1) / (n_epochs - 1)
        return 1.0 - (1.0 - float(self.final_fraction)) * t


@dataclass(frozen=True)
class InverseDecay(Schedule):
    """``learning_rate / (1 + epoch / scale)`` (harmonic decay; the DBM's default).

    Parameters
    ----------
    scale : float > 0, default 10.0
        Epochs until the rate has halved.
    """

    scale: float = 10.0
    name = "inverse"

    def __post_init__(self):
        if isinstance(self.scale, bool) or not isinstance(self.scale, numbers.Real):
            raise ValueError(f"scale must be a positive real number, got {self.scale!r}")
        if not (np.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"scale must be a positive real number, got {self.scale}")

    def __call__(self, learning_rate: float, epoch: int, n_epochs: int) -> float:
        """Return ``learning_rate / (1 + epoch / scale)`` (a division, not a product)."""
        epoch, n_epochs = _check_epoch(epoch, n_epochs)
        return float(learning_rate) / (1.0 + epoch / float(self.scale))

    def factor(self, epoch: int, n_epochs: int) -> float:
        """Return ``1 / (1 + epoch / scale)``."""
        return 1.0 / (1.0 + epoch / float(self.scale))


SCHEDULES = {
    "constant": Constant,
    "inverse": InverseDecay,
    "exponential": ExponentialDecay,
    "step": StepDecay,
    "linear": LinearDecay,
}


def get_schedule(spec, name: str = "learning_rate_schedule") -> Schedule:
    """Resolve a schedule name, description or object.

    Parameters
    ----------
    spec : str, dict or Schedule
        A name in ``SCHEDULES`` (default parameters), a dict as written by
        :meth:`Schedule.to_dict`, or a schedule object (returned unchanged).
    name : str, default "learning_rate_schedule"
        The argument's name, used in error messages.

    Returns
    -------
    Schedule

    Raises
    ------
    ValueError
        For an unknown name or bad schedule parameters.
    TypeError
        For any other kind of ``spec``.
    """
    if isinstance(spec, Schedule):
        return spec
    if isinstance(spec, str):
        if spec not in SCHEDULES:
            raise ValueError(
                f"{name} must be one of {sorted(SCHEDULES)} or a Schedule object, got {spec!r}"
            )
        return SCHEDULES[spec]()
    if isinstance(spec, dict):
        fields = dict(spec)
        kind = fields.pop("name", None)
        if kind not in SCHEDULES:
            raise ValueError(
                f"{name}: unknown schedule name {kind!r}; expected one of {sorted(SCHEDULES)}"
            )
        try:
            return SCHEDULES[kind](**fields)
        except TypeError as exc:
            raise ValueError(f"{name}: bad parameters for schedule {kind!r}: {exc}") from None
    raise TypeError(
        f"{name} must be a str, a dict or a pgm.learning.schedules.Schedule, "
        f"got {type(spec).__name__}"
    )
