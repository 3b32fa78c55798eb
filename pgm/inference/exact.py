r"""Exact inference: enumeration of every joint state, or the junction tree.

Every public function takes ``method``:

- ``"enumerate"``: the Gray-code enumeration described below, for tiny models
  (cost ~ the number of joint states, whatever the graph);
- ``"junction_tree"``: :mod:`pgm.inference.junction_tree` (cost ~ the sum of
  the clique tables of an elimination order, min-fill or reverse
  Cuthill-McKee, so sparse graphs of hundreds of variables are exact);
  ``max_states`` does not apply, ``max_clique_states`` does;
- ``"auto"`` (default): :func:`choose_method` decides, and tells which it
  chose when called itself. It enumerates when the free variables' joint
  states are within ``max_states`` and either at most
  ``AUTO_ENUMERATE_STATES`` (no tree is built) or at most
  ``AUTO_COST_RATIO`` times the junction tree's total clique-table size (a
  clique entry costs several passes, an enumerated state one incremental
  update); otherwise it uses the junction tree, and falls back on
  enumeration when the tree is too wide. Both give the same answers to
  rounding (~1e-12 relative); only MAP ties may be broken differently.

Enumeration
-----------
``p(x) = exp(-E(x)) / Z`` is summed over all states of the free variables in
reflected mixed-radix Gray-code order (Knuth, TAOCP 7.2.1.1, Algorithm H), so
each step changes one variable by one state and the energy is updated from
its Markov blanket; the full energy is recomputed every ``chunk`` states to
bound rounding drift, and weights are accumulated in log space against a
running reference energy (no overflow or underflow of the result). Memory is
O(n_variables^2 + n_params): the state table is never materialised.

Public functions
----------------
log_partition
    ``log Z`` (optionally with some variables clamped).
marginals, pairwise_marginals, expectations
    Node marginals, joint distributions of variable pairs, and model
    expectations of the sufficient statistics (``E_model[stats]``).
log_likelihood, log_likelihood_gradient
    Mean log-likelihood of data over visible variables (hidden summed out)
    and its gradient ``E_data[stats] - E_model[stats]``.
map_state
    A lowest-energy state.

Every function refuses, with :class:`EnumerationTooLargeError`, to enumerate
more than ``max_states`` states (default :data:`DEFAULT_MAX_STATES`), and the
junction tree refuses, with :class:`~pgm.inference.junction_tree.TreewidthTooLargeError`
(a ``ValueError``), a clique table of more than ``max_clique_states`` entries;
under ``"auto"`` a model both refuse raises :class:`EnumerationTooLargeError`
naming both limits.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pgm._validation import check_clamp, check_numeric_dtype, values_to_indices
from pgm.compiled import CompiledGraph
from pgm.graph import FactorGraph, VariableGroup, check_graph
from pgm.inference import _exact_kernels as _k
from pgm.inference import junction_tree as _jt
from pgm.inference._kernels import state_energy
from pgm.inference.junction_tree import DEFAULT_MAX_CLIQUE_STATES, TreewidthTooLargeError

__all__ = [
    "DEFAULT_MAX_STATES",
    "DEFAULT_MAX_CLIQUE_STATES",
    "METHODS",
    "AUTO_ENUMERATE_STATES",
    "AUTO_COST_RATIO",
    "choose_method",
    "EnumerationTooLargeError",
    "PairwiseMarginals",
    "MapState",
    "log_partition",
    "marginals",
    "pairwise_marginals",
    "expectations",
    "log_likelihood",
    "log_likelihood_gradient",
    "map_state",
]

#: Default limit on the number of joint states one enumeration may visit
#: (2**26 ~ 6.7e7, a few seconds for a pairwise model).
DEFAULT_MAX_STATES = 2**26

#: States between two full energy recomputations (bounds the rounding drift of
#: the incremental energy to ~``_CHUNK`` additions).
_CHUNK = 4096

#: Accepted values of ``method=``.
METHODS = ("auto", "enumerate", "junction_tree")

#: ``method="auto"`` enumerates models with at most this many free joint
#: states without building a junction tree at all (enumerating 2**15 states
#: takes about as long as building a small tree in Python, ~0.5 ms).
AUTO_ENUMERATE_STATES = 2**15

#: ``method="auto"`` enumerates when the joint states are at most this many
#: times the junction tree's total clique-table size: an enumerated state
#: costs ~15-40 ns (docs/benchmarks/exact.md), a clique entry ~70-250 ns
#: (filling, two passes, marginals; docs/benchmarks/junction_tree.md).
AUTO_COST_RATIO = 8


class EnumerationTooLargeError(ValueError):
    """Raised when exact enumeration would visit more than ``max_states`` states."""


@dataclass(frozen=True)
class PairwiseMarginals:
    """Joint distributions of variable pairs; arrays are read-only.

    Attributes
    ----------
    pairs : ndarray of shape (n_pairs, 2), int64
        The variable ids ``(i, j)`` of each pair.
    marginals : ndarray of shape (n_pairs, max_cardinality, max_cardinality)
        ``marginals[p, s, t] = P(x_i = s, x_j = t)`` over state indices (value
        order), zero padded beyond each variable's cardinality; each
        ``marginals[p]`` sums to 1.
    """

    pairs: np.ndarray
    marginals: np.ndarray


@dataclass(frozen=True)
class MapState:
    """A lowest-energy state.

    Attributes
    ----------
    state : ndarray of shape (n_variables,), int64
        Values (0/1, -1/+1, 0..k-1), read-only.
    energy : float
        ``E(state)``, recomputed in full.
    """

    state: np.ndarray
    energy: float


# ---------------------------------------------------------------------- public API
def log_partition(
    fg: FactorGraph,
    *,
    clamp: dict | None = None,
    max_states: int = DEFAULT_MAX_STATES,
    method: str = "auto",
    max_clique_states: int = DEFAULT_MAX_CLIQUE_STATES,
) -> float:
    """Exact log partition function ``log Z = log sum_x exp(-E(x))``.

    Parameters
    ----------
    fg : FactorGraph
    clamp : dict of int to int, optional
        Variables held at given values; the sum then runs over the others
        only (``log sum_{x_free} exp(-E(x_free, x_clamped))``, the
        unnormalised log-probability of the clamped values).
    max_states : int, default DEFAULT_MAX_STATES
        Refuse to enumerate more joint states than this.
    method : {"auto", "enumerate", "junction_tree"}, default "auto"
        Enumeration, the junction tree, or the cheaper of the two (see the
        module docstring and :func:`choose_method`).
    max_clique_states : int, default DEFAULT_MAX_CLIQUE_STATES
        Junction tree only: refuse a clique table larger than this.

    Returns
    -------
    float

    Raises
    ------
    EnumerationTooLargeError
        If the free variables have more than ``max_states`` joint states
        (``method="enumerate"``, or ``"auto"`` when the junction tree refuses too).
    TreewidthTooLargeError
        ``method="junction_tree"`` on too wide a graph.
    ValueError
        On a bad ``clamp`` (unknown id, value outside the domain).

    Examples
    --------
    >>> import numpy as np, pgm
    >>> from pgm.inference import exact
    >>> fg = pgm.FactorGraph()
    >>> v = fg.add_variables("v", 2, domain="binary")
    >>> _ = fg.add_unary(v, [0.0, 0.0])
    >>> bool(np.isclose(exact.log_partition(fg), np.log(4)))
    True
    """
    cg, theta = _compile(fg)
    free, x = _clamp_arrays(fg, cg, clamp)
    tree = _pick(cg, free, method, max_states, max_clique_states)
    if tree is not None:
        return tree.log_partition(cg, theta, x)
    _check_size(cg, free, max_states, "the model")
    return float(_k.enumerate_log_z(free, x, cg.kernel_graph, theta, _CHUNK))


def marginals(
    fg: FactorGraph,
    *,
    clamp: dict | None = None,
    max_states: int = DEFAULT_MAX_STATES,
    method: str = "auto",
    max_clique_states: int = DEFAULT_MAX_CLIQUE_STATES,
) -> NDArray[np.float64]:
    """Exact node marginals ``P(x_i = s)``.

    Parameters
    ----------
    fg : FactorGraph
    clamp : dict of int to int, optional
        Condition on these variables' values (their rows are one-hot).
    max_states : int, default DEFAULT_MAX_STATES
    method : {"auto", "enumerate", "junction_tree"}, default "auto"
        Enumeration, the junction tree, or the cheaper of the two (see the
        module docstring and :func:`choose_method`).
    max_clique_states : int, default DEFAULT_MAX_CLIQUE_STATES
        Junction tree only: refuse a clique table larger than this.

    Returns
    -------
    ndarray of shape (n_variables, max_cardinality)
        Row ``i`` holds ``P(x_i = s)`` for state indices ``s`` in value order
        (spin: ``[P(-1), P(+1)]``), zero padded beyond ``k_i``; rows sum to 1.

    Raises
    ------
    EnumerationTooLargeError
    """
    moments = _moments(
        fg, clamp=clamp, max_states=max_states, method=method, max_clique_states=max_clique_states
    )
    return moments["node"]


def pairwise_marginals(
    fg: FactorGraph,
    pairs: ArrayLike | None = None,
    *,
    clamp: dict | None = None,
    max_states: int = DEFAULT_MAX_STATES,
    method: str = "auto",
    max_clique_states: int = DEFAULT_MAX_CLIQUE_STATES,
) -> PairwiseMarginals:
    """Exact joint distributions ``P(x_i = s, x_j = t)`` of variable pairs.

    Parameters
    ----------
    fg : FactorGraph
    pairs : array_like of shape (n_pairs, 2), optional
        Pairs of distinct variable ids. Default: the distinct pairwise edges
        of the graph (pairs sharing an ``add_pairwise``/``add_edges`` term),
        each as ``(min, max)``, sorted.
    clamp : dict of int to int, optional
    max_states : int, default DEFAULT_MAX_STATES
    method : {"auto", "enumerate", "junction_tree"}, default "auto"
        Enumeration, the junction tree, or the cheaper of the two (see the
        module docstring and :func:`choose_method`).
    max_clique_states : int, default DEFAULT_MAX_CLIQUE_STATES
        Junction tree only: refuse a clique table larger than this.

    Returns
    -------
    PairwiseMarginals
        ``.pairs`` (n_pairs, 2) and ``.marginals`` (n_pairs, max_k, max_k).

    Raises
    ------
    ValueError
        If ``pairs`` has the wrong shape, an id out of range or a pair
        ``(i, i)``.
    EnumerationTooLargeError
    """
    cg, _ = _compile(fg)
    if pairs is None:
        if cg.n_edges:
            lo = np.minimum(cg.edge_i, cg.edge_j)
            hi = np.maximum(cg.edge_i, cg.edge_j)
            pairs = np.unique(np.stack([lo, hi], axis=1), axis=0)
        else:
            pairs = np.zeros((0, 2), dtype=np.int64)
    else:
        pairs = _check_pairs(pairs, cg.n_variables)
    moments = _moments(
        fg,
        clamp=clamp,
        max_states=max_states,
        pairs=pairs,
        method=method,
        max_clique_states=max_clique_states,
    )
    pairs = np.array(pairs, dtype=np.int64)
    pairs.flags.writeable = False
    return PairwiseMarginals(pairs=pairs, marginals=moments["pair"])


def expectations(
    fg: FactorGraph,
    *,
    clamp: dict | None = None,
    max_states: int = DEFAULT_MAX_STATES,
    method: str = "auto",
    max_clique_states: int = DEFAULT_MAX_CLIQUE_STATES,
) -> dict[str, NDArray[np.float64]]:
    """Model expectations ``E_p[stats]`` of the sufficient statistics.

    With ``E(x) = -theta . stats(x)`` (see ``FactorGraph.flat_statistics``),
    ``d log Z / d theta = E_p[stats]``. Computed in one enumeration from node
    marginals (unary terms), second moments ``E[x_i x_j]`` (pairwise terms)
    and table-factor marginals (table entries, whose statistic is minus the
    indicator of the entry).

    Parameters
    ----------
    fg : FactorGraph
    clamp : dict of int to int, optional
        Expectations under ``p(x_free | x_clamped)`` instead.
    max_states : int, default DEFAULT_MAX_STATES
    method : {"auto", "enumerate", "junction_tree"}, default "auto"
        Enumeration, the junction tree, or the cheaper of the two (see the
        module docstring and :func:`choose_method`).
    max_clique_states : int, default DEFAULT_MAX_CLIQUE_STATES
        Junction tree only: refuse a clique table larger than this.

    Returns
    -------
    dict of str to ndarray
        Keyed and shaped like ``fg.parameters()``.

    Raises
    ------
    EnumerationTooLargeError
    """
    moments = _moments(
        fg,
        clamp=clamp,
        max_states=max_states,
        edges=True,
        tables=True,
        method=method,
        max_clique_states=max_clique_states,
    )
    cg = fg.compile()
    flat = _flat_expectations(cg, moments["node"], moments["edge"], moments["table"])
    return fg.unflatten(flat)


def log_likelihood(
    fg: FactorGraph,
    data: ArrayLike,
    visible: ArrayLike | VariableGroup | None = None,
    *,
    max_states: int = DEFAULT_MAX_STATES,
    method: str = "auto",
    max_clique_states: int = DEFAULT_MAX_CLIQUE_STATES,
) -> float:
    """Mean exact log-likelihood of data rows, hidden variables summed out.

    ``mean_r log p(x_visible = data[r]) = mean_r log sum_h exp(-E(data[r], h)) - log Z``.

    Parameters
    ----------
    fg : FactorGraph
    data : array_like of shape (n_rows, n_visible)
        Values in each visible variable's domain (column ``c`` belongs to
        variable ``visible[c]``).
    visible : array_like of int, VariableGroup or None, default None
        Distinct ids of the observed variables; ``None`` means all variables.
    max_states : int, default DEFAULT_MAX_STATES
        Limit for the joint enumeration (``log Z``) and, separately, for the
        data term: ``n_rows`` times the hidden variables' joint states.
    method : {"auto", "enumerate", "junction_tree"}, default "auto"
        Enumeration, the junction tree, or the cheaper of the two (see the
        module docstring; chosen on the whole model, and enumeration counts
        as impossible when the data term exceeds ``max_states``).
    max_clique_states : int, default DEFAULT_MAX_CLIQUE_STATES
        Junction tree only: refuse a clique table larger than this.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        On a bad ``visible`` (ids out of range or repeated), ``data`` of the
        wrong shape, non-integral or NaN entries, or values outside a domain.
    EnumerationTooLargeError
    """
    cg, theta = _compile(fg)
    vis, hidden, rows = _check_data(fg, cg, data, visible)
    tree = _pick(
        cg, np.arange(cg.n_variables), method, max_states, max_clique_states, hidden, rows.shape[0]
    )
    if tree is not None:
        given = _jt.build_from_compiled(cg, np.sort(vis), max_clique_states=max_clique_states)
        order = np.argsort(vis)
        row_log_z = given.rows_log_z(cg, theta, np.ascontiguousarray(rows[:, order]), vis[order])
        return float(np.mean(row_log_z) - tree.log_partition(cg, theta))
    _check_size(cg, np.arange(cg.n_variables), max_states, "the model")
    _check_rows_size(cg, hidden, rows.shape[0], max_states)
    g = cg.kernel_graph
    log_z = _k.enumerate_log_z(
        np.arange(cg.n_variables, dtype=np.int64),
        np.zeros(cg.n_variables, np.int64),
        g,
        theta,
        _CHUNK,
    )
    row_log_z = np.empty(rows.shape[0], dtype=np.float64)
    _k.rows_log_z(rows, vis, hidden, g, theta, _CHUNK, row_log_z)
    return float(np.mean(row_log_z) - log_z)


def log_likelihood_gradient(
    fg: FactorGraph,
    data: ArrayLike,
    visible: ArrayLike | VariableGroup | None = None,
    *,
    max_states: int = DEFAULT_MAX_STATES,
    method: str = "auto",
    max_clique_states: int = DEFAULT_MAX_CLIQUE_STATES,
) -> dict[str, NDArray[np.float64]]:
    """Exact gradient of :func:`log_likelihood` with respect to every parameter.

    ``d/d theta mean_r log p(v_r) = mean_r E_{p(h | v_r)}[stats] - E_p[stats]``
    (data minus model statistics; hidden variables are summed out under their
    posterior given each row).

    Parameters
    ----------
    fg, data, visible, max_states, method, max_clique_states
        As in :func:`log_likelihood`.

    Returns
    -------
    dict of str to ndarray
        Keyed and shaped like ``fg.parameters()``.

    Raises
    ------
    ValueError, EnumerationTooLargeError
        As :func:`log_likelihood`.
    """
    cg, theta = _compile(fg)
    vis, hidden, rows = _check_data(fg, cg, data, visible)
    tree = _pick(
        cg, np.arange(cg.n_variables), method, max_states, max_clique_states, hidden, rows.shape[0]
    )
    if tree is not None:
        given = _jt.build_from_compiled(cg, np.sort(vis), max_clique_states=max_clique_states)
        order = np.argsort(vis)
        node, edge, table, _ = given.rows_moments(
            cg, theta, np.ascontiguousarray(rows[:, order]), vis[order]
        )
        n_rows = rows.shape[0]
        data_stats = _flat_expectations(cg, node / n_rows, edge / n_rows, table / n_rows)
        model = tree.moments(cg, theta)
        model_stats = _flat_expectations(cg, model["node"], model["edge"], model["table"])
        return fg.unflatten(data_stats - model_stats)
    _check_size(cg, np.arange(cg.n_variables), max_states, "the model")
    _check_rows_size(cg, hidden, rows.shape[0], max_states)
    node = np.empty((cg.n_variables, cg.max_cardinality))
    edge = np.empty(cg.n_edges)
    table = np.empty(cg.n_params)
    row_log_z = np.empty(rows.shape[0])
    _k.rows_moments(
        rows,
        vis,
        hidden,
        cg.kernel_graph,
        theta,
        _CHUNK,
        cg.edge_i,
        cg.edge_j,
        node,
        edge,
        table,
        row_log_z,
    )
    n_rows = rows.shape[0]
    data_stats = _flat_expectations(cg, node / n_rows, edge / n_rows, table / n_rows)
    model = _moments(fg, clamp=None, max_states=max_states, edges=True, tables=True)
    model_stats = _flat_expectations(cg, model["node"], model["edge"], model["table"])
    return fg.unflatten(data_stats - model_stats)


def map_state(
    fg: FactorGraph,
    *,
    clamp: dict | None = None,
    max_states: int = DEFAULT_MAX_STATES,
    method: str = "auto",
    max_clique_states: int = DEFAULT_MAX_CLIQUE_STATES,
) -> MapState:
    """A lowest-energy (most probable) state, by enumeration.

    Parameters
    ----------
    fg : FactorGraph
    clamp : dict of int to int, optional
        Minimise over the other variables only.
    max_states : int, default DEFAULT_MAX_STATES
    method : {"auto", "enumerate", "junction_tree"}, default "auto"
        Enumeration, the junction tree, or the cheaper of the two (see the
        module docstring and :func:`choose_method`).
    max_clique_states : int, default DEFAULT_MAX_CLIQUE_STATES
        Junction tree only: refuse a clique table larger than this.

    Returns
    -------
    MapState
        ``.state`` (values, shape (n_variables,)) and its ``.energy``. Among
        exact ties, enumeration returns the first state met in Gray-code
        order, the junction tree any one of them.

    Raises
    ------
    EnumerationTooLargeError
    """
    cg, theta = _compile(fg)
    free, x = _clamp_arrays(fg, cg, clamp)
    tree = _pick(cg, free, method, max_states, max_clique_states)
    if tree is not None:
        best = tree.map_state(cg, theta, x)
    else:
        _check_size(cg, free, max_states, "the model")
        best = np.zeros(cg.n_variables, dtype=np.int64)
        _k.enumerate_min(free, x, cg.kernel_graph, theta, _CHUNK, best)
    energy = float(state_energy(best, cg.kernel_graph, theta))
    state = cg.indices_to_values(best[None, :])[0] if cg.n_variables else best
    state.flags.writeable = False
    return MapState(state=state, energy=energy)


def choose_method(
    fg: FactorGraph,
    *,
    clamp: dict | None = None,
    max_states: int = DEFAULT_MAX_STATES,
    max_clique_states: int = DEFAULT_MAX_CLIQUE_STATES,
) -> str:
    """The method ``method="auto"`` uses for this model: ``"enumerate"`` or ``"junction_tree"``.

    Enumerate when the free variables' joint states are within
    ``max_states`` and either at most :data:`AUTO_ENUMERATE_STATES` or at
    most :data:`AUTO_COST_RATIO` times the junction tree's total clique-table
    size; else the junction tree; enumeration again when the tree is too wide
    but the states are within ``max_states``.

    Parameters
    ----------
    fg : FactorGraph
    clamp : dict of int to int, optional
    max_states, max_clique_states : int
        As in :func:`log_partition`.

    Returns
    -------
    str

    Raises
    ------
    EnumerationTooLargeError
        When neither method would accept the model (the message names both
        limits and the treewidth found).

    Examples
    --------
    >>> import numpy as np, pgm
    >>> from pgm.inference import exact
    >>> fg = pgm.FactorGraph()
    >>> v = fg.add_variables("v", 100, domain="spin")
    >>> _ = fg.add_edges(np.c_[np.arange(99), np.arange(1, 100)], np.ones(99))
    >>> exact.choose_method(fg)
    'junction_tree'
    """
    cg, _ = _compile(fg)
    free, _ = _clamp_arrays(fg, cg, clamp)
    tree = _pick(cg, free, "auto", max_states, max_clique_states)
    return "enumerate" if tree is None else "junction_tree"


# ---------------------------------------------------------------------- internals
def _n_states(cg: CompiledGraph, ids: np.ndarray) -> float:
    """log10 of the joint states of ``ids``."""
    return float(np.sum(np.log10(cg.cardinality[ids]))) if ids.size else 0.0


def _pick(cg, free, method, max_states, max_clique_states, hidden=None, n_rows=0):
    """The junction tree to use for ``free`` (others clamped), or None to enumerate.

    ``hidden``/``n_rows``: the data term of a likelihood, whose enumeration
    must also fit in ``max_states`` for ``"auto"`` to enumerate.
    """
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "enumerate":
        return None
    limit = _jt.check_max_clique_states(max_clique_states)
    clamped = np.setdiff1d(np.arange(cg.n_variables, dtype=np.int64), free)
    if method == "junction_tree":
        return _jt.build_from_compiled(cg, clamped, max_clique_states=limit)
    states_limit = _check_max_states(max_states)
    log10 = _n_states(cg, free)
    can_enumerate = True
    try:
        _check_size(cg, free, states_limit, "the model")
        if hidden is not None:
            _check_rows_size(cg, hidden, n_rows, states_limit)
    except EnumerationTooLargeError as err:
        can_enumerate, refusal = False, err
    if can_enumerate and log10 <= math.log10(AUTO_ENUMERATE_STATES):
        return None
    try:
        tree = _jt.build_from_compiled(cg, clamped, max_clique_states=limit)
    except TreewidthTooLargeError as err:
        if can_enumerate:
            return None
        raise EnumerationTooLargeError(f"{refusal}; and the {err}") from err
    if can_enumerate and log10 <= math.log10(AUTO_COST_RATIO * max(tree.total_clique_states, 1)):
        return None
    return tree


def _compile(fg: FactorGraph) -> tuple[CompiledGraph, np.ndarray]:
    fg = check_graph(fg)
    return fg.compile(), np.ascontiguousarray(fg.theta, dtype=np.float64)


def _check_max_states(max_states) -> int:
    if isinstance(max_states, bool) or not isinstance(max_states, numbers.Integral):
        raise ValueError(f"max_states must be a positive integer, got {max_states!r}")
    if max_states < 1:
        raise ValueError(f"max_states must be a positive integer, got {max_states}")
    return int(max_states)


def _count_text(cardinality: np.ndarray) -> str:
    """The number of joint states, exactly when it is printable, else as 10^x."""
    log10 = float(np.sum(np.log10(cardinality))) if cardinality.size else 0.0
    if log10 < 30:
        return f"{math.prod(int(k) for k in cardinality):,}"
    return f"about 10^{log10:.1f}"


def _check_size(cg: CompiledGraph, free: np.ndarray, max_states, what: str) -> None:
    """Raise EnumerationTooLargeError when ``free`` has more than ``max_states`` states."""
    limit = _check_max_states(max_states)
    card = cg.cardinality[free]
    log10 = float(np.sum(np.log10(card))) if card.size else 0.0
    # compare in log10 first (no overflow), exactly near the boundary
    if log10 > math.log10(limit) + 1e-9 or (
        log10 > math.log10(limit) - 1e-6 and math.prod(int(k) for k in card) > limit
    ):
        raise EnumerationTooLargeError(
            f"exact enumeration of {what} would visit {_count_text(card)} joint states "
            f"({free.shape[0]} variables), more than max_states={limit:,}; pass a larger "
            f"max_states= to allow it, or use an approximate method (gibbs, mean_field, ais)"
        )


def _check_rows_size(cg: CompiledGraph, hidden: np.ndarray, n_rows: int, max_states) -> None:
    """Refuse when ``n_rows`` times the hidden variables' joint states exceed ``max_states``."""
    limit = _check_max_states(max_states)
    card = cg.cardinality[hidden]
    log10 = float(np.sum(np.log10(card))) if card.size else 0.0
    if log10 + math.log10(n_rows) > math.log10(limit) + 1e-9 or (
        log10 + math.log10(n_rows) > math.log10(limit) - 1e-6
        and n_rows * math.prod(int(k) for k in card) > limit
    ):
        raise EnumerationTooLargeError(
            f"summing out the hidden variables of {n_rows:,} data rows would visit "
            f"{n_rows:,} x {_count_text(card)} states ({hidden.shape[0]} hidden variables), "
            f"more than max_states={limit:,}; pass a larger max_states= or fewer rows"
        )


