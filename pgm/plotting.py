"""Figures for energy-based models: filters, samples and training curves.

Every function builds a :class:`matplotlib.figure.Figure` directly (not
through ``pyplot``), so nothing here depends on or changes the interactive
backend and nothing is ever shown; PNG files are rendered with Agg. The
figure is returned for further editing and, when ``path`` is given, saved.
To draw into a pyplot figure instead, pass ``ax=`` (e.g. from
``plt.subplots()``).

Examples
--------
>>> import numpy as np
>>> weights = np.random.default_rng(0).normal(size=(64, 12))
>>> fig = plot_filters(weights, (8, 8))
>>> len(fig.axes)
1
"""

from __future__ import annotations

import math
import numbers
import os

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from numpy.typing import ArrayLike, NDArray

from pgm._validation import as_float_array, check_positive_int

__all__ = ["tile_images", "plot_filters", "plot_samples", "plot_training_curve"]

_SCALES = ("tile", "global", None)


def _check_image_shape(image_shape) -> tuple[int, int]:
    ok = (
        isinstance(image_shape, (tuple, list))
        and len(image_shape) == 2
        and all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0
            for s in image_shape
        )
    )
    if not ok:
        raise ValueError(
            f"image_shape must be a pair of positive integers (height, width), got {image_shape!r}"
        )
    return int(image_shape[0]), int(image_shape[1])


def _grid(n_tiles: int, n_cols) -> tuple[int, int]:
    if n_cols is None:
        n_cols = math.ceil(math.sqrt(n_tiles))
    else:
        n_cols = check_positive_int(n_cols, "n_cols")
    n_cols = min(n_cols, n_tiles)
    return math.ceil(n_tiles / n_cols), n_cols


def _minmax_scale(x: np.ndarray, axis) -> np.ndarray:
    """Scale to [0, 1] over ``axis``; a constant block maps to 0.5 (no 0/0)."""
    low = x.min(axis=axis, keepdims=True)
    span = x.max(axis=axis, keepdims=True) - low
    out = np.full_like(x, 0.5)
    np.divide(x - low, span, out=out, where=span > 0)
    return out


def tile_images(
    images: ArrayLike,
    image_shape: tuple[int, int],
    *,
    n_cols: int | None = None,
    padding: int = 1,
    scale: str | None = "tile",
) -> NDArray[np.float64]:
    """Arrange flat images into one mosaic array, row by row.

    Parameters
    ----------
    images : array_like of shape (n_images, height * width)
        One flattened image per row, in row-major pixel order.
    image_shape : (int, int)
        ``(height, width)`` of each image.
    n_cols : int, optional
        Tiles per mosaic row; default ``ceil(sqrt(n_images))``.
    padding : int, default 1
        Pixels of NaN (drawn as background) between neighbouring tiles.
    scale : {"tile", "global", None}, default "tile"
        ``"tile"`` maps each image to [0, 1] by its own minimum and maximum
        (the usual way to show filters, whose scales differ); ``"global"``
        uses one minimum and maximum for all; None keeps the values. A
        constant image (or set) maps to 0.5.

    Returns
    -------
    mosaic : ndarray of shape (n_rows * step_h - padding, n_cols * step_w - padding)
        With ``step_h = height + padding``, ``step_w = width + padding`` and
        ``n_rows = ceil(n_images / n_cols)``. Tile ``k`` sits at grid
        row ``k // n_cols``, column ``k % n_cols``; unused slots and padding
        are NaN.

    Raises
    ------
    ValueError
        If ``images`` is not 2-D with ``height * width`` columns and at least
        one row, holds NaN or infinite values, or an option is invalid.

    Examples
    --------
    >>> tile_images(np.eye(4), (2, 2), padding=0).astype(int)
    array([[1, 0, 0, 1],
           [0, 0, 0, 0],
           [0, 0, 0, 0],
           [1, 0, 0, 1]])
    """
    height, width = _check_image_shape(image_shape)
    x = as_float_array(images, "images", shape=(None, height * width))
    n = x.shape[0]
    if n == 0:
        raise ValueError("images must hold at least one image, got 0 rows")
    padding = check_positive_int(padding, "padding", minimum=0)
    if scale not in _SCALES:
        raise ValueError(f"scale must be 'tile', 'global' or None, got {scale!r}")
    if scale == "tile":
        x = _minmax_scale(x, axis=1)
    elif scale == "global":
        x = _minmax_scale(x, axis=None)
    n_rows, n_cols = _grid(n, n_cols)
    step_h, step_w = height + padding, width + padding
    mosaic = np.full((n_rows * step_h - padding, n_cols * step_w - padding), np.nan)
    for k in range(n):
        r, c = divmod(k, n_cols)
        mosaic[r * step_h : r * step_h + height, c * step_w : c * step_w + width] = x[k].reshape(
            height, width
        )
    return mosaic


