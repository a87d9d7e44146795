"""2-D Poisson equation of the KAN paper (Liu et al. 2024, arXiv 2404.19756, sec. 3.4).

PDE:        Δu = f,   f(x, y) = -π² (1 + 4y²) sin(π x) sin(π y²) + 2π sin(π x) cos(π y²)
Domain:     [-1, 1]²
Conditions: u = exact on the boundary (Dirichlet; the data vanish there, since
            sin(±π) = 0 on x = ±1 and sin(π y²) = sin(π) = 0 on y = ±1)
Exact:      u(x, y) = sin(π x) sin(π y²)
Source:     Liu et al., "KAN: Kolmogorov-Arnold Networks", arXiv 2404.19756, sec. 3.4
            (the [2, 10, 1] KAN vs MLP comparison). f written out by hand:
            u_xx = -π² u,  u_yy = sin(πx) (2π cos(πy²) - 4π² y² sin(πy²)); the test
            suite checks it against autograd.
FD:         :func:`kanpde.fd.poisson` (second-order, DST), default 64 x 64 intervals.
"""

from __future__ import annotations

import math

import torch

import kanpde as kp

from ._common import parse_resolution

NAME = "poisson2d_paper"
DESCRIPTION = "KAN paper's 2-D Poisson Δu = f on [-1,1]², u = sin(πx) sin(πy²), Dirichlet"
FD = True
LO, HI = (-1.0, -1.0), (1.0, 1.0)
DEFAULT_RESOLUTION = 64
PI = math.pi


def exact(x: torch.Tensor) -> torch.Tensor:
    """u = sin(πx) sin(πy²), ``(N, 2) -> (N, 1)``."""
    return torch.sin(PI * x[:, 0:1]) * torch.sin(PI * x[:, 1:2] ** 2)


def source(x: torch.Tensor) -> torch.Tensor:
    """f = Δu = -π²(1 + 4y²) sin(πx) sin(πy²) + 2π sin(πx) cos(πy²), ``(N, 1)``."""
    sx, y = torch.sin(PI * x[:, 0:1]), x[:, 1:2]
    return sx * (2 * PI * torch.cos(PI * y**2) - PI**2 * (1 + 4 * y**2) * torch.sin(PI * y**2))


def pde(x, u):
    return u.laplacian() - source(x)


def problem() -> kp.Problem:
    return kp.Problem(kp.Rectangle(LO, HI), pde, [kp.Dirichlet(exact)], exact=exact, name=NAME)


def fd_solution(resolution=None, *, order: int = 2) -> kp.fd.FDSolution:
    """:func:`kanpde.fd.poisson` on ``n x n`` intervals (``resolution=n``, default 64; ``order`` 2 or 4)."""
    (n,) = parse_resolution(resolution, (DEFAULT_RESOLUTION,), NAME)
    return kp.fd.poisson(source, LO, HI, n, g=exact, order=order)



def config() -> kp.TrainConfig:
    """Recommended training: a short Adam warm-up, then Levenberg-Marquardt on grids 5 -> 10 -> 20 -> 40.

    Measured against the default (Adam + L-BFGS) by ``scripts/lm_accuracy.py``.
    """
    return kp.TrainConfig(interior_points=3000, schedule=[kp.Adam(100), kp.LM(15, grid=5), kp.LM(15, grid=10),
                                                          kp.LM(20, grid=20), kp.LM(10, grid=40)])


def baseline() -> kp.fd.Linear:
    """The classical baselines' description: Δu = f, u = exact on the boundary (``kanpde compare``)."""
    return kp.fd.Linear(kp.Rectangle(LO, HI), f=source, g=exact, exact=exact)
