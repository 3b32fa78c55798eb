"""The fused two-layer (RBM) engine: minibatch training workspace and block-Gibbs sampler.

A two-layer model (visible units binary or unit-variance Gaussian, hidden
units binary or unit-variance Gaussian) trained by CD-k, persistent CD or
parallel tempering, with every step on the fused kernels of
:mod:`pgm.layered._kernels`: BLAS products (or the sparse visible path),
the vectorised logistic with its counter-based Bernoulli draw, and one fused
pass for the momentum/weight-decay update. :class:`pgm.models.RBM` is the
estimator around it (validation, initialisation, schedules, monitors,
persistence); the DBN trains each of its layers through that estimator.

Parameters live in one augmented array ``theta = [[W, b], [c, 0]]`` so that
one product gives a whole gradient (see :class:`Workspace`).
"""

from __future__ import annotations

import numba
import numpy as np
from scipy.special import expit

from pgm._random import kernel_seed
from pgm.layered import _kernels as _k

__all__ = ["Workspace", "gibbs", "hidden_mean", "hidden_step", "swap_rates"]


def swap_rates(accepts, attempts) -> np.ndarray:
    """Acceptance rate per pair; NaN where nothing was proposed (no 0/0 warning)."""
    out = np.full(attempts.shape, np.nan)
    np.divide(accepts, attempts, out=out, where=attempts > 0)
    return out


def hidden_mean(hidden, act):
    """``E[h | v]`` from the total input: ``sigmoid(act)`` (binary) or ``act`` (Gaussian)."""
    return expit(act) if hidden == "binary" else act


def hidden_step(hidden, act, scale, key, do_sample, out_mean, out_sample):
    """:func:`pgm.layered._kernels.sample_bernoulli` for either hidden unit type.

    Binary: ``out_mean <- scale * sigmoid(act)`` and, with ``do_sample``, a
    Bernoulli draw into ``out_sample``. Gaussian (unit variance): the draw
    ``act + N(0, 1)`` first, then ``out_mean <- scale * act`` (``out_mean``
    may be ``act`` itself; an empty ``out_mean`` is skipped).
    """
    if hidden == "binary":
        _k.sample_bernoulli(act, scale, key, do_sample, out_mean, out_sample)
        return
    if do_sample:
        _k.sample_gaussian(act, key, out_sample)
    if out_mean.size:
        np.multiply(act, scale, out=out_mean)


