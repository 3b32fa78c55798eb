"""MNIST classification with DBM mean-field features and logistic regression.

Salakhutdinov & Hinton (2009) report 0.95% test error for a 784-500-1000 DBM
whose mean-field posteriors initialise a neural network that is then
fine-tuned discriminatively. Ours is simpler and stated as such: the DBM is
frozen, its mean-field posteriors ``q(h1), q(h2)`` given the grey-level
image (``DBM.transform``, pixel / 255 as the visible input) are concatenated
and fed to a multinomial ``sklearn.linear_model.LogisticRegression``, trained
on the first ``n_train`` MNIST training images and tested on all 10,000 test
images. The same classifier on raw pixels is the baseline.

Usage (on a checkpoint written by ``bench_dbm_mnist.py``)::

    python benchmarks/bench_dbm_features.py --checkpoint ckpt.npz --n-train 20000
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from sklearn.linear_model import LogisticRegression

from pgm.datasets.mnist import load_mnist


def classify(dbm, *, n_train=20_000, n_test=None, seed=0, C=1.0, max_iter=300):
    """Test error (percent) of logistic regression on DBM features and on pixels."""
    X, y = load_mnist(split="train")
    X_test, y_test = load_mnist(split="test")
    order = np.random.default_rng(seed).permutation(X.shape[0])[:n_train]
    X, y = X[order], y[order]
    if n_test is not None:
        X_test, y_test = X_test[:n_test], y_test[:n_test]
    t0 = time.perf_counter()
    F = dbm.transform(X)
    F_test = dbm.transform(X_test)
    feature_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    clf = LogisticRegression(C=C, max_iter=max_iter).fit(F, y)
    err = 100.0 * float(np.mean(clf.predict(F_test) != y_test))
    fit_s = time.perf_counter() - t0
    base = LogisticRegression(C=C, max_iter=max_iter).fit(X, y)
    pixel_err = 100.0 * float(np.mean(base.predict(X_test) != y_test))
    return {
        "method": (
            "frozen DBM, mean-field posteriors q(h1), q(h2) of the grey-level image "
            f"(pixel / 255) concatenated, multinomial LogisticRegression(C={C}, lbfgs, "
            f"max_iter={max_iter}) on {len(y)} random MNIST training images, tested on "
            f"{len(y_test)} test images; no fine-tuning"
        ),
        "n_train": int(len(y)),
        "n_test": int(len(y_test)),
        "test_error_percent": err,
        "pixel_test_error_percent": pixel_err,
        "feature_seconds": feature_s,
        "fit_seconds": fit_s,
    }


def main(argv=None):
    from pgm.models import DBM

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--n-train", type=int, default=20_000)
    parser.add_argument("--n-test", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    dbm = DBM.load(args.checkpoint)
    result = classify(dbm, n_train=args.n_train, n_test=args.n_test, seed=args.seed)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
