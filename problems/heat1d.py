"""1-D heat equation with a decaying sine mode.

PDE:        u_t = α u_xx,   α = 0.1
Domain:     x in [-1, 1], t in [0, 1]
Conditions: u(±1, t) = 0 (Dirichlet);  u(x, 0) = sin(π x) (Initial)
Exact:      u(x, t) = exp(-α π² t) sin(π x)
Source:     separation of variables (classical Fourier solution).
FD:         :func:`kanpde.fd.heat` (Crank-Nicolson, 3-point Laplacian),
            default n = 128 intervals and nt = 128 steps.
"""

from __future__ import annotations

import math

import torch

import kanpde as kp

from ._common import parse_resolution, save_every

NAME = "heat1d"
DESCRIPTION = "1-D heat u_t = 0.1 u_xx on [-1,1] x [0,1], u = exp(-0.1π²t) sin(πx)"
FD = True
EXPECTED = {"time_s": 70, "peak_gib": None}  # kp.solve with config(): 69.7 s in docs/benchmarks/heat1d.json (under load)
ALPHA = 0.1
LO, HI, T0, T1 = -1.0, 1.0, 0.0, 1.0
DEFAULT_RESOLUTION = (128, 128)
PI = math.pi


def exact(x: torch.Tensor) -> torch.Tensor:
    """u = exp(-απ²t) sin(πx), ``(N, 2) -> (N, 1)`` with columns (x, t)."""
    return torch.exp(-ALPHA * PI**2 * x[:, 1:2]) * torch.sin(PI * x[:, 0:1])


def initial(x: torch.Tensor) -> torch.Tensor:
    """u(x, 0) = sin(πx); reads only the first column, ``(N, 1)``."""
    return torch.sin(PI * x[:, 0:1])


def pde(x, u):
    return u.d("t") - ALPHA * u.d("x", "x")


def problem() -> kp.Problem:
    domain = kp.Interval(LO, HI) * kp.TimeInterval(T0, T1)
    return kp.Problem(domain, pde, [kp.Dirichlet(0.0), kp.Initial(initial)], exact=exact, name=NAME)


def config() -> kp.TrainConfig:
    """Recommended: Adam 100 then Levenberg-Marquardt on grids 5, 10, 20, 40 (15/15/20/10 iterations),
    one window; the initial data (u = u0 + t phi(x) N) and the Dirichlet data are built in
    (hard="auto"), so the PDE residual is the only loss term.

    Measured on one thread by a runner doing exactly what
    ``python scripts/time_accuracy.py --problems heat1d --seeds 0 1 2 --threads 1`` does (the KAN row of
    ``scripts/benchmark.py``: [2, 10, 1] KAN, 3000 points): rel L2 1.0e-7 / 5.3e-7 / 1.3e-7
    (seeds 0 / 1 / 2, 90-130 s on one thread of the loaded shared box) where Adam + L-BFGS
    on the same grids reached 4.5e-6 .. 2.3e-5.
    """
    return kp.TrainConfig(schedule=[kp.Adam(100), kp.LM(15, grid=5), kp.LM(15, grid=10), kp.LM(20, grid=20),
                                    kp.LM(10, grid=40)])


def fd_solution(resolution=None) -> kp.fd.FDSolution:
    """:func:`kanpde.fd.heat` with ``resolution = n`` or ``(n, nt)`` (default (128, 128); nt = n for an int)."""
    n, nt = parse_resolution(resolution, DEFAULT_RESOLUTION, NAME, nt_of_n=lambda n: n)
    return kp.fd.heat(initial, ALPHA, [LO], [HI], n, T1, nt, g=0.0, t0=T0,
                      save_every=save_every(nt))


def baseline() -> kp.fd.Linear:
    """The classical baselines' description: u_t = α u_xx, u = 0, u(x, 0) = sin(πx) (``kanpde compare``)."""
    return kp.fd.Linear(kp.Interval(LO, HI), g=0.0, exact=exact, alpha=ALPHA, u0=initial, time=(T0, T1))
