"""Parametric problems: one training over the family, then the worst error over held-out parameter values
and the cost of one query (10^4 points at a new parameter value).

    PYTHONPATH=$PWD python scripts/parametric_accuracy.py --problem heat1d_param --seeds 0 1 2 --threads 2

Trains ``problem()`` with the module's ``config()`` and ``model()`` (kp.solve), evaluates
``solution.errors_over`` on ``--held-out`` evenly spaced values of each parameter (the ends included;
the training points are quasi-random, so none of these values was trained on as such), times
``solution.predict(x, **mu)`` on 10^4 points (median of 20 after one warm-up) and writes one row per seed
to ``docs/benchmarks/parametric_accuracy.json`` (rows of other problems and seeds are kept) and the
trained solution to ``results/parametric/<problem>_seed<k>.pt`` (read by scripts/parametric_breakeven.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import kanpde as kp  # noqa: E402
from kanpde.files import atomic_write, replace_block  # noqa: E402

OUT = ROOT / "docs" / "benchmarks" / "parametric_accuracy.json"
GUIDE = ROOT / "docs" / "guide" / "parametric.md"
START, END = "<!-- parametric-accuracy:start -->", "<!-- parametric-accuracy:end -->"
QUERY_POINTS = 10_000
QUERY_THREADS = 1


def held_out(problem, count: int) -> dict[str, np.ndarray]:
    """``count`` evenly spaced values per parameter, ends included (one sweep, all parameters together)."""
    return {name: np.linspace(r.lo, r.hi, count) for name, r in problem.params.items()}


def query_seconds(solution, mu: dict | None = None, repeats: int = 20, threads: int = QUERY_THREADS) -> tuple:
    """Median wall and CPU time ``(wall, cpu)`` of ``predict`` on 10^4 points at ``mu`` (default: a value in no sweep),
    on ``threads`` threads (one: a query this small gains nothing from a second thread, and on a loaded
    machine it waits for it: 92 ms on 2 threads against 3.4 ms on one, measured side by side)."""
    problem = solution.problem
    x = problem.space.sample_interior(QUERY_POINTS, method="halton", seed=7)
    mu = mu or {name: r.lo + 0.3141 * r.width for name, r in problem.params.items()}
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        solution.predict(x, **mu)
        times = []
        for _ in range(repeats):
            started, cpu = time.perf_counter(), time.process_time()
            solution.predict(x, **mu)
            times.append((time.perf_counter() - started, time.process_time() - cpu))
    finally:
        torch.set_num_threads(before)
    return tuple(float(v) for v in np.median(np.array(times), axis=0))


def run(name: str, seed: int, count: int) -> dict:
    module = importlib.import_module(f"problems.{name}")
    problem = module.problem()
    config = module.config()
    config = dataclasses.replace(config, seed=seed, verbose=False)
    model = module.model(seed=seed) if hasattr(module, "model") else None
    load = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    solution = kp.solve(problem, model, config)
    train_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    sweep = solution.errors_over(**held_out(problem, count))
    query, query_cpu = query_seconds(solution)
    path = ROOT / "results" / "parametric" / f"{name}_seed{seed}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    solution.save(path)
    return {"problem": name, "seed": seed, "threads": torch.get_num_threads(), "train_s": round(train_s, 1),
            "train_cpu_s": round(cpu_s, 1), "held_out": count, "worst_rel_l2": sweep["worst"]["rel_l2"],
            "worst_at": sweep["worst"]["at"], "worst_max_abs": sweep["worst"]["max_abs"],
            "family_rel_l2": solution.errors()["rel_l2"], "query_points": QUERY_POINTS,
            "query_s": query, "query_cpu_s": query_cpu, "query_threads": QUERY_THREADS, "rel_l2": sweep["rel_l2"],
            "values": [v for point in sweep["values"] for v in point.values()],
            "widths": getattr(solution.network, "widths", None), "saved": str(path.relative_to(ROOT)),
            "load": [round(load, 2), round(os.getloadavg()[0], 2)]}


def save(rows: list[dict]) -> None:
    old = json.loads(OUT.read_text()) if OUT.exists() else {"rows": []}
    keep = [r for r in old["rows"] if (r["problem"], r["seed"]) not in {(n["problem"], n["seed"]) for n in rows}]
    payload = {"command": "PYTHONPATH=$PWD python scripts/parametric_accuracy.py --problem NAME --seeds S.. "
                          "--threads T", "note": "wall times on a shared 2-core box; 'load': its 1-minute load "
                          "average before and after the training (absent in older rows)",
               "rows": sorted(keep + rows, key=lambda r: (r["problem"], r["seed"]))}
    atomic_write(OUT, lambda tmp: Path(tmp).write_text(json.dumps(payload, indent=1)))
    replace_block(GUIDE, START, END, guide_table(payload["rows"]))


def guide_table(rows: list[dict]) -> str:
    """The guide's table of the rows (generated: ``replace_block`` between the parametric-accuracy markers),
    then the worst over the seeds of each family."""
    lines = ["<!-- generated by scripts/parametric_accuracy.py from docs/benchmarks/parametric_accuracy.json -->", "",
             "| family | seed | worst rel L2 over the held-out values | over the family | training | load | query, 10⁴ points |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        at = ", ".join(f"{k} = {v:.3g}" for k, v in r["worst_at"].items())
        load = "-" if "load" not in r else f"{r['load'][0]:.1f} / {r['load'][1]:.1f}"
        lines.append(f"| `{r['problem']}` | {r['seed']} | {r['worst_rel_l2']:.2e} (at {at}; {r['held_out']} values) | "
                     f"{r['family_rel_l2']:.2e} | {r['train_s']:.0f} s wall / {r['train_cpu_s']:.0f} s CPU on "
                     f"{r['threads']} threads | {load} | {1e3 * r['query_s']:.1f} ms |")
    lines.append("")
    for name in sorted({r["problem"] for r in rows}):
        mine = [r for r in rows if r["problem"] == name]
        worst = max(mine, key=lambda r: r["worst_rel_l2"])
        lines.append(f"- `{name}`: worst over seeds {', '.join(str(r['seed']) for r in mine)}: "
                     f"**{worst['worst_rel_l2']:.2e}** (seed {worst['seed']}); longest training "
                     f"{max(r['train_s'] for r in mine):.0f} s; slowest query {1e3 * max(r['query_s'] for r in mine):.1f} ms.")
    return "\n".join(lines) + "\n"


def requery(name: str, seeds: list[int]) -> int:
    """Time the query again on the saved solutions of ``name`` (after a change to predict)."""
    module = importlib.import_module(f"problems.{name}")
    rows = json.loads(OUT.read_text())["rows"]
    for row in rows:
        if row["problem"] == name and row["seed"] in seeds:
            solution = kp.Solution.load(ROOT / row["saved"], problem=module.problem())
            row["query_s"], row["query_cpu_s"] = query_seconds(solution)
            print(f"{name} seed {row['seed']}: query of {QUERY_POINTS} points {1e3 * row['query_s']:.2f} ms wall, "
                  f"{1e3 * row['query_cpu_s']:.2f} ms CPU on {QUERY_THREADS} thread")
    save([r for r in rows if r["problem"] == name and r["seed"] in seeds])
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--held-out", type=int, default=50)
    parser.add_argument("--table-only", action="store_true", help="only regenerate the guide's table from the JSON")
    parser.add_argument("--requery", action="store_true",
                        help="only time the query again on the saved solutions (their rows keep the rest)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.table_only:
        return int(not replace_block(GUIDE, START, END, guide_table(json.loads(OUT.read_text())["rows"])))
    if args.requery:
        return requery(args.problem, args.seeds)
    rows = []
    for seed in args.seeds:
        row = run(args.problem, seed, args.held_out)
        rows.append(row)
        save([row])
        print(f"{row['problem']} seed {seed}: worst rel L2 over {row['held_out']} held-out values "
              f"{row['worst_rel_l2']:.2e} at {row['worst_at']} (family {row['family_rel_l2']:.2e}); training "
              f"{row['train_s']:.0f} s wall / {row['train_cpu_s']:.0f} s CPU on {row['threads']} threads; query of "
              f"{QUERY_POINTS} points {1e3 * row['query_s']:.2f} ms wall / {1e3 * row['query_cpu_s']:.2f} ms CPU on {QUERY_THREADS} "
              "thread", flush=True)
    worst = max(r["worst_rel_l2"] for r in rows)
    print(f"{args.problem}: worst over seeds {args.seeds}: {worst:.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
