"""RBM test log-likelihood on binarised MNIST, estimated with AIS (the literature experiment).

Trains a binary RBM (500 hidden units by default) on the fixed binarisation of
MNIST (Salakhutdinov & Murray 2008; Larochelle & Murray 2011 release) with
PCD, CD-k or parallel tempering (``--method pt``), estimates log Z by annealed
importance sampling exactly as the anchor paper did (100 runs from the data
base-rate model, 14,500 annealing steps on the 0-0.5-0.9-1 schedule) and
reports the average test log-likelihood with log Z's +-3 sigma band, next to
the published anchors:

=========================  ==============  ==========================================
model (500 hidden units)   test log-lik.   source
=========================  ==============  ==========================================
RBM, CD-1                  -125.53 nats    Salakhutdinov & Murray, ICML 2008, table 2
RBM, CD-25                 -86.34 nats     Salakhutdinov & Murray, ICML 2008, table 2
=========================  ==============  ==========================================

Training data: the 50,000-image ``train`` split (``--train-on train+valid``
adds the 10,000 validation images, as the anchor's 60,000 did); evaluation:
the 10,000-image ``test`` split; the AIS base rate uses the training data.

Usage::

    python benchmarks/bench_rbm_mnist_loglik.py                      # PCD, the full run
    python benchmarks/bench_rbm_mnist_loglik.py --method cd --k 25
    python benchmarks/bench_rbm_mnist_loglik.py --quick              # smoke run, ~1 min
    python benchmarks/bench_rbm_mnist_loglik.py --method pt --n-temperatures 10

Writes ``docs/benchmarks/rbm_mnist_loglik.md`` (``--output`` to change; the
quick run writes nothing unless ``--output`` is given). The RBM comes from
``pgm.models.RBM``; ``--trainer fallback`` (or a missing ``pgm.models.RBM``)
uses the minimal PCD/CD loop in this file instead, and the table says so.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from scipy.special import expit

from pgm._random import as_generator
from pgm.inference import ais

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_model  # noqa: E402

ANCHORS = {"cd1": -125.53, "cd25": -86.34}
DOCS_OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks" / "rbm_mnist_loglik.md"


# --------------------------------------------------------------------------- data


def load_split(split: str, data_dir: Path | None) -> np.ndarray:
    """One split of binarised MNIST as float64 0/1, found by pgm.datasets.

    ``data_dir`` (``--data-dir``) first, then ``PGM_DATA_DIR``, then the user cache.
    """
    from pgm.datasets import load_binarized_mnist

    return load_binarized_mnist(data_dir, split=split)


# --------------------------------------------------------------------------- training


def train_with_pgm(X, args, log):
    """Fit ``pgm.models.RBM``; hyper-parameters it does not take are reported, not passed."""
    from pgm.models import RBM

    wanted = dict(
        visible="binary",
        method=args.method,
        k=args.k,
        **(
            dict(n_temperatures=args.n_temperatures, beta_min=args.beta_min)
            if args.method == "pt"
            else {}
        ),
        learning_rate=args.learning_rate,
        learning_rate_schedule=_schedule(args),
        batch_size=args.batch_size,
        n_epochs=args.epochs,
        momentum=args.momentum,
        weight_decay=args.weight_decay,
        random_state=args.seed,
        **({} if args.train_chains is None else dict(n_chains=args.train_chains)),
        dtype=np.float32 if args.float32 else np.float64,
        verbose=args.verbose,
    )
    accepted = inspect.signature(RBM).parameters
    kwargs = {k: v for k, v in wanted.items() if k in accepted}
    dropped = sorted(set(wanted) - set(kwargs))
    if dropped:
        log(f"pgm.models.RBM does not take {dropped}; they keep the RBM's defaults")
    model = RBM(args.n_hidden, **kwargs)
    start = time.perf_counter()
    model.fit(X)
    elapsed = time.perf_counter() - start
    if args.method == "pt":
        rates = ", ".join(f"{rate:.2f}" for rate in model.swap_acceptance_)
        log(f"PT ladder {np.round(model.betas_, 3).tolist()}; swap acceptance per pair: {rates}")
        args.swap_acceptance = model.swap_acceptance_.tolist()
    return model, elapsed, dropped


def _schedule(args):
    if args.final_learning_rate is None:
        return "constant"
    from pgm.learning.schedules import LinearDecay

    return LinearDecay(final_fraction=args.final_learning_rate / args.learning_rate)


def train_fallback(X, args, log):
    if args.method == "pt":
        raise SystemExit("--method pt needs pgm.models.RBM (the fallback loop has no tempering)")
    """FALLBACK ONLY: a minimal PCD-k / CD-k loop, used when pgm.models.RBM is unavailable.

    Mean-gradient updates on mini-batches with classical momentum (0.5 for the
    first 5 epochs, then ``--momentum``), L2 weight decay on the weights, a
    learning rate decaying linearly from ``--learning-rate`` to
    ``--final-learning-rate`` over the epochs, visible biases initialised to
    the data log-odds and weights to N(0, 0.01^2) (Hinton 2010, "A practical
    guide to training RBMs", UTML TR 2010-003, sections 8-10). PCD keeps
    ``batch_size`` persistent chains (Tieleman 2008).
    """
    rng = as_generator(args.seed)
    n, n_visible = X.shape
    dtype = np.float32
    Xd = X.astype(dtype)
    W = rng.normal(0.0, 0.01, size=(n_visible, args.n_hidden)).astype(dtype)
    p = (X.sum(axis=0) + 1.0) / (n + 2.0)
    b = (np.log(p) - np.log1p(-p)).astype(dtype)
    c = np.zeros(args.n_hidden, dtype=dtype)
    vel_W, vel_b, vel_c = np.zeros_like(W), np.zeros_like(b), np.zeros_like(c)
    bs = args.batch_size
    chains = (rng.random((bs, n_visible)) < p).astype(dtype)
    lr_final = args.learning_rate if args.final_learning_rate is None else args.final_learning_rate
    start = time.perf_counter()
    for epoch in range(args.epochs):
        frac = epoch / max(args.epochs - 1, 1)
        lr = args.learning_rate + (lr_final - args.learning_rate) * frac
        mom = 0.5 if epoch < 5 else args.momentum
        order = rng.permutation(n)
        for s in range(0, n - bs + 1, bs):
            v_pos = Xd[order[s : s + bs]]
            h_pos = expit(v_pos @ W + c)
            v_neg = chains if args.method == "pcd" else v_pos
            h_prob = expit(v_neg @ W + c) if args.method == "pcd" else h_pos
            for _ in range(args.k):
                h = (rng.random(h_prob.shape, dtype=dtype) < h_prob).astype(dtype)
                v_prob = expit(h @ W.T + b)
                v_neg = (rng.random(v_prob.shape, dtype=dtype) < v_prob).astype(dtype)
                h_prob = expit(v_neg @ W + c)
            if args.method == "pcd":
                chains = v_neg
            grad_W = (v_pos.T @ h_pos - v_neg.T @ h_prob) / bs - args.weight_decay * W
            grad_b = (v_pos - v_neg).mean(axis=0)
            grad_c = (h_pos - h_prob).mean(axis=0)
            vel_W = mom * vel_W + lr * grad_W
            vel_b = mom * vel_b + lr * grad_b
            vel_c = mom * vel_c + lr * grad_c
            W += vel_W
            b += vel_b
            c += vel_c
        if args.verbose:
            elapsed = time.perf_counter() - start
            log(f"  epoch {epoch + 1}/{args.epochs}  lr={lr:.4g}  {elapsed:.0f} s")
    model = SimpleNamespace(
        weights_=W.astype(np.float64),
        visible_bias_=b.astype(np.float64),
        hidden_bias_=c.astype(np.float64),
        visible="binary",
    )
    return model, time.perf_counter() - start, []


# --------------------------------------------------------------------------- report


def machine_description() -> str:
    cpu = cpu_model()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    import numpy

    return (
        f"{cpu}, {cores} cores available; Python {platform.python_version()}, "
        f"numpy {numpy.__version__}, {platform.system()}"
    )


def write_report(path: Path, rows: list[dict], args) -> None:
    """Markdown table of ``rows`` (one per trained model) with the machine it ran on."""
    splits = sorted({r.get("train_on", args.train_on) for r in rows})
    split_text = " or ".join(f"`{split}`" for split in splits)
    lines = [
        f"## {args.title}",
        "",
        "Written by `benchmarks/bench_rbm_mnist_loglik.py`. Binary RBM, "
        f"{args.n_hidden} hidden units, trained on the fixed binarisation of MNIST "
        f"({split_text} split{'s' if len(splits) > 1 or '+' in splits[0] else ''}, "
        "binarized_mnist release of Larochelle & Murray 2011; each row's hyper-parameters "
        "say which), evaluated on its 10,000-image "
        "test split. log Z by AIS as in Salakhutdinov & Murray (ICML 2008): "
        f"{args.n_chains} runs from the data base-rate model, {args.n_betas - 1} annealing "
        "steps (0-0.5-0.9-1 schedule); the log Z band is log(Z_hat -+ 3 sigma_hat), and "
        "the log-likelihood band follows from it. Training time is wall-clock.",
        "",
        "| model | trainer | epochs | train time | log Z (AIS) | log Z +-3 sigma | ESS "
        "| AIS time | train log-lik. | **test log-lik.** | anchor |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lo, hi = r["log_z_interval"]
        anchor = ANCHORS.get(r["anchor_key"])
        anchor_text = f"{anchor:.2f} (S&M 2008)" if anchor is not None else "-"
        lines.append(
            f"| {r['label']} | {r['trainer']} | {r['epochs']} | {r['train_s'] / 60:.1f} min "
            f"| {r['log_z']:.2f} | [{lo:.2f}, {hi:.2f}] | {r['ess']:.0f}/{r['n_chains']} "
            f"| {r['ais_s']:.0f} s | {r['train_ll']:.2f} | **{r['test_ll']:.2f}** "
            f"[{r['test_ll_band'][0]:.2f}, {r['test_ll_band'][1]:.2f}] | {anchor_text} |"
        )
    lines += [
        "",
        "Hyper-parameters: " + "; ".join(r["hyper"] for r in rows) + ".",
        "",
        f"Machine: {machine_description()}.",
        "",
        *([args.note, ""] if args.note else []),
        "AIS's Z_hat is unbiased for Z, so on average log Z is underestimated and the "
        "log-likelihoods are optimistic; a narrow band and an effective sample size (ESS) "
        "close to the number of runs say the estimate is well resolved.",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))


# --------------------------------------------------------------------------- main


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", choices=["pcd", "cd", "pt"], default="pcd")
    parser.add_argument("--k", type=int, default=1, help="Gibbs steps per update (CD-k/PCD-k)")
    parser.add_argument(
        "--n-temperatures", type=int, default=10, help="PT: temperatures of the ladder"
    )
    parser.add_argument("--beta-min", type=float, default=0.1, help="PT: smallest beta")
    parser.add_argument(
        "--n-train", type=int, default=None, help="train on the first N training images only"
    )
    parser.add_argument("--n-hidden", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--learning-rate", type=float, default=0.05)
    parser.add_argument(
        "--final-learning-rate",
        type=float,
        default=0.0025,
        help="linear decay to this rate at the last epoch (equal to --learning-rate: constant)",
    )
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--train-on", choices=["train", "train+valid"], default="train")
    parser.add_argument("--n-chains", type=int, default=100, help="AIS runs")
    parser.add_argument(
        "--train-chains",
        type=int,
        default=None,
        help="persistent chains of PCD/PT training (per temperature for PT); default batch size",
    )
    parser.add_argument("--n-betas", type=int, default=ais.DEFAULT_N_BETAS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--trainer", choices=["pgm", "fallback"], default="pgm")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--append", action="store_true", help="add rows to an existing run's")
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument(
        "--float64", dest="float32", action="store_false", help="train in float64 (default float32)"
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=None,
        help="limit BLAS threads (threadpoolctl); 1 is much faster on a busy shared machine",
    )
    parser.add_argument("--note", default=None, help="a sentence added to the report")
    parser.add_argument(
        "--title", default="RBM log-likelihood on binarised MNIST (AIS)", help="report heading"
    )
    parser.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        default=None,
        help="only write the report from the .json rows of earlier runs",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.n_hidden = min(args.n_hidden, 50)
        args.epochs = min(args.epochs, 2)
        args.n_chains = min(args.n_chains, 20)
        args.n_betas = min(args.n_betas, 1001)
    return args


def main(argv=None) -> list[dict]:
    args = parse_args(argv)
    if args.merge:
        rows = [row for path in args.merge for row in json.loads(path.read_text())]
        output = args.output or DOCS_OUTPUT
        write_report(output, rows, args)
        print(f"wrote {output} from {len(rows)} rows")
        return rows
    if args.blas_threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.blas_threads)

    def log(message):
        print(message, flush=True)

    X_train = load_split("train", args.data_dir)
    if args.train_on == "train+valid":
        X_train = np.concatenate([X_train, load_split("valid", args.data_dir)])
    X_test = load_split("test", args.data_dir)
    if args.n_train is not None:
        X_train = X_train[: args.n_train]
    if args.quick:
        X_train = X_train[:5000]
        X_test = X_test[::10]  # the test split is sorted by class
    log(f"data: train {X_train.shape}, test {X_test.shape}")

    trainer = args.trainer
    if trainer == "pgm":
        try:
            from pgm.models import RBM  # noqa: F401
        except ImportError:
            log("pgm.models.RBM is not available: using the FALLBACK training loop")
            trainer = "fallback"
    label = f"{args.method.upper()}-{args.k}"
    if args.method == "pt":
        label += f" ({args.n_temperatures} temperatures from beta {args.beta_min:g})"
    if args.train_chains is not None:
        label += f", {args.train_chains} chains"
    log(f"training {label}, {args.n_hidden} hidden, {args.epochs} epochs ({trainer} trainer)")
    train = train_with_pgm if trainer == "pgm" else train_fallback
    model, train_s, dropped = train(X_train, args, log)
    log(f"trained in {train_s:.1f} s")

    start = time.perf_counter()
    result = ais.log_partition(
        model,
        n_chains=args.n_chains,
        betas=args.n_betas,
        base_rate=X_train,
        seed=args.seed + 1,
        verbose=args.verbose,
    )
    ais_s = time.perf_counter() - start
    test_ll = ais.log_likelihood(model, X_test, result)
    train_ll = ais.log_likelihood(model, X_train[:10000], result)
    # log p = -F - log Z: the log Z band maps to a reversed log-likelihood band.
    lo, hi = result.log_z_interval
    band = (test_ll + result.log_z - hi, test_ll + result.log_z - lo)
    log(
        f"log Z = {result.log_z:.3f} +- {result.log_z_std:.3f} (3 sigma band [{lo:.3f}, {hi:.3f}]),"
        f" ESS {result.effective_sample_size:.1f}/{args.n_chains}, AIS {ais_s:.1f} s"
    )
    log(f"average log-likelihood: train {train_ll:.2f}, test {test_ll:.2f} nats")

    trainer_text = "pgm.models.RBM" if trainer == "pgm" else "FALLBACK loop (benchmark script)"
    lr_text = f"lr {args.learning_rate:g}"
    if args.final_learning_rate is not None:
        lr_text += f" -> {args.final_learning_rate:g} (linear)"
    hyper = (
        f"{label}: {lr_text}, momentum {args.momentum:g}, weight decay {args.weight_decay:g}, "
        f"batch {args.batch_size}, {'float32' if args.float32 else 'float64'} training, "
        f"seed {args.seed}, BLAS threads {args.blas_threads or 'default'}, "
        f"trained on {args.train_on} ({X_train.shape[0]} images)"
    )
    if dropped:
        hyper += f" (not taken by pgm.models.RBM: {', '.join(dropped)})"
    if args.method == "pt":
        rates = ", ".join(f"{rate:.2f}" for rate in getattr(args, "swap_acceptance", []))
        hyper += f", swap acceptance per neighbouring pair {rates}"
    row = dict(
        label=f"RBM-{args.n_hidden}, {label}",
        anchor_key=f"{args.method if args.method == 'cd' else 'x'}{args.k}",
        trainer=trainer_text,
        epochs=args.epochs,
        train_s=train_s,
        log_z=result.log_z,
        log_z_interval=result.log_z_interval,
        ess=result.effective_sample_size,
        n_chains=args.n_chains,
        ais_s=ais_s,
        train_ll=train_ll,
        test_ll=test_ll,
        test_ll_band=band,
        hyper=hyper,
        train_on=args.train_on,
        n_train=int(X_train.shape[0]),
    )
    output = args.output
    if output is None and not args.quick:
        output = DOCS_OUTPUT
    if output is not None:
        rows = [row]
        cache = output.with_suffix(".json")  # rows of earlier runs, for --append
        if args.append and cache.exists():
            rows = json.loads(cache.read_text()) + rows
        write_report(output, rows, args)
        cache.write_text(json.dumps(rows, indent=1))
        log(f"wrote {output}")
    return [row]


if __name__ == "__main__":
    main(sys.argv[1:])
