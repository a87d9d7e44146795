"""A periodic condition: the network sees cos/sin of x, so u is periodic by construction.

    u'' - u = -(π² + 1) sin(πx) on [0, 2],  u periodic in x,  exact u = sin(πx).

`kp.Periodic("x")` replaces the input x by (cos, sin)(2πk x / L), k = 1..K: the KAN takes
`problem.input_dim` inputs. Writes periodic.png.

Run: python examples/03_periodic.py   (KANPDE_EXAMPLE_SCALE=0.05 for a smoke run)
"""
import math
import os
from pathlib import Path

import torch

import kanpde as kp

SCALE = float(os.environ.get("KANPDE_EXAMPLE_SCALE", "1"))
OUT = Path(os.environ.get("KANPDE_EXAMPLE_OUT", "results/examples"))
pi = math.pi

exact = lambda x: torch.sin(pi * x)
problem = kp.Problem(kp.Interval(0, 2), lambda x, u: u.d("x", "x") - u.value + (pi**2 + 1) * torch.sin(pi * x),
                     [kp.Periodic("x")], exact=exact, name="periodic")
print("network inputs:", problem.input_dim)          # cos and sin of x instead of x
config = kp.TrainConfig(
    interior_points=max(50, round(400 * SCALE)),
    schedule=[kp.Adam(max(5, round(100 * SCALE))), kp.LM(max(2, round(20 * SCALE)), grid=10)],
    seed=0, verbose=SCALE >= 1,
)
solution = kp.solve(problem, kp.KAN([problem.input_dim, 5, 1]), config)
print(solution.errors())
kp.plotting.plot_solution(solution, path=OUT / "periodic.png")
