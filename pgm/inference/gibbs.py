r"""Gibbs sampling on factor graphs, compiled with Numba.

Samples from ``p(x) ∝ exp(-beta * E(x))`` by resampling one variable at a
time from its conditional given its Markov blanket (Geman & Geman 1984).

Public objects
--------------
sample
    Draw samples with a fresh set of chains (burn-in, thinning, evidence).
GibbsSampler
    Persistent chains advanced in place (``run``/``sample``), re-reading the
    graph's parameters on every call: the engine of PCD training, annealing
    and AIS.
init_state, step
    The pure init/step pair underneath (STYLE.md section 1.3).
GibbsState
    The small state they pass around.

Schedules
---------
``"chromatic"``
    One sweep updates the colour classes of ``FactorGraph.compile()`` in
    turn. No two variables of a class share a term (the colouring includes
    factor cliques), so a class's variables are conditionally independent
    given the rest and are updated together: in parallel across the class
    (one or few chains) or across chains. Valid for any graph.
``"sequential"``
    A systematic scan over the variables in id order; valid for any graph.
``"auto"``
    Chromatic for pairwise graphs (``CompiledGraph.is_pairwise``),
    sequential otherwise.

Binary and spin variables that belong to no table factor take a fast path:
``p(high | rest) = sigmoid(beta * (high - low) * h_i)`` with the local field
``h_i`` (value-unary biases plus ``sum_j w_ij x_j``) read from the CSR
neighbour list; every other variable draws from the softmax of the shared
:func:`pgm.inference._kernels.conditional_energies`.

When every updated variable takes that path (an all-binary/spin pairwise
graph; clamped variables of any kind allowed), detected once per plan, the
sweeps run on int8 values with int32 neighbour and position arrays. If the
variables fall into few *types* (the same bias, slot weights and neighbour
domains: a lattice with uniform couplings), each type's decision for every
neighbour pattern is tabulated as an exact threshold on the uniform, which
replaces the logit and the ``exp``. Either way the samples are bitwise those
of the general kernels. Samples are recorded in the smallest integer type
(int8 up to 128 states) and returned as int64.

Randomness
----------
The seed gives a ``numpy.random.Generator`` (:func:`pgm._random.as_generator`)
that draws the initial states and one 63-bit key
(:func:`pgm._random.kernel_seed`). Inside the kernels every update uses a
counter-based uniform ``u(key, chain, sweep, variable)`` (SplitMix64 hashing,
see :mod:`pgm.inference._gibbs_kernels`), so samples are identical for any
number of Numba threads, for either way of splitting the work, and however the
sweeps are split between calls (``run(10); run(10)`` equals ``run(20)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

from pgm._random import as_generator, kernel_seed
from pgm._validation import (
    as_float_array,
    as_index_array,
    check_allocation,
    check_clamp,
    check_positive_float,
    check_positive_int,
    check_states,
)
from pgm.compiled import DOMAIN_CATEGORICAL, DOMAIN_SPIN, UNARY_ONEHOT, CompiledGraph
from pgm.graph import FactorGraph
from pgm.graph import check_graph as _check_graph
from pgm.inference import _gibbs_kernels as _k

__all__ = ["GibbsSampler", "GibbsState", "init_state", "sample", "step"]

SCHEDULES = ("auto", "chromatic", "sequential")

#: Default number of burn-in sweeps of :func:`sample`.
DEFAULT_BURN_IN = 100

#: Below this many variables a single colour class is not worth splitting
#: between threads (a parallel launch costs microseconds).
_MIN_VARIABLES_VERTEX_PARALLEL = 4096


@dataclass(frozen=True)
class GibbsState:
    """The state of a set of Gibbs chains.

    Attributes
    ----------
    indices : ndarray of shape (n_chains, n_variables), int64
        State indices (``0..k_i-1``; for spins index 0 is -1).
    values : ndarray of shape (n_chains, n_variables), float64
        The same states as values (0/1, -1/+1, 0..k-1); kept consistent with
        ``indices`` by every kernel.
    key : int
        Key of the counter-based generator (non-negative, < 2**63).
    sweep : int
        Number of sweeps done so far: the generator's sweep counter.
    """

    indices: np.ndarray
    values: np.ndarray
    key: int
    sweep: int

    @property
    def n_chains(self) -> int:
        """Number of chains."""
        return int(self.indices.shape[0])


# ---------------------------------------------------------------------- validation
def _check_schedule(schedule) -> str:
    if not isinstance(schedule, str) or schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    return schedule


def _check_beta(beta) -> float:
    return check_positive_float(beta, "beta")


def _check_clamp(fg: FactorGraph, cg: CompiledGraph, clamp) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``clamp`` (dict id -> value); return (ids, state indices), sorted by id."""
    return check_clamp(cg, clamp)


def _check_init(fg: FactorGraph, cg: CompiledGraph, init, n_chains: int) -> np.ndarray:
    """Validate ``init`` values; return state indices of shape (n_chains, n_variables)."""
    n = cg.n_variables
    shape = np.shape(init)
    if shape not in ((n_chains, n), (n,)):
        raise ValueError(
            f"init must have shape (n_chains, n_variables) = ({n_chains}, {n}) or "
            f"(n_variables,) = ({n},); got {shape}"
        )
    _, index = check_states(init, cg.domain_kind, cg.cardinality, "init")
    return np.ascontiguousarray(np.broadcast_to(index, (n_chains, n)), dtype=np.int64)


