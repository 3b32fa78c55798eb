"""The counter-based generator every kernel draws from (Numba).

One generator for the whole package: SplitMix64 (Steele, Lea and Flood, "Fast
splittable pseudorandom number generators", OOPSLA 2014) evaluated at a
counter. The state after ``c`` steps of the stream keyed ``key`` is
``key + (c + 1) * GAMMA`` (mod 2**64) and the output function is
:func:`mix64` (Stafford's "mix13" finaliser); the top 53 bits give a double
in ``[0, 1)``::

    uniform_at(key, c) = (mix64(key + (c + 1) * GAMMA) >> 11) * 2**-53

A draw depends only on the key and the counter, never on a thread or on
earlier draws, so parallel kernels give bitwise the same result for any
number of threads and a run may be split into calls anywhere.

The keys come from the caller's ``numpy.random.Generator``
(:func:`pgm._random.kernel_seed`). Users of the generator:

- the layered engine (:mod:`pgm.layered._kernels`): entry ``(i, j)`` of an
  ``(n, m)`` array uses counter ``i * m + j``;
- Gibbs sampling and tempering (:mod:`pgm.inference._gibbs_kernels`): one
  stream per chain and sweep, keyed by :func:`sweep_key`, with the variable
  id as counter.

The wrapping uint64 arithmetic is native in compiled code; as plain Python
(``NUMBA_DISABLE_JIT=1``) it goes through Python integers, so that numpy
emits no overflow warning and the stream is the same.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.extending import overload

__all__ = ["GAMMA", "mix64", "bits_at", "uniform_at", "normal_at", "sweep_key"]

#: The SplitMix64 increment (odd; 2**64 divided by the golden ratio).
GAMMA = 0x9E3779B97F4A7C15

_GAMMA = np.uint64(GAMMA)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_ONE = np.uint64(1)
_INV_2_53 = 1.0 / 9007199254740992.0
_MASK64 = (1 << 64) - 1


def _wrap_mul(a, b):
    """``a * b`` modulo 2**64 on uint64 values (native wrapping multiply when compiled)."""
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
def mix64(z):
    """SplitMix64's output function, a bijection of uint64 (wrapping arithmetic)."""
    z = np.uint64(z)
    z = _wrap_mul(z ^ (z >> _S30), _M1)
    z = _wrap_mul(z ^ (z >> _S27), _M2)
    return z ^ (z >> _S31)


@njit(cache=True)
def bits_at(key, index):
    """Return the 53 random bits at counter ``index`` of stream ``key`` (uint64 below 2**53).

    ``mix64(key + (index + 1) * GAMMA) >> 11``; :func:`uniform_at` is these
    bits times 2**-53, so ``uniform_at(key, i) < m * 2**-53`` exactly when
    ``bits_at(key, i) < m`` (an integer comparison, no conversion).
    """
    z = mix64(_wrap_add(np.uint64(key), _wrap_mul(_wrap_add(np.uint64(index), _ONE), _GAMMA)))
    return z >> _S11


@njit(cache=True)
def uniform_at(key, index):
    """Return the uniform double in ``[0, 1)`` at counter ``index`` of stream ``key``.

    Parameters
    ----------
    key : int64 or uint64
        Stream key (any 64-bit value; reinterpreted as unsigned).
    index : int64
        Non-negative counter.

    Returns
    -------
    float64
        ``(mix64(key + (index + 1) * GAMMA) >> 11) * 2**-53``, on the 2**-53 grid.
    """
    return float(bits_at(key, index)) * _INV_2_53


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
def sweep_key(key, chain, sweep):
    """Key (uint64) of the stream of one sweep of one Gibbs chain.

    ``mix64(mix64(key + (chain + 1) * GAMMA) + (sweep + 1) * GAMMA)``: the
    chain's key, then the sweep's, each one SplitMix64 step. ``key``,
    ``chain`` and ``sweep`` are non-negative int64.
    """
    z = mix64(_wrap_add(np.uint64(key), _wrap_mul(np.uint64(chain + 1), _GAMMA)))
    return mix64(_wrap_add(z, _wrap_mul(np.uint64(sweep + 1), _GAMMA)))
