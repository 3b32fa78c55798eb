"""Turning user seeds into generators (the one sanctioned route, STYLE.md section 4)."""

from __future__ import annotations

import numpy as np

__all__ = ["as_generator", "SeedLike"]

SeedLike = "None | int | np.random.SeedSequence | np.random.Generator"


def as_generator(seed=None) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` for ``seed``.

    Parameters
    ----------
    seed : None, int, numpy.random.SeedSequence or numpy.random.Generator
        ``None`` draws fresh entropy; an int or ``SeedSequence`` gives a
        reproducible stream; a ``Generator`` is returned unchanged (so the
        caller's stream advances).

    Raises
    ------
    TypeError
        If ``seed`` is none of the accepted types.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, (int, np.integer, np.random.SeedSequence)):
        if isinstance(seed, (int, np.integer)) and seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed}")
        return np.random.default_rng(seed)
    raise TypeError(
        "seed must be None, an int, a numpy.random.SeedSequence or a "
        f"numpy.random.Generator, got {type(seed).__name__}"
    )


def kernel_seed(rng: np.random.Generator) -> int:
    """Draw a 63-bit integer from ``rng`` to key a counter-based kernel generator."""
    return int(rng.integers(0, 2**63 - 1, dtype=np.int64))