def _check_counter(value, name: str, maximum: int) -> int:
    """A generator key or sweep counter: an integer in ``0..maximum`` (kernels read int64)."""
    value = check_positive_int(value, name, minimum=0)
    if value > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {value}")
    return value


def _check_chains(cg: CompiledGraph, n_chains: int, n_copies: int = 1) -> None:
    """Refuse chains whose two state arrays (int64 and float64) cannot fit in memory."""
    check_allocation(16 * n_chains * n_copies * cg.n_variables, f"n_chains={n_chains:,}")


def _check_theta(cg: CompiledGraph, theta) -> np.ndarray:
    theta = np.ascontiguousarray(as_float_array(theta, "theta", shape=(cg.n_params,)))
    theta.flags.writeable = False  # as fg.theta: one array type, one compilation
    return theta


# ---------------------------------------------------------------------- structure
def _fast_variables(cg: CompiledGraph) -> np.ndarray:
    """Binary/spin variables in no table factor and with no one-hot unary term."""
    fast = cg.domain_kind != DOMAIN_CATEGORICAL
    fast &= np.diff(cg.incidence_indptr) == 0
    owner = np.repeat(np.arange(cg.n_variables), np.diff(cg.unary_indptr))
    fast[owner[cg.unary_kind == UNARY_ONEHOT]] = False
    return fast