def _figure_and_axes(ax: Axes | None, figsize) -> tuple[Figure, Axes]:
    if ax is None:
        fig = Figure(figsize=figsize, layout="constrained")
        return fig, fig.add_subplot()
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    fig = ax.figure
    while not isinstance(fig, Figure):  # a SubFigure: save the whole figure
        fig = fig.figure
    return fig, ax


def _save(fig: Figure, path, dpi: float) -> None:
    if path is not None:
        path = os.fspath(path)
        # The format follows the file suffix; a path without one gets PNG.
        fmt = None if os.path.splitext(path)[1] else "png"
        fig.savefig(path, format=fmt, dpi=dpi)


def _show_mosaic(ax: Axes, mosaic: np.ndarray, cmap: str, vmin, vmax, title) -> None:
    ax.imshow(mosaic, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_axis_off()
    if title is not None:
        ax.set_title(title)


def plot_filters(
    weights: ArrayLike,
    image_shape: tuple[int, int],
    *,
    n_max: int = 100,
    n_cols: int | None = None,
    scale: str | None = "tile",
    cmap: str = "gray",
    title: str | None = None,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    path: str | os.PathLike | None = None,
    dpi: float = 100,
) -> Figure:
    """Show the columns of a weight matrix as image tiles (receptive fields).

    Parameters
    ----------
    weights : array_like of shape (n_visible, n_hidden)
        Weight matrix, e.g. ``rbm.weights_``; column ``j`` is hidden unit
        ``j``'s filter, ``n_visible = height * width``.
    image_shape : (int, int)
        ``(height, width)`` of one filter, e.g. ``(28, 28)`` for MNIST.
    n_max : int, default 100
        Show at most the first ``n_max`` filters.
    n_cols : int, optional
        Tiles per row; default ``ceil(sqrt(n_shown))``.
    scale : {"tile", "global", None}, default "tile"
        Grey-level scaling, see :func:`tile_images`.
    cmap : str, default "gray"
        Matplotlib colormap name.
    title : str, optional
        Axes title.
    ax : matplotlib.axes.Axes, optional
        Draw here; by default a new figure is made.
    figsize : (float, float), optional
        Size of a new figure in inches (ignored with ``ax``).
    path : str or os.PathLike, optional
        Save the figure here (format from the suffix, PNG without one).
    dpi : float, default 100
        Resolution of the saved file.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the axes (``ax``'s figure when given). Its one
        image is the mosaic from :func:`tile_images`.

    Raises
    ------
    ValueError
        If ``weights`` is not 2-D with ``height * width`` rows, or holds
        NaN/inf, or another argument is invalid.

    Examples
    --------
    >>> fig = plot_filters(np.random.default_rng(0).normal(size=(784, 20)), (28, 28))
    """
    height, width = _check_image_shape(image_shape)
    w = as_float_array(weights, "weights", ndim=2)
    if w.shape[0] != height * width:
        raise ValueError(
            f"weights must have shape (height * width, n_hidden) = ({height * width}, *) "
            f"for image_shape {(height, width)}; got {w.shape}"
        )
    if w.shape[1] == 0:
        raise ValueError("weights must have at least one column (hidden unit), got 0")
    n_max = check_positive_int(n_max, "n_max")
    mosaic = tile_images(w[:, :n_max].T, (height, width), n_cols=n_cols, scale=scale)
    fig, ax = _figure_and_axes(ax, figsize)
    vmin, vmax = (0.0, 1.0) if scale is not None else (None, None)
    _show_mosaic(ax, mosaic, cmap, vmin, vmax, title)
    _save(fig, path, dpi)
    return fig


def plot_samples(
    samples: ArrayLike,
    image_shape: tuple[int, int],
    *,
    n_max: int = 100,
    n_cols: int | None = None,
    cmap: str = "gray",
    title: str | None = None,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    path: str | os.PathLike | None = None,
    dpi: float = 100,
) -> Figure:
    """Show samples (or data) as a grid of images.

    Parameters
    ----------
    samples : array_like of shape (n_samples, n_visible) or (n_chains, n_samples, n_visible)
        One flattened image per row; 3-D input (``gibbs.sample`` layout) is
        flattened chain by chain. ``n_visible = height * width``.
    image_shape : (int, int)
        ``(height, width)`` of one image.
    n_max : int, default 100
        Show at most the first ``n_max`` images.
    n_cols, cmap, title, ax, figsize, path, dpi
        As in :func:`plot_filters`.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Values are shown unscaled: on a fixed 0-1 grey scale when all of them lie
    in [0, 1] (binary states, probabilities), otherwise from their minimum to
    their maximum. Spin states (-1/+1) thus show as black and white too.

    Raises
    ------
    ValueError
        If ``samples`` is not 2- or 3-D with ``height * width`` entries per
        image, holds NaN/inf, or another argument is invalid.

    Examples
    --------
    >>> fig = plot_samples(np.eye(16), (4, 4), path=None)
    """
    height, width = _check_image_shape(image_shape)
    x = as_float_array(samples, "samples")
    if x.ndim not in (2, 3) or x.shape[-1] != height * width:
        raise ValueError(
            "samples must have shape (n_samples, height * width) or "
            f"(n_chains, n_samples, height * width) with height * width = {height * width}; "
            f"got {x.shape}"
        )
    x = x.reshape(-1, height * width)
    if x.shape[0] == 0:
        raise ValueError("samples must hold at least one image, got 0")
    n_max = check_positive_int(n_max, "n_max")
    x = x[:n_max]
    mosaic = tile_images(x, (height, width), n_cols=n_cols, scale=None)
    low, high = float(x.min()), float(x.max())
    vmin, vmax = (0.0, 1.0) if low >= 0.0 and high <= 1.0 else (low, high)
    fig, ax = _figure_and_axes(ax, figsize)
    _show_mosaic(ax, mosaic, cmap, vmin, vmax, title)
    _save(fig, path, dpi)
    return fig


def plot_training_curve(
    history: dict[str, ArrayLike],
    *,
    xlabel: str = "epoch",
    ylabel: str | None = None,
    logy: bool = False,
    title: str | None = None,
    ax: Axes | None = None,
    panels: bool = False,
    figsize: tuple[float, float] | None = None,
    path: str | os.PathLike | None = None,
    dpi: float = 100,
) -> Figure:
    """Plot one line per recorded quantity against the epoch number.

    Parameters
    ----------
    history : dict of str to sequence of float
        E.g. ``{"train log-likelihood": [...], "valid log-likelihood": [...]}``.
        Entry ``i`` of each sequence is plotted at x = i + 1; sequences may
        differ in length. NaN entries (a value not computed that epoch) leave
        gaps.
    xlabel : str, default "epoch"
    ylabel : str, optional
    logy : bool, default False
        Logarithmic y axis; every finite value must then be positive.
    title, ax, figsize, path, dpi
        As in :func:`plot_filters`.
    panels : bool, default False
        One panel (own y axis, stacked, shared x axis) per key, for
        quantities of different scales such as a reconstruction error and a
        log-likelihood. Cannot be combined with ``ax``.

    Returns
    -------
    matplotlib.figure.Figure
        One line per key, labelled by the key, with a legend (or, with
        ``panels=True``, one panel per key titled by the key).

    Raises
    ------
    ValueError
        If ``history`` is empty or not a dict, a value is not a 1-D sequence
        of numbers, every sequence is empty, ``logy`` meets a value <= 0, or
        ``panels=True`` is given with ``ax``.

    Examples
    --------
    >>> fig = plot_training_curve({"loss": [3.0, 2.0, 1.5]})
    """
    if not isinstance(history, dict) or not history:
        raise ValueError(
            "history must be a non-empty dict mapping names to sequences of numbers, "
            f"got {history!r}"
        )
    series = {}
    for key, values in history.items():
        name = f"history[{key!r}]"
        arr = as_float_array(values, name, ndim=1, allow_nonfinite=True)
        if logy and np.any(arr[np.isfinite(arr)] <= 0):
            raise ValueError(f"{name} has values <= 0, which a log y axis (logy=True) cannot show")
        series[str(key)] = arr
    if all(arr.size == 0 for arr in series.values()):
        raise ValueError("history must hold at least one value, every sequence is empty")
    if not isinstance(panels, (bool, np.bool_)):
        raise TypeError(f"panels must be a bool, got {type(panels).__name__}")
    if panels:
        if ax is not None:
            raise ValueError("panels=True draws its own figure; it cannot be combined with ax")
        n = len(series)
        if figsize is None:
            figsize = (6.4, 1.2 + 1.8 * n)
        fig = Figure(figsize=figsize, layout="constrained")
        axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
        for axis, (key, arr) in zip(axes, series.items()):
            axis.plot(np.arange(1, arr.size + 1), arr, marker="." if arr.size < 50 else None)
            axis.set_ylabel(key if ylabel is None else ylabel)
            if logy:
                axis.set_yscale("log")
            axis.grid(True, alpha=0.3)
        axes[-1].set_xlabel(xlabel)
        if title is not None:
            fig.suptitle(title)
        _save(fig, path, dpi)
        return fig
    fig, ax = _figure_and_axes(ax, figsize)
    for key, arr in series.items():
        ax.plot(np.arange(1, arr.size + 1), arr, marker="." if arr.size < 50 else None, label=key)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.legend()
    ax.grid(True, alpha=0.3)
    _save(fig, path, dpi)
    return fig
