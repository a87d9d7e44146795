"""Benchmark table: KAN vs MLP vs finite differences on the problems in problems/.

For each problem: a KAN [d, 10, m] trained with ``kp.TrainConfig()`` (Adam warm-up, then
Levenberg-Marquardt, refining its grid along the way; points and final grid sized to the KAN by
:mod:`kanpde.train.sizing`) and an MLP [d, 32, 32, 32, m] (tanh; more parameters than the KAN)
trained on 3000 points with Adam, then 1000 L-BFGS iterations (the MLP's budget of the first
release), both with the problem's whole-boundary Dirichlet data as a hard
constraint where it has one; and the problem's FD solver at its default resolution.
Errors are measured against the exact solution (or the reference) on a dense
evaluation set (a regular grid up to 3-D; 20 000 Halton points beyond).

A problem module with a ``config()`` (its recommended TrainConfig: schedule, points,
causal training, time windows) trains its KAN row with that instead
(``--config default`` for the common schedule above); 1-D time-dependent problems
also get a figure, results/figures/NAME.png (prediction vs reference at several
times, and the error field).

Writes results/benchmark.json and results/benchmark.md.

Usage: OMP_WAIT_POLICY=PASSIVE python scripts/benchmark.py [--problems poisson2d heat1d] [--threads 2]
       [--config default]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import kanpde as kp  # noqa: E402
import problems  # noqa: E402
from kanpde.files import atomic_write  # noqa: E402
from kanpde.pde.metrics import error_metrics  # noqa: E402
from kanpde.train.sizing import sized  # noqa: E402

DEFAULT_PROBLEMS = ["poisson2d", "poisson2d_paper", "poisson_disk", "poisson3d", "poisson5d", "helmholtz2d",
                    "heat1d", "advection1d", "wave1d", "burgers1d", "allen_cahn1d"]


def kan_config(model, recommended: kp.TrainConfig | None, scale: float, points: int | None,
               seed: int) -> kp.TrainConfig:
    """The problem's ``config()``, else ``kp.TrainConfig()``, sized to ``model``; every stage's steps
    times ``scale`` and ``points`` (if given) instead of its point counts, for smoke runs."""
    config = sized(recommended or kp.TrainConfig(seed=seed, verbose=False), model)
    if scale != 1:
        config = dataclasses.replace(config, schedule=[dataclasses.replace(s, steps=max(1, int(s.steps * scale)))
                                                       for s in config.schedule])
    if points is not None:
        config = dataclasses.replace(config, interior_points=points, boundary_points=max(200, points // 5))
    return config


def mlp_schedule(scale: float) -> list:
    s = lambda n: max(1, int(n * scale))  # noqa: E731
    return [kp.Adam(s(100)), kp.LBFGS(s(1000))]


def prepare(name: str) -> kp.Problem:
    problem = problems.load_problem(name)
    try:
        return problem.with_hard_dirichlet()
    except ValueError:
        return problem


def recommended_config(name: str, choice: str, seed: int) -> kp.TrainConfig | None:
    """The problem's own config() with this run's seed, or None (``--config default`` or none defined)."""
    factory = getattr(problems.get(name), "config", None)
    if choice == "default" or not callable(factory):
        return None
    return dataclasses.replace(factory(), seed=seed, verbose=False)


def mlp_config(scale: float, points: int | None, seed: int) -> kp.TrainConfig:
    points = points or 3000
    return kp.TrainConfig(schedule=mlp_schedule(scale), interior_points=points,
                          boundary_points=max(200, points // 5), seed=seed, verbose=False)


def train_row(problem, method: str, model, config: kp.TrainConfig, figures=None) -> dict:
    start = time.perf_counter()
    solution = kp.solve(problem, model, config)
    elapsed = time.perf_counter() - start
    if figures is not None and problem.domain.time_axis is not None and problem.domain.dim == 2:
        kp.plotting.plot_time_slices(solution, path=Path(figures) / f"{problem.name}.png")
    return {"problem": problem.name, "method": method, "parameters": sum(p.numel() for p in model.parameters()),
            "time_s": elapsed, **solution.errors()}


def first_grid(config: kp.TrainConfig | None) -> int:
    """The grid the KAN starts on: the first stage grid of the config, else 5."""
    grids = [s.grid for s in (config.schedule if config else []) if getattr(s, "grid", None)]
    return grids[0] if grids else 5


def fd_row(name: str) -> dict | None:
    module = problems.get(name)
    if not module.FD:
        return None
    start = time.perf_counter()
    fd = module.fd_solution()
    elapsed = time.perf_counter() - start
    points = fd.points()
    problem = problems.load_problem(name)
    truth = problem.solution_values(torch.as_tensor(points)).numpy().ravel()
    return {"problem": name, "method": f"FD ({'x'.join(str(len(a)) for a in fd.axes.values())} nodes)",
            "parameters": int(fd.values.size), "time_s": elapsed,
            **error_metrics(fd.values.ravel(), truth)}


def markdown(rows: list[dict], machine: str, command: str) -> str:
    lines = [f"Command: `{command}`  ", f"Machine: {machine}", "",
             "| problem | method | parameters | time (s) | rel L2 | max error |",
             "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['problem']} | {r['method']} | {r['parameters']} | {r['time_s']:.2f} | "
                     f"{r['rel_l2']:.2e} | {r['max_abs']:.2e} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=DEFAULT_PROBLEMS)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every stage's iterations")
    parser.add_argument("--points", type=int, help="interior points (default: the KAN's sized default, 3000 for the MLP)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="results")
    parser.add_argument("--skip-mlp", action="store_true")
    parser.add_argument("--skip-kan", action="store_true")
    parser.add_argument("--config", choices=("recommended", "default"), default="recommended",
                        help="the KAN row: the problem's config() where it has one, or the common schedule")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows: list[dict] = []
    for name in args.problems:
        recommended = recommended_config(name, args.config, args.seed)
        problem = prepare(name)
        d, m = problem.input_dim, len(problem.outputs)
        label = "KAN [%d,10,%d]" % (d, m) + (" (config())" if recommended is not None else "")
        kan = kp.KAN([d, 10, m], grid=first_grid(recommended), seed=args.seed)
        candidates = [] if args.skip_kan else [(label, kan, kan_config(kan, recommended, args.scale, args.points,
                                                                       args.seed))]
        if not args.skip_mlp:
            candidates.append(("MLP [%d,32,32,32,%d] tanh" % (d, m), kp.MLP([d, 32, 32, 32, m], seed=args.seed),
                               mlp_config(args.scale, args.points, args.seed)))
        for method, model, config in candidates:
            figures = Path(args.out) / "figures" if method.startswith("KAN") else None
            rows.append(train_row(problem, method, model, config, figures))
            print(json.dumps(rows[-1]), flush=True)
        fd = fd_row(name)
        if fd:
            rows.append(fd)
            print(json.dumps(fd), flush=True)
    out = Path(args.out)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, {args.threads} torch threads, torch {torch.__version__}"
    command = "python scripts/benchmark.py " + " ".join(argv if argv is not None else sys.argv[1:])
    atomic_write(out / "benchmark.json", lambda tmp: Path(tmp).write_text(
        json.dumps({"machine": machine, "command": command, "rows": rows}, indent=2)))
    table = markdown(rows, machine, command.strip())
    atomic_write(out / "benchmark.md", lambda tmp: Path(tmp).write_text(table))
    print(table)
    return rows


if __name__ == "__main__":
    main()
