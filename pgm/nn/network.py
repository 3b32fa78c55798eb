"""A feed-forward network of dense layers, its loss and its gradient by backpropagation.

All parameters live in one flat vector ``theta`` (layer by layer: the weight
matrix of layer ``l`` row-major, then its bias), and the network's
``weights``/``biases`` are views into it, so that an optimiser from
:mod:`scipy.optimize` can work on ``theta`` directly and the gradient comes
back in the same layout (:meth:`Network.pack`, :meth:`Network.unpack`).

The loss is fixed by the output activation, each the negative log-likelihood
of a matching output distribution, computed from the output layer's total
input ``z`` in log space:

==========  ==================================================  =====================
output      loss of one row (summed over the output units)      ``dloss / dz``
==========  ==================================================  =====================
softmax     ``-sum_k t_k log softmax(z)_k``                     ``softmax(z) sum(t) - t``
sigmoid     ``sum_k softplus(z_k) - t_k z_k`` (Bernoulli CE)    ``sigmoid(z) - t``
linear      ``sum_k (z_k - t_k)^2 / 2`` (squared error)         ``z - t``
==========  ==================================================  =====================

The objective is the mean of that loss over the rows plus the L2 penalty
``weight_decay / 2 * sum_l ||W_l||^2`` on the weights (biases are not
penalised).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit, logsumexp, softmax

from pgm._params import float_dtype
from pgm._random import as_generator
from pgm._validation import as_float_array, check_positive_float, check_positive_int

__all__ = ["Network", "HIDDEN_ACTIVATIONS", "OUTPUT_ACTIVATIONS", "LOSSES"]

#: Activations allowed in hidden layers.
HIDDEN_ACTIVATIONS = ("sigmoid", "linear")
#: Activations allowed in the output layer.
OUTPUT_ACTIVATIONS = ("softmax", "sigmoid", "linear")
#: The loss each output activation implies.
LOSSES = {
    "softmax": "cross_entropy",
    "sigmoid": "bernoulli_cross_entropy",
    "linear": "squared_error",
}


class Network:
    """A feed-forward network: dense layers, sigmoid or linear hidden units, and a loss.

    Parameters
    ----------
    layer_sizes : sequence of int, length n_layers + 1
        Widths bottom first; ``layer_sizes[0]`` is the input width and the
        last entry the output width. Two entries make a net with no hidden
        layer (logistic or softmax regression).
    activations : sequence of str, length n_layers
        Activation of each non-input layer, bottom first: ``"sigmoid"`` or
        ``"linear"`` for hidden layers, ``"softmax"``, ``"sigmoid"`` or
        ``"linear"`` for the output layer (which fixes the loss; see the
        module docstring).
    weight_decay : float, default 0.0
        L2 penalty ``weight_decay / 2 * sum ||W_l||^2`` added to the mean loss.
    dtype : numpy.float64 or numpy.float32, default numpy.float64
        Precision of the parameters and of every forward and backward pass.

    Attributes
    ----------
    theta : ndarray of shape (n_params,)
        All parameters; ``weights`` and ``biases`` are views into it. Starts at zero.
    weights : list of ndarray, weights[l] of shape (layer_sizes[l], layer_sizes[l + 1])
    biases : list of ndarray, biases[l] of shape (layer_sizes[l + 1],)
    loss_name : str
        ``"cross_entropy"``, ``"bernoulli_cross_entropy"`` or ``"squared_error"``.

    Notes
    -----
    Layer ``l + 1`` computes ``a_{l+1} = f_{l+1}(a_l W_l + b_l)`` with
    ``a_0 = X``. Backpropagation: with ``delta_L = dloss/dz`` of the output,
    ``dW_l = a_l^T delta_{l+1} / n + weight_decay * W_l``,
    ``db_l = sum_rows(delta_{l+1}) / n`` and
    ``delta_l = (delta_{l+1} W_l^T) * f_l'(.)``, where ``f' = a (1 - a)``
    for a sigmoid and 1 for a linear layer.

    References
    ----------
    .. [1] D. E. Rumelhart, G. E. Hinton, R. J. Williams, "Learning
       representations by back-propagating errors", Nature 323 (1986).

    Examples
    --------
    >>> import numpy as np
    >>> from pgm.nn import Network
    >>> net = Network([3, 4, 2], ["sigmoid", "softmax"]).initialise(seed=0)
    >>> X, T = np.eye(3), np.array([[1.0, 0], [0, 1], [1, 0]])
    >>> loss, grad = net.loss_and_gradient(X, T)
    >>> grad.shape == net.theta.shape
    True
    """

    def __init__(
        self,
        layer_sizes: ArrayLike,
        activations,
        *,
        weight_decay: float = 0.0,
        dtype=np.float64,
    ):
        sizes = _check_layer_sizes(layer_sizes, "layer_sizes", minimum_length=2)
        activations = _check_activations(activations, len(sizes) - 1)
        self.layer_sizes = sizes
        self.activations = activations
        self.weight_decay = check_positive_float(weight_decay, "weight_decay", allow_zero=True)
        self.dtype = float_dtype(dtype, "dtype")
        self.loss_name = LOSSES[activations[-1]]
        self._shapes = [(sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1)]
        self._offsets = [0]
        for n_in, n_out in self._shapes:
            self._offsets.append(self._offsets[-1] + n_in * n_out + n_out)
        self.theta = np.zeros(self._offsets[-1], dtype=self.dtype)
        self.weights, self.biases = self.unpack(self.theta)

    # ------------------------------------------------------------ parameters
    @classmethod
    def from_parameters(
        cls,
        weights,
        biases,
        activations,
        *,
        weight_decay: float = 0.0,
        dtype=np.float64,
    ) -> Network:
        """Build a network from given weights and biases (copied).

        Parameters
        ----------
        weights : sequence of array_like, weights[l] of shape (n_l, n_{l+1})
        biases : sequence of array_like, biases[l] of shape (n_{l+1},)
        activations : sequence of str, one per layer (see the class docstring)
        weight_decay : float, default 0.0
        dtype : numpy.float64 or numpy.float32, default numpy.float64

        Raises
        ------
        TypeError
            If ``weights`` or ``biases`` is not a sequence of arrays.
        ValueError
            On shapes that do not chain, non-finite entries or bad activations.
        """
        weights, biases = check_weights_and_biases(weights, biases)
        sizes = [weights[0].shape[0]] + [w.shape[1] for w in weights]
        net = cls(sizes, activations, weight_decay=weight_decay, dtype=dtype)
        for dst, src in zip(net.weights + net.biases, weights + biases, strict=True):
            dst[...] = src
        return net

    @property
    def n_layers(self) -> int:
        """Number of weight layers (hidden layers plus the output layer)."""
        return len(self._shapes)

    @property
    def n_params(self) -> int:
        """Length of ``theta``."""
        return int(self._offsets[-1])

    def layer_slice(self, layer: int) -> slice:
        """The part of ``theta`` that holds layer ``layer``'s weights and bias."""
        return slice(self._offsets[layer], self._offsets[layer + 1])

    def unpack(self, theta: NDArray) -> tuple[list[NDArray], list[NDArray]]:
        """Split a flat vector into (weights, biases) views in this network's layout.

        Parameters
        ----------
        theta : ndarray of shape (n_params,)

        Returns
        -------
        weights : list of ndarray views, weights[l] of shape (n_l, n_{l+1})
        biases : list of ndarray views, biases[l] of shape (n_{l+1},)
        """
        theta = np.asarray(theta)
        if theta.shape != (self.n_params,):
            raise ValueError(f"theta must have shape ({self.n_params},), got {theta.shape}")
        weights, biases = [], []
        for (n_in, n_out), start in zip(self._shapes, self._offsets, strict=False):
            weights.append(theta[start : start + n_in * n_out].reshape(n_in, n_out))
            biases.append(theta[start + n_in * n_out : start + n_in * n_out + n_out])
        return weights, biases

    def pack(self, weights, biases) -> NDArray:
        """Concatenate weights and biases into a fresh flat vector (inverse of :meth:`unpack`).

        Raises
        ------
        ValueError
            If the shapes differ from this network's.
        """
        weights = list(weights)
        biases = list(biases)
        if len(weights) != self.n_layers or len(biases) != self.n_layers:
            raise ValueError(
                f"weights and biases must each hold {self.n_layers} arrays, got "
                f"{len(weights)} and {len(biases)}"
            )
        theta = np.empty(self.n_params, dtype=self.dtype)
        dst_w, dst_b = self.unpack(theta)
        for l, (n_in, n_out) in enumerate(self._shapes):
            dst_w[l][...] = as_float_array(
                weights[l], f"weights[{l}]", shape=(n_in, n_out), dtype=self.dtype, copy=False
            )
            dst_b[l][...] = as_float_array(
                biases[l], f"biases[{l}]", shape=(n_out,), dtype=self.dtype, copy=False
            )
        return theta

    def set_theta(self, theta: ArrayLike) -> None:
        """Copy ``theta`` (shape (n_params,), finite) into the network's parameters."""
        theta = as_float_array(theta, "theta", shape=(self.n_params,), dtype=self.dtype)
        self.theta[...] = theta

    def initialise(self, seed=None, layers=None) -> Network:
        """Draw random weights and zero biases for the given layers (default: all).

        Weights are uniform on ``[-r, r]`` with ``r = sqrt(6 / (n_in + n_out))``
        (Glorot & Bengio 2010) for layers with linear or softmax units, and
        ``r = 4 sqrt(6 / (n_in + n_out))`` for layers of sigmoid units, the
        sigmoid version of the same rule (its slope at 0 is 1/4, so a
        quarter-size range shrinks the back-propagated gradient about
        fourfold per sigmoid layer and a deep sigmoid net from random weights
        sits on the plateau of the uniform class distribution).

        Parameters
        ----------
        seed : None, int, SeedSequence or Generator
        layers : iterable of int, optional
            Layer indices to initialise; the others keep their values.

        Returns
        -------
        self
        """
        rng = as_generator(seed)
        for l in range(self.n_layers) if layers is None else layers:
            n_in, n_out = self._shapes[l]
            bound = np.sqrt(6.0 / (n_in + n_out))
            if self.activations[l] == "sigmoid":
                bound *= 4.0
            self.weights[l][...] = rng.uniform(-bound, bound, size=(n_in, n_out))
            self.biases[l][...] = 0.0
        return self

    # ---------------------------------------------------------- computations
    def check_inputs(self, X: ArrayLike, name: str = "X") -> NDArray:
        """Validate a batch of inputs: 2-D, ``layer_sizes[0]`` columns, finite; returns an array."""
        X = as_float_array(X, name, ndim=2, dtype=self.dtype, copy=False)
        if X.shape[1] != self.layer_sizes[0]:
            raise ValueError(
                f"{name} has {X.shape[1]} features, but the network expects "
                f"{self.layer_sizes[0]} (layer_sizes[0])"
            )
        return X

    def check_targets(self, T: ArrayLike, n_rows: int, name: str = "T") -> NDArray:
        """Validate targets for the loss: shape (n_rows, n_out), finite, in [0, 1] for CE."""
        T = as_float_array(
            T, name, shape=(n_rows, self.layer_sizes[-1]), dtype=self.dtype, copy=False
        )
        if self.loss_name != "squared_error" and T.size and (T.min() < 0 or T.max() > 1):
            raise ValueError(
                f"{name} must lie in [0, 1] for the {self.loss_name} loss (probabilities), "
                f"got values in [{float(T.min())}, {float(T.max())}]"
            )
        return T

    def forward(self, X: ArrayLike, theta: NDArray | None = None) -> list[NDArray]:
        """Every layer's output, bottom first, for a batch of inputs.

        Parameters
        ----------
        X : array_like of shape (n_samples, layer_sizes[0])
        theta : ndarray of shape (n_params,), optional
            Parameters to use instead of the network's own.

        Returns
        -------
        list of ndarray, length n_layers + 1
            ``[X, a_1, ..., a_L]``; ``a_L`` holds the output probabilities
            (softmax, sigmoid) or values (linear).
        """
        X = self.check_inputs(X)
        acts, z = self._forward(X, theta)
        acts.append(_output(self.activations[-1], z))
        return acts

    def propagate(self, X: ArrayLike, start: int = 0, stop: int | None = None) -> NDArray:
        """Carry activations of layer ``start`` up to layer ``stop`` (default: the output).

        Layer 0 is the input; layer ``l >= 1`` is the output of weight layer
        ``l - 1``, so ``propagate(X)`` equals ``predict(X)`` and, for an
        autoencoder, ``propagate(code, start=k)`` runs the decoder alone.

        Parameters
        ----------
        X : array_like of shape (n_samples, layer_sizes[start])
        start, stop : int
            ``0 <= start <= stop <= n_layers``.

        Returns
        -------
        ndarray of shape (n_samples, layer_sizes[stop])
        """
        stop = self.n_layers if stop is None else stop
        for value, name in ((start, "start"), (stop, "stop")):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{name} must be an integer layer index, got {value!r}")
        if not 0 <= start <= stop <= self.n_layers:
            raise ValueError(
                f"start and stop must satisfy 0 <= start <= stop <= {self.n_layers}, got "
                f"start={start}, stop={stop}"
            )
        a = as_float_array(X, "X", ndim=2, dtype=self.dtype, copy=False)
        if a.shape[1] != self.layer_sizes[start]:
            raise ValueError(
                f"X has {a.shape[1]} columns, but layer {start} of the network has "
                f"{self.layer_sizes[start]} units"
            )
        for l in range(start, stop):
            z = a @ self.weights[l] + self.biases[l]
            a = _output(self.activations[l], z)
        return a

    def predict(self, X: ArrayLike, theta: NDArray | None = None) -> NDArray:
        """The output layer's values (probabilities for softmax and sigmoid outputs)."""
        return self.forward(X, theta)[-1]

    def loss(self, X: ArrayLike, T: ArrayLike, theta: NDArray | None = None) -> float:
        """Mean loss over the rows plus the weight penalty (see the module docstring).

        Parameters
        ----------
        X : array_like of shape (n_samples, layer_sizes[0])
        T : array_like of shape (n_samples, layer_sizes[-1])
            Targets: class probabilities (one-hot labels) for softmax, values
            in [0, 1] for sigmoid, any reals for linear output.
        theta : ndarray of shape (n_params,), optional
        """
        X = self.check_inputs(X)
        T = self.check_targets(T, X.shape[0])
        return self._loss_and_gradient(X, T, theta, gradient=False)[0]

    def loss_and_gradient(
        self, X: ArrayLike, T: ArrayLike, theta: NDArray | None = None
    ) -> tuple[float, NDArray]:
        """The loss of :meth:`loss` and its gradient with respect to ``theta`` (backprop).

        Returns
        -------
        loss : float
        gradient : ndarray of shape (n_params,), in the layout of ``theta``
        """
        X = self.check_inputs(X)
        T = self.check_targets(T, X.shape[0])
        return self._loss_and_gradient(X, T, theta, gradient=True)

    # ----------------------------------------------------- unchecked kernels
    def _forward(self, X, theta=None):
        """Hidden outputs ``[X, a_1, ..., a_{L-1}]`` and the output's total input ``z``."""
        weights, biases = (self.weights, self.biases) if theta is None else self.unpack(theta)
        acts = [X]
        a = X
        for l in range(self.n_layers - 1):
            a = a @ weights[l] + biases[l]
            if self.activations[l] == "sigmoid":
                a = expit(a)
            acts.append(a)
        z = a @ weights[-1] + biases[-1]
        return acts, z

    def _loss_and_gradient(self, X, T, theta=None, *, gradient=True):
        """Loss (and gradient) on validated float arrays of this network's dtype."""
        if theta is not None and theta.dtype != self.dtype:
            theta = theta.astype(self.dtype)
        weights = self.weights if theta is None else self.unpack(theta)[0]
        acts, z = self._forward(X, theta)
        n = X.shape[0]
        out = self.activations[-1]
        # The loss in float64 whatever the network's dtype: a confident network's
        # cross-entropy is a small difference of two large sums, which float32 rounds
        # to noise (and a line search on it then fails). The gradient stays in dtype.
        z64 = z.astype(np.float64, copy=False)
        if out == "softmax":
            log_norm = logsumexp(z, axis=1, keepdims=True)
            row_mass = T.sum(axis=1, keepdims=True)
            log_norm64 = log_norm if z64 is z else logsumexp(z64, axis=1, keepdims=True)
            total = float(np.sum(row_mass * log_norm64) - np.sum(T * z64))
        elif out == "sigmoid":
            total = float(np.sum(np.logaddexp(0.0, z64)) - np.sum(T * z64))
        else:
            total = 0.5 * float(np.sum((z64 - T) ** 2))
        penalty = (
            0.5 * self.weight_decay * sum(float(np.sum(w * w, dtype=np.float64)) for w in weights)
        )
        loss = total / n + penalty
        if not gradient:
            return loss, None
        if out == "softmax":
            delta = np.exp(z - log_norm) * row_mass - T
        elif out == "sigmoid":
            delta = expit(z) - T
        else:
            delta = z - T
        delta /= n
        grad = np.empty(self.n_params, dtype=self.dtype)
        g_w, g_b = self.unpack(grad)
        for l in range(self.n_layers - 1, -1, -1):
            np.matmul(acts[l].T, delta, out=g_w[l])
            if self.weight_decay:
                g_w[l] += self.weight_decay * weights[l]
            g_b[l][...] = delta.sum(axis=0)
            if l:
                delta = delta @ weights[l].T
                if self.activations[l - 1] == "sigmoid":
                    a = acts[l]
                    delta *= a * (1.0 - a)
        return loss, grad


