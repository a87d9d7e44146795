"""Poisson on a plate with two circular holes read from a gmsh file.

    Laplacian u = f   on [0, 4] x [0, 2] minus two disks of radius 0.35 (suite/data/plate_holes.msh)
    u = sin(pi x / 4) cos(pi y / 2) + x y / 8,   u = exact on "holes" and on "outer" (data = exact + a bubble zero there)

Source: the perforated-plate Poisson tests of the FEM / PINN geometry literature (e.g. the DeepXDE
Poisson examples on CSG domains), here given as a mesh file.
"""

import math

import torch

import kanpde as kp

from suite import meshes
from suite._classical import fem_row
from suite._data import boundary_data

FAMILY, TARGET = "Poisson (mesh)", 1e-4
PI = math.pi


def exact(x):
    X, Y = x[:, 0:1], x[:, 1:2]
    return torch.sin(PI * X / 4) * torch.cos(PI * Y / 2) + X * Y / 8


def source(x):
    return -(PI**2 / 16 + PI**2 / 4) * torch.sin(PI * x[:, 0:1] / 4) * torch.cos(PI * x[:, 1:2] / 2)


def bubble(x):
    X, Y = x[:, 0:1], x[:, 1:2]
    holes = ((X - 1)**2 + (Y - 1)**2 - 0.35**2) * ((X - 3)**2 + (Y - 1)**2 - 0.35**2)
    return X * (4 - X) * Y * (2 - Y) * holes / 40  # small: the holes' chords sag up to 4.7e-5


DATA = boundary_data(exact, bubble)  # = exact on the sides only


def pde(x, u):
    return u.laplacian() - source(x)


problem = kp.Problem(kp.MeshDomain.from_file(meshes.plate_with_holes()), pde,
                     [kp.Dirichlet(DATA, on="holes"), kp.Dirichlet(DATA, on="outer")], exact=exact,
                     name="poisson_holes")


def classical() -> dict:
    """kp.fem.poisson P2 on the file's mesh."""
    return fem_row(problem, "FEM P2 (file mesh)", lambda: kp.fem.poisson(problem.domain, source, exact, h=0.1, order=2))
