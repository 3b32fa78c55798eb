"""CRF with an RBM shape prior (GLOC, Kae, Sohn, Lee & Learned-Miller, CVPR 2013).

One example is ``x = (node_features, edges)`` as for :class:`pgm.models.CRF`;
its nodes are the pixels of an image of shape ``image_shape`` in row-major
order. The labels are seen by an RBM through a virtual ``R x R`` grid,
``ybar_rk = sum_s P[r, s] [y_s = k]`` (``P``: overlap of pixel ``s`` with
cell ``r``, see :func:`projection_matrix`), and

    E(y, h | x) = E_crf(y | x) - sum_{r,k} b[r, k] ybar_rk
                  - sum_{r,k,j} W[r, k, j] ybar_rk h_j - c . h,

with ``E_crf`` the CRF energy. Summing out ``h`` gives the free energy
``F(y | x) = E_crf(y | x) - b . ybar - sum_j softplus(c_j + sum_rk W[r,k,j] ybar_rk)``
and ``p(y | x) = exp(-F(y | x)) / Z(x)``.

Training follows the paper: the CRF (unary and pairwise weights, L-BFGS on
its conditional likelihood), then the RBM on the projected ground-truth label
maps (CD-k or PCD, with a visible bias), then joint fine-tuning of every
parameter by stochastic gradient ascent on the conditional log-likelihood,
whose gradient (data statistics with ``h`` given the true labels, minus model
statistics) takes the model statistics from mean-field inference
(``joint_inference="mean_field"``) or from exact enumeration on tiny graphs
(``"exact"``). With mean-field, the objective followed is the mean-field
conditional log-likelihood ``-F(y | x) - B(x)`` where ``B`` is the variational
lower bound on ``log Z(x)`` at the mean-field fixed point; at a fixed point
its gradient is exactly data minus mean-field statistics.

The shape RBM is a two-layer :class:`pgm.layered.model.LayeredModel`
(:meth:`ShapePriorCRF.to_layered`): a softmax visible layer of ``K`` units per
cell (cell ``r``, label ``k`` is unit ``r * K + k``) and a binary hidden layer,
weights ``W.reshape(R*R*K, n_hidden)``, biases ``b.ravel()`` and ``c``. Its
energy, free energy, conditionals and block Gibbs sweeps are the engine's,
evaluated at the projected maps ``ybar`` (fractions; the engine's energy and
free energy are the same polynomials for any real visible values).
"""

from __future__ import annotations

import json
import os

import numpy as np
from scipy.special import logsumexp, softmax
from sklearn.base import BaseEstimator

from pgm._random import as_generator
from pgm._validation import (
    NotFittedError,
    as_float_array,
    check_positive_float,
    check_positive_int,
)
from pgm.layered.model import LayeredModel
from pgm.models.crf import CRF, _adjacency, _check_example, _check_labels, _fg

__all__ = ["ShapePriorCRF", "projection_matrix", "train_softmax_rbm"]

_FORMAT_VERSION = 1


def projection_matrix(height: int, width: int, grid: int) -> np.ndarray:
    """Overlap matrix P (grid*grid, height*width).

    ``P[r, s]`` is the area of pixel ``s`` inside cell ``r`` divided by the
    cell's area, so each row sums to 1 and ``ybar = P @ onehot(y)`` holds the
    fraction of each cell given each label.
    """
    height = check_positive_int(height, "height")
    width = check_positive_int(width, "width")
    grid = check_positive_int(grid, "grid")

    def overlap(n):
        edges_p = np.arange(n + 1) / n
        edges_g = np.arange(grid + 1) / grid
        lo = np.maximum(edges_g[:-1, None], edges_p[None, :-1])
        hi = np.minimum(edges_g[1:, None], edges_p[None, 1:])
        return np.clip(hi - lo, 0, None) * grid  # (grid, n), rows sum to 1

    return np.kron(overlap(height), overlap(width))


def _shape_rbm(w, b, c) -> LayeredModel:
    """The shape RBM ``(W (n_cells, K, H), b (n_cells, K), c (H,))`` as a LayeredModel.

    Layers ``[v, h]``: ``v`` softmax with ``K`` units per cell (unit ``r * K + k``),
    ``h`` binary; float64 copies of the parameters.
    """
    n_cells, k, n_hidden = np.shape(w)
    return LayeredModel(
        [np.reshape(w, (n_cells * k, n_hidden))],
        [np.reshape(b, (n_cells * k,)), c],
        units=[("softmax", k), "binary"],
    )


def _sparse(p):
    from scipy.sparse import csr_matrix

    return csr_matrix(p)


