"""Training stages: Adam, L-BFGS and Levenberg-Marquardt, with KAN grid extension.

    Δu = -2π² sin(πx) sin(πy) on [-1, 1]²,  u = 0 on the boundary.

A schedule is a list of stages. `grid=G` first refines the KAN to G intervals (grid extension:
the finer KAN represents the same function, then trains on). Two schedules on the same problem
and points: Adam + L-BFGS, and Adam + LM (the default's choice: a Gauss-Newton step with
adaptive damping, exact on a KAN's Jacobian). Writes training_stages.png (rel L2 against step).

Run: python examples/13_training_stages.py   (KANPDE_EXAMPLE_SCALE=0.05 for a smoke run)
"""
import math
import os
from pathlib import Path

import matplotlib.pyplot as plt
import torch

import kanpde as kp

SCALE = float(os.environ.get("KANPDE_EXAMPLE_SCALE", "1"))
OUT = Path(os.environ.get("KANPDE_EXAMPLE_OUT", "results/examples"))
pi = math.pi

exact = lambda x: torch.sin(pi * x[:, :1]) * torch.sin(pi * x[:, 1:])
problem = kp.Problem(kp.Rectangle((-1, -1), (1, 1)), lambda x, u: u.laplacian() + 2 * pi**2 * exact(x),
                     [kp.Dirichlet(0.0)], exact=exact)
n = lambda steps: max(2, round(steps * SCALE))
schedules = {
    "Adam + L-BFGS": [kp.Adam(n(100)), kp.LBFGS(n(150), grid=5), kp.LBFGS(n(150), grid=10),
                      kp.LBFGS(n(150), grid=20)],
    "Adam + LM": [kp.Adam(n(100)), kp.LM(n(15), grid=5), kp.LM(n(15), grid=10), kp.LM(n(10), grid=20)],
}
fig, ax = plt.subplots(figsize=(5.5, 3.6), layout="constrained")
solutions = {}
for label, schedule in schedules.items():
    config = kp.TrainConfig(interior_points=max(200, round(2000 * SCALE)), schedule=schedule, seed=0,
                            verbose=SCALE >= 1)
    solutions[label] = kp.solve(problem, kp.KAN([2, 10, 1], seed=0), config)
    error = solutions[label].errors()["rel_l2"]
    print(f"{label:14s} rel L2 {error:.2e}")
    ax.semilogy(*solutions[label].history.column("rel_l2"), label=f"{label}: {error:.1e}")
ax.set(xlabel="step (Adam steps, L-BFGS / LM iterations)", ylabel="rel L2 error", title="same problem, two schedules")
ax.legend(loc="upper right")
OUT.mkdir(parents=True, exist_ok=True)
fig.savefig(OUT / "training_stages.png", dpi=100)
