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

DTYPES = [
    bool, np.int8, np.uint8, np.int64, np.uint64, np.float16, np.float32, np.float64, complex,
    object, str,
]  # fmt: skip
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
        g.set_theta(theta[: before.size] if theta.size >= before.size else theta)
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


# ---------------------------------------------------------------- the other entry points
# Every test below feeds one argument of one public function an array drawn from
# DTYPES x VALUES (x a few shapes). A call must either refuse with TypeError or
# ValueError naming that argument, leaving the graph as it was (parameters and
# structure revision), or give the result of the same call on the float64/int64
# reference array. Examples are few and fixed (derandomize) to keep this fast.
FUZZ = settings(max_examples=25, deadline=None, derandomize=True)
STATE_VALUES = st.lists(st.sampled_from(VALUES), min_size=3, max_size=3)
MARGINAL_VALUES = st.lists(
    st.sampled_from([0.0, 1.0, 0.5, 0.25, 0.75, -0.5, 1.5, np.nan, np.inf]), min_size=6, max_size=6
)


def _snapshot(g):
    return g.theta.copy(), g.revision


def _assert_refused(exc, g, before, *names):
    assert any(name in str(exc) for name in names), (names, str(exc))
    theta, revision = before
    np.testing.assert_array_equal(g.theta, theta)
    assert g.revision == revision


def _reference(arr) -> np.ndarray:
    """The float64 values of an accepted array (accepted ones are real and finite)."""
    return np.array([float(x) for x in np.ravel(arr).tolist()]).reshape(np.shape(arr))


@FUZZ
@given(values=STATE_VALUES, dtype=st.sampled_from(DTYPES))
def test_gibbs_sample_init_refuses_or_starts_there(values, dtype):
    from pgm.inference import gibbs

    g = _graph()
    before = _snapshot(g)
    init = _array(values, dtype)
    try:
        got = gibbs.sample(g, 3, burn_in=0, init=init, seed=0)
    except (TypeError, ValueError) as exc:
        _assert_refused(exc, g, before, "init")
        return
    ref = _reference(init).astype(np.int64)
    np.testing.assert_array_equal(got, gibbs.sample(g, 3, burn_in=0, init=ref, seed=0))


@FUZZ
@given(values=STATE_VALUES, dtype=st.sampled_from(DTYPES))
def test_gibbs_step_state_refuses_or_steps(values, dtype):
    from dataclasses import replace

    from pgm.inference import gibbs

    g = _graph()
    state = gibbs.init_state(g, 1, seed=1)
    indices = _array([values], dtype)
    before = _snapshot(g)
    try:
        got = gibbs.step(g, replace(state, indices=indices), 2)
    except (TypeError, ValueError) as exc:
        _assert_refused(exc, g, before, "state")
        return
    ref = replace(state, indices=_reference(indices).astype(np.int64))
    np.testing.assert_array_equal(got.indices, gibbs.step(g, ref, 2).indices)


@FUZZ
@given(values=MARGINAL_VALUES, dtype=st.sampled_from(DTYPES))
def test_mean_field_init_refuses_or_agrees(values, dtype):
    from pgm.inference import mean_field

    g = _graph()
    before = _snapshot(g)
    init = _array(np.reshape(values, (3, 2)), dtype)
    try:
        got = mean_field.run(g, init=init, max_iter=5)
    except (TypeError, ValueError) as exc:
        _assert_refused(exc, g, before, "init")
        return
    want = mean_field.run(g, init=_reference(init), max_iter=5)
    np.testing.assert_array_equal(got.marginals, want.marginals)


def _product_reference(g, q):
    """E_q[s(x)] by enumerating every state (the definition)."""
    import itertools

    states = np.array(list(itertools.product([0, 1], repeat=g.n_variables)))
    weights = np.prod(q[np.arange(g.n_variables), states], axis=1)
    return weights @ g.flat_statistics(states)


