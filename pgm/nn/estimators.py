"""scikit-learn estimators on :class:`pgm.nn.Network`: a deep classifier and a deep autoencoder.

Both can start from pretrained weights (a DBN's stack of RBMs, Hinton &
Salakhutdinov 2006) through ``from_pretrained``, which stores the weights as
constructor parameters (``init_weights`` and friends). That choice makes
:func:`sklearn.base.clone` keep the pretraining, and makes every ``fit``
start from the same place: ``fit`` fine-tunes a fresh copy of the initial
weights and never reads the weights a previous ``fit`` left behind.

Training continues through ``partial_fit``: one epoch (one pass of the
optimiser over the given rows) per call, with the optimiser state of the
previous epochs (the shuffling generator, SGD's momentum buffer, the float64
parameters of the line searches) and the epoch counter kept; ``fit`` is
written as ``n_epochs`` such epochs. ``save``/``load`` write and read all of
it as a checked ``.npz`` archive (never pickle), so that a run interrupted by
save and load continues bit for bit as it would have.
"""

from __future__ import annotations

import contextlib
import json
import os

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin

from pgm import _archive
from pgm._archive import ArchiveError
from pgm._params import anything as _anything
from pgm._params import flag as _flag
from pgm._params import float_dtype as _dtype
from pgm._params import int_at_least as _int_at_least
from pgm._params import momentum as _momentum
from pgm._params import non_negative as _non_negative
from pgm._params import optional_int as _optional_int
from pgm._params import options as _options
from pgm._params import positive as _positive
from pgm._params import schedule as _schedule
from pgm._params import seed as _seed
from pgm._random import as_generator
from pgm._validation import (
    NotFittedError,
    as_float_array,
    check_positive_int,
)
from pgm.nn import optim
from pgm.nn.network import Network, _check_layer_sizes, check_weights_and_biases

__all__ = ["DeepClassifier", "DeepAutoencoder"]

#: Rows per chunk of a prediction pass (bounds memory on large data).
_CHUNK_ROWS = 4096
#: Default minibatch: H&S used 1000 cases for the line-search methods; 100 for SGD.
_DEFAULT_BATCH = {"cg": 1000, "lbfgs": 1000, "sgd": 100}
#: Version of the ``.npz`` layout written by ``save``.
_FORMAT_VERSION = 1


# ----------------------------------------------------------------- validation
def _sizes(value, name):
    return _check_layer_sizes(value, name, minimum_length=0)


def _sizes_nonempty(value, name):
    return _check_layer_sizes(value, name, minimum_length=1)


_COMMON = {
    "optimizer": _options(*optim.OPTIMIZERS),
    "n_epochs": _int_at_least(0),
    "batch_size": _optional_int,
    "learning_rate": _positive,
    "learning_rate_schedule": _schedule,
    "momentum": _momentum,
    "weight_decay": _non_negative,
    "max_iter": _int_at_least(1),
    "dtype": _dtype,
    "random_state": _seed,
    "verbose": _flag,
}

#: The single constraints table of each estimator, checked on entry to ``fit``.
_CLASSIFIER_CONSTRAINTS = {
    "hidden_layer_sizes": _sizes,
    **_COMMON,
    "output_only_epochs": _int_at_least(0),
    "classes": _anything,  # checked against y in fit
    "init_weights": _anything,  # checked against X in fit
    "init_biases": _anything,
}
_AUTOENCODER_CONSTRAINTS = {
    "hidden_layer_sizes": _sizes_nonempty,
    "code_activation": _options("linear", "sigmoid"),
    "output_activation": _options("sigmoid", "linear"),
    **_COMMON,
    "init_weights": _anything,
    "init_hidden_biases": _anything,
    "init_visible_biases": _anything,
}


class _Params:
    def __init__(self, values):
        self.__dict__.update(values)


def _validated(estimator, table) -> _Params:
    params = estimator.get_params(deep=False)
    return _Params({name: check(params[name], name) for name, check in table.items()})


def _check_X(X, name, dtype, n_features=None, *, unit_interval=False, owner="the model"):
    """A 2-D finite float array (no copy when possible), optionally with entries in [0, 1]."""
    import scipy.sparse

    if scipy.sparse.issparse(X):
        raise TypeError(f"{name}: sparse input is not supported; pass a dense array")
    try:
        X = np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of real numbers: {exc}") from None
    if np.iscomplexobj(X):
        raise ValueError(f"Complex data not supported: {name} must hold real numbers")
    if X.dtype == object:
        try:
            X = X.astype(dtype)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must hold real numbers: {exc}") from None
    X = as_float_array(X, name, dtype=dtype, copy=False)
    if X.ndim != 2:
        raise ValueError(
            f"{name} must be 2-dimensional (n_samples, n_features), got shape {X.shape}. "
            "Reshape your data: X.reshape(-1, 1) for one feature, X.reshape(1, -1) for "
            "one sample"
        )
    for axis, what in ((0, "sample"), (1, "feature")):
        if X.shape[axis] == 0:
            raise ValueError(
                f"{name} has 0 {what}(s) (shape={X.shape}) while a minimum of 1 is required."
            )
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"{name} has {X.shape[1]} features, but {owner} is expecting {n_features} "
            "features as input"
        )
    if unit_interval and (X.min() < 0 or X.max() > 1):
        raise ValueError(
            f"{name} must have values in [0, 1] (pixel intensities read as probabilities of "
            f"the sigmoid output), got values in [{float(X.min())}, {float(X.max())}]"
        )
    return X


def _chunked(fn, X, n_out, dtype):
    out = np.empty((X.shape[0], n_out), dtype=dtype)
    for i in range(0, X.shape[0], _CHUNK_ROWS):
        out[i : i + _CHUNK_ROWS] = fn(X[i : i + _CHUNK_ROWS])
    return out


