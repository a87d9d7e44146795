"""Poisson on a square with a Dirichlet condition: the library's "hello world".

    Δu = -2π² sin(πx) sin(πy) on [-1, 1]²,  u = 0 on the boundary,  exact u = sin(πx) sin(πy).

The zero Dirichlet data are built into the output (u = φ N, `hard="auto"`), so the only loss
term is the PDE residual. Writes poisson.png (u, exact, error).

Run: python examples/01_poisson_dirichlet.py   (KANPDE_EXAMPLE_SCALE=0.05 for a seconds-long smoke run)
"""
import math
import os
from pathlib import Path

import torch

import kanpde as kp

SCALE = float(os.environ.get("KANPDE_EXAMPLE_SCALE", "1"))  # training budget: 1 = the figure's run
OUT = Path(os.environ.get("KANPDE_EXAMPLE_OUT", "results/examples"))
pi = math.pi


def exact(x):                                      # x: (N, 2) points
    return torch.sin(pi * x[:, :1]) * torch.sin(pi * x[:, 1:])


def pde(x, u):                                     # u: Field; returns the residual, (N, 1)
    return u.laplacian() + 2 * pi**2 * exact(x)


problem = kp.Problem(kp.Rectangle((-1, -1), (1, 1)), pde, [kp.Dirichlet(0.0)], exact=exact,
                     name="Poisson, Dirichlet built in")
model = kp.KAN([2, 10, 1], grid=5, k=3)
config = kp.TrainConfig(
    interior_points=max(200, round(2000 * SCALE)),
    schedule=[kp.Adam(max(5, round(100 * SCALE))),
              kp.LM(max(2, round(15 * SCALE)), grid=5),
              kp.LM(max(2, round(15 * SCALE)), grid=10),
              kp.LM(max(2, round(10 * SCALE)), grid=20)],
    seed=0, verbose=SCALE >= 1,
)
solution = kp.solve(problem, model, config)
print(solution.errors())                           # {'rel_l2': ..., 'max_abs': ..., ...}
kp.plotting.plot_solution(solution, path=OUT / "poisson.png")
