"""J^T J of a Levenberg-Marquardt iteration: the dense product, scipy's CSR product and kanpde's supported
gram (``lm.gram``: pieces of 1024 rows, each a dense product on the columns it touches), side by side.

For each grid, the residual Jacobian J of helmholtz2d (a [2, 10, 1] KAN, hard Dirichlet data) on N
Sobol points (kept in the trainer's local order) is assembled once (``kanpde.train.jacobian.jacobian``); then
``J.T @ J``, the CSR product and ``lm.gram(J)`` are timed alternately in one process, with J's fill (the share
of nonzero entries), the ratios to the dense product and the largest difference relative to max|J^T J|.

Usage: OMP_WAIT_POLICY=PASSIVE python scripts/bench_gram.py [--grids 20 40 80 120] [--points 5000 20000] [--json]

``--json`` writes docs/benchmarks/gram.json, which docs/benchmarks/performance.md shows
(``scripts/matfree_acceptance.py --table-only`` regenerates the page).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import scipy.sparse  # noqa: E402
import torch  # noqa: E402

import kanpde as kp  # noqa: E402
import problems  # noqa: E402
from kanpde.train import lm  # noqa: E402
from kanpde.files import atomic_write  # noqa: E402
from kanpde.train.trainer import Trainer  # noqa: E402

JSON = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "gram.json"


def jacobian(grid: int, points: int) -> torch.Tensor:
    """J of helmholtz2d's residual vector for a fresh [2, 10, 1] KAN on ``grid``, ``(points, P)``."""
    model = kp.KAN([2, 10, 1], grid=grid, seed=0).double()
    config = kp.TrainConfig(interior_points=points, schedule=[kp.LM(1, grid=grid)], seed=0, verbose=False)
    trainer = Trainer(problems.load_problem("helmholtz2d"), model, config)
    with torch.enable_grad():
        return lm.jacobian(trainer)[1]


def best_time(fn, repeats: int) -> tuple[float, torch.Tensor]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", type=int, nargs="+", default=[20, 40, 80, 120])
    parser.add_argument("--points", type=int, nargs="+", default=[5_000, 20_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="write docs/benchmarks/gram.json")
    args = parser.parse_args(argv)
    load = round(os.getloadavg()[0], 2)
    torch.set_num_threads(args.threads)
    print(f"float64, {args.threads} threads; seconds, best of {args.repeats}; ratios to the dense product")
    print(f"{'N':>6s} {'grid':>5s} {'P':>5s} {'fill':>6s} {'dense s':>8s} {'csr s':>7s} {'ratio':>6s} "
          f"{'supported s':>11s} {'ratio':>6s} {'rel diff':>9s}")
    rows = []
    for n in args.points:
        for grid in args.grids:
            J = jacobian(grid, n)
            dense, reference = best_time(lambda: J.T @ J, args.repeats)
            csr = scipy.sparse.csr_matrix(J.numpy())
            sparse, _ = best_time(lambda: torch.from_numpy((csr.T @ csr).toarray()), args.repeats)
            supported, result = best_time(lambda: lm.gram(J), args.repeats)
            row = {"points": n, "grid": grid, "params": J.shape[1], "fill": float((J != 0).double().mean()),
                   "dense_s": dense, "sparse_s": sparse, "supported_s": supported,
                   "rel_diff": float((result - reference).abs().max() / reference.abs().max())}
            rows.append(row)
            print(f"{n:6d} {grid:5d} {row['params']:5d} {row['fill']:6.1%} {dense:8.3f} {sparse:7.3f} "
                  f"{sparse / dense:6.2f} {supported:11.3f} {supported / dense:6.2f} {row['rel_diff']:9.1e}", flush=True)
    if args.json:
        payload = {"command": "python scripts/bench_gram.py " + " ".join(argv if argv is not None else sys.argv[1:]),
                   "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "threads": args.threads,
                   "repeats": args.repeats, "load": load, "rows": rows}
        atomic_write(JSON, lambda tmp: Path(tmp).write_text(json.dumps(payload, indent=1)))
    return rows


if __name__ == "__main__":
    main()
