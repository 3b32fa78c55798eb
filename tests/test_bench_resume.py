"""A long benchmark stopped mid-stage and resumed gives bit for bit the uninterrupted result.

``benchmarks/bench_dbn_mnist.py`` fine-tunes its networks one epoch at a time and saves
each after every epoch, so a run cut off by the end of a session continues with
``--resume``. This runs the benchmark at a tiny size twice: once straight through and
once interrupted inside each fine-tuning stage (a save that raises after writing its
temporary file and before moving it into place, as a kill during a save would leave
things) and resumed, and compares the networks the two runs saved.
"""

import shutil

import numpy as np
import pytest

from pgm.datasets import load_mnist
from pgm.models import DBN
from pgm.nn import DeepAutoencoder, DeepClassifier
from tests._bench import BENCHMARKS, load_benchmark

TINY = [
    "--sizes", "12", "10", "16", "--ae-sizes", "14", "8", "4", "2", "--pretrain-epochs", "1",
    "--finetune-epochs", "3", "--ae-epochs", "3", "--n-train", "120", "--n-test", "40",
    "--up-down-epochs", "3", "--up-down-cd-k", "1", "2",
    "--stages", "pretrain", "finetune", "random_init", "up_down", "autoencoder",
]  # fmt: skip


class _Stop(Exception):
    pass


def _bench():
    return load_benchmark("bench_dbn_mnist", load_mnist, "MNIST")


@pytest.mark.parametrize("optimizer", ["sgd", "cg"])
def test_interrupted_and_resumed_run_equals_the_straight_one(tmp_path, monkeypatch, optimizer):
    bench = _bench()
    args = TINY + ["--finetune-optimizer", optimizer, "--ae-optimizer", optimizer]

    def run(name, resume=False):
        where = tmp_path / name
        extra = ["--checkpoint-dir", str(where), "--output", str(where / "out.json")]
        return bench.main(args + extra + (["--resume"] if resume else []))

    straight = run("straight")
    # stop at the n-th save of each kind: inside finetune, inside random_init, inside
    # up-down (DBN saves of the stage's epoch file only), inside the autoencoder
    stops = ((DeepClassifier, 2), (DeepClassifier, 3), (DBN, 2), (DeepAutoencoder, 2))
    for cls, stop_at in stops:
        original, calls = cls.save, []

        def save(self, path, original=original, calls=calls, stop_at=stop_at):
            original(self, path)  # the benchmark saves to a temporary name, then renames
            if ".tmp" in str(path):
                calls.append(path)
            if len(calls) == stop_at:
                raise _Stop

        monkeypatch.setattr(cls, "save", save)
        with pytest.raises(_Stop):
            run("resumed", resume=True)
        monkeypatch.setattr(cls, "save", original)
        if stop_at == 2 and cls is DeepClassifier:  # killed while saving epoch 2: epoch 1's file
            shutil.copy(tmp_path / "resumed" / "finetune_partial.npz", tmp_path / "mid.npz")
    resumed = run("resumed", resume=True)
    for key in (
        "test_error_finetuned", "test_error_random_init", "test_error_up_down",
        "test_error_joint_before_up_down", "autoencoder_mse",
    ):  # fmt: skip
        assert resumed[key] == straight[key]
    for name in (
        "finetune_partial.npz", "random_init_partial.npz", "up_down_partial.npz",
        "autoencoder_partial.npz",
    ):  # fmt: skip
        with np.load(tmp_path / "straight" / name) as a, np.load(tmp_path / "resumed" / name) as b:
            assert sorted(a.files) == sorted(b.files)
            for key in a.files:
                np.testing.assert_array_equal(a[key], b[key], err_msg=f"{name}: {key}")
    # the power twin: the same comparison tells the net one epoch short from the finished one
    mid = DeepClassifier.load(tmp_path / "mid.npz")
    done = DeepClassifier.load(tmp_path / "straight" / "finetune_partial.npz")
    assert (mid.n_iter_, done.n_iter_) == (1, 3)
    assert any(
        not np.array_equal(x, y)
        for x, y in zip(mid.network_.weights, done.network_.weights, strict=True)
    )


def test_seeds_report_states_the_per_seed_numbers_and_curves(tmp_path, monkeypatch):
    """A ``--seeds`` run's page: mean ± sd of the per-seed results, and the mean test curves."""
    bench = _bench()
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import _common

    monkeypatch.setattr(_common, "DOCS", tmp_path / "pages")
    stages = ["--stages", "pretrain", "finetune", "random_init"]
    out = bench.main(
        TINY[: TINY.index("--stages")] + stages + [
            "--finetune-optimizer", "cg", "--seeds", "0", "1", "--test-curve",
            "--random-init-epochs", "4",
            "--checkpoint-dir", str(tmp_path / "runs"), "--output", str(tmp_path / "cg_run.json"),
        ]
    )  # fmt: skip
    page = (tmp_path / "pages" / "cg_run.md").read_text()  # named after the results file
    assert page.startswith("# DBN on MNIST") and "fine-tuned by conjugate gradients" in page
    errors = [r["test_error_finetuned"] for r in out["per_seed"]]
    assert out["test_error_finetuned"] == pytest.approx(np.mean(errors))
    mean, sd = 100 * np.mean(errors), 100 * np.std(errors, ddof=1)
    assert f"| test_error_finetuned | {mean:.2f}% ± {sd:.2f}%" in page
    assert out["epochs"]["finetune"] == 3 and out["epochs"]["random_init"] == 4
    assert "trained for 4 epochs against the pretrained network's 3" in page
    for stage, key, n in (
        ("finetune", "test_error_finetuned", 3),
        ("random_init", "test_error_random_init", 4),
    ):
        curves = [r["curves"][stage] for r in out["per_seed"]]
        assert [len(c) for c in curves] == [n, n]
        assert [c[-1] for c in curves] == [r[key] for r in out["per_seed"]]
        mean_last = 100 * np.mean([c[-1] for c in curves])
        mean_first = 100 * np.mean([c[0] for c in curves])
        assert f"| {stage} | 1: {mean_first:.2f}%, {n}: {mean_last:.2f}% |" in page
