"""Check the LM memory model: a stage's measured peak RSS against :func:`kanpde.train.lm.memory_model`.

    growth = peak RSS during the LM stage - RSS after building the trainer  <=  bound = memory_model(...)[kind]

For each (grid, points, solver), a subprocess builds helmholtz2d's trainer (a [2, 10, 1] KAN, hard Dirichlet
data), takes its RSS, runs ``LM(iterations)`` with the solver forced, and reports the peak RSS
(``ru_maxrss``), the growth and the model's bound for the solver and preconditioner the stage chose.
Exit status 1 where a growth exceeds its bound.

Usage: python scripts/memory_bound_lm.py [--grids 40 120] [--points 20000] [--solvers dense cg] [--json F]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import kanpde as kp  # noqa: E402
import problems  # noqa: E402
from kanpde.train import lm  # noqa: E402
from kanpde.train.trainer import Trainer  # noqa: E402


def rss_bytes() -> float:
    """This process's resident set now (``/proc/self/statm``), bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(grid: int, points: int, solver: str, iterations: int) -> dict:
    problem = problems.load_problem("helmholtz2d")
    model = kp.KAN([2, 10, 1], grid=grid, seed=0).double()
    stage = kp.LM(iterations, solver=solver)
    config = kp.TrainConfig(interior_points=points, seed=0, verbose=False, balance=None, schedule=[stage])
    trainer = Trainer(problem, model, config)
    with torch.enable_grad():
        trainer.total(trainer.loss_terms())
    P = sum(p.numel() for p in trainer.trainable())
    chosen, chunk, preconditioner = lm.choose_solver(stage, trainer, P)
    rows, nonzeros = lm.row_count(trainer), lm.nonzeros_per_row(trainer, P)
    kind = preconditioner if chosen == "cg" else "dense"
    bound = lm.memory_model(rows, P, nonzeros, chunk, 1, stage.sketch)[kind]
    before = rss_bytes()
    trainer.run()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"grid": grid, "points": points, "solver": solver, "kind": kind, "params": P, "rows": rows,
            "nonzeros_per_row": nonzeros, "rss_before_gib": before / 2 ** 30, "peak_rss_gib": peak / 2 ** 30,
            "growth_gib": (peak - before) / 2 ** 30, "bound_gib": bound / 2 ** 30, "within": peak - before <= bound}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", type=int, nargs="+", default=[40, 120])
    parser.add_argument("--points", type=int, nargs="+", default=[20_000])
    parser.add_argument("--solvers", nargs="+", default=["dense", "cg"], choices=["dense", "cg"])
    parser.add_argument("--iterations", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default=None)
    parser.add_argument("--one", nargs=3, metavar=("GRID", "POINTS", "SOLVER"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.one:
        grid, points, solver = args.one
        print("RESULT " + json.dumps(measure(int(grid), int(points), solver, args.iterations)))
        return 0
    rows = []
    for points in args.points:
        for grid in args.grids:
            for solver in args.solvers:
                command = [sys.executable, __file__, "--one", str(grid), str(points), solver,
                           "--iterations", str(args.iterations), "--threads", str(args.threads)]
                done = subprocess.run(command, capture_output=True, text=True)
                found = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
                row = json.loads(found[-1][7:]) if found else {"grid": grid, "points": points, "solver": solver,
                                                               "error": done.stderr[-1500:], "within": False}
                print(json.dumps(row), flush=True)
                rows.append(row)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0 if all(r["within"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
