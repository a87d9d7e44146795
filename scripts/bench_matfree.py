"""Dense against matrix-free Levenberg-Marquardt, side by side: same problem, model, seed and threads.

Each (case, solver) runs in its own subprocess, so its peak RSS (``ru_maxrss``) is its own. Cases:

- ``poisson2d``: the problem's recommended (sized default) config, every LM stage forced to the solver;
  rel L2 and wall time.
- ``system3``: a 3-output system (three coupled Poisson equations, soft Dirichlet data) with a
  [2, 20, 3] KAN at grid 40 on 20 000 points: 10 LM iterations; seconds per iteration and the loss.
- ``helmholtz2d``: the recommended config (Adam, LM on grids 5 -> 120 at 40 000 points, one Galerkin
  iteration); ``--short`` keeps 2 iterations per LM stage and no Galerkin iteration (per-iteration ratios).
- ``poisson3d_big``: a [3, 20, 20, 1] KAN on 100 000 points in 3-D, matrix-free only (dense J alone would be
  3.9 GB in float64): a few LM iterations and the peak RSS.

Usage: OMP_WAIT_POLICY=PASSIVE python scripts/bench_matfree.py [--cases ...] [--short] [--json F]
Writes docs/benchmarks/matfree.json by default.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import kanpde as kp  # noqa: E402
import problems  # noqa: E402
from kanpde.files import atomic_write  # noqa: E402
from kanpde.train.trainer import Trainer  # noqa: E402

CASES = ("poisson2d", "system3", "helmholtz2d", "poisson3d_big")


def with_solver(config: kp.TrainConfig, solver: str, short: bool = False) -> kp.TrainConfig:
    """``config`` with every LM stage's solver forced (``short``: 2 iterations per LM stage, no Galerkin one)."""
    schedule = []
    for stage in config.schedule:
        if isinstance(stage, kp.LM):
            if short and stage.galerkin:
                continue
            stage = dataclasses.replace(stage, solver=solver, steps=min(stage.steps, 2) if short else stage.steps)
        schedule.append(stage)
    return dataclasses.replace(config, schedule=schedule, verbose=False)


def resolved(problem, model, config) -> kp.TrainConfig:
    """The config with its sized defaults resolved (what ``kp.solve`` would train with)."""
    return Trainer(problem, model, config).config


def system_problem() -> kp.Problem:
    """-lap u_i + sum_j c_ij u_j = f_i on the unit square, u = exact on the boundary (soft), three outputs."""
    pi = torch.pi

    def exact(x):
        s = torch.sin(pi * x[:, :1]) * torch.sin(pi * x[:, 1:])
        return torch.cat([s, x[:, :1] * s, torch.cos(pi * x[:, :1]) * x[:, 1:] ** 2], dim=1)

    def pde(x, u):
        v = exact(x)
        # manufactured: residual of the exact solution is zero for f = -lap v + coupling v (lap by finite formula)
        lap = torch.stack([-2 * pi ** 2 * v[:, 0],
                           -2 * pi ** 2 * v[:, 1] + 2 * pi * torch.cos(pi * x[:, 0]) * torch.sin(pi * x[:, 1]),
                           -pi ** 2 * v[:, 2] + 2 * torch.cos(pi * x[:, 0])], dim=1)
        coupling = torch.tensor([[1.0, 0.5, 0.0], [0.0, 1.0, 0.5], [0.5, 0.0, 1.0]], dtype=x.dtype)
        f = -lap + v @ coupling.T
        values = torch.cat([u[i].value for i in range(3)], dim=1)
        laps = torch.cat([u[i].laplacian() for i in range(3)], dim=1)
        return -laps + values @ coupling.T - f

    return kp.Problem(kp.Rectangle((0, 0), (1, 1)), pde, [kp.Dirichlet(exact, hard=False)], exact=exact,
                      outputs=("u", "v", "w"))


def ball_problem() -> kp.Problem:
    return problems.load_problem("poisson3d")


