r"""Naive mean-field inference for discrete factor graphs.

Mean-field approximates ``p_beta(x) ∝ exp(-beta E(x))`` by the fully factorised
distribution ``q(x) = prod_i q_i(x_i)`` that maximises the variational lower
bound

.. math::

    \log Z_\beta \;\ge\; \mathcal{L}(q) = -\beta\,\mathbb{E}_q[E(x)] + H(q),

i.e. minimises the variational free energy ``-L(q)`` (equivalently
``KL(q || p_beta)``, since ``log Z_beta - L(q) = KL(q || p_beta) >= 0``).
Each coordinate update sets ``q_i(s) ∝ exp(-beta h_i(s))`` with ``h_i(s)`` the
energy terms that involve ``x_i = s`` averaged over the other variables under
``q`` (for a pairwise term, the neighbour's mean value; for a table factor,
the table averaged over its other scope positions with product weights).

Public functions
----------------
run
    Iterate to convergence; returns a :class:`MeanFieldResult`.
init_state, step
    The same algorithm as a pure ``init``/``step`` pair (STYLE.md section 1.3).
lower_bound
    ``L(q)`` of any product distribution ``q`` on a graph.

References
----------
.. [1] M. J. Wainwright and M. I. Jordan, "Graphical models, exponential
   families, and variational inference", Foundations and Trends in Machine
   Learning 1(1-2), 2008, section 5 (naive mean field, eq. 5.8 onwards).
.. [2] C. M. Bishop, "Pattern Recognition and Machine Learning", Springer,
   2006, section 10.1.1 (eq. 10.9: the optimal factor is the exponentiated
   expected log joint).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pgm._random import as_generator
from pgm._validation import (
    as_index_array,
    check_allocation,
    check_clamp,
    check_marginals,
    check_positive_float,
    check_positive_int,
    padding_mask,
)
from pgm.compiled import CompiledGraph
from pgm.graph import FactorGraph, check_graph
from pgm.inference import _mean_field_kernels as _k

__all__ = ["MeanFieldResult", "MeanFieldState", "run", "init_state", "step", "lower_bound"]

#: Default schedule-dependent damping: none for sequential coordinate ascent
#: (monotone without it), 0.5 for parallel updates (which can oscillate).
_DEFAULT_DAMPING = {"sequential": 0.0, "parallel": 0.5}


@dataclass(frozen=True)
class MeanFieldResult:
    """Outcome of :func:`run`; arrays are read-only.

    Attributes
    ----------
    marginals : ndarray of shape (n_variables, max_cardinality)
        ``marginals[i, s] = q_i(state index s)``, the layout of
        ``exact.marginals``: rows sum to 1, entries ``s >= k_i`` are 0, and a
        clamped variable's row is one-hot at its clamped value.
    converged : bool
        Whether the largest absolute change of any marginal in the last
        iteration was below ``tol``.
    n_iter : int
        Number of sweeps performed (1 <= n_iter <= max_iter).
    log_z_lower_bound : float
        ``-beta E_q[E] + H(q)`` at the returned marginals: a lower bound on
        ``log Z_beta = log sum_x exp(-beta E(x))`` (with ``clamp``, on the log
        of that sum over the free variables with the clamped ones fixed).
    history : ndarray of shape (n_iter + 1,)
        The bound at the initial marginals and after each sweep. For the
        sequential schedule it never decreases (up to rounding).
    max_change : float
        Largest absolute change of a marginal in the last sweep.
    """

    marginals: NDArray[np.float64]
    converged: bool
    n_iter: int
    log_z_lower_bound: float
    history: NDArray[np.float64]
    max_change: float

    def __post_init__(self):
        for name in ("marginals", "history"):
            getattr(self, name).flags.writeable = False


class MeanFieldState(NamedTuple):
    """State of the :func:`init_state`/:func:`step` pair.

    Attributes
    ----------
    marginals : ndarray of shape (n_variables, max_cardinality), float64
        Current product distribution (layout of :attr:`MeanFieldResult.marginals`).
    free : ndarray of shape (n_free,), int64
        Ids of the variables that are updated (all but the clamped ones), ascending.
    max_change : float
        Largest absolute change of a marginal in the step that produced this
        state (``inf`` for an initial state).
    """

    marginals: NDArray[np.float64]
    free: NDArray[np.int64]
    max_change: float


# ---------------------------------------------------------------------------- public


def run(
    fg: FactorGraph,
    clamp: Mapping | None = None,
    init: None | str | ArrayLike = None,
    *,
    max_iter: int = 500,
    tol: float = 1e-8,
    damping: float | None = None,
    schedule: str = "sequential",
    beta: float = 1.0,
    seed=None,
) -> MeanFieldResult:
    r"""Run naive mean-field to a fixed point.

    Parameters
    ----------
    fg : FactorGraph
        Any discrete factor graph (binary, spin and categorical variables,
        unary, pairwise and table terms).
    clamp : dict of int to int, optional
        ``{variable id: value}`` of observed variables, values in each
        variable's domain (0/1, -1/+1, 0..k-1). Clamped variables keep a
        one-hot marginal and are never updated, so the result approximates
        the conditional distribution of the others.
    init : None, "uniform" or array_like of shape (n_variables, max_cardinality)
        Initial marginals. ``None`` draws each free row from a flat Dirichlet
        (uniform on the simplex) with ``seed``; ``"uniform"`` starts every
        row uniform (deterministic, but a symmetric model then stays on its
        symmetric saddle point); an array must hold a distribution in each
        row (non-negative, zero padding, rows summing to 1 within 1e-8).
        Clamped rows are replaced by their one-hot value.
    max_iter : int, default 500
        Maximum number of sweeps (>= 1).
    tol : float, default 1e-8
        Converged when the largest absolute change of any marginal in one
        sweep is below ``tol`` (>= 0).
    damping : float in [0, 1), optional
        Each row becomes ``(1 - damping) * update + damping * old``. Defaults
        to 0 for ``"sequential"`` and 0.5 for ``"parallel"``.
    schedule : {"sequential", "parallel"}, default "sequential"
        ``"sequential"``: coordinate ascent in id order, each update using the
        latest rows; the bound never decreases. ``"parallel"``: all rows are
        updated at once from the previous sweep's marginals (damping keeps it
        from oscillating).
    beta : float, default 1.0
        Inverse temperature (> 0): the target is ``p ∝ exp(-beta E)``.
    seed : None, int, SeedSequence or Generator, optional
        Randomness for ``init=None``; unused otherwise.

    Returns
    -------
    MeanFieldResult

    Raises
    ------
    TypeError
        If ``fg`` is not a FactorGraph, ``clamp`` is not a mapping, or
        ``seed`` is of an unsupported type.
    ValueError
        On an unknown ``schedule``, ``max_iter < 1``, ``tol < 0``, ``damping``
        outside [0, 1), ``beta <= 0``, a clamp id that is not a variable or a
        clamp value outside its variable's domain, or ``init`` of the wrong
        shape or not holding distributions.

    Notes
    -----
    The update of a free variable ``i`` is

    .. math::

        q_i(s) \propto \exp\Bigl(-\beta\,\mathbb{E}_{q_{-i}}\bigl[E(x)\mid x_i=s\bigr]\Bigr),

    the maximiser of the bound over ``q_i`` with the other rows fixed
    (Bishop 2006, eq. 10.9). Pairwise terms ``-w x_i x_j`` contribute
    ``-w x_i E_q[x_j]``; a table factor over scope ``(v_1, ..., v_r)``
    contributes its table averaged over the other ``r - 1`` positions with
    weights ``prod q_{v_r}``. The bound is computed in closed form for the
    product distribution (``E_q[x_i x_j] = E_q[x_i] E_q[x_j]``), with
    ``0 log 0 = 0`` in the entropy.

    Examples
    --------
    >>> import pgm
    >>> from pgm.inference import mean_field
    >>> fg = pgm.FactorGraph()
    >>> x = fg.add_variables("x", 2, domain="spin")
    >>> _ = fg.add_unary(x, [0.5, -0.5])
    >>> result = mean_field.run(fg, seed=0)
    >>> bool(result.converged), result.marginals.round(4).tolist()
    (True, [[0.2689, 0.7311], [0.7311, 0.2689]])
    """
    cg, schedule, max_iter, tol, damping, beta = _check_run_args(
        fg, schedule, max_iter, tol, damping, beta
    )
    state = _initial_state(fg, cg, clamp, init, seed)
    q, free = state.marginals, state.free
    g, theta = cg.kernel_graph, fg.theta
    scratch = np.zeros_like(q) if schedule == "parallel" else np.zeros(q.shape[1])

    # the history grows geometrically: max_iter is a cap, not a size to allocate
    history = np.empty(min(max_iter, 63) + 1, dtype=np.float64)
    history[0] = _k.log_z_bound(q, g, theta, beta)
    converged, change, n_iter = False, np.inf, 0
    while n_iter < max_iter:
        change = _sweep(schedule, q, free, g, theta, beta, damping, scratch)
        n_iter += 1
        if n_iter == history.shape[0]:
            extra = min(history.shape[0], max_iter + 1 - n_iter)
            history = np.concatenate([history, np.empty(extra)])
        history[n_iter] = _k.log_z_bound(q, g, theta, beta)
        if change < tol:
            converged = True
            break
    history = history[: n_iter + 1].copy()
    return MeanFieldResult(
        marginals=q,
        converged=converged,
        n_iter=n_iter,
        log_z_lower_bound=float(history[-1]),
        history=history,
        max_change=float(change),
    )


def init_state(
    fg: FactorGraph,
    clamp: Mapping | None = None,
    init: None | str | ArrayLike = None,
    *,
    seed=None,
) -> MeanFieldState:
    """Initial state for :func:`step` (arguments as in :func:`run`).

    Returns
    -------
    MeanFieldState

    Raises
    ------
    TypeError, ValueError
        As :func:`run`, for ``fg``, ``clamp``, ``init`` and ``seed``.

    Examples
    --------
    >>> import pgm
    >>> from pgm.inference import mean_field
    >>> fg = pgm.FactorGraph()
    >>> x = fg.add_variables("x", 3, domain="binary")
    >>> _ = fg.add_edges([[0, 1], [1, 2]], [1.0, -1.0])
    >>> state = mean_field.init_state(fg, clamp={1: 1}, init="uniform")
    >>> state.free.tolist(), state.marginals[1].tolist()
    ([0, 2], [0.0, 1.0])
    >>> state = mean_field.step(fg, state)
    >>> state.marginals.round(4).tolist()
    [[0.2689, 0.7311], [0.0, 1.0], [0.7311, 0.2689]]
    """
    cg = _check_graph(fg)
    return _initial_state(fg, cg, clamp, init, seed)


def step(
    fg: FactorGraph,
    state: MeanFieldState,
    *,
    schedule: str = "sequential",
    damping: float | None = None,
    beta: float = 1.0,
) -> MeanFieldState:
    """One mean-field sweep; returns a new state and leaves ``state`` unchanged.

    Parameters
    ----------
    fg : FactorGraph
        The graph ``state`` was initialised for.
    state : MeanFieldState
        From :func:`init_state` or a previous :func:`step`.
    schedule, damping, beta
        As in :func:`run`.

    Returns
    -------
    MeanFieldState
        ``max_change`` holds the largest absolute change of a marginal.

    Raises
    ------
    TypeError
        If ``state`` is not a MeanFieldState.
    ValueError
        If ``state`` does not fit ``fg``, or on bad ``schedule``, ``damping``
        or ``beta``.
    """
    cg, schedule, _, _, damping, beta = _check_run_args(fg, schedule, 1, 0.0, damping, beta)
    if not isinstance(state, MeanFieldState):
        raise TypeError(f"state must be a MeanFieldState, got {type(state).__name__}")
    want = (cg.n_variables, cg.max_cardinality)
    if np.shape(state.marginals) != want:
        got = np.shape(state.marginals)
        raise ValueError(f"state.marginals must have shape {want} for this graph, got {got}")
    check_marginals(state.marginals, "state.marginals", cg)  # checks only: no renormalising
    q = np.array(state.marginals, dtype=np.float64)
    free = as_index_array(state.free, "state.free")
    if free.size and (free.min() < 0 or free.max() >= cg.n_variables):
        raise ValueError(
            f"state.free must hold variable ids of this graph (0..{cg.n_variables - 1}), "
            f"got {int(free.min() if free.min() < 0 else free.max())}"
        )
    if np.any(np.diff(free) <= 0):
        raise ValueError("state.free must hold distinct variable ids in ascending order")
    scratch = np.zeros_like(q) if schedule == "parallel" else np.zeros(q.shape[1])
    change = _sweep(schedule, q, free, cg.kernel_graph, fg.theta, beta, damping, scratch)
    return MeanFieldState(marginals=q, free=free, max_change=float(change))


def lower_bound(fg: FactorGraph, marginals: ArrayLike, *, beta: float = 1.0) -> float:
    """The variational lower bound ``-beta E_q[E] + H(q)`` of a product distribution.

    Parameters
    ----------
    fg : FactorGraph
    marginals : array_like of shape (n_variables, max_cardinality)
        ``q_i(s)`` per row, zero padded, rows summing to 1 (within 1e-8).
    beta : float, default 1.0
        Inverse temperature (> 0).

    Returns
    -------
    float
        A lower bound on ``log Z_beta`` (equal to it exactly when ``q`` is
        the true distribution, which requires independent variables). With
        one-hot rows for some variables it bounds the log partition sum over
        the others with those fixed.

    Raises
    ------
    ValueError
        If ``marginals`` has the wrong shape or does not hold distributions,
        or ``beta <= 0``.

    Examples
    --------
    >>> import numpy as np, pgm
    >>> from pgm.inference import mean_field
    >>> fg = pgm.FactorGraph()
    >>> _ = fg.add_variables("x", 1, domain="binary")
    >>> bool(np.isclose(mean_field.lower_bound(fg, [[0.5, 0.5]]), np.log(2.0)))
    True
    """
    cg = _check_graph(fg)
    beta = check_positive_float(beta, "beta")
    q = check_marginals(marginals, "marginals", cg)
    return float(_k.log_z_bound(q, cg.kernel_graph, fg.theta, beta))


# ---------------------------------------------------------------------------- helpers


def _sweep(schedule, q, free, g, theta, beta, damping, scratch) -> float:
    if schedule == "sequential":
        return _k.sequential_step(q, free, g, theta, beta, damping, scratch)
    return _k.parallel_step(q, free, g, theta, beta, damping, scratch)


def _check_graph(fg) -> CompiledGraph:
    return check_graph(fg).compile()


def _check_run_args(fg, schedule, max_iter, tol, damping, beta):
    cg = _check_graph(fg)
    if schedule not in _DEFAULT_DAMPING:
        raise ValueError(f"schedule must be 'sequential' or 'parallel', got {schedule!r}")
    max_iter = check_positive_int(max_iter, "max_iter")
    tol = check_positive_float(tol, "tol", allow_zero=True)
    if damping is None:
        damping = _DEFAULT_DAMPING[schedule]
    if isinstance(damping, bool) or not isinstance(damping, numbers.Real):
        raise ValueError(f"damping must be a real number in [0, 1), got {damping!r}")
    damping = float(damping)
    if not 0.0 <= damping < 1.0:
        raise ValueError(f"damping must be in [0, 1), got {damping}")
    beta = check_positive_float(beta, "beta")
    return cg, schedule, max_iter, tol, damping, beta


def _check_clamp(clamp, cg: CompiledGraph) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``clamp``; return (ids, state indices), both int64 and sorted by id."""
    return check_clamp(cg, clamp)