class Workspace:
    """Preallocated buffers and the minibatch loop of one ``fit``/``partial_fit`` call.

    ``model`` is read once, here, for its starting point (``weights_``,
    ``visible_bias_``, ``hidden_bias_`` and, when present, ``_velocity``,
    ``persistent_hidden_`` and the tempering counters) and written back by
    :meth:`store`; ``p`` holds the validated options (``dtype``,
    ``batch_size``, ``method``, ``k``, ``n_chains``, ``momentum``,
    ``weight_decay``, ``visible``, ``hidden``, ``sparsity_target``,
    ``sparsity_cost``, ``n_temperatures``, ``beta_min``), as
    :class:`pgm.models.RBM` validates them.

    Layout: ``theta = [[W, b], [c, 0]]`` (n_visible + 1, n_hidden + 1), C order.
    ``x_stack`` rows ``[0, b)`` hold the minibatch and rows ``[b, b + C)`` the
    negative-phase visible samples, with a last column of ones; ``y_stack``
    holds the matching scaled hidden probabilities with the row weight in its
    last column, so that ``y_stack^T x_stack`` is the whole gradient (weights,
    hidden biases in the last row, visible biases in the last column).

    With ``sparse`` the visible rows live instead in the padded sparse layout
    of :mod:`pgm.layered._kernels` (``sp_idx``, ``sp_val``, ``sp_cnt``; the
    constant column is index ``n_visible``), ``theta_t`` mirrors ``theta.T``
    for the hidden-to-visible products, and ``bounds`` splits the columns of
    ``theta`` into one stripe per thread.
    """

    def __init__(self, model, p, n_rows: int, sparse: bool = False):
        dtype = p.dtype
        W = model.weights_
        n_visible, n_hidden = W.shape
        self.p = p
        self.n_visible, self.n_hidden = n_visible, n_hidden
        self.theta = np.zeros((n_visible + 1, n_hidden + 1), dtype=dtype)
        self.theta[:n_visible, :n_hidden] = W
        self.theta[:n_visible, n_hidden] = model.visible_bias_
        self.theta[n_visible, :n_hidden] = model.hidden_bias_
        batch = min(p.batch_size, n_rows)
        self.batch = batch
        if p.method in ("pcd", "pt"):
            n_chains = p.n_chains if p.n_chains is not None else p.batch_size
        else:
            n_chains = batch
        self.n_chains = n_chains
        rows = batch + n_chains
        self.x_stack = np.ones((rows, n_visible + 1), dtype=dtype)
        self.y_stack = np.empty((rows, n_hidden + 1), dtype=dtype)
        self.h_chain = np.ones((n_chains, n_hidden + 1), dtype=dtype)
        self.act_v = np.empty((n_chains, n_visible + 1), dtype=dtype)
        self.act_h = np.empty((n_chains, n_hidden + 1), dtype=dtype)
        self.index = np.empty(batch, dtype=np.int64)
        self.grad = np.empty_like(self.theta)
        velocity = getattr(model, "_velocity", None)
        if p.momentum == 0:
            self.velocity = np.empty((0, 0), dtype=dtype)
        elif velocity is not None and velocity.shape == self.theta.shape:
            self.velocity = np.array(velocity, dtype=dtype)
        else:
            self.velocity = np.zeros_like(self.theta)
        self.sparse = sparse
        if sparse:
            width = n_visible + 1
            self.sp_idx = np.zeros((rows, width), dtype=np.int64)
            self.sp_val = np.zeros((rows, width), dtype=dtype)
            self.sp_cnt = np.zeros(rows, dtype=np.int64)
            self.csc_indptr = np.zeros(width + 1, dtype=np.int64)
            self.csc_rows = np.zeros(rows * width, dtype=np.int64)
            self.csc_vals = np.zeros(rows * width, dtype=dtype)
            self.theta_t = np.empty((n_hidden + 1, n_visible + 1), dtype=dtype)
            self.theta_t[:] = self.theta.T
            n_stripes = numba.get_num_threads()
            self.hidden_bounds = _k.stripe_bounds(n_hidden, n_stripes)
            self.bounds = _k.stripe_bounds(n_hidden + 1, n_stripes)
        self.chains_ready = False
        if p.method == "pcd":
            previous = getattr(model, "persistent_hidden_", None)
            if previous is not None and previous.shape == (n_chains, n_hidden):
                self.h_chain[:, :n_hidden] = previous
                self.chains_ready = True
        if p.method == "pt":
            self._init_tempering(model, p, dtype)

    def _init_tempering(self, model, p, dtype):
        """PT buffers: all temperatures stacked, rows ``[t C, (t + 1) C)`` for ``betas[t]``."""
        from pgm.inference.tempering import geometric_ladder

        nv, nh, C = self.n_visible, self.n_hidden, self.n_chains
        betas = geometric_ladder(p.n_temperatures, p.beta_min)
        K = betas.size
        self.betas = betas
        rows = K * C
        self.row_beta = np.repeat(betas, C).astype(dtype)[:, None]
        self.row_sqrt_beta = np.sqrt(np.repeat(betas, C)).astype(dtype)[:, None]
        self.pt_v = np.ones((rows, nv + 1), dtype=dtype)
        self.pt_h = np.ones((rows, nh + 1), dtype=dtype)
        self.pt_act_v = np.empty((rows, nv + 1), dtype=dtype)
        self.pt_act_h = np.empty((rows, nh + 1), dtype=dtype)
        self.pt_scaled = np.empty((rows, nh), dtype=dtype)
        self.swap_attempts = np.zeros(K - 1, dtype=np.int64)
        self.swap_accepts = np.zeros(K - 1, dtype=np.int64)
        self.swap_rounds = 0
        previous = getattr(model, "persistent_hidden_", None)
        if previous is not None and previous.shape == (K, C, nh):
            self.pt_h[:, :nh] = previous.reshape(rows, nh)
            self.chains_ready = True
            attempts = getattr(model, "swap_attempts_", None)
            if attempts is not None and attempts.shape == (K - 1,):
                self.swap_attempts[:] = attempts
                self.swap_accepts[:] = model.swap_accepts_
                self.swap_rounds = int(model._swap_rounds)

    def _init_tempered_chains(self, X, rng):
        """PT chains: hidden samples at each temperature given random training rows."""
        nv, nh = self.n_visible, self.n_hidden
        rows = rng.integers(0, X.shape[0], size=self.pt_h.shape[0])
        act = X[rows] @ self.theta[:nv, :nh] + self.theta[nv, :nh]
        act = np.ascontiguousarray(act * self.row_beta, dtype=self.theta.dtype)
        _k.sample_bernoulli(act, 1.0, kernel_seed(rng), True, act, self.pt_h[:, :nh])
        self.chains_ready = True

    def _tempered_step(self, rng):
        """One PT round: ``k`` block Gibbs steps at every temperature, then swaps.

        Afterwards ``pt_v``/``pt_h`` hold the joint states and ``pt_act_h``
        the unscaled activations ``[v W + c, v . b]`` of the same rows, all
        permuted together by the accepted swaps.
        """
        p, nv, nh = self.p, self.n_visible, self.n_hidden
        theta, v, h = self.theta, self.pt_v, self.pt_h
        act_v, act_h, scaled = self.pt_act_v, self.pt_act_h, self.pt_scaled
        for _ in range(p.k):
            np.matmul(h, theta.T, out=act_v)
            if p.visible == "binary":
                # p_beta(v_i = 1 | h) = sigmoid(beta (b_i + W_i . h)).
                act_v[:, :nv] *= self.row_beta
                _k.sample_bernoulli(
                    act_v[:, :nv], 1.0, kernel_seed(rng), True, act_v[:, :nv], v[:, :nv]
                )
            else:
                # v | h ~ N(m, 1 / beta): sample N(sqrt(beta) m, 1) and divide by sqrt(beta).
                act_v[:, :nv] *= self.row_sqrt_beta
                _k.sample_gaussian(act_v[:, :nv], kernel_seed(rng), v[:, :nv])
                v[:, :nv] /= self.row_sqrt_beta
            np.matmul(v, theta, out=act_h)
            np.multiply(act_h[:, :nh], self.row_beta, out=scaled)
            _k.sample_bernoulli(scaled, 1.0, kernel_seed(rng), True, scaled, h[:, :nh])
        # Joint energies in float64: E = -v.b - h.c - v W h (Gaussian: |v - b|^2 / 2
        # instead of -v.b, written |v|^2 / 2 - v.b up to a constant that cancels).
        energy = -act_h[:, nh].astype(np.float64) - np.einsum(
            "ij,ij->i", h[:, :nh], act_h[:, :nh], dtype=np.float64
        )
        if p.visible == "gaussian":
            energy += 0.5 * np.einsum("ij,ij->i", v[:, :nv], v[:, :nv], dtype=np.float64)
        K, C = self.betas.size, self.n_chains
        energy = energy.reshape(K, C)
        pairs = np.arange(self.swap_rounds % 2, K - 1, 2)
        self.swap_rounds += 1
        if pairs.size == 0:
            return
        u = rng.random((pairs.size, C))
        log_ratio = (self.betas[pairs + 1] - self.betas[pairs])[:, None] * (
            energy[pairs + 1] - energy[pairs]
        )
        accept = u < np.exp(np.minimum(log_ratio, 0.0))
        self.swap_attempts[pairs] += C
        self.swap_accepts[pairs] += accept.sum(axis=1)
        which, chain = np.nonzero(accept)
        if chain.size:
            lower = pairs[which] * C + chain
            both = np.concatenate([lower, lower + C])
            swapped = np.concatenate([lower + C, lower])
            for array in (v, h, act_h):
                array[both] = array[swapped]

    def _init_chains(self, X, rng):
        """PCD fantasy particles: hidden samples given random training rows."""
        rows = rng.integers(0, X.shape[0], size=self.n_chains)
        act = (
            X[rows] @ self.theta[: self.n_visible, : self.n_hidden]
            + self.theta[self.n_visible, : self.n_hidden]
        )
        act = np.ascontiguousarray(act, dtype=self.theta.dtype)
        hidden_step(
            self.p.hidden, act, 1.0, kernel_seed(rng), True, act, self.h_chain[:, : self.n_hidden]
        )
        self.chains_ready = True

    def _sample_visible(self, hidden, out, rng):
        """``out[:, :n_visible]`` <- a visible sample given augmented ``hidden``."""
        nv = self.n_visible
        act = self.act_v[: hidden.shape[0]]
        np.matmul(hidden, self.theta.T, out=act)
        if self.p.visible == "binary":
            _k.sample_bernoulli(act[:, :nv], 1.0, kernel_seed(rng), True, act[:, :nv], out[:, :nv])
        else:
            _k.sample_gaussian(act[:, :nv], kernel_seed(rng), out[:, :nv])

    def _sample_hidden(self, visible, rng):
        """``h_chain`` <- a hidden sample given augmented ``visible`` rows."""
        nh = self.n_hidden
        act = self.act_h[: visible.shape[0]]
        np.matmul(visible, self.theta, out=act)
        hidden_step(
            self.p.hidden,
            act[:, :nh],
            1.0,
            kernel_seed(rng),
            True,
            act[:, :nh],
            self.h_chain[: visible.shape[0], :nh],
        )

    def _sparsity_step(self, b, C, learning_rate):
        """Lee et al. (2008): move the hidden biases toward the target activation.

        ``q`` is the minibatch mean of ``P(h = 1 | x)`` (``y_stack[:b]`` holds
        it scaled by ``C / b``).
        """
        p, nv, nh = self.p, self.n_visible, self.n_hidden
        q = self.y_stack[:b, :nh].sum(axis=0, dtype=np.float64) / C
        self.theta[nv, :nh] += learning_rate * p.sparsity_cost * (p.sparsity_target - q)
        if self.sparse:
            self.theta_t[:nh, nv] = self.theta[nv, :nh]

    def train(self, X, order, learning_rate, rng):
        """One pass over ``X`` (rows in ``order``, or in storage order if None)."""
        if self.sparse:
            self.run_sparse(X, order, learning_rate, rng)
        else:
            self.run(X, order, learning_rate, rng)

    def run(self, X, order, learning_rate, rng):
        """:meth:`train` with dense BLAS products."""
        p = self.p
        nv, nh = self.n_visible, self.n_hidden
        xs, ys, theta = self.x_stack, self.y_stack, self.theta
        if p.method == "pcd" and not self.chains_ready:
            self._init_chains(X, rng)
        if p.method == "pt" and not self.chains_ready:
            self._init_tempered_chains(X, rng)
        n_rows = X.shape[0]
        dummy = self.act_h[:0, :nh]
        for start in range(0, n_rows, self.batch):
            stop = min(start + self.batch, n_rows)
            b = stop - start
            if order is None:
                xs[:b, :nv] = X[start:stop]
            else:
                _k.gather(X, order[start:stop], xs[:b, :nv])
            if p.method == "pcd":
                C = self.n_chains
                r = b + C
                for step in range(p.k):
                    self._sample_visible(self.h_chain, xs[b:r], rng)
                    if step < p.k - 1:
                        self._sample_hidden(xs[b:r], rng)
                # Positive and negative activations in one product (same theta).
                np.matmul(xs[:r], theta, out=ys[:r])
                pos_scale = C / b
                hidden_step(p.hidden, ys[:b, :nh], pos_scale, 0, False, ys[:b, :nh], dummy)
                hidden_step(
                    p.hidden, ys[b:r, :nh], -1.0, kernel_seed(rng), True, ys[b:r, :nh],
                    self.h_chain[:, :nh],
                )  # fmt: skip
            elif p.method == "pt":
                C = self.n_chains
                r = b + C
                self._tempered_step(rng)
                # The beta = 1 block (the last) after the swaps: its visible
                # states and P(h | v) from the activations swapped with them.
                top = slice(self.pt_v.shape[0] - C, None)
                xs[b:r, :nv] = self.pt_v[top, :nv]
                np.matmul(xs[:b], theta, out=ys[:b])
                pos_scale = C / b
                _k.sample_bernoulli(ys[:b, :nh], pos_scale, 0, False, ys[:b, :nh], dummy)
                _k.sample_bernoulli(self.pt_act_h[top, :nh], -1.0, 0, False, ys[b:r, :nh], dummy)
            else:
                C = b
                r = 2 * b
                pos_scale = 1.0
                np.matmul(xs[:b], theta, out=ys[:b])
                hidden_step(
                    p.hidden, ys[:b, :nh], 1.0, kernel_seed(rng), True, ys[:b, :nh],
                    self.h_chain[:b, :nh],
                )  # fmt: skip
                for step in range(p.k):
                    self._sample_visible(self.h_chain[:b], xs[b:r], rng)
                    if step < p.k - 1:
                        self._sample_hidden(xs[b:r], rng)
                np.matmul(xs[b:r], theta, out=ys[b:r])
                hidden_step(p.hidden, ys[b:r, :nh], -1.0, 0, False, ys[b:r, :nh], dummy)
            ys[:b, nh] = pos_scale
            ys[b:r, nh] = -1.0
            # x^T y is the whole gradient (W, b in the last column, c in the last
            # row); one fused pass applies it with momentum and weight decay.
            np.matmul(xs[:r].T, ys[:r], out=self.grad)
            _k.update(
                theta, self.grad, self.velocity, learning_rate / C, p.momentum,
                learning_rate * p.weight_decay, nv, nh,
            )  # fmt: skip
            if p.sparsity_target is not None:
                self._sparsity_step(b, C, learning_rate)

    def run_sparse(self, X, order, learning_rate, rng):
        """:meth:`run` with the visible side sparse (binary visible units only).

        Same algorithm, same random draws in the same order: the data rows and
        the sampled negative visibles live in the padded sparse layout of
        :mod:`pgm.layered._kernels`, so each of ``v W + c``, ``h W^T + b``
        and the gradient ``x^T y`` costs one row of ``theta`` (or of its
        transpose ``theta_t``) per non-zero input instead of a dense product.
        Hidden-side work is split in column stripes, one per thread, so each
        thread keeps updating the parameter lines it owns. The loop makes no
        BLAS call (no BLAS worker threads compete with the kernels).
        """
        p = self.p
        nv, nh = self.n_visible, self.n_hidden
        ys, theta, theta_t = self.y_stack, self.theta, self.theta_t
        idx, val, cnt = self.sp_idx, self.sp_val, self.sp_cnt
        hidden_bounds, bounds = self.hidden_bounds, self.bounds
        none = self.act_h[:0, :0]
        if p.method == "pcd" and not self.chains_ready:
            self._init_chains(X, rng)
        n_rows = X.shape[0]
        for start in range(0, n_rows, self.batch):
            stop = min(start + self.batch, n_rows)
            b = stop - start
            rows = np.arange(start, stop) if order is None else order[start:stop]
            _k.gather_sparse_rows(X, rows, idx, val, cnt)
            C = self.n_chains if p.method == "pcd" else b
            r = b + C
            data = (idx[:b], val[:b], cnt[:b], theta, hidden_bounds)
            neg = (idx[b:r], val[b:r], cnt[b:r], theta, hidden_bounds)
            chains = self.h_chain[:C]
            if p.method == "cd":
                _k.striped_logistic(*data, 1.0, kernel_seed(rng), True, ys[:b], chains)
            for step in range(p.k):
                _k.binary_rows_logistic(
                    chains[:, :nh], theta_t, kernel_seed(rng), idx[b:r], val[b:r], cnt[b:r]
                )
                if step < p.k - 1:
                    _k.striped_logistic(*neg, 1.0, kernel_seed(rng), True, none, chains)
            pos_scale = C / b
            if p.method == "pcd":
                _k.striped_logistic(*data, pos_scale, 0, False, ys[:b], none)
                _k.striped_logistic(*neg, -1.0, kernel_seed(rng), True, ys[b:r], chains)
            else:
                _k.striped_logistic(*neg, -1.0, 0, False, ys[b:r], none)
            ys[:b, nh] = pos_scale
            ys[b:r, nh] = -1.0
            _k.sparse_columns(
                idx[:r], val[:r], cnt[:r], nv + 1, self.csc_indptr, self.csc_rows, self.csc_vals
            )
            _k.striped_update(
                self.csc_indptr, self.csc_rows, self.csc_vals, ys[:r], theta, theta_t,
                self.velocity, bounds, learning_rate / C, p.momentum,
                learning_rate * p.weight_decay, nv, nh,
            )  # fmt: skip
            if p.sparsity_target is not None:
                self._sparsity_step(b, C, learning_rate)

    def store(self, model):
        """Copy the parameters (and chains, momentum) back into ``model``."""
        nv, nh = self.n_visible, self.n_hidden
        model.weights_ = self.theta[:nv, :nh].copy()
        model.visible_bias_ = self.theta[:nv, nh].copy()
        model.hidden_bias_ = self.theta[nv, :nh].copy()
        if self.p.method == "pcd":
            model.persistent_hidden_ = self.h_chain[:, :nh].copy()
        if self.p.method == "pt":
            K = self.betas.size
            model.persistent_hidden_ = self.pt_h[:, :nh].reshape(K, self.n_chains, nh).copy()
            model.betas_ = self.betas.copy()
            model.swap_attempts_ = self.swap_attempts.copy()
            model.swap_accepts_ = self.swap_accepts.copy()
            model.swap_acceptance_ = swap_rates(self.swap_accepts, self.swap_attempts)
            model._swap_rounds = self.swap_rounds
        model._velocity = self.velocity.copy() if self.p.momentum > 0 else None


