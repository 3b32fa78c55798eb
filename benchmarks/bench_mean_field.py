"""Time mean-field sweeps on a 2-D Ising grid and on a grid of 3-state table factors.

Usage: ``python benchmarks/bench_mean_field.py [side]`` (default side 64).
Prints seconds per sweep for each schedule (the first call compiles and is
excluded).
"""

from __future__ import annotations

import sys
import time

import numpy as np

import pgm
from pgm.inference import mean_field


def ising_grid(side, rng):
    fg = pgm.FactorGraph()
    s = fg.add_variables("s", side * side, domain="spin")
    fg.add_unary(s, rng.normal(0, 0.1, side * side))
    ids = np.arange(side * side).reshape(side, side)
    edges = np.concatenate(
        [
            np.stack([ids[:, :-1].ravel(), ids[:, 1:].ravel()], axis=1),
            np.stack([ids[:-1, :].ravel(), ids[1:, :].ravel()], axis=1),
        ]
    )
    fg.add_edges(edges, np.full(edges.shape[0], 0.3))
    return fg


def potts_chain_of_factors(side, rng):
    fg = pgm.FactorGraph()
    fg.add_variables("c", side * side, domain=3)
    for i in range(side * side - 1):
        fg.add_factor([i, i + 1], rng.normal(0, 0.5, (3, 3)), name=f"f{i}")
    return fg


def main(side=64):
    rng = np.random.default_rng(0)
    for label, fg in (
        ("ising", ising_grid(side, rng)),
        ("table", potts_chain_of_factors(side, rng)),
    ):
        for schedule in ("sequential", "parallel"):
            mean_field.run(fg, schedule=schedule, max_iter=2, seed=0)  # compile
            start = time.perf_counter()
            result = mean_field.run(fg, schedule=schedule, max_iter=50, tol=0.0, seed=0)
            per_sweep = (time.perf_counter() - start) / result.n_iter
            print(
                f"{label:6s} n={fg.n_variables:6d} {schedule:10s} "
                f"{per_sweep * 1e3:8.3f} ms/sweep  bound={result.log_z_lower_bound:.6f}"
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 64)
