"""Hypothesis strategies for small random factor graphs of mixed domains.

A *spec* is a plain description of a graph; :func:`build` turns it into a
``pgm.FactorGraph`` and, independently, into an :class:`oracle.Terms` that the
brute force evaluates term by term.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import pgm
from tests.oracle import Terms

DOMAINS = st.sampled_from(["binary", "spin", 3, 2, 4])
REALS = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False, width=64)


@st.composite
def graph_specs(draw, max_variables=10, max_groups=4, pairwise_only=False, max_states=4096):
    """Draw a spec with up to ``max_variables`` variables and bounded parameters."""
    groups = []
    n_total, n_states = 0, 1
    for g in range(draw(st.integers(1, max_groups))):
        domain = draw(DOMAINS)
        k = 2 if domain in ("binary", "spin") else domain
        room = max_variables - n_total
        fit = 0
        while fit < room and n_states * k ** (fit + 1) <= max_states:
            fit += 1
        if fit == 0:
            break
        n = draw(st.integers(1, min(fit, 4)))
        groups.append((f"g{g}", n, domain))
        n_total += n
        n_states *= k**n
    cards = []
    for _, n, domain in groups:
        cards += [2 if domain in ("binary", "spin") else domain] * n
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from([0.3, 1.0, 2.0]))

    terms = []
    for name, n, domain in groups:
        if draw(st.booleans()):
            k = 2 if domain in ("binary", "spin") else domain
            shape = (n,) if domain in ("binary", "spin") else (n, k)
            terms.append(("unary", name, rng.normal(0, scale, shape)))
    for a in range(len(groups)):
        for b in range(a + 1, len(groups)):
            if draw(st.booleans()):
                terms.append(("pairwise", (a, b), rng.normal(0, scale, (groups[a][1], groups[b][1]))))
    if n_total >= 2 and draw(st.booleans()):
        m = draw(st.integers(1, 4))
        edges = np.array([rng.choice(n_total, 2, replace=False) for _ in range(m)])
        terms.append(("edges", edges, rng.normal(0, scale, m)))
    if not pairwise_only:
        for _ in range(draw(st.integers(0, 2))):
            r = draw(st.integers(1, min(3, n_total)))
            scope = rng.choice(n_total, r, replace=False)
            terms.append(("factor", scope, rng.normal(0, scale, tuple(cards[s] for s in scope))))
    return {"groups": groups, "terms": terms}


def build(spec):
    """Return ``(fg, terms)`` for a spec: the graph under test and its oracle twin."""
    fg = pgm.FactorGraph()
    oracle = Terms()
    made = {}
    for name, n, domain in spec["groups"]:
        made[name] = fg.add_variables(name, n, domain)
        oracle.add_variables(n, domain)
    group_list = list(made.values())
    for kind, where, params in spec["terms"]:
        if kind == "unary":
            fg.add_unary(made[where], params)
            for r, var in enumerate(made[where].ids):
                oracle.unary.append((int(var), params[r]))
        elif kind == "pairwise":
            a, b = group_list[where[0]], group_list[where[1]]
            fg.add_pairwise(a, b, params)
            for r, i in enumerate(a.ids):
                for c, j in enumerate(b.ids):
                    oracle.pairwise.append((int(i), int(j), float(params[r, c])))
        elif kind == "edges":
            fg.add_edges(where, params)
            for (i, j), w in zip(where, params):
                oracle.pairwise.append((int(i), int(j), float(w)))
        else:
            fg.add_factor(where, params)
            oracle.tables.append(([int(s) for s in where], np.asarray(params)))
    return fg, oracle


def random_states(terms, n, rng):
    """``n`` random states (values) of the oracle's variables."""
    return np.array([[rng.choice(d) for d in terms.domains] for _ in range(n)], dtype=np.int64)
