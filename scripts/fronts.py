"""Sharp fronts: Burgers (problems/burgers1d) with moving knots, and the benchmark rows of both front problems.

``--problem NAME --recommended [--plain]``: the problem's ``config()`` on ``problem()`` (burgers1d with its shock
coordinate, allen_cahn1d with its known seam part; ``--plain`` without them) on a ``[inputs, 10, 1]`` KAN, as
``kanpde solve NAME`` runs it; writes ``NAME_recommended_seed{S}.json`` (rel L2, wall and CPU seconds, threads,
load, hardware) and ``.png`` (u with the first layer's knots in x per window, and the error map).
``--page docs/benchmarks/fronts.md --from docs/benchmarks/fronts``: the benchmark page from those JSON files.

Without ``--recommended`` (burgers1d only):

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
       python scripts/fronts.py --problem allen_cahn1d --recommended --seed 0 --threads 1 --out docs/benchmarks/fronts
       python scripts/fronts.py --page docs/benchmarks/fronts.md --from docs/benchmarks/fronts
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

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import kanpde as kp  # noqa: E402
from kanpde.files import atomic_write  # noqa: E402
from kanpde.io.results import write_json  # noqa: E402
from problems import allen_cahn1d, burgers1d  # noqa: E402

PROBLEMS = {"burgers1d": burgers1d, "allen_cahn1d": allen_cahn1d}
AIDS = {"burgers1d": "shock coordinate asinh(x/0.01) as a third input",
        "allen_cahn1d": "known seam part (allen_cahn1d.seam)"}


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
        sampling: str | None = "vrba") -> tuple[dict, object]:
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
            "knots_x": model.knots()[0].tolist(), "threads": torch.get_num_threads()}, solution


def run_marching(seed: int, move: bool, width: int) -> tuple[dict, object]:
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
    return summary, solution


def first_layer_knots(net) -> list[np.ndarray]:
    """The first layer's knots in the network's own inputs, one array per input (a MappedKAN's through its map)."""
    if isinstance(net, kp.MappedKAN):
        return [k.numpy() for k in net.knots().detach().cpu()]
    layer = net.layers[0]
    t = np.linspace(0, 1, layer.grid + 1)
    return [float(a) + t * float(b - a) for a, b in zip(layer.lo.detach().cpu(), layer.hi.detach().cpu())]


def knots_in_x(net, inputs, t: float, xs: np.ndarray) -> np.ndarray:
    """Where the first layer's knots of the x-dependent inputs sit in x, at time t: each input e_i(x) (x itself,
    cos/sin of the periodic embedding, a feature such as the shock coordinate) crosses each of its knots there.
    ``inputs``: what the network sees at points ``(N, 2)`` (x, t)."""
    points = lambda time: torch.tensor(np.stack([xs, np.full_like(xs, time)], 1))  # noqa: E731
    with torch.no_grad():
        now, later = (inputs(points(v)).numpy() for v in (t, t + 1e-3))
    positions = []
    for i, knots in enumerate(first_layer_knots(net)):
        if not np.allclose(now[:, i], later[:, i]) or np.ptp(now[:, i]) == 0:  # the time input: no x-knots
            continue
        e = now[:, i]
        for k in knots:
            gap = e - k
            cross = np.nonzero(gap[:-1] * gap[1:] <= 0)[0]
            w = gap[cross] / np.where(gap[cross] == gap[cross + 1], 1, gap[cross] - gap[cross + 1])
            positions.extend(xs[cross] + w * (xs[cross + 1] - xs[cross]))
    return np.unique(np.round(positions, 6))


def window_knots(solution, xs: np.ndarray) -> list[tuple[np.ndarray, tuple[float, float]]]:
    """``[(x-knots, (t_start, t_end))]`` per time window (one span for an unmarched solution)."""
    network = solution.network
    if not hasattr(network, "windows"):
        net, inputs = network, solution.problem.network_inputs
        return [(knots_in_x(net, inputs, 0.5, xs), (0.0, 1.0))]
    spans = list(zip(network.edges[:-1], network.edges[1:]))
    out = []
    for window, (t0, t1) in zip(network.windows, spans):
        inputs = window.inner.inputs if hasattr(window.inner, "inputs") else (lambda x: x)
        out.append((knots_in_x(window.net, inputs, (t0 + t1) / 2, xs), (t0, t1)))
    return out


def figure(solution, path: Path, title: str) -> None:
    """The solution u(x, t) with the first layer's knots in x as lines (each time window's over its span), and
    log10 |u - reference| (the problem's reference on a 801 x 201 grid)."""
    xs, ts = np.linspace(-1, 1, 801), np.linspace(0, 1, 201)
    grid = np.stack(np.meshgrid(xs, ts), -1).reshape(-1, 2)
    u = solution.predict(grid).reshape(len(ts), len(xs))
    reference = solution.problem.solution_values(torch.tensor(grid)).detach().numpy().reshape(len(ts), len(xs))
    error = np.abs(u - reference)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    image = axes[0].pcolormesh(xs, ts, u, cmap="RdBu_r", shading="auto")
    for knots, (t0, t1) in window_knots(solution, xs):
        axes[0].vlines(knots, t0, t1, color="k", lw=0.4, alpha=0.6)
    axes[0].set(xlabel="x", ylabel="t", title=f"{title}: u(x, t) and the first layer's knots in x")
    fig.colorbar(image, ax=axes[0])
    image = axes[1].pcolormesh(xs, ts, np.log10(np.maximum(error, 1e-9)), cmap="magma", shading="auto")
    axes[1].set(xlabel="x", ylabel="t", title=f"log10 |u - reference| (rel L2 {solution.errors()['rel_l2']:.2e})")
    fig.colorbar(image, ax=axes[1])
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)


