"""The frozen flat-array form of a factor graph that every kernel consumes.

``FactorGraph.compile()`` returns a :class:`CompiledGraph`. It describes the
energy's *structure* (domains, neighbour lists, factor scopes, colour classes)
with contiguous read-only numpy arrays and no Python objects. The parameters
live beside it in one flat vector ``theta`` (``FactorGraph.theta``) so that
learning can update them without recompiling.

The energy of a state with state indices ``x`` (``x[i]`` in ``0..k_i-1``) and
values ``val[i] = state_value[state_offset[i] + x[i]]`` is

.. math::

    E(x) = - \\sum_{t \\in unary,\\,kind=0} \\theta_{p_t}\\, val[i_t]
           - \\sum_{t \\in unary,\\,kind=1} \\theta_{p_t + x[i_t]}
           - \\sum_{e=(i,j)} \\theta_{p_e}\\, val[i]\\, val[j]
           + \\sum_{f} \\theta_{o_f + \\sum_r s_{f,r} x[scope_{f,r}]}

where the last sum runs over table factors with row-major strides ``s``.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass, field, fields

import numpy as np

from pgm._validation import values_to_indices as _values_to_indices

__all__ = ["CompiledGraph", "KernelGraph", "DOMAIN_BINARY", "DOMAIN_SPIN", "DOMAIN_CATEGORICAL"]

DOMAIN_BINARY = 0
DOMAIN_SPIN = 1
DOMAIN_CATEGORICAL = 2

UNARY_VALUE = 0  # E -= theta[p] * value(x_i)
UNARY_ONEHOT = 1  # E -= theta[p + x_i]

#: The tuple of structure arrays that kernels receive (Numba accepts a
#: heterogeneous namedtuple of arrays as one argument).
KernelGraph = namedtuple(
    "KernelGraph",
    [
        "cardinality",
        "state_offset",
        "state_value",
        "unary_indptr",
        "unary_param",
        "unary_kind",
        "adj_indptr",
        "adj_indices",
        "adj_param",
        "scope_indptr",
        "scope",
        "table_offset",
        "table_stride",
        "incidence_indptr",
        "incidence_factor",
        "incidence_pos",
    ],
)


@dataclass(frozen=True, eq=False)
class CompiledGraph:
    """Frozen flat arrays describing a factor graph's energy.

    All index arrays are ``int64`` and all reals ``float64``; every array is
    read-only. Kernels take :attr:`kernel_graph` (a namedtuple of the arrays
    they need) plus the parameter vector ``theta``.

    Attributes
    ----------
    n_variables : int
    n_params : int
        Length of the parameter vector ``theta`` the structure indexes into.
    revision : int
        The graph revision this was compiled from.
    domain_kind : ndarray of shape (n_variables,)
        0 binary, 1 spin, 2 categorical.
    cardinality : ndarray of shape (n_variables,)
        Number of states ``k_i``.
    state_offset : ndarray of shape (n_variables + 1,)
    state_value : ndarray of shape (sum k,)
        CSR map from a variable's state index to its value (0/1, -1/+1, 0..k-1).
    unary_indptr, unary_param, unary_kind : ndarray
        CSR over variables of unary terms. ``unary_kind`` 0: ``E -= theta[p] *
        value``; 1: ``E -= theta[p + x_i]`` (one parameter per state).
    edge_i, edge_j, edge_param : ndarray of shape (n_edges,)
        Pairwise terms ``E -= theta[p] * value_i * value_j`` (``i != j``).
    adj_indptr, adj_indices, adj_param : ndarray
        The same edges in CSR, each stored in both endpoint rows.
    scope_indptr, scope : ndarray
        Table-factor scopes in CSR.
    table_offset : ndarray of shape (n_factors,)
        Start of each factor's row-major energy table in ``theta``.
    table_stride : ndarray of shape (total scope size,)
        Row-major stride of each scope position (aligned with ``scope``).
    incidence_indptr, incidence_factor, incidence_pos : ndarray
        For each variable, the table factors it belongs to and its position
        in their scopes.
    colour_indptr, colour_vertices : ndarray
        Colour classes of the interaction graph (pairwise edges and factor
        cliques): no two variables of one class interact, so they are
        conditionally independent given the rest.
    """

    n_variables: int
    n_params: int
    revision: int
    domain_kind: np.ndarray
    cardinality: np.ndarray
    state_offset: np.ndarray
    state_value: np.ndarray
    unary_indptr: np.ndarray
    unary_param: np.ndarray
    unary_kind: np.ndarray
    edge_i: np.ndarray
    edge_j: np.ndarray
    edge_param: np.ndarray
    adj_indptr: np.ndarray
    adj_indices: np.ndarray
    adj_param: np.ndarray
    scope_indptr: np.ndarray
    scope: np.ndarray
    table_offset: np.ndarray
    table_stride: np.ndarray
    incidence_indptr: np.ndarray
    incidence_factor: np.ndarray
    incidence_pos: np.ndarray
    colour_indptr: np.ndarray
    colour_vertices: np.ndarray
    #: Derived objects that inference builds from this structure (e.g. Gibbs
    #: sweep plans), memoised here: the structure never changes, so they
    #: never go stale. Not part of the structure.
    cache: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                value.flags.writeable = False

    @property
    def n_edges(self) -> int:
        """Number of pairwise terms."""
        return int(self.edge_i.shape[0])

    @property
    def n_factors(self) -> int:
        """Number of table factors."""
        return int(self.table_offset.shape[0])

    @property
    def n_colours(self) -> int:
        """Number of colour classes."""
        return int(self.colour_indptr.shape[0] - 1)

    @property
    def max_cardinality(self) -> int:
        """Largest number of states of any variable (0 for an empty graph)."""
        return int(self.cardinality.max()) if self.n_variables else 0

    @property
    def is_pairwise(self) -> bool:
        """True when the graph has no table factors."""
        return self.n_factors == 0

    @property
    def log10_n_states(self) -> float:
        """``log10`` of the number of joint states (no overflow for big graphs)."""
        return float(np.sum(np.log10(self.cardinality))) if self.n_variables else 0.0

    @property
    def kernel_graph(self) -> KernelGraph:
        """The structure arrays in the order kernels expect."""
        return KernelGraph(*(getattr(self, name) for name in KernelGraph._fields))

    def values_to_indices(self, values: np.ndarray, name: str = "values") -> np.ndarray:
        """Map integer values of shape (..., n_variables) to state indices.

        Raises
        ------
        ValueError
            On a value outside its variable's domain (named after ``name``).
        """
        values = np.asarray(values, dtype=np.int64)
        labels = lambda pos: ("[" + ", ".join(map(str, pos)) + "]", pos[-1])  # noqa: E731
        return _values_to_indices(values, self.domain_kind, self.cardinality, name, labels)

    def indices_to_values(self, indices: np.ndarray) -> np.ndarray:
        """Map state indices of shape (..., n_variables) to values (``int64``)."""
        indices = np.asarray(indices, dtype=np.int64)
        return self.state_value[self.state_offset[:-1] + indices].astype(np.int64)
