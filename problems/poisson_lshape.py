"""Laplace/Poisson equation on the L-shaped domain with the re-entrant corner singularity.

PDE:        Δu = 0
Domain:     the L-shape [-1, 1]² minus [0, 1] x [-1, 0] (``kp.Polygon``), re-entrant corner
            at the origin with interior angle 3π/2
Conditions: u = exact on the boundary (Dirichlet; zero on the two edges at the corner)
Exact:      u = r^(2/3) sin(2θ/3), θ in [0, 3π/2] (polar angle from the positive x axis)
            — harmonic, with gradient ~ r^(-1/3) unbounded at the corner: u is only in
            H^(5/3 - ε), so uniform-mesh FEM converges at about h^(4/3) in L2 for P1 and P2.
Source:     the classical benchmark of adaptive FEM (e.g. Verfürth, "A posteriori error
            estimation techniques", 2013).
FD:         none (FD = False); the baseline is :func:`kanpde.fem.poisson` (P1/P2).
Training:   a soft Dirichlet loss (HARD = False): a hard constraint u = g + phi N would
            need N ~ r^(-1/3) at the corner, and the only closed-form lift is the
            solution itself.
"""

from __future__ import annotations

import math

import torch

import kanpde as kp

NAME = "poisson_lshape"
DESCRIPTION = "Laplace Δu = 0 on the L-shape, u = r^(2/3) sin(2θ/3) (corner singularity), Dirichlet = exact"
FD = False
HARD = False
VERTICES = [(-1.0, -1.0), (0.0, -1.0), (0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (-1.0, 1.0)]


def domain() -> kp.Polygon:
    return kp.Polygon(VERTICES, sides={"corner": [1, 2], "outer": [0, 3, 4, 5]})


def exact(x: torch.Tensor) -> torch.Tensor:
    """u = r^(2/3) sin(2θ/3) with θ = atan2(y, x) taken in [0, 2π), ``(N, 2) -> (N, 1)``."""
    px, py = x[:, 0:1], x[:, 1:2]
    theta = torch.atan2(py, px)
    theta = torch.where(theta < 0, theta + 2 * math.pi, theta)
    return (px ** 2 + py ** 2) ** (1 / 3) * torch.sin(2 * theta / 3)


def pde(x, u):
    return u.laplacian()


def problem() -> kp.Problem:
    return kp.Problem(domain(), pde, [kp.Dirichlet(exact, hard=False)], exact=exact, name=NAME)


def config() -> kp.TrainConfig:
    """Recommended: soft Dirichlet weighted 100 (the corner residual otherwise drowns the boundary term:
    rel L2 3.5e-2 at weight 1 against 6.0e-3, seed 0), more boundary points, L-BFGS over grids 5 -> 20."""
    return kp.TrainConfig(schedule=[kp.Adam(200, lr=0.01), kp.LBFGS(300, grid=5), kp.LBFGS(300, grid=10),
                                    kp.LBFGS(400, grid=20)], interior_points=3000, boundary_points=1000,
                          weights={"dirichlet": 100.0})


def fem_solution(h: float = 0.05, order: int = 1):
    """The finite-element baseline (:func:`kanpde.fem.poisson`)."""
    return kp.fem.poisson(domain(), 0.0, exact, h=h, order=order)


def fd_solution(resolution=None):
    """No finite-difference counterpart: the L-shape is not a box."""
    raise NotImplementedError(f"{NAME} has no finite-difference counterpart (FD = False): use fem_solution()")