def gibbs(weights, visible_bias, hidden_bias, visible, hidden, v, n_gibbs, rng, return_mean=False):
    """``n_gibbs`` block-Gibbs sweeps ``h ~ p(h | v)``, ``v ~ p(v | h)`` from ``v``, in place.

    Every array in the weights' dtype; each sweep draws two kernel keys from
    ``rng`` (hidden, then visible). Returns ``v`` or, with ``return_mean``,
    ``E[v | h]`` of the last sweep.
    """
    dtype = weights.dtype
    n_samples = v.shape[0]
    n_visible, n_hidden = weights.shape
    act_h = np.empty((n_samples, n_hidden), dtype)
    h = np.empty((n_samples, n_hidden), dtype)
    act_v = np.empty((n_samples, n_visible), dtype)
    for _ in range(n_gibbs):
        np.matmul(v, weights, out=act_h)
        act_h += hidden_bias
        hidden_step(hidden, act_h, 1.0, kernel_seed(rng), True, act_h, h)
        np.matmul(h, weights.T, out=act_v)
        act_v += visible_bias
        if visible == "binary":
            _k.sample_bernoulli(act_v, 1.0, kernel_seed(rng), True, act_v, v)
        else:
            _k.sample_gaussian(act_v, kernel_seed(rng), v)
    return act_v if return_mean else v
