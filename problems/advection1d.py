"""1-D linear advection of a smooth periodic wave.

PDE:        u_t + c u_x = 0,   c = 1
Domain:     x in [-1, 1] (periodic, period 2), t in [0, 1]
Conditions: u(-1, t) = u(1, t) (``kp.Periodic("x", derivatives=False)``: a
            first-order equation needs only the values matched);
            u(x, 0) = sin(π x) (Initial)
Exact:      u(x, t) = sin(π (x - c t))  (the initial wave, shifted)
Source:     method of characteristics (classical).
FD:         :func:`kanpde.fd.advection` (Lax-Wendroff), default n = 256
            intervals and nt = 256 steps (Courant number 0.5).
"""

from __future__ import annotations

import math

import torch

import kanpde as kp

from ._common import parse_resolution, save_every

NAME = "advection1d"
DESCRIPTION = "1-D advection u_t + u_x = 0, periodic on [-1,1], u = sin(π(x - t))"
FD = True
C = 1.0
LO, HI, T0, T1 = -1.0, 1.0, 0.0, 1.0
DEFAULT_RESOLUTION = (256, 256)
PI = math.pi


def exact(x: torch.Tensor) -> torch.Tensor:
    """u = sin(π(x - ct)), ``(N, 2) -> (N, 1)`` with columns (x, t)."""
    return torch.sin(PI * (x[:, 0:1] - C * x[:, 1:2]))


def initial(x: torch.Tensor) -> torch.Tensor:
    """u(x, 0) = sin(πx); reads only the first column, ``(N, 1)``."""
    return torch.sin(PI * x[:, 0:1])


def pde(x, u):
    return u.d("t") + C * u.d("x")


def problem() -> kp.Problem:
    domain = kp.Interval(LO, HI) * kp.TimeInterval(T0, T1)
    conditions = [kp.Periodic("x", derivatives=False), kp.Initial(initial)]
    return kp.Problem(domain, pde, conditions, exact=exact, name=NAME)


def fd_solution(resolution=None) -> kp.fd.FDSolution:
    """:func:`kanpde.fd.advection` with ``resolution = n`` or ``(n, nt)`` (default (256, 256); nt = n for an int)."""
    n, nt = parse_resolution(resolution, DEFAULT_RESOLUTION, NAME, nt_of_n=lambda n: n)
    return kp.fd.advection(initial, C, LO, HI, n, T1, nt, t0=T0,
                           save_every=save_every(nt))
