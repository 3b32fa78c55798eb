"""Tests for pgm.datasets.mnist: IDX parsing, checksums, search order, download.

Synthetic tests write tiny gzip IDX files into ``tmp_path`` and register their
SHA-256 in the loader's checksum table with ``monkeypatch`` (the real table
holds the published digests, which tiny files cannot match). The network is
never touched: the download function's ``_urlopen`` is replaced by stubs.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import struct
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from pgm.datasets import find_data_dir, load_binarized_mnist, load_mnist
from pgm.datasets import mnist as mnist_module

TEST_NAMES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def _idx_bytes(array: np.ndarray, magic: int) -> bytes:
    header = struct.pack(f">I{array.ndim}I", magic, *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def _write_gz(file: Path, payload: bytes) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(file, "wb") as fh:
        fh.write(payload)


def _digest(file: Path) -> str:
    return hashlib.sha256(file.read_bytes()).hexdigest()


def write_fake_mnist(folder: Path, images: np.ndarray, labels: np.ndarray, split="test"):
    """Write a split's two IDX files into ``folder``; return their paths."""
    image_name, label_name = mnist_module._MNIST_FILES[split]
    _write_gz(folder / image_name, _idx_bytes(images, 2051))
    _write_gz(folder / label_name, _idx_bytes(labels, 2049))
    return folder / image_name, folder / label_name