def hardware() -> str:
    """The CPU model and core count of this machine (for the benchmark page)."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown CPU") \
        if Path("/proc/cpuinfo").exists() else platform.processor() or "unknown CPU"
    return f"{model}, {os.cpu_count()} cores"


def run_recommended(name: str, seed: int, plain: bool) -> tuple[dict, object]:
    """The problem's recommended ``config()`` on ``problem()`` (burgers1d: with the shock coordinate; allen_cahn1d:
    with the known seam part), or without that aid (``plain``), on a ``[inputs, 10, 1]`` KAN as ``kanpde solve``."""
    module = PROBLEMS[name]
    problem = module.problem(False) if plain else module.problem()
    config = dataclasses.replace(module.config(), seed=seed, verbose=False)
    grid = next(stage.grid for stage in config.schedule if stage.grid)
    model = kp.KAN([problem.input_dim, 10, 1], grid=grid, seed=seed)
    load = os.getloadavg()[0]
    start, cpu = time.perf_counter(), time.process_time()
    solution = kp.solve(problem, model, config)
    errors = solution.errors()
    summary = {"problem": name, "mode": "recommended" + (" (plain problem)" if plain else ""), "seed": seed,
               "aid": None if plain else AIDS[name], "rel_l2": errors["rel_l2"], "max_abs": errors["max_abs"],
               "wall_seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu,
               "threads": torch.get_num_threads(), "load_average": [load, os.getloadavg()[0]],
               "hardware": hardware(), "schedule": [repr(stage) for stage in config.schedule],
               "points": config.interior_points, "windows": config.marching.windows if config.marching else 1,
               "window_residuals": window_residuals(solution)}
    return summary, solution


def window_residuals(solution) -> list[dict]:
    """Each time window's span and the held-out residual its kept model reached (``keep_best``): a window far
    above its neighbours is where the stitched error jumps."""
    return [{"span": stage["span"], "validation": stage.get("validation")}
            for stage in solution.history.stages if "span" in stage]


RECORDS = {  # as quoted in issue #29 (not rerun here): rel L2, method, hardware and time as published
    "burgers1d": [("1.1e-8 .. 1.8e-8", "MLP 3x30 + vRBA sampling + SSBroyden (Toscano et al. 2025)", "a GPU, ~35 min"),
                  ("~1e-8", "PIKAN + SSBroyden (Kiyani et al. 2025)", "-")],
    "allen_cahn1d": [("1.9e-6 .. 2.3e-6", "vRBA + SSBroyden (Toscano et al. 2025)", "a GPU"),
                     ("2.2e-5", "PirateNets", "a GPU")],
}


EARLIER = [  # runs of earlier sessions, as their commits and the problem docstrings record them
    "burgers1d, `config()` without its grid-80 stage (12 000 points, grids to 40, windows overlap 0.5): 1.99e-5 / "
    "4.11e-5 (seeds 0 / 1, 1 thread beside another run), 5.13e-5 (seed 2, 2 threads, 682 s); seed 2 on 1 thread "
    "1.52e-4, 99 % of it the error's part even in x: the shock moved off x = 0 after the mean of u drifted to "
    "-1.4e-5 in the window from t = 0.5; the config before that (3000 points, grids to 20, no overlap): "
    "1.04e-3 / 3.34e-4 / 4.68e-4 (2 threads, 199 s at most)",
    "burgers1d, `config()` before its windows read their start values through the previous window's jet (the same "
    "function in another summation order): 7.25e-4 / 6.14e-4 / 9.49e-4 (seeds 0 / 1 / 2), 2 threads, 496 / 465 / "
    "506 s wall at load 3-4 (`scripts/time_accuracy.py --problems burgers1d`)",
    "burgers1d, where the error comes from (`scripts/burgers_windows.py`, windows started from the exact state at "
    "t = 0.25, seed 0, 1 thread): 4 windows to t = 0.5 give 1.4e-4 in 58 s, their held-out residuals growing window "
    "after window (4.3e-6 to 1.4e-3) as each inherits the last one's second derivatives at the shock; adaptive "
    "windows (`TimeMarching(tolerance=1e-5)`) give 3.2e-5 with 46 windows in 795 s",
    "burgers1d, `config()` with adaptive windows (`TimeMarching(tolerance=5e-6, max_halvings=1)`, with "
    "`kanpde.train.marching.GROW_BELOW` set to 1/8: a window under tolerance / 8 lets the next one double): 2.69e-5"
    " / 1.83e-5 (seeds 1 / 2, 1 thread beside another run), 22 windows in 2487 / 2498 s, about 1.6x the fixed "
    "windows' cost, so past 30 minutes on 2 threads; the error left is the shock's position (u(0, t), 0 exactly, "
    "jumps to 1.8e-4 between t = 0.5 and 0.55: a displacement of ~1e-6); one window from the exact state at t = "
    "0.4375 or 0.5 (`scripts/burgers_windows.py --windows 1 --overlap 0.5 --seed 1`) reaches rel L2 5.2e-7 / 4.1e-7"
    " with held-out residuals 4.6e-8 / 8.2e-9, against 1e-6 .. 5e-6 for marched windows there: the hand-over is the"
    " limit",
    "burgers1d on x in [0, 1] by its odd symmetry (u(0, t) = 0 as a side, same `config()`): 2.24e-3 / 1.40e-3 "
    "(seeds 1 / 2, built in: u / phi peaks at the shock) and 1.22e-3 (seed 1, soft at x = 0: 1.4e-6 .. 7.8e-6 per "
    "1/16 slab to t = 0.5, then the window from t = 0.5 fails), 1 thread",
    "burgers1d without the shock coordinate, moving knots that follow u (`scripts/fronts.py --marching`): 1.87e-2 "
    "(seed 0, 2 threads, 1041 s wall at load ~10); uniform knots 3.29e-2",
    "allen_cahn1d, `config()` without its window overlap (0.25): 3.09e-5 / 1.14e-5 / 1.08e-4 (seeds 0 / 1 / 2, "
    "2 threads, 140 s at most); before the windows read their start values through the previous window's jet "
    "(the same function to 1e-15, another summation order): 3.77e-5 / 1.15e-5 / 3.79e-5 (1 thread), seed 2 on "
    "2 threads 4.34e-5",
    "allen_cahn1d, the same `config()` without the known seam part: 8.3e-4 / 8.2e-4 / 8.6e-4 (seeds 0 / 1 / 2, "
    "1 thread, 441 CPU s for seed 0)",
]


def page(folder: Path) -> str:
    """The benchmark page (markdown) from the JSON files ``scripts/fronts.py --recommended`` wrote in ``folder``:
    one row per problem and mode (every seed, the worst, wall and CPU seconds, threads, load, hardware), the
    published records beside them, and each problem's figure (``NAME_recommended_seed0.png``) where present."""
    rows = {}
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text())
        if "wall_seconds" in data:
            rows.setdefault((data["problem"], data["mode"]), []).append(data)
    lines = ["# Sharp fronts: Burgers and Allen-Cahn", "",
             "Generated by `python scripts/fronts.py --page docs/benchmarks/fronts.md --from docs/benchmarks/fronts` "
             "from the JSON that `scripts/fronts.py --problem NAME --recommended --seed S` writes. Each run: the "
             "problem's `config()` on a `[inputs, 10, 1]` KAN, one process with the threads the row gives on a shared "
             "2-core machine (the load column: the 1- and 5-minute load averages' largest, so wall seconds at high "
             "load are inflated; CPU s: the process's own CPU time). "
             "Errors: rel L2 against the problem's reference on its dense evaluation grid.", "",
             "| problem | setup | seeds | rel L2 per seed | worst | wall s (max) | CPU s (max) | threads | load "
             "| hardware |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for (name, mode), runs in sorted(rows.items()):
        runs = sorted(runs, key=lambda r: r["seed"])
        setup = f"{mode}; {runs[0]['windows']} windows, {runs[0]['points']} points" + \
            (f"; {runs[0]['aid']}" if runs[0].get("aid") else "")
        errors = " / ".join(f"{r['rel_l2']:.2e}" for r in runs)
        lines.append(f"| {name} | {setup} | {', '.join(str(r['seed']) for r in runs)} | {errors} | "
                     f"{max(r['rel_l2'] for r in runs):.2e} | {max(r['wall_seconds'] for r in runs):.0f} | "
                     f"{max(r['cpu_seconds'] for r in runs):.0f} | {runs[0]['threads']} | "
                     f"{max(max(r['load_average']) for r in runs):.1f} | {runs[0]['hardware']} |")
    if not rows:
        lines.append("| (no runs in the folder yet) | | | | | | | | | |")
    lines += ["", "Measured earlier, not in these JSON files (the problem modules' docstrings say how):", ""]
    lines += [f"- {line}" for line in EARLIER]
    lines += ["", "## Published records (quoted, not rerun here)", "",
              "| problem | rel L2 | method | hardware, time |", "|---|---|---|---|"]
    for name, records in RECORDS.items():
        lines += [f"| {name} | {error} | {method} | {where} |" for error, method, where in records]
    for name in RECORDS:
        figure_path = folder / f"{name}_recommended_seed0.png"
        if figure_path.exists():
            lines += ["", f"## {name}", "", f"![{name}: the knots over u, and the error map]"
                      f"({folder.name}/{figure_path.name})"]
    return "\n".join(lines) + "\n"


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
    parser.add_argument("--problem", choices=sorted(PROBLEMS), default="burgers1d")
    parser.add_argument("--recommended", action="store_true",
                        help="the problem's config() on problem() (the benchmark page's rows)")
    parser.add_argument("--plain", action="store_true",
                        help="with --recommended: the problem without its aid (shock coordinate / known seam part)")
    parser.add_argument("--out", type=Path, default=Path("results/fronts"))
    parser.add_argument("--page", type=Path, help="write the benchmark page (markdown) from the JSON in --from")
    parser.add_argument("--from", dest="source", type=Path, default=Path("docs/benchmarks/fronts"))
    args = parser.parse_args(argv)
    if args.page:
        atomic_write(args.page, lambda tmp: Path(tmp).write_text(page(args.source)))
        print(f"wrote {args.page}")
        return
    torch.set_num_threads(args.threads)
    if args.recommended:
        summary, solution = run_recommended(args.problem, args.seed, args.plain)
        stem = args.out / f"{args.problem}_recommended{'_plain' if args.plain else ''}_seed{args.seed}"
    elif args.problem != "burgers1d":
        raise SystemExit("--problem allen_cahn1d runs with --recommended only")
    else:
        summary, solution = run_marching(args.seed, args.move, args.width) if args.marching else \
            run(args.seed, args.grids, args.lm, args.points, args.ssbroyden, args.width, args.move,
                None if args.sampling == "none" else args.sampling)
        kind = f"{'marching_' if args.marching else ''}{'moved' if args.move else 'uniform'}"
        stem = args.out / f"burgers1d_{kind}_seed{args.seed}"
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(stem.with_suffix(".json"), summary)
    figure(solution, stem.with_suffix(".png"), args.problem)
    print(f"{args.problem} seed {args.seed}: rel L2 {summary['rel_l2']:.3e}; {stem}.json, {stem}.png")


if __name__ == "__main__":
    main()