# ------------------------------------------------------------------ helpers
def _output(activation, z):
    if activation == "softmax":
        return softmax(z, axis=1)
    if activation == "sigmoid":
        return expit(z)
    return z


def _check_layer_sizes(value, name, *, minimum_length=1) -> tuple[int, ...]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise TypeError(f"{name} must be a sequence of positive integers, got {value!r}")
    sizes = tuple(check_positive_int(s, f"{name}[{i}]") for i, s in enumerate(value))
    if len(sizes) < minimum_length:
        raise ValueError(f"{name} must hold at least {minimum_length} sizes, got {len(sizes)}")
    return sizes


def _check_activations(value, n_layers) -> tuple[str, ...]:
    if isinstance(value, str) or not hasattr(value, "__len__"):
        raise TypeError(f"activations must be a sequence of strings, got {value!r}")
    acts = tuple(value)
    if len(acts) != n_layers:
        raise ValueError(f"activations must hold one entry per layer ({n_layers}), got {len(acts)}")
    for i, act in enumerate(acts[:-1]):
        if act not in HIDDEN_ACTIVATIONS:
            raise ValueError(
                f"activations[{i}] (a hidden layer) must be one of {list(HIDDEN_ACTIVATIONS)}, "
                f"got {act!r}"
            )
    if acts[-1] not in OUTPUT_ACTIVATIONS:
        raise ValueError(
            f"activations[{n_layers - 1}] (the output layer) must be one of "
            f"{list(OUTPUT_ACTIVATIONS)}, got {acts[-1]!r}"
        )
    return acts


