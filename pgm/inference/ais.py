r"""Annealed importance sampling (AIS) estimates of log Z for RBMs and every layered model.

The estimator follows Salakhutdinov & Murray (2008, section 4 and appendix):
a chain of intermediate distributions from a tractable *base-rate* model
``A`` (no weights, independent visible units) to the target RBM ``B``, with
the hidden units summed out analytically, Gibbs transitions at each inverse
temperature, and importance weights accumulated in log space. The loop
itself is the layered engine's (:mod:`pgm.layered.ais`): an RBM is its
two-layer case, a DBM its general one, and both go through the same fused
kernels.

Public functions
----------------
log_partition
    Estimate ``log Z`` of an RBM, a DBM or any layered model; returns an :class:`AISResult`.
log_likelihood
    Mean log-likelihood of data under an RBM given a (possibly estimated) ``log Z``.
annealing_schedule
    The inverse-temperature grid of Salakhutdinov & Murray (2008), at any length.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pgm._validation import (
    NotFittedError,
    as_float_array,
    check_positive_float,
    check_positive_int,
)
from pgm.layered.model import rbm_free_energy as _free_energy

__all__ = ["AISResult", "log_partition", "log_likelihood", "annealing_schedule"]

#: Length of the default schedule: 500 + 4000 + 10000 annealing steps (Salakhutdinov
#: & Murray 2008, section 4.1), i.e. 14,501 inverse temperatures from 0 to 1.
DEFAULT_N_BETAS = 14_501

# Segment boundaries and step counts of the paper's schedule.
_SEGMENT_EDGES = (0.0, 0.5, 0.9, 1.0)
_SEGMENT_STEPS = (500, 4000, 10000)


@dataclass(frozen=True)
class AISResult:
    """Outcome of an AIS run; arrays are read-only.

    Attributes
    ----------
    log_z : float
        Estimate ``log Z_A + log(mean(w))`` of the target's log partition function.
    log_z_std : float
        Standard error of ``log_z`` by the delta method,
        ``std(w) / (sqrt(n_chains) * mean(w))`` (sample standard deviation,
        ``ddof=1``); ``inf`` when ``n_chains == 1``.
    log_z_interval : tuple of float
        ``(log(Z_hat - 3 sigma_hat), log(Z_hat + 3 sigma_hat))`` with
        ``sigma_hat = Z_hat * log_z_std``, the band Salakhutdinov & Murray
        (2008) report; the lower end is ``-inf`` when ``3 * log_z_std >= 1``.
    log_weights : ndarray of shape (n_chains,)
        Log importance weights ``log w`` of the runs.
    log_z_base : float
        Exact ``log Z_A`` of the base-rate model.
    base_visible_bias : ndarray of shape (n_visible,)
        Visible biases (binary) or means (Gaussian) of the base-rate model.
    n_chains : int
        Number of independent AIS runs.
    n_betas : int
        Number of inverse temperatures, both ends included (``n_betas - 1``
        annealing steps).
    effective_sample_size : float
        ``(sum w)**2 / sum(w**2)``, between 1 and ``n_chains``; far below
        ``n_chains`` warns that a few runs dominate the estimate.
    chains : ndarray of shape (n_chains, n_visible) or None
        Final visible states (from the last transition, at ``beta`` just
        below 1) when ``return_chains=True``; weighted by
        ``exp(log_weights)`` they are an importance sample of the target.
    """

    log_z: float
    log_z_std: float
    log_z_interval: tuple[float, float]
    log_weights: NDArray[np.float64]
    log_z_base: float
    base_visible_bias: NDArray[np.float64]
    n_chains: int
    n_betas: int
    effective_sample_size: float
    chains: NDArray[np.float64] | None = None

    def __post_init__(self):
        for name in ("log_weights", "base_visible_bias", "chains"):
            value = getattr(self, name)
            if isinstance(value, np.ndarray):
                value.flags.writeable = False


def annealing_schedule(n_betas: int = DEFAULT_N_BETAS) -> NDArray[np.float64]:
    """Return the segmented inverse-temperature grid of Salakhutdinov & Murray (2008).

    The ``n_betas - 1`` annealing steps are split over the segments
    ``[0, 0.5]``, ``[0.5, 0.9]`` and ``[0.9, 1]`` in the paper's proportions
    500 : 4000 : 10000 (uniform spacing inside each segment), so the default
    ``n_betas = 14501`` reproduces the paper's 14,500 steps exactly. With
    fewer than 4 betas the grid is uniform on ``[0, 1]``.

    Parameters
    ----------
    n_betas : int, default 14501
        Number of inverse temperatures, both ends included; at least 2.

    Returns
    -------
    betas : ndarray of shape (n_betas,)
        Strictly increasing, ``betas[0] == 0.0`` and ``betas[-1] == 1.0``.

    Raises
    ------
    ValueError
        If ``n_betas`` is not an integer >= 2.

    References
    ----------
    .. [1] R. Salakhutdinov and I. Murray, "On the quantitative analysis of deep
       belief networks", ICML 2008, section 4.1.

    Examples
    --------
    >>> from pgm.inference.ais import annealing_schedule
    >>> annealing_schedule(5).tolist()
    [0.0, 0.5, 0.9, 0.95, 1.0]
    >>> len(annealing_schedule())
    14501
    """
    n_betas = check_positive_int(n_betas, "betas", minimum=2)
    n_steps = n_betas - 1
    if n_steps < 3:
        return np.linspace(0.0, 1.0, n_betas)
    total = sum(_SEGMENT_STEPS)
    first = max(1, round(n_steps * _SEGMENT_STEPS[0] / total))
    second = max(1, round(n_steps * _SEGMENT_STEPS[1] / total))
    if first + second > n_steps - 1:  # keep at least one step in every segment
        first, second = 1, 1
    steps = (first, second, n_steps - first - second)
    pieces = [
        np.linspace(lo, hi, m + 1)[:-1]
        for lo, hi, m in zip(_SEGMENT_EDGES[:-1], _SEGMENT_EDGES[1:], steps, strict=True)
    ]
    pieces.append(np.array([1.0]))
    return np.concatenate(pieces)


def log_partition(
    model,
    *,
    n_chains: int = 100,
    betas: None | int | ArrayLike = None,
    base_rate: None | ArrayLike = None,
    base_visible_bias: None | ArrayLike = None,
    base_hidden: str = "auto",
    smoothing: float = 1.0,
    seed=None,
    return_chains: bool = False,
    verbose: bool = False,
    min_ess_fraction: float = 0.05,
) -> AISResult:
    r"""Estimate the log partition function of an RBM by annealed importance sampling.

    Parameters
    ----------
    model : RBM, DBM, LayeredModel or object with ``weights_``, ``visible_bias_``, ``hidden_bias_``
        A DBM or a :class:`~pgm.layered.model.LayeredModel` goes to
        :func:`pgm.layered.ais.log_partition` with the odd layers summed out
        (see there); the rest of this section describes the RBM case.
        The target model: ``weights_`` of shape (n_visible, n_hidden),
        ``visible_bias_`` of shape (n_visible,), ``hidden_bias_`` of shape
        (n_hidden,), and optionally ``visible`` (``"binary"``, the default,
        or ``"gaussian"`` for unit-variance Gaussian visible units).
        Parameters are used in float64.
    n_chains : int, default 100
        Number of independent annealing runs.
    betas : None, int or array_like of shape (n_betas,), default None
        Inverse temperatures. ``None`` is the paper's schedule (14,501 betas,
        see :func:`annealing_schedule`); an int is that schedule at that
        length; an array must be strictly increasing from exactly 0 to
        exactly 1.
    base_rate : None or array_like, default None
        Where the base-rate model's visible biases come from:

        - ``None``: the target's own visible biases (a zero-weight copy of the
          target, so only the weights and hidden units are annealed in);
        - data of shape (n_samples, n_visible): for binary units the
          maximum-likelihood independent model with ``smoothing``
          pseudo-counts, ``b_A = log(p / (1 - p))`` with
          ``p = (sum_n x_ni + smoothing) / (n_samples + 2 * smoothing)``
          (values must lie in [0, 1]); for Gaussian units the data mean;
        - probabilities of shape (n_visible,), each strictly in (0, 1)
          (binary units only): ``b_A = log(p / (1 - p))``.
    base_visible_bias : None or array_like of shape (n_visible,), default None
        Base-rate visible biases (binary: log-odds; Gaussian: means) given
        directly; exclusive with ``base_rate``.
    base_hidden : {"auto", "uniform", "mean_field"}, default "auto"
        The base model of a DBM's even hidden layers (an RBM has none); see
        :func:`pgm.layered.ais.log_partition`. ``"auto"`` takes them from the
        mean-field posteriors of ``base_rate`` when it is data.
    smoothing : float, default 1.0
        Pseudo-count added to both outcomes of every binary pixel when
        ``base_rate`` is data (keeps ``b_A`` finite for pixels that are never
        or always on). Must be positive.
    seed : None, int, numpy.random.SeedSequence or numpy.random.Generator
        Source of randomness; the same seed gives the same result.
    return_chains : bool, default False
        Keep the final visible states in ``AISResult.chains``.
    verbose : bool, default False
        Show a tqdm progress bar over the temperatures.
    min_ess_fraction : float, default 0.05
        Warn when the effective sample size falls below
        ``max(min_ess_fraction * n_chains, min(3, n_chains / 2))`` (see
        :func:`warn_if_unreliable`).

    Returns
    -------
    result : AISResult
        ``log_z``, its standard error ``log_z_std``, the ``log_z_interval``
        (``log(Z_hat -+ 3 sigma_hat)``), the ``log_weights`` and more.

    Warns
    -----
    RuntimeWarning
        When the estimate cannot be trusted (:func:`warn_if_unreliable`): a
        tiny effective sample size, log weights spread over more than 50 nats,
        a standard error so large that the band has no lower edge, or a
        single chain.

    Raises
    ------
    TypeError
        If ``model`` lacks the parameter attributes.
    NotFittedError
        If ``model`` is an estimator that has not been fitted.
    ValueError
        On non-finite or inconsistently shaped parameters, an unknown
        ``model.visible``, ``n_chains < 1``, a bad ``betas`` grid, a
        ``base_rate`` of the wrong shape or out of range, both ``base_rate``
        and ``base_visible_bias`` given, or a non-positive ``smoothing``.

    Notes
    -----
    Binary target ``B``: ``E(v, h) = -v.b - h.c - v.W.h`` and, with the hidden
    units summed out, ``p_B(v) ∝ exp(v.b) prod_j (1 + exp(c_j + v.W_j))``.
    Base ``A``: ``W = 0``, visible biases ``b_A``, so
    ``log Z_A = sum_i softplus(b_A,i) + n_hidden log 2``. The intermediate
    distributions (paper, appendix) are the unnormalised

    .. math::

        f_k(v) = e^{(1-\beta_k) v \cdot b_A} e^{\beta_k v \cdot b}
                 \prod_j \left(1 + e^{\beta_k (c_j + v \cdot W_j)}\right),

    ``p_k ∝ p_A^{1-beta_k} p_B^{beta_k}`` with the target's hidden units
    scaled by ``beta_k``. Each run draws ``v_0 ~ p_A`` and for
    ``k = 1..K`` adds ``log f_k(v_{k-1}) - log f_{k-1}(v_{k-1})`` to its log
    weight, then (for ``k < K``) moves ``v`` by one Gibbs sweep that leaves
    ``p_k`` invariant: ``h_j ~ Bernoulli(sigmoid(beta_k (c_j + v.W_j)))``,
    ``v_i ~ Bernoulli(sigmoid((1 - beta_k) b_A,i + beta_k (b_i + W_i.h)))``.
    ``E[w] = Z_B / Z_A`` (Neal 2001), so
    ``log Z_hat = log Z_A + logmeanexp(log w)``; the weights are averaged
    in log space (max-shifted).

    Gaussian target (unit variance): ``E(v, h) = |v - b|^2 / 2 - h.c - v.W.h``;
    base ``N(b_A, I)`` with ``W = 0``, ``log Z_A = n_visible log(2 pi) / 2 +
    n_hidden log 2``; ``f_k`` replaces the linear visible terms by
    ``-(1-beta_k)|v - b_A|^2 / 2 - beta_k |v - b|^2 / 2``, and as both
    quadratic terms have unit weight the visible conditional at ``beta_k`` is
    ``N((1 - beta_k) b_A + beta_k (b + W h), I)``. Data should be
    standardised, as for training such a model.

    Where AIS is reliable: when consecutive intermediate distributions
    overlap, so that every run's weight stays within a few nats of the
    others. That needs enough temperatures for the coupling strength (the
    paper's 14,501 for MNIST-sized RBMs with weights of order 0.1-1) and a
    base model close to the target's visible marginals. With very strong
    weights (sharp, multimodal targets) a run reaches only the modes its
    start leads to, a few runs carry all the weight, the sample variance of
    the weights underestimates the true one, and the estimate can sit many
    nats below log Z; this function then warns. The warning is a necessary
    sign, not a guarantee: an estimate can still be wrong without it when no
    run found a dominant mode.

    ``log Z_hat`` is unbiased for ``Z``, not for ``log Z``: by Jensen's
    inequality it underestimates ``log Z`` on average (so test
    log-likelihoods computed from it are optimistic) when the weights have
    high variance. A small ``effective_sample_size`` or a wide
    ``log_z_interval`` calls for more temperatures or chains.

    Cost: two ``(n_chains, n_visible) x (n_visible, n_hidden)`` products per
    temperature (BLAS) and fused Numba kernels for the rest. The loop is
    :func:`pgm.layered.ais.log_partition` on the RBM as a two-layer model
    (the same kernels and draws as the DBM's); for Gaussian visible units
    the RBM's energy ``|v - b|^2 / 2`` differs from the engine's
    ``|v|^2 / 2 - b.v`` by a constant, applied once to the result.

    References
    ----------
    .. [1] R. M. Neal, "Annealed importance sampling", Statistics and Computing
       11 (2), 125-139, 2001.
    .. [2] R. Salakhutdinov and I. Murray, "On the quantitative analysis of deep
       belief networks", ICML 2008, section 4 and appendix (base-rate model,
       eq. for ``p_k``, schedule of section 4.1).

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> from pgm.inference import ais
    >>> rbm = SimpleNamespace(weights_=np.zeros((3, 2)),
    ...                       visible_bias_=np.array([0.5, -1.0, 0.0]),
    ...                       hidden_bias_=np.array([1.0, -2.0]))
    >>> result = ais.log_partition(rbm, n_chains=10, betas=50, seed=0)
    >>> exact = np.logaddexp(0, rbm.visible_bias_).sum() + np.logaddexp(0, rbm.hidden_bias_).sum()
    >>> bool(abs(result.log_z - exact) < 1e-10)
    True
    """
    from pgm.layered import ais as _layered  # the engine; imported here (it imports this module)
    from pgm.layered.model import LayeredModel

    if isinstance(model, LayeredModel) or hasattr(model, "_core"):  # a DBM or the engine itself
        core, offset = getattr(model, "_core", model), None
    else:
        weights, visible_bias, hidden_bias, visible = _rbm_parameters(model)
        core = LayeredModel([weights], [visible_bias, hidden_bias], units=[visible, "binary"])
        offset = visible_bias if visible == "gaussian" else None
    result = _layered.log_partition(
        core, n_chains=n_chains, betas=betas, base_rate=base_rate,
        base_visible_bias=base_visible_bias, base_hidden=base_hidden, smoothing=smoothing,
        seed=seed, return_chains=return_chains, verbose=verbose, min_ess_fraction=min_ess_fraction,
    )  # fmt: skip
    if offset is None:
        return result
    # The RBM writes the Gaussian energy |v - b|^2 / 2 (base |v - b_A|^2 / 2), the engine
    # |v|^2 / 2 - b.v: log Z and log Z_A move by -|b|^2 / 2 and -|b_A|^2 / 2, the weights by
    # the difference (a constant added once, where the RBM's own loop spread it over the steps).
    shift_z = -0.5 * float(offset @ offset)
    shift_base = -0.5 * float(result.base_visible_bias @ result.base_visible_bias)
    return replace(
        result,
        log_z=result.log_z + shift_z,
        log_z_interval=tuple(x + shift_z for x in result.log_z_interval),
        log_weights=result.log_weights + (shift_z - shift_base),
        log_z_base=result.log_z_base + shift_base,
    )


def log_likelihood(model, X: ArrayLike, log_z) -> float:
    """Mean log-likelihood ``mean_n log p(x_n) = -mean_n F(x_n) - log Z`` under an RBM.

    Parameters
    ----------
    model : RBM or object with ``weights_``, ``visible_bias_``, ``hidden_bias_``
        As for :func:`log_partition`.
    X : array_like of shape (n_samples, n_visible)
        Data: 0/1 for binary visible units, real (standardised) for Gaussian.
    log_z : float or AISResult
        The model's log partition function, exact or estimated (an
        ``AISResult`` contributes its ``log_z``).

    Returns
    -------
    log_likelihood : float
        Mean over rows, in nats.

    Raises
    ------
    ValueError
        If ``X`` has the wrong shape, non-finite entries, or (binary units)
        values other than 0 and 1, or if ``log_z`` is not finite.

    Notes
    -----
    Free energy with the hidden units summed out (softplus in log space):
    binary ``F(v) = -v.b - sum_j softplus(c_j + v.W_j)``, Gaussian
    ``F(v) = |v - b|^2 / 2 - sum_j softplus(c_j + v.W_j)``. With an AIS
    estimate of ``log Z`` the result inherits its error (and its tendency
    to be optimistic, see :func:`log_partition`).

    References
    ----------
    .. [1] R. Salakhutdinov and I. Murray, "On the quantitative analysis of deep
       belief networks", ICML 2008, eq. (4).

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> from pgm.inference import ais
    >>> rbm = SimpleNamespace(weights_=np.zeros((2, 1)), visible_bias_=np.zeros(2),
    ...                       hidden_bias_=np.zeros(1))
    >>> round(ais.log_likelihood(rbm, [[0, 1]], log_z=3 * np.log(2)), 6)  # = log(1/4)
    -1.386294
    """
    weights, visible_bias, hidden_bias, visible = _rbm_parameters(model)
    X = as_float_array(X, "X", shape=(None, weights.shape[0]), copy=False)
    if X.shape[0] == 0:
        raise ValueError("X must hold at least one row, got 0")
    if visible == "binary" and not np.all((X == 0.0) | (X == 1.0)):
        raise ValueError("X must hold only 0 and 1 for binary visible units")
    log_z = float(log_z.log_z if isinstance(log_z, AISResult) else log_z)
    if not math.isfinite(log_z):
        raise ValueError(f"log_z must be finite, got {log_z}")
    free = _free_energy(X, weights, visible_bias, hidden_bias, visible)
    return float(-np.mean(free) - log_z)


# --------------------------------------------------------------------------- helpers


def _rbm_parameters(model):
    """Validated float64 copies of an RBM's parameters and its visible type."""
    names = ("weights_", "visible_bias_", "hidden_bias_")
    missing = [name for name in names if not hasattr(model, name)]
    if missing:
        if hasattr(model, "fit"):
            raise NotFittedError(
                f"{type(model).__name__} is not fitted yet (no {', '.join(missing)}); "
                "call fit or build it with from_parameters first"
            )
        raise TypeError(
            "model must be an RBM or have attributes weights_, visible_bias_ and "
            f"hidden_bias_; {type(model).__name__} lacks {', '.join(missing)}"
        )
    weights = as_float_array(model.weights_, "model.weights_", ndim=2)
    n_visible, n_hidden = weights.shape
    if n_visible == 0 or n_hidden == 0:
        raise ValueError(
            f"model.weights_ must have at least one visible and one hidden unit, "
            f"got shape {weights.shape}"
        )
    visible_bias = as_float_array(model.visible_bias_, "model.visible_bias_", ndim=1)
    if visible_bias.shape != (n_visible,):
        raise ValueError(
            f"model.visible_bias_ must have shape ({n_visible},) = (n_visible,) to match "
            f"model.weights_ {weights.shape}; got {visible_bias.shape}"
        )
    hidden_bias = as_float_array(model.hidden_bias_, "model.hidden_bias_", ndim=1)
    if hidden_bias.shape != (n_hidden,):
        raise ValueError(
            f"model.hidden_bias_ must have shape ({n_hidden},) = (n_hidden,) to match "
            f"model.weights_ {weights.shape}; got {hidden_bias.shape}"
        )
    visible = getattr(model, "visible", "binary")
    if visible not in ("binary", "gaussian"):
        raise ValueError(f"model.visible must be 'binary' or 'gaussian', got {visible!r}")
    return weights, visible_bias, hidden_bias, visible


