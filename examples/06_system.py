"""A system of two fields: Poisson split into two equations, one per output.

    Δu = v,   v = -2π² sin(πx) sin(πy)   on [-1, 1]²,   u = 0 on the boundary,
    exact u = sin(πx) sin(πy),  v = -2π² u.

`outputs=("u", "v")` names the components; the network has one output per component, the pde
returns one residual per equation, conditions take `component=`, and `solution.errors()` reports
each component. Writes system.png (the v component).

Run: python examples/06_system.py   (KANPDE_EXAMPLE_SCALE=0.05 for a smoke run)
"""
import math
import os
from pathlib import Path

import torch

import kanpde as kp

SCALE = float(os.environ.get("KANPDE_EXAMPLE_SCALE", "1"))
OUT = Path(os.environ.get("KANPDE_EXAMPLE_OUT", "results/examples"))
pi = math.pi

f = lambda x: -2 * pi**2 * torch.sin(pi * x[:, :1]) * torch.sin(pi * x[:, 1:])
exact = lambda x: torch.cat([f(x) / (-2 * pi**2), f(x)], dim=1)   # (N, 2): u, v


def pde(x, fields):
    u, v = fields["u"], fields["v"]
    return u.laplacian() - v.value, v.value - f(x)                  # two residuals


problem = kp.Problem(kp.Rectangle((-1, -1), (1, 1)), pde, [kp.Dirichlet(0.0, component="u")],
                     exact=exact, outputs=("u", "v"), name="system")
config = kp.TrainConfig(
    interior_points=max(200, round(2000 * SCALE)),
    schedule=[kp.Adam(max(5, round(100 * SCALE))), kp.LM(max(2, round(15 * SCALE)), grid=5),
              kp.LM(max(2, round(10 * SCALE)), grid=10)],
    seed=0, verbose=SCALE >= 1,
)
solution = kp.solve(problem, kp.KAN([2, 10, 2]), config)
print(solution.errors())                                             # per component and overall
kp.plotting.plot_solution(solution, path=OUT / "system.png", component="v")
