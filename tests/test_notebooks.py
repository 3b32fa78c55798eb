"""The notebooks run top to bottom in quick mode (``PGM_QUICK=1``) through a Jupyter kernel."""

import json
import os
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def _execute(name, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat", reason="nbformat is needed to run notebooks")
    nbclient = pytest.importorskip("nbclient", reason="nbclient is needed to run notebooks")
    pytest.importorskip("ipykernel", reason="ipykernel is needed to run notebooks")
    monkeypatch.setenv("PGM_QUICK", "1")
    # The kernel's inline backend stores figures as PNG outputs (Agg would store none).
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    # One BLAS thread in the kernel: on a loaded 2-core machine a Jupyter kernel's threaded
    # OpenBLAS was measured 20x slower than one thread (a 784-100-200 DBM fit: 28.8 s against
    # 1.5 s; the same fit outside a kernel is unaffected), enough to pass the cell timeout.
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    # The kernel must import this checkout's pgm, wherever pytest was started.
    root = str(NOTEBOOKS.parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbclient.NotebookClient(
        nb, timeout=300, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    return nb


def _require(what, *loaders):
    """Skip, naming ``what``, unless every ``(loader, kwargs)`` finds its data set."""
    try:
        for loader, kwargs in loaders:
            loader(**kwargs)
    except FileNotFoundError:
        pytest.skip(f"{what} not found (set PGM_DATA_DIR to the data folder)")


def _outputs_text(nb):
    return json.dumps([c.get("outputs", []) for c in nb.cells if c.cell_type == "code"])


def test_custom_model_notebook_runs(tmp_path, monkeypatch):
    nb = _execute("custom_model.ipynb", tmp_path, monkeypatch)
    text = _outputs_text(nb)
    assert "max |analytic - numeric|" in text and "log-likelihood" in text
    assert '"ename"' not in text


def test_rbm_mnist_loglik_notebook_runs(tmp_path, monkeypatch):
    from pgm.datasets import load_binarized_mnist

    _require("binarized MNIST", (load_binarized_mnist, {"split": "test"}))
    nb = _execute("rbm_mnist_loglik.ipynb", tmp_path, monkeypatch)
    text = _outputs_text(nb)
    assert "test log-likelihood" in text and "image/png" in text


def test_dbn_mnist_notebook_runs(tmp_path, monkeypatch):
    from pgm.datasets import load_mnist

    _require("MNIST", (load_mnist, {"split": "test"}))
    nb = _execute("dbn_mnist.ipynb", tmp_path, monkeypatch)
    text = _outputs_text(nb)
    assert "test error" in text and "image/png" in text
    assert '"ename"' not in text


def test_dbm_mnist_notebook_runs(tmp_path, monkeypatch):
    from pgm.datasets import load_binarized_mnist, load_mnist

    _require(
        "MNIST or binarized MNIST",
        (load_binarized_mnist, {"split": "test"}),
        (load_mnist, {"split": "test"}),
    )
    nb = _execute("dbm_mnist.ipynb", tmp_path, monkeypatch)
    text = _outputs_text(nb)
    assert "test log-likelihood bound" in text and "image/png" in text
    assert "mean-field bound <= log p(v): True" in text
    assert '"ename"' not in text


def test_horse_segmentation_notebook_runs(tmp_path, monkeypatch):
    from pgm.datasets import find_data_dir

    if find_data_dir("weizmann_horse", required=("SHA256SUMS",)) is None:
        pytest.skip("weizmann_horse not found (set PGM_DATA_DIR to the data folder)")
    nb = _execute("horse_segmentation.ipynb", tmp_path, monkeypatch)
    text = _outputs_text(nb)
    assert "shape_prior_crf  test pixel accuracy" in text and "image/png" in text
    assert '"ename"' not in text


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_stored_notebooks_are_executed_and_machine_independent(name):
    nb = json.loads((NOTEBOOKS / name).read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c.get("execution_count") for c in code), "notebook stored without execution"
    text = json.dumps(nb)
    assert "image/png" in text or name == "custom_model.ipynb"
    # Paths of this machine: the checkout's parent folder and the user's home.
    for marker in (str(NOTEBOOKS.resolve().parents[1]), str(Path.home())):
        if len(marker) > 1:  # a root-level home ("/") says nothing
            assert marker + "/" not in text, f"{name} holds a machine path ({marker})"
