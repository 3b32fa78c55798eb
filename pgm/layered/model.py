r"""A stack of binary layers joined by dense weight blocks (the DBM energy).

.. math::

    E(h_0, \dots, h_L) = -\sum_{l=0}^{L-1} h_l^\top W_l h_{l+1}
                         - \sum_{l=0}^{L} b_l \cdot h_l, \qquad h_0 = v.

Given its neighbours, layer ``l`` is a set of independent units with total
input ``a_l = b_l + W_{l-1}^T h_{l-1} + W_l h_{l+1}``, so even and odd layers
can be updated as two blocks (block Gibbs), and either parity can be summed
out analytically given the other (``log sum_h exp(a . h) = sum softplus(a)``).
"""

from __future__ import annotations

import itertools
import os

import numpy as np
from scipy.special import expit, logsumexp

from pgm._random import as_generator
from pgm._validation import as_float_array, check_positive_int
from pgm.layered.units import BinaryUnits

__all__ = ["LayeredModel", "FORMAT_VERSION", "DEFAULT_MAX_STATES"]

FORMAT_VERSION = 1
#: Largest joint state count enumerated by exact free energies and log Z.
DEFAULT_MAX_STATES = 2**22

_binary = BinaryUnits()


class LayeredModel:
    """Binary layers ``h_0 = v, h_1, ..., h_L`` joined by dense blocks.

    Parameters
    ----------
    weights : sequence of array_like
        ``weights[l]`` of shape ``(n_l, n_{l+1})``, bottom first.
    biases : sequence of array_like
        ``biases[l]`` of shape ``(n_l,)``, ``len(biases) == len(weights) + 1``.

    Raises
    ------
    ValueError
        On mismatched shapes, non-finite entries or fewer than two layers.
    """

    def __init__(self, weights, biases):
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
        self.units = [_binary] * len(sizes)

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
        """Per-layer float arrays from a list of layers or concatenated states; 0/1 only."""
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
        for l, s in enumerate(layers):
            if not np.all((s == 0.0) | (s == 1.0)):
                raise ValueError(f"{name}[{l}] must hold only 0 and 1 (binary units)")
        return layers

    def total_input(self, layers, l):
        """``a_l = b_l + W_{l-1}^T h_{l-1} + W_l h_{l+1}``, shape (batch, n_l)."""
        a = self.biases[l]
        if l > 0:
            a = a + layers[l - 1] @ self.weights[l - 1]
        if l < self.n_layers - 1:
            a = a + layers[l + 1] @ self.weights[l].T
        return a

    # ------------------------------------------------------------ energies
    def energy(self, layers):
        """``E`` of each row, per-layer float states (any real values: multilinear)."""
        e = 0.0
        for l in range(self.n_layers):
            e = e - layers[l] @ self.biases[l]
        for l in range(self.n_layers - 1):
            e = e - np.einsum("bi,bi->b", layers[l] @ self.weights[l], layers[l + 1])
        return e

    def free_energy_parity(self, layers, parity=1):
        """Free energy with every layer of ``parity`` summed out analytically.

        ``F = -sum_{l kept} b_l . h_l - sum_{l summed} sum_i softplus(a_l,i)``;
        entries of ``layers`` at the summed parity are ignored (may be None).
        """
        f = 0.0
        for l in range(self.n_layers):
            if l % 2 != parity:
                f = f - layers[l] @ self.biases[l]
        for l in range(parity, self.n_layers, 2):
            f = f - _binary.log_partition(self.total_input(layers, l))
        return f

    def _log_sum(self, v, max_states):
        """``log sum exp(-E)`` over every unclamped unit (v clamped when not None).

        Enumerates the parity class with fewer free units and sums the other
        analytically (it is conditionally independent given the first).
        """
        free = [0 if (v is not None and l == 0) else n for l, n in enumerate(self.sizes)]
        counts = [sum(free[p::2]) for p in (0, 1)]
        parity = int(np.argmin(counts))
        n_enum = counts[parity]
        if 2.0**n_enum > max_states:
            raise ValueError(
                f"exact computation needs 2**{n_enum} joint states, more than "
                f"max_states = {max_states}; raise max_states or use AIS"
            )
        enum_layers = [l for l in range(parity, self.n_layers, 2) if free[l] > 0]
        n_rows = 1 if v is None else v.shape[0]
        bits = np.array(list(itertools.product((0.0, 1.0), repeat=n_enum))).reshape(
            2**n_enum, n_enum
        )
        out = np.empty(n_rows)
        for r in range(n_rows):
            layers = [None] * self.n_layers
            start = 0
            for l in enum_layers:
                layers[l] = bits[:, start : start + self.sizes[l]]
                start += self.sizes[l]
            if v is not None:
                layers[0] = np.broadcast_to(v[r], (bits.shape[0], self.sizes[0]))
            if parity == 1 and v is not None:
                # v (parity 0) is clamped, not summed: its terms are linear in h_1
                layers_f = list(layers)
                neg_f = layers[0] @ self.biases[0] + np.einsum(
                    "bi,bi->b", layers[0] @ self.weights[0], layers[1]
                )
                for l in range(1, self.n_layers):
                    if l % 2 == 1:
                        neg_f = neg_f + layers[l] @ self.biases[l]
                for l in range(2, self.n_layers, 2):
                    neg_f = neg_f + _binary.log_partition(self.total_input(layers_f, l))
            else:
                neg_f = -self.free_energy_parity(layers, 1 - parity)
            out[r] = logsumexp(neg_f)
        return out

    def log_partition_exact(self, max_states=DEFAULT_MAX_STATES) -> float:
        """Exact ``log Z`` by enumerating one parity class (the smaller)."""
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
                layers[l] = _binary.sample(self.total_input(layers, l), rng)
        return layers

    def mean_field(self, v, *, max_iter=100, tol=1e-8, damping=0.0, init=None):
        """Damped layer-wise mean-field fixed point ``mu_l = sigmoid(a_l(mu))``, v clamped.

        Returns
        -------
        mu : list of ndarray
            ``mu[0] = v``, then the hidden layers' posterior means.
        converged : bool
        n_iter : int
        """
        v = np.asarray(v, dtype=np.float64)
        if init is None:
            # bottom-up pass, doubling the input of layers that will also get top-down input
            mu = [v]
            for l in range(1, self.n_layers):
                scale = 2.0 if l < self.n_layers - 1 else 1.0
                mu.append(expit(self.biases[l] + scale * (mu[l - 1] @ self.weights[l - 1])))
        else:
            mu = [v] + [np.array(m, dtype=np.float64) for m in init[1:]]
        converged = False
        n_iter = 0
        for it in range(1, max_iter + 1):
            n_iter = it
            delta = 0.0
            for parity in (1, 0):
                for l in range(parity if parity else 2, self.n_layers, 2):
                    new = expit(self.total_input(mu, l))
                    new = damping * mu[l] + (1.0 - damping) * new
                    delta = max(delta, float(np.max(np.abs(new - mu[l]), initial=0.0)))
                    mu[l] = new
            if delta < tol:
                converged = True
                break
        return mu, converged, n_iter

    def mean_field_bound(self, mu):
        """``-E(mu) + H(q)`` per row: ``log p(v) + log Z >=`` this (Jensen)."""
        h = sum(_binary.entropy(m) for m in mu[1:])
        return -self.energy(mu) + h

    # ------------------------------------------------------------ exports
    def to_factor_graph(self):
        """The same distribution as a FactorGraph: ``v`` first, then ``h1``, ``h2``, ..."""
        from pgm.graph import FactorGraph

        fg = FactorGraph()
        groups = []
        for l, n in enumerate(self.sizes):
            name = "v" if l == 0 else f"h{l}"
            groups.append(fg.add_variables(name, n, domain="binary"))
            fg.add_unary(groups[l], self.biases[l], name=f"biases_{l}")
        for l, w in enumerate(self.weights):
            fg.add_pairwise(groups[l], groups[l + 1], w, name=f"weights_{l}")
        return fg

    def statistics(self, layers):
        """Sufficient statistics, named as :meth:`to_factor_graph` parameters, batch-mean."""
        stats = {}
        for l in range(self.n_layers):
            stats[f"biases_{l}"] = layers[l].mean(axis=0)
        for l in range(self.n_layers - 1):
            stats[f"weights_{l}"] = layers[l].T @ layers[l + 1] / layers[l].shape[0]
        return stats

    def save(self, path, class_name="LayeredModel", extra=None):
        """Write weights and biases to ``.npz`` with format_version and class name."""
        arrays = {f"weights_{l}": w for l, w in enumerate(self.weights)}
        arrays.update({f"biases_{l}": b for l, b in enumerate(self.biases)})
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
        """Read and validate a file written by :meth:`save`; returns (weights, biases, file)."""
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
        weights = [data[f"weights_{l}"] for l in range(n - 1)]
        biases = [data[f"biases_{l}"] for l in range(n)]
        return weights, biases, data


def sample_chains(model, n_chains, n_gibbs, rng, layers=None):
    """Run ``n_gibbs`` block-Gibbs sweeps from uniform random states (or ``layers``)."""
    rng = as_generator(rng)
    n_gibbs = check_positive_int(n_gibbs, "n_gibbs", minimum=0)
    if layers is None:
        layers = [(rng.random((n_chains, n)) < 0.5).astype(np.float64) for n in model.sizes]
    for _ in range(n_gibbs):
        model.gibbs_sweep(layers, rng)
    return layers
