"""Loopy belief propagation: pgm against a vectorised numpy BP and pgmpy's belief propagation.

What pgmpy offers (version installed, 1.0.x): ``BeliefPropagation`` builds a
junction tree of the model and calibrates it, i.e. *exact* inference whose
cost grows with the treewidth; ``BeliefPropagationWithMessagePassing`` runs
recursive sum-product on a factor graph and, by its own docstring, "does not
work for loopy graphs". Neither is loopy BP, so the comparison is split:

1. Random trees (both exact): time to all node marginals, and agreement.
2. Small grids and a small random factor graph: pgm's loopy BP (approximate)
   against pgmpy's junction tree (exact, the reference for the error); the
   grids grow until pgmpy's run exceeds its time limit.
3. The 512 x 512 Ising model and a large random factor graph of 3-state
   variables and 3-variable table factors: message updates per second of
   pgm's two schedules, against a hand-written vectorised numpy flooding BP
   (cavity-field form, spins only) on the Ising model. pgmpy is not run
   there: it has no loopy BP, and the grid's junction tree has cliques of
   2^513 states.

A message update is one factor-to-variable message (2 per pair factor, 3 per
3-variable table per iteration). pgm times are the median of repeated runs
after a warm-up call (JIT compilation excluded); pgmpy runs in a subprocess
killed after ``PGMPY_LIMIT`` seconds.

Run from the repository root: ``nice -n 10 .venv/bin/python benchmarks/bench_belief_propagation.py``
(writes docs/benchmarks/belief_propagation.md; ``--quick`` runs small sizes and writes nothing).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import networkx as nx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import fmt_ms, machine_info, run_isolated, timeit, write_report  # noqa: E402

import pgm  # noqa: E402
from pgm.inference import belief_propagation as bp  # noqa: E402
from pgm.inference import exact  # noqa: E402

QUICK = "--quick" in sys.argv  # a smoke test at small sizes; writes nothing
PGMPY_LIMIT = 10.0 if QUICK else 60.0
ISING_SIDE = 32 if QUICK else 512
ISING_J = 0.3  # below the Bethe critical coupling atanh(1/3) = 0.347 of the square lattice
TOL = 1e-6


# ----------------------------------------------------------------------------- models
def spin_model(n, edges, couplings, fields):
    fg = pgm.FactorGraph()
    s = fg.add_variables("s", n, domain="spin")
    fg.add_unary(s, fields)
    fg.add_edges(edges, couplings)
    return fg


def grid_edges(rows, cols):
    ids = np.arange(rows * cols).reshape(rows, cols)
    return np.concatenate(
        [
            np.stack([ids[:, :-1].ravel(), ids[:, 1:].ravel()], axis=1),
            np.stack([ids[:-1, :].ravel(), ids[1:, :].ravel()], axis=1),
        ]
    )


def random_tree(n, rng):
    parent = np.array([rng.integers(0, i) for i in range(1, n)])
    edges = np.stack([parent, np.arange(1, n)], axis=1)
    return spin_model(n, edges, rng.normal(0, 0.5, n - 1), rng.normal(0, 0.5, n))


def spin_grid(rows, cols, rng, coupling=0.3):
    edges = grid_edges(rows, cols)
    return spin_model(
        rows * cols,
        edges,
        rng.uniform(-coupling, coupling, len(edges)),
        rng.normal(0, 0.3, rows * cols),
    )


def random_factor_graph(n, n_factors, rng, scale=0.3, connected=False):
    """``n`` 3-state variables, ``n_factors`` random 3-variable tables (entries N(0, scale)).

    With ``connected``, scopes are redrawn until every variable is in one
    connected interaction graph (pgmpy's junction tree needs that).
    """
    while True:
        scopes = np.array([rng.choice(n, 3, replace=False) for _ in range(n_factors)])
        fg = pgm.FactorGraph()
        fg.add_variables("c", n, domain=3)
        for f, scope in enumerate(scopes):
            fg.add_factor(scope, rng.normal(0, scale, (3, 3, 3)), name=f"f{f}")
        if not connected or nx.is_connected(fg.to_networkx()):
            return fg


def log_factors(fg):
    """Every term as (scope, log-potential table): unaries, pairwise edges, tables.

    Built from the compiled graph's public arrays; the input of the pgmpy
    model and of nothing else.
    """
    cg = fg.compile()
    theta = np.asarray(fg.theta)
    out = []
    for i in range(cg.n_variables):
        k = int(cg.cardinality[i])
        values = cg.state_value[cg.state_offset[i] : cg.state_offset[i] + k]
        phi = np.zeros(k)
        for t in range(cg.unary_indptr[i], cg.unary_indptr[i + 1]):
            p = int(cg.unary_param[t])
            phi += theta[p] * values if cg.unary_kind[t] == 0 else theta[p : p + k]
        out.append(([i], phi))
    for i, j, p in zip(cg.edge_i, cg.edge_j, cg.edge_param, strict=True):
        vi = cg.state_value[cg.state_offset[i] : cg.state_offset[i + 1]]
        vj = cg.state_value[cg.state_offset[j] : cg.state_offset[j + 1]]
        out.append(([int(i), int(j)], theta[p] * np.outer(vi, vj)))
    for f in range(cg.n_factors):
        scope = cg.scope[cg.scope_indptr[f] : cg.scope_indptr[f + 1]]
        shape = tuple(int(c) for c in cg.cardinality[scope])
        size = int(np.prod(shape))
        start = int(cg.table_offset[f])
        out.append(([int(s) for s in scope], -theta[start : start + size].reshape(shape)))
    return out


# ----------------------------------------------------------------------------- pgmpy
PGMPY_CODE = r"""
import json, sys, time
import numpy as np
from pgmpy.models import MarkovNetwork, FactorGraph
from pgmpy.factors.discrete import DiscreteFactor
from pgmpy.inference import BeliefPropagation, BeliefPropagationWithMessagePassing
data = np.load(sys.argv[1]); method = sys.argv[2]
cards, indptr, scope = data["cards"], data["indptr"], data["scope"]
tindptr, tables = data["tindptr"], data["tables"]
names = [f"x{i}" for i in range(cards.shape[0])]
factors, shift = [], 0.0
for f in range(indptr.shape[0] - 1):
    sc = scope[indptr[f]:indptr[f + 1]]
    t = tables[tindptr[f]:tindptr[f + 1]]
    shift += t.max()  # potentials scaled by exp(-max): no overflow; log Z adds it back
    factors.append(DiscreteFactor([names[s] for s in sc], [int(cards[s]) for s in sc],
                                  np.exp(t - t.max())))
start = time.perf_counter()
if method == "jt":
    model = MarkovNetwork()
    model.add_nodes_from(names)
    for fac in factors:
        v = fac.variables
        model.add_edges_from([(v[a], v[b]) for a in range(len(v)) for b in range(a + 1, len(v))])
    model.add_factors(*factors)
    inf = BeliefPropagation(model)
    inf.calibrate()
    beliefs = inf.get_clique_beliefs()
    home = {}
    for clique in beliefs:
        for v in clique:
            home.setdefault(v, clique)
    marg = []
    for v in names:
        b = beliefs[home[v]]
        m = b.marginalize([u for u in b.variables if u != v], inplace=False)
        marg.append((m.values / m.values.sum()).tolist())
    any_clique = next(iter(beliefs.values()))
    log_z = float(np.log(any_clique.values.sum()) + shift)
else:
    model = FactorGraph()
    model.add_nodes_from(names)
    model.add_factors(*factors)
    for fac in factors:
        model.add_edges_from([(v, fac) for v in fac.variables])
    inf = BeliefPropagationWithMessagePassing(model)
    res = inf.query(names)
    marg = [(res[v].values / res[v].values.sum()).tolist() for v in names]
    log_z = None
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "marginals": marg, "log_z": log_z}))
"""


def run_pgmpy(fg, method):
    terms = log_factors(fg)
    cards = fg.compile().cardinality
    indptr = np.cumsum([0] + [len(s) for s, _ in terms])
    tindptr = np.cumsum([0] + [t.size for _, t in terms])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.npz"
        np.savez(
            path,
            cards=cards,
            indptr=indptr,
            scope=np.concatenate([s for s, _ in terms]),
            tindptr=tindptr,
            tables=np.concatenate([t.ravel() for _, t in terms]),
        )
        return run_isolated(PGMPY_CODE, timeout=PGMPY_LIMIT, args=(path, method))


def pgmpy_cell(out):
    if out is None:
        return fmt_ms(None, PGMPY_LIMIT)
    if "error" in out:
        return f"failed: {out['error']}"
    return fmt_ms(out["seconds"])


def status(result):
    return "converged" if result.converged else "not converged"


def padded(marginals, max_k):
    out = np.zeros((len(marginals), max_k))
    for i, row in enumerate(marginals):
        out[i, : len(row)] = row
    return out


# ----------------------------------------------------------------------------- numpy reference
def numpy_ising_bp(side, couplings_h, couplings_v, fields, n_iter):
    """Flooding sum-product BP on a spin grid in cavity-field form, vectorised.

    ``u[d]`` holds the message (a field: m(+1) - m(-1) = 2u) arriving at each
    site from its neighbour in direction d (0 left, 1 right, 2 up, 3 down);
    the update is ``u_{i->j} = atanh(tanh(J_ij) tanh(h_i + sum_{k != j} u_{k->i}))``.
    Returns ``P(s_i = +1)`` of shape (side, side).
    """
    u = np.zeros((4, side, side))
    tj_h, tj_v = np.tanh(couplings_h), np.tanh(couplings_v)  # (side, side-1), (side-1, side)
    for _ in range(n_iter):
        total = fields + u.sum(axis=0)
        new = np.zeros_like(u)
        # message into (r, c) from the left neighbour (r, c-1): cavity of (r, c-1) without
        # what (r, c) sent it, which arrived at (r, c-1) from its right
        new[0][:, 1:] = np.arctanh(tj_h * np.tanh(total[:, :-1] - u[1][:, :-1]))
        new[1][:, :-1] = np.arctanh(tj_h * np.tanh(total[:, 1:] - u[0][:, 1:]))
        new[2][1:, :] = np.arctanh(tj_v * np.tanh(total[:-1, :] - u[3][:-1, :]))
        new[3][:-1, :] = np.arctanh(tj_v * np.tanh(total[1:, :] - u[2][1:, :]))
        u = new
    return 1.0 / (1.0 + np.exp(-2.0 * (fields + u.sum(axis=0))))


# ----------------------------------------------------------------------------- sections
def section_trees(rng):
    rows = []
    for n in (200,) if QUICK else (200, 2000):
        fg = random_tree(n, rng)
        t = timeit(lambda fg=fg: bp.run(fg, tol=1e-10), repeats=5)
        r = t["result"]
        cells = [f"{n}", f"{fmt_ms(t['median'])} ({r.n_iter} sweeps)"]
        for method in ("jt", "mp"):
            if method == "mp" and n > 200:
                cells.append("not run (recursive per-variable query, O(n^2))")
                continue
            out = run_pgmpy(fg, method)
            cell = pgmpy_cell(out)
            if out is not None and "error" not in out:
                err = np.abs(padded(out["marginals"], 2) - r.marginals).max()
                cell += f", max abs diff {err:.1e}"
            cells.append(cell)
        rows.append("| " + " | ".join(cells) + " |")
    return (
        "### Random trees (spins, couplings and fields N(0, 0.5)): exact for both\n\n"
        "| variables | pgm `belief_propagation.run` (tol 1e-10) | pgmpy `BeliefPropagation` "
        "(junction tree, calibrate + all marginals) | pgmpy `BeliefPropagationWithMessagePassing` "
        "(query all) |\n|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )


def section_small_loopy(rng):
    rows = []
    sizes = ((4, 5), (8, 8)) if QUICK else ((4, 5), (8, 8), (12, 12), (16, 16))
    cases = [(f"{r} x {c} spin grid", spin_grid(r, c, rng)) for r, c in sizes]
    cases.append(
        (
            "random factor graph: 14 3-state variables, 10 3-variable tables (connected)",
            random_factor_graph(14, 10, rng, connected=True),
        )
    )
    killed = False
    for label, fg in cases:
        t = timeit(lambda fg=fg: bp.run(fg, tol=TOL), repeats=5)
        r = t["result"]
        is_grid = "grid" in label
        if killed and is_grid:
            out, cell = None, "not run (a smaller grid already exceeded the limit)"
        else:
            out = run_pgmpy(fg, "jt")
            cell = pgmpy_cell(out)
            killed = killed or (out is None and is_grid)
        cells = [label, f"{fmt_ms(t['median'])} ({r.n_iter} sweeps)", cell]
        if out is not None and "error" not in out:
            truth = padded(out["marginals"], fg.compile().max_cardinality)
            cells += [
                f"{np.abs(truth - r.marginals).max():.1e}",
                f"{abs(r.log_z - out['log_z']):.1e}",
            ]
        elif fg.compile().log10_n_states <= 7:  # pgmpy gave up: exact enumeration instead
            cells += [
                f"{np.abs(exact.marginals(fg) - r.marginals).max():.1e}",
                f"{abs(r.log_z - exact.log_partition(fg)):.1e}",
            ]
        else:
            cells += ["n/a", "n/a"]
        rows.append("| " + " | ".join(cells) + " |")
    return (
        "### Loopy models pgmpy's junction tree can still do: loopy BP against exact\n\n"
        "Spin grids: couplings uniform in [-0.3, 0.3], fields N(0, 0.3). Random factor graph: "
        f"tables N(0, 0.3). pgm: sequential schedule, tol {TOL:g}. Errors are pgm's loopy BP "
        "against pgmpy's exact junction-tree answer (or, where pgmpy was killed, "
        "against `pgm.inference.exact` enumeration when the model has at most 10^7 states).\n\n"
        "| model | pgm loopy BP | pgmpy `BeliefPropagation` (junction tree, exact) | "
        "max marginal error | log Z error (Bethe) |\n|---|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n"
    )


def section_ising(rng):
    side = ISING_SIDE
    n = side * side
    edges = grid_edges(side, side)
    fields = rng.normal(0, 0.1, n)
    fg = spin_model(n, edges, np.full(len(edges), ISING_J), fields)
    t0 = time.perf_counter()
    fg.compile()
    compile_s = time.perf_counter() - t0
    n_messages = 2 * len(edges)
    rows = []
    answers = {}
    for schedule in ("sequential", "parallel"):
        bp.run(fg, schedule=schedule, max_iter=2)  # warm-up (JIT)
        short = timeit(
            lambda s=schedule: bp.run(fg, schedule=s, max_iter=1, tol=0.0), repeats=3, warmup=0
        )
        long = timeit(
            lambda s=schedule: bp.run(fg, schedule=s, max_iter=11, tol=0.0), repeats=3, warmup=0
        )
        per_iter = (long["median"] - short["median"]) / 10
        conv = timeit(lambda s=schedule: bp.run(fg, schedule=s, tol=TOL), repeats=1, warmup=0)
        r = conv["result"]
        answers[schedule] = r.marginals[:, 1]
        damping = " (damping 0.5)" if schedule == "parallel" else ""
        rows.append(
            f"| pgm `belief_propagation.run`, {schedule}{damping} | {per_iter * 1e3:.1f} ms | "
            f"{n_messages / per_iter:.3g} | {r.n_iter} ({status(r)}) "
            f"| {fmt_ms(conv['median'])} |"
        )
    ch = np.full((side, side - 1), ISING_J)
    cv = np.full((side - 1, side), ISING_J)
    f2 = fields.reshape(side, side)
    numpy_ising_bp(side, ch, cv, f2, 1)
    short = timeit(lambda: numpy_ising_bp(side, ch, cv, f2, 1), repeats=3, warmup=0)
    long = timeit(lambda: numpy_ising_bp(side, ch, cv, f2, 11), repeats=3, warmup=0)
    per_iter = (long["median"] - short["median"]) / 10
    n_np = 300
    conv = timeit(lambda: numpy_ising_bp(side, ch, cv, f2, n_np), repeats=1, warmup=0)
    rows.append(
        f"| vectorised numpy flooding BP (cavity fields, undamped) | {per_iter * 1e3:.1f} ms | "
        f"{n_messages / per_iter:.3g} | {n_np} (fixed) | {fmt_ms(conv['median'])} |"
    )
    diff_np = np.abs(conv["result"].ravel() - answers["sequential"]).max()
    diff_sched = np.abs(answers["parallel"] - answers["sequential"]).max()
    return (
        f"### {side} x {side} Ising model ({n:,} spins, {len(edges):,} edges, J = {ISING_J}, "
        f"fields N(0, 0.1))\n\n"
        f"`fg.compile()` of this graph: {compile_s:.1f} s (once per structure). Per-iteration "
        "time from runs of 1 and 11 iterations (their difference / 10, which removes the "
        "fixed cost of building the BP structure and the Bethe free energy); the last column "
        f"is one whole run to tol {TOL:g} (numpy: a fixed number of iterations).\n\n"
        "| method | time / iteration | message updates / s | iterations | time to answer |\n"
        "|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
        f"P(s = +1) agreement: sequential vs parallel {diff_sched:.1e}, pgm vs numpy "
        f"{diff_np:.1e}. pgmpy: not run (no loopy BP; a 512 x 512 grid's junction tree has "
        "cliques of about 2^513 states).\n"
    )


def section_random_fg(rng):
    n, m = (500, 500) if QUICK else (5000, 5000)
    fg = random_factor_graph(n, m, rng)
    t0 = time.perf_counter()
    fg.compile()
    compile_s = time.perf_counter() - t0
    n_messages = 3 * m
    rows = []
    for schedule in ("sequential", "parallel"):
        bp.run(fg, schedule=schedule, max_iter=2)
        short = timeit(
            lambda s=schedule: bp.run(fg, schedule=s, max_iter=1, tol=0.0), repeats=3, warmup=0
        )
        long = timeit(
            lambda s=schedule: bp.run(fg, schedule=s, max_iter=6, tol=0.0), repeats=3, warmup=0
        )
        per_iter = (long["median"] - short["median"]) / 5
        conv = timeit(lambda s=schedule: bp.run(fg, schedule=s, tol=TOL), repeats=1, warmup=0)
        r = conv["result"]
        rows.append(
            f"| {schedule} | {per_iter * 1e3:.1f} ms | {n_messages / per_iter:.3g} | "
            f"{r.n_iter} ({status(r)}) | {fmt_ms(conv['median'])} |"
        )
    return (
        f"### Random factor graph: {n:,} 3-state variables, {m:,} random 3-variable tables "
        "(entries N(0, 0.3))\n\n"
        f"`fg.compile()` of this graph: {compile_s:.1f} s (once per structure; almost all of it "
        "is the DSATUR colouring of the interaction graph for the Gibbs sampler, in networkx, "
        "which grows faster than linearly and is why this graph is not larger).\n\n"
        "| pgm schedule | time / iteration | message updates / s | iterations | time to answer |\n"
        "|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
        "A table message sums over the 27 entries of its factor, so one costs about "
        "as much as a dozen binary pair messages. pgmpy: not run (no loopy BP; the "
        "junction tree of a random graph this size is intractable).\n"
    )


def main():
    info = machine_info()
    rng = np.random.default_rng(2026)
    sections = []
    for section in (section_ising, section_random_fg, section_trees, section_small_loopy):
        sections.append(section(rng))
        print(sections[-1], flush=True)  # progress: each section as soon as it is done
    body = (__doc__.split("\n\n", 1)[1].rsplit("Run from", 1)[0]).strip() + "\n\n"
    body += (
        "Reproduce with `nice -n 10 .venv/bin/python benchmarks/bench_belief_propagation.py`.\n\n"
    )
    body += "\n".join(sections)
    if QUICK:
        print(body)
        return
    path = write_report("belief_propagation", "Loopy belief propagation benchmark", body, info)
    print(path.read_text())


if __name__ == "__main__":
    main()
