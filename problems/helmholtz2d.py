"""2-D Helmholtz equation, the PINN benchmark of Wang, Teng & Perdikaris (2021).

PDE:        Δu + k² u = f,   f = (k² - (a1² + a2²) π²) sin(a1 π x) sin(a2 π y)
            with a1 = 1, a2 = 4, k = 1
Domain:     [-1, 1]²
Conditions: u = 0 on the whole boundary (Dirichlet)
Exact:      u(x, y) = sin(a1 π x) sin(a2 π y)
Source:     S. Wang, Y. Teng, P. Perdikaris, "Understanding and mitigating gradient
            flow pathologies in physics-informed neural networks", SIAM J. Sci.
            Comput. 43 (2021) (the Helmholtz example).
FD:         :func:`kanpde.fd.helmholtz` (5-point Laplacian, sparse direct solve),
            default 128 x 128 intervals.
"""

from __future__ import annotations

import math

import torch

import kanpde as kp

from ._common import parse_resolution

NAME = "helmholtz2d"
DESCRIPTION = "2-D Helmholtz Δu + k²u = f on [-1,1]², u = sin(πx) sin(4πy), k = 1, zero Dirichlet"
FD = True
A1, A2, K = 1.0, 4.0, 1.0
LO, HI = (-1.0, -1.0), (1.0, 1.0)
DEFAULT_RESOLUTION = 128
PI = math.pi


def exact(x: torch.Tensor) -> torch.Tensor:
    """u = sin(a1 π x) sin(a2 π y), ``(N, 2) -> (N, 1)``."""
    return torch.sin(A1 * PI * x[:, 0:1]) * torch.sin(A2 * PI * x[:, 1:2])


def source(x: torch.Tensor) -> torch.Tensor:
    """f = Δu + k²u = (k² - (a1² + a2²) π²) u, ``(N, 1)``."""
    return (K**2 - (A1**2 + A2**2) * PI**2) * exact(x)


def pde(x, u):
    return u.laplacian() + K**2 * u.value - source(x)


def problem() -> kp.Problem:
    return kp.Problem(kp.Rectangle(LO, HI), pde, [kp.Dirichlet(0.0)], exact=exact, name=NAME)


def fd_solution(resolution=None) -> kp.fd.FDSolution:
    """:func:`kanpde.fd.helmholtz` on ``n x n`` intervals (``resolution=n``, default 128)."""
    (n,) = parse_resolution(resolution, (DEFAULT_RESOLUTION,), NAME)
    return kp.fd.helmholtz(source, K, LO, HI, n, g=0.0)



def config() -> kp.TrainConfig:
    """Recommended training: Adam, then Levenberg-Marquardt (Levenberg's damping) on grids 5 -> 80 at 6000 points.

    sin(4πy) and its second derivative need the finer grid: rel L2 with a [2, 10, 1] KAN, seeds 0, 1, 2:
    9.6e-5, 4.3e-5, 1.15e-4 (the default schedule, grid 40 and 3000 points: 5.7e-4, 9.4e-4, 5.0e-4),
    measured with ``kp.solve(problem(), kp.KAN([2, 10, 1], seed=s), dataclasses.replace(config(), seed=s))``
    (one thread, 760 s each on a loaded 2-core machine).
    """
    schedule = [kp.Adam(100)] + [kp.LM(20, grid=g, scaling="levenberg") for g in (5, 10, 20, 40, 80)]
    return kp.TrainConfig(interior_points=6000, schedule=schedule)
