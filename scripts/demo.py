"""`make demo`: solve the 2-D Poisson benchmark with a KAN, compare with FD, write results.

    u = sin(pi x) sin(pi y) on [-1, 1]^2, Delta u = -2 pi^2 sin(pi x) sin(pi y), u = 0 on the boundary.

A [2, 10, 1] KAN with the default schedule (Adam warm-up, then Levenberg-Marquardt on grids
5 -> 10 -> 20 -> 40), the Dirichlet data as a hard constraint; the second-order
finite-difference solution beside it. Prints a table and writes the results folder
results/demo/ with the writer ``kanpde solve`` uses (kanpde.io.results.write_results):
model.pt, solution.vtu (u, u_exact, error), fd.vtu, solution.png, history.png,
activations.png and summary.json.

Usage: python scripts/demo.py [--out results/demo] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # problems/ beside kanpde/

import torch  # noqa: E402

import kanpde as kp  # noqa: E402
import problems  # noqa: E402
from kanpde.io.results import fd_errors, kan_row, write_results  # noqa: E402


def fd_row(module, problem) -> tuple[object, dict]:
    """The second-order FD solution on 129 x 129 nodes and its row (errors on its own nodes)."""
    start = time.perf_counter()
    fd = module.fd_solution(128)
    elapsed = time.perf_counter() - start
    return fd, {"method": "FD 2nd order (129 x 129 nodes)", "parameters": int(fd.values.size), "time_s": elapsed,
                **fd_errors(fd, problem)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/demo")
    parser.add_argument("--quick", action="store_true", help="a short schedule (smoke test)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    module = problems.get("poisson2d")
    problem = module.problem().with_hard_dirichlet()
    quick = {"schedule": [kp.Adam(20), kp.LBFGS(20, grid=5), kp.LBFGS(20, grid=10)]} if args.quick else {}
    config = kp.TrainConfig(**quick, verbose=not args.quiet)  # the defaults, sized to the model by kp.solve
    model = kp.KAN([2, 10, 1], grid=5, k=3, seed=0)
    solution = kp.solve(problem, model, config)
    errors = solution.errors()
    fd, fd_summary = fd_row(module, problem)
    rows = [kan_row(solution, errors, method="KAN [2,10,1], hard Dirichlet"), fd_summary]
    print(f"\n{'method':<32s} {'params':>7s} {'time s':>8s} {'rel L2':>10s} {'max err':>10s}")
    for r in rows:
        print(f"{r['method']:<32s} {r['parameters']:>7d} {r['time_s']:>8.2f} {r['rel_l2']:>10.2e} {r['max_abs']:>10.2e}")
    results = write_results(solution, args.out, rows=rows, fd=fd, extra={"fd": fd_summary}, errors=errors)
    print(f"wrote {results.folder}/: {', '.join(p.name for p in results.files)}")
    return results.summary


if __name__ == "__main__":
    main()
