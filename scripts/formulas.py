"""Symbolic formulas of KAN solutions for the benchmark problems, checked by sympy and against the PDE.

    python scripts/formulas.py                      # every problem in problems/ plus a 1-D Poisson
    python scripts/formulas.py poisson2d helmholtz2d

Recipe (the "recommended configuration" of the symbolic workflow, per problem below):
a [d, 2, 1] KAN whose first-layer edges start snapped to the library function named in
``FIRST`` (linear ``x`` unless a problem says otherwise; random slopes) and whose output
edges are splines on grid 20, is trained on the PDE (Adam then L-BFGS, float64); then
:func:`kanpde.symbolic.auto_symbolic` snaps the remaining edges layer by layer and
fine-tunes on the PDE loss, and ``solution.formula()`` snaps the constants (tolerance 1e-6).
Problems without an entry in ``FIRST`` use plain ``x`` edges and report "no compact
formula" when the snapped solution is not accurate (rel L2 > 1e-6) or edges stay splines.

Prints a Markdown table (problem, formula, rel L2 of the formula on the dense evaluation set,
RMS PDE residual of the formula, whether sympy proves it equal to the known exact solution,
time) and writes it to results/formulas.md.
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
from kanpde.symbolic import EdgeFit, SymbolicKAN, auto_symbolic  # noqa: E402

PI = math.pi
x, y = sp.symbols("x y", real=True)
EXACT = {  # the known solutions, to prove the formulas equal
    "poisson2d": sp.sin(sp.pi * x) * sp.sin(sp.pi * y),
    "poisson2d_paper": sp.sin(sp.pi * x) * sp.sin(sp.pi * y ** 2),
    "helmholtz2d": sp.sin(sp.pi * x) * sp.sin(4 * sp.pi * y),
    "poisson1d": sp.sin(sp.pi * x) + x ** 2,
}
FIRST = {"poisson2d_paper": {1: "x^2"}}   # input index -> first-layer function (others "x")
LIBRARY = ["0", "x", "x^2", "x^3", "sin", "cos", "exp", "tanh"]


def poisson1d() -> kp.Problem:
    """u'' = 2 - pi^2 sin(pi x) on [-1, 1], u(-1) = u(1) = 1: u = sin(pi x) + x^2."""
    def exact(z):
        return torch.sin(PI * z) + z ** 2

    return kp.Problem(kp.Interval(-1, 1), lambda z, u: u.d("x", "x") - 2 + PI ** 2 * torch.sin(PI * z),
                      [kp.Dirichlet(exact)], exact=exact, name="poisson1d")


def initial_model(problem: kp.Problem, seed: int) -> SymbolicKAN:
    dim = problem.domain.dim
    model = SymbolicKAN(kp.KAN([dim, 2, 1], grid=20, k=3, seed=seed, grid_range=(-8, 8)).double(), LIBRARY)
    g = torch.Generator().manual_seed(seed)
    first = FIRST.get(problem.name, {})
    for i in range(dim):
        for o in range(2):
            slope = 2 * float(torch.randn((), generator=g))
            model.set_function(0, i, o, EdgeFit(first.get(i, "x"), 1.0, 0.0, slope, 0.0, 1.0, 0.0))
    return model


def run(problem: kp.Problem, seed: int, verbose: bool) -> dict:
    started = time.perf_counter()
    config = kp.TrainConfig(interior_points=1000, boundary_points=200, verbose=verbose,
                            schedule=[kp.Adam(300, lr=1e-2), kp.LBFGS(400)])
    solution = kp.solve(problem, initial_model(problem, seed), config)
    snapped, report = auto_symbolic(solution, library=LIBRARY, fine_tune_steps=100, verbose=verbose)
    formula = snapped.formula()
    check = snapped.formula_report()
    exact = EXACT.get(problem.name)
    proven = None if exact is None or not check.compact else bool(sp.simplify(sp.expand_trig(formula - exact)) == 0)
    compact = check.compact and check.rel_l2 is not None and check.rel_l2 <= 1e-6
    return {"problem": problem.name, "formula": sp.sstr(formula) if compact else "no compact formula",
            "latex": check.latex if compact else None, "rel_l2": check.rel_l2, "pde_residual": check.pde_residual,
            "proven": proven, "time_s": time.perf_counter() - started, "kan_rel_l2": snapped.errors()["rel_l2"]}


def table(rows: list[dict]) -> str:
    def num(v):
        return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.1e}"

    lines = ["| problem | formula | rel L2 | PDE residual | = exact (sympy) | time s |", "|---|---|---|---|---|---|"]
    for r in rows:
        proven = {True: "yes", False: "no", None: "-"}[r["proven"]]
        formula = f"`{r['formula']}`" if r["formula"] != "no compact formula" else r["formula"]
        lines.append(f"| {r['problem']} | {formula} | {num(r['rel_l2'])} | {num(r['pde_residual'])} | {proven} "
                     f"| {r['time_s']:.0f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="problems (default: all registered ones and poisson1d)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--out", default="results/formulas.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    names = args.names or [*problems.names(), "poisson1d"]
    rows = []
    for name in names:
        problem = poisson1d() if name == "poisson1d" else problems.load_problem(name)
        try:
            row = run(problem, args.seed, args.verbose)
        except (ValueError, RuntimeError) as exc:  # e.g. a problem this recipe cannot train
            row = {"problem": name, "formula": "no compact formula", "rel_l2": None, "pde_residual": None,
                   "proven": None, "time_s": float("nan"), "error": str(exc)}
        rows.append(row)
        print(table([row]).splitlines()[-1] + (f"  ({row['error']})" if "error" in row else ""), flush=True)
    text = table(rows)
    print(text)
    atomic_write(args.out, lambda tmp: Path(tmp).write_text(text + "\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