@FUZZ
@given(values=MARGINAL_VALUES, dtype=st.sampled_from(DTYPES))
def test_product_statistics_refuses_or_is_correct(values, dtype):
    from pgm import learning

    g = _graph()
    before = _snapshot(g)
    q = _array(np.reshape(values, (3, 2)), dtype)
    try:
        got = learning.product_statistics(g, q)
    except (TypeError, ValueError) as exc:
        _assert_refused(exc, g, before, "marginals")
        return
    # closed form vs a sum over 8 weighted states: rounding only
    np.testing.assert_allclose(got, _product_reference(g, _reference(q)), rtol=1e-12, atol=1e-15)


@FUZZ
@given(
    values=st.lists(st.sampled_from(VALUES), min_size=6, max_size=6),
    dtype=st.sampled_from(DTYPES),
    visible=st.sampled_from([None, [0, 2]]),
)
def test_data_statistics_refuses_or_is_correct(values, dtype, visible):
    from pgm import learning

    g = _graph()
    before = _snapshot(g)
    n_visible = 3 if visible is None else len(visible)
    data = _array(np.reshape(values, (2, 3))[:, :n_visible], dtype)
    try:
        got = learning.data_statistics(g, data, visible=visible)
    except (TypeError, ValueError) as exc:
        _assert_refused(exc, g, before, "data")
        return
    rows = _reference(data).astype(np.int64)
    if visible is None:
        want = g.flat_statistics(rows).mean(axis=0)
    else:  # the hidden variable 1 summed out exactly: p(x1 | x0, x2) by its two energies
        want = np.zeros(g.theta.shape[0])
        for row in rows:
            full = np.array([[row[0], h, row[1]] for h in (0, 1)])
            p = np.exp(-g.energy(full) - np.logaddexp.reduce(-g.energy(full)))
            want += p @ g.flat_statistics(full)
        want /= rows.shape[0]
    # two exact computations of the same conditional moments: rounding only
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


@FUZZ
@given(
    values=st.lists(st.sampled_from(VALUES), min_size=6, max_size=6),
    dtype=st.sampled_from(DTYPES),
)
def test_fit_refuses_without_touching_the_graph_or_trains(values, dtype):
    from pgm import learning

    g = _graph()
    before = _snapshot(g)
    data = _array(np.reshape(values, (2, 3)), dtype)
    try:
        learning.fit(g, data, n_epochs=2, seed=0)
    except (TypeError, ValueError) as exc:
        _assert_refused(exc, g, before, "data")
        return
    twin = _graph()
    learning.fit(twin, _reference(data).astype(np.int64), n_epochs=2, seed=0)
    np.testing.assert_array_equal(g.theta, twin.theta)


@FUZZ
@given(value=st.sampled_from(VALUES), dtype=st.sampled_from(DTYPES))
def test_exact_clamp_values_refuse_or_agree(value, dtype):
    g = _graph()
    before = _snapshot(g)
    clamped = _array([value], dtype)[0]
    try:
        got = exact.marginals(g, clamp={1: clamped})
    except (TypeError, ValueError) as exc:
        _assert_refused(exc, g, before, "clamp")
        return
    np.testing.assert_array_equal(got, exact.marginals(g, clamp={1: int(float(clamped))}))


@FUZZ
@given(
    shape=st.sampled_from([(0, 3), (2, 3), (2, 2), (3,), (1, 1, 3), (4, 3)]),
    dtype=st.sampled_from(DTYPES),
    fill=st.sampled_from(VALUES),
)
def test_exact_functions_refuse_or_are_correct(shape, dtype, fill):
    g = _graph()
    before = _snapshot(g)
    data = _array(np.full(shape, fill), dtype)
    try:
        grad = exact.log_likelihood_gradient(g, data)
    except (TypeError, ValueError) as exc:
        _assert_refused(exc, g, before, "data")
        return
    rows = _reference(data).astype(np.int64)
    model = exact.expectations(g)
    flat = np.concatenate([grad[k].ravel() for k in g.parameters()])
    want = g.flat_statistics(rows).mean(axis=0) - np.concatenate(
        [model[k].ravel() for k in g.parameters()]
    )
    # data minus model moments from two exact computations: rounding only
    np.testing.assert_allclose(flat, want, rtol=1e-12, atol=1e-14)
