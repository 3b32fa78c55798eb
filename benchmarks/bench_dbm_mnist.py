"""Two-layer DBM on binarised MNIST: train, estimate log Z by AIS, report the test bound.

Salakhutdinov & Hinton (AISTATS 2009) report -84.62 nats (variational lower
bound with AIS log Z) for a 784-500-1000 DBM after 100 epochs of greedy
pretraining and 300 epochs of joint training, and 0.95% test error after
discriminative fine-tuning. This script trains ``pgm.models.DBM`` on the
50,000-image ``train`` split of the fixed binarisation (greedy pretraining of
the modified RBMs, then joint training epoch by epoch with a wall-clock
budget), estimates log Z by AIS from the training base rate with the odd
layer summed out, and evaluates the mean-field lower bound on the 10,000 test
images. The joint phase is checkpointed after every epoch (model, fantasy
particles, velocities, epoch, elapsed minutes) so a killed run resumes with
``--resume`` exactly where it stopped (each epoch draws from its own
``default_rng([seed, epoch])``).

Outputs: ``docs/results/dbm_mnist.json`` (``test_log_likelihood_bound``,
``log_z``, ``log_z_band``, ``train_minutes``, ``epochs`` plus the schedule
under further keys), ``docs/benchmarks/dbm_mnist.md`` and a figure of model
samples, ``docs/figures/dbm_mnist_samples.png``. With ``--features`` it also
reports the test error of a logistic regression on the DBM's mean-field
features (:mod:`bench_dbm_features`).

Two starts: greedy pretraining (default) or ``--init-rbm-epochs N``, an RBM
trained by our best MNIST RBM recipe with the top layer added at small random
weights (:func:`rbm_start`). ``--centering`` trains jointly along the centred
gradient (``DBM(centering=True)``), ``--positive-gibbs K`` takes the data
phase from K Gibbs sweeps of the exact posterior instead of mean-field
(``DBM(positive_gibbs=K)``). Besides the paper's mean-field bound every run
records the importance-weighted bound of the same model with the same log Z
(``DBM.log_likelihood_importance_bound``, ``--importance`` draws per test
image). ``--summarise`` merges the records of runs with different seeds into
one record of their mean and spread.

Usage::

    python benchmarks/bench_dbm_mnist.py --pretrain-epochs 30 --epochs 300 \\
        --max-joint-minutes 60 --betas 20000 --features --checkpoint ckpt.npz
    python benchmarks/bench_dbm_mnist.py --init-rbm-epochs 200 --centering \\
        --learning-rate 0.002 --lr-decay 0.99 --n-gibbs 5 --seed 1 --checkpoint s1.npz \\
        --output-dir out_s1
    python benchmarks/bench_dbm_mnist.py --summarise out_s*/results/dbm_mnist.json
    python benchmarks/bench_dbm_mnist.py --quick      # smoke run, tiny, writes under /tmp-like
                                                      # --output-dir only
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from pgm.datasets.mnist import load_binarized_mnist
from pgm.layered.ais import log_partition
from pgm.layered.model import LayeredModel
from pgm.learning.schedules import ExponentialDecay, LinearDecay
from pgm.models import DBM

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, machine_markdown  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ANCHOR_BOUND = -84.62
ANCHOR_ERROR = 0.95
BEST_RBM = -88.73


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def save_checkpoint(path, dbm, state, minutes):
    extra = {f"particles_{l}": p for l, p in enumerate(state["particles"])}
    extra.update({f"vel_w_{l}": v for l, v in enumerate(state["vel_w"])})
    extra.update({f"vel_b_{l}": v for l, v in enumerate(state["vel_b"])})
    extra.update({f"offsets_{l}": v for l, v in enumerate(state["offsets"])})
    extra["epoch"] = np.int64(state["epoch"])
    extra["train_minutes"] = np.float64(minutes)
    tmp = Path(str(path) + ".tmp.npz")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    dbm._core.save(tmp, class_name="DBM", extra=extra)
    os.replace(tmp, path)  # atomic: a kill mid-write leaves the last checkpoint intact


def load_checkpoint(path, params):
    weights, biases, data = LayeredModel.load_arrays(path, class_name="DBM")
    dbm = DBM.from_parameters(weights, biases)
    dbm.set_params(**params)
    n = len(biases)
    state = {
        "particles": [np.array(data[f"particles_{l}"], dtype=np.float64) for l in range(n)],
        "vel_w": [np.array(data[f"vel_w_{l}"], dtype=np.float64) for l in range(n - 1)],
        "vel_b": [np.array(data[f"vel_b_{l}"], dtype=np.float64) for l in range(n)],
        # checkpoints from before centring have no offsets: main starts them from the data
        "offsets": (
            [np.array(data[f"offsets_{l}"], dtype=np.float64) for l in range(n)]
            if "offsets_0" in data
            else None
        ),
        "epoch": int(data["epoch"]),
    }
    return dbm, state, float(data["train_minutes"])


def joint_schedule(args):
    """The joint rate's schedule: ``--lr-decay`` (exponential), ``--lr-final`` (linear) or 1/t."""
    if args.lr_decay is not None and args.lr_final is not None:
        raise ValueError("give at most one of --lr-decay and --lr-final")
    if args.lr_decay is not None:
        return ExponentialDecay(decay=args.lr_decay)
    if args.lr_final is not None:
        return LinearDecay(final_fraction=args.lr_final)
    return "inverse"


