"""RBM features for classification on scikit-learn's digits: pgm vs scikit-learn.

Setup: the 1797 8x8 digits of ``sklearn.datasets.load_digits`` scaled to
[0, 1] (pixel / 16, used as Bernoulli probabilities by both RBMs). Each RBM
(100 hidden units, 20 epochs, otherwise its library's defaults) feeds its
hidden probabilities to ``LogisticRegression(max_iter=2000)`` in one
``Pipeline``; logistic regression on the raw pixels is the baseline. Scores
are the accuracy on a stratified 80/20 holdout split (mean and range over
``--seeds`` RBM seeds) and the mean accuracy of stratified, shuffled 5-fold
cross-validation (RBM seed 0). pgm also runs with its former defaults
(``batch_size=100``), which make ten times fewer updates per epoch.

Usage: ``python benchmarks/bench_rbm_digits.py [--seeds 3]`` with this
checkout's ``pgm`` importable (installed, or ``PYTHONPATH=.``). Prints a
markdown report and writes it to ``docs/benchmarks/rbm_digits.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.neural_network import BernoulliRBM
from sklearn.pipeline import Pipeline

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, write_report  # noqa: E402

N_HIDDEN = 100
N_EPOCHS = 20


def contenders():
    """(label, factory(seed) -> transformer or None for raw pixels)."""
    from pgm.models import RBM

    return [
        (
            "pgm RBM, defaults (batch 10, lr 0.05, momentum 0.5, PCD-1)",
            lambda seed: RBM(n_hidden=N_HIDDEN, n_epochs=N_EPOCHS, random_state=seed),
        ),
        (
            "pgm RBM, former defaults (batch 100)",
            lambda seed: RBM(
                n_hidden=N_HIDDEN, n_epochs=N_EPOCHS, batch_size=100, random_state=seed
            ),
        ),
        (
            "scikit-learn BernoulliRBM, defaults (batch 10, lr 0.1, PCD-1)",
            lambda seed: BernoulliRBM(n_components=N_HIDDEN, n_iter=N_EPOCHS, random_state=seed),
        ),
        ("LogisticRegression on raw pixels", None),
    ]


def pipeline(factory, seed):
    classifier = ("classifier", LogisticRegression(max_iter=2000))
    if factory is None:
        return Pipeline([classifier])
    return Pipeline([("rbm", factory(seed)), classifier])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="RBM seeds for the holdout score")
    args = parser.parse_args()
    info = machine_info()
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=0
    )
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    rows = []
    for label, factory in contenders():
        seeds = range(args.seeds) if factory is not None else [0]
        holdout, times = [], []
        for seed in seeds:
            model = pipeline(factory, seed)
            start = time.perf_counter()
            model.fit(X_train, y_train)
            times.append(time.perf_counter() - start)
            holdout.append(model.score(X_test, y_test))
        cv = cross_val_score(pipeline(factory, 0), X, y, cv=folds)
        rows.append((label, holdout, cv, float(np.median(times))))
        print(f"{label}: holdout {np.mean(holdout):.3f}, 5-fold {cv.mean():.3f}", flush=True)

    lines = [
        "Produced by `benchmarks/bench_rbm_digits.py` (one process run).",
        "",
        f"- Data: scikit-learn digits, {X.shape[0]} x {X.shape[1]}, pixels / 16 in [0, 1]",
        f"- Each RBM: {N_HIDDEN} hidden units, {N_EPOCHS} epochs, its library's other defaults; "
        "its hidden probabilities feed `LogisticRegression(max_iter=2000)` in one `Pipeline`",
        f"- Holdout: stratified 80/20 split (random_state=0), mean [min, max] over "
        f"{args.seeds} RBM seeds; 5-fold: `StratifiedKFold(5, shuffle=True, random_state=0)`, "
        "RBM seed 0, mean [min, max] over the folds",
        "- Fit time: median pipeline fit on the holdout training split, the logistic regression "
        "included (it needs many more iterations on weaker features); the machine is shared, "
        "times are indicative",
        "",
        "| features | holdout accuracy | 5-fold accuracy | fit time (s) |",
        "|---|---:|---:|---:|",
    ]
    for label, holdout, cv, seconds in rows:
        lines.append(
            f"| {label} | {np.mean(holdout):.3f} [{min(holdout):.3f}, {max(holdout):.3f}] | "
            f"{cv.mean():.3f} [{cv.min():.3f}, {cv.max():.3f}] | {seconds:.1f} |"
        )
    path = write_report("rbm_digits", "RBM features on scikit-learn digits", "\n".join(lines), info)
    print(path.read_text())


if __name__ == "__main__":
    main()
