"""Helmholtz on the unit disk, k = 6: Laplacian u + k^2 u = 0 with a plane-wave solution (see
suite/_helmholtz.py). The FEM P2 solve on the same disk is the classical reference."""

import kanpde as kp

from suite._classical import fem_row
from suite._helmholtz import plane_wave_problem

FAMILY, TARGET = "Helmholtz", 1e-3
K = 6.0
problem = plane_wave_problem(K, kp.Disk((0, 0), 1.0), lambda x: 1 - (x**2).sum(1, keepdim=True), "helmholtz_disk_k6")


def classical() -> dict:
    """kp.fem.helmholtz P2 (h = 0.05) on the disk."""
    return fem_row(problem, "FEM P2 h=0.05", lambda: kp.fem.helmholtz(problem.domain, K, 0.0, problem.exact, h=0.05,
                                                                      order=2))
