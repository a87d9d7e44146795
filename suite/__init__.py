"""The external suite: problems from public benchmark families, written as a user would with the plain
public API (``import kanpde as kp``), none of them in ``problems/``. Each module defines ``problem`` (a
``kp.Problem`` with its exact or reference solution), ``FAMILY``, ``TARGET`` (the rel L2 the automatic path
must reach) and optionally ``classical()`` (the classical reference, FEM P2 on meshes) and
``reference_errors(solution)`` (errors against published data). ``python scripts/suite.py`` runs them.
"""

from __future__ import annotations

import importlib

NAMES = ("kovasznay", "cavity_re100", "stokes", "elasticity", "helmholtz_square_k4", "helmholtz_square_k7",
         "helmholtz_square_k10", "helmholtz_disk_k6", "laplace_annulus", "poisson_holes", "reaction_diffusion",
         "inverse_diffusion", "poisson_tet3d")


def load(name: str):
    """The suite module ``name``.

    Raises:
        ValueError: an unknown name (the message lists the names).
    """
    if name not in NAMES:
        raise ValueError(f"unknown suite problem {name!r}. Pick one of {NAMES}")
    return importlib.import_module(f"suite.{name}")
