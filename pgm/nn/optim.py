"""Minibatch optimisers for :class:`pgm.nn.Network`: momentum SGD and line-search methods.

* :func:`sgd`: classical momentum on shuffled minibatches,
  ``v <- momentum * v - learning_rate * grad``, ``theta <- theta + v``.
* :func:`line_search`: conjugate gradients (Polak-Ribiere, ``method="cg"``) or
  L-BFGS (``method="lbfgs"``) through :func:`scipy.optimize.minimize`, run for
  ``max_iter`` iterations (each one line search) on every large minibatch in
  turn, the scheme with which Hinton & Salakhutdinov (2006) fine-tuned deep
  autoencoders and classifiers (three line searches per minibatch of 1000
  cases). One minibatch holding all the data and a large ``max_iter`` is
  plain full-batch minimisation.

Both work in place on ``network.theta``, may train only some layers
(``layers=``), and return the mean minibatch loss of every epoch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.optimize
from numpy.typing import ArrayLike

from pgm._random import as_generator
from pgm._validation import check_positive_float, check_positive_int
from pgm.nn.network import Network

__all__ = ["sgd", "line_search", "train", "OPTIMIZERS"]

#: Names accepted by :func:`train` (and the estimators' ``optimizer``).
OPTIMIZERS = ("cg", "lbfgs", "sgd")
_SCIPY_METHOD = {"cg": "CG", "lbfgs": "L-BFGS-B"}


def _prepare(network, X, T, layers, batch_size, n_epochs):
    if not isinstance(network, Network):
        raise TypeError(f"network must be a pgm.nn.Network, got {type(network).__name__}")
    X = network.check_inputs(X)
    T = network.check_targets(T, X.shape[0])
    if X.shape[0] == 0:
        raise ValueError("X must hold at least one row, got 0")
    batch_size = check_positive_int(batch_size, "batch_size")
    n_epochs = check_positive_int(n_epochs, "n_epochs")
    mask = _layer_mask(network, layers)
    return X, T, mask, batch_size, n_epochs


def _layer_mask(network, layers):
    """Boolean mask over ``theta`` of the trained layers (None: all of them)."""
    if layers is None:
        return None
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__iter__"):
        raise TypeError(f"layers must be None or a sequence of layer indices, got {layers!r}")
    mask = np.zeros(network.n_params, dtype=bool)
    layers = list(layers)
    if not layers:
        raise ValueError("layers must name at least one layer to train, got none")
    for l in layers:
        if isinstance(l, bool) or not isinstance(l, (int, np.integer)):
            raise TypeError(f"layers must hold integer layer indices, got {l!r}")
        if not -network.n_layers <= l < network.n_layers:
            raise ValueError(
                f"layers: index {l} is out of range for a network of {network.n_layers} layers"
            )
        mask[network.layer_slice(int(l) % network.n_layers)] = True
    return mask


def _batches(n_rows, batch_size, rng):
    order = rng.permutation(n_rows)
    return [order[i : i + batch_size] for i in range(0, n_rows, batch_size)]


def sgd(
    network: Network,
    X: ArrayLike,
    T: ArrayLike,
    *,
    n_epochs: int = 1,
    batch_size: int = 100,
    learning_rate: float = 0.1,
    momentum: float = 0.9,
    layers=None,
    seed=None,
    callback: Callable[[int, float], object] | None = None,
    velocity: np.ndarray | None = None,
) -> list[float]:
    """Minibatch gradient descent with classical momentum, in place on ``network.theta``.

    Parameters
    ----------
    network : Network
    X : array_like of shape (n_samples, network.layer_sizes[0])
    T : array_like of shape (n_samples, network.layer_sizes[-1])
        Targets for the network's loss.
    n_epochs : int, default 1
        Passes over the shuffled data.
    batch_size : int, default 100
    learning_rate : float, default 0.1
        Step on the mean gradient of a minibatch.
    momentum : float in [0, 1), default 0.9
    layers : sequence of int, optional
        Train only these layers (the others stay fixed); default all.
    seed : None, int, SeedSequence or Generator
        Shuffling.
    callback : callable(epoch, loss), optional
        Called after every epoch with the epoch's mean minibatch loss.
    velocity : ndarray of shape (n_trained,), optional
        The momentum buffer, updated in place (``n_trained`` is ``n_params``,
        or the number of parameters in ``layers``), of the network's dtype.
        Passing the buffer of one call to the next continues the momentum, so
        that ``n`` calls of one epoch each equal one call of ``n`` epochs.
        Default: a fresh zero buffer.

    Returns
    -------
    list of float
        Mean minibatch loss of each epoch (each loss taken before its step).
    """
    X, T, mask, batch_size, n_epochs = _prepare(network, X, T, layers, batch_size, n_epochs)
    learning_rate = check_positive_float(learning_rate, "learning_rate")
    momentum = check_positive_float(momentum, "momentum", allow_zero=True)
    if momentum >= 1:
        raise ValueError(f"momentum must lie in [0, 1), got {momentum}")
    n_trained = network.n_params if mask is None else int(mask.sum())
    if velocity is None:
        velocity = np.zeros(n_trained, network.dtype)
    elif (
        not isinstance(velocity, np.ndarray)
        or velocity.shape != (n_trained,)
        or velocity.dtype != network.dtype
        or not velocity.flags.writeable
    ):
        raise ValueError(
            f"velocity must be a writeable {np.dtype(network.dtype).name} array of shape "
            f"({n_trained},) (the trained parameters), got "
            f"{getattr(velocity, 'dtype', type(velocity).__name__)} of shape "
            f"{np.shape(velocity)}"
        )
    rng = as_generator(seed)
    history = []
    for epoch in range(n_epochs):
        losses = []
        for rows in _batches(X.shape[0], batch_size, rng):
            loss, grad = network._loss_and_gradient(X[rows], T[rows])
            if mask is not None:
                grad = grad[mask]
            velocity *= momentum
            velocity -= learning_rate * grad
            if mask is None:
                network.theta += velocity
            else:
                network.theta[mask] += velocity
            losses.append(loss * len(rows))
        history.append(float(np.sum(losses) / X.shape[0]))
        if callback is not None:
            callback(epoch, history[-1])
    return history


def line_search(
    network: Network,
    X: ArrayLike,
    T: ArrayLike,
    *,
    method: str = "cg",
    n_epochs: int = 1,
    batch_size: int = 1000,
    max_iter: int = 3,
    layers=None,
    seed=None,
    gtol: float = 1e-5,
    options: dict | None = None,
    callback: Callable[[int, float], object] | None = None,
    master: np.ndarray | None = None,
) -> list[float]:
    """Conjugate gradients or L-BFGS, ``max_iter`` iterations on each large minibatch.

    Parameters
    ----------
    network : Network
    X : array_like of shape (n_samples, network.layer_sizes[0])
    T : array_like of shape (n_samples, network.layer_sizes[-1])
    method : {"cg", "lbfgs"}, default "cg"
        :func:`scipy.optimize.minimize` with ``method="CG"`` or ``"L-BFGS-B"``.
    n_epochs : int, default 1
    batch_size : int, default 1000
        Rows per minibatch; the last may be smaller. ``>= n_samples`` gives
        full-batch minimisation.
    max_iter : int, default 3
        Iterations (line searches) per minibatch.
    layers : sequence of int, optional
        Train only these layers; default all.
    seed : None, int, SeedSequence or Generator
        Shuffling.
    gtol : float, default 1e-5
        Stop a minibatch early when the gradient's largest entry falls below.
    options : dict, optional
        Further options for the scipy method (e.g. ``{"ftol": 1e-14}`` for L-BFGS-B).
    callback : callable(epoch, loss), optional
    master : ndarray of shape (n_params,), float64, optional
        The float64 parameters scipy works on, updated in place; they must
        round to ``network.theta``. Passing the array of one call to the next
        keeps the float64 digits a float32 network drops, so that ``n`` calls
        of one epoch each equal one call of ``n`` epochs. Default: a float64
        copy of ``network.theta``.

    Returns
    -------
    list of float
        Mean over the minibatches of the loss reached on each, per epoch.

    Notes
    -----
    scipy works in float64; a float32 network is evaluated in float32 and its
    loss and gradient are handed to scipy in float64.
    """
    if method not in _SCIPY_METHOD:
        raise ValueError(f"method must be one of {list(_SCIPY_METHOD)}, got {method!r}")
    X, T, mask, batch_size, n_epochs = _prepare(network, X, T, layers, batch_size, n_epochs)
    max_iter = check_positive_int(max_iter, "max_iter")
    gtol = check_positive_float(gtol, "gtol")
    if options is not None and not isinstance(options, dict):
        raise TypeError(f"options must be a dict or None, got {type(options).__name__}")
    opts = {"maxiter": max_iter, "gtol": gtol, **(options or {})}
    if master is not None and (
        not isinstance(master, np.ndarray)
        or master.shape != (network.n_params,)
        or master.dtype != np.float64
        or not master.flags.writeable
        or not np.array_equal(master.astype(network.dtype), network.theta)
    ):
        raise ValueError(
            f"master must be a writeable float64 array of shape ({network.n_params},) that "
            "rounds to network.theta"
        )
    rng = as_generator(seed)
    full = np.array(network.theta if master is None else master, dtype=np.float64)
    history = []
    for epoch in range(n_epochs):
        losses = []
        for rows in _batches(X.shape[0], batch_size, rng):
            xb, tb = X[rows], T[rows]

            def objective(x, xb=xb, tb=tb, base=full):
                if mask is None:
                    theta = x
                else:
                    theta = base.copy()
                    theta[mask] = x
                loss, grad = network._loss_and_gradient(
                    xb, tb, theta.astype(network.dtype, copy=False)
                )
                grad = grad.astype(np.float64, copy=False)
                return loss, grad if mask is None else grad[mask]

            x0 = full if mask is None else full[mask]
            result = scipy.optimize.minimize(
                objective, x0, jac=True, method=_SCIPY_METHOD[method], options=opts
            )
            if mask is None:
                full = np.array(result.x, dtype=np.float64)
            else:
                full[mask] = result.x
            losses.append(float(result.fun) * len(rows))
        network.theta[...] = full
        if master is not None:
            master[...] = full
        history.append(float(np.sum(losses) / X.shape[0]))
        if callback is not None:
            callback(epoch, history[-1])
    return history


def train(network: Network, X: ArrayLike, T: ArrayLike, optimizer: str = "cg", **kwargs):
    """Dispatch to :func:`sgd` (``"sgd"``) or :func:`line_search` (``"cg"``, ``"lbfgs"``).

    Returns
    -------
    list of float
        The per-epoch losses of the chosen optimiser.
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)}, got {optimizer!r}")
    if optimizer == "sgd":
        return sgd(network, X, T, **kwargs)
    return line_search(network, X, T, method=optimizer, **kwargs)
