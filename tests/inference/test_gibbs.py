"""Tests of ``pgm.inference.gibbs`` against the brute-force oracle.

Statistical tests use many independent chains and keep one draw per chain
after burn-in, so the N draws are independent and every estimated
probability is Binomial(N, p) / N. Each has a "power" twin: the same check
against a target with one weight perturbed must fail.
"""

from __future__ import annotations

import json
import math

import numba
import numpy as np
import pytest
from hypothesis import given
from scipy import special, stats

import pgm
from pgm.inference import _gibbs_kernels as K
from pgm.inference import gibbs
from pgm.inference._kernels import conditional_energies
from tests import oracle
from tests._nojit import run_without_jit
from tests.strategies import build, graph_specs

SCHEDULES = ["chromatic", "sequential"]
U_MAX = 1.0 - 2.0**-53  # the largest uniform the generator can return


# ---------------------------------------------------------------------- graphs
def _spec(kind: str, seed: int = 0) -> dict:
    """Small random graphs (specs for ``tests.strategies.build``) with fixed seeds."""
    rng = np.random.default_rng(seed)
    if kind == "spin":  # a 5-cycle with a chord: not bipartite, three colours
        edges = np.array([[0, 1], [1, 2], [2, 3], [3, 4], [4, 0], [0, 2]])
        return {
            "groups": [("s", 5, "spin")],
            "terms": [
                ("unary", "s", rng.normal(0, 0.5, 5)),
                ("edges", edges, rng.normal(0, 0.6, 6)),
            ],
        }
    if kind == "binary":  # an RBM-shaped bipartite graph
        return {
            "groups": [("v", 4, "binary"), ("h", 3, "binary")],
            "terms": [
                ("unary", "v", rng.normal(0, 0.7, 4)),
                ("unary", "h", rng.normal(0, 0.7, 3)),
                ("pairwise", (0, 1), rng.normal(0, 0.8, (4, 3))),
            ],
        }
    if kind == "categorical":  # categorical, binary and spin, pairwise only
        return {
            "groups": [("c", 3, 3), ("b", 2, "binary"), ("s", 2, "spin")],
            "terms": [
                ("unary", "c", rng.normal(0, 0.7, (3, 3))),
                ("unary", "b", rng.normal(0, 0.7, 2)),
                ("pairwise", (0, 1), rng.normal(0, 0.4, (3, 2))),
                ("pairwise", (1, 2), rng.normal(0, 0.7, (2, 2))),
                ("edges", np.array([[0, 1], [5, 6], [2, 6]]), rng.normal(0, 0.4, 3)),
            ],
        }
    if kind == "tables":  # table factors of 2 and 3 variables over mixed domains
        return {
            "groups": [("c", 2, 3), ("b", 3, "binary"), ("s", 2, "spin")],
            "terms": [
                ("unary", "b", rng.normal(0, 0.7, 3)),
                ("pairwise", (1, 2), rng.normal(0, 0.6, (3, 2))),
                ("factor", np.array([0, 2, 5]), rng.normal(0, 0.8, (3, 2, 2))),
                ("factor", np.array([1, 3]), rng.normal(0, 0.8, (3, 2))),
                ("factor", np.array([4, 6, 1]), rng.normal(0, 0.8, (2, 2, 3))),
            ],
        }
    raise AssertionError(kind)


GRAPHS = ["spin", "binary", "categorical", "tables"]


def _scaled(spec: dict, factor: float) -> dict:
    """The spec with every parameter multiplied by ``factor`` (energy times ``factor``)."""
    return {
        "groups": spec["groups"],
        "terms": [(k, w, np.asarray(p) * factor) for k, w, p in spec["terms"]],
    }


def _perturbed(spec: dict, delta: float = 1.0) -> dict:
    """The spec with one interaction weight (first entry of the last term) moved by ``delta``."""
    terms = list(spec["terms"])
    kind, where, params = terms[-1]
    params = np.array(params, dtype=float)
    params.flat[0] += delta
    terms[-1] = (kind, where, params)
    return {"groups": spec["groups"], "terms": terms}


# ---------------------------------------------------------------------- exact targets
def _exact_tables(terms, clamp=None, n_pairs=None):
    """Exact single and pairwise marginals over value indices, from the oracle.

    With ``clamp`` ({id: value}) the distribution is conditioned on it
    (states disagreeing with the evidence dropped, the rest renormalised).
    Returns ``(single, pair)``: ``single[i]`` is a vector over i's values,
    ``pair[(i, j)]`` a matrix, for every pair ``i < j``.
    """
    states, probs = oracle.probabilities(terms)
    states = np.array(states)
    probs = np.array(probs)
    if clamp:
        keep = np.all([states[:, i] == v for i, v in clamp.items()], axis=0)
        states, probs = states[keep], probs[keep] / probs[keep].sum()
    return _tables(states, probs, terms.domains)


def _tables(states, weights, domains):
    n = len(domains)
    index = np.stack([np.searchsorted(domains[i], states[:, i]) for i in range(n)], axis=1)
    single = [np.bincount(index[:, i], weights, len(domains[i])) for i in range(n)]
    pair = {}
    for i in range(n):
        for j in range(i + 1, n):
            ki, kj = len(domains[i]), len(domains[j])
            flat = np.bincount(index[:, i] * kj + index[:, j], weights, ki * kj)
            pair[(i, j)] = flat.reshape(ki, kj)
    return single, pair


def _violations(draws, terms, target):
    """Count estimated probabilities outside ``5 sqrt(p(1-p)/N) + 1/N`` of ``target``.

    ``draws`` has shape (N, n_variables), one independent draw per chain.
    Checks every single-variable marginal and every pairwise joint
    probability (which fixes the pairwise correlations).
    """
    n_draws = draws.shape[0]
    est_single, est_pair = _tables(draws, np.full(n_draws, 1.0 / n_draws), terms.domains)
    exact_single, exact_pair = target
    bad = 0
    for est, exact in zip(
        est_single + list(est_pair.values()),
        exact_single + list(exact_pair.values()),
        strict=True,
    ):
        exact = np.clip(exact, 0.0, 1.0)  # sums of probabilities may round past 1
        tol = 5.0 * np.sqrt(exact * (1.0 - exact) / n_draws) + 1.0 / n_draws
        bad += int(np.sum(np.abs(est - exact) > tol))
    return bad


N_CHAINS = 4000
BURN_IN = 40


def _draws(fg, **kwargs):
    x = gibbs.sample(fg, 1, n_chains=N_CHAINS, burn_in=BURN_IN, **kwargs)
    return x[:, 0, :]


