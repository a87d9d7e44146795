"""Per-step time of the jet path vs nested autograd vs an MLP, over batch and grid sizes.

One training step = Laplacian residual of a [2, 10, 1] KAN at N points + backward
(see scripts/bench_derivatives.py, whose timing functions this reuses). Every row
times the three sides in one run and prints the ratios to the jet path.

Usage: OMP_WAIT_POLICY=PASSIVE python scripts/bench_speed.py [--points 1000 10000 50000] [--grids 5 20 80]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

from bench_derivatives import laplacian_autograd, laplacian_jet, step_time  # noqa: E402
from kanpde import KAN, MLP  # noqa: E402


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=[1_000, 10_000, 50_000])
    parser.add_argument("--grids", type=int, nargs="+", default=[5, 20, 80])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float64")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    mlp = MLP([2, 64, 64, 1], seed=0).to(dtype)
    print(f"{args.dtype}, {args.threads} threads; ms per step, ratio = time / jet time")
    print(f"{'N':>7s} {'grid':>5s} {'jet ms':>8s} {'autograd ms':>12s} {'ratio':>6s} {'MLP ms':>8s} {'ratio':>6s}")
    rows = []
    for n in args.points:
        x = torch.rand(n, 2, dtype=dtype) * 2 - 1
        mlp_time = step_time(mlp, laplacian_autograd, x, args.repeats)
        for grid in args.grids:
            kan = KAN([2, 10, 1], grid=grid, seed=0).to(dtype)
            jet = step_time(kan, laplacian_jet, x, args.repeats)
            nested = step_time(kan, laplacian_autograd, x, args.repeats)
            rows.append({"points": n, "grid": grid, "jet": jet, "autograd": nested, "mlp": mlp_time})
            print(f"{n:>7d} {grid:>5d} {jet * 1e3:8.2f} {nested * 1e3:12.2f} {nested / jet:6.1f} "
                  f"{mlp_time * 1e3:8.2f} {mlp_time / jet:6.1f}")
    return rows


if __name__ == "__main__":
    main()
