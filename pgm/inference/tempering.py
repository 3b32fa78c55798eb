r"""Parallel tempering (replica exchange) on the Gibbs kernels.

Each chain holds ``T`` replicas, one per inverse temperature
``beta_0 < beta_1 < ... < beta_{T-1} = 1``; replica ``t`` is a Gibbs chain on
``p_t(x) ∝ exp(-beta_t E(x))`` (the sweeps of :mod:`pgm.inference.gibbs`).
Every ``swap_every`` sweeps, neighbouring temperatures propose to exchange
their configurations ``x`` (at ``beta_t``) and ``y`` (at ``beta_{t+1}``),
accepted with probability ``min(1, exp((beta_{t+1} - beta_t)(E(y) - E(x))))``,
which keeps the product of the tempered distributions invariant. Rounds
alternate the even pairs ``(0, 1), (2, 3), ...`` and the odd pairs ``(1, 2),
...`` (the deterministic even-odd scheme). Hot replicas cross energy barriers
and pass their configurations down to ``beta = 1``, whose states are the
samples.

Public objects
--------------
sample
    Fresh chains: burn-in, then samples at ``beta = 1`` and swap statistics.
TemperingSampler
    Persistent replicas advanced in place; re-reads the graph's parameters on
    every call (usable as the model-statistics estimator of PCD-style training).
TemperingResult
    The frozen result of :func:`sample`.
geometric_ladder
    The default ladder.

References
----------
R. H. Swendsen and J.-S. Wang, "Replica Monte Carlo simulation of spin
glasses", Phys. Rev. Lett. 57, 1986. K. Hukushima and K. Nemoto, "Exchange
Monte Carlo method and application to spin glass simulations", J. Phys. Soc.
Jpn. 65, 1996. S. Syed, A. Bouchard-Côté, G. Deligiannidis and A. Doucet,
"Non-reversible parallel tempering: a scalable highly parallel MCMC scheme",
JRSS B 84, 2022 (the even-odd scheme).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pgm._random import as_generator, kernel_seed
from pgm._validation import check_beta_ladder, check_positive_float, check_positive_int
from pgm.graph import FactorGraph
from pgm.inference import _tempering_kernels as _tk
from pgm.inference import gibbs as _gibbs

__all__ = ["TemperingResult", "TemperingSampler", "geometric_ladder", "sample"]

#: Default number of temperatures of a geometric ladder.
DEFAULT_N_TEMPERATURES = 8
#: Default smallest inverse temperature of a geometric ladder.
DEFAULT_BETA_MIN = 0.1
#: Default number of burn-in sweeps of :func:`sample`.
DEFAULT_BURN_IN = _gibbs.DEFAULT_BURN_IN


def geometric_ladder(
    n_temperatures: int = DEFAULT_N_TEMPERATURES, beta_min: float = DEFAULT_BETA_MIN
) -> NDArray[np.float64]:
    """``n_temperatures`` inverse temperatures from ``beta_min`` to 1, equal ratios.

    Raises
    ------
    ValueError
        On ``n_temperatures < 1`` or ``beta_min`` outside (0, 1).

    Examples
    --------
    >>> geometric_ladder(3, 0.25).tolist()
    [0.25, 0.5, 1.0]
    """
    n_temperatures = check_positive_int(n_temperatures, "n_temperatures")
    beta_min = check_positive_float(beta_min, "beta_min")
    if not beta_min < 1.0:
        raise ValueError(f"beta_min must lie in (0, 1), got {beta_min}")
    if n_temperatures == 1:
        return np.ones(1)
    betas = beta_min ** (np.arange(n_temperatures - 1, -1, -1) / (n_temperatures - 1))
    betas[-1] = 1.0
    return betas


def _ladder(betas, n_temperatures, beta_min) -> np.ndarray:
    if betas is None:
        return geometric_ladder(
            DEFAULT_N_TEMPERATURES if n_temperatures is None else n_temperatures,
            DEFAULT_BETA_MIN if beta_min is None else beta_min,
        )
    betas = check_beta_ladder(betas, "betas")
    if (
        n_temperatures is not None
        and check_positive_int(n_temperatures, "n_temperatures") != betas.size
    ):
        raise ValueError(
            f"n_temperatures = {n_temperatures} disagrees with the {betas.size} betas given; "
            "pass one or the other"
        )
    if beta_min is not None:
        raise ValueError("beta_min applies to the geometric ladder only; it cannot go with betas")
    betas.flags.writeable = False
    return betas


class TemperingSampler(_gibbs._PersistentSweeps):
    """Persistent parallel-tempering chains on a factor graph, advanced in place.

    Parameters
    ----------
    fg : FactorGraph
    betas : array_like of shape (n_temperatures,), optional
        Inverse temperatures, positive, strictly increasing, ending at 1.
        Default: :func:`geometric_ladder` of ``n_temperatures`` from ``beta_min``.
    n_temperatures : int, optional
        Ladder length (default 8); must agree with ``betas`` if both are given.
    beta_min : float, optional
        Smallest beta of the geometric ladder (default 0.1), in (0, 1).
    n_chains : int, default 1
        Independent tempering chains, each with its own ladder of replicas.
    seed : None, int, SeedSequence or Generator
        Draws the initial states, then the Gibbs key, then the swap key.
    init : array_like of shape (n_chains, n_variables) or (n_variables,), optional
        Starting values, copied to every temperature; default uniform.
    clamp : dict of int to int, optional
        Evidence held fixed in every replica.
    schedule : {"auto", "chromatic", "sequential"}, default "auto"
    swap_every : int, default 1
        Sweeps between swap rounds.

    Attributes
    ----------
    betas : ndarray of shape (n_temperatures,)
    n_chains, n_temperatures, n_sweeps_done : int

    Notes
    -----
    Same seed, same samples, for any thread count and however the sweeps are
    split between calls (``run(10); sample(5)`` equals ``run(5); run(5);
    sample(5)``): every draw comes from a counter-based generator (see
    :mod:`pgm.inference._tempering_kernels`).

    Examples
    --------
    >>> import pgm
    >>> from pgm.inference import tempering
    >>> fg = pgm.FactorGraph()
    >>> s = fg.add_variables("s", 3, domain="spin")
    >>> _ = fg.add_edges([[0, 1], [1, 2]], [2.0, 2.0])
    >>> sampler = tempering.TemperingSampler(fg, n_temperatures=4, n_chains=2, seed=0)
    >>> sampler.run(10).sample(5).shape
    (2, 5, 3)
    """

    def __init__(
        self,
        fg: FactorGraph,
        betas: ArrayLike | None = None,
        n_temperatures: int | None = None,
        beta_min: float | None = None,
        n_chains: int = 1,
        seed=None,
        init: ArrayLike | None = None,
        clamp: Mapping | None = None,
        schedule: str = "auto",
        swap_every: int = 1,
    ):
        fg = _gibbs._check_graph(fg)
        self._betas = _ladder(betas, n_temperatures, beta_min)
        n_chains = check_positive_int(n_chains, "n_chains")
        self._swap_every = check_positive_int(swap_every, "swap_every")
        schedule = _gibbs._check_schedule(schedule)
        cg = fg.compile()
        clamp_ids, clamp_idx = _gibbs._check_clamp(fg, cg, clamp)
        n_temps = self._betas.size
        _gibbs._check_chains(cg, n_chains, n_temps)
        n = cg.n_variables
        if init is not None:
            start = _gibbs._check_init(fg, cg, init, n_chains)
        rng = as_generator(seed)
        if init is None:
            card = cg.cardinality
            draws = rng.random((n_chains * n_temps, n))
            indices = np.minimum((draws * card).astype(np.int64), card - 1)
        else:
            indices = np.repeat(start, n_temps, axis=0)
        self._key = kernel_seed(rng)
        self._swap_key = kernel_seed(rng)
        indices = np.array(indices, dtype=np.int64, order="C")
        indices[:, clamp_ids] = clamp_idx
        self._x = indices
        self._v = np.ascontiguousarray(
            cg.state_value[cg.state_offset[:-1] + indices], dtype=np.float64
        )
        self._slot = np.arange(n_chains * n_temps, dtype=np.int64).reshape(n_chains, n_temps)
        self._attempts = np.zeros((n_chains, max(n_temps - 1, 0)), dtype=np.int64)
        self._accepts = np.zeros_like(self._attempts)
        self._sweep = 0
        self._fg = fg
        self._cg = cg
        self._theta: np.ndarray | None = None
        self._plan, self._chromatic = _gibbs._plan(cg, schedule, clamp_ids)
        self._bias = np.empty((n_temps, self._plan.order.shape[0]), dtype=np.float64)
        self._weight = np.empty((n_temps, self._plan.nbr.shape[0]), dtype=np.float64)
        self._param_key: np.ndarray | None = None

    # -------------------------------------------------------------- properties
    @property
    def betas(self) -> NDArray[np.float64]:
        """The ladder of inverse temperatures (read-only)."""
        return self._betas

    @property
    def n_temperatures(self) -> int:
        """Number of temperatures."""
        return int(self._betas.size)

    @property
    def n_chains(self) -> int:
        """Number of independent tempering chains."""
        return int(self._slot.shape[0])

    @property
    def n_sweeps_done(self) -> int:
        """Sweeps performed so far."""
        return self._sweep

    @property
    def schedule(self) -> str:
        """The schedule in use: ``"chromatic"`` or ``"sequential"``."""
        return "chromatic" if self._chromatic else "sequential"

    @property
    def state(self) -> NDArray[np.int64]:
        """Current values, ndarray of shape (n_chains, n_temperatures, n_variables), int64."""
        return self._v[self._slot].astype(np.int64)

    @property
    def swap_attempts(self) -> NDArray[np.int64]:
        """Swap proposals so far per adjacent pair ``(t, t+1)``, summed over chains (a copy)."""
        return self._attempts.sum(axis=0)

    @property
    def swap_accepts(self) -> NDArray[np.int64]:
        """Accepted swaps so far per adjacent pair, summed over chains (a copy)."""
        return self._accepts.sum(axis=0)

    @property
    def swap_acceptance(self) -> NDArray[np.float64]:
        """Acceptance rate so far per adjacent pair; NaN for a pair never proposed."""
        return _rates(self.swap_accepts, self.swap_attempts)

    # -------------------------------------------------------------- running
    def _go(self, n_sweeps: int, thin: int, n_record: int) -> np.ndarray:
        theta = self._current_theta()
        out = np.empty((self.n_chains, n_record, self._cg.n_variables), dtype=np.int64)
        if n_sweeps == 0:
            return out
        g = self._cg.kernel_graph
        if self._param_key is None or not np.array_equal(self._param_key, theta):
            _tk.ladder_parameters(self._plan, g, theta, self._betas, self._bias, self._weight)
            self._param_key = theta.copy()
        _tk.tempering_sweeps(
            self._x, self._v, g, theta, self._betas, self._plan, self._bias, self._weight,
            self._chromatic, np.int64(self._key), np.int64(self._swap_key), self._slot,
            np.int64(self._sweep), np.int64(n_sweeps), np.int64(self._swap_every),
            np.int64(thin), out, self._attempts, self._accepts,
        )  # fmt: skip
        self._sweep += n_sweeps
        return out

    def __repr__(self) -> str:
        return (
            f"TemperingSampler(n_chains={self.n_chains}, n_temperatures={self.n_temperatures}, "
            f"schedule={self.schedule!r}, n_sweeps_done={self.n_sweeps_done})"
        )


def _rates(accepts: np.ndarray, attempts: np.ndarray) -> np.ndarray:
    out = np.full(attempts.shape, np.nan)
    np.divide(accepts, attempts, out=out, where=attempts > 0)
    return out


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


@dataclass(frozen=True)
class TemperingResult:
    """Result of :func:`sample`.

    Attributes
    ----------
    samples : ndarray of shape (n_chains, n_samples, n_variables), int64
        States of the ``beta = 1`` replica, values in each domain (the layout
        of :func:`pgm.inference.gibbs.sample`).
    betas : ndarray of shape (n_temperatures,)
    swap_acceptance : ndarray of shape (n_temperatures - 1,)
        Acceptance rate of swaps between temperatures ``t`` and ``t + 1``
        during the sampling sweeps (burn-in excluded), over all chains; NaN
        for a pair never proposed.
    swap_attempts : ndarray of shape (n_temperatures - 1,), int64
        Number of those proposals.
    sampler : TemperingSampler
        The persistent sampler, ready to continue (``sampler.sample(...)``).
    """

    samples: np.ndarray
    betas: np.ndarray
    swap_acceptance: np.ndarray
    swap_attempts: np.ndarray
    sampler: TemperingSampler


def sample(
    fg: FactorGraph,
    n_samples: int,
    betas: ArrayLike | None = None,
    n_temperatures: int | None = None,
    beta_min: float | None = None,
    n_chains: int = 1,
    burn_in: int = DEFAULT_BURN_IN,
    thin: int = 1,
    swap_every: int = 1,
    clamp: Mapping | None = None,
    init: ArrayLike | None = None,
    schedule: str = "auto",
    seed=None,
) -> TemperingResult:
    """Draw samples from ``p(x) ∝ exp(-E(x))`` by parallel tempering.

    Runs ``burn_in`` sweeps of every replica, then ``n_samples * thin``
    sweeps, keeping every ``thin``-th state of the ``beta = 1`` replica.

    Parameters
    ----------
    fg : FactorGraph
    n_samples : int
        Samples kept per chain (``>= 1``).
    betas, n_temperatures, beta_min, n_chains, swap_every, clamp, init, schedule, seed
        As in :class:`TemperingSampler`.
    burn_in : int, default 100
        Sweeps discarded first (``>= 0``).
    thin : int, default 1

    Returns
    -------
    TemperingResult

    Raises
    ------
    ValueError
        On a ladder that is not positive and strictly increasing to 1,
        ``beta_min`` outside (0, 1), ``n_temperatures`` disagreeing with
        ``betas``, non-positive counts, a clamp naming an unknown variable or
        a value outside its domain, or a bad ``init`` or ``schedule``.

    Examples
    --------
    >>> import pgm
    >>> from pgm.inference import tempering
    >>> fg = pgm.FactorGraph()
    >>> s = fg.add_variables("s", 4, domain="spin")
    >>> _ = fg.add_edges([[0, 1], [1, 2], [2, 3]], [3.0, 3.0, 3.0])
    >>> res = tempering.sample(fg, 20, betas=[0.2, 0.5, 1.0], n_chains=2, seed=0)
    >>> res.samples.shape, res.swap_acceptance.shape
    ((2, 20, 4), (2,))
    """
    n_samples = check_positive_int(n_samples, "n_samples")
    thin = check_positive_int(thin, "thin")
    burn_in = check_positive_int(burn_in, "burn_in", minimum=0)
    sampler = TemperingSampler(
        fg, betas=betas, n_temperatures=n_temperatures, beta_min=beta_min, n_chains=n_chains,
        seed=seed, init=init, clamp=clamp, schedule=schedule, swap_every=swap_every,
    )  # fmt: skip
    sampler.run(burn_in)
    attempts0, accepts0 = sampler.swap_attempts, sampler.swap_accepts
    samples = sampler.sample(n_samples, thin)
    attempts = sampler.swap_attempts - attempts0
    accepts = sampler.swap_accepts - accepts0
    return TemperingResult(
        samples=_frozen(samples),
        betas=sampler.betas,
        swap_acceptance=_frozen(_rates(accepts, attempts)),
        swap_attempts=_frozen(attempts),
        sampler=sampler,
    )