def _check_betas(betas):
    """The inverse-temperature grid as a float64 array (see ``log_partition``)."""
    if betas is None:
        return annealing_schedule()
    if isinstance(betas, (int, np.integer)) and not isinstance(betas, bool):
        return annealing_schedule(int(betas))
    arr = as_float_array(betas, "betas", ndim=1)
    if arr.shape[0] < 2:
        raise ValueError(f"betas must hold at least 2 values (0 and 1), got {arr.shape[0]}")
    if arr[0] != 0.0 or arr[-1] != 1.0:
        raise ValueError(
            f"betas must start at exactly 0 and end at exactly 1, got {arr[0]!r} ... {arr[-1]!r}"
        )
    steps = np.diff(arr)
    if not np.all(steps > 0.0):
        first = int(np.argmax(steps <= 0.0))
        raise ValueError(
            f"betas must be strictly increasing, got betas[{first}] = {arr[first]!r} "
            f">= betas[{first + 1}] = {arr[first + 1]!r}"
        )
    return arr


def check_ess_fraction(value) -> float:
    """``min_ess_fraction`` as a float in [0, 1], or a ValueError naming it."""
    value = check_positive_float(value, "min_ess_fraction", allow_zero=True)
    if value > 1.0:
        raise ValueError(f"min_ess_fraction must lie in [0, 1], got {value}")
    return value


