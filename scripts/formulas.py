"""Symbolic formulas of KAN solutions for the benchmark problems, checked by sympy and against the PDE.

    python scripts/formulas.py                      # every problem in problems/ plus a 1-D Poisson
    python scripts/formulas.py poisson2d helmholtz2d

Recipe: the recommended symbolic configuration, the same for every problem (only ``FIRST`` differs
per problem). The problem is solved with every condition as a loss term (``problem.soft()``: with a
built-in Dirichlet factor phi the network would be u / phi, rarely a library function), by
a [d, 2, 1] KAN ([1, 1] in 1-D) whose first-layer edges are snapped to the library function named in
``FIRST`` (linear ``x`` unless a problem says otherwise) and whose output edges are splines, each on
a grid fitted to the range of its inputs (a spline on a fixed wide range resolves cos(w s) too
coarsely to snap: R^2 0.993). The start:

* 2 network inputs and a linear PDE: :func:`kanpde.symbolic.ridge_directions` scores every pair of
  90 directions in [0, pi) by the least soft loss over the output splines (grid 40), a linear
  least-squares problem, and refines the best pair; L-BFGS then trains on grids 40 -> 80.
* otherwise (a nonlinear PDE, d != 2): short Adam warm-ups from ``--restarts`` seeds (random
  first-layer slopes) pick the start with the lowest loss; L-BFGS refines on grids 10 -> 20 -> 40.

:func:`kanpde.symbolic.auto_symbolic` snaps the output edges and fine-tunes on the PDE loss,
and ``solution.formula()`` snaps the constants (tolerance 1e-6). A formula counts as found
when no edge stayed a spline and its rel L2 is at most 1e-6; else "no compact formula".

Prints a Markdown table (problem, formula, rel L2 of the formula on the dense evaluation set,
RMS PDE residual of the formula, whether sympy proves it equal to the known exact solution,
rel L2 of the recipe's trained KAN before snapping, time) and writes it to results/formulas.md.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import sympy as sp
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import kanpde as kp  # noqa: E402
import problems  # noqa: E402
from kanpde.files import atomic_write  # noqa: E402
from kanpde.symbolic import EdgeFit, SymbolicKAN, auto_symbolic, ridge_directions  # noqa: E402

PI = math.pi
x, y = sp.symbols("x y", real=True)
EXACT = {  # the known solutions, to prove the formulas equal
    "poisson2d": sp.sin(sp.pi * x) * sp.sin(sp.pi * y),
    "poisson2d_paper": sp.sin(sp.pi * x) * sp.sin(sp.pi * y ** 2),
    "helmholtz2d": sp.sin(sp.pi * x) * sp.sin(4 * sp.pi * y),
    "poisson1d": 2 * sp.cos(sp.pi * x / 2) - 1,
}
FIRST = {"poisson2d_paper": {1: "x^2"}}   # input index -> first-layer function (others "x")
LIBRARY = ["0", "x", "x^2", "x^3", "sin", "cos", "exp", "tanh"]


def poisson1d() -> kp.Problem:
    """u'' = -(pi^2 / 2) cos(pi x / 2) on [-1, 1], u(-1) = u(1) = -1: u = 2 cos(pi x / 2) - 1."""
    def exact(z):
        return 2 * torch.cos(PI * z / 2) - 1

    return kp.Problem(kp.Interval(-1, 1), lambda z, u: u.d("x", "x") + PI ** 2 / 2 * torch.cos(PI * z / 2),
                      [kp.Dirichlet(-1.0)], exact=exact, name="poisson1d")


WARMUP = [kp.Adam(200, lr=1e-2)]
REFINE = [kp.LBFGS(150), kp.LBFGS(150, grid=20), kp.LBFGS(150, grid=40)]
SEARCH = {"angles": 90, "grid": 40}                # ridge_directions on 2-D linear problems
SEARCH_REFINE = [kp.LBFGS(150), kp.LBFGS(150, grid=80)]  # from the search's grid 40
FINE_TUNE = 100  # L-BFGS iterations on the PDE loss after snapping each layer


def initial_model(problem: kp.Problem, seed: int) -> SymbolicKAN:
    """[1, 1] in 1-D (one spline edge); else [d, 2, 1] with snapped first-layer edges of random slopes."""
    dim = problem.input_dim  # the network's inputs (features= or a periodic embedding add some)
    widths = [1, 1] if dim == 1 else [dim, 2, 1]
    model = SymbolicKAN(kp.KAN(widths, grid=10, k=3, seed=seed).double(), LIBRARY)
    g = torch.Generator().manual_seed(seed)
    first = FIRST.get(problem.name, {})
    for i in range(dim if len(widths) > 2 else 0):
        for o in range(widths[1]):
            slope = 2 * float(torch.randn((), generator=g))
            model.set_function(0, i, o, EdgeFit(first.get(i, "x"), 1.0, 0.0, slope, 0.0, 1.0, 0.0))
    return model


def train(problem: kp.Problem, seed: int, restarts: int, verbose: bool) -> tuple[kp.Solution, str]:
    """2-D linear problems: the ridge-direction search, then L-BFGS; else warm-ups from ``restarts`` seeds and
    grid refinement of the one with the lowest loss. Returns the solution and how it started."""
    def config(schedule):
        return kp.TrainConfig(interior_points=500, boundary_points=100, verbose=verbose, schedule=schedule)

    reason = f"{problem.input_dim} network inputs"
    if problem.input_dim == 2:
        try:
            search = ridge_directions(problem, first=FIRST.get(problem.name), library=LIBRARY, seed=seed,
                                      verbose=verbose, **SEARCH)
        except ValueError as exc:  # a nonlinear PDE or condition: the least-squares search does not apply
            reason = str(exc)
        else:
            angles = ", ".join(f"{math.degrees(t):.2f}" for t in search.angles)
            return kp.solve(problem, search.model, config(SEARCH_REFINE)), f"ridge search: {angles} deg"
    starts = [kp.solve(problem, initial_model(problem, s), config(WARMUP)) for s in range(seed, seed + restarts)]
    best = min(starts, key=lambda start: start.history.steps[-1]["loss"])
    return kp.solve(problem, best.network, config(REFINE)), f"{restarts} warm-ups ({reason})"


def run(problem: kp.Problem, seed: int, restarts: int, verbose: bool) -> dict:
    started = time.perf_counter()
    solution, start = train(problem.soft(), seed, restarts, verbose)
    trained = solution.errors()["rel_l2"]  # the recipe's KAN before snapping
    snapped, report = auto_symbolic(solution, library=LIBRARY, fine_tune_steps=FINE_TUNE, verbose=verbose)
    formula = snapped.formula()
    check = snapped.formula_report()
    exact = EXACT.get(problem.name)
    proven = None if exact is None or not check.compact else bool(sp.simplify(sp.expand_trig(formula - exact)) == 0)
    compact = check.compact and check.rel_l2 is not None and check.rel_l2 <= 1e-6
    return {"problem": problem.name, "formula": sp.sstr(formula) if compact else "no compact formula",
            "latex": check.latex if compact else None, "rel_l2": check.rel_l2, "pde_residual": check.pde_residual,
            "proven": proven, "time_s": time.perf_counter() - started, "kan_rel_l2": trained,
            "start": start}


def table(rows: list[dict]) -> str:
    def num(v):
        return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.1e}"

    lines = ["| problem | formula | rel L2 | PDE residual | = exact (sympy) | KAN rel L2 | time s |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        proven = {True: "yes", False: "no", None: "-"}[r["proven"]]
        formula = f"`{r['formula']}`" if r["formula"] != "no compact formula" else r["formula"]
        lines.append(f"| {r['problem']} | {formula} | {num(r['rel_l2'])} | {num(r['pde_residual'])} | {proven} "
                     f"| {num(r.get('kan_rel_l2'))} | {r['time_s']:.0f} |")
    return "\n".join(lines)


def one(name: str, args) -> dict:
    torch.set_num_threads(args.threads)
    problem = poisson1d() if name == "poisson1d" else problems.load_problem(name)
    try:
        row = {**run(problem, args.seed, args.restarts, args.verbose), "problem": name}  # registry name (poisson_nd)
    except Exception as exc:  # noqa: BLE001 -- one problem this recipe cannot train must not stop the table
        row = {"problem": name, "formula": "no compact formula", "rel_l2": None, "pde_residual": None,
               "proven": None, "time_s": float("nan"), "error": f"{type(exc).__name__}: {exc}"}
    note = row.get("error") or f"start: {row['start']}; KAN rel L2 {row['kan_rel_l2']:.1e}"
    print(table([row]).splitlines()[-1] + f"  ({note})", flush=True)
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="problems (default: all registered ones and poisson1d)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--restarts", type=int, default=4, help="Adam warm-ups from seeds seed, seed+1, ...")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--jobs", type=int, default=1, help="problems run side by side (processes)")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--out", default="results/formulas.md")
    args = parser.parse_args(argv)
    names = args.names or [*problems.names(), "poisson1d"]
    if args.jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(args.jobs) as pool:
            rows = list(pool.map(one, names, [args] * len(names)))
    else:
        rows = [one(name, args) for name in names]
    text = table(rows)
    print(text)
    atomic_write(args.out, lambda tmp: Path(tmp).write_text(text + "\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
