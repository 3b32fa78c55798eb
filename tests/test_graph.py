"""The FactorGraph builder and its compiled flat-array layout."""

import itertools

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pgm
from pgm.compiled import DOMAIN_BINARY, DOMAIN_CATEGORICAL, DOMAIN_SPIN
from tests.strategies import build, graph_specs, random_states


@pytest.fixture
def mixed():
    rng = np.random.default_rng(7)
    fg = pgm.FactorGraph()
    v = fg.add_variables("v", 3, "binary")
    h = fg.add_variables("h", 2, "spin")
    c = fg.add_variables("c", 2, 3)
    fg.add_unary(v, rng.normal(size=3))
    fg.add_unary(c, rng.normal(size=(2, 3)))
    fg.add_pairwise(v, h, rng.normal(size=(3, 2)))
    fg.add_edges([[0, 5], [6, 3]], rng.normal(size=2))
    fg.add_factor([c.ids[1], v.ids[2], h.ids[0]], rng.normal(size=(3, 2, 2)))
    return fg


# ---------------------------------------------------------------------- energy
@settings(deadline=None)
@given(graph_specs(max_variables=10), st.integers(0, 2**32 - 1))
def test_energy_matches_oracle_and_is_linear_in_theta(spec, seed):
    """Term-by-term oracle sums; |E| <= ~100, so 1e-12 relative covers the rounding."""
    fg, terms = build(spec)
    rng = np.random.default_rng(seed)
    states = random_states(terms, 16, rng)
    expected = np.array([terms.energy(tuple(s)) for s in states])
    np.testing.assert_allclose(fg.energy(states), expected, rtol=1e-12, atol=1e-12)
    stats = fg.flat_statistics(states)
    np.testing.assert_allclose(fg.energy(states), -stats @ fg.theta, rtol=1e-12, atol=1e-12)
    # linear in theta: statistics do not depend on theta
    theta = rng.normal(size=fg.theta.shape)
    fg.set_theta(theta)
    np.testing.assert_allclose(fg.energy(states), -stats @ theta, rtol=1e-12, atol=1e-12)
    named = fg.statistics(states)
    assert list(named) == list(fg.parameters())
    for name, (start, stop, shape) in fg.parameter_slices.items():
        np.testing.assert_array_equal(named[name].reshape(len(states), -1), stats[:, start:stop])
        assert named[name].shape == (len(states),) + shape
    # a single state gives a 0-d result
    assert np.ndim(fg.energy(states[0])) == 0


def test_docstring_example():
    fg = pgm.FactorGraph()
    v = fg.add_variables("v", 2, domain="binary")
    h = fg.add_variables("h", 1, domain="spin")
    fg.add_unary(v, [0.5, -1.0])
    fg.add_pairwise(v, h, [[1.0], [2.0]])
    np.testing.assert_array_equal(fg.energy([[1, 1, -1], [0, 0, 1]]), [3.5, 0.0])


def test_factor_table_is_indexed_by_state_index(mixed):
    """Spin index 0 is -1; the table axes follow the scope order."""
    fg = pgm.FactorGraph()
    s = fg.add_variables("s", 1, "spin")
    c = fg.add_variables("c", 1, 3)
    table = np.arange(6.0).reshape(2, 3)
    fg.add_factor([s.ids[0], c.ids[0]], table)
    assert fg.energy([-1, 2]) == table[0, 2]
    assert fg.energy([1, 1]) == table[1, 1]
    stats = fg.flat_statistics([[1, 1]])
    np.testing.assert_array_equal(stats[0], -(np.arange(6) == 4).astype(float))


