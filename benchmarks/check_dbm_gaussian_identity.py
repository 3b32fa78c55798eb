"""Record a unit-variance Gaussian-visible DBM fit, to compare across commits.

Run it in two checkouts (e.g. before and after a change to the Gaussian
units) and compare the files: with ``learn_sigma=False`` (the default) every
array must be bit-identical.

    python benchmarks/check_dbm_gaussian_identity.py record OUT.npz
    python benchmarks/check_dbm_gaussian_identity.py compare A.npz B.npz
"""

import sys

import numpy as np

from pgm.models import DBM


def record(path):
    rng = np.random.default_rng(0)
    X = rng.normal(0, 1, (120, 5)) + np.array([1.0, -1.0, 0.0, 2.0, 0.5])
    dbm = DBM(
        (4, 3),
        visible="gaussian",
        n_iter=4,
        n_pretrain_iter=3,
        batch_size=20,
        n_particles=20,
        random_state=0,
    ).fit(X)
    arrays = {f"weights_{l}": w for l, w in enumerate(dbm.weights_)}
    arrays.update({f"biases_{l}": b for l, b in enumerate(dbm.biases_)})
    np.savez(
        path,
        free_energy=dbm.free_energy(X),
        log_z=dbm.log_partition(),
        samples=dbm.sample(5, n_gibbs=10, seed=1),
        bound=dbm.log_likelihood_lower_bound(X),
        **arrays,
    )


def compare(a_path, b_path):
    a, b = np.load(a_path), np.load(b_path)
    if sorted(a.files) != sorted(b.files):
        print(f"different keys: {sorted(a.files)} vs {sorted(b.files)}")
        return 1
    bad = [k for k in a.files if not np.array_equal(a[k], b[k])]
    print("bit-identical" if not bad else f"differ: {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "record":
        record(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
