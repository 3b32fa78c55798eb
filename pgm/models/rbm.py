"""Restricted Boltzmann machine with binary or Gaussian visible units.

The fast path keeps the parameters in one augmented matrix
``theta = [[W, b], [c, 0]]`` of shape ``(n_visible + 1, n_hidden + 1)`` and
the data with a trailing column of ones, so that every activation
(``v W + c`` and ``h W^T + b``) and the whole parameter update
(``W``, ``b`` and ``c`` at once, momentum folded into BLAS's ``beta``) are
single dense matrix products. Sigmoid and Bernoulli sampling are fused in
one Numba kernel (:mod:`pgm.layered._kernels`).

Binary data that are mostly zeros (MNIST) take the sparse path instead
(``algorithm="auto"`` or ``"sparse"``): the visible rows are kept as lists of
their non-zero entries, every product with them adds up a few rows of
``theta``, and the hidden side is split in column stripes, one per thread.
Both paths draw the same random numbers and give the same samples.
"""

from __future__ import annotations

import json
import numbers
import os
import warnings

import numpy as np
import scipy.sparse
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin

from pgm._archive import ArchiveError as _ArchiveError
from pgm._archive import archive_array as _archive_array
from pgm._archive import archive_scalar as _archive_scalar
from pgm._archive import decode_generator as _decode_generator
from pgm._archive import json_array as _json_array
from pgm._archive import read_archive
from pgm._params import flag as _flag
from pgm._params import float_dtype as _dtype
from pgm._params import int_at_least as _int_at_least
from pgm._params import momentum as _momentum
from pgm._params import non_negative as _non_negative
from pgm._params import optional_int as _optional_int
from pgm._params import options as _options
from pgm._params import positive as _positive
from pgm._params import seed as _seed
from pgm._random import as_generator
from pgm._validation import (
    NotFittedError,
    as_float_array,
    check_positive_float,
    check_positive_int,
    nonfinite_error,
)
from pgm.layered import _kernels as _k
from pgm.layered import two_layer as _two_layer
from pgm.layered.model import LayeredModel
from pgm.layered.model import rbm_energy_offset as _offset
from pgm.learning.schedules import Schedule, get_schedule

__all__ = ["RBM", "EXACT_AUTO_MAX_UNITS", "EXACT_MAX_UNITS", "AUTO_SPARSE_MAX_DENSITY"]

#: ``log_partition(method="auto")`` enumerates when the smaller layer has at
#: most this many units (2**20 states: well under a second for MNIST shapes).
EXACT_AUTO_MAX_UNITS = 20
#: Default refusal limit of ``log_partition(method="exact")`` (``max_units``).
EXACT_MAX_UNITS = 25
#: ``algorithm="auto"`` trains a binary RBM on the sparse path when at most
#: this fraction of the training data is non-zero (MNIST: 0.13-0.19). A sparse
#: product costs one parameter row per non-zero, so its time grows linearly
#: with the density while BLAS's stays fixed; benchmarks/bench_rbm_kernels.py
#: times both at several densities. The sampled negative visibles follow the
#: data's density.
AUTO_SPARSE_MAX_DENSITY = 0.25
#: Names of the factor graph's parameters (``to_factor_graph``, ``parameters``).
_FACTOR_NAMES = {"biases_0": "visible_bias", "biases_1": "hidden_bias", "weights_0": "weights"}
#: Rows used for the per-epoch monitors.
_MONITOR_ROWS = 1000
_FORMAT_VERSION = 1
#: Hyper-parameters added with ``method="pt"`` and their defaults (older archives lack them).
_PT_DEFAULTS = {"n_temperatures": 10, "beta_min": 0.1}
#: Fitted attributes of parallel-tempering training (``method="pt"``).
_PT_ATTRIBUTES = ("betas_", "swap_attempts_", "swap_accepts_", "swap_acceptance_", "_swap_rounds")
_MONITORS = ("reconstruction_error", "pseudo_likelihood", "log_likelihood")


# ----------------------------------------------------------------- validation
def _sparsity_target(value, name):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be None or a number in (0, 1), got {value!r}")
    if not 0.0 < float(value) < 1.0:
        raise ValueError(f"{name} must be None or a number in (0, 1), got {value}")
    return float(value)


def _beta_min(value, name):
    value = check_positive_float(value, name)
    if not value < 1.0:
        raise ValueError(f"{name} must lie in (0, 1), got {value}")
    return value


def _monitor(value, name):
    if isinstance(value, str):
        value = (value,)
    try:
        names = tuple(value)
    except TypeError:
        raise ValueError(
            f"{name} must be a tuple of names from {list(_MONITORS)}, got {value!r}"
        ) from None
    for item in names:
        if item not in _MONITORS:
            raise ValueError(f"{name} entries must be in {list(_MONITORS)}, got {item!r}")
    return names


