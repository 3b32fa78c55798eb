r"""Unit types of layered models: binary, Gaussian and softmax.

Every unit type answers the same questions about one layer given its total
input ``a`` (bias plus the weighted states of its neighbours), in log space:

- ``mean(a)``: ``E[h | a]``;
- ``sample(a, rng)``: a draw of ``h ~ p(h | a)``;
- ``log_partition(a)``: ``log sum_h exp(a . h - e(h))`` per row, the term a
  layer contributes when it is summed out analytically;
- ``energy(h, bias)``: the layer's own energy ``-bias . h + e(h)``;
- ``statistics(h)``: the sufficient statistic paired with the bias;
- ``entropy(mu)`` and ``expected_energy(mu, bias)``: the entropy and expected
  layer energy of the mean-field factor ``q(h) = p(h | a)`` with mean ``mu``
  (the terms of the variational bound);
- ``check(h, name)``: the states validated for the unit type; ``init`` a
  random state; for the discrete types ``enumerate(n)`` lists every state of
  ``n`` units (exact sums) and ``log_n_states(n)`` its log count.

Here ``e(h)`` is the unit type's base measure (0 for binary and softmax,
``h^2 / (2 sigma^2)`` for Gaussian).

Gaussian units and their learned variances
------------------------------------------
A Gaussian layer's energy, with total input ``a = b + (weighted neighbours)``
added to the natural parameter of ``h``, is

.. math::

    E(h) = \sum_i \left( \frac{h_i^2}{2 \sigma_i^2} - a_i h_i \right),
    \qquad p(h \mid a) = N(\sigma^2 a, \sigma^2),

the natural (exponential-family) parametrisation: ``a`` pairs with the
statistic ``h`` and the precision ``lambda_i = 1 / sigma_i^2`` with
``-h_i^2 / 2``, so ``E`` is linear in ``(b, W, lambda)``. Variances are learned
through the log-variance ``z_i = log sigma_i^2`` (as in Cho, Ilin & Raiko,
ICANN 2011, "Improved learning of Gaussian-Bernoulli restricted Boltzmann
machines", who parametrise ``E = sum (v - b)^2 / (2 sigma^2) - sum v / sigma^2
W h``; their ``b`` and ``W`` are ours times ``sigma^2``, a different but
equivalent parametrisation we do not use, so that ``sigma = 1`` is exactly the
unit-variance model and the biases and weights keep their meaning): any real
``z`` gives a positive variance and a normalisable layer. ``E`` is not linear
in ``z``: ``dE / dz_i = -exp(-z_i) h_i^2 / 2 = -h_i^2 / (2 sigma_i^2)``
(:meth:`GaussianUnits.energy_log_variance_derivative`), minus the statistic
``s_i(h) = h_i^2 / (2 sigma_i^2)`` (:meth:`GaussianUnits.log_variance_statistics`),
which depends on the current ``z``. The log-likelihood gradient keeps the
house form ``d log p(v) / dz = E_data[s] - E_model[s]`` (the statistic
evaluated at the current ``sigma``); its conditional expectation
``E[s_i | a] = sigma_i^2 a_i^2 / 2 + 1 / 2``
(:meth:`GaussianUnits.expected_log_variance_statistics`) serves exact sums and
Rao-Blackwellised reconstructions.

Training takes its ``z`` steps in Cho et al.'s chart for the bias: ``z``
moves with the mean parameter ``m = sigma^2 b`` held fixed (``b`` rescaled by
``exp(z_old - z_new)``). The derivative there is ``dE/dz|_m = dE/dz|_b - b
dE/db``, minus the centred statistic ``(h - m)^2 / (2 sigma^2)`` up to a
constant in ``h`` (``centre=`` of the statistic methods). In the natural chart
the data-minus-model difference of ``h^2 / (2 sigma^2)`` carries a term
``m (E_data[h] - E_model[h]) / sigma^2``, so for data far from 0 its noise
grows with ``|mean| / sigma`` (data around 100 with unit spread made ``z``
diverge in the first CD-1 steps); the centred one does not.
"""

from __future__ import annotations

import itertools
import math
import numbers

import numpy as np
from scipy.special import expit, logsumexp, softmax

from pgm._validation import as_float_array

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

    discrete = True

    def spec(self):
        """The string :func:`get_units` reads back: ``"binary"``."""
        return "binary"

    def check_size(self, n, name="units"):
        """Any positive layer size is valid."""
        return None

    def check(self, h, name="states"):
        """``h`` as float, refusing entries other than 0 and 1."""
        h = np.asarray(h, dtype=np.float64)
        if not np.all((h == 0.0) | (h == 1.0)):
            raise ValueError(f"{name} must hold only 0 and 1 (binary units)")
        return h

    def init(self, rng, n_rows, n):
        """Uniform random 0/1 states, shape (n_rows, n)."""
        return (rng.random((n_rows, n)) < 0.5).astype(np.float64)

    def enumerate(self, n):
        """All ``2**n`` states of ``n`` units, shape (2**n, n)."""
        return np.array(list(itertools.product((0.0, 1.0), repeat=n)), dtype=np.float64).reshape(
            2**n, n
        )

    def log_n_states(self, n):
        """``n log 2``."""
        return n * math.log(2.0)

    def expected_energy(self, mu, bias):
        """``-mu . bias`` per row (the energy is linear)."""
        return -(np.asarray(mu, dtype=np.float64) @ bias)


