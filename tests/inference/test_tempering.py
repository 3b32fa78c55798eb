"""Tests of ``pgm.inference.tempering`` against the brute-force oracle.

The model: 8 spins on the complete graph, every coupling J = 0.5 and every
field h = 0.05, E(x) = -J sum_{i<j} x_i x_j - h sum_i x_i. The two modes
(all up, all down) are separated by an energy barrier of J * (28 + 4) = 16
(the pair sum drops from 28 at magnetisation 8 to -4 at 0), and weigh
exp(+8h) : exp(-8h), so P(x_i = +1) = 0.689 (exact, from the oracle).
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest

import pgm
from pgm.inference import gibbs, tempering
from tests import oracle

N = 8
J = 0.5
H = 0.05
LADDER = dict(n_temperatures=10, beta_min=0.05)


def _model(h: float = H, j: float = J):
    fg = pgm.FactorGraph()
    terms = oracle.Terms()
    s = fg.add_variables("s", N, domain="spin")
    terms.add_variables(N, "spin")
    fg.add_unary(s, np.full(N, h))
    terms.unary = [(i, h) for i in range(N)]
    edges = np.array([(a, b) for a in range(N) for b in range(a + 1, N)])
    fg.add_edges(edges, np.full(len(edges), j))
    terms.pairwise = [(a, b, j) for a, b in edges]
    return fg, terms


def _p_up(terms) -> np.ndarray:
    """Exact P(x_i = +1) for every spin, from the oracle."""
    return oracle.marginals(terms)[:, 1]


def _within(p_hat, p, n) -> bool:
    return bool(np.all(np.abs(p_hat - p) <= 5 * np.sqrt(p * (1 - p) / n) + 1 / n))


@pytest.fixture(scope="module")
def runs():
    """PT and plain Gibbs on the bimodal model with the same budget of sweeps."""
    fg, terms = _model()
    n_chains, burn_in = 400, 500
    pt = tempering.sample(fg, 1, **LADDER, n_chains=n_chains, burn_in=burn_in, seed=1)
    budget = LADDER["n_temperatures"] * (burn_in + 1)  # sweeps of all replicas of a chain
    plain = gibbs.sample(
        fg, 1, n_chains=n_chains, burn_in=budget - 1, init=-np.ones(N, int), seed=1
    )
    return fg, terms, pt, plain


def test_pt_matches_exact_marginals_where_gibbs_sticks(runs):
    """PT's beta = 1 marginals match the oracle; plain Gibbs from all-down does not.

    One draw per chain after burn-in from N = 400 independent chains, so each
    estimate of P(x_i = +1) = p is Binomial(N, p) / N and we require
    |p_hat - p| <= 5 sqrt(p (1 - p) / N) + 1/N = 5 * 0.0231 + 0.0025 = 0.118.
    Plain Gibbs gets the same number of sweeps (10 temperatures x 501 sweeps)
    from the all-down state; crossing the barrier of 16 needs ~exp(-16) luck
    per attempt, so (nearly) all its chains stay in the down mode.
    """
    fg, terms, pt, plain = runs
    p = _p_up(terms)
    assert p[0] == pytest.approx(0.6894, abs=1e-4)
    n = pt.samples.shape[0]
    assert _within((pt.samples[:, -1] == 1).mean(0), p, n)
    up_mode = (pt.samples[:, -1].sum(-1) > 0).mean()
    assert 0.5 < up_mode < 0.85  # both modes visited, in about the right proportion
    gibbs_p = (plain[:, -1] == 1).mean(0)
    assert not _within(gibbs_p, p, n)
    assert (plain[:, -1].sum(-1) < 0).mean() > 0.8  # most chains never left the down mode


def test_power_twin_perturbed_target_fails(runs):
    """The same check against the model with the field flipped (h = -0.05) fails.

    Its P(x_i = +1) = 1 - 0.689 = 0.311, 0.38 away from the target, more than
    three times the tolerance of 0.118.
    """
    _, _, pt, _ = runs
    _, perturbed = _model(h=-H)
    p = _p_up(perturbed)
    assert not _within((pt.samples[:, -1] == 1).mean(0), p, pt.samples.shape[0])


def test_swap_acceptance_matches_exact(runs):
    """Swap acceptance of each pair against its exact stationary value.

    At stationarity the acceptance of pair (t, t+1) is
    E[min(1, exp((b_t+1 - b_t)(E(y) - E(x))))], x ~ p_bt, y ~ p_bt+1
    independent, computed here by enumeration (256 x 256 pairs). Each chain's
    swap indicators are Bernoulli(a); the mean of correlated Bernoulli(a)
    indicators has variance <= a(1-a), so the 400 independent chains' mean
    has standard error <= sqrt(a(1-a)/400): we allow 5 of those + 1/400.
    A single sampling sweep gives only one round (even pairs), so this run
    samples 200 more sweeps from the persistent sampler.
    """
    _, terms, pt, _ = runs
    sampler = pt.sampler
    att0, acc0 = sampler.swap_attempts, sampler.swap_accepts
    sampler.run(200)
    rate = (sampler.swap_accepts - acc0) / (sampler.swap_attempts - att0)
    energies = np.array([terms.energy(s) for s in terms.states()])
    n_chains = sampler.n_chains
    betas = sampler.betas
    for t in range(betas.size - 1):
        w = [np.exp(-b * energies - np.logaddexp.reduce(-b * energies)) for b in betas[t : t + 2]]
        log_ratio = (betas[t + 1] - betas[t]) * (energies[None, :] - energies[:, None])
        a = float(w[0] @ np.exp(np.minimum(log_ratio, 0.0)) @ w[1])
        assert abs(rate[t] - a) <= 5 * math.sqrt(a * (1 - a) / n_chains) + 1 / n_chains, t


def test_one_temperature_is_gibbs():
    """With betas = [1] PT is plain Gibbs: bitwise gibbs.sample's output for the same seed."""
    fg, _ = _model()
    a = tempering.sample(fg, 6, betas=[1.0], n_chains=3, burn_in=7, thin=2, seed=3)
    b = gibbs.sample(fg, 6, n_chains=3, burn_in=7, thin=2, seed=3)
    np.testing.assert_array_equal(a.samples, b)
    assert a.swap_acceptance.shape == (0,)