def _schedule(value, name):
    try:
        return get_schedule(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: {exc}") from None


#: The single constraints table checked on entry to ``fit``/``partial_fit``.
_PARAMETER_CONSTRAINTS = {
    "n_hidden": _int_at_least(1),
    "visible": _options("binary", "gaussian"),
    "hidden": _options("binary", "gaussian"),
    "method": _options("pcd", "cd", "pt"),
    "k": _int_at_least(1),
    "n_temperatures": _int_at_least(2),
    "beta_min": _beta_min,
    "learning_rate": _positive,
    "batch_size": _int_at_least(1),
    "n_epochs": _int_at_least(1),
    "momentum": _momentum,
    "weight_decay": _non_negative,
    "sparsity_target": _sparsity_target,
    "sparsity_cost": _non_negative,
    "learning_rate_schedule": _schedule,
    "n_chains": _optional_int,
    "algorithm": _options("auto", "dense", "sparse"),
    "dtype": _dtype,
    "monitor": _monitor,
    "random_state": _seed,
    "verbose": _flag,
}


class _Params:
    """Validated, normalised hyper-parameters (attribute access)."""

    def __init__(self, values):
        self.__dict__.update(values)


class RBM(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    r"""Restricted Boltzmann machine trained by CD-k, persistent CD or parallel tempering.

    Energy (binary visible units, ``v`` in {0, 1}):

    .. math:: E(v, h) = -v \cdot b - h \cdot c - v^T W h

    and with Gaussian visible units (unit variance, meant for standardised
    data) the term ``-v \cdot b`` becomes ``\sum_i (v_i - b_i)^2 / 2``.
    Hidden units are binary; ``p(v, h) = exp(-E(v, h)) / Z``.

    Parameters
    ----------
    n_hidden : int, default 128
        Number of hidden units.
    visible : {"binary", "gaussian"}, default "binary"
        Visible unit type. Binary RBMs accept data in [0, 1] for training and
        ``transform`` (fractional values act as Bernoulli probabilities, as
        in Hinton's practical guide); likelihood methods need exact 0/1.
    hidden : {"binary", "gaussian"}, default "binary"
        Hidden unit type. ``"gaussian"``: linear hidden units with unit
        variance noise (the code layer of Hinton & Salakhutdinov 2006),
        energy ``E(v, h) = |h|^2 / 2 - b.v - c.h - v W h``, so
        ``h | v ~ N(c + v W, 1)``, ``transform`` returns the mean
        ``c + v W`` and ``F(v) = -b.v - sum_j [(c_j + v.W_j)^2 + log(2 pi)] / 2``.
        Needs binary visible units and ``method`` "cd" or "pcd" on the dense
        path; such an RBM wants a learning rate about 100 times smaller than
        a binary one (0.001 in the paper).
    method : {"pcd", "cd", "pt"}, default "pcd"
        Persistent contrastive divergence (Tieleman 2008), CD-k
        (Hinton 2002), or parallel tempering (Desjardins et al. 2010 [5]_):
        persistent chains at every inverse temperature of a ladder
        ``beta_min = beta_0 < ... < beta_{K-1} = 1``, each a block Gibbs
        chain on the tempered joint ``p_beta(v, h) ∝ exp(-beta E(v, h))``
        (all of the energy is scaled, biases included, so the hottest chain
        tends toward the uniform model, not the base-rate one; with Gaussian
        visible units ``v | h ~ N(b + W h, I / beta)``). After the Gibbs
        steps of an update, neighbouring temperatures propose to exchange
        their states ``x`` (at ``beta_t``) and ``y`` (at ``beta_{t+1}``),
        accepted with probability ``min(1, exp((beta_{t+1} - beta_t)
        (E(y) - E(x))))``; updates alternate the even pairs ``(0, 1), (2, 3),
        ...`` and the odd pairs ``(1, 2), ...`` (the convention of
        :mod:`pgm.inference.tempering`). The ``beta = 1`` chains then give
        the negative statistics, as PCD's fantasy particles do. Trains on the
        dense path (see ``algorithm``); each update costs about
        ``n_temperatures`` times PCD's Gibbs work.
    k : int, default 1
        Gibbs steps per update (for ``"pt"``: at every temperature).
    n_temperatures : int >= 2, default 10
        Number of inverse temperatures of ``"pt"`` (ignored otherwise); the
        ladder is :func:`pgm.inference.tempering.geometric_ladder`
        ``(n_temperatures, beta_min)``, fitted as ``betas_``.
    beta_min : float in (0, 1), default 0.1
        Smallest inverse temperature of ``"pt"`` (ignored otherwise).
    learning_rate : float, default 0.05
        Base step size (of the mean gradient over a minibatch). With momentum
        ``m`` the steady-state step is ``learning_rate / (1 - m)`` (0.1 with
        the defaults).
    batch_size : int, default 10
        Rows per minibatch (``fit`` and ``partial_fit``). The default (as
        scikit-learn's ``BernoulliRBM`` and Hinton's guide [4]_, section 4)
        makes enough updates per epoch on small data sets: on scikit-learn's
        1797 digits, 100 rows per batch leave 15 updates per epoch and
        features that classify markedly worse after 20 epochs
        (``docs/benchmarks/rbm_digits.md``). On large data (MNIST) a batch of
        100 still makes hundreds of updates per epoch, and an epoch is
        several times faster than at 10.
    n_epochs : int, default 10
        Passes over the data in ``fit``.
    momentum : float in [0, 1), default 0.5
        Classical momentum on all parameters. Risk (PCD): the persistent
        chains only follow the model if the parameters change slowly
        compared with the chains' mixing; a large step, and momentum close
        to 1 above all, lets the chains lag behind and the updates then
        push the model the wrong way, so that the likelihood can end below
        where it began (even below the uniform model's). On 3x3 bars and
        stripes at a constant learning rate 0.1, momentum 0.9 does so for
        most seeds while the default 0.5 improves on the start for every
        seed tested (tests/models/test_rbm_training.py); monitor
        ``"log_likelihood"`` on small models, or lower the learning rate or
        use a decaying ``learning_rate_schedule`` if it falls.
    weight_decay : float, default 0.0
        L2 penalty ``weight_decay * ||W||^2 / 2`` on the weights (not biases).
    sparsity_target : float in (0, 1) or None, default None
        Target mean activation of the hidden units (Lee et al. 2008). After
        each update the hidden biases move by
        ``learning_rate * sparsity_cost * (sparsity_target - q_j)``, where
        ``q_j`` is the minibatch mean of ``P(h_j = 1 | v)``.
    sparsity_cost : float, default 0.1
        Strength of the sparsity regulariser (ignored when the target is None).
    learning_rate_schedule : str or Schedule, default "constant"
        ``"constant"``, ``"exponential"``, ``"step"``, ``"linear"`` or a
        :class:`pgm.learning.schedules.Schedule`; evaluated once per epoch.
    n_chains : int or None, default None
        Number of persistent chains for PCD, and per temperature for PT
        (default: ``batch_size``).
    algorithm : {"auto", "dense", "sparse"}, default "auto"
        How the training products are computed; the algorithm and its random
        draws are the same either way, only the rounding differs. ``"dense"``
        uses BLAS matrix products. ``"sparse"`` (binary visible units only)
        stores the data rows and the sampled visible states by their non-zero
        entries, so ``v W``, ``h W^T`` and the weight gradient cost one row
        of ``W`` per non-zero input (for MNIST a training epoch is about 1.4x
        faster than on the dense path, ``docs/benchmarks.md``). ``"auto"``
        picks ``"sparse"`` for binary units when at most
        ``AUTO_SPARSE_MAX_DENSITY`` (25%) of the training data is non-zero.
        ``method="pt"`` always takes the dense path (``"auto"`` picks it,
        ``"sparse"`` is refused).
    dtype : numpy.float64 or numpy.float32, default numpy.float64
        Precision of training and of ``transform``. Energies, free energies
        and likelihoods are always computed in float64.
    monitor : tuple of str, default ()
        Quantities recorded in ``history_`` after every epoch of ``fit`` on up
        to 1000 training rows: ``"reconstruction_error"`` (mean squared error
        of the mean-field reconstruction), ``"pseudo_likelihood"`` (binary
        only, stochastic one-bit estimate, per row), ``"log_likelihood"``
        (exact, per row; only when the smaller layer has at most 20 units).
    random_state : None, int, numpy.random.SeedSequence or Generator
        Seed for initialisation, shuffling and sampling; an int makes ``fit``
        reproducible bit for bit.
    verbose : bool, default False
        Show a tqdm progress bar over epochs.

    ``transform`` follows scikit-learn's ``set_output`` (e.g. pandas output
    in a pipeline); its columns are named ``rbm0, rbm1, ...`` by
    ``get_feature_names_out``.

    Attributes
    ----------
    weights_ : ndarray of shape (n_visible, n_hidden)
    visible_bias_ : ndarray of shape (n_visible,)
    hidden_bias_ : ndarray of shape (n_hidden,)
    n_features_in_ : int
        Number of visible units.
    n_iter_ : int
        Epochs completed by ``fit``.
    history_ : dict of str to list of float
        ``"learning_rate"`` and each monitored quantity, one entry per epoch.
    persistent_hidden_ : ndarray of shape (n_chains, n_hidden) or (K, n_chains, n_hidden)
        Hidden states of the PCD fantasy particles (PCD), or of the PT chains
        at every temperature in the order of ``betas_`` (PT; the last block
        is ``beta = 1``; ``K = n_temperatures``). Each PT state is the joint
        ``(v, h)`` sample after the last swap round, of which only ``h`` is
        kept (the next update starts by drawing ``v`` given ``h``).
    betas_ : ndarray of shape (n_temperatures,)
        The PT ladder, increasing to 1 (PT only).
    swap_attempts_, swap_accepts_ : ndarray of shape (n_temperatures - 1,), int64
        Swap proposals and accepted swaps between temperatures ``t`` and
        ``t + 1`` since ``fit`` began (or the first ``partial_fit``), summed
        over chains (PT only).
    swap_acceptance_ : ndarray of shape (n_temperatures - 1,)
        ``swap_accepts_ / swap_attempts_``; NaN for a pair never proposed
        (PT only).

    Notes
    -----
    Conditionals: ``P(h_j = 1 | v) = sigmoid(c_j + v . W[:, j])``; binary
    ``P(v_i = 1 | h) = sigmoid(b_i + W[i] . h)``; Gaussian
    ``v | h ~ N(b + W h, I)``. The log-likelihood gradient is
    ``E_data[v h^T] - E_model[v h^T]`` (and ``v``, ``h`` for the biases);
    CD-k and PCD estimate the model term with Gibbs chains. Hidden
    statistics use probabilities, visible ones samples.

    References
    ----------
    .. [1] G. E. Hinton, "Training products of experts by minimizing
       contrastive divergence", Neural Computation 14 (2002).
    .. [2] T. Tieleman, "Training restricted Boltzmann machines using
       approximations to the likelihood gradient", ICML 2008.
    .. [3] H. Lee, C. Ekanadham, A. Ng, "Sparse deep belief net model for
       visual area V2", NIPS 2008, section 3.
    .. [4] G. E. Hinton, "A practical guide to training restricted Boltzmann
       machines", UTML TR 2010-003.
    .. [5] G. Desjardins, A. Courville, Y. Bengio, P. Vincent, O. Delalleau,
       "Tempered Markov chain Monte Carlo for training of restricted
       Boltzmann machines", AISTATS 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from pgm.models import RBM
    >>> X = np.array([[1, 1, 0, 0], [0, 0, 1, 1]] * 20, dtype=float)
    >>> rbm = RBM(n_hidden=3, n_epochs=5, batch_size=10, random_state=0).fit(X)
    >>> rbm.transform(X).shape
    (40, 3)
    >>> bool(np.isfinite(rbm.log_likelihood(X)))
    True
    """

    def __init__(
        self,
        n_hidden=128,
        *,
        visible="binary",
        hidden="binary",
        method="pcd",
        k=1,
        n_temperatures=10,
        beta_min=0.1,
        learning_rate=0.05,
        batch_size=10,
        n_epochs=10,
        momentum=0.5,
        weight_decay=0.0,
        sparsity_target=None,
        sparsity_cost=0.1,
        learning_rate_schedule="constant",
        n_chains=None,
        algorithm="auto",
        dtype=np.float64,
        monitor=(),
        random_state=None,
        verbose=False,
    ):
        self.n_hidden = n_hidden
        self.visible = visible
        self.hidden = hidden
        self.method = method
        self.k = k
        self.n_temperatures = n_temperatures
        self.beta_min = beta_min
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_epochs = n_epochs
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.sparsity_target = sparsity_target
        self.sparsity_cost = sparsity_cost
        self.learning_rate_schedule = learning_rate_schedule
        self.n_chains = n_chains
        self.algorithm = algorithm
        self.dtype = dtype
        self.monitor = monitor
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------ construction
    def _validated(self) -> _Params:
        params = self.get_params(deep=False)
        p = _Params(
            {name: check(params[name], name) for name, check in _PARAMETER_CONSTRAINTS.items()}
        )
        if p.algorithm == "sparse" and p.visible != "binary":
            raise ValueError(
                "algorithm='sparse' needs binary visible units (Gaussian visible data is "
                "dense); use algorithm='dense' or 'auto'"
            )
        if p.hidden == "gaussian":
            if p.visible != "binary":
                raise ValueError(
                    "hidden='gaussian' needs visible='binary' (a Gaussian-Gaussian RBM has no "
                    f"normalisable joint at these energies), got visible={p.visible!r}"
                )
            if p.method == "pt":
                raise ValueError(
                    "hidden='gaussian' is available with method 'cd' or 'pcd', not 'pt'"
                )
            if p.algorithm == "sparse":
                raise ValueError(
                    "algorithm='sparse' needs binary hidden units; use algorithm='dense' or 'auto'"
                )
        if p.algorithm == "sparse" and p.method == "pt":
            raise ValueError(
                "algorithm='sparse' is not available with method='pt' (parallel tempering "
                "trains on the dense path); use algorithm='dense' or 'auto'"
            )
        return p

    @classmethod
    def from_parameters(
        cls,
        weights: ArrayLike,
        visible_bias: ArrayLike,
        hidden_bias: ArrayLike,
        visible: str = "binary",
        hidden: str = "binary",
        **params,
    ) -> RBM:
        """Build a ready-to-use RBM from given parameters.

        Parameters
        ----------
        weights : array_like of shape (n_visible, n_hidden)
        visible_bias : array_like of shape (n_visible,)
        hidden_bias : array_like of shape (n_hidden,)
        visible : {"binary", "gaussian"}, default "binary"
        hidden : {"binary", "gaussian"}, default "binary"
        **params
            Other hyper-parameters (``dtype``, ``random_state``, ...); they
            matter for a later ``partial_fit``/``fit`` and for ``dtype``.

        Returns
        -------
        RBM
            Behaves like a fitted model (``n_iter_ == 0``, empty history).

        Raises
        ------
        ValueError
            On non-finite parameters, inconsistent shapes or a bad
            hyper-parameter.
        """
        weights_arr = np.asarray(weights)
        if weights_arr.ndim != 2:
            raise ValueError(
                "weights must be 2-dimensional (n_visible, n_hidden), got shape "
                f"{weights_arr.shape}"
            )
        model = cls(n_hidden=int(weights_arr.shape[1]), visible=visible, hidden=hidden, **params)
        p = model._validated()
        model.weights_, model.visible_bias_, model.hidden_bias_ = _check_parameters(
            weights, visible_bias, hidden_bias, p.dtype
        )
        n_visible = model.weights_.shape[0]
        model.n_features_in_ = n_visible
        model.n_iter_ = 0
        model.history_ = {}
        return model

    # ------------------------------------------------------------ input checks
    def _check_fitted(self):
        if not hasattr(self, "weights_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet; call fit or "
                "partial_fit first, or build it with RBM.from_parameters"
            )

    def _check_data(self, X, name="X", *, dtype=None, reset=False, strict=False, visible=None):
        """Validate a data matrix; returns it as a 2-D array of ``dtype`` (no copy if possible)."""
        if scipy.sparse.issparse(X):
            raise TypeError(f"{name}: sparse input is not supported; pass a dense array")
        dtype = np.dtype(dtype if dtype is not None else self.weights_.dtype)
        try:
            X = np.asarray(X)
            if np.iscomplexobj(X):
                raise ValueError(f"Complex data not supported: {name} must be real")
            X = X.astype(dtype, copy=False)
        except TypeError as exc:
            raise TypeError(f"{name} must hold real numbers: {exc}") from None
        if X.ndim != 2:
            raise ValueError(
                f"{name} must be 2-dimensional (n_samples, n_visible), got shape {X.shape}. "
                "Reshape your data: X.reshape(-1, 1) for one feature, X.reshape(1, -1) for "
                "one sample"
            )
        X = as_float_array(X, name, ndim=2, dtype=dtype, copy=False, allow_nonfinite=True)
        # One pass for every value check (the data can be the whole training set).
        n_nonfinite, n_outside_unit, n_nonbinary = _k.value_counts(X)
        if n_nonfinite:
            raise nonfinite_error(name, int(n_nonfinite))
        for axis, what in ((0, "sample"), (1, "feature")):
            if X.shape[axis] == 0:
                raise ValueError(
                    f"{name} has 0 {what}(s) (shape={X.shape}) while a minimum of 1 is required."
                )
        if not reset and X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"{name} has {X.shape[1]} features, but RBM is expecting "
                f"{self.n_features_in_} features as input (n_visible)"
            )
        visible = visible if visible is not None else self.visible
        if visible == "binary":
            if strict:
                if n_nonbinary:
                    raise ValueError(f"{name} must be binary (0/1) for a binary RBM likelihood")
            elif n_outside_unit:
                lo, hi = float(X.min()), float(X.max())
                raise ValueError(
                    f"{name} must have values in [0, 1] for a binary RBM (binary data, or "
                    f"probabilities); got values in [{lo}, {hi}]"
                )
        return X

    def _params64(self):
        self._check_fitted()
        return (
            np.asarray(self.weights_, dtype=np.float64),
            np.asarray(self.visible_bias_, dtype=np.float64),
            np.asarray(self.hidden_bias_, dtype=np.float64),
        )

    def to_layered(self) -> LayeredModel:
        """The model as a two-layer :class:`pgm.layered.model.LayeredModel` (float64 copies).

        Layers ``[v, h]`` with units ``[visible, hidden]``, ``weights_`` as
        the one weight block and ``[visible_bias_, hidden_bias_]`` as biases.
        Every model function of the RBM (energy, free energy, exact ``log Z``,
        the factor graph) is computed by this engine; built afresh on each
        call, so it always reflects the current parameters. For Gaussian
        visible units the engine's energy ``|v|^2 / 2 - b.v - ...`` is the
        RBM's ``|v - b|^2 / 2 - ...`` less the constant ``|b|^2 / 2``
        (:func:`pgm.layered.model.rbm_energy_offset`), which the RBM adds back.

        Raises
        ------
        NotFittedError
            Before ``fit`` (or ``from_parameters``).
        """
        W, b, c = self._params64()
        return LayeredModel([W], [b, c], units=[self.visible, self.hidden])

    # ------------------------------------------------------------------ energy
    def energy(self, v: ArrayLike, h: ArrayLike) -> NDArray[np.float64]:
        """Energy ``E(v, h)`` of each pair of rows.

        Parameters
        ----------
        v : array_like of shape (batch, n_visible)
            Binary (0/1) for a binary RBM, real for a Gaussian one.
        h : array_like of shape (batch, n_hidden)
            Binary (0/1) hidden states (real for ``hidden="gaussian"``).

        Returns
        -------
        energy : ndarray of shape (batch,), float64

        Raises
        ------
        ValueError
            On shape mismatches, non-finite or out-of-domain values.
        """
        core = self.to_layered()
        v = self._check_data(v, "v", dtype=np.float64, strict=True)
        h = as_float_array(h, "h", shape=(v.shape[0], core.sizes[1]), copy=False)
        if self.hidden == "binary" and np.any((h != 0) & (h != 1)):
            raise ValueError("h must be binary (0/1)")
        return core.energy([v, h]) + _offset(core)

    def free_energy(self, v: ArrayLike) -> NDArray[np.float64]:
        r"""Free energy ``F(v) = -log sum_h exp(-E(v, h))`` of each row.

        Binary: ``F(v) = -v.b - sum_j softplus(c_j + v.W[:, j])``; Gaussian:
        the first term is ``sum_i (v_i - b_i)^2 / 2``. Softplus is
        ``np.logaddexp(0, x)`` (no overflow).

        Parameters
        ----------
        v : array_like of shape (batch, n_visible)

        Returns
        -------
        free_energy : ndarray of shape (batch,), float64
        """
        core = self.to_layered()
        v = self._check_data(v, "v", dtype=np.float64)
        return _free_energy(core, v)

    def free_energy_gradient(self, v: ArrayLike) -> dict[str, NDArray[np.float64]]:
        """Gradient of the mean free energy over rows of ``v`` w.r.t. the parameters.

        Returns
        -------
        dict
            ``"weights"`` (n_visible, n_hidden), ``"visible_bias"``
            (n_visible,), ``"hidden_bias"`` (n_hidden,):
            ``dF/dW = -v^T sigmoid(c + v W) / batch`` and so on.
        """
        W, b, c = self._params64()
        v = self._check_data(v, "v", dtype=np.float64)
        p = _two_layer.hidden_mean(self.hidden, v @ W + c)
        n = v.shape[0]
        grad_b = -(v - b).mean(axis=0) if self.visible == "gaussian" else -v.mean(axis=0)
        return {"weights": -(v.T @ p) / n, "visible_bias": grad_b, "hidden_bias": -p.mean(axis=0)}

    def parameters(self) -> dict[str, NDArray]:
        """Named parameters, keyed like :meth:`to_factor_graph`'s ``parameters()``."""
        self._check_fitted()
        return {
            "visible_bias": self.visible_bias_,
            "hidden_bias": self.hidden_bias_,
            "weights": self.weights_,
        }

    def statistics(self, v: ArrayLike, h: ArrayLike) -> dict[str, NDArray[np.float64]]:
        """Sufficient statistics of each pair: ``E = -sum_name <theta_name, stat_name>``.

        Returns
        -------
        dict
            ``"visible_bias"`` (batch, n_visible) = ``v``, ``"hidden_bias"``
            (batch, n_hidden) = ``h``, ``"weights"`` (batch, n_visible,
            n_hidden) = outer products ``v h^T``.

        Raises
        ------
        NotImplementedError
            For Gaussian visible units (their energy is not linear in ``b``).
        """
        if self.visible != "binary":
            raise NotImplementedError("statistics() is defined for binary visible units only")
        W, _, _ = self._params64()
        v = self._check_data(v, "v", dtype=np.float64, strict=True)
        h = as_float_array(h, "h", shape=(v.shape[0], W.shape[1]))
        return {"visible_bias": v, "hidden_bias": h, "weights": v[:, :, None] * h[:, None, :]}

    # --------------------------------------------------------------- transform
    def transform(self, X: ArrayLike) -> NDArray[np.floating]:
        """Hidden activation probabilities ``P(h = 1 | v)`` (``E[h | v] = c + v W`` if Gaussian).

        Parameters
        ----------
        X : array_like of shape (n_samples, n_visible)

        Returns
        -------
        ndarray of shape (n_samples, n_hidden)
            In the model's ``dtype``.

        Raises
        ------
        NotFittedError
            Before ``fit`` (or ``from_parameters``).
        ValueError
            On a wrong number of features, NaN/inf, or values outside [0, 1]
            for a binary RBM.
        """
        self._check_fitted()
        X = self._check_data(X)
        return _two_layer.hidden_mean(self.hidden, X @ self.weights_ + self.hidden_bias_)

    @property
    def _n_features_out(self) -> int:
        """Number of ``transform`` outputs (hidden units), for ``get_feature_names_out``."""
        return self.weights_.shape[1]

    # ---------------------------------------------------------------- sampling
    def sample(
        self,
        n_samples: int,
        n_gibbs: int = 1000,
        *,
        init: ArrayLike | None = None,
        seed=None,
        return_mean: bool = False,
    ) -> NDArray[np.floating]:
        """Draw visible states by block Gibbs sampling.

        Each of ``n_samples`` independent chains starts from ``init`` (or from
        uniform random bits / standard normal values for Gaussian units) and
        runs ``n_gibbs`` sweeps ``h ~ p(h | v)``, ``v ~ p(v | h)``.

        Parameters
        ----------
        n_samples : int
        n_gibbs : int, default 1000
            Number of sweeps (>= 1).
        init : array_like of shape (n_samples, n_visible), optional
        seed : None, int, SeedSequence or Generator, optional
            Defaults to the model's ``random_state``.
        return_mean : bool, default False
            Return ``E[v | h]`` of the last sweep instead of the sampled ``v``
            (smoother pictures).

        Returns
        -------
        ndarray of shape (n_samples, n_visible)
            In the model's ``dtype``.
        """
        self._check_fitted()
        n_samples = check_positive_int(n_samples, "n_samples")
        n_gibbs = check_positive_int(n_gibbs, "n_gibbs")
        rng = as_generator(self.random_state if seed is None else seed)
        dtype = self.weights_.dtype
        n_visible, n_hidden = self.weights_.shape
        if init is None:
            if self.visible == "binary":
                v = (rng.random((n_samples, n_visible)) < 0.5).astype(dtype)
            else:
                v = rng.standard_normal((n_samples, n_visible)).astype(dtype)
        else:
            v = self._check_data(init, "init").copy()
            if v.shape[0] != n_samples:
                raise ValueError(f"init must have n_samples = {n_samples} rows, got {v.shape[0]}")
        return _two_layer.gibbs(
            self.weights_, self.visible_bias_, self.hidden_bias_, self.visible, self.hidden, v,
            n_gibbs, rng, return_mean,
        )  # fmt: skip

    # ------------------------------------------------------------- likelihood
    def log_partition(
        self, method: str = "auto", *, max_units: int = EXACT_MAX_UNITS, seed=None, **ais_options
    ) -> float:
        """Log partition function ``log Z``.

        Parameters
        ----------
        method : {"auto", "exact", "ais"}, default "auto"
            ``"exact"`` is the layered engine's
            (:meth:`pgm.layered.model.LayeredModel.log_partition_exact` of
            :meth:`to_layered`): it enumerates the smaller layer (the hidden
            layer for Gaussian visible units) in chunks and sums the other
            analytically, e.g. ``log Z = logsumexp_h [c.h + sum_i
            softplus(b_i + W_i.h)]`` (binary) or ``logsumexp_h [c.h +
            b.Wh + |Wh|^2 / 2] + n_visible log(2 pi) / 2`` (Gaussian). ``"ais"`` calls
            :func:`pgm.inference.ais.log_partition`. ``"auto"`` is exact when
            the enumerated layer has at most ``EXACT_AUTO_MAX_UNITS`` (20)
            units, else AIS.
        max_units : int, default 25
            Largest enumerated layer ``"exact"`` accepts (2**25 states).
        seed : optional
            Seed for AIS (default: the model's ``random_state``).
        **ais_options
            Passed to :func:`pgm.inference.ais.log_partition` (``n_chains``,
            ``betas``, ``base_rate``, ...).

        Returns
        -------
        float

        Raises
        ------
        ValueError
            For an unknown ``method``, or ``"exact"`` on a layer larger than
            ``max_units``.
        """
        self._check_fitted()
        if method not in ("auto", "exact", "ais"):
            raise ValueError(f"method must be 'auto', 'exact' or 'ais', got {method!r}")
        max_units = check_positive_int(max_units, "max_units")
        n_enum = self._enumerated_units()
        if method == "auto":
            method = "exact" if n_enum <= min(EXACT_AUTO_MAX_UNITS, max_units) else "ais"
        if method == "exact":
            if n_enum > max_units:
                raise ValueError(
                    f"exact log_partition would enumerate 2**{n_enum} states of the "
                    f"{'hidden' if self._enumerate_hidden() else 'visible'} layer, above the "
                    f"limit 2**{max_units}; raise max_units or use method='ais'"
                )
            return _exact_log_partition(self.to_layered(), max_units)
        if self.hidden != "binary":
            raise ValueError(
                "log_partition: AIS needs binary hidden units; with Gaussian hidden units use "
                f"method='exact' (it enumerates the {n_enum} visible units; raise max_units)"
            )
        from pgm.inference import ais

        result = ais.log_partition(
            self, seed=self.random_state if seed is None else seed, **ais_options
        )
        return float(result.log_z)

    def _enumerate_hidden(self) -> bool:
        """Whether exact sums enumerate the hidden layer (as the layered engine chooses)."""
        n_visible, n_hidden = self.weights_.shape
        if self.hidden == "gaussian":
            return False
        return self.visible == "gaussian" or n_hidden < n_visible

    def _enumerated_units(self) -> int:
        n_visible, n_hidden = self.weights_.shape
        return n_hidden if self._enumerate_hidden() else n_visible

    def log_likelihood(self, X: ArrayLike, log_z: float | None = None, *, seed=None) -> float:
        """Mean log-likelihood ``mean_n [-F(x_n)] - log Z`` over the rows of ``X``.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_visible)
            Exact 0/1 for binary units (see :meth:`score_samples` for the
            value it extends to fractional rows).
        log_z : float, optional
            A known ``log Z`` (e.g. from one AIS run reused for several data
            sets); by default ``log_partition("auto", seed=seed)``.
        seed : optional
            Seed for AIS when it is used.

        Returns
        -------
        float

        Raises
        ------
        ValueError
            If a binary RBM gets values other than 0 and 1.
        """
        self._check_fitted()
        self._check_data(X, dtype=np.float64, strict=True)
        return float(np.mean(self.score_samples(X, log_z=log_z, seed=seed)))

    def score_samples(
        self, X: ArrayLike, log_z: float | None = None, *, seed=None
    ) -> NDArray[np.float64]:
        r"""Log-likelihood ``-F(x) - log Z`` of each row.

        For binary units and 0/1 rows this is ``log p(x)``. Rows with values
        in [0, 1], which ``fit`` and ``transform`` accept as Bernoulli
        probabilities, are scored with the same formula, the free energy
        ``F(v) = -v.b - sum_j softplus(c_j + v.W[:, j])`` taken at the mean
        vector ``v``. Since ``-F`` is convex in ``v`` (a linear term plus
        softplus of affine maps), Jensen's inequality gives

        .. math:: -F(v) - \log Z \le E_{x \sim \mathrm{Bernoulli}(v)} [\log p(x)],

        so a fractional row's score is a deterministic lower bound of the
        expected log-likelihood of binary vectors drawn with those
        probabilities, tight at 0/1 rows. (scikit-learn's
        ``BernoulliRBM.score_samples`` instead returns a stochastic
        pseudo-likelihood.) This is what :meth:`score` averages, so model
        selection (``GridSearchCV``) works on the same fractional data as
        ``fit``.

        Deterministic whenever ``log Z`` is exact: with ``log_z`` given, or
        when the enumerated layer has at most 20 units (always for small
        inputs). Otherwise ``log Z`` is an AIS estimate seeded by ``seed``
        (default: ``random_state``), deterministic for an integer seed.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_visible)
            Values in [0, 1] for binary units, real for Gaussian ones.
        log_z : float, optional
        seed : optional

        Returns
        -------
        ndarray of shape (n_samples,), float64

        Raises
        ------
        ValueError
            On a wrong number of features, NaN/inf, or values outside [0, 1]
            for a binary RBM.
        """
        core = self.to_layered()
        X = self._check_data(X, dtype=np.float64)
        if log_z is None:
            log_z = self.log_partition("auto", seed=seed)
        return -_free_energy(core, X) - float(log_z)

    def score(self, X: ArrayLike, y=None) -> float:
        """Mean of :meth:`score_samples` over the rows of ``X`` (higher is better).

        The exact mean log-likelihood for 0/1 data; for fractional rows the
        lower bound described in :meth:`score_samples`.
        """
        return float(np.mean(self.score_samples(X)))

    # ------------------------------------------------------------ factor graph
    def to_factor_graph(self):
        """The same distribution as a :class:`pgm.FactorGraph`.

        Variables ``0 .. n_visible - 1`` are the visible units (group ``"v"``),
        then the hidden units (group ``"h"``), all binary. Parameters are named
        ``"visible_bias"``, ``"hidden_bias"`` and ``"weights"`` (float64 copies).

        Raises
        ------
        NotImplementedError
            For Gaussian visible units (continuous variables have no place in a
            discrete factor graph).
        """
        core = self.to_layered()
        if self.visible != "binary" or self.hidden != "binary":
            raise NotImplementedError(
                "to_factor_graph() needs binary visible and hidden units; a Gaussian-visible "
                "or Gaussian-hidden RBM has continuous variables, which a discrete FactorGraph "
                "cannot hold"
            )
        return core.to_factor_graph(("v", "h"), _FACTOR_NAMES)

    # ---------------------------------------------------------------- training
    def fit(self, X: ArrayLike, y=None) -> RBM:
        """Train from scratch for ``n_epochs`` epochs (shuffled minibatches).

        Written in terms of the minibatch pass behind :meth:`partial_fit`;
        previous state is discarded.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_visible)
        y : ignored

        Returns
        -------
        self
        """
        p = self._validated()
        X = self._check_data(X, dtype=p.dtype, reset=True, visible=p.visible)
        if (
            "log_likelihood" in p.monitor
            and self._would_enumerate(X.shape[1], p) > EXACT_AUTO_MAX_UNITS
        ):
            raise ValueError(
                "monitor 'log_likelihood' needs exact log Z: the smaller layer must have at most "
                f"{EXACT_AUTO_MAX_UNITS} units"
            )
        if "pseudo_likelihood" in p.monitor and p.visible != "binary":
            raise ValueError("monitor 'pseudo_likelihood' is only defined for binary visible units")
        for name in (
            "weights_",
            "visible_bias_",
            "hidden_bias_",
            "persistent_hidden_",
            "_velocity",
            *_PT_ATTRIBUTES,
        ):
            self.__dict__.pop(name, None)
        rng = as_generator(self.random_state)
        self._rng = rng
        self._initialise(X, p, rng)
        self.history_ = {"learning_rate": []}
        for name in p.monitor:
            self.history_[name] = []
        monitor_rows = X[rng.permutation(X.shape[0])[:_MONITOR_ROWS]] if p.monitor else None
        workspace = _two_layer.Workspace(self, p, X.shape[0], _use_sparse(X, p))
        epochs = range(p.n_epochs)
        bar = None
        if p.verbose:
            from tqdm.auto import tqdm

            bar = tqdm(epochs, desc="RBM", unit="epoch")
            epochs = bar
        try:
            for epoch in epochs:
                lr = p.learning_rate_schedule(p.learning_rate, epoch, p.n_epochs)
                order = rng.permutation(X.shape[0])
                workspace.train(X, order, lr, rng)
                self.n_iter_ = epoch + 1
                self.history_["learning_rate"].append(lr)
                if p.monitor:
                    workspace.store(self)
                    values = self._monitor_values(monitor_rows, p.monitor, rng)
                    for name, value in values.items():
                        self.history_[name].append(value)
                    if bar is not None:
                        bar.set_postfix({k: f"{v:.4g}" for k, v in values.items()})
        finally:
            if bar is not None:
                bar.close()
        workspace.store(self)
        return self

    def partial_fit(self, X: ArrayLike, y=None) -> RBM:
        """One pass over ``X`` in minibatches of ``batch_size`` rows (in order).

        The first call initialises the model from ``X``; later calls continue
        from the current parameters, momentum and persistent chains. The
        learning rate is the schedule's value at epoch ``n_iter_``; the epoch
        counter itself only advances in :meth:`fit`.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_visible)
        y : ignored

        Returns
        -------
        self
        """
        p = self._validated()
        fresh = not hasattr(self, "weights_")
        if not fresh and (self.weights_.dtype != p.dtype or self.weights_.shape[1] != p.n_hidden):
            raise ValueError(
                "partial_fit: dtype or n_hidden changed since the model was fitted; call fit"
            )
        X = self._check_data(X, dtype=p.dtype, reset=fresh, visible=p.visible)
        if not hasattr(self, "_rng"):
            self._rng = as_generator(self.random_state)
        rng = self._rng
        if fresh:
            self._initialise(X, p, rng)
            self.history_ = {}
        workspace = _two_layer.Workspace(self, p, X.shape[0], _use_sparse(X, p))
        lr = p.learning_rate_schedule(p.learning_rate, self.n_iter_, p.n_epochs)
        workspace.train(X, None, lr, rng)
        workspace.store(self)
        return self

    def _would_enumerate(self, n_visible, p) -> int:
        if p.visible == "gaussian":
            return p.n_hidden
        if p.hidden == "gaussian":
            return n_visible
        return min(n_visible, p.n_hidden)

    def _initialise(self, X, p, rng):
        n_visible = X.shape[1]
        weights = 0.01 * rng.standard_normal((n_visible, p.n_hidden))
        mean = X.mean(axis=0, dtype=np.float64)
        if p.visible == "binary":
            q = np.clip(mean, 1e-3, 1.0 - 1e-3)
            visible_bias = np.log(q) - np.log1p(-q)
        else:
            visible_bias = mean
        self.weights_ = weights.astype(p.dtype)
        self.visible_bias_ = visible_bias.astype(p.dtype)
        self.hidden_bias_ = np.zeros(p.n_hidden, dtype=p.dtype)
        self.n_features_in_ = n_visible
        self.n_iter_ = 0

    def _monitor_values(self, X, names, rng) -> dict[str, float]:
        core = self.to_layered()
        X = np.asarray(X, dtype=np.float64)
        out = {}
        for name in names:
            if name == "reconstruction_error":
                hidden = core.units[1].mean(core.total_input([X, None], 1))
                mean = core.units[0].mean(core.total_input([None, hidden], 0))
                out[name] = float(np.mean((X - mean) ** 2))
            elif name == "pseudo_likelihood":
                Xb = (X >= 0.5).astype(np.float64)
                flip = rng.integers(0, X.shape[1], size=X.shape[0])
                rows = np.arange(X.shape[0])
                flipped = Xb.copy()
                flipped[rows, flip] = 1.0 - flipped[rows, flip]
                delta = _free_energy(core, flipped) - _free_energy(core, Xb)
                # log sigmoid(delta) = -softplus(-delta), scaled to all n_visible terms.
                out[name] = float(-X.shape[1] * np.mean(np.logaddexp(0.0, -delta)))
            else:  # log_likelihood
                Xb = (X >= 0.5).astype(np.float64) if self.visible == "binary" else X
                log_z = _exact_log_partition(core, EXACT_AUTO_MAX_UNITS)
                out[name] = float(np.mean(-_free_energy(core, Xb)) - log_z)
        return out

    # ------------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike) -> None:
        """Write the model to ``path`` as an ``.npz`` archive (no pickle).

        Stores the parameters, fitted attributes (``n_iter_``, ``history_``,
        persistent chains and momentum), the state of the training random
        generator (so that ``partial_fit`` after :meth:`load` continues
        exactly as it would have without the interruption) and the
        hyper-parameters as a JSON string, with the numpy scalar types and
        the form of ``dtype`` and ``monitor`` recorded so that ``load``
        gives back equal values of the same types. A
        ``Generator``/``SeedSequence`` ``random_state`` cannot be written and
        is stored as None (with a warning). The file is written to exactly
        ``path``.

        Raises
        ------
        NotFittedError
            If the model has no parameters.
        """
        self._check_fitted()
        params, forms = _encode_params(self.get_params(deep=False))
        arrays = {
            "format_version": np.array(_FORMAT_VERSION, dtype=np.int64),
            "class_name": np.array(type(self).__name__),
            "params_json": np.array(json.dumps(params)),
            "param_forms_json": np.array(json.dumps(forms)),
            "weights": self.weights_,
            "visible_bias": self.visible_bias_,
            "hidden_bias": self.hidden_bias_,
            "n_features_in": np.array(self.n_features_in_, dtype=np.int64),
            "n_iter": np.array(getattr(self, "n_iter_", 0), dtype=np.int64),
            "history_keys": np.array(list(getattr(self, "history_", {})), dtype=str),
        }
        for key, values in getattr(self, "history_", {}).items():
            arrays[f"history__{key}"] = np.asarray(values, dtype=np.float64)
        if hasattr(self, "persistent_hidden_"):
            arrays["persistent_hidden"] = self.persistent_hidden_
        if getattr(self, "swap_attempts_", None) is not None:
            arrays["swap_attempts"] = self.swap_attempts_
            arrays["swap_accepts"] = self.swap_accepts_
            arrays["swap_rounds"] = np.array(self._swap_rounds, dtype=np.int64)
        if getattr(self, "_velocity", None) is not None:
            arrays["velocity"] = self._velocity
        if getattr(self, "_rng", None) is not None:
            state = self._rng.bit_generator.state
            arrays["rng_state_json"] = np.array(json.dumps(state, default=_json_array))
        with open(path, "wb") as handle:
            np.savez(handle, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> RBM:
        """Read a model written by :meth:`save` (``allow_pickle=False``).

        Everything read is checked as :meth:`from_parameters` and :meth:`fit`
        check their input: the stored hyper-parameters against the same
        constraints as ``fit``; the parameters for shape (consistent with
        each other and with ``n_hidden``), dtype (the stored ``dtype``) and
        finiteness; ``n_iter`` >= 0; the history; the persistent chains
        (shape ``(n_chains, n_hidden)``, 0/1) and momentum buffers (shape
        ``(n_visible + 1, n_hidden + 1)``), which are refused, not dropped,
        when they do not fit; and the generator state.

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        ValueError
            Naming the file, if it is not an ``.npz`` archive, not an RBM
            archive of a known format version, or holds anything that fails
            the checks above.
        """
        return read_archive(path, cls._from_archive, "RBM")

    @classmethod
    def _from_archive(cls, archive, where: str) -> RBM:
        """The body of :meth:`load`: every entry of ``archive`` checked."""
        files = set(archive.files)
        if not {"format_version", "class_name", "params_json"} <= files:
            raise _ArchiveError(f"{where} is not a saved pgm model")
        class_name = _archive_scalar(archive, "class_name", np.str_, where)
        if class_name != cls.__name__:
            raise _ArchiveError(f"{where} holds a {class_name}, not a {cls.__name__}")
        version = _archive_scalar(archive, "format_version", np.integer, where)
        if version != _FORMAT_VERSION:
            raise _ArchiveError(
                f"{where} has format_version {version}; this pgm reads version {_FORMAT_VERSION}"
            )
        required = {"weights", "visible_bias", "hidden_bias", "n_features_in", "n_iter"}
        missing = sorted(required - files)
        if missing:
            raise _ArchiveError(f"{where} lacks the entries {missing}")
        history_keys = _archive_history_keys(archive, where) if "history_keys" in files else []
        known = required | {
            "format_version", "class_name", "params_json", "param_forms_json", "history_keys",
            "persistent_hidden", "velocity", "rng_state_json", "swap_attempts", "swap_accepts",
            "swap_rounds",
        } | {f"history__{key}" for key in history_keys}  # fmt: skip
        unknown = sorted(files - known)
        if unknown:
            raise _ArchiveError(f"{where} holds unknown entries {unknown}")

        params = _decode_params(archive, cls().get_params(deep=False), where)
        model = cls(**params)
        try:
            p = model._validated()
        except ValueError as exc:
            raise _ArchiveError(f"{where}: stored hyper-parameter {exc}") from None
        try:
            weights, visible_bias, hidden_bias = _check_parameters(
                archive["weights"],
                archive["visible_bias"],
                archive["hidden_bias"],
                p.dtype,
                exact_dtype=True,
            )
        except ValueError as exc:
            raise _ArchiveError(f"{where}: {exc}") from None
        n_visible, n_hidden = weights.shape
        if n_hidden != p.n_hidden:
            raise _ArchiveError(
                f"{where}: weights have {n_hidden} hidden columns but the stored n_hidden is "
                f"{p.n_hidden}"
            )
        n_features_in = _archive_scalar(archive, "n_features_in", np.integer, where)
        if n_features_in != n_visible:
            raise _ArchiveError(
                f"{where}: n_features_in is {n_features_in} but weights have {n_visible} rows"
            )
        n_iter = _archive_scalar(archive, "n_iter", np.integer, where)
        if n_iter < 0:
            raise _ArchiveError(f"{where}: n_iter must be >= 0, got {n_iter}")
        history = {}
        for key in history_keys:
            try:
                values = as_float_array(archive[f"history__{key}"], f"history {key!r}", ndim=1)
            except KeyError:
                raise _ArchiveError(f"{where} lacks the history of {key!r}") from None
            except ValueError as exc:
                raise _ArchiveError(f"{where}: {exc}") from None
            history[key] = values.tolist()

        model.weights_, model.visible_bias_, model.hidden_bias_ = weights, visible_bias, hidden_bias
        model.n_features_in_ = n_visible
        model.n_iter_ = n_iter
        model.history_ = history
        if "persistent_hidden" in files:
            if p.method == "cd":
                raise _ArchiveError(f"{where} holds persistent chains but method is {p.method!r}")
            n_chains = p.n_chains if p.n_chains is not None else p.batch_size
            if p.method == "pcd":
                shape, what = (n_chains, n_hidden), "(n_chains, n_hidden)"
            else:
                shape = (p.n_temperatures, n_chains, n_hidden)
                what = "(n_temperatures, n_chains, n_hidden)"
            chains = _archive_array(archive, "persistent_hidden", shape, p.dtype, where, what=what)
            if p.hidden == "binary" and np.any((chains != 0) & (chains != 1)):
                raise _ArchiveError(f"{where}: persistent_hidden must be binary (0/1)")
            model.persistent_hidden_ = chains
        swap_keys = {"swap_attempts", "swap_accepts", "swap_rounds"}
        if swap_keys & files:
            _archive_swaps(archive, model, p, files, swap_keys, where)
        if "velocity" in files:
            if p.momentum == 0:
                raise _ArchiveError(f"{where} holds a momentum buffer but momentum is 0")
            model._velocity = _archive_array(
                archive, "velocity", (n_visible + 1, n_hidden + 1), p.dtype, where,
                what="(n_visible + 1, n_hidden + 1)",
            )  # fmt: skip
        if "rng_state_json" in files:
            model._rng = _decode_generator(archive, where)
        return model

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


# ------------------------------------------------------------- persistence
def _check_parameters(weights, visible_bias, hidden_bias, dtype, *, exact_dtype=False):
    """The three parameter arrays as fresh arrays of ``dtype``, checked.

    ``weights`` must be 2-D with nonzero dimensions, the biases must match
    its shape, all must be real and finite; with ``exact_dtype`` (archives)
    they must already have ``dtype`` instead of being converted.
    """
    arrays = {"weights": weights, "visible_bias": visible_bias, "hidden_bias": hidden_bias}
    if exact_dtype:
        for name, value in arrays.items():
            if np.asarray(value).dtype != dtype:
                raise ValueError(
                    f"{name} must have dtype {np.dtype(dtype).name} (the model's dtype), got "
                    f"{np.asarray(value).dtype}"
                )
    shape = np.shape(weights)
    if len(shape) != 2:
        raise ValueError(f"weights must be 2-dimensional (n_visible, n_hidden), got shape {shape}")
    n_visible, n_hidden = shape
    if n_visible == 0 or n_hidden == 0:
        raise ValueError(f"weights must have nonzero dimensions, got shape {shape}")
    return (
        as_float_array(weights, "weights", shape=(n_visible, n_hidden), dtype=dtype),
        as_float_array(visible_bias, "visible_bias", shape=(n_visible,), dtype=dtype),
        as_float_array(hidden_bias, "hidden_bias", shape=(n_hidden,), dtype=dtype),
    )


def _encode_params(params: dict) -> tuple[dict, dict]:
    """Hyper-parameters as JSON values, plus the form each needs to come back in."""
    params = dict(params)
    forms = {}
    for name, value in params.items():
        if isinstance(value, np.generic):
            forms[name] = value.dtype.name
            params[name] = value.item()
    schedule = params["learning_rate_schedule"]
    if isinstance(schedule, Schedule):
        params["learning_rate_schedule"] = schedule.to_dict()
    elif not isinstance(schedule, str):
        raise ValueError("learning_rate_schedule must be a str or Schedule to be saved")
    dtype = params["dtype"]
    if isinstance(dtype, str):
        forms["dtype"] = "str"
    else:
        forms["dtype"] = "dtype" if isinstance(dtype, np.dtype) else "type"
        params["dtype"] = _dtype(dtype, "dtype").name
    monitor = params["monitor"]
    forms["monitor"] = {str: "str", list: "list"}.get(type(monitor), "tuple")
    if not isinstance(monitor, str):
        params["monitor"] = list(_monitor(monitor, "monitor"))
    seed = params["random_state"]
    if seed is not None and not isinstance(seed, numbers.Integral):
        warnings.warn(
            f"random_state of type {type(seed).__name__} cannot be saved; stored as None "
            "(the training generator's state is saved, so partial_fit still resumes exactly)",
            stacklevel=3,
        )
        params["random_state"] = None
        forms.pop("random_state", None)
    elif seed is not None:
        params["random_state"] = int(seed)
    return params, forms


def _decode_params(archive, defaults: dict, where: str) -> dict:
    """The stored hyper-parameters, in the forms :func:`_encode_params` recorded."""
    params = json.loads(_archive_scalar(archive, "params_json", np.str_, where))
    forms = {}
    if "param_forms_json" in archive.files:
        forms = json.loads(_archive_scalar(archive, "param_forms_json", np.str_, where))
    if not isinstance(params, dict) or not isinstance(forms, dict):
        raise _ArchiveError(f"{where}: params_json and param_forms_json must hold JSON objects")
    # Archives written before Gaussian hidden units lack ``hidden`` (binary); those
    # written before parallel tempering also lack its two hyper-parameters.
    if "hidden" in defaults and "hidden" not in params:
        params["hidden"] = "binary"
    if set(defaults) - set(params) == set(_PT_DEFAULTS):
        params.update(_PT_DEFAULTS)
    if set(params) != set(defaults):
        raise _ArchiveError(
            f"{where}: stored hyper-parameters {sorted(params)} differ from RBM's "
            f"{sorted(defaults)}"
        )
    if isinstance(params["learning_rate_schedule"], dict):
        try:
            params["learning_rate_schedule"] = get_schedule(params["learning_rate_schedule"])
        except (TypeError, ValueError) as exc:
            raise _ArchiveError(f"{where}: stored learning_rate_schedule: {exc}") from None
    dtype_form = forms.get("dtype", "type")
    if dtype_form != "str":
        dtype = _dtype(params["dtype"], "stored dtype")
        params["dtype"] = dtype if dtype_form == "dtype" else dtype.type
    monitor_form = forms.get("monitor", "tuple")
    if monitor_form == "tuple" and isinstance(params["monitor"], list):
        params["monitor"] = tuple(params["monitor"])
    for name, form in forms.items():
        if name in ("dtype", "monitor") and form in ("str", "dtype", "type", "tuple", "list"):
            continue
        if name not in params or not isinstance(form, str):
            raise _ArchiveError(f"{where}: bad param_forms_json entry {name!r}: {form!r}")
        try:
            kind = np.dtype(form)
            if kind.kind not in "biuf" or isinstance(params[name], (str, list, dict)):
                raise TypeError(form)
            params[name] = kind.type(params[name])
        except (TypeError, ValueError, OverflowError):
            raise _ArchiveError(
                f"{where}: cannot restore hyper-parameter {name}={params[name]!r} as {form!r}"
            ) from None
    return params


def _archive_history_keys(archive, where: str) -> list[str]:
    keys = archive["history_keys"]
    if keys.ndim != 1 or (keys.size and not np.issubdtype(keys.dtype, np.str_)):
        raise _ArchiveError(f"{where}: history_keys must be a 1-D array of strings")
    keys = [str(key) for key in keys]
    allowed = ("learning_rate", *_MONITORS)
    bad = [key for key in keys if key not in allowed]
    if bad or len(set(keys)) != len(keys):
        raise _ArchiveError(f"{where}: history_keys must be distinct names from {list(allowed)}")
    return keys


def _archive_swaps(archive, model, p, files, swap_keys, where) -> None:
    """The PT swap counters (with the chains they belong to), checked, onto ``model``."""
    if p.method != "pt":
        raise _ArchiveError(f"{where} holds swap statistics but method is {p.method!r}")
    missing = sorted(swap_keys - files)
    if missing or "persistent_hidden" not in files:
        raise _ArchiveError(
            f"{where}: swap statistics need swap_attempts, swap_accepts, swap_rounds and "
            f"persistent_hidden together; missing {missing or ['persistent_hidden']}"
        )
    n_pairs = p.n_temperatures - 1
    counts = {}
    for key in ("swap_attempts", "swap_accepts"):
        value = archive[key]
        if value.dtype != np.int64 or value.shape != (n_pairs,):
            raise _ArchiveError(
                f"{where}: {key} must be int64 of shape (n_temperatures - 1,) = ({n_pairs},), "
                f"got {value.dtype} of shape {value.shape}"
            )
        counts[key] = value.copy()
    attempts, accepts = counts["swap_attempts"], counts["swap_accepts"]
    if np.any(accepts < 0) or np.any(accepts > attempts):
        raise _ArchiveError(f"{where}: swap counts must satisfy 0 <= swap_accepts <= swap_attempts")
    rounds = _archive_scalar(archive, "swap_rounds", np.integer, where)
    if rounds < 0:
        raise _ArchiveError(f"{where}: swap_rounds must be >= 0, got {rounds}")
    from pgm.inference.tempering import geometric_ladder

    model.betas_ = geometric_ladder(p.n_temperatures, p.beta_min)
    model.swap_attempts_, model.swap_accepts_ = attempts, accepts
    model.swap_acceptance_ = _two_layer.swap_rates(accepts, attempts)
    model._swap_rounds = rounds


# ------------------------------------------------------------------ helpers
def _use_sparse(X, p) -> bool:
    """Whether training on ``X`` takes the sparse path (see ``algorithm``)."""
    if p.algorithm != "auto":
        return p.algorithm == "sparse"
    if p.method == "pt":
        return False
    return (
        p.visible == "binary"
        and p.hidden == "binary"
        and np.count_nonzero(X) <= AUTO_SPARSE_MAX_DENSITY * X.size
    )


def _free_energy(core, v):
    """``F(v)`` of each row: the layered engine's, hidden layer summed, plus the offset."""
    return core.free_energy_parity([v, None], parity=1) + _offset(core)


def _exact_log_partition(core, max_units) -> float:
    """Exact ``log Z`` by the layered engine (enumerating the smaller discrete layer)."""
    return core.log_partition_exact(max_states=2**max_units) - _offset(core)
