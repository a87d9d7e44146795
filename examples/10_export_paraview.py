"""Export to ParaView: VTU and XDMF (+ HDF5) files that meshio and ParaView read.

    Δu = 0 on the unit disk,  u = x³ - 3xy² on the circle,  exact u = x³ - 3xy².

`kp.export_solution(solution, path)` evaluates u, the exact solution and the error on a mesh of
the domain (the user's own mesh for `kp.MeshDomain`) and writes it; the format follows the
extension (.vtu, .vtk, .xdmf, .pvd). A space-time solution becomes a time series over t
(.xdmf, or a .pvd index of .vtu files). Writes export_paraview.png (u read back from the VTU file).

Run: python examples/10_export_paraview.py   (KANPDE_EXAMPLE_SCALE=0.05 for a smoke run)
"""
import os
from pathlib import Path

import matplotlib.pyplot as plt
import meshio

import kanpde as kp

SCALE = float(os.environ.get("KANPDE_EXAMPLE_SCALE", "1"))
OUT = Path(os.environ.get("KANPDE_EXAMPLE_OUT", "results/examples"))

exact = lambda x: x[:, :1] ** 3 - 3 * x[:, :1] * x[:, 1:] ** 2
problem = kp.Problem(kp.Disk((0, 0), 1.0), lambda x, u: u.laplacian(), [kp.Dirichlet(exact)], exact=exact)
config = kp.TrainConfig(
    interior_points=max(200, round(1500 * SCALE)),
    schedule=[kp.Adam(max(5, round(100 * SCALE))), kp.LM(max(2, round(15 * SCALE)), grid=5),
              kp.LM(max(2, round(10 * SCALE)), grid=10)],
    seed=0, verbose=SCALE >= 1,
)
solution = kp.solve(problem, kp.KAN([2, 8, 1]), config)
print(solution.errors())

vtu = kp.export_solution(solution, OUT / "disk.vtu", resolution=60)       # u, u_exact, error
xdmf = kp.export_solution(solution, OUT / "disk.xdmf", residual=True)     # + the PDE residual; heavy data in .h5
print("wrote", vtu, "and", xdmf)

mesh = meshio.read(vtu)
print("fields:", sorted(mesh.point_data))
triangles = mesh.cells_dict["triangle"]
fig, axes = plt.subplots(1, 2, figsize=(8, 3.4), layout="constrained")
for ax, name in zip(axes, ["u", "error"]):
    image = ax.tripcolor(mesh.points[:, 0], mesh.points[:, 1], triangles, mesh.point_data[name].ravel(),
                         shading="gouraud")
    fig.colorbar(image, ax=ax)
    ax.set(aspect="equal", title=f"{name} read back from disk.vtu")
fig.savefig(OUT / "export_paraview.png", dpi=90)