def test_persistence_and_determinism():
    """Same seed, same output; splitting the sweeps between calls changes nothing."""
    fg, _ = _model()
    kw = dict(**LADDER, n_chains=3, swap_every=3, seed=7)
    one = tempering.sample(fg, 20, burn_in=10, thin=2, **kw)
    again = tempering.sample(fg, 20, burn_in=10, thin=2, **kw)
    np.testing.assert_array_equal(one.samples, again.samples)
    np.testing.assert_array_equal(one.swap_acceptance, again.swap_acceptance)
    s = tempering.TemperingSampler(fg, **kw).run(4).run(5).run(1)
    first = s.sample(7, thin=2)
    second = s.sample(13, thin=2)
    np.testing.assert_array_equal(np.concatenate([first, second], axis=1), one.samples)
    np.testing.assert_array_equal(s.state, one.sampler.state)
    np.testing.assert_array_equal(s.swap_accepts, one.sampler.swap_accepts)
    assert s.n_sweeps_done == 50
    other = tempering.sample(fg, 20, burn_in=10, thin=2, **{**kw, "seed": 8})
    assert not np.array_equal(other.samples, one.samples)


def test_thread_count_invariance():
    """Samples do not depend on the number of Numba threads."""
    fg, _ = _model()
    outs = []
    before = numba.get_num_threads()
    try:
        for k in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
            numba.set_num_threads(k)
            outs.append(tempering.sample(fg, 10, **LADDER, n_chains=2, burn_in=5, seed=2).samples)
    finally:
        numba.set_num_threads(before)
    for out in outs[1:]:
        np.testing.assert_array_equal(out, outs[0])


def test_clamp_held_and_sequential_schedule():
    """Clamped variables keep their value in every replica; both schedules run."""
    fg, _ = _model()
    for schedule in ("chromatic", "sequential"):
        res = tempering.sample(
            fg, 5, **LADDER, n_chains=2, burn_in=3, clamp={2: -1}, schedule=schedule, seed=0
        )
        assert np.all(res.samples[:, :, 2] == -1)
        assert np.all(res.sampler.state[:, :, 2] == -1)


def test_geometric_ladder():
    b = tempering.geometric_ladder(4, 0.125)
    np.testing.assert_allclose(b, [0.125, 0.25, 0.5, 1.0], rtol=1e-12)
    assert b[-1] == 1.0
    assert tempering.geometric_ladder(1).tolist() == [1.0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(betas=[0.5, 0.3, 1.0]), "betas must be strictly increasing"),
        (dict(betas=[0.2, 0.5]), "betas must end at 1"),
        (dict(betas=[0.0, 1.0]), "betas must be positive"),
        (dict(betas=[-0.5, 1.0]), "betas must be positive"),
        (dict(betas=[0.5, np.nan, 1.0]), "betas must be finite"),
        (dict(betas=[]), "at least one"),
        (dict(betas=[0.5, 1.0], n_temperatures=3), "disagrees"),
        (dict(betas=[0.5, 1.0], beta_min=0.1), "beta_min applies"),
        (dict(beta_min=1.5), r"beta_min must lie in \(0, 1\)"),
        (dict(beta_min=0.0), "beta_min must be a finite positive"),
        (dict(n_temperatures=0), "n_temperatures must be an integer >= 1"),
        (dict(clamp={0: 0}), "outside the domain"),
        (dict(clamp={99: 1}), "out of range"),
        (dict(swap_every=0), "swap_every must be an integer >= 1"),
        (dict(n_chains=0), "n_chains must be an integer >= 1"),
        (dict(burn_in=-1), "burn_in must be an integer >= 0"),
        (dict(schedule="zigzag"), "schedule must be one of"),
        (dict(init=np.zeros(N, int)), "init"),
    ],
)
def test_bad_input(kwargs, match):
    fg, _ = _model()
    with pytest.raises(ValueError, match=match):
        tempering.sample(fg, 3, **kwargs)


def test_structure_change_invalidates_sampler():
    fg, _ = _model()
    s = tempering.TemperingSampler(fg, n_temperatures=2, seed=0)
    fg.add_variables("extra", 1, domain="binary")
    with pytest.raises(ValueError, match="structure changed"):
        s.run(1)
