"""The package's one counter-based generator (pgm._rng_kernels) and its users.

Checked against a plain-Python SplitMix64 written from the paper (Steele, Lea
and Flood, OOPSLA 2014): the samplers' streams are that generator, whichever
module draws them.
"""

from __future__ import annotations

import numpy as np
import pytest

from pgm import _rng_kernels as rng_kernels
from pgm.inference import _gibbs_kernels, _tempering_kernels
from pgm.layered import _kernels as layered_kernels

_MASK = (1 << 64) - 1
_GAMMA = 0x9E3779B97F4A7C15


def _mix(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def _uniform(key: int, index: int) -> float:
    return (_mix((key + (index + 1) * _GAMMA) & _MASK) >> 11) * 2.0**-53


KEYS = [0, 1, 12345, 2**63 - 1, 0x0123456789ABCDEF]
INDICES = [0, 1, 2, 1000, 2**40, 2**62]


def test_uniform_at_is_splitmix64_at_a_counter():
    for key in KEYS:
        for index in INDICES:
            assert rng_kernels.uniform_at(key, index) == _uniform(key, index)


def test_sweep_key_is_two_splitmix_steps():
    for key in KEYS:
        for chain, sweep in ((0, 0), (3, 17), (99, 10**9)):
            want = _mix((_mix((key + (chain + 1) * _GAMMA) & _MASK) + (sweep + 1) * _GAMMA) & _MASK)
            assert int(rng_kernels.sweep_key(key, chain, sweep)) == want


def test_gibbs_uniforms_are_the_shared_stream():
    for key, chain, sweep in ((7, 0, 0), (2**62, 5, 123)):
        skey = _mix((_mix((key + (chain + 1) * _GAMMA) & _MASK) + (sweep + 1) * _GAMMA) & _MASK)
        want = np.array([_uniform(skey, i) for i in range(64)])
        np.testing.assert_array_equal(_gibbs_kernels.uniforms(key, chain, sweep, 64), want)


def test_one_generator_serves_every_kernel_module():
    """No second copy: the Gibbs, tempering and layered kernels hold the same functions."""
    assert _gibbs_kernels.site_uniform is rng_kernels.uniform_at
    assert _gibbs_kernels.sweep_key is rng_kernels.sweep_key
    assert _gibbs_kernels.mix64 is rng_kernels.mix64
    assert _tempering_kernels.site_uniform is rng_kernels.uniform_at
    assert layered_kernels.uniform_at is rng_kernels.uniform_at
    assert layered_kernels.normal_at is rng_kernels.normal_at


def test_normal_at_is_box_muller_on_consecutive_uniforms():
    for key in KEYS[:3]:
        for index in (0, 5, 10**6):
            u1, u2 = _uniform(key, 2 * index), _uniform(key, 2 * index + 1)
            want = np.sqrt(-2.0 * np.log(1.0 - u1)) * np.cos(2.0 * np.pi * u2)
            # compiled vs numpy's log/cos: libm calls that may differ by an ulp
            assert rng_kernels.normal_at(key, index) == pytest.approx(want, rel=1e-14, abs=1e-15)
