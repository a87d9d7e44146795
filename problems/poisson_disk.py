"""Poisson equation on the unit disk with a manufactured, non-symmetric solution.

PDE:        Δu = f,   f(x, y) = -2π sin(π r²/2) - π² r² cos(π r²/2),   r² = x² + y²
Domain:     the unit disk |(x, y)| <= 1
Conditions: u = exact on the circle (Dirichlet; there u = eˣ sin y, non-zero)
Exact:      u(x, y) = eˣ sin(y) + cos(π r²/2)
            (a harmonic part that carries the boundary data plus a radial bump
            that carries the source: Δ eˣ sin y = 0 and, for g(r) = cos(π r²/2),
            Δg = g'' + g'/r = -2π sin(π r²/2) - π² r² cos(π r²/2))
Source:     manufactured for kanpde (curved boundary, non-zero Dirichlet data).
FD:         none (FD = False): kanpde.fd works on boxes only.
"""

from __future__ import annotations

import math

import torch

import kanpde as kp

NAME = "poisson_disk"
DESCRIPTION = "Poisson Δu = f on the unit disk, u = eˣ sin y + cos(πr²/2), Dirichlet = exact"
FD = False
PI = math.pi


def exact(x: torch.Tensor) -> torch.Tensor:
    """u = exp(x) sin(y) + cos(π r²/2), ``(N, 2) -> (N, 1)``."""
    px, py = x[:, 0:1], x[:, 1:2]
    return torch.exp(px) * torch.sin(py) + torch.cos(0.5 * PI * (px**2 + py**2))


def source(x: torch.Tensor) -> torch.Tensor:
    """f = Δu = -2π sin(π r²/2) - π² r² cos(π r²/2), ``(N, 1)``."""
    r2 = x[:, 0:1] ** 2 + x[:, 1:2] ** 2
    return -2 * PI * torch.sin(0.5 * PI * r2) - PI**2 * r2 * torch.cos(0.5 * PI * r2)


def pde(x, u):
    return u.laplacian() - source(x)


def problem() -> kp.Problem:
    return kp.Problem(kp.Disk((0.0, 0.0), 1.0), pde, [kp.Dirichlet(exact)], exact=exact, name=NAME)


def fd_solution(resolution=None):
    """No finite-difference counterpart: the disk is not a box."""
    raise NotImplementedError(f"{NAME} has no finite-difference counterpart (FD = False): "
                              "kanpde.fd solves on boxes, and this domain is a disk")


def baseline() -> kp.fd.Linear:
    """The classical baselines' description: Δu = f, u = exact on the circle (``kanpde compare``)."""
    return kp.fd.Linear(kp.Disk((0.0, 0.0), 1.0), f=source, g=exact, exact=exact)
