"""The sparse training path of the RBM: kernels against dense references, and
``algorithm="sparse"`` against ``algorithm="dense"``.

Both paths run the same algorithm with the same random draws (each uniform is
keyed by its position), so a sparse kernel must reproduce the dense kernel's
samples exactly and its probabilities to rounding. A sample can only differ
where a uniform falls within rounding (~1e-16) of its probability, which for
the ~1e5 draws below has probability ~1e-11: the tests demand equality.

Tolerances: the sparse kernels add the same terms as BLAS in another order,
so each activation or gradient entry (a sum of at most ~40 terms of size
<= 10 here) differs by a few ulp of the largest partial sum, below 1e-13 in
relative terms (``rtol=1e-13``, ``atol`` covering entries near zero). A fit
repeats ~15 such steps with learning rates <= 0.1, so parameters may drift
apart by ~1e-14; ``atol=1e-12`` leaves a margin of 100 and is still 1e9
times smaller than any difference a wrong sample would make (>= 1e-3).
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
import scipy.sparse

from pgm.models import RBM
from pgm.layered import _kernels as kernels


def _sparse_rows(X):
    """Padded sparse layout of the rows of ``X`` (reference built with numpy)."""
    n, d = X.shape
    idx = np.zeros((n, d + 1), np.int64)
    val = np.zeros((n, d + 1), X.dtype)
    cnt = np.zeros(n, np.int64)
    for r in range(n):
        on = np.flatnonzero(X[r])
        idx[r, : on.size] = on
        val[r, : on.size] = X[r, on]
        idx[r, on.size] = d
        val[r, on.size] = 1.0
        cnt[r] = on.size + 1
    return idx, val, cnt


def _augmented(X):
    return np.hstack([X, np.ones((X.shape[0], 1), X.dtype)])


def _problem(seed=0, n=37, n_visible=29, n_hidden=21, density=0.2):
    rng = np.random.default_rng(seed)
    X = (rng.random((n, n_visible)) < density).astype(float)
    theta = rng.normal(size=(n_visible + 1, n_hidden + 1))
    theta[n_visible, n_hidden] = 0.0
    return rng, X, theta


# ------------------------------------------------------------------ kernels
@pytest.mark.parametrize(("n_columns", "n_stripes"), [(1, 1), (7, 3), (501, 2), (500, 7), (64, 8)])
def test_stripe_bounds_cover_columns_in_line_aligned_pieces(n_columns, n_stripes):
    bounds = kernels.stripe_bounds(n_columns, n_stripes)
    assert bounds.dtype == np.int64 and bounds.shape == (n_stripes + 1,)
    assert bounds[0] == 0 and bounds[-1] == n_columns
    assert np.all(np.diff(bounds) >= 0)
    inner = bounds[1:-1]
    assert np.all((inner % 8 == 0) | (inner == n_columns))  # trailing stripes may be empty


def test_gather_sparse_rows_matches_numpy():
    rng = np.random.default_rng(1)
    X = rng.random((20, 13)) * (rng.random((20, 13)) < 0.3)  # fractional values too
    order = rng.permutation(20)[:11]
    idx = np.full((11, 14), -1, np.int64)
    val = np.zeros((11, 14))
    cnt = np.zeros(11, np.int64)
    kernels.gather_sparse_rows(X, order, idx, val, cnt)
    ref_idx, ref_val, ref_cnt = _sparse_rows(X[order])
    np.testing.assert_array_equal(cnt, ref_cnt)
    for r in range(11):
        np.testing.assert_array_equal(idx[r, : cnt[r]], ref_idx[r, : cnt[r]])
        np.testing.assert_array_equal(val[r, : cnt[r]], ref_val[r, : cnt[r]])


def test_sparse_columns_is_the_csc_transpose():
    _, X, _ = _problem(seed=2)
    idx, val, cnt = _sparse_rows(X * 0.5)
    n_columns = X.shape[1] + 1
    indptr = np.zeros(n_columns + 1, np.int64)
    rows = np.zeros(cnt.sum(), np.int64)
    vals = np.zeros(cnt.sum())
    kernels.sparse_columns(idx, val, cnt, n_columns, indptr, rows, vals)
    ref = scipy.sparse.csc_matrix(_augmented(X * 0.5))
    ref.sort_indices()
    np.testing.assert_array_equal(indptr, ref.indptr)
    np.testing.assert_array_equal(rows, ref.indices)
    np.testing.assert_array_equal(vals, ref.data)


@pytest.mark.parametrize("n_terms", [0, 1, 3, 4, 7, 8, 9, 12, 13, 16, 21])
def test_accumulate_sums_weighted_rows(n_terms):
    """Every split into passes of eight, four and one rows sums to the numpy
    reference, on a column window and an accumulator that starts non-zero.
    At most 22 terms of size <= 10 in another order: the module docstring's
    few-ulp bound, hence ``rtol=atol=1e-13``."""
    rng = np.random.default_rng(n_terms)
    source = rng.normal(size=(30, 19))
    index = rng.permutation(30)[: n_terms + 2]
    weight = rng.normal(size=index.size)
    out = rng.normal(size=11)
    expected = out + weight[1 : n_terms + 1] @ source[index[1 : n_terms + 1], 5:16]
    kernels._accumulate(source, 5, index, weight, 1, n_terms + 1, out)
    np.testing.assert_allclose(out, expected, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("n_stripes", [1, 2, 3, 5])
def test_striped_logistic_equals_dense_kernel(n_stripes):
    """Probabilities to rounding and the very same samples as sigmoid_bernoulli
    on the dense activation x theta, for any stripe count."""
    _, X, theta = _problem(seed=3)
    n_hidden = theta.shape[1] - 1
    idx, val, cnt = _sparse_rows(X)
    act = np.ascontiguousarray((_augmented(X) @ theta)[:, :n_hidden])
    ref_prob, ref_sample = np.empty_like(act), np.empty_like(act)
    kernels.sigmoid_bernoulli_serial(act, -0.7, 99, True, ref_prob, ref_sample)
    prob = np.full((X.shape[0], n_hidden + 1), 5.0)
    sample = np.full((X.shape[0], n_hidden + 1), 5.0)
    bounds = kernels.stripe_bounds(n_hidden, n_stripes)
    kernels.striped_logistic(idx, val, cnt, theta, bounds, -0.7, 99, True, prob, sample)
    np.testing.assert_allclose(prob[:, :n_hidden], ref_prob, rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(sample[:, :n_hidden], ref_sample)
    assert np.all(prob[:, n_hidden] == 5.0) and np.all(sample[:, n_hidden] == 5.0)
    # Probabilities only: samples untouched.
    untouched = np.full_like(sample, 7.0)
    kernels.striped_logistic(idx, val, cnt, theta, bounds, 1.0, 0, False, prob, untouched)
    assert np.all(untouched == 7.0)


def test_striped_logistic_is_bitwise_independent_of_stripes():
    _, X, theta = _problem(seed=4, n_hidden=70)
    idx, val, cnt = _sparse_rows(X)
    outs = []
    for n_stripes in (1, 2, 3, 9):
        prob, sample = np.zeros((X.shape[0], 71)), np.zeros((X.shape[0], 71))
        bounds = kernels.stripe_bounds(70, n_stripes)
        kernels.striped_logistic(idx, val, cnt, theta, bounds, 1.0, 5, True, prob, sample)
        outs.append((prob.tobytes(), sample.tobytes()))
    assert all(out == outs[0] for out in outs[1:])


def test_binary_rows_logistic_equals_dense_kernel():
    rng, _, theta = _problem(seed=5)
    n_visible, n_hidden = theta.shape[0] - 1, theta.shape[1] - 1
    H = (rng.random((40, n_hidden)) < 0.3).astype(float)
    theta_t = np.ascontiguousarray(theta.T)
    idx = np.zeros((40, n_visible + 1), np.int64)
    val = np.zeros((40, n_visible + 1))
    cnt = np.zeros(40, np.int64)
    kernels.binary_rows_logistic(H, theta_t, 17, idx, val, cnt)
    act = np.ascontiguousarray((_augmented(H) @ theta_t)[:, :n_visible])
    prob, sample = np.empty_like(act), np.empty_like(act)
    kernels.sigmoid_bernoulli_serial(act, 1.0, 17, True, prob, sample)
    ref_idx, ref_val, ref_cnt = _sparse_rows(sample)
    np.testing.assert_array_equal(cnt, ref_cnt)
    for r in range(40):
        np.testing.assert_array_equal(idx[r, : cnt[r]], ref_idx[r, : cnt[r]])
        np.testing.assert_array_equal(val[r, : cnt[r]], ref_val[r, : cnt[r]])


def test_saturated_units_are_deterministic_without_warnings():
    """Activations of +-50 and +-1e3: p is 1 or 0 to double precision (exp(1e3)
    overflows to inf inside the kernel, giving exactly 0), so every draw is
    forced whatever the uniform."""
    n_visible, n_hidden = 3, 4
    theta = np.zeros((n_visible + 1, n_hidden + 1))
    theta[n_visible, :n_hidden] = [50.0, -50.0, 1e3, -1e3]  # hidden biases
    X = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 1.0]])
    idx, val, cnt = _sparse_rows(X)
    prob, sample = np.zeros((2, n_hidden + 1)), np.zeros((2, n_hidden + 1))
    bounds = kernels.stripe_bounds(n_hidden, 2)
    for key in range(20):
        kernels.striped_logistic(idx, val, cnt, theta, bounds, 1.0, key, True, prob, sample)
        np.testing.assert_array_equal(sample[:, :n_hidden], [[1, 0, 1, 0]] * 2)
    assert np.all(np.isfinite(prob))
    np.testing.assert_array_equal(prob[:, [2, 3]], [[1.0, 0.0]] * 2)


@pytest.mark.parametrize("momentum", [0.0, 0.6])
@pytest.mark.parametrize("n_stripes", [1, 2, 4])
def test_striped_update_equals_dense_update(momentum, n_stripes):
    """Gradient x^T y with x sparse, step with decay (weights only) and momentum,
    and theta_t = theta.T afterwards: as apply_update on the dense gradient."""
    rng, X, theta = _problem(seed=6)
    x = _augmented(X * rng.random(X.shape))
    y = rng.normal(size=(X.shape[0], theta.shape[1]))
    n_visible, n_hidden = X.shape[1], theta.shape[1] - 1
    velocity = rng.normal(size=theta.shape) if momentum else np.empty((0, 0))
    ref_theta, ref_velocity = theta.copy(), velocity.copy()
    kernels.apply_update_serial(
        ref_theta, x.T @ y, ref_velocity, 0.3, momentum, 0.01, n_visible, n_hidden
    )
    idx, val, cnt = _sparse_rows(x[:, :n_visible])
    indptr = np.zeros(n_visible + 2, np.int64)
    rows, vals = np.zeros(cnt.sum(), np.int64), np.zeros(cnt.sum())
    kernels.sparse_columns(idx, val, cnt, n_visible + 1, indptr, rows, vals)
    theta_t = np.zeros(theta.T.shape)
    bounds = kernels.stripe_bounds(n_hidden + 1, n_stripes)
    kernels.striped_update(
        indptr, rows, vals, y, theta, theta_t, velocity, bounds, 0.3, momentum, 0.01,
        n_visible, n_hidden,
    )  # fmt: skip
    np.testing.assert_allclose(theta, ref_theta, rtol=1e-12, atol=1e-13)
    np.testing.assert_array_equal(theta_t, theta.T)
    if momentum:
        np.testing.assert_allclose(velocity, ref_velocity, rtol=1e-12, atol=1e-13)


def test_sparse_kernels_run_as_plain_python():
    """The same numbers from the interpreted originals (what NUMBA_DISABLE_JIT runs)."""
    _, X, theta = _problem(seed=7, n=6, n_visible=9, n_hidden=5)
    idx, val, cnt = _sparse_rows(X)
    bounds = kernels.stripe_bounds(5, 2)
    out = []
    for fn in (kernels.striped_logistic, kernels.striped_logistic.py_func):
        prob, sample = np.zeros((6, 6)), np.zeros((6, 6))
        fn(idx, val, cnt, theta, bounds, 1.0, 3, True, prob, sample)
        out.append((prob, sample))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-14)
    np.testing.assert_array_equal(out[0][1], out[1][1])


# ---------------------------------------------------------------- estimator
def _mnist_like(seed=0, n=120, n_visible=40, density=0.15):
    rng = np.random.default_rng(seed)
    return (rng.random((n, n_visible)) < density).astype(float)


@pytest.mark.parametrize(
    "settings",
    [
        dict(method="pcd", k=1, momentum=0.0),
        dict(method="pcd", k=3, momentum=0.5, weight_decay=0.01, n_chains=17),
        dict(method="cd", k=2, momentum=0.9, sparsity_target=0.1),
    ],
)
def test_sparse_fit_equals_dense_fit(settings):
    X = _mnist_like()
    common = dict(n_hidden=9, n_epochs=3, batch_size=25, learning_rate=0.1, random_state=4)
    dense = RBM(algorithm="dense", **common, **settings).fit(X)
    sparse = RBM(algorithm="sparse", **common, **settings).fit(X)
    for name in ("weights_", "visible_bias_", "hidden_bias_"):
        np.testing.assert_allclose(getattr(sparse, name), getattr(dense, name), atol=1e-12)
    if settings["method"] == "pcd":
        np.testing.assert_array_equal(sparse.persistent_hidden_, dense.persistent_hidden_)


def test_sparse_path_handles_fractional_data_and_partial_fit():
    """Values in [0, 1] are kept as weights of the non-zero entries."""
    rng = np.random.default_rng(8)
    X = _mnist_like(seed=8) * rng.random((120, 40))
    common = dict(n_hidden=6, batch_size=30, learning_rate=0.05, random_state=1)
    dense = RBM(algorithm="dense", **common).partial_fit(X).partial_fit(X)
    sparse = RBM(algorithm="sparse", **common).partial_fit(X).partial_fit(X)
    np.testing.assert_allclose(sparse.weights_, dense.weights_, atol=1e-12)


def test_auto_picks_sparse_for_sparse_binary_data_and_dense_otherwise():
    """Bitwise equality identifies the path taken: auto == sparse on 15%-dense
    data, auto == dense on 50%-dense data (the two paths round differently)."""
    common = dict(n_hidden=8, n_epochs=2, batch_size=20, random_state=0)
    sparse_data = _mnist_like(seed=1)
    dense_data = _mnist_like(seed=1, density=0.5)
    auto = RBM(**common).fit(sparse_data)
    assert (
        auto.weights_.tobytes()
        == RBM(algorithm="sparse", **common).fit(sparse_data).weights_.tobytes()
    )
    assert (
        auto.weights_.tobytes()
        != RBM(algorithm="dense", **common).fit(sparse_data).weights_.tobytes()
    )
    auto = RBM(**common).fit(dense_data)
    assert (
        auto.weights_.tobytes()
        == RBM(algorithm="dense", **common).fit(dense_data).weights_.tobytes()
    )


def test_sparse_fit_is_independent_of_thread_count():
    X = _mnist_like(seed=2, n=200, n_visible=64)
    kwargs = dict(n_hidden=40, n_epochs=2, batch_size=50, algorithm="sparse", random_state=0)
    before = numba.get_num_threads()
    fits = []
    try:
        for threads in sorted({1, 2, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(threads)
            fits.append(RBM(**kwargs).fit(X))
    finally:
        numba.set_num_threads(before)
    for rbm in fits[1:]:
        assert rbm.weights_.tobytes() == fits[0].weights_.tobytes()
        assert rbm.persistent_hidden_.tobytes() == fits[0].persistent_hidden_.tobytes()


def test_sparse_float32_stays_float32():
    X = _mnist_like(seed=3).astype(np.float32)
    rbm = RBM(n_hidden=5, n_epochs=2, batch_size=20, algorithm="sparse", dtype=np.float32)
    rbm.set_params(random_state=0).fit(X)
    assert rbm.weights_.dtype == np.float32 and rbm.persistent_hidden_.dtype == np.float32
    assert np.all(np.isfinite(rbm.weights_))


def test_algorithm_errors():
    X = _mnist_like()
    with pytest.raises(ValueError, match="algorithm='sparse' needs binary visible units"):
        RBM(visible="gaussian", algorithm="sparse").fit(X)
    with pytest.raises(ValueError, match=r"algorithm must be one of \['auto', 'dense', 'sparse'\]"):
        RBM(algorithm="csr").fit(X)


def test_sigmoid_into_is_accurate_and_saturates_exactly():
    """Within 2.5 ulp of scipy's expit on a fine grid of [-40, 40] and on random
    points up to |x| = 700 (where the result is a normal number); exactly 0 and 1
    beyond |x| = 708; float32 input gives the float64 logistic of its values."""
    from scipy.special import expit

    rng = np.random.default_rng(0)
    x = np.concatenate([np.linspace(-40, 40, 400_001), rng.uniform(-700, 700, 100_000)])
    out, work = np.empty_like(x), np.empty_like(x)
    kernels.sigmoid_into(x, out, work)
    ref = expit(x)
    assert np.max(np.abs(out - ref) / ref) <= 2.5 * np.finfo(float).eps
    edges = np.array([0.0, -0.0, 708.5, -708.5, 1e3, -1e3, 1e308, -1e308])
    out, work = np.empty_like(edges), np.empty_like(edges)
    kernels.sigmoid_into(edges, out, work)
    np.testing.assert_array_equal(out, [0.5, 0.5, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0])
    x32 = rng.normal(scale=5, size=1000).astype(np.float32)
    out = np.empty(1000)
    kernels.sigmoid_into(x32, out, np.empty(1000))
    np.testing.assert_allclose(out, expit(x32.astype(np.float64)), rtol=2.5 * np.finfo(float).eps)
    # The interpreted original (NUMBA_DISABLE_JIT) does the same IEEE operations.
    small = rng.normal(scale=30, size=50)
    compiled, interpreted = np.empty(50), np.empty(50)
    kernels.sigmoid_into(small, compiled, np.empty(50))
    kernels.sigmoid_into.py_func(small, interpreted, np.empty(50))
    np.testing.assert_array_equal(compiled, interpreted)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("order", ["C", "F"])
def test_value_counts_matches_numpy(dtype, order):
    """The one-pass validation counts equal numpy's, for any layout and thread count."""
    rng = np.random.default_rng(3)
    X = rng.choice(np.array([0.0, 1.0, -0.0, 0.5, -2.0, 3.0, np.nan, np.inf, -np.inf]), (57, 13))
    X = np.asarray(X, dtype=dtype, order=order)
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(X)
        expected = (
            np.count_nonzero(~finite),
            np.count_nonzero(finite & ((X < 0) | (X > 1))),
            np.count_nonzero((X != 0) & (X != 1)),
        )
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        numba.set_num_threads(threads)
        assert kernels.value_counts(X) == expected
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert kernels.value_counts(X[::2, 1::3]) == kernels.value_counts.py_func(X[::2, 1::3])
