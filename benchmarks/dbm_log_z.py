"""AIS log Z of a DBM checkpoint at a chosen number of temperatures, base and seed.

A convergence check for ``bench_dbm_mnist.py``'s records: an AIS estimate of
log Z can be trusted only once it stops moving as the number of temperatures
grows and agrees across seeds. This script loads a checkpoint written by
``bench_dbm_mnist.py`` (or ``DBM.save``), runs
``pgm.layered.ais.log_partition`` with the training images as base rate, and
prints log Z, the effective sample size, the log-weight spread and the
mean-field test bound that log Z gives. The records' notes quote its output.
With ``--importance K [K ...]`` it also reports the importance-weighted test bound
(``LayeredModel.importance_bound``: the even hidden layers drawn ``K`` times
from their mean-field factors, the odd ones summed out exactly), a tighter
lower bound on the same model's log-likelihood; ``--log-z`` takes a log Z
already estimated (a record's) instead of running AIS.

Usage::

    python benchmarks/dbm_log_z.py ckpt.npz --betas 60000 --seed 1
    python benchmarks/dbm_log_z.py ckpt.npz --betas 20000 --base-hidden uniform
    python benchmarks/dbm_log_z.py ckpt.npz --log-z 1110.58 --importance 100
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

from pgm.datasets.mnist import load_binarized_mnist
from pgm.layered.ais import log_partition
from pgm.layered.model import LayeredModel


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--betas", type=int, default=20_000)
    parser.add_argument("--chains", type=int, default=100)
    parser.add_argument("--base-hidden", choices=("mean_field", "uniform"), default="mean_field")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-train", type=int, default=None, help="first rows of the base rate")
    parser.add_argument("--n-test", type=int, default=None, help="first test rows of the bound")
    parser.add_argument(
        "--importance",
        type=int,
        nargs="+",
        default=None,
        metavar="K",
        help="also the importance bound with K draws per image (several K: each)",
    )
    parser.add_argument("--log-z", type=float, default=None, help="use this log Z, skip AIS")
    parser.add_argument(
        "--split",
        choices=("test", "valid"),
        default="test",
        help="the images of the bounds (valid: for choices made before the test)",
    )
    args = parser.parse_args(argv)
    weights, biases, data = LayeredModel.load_arrays(args.checkpoint, class_name="DBM")
    model = LayeredModel(weights, biases)
    X = load_binarized_mnist(split="train")[: args.n_train]
    X_test = load_binarized_mnist(split=args.split)[: args.n_test]
    out = {"checkpoint_epoch": int(data["epoch"]) if "epoch" in data else None, "split": args.split}
    if args.log_z is None:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the ESS is printed instead
            result = log_partition(
                model,
                n_chains=args.chains,
                betas=args.betas,
                base_rate=X,
                base_hidden=args.base_hidden,
                seed=args.seed,
            )
        log_z = result.log_z
        out.update(
            n_betas=args.betas,
            n_chains=args.chains,
            base_hidden=args.base_hidden,
            seed=args.seed,
            log_z=log_z,
            effective_sample_size=result.effective_sample_size,
            log_weight_spread=float(result.log_weights.max() - result.log_weights.min()),
            ais_seconds=time.perf_counter() - t0,
        )
    else:
        log_z = args.log_z
        out.update(log_z=log_z, log_z_given=True)
    mu, _, _ = model.mean_field(X_test, max_iter=100)
    out[f"{args.split}_log_likelihood_bound"] = float(np.mean(model.mean_field_bound(mu))) - log_z
    for k in args.importance or ():
        t0 = time.perf_counter()
        rows = model.importance_bound(mu, k, np.random.default_rng([args.seed, k]))
        out[f"{args.split}_log_likelihood_importance_bound_k{k}"] = float(np.mean(rows)) - log_z
        out[f"importance_seconds_k{k}"] = time.perf_counter() - t0
    print(json.dumps(out, indent=2), flush=True)
    return out


if __name__ == "__main__":
    main()