def run_case(case: str, solver: str, short: bool, threads: int, steps: int | None = None) -> dict:
    """One (case, solver) run in this process; ``steps``: LM iterations of system3 (default 10) and
    poisson3d_big (default 4, ``short`` 1)."""
    torch.set_num_threads(threads)
    if case == "poisson2d":
        problem, model = problems.load_problem("poisson2d"), kp.KAN([2, 10, 1], grid=5, seed=0)
        config = with_solver(resolved(problem, model, problems.get("poisson2d").config()), solver)
    elif case == "helmholtz2d":
        problem, model = problems.load_problem("helmholtz2d"), kp.KAN([2, 10, 1], grid=5, seed=0)
        config = with_solver(problems.get("helmholtz2d").config(), solver, short)
    elif case == "system3":
        problem, model = system_problem(), kp.KAN([2, 20, 3], grid=40, seed=0)
        config = kp.TrainConfig(interior_points=20_000, boundary_points=800, seed=0, verbose=False, balance=None,
                                schedule=[kp.Adam(50, lr=1e-2), kp.LM(steps or 10, solver=solver)])
    elif case == "poisson3d_big":
        problem, model = ball_problem(), kp.KAN([3, 20, 20, 1], grid=5, seed=0)
        config = kp.TrainConfig(interior_points=100_000, seed=0, verbose=False, balance=None,
                                schedule=[kp.Adam(5, lr=1e-2), kp.LM(steps or (1 if short else 4), solver=solver,
                                                                       precision="float32")])
    else:
        raise ValueError(f"unknown case {case!r}. Pick one of {CASES}")
    started = time.perf_counter()
    solution = kp.solve(problem, model, config)
    wall = time.perf_counter() - started
    records = solution.history.steps
    stages = solution.history.stages
    lm_time = sum(r["step_time"] for r in records if _is_lm(config, r))
    lm_count = sum(1 for r in records if _is_lm(config, r))
    errors = solution.errors()
    return {"case": case, "solver": solver, "wall_s": wall, "peak_rss_gib": _peak_rss_gib(),
            "rel_l2": float(errors["rel_l2"]), "final_loss": float(records[-1]["loss"]),
            "lm_iterations": lm_count, "lm_seconds": lm_time,
            "lm_seconds_per_iteration": lm_time / max(lm_count, 1),
            "lm_losses": [float(r["loss"]) for r in records if _is_lm(config, r)],
            "stage_solvers": [s.get("solver") for s in stages if "solver" in s],
            "threads": threads, "short": short}


def iteration_ab(grid: int, points: int, repeats: int, threads: int, case: str = "helmholtz2d") -> dict:
    """One LM iteration's work (assemble J, form and solve the damped system at mu = 1e-3), dense and
    matrix-free alternately on the same trainer: helmholtz2d with a [2, 10, 1] KAN at ``grid``, or ``system3``
    with a [2, 20, 3] KAN (soft boundary data on 800 points, as in :func:`run_case`);
    the matrix-free side takes the preconditioner ``LM(solver="cg")`` would choose. Best seconds of each,
    CG iterations and the steps' relative difference."""
    from kanpde.train import lm
    from kanpde.train.matfree import MatrixFree

    torch.set_num_threads(threads)
    if case == "system3":
        problem, model, boundary = system_problem(), kp.KAN([2, 20, 3], grid=grid, seed=0).double(), 800
    else:
        problem, model, boundary = problems.load_problem("helmholtz2d"), kp.KAN([2, 10, 1], grid=grid, seed=0).double(), 400
    config = kp.TrainConfig(interior_points=points, boundary_points=boundary, seed=0, verbose=False, balance=None,
                            schedule=[kp.LM(1)])
    trainer = Trainer(problem, model, config)
    n_params = sum(p.numel() for p in trainer.trainable())
    preconditioner = lm.choose_solver(kp.LM(1, solver="cg"), trainer, n_params)[2]
    times, iterations = {"dense": [], "cg": []}, []
    with torch.enable_grad():
        trainer.total(trainer.loss_terms())
        for _ in range(repeats):
            started = time.perf_counter()
            r, J = lm.jacobian(trainer)
            dense = lm.GaussNewton(J, r, "cholesky").step(1e-3)
            times["dense"].append(time.perf_counter() - started)
            del J
            started = time.perf_counter()
            r, rows = lm.jacobian(trainer, compact=True)
            system = MatrixFree(rows, r, preconditioner=preconditioner)
            step = system.step(1e-3)
            times["cg"].append(time.perf_counter() - started)
            iterations += system.iterations
            del rows, system
    best = {k: min(v) for k, v in times.items()}
    return {"case": case, "grid": grid, "points": points, "threads": threads, "params": n_params,
            "preconditioner": preconditioner, "cg_iterations": iterations, "dense_s": best["dense"],
            "cg_s": best["cg"], "ratio": best["cg"] / best["dense"],
            "step_rel_diff": float((step - dense).norm() / dense.norm())}


