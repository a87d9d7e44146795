"""A time-dependent problem: the 1-D heat equation with an initial condition.

    u_t = α u_xx on (-1, 1) x (0, 1],  u(±1, t) = 0,  u(x, 0) = sin(πx),
    exact u = exp(-α π² t) sin(πx),  α = 0.1.

The domain is a space-time product (coordinates "x", "t"); `kp.Initial` and the Dirichlet data
are both built into the output. Writes heat.png (u against the exact solution at several times).

Run: python examples/04_heat_initial.py   (KANPDE_EXAMPLE_SCALE=0.05 for a smoke run)
"""
import math
import os
from pathlib import Path

import torch

import kanpde as kp

SCALE = float(os.environ.get("KANPDE_EXAMPLE_SCALE", "1"))
OUT = Path(os.environ.get("KANPDE_EXAMPLE_OUT", "results/examples"))
alpha, pi = 0.1, math.pi

domain = kp.Interval(-1, 1) * kp.TimeInterval(0, 1)          # coordinates ("x", "t")
u0 = lambda x: torch.sin(pi * x[:, :1])
exact = lambda x: torch.exp(-alpha * pi**2 * x[:, 1:]) * u0(x)
problem = kp.Problem(domain, lambda x, u: u.d("t") - alpha * u.d("x", "x"),
                     [kp.Dirichlet(0.0), kp.Initial(u0)], exact=exact, name="heat")
config = kp.TrainConfig(
    interior_points=max(200, round(2000 * SCALE)),
    schedule=[kp.Adam(max(5, round(100 * SCALE))), kp.LM(max(2, round(15 * SCALE)), grid=5),
              kp.LM(max(2, round(15 * SCALE)), grid=10)],
    seed=0, verbose=SCALE >= 1,
)
solution = kp.solve(problem, kp.KAN([2, 10, 1]), config)
print(solution.errors())
kp.plotting.plot_time_slices(solution, path=OUT / "heat.png")
