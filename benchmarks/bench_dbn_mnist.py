"""DBN on MNIST: pretraining + backprop, random init, up-down joint model, deep autoencoder vs PCA.

The classic experiments of Hinton, Osindero & Teh (2006) and Hinton &
Salakhutdinov (2006), all in one run, each stage checkpointed (``--resume``
skips the stages already done; the fine-tuning and up-down stages also save
their model after every epoch, atomically, and resume mid-stage bit for bit,
so a run longer than one sitting continues where it was stopped;
``--test-curve`` records the test error after every such epoch):

1. ``pretrain``: greedy DBN 784-500-500-2000 (CD-1 RBMs on grey levels as
   probabilities);
2. ``finetune``: the unrolled net (``DBN.to_classifier``) fine-tuned by
   backpropagation (conjugate gradients, 3 line searches per minibatch of
   1000), test error;
3. ``random_init``: the same network and optimiser from random weights;
4. ``up_down``: the joint image-label model 784-500-500-(2000 + 10 labels),
   its top RBM trained on the pretrained stack's ``h_2`` with the labels,
   then up-down (contrastive wake-sleep) fine-tuning; classified by the top
   RBM's free energy of each label;
5. ``autoencoder``: greedy DBN 784-1000-500-250-30 whose top RBM has
   linear (Gaussian, unit-variance) code units (``top_hidden="gaussian"``,
   learning rate ``--ae-code-lr``), unrolled (``DBN.to_autoencoder``,
   linear code) and fine-tuned on the cross-entropy; test squared error
   per image (summed over pixels);
6. ``pca``: 30-component PCA fitted on the training set, same error measure.

Anchors (seeds): 1.25% test error (up-down), 1.15% (pretraining +
backprop), ~1.6% (backprop from random weights); autoencoder MSE 3.00 vs
13.87 for PCA-30. Writes ``docs/results/dbn_mnist.json`` with
``test_error_finetuned``, ``test_error_random_init``, ``test_error_up_down``,
``autoencoder_mse``, ``pca_mse``, ``train_minutes``, per-stage minutes and
the sizes and epochs used.

Usage::

    PYTHONPATH=. python benchmarks/bench_dbn_mnist.py            # the full run (many hours)
    PYTHONPATH=. python benchmarks/bench_dbn_mnist.py --sizes 20 20 40 --ae-sizes 30 20 10 5 \\
        --pretrain-epochs 1 --finetune-epochs 1 --up-down-epochs 1 --ae-epochs 1 \\
        --n-train 300 --n-test 100 --output /tmp/dbn.json --checkpoint-dir /tmp/dbn_ckpt
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np

HEADLINE = (
    "test_error_finetuned",
    "test_error_random_init",
    "test_error_up_down",
    "autoencoder_mse",
    "pca_mse",
)


STAGES = ("pretrain", "finetune", "random_init", "up_down", "autoencoder", "pca")


def _error(pred, y):
    return float(np.mean(np.asarray(pred) != np.asarray(y)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 500, 2000])
    parser.add_argument("--ae-sizes", type=int, nargs="+", default=[1000, 500, 250, 30])
    parser.add_argument("--pretrain-epochs", type=int, default=50)
    parser.add_argument("--pretrain-lr", type=float, default=0.05)
    parser.add_argument("--finetune-epochs", type=int, default=30)
    parser.add_argument(
        "--finetune-optimizer", choices=("cg", "sgd"), default="cg",
        help="cg: 3 line searches per minibatch of 1000 (Hinton & Salakhutdinov); sgd: momentum "
        "SGD on minibatches of 100 with --finetune-lr and --finetune-schedule",
    )  # fmt: skip
    parser.add_argument("--finetune-lr", type=float, default=0.1)
    parser.add_argument(
        "--random-init-epochs", type=int, default=None,
        help="epochs of the network trained from random weights (default: --finetune-epochs; "
        "random weights need more epochs than pretrained ones to converge)",
    )  # fmt: skip
    parser.add_argument(
        "--finetune-schedule", default="linear", help="sgd's learning-rate schedule"
    )
    parser.add_argument(
        "--finetune-dtype", choices=("float32", "float64"), default="float64",
        help="the fine-tuned networks' dtype",
    )  # fmt: skip
    parser.add_argument(
        "--stages", nargs="+", choices=STAGES, default=list(STAGES),
        help="stages to run (the rest are skipped; the headline keys of skipped stages are null)",
    )  # fmt: skip
    parser.add_argument("--up-down-epochs", type=int, default=30)
    parser.add_argument("--up-down-lr", type=float, default=0.01)
    parser.add_argument(
        "--up-down-cd-k", type=int, nargs="+", default=[10],
        help="CD steps in the top RBM during up-down; several values split the epochs into equal "
        "parts (Hinton et al. 2006: 3 6 10 over 300 epochs)",
    )  # fmt: skip
    parser.add_argument("--ae-epochs", type=int, default=30)
    parser.add_argument(
        "--ae-optimizer", choices=("cg", "sgd"), default="cg",
        help="the autoencoder's fine-tuning: cg as --finetune-optimizer, or momentum SGD on "
        "minibatches of 100 at --ae-lr with --finetune-schedule (dtype --finetune-dtype)",
    )  # fmt: skip
    parser.add_argument("--ae-lr", type=float, default=0.03)
    parser.add_argument(
        "--ae-code-lr", type=float, default=0.001,
        help="learning rate of the autoencoder's top RBM (Gaussian code units; the paper's 0.001)",
    )  # fmt: skip
    parser.add_argument("--n-train", type=int, default=None, help="first rows of the 60000")
    parser.add_argument("--n-test", type=int, default=None, help="first rows of the 10000")
    parser.add_argument("--checkpoint-dir", default="dbn_mnist_checkpoints")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--output", default="docs/results/dbn_mnist.json")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=None,
        help="run every stage once per seed (checkpoints in <checkpoint-dir>/seed<k>) and write "
        "the mean of each headline number, with the per-seed values and their spread",
    )  # fmt: skip
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument(
        "--test-curve", action="store_true",
        help="after every fine-tuning epoch, print the test error (reconstruction error for the "
        "autoencoder) and keep the curve in the results",
    )  # fmt: skip
    parser.add_argument(
        "--note", default=None,
        help="free text for the results and the report (e.g. how stages were split across runs)",
    )  # fmt: skip
    parser.add_argument(
        "--report", default=None, metavar="JSON",
        help="only write the report from a results file of a --seeds run: "
        "docs/benchmarks/<name>.md for docs/results/<name>.json",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.report is not None:
        report = Path(args.report)
        return write_markdown(json.loads(report.read_text()), report.stem)
    if args.seeds is None:
        return _run(args)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import git_commit

    commit, load_start = git_commit(), round(os.getloadavg()[0], 2)  # before the run
    runs = []
    for seed in args.seeds:
        one = argparse.Namespace(**vars(args))
        one.seed = seed
        one.checkpoint_dir = str(Path(args.checkpoint_dir) / f"seed{seed}")
        one.output = str(Path(args.checkpoint_dir) / f"seed{seed}" / "result.json")
        runs.append(_run(one))
    ran = [key for key in HEADLINE if all(r[key] is not None for r in runs)]
    out = {
        key: (float(np.mean([r[key] for r in runs])) if key in ran else None) for key in HEADLINE
    }
    out["train_minutes"] = float(np.mean([r["train_minutes"] for r in runs]))
    out["seeds"] = list(args.seeds)
    out["per_seed"] = runs
    out["spread"] = {key: float(np.std([r[key] for r in runs], ddof=1)) for key in ran}
    for key in ("sizes", "autoencoder_sizes", "epochs", "n_train", "n_test"):
        out[key] = runs[0][key]
    threads = " ".join(
        f"{name}={os.environ[name]}"
        for name in ("OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")
        if name in os.environ
    )
    words = list(argv if argv is not None else sys.argv[1:])
    if "--note" in words:  # kept in its own field
        del words[words.index("--note") : words.index("--note") + 2]
    out["command"] = (threads + " " if threads else "") + (
        "python benchmarks/bench_dbn_mnist.py " + shlex.join(words)
    )
    out["commit"] = commit
    if args.note:
        out["note"] = args.note
    out["load_average"] = [load_start, round(os.getloadavg()[0], 2)]
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({k: out[k] for k in (*HEADLINE, "spread")}, indent=2))
    write_markdown(out, Path(args.output).stem)
    return out


ANCHORS = {
    "test_error_finetuned": "1.15% (pretraining + backprop)",
    "test_error_random_init": "about 1.6% (backprop from random weights)",
    "test_error_up_down": "1.25% (up-down fine-tuning)",
    "autoencoder_mse": "3.00 (784-1000-500-250-30)",
    "pca_mse": "13.87 (PCA-30)",
}


def write_markdown(out: dict, name: str = "dbn_mnist"):
    """``docs/benchmarks/<name>.md`` from the results of a ``--seeds`` run."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import write_report

    rows = []
    for key in out["spread"]:
        values = [r[key] for r in out["per_seed"]]
        pct = key.startswith("test_error")
        show = (lambda v: f"{100 * v:.2f}%") if pct else (lambda v: f"{v:.2f}")
        rows.append(
            f"| {key} | {show(out[key])} ± {show(out['spread'][key])} | "
            f"{', '.join(show(v) for v in values)} | {ANCHORS[key]} |"
        )
    sizes = "-".join(str(n) for n in [784, *out["sizes"]])
    ae = "-".join(str(n) for n in [784, *out["autoencoder_sizes"]])
    epochs = ", ".join(f"{k} {v}" for k, v in out["epochs"].items())
    full = (
        list(out["sizes"]) == [500, 500, 2000]
        and list(out["autoencoder_sizes"]) == [1000, 500, 250, 30]
        and out["n_train"] == 60000
    )
    body = f"""## Results

DBN {sizes} and deep autoencoder {ae} on {"all" if full else "the first"} {out["n_train"]:,}
MNIST training images, tested on {out["n_test"]:,} test images; epochs per stage: {epochs}.
Seeds {out["seeds"]}; mean ± standard deviation over seeds. Mean wall-clock per seed
{out["train_minutes"]:.1f} min (the stages listed, 1 BLAS and 1 Numba thread, on a machine
shared with other jobs).
{_optimisers(out)}
| quantity | mean ± sd | per seed | anchor (seeds 001-003, full MNIST, full sizes) |
|---|---|---|---|
{chr(10).join(rows)}

"""
    n_pretrain, n_finetune = out["epochs"]["pretrain"], out["epochs"]["finetune"]
    n_random = out["epochs"].get("random_init", n_finetune)
    if full:
        shorter = (
            f"pretrain 50 epochs per layer, here {n_pretrain}, and " if n_pretrain < 50 else ""
        )
        body += f"""These are the papers' network sizes on the full training set, with shorter
schedules than the papers' (Hinton et al. {shorter}fine-tune for hundreds of epochs) so that
three seeds run within a session on 2 cores. """
    else:
        body += """These are reduced sizes and schedules (smaller layers, a subset of the training
set, a few epochs per stage) chosen to run three seeds within a session on 2 cores; they are not the
papers' experiments. """
    if n_random == n_finetune:
        body += """The random-initialisation row uses the same network, optimiser, schedule
and number of epochs as the pretrained one, so the gap between them measures what pretraining buys
at this budget.
"""
    else:
        body += f"""The random-initialisation row uses the same network and optimiser as the
pretrained one, trained for {n_random} epochs against the pretrained network's {n_finetune}, so the
gap between them measures what pretraining buys against a random start given that budget.
"""
    if "command" in out:
        body += (
            f"\nRun: `{out['command']}` at commit {out.get('commit', '?')} (the machine list "
            "above is read when this page is written"
            + (
                f"; 1-minute load average {out['load_average'][0]} at the start of the run, "
                f"{out['load_average'][1]} at its end)"
                if "load_average" in out
                else "; the run shared the machine with other jobs, load average 5-17)"
            )
            + ".\n"
        )
    body += _curves(out)
    if out.get("note"):
        body += f"\nNote: {out['note']}\n"
    title = "DBN on MNIST (pretraining, backprop, up-down, autoencoder)"
    finetune = out["per_seed"][0].get("finetune_optimizer")
    if finetune is not None:
        how = {"cg": "conjugate gradients", "sgd": "momentum SGD"}[finetune["optimizer"]]
        title += f", classifiers fine-tuned by {how}"
    path = write_report(name, title, body)
    print(f"wrote {path}")
    return out


