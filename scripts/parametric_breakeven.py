"""After how many parameter values does one parametric KAN beat re-solving with FD or FEM, at equal accuracy?

    PYTHONPATH=$PWD python scripts/parametric_breakeven.py --problems heat1d_param helmholtz_param \
        --queries 20 --threads 2

For each problem: the family's solution (``results/parametric/<name>_seed0.pt`` written by
scripts/parametric_accuracy.py, whose row in docs/benchmarks/parametric_accuracy.json gives the training
time; ``--train`` trains it here with the problem's config() instead). Then M parameter values spread over
the range (not the held-out ones), and at each:

- the KAN: one query, ``predict`` on 10^4 points (median of 5, one thread), and its rel L2 at that value (``errors(**mu)``,
  on the dense evaluation set of the domain);
- FD (2nd order) and FEM (P2): the problem's ``baseline(**mu)`` (:class:`kanpde.fd.Linear`) on the ladders
  of :mod:`kanpde.compare`, climbed until the rung's rel L2 reaches the KAN's at that value (equal accuracy);
  the query's cost is that rung's solve time (a user who knew the resolution would run it alone). A ladder
  that stops (memory or time budget) short of the KAN's error costs its last rung and is marked
  ``reached: false`` (cheaper than equal accuracy: the break-even then favours the baseline).

Cumulative cost after M queries: KAN ``train + M query``, baseline ``sum of its rungs``; the break-even is the
first M where the KAN's is lower (extrapolated with the mean cost per query beyond the M measured).
FD errors of the heat equation are at the final time level (the ladders' convention), the KAN's over
space-time. FEM is stationary: none for the heat equation. Writes docs/benchmarks/parametric_breakeven.json
and docs/img/parametric_breakeven.png. Wall times on a shared, loaded 2-core machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import kanpde as kp  # noqa: E402
from kanpde.compare import ladder, ladders  # noqa: E402
from kanpde.files import atomic_write, replace_block  # noqa: E402
from parametric_accuracy import QUERY_POINTS, query_seconds  # noqa: E402  (scripts/, beside this one)

OUT = ROOT / "docs" / "benchmarks" / "parametric_breakeven.json"
FIGURE = ROOT / "docs" / "img" / "parametric_breakeven.png"
ACCURACY = ROOT / "docs" / "benchmarks" / "parametric_accuracy.json"
BASELINES = ("fd2", "fem_p2")
NAMES = {"fd2": "FD, 2nd order", "fem_p2": "FEM P2"}
GUIDE = ROOT / "docs" / "guide" / "parametric.md"
START, END = "<!-- parametric-breakeven:start -->", "<!-- parametric-breakeven:end -->"


def family(name: str, train: bool, seed: int = 0):
    """``(solution, training seconds)``: the saved solution and its recorded training time, or a fresh one."""
    module = importlib.import_module(f"problems.{name}")
    problem = module.problem()
    saved = ROOT / "results" / "parametric" / f"{name}_seed{seed}.pt"
    rows = json.loads(ACCURACY.read_text())["rows"] if ACCURACY.exists() else []
    row = next((r for r in rows if r["problem"] == name and r["seed"] == seed), None)
    if not train and saved.exists() and row is not None:
        return kp.Solution.load(saved, problem=problem), float(row["train_s"])
    config = dataclasses.replace(module.config(), seed=seed, verbose=False)
    started = time.perf_counter()
    solution = kp.solve(problem, module.model(seed=seed), config)
    return solution, time.perf_counter() - started


def matched_rung(module, mu: dict, method: str, target: float) -> dict | None:
    """The first rung of ``method``'s ladder at ``mu`` whose rel L2 is at most ``target`` (or its last)."""
    found = ladders(module.baseline(**mu))
    if method not in found:
        return None
    resolutions, rung, growth = found[method]
    rungs = ladder(rung, resolutions, target=target, growth=growth, rung_seconds=30.0)
    last = rungs[-1]
    return {"resolution": last["resolution"], "dofs": last["dofs"], "seconds": last["seconds"],
            "rel_l2": last["rel_l2"], "reached": last["rel_l2"] <= target}


def break_even(train: float, query: float, costs: list[float]) -> float | None:
    """The first number of queries M with ``train + M query <= sum of the first M costs`` (the costs' mean
    beyond the measured ones); None when a baseline query costs no more than a KAN query."""
    total = 0.0
    for m, cost in enumerate(costs, start=1):
        total += cost
        if train + m * query <= total:
            return m
    mean = float(np.mean(costs))
    if mean <= query:
        return None
    return math.ceil((train - total + len(costs) * mean) / (mean - query))


