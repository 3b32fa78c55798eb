"""The generic learning rule and its estimators against brute force."""

import itertools

import numpy as np
import pytest

import pgm
from pgm.learning import (
    ContrastiveDivergence,
    PersistentContrastiveDivergence,
    data_statistics,
    fit,
    log_likelihood_gradient,
    product_statistics,
)


def _all_states(fg):
    cg = fg.compile()
    ranges = [cg.state_value[cg.state_offset[i] : cg.state_offset[i + 1]] for i in range(fg.n_variables)]
    return np.array(list(itertools.product(*ranges)), dtype=np.int64)


def _probabilities(fg, states):
    neg = -fg.energy(states)
    neg -= neg.max()
    p = np.exp(neg)
    return p / p.sum()


def _mixed_graph(rng):
    fg = pgm.FactorGraph()
    v = fg.add_variables("v", 3, "binary")
    h = fg.add_variables("h", 2, "spin")
    c = fg.add_variables("c", 1, 3)
    fg.add_unary(v, rng.normal(size=3))
    fg.add_unary(h, rng.normal(size=2))
    fg.add_unary(c, rng.normal(size=(1, 3)))
    fg.add_pairwise(v, h, rng.normal(size=(3, 2)))
    fg.add_factor([int(c.ids[0]), int(h.ids[0])], rng.normal(size=(3, 2)))
    return fg


def test_product_statistics_matches_enumeration_under_product_distribution(rng):
    fg = _mixed_graph(rng)
    cg = fg.compile()
    q = np.zeros((fg.n_variables, cg.max_cardinality))
    for i in range(fg.n_variables):
        q[i, : cg.cardinality[i]] = rng.dirichlet(np.ones(cg.cardinality[i]))
    states = _all_states(fg)
    index = cg.values_to_indices(states)
    weights = np.prod(q[np.arange(fg.n_variables), index], axis=1)
    expected = weights @ fg.flat_statistics(states)
    # closed form vs a weighted sum over every state: rounding only
    np.testing.assert_allclose(product_statistics(fg, q), expected, rtol=1e-12, atol=1e-14)


def test_exact_data_statistics_sum_out_hidden_by_brute_force(rng):
    fg = _mixed_graph(rng)
    visible = [0, 1, 2]
    data = rng.integers(0, 2, size=(7, 3))
    states = _all_states(fg)
    p = _probabilities(fg, states)
    stats = fg.flat_statistics(states)
    expected = np.zeros(fg.theta.shape[0])
    for row in data:
        match = np.all(states[:, visible] == row, axis=1)
        expected += (p[match] / p[match].sum()) @ stats[match]
    expected /= len(data)
    # the same conditional expectations summed in another order: rounding only
    np.testing.assert_allclose(
        data_statistics(fg, data, visible=visible, method="exact"), expected, rtol=1e-10, atol=1e-12
    )


def test_mean_field_data_term_is_exact_when_hidden_are_conditionally_independent(rng):
    """In an RBM-shaped graph p(h|v) factorises, so mean-field given v is exact."""
    fg = pgm.FactorGraph()
    v = fg.add_variables("v", 4, "binary")
    h = fg.add_variables("h", 3, "binary")
    fg.add_unary(v, rng.normal(size=4))
    fg.add_unary(h, rng.normal(size=3))
    fg.add_pairwise(v, h, rng.normal(size=(4, 3)))
    data = rng.integers(0, 2, size=(5, 4))
    exact_term = data_statistics(fg, data, visible=v.ids, method="exact")
    mf_term = data_statistics(
        fg, data, visible=v.ids, method="mean_field", mean_field_options={"tol": 1e-13, "max_iter": 500}
    )
    # hidden units are independent given v, so mean-field is exact at its fixed point;
    # stopping at a change < 1e-13 leaves far less than 1e-10
    np.testing.assert_allclose(mf_term, exact_term, rtol=1e-8, atol=1e-10)


def test_gradient_is_data_minus_model_statistics(rng):
    fg = _mixed_graph(rng)
    data = rng.integers(0, 2, size=(6, 3))
    states = _all_states(fg)
    model = _probabilities(fg, states) @ fg.flat_statistics(states)
    positive = data_statistics(fg, data, visible=[0, 1, 2], method="exact")
    grad = log_likelihood_gradient(fg, data, visible=[0, 1, 2])
    flat = np.concatenate([grad[k].ravel() for k in fg.parameters()])
    # two exact computations of the same moments: rounding only
    np.testing.assert_allclose(flat, positive - model, rtol=1e-9, atol=1e-11)


