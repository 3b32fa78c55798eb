r"""A stack of layers of units joined by dense weight blocks (the DBM energy).

.. math::

    E(h_0, \dots, h_L) = -\sum_{l=0}^{L-1} h_l^\top W_l h_{l+1}
                         + \sum_{l=0}^{L} \left(e_l(h_l) - b_l \cdot h_l\right),
    \qquad h_0 = v,

with each layer's unit type (:mod:`pgm.layered.units`) giving its base
measure ``e_l``: 0 for binary and softmax units, ``h^2 / (2 sigma^2)`` for
Gaussian units (then ``p(h_l | rest) = N(sigma^2 a_l, sigma^2)``; the
log-variances ``z = log sigma^2`` and their statistics ``h^2 / (2 sigma^2)``
are described in :mod:`pgm.layered.units`). Given its
neighbours, layer ``l`` is a set of independent units (independent groups for
softmax) with total input ``a_l = b_l + W_{l-1}^T h_{l-1} + W_l h_{l+1}``, so
even and odd layers can be updated as two blocks (block Gibbs), and either
parity can be summed out analytically given the other with each unit type's
log-partition (softplus, log-sum-exp, Gaussian integral). Exact sums
enumerate a parity of discrete layers (binary and softmax).
"""

from __future__ import annotations

import math
import os

import numpy as np
from scipy.special import logsumexp

from pgm._random import as_generator
from pgm._validation import as_float_array, check_positive_int
from pgm.layered.units import BinaryUnits, get_units

__all__ = ["LayeredModel", "FORMAT_VERSION", "DEFAULT_MAX_STATES"]

FORMAT_VERSION = 1
#: Largest joint state count enumerated by exact free energies and log Z.
DEFAULT_MAX_STATES = 2**22
#: Entries (joint states x units of all layers) per enumeration chunk: bounded memory.
_CHUNK_ENTRIES = 1 << 22

_binary = BinaryUnits()