def rbm_start(X, hidden, epochs, seed, params):
    """A DBM whose bottom layer is an RBM trained by our best MNIST RBM recipe.

    The RBM (``hidden[0]`` units) trains as in ``bench_rbm_mnist_loglik.py``'s
    -88.73-nat row: PCD-1, rate 0.05 -> 0.001 linear, momentum 0.5, weight
    decay 1e-4, batch 100, float32. The upper blocks start at N(0, 0.01^2)
    weights and zero biases, and h1's bias is corrected by the mean input of
    the upper layer at its starting mean 1/2, so the DBM starts as the RBM
    with a nearly independent top layer: its mean-field bound then equals the
    RBM's log-likelihood up to that small perturbation, and joint training
    has to improve on it. With one hidden layer it is the RBM itself, the
    control that isolates what the upper layers add. Returns ``(dbm, rbm)``.
    """
    from pgm.models import RBM

    rbm = RBM(
        hidden[0], method="pcd", k=1, learning_rate=0.05,
        learning_rate_schedule=LinearDecay(final_fraction=0.001 / 0.05), batch_size=100,
        n_epochs=epochs, momentum=0.5, weight_decay=1e-4, random_state=seed, dtype=np.float32,
    ).fit(X)  # fmt: skip
    rng = np.random.default_rng([seed, 2 * 10**6])
    sizes = list(hidden)
    weights = [rbm.weights_.astype(np.float64)]
    weights += [rng.normal(0.0, 0.01, (a, b)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    biases = [rbm.visible_bias_.astype(np.float64), rbm.hidden_bias_.astype(np.float64)]
    biases += [np.zeros(n) for n in sizes[1:]]
    if len(sizes) > 1:
        biases[1] -= 0.5 * weights[1].sum(axis=1)
    dbm = DBM.from_parameters(weights, biases)
    dbm.set_params(**params)
    return dbm, rbm


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, nargs="+", default=[500, 1000])
    parser.add_argument("--pretrain-epochs", type=int, default=100)
    parser.add_argument(
        "--epochs", type=int, default=None, help="most joint epochs (default 300; --quick: 2)"
    )
    parser.add_argument(
        "--max-joint-minutes",
        type=float,
        default=None,
        help="stop joint training before an epoch that would end past this budget",
    )
    parser.add_argument(
        "--init-rbm-epochs", type=int, default=0,
        help="start from an RBM instead of greedy pretraining: train the bottom layer as "
        "our best MNIST RBM recipe (PCD-1, this many epochs) and the upper layers at small "
        "random weights (see rbm_start); 0 (default) pretrains greedily",
    )  # fmt: skip
    parser.add_argument("--learning-rate", type=float, default=0.005)
    parser.add_argument("--pretrain-learning-rate", type=float, default=0.05)
    parser.add_argument(
        "--lr-decay", type=float, default=None,
        help="joint rate lr * decay**epoch (ExponentialDecay); default lr / (1 + epoch / 10)",
    )  # fmt: skip
    parser.add_argument(
        "--lr-final", type=float, default=None, metavar="F",
        help="joint rate linear from lr to F * lr at the last of --epochs (LinearDecay)",
    )  # fmt: skip
    parser.add_argument("--momentum", type=float, default=0.5)
    parser.add_argument(
        "--final-momentum", type=float, default=None,
        help="momentum from epoch 5 of every RBM and of joint training (S&H's code: 0.9)",
    )  # fmt: skip
    parser.add_argument("--mean-field-iter", type=int, default=10)
    parser.add_argument(
        "--centering", action="store_true",
        help="joint training with the centred gradient (DBM(centering=True))",
    )  # fmt: skip
    parser.add_argument(
        "--positive-gibbs", type=int, default=0,
        help="data phase: 0 mean-field (S&H), k>0 k Gibbs sweeps of p(h|v) (DBM(positive_gibbs))",
    )  # fmt: skip
    parser.add_argument(
        "--n-gibbs", type=int, default=1,
        help="block-Gibbs sweeps of the fantasy particles per update (S&H: 5)",
    )  # fmt: skip
    parser.add_argument("--n-train", type=int, default=None)
    parser.add_argument("--n-test", type=int, default=None)
    parser.add_argument("--betas", type=int, default=20_000)
    parser.add_argument(
        "--train-bound-rows", type=int, default=10_000, help="training rows for the train bound"
    )
    parser.add_argument("--chains", type=int, default=100)
    parser.add_argument(
        "--importance", type=int, default=10, metavar="K",
        help="draws per test image of the importance-weighted bound (DBM method of that name)",
    )  # fmt: skip
    parser.add_argument(
        "--base-hidden", choices=("mean_field", "uniform"), default="mean_field",
        help="AIS base of the top hidden layer: its mean-field posteriors over the training "
        "data (default) or uniform (the estimates before this option; far too low here)",
    )  # fmt: skip
    parser.add_argument("--checkpoint", default="dbm_mnist_checkpoint.npz")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--output-dir", default=str(ROOT / "docs"))
    parser.add_argument("--features", action="store_true", help="also the classification test")
    parser.add_argument("--clf-train", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument(
        "--note", default=None, help="free text for the report (e.g. how a resumed run changed)"
    )
    parser.add_argument(
        "--summarise", nargs="+", default=None, metavar="JSON",
        help="only merge these runs' records (one seed each) into one record of their mean "
        "and spread, in --output-dir (results/dbm_mnist.json and the page)",
    )  # fmt: skip
    parser.add_argument(
        "--report", default=None, metavar="JSON",
        help="only rewrite the report of a results file (and its note, when --note is given), "
        "into --output-dir/benchmarks/dbm_mnist.md",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.summarise:
        return summarise(args.summarise, Path(args.output_dir), args.note)
    if args.report is not None:
        return rewrite_report(Path(args.report), Path(args.output_dir), args.note)
    if args.quick:
        args.hidden, args.pretrain_epochs = [20, 30], 1
        args.epochs = 2 if args.epochs is None else args.epochs
        args.n_train, args.n_test, args.betas, args.chains = 500, 200, 200, 10
        args.clf_train = 500
    args.epochs = 300 if args.epochs is None else args.epochs
    out_dir = Path(args.output_dir)
    info = machine_info()

    X = load_binarized_mnist(split="train")
    X_test = load_binarized_mnist(split="test")
    if args.n_train is not None:
        X = X[: args.n_train]
    if args.n_test is not None:
        X_test = X_test[: args.n_test]
    params = dict(
        hidden_layer_sizes=tuple(args.hidden),
        learning_rate=args.learning_rate,
        pretrain_learning_rate=args.pretrain_learning_rate,
        mean_field_iter=args.mean_field_iter,
        n_gibbs=args.n_gibbs,
        n_pretrain_iter=args.pretrain_epochs,
        learning_rate_schedule=joint_schedule(args),
        momentum=args.momentum,
        final_momentum=args.final_momentum,
        centering=args.centering,
        positive_gibbs=args.positive_gibbs,
        n_iter=0,
        random_state=args.seed,
    )
    ckpt = Path(args.checkpoint)
    if args.resume and ckpt.exists():
        dbm, state, minutes = load_checkpoint(ckpt, params)
        log(f"resumed from {ckpt} at joint epoch {state['epoch']} ({minutes:.1f} min so far)")
        if state["offsets"] is None:
            rng = np.random.default_rng([args.seed, 3 * 10**6])
            state["offsets"] = dbm._joint_state(dbm._core, rng, X)["offsets"]
    else:
        t0 = time.perf_counter()
        if args.init_rbm_epochs:
            log(f"RBM start: {args.init_rbm_epochs} PCD-1 epochs, sizes 784-{args.hidden}")
            dbm, _ = rbm_start(X, args.hidden, args.init_rbm_epochs, args.seed, params)
        else:
            log(f"pretraining {args.pretrain_epochs} epochs per layer, sizes 784-{args.hidden}")
            dbm = DBM(**params).fit(X)  # n_iter=0: pretraining only
        minutes = (time.perf_counter() - t0) / 60.0
        state = dbm._joint_state(dbm._core, np.random.default_rng([args.seed, 10**6]), X)
        save_checkpoint(ckpt, dbm, state, minutes)
        log(f"pretrained in {minutes:.1f} min")
    dbm.set_params(n_iter=args.epochs)  # the joint schedule's horizon
    pretrain_minutes = minutes if state["epoch"] == 0 else None
    joint_start = minutes
    epoch_minutes = []
    while state["epoch"] < args.epochs:
        if args.max_joint_minutes is not None and epoch_minutes:
            spent = minutes - joint_start
            if spent + float(np.mean(epoch_minutes[-3:])) > args.max_joint_minutes:
                log(f"joint budget reached after {spent:.1f} min")
                break
        t0 = time.perf_counter()
        rng = np.random.default_rng([args.seed, state["epoch"]])
        dbm._joint_epoch(dbm._core, X, rng, state)
        dt = (time.perf_counter() - t0) / 60.0
        epoch_minutes.append(dt)
        minutes += dt
        save_checkpoint(ckpt, dbm, state, minutes)
        log(f"joint epoch {state['epoch']} done in {dt:.2f} min (total {minutes:.1f} min)")

    t0 = time.perf_counter()
    log(f"AIS: {args.chains} chains, {args.betas} betas")
    result = log_partition(
        dbm._core,
        n_chains=args.chains,
        betas=args.betas,
        base_rate=X,
        base_hidden=args.base_hidden,
        seed=args.seed,
    )
    ais_s = time.perf_counter() - t0
    log(f"AIS log Z {result.log_z:.2f} band {result.log_z_interval} in {ais_s:.0f} s")
    t0 = time.perf_counter()
    lo, hi = result.log_z_interval
    bound = dbm.log_likelihood_lower_bound(X_test, log_z=result.log_z)
    n_tb = min(args.train_bound_rows, X.shape[0])
    train_bound = dbm.log_likelihood_lower_bound(X[:n_tb], log_z=result.log_z) if n_tb else None
    bound_s = time.perf_counter() - t0
    log(f"test bound {bound:.2f}, train bound ({n_tb} rows) {train_bound}")
    # the importance-weighted bound: the same log Z, the odd layers summed out exactly
    importance = dbm.log_likelihood_importance_bound(
        X_test, log_z=result.log_z, n_samples=args.importance, seed=args.seed
    )
    log(f"importance-weighted test bound ({args.importance} draws per image) {importance:.2f}")
    active = active_units(dbm, X_test)
    log(f"hidden units active on the test set: {active}")

    # samples: 100 chains, 1000 block-Gibbs sweeps from random states
    from pgm.plotting import plot_samples

    t0 = time.perf_counter()
    samples = dbm.sample(100, n_gibbs=1000, seed=args.seed)
    fig_dir = out_dir / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    fig_path = fig_dir / "dbm_mnist_samples.png"
    plot_samples(
        samples,
        (28, 28),
        n_cols=10,
        title="DBM samples (1000 block-Gibbs sweeps from random states)",
        path=fig_path,
    )
    sample_s = time.perf_counter() - t0
    # the same bound on the model's own samples: near the test bound when the model's
    # mass sits where the data are, far above it when the model is sharper than the data
    sample_bound = dbm.log_likelihood_lower_bound(samples, log_z=result.log_z)
    log(f"bound on the samples {sample_bound:.2f}")

    clf = None
    if args.features:
        from bench_dbm_features import classify

        log(f"classification on mean-field features ({args.clf_train} training images)")
        clf = classify(dbm, n_train=args.clf_train, seed=args.seed)
        log(f"classification: {clf}")

    n_epochs = int(state["epoch"])
    momentum = f"momentum {args.momentum}" + (
        "" if args.final_momentum is None else f" then {args.final_momentum} from epoch 5"
    )
    rate = (
        f"{args.learning_rate} / (1 + epoch / 10)"
        if args.lr_decay is None and args.lr_final is None
        else f"{args.learning_rate} x {args.lr_decay}^epoch"
        if args.lr_decay is not None
        else f"{args.learning_rate} linear to {args.lr_final} x that at epoch {args.epochs}"
    )
    out = {
        "test_log_likelihood_bound": bound,
        "test_log_likelihood_importance_bound": importance,
        "importance_samples": args.importance,
        "log_z": result.log_z,
        "log_z_band": [x if np.isfinite(x) else None for x in (lo, hi)],
        "train_minutes": minutes,
        "epochs": n_epochs,
        "pretrain_epochs": 0 if args.init_rbm_epochs else args.pretrain_epochs,
        "init_rbm_epochs": args.init_rbm_epochs,
        "pretrain_minutes": pretrain_minutes,
        "hidden_layer_sizes": args.hidden,
        "n_train": int(X.shape[0]),
        "n_test": int(X_test.shape[0]),
        "seed": args.seed,
        "schedule": {
            "pretraining": (
                f"none: RBM start (rbm_start), {args.init_rbm_epochs} PCD-1 epochs of the "
                "bottom RBM (lr 0.05 -> 0.001 linear, momentum 0.5, weight decay 1e-4, batch "
                "100, float32), upper blocks N(0, 0.01^2), h1's bias corrected for their mean "
                "input"
                if args.init_rbm_epochs
                else f"CD-1, lr {args.pretrain_learning_rate}, {momentum}, batch 100, "
                "weight decay 1e-4, weights N(0, 0.01^2), visible biases at the data's "
                "log-odds, modified RBMs of section 3.1 (doubled bottom-up input for the "
                "bottom RBM, doubled top-down input for the top one), composed by averaging "
                "the two RBMs' inputs to h1 (its bias the mean of theirs)"
            ),
            "joint": f"lr {rate}, {momentum}, weight decay "
            f"1e-4, batch 100, {args.mean_field_iter} mean-field iterations, 100 persistent "
            "fantasy particles started at training images with mean-field-sampled hidden "
            f"layers, {args.n_gibbs} block-Gibbs sweep{'s' if args.n_gibbs > 1 else ''} per "
            "update"
            + (
                ", centred gradient (offsets: sliding data means, rate 0.01 per update)"
                if args.centering
                else ""
            )
            + (
                f", data phase from {args.positive_gibbs} Gibbs sweeps of p(h | v) started at "
                "mean-field draws (odd layers Rao-Blackwellised)"
                if args.positive_gibbs
                else ""
            ),
            "joint_budget_minutes": args.max_joint_minutes,
            "max_joint_epochs": args.epochs,
        },
        "ais": {
            "n_chains": args.chains,
            "n_betas": args.betas,
            "base_hidden": args.base_hidden,
            "effective_sample_size": result.effective_sample_size,
            "log_z_std": result.log_z_std,
            "seconds": ais_s,
        },
        "train_log_likelihood_bound": train_bound,
        "train_bound_rows": n_tb,
        "bound_seconds": bound_s,
        "active_units": active,
        "samples_figure": "docs/figures/dbm_mnist_samples.png",
        "sample_seconds": sample_s,
        "sample_log_likelihood_bound": sample_bound,
        "classification": clf,
        "anchor": {"test_log_likelihood_bound": ANCHOR_BOUND, "test_error_percent": ANCHOR_ERROR},
        "machine": info,
        "note": args.note,
    }
    res_dir = out_dir / "results"
    res_dir.mkdir(parents=True, exist_ok=True)
    (res_dir / "dbm_mnist.json").write_text(json.dumps(out, indent=2) + "\n")
    write_markdown(out, out_dir / "benchmarks" / "dbm_mnist.md", info)
    print(json.dumps(out, indent=2), flush=True)


def summarise(paths, out_dir, note=None):
    """One record of several seeds' run records (each a ``dbm_mnist.json`` of one run).

    The runs must share the layer sizes, schedule and evaluation. Top-level
    ``test_log_likelihood_bound`` and ``train_minutes`` are the means over
    seeds (``test_log_likelihood_bound_sd`` the sample standard deviation);
    ``log_z`` and ``log_z_band`` are those of the median seed (``log_z_seed``),
    since the seeds' models, and so their log Z, differ. ``per_seed`` keeps
    every run's record. Writes ``results/dbm_mnist.json`` and the page.
    """
    runs = [json.loads(Path(p).read_text()) for p in paths]
    if len(runs) < 2:
        raise ValueError(f"--summarise needs at least 2 run records, got {len(runs)}")
    keys = ("hidden_layer_sizes", "schedule", "n_train", "n_test", "init_rbm_epochs")
    for key in keys:
        values = {json.dumps(run.get(key), sort_keys=True) for run in runs}
        if len(values) > 1:
            raise ValueError(f"the runs differ in {key!r}: {sorted(values)}")
    evaluation = {
        json.dumps({k: run["ais"].get(k) for k in ("n_betas", "n_chains", "base_hidden")})
        for run in runs
    }
    if len(evaluation) > 1:
        raise ValueError(f"the runs differ in their AIS settings: {sorted(evaluation)}")
    seeds = [run.get("seed") for run in runs]
    if None in seeds or len(set(seeds)) < len(seeds):
        raise ValueError(f"each run needs its own seed, got {seeds}")
    bounds = np.array([run["test_log_likelihood_bound"] for run in runs])
    median = runs[int(np.argsort(bounds)[len(bounds) // 2])]
    iw = [run.get("test_log_likelihood_importance_bound") for run in runs]
    out = {
        "test_log_likelihood_bound": float(bounds.mean()),
        "test_log_likelihood_bound_sd": float(bounds.std(ddof=1)),
        **(
            {}
            if None in iw
            else {
                "test_log_likelihood_importance_bound": float(np.mean(iw)),
                "test_log_likelihood_importance_bound_sd": float(np.std(iw, ddof=1)),
            }
        ),
        "log_z": median["log_z"],
        "log_z_band": median["log_z_band"],
        "log_z_seed": median["seed"],
        "train_minutes": float(np.mean([run["train_minutes"] for run in runs])),
        "epochs": min(run["epochs"] for run in runs),
        "seeds": seeds,
        **{key: runs[0].get(key) for key in keys},
        "pretrain_epochs": runs[0]["pretrain_epochs"],
        "train_bound_rows": runs[0]["train_bound_rows"],
        "anchor": runs[0]["anchor"],
        "machine": runs[0]["machine"],
        "note": note,
        "per_seed": runs,
    }
    res_dir = out_dir / "results"
    res_dir.mkdir(parents=True, exist_ok=True)
    (res_dir / "dbm_mnist.json").write_text(json.dumps(out, indent=2) + "\n")
    write_markdown(out, out_dir / "benchmarks" / "dbm_mnist.md", out["machine"])
    return out


def rewrite_report(results, out_dir, note=None):
    """The page of a results file, its note replaced when ``note`` is given (file rewritten)."""
    out = json.loads(results.read_text())
    if note is not None:
        out["note"] = note
        results.write_text(json.dumps(out, indent=2) + "\n")
    write_markdown(out, out_dir / "benchmarks" / "dbm_mnist.md", out["machine"])


def active_units(dbm, X, low=0.01):
    """Per hidden layer: units whose mean posterior over ``X`` lies in ``[low, 1 - low]``.

    A unit outside that range is (almost) constant on the data, off or on, and
    carries no information about the image; the count shows how much of each
    layer the trained model uses.
    """
    mean = dbm.transform(X).mean(axis=0)  # every hidden layer, concatenated
    splits = np.cumsum([b.shape[0] for b in dbm.biases_[1:-1]])
    out = []
    for layer, m in enumerate(np.split(mean, splits), start=1):
        used = int(np.count_nonzero((m >= low) & (m <= 1.0 - low)))
        out.append({"layer": layer, "active": used, "size": int(m.shape[0])})
    return out


def _fmt(x, missing="n/a"):
    return missing if x is None else f"{x:.2f}"


def _budget(minutes):
    return "no wall-clock budget" if minutes is None else f"budget {minutes} min of wall-clock"


def _base_text(ais):
    """How the AIS base treated the top hidden layer (records before the option: uniform)."""
    if ais.get("base_hidden", "uniform") == "uniform":
        return "uniform"
    return "from its mean-field posteriors over the training data"


def _bound_band(run):
    """The test bound's interval implied by log Z's +-3 sigma band (text)."""
    band = run["log_z_band"]
    shift = run["test_log_likelihood_bound"] + run["log_z"]
    lo_b = shift - band[1] if band[1] is not None else None
    hi_b = shift - band[0] if band[0] is not None else None
    if lo_b is not None and hi_b is not None:
        return f"[{lo_b:.2f}, {hi_b:.2f}]"
    return f"[{_fmt(lo_b, '-inf')}, {_fmt(hi_b, '+inf')}] (AIS band unbounded: untrustworthy)"


def _table_row(run, label):
    band, ais = run["log_z_band"], run["ais"]
    start = (
        f"RBM start ({run['init_rbm_epochs']} PCD-1 epochs)"
        if run.get("init_rbm_epochs")
        else str(run["pretrain_epochs"])
    )
    return (
        f"| {label} | {start} | {run['epochs']} | "
        f"{run['train_minutes']:.1f} min | {run['log_z']:.2f} | "
        f"[{_fmt(band[0], '-inf')}, {_fmt(band[1], '+inf')}] | "
        f"{ais['effective_sample_size']:.0f}/{ais['n_chains']} | {ais['n_betas']} betas, "
        f"{ais['seconds']:.0f} s | {_fmt(run['train_log_likelihood_bound'])} | "
        f"**{run['test_log_likelihood_bound']:.2f}** {_bound_band(run)} | "
        f"{_fmt(run.get('test_log_likelihood_importance_bound'))} | "
        f"{ANCHOR_BOUND} (S&H 2009, 100 + 300 epochs) |"
    )


def write_markdown(out, path, info):
    sizes = "-".join(str(n) for n in [784, *out["hidden_layer_sizes"]])
    runs = out.get("per_seed") or [out]
    ais = out["ais"] if "ais" in out else runs[0]["ais"]
    rows = [_table_row(out, f"DBM {sizes}")] if len(runs) == 1 and runs[0] is out else []
    if not rows:
        rows = [_table_row(run, f"DBM {sizes}, seed {run['seed']}") for run in runs]
        bounds = [run["test_log_likelihood_bound"] for run in runs]
        iw = [run.get("test_log_likelihood_importance_bound") for run in runs]
        iw_text = "n/a" if None in iw else f"{np.mean(iw):.2f} +- {np.std(iw, ddof=1):.2f}"
        rows.append(
            f"| mean +- sd over {len(runs)} seeds | | | | | | | | | "
            f"**{np.mean(bounds):.2f} +- {np.std(bounds, ddof=1):.2f}** | {iw_text} | |"
        )
    lines = [
        "## DBM on binarised MNIST (AIS lower bound)",
        "",
        "Written by `benchmarks/bench_dbm_mnist.py`. Two-layer DBM trained with "
        "`pgm.models.DBM` on the 50,000-image `train` split of the fixed binarisation "
        "(Larochelle & Murray 2011 release), evaluated on its 10,000-image `test` split: the "
        "mean-field variational lower bound on log p(v) with log Z from AIS (base-rate model "
        f"from the training data, top layer's base {_base_text(ais)}, odd layer summed out, "
        "+-3 sigma band). Numbers also in `docs/results/dbm_mnist.json`.",
        "",
        "| model | pretrain epochs | joint epochs | train time | log Z (AIS) | log Z +-3 sigma "
        "| ESS | AIS | train bound | **test bound** | importance-weighted test bound | anchor |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Schedule: pretraining {out['schedule']['pretraining']}; joint training "
        f"{out['schedule']['joint']}; joint training stopped after {out['epochs']} epochs "
        f"({_budget(out['schedule']['joint_budget_minutes'])}, at most "
        f"{out['schedule']['max_joint_epochs']} epochs). "
        + (
            f"Train bound on the first {out['train_bound_rows']} training images. "
            if out["train_bound_rows"]
            else "No train bound. "
        )
        + "Our best RBM under the same "
        f"evaluation: {BEST_RBM} nats "
        "(`rbm_mnist_loglik`).",
        "",
        "The bound is a lower bound on the mean test log-likelihood given log Z; AIS "
        "underestimates log Z on average, which makes the reported bound optimistic by "
        "that error. The importance-weighted bound (`DBM.log_likelihood_importance_bound`, "
        "the same log Z) sums h1 out exactly and draws h2 from its mean-field factor "
        f"({runs[0].get('importance_samples') or 'K'} draws per test image): a tighter lower "
        "bound on the same model's log-likelihood, whose distance to the mean-field bound "
        "is what the factorised posterior costs. Samples: "
        "`docs/figures/dbm_mnist_samples.png` (100 chains, 1000 block-Gibbs sweeps each from "
        "uniform random states).",
    ]
    multi = len(runs) > 1 or runs[0] is not out
    for run in runs:
        who = f"Seed {run['seed']}: t" if multi else "T"
        if run.get("sample_log_likelihood_bound") is not None:
            lines += [
                "",
                f"{who}he same bound on the 100 samples: "
                f"{run['sample_log_likelihood_bound']:.2f} nats (test images: "
                f"{run['test_log_likelihood_bound']:.2f}). A model whose samples score far "
                "above the data is sharper than the data: its mass sits in modes the data do "
                "not fill.",
            ]
        if run.get("active_units"):
            used = ", ".join(
                f"h{a['layer']} {a['active']}/{a['size']}" for a in run["active_units"]
            )
            lines += [
                "",
                f"{who}he hidden units in use (mean posterior over the test images in "
                f"[0.01, 0.99]): {used}.",
            ]
    if out.get("note"):
        lines += ["", f"Note: {out['note']}"]
    clfs = [(run, run["classification"]) for run in runs if run.get("classification")]
    if clfs:
        lines += [
            "",
            "### Classification with DBM features",
            "",
            f"Method (ours, not the paper's fine-tuning): {clfs[0][1]['method']}",
            "",
            "| features | training images | test error | anchor |",
            "|---|---|---|---|",
        ]
        for run, clf in clfs:
            seed = f", seed {run['seed']}" if multi else ""
            lines += [
                f"| DBM mean-field posteriors (h1, h2){seed} | {clf['n_train']} | "
                f"**{clf['test_error_percent']:.2f}%** | {ANCHOR_ERROR}% (S&H 2009, "
                "fine-tuned) |",
                f"| raw pixels (same classifier){seed} | {clf['n_train']} | "
                f"{clf['pixel_test_error_percent']:.2f}% | - |",
            ]
    body = "\n".join(lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"{body.splitlines()[0]}\n\n### Machine\n\n{machine_markdown(info)}\n\n"
        + "\n".join(body.splitlines()[2:])
        + "\n"
    )


if __name__ == "__main__":
    main()
