"""2-D Poisson equation with a sine-product solution (the standard PINN smoke test).

PDE:        Δu = f,   f(x, y) = -2 π² sin(π x) sin(π y)
Domain:     [-1, 1]²
Conditions: u = 0 on the whole boundary (Dirichlet)
Exact:      u(x, y) = sin(π x) sin(π y)
Source:     classical manufactured solution; the example of the kanpde API and of
            pykan's PDE tutorial (Liu et al., "KAN: Kolmogorov-Arnold Networks",
            arXiv 2404.19756).
FD:         :func:`kanpde.fd.poisson` (second-order 5-point Laplacian, DST solve),
            default 64 x 64 intervals.
"""

from __future__ import annotations

import math

import torch

import kanpde as kp

from ._common import parse_resolution

NAME = "poisson2d"
DESCRIPTION = "2-D Poisson Δu = f on [-1,1]², u = sin(πx) sin(πy), zero Dirichlet"
FD = True
EXPECTED = {"time_s": 31, "peak_gib": None}  # kanpde solve poisson2d: 30.6 s wall beside the test suite (docs figure run)
LO, HI = (-1.0, -1.0), (1.0, 1.0)
DEFAULT_RESOLUTION = 64
PI = math.pi


def exact(x: torch.Tensor) -> torch.Tensor:
    """u = sin(πx) sin(πy), ``(N, 2) -> (N, 1)``."""
    return torch.sin(PI * x[:, 0:1]) * torch.sin(PI * x[:, 1:2])


def source(x: torch.Tensor) -> torch.Tensor:
    """f = Δu = -2π² sin(πx) sin(πy), ``(N, 1)``."""
    return -2 * PI**2 * exact(x)


def pde(x, u):
    return u.laplacian() - source(x)


def problem() -> kp.Problem:
    return kp.Problem(kp.Rectangle(LO, HI), pde, [kp.Dirichlet(0.0)], exact=exact, name=NAME)


def fd_solution(resolution=None, *, order: int = 2) -> kp.fd.FDSolution:
    """:func:`kanpde.fd.poisson` on ``n x n`` intervals (``resolution=n``, default 64; ``order`` 2 or 4)."""
    (n,) = parse_resolution(resolution, (DEFAULT_RESOLUTION,), NAME)
    return kp.fd.poisson(source, LO, HI, n, g=0.0, order=order)



def config() -> kp.TrainConfig:
    """Recommended training: the defaults. For the [2, 10, 1] KAN ``kp.solve`` sizes them to Adam 100, then
    Levenberg-Marquardt on grids 5 -> 10 -> 20 -> 40 -> 80 at 5000 points (:mod:`kanpde.train.sizing`).

    Measured against Adam + L-BFGS by ``scripts/lm_accuracy.py``; seeds 0-2 by ``scripts/accuracy_defaults.py``.
    """
    return kp.TrainConfig()


def baseline() -> kp.fd.Linear:
    """The classical baselines' description: Δu = f, u = 0 (``kanpde compare``)."""
    return kp.fd.Linear(kp.Rectangle(LO, HI), f=source, g=0.0, exact=exact)
