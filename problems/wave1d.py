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
    """Recommended: Adam 100 then Levenberg-Marquardt on grids 5, 10, 20, 40 (15/15/20/10 iterations),
    one window; the Dirichlet and both initial conditions are built in (hard="auto"), so the PDE
    residual is the only loss term and no weight is hand-picked.

    Measured on one thread by a runner doing exactly what
    ``python scripts/time_accuracy.py --problems wave1d --seeds 0 1 2 --threads 1`` does (the KAN row of
    ``scripts/benchmark.py``: [2, 10, 1] KAN, 3000 points): rel L2 6.9e-5 / 6.0e-5 / 4.8e-5
    (seeds 0 / 1 / 2, 45-110 s on one thread of the loaded shared box) where Adam + L-BFGS on the
    same grids reaches 6.6e-3.
    """
    return kp.TrainConfig(schedule=[kp.Adam(100), kp.LM(15, grid=5), kp.LM(15, grid=10), kp.LM(20, grid=20),
                                    kp.LM(10, grid=40)])


def fd_solution(resolution=None) -> kp.fd.FDSolution:
    """:func:`kanpde.fd.wave` with ``resolution = n`` or ``(n, nt)`` (default (256, 512); nt = 2n for an int)."""
    n, nt = parse_resolution(resolution, DEFAULT_RESOLUTION, NAME, nt_of_n=lambda n: 2 * n)
    return kp.fd.wave(initial, 0.0, C, LO, HI, n, T1, nt, g=0.0, t0=T0,
                      save_every=save_every(nt))
