"""3-D Poisson equation with a sine-product solution.

PDE:        Δu = f,   f = -3π² sin(π x) sin(π y) sin(π z)
Domain:     [-1, 1]³
Conditions: u = 0 on the whole boundary (Dirichlet)
Exact:      u(x, y, z) = sin(π x) sin(π y) sin(π z)
Source:     classical manufactured solution (3-D analogue of ``poisson2d``).
FD:         :func:`kanpde.fd.poisson` in 3-D (7-point Laplacian, DST solve),
            default 48³ intervals.
"""

from __future__ import annotations

import math

import torch

import kanpde as kp

from ._common import parse_resolution

NAME = "poisson3d"
DESCRIPTION = "3-D Poisson Δu = f on [-1,1]³, u = sin(πx) sin(πy) sin(πz), zero Dirichlet"
FD = True
LO, HI = (-1.0, -1.0, -1.0), (1.0, 1.0, 1.0)
DEFAULT_RESOLUTION = 48
PI = math.pi


def exact(x: torch.Tensor) -> torch.Tensor:
    """u = sin(πx) sin(πy) sin(πz), ``(N, 3) -> (N, 1)``."""
    return torch.prod(torch.sin(PI * x[:, 0:3]), dim=1, keepdim=True)


def source(x: torch.Tensor) -> torch.Tensor:
    """f = Δu = -3π² u, ``(N, 1)``."""
    return -3 * PI**2 * exact(x)


def pde(x, u):
    return u.laplacian() - source(x)


def problem() -> kp.Problem:
    return kp.Problem(kp.Box(LO, HI), pde, [kp.Dirichlet(0.0)], exact=exact, name=NAME)


def fd_solution(resolution=None, *, order: int = 2) -> kp.fd.FDSolution:
    """:func:`kanpde.fd.poisson` on ``n³`` intervals (``resolution=n``, default 48; ``order`` 2 or 4)."""
    (n,) = parse_resolution(resolution, (DEFAULT_RESOLUTION,), NAME)
    return kp.fd.poisson(source, LO, HI, n, g=0.0, order=order)


def baseline() -> kp.fd.Linear:
    """The classical baselines' description: Δu = f, u = 0 (``kanpde compare``)."""
    return kp.fd.Linear(kp.Box(LO, HI), f=source, g=0.0, exact=exact)
