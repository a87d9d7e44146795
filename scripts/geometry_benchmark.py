"""KAN beside P1/P2 finite elements on the geometry problems (L-shape, plate with a hole, mesh file).

For each problem and seed: the problem's recommended training (``config()``; the
whole-boundary Dirichlet condition as a hard constraint through the R-function distance
function where the problem asks for it, ``HARD``), then P1 and P2 finite elements, each
refined until its solve time reaches the KAN's training time ("equal time") or ``--max-dofs``.
All errors are relative L2 on the same dense evaluation set (``Solution.errors``).

Usage: OMP_WAIT_POLICY=PASSIVE python scripts/geometry_benchmark.py [--problems poisson_lshape] [--seeds 0 1 2]
       [--scale 1.0] [--threads 2]
Writes results/geometry_benchmark.json and .md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import kanpde as kp  # noqa: E402
import problems  # noqa: E402
from kanpde.files import atomic_write  # noqa: E402

DEFAULT = ["poisson_plate_hole", "poisson_lshape", "laplace_mesh"]


def scaled(config: kp.TrainConfig, scale: float, seed: int) -> kp.TrainConfig:
    stages = [dataclasses.replace(stage, steps=max(1, int(stage.steps * scale))) for stage in config.schedule]
    return dataclasses.replace(config, schedule=stages, seed=seed, verbose=False)


def kan_row(name: str, seed: int, scale: float) -> dict:
    module = problems.get(name)
    problem = module.problem()
    if getattr(module, "HARD", True):
        problem = problem.with_hard_dirichlet()
    model = module.model(seed) if hasattr(module, "model") else kp.KAN([2, 10, 1], grid=5, seed=seed)
    start = time.perf_counter()
    solution = kp.solve(problem, model, scaled(module.config(), scale, seed))
    elapsed = time.perf_counter() - start
    errors = solution.errors()
    return {"problem": name, "method": f"KAN seed {seed}", "parameters": sum(p.numel() for p in model.parameters()),
            "time_s": elapsed, "rel_l2": errors["rel_l2"], "max_abs": errors["max_abs"]}


def fem_rows(name: str, budget: float, max_dofs: int) -> list[dict]:
    module = problems.get(name)
    problem = module.problem()
    rows = []
    for order in (1, 2):
        h, best = 0.4, None
        while True:
            fem = module.fem_solution(h=h, order=order)
            errors = fem.errors(problem.exact)
            best = {"problem": name, "method": f"FEM P{order} (h={fem.h:.3g})", "parameters": fem.dofs,
                    "time_s": fem.elapsed, "rel_l2": errors["rel_l2"], "max_abs": errors["max_abs"]}
            if fem.elapsed >= budget or fem.dofs * 4 > max_dofs:
                break
            h /= 2
        rows.append(best)
    return rows


def markdown(rows: list[dict], command: str) -> str:
    lines = [f"Command: `{command}`", "", "| problem | method | parameters / dofs | time (s) | rel L2 | max error |",
             "|---|---|---:|---:|---:|---:|"]
    lines += [f"| {r['problem']} | {r['method']} | {r['parameters']} | {r['time_s']:.2f} | {r['rel_l2']:.2e} | "
              f"{r['max_abs']:.2e} |" for r in rows]
    return "\n".join(lines) + "\n"


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=DEFAULT)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every stage's iterations")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-dofs", type=int, default=400_000)
    parser.add_argument("--out", default="results")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    for name in args.problems:
        kan = [kan_row(name, seed, args.scale) for seed in args.seeds]
        for row in kan:
            print(json.dumps(row), flush=True)
        rows += kan
        budget = float(np.median([r["time_s"] for r in kan]))
        for row in fem_rows(name, budget, args.max_dofs):
            print(json.dumps(row), flush=True)
            rows.append(row)
    command = "python scripts/geometry_benchmark.py " + " ".join(argv if argv is not None else sys.argv[1:])
    out = Path(args.out)
    atomic_write(out / "geometry_benchmark.json", lambda tmp: Path(tmp).write_text(json.dumps(rows, indent=2)))
    table = markdown(rows, command.strip())
    atomic_write(out / "geometry_benchmark.md", lambda tmp: Path(tmp).write_text(table))
    print(table)
    return rows


if __name__ == "__main__":
    main()
