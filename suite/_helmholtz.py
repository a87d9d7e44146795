"""Helmholtz with a plane-wave solution, shared by the suite's Helmholtz modules.

    Laplacian u + k^2 u = 0,   u = sin(k (0.6 x + 0.8 y)) + cos(k (0.8 x - 0.6 y)) / 2,   Dirichlet u = exact

No forcing: the wave number is in the operator only (the automatic path must read it from there).
Source: the plane-wave Helmholtz tests of the FEM pollution-error literature (Ihlenburg & Babuska,
"Finite element solution of the Helmholtz equation with high wave number", Comput. Math. Appl. 30 (1995)).
"""

import torch

import kanpde as kp

from suite._data import boundary_data


def plane_wave_problem(k: float, domain, bubble, name: str) -> kp.Problem:
    """The problem on ``domain``, Dirichlet data exact + ``bubble`` (zero on the boundary, suite/_data.py)."""
    def exact(x):
        a = k * (0.6 * x[:, 0:1] + 0.8 * x[:, 1:2])
        b = k * (0.8 * x[:, 0:1] - 0.6 * x[:, 1:2])
        return torch.sin(a) + 0.5 * torch.cos(b)

    def pde(x, u):
        return u.laplacian() + k**2 * u.value

    return kp.Problem(domain, pde, [kp.Dirichlet(boundary_data(exact, bubble))], exact=exact, name=name)