class LayeredModel:
    """Layers ``h_0 = v, h_1, ..., h_L`` of units joined by dense blocks.

    Parameters
    ----------
    weights : sequence of array_like
        ``weights[l]`` of shape ``(n_l, n_{l+1})``, bottom first.
    biases : sequence of array_like
        ``biases[l]`` of shape ``(n_l,)``, ``len(biases) == len(weights) + 1``.
    units : None or sequence, default None
        One unit spec per layer (see :func:`pgm.layered.units.get_units`):
        ``"binary"``, ``"gaussian"``, ``("gaussian", sigma)``, ``("softmax", k)``
        or a unit object; ``None`` makes every layer binary.

    Raises
    ------
    ValueError
        On mismatched shapes, non-finite entries, fewer than two layers, an
        unknown unit spec, a softmax layer that is not a whole number of
        groups, a Gaussian ``sigma`` of the wrong length, or two adjacent
        Gaussian layers (their joint density is not normalisable in general).
    """

    def __init__(self, weights, biases, units=None):
        weights = list(weights)
        biases = list(biases)
        if len(weights) < 1:
            raise ValueError("weights must hold at least one block (two layers), got 0")
        if len(biases) != len(weights) + 1:
            raise ValueError(
                f"biases must hold len(weights) + 1 = {len(weights) + 1} arrays, got {len(biases)}"
            )
        self.weights = [as_float_array(w, f"weights[{l}]", ndim=2) for l, w in enumerate(weights)]
        sizes = [w.shape[0] for w in self.weights] + [self.weights[-1].shape[1]]
        for l in range(1, len(self.weights)):
            if self.weights[l].shape[0] != self.weights[l - 1].shape[1]:
                raise ValueError(
                    f"weights[{l}] must have {self.weights[l - 1].shape[1]} rows to match "
                    f"weights[{l - 1}] {self.weights[l - 1].shape}; got {self.weights[l].shape}"
                )
        self.biases = [
            as_float_array(b, f"biases[{l}]", shape=(sizes[l],)) for l, b in enumerate(biases)
        ]
        if min(sizes) < 1:
            raise ValueError(f"every layer needs at least one unit, got sizes {sizes}")
        self.sizes = tuple(int(n) for n in sizes)
        if units is None:
            self.units = [_binary] * len(sizes)
        else:
            units = list(units)
            if len(units) != len(sizes):
                raise ValueError(
                    f"units must hold one spec per layer ({len(sizes)}), got {len(units)}"
                )
            self.units = [get_units(u) for u in units]
            for l, u in enumerate(self.units):
                u.check_size(sizes[l], f"units[{l}]")
            for l in range(len(sizes) - 1):
                if not self.units[l].discrete and not self.units[l + 1].discrete:
                    raise ValueError(
                        f"units: layers {l} and {l + 1} are both Gaussian; adjacent Gaussian "
                        "layers are not supported"
                    )

    @property
    def n_layers(self) -> int:
        """Number of layers, visible included."""
        return len(self.sizes)

    # ------------------------------------------------------------ states
    def split(self, states):
        """Split concatenated states ``(batch, sum(sizes))`` into per-layer arrays."""
        states = np.asarray(states, dtype=np.float64)
        return np.split(states, np.cumsum(self.sizes)[:-1], axis=1)

    def check_states(self, states, name="states"):
        """Per-layer float arrays (from a list or concatenated states), checked per unit type."""
        if isinstance(states, (list, tuple)):
            if len(states) != self.n_layers:
                raise ValueError(f"{name} must hold {self.n_layers} layers, got {len(states)}")
            layers = [
                as_float_array(s, f"{name}[{l}]", shape=(None, n))
                for l, (s, n) in enumerate(zip(states, self.sizes, strict=True))
            ]
            if len({s.shape[0] for s in layers}) != 1:
                raise ValueError(f"{name}: all layers must have the same number of rows")
        else:
            arr = as_float_array(states, name, shape=(None, sum(self.sizes)))
            layers = self.split(arr)
        return [
            u.check(s, f"{name}[{l}]")
            for l, (u, s) in enumerate(zip(self.units, layers, strict=True))
        ]

    def total_input(self, layers, l, below=None):
        """``a_l = b_l + W_{l-1}^T h_{l-1} + W_l h_{l+1}``, shape (batch, n_l).

        ``below``, when given, is ``h_{l-1} @ W_{l-1}`` already computed (the
        clamped visible layer's input to ``h_1`` in mean-field); the sum is
        formed in the same order, so the result is bitwise the same.
        """
        a = self.biases[l]
        if l > 0:
            a = a + (layers[l - 1] @ self.weights[l - 1] if below is None else below)
        if l < self.n_layers - 1:
            a = a + layers[l + 1] @ self.weights[l].T
        return a

    # ------------------------------------------------------------ energies
    def energy(self, layers):
        """``E`` of each row, per-layer float states (any real values)."""
        e = 0.0
        for l in range(self.n_layers):
            e = e + self.units[l].energy(layers[l], self.biases[l])
        for l in range(self.n_layers - 1):
            e = e - np.einsum("bi,bi->b", layers[l] @ self.weights[l], layers[l + 1])
        return e

    def log_unnormalised(self, layers, summed):
        """``log sum_{h_summed} exp(-E)`` per row, the layers in ``summed`` summed out.

        ``summed`` holds indices of pairwise non-adjacent layers (each is then
        independent given the others, and contributes its unit type's
        log-partition of its total input); entries of ``layers`` at those
        indices are ignored (may be None).
        """
        summed = set(summed)
        out = 0.0
        for l in range(self.n_layers):
            if l not in summed:
                out = out - self.units[l].energy(layers[l], self.biases[l])
        for l in range(self.n_layers - 1):
            if l not in summed and l + 1 not in summed:
                out = out + np.einsum("bi,bi->b", layers[l] @ self.weights[l], layers[l + 1])
        for l in sorted(summed):
            out = out + self.units[l].log_partition(self.total_input(layers, l))
        return out

    def free_energy_parity(self, layers, parity=1):
        """Free energy with every layer of ``parity`` summed out analytically.

        ``F = sum_{l kept} (e_l(h_l) - b_l . h_l) - sum_{l summed} log Z_l(a_l)``;
        entries of ``layers`` at the summed parity are ignored (may be None).
        """
        return -self.log_unnormalised(layers, range(parity, self.n_layers, 2))

    def _enum_parity(self, clamped, max_states):
        """The parity to enumerate (discrete, fewest joint states) and its log2 count."""
        best = None
        for parity in (0, 1):
            free = [l for l in range(parity, self.n_layers, 2) if l not in clamped]
            if not all(self.units[l].discrete for l in free):
                continue
            log_n = sum(self.units[l].log_n_states(self.sizes[l]) for l in free)
            if best is None or log_n < best[1]:
                best = (parity, log_n, free)
        if best is None:
            raise ValueError(
                "exact computation needs one parity of free layers to be discrete "
                "(binary or softmax); both hold Gaussian layers"
            )
        parity, log_n, free = best
        if log_n > math.log(max_states) + 1e-9:
            raise ValueError(
                f"exact computation needs {math.exp(log_n):.4g} joint states, more than "
                f"max_states = {max_states}; raise max_states or use AIS"
            )
        return parity, free

    def _states_at(self, layers, index):
        """States of ``layers`` (discrete) at joint indices ``index``, one array per layer.

        Mixed radix, first layer and first unit slowest: the order of
        ``meshgrid(..., indexing="ij")`` over each layer's ``enumerate(n)``
        (itertools order), computed from the index so that no layer's full
        state list is ever built.
        """
        out = []
        place = 1
        radix = []
        for l in reversed(layers):
            u, n = self.units[l], self.sizes[l]
            k = u.k if u.name == "softmax" else 2
            digits = n // k if u.name == "softmax" else n
            radix.append((u, n, k, digits, place))
            place *= k**digits
        for u, n, k, digits, place in reversed(radix):
            local = (index // place) % (k**digits)
            powers = k ** np.arange(digits - 1, -1, -1, dtype=np.int64)
            d = (local[:, None] // powers) % k
            if u.name == "softmax":
                out.append(np.eye(k)[d].reshape(index.shape[0], n))
            else:
                out.append(d.astype(np.float64))
        return out

    def _n_joint(self, layers):
        """Number of joint states of the discrete ``layers``."""
        n_joint = 1
        for l in layers:
            u = self.units[l]
            n_joint *= u.k ** (self.sizes[l] // u.k) if u.name == "softmax" else 2 ** self.sizes[l]
        return n_joint

    def _log_sum(self, v, max_states):
        """``log sum exp(-E)`` over every unclamped unit (v clamped when not None).

        Enumerates the discrete parity class with fewer joint states and sums
        the other analytically (it is conditionally independent given the
        first); a clamped ``v`` is kept, never summed. The joint states are
        visited in chunks of at most ``_CHUNK_ENTRIES / sum(sizes)`` states
        (bounded memory), each chunk's ``logsumexp`` combined at the end.
        """
        clamped = () if v is None else (0,)
        parity, enum_layers = self._enum_parity(clamped, max_states)
        summed = [l for l in range(1 - parity, self.n_layers, 2) if l not in clamped]
        n_joint = self._n_joint(enum_layers)
        chunk = max(1, min(n_joint, _CHUNK_ENTRIES // sum(self.sizes)))
        n_rows = 1 if v is None else v.shape[0]
        out = np.empty(n_rows)
        for r in range(n_rows):
            partial = []
            for start in range(0, n_joint, chunk):
                index = np.arange(start, min(start + chunk, n_joint), dtype=np.int64)
                layers = [None] * self.n_layers
                for l, h in zip(enum_layers, self._states_at(enum_layers, index), strict=True):
                    layers[l] = h
                if v is not None:
                    layers[0] = np.broadcast_to(v[r], (index.shape[0], self.sizes[0]))
                partial.append(logsumexp(self.log_unnormalised(layers, summed)))
            out[r] = partial[0] if len(partial) == 1 else logsumexp(partial)
        return out

    def log_partition_exact(self, max_states=DEFAULT_MAX_STATES) -> float:
        """Exact ``log Z`` by enumerating one discrete parity class (the smaller)."""
        return float(self._log_sum(None, max_states)[0])

    def free_energy(self, v, max_states=DEFAULT_MAX_STATES):
        """Exact ``F(v) = -log sum_h exp(-E(v, h))`` per row."""
        return -self._log_sum(np.asarray(v, dtype=np.float64), max_states)

    # ------------------------------------------------------------ inference
    def gibbs_sweep(self, layers, rng, *, clamp_visible=False):
        """One block-Gibbs sweep in place: odd layers, then even layers."""
        for parity in (1, 0):
            for l in range(parity, self.n_layers, 2):
                if l == 0 and clamp_visible:
                    continue
                layers[l] = self.units[l].sample(self.total_input(layers, l), rng)
        return layers

    def mean_field(self, v, *, max_iter=100, tol=1e-8, damping=0.0, init=None):
        """Damped layer-wise mean-field fixed point ``mu_l = E[h_l | a_l(mu)]``, v clamped.

        Each hidden layer's factor is its unit type's conditional given the
        neighbours' means (``sigmoid`` for binary, per-group softmax,
        ``N(sigma^2 a, sigma^2)`` for Gaussian), updated odd layers first.

        Returns
        -------
        mu : list of ndarray
            ``mu[0] = v``, then the hidden layers' posterior means.
        converged : bool
        n_iter : int
        """
        v = np.asarray(v, dtype=np.float64)
        # v is clamped: its input to h_1 is computed once, not at every iteration
        from_v = v @ self.weights[0] if self.n_layers > 1 else None
        if init is None:
            # bottom-up pass, doubling the input of layers that will also get top-down input
            mu = [v]
            for l in range(1, self.n_layers):
                scale = 2.0 if l < self.n_layers - 1 else 1.0
                below = from_v if l == 1 else mu[l - 1] @ self.weights[l - 1]
                a = self.biases[l] + scale * below
                mu.append(self.units[l].mean(a))
        else:
            mu = [v] + [np.array(m, dtype=np.float64) for m in init[1:]]
        converged = False
        n_iter = 0
        for it in range(1, max_iter + 1):
            n_iter = it
            delta = 0.0
            for parity in (1, 0):
                for l in range(parity if parity else 2, self.n_layers, 2):
                    new = self.units[l].mean(
                        self.total_input(mu, l, below=from_v if l == 1 else None)
                    )
                    new = damping * mu[l] + (1.0 - damping) * new
                    delta = max(delta, float(np.max(np.abs(new - mu[l]), initial=0.0)))
                    mu[l] = new
            if delta < tol:
                converged = True
                break
        return mu, converged, n_iter

    def mean_field_bound(self, mu):
        """``-E_q[E] + H(q)`` per row: ``log p(v) + log Z >=`` this (Jensen).

        ``q`` factorises over the hidden layers with means ``mu[1:]`` (``mu[0]``
        is the clamped ``v``); the pairwise terms are bilinear in
        independent layers, so ``E_q`` of them is their value at the means.
        """
        out = -self.units[0].energy(mu[0], self.biases[0])
        for l in range(1, self.n_layers):
            u = self.units[l]
            out = out - u.expected_energy(mu[l], self.biases[l]) + u.entropy(mu[l])
        for l in range(self.n_layers - 1):
            out = out + np.einsum("bi,bi->b", mu[l] @ self.weights[l], mu[l + 1])
        return out

    def importance_bound(self, mu, n_samples, rng, *, max_rows=None):
        """Importance-weighted estimate of ``log sum_h exp(-E(v, h))`` per row.

        The odd layers are summed out exactly given ``v`` and the even hidden
        layers; the even hidden layers are drawn ``n_samples`` times from the
        mean-field factors ``q_l(h) = p(h | a_l(mu))`` (their total inputs at
        the means ``mu``, as :meth:`mean_field` returns them). Per row the
        result is ``log (1/K) sum_k p*(v, h^k) / q(h^k)``, whose expectation
        is at most the exact ``log p*(v)`` (Jensen), at least the
        ``q``-expectation of ``log p*(v, h) - log q(h)``, which is itself at
        least :meth:`mean_field_bound`, and which rises to ``log p*(v)`` as
        ``K`` grows (Burda et al. 2016). With no even hidden layer (an RBM)
        it is ``log p*(v)`` exactly and draws nothing.
        """
        n_samples = check_positive_int(n_samples, "n_samples")
        v = mu[0]
        odd = range(1, self.n_layers, 2)
        even = list(range(2, self.n_layers, 2))
        if not even:
            return self.log_unnormalised([v] + [None] * (self.n_layers - 1), odd)
        if max_rows is None:
            max_rows = max(1, 20_000 // n_samples)
        inputs = [None] * self.n_layers
        for l in even:
            inputs[l] = self.total_input(mu, l)
        out = np.empty(v.shape[0])
        for start in range(0, v.shape[0], max_rows):
            rows = slice(start, min(start + max_rows, v.shape[0]))
            layers = [np.repeat(v[rows], n_samples, axis=0)] + [None] * (self.n_layers - 1)
            log_q = 0.0
            for l in even:
                a = np.repeat(inputs[l][rows], n_samples, axis=0)
                h = self.units[l].sample(a, rng)
                layers[l] = h
                # log p(h | a) = a . h - e(h) - log Z(a), e(h) the energy at zero bias
                u = self.units[l]
                base = u.energy(h, np.zeros(self.sizes[l]))
                log_q = log_q + np.einsum("bi,bi->b", a, h) - base - u.log_partition(a)
            log_w = (self.log_unnormalised(layers, odd) - log_q).reshape(-1, n_samples)
            out[rows] = logsumexp(log_w, axis=1) - math.log(n_samples)
        return out

    # ------------------------------------------------------------ exports
    def to_factor_graph(self, layer_names=None, parameter_names=None):
        """The same distribution as a FactorGraph: ``v`` first, then ``h1``, ``h2``, ...

        Binary layers become binary variables; a softmax layer becomes one
        categorical variable with ``k`` states per group (state ``j`` = unit
        ``j`` of the group on; see :meth:`factor_graph_states`), its couplings
        table factors. Gaussian layers have no discrete counterpart.

        ``layer_names`` (one group name per layer, default ``"v", "h1", ...``)
        and ``parameter_names`` (a dict renaming ``"biases_l"`` and
        ``"weights_l"``, e.g. the RBM's ``"visible_bias"``) name the groups
        and factor parameters.

        Raises
        ------
        ValueError
            If a layer is Gaussian.
        """
        from pgm.graph import FactorGraph

        for l, u in enumerate(self.units):
            if not u.discrete:
                raise ValueError(
                    f"to_factor_graph: layer {l} is Gaussian; a FactorGraph holds discrete "
                    "variables only"
                )
        if layer_names is None:
            layer_names = ["v"] + [f"h{l}" for l in range(1, self.n_layers)]
        if len(layer_names) != self.n_layers:
            raise ValueError(f"layer_names must hold {self.n_layers} names, got {len(layer_names)}")
        renamed = dict(parameter_names or {})

        def pname(key):
            return renamed.get(key, key)

        fg = FactorGraph()
        groups = []
        for l, n in enumerate(self.sizes):
            u = self.units[l]
            if u.name == "softmax":
                groups.append(fg.add_variables(layer_names[l], n // u.k, domain=u.k))
                fg.add_unary(groups[l], self.biases[l].reshape(-1, u.k), name=pname(f"biases_{l}"))
            else:
                groups.append(fg.add_variables(layer_names[l], n, domain="binary"))
                fg.add_unary(groups[l], self.biases[l], name=pname(f"biases_{l}"))
        for l, w in enumerate(self.weights):
            ua, ub = self.units[l], self.units[l + 1]
            if ua.name != "softmax" and ub.name != "softmax":
                fg.add_pairwise(groups[l], groups[l + 1], w, name=pname(f"weights_{l}"))
                continue
            ka = ua.k if ua.name == "softmax" else 1
            kb = ub.k if ub.name == "softmax" else 1
            ida, idb = list(groups[l].ids), list(groups[l + 1].ids)
            for i, a in enumerate(ida):
                for j, b in enumerate(idb):
                    block = w[i * ka : (i + 1) * ka, j * kb : (j + 1) * kb]
                    # a binary end's state 0 contributes nothing, state 1 its weight row
                    table = -block
                    if ua.name != "softmax":
                        table = np.vstack([np.zeros((1, kb)), table])
                    if ub.name != "softmax":
                        table = np.hstack([np.zeros((table.shape[0], 1)), table])
                    fg.add_factor([a, b], table, name=f"{pname(f'weights_{l}')}_{i}_{j}")
        return fg

    def factor_graph_states(self, layers):
        """Per-layer states as rows of :meth:`to_factor_graph` values (int64).

        Binary units map to themselves, each softmax group to the index of its
        active unit.
        """
        layers = self.check_states(list(layers))
        cols = []
        for u, h in zip(self.units, layers, strict=True):
            if u.name == "softmax":
                cols.append(np.argmax(h.reshape(h.shape[0], -1, u.k), axis=2))
            else:
                cols.append(h.astype(np.int64))
        return np.hstack(cols).astype(np.int64)

    def statistics(self, layers):
        """Sufficient statistics, named as :meth:`to_factor_graph` parameters, batch-mean."""
        stats = {}
        for l in range(self.n_layers):
            stats[f"biases_{l}"] = layers[l].mean(axis=0)
        for l in range(self.n_layers - 1):
            stats[f"weights_{l}"] = layers[l].T @ layers[l + 1] / layers[l].shape[0]
        return stats

    # ------------------------------------------------------------ log-variances
    def _log_variance_centre(self, l, centred):
        return self.units[l].sigma ** 2 * self.biases[l] if centred else 0.0

    def log_variance_statistics(self, layers, centred=False):
        """``{l: batch mean of (h_l - c_l)^2 / (2 sigma_l^2)}`` for every Gaussian layer ``l``.

        The statistics paired with the log-variances ``z_l = log sigma_l^2``
        (``-dE / dz_l``; see :mod:`pgm.layered.units`), each of shape
        ``(n_l,)``: ``c_l = 0`` (at fixed bias), or ``c_l = sigma_l^2 b_l`` with
        ``centred=True`` (at fixed ``sigma_l^2 b_l``; differs by a constant).
        """
        return {
            l: u.log_variance_statistics(layers[l], self._log_variance_centre(l, centred)).mean(
                axis=0
            )
            for l, u in enumerate(self.units)
            if not u.discrete
        }

    def expected_log_variance_statistics(
        self, v=None, max_states=DEFAULT_MAX_STATES, centred=False
    ):
        """Exact ``E[h_l^2 / (2 sigma_l^2)]`` for every Gaussian layer, by enumeration.

        With ``v`` (rows of visible states) the expectation is under
        ``p(h | v)`` averaged over rows (a clamped Gaussian ``v`` contributes
        its own statistic); without, under the model ``p``. So
        ``expected_log_variance_statistics(v) - expected_log_variance_statistics()``
        is the exact gradient of the mean ``log p(v)`` with respect to each
        Gaussian layer's log-variance (at fixed biases, or at fixed
        ``sigma^2 b`` with ``centred=True``; see :meth:`log_variance_statistics`).
        The discrete parity is enumerated as
        in :meth:`free_energy`; each summed Gaussian layer contributes its
        conditional expectation ``sigma^2 a^2 / 2 + 1 / 2`` at its total input.

        Returns
        -------
        stats : dict of int to ndarray of shape (n_l,)
        """
        clamped = () if v is None else (0,)
        parity, enum_layers = self._enum_parity(clamped, max_states)
        summed = [l for l in range(1 - parity, self.n_layers, 2) if l not in clamped]
        gauss = [l for l, u in enumerate(self.units) if not u.discrete]
        n_joint = self._n_joint(enum_layers)
        states = self._states_at(enum_layers, np.arange(n_joint, dtype=np.int64))
        rows = [None] if v is None else list(np.asarray(v, dtype=np.float64))
        out = {l: np.zeros(self.sizes[l]) for l in gauss}
        for row in rows:
            layers = [None] * self.n_layers
            for l, h in zip(enum_layers, states, strict=True):
                layers[l] = h
            if row is not None:
                layers[0] = np.broadcast_to(row, (n_joint, self.sizes[0]))
            log_w = self.log_unnormalised(layers, summed)
            w = np.exp(log_w - logsumexp(log_w))
            for l in gauss:
                u = self.units[l]
                c = self._log_variance_centre(l, centred)
                if l in summed:
                    s = w @ u.expected_log_variance_statistics(self.total_input(layers, l), c)
                else:  # the clamped visible layer
                    s = u.log_variance_statistics(row, c)
                out[l] += s / len(rows)
        return out

    def save(self, path, class_name="LayeredModel", extra=None):
        """Write weights and biases to ``.npz`` with format_version and class name."""
        arrays = {f"weights_{l}": w for l, w in enumerate(self.weights)}
        arrays.update({f"biases_{l}": b for l, b in enumerate(self.biases)})
        arrays["units"] = np.array([u.spec() for u in self.units], dtype=np.str_)
        for l, u in enumerate(self.units):
            if u.name == "gaussian":
                arrays[f"sigma_{l}"] = np.asarray(u.sigma, dtype=np.float64)
        arrays.update(extra or {})
        np.savez(
            os.fspath(path),
            format_version=np.int64(FORMAT_VERSION),
            class_name=np.str_(class_name),
            n_layers=np.int64(self.n_layers),
            **arrays,
        )

    @staticmethod
    def load_arrays(path, class_name="LayeredModel"):
        """Read and validate a file written by :meth:`save`; returns (weights, biases, file).

        ``file["units"]``, when present, is replaced by the list of unit specs
        (Gaussian layers as ``("gaussian", sigma)``); files without it are all
        binary.
        """
        with np.load(os.fspath(path), allow_pickle=False) as f:
            data = {k: f[k] for k in f.files}
        for key in ("format_version", "class_name", "n_layers"):
            if key not in data:
                raise ValueError(f"{os.fspath(path)} is not a saved {class_name} (no {key})")
        if int(data["format_version"]) != FORMAT_VERSION:
            raise ValueError(
                f"{os.fspath(path)} has format_version {int(data['format_version'])}, "
                f"this version reads {FORMAT_VERSION}"
            )
        if str(data["class_name"]) != class_name:
            raise ValueError(
                f"{os.fspath(path)} holds a {str(data['class_name'])}, not a {class_name}"
            )
        n = int(data["n_layers"])
        missing = [
            k
            for k in [f"weights_{l}" for l in range(n - 1)] + [f"biases_{l}" for l in range(n)]
            if k not in data
        ]
        if n < 2 or missing:
            raise ValueError(
                f"{os.fspath(path)} is not a complete {class_name}: n_layers {n}, missing {missing}"
            )
        weights = [data[f"weights_{l}"] for l in range(n - 1)]
        biases = [data[f"biases_{l}"] for l in range(n)]
        if "units" in data:
            specs = [str(x) for x in np.atleast_1d(data["units"])]
            if len(specs) != n:
                raise ValueError(
                    f"{os.fspath(path)}: units holds {len(specs)} specs for {n} layers"
                )
            units = []
            for l, spec in enumerate(specs):
                if spec == "gaussian":
                    if f"sigma_{l}" not in data:
                        raise ValueError(f"{os.fspath(path)}: Gaussian layer {l} has no sigma_{l}")
                    units.append(("gaussian", data[f"sigma_{l}"]))
                else:
                    units.append(get_units(spec))
            data["units"] = units
        else:
            data["units"] = None
        return weights, biases, data


def sample_chains(model, n_chains, n_gibbs, rng, layers=None):
    """Run ``n_gibbs`` block-Gibbs sweeps from ``layers`` or random states (unit ``init``)."""
    rng = as_generator(rng)
    n_gibbs = check_positive_int(n_gibbs, "n_gibbs", minimum=0)
    if layers is None:
        layers = [u.init(rng, n_chains, n) for u, n in zip(model.units, model.sizes, strict=True)]
    for _ in range(n_gibbs):
        model.gibbs_sweep(layers, rng)
    return layers


def rbm_free_energy(v, weights, visible_bias, hidden_bias, visible="binary"):
    """Free energy ``F(v)`` of each row of an RBM, hidden units summed out analytically.

    ``F(v) = -b.v - sum_j softplus(c_j + v.W_j)`` for binary visible units and
    ``F(v) = |v - b|^2 / 2 - sum_j softplus(c_j + v.W_j)`` for unit-variance
    Gaussian ones (float64 arrays whose shapes the caller has checked): the
    two-layer :meth:`LayeredModel.free_energy_parity`, plus ``|b|^2 / 2`` for
    Gaussian units (the RBM writes their energy ``|v - b|^2 / 2``, the layered
    engine ``|v|^2 / 2 - b.v``). Used by ``pgm.models.RBM`` and the RBM AIS.
    """
    model = LayeredModel([weights], [visible_bias, hidden_bias], units=[visible, "binary"])
    return model.free_energy_parity([v, None], parity=1) + rbm_energy_offset(model)


def rbm_energy_offset(model) -> float:
    """``|b|^2 / 2`` for a Gaussian visible layer, else 0: RBM energy minus layered energy.

    ``pgm.models.RBM`` writes the Gaussian energy as ``|v - b|^2 / 2 - ...``;
    the layered engine as ``|v|^2 / 2 - b.v - ...``. Energies and free
    energies differ by this constant and ``log Z`` by its negative.
    """
    if model.units[0].name != "gaussian":
        return 0.0
    b = model.biases[0]
    return 0.5 * float(b @ b)
