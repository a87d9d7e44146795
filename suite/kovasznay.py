"""Kovasznay flow: steady incompressible Navier-Stokes at Re = 20 (the DeepXDE / PINN benchmark).

    u . grad u + grad p - (1/Re) Laplacian u = 0,   div u = 0   on [-0.5, 1] x [-0.5, 1.5]
    u = 1 - e^{lx} cos(2 pi y),  v = l/(2 pi) e^{lx} sin(2 pi y),  p = (1 - e^{2 l x}) / 2,
    l = Re/2 - sqrt(Re^2/4 + 4 pi^2)

Source: L. I. G. Kovasznay, "Laminar flow behind a two-dimensional grid", Proc. Cambridge Philos. Soc.
44 (1948) 58-62; DeepXDE's examples/pinn_forward/Kovasznay_flow.py. Velocity = exact on the whole
boundary (given as exact + a bubble zero on the boundary, see suite/_data.py); the pressure gauge is its value at one point.
"""

import math

import torch

import kanpde as kp

from suite._data import box_bubble, boundary_data

FAMILY, TARGET = "Navier-Stokes", 1e-3
RE = 20.0
LAMBDA = RE / 2 - math.sqrt(RE**2 / 4 + 4 * math.pi**2)


def exact(x):
    X, Y = x[:, 0:1], x[:, 1:2]
    u = 1 - torch.exp(LAMBDA * X) * torch.cos(2 * math.pi * Y)
    v = LAMBDA / (2 * math.pi) * torch.exp(LAMBDA * X) * torch.sin(2 * math.pi * Y)
    p = (1 - torch.exp(2 * LAMBDA * X)) / 2
    return torch.cat([u, v, p], dim=1)


def pde(x, f):
    u, v, p = f[0], f[1], f[2]
    momentum_x = u.value * u.d("x") + v.value * u.d("y") + p.d("x") - (u.d("x", "x") + u.d("y", "y")) / RE
    momentum_y = u.value * v.d("x") + v.value * v.d("y") + p.d("y") - (v.d("x", "x") + v.d("y", "y")) / RE
    return momentum_x, momentum_y, u.d("x") + v.d("y")


BUBBLE = box_bubble((-0.5, -0.5), (1.0, 1.5))
gauge = torch.tensor([[0.25, 0.5]], dtype=torch.float64)
problem = kp.Problem(
    kp.Rectangle((-0.5, -0.5), (1.0, 1.5)), pde,
    [kp.Dirichlet(boundary_data(exact, BUBBLE, 0), component="u"),
     kp.Dirichlet(boundary_data(exact, BUBBLE, 1), component="v"),
     kp.Data(gauge.numpy(), exact(gauge)[:, 2].numpy(), component="p")],
    exact=exact, outputs=("u", "v", "p"), name="kovasznay")
