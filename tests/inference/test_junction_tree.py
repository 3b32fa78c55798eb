"""The junction tree against the brute-force oracle, enumeration and a transfer matrix.

Tolerances: exact answers are compared to rtol=1e-10 (atol=1e-12 near zero),
the float64 contract of STYLE.md section 7. A calibrated clique table is a
log-sum-exp of a few thousand terms at most, and the 450-variable strip sums
~450 log-domain messages of magnitude ~1e2 each, so its rounding error is
~450 * 1e2 * 1e-16 ~ 1e-11 absolute on log Z ~ 5e2 (rtol ~1e-14): the bound
holds with a wide margin.
"""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp

import pgm
from pgm.inference import exact, junction_tree
from tests import oracle
from tests.inference.test_exact import oracle_data_stats, oracle_model_stats
from tests.strategies import build, graph_specs

RTOL, ATOL = 1e-10, 1e-12
JT = {"method": "junction_tree"}


# ---------------------------------------------------------------------- helpers
def conditional(terms, clamp):
    """States consistent with ``clamp`` (values), their probabilities and log Z, by brute force."""
    states = [s for s in terms.states() if all(s[i] == v for i, v in clamp.items())]
    energies = np.array([terms.energy(s) for s in states])
    log_z = float(logsumexp(-energies))
    return np.array(states), np.exp(-energies - log_z), log_z, energies


def flat(named):
    return np.concatenate([np.ravel(a) for a in named.values()] + [np.zeros(0)])


def grid(rows, cols, *, seed=0, domain="spin", scale=0.5):
    """An Ising-type grid: returns (fg, horizontal edges, vertical edges, weights, fields)."""
    rng = np.random.default_rng(seed)
    fg = pgm.FactorGraph()
    v = fg.add_variables("v", rows * cols, domain)
    idx = np.arange(rows * cols).reshape(rows, cols)
    edges = np.concatenate(
        [
            np.c_[idx[:, :-1].ravel(), idx[:, 1:].ravel()],
            np.c_[idx[:-1, :].ravel(), idx[1:, :].ravel()],
        ]
    )
    weights = rng.normal(0, scale, len(edges))
    fields = rng.normal(0, scale, rows * cols)
    fg.add_edges(edges, weights)
    fg.add_unary(v, fields)
    return fg, edges, weights, fields


