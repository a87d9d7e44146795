"""2-D heat equation with a decaying sine-product mode.

PDE:        u_t = α (u_xx + u_yy),   α = 0.1
Domain:     (x, y) in [0, 1]², t in [0, 1]
Conditions: u = 0 on the boundary of the square (Dirichlet);
            u(x, y, 0) = sin(π x) sin(π y) (Initial)
Exact:      u(x, y, t) = exp(-2 α π² t) sin(π x) sin(π y)
Source:     separation of variables (classical Fourier solution).
FD:         :func:`kanpde.fd.heat` in 2-D (Crank-Nicolson, 5-point Laplacian),
            default n = 64 intervals per axis and nt = 64 steps.
"""

from __future__ import annotations

import math

import torch

import kanpde as kp

from ._common import parse_resolution, save_every

NAME = "heat2d"
DESCRIPTION = "2-D heat u_t = 0.1 Δu on [0,1]² x [0,1], u = exp(-0.2π²t) sin(πx) sin(πy)"
FD = True
ALPHA = 0.1
LO, HI, T0, T1 = (0.0, 0.0), (1.0, 1.0), 0.0, 1.0
DEFAULT_RESOLUTION = (64, 64)
PI = math.pi


def exact(x: torch.Tensor) -> torch.Tensor:
    """u = exp(-2απ²t) sin(πx) sin(πy), ``(N, 3) -> (N, 1)`` with columns (x, y, t)."""
    return torch.exp(-2 * ALPHA * PI**2 * x[:, 2:3]) * initial(x)


def initial(x: torch.Tensor) -> torch.Tensor:
    """u(x, y, 0) = sin(πx) sin(πy); reads only the first two columns, ``(N, 1)``."""
    return torch.sin(PI * x[:, 0:1]) * torch.sin(PI * x[:, 1:2])


def pde(x, u):
    return u.d("t") - ALPHA * u.laplacian()


def problem() -> kp.Problem:
    domain = kp.Rectangle(LO, HI) * kp.TimeInterval(T0, T1)
    return kp.Problem(domain, pde, [kp.Dirichlet(0.0), kp.Initial(initial)], exact=exact, name=NAME)


def fd_solution(resolution=None) -> kp.fd.FDSolution:
    """:func:`kanpde.fd.heat` with ``resolution = n`` or ``(n, nt)`` (default (64, 64); nt = n for an int)."""
    n, nt = parse_resolution(resolution, DEFAULT_RESOLUTION, NAME, nt_of_n=lambda n: n)
    return kp.fd.heat(initial, ALPHA, LO, HI, n, T1, nt, g=0.0, t0=T0,
                      save_every=save_every(nt))


def baseline() -> kp.fd.Linear:
    """The classical baselines' description: u_t = α Δu, u = 0, u(x, y, 0) = sin(πx) sin(πy)."""
    return kp.fd.Linear(kp.Rectangle(LO, HI), g=0.0, exact=exact, alpha=ALPHA, u0=initial, time=(T0, T1))
