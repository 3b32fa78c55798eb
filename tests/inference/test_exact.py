"""Exact enumeration against the naive oracle (STYLE.md section 7).

Tolerances: every quantity is compared with the brute force to rtol=1e-10
(atol=1e-12 for entries near zero), the float64 contract of STYLE.md; the
enumeration sums at most a few thousand terms whose rounding errors are
~1e-16 each, so the bound holds with a wide margin.
"""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pgm
from pgm.inference import exact
from tests import oracle
from tests.strategies import build, graph_specs, random_states

RTOL, ATOL = 1e-10, 1e-12


# ---------------------------------------------------------------------- helpers
def oracle_pairwise(terms, pairs):
    max_k = max(len(d) for d in terms.domains)
    out = np.zeros((len(pairs), max_k, max_k))
    for state, p in zip(*oracle.probabilities(terms), strict=True):
        for q, (i, j) in enumerate(pairs):
            out[q, terms.domains[i].index(state[i]), terms.domains[j].index(state[j])] += p
    return out


def oracle_model_stats(fg, terms):
    """E_p[flat statistics] from the oracle's probabilities."""
    states, probs = oracle.probabilities(terms)
    return np.asarray(probs) @ fg.flat_statistics(np.array(states))


def oracle_data_stats(fg, terms, data, visible):
    """mean_r E_{p(h|v_r)}[flat statistics], posterior weights from the oracle energy."""
    states = np.array(list(terms.states()))
    total = np.zeros(fg.theta.shape[0])
    for row in data:
        rows = states[np.all(states[:, visible] == row, axis=1)]
        energy = np.array([terms.energy(s) for s in rows])
        w = np.exp(energy.min() - energy)
        total += (w / w.sum()) @ fg.flat_statistics(rows)
    return total / len(data)


def flat(named):
    return np.concatenate([np.ravel(a) for a in named.values()] + [np.zeros(0)])


def scaled(spec, factor):
    terms = [(kind, where, np.asarray(params) * factor) for kind, where, params in spec["terms"]]
    return {"groups": spec["groups"], "terms": terms}


def relabelled(fg, terms, perm):
    """The same model with variable ``i`` renamed ``perm[i]`` (one group per variable)."""
    inverse = np.argsort(perm)
    new = pgm.FactorGraph()
    for k in range(len(perm)):
        new.add_variables(f"x{k}", 1, fg.domain_of(int(inverse[k])))
    for var, bias in terms.unary:
        new.add_unary([int(perm[var])], [bias] if np.ndim(bias) else [float(bias)])
    for i, j, w in terms.pairwise:
        new.add_edges([[int(perm[i]), int(perm[j])]], [w])
    for scope, table in terms.tables:
        new.add_factor([int(perm[s]) for s in scope], table)
    return new


@st.composite
def spec_and_visible(draw, **kwargs):
    spec = draw(graph_specs(**kwargs))
    n = sum(n for _, n, _ in spec["groups"])
    visible = draw(st.one_of(st.none(), st.lists(st.integers(0, n - 1), min_size=1, unique=True)))
    seed = draw(st.integers(0, 2**32 - 1))
    return spec, visible, seed


# ---------------------------------------------------------------------- Gray code
@pytest.mark.parametrize("radix", [(2, 3, 4), (4, 3, 2), (2,), (3, 2, 2, 5), (2, 2, 2, 2)])
def test_gray_code_enumeration_visits_every_state_once(radix):
    # One table factor over all variables with a distinct random energy per joint state:
    # log Z equals the log-sum-exp of the table only if the inlined Gray-code walk visits
    # every state exactly once (a skipped or repeated state changes it by far more than
    # rounding), and the MAP is the table's argmin.
    rng = np.random.default_rng(len(radix))
    fg = pgm.FactorGraph()
    ids = [int(fg.add_variables(f"x{i}", 1, domain=int(k)).ids[0]) for i, k in enumerate(radix)]
    table = rng.normal(size=radix) * 3.0
    fg.add_factor(ids, table)
    expected = float(np.log(np.sum(np.exp(-table))))  # E += table, p ~ exp(-E)
    assert exact.log_partition(fg, method="enumerate") == pytest.approx(expected, rel=1e-13)
    best = exact.map_state(fg, method="enumerate")
    np.testing.assert_array_equal(best.state, np.unravel_index(np.argmin(table), table.shape))
    assert best.energy == pytest.approx(table.min(), rel=1e-13)


