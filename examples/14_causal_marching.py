"""Long-time problems: causal weights and time marching.

    u_t = 0.1 u_xx on (-1, 1) x (0, 2],  u(±1, t) = 0,  u(x, 0) = sin(πx).

`kp.Causal(chunks=M)` splits the interior residual into M time chunks and weights chunk i by
exp(-ε Σ_{k<i} L_k): later times train once earlier ones fit. `kp.TimeMarching(windows=W)` trains
W windows one after another, each starting exactly from the previous window's end; the result
is one solution over the whole interval. Writes causal_marching.png.

Run: python examples/14_causal_marching.py   (KANPDE_EXAMPLE_SCALE=0.05 for a smoke run)
"""
import math
import os
from pathlib import Path

import torch

import kanpde as kp

SCALE = float(os.environ.get("KANPDE_EXAMPLE_SCALE", "1"))
OUT = Path(os.environ.get("KANPDE_EXAMPLE_OUT", "results/examples"))
pi = math.pi

u0 = lambda x: torch.sin(pi * x[:, :1])
problem = kp.Problem(kp.Interval(-1, 1) * kp.TimeInterval(0, 2), lambda x, u: u.d("t") - 0.1 * u.d("x", "x"),
                     [kp.Dirichlet(0.0), kp.Initial(u0)],
                     exact=lambda x: torch.exp(-0.1 * pi**2 * x[:, 1:]) * u0(x), name="heat, 2 windows")
config = kp.TrainConfig(
    interior_points=max(200, round(1500 * SCALE)),
    schedule=[kp.Adam(max(5, round(100 * SCALE))), kp.LM(max(2, round(10 * SCALE)), grid=5),
              kp.LM(max(2, round(10 * SCALE)), grid=10)],
    causal=kp.Causal(chunks=8),
    marching=kp.TimeMarching(windows=2),
    seed=0, verbose=SCALE >= 1,
)
solution = kp.solve(problem, kp.KAN([2, 8, 1]), config)   # one solution over [0, 2]
print(solution.errors())
kp.plotting.plot_time_slices(solution, path=OUT / "causal_marching.png")
