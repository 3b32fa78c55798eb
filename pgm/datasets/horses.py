"""Weizmann Horse Database loader (gray images + figure/ground masks).

Files are found with :func:`pgm.datasets.find_data_dir` (``path``, then
``PGM_DATA_DIR``, then ``~/.cache/pgm``; subfolder ``weizmann_horse``) and
every file read is checked against the folder's ``SHA256SUMS`` manifest,
whose own SHA-256 is pinned here.
"""

from __future__ import annotations

import hashlib

import numpy as np

from pgm.datasets.mnist import find_data_dir

__all__ = ["load_weizmann_horses", "horse_node_features"]

_MANIFEST_SHA256 = "e5d422c24710b9ab415970b3366835b794cce07ce262d8c61114d6c930b7d45b"
_N_IMAGES = 328


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_weizmann_horses(
    size: int = 32,
    *,
    path=None,
    split: str | None = None,
    fractions=(0.6, 0.2, 0.2),
    split_seed: int = 0,
):
    """Load the 328 gray horse images and their masks, resized to ``size x size``.

    Parameters
    ----------
    size : int
        Working resolution (square).
    path : path-like, optional
        Folder holding ``weizmann_horse/`` (or the folder itself).
    split : {"train", "validation", "test"} or None
        None returns all images.
    fractions : tuple of 3 floats
        Train/validation/test fractions of a fixed permutation from ``split_seed``.

    Returns
    -------
    images : ndarray of shape (n, size, size), float64 in [0, 1]
    masks : ndarray of shape (n, size, size), int64 in {0, 1} (1 = horse)

    Raises
    ------
    FileNotFoundError
        The data folder, an image or its mask is missing.
    ValueError
        A checksum does not match, or bad arguments.
    """
    from PIL import Image

    if not isinstance(size, int) or size < 2:
        raise ValueError(f"size must be an int >= 2; got {size!r}")
    if split not in (None, "train", "validation", "test"):
        raise ValueError(f"split must be 'train', 'validation', 'test' or None; got {split!r}")
    root = find_data_dir("weizmann_horse", path=path, required=("SHA256SUMS",))
    if root is None:
        raise FileNotFoundError(
            "Weizmann horse data not found (looked in path, $PGM_DATA_DIR and ~/.cache/pgm for "
            "weizmann_horse/SHA256SUMS)"
        )
    manifest = root / "SHA256SUMS"
    if _sha256(manifest) != _MANIFEST_SHA256:
        raise ValueError(f"{manifest} does not match its published SHA-256")
    sums = {}
    for line in manifest.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.strip()] = digest
    images, masks = [], []
    for i in range(1, _N_IMAGES + 1):
        pair = []
        for sub in ("gray", "figure_ground"):
            rel = f"{sub}/horse{i:03d}.jpg"
            f = root / rel
            if not f.is_file():
                raise FileNotFoundError(
                    f"{f} is missing (image {i} needs both gray and figure_ground)"
                )
            if _sha256(f) != sums.get(rel):
                raise ValueError(f"{f} does not match its SHA-256 in SHA256SUMS")
            with Image.open(f) as im:
                pair.append(
                    np.asarray(
                        im.convert("L").resize((size, size), Image.BILINEAR), dtype=np.float64
                    )
                )
        images.append(pair[0] / 255.0)
        masks.append((pair[1] >= 128).astype(np.int64))
    images, masks = np.stack(images), np.stack(masks)
    if split is None:
        return images, masks
    order = np.random.default_rng(split_seed).permutation(_N_IMAGES)
    n_train = int(round(fractions[0] * _N_IMAGES))
    n_val = int(round(fractions[1] * _N_IMAGES))
    idx = {
        "train": order[:n_train],
        "validation": order[n_train : n_train + n_val],
        "test": order[n_train + n_val :],
    }[split]
    idx = np.sort(idx)
    return images[idx], masks[idx]


def horse_node_features(image) -> np.ndarray:
    """Per-pixel features: intensity, texture and position (20 columns).

    The image is standardised (zero mean, unit deviation) first; the columns
    are: the standardised intensity; its Gaussian smoothings at sigma 1, 2, 4
    and 8; at sigma 1, 2 and 4, the gradient magnitude of the smoothed image,
    the Laplacian of Gaussian and the local standard deviation; the row and
    column position in [-1, 1], their squares and product; and a bias of 1.

    Parameters
    ----------
    image : ndarray of shape (h, w), values in [0, 1]

    Returns
    -------
    features : ndarray of shape (h * w, 20), row-major pixel order
    """
    from scipy.ndimage import gaussian_filter, gaussian_laplace, sobel

    img = np.asarray(image, dtype=np.float64)
    if img.ndim != 2:
        raise ValueError(f"image must have shape (h, w); got {img.shape}")
    if not np.all(np.isfinite(img)):
        raise ValueError("image must be finite")
    h, w = img.shape
    z = (img - img.mean()) / (img.std() + 1e-6)
    feats = [z] + [gaussian_filter(z, s) for s in (1, 2, 4, 8)]
    for s in (1, 2, 4):
        g = gaussian_filter(z, s)
        feats.append(np.hypot(sobel(g, axis=0), sobel(g, axis=1)))
        feats.append(gaussian_laplace(z, s))
        feats.append(np.sqrt(np.clip(gaussian_filter(z * z, s) - g * g, 0, None)))
    rr, cc = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
    feats += [rr, cc, rr**2, cc**2, rr * cc, np.ones_like(z)]
    return np.stack([f.ravel() for f in feats], axis=1)
