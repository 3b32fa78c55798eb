"""Tests for loopy belief propagation (``pgm.inference.belief_propagation``).

Exact targets come from ``tests/oracle.py`` (brute force over all states, the
energy summed term by term) or from ``pgm.inference.exact`` (enumeration,
itself checked against the oracle in ``test_exact.py``). On a tree the BP
fixed point is exact, so there the only error is rounding plus the message
tolerance (1e-13 in log messages here): 1e-8 is a wide margin. Looser
tolerances on loopy graphs state their reason in the test.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import pgm
import tests.oracle as oracle
from pgm.inference import belief_propagation as bp
from pgm.inference import exact
from tests._nojit import run_without_jit
from tests.strategies import build

TREE = {"rtol": 1e-8, "atol": 1e-8}
SCHEDULES = ["sequential", "parallel"]
DOMAINS = ["binary", "spin", 3, 2, 4]


# ----------------------------------------------------------------------------- trees


@st.composite
def tree_graphs(draw, max_variables=8, max_states=1024):
    """A random factor-graph *tree* of mixed domains and every kind of term.

    Grown from one variable: each step attaches new variables to an existing
    one through a sparse edge (sometimes doubled: parallel edges are merged
    by BP), a dense ``add_pairwise`` star (one hub, several leaves), a
    two-variable table or a three-variable table. Unary terms (value and
    one-hot kinds) and one-variable tables are sprinkled on top; none of
    them creates a loop. Returns ``(fg, terms)``.
    """
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from([0.3, 1.0, 2.0]))
    fg, terms = pgm.FactorGraph(), oracle.Terms()
    group_of = []  # variable id -> (group, index inside it)
    n_states = 1

    def new_group(n, domain):
        nonlocal n_states
        group = fg.add_variables(f"g{len(fg.groups)}", n, domain)
        terms.add_variables(n, domain)
        group_of.extend((group, r) for r in range(n))
        n_states *= group.cardinality**n
        return group

    new_group(1, draw(st.sampled_from(DOMAINS)))
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["edge", "star", "table2", "table3"]))
        domain = draw(st.sampled_from(DOMAINS))
        k = 2 if domain in ("binary", "spin") else domain
        size = {"edge": 1, "star": draw(st.integers(2, 3)), "table2": 1, "table3": 2}[kind]
        if len(group_of) + size > max_variables or n_states * k**size > max_states:
            continue
        u = draw(st.integers(0, len(group_of) - 1))
        group = new_group(size, domain)
        ids = [int(i) for i in group.ids]
        if kind == "edge":
            for _ in range(draw(st.integers(1, 2))):
                w = rng.normal(0, scale)
                fg.add_edges([[u, ids[0]]] if rng.random() < 0.5 else [[ids[0], u]], [w])
                terms.pairwise.append((u, ids[0], w))
        elif kind == "star":
            hub_group, r = group_of[u]
            weights = rng.normal(0, scale, (1, size))
            fg.add_pairwise(hub_group[r : r + 1], group, weights)
            terms.pairwise.extend((u, j, weights[0, c]) for c, j in enumerate(ids))
        else:
            scope = [u, *ids]
            rng.shuffle(scope)
            table = rng.normal(0, scale, tuple(len(terms.domains[v]) for v in scope))
            fg.add_factor(scope, table)
            terms.tables.append((scope, table))
    for var in range(len(group_of)):
        k = len(terms.domains[var])
        what = draw(st.sampled_from(["none", "unary", "table1"]))
        if what == "unary":
            group, r = group_of[var]
            if group.domain in ("binary", "spin"):
                bias = rng.normal(0, scale)
                fg.add_unary(group[r : r + 1], [bias])
            else:
                bias = rng.normal(0, scale, k)
                fg.add_unary(group[r : r + 1], bias[None, :])
            terms.unary.append((var, bias))
        elif what == "table1":
            table = rng.normal(0, scale, k)
            fg.add_factor([var], table)
            terms.tables.append(([var], table))
    return fg, terms


def brute_force(terms):
    """States (values), state indices, energies and probabilities by enumeration."""
    states = list(terms.states())
    energies = np.array([terms.energy(s) for s in states])
    index = np.array([[terms.domains[i].index(v) for i, v in enumerate(s)] for s in states])
    p = np.exp(-(energies - energies.min()))
    return states, index, energies, p / p.sum()


def max_marginals(terms):
    """``exp(-(min_{x: x_i = s} E(x) - min_x E(x)))`` in the (n, max_k) layout."""
    _, index, energies, _ = brute_force(terms)
    n, max_k = len(terms.domains), max(len(d) for d in terms.domains)
    out = np.zeros((n, max_k))
    for i in range(n):
        for s in range(len(terms.domains[i])):
            out[i, s] = math.exp(-(energies[index[:, i] == s].min() - energies.min()))
    return out


def factor_marginals(table, terms, scope):
    """Exact joint distribution of ``scope`` from a :func:`brute_force` table."""
    _, index, _, p = table
    out = np.zeros(tuple(len(terms.domains[v]) for v in scope))
    np.add.at(out, tuple(index[:, v] for v in scope), p)
    return out


@settings(deadline=None, max_examples=30)
@given(tree_graphs(), st.sampled_from(SCHEDULES))
def test_sum_product_is_exact_on_trees(graph, schedule):
    fg, terms = graph
    result = bp.run(fg, schedule=schedule, tol=1e-13, max_iter=200)
    assert result.converged
    np.testing.assert_allclose(result.marginals, oracle.marginals(terms), **TREE)
    np.testing.assert_allclose(result.log_z, oracle.log_partition(terms), **TREE)
    pairs = result.pairwise_marginals()
    want = exact.pairwise_marginals(fg)
    np.testing.assert_array_equal(pairs.pairs, want.pairs)
    np.testing.assert_allclose(pairs.marginals, want.marginals, **TREE)
    table = brute_force(terms)
    for (scope, _), got in zip(terms.tables, result.factor_marginals(), strict=True):
        np.testing.assert_allclose(got, factor_marginals(table, terms, scope), **TREE)


@settings(deadline=None, max_examples=30)
@given(tree_graphs(), st.sampled_from(SCHEDULES))
def test_max_product_is_exact_on_trees(graph, schedule):
    fg, terms = graph
    result = bp.run(fg, mode="max", schedule=schedule, tol=1e-13, max_iter=200)
    assert result.converged and result.log_z is None
    np.testing.assert_allclose(result.marginals, max_marginals(terms), **TREE)
    table = brute_force(terms)
    states, index, energies, _ = table
    for (scope, _), got in zip(terms.tables, result.factor_marginals(), strict=True):
        want = np.full(got.shape, np.inf)  # min energy with the scope at each joint state
        np.minimum.at(want, tuple(index[:, v] for v in scope), energies)
        np.testing.assert_allclose(got, np.exp(-(want - energies.min())), **TREE)
    order = np.argsort(energies)
    assume(energies[order[1]] - energies[order[0]] > 1e-6)  # a unique MAP
    np.testing.assert_array_equal(result.map_state, states[order[0]])
    np.testing.assert_allclose(result.map_energy, energies[order[0]], rtol=1e-12, atol=1e-12)


@settings(deadline=None, max_examples=20)
@given(tree_graphs(), st.integers(0, 2**32 - 1))
def test_clamped_trees_give_exact_conditionals(graph, seed):
    fg, terms = graph
    rng = np.random.default_rng(seed)
    n = fg.n_variables
    ids = rng.choice(n, size=rng.integers(1, n + 1), replace=False)
    clamp = {int(i): terms.domains[i][rng.integers(len(terms.domains[i]))] for i in ids}
    result = bp.run(fg, clamp=clamp, tol=1e-13)
    assert result.converged
    np.testing.assert_allclose(result.marginals, exact.marginals(fg, clamp=clamp), **TREE)
    np.testing.assert_allclose(result.log_z, exact.log_partition(fg, clamp=clamp), **TREE)
    for i, value in clamp.items():
        onehot = np.zeros(result.marginals.shape[1])
        onehot[terms.domains[i].index(value)] = 1.0
        np.testing.assert_array_equal(result.marginals[i], onehot)
    decoded = bp.run(fg, clamp=clamp, mode="max", tol=1e-13)
    assert all(decoded.map_state[i] == v for i, v in clamp.items())
    best = exact.map_state(fg, clamp=clamp)
    np.testing.assert_allclose(decoded.map_energy, best.energy, rtol=1e-10, atol=1e-10)


def test_undamped_parallel_bp_on_a_chain_is_exact_after_its_diameter():
    """Flooding BP on a tree is exact after diameter iterations (Koller & Friedman 10.2).

    A chain of n variables has diameter n - 1: after n - 1 iterations every
    message is final (to rounding: the "divide out" form lets rounding noise
    travel a few more sweeps), after n - 2 the end variables have not yet
    heard of each other and the marginals are still wrong.
    """
    rng = np.random.default_rng(4)
    fg = pgm.FactorGraph()
    n = 9
    x = fg.add_variables("x", n, domain=3)
    fg.add_unary(x, rng.normal(0, 1, (n, 3)))
    for i in range(n - 1):
        fg.add_factor([i, i + 1], rng.normal(0, 1, (3, 3)))
    want = exact.marginals(fg)
    done = bp.run(fg, schedule="parallel", damping=0.0, max_iter=n - 1, tol=0.0)
    np.testing.assert_allclose(done.marginals, want, rtol=0, atol=1e-12)
    early = bp.run(fg, schedule="parallel", damping=0.0, max_iter=n - 2, tol=0.0)
    assert np.abs(early.marginals - want).max() > 1e-6
    # the sequential schedule visits the chain left to right, then right to
    # left: the first sweep finishes the rightward messages, the second the
    # leftward ones
    seq = bp.run(fg, max_iter=2, tol=0.0)
    np.testing.assert_allclose(seq.marginals, want, rtol=0, atol=1e-12)
    one = bp.run(fg, max_iter=1, tol=0.0)
    assert np.abs(one.marginals - want).max() > 1e-6


def test_strong_parameters_stay_finite_and_exact_on_a_tree():
    """Energies of order 1e2..1e3: log-space messages neither overflow nor lose the answer."""
    fg, terms = oracle_chain(scale=50.0)
    result = bp.run(fg, tol=1e-13)
    assert np.all(np.isfinite(result.marginals)) and np.isfinite(result.log_z)
    log_z = oracle.log_partition(terms)
    np.testing.assert_allclose(result.log_z, log_z, rtol=1e-12, atol=0)
    np.testing.assert_allclose(result.marginals, oracle.marginals(terms), rtol=0, atol=1e-8)


def oracle_chain(scale):
    rng = np.random.default_rng(9)
    spec = {
        "groups": [("s", 3, "spin"), ("c", 2, 3)],
        "terms": [
            ("unary", "s", scale * rng.normal(0, 1, 3)),
            ("edges", np.array([[0, 1], [1, 2]]), scale * rng.normal(0, 1, 2)),
            ("factor", np.array([3, 2]), scale * rng.normal(0, 1, (3, 2))),
            ("factor", np.array([4, 3]), scale * rng.normal(0, 1, (3, 3))),
        ],
    }
    return build(spec)


def test_everything_clamped_gives_minus_the_energy():
    fg = mixed_loopy(1.0, seed=3)
    values = [1, -1, 1, 0, 1, 2, 0]
    result = bp.run(fg, clamp=dict(enumerate(values)))
    assert result.converged and result.n_iter == 1
    np.testing.assert_allclose(result.log_z, -fg.energy(values), rtol=1e-12, atol=1e-12)
    decoded = bp.run(fg, clamp=dict(enumerate(values)), mode="max")
    np.testing.assert_array_equal(decoded.map_state, values)


def test_independent_variables_and_empty_graph():
    fg = pgm.FactorGraph()
    c = fg.add_variables("c", 3, domain=4)
    fg.add_unary(c, np.arange(12.0).reshape(3, 4) / 7)
    result = bp.run(fg)
    assert result.converged and result.n_iter == 1
    np.testing.assert_allclose(result.marginals, exact.marginals(fg), **TREE)
    np.testing.assert_allclose(result.log_z, exact.log_partition(fg), **TREE)
    empty = bp.run(pgm.FactorGraph())
    assert empty.marginals.shape == (0, 0) and empty.log_z == 0.0


# ----------------------------------------------------------------------------- loopy graphs


def spin_grid(side, coupling, field, seed):
    """A side x side spin grid: couplings uniform in [-coupling, coupling], fields N(0, field)."""
    rng = np.random.default_rng(seed)
    fg = pgm.FactorGraph()
    s = fg.add_variables("s", side * side, domain="spin")
    fg.add_unary(s, rng.normal(0, field, side * side))
    ids = np.arange(side * side).reshape(side, side)
    edges = np.concatenate(
        [
            np.stack([ids[:, :-1].ravel(), ids[:, 1:].ravel()], axis=1),
            np.stack([ids[:-1, :].ravel(), ids[1:, :].ravel()], axis=1),
        ]
    )
    fg.add_edges(edges, rng.uniform(-coupling, coupling, edges.shape[0]))
    return fg


def mixed_loopy(coupling, seed):
    """A loopy mixed-domain graph: O(1) unary terms, interactions scaled by ``coupling``.

    Loops: the triangle 0-1-2 (edges), 0-3-1 (dense block), and 5-0-...-6
    through the table factors.
    """
    rng = np.random.default_rng(seed)
    spec = {
        "groups": [("s", 3, "spin"), ("b", 2, "binary"), ("c", 2, 3)],
        "terms": [
            ("unary", "s", rng.normal(0, 0.7, 3)),
            ("unary", "b", rng.normal(0, 0.7, 2)),
            ("unary", "c", rng.normal(0, 0.7, (2, 3))),
            ("pairwise", (0, 1), coupling * rng.choice([-1.0, 1.0], (3, 2))),
            ("edges", np.array([[0, 1], [1, 2], [2, 0], [5, 6]]), coupling * np.ones(4)),
            ("factor", np.array([5, 0]), coupling * rng.choice([-1.0, 1.0], (3, 2))),
            ("factor", np.array([6, 3, 1]), coupling * rng.choice([-1.0, 1.0], (3, 2, 2))),
        ],
    }
    return build(spec)[0]


def test_weak_coupling_marginals_and_log_z_are_close_to_exact():
    """On a 3x3 spin grid with |J| <= 0.1 BP's error is tiny, at |J| <= 1 it is not.

    Why 4e-4: BP is exact on the tree of paths; the leading correction from a
    loop is of the order of the product of tanh(|J|) around it (Weiss,
    Neural Computation 12, 2000, for a single loop): at most tanh(0.1)^4 =
    1e-4 per plaquette, and a node lies on at most 4 plaquettes (longer
    loops add higher powers). The Bethe log Z error is a sum of the same
    corrections over the 4 plaquettes. The same check with |J| <= 1 fails
    (errors ~4e-3 and ~4e-2), so the tolerance does not pass any answer.
    """
    errors = []
    for coupling in (0.1, 1.0):
        fg = spin_grid(3, coupling, field=0.3, seed=1)
        result = bp.run(fg, tol=1e-12)
        assert result.converged
        errors.append(
            (
                np.abs(result.marginals - exact.marginals(fg)).max(),
                abs(result.log_z - exact.log_partition(fg)),
            )
        )
    (weak_m, weak_z), (strong_m, strong_z) = errors
    assert weak_m < 4e-4 and weak_z < 4e-4
    assert strong_m > 4e-4 and strong_z > 4e-4


def test_weak_coupling_on_a_mixed_loopy_graph():
    """Same argument with table factors and categorical variables.

    Loops of length 3 with interactions of 0.05 (0.2 between the two 3-state
    variables, whose values reach 2) contribute ~1e-4 each and a variable
    lies on several: tolerance 1e-3. At interactions of 1.5 the error is
    ~0.17, far outside it.
    """
    fg = mixed_loopy(0.05, seed=7)
    result = bp.run(fg, tol=1e-12)
    assert result.converged
    assert np.abs(result.marginals - exact.marginals(fg)).max() < 1e-3
    assert abs(result.log_z - exact.log_partition(fg)) < 1e-3
    strong = bp.run(mixed_loopy(1.5, seed=7), tol=1e-12, schedule="parallel", max_iter=2000)
    assert np.abs(strong.marginals - exact.marginals(mixed_loopy(1.5, seed=7))).max() > 1e-3


@pytest.mark.parametrize("seed", range(6))
def test_max_product_finds_the_map_on_weakly_coupled_loopy_graphs(seed):
    """With fields of order 1 and couplings <= 0.2 the MAP is unique and max-product finds it."""
    fg = spin_grid(3, 0.2, field=1.0, seed=seed)
    grid = bp.run(fg, mode="max", tol=1e-12)
    best = exact.map_state(fg)
    assert grid.converged
    np.testing.assert_array_equal(grid.map_state, best.state)
    np.testing.assert_allclose(grid.map_energy, best.energy, rtol=1e-12, atol=1e-12)
    mixed = mixed_loopy(0.2, seed=seed)
    decoded = bp.run(mixed, mode="max", tol=1e-12)
    np.testing.assert_array_equal(decoded.map_state, exact.map_state(mixed).state)


def test_map_state_is_unique_in_the_map_tests():
    """The MAP test above is meaningful only where the MAP is unique: check the gap."""
    for seed in range(6):
        for fg in (spin_grid(3, 0.2, field=1.0, seed=seed), mixed_loopy(0.2, seed=seed)):
            cg = fg.compile()
            values = [
                list(cg.state_value[cg.state_offset[i] : cg.state_offset[i + 1]])
                for i in range(cg.n_variables)
            ]
            energies = np.sort(fg.energy(np.array(list(itertools.product(*values)))))
            assert energies[1] - energies[0] > 1e-3


@pytest.mark.parametrize("mode", ["sum", "max"])
def test_parallel_and_sequential_reach_the_same_fixed_point(mode):
    """Both schedules converge to the same fixed point (the BP fixed point is unique at
    weak coupling, Mooij & Kappen 2007), to well within the 1e-12 message tolerance."""
    for fg in (spin_grid(4, 0.3, field=0.5, seed=3), mixed_loopy(0.3, seed=2)):
        results = [
            bp.run(fg, mode=mode, schedule=s, damping=d, tol=1e-12, max_iter=5000)
            for s, d in (
                ("sequential", 0.0),
                ("parallel", 0.0),
                ("parallel", 0.5),
                ("sequential", 0.7),
            )
        ]
        for r in results:
            assert r.converged
            np.testing.assert_allclose(r.marginals, results[0].marginals, rtol=0, atol=1e-9)
            if mode == "sum":
                np.testing.assert_allclose(r.log_z, results[0].log_z, rtol=0, atol=1e-9)


def test_damping_slows_convergence_but_keeps_the_answer():
    fg = spin_grid(4, 0.3, field=0.5, seed=5)
    n_iter = []
    for damping in (0.0, 0.5, 0.9):
        r = bp.run(fg, schedule="parallel", damping=damping, tol=1e-10, max_iter=5000)
        assert r.converged
        n_iter.append(r.n_iter)
        np.testing.assert_allclose(r.marginals, bp.run(fg, tol=1e-12).marginals, atol=1e-8)
    assert n_iter[0] < n_iter[1] < n_iter[2]


def test_damping_makes_an_oscillating_parallel_run_converge():
    """Undamped flooding on a strongly coupled frustrated triangle oscillates; damping fixes it."""
    fg = pgm.FactorGraph()
    fg.add_variables("s", 3, domain="spin")
    fg.add_edges([[0, 1], [1, 2], [0, 2]], [-3.0, -3.0, -3.0])
    fg.add_unary(fg.groups["s"], [0.1, 0.0, -0.1])
    undamped = bp.run(fg, schedule="parallel", damping=0.0, max_iter=300)
    damped = bp.run(fg, schedule="parallel", damping=0.5, max_iter=300)
    assert not undamped.converged and undamped.n_iter == 300
    assert damped.converged


def test_max_iter_caps_the_run_and_results_are_read_only():
    fg = spin_grid(4, 0.5, field=0.1, seed=0)
    r = bp.run(fg, max_iter=2, tol=0.0)
    assert r.n_iter == 2 and not r.converged and r.max_change > 0
    assert r.map_state is None and r.map_energy is None
    assert not r.marginals.flags.writeable
    assert not r.pairwise_marginals().marginals.flags.writeable
    with pytest.raises(ValueError):
        r.marginals[0, 0] = 0.5


def test_result_does_not_follow_later_parameter_changes():
    fg = spin_grid(3, 0.1, field=0.5, seed=0)
    r = bp.run(fg, tol=1e-12)
    before = r.pairwise_marginals().marginals.copy()
    fg.set_theta(np.zeros(fg.theta.shape))
    np.testing.assert_array_equal(r.pairwise_marginals().marginals, before)


def test_kernels_run_without_jit():
    """The kernels are plain Python under NUMBA_DISABLE_JIT=1 and give the same numbers.

    Same operations in the same order, so agreement is to rounding (1e-12).
    """
    code = (
        "import json\n"
        "from pgm.inference import belief_propagation as bp\n"
        "from tests.inference.test_belief_propagation import mixed_loopy\n"
        "fg = mixed_loopy(0.5, seed=1)\n"
        "for s, mode in (('sequential', 'sum'), ('parallel', 'max')):\n"
        "    r = bp.run(fg, clamp={1: 1}, schedule=s, mode=mode, max_iter=30)\n"
        "    print(json.dumps([r.log_z, r.marginals.tolist()]))\n"
    )
    lines = run_without_jit(code)
    fg = mixed_loopy(0.5, seed=1)
    for line, (s, mode) in zip(lines, (("sequential", "sum"), ("parallel", "max")), strict=True):
        r = bp.run(fg, clamp={1: 1}, schedule=s, mode=mode, max_iter=30)
        log_z, marginals = json.loads(line)
        if mode == "sum":
            np.testing.assert_allclose(log_z, r.log_z, rtol=1e-12, atol=0)
        else:
            assert log_z is None
        np.testing.assert_allclose(marginals, r.marginals, rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------- errors


@pytest.fixture
def small_graph():
    fg = pgm.FactorGraph()
    fg.add_variables("b", 1, domain="binary")
    fg.add_variables("s", 1, domain="spin")
    fg.add_variables("c", 1, domain=3)
    fg.add_edges([[0, 1]], [0.5])
    fg.add_factor([1, 2], np.ones((2, 3)))
    return fg


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"max_iter": 0}, ValueError, "max_iter must be an integer >= 1"),
        ({"max_iter": 2.5}, ValueError, "max_iter must be an integer"),
        ({"max_iter": True}, ValueError, "max_iter must be an integer"),
        ({"tol": -1e-3}, ValueError, "tol must be a finite non-negative number"),
        ({"tol": float("nan")}, ValueError, "tol must be a finite non-negative"),
        ({"tol": "small"}, ValueError, "tol must be a positive real number"),
        ({"damping": 1.0}, ValueError, r"damping must be in \[0, 1\), got 1.0"),
        ({"damping": -0.1}, ValueError, r"damping must be in \[0, 1\)"),
        ({"damping": float("nan")}, ValueError, r"damping must be in \[0, 1\)"),
        ({"damping": "0.5"}, ValueError, "damping must be a real number"),
        ({"damping": True}, ValueError, "damping must be a real number"),
        ({"mode": "min"}, ValueError, "mode must be 'sum' or 'max', got 'min'"),
        ({"schedule": "random"}, ValueError, "schedule must be 'sequential' or 'parallel'"),
        ({"clamp": [(0, 1)]}, TypeError, "clamp must be a dict"),
        ({"clamp": {3: 0}}, ValueError, "clamp: variable id 3 is out of range"),
        ({"clamp": {-1: 0}}, ValueError, "clamp: variable id -1 is out of range"),
        ({"clamp": {0.5: 0}}, ValueError, "clamp: keys must be integer variable ids"),
        ({"clamp": {0: 2}}, ValueError, r"clamp\[0\] = 2 is outside the domain .*binary"),
        ({"clamp": {1: 0}}, ValueError, r"clamp\[1\] = 0 is outside the domain .*spin"),
        ({"clamp": {2: 3}}, ValueError, r"clamp\[2\] = 3 is outside the domain .*0..2"),
        ({"clamp": {2: 1.5}}, ValueError, r"clamp\[2\] = 1.5 is outside the domain"),
        ({"clamp": {2: float("nan")}}, ValueError, "clamp values must be finite"),
        ({"clamp": {2: "a"}}, ValueError, "must be a number in the variable's domain"),
    ],
)
def test_bad_input_is_rejected(small_graph, kwargs, error, match):
    theta, revision = small_graph.theta.copy(), small_graph.revision
    with pytest.raises(error, match=match):
        bp.run(small_graph, **kwargs)
    np.testing.assert_array_equal(small_graph.theta, theta)
    assert small_graph.revision == revision


def test_non_graph_is_rejected():
    with pytest.raises(TypeError, match="fg must be a pgm.FactorGraph, got dict"):
        bp.run({})