def check_weights_and_biases(weights, biases, *, names=("weights", "biases"), dtype=np.float64):
    """Validate a bottom-first stack of layers: weights[l] (n_l, n_{l+1}), biases[l] (n_{l+1},).

    Returns lists of fresh float arrays.

    Raises
    ------
    TypeError
        If either argument is not a sequence (a single array is refused, so
        that a bare matrix is not read as a list of rows).
    ValueError
        On an empty stack, lengths that differ, a weight matrix that is not
        2-D or has a zero dimension, shapes that do not chain, biases of the
        wrong length, or non-finite entries.
    """
    w_name, b_name = names
    for value, name in ((weights, w_name), (biases, b_name)):
        if isinstance(value, (np.ndarray, str, bytes)) or not isinstance(value, (list, tuple)):
            raise TypeError(
                f"{name} must be a list or tuple of arrays (bottom layer first), got "
                f"{type(value).__name__}"
            )
    if len(weights) == 0:
        raise ValueError(f"{w_name} must hold at least one weight matrix, got none")
    out_w = []
    for l, w in enumerate(weights):
        w = as_float_array(w, f"{w_name}[{l}]", ndim=2, dtype=dtype)
        if 0 in w.shape:
            raise ValueError(f"{w_name}[{l}] must have nonzero dimensions, got shape {w.shape}")
        if out_w and w.shape[0] != out_w[-1].shape[1]:
            raise ValueError(
                f"{w_name}[{l}] must have {out_w[-1].shape[1]} rows (the columns of "
                f"{w_name}[{l - 1}]), got shape {w.shape}"
            )
        out_w.append(w)
    if len(biases) != len(out_w):
        raise ValueError(
            f"{b_name} must hold one bias vector per weight matrix ({len(out_w)}: the biases "
            f"of layers 1..{len(out_w)}, no input bias), got {len(biases)}"
        )
    out_b = [
        as_float_array(b, f"{b_name}[{l}]", shape=(w.shape[1],), dtype=dtype)
        for l, (b, w) in enumerate(zip(biases, out_w, strict=True))
    ]
    return out_w, out_b
