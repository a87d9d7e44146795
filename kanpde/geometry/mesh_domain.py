"""Domains from mesh files (meshio): ``kp.MeshDomain.from_file("part.msh")``.

The mesh is held as simplices (triangles in 2-D, tetrahedra in 3-D; quads are cut into
two triangles, hexahedra into six tetrahedra along a main diagonal, higher-order cells
keep their corner nodes). Then:

- interior samples: uniform in volume through :func:`~kanpde.geometry.shapes.simplex_points`
  (the first unit coordinate picks a cell with probability proportional to its volume);
- boundary: the facets that belong to exactly one cell, each with the outward unit
  normal (pointing away from the cell's opposite vertex); samples uniform in area;
- sides: gmsh physical groups of dimension ``dim - 1`` (``field_data`` with
  ``gmsh:physical`` cell data), by name, restricted to boundary facets;
- ``contains``: barycentric test in the cells whose centroids lie within the largest
  centroid-vertex distance of the point (centroid KD-tree), or within ``tol`` of the boundary
  (facet-midpoint KD-tree); the cost per point does not grow with the mesh;
- curved sides (2-D): a closed loop of at least 12 boundary nodes that all lie on one circle,
  or a run of at least 6 facets of another loop whose nodes do, is taken to be that circle or
  arc (what the mesh approximates): boundary samples on its facets are moved radially onto
  it, its normals are radial, and its distance function is the circle's;
- distance functions (2-D): :class:`~kanpde.geometry.distance.SmoothDistance` of a few
  primitives per side: whole circles, arcs (part of a circle loop), and straight runs of
  facets merged into one segment each; a closed outer loop of at most 8 straight runs that is
  convex becomes one :class:`~kanpde.geometry.distance.ConvexPolygon` (smooth at its corners,
  where segments give a Hessian ~ 1/r); smooth (no dip at every mesh vertex) and O(primitives)
  per point, with closed-form derivatives;
- export: :func:`kanpde.export_solution` writes on the file's own points and cells.
"""

from __future__ import annotations

import os
from itertools import combinations

import numpy as np
import torch

from .distance import Arc, Circle, ConvexPolygon, SmoothDistance, convex_loop, merge_collinear
from .domains import Domain, _check_names, _default_names, _Patch
from .shapes import box_grid_inside, simplex_measures, simplex_points

__all__ = ["MeshDomain", "SimplexLocator"]

_SIMPLEX = {"triangle": 3, "triangle6": 3, "triangle7": 3, "tetra": 4, "tetra10": 4}
_QUAD = {"quad": 4, "quad8": 4, "quad9": 4}
_HEX = {"hexahedron": 8, "hexahedron20": 8, "hexahedron27": 8}
_FACETS_2D = {"line": 2, "line3": 2}
_FACETS_3D = {"triangle": 3, "triangle6": 3, "quad": 4, "quad8": 4, "quad9": 4}
# six tetrahedra around the diagonal 0-6 of a VTK-ordered hexahedron
_HEX_TETS = np.array([[0, 1, 2, 6], [0, 2, 3, 6], [0, 3, 7, 6], [0, 7, 4, 6], [0, 4, 5, 6], [0, 5, 1, 6]])


def _to_simplices(kind: str, cells: np.ndarray) -> np.ndarray:
    if kind in _SIMPLEX:
        return cells[:, :_SIMPLEX[kind]]
    if kind in _QUAD:
        return np.concatenate([cells[:, [0, 1, 2]], cells[:, [0, 2, 3]]])
    return cells[:, :8][:, _HEX_TETS].reshape(-1, 4)


def _facet_simplices(kind: str, cells: np.ndarray) -> np.ndarray:
    if kind in _QUAD:
        return np.concatenate([cells[:, [0, 1, 2]], cells[:, [0, 2, 3]]])
    return cells[:, :(_FACETS_2D.get(kind) or _FACETS_3D[kind])]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


