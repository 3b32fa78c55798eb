"""A deliberately naive brute force written from the definition.

Never imports ``pgm.inference``. It reads only a graph's *terms* through the
public builder API (``parameters()``, group domains) plus a description of
the terms that each test records itself, so that the energy here is summed
term by term in plain Python, independently of ``FactorGraph.energy``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np


class Terms:
    """A graph recorded term by term next to the FactorGraph under test."""

    def __init__(self):
        self.domains = []  # per variable: list of values in state-index order
        self.unary = []  # (var, values-> energy) callables via tables
        self.pairwise = []  # (i, j, w)
        self.tables = []  # (scope, energies ndarray indexed by state index)

    def add_variables(self, n, domain):
        if domain == "binary":
            values = [0, 1]
        elif domain == "spin":
            values = [-1, 1]
        else:
            values = list(range(domain))
        start = len(self.domains)
        self.domains.extend([values] * n)
        return list(range(start, start + n))

    def energy(self, state):
        """Energy of one state (tuple of values), summed term by term."""
        e = 0.0
        for var, bias in self.unary:
            if np.ndim(bias) == 0:
                e -= float(bias) * state[var]
            else:
                e -= float(bias[state[var]])
        for i, j, w in self.pairwise:
            e -= w * state[i] * state[j]
        for scope, table in self.tables:
            idx = tuple(self.domains[v].index(state[v]) for v in scope)
            e += float(table[idx])
        return e

    def states(self):
        return itertools.product(*self.domains)


def log_partition(terms):
    energies = [terms.energy(s) for s in terms.states()]
    m = min(energies)
    return -m + math.log(sum(math.exp(m - e) for e in energies))


def probabilities(terms):
    states = list(terms.states())
    log_z = log_partition(terms)
    return states, [math.exp(-terms.energy(s) - log_z) for s in states]


def marginals(terms):
    """(n, max_k) table of P(x_i = value index s), zero padded."""
    n = len(terms.domains)
    max_k = max(len(d) for d in terms.domains)
    out = np.zeros((n, max_k))
    for state, p in zip(*probabilities(terms)):
        for i, value in enumerate(state):
            out[i, terms.domains[i].index(value)] += p
    return out


def log_likelihood(terms, data, visible):
    """Mean over rows of log sum_{hidden} p(visible = row, hidden)."""
    log_z = log_partition(terms)
    hidden = [i for i in range(len(terms.domains)) if i not in visible]
    total = 0.0
    for row in data:
        energies = []
        for hvals in itertools.product(*(terms.domains[h] for h in hidden)):
            state = [None] * len(terms.domains)
            for v, val in zip(visible, row):
                state[v] = int(val)
            for h, val in zip(hidden, hvals):
                state[h] = val
            energies.append(terms.energy(state))
        m = min(energies)
        total += -m + math.log(sum(math.exp(m - e) for e in energies)) - log_z
    return total / len(data)
