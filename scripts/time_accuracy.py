"""The time-dependent problems' recommended ``config()`` over several seeds: rel L2 and time per run, worst seed.

Each run is the KAN row of ``scripts/benchmark.py``: a [2, 10, 1] KAN starting on the config's first grid,
the problem with its whole-boundary Dirichlet data as a hard constraint where it has one (the
other conditions as ``hard="auto"`` builds them in), errors on the dense evaluation set
(``solution.errors()``) against the exact solution or the reference.

Usage: OMP_WAIT_POLICY=PASSIVE python scripts/time_accuracy.py [--problems wave1d heat1d] [--seeds 0 1 2]
       [--threads 2] [--scale 0.1 --stages 2]
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmark, lm_accuracy

import torch  # noqa: E402

import kanpde as kp  # noqa: E402
import problems  # noqa: E402
from benchmark import first_grid, prepare  # noqa: E402
from lm_accuracy import scaled, seeds_parser  # noqa: E402

DEFAULT_PROBLEMS = ["wave1d", "heat1d", "burgers1d", "allen_cahn1d"]


def run(name: str, seed: int, scale: float = 1.0, stages: int | None = None) -> dict:
    """One run of ``name``'s config() with ``seed`` (steps and points scaled for smoke runs): errors, seconds."""
    problem = prepare(name)
    recommended = problems.get(name).config()
    model = kp.KAN([problem.input_dim, 10, len(problem.outputs)], grid=first_grid(recommended), seed=seed)
    config = dataclasses.replace(scaled(recommended, model, scale, stages), seed=seed, verbose=False)
    start = time.perf_counter()
    solution = kp.solve(problem, model, config)
    return {"problem": name, "seed": seed, "time_s": time.perf_counter() - start, **solution.errors()}


def main(argv=None) -> list[dict]:
    parser = seeds_parser(__doc__.splitlines()[0], DEFAULT_PROBLEMS)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"{'problem':<14s} {'seed':>4s} {'time s':>7s} {'rel L2':>9s} {'max abs':>9s}")
    rows = []
    for name in args.problems:
        for seed in args.seeds:
            rows.append(run(name, seed, args.scale, args.stages))
            r = rows[-1]
            print(f"{name:<14s} {seed:>4d} {r['time_s']:7.1f} {r['rel_l2']:9.2e} {r['max_abs']:9.2e}", flush=True)
    print("\nworst seed (rel L2, slowest run):")
    for name in args.problems:
        mine = [r for r in rows if r["problem"] == name]
        print(f"{name:<14s} {max(r['rel_l2'] for r in mine):9.2e} {max(r['time_s'] for r in mine):7.1f} s")
    return rows


if __name__ == "__main__":
    main()
