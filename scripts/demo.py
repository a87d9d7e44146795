"""`make demo`: solve the 2-D Poisson benchmark with a KAN, compare with FD, write results.

    u = sin(pi x) sin(pi y) on [-1, 1]^2, Delta u = -2 pi^2 sin(pi x) sin(pi y), u = 0 on the boundary.

A [2, 10, 1] KAN with the default schedule (Adam warm-up, then Levenberg-Marquardt on grids
5 -> 10 -> 20 -> 40), the Dirichlet data as a hard constraint; the second-order
finite-difference solution beside it. Prints a table and writes to results/demo/:
solution.vtu (u, u_exact, error), solution.png, history.png, activations.png,
summary.json and model.pt.

Usage: python scripts/demo.py [--out results/demo] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # problems/ beside kanpde/

import numpy as np  # noqa: E402
import torch  # noqa: E402

import kanpde as kp  # noqa: E402
import problems  # noqa: E402
from kanpde.io.export import export_solution  # noqa: E402
from kanpde.io.plotting import plot_activations, plot_history, plot_solution, save_figure  # noqa: E402
from kanpde.files import atomic_write  # noqa: E402


def fd_row(module) -> dict:
    start = time.perf_counter()
    fd = module.fd_solution(128)
    elapsed = time.perf_counter() - start
    truth = module.exact(torch.as_tensor(fd.points())).numpy().ravel()
    err = fd.values.ravel() - truth
    return {"method": "FD 2nd order (129 x 129 nodes)", "parameters": int(fd.values.size), "time_s": elapsed,
            "rel_l2": float(np.linalg.norm(err) / np.linalg.norm(truth)), "max_abs": float(np.abs(err).max())}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/demo")
    parser.add_argument("--quick", action="store_true", help="a short schedule (smoke test)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    out = Path(args.out)
    module = problems.get("poisson2d")
    problem = module.problem().with_hard_dirichlet()
    quick = {"schedule": [kp.Adam(20), kp.LBFGS(20, grid=5), kp.LBFGS(20, grid=10)]} if args.quick else {}
    config = kp.TrainConfig(**quick, verbose=not args.quiet)  # the defaults, sized to the model by kp.solve
    model = kp.KAN([2, 10, 1], grid=5, k=3, seed=0)
    solution = kp.solve(problem, model, config)
    errors = solution.errors()
    kan = {"method": "KAN [2,10,1], hard Dirichlet", "parameters": sum(p.numel() for p in model.parameters()),
           "time_s": solution.elapsed, **errors}
    rows = [kan, fd_row(module)]
    print(f"\n{'method':<32s} {'params':>7s} {'time s':>8s} {'rel L2':>10s} {'max err':>10s}")
    for r in rows:
        print(f"{r['method']:<32s} {r['parameters']:>7d} {r['time_s']:>8.2f} {r['rel_l2']:>10.2e} {r['max_abs']:>10.2e}")
    export_solution(solution, out / "solution.vtu")
    save_figure(plot_solution(solution), out / "solution.png")
    save_figure(plot_history(solution).figure, out / "history.png")
    save_figure(plot_activations(model), out / "activations.png")
    solution.save(out / "model.pt")
    summary = {"problem": problem.name, "rows": rows, "config": solution.config}
    atomic_write(out / "summary.json", lambda tmp: Path(tmp).write_text(json.dumps(summary, indent=2, default=str)))
    print(f"wrote {out}/: solution.vtu, solution.png, history.png, activations.png, summary.json, model.pt")
    return summary


if __name__ == "__main__":
    main()
