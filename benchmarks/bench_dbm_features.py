"""MNIST classification with DBM mean-field features and logistic regression.

Salakhutdinov & Hinton (2009) report 0.95% test error for a 784-500-1000 DBM
whose mean-field posteriors initialise a neural network that is then
fine-tuned discriminatively. Ours is simpler and stated as such: the DBM is
frozen, its mean-field posteriors ``q(h1), q(h2)`` given the grey-level
image (``DBM.transform``, pixel / 255 as the visible input) are concatenated
and fed to a multinomial ``sklearn.linear_model.LogisticRegression``, trained
on the first ``n_train`` MNIST training images and tested on all 10,000 test
images. The same classifier on raw pixels is the baseline.

With ``--finetune E`` it also runs the paper's method: ``DBM.to_classifier``
initialises a network on the augmented input ``[v, q(h2)]`` (first layer
``[W0; W1^T]``, then ``W1``), a softmax layer is added, and every weight is
fine-tuned by backpropagation (conjugate gradients on minibatches of 1,000,
three line searches each, or with ``--finetune-optimizer sgd`` momentum SGD
on minibatches of 100 with a linearly decaying rate; the first ``E // 5``
epochs (at most 5) on the softmax layer only, as ``bench_dbn_mnist.py`` does
for the DBN).

Usage (on a checkpoint written by ``bench_dbm_mnist.py``)::

    python benchmarks/bench_dbm_features.py --checkpoint ckpt.npz --n-train 20000 [--finetune 10]

Several runs (one per seed, each with ``--output``) are summarised, mean and
standard deviation per classifier, by::

    python benchmarks/bench_dbm_features.py --summarise s0.json s1.json s2.json --report MD
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from pgm.datasets.mnist import load_mnist


def _mnist(n_train, n_test, seed):
    """``n_train`` random MNIST training images (all if None), the first ``n_test`` test ones."""
    X, y = load_mnist(split="train")
    X_test, y_test = load_mnist(split="test")
    if n_train is not None:
        order = np.random.default_rng(seed).permutation(X.shape[0])[:n_train]
        X, y = X[order], y[order]
    if n_test is not None:
        X_test, y_test = X_test[:n_test], y_test[:n_test]
    return X, y, X_test, y_test


def classify(dbm, *, n_train=20_000, n_test=None, seed=0, C=1.0, max_iter=300):
    """Test error (percent) of logistic regression on DBM features and on pixels."""
    X, y, X_test, y_test = _mnist(n_train, n_test, seed)
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
    method = (
        "frozen DBM, mean-field posteriors q(h1), q(h2) of the grey-level image "
        f"(pixel / 255) concatenated, multinomial LogisticRegression(C={C}, lbfgs, "
        f"max_iter={max_iter}) on {len(y)} random MNIST training images, tested on "
        f"{len(y_test)} test images; no fine-tuning"
    )
    out = _result(method, y, y_test, err, feature_s, fit_s)
    out["pixel_test_error_percent"] = pixel_err
    return out


def finetune(
    dbm, *, n_epochs, n_train=None, n_test=None, seed=0, optimizer="cg", learning_rate=0.1,
    dtype="float64", verbose=False,
):  # fmt: skip
    """Test error (percent) of the network initialised from the DBM and fine-tuned (S&H 2009)."""
    X, y, X_test, y_test = _mnist(n_train, n_test, seed)
    t0 = time.perf_counter()
    A, A_test = dbm.classifier_input(X), dbm.classifier_input(X_test)
    feature_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    if optimizer == "cg":
        options = dict(batch_size=1000, max_iter=3, dtype=np.dtype(dtype).type)
        how = f"conjugate gradients, minibatches of 1000, 3 line searches, {dtype}"
    else:
        options = dict(
            batch_size=100, learning_rate=learning_rate, momentum=0.9,
            learning_rate_schedule="linear", dtype=np.float32,
        )  # fmt: skip
        how = (
            f"momentum SGD (0.9), minibatches of 100, rate {learning_rate} decaying linearly "
            "to a tenth, float32"
        )
    clf = dbm.to_classifier(
        n_classes=10, optimizer=optimizer, n_epochs=n_epochs,
        output_only_epochs=min(5, n_epochs // 5), random_state=seed, verbose=verbose, **options,
    ).fit(A, y)  # fmt: skip
    fit_s = time.perf_counter() - t0
    err = 100.0 * float(np.mean(clf.predict(A_test) != y_test))
    method = (
        "network initialised from the DBM (DBM.to_classifier: input [v, q(h2)], first layer "
        "[W0; W1^T], then W1, a random softmax layer), fine-tuned by backpropagation: "
        f"{how}, {n_epochs} epochs "
        f"(the first {min(5, n_epochs // 5)} on the softmax layer only), on {len(y)} MNIST "
        f"training images (pixel / 255), tested on {len(y_test)} test images"
    )
    return _result(method, y, y_test, err, feature_s, fit_s)


def _result(method, y, y_test, err, feature_s, fit_s):
    """One classifier's record: how, on how many images, the test error and the times."""
    return {
        "method": method,
        "n_train": int(len(y)),
        "n_test": int(len(y_test)),
        "test_error_percent": err,
        "feature_seconds": feature_s,
        "fit_seconds": fit_s,
    }


