"""1-D wave equation: two standing waves on a string with fixed ends.

PDE:        u_tt = c² u_xx,   c = 1
Domain:     x in [0, 1], t in [0, 1]
Conditions: u(0, t) = u(1, t) = 0 (Dirichlet);
            u(x, 0) = sin(π x) + 0.5 sin(3π x) (Initial);
            u_t(x, 0) = 0 (Initial, derivative=1)
Exact:      u(x, t) = sin(π x) cos(c π t) + 0.5 sin(3π x) cos(3 c π t)
Source:     d'Alembert / separation of variables (classical); compare the harder
            c = 2 wave benchmark of Wang, Yu & Perdikaris, "When and why PINNs fail
            to train: a neural tangent kernel perspective", J. Comput. Phys. 449 (2022).
FD:         :func:`kanpde.fd.wave` (leapfrog), default n = 256 intervals and
            nt = 512 steps (Courant number 0.5).
Weights:    none. The Dirichlet and both initial conditions are built into the output
            (hard="auto": u = u0 + (t - t0)^2 x(1 - x) N), so the PDE residual is the only
            loss term; with soft conditions gradient-norm balancing (the default) replaces
            the hand-picked {"pde": 0.01} this problem once needed. :func:`config`
            (Levenberg-Marquardt stages) reaches ~7e-5.
"""

from __future__ import annotations

import math

import torch

import kanpde as kp

from ._common import parse_resolution, save_every

NAME = "wave1d"
DESCRIPTION = "1-D wave u_tt = u_xx on [0,1] x [0,1], u = sin(πx)cos(πt) + 0.5 sin(3πx)cos(3πt)"
FD = True
C = 1.0
LO, HI, T0, T1 = 0.0, 1.0, 0.0, 1.0
DEFAULT_RESOLUTION = (256, 512)
PI = math.pi


def exact(x: torch.Tensor) -> torch.Tensor:
    """u = sin(πx) cos(cπt) + 0.5 sin(3πx) cos(3cπt), ``(N, 2) -> (N, 1)`` with columns (x, t)."""
    px, t = x[:, 0:1], x[:, 1:2]
    return torch.sin(PI * px) * torch.cos(C * PI * t) + 0.5 * torch.sin(3 * PI * px) * torch.cos(3 * C * PI * t)


def initial(x: torch.Tensor) -> torch.Tensor:
    """u(x, 0) = sin(πx) + 0.5 sin(3πx); reads only the first column, ``(N, 1)``."""
    return torch.sin(PI * x[:, 0:1]) + 0.5 * torch.sin(3 * PI * x[:, 0:1])


def pde(x, u):
    return u.d("t", "t") - C**2 * u.d("x", "x")


def problem() -> kp.Problem:
    domain = kp.Interval(LO, HI) * kp.TimeInterval(T0, T1)
    conditions = [kp.Dirichlet(0.0), kp.Initial(initial), kp.Initial(0.0, derivative=1)]
    return kp.Problem(domain, pde, conditions, exact=exact, name=NAME)


def config() -> kp.TrainConfig:
    """Recommended: the defaults, one window. ``kp.solve`` sizes them for the [2, 10, 1] KAN to Adam 100,
    then Levenberg-Marquardt on grids 5 -> 80 at 5000 points; the Dirichlet and both initial conditions
    are built in (hard="auto"), so the PDE residual is the only loss term and no weight is hand-picked.

    rel L2 1.4e-5 / 1.7e-5 / 3.1e-5 (seeds 0 / 1 / 2, 160-215 s on the loaded shared box), measured by
    ``python scripts/accuracy_defaults.py --problems wave1d``; the grid-40 schedule at 3000 points
    reached 6.9e-5 / 6.0e-5 / 4.8e-5, Adam + L-BFGS on grids to 40 6.6e-3.
    """
    return kp.TrainConfig()


def fd_solution(resolution=None) -> kp.fd.FDSolution:
    """:func:`kanpde.fd.wave` with ``resolution = n`` or ``(n, nt)`` (default (256, 512); nt = 2n for an int)."""
    n, nt = parse_resolution(resolution, DEFAULT_RESOLUTION, NAME, nt_of_n=lambda n: 2 * n)
    return kp.fd.wave(initial, 0.0, C, LO, HI, n, T1, nt, g=0.0, t0=T0,
                      save_every=save_every(nt))