class GaussianUnits:
    """Real units with ``e(h) = h^2 / (2 sigma^2)``: ``p(h | a) = N(sigma^2 a, sigma^2)``.

    Parameters
    ----------
    sigma : float or ndarray of shape (n_units,), default 1.0
        Standard deviations (unit variance by default; per-unit learned
        variances are passed here, or built from log-variances with
        :meth:`from_log_variance`). Must be finite and positive.

    Notes
    -----
    ``log_partition(a) = sum_i [sigma_i^2 a_i^2 / 2 + log(sigma_i) + log(2 pi) / 2]``,
    the Gaussian integral of ``exp(a h - h^2 / (2 sigma^2))``.
    """

    name = "gaussian"

    discrete = False

    def __init__(self, sigma=1.0):
        sigma = as_float_array(sigma, "sigma")
        if sigma.ndim > 1:
            raise ValueError(f"sigma must be a scalar or 1-d, got shape {sigma.shape}")
        if np.any(sigma <= 0.0):
            raise ValueError(
                f"sigma must hold positive standard deviations, got min {float(np.min(sigma))}"
            )
        self.sigma = sigma

    def spec(self):
        """The string :func:`get_units` reads back: ``"gaussian"`` (sigma saved apart)."""
        return "gaussian"

    def check_size(self, n, name="units"):
        """A 1-d ``sigma`` must have one entry per unit."""
        if self.sigma.ndim == 1 and self.sigma.shape[0] != n:
            raise ValueError(
                f"{name}: sigma has {self.sigma.shape[0]} entries for a layer of {n} units"
            )

    def check(self, h, name="states"):
        """``h`` as float (finite reals)."""
        return as_float_array(h, name)

    def init(self, rng, n_rows, n):
        """Normal draws with standard deviation ``sigma``, shape (n_rows, n)."""
        return self.sigma * rng.standard_normal((n_rows, n))

    def entropy(self, mu):
        """Entropy of ``N(mu, sigma^2)`` per unit, summed per row (independent of mu)."""
        mu = np.asarray(mu, dtype=np.float64)
        per = 0.5 * (_LOG_2PI + 1.0) + np.log(self.sigma)
        return np.broadcast_to(per, mu.shape).sum(axis=-1)

    def expected_energy(self, mu, bias):
        """``E_q[h^2 / (2 sigma^2)] - mu . bias`` with ``q = N(mu, sigma^2)``."""
        mu = np.asarray(mu, dtype=np.float64)
        return (0.5 * mu * mu / self.sigma**2 + 0.5).sum(axis=-1) - mu @ bias

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

    # ------------------------------------------------------------ log-variance
    @classmethod
    def from_log_variance(cls, log_variance):
        """Units with ``sigma = exp(log_variance / 2)`` (any finite reals)."""
        z = as_float_array(log_variance, "log_variance")
        return cls(np.exp(0.5 * z))

    @property
    def log_variance(self):
        """``z = log sigma^2 = 2 log sigma``, the shape of ``sigma``."""
        return 2.0 * np.log(self.sigma)

    def energy_log_variance_derivative(self, h):
        """``dE / dz_i = -h_i^2 / (2 sigma_i^2)`` per unit, shape of ``h``."""
        h = np.asarray(h, dtype=np.float64)
        return -0.5 * h * h / self.sigma**2

    def log_variance_statistics(self, h, centre=0.0):
        """``s_i(h) = (h_i - c_i)^2 / (2 sigma_i^2)`` per unit, shape of ``h``.

        With ``centre`` ``c = 0`` this is ``-dE / dz_i`` at fixed bias (the
        natural chart). With ``c = sigma^2 b`` (the mean parameter) it is,
        up to a constant that cancels between data and model, ``-dE / dz_i``
        at fixed ``sigma^2 b`` (Cho et al.'s chart for the bias), whose
        data-minus-model difference does not grow with ``|mean| / sigma``.
        """
        h = np.asarray(h, dtype=np.float64)
        d = h - centre
        return 0.5 * d * d / self.sigma**2

    def expected_log_variance_statistics(self, a, centre=0.0):
        """``E[s_i | a] = (sigma_i^2 a_i - c_i)^2 / (2 sigma_i^2) + 1 / 2``.

        (For ``h ~ N(sigma^2 a, sigma^2)``, ``E[(h - c)^2] = (sigma^2 a - c)^2 +
        sigma^2``, divided by ``2 sigma^2``.)
        """
        a = np.asarray(a, dtype=np.float64)
        d = self.sigma**2 * a - centre
        return 0.5 * d * d / self.sigma**2 + 0.5


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

    discrete = True

    def __init__(self, k):
        if not isinstance(k, numbers.Integral) or isinstance(k, bool) or k < 2:
            raise ValueError(f"k (the softmax group size) must be an int >= 2, got {k!r}")
        self.k = int(k)

    def spec(self):
        """The string :func:`get_units` reads back: ``"softmax:k"``."""
        return f"softmax:{self.k}"

    def check_size(self, n, name="units"):
        """The layer must split into whole groups of ``k``."""
        if n % self.k:
            raise ValueError(
                f"{name}: a softmax layer of {n} units is not a multiple of k={self.k}"
            )

    def check(self, h, name="states"):
        """``h`` as float: 0/1 entries with exactly one 1 per group of ``k``."""
        h = np.asarray(h, dtype=np.float64)
        if not np.all((h == 0.0) | (h == 1.0)) or not np.all(self._groups(h).sum(axis=-1) == 1):
            raise ValueError(
                f"{name} must be one-hot in every group of {self.k} units (softmax units)"
            )
        return h

    def init(self, rng, n_rows, n):
        """A uniform random one-hot state per group, shape (n_rows, n)."""
        idx = rng.integers(0, self.k, (n_rows, n // self.k))
        return np.eye(self.k)[idx].reshape(n_rows, n)

    def enumerate(self, n):
        """All ``k**(n/k)`` one-hot states of ``n`` units, shape (k**(n/k), n)."""
        g = n // self.k
        idx = np.array(list(itertools.product(range(self.k), repeat=g)), dtype=np.int64)
        return np.eye(self.k)[idx.reshape(-1, g)].reshape(-1, n)

    def log_n_states(self, n):
        """``(n / k) log k``."""
        return (n // self.k) * math.log(self.k)

    def entropy(self, mu):
        """Entropy of one categorical per group with probabilities ``mu``, summed per row."""
        mu = np.asarray(mu, dtype=np.float64)
        t = np.where(mu > 0, -mu * np.log(np.where(mu > 0, mu, 1.0)), 0.0)
        return t.sum(axis=-1)

    def expected_energy(self, mu, bias):
        """``-mu . bias`` per row."""
        return -(np.asarray(mu, dtype=np.float64) @ bias)

    def _groups(self, a):
        a = np.asarray(a, dtype=np.float64)
        return a.reshape(a.shape[:-1] + (a.shape[-1] // self.k, self.k))

    def mean(self, a):
        """Per-group softmax, shape of ``a``."""
        a = np.asarray(a, dtype=np.float64)
        return softmax(self._groups(a), axis=-1).reshape(a.shape)

    def sample(self, a, rng):
        """One-hot draw per group (:meth:`sample_from_mean` of :meth:`mean`)."""
        return self.sample_from_mean(self.mean(a), rng)

    def sample_from_mean(self, mu, rng):
        """One-hot draw per group with the group probabilities ``mu`` (shape of ``mu``).

        One uniform per group, the first unit whose cumulative probability
        reaches it switched on (inverse CDF), so ``sample(a, rng)`` and
        ``sample_from_mean(mean(a), rng)`` consume the same draws.
        """
        mu = np.asarray(mu, dtype=np.float64)
        c = np.cumsum(self._groups(mu), axis=-1)
        u = rng.random(c.shape[:-1] + (1,))
        idx = np.minimum((u > c).sum(axis=-1), self.k - 1)
        out = np.zeros_like(c)
        np.put_along_axis(out, idx[..., None], 1.0, axis=-1)
        return out.reshape(mu.shape)

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
    """A unit object from a spec.

    ``"binary"``, ``"gaussian"``, ``("gaussian", sigma)``, ``("softmax", k)``,
    ``"softmax:k"`` (the form :meth:`spec` writes) or a unit object.
    """
    if isinstance(spec, (BinaryUnits, GaussianUnits, SoftmaxUnits)):
        return spec
    if isinstance(spec, str):
        if spec == "binary":
            return BinaryUnits()
        if spec == "gaussian":
            return GaussianUnits()
        if spec.startswith("softmax:") and spec[8:].isdigit():
            return SoftmaxUnits(int(spec[8:]))
    if isinstance(spec, tuple) and len(spec) == 2:
        if spec[0] == "softmax":
            return SoftmaxUnits(spec[1])
        if spec[0] == "gaussian":
            return GaussianUnits(spec[1])
    raise ValueError(
        "units must be 'binary', 'gaussian', ('gaussian', sigma), ('softmax', k) or "
        f"'softmax:k'; got {spec!r}"
    )
