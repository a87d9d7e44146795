"""Laplace on an annulus mesh with Dirichlet data on both circles, on the default (hard) path.

The mesh: :func:`mesh_distance_cost.annulus_mesh` (0.5 <= |x| <= 1, 128 nodes per circle,
32 rings: 8192 triangles; sides "inner" and "outer"). Exact solution
``u = exp(x) cos(y) + log(|x|)`` (harmonic); the data on "inner" and "outer" are given as two
different functions, so the two-side (transfinite) lift is used. Solved with
``kp.solve(problem, kp.KAN([2, 10, 1]), kp.TrainConfig())`` (verbose: the progress bars show the
seconds per LM iteration of each stage); prints rel L2 and the total time.

Usage:  python scripts/annulus_laplace.py [--seed 0] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "scripts"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import kanpde as kp  # noqa: E402
from mesh_distance_cost import annulus_mesh  # noqa: E402


def exact(x: torch.Tensor) -> torch.Tensor:
    """u = exp(x) cos(y) + log|x|, ``(N, 1)``."""
    return torch.exp(x[:, :1]) * torch.cos(x[:, 1:]) + 0.5 * torch.log((x ** 2).sum(1, keepdim=True))


def inner_data(x):
    return exact(x)


def outer_data(x):
    return exact(x)


def problem(around: int = 128, rings: int = 32) -> kp.Problem:
    domain = annulus_mesh(around, rings)
    return kp.Problem(domain, lambda x, u: u.laplacian(),
                      [kp.Dirichlet(inner_data, on="inner"), kp.Dirichlet(outer_data, on="outer")],
                      exact=exact, name="annulus_laplace")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    solution = kp.solve(problem(), kp.KAN([2, 10, 1], seed=args.seed), kp.TrainConfig(seed=args.seed, verbose=True))
    seconds = time.perf_counter() - start
    errors = solution.errors()
    print(f"annulus Laplace: rel L2 {errors['rel_l2']:.3e}, max abs {errors['max_abs']:.3e}, {seconds:.1f} s")
    return {"rel_l2": errors["rel_l2"], "seconds": seconds}


if __name__ == "__main__":
    main()
