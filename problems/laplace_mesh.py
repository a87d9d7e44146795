"""Laplace equation on a bracket read from a bundled gmsh file, with mixed conditions.

PDE:        Δu = 0
Domain:     ``kp.MeshDomain.from_file("problems/data/bracket.msh")``: a bracket (2 x 0.5 arm,
            0.8 x 1.5 upright), 256 triangles, physical groups "bottom", "tip", "wall"
            (written by scripts/make_bracket_mesh.py)
Conditions: u = exact on "wall" (Dirichlet); du/dn = 0 on "bottom" (y = 0);
            du/dn = cosh(x) cos(y) on "tip" (x = 2) (Neumann)
Exact:      u = sinh(x) cos(y)   (harmonic)
Source:     manufactured for kanpde (domains from mesh files, named sides from gmsh groups).
FD:         none (FD = False); the baseline is :func:`kanpde.fem.poisson` with u = exact on
            the whole boundary (the same solution).
"""

from __future__ import annotations

from pathlib import Path

import torch

import kanpde as kp

NAME = "laplace_mesh"
DESCRIPTION = "Laplace Δu = 0 on a gmsh bracket (bundled .msh), u = sinh x cos y, Dirichlet + Neumann on named sides"
FD = False
HARD = False
MESH = Path(__file__).resolve().parent / "data" / "bracket.msh"


def domain() -> kp.MeshDomain:
    return kp.MeshDomain.from_file(MESH)


def exact(x: torch.Tensor) -> torch.Tensor:
    """u = sinh(x) cos(y), ``(N, 1)``."""
    return torch.sinh(x[:, 0:1]) * torch.cos(x[:, 1:2])


def tip_flux(x: torch.Tensor) -> torch.Tensor:
    """du/dn = du/dx = cosh(x) cos(y) on the tip x = 2."""
    return torch.cosh(x[:, 0:1]) * torch.cos(x[:, 1:2])


def pde(x, u):
    return u.laplacian()


def problem() -> kp.Problem:
    conditions = [kp.Dirichlet(exact, on="wall"), kp.Neumann(0.0, on="bottom"), kp.Neumann(tip_flux, on="tip")]
    return kp.Problem(domain(), pde, conditions, exact=exact, name=NAME)


def config() -> kp.TrainConfig:
    """Recommended: Adam warm-up, L-BFGS over grids 5 -> 20."""
    return kp.TrainConfig(schedule=[kp.Adam(200, lr=0.01), kp.LBFGS(300, grid=5), kp.LBFGS(300, grid=10),
                                    kp.LBFGS(300, grid=20)], interior_points=2000, boundary_points=400)


def fem_solution(h: float = 0.05, order: int = 1):
    """The finite-element baseline on the refined file mesh, u = exact on the whole boundary."""
    return kp.fem.poisson(domain(), 0.0, exact, h=h, order=order)


def fd_solution(resolution=None):
    """No finite-difference counterpart: the domain is a mesh."""
    raise NotImplementedError(f"{NAME} has no finite-difference counterpart (FD = False): use fem_solution()")


def baseline() -> kp.fd.Linear:
    """The classical baselines' description: Δu = 0 with u = exact on the whole boundary (the same solution)."""
    return kp.fd.Linear(domain(), f=0.0, g=exact, exact=exact)
