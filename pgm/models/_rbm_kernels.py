"""Numba kernels for the RBM fast path (fused activation and sampling).

Every kernel is a pure function on arrays: no Python objects, no validation.
Randomness comes from a counter-based generator keyed by a 63-bit integer
that the caller draws from its ``numpy.random.Generator``
(``pgm._random.kernel_seed``): the uniform used for entry ``(i, j)`` of an
``(n, m)`` array is ``uniform_at(key, i * m + j)``. It depends only on the key
and the position, never on the thread that computes it, so the row-parallel
kernels give bitwise the same result for any number of threads.

The generator is SplitMix64 (Steele, Lea and Flood, OOPSLA 2014) evaluated at
a counter: the state after ``c`` steps is ``key + (c + 1) * gamma``, and the
output function is Stafford's "mix13" finaliser. The top 53 bits give a
double in ``[0, 1)``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from numba.extending import overload

__all__ = [
    "uniform_at",
    "normal_at",
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
]

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_ONE = np.uint64(1)
_INV_2_53 = 1.0 / 9007199254740992.0

#: Arrays with fewer entries run single-threaded. Between two BLAS products
#: the BLAS worker threads are still spin-waiting, so a parallel kernel there
#: competes with them for cores and gains nothing on small arrays (measured on
#: the 2-core benchmark machine); only large standalone calls go parallel.
PARALLEL_MIN_ENTRIES = 1 << 20


_MASK64 = (1 << 64) - 1


def _wrap_mul(a, b):
    """``a * b`` modulo 2**64 on uint64 values.

    In compiled code this is the native wrapping multiply (see the overload
    below); as plain Python (``NUMBA_DISABLE_JIT=1``) it goes through Python
    integers so that numpy emits no overflow warning.
    """
    return np.uint64((int(a) * int(b)) & _MASK64)


def _wrap_add(a, b):
    """``a + b`` modulo 2**64 on uint64 values (see :func:`_wrap_mul`)."""
    return np.uint64((int(a) + int(b)) & _MASK64)


@overload(_wrap_mul)
def _wrap_mul_compiled(a, b):
    return lambda a, b: a * b


@overload(_wrap_add)
def _wrap_add_compiled(a, b):
    return lambda a, b: a + b


@njit(cache=True)
def uniform_at(key, index):
    """Return the uniform double in ``[0, 1)`` at counter ``index`` of stream ``key``.

    Parameters
    ----------
    key : int64
        Stream key (any 64-bit value; reinterpreted as unsigned).
    index : int64
        Non-negative counter.

    Returns
    -------
    float64
        ``(mix13(key + (index + 1) * gamma) >> 11) * 2**-53``.
    """
    z = _wrap_add(np.uint64(key), _wrap_mul(_wrap_add(np.uint64(index), _ONE), _GAMMA))
    z = _wrap_mul(z ^ (z >> _S30), _M1)
    z = _wrap_mul(z ^ (z >> _S27), _M2)
    z = z ^ (z >> _S31)
    return float(z >> _S11) * _INV_2_53


@njit(cache=True)
def normal_at(key, index):
    """Return a standard normal draw at counter ``index`` of stream ``key``.

    Box-Muller on the uniforms at counters ``2 * index`` and ``2 * index + 1``
    (the cosine branch only), so each output uses its own pair.
    """
    u1 = uniform_at(key, 2 * index)
    u2 = uniform_at(key, 2 * index + 1)
    # 1 - u1 lies in (0, 1], so the log is finite.
    radius = np.sqrt(-2.0 * np.log(1.0 - u1))
    return radius * np.cos(2.0 * np.pi * u2)


@njit(cache=True)
def _sigmoid_bernoulli_row(act, i, scale, key, do_sample, out_prob, out_sample):
    """Row ``i`` of :func:`sigmoid_bernoulli` (shared by both drivers)."""
    m = act.shape[1]
    base = i * m
    for j in range(m):
        p = 1.0 / (1.0 + np.exp(-act[i, j]))
        if do_sample:
            out_sample[i, j] = 1.0 if uniform_at(key, base + j) < p else 0.0
        out_prob[i, j] = scale * p


@njit(cache=True, parallel=True)
def sigmoid_bernoulli(act, scale, key, do_sample, out_prob, out_sample):
    """Logistic activation with an optional fused Bernoulli draw (rows in parallel).

    For every entry, ``p = 1 / (1 + exp(-act[i, j]))``; writes
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
    ``exp(-x)`` overflows to ``inf`` for very negative ``x`` and gives
    ``p = 0`` exactly, the correct limit; no fast-math, so this holds.
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
def _apply_update_row(theta, grad, velocity, alpha, momentum, decay, n_rows, n_cols, i):
    use_velocity = velocity.shape[0] > 0
    for j in range(theta.shape[1]):
        step = alpha * grad[i, j]
        if i < n_rows and j < n_cols:
            step -= decay * theta[i, j]
        if use_velocity:
            step += momentum * velocity[i, j]
            velocity[i, j] = step
        theta[i, j] += step


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
