"""``benchmarks/bench_dbm_mnist.py``: a checkpoint evaluates to the record it was written with.

A long DBM run trains in several processes (each resumes the checkpoint) and is evaluated
from its last checkpoint; the record's page may be rewritten with a longer note. This runs
the benchmark at its ``--quick`` size: once straight through, then again from the finished
checkpoint (no training left), which must give the same log Z, bounds and unit counts, then
``--report`` with a new note, which must change the note and nothing else.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from pgm.datasets import load_binarized_mnist
from pgm.models import DBM
from tests._bench import load_benchmark


def _bench():
    return load_benchmark("bench_dbm_mnist", load_binarized_mnist, "binarised MNIST")


def test_checkpoint_evaluates_to_the_same_record_and_report_rewrites_only_the_note(tmp_path):
    bench = _bench()
    ckpt = tmp_path / "ckpt" / "dbm.npz"  # its folder does not exist yet

    def run(name, *extra):
        out = tmp_path / name
        bench.main(["--quick", "--checkpoint", str(ckpt), "--output-dir", str(out), *extra])
        return json.loads((out / "results" / "dbm_mnist.json").read_text()), out

    first, _ = run("first")
    again, out = run("again", "--resume")
    keys = ("log_z", "log_z_band", "test_log_likelihood_bound", "train_log_likelihood_bound")
    for key in (*keys, "test_log_likelihood_importance_bound", "epochs", "active_units"):
        assert again[key] == first[key], key
    # summing h1 out exactly and drawing h2 tightens the mean-field bound (by 0.0025 here)
    gap = first["test_log_likelihood_importance_bound"] - first["test_log_likelihood_bound"]
    assert gap > 0.0
    sizes = [a["size"] for a in first["active_units"]]
    assert sizes == first["hidden_layer_sizes"]
    assert all(0 <= a["active"] <= a["size"] for a in first["active_units"])

    # the convergence check script, at the record's settings, gives the record's log Z
    check = load_benchmark("dbm_log_z", load_binarized_mnist, "binarised MNIST")
    ais = first["ais"]
    same = ["--betas", str(ais["n_betas"]), "--chains", str(ais["n_chains"]), "--seed", "0",
            "--n-train", str(first["n_train"]), "--n-test", str(first["n_test"])]  # fmt: skip
    got = check.main([str(ckpt), *same])
    assert got["log_z"] == first["log_z"] and got["checkpoint_epoch"] == first["epochs"]
    assert got["test_log_likelihood_bound"] == pytest.approx(
        first["test_log_likelihood_bound"], abs=1e-9
    )
    other = check.main([str(ckpt), *same[:-4], "--n-train", "400", "--n-test", "200"])
    assert other["log_z"] != first["log_z"]  # the base rate comes from the rows given

    results = out / "results" / "dbm_mnist.json"
    page = out / "benchmarks" / "dbm_mnist.md"
    before = page.read_text()
    bench.main(["--report", str(results), "--output-dir", str(out), "--note", "three processes"])
    rewritten = json.loads(results.read_text())
    assert rewritten.pop("note") == "three processes" and again.pop("note") is None
    assert rewritten == again
    after = page.read_text()
    assert "Note: three processes" in after
    assert after.replace("\nNote: three processes\n", "") == before


def test_rbm_start_is_the_rbm_with_a_nearly_independent_top_layer():
    """--init-rbm-epochs: the DBM starts as the trained RBM; its bound is the RBM's log p(v).

    With the top block at N(0, 0.01^2) and h1's bias corrected for the top layer's mean
    input, the mean-field bound with exact log Z equals the RBM's exact log-likelihood
    up to the small coupling (both computed by enumeration here).
    """
    bench = _bench()
    rng = np.random.default_rng(0)
    protos = (rng.random((3, 12)) < 0.5).astype(float)
    X = np.abs(protos[rng.integers(0, 3, 300)] - (rng.random((300, 12)) < 0.1))
    dbm, rbm = bench.rbm_start(X, (6, 5), 5, 0, dict(n_iter=0))
    np.testing.assert_array_equal(dbm.weights_[0], rbm.weights_.astype(np.float64))
    np.testing.assert_array_equal(dbm.biases_[0], rbm.visible_bias_.astype(np.float64))
    alone = DBM.from_parameters([dbm.weights_[0]], [dbm.biases_[0], rbm.hidden_bias_])
    rbm_ll = np.mean(-alone.free_energy(X)) - alone.log_partition("exact")
    assert rbm_ll > np.mean(X.shape[1] * np.log(0.5)) + 1.0  # the RBM learned something
    bound = dbm.log_likelihood_lower_bound(X, log_z=dbm.log_partition("exact"))
    assert bound == pytest.approx(rbm_ll, abs=1e-3)  # measured: 7e-5 below
    # one hidden layer: the RBM itself (the control run), its bound the exact log-likelihood
    one, rbm1 = bench.rbm_start(X, (6,), 5, 0, dict(n_iter=0))
    np.testing.assert_array_equal(one.biases_[1], rbm1.hidden_bias_.astype(np.float64))
    assert one.log_likelihood_lower_bound(X, log_z=one.log_partition("exact")) == pytest.approx(
        rbm_ll, abs=1e-10
    )
    # the tolerance's scale: a top block ten times larger (std 0.1) moves the bound 7x more
    far = DBM.from_parameters([dbm.weights_[0], 10 * dbm.weights_[1]], dbm.biases_)
    assert abs(far.log_likelihood_lower_bound(X, log_z=far.log_partition("exact")) - rbm_ll) > 5e-3


def test_summarise_merges_seeds_into_mean_and_spread(tmp_path):
    bench = _bench()
    paths = []
    for seed in (0, 1):
        out = tmp_path / f"s{seed}"
        ckpt = str(out / "ckpt.npz")
        bench.main(["--quick", "--seed", str(seed), "--checkpoint", ckpt, "--output-dir", str(out)])
        paths.append(str(out / "results" / "dbm_mnist.json"))
    runs = [json.loads(Path(p).read_text()) for p in paths]
    assert [r["seed"] for r in runs] == [0, 1]
    assert runs[0]["test_log_likelihood_bound"] != runs[1]["test_log_likelihood_bound"]
    merged = bench.main(["--summarise", *paths, "--output-dir", str(tmp_path / "all")])
    bounds = [r["test_log_likelihood_bound"] for r in runs]
    assert merged["test_log_likelihood_bound"] == pytest.approx(np.mean(bounds), abs=1e-12)
    assert merged["test_log_likelihood_bound_sd"] == pytest.approx(
        abs(bounds[0] - bounds[1]) / np.sqrt(2), abs=1e-12
    )
    iw = [r["test_log_likelihood_importance_bound"] for r in runs]
    assert merged["test_log_likelihood_importance_bound"] == pytest.approx(np.mean(iw), abs=1e-12)
    median = runs[merged["seeds"].index(merged["log_z_seed"])]
    assert merged["log_z"] == median["log_z"] and merged["per_seed"] == runs
    written = json.loads((tmp_path / "all" / "results" / "dbm_mnist.json").read_text())
    assert written == merged
    page = (tmp_path / "all" / "benchmarks" / "dbm_mnist.md").read_text()
    assert "seed 0 |" in page and "seed 1 |" in page and "mean +- sd over 2 seeds" in page
    with pytest.raises(ValueError, match="own seed"):
        bench.main(["--summarise", paths[0], paths[0], "--output-dir", str(tmp_path / "x")])

    def refused_with(key, value, match):
        """Seed 1's record with ``key`` changed is refused next to seed 0's."""
        other = {**json.loads(Path(paths[1]).read_text()), key: value}
        (tmp_path / "other.json").write_text(json.dumps(other))
        out = str(tmp_path / "x")
        with pytest.raises(ValueError, match=match):
            bench.main(["--summarise", paths[0], str(tmp_path / "other.json"), "--output-dir", out])

    ais = runs[1]["ais"]
    refused_with("ais", {**ais, "n_betas": ais["n_betas"] + 1}, "AIS settings")
    refused_with("hidden_layer_sizes", [7, 7], "hidden_layer_sizes")


def test_centred_run_resumed_mid_training_equals_a_straight_run(tmp_path):
    """--centering: the offsets travel in the checkpoint, so 1 + 1 resumed epochs = 2 epochs."""
    bench = _bench()

    def run(name, *extra, centering=True):
        out = tmp_path / name
        ckpt = str(tmp_path / f"{name}.npz")
        base = ["--quick", "--checkpoint", ckpt, "--output-dir", str(out)]
        base += ["--centering"] if centering else []
        for more in extra:
            bench.main([*base, *more])
        return json.loads((out / "results" / "dbm_mnist.json").read_text())

    straight = run("straight", ["--epochs", "2"])
    resumed = run("resumed", ["--epochs", "1"], ["--epochs", "2", "--resume"])
    assert resumed["epochs"] == straight["epochs"] == 2
    assert resumed["log_z"] == straight["log_z"]
    assert resumed["test_log_likelihood_bound"] == straight["test_log_likelihood_bound"]
    assert "centred gradient" in straight["schedule"]["joint"]
    plain = run("plain", ["--epochs", "2"], centering=False)  # the option changes the training
    assert plain["log_z"] != straight["log_z"]
    assert "centred" not in plain["schedule"]["joint"]


def test_joint_schedule_options():
    """--lr-decay is exponential, --lr-final linear to that fraction, both at once refused."""
    from argparse import Namespace

    from pgm.learning.schedules import ExponentialDecay, LinearDecay

    bench = _bench()
    linear = bench.joint_schedule(Namespace(lr_decay=None, lr_final=0.01))
    assert linear == LinearDecay(final_fraction=0.01)
    assert linear(0.002, 9, 10) == pytest.approx(2e-5) and linear(0.002, 0, 10) == 0.002
    assert bench.joint_schedule(Namespace(lr_decay=0.99, lr_final=None)) == ExponentialDecay(0.99)
    assert bench.joint_schedule(Namespace(lr_decay=None, lr_final=None)) == "inverse"
    with pytest.raises(ValueError, match="at most one of --lr-decay and --lr-final"):
        bench.joint_schedule(Namespace(lr_decay=0.99, lr_final=0.01))
