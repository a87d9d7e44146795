"""Burgers (problems/burgers1d) with moving knots: no shock coordinate, the knots find the front.

A :class:`kanpde.MappedKAN` of (x, t) (``problem(features=False)``: no hand-made asinh coordinate) is
trained in rounds, one per grid; after each round the first layer's x-knots move to equidistribute the
arc-length monitor ``sqrt(1 + u_x^2)`` of the current solution (averaged over t within each x cell;
t keeps uniform knots), the splines refitted so the function is kept, and the round's LM iterations run
again on the moved knots. Every round starts with a few Adam steps whose vRBA resampling
(``adaptive="vrba"``) moves the collocation points to the residual. Optionally SSBroyden iterations
finish. Writes ``results/fronts/burgers1d_seed{S}.json`` (rel L2 per round, knots, seconds) and
``burgers1d_seed{S}.png``: the solution with the x-knots over it, and the error map.

Measured, seed 0 (1 thread each, two runs side by side at load 10-14, so the seconds are inflated):

- ``--marching``: moving knots reading u (``adapt=(0,)`` and the trainer's ``follow``) 1.87e-2 in 1041 s
  (2 threads, load ~10); reading the network N instead (before ``follow``; under the hard constraint
  ``u = lift + factor N`` N steepens where the factor vanishes, so the knots went to x = +-1) 3.12e-2 in
  1343 s; uniform knots 3.29e-2 in 1308 s (1 thread each, side by side). The recommended config with the
  hand-made shock coordinate gives 7.25e-4 (burgers1d.config()). Many windows keep their grid-5 model
  (``keep_best``), so their knots never move.
- rounds (one network for all t, ``--grids 5 10 20 --lm 15 --ssbroyden 300``): 2.8e-1 moved, 1.7e-1
  uniform (``--no-move``); one network over [0, 1] does not get past the shock with these budgets.

Usage: OMP_WAIT_POLICY=PASSIVE python scripts/fronts.py [--seed 0] [--grids 5 10 20] [--lm 15]
       [--points 3000] [--ssbroyden 0] [--width 10] [--threads 2] [--no-move] [--sampling vrba|rad|none]
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

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import kanpde as kp  # noqa: E402
from kanpde.files import atomic_write  # noqa: E402
from problems import burgers1d  # noqa: E402


def arc_length_monitor(u, n: int = 20_000, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample points ``(n, 2)`` of the domain and the monitor ``(n, 2)``: ``sqrt(1 + u_x^2)`` for x, 1 for t."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 2, generator=generator, dtype=torch.float64)
    x[:, 0] = 2 * x[:, 0] - 1
    x.requires_grad_(True)
    (grad,) = torch.autograd.grad(u(x).sum(), x)
    monitor = torch.stack([(1 + grad[:, 0] ** 2).sqrt(), torch.ones(n, dtype=torch.float64)], 1)
    return x.detach(), monitor.detach()


def train_round(problem, model, stages, points: int, seed: int, sampling: str | None = "vrba"):
    config = kp.TrainConfig(schedule=stages, interior_points=points, seed=seed, dtype="float64", verbose=False,
                            adaptive=sampling, resample_every=40 if sampling else None, update_grid="grow")
    return kp.solve(problem, model, config)


def run(seed: int, grids: list[int], lm: int, points: int, ssbroyden: int, width: int, move: bool = True,
        sampling: str | None = "vrba") -> dict:
    problem = burgers1d.problem(features=False)
    model = kp.MappedKAN([2, width, 1], grid=grids[0], seed=seed, cells=4096,
                         grid_range=[[burgers1d.LO, burgers1d.HI], [burgers1d.T0, burgers1d.T1]])
    rounds, start, solution = [], time.perf_counter(), None
    for g in grids:
        for moved in (False, True) if move else (False,):
            if moved:
                x, monitor = arc_length_monitor(solution.model, seed=seed)
                with torch.no_grad():
                    model.move_knots(x, monitor, floor=0.2)
                rounds.append({"grid": g, "knots_moved": True, "rel_l2": solution.errors()["rel_l2"]})  # kept?
            stages = [kp.Adam(50, lr=1e-3 if solution else 1e-2), kp.LM(lm, grid=g)]
            solution = train_round(problem, model, stages, points, seed, sampling)
            rounds.append({"grid": g, "moved": moved, "rel_l2": solution.errors()["rel_l2"],
                           "seconds": time.perf_counter() - start})
            print(rounds[-1], flush=True)
    if ssbroyden:
        solution = train_round(problem, model, [kp.SSBroyden(ssbroyden)], points, seed, None)
        rounds.append({"grid": grids[-1], "ssbroyden": ssbroyden, "rel_l2": solution.errors()["rel_l2"],
                       "seconds": time.perf_counter() - start})
        print(rounds[-1], flush=True)
    return {"problem": "burgers1d", "seed": seed, "width": width, "points": points, "rounds": rounds,
            "rel_l2": rounds[-1]["rel_l2"], "seconds": time.perf_counter() - start,
            "knots_x": model.knots()[0].tolist(), "threads": torch.get_num_threads()}, solution, model


def run_marching(seed: int, move: bool, width: int) -> tuple[dict, object, object]:
    """burgers1d's recommended config() (16 fresh LM windows, grids 5 -> 10 -> 20, RAD) without the shock
    coordinate, on a MappedKAN whose x-knots move at every grid extension (``adapt=(0,)``), or uniform."""
    problem = burgers1d.problem(features=False)
    model = kp.MappedKAN([2, width, 1], grid=5, seed=seed, cells=4096, adapt=(0,) if move else (),
                         grid_range=[[burgers1d.LO, burgers1d.HI], [burgers1d.T0, burgers1d.T1]])
    config = dataclasses.replace(burgers1d.config(), seed=seed, verbose=False, dtype="float64")
    start = time.perf_counter()
    solution = kp.solve(problem, model, config)
    windows = solution.network.windows
    summary = {"problem": "burgers1d", "mode": "marching", "moving_knots": move, "seed": seed, "width": width,
               "rel_l2": solution.errors()["rel_l2"], "seconds": time.perf_counter() - start,
               "threads": torch.get_num_threads(), "window_grids": [w.net.grid for w in windows],
               "window_knots_x": [w.net.knots()[0].tolist() for w in windows]}
    spans = list(zip(solution.network.edges[:-1], solution.network.edges[1:]))
    return summary, solution, [(w.net, span) for w, span in zip(windows, spans)]


def figure(solution, models, path: Path) -> None:
    """The solution u(x, t) with the first layer's x-knots as lines (each time window's over its span), and
    |u - reference|. ``models``: one MappedKAN, or ``(MappedKAN, (t_start, t_end))`` per window."""
    if not isinstance(models, list):
        models = [(models, (burgers1d.T0, burgers1d.T1))]
    xs, ts = np.linspace(-1, 1, 801), np.linspace(0, 1, 201)
    grid = np.stack(np.meshgrid(xs, ts), -1).reshape(-1, 2)
    u = solution.predict(grid).reshape(len(ts), len(xs))
    error = np.abs(u - burgers1d.reference_numpy(grid).reshape(len(ts), len(xs)))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    image = axes[0].pcolormesh(xs, ts, u, cmap="RdBu_r", shading="auto")
    for model, (t0, t1) in models:
        for knot in model.knots()[0].tolist():
            axes[0].plot([knot, knot], [t0, t1], color="k", lw=0.5, alpha=0.6)
    axes[0].set(xlabel="x", ylabel="t", title="u(x, t) and the x-knots (lines)")
    fig.colorbar(image, ax=axes[0])
    image = axes[1].pcolormesh(xs, ts, np.log10(error + 1e-16), cmap="magma", shading="auto")
    axes[1].set(xlabel="x", ylabel="t", title="log10 |u - reference|")
    fig.colorbar(image, ax=axes[1])
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--grids", type=int, nargs="+", default=[5, 10, 20])
    parser.add_argument("--lm", type=int, default=15, help="LM iterations per round")
    parser.add_argument("--points", type=int, default=3000)
    parser.add_argument("--ssbroyden", type=int, default=0, help="SSBroyden iterations at the end (0: none)")
    parser.add_argument("--width", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-move", dest="move", action="store_false", help="uniform knots (the baseline)")
    parser.add_argument("--sampling", choices=["vrba", "rad", "none"], default="vrba")
    parser.add_argument("--marching", action="store_true", help="burgers1d.config()'s 16 windows instead of rounds")
    parser.add_argument("--out", type=Path, default=Path("results/fronts"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.marching:
        summary, solution, model = run_marching(args.seed, args.move, args.width)
    else:
        summary, solution, model = run(args.seed, args.grids, args.lm, args.points, args.ssbroyden, args.width,
                                       args.move, None if args.sampling == "none" else args.sampling)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"burgers1d_{'marching_' if args.marching else ''}{'moved' if args.move else 'uniform'}_seed{args.seed}"
    atomic_write(stem.with_suffix(".json"), lambda tmp: Path(tmp).write_text(json.dumps(summary, indent=1)))
    figure(solution, model, stem.with_suffix(".png"))
    print(f"burgers1d seed {args.seed}: rel L2 {summary['rel_l2']:.3e} in {summary['seconds']:.0f} s "
          f"({args.threads} threads); {stem}.json, {stem}.png")


if __name__ == "__main__":
    main()