def warn_if_unreliable(result: AISResult, min_ess_fraction: float = 0.05) -> None:
    """Warn (``RuntimeWarning``) when an AIS estimate's band cannot be trusted.

    Any of these signs triggers the warning: one chain (no variance
    estimate); an effective sample size below
    ``max(min_ess_fraction * n_chains, min(3, n_chains / 2))``; log weights
    spread over more than 50 nats; or ``3 * log_z_std >= 1``, so that
    ``Z_hat - 3 sigma_hat <= 0`` and the band has no lower edge.

    Parameters
    ----------
    result : AISResult
    min_ess_fraction : float, default 0.05
        Must lie in [0, 1].
    """
    min_ess_fraction = check_ess_fraction(min_ess_fraction)
    n = result.n_chains
    spread = float(np.max(result.log_weights) - np.min(result.log_weights))
    ess_floor = max(min_ess_fraction * n, min(3.0, n / 2.0))
    if (
        n == 1
        or result.effective_sample_size < ess_floor
        or spread > 50.0
        or result.log_z_interval[0] == -math.inf
    ):
        warnings.warn(
            f"AIS estimate unreliable: effective sample size {result.effective_sample_size:.1f} "
            f"of {n} chains, log-weight spread {spread:.1f} nats, relative standard error "
            f"{result.log_z_std:.3g}; the +-3 sigma band cannot be trusted (use more "
            "temperatures or chains)",
            RuntimeWarning,
            stacklevel=3,
        )


def _summarise(log_w, log_z_base, bias_base, n_betas, chains):
    """Turn log weights into an ``AISResult`` (all averaging done max-shifted)."""
    n = log_w.shape[0]
    shift = float(np.max(log_w))
    w = np.exp(log_w - shift)  # in (0, 1], the largest is exactly 1
    mean_w = float(np.mean(w))  # >= 1/n > 0
    log_z = log_z_base + shift + math.log(mean_w)
    if n > 1:
        rel = float(np.std(w, ddof=1)) / (math.sqrt(n) * mean_w)
        lower = log_z + math.log1p(-3.0 * rel) if 3.0 * rel < 1.0 else -math.inf
        upper = log_z + math.log1p(3.0 * rel)
    else:
        rel, lower, upper = math.inf, -math.inf, math.inf
    ess = float(np.sum(w) ** 2 / np.sum(w * w))
    return AISResult(
        log_z=float(log_z),
        log_z_std=rel,
        log_z_interval=(float(lower), float(upper)),
        log_weights=log_w,
        log_z_base=float(log_z_base),
        base_visible_bias=bias_base,
        n_chains=n,
        n_betas=n_betas,
        effective_sample_size=ess,
        chains=chains,
    )
