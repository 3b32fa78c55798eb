r"""Deep Boltzmann machine (Salakhutdinov & Hinton, AISTATS 2009).

.. math::

    E(v, h_1, \dots, h_L) = -\sum_l h_l^\top W_l h_{l+1} - \sum_l b_l \cdot h_l
    \; [+ \textstyle\sum_i v_i^2 / (2 \sigma_i^2) \text{ for Gaussian visible units}],
    \quad h_0 = v.

Hidden units are binary; visible units binary or Gaussian (``visible="gaussian"``:
``p(v | h_1) = N(sigma^2 (b_0 + W_0 h_1), sigma^2)``, unit variance unless
``learn_sigma=True`` learns the per-unit log-variances ``z_i = log sigma_i^2``
by steps that hold ``sigma^2 b_0`` fixed, with gradient ``E_data[s] - E_model[s]``
of ``s = (v - sigma^2 b_0)^2 / (2 sigma^2)``; see :mod:`pgm.layered.units`).

Training: greedy pretraining of modified RBMs (section 3.1: the bottom RBM
sees its visible input twice through tied weights, the top RBM its hidden
input twice, middle ones both; composed by averaging the inputs each layer
gets from the RBMs below and above it, which halves the doubled weights), then
joint training with a mean-field positive phase (or, with
``positive_gibbs``, samples of the exact posterior) and persistent fantasy
particles updated by alternating odd/even block Gibbs (section 2).

Evaluation: ``log_likelihood_lower_bound`` is the paper's variational bound
(mean-field posteriors, log Z by enumeration or AIS);
``log_likelihood_importance_bound`` a tighter one for the same model, the odd
layers summed out exactly and the even ones drawn from their mean-field
factors (importance-weighted, Burda et al. 2016).
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import issparse
from scipy.special import expit
from sklearn.base import BaseEstimator, TransformerMixin

from pgm import _params
from pgm._random import as_generator
from pgm._validation import NotFittedError, as_float_array, check_positive_int
from pgm.layered.model import DEFAULT_MAX_STATES, LayeredModel, sample_chains
from pgm.layered.units import GaussianUnits
from pgm.learning.schedules import get_schedule

__all__ = ["DBM"]

#: Epochs at ``momentum`` before ``final_momentum`` takes over (S&H's code: 5).
MOMENTUM_SWITCH_EPOCH = 5

#: Sliding-average rate of the centring offsets per update (Melchior et al. 2016: 0.01).
OFFSET_RATE = 0.01


class DBM(TransformerMixin, BaseEstimator):
    """Deep Boltzmann machine, any number of binary hidden layers.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default (500, 1000)
    visible : {"binary", "gaussian"}, default "binary"
        Visible unit type: binary (data in [0, 1], read as probabilities by
        mean-field) or Gaussian (any finite reals), with unit variance unless
        ``learn_sigma``.
    learn_sigma : bool, default False
        Learn the Gaussian visible units' per-unit log-variances
        ``z = log sigma^2`` (starting at 0, i.e. sigma = 1) in pretraining and
        joint training, with the same rates, momentum and schedule as the
        biases and no weight decay. Only valid with ``visible="gaussian"``.
    learning_rate : float, default 0.005
        Initial joint-training rate.
    learning_rate_schedule : str or Schedule, default "inverse"
        Joint-training rate at epoch ``t`` (0-based):
        ``schedule(learning_rate, t, n_iter)``; the default
        (:class:`pgm.learning.schedules.InverseDecay`) is
        ``learning_rate / (1 + t / 10)``. Salakhutdinov & Hinton's code
        decays far more slowly (a factor 1.000015 per update, about 0.99 per
        MNIST epoch: ``ExponentialDecay(0.99)``).
    pretrain_learning_rate : float, default 0.05
    batch_size : int, default 100
    n_iter : int, default 10
        Joint-training epochs.
    n_pretrain_iter : int, default 5
        CD-1 epochs per pretrained RBM (0 skips pretraining).
    n_particles : int, default 100
        Persistent fantasy particles.
    n_gibbs : int, default 1
        Block-Gibbs sweeps of the fantasy particles per parameter update
        (Salakhutdinov & Hinton used 5).
    momentum : float, default 0.5
        Momentum of every update (pretraining and joint training).
    final_momentum : float or None, default None
        Momentum from epoch 5 on (of each pretrained RBM and of joint
        training), as in Salakhutdinov & Hinton's code (0.5, then 0.9);
        None keeps ``momentum`` throughout.
    weight_decay : float, default 1e-4
    centering : bool, default False
        Joint training takes the centred gradient (Montavon & Mueller 2012;
        Melchior, Fischer & Wiskott, JMLR 2016): every layer ``l`` has an
        offset ``mu_l``, a sliding average (rate :data:`OFFSET_RATE` per
        update) of its data means (the visible batch, the hidden layers'
        mean-field posteriors), and the weights move along ``<(h_l -
        mu_l)(h_{l+1} - mu_{l+1})^T>_data - <...>_model``, the biases along
        their own difference minus the weight steps' shift ``dW_l mu_{l+1} +
        dW_{l-1}^T mu_{l-1}``. The model stays in the usual parameters (the
        offsets only set the direction, which is invariant to flipping any
        units ``h -> 1 - h``); the fixed points are those of the plain
        gradient. Without it, the mean activities of neighbouring layers
        couple through one large direction of the weights (on MNIST the
        top singular vector of ``W_1`` lined up with h1's all-ones
        direction), which the persistent chains mix across badly.
    positive_gibbs : int, default 0
        The data phase of joint training. 0: the mean-field posteriors (as
        in the paper), which maximises the variational bound and pulls the
        model towards posteriors that factorise. ``k > 0``: samples of the
        exact posterior: the even hidden layers are drawn from their
        mean-field factors, ``k`` block-Gibbs sweeps run with ``v``
        clamped, and the statistics take the odd layers' conditional means
        given the even ones (Rao-Blackwellised), so the update follows the
        log-likelihood gradient itself as ``k`` grows. On MNIST it did not
        help a 784-500-1000 DBM started from an RBM (5 epochs, ``k = 2``:
        test bound -88.83 nats, importance-weighted -88.49, against -88.29
        and -88.05 with the mean-field data phase), nor one from greedy
        pretraining (epochs 60 to 80: -138.94 and -128.08 against -119.19
        and -109.92).
    random_state : None, int or Generator
    verbose : bool, default False

    Attributes
    ----------
    weights_ : list of ndarray
        ``weights_[l]`` of shape ``(n_l, n_{l+1})``, visible block first.
    biases_ : list of ndarray
        ``biases_[0]`` visible, then each hidden layer's.
    sigma_ : ndarray of shape (n_visible,) or None
        The Gaussian visible units' standard deviations (ones unless learned
        or given); ``None`` for binary visible units.
    n_features_in_ : int

    Notes
    -----
    Learning rate: on 10,000 binarised MNIST images with a 784-200-400 DBM
    (8 pretraining epochs), the default 0.005 made the test bound oscillate
    in the first joint epochs (-143 nats pretrained, then -209 and -167),
    while 0.001 kept it near the pretrained value and improving (-146, -144);
    for large layers start joint training at 0.001-0.002.
    """

    def __init__(
        self,
        hidden_layer_sizes=(500, 1000),
        *,
        visible="binary",
        learn_sigma=False,
        learning_rate=0.005,
        learning_rate_schedule="inverse",
        pretrain_learning_rate=0.05,
        batch_size=100,
        n_iter=10,
        n_pretrain_iter=5,
        n_particles=100,
        n_gibbs=1,
        momentum=0.5,
        final_momentum=None,
        weight_decay=1e-4,
        centering=False,
        mean_field_iter=10,
        positive_gibbs=0,
        random_state=None,
        verbose=False,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.visible = visible
        self.learn_sigma = learn_sigma
        self.learning_rate = learning_rate
        self.learning_rate_schedule = learning_rate_schedule
        self.pretrain_learning_rate = pretrain_learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.n_pretrain_iter = n_pretrain_iter
        self.n_particles = n_particles
        self.n_gibbs = n_gibbs
        self.momentum = momentum
        self.final_momentum = final_momentum
        self.weight_decay = weight_decay
        self.centering = centering
        self.mean_field_iter = mean_field_iter
        self.positive_gibbs = positive_gibbs
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------ construction
    @classmethod
    def from_parameters(cls, weights, biases, *, visible="binary", sigma=None):
        """A DBM with ``weights[l]`` (n_l, n_l+1) and ``biases[l]`` (n_l,); l = 0 is visible.

        ``sigma`` (a positive float or one per visible unit; ``None`` is unit
        variance) gives Gaussian visible units their standard deviations.
        """
        if visible not in ("binary", "gaussian"):
            raise ValueError(f"visible must be 'binary' or 'gaussian', got {visible!r}")
        if sigma is not None and visible != "gaussian":
            raise ValueError(
                f"sigma is only defined for visible='gaussian', got visible={visible!r}"
            )
        core = LayeredModel(weights, biases, units=cls._units(visible, len(biases), sigma))
        dbm = cls(hidden_layer_sizes=core.sizes[1:], visible=visible)
        dbm._store(core)
        return dbm

    @staticmethod
    def _units(visible, n_layers, sigma=None):
        first = visible if sigma is None else GaussianUnits(sigma)
        return [first] + ["binary"] * (n_layers - 1)

    def _store(self, core):
        self._core = core
        self.weights_ = core.weights
        self.biases_ = core.biases
        visible = core.units[0]
        self.sigma_ = (
            np.broadcast_to(visible.sigma, (core.sizes[0],)).copy()
            if visible.name == "gaussian"
            else None
        )
        self.n_features_in_ = core.sizes[0]

    def _check_fitted(self):
        if not hasattr(self, "_core"):
            raise NotFittedError(
                "DBM is not fitted yet; call fit or build it with from_parameters first"
            )
        return self._core

    def _check_values(self, X, name, visible):
        if visible == "binary" and (np.any(X < 0.0) or np.any(X > 1.0)):
            raise ValueError(f"{name} must hold values in [0, 1] (binary visible units)")
        return X

    @staticmethod
    def _as_2d(X, name):
        """A dense float 2-d array, refusing sparse and 1-d input with what to do instead."""
        if issparse(X):
            raise TypeError(
                f"{name}: sparse input is not supported by DBM; pass a dense array "
                "(e.g. X.toarray())"
            )
        X = np.asarray(X)
        if np.iscomplexobj(X):
            raise ValueError(f"{name}: Complex data not supported, got dtype {X.dtype}")
        if X.ndim == 1:
            raise ValueError(
                f"{name} must be 2-d (n_samples, n_features), got a 1-d array; Reshape your "
                "data with X.reshape(1, -1) for one sample or X.reshape(-1, 1) for one feature"
            )
        X = as_float_array(X, name, ndim=2)
        if X.shape[0] == 0:
            raise ValueError(
                f"{name} has 0 sample(s) (shape={X.shape}) while a minimum of 1 is required."
            )
        if X.shape[1] == 0:
            raise ValueError(
                f"{name} has 0 feature(s) (shape={X.shape}) while a minimum of 1 is required."
            )
        return X

    def _check_X(self, X, name="X"):
        core = self._check_fitted()
        X = self._as_2d(X, name)
        if X.shape[1] != core.sizes[0]:
            raise ValueError(
                f"{name} has {X.shape[1]} features, but DBM is expecting {core.sizes[0]} "
                f"features as input (shape (n_samples, {core.sizes[0]}) expected, got {X.shape})"
            )
        return self._check_values(X, name, core.units[0].name)

    # ------------------------------------------------------------ model functions
    def energy(self, states):
        """Energy of per-layer states (list) or concatenated states (batch, sum sizes)."""
        core = self._check_fitted()
        return core.energy(core.check_states(states))

    def free_energy(self, v, *, max_states=DEFAULT_MAX_STATES):
        """Exact ``F(v)`` (all hidden layers summed; enumerates one parity class)."""
        core = self._check_fitted()
        v = core.units[0].check(self._check_X(v, "v"), "v")
        return core.free_energy(v, max_states)

    def transform(self, X, layer=None):
        """Mean-field posteriors ``q(h_l = 1 | v)``: concatenated, or one layer (1-based)."""
        X = self._check_X(X)
        mu, _, _ = self._core.mean_field(X, max_iter=max(self.mean_field_iter, 50))
        if layer is None:
            return np.hstack(mu[1:])
        if not isinstance(layer, (int, np.integer)) or not 1 <= layer < self._core.n_layers:
            raise ValueError(f"layer must be an int in 1..{self._core.n_layers - 1}, got {layer!r}")
        return mu[layer]

    def sample(self, n_samples, *, n_gibbs=1000, seed=None):
        """Visible states after ``n_gibbs`` block-Gibbs sweeps from random starts.

        int64 0/1 for binary visible units, float for Gaussian ones.
        """
        core = self._check_fitted()
        n_samples = check_positive_int(n_samples, "n_samples")
        rng = as_generator(self.random_state if seed is None else seed)
        v = sample_chains(core, n_samples, n_gibbs, rng)[0]
        return v.astype(np.int64) if core.units[0].name == "binary" else v

    def log_partition(self, method="auto", *, max_states=2**20, seed=None, **ais_options):
        """``log Z``: exact by enumeration when small enough (``auto``), else AIS.

        ``ais_options`` go to :func:`pgm.layered.ais.log_partition`. Pass the
        training data as ``base_rate``: the base model then takes the visible
        marginals and the even hidden layers' mean-field posteriors from them,
        which a DBM's AIS needs to come near its log Z (see that module).
        """
        core = self._check_fitted()
        if method not in ("auto", "exact", "ais"):
            raise ValueError(f"method must be 'auto', 'exact' or 'ais', got {method!r}")
        if method == "exact":
            return core.log_partition_exact(max_states)
        if method == "auto":
            try:
                core._enum_parity((), max_states)
            except ValueError:
                pass  # too many states: AIS
            else:
                return core.log_partition_exact(max_states)
        from pgm.layered.ais import log_partition

        return log_partition(core, seed=seed, **ais_options).log_z

    def log_likelihood_lower_bound(self, X, log_z=None, **log_partition_options):
        """Mean variational lower bound on ``log p(v)``: ``-E(mu) + H(q) - log Z``.

        ``log_z``: given, else :meth:`log_partition` with ``log_partition_options``
        (``method``, ``seed``, AIS options), whose AIS base takes ``X`` as
        ``base_rate`` unless another base is given.
        """
        X = self._check_X(X)
        mu, _, _ = self._core.mean_field(X, max_iter=100)
        if log_z is None:
            opts = dict(log_partition_options)
            if "base_rate" not in opts and "base_visible_bias" not in opts:
                opts["base_rate"] = X
            log_z = self.log_partition(**opts)
        return float(np.mean(self._core.mean_field_bound(mu)) - float(log_z))

    def log_likelihood_importance_bound(
        self, X, log_z=None, *, n_samples=100, seed=None, **log_partition_options
    ):
        """Mean importance-weighted lower bound on ``log p(v)``, tighter than the variational one.

        The odd layers are summed out exactly; the even hidden layers are
        drawn ``n_samples`` times per row from their mean-field factors, and
        each row contributes ``log mean_k p*(v, h^k) / q(h^k)`` (Burda et al.
        2016; :meth:`LayeredModel.importance_bound`). In expectation this is
        at least the bound along ``q`` with the odd layers exact, which is at
        least :meth:`log_likelihood_lower_bound` (the same ``log_z``), and at
        most the exact ``log p(v)``; it rises to ``log p(v)`` as
        ``n_samples`` grows. With one hidden layer it is ``log p(v)``.

        ``seed`` seeds the draws and, when ``log_z`` is not given, AIS (with
        ``log_partition_options`` as in :meth:`log_likelihood_lower_bound`).
        """
        X = self._check_X(X)
        n_samples = check_positive_int(n_samples, "n_samples")
        if log_z is not None:
            log_z = float(log_z)
            if not np.isfinite(log_z):
                raise ValueError(f"log_z must be a finite number, got {log_z!r}")
        rng = as_generator(seed)
        mu, _, _ = self._core.mean_field(X, max_iter=100)
        if log_z is None:
            opts = dict(log_partition_options)
            if "base_rate" not in opts and "base_visible_bias" not in opts:
                opts["base_rate"] = X
            log_z = self.log_partition(seed=rng.integers(2**63), **opts)
        return float(np.mean(self._core.importance_bound(mu, n_samples, rng)) - log_z)

    def score(self, X, y=None):
        """:meth:`log_likelihood_lower_bound`."""
        return self.log_likelihood_lower_bound(X)

    # ------------------------------------------------------------ discriminative fine-tuning
    def classifier_input(self, X):
        """The augmented input ``[v, q(h_2 | v)]`` of :meth:`to_classifier`'s network.

        Salakhutdinov & Hinton (2009, section 4) feed the network the data
        together with the mean-field marginals of the second hidden layer,
        computed once per input and held fixed during fine-tuning. With one
        hidden layer there is no h_2 and the input is ``X`` itself.

        Returns
        -------
        ndarray of shape (n_samples, n_visible + n_h2), float64
        """
        X = self._check_X(X)
        if self._core.n_layers < 3:
            return X.astype(np.float64)
        return np.hstack([X.astype(np.float64), self.transform(X, layer=2)])

    def to_classifier(self, **params):
        """A :class:`pgm.nn.DeepClassifier` initialised from the DBM (S&H 2009, section 4).

        Its input is :meth:`classifier_input` (``[v, q(h_2)]``); the first
        hidden layer has weights ``[W_0; W_1^T]`` and bias ``b_1``, each layer
        ``l >= 2`` above it ``W_{l-1}`` and ``b_l``; ``fit`` adds a random
        softmax layer and fine-tunes every weight by backpropagation. With two
        hidden layers (the paper's model) the initial network computes the
        mean-field posteriors exactly: at the fixed point
        ``q(h_1) = sigmoid(v W_0 + q(h_2) W_1^T + b_1)`` and
        ``q(h_2) = sigmoid(q(h_1) W_1 + b_2)``. With more, the layers above the
        first see only the layer below (no top-down input).

        Parameters
        ----------
        **params
            Passed to ``DeepClassifier.from_pretrained`` (``n_classes``,
            ``optimizer``, ``n_epochs``, ...).

        Examples
        --------
        ``clf = dbm.to_classifier(n_classes=10).fit(dbm.classifier_input(X), y)``,
        then ``clf.predict(dbm.classifier_input(X_test))``.
        """
        core = self._check_fitted()
        from pgm.nn import DeepClassifier

        W, b = core.weights, core.biases
        first = W[0] if core.n_layers < 3 else np.vstack([W[0], W[1].T])
        weights = [first] + [W[l - 1] for l in range(2, core.n_layers)]
        biases = [b[l] for l in range(1, core.n_layers)]
        return DeepClassifier.from_pretrained(weights, biases, **params)

    def to_factor_graph(self):
        """FactorGraph of the same energy: v first, then h1, h2, ... (binary visible only)."""
        return self._check_fitted().to_factor_graph()

    def save(self, path):
        """Write to ``.npz`` (format_version, class name, weights, biases, unit types, sigma)."""
        self._check_fitted().save(path, class_name="DBM")

    @classmethod
    def load(cls, path):
        """Read a file written by :meth:`save` (validated; Gaussian sigma restored exactly)."""
        weights, biases, data = LayeredModel.load_arrays(path, class_name="DBM")
        core = LayeredModel(weights, biases, units=data["units"])
        visible = core.units[0]
        if any(u.name != "binary" for u in core.units[1:]) or visible.name not in (
            "binary",
            "gaussian",
        ):
            raise ValueError(
                f"{path} holds unit types {[u.spec() for u in core.units]}; a DBM has binary "
                "hidden layers and binary or Gaussian visible units"
            )
        sigma = visible.sigma if visible.name == "gaussian" else None
        return cls.from_parameters(weights, biases, visible=visible.name, sigma=sigma)

    # ------------------------------------------------------------ training
    def _validate_params(self):
        sizes = tuple(self.hidden_layer_sizes)
        if len(sizes) < 1 or not all(isinstance(n, (int, np.integer)) and n >= 1 for n in sizes):
            raise ValueError(
                f"hidden_layer_sizes must be a non-empty tuple of positive ints, got {sizes!r}"
            )
        for name in ("learning_rate", "pretrain_learning_rate"):
            _params.positive(getattr(self, name), name)
        _params.options("binary", "gaussian")(self.visible, "visible")
        if _params.flag(self.learn_sigma, "learn_sigma") and self.visible != "gaussian":
            raise ValueError(
                "learn_sigma=True needs visible='gaussian' (only Gaussian units have a "
                f"variance), got visible={self.visible!r}"
            )
        _params.momentum(self.momentum, "momentum")
        if self.final_momentum is not None:
            _params.momentum(self.final_momentum, "final_momentum")
        _params.schedule(self.learning_rate_schedule, "learning_rate_schedule")
        _params.non_negative(self.weight_decay, "weight_decay")
        _params.flag(self.centering, "centering")
        check_positive_int(self.batch_size, "batch_size")
        check_positive_int(self.n_iter, "n_iter", minimum=0)
        check_positive_int(self.n_pretrain_iter, "n_pretrain_iter", minimum=0)
        check_positive_int(self.n_particles, "n_particles")
        check_positive_int(self.n_gibbs, "n_gibbs")
        check_positive_int(self.mean_field_iter, "mean_field_iter")
        check_positive_int(self.positive_gibbs, "positive_gibbs", minimum=0)
        return sizes

    def _momentum_at(self, epoch):
        """The momentum of epoch ``epoch`` (0-based) of a pretrained RBM or of joint training."""
        if self.final_momentum is None or epoch < MOMENTUM_SWITCH_EPOCH:
            return self.momentum
        return self.final_momentum

    def fit(self, X, y=None):
        """Greedy pretraining then joint (PCD + mean-field) training; returns self."""
        sizes = self._validate_params()
        X = self._as_2d(X, "X")
        self._check_values(X, "X", self.visible)
        rng = as_generator(self.random_state)
        all_sizes = (X.shape[1],) + sizes
        weights, biases, sigma = self._pretrain(X, all_sizes, rng)
        core = LayeredModel(weights, biases, units=self._units(self.visible, len(biases), sigma))
        self._joint(core, X, rng)
        self._store(core)
        return self

    def _pretrain(self, X, sizes, rng):
        """CD-1 on the modified RBMs of section 3.1, composed by averaging their inputs.

        Each RBM starts from small random weights (std 0.01), its visible
        biases at the log-odds of its (smoothed) input means and zero hidden
        biases, and trains with the estimator's momentum and weight decay.
        With ``learn_sigma`` the bottom RBM also learns the visible
        log-variances (from 0) by CD-1, each step holding ``sigma^2 b`` fixed
        (see :mod:`pgm.layered.units`): data ``(v - sigma^2 b)^2 / (2 sigma^2)``
        minus its conditional expectation given the sampled hidden units (the
        reconstruction is the conditional mean, so its statistic is
        Rao-Blackwellised the same way). Returns ``(weights, biases, sigma)``
        composed by :meth:`_compose`, ``sigma`` None unless learned.
        """
        L = len(sizes) - 1
        weights = [rng.normal(0.0, 0.01, (sizes[l], sizes[l + 1])) for l in range(L)]
        biases = [np.zeros(n) for n in sizes]
        data = X
        lr = self.pretrain_learning_rate
        learn_sigma = bool(self.learn_sigma)
        gauss = GaussianUnits(np.ones(sizes[0])) if learn_sigma else GaussianUnits()
        hidden_biases = [None] * (L + 1)  # each RBM's own hidden bias, before the next trains
        for l in range(L):
            W, c = weights[l], biases[l + 1]
            if self.n_pretrain_iter > 0:
                # the visible biases of the bottom RBM start at the data's log-odds; a
                # higher RBM's visible layer keeps the bias the RBM below learned for it
                if l == 0 and self.visible == "gaussian":
                    biases[0][:] = data.mean(axis=0)  # the mean of N(b, I)
                elif l == 0:
                    p = (data.sum(axis=0) + 1.0) / (data.shape[0] + 2.0)
                    biases[0][:] = np.log(p) - np.log1p(-p)
            b = biases[l]
            # doubled bottom-up input except for the top RBM; doubled top-down except bottom
            up = 1.0 if l == L - 1 and L > 1 else 2.0
            down = 1.0 if l == 0 and L > 1 else 2.0
            if L == 1:
                up = down = 1.0
            vW, vb, vc = np.zeros_like(W), np.zeros_like(b), np.zeros_like(c)
            vz = np.zeros(sizes[0])
            learn_z = learn_sigma and l == 0
            for epoch in range(self.n_pretrain_iter):
                momentum = self._momentum_at(epoch)
                order = rng.permutation(data.shape[0])
                for s in range(0, data.shape[0], self.batch_size):
                    v0 = data[order[s : s + self.batch_size]]
                    h0 = expit(c + up * (v0 @ W))
                    hs = (rng.random(h0.shape) < h0).astype(np.float64)
                    a1 = b + down * (hs @ W.T)
                    # Gaussian visible units reconstruct by their mean sigma^2 a
                    v1 = gauss.mean(a1) if (l == 0 and self.visible == "gaussian") else expit(a1)
                    h1 = expit(c + up * (v1 @ W))
                    n = v0.shape[0]
                    vW *= momentum
                    vW += lr * ((v0.T @ h0 - v1.T @ h1) / n - self.weight_decay * W)
                    vb *= momentum
                    vb += lr * (v0 - v1).mean(axis=0)
                    vc *= momentum
                    vc += lr * (h0 - h1).mean(axis=0)
                    if learn_z:
                        # centred statistics: the step in z holds sigma^2 b fixed
                        centre = gauss.sigma**2 * b
                        gz = gauss.log_variance_statistics(v0, centre).mean(axis=0)
                        gz -= gauss.expected_log_variance_statistics(a1, centre).mean(axis=0)
                        vz *= momentum
                        vz += lr * gz
                    W += vW
                    b += vb
                    c += vc
                    if learn_z:
                        gauss = GaussianUnits.from_log_variance(gauss.log_variance + vz)
                        b *= np.exp(-vz)
            hidden_biases[l + 1] = c.copy()
            data = expit(c + up * (data @ W))
        if self.n_pretrain_iter > 0:
            weights, biases = self._compose(weights, biases, hidden_biases)
        return weights, biases, (gauss.sigma if learn_sigma else None)

    @staticmethod
    def _compose(weights, visible_biases, hidden_biases):
        """The DBM of a stack of pretrained modified RBMs (section 3.1).

        RBM ``l`` joins layers ``l`` and ``l + 1`` with ``weights[l]``, visible
        bias ``visible_biases[l]`` and hidden bias ``hidden_biases[l + 1]``.
        A layer between two RBMs gets the average of the two inputs they give
        it ("averaging the two models of h1", section 3.1). Every input an RBM
        gives a layer that the DBM joins to another layer is doubled in
        training (``2 W_{l-1}^T h_{l-1} + c`` from below, ``2 W_l h_{l+1} + b``
        from above), so the average is ``W_{l-1}^T h_{l-1} + W_l h_{l+1} +
        (c + b) / 2``: the DBM takes every RBM's weights as trained (the
        doubled weights halved) and the two biases' mean. Taking the upper
        RBM's ``b`` alone (our rule before) left MNIST's pretrained
        784-500-1000 DBM at a test bound of -385 nats; the mean gives -223
        (seed 0: ``bench_dbm_mnist.py``'s pretrained checkpoint, log Z by
        ``dbm_log_z.py`` with 20,000 temperatures). The visible layer keeps the bottom
        RBM's bias and the top layer the top RBM's. Returns new
        ``(weights, biases)``.
        """
        L = len(weights)
        weights = [w.copy() for w in weights]
        biases = [b.copy() for b in visible_biases[:L]] + [hidden_biases[L].copy()]
        for l in range(1, L):
            biases[l] = 0.5 * (hidden_biases[l] + visible_biases[l])
        return weights, biases

    def _joint_state(self, core, rng, X=None):
        """Fresh persistent state: fantasy particles, velocities, epoch counter.

        With ``X`` the particles start at random training rows with hidden
        layers sampled from their mean-field posteriors (near the data, so
        the first updates do not chase uniform noise); without, uniformly.
        The centring offsets (used with ``centering``) start at the means of
        those rows and their mean-field posteriors (without ``X``: 1/2).
        """
        if X is None:
            particles = [
                (rng.random((self.n_particles, n)) < 0.5).astype(np.float64) for n in core.sizes
            ]
        else:
            rows = rng.integers(0, X.shape[0], self.n_particles)
            if core.units[0].name == "binary":
                v = (rng.random((self.n_particles, core.sizes[0])) < X[rows]).astype(np.float64)
            else:
                v = X[rows].copy()
            mu, _, _ = core.mean_field(v, max_iter=self.mean_field_iter)
            particles = [v] + [(rng.random(m.shape) < m).astype(np.float64) for m in mu[1:]]
        offsets = [np.full(n, 0.5) for n in core.sizes]
        if X is not None:
            offsets = [X[rows].mean(axis=0)] + [m.mean(axis=0) for m in mu[1:]]
        return {
            "offsets": offsets,
            "particles": particles,
            "vel_w": [np.zeros_like(w) for w in core.weights],
            "vel_b": [np.zeros_like(b) for b in core.biases],
            "vel_z": np.zeros(core.sizes[0]),
            "epoch": 0,
        }

    def _joint_epoch(self, core, X, rng, state):
        """One joint-training epoch in place; the particles persist across epochs.

        The learning rate of epoch ``t`` (counted in ``state["epoch"]``) is
        ``learning_rate_schedule(learning_rate, t, n_iter)`` and its momentum
        :meth:`_momentum_at` ``(t)``; with ``learn_sigma`` the visible
        log-variances take the same rate (see :meth:`_update_log_variance`).
        """
        particles = state["particles"]
        schedule = get_schedule(self.learning_rate_schedule, "learning_rate_schedule")
        lr = schedule(self.learning_rate, state["epoch"], self.n_iter)
        momentum = self._momentum_at(state["epoch"])
        order = rng.permutation(X.shape[0])
        for s in range(0, X.shape[0], self.batch_size):
            v = X[order[s : s + self.batch_size]]
            mu, _, _ = core.mean_field(v, max_iter=self.mean_field_iter)
            if self.positive_gibbs:
                mu = self._posterior_sample(core, mu, rng)
            for _ in range(self.n_gibbs):
                core.gibbs_sweep(particles, rng)
            pos = core.statistics(mu)
            neg = core.statistics(particles)
            self._step(core, pos, neg, lr, momentum, state)
            if self.learn_sigma:
                self._update_log_variance(core, v, particles, lr, momentum, state)
        state["epoch"] += 1
        return state

    def _posterior_sample(self, core, mu, rng):
        """Data-phase layers from ``positive_gibbs`` sweeps of ``p(h | v)`` (see the class).

        The even hidden layers start at draws from the mean-field factors;
        the odd layers are returned as their conditional means given the
        final even layers, which every statistic pairs with an even layer.
        """
        layers = list(mu)
        for l in range(2, core.n_layers, 2):
            layers[l] = core.units[l].sample(core.total_input(mu, l), rng)
        for _ in range(self.positive_gibbs):
            core.gibbs_sweep(layers, rng, clamp_visible=True)
        for l in range(1, core.n_layers, 2):
            layers[l] = core.units[l].mean(core.total_input(layers, l))
        return layers

    def _step(self, core, pos, neg, lr, momentum, state):
        """One momentum step from the data (``pos``) and model (``neg``) statistics.

        Plain: the log-likelihood gradient ``pos - neg`` (minus weight decay
        on the weights). With ``centering``: the centred gradient of the
        class docstring at the current offsets, which then slide towards the
        batch's data means ``pos["biases_l"]``.
        """
        vel_w, vel_b = state["vel_w"], state["vel_b"]
        L = core.n_layers
        d_b = [pos[f"biases_{l}"] - neg[f"biases_{l}"] for l in range(L)]
        g_w = []
        for l in range(L - 1):
            g = pos[f"weights_{l}"] - neg[f"weights_{l}"]
            if self.centering:
                mu, nu = state["offsets"][l], state["offsets"][l + 1]
                g = g - np.outer(mu, d_b[l + 1]) - np.outer(d_b[l], nu)
            g_w.append(g - self.weight_decay * core.weights[l])
        g_b = d_b
        if self.centering:
            off = state["offsets"]
            g_b = [
                d_b[l]
                - (g_w[l] @ off[l + 1] if l < L - 1 else 0.0)
                - (g_w[l - 1].T @ off[l - 1] if l > 0 else 0.0)
                for l in range(L)
            ]
        for l in range(L - 1):
            vel_w[l] = momentum * vel_w[l] + lr * g_w[l]
            core.weights[l] += vel_w[l]
        for l in range(L):
            vel_b[l] = momentum * vel_b[l] + lr * g_b[l]
            core.biases[l] += vel_b[l]
        if self.centering:
            for l in range(L):
                off[l] += OFFSET_RATE * (pos[f"biases_{l}"] - off[l])

    def _update_log_variance(self, core, v, particles, lr, momentum, state):
        """One momentum step on the visible log-variances ``z = log sigma^2``.

        The step holds the mean parameter ``m = sigma^2 b_0`` fixed (Cho et
        al.'s chart; ``b_0`` is rescaled by ``exp(z_old - z_new)``), along
        the gradient ``mean_data s - mean_particles s`` of the centred
        statistic ``s = (v - m)^2 / (2 sigma^2)`` (the data clamp the visible
        layer, so its data statistic is exact; see :mod:`pgm.layered.units`
        for why not the natural-chart ``v^2 / (2 sigma^2)``). ``z`` is read
        from the current sigma and written back as a new unit object, so the
        state carries only the velocity and a saved model continues exactly.
        """
        u = core.units[0]
        centre = u.sigma**2 * core.biases[0]
        g = u.log_variance_statistics(v, centre).mean(axis=0)
        g = g - u.log_variance_statistics(particles[0], centre).mean(axis=0)
        state["vel_z"] = momentum * state["vel_z"] + lr * g
        z = np.broadcast_to(u.log_variance, (core.sizes[0],)) + state["vel_z"]
        core.units[0] = GaussianUnits.from_log_variance(z)
        core.biases[0] *= np.exp(-state["vel_z"])

    def _joint(self, core, X, rng):
        """Joint training: mean-field data phase, persistent Gibbs model phase."""
        state = self._joint_state(core, rng, X)
        epochs = range(self.n_iter)
        if self.verbose:
            from tqdm.auto import tqdm

            epochs = tqdm(epochs, desc="DBM", unit="epoch")
        for _ in epochs:
            self._joint_epoch(core, X, rng, state)
        return state