# ---------------------------------------------------------------------- marginals
@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("kind", GRAPHS)
def test_marginals_and_pairwise_match_exact(kind, schedule):
    """Single and pairwise marginals agree with enumeration.

    N = 4000 independent chains, 40 burn-in sweeps, one draw each: an
    estimate p_hat of a probability p has standard deviation
    sqrt(p(1-p)/N) <= 0.0079. Each of the (at most ~200) entries must satisfy
    |p_hat - p| <= 5 sqrt(p(1-p)/N) + 1/N (the 1/N covers p near 0 or 1 and
    the burn-in bias, which decays geometrically on these weakly coupled
    graphs). A correct sampler fails an entry with probability < 6e-7, so
    < 1.2e-4 for the whole test; the seed is fixed.
    """
    spec = _spec(kind)
    fg, terms = build(spec)
    draws = _draws(fg, schedule=schedule, seed=10)
    assert _violations(draws, terms, _exact_tables(terms)) == 0


@pytest.mark.parametrize("kind", GRAPHS)
def test_marginals_power_twin(kind):
    """The check above rejects a target with one interaction weight moved by 1.0."""
    spec = _spec(kind)
    fg, _ = build(spec)
    _, wrong = build(_perturbed(spec))
    draws = _draws(fg, seed=10)
    assert _violations(draws, wrong, _exact_tables(wrong)) > 0


@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("kind", ["categorical", "tables"])
def test_clamped_sampling_matches_exact_conditionals(kind, schedule):
    """With evidence, the chains sample the exact conditional distribution.

    Same tolerance arithmetic as the marginal test (N = 4000 independent
    draws, |p_hat - p| <= 5 sqrt(p(1-p)/N) + 1/N per entry); the clamped
    variables must hold their values in every draw.
    """
    spec = _spec(kind)
    fg, terms = build(spec)
    clamp = {0: 2, 5: -1} if kind == "categorical" else {2: 1, 6: -1}
    draws = _draws(fg, schedule=schedule, clamp=clamp, seed=11)
    for var, value in clamp.items():
        assert np.all(draws[:, var] == value)
    assert _violations(draws, terms, _exact_tables(terms, clamp)) == 0


def test_clamped_sampling_power_twin():
    """The conditional check rejects the *unconditioned* target and a perturbed one."""
    spec = _spec("tables")
    fg, terms = build(spec)
    clamp = {2: 1, 6: -1}
    draws = _draws(fg, clamp=clamp, seed=11)
    free = [i for i in range(fg.n_variables) if i not in clamp]
    assert _violations(draws[:, free], _Sub(terms, free), _sub(_exact_tables(terms), free)) > 0
    _, wrong = build(_perturbed(spec))
    assert _violations(draws, wrong, _exact_tables(wrong, clamp)) > 0


class _Sub:
    def __init__(self, terms, keep):
        self.domains = [terms.domains[i] for i in keep]


def _sub(target, keep):
    single, pair = target
    return [single[i] for i in keep], {
        (a, b): pair[(keep[a], keep[b])] for a in range(len(keep)) for b in range(a + 1, len(keep))
    }


@pytest.mark.parametrize("beta", [0.5, 2.0])
@pytest.mark.parametrize("kind", ["spin", "tables"])
def test_temperature_matches_exact_at_scaled_parameters(kind, beta):
    """``beta`` samples ``exp(-beta E)``: the exact target at parameters times beta.

    Energies are linear in the parameters, so ``beta E`` is the energy of the
    graph with every parameter scaled by beta. Tolerance as in the marginal
    test (N = 4000 independent draws, 5 sigma + 1/N per entry).
    """
    spec = _spec(kind)
    fg, _ = build(spec)
    _, scaled = build(_scaled(spec, beta))
    draws = _draws(fg, beta=beta, seed=12)
    assert _violations(draws, scaled, _exact_tables(scaled)) == 0


def test_temperature_power_twin():
    """At beta = 2 the draws are rejected by the beta = 1 target."""
    spec = _spec("tables")
    fg, terms = build(spec)
    draws = _draws(fg, beta=2.0, seed=12)
    assert _violations(draws, terms, _exact_tables(terms)) > 0


def _tiny():
    """Three variables (spin, binary, 3 states), 12 joint states, one 3-way table."""
    rng = np.random.default_rng(5)
    return {
        "groups": [("s", 1, "spin"), ("b", 1, "binary"), ("c", 1, 3)],
        "terms": [
            ("unary", "s", rng.normal(0, 0.5, 1)),
            ("edges", np.array([[0, 1]]), rng.normal(0, 0.5, 1)),
            ("factor", np.array([0, 1, 2]), rng.normal(0, 0.8, (2, 2, 3))),
        ],
    }


def _chi2_pvalue(draws, terms):
    states, probs = oracle.probabilities(terms)
    lookup = {tuple(s): k for k, s in enumerate(states)}
    counts = np.bincount([lookup[tuple(r)] for r in draws.tolist()], minlength=len(states))
    return stats.chisquare(counts, np.asarray(probs) * draws.shape[0]).pvalue


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_state_frequencies_chi_square(schedule):
    """Joint state frequencies of N = 20000 independent draws pass chi-square at p > 1e-4.

    12 states, expected counts N p_s >= 20000 * min p_s (> 50 here), so the
    chi-square approximation (11 degrees of freedom) is sound.
    """
    fg, terms = build(_tiny())
    draws = gibbs.sample(fg, 1, n_chains=20000, burn_in=30, schedule=schedule, seed=3)[:, 0]
    assert min(oracle.probabilities(terms)[1]) * 20000 > 50
    assert _chi2_pvalue(draws, terms) > 1e-4


def test_state_frequencies_chi_square_power_twin():
    """One table entry moved by 0.5 gives p < 1e-4 for the same draws."""
    spec = _tiny()
    fg, _ = build(spec)
    _, wrong = build(_perturbed(spec, 0.5))
    draws = gibbs.sample(fg, 1, n_chains=20000, burn_in=30, seed=3)[:, 0]
    assert _chi2_pvalue(draws, wrong) < 1e-4


# ---------------------------------------------------------------------- reproducibility
def _mixed_graph():
    fg, _ = build(_spec("tables"))
    return fg