def _value_indices(cg: CompiledGraph, ids: np.ndarray, values: np.ndarray, name: str, labels):
    """Map integer ``values`` (..., len(ids)) of variables ``ids`` to state indices.

    ``labels(pos)`` names the offending entry for the error message.
    """
    return values_to_indices(
        values,
        cg.domain_kind[ids],
        cg.cardinality[ids],
        name,
        lambda pos: (labels(pos), int(ids[pos[-1]])),
    )


def _as_integers(value, name: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype == bool:
        arr = arr.astype(np.int64)
    check_numeric_dtype(arr, name, integer=True)
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite, found NaN or infinite entries")
        if np.any(arr != np.round(arr)):
            raise ValueError(f"{name} must hold integer values, got non-integral entries")
    elif not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must hold integer values, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def _check_ids(value, n_variables: int, name: str) -> np.ndarray:
    if isinstance(value, VariableGroup):
        ids = np.asarray(value.ids, dtype=np.int64)
    else:
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            value = [value]
        arr = np.asarray(value)
        if arr.dtype == bool or not (
            np.issubdtype(arr.dtype, np.integer) or (arr.size == 0 and arr.ndim == 1)
        ):
            raise ValueError(f"{name} must be a 1-D array of integer variable ids, got {value!r}")
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-dimensional, got shape {arr.shape}")
        ids = arr.astype(np.int64)
    if ids.size == 0:
        raise ValueError(f"{name} must name at least one variable")
    out = (ids < 0) | (ids >= n_variables)
    if np.any(out):
        raise ValueError(
            f"{name}: variable id {int(ids[out][0])} is out of range; the graph has "
            f"{n_variables} variables (ids 0..{n_variables - 1})"
        )
    if np.unique(ids).size != ids.size:
        values, counts = np.unique(ids, return_counts=True)
        raise ValueError(f"{name}: variable id {int(values[counts > 1][0])} is repeated")
    return ids


def _check_data(fg, cg, data, visible) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate ``visible`` and ``data``; return (visible, hidden, rows as state indices)."""
    n = cg.n_variables
    if visible is None:
        vis = np.arange(n, dtype=np.int64)
    else:
        vis = _check_ids(visible, n, "visible")
    hidden = np.setdiff1d(np.arange(n, dtype=np.int64), vis).astype(np.int64)
    arr = np.asarray(data)
    if arr.ndim != 2 or arr.shape[1] != vis.shape[0] or arr.shape[0] == 0:
        raise ValueError(
            f"data must have shape (n_rows, {vis.shape[0]}) = (n_rows, len(visible)) with "
            f"n_rows >= 1, got {arr.shape}"
        )
    values = _as_integers(arr, "data")
    rows = _value_indices(cg, vis, values, "data", lambda pos: f"[{pos[0]}, {pos[1]}]")
    return vis, hidden, np.ascontiguousarray(rows)


def _clamp_arrays(fg, cg, clamp) -> tuple[np.ndarray, np.ndarray]:
    """``(free ids, x)`` with clamped state indices in ``x`` and free entries 0."""
    n = cg.n_variables
    x = np.zeros(n, dtype=np.int64)
    if clamp is None or len(clamp) == 0:
        return np.arange(n, dtype=np.int64), x
    ids, index = check_clamp(cg, clamp)
    x[ids] = index
    free = np.setdiff1d(np.arange(n, dtype=np.int64), ids).astype(np.int64)
    return free, x


def _check_pairs(pairs, n_variables: int) -> np.ndarray:
    arr = np.asarray(pairs)
    if arr.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"pairs must have shape (n_pairs, 2), got {arr.shape}")
    arr = _as_integers(arr, "pairs")
    out = (arr < 0) | (arr >= n_variables)
    if np.any(out):
        raise ValueError(
            f"pairs: variable id {int(arr[out][0])} is out of range; the graph has "
            f"{n_variables} variables (ids 0..{n_variables - 1})"
        )
    same = arr[:, 0] == arr[:, 1]
    if np.any(same):
        raise ValueError(
            f"pairs: pair {np.flatnonzero(same)[0]} joins variable "
            f"{int(arr[same][0, 0])} with itself"
        )
    return np.ascontiguousarray(arr, dtype=np.int64)


def _moments(
    fg,
    *,
    clamp,
    max_states,
    pairs=None,
    edges=False,
    tables=False,
    method="enumerate",
    max_clique_states=DEFAULT_MAX_CLIQUE_STATES,
) -> dict:
    """Compute moments by enumeration or the junction tree; return read-only arrays by name."""
    cg, theta = _compile(fg)
    free, x = _clamp_arrays(fg, cg, clamp)
    if pairs is None:
        pairs = np.zeros((0, 2), dtype=np.int64)
    tree = _pick(cg, free, method, max_states, max_clique_states)
    if tree is not None:
        out = tree.moments(cg, theta, x, pairs=pairs)
        for key in ("node", "edge", "table", "pair"):
            out[key].flags.writeable = False
        return out
    _check_size(cg, free, max_states, "the model")
    max_k = cg.max_cardinality
    node = np.empty((cg.n_variables, max_k))
    edge = np.empty(cg.n_edges)
    table = np.empty(cg.n_params)
    pair = np.empty((pairs.shape[0], max_k, max_k))
    log_z = _k.enumerate_moments(
        free,
        x,
        cg.kernel_graph,
        theta,
        _CHUNK,
        cg.edge_i,
        cg.edge_j,
        pairs,
        edges,
        tables,
        node,
        edge,
        table,
        pair,
    )
    out = {"node": node, "edge": edge, "table": table, "pair": pair}
    for arr in out.values():
        arr.flags.writeable = False
    out["log_z"] = float(log_z)
    return out


def _flat_expectations(cg: CompiledGraph, node, edge, table) -> np.ndarray:
    """Expected flat statistics (layout of ``theta``) from node/edge/table moments."""
    stats = np.zeros(cg.n_params, dtype=np.float64)
    for i in range(cg.n_variables):
        k = int(cg.cardinality[i])
        values = cg.state_value[cg.state_offset[i] : cg.state_offset[i] + k]
        for t in range(cg.unary_indptr[i], cg.unary_indptr[i + 1]):
            p = int(cg.unary_param[t])
            if cg.unary_kind[t] == 0:
                stats[p] += float(node[i, :k] @ values)
            else:
                stats[p : p + k] += node[i, :k]
    np.add.at(stats, cg.edge_param, edge)
    for f in range(cg.n_factors):
        start = int(cg.table_offset[f])
        size = math.prod(
            int(k) for k in cg.cardinality[cg.scope[cg.scope_indptr[f] : cg.scope_indptr[f + 1]]]
        )
        stats[start : start + size] -= table[start : start + size]
    return stats