class ShapePriorCRF(BaseEstimator):
    """CRF plus an RBM shape prior over a virtual grid (GLOC).

    Parameters
    ----------
    n_labels : int
        K, the number of labels.
    grid_size : int
        R, the virtual grid is R x R cells.
    n_hidden : int
        Hidden units of the shape RBM.
    image_shape : tuple (height, width) or None
        Pixel layout of the nodes (row-major); None: square images, taken from
        the number of nodes in ``fit``.
    pairwise : {"potts", "full"}
        Pairwise form of the CRF part.
    alpha : float
        L2 penalty ``alpha/2 ||theta||^2`` of the CRF pretraining and of the
        joint objective.
    crf_max_iter : int
        L-BFGS iterations of the CRF pretraining.
    rbm_method : {"pcd", "cd"}
        Persistent or plain contrastive divergence for the RBM pretraining.
    rbm_cd_k : int
        Gibbs steps per negative phase.
    rbm_n_epochs, rbm_learning_rate, rbm_batch_size, rbm_weight_decay :
        RBM pretraining schedule (plain SGD; weight decay on W).
    joint_n_epochs : int
        Epochs of joint fine-tuning (0: stage-wise model only).
    joint_learning_rate : float
        Step per pixel: the minibatch gradient of the per-example objective
        is divided by the number of nodes.
    joint_batch_size : int
    joint_inference : {"mean_field", "exact"}
        Where the model statistics of the joint gradient come from.
    mean_field_iter, damping, tol : float
        Alternating mean-field settings (the iterate with the highest bound,
        i.e. lowest variational free energy, is kept).
    max_states : int
        Largest K**n_nodes exact enumeration accepts.
    random_state : int or None

    Attributes
    ----------
    unary_weights_ : ndarray (K, n_features)
    pairwise_weights_ : ndarray (K, K)
    rbm_weights_ : ndarray (R*R, K, n_hidden)
    visible_bias_ : ndarray (R*R, K)
    hidden_bias_ : ndarray (n_hidden,)
    projection_ : ndarray (R*R, n_nodes)
    n_features_in_ : int
    history_ : dict of lists (``"joint_objective"`` per epoch, ``"validation_accuracy"``)
    """

    def __init__(
        self,
        n_labels=2,
        grid_size=24,
        n_hidden=100,
        image_shape=None,
        pairwise="potts",
        alpha=1e-3,
        crf_max_iter=100,
        rbm_method="pcd",
        rbm_cd_k=1,
        rbm_n_epochs=200,
        rbm_learning_rate=0.05,
        rbm_batch_size=20,
        rbm_weight_decay=1e-4,
        joint_n_epochs=5,
        joint_learning_rate=0.01,
        joint_batch_size=10,
        joint_inference="mean_field",
        mean_field_iter=30,
        damping=0.5,
        tol=1e-5,
        max_states=2**16,
        random_state=None,
    ):
        self.n_labels = n_labels
        self.grid_size = grid_size
        self.n_hidden = n_hidden
        self.image_shape = image_shape
        self.pairwise = pairwise
        self.alpha = alpha
        self.crf_max_iter = crf_max_iter
        self.rbm_method = rbm_method
        self.rbm_cd_k = rbm_cd_k
        self.rbm_n_epochs = rbm_n_epochs
        self.rbm_learning_rate = rbm_learning_rate
        self.rbm_batch_size = rbm_batch_size
        self.rbm_weight_decay = rbm_weight_decay
        self.joint_n_epochs = joint_n_epochs
        self.joint_learning_rate = joint_learning_rate
        self.joint_batch_size = joint_batch_size
        self.joint_inference = joint_inference
        self.mean_field_iter = mean_field_iter
        self.damping = damping
        self.tol = tol
        self.max_states = max_states
        self.random_state = random_state

    # ------------------------------------------------------------------ setup
    @classmethod
    def from_parameters(
        cls,
        unary_weights,
        pairwise_weights,
        rbm_weights,
        hidden_bias,
        projection,
        visible_bias=None,
        **kwargs,
    ):
        """Build a fitted model from its parameters.

        Parameters
        ----------
        unary_weights : (K, n_features); pairwise_weights : (K, K)
        rbm_weights : (n_cells, K, n_hidden); hidden_bias : (n_hidden,)
        projection : (n_cells, n_nodes), the overlap matrix
        visible_bias : (n_cells, K) or None (zeros)
        """
        crf = CRF.from_parameters(unary_weights, pairwise_weights)
        k = crf.n_labels
        if crf.pairwise_weights_.ndim != 2:
            raise ValueError(
                "pairwise_weights must have shape (K, K): ShapePriorCRF has no edge features, "
                f"got shape {np.shape(pairwise_weights)}"
            )
        w = np.array(rbm_weights, dtype=np.float64)
        if w.ndim != 3 or w.shape[1] != k:
            raise ValueError(f"rbm_weights must have shape (n_cells, {k}, n_hidden); got {w.shape}")
        c = np.array(hidden_bias, dtype=np.float64)
        if c.shape != (w.shape[2],):
            raise ValueError(f"hidden_bias must have shape ({w.shape[2]},); got {c.shape}")
        p = np.array(projection, dtype=np.float64)
        if p.ndim != 2 or p.shape[0] != w.shape[0]:
            raise ValueError(f"projection must have shape ({w.shape[0]}, n_nodes); got {p.shape}")
        b = (
            np.zeros((w.shape[0], k))
            if visible_bias is None
            else np.array(visible_bias, dtype=np.float64)
        )
        if b.shape != (w.shape[0], k):
            raise ValueError(f"visible_bias must have shape ({w.shape[0]}, {k}); got {b.shape}")
        for name, arr in (
            ("rbm_weights", w),
            ("hidden_bias", c),
            ("projection", p),
            ("visible_bias", b),
        ):
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{name} must be finite")
        kwargs.setdefault("pairwise", "full")
        kwargs.setdefault("n_hidden", w.shape[2])
        m = cls(n_labels=k, **kwargs)
        m._set(crf.unary_weights_, crf.pairwise_weights_, w, b, c)
        m.projection_ = p
        m.n_features_in_ = crf.n_features_in_
        return m

    def _set(self, u, p, w, b, c):
        self.unary_weights_, self.pairwise_weights_ = u, p
        self.rbm_weights_, self.visible_bias_, self.hidden_bias_ = w, b, c
        self._proj_cache = None

    def _check_fitted(self):
        if not hasattr(self, "rbm_weights_"):
            raise NotFittedError(
                "this ShapePriorCRF is not fitted; call fit or use from_parameters"
            )

    def _proj(self):
        cache = getattr(self, "_proj_cache", None)
        if cache is None or cache[0] is not self.projection_:
            cache = (self.projection_, _sparse(self.projection_))
            self._proj_cache = cache
        return cache[1]

    def _prep(self, x):
        self._check_fitted()
        feats, edges = _check_example(x, self.n_features_in_)
        if feats.shape[0] != self.projection_.shape[1]:
            raise ValueError(
                f"node_features has {feats.shape[0]} nodes but projection expects "
                f"{self.projection_.shape[1]} (the image has {self.projection_.shape[1]} pixels)"
            )
        return feats, edges

    @property
    def _theta(self):
        return (
            self.unary_weights_,
            self.pairwise_weights_,
            self.rbm_weights_,
            self.visible_bias_,
            self.hidden_bias_,
        )

    def to_layered(self) -> LayeredModel:
        """The shape RBM as a two-layer :class:`pgm.layered.model.LayeredModel`.

        Layers ``[v, h]``: ``v`` has one softmax group of ``K`` units per cell
        of the virtual grid (unit ``r * K + k`` is label ``k`` of cell ``r``),
        ``h`` is binary; the one weight block is ``rbm_weights_`` reshaped to
        ``(R*R*K, n_hidden)``, the biases ``visible_bias_.ravel()`` and
        ``hidden_bias_``. Built afresh (float64 copies) on each call. Its
        energy at ``v = ybar`` is the RBM part of :meth:`energy`; its
        distribution over one-hot ``v`` is the shape prior that
        :meth:`sample_shapes` samples.

        Raises
        ------
        NotFittedError
            Before ``fit`` (or ``from_parameters``).
        """
        self._check_fitted()
        return _shape_rbm(self.rbm_weights_, self.visible_bias_, self.hidden_bias_)

    # ---------------------------------------------------------------- energies
    def energy(self, x, y, h) -> np.ndarray:
        """E(y, h | x) for y (batch, n_nodes) and h (batch, n_hidden) (or single rows)."""
        feats, edges = self._prep(x)
        y, single = self._labels(y, feats.shape[0])
        h = np.atleast_2d(np.asarray(h, dtype=np.float64))
        if h.shape != (len(y), len(self.hidden_bias_)):
            raise ValueError(
                f"h must have shape ({len(y)}, {len(self.hidden_bias_)}); got {h.shape}"
            )
        u, p, w, b, c = self._theta
        ybar = self._ybar(y)  # (B, R2, K)
        e = CRF._energy(feats, edges, y, u, p)
        e = e + _shape_rbm(w, b, c).energy([ybar.reshape(len(y), -1), h])
        return e[0] if single else e

    def _labels(self, y, n):
        y = np.asarray(y)
        single = y.ndim == 1
        y2 = np.atleast_2d(y)
        for row in y2:
            _check_labels(row, n, self.n_labels)
        return y2.astype(np.int64), single

    def _ybar(self, y2):
        """Projected one-hot label maps (B, R2, K) of integer labellings (B, n)."""
        proj = self._proj()
        k = self.n_labels
        batch, n = y2.shape
        onehot = np.eye(k)[y2].transpose(1, 0, 2).reshape(n, batch * k)
        return np.asarray(proj @ onehot).reshape(-1, batch, k).transpose(1, 0, 2)

    def free_energy(self, x, y) -> np.ndarray:
        """F(y | x) = E_crf(y | x) - b . ybar - sum_j softplus(c_j + sum_rk W[r,k,j] ybar_rk)."""
        feats, edges = self._prep(x)
        y2, single = self._labels(y, feats.shape[0])
        f = self._free_energy(feats, edges, y2, self._ybar(y2), *self._theta)
        return f[0] if single else f

    @staticmethod
    def _free_energy(feats, edges, y2, ybar, u, p, w, b, c):
        # the shape RBM's free energy at v = ybar, h summed out (softplus)
        f_rbm = _shape_rbm(w, b, c).free_energy_parity([ybar.reshape(len(ybar), -1), None], 1)
        return CRF._energy(feats, edges, y2, u, p) + f_rbm

    def _enumerate(self, feats, edges, theta):
        n, k = feats.shape[0], self.n_labels
        if k**n > self.max_states:
            raise ValueError(
                f"exact enumeration needs {k}**{n} = {k**n} states, above max_states="
                f"{self.max_states}; use joint_inference='mean_field'"
            )
        states = np.indices((k,) * n).reshape(n, -1).T.astype(np.int64)
        ybar = self._ybar(states)
        lp = -self._free_energy(feats, edges, states, ybar, *theta)
        log_z = logsumexp(lp)
        return states, ybar, np.exp(lp - log_z), float(log_z)

    def exact_conditional(self, x):
        """Label marginals p(y_s = k | x) (n_nodes, K) and log Z(x), enumerating y (h summed)."""
        feats, edges = self._prep(x)
        states, _, prob, log_z = self._enumerate(feats, edges, self._theta)
        q = np.stack([prob @ (states == c) for c in range(self.n_labels)], axis=1)
        return q, log_z

    def to_factor_graph(self, x):
        """One example's model as a FactorGraph: labels y (categorical K) first, then h (binary)."""
        feats, edges = self._prep(x)
        u, p, w, b, c = self._theta
        k = self.n_labels
        fg = _fg(feats, edges, u, p, k)
        proj = self.projection_
        a = np.einsum("rs,rkj->skj", proj, w)  # pixel-level (y_s, h_j) interaction
        pix_b = proj.T @ b
        h = fg.add_variables("h", len(c), domain="binary")
        fg.add_unary(h, c, name="hidden_bias")
        for s in range(feats.shape[0]):
            if not np.any(proj[:, s]):
                continue
            fg.add_factor([s], -pix_b[s], name=f"visible_bias_{s}")
            for j in range(len(c)):
                table = np.zeros((k, 2))
                table[:, 1] = -a[s, :, j]
                fg.add_factor([s, int(h.ids[j])], table, name=f"rbm_{s}_{j}")
        return fg

    # --------------------------------------------------------------- inference
    def _mean_field(self, feats, edges, theta, adj=None):
        """Alternating mean-field; returns (q_y, q_h, bound) at the highest bound seen."""
        u, p, w, b, c = theta
        proj = self._proj()
        proj_t = self._proj_t()
        n_cells, k, nh = w.shape
        wf = w.reshape(n_cells * k, nh)
        unary = feats @ u.T
        scores = unary + proj_t @ b
        if adj is None:
            adj = _adjacency(edges, feats.shape[0])
        adj_t = None if adj is None else adj.T.tocsr()
        core = _shape_rbm(w, b, c)
        hid = core.units[1]
        q = softmax(unary, axis=-1)  # initialised from the unary model
        qh = hid.mean(core.total_input([(proj @ q).reshape(1, -1), None], 1))[0]
        best = (q, qh, -np.inf)
        for _ in range(self.mean_field_iter):
            field = scores + proj_t @ (wf @ qh).reshape(n_cells, k)
            if adj is not None:
                field += adj @ (q @ p.T) + adj_t @ (q @ p)
            new = (1 - self.damping) * softmax(field, axis=-1) + self.damping * q
            delta = np.max(np.abs(new - q))
            q = new
            qbar = (proj @ q).ravel()
            act = core.total_input([qbar[None], None], 1)[0]
            qh = hid.mean(act)
            # bound = E_q[-E] + H(q) + H(qh)
            val = np.sum(q * scores) - np.sum(q * np.log(np.clip(q, 1e-300, None)))
            if adj is not None:
                val += np.sum(q * (adj @ (q @ p.T)))
            # sum_j [qh_j act_j + H(qh_j)] = sum_j softplus(act_j) at qh = sigmoid(act)
            val += hid.log_partition(act)
            if val > best[2]:
                best = (q, qh, float(val))
            if delta < self.tol:
                break
        return best

    def _proj_t(self):
        cache = getattr(self, "_proj_t_cache", None)
        proj = self._proj()
        if cache is None or cache[0] is not proj:
            cache = (proj, proj.T.tocsr())
            self._proj_t_cache = cache
        return cache[1]

    def mean_field(self, x):
        """Alternating mean-field on one example: (q_y (n, K), q_h (n_hidden,), bound <= log Z)."""
        feats, edges = self._prep(x)
        return self._mean_field(feats, edges, self._theta)

    def predict_marginals(self, X):
        """Mean-field label marginals, a list of (n_nodes, K) arrays."""
        return [self.mean_field(x)[0] for x in X]

    def predict(self, X):
        """Argmax of the mean-field label marginals, a list of (n_nodes,) int arrays."""
        return [np.argmax(q, axis=1) for q in self.predict_marginals(X)]

    def score(self, X, Y):
        """Pixel (node) accuracy of :meth:`predict`."""
        self._check_fitted()
        if len(X) != len(Y):
            raise ValueError(f"X and Y must have the same length; got {len(X)} and {len(Y)}")
        pred = self.predict(X)
        Y = [_check_labels(y, len(pr), self.n_labels) for pr, y in zip(pred, Y, strict=False)]
        correct = sum(int(np.sum(pr == y)) for pr, y in zip(pred, Y, strict=True))
        return correct / sum(len(y) for y in Y)

    # -------------------------------------------------------------- shape RBM
    def sample_shapes(self, n_samples=8, n_steps=200, seed=None):
        """Samples of the shape RBM alone (block Gibbs from uniform labels).

        The chains run on :meth:`to_layered`: labels drawn uniformly per cell
        (one uniform per cell, as the softmax units' ``sample_from_mean``),
        then ``n_steps - 1`` block-Gibbs sweeps (``h`` given ``v``, then ``v``
        given ``h``) and a last draw of ``h``. The random stream is the one
        the earlier private sampler used, so a seed gives the same maps.

        Returns
        -------
        maps : ndarray (n_samples, R*R, K)
            The visible conditional probabilities after the last step.
        """
        self._check_fitted()
        n_samples = check_positive_int(n_samples, "n_samples")
        n_steps = check_positive_int(n_steps, "n_steps")
        rng = as_generator(seed)
        core = self.to_layered()
        vis, hid = core.units
        layers = [vis.sample_from_mean(np.full((n_samples, core.sizes[0]), 1.0 / vis.k), rng), None]
        for _ in range(n_steps - 1):
            core.gibbs_sweep(layers, rng)
        layers[1] = hid.sample(core.total_input(layers, 1), rng)
        pv = vis.mean(core.total_input(layers, 0))
        return pv.reshape((n_samples,) + self.visible_bias_.shape)

    # ---------------------------------------------------------------- learning
    def _check_params(self):
        check_positive_int(self.n_labels, "n_labels", minimum=2)
        check_positive_int(self.grid_size, "grid_size")
        check_positive_int(self.n_hidden, "n_hidden")
        if self.pairwise not in ("potts", "full"):
            raise ValueError(f"pairwise must be 'potts' or 'full'; got {self.pairwise!r}")
        if self.rbm_method not in ("pcd", "cd"):
            raise ValueError(f"rbm_method must be 'pcd' or 'cd'; got {self.rbm_method!r}")
        if self.joint_inference not in ("mean_field", "exact"):
            raise ValueError(
                f"joint_inference must be 'mean_field' or 'exact'; got {self.joint_inference!r}"
            )
        check_positive_int(self.rbm_cd_k, "rbm_cd_k")
        check_positive_int(self.rbm_n_epochs, "rbm_n_epochs", minimum=0)
        check_positive_int(self.joint_n_epochs, "joint_n_epochs", minimum=0)
        check_positive_int(self.rbm_batch_size, "rbm_batch_size")
        check_positive_int(self.joint_batch_size, "joint_batch_size")
        check_positive_int(self.mean_field_iter, "mean_field_iter")
        check_positive_float(self.alpha, "alpha", allow_zero=True)
        check_positive_float(self.rbm_learning_rate, "rbm_learning_rate")
        check_positive_float(self.rbm_weight_decay, "rbm_weight_decay", allow_zero=True)
        check_positive_float(self.joint_learning_rate, "joint_learning_rate")
        if not 0 <= self.damping < 1:
            raise ValueError(f"damping must lie in [0, 1); got {self.damping!r}")

    def _image_shape(self, n_nodes):
        if self.image_shape is None:
            side = int(round(np.sqrt(n_nodes)))
            if side * side != n_nodes:
                raise ValueError(
                    f"image_shape=None needs square images, but examples have {n_nodes} nodes; "
                    "pass image_shape=(height, width)"
                )
            return side, side
        shape = tuple(int(s) for s in self.image_shape)
        if len(shape) != 2 or shape[0] * shape[1] != n_nodes:
            raise ValueError(
                f"image_shape {self.image_shape!r} does not hold the {n_nodes} nodes "
                "of the examples"
            )
        return shape

    def _check_xy(self, X, Y, n_features=None):
        if len(X) != len(Y):
            raise ValueError(f"X and Y must have the same length; got {len(X)} and {len(Y)}")
        if len(X) == 0:
            raise ValueError("X must hold at least one example")
        data = []
        for x, y in zip(X, Y, strict=False):
            feats, edges = _check_example(x, n_features)
            if n_features is None:
                n_features = feats.shape[1]
            if data and feats.shape[0] != data[0][0].shape[0]:
                raise ValueError(
                    f"every example must have the same number of nodes (the image grid); got "
                    f"{data[0][0].shape[0]} and {feats.shape[0]}"
                )
            data.append((feats, edges, _check_labels(y, feats.shape[0], self.n_labels)))
        return data

    def fit(self, X, Y, validation=None, crf=None):
        """Stage-wise pretraining, then joint fine-tuning.

        Parameters
        ----------
        X : list of (node_features, edges); Y : list of (n_nodes,) int label arrays
        validation : (X_val, Y_val) or None
            When given, the joint fine-tuning keeps the parameters (after any
            epoch, epoch 0 being the stage-wise model) with the best
            validation pixel accuracy.
        crf : fitted :class:`pgm.models.CRF` or None
            A CRF already trained on (X, Y) to start from (stage 1 is skipped);
            its number of labels and features must match.
        """
        self._check_params()
        data = self._check_xy(X, Y)
        if validation is not None:
            if not (isinstance(validation, (tuple, list)) and len(validation) == 2):
                raise TypeError("validation must be a pair (X_val, Y_val)")
            self._check_xy(validation[0], validation[1], data[0][0].shape[1])
        rng = as_generator(self.random_state)
        n = data[0][0].shape[0]
        height, width = self._image_shape(n)
        k = self.n_labels
        # 1. the CRF: unary and pairwise weights
        if crf is None:
            crf = CRF(
                n_labels=k,
                pairwise=self.pairwise,
                alpha=self.alpha,
                max_iter=self.crf_max_iter,
                mean_field_iter=self.mean_field_iter,
                damping=self.damping,
                tol=self.tol,
            )
            crf.fit(X, Y)
        elif not isinstance(crf, CRF) or not hasattr(crf, "unary_weights_"):
            raise TypeError("crf must be a fitted pgm.models.CRF")
        elif getattr(crf, "n_edge_features_in_", 0):
            raise ValueError(
                "crf was fitted with edge features; ShapePriorCRF takes a CRF over "
                "(node_features, edges) examples"
            )
        elif crf.unary_weights_.shape != (k, data[0][0].shape[1]):
            raise ValueError(
                f"crf has unary_weights of shape {crf.unary_weights_.shape}; "
                f"expected {(k, data[0][0].shape[1])}"
            )
        # 2. the shape RBM on projected ground truth
        proj = projection_matrix(height, width, self.grid_size)
        self.projection_ = proj
        self._proj_cache = None
        maps = np.stack([self._proj() @ np.eye(k)[y] for _, _, y in data])
        w, b, c = train_softmax_rbm(
            maps,
            k,
            self.n_hidden,
            method=self.rbm_method,
            cd_k=self.rbm_cd_k,
            n_epochs=self.rbm_n_epochs,
            learning_rate=self.rbm_learning_rate,
            batch_size=self.rbm_batch_size,
            weight_decay=self.rbm_weight_decay,
            seed=rng,
        )
        self._set(crf.unary_weights_, crf.pairwise_weights_, w, b, c)
        self.n_features_in_ = crf.n_features_in_
        self.history_ = {"joint_objective": [], "validation_accuracy": []}
        # 3. joint fine-tuning
        best_theta, best_val = self._theta, -np.inf
        if validation is not None:
            best_val = self.score(*validation)
            self.history_["validation_accuracy"].append(best_val)
        adjs = [_adjacency(e, n) for _, e, _ in data]
        for _ in range(self.joint_n_epochs):
            order = rng.permutation(len(data))
            total = 0.0
            for start in range(0, len(data), self.joint_batch_size):
                batch = [data[i] + (adjs[i],) for i in order[start : start + self.joint_batch_size]]
                obj, grads = self._joint_objective(self._pack(), batch)
                total += obj * len(batch)
                step = self.joint_learning_rate / n
                theta = self._pack() - step * grads
                self._set(*self._unpack(theta))
            self.history_["joint_objective"].append(total / len(data))
            if validation is not None:
                acc = self.score(*validation)
                self.history_["validation_accuracy"].append(acc)
                if acc > best_val:
                    best_theta, best_val = self._theta, acc
        if validation is not None:
            self._set(*best_theta)
        return self

    def _pack(self, theta=None):
        u, p, w, b, c = self._theta if theta is None else theta
        pw = np.array([p[0, 0]]) if self.pairwise == "potts" else p.ravel()
        return np.concatenate([u.ravel(), pw, w.ravel(), b.ravel(), c])

    def _unpack(self, vec):
        k, f = self.unary_weights_.shape
        n_cells, _, nh = self.rbm_weights_.shape
        i = k * f
        u = vec[:i].reshape(k, f)
        if self.pairwise == "potts":
            p, i = vec[i] * np.eye(k), i + 1
        else:
            p, i = vec[i : i + k * k].reshape(k, k), i + k * k
        w = vec[i : i + n_cells * k * nh].reshape(n_cells, k, nh)
        i += n_cells * k * nh
        b = vec[i : i + n_cells * k].reshape(n_cells, k)
        c = vec[i + n_cells * k :]
        return u, p, w, b, c

    def _grad_pack(self, gu, gp, gw, gb, gc):
        gpw = np.array([np.trace(gp)]) if self.pairwise == "potts" else gp.ravel()
        return np.concatenate([gu.ravel(), gpw, gw.ravel(), gb.ravel(), gc])

    def _joint_objective(self, vec, batch):
        """Mean negative conditional log-likelihood over ``batch`` plus L2, and its gradient.

        ``batch`` holds (feats, edges, y[, adjacency]); with mean-field the
        log-partition is the mean-field bound.
        """
        theta = self._unpack(vec)
        u, p, w, b, c = theta
        k = self.n_labels
        proj = self._proj()
        core = _shape_rbm(w, b, c)
        hid = core.units[1]
        total = 0.0
        g = [np.zeros_like(t) for t in (u, p, w, b)] + [np.zeros_like(c)]
        for item in batch:
            feats, edges, y = item[:3]
            onehot = np.eye(k)[y]
            ybar = proj @ onehot
            sig = hid.mean(core.total_input([ybar.reshape(1, -1), None], 1))[0]
            # data statistics of -F(y | x)
            pos = (
                onehot.T @ feats,
                onehot[edges[:, 0]].T @ onehot[edges[:, 1]],
                ybar[:, :, None] * sig,
                ybar,
                sig,
            )
            f_y = self._free_energy(feats, edges, y[None], ybar[None], *theta)[0]
            if self.joint_inference == "exact":
                states, ybars, prob, log_z = self._enumerate(feats, edges, theta)
                oh = np.eye(k)[states]  # (S, n, K)
                sigs = hid.mean(core.total_input([ybars.reshape(len(states), -1), None], 1))
                qn = np.einsum("s,snk->nk", prob, oh)
                neg = (
                    qn.T @ feats,
                    np.einsum("s,sea,seb->ab", prob, oh[:, edges[:, 0]], oh[:, edges[:, 1]]),
                    np.einsum("s,srk,sj->rkj", prob, ybars, sigs),
                    np.einsum("s,srk->rk", prob, ybars),
                    prob @ sigs,
                )
            else:
                adj = item[3] if len(item) > 3 else None
                q, qh, log_z = self._mean_field(feats, edges, theta, adj)
                qbar = proj @ q
                neg = (
                    q.T @ feats,
                    q[edges[:, 0]].T @ q[edges[:, 1]],
                    qbar[:, :, None] * qh,
                    qbar,
                    qh,
                )
            total += -f_y - log_z
            for acc, a, bb in zip(g, pos, neg, strict=False):
                acc += a - bb
        m = len(batch)
        obj = -total / m + 0.5 * self.alpha * vec @ vec
        grad = -self._grad_pack(*g) / m + self.alpha * vec
        return obj, grad

    def conditional_log_likelihood(self, X, Y) -> float:
        """Mean log p(y | x): exact with joint_inference='exact', else the mean-field estimate."""
        self._check_fitted()
        data = self._check_xy(X, Y, self.n_features_in_)
        for feats, _, _ in data:
            self._prep((feats, np.zeros((0, 2), dtype=np.int64)))
        obj, _ = self._joint_objective_no_l2(data)
        return -obj

    def _joint_objective_no_l2(self, data):
        saved = self.alpha
        try:
            self.alpha = 0.0
            return self._joint_objective(self._pack(), data)
        finally:
            self.alpha = saved

    # ------------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted model to ``path`` as ``.npz`` (no pickle)."""
        self._check_fitted()
        params = self.get_params(deep=False)
        seed = params["random_state"]
        params["random_state"] = int(seed) if isinstance(seed, (int, np.integer)) else None
        if params["image_shape"] is not None:
            params["image_shape"] = [int(s) for s in params["image_shape"]]
        arrays = {
            "format_version": np.array(_FORMAT_VERSION, dtype=np.int64),
            "class_name": np.array(type(self).__name__),
            "params_json": np.array(json.dumps(params)),
            "unary_weights": self.unary_weights_,
            "pairwise_weights": self.pairwise_weights_,
            "rbm_weights": self.rbm_weights_,
            "visible_bias": self.visible_bias_,
            "hidden_bias": self.hidden_bias_,
            "projection": self.projection_,
            "history_json": np.array(json.dumps(getattr(self, "history_", {}))),
        }
        with open(path, "wb") as handle:
            np.savez_compressed(handle, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> ShapePriorCRF:
        """Read a model written by :meth:`save`; arrays checked as in :meth:`from_parameters`."""
        with np.load(path, allow_pickle=False) as archive:
            need = {
                "format_version",
                "class_name",
                "params_json",
                "unary_weights",
                "pairwise_weights",
                "rbm_weights",
                "visible_bias",
                "hidden_bias",
                "projection",
                "history_json",
            }
            missing = need - set(archive.files)
            if missing:
                raise ValueError(
                    f"{os.fspath(path)!r} is not a saved ShapePriorCRF (missing {sorted(missing)})"
                )
            if str(archive["class_name"]) != cls.__name__:
                raise ValueError(
                    f"{os.fspath(path)!r} holds a {archive['class_name']}, not a {cls.__name__}"
                )
            if int(archive["format_version"]) != _FORMAT_VERSION:
                raise ValueError(
                    f"{os.fspath(path)!r} has format_version {int(archive['format_version'])}; "
                    f"this pgm reads version {_FORMAT_VERSION}"
                )
            params = json.loads(str(archive["params_json"]))
            if params.get("image_shape") is not None:
                params["image_shape"] = tuple(params["image_shape"])
            k = params.pop("n_labels")
            model = cls.from_parameters(
                archive["unary_weights"],
                archive["pairwise_weights"],
                archive["rbm_weights"],
                archive["hidden_bias"],
                archive["projection"],
                visible_bias=archive["visible_bias"],
                **params,
            )
            if model.n_labels != k:
                raise ValueError(f"{os.fspath(path)!r}: n_labels {k} does not match the weights")
            model.history_ = json.loads(str(archive["history_json"]))
        return model


def train_softmax_rbm(
    label_maps,
    n_labels,
    n_hidden,
    *,
    method="pcd",
    cd_k=1,
    n_epochs=50,
    learning_rate=0.05,
    batch_size=20,
    weight_decay=0.0,
    seed=None,
):
    """CD-k or PCD for an RBM with K softmax visible units per cell and a visible bias.

    The model is the two-layer LayeredModel of :meth:`ShapePriorCRF.to_layered`
    (softmax visible, binary hidden); each negative-phase step is one of its
    block-Gibbs sweeps (``h`` given ``v``, then ``v`` given ``h``), CD's
    chains starting at the data, PCD's persistent (initialised by a draw
    from data rows). Plain SGD on the data-minus-model statistics, with
    weight decay on ``W``. The random stream (and so the result for a seed)
    is the one the earlier private implementation used.

    Parameters
    ----------
    label_maps : ndarray of shape (n, n_cells, K)
        Projected label fractions ybar (rows over K sum to 1), the data means.

    Returns
    -------
    weights : ndarray (n_cells, K, n_hidden); visible_bias : (n_cells, K); hidden_bias : (n_hidden,)
    """
    rng = as_generator(seed)
    v_all = as_float_array(label_maps, "label_maps", shape=(None, None, n_labels))
    if np.any(v_all < 0) or not np.allclose(v_all.sum(axis=2), 1.0):
        raise ValueError("label_maps must hold label fractions: non-negative, summing to 1 over K")
    if method not in ("pcd", "cd"):
        raise ValueError(f"method must be 'pcd' or 'cd'; got {method!r}")
    n_hidden = check_positive_int(n_hidden, "n_hidden")
    cd_k = check_positive_int(cd_k, "cd_k")
    n_epochs = check_positive_int(n_epochs, "n_epochs", minimum=0)
    batch_size = check_positive_int(batch_size, "batch_size")
    n, r, k = v_all.shape
    w = 0.01 * rng.normal(size=(r, k, n_hidden))
    flat = v_all.reshape(n, r * k)
    mean = np.clip(v_all.mean(axis=0), 1e-3, 1)
    b = np.log(mean) - np.log(mean).mean(axis=1, keepdims=True)
    core = _shape_rbm(w, b, np.zeros(n_hidden))
    # the parameters are the engine's own arrays, updated in place
    wf, bf, c = core.weights[0], core.biases[0], core.biases[1]
    vis, hid = core.units
    bs = min(batch_size, n)
    chains = vis.sample_from_mean(flat[rng.integers(0, n, size=bs)], rng)
    for _ in range(n_epochs):
        order = rng.permutation(n)
        for start in range(0, n, bs):
            v = flat[order[start : start + bs]]
            ph = hid.mean(core.total_input([v, None], 1))
            # CD starts its chains at the data (its first h draw is from ph)
            layers = [chains[: len(v)] if method == "pcd" else v, None]
            for _ in range(cd_k):
                core.gibbs_sweep(layers, rng)
            vn = layers[0]
            if method == "pcd":
                chains[: len(v)] = vn
            phn = hid.mean(core.total_input([vn, None], 1))
            m = len(v)
            wf += learning_rate * ((v.T @ ph - vn.T @ phn) / m - weight_decay * wf)
            bf += learning_rate * (v - vn).mean(axis=0)
            c += learning_rate * (ph - phn).mean(axis=0)
    return wf.reshape(r, k, n_hidden), bf.reshape(r, k), c.copy()
