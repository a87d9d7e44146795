"""Levenberg-Marquardt schedules against Adam + L-BFGS, side by side.

For each problem and seed, one run with ``kp.default_schedule(lm=False)`` (Adam + L-BFGS, the
first release's default) and one
with the problem module's recommended ``config()`` (LM stages), both on a [2, 10, 1] KAN
with the Dirichlet data as a hard constraint. Prints time, final rel L2 and the time
each run first reached 1e-4 / 1e-5 / 1e-6, then the worst seed per method, the
speed-up and the cost of one LM iteration against one L-BFGS iteration.

Usage: OMP_WAIT_POLICY=PASSIVE python scripts/lm_accuracy.py [--problems poisson2d] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import dataclasses
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
from kanpde.train.sizing import final_grid, sized  # noqa: E402

DEFAULT_PROBLEMS = ["poisson2d", "poisson2d_paper", "helmholtz2d"]
TARGETS = (1e-4, 1e-5, 1e-6)


def scaled(config: kp.TrainConfig, model, scale: float, stages: int | None = None) -> kp.TrainConfig:
    """The config sized to ``model`` (:mod:`kanpde.train.sizing`), then its first ``stages`` stages, steps
    (and the point count) scaled, for smoke runs."""
    config = sized(config, model)
    if scale == 1 and stages is None:
        return config
    schedule = [dataclasses.replace(s, steps=max(1, int(s.steps * scale))) for s in config.schedule[:stages]]
    return dataclasses.replace(config, schedule=schedule, interior_points=max(50, int(config.interior_points * scale)))


def first_time_below(solution, target: float) -> float:
    """Seconds until the evaluated rel L2 first went below ``target`` (nan if never)."""
    rows = [r for r in solution.history.steps if "rel_l2" in r]
    return next((r["time"] for r in rows if r["rel_l2"] <= target), float("nan"))


def iteration_cost(solution, kind: type) -> float:
    """Median seconds per iteration over the stages of one kind (nan if none ran)."""
    labels = {i for i, s in enumerate(solution.history.stages) if s["label"].startswith(kind)}
    costs = [r["step_time"] / r["iterations"] for r in solution.history.steps if r["stage"] in labels and r["iterations"]]
    return float(np.median(costs)) if costs else float("nan")


def run(name: str, method: str, seed: int, scale: float = 1.0, stages: int | None = None) -> dict:
    module = problems.get(name)
    problem = problems.load_problem(name).with_hard_dirichlet()
    model = kp.KAN([2, 10, 1], grid=5, seed=seed)
    twin = kp.TrainConfig(schedule=kp.default_schedule(lm=False, final_grid=final_grid(model)))
    base = module.config() if method == "LM" else twin
    config = dataclasses.replace(scaled(base, model, scale, stages), seed=seed, verbose=False, eval_every=5)
    start = time.perf_counter()
    solution = kp.solve(problem, model, config)
    elapsed = time.perf_counter() - start
    return {"problem": name, "method": method, "seed": seed, "time": elapsed, "rel_l2": solution.errors()["rel_l2"],
            **{f"t{t:.0e}": first_time_below(solution, t) for t in TARGETS},
            "lm_iter": iteration_cost(solution, "LM"), "lbfgs_iter": iteration_cost(solution, "L-BFGS")}


def jacobian_timing(points: int = 1000, grid: int = 20, chunk: int = 1024) -> dict:
    """Seconds to assemble J on poisson2d (hard Dirichlet, [2, 10, 1] KAN): per-point layer taps
    against batched backward passes (``is_grads_batched``) through autograd derivatives."""
    from kanpde.train import lm
    from kanpde.train.trainer import Trainer

    problem = problems.load_problem("poisson2d").with_hard_dirichlet()
    config = kp.TrainConfig(interior_points=points, schedule=[kp.LM(1)], verbose=False)
    trainer = Trainer(problem, kp.KAN([2, 10, 1], grid=grid, seed=0).double(), config)
    trainer.loss_terms()
    out = {}
    for method in ("taps", "batched"):
        start = time.perf_counter()
        _, J = lm.jacobian(trainer, chunk if method == "taps" else 32, method)
        out[method] = time.perf_counter() - start
    print(f"Jacobian {tuple(J.shape)}: taps {out['taps']:.3f} s, batched backward {out['batched']:.3f} s, "
          f"taps {out['batched'] / out['taps']:.1f}x faster")
    return out


def seeds_parser(description: str, problems_default: list[str]) -> argparse.ArgumentParser:
    """The options of a per-seed accuracy script: problems, seeds, threads and smoke-run scaling."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--problems", nargs="+", default=problems_default)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--scale", type=float, default=1.0, help="scale steps and points (smoke runs)")
    parser.add_argument("--stages", type=int, default=None, help="run only the first stages (smoke runs)")
    return parser


def main(argv=None) -> list[dict]:
    parser = seeds_parser(__doc__.splitlines()[0], DEFAULT_PROBLEMS)
    parser.add_argument("--jacobian", action="store_true", help="only time the two Jacobian assemblies")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.jacobian:
        return [jacobian_timing()]
    header = f"{'problem':<16s} {'method':<14s} {'seed':>4s} {'time s':>7s} {'rel L2':>9s}" + "".join(
        f" {'t<' + format(t, '.0e'):>9s}" for t in TARGETS)
    print(header)
    rows = []
    for name in args.problems:
        for seed in args.seeds:
            for method in ("Adam+L-BFGS", "LM"):
                row = run(name, method, seed, args.scale, args.stages)
                rows.append(row)
                print(f"{name:<16s} {method:<14s} {seed:>4d} {row['time']:7.1f} {row['rel_l2']:9.2e}"
                      + "".join(f" {row[f't{t:.0e}']:9.1f}" for t in TARGETS), flush=True)
    print("\nworst seed per method (rel L2, time):")
    for name in args.problems:
        worst = {m: max((r for r in rows if r["problem"] == name and r["method"] == m), key=lambda r: r["rel_l2"])
                 for m in ("Adam+L-BFGS", "LM")}
        slow = {m: max(r["time"] for r in rows if r["problem"] == name and r["method"] == m) for m in worst}
        default, lm = worst["Adam+L-BFGS"], worst["LM"]
        costs = [r for r in rows if r["problem"] == name]
        lm_iter = np.nanmedian([r["lm_iter"] for r in costs])
        lbfgs_iter = np.nanmedian([r["lbfgs_iter"] for r in costs])
        print(f"{name:<16s} default {default['rel_l2']:.2e} ({slow['Adam+L-BFGS']:.1f} s)  "
              f"LM {lm['rel_l2']:.2e} ({slow['LM']:.1f} s)  error ratio {default['rel_l2'] / lm['rel_l2']:.1f}x  "
              f"time ratio {slow['Adam+L-BFGS'] / slow['LM']:.2f}x  "
              f"one LM iteration = {lm_iter / lbfgs_iter:.0f} L-BFGS iterations ({lm_iter:.3f} s vs {lbfgs_iter:.4f} s)")
    return rows


if __name__ == "__main__":
    main()
