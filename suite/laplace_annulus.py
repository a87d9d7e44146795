"""Laplace on an annulus read from a gmsh file (the issue's mesh case), Dirichlet on the named sides.

    Laplacian u = 0   on 0.5 <= r <= 1 (suite/data/annulus.msh, 8192 triangles, sides "inner", "outer")
    u = e^x sin(y) + ln(r) (harmonic), u = exact on "inner" and on "outer" (data = exact + a bubble zero there)

Source: the annulus benchmark of the R-function / transfinite-interpolation PINN papers (Sukumar &
Srivastava, "Exact imposition of boundary conditions with distance functions in PINNs", CMAME 389 (2022)).
"""

import torch

import kanpde as kp

from suite import meshes
from suite._classical import fem_row
from suite._data import boundary_data

FAMILY, TARGET = "Laplace (mesh)", 1e-4


def exact(x):
    r2 = (x**2).sum(dim=1, keepdim=True)
    return torch.exp(x[:, 0:1]) * torch.sin(x[:, 1:2]) + 0.5 * torch.log(r2)


def bubble(x):
    r2 = (x**2).sum(dim=1, keepdim=True)
    return 0.2 * (r2 - 0.25) * (1 - r2)  # small: the file's chords sag up to 7.5e-5 inside the outer circle


DATA = boundary_data(exact, bubble)  # = exact on both circles only


def pde(x, u):
    return u.laplacian()


problem = kp.Problem(kp.MeshDomain.from_file(meshes.annulus()), pde,
                     [kp.Dirichlet(DATA, on="inner"), kp.Dirichlet(DATA, on="outer")], exact=exact,
                     name="laplace_annulus")


def classical() -> dict:
    """kp.fem.poisson P2 on the file's mesh."""
    return fem_row(problem, "FEM P2 (file mesh)", lambda: kp.fem.poisson(problem.domain, 0.0, exact, h=0.05, order=2))