class SimplexLocator:
    """The cell holding each point of a simplicial mesh, in O(log cells) per point: a KD-tree of the cell
    centroids gives candidates (the k nearest, k growing for the points not yet found), a barycentric test
    decides; no cell whose centroid lies farther than ``reach`` (the largest centroid-vertex distance) can
    hold the point, so the search stops there.

    Args:
        points: ``(P, d)`` node coordinates.  simplices: ``(C, d + 1)`` node indices.
    """

    def __init__(self, points: np.ndarray, simplices: np.ndarray):
        from scipy.spatial import cKDTree

        self.vertices = np.asarray(points, float)[np.asarray(simplices)]            # (C, d+1, d)
        edge = self.vertices[:, 1:] - self.vertices[:, :1]
        self.inverse = np.linalg.inv(np.transpose(edge, (0, 2, 1)))                # (C, d, d): x -> barycentric
        centroids = self.vertices.mean(axis=1)
        self.reach = float(np.linalg.norm(self.vertices - centroids[:, None], axis=-1).max())
        self.tree = cKDTree(centroids)

    def inside(self, x: np.ndarray, cells: np.ndarray, eps: float) -> np.ndarray:
        """``(n, k)`` bool: point i inside candidate cell ``cells[i, j]``."""
        rel = x[:, None, :] - self.vertices[cells, 0]                              # (n, k, d)
        lam = np.einsum("nkij,nkj->nki", self.inverse[cells], rel)
        return np.all(lam >= -eps, axis=-1) & (lam.sum(-1) <= 1 + eps)

    def __call__(self, x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
        """``(n,)`` index of a cell holding each point of ``x`` ``(n, d)``, -1 outside the mesh."""
        cells = len(self.vertices)
        found, todo, k = np.full(len(x), -1), np.arange(len(x)), 8
        while len(todo):
            k = min(k, cells)
            dist, near = self.tree.query(x[todo], k=k, distance_upper_bound=self.reach * (1 + 1e-9))
            dist, near = dist.reshape(len(todo), k), near.reshape(len(todo), k)
            valid = near < cells
            hit = self.inside(x[todo], np.where(valid, near, 0), eps) & valid
            first = hit.argmax(axis=1)
            found[todo] = np.where(hit.any(axis=1), near[np.arange(len(todo)), first], -1)
            # a point whose k-th neighbour is still within reach may sit in a cell further down the list
            todo = todo[(found[todo] < 0) & np.isfinite(dist[:, -1]) & (k < cells)]
            k *= 4
        return found


class MeshDomain(Domain):
    """A domain given by a simplicial mesh (see the module docstring).

    Args:
        points: ``(P, d)`` node coordinates, d = 2 or 3.
        simplices: ``(C, d + 1)`` node indices.
        sides: ``{name: (F, d) node indices of boundary facets}``.
        names: coordinate names.
        export_cells: meshio cell blocks to write solutions on (default: the simplices).

    Raises:
        ValueError: wrong shapes, indices out of range, degenerate cells, side facets not on the boundary.
    """

    def __init__(self, points, simplices, sides: dict | None = None, names=None, export_cells=None):
        points = np.array(points, dtype=float)
        simplices = np.array(simplices, dtype=np.int64)
        if points.ndim != 2 or points.shape[1] not in (2, 3) or not np.all(np.isfinite(points)):
            raise ValueError(f"expected finite points of shape (P, 2) or (P, 3), got {points.shape}")
        d = points.shape[1]
        if simplices.ndim != 2 or simplices.shape[1] != d + 1 or len(simplices) == 0:
            raise ValueError(f"expected simplices of shape (C, {d + 1}) for {d}-D points, got {simplices.shape}")
        if simplices.min() < 0 or simplices.max() >= len(points):
            raise ValueError(f"simplex node indices must lie in 0..{len(points) - 1}")
        self._points_, self._cells = points, simplices
        self._vertices = points[simplices]                                         # (C, d+1, d)
        self._volumes = simplex_measures(self._vertices)
        if np.any(self._volumes <= 1e-14 * self._volumes.max()):
            raise ValueError("the mesh has degenerate (zero-volume) cells")
        self.names = _check_names(_default_names(d) if names is None else names, d)
        self._boundary_facets()
        self._sides = {}
        for name, facets in (sides or {}).items():
            self._sides[str(name)] = self._facet_rows(np.asarray(facets, dtype=np.int64), name)
        self._export = export_cells or [("triangle" if d == 2 else "tetra", simplices)]
        lo, hi = points[np.unique(simplices)].min(axis=0), points[np.unique(simplices)].max(axis=0)
        self._lo, self._hi, self._scale = lo, hi, float(np.max(hi - lo))
        edge = self._vertices[:, 1:] - self._vertices[:, :1]
        self._inverse = np.linalg.inv(np.transpose(edge, (0, 2, 1)))               # (C, d, d): x -> barycentric
        self._tree, self._facet_trees = None, {}
        self._circles, self._facet_circle = self._find_circles() if d == 2 else ([], np.full(len(self._facets), -1))

    # -- construction ---------------------------------------------------------------

    @classmethod
    def from_file(cls, path: str | os.PathLike, names=None) -> "MeshDomain":
        """Read a mesh file with meshio (``.msh``, ``.vtu``, ``.vtk``, ``.xdmf``, ...).

        2-D when no cell is 3-D (the z coordinate, if any, must be constant); gmsh physical
        groups of facets become named sides.

        Raises:
            FileNotFoundError: no such file.  ValueError: no triangles/quads/tetrahedra/hexahedra.
        """
        import meshio

        if not os.path.isfile(path):
            raise FileNotFoundError(f"no mesh file {str(path)!r}")
        mesh = meshio.read(path)
        blocks = [(b.type, np.asarray(b.data)) for b in mesh.cells]
        volume3 = [(k, c) for k, c in blocks if k in _HEX or k.startswith("tetra")]
        d = 3 if volume3 else 2
        volume = volume3 or [(k, c) for k, c in blocks if k in _SIMPLEX or k in _QUAD]
        if not volume:
            raise ValueError(f"{str(path)!r} has no triangles, quads, tetrahedra or hexahedra "
                             f"(cell types: {sorted({k for k, _ in blocks})})")
        points = np.asarray(mesh.points, dtype=float)
        if d == 2 and points.shape[1] == 3:
            if np.ptp(points[:, 2]) > 1e-12 * max(1.0, np.ptp(points[:, :2])):
                raise ValueError(f"{str(path)!r} has only 2-D cells but they do not lie in a plane z = const")
            points = points[:, :2]
        simplices = np.concatenate([_to_simplices(k, c) for k, c in volume])
        sides = cls._physical_sides(mesh, blocks, d)
        used, inverse = np.unique(simplices, return_inverse=True)
        remap = np.full(len(points), -1)
        remap[used] = np.arange(len(used))
        export = [(k.rstrip("0123456789") if k not in _HEX else "hexahedron",
                   remap[c[:, :({**_SIMPLEX, **_QUAD, **_HEX}[k])]]) for k, c in volume]
        sides = {n: remap[f] for n, f in sides.items() if np.all(remap[f] >= 0)}
        return cls(points[used], inverse.reshape(simplices.shape), sides, names, export)

    @staticmethod
    def _physical_sides(mesh, blocks, d: int) -> dict[str, np.ndarray]:
        tags = mesh.cell_data.get("gmsh:physical")
        if tags is None:
            return {}
        facet_kinds = _FACETS_2D if d == 2 else _FACETS_3D
        out: dict[str, list] = {}
        for name, (tag, dim) in ((n, v[:2]) for n, v in mesh.field_data.items()):
            if int(dim) != d - 1:
                continue
            for (kind, cells), block_tags in zip(blocks, tags):
                if kind in facet_kinds:
                    chosen = cells[np.asarray(block_tags) == tag]
                    if len(chosen):
                        out.setdefault(name, []).append(_facet_simplices(kind, chosen))
        return {n: np.concatenate(f) for n, f in out.items()}

    def _boundary_facets(self) -> None:
        """Facets of exactly one cell, with their outward unit normals."""
        d = self.dim
        local = list(combinations(range(d + 1), d))
        facets = np.concatenate([self._cells[:, list(f)] for f in local])          # (C*(d+1), d)
        opposite = np.concatenate([self._cells[:, [i for i in range(d + 1) if i not in f][0]] for f in local])
        key = np.sort(facets, axis=1)
        _, first, counts = np.unique(key, axis=0, return_index=True, return_counts=True)
        keep = first[counts == 1]
        self._facets, opp = facets[keep], opposite[keep]
        v = self._points_[self._facets]                                            # (F, d, d)
        if d == 2:
            t = v[:, 1] - v[:, 0]
            n = np.column_stack([t[:, 1], -t[:, 0]])
        else:
            n = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
        n /= np.linalg.norm(n, axis=1, keepdims=True)
        flip = ((self._points_[opp] - v[:, 0]) * n).sum(axis=1) > 0
        n[flip] *= -1
        self._normals = n
        self._facet_index = {tuple(k): i for i, k in enumerate(np.sort(self._facets, axis=1))}
        self._facet_measures = simplex_measures(v)

    def _facet_rows(self, facets: np.ndarray, name) -> np.ndarray:
        if facets.ndim != 2 or facets.shape[1] != self.dim:
            raise ValueError(f"side {name!r}: expected facets of shape (F, {self.dim}), got {facets.shape}")
        rows = [self._facet_index.get(tuple(sorted(f))) for f in facets]
        if any(r is None for r in rows):
            raise ValueError(f"side {name!r} has facets that are not on the mesh boundary")
        return np.array(rows, dtype=np.int64)

    # -- geometry ---------------------------------------------------------------------

    @property
    def bounds(self):
        return self._lo.copy(), self._hi.copy()

    @property
    def volume(self) -> float:
        return float(self._volumes.sum())

    def __repr__(self) -> str:
        return (f"MeshDomain({len(self._cells)} {'triangles' if self.dim == 2 else 'tetrahedra'}, "
                f"{len(self._facets)} boundary facets, sides={tuple(self._sides)})")

    def simplices(self) -> tuple[np.ndarray, np.ndarray]:
        """The mesh as ``(points (P, d), simplices (C, d + 1))``."""
        return self._points_.copy(), self._cells.copy()

    def mesh_cells(self) -> tuple[np.ndarray, list]:
        """Points and meshio cell blocks of the source mesh, for export."""
        return self._points_.copy(), [(k, c.copy()) for k, c in self._export]

    # -- sampling ---------------------------------------------------------------------

    def _interior_from_unit(self, u):
        return simplex_points(self._vertices, self._volumes, u)

    def _rows(self, side) -> np.ndarray:
        if side is None:
            return np.arange(len(self._facets))
        return self._sides[self._check_side(side)]

    def _patches(self, side):
        rows = self._rows(side)
        verts, weights = self._points_[self._facets[rows]], self._facet_measures[rows]

        def sample(u):
            x, pick = simplex_points(verts, weights, u, return_pick=True)
            return self._snap(x, self._facet_circle[rows[pick]])
        return [_Patch(float(weights.sum()), self.dim - 1, sample)]

    def _snap(self, x: np.ndarray, circle: np.ndarray) -> np.ndarray:
        """Points on facets of circle loops (``circle[i] >= 0``) moved radially onto their circle."""
        x = x.copy()
        for i, c in enumerate(self._circles):
            on = circle == i
            rel = x[on] - c.center
            x[on] = c.center + c.radius * rel / np.linalg.norm(rel, axis=1, keepdims=True)
        return x

    # -- predicates -------------------------------------------------------------------

    def _in_cells(self, x: np.ndarray, cells: np.ndarray, eps: float) -> np.ndarray:
        """``(n, k)`` bool: point i inside candidate cell ``cells[i, j]``."""
        rel = x[:, None, :] - self._vertices[cells, 0]                             # (n, k, d)
        lam = np.einsum("nkij,nkj->nki", self._inverse[cells], rel)
        return np.all(lam >= -eps, axis=-1) & (lam.sum(-1) <= 1 + eps)

    def _inside(self, x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
        """2-D: matplotlib's trapezoid map (O(log cells) per point). 3-D: :class:`SimplexLocator`."""
        if self.dim == 2:
            if self._tree is None:
                from matplotlib.tri import TrapezoidMapTriFinder, Triangulation

                self._tree = TrapezoidMapTriFinder(Triangulation(*self._points_.T, self._cells))
            return np.asarray(self._tree(x[:, 0], x[:, 1])) >= 0
        if self._tree is None:
            self._tree = SimplexLocator(self._points_, self._cells)
        return self._tree(x, eps) >= 0

    def _facet_distances(self, x: np.ndarray, cand: np.ndarray) -> np.ndarray:
        """``(n, k)`` distances from point i to the boundary facets ``cand[i, j]`` (2-D: a facet of a
        circle loop counts as its arc too)."""
        if self.dim == 3:
            raise AssertionError("3-D facet distances go through _nearest_triangle")
        f = self._points_[self._facets[cand]]                                      # (n, k, 2, 2)
        p, q = f[..., 0, :], f[..., 1, :]
        d = q - p
        rel = x[:, None, :] - p
        s = np.clip((rel * d).sum(-1) / (d * d).sum(-1), 0.0, 1.0)
        out = np.linalg.norm(rel - s[..., None] * d, axis=-1)
        circle = self._facet_circle[cand]
        for i, c in enumerate(self._circles):
            on = circle == i
            if not on.any():
                continue
            a, b, y = p[on] - c.center, q[on] - c.center, np.broadcast_to(x[:, None, :], p.shape)[on] - c.center
            cross = lambda u, v: u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]  # noqa: E731
            turn = np.sign(cross(a, b))
            # the ray from the centre through the point crosses the facet: the nearest arc point is radial
            wedge = (np.sign(cross(a, y)) * turn >= 0) & (np.sign(cross(y, b)) * turn >= 0) \
                & ((y * (a + b)).sum(-1) > 0)
            arc = np.where(wedge, np.abs(np.linalg.norm(y, axis=-1) - c.radius), np.inf)
            out[on] = np.minimum(out[on], arc)
        return out

    def _distances(self, x: np.ndarray, rows=None) -> np.ndarray:
        """``(n,)`` distances to the boundary facets (or those of ``rows``)."""
        if self.dim == 3:
            return self._nearest_triangle(x, np.arange(len(self._facets)) if rows is None else rows)[0]
        dist, _ = self._nearest_facet(x, rows)
        return dist

    def _facet_index_of(self, rows: np.ndarray):
        """KD-tree of the midpoints of the facets ``rows`` and their longest length (kept per row set)."""
        from scipy.spatial import cKDTree

        key = rows.tobytes()
        if key not in self._facet_trees:
            f = self._points_[self._facets[rows]]
            self._facet_trees[key] = (cKDTree(f.mean(axis=1)), float(np.linalg.norm(f[:, 1] - f[:, 0], axis=1).max()))
        return self._facet_trees[key]

    def _nearest_facet(self, x: np.ndarray, rows=None):
        """2-D: distance to the nearest facet of ``rows`` (all when None) and its row. Candidates are the
        facets with the nearest midpoints (KD-tree); points the bound ``|x - mid| - reach`` leaves
        undecided are checked against every facet."""
        from scipy.spatial import cKDTree

        rows = np.arange(len(self._facets)) if rows is None else np.asarray(rows)
        tree, reach = self._facet_index_of(rows)
        value, index = np.full(len(x), np.inf), np.zeros(len(x), np.int64)
        todo, k = np.arange(len(x)), 16
        while len(todo):
            k = min(k, len(rows))
            for chunk in np.array_split(todo, max(1, len(todo) * k // 2_000_000)):
                far, near = tree.query(x[chunk], k=k)
                far, near = far.reshape(len(chunk), k), near.reshape(len(chunk), k)
                dist = self._facet_distances(x[chunk], rows[near])                 # (n, k)
                best = np.argmin(dist, axis=1)
                value[chunk], index[chunk] = dist[np.arange(len(chunk)), best], rows[near[np.arange(len(chunk)), best]]
                # a facet not among the k has its midpoint at least far[:, -1] away, so it is at least
                # far[:, -1] - reach away: more candidates only where that could still be nearer
                undecided = (value[chunk] > far[:, -1] - reach) & (k < len(rows))
                todo = todo[~np.isin(todo, chunk[~undecided])]
            k *= 4
        return value, index

    def _nearest_triangle(self, x: np.ndarray, rows: np.ndarray):
        """3-D: distance to the nearest of the facets ``rows`` and its index (among 8 nearest by centroid)."""
        from scipy.spatial import cKDTree

        tri = self._points_[self._facets[rows]]                                   # (F, 3, 3)
        k = min(8, len(rows))
        _, near = cKDTree(tri.mean(axis=1)).query(x, k=k)
        near = near.reshape(len(x), k)
        t = tri[near]                                                              # (n, k, 3, 3)
        n = self._normals[rows][near]
        rel = x[:, None] - t[:, :, 0]
        plane = (rel * n).sum(-1)
        proj = x[:, None] - plane[..., None] * n
        e1, e2 = t[:, :, 1] - t[:, :, 0], t[:, :, 2] - t[:, :, 0]
        gram = np.stack([np.stack([(e1 * e1).sum(-1), (e1 * e2).sum(-1)], -1),
                         np.stack([(e1 * e2).sum(-1), (e2 * e2).sum(-1)], -1)], -2)
        rhs = np.stack([((proj - t[:, :, 0]) * e1).sum(-1), ((proj - t[:, :, 0]) * e2).sum(-1)], -1)
        ab = np.linalg.solve(gram, rhs[..., None])[..., 0]
        inside = (ab >= 0).all(-1) & (ab.sum(-1) <= 1)
        edges = [np.linalg.norm(rel - np.clip(((x[:, None] - p) * (q - p)).sum(-1) / ((q - p) ** 2).sum(-1), 0, 1)
                                [..., None] * (q - p) - (p - t[:, :, 0]), axis=-1)
                 for p, q in ((t[:, :, 0], t[:, :, 1]), (t[:, :, 1], t[:, :, 2]), (t[:, :, 2], t[:, :, 0]))]
        dist = np.where(inside, np.abs(plane), np.minimum.reduce(edges))
        best = np.argmin(dist, axis=1)
        return dist[np.arange(len(x)), best], rows[near[np.arange(len(x)), best]]

    def contains(self, x, tol: float = 1e-10) -> np.ndarray:
        x = self._points(x)
        return self._inside(x) | self._near_boundary(x, tol * self._scale)

    def on_boundary(self, x, tol: float = 1e-8) -> np.ndarray:
        return self._near_boundary(self._points(x), tol * self._scale)

    def _near_boundary(self, x: np.ndarray, within: float) -> np.ndarray:
        """Points within ``within`` of the boundary; exact distances only for points whose nearest
        facet midpoint is close enough for that to be possible."""
        if self.dim == 3:
            return self._distances(x) <= within
        tree, reach = self._facet_index_of(np.arange(len(self._facets)))
        # the bound prunes the search: a nearest-midpoint query from far away explores a whole arc of
        # near-equidistant midpoints
        near = np.isfinite(tree.query(x, k=1, distance_upper_bound=within + reach * (1 + 1e-9))[0])
        out = np.zeros(len(x), bool)
        if near.any():
            out[near] = self._distances(x[near]) <= within
        return out

    def normals(self, x) -> np.ndarray:
        """Outward unit normal of the nearest boundary facet.

        Raises:
            ValueError: wrong shape or points off the boundary.
        """
        x = self._points(x)
        self._require_boundary(x)
        if self.dim == 3:
            return self._normals[self._nearest_triangle(x, np.arange(len(self._facets)))[1]]
        rows = self._nearest_facet(x)[1]
        out = self._normals[rows]
        for i, c in enumerate(self._circles):  # radial on a circle the mesh approximates
            on = self._facet_circle[rows] == i
            rel = x[on] - c.center
            out[on] = c.sign * rel / np.linalg.norm(rel, axis=1, keepdims=True)
        return out

    @property
    def side_names(self) -> tuple[str, ...]:
        return tuple(self._sides)

    def side(self, name: str):
        rows = self._rows(name)

        def predicate(x, tol: float = 1e-8):
            return self._distances(self._points(x), rows) <= tol * self._scale
        return predicate

    def grid(self, n):
        """Bounding-box grid points inside the mesh; shape None."""
        return box_grid_inside(self, n)

    # -- distance functions (2-D) -----------------------------------------------------------

    def _chains(self, rows: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, bool]]:
        """The facets ``rows`` as polylines: ``(nodes (m+1,), facet rows (m,), closed)`` each."""
        links: dict[int, list[tuple[int, int]]] = {}
        for r in rows:
            a, b = (int(v) for v in self._facets[r])
            links.setdefault(a, []).append((int(r), b))
            links.setdefault(b, []).append((int(r), a))
        used, out = set(), []
        ends = [n for n, l in links.items() if len(l) == 1]
        for start in ends + list(links):
            if all(r in used for r, _ in links[start]):
                continue
            nodes, chain, node = [start], [], start
            while True:
                step = next(((r, o) for r, o in links[node] if r not in used), None)
                if step is None:
                    break
                used.add(step[0])
                chain.append(step[0])
                node = step[1]
                nodes.append(node)
            out.append((np.array(nodes), np.array(chain), len(nodes) > 2 and nodes[0] == nodes[-1]))
        return out

    def _find_circles(self):
        """Circles the boundary approximates: closed loops of >= 12 nodes that all lie on one circle
        (whole circles), and runs of >= 6 facets of other loops whose nodes do (arcs). "On" means
        within 1e-9 of the mesh size, with a radius below 100 mesh sizes (not a straight run)."""
        circles, owner = [], np.full(len(self._facets), -1)

        def add(nodes, chain):
            center, radius = self._fit_circle(self._points_[nodes])
            mid = self._points_[self._facets[chain]].mean(axis=1)
            sign = 1.0 if np.mean(((mid - center) * self._normals[chain]).sum(1)) > 0 else -1.0
            owner[chain] = len(circles)
            circles.append(Circle(center, radius, sign))

        for nodes, chain, closed in self._chains(np.arange(len(self._facets))):
            if closed and len(chain) >= 12 and self._fit_circle(self._points_[nodes[:-1]]) is not None:
                add(nodes[:-1], chain)
                continue
            ring = nodes[:-1] if closed else nodes
            for first, last in self._arc_runs(nodes, closed):
                add(np.take(ring, range(first, last + 1), mode="wrap"), np.take(chain, range(first, last), mode="wrap"))
        return circles, owner

    def _fit_circle(self, p: np.ndarray):
        """``(center, radius)`` of the circle through all of ``p`` (least squares, then checked), or None."""
        a = np.column_stack([2 * p, np.ones(len(p))])
        (cx, cy, c0), *_ = np.linalg.lstsq(a, (p ** 2).sum(1), rcond=None)
        radius = np.sqrt(max(c0 + cx ** 2 + cy ** 2, 0.0))
        if not 0 < radius < 100 * self._scale:
            return None
        if np.abs(np.linalg.norm(p - (cx, cy), axis=1) - radius).max() > 1e-9 * self._scale:
            return None
        return np.array([cx, cy]), float(radius)

    def _arc_runs(self, nodes: np.ndarray, closed: bool, least: int = 6) -> list[tuple[int, int]]:
        """Maximal runs ``(first, last)`` of node positions in ``nodes`` (a closed loop's may pass its end
        and wrap) spanning >= ``least`` facets whose nodes lie on one circle."""
        ring = nodes[:-1] if closed else nodes
        n = len(ring)

        def on_circle(a, b):
            return self._fit_circle(self._points_[np.take(ring, range(a, b + 1), mode="wrap")])

        shift = 0
        if closed:  # start where four nodes in a row are not on one circle: no arc runs across the start
            shift = next((i for i in range(n) if on_circle(i - 2, i + 1) is None), None)
            if shift is None:
                return []
        facets, out, first = (n if closed else n - 1), [], 0
        while first + least <= facets:
            last = first + 2
            while last <= facets and on_circle(first + shift, last + shift) is not None:
                last += 1
            last -= 1
            if last - first >= least:
                out.append((first + shift, last + shift))
                first = last
            else:
                first += 1
        return out

    def _primitives(self, rows: np.ndarray) -> list:
        """Whole circles, arcs and merged straight runs covering the facets ``rows``."""
        out, tol = [], 1e-10 * self._scale
        for nodes, chain, closed in self._chains(rows):
            owner = self._facet_circle[chain]
            if closed and np.all(owner == owner[0]) and owner[0] >= 0:
                out.append(self._circles[owner[0]])
                continue
            if closed and np.any(owner != owner[0]):  # start the loop where the kind of facet changes
                shift = int(np.flatnonzero(owner != np.roll(owner, 1))[0])
                chain, owner = np.roll(chain, -shift), np.roll(owner, -shift)
                nodes = np.concatenate([np.roll(nodes[:-1], -shift), np.roll(nodes[:-1], -shift)[:1]])
            cuts = np.flatnonzero(np.diff(owner)) + 1
            for run in np.split(np.arange(len(chain)), cuts):
                pts = self._points_[nodes[run[0]:run[-1] + 2]]
                c = owner[run[0]]
                if c < 0:
                    whole = bool(closed and len(cuts) == 0)
                    segments = merge_collinear(pts[:-1] if whole else pts, whole, tol)
                    out += self._convex_outer(segments, chain) if whole else segments
                else:
                    circle = self._circles[c]
                    mid = pts[len(pts) // 2] if len(pts) > 2 else \
                        circle.center + circle.radius * _unit(pts.mean(axis=0) - circle.center)
                    out.append(Arc(circle.center, circle.radius, circle.sign, pts[0], pts[-1], mid))
        return out

    def _convex_outer(self, segments: list, chain: np.ndarray) -> list:
        """A closed loop of merged segments as one :class:`ConvexPolygon` when it is convex, has few edges and
        holds the domain (its facets' outward normals point away from its centre); else the segments."""
        vertices = np.array([s.p for s in segments])
        if not convex_loop(vertices):
            return segments
        mid = self._points_[self._facets[chain]].mean(axis=1)                     # (m, 2)
        if np.mean(((mid - vertices.mean(axis=0)) * self._normals[chain]).sum(1)) <= 0:
            return segments  # a polygonal hole: its lines pass through the domain
        return [ConvexPolygon(vertices)]

    def adf(self, sides=None) -> SmoothDistance:
        """Smooth distance function zero on the boundary facets of the chosen sides (2-D meshes);
        see the module docstring.

        Raises:
            ValueError: a 3-D mesh.
        """
        if self.dim != 2:
            raise ValueError("distance functions of 3-D mesh domains are not available; use a soft condition")
        rows = np.unique(np.concatenate([self._rows(s) for s in (sides or [None])]))
        return SmoothDistance(self._primitives(rows))

    def signed_adf(self):
        unsigned = self.adf()

        def phi(x: torch.Tensor) -> torch.Tensor:
            inside = torch.as_tensor(self._inside(x.detach().cpu().numpy().astype(float)), device=x.device)
            value = unsigned(x)
            return torch.where(inside[:, None], value, -value)
        return phi
