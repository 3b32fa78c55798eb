"""Maximum-likelihood training of any factor graph by stochastic gradient ascent."""

from __future__ import annotations

import numpy as np

from pgm._random import as_generator
from pgm._validation import check_numeric_dtype, check_positive_float, check_positive_int
from pgm.graph import check_graph
from pgm.learning.gradient import (
    ContrastiveDivergence,
    ExactModelStatistics,
    PersistentContrastiveDivergence,
    data_statistics,
)
from pgm.learning.schedules import Constant, get_schedule

__all__ = ["SGD", "fit"]


class SGD:
    """Gradient *ascent* on the log-likelihood with momentum and L2 weight decay.

    ``velocity = momentum * velocity + learning_rate * (grad - weight_decay * theta * mask)``
    and ``theta += velocity``. ``mask`` selects the decayed parameters (by
    default every block whose name does not start with ``"bias"``).
    """

    def __init__(self, learning_rate=0.1, momentum=0.0, weight_decay=0.0, decay_mask=None):
        self.learning_rate = check_positive_float(learning_rate, "learning_rate")
        real = isinstance(momentum, (int, float, np.integer, np.floating))
        if isinstance(momentum, (bool, np.bool_)) or not real:
            raise TypeError(f"momentum must be a real number in [0, 1), got {momentum!r}")
        self.momentum = float(momentum)
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.weight_decay = check_positive_float(weight_decay, "weight_decay", allow_zero=True)
        self.decay_mask = decay_mask
        self._velocity = None

    def step(self, theta: np.ndarray, grad: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """Return the updated parameter vector (``theta`` itself is not modified)."""
        if self._velocity is None:
            self._velocity = np.zeros_like(theta)
        mask = 1.0 if self.decay_mask is None else self.decay_mask
        direction = grad - self.weight_decay * theta * mask
        self._velocity = self.momentum * self._velocity + scale * self.learning_rate * direction
        return theta + self._velocity


def _default_decay_mask(fg) -> np.ndarray:
    mask = np.zeros(fg.theta.shape[0])
    for name, (start, stop, _) in fg.parameter_slices.items():
        if not name.startswith("bias"):
            mask[start:stop] = 1.0
    return mask


def fit(
    fg,
    data,
    *,
    visible=None,
    method="exact",
    n_epochs=100,
    batch_size=None,
    learning_rate=0.1,
    momentum=0.0,
    weight_decay=0.0,
    k=1,
    n_chains=100,
    schedule=None,
    seed=None,
    callback=None,
):
    """Fit ``fg``'s parameters to ``data`` by maximum likelihood (in place).

    Parameters
    ----------
    fg : FactorGraph
        Updated in place through ``fg.set_theta``.
    data : array_like of shape (n_rows, n_visible)
    visible : array_like of int, optional
        Visible ids (default all variables).
    method : {"exact", "cd", "pcd"}
        Model-term estimator: exact enumeration, CD-k (fully visible data
        only) or PCD with ``n_chains`` persistent chains. The data term is
        exact over hidden variables when they are few, else mean-field.
    n_epochs, batch_size : int
        ``batch_size=None`` uses full-batch gradients.
    learning_rate, momentum, weight_decay : float
        See :class:`SGD`.
    schedule : str, dict or pgm.learning.schedules.Schedule, optional
        Learning-rate schedule, the convention every estimator uses
        (:func:`pgm.learning.schedules.get_schedule`): epoch ``e`` (0-based)
        of ``n_epochs`` uses ``schedule(learning_rate, e, n_epochs)``.
        ``None`` keeps the rate constant.
    callback : callable, optional
        ``callback(epoch, fg)`` after each epoch.

    Raises
    ------
    TypeError
        If ``fg`` is not a FactorGraph, ``data`` is not numeric, ``schedule``
        is of an unsupported type or ``callback`` is not callable.
    ValueError
        On bad sizes, rates, an unknown ``method`` or schedule name, or data
        outside the variables' domains.

    Returns
    -------
    dict
        ``{"gradient_norm": [...]}`` per epoch (and whatever the callback adds).
    """
    n_epochs = check_positive_int(n_epochs, "n_epochs")
    check_graph(fg)
    schedule = Constant() if schedule is None else get_schedule(schedule, name="schedule")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None, got {type(callback).__name__}")
    rng = as_generator(seed)
    data = np.asarray(data)
    if data.dtype != bool:
        check_numeric_dtype(data, "data")
    ids = np.arange(fg.n_variables) if visible is None else fg._resolve(visible, "visible")
    if data.ndim != 2 or data.shape[1] != ids.shape[0]:
        raise ValueError(f"data must have shape (n_rows, {ids.shape[0]}), got {data.shape}")
    n_rows = data.shape[0]
    if n_rows == 0:
        raise ValueError("data must have at least one row, got 0")
    # a batch larger than the data is the full batch (no larger buffers are allocated)
    batch_size = n_rows if batch_size is None else check_positive_int(batch_size, "batch_size")
    batch_size = min(batch_size, n_rows)
    if method == "exact":
        estimator = ExactModelStatistics()
    elif method == "cd":
        if ids.shape[0] != fg.n_variables:
            raise ValueError("method='cd' needs fully visible data; use 'pcd' or 'exact'")
        estimator = ContrastiveDivergence(k=k, seed=rng)
    elif method == "pcd":
        estimator = PersistentContrastiveDivergence(n_chains=n_chains, k=k, seed=rng)
    else:
        raise ValueError(f"method must be 'exact', 'cd' or 'pcd', got {method!r}")
    optimizer = SGD(learning_rate, momentum, weight_decay, decay_mask=_default_decay_mask(fg))
    history = {"gradient_norm": []}
    for epoch in range(n_epochs):
        order = rng.permutation(n_rows)
        norm = 0.0
        scale = schedule(1.0, epoch, n_epochs)  # the factor applied to learning_rate
        for start in range(0, n_rows, batch_size):
            batch = data[order[start : start + batch_size]]
            positive = data_statistics(fg, batch, visible=ids)
            negative = estimator(fg, batch if method == "cd" else None)
            grad = positive - negative
            norm = float(np.linalg.norm(grad))
            fg.set_theta(optimizer.step(fg.theta, grad, scale))
        history["gradient_norm"].append(norm)
        if callback is not None:
            callback(epoch, fg)
    return history
