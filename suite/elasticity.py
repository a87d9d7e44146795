"""Linear elasticity (plane strain, Navier-Cauchy) with a manufactured solution.

    mu Laplacian u + (lambda + mu) grad(div u) + f = 0   on [0, 1]^2,   u = 0 on the boundary
    u_1 = u_2 = sin(pi x) sin(pi y),  lambda = 1, mu = 0.5

Source: the manufactured elasticity test of DeepXDE's examples/pinn_forward/elasticity_plate.py family
(Haghighat et al., "A physics-informed deep learning framework for inversion and surrogate modeling in
solid mechanics", CMAME 379 (2021)). The plate with a traction-free hole needs kp.BoundaryResidual, which
main does not have yet: not in the suite.
"""

import math

import torch

import kanpde as kp

FAMILY, TARGET = "elasticity", 1e-3
PI, LAM, MU = math.pi, 1.0, 0.5


def exact(x):
    s = torch.sin(PI * x[:, 0:1]) * torch.sin(PI * x[:, 1:2])
    return torch.cat([s, s], dim=1)


def body_force(x):
    """f = -(mu Laplacian u + (lambda + mu) grad div u), the same for both components."""
    s = torch.sin(PI * x[:, 0:1]) * torch.sin(PI * x[:, 1:2])
    cc = torch.cos(PI * x[:, 0:1]) * torch.cos(PI * x[:, 1:2])
    return -(-2 * PI**2 * MU * s + (LAM + MU) * PI**2 * (cc - s))


def pde(x, f):
    u, v = f[0], f[1]
    div_x = u.d("x", "x") + v.d("x", "y")
    div_y = u.d("x", "y") + v.d("y", "y")
    b = body_force(x)
    return (MU * u.laplacian() + (LAM + MU) * div_x + b, MU * v.laplacian() + (LAM + MU) * div_y + b)


problem = kp.Problem(kp.Rectangle((0, 0), (1, 1)), pde, [kp.Dirichlet(0.0)], exact=exact, outputs=("u", "v"),
                     name="elasticity")
