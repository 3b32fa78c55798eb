"""Tests for naive mean-field (``pgm.inference.mean_field``).

Exact targets come from ``tests/oracle.py`` (brute force over all states,
energy summed term by term). Tolerances: 1e-10 wherever mean-field is exact
(float64 rounding of sums of at most a few thousand terms of size <= 1e2);
looser ones state their reason in the test.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pgm
import tests.oracle as oracle
from pgm.inference import _mean_field_kernels as _k
from pgm.inference import mean_field
from tests._nojit import run_without_jit
from tests.strategies import build, graph_specs

EXACT = {"rtol": 1e-10, "atol": 1e-10}
# graphs small enough for the brute-force product-weight sums in every example
SPECS = graph_specs(max_variables=8, max_states=1024)


# ----------------------------------------------------------------------------- helpers


def index_state(terms, state):
    """State indices of a state given as values."""
    return [terms.domains[i].index(v) for i, v in enumerate(state)]


def log_z_beta(terms, beta=1.0, clamp=None):
    """log sum over states (consistent with ``clamp``) of exp(-beta E), max-shifted."""
    clamp = clamp or {}
    energies = [
        beta * terms.energy(s) for s in terms.states() if all(s[i] == v for i, v in clamp.items())
    ]
    m = min(energies)
    return -m + math.log(sum(math.exp(m - e) for e in energies))


def conditional_marginals(terms, clamp):
    """Exact marginals of p(x | clamped) in the (n, max_k) layout."""
    states = [s for s in terms.states() if all(s[i] == v for i, v in clamp.items())]
    energies = np.array([terms.energy(s) for s in states])
    p = np.exp(-(energies - energies.min()))
    p /= p.sum()
    out = np.zeros((len(terms.domains), max(len(d) for d in terms.domains)))
    for state, w in zip(states, p, strict=True):
        for i, idx in enumerate(index_state(terms, state)):
            out[i, idx] += w
    return out


def product_weight(q, idx):
    return math.prod(q[i, s] for i, s in enumerate(idx))


def brute_force_bound(terms, q, beta=1.0):
    """-beta E_q[E] + H(q) by enumerating every state with product weights."""
    expected = 0.0
    for state in terms.states():
        expected += product_weight(q, index_state(terms, state)) * terms.energy(state)
    entropy = -sum(p * math.log(p) for p in q.ravel() if p > 0)
    return -beta * expected + entropy


def random_marginals(fg, rng):
    cg = fg.compile()
    q = np.zeros((cg.n_variables, cg.max_cardinality))
    for i, k in enumerate(cg.cardinality):
        q[i, :k] = rng.dirichlet(np.ones(k))
    return q


def independent_graph():
    """Mixed domains, unary terms and one-variable table factors only."""
    rng = np.random.default_rng(3)
    spec = {
        "groups": [("b", 2, "binary"), ("s", 2, "spin"), ("c", 2, 3), ("d", 1, 4)],
        "terms": [
            ("unary", "b", rng.normal(0, 1, 2)),
            ("unary", "s", rng.normal(0, 1, 2)),
            ("unary", "c", rng.normal(0, 1, (2, 3))),
            ("factor", np.array([4]), rng.normal(0, 1, 3)),
            ("factor", np.array([6]), rng.normal(0, 1, 4)),
            ("factor", np.array([1]), rng.normal(0, 1, 2)),
        ],
    }
    return build(spec)


def weak_spec(coupling):
    """A loopy mixed-domain graph: O(1) unary terms, every interaction scaled by ``coupling``."""
    rng = np.random.default_rng(7)
    return {
        "groups": [("s", 3, "spin"), ("b", 2, "binary"), ("c", 2, 3)],
        "terms": [
            ("unary", "s", rng.normal(0, 0.5, 3)),
            ("unary", "b", rng.normal(0, 0.5, 2)),
            ("unary", "c", rng.normal(0, 0.5, (2, 3))),
            ("pairwise", (0, 1), coupling * rng.choice([-1.0, 1.0], (3, 2))),
            ("edges", np.array([[0, 1], [1, 2], [2, 0], [5, 6]]), coupling * np.ones(4)),
            ("factor", np.array([5, 0]), coupling * rng.choice([-1.0, 1.0], (3, 2))),
            ("factor", np.array([6, 3, 1]), coupling * rng.choice([-1.0, 1.0], (3, 2, 2))),
        ],
    }


# ----------------------------------------------------------------------------- exactness


@pytest.mark.parametrize("schedule", ["sequential", "parallel"])
def test_exact_without_coupling(schedule):
    fg, terms = independent_graph()
    result = mean_field.run(fg, schedule=schedule, damping=0.0, tol=1e-14, seed=0)
    assert result.converged
    np.testing.assert_allclose(result.marginals, oracle.marginals(terms), **EXACT)
    np.testing.assert_allclose(result.log_z_lower_bound, oracle.log_partition(terms), **EXACT)


def test_exact_without_coupling_at_other_beta():
    fg, terms = independent_graph()
    beta = 0.37
    result = mean_field.run(fg, beta=beta, tol=1e-14, seed=1)
    np.testing.assert_allclose(result.log_z_lower_bound, log_z_beta(terms, beta), **EXACT)


def test_sequential_on_independent_graph_converges_in_two_sweeps():
    # one sweep reaches the exact answer; the second observes no change
    fg, _ = independent_graph()
    result = mean_field.run(fg, tol=1e-12, seed=2)
    assert result.converged and result.n_iter == 2
    assert result.max_change < 1e-12


def test_clamping_that_separates_is_exact():
    """Clamping the hub makes every other variable independent (pairwise and factor terms)."""
    rng = np.random.default_rng(11)
    spec = {
        "groups": [("v", 3, "binary"), ("h", 2, "spin"), ("c", 2, 3)],
        "terms": [
            ("unary", "v", rng.normal(0, 1, 3)),
            ("unary", "c", rng.normal(0, 1, (2, 3))),
            ("pairwise", (0, 1), rng.normal(0, 1.5, (3, 2))),
            ("factor", np.array([5, 3]), rng.normal(0, 1.5, (3, 2))),
            ("factor", np.array([6, 4, 5]), rng.normal(0, 1.5, (3, 2, 3))),
        ],
    }
    fg, terms = build(spec)
    # v (0-2) interact only through h (3, 4); c[1] (6) only through h[1] and c[0] (5)
    clamp = {3: 1, 4: -1, 5: 2}
    free = [0, 1, 2, 6]
    for a, b in itertools.combinations(free, 2):
        assert fg.independent(a, b, given=list(clamp))
    for schedule in ("sequential", "parallel"):
        result = mean_field.run(fg, clamp=clamp, schedule=schedule, tol=1e-14, seed=3)
        assert result.converged
        np.testing.assert_allclose(result.marginals, conditional_marginals(terms, clamp), **EXACT)
        np.testing.assert_allclose(
            result.log_z_lower_bound, log_z_beta(terms, clamp=clamp), **EXACT
        )


def test_clamped_rows_are_one_hot_and_padding_is_zero():
    fg, _ = build(weak_spec(1.0))
    init = random_marginals(fg, np.random.default_rng(0))
    result = mean_field.run(fg, clamp={0: -1, 3: 1, 6: 2}, init=init, tol=1e-10)
    q = result.marginals
    np.testing.assert_array_equal(q[0], [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(q[3], [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(q[6], [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(q[:5, 2], 0.0)
    # rows are normalised by a division: a sum of <= 3 terms is 1 to a few ulp
    np.testing.assert_allclose(q.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert not q.flags.writeable and not result.history.flags.writeable


def test_everything_clamped_gives_minus_beta_energy():
    fg, _ = build(weak_spec(1.0))
    values = [1, -1, 1, 0, 1, 2, 0]
    result = mean_field.run(fg, clamp=dict(enumerate(values)), beta=2.0)
    assert result.converged and result.n_iter == 1
    np.testing.assert_allclose(result.log_z_lower_bound, -2.0 * fg.energy(values), **EXACT)


# ----------------------------------------------------------------------------- properties


@settings(deadline=None)
@given(
    spec=SPECS, seed=st.integers(0, 2**32 - 1), schedule=st.sampled_from(["sequential", "parallel"])
)
def test_bound_never_exceeds_log_z(spec, seed, schedule):
    """log Z - L(q) = KL(q || p) >= 0; 1e-10 relative slack covers rounding only."""
    fg, terms = build(spec)
    result = mean_field.run(fg, schedule=schedule, max_iter=200, seed=seed)
    log_z = oracle.log_partition(terms)
    assert result.log_z_lower_bound <= log_z + 1e-10 * max(1.0, abs(log_z))
    q = result.marginals
    # rows are normalised by a division: a sum of <= 3 terms is 1 to a few ulp
    np.testing.assert_allclose(q.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert np.all(q >= 0)
    assert np.all(q[np.arange(q.shape[1])[None, :] >= fg.compile().cardinality[:, None]] == 0)


@settings(deadline=None)
@given(spec=SPECS, seed=st.integers(0, 2**32 - 1), damping=st.sampled_from([0.0, 0.3]))
def test_sequential_updates_never_decrease_the_bound(spec, seed, damping):
    """Each coordinate update maximises a concave function of q_i; 1e-12 relative for rounding."""
    fg, _ = build(spec)
    result = mean_field.run(fg, damping=damping, max_iter=30, tol=0.0, seed=seed)
    history = result.history
    assert history.shape == (result.n_iter + 1,)
    scale = max(1.0, float(np.abs(history).max()))
    assert np.all(np.diff(history) >= -1e-12 * scale), np.diff(history).min()


@settings(deadline=None)
@given(spec=SPECS, seed=st.integers(0, 2**32 - 1), beta=st.sampled_from([0.5, 1.0, 2.0]))
def test_bound_equals_brute_force_product_expectation(spec, seed, beta):
    fg, terms = build(spec)
    result = mean_field.run(fg, beta=beta, max_iter=50, seed=seed)
    np.testing.assert_allclose(
        result.log_z_lower_bound, brute_force_bound(terms, result.marginals, beta), **EXACT
    )
    # and at an arbitrary (not fixed-point) product distribution
    q = random_marginals(fg, np.random.default_rng(seed))
    np.testing.assert_allclose(
        mean_field.lower_bound(fg, q, beta=beta), brute_force_bound(terms, q, beta), **EXACT
    )


@settings(deadline=None)
@given(spec=SPECS, seed=st.integers(0, 2**32 - 1))
def test_expected_conditional_energies_match_brute_force(spec, seed):
    """h_i(s) - h_i(0) = E_q[E | x_i = s] - E_q[E | x_i = 0], enumerated with product weights."""
    fg, terms = build(spec)
    cg = fg.compile()
    q = random_marginals(fg, np.random.default_rng(seed))
    out = np.zeros(cg.max_cardinality)
    for i, k in enumerate(cg.cardinality):
        brute = np.zeros(k)
        for state in terms.states():
            idx = index_state(terms, state)
            weight = math.prod(q[j, s] for j, s in enumerate(idx) if j != i)
            brute[idx[i]] += weight * terms.energy(state)
        _k.expected_conditional_energies(i, q, cg.kernel_graph, fg.theta, out)
        np.testing.assert_allclose(out[:k] - out[0], brute - brute[0], **EXACT)


# ----------------------------------------------------------------------------- schedules


def test_parallel_damped_converges_and_agrees_with_sequential():
    """Weak coupling makes the update a contraction, so the fixed point is unique.

    Both schedules stop when a sweep moves no marginal by more than 1e-13; at a
    contraction rate r < 1 the distance to the fixed point is then at most
    1e-13 / (1 - r), far below the 1e-9 asserted.
    """
    fg, _ = build(weak_spec(0.2))
    seq = mean_field.run(fg, tol=1e-13, seed=4)
    par = mean_field.run(fg, schedule="parallel", damping=0.5, tol=1e-13, seed=5)
    assert seq.converged and par.converged
    np.testing.assert_allclose(par.marginals, seq.marginals, rtol=0, atol=1e-9)
    np.testing.assert_allclose(par.log_z_lower_bound, seq.log_z_lower_bound, rtol=0, atol=1e-10)


def test_undamped_parallel_updates_can_oscillate():
    # two strongly anti-aligned spins updated together flip back and forth forever
    # (the 2-cycle: both "up", then both "down"); damping lets them settle anti-aligned
    fg = pgm.FactorGraph()
    fg.add_variables("s", 2, domain="spin")
    fg.add_edges([[0, 1]], [-3.0])
    init = np.array([[0.1, 0.9], [0.3, 0.7]])
    result = mean_field.run(fg, init=init, schedule="parallel", damping=0.0, max_iter=50)
    assert not result.converged and result.n_iter == 50
    assert result.max_change > 0.9
    damped = mean_field.run(fg, init=init, schedule="parallel", damping=0.5, tol=1e-12)
    sequential = mean_field.run(fg, init=init, tol=1e-12)
    assert damped.converged
    # the two anti-aligned optima are mirror images with the same bound
    np.testing.assert_allclose(damped.marginals[0], damped.marginals[1, ::-1], rtol=0, atol=1e-10)
    assert abs(damped.marginals[0, 0] - damped.marginals[0, 1]) > 0.99
    np.testing.assert_allclose(
        damped.log_z_lower_bound, sequential.log_z_lower_bound, rtol=0, atol=1e-10
    )


def test_weak_coupling_error_is_second_order():
    """Mean-field is exact to first order in the couplings: error = c J^2 + O(J^3).

    Halving J must then divide the largest marginal error by about 4 (an O(J)
    error would give 2), so we require a ratio in [3, 5]; and at J = 0.05 the
    error must be below 4 J^2 = 0.01 (c is about 0.2 on this graph: degree
    <= 4, values <= 2, a generous constant rather than a tuned one).
    """
    errors = []
    for coupling in (0.1, 0.05):
        fg, terms = build(weak_spec(coupling))
        result = mean_field.run(fg, init="uniform", tol=1e-13)
        assert result.converged
        errors.append(np.abs(result.marginals - oracle.marginals(terms)).max())
    assert 3.0 <= errors[0] / errors[1] <= 5.0, errors
    assert errors[1] <= 4 * 0.05**2, errors


def test_uniform_init_stays_on_symmetric_saddle_random_init_breaks_it():
    fg = pgm.FactorGraph()
    fg.add_variables("s", 3, domain="spin")
    fg.add_edges([[0, 1], [1, 2], [0, 2]], [2.0, 2.0, 2.0])
    stuck = mean_field.run(fg, init="uniform")
    np.testing.assert_array_equal(stuck.marginals, 0.5)
    broken = mean_field.run(fg, seed=0)
    assert np.abs(broken.marginals - 0.5).max() > 0.4
    assert broken.log_z_lower_bound > stuck.log_z_lower_bound


# ----------------------------------------------------------------------------- state, seeds


def test_same_seed_same_result_and_init_array_is_used():
    fg, _ = build(weak_spec(1.5))
    a = mean_field.run(fg, seed=123)
    b = mean_field.run(fg, seed=123)
    np.testing.assert_array_equal(a.marginals, b.marginals)
    np.testing.assert_array_equal(a.history, b.history)
    init = random_marginals(fg, np.random.default_rng(9))
    c = mean_field.run(fg, init=init, max_iter=1)
    expected = mean_field.step(fg, mean_field.init_state(fg, init=init))
    np.testing.assert_array_equal(c.marginals, expected.marginals)
    np.testing.assert_allclose(c.history[0], mean_field.lower_bound(fg, init), **EXACT)


@pytest.mark.parametrize("schedule", ["sequential", "parallel"])
def test_init_state_and_step_reproduce_run(schedule):
    fg, _ = build(weak_spec(0.8))
    clamp = {2: 1}
    result = mean_field.run(fg, clamp=clamp, schedule=schedule, tol=1e-10, seed=7)
    state = mean_field.init_state(fg, clamp=clamp, seed=7)
    np.testing.assert_array_equal(state.free, [0, 1, 3, 4, 5, 6])
    for _ in range(result.n_iter):
        before = state.marginals.copy()
        new = mean_field.step(fg, state, schedule=schedule)
        np.testing.assert_array_equal(state.marginals, before)  # input left unchanged
        state = new
    np.testing.assert_array_equal(state.marginals, result.marginals)
    assert state.max_change == result.max_change


def test_large_parameters_stay_finite():
    """Energies of order 1e3 must not overflow: softmax and log Z are max-shifted."""
    rng = np.random.default_rng(5)
    spec = {
        "groups": [("s", 3, "spin"), ("c", 2, 3)],
        "terms": [
            ("unary", "s", rng.choice([-1e3, 1e3], 3)),
            ("edges", np.array([[0, 1], [1, 2], [3, 4]]), np.array([50.0, -1e3, 1e3])),
            ("factor", np.array([3, 0]), rng.choice([-50.0, 50.0], (3, 2))),
        ],
    }
    fg, terms = build(spec)
    for schedule in ("sequential", "parallel"):
        result = mean_field.run(fg, schedule=schedule, seed=0)
        assert np.all(np.isfinite(result.marginals)) and np.isfinite(result.log_z_lower_bound)
        log_z = oracle.log_partition(terms)
        assert result.log_z_lower_bound <= log_z + 1e-10 * abs(log_z)


def test_kernels_run_without_jit():
    """The kernels are plain Python under NUMBA_DISABLE_JIT=1 and give the same numbers.

    Same operations in the same order, so agreement is to rounding (1e-12).
    """
    code = (
        "import json\n"
        "from pgm.inference import mean_field\n"
        "from tests.strategies import build\n"
        "from tests.inference.test_mean_field import weak_spec\n"
        "fg, _ = build(weak_spec(0.7))\n"
        "for s in ('sequential', 'parallel'):\n"
        "    r = mean_field.run(fg, clamp={1: 1}, schedule=s, seed=3, max_iter=40)\n"
        "    print(json.dumps([r.log_z_lower_bound, r.marginals.tolist()]))\n"
    )
    lines = run_without_jit(code)
    fg, _ = build(weak_spec(0.7))
    for line, schedule in zip(lines, ("sequential", "parallel"), strict=True):
        r = mean_field.run(fg, clamp={1: 1}, schedule=schedule, seed=3, max_iter=40)
        bound, marginals = json.loads(line)
        # interpreted vs compiled: LLVM may contract or reorder float64 operations
        np.testing.assert_allclose(bound, r.log_z_lower_bound, rtol=1e-12, atol=0)
        np.testing.assert_allclose(marginals, r.marginals, rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------- errors


@pytest.fixture
def small_graph():
    fg = pgm.FactorGraph()
    fg.add_variables("b", 1, domain="binary")
    fg.add_variables("s", 1, domain="spin")
    fg.add_variables("c", 1, domain=3)
    fg.add_edges([[0, 1]], [0.5])
    return fg


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"clamp": {3: 0}}, ValueError, r"clamp: variable id 3 is out of range; the graph has 3"),
        ({"clamp": {-1: 0}}, ValueError, r"clamp: variable id -1 is out of range"),
        ({"clamp": {"a": 0}}, ValueError, r"clamp: keys must be integer variable ids, got 'a'"),
        (
            {"clamp": {0: 2}},
            ValueError,
            r"clamp\[0\] = 2 is outside the domain of variable 0 \(binary",
        ),
        ({"clamp": {1: 0}}, ValueError, r"clamp\[1\] = 0 is outside .* \(spin: -1 or \+1\)"),
        ({"clamp": {2: 3}}, ValueError, r"clamp\[2\] = 3 .* \(categorical: 0\.\.2\)"),
        ({"clamp": {2: 0.5}}, ValueError, r"clamp\[2\] = 0.5 is outside the domain"),
        (
            {"clamp": [(0, 1)]},
            TypeError,
            r"clamp must be a dict mapping variable id to value, got list",
        ),
        ({"max_iter": 0}, ValueError, r"max_iter must be an integer >= 1, got 0"),
        ({"max_iter": 2.5}, ValueError, r"max_iter must be an integer >= 1, got 2.5"),
        ({"tol": -1e-3}, ValueError, r"tol must be a finite non-negative number, got -0.001"),
        ({"damping": 1.0}, ValueError, r"damping must be in \[0, 1\), got 1.0"),
        ({"damping": -0.1}, ValueError, r"damping must be in \[0, 1\), got -0.1"),
        ({"damping": "x"}, ValueError, r"damping must be a real number in \[0, 1\), got 'x'"),
        ({"beta": 0.0}, ValueError, r"beta must be a finite positive number, got 0.0"),
        ({"beta": -2}, ValueError, r"beta must be a finite positive number, got -2.0"),
        (
            {"schedule": "random"},
            ValueError,
            r"schedule must be 'sequential' or 'parallel', got 'random'",
        ),
        ({"init": "zeros"}, ValueError, r"init must be None, 'uniform' or an array of marginals"),
        (
            {"init": np.full((2, 3), 1 / 3)},
            ValueError,
            r"init must have shape \(3, 3\), got \(2, 3\)",
        ),
        (
            {"init": [[0.5, 0.5, 0], [0.5, 0.5, 0], [0.2, 0.2, 0.2]]},
            ValueError,
            r"init must hold probability distributions; row 2 sums to 0.6",
        ),
        (
            {"init": [[1.5, -0.5, 0], [0.5, 0.5, 0], [0.2, 0.3, 0.5]]},
            ValueError,
            r"init must hold probability distributions; init\[0, 1\] = -0.5 is negative",
        ),
        (
            {"init": [[0.5, 0.25, 0.25], [0.5, 0.5, 0], [0.2, 0.3, 0.5]]},
            ValueError,
            r"init must be zero padded: variable 0 has 2 states but init\[0, 2\] = 0.25",
        ),
        (
            {"init": [[np.nan, 0.5, 0], [0.5, 0.5, 0], [0.2, 0.3, 0.5]]},
            ValueError,
            r"init must be finite",
        ),
        ({"seed": "abc"}, TypeError, r"seed must be None, an int"),
    ],
)
def test_bad_input_is_rejected(small_graph, kwargs, error, match):
    with pytest.raises(error, match=match):
        mean_field.run(small_graph, **kwargs)


def test_bad_graph_state_and_marginals_are_rejected(small_graph):
    with pytest.raises(TypeError, match=r"fg must be a pgm.FactorGraph, got dict"):
        mean_field.run({})
    with pytest.raises(TypeError, match=r"state must be a MeanFieldState, got tuple"):
        mean_field.step(small_graph, (np.zeros((3, 3)), np.arange(3), 0.0))
    other = pgm.FactorGraph()
    other.add_variables("x", 2, domain="binary")
    state = mean_field.init_state(other, seed=0)
    with pytest.raises(
        ValueError, match=r"state.marginals must have shape \(3, 3\) for this graph"
    ):
        mean_field.step(small_graph, state)
    with pytest.raises(ValueError, match=r"marginals must have shape \(3, 3\), got \(3,\)"):
        mean_field.lower_bound(small_graph, [0.5, 0.5, 1.0])
    with pytest.raises(ValueError, match=r"beta must be a finite positive number, got inf"):
        mean_field.lower_bound(small_graph, np.full((3, 3), 1 / 3), beta=np.inf)


def test_failed_call_leaves_init_unchanged(small_graph):
    init = np.array([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    copy = init.copy()
    mean_field.run(small_graph, init=init, clamp={0: 1})
    np.testing.assert_array_equal(init, copy)


def test_itertools_enumeration_matches_oracle_order():
    # pins the state-index layout the brute-force helpers rely on (spin index 0 is -1)
    terms = oracle.Terms()
    terms.add_variables(1, "spin")
    terms.add_variables(1, 3)
    assert [index_state(terms, s) for s in terms.states()] == [
        list(t) for t in itertools.product(range(2), range(3))
    ]