class _Trainer:
    """Optimiser state carried from epoch to epoch and from call to call.

    ``rng`` shuffles the minibatches, ``velocity`` is SGD's momentum buffer
    (over the trained parameters), ``master`` the float64 parameters the
    line searches work on (they keep digits a float32 network drops). One
    :meth:`epoch` is one pass of :func:`pgm.nn.optim.train`; ``n`` epochs
    with one trainer equal one ``optim.train`` call of ``n`` epochs.
    """

    def __init__(self, rng, velocity=None, master=None):
        self.rng = rng
        self.velocity = velocity
        self.master = master

    def epoch(self, network, X, T, p, epoch, layers=None, *, reset=False) -> float:
        """Pass ``epoch`` (0-based) over ``(X, T)`` in minibatches; ``reset`` starts afresh.

        SGD's step is ``p.learning_rate_schedule(p.learning_rate, epoch, p.n_epochs)``.
        """
        batch_size = min(p.batch_size or _DEFAULT_BATCH[p.optimizer], X.shape[0])
        if reset:
            self.velocity = self.master = None
        if p.optimizer == "sgd":
            self.master = None
            if self.velocity is None:
                self.velocity = np.zeros(_n_trained(network, layers), dtype=network.dtype)
            losses = optim.sgd(
                network, X, T, n_epochs=1, batch_size=batch_size,
                learning_rate=p.learning_rate_schedule(p.learning_rate, epoch, p.n_epochs),
                momentum=p.momentum, layers=layers, seed=self.rng, velocity=self.velocity,
            )  # fmt: skip
        else:
            self.velocity = None
            if self.master is None:
                self.master = np.array(network.theta, dtype=np.float64)
            losses = optim.line_search(
                network, X, T, method=p.optimizer, n_epochs=1, batch_size=batch_size,
                max_iter=p.max_iter, layers=layers, seed=self.rng, master=self.master,
            )  # fmt: skip
        return losses[0]


def _n_trained(network, layers) -> int:
    if layers is None:
        return network.n_params
    return sum(network.layer_slice(l).stop - network.layer_slice(l).start for l in layers)


@contextlib.contextmanager
def _progress(verbose, total, name):
    """Yields ``update(loss)``: a tqdm bar over epochs when ``verbose``, else a no-op."""
    if not verbose:
        yield lambda loss: None
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=name, unit="epoch")

    def update(loss):
        bar.update(1)
        bar.set_postfix({"loss": f"{loss:.4g}"})

    try:
        yield update
    finally:
        bar.close()


def _train(estimator, trainer, net, X, T, p, n_epochs, first_epoch, name, *, verbose=False):
    """Runs ``n_epochs`` epochs numbered from ``first_epoch``; returns their losses."""
    history = []
    with _progress(verbose, n_epochs, name) as update:
        for epoch in range(first_epoch, first_epoch + n_epochs):
            layers, reset = estimator._phase(net, epoch, p)
            history.append(trainer.epoch(net, X, T, p, epoch, layers, reset=reset))
            update(history[-1])
    return history


def _as_tuple_of_arrays(values):
    return tuple(np.array(v, dtype=np.float64) for v in values)


def _pretrained_sizes(weights, params, init_keys):
    """The hidden widths of ``weights``; refuses ``params`` that set ``init_keys`` or other sizes.

    Pops ``hidden_layer_sizes`` from ``params`` (it must agree with the weights).
    """
    sizes = tuple(int(w.shape[1]) for w in weights)
    for key in init_keys:
        if key in params:
            raise TypeError(f"from_pretrained sets {key} itself; do not pass it")
    if (
        "hidden_layer_sizes" in params
        and _sizes(params["hidden_layer_sizes"], "hidden_layer_sizes") != sizes
    ):
        raise ValueError(
            f"hidden_layer_sizes={params['hidden_layer_sizes']!r} disagrees with the "
            f"widths of weights {sizes}"
        )
    params.pop("hidden_layer_sizes", None)
    return sizes


def _check_init_widths(weights, hidden_layer_sizes, n_features):
    """Checks that checked ``init_weights`` fit ``hidden_layer_sizes`` and ``n_features`` inputs."""
    widths = tuple(w.shape[1] for w in weights)
    if widths != hidden_layer_sizes:
        raise ValueError(
            f"init_weights give hidden widths {widths}, but hidden_layer_sizes is "
            f"{hidden_layer_sizes}"
        )
    if weights[0].shape[0] != n_features:
        raise ValueError(
            f"X has {n_features} features, but init_weights[0] has {weights[0].shape[0]} "
            "rows (the input width of the pretrained network)"
        )


def _check_fitted(estimator):
    if not hasattr(estimator, "network_"):
        raise NotFittedError(
            f"This {type(estimator).__name__} instance is not fitted yet; call fit first"
        )


def _set_fitted(estimator, net, n_features, history, n_epochs, trainer):
    """Sets the fitted attributes both estimators share; returns ``estimator``."""
    estimator.n_features_in_ = n_features
    estimator.network_ = net
    estimator.weights_ = net.weights
    estimator.biases_ = net.biases
    estimator.loss_curve_ = history
    estimator.n_iter_ = n_epochs
    estimator._trainer = trainer
    return estimator


def _check_same_network(estimator, p, acts):
    """Refuses hyper-parameters changed since fit that would change the network's shape."""
    net = estimator.network_
    hidden = net.layer_sizes[1 : 1 + len(p.hidden_layer_sizes)]
    if len(net.layer_sizes) != len(acts) + 1 or tuple(hidden) != p.hidden_layer_sizes:
        raise ValueError(
            f"hidden_layer_sizes is {p.hidden_layer_sizes}, but the fitted network has layer "
            f"sizes {net.layer_sizes}; call fit to train a new network"
        )
    if tuple(acts) != net.activations:
        raise ValueError(
            f"the activations {tuple(acts)} differ from the fitted network's {net.activations}; "
            "call fit to train a new network"
        )
    if np.dtype(p.dtype) != net.dtype:
        raise ValueError(
            f"dtype is {np.dtype(p.dtype).name}, but the fitted network is "
            f"{np.dtype(net.dtype).name}; call fit to train a new network"
        )


def _one_hot(codes, n_classes, dtype):
    T = np.zeros((codes.shape[0], n_classes), dtype=dtype)
    T[np.arange(codes.shape[0]), codes] = 1.0
    return T


def _partial_fit(estimator, X, T, p):
    """One epoch over ``(X, T)`` continuing the fitted state (all checks done by the caller)."""
    net = estimator.network_
    net.weight_decay = p.weight_decay
    layers, reset = estimator._phase(net, estimator.n_iter_, p)
    loss = estimator._trainer.epoch(net, X, T, p, estimator.n_iter_, layers, reset=reset)
    estimator.loss_curve_ = [*estimator.loss_curve_, loss]
    estimator.n_iter_ += 1
    return estimator


# ---------------------------------------------------------------- persistence
_HEADER_KEYS = {"format_version", "class_name", "params_json", "param_forms_json"}
_STATE_KEYS = {"theta", "n_features_in", "n_iter", "loss_curve", "rng_state_json"}


