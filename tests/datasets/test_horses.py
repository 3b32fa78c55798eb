"""Weizmann horse loader (skips when PGM_DATA_DIR lacks the data)."""

import numpy as np
import pytest

from pgm.datasets import find_data_dir
from pgm.datasets.horses import horse_node_features, load_weizmann_horses

_HAVE = find_data_dir("weizmann_horse", required=("SHA256SUMS",)) is not None
needs_data = pytest.mark.skipif(
    not _HAVE, reason="weizmann_horse not found under PGM_DATA_DIR or ~/.cache/pgm"
)


@needs_data
def test_load_and_split():
    images, masks = load_weizmann_horses(16)
    assert images.shape == masks.shape == (328, 16, 16)
    assert 0 <= images.min() and images.max() <= 1
    assert set(np.unique(masks)) == {0, 1}
    # README: horses cover 5-43% of each image, mean 25%; resizing blurs a little
    assert 0.15 < masks.mean() < 0.35
    parts = [load_weizmann_horses(16, split=s)[1] for s in ("train", "validation", "test")]
    assert sum(len(p) for p in parts) == 328
    again = load_weizmann_horses(16, split="test")[1]
    np.testing.assert_array_equal(again, parts[2])


def test_features_and_errors(tmp_path, monkeypatch):
    f = horse_node_features(np.random.default_rng(0).random((5, 6)))
    assert f.shape == (30, 20)
    with pytest.raises(ValueError, match="image must have shape"):
        horse_node_features(np.zeros(5))
    with pytest.raises(FileNotFoundError, match="Weizmann horse data not found"):
        monkeypatch.delenv("PGM_DATA_DIR", raising=False)
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
        monkeypatch.setenv("HOME", str(tmp_path))
        load_weizmann_horses(16, path=tmp_path / "none")
    with pytest.raises(ValueError, match="split must be"):
        load_weizmann_horses(16, split="dev")


@needs_data
def test_image_without_mask_is_an_error(tmp_path):
    """A gray image whose figure/ground mask is missing: FileNotFoundError naming the file."""
    src = find_data_dir("weizmann_horse", required=("SHA256SUMS",))
    dst = tmp_path / "weizmann_horse"
    for sub in ("gray", "figure_ground"):
        (dst / sub).mkdir(parents=True)
    (dst / "SHA256SUMS").symlink_to(src / "SHA256SUMS")
    for i in range(1, 4):
        (dst / "gray" / f"horse{i:03d}.jpg").symlink_to(src / "gray" / f"horse{i:03d}.jpg")
    (dst / "figure_ground" / "horse001.jpg").symlink_to(src / "figure_ground" / "horse001.jpg")
    with pytest.raises(FileNotFoundError, match=r"figure_ground/horse002.jpg is missing"):
        load_weizmann_horses(8, path=tmp_path)


def test_features_columns_are_what_the_docstring_says():
    rng = np.random.default_rng(1)
    img = rng.random((6, 5))
    f = horse_node_features(img)
    z = (img - img.mean()) / (img.std() + 1e-6)
    np.testing.assert_allclose(f[:, 0], z.ravel(), rtol=1e-12)
    np.testing.assert_allclose(f[:, -1], 1.0)
    # row position in [-1, 1], row-major order
    np.testing.assert_allclose(f[:, 14].reshape(6, 5)[:, 0], np.linspace(-1, 1, 6))
    assert np.all(f[:, 13] >= 0)  # a local standard deviation
    with pytest.raises(ValueError, match="image must be finite"):
        horse_node_features(np.full((3, 3), np.nan))
