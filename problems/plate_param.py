"""Parametric plate length: Poisson on [0, L] x [0, 1] for every L in [1, 2], as a scaled coordinate.

PDE:        -Δu = f on the plate [0, L] x [0, 1],   L ∈ [1, 2] (``params={"L": kp.Range(1, 2)}``)
Conditions: u = 0 on the whole boundary (Dirichlet, built in)
Exact:      u = sin(π x / L) sin(π y) e^{x/2},
            f = -sin(πy) e^{x/2} [(1/4 - π²/L² - π²) sin(πx/L) + (π/L) cos(πx/L)]
Geometry:   the domain itself depends on L. kanpde's parametric problems keep one domain for the whole
            family, so the plate is written on the reference square ξ = x / L ∈ [0, 1] (coordinates
            ("xi", "y")): -(u_ξξ / L² + u_yy) = f(L ξ, y). Errors are measured in ξ; the relative L2 norm
            is the same in x (the map scales one axis uniformly). A hole whose radius is the parameter
            would need the Laplacian through a non-affine map (metric terms): not done.
Source:     manufactured for kanpde (issue #32).
FD:         :func:`kanpde.fd.poisson` on the physical plate [0, L] x [0, 1] (:func:`fd_solution`).
"""

from __future__ import annotations

import math

import torch

import kanpde as kp

from ._common import family_config, family_model, parse_resolution

NAME = "plate_param"
DESCRIPTION = "parametric plate [0,L] x [0,1], L in [1, 2] (scaled coordinate ξ = x/L), -Δu = f, zero Dirichlet"
FD = False  # one L at a time: fd_solution(L=...)
PARAMS = {"L": kp.Range(1.0, 2.0)}
DEFAULT_RESOLUTION = 128
PI = math.pi


def physical_exact(x: torch.Tensor, length) -> torch.Tensor:
    """u = sin(πx/L) sin(πy) e^{x/2} at physical points ``(N, 2)``."""
    px, py = x[:, 0:1], x[:, 1:2]
    return torch.sin(PI * px / length) * torch.sin(PI * py) * torch.exp(px / 2)


def physical_source(x: torch.Tensor, length) -> torch.Tensor:
    """f = -Δu at physical points, ``(N, 1)``."""
    px, py = x[:, 0:1], x[:, 1:2]
    k = PI / length
    return -torch.sin(PI * py) * torch.exp(px / 2) * ((0.25 - k**2 - PI**2) * torch.sin(k * px) + k * torch.cos(k * px))


def physical(xi: torch.Tensor, p) -> torch.Tensor:
    """Reference points (ξ, y) as physical points (L ξ, y)."""
    return torch.cat([p.L * xi[:, 0:1], xi[:, 1:2]], dim=1)


def exact(xi: torch.Tensor, p) -> torch.Tensor:
    return physical_exact(physical(xi, p), p.L)


def pde(xi, u, p):
    return -(u.d("xi", "xi") / p.L**2 + u.d("y", "y")) - physical_source(physical(xi, p), p.L)


def problem() -> kp.Problem:
    domain = kp.Rectangle((0.0, 0.0), (1.0, 1.0), names=("xi", "y"))
    return kp.Problem(domain, pde, [kp.Dirichlet(0.0)], exact=exact, name=NAME, params=PARAMS)


def config() -> kp.TrainConfig:
    """Recommended: a [3, 10, 1] KAN (inputs ξ, y, L); Adam 100 then Levenberg-Marquardt on grids 5, 10, 20."""
    return family_config(4000)


def model(seed: int = 0) -> kp.KAN:
    """The [3, 10, 1] KAN of config() (inputs ξ, y, L)."""
    return family_model(seed)


def fd_solution(resolution=None, L: float = 1.5) -> kp.fd.FDSolution:
    """:func:`kanpde.fd.poisson` (Δu = -f) on the physical plate [0, L] x [0, 1], ``n x n`` intervals."""
    (n,) = parse_resolution(resolution, (DEFAULT_RESOLUTION,), NAME)
    return kp.fd.poisson(lambda x: -physical_source(x, L), (0.0, 0.0), (L, 1.0), n, g=0.0)


def baseline(L: float = 1.5) -> kp.fd.Linear:
    """The classical baselines at one ``L``, on the physical plate [0, L] x [0, 1]: Δu = -f, u = 0."""
    return kp.fd.Linear(kp.Rectangle((0.0, 0.0), (L, 1.0)), f=lambda x: -physical_source(x, L), g=0.0,
                        exact=lambda x: physical_exact(x, L))