def _curves(out):
    """A table of the test curves (``--test-curve``) at a few epochs, mean over seeds."""
    curves = [r.get("curves") or {} for r in out["per_seed"]]
    stages = [s for s in ("finetune", "random_init", "up_down") if all(s in c for c in curves)]
    if not stages:
        return ""
    rows = []
    for stage in stages:
        n = min(len(c[stage]) for c in curves)
        marks = [e for e in (1, 5, 10, 20, 50, 100, 200, 300) if e < n] + [n]
        cells = [f"{e}: {100 * np.mean([c[stage][e - 1] for c in curves]):.2f}%" for e in marks]
        rows.append(f"| {stage} | {', '.join(cells)} |")
    return (
        "\nTest error after the given epochs of each stage (mean over seeds; `--test-curve`):\n\n"
        "| stage | epoch: test error |\n|---|---|\n" + "\n".join(rows) + "\n"
    )


def _optimisers(out):
    """A sentence on the fine-tuning optimisers of a results record (empty for old records)."""
    text = []
    for key, what in (
        ("finetune_optimizer", "classifiers"),
        ("autoencoder_optimizer", "autoencoder"),
    ):
        o = out["per_seed"][0].get(key)
        if o is None:
            continue
        if o["optimizer"] == "cg":
            how = (
                f"conjugate gradients, {o['max_iter']} line searches per minibatch of "
                f"{o['batch_size']}"
            )
        else:
            how = (
                f"momentum SGD ({o['momentum']}), minibatches of {o['batch_size']}, rate "
                f"{o['learning_rate']} with the {o['learning_rate_schedule']!r} schedule"
            )
        text.append(f"{what}: {how}, {o['dtype']}")
    return ("\nFine-tuning of the " + "; ".join(text) + ".\n") if text else ""


