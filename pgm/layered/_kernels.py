"""Numba kernels of the layered engine (fused activation and sampling).

Every kernel is a pure function on arrays: no Python objects, no validation.
Randomness comes from a counter-based generator keyed by a 63-bit integer
that the caller draws from its ``numpy.random.Generator``
(``pgm._random.kernel_seed``): the uniform used for entry ``(i, j)`` of an
``(n, m)`` array is ``uniform_at(key, i * m + j)``. It depends only on the key
and the position, never on the thread that computes it, so the row-parallel
kernels give bitwise the same result for any number of threads.

The generator is the package's one counter-based generator, SplitMix64 at a
counter (:mod:`pgm._rng_kernels`, whose ``uniform_at`` and ``normal_at`` this
module re-exports).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from pgm._rng_kernels import normal_at, uniform_at

__all__ = [
    "uniform_at",
    "normal_at",
    "exp_neg_abs_into",
    "sigmoid_into",
    "sigmoid_bernoulli",
    "sigmoid_bernoulli_serial",
    "gaussian_visible_sample",
    "gaussian_visible_sample_serial",
    "PARALLEL_MIN_ENTRIES",
    "apply_update",
    "gather_rows",
    "gather_rows_serial",
    "apply_update_serial",
    "update",
    "gather",
    "sample_bernoulli",
    "sample_gaussian",
    "gather_sparse_rows",
    "sparse_columns",
    "stripe_bounds",
    "striped_logistic",
    "striped_update",
    "binary_rows_logistic",
    "value_counts",
]

#: Arrays with fewer entries run single-threaded. Between two BLAS products
#: the BLAS worker threads are still spin-waiting, so a parallel kernel there
#: competes with them for cores and gains nothing on small arrays (measured on
#: the 2-core benchmark machine); only large standalone calls go parallel.
PARALLEL_MIN_ENTRIES = 1 << 20


# Logistic function in three loops that LLVM vectorises (libm's exp is a
# scalar call; benchmarks/bench_rbm_kernels.py times both): exp(-|x|) = 2**-k * exp(r) with
# k = round(|x| / ln 2) and |r| <= ln(2) / 2 (Cody-Waite split of ln 2, as in
# fdlibm), exp(r) by its Taylor polynomial to degree 13 (truncation below
# 4e-18), and 2**-k assembled in the exponent bits. Measured within 2.1 ulp
# of scipy.special.expit on [-40, 40] (tests/models/test_rbm_sparse.py).
_INV_LN2 = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
#: 1.5 * 2**52: adding it rounds to an integer held in the low mantissa bits.
_SHIFTER = 6755399441055744.0
_SHIFTER_BITS = np.int64(0x4338000000000000)
#: Beyond this |x|, exp(-|x|) would be subnormal: the result is taken as exactly 0 or 1.
_SIGMOID_CUTOFF = 708.0


@njit(cache=True, error_model="numpy")
def exp_neg_abs_into(x, out, work):
    """``out[j] = exp(-|x[j]|)``, vectorised, for finite ``x`` (0 where ``|x[j]| > 708``).

    The exponential behind :func:`sigmoid_into` (and the AIS kernels'
    softplus and sigmoid): Cody-Waite reduction, a degree-13 Taylor
    polynomial and ``2**-k`` assembled in the exponent bits, in loops that
    LLVM vectorises. ``work`` is scratch of the same length; both float64
    and contiguous, neither aliasing ``x``.
    """
    n = x.shape[0]
    bits = work.view(np.int64)
    for j in range(n):
        a = abs(x[j])
        a = a if a < _SIGMOID_CUTOFF else _SIGMOID_CUTOFF
        shifted = a * _INV_LN2 + _SHIFTER
        k = shifted - _SHIFTER
        r = (k * _LN2_HI - a) + k * _LN2_LO
        q = 1.0 / 6227020800.0
        q = q * r + 1.0 / 479001600.0
        q = q * r + 1.0 / 39916800.0
        q = q * r + 1.0 / 3628800.0
        q = q * r + 1.0 / 362880.0
        q = q * r + 1.0 / 40320.0
        q = q * r + 1.0 / 5040.0
        q = q * r + 1.0 / 720.0
        q = q * r + 1.0 / 120.0
        q = q * r + 1.0 / 24.0
        q = q * r + 1.0 / 6.0
        q = q * r + 0.5
        q = q * r + 1.0
        out[j] = q * r + 1.0
        work[j] = shifted
    for j in range(n):
        # The low bits of `shifted` hold k; 2**-k has biased exponent 1023 - k.
        bits[j] = (1023 - (bits[j] - _SHIFTER_BITS)) << 52
    for j in range(n):
        e = out[j] * work[j]
        out[j] = e if abs(x[j]) <= _SIGMOID_CUTOFF else 0.0


@njit(cache=True, error_model="numpy")
def sigmoid_into(x, out, work):
    """``out[j] = 1 / (1 + exp(-x[j]))``, vectorised, for finite ``x``.

    Parameters
    ----------
    x : ndarray of shape (n,), float32 or float64
        Finite inputs. Read only.
    out : ndarray of shape (n,), float64, contiguous
        Written in place (must not alias ``x``).
    work : ndarray of shape (n,), float64, contiguous
        Scratch.

    Notes
    -----
    Relative error about 2 ulp where the result is a normal number; for
    ``|x| > 708`` the result is exactly 1 (``x > 0``) or 0 (the true value is
    below 3.3e-308). ``error_model="numpy"``: no zero-division branch, so the
    final division vectorises too (``1 + e >= 1``, never zero).
    """
    exp_neg_abs_into(x, out, work)
    for j in range(x.shape[0]):
        e = out[j]
        numerator = 1.0 if x[j] >= 0 else e
        out[j] = numerator / (1.0 + e)


@njit(cache=True)
def _sigmoid_bernoulli_row(act, i, scale, key, do_sample, out_prob, out_sample):
    """Row ``i`` of :func:`sigmoid_bernoulli` (shared by both drivers)."""
    m = act.shape[1]
    base = i * m
    # A contiguous copy of the row: on a strided view (the training loop
    # passes column slices of wider buffers) sigmoid_into would not vectorise.
    row = np.empty(m, dtype=act.dtype)
    row[:] = act[i]
    prob = np.empty(m)
    sigmoid_into(row, prob, np.empty(m))
    for j in range(m):
        p = prob[j]
        if do_sample:
            out_sample[i, j] = 1.0 if uniform_at(key, base + j) < p else 0.0
        out_prob[i, j] = scale * p


@njit(cache=True, parallel=True)
def sigmoid_bernoulli(act, scale, key, do_sample, out_prob, out_sample):
    """Logistic activation with an optional fused Bernoulli draw (rows in parallel).

    For every entry, ``p = 1 / (1 + exp(-act[i, j]))`` (:func:`sigmoid_into`); writes
    ``out_prob[i, j] = scale * p`` and, when ``do_sample``,
    ``out_sample[i, j] = 1.0 if uniform_at(key, i * m + j) < p else 0.0``.

    Parameters
    ----------
    act : ndarray of shape (n, m), float32 or float64
        Pre-activations (biases included). Read only, but may be the same
        array as ``out_prob`` (each entry is read before it is written).
    scale : float
        Factor applied to the probabilities written to ``out_prob``.
    key : int64
        Random stream key; unused when ``do_sample`` is False.
    do_sample : bool
        Whether to draw samples into ``out_sample``.
    out_prob : ndarray of shape (n, m)
        Written in place.
    out_sample : ndarray of shape (n, m)
        Written in place when ``do_sample`` (must not alias ``act``).

    Notes
    -----
    ``p`` is exactly 0 or 1 once ``|act| > 708`` (:func:`sigmoid_into`), so
    saturated units are sampled deterministically.
    Each entry's uniform depends on its position only, so the output is the
    same for any thread count and equals :func:`sigmoid_bernoulli_serial`'s.
    """
    for i in prange(act.shape[0]):
        _sigmoid_bernoulli_row(act, i, scale, key, do_sample, out_prob, out_sample)


@njit(cache=True)
def sigmoid_bernoulli_serial(act, scale, key, do_sample, out_prob, out_sample):
    """Single-threaded :func:`sigmoid_bernoulli` (for small arrays; same output)."""
    for i in range(act.shape[0]):
        _sigmoid_bernoulli_row(act, i, scale, key, do_sample, out_prob, out_sample)


@njit(cache=True)
def _gaussian_row(mean, i, key, out_sample):
    m = mean.shape[1]
    base = i * m
    for j in range(m):
        out_sample[i, j] = mean[i, j] + normal_at(key, base + j)


@njit(cache=True, parallel=True)
def gaussian_visible_sample(mean, key, out_sample):
    """Draw ``out_sample[i, j] = mean[i, j] + N(0, 1)`` (unit-variance visibles).

    Parameters
    ----------
    mean : ndarray of shape (n, m)
        Conditional means ``b + W h``. Read only.
    key : int64
        Random stream key; entry ``(i, j)`` uses ``normal_at(key, i * m + j)``.
    out_sample : ndarray of shape (n, m)
        Written in place; may alias ``mean``.
    """
    for i in prange(mean.shape[0]):
        _gaussian_row(mean, i, key, out_sample)


@njit(cache=True)
def gaussian_visible_sample_serial(mean, key, out_sample):
    """Single-threaded :func:`gaussian_visible_sample` (same output)."""
    for i in range(mean.shape[0]):
        _gaussian_row(mean, i, key, out_sample)


@njit(cache=True)
def _step(target, grad, vel, alpha, momentum, decay, decayed):
    """One parameter step on a row (or stripe of a row) of ``theta``, in place.

    ``step = alpha * grad - decay * target`` on entries ``[0, decayed)`` (the
    weights) and ``alpha * grad`` on the rest (biases), plus
    ``momentum * vel`` when ``vel`` is not empty (then ``vel = step``);
    ``target += step``. Two plain loops instead of a branch per entry, so
    that each one vectorises.
    """
    width = target.shape[0]
    if vel.shape[0] > 0:
        for j in range(decayed):
            step = alpha * grad[j] - decay * target[j] + momentum * vel[j]
            vel[j] = step
            target[j] += step
        for j in range(decayed, width):
            step = alpha * grad[j] + momentum * vel[j]
            vel[j] = step
            target[j] += step
    else:
        for j in range(decayed):
            target[j] += alpha * grad[j] - decay * target[j]
        for j in range(decayed, width):
            target[j] += alpha * grad[j]


@njit(cache=True)
def _apply_update_row(theta, grad, velocity, alpha, momentum, decay, n_rows, n_cols, i):
    vel = velocity[i] if velocity.shape[0] > 0 else velocity.reshape(-1)
    _step(theta[i], grad[i], vel, alpha, momentum, decay, n_cols if i < n_rows else 0)


@njit(cache=True, parallel=True)
def apply_update(theta, grad, velocity, alpha, momentum, decay, n_rows, n_cols):
    """Fused parameter step on the augmented parameter matrix (rows in parallel).

    ``step = alpha * grad - decay * theta`` (decay on the weight block
    ``i < n_rows, j < n_cols`` only, not on the biases), plus
    ``momentum * velocity`` when a velocity is given; then
    ``velocity = step`` and ``theta += step``. This is classical momentum,
    ``v <- m v + lr (g - wd W)``, ``theta <- theta + v``, with
    ``alpha * grad = lr * g`` and ``decay = lr * wd``.

    Parameters
    ----------
    theta : ndarray of shape (n_visible + 1, n_hidden + 1)
        Augmented parameters ``[[W, b], [c, 0]]``; updated in place.
    grad : ndarray, same shape and dtype as ``theta``
        Unscaled gradient estimate. Read only.
    velocity : ndarray, same shape as ``theta``, or of shape (0, 0)
        Updated in place; an empty array means no momentum.
    alpha, momentum, decay : float
        Gradient scale, momentum coefficient, ``learning_rate * weight_decay``.
    n_rows, n_cols : int
        Size of the weight block (``n_visible``, ``n_hidden``).
    """
    for i in prange(theta.shape[0]):
        _apply_update_row(theta, grad, velocity, alpha, momentum, decay, n_rows, n_cols, i)


@njit(cache=True)
def apply_update_serial(theta, grad, velocity, alpha, momentum, decay, n_rows, n_cols):
    """Single-threaded :func:`apply_update` (same output)."""
    for i in range(theta.shape[0]):
        _apply_update_row(theta, grad, velocity, alpha, momentum, decay, n_rows, n_cols, i)


@njit(cache=True, parallel=True)
def gather_rows(source, index, out):
    """Copy rows: ``out[r, :] = source[index[r], :]``.

    Parameters
    ----------
    source : ndarray of shape (n_rows, m)
    index : ndarray of shape (n,), int64
        Row numbers, each in ``[0, n_rows)`` (guaranteed by the caller).
    out : ndarray of shape (n, m), same dtype as ``source``
        Written in place (may be a column slice of a wider buffer).
    """
    for r in prange(out.shape[0]):
        row = index[r]
        for j in range(out.shape[1]):
            out[r, j] = source[row, j]


@njit(cache=True)
def gather_rows_serial(source, index, out):
    """Single-threaded :func:`gather_rows`."""
    for r in range(out.shape[0]):
        row = index[r]
        for j in range(out.shape[1]):
            out[r, j] = source[row, j]


def sample_bernoulli(act, scale, key, do_sample, out_prob, out_sample):
    """Dispatch to the parallel or serial :func:`sigmoid_bernoulli` by size."""
    if act.size >= PARALLEL_MIN_ENTRIES:
        sigmoid_bernoulli(act, scale, key, do_sample, out_prob, out_sample)
    else:
        sigmoid_bernoulli_serial(act, scale, key, do_sample, out_prob, out_sample)


def sample_gaussian(mean, key, out_sample):
    """Dispatch to the parallel or serial :func:`gaussian_visible_sample` by size."""
    if mean.size >= PARALLEL_MIN_ENTRIES:
        gaussian_visible_sample(mean, key, out_sample)
    else:
        gaussian_visible_sample_serial(mean, key, out_sample)


def update(theta, grad, velocity, alpha, momentum, decay, n_rows, n_cols):
    """Dispatch to the parallel or serial :func:`apply_update` by size."""
    if theta.size >= PARALLEL_MIN_ENTRIES:
        apply_update(theta, grad, velocity, alpha, momentum, decay, n_rows, n_cols)
    else:
        apply_update_serial(theta, grad, velocity, alpha, momentum, decay, n_rows, n_cols)


def gather(source, index, out):
    """Dispatch to the parallel or serial :func:`gather_rows` by size."""
    if out.size >= PARALLEL_MIN_ENTRIES:
        gather_rows(source, index, out)
    else:
        gather_rows_serial(source, index, out)


@njit(cache=True, parallel=True)
def value_counts(X):
    """Counts that input validation needs, in one pass over a 2-D array.

    Parameters
    ----------
    X : ndarray of shape (n, m), float32 or float64, any layout. Read only.

    Returns
    -------
    n_nonfinite, n_outside_unit, n_nonbinary : int64
        Entries that are NaN or infinite; finite entries outside ``[0, 1]``;
        entries other than exactly 0 or 1 (NaN included).
    """
    n_nonfinite = 0
    n_outside = 0
    n_nonbinary = 0
    for r in prange(X.shape[0]):
        for j in range(X.shape[1]):
            x = X[r, j]
            if x != 0 and x != 1:
                n_nonbinary += 1
                if not np.isfinite(x):
                    n_nonfinite += 1
                elif x < 0 or x > 1:
                    n_outside += 1
    return n_nonfinite, n_outside, n_nonbinary


# ------------------------------------------------------------ sparse path
# Binary data and sampled binary visibles are mostly zeros (MNIST: 13% ones),
# so the products that have them as a factor are sums of a few rows of
# ``theta``. Rows are stored padded: ``idx[r, :cnt[r]]`` lists the non-zero
# columns of row ``r`` in increasing order, the last one always the constant
# column ``n_visible`` (value 1) that carries the hidden biases, and
# ``val[r, k]`` is the value at ``idx[r, k]``.


@njit(cache=True)
def _dense_row_to_sparse(x, r, ones_index, out_idx, out_val, out_cnt):
    count = 0
    for i in range(x.shape[0]):
        value = x[i]
        if value != 0:
            out_idx[r, count] = i
            out_val[r, count] = value
            count += 1
    out_idx[r, count] = ones_index
    out_val[r, count] = 1.0
    out_cnt[r] = count + 1


@njit(cache=True, parallel=True)
def gather_sparse_rows(source, index, out_idx, out_val, out_cnt):
    """Padded sparse copy of the rows ``source[index[r]]`` plus the constant column.

    Parameters
    ----------
    source : ndarray of shape (n_rows, n_visible)
        Dense data.
    index : ndarray of shape (n,), int64
        Row numbers in ``[0, n_rows)`` (guaranteed by the caller).
    out_idx : ndarray of shape (>= n, n_visible + 1), int64
    out_val : ndarray of shape (>= n, n_visible + 1)
    out_cnt : ndarray of shape (>= n,), int64
        Rows ``[0, n)`` are written in place: the non-zero columns of each
        source row in increasing order, then column ``n_visible`` with value 1.
    """
    n_visible = source.shape[1]
    for r in prange(index.shape[0]):
        _dense_row_to_sparse(source[index[r]], r, n_visible, out_idx, out_val, out_cnt)


@njit(cache=True)
def sparse_columns(idx, val, cnt, n_columns, out_indptr, out_rows, out_vals):
    """Transpose padded sparse rows to compressed columns (CSC), rows sorted.

    Parameters
    ----------
    idx, val, cnt : padded sparse rows, ``n`` of them
    n_columns : int
        Number of columns (``n_visible + 1``).
    out_indptr : ndarray of shape (n_columns + 1,), int64
    out_rows : ndarray of shape (>= nnz,), int64
    out_vals : ndarray of shape (>= nnz,)
        Written in place: column ``i`` holds rows
        ``out_rows[out_indptr[i]:out_indptr[i + 1]]`` in increasing order.
    """
    out_indptr[:] = 0
    for r in range(cnt.shape[0]):
        for k in range(cnt[r]):
            out_indptr[idx[r, k] + 1] += 1
    for i in range(n_columns):
        out_indptr[i + 1] += out_indptr[i]
    fill = out_indptr[:n_columns].copy()
    for r in range(cnt.shape[0]):
        for k in range(cnt[r]):
            column = idx[r, k]
            out_rows[fill[column]] = r
            out_vals[fill[column]] = val[r, k]
            fill[column] += 1


@njit(cache=True)
def _accumulate(source, j0, index, weight, start, stop, out):
    """``out[j] += sum_{k in [start, stop)} weight[k] * source[index[k], j0 + j]``.

    Eight source rows per pass over ``out`` (then four, then one): the
    accumulator is loaded and stored once per eight rows instead of once per
    row, and the per-pass set-up (row slices, LLVM's alias checks) is paid
    once per eight rows, which matters when the rows are short or stream
    from L3. Sums are in a fixed order (pairwise within a pass), so the
    result depends on the inputs only.
    """
    width = out.shape[0]
    j1 = j0 + width
    k = start
    while k + 8 <= stop:
        r0 = source[index[k], j0:j1]
        r1 = source[index[k + 1], j0:j1]
        r2 = source[index[k + 2], j0:j1]
        r3 = source[index[k + 3], j0:j1]
        r4 = source[index[k + 4], j0:j1]
        r5 = source[index[k + 5], j0:j1]
        r6 = source[index[k + 6], j0:j1]
        r7 = source[index[k + 7], j0:j1]
        w0, w1, w2, w3 = weight[k], weight[k + 1], weight[k + 2], weight[k + 3]
        w4, w5, w6, w7 = weight[k + 4], weight[k + 5], weight[k + 6], weight[k + 7]
        for j in range(width):
            low = (w0 * r0[j] + w1 * r1[j]) + (w2 * r2[j] + w3 * r3[j])
            high = (w4 * r4[j] + w5 * r5[j]) + (w6 * r6[j] + w7 * r7[j])
            out[j] += low + high
        k += 8
    if k + 4 <= stop:
        r0 = source[index[k], j0:j1]
        r1 = source[index[k + 1], j0:j1]
        r2 = source[index[k + 2], j0:j1]
        r3 = source[index[k + 3], j0:j1]
        w0, w1, w2, w3 = weight[k], weight[k + 1], weight[k + 2], weight[k + 3]
        for j in range(width):
            out[j] += (w0 * r0[j] + w1 * r1[j]) + (w2 * r2[j] + w3 * r3[j])
        k += 4
    while k < stop:
        r0 = source[index[k], j0:j1]
        w0 = weight[k]
        for j in range(width):
            out[j] += w0 * r0[j]
        k += 1


# Column stripes. Each thread owns a fixed stripe of hidden units: it computes
# their activations, updates their columns of ``theta`` (and of the velocity)
# and writes their rows of ``theta_t``. The same thread touches the same cache
# lines batch after batch, so no parameter line moves between cores (reading
# lines another core has just written is slow; on the 2-core benchmark
# machine such transfers, not arithmetic, dominated a row-partitioned
# version). The partition changes who computes an entry, never how: results
# are bitwise the same for any number of stripes.


def stripe_bounds(n_columns, n_stripes):
    """Boundaries of ``n_stripes`` contiguous stripes of ``n_columns`` columns.

    Inner boundaries are multiples of 8 (one 64-byte line of float64), so two
    stripes never share a cache line of a C-ordered row. Returns an int64
    array of shape (n_stripes + 1,) from 0 to ``n_columns`` (some stripes may
    be empty when there are few columns).
    """
    width = -(-n_columns // n_stripes)
    width = -(-width // 8) * 8
    bounds = np.minimum(np.arange(n_stripes + 1, dtype=np.int64) * width, n_columns)
    bounds[-1] = n_columns
    return bounds


@njit(cache=True, parallel=True)
def striped_logistic(idx, val, cnt, theta, bounds, scale, key, do_sample, out_prob, out_sample):
    """Hidden units of padded sparse visible rows, one column stripe per thread.

    For each row ``r`` and hidden unit ``j < m = bounds[-1]``:
    ``act = sum_k val[r, k] * theta[idx[r, k], j]``, ``p = 1 / (1 + exp(-act))``,
    ``out_prob[r, j] = scale * p`` (when ``out_prob`` is not empty) and, when
    ``do_sample``, ``out_sample[r, j] = uniform_at(key, r * m + j) < p`` -- the
    arithmetic and draws of :func:`sigmoid_bernoulli` on a dense activation.

    Parameters
    ----------
    idx, val, cnt : padded sparse visible rows (``n`` rows)
    theta : ndarray of shape (n_visible + 1, >= m), C-contiguous. Read only.
    bounds : ndarray of shape (n_stripes + 1,), int64
        From :func:`stripe_bounds`; stripe ``s`` is columns
        ``[bounds[s], bounds[s + 1])``.
    scale : float
    key : int64
    do_sample : bool
    out_prob : ndarray of shape (n, >= m) or (0, 0)
    out_sample : ndarray of shape (n, >= m)
        Written in place (``out_sample`` only when ``do_sample``).
    """
    m = bounds[-1]
    write_prob = out_prob.shape[0] > 0
    for s in prange(bounds.shape[0] - 1):
        j0 = bounds[s]
        width = bounds[s + 1] - j0
        act = np.empty(width, dtype=theta.dtype)
        prob, work = np.empty(width), np.empty(width)
        for r in range(cnt.shape[0]):
            act[:] = 0.0
            _accumulate(theta, j0, idx[r], val[r], 0, cnt[r], act)
            base = r * m + j0
            sigmoid_into(act, prob, work)
            for j in range(width):
                p = prob[j]
                if write_prob:
                    out_prob[r, j0 + j] = scale * p
                if do_sample:
                    out_sample[r, j0 + j] = 1.0 if uniform_at(key, base + j) < p else 0.0


@njit(cache=True, parallel=True)
def striped_update(
    indptr, rows, vals, y, theta, theta_t, velocity, bounds, alpha, momentum, decay, n_rows, n_cols
):
    """Fused gradient ``x^T y`` (sparse ``x``), parameter step and transpose, by stripes.

    For every row ``i`` of ``theta`` and column ``j`` of stripe ``s``:
    ``g = sum_k vals[k] * y[rows[k], j]`` over column ``i`` of ``x`` (CSC, from
    :func:`sparse_columns`), then the step of :func:`apply_update`
    (``alpha * g - decay * theta`` on the weight block, plus momentum), and
    ``theta_t[j, i] = theta[i, j]``.

    Parameters
    ----------
    indptr, rows, vals : CSC arrays of ``x`` (``n_visible + 1`` columns)
    y : ndarray of shape (n, n_hidden + 1)
        Scaled hidden statistics, row weights in the last column. Read only.
    theta : ndarray of shape (n_visible + 1, n_hidden + 1); updated in place.
    theta_t : ndarray of shape (n_hidden + 1, n_visible + 1); overwritten with ``theta.T``.
    velocity : ndarray like ``theta``, or of shape (0, 0) (no momentum); updated in place.
    bounds : ndarray of shape (n_stripes + 1,), int64
        Stripes of the ``n_hidden + 1`` columns (:func:`stripe_bounds`).
    alpha, momentum, decay, n_rows, n_cols
        As in :func:`apply_update`.
    """
    use_velocity = velocity.shape[0] > 0
    n_theta = theta.shape[0]
    for s in prange(bounds.shape[0] - 1):
        j0 = bounds[s]
        width = bounds[s + 1] - j0
        # Weight columns of this stripe: [j0, j0 + n_decay) are decayed.
        n_decay = max(0, min(width, n_cols - j0))
        grad = np.empty(width, dtype=theta.dtype)
        for i0 in range(0, n_theta, 8):
            i1 = min(i0 + 8, n_theta)
            for i in range(i0, i1):
                grad[:] = 0.0
                _accumulate(y, j0, rows, vals, indptr[i], indptr[i + 1], grad)
                target = theta[i, j0 : j0 + width]
                vel = velocity[i, j0 : j0 + width] if use_velocity else velocity.reshape(-1)
                _step(target, grad, vel, alpha, momentum, decay, n_decay if i < n_rows else 0)
            # Transpose the block of (up to) eight updated rows: each row of
            # theta_t gets eight adjacent entries (64 bytes of float64) at a
            # time instead of one entry per far-apart line.
            for j in range(j0, j0 + width):
                for i in range(i0, i1):
                    theta_t[j, i] = theta[i, j]


@njit(cache=True, parallel=True)
def binary_rows_logistic(hidden, params, key, out_idx, out_val, out_cnt):
    """Visible samples given binary hidden rows, into the padded sparse layout.

    ``act[r, i] = sum_{j : hidden[r, j] != 0} hidden[r, j] * params[j, i] + params[n, i]``
    for ``i < m`` (``n = hidden.shape[1]``, ``m = out_idx.shape[1] - 1``; row ``n``
    of ``params`` is the bias), then unit ``i`` is on when
    ``uniform_at(key, r * m + i) < sigmoid(act[r, i])`` -- the draws of
    :func:`sigmoid_bernoulli` on a dense activation. Rows in parallel.

    Parameters
    ----------
    hidden : ndarray of shape (n_rows, n_hidden)
        Hidden states (mostly zeros). Read only.
    params : ndarray of shape (n_hidden + 1, >= m), C-contiguous
        ``theta_t``. Read only.
    key : int64
    out_idx, out_val, out_cnt : ndarrays of shapes (n_rows, m + 1), same, (n_rows,)
        Written in place; each row ends with the constant column ``m``.
    """
    n = hidden.shape[1]
    m = out_idx.shape[1] - 1
    for r in prange(hidden.shape[0]):
        on = np.empty(n + 1, dtype=np.int64)
        weight = np.empty(n + 1, dtype=params.dtype)
        n_on = 0
        for j in range(n):
            if hidden[r, j] != 0:
                on[n_on] = j
                weight[n_on] = hidden[r, j]
                n_on += 1
        on[n_on] = n  # the bias row
        weight[n_on] = 1.0
        act = np.zeros(m, dtype=params.dtype)
        _accumulate(params, 0, on, weight, 0, n_on + 1, act)
        count = 0
        base = r * m
        prob = np.empty(m)
        sigmoid_into(act, prob, np.empty(m))
        for i in range(m):
            if uniform_at(key, base + i) < prob[i]:
                out_idx[r, count] = i
                out_val[r, count] = 1.0
                count += 1
        out_idx[r, count] = m
        out_val[r, count] = 1.0
        out_cnt[r] = count + 1