def register(monkeypatch, *files: Path) -> None:
    """Make the loader's checksum table accept exactly these files."""
    for file in files:
        monkeypatch.setitem(mnist_module._SHA256, file.name, _digest(file))


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No PGM_DATA_DIR, and a user cache inside tmp_path (returned)."""
    monkeypatch.delenv("PGM_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "pgm"


@pytest.fixture
def fake_data():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(6, 28, 28), dtype=np.uint8)
    images[0] = 0
    images[1] = 255
    labels = np.array([0, 1, 2, 3, 9, 5], dtype=np.uint8)
    return images, labels


# ------------------------------------------------------------------ IDX parsing
def test_read_idx_round_trip(tmp_path, fake_data):
    images, labels = fake_data
    image_file, label_file = write_fake_mnist(tmp_path, images, labels)
    got = mnist_module._read_idx(image_file, magic=2051, shape_tail=(28, 28))
    np.testing.assert_array_equal(got, images)
    got = mnist_module._read_idx(label_file, magic=2049, shape_tail=())
    np.testing.assert_array_equal(got, labels)


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (_idx_bytes(np.zeros((2, 28, 28)), 2049), "magic number is 2049, expected 2051"),
        (_idx_bytes(np.zeros((2, 28, 27)), 2051), r"dimensions are \(2, 28, 27\)"),
        (_idx_bytes(np.zeros((2, 28, 28)), 2051)[:10], "truncated IDX header"),
        (_idx_bytes(np.zeros((2, 28, 28)), 2051)[:-1], "header declares 1568 data bytes"),
        (_idx_bytes(np.zeros((2, 28, 28)), 2051) + b"\0", "header declares 1568 data bytes"),
    ],
    ids=["wrong-magic", "wrong-dims", "truncated-header", "short-data", "long-data"],
)
def test_read_idx_rejects_bad_header(tmp_path, payload, match):
    file = tmp_path / "x.gz"
    _write_gz(file, payload)
    with pytest.raises(ValueError, match=match):
        mnist_module._read_idx(file, magic=2051, shape_tail=(28, 28))


def test_read_idx_rejects_non_gzip(tmp_path):
    file = tmp_path / "x.gz"
    file.write_bytes(_idx_bytes(np.zeros((1, 28, 28)), 2051))
    with pytest.raises(ValueError, match="not a readable gzip file"):
        mnist_module._read_idx(file, magic=2051, shape_tail=(28, 28))


# ------------------------------------------------------------------ loading
def test_load_scales_to_unit_interval(isolated, tmp_path, monkeypatch, fake_data):
    images, labels = fake_data
    register(monkeypatch, *write_fake_mnist(tmp_path / "d", images, labels))
    X, y = load_mnist(tmp_path / "d", split="test", download=False)
    assert X.shape == (6, 784) and X.dtype == np.float64
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, labels)
    np.testing.assert_allclose(X, images.reshape(6, 784) / 255.0, rtol=0, atol=0)
    assert X[0].max() == 0.0 and X[1].min() == 1.0

    X32, _ = load_mnist(tmp_path / "d", split="test", dtype=np.float32, download=False)
    assert X32.dtype == np.float32


def test_load_binarize_threshold(isolated, tmp_path, monkeypatch, fake_data):
    images, labels = fake_data
    register(monkeypatch, *write_fake_mnist(tmp_path, images, labels))
    flat = images.reshape(6, 784) / 255.0
    X, _ = load_mnist(tmp_path, split="test", binarize="threshold", download=False)
    np.testing.assert_array_equal(X, (flat > 0.5).astype(np.float64))
    X, _ = load_mnist(tmp_path, split="test", binarize=0.9, download=False)
    np.testing.assert_array_equal(X, (flat > 0.9).astype(np.float64))
    assert set(np.unique(X)) <= {0.0, 1.0}


def test_load_binarize_stochastic_uses_seed(isolated, tmp_path, monkeypatch, fake_data):
    images, labels = fake_data
    register(monkeypatch, *write_fake_mnist(tmp_path, images, labels))
    kw = dict(split="test", binarize="stochastic", download=False)
    a, _ = load_mnist(tmp_path, seed=1, **kw)
    b, _ = load_mnist(tmp_path, seed=1, **kw)
    c, _ = load_mnist(tmp_path, seed=2, **kw)
    gen, _ = load_mnist(tmp_path, seed=np.random.default_rng(1), **kw)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, gen)
    assert not np.array_equal(a, c)
    assert set(np.unique(a)) <= {0.0, 1.0}
    # Pixel 0 and 255 are deterministic under Bernoulli(pixel / 255).
    assert a[0].max() == 0.0 and a[1].min() == 1.0
    # Reference: the documented draw, u < p with u from the same generator.
    expected = np.random.default_rng(1).random((6, 784)) < images.reshape(6, 784) / 255.0
    np.testing.assert_array_equal(a, expected.astype(np.float64))


def test_checksum_mismatch_names_the_file(isolated, tmp_path, fake_data):
    images, labels = fake_data
    write_fake_mnist(tmp_path, images, labels)  # not registered: real digests differ
    with pytest.raises(ValueError, match=r"checksum mismatch for .*t10k-images-idx3-ubyte\.gz"):
        load_mnist(tmp_path, split="test", download=False)


def test_label_problems_are_reported(isolated, tmp_path, monkeypatch, fake_data):
    images, labels = fake_data
    register(monkeypatch, *write_fake_mnist(tmp_path / "a", images, labels[:5]))
    with pytest.raises(ValueError, match="holds 6 images but .* holds 5 labels"):
        load_mnist(tmp_path / "a", split="test", download=False)
    bad = labels.copy()
    bad[2] = 10
    register(monkeypatch, *write_fake_mnist(tmp_path / "b", images, bad))
    with pytest.raises(ValueError, match="labels must be 0..9, found 10"):
        load_mnist(tmp_path / "b", split="test", download=False)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(split="valid"), "split must be 'train' or 'test', got 'valid'"),
        (dict(binarize="otsu"), "binarize must be None, 'threshold', 'stochastic'"),
        (dict(binarize=1.0), "threshold in \\[0, 1\\), got 1.0"),
        (dict(binarize=True), "got True"),
        (dict(dtype=np.int64), "dtype must be a floating dtype"),
    ],
)
def test_load_mnist_rejects_bad_arguments(isolated, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_mnist(**kwargs, download=False)


# ------------------------------------------------------------------ search order
def test_search_order_path_then_env_then_cache(isolated, tmp_path, monkeypatch, fake_data):
    """Each location holds different labels; only the winner's digest is registered.

    Loading succeeds only when the loader picked the expected folder (any other
    file fails the checksum), and the labels say which one it read.
    """
    images, labels = fake_data
    explicit = tmp_path / "explicit"  # files directly in the folder
    env_root = tmp_path / "env"  # files in env_root / "mnist"
    cache = isolated / "mnist"
    files = {
        "explicit": write_fake_mnist(explicit, images, labels),
        "env": write_fake_mnist(env_root / "mnist", images, (labels + 1) % 10),
        "cache": write_fake_mnist(cache, images, (labels + 2) % 10),
    }
    monkeypatch.setenv("PGM_DATA_DIR", str(env_root))

    register(monkeypatch, *files["explicit"])
    assert find_data_dir("mnist", path=explicit, required=TEST_NAMES) == explicit
    _, y = load_mnist(explicit, split="test", download=False)
    np.testing.assert_array_equal(y, labels)

    register(monkeypatch, *files["env"])
    assert find_data_dir("mnist", required=TEST_NAMES) == env_root / "mnist"
    _, y = load_mnist(split="test", download=False)
    np.testing.assert_array_equal(y, (labels + 1) % 10)
    # An explicit folder without the files falls through to the next location.
    _, y = load_mnist(tmp_path / "empty", split="test", download=False)
    np.testing.assert_array_equal(y, (labels + 1) % 10)

    monkeypatch.delenv("PGM_DATA_DIR")
    register(monkeypatch, *files["cache"])
    assert find_data_dir("mnist", required=TEST_NAMES) == cache
    _, y = load_mnist(split="test", download=False)
    np.testing.assert_array_equal(y, (labels + 2) % 10)


def test_explicit_path_may_hold_mnist_subfolder(isolated, tmp_path, monkeypatch, fake_data):
    images, labels = fake_data
    register(monkeypatch, *write_fake_mnist(tmp_path / "root" / "mnist", images, labels))
    _, y = load_mnist(str(tmp_path / "root"), split="test", download=False)
    np.testing.assert_array_equal(y, labels)


def test_find_data_dir_defaults(isolated, tmp_path):
    assert find_data_dir("mnist", path=tmp_path) is None
    # Known data set: every file of every split is required by default.
    for name in TEST_NAMES:
        _write_gz(tmp_path / "mnist" / name, b"")
    assert find_data_dir("mnist", path=tmp_path) is None
    assert find_data_dir("mnist", path=tmp_path, required=TEST_NAMES) == tmp_path / "mnist"
    assert find_data_dir("mnist", path=tmp_path, required=TEST_NAMES[0]) == tmp_path / "mnist"
    # Unknown data set: an existing subfolder is enough.
    (tmp_path / "horses").mkdir()
    assert find_data_dir("horses", path=tmp_path) == tmp_path / "horses"
    with pytest.raises(ValueError, match="subfolder must be a non-empty string"):
        find_data_dir("")


# ------------------------------------------------------------------ download
class _FakeResponse(io.BytesIO):
    """What urlopen returns: a readable context manager."""


def test_offline_error_lists_every_place(isolated, tmp_path, monkeypatch):
    monkeypatch.setenv("PGM_DATA_DIR", str(tmp_path / "env"))
    calls = []

    def offline(url, timeout):
        calls.append(url)
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(mnist_module, "_urlopen", offline)
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(tmp_path / "explicit", split="test")
    message = str(info.value)
    for place in (
        tmp_path / "explicit",
        tmp_path / "explicit" / "mnist",
        tmp_path / "env",
        tmp_path / "env" / "mnist",
        isolated,
        isolated / "mnist",
    ):
        assert f"- {place}\n" in message
    assert "PGM_DATA_DIR" in message and "path=" in message
    assert "no network" in message and "offline" in message
    assert len(calls) == len(mnist_module._MNIST_MIRRORS)  # every mirror tried once
    assert not any((isolated / "mnist").iterdir())  # nothing partial left behind


def test_download_false_does_not_touch_network(isolated, monkeypatch):
    def forbidden(url, timeout):  # pragma: no cover - must not run
        raise AssertionError("network used")

    monkeypatch.setattr(mnist_module, "_urlopen", forbidden)
    with pytest.raises(FileNotFoundError, match="Or call with download=True"):
        load_mnist(split="test", download=False)


def test_download_into_cache_verifies_and_is_reused(isolated, tmp_path, monkeypatch, fake_data):
    images, labels = fake_data
    source = write_fake_mnist(tmp_path / "server", images, labels)
    register(monkeypatch, *source)
    served = {f.name: f.read_bytes() for f in source}
    calls = []

    def serve(url, timeout):
        calls.append(url)
        return _FakeResponse(served[url.rsplit("/", 1)[1]])

    monkeypatch.setattr(mnist_module, "_urlopen", serve)
    X, y = load_mnist(split="test")
    np.testing.assert_array_equal(y, labels)
    assert sorted(p.name for p in (isolated / "mnist").iterdir()) == sorted(TEST_NAMES)
    assert len(calls) == 2 and calls[0].startswith(mnist_module._MNIST_MIRRORS[0])
    load_mnist(split="test")
    assert len(calls) == 2  # second call found the cache


def test_corrupt_download_leaves_no_file(isolated, tmp_path, monkeypatch, fake_data):
    images, labels = fake_data
    register(monkeypatch, *write_fake_mnist(tmp_path / "server", images, labels))
    monkeypatch.setattr(mnist_module, "_urlopen", lambda url, timeout: _FakeResponse(b"junk"))
    with pytest.raises(FileNotFoundError, match="checksum mismatch for downloaded t10k-images"):
        load_mnist(split="test")
    assert os.listdir(isolated / "mnist") == []


def test_interrupted_download_leaves_no_file(isolated, tmp_path, monkeypatch, fake_data):
    images, labels = fake_data
    register(monkeypatch, *write_fake_mnist(tmp_path / "server", images, labels))

    class Broken(_FakeResponse):
        def read(self, size=-1):
            if self.tell() > 0:
                raise TimeoutError("connection dropped")
            return super().read(4)

    monkeypatch.setattr(mnist_module, "_urlopen", lambda url, timeout: Broken(b"0123456789"))
    with pytest.raises(FileNotFoundError, match="connection dropped"):
        load_mnist(split="test")
    assert os.listdir(isolated / "mnist") == []


# ------------------------------------------------------------------ binarized MNIST
def _write_mat(folder: Path, split: str, X) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / f"binarized_mnist_{split}.mat"
    scipy.io.savemat(file, {"X": X}, do_compression=True)
    return file


def test_load_binarized_mnist_fake(isolated, tmp_path, monkeypatch):
    X = (np.random.default_rng(3).random((5, 784)) < 0.2).astype(np.uint8)
    register(monkeypatch, _write_mat(tmp_path / "binarized_mnist", "valid", X))
    got = load_binarized_mnist(tmp_path, split="valid")
    assert got.dtype == np.float64 and got.shape == (5, 784)
    np.testing.assert_array_equal(got, X)


def test_load_binarized_mnist_errors(isolated, tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="not downloaded automatically") as info:
        load_binarized_mnist(tmp_path, split="test")
    assert f"- {tmp_path / 'binarized_mnist'}\n" in str(info.value)
    with pytest.raises(ValueError, match="split must be 'train', 'valid' or 'test'"):
        load_binarized_mnist(split="validation")

    _write_mat(tmp_path / "a", "test", np.zeros((2, 784), dtype=np.uint8))
    with pytest.raises(ValueError, match="checksum mismatch for .*binarized_mnist_test.mat"):
        load_binarized_mnist(tmp_path / "a", split="test")
    register(monkeypatch, _write_mat(tmp_path / "b", "test", np.full((2, 784), 2, np.uint8)))
    with pytest.raises(ValueError, match="must hold only 0 and 1"):
        load_binarized_mnist(tmp_path / "b", split="test")
    register(monkeypatch, _write_mat(tmp_path / "c", "test", np.zeros((2, 783), np.uint8)))
    with pytest.raises(ValueError, match=r"shape \(n, 784\), got \(2, 783\)"):
        load_binarized_mnist(tmp_path / "c", split="test")


# ------------------------------------------------------------------ real data
def _real_data_root() -> Path:
    root = os.environ.get("PGM_DATA_DIR")
    if not root:
        pytest.skip("PGM_DATA_DIR is not set; point it at a folder holding mnist/")
    return Path(root)


def test_real_mnist_test_split():
    root = _real_data_root()
    if find_data_dir("mnist", path=root, required=TEST_NAMES) is None:
        pytest.skip(f"no MNIST test files under PGM_DATA_DIR={root}")
    X, y = load_mnist(root, split="test", download=False)
    assert X.shape == (10000, 784) and X.dtype == np.float64
    assert X.min() == 0.0 and X.max() == 1.0
    # Class counts of the MNIST test set (LeCun et al.).
    expected = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    np.testing.assert_array_equal(np.bincount(y, minlength=10), expected)


def test_real_binarized_mnist_test_split():
    root = _real_data_root()
    if find_data_dir("binarized_mnist", path=root, required=["binarized_mnist_test.mat"]) is None:
        pytest.skip(f"no binarized_mnist_test.mat under PGM_DATA_DIR={root}")
    X = load_binarized_mnist(root, split="test")
    assert X.shape == (10000, 784)
    # The release's ones-fraction is about 0.13 (data README).
    assert 0.12 < X.mean() < 0.14
