"""The one learning rule: log-likelihood gradient = E_data[stats] - E_model[stats].

Every energy in ``pgm`` is linear in its parameters, ``E(x) = -theta . s(x)``,
so for data ``D`` over visible variables ``V`` (hidden ``H`` summed out)

.. math::

    \\frac{\\partial}{\\partial \\theta} \\frac{1}{|D|}\\sum_{v \\in D} \\log p(v)
    = \\frac{1}{|D|}\\sum_{v\\in D} E_{p(h|v)}[s(v, h)] - E_{p(x)}[s(x)].

The *data term* and the *model term* are estimated separately. This module
supplies estimators of both (exact enumeration, mean-field, CD-k and PCD
Gibbs chains) as flat vectors laid out like ``FactorGraph.theta``; every
estimator can be checked against the exact oracle on a tiny model.

References
----------
Ackley, Hinton & Sejnowski (1985), "A learning algorithm for Boltzmann machines".
Hinton (2002), "Training products of experts by minimizing contrastive divergence".
Tieleman (2008), "Training restricted Boltzmann machines using approximations to
the likelihood gradient" (PCD).
"""

from __future__ import annotations

import numpy as np

from pgm._random import as_generator
from pgm._validation import check_marginals, check_positive_int, check_states
from pgm.compiled import UNARY_VALUE
from pgm.graph import check_graph

__all__ = [
    "log_likelihood_gradient",
    "data_statistics",
    "product_statistics",
    "ExactModelStatistics",
    "ContrastiveDivergence",
    "PersistentContrastiveDivergence",
]


_DATA_METHODS = ("auto", "exact", "mean_field")


def _visible_ids(fg, visible) -> np.ndarray:
    if visible is None:
        return np.arange(fg.n_variables, dtype=np.int64)
    return fg._resolve(visible, "visible")


def log_likelihood_gradient(fg, data, visible=None) -> dict[str, np.ndarray]:
    """Exact gradient of the mean log-likelihood, keyed like ``fg.parameters()``.

    A thin alias of :func:`pgm.inference.exact.log_likelihood_gradient`, the
    reference every estimator in this module is tested against.
    """
    from pgm.inference import exact

    return exact.log_likelihood_gradient(fg, data, visible=visible)


def product_statistics(fg, marginals) -> np.ndarray:
    """Expected statistics under a fully factorised ``q(x) = prod_i q_i(x_i)``.

    Parameters
    ----------
    fg : FactorGraph
    marginals : ndarray of shape (n_variables, max_cardinality)
        ``q_i(s)`` in state-index order (rows sum to 1).

    Returns
    -------
    ndarray of shape (n_params,)
        ``E_q[s(x)]`` in the layout of ``fg.theta``.

    Raises
    ------
    TypeError
        If ``fg`` is not a FactorGraph or ``marginals`` is not numeric.
    ValueError
        If ``marginals`` has the wrong shape or does not hold distributions
        (finite, non-negative, zero padded, rows summing to 1 within 1e-8).
    """
    cg = check_graph(fg).compile()
    q = check_marginals(marginals, "marginals", cg)
    k_max = q.shape[1]
    values = np.zeros((cg.n_variables, k_max))
    for i in range(cg.n_variables):
        k = cg.cardinality[i]
        values[i, :k] = cg.state_value[cg.state_offset[i] : cg.state_offset[i] + k]
    mean = np.sum(q * values, axis=1)
    stats = np.zeros(cg.n_params)
    for i in range(cg.n_variables):
        for t in range(cg.unary_indptr[i], cg.unary_indptr[i + 1]):
            p = cg.unary_param[t]
            if cg.unary_kind[t] == UNARY_VALUE:
                stats[p] += mean[i]
            else:
                stats[p : p + cg.cardinality[i]] += q[i, : cg.cardinality[i]]
    np.add.at(stats, cg.edge_param, mean[cg.edge_i] * mean[cg.edge_j])
    for f in range(cg.n_factors):
        scope = cg.scope[cg.scope_indptr[f] : cg.scope_indptr[f + 1]]
        table = np.ones(())
        for var in scope:
            table = np.multiply.outer(table, q[var, : cg.cardinality[var]])
        start = cg.table_offset[f]
        stats[start : start + table.size] -= table.ravel()
    return stats


