"""Parallel tempering against plain Gibbs: mixing on a bimodal model, ESS per second.

Model: 8 spins on the complete graph, couplings J = 0.5, fields h = 0.05 (the
model of ``tests/inference/test_tempering.py``): two modes, weights 0.69 and
0.31, an energy barrier of 16. Statistic: the magnetisation ``mean_i x_i`` of
the beta = 1 state, whose exact mean (oracle: ``pgm.inference.exact``) is
reported beside each estimate. Each sampler runs 4 chains from uniform
random starts for the same number of site updates (PT: 10 temperatures,
geometric from beta = 0.05; Gibbs: 10x as many sweeps, thinned by 10 so both
keep the same number of draws). ESS is
:func:`pgm.inference.diagnostics.effective_sample_size` over the chains
(split-chain, so a chain stuck in one mode scores low). Times are the best of
3 runs after a warm-up (compilation excluded).

Run from the repository root: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_tempering.py``
(writes docs/benchmarks/tempering.md).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_markdown, publish  # noqa: E402

import pgm  # noqa: E402
from pgm.inference import diagnostics, exact, gibbs, tempering  # noqa: E402

N, J, H = 8, 0.5, 0.05
N_TEMPS, BETA_MIN = 10, 0.05
N_CHAINS, N_SAMPLES, BURN_IN = 4, 20000, 200


def model():
    fg = pgm.FactorGraph()
    s = fg.add_variables("s", N, domain="spin")
    fg.add_unary(s, np.full(N, H))
    edges = np.array([(a, b) for a in range(N) for b in range(a + 1, N)])
    fg.add_edges(edges, np.full(len(edges), J))
    return fg


def run_pt(fg, seed):
    r = tempering.sample(
        fg, N_SAMPLES, n_temperatures=N_TEMPS, beta_min=BETA_MIN, n_chains=N_CHAINS,
        burn_in=BURN_IN, seed=seed,
    )  # fmt: skip
    return r.samples, r.swap_acceptance


def run_gibbs(fg, seed):
    x = gibbs.sample(
        fg, N_SAMPLES, n_chains=N_CHAINS, burn_in=BURN_IN * N_TEMPS, thin=N_TEMPS, seed=seed
    )
    return x, None


def measure(fn, fg):
    fn(fg, 0)  # compile
    best = np.inf
    for rep in range(3):
        t = time.perf_counter()
        x, acc = fn(fg, rep + 1)
        best = min(best, time.perf_counter() - t)
    m = x.mean(-1)  # (n_chains, n_samples)
    ess = diagnostics.effective_sample_size(m)
    return dict(seconds=best, ess=ess, mean=float(m.mean()), chain_means=m.mean(1), acc=acc)


def main():
    fg = model()
    exact_mean = float(exact.marginals(fg)[:, 1].mean() * 2 - 1)
    rows = []
    for name, fn in (("parallel tempering", run_pt), ("plain Gibbs", run_gibbs)):
        r = measure(fn, fg)
        rows.append(
            f"| {name} | {r['seconds']:.2f} | {r['ess']:.0f} | {r['ess'] / r['seconds']:.0f} | "
            f"{r['mean']:+.3f} | {', '.join(f'{c:+.2f}' for c in r['chain_means'])} |"
        )
        if r["acc"] is not None:
            acc = ", ".join(f"{a:.2f}" for a in r["acc"])
    sweeps = N_TEMPS * (BURN_IN + N_SAMPLES)
    text = f"""# Parallel tempering vs plain Gibbs (bimodal model)

Written by `benchmarks/bench_tempering.py`.

## Machine

{machine_markdown()}

## Setup

8 spins, complete graph, J = {J}, h = {H}; {N_CHAINS} chains from random starts, each
{sweeps} sweeps' worth of site updates (PT: {N_TEMPS} geometric temperatures from
beta = {BETA_MIN}; Gibbs: {N_TEMPS}x the sweeps, thinned by {N_TEMPS}); {N_SAMPLES} kept
draws per chain. Statistic: magnetisation at beta = 1; exact mean {exact_mean:+.3f}.

| sampler | seconds (best of 3) | ESS | ESS / s | estimated mean | per-chain means |
|---|---|---|---|---|---|
{chr(10).join(rows)}

PT swap acceptance per adjacent pair (last run): {acc}.
"""
    publish(text, Path(__file__).resolve().parent.parent / "docs" / "benchmarks" / "tempering.md")


if __name__ == "__main__":
    main()