def run(name: str, queries: int, train: bool) -> dict:
    module = importlib.import_module(f"problems.{name}")
    solution, train_s = family(name, train)
    params = solution.problem.params
    rng = np.random.default_rng(2026)
    values = [{n: float(r.lo + r.width * u) for (n, r), u in zip(params.items(), rng.random(len(params)))}
              for _ in range(queries)]
    rows = []
    for mu in values:
        error = solution.errors(**mu)["rel_l2"]
        row = {"mu": mu, "kan_rel_l2": error, "kan_query_s": query_seconds(solution, mu, repeats=5)[0]}
        for method in BASELINES:
            row[method] = matched_rung(module, mu, method, error)
        rows.append(row)
        print(f"  {name} {mu}: KAN {error:.2e} in {1e3 * row['kan_query_s']:.2f} ms; "
              + "; ".join(f"{m} " + (f"{row[m]['rel_l2']:.2e} in {1e3 * row[m]['seconds']:.1f} ms (n={row[m]['resolution']:.4g})"
                                    if row[m] else "n/a") for m in BASELINES), flush=True)
    query = float(np.median([r["kan_query_s"] for r in rows]))
    out = {"problem": name, "train_s": train_s, "query_s": query, "queries": queries, "rows": rows,
           "load": round(os.getloadavg()[0], 2)}
    for method in BASELINES:
        costs = [r[method]["seconds"] for r in rows if r[method]]
        if not costs:
            out[method] = None
            continue
        out[method] = {"break_even": break_even(train_s, query, costs), "mean_s": float(np.mean(costs)),
                       "reached": sum(r[method]["reached"] for r in rows if r[method]), "of": len(costs)}
    return out


def plot_breakeven(result: dict, ax=None, horizon: int | None = None):
    """Cumulative wall time against the number of queries: the KAN (training, then a query each) and each
    baseline (a solve at equal accuracy each, their mean cost beyond the measured queries). Returns the Axes."""
    if ax is None:
        from kanpde.io.plotting import _figure

        ax = _figure(5.0, 3.6).add_subplot()
    ends = [result[m]["break_even"] for m in BASELINES if result.get(m) and result[m]["break_even"]]
    horizon = horizon or max(int(1.5 * max(ends, default=result["queries"])), result["queries"])
    m = np.arange(0, horizon + 1)
    ax.plot(m, result["train_s"] + m * result["query_s"], color="k", lw=2, label="KAN (train once, then query)")
    for method, color in zip(BASELINES, ("tab:blue", "tab:orange")):
        if not result.get(method):
            continue
        costs = [r[method]["seconds"] for r in result["rows"] if r[method]]
        per = np.concatenate([costs, np.full(max(horizon - len(costs), 0), np.mean(costs))])[:horizon]
        ax.plot(m, np.concatenate([[0.0], np.cumsum(per)]), color=color, label=f"{method} at equal accuracy")
        if result[method]["break_even"]:
            ax.axvline(result[method]["break_even"], color=color, ls=":", lw=1)
    ax.set_xlabel("number of parameter values queried")
    ax.set_ylabel("cumulative wall time [s]")
    ax.set_title(result["problem"])
    ax.legend(fontsize=7)
    return ax


def guide_table(results: list[dict]) -> str:
    """The guide's break-even table (generated between the parametric-breakeven markers)."""
    lines = ["<!-- generated by scripts/parametric_breakeven.py from docs/benchmarks/parametric_breakeven.json -->", "",
             "| family | baseline | its solve at equal accuracy (mean) | resolutions | reached | KAN: training, query | break-even |",
             "|---|---|---|---|---|---|---|"]
    for result in results:
        kan = f"{result['train_s']:.0f} s, {1e3 * result['query_s']:.1f} ms"
        for method in BASELINES:
            summary = result.get(method)
            if summary is None:
                lines.append(f"| `{result['problem']}` | {NAMES[method]} | none (no such baseline for the problem) | | | {kan} | |")
                continue
            sizes = [r[method]["resolution"] for r in result["rows"] if r[method]]
            even = summary["break_even"]
            lines.append(f"| `{result['problem']}` | {NAMES[method]} | {1e3 * summary['mean_s']:.1f} ms | "
                         f"{min(sizes):.4g}-{max(sizes):.4g} | {summary['reached']} of {summary['of']} | {kan} | "
                         + (f"**{even} queries** |" if even else "never (a solve costs no more than a query) |"))
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=["heat1d_param", "helmholtz_param"])
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--train", action="store_true", help="train here instead of loading the saved solution")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    results = []
    for name in args.problems:
        result = run(name, args.queries, args.train)
        results.append(result)
        for method in BASELINES:
            b = result[method]
            print(f"{name} vs {method}: " + ("no baseline (FEM is stationary)" if b is None else
                  f"break-even after {b['break_even']} queries (a solve {1e3 * b['mean_s']:.1f} ms on average, "
                  f"equal accuracy reached at {b['reached']} of {b['of']} values; KAN training {result['train_s']:.0f} s, "
                  f"query {1e3 * result['query_s']:.2f} ms)"), flush=True)
    old = json.loads(OUT.read_text())["results"] if OUT.exists() else []
    results = [r for r in old if r["problem"] not in args.problems] + results  # other problems' rows kept
    payload = {"command": "PYTHONPATH=$PWD python scripts/parametric_breakeven.py --problems NAME.. "
                          f"--queries {args.queries} --threads {args.threads}",
               "note": "wall times on a shared 2-core machine; 'load': its 1-minute load average at the end "
                       "of the problem's queries (absent in older results)", "results": results}
    atomic_write(OUT, lambda tmp: Path(tmp).write_text(json.dumps(payload, indent=1)))
    replace_block(GUIDE, START, END, guide_table(results))
    from kanpde.io.plotting import _figure, save_figure

    fig = _figure(5.0 * len(results), 3.8)
    for i, result in enumerate(results):
        plot_breakeven(result, ax=fig.add_subplot(1, len(results), i + 1))
    save_figure(fig, FIGURE)
    print(f"wrote {OUT.relative_to(ROOT)} and {FIGURE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