def _is_lm(config, record) -> bool:
    stage = record.get("stage")
    return stage is not None and 0 <= stage < len(config.schedule) and isinstance(config.schedule[stage], kp.LM)


def _peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20  # KiB on Linux


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    parser.add_argument("--solvers", nargs="+", default=["dense", "cg"], choices=["dense", "cg"])
    parser.add_argument("--short", action="store_true", help="helmholtz2d: 2 iterations per LM stage, no Galerkin")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=None, help="LM iterations of system3 / poisson3d_big")
    parser.add_argument("--json", default=str(ROOT / "docs" / "benchmarks" / "matfree.json"))
    parser.add_argument("--one", nargs=2, metavar=("CASE", "SOLVER"), help=argparse.SUPPRESS)
    parser.add_argument("--ab-case", default="helmholtz2d", choices=["helmholtz2d", "system3"])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--ab", nargs=2, type=int, metavar=("GRID", "POINTS"),
                        help="only time one LM iteration's work, dense and matrix-free alternately (--ab-case)")
    args = parser.parse_args(argv)
    if args.ab:
        print("AB " + json.dumps(iteration_ab(*args.ab, repeats=args.repeats, threads=args.threads,
                                                 case=args.ab_case)))
        return {}
    if args.one:
        print("RESULT " + json.dumps(run_case(*args.one, args.short, args.threads, args.steps)))
        return {}
    rows = []
    for case in args.cases:
        for solver in (["cg"] if case == "poisson3d_big" else args.solvers):
            command = [sys.executable, __file__, "--one", case, solver, "--threads", str(args.threads)]
            done = subprocess.run(command + (["--short"] if args.short else []), capture_output=True, text=True)
            lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
            row = json.loads(lines[-1][7:]) if lines else {"case": case, "solver": solver,
                                                            "error": done.stderr[-2000:]}
            print(json.dumps({k: v for k, v in row.items() if k != "lm_losses"}), flush=True)
            rows.append(row)
    out = {"machine": f"CPU, {args.threads} threads, shared with other jobs (wall times inflated)",
           "rows": rows, "ratios": ratios(rows)}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    atomic_write(args.json, lambda tmp: Path(tmp).write_text(json.dumps(out, indent=1)))
    print(json.dumps(out["ratios"], indent=1))
    return out


def ratios(rows: list[dict]) -> dict:
    """matrix-free / dense per case: wall, seconds per LM iteration, peak RSS, final loss."""
    by = {(r["case"], r["solver"]): r for r in rows if "error" not in r}
    out = {}
    for case in {r["case"] for r in rows}:
        dense, cg = by.get((case, "dense")), by.get((case, "cg"))
        if dense and cg:
            out[case] = {key: cg[key] / dense[key] for key in ("wall_s", "lm_seconds_per_iteration", "peak_rss_gib",
                                                              "final_loss") if dense[key]}
    return out


if __name__ == "__main__":
    main()
