"""Formulas read off KAN solutions (``kp.symbolic.formula``), proved equal to the exact ones by sympy.

    python scripts/formulas.py                        # heat1d advection1d poisson3d helmholtz_gauss, trained
    python scripts/formulas.py poisson2d --exact      # distil the exact solution's samples (no training)
    python scripts/formulas.py --figures docs/img     # also draw each distilled KAN

Each problem is trained with a short schedule (``--steps``: Adam then LM on grids 10 and 20 of a
[d, 10, 1] KAN; ``--config recommended`` uses the problem's own ``config()``), then
:func:`kanpde.symbolic.formula` distils, snaps, refits and verifies. ``helmholtz_gauss`` is
Delta u + k^2 u = exp(-|x|^2 / (2 s^2)) on [-1, 1]^2 with u = 0 on the boundary: no closed form
in the library, so the result is the best compact formula with its error and residual.

Prints a Markdown table (problem, formula, nodes, rel L2 against the KAN and the exact solution,
RMS PDE residual of the formula, whether sympy proves it equal to the exact solution, KAN rel L2,
seconds for training and for the formula) and writes it to ``--out``.
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

PI = math.pi
x, y, z, t = sp.symbols("x y z t", real=True)
EXACT = {  # the known solutions, to prove the formulas equal
    "poisson2d": sp.sin(sp.pi * x) * sp.sin(sp.pi * y),
    "poisson3d": sp.sin(sp.pi * x) * sp.sin(sp.pi * y) * sp.sin(sp.pi * z),
    "heat1d": sp.exp(-sp.pi ** 2 * t / 10) * sp.sin(sp.pi * x),
    "advection1d": sp.sin(sp.pi * (x - t)),
    "helmholtz2d": sp.sin(sp.pi * x) * sp.sin(4 * sp.pi * y),
}
DEFAULT = ["heat1d", "advection1d", "poisson3d", "helmholtz_gauss"]
K, SIGMA = 2.0, 0.25


def helmholtz_gauss() -> kp.Problem:
    """Delta u + k^2 u = exp(-|x|^2 / (2 sigma^2)) on [-1, 1]^2, u = 0 on the boundary (no closed form)."""
    def pde(p, u):
        return u.laplacian() + K ** 2 * u.value - torch.exp(-(p ** 2).sum(1, keepdim=True) / (2 * SIGMA ** 2))

    return kp.Problem(kp.Rectangle((-1, -1), (1, 1)), pde, [kp.Dirichlet(0.0)], name="helmholtz_gauss")


def load(name: str) -> kp.Problem:
    return helmholtz_gauss() if name == "helmholtz_gauss" else problems.load_problem(name)


class ExactSolution:
    """A solution whose u is the exact one (``--exact``): what formula() sees when training is perfect."""

    def __init__(self, problem: kp.Problem):
        self.problem, self.parameters = problem, {}
        self.model = lambda p: problem.solution_values(p)


def train(name: str, problem: kp.Problem, steps: int, recommended: bool) -> kp.Solution:
    if recommended and hasattr(problems.get(name) if name != "helmholtz_gauss" else None, "config"):
        return kp.solve(problem, config=problems.get(name).config())
    model = kp.KAN([problem.input_dim, 10, 1], grid=10, k=3, seed=0)
    schedule = [kp.Adam(steps, lr=1e-2), kp.LM(steps // 5), kp.LM(steps // 5, grid=20)]
    return kp.solve(problem, model, kp.TrainConfig(interior_points=2000, schedule=schedule, verbose=False))


def run(name: str, exact: bool = False, steps: int = 100, recommended: bool = False, figures: Path | None = None):
    problem = load(name)
    started = time.perf_counter()
    solution = ExactSolution(problem) if exact else train(name, problem, steps, recommended)
    trained = time.perf_counter() - started
    kan = None if exact or not problem.has_solution() else solution.errors()["rel_l2"]
    found = kp.symbolic.formula(solution, verbose=False)
    known = EXACT.get(name)
    proven = None if known is None else bool(sp.simplify(sp.expand_trig(found.expr - known)) == 0)
    if figures is not None:
        import matplotlib.pyplot as plt

        ax = kp.symbolic.plot_distilled(found)
        figures.mkdir(parents=True, exist_ok=True)
        ax.figure.savefig(figures / f"formula_{name}.png", dpi=130, bbox_inches="tight")
        plt.close(ax.figure)
    return {"problem": name, "formula": found.text, "nodes": found.n_nodes, "rel_l2": found.rel_l2,
            "rel_l2_exact": found.rel_l2_exact, "residual": found.residual, "proven": proven, "kan_rel_l2": kan,
            "train_s": trained, "formula_s": found.seconds, "shape": found.shape, "compact": found.compact}


def table(rows: list[dict]) -> str:
    def num(v):
        return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.1e}"

    lines = ["| problem | formula | nodes | rel L2 vs KAN | rel L2 vs exact | PDE residual | = exact (sympy) "
             "| KAN rel L2 | train s | formula s |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        proven = {True: "yes", False: "no", None: "-"}[r["proven"]]
        lines.append(f"| {r['problem']} | `{r['formula']}` | {r['nodes']} | {num(r['rel_l2'])} | "
                     f"{num(r['rel_l2_exact'])} | {num(r['residual'])} | {proven} | {num(r['kan_rel_l2'])} | "
                     f"{r['train_s']:.0f} | {r['formula_s']:.1f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"problems (default: {' '.join(DEFAULT)})")
    parser.add_argument("--exact", action="store_true", help="distil the exact solution instead of a trained KAN")
    parser.add_argument("--steps", type=int, default=100, help="Adam steps of the short schedule (LM: steps / 5)")
    parser.add_argument("--config", choices=("short", "recommended"), default="short")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--figures", default=None, help="folder for the distilled KANs' figures")
    parser.add_argument("--out", default="results/formulas.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    for name in args.names or DEFAULT:
        rows.append(run(name, args.exact, args.steps, args.config == "recommended",
                        Path(args.figures) if args.figures else None))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
    text = table(rows)
    print(text)
    atomic_write(args.out, lambda tmp: Path(tmp).write_text(text + "\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