def main(argv=None):
    from pgm.models import DBM

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None, help="required unless --summarise")
    parser.add_argument(
        "--summarise", nargs="+", default=None, metavar="JSON",
        help="only summarise the --output files of runs with different seeds (needs --report)",
    )  # fmt: skip
    parser.add_argument("--finetune-optimizer", choices=("cg", "sgd"), default="cg")
    parser.add_argument("--finetune-lr", type=float, default=0.1)
    parser.add_argument(
        "--finetune-dtype", choices=("float32", "float64"), default="float64",
        help="the conjugate-gradient network's dtype (SGD always uses float32)",
    )  # fmt: skip
    parser.add_argument("--n-train", type=int, default=20_000)
    parser.add_argument("--n-test", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--finetune", type=int, default=0, metavar="EPOCHS",
        help="also fine-tune the network initialised from the DBM for EPOCHS epochs "
        "(on --finetune-train images; default all 60,000)",
    )  # fmt: skip
    parser.add_argument("--finetune-train", type=int, default=None)
    parser.add_argument("--output", default=None, help="also write the results to this JSON")
    parser.add_argument(
        "--report", default=None, metavar="MD",
        help="also write a markdown section (e.g. docs/benchmarks/dbm_finetune.md)",
    )  # fmt: skip
    parser.add_argument("--note", default="", help="how the DBM was trained, for the report")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.summarise is not None:
        if args.report is None:
            parser.error("--summarise needs --report")
        return write_summary(args.report, args.summarise, args.note)
    if args.checkpoint is None:
        parser.error("--checkpoint is required")
    args.commit = _commit()  # before the run: the code that computes the numbers
    dbm = DBM.load(args.checkpoint)
    result = {"features": classify(dbm, n_train=args.n_train, n_test=args.n_test, seed=args.seed)}
    print(json.dumps(result, indent=2), flush=True)
    if args.finetune:
        result["finetuned"] = finetune(
            dbm, n_epochs=args.finetune, n_train=args.finetune_train, n_test=args.n_test,
            seed=args.seed, optimizer=args.finetune_optimizer, learning_rate=args.finetune_lr,
            dtype=args.finetune_dtype, verbose=args.verbose,
        )  # fmt: skip
        print(json.dumps(result["finetuned"], indent=2), flush=True)
    result["command"] = "python benchmarks/bench_dbm_features.py " + shlex.join(sys.argv[1:])
    result["commit"] = args.commit
    if args.output:
        with open(args.output, "w") as f:
            f.write(json.dumps(result, indent=2) + "\n")
    if args.report:
        write_report(args.report, result, args)


def _commit():
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import git_commit

    return git_commit()


def _rows(result):
    """(name, record) per classifier of one run's results."""
    rows = [("DBM mean-field features + logistic regression", result["features"])]
    rows.append(("raw pixels + logistic regression", {
        **result["features"], "test_error_percent": result["features"]["pixel_test_error_percent"]
    }))  # fmt: skip
    if "finetuned" in result:
        rows.append(("network initialised from the DBM, fine-tuned", result["finetuned"]))
    return rows


def write_summary(path, files, note):
    """A markdown section with mean ± sd over the runs in ``files`` (one per seed)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import machine_markdown

    runs = [json.loads(Path(f).read_text()) for f in files]
    per_run = [_rows(r) for r in runs]
    lines = [
        "## MNIST classification from a DBM (features and fine-tuning)\n",
        f"{len(runs)} runs, one DBM and one classifier seed each, written by "
        f"`benchmarks/bench_dbm_features.py --summarise`. {note}\n",
        "| classifier | training images | test images | test error, mean ± sd | per run | anchor |",
        "|---|---:|---:|---:|---|---|",
    ]
    for i, (name, first) in enumerate(per_run[0]):
        errs = [rows[i][1]["test_error_percent"] for rows in per_run]
        anchor = "0.95% (S&H 2009, fine-tuned)" if "fine-tuned" in name else ""
        lines.append(
            f"| {name} | {first['n_train']:,} | {first['n_test']:,} | "
            f"**{np.mean(errs):.2f}% ± {np.std(errs, ddof=1):.2f}%** | "
            f"{', '.join(f'{e:.2f}%' for e in errs)} | {anchor} |"
        )
    lines.append("")
    for name, r in per_run[0][:1] + per_run[0][2:]:
        lines.append(f"- {name}: {r['method']}.")
    lines.append("\nRuns:\n")
    for r in runs:
        lines.append(f"- `{r.get('command', '?')}` at commit {r.get('commit', '?')}")
    lines.append("\n" + machine_markdown())
    Path(path).write_text("\n".join(lines) + "\n")
    print(f"wrote {path}")


def write_report(path, result, args):
    """A markdown section with the machine, the command and each method's test error."""
    from _common import machine_markdown

    rows = _rows(result)
    lines = [
        "## MNIST classification from a DBM (features and fine-tuning)\n",
        f"Written by `benchmarks/bench_dbm_features.py` at commit {args.commit}: "
        f"`python benchmarks/bench_dbm_features.py {shlex.join(sys.argv[1:])}`. {args.note}\n",
        "| classifier | training images | test images | test error | anchor |",
        "|---|---:|---:|---:|---|",
    ]
    for name, r in rows:
        anchor = "0.95% (S&H 2009, fine-tuned)" if "fine-tuned" in name else ""
        lines.append(
            f"| {name} | {r['n_train']:,} | {r['n_test']:,} | **{r['test_error_percent']:.2f}%** "
            f"| {anchor} |"
        )
    lines.append("")
    for name, r in rows[:1] + rows[2:]:
        lines.append(f"- {name}: {r['method']}; {r['fit_seconds'] / 60:.1f} min to fit.")
    lines.append("\n" + machine_markdown())
    Path(path).write_text("\n".join(lines) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
