"""A domain read from a mesh file: write a triangle mesh with meshio, solve Laplace on it.

    Δu = 0 on a trapezoid given as a mesh,  u = eˣ sin(y) on its boundary,  exact u = eˣ sin(y).

Any format meshio reads works (gmsh .msh, .vtu, .xdmf, ...); gmsh physical groups become named
sides for `on=`. Points are sampled in the cells (by area) and on the boundary facets (by length).
The solution is exported on the user's own mesh. Writes mesh_file.png.

Run: python examples/08_mesh_file.py   (KANPDE_EXAMPLE_SCALE=0.05 for a smoke run)
"""
import os
from pathlib import Path

import meshio
import numpy as np
import torch

import kanpde as kp

SCALE = float(os.environ.get("KANPDE_EXAMPLE_SCALE", "1"))
OUT = Path(os.environ.get("KANPDE_EXAMPLE_OUT", "results/examples"))
OUT.mkdir(parents=True, exist_ok=True)

# A structured triangulation of the trapezoid 0 <= x <= 2, 0 <= y <= 1 - 0.25 x.
n = 12
s, r = np.meshgrid(np.linspace(0, 1, 2 * n + 1), np.linspace(0, 1, n + 1), indexing="ij")
points = np.stack([2 * s.ravel(), (r * (1 - 0.5 * s)).ravel()], axis=1)       # (P, 2)
index = np.arange(points.shape[0]).reshape(s.shape)
corner = index[:-1, :-1].ravel(), index[1:, :-1].ravel(), index[1:, 1:].ravel(), index[:-1, 1:].ravel()
triangles = np.concatenate([np.stack([corner[0], corner[1], corner[2]], 1),
                            np.stack([corner[0], corner[2], corner[3]], 1)])
points3 = np.column_stack([points, np.zeros(len(points))])                       # files store x, y, z
meshio.write(OUT / "trapezoid.vtu", meshio.Mesh(points3, [("triangle", triangles)]))

domain = kp.MeshDomain.from_file(OUT / "trapezoid.vtu")
print("sides:", domain.side_names)
exact = lambda x: torch.exp(x[:, :1]) * torch.sin(x[:, 1:])
problem = kp.Problem(domain, lambda x, u: u.laplacian(), [kp.Dirichlet(exact)], exact=exact,
                     name="Laplace on a mesh file")
config = kp.TrainConfig(
    interior_points=max(200, round(2000 * SCALE)), boundary_points=max(40, round(400 * SCALE)),
    schedule=[kp.Adam(max(5, round(100 * SCALE))), kp.LM(max(2, round(15 * SCALE)), grid=5),
              kp.LM(max(2, round(10 * SCALE)), grid=10)],
    seed=0, verbose=SCALE >= 1,
)
solution = kp.solve(problem, kp.KAN([2, 8, 1]), config)
print(solution.errors())
kp.export_solution(solution, OUT / "trapezoid_solution.vtu")   # on the mesh's own nodes and cells
kp.plotting.plot_solution(solution, path=OUT / "mesh_file.png")
