r"""Loopy belief propagation (sum-product and max-product) on any factor graph.

BP passes messages between the factors of a graph and its variables until
they agree. On a graph whose factor graph is a tree it is exact: the node
marginals, the pair and table-factor marginals and the Bethe estimate of
``log Z`` equal the true ones, and max-product gives exact max-marginals and
the MAP state. On loopy graphs it is an approximation whose fixed points are
the stationary points of the Bethe free energy (Yedidia, Freeman and Weiss
2005); it is usually accurate when couplings are weak or loops long, and may
fail to converge when they are strong (damping helps).

Every kind of term of a :class:`~pgm.FactorGraph` is used as it is: unary
terms become variable potentials, every distinct pair of pairwise terms
(``add_pairwise`` blocks and ``add_edges``, parallel terms between the same
two variables merged) one pair factor, and every ``add_factor`` table one
factor. Everything runs in log space (max-shifted log-sum-exp), so strong
parameters neither overflow nor underflow.

Public functions
----------------
run
    Iterate to convergence; returns a :class:`BeliefPropagationResult`.

References
----------
.. [1] J. S. Yedidia, W. T. Freeman and Y. Weiss, "Constructing free-energy
   approximations and generalized belief propagation algorithms", IEEE
   Trans. Information Theory 51(7), 2005 (Bethe free energy, section II–III).
.. [2] D. Koller and N. Friedman, "Probabilistic Graphical Models", MIT Press,
   2009, sections 10.2–10.3 (sum-product, max-product on clique trees) and
   11.3 (loopy BP, damping, schedules).
.. [3] M. J. Wainwright and M. I. Jordan, "Graphical models, exponential
   families, and variational inference", 2008, section 4.1.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from pgm._validation import check_clamp, check_positive_float, check_positive_int
from pgm.compiled import CompiledGraph
from pgm.graph import FactorGraph
from pgm.inference import _bp_kernels as _k
from pgm.inference.exact import PairwiseMarginals

__all__ = ["BeliefPropagationResult", "run"]

#: Default damping per schedule: sequential updates rarely oscillate; parallel
#: (flooding) updates do on loopy graphs unless damped.
_DEFAULT_DAMPING = {"sequential": 0.0, "parallel": 0.5}
_MODES = ("sum", "max")


@dataclass(frozen=True)
class BeliefPropagationResult:
    """Outcome of :func:`run`; arrays are read-only.

    Attributes
    ----------
    marginals : ndarray of shape (n_variables, max_cardinality)
        Node beliefs in the layout of ``exact.marginals`` (row ``i``, state
        index ``s`` in value order, zero padded beyond ``k_i``; a clamped
        variable's row is one-hot). ``mode="sum"``: approximate marginals,
        rows sum to 1. ``mode="max"``: max-marginals scaled to a row maximum
        of 1, i.e. ``exp(-(min_{x: x_i = s} E(x) - min_x E(x)))`` on a tree.
    log_z : float or None
        ``mode="sum"``: minus the Bethe free energy of the final beliefs, the
        Bethe estimate of ``log Z`` (with ``clamp``: of the log of the sum over
        the free variables, as ``exact.log_partition(fg, clamp=...)``); exact
        at convergence on a tree. ``None`` for ``mode="max"``.
    converged : bool
        Whether the largest change of a (log) message in the last iteration
        was below ``tol``.
    n_iter : int
        Iterations performed (``1 <= n_iter <= max_iter``).
    max_change : float
        Largest absolute change of a log message in the last iteration.
    mode : str
        ``"sum"`` or ``"max"``.
    map_state : ndarray of shape (n_variables,), int64, or None
        ``mode="max"``: each variable's value with the largest max-marginal
        (first in value order among ties); the MAP state when it is unique
        and BP is exact (trees), a heuristic decoding on loopy graphs.
        ``None`` for ``mode="sum"``.
    map_energy : float or None
        ``E(map_state)``, recomputed from the graph; ``None`` for ``mode="sum"``.
    """

    marginals: NDArray[np.float64]
    log_z: float | None
    converged: bool
    n_iter: int
    max_change: float
    mode: str
    map_state: NDArray[np.int64] | None = None
    map_energy: float | None = None
    _context: tuple = field(default=(), repr=False, compare=False)

    def __post_init__(self):
        for name in ("marginals", "map_state"):
            value = getattr(self, name)
            if value is not None:
                value.flags.writeable = False

    def pairwise_marginals(self) -> PairwiseMarginals:
        """Beliefs of the pair factors, in the layout of ``exact.pairwise_marginals``.

        Returns
        -------
        PairwiseMarginals
            ``.pairs`` (n_pairs, 2): the distinct pairs of pairwise terms, each
            ``(min, max)``, sorted (the default pairs of
            ``exact.pairwise_marginals``); ``.marginals`` (n_pairs, max_k,
            max_k): ``b(x_i = s, x_j = t)`` over state indices, zero padded;
            each sums to 1 (``mode="sum"``) or has maximum 1 (``mode="max"``).
            Memory is ``n_pairs * max_k**2`` floats.
        """
        m, phi, g, weight, theta, pairs, _ = self._context
        max_k = phi.shape[1]
        out = np.empty((pairs.shape[0], max_k, max_k))
        _k.pair_beliefs(m, phi, g, weight, self.mode == "max", out)
        out.flags.writeable = False
        return PairwiseMarginals(pairs=pairs, marginals=out)

    def factor_marginals(self) -> list[NDArray[np.float64]]:
        """Beliefs of the table factors, one array per ``add_factor`` call, in order.

        Returns
        -------
        list of ndarray
            Entry ``f`` has the shape of factor ``f``'s energy table (its
            scope's cardinalities, axes in scope order, state indices) and
            holds ``b_f(x_scope)``: sum 1 (``mode="sum"``) or maximum 1
            (``mode="max"``).
        """
        m, phi, g, _, theta, _, shapes = self._context
        flat = np.zeros(theta.shape[0])
        _k.table_beliefs(m, phi, g, theta, self.mode == "max", flat)
        out = []
        for f, shape in enumerate(shapes):
            start = int(g.table_offset[f])
            block = flat[start : start + math.prod(shape)].reshape(shape).copy()
            block.flags.writeable = False
            out.append(block)
        return out


def run(
    fg: FactorGraph,
    *,
    max_iter: int = 500,
    tol: float = 1e-8,
    damping: float | None = None,
    clamp: Mapping | None = None,
    mode: str = "sum",
    schedule: str = "sequential",
) -> BeliefPropagationResult:
    r"""Run loopy belief propagation to a fixed point.

    Parameters
    ----------
    fg : FactorGraph
        Any discrete factor graph (binary, spin and categorical variables;
        unary, pairwise and table terms).
    max_iter : int, default 500
        Maximum number of iterations (>= 1); one iteration updates every
        factor-to-variable message once.
    tol : float, default 1e-8
        Converged when the largest absolute change of any log message in one
        iteration is below ``tol`` (>= 0). A change of ``tol`` in log
        messages moves beliefs by a relative ``tol`` at most per message.
    damping : float in [0, 1), optional
        Each new log message becomes ``(1 - damping) * update + damping *
        old`` (then renormalised). Defaults to 0 for ``"sequential"`` and 0.5
        for ``"parallel"``. Damping does not move the fixed points.
    clamp : dict of int to value, optional
        ``{variable id: value}`` of observed variables (values in each
        domain). BP then approximates ``p(x_free | x_clamped)``; clamped rows
        of ``marginals`` are one-hot.
    mode : {"sum", "max"}, default "sum"
        Sum-product (marginals, Bethe ``log Z``) or max-product
        (max-marginals and a decoded ``map_state``).
    schedule : {"sequential", "parallel"}, default "sequential"
        ``"sequential"``: factors one at a time, each using the messages
        already updated in this iteration, in order (pairs sorted by
        ``(min, max)`` id, then table factors in creation order) on odd
        iterations and in reverse order on even ones. ``"parallel"``: every message from
        the previous iteration's messages (flooding).

    Returns
    -------
    BeliefPropagationResult
        ``.marginals``, ``.log_z``, ``.converged``, ``.n_iter``,
        ``.map_state``; ``.pairwise_marginals()`` and ``.factor_marginals()``
        give the factor beliefs.

    Raises
    ------
    TypeError
        If ``fg`` is not a FactorGraph or ``clamp`` is not a mapping.
    ValueError
        On ``max_iter < 1``, ``tol < 0`` (or not finite), ``damping`` outside
        [0, 1), an unknown ``mode`` or ``schedule``, a clamp id that is not a
        variable or a clamp value outside its variable's domain.

    Notes
    -----
    With ``phi_i`` the log unary potentials and ``psi_f`` the log factor
    potentials (minus the energies), the factor-to-variable messages are

    .. math::

        m_{f \to i}(x_i) = \log \sum_{x_{f \setminus i}} \exp\Bigl(\psi_f(x_f)
            + \sum_{j \in f \setminus i} n_{j \to f}(x_j)\Bigr),\qquad
        n_{j \to f} = \phi_j + \sum_{g \ni j,\, g \ne f} m_{g \to j}

    (``max`` instead of the sum for max-product), each normalised to a
    maximum of 0. Beliefs are ``b_i ∝ exp(phi_i + sum_f m_{f->i})``. A
    table factor's messages cost O(r^2 * table size) per iteration (``r``
    its scope size), a pair's O(k_i k_j). Exactness needs the *factor graph*
    to be a tree: a pairwise term and a table factor over the same two
    variables, or two table factors sharing two variables, form a loop.

    Examples
    --------
    >>> import numpy as np, pgm
    >>> from pgm.inference import belief_propagation, exact
    >>> fg = pgm.FactorGraph()
    >>> x = fg.add_variables("x", 3, domain="spin")
    >>> _ = fg.add_unary(x, [0.5, 0.0, -0.2])
    >>> _ = fg.add_edges([[0, 1], [1, 2]], [1.0, -0.5])
    >>> result = belief_propagation.run(fg)
    >>> bool(result.converged), bool(np.allclose(result.marginals, exact.marginals(fg)))
    (True, True)
    >>> bool(np.isclose(result.log_z, exact.log_partition(fg)))
    True
    >>> belief_propagation.run(fg, mode="max").map_state.tolist()
    [1, 1, -1]
    """
    cg = _check_graph(fg)
    max_iter = check_positive_int(max_iter, "max_iter")
    tol = check_positive_float(tol, "tol", allow_zero=True)
    if mode not in _MODES:
        raise ValueError(f"mode must be 'sum' or 'max', got {mode!r}")
    if schedule not in _DEFAULT_DAMPING:
        raise ValueError(f"schedule must be 'sequential' or 'parallel', got {schedule!r}")
    damping = _check_damping(_DEFAULT_DAMPING[schedule] if damping is None else damping)
    clamp_ids, clamp_index = check_clamp(cg, clamp)

    theta = np.array(fg.theta, dtype=np.float64)
    g, weight, pairs, shapes = _prepare(cg, theta, clamp_ids)
    phi = np.empty((cg.n_variables, cg.max_cardinality))
    _k.log_unary_potentials(cg.kernel_graph, theta, phi)
    if clamp_ids.size:
        keep = phi[clamp_ids, clamp_index]
        phi[clamp_ids] = -np.inf
        phi[clamp_ids, clamp_index] = keep

    max_product = mode == "max"
    m = np.zeros(int(g.slot_offset[-1]))
    lb = np.empty_like(phi)
    other = np.empty_like(m) if schedule == "parallel" else m
    converged, change, n_iter = False, np.inf, 0
    while n_iter < max_iter:
        if schedule == "parallel":
            change = _k.parallel_step(m, phi, g, weight, theta, max_product, damping, lb, other)
            m, other = other, m
        else:
            backward = n_iter % 2 == 1
            change = _k.sequential_step(
                m, phi, g, weight, theta, max_product, damping, lb, backward
            )
        n_iter += 1
        if change < tol:
            converged = True
            break

    _k.log_beliefs(m, phi, g, lb)
    top = lb.max(axis=1, keepdims=True) if lb.size else lb
    if max_product:
        marginals = np.exp(lb - top)
    else:
        b = np.exp(lb - top)
        marginals = b / b.sum(axis=1, keepdims=True) if b.size else b
    log_z = map_state = map_energy = None
    if max_product:
        index = np.argmax(lb, axis=1) if lb.size else np.zeros(0, dtype=np.int64)
        map_state = cg.indices_to_values(index)
        map_energy = float(fg.energy(map_state)) if cg.n_variables else 0.0
    else:
        log_z = float(_k.bethe_log_z(m, phi, g, weight, theta))
    m.flags.writeable = False
    return BeliefPropagationResult(
        marginals=np.ascontiguousarray(marginals),
        log_z=log_z,
        converged=converged,
        n_iter=n_iter,
        max_change=float(change),
        mode=mode,
        map_state=map_state,
        map_energy=map_energy,
        _context=(m, phi, g, weight, theta, pairs, shapes),
    )


# ---------------------------------------------------------------------------- helpers


def _check_graph(fg) -> CompiledGraph:
    if not isinstance(fg, FactorGraph):
        raise TypeError(f"fg must be a pgm.FactorGraph, got {type(fg).__name__}")
    return fg.compile()


def _check_damping(damping) -> float:
    if isinstance(damping, bool) or not isinstance(damping, numbers.Real):
        raise ValueError(f"damping must be a real number in [0, 1), got {damping!r}")
    damping = float(damping)
    if not 0.0 <= damping < 1.0:  # NaN fails both comparisons
        raise ValueError(f"damping must be in [0, 1), got {damping}")
    return damping


def _prepare(cg: CompiledGraph, theta: np.ndarray, clamp_ids: np.ndarray):
    """The BP factor graph of ``cg``: (BPGraph, pair weights, pairs, table shapes)."""
    n = cg.n_variables
    i64 = np.int64
    if cg.n_edges:
        lo = np.minimum(cg.edge_i, cg.edge_j)
        hi = np.maximum(cg.edge_i, cg.edge_j)
        keys, inverse = np.unique(lo * n + hi, return_inverse=True)
        pair_a, pair_b = (keys // n).astype(i64), (keys % n).astype(i64)
        weight = np.bincount(inverse.ravel(), weights=theta[cg.edge_param], minlength=keys.size)
    else:
        pair_a = pair_b = np.zeros(0, dtype=i64)
        weight = np.zeros(0)
    pairs = np.stack([pair_a, pair_b], axis=1) if pair_a.size else np.zeros((0, 2), dtype=i64)
    pairs.flags.writeable = False
    slot_var = np.concatenate([pairs.ravel(), cg.scope]).astype(i64)
    slot_offset = np.zeros(slot_var.size + 1, dtype=i64)
    np.cumsum(cg.cardinality[slot_var], out=slot_offset[1:])
    var_indptr = np.zeros(n + 1, dtype=i64)
    np.cumsum(np.bincount(slot_var, minlength=n), out=var_indptr[1:])
    var_slots = np.argsort(slot_var, kind="stable").astype(i64)
    frozen = np.zeros(n, dtype=i64)
    frozen[clamp_ids] = 1
    g = _k.BPGraph(
        cardinality=cg.cardinality,
        state_offset=cg.state_offset,
        state_value=cg.state_value,
        pair_a=pair_a,
        pair_b=pair_b,
        scope_indptr=cg.scope_indptr,
        scope=cg.scope,
        table_offset=cg.table_offset,
        table_stride=cg.table_stride,
        slot_var=slot_var,
        slot_offset=slot_offset,
        var_indptr=var_indptr,
        var_slots=var_slots,
        frozen=frozen,
    )
    shapes = [
        tuple(int(c) for c in cg.cardinality[cg.scope[cg.scope_indptr[f] : cg.scope_indptr[f + 1]]])
        for f in range(cg.n_factors)
    ]
    return g, weight, pairs, shapes
