"""Measure how well ``DBM(learn_sigma=True)`` recovers per-unit data variances.

Data: N = 2000 rows of independent N(mu_i, s_i^2) units (no hidden
structure), a 3-3-2 Gaussian-visible DBM, 8 seeds. Prints, per setting, the
largest relative error of the learned sigma against the sample standard
deviation (the maximum-likelihood answer when the hidden units are unused)
and against the true s (which adds the sampling error, sd ~ s / sqrt(2N)).
The numbers quoted in tests/models/test_dbm_sigma.py come from this script.

Settings: pretraining only, joint training only (from visible biases at the
data mean, sigma = 1), both; each with weight_decay = 1.0 (hidden units
pinned near zero), and the default weight decay, where the binary hidden
units absorb part of the variance (a mixture of shifted Gaussians with a
smaller sigma is almost as likely under CD/PCD training); and both phases on
the same data shifted by +100 (the centred log-variance step at work).

    python benchmarks/check_dbm_learn_sigma.py
"""

import os
import time

import numpy as np

from pgm.models import DBM

S = np.array([0.5, 1.6, 0.4])
MU = np.array([0.5, -0.3, 0.2])
N = 2000
COMMON = dict(visible="gaussian", learn_sigma=True, batch_size=50, n_particles=100)


def data(seed, shift=0.0):
    return shift + MU + S * np.random.default_rng(seed).standard_normal((N, 3))


def fit_pretrain_and_joint(X, seed, weight_decay, n_pretrain_iter, n_iter):
    return DBM(
        (3, 2),
        n_pretrain_iter=n_pretrain_iter,
        n_iter=n_iter,
        weight_decay=weight_decay,
        random_state=seed,
        **COMMON,
    ).fit(X)


def fit_joint_only(X, seed, weight_decay, n_iter=20, learning_rate=0.05):
    init = np.random.default_rng(100 + seed)
    dbm = DBM.from_parameters(
        [init.normal(0, 0.01, (3, 3)), init.normal(0, 0.01, (3, 2))],
        [X.mean(axis=0), np.zeros(3), np.zeros(2)],
        visible="gaussian",
    )
    dbm.set_params(learning_rate=learning_rate, weight_decay=weight_decay, n_iter=n_iter, **COMMON)
    dbm._joint(dbm._core, X, np.random.default_rng(seed))
    dbm._store(dbm._core)
    return dbm


def main():
    print(f"load average {os.getloadavg()} (timings under load)")
    settings = [
        ("pretrain 20 epochs", lambda X, s, wd: fit_pretrain_and_joint(X, s, wd, 20, 0)),
        ("joint 20 epochs, lr 0.05", fit_joint_only),
        ("pretrain 20 + joint 20", lambda X, s, wd: fit_pretrain_and_joint(X, s, wd, 20, 20)),
    ]
    for weight_decay, shift in ((1.0, 0.0), (1e-4, 0.0), (1.0, 100.0)):
        for name, fit in settings if shift == 0.0 else settings[2:]:
            t = time.perf_counter()
            vs_sd, vs_s = [], []
            for seed in range(8):
                X = data(seed, shift)
                sigma = fit(X, seed, weight_decay).sigma_
                vs_sd.append(sigma / X.std(axis=0) - 1)
                vs_s.append(sigma / S - 1)
            vs_sd, vs_s = np.array(vs_sd), np.array(vs_s)
            print(
                f"weight_decay {weight_decay:g}, mean shift {shift:g}, {name}: "
                f"max |sigma/sd - 1| per unit "
                f"{np.round(np.abs(vs_sd).max(axis=0), 4)}, mean sigma/sd - 1 "
                f"{np.round(vs_sd.mean(axis=0), 4)}, max |sigma/s - 1| "
                f"{np.round(np.abs(vs_s).max(axis=0), 4)} ({time.perf_counter() - t:.1f} s)"
            )
    print(f"5 / sqrt(2 N) = {5 / np.sqrt(2 * N):.4f}")


if __name__ == "__main__":
    main()