def sparse_graph(seed, n=18):
    """A ring with chords over mixed domains plus table factors (~2^20 joint states)."""
    rng = np.random.default_rng(seed)
    fg = pgm.FactorGraph()
    a = fg.add_variables("a", n - 6, "spin")
    b = fg.add_variables("b", 3, "binary")
    c = fg.add_variables("c", 3, 3)
    ring = np.c_[np.arange(n), (np.arange(n) + 1) % n]
    chords = np.array([[0, n // 2], [3, n - 4], [5, 11]])
    edges = np.concatenate([ring, chords])
    fg.add_edges(edges, rng.normal(0, 0.7, len(edges)))
    fg.add_unary(a, rng.normal(0, 0.5, len(a)))
    fg.add_unary(c, rng.normal(0, 0.5, (3, 3)))
    fg.add_factor([int(c.ids[0]), 1, int(b.ids[0])], rng.normal(0, 1.0, (3, 2, 2)))
    fg.add_factor([int(c.ids[2]), int(c.ids[1])], rng.normal(0, 1.0, (3, 3)))
    return fg


@st.composite
def spec_and_clamp(draw, **kwargs):
    spec = draw(graph_specs(**kwargs))
    _, terms = build(spec)
    n = len(terms.domains)
    ids = draw(st.lists(st.integers(0, n - 1), unique=True, max_size=max(0, n - 1)))
    clamp = {i: draw(st.sampled_from(terms.domains[i])) for i in ids}
    return spec, clamp


# ---------------------------------------------------------------------- against the oracle
@settings(deadline=None, max_examples=30)
@given(spec_and_clamp(max_variables=9, max_states=1024))
def test_matches_oracle_with_clamping(args):
    spec, clamp = args
    fg, terms = build(spec)
    states, probs, log_z, energies = conditional(terms, clamp)
    assert exact.log_partition(fg, clamp=clamp, **JT) == pytest.approx(log_z, rel=RTOL, abs=ATOL)
    # node marginals (clamped rows one-hot)
    n = fg.n_variables
    max_k = max(len(d) for d in terms.domains)
    want = np.zeros((n, max_k))
    for state, p in zip(states, probs, strict=True):
        for i, value in enumerate(state):
            want[i, terms.domains[i].index(value)] += p
    np.testing.assert_allclose(exact.marginals(fg, clamp=clamp, **JT), want, rtol=RTOL, atol=ATOL)
    # every parameter's expected statistic (node, edge and table-factor marginals)
    want_stats = probs @ fg.flat_statistics(states)
    got = flat(exact.expectations(fg, clamp=clamp, **JT))
    np.testing.assert_allclose(got, want_stats, rtol=RTOL, atol=ATOL)
    # all pairs, inside a common clique or not
    pairs = [(i, j) for i in range(n) for j in range(n) if i != j]
    if pairs:
        result = exact.pairwise_marginals(fg, pairs, clamp=clamp, **JT)
        want_pair = np.zeros((len(pairs), max_k, max_k))
        for state, p in zip(states, probs, strict=True):
            for q, (i, j) in enumerate(pairs):
                want_pair[
                    q, terms.domains[i].index(state[i]), terms.domains[j].index(state[j])
                ] += p
        np.testing.assert_allclose(result.marginals, want_pair, rtol=RTOL, atol=ATOL)
    # MAP by max-product: a brute-force minimiser that respects the clamp
    found = exact.map_state(fg, clamp=clamp, **JT)
    assert found.energy == pytest.approx(energies.min(), rel=RTOL, abs=1e-10)
    assert terms.energy(tuple(found.state)) == pytest.approx(found.energy, rel=RTOL, abs=1e-10)
    assert all(found.state[i] == v for i, v in clamp.items())


@settings(deadline=None, max_examples=25)
@given(graph_specs(max_variables=8, max_states=512), st.integers(0, 2**32 - 1))
def test_log_likelihood_and_gradient_match_oracle(spec, seed):
    fg, terms = build(spec)
    rng = np.random.default_rng(seed)
    n = fg.n_variables
    visible = np.sort(rng.choice(n, rng.integers(1, n + 1), replace=False))
    data = np.array([[rng.choice(terms.domains[i]) for i in visible] for _ in range(3)])
    got = exact.log_likelihood(fg, data, visible=visible, **JT)
    assert got == pytest.approx(
        oracle.log_likelihood(terms, data, visible.tolist()), rel=RTOL, abs=ATOL
    )
    grad = flat(exact.log_likelihood_gradient(fg, data, visible=visible, **JT))
    want = oracle_data_stats(fg, terms, data, visible) - oracle_model_stats(fg, terms)
    np.testing.assert_allclose(grad, want, rtol=RTOL, atol=1e-10)


@settings(deadline=None, max_examples=15)
@given(graph_specs(max_variables=8, max_states=512))
def test_every_heuristic_gives_the_same_answers(spec):
    fg, terms = build(spec)
    want = oracle.log_partition(terms)
    for heuristic in junction_tree.HEURISTICS:
        tree = junction_tree.build(fg, heuristic=heuristic)
        got = tree.log_partition(fg.compile(), np.asarray(fg.theta))
        assert got == pytest.approx(want, rel=RTOL, abs=ATOL)
        # running intersection: the cliques holding each variable form a connected subtree
        for v in range(fg.n_variables):
            holding = {c for c, m in enumerate(tree.cliques) if v in m}
            tops = [c for c in holding if tree.parent[c] not in holding]
            assert len(tops) == 1


# ---------------------------------------------------------------------- against enumeration
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_enumeration_on_a_sparse_20ish_variable_graph(seed):
    fg = sparse_graph(seed)
    assert fg.compile().log10_n_states > 5.5  # ~2^19 states: a real enumeration
    en = {"method": "enumerate"}
    clamp = {2: 1, 15: 0}
    for kwargs in ({}, {"clamp": clamp}):
        assert exact.log_partition(fg, **kwargs, **JT) == pytest.approx(
            exact.log_partition(fg, **kwargs, **en), rel=RTOL
        )
        np.testing.assert_allclose(
            exact.marginals(fg, **kwargs, **JT),
            exact.marginals(fg, **kwargs, **en),
            rtol=RTOL,
            atol=ATOL,
        )
        np.testing.assert_allclose(
            flat(exact.expectations(fg, **kwargs, **JT)),
            flat(exact.expectations(fg, **kwargs, **en)),
            rtol=RTOL,
            atol=ATOL,
        )
        e_jt = exact.map_state(fg, **kwargs, **JT).energy
        assert e_jt == pytest.approx(exact.map_state(fg, **kwargs, **en).energy, rel=RTOL)
    pairs = exact.pairwise_marginals(fg, **JT)
    np.testing.assert_allclose(
        pairs.marginals, exact.pairwise_marginals(fg, **en).marginals, rtol=RTOL, atol=ATOL
    )
    rng = np.random.default_rng(seed)
    visible = np.arange(0, fg.n_variables, 3)
    data = fg.compile().indices_to_values(rng.integers(0, 2, (4, fg.n_variables)))[:, visible]
    assert exact.log_likelihood(fg, data, visible=visible, **JT) == pytest.approx(
        exact.log_likelihood(fg, data, visible=visible, **en), rel=RTOL
    )
    g_jt = flat(exact.log_likelihood_gradient(fg, data, visible=visible, **JT))
    g_en = flat(exact.log_likelihood_gradient(fg, data, visible=visible, **en))
    np.testing.assert_allclose(g_jt, g_en, rtol=RTOL, atol=1e-10)


# ---------------------------------------------------------------------- transfer matrix
def transfer_matrix(rows, cols, edges, weights, fields):
    """log Z and node marginals of a spin grid by a column-to-column transfer matrix.

    Written from the definition, independent of pgm's inference: a column's
    2^rows spin configurations are the states of a chain, with the in-column
    couplings and fields as the node energy and the couplings between
    neighbouring columns as the transition; forward-backward in log space.
    """
    configs = np.array(list(itertools.product([-1, 1], repeat=rows)))  # (S, rows)
    w_h = np.zeros((rows, cols - 1))  # (r, c) -- (r, c + 1)
    w_v = np.zeros((rows - 1, cols))  # (r, c) -- (r + 1, c)
    for (i, j), w in zip(edges, weights, strict=True):
        ri, ci, rj, cj = i // cols, i % cols, j // cols, j % cols
        if ri == rj:
            w_h[ri, min(ci, cj)] += w
        else:
            w_v[min(ri, rj), ci] += w
    h = fields.reshape(rows, cols)
    # log-weight of each column configuration (field and in-column couplings)
    node = configs @ h + (configs[:, :-1] * configs[:, 1:]) @ w_v  # (S, cols)
    alpha = np.zeros((cols, len(configs)))
    alpha[0] = node[:, 0]
    for c in range(1, cols):
        link = (configs * w_h[:, c - 1]) @ configs.T  # (S_prev, S_next)
        alpha[c] = logsumexp(alpha[c - 1][:, None] + link, axis=0) + node[:, c]
    beta = np.zeros((cols, len(configs)))
    for c in range(cols - 2, -1, -1):
        link = (configs * w_h[:, c]) @ configs.T
        beta[c] = logsumexp(link + (node[:, c + 1] + beta[c + 1])[None, :], axis=1)
    log_z = float(logsumexp(alpha[-1]))
    post = np.exp(alpha + beta - log_z)  # (cols, S): P(column c = configuration s)
    p_up = np.einsum("cs,sr->rc", post, configs == 1)  # P(x_rc = +1)
    return log_z, p_up.ravel()


def test_long_narrow_grid_matches_transfer_matrix():
    rows, cols = 3, 150
    fg, edges, weights, fields = grid(rows, cols, seed=3, scale=0.8)
    log_z, p_up = transfer_matrix(rows, cols, edges, weights, fields)
    assert exact.choose_method(fg) == "junction_tree"  # 2^450 states: enumeration is out
    assert exact.log_partition(fg) == pytest.approx(log_z, rel=RTOL)
    marg = exact.marginals(fg)
    np.testing.assert_allclose(marg[:, 1], p_up, rtol=RTOL, atol=ATOL)
    assert junction_tree.build(fg).treewidth == rows


# ---------------------------------------------------------------------- gradient with hidden units
def test_hidden_gradient_matches_finite_differences_on_a_3x40_grid():
    """Central differences of the exact log-likelihood, 120 variables (2^120 states).

    The 3 x 40 grid has every parameter kind (value unary, edges, a table
    factor); visible = the first row. Directional derivatives along random
    directions (each touches every parameter) plus a few coordinates keep the
    test fast; step h = 6e-6 gives truncation ~h^2 ~ 4e-11 and rounding
    ~1e-16 * |L| / h ~ 1e-9 relative to |L| ~ 50, inside rtol=1e-6, atol=1e-8.
    """
    rows, cols = 3, 40
    fg, *_ = grid(rows, cols, seed=5, scale=0.6, domain="binary")
    rng = np.random.default_rng(7)
    fg.add_factor([0, cols, 2 * cols], rng.normal(0, 1.0, (2, 2, 2)))
    visible = np.arange(cols)
    data = rng.integers(0, 2, (5, cols))
    theta0 = np.array(fg.theta)
    grad = flat(exact.log_likelihood_gradient(fg, data, visible=visible))
    assert exact.choose_method(fg) == "junction_tree"

    def loglik(theta):
        fg.set_theta(theta)
        return exact.log_likelihood(fg, data, visible=visible)

    h = 6e-6
    directions = [rng.normal(size=theta0.size) for _ in range(2)]
    for j in (0, 1, cols, theta0.size - 1):  # a bias, an edge, the table factor's last entry
        e = np.zeros(theta0.size)
        e[j] = 1.0
        directions.append(e)
    for d in directions:
        fd = (loglik(theta0 + h * d) - loglik(theta0 - h * d)) / (2 * h)
        assert grad @ d == pytest.approx(fd, rel=1e-6, abs=1e-8)
    fg.set_theta(theta0)


# ---------------------------------------------------------------------- numerics and edge cases
@pytest.mark.parametrize("scale", [50.0, -1e3])
def test_extreme_parameters_stay_finite_and_match_enumeration(scale):
    fg, *_ = grid(3, 5, seed=1, scale=1.0)
    fg.set_theta(np.array(fg.theta) * scale)
    got = exact.log_partition(fg, **JT)
    assert np.isfinite(got)
    assert got == pytest.approx(exact.log_partition(fg, method="enumerate"), rel=RTOL)
    marg = exact.marginals(fg, **JT)
    assert np.all(np.isfinite(marg))
    np.testing.assert_allclose(marg, exact.marginals(fg, method="enumerate"), rtol=1e-8, atol=1e-12)


def test_empty_disconnected_and_fully_clamped_graphs():
    empty = pgm.FactorGraph()
    assert exact.log_partition(empty, **JT) == 0.0
    fg = pgm.FactorGraph()
    v = fg.add_variables("v", 5, 3)  # no terms: five independent uniform 3-state variables
    assert exact.log_partition(fg, **JT) == pytest.approx(5 * math.log(3), rel=1e-14)
    np.testing.assert_allclose(exact.marginals(fg, **JT), np.full((5, 3), 1 / 3), rtol=1e-14)
    fg.add_unary(v, np.arange(15.0).reshape(5, 3) / 10)
    fg.add_edges([[0, 1], [3, 4]], [0.5, -0.25])
    clamp = {i: i % 3 for i in range(5)}
    energy = float(fg.energy([[clamp[i] for i in range(5)]])[0])
    assert exact.log_partition(fg, clamp=clamp, **JT) == pytest.approx(-energy, rel=1e-14)
    stats = flat(exact.expectations(fg, clamp=clamp, **JT))
    np.testing.assert_allclose(stats, fg.flat_statistics([[clamp[i] for i in range(5)]])[0])
    assert exact.map_state(fg, clamp=clamp, **JT).state.tolist() == [0, 1, 2, 0, 1]


def test_auto_picks_by_cost_and_falls_back_to_enumeration():
    small, *_ = grid(2, 3)
    assert exact.choose_method(small) == "enumerate"  # 64 states: no tree is built
    strip, *_ = grid(2, 30)
    assert exact.choose_method(strip) == "junction_tree"
    # one clique of all 16 variables: as many table entries as states, enumeration is cheaper
    full = pgm.FactorGraph()
    full.add_variables("v", 16, "binary")
    full.add_edges(np.array(list(itertools.combinations(range(16), 2))), np.full(120, 0.1))
    assert junction_tree.build(full).total_clique_states == 2**16
    assert exact.choose_method(full) == "enumerate"
    # the same with 2 variables clamped is still enumerated
    assert exact.choose_method(full, clamp={0: 1, 1: 0}) == "enumerate"
    # too wide for a small clique limit but small enough to enumerate: auto falls back
    rng = np.random.default_rng(0)
    dense = pgm.FactorGraph()
    v = dense.add_variables("v", 18, "binary")
    dense.add_pairwise(v[:9], v[9:], rng.normal(0, 0.3, (9, 9)))
    assert exact.choose_method(dense, max_clique_states=64) == "enumerate"
    assert exact.log_partition(dense, max_clique_states=64) == pytest.approx(
        exact.log_partition(dense, method="enumerate"), rel=1e-14
    )
    with pytest.raises(junction_tree.TreewidthTooLargeError):
        exact.log_partition(dense, max_clique_states=64, **JT)


# ---------------------------------------------------------------------- refusals and bad input
def test_too_wide_graph_is_refused_with_treewidth_clique_size_and_limit():
    fg, *_ = grid(12, 12)
    with pytest.raises(
        junction_tree.TreewidthTooLargeError,
        match=r"clique of \d+ variables with [\d,]+ joint states \(treewidth found so far \d+.*"
        r"max_clique_states=1,000",
    ):
        exact.log_partition(fg, method="junction_tree", max_clique_states=1000)
    dense = pgm.FactorGraph()
    dense.add_variables("v", 40, "binary")
    dense.add_edges(np.array(list(itertools.combinations(range(40), 2))), np.zeros(780))
    with pytest.raises(ValueError, match=r"treewidth is at least 39.*max_clique_states=4,194,304"):
        junction_tree.build(dense)
    # auto, when neither method can: the enumeration limit and the tree's refusal, together
    with pytest.raises(
        exact.EnumerationTooLargeError, match=r"max_states=.*and the .*max_clique_states="
    ):
        exact.marginals(dense)


def test_bad_arguments_are_refused_before_any_work():
    fg, *_ = grid(3, 4)
    theta = np.array(fg.theta)
    with pytest.raises(ValueError, match=r"clamp\[0\] = 2 is outside|domain"):
        exact.log_partition(fg, clamp={0: 2}, **JT)
    with pytest.raises(ValueError, match=r"clamp: variable id 12 is out of range"):
        exact.marginals(fg, clamp={12: 1}, **JT)
    with pytest.raises(TypeError, match="clamp must be a dict"):
        junction_tree.build(fg, clamp=[0, 1])
    with pytest.raises(ValueError, match="method must be one of"):
        exact.log_partition(fg, method="variable_elimination")
    with pytest.raises(ValueError, match="max_clique_states must be a positive integer"):
        exact.log_partition(fg, max_clique_states=0, **JT)
    with pytest.raises(ValueError, match="heuristic must be one of"):
        junction_tree.build(fg, heuristic="min_width")
    with pytest.raises(TypeError, match="fg must be a FactorGraph"):
        junction_tree.build("graph")
    np.testing.assert_array_equal(fg.theta, theta)  # refused calls change nothing
    tree = junction_tree.build(fg)
    fg.add_variables("extra", 1)
    with pytest.raises(ValueError, match="built from graph revision"):
        tree.log_partition(fg.compile(), np.asarray(fg.theta))


def test_tree_is_built_once_per_structure_and_follows_theta():
    # The tree is memoised on the compiled graph: a second call reuses it, a new theta
    # gives the new answer (checked against enumeration), a structural change rebuilds it.
    fg = pgm.FactorGraph()
    x = fg.add_variables("x", 12, domain="spin")
    name = fg.add_edges(np.c_[x.ids[:-1], x.ids[1:]], np.full(11, 0.4))
    tree = junction_tree.build_from_compiled(fg.compile(), np.zeros(0, np.int64))
    assert junction_tree.build_from_compiled(fg.compile(), np.zeros(0, np.int64)) is tree
    fg.set_parameters({name: np.linspace(-1.0, 1.0, 11)})
    assert junction_tree.build_from_compiled(fg.compile(), np.zeros(0, np.int64)) is tree
    jt = exact.log_partition(fg, method="junction_tree")
    assert jt == pytest.approx(exact.log_partition(fg, method="enumerate"), rel=1e-12)
    fg.add_unary(x, np.full(12, 0.1))
    assert junction_tree.build_from_compiled(fg.compile(), np.zeros(0, np.int64)) is not tree
    jt = exact.log_partition(fg, method="junction_tree")
    assert jt == pytest.approx(exact.log_partition(fg, method="enumerate"), rel=1e-12)
