"""Parametric 2-D Poisson equation: one training for every source frequency ω in [0.5, 2].

PDE:        -Δu = f(x, y; ω),   ω ∈ [0.5, 2] (``params={"omega": kp.Range(0.5, 2)}``)
Domain:     the unit square [0, 1]²
Conditions: u = 0 on the whole boundary (Dirichlet, built in)
Exact:      u = sin(πx) sin(πy) cos(ωπ (x - y)), f = -Δu = (2π² + 2ω²π²) u + 2ωπ² sin(ωπ (x - y)) sin(π (y - x))
Source:     manufactured for kanpde (issue #32): the source's frequency is the parameter.
FD:         :func:`kanpde.fd.poisson` at one ω (:func:`fd_solution`).
"""

from __future__ import annotations

import math

import torch

import kanpde as kp
from kanpde.pde.params import fix

from ._common import family_config, family_model, bump_wave, parse_resolution

NAME = "poisson_param"
DESCRIPTION = "parametric 2-D Poisson -Δu = f on [0,1]², source frequency ω in [0.5, 2], zero Dirichlet"
FD = False  # one ω at a time: fd_solution(omega=...) and scripts/parametric_breakeven.py
PARAMS = {"omega": kp.Range(0.5, 2.0)}
LO, HI, DEFAULT_RESOLUTION = (0.0, 0.0), (1.0, 1.0), 128


def source(x: torch.Tensor, p) -> torch.Tensor:
    """f = -Δu, ``(N, 1)``."""
    return -bump_wave(x, math.pi * p.omega, sign=-1.0)[1]


def exact(x: torch.Tensor, p) -> torch.Tensor:
    """u = sin(πx) sin(πy) cos(ωπ (x - y)), ``(N, 1)``."""
    return bump_wave(x, math.pi * p.omega, sign=-1.0)[0]


def pde(x, u, p):
    return -u.laplacian() - source(x, p)


def problem() -> kp.Problem:
    return kp.Problem(kp.Rectangle(LO, HI), pde, [kp.Dirichlet(0.0)], exact=exact, name=NAME, params=PARAMS)


def config() -> kp.TrainConfig:
    """Recommended: a [3, 10, 1] KAN (inputs x, y, ω); Adam 100 then Levenberg-Marquardt on grids 5, 10, 20
    at 6000 points; the zero Dirichlet data built in."""
    return family_config(6000)


def model(seed: int = 0) -> kp.KAN:
    """The [3, 10, 1] KAN of config() (inputs x, y, ω)."""
    return family_model(seed)


def fd_solution(resolution=None, omega: float = 1.0, order: int = 2) -> kp.fd.FDSolution:
    """:func:`kanpde.fd.poisson` (Δu = -f) at one ``omega`` on ``n x n`` intervals (default 128)."""
    (n,) = parse_resolution(resolution, (DEFAULT_RESOLUTION,), NAME)
    f = fix(source, omega=omega)
    return kp.fd.poisson(lambda x: -f(x), LO, HI, n, g=0.0, order=order)


def baseline(omega: float = 1.25) -> kp.fd.Linear:
    """The classical baselines at one ``omega``: Δu = -f, u = 0."""
    f = fix(source, omega=omega)
    return kp.fd.Linear(kp.Rectangle(LO, HI), f=lambda x: -f(x), g=0.0, exact=fix(exact, omega=omega))
