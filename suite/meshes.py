"""Mesh files of the suite, written with meshio the way a user would prepare a part (gmsh format 2.2).

Each function writes its file under ``suite/data/`` when missing and returns the path. The triangulations
are structured polar maps (rings of points between two boundary curves), so every boundary vertex lies
exactly on its curve.
"""

from __future__ import annotations

from pathlib import Path

import meshio
import numpy as np

from kanpde.files import atomic_write

DATA = Path(__file__).resolve().parent / "data"


def _ring_mesh(inner, outer, n_ring: int, n_around: int):
    """Points and triangles between two closed curves ``inner(t)``, ``outer(t)`` (t in [0, 2 pi)), and the
    indices of the points on each curve. ``(n_ring + 1) * n_around`` points."""
    t = np.linspace(0.0, 2 * np.pi, n_around, endpoint=False)
    s = np.linspace(0.0, 1.0, n_ring + 1)[:, None, None]
    a, b = inner(t).T[None], outer(t).T[None]                       # (1, n_around, 2)
    points = ((1 - s) * a + s * b).reshape(-1, 2)                   # (n_ring + 1) * n_around rows
    idx = np.arange(len(points)).reshape(n_ring + 1, n_around)
    nxt = np.roll(idx, -1, axis=1)
    quads = np.stack([idx[:-1], nxt[:-1], nxt[1:], idx[1:]], axis=-1).reshape(-1, 4)
    triangles = np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])
    return points, triangles, idx[0], idx[-1]


def _loop_lines(ring: np.ndarray) -> np.ndarray:
    return np.stack([ring, np.roll(ring, -1)], axis=1)


def _write(path: Path, points, triangles, groups: dict) -> Path:
    """gmsh 2.2 with physical line groups ``groups`` ({name: (L, 2) lines}) and the body."""
    lines = [groups[name] for name in groups]
    tags = [np.full(len(lines[i]), i + 1) for i in range(len(lines))]
    field_data = {name: np.array([i + 1, 1]) for i, name in enumerate(groups)}
    field_data["body"] = np.array([len(groups) + 1, 2])
    cells = [("line", np.concatenate(lines)), ("triangle", triangles)]
    body = np.full(len(triangles), len(groups) + 1)
    cell_data = {"gmsh:physical": [np.concatenate(tags), body], "gmsh:geometrical": [np.concatenate(tags), body]}
    mesh = meshio.Mesh(np.column_stack([points, np.zeros(len(points))]), cells, cell_data=cell_data,
                       field_data=field_data)
    atomic_write(path, lambda tmp: meshio.write(tmp, mesh, file_format="gmsh22", binary=False))
    return path


def annulus(r_in: float = 0.5, r_out: float = 1.0, n_ring: int = 16, n_around: int = 256) -> Path:
    """suite/data/annulus.msh: r_in <= r <= r_out, sides "inner" and "outer"."""
    path = DATA / "annulus.msh"
    if not path.exists():
        circle = lambda r: (lambda t: np.stack([r * np.cos(t), r * np.sin(t)]))  # noqa: E731
        points, triangles, inner, outer = _ring_mesh(circle(r_in), circle(r_out), n_ring, n_around)
        _write(path, points, triangles, {"inner": _loop_lines(inner), "outer": _loop_lines(outer)})
    return path


def _square(t):
    """The square [-1, 1]^2 parametrised by the angle: the point on its side along direction t."""
    c, s = np.cos(t), np.sin(t)
    scale = 1.0 / np.maximum(np.abs(c), np.abs(s))
    return np.stack([scale * c, scale * s])


def plate_with_holes(radius: float = 0.35, n_ring: int = 12, n_around: int = 192) -> Path:
    """suite/data/plate_holes.msh: the plate [0, 4] x [0, 2] with two holes of ``radius`` at (1, 1) and
    (3, 1); sides "holes" and "outer". Two squares meshed by the ring map, merged on x = 2."""
    path = DATA / "plate_holes.msh"
    if path.exists():
        return path
    parts = []
    for cx in (1.0, 3.0):
        pts, tri, inner, outer = _ring_mesh(lambda t: np.stack([radius * np.cos(t), radius * np.sin(t)]),
                                            _square, n_ring, n_around)
        parts.append((pts + [cx, 1.0], tri, inner, outer))
    offset = len(parts[0][0])
    points = np.concatenate([parts[0][0], parts[1][0]])
    keys = np.round(points, 10)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    remap = first[inverse]                                          # every point -> its first copy
    used, compact = np.unique(remap, return_inverse=True)
    renumber = compact.ravel()

    def index(i):
        return renumber[np.asarray(i)]

    triangles = np.concatenate([index(parts[0][1]), index(parts[1][1] + offset)])
    holes = np.concatenate([_loop_lines(index(parts[0][2])), _loop_lines(index(parts[1][2] + offset))])
    outer = np.concatenate([_loop_lines(index(parts[0][3])), _loop_lines(index(parts[1][3] + offset))])
    shared = np.isclose(points[used][outer].mean(axis=1)[:, 0], 2.0)  # lines on x = 2 are inside now
    return _write(path, points[used], triangles, {"holes": holes, "outer": outer[~shared]})


def l_prism(n: int = 6) -> Path:
    """suite/data/l_prism.vtu: the L-shaped prism ([0, 2]^2 minus [1, 2]^2) x [0, 1] as tetrahedra (a
    scikit-fem tensor mesh with ``n`` cells per unit, the quadrant's cells removed)."""
    path = DATA / "l_prism.vtu"
    if not path.exists():
        from skfem import MeshTet

        axis = np.linspace(0, 2, 2 * n + 1)
        mesh = MeshTet.init_tensor(axis, axis, np.linspace(0, 1, n + 1))
        centres = mesh.p[:, mesh.t].mean(axis=1)                       # (3, cells)
        keep = ~((centres[0] > 1) & (centres[1] > 1))
        used, cells = np.unique(mesh.t[:, keep], return_inverse=True)
        out = meshio.Mesh(mesh.p[:, used].T, [("tetra", cells.reshape(4, -1).T)])
        atomic_write(path, lambda tmp: meshio.write(tmp, out, file_format="vtu"))
    return path