def _optimiser_options(args, optimizer, n_epochs, learning_rate):
    """Fine-tuning options: CG as Hinton & Salakhutdinov (3 line searches per 1000 rows) or SGD."""
    options = {
        "optimizer": optimizer,
        "n_epochs": n_epochs,
        "dtype": np.dtype(args.finetune_dtype).type,
        "random_state": args.seed,
        "verbose": args.verbose,
    }
    if optimizer == "cg":
        options.update(batch_size=1000, max_iter=3)
    else:
        options.update(
            batch_size=100, learning_rate=learning_rate, momentum=0.9,
            learning_rate_schedule=args.finetune_schedule,
        )  # fmt: skip
    return options


def _options_record(options):
    """The optimiser options as JSON values (dtype by name; no seed or verbosity)."""
    return {
        k: (np.dtype(v).name if k == "dtype" else v)
        for k, v in options.items()
        if k not in ("random_state", "verbose")
    }


def _fit_by_epochs(
    make, cls, path, data, first_kwargs, results, stage, start, state_file, curve=None
):
    """Fit a ``pgm.nn`` estimator one ``partial_fit`` epoch at a time, saved after each.

    A run stopped mid-stage resumes from ``path`` (the estimator's ``.npz``
    keeps the optimiser state, so the resumed fit is bit for bit the
    uninterrupted one; a conjugate-gradient run may be resumed with more
    epochs than it started with, as CG has no rate schedule); the stage's minutes so far live in
    ``results["partial_minutes"][stage]`` (written to ``state_file`` with
    each checkpoint). ``curve``, if given, maps the estimator to a number
    (a test error) recorded after every epoch in ``results["curves"][stage]``
    (its time is not counted). Returns the fitted estimator; the caller
    removes the stage's entry from ``partial_minutes`` when the stage is done.
    """
    partial = results.setdefault("partial_minutes", {})
    before = partial.get(stage, 0.0)
    # a checkpoint counts only when the results being resumed name the stage as under way
    fresh = make()
    n_epochs = fresh.get_params()["n_epochs"]
    est = cls.load(path) if stage in partial and path.exists() else fresh
    if est.get_params()["n_epochs"] != n_epochs:
        if est.get_params()["optimizer"] != "cg":  # SGD's rate schedule depends on n_epochs
            raise SystemExit(
                f"{path} was started with {est.get_params()['n_epochs']} epochs, not {n_epochs}; "
                "only conjugate-gradient runs (no rate schedule) can be lengthened"
            )
        est.set_params(n_epochs=n_epochs)  # CG: a longer run continues the same iterates
    while getattr(est, "n_iter_", 0) < n_epochs:
        est.partial_fit(*data, **(first_kwargs if not hasattr(est, "n_iter_") else {}))
        tmp = path.with_name(path.stem + ".tmp.npz")
        est.save(tmp)
        os.replace(tmp, path)  # atomic: a kill mid-write leaves the previous epoch's file
        partial[stage] = before + (time.perf_counter() - start) / 60
        if curve is not None:
            t = time.perf_counter()
            value = curve(est)
            results.setdefault("curves", {}).setdefault(stage, []).append(value)
            print(f"{stage} epoch {est.n_iter_}: {value:.5g}", flush=True)
            start += time.perf_counter() - t  # the curve is not training time
        _write_atomic(state_file, json.dumps(results, indent=2) + "\n")
    partial[stage] = before + (time.perf_counter() - start) / 60
    return est


