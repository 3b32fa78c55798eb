"""The ``pgm`` command.

Subcommands
-----------
``pgm train-rbm``
    Train a binary RBM on scikit-learn's bundled 8 x 8 digits (default, no
    download, a few seconds) or on MNIST (``--data mnist``), save the model
    and figures, and print train and held-out log-likelihoods.

Examples
--------
``pgm train-rbm --n-hidden 16 --n-epochs 30 --out runs/digits``
``pgm train-rbm --data mnist --data-dir ~/data --n-hidden 500 --n-epochs 10``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["main", "build_parser"]

#: Held-out fraction of the digits data (MNIST has its own test split).
_DIGITS_TEST_FRACTION = 0.2


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (np.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def _unit_interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``pgm`` command (one sub-parser per subcommand)."""
    parser = argparse.ArgumentParser(
        prog="pgm",
        description="Energy-based undirected graphical models: training and inference tools.",
    )
    from pgm import __version__

    parser.add_argument("--version", action="version", version=f"pgm {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    train = sub.add_parser(
        "train-rbm",
        help="train a binary RBM on digits or MNIST and save model and figures",
        description=(
            "Train a binary restricted Boltzmann machine with PCD or CD-k. By default it "
            "uses scikit-learn's bundled 8x8 digits (binarised; 20% held out) and "
            "finishes in seconds with an exact log-likelihood; --data mnist uses MNIST "
            "(thresholded at 0.5) and AIS when the hidden layer is large. Writes "
            "rbm.npz, samples.png, filters.png and training_curve.png into --out."
        ),
    )
    train.add_argument(
        "--data", choices=("digits", "mnist"), default="digits", help="dataset (default: digits)"
    )
    train.add_argument(
        "--data-dir",
        default=None,
        help="folder holding MNIST (or its mnist/ subfolder); default: PGM_DATA_DIR, cache",
    )
    train.add_argument(
        "--n-hidden", type=_positive_int, default=16, help="hidden units (default: 16)"
    )
    train.add_argument(
        "--n-epochs", type=_positive_int, default=30, help="training epochs (default: 30)"
    )
    train.add_argument(
        "--batch-size", type=_positive_int, default=20, help="minibatch size (default: 20)"
    )
    train.add_argument(
        "--learning-rate",
        type=_positive_float,
        default=0.05,
        help="base learning rate (default: 0.05)",
    )
    train.add_argument(
        "--method", choices=("pcd", "cd"), default="pcd", help="training method (default: pcd)"
    )
    train.add_argument("--k", type=_positive_int, default=1, help="Gibbs steps per update")
    train.add_argument(
        "--momentum", type=_unit_interval, default=0.5, help="momentum in [0, 1) (default: 0.5)"
    )
    train.add_argument(
        "--weight-decay",
        type=float,
        default=1e-4,
        help="L2 weight decay (default: 1e-4)",
    )
    train.add_argument(
        "--float32", action="store_true", help="train in float32 (faster on large data)"
    )
    train.add_argument("--seed", type=_non_negative_int, default=0, help="random seed (default: 0)")
    train.add_argument("--out", default="pgm-output", help="output folder (default: ./pgm-output)")
    train.add_argument(
        "--n-samples", type=_positive_int, default=64, help="Gibbs samples to draw for the figure"
    )
    train.add_argument(
        "--n-gibbs", type=_positive_int, default=1000, help="Gibbs sweeps per sample"
    )
    train.add_argument(
        "--ais-chains", type=_positive_int, default=100, help="AIS runs when log Z is not exact"
    )
    train.add_argument("--ais-betas", type=_positive_int, default=10000, help="AIS temperatures")
    train.add_argument(
        "--max-examples",
        type=_positive_int,
        default=None,
        help="train on at most this many examples (a random subset; default: all)",
    )
    train.add_argument(
        "--no-loglik",
        action="store_true",
        help="skip the log-likelihood (no exact log Z, no AIS): fastest",
    )
    train.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    train.set_defaults(handler=_train_rbm)
    return parser


def _load_data(args):
    """``(X_train, X_test, image_shape)`` with values in {0, 1}."""
    from pgm import datasets

    if args.data == "digits":
        X, _ = datasets.load_digits(binarize=True)
        rng = np.random.default_rng(args.seed)
        order = rng.permutation(X.shape[0])
        n_test = int(round(_DIGITS_TEST_FRACTION * X.shape[0]))
        return X[order[n_test:]], X[order[:n_test]], (8, 8)
    try:
        X_train, _ = datasets.load_mnist(args.data_dir, split="train", binarize="threshold")
        X_test, _ = datasets.load_mnist(args.data_dir, split="test", binarize="threshold")
    except FileNotFoundError:
        where = f" in {args.data_dir}" if args.data_dir is not None else ""
        raise _RunError(
            f"MNIST files not found{where}: pass --data-dir DIR (the folder holding "
            "train-images-idx3-ubyte.gz and the other three files, or its mnist/ subfolder) "
            "or set PGM_DATA_DIR"
        ) from None
    return X_train, X_test, (28, 28)


def _subset(X, max_examples, seed):
    """At most ``max_examples`` rows of ``X``, a random subset in random order."""
    if max_examples is None or max_examples >= X.shape[0]:
        return X
    rng = np.random.default_rng([seed, 1])
    return X[np.sort(rng.choice(X.shape[0], size=max_examples, replace=False))]


