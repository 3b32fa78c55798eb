"""MNIST loaders: the original IDX files and the fixed binarisation.

Both loaders look for their files in the same places, in this order:

1. the ``path`` argument (a folder holding the files, or a folder with a
   ``mnist/`` or ``binarized_mnist/`` subfolder);
2. the folder named by the ``PGM_DATA_DIR`` environment variable (same rule);
3. the user cache, ``$XDG_CACHE_HOME/pgm`` (default ``~/.cache/pgm``), again
   with the same rule (downloads land in ``~/.cache/pgm/mnist``).

Every file is checked against its published SHA-256 before it is read, so a
corrupt or substituted file is an error, never a silent change of results.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import numbers
import os
import struct
import tempfile
import urllib.request
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from numpy.typing import DTypeLike, NDArray

from pgm._random import as_generator

__all__ = ["load_mnist", "load_binarized_mnist", "find_data_dir"]

#: Environment variable naming a data folder (holding ``mnist/`` and friends).
DATA_DIR_ENV = "PGM_DATA_DIR"

_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
_BINARIZED_SPLITS = ("train", "valid", "test")

# Published SHA-256 digests (see the data README; the MD5s of the same files
# match LeCun's originals).
_SHA256 = {
    "train-images-idx3-ubyte.gz": (
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
    ),
    "train-labels-idx1-ubyte.gz": (
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
    ),
    "binarized_mnist_train.mat": (
        "79a0312c7389d855cfc97e3812de3998417c5829d8a51543b56a90a91252ae7e"
    ),
    "binarized_mnist_valid.mat": (
        "7436afc856959075c7787025bb8a4ba2b520b9230ee39667c66aa7dd2819dd68"
    ),
    "binarized_mnist_test.mat": (
        "5bc30222e1e7896cbccd1e1db6b28540cc1230f4d2d5473841a5f6cc54be8d38"
    ),
}

# Files each known subfolder should hold (the default of ``find_data_dir``).
_DATASET_FILES = {
    "mnist": tuple(name for pair in _MNIST_FILES.values() for name in pair),
    "binarized_mnist": tuple(f"binarized_mnist_{s}.mat" for s in _BINARIZED_SPLITS),
}

# Public mirrors of LeCun's original files, tried in order (the first is the
# one torchvision uses, the second the one TensorFlow/Keras used).
_MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
_DOWNLOAD_TIMEOUT_S = 60.0
# Module-level indirection so tests can replace the network with a stub.
_urlopen = urllib.request.urlopen

_IDX_IMAGES_MAGIC = 2051  # 0x00000803: unsigned byte data, 3 dimensions
_IDX_LABELS_MAGIC = 2049  # 0x00000801: unsigned byte data, 1 dimension
_IMAGE_SIDE = 28
_STOCHASTIC_CHUNK_ROWS = 10_000


# ---------------------------------------------------------------- locations
def _cache_root() -> Path:
    """Return the user cache folder for pgm data (``$XDG_CACHE_HOME/pgm``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "pgm"


def _search_roots(path) -> list[Path]:
    roots = []
    if path is not None:
        roots.append(Path(os.fspath(path)).expanduser())
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        roots.append(Path(env).expanduser())
    roots.append(_cache_root())
    return roots


def _candidate_dirs(subfolder: str, path, required: tuple[str, ...]) -> list[Path]:
    """Folders examined by :func:`find_data_dir`, in search order."""
    out: list[Path] = []
    for root in _search_roots(path):
        for folder in ((root,) if required else ()) + (root / subfolder,):
            if folder not in out:
                out.append(folder)
    return out


def find_data_dir(
    subfolder: str, *, path=None, required: Iterable[str] | None = None
) -> Path | None:
    """Find the folder that holds a data set's files.

    Parameters
    ----------
    subfolder : str
        Name of the data set's folder, e.g. ``"mnist"`` or ``"binarized_mnist"``.
    path : str or os.PathLike, optional
        A folder searched first: it may hold the files itself or have a
        ``subfolder`` inside.
    required : str or iterable of str, optional
        File name(s) the folder must contain. Defaults to every file of the
        known data sets (``"mnist"``: the four IDX files,
        ``"binarized_mnist"``: the three ``.mat`` files) and to none for
        other names, in which case only ``root / subfolder`` is looked at
        and it must be an existing folder.

    Returns
    -------
    pathlib.Path or None
        The first folder holding every required file, or None.

    Notes
    -----
    Roots are searched in order: ``path``, the ``PGM_DATA_DIR`` environment
    variable, then the user cache ``$XDG_CACHE_HOME/pgm`` (``~/.cache/pgm``
    when the variable is unset). Within each root the root itself is tried
    before ``root / subfolder``. Tests and benchmarks use this to find real
    data and skip cleanly when it is absent.

    Examples
    --------
    >>> find_data_dir("no-such-dataset", path="/nonexistent") is None
    True
    """
    if not isinstance(subfolder, str) or not subfolder:
        raise ValueError(f"subfolder must be a non-empty string, got {subfolder!r}")
    if required is None:
        required = _DATASET_FILES.get(subfolder, ())
    elif isinstance(required, str):
        required = (required,)
    required = tuple(required)
    for folder in _candidate_dirs(subfolder, path, required):
        if required and all((folder / name).is_file() for name in required):
            return folder
        if not required and folder.is_dir():
            return folder
    return None


def _not_found_message(what: str, subfolder: str, path, files: tuple[str, ...]) -> str:
    looked = "\n".join(f"  - {d}" for d in _candidate_dirs(subfolder, path, files))
    return (
        f"{what}: could not find {', '.join(files)}. Looked in:\n{looked}\n"
        f"Fix: set the {DATA_DIR_ENV} environment variable to a folder that holds a "
        f"'{subfolder}/' subfolder with these files, or pass path= (a folder holding "
        f"the files or a '{subfolder}/' subfolder)."
    )


# ---------------------------------------------------------------- checksums
def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with open(file, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _verify_checksum(file: Path) -> None:
    expected = _SHA256[file.name]
    got = _sha256(file)
    if got != expected:
        raise ValueError(
            f"checksum mismatch for {file}: expected sha256 {expected}, got {got}. "
            "The file is corrupt or is not the original; delete or replace it."
        )


# ---------------------------------------------------------------- download
def _download(name: str, dest_dir: Path) -> Path:
    """Download one MNIST file into ``dest_dir``, verified, all or nothing.

    The bytes go to a temporary file in ``dest_dir`` that is renamed onto the
    final name only after its checksum matched, so an interrupted or corrupt
    download never leaves a file that a later call would trust.

    Raises
    ------
    OSError
        Listing the error from every mirror when none delivered the file.
    """
    target = dest_dir / name
    errors = []
    for mirror in _MNIST_MIRRORS:
        url = mirror + name
        try:
            dest_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=dest_dir)
        except OSError as exc:
            errors.append(f"{url}: cannot write to {dest_dir}: {exc}")
            break
        tmp = Path(tmp_name)
        try:
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as out, _urlopen(url, timeout=_DOWNLOAD_TIMEOUT_S) as resp:
                while chunk := resp.read(1 << 16):
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != _SHA256[name]:
                raise ValueError(
                    f"checksum mismatch for downloaded {name}: expected sha256 "
                    f"{_SHA256[name]}, got {digest.hexdigest()}"
                )
            os.replace(tmp, target)
            return target
        except (OSError, ValueError) as exc:  # URLError and timeouts are OSErrors
            errors.append(f"{url}: {exc}")
        finally:
            tmp.unlink(missing_ok=True)
    raise OSError("; ".join(errors))


def _locate_mnist(path, files: tuple[str, ...], download: bool) -> Path:
    folder = find_data_dir("mnist", path=path, required=files)
    if folder is not None:
        return folder
    message = _not_found_message("load_mnist", "mnist", path, files)
    if not download:
        raise FileNotFoundError(message + " Or call with download=True.")
    dest = _cache_root() / "mnist"
    try:
        for name in files:
            if not (dest / name).is_file():
                _download(name, dest)
    except OSError as exc:
        raise FileNotFoundError(
            f"{message}\nDownloading into {dest} failed (offline?): {exc}"
        ) from None
    return dest


# ---------------------------------------------------------------- IDX format
def _read_idx(file: Path, *, magic: int, shape_tail: tuple[int, ...]) -> NDArray[np.uint8]:
    """Read a gzip-compressed IDX file of unsigned bytes, checking its header.

    Parameters
    ----------
    file : pathlib.Path
        The ``.gz`` file.
    magic : int
        Expected magic number (2051 for images, 2049 for labels).
    shape_tail : tuple of int
        Expected dimensions after the first (count) dimension.

    Returns
    -------
    ndarray of uint8, shape (count, *shape_tail)
        A read-only view of the decompressed bytes.

    Raises
    ------
    ValueError
        When the file is not gzip, the magic number or dimensions differ from
        what is expected, or the data length disagrees with the header.
    """
    try:
        with gzip.open(file, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
        raise ValueError(f"{file} is not a readable gzip file: {exc}") from None
    ndim = 1 + len(shape_tail)
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise ValueError(
            f"{file}: truncated IDX header, {len(raw)} bytes where {header_len} are needed"
        )
    got_magic = int.from_bytes(raw[:4], "big")
    if got_magic != magic:
        raise ValueError(
            f"{file}: IDX magic number is {got_magic}, expected {magic} "
            f"(unsigned bytes, {ndim} dimension{'s' if ndim > 1 else ''})"
        )
    dims = struct.unpack(f">{ndim}I", raw[4:header_len])
    if tuple(dims[1:]) != tuple(shape_tail):
        raise ValueError(
            f"{file}: IDX dimensions are {dims}, expected (count, "
            f"{', '.join(map(str, shape_tail))})"
        )
    n_bytes = math.prod(dims)
    if len(raw) - header_len != n_bytes:
        raise ValueError(
            f"{file}: header declares {n_bytes} data bytes for dimensions {dims}, "
            f"file holds {len(raw) - header_len}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_len).reshape(dims)


def _check_binarize(binarize):
    if binarize is None or (isinstance(binarize, str) and binarize in ("threshold", "stochastic")):
        return binarize
    if isinstance(binarize, numbers.Real) and not isinstance(binarize, bool):
        value = float(binarize)
        if 0.0 <= value < 1.0:
            return value
    raise ValueError(
        "binarize must be None, 'threshold', 'stochastic' or a threshold in [0, 1), "
        f"got {binarize!r}"
    )


def _check_float_dtype(dtype) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise ValueError(f"dtype must be a floating dtype: {exc}") from None
    if dt.kind != "f":
        raise ValueError(f"dtype must be a floating dtype (float32 or float64), got {dt}")
    return dt


def load_mnist(
    path=None,
    *,
    split: str = "train",
    binarize=None,
    dtype: DTypeLike = np.float64,
    seed=None,
    download: bool = True,
) -> tuple[NDArray[np.floating], NDArray[np.int64]]:
    """Load MNIST handwritten digits from the original IDX files.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Folder holding the four ``*-ubyte.gz`` files, or a folder with a
        ``mnist/`` subfolder holding them. Searched before ``PGM_DATA_DIR``
        and the user cache (see :func:`find_data_dir`).
    split : {"train", "test"}, default "train"
        ``"train"``: 60000 images; ``"test"``: the 10000 test images.
    binarize : None, "threshold", "stochastic" or float, default None
        None keeps grey levels scaled to [0, 1] (pixel / 255).
        ``"threshold"`` sets a pixel to 1 when its scaled value exceeds 0.5; a
        float ``t`` in [0, 1) uses ``t`` instead. ``"stochastic"`` draws each
        pixel from Bernoulli(pixel / 255), using ``seed``
        (Salakhutdinov & Murray 2008).
    dtype : floating dtype, default float64
        dtype of ``X`` (float32 halves the memory of the 60000 x 784 array).
    seed : None, int, numpy.random.SeedSequence or numpy.random.Generator
        Randomness for ``binarize="stochastic"``; ignored otherwise.
    download : bool, default True
        When the files are found nowhere, download them from a public mirror
        into ``~/.cache/pgm/mnist`` (``$XDG_CACHE_HOME/pgm/mnist``).

    Returns
    -------
    X : ndarray of shape (n_samples, 784)
        Images in row-major 28 x 28 pixel order, values in [0, 1] (exactly 0
        and 1 when binarised).
    y : ndarray of shape (n_samples,), dtype int64
        Digit labels 0..9.

    Raises
    ------
    ValueError
        On a bad ``split``, ``binarize`` or ``dtype``; on a checksum mismatch
        (the message names the file); on a malformed IDX header.
    FileNotFoundError
        When the files are nowhere and ``download`` is False or the download
        failed; the message lists every folder searched and how to fix it.

    Notes
    -----
    Every file's SHA-256 is checked before it is parsed (about 50 ms for the
    training images), then the IDX header (magic 2051 for images and 2049 for
    labels, 28 x 28 images, matching counts) is validated.

    References
    ----------
    Y. LeCun, C. Cortes, C. J. C. Burges, "The MNIST database of handwritten
    digits". R. Salakhutdinov and I. Murray, "On the quantitative analysis of
    deep belief networks", ICML 2008 (stochastic binarisation).

    Examples
    --------
    >>> X, y = load_mnist(split="test", binarize="threshold")  # doctest: +SKIP
    >>> X.shape, y.shape  # doctest: +SKIP
    ((10000, 784), (10000,))
    """
    if split not in _MNIST_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    binarize = _check_binarize(binarize)
    dt = _check_float_dtype(dtype)
    rng = as_generator(seed) if binarize == "stochastic" else None

    image_name, label_name = _MNIST_FILES[split]
    folder = _locate_mnist(path, (image_name, label_name), download)
    image_file, label_file = folder / image_name, folder / label_name
    _verify_checksum(image_file)
    _verify_checksum(label_file)
    images = _read_idx(image_file, magic=_IDX_IMAGES_MAGIC, shape_tail=(_IMAGE_SIDE, _IMAGE_SIDE))
    labels = _read_idx(label_file, magic=_IDX_LABELS_MAGIC, shape_tail=())
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{image_file} holds {images.shape[0]} images but {label_file} holds "
            f"{labels.shape[0]} labels"
        )
    if labels.size and labels.max() > 9:
        raise ValueError(f"{label_file}: labels must be 0..9, found {int(labels.max())}")

    n = images.shape[0]
    X = images.reshape(n, _IMAGE_SIDE * _IMAGE_SIDE).astype(dt)
    X /= 255.0
    if binarize == "stochastic":
        # Chunks bound the memory of the uniforms; the draws are the same as
        # one rng.random((n, 784)) call because the stream is consumed in order.
        for start in range(0, n, _STOCHASTIC_CHUNK_ROWS):
            block = X[start : start + _STOCHASTIC_CHUNK_ROWS]
            block[...] = rng.random(block.shape) < block
    elif binarize is not None:
        threshold = 0.5 if binarize == "threshold" else binarize
        X = (X > threshold).astype(dt)
    return X, labels.astype(np.int64)


def load_binarized_mnist(
    path=None, *, split: str = "train", dtype: DTypeLike = np.float64
) -> NDArray[np.floating]:
    """Load the fixed binarisation of MNIST used in likelihood benchmarks.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Folder holding ``binarized_mnist_{split}.mat``, or a folder with a
        ``binarized_mnist/`` subfolder holding it. Searched before
        ``PGM_DATA_DIR`` and the user cache (see :func:`find_data_dir`).
    split : {"train", "valid", "test"}, default "train"
        50000, 10000 and 10000 images respectively.
    dtype : floating dtype, default float64
        dtype of the returned array.

    Returns
    -------
    X : ndarray of shape (n_samples, 784)
        Values exactly 0 and 1, pixels in row-major 28 x 28 order. No labels
        exist for this release.

    Raises
    ------
    ValueError
        On a bad ``split`` or ``dtype``, a checksum mismatch (naming the file)
        or unexpected contents.
    FileNotFoundError
        When the file is found nowhere (this data set is not downloaded); the
        message lists every folder searched and how to fix it.

    References
    ----------
    R. Salakhutdinov and I. Murray, ICML 2008 (the binarisation);
    H. Larochelle and I. Murray, "The Neural Autoregressive Distribution
    Estimator", AISTATS 2011 (the train/valid/test release).

    Examples
    --------
    >>> X = load_binarized_mnist(split="test")  # doctest: +SKIP
    >>> X.shape  # doctest: +SKIP
    (10000, 784)
    """
    if split not in _BINARIZED_SPLITS:
        raise ValueError(f"split must be 'train', 'valid' or 'test', got {split!r}")
    dt = _check_float_dtype(dtype)
    name = f"binarized_mnist_{split}.mat"
    folder = find_data_dir("binarized_mnist", path=path, required=(name,))
    if folder is None:
        raise FileNotFoundError(
            _not_found_message("load_binarized_mnist", "binarized_mnist", path, (name,))
            + " This data set is not downloaded automatically."
        )
    file = folder / name
    _verify_checksum(file)
    import scipy.io  # deferred: only this loader needs it

    try:
        content = scipy.io.loadmat(file)
    except Exception as exc:  # scipy raises several types for bad files
        raise ValueError(f"{file} is not a readable MAT-file: {exc}") from None
    if "X" not in content:
        raise ValueError(f"{file} has no variable 'X'")
    raw = np.asarray(content["X"])
    if raw.ndim != 2 or raw.shape[1] != _IMAGE_SIDE * _IMAGE_SIDE:
        raise ValueError(f"{file}: X must have shape (n, 784), got {raw.shape}")
    if not np.all((raw == 0) | (raw == 1)):
        raise ValueError(f"{file}: X must hold only 0 and 1")
    return raw.astype(dt)