def data_statistics(fg, data, visible=None, *, method="auto", mean_field_options=None):
    """Data term ``mean_v E_{p(h|v)}[s(v, h)]`` as a flat vector.

    Parameters
    ----------
    fg : FactorGraph
    data : array_like of shape (n_rows, n_visible)
        Values of the visible variables.
    visible : array_like of int, optional
        Visible variable ids (default: all variables, so ``data`` are full states).
    method : {"auto", "exact", "mean_field"}
        How hidden variables are summed out: exact enumeration over the hidden
        variables given each row, or mean-field given each row (the positive
        phase of Salakhutdinov & Hinton 2009). "auto" uses exact when the
        hidden state space is at most 2**16 states.

    mean_field_options : dict, optional
        Keyword arguments of :func:`pgm.inference.mean_field.run`.

    Returns
    -------
    ndarray of shape (n_params,)

    Raises
    ------
    TypeError
        If ``fg`` is not a FactorGraph, ``data`` is not numeric (complex,
        strings, objects) or ``mean_field_options`` is not a dict.
    ValueError
        On zero rows, a wrong shape, values outside the visible variables'
        domains, or an unknown ``method``.
    """
    check_graph(fg)
    if not isinstance(method, str) or method not in _DATA_METHODS:
        raise ValueError(f"method must be one of {_DATA_METHODS}, got {method!r}")
    if mean_field_options is not None and not isinstance(mean_field_options, dict):
        raise TypeError(
            f"mean_field_options must be a dict or None, got {type(mean_field_options).__name__}"
        )
    ids = _visible_ids(fg, visible)
    padded = _pad_rows(fg, data, ids)
    hidden = np.setdiff1d(np.arange(fg.n_variables), ids)
    if hidden.size == 0:
        return fg.flat_statistics(padded).mean(axis=0)
    cg = fg.compile()
    if method == "auto":
        method = "exact" if np.sum(np.log2(cg.cardinality[hidden])) <= 16 else "mean_field"
    if method == "exact":
        from pgm.inference import exact

        grad = exact.log_likelihood_gradient(fg, padded[:, ids], visible=ids)
        model = exact.expectations(fg)
        return np.concatenate([(grad[k] + model[k]).ravel() for k in fg.parameters()])
    if method == "mean_field":
        from pgm.inference import mean_field

        options = dict(mean_field_options or {})
        rows = padded[:, ids]
        total = np.zeros(cg.n_params)
        for row in rows:
            clamp = {int(i): int(v) for i, v in zip(ids, row, strict=True)}
            result = mean_field.run(fg, clamp=clamp, **options)
            total += product_statistics(fg, result.marginals)
        return total / rows.shape[0]
    raise AssertionError(method)  # pragma: no cover - checked above


def _pad_rows(fg, data, ids) -> np.ndarray:
    """Validate visible rows; return full states (int64, hidden at their first value).

    :func:`pgm._validation.check_states` checks the dtype before anything is
    cast (no wrapped ``uint64``, no parsed strings, no dropped imaginary
    parts), then each visible column against its variable's domain.
    """
    try:
        data = np.asarray(data)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"data must be an array of integers: {exc}") from None
    if data.ndim != 2 or data.shape[1] != ids.shape[0]:
        raise ValueError(f"data must have shape (n_rows, {ids.shape[0]}), got {data.shape}")
    if data.shape[0] == 0:
        raise ValueError("data must have at least one row, got 0")
    cg = fg.compile()
    values, _ = check_states(data, cg.domain_kind[ids], cg.cardinality[ids], "data", ids=ids)
    full = np.tile(
        cg.indices_to_values(np.zeros(cg.n_variables, dtype=np.int64)), (data.shape[0], 1)
    )
    full[:, ids] = values
    return full


class ExactModelStatistics:
    """Model term ``E_p[s(x)]`` by exact enumeration (tiny models only)."""

    def __call__(self, fg, batch_states=None) -> np.ndarray:
        from pgm.inference import exact

        model = exact.expectations(fg)
        return np.concatenate([model[k].ravel() for k in fg.parameters()])


class ContrastiveDivergence:
    """Model term by CD-k: ``k`` Gibbs sweeps started at the data (Hinton 2002).

    Needs fully observed training states (every variable visible); the chains
    restart from the current batch on each call, so the estimate is biased
    for small ``k`` and approaches the model term as ``k`` grows.
    """

    def __init__(self, k: int = 1, schedule: str = "auto", seed=None):
        from pgm.inference.gibbs import _check_schedule

        self.k = check_positive_int(k, "k")
        self.schedule = _check_schedule(schedule)
        self._rng = as_generator(seed)

    def __call__(self, fg, batch_states) -> np.ndarray:
        from pgm.inference import gibbs

        states = fg.check_states(batch_states, "batch_states")
        sampler = gibbs.GibbsSampler(
            fg, n_chains=states.shape[0], seed=self._rng, init=states, schedule=self.schedule
        )
        sampler.run(self.k)
        return fg.flat_statistics(sampler.state).mean(axis=0)


class PersistentContrastiveDivergence:
    """Model term by PCD: persistent Gibbs chains advanced ``k`` sweeps per call.

    The fantasy particles survive between parameter updates (Tieleman 2008),
    so with small learning rates they stay close to the current model.
    """

    def __init__(self, n_chains: int = 100, k: int = 1, schedule: str = "auto", seed=None):
        from pgm.inference.gibbs import _check_schedule

        self.n_chains = check_positive_int(n_chains, "n_chains")
        self.k = check_positive_int(k, "k")
        self.schedule = _check_schedule(schedule)
        self._rng = as_generator(seed)
        self.sampler = None

    def __call__(self, fg, batch_states=None) -> np.ndarray:
        from pgm.inference import gibbs

        if self.sampler is None:
            self.sampler = gibbs.GibbsSampler(
                fg, n_chains=self.n_chains, seed=self._rng, schedule=self.schedule
            )
        self.sampler.run(self.k)
        return fg.flat_statistics(self.sampler.state).mean(axis=0)