# ---------------------------------------------------------------------- against the oracle
@settings(deadline=None)
@given(graph_specs(max_variables=12))
def test_log_partition_marginals_and_pairs_match_oracle(spec):
    fg, terms = build(spec)
    assert exact.log_partition(fg) == pytest.approx(oracle.log_partition(terms), rel=RTOL, abs=ATOL)
    marg = exact.marginals(fg)
    np.testing.assert_allclose(marg, oracle.marginals(terms), rtol=RTOL, atol=ATOL)
    # marginals are distributions, zero padded beyond each cardinality
    np.testing.assert_allclose(marg.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all(marg >= 0)
    for i in range(fg.n_variables):
        k = len(terms.domains[i])
        assert np.all(marg[i, k:] == 0)
    result = exact.pairwise_marginals(fg)
    if len(result.pairs):
        np.testing.assert_allclose(
            result.marginals, oracle_pairwise(terms, result.pairs.tolist()), rtol=RTOL, atol=ATOL
        )
        np.testing.assert_allclose(result.marginals.sum(axis=(1, 2)), 1.0, rtol=1e-12)
    n = fg.n_variables
    if n >= 2:
        pairs = [(0, n - 1), (n - 1, 0), (n // 2, 0) if n // 2 else (1, 0)]
        got = exact.pairwise_marginals(fg, pairs)
        np.testing.assert_allclose(
            got.marginals, oracle_pairwise(terms, pairs), rtol=RTOL, atol=ATOL
        )


def test_default_pairs_are_the_sorted_distinct_edges():
    fg = pgm.FactorGraph()
    v = fg.add_variables("v", 4, "spin")
    fg.add_edges([[2, 0], [0, 2], [3, 1]], [0.5, -0.2, 1.0])
    fg.add_factor([v.ids[0], v.ids[1]], np.zeros((2, 2)))  # not a pairwise edge
    result = exact.pairwise_marginals(fg)
    np.testing.assert_array_equal(result.pairs, [[0, 2], [1, 3]])
    assert result.marginals.shape == (2, 2, 2)
    with pytest.raises(ValueError, match="read-only"):
        result.marginals[0, 0, 0] = 1.0


@pytest.mark.parametrize("chunk", [1, 3, 4096])
def test_chunked_energy_refresh_matches_oracle(monkeypatch, chunk):
    """More states (3 * 2**11 = 6144) than one chunk; the refresh period must not matter."""
    monkeypatch.setattr(exact, "_CHUNK", chunk)
    rng = np.random.default_rng(3)
    spec = {
        "groups": [("a", 6, "spin"), ("b", 5, "binary"), ("c", 1, 3)],
        "terms": [
            ("unary", "a", rng.normal(0, 1, 6)),
            ("pairwise", (0, 1), rng.normal(0, 1, (6, 5))),
            ("edges", np.array([[0, 1], [6, 11], [2, 3]]), rng.normal(0, 1, 3)),
            ("factor", np.array([11, 0]), rng.normal(0, 1, (3, 2))),
            ("unary", "c", rng.normal(0, 1, (1, 3))),
        ],
    }
    fg, terms = build(spec)
    assert exact.log_partition(fg) == pytest.approx(oracle.log_partition(terms), rel=RTOL)
    np.testing.assert_allclose(exact.marginals(fg), oracle.marginals(terms), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(
        flat(exact.expectations(fg)), oracle_model_stats(fg, terms), rtol=1e-9, atol=1e-11
    )


@settings(deadline=None)
@given(spec_and_visible(max_variables=10))
def test_log_likelihood_matches_oracle(args):
    spec, visible, seed = args
    fg, terms = build(spec)
    rng = np.random.default_rng(seed)
    vis = list(range(fg.n_variables)) if visible is None else visible
    data = random_states(terms, 3, rng)[:, vis]
    got = exact.log_likelihood(fg, data, visible=visible)
    assert got == pytest.approx(oracle.log_likelihood(terms, data, vis), rel=RTOL, abs=ATOL)


@settings(deadline=None)
@given(spec_and_visible(max_variables=10))
def test_gradient_is_data_minus_model_statistics(args):
    spec, visible, seed = args
    fg, terms = build(spec)
    rng = np.random.default_rng(seed)
    vis = list(range(fg.n_variables)) if visible is None else visible
    data = random_states(terms, 3, rng)[:, vis]
    grad = exact.log_likelihood_gradient(fg, data, visible=visible)
    assert list(grad) == list(fg.parameters())
    for name, value in fg.parameters().items():
        assert grad[name].shape == value.shape
    model = oracle_model_stats(fg, terms)
    expected = oracle_data_stats(fg, terms, data, vis) - model
    # sums of <= 4096 probabilities times O(1) statistics: rounding ~1e-13
    np.testing.assert_allclose(flat(grad), expected, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(flat(exact.expectations(fg)), model, rtol=1e-9, atol=1e-11)


@settings(deadline=None, max_examples=15)
@given(spec_and_visible(max_variables=8, max_states=512))
def test_gradient_matches_central_finite_differences(args):
    """h = 6e-6 max(1, |theta_j|): truncation ~h^2 |f'''| ~ 4e-11, rounding ~eps |f| / h ~ 2e-10,
    both far inside rtol=1e-6, atol=1e-8 (STYLE.md section 7)."""
    spec, visible, seed = args
    fg, terms = build(spec)
    rng = np.random.default_rng(seed)
    vis = list(range(fg.n_variables)) if visible is None else visible
    data = random_states(terms, 4, rng)[:, vis]
    analytic = flat(exact.log_likelihood_gradient(fg, data, visible=visible))
    theta = fg.theta.copy()
    numeric = np.empty_like(theta)
    for j in range(theta.shape[0]):
        h = 6e-6 * max(1.0, abs(theta[j]))
        step = np.zeros_like(theta)
        step[j] = h
        fg.set_theta(theta + step)
        up = exact.log_likelihood(fg, data, visible=visible)
        fg.set_theta(theta - step)
        down = exact.log_likelihood(fg, data, visible=visible)
        numeric[j] = (up - down) / (2 * h)
    fg.set_theta(theta)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


@settings(deadline=None)
@given(graph_specs(max_variables=10))
def test_expectations_agree_with_oracle_marginals(spec):
    fg, terms = build(spec)
    got = exact.expectations(fg)
    marg = oracle.marginals(terms)
    cg = fg.compile()
    for name in fg.parameter_slices:
        if not name.startswith("bias"):
            continue
        block = got[name]
        group = fg.groups[name[len("bias_") :]]
        for r, i in enumerate(group.ids):
            k = int(cg.cardinality[i])
            if block.ndim == 1:
                values = np.array(terms.domains[i], dtype=float)
                assert block[r] == pytest.approx(marg[i, :k] @ values, rel=RTOL, abs=ATOL)
            else:
                np.testing.assert_allclose(block[r], marg[i, :k], rtol=RTOL, atol=ATOL)


@settings(deadline=None)
@given(graph_specs(max_variables=10), st.integers(0, 2**32 - 1))
def test_map_state_is_a_brute_force_minimiser(spec, seed):
    fg, terms = build(spec)
    energies = [terms.energy(s) for s in terms.states()]
    result = exact.map_state(fg)
    assert result.energy == pytest.approx(min(energies), rel=RTOL, abs=1e-10)
    assert result.energy == pytest.approx(float(fg.energy(result.state)), rel=1e-14, abs=1e-14)
    # clamped: the minimum over the others
    rng = np.random.default_rng(seed)
    state = random_states(terms, 1, rng)[0]
    i = int(rng.integers(fg.n_variables))
    clamped = exact.map_state(fg, clamp={i: int(state[i])})
    assert clamped.state[i] == state[i]
    best = min(e for s, e in zip(terms.states(), energies, strict=True) if s[i] == state[i])
    assert clamped.energy == pytest.approx(best, rel=RTOL, abs=1e-10)


# ---------------------------------------------------------------------- clamping
@settings(deadline=None)
@given(graph_specs(max_variables=8), st.integers(0, 2**32 - 1))
def test_clamped_results_are_conditionals(spec, seed):
    fg, terms = build(spec)
    rng = np.random.default_rng(seed)
    n = fg.n_variables
    ids = sorted(rng.choice(n, int(rng.integers(1, n + 1)), replace=False).tolist())
    row = random_states(terms, 1, rng)[0, ids]
    clamp = dict(zip(ids, row.tolist(), strict=True))
    # log sum over the rest = log p(clamped) + log Z
    log_p = oracle.log_likelihood(terms, row[None, :], ids)
    got = exact.log_partition(fg, clamp=clamp) - exact.log_partition(fg)
    assert got == pytest.approx(log_p, rel=RTOL, abs=1e-10)
    # conditional marginals by brute force
    states, probs = oracle.probabilities(terms)
    keep = [all(s[i] == v for i, v in clamp.items()) for s in states]
    max_k = max(len(d) for d in terms.domains)
    expected = np.zeros((n, max_k))
    for s, p, k in zip(states, probs, keep, strict=True):
        if k:
            for i, value in enumerate(s):
                expected[i, terms.domains[i].index(value)] += p
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(exact.marginals(fg, clamp=clamp), expected, rtol=1e-9, atol=ATOL)


# ---------------------------------------------------------------------- properties
@settings(deadline=None)
@given(graph_specs(max_variables=10), st.floats(-30, 30, allow_nan=False))
def test_constant_energy_shifts_log_partition(spec, c):
    fg, _ = build(spec)
    log_z = exact.log_partition(fg)
    marg = exact.marginals(fg)
    k = fg.compile().cardinality[0]
    fg.add_factor([0], np.full(k, c))
    assert exact.log_partition(fg) == pytest.approx(log_z - c, rel=RTOL, abs=1e-10)
    np.testing.assert_allclose(exact.marginals(fg), marg, rtol=1e-9, atol=ATOL)


@settings(deadline=None)
@given(graph_specs(max_variables=9), st.integers(0, 2**32 - 1))
def test_relabelling_variables_permutes_results(spec, seed):
    fg, terms = build(spec)
    perm = np.random.default_rng(seed).permutation(fg.n_variables)
    other = relabelled(fg, terms, perm)
    assert exact.log_partition(other) == pytest.approx(exact.log_partition(fg), rel=RTOL, abs=ATOL)
    marg = exact.marginals(fg)
    np.testing.assert_allclose(exact.marginals(other)[perm], marg, rtol=1e-9, atol=ATOL)
    if fg.n_variables >= 2:
        pm = exact.pairwise_marginals(fg, [(0, 1)]).marginals
        pm_other = exact.pairwise_marginals(other, [(perm[0], perm[1])]).marginals
        np.testing.assert_allclose(pm_other, pm, rtol=1e-9, atol=ATOL)
    assert exact.map_state(other).energy == pytest.approx(
        exact.map_state(fg).energy, rel=1e-12, abs=1e-12
    )


def test_empty_and_tiny_graphs():
    fg = pgm.FactorGraph()
    assert exact.log_partition(fg) == 0.0
    assert exact.marginals(fg).shape == (0, 0)
    fg.add_variables("c", 1, 5)
    assert exact.log_partition(fg) == pytest.approx(np.log(5), rel=1e-15)
    np.testing.assert_allclose(exact.marginals(fg), [[0.2] * 5], rtol=1e-15)


# ---------------------------------------------------------------------- extreme parameters
@pytest.mark.parametrize("scale", [50.0, -50.0, 1e3, -1e3])
def test_extreme_parameters_stay_finite_and_correct(scale):
    """Energies reach ~|scale| * 30; rounding in them is ~1e-16 * 3e4 = 3e-12 absolute,
    so probabilities carry relative errors ~1e-11 (atol 1e-9 on [0, 1] entries) and
    log Z (magnitude ~3e4) keeps rtol 1e-10."""
    rng = np.random.default_rng(int(abs(scale)))
    spec = {
        "groups": [("s", 4, "spin"), ("b", 3, "binary"), ("c", 2, 3)],
        "terms": [
            ("unary", "s", rng.uniform(-1, 1, 4)),
            ("pairwise", (0, 1), rng.uniform(-1, 1, (4, 3))),
            ("edges", np.array([[0, 7], [8, 4]]), rng.uniform(-1, 1, 2)),
            ("factor", np.array([7, 8, 1]), rng.uniform(-1, 1, (3, 3, 2))),
        ],
    }
    fg, terms = build(scaled(spec, scale))
    log_z = exact.log_partition(fg)
    assert np.isfinite(log_z)
    assert log_z == pytest.approx(oracle.log_partition(terms), rel=RTOL, abs=1e-8)
    marg = exact.marginals(fg)
    assert np.all(np.isfinite(marg))
    np.testing.assert_allclose(marg, oracle.marginals(terms), rtol=1e-9, atol=1e-9)
    data = random_states(terms, 3, rng)[:, :5]
    ll = exact.log_likelihood(fg, data, visible=range(5))
    assert ll == pytest.approx(
        oracle.log_likelihood(terms, data, list(range(5))), rel=1e-9, abs=1e-8
    )
    grad = flat(exact.log_likelihood_gradient(fg, data, visible=list(range(5))))
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("scale", [50.0, 1e3])
def test_independent_variables_match_closed_form(scale):
    """log Z = sum_i log(1 + exp(b_i)) and P(x_i = 1) = sigmoid(b_i) for binary units."""
    bias = scale * np.array([1.0, -1.0, 0.5, -0.25, 0.0, 2.0])
    fg = pgm.FactorGraph()
    v = fg.add_variables("v", bias.shape[0], "binary")
    fg.add_unary(v, bias)
    assert exact.log_partition(fg) == pytest.approx(np.logaddexp(0, bias).sum(), rel=1e-13)
    p1 = np.exp(-np.logaddexp(0, -bias))  # sigmoid(b), no cancellation
    p0 = np.exp(-np.logaddexp(0, bias))  # sigmoid(-b)
    np.testing.assert_allclose(
        exact.marginals(fg), np.stack([p0, p1], axis=1), rtol=1e-12, atol=1e-300
    )


# ---------------------------------------------------------------------- limits and errors
def test_max_states_refusal_names_count_and_limit():
    fg = pgm.FactorGraph()
    fg.add_variables("v", 10, "binary")
    with pytest.raises(
        exact.EnumerationTooLargeError, match=r"1,024 joint states.*max_states=1,000"
    ):
        exact.log_partition(fg, max_states=1000, method="enumerate")
    assert exact.log_partition(fg, max_states=1024) == pytest.approx(10 * np.log(2), rel=1e-14)
    with pytest.raises(ValueError, match="max_states="):
        exact.marginals(fg, max_states=1023, method="enumerate")
    big = pgm.FactorGraph()
    big.add_variables("v", 300, 3)
    with pytest.raises(exact.EnumerationTooLargeError, match=r"about 10\^143\.1 joint states"):
        exact.log_partition(big, method="enumerate")
    with pytest.raises(ValueError, match="max_states must be a positive integer"):
        exact.log_partition(fg, max_states=0)


def test_hidden_enumeration_per_row_is_bounded():
    fg = pgm.FactorGraph()
    fg.add_variables("v", 6, "binary")
    data = [[0], [1], [0]]  # 3 rows x 2**5 hidden states = 96 > 64 (the joint has 64)
    with pytest.raises(exact.EnumerationTooLargeError, match=r"3 data rows would visit 3 x 32"):
        exact.log_likelihood(fg, data, visible=[0], max_states=64, method="enumerate")
    with pytest.raises(exact.EnumerationTooLargeError, match=r"max_states=64"):
        exact.log_likelihood_gradient(
            fg, data, visible=[0], max_states=64, method="enumerate"
        )
    assert exact.log_likelihood(fg, data, visible=[0], max_states=96) == pytest.approx(np.log(0.5))


@pytest.fixture
def small():
    rng = np.random.default_rng(0)
    fg = pgm.FactorGraph()
    v = fg.add_variables("v", 3, "binary")
    h = fg.add_variables("h", 2, "spin")
    c = fg.add_variables("c", 1, 3)
    fg.add_pairwise(v, h, rng.normal(size=(3, 2)))
    fg.add_unary(c, rng.normal(size=(1, 3)))
    return fg


@pytest.mark.parametrize(
    ("data", "visible", "match"),
    [
        ([[0, 1]], [0, 1, 2], r"data must have shape \(n_rows, 3\)"),
        ([0, 1, 1], [0, 1, 2], r"data must have shape"),
        (np.zeros((0, 2)), [0, 1], r"n_rows >= 1"),
        ([[0, 2]], [0, 1], r"data\[0, 1\] = 2 is outside the domain of variable 1 \(binary"),
        ([[0, 0]], [0, 3], r"data\[0, 1\] = 0 is outside the domain of variable 3 \(spin"),
        ([[3]], [5], r"outside the domain of variable 5 \(categorical: 0..2\)"),
        ([[0, np.nan]], [0, 1], "data must be finite"),
        ([[0, 0.5]], [0, 1], "non-integral"),
        ([[0, 1]], [0, 6], "visible: variable id 6 is out of range"),
        ([[0, 1]], [-1, 0], "visible: variable id -1 is out of range"),
        ([[0, 1]], [1, 1], "visible: variable id 1 is repeated"),
        ([[0, 1]], [[0, 1]], "visible must be 1-dimensional"),
        ([[0, 1]], [0.0, 1.0], "visible must be a 1-D array of integer"),
    ],
)
def test_data_errors(small, data, visible, match):
    theta = small.theta.copy()
    with pytest.raises(ValueError, match=match):
        exact.log_likelihood(small, data, visible=visible)
    with pytest.raises(ValueError, match=match):
        exact.log_likelihood_gradient(small, data, visible=visible)
    np.testing.assert_array_equal(small.theta, theta)


def test_visible_accepts_groups_and_defaults_to_all(small):
    v = small.groups["v"]
    data = np.array([[0, 1, 1], [1, 0, 1]])
    by_group = exact.log_likelihood(small, data, visible=v)
    assert by_group == pytest.approx(
        exact.log_likelihood(small, data, visible=[0, 1, 2]), rel=1e-15
    )
    full = np.array([[0, 1, 1, -1, 1, 2]])
    expected = -float(small.energy(full)[0]) - exact.log_partition(small)
    assert exact.log_likelihood(small, full) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("clamp", "error", "match"),
    [
        ({7: 0}, ValueError, "clamp: variable id 7 is out of range"),
        ({0: 2}, ValueError, r"clamp\[0\] = 2 is outside the domain of variable 0"),
        ({3: 0}, ValueError, r"clamp\[3\] = 0 is outside the domain of variable 3 \(spin"),
        ({0: np.nan}, ValueError, "clamp values must be finite"),
        ([(0, 1)], TypeError, "clamp must be a dict"),
    ],
)
def test_clamp_errors(small, clamp, error, match):
    with pytest.raises(error, match=match):
        exact.marginals(small, clamp=clamp)
    with pytest.raises(error, match=match):
        exact.log_partition(small, clamp=clamp)


@pytest.mark.parametrize(
    ("pairs", "match"),
    [
        ([0, 1], r"pairs must have shape \(n_pairs, 2\)"),
        ([[0, 9]], "pairs: variable id 9 is out of range"),
        ([[2, 2]], "joins variable 2 with itself"),
    ],
)
def test_pair_errors(small, pairs, match):
    with pytest.raises(ValueError, match=match):
        exact.pairwise_marginals(small, pairs)


def test_not_a_factor_graph():
    with pytest.raises(TypeError, match="fg must be a pgm.FactorGraph"):
        exact.log_partition({"not": "a graph"})


def test_results_follow_parameter_changes_without_recompiling(small):
    before = exact.log_partition(small)
    cg = small.compile()
    small.set_theta(small.theta * 2)
    assert small.compile() is cg
    after = exact.log_partition(small)
    assert after != before
    states = np.array(list(itertools.product([0, 1], [0, 1], [0, 1], [-1, 1], [-1, 1], [0, 1, 2])))
    energy = small.energy(states)
    m = energy.min()
    assert after == pytest.approx(-m + np.log(np.exp(m - energy).sum()), rel=1e-12)


def test_string_data_is_a_type_error(small):
    """Strings are the wrong kind of input (TypeError), not a bad value; theta is untouched."""
    theta = small.theta.copy()
    with pytest.raises(TypeError, match="data must be a numeric array"):
        exact.log_likelihood(small, [["a", "b"]], visible=[0, 1])
    np.testing.assert_array_equal(small.theta, theta)
