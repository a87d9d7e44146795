"""Poisson equation on a square plate with a circular hole, manufactured solution.

PDE:        Δu = f,   f = Δ(exact) (closed form evaluated by autograd)
Domain:     [-1, 1]² minus the disk |(x, y)| < 0.4  (``kp.Rectangle(...) - kp.Disk(...)``)
Conditions: u = eˣ cos y on the outer square and on the hole (Dirichlet)
Exact:      u = eˣ cos y + w,  w = (1 - x²)(1 - y²)(x² + y² - 0.16) cos(x + y)
            (the harmonic part carries the boundary data; w vanishes on both
            boundaries, so the Dirichlet data is eˣ cos y and nothing of the interior
            solution leaks into a hard-constraint lift)
Source:     manufactured for kanpde (holes, CSG, R-function distance functions).
FD:         none (FD = False); the baseline is :func:`kanpde.fem.poisson` (P1/P2).
"""

from __future__ import annotations

import torch

import kanpde as kp

NAME = "poisson_plate_hole"
DESCRIPTION = "Poisson Δu = f on [-1,1]² minus a disk of radius 0.4, Dirichlet eˣ cos y, manufactured u"
FD = False
RADIUS = 0.4


def domain() -> kp.Domain:
    return kp.Rectangle((-1.0, -1.0), (1.0, 1.0)) - kp.Disk((0.0, 0.0), RADIUS)


def boundary_data(x: torch.Tensor) -> torch.Tensor:
    """g = eˣ cos y, ``(N, 1)``: the exact solution's trace on both boundaries."""
    return torch.exp(x[:, 0:1]) * torch.cos(x[:, 1:2])


def exact(x: torch.Tensor) -> torch.Tensor:
    """u = eˣ cos y + (1 - x²)(1 - y²)(x² + y² - R²) cos(x + y), ``(N, 1)``."""
    px, py = x[:, 0:1], x[:, 1:2]
    bubble = (1 - px ** 2) * (1 - py ** 2) * (px ** 2 + py ** 2 - RADIUS ** 2) * torch.cos(px + py)
    return boundary_data(x) + bubble


def source(x: torch.Tensor) -> torch.Tensor:
    """f = Δu by autograd of the closed form (exact to rounding), ``(N, 1)``."""
    with torch.enable_grad():
        z = x.detach().clone().requires_grad_(True)
        grad = torch.autograd.grad(exact(z).sum(), z, create_graph=True)[0]
        lap = sum(torch.autograd.grad(grad[:, i].sum(), z, retain_graph=True)[0][:, i] for i in range(2))
    return lap.detach().unsqueeze(1)


def pde(x, u):
    return u.laplacian() - source(x)


def problem() -> kp.Problem:
    return kp.Problem(domain(), pde, [kp.Dirichlet(boundary_data)], exact=exact, name=NAME)


def config() -> kp.TrainConfig:
    """Recommended: hard Dirichlet (R-function distance), Adam warm-up, L-BFGS over grids 5 -> 20."""
    return kp.TrainConfig(schedule=[kp.Adam(200, lr=0.01), kp.LBFGS(300, grid=5), kp.LBFGS(300, grid=10),
                                    kp.LBFGS(400, grid=20)], interior_points=3000, boundary_points=600)


def fem_solution(h: float = 0.05, order: int = 2):
    """The finite-element baseline (:func:`kanpde.fem.poisson`)."""
    return kp.fem.poisson(domain(), source, boundary_data, h=h, order=order)


def fd_solution(resolution=None):
    """No finite-difference counterpart: the plate has a hole."""
    raise NotImplementedError(f"{NAME} has no finite-difference counterpart (FD = False): the domain has a hole; "
                              "use fem_solution()")


def baseline() -> kp.fd.Linear:
    """The classical baselines' description: Δu = f, u = eˣ cos y on both boundaries (``kanpde compare``)."""
    return kp.fd.Linear(domain(), f=source, g=boundary_data, exact=exact)
