"""Property tests: public entry points fed arrays of many dtypes, shapes and value classes.

Each call either returns the correct result (checked against a float64 reference) or raises
TypeError/ValueError whose message names the argument, and a refused call changes nothing.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pgm
from pgm.inference import exact

DTYPES = [bool, np.int8, np.uint8, np.int64, np.uint64, np.float32, np.float64, complex, object, str]
VALUES = [0, 1, -1, 2, 0.5, np.nan, np.inf, 1e300, 2**63, 2**64 - 1]


def _graph():
    g = pgm.FactorGraph()
    v = g.add_variables("v", 3)
    g.add_unary(v, [0.5, -1.0, 2.0])
    g.add_edges([[0, 1], [1, 2]], [1.0, -0.5])
    return g


def _array(values, dtype):
    try:
        with np.errstate(all="ignore"):
            return np.array(values).astype(dtype)
    except (OverflowError, ValueError, TypeError):
        return np.array(values, dtype=object)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.sampled_from(VALUES), min_size=3, max_size=3),
    dtype=st.sampled_from(DTYPES),
)
def test_energy_and_statistics_refuse_or_agree(values, dtype):
    g = _graph()
    before = g.theta.copy()
    states = _array(values, dtype)
    try:
        energy = g.energy(states)
    except (TypeError, ValueError) as exc:
        assert "states" in str(exc)
        np.testing.assert_array_equal(g.theta, before)
        return
    reference = np.array([float(x) for x in states.tolist()])
    assert set(reference.tolist()) <= {0.0, 1.0}
    assert energy == g.energy(reference.astype(np.int64))
    stats = g.flat_statistics(states)
    assert energy == -stats[0] @ g.theta


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.sampled_from(VALUES), min_size=4, max_size=4),
    dtype=st.sampled_from(DTYPES),
)
def test_set_theta_refuses_or_stores(values, dtype):
    g = _graph()
    before = g.theta.copy()
    theta = _array(values[: before.size], dtype)
    try:
        g.set_theta(theta[:before.size] if theta.size >= before.size else theta)
    except (TypeError, ValueError) as exc:
        assert "theta" in str(exc)
        np.testing.assert_array_equal(g.theta, before)
        return
    assert np.all(np.isfinite(g.theta))
    log_z = exact.log_partition(g)
    assert np.isfinite(log_z)


@settings(max_examples=30, deadline=None)
@given(
    shape=st.sampled_from([(0, 3), (2, 3), (2, 2), (3,), (1, 1, 3)]),
    dtype=st.sampled_from(DTYPES),
)
def test_log_likelihood_refuses_or_is_correct(shape, dtype):
    g = _graph()
    data = _array(np.ones(shape), dtype)
    try:
        ll = exact.log_likelihood(g, data)
    except (TypeError, ValueError) as exc:
        assert "data" in str(exc) or "states" in str(exc)
        return
    rows = np.asarray(data, dtype=np.float64).reshape(-1, 3).astype(np.int64)
    want = np.mean(-g.energy(rows)) - exact.log_partition(g)
    # both sides are sums of a few O(1) float64 terms: a few ulps of log Z
    assert np.isclose(ll, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("domain", [2**21, 2**40, 0, 1, -3, 2.5, "ternary", True])
def test_add_variables_refuses_bad_domains(domain):
    g = pgm.FactorGraph()
    with pytest.raises(ValueError, match="domain"):
        g.add_variables("c", 1, domain=domain)
    assert g.n_variables == 0