@pytest.mark.parametrize("schedule", ["auto", *SCHEDULES])
def test_same_seed_same_samples(schedule):
    fg = _mixed_graph()
    a = gibbs.sample(fg, 20, n_chains=3, burn_in=5, thin=2, schedule=schedule, seed=7)
    b = gibbs.sample(fg, 20, n_chains=3, burn_in=5, thin=2, schedule=schedule, seed=7)
    c = gibbs.sample(fg, 20, n_chains=3, burn_in=5, thin=2, schedule=schedule, seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    g = np.random.default_rng(7)
    d = gibbs.sample(fg, 20, n_chains=3, burn_in=5, thin=2, schedule=schedule, seed=g)
    np.testing.assert_array_equal(a, d)


def test_output_values_and_dtype():
    fg = _mixed_graph()
    x = gibbs.sample(fg, 50, n_chains=4, burn_in=0, seed=0)
    assert x.shape == (4, 50, fg.n_variables) and x.dtype == np.int64
    fg.check_states(x.reshape(-1, fg.n_variables))  # raises if outside a domain
    assert set(np.unique(x[..., 5:])) == {-1, 1}


@pytest.fixture
def restore_threads():
    before = numba.get_num_threads()
    yield
    numba.set_num_threads(before)


def _two_threads():
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 numba threads")
    return 2


def _lattice(side=50, categorical=False):
    """A periodic square lattice of spins, optionally with 40 categorical tabled variables."""
    fg = pgm.FactorGraph()
    n = side * side
    fg.add_variables("s", n, "spin")
    idx = np.arange(n).reshape(side, side)
    edges = np.concatenate(
        [
            np.stack([idx.ravel(), np.roll(idx, -1, 1).ravel()], 1),
            np.stack([idx.ravel(), np.roll(idx, -1, 0).ravel()], 1),
        ]
    )
    rng = np.random.default_rng(0)
    fg.add_edges(edges, rng.normal(0.3, 0.2, len(edges)))
    fg.add_unary(np.arange(n), rng.normal(0, 0.3, n))
    if categorical:
        c = fg.add_variables("c", 40, 3)
        for r, site in enumerate(range(0, 40 * (n // 40), n // 40)):
            fg.add_factor([int(c.ids[r]), site], rng.normal(0, 1.0, (3, 2)))
    return fg


@pytest.mark.parametrize("categorical", [False, True])
def test_identical_for_one_and_two_threads(restore_threads, monkeypatch, categorical):
    """Bitwise identical samples on 1 and 2 threads, splitting across chains or variables."""
    two = _two_threads()
    fg = _lattice(categorical=categorical)
    outputs = []
    for threads in (1, two):
        numba.set_num_threads(threads)
        many = gibbs.sample(fg, 3, n_chains=5, burn_in=3, schedule="chromatic", seed=1)
        seq = gibbs.sample(fg, 3, n_chains=5, burn_in=3, schedule="sequential", seed=1)
        # one chain on 2 threads splits each colour class between the threads
        monkeypatch.setattr(gibbs, "_MIN_VARIABLES_VERTEX_PARALLEL", 0)
        one = gibbs.sample(fg, 3, n_chains=1, burn_in=3, schedule="chromatic", seed=1)
        monkeypatch.undo()
        outputs.append((many, seq, one))
    for a, b in zip(*outputs, strict=True):
        np.testing.assert_array_equal(a, b)


def test_vertex_and_chain_kernels_agree(restore_threads):
    """Every way of running chromatic sweeps gives bitwise the same samples.

    Blocked (slot-major neighbour blocks, split across chains or across the
    variables of a class) and one position after another (a plan with blocks
    of one), on 1 and 2 threads.
    """
    fg = _lattice(categorical=True)
    cg = fg.compile()
    none = np.zeros(0, dtype=np.int64)
    plan, chromatic = gibbs._plan(cg, "chromatic", none)
    single, _ = gibbs._plan(cg, "chromatic", none, block=1)
    assert chromatic and plan.class_indptr[1] > K.VERTEX_CHUNK  # several chunks per class
    assert not plan.fast.all() and plan.fast.any()  # both update paths run
    np.testing.assert_array_equal(plan.order, single.order)
    theta = np.asarray(fg.theta)
    g = cg.kernel_graph
    params = {}
    for name, p in (("blocked", plan), ("single", single)):
        bias, weight = np.empty(p.order.shape[0]), np.empty(p.nbr.shape[0])
        K.fast_parameters(p, g, theta, 1.0, bias, weight)
        params[name] = (p, bias, weight)
    state = gibbs.init_state(fg, 2, seed=0)
    results = []
    for threads in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
        numba.set_num_threads(threads)
        runs = [
            (K.sweeps_by_chain, "blocked", (True, True)),
            (K.sweeps_by_chain, "single", (False, True)),
            (K.sweeps_by_vertex, "blocked", (True,)),
        ]
        for kernel, which, flags in runs:
            p, bias, weight = params[which]
            x, v = state.indices.copy(), state.values.copy()
            out = np.empty((2, 2, cg.n_variables), dtype=np.int64)
            kernel(x, v, g, theta, 1.0, p, bias, weight, *flags, state.key, 0, 4, 2, out)
            results.append((x, v, out))
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            np.testing.assert_array_equal(a, b)
    x, v, out = results[0]
    np.testing.assert_array_equal(out[:, -1], v.astype(np.int64))
    np.testing.assert_array_equal(cg.indices_to_values(x), v.astype(np.int64))


def test_untracked_indices_are_restored():
    """On an all-binary/spin pairwise graph x is rebuilt from v after the kernel."""
    fg = _lattice(side=8)
    sampler = gibbs.GibbsSampler(fg, n_chains=3, seed=0).run(5)
    assert not sampler._engine.track
    snap = sampler.gibbs_state
    np.testing.assert_array_equal(fg.compile().indices_to_values(snap.indices), sampler.state)


def test_runs_compose_and_thin():
    """run(a); run(b) equals run(a + b); sample(n, thin) keeps every thin-th state."""
    fg = _mixed_graph()
    a = gibbs.GibbsSampler(fg, n_chains=3, seed=4).run(3).run(4)
    b = gibbs.GibbsSampler(fg, n_chains=3, seed=4).run(7)
    np.testing.assert_array_equal(a.state, b.state)
    assert a.n_sweeps_done == 7
    kept = a.sample(4, thin=3)
    expect = np.stack([b.run(3).state for _ in range(4)], axis=1)
    np.testing.assert_array_equal(kept, expect)
    np.testing.assert_array_equal(kept[:, -1], a.state)


def test_step_is_pure_and_matches_sampler():
    fg = _mixed_graph()
    state = gibbs.init_state(fg, 3, seed=9)
    before = state.indices.copy()
    s1 = gibbs.step(fg, state, 4)
    s2 = gibbs.step(fg, gibbs.step(fg, state, 1), 3)
    np.testing.assert_array_equal(state.indices, before)
    assert state.sweep == 0 and s1.sweep == 4
    np.testing.assert_array_equal(s1.indices, s2.indices)
    np.testing.assert_array_equal(s1.values, s2.values)
    sampler = gibbs.GibbsSampler(fg, n_chains=3, seed=9).run(4)
    np.testing.assert_array_equal(sampler.state, s1.values.astype(np.int64))
    snap = sampler.gibbs_state
    np.testing.assert_array_equal(snap.indices, s1.indices)


def test_step_clamp_and_theta_override():
    fg = _mixed_graph()
    state = gibbs.init_state(fg, 4, seed=1)
    s = gibbs.step(fg, state, 3, clamp={0: 2, 6: 1})
    assert np.all(s.values[:, 0] == 2) and np.all(s.values[:, 6] == 1)
    theta = np.array(fg.theta)
    np.testing.assert_array_equal(
        gibbs.step(fg, state, 3, theta=theta).values, gibbs.step(fg, state, 3).values
    )
    with pytest.raises(TypeError, match="state must be a GibbsState"):
        gibbs.step(fg, "nope")
    other = pgm.FactorGraph()
    other.add_variables("x", 2)
    with pytest.raises(ValueError, match="state must hold chains of 2 variables"):
        gibbs.step(other, state)


# ---------------------------------------------------------------------- the sampler object
def test_init_and_clamp_are_respected():
    fg = _mixed_graph()
    init = np.array([2, 0, 1, 0, 1, -1, 1])
    sampler = gibbs.GibbsSampler(fg, n_chains=2, init=init, clamp={1: 2}, seed=0)
    np.testing.assert_array_equal(sampler.state, [[2, 2, 1, 0, 1, -1, 1]] * 2)
    sampler.run(20)
    assert np.all(sampler.state[:, 1] == 2)
    per_chain = np.array([init, [0, 1, 0, 1, 0, 1, -1]])
    np.testing.assert_array_equal(gibbs.GibbsSampler(fg, 2, init=per_chain).state, per_chain)


def test_sampler_rereads_theta_and_set_theta():
    """New parameters take effect on the next run, from fg or from set_theta."""
    fg = pgm.FactorGraph()
    v = fg.add_variables("v", 3, "binary")
    fg.add_unary(v, [0.0, 0.0, 0.0])
    sampler = gibbs.GibbsSampler(fg, n_chains=50, seed=0)
    fg.set_parameters(bias_v=[40.0, -40.0, 40.0])  # p(x=1) = sigmoid(+-40): 1 - 4e-18
    assert np.all(sampler.run(1).state == [1, 0, 1])
    sampler.set_theta([-40.0, 40.0, -40.0])
    assert np.all(sampler.run(1).state == [0, 1, 0])
    sampler.set_theta(None)
    assert np.all(sampler.run(1).state == [1, 0, 1])
    sampler.beta = 1e-3  # nearly uniform: both values appear in 50 chains
    assert set(np.unique(sampler.run(1).state[:, 0])) == {0, 1}


def test_structure_change_is_an_error():
    fg = _mixed_graph()
    sampler = gibbs.GibbsSampler(fg, n_chains=2, seed=0)
    fg.add_variables("extra", 1)
    with pytest.raises(ValueError, match="structure changed since this GibbsSampler"):
        sampler.run(1)


def test_schedule_auto_resolution():
    fg_pairwise, _ = build(_spec("binary"))
    assert gibbs.GibbsSampler(fg_pairwise).schedule == "chromatic"
    assert gibbs.GibbsSampler(_mixed_graph()).schedule == "sequential"
    assert gibbs.GibbsSampler(_mixed_graph(), schedule="chromatic").schedule == "chromatic"
    assert "GibbsSampler(n_chains=1" in repr(gibbs.GibbsSampler(_mixed_graph()))


def test_empty_and_fully_clamped_graphs():
    fg = pgm.FactorGraph()
    assert gibbs.sample(fg, 2, n_chains=3, seed=0).shape == (3, 2, 0)
    fg = pgm.FactorGraph()
    fg.add_variables("v", 2)
    x = gibbs.sample(fg, 3, clamp={0: 1, 1: 0}, seed=0)
    np.testing.assert_array_equal(x, [[[1, 0]] * 3])


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_samples": 0}, ValueError, "n_samples must be an integer >= 1"),
        ({"n_chains": 0}, ValueError, "n_chains must be an integer >= 1"),
        ({"thin": 0}, ValueError, "thin must be an integer >= 1"),
        ({"burn_in": -1}, ValueError, "burn_in must be an integer >= 0"),
        ({"burn_in": 1.5}, ValueError, "burn_in must be an integer"),
        ({"beta": 0.0}, ValueError, "beta must be a finite positive number"),
        ({"beta": -1.0}, ValueError, "beta must be a finite positive number"),
        ({"beta": float("nan")}, ValueError, "beta must be a finite positive number"),
        ({"beta": float("inf")}, ValueError, "beta must be a finite positive number"),
        ({"schedule": "random"}, ValueError, "schedule must be one of"),
        (
            {"clamp": {2: 2}},
            ValueError,
            r"clamp\[2\] = 2 is outside the domain of variable 2 \(binary",
        ),
        ({"clamp": {5: 0}}, ValueError, r"clamp\[5\] = 0 is outside the domain .* \(spin"),
        ({"clamp": {0: 3}}, ValueError, r"clamp\[0\] = 3 is outside .* \(categorical: 0..2\)"),
        ({"clamp": {0: 1.5}}, ValueError, r"clamp\[0\] = 1.5 is outside"),
        ({"clamp": {7: 0}}, ValueError, "clamp: variable id 7 is out of range; the graph has 7 variables"),
        ({"clamp": {-1: 0}}, ValueError, "clamp: variable id -1 is out of range"),
        ({"clamp": {"a": 0}}, ValueError, "clamp: keys must be integer variable ids"),
        ({"clamp": [(0, 1)]}, TypeError, "clamp must be a dict"),
        (
            {"init": np.zeros((2, 7))},
            ValueError,
            r"init must have shape \(n_chains, n_variables\) = \(1, 7\)",
        ),
        ({"init": np.zeros(6)}, ValueError, r"init must have shape .* got \(6,\)"),
        ({"init": [0, 0, 0, 0, 0, 0, 0]}, ValueError, r"init\[0, 5\] = 0 is outside the domain"),
        ({"init": [3, 0, 0, 0, 0, 1, 1]}, ValueError, r"init\[0, 0\] = 3 is outside the domain"),
        ({"seed": "x"}, TypeError, "seed must be None, an int"),
    ],
)
def test_bad_input(kwargs, error, match):
    fg = _mixed_graph()
    args = {"n_samples": 2, **kwargs}
    with pytest.raises(error, match=match):
        gibbs.sample(fg, **args)


def test_bad_input_sampler():
    fg = _mixed_graph()
    with pytest.raises(TypeError, match="fg must be a pgm.FactorGraph"):
        gibbs.GibbsSampler("graph")
    sampler = gibbs.GibbsSampler(fg, n_chains=2, seed=0)
    with pytest.raises(ValueError, match="n_sweeps must be an integer >= 0"):
        sampler.run(-1)
    with pytest.raises(ValueError, match="n_samples must be an integer >= 1"):
        sampler.sample(0)
    with pytest.raises(ValueError, match="thin must be an integer >= 1"):
        sampler.sample(1, thin=0)
    with pytest.raises(ValueError, match=rf"theta must have shape \({fg.theta.size},\)"):
        sampler.set_theta(np.zeros(3))
    with pytest.raises(ValueError, match="theta must be finite"):
        sampler.set_theta(np.full(fg.theta.size, np.nan))
    with pytest.raises(ValueError, match="beta must be a finite positive number"):
        sampler.beta = 0.0
    state = sampler.state
    assert sampler.n_sweeps_done == 0 and np.array_equal(sampler.state, state)


# ---------------------------------------------------------------------- kernels
def test_bernoulli_high_branches():
    """u = 0 always takes the high value, u -> 1 never, unless p rounds to 0 or 1."""
    for a in (-30.0, -1.0, 0.0, 1.0, 30.0):
        assert K.bernoulli_high(a, 0.0)
        assert not K.bernoulli_high(a, U_MAX)
    assert not K.bernoulli_high(-800.0, 0.0)  # sigmoid underflows to 0
    assert K.bernoulli_high(40.0, U_MAX)  # sigmoid rounds to 1
    assert K.bernoulli_high(0.0, 0.5 - 2**-53) and not K.bernoulli_high(0.0, 0.5)
    p = 1.0 / (1.0 + math.exp(-1.3))
    assert K.bernoulli_high(1.3, p * (1 - 1e-12)) and not K.bernoulli_high(1.3, p * (1 + 1e-12))
    assert K.bernoulli_high(-1.3, (1 - p) * (1 - 1e-12))
    assert not K.bernoulli_high(-1.3, (1 - p) * (1 + 1e-12))


def test_draw_from_energies_branches():
    energies = np.array([1.0, 0.5, 2.0])
    w = np.exp(-energies)
    p = w / w.sum()
    assert K.draw_from_energies(energies.copy(), 3, 1.0, 0.0) == 0
    assert K.draw_from_energies(energies.copy(), 3, 1.0, U_MAX) == 2
    assert K.draw_from_energies(energies.copy(), 3, 1.0, p[0] + p[1] / 2) == 1
    assert K.draw_from_energies(energies.copy(), 3, 1.0, p[0] * (1 - 1e-12)) == 0
    assert K.draw_from_energies(energies.copy(), 3, 1.0, p[0] * (1 + 1e-12)) == 1
    # states whose weight underflows are never drawn, whatever u
    assert K.draw_from_energies(np.array([0.0, 1e3, 1e3]), 3, 1.0, U_MAX) == 0
    assert K.draw_from_energies(np.array([1e3, 0.0, 1e3]), 3, 1.0, 0.0) == 1
    # beta scales the energies; only the first k entries are read
    assert K.draw_from_energies(np.array([0.0, 0.0, -1e9]), 2, 1e-300, U_MAX) == 1


def test_update_general_branches():
    fg, _ = build(_spec("categorical"))
    cg = fg.compile()
    state = gibbs.init_state(fg, 1, seed=0)
    x, v = state.indices[0].copy(), state.values[0].copy()
    buf = np.empty(3)
    for u, expect in ((0.0, 0), (U_MAX, 2)):
        K.update_general(0, x, v, cg.kernel_graph, np.asarray(fg.theta), 1.0, u, buf)
        assert x[0] == expect and v[0] == expect
    K.update_general(5, x, v, cg.kernel_graph, np.asarray(fg.theta), 1.0, 0.0, buf)
    assert x[5] == 0 and v[5] == -1  # spin state index 0 is -1


@pytest.mark.parametrize("schedule", SCHEDULES)
@given(spec=graph_specs(max_variables=8))
def test_fast_path_logit_matches_conditional_energies(schedule, spec):
    """The binary/spin fast path's p(high) equals the softmax of conditional_energies.

    Also pins the plan: every free variable once per sweep, clamped ones never.
    """
    fg, terms = build(spec)
    cg = fg.compile()
    clamped = np.array([0], dtype=np.int64)
    plan, _ = gibbs._plan(cg, schedule, clamped)
    assert sorted(plan.order.tolist()) == list(range(1, cg.n_variables))
    theta = np.asarray(fg.theta)
    beta = 0.7
    bias = np.empty(plan.order.shape[0])
    weight = np.empty(plan.nbr.shape[0])
    K.fast_parameters(plan, cg.kernel_graph, theta, beta, bias, weight)
    state = gibbs.init_state(fg, 1, seed=0)
    x, v = state.indices[0], state.values[0]
    buf = np.empty(max(4, cg.max_cardinality))
    assert np.all(weight[plan.entry_pos < 0] == 0.0)  # padding adds nothing
    for p in np.flatnonzero(plan.fast):
        i = plan.order[p]
        entries = np.flatnonzero(plan.entry_pos == p)
        assert entries.size == cg.adj_indptr[i + 1] - cg.adj_indptr[i]
        np.testing.assert_array_equal(
            np.sort(plan.nbr[entries]),
            np.sort(cg.adj_indices[cg.adj_indptr[i] : cg.adj_indptr[i + 1]]),
        )
        logit = bias[p] + sum(weight[t] * v[plan.nbr[t]] for t in entries)
        conditional_energies(i, x, cg.kernel_graph, theta, buf)
        e = beta * buf[:2]
        p_high = 1.0 / (1.0 + np.exp(e[1] - e[0]))
        # same probability from two float64 evaluation orders: a few ulp of O(1) terms
        np.testing.assert_allclose(1.0 / (1.0 + np.exp(-logit)), p_high, rtol=1e-12, atol=1e-15)
        assert v[i] in (plan.low[p], plan.low[p] + plan.step[p])
    # fast means: binary/spin and in no table factor
    for p, i in enumerate(plan.order):
        in_table = any(i in scope for scope, _ in terms.tables)
        binary_or_spin = fg.domain_of(int(i)) in ("binary", "spin")
        assert plan.fast[p] == (binary_or_spin and not in_table)


def test_bernoulli_high_equals_exact_rule():
    """The cheap-exp decision equals the exp decision bitwise, also at the boundary."""
    rng = np.random.default_rng(0)
    a = np.concatenate([rng.normal(0, 5, 200_000), rng.uniform(-60, 60, 50_000), [0.0, -0.0]])
    u = rng.random(a.shape[0])
    # uniforms at and next to the threshold sigmoid(a), where only exact arithmetic decides
    p = 1.0 / (1.0 + np.exp(-a[:1000]))
    edge_u = np.concatenate([p, np.nextafter(p, 0), np.nextafter(p, 1)])
    edge_a = np.tile(a[:1000], 3)
    keep = edge_u < 1.0
    a = np.concatenate([a, edge_a[keep]])
    u = np.concatenate([u, edge_u[keep]])
    fast = np.array([K.bernoulli_high(ai, ui) for ai, ui in zip(a, u, strict=True)])
    exact = np.array([K.bernoulli_high_exact(ai, ui) for ai, ui in zip(a, u, strict=True)])
    np.testing.assert_array_equal(fast, exact)


def test_exp_neg_approx_error_bound():
    """The relative error of the cheap exp stays below the bound the decision relies on."""
    y = np.linspace(0.0, K._EXP_MAX_W / K._LOG2E, 2_000_001)[:-1]
    approx = np.array([K.exp_neg_approx(t) for t in y[::50]])
    err = np.abs(approx / np.exp(-y[::50]) - 1.0)
    assert err.max() < K._EXP_REL_ERR / 3


# ---------------------------------------------------------------------- the generator
def test_generator_uniformity_chi_square():
    """10^6 draws in 1000 equal bins: chi-square p-value > 1e-4 (expected count 1000)."""
    u = K.uniforms(123, 0, 0, 10**6)
    assert u.min() >= 0.0 and u.max() < 1.0
    counts = np.bincount((u * 1000).astype(np.int64), minlength=1000)
    assert stats.chisquare(counts).pvalue > 1e-4
    # power twin: a slightly skewed generator fails the same check
    skewed = np.bincount((u**1.02 * 1000).astype(np.int64), minlength=1000)
    assert stats.chisquare(skewed).pvalue < 1e-4


def _max_abs_corr(pairs):
    return max(abs(np.corrcoef(a, b)[0, 1]) for a, b in pairs)


def test_generator_neighbouring_counters_uncorrelated():
    """Neighbouring variables, sweeps, chains and keys give uncorrelated uniforms.

    For independent uniforms the sample correlation of N = 10^6 pairs has
    standard deviation 1/sqrt(N) = 0.001; require |r| <= 5/sqrt(N).
    """
    n = 10**6
    u = K.uniforms(7, 0, 0, n + 1)
    sweeps = [K.uniforms(7, 0, s, 1000) for s in range(1001)]
    by_sweep = np.array(sweeps)  # (1001, 1000)
    chains = np.array([K.uniforms(7, c, 0, 1000) for c in range(1001)])
    keys = np.array([K.uniforms(k, 0, 0, 1000) for k in range(1001)])
    pairs = [
        (u[:-1], u[1:]),  # variable i vs i + 1
        (by_sweep[:-1].ravel(), by_sweep[1:].ravel()),  # sweep s vs s + 1
        (chains[:-1].ravel(), chains[1:].ravel()),  # chain c vs c + 1
        (keys[:-1].ravel(), keys[1:].ravel()),  # key k vs k + 1
        (by_sweep.ravel(), chains.ravel()),  # (chain 0, sweep s) vs (chain s, sweep 0)
    ]
    tol = 5.0 / math.sqrt(n)
    assert all(len(a) >= 10**6 for a, _ in pairs)
    assert _max_abs_corr(pairs) <= tol
    # power twin: a Weyl sequence is perfectly uniform but its neighbours correlate
    weyl = (np.arange(n + 1) * 0.6180339887498949) % 1.0
    assert _max_abs_corr([(weyl[:-1], weyl[1:])]) > tol


def test_generator_is_a_pure_function():
    a = K.uniforms(99, 3, 17, 50)
    skey = K.sweep_key(99, 3, 17)
    b = np.array([K.site_uniform(skey, i) for i in range(50)])
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, K.uniforms(99, 3, 18, 50))
    assert not np.array_equal(a, K.uniforms(99, 4, 17, 50))
    assert not np.array_equal(a, K.uniforms(98, 3, 17, 50))


_NOJIT_SCRIPT = """
import json, numpy as np
from pgm.inference import gibbs, _gibbs_kernels as K
from tests.inference.test_gibbs import _mixed_graph
fg = _mixed_graph()
out = {
    "u": K.uniforms(2**62 + 5, 3, 11, 20).tolist(),
    "seq": gibbs.sample(fg, 3, n_chains=2, burn_in=2, seed=0).tolist(),
    "chrom": gibbs.sample(fg, 3, n_chains=2, burn_in=2, schedule="chromatic", seed=0).tolist(),
}
print(json.dumps(out))
"""


def test_kernels_run_without_jit():
    """Under NUMBA_DISABLE_JIT=1 the kernels (and the generator's Python twin) agree bitwise."""
    got = json.loads("\n".join(run_without_jit(_NOJIT_SCRIPT)))
    fg = _mixed_graph()
    assert got["u"] == K.uniforms(2**62 + 5, 3, 11, 20).tolist()
    assert got["seq"] == gibbs.sample(fg, 3, n_chains=2, burn_in=2, seed=0).tolist()
    chrom = gibbs.sample(fg, 3, n_chains=2, burn_in=2, schedule="chromatic", seed=0)
    assert got["chrom"] == chrom.tolist()


# ---------------------------------------------------------------------- binary fast path
def _binary_graph(shape: str, uniform: bool, spin_fraction: float = 1.0, seed: int = 0):
    """A binary/spin pairwise graph: a periodic lattice, an open chain, a star or a dense graph.

    ``uniform``: every coupling 0.4 and bias 0.1 (few position types: the
    lookup-table tier), else random parameters (the logit tier).
    """
    rng = np.random.default_rng(seed)
    if shape == "lattice":
        side = 12
        n = side * side
        idx = np.arange(n).reshape(side, side)
        edges = np.concatenate(
            [
                np.stack([idx.ravel(), np.roll(idx, -1, 1).ravel()], 1),
                np.stack([idx.ravel(), np.roll(idx, -1, 0).ravel()], 1),
            ]
        )
    elif shape == "chain":
        n = 300
        edges = np.stack([np.arange(n - 1), np.arange(1, n)], 1)
    elif shape == "star":  # a hub of degree 40: past the table's slot limit
        n = 41
        edges = np.stack([np.zeros(n - 1, dtype=np.int64), np.arange(1, n)], 1)
    else:  # dense: every pair of 9 variables (degree 8)
        n = 9
        edges = np.array([(i, j) for i in range(n) for j in range(i + 1, n)])
    n_spin = int(round(spin_fraction * n))
    fg = pgm.FactorGraph()
    if n_spin:
        fg.add_variables("s", n_spin, "spin")
    if n - n_spin:
        fg.add_variables("b", n - n_spin, "binary")
    weights = np.full(len(edges), 0.4) if uniform else rng.normal(0, 0.6, len(edges))
    fg.add_edges(edges, weights)
    fg.add_unary(np.arange(n), np.full(n, 0.1) if uniform else rng.normal(0, 0.5, n))
    return fg


def _general_and_fast(fg, monkeypatch, **kwargs):
    """Samples of the general kernels, the logit tier and the engine's own choice."""
    outputs = []
    for use_binary, use_table in ((False, False), (True, False), (True, True)):
        monkeypatch.setattr(gibbs._Engine, "use_binary", use_binary)
        monkeypatch.setattr(gibbs._Engine, "use_table", use_table)
        outputs.append(gibbs.sample(fg, 4, burn_in=3, thin=2, seed=3, **kwargs))
    monkeypatch.undo()
    return outputs


@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize(
    ("shape", "uniform", "spins"),
    [
        ("lattice", True, 1.0),
        ("lattice", False, 1.0),
        ("lattice", True, 0.5),
        ("chain", True, 0.0),
        ("chain", False, 0.5),
        ("star", True, 1.0),
        ("dense", True, 0.3),
        ("dense", False, 1.0),
    ],
)
def test_binary_fast_path_matches_general_path(monkeypatch, shape, uniform, spins, schedule):
    """Both binary tiers give bitwise the samples of the general kernels (same seed).

    The table tier is chosen on the uniform graphs within its slot limit and
    not with random parameters (one type per position); clamping a variable
    keeps the fast path.
    """
    fg = _binary_graph(shape, uniform, spins)
    engine = gibbs.GibbsSampler(fg, schedule=schedule)._engine
    assert engine.binary is not None
    engine.advance(gibbs.init_state(fg, 1, seed=0), np.asarray(fg.theta), 0.8, 1, 1, 0)
    if shape == "star":
        assert engine.table is None and engine.layout is None  # 40 slots: no table
    elif shape != "dense":  # 9 positions: too few to share a table
        assert (engine.table is not None) == uniform  # random parameters: a type per site
    cg = fg.compile()
    low3 = int(cg.state_value[cg.state_offset[3]])  # the low value of variable 3
    for kwargs in ({}, {"clamp": {1: 1, 3: low3}}, {"beta": 0.6}):
        general, logit, chosen = _general_and_fast(
            fg, monkeypatch, n_chains=3, schedule=schedule, **kwargs
        )
        np.testing.assert_array_equal(logit, general)
        np.testing.assert_array_equal(chosen, general)


def test_binary_fast_path_split_across_threads(monkeypatch, restore_threads):
    """The table and logit tiers split one chain's colour classes between threads identically."""
    two = _two_threads()
    for uniform in (True, False):
        fg = _lattice(side=64) if not uniform else _binary_graph("lattice", True)
        results = []
        for threads in (1, two):
            numba.set_num_threads(threads)
            monkeypatch.setattr(gibbs, "_MIN_VARIABLES_VERTEX_PARALLEL", 0)
            results.extend(_general_and_fast(fg, monkeypatch, schedule="chromatic"))
        for other in results[1:]:
            np.testing.assert_array_equal(other, results[0])


def test_binary_fast_path_falls_back(monkeypatch):
    """Graphs it does not cover run the general kernels: categorical or tabled free variables.

    A clamped categorical neighbour keeps the logit tier (its int8 value enters
    the logit) but not the table (a bit cannot hold the value 2).
    """
    cases = {
        "categorical": _spec("categorical"),
        "tables": _spec("tables"),
    }
    for spec in cases.values():
        fg, _ = build(spec)
        engine = gibbs.GibbsSampler(fg)._engine
        assert engine.binary is None and engine.layout is None
    # a binary graph with a clamped categorical neighbour stays on the fast path ...
    fg = _binary_graph("chain", True, 0.0)
    c = fg.add_variables("c", 1, 3)
    fg.add_edges([[int(c.ids[0]), 0]], [0.5])
    assert gibbs.GibbsSampler(fg)._engine.binary is None  # ... only when clamped
    clamp = {int(c.ids[0]): 2}
    sampler = gibbs.GibbsSampler(fg, clamp=clamp, n_chains=2, seed=0)
    assert sampler._engine.binary is not None and sampler._engine.layout is None
    general, logit, chosen = _general_and_fast(fg, monkeypatch, clamp=clamp, n_chains=2)
    np.testing.assert_array_equal(logit, general)
    np.testing.assert_array_equal(chosen, general)
    assert np.all(general[..., int(c.ids[0])] == 2)


def test_sampler_int8_state_is_synchronised(monkeypatch):
    """The int8 values the sampler keeps agree with its GibbsState and with step()."""
    fg = _binary_graph("lattice", True, 0.5)
    sampler = gibbs.GibbsSampler(fg, n_chains=2, seed=5).run(3)
    assert sampler._v8 is not None and sampler._v8.dtype == np.int8
    snap = sampler.gibbs_state
    np.testing.assert_array_equal(snap.values.astype(np.int64), sampler.state)
    np.testing.assert_array_equal(fg.compile().indices_to_values(snap.indices), sampler.state)
    stepped = gibbs.step(fg, snap, 4)
    sampler.run(4)
    np.testing.assert_array_equal(stepped.values.astype(np.int64), sampler.state)
    # switching tiers mid-run keeps the chains
    monkeypatch.setattr(gibbs._Engine, "use_binary", False)
    a = sampler.sample(3)
    monkeypatch.undo()
    b = gibbs.GibbsSampler(fg, n_chains=2, seed=5).run(7).sample(3)
    np.testing.assert_array_equal(a, b)


def test_high_threshold_is_the_exact_boundary():
    """u < high_threshold(a) is bernoulli_high_exact(a, u) on both sides of the boundary."""
    rng = np.random.default_rng(1)
    for a in np.concatenate([rng.normal(0, 4, 300), [0.0, -0.0, 40.0, -40.0, 800.0, -800.0]]):
        t = K.high_threshold(a)
        assert 0.0 <= t <= 1.0 and (t * 2.0**53) % 1 == 0
        if t > 0.0:
            assert K.bernoulli_high_exact(a, t - 2.0**-53)
        if t < 1.0:
            assert not K.bernoulli_high_exact(a, t)
        p = special.expit(a)  # the threshold is sigmoid(a) up to rounding
        assert abs(t - p) <= 1e-15 + 1e-12 * p


def test_folded_parameters_are_shared_and_never_stale():
    """Samplers of one compiled graph reuse its folded parameters; a change of theta refolds.

    ``gibbs.sample`` builds a sampler per call: the second call finds the lookup
    table of the first (the same object). After ``set_theta`` the samples equal
    those of a freshly built graph with the new parameters, so the shared cache
    never serves a stale table or stale logits.
    """
    fg = _binary_graph("lattice", True)
    kwargs = dict(n_chains=2, burn_in=3, schedule="chromatic", seed=4)
    first = gibbs.sample(fg, 5, **kwargs)
    engines = [gibbs.GibbsSampler(fg, schedule="chromatic")._engine for _ in range(2)]
    for engine in engines:
        engine.advance(gibbs.init_state(fg, 1, seed=0), np.asarray(fg.theta), 1.0, 1, 1, 0)
    assert engines[0].table is not None and engines[0].table is engines[1].table
    assert engines[0].table[2][0] == 1  # one type, spins only: the one-type kernel
    mixed_fg = _binary_graph("lattice", True, 0.5)  # binary and spin sites: two value pairs
    mixed = gibbs.GibbsSampler(mixed_fg, schedule="chromatic")._engine
    mixed.advance(gibbs.init_state(mixed_fg, 1, seed=0), np.asarray(mixed_fg.theta), 1.0, 1, 1, 0)
    assert mixed.table is not None and mixed.table[2][0] == 0
    np.testing.assert_array_equal(gibbs.sample(fg, 5, **kwargs), first)
    theta = np.asarray(fg.theta) * 1.7
    fg.set_theta(theta)
    fresh = _binary_graph("lattice", True)
    fresh.set_theta(theta)
    changed = gibbs.sample(fg, 5, **kwargs)
    np.testing.assert_array_equal(changed, gibbs.sample(fresh, 5, **kwargs))
    assert not np.array_equal(changed, first)


def test_revision_stamp_never_serves_stale_parameters():
    """A persistent sampler skips re-comparing theta only while the graph's revision stands.

    Every write (``set_theta``, ``set_parameters``) bumps
    ``fg.theta_revision``; after one, a sampler built before the change
    continues exactly as an unstamped sampler (its own theta, compared entry
    by entry) switched to the new parameters at the same point. A sampler
    with its own theta keeps it while the graph's change.
    """
    fg = _binary_graph("lattice", True)
    theta0 = np.asarray(fg.theta).copy()
    kwargs = dict(n_chains=2, schedule="chromatic", seed=4)
    old = gibbs.GibbsSampler(fg, **kwargs)
    own = gibbs.GibbsSampler(fg, **kwargs)
    own.set_theta(theta0)
    old.run(3)
    own.run(3)
    revision = fg.theta_revision
    name, value = next(iter(fg.parameters().items()))
    fg.set_parameters({name: value * -2.0})
    assert fg.theta_revision == revision + 1
    fg.set_theta(np.asarray(fg.theta) * 1.5)
    assert fg.theta_revision == revision + 2
    switched = gibbs.GibbsSampler(_binary_graph("lattice", True), **kwargs)
    switched.run(3)
    switched.set_theta(np.asarray(fg.theta))
    after = old.sample(4)
    np.testing.assert_array_equal(after, switched.sample(4))
    kept = gibbs.GibbsSampler(_binary_graph("lattice", True), **kwargs)
    kept.run(3)
    reference = kept.sample(4)
    np.testing.assert_array_equal(own.sample(4), reference)
    assert not np.array_equal(reference, after)  # power: the change matters


def test_sample_dtype_returns_the_same_values_narrower():
    """``dtype=None`` returns the recorded int8 values, equal to the default int64 ones.

    Any signed type wide enough gives the same values; types that cannot hold
    them (unsigned for spins, int8 for a 200-state variable, floats) are
    refused by name before any sweep, and the sampler's state is unchanged.
    """
    fg = _binary_graph("lattice", True, 0.5)
    kwargs = dict(n_chains=2, burn_in=3, schedule="chromatic", seed=4)
    wide = gibbs.sample(fg, 5, **kwargs)
    assert wide.dtype == np.int64
    for dtype, expected in ((None, np.int8), (np.int16, np.int16), ("int32", np.int32)):
        narrow = gibbs.sample(fg, 5, dtype=dtype, **kwargs)
        assert narrow.dtype == expected
        np.testing.assert_array_equal(narrow, wide)
    sampler = gibbs.GibbsSampler(fg, n_chains=2, seed=1)
    before = sampler.gibbs_state
    for bad, match in ((np.uint8, "signed integer"), (np.float64, "signed integer"),
                       ("bogus", "signed integer")):  # fmt: skip
        with pytest.raises(ValueError, match=match):
            sampler.sample(3, dtype=bad)
        with pytest.raises(ValueError, match=match):
            gibbs.sample(fg, 3, dtype=bad)
    after = sampler.gibbs_state
    assert after.sweep == before.sweep
    np.testing.assert_array_equal(after.values, before.values)
    many = pgm.FactorGraph()
    c = many.add_variables("c", 2, domain=200)
    many.add_factor(c.ids, np.zeros((200, 200)))
    with pytest.raises(ValueError, match="int8 cannot hold the value 199"):
        gibbs.sample(many, 2, dtype=np.int8, seed=0)
    assert gibbs.sample(many, 2, dtype=None, seed=0).dtype == np.int64  # recorded wide
