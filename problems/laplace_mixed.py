"""Laplace equation on the unit square with Dirichlet, Neumann and Robin sides.

PDE:        Δu = 0
Domain:     [0, 1]²
Conditions: u = exact on the left and right sides (Dirichlet);
            du/dn = -u_y on the bottom (Neumann, outward normal -y);
            u + 2 du/dn = u + 2 u_y on the top (Robin)
Exact:      u(x, y) = eˣ sin(y)   (harmonic)
Source:     manufactured for kanpde (the mixed-boundary example of the README and
            of issue 10's accuracy targets).
FD:         none (FD = False): kanpde.fd solves Dirichlet problems only.
"""

from __future__ import annotations

import torch

import kanpde as kp

NAME = "laplace_mixed"
DESCRIPTION = "Laplace Δu = 0 on [0,1]², u = eˣ sin y, Dirichlet left/right, Neumann bottom, Robin top"
FD = False


def exact(x: torch.Tensor) -> torch.Tensor:
    """u = exp(x) sin(y), ``(N, 2) -> (N, 1)``."""
    return torch.exp(x[:, 0:1]) * torch.sin(x[:, 1:2])


def exact_y(x: torch.Tensor) -> torch.Tensor:
    """u_y = exp(x) cos(y), ``(N, 1)``."""
    return torch.exp(x[:, 0:1]) * torch.cos(x[:, 1:2])


def pde(x, u):
    return u.laplacian()


def problem() -> kp.Problem:
    conditions = [kp.Dirichlet(exact, on="left"), kp.Dirichlet(exact, on="right"),
                  kp.Neumann(lambda x: -exact_y(x), on="bottom"),
                  kp.Robin(1.0, 2.0, lambda x: exact(x) + 2 * exact_y(x), on="top")]
    return kp.Problem(kp.Rectangle((0.0, 0.0), (1.0, 1.0)), pde, conditions, exact=exact, name=NAME)


def fd_solution(resolution=None):
    """No finite-difference counterpart: kanpde.fd has no Neumann/Robin sides."""
    raise NotImplementedError(f"{NAME} has no finite-difference counterpart (FD = False): "
                              "kanpde.fd solves Dirichlet problems, this one has Neumann and Robin sides")


def baseline() -> kp.fd.Linear:
    """The classical baselines' description: Δu = 0 with u = exact on the *whole* boundary (the same
    solution; the baselines do not treat the Neumann and Robin sides)."""
    return kp.fd.Linear(kp.Rectangle((0.0, 0.0), (1.0, 1.0)), f=0.0, g=exact, exact=exact)