# ---------------------------------------------------------------------- parameters
def test_parameters_are_named_read_only_views(mixed):
    params = mixed.parameters()
    assert list(params) == ["bias_v", "bias_c", "weights_v_h", "edges", "factor"]
    assert params["bias_c"].shape == (2, 3)
    assert params["factor"].shape == (3, 2, 2)
    with pytest.raises(ValueError, match="read-only"):
        params["bias_v"][0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        mixed.theta[0] = 1.0
    flat = mixed.theta.copy()
    rebuilt = np.concatenate([p.ravel() for p in mixed.unflatten(flat).values()])
    np.testing.assert_array_equal(rebuilt, flat)


def test_set_parameters_validates_everything_before_writing(mixed):
    before = mixed.theta.copy()
    with pytest.raises(ValueError, match=r"bias_c must have shape \(2, 3\), got \(3, 2\)"):
        mixed.set_parameters(bias_v=np.ones(3), bias_c=np.ones((3, 2)))
    np.testing.assert_array_equal(mixed.theta, before)
    with pytest.raises(ValueError, match="edges must be finite"):
        mixed.set_parameters(bias_v=np.ones(3), edges=[np.nan, 0.0])
    np.testing.assert_array_equal(mixed.theta, before)
    with pytest.raises(KeyError, match="unknown parameter 'nope'"):
        mixed.set_parameters({"bias_v": np.ones(3), "nope": 1.0})
    np.testing.assert_array_equal(mixed.theta, before)
    mixed.set_parameters(bias_v=[1.0, 2.0, 3.0])
    np.testing.assert_array_equal(mixed.parameters()["bias_v"], [1, 2, 3])


def test_set_theta_validation_and_no_aliasing(mixed):
    before = mixed.theta.copy()
    n = before.shape[0]
    with pytest.raises(ValueError, match=rf"theta must have shape \({n},\), got \({n + 1},\)"):
        mixed.set_theta(np.zeros(n + 1))
    with pytest.raises(ValueError, match="theta must be finite"):
        mixed.set_theta(np.full(n, np.inf))
    np.testing.assert_array_equal(mixed.theta, before)
    new = np.arange(n, dtype=float)
    mixed.set_theta(new)
    new[0] = 99.0  # the caller's array is copied
    assert mixed.theta[0] == 0.0


# ---------------------------------------------------------------------- compile cache
def test_compile_is_cached_until_the_structure_changes(mixed):
    cg = mixed.compile()
    assert mixed.compile() is cg
    assert cg.revision == mixed.revision
    mixed.set_theta(mixed.theta + 1.0)  # parameters only: no recompile
    assert mixed.compile() is cg
    revision = mixed.revision
    mixed.add_edges([[1, 2]], [0.3])
    assert mixed.revision > revision
    new = mixed.compile()
    assert new is not cg and new.n_edges == cg.n_edges + 1 and new.revision == mixed.revision
    mixed.add_variables("extra", 1)
    assert mixed.compile().n_variables == cg.n_variables + 1
    for name in ("cardinality", "adj_indices", "scope", "colour_vertices"):
        assert not getattr(new, name).flags.writeable


# ---------------------------------------------------------------------- compiled layout
def test_compiled_domains_and_state_values(mixed):
    cg = mixed.compile()
    np.testing.assert_array_equal(cg.cardinality, [2, 2, 2, 2, 2, 3, 3])
    np.testing.assert_array_equal(
        cg.domain_kind, [DOMAIN_BINARY] * 3 + [DOMAIN_SPIN] * 2 + [DOMAIN_CATEGORICAL] * 2
    )
    np.testing.assert_array_equal(cg.state_offset, [0, 2, 4, 6, 8, 10, 13, 16])
    np.testing.assert_array_equal(cg.state_value[6:13], [-1, 1, -1, 1, 0, 1, 2])
    values = np.array([[1, 0, 1, -1, 1, 2, 0]])
    index = cg.values_to_indices(values)
    np.testing.assert_array_equal(index, [[1, 0, 1, 0, 1, 2, 0]])
    np.testing.assert_array_equal(cg.indices_to_values(index), values)
    assert cg.max_cardinality == 3
    assert cg.log10_n_states == pytest.approx(5 * np.log10(2) + 2 * np.log10(3))


def test_adjacency_stores_each_edge_in_both_rows(mixed):
    cg = mixed.compile()
    theta = mixed.theta
    seen = {}
    for i in range(cg.n_variables):
        row = cg.adj_indices[cg.adj_indptr[i] : cg.adj_indptr[i + 1]]
        assert np.all(np.diff(row) >= 0)  # sorted neighbour ids
        for t in range(cg.adj_indptr[i], cg.adj_indptr[i + 1]):
            seen.setdefault((i, int(cg.adj_indices[t])), []).append(int(cg.adj_param[t]))
    assert len(cg.adj_indices) == 2 * cg.n_edges
    for e in range(cg.n_edges):
        i, j, p = int(cg.edge_i[e]), int(cg.edge_j[e]), int(cg.edge_param[e])
        assert p in seen[(i, j)] and p in seen[(j, i)]
    # the v-h block is row-major in its parameter: weights[r, c] couples v[r] with h[c]
    start, _, shape = mixed.parameter_slices["weights_v_h"]
    for e in range(cg.n_edges):
        p = int(cg.edge_param[e])
        if start <= p < start + 6:
            r, c = divmod(p - start, shape[1])
            assert (cg.edge_i[e], cg.edge_j[e]) == (r, 3 + c)
            assert theta[p] == mixed.parameters()["weights_v_h"][r, c]


def test_table_strides_are_row_major_and_incidence_matches(mixed):
    cg = mixed.compile()
    assert cg.n_factors == 1
    scope = cg.scope[cg.scope_indptr[0] : cg.scope_indptr[1]]
    np.testing.assert_array_equal(scope, [6, 2, 3])
    np.testing.assert_array_equal(
        cg.table_stride[cg.scope_indptr[0] : cg.scope_indptr[1]], [4, 2, 1]
    )
    assert cg.table_offset[0] == mixed.parameter_slices["factor"][0]
    for i in range(cg.n_variables):
        facs = cg.incidence_factor[cg.incidence_indptr[i] : cg.incidence_indptr[i + 1]]
        pos = cg.incidence_pos[cg.incidence_indptr[i] : cg.incidence_indptr[i + 1]]
        expected = [(0, r) for r, s in enumerate(scope) if s == i]
        assert list(zip(facs.tolist(), pos.tolist(), strict=True)) == expected
    # a unary CSR row per variable (categorical: one-hot kind with k parameters)
    for i in (5, 6):
        kinds = cg.unary_kind[cg.unary_indptr[i] : cg.unary_indptr[i + 1]]
        np.testing.assert_array_equal(kinds, [1])


def _check_colouring(fg):
    cg = fg.compile()
    graph = fg.to_networkx()
    colour = np.full(fg.n_variables, -1)
    for c in range(cg.n_colours):
        members = cg.colour_vertices[cg.colour_indptr[c] : cg.colour_indptr[c + 1]]
        assert np.all(colour[members] == -1)  # each variable once
        colour[members] = c
    assert np.all(colour >= 0)
    for a, b in graph.edges:
        assert colour[a] != colour[b]
    return cg, colour


@settings(deadline=None)
@given(graph_specs(max_variables=10))
def test_colour_classes_are_proper_colourings(spec):
    fg, _ = build(spec)
    _check_colouring(fg)


def test_grid_gets_a_checkerboard_two_colouring():
    rows, cols = 4, 5
    fg = pgm.FactorGraph()
    fg.add_variables("x", rows * cols, "spin")
    edges = [(r * cols + c, r * cols + c + 1) for r in range(rows) for c in range(cols - 1)]
    edges += [(r * cols + c, (r + 1) * cols + c) for r in range(rows - 1) for c in range(cols)]
    fg.add_edges(edges, np.ones(len(edges)))
    cg, colour = _check_colouring(fg)
    assert cg.n_colours == 2
    parity = np.array([(r + c) % 2 for r in range(rows) for c in range(cols)])
    assert np.all(colour == parity) or np.all(colour == 1 - parity)


# ---------------------------------------------------------------------- structure queries
def test_networkx_view_and_markov_blanket(mixed):
    graph = mixed.to_networkx()
    assert sorted(graph.nodes) == list(range(7))
    assert graph.nodes[3]["domain"] == "spin" and graph.nodes[5]["cardinality"] == 3
    assert graph.nodes[0]["group"] == "v"
    assert graph.has_edge(0, 3) and graph.has_edge(6, 2) and graph.has_edge(2, 3)  # factor clique
    np.testing.assert_array_equal(mixed.markov_blanket(6), [2, 3])
    np.testing.assert_array_equal(mixed.markov_blanket(5), [0])
    assert mixed.markov_blanket(4).tolist() == sorted(nx.neighbors(graph, 4))


def test_independence_is_graph_separation():
    fg = pgm.FactorGraph()
    fg.add_variables("x", 4, "binary")
    fg.add_edges([[0, 1], [1, 2]], [1.0, 1.0])  # chain a-b-c, d isolated
    assert not fg.independent(0, 2)
    assert fg.independent(0, 2, given=[1])
    assert fg.independent([0, 1, 2], 3)
    assert not fg.independent(0, [2, 3], given=())
    with pytest.raises(ValueError, match="disjoint"):
        fg.independent(0, 0)
    with pytest.raises(ValueError, match="variable id 9 is out of range"):
        fg.independent(0, 9)


# ---------------------------------------------------------------------- errors
def test_variable_errors():
    fg = pgm.FactorGraph()
    with pytest.raises(ValueError, match="domain must be 'binary', 'spin' or an integer"):
        fg.add_variables("x", 2, domain="ternary")
    with pytest.raises(ValueError, match="k >= 2 states, got 1"):
        fg.add_variables("x", 2, domain=1)
    with pytest.raises(ValueError, match="domain must be"):
        fg.add_variables("x", 2, domain=2.5)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        fg.add_variables("x", 0)
    fg.add_variables("x", 2)
    with pytest.raises(ValueError, match="called 'x' already exists"):
        fg.add_variables("x", 1)
    assert fg.n_variables == 2  # failed calls change nothing


def test_term_errors(mixed):
    revision = mixed.revision
    theta = mixed.theta.copy()
    v, h, c = mixed.groups["v"], mixed.groups["h"], mixed.groups["c"]
    cases = [
        (lambda: mixed.add_unary(v, np.ones(4)), r"bias must have shape \(3,\), got \(4,\)"),
        (lambda: mixed.add_unary(c, np.ones(2)), r"bias must have shape \(2, 3\)"),
        (lambda: mixed.add_unary([0, 5], np.ones(2)), "all categorical with the same"),
        (lambda: mixed.add_unary(v, [0.0, np.nan, 1.0]), "bias must be finite"),
        (lambda: mixed.add_pairwise(v, h, np.ones((2, 3))), r"weights must have shape \(3, 2\)"),
        (lambda: mixed.add_pairwise(v, v, np.ones((3, 3))), "couple variable 0 with itself"),
        (lambda: mixed.add_pairwise(v, h, np.full((3, 2), np.inf)), "weights must be finite"),
        (lambda: mixed.add_edges([[0, 0]], [1.0]), r"edge \(0, 0\) couples a variable with itself"),
        (lambda: mixed.add_edges([[0, 9]], [1.0]), "variable id 9 is out of range"),
        (lambda: mixed.add_edges([[0, 1, 2]], [1.0]), r"edges must have shape \(m, 2\)"),
        (lambda: mixed.add_edges([[0, 1]], [1.0, 2.0]), r"weights must have shape \(1,\)"),
        (lambda: mixed.add_factor([0, 0], np.zeros((2, 2))), "must not repeat"),
        (lambda: mixed.add_factor([0, -1], np.zeros((2, 2))), "variable id -1 is out of range"),
        (lambda: mixed.add_factor([0, 5], np.zeros((2, 2))), r"energies must have shape \(2, 3\)"),
        (lambda: mixed.add_factor([], np.zeros(())), "at least one variable"),
        (lambda: mixed.add_unary(v, np.ones(3), name="bias_v"), "'bias_v' already exists"),
    ]
    for call, match in cases:
        with pytest.raises(ValueError, match=match):
            call()
    assert mixed.revision == revision
    np.testing.assert_array_equal(mixed.theta, theta)


@pytest.mark.parametrize(
    ("states", "match"),
    [
        (
            [[0, 1, 2, -1, 1, 0, 0]],
            r"states\[0, 2\] = 2 is outside the domain of variable 2 \(binary",
        ),
        ([[0, 1, 1, 0, 1, 0, 0]], r"states\[0, 3\] = 0 is outside .* \(spin: -1 or \+1\)"),
        ([[0, 1, 1, 1, 1, 3, 0]], r"variable 5 \(categorical: 0..2\)"),
        ([[0, 1, 1, 1, 1, 0]], r"states must have shape \(batch, 7\)"),
        ([[0, 1, 1, 1, 1, 0, np.nan]], "states must be finite"),
        ([[0, 1, 1, 1, 1, 0, 0.5]], "non-integral"),
    ],
)
def test_state_errors(mixed, states, match):
    with pytest.raises(ValueError, match=match):
        mixed.energy(states)
    with pytest.raises(ValueError, match=match):
        mixed.flat_statistics(states)
    with pytest.raises(ValueError, match=match.replace("states", "x")):
        mixed.check_states(states, name="x")


def test_check_states_returns_int64(mixed):
    states = np.array(
        list(
            itertools.islice(
                itertools.product([0, 1], [0, 1], [0, 1], [-1, 1], [-1, 1], [0, 1, 2], [0, 1, 2]), 5
            )
        ),
        dtype=float,
    )
    out = mixed.check_states(states)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, states)


def test_large_non_bipartite_graph_colours_properly_and_fast():
    # 3,000 variables with triangles: DSATUR in networkx is quadratic (tens of seconds here),
    # so large graphs take the largest-first colouring; the classes must still be a proper
    # colouring covering every variable once.
    g = nx.gnm_random_graph(3000, 9000, seed=1)
    fg = pgm.FactorGraph()
    x = fg.add_variables("x", 3000, domain="spin")
    edges = np.array(g.edges(), dtype=np.int64)
    fg.add_edges(x.ids[edges], np.full(len(edges), 0.1))
    cg = fg.compile()
    colour = np.empty(3000, dtype=np.int64)
    for c in range(cg.colour_indptr.shape[0] - 1):
        colour[cg.colour_vertices[cg.colour_indptr[c] : cg.colour_indptr[c + 1]]] = c
    assert np.sort(cg.colour_vertices).tolist() == list(range(3000))
    assert not np.any(colour[edges[:, 0]] == colour[edges[:, 1]])
