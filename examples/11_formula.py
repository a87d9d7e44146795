"""A formula from a trained KAN: snap each edge to a closed-form function, get a sympy expression.

    u'' = -(π²/2) cos(πx/2) on (-1, 1),  u(±1) = -1,  exact u = 2 cos(πx/2) - 1.

`solution.formula()` fits every edge of the KAN by library functions (sin, cos, exp, x², ...),
snaps those that fit (R² ≥ 0.999), fine-tunes the constants on the PDE and returns sympy.
A one-edge KAN [1, 1] suits a one-ridge solution; the Dirichlet data stay a loss term
(`hard=False`) so the network itself is u. Writes formula.png (KAN, formula and exact u).

Run: python examples/11_formula.py   (KANPDE_EXAMPLE_SCALE=0.05 for a smoke run)
"""
import math
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef
import torch

import kanpde as kp

SCALE = float(os.environ.get("KANPDE_EXAMPLE_SCALE", "1"))
OUT = Path(os.environ.get("KANPDE_EXAMPLE_OUT", "results/examples"))
pi = math.pi

problem = kp.Problem(kp.Interval(-1, 1), lambda x, u: u.d("x", "x") + pi**2 / 2 * torch.cos(pi * x / 2),
                     [kp.Dirichlet(-1.0, hard=False)], exact=lambda x: 2 * torch.cos(pi * x / 2) - 1)
config = kp.TrainConfig(
    interior_points=max(50, round(300 * SCALE)),
    schedule=[kp.Adam(max(5, round(200 * SCALE))), kp.LM(max(2, round(20 * SCALE)), grid=10),
              kp.LM(max(2, round(10 * SCALE)), grid=20)],
    seed=0, verbose=SCALE >= 1,
)
solution = kp.solve(problem, kp.KAN([1, 1]), config)
expr = solution.formula()
compact = not expr.atoms(AppliedUndef)          # edges that fit no library function stay splines S_l_i_o(...)
print("u(x) =", expr, "" if compact else "(not compact: some edges stayed splines)")

x = sp.Symbol("x", real=True)
points = np.linspace(-1, 1, 200)
fig, ax = plt.subplots(figsize=(5.5, 3.4), layout="constrained")
ax.plot(points, solution.predict(points[:, None])[:, 0], lw=3, alpha=0.5, label="KAN")
if compact:
    ax.plot(points, sp.lambdify(x, expr, "numpy")(points) * np.ones_like(points), "--", label="formula")
ax.plot(points, 2 * np.cos(pi * points / 2) - 1, "k:", label="exact")
ax.set(xlabel="x", ylabel="u", title=f"u = {sp.sstr(expr)[:60]}")
ax.legend(loc="lower center")
OUT.mkdir(parents=True, exist_ok=True)
fig.savefig(OUT / "formula.png", dpi=100)
