"""Helmholtz on the unit square, k = 4: Laplacian u + k^2 u = 0 with a plane-wave solution (see
suite/_helmholtz.py for the equation and its source)."""

import kanpde as kp

from suite._data import box_bubble
from suite._helmholtz import plane_wave_problem

FAMILY, TARGET = "Helmholtz", 1e-3
K = 4.0
problem = plane_wave_problem(K, kp.Rectangle((0, 0), (1, 1)), box_bubble((0, 0), (1, 1)), "helmholtz_square_k4")
