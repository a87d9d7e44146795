"""Poisson on an L-shaped prism given as a tetrahedral mesh (meshio-written .vtu).

    Laplacian u = 2   in ([0, 2]^2 minus [1, 2]^2) x [0, 1] (suite/data/l_prism.vtu, 3888 tetrahedra)
    u = e^x sin(y) + z^2,   u = exact on the boundary (data = exact + a bubble zero there)

Source: the 3-D Poisson tests on unstructured tetrahedral meshes of the FEM literature (the L-shaped
domain of the a-posteriori estimation papers, extruded); a 3-D mesh domain through ``kp.MeshDomain``.
"""

import torch

import kanpde as kp

from suite import meshes
from suite._classical import fem_row
from suite._data import boundary_data

FAMILY, TARGET = "Poisson 3-D (mesh)", 1e-4


def exact(x):
    return torch.exp(x[:, 0:1]) * torch.sin(x[:, 1:2]) + x[:, 2:3] ** 2


def bubble(x):
    X, Y, Z = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    return X * (2 - X) * Y * (2 - Y) * Z * (1 - Z) * (1 - X) * (1 - Y)  # zero on every face, re-entrant ones too


def pde(x, u):
    return u.laplacian() - 2.0


problem = kp.Problem(kp.MeshDomain.from_file(meshes.l_prism()), pde, [kp.Dirichlet(boundary_data(exact, bubble))],
                     exact=exact, name="poisson_tet3d")


def classical() -> dict:
    """kp.fem.poisson P2 on the file's mesh."""
    return fem_row(problem, "FEM P2 (file mesh)", lambda: kp.fem.poisson(problem.domain, 2.0, exact, h=0.3, order=2))  # h above the file's longest edge (0.289): no refinement
