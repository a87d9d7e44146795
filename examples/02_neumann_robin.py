"""Mixed boundary conditions: Dirichlet, Neumann and Robin on different sides of a square.

    Δu = 0 on [0, 1]², exact u = eˣ sin(y)
    left:   u = eˣ sin(y)                 (Dirichlet, built into the output)
    right:  ∂u/∂n = u_x                   (Neumann; n is the outward normal)
    bottom: ∂u/∂n = -u_y
    top:    u + 2 ∂u/∂n = u + 2 u_y       (Robin: alpha u + beta ∂u/∂n = g)

`on=` picks a side by name ("left", "right", "bottom", "top") or by a predicate of the points.
Writes neumann_robin.png.

Run: python examples/02_neumann_robin.py   (KANPDE_EXAMPLE_SCALE=0.05 for a smoke run)
"""
import os
from pathlib import Path

import torch

import kanpde as kp

SCALE = float(os.environ.get("KANPDE_EXAMPLE_SCALE", "1"))
OUT = Path(os.environ.get("KANPDE_EXAMPLE_OUT", "results/examples"))

exact = lambda x: torch.exp(x[:, :1]) * torch.sin(x[:, 1:])   # harmonic: Δu = 0
u_x = exact
u_y = lambda x: torch.exp(x[:, :1]) * torch.cos(x[:, 1:])

problem = kp.Problem(
    kp.Rectangle((0, 0), (1, 1)),
    pde=lambda x, u: u.laplacian(),
    conditions=[
        kp.Dirichlet(exact, on="left"),
        kp.Neumann(u_x, on="right"),
        kp.Neumann(lambda x: -u_y(x), on="bottom"),
        kp.Robin(1.0, 2.0, lambda x: exact(x) + 2 * u_y(x), on="top"),
    ],
    exact=exact,
    name="Laplace, Dirichlet / Neumann / Robin sides",
)
config = kp.TrainConfig(
    interior_points=max(200, round(2000 * SCALE)), boundary_points=max(40, round(300 * SCALE)),
    schedule=[kp.Adam(max(5, round(100 * SCALE))), kp.LM(max(2, round(15 * SCALE)), grid=5),
              kp.LM(max(2, round(15 * SCALE)), grid=10)],
    seed=0, verbose=SCALE >= 1,
)
solution = kp.solve(problem, kp.KAN([2, 8, 1]), config)   # the Neumann/Robin terms are balanced automatically
print(solution.errors())
kp.plotting.plot_solution(solution, path=OUT / "neumann_robin.png")