def _visible_bm(rng, n=5, scale=0.6):
    fg = pgm.FactorGraph()
    x = fg.add_variables("x", n, "binary")
    fg.add_unary(x, rng.normal(0, scale, n))
    iu = np.triu_indices(n, 1)
    fg.add_edges(np.column_stack(iu), rng.normal(0, scale, len(iu[0])))
    return fg


def test_cd_with_long_chains_estimates_the_model_term(rng):
    """CD-k from data with k = 30 sweeps has mixed on a 5-unit BM.

    Each statistic is a mean over N = 4000 independent chains of a quantity
    bounded in [0, 1], so its standard error is at most 0.5/sqrt(4000) = 0.0079;
    5 standard errors give 0.04.
    """
    fg = _visible_bm(rng)
    states = _all_states(fg)
    exact_model = _probabilities(fg, states) @ fg.flat_statistics(states)
    data = states[rng.integers(0, len(states), 4000)]
    estimate = ContrastiveDivergence(k=30, seed=1)(fg, data)
    np.testing.assert_allclose(estimate, exact_model, atol=0.04)
    cd1 = ContrastiveDivergence(k=1, seed=1)(fg, np.zeros_like(data))
    assert np.max(np.abs(cd1 - exact_model)) > 0.04  # power: one sweep from all-zeros is biased


def test_pcd_chains_estimate_the_model_term(rng):
    """PCD chains (2000 of them, 50 sweeps) give the model term within 5 standard errors (0.056)."""
    fg = _visible_bm(rng)
    states = _all_states(fg)
    exact_model = _probabilities(fg, states) @ fg.flat_statistics(states)
    pcd = PersistentContrastiveDivergence(n_chains=2000, k=50, seed=3)
    np.testing.assert_allclose(pcd(fg), exact_model, atol=5 * 0.5 / np.sqrt(2000))


def test_exact_fit_reaches_moment_matching(rng):
    """At the maximum-likelihood point the data and model statistics agree."""
    fg = _visible_bm(rng, n=4)
    data = rng.integers(0, 2, size=(40, 4))
    fit(fg, data, method="exact", n_epochs=3000, learning_rate=0.5, momentum=0.5)
    states = _all_states(fg)
    model = _probabilities(fg, states) @ fg.flat_statistics(states)
    # 3000 steps reach the optimum only approximately: 2e-3 is the residual gradient allowed
    np.testing.assert_allclose(model, fg.flat_statistics(data).mean(axis=0), atol=2e-3)


def test_fit_rejects_bad_arguments(rng):
    fg = _visible_bm(rng, n=3)
    data = rng.integers(0, 2, size=(4, 3))
    with pytest.raises(ValueError, match="method"):
        fit(fg, data, method="magic")
    with pytest.raises(ValueError, match="n_epochs"):
        fit(fg, data, n_epochs=0)
    with pytest.raises(ValueError, match="data must have shape"):
        fit(fg, data[:, :2])
    with pytest.raises(ValueError, match="fully visible"):
        fit(fg, data[:, :2], visible=[0, 1], method="cd")
    with pytest.raises(ValueError, match="learning_rate"):
        fit(fg, data, learning_rate=-1.0)


def test_fit_follows_a_schedule_object_epoch_by_epoch(rng):
    """``schedule`` is a Schedule (or its name/dict): epoch e uses schedule(lr, e, n_epochs).

    With full batches and no momentum a run of 2 epochs under StepDecay(0.5, every=1)
    is one epoch at lr then one at lr / 2; the constant-rate run is the power twin.
    """
    from pgm.learning.schedules import StepDecay

    base = _visible_bm(rng, n=3)
    data = rng.integers(0, 2, size=(8, 3))

    def copy():
        g = _visible_bm(np.random.default_rng(0), n=3)
        g.set_theta(base.theta)
        return g

    scheduled, manual, constant = copy(), copy(), copy()
    fit(scheduled, data, n_epochs=2, learning_rate=0.4, schedule=StepDecay(drop=0.5, every=1))
    fit(manual, data, n_epochs=1, learning_rate=0.4)
    fit(manual, data, n_epochs=1, learning_rate=0.2)
    fit(constant, data, n_epochs=2, learning_rate=0.4, schedule="constant")
    # full-batch means over rows in another order: rounding only
    np.testing.assert_allclose(scheduled.theta, manual.theta, rtol=1e-12, atol=1e-14)
    assert np.max(np.abs(constant.theta - manual.theta)) > 1e-3
    by_dict = copy()
    fit(by_dict, data, n_epochs=2, learning_rate=0.4, schedule={"name": "step", "every": 1})
    np.testing.assert_array_equal(by_dict.theta, scheduled.theta)
