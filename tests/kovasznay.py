"""Kovasznay flow (steady incompressible Navier-Stokes, Re = 20), written the way a user would.

    u u_x + v u_y + p_x - (u_xx + u_yy) / Re = 0,
    u v_x + v v_y + p_y - (v_xx + v_yy) / Re = 0,
    u_x + v_y = 0

on [-0.5, 1] x [-0.5, 1.5], with u and v given on the boundary (one Dirichlet condition per component)
and the pressure fixed only up to a constant (gauge: mean zero). Exact solution (Kovasznay 1948), with
lambda = Re / 2 - sqrt(Re^2 / 4 + 4 pi^2):

    u = 1 - exp(lambda x) cos(2 pi y),   v = lambda / (2 pi) exp(lambda x) sin(2 pi y),   p = (1 - exp(2 lambda x)) / 2.
"""

from __future__ import annotations

import math

import torch

import kanpde as kp

RE = 20.0
LAMBDA = RE / 2 - math.sqrt(RE ** 2 / 4 + 4 * math.pi ** 2)


def exact(x: torch.Tensor) -> torch.Tensor:
    """``(u, v, p)`` at points ``x`` ``(N, 2)``: ``(N, 3)``."""
    e = torch.exp(LAMBDA * x[:, :1])
    y = 2 * math.pi * x[:, 1:]
    return torch.cat([1 - e * torch.cos(y), LAMBDA / (2 * math.pi) * e * torch.sin(y), (1 - e * e) / 2], 1)


def navier_stokes(x, f):
    u, v, p = f["u"], f["v"], f["p"]
    uu, vv = u.value, v.value
    momentum_x = uu * u.d("x") + vv * u.d("y") + p.d("x") - u.laplacian() / RE
    momentum_y = uu * v.d("x") + vv * v.d("y") + p.d("y") - v.laplacian() / RE
    return momentum_x, momentum_y, u.d("x") + v.d("y")


def problem(gauge="mean") -> kp.Problem:
    conditions = [kp.Dirichlet(lambda x: exact(x)[:, :1], component="u"),
                  kp.Dirichlet(lambda x: exact(x)[:, 1:2], component="v")]
    return kp.Problem(kp.Rectangle((-0.5, -0.5), (1.0, 1.5)), navier_stokes, conditions, exact=exact,
                      outputs=("u", "v", "p"), gauge={"p": gauge}, name="kovasznay")
