"""An inverse problem: learn an unknown coefficient from a few measurements.

    u'' = -a π² sin(πx) on (-1, 1),  u(±1) = 0,  true a = 1.3,  exact u = a sin(πx).

`parameters={"a": 0.5}` declares an unknown scalar with its initial guess; the pde receives it as
`p["a"]`. `kp.Data(points, values)` adds the measurements as a loss term. The learned value is in
`solution.parameters`. Writes inverse.png (u and the measurements).

Run: python examples/07_inverse.py   (KANPDE_EXAMPLE_SCALE=0.05 for a smoke run)
"""
import math
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

import kanpde as kp

SCALE = float(os.environ.get("KANPDE_EXAMPLE_SCALE", "1"))
OUT = Path(os.environ.get("KANPDE_EXAMPLE_OUT", "results/examples"))
pi, a_true = math.pi, 1.3

x_data = np.linspace(-0.9, 0.9, 7)[:, None]                     # 7 measurements, (7, 1)
u_data = a_true * np.sin(pi * x_data)

problem = kp.Problem(
    kp.Interval(-1, 1),
    pde=lambda x, u, p: u.d("x", "x") + p["a"] * pi**2 * torch.sin(pi * x),
    conditions=[kp.Dirichlet(0.0), kp.Data(x_data, u_data)],
    exact=lambda x: a_true * torch.sin(pi * x),
    parameters={"a": 0.5},
)
config = kp.TrainConfig(
    interior_points=max(50, round(300 * SCALE)),
    schedule=[kp.Adam(max(5, round(200 * SCALE)), lr=1e-2), kp.LM(max(2, round(20 * SCALE)), grid=10)],
    seed=0, verbose=SCALE >= 1,
)
solution = kp.solve(problem, kp.KAN([1, 5, 1]), config)
a = float(solution.parameters["a"])
print(f"learned a = {a:.6f} (true {a_true}); errors: {solution.errors()}")

x = np.linspace(-1, 1, 200)[:, None]
fig, ax = plt.subplots(figsize=(5, 3.2), layout="constrained")
ax.plot(x, solution.predict(x), label="KAN u")
ax.plot(x, a_true * np.sin(pi * x), "k:", label="exact u")
ax.plot(x_data, u_data, "o", color="C3", label="measurements")
ax.set(xlabel="x", ylabel="u", title=f"learned a = {a:.5f} (true {a_true}, start 0.5)")
ax.legend(loc="upper left")
OUT.mkdir(parents=True, exist_ok=True)
fig.savefig(OUT / "inverse.png", dpi=100)
