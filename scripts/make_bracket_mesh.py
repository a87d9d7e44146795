"""Write problems/data/bracket.msh: the small gmsh (format 2.2) mesh of the laplace_mesh problem.

A bracket-shaped polygon, triangulated (ear clipping) and refined three times by
scikit-fem, with gmsh physical groups "bottom", "tip" and "wall" on the boundary lines
and "body" on the triangles. Run once; the file is committed.

Usage: python scripts/make_bracket_mesh.py [--out problems/data/bracket.msh]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import meshio  # noqa: E402
import numpy as np  # noqa: E402
from skfem import MeshTri  # noqa: E402

import kanpde as kp  # noqa: E402
from kanpde.files import atomic_write  # noqa: E402

VERTICES = [(0.0, 0.0), (2.0, 0.0), (2.0, 0.5), (0.8, 0.5), (0.8, 1.5), (0.0, 1.5)]
GROUPS = {"bottom": [0], "tip": [1], "wall": [2, 3, 4, 5]}   # polygon edges per physical group


def build(refinements: int = 3) -> meshio.Mesh:
    polygon = kp.Polygon(VERTICES)
    points, triangles = polygon.simplices()
    mesh = MeshTri(points.T.copy(), triangles.T.copy()).refined(refinements)
    p, t = mesh.p.T, mesh.t.T
    facets = mesh.facets[:, mesh.boundary_facets()].T                         # (F, 2) boundary lines
    mid = p[facets].mean(axis=1)
    edge_of = np.argmax(np.stack([polygon.side(f"edge_{i}")(mid, tol=1e-9) for i in range(len(VERTICES))],
                                 axis=1), axis=1)                             # the polygon edge each line is on
    lines, tags = [], []
    field_data = {}
    for tag, (name, edges) in enumerate(GROUPS.items(), start=1):
        chosen = facets[np.isin(edge_of, edges)]
        lines.append(chosen)
        tags.append(np.full(len(chosen), tag))
        field_data[name] = np.array([tag, 1])
    field_data["body"] = np.array([len(GROUPS) + 1, 2])
    cells = [("line", np.concatenate(lines)), ("triangle", t)]
    cell_data = {"gmsh:physical": [np.concatenate(tags), np.full(len(t), len(GROUPS) + 1)],
                 "gmsh:geometrical": [np.concatenate(tags), np.full(len(t), len(GROUPS) + 1)]}
    return meshio.Mesh(np.column_stack([p, np.zeros(len(p))]), cells, cell_data=cell_data, field_data=field_data)


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "problems" / "data" / "bracket.msh"))
    args = parser.parse_args(argv)
    mesh = build()
    return atomic_write(args.out, lambda tmp: meshio.write(tmp, mesh, file_format="gmsh22", binary=False))


if __name__ == "__main__":
    print(main())
