"""Record (``record DIR``) or compare (``compare DIR``) RBM outputs across commits.

Fits small RBMs for a grid of seeds and configurations (binary and Gaussian
visible units; CD, PCD, PT; dense and sparse input) and records the fitted
parameters, persistent chains, ``sample`` (sampled and mean), ``transform``,
``energy``, ``free_energy``, ``log_partition`` (exact and AIS), the factor
graph's parameters and a saved ``.npz`` archive. ``compare`` refits at the
current checkout, reloads the archives written by ``record`` and reports, per
quantity, whether it is bitwise equal and otherwise the largest absolute and
relative difference.

Usage: ``python benchmarks/check_rbm_regression.py record OUT_DIR`` at the
old commit, then ``python benchmarks/check_rbm_regression.py compare OUT_DIR``
at the new one.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

# the checkout this script lies in, not an installed pgm (the script's own folder
# comes first on sys.path, so without this an editable install elsewhere wins)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pgm.models import RBM  # noqa: E402

CONFIGS = {
    # name: (visible, method, algorithm, n_visible, n_hidden, density)
    "binary-cd-dense": ("binary", "cd", "dense", 12, 6, 0.5),
    "binary-pcd-sparse": ("binary", "pcd", "sparse", 12, 6, 0.15),
    "binary-pcd-auto-wide": ("binary", "pcd", "auto", 6, 10, 0.1),
    "binary-pt": ("binary", "pt", "dense", 8, 5, 0.5),
    "binary-pcd-square": ("binary", "pcd", "dense", 7, 7, 0.5),
    "gaussian-pcd": ("gaussian", "pcd", "dense", 5, 6, None),
    "gaussian-cd": ("gaussian", "cd", "dense", 6, 4, None),
    "gaussian-pt": ("gaussian", "pt", "dense", 4, 5, None),
}
SEEDS = (0, 1, 7)


def outputs(name, seed, directory):
    """Every recorded quantity of one configuration and seed."""
    visible, method, algorithm, nv, nh, density = CONFIGS[name]
    rng = np.random.default_rng(1000 + seed)
    if visible == "binary":
        X = (rng.random((60, nv)) < density).astype(float)
    else:
        X = rng.standard_normal((60, nv))
    rbm = RBM(
        n_hidden=nh, visible=visible, method=method, algorithm=algorithm, k=2,
        n_epochs=4, batch_size=10, learning_rate=0.1, n_temperatures=3,
        random_state=seed,
    ).fit(X)  # fmt: skip
    out = {
        "weights": rbm.weights_,
        "visible_bias": rbm.visible_bias_,
        "hidden_bias": rbm.hidden_bias_,
        "transform": rbm.transform(X),
        "free_energy": rbm.free_energy(X),
        "sample": rbm.sample(7, n_gibbs=5, seed=seed),
        "sample_mean": rbm.sample(7, n_gibbs=5, seed=seed, return_mean=True),
        "sample_init": rbm.sample(60, n_gibbs=3, init=X, seed=seed + 1),
        "log_z_exact": np.array(rbm.log_partition("exact")),
        "log_z_ais": np.array(rbm.log_partition("ais", seed=seed, n_chains=20, betas=200)),
        "score_samples": rbm.score_samples(X),
    }
    h = (rng.random((60, nh)) < 0.5).astype(float)
    v = X if visible == "gaussian" else (X > 0.5).astype(float)
    out["energy"] = rbm.energy(v, h)
    if hasattr(rbm, "persistent_hidden_"):
        out["persistent_hidden"] = rbm.persistent_hidden_
    if visible == "binary":
        fg = rbm.to_factor_graph()
        for key, value in fg.parameters().items():
            out[f"fg_{key}"] = np.asarray(value)
        out["fg_variables"] = np.array([len(fg.variables) if hasattr(fg, "variables") else -1])
    archive = directory / f"{name}-{seed}.model.npz"
    return rbm, out, archive, X


def main(argv):
    mode, directory = argv[1], Path(argv[2])
    directory.mkdir(parents=True, exist_ok=True)
    worst = 0
    for name in CONFIGS:
        for seed in SEEDS:
            rbm, out, archive, X = outputs(name, seed, directory)
            path = directory / f"{name}-{seed}.npz"
            if mode == "record":
                np.savez(path, **out)
                rbm.save(archive)
                continue
            with np.load(path) as f:
                old = {k: f[k] for k in f.files}
            loaded = RBM.load(archive)
            out["loaded_free_energy"] = loaded.free_energy(X)
            old["loaded_free_energy"] = old["free_energy"]
            for key in sorted(set(old) | set(out)):
                if key not in old or key not in out:
                    print(f"{name} seed {seed} {key}: only in {'new' if key in out else 'old'}")
                    worst = max(worst, 2)
                    continue
                a, b = np.asarray(old[key]), np.asarray(out[key])
                if a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b):
                    continue
                diff = float(np.max(np.abs(a - b))) if a.shape == b.shape else np.inf
                rel = diff / max(float(np.max(np.abs(a))), 1e-300) if a.shape == b.shape else np.inf
                print(
                    f"{name} seed {seed} {key}: NOT bitwise, max |diff| {diff:.3g} (rel {rel:.3g})"
                )
                worst = max(worst, 1)
    if mode == "compare":
        print("all bitwise equal" if worst == 0 else "differences listed above")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
