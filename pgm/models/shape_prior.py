"""CRF with an RBM shape prior (GLOC, Kae et al., CVPR 2013) -- inference and oracle only.

E(y, h | x) = E_crf(y | x) - sum_{r,k,j} W[r,k,j] ybar_rk h_j - c . h,
with ybar_rk = sum_s P[r, s] [y_s = k] (P: overlap of pixel s with grid cell r).
Training: stage-wise (CRF, then a CD-1 softmax RBM on projected ground truth); no joint fine-tuning yet.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logsumexp, softmax

from pgm.models.crf import CRF, _check_example

__all__ = ["ShapePriorCRF", "projection_matrix", "train_softmax_rbm", "fit_shape_prior_crf"]


def projection_matrix(height: int, width: int, grid: int) -> np.ndarray:
    """Overlap matrix P (grid*grid, height*width): P[r, s] = area of pixel s inside cell r / cell area."""
    def overlap(n):
        edges_p = np.arange(n + 1) / n
        edges_g = np.arange(grid + 1) / grid
        lo = np.maximum(edges_g[:-1, None], edges_p[None, :-1])
        hi = np.minimum(edges_g[1:, None], edges_p[None, 1:])
        return np.clip(hi - lo, 0, None) * grid  # (grid, n), rows sum to 1
    return np.kron(overlap(height), overlap(width))


class ShapePriorCRF:
    """CRF plus RBM shape prior; use :meth:`from_parameters` (training not yet built)."""

    def __init__(self, mean_field_iter=50, damping=0.5, max_states=2**16):
        self.mean_field_iter = mean_field_iter
        self.damping = damping
        self.max_states = max_states

    @classmethod
    def from_parameters(cls, unary_weights, pairwise_weights, rbm_weights, hidden_bias, projection, **kw):
        """rbm_weights (n_cells, K, n_hidden), hidden_bias (n_hidden,), projection (n_cells, n_nodes)."""
        m = cls(**kw)
        m.crf_ = CRF.from_parameters(unary_weights, pairwise_weights, max_states=m.max_states)
        w = np.array(rbm_weights, dtype=np.float64)
        k = m.crf_.n_labels
        if w.ndim != 3 or w.shape[1] != k:
            raise ValueError(f"rbm_weights must have shape (n_cells, {k}, n_hidden); got {w.shape}")
        c = np.array(hidden_bias, dtype=np.float64)
        if c.shape != (w.shape[2],):
            raise ValueError(f"hidden_bias must have shape ({w.shape[2]},); got {c.shape}")
        p = np.array(projection, dtype=np.float64)
        if p.ndim != 2 or p.shape[0] != w.shape[0]:
            raise ValueError(f"projection must have shape ({w.shape[0]}, n_nodes); got {p.shape}")
        m.rbm_weights_, m.hidden_bias_, m.projection_ = w, c, p
        return m

    def _prep(self, x):
        feats, edges = _check_example(x, self.crf_.n_features_in_)
        if feats.shape[0] != self.projection_.shape[1]:
            raise ValueError(
                f"node_features has {feats.shape[0]} nodes but projection expects {self.projection_.shape[1]}"
            )
        # A[s, k, j] = sum_r P[r, s] W[r, k, j]: the pixel-level (y_s, h_j) interaction
        a = np.einsum("rs,rkj->skj", self.projection_, self.rbm_weights_)
        return feats, edges, a

    def energy(self, x, y, h) -> np.ndarray:
        """E(y, h | x) for y (batch, n_nodes), h (batch, n_hidden)."""
        feats, edges, a = self._prep(x)
        y = np.atleast_2d(np.asarray(y, dtype=np.int64))
        h = np.atleast_2d(np.asarray(h, dtype=np.float64))
        e = self.crf_._energy(feats, edges, y, self.crf_.unary_weights_, self.crf_.pairwise_weights_)
        n = feats.shape[0]
        inter = np.einsum("bsj,bj->b", a[np.arange(n), y], h)
        return e - inter - h @ self.hidden_bias_

    def free_energy(self, x, y) -> np.ndarray:
        """F(y | x) = E_crf(y) - sum_j softplus(c_j + sum_s A[s, y_s, j])."""
        feats, edges, a = self._prep(x)
        y = np.atleast_2d(np.asarray(y, dtype=np.int64))
        e = self.crf_._energy(feats, edges, y, self.crf_.unary_weights_, self.crf_.pairwise_weights_)
        act = self.hidden_bias_ + a[np.arange(feats.shape[0]), y].sum(axis=1)
        return e - np.logaddexp(0, act).sum(axis=1)

    def exact_conditional(self, x):
        """Label marginals p(y_s = k | x) (n_nodes, K) by enumeration of y, h summed analytically."""
        feats, _, _ = self._prep(x)
        n, k = feats.shape[0], self.crf_.n_labels
        if k**n > self.max_states:
            raise ValueError(f"{k}**{n} states exceed max_states={self.max_states}")
        states = np.indices((k,) * n).reshape(n, -1).T
        lp = -self.free_energy(x, states)
        prob = np.exp(lp - logsumexp(lp))
        return np.stack([prob @ (states == c) for c in range(k)], axis=1), float(logsumexp(lp))

    def to_factor_graph(self, x):
        """Variables: labels y (categorical K) first, then hidden units h (binary)."""
        from pgm.graph import FactorGraph

        feats, edges, a = self._prep(x)
        fg = self.crf_.to_factor_graph(x)
        h = fg.add_variables("h", len(self.hidden_bias_), domain="binary")
        fg.add_unary(h, self.hidden_bias_, name="hidden_bias")
        for s in range(feats.shape[0]):
            if not np.any(self.projection_[:, s]):
                continue
            for j in range(len(self.hidden_bias_)):
                table = np.zeros((self.crf_.n_labels, 2))
                table[:, 1] = -a[s, :, j]
                fg.add_factor([s, int(h.ids[j])], table, name=f"rbm_{s}_{j}")
        return fg

    def mean_field(self, x):
        """Alternating mean-field; returns (q_y, q_h, bound) with the best (highest) bound seen."""
        feats, edges, a = self._prep(x)
        u, p = self.crf_.unary_weights_, self.crf_.pairwise_weights_
        scores = feats @ u.T
        q = softmax(scores, axis=1)  # initialised from the unary model
        best = (None, None, -np.inf)
        for _ in range(self.mean_field_iter):
            qh = expit(self.hidden_bias_ + np.einsum("skj,sk->j", a, q))
            field = scores + a @ qh
            if len(edges):
                np.add.at(field, edges[:, 0], q[edges[:, 1]] @ p.T)
                np.add.at(field, edges[:, 1], q[edges[:, 0]] @ p)
            q = (1 - self.damping) * softmax(field, axis=1) + self.damping * q
            qh = expit(self.hidden_bias_ + np.einsum("skj,sk->j", a, q))
            b = self._bound(scores, edges, p, a, q, qh)
            if b > best[2]:
                best = (q, qh, b)
        return best

    def _bound(self, scores, edges, p, a, q, qh):
        val = CRF._bound(scores, edges, p, q)
        val += np.einsum("skj,sk,j->", a, q, qh) + qh @ self.hidden_bias_
        qc = np.clip(qh, 1e-300, 1)
        qc1 = np.clip(1 - qh, 1e-300, 1)
        val -= np.sum(qh * np.log(qc) + (1 - qh) * np.log(qc1))
        return float(val)

    def predict_marginals(self, X):
        """Mean-field label marginals, a list of (n_nodes, K) arrays."""
        return [self.mean_field(x)[0] for x in X]

    def predict(self, X):
        """Argmax of the mean-field label marginals."""
        return [np.argmax(q, axis=1) for q in self.predict_marginals(X)]


def train_softmax_rbm(label_maps, n_labels, n_hidden, *, n_epochs=50, learning_rate=0.05,
                      batch_size=20, seed=None):
    """CD-1 for an RBM with K softmax visible units per cell and no visible bias.

    Parameters
    ----------
    label_maps : ndarray of shape (n, n_cells, K)
        Projected label fractions ybar (rows over K sum to 1).

    Returns
    -------
    weights : ndarray (n_cells, K, n_hidden); hidden_bias : ndarray (n_hidden,)
    """
    from pgm._random import as_generator

    rng = as_generator(seed)
    v_all = np.asarray(label_maps, dtype=np.float64)
    if v_all.ndim != 3 or v_all.shape[2] != n_labels:
        raise ValueError(f"label_maps must have shape (n, n_cells, {n_labels}); got {v_all.shape}")
    n, r, k = v_all.shape
    w = 0.01 * rng.normal(size=(r, k, n_hidden))
    c = np.zeros(n_hidden)
    for _ in range(n_epochs):
        for start in range(0, n, batch_size):
            v = v_all[rng.permutation(n)[:batch_size]] if n > batch_size else v_all
            ph = expit(c + np.einsum("brk,rkj->bj", v, w))
            hs = (rng.random(ph.shape) < ph).astype(np.float64)
            v1 = softmax(np.einsum("rkj,bj->brk", w, hs), axis=2)
            ph1 = expit(c + np.einsum("brk,rkj->bj", v1, w))
            w += learning_rate * (np.einsum("brk,bj->rkj", v, ph) - np.einsum("brk,bj->rkj", v1, ph1)) / len(v)
            c += learning_rate * (ph - ph1).mean(axis=0)
    return w, c


def fit_shape_prior_crf(X, Y, projection, *, n_labels=2, n_hidden=50, crf_kwargs=None,
                        rbm_kwargs=None, seed=None, **kw) -> ShapePriorCRF:
    """Stage-wise training (no joint fine-tuning): CRF by its own fit, RBM by CD-1 on P @ onehot(y)."""
    crf = CRF(n_labels=n_labels, **(crf_kwargs or {})).fit(X, Y)
    p = np.asarray(projection, dtype=np.float64)
    maps = np.stack([p @ np.eye(n_labels)[np.asarray(y)] for y in Y])
    w, c = train_softmax_rbm(maps, n_labels, n_hidden, seed=seed, **(rbm_kwargs or {}))
    return ShapePriorCRF.from_parameters(crf.unary_weights_, crf.pairwise_weights_, w, c, p, **kw)
