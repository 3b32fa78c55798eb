"""Tests for pgm.plotting: mosaics, filter/sample figures, training curves."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported anywhere in this process

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from pgm.plotting import plot_filters, plot_samples, plot_training_curve, tile_images  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def close_figures():
    """Figures made through pyplot in a test are closed afterwards."""
    yield
    plt.close("all")


def _tiles(mosaic: np.ndarray, image_shape, padding=1) -> list[np.ndarray]:
    """Cut a mosaic back into its grid slots (including empty ones)."""
    h, w = image_shape
    rows = (mosaic.shape[0] + padding) // (h + padding)
    cols = (mosaic.shape[1] + padding) // (w + padding)
    return [
        mosaic[r * (h + padding) : r * (h + padding) + h, c * (w + padding) : c * (w + padding) + w]
        for r in range(rows)
        for c in range(cols)
    ]


def _shown_mosaic(fig: Figure) -> np.ndarray:
    (ax,) = fig.axes
    (image,) = ax.get_images()
    return np.ma.filled(image.get_array().astype(float), np.nan)


# ------------------------------------------------------------------ tile_images
def test_tile_images_layout_and_scaling():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(7, 12)) * np.arange(1, 8)[:, None]  # differing scales
    mosaic = tile_images(images, (3, 4))
    # ceil(sqrt(7)) = 3 columns, ceil(7 / 3) = 3 rows, 1-pixel gaps.
    assert mosaic.shape == (3 * 4 - 1, 3 * 5 - 1)
    tiles = _tiles(mosaic, (3, 4))
    for k, tile in enumerate(tiles):
        if k < 7:
            lo, hi = images[k].min(), images[k].max()
            np.testing.assert_allclose(tile, ((images[k] - lo) / (hi - lo)).reshape(3, 4))
        else:
            assert np.all(np.isnan(tile))  # unused slots
    assert np.all(np.isnan(mosaic[3, :])) and np.all(np.isnan(mosaic[:, 4]))  # gaps

    raw = tile_images(images, (3, 4), scale=None, n_cols=7, padding=0)
    assert raw.shape == (3, 28)
    np.testing.assert_array_equal(raw[:, 8:12], images[2].reshape(3, 4))
    glob = tile_images(images, (3, 4), scale="global", padding=0, n_cols=7)
    assert np.nanmin(glob) == 0.0 and np.nanmax(glob) == 1.0


def test_tile_images_constant_tile_is_grey():
    mosaic = tile_images(np.array([[2.0] * 4, [0.0, 1.0, 2.0, 3.0]]), (2, 2), padding=0)
    np.testing.assert_array_equal(mosaic[:, :2], 0.5)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(images=np.zeros((3, 5)), image_shape=(2, 2)), r"images must have shape \(\*, 4\)"),
        (dict(images=np.zeros((0, 4)), image_shape=(2, 2)), "at least one image"),
        (dict(images=np.zeros((1, 4)), image_shape=(2, 0)), "image_shape must be a pair"),
        (dict(images=np.zeros((1, 4)), image_shape=4), "image_shape must be a pair"),
        (dict(images=np.zeros((1, 4)), image_shape=(2, 2), scale="x"), "scale must be"),
        (dict(images=np.zeros((1, 4)), image_shape=(2, 2), n_cols=0), "n_cols must be"),
        (dict(images=np.zeros((1, 4)), image_shape=(2, 2), padding=-1), "padding must be"),
        (dict(images=[[np.nan, 0, 0, 0]], image_shape=(2, 2)), "images must be finite"),
    ],
)
def test_tile_images_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tile_images(**kwargs)


# ------------------------------------------------------------------ plot_filters
def test_plot_filters_tile_count_and_content(tmp_path):
    rng = np.random.default_rng(1)
    weights = rng.normal(size=(20, 37))  # 37 filters of 4 x 5
    fig = plot_filters(weights, (4, 5))
    assert isinstance(fig, Figure)
    tiles = _tiles(_shown_mosaic(fig), (4, 5))
    filled = [t for t in tiles if not np.all(np.isnan(t))]
    assert len(filled) == 37 and len(tiles) == 7 * 6  # ceil(sqrt(37)) = 7 columns
    # Tile j is column j of the weights, min-max scaled.
    col = weights[:, 5]
    np.testing.assert_allclose(filled[5], ((col - col.min()) / np.ptp(col)).reshape(4, 5))

    fig = plot_filters(weights, (4, 5), n_max=10, n_cols=5, title="W")
    filled = [t for t in _tiles(_shown_mosaic(fig), (4, 5)) if not np.all(np.isnan(t))]
    assert len(filled) == 10 and len(_tiles(_shown_mosaic(fig), (4, 5))) == 10
    assert fig.axes[0].get_title() == "W"


def test_plot_filters_writes_png(tmp_path):
    weights = np.random.default_rng(2).normal(size=(784, 16))
    path = tmp_path / "filters.png"
    fig = plot_filters(weights, (28, 28), path=path)
    assert path.read_bytes()[:8] == PNG_MAGIC
    no_suffix = tmp_path / "filters"
    plot_filters(weights, (28, 28), path=str(no_suffix))
    assert no_suffix.read_bytes()[:8] == PNG_MAGIC  # PNG when the path has no suffix
    assert isinstance(fig, Figure)


def test_plot_filters_into_pyplot_axes(close_figures):
    fig, axes = plt.subplots(1, 2)
    out = plot_filters(np.eye(4), (2, 2), ax=axes[1])
    assert out is fig
    assert len(axes[1].get_images()) == 1 and len(axes[0].get_images()) == 0


def test_plot_filters_shape_errors():
    with pytest.raises(ValueError, match=r"weights must have shape .*\(784, \*\).*got \(783, 5\)"):
        plot_filters(np.zeros((783, 5)), (28, 28))
    with pytest.raises(ValueError, match="weights must be 2-dimensional"):
        plot_filters(np.zeros(784), (28, 28))
    with pytest.raises(ValueError, match="at least one column"):
        plot_filters(np.zeros((4, 0)), (2, 2))
    with pytest.raises(ValueError, match="n_max must be an integer >= 1"):
        plot_filters(np.zeros((4, 2)), (2, 2), n_max=0)
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        plot_filters(np.zeros((4, 2)), (2, 2), ax="left")


# ------------------------------------------------------------------ plot_samples
def test_plot_samples_binary_and_chains(tmp_path):
    rng = np.random.default_rng(3)
    states = rng.integers(0, 2, size=(3, 5, 9))  # gibbs.sample layout
    path = tmp_path / "samples.png"
    fig = plot_samples(states, (3, 3), path=path)
    assert path.read_bytes()[:8] == PNG_MAGIC
    tiles = [t for t in _tiles(_shown_mosaic(fig), (3, 3)) if not np.all(np.isnan(t))]
    assert len(tiles) == 15
    # Chain-major flattening, values unscaled on a fixed 0-1 grey scale.
    np.testing.assert_array_equal(tiles[6], states[1, 1].reshape(3, 3))
    assert fig.axes[0].get_images()[0].get_clim() == (0.0, 1.0)

    spins = plot_samples(2.0 * states[0] - 1.0, (3, 3), n_max=2)
    assert spins.axes[0].get_images()[0].get_clim() == (-1.0, 1.0)
    assert len(_tiles(_shown_mosaic(spins), (3, 3))) == 2


def test_plot_samples_shape_errors():
    with pytest.raises(ValueError, match=r"samples must have shape .* = 9; got \(4, 8\)"):
        plot_samples(np.zeros((4, 8)), (3, 3))
    with pytest.raises(ValueError, match=r"got \(9,\)"):
        plot_samples(np.zeros(9), (3, 3))
    with pytest.raises(ValueError, match="at least one image"):
        plot_samples(np.zeros((0, 9)), (3, 3))


# ------------------------------------------------------------------ training curve
def test_plot_training_curve_lines_and_file(tmp_path):
    history = {"train": [-3.0, -2.0, -1.5, -1.4], "valid": [-3.1, np.nan, -1.7]}
    path = tmp_path / "curve.png"
    fig = plot_training_curve(history, ylabel="log-likelihood", path=path)
    assert path.read_bytes()[:8] == PNG_MAGIC
    (ax,) = fig.axes
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["train", "valid"]
    np.testing.assert_array_equal(lines[0].get_xdata(), [1, 2, 3, 4])
    np.testing.assert_array_equal(lines[1].get_ydata(), history["valid"])
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "log-likelihood"
    log_fig = plot_training_curve({"loss": [3.0, 1.0, 0.5]}, logy=True)
    assert log_fig.axes[0].get_yscale() == "log"


@pytest.mark.parametrize(
    ("history", "kwargs", "match"),
    [
        ({}, {}, "history must be a non-empty dict"),
        ([1.0, 2.0], {}, "history must be a non-empty dict"),
        ({"loss": [[1.0, 2.0]]}, {}, r"history\['loss'\] must be 1-dimensional"),
        ({"loss": []}, {}, "every sequence is empty"),
        ({"loss": [1.0, 0.0]}, {"logy": True}, r"history\['loss'\] has values <= 0"),
    ],
)
def test_plot_training_curve_errors(history, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_training_curve(history, **kwargs)


def test_plot_training_curve_refuses_strings():
    # Non-numeric dtypes are a TypeError everywhere (pgm._validation.check_numeric_dtype).
    with pytest.raises(TypeError, match=r"history\['loss'\] must be a numeric array"):
        plot_training_curve({"loss": ["a"]})


def test_training_curve_panels_one_axis_per_quantity():
    from pgm.plotting import plot_training_curve

    history = {"reconstruction_error": [0.3, 0.2, 0.1], "log_likelihood": [-40.0, -30.0, -25.0]}
    fig = plot_training_curve(history, panels=True)
    axes = fig.axes
    assert len(axes) == 2
    assert [a.get_ylabel() for a in axes] == list(history)
    for axis, values in zip(axes, history.values()):
        (line,) = axis.get_lines()
        np.testing.assert_array_equal(line.get_ydata(), values)
    # Each panel scales to its own quantity.
    assert axes[0].get_ylim()[1] < 1 and axes[1].get_ylim()[1] < 0
    with pytest.raises(ValueError, match="ax"):
        plot_training_curve(history, panels=True, ax=axes[0])