def _blocks(class_indptr: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Neighbour blocks of a plan: ``block`` consecutive positions of one class.

    Returns ``(block_of, block_start, block_size)``: each position's block,
    and each block's first position and size.
    """
    n_pos = int(class_indptr[-1])
    positions = np.arange(n_pos, dtype=np.int64)
    cls = np.repeat(np.arange(class_indptr.shape[0] - 1), np.diff(class_indptr))
    local = (positions - class_indptr[:-1][cls]) // block
    new = np.ones(n_pos, dtype=bool)
    new[1:] = (cls[1:] != cls[:-1]) | (local[1:] != local[:-1])
    block_of = np.cumsum(new) - 1
    block_start = np.flatnonzero(new)
    block_size = np.diff(np.append(block_start, n_pos))
    return block_of, block_start, block_size


def _plan(
    cg: CompiledGraph, schedule: str, clamped: np.ndarray, block: int | None = None
) -> tuple[_k.SweepPlan, bool]:
    """The sweep as a :data:`_k.SweepPlan` without the clamped variables; and whether chromatic.

    ``block`` (positions per neighbour block) defaults to ``_k.BLOCK`` for a
    chromatic schedule and 1 for a sequential one; the kernels need exactly
    these (tests also build chromatic plans with ``block=1``).
    """
    if schedule == "auto":
        schedule = "chromatic" if cg.is_pairwise else "sequential"
    chromatic = schedule == "chromatic"
    if block is None:
        block = _k.BLOCK if chromatic else 1
    free = np.ones(cg.n_variables, dtype=bool)
    free[clamped] = False
    if not chromatic:
        order = np.flatnonzero(free).astype(np.int64)
        class_indptr = np.array([0, order.shape[0]], dtype=np.int64)
    else:
        parts = []
        for c in range(cg.n_colours):
            members = cg.colour_vertices[cg.colour_indptr[c] : cg.colour_indptr[c + 1]]
            members = members[free[members]]
            if members.size:
                parts.append(members)
        class_indptr = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum([m.size for m in parts], out=class_indptr[1:])
        order = np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)
    n_pos = order.shape[0]
    fast = _fast_variables(cg)[order]
    offset = cg.state_offset[:-1][order]
    low = cg.state_value[offset]
    step = np.where(fast, cg.state_value[offset + 1] - low, 0.0)  # every k_i >= 2
    degree = np.where(fast, np.diff(cg.adj_indptr)[order], 0).astype(np.int64)

    # neighbour blocks: `block` consecutive positions of one class, slot-major
    positions = np.arange(n_pos, dtype=np.int64)
    block_of, block_start, block_size = _blocks(class_indptr, block)
    block_degree = np.maximum.reduceat(degree, block_start) if n_pos else degree
    block_base = np.concatenate([[0], np.cumsum(block_degree * block_size)])
    nbr_start = block_base[block_of] + positions - block_start[block_of]
    padded = block_degree[block_of]
    owner = np.repeat(positions, padded)  # the position of every entry
    slot = np.arange(owner.shape[0]) - np.repeat(np.cumsum(padded) - padded, padded)
    entry = nbr_start[owner] + slot * block_size[block_of[owner]]
    real = slot < degree[owner]
    source = np.where(real, cg.adj_indptr[:-1][order[owner]] + slot, 0)
    n_entries = int(block_base[-1])
    nbr = np.empty(n_entries, dtype=np.int64)
    param = np.zeros(n_entries, dtype=np.int64)
    entry_pos = np.full(n_entries, -1, dtype=np.int64)
    if n_entries:
        nbr[entry] = np.where(real, cg.adj_indices[source], order[owner])
        param[entry] = np.where(real, cg.adj_param[source], 0)
        entry_pos[entry] = np.where(real, owner, -1)
    plan = _k.SweepPlan(
        order=order,
        class_indptr=class_indptr,
        fast=np.ascontiguousarray(fast, dtype=np.bool_),
        low=np.ascontiguousarray(low, dtype=np.float64),
        step=np.ascontiguousarray(step, dtype=np.float64),
        nbr_start=np.ascontiguousarray(nbr_start, dtype=np.int64),
        degree=np.ascontiguousarray(padded, dtype=np.int64),
        nbr=nbr,
        param=param,
        entry_pos=entry_pos,
    )
    for array in plan:
        array.flags.writeable = False
    return plan, chromatic


# ---------------------------------------------------------------------- init / step
def init_state(
    fg: FactorGraph,
    n_chains: int = 1,
    *,
    init: ArrayLike | None = None,
    clamp: Mapping | None = None,
    seed=None,
) -> GibbsState:
    """Initial state of ``n_chains`` Gibbs chains.

    Parameters
    ----------
    fg : FactorGraph
    n_chains : int, default 1
    init : array_like of shape (n_chains, n_variables) or (n_variables,), optional
        Starting values (a single row is copied to every chain). Default:
        each variable uniform over its domain, independently per chain.
    clamp : dict of int to int, optional
        Evidence ``{variable_id: value}``; overrides ``init`` for those
        variables.
    seed : None, int, SeedSequence or Generator
        Draws the random starting states (if any) and then the generator key.

    Returns
    -------
    GibbsState
        With ``sweep = 0``.

    Raises
    ------
    ValueError
        On ``n_chains < 1``, an ``init`` of the wrong shape or outside the
        domains, or a bad ``clamp``.
    """
    fg = _check_graph(fg)
    n_chains = check_positive_int(n_chains, "n_chains")
    cg = fg.compile()
    _check_chains(cg, n_chains)
    clamp_ids, clamp_idx = _check_clamp(fg, cg, clamp)
    if init is not None:
        indices = _check_init(fg, cg, init, n_chains)
    rng = as_generator(seed)
    if init is None:
        card = cg.cardinality
        draws = rng.random((n_chains, cg.n_variables))
        indices = np.minimum((draws * card).astype(np.int64), card - 1)
    key = kernel_seed(rng)
    indices = np.array(indices, dtype=np.int64, order="C")
    indices[:, clamp_ids] = clamp_idx
    values = cg.state_value[cg.state_offset[:-1] + indices].astype(np.float64)
    return GibbsState(indices, np.ascontiguousarray(values), key, 0)


#: Sweep plans kept per compiled graph (for distinct schedules and clamp sets).
_PLAN_CACHE_SIZE = 8


def _cached_plan(cg: CompiledGraph, schedule: str, clamped: np.ndarray):
    """:func:`_plan` for the default block, memoised on ``cg`` (plans are read-only).

    A compiled graph is immutable and replaced on every structural change, so
    the cache can never serve a stale plan; :func:`step` and the samplers then
    build a graph's plan once rather than on every call.
    """
    cache = cg.cache.setdefault("gibbs_plans", {})
    key = (schedule, np.asarray(clamped, dtype=np.int64).tobytes())
    if key not in cache:
        if len(cache) >= _PLAN_CACHE_SIZE:
            cache.pop(next(iter(cache)))
        cache[key] = _plan(cg, schedule, clamped)
    return cache[key]


#: Largest index the narrow (int32) arrays of a :data:`_k.BinaryPlan` hold.
_INT32_MAX = np.iinfo(np.int32).max


def _sample_dtype(cg: CompiledGraph) -> np.dtype:
    """The smallest integer type holding every value of ``cg``'s domains (int8 up to 128 states)."""
    if cg.n_variables == 0 or cg.max_cardinality <= 128:
        return np.dtype(np.int8)
    return np.dtype(np.int64)


def _check_sample_type(dtype, cg: CompiledGraph) -> np.dtype:
    """The dtype of returned samples: ``dtype`` checked to hold every value, or the stored type.

    ``None`` gives :func:`_sample_dtype` (no conversion); otherwise a signed
    integer type (spins are -1/+1) whose range holds the largest state of
    ``cg``'s domains.
    """
    if dtype is None:
        return _sample_dtype(cg)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ValueError(
            f"dtype must be a signed integer type (e.g. np.int8) or None, got {dtype!r}"
        ) from None
    if dt.kind != "i":
        raise ValueError(
            f"dtype must be a signed integer type (spin values are -1/+1) or None, got {dt}"
        )
    largest = int(cg.max_cardinality) - 1 if cg.n_variables else 1
    if largest > np.iinfo(dt).max:
        raise ValueError(
            f"dtype {dt} cannot hold the value {largest} of a "
            f"{largest + 1}-state variable; use a wider integer type or None"
        )
    return dt


def _binary_plan(cg: CompiledGraph, plan: _k.SweepPlan) -> _k.BinaryPlan | None:
    """The narrow form of ``plan`` when it can take the binary fast path, else ``None``.

    Covered: every position fast (binary/spin, in no table factor, no one-hot
    unary; the graph may hold clamped variables of any kind, read as int8
    values), every value fitting int8 and every index int32. Anything else
    (a free categorical variable, a table factor, a huge graph) runs the
    general kernels.
    """
    if not bool(np.all(plan.fast)) or _sample_dtype(cg) != np.int8:
        return None
    if max(cg.n_variables, plan.nbr.shape[0]) > _INT32_MAX:
        return None
    low = plan.low.astype(np.int8)
    binary = _k.BinaryPlan(
        order=plan.order.astype(np.int32),
        class_indptr=plan.class_indptr,
        low=low,
        high=(plan.low + plan.step).astype(np.int8),
        nbr_start=plan.nbr_start,
        degree=plan.degree,
        nbr=plan.nbr.astype(np.int32),
    )
    for array in binary:
        array.flags.writeable = False
    return binary


class _TableLayout:
    """Structure of the lookup-table tier, from a plan (built once per plan).

    ``slot_entry[p, s]``: the entry of slot ``s`` of position ``p`` (-1 past
    its block's padded degree); ``slot_spin[p, s]``: whether that neighbour
    is a spin (its low value -1, else 0); ``nbr``: the neighbours as int16
    offsets modulo ``n_variables`` when every one fits (``delta``; a
    periodic lattice's wrap-around is a short modular offset), else the
    int32 ids. ``ok`` is False when a position has over
    :data:`_k.TABLE_MAX_SLOTS` slots or a categorical (clamped) neighbour,
    whose value a bit cannot encode.
    """

    def __init__(self, cg: CompiledGraph, plan: _k.SweepPlan, binary: _k.BinaryPlan, block: int):
        n_pos = plan.order.shape[0]
        self.n_slots = int(plan.degree.max()) if n_pos else 0
        self.ok = (
            n_pos > 0
            and self.n_slots <= _k.TABLE_MAX_SLOTS
            and not bool(np.any(cg.domain_kind[plan.nbr] == DOMAIN_CATEGORICAL))
        )
        if not self.ok:
            return
        block_of, _, block_size = _blocks(plan.class_indptr, block)
        owner = np.repeat(np.arange(n_pos), plan.degree)
        first = np.cumsum(plan.degree) - plan.degree
        slot = np.arange(owner.shape[0]) - np.repeat(first, plan.degree)
        entry = plan.nbr_start[owner] + slot * block_size[block_of[owner]]
        self.slot_entry = np.full((n_pos, self.n_slots), -1, dtype=np.int64)
        self.slot_entry[owner, slot] = entry
        self.slot_spin = np.zeros((n_pos, self.n_slots), dtype=bool)
        self.slot_spin[owner, slot] = cg.domain_kind[plan.nbr[entry]] == DOMAIN_SPIN
        n = cg.n_variables
        entry_owner = np.empty(plan.nbr.shape[0], dtype=np.int64)
        entry_owner[entry] = owner
        offset = (plan.nbr - plan.order[entry_owner] + n // 2) % n - n // 2
        self.delta = bool(np.all(np.abs(offset) <= np.iinfo(np.int16).max))
        self.nbr = offset.astype(np.int16) if self.delta else binary.nbr
        self.nbr.flags.writeable = False

    def types(self, bias: np.ndarray, weight: np.ndarray):
        """``(ptype, thresholds)`` at these folded parameters, or ``None``.

        ``None`` when the table would exceed :data:`_k.TABLE_MAX_ENTRIES`
        entries or :data:`_k.TABLE_MAX_TYPES` types, or the positions do not
        share types (more than one type per 8 positions).

        A position's type is its bias, slot weights and slot domains; positions of
        one type share a row of thresholds (:func:`_k.table_thresholds`).
        """
        w = np.where(self.slot_entry >= 0, weight[self.slot_entry.clip(0)], 0.0)
        key = np.concatenate([bias[:, None], w, self.slot_spin.astype(np.float64)], axis=1)
        # worth it only when positions share types: building costs ~54 exact
        # decisions per entry, paid again after every change of the parameters
        n_pos = key.shape[0]
        max_types = min(_k.TABLE_MAX_ENTRIES >> self.n_slots, n_pos // 8, _k.TABLE_MAX_TYPES)
        ptype = np.empty(n_pos, dtype=np.int32)
        n_types = _k.group_rows(key, max(max_types, 0), ptype)
        if n_types < 1:
            return None
        first = np.unique(ptype, return_index=True)[1]  # a row of each type, by type
        rows = key[first]
        k = self.n_slots
        thresholds = np.empty((n_types, 1 << k), dtype=np.float64)
        _k.table_thresholds(
            np.ascontiguousarray(rows[:, 0]), np.ascontiguousarray(rows[:, 1 : 1 + k]),
            np.ascontiguousarray(rows[:, 1 + k :] > 0), thresholds,
        )  # fmt: skip
        return ptype, thresholds


def _cached_binary_plan(cg: CompiledGraph, schedule: str, clamped: np.ndarray):
    """``(binary plan or None, table layout or None)``, memoised like :func:`_cached_plan`."""
    cache = cg.cache.setdefault("gibbs_binary_plans", {})
    key = (schedule, np.asarray(clamped, dtype=np.int64).tobytes())
    if key not in cache:
        if len(cache) >= _PLAN_CACHE_SIZE:
            cache.pop(next(iter(cache)))
        plan, chromatic = _cached_plan(cg, schedule, clamped)
        binary = _binary_plan(cg, plan)
        layout = None
        if binary is not None:
            layout = _TableLayout(cg, plan, binary, _k.BLOCK if chromatic else 1)
            layout = layout if layout.ok else None
        cache[key] = (binary, layout)
    return cache[key]


class _Engine:
    """A compiled graph and a sweep plan, with the fast path's parameters cached.

    ``fast_parameters`` is O(n_variables + n_edges); it is recomputed only
    when ``theta`` or ``beta`` changed since the previous call. When the
    plan is all binary/spin (:func:`_binary_plan`) the sweeps run on int8
    values: through a lookup table of exact thresholds when the positions
    fall into few types (:class:`_TableLayout`; a lattice with uniform
    couplings), else through the narrow logit kernels. Every tier gives
    bitwise the samples of the general kernels.
    """

    #: Tiers that may be used (tests switch them off to compare with the general kernels).
    use_binary = True
    use_table = True

    def __init__(self, cg: CompiledGraph, schedule: str, clamped: np.ndarray):
        self.cg = cg
        self.plan, self.chromatic = _cached_plan(cg, schedule, clamped)
        self.binary, self.layout = _cached_binary_plan(cg, schedule, clamped)
        self.sample_dtype = _sample_dtype(cg)
        # x must follow v during a sweep only if some updated variable reads it
        self.track = not bool(np.all(self.plan.fast))
        # folded parameters of the last (theta, beta), shared by every engine of
        # this plan (so a new sampler, e.g. each gibbs.sample call, reuses them)
        params = cg.cache.setdefault("gibbs_parameters", {})
        key = (schedule, np.asarray(clamped, dtype=np.int64).tobytes())
        if key not in params and len(params) >= _PLAN_CACHE_SIZE:
            params.pop(next(iter(params)))
        self._shared = params.setdefault(key, {})
        self._table_refused = False
        assert _k.VERTEX_CHUNK % _k.BLOCK == 0  # chunks start at block starts

    @property
    def binary_active(self) -> bool:
        """Whether :meth:`advance` runs the int8 kernels."""
        return self.binary is not None and self.use_binary

    @property
    def table(self):
        """``(ptype, thresholds, one)`` of the lookup-table tier at the last parameters, or None."""
        return self._shared.get("table")

    def _parameters(self, theta: np.ndarray, beta: float, stamp=None):
        """``(bias, weight, table)`` folded at ``(theta, beta)``, recomputed only on a change.

        ``stamp`` (the graph's :attr:`~pgm.FactorGraph.theta_revision` when
        ``theta`` is the graph's own vector, else None) spares the
        entry-by-entry comparison with the folded ``theta`` when it matches
        the stamp of the last fold. The arrays are never written after they
        are made (a change makes new ones), so engines sharing them through
        ``cg.cache`` cannot see a half-updated set.
        """
        shared = self._shared
        key = shared.get("key")
        fresh = (
            key is not None
            and key[1] == beta
            and ((stamp is not None and key[2] == stamp) or _k.same_array(key[0], theta))
        )
        if fresh:
            if stamp is not None and key[2] != stamp:
                shared["key"] = (key[0], beta, stamp)
        else:
            bias = np.empty(self.plan.order.shape[0], dtype=np.float64)
            weight = np.empty(self.plan.nbr.shape[0], dtype=np.float64)
            _k.fast_parameters(self.plan, self.cg.kernel_graph, theta, beta, bias, weight)
            shared.clear()
            shared.update(key=(theta.copy(), beta, stamp), bias=bias, weight=weight, table=None)
            shared["table_checked"] = False
        # types cost a sort; after one refusal (parameters of many values, as
        # in a model being trained) this engine does not look for them again
        if self.layout is not None and not shared["table_checked"] and not self._table_refused:
            table = self.layout.types(shared["bias"], shared["weight"])
            if table is not None:  # one type and one value pair: the plainest kernel
                table = (*table, _k.one_type_values(self.binary, table[1]))
            shared["table"] = table
            shared["table_checked"] = True
            self._table_refused = shared["table"] is None
        return shared["bias"], shared["weight"], shared["table"]

    def advance(
        self, state: GibbsState, theta: np.ndarray, beta: float, n_sweeps: int, thin: int,
        n_record: int, v8: np.ndarray | None = None, stamp=None,
    ) -> np.ndarray:  # fmt: skip
        """Advance ``state``'s arrays in place by ``n_sweeps``; return the recorded values.

        The recorded values have shape (n_chains, n_record, n_variables) and
        dtype :attr:`sample_dtype` (int8 unless a domain has over 128 states).
        With :attr:`binary_active` and ``v8`` given (int8 values of the same
        chains, kept by the caller), only ``v8`` is advanced and the caller
        brings ``state`` up to date (:meth:`sync`) when it needs it.
        ``stamp``: see :meth:`_parameters`.
        """
        n_chains, n = state.indices.shape
        out = np.empty((n_chains, n_record, n), dtype=self.sample_dtype)
        if n_sweeps == 0:
            return out
        beta = float(beta)
        bias, weight, table = self._parameters(theta, beta, stamp)
        threads = numba.get_num_threads()
        by_vertex = (
            self.chromatic
            and threads > 1
            and n_chains < threads
            and n >= _MIN_VARIABLES_VERTEX_PARALLEL
        )
        tail = (np.int64(state.key), np.int64(state.sweep), np.int64(n_sweeps), np.int64(thin), out)
        if self.binary_active:
            own = v8 is None
            if own:
                v8 = state.values.astype(np.int8)
            plan = self.binary
            if table is not None and self.use_table:
                ptype, thresholds, one = table
                nbr, delta = self.layout.nbr, self.layout.delta
                if by_vertex:
                    _k.table_sweeps_by_vertex(v8, plan, nbr, delta, ptype, thresholds, one, *tail)
                else:
                    _k.table_sweeps_by_chain(
                        v8, plan, nbr, delta, ptype, thresholds, one, self.chromatic, *tail
                    )
            elif by_vertex:
                _k.binary_sweeps_by_vertex(v8, plan, bias, weight, *tail)
            else:
                _k.binary_sweeps_by_chain(v8, plan, bias, weight, self.chromatic, *tail)
            if own:
                self.sync(state, v8)
            return out
        g = self.cg.kernel_graph
        x, v, plan, track = state.indices, state.values, self.plan, self.track
        if by_vertex:
            _k.sweeps_by_vertex(x, v, g, theta, beta, plan, bias, weight, track, *tail)
        else:
            _k.sweeps_by_chain(
                x, v, g, theta, beta, plan, bias, weight, self.chromatic, track, *tail
            )
        if not track:
            _k.restore_indices(x, v, plan)
        return out

    def sync(self, state: GibbsState, v8: np.ndarray) -> None:
        """Write int8 values ``v8`` into ``state``'s values and indices (in place)."""
        state.values[...] = v8
        _k.restore_indices(state.indices, state.values, self.plan)


def step(
    fg: FactorGraph,
    state: GibbsState,
    n_sweeps: int = 1,
    *,
    schedule: str = "auto",
    beta: float = 1.0,
    clamp: Mapping | None = None,
    theta: ArrayLike | None = None,
) -> GibbsState:
    """Advance chains by ``n_sweeps`` Gibbs sweeps; return a new state.

    The pure counterpart of :meth:`GibbsSampler.run`: ``state`` is not
    modified. The result depends only on the arguments (the randomness comes
    from ``state.key`` and ``state.sweep``).

    Parameters
    ----------
    fg : FactorGraph
    state : GibbsState
        From :func:`init_state` or a previous ``step`` on the same graph.
    n_sweeps : int, default 1
        ``>= 0``.
    schedule : {"auto", "chromatic", "sequential"}, default "auto"
    beta : float, default 1.0
        Inverse temperature: the chains target ``p(x) ∝ exp(-beta E(x))``.
    clamp : dict of int to int, optional
        Evidence held fixed (written into the state first).
    theta : array_like of shape (n_params,), optional
        Parameters to use instead of ``fg.theta``.

    Returns
    -------
    GibbsState
        With ``sweep`` advanced by ``n_sweeps``.

    Raises
    ------
    TypeError
        If ``fg`` is not a FactorGraph or ``state`` not a GibbsState.
    ValueError
        If ``state`` does not fit ``fg`` (shape, state indices outside
        ``0..k_i-1``, a key outside ``0..2**63-1`` or a sweep counter that
        would pass it), or on bad ``n_sweeps``, ``schedule``, ``beta``,
        ``clamp`` or ``theta``.

    Notes
    -----
    The sweep plan is built once per compiled graph, schedule and clamp set
    and kept on the compiled graph, so calling ``step`` in a loop costs what
    :meth:`GibbsSampler.run` costs (apart from copying the state).
    """
    fg = _check_graph(fg)
    cg = fg.compile()
    if not isinstance(state, GibbsState):
        raise TypeError(f"state must be a GibbsState, got {type(state).__name__}")
    if state.indices.ndim != 2 or state.indices.shape[1] != cg.n_variables:
        raise ValueError(
            f"state must hold chains of {cg.n_variables} variables, got shape {state.indices.shape}"
        )
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps", minimum=0)
    schedule = _check_schedule(schedule)
    beta = _check_beta(beta)
    clamp_ids, clamp_idx = _check_clamp(fg, cg, clamp)
    theta = _check_theta(cg, fg.theta if theta is None else theta)
    _check_counter(state.key, "state.key", 2**63 - 1)
    _check_counter(state.sweep, "state.sweep", 2**63 - 1 - n_sweeps)
    indices = np.array(as_index_array(state.indices, "state.indices", ndim=2), order="C")
    if np.any((indices < 0) | (indices >= cg.cardinality[None, :])):
        row, col = (int(t[0]) for t in np.nonzero((indices < 0) | (indices >= cg.cardinality)))
        raise ValueError(
            f"state.indices[{row}, {col}] = {indices[row, col]} is not a state index of "
            f"variable {col} (0..{cg.cardinality[col] - 1})"
        )
    indices[:, clamp_ids] = clamp_idx
    values = np.ascontiguousarray(cg.state_value[cg.state_offset[:-1] + indices], dtype=np.float64)
    new = replace(state, indices=indices, values=values)
    _Engine(cg, schedule, clamp_ids).advance(new, theta, beta, n_sweeps, 1, 0)
    return replace(new, sweep=state.sweep + n_sweeps)


# ---------------------------------------------------------------------- sampler
class _PersistentSweeps:
    """What every persistent sampler shares: its own ``theta``, ``run`` and ``sample``.

    Subclasses hold ``_fg``, ``_cg`` (compiled at construction) and ``_theta``
    (``None`` for ``fg.theta``), and implement ``_go(n_sweeps, thin, n_record)``.
    """

    def set_theta(self, theta: ArrayLike | None) -> None:
        """Use ``theta`` (shape (n_params,)) instead of ``fg.theta``; ``None`` reverts.

        Raises
        ------
        ValueError
            On a wrong shape or non-finite entries.
        """
        self._theta = None if theta is None else _check_theta(self._cg, theta)

    # -------------------------------------------------------------- running
    def _current_theta(self) -> np.ndarray:
        if self._fg.revision != self._cg.revision:
            raise ValueError(
                "fg: the factor graph's structure changed since this "
                f"{type(self).__name__} was "
                f"built (revision {self._cg.revision}, now {self._fg.revision}); "
                f"build a new {type(self).__name__}"
            )
        if self._theta is not None:
            return self._theta
        return np.ascontiguousarray(self._fg.theta, dtype=np.float64)

    def run(self, n_sweeps: int):
        """Advance every chain by ``n_sweeps`` sweeps (``>= 0``) in place; return self.

        Raises
        ------
        ValueError
            On ``n_sweeps < 0``, or when the graph's structure changed.
        """
        n_sweeps = check_positive_int(n_sweeps, "n_sweeps", minimum=0)
        self._go(n_sweeps, 1, 0)
        return self

    def sample(self, n_samples: int, thin: int = 1, dtype=np.int64) -> NDArray[np.integer]:
        """Advance ``n_samples * thin`` sweeps, keeping every ``thin``-th state.

        A tempering sampler keeps the beta = 1 replica.

        Parameters
        ----------
        n_samples : int
            ``>= 1``.
        thin : int, default 1
            ``>= 1``.
        dtype : signed integer dtype or None, default np.int64
            Type of the returned values. Samples are recorded in the smallest
            integer type (int8 unless a domain has over 128 states); ``None``
            returns them as recorded, without the conversion to a wider type
            (which costs about a fifth of the sweeps' time on a large lattice).

        Returns
        -------
        ndarray of shape (n_chains, n_samples, n_variables), ``dtype``
            Values in each variable's domain.

        Raises
        ------
        ValueError
            On ``n_samples < 1``, ``thin < 1``, an output too large to
            allocate, or a ``dtype`` that is not a signed integer type wide
            enough for the domains.
        """
        n_samples = check_positive_int(n_samples, "n_samples")
        thin = check_positive_int(thin, "thin")
        dtype = _check_sample_type(dtype, self._cg)
        self._check_output(n_samples)
        return self._go(n_samples * thin, thin, n_samples).astype(dtype, copy=False)

    def _check_output(self, n_samples: int) -> None:
        """Refuse ``n_samples`` whose output array cannot fit in memory."""
        n_out = self.n_chains * n_samples * self._cg.n_variables
        check_allocation(9 * n_out, f"n_samples={n_samples:,} (x {self.n_chains} chains)")


class GibbsSampler(_PersistentSweeps):
    """Persistent Gibbs chains on a factor graph, advanced in place.

    Each :meth:`run` or :meth:`sample` re-reads the graph's parameters
    (``fg.theta``, unless :meth:`set_theta` gave others), so the chains follow
    a model being trained (persistent contrastive divergence, Tieleman 2008).
    Changing the graph's *structure* (adding variables or terms) invalidates
    the sampler.

    Parameters
    ----------
    fg : FactorGraph
    n_chains : int, default 1
        Number of independent chains.
    seed : None, int, SeedSequence or Generator
        Draws the initial states (when ``init`` is None) and the key of the
        counter-based generator; the same seed gives the same samples for any
        number of threads.
    init : array_like of shape (n_chains, n_variables) or (n_variables,), optional
        Starting values; default uniform over each domain.
    clamp : dict of int to int, optional
        Evidence ``{variable_id: value}`` held fixed in every chain.
    schedule : {"auto", "chromatic", "sequential"}, default "auto"
        See the module docstring; "auto" is chromatic for pairwise graphs
        and sequential otherwise.
    beta : float, default 1.0
        Inverse temperature: the chains target ``p(x) ∝ exp(-beta E(x))``.
        May be changed between runs (annealing).

    Attributes
    ----------
    n_chains : int
    n_sweeps_done : int
        Sweeps performed so far (burn-in included).

    Raises
    ------
    ValueError
        On bad arguments (see :func:`init_state`), an unknown ``schedule`` or
        ``beta <= 0``/non-finite; from :meth:`run`, when the graph's
        structure changed since the sampler was built.

    Examples
    --------
    >>> import pgm
    >>> from pgm.inference import gibbs
    >>> fg = pgm.FactorGraph()
    >>> s = fg.add_variables("s", 3, domain="spin")
    >>> _ = fg.add_edges([[0, 1], [1, 2]], [0.5, 0.5])
    >>> sampler = gibbs.GibbsSampler(fg, n_chains=4, seed=0).run(10)
    >>> sampler.state.shape
    (4, 3)
    >>> sampler.sample(5, thin=2).shape
    (4, 5, 3)
    """

    def __init__(
        self,
        fg: FactorGraph,
        n_chains: int = 1,
        seed=None,
        init: ArrayLike | None = None,
        clamp: Mapping | None = None,
        schedule: str = "auto",
        beta: float = 1.0,
    ):
        fg = _check_graph(fg)
        schedule = _check_schedule(schedule)
        beta = _check_beta(beta)
        self._state = init_state(fg, n_chains, init=init, clamp=clamp, seed=seed)
        self._fg = fg
        self._cg = fg.compile()
        self._schedule = schedule
        self._beta = beta
        self._theta: np.ndarray | None = None
        clamp_ids, _ = _check_clamp(fg, self._cg, clamp)
        self._engine = _Engine(self._cg, schedule, clamp_ids)
        # int8 values the binary kernels advance; when set, they are the chains'
        # state and ``_state``'s arrays are refreshed from them on demand
        self._v8: np.ndarray | None = None

    # -------------------------------------------------------------- properties
    @property
    def n_chains(self) -> int:
        """Number of chains."""
        return self._state.n_chains

    @property
    def n_sweeps_done(self) -> int:
        """Sweeps performed so far."""
        return self._state.sweep

    @property
    def schedule(self) -> str:
        """The schedule in use: ``"chromatic"`` or ``"sequential"``."""
        return "chromatic" if self._engine.chromatic else "sequential"

    @property
    def beta(self) -> float:
        """Inverse temperature (settable between runs)."""
        return self._beta

    @beta.setter
    def beta(self, value: float) -> None:
        self._beta = _check_beta(value)

    @property
    def state(self) -> NDArray[np.int64]:
        """Current values, ndarray of shape (n_chains, n_variables), int64 (a copy)."""
        if self._v8 is not None:
            return self._v8.astype(np.int64)
        return self._state.values.astype(np.int64)

    @property
    def gibbs_state(self) -> GibbsState:
        """The current :class:`GibbsState` (a snapshot: arrays are copied)."""
        self._sync()
        s = self._state
        return replace(s, indices=s.indices.copy(), values=s.values.copy())

    def _sync(self) -> None:
        """Bring ``_state``'s arrays up to date with the int8 values; drop those."""
        if self._v8 is not None:
            self._engine.sync(self._state, self._v8)
            self._v8 = None

    def _go(self, n_sweeps: int, thin: int, n_record: int) -> np.ndarray:
        theta = self._current_theta()
        engine = self._engine
        if engine.binary_active:
            if self._v8 is None:
                self._v8 = self._state.values.astype(np.int8)
        else:
            self._sync()
        args = (self._state, theta, self._beta, n_sweeps, thin, n_record)
        stamp = self._fg.theta_revision if self._theta is None else None
        out = engine.advance(*args, v8=self._v8, stamp=stamp)
        self._state = replace(self._state, sweep=self._state.sweep + n_sweeps)
        return out

    def __repr__(self) -> str:
        return (
            f"GibbsSampler(n_chains={self.n_chains}, schedule={self.schedule!r}, "
            f"beta={self._beta}, n_sweeps_done={self.n_sweeps_done})"
        )


def sample(
    fg: FactorGraph,
    n_samples: int,
    n_chains: int = 1,
    burn_in: int = DEFAULT_BURN_IN,
    thin: int = 1,
    clamp: Mapping | None = None,
    init: ArrayLike | None = None,
    schedule: str = "auto",
    seed=None,
    beta: float = 1.0,
    dtype=np.int64,
) -> NDArray[np.integer]:
    """Draw Gibbs samples from ``p(x) ∝ exp(-beta * E(x))``.

    Runs ``burn_in`` sweeps, then ``n_samples * thin`` sweeps keeping every
    ``thin``-th state, in each of ``n_chains`` independent chains.

    Parameters
    ----------
    fg : FactorGraph
    n_samples : int
        Samples kept per chain (``>= 1``).
    n_chains : int, default 1
    burn_in : int, default 100
        Sweeps discarded first (``>= 0``).
    thin : int, default 1
        Keep one state every ``thin`` sweeps (``>= 1``).
    clamp : dict of int to int, optional
        Evidence ``{variable_id: value}`` held fixed: the chains then sample
        the conditional distribution of the other variables.
    init : array_like of shape (n_chains, n_variables) or (n_variables,), optional
        Starting values; default uniform over each domain.
    schedule : {"auto", "chromatic", "sequential"}, default "auto"
    seed : None, int, SeedSequence or Generator
    beta : float, default 1.0
        Inverse temperature.
    dtype : signed integer dtype or None, default np.int64
        Type of the returned values; ``None`` returns them in the type they
        are recorded in (int8 unless a domain has over 128 states), without
        a conversion (see :meth:`GibbsSampler.sample`).

    Returns
    -------
    ndarray of shape (n_chains, n_samples, n_variables), ``dtype``
        Values in each variable's domain (0/1, -1/+1, 0..k-1).

    Raises
    ------
    ValueError
        On ``n_samples < 1``, ``n_chains < 1``, ``thin < 1``, ``burn_in < 0``,
        ``beta`` not finite and positive, an unknown ``schedule``, a clamp
        naming an unknown variable or a value outside its domain, an
        ``init`` of the wrong shape or outside the domains, or a ``dtype``
        that is not a signed integer type wide enough for the domains.

    Examples
    --------
    >>> import pgm
    >>> from pgm.inference import gibbs
    >>> fg = pgm.FactorGraph()
    >>> v = fg.add_variables("v", 2, domain="binary")
    >>> _ = fg.add_unary(v, [1.0, -1.0])
    >>> x = gibbs.sample(fg, 50, n_chains=3, burn_in=10, seed=0)
    >>> x.shape, x.dtype.name
    ((3, 50, 2), 'int64')
    >>> gibbs.sample(fg, 5, clamp={1: 1}, seed=0)[0, :, 1].tolist()
    [1, 1, 1, 1, 1]
    """
    n_samples = check_positive_int(n_samples, "n_samples")
    thin = check_positive_int(thin, "thin")
    burn_in = check_positive_int(burn_in, "burn_in", minimum=0)
    _check_sample_type(dtype, _check_graph(fg).compile())  # before a seed's generator is drawn
    sampler = GibbsSampler(
        fg, n_chains=n_chains, seed=seed, init=init, clamp=clamp, schedule=schedule, beta=beta
    )
    sampler._check_output(n_samples)  # before the burn-in, not after
    sampler.run(burn_in)
    return sampler.sample(n_samples, thin, dtype)
