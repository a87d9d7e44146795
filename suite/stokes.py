"""Stokes flow with a manufactured solution (the FEM / PINN test of Taylor-Hood element papers).

    -Laplacian u + grad p = f,   div u = 0   on [0, 1]^2
    u = sin(pi x) cos(pi y),  v = -cos(pi x) sin(pi y),  p = cos(pi x) cos(pi y)

Velocity = exact on the boundary (exact + a bubble zero there, suite/_data.py); the pressure gauge is its value at the centre (p = 0 there).
Source: the standard manufactured divergence-free Stokes test (e.g. Elman, Silvester & Wathen,
"Finite Elements and Fast Iterative Solvers", 2nd ed., Sect. 3.1).
"""

import math

import torch

import kanpde as kp

from suite._data import box_bubble, boundary_data

FAMILY, TARGET = "Stokes", 1e-3
PI = math.pi


def exact(x):
    X, Y = PI * x[:, 0:1], PI * x[:, 1:2]
    return torch.cat([torch.sin(X) * torch.cos(Y), -torch.cos(X) * torch.sin(Y), torch.cos(X) * torch.cos(Y)], 1)


def pde(x, f):
    u, v, p = f[0], f[1], f[2]
    X, Y = PI * x[:, 0:1], PI * x[:, 1:2]
    fx = 2 * PI**2 * torch.sin(X) * torch.cos(Y) - PI * torch.sin(X) * torch.cos(Y)
    fy = -2 * PI**2 * torch.cos(X) * torch.sin(Y) - PI * torch.cos(X) * torch.sin(Y)
    return (-u.laplacian() + p.d("x") - fx, -v.laplacian() + p.d("y") - fy, u.d("x") + v.d("y"))


BUBBLE = box_bubble((0, 0), (1, 1))
problem = kp.Problem(
    kp.Rectangle((0, 0), (1, 1)), pde,
    [kp.Dirichlet(boundary_data(exact, BUBBLE, 0), component="u"),
     kp.Dirichlet(boundary_data(exact, BUBBLE, 1), component="v"),
     kp.Data([[0.5, 0.5]], [0.0], component="p")],
    exact=exact, outputs=("u", "v", "p"), name="stokes")
