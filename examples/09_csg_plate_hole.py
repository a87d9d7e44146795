"""CSG geometry: a plate with a hole, solved by a KAN and by the finite-element baseline.

    Δu = -1 on [-1, 1]² minus the disk of radius 0.4,  u = 0 on the whole boundary.

`a - b`, `a | b` and `a & b` combine domains; the zero Dirichlet data are built into the output
through a smooth distance function of the CSG boundary (`domain.adf()`). No exact solution here:
`kp.fem.poisson` (scikit-fem, P2) is the reference. Writes csg_plate_hole.png.

Run: python examples/09_csg_plate_hole.py   (KANPDE_EXAMPLE_SCALE=0.05 for a smoke run)
"""
import os
from pathlib import Path

import matplotlib.pyplot as plt
import matplotlib.tri as tri
import numpy as np

import kanpde as kp

SCALE = float(os.environ.get("KANPDE_EXAMPLE_SCALE", "1"))
OUT = Path(os.environ.get("KANPDE_EXAMPLE_OUT", "results/examples"))

plate = kp.Rectangle((-1, -1), (1, 1)) - kp.Disk((0, 0), 0.4)
print("sides:", plate.side_names)
problem = kp.Problem(plate, lambda x, u: u.laplacian() + 1.0, [kp.Dirichlet(0.0)])
config = kp.TrainConfig(
    interior_points=max(200, round(2000 * SCALE)),
    schedule=[kp.Adam(max(5, round(100 * SCALE))), kp.LM(max(2, round(15 * SCALE)), grid=5),
              kp.LM(max(2, round(10 * SCALE)), grid=10)],
    seed=0, verbose=SCALE >= 1,
)
solution = kp.solve(problem, kp.KAN([2, 10, 1]), config)

fem = kp.fem.poisson(plate, -1.0, 0.0, h=0.05, order=2)   # Δu = f with f = -1, g = 0
nodes = np.asarray(plate.sample_interior(6000, method="sobol", seed=1))   # (6000, 2) points in the plate
u_kan = solution.predict(nodes)[:, 0]
u_fem = np.asarray(fem.interpolate(nodes)).reshape(-1)
difference = np.linalg.norm(u_kan - u_fem) / np.linalg.norm(u_fem)
print(f"KAN vs FEM P2 (h = 0.05), relative L2 difference: {difference:.2e}")

triangulation = tri.Triangulation(nodes[:, 0], nodes[:, 1])
centroids = nodes[triangulation.triangles].mean(axis=1)
triangulation.set_mask(np.hypot(centroids[:, 0], centroids[:, 1]) < 0.4)   # no triangles across the hole
fig, axes = plt.subplots(1, 2, figsize=(8, 3.4), layout="constrained")
for ax, values, title in [(axes[0], u_kan, "KAN u"), (axes[1], np.abs(u_kan - u_fem), "|KAN - FEM P2|")]:
    image = ax.tricontourf(triangulation, values, levels=30)
    fig.colorbar(image, ax=ax)
    ax.set(aspect="equal", title=title)
fig.suptitle(f"plate with a hole: relative difference {difference:.1e}")
OUT.mkdir(parents=True, exist_ok=True)
fig.savefig(OUT / "csg_plate_hole.png", dpi=90)
