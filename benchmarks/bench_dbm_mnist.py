"""Two-layer DBM on binarised MNIST: train, estimate log Z by AIS, report the test bound.

Salakhutdinov & Hinton (AISTATS 2009) report about -84.62 nats (variational
lower bound with AIS log Z) for a 500-1000 DBM. This script trains
``pgm.models.DBM`` (greedy pretraining, then joint training epoch by epoch,
checkpointed after every epoch so a killed run resumes with ``--resume``; the
fantasy particles restart on resume), estimates log Z by AIS from the
training base rate, and writes ``docs/results/dbm_mnist.json`` with
``test_log_likelihood_bound``, ``log_z``, ``log_z_band``, ``train_minutes``,
``epochs``.

Usage::

    PYTHONPATH=. python benchmarks/bench_dbm_mnist.py --epochs 300   # the full run (hours)
    python benchmarks/bench_dbm_mnist.py --hidden 20 20 --epochs 1 --n-train 500 \\
        --betas 100 --chains 10 --output /tmp/dbm.json             # smoke run
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from pgm.datasets.mnist import load_binarized_mnist
from pgm.layered.ais import log_partition
from pgm.models import DBM


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, nargs="+", default=[500, 1000])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--pretrain-epochs", type=int, default=100)
    parser.add_argument("--n-train", type=int, default=None)
    parser.add_argument("--betas", type=int, default=20_001)
    parser.add_argument("--chains", type=int, default=100)
    parser.add_argument("--checkpoint", default="dbm_mnist_checkpoint.npz")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--output", default="docs/results/dbm_mnist.json")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    X = load_binarized_mnist(split="train")
    X_test = load_binarized_mnist(split="test")
    if args.n_train is not None:
        X, X_test = X[: args.n_train], X_test[: args.n_train]
    rng = np.random.default_rng(args.seed)
    ckpt = Path(args.checkpoint)
    start_epoch = 0
    t0 = time.perf_counter()
    params = dict(hidden_layer_sizes=tuple(args.hidden), random_state=args.seed)
    if args.resume and ckpt.exists():
        dbm = DBM.load(ckpt)
        start_epoch = int(np.load(ckpt.with_suffix(".epoch.npy")))
        dbm.set_params(**params)
    else:
        dbm = DBM(n_iter=0, n_pretrain_iter=args.pretrain_epochs, **params).fit(X)
    base_lr = dbm.learning_rate
    for epoch in range(start_epoch, args.epochs):
        dbm.set_params(learning_rate=base_lr / (1.0 + epoch / 10.0), n_iter=1)
        dbm._joint(dbm._core, X, rng)
        dbm.save(ckpt)
        np.save(ckpt.with_suffix(".epoch.npy"), np.int64(epoch + 1))
    minutes = (time.perf_counter() - t0) / 60.0
    result = log_partition(
        dbm._core, n_chains=args.chains, betas=args.betas, base_rate=X, seed=args.seed
    )
    bound = dbm.log_likelihood_lower_bound(X_test, log_z=result.log_z)
    out = {
        "test_log_likelihood_bound": bound,
        "log_z": result.log_z,
        "log_z_band": [x if np.isfinite(x) else None for x in result.log_z_interval],
        "effective_sample_size": result.effective_sample_size,
        "train_minutes": minutes,
        "epochs": args.epochs,
        "hidden_layer_sizes": args.hidden,
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