def _initial_state(fg, cg, clamp, init, seed) -> MeanFieldState:
    clamp_ids, clamp_index = _check_clamp(clamp, cg)
    n, max_k = cg.n_variables, cg.max_cardinality
    # the marginals, their padding mask and a parallel sweep's scratch copy
    check_allocation(17 * n * max_k, f"mean-field marginals of shape ({n}, {max_k})")
    pad = padding_mask(cg)
    if isinstance(init, str):
        if init != "uniform":
            raise ValueError(f"init must be None, 'uniform' or an array of marginals, got {init!r}")
        q = np.where(pad, 0.0, 1.0 / cg.cardinality[:, None].astype(np.float64))
    elif init is None:
        rng = as_generator(seed)
        # normalised standard exponentials are a flat Dirichlet draw per row
        draws = np.where(pad, 0.0, rng.standard_exponential((n, max_k)))
        q = draws / draws.sum(axis=1, keepdims=True) if n else draws
    else:
        q = check_marginals(init, "init", cg)
    q = np.ascontiguousarray(q, dtype=np.float64)
    q[clamp_ids] = 0.0
    q[clamp_ids, clamp_index] = 1.0
    free = np.setdiff1d(np.arange(n, dtype=np.int64), clamp_ids).astype(np.int64)
    return MeanFieldState(marginals=q, free=free, max_change=np.inf)
