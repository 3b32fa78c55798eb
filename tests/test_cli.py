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
