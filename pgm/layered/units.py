r"""Unit types of layered models: binary, Gaussian and softmax.

Every unit type answers the same questions about one layer given its total
input ``a`` (bias plus the weighted states of its neighbours), in log space:

- ``mean(a)``: ``E[h | a]``;
- ``sample(a, rng)``: a draw of ``h ~ p(h | a)``;
- ``log_partition(a)``: ``log sum_h exp(a . h - e(h))`` per row, the term a
  layer contributes when it is summed out analytically;
- ``energy(h, bias)``: the layer's own energy ``-bias . h + e(h)``;
- ``statistics(h)``: the sufficient statistic paired with the bias.

Here ``e(h)`` is the unit type's base measure (0 for binary and softmax,
``h^2 / (2 sigma^2)`` for Gaussian).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import expit, logsumexp, softmax

__all__ = ["BinaryUnits", "GaussianUnits", "SoftmaxUnits", "get_units"]

_LOG_2PI = math.log(2.0 * math.pi)


class BinaryUnits:
    """Independent 0/1 units: ``p(h_i = 1 | a) = sigmoid(a_i)``.

    ``log_partition(a) = sum_i softplus(a_i)`` (``np.logaddexp(0, a)``).
    """

    name = "binary"

    def mean(self, a):
        """``sigmoid(a)``, shape of ``a``."""
        return expit(a)

    def sample(self, a, rng):
        """Bernoulli draws (float 0/1) with ``p = sigmoid(a)``."""
        return (rng.random(np.shape(a)) < expit(a)).astype(np.float64)

    def log_partition(self, a):
        """``sum_i softplus(a_i)`` over the last axis."""
        return np.logaddexp(0.0, a).sum(axis=-1)

    def energy(self, h, bias):
        """``-h . bias`` per row."""
        return -(np.asarray(h, dtype=np.float64) @ bias)

    def statistics(self, h):
        """The states themselves."""
        return np.asarray(h, dtype=np.float64)

    def entropy(self, mu):
        """Entropy of independent Bernoulli(mu) units, per row (0 log 0 = 0)."""
        mu = np.asarray(mu, dtype=np.float64)
        # the inner where keeps log's argument positive: no warnings, 0 log 0 = 0
        t = np.where(mu > 0, -mu * np.log(np.where(mu > 0, mu, 1.0)), 0.0)
        t += np.where(mu < 1, -(1 - mu) * np.log(np.where(mu < 1, 1 - mu, 1.0)), 0.0)
        return t.sum(axis=-1)


class GaussianUnits:
    """Real units with ``e(h) = h^2 / (2 sigma^2)``: ``p(h | a) = N(sigma^2 a, sigma^2)``.

    Parameters
    ----------
    sigma : float or ndarray of shape (n_units,), default 1.0
        Standard deviations (unit variance by default; per-unit learned
        variances are passed here).

    Notes
    -----
    ``log_partition(a) = sum_i [sigma_i^2 a_i^2 / 2 + log(sigma_i) + log(2 pi) / 2]``,
    the Gaussian integral of ``exp(a h - h^2 / (2 sigma^2))``.
    """

    name = "gaussian"

    def __init__(self, sigma=1.0):
        self.sigma = np.asarray(sigma, dtype=np.float64)

    def mean(self, a):
        """``sigma^2 a``."""
        return self.sigma**2 * a

    def sample(self, a, rng):
        """Normal draws around ``sigma^2 a`` with standard deviation ``sigma``."""
        a = np.asarray(a, dtype=np.float64)
        return self.sigma**2 * a + self.sigma * rng.standard_normal(a.shape)

    def log_partition(self, a):
        """Gaussian integral, summed over the last axis."""
        a = np.asarray(a, dtype=np.float64)
        var = self.sigma**2
        per = 0.5 * var * a * a + np.log(self.sigma) + 0.5 * _LOG_2PI
        return np.broadcast_to(per, a.shape).sum(axis=-1)

    def energy(self, h, bias):
        """``sum_i h_i^2 / (2 sigma_i^2) - h . bias`` per row."""
        h = np.asarray(h, dtype=np.float64)
        return (0.5 * h * h / self.sigma**2).sum(axis=-1) - h @ bias

    def statistics(self, h):
        """The states themselves (paired with the bias)."""
        return np.asarray(h, dtype=np.float64)


class SoftmaxUnits:
    """Groups of ``K`` mutually exclusive 0/1 units (one-hot per group).

    A layer of ``n_units = n_groups * K`` units; each consecutive block of
    ``K`` has exactly one unit on. ``log_partition(a) = sum_g logsumexp(a_g)``.

    Parameters
    ----------
    k : int
        Group size.
    """

    name = "softmax"

    def __init__(self, k):
        self.k = int(k)

    def _groups(self, a):
        a = np.asarray(a, dtype=np.float64)
        return a.reshape(a.shape[:-1] + (a.shape[-1] // self.k, self.k))

    def mean(self, a):
        """Per-group softmax, shape of ``a``."""
        a = np.asarray(a, dtype=np.float64)
        return softmax(self._groups(a), axis=-1).reshape(a.shape)

    def sample(self, a, rng):
        """One-hot draw per group."""
        a = np.asarray(a, dtype=np.float64)
        p = softmax(self._groups(a), axis=-1)
        c = np.cumsum(p, axis=-1)
        u = rng.random(c.shape[:-1] + (1,))
        idx = np.minimum((u > c).sum(axis=-1), self.k - 1)
        out = np.zeros_like(p)
        np.put_along_axis(out, idx[..., None], 1.0, axis=-1)
        return out.reshape(a.shape)

    def log_partition(self, a):
        """``sum_g logsumexp(a_g)``."""
        return logsumexp(self._groups(a), axis=-1).sum(axis=-1)

    def energy(self, h, bias):
        """``-h . bias`` per row."""
        return -(np.asarray(h, dtype=np.float64) @ bias)

    def statistics(self, h):
        """The states themselves."""
        return np.asarray(h, dtype=np.float64)


def get_units(spec):
    """A unit object from ``"binary"``, ``"gaussian"``, ``("softmax", k)`` or a unit object."""
    if isinstance(spec, (BinaryUnits, GaussianUnits, SoftmaxUnits)):
        return spec
    if spec == "binary":
        return BinaryUnits()
    if spec == "gaussian":
        return GaussianUnits()
    if isinstance(spec, tuple) and len(spec) == 2 and spec[0] == "softmax":
        return SoftmaxUnits(spec[1])
    raise ValueError(f"units must be 'binary', 'gaussian' or ('softmax', k); got {spec!r}")
