"""The measurements behind the default size rule (kanpde/train/sizing.py): final grid and points.

Each run: ``kp.KAN([d, 10, 1], grid=5, seed=s)``, the problem as written (Dirichlet built in),
``kp.TrainConfig(interior_points=N, schedule=[kp.Adam(100)] + [kp.LM(steps, grid=g) ...], seed=s)``,
2 threads. Prints rel L2 / max error on the dense evaluation set and the time.

Usage:
    OMP_WAIT_POLICY=PASSIVE python scripts/sizing_study.py                 # the README's rows, seed 0
    OMP_WAIT_POLICY=PASSIVE python scripts/sizing_study.py --runs "poisson2d 5000 5:15,10:15,20:20,40:10,80:15"
    (a stage ``GRID:STEPS:l`` uses Levenberg's damping instead of Marquardt's)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import kanpde as kp  # noqa: E402
import problems  # noqa: E402

GRID40 = "5:15,10:15,20:20,40:10"
RUNS = [  # problem, interior points, grid:LM steps
    f"poisson2d 3000 {GRID40}",
    f"poisson2d 3000 {GRID40},80:10",
    f"poisson2d 3000 {GRID40},80:20",
    f"poisson2d 4000 {GRID40},80:15",
    f"poisson2d 5000 {GRID40},80:15",
    f"poisson3d 3000 {GRID40}",
    f"poisson3d 6000 {GRID40}",
]


def lm_stage(grid: str, steps: str, damping: str = "m") -> kp.LM:
    """``GRID:STEPS`` with Marquardt's damping, ``GRID:STEPS:l`` with Levenberg's."""
    return kp.LM(int(steps), grid=int(grid), scaling={"m": "marquardt", "l": "levenberg"}[damping])


def run(spec: str, seed: int) -> dict:
    name, points, stages = spec.split()
    schedule = [kp.Adam(100)] + [lm_stage(*stage.split(":")) for stage in stages.split(",")]
    problem = problems.load_problem(name)
    model = kp.KAN([problem.input_dim, 10, len(problem.outputs)], grid=schedule[1].grid, seed=seed)
    start = time.perf_counter()
    solution = kp.solve(problem, model, kp.TrainConfig(interior_points=int(points), schedule=schedule, seed=seed,
                                                       verbose=False))
    return {"run": spec, "seed": seed, "time_s": time.perf_counter() - start, **solution.errors()}


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", default=RUNS, help='"PROBLEM POINTS GRID:STEPS,..." each')
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    print("| run | seed | rel L2 | max error | time s |\n|---|---|---:|---:|---:|")
    for spec in args.runs:
        rows.append(run(spec, args.seed))
        r = rows[-1]
        print(f"| {spec} | {r['seed']} | {r['rel_l2']:.2e} | {r['max_abs']:.2e} | {r['time_s']:.0f} |", flush=True)
    return rows


if __name__ == "__main__":
    main()
