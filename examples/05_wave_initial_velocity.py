"""A second-order-in-time problem: the wave equation with initial position and velocity.

    u_tt = c² u_xx on (0, 1) x (0, 1],  u(0, t) = u(1, t) = 0,
    u(x, 0) = sin(πx),  u_t(x, 0) = 0,   exact u = sin(πx) cos(cπt),  c = 1.

`kp.Initial(v0, derivative=1)` sets the initial velocity. Writes wave.png.

Run: python examples/05_wave_initial_velocity.py   (KANPDE_EXAMPLE_SCALE=0.05 for a smoke run)
"""
import math
import os
from pathlib import Path

import torch

import kanpde as kp

SCALE = float(os.environ.get("KANPDE_EXAMPLE_SCALE", "1"))
OUT = Path(os.environ.get("KANPDE_EXAMPLE_OUT", "results/examples"))
c, pi = 1.0, math.pi

exact = lambda x: torch.sin(pi * x[:, :1]) * torch.cos(c * pi * x[:, 1:])
problem = kp.Problem(
    kp.Interval(0, 1) * kp.TimeInterval(0, 1),
    pde=lambda x, u: u.d("t", "t") - c**2 * u.d("x", "x"),
    conditions=[kp.Dirichlet(0.0),
                kp.Initial(lambda x: torch.sin(pi * x[:, :1])),
                kp.Initial(0.0, derivative=1)],
    exact=exact,
    name="wave",
)
n = lambda steps: max(2, round(steps * SCALE))            # the training budget, scaled
schedule = [kp.Adam(n(100)), kp.LM(n(15), grid=5), kp.LM(n(15), grid=10)]
config = kp.TrainConfig(interior_points=max(200, round(2000 * SCALE)), schedule=schedule, seed=0,
                        verbose=SCALE >= 1)
solution = kp.solve(problem, kp.KAN([2, 10, 1]), config)
print(solution.errors())
kp.plotting.plot_time_slices(solution, path=OUT / "wave.png")