def _up_down_by_epochs(joint, X, y, args, path, results, before, start, state_file, curve):
    """Up-down fine-tuning one epoch at a time, the model saved after each (resumable).

    Epoch ``e`` draws from ``SeedSequence([seed, e])`` and runs CD-``k`` in the
    top RBM with ``k`` from ``--up-down-cd-k`` (several values: equal parts of
    the epochs, in order), so a resumed run repeats the uninterrupted one bit
    for bit. The epoch count so far is the model file's ``n_up_down_epochs``
    entry in ``results``; minutes and the optional test curve as in
    :func:`_fit_by_epochs`.
    """
    partial = results.setdefault("partial_minutes", {})
    done_before = partial.get("up_down", 0.0)
    results["up_down_before"] = before
    ks = args.up_down_cd_k
    n = args.up_down_epochs
    for epoch in range(results.get("up_down_epochs_done", 0), n):
        joint.fine_tune_up_down(
            X, y, n_epochs=1, learning_rate=args.up_down_lr,
            cd_k=ks[min(epoch * len(ks) // n, len(ks) - 1)],
            seed=np.random.SeedSequence([args.seed, epoch]),
        )  # fmt: skip
        tmp = path.with_name(path.stem + ".tmp.npz")
        joint.save(tmp)
        os.replace(tmp, path)
        results["up_down_epochs_done"] = epoch + 1
        partial["up_down"] = done_before + (time.perf_counter() - start) / 60
        if curve is not None:
            t = time.perf_counter()
            value = curve(joint)
            results.setdefault("curves", {}).setdefault("up_down", []).append(value)
            print(f"up_down epoch {epoch + 1}: {value:.5g}", flush=True)
            start += time.perf_counter() - t
        _write_atomic(state_file, json.dumps(results, indent=2) + "\n")
    results.pop("up_down_epochs_done", None)
    partial["up_down"] = done_before + (time.perf_counter() - start) / 60
    return joint


def _write_atomic(path, text):
    """Replace ``path`` by ``text`` in one step (a kill leaves the old or the new file)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _run(args):
    """All stages for one seed; returns the result dictionary it writes to ``args.output``."""
    from sklearn.decomposition import PCA

    from pgm.datasets import load_mnist
    from pgm.models import DBN
    from pgm.nn import DeepAutoencoder, DeepClassifier

    X, y = load_mnist(split="train")
    X_test, y_test = load_mnist(split="test")
    if args.n_train is not None:
        X, y = X[: args.n_train], y[: args.n_train]
    if args.n_test is not None:
        X_test, y_test = X_test[: args.n_test], y_test[: args.n_test]
    ckpt = Path(args.checkpoint_dir)
    ckpt.mkdir(parents=True, exist_ok=True)
    state_file = ckpt / "results.json"
    results = json.loads(state_file.read_text()) if args.resume and state_file.exists() else {}
    minutes = results.setdefault("stage_minutes", {})

    def done(stage, **values):
        results.update(values)
        _write_atomic(state_file, json.dumps(results, indent=2) + "\n")
        print(stage, json.dumps({k: values[k] for k in values}), flush=True)

    rbm_options = {
        "method": "cd",
        "k": 1,
        "n_epochs": args.pretrain_epochs,
        "learning_rate": args.pretrain_lr,
        "momentum": 0.9,
        "weight_decay": 2e-4,
        "batch_size": 100,
        "dtype": np.float32,
    }
    clf_options = _optimiser_options(
        args, args.finetune_optimizer, args.finetune_epochs, args.finetune_lr
    )
    random_epochs = (
        args.finetune_epochs if args.random_init_epochs is None else args.random_init_epochs
    )
    random_options = {**clf_options, "n_epochs": random_epochs}
    ae_options = _optimiser_options(args, args.ae_optimizer, args.ae_epochs, args.ae_lr)
    test_error = (lambda clf: _error(clf.predict(X_test), y_test)) if args.test_curve else None
    stages = set(args.stages)

    # 1. greedy pretraining of 784-500-500-2000
    dbn_file = ckpt / "dbn_pretrained.npz"
    if not stages & {"pretrain", "finetune", "up_down"}:
        pass  # no stage needs the classifier stack
    elif "pretrain" in minutes and dbn_file.exists():
        dbn = DBN.load(dbn_file)
    else:
        t = time.perf_counter()
        dbn = DBN(
            tuple(args.sizes), rbm_options=rbm_options, random_state=args.seed,
            verbose=args.verbose,
        ).fit(X)  # fmt: skip
        dbn.save(dbn_file)
        minutes["pretrain"] = (time.perf_counter() - t) / 60
        done("pretrain")

    # 2. backprop fine-tuning of the pretrained net
    if "finetune" in stages and "finetune" not in minutes:
        t = time.perf_counter()
        clf = _fit_by_epochs(
            lambda: dbn.to_classifier(
                n_classes=10, output_only_epochs=min(5, args.finetune_epochs // 5),
                **clf_options,
            ),
            DeepClassifier, ckpt / "finetune_partial.npz", (X, y), {"classes": np.arange(10)},
            results, "finetune", t, state_file, test_error,
        )  # fmt: skip
        minutes["finetune"] = results["partial_minutes"].pop("finetune")
        done("finetune", test_error_finetuned=_error(clf.predict(X_test), y_test))

    # 3. the same net and optimiser from random weights
    if "random_init" in stages and "random_init" not in minutes:
        t = time.perf_counter()
        clf = _fit_by_epochs(
            lambda: DeepClassifier(tuple(args.sizes), classes=tuple(range(10)), **random_options),
            DeepClassifier, ckpt / "random_init_partial.npz", (X, y), {}, results,
            "random_init", t, state_file, test_error,
        )  # fmt: skip
        minutes["random_init"] = results["partial_minutes"].pop("random_init")
        done("random_init", test_error_random_init=_error(clf.predict(X_test), y_test))

    # 4. the joint image-label model: labelled top RBM on the pretrained h_{L-1}, then up-down
    if "up_down" in stages and "up_down" not in minutes:
        t = time.perf_counter()
        up_down_file = ckpt / "up_down_partial.npz"
        if "up_down_before" in results and up_down_file.exists():  # resumed within the stage
            joint, before = DBN.load(up_down_file), results["up_down_before"]
        else:
            L = len(args.sizes)
            H = dbn.transform(X, layer=L - 1) if L > 1 else X
            top = DBN(
                (args.sizes[-1],), rbm_options=rbm_options, n_classes=10,
                random_state=args.seed + 1, verbose=args.verbose,
            ).fit(H, y)  # fmt: skip
            joint = DBN.from_parameters(
                dbn.weights_[:-1] + top.weights_,
                dbn.biases_[:-2] + top.biases_,
                recognition_weights=dbn.recognition_weights_,
                recognition_biases=dbn.recognition_biases_,
                label_weights=top.label_weights_,
                label_bias=top.label_bias_,
                random_state=args.seed,
                verbose=args.verbose,
            )
            before = _error(joint.predict(X_test), y_test)
        joint = _up_down_by_epochs(
            joint, X, y, args, up_down_file, results, before, t, state_file, test_error
        )
        joint.save(ckpt / "dbn_up_down.npz")
        minutes["up_down"] = results["partial_minutes"].pop("up_down")
        done(
            "up_down",
            test_error_up_down=_error(joint.predict(X_test), y_test),
            test_error_joint_before_up_down=results.pop("up_down_before"),
        )

    # 5. deep autoencoder 784-1000-500-250-30
    if "autoencoder" in stages and "autoencoder" not in minutes:
        t = time.perf_counter()
        code_options = {**rbm_options, "learning_rate": args.ae_code_lr}
        stack_file = ckpt / "dbn_autoencoder_stack.npz"
        partial = results.setdefault("partial_minutes", {})
        if "autoencoder" in partial and stack_file.exists():  # resumed within the stage
            stack = DBN.load(stack_file)
        else:
            stack = DBN(
                tuple(args.ae_sizes),
                rbm_options=[rbm_options] * (len(args.ae_sizes) - 1) + [code_options],
                top_hidden="gaussian", random_state=args.seed + 2, verbose=args.verbose,
            ).fit(X)  # fmt: skip
            stack.save(stack_file)
            (ckpt / "autoencoder_partial.npz").unlink(missing_ok=True)  # a stale one is not ours
            partial["autoencoder"] = (time.perf_counter() - t) / 60
            _write_atomic(state_file, json.dumps(results, indent=2) + "\n")
        ae = _fit_by_epochs(
            lambda: stack.to_autoencoder(code_activation="linear", **ae_options),
            DeepAutoencoder, ckpt / "autoencoder_partial.npz", (X,), {}, results,
            "autoencoder", time.perf_counter(), state_file,
            (lambda ae: ae.reconstruction_error(X_test)) if args.test_curve else None,
        )  # fmt: skip
        minutes["autoencoder"] = results["partial_minutes"].pop("autoencoder")
        done("autoencoder", autoencoder_mse=ae.reconstruction_error(X_test))

    # 6. PCA with as many components as the code
    if "pca" in stages and "pca" not in minutes:
        t = time.perf_counter()
        pca = PCA(n_components=args.ae_sizes[-1], random_state=args.seed).fit(X)
        recon = pca.inverse_transform(pca.transform(X_test))
        minutes["pca"] = (time.perf_counter() - t) / 60
        done("pca", pca_mse=float(np.mean(np.sum((X_test - recon) ** 2, axis=1))))

    out = {key: results.get(key) for key in HEADLINE}
    out["train_minutes"] = float(sum(minutes.values()))
    out["stage_minutes"] = minutes
    out["test_error_joint_before_up_down"] = results.get("test_error_joint_before_up_down")
    if results.get("curves"):
        out["curves"] = results["curves"]
    out["stages"] = sorted(minutes, key=STAGES.index)
    out["finetune_optimizer"] = _options_record(clf_options)
    out["autoencoder_optimizer"] = _options_record(ae_options)
    out["sizes"] = args.sizes
    out["autoencoder_sizes"] = args.ae_sizes
    out["epochs"] = {
        "pretrain": args.pretrain_epochs,
        "finetune": args.finetune_epochs,
        "random_init": random_epochs,
        "up_down": args.up_down_epochs,
        "up_down_cd_k": args.up_down_cd_k,
        "autoencoder": args.ae_epochs,
    }
    out["n_train"], out["n_test"] = int(X.shape[0]), int(X_test.shape[0])
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