def _check_memory(n_visible, n_hidden, batch_size, n_samples, n_rows, itemsize):
    """Refuse sizes whose main arrays cannot fit in this machine's memory."""
    # Weights, their gradient and their velocity; chains and batch statistics.
    need = itemsize * (
        3 * n_visible * n_hidden
        + 4 * (n_visible + n_hidden) * max(batch_size, n_samples)
        + n_rows * n_hidden
    )
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not available on this platform
        return
    if need > total:
        raise _RunError(
            f"these sizes need about {need / 2**30:.1f} GiB, more than this machine's "
            f"{total / 2**30:.1f} GiB: reduce --n-hidden, --batch-size, --n-samples "
            "or --max-examples"
        )


def _note_first_compile():
    """Say once, on stderr, that the first run compiles the Numba kernels."""
    cache = os.environ.get("NUMBA_CACHE_DIR")
    if not cache:
        return
    cache = Path(cache)
    if cache.is_dir() and any(cache.iterdir()):
        return
    print(
        f"pgm: first run: compiling the Numba kernels (about 10-20 s); they are cached in "
        f"{cache} for later runs (set NUMBA_CACHE_DIR to choose another folder)",
        file=sys.stderr,
    )


def _train_rbm(args) -> int:
    from pgm import plotting
    from pgm.models import RBM
    from pgm.models.rbm import EXACT_AUTO_MAX_UNITS

    if args.weight_decay < 0 or not np.isfinite(args.weight_decay):
        raise _UsageError(f"--weight-decay must be a non-negative number, got {args.weight_decay}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise _RunError(f"--out {args.out} exists and is not a folder")
    X_train, X_test, image_shape = _load_data(args)
    X_train = _subset(X_train, args.max_examples, args.seed)
    dtype = np.float32 if args.float32 else np.float64
    n_visible = X_train.shape[1]
    _check_memory(
        n_visible,
        args.n_hidden,
        args.batch_size,
        args.n_samples,
        X_train.shape[0] + X_test.shape[0],
        np.dtype(dtype).itemsize,
    )
    exact = min(n_visible, args.n_hidden) <= EXACT_AUTO_MAX_UNITS
    if args.no_loglik or not exact:
        monitor = ("reconstruction_error",)
    else:
        monitor = ("reconstruction_error", "log_likelihood")
    _note_first_compile()
    print(
        f"training RBM: {args.data} {X_train.shape[0]} x {n_visible} (held out "
        f"{X_test.shape[0]}), n_hidden={args.n_hidden}, {args.method.upper()}-{args.k}, "
        f"{args.n_epochs} epochs, batch {args.batch_size}, lr {args.learning_rate}"
    )
    rbm = RBM(
        n_hidden=args.n_hidden,
        method=args.method,
        k=args.k,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        n_epochs=args.n_epochs,
        momentum=args.momentum,
        weight_decay=args.weight_decay,
        dtype=dtype,
        monitor=monitor,
        random_state=args.seed,
        verbose=not args.no_progress,
    )
    start = time.perf_counter()
    rbm.fit(X_train.astype(dtype, copy=False))
    elapsed = time.perf_counter() - start
    print(f"trained in {elapsed:.1f} s")

    out.mkdir(parents=True, exist_ok=True)
    rbm.save(out / "rbm.npz")
    samples = rbm.sample(args.n_samples, n_gibbs=args.n_gibbs, seed=args.seed, return_mean=True)
    plotting.plot_samples(samples, image_shape, path=out / "samples.png", title="Gibbs samples")
    plotting.plot_filters(rbm.weights_, image_shape, path=out / "filters.png", title="filters")
    plotting.plot_training_curve(rbm.history_, panels=True, path=out / "training_curve.png")

    if args.no_loglik:
        print(f"wrote {out / 'rbm.npz'}, samples.png, filters.png, training_curve.png")
        return 0
    if exact:
        log_z = rbm.log_partition(method="exact")
        how = "exact"
    else:
        from pgm.inference import ais

        result = ais.log_partition(
            rbm,
            n_chains=args.ais_chains,
            betas=args.ais_betas,
            base_rate=X_train,
            seed=args.seed,
            verbose=not args.no_progress,
        )
        log_z = float(result.log_z)
        how = f"AIS, {args.ais_chains} runs, {args.ais_betas} betas, std {result.log_z_std:.3f}"
    train_ll = rbm.log_likelihood(X_train, log_z=log_z)
    test_ll = rbm.log_likelihood(X_test, log_z=log_z)
    print(f"log Z = {log_z:.4f} ({how})")
    print(f"mean log-likelihood: train {train_ll:.4f}, held-out {test_ll:.4f} nats per example")
    print(f"wrote {out / 'rbm.npz'}, samples.png, filters.png, training_curve.png")
    return 0


class _UsageError(Exception):
    """Bad argument combination found after parsing (reported like argparse errors)."""


class _RunError(Exception):
    """A problem with the inputs found while running (reported on one line, status 2)."""


def main(argv: list[str] | None = None) -> int:
    """Run the ``pgm`` command.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status (0 on success). Argument errors exit with status 2
        through argparse (``SystemExit``); problems with the inputs found while
        running (an ``--out`` that is a file, unreadable or corrupt data,
        missing MNIST, sizes that cannot fit in memory) print one line
        ``pgm: error: ...`` on stderr and return 2.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except _UsageError as exc:
        parser.error(str(exc))
    except _RunError as exc:
        return _fail(str(exc))
    except MemoryError:
        return _fail(
            "out of memory: reduce --n-hidden, --batch-size, --n-samples or --max-examples"
        )
    except (OSError, ValueError) as exc:  # unreadable or corrupt data, unwritable --out
        return _fail(str(exc))
    return 0  # pragma: no cover - parser.error exits


def _fail(message: str) -> int:
    first = " ".join(message.split())  # one line, whatever the message held
    print(f"pgm: error: {first}", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
