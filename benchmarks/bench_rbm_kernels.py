"""RBM kernel micro-benchmarks: the vectorised logistic and sparse vs BLAS products.

1. Logistic of 10^5 float64 values: ``pgm.layered._kernels.sigmoid_into``
   against the same loop on libm's ``exp`` (compiled by Numba) and against
   ``scipy.special.expit``.
2. Hidden probabilities of a 200-row minibatch at MNIST shape (784 visible,
   500 hidden), visible rows of a given density: the sparse path's
   ``striped_logistic`` (one parameter row per non-zero) against a BLAS
   product followed by the dense logistic kernel. This is the trade-off that
   sets ``pgm.models.rbm.AUTO_SPARSE_MAX_DENSITY``.

Median of repeated calls after warm-up, in one process.
Usage: ``python benchmarks/bench_rbm_kernels.py``; writes
``docs/benchmarks/rbm_kernels.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numba
import numpy as np
from numba import njit
from scipy.special import expit

from pgm.layered import _kernels as kernels

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_model, publish  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@njit(cache=True)
def libm_sigmoid(x, out):
    for j in range(x.shape[0]):
        out[j] = 1.0 / (1.0 + np.exp(-x[j]))


def median_time(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def sigmoid_rows(repeat):
    x = np.random.default_rng(0).normal(scale=5.0, size=100_000)
    out, work = np.empty_like(x), np.empty_like(x)
    per = 1e9 / x.size
    rows = [
        (
            "`sigmoid_into` (vectorised, pgm)",
            median_time(lambda: kernels.sigmoid_into(x, out, work), repeat),
        ),
        ("Numba loop on libm `exp`", median_time(lambda: libm_sigmoid(x, out), repeat)),
        ("`scipy.special.expit`", median_time(lambda: expit(x, out=out), repeat)),
    ]
    return [f"| {name} | {t * per:.2f} |" for name, t in rows]


def product_rows(repeat, densities):
    rng = np.random.default_rng(1)
    n_rows, n_visible, n_hidden = 200, 784, 500
    theta = 0.01 * rng.standard_normal((n_visible + 1, n_hidden + 1))
    bounds = kernels.stripe_bounds(n_hidden, numba.get_num_threads())
    prob = np.empty((n_rows, n_hidden + 1))
    none = np.empty((0, 0))
    act = np.empty((n_rows, n_hidden + 1))
    lines = []
    for density in densities:
        X = (rng.random((n_rows, n_visible)) < density).astype(np.float64)
        xs = np.hstack([X, np.ones((n_rows, 1))])
        idx = np.zeros((n_rows, n_visible + 1), np.int64)
        val = np.zeros((n_rows, n_visible + 1))
        cnt = np.zeros(n_rows, np.int64)
        kernels.gather_sparse_rows(X, np.arange(n_rows), idx, val, cnt)

        def sparse(idx=idx, val=val, cnt=cnt):
            kernels.striped_logistic(idx, val, cnt, theta, bounds, 1.0, 0, False, prob, none)

        def dense(xs=xs):
            np.matmul(xs, theta, out=act)
            kernels.sample_bernoulli(act[:, :n_hidden], 1.0, 0, False, act[:, :n_hidden], none)

        t_sparse, t_dense = median_time(sparse, repeat), median_time(dense, repeat)
        lines.append(
            f"| {density:.2f} | {1e3 * t_sparse:.2f} | {1e3 * t_dense:.2f} | "
            f"{t_dense / t_sparse:.2f}x |"
        )
    return lines


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "rbm_kernels.md"))
    args = parser.parse_args(argv)
    cpu = cpu_model()
    text = "\n".join(
        [
            "## RBM kernels: logistic and sparse vs BLAS products",
            "",
            "Written by `benchmarks/bench_rbm_kernels.py` (medians of "
            f"{args.repeat} calls after warm-up, one process). Machine: {cpu}, "
            f"{os.cpu_count()} cores, {numba.get_num_threads()} Numba threads; Python "
            f"{platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}.",
            "",
            "### Logistic of 10^5 float64 values",
            "",
            "| implementation | ns per value |",
            "|---|---:|",
            *sigmoid_rows(args.repeat),
            "",
            "### Hidden probabilities of 200 visible rows (784 -> 500)",
            "",
            "Sparse: `striped_logistic` on the rows' non-zero lists. Dense: BLAS "
            "`x @ theta` plus the logistic kernel the dense path dispatches to "
            "(serial at this size).",
            "",
            "| visible density | sparse (ms) | BLAS + logistic (ms) | sparse speed-up |",
            "|---:|---:|---:|---:|",
            *product_rows(args.repeat, (0.05, 0.13, 0.25, 0.5)),
            "",
        ]
    )
    return publish(text, args.out)


if __name__ == "__main__":
    main()
