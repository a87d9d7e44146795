"""d-dimensional Poisson equation on the unit cube (dimension scaling benchmark).

PDE:        Δu = f,   f(x) = -(π²/(4d)) Σ_i sin(π x_i / 2) + e^{-|x|²/d} (4|x|²/d² - 2)
Domain:     [0, 1]^d (coordinates x, y, z for d <= 3, else x1 ... xd)
Conditions: u = exact on the whole boundary (Dirichlet, non-zero data)
Exact:      u(x) = (1/d) Σ_i sin(π x_i / 2) + exp(-|x|²/d)
            (an additive part, which a KAN represents with one layer, plus a
            coupled Gaussian part; both stay O(1) as d grows)
Source:     manufactured for kanpde, in the spirit of the high-dimensional Poisson
            tests of the PINN literature (sums of 1-D sines, Gaussians).
FD:         none (FD = False): kanpde.fd stops at three dimensions.

``problem(d)`` builds any dimension; the registry also lists ``poisson5d`` and
``poisson10d``.
"""

from __future__ import annotations

import math

import torch

import kanpde as kp

NAME = "poisson_nd"
DESCRIPTION = "d-D Poisson Δu = f on [0,1]^d, u = mean sin(πx_i/2) + exp(-|x|²/d), Dirichlet = exact"
FD = False
DEFAULT_DIM = 5
PI = math.pi


def exact(x: torch.Tensor) -> torch.Tensor:
    """u = (1/d) Σ sin(π x_i / 2) + exp(-|x|²/d) with d = x.shape[1], ``(N, d) -> (N, 1)``."""
    d = x.shape[1]
    return (torch.sin(0.5 * PI * x).mean(dim=1, keepdim=True)
            + torch.exp(-(x**2).sum(dim=1, keepdim=True) / d))


def source(x: torch.Tensor) -> torch.Tensor:
    """f = Δu = -(π²/(4d)) Σ sin(π x_i/2) + exp(-|x|²/d) (4|x|²/d² - 2), ``(N, 1)``."""
    d = x.shape[1]
    r2 = (x**2).sum(dim=1, keepdim=True)
    return (-(PI**2 / (4 * d)) * torch.sin(0.5 * PI * x).sum(dim=1, keepdim=True)
            + torch.exp(-r2 / d) * (4 * r2 / d**2 - 2))


def pde(x, u):
    return u.laplacian() - source(x)


def problem(d: int = DEFAULT_DIM) -> kp.Problem:
    """The Poisson problem on ``[0, 1]^d``, named ``f"poisson{d}d"``."""
    if not isinstance(d, int) or isinstance(d, bool) or d < 1:
        raise ValueError(f"poisson_nd: the dimension d must be an int >= 1, got {d!r}")
    domain = kp.Box([0.0] * d, [1.0] * d)
    return kp.Problem(domain, pde, [kp.Dirichlet(exact)], exact=exact, name=f"poisson{d}d")


def fd_solution(resolution=None):
    """No finite-difference counterpart: kanpde.fd solves in one to three dimensions."""
    raise NotImplementedError(f"{NAME} has no finite-difference counterpart (FD = False): "
                              "kanpde.fd stops at three dimensions")


def baseline(d: int = DEFAULT_DIM) -> kp.fd.Linear:
    """The classical baselines' description in ``d`` dimensions: Δu = f, u = exact (``kanpde compare``);
    finite differences on ``[0, 1]^d`` are the only grid method that applies, at ``(n-1)^d`` unknowns."""
    return kp.fd.Linear(problem(d).domain, f=source, g=exact, exact=exact)
