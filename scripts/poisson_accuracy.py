"""Accuracy and time of the default config on the 2-D Poisson benchmark.

u = sin(pi x) sin(pi y) on [-1, 1]^2, zero Dirichlet data, [2, 10, 1] KAN, 2 threads.
Rows: the Dirichlet data as a hard constraint (kanpde's recommended setup) and as a
soft loss term (weighted like pykan's example: pde 0.01), and the FD baseline.

Usage: OMP_WAIT_POLICY=PASSIVE python scripts/poisson_accuracy.py [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import math
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import kanpde as kp  # noqa: E402
from kanpde.pde.metrics import error_metrics  # noqa: E402

PI = math.pi


def exact(x):
    return torch.sin(PI * x[:, :1]) * torch.sin(PI * x[:, 1:])


def pde(x, u):
    return u.laplacian() + 2 * PI ** 2 * exact(x)


def run(hard: bool, seed: int) -> dict:
    problem = kp.Problem(kp.Rectangle((-1, -1), (1, 1)), pde, [kp.Dirichlet(0.0, hard=hard)], exact=exact,
                         name="poisson2d")
    config = kp.TrainConfig(seed=seed, verbose=False, weights={} if hard else {"pde": 0.01})
    model = kp.KAN([2, 10, 1], grid=5, k=3, seed=seed)
    start = time.perf_counter()
    solution = kp.solve(problem, model, config)
    return {"time": time.perf_counter() - start, **solution.errors()}


def fd_row(n: int = 128) -> dict:
    start = time.perf_counter()
    sol = kp.fd.poisson(lambda x: -2 * PI ** 2 * exact(x), (-1, -1), (1, 1), n)  # torch points in
    elapsed = time.perf_counter() - start
    points = sol.points()
    truth = np.sin(PI * points[:, 0]) * np.sin(PI * points[:, 1])
    return {"time": elapsed, **error_metrics(sol.values.ravel(), truth)}


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--soft", action="store_true", help="also run the soft-constraint variant")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    variants = [True, False] if args.soft else [True]
    print(f"{'method':<34s} {'seed':>4s} {'time s':>8s} {'rel L2':>10s} {'max abs':>10s}")
    for hard in variants:
        for seed in args.seeds:
            row = {"method": f"KAN [2,10,1] {'hard' if hard else 'soft'} Dirichlet", "seed": seed, **run(hard, seed)}
            rows.append(row)
            print(f"{row['method']:<34s} {seed:>4d} {row['time']:8.1f} {row['rel_l2']:10.2e} {row['max_abs']:10.2e}")
    row = {"method": "FD 2nd order, 129x129 nodes", "seed": 0, **fd_row()}
    rows.append(row)
    print(f"{row['method']:<34s} {'-':>4s} {row['time']:8.3f} {row['rel_l2']:10.2e} {row['max_abs']:10.2e}")
    return rows


if __name__ == "__main__":
    main()
