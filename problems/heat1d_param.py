"""Parametric 1-D heat equation: one training for every diffusivity α in [0.05, 0.2].

PDE:        u_t = α u_xx,   α ∈ [0.05, 0.2] (a problem parameter, ``params={"alpha": kp.Range(0.05, 0.2)}``)
Domain:     x in [0, 1], t in [0, 1]
Conditions: u(0, t) = u(1, t) = 0 (Dirichlet);  u(x, 0) = sin(π x) (Initial)
Exact:      u(x, t; α) = exp(-α π² t) sin(π x)
Source:     separation of variables (classical Fourier solution).
FD:         :func:`kanpde.fd.heat` at one α (:func:`fd_solution`), Crank-Nicolson.
"""

from __future__ import annotations

import math

import torch

import kanpde as kp
from kanpde.pde.params import fix

from ._common import family_config, family_model, parse_resolution, save_every

NAME = "heat1d_param"
DESCRIPTION = "parametric 1-D heat u_t = α u_xx on [0,1] x [0,1], α in [0.05, 0.2], u = exp(-απ²t) sin(πx)"
FD = False  # the FD baseline needs one α: see fd_solution(alpha=...) and scripts/parametric_breakeven.py
PARAMS = {"alpha": kp.Range(0.05, 0.2)}
LO, HI, T0, T1 = 0.0, 1.0, 0.0, 1.0
DEFAULT_RESOLUTION = (128, 128)
PI = math.pi


def exact(x: torch.Tensor, p) -> torch.Tensor:
    """u = exp(-απ²t) sin(πx), ``(N, 2) -> (N, 1)`` with columns (x, t) and ``p.alpha`` ``(N, 1)``."""
    return torch.exp(-p.alpha * PI**2 * x[:, 1:2]) * torch.sin(PI * x[:, 0:1])


def initial(x: torch.Tensor, p=None) -> torch.Tensor:
    """u(x, 0) = sin(πx) for every α."""
    return torch.sin(PI * x[:, 0:1])


def pde(x, u, p):
    return u.d("t") - p.alpha * u.d("x", "x")


def problem() -> kp.Problem:
    domain = kp.Interval(LO, HI) * kp.TimeInterval(T0, T1)
    return kp.Problem(domain, pde, [kp.Dirichlet(0.0), kp.Initial(initial)], exact=exact, name=NAME,
                      params=PARAMS)


def config() -> kp.TrainConfig:
    """Recommended: a [3, 10, 1] KAN (inputs x, t, α); Adam 100 then Levenberg-Marquardt on grids 5, 10, 20;
    the Dirichlet and initial data built in (u = u0 + t x (1 - x) N), so the PDE residual is the only term."""
    return family_config(4000)


def model(seed: int = 0) -> kp.KAN:
    """The [3, 10, 1] KAN of config() (inputs x, t, α)."""
    return family_model(seed)


def fd_solution(resolution=None, alpha: float = 0.1) -> kp.fd.FDSolution:
    """:func:`kanpde.fd.heat` at one ``alpha`` with ``resolution = n`` or ``(n, nt)``."""
    n, nt = parse_resolution(resolution, DEFAULT_RESOLUTION, NAME, nt_of_n=lambda n: n)
    return kp.fd.heat(initial, alpha, [LO], [HI], n, T1, nt, g=0.0, t0=T0, save_every=save_every(nt))


def baseline(alpha: float = 0.125) -> kp.fd.Linear:
    """The classical baselines at one ``alpha``: u_t = α u_xx, u = 0, u(x, 0) = sin(πx)."""
    return kp.fd.Linear(kp.Interval(LO, HI), g=0.0, exact=fix(exact, alpha=alpha), alpha=alpha, u0=initial,
                        time=(T0, T1))
