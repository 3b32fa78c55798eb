"""One-off check: the shape prior's RBM on the layered engine against the old private code.

Loads ``pgm/models/shape_prior.py`` as it was at ``OLD_COMMIT`` (before the
shape RBM moved onto :class:`pgm.layered.model.LayeredModel`) through
``git show``, and compares, for a few seeds and sizes: ``train_softmax_rbm``
(CD-1, CD-3, PCD-1, PCD-2), ``sample_shapes``, ``energy``, ``free_energy``,
``exact_conditional``, ``mean_field`` and the joint objective and gradient
(mean-field and exact). Prints, per quantity, whether old and new are
bitwise equal and otherwise the largest absolute difference.

Usage: ``python benchmarks/check_shape_prior_layered.py [OLD_COMMIT]`` from a
git checkout.
"""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from pgm.models import grid_edges  # noqa: E402
from pgm.models import shape_prior as new  # noqa: E402

OLD_COMMIT = sys.argv[1] if len(sys.argv) > 1 else "c7812e3"


def _old_module():
    src = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{OLD_COMMIT}:pgm/models/shape_prior.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    mod = types.ModuleType("old_shape_prior")
    exec(compile(src, "old_shape_prior.py", "exec"), mod.__dict__)
    return mod


def _diff(a, b):
    a = [np.asarray(t, dtype=np.float64) for t in (a if isinstance(a, tuple) else (a,))]
    b = [np.asarray(t, dtype=np.float64) for t in (b if isinstance(b, tuple) else (b,))]
    bitwise = all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    worst = max(float(np.max(np.abs(x - y), initial=0.0)) for x, y in zip(a, b, strict=True))
    return bitwise, worst


def _models(old, seed, k, cells_side, n_hidden):
    rng = np.random.default_rng(seed)
    height, width = 3, 4
    P = new.projection_matrix(height, width, cells_side)
    params = (
        rng.normal(size=(k, 3)),
        rng.normal(size=(k, k)),
        rng.normal(size=(cells_side**2, k, n_hidden)),
        rng.normal(size=n_hidden),
        P,
    )
    vb = rng.normal(size=(cells_side**2, k))
    kw = dict(visible_bias=vb, mean_field_iter=50, max_states=k ** (height * width))
    x = (rng.normal(size=(height * width, 3)), grid_edges(height, width))
    y = rng.integers(0, k, size=(4, height * width))
    h = (rng.random((4, n_hidden)) < 0.5).astype(float)
    return (
        old.ShapePriorCRF.from_parameters(*params, **kw),
        new.ShapePriorCRF.from_parameters(*params, **kw),
        x,
        y,
        h,
    )


def main():
    old = _old_module()
    rows = []
    for seed in (0, 1, 2):
        for k, side, nh in ((2, 2, 3), (3, 2, 2)):
            mo, mn, x, y, h = _models(old, seed, k, side, nh)
            tag = f"seed={seed} K={k} cells={side * side} H={nh}"
            rows.append((tag, "energy", _diff(mo.energy(x, y, h), mn.energy(x, y, h))))
            rows.append((tag, "free_energy", _diff(mo.free_energy(x, y), mn.free_energy(x, y))))
            if k == 2:
                rows.append(
                    (
                        tag,
                        "exact_conditional",
                        _diff(mo.exact_conditional(x), mn.exact_conditional(x)),
                    )
                )
            rows.append((tag, "mean_field", _diff(mo.mean_field(x)[:2], mn.mean_field(x)[:2])))
            for inference in ("mean_field", "exact") if k == 2 else ("mean_field",):
                mo.joint_inference = mn.joint_inference = inference
                batch = [(x[0], x[1], y[0])]
                ro = mo._joint_objective(mo._pack(), batch)
                rn = mn._joint_objective(mn._pack(), batch)
                rows.append((tag, f"joint objective+grad ({inference})", _diff(ro, rn)))
            rows.append(
                (
                    tag,
                    "sample_shapes(5, 40)",
                    _diff(mo.sample_shapes(5, 40, seed=seed), mn.sample_shapes(5, 40, seed=seed)),
                )
            )
            rng = np.random.default_rng(seed)
            maps = rng.dirichlet(np.ones(k), size=(30, side * side))
            for method, cd_k in (("cd", 1), ("cd", 3), ("pcd", 1), ("pcd", 2)):
                kw = dict(
                    method=method,
                    cd_k=cd_k,
                    n_epochs=15,
                    learning_rate=0.1,
                    batch_size=7,
                    weight_decay=1e-3,
                    seed=seed,
                )
                rows.append(
                    (
                        tag,
                        f"train_softmax_rbm {method}-{cd_k}",
                        _diff(
                            old.train_softmax_rbm(maps, k, nh, **kw),
                            new.train_softmax_rbm(maps, k, nh, **kw),
                        ),
                    )
                )
    # a larger grid (24 x 24 cells, as the horse benchmark) for training and sampling
    rng = np.random.default_rng(5)
    maps = rng.dirichlet(np.ones(2), size=(40, 576))
    for method in ("cd", "pcd"):
        kw = dict(method=method, n_epochs=5, batch_size=10, seed=5)
        wo = old.train_softmax_rbm(maps, 2, 20, **kw)
        wn = new.train_softmax_rbm(maps, 2, 20, **kw)
        rows.append(("K=2 cells=576 H=20", f"train_softmax_rbm {method}-1", _diff(wo, wn)))
    P = np.eye(576)
    args = (np.zeros((2, 1)), np.zeros((2, 2)), 3 * wn[0], wn[2], P)
    so = old.ShapePriorCRF.from_parameters(*args, visible_bias=wn[1]).sample_shapes(4, 100, seed=3)
    sn = new.ShapePriorCRF.from_parameters(*args, visible_bias=wn[1]).sample_shapes(4, 100, seed=3)
    rows.append(("K=2 cells=576 H=20", "sample_shapes(4, 100)", _diff(so, sn)))
    width = max(len(r[1]) for r in rows)
    n_bitwise = 0
    worst = 0.0
    for tag, name, (bitwise, d) in rows:
        n_bitwise += bitwise
        worst = max(worst, d)
        print(f"{tag:28s} {name:{width}s} {'bitwise' if bitwise else f'max |diff| {d:.3e}'}")
    print(f"{n_bitwise}/{len(rows)} bitwise equal; largest difference {worst:.3e}")


if __name__ == "__main__":
    main()
