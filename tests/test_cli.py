"""The ``pgm`` command: a tiny end-to-end run and argument errors."""

from __future__ import annotations

import numpy as np
import pytest

from pgm.cli import main
from pgm.models import RBM


def test_train_rbm_end_to_end(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "train-rbm",
            "--n-hidden", "6",
            "--n-epochs", "2",
            "--batch-size", "50",
            "--n-samples", "4",
            "--n-gibbs", "3",
            "--seed", "1",
            "--out", str(out),
            "--no-progress",
        ]
    )  # fmt: skip
    assert code == 0
    for name in ("rbm.npz", "samples.png", "filters.png", "training_curve.png"):
        assert (out / name).stat().st_size > 0, name
    printed = capsys.readouterr().out
    assert "(exact)" in printed and "held-out" in printed
    rbm = RBM.load(out / "rbm.npz")
    assert rbm.weights_.shape == (64, 6) and rbm.n_iter_ == 2
    assert rbm.get_params()["random_state"] == 1
    # The printed log-likelihood is the loaded model's exact training score.
    from pgm.datasets import load_digits

    X, _ = load_digits()
    order = np.random.default_rng(1).permutation(X.shape[0])
    train = X[order[int(round(0.2 * X.shape[0])) :]]
    assert f"train {rbm.log_likelihood(train):.4f}" in printed
    # Same seed, same model, bit for bit.
    assert main(["train-rbm", "--n-hidden", "6", "--n-epochs", "2", "--batch-size", "50",
                 "--n-samples", "4", "--n-gibbs", "3", "--seed", "1", "--out",
                 str(tmp_path / "again"), "--no-progress"]) == 0  # fmt: skip
    again = RBM.load(tmp_path / "again" / "rbm.npz")
    assert again.weights_.tobytes() == rbm.weights_.tobytes()


def test_help_works(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "train-rbm" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["train-rbm", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for option in ("--n-hidden", "--n-epochs", "--batch-size", "--learning-rate", "--method",
                   "--k", "--seed", "--out", "--data", "--data-dir"):  # fmt: skip
        assert option in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train-rbm", "--n-hidden", "0"], "--n-hidden: expected a positive integer"),
        (["train-rbm", "--n-epochs", "two"], "--n-epochs: expected a positive integer"),
        (["train-rbm", "--learning-rate", "-1"], "--learning-rate: expected a positive number"),
        (["train-rbm", "--method", "sgd"], "--method: invalid choice"),
        (["train-rbm", "--data", "cifar"], "--data: invalid choice"),
        (["train-rbm", "--momentum", "1.5"], r"--momentum: expected a number in \[0, 1\)"),
        (["train-rbm", "--weight-decay", "-1", "--out", "unused"], "--weight-decay must be"),
        (["fly"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_arguments_are_argparse_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    import re

    assert re.search(message, capsys.readouterr().err)


def test_console_script_entry_point_is_main():
    from importlib.metadata import entry_points

    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    assert scripts.get("pgm") == "pgm.cli:main"


def _run_error(argv, capsys):
    """Run ``main``; return its status and its stderr, which must be one line."""
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("pgm: error: "), err
    assert "Traceback" not in err[0]
    return code, err[0]


def test_out_that_is_a_file_is_a_one_line_error(tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("not a folder")
    code, err = _run_error(["train-rbm", "--out", str(target), "--no-progress"], capsys)
    assert code == 2 and "--out" in err and "not a folder" in err
    assert target.read_text() == "not a folder"


def test_missing_mnist_names_the_cli_flag(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PGM_DATA_DIR", str(empty))
    monkeypatch.setenv("XDG_CACHE_HOME", str(empty))
    code, err = _run_error(
        ["train-rbm", "--data", "mnist", "--data-dir", str(empty), "--out", str(tmp_path / "o")],
        capsys,
    )
    assert code == 2 and "--data-dir" in err and "PGM_DATA_DIR" in err
    assert "download=True" not in err


def test_corrupt_mnist_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):  # fmt: skip
        (bad / name).write_bytes(b"this is not gzip data")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    code, err = _run_error(
        ["train-rbm", "--data", "mnist", "--data-dir", str(bad), "--out", str(tmp_path / "o")],
        capsys,
    )
    assert code == 2 and "train-images-idx3-ubyte.gz" in err
    assert not (tmp_path / "o").exists()


def test_sizes_that_cannot_fit_are_refused_before_allocating(tmp_path, capsys):
    code, err = _run_error(
        ["train-rbm", "--n-hidden", str(10**12), "--out", str(tmp_path / "o"), "--no-progress"],
        capsys,
    )
    assert code == 2 and "GiB" in err and "--n-hidden" in err
    assert not (tmp_path / "o").exists()


def test_max_examples_and_no_loglik(tmp_path, capsys):
    out = tmp_path / "quick"
    code = main(["train-rbm", "--max-examples", "50", "--no-loglik", "--n-hidden", "4",
                 "--n-epochs", "1", "--n-samples", "2", "--n-gibbs", "2", "--out", str(out),
                 "--no-progress"])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "digits 50 x 64" in printed
    assert "log Z" not in printed and "log-likelihood" not in printed
    rbm = RBM.load(out / "rbm.npz")
    assert "log_likelihood" not in rbm.history_
    assert (out / "training_curve.png").stat().st_size > 0
