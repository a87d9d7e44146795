"""Lid-driven cavity at Re = 100, against the centre-line data of Ghia, Ghia & Shin (1982).

    u . grad u + grad p - (1/Re) Laplacian u = 0,   div u = 0   on [0, 1]^2
    u = 1, v = 0 on the lid y = 1; u = v = 0 on the other walls; p(0.5, 0.5) = 0 (gauge)

Source: U. Ghia, K. N. Ghia, C. T. Shin, "High-Re solutions for incompressible flow using the
Navier-Stokes equations and a multigrid method", J. Comput. Phys. 48 (1982) 387-411, Table I (u along
the vertical centre line x = 0.5) and Table II (v along the horizontal centre line y = 0.5), Re = 100
columns. The lid's corner discontinuity is left as it is (as in the benchmark).

No closed form, and the tables are not exact either: a Taylor-Hood P2/P1 Newton solve of the same data
(``suite/_cavity_fem.py``) converges at the tables' stations to 7e-6 (u) and 3e-5 (v) between h = 1/64 and
1/128, and the converged centre lines stand 6.2e-3 (u) and 3.6e-2 (v) away from the tables in rel L2 (v's
extremes are -0.2535 and 0.1796 against the tables' -0.2453 and 0.1753). So the error is measured against
the converged FEM values at the tables' stations (``FEM_U``, ``FEM_V``); the distance to the tables
themselves is reported beside it (``ghia``), where nothing can get below the tables' own 3.6e-2 in v.
"""

import numpy as np
import torch

import kanpde as kp
from kanpde.pde.metrics import error_metrics

FAMILY, TARGET = "Navier-Stokes", 1e-3  # issue #26's bar for systems, against the converged FEM centre lines
RE = 100.0

# Ghia et al. (1982), Table I, Re = 100: y, u(0.5, y)
GHIA_U = np.array([
    (1.0000, 1.00000), (0.9766, 0.84123), (0.9688, 0.78871), (0.9609, 0.73722), (0.9531, 0.68717),
    (0.8516, 0.23151), (0.7344, 0.00332), (0.6172, -0.13641), (0.5000, -0.20581), (0.4531, -0.21090),
    (0.2813, -0.15662), (0.1719, -0.10150), (0.1016, -0.06434), (0.0703, -0.04775), (0.0625, -0.04192),
    (0.0547, -0.03717), (0.0000, 0.00000)])
# Ghia et al. (1982), Table II, Re = 100: x, v(x, 0.5)
GHIA_V = np.array([
    (1.0000, 0.00000), (0.9688, -0.05906), (0.9609, -0.07391), (0.9531, -0.08864), (0.9453, -0.10313),
    (0.9063, -0.16914), (0.8594, -0.22445), (0.8047, -0.24533), (0.5000, 0.05454), (0.2344, 0.17527),
    (0.2266, 0.17507), (0.1563, 0.16077), (0.0938, 0.12317), (0.0781, 0.10890), (0.0703, 0.10091),
    (0.0625, 0.09233), (0.0000, 0.00000)])

# Taylor-Hood P2/P1, h = 1/128 (suite/_cavity_fem.py, n=128) at the tables' interior stations, same order
FEM_U = np.array([0.843732, 0.791938, 0.740468, 0.691026, 0.236551, 0.004188, -0.138797, -0.209149, -0.213978,
                  -0.157674, -0.101742, -0.064432, -0.04662, -0.041975, -0.037228])
FEM_V = np.array([-0.062193, -0.077977, -0.093389, -0.108534, -0.177082, -0.233693, -0.253544, 0.057537, 0.17956,
                  0.179357, 0.164824, 0.126428, 0.111752, 0.103585, 0.094807])


def pde(x, f):
    u, v, p = f[0], f[1], f[2]
    momentum_x = u.value * u.d("x") + v.value * u.d("y") + p.d("x") - (u.d("x", "x") + u.d("y", "y")) / RE
    momentum_y = u.value * v.d("x") + v.value * v.d("y") + p.d("y") - (v.d("x", "x") + v.d("y", "y")) / RE
    return momentum_x, momentum_y, u.d("x") + v.d("y")


def lid(x):
    return (x[:, 1:2] > 1 - 1e-9).to(x.dtype)  # u = 1 on y = 1, 0 elsewhere on the boundary


problem = kp.Problem(
    kp.Rectangle((0, 0), (1, 1)), pde,
    [kp.Dirichlet(lid, component="u"), kp.Dirichlet(0.0, component="v"),
     kp.Data([[0.5, 0.5]], [0.0], component="p")],
    outputs=("u", "v", "p"), name="cavity_re100")


def _stations():
    u_rows, v_rows = GHIA_U[1:-1], GHIA_V[1:-1]
    u_pts = np.column_stack([np.full(len(u_rows), 0.5), u_rows[:, 0]])
    v_pts = np.column_stack([v_rows[:, 0], np.full(len(v_rows), 0.5)])
    return u_pts, v_pts


def centre_line_errors(predict) -> dict:
    """rel L2 of u on x = 0.5 and of v on y = 0.5 at the tables' interior stations (the walls excluded), against
    the converged FEM values, and (``ghia``) against the tables. ``predict(points (M, 2)) -> (M, >= 2)``."""
    u_pts, v_pts = _stations()
    u, v = predict(u_pts)[:, 0], predict(v_pts)[:, 1]
    fem = {"u": error_metrics(u, FEM_U)["rel_l2"], "v": error_metrics(v, FEM_V)["rel_l2"]}
    return {"rel_l2": max(fem.values()), **{name: {"rel_l2": error} for name, error in fem.items()},
            "ghia": {"u": error_metrics(u, GHIA_U[1:-1, 1])["rel_l2"],
                     "v": error_metrics(v, GHIA_V[1:-1, 1])["rel_l2"]}}


def reference_errors(solution) -> dict:
    return centre_line_errors(solution.predict)


def classical() -> dict:
    """Taylor-Hood P2/P1 on a 64 x 64 mesh, against the stored h = 1/128 values (and the tables)."""
    from suite._cavity_fem import solve

    sample, info = solve(64, RE)
    errors = centre_line_errors(sample)
    return {"method": "FEM Taylor-Hood P2/P1", "seconds": info["seconds"], "dofs": info["dofs"],
            "rel_l2": errors["rel_l2"], "ghia": errors["ghia"]}