class _Persistence:
    """``save``/``load`` shared by both estimators.

    Subclasses name their array-valued hyper-parameters in ``_ARRAY_PARAMS``
    (``"sequence"``: a tuple of float arrays; ``"labels"``: one 1-D array) and
    their extra fitted arrays in ``_FITTED_KEYS`` (written by ``_save_fitted``,
    read by ``_load_fitted``).
    """

    _ARRAY_PARAMS: dict = {}
    _FITTED_KEYS: frozenset = frozenset()

    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted estimator to ``path`` as an ``.npz`` archive (no pickle).

        The archive holds ``format_version``, ``class_name``, the
        hyper-parameters as JSON (``params_json``, with ``param_forms_json``
        recording numpy scalar types, tuples and the form of ``dtype``; the
        array-valued ones, ``init_*`` and ``classes``, as arrays
        ``param__<name>[__<l>]``), the network's parameter vector ``theta``,
        ``n_features_in``, ``n_iter``, ``loss_curve`` and the state needed to
        continue training exactly: the shuffling generator's state
        (``rng_state_json``), SGD's momentum buffer (``velocity``) or the
        line searches' float64 parameters (``master``); the classifier adds
        ``classes``. A ``Generator``/``SeedSequence`` ``random_state`` cannot
        be written and is stored as None (with a warning); the training
        generator's state is saved regardless. ``init_*`` come back from
        :meth:`load` as tuples of float64 arrays (as :meth:`from_pretrained`
        stores them) and ``classes`` as the tuple, list or array it was. The
        file is written to exactly ``path``.

        Raises
        ------
        NotFittedError
            If the estimator is not fitted.
        ValueError
            If its hyper-parameters fail the checks of ``fit`` (they could not
            be loaded), or a value cannot be written without pickle.
        """
        _check_fitted(self)
        p = self._validated()
        self._checked_init(p, self.n_features_in_)
        params = self.get_params(deep=False)
        arrays = {}
        for name, kind in self._ARRAY_PARAMS.items():
            value = params[name]
            if value is None:
                continue
            if kind == "sequence":
                for l, v in enumerate(value):
                    arrays[f"param__{name}__{l}"] = np.asarray(v, dtype=np.float64)
                params[name] = {"n_arrays": len(value)}
            else:
                arrays[f"param__{name}"] = _label_array(value, name)
                form = type(value).__name__ if isinstance(value, (tuple, list)) else "ndarray"
                params[name] = {"array": form}
        params_json, forms_json = _archive.encode_params(params)
        trainer = self._trainer
        arrays.update(
            format_version=np.array(_FORMAT_VERSION, dtype=np.int64),
            class_name=np.array(type(self).__name__),
            params_json=np.array(params_json),
            param_forms_json=np.array(forms_json),
            theta=self.network_.theta,
            n_features_in=np.array(self.n_features_in_, dtype=np.int64),
            n_iter=np.array(self.n_iter_, dtype=np.int64),
            loss_curve=np.asarray(self.loss_curve_, dtype=np.float64),
            rng_state_json=_archive.encode_generator(trainer.rng),
        )
        if trainer.velocity is not None:
            arrays["velocity"] = trainer.velocity
        if trainer.master is not None:
            arrays["master"] = trainer.master
        self._save_fitted(arrays)
        with open(path, "wb") as handle:
            np.savez(handle, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike):
        """Read an estimator written by :meth:`save` (``allow_pickle=False``), every entry checked.

        Checked: the format version and class name; the hyper-parameters
        (exactly this class's names, then the constraints of ``fit``), the
        ``init_*`` arrays (float64, finite, chaining, widths equal to
        ``hidden_layer_sizes``); ``theta`` (shape of the network the
        hyper-parameters, ``n_features_in`` and the classes imply, the stored
        ``dtype``, finite); ``n_iter >= 0``; ``loss_curve`` (float64, finite,
        one entry per epoch); the generator state; ``velocity`` (the shape of
        the parameters the last epoch trained) and ``master`` (float64, must
        round to ``theta``); the classifier's ``classes`` (1-D, sorted,
        distinct, at least 2). Unknown entries are refused.

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        ValueError
            Naming the file and the entry, if it is not an ``.npz`` archive,
            not an archive of this class and format version, or fails a check.
        """
        return _archive.read_archive(path, cls._from_archive, cls.__name__)

    @classmethod
    def _from_archive(cls, archive, where):
        files = set(archive.files)
        if not {"format_version", "class_name", "params_json"} <= files:
            raise ArchiveError(f"{where} is not a saved pgm model")
        class_name = _archive.archive_scalar(archive, "class_name", np.str_, where)
        if class_name != cls.__name__:
            raise ArchiveError(f"{where} holds a {class_name}, not a {cls.__name__}")
        version = _archive.archive_scalar(archive, "format_version", np.integer, where)
        if version != _FORMAT_VERSION:
            raise ArchiveError(
                f"{where} has format_version {version}; this pgm reads version {_FORMAT_VERSION}"
            )
        names = cls().get_params(deep=False)
        params = _archive.decode_params(archive, names, where, class_name=cls.__name__)
        array_keys = set()
        for name, kind in cls._ARRAY_PARAMS.items():
            params[name], keys = _decode_array_param(archive, params[name], name, kind, where)
            array_keys |= keys
        required = _STATE_KEYS | cls._FITTED_KEYS
        missing = sorted(required - files)
        if missing:
            raise ArchiveError(f"{where} lacks the entries {missing}")
        unknown = sorted(files - (required | _HEADER_KEYS | array_keys | {"velocity", "master"}))
        if unknown:
            raise ArchiveError(f"{where} holds unknown entries {unknown}")

        model = cls(**params)
        try:
            p = model._validated()
        except (TypeError, ValueError) as exc:
            raise ArchiveError(f"{where}: stored hyper-parameter {exc}") from None
        n_features = _archive.archive_scalar(archive, "n_features_in", np.integer, where)
        if n_features < 1:
            raise ArchiveError(f"{where}: n_features_in must be >= 1, got {n_features}")
        try:
            model._checked_init(p, n_features)
        except (TypeError, ValueError) as exc:
            raise ArchiveError(f"{where}: stored {exc}") from None
        n_outputs = model._load_fitted(archive, p, where)
        net = model._blank_network(n_features, n_outputs, p)
        net.theta[...] = _archive.archive_array(
            archive, "theta", (net.n_params,), net.dtype, where, what="(n_params,)"
        )
        n_iter = _archive.archive_scalar(archive, "n_iter", np.integer, where)
        if n_iter < 0:
            raise ArchiveError(f"{where}: n_iter must be >= 0, got {n_iter}")
        loss_curve = _archive.archive_array(
            archive, "loss_curve", (n_iter,), np.float64, where, what="(n_iter,)"
        )
        trainer = _Trainer(_archive.decode_generator(archive, where))
        if "velocity" in files:
            if n_iter == 0:
                raise ArchiveError(f"{where} holds a momentum buffer but no epoch was run")
            layers, _ = model._phase(net, n_iter - 1, p)
            trainer.velocity = _archive.archive_array(
                archive, "velocity", (_n_trained(net, layers),), net.dtype, where,
                what="(parameters trained in the last epoch,)",
            )  # fmt: skip
        if "master" in files:
            master = _archive.archive_array(
                archive, "master", (net.n_params,), np.float64, where, what="(n_params,)"
            )
            if not np.array_equal(master.astype(net.dtype), net.theta):
                raise ArchiveError(f"{where}: master must round to theta")
            trainer.master = master
        return _set_fitted(model, net, n_features, loss_curve.tolist(), n_iter, trainer)

    def _save_fitted(self, arrays):
        pass

    def _load_fitted(self, archive, p, where):
        return None


def _label_array(value, name):
    """``value`` as a 1-D array of numbers or strings (object arrays cannot be saved)."""
    arr = np.asarray(value)
    if arr.dtype == object:
        arr = np.asarray(arr.tolist())
        if arr.dtype == object or not np.array_equal(arr.astype(object), np.asarray(value)):
            raise ValueError(f"{name} must hold numbers or strings of one type to be saved")
    return arr


def _decode_array_param(archive, marker, name, kind, where):
    """The array-valued hyper-parameter ``name`` from its JSON marker; also the keys it used."""
    if marker is None:
        return None, set()
    if kind == "sequence":
        n = marker.get("n_arrays") if isinstance(marker, dict) else None
        if (
            not isinstance(marker, dict)
            or set(marker) != {"n_arrays"}
            or isinstance(n, bool)
            or not isinstance(n, int)
            or n < 1
        ):
            raise ArchiveError(
                f'{where}: stored {name} must be null or {{"n_arrays": n >= 1}}, got '
                f"{json.dumps(marker)}"
            )
        keys = [f"param__{name}__{l}" for l in range(n)]
    else:
        form = marker.get("array") if isinstance(marker, dict) else None
        if (
            not isinstance(marker, dict)
            or set(marker) != {"array"}
            or form not in ("ndarray", "tuple", "list")
        ):
            raise ArchiveError(
                f'{where}: stored {name} must be null or {{"array": "ndarray"|"tuple"|'
                f'"list"}}, got {json.dumps(marker)}'
            )
        keys = [f"param__{name}"]
    missing = sorted(set(keys) - set(archive.files))
    if missing:
        raise ArchiveError(f"{where} lacks the entries {missing} of hyper-parameter {name}")
    values = []
    for key in keys:
        value = archive[key]
        if kind == "sequence" and value.dtype != np.float64:
            raise ArchiveError(f"{where}: {key} must have dtype float64, got {value.dtype}")
        if kind != "sequence" and value.ndim != 1:
            raise ArchiveError(f"{where}: {key} must be 1-dimensional, got shape {value.shape}")
        values.append(value.copy())
    if kind == "sequence":
        return tuple(values), set(keys)
    labels = values[0]
    return {"ndarray": labels, "tuple": tuple(labels.tolist()), "list": labels.tolist()}[form], set(
        keys
    )


# ------------------------------------------------------------------ classifier
class DeepClassifier(_Persistence, ClassifierMixin, BaseEstimator):
    """A feed-forward classifier: sigmoid hidden layers and a softmax output, trained by backprop.

    The loss is the mean cross-entropy of the softmax output plus
    ``weight_decay / 2 * sum ||W_l||^2``. It can start from random weights
    or, through :meth:`from_pretrained`, from a DBN's recognition weights
    (Hinton & Salakhutdinov 2006: pretraining, then backpropagation).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default (500, 500, 2000)
        Hidden widths, bottom first (the seeds' MNIST network). ``()`` gives
        multinomial logistic regression.
    optimizer : {"cg", "lbfgs", "sgd"}, default "cg"
        Conjugate gradients or L-BFGS with ``max_iter`` line searches per
        minibatch (:func:`pgm.nn.optim.line_search`), or momentum SGD
        (:func:`pgm.nn.optim.sgd`).
    n_epochs : int, default 10
        Passes over the shuffled training data. 0 only builds the network
        (pretrained hidden layers and a random output layer), with no training.
    batch_size : int or None, default None
        Rows per minibatch; None means 1000 for "cg"/"lbfgs" and 100 for
        "sgd" (capped at the number of rows).
    learning_rate : float, default 0.1
        SGD step size (ignored by "cg" and "lbfgs").
    learning_rate_schedule : str or Schedule, default "constant"
        SGD's step at epoch ``t`` (0-based, counted across ``partial_fit``
        calls) is ``schedule(learning_rate, t, n_epochs)``; a name in
        :data:`pgm.learning.schedules.SCHEDULES` or a
        :class:`pgm.learning.schedules.Schedule` (e.g. ``"linear"`` decays to
        10% of ``learning_rate`` at epoch ``n_epochs - 1``). Ignored by "cg"
        and "lbfgs".
    momentum : float in [0, 1), default 0.9
        SGD momentum (ignored by "cg" and "lbfgs").
    weight_decay : float, default 0.0
        L2 penalty on the weights (not the biases).
    max_iter : int, default 3
        Line searches per minibatch for "cg" and "lbfgs" (H&S used 3).
    output_only_epochs : int, default 0
        The first this many of the ``n_epochs`` train only the output layer,
        as Hinton & Salakhutdinov's code does before fine-tuning everything
        (so that a random softmax layer does not spoil pretrained features).
    classes : array_like or None, default None
        All class labels. None takes the labels present in ``y``; given, ``y``
        must lie within them (a subset of the data may lack some classes).
        Either way ``classes_`` holds them sorted, as scikit-learn does.
    init_weights : tuple of array_like or None, default None
        Initial hidden weights, ``init_weights[l]`` of shape (n_l, n_{l+1})
        with layer 0 the input; set by :meth:`from_pretrained`. None draws
        random weights.
    init_biases : tuple of array_like or None, default None
        Initial hidden biases, ``init_biases[l]`` of shape (n_{l+1},).
    dtype : numpy.float64 or numpy.float32, default numpy.float64
        Precision of training (float32 is about twice as fast on large nets).
    random_state : None, int, numpy.random.SeedSequence or Generator
        Initialisation and shuffling; an int makes ``fit`` reproducible.
    verbose : bool, default False
        A tqdm progress bar over epochs.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    network_ : Network
        The trained network (layer sizes ``(n_features_in_, *hidden_layer_sizes, n_classes)``).
    weights_ : list of ndarray
        Views of ``network_.weights``; ``weights_[l]`` of shape (n_l, n_{l+1}).
    biases_ : list of ndarray
        Views of ``network_.biases``.
    loss_curve_ : list of float
        Mean minibatch loss of every epoch (fit's and partial_fit's).
    n_iter_ : int
        Epochs run (``fit`` sets it to ``n_epochs``; each ``partial_fit`` adds one).

    Notes
    -----
    Random layers (all of them without ``init_weights``, the output layer
    always) are drawn uniform on ``[-r, r]``, ``r = sqrt(6 / (n_in + n_out))``,
    biases zero.

    ``fit`` always starts from ``init_weights`` (or fresh random weights),
    so a second ``fit``, like a :func:`sklearn.base.clone`, repeats the
    fine-tuning from the pretrained start; :meth:`partial_fit` continues
    from the current weights. :meth:`save` and :meth:`load` keep everything
    needed to continue exactly (see :meth:`partial_fit`).

    References
    ----------
    .. [1] G. E. Hinton, R. R. Salakhutdinov, "Reducing the dimensionality
       of data with neural networks", Science 313 (2006), and its
       supporting online material (CG with 3 line searches on minibatches
       of 1000).

    Examples
    --------
    >>> import numpy as np
    >>> from pgm.nn import DeepClassifier
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 10, dtype=float)
    >>> y = np.array([0, 1, 1, 0] * 10)
    >>> clf = DeepClassifier((8,), optimizer="lbfgs", n_epochs=30, max_iter=20, random_state=0)
    >>> clf.fit(X, y).score(X, y)
    1.0
    """

    def __init__(
        self,
        hidden_layer_sizes=(500, 500, 2000),
        *,
        optimizer="cg",
        n_epochs=10,
        batch_size=None,
        learning_rate=0.1,
        learning_rate_schedule="constant",
        momentum=0.9,
        weight_decay=0.0,
        max_iter=3,
        output_only_epochs=0,
        classes=None,
        init_weights=None,
        init_biases=None,
        dtype=np.float64,
        random_state=None,
        verbose=False,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.optimizer = optimizer
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_schedule = learning_rate_schedule
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.max_iter = max_iter
        self.output_only_epochs = output_only_epochs
        self.classes = classes
        self.init_weights = init_weights
        self.init_biases = init_biases
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    @classmethod
    def from_pretrained(
        cls, weights, biases, n_classes=None, classes=None, **params
    ) -> DeepClassifier:
        """A classifier whose hidden layers start from given (pretrained) weights.

        Parameters
        ----------
        weights : sequence of array_like
            ``weights[l]`` of shape (n_l, n_{l+1}), bottom first, layer 0 the
            input (a DBN's recognition weights).
        biases : sequence of array_like
            ``biases[l]`` of shape (n_{l+1},): the bias of layer l + 1 (the
            up-pass biases; no input bias).
        n_classes : int, optional
            Number of classes, labelled 0..n_classes - 1 (shorthand for
            ``classes=range(n_classes)``).
        classes : array_like, optional
            The class labels.
        **params
            Other constructor parameters (``optimizer``, ``n_epochs``, ...).

        Returns
        -------
        DeepClassifier
            Not yet fitted: ``fit(X, y)`` adds a random softmax layer and
            fine-tunes every layer. ``hidden_layer_sizes`` is read from the
            weights and stored in ``init_weights``/``init_biases``.

        Raises
        ------
        TypeError
            If ``weights`` or ``biases`` is not a list or tuple of arrays.
        ValueError
            On shapes that do not chain, non-finite entries, or ``n_classes``
            and ``classes`` that disagree.
        """
        weights, biases = check_weights_and_biases(weights, biases)
        sizes = _pretrained_sizes(weights, params, ("init_weights", "init_biases"))
        if n_classes is not None:
            n_classes = check_positive_int(n_classes, "n_classes", minimum=2)
            if classes is not None and len(classes) != n_classes:
                raise ValueError(
                    f"n_classes={n_classes} disagrees with classes, which holds {len(classes)} "
                    "labels"
                )
            if classes is None:
                classes = tuple(range(n_classes))
        return cls(
            hidden_layer_sizes=sizes,
            classes=classes,
            init_weights=_as_tuple_of_arrays(weights),
            init_biases=_as_tuple_of_arrays(biases),
            **params,
        )

    # ---------------------------------------------------------------- checks
    def _validated(self) -> _Params:
        p = _validated(self, _CLASSIFIER_CONSTRAINTS)
        if p.output_only_epochs > p.n_epochs:
            raise ValueError(
                f"output_only_epochs ({p.output_only_epochs}) must not exceed n_epochs "
                f"({p.n_epochs})"
            )
        return p

    def _check_fitted(self):
        _check_fitted(self)

    def _encode_labels(self, y, n_rows, classes):
        from sklearn.utils.multiclass import check_classification_targets
        from sklearn.utils.validation import column_or_1d

        if y is None:
            raise ValueError("DeepClassifier requires y to be passed, but the target y is None")
        y = column_or_1d(y, warn=True)
        if y.dtype.kind in "fc":  # before sklearn's type checks, which cast NaN to int
            from sklearn.utils import assert_all_finite

            assert_all_finite(y, input_name="y")
        if y.shape[0] != n_rows:
            raise ValueError(f"y has {y.shape[0]} labels, but X has {n_rows} rows")
        check_classification_targets(y)
        if classes is None:
            classes = np.unique(y)
        else:
            classes = np.asarray(classes)
            if classes.ndim != 1:
                raise ValueError(f"classes must be 1-dimensional, got shape {classes.shape}")
            if np.unique(classes).size != classes.size:
                raise ValueError("classes must not repeat a label")
            classes = np.unique(classes)
            unknown = np.setdiff1d(np.unique(y), classes)
            if unknown.size:
                raise ValueError(
                    f"y holds labels {unknown[:5].tolist()} that are not in classes "
                    f"{classes.tolist()[:10]}"
                )
        if classes.size < 2:
            raise ValueError(
                f"y holds only one class ({classes.tolist()}); a classifier needs at least 2"
            )
        return classes, np.searchsorted(classes, y)

    @staticmethod
    def _activations(p):
        return ["sigmoid"] * len(p.hidden_layer_sizes) + ["softmax"]

    def _blank_network(self, n_features, n_classes, p):
        sizes = (n_features, *p.hidden_layer_sizes, n_classes)
        return Network(sizes, self._activations(p), weight_decay=p.weight_decay, dtype=p.dtype)

    def _checked_init(self, p, n_features):
        """The checked ``(init_weights, init_biases)``, or None when neither is set."""
        if self.init_weights is None and self.init_biases is None:
            return None
        if self.init_weights is None or self.init_biases is None:
            raise ValueError("init_weights and init_biases must be given together")
        weights, biases = check_weights_and_biases(
            self.init_weights, self.init_biases, names=("init_weights", "init_biases")
        )
        _check_init_widths(weights, p.hidden_layer_sizes, n_features)
        return weights, biases

    @staticmethod
    def _phase(net, epoch, p):
        """(layers trained in epoch ``epoch``, whether optimiser state starts afresh)."""
        output_only = epoch < p.output_only_epochs
        return ([net.n_layers - 1] if output_only else None), epoch == p.output_only_epochs > 0

    def _initial_network(self, n_features, n_classes, p, rng):
        net = self._blank_network(n_features, n_classes, p)
        init = self._checked_init(p, n_features)
        if init is None:
            return net.initialise(rng)
        weights, biases = init
        for l, (w, b) in enumerate(zip(weights, biases, strict=True)):
            net.weights[l][...] = w
            net.biases[l][...] = b
        return net.initialise(rng, layers=[net.n_layers - 1])

    # -------------------------------------------------------------- training
    def fit(self, X: ArrayLike, y: ArrayLike) -> DeepClassifier:
        """Fine-tune (or train from random weights) on labelled data.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
        y : array_like of shape (n_samples,)
            Labels of any type scikit-learn accepts for classification.

        Returns
        -------
        self
        """
        p = self._validated()
        X = _check_X(X, "X", p.dtype)
        classes, codes = self._encode_labels(y, X.shape[0], p.classes)
        return self._start(X, classes, codes, p, p.n_epochs)

    def _start(self, X, classes, codes, p, n_epochs):
        """Fresh network and optimiser state, then ``n_epochs`` epochs (the body of fit)."""
        trainer = _Trainer(as_generator(self.random_state))
        net = self._initial_network(X.shape[1], classes.size, p, trainer.rng)
        T = _one_hot(codes, classes.size, p.dtype)
        history = _train(
            self, trainer, net, X, T, p, n_epochs, 0, "DeepClassifier", verbose=p.verbose
        )
        self.classes_ = classes
        return _set_fitted(self, net, X.shape[1], history, n_epochs, trainer)

    def partial_fit(self, X: ArrayLike, y: ArrayLike, classes: ArrayLike = None) -> DeepClassifier:
        """One pass of the optimiser over ``(X, y)``, continuing from the current state.

        The first call on an unfitted classifier builds the network as
        :meth:`fit` does (pretrained or random start, same ``random_state``
        draws); every call then runs one epoch over the given rows, in
        shuffled minibatches of ``batch_size``, keeping the optimiser state
        (shuffling generator, SGD momentum buffer, the line searches' float64
        parameters) and the epoch counter ``n_iter_``, so that the first
        ``output_only_epochs`` calls train only the output layer, as in
        :meth:`fit`. Hence ``fit`` with ``n_epochs=k`` followed by ``m``
        calls ``partial_fit(X, y)`` on the same data gives bit for bit the
        parameters of ``fit`` with ``n_epochs=k + m``; a classifier saved
        and loaded in between continues identically.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
        y : array_like of shape (n_samples,)
        classes : array_like of shape (n_classes,), optional
            All labels; required on the first call unless the ``classes``
            hyper-parameter is set (it takes precedence over it). Later calls
            may repeat it but not change it.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            On bad data, labels outside ``classes_``, a feature count that
            differs from ``n_features_in_``, a missing ``classes`` on the first
            call, or hyper-parameters changed since the network was built
            (``hidden_layer_sizes``, ``dtype``). A refused call changes nothing.
        """
        p = self._validated()
        if not hasattr(self, "network_"):
            X = _check_X(X, "X", p.dtype)
            if classes is None and p.classes is None:
                raise ValueError(
                    "classes must be passed on the first call to partial_fit (all labels the "
                    "data may hold), or set as the classes hyper-parameter"
                )
            all_classes, codes = self._encode_labels(
                y, X.shape[0], p.classes if classes is None else classes
            )
            return self._start(X, all_classes, codes, p, 0)._continue(X, codes, p)
        _check_same_network(self, p, self._activations(p))
        X = _check_X(X, "X", self.network_.dtype, self.n_features_in_, owner="DeepClassifier")
        if classes is not None:
            given = np.asarray(classes)
            if given.ndim != 1 or not np.array_equal(np.unique(given), self.classes_):
                raise ValueError(
                    f"classes={given.tolist()[:10]!r} differs from classes_ "
                    f"{self.classes_.tolist()[:10]!r} of the earlier calls"
                )
        _, codes = self._encode_labels(y, X.shape[0], self.classes_)
        return self._continue(X, codes, p)

    _ARRAY_PARAMS = {"classes": "labels", "init_weights": "sequence", "init_biases": "sequence"}
    _FITTED_KEYS = frozenset({"classes"})

    def _save_fitted(self, arrays):
        arrays["classes"] = _label_array(self.classes_, "classes_")

    def _load_fitted(self, archive, p, where):
        classes = archive["classes"]
        if classes.ndim != 1 or classes.size < 2:
            raise ArchiveError(
                f"{where}: classes must be 1-dimensional with at least 2 labels, got shape "
                f"{classes.shape}"
            )
        if classes.dtype.kind in "fc" and not np.all(np.isfinite(classes)):
            raise ArchiveError(f"{where}: classes must be finite")
        if not np.array_equal(np.unique(classes), classes):
            raise ArchiveError(f"{where}: classes must be sorted and distinct")
        if p.classes is not None and not np.array_equal(np.unique(np.asarray(p.classes)), classes):
            raise ArchiveError(f"{where}: classes disagree with the classes hyper-parameter")
        self.classes_ = classes.copy()
        return classes.size

    def _continue(self, X, codes, p):
        return _partial_fit(self, X, _one_hot(codes, self.classes_.size, p.dtype), p)

    # ------------------------------------------------------------ prediction
    def predict_proba(self, X: ArrayLike) -> NDArray:
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        self._check_fitted()
        X = _check_X(X, "X", self.network_.dtype, self.n_features_in_, owner="DeepClassifier")
        net = self.network_
        return _chunked(lambda x: net.propagate(x), X, self.classes_.size, net.dtype)

    def predict_log_proba(self, X: ArrayLike) -> NDArray:
        """Log class probabilities (log-softmax of the output layer's input, no underflow)."""
        from scipy.special import log_softmax

        self._check_fitted()
        X = _check_X(X, "X", self.network_.dtype, self.n_features_in_, owner="DeepClassifier")
        net = self.network_

        def log_p(x):
            return log_softmax(net._forward(x)[1], axis=1)

        return _chunked(log_p, X, self.classes_.size, net.dtype)

    def predict(self, X: ArrayLike) -> NDArray:
        """The most probable class of every row.

        Returns
        -------
        ndarray of shape (n_samples,), labels from ``classes_``
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


# ----------------------------------------------------------------- autoencoder
class DeepAutoencoder(_Persistence, TransformerMixin, BaseEstimator):
    """A deep autoencoder: sigmoid encoder, linear code, mirrored decoder, sigmoid output.

    Trained (fine-tuned) on the Bernoulli cross-entropy of the reconstruction
    (squared error with ``output_activation="linear"``),
    ``-sum_i x_i log r_i + (1 - x_i) log(1 - r_i)`` averaged over images,
    plus ``weight_decay / 2 * sum ||W_l||^2``, as in Hinton & Salakhutdinov
    (2006). :meth:`from_pretrained` unrolls a stack of RBMs: the encoder
    uses ``W_l`` and the up-pass biases, the decoder ``W_l^T`` and the
    down-pass (visible) biases.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default (1000, 500, 250, 30)
        Encoder widths, bottom first; the last is the code. The decoder
        mirrors them, so the network is ``d-1000-500-250-30-250-500-1000-d``.
    code_activation : {"linear", "sigmoid"}, default "linear"
        Units of the code layer (H&S: linear, from a Gaussian-hidden RBM).
    output_activation : {"sigmoid", "linear"}, default "sigmoid"
        Output units: sigmoid with Bernoulli cross-entropy (data in [0, 1],
        e.g. MNIST pixels), or linear with squared error ``sum_i (r_i - x_i)^2 / 2``
        for real-valued data.
    optimizer, n_epochs, batch_size, learning_rate, learning_rate_schedule, momentum
        As in :class:`DeepClassifier`; ``n_epochs=0`` only unrolls the
        pretrained stack (the reconstruction before fine-tuning).
    weight_decay, max_iter
        As in :class:`DeepClassifier`.
    init_weights : tuple of array_like or None, default None
        Encoder weights, ``init_weights[l]`` of shape (n_l, n_{l+1}); set by
        :meth:`from_pretrained`.
    init_hidden_biases : tuple of array_like or None
        ``init_hidden_biases[l]`` of shape (n_{l+1},): encoder biases.
    init_visible_biases : tuple of array_like or None
        ``init_visible_biases[l]`` of shape (n_l,): the decoder bias of layer l.
    dtype : numpy.float64 or numpy.float32, default numpy.float64
    random_state : None, int, numpy.random.SeedSequence or Generator
    verbose : bool, default False

    Attributes
    ----------
    n_features_in_ : int
    network_ : Network
        ``2 k`` layers for ``k = len(hidden_layer_sizes)``; layer ``k`` is the code.
    weights_, biases_ : list of ndarray
        Views of ``network_.weights``/``network_.biases``, encoder then decoder.
    loss_curve_ : list of float
    n_iter_ : int

    Notes
    -----
    Without pretraining, weights are uniform on ``[-r, r]``,
    ``r = sqrt(6 / (n_in + n_out))``, biases zero. ``fit`` always starts
    from ``init_*`` (or fresh random weights), as for
    :class:`DeepClassifier`; :meth:`partial_fit` continues, also after
    :meth:`save` and :meth:`load`.

    References
    ----------
    .. [1] G. E. Hinton, R. R. Salakhutdinov, "Reducing the dimensionality
       of data with neural networks", Science 313 (2006).

    Examples
    --------
    >>> import numpy as np
    >>> from pgm.nn import DeepAutoencoder
    >>> X = np.array([[1, 1, 0, 0], [0, 0, 1, 1]] * 10, dtype=float)
    >>> ae = DeepAutoencoder((3, 1), optimizer="lbfgs", n_epochs=20, max_iter=20, random_state=0)
    >>> ae.fit(X).transform(X).shape
    (20, 1)
    >>> bool(ae.reconstruction_error(X) < 0.1)
    True
    """

    def __init__(
        self,
        hidden_layer_sizes=(1000, 500, 250, 30),
        *,
        code_activation="linear",
        output_activation="sigmoid",
        optimizer="cg",
        n_epochs=10,
        batch_size=None,
        learning_rate=0.1,
        learning_rate_schedule="constant",
        momentum=0.9,
        weight_decay=0.0,
        max_iter=3,
        init_weights=None,
        init_hidden_biases=None,
        init_visible_biases=None,
        dtype=np.float64,
        random_state=None,
        verbose=False,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.code_activation = code_activation
        self.output_activation = output_activation
        self.optimizer = optimizer
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_schedule = learning_rate_schedule
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.max_iter = max_iter
        self.init_weights = init_weights
        self.init_hidden_biases = init_hidden_biases
        self.init_visible_biases = init_visible_biases
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    @classmethod
    def from_pretrained(cls, weights, hidden_biases, visible_biases, **params) -> DeepAutoencoder:
        """Unroll a stack of RBMs into an autoencoder (encoder ``W_l``, decoder ``W_l^T``).

        Parameters
        ----------
        weights : sequence of array_like
            ``weights[l]`` of shape (n_l, n_{l+1}), bottom first, layer 0 the input.
        hidden_biases : sequence of array_like
            ``hidden_biases[l]`` of shape (n_{l+1},): the up-pass (hidden) bias of RBM l.
        visible_biases : sequence of array_like
            ``visible_biases[l]`` of shape (n_l,): the down-pass (visible) bias
            of RBM l, used by the decoder layer that reconstructs layer l.
        **params
            Other constructor parameters.

        Returns
        -------
        DeepAutoencoder
            Not yet fitted; ``fit(X)`` fine-tunes the unrolled network.

        Raises
        ------
        TypeError, ValueError
            On arguments that are not lists of arrays, shapes that do not
            chain, or non-finite entries.
        """
        weights, hidden_biases = check_weights_and_biases(
            weights, hidden_biases, names=("weights", "hidden_biases")
        )
        visible_biases = _check_visible_biases(weights, visible_biases, "visible_biases")
        sizes = _pretrained_sizes(
            weights, params, ("init_weights", "init_hidden_biases", "init_visible_biases")
        )
        return cls(
            hidden_layer_sizes=sizes,
            init_weights=_as_tuple_of_arrays(weights),
            init_hidden_biases=_as_tuple_of_arrays(hidden_biases),
            init_visible_biases=_as_tuple_of_arrays(visible_biases),
            **params,
        )

    def _check_fitted(self):
        _check_fitted(self)

    @property
    def _k(self):
        return self.network_.n_layers // 2

    @staticmethod
    def _activations(p):
        k = len(p.hidden_layer_sizes)
        acts = ["sigmoid"] * (k - 1) + [p.code_activation] + ["sigmoid"] * (k - 1)
        return [*acts, p.output_activation]

    def _blank_network(self, n_features, n_outputs, p):
        enc = (n_features, *p.hidden_layer_sizes)
        sizes = enc + enc[-2::-1]
        return Network(sizes, self._activations(p), weight_decay=p.weight_decay, dtype=p.dtype)

    def _checked_init(self, p, n_features):
        """The checked ``(weights, hidden, visible)`` initial arrays, or None when none is set."""
        given = [
            self.init_weights is not None,
            self.init_hidden_biases is not None,
            self.init_visible_biases is not None,
        ]
        if not any(given):
            return None
        if not all(given):
            raise ValueError(
                "init_weights, init_hidden_biases and init_visible_biases must be given together"
            )
        weights, hidden = check_weights_and_biases(
            self.init_weights, self.init_hidden_biases, names=("init_weights", "init_hidden_biases")
        )
        visible = _check_visible_biases(weights, self.init_visible_biases, "init_visible_biases")
        _check_init_widths(weights, p.hidden_layer_sizes, n_features)
        return weights, hidden, visible

    _ARRAY_PARAMS = {
        "init_weights": "sequence",
        "init_hidden_biases": "sequence",
        "init_visible_biases": "sequence",
    }

    @staticmethod
    def _phase(net, epoch, p):
        return None, False

    def _initial_network(self, n_features, p, rng):
        net = self._blank_network(n_features, None, p)
        init = self._checked_init(p, n_features)
        if init is None:
            return net.initialise(rng)
        weights, hidden, visible = init
        k = len(p.hidden_layer_sizes)
        for l in range(k):
            net.weights[l][...] = weights[l]
            net.biases[l][...] = hidden[l]
            # decoder layer k + j reconstructs encoder layer k - 1 - j
            net.weights[2 * k - 1 - l][...] = weights[l].T
            net.biases[2 * k - 1 - l][...] = visible[l]
        return net

    def fit(self, X: ArrayLike, y=None) -> DeepAutoencoder:
        """Fine-tune (or train from random weights) on reconstruction cross-entropy.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Values in [0, 1] for the sigmoid output; any reals for a linear one.
        y : ignored

        Returns
        -------
        self
        """
        p = self._validated()
        X = _check_X(X, "X", p.dtype, unit_interval=p.output_activation == "sigmoid")
        return self._start(X, p, p.n_epochs)

    def _validated(self) -> _Params:
        return _validated(self, _AUTOENCODER_CONSTRAINTS)

    def _start(self, X, p, n_epochs):
        """Fresh network and optimiser state, then ``n_epochs`` epochs (the body of fit)."""
        trainer = _Trainer(as_generator(self.random_state))
        net = self._initial_network(X.shape[1], p, trainer.rng)
        history = _train(
            self, trainer, net, X, X, p, n_epochs, 0, "DeepAutoencoder", verbose=p.verbose
        )
        return _set_fitted(self, net, X.shape[1], history, n_epochs, trainer)

    def partial_fit(self, X: ArrayLike, y=None) -> DeepAutoencoder:
        """One pass of the optimiser over ``X``, continuing from the current state.

        The first call on an unfitted autoencoder builds the network as
        :meth:`fit` does; every call then runs one epoch over the given rows
        in shuffled minibatches of ``batch_size``, keeping the optimiser state
        (shuffling generator, SGD momentum buffer, the line searches' float64
        parameters) and ``n_iter_``. ``fit`` with ``n_epochs=k`` followed by
        ``m`` calls ``partial_fit(X)`` on the same data gives bit for bit the
        parameters of ``fit`` with ``n_epochs=k + m``, also across
        :meth:`save` and :meth:`load`.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Values in [0, 1] for the sigmoid output; any reals for a linear one.
        y : ignored

        Returns
        -------
        self

        Raises
        ------
        ValueError
            On bad data, a feature count that differs from ``n_features_in_``,
            or hyper-parameters changed since the network was built
            (``hidden_layer_sizes``, the activations, ``dtype``). A refused
            call changes nothing.
        """
        p = self._validated()
        sigmoid = p.output_activation == "sigmoid"
        if not hasattr(self, "network_"):
            X = _check_X(X, "X", p.dtype, unit_interval=sigmoid)
            self._start(X, p, 0)
        else:
            _check_same_network(self, p, self._activations(p))
            X = _check_X(
                X, "X", self.network_.dtype, self.n_features_in_, unit_interval=sigmoid,
                owner="DeepAutoencoder",
            )  # fmt: skip
        return _partial_fit(self, X, X, p)

    def transform(self, X: ArrayLike) -> NDArray:
        """The code of every row (the encoder's output).

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, hidden_layer_sizes[-1])
        """
        self._check_fitted()
        net = self.network_
        X = _check_X(X, "X", net.dtype, self.n_features_in_, owner="DeepAutoencoder")
        k = self._k
        return _chunked(lambda x: net.propagate(x, 0, k), X, net.layer_sizes[k], net.dtype)

    def inverse_transform(self, code: ArrayLike) -> NDArray:
        """The reconstruction the decoder makes from a code (probabilities for sigmoid output).

        Parameters
        ----------
        code : array_like of shape (n_samples, hidden_layer_sizes[-1])

        Returns
        -------
        ndarray of shape (n_samples, n_features)
        """
        self._check_fitted()
        net = self.network_
        k = self._k
        code = _check_X(code, "code", net.dtype, net.layer_sizes[k], owner="the decoder")
        return _chunked(lambda c: net.propagate(c, k), code, self.n_features_in_, net.dtype)

    def reconstruct(self, X: ArrayLike) -> NDArray:
        """``inverse_transform(transform(X))``: the network's output for every row."""
        return self.inverse_transform(self.transform(X))

    def reconstruction_error(self, X: ArrayLike) -> float:
        """Mean over rows of the squared error summed over features (H&S's measure).

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)

        Returns
        -------
        float
            ``mean_n sum_i (X[n, i] - reconstruct(X)[n, i]) ** 2``.
        """
        self._check_fitted()
        X = _check_X(X, "X", self.network_.dtype, self.n_features_in_, owner="DeepAutoencoder")
        diff = X.astype(np.float64) - self.reconstruct(X).astype(np.float64)
        return float(np.mean(np.sum(diff * diff, axis=1)))

    def score(self, X: ArrayLike, y=None) -> float:
        """Minus :meth:`reconstruction_error` (higher is better, as scikit-learn expects)."""
        return -self.reconstruction_error(X)


def _check_visible_biases(weights, visible_biases, name):
    if isinstance(visible_biases, (np.ndarray, str, bytes)) or not isinstance(
        visible_biases, (list, tuple)
    ):
        raise TypeError(
            f"{name} must be a list or tuple of arrays (bottom layer first), got "
            f"{type(visible_biases).__name__}"
        )
    if len(visible_biases) != len(weights):
        raise ValueError(
            f"{name} must hold one bias vector per weight matrix ({len(weights)}), got "
            f"{len(visible_biases)}"
        )
    return [
        as_float_array(b, f"{name}[{l}]", shape=(w.shape[0],))
        for l, (b, w) in enumerate(zip(visible_biases, weights, strict=True))
    ]
