"""Load a benchmark script as a module, skipping (naming the data) when its dataset is absent."""

import importlib.util
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(name, loader, what):
    """``benchmarks/<name>.py`` as a module, after ``loader(split=...)`` finds both splits.

    ``what`` names the dataset in the skip reason.
    """
    try:
        loader(split="train")
        loader(split="test")
    except FileNotFoundError:
        pytest.skip(f"{what} not found (set PGM_DATA_DIR to the data folder)")
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench
