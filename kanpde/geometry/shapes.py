"""More shapes: :class:`Polygon` (simple, possibly non-convex), :class:`Triangle`,
:class:`Ellipse` and the 3-D :class:`Ball` (alias :data:`Sphere`).

Sampling stays volume-preserving (see :mod:`.geometry`): a polygon is cut into
triangles (ear clipping) and the first unit coordinate both picks a triangle with
probability proportional to its area and, rescaled within its bin, serves as a
coordinate of the point in it (``(s, t)`` folded into the triangle by
``s + t > 1 -> (1 - s, 1 - t)``); the polygon's edges are sampled the same way by
length. :func:`simplex_points` does this for any set of simplices (also the cells and
boundary facets of a :class:`~kanpde.MeshDomain`).

Each shape has a signed approximate distance function ``signed_adf()`` and
``adf(sides)`` (zero on the chosen sides) from :mod:`.distance`.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..checks import finite_vector, is_int
from .distance import SmoothDistance, merge_collinear
from .domains import Domain, _check_names, _fmt, _grid_counts, _Patch, center_and_radius

__all__ = ["Polygon", "Triangle", "Ellipse", "Ball", "Sphere", "simplex_points", "box_grid_inside"]


# ---------------------------------------------------------------------------------- simplices


def _fold(u: np.ndarray) -> np.ndarray:
    """Barycentric weights ``(n, k+1)`` of unit-cube points folded into the unit k-simplex (k = 1, 2, 3)."""
    u = u.copy()
    k = u.shape[1]
    if k >= 2:
        m = u[:, 0] + u[:, 1] > 1
        u[m, :2] = 1 - u[m, :2]
    if k == 3:  # Rocchini & Cignoni, "Generating random points in a tetrahedron" (2000)
        s, t, w = u[:, 0].copy(), u[:, 1].copy(), u[:, 2].copy()
        m1 = t + w > 1
        m2 = ~m1 & (s + t + w > 1)
        u[m1, 1], u[m1, 2] = 1 - w[m1], 1 - s[m1] - t[m1]
        u[m2, 0], u[m2, 2] = 1 - t[m2] - w[m2], s[m2] + t[m2] + w[m2] - 1
    return np.column_stack([1 - u.sum(axis=1), u])


def simplex_measures(vertices: np.ndarray) -> np.ndarray:
    """k-dimensional measures of simplices ``(S, k+1, D)`` (Gram determinant)."""
    edges = vertices[:, 1:] - vertices[:, :1]                                  # (S, k, D)
    k = edges.shape[1]
    gram = np.einsum("skd,sjd->skj", edges, edges)
    return np.sqrt(np.abs(np.linalg.det(gram))) / math.factorial(k)


def simplex_points(vertices: np.ndarray, weights: np.ndarray, u: np.ndarray, return_pick: bool = False):
    """Measure-preserving map of unit-cube points ``u`` ``(n, k)`` onto a union of k-simplices.

    Args:
        vertices: ``(S, k+1, D)`` simplex corners.
        weights: ``(S,)`` their measures.
        u: ``(n, k)`` points of ``[0, 1)^k``.

        return_pick: also return the ``(n,)`` index of each point's simplex.

    Returns:
        ``(n, D)`` points, uniform in measure when ``u`` is uniform (and the picks).
    """
    edges = np.cumsum(weights) / weights.sum()
    pick = np.minimum(np.searchsorted(edges, u[:, 0], side="right"), len(weights) - 1)
    start = np.concatenate([[0.0], edges[:-1]])[pick]
    u = u.copy()
    u[:, 0] = np.clip((u[:, 0] - start) / (edges[pick] - start), 0.0, 1.0)  # reuse the picking coordinate
    bary = _fold(u)                                                            # (n, k+1)
    points = np.einsum("nk,nkd->nd", bary, vertices[pick])
    return (points, pick) if return_pick else points


def box_grid_inside(domain: Domain, n) -> tuple[np.ndarray, None]:
    """Points of the regular bounding-box grid (boundary included) that lie in the domain."""
    counts = _grid_counts(n, domain.dim)
    lo, hi = domain.bounds
    axes = [np.linspace(a, b, c) for a, b, c in zip(lo, hi, counts)]
    points = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, domain.dim)
    return points[domain.contains(points)], None


def _segment_distances(x: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``(n, S)`` Euclidean distances from points to the segments ``p[i] -> q[i]``."""
    d = q - p                                                                  # (S, D)
    rel = x[:, None, :] - p                                                    # (n, S, D)
    s = np.clip((rel * d).sum(-1) / (d * d).sum(-1), 0.0, 1.0)                 # (n, S)
    return np.linalg.norm(rel - s[..., None] * d, axis=-1)


# ---------------------------------------------------------------------------------- polygon


def _signed_area(v: np.ndarray) -> float:
    return 0.5 * float(np.sum(v[:, 0] * np.roll(v[:, 1], -1) - np.roll(v[:, 0], -1) * v[:, 1]))


def _cross(o, a, b) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _ear_clip(v: np.ndarray) -> np.ndarray:
    """Triangles ``(m-2, 3)`` (vertex indices) of a counter-clockwise simple polygon."""
    idx, out = list(range(len(v))), []
    while len(idx) > 3:
        for j in range(len(idx)):
            a, b, c = idx[j - 1], idx[j], idx[(j + 1) % len(idx)]
            if _cross(v[a], v[b], v[c]) <= 0:
                continue  # reflex (or flat) corner: not an ear
            others = [i for i in idx if i not in (a, b, c)]
            if not any(_cross(v[a], v[b], v[i]) >= 0 and _cross(v[b], v[c], v[i]) >= 0
                       and _cross(v[c], v[a], v[i]) >= 0 for i in others):
                out.append((a, b, c))
                idx.pop(j)
                break
        else:
            raise ValueError("could not triangulate the polygon; expected a simple polygon")
    out.append(tuple(idx))
    return np.array(out)


def _segments_cross(p1, p2, q1, q2) -> bool:
    d1, d2 = _cross(q1, q2, p1), _cross(q1, q2, p2)
    d3, d4 = _cross(p1, p2, q1), _cross(p1, p2, q2)
    if d1 == d2 == d3 == d4 == 0:  # collinear: they cross only where their extents along the line overlap
        axis = np.asarray(p2, float) - np.asarray(p1, float)
        a, b = sorted((0.0, float(axis @ axis)))
        c, d = sorted((float((np.asarray(q1) - p1) @ axis), float((np.asarray(q2) - p1) @ axis)))
        return max(a, c) <= min(b, d)
    return (d1 * d2 <= 0) and (d3 * d4 <= 0)


class Polygon(Domain):
    """A simple polygon (non-convex allowed) with vertices in order (either orientation).

    Sides: ``"edge_<i>"`` for the edge from vertex ``i`` to vertex ``i + 1``, plus the
    names given in ``sides`` (each a list of edge indices).

    Args:
        vertices: ``(m, 2)`` corners, ``m >= 3``, not repeating the first.
        names: two coordinate names.
        sides: optional ``{name: [edge indices]}``.

    Raises:
        ValueError: fewer than 3 vertices, repeated vertices, zero area, self-intersection,
            bad side names or edge indices.
    """

    def __init__(self, vertices, names=("x", "y"), sides: dict | None = None):
        v = np.array(vertices, dtype=float)
        if v.ndim != 2 or v.shape[1] != 2 or len(v) < 3 or not np.all(np.isfinite(v)):
            raise ValueError(f"expected vertices as an (m, 2) array of finite numbers with m >= 3, got {vertices!r}")
        p, q = v, np.roll(v, -1, axis=0)
        if np.any(np.linalg.norm(q - p, axis=1) == 0):
            raise ValueError("expected distinct consecutive vertices (an edge has zero length)")
        m = len(v)
        for i in range(m):
            for j in range(i + 2, m):
                if (i == 0 and j == m - 1) or not _segments_cross(p[i], q[i], p[j], q[j]):
                    continue
                raise ValueError(f"expected a simple polygon, but edges {i} and {j} intersect")
        if _signed_area(v) == 0:
            raise ValueError("expected a polygon with non-zero area")
        v.setflags(write=False)
        self._v, self._p, self._q = v, p, q
        self._orientation = 1.0 if _signed_area(v) > 0 else -1.0
        ccw = v if self._orientation > 0 else v[::-1]
        self._ccw, self._tri_index = ccw, _ear_clip(ccw)
        tri = ccw[self._tri_index]                                                 # (m-2, 3, 2)
        self._triangles, self._areas = tri, simplex_measures(tri)
        self.names = _check_names(names, 2)
        self._sides = {f"edge_{i}": [i] for i in range(m)}
        for name, edges in (sides or {}).items():
            bad = [e for e in np.atleast_1d(edges) if not (is_int(e) and 0 <= e < m)]
            if not isinstance(name, str) or not name or bad or len(np.atleast_1d(edges)) == 0:
                raise ValueError(f"expected sides as {{name: [edge indices 0..{m - 1}]}}, got {name!r}: {edges!r}")
            self._sides[name] = [int(e) for e in np.atleast_1d(edges)]

    @property
    def vertices(self) -> np.ndarray:
        return self._v.copy()

    @property
    def bounds(self):
        return self._v.min(axis=0), self._v.max(axis=0)

    def simplices(self) -> tuple[np.ndarray, np.ndarray]:
        """A triangulation: counter-clockwise vertices ``(m, 2)`` and triangles ``(m - 2, 3)`` (ear clipping)."""
        return self._ccw.copy(), self._tri_index.copy()

    @property
    def volume(self) -> float:
        return abs(_signed_area(self._v))

    @property
    def _scale(self) -> float:
        lo, hi = self.bounds
        return float(np.max(hi - lo))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({[_fmt(p) for p in self._v]}, names={self.names})"

    # -- sampling ---------------------------------------------------------------

    def _interior_from_unit(self, u):
        return simplex_points(self._triangles, self._areas, u)

    def _edges(self, side) -> list[int]:
        if side is None:
            return list(range(len(self._v)))
        return self._sides[self._check_side(side)]

    def _patches(self, side):
        e = self._edges(side)
        verts = np.stack([self._p[e], self._q[e]], axis=1)                         # (E, 2, 2)
        lengths = simplex_measures(verts)
        return [_Patch(float(lengths.sum()), 1, lambda u: simplex_points(verts, lengths, u))]

    # -- predicates ---------------------------------------------------------------

    def _inside_strict(self, x: np.ndarray) -> np.ndarray:
        """Crossing-number test (points on edges may go either way)."""
        p, q = self._p, self._q
        y = x[:, 1:2]
        straddle = (p[:, 1] > y) != (q[:, 1] > y)                                  # (n, m)
        with np.errstate(divide="ignore", invalid="ignore"):
            xcross = p[:, 0] + (y - p[:, 1]) * (q[:, 0] - p[:, 0]) / (q[:, 1] - p[:, 1])
        return (np.sum(straddle & (x[:, :1] < xcross), axis=1) % 2) == 1

    def _distances(self, x, edges=None) -> np.ndarray:
        e = slice(None) if edges is None else edges
        return _segment_distances(x, self._p[e], self._q[e])

    def contains(self, x, tol: float = 1e-10) -> np.ndarray:
        x = self._points(x)
        return self._inside_strict(x) | (self._distances(x).min(axis=1) <= tol * self._scale)

    def on_boundary(self, x, tol: float = 1e-8) -> np.ndarray:
        return self._distances(self._points(x)).min(axis=1) <= tol * self._scale

    def _edge_normals(self) -> np.ndarray:
        d = (self._q - self._p) * self._orientation
        return np.column_stack([d[:, 1], -d[:, 0]]) / np.linalg.norm(d, axis=1, keepdims=True)

    def normals(self, x) -> np.ndarray:
        """Outward unit normal of the nearest edge (at a corner, the first nearest).

        Raises:
            ValueError: wrong shape or points off the boundary.
        """
        x = self._points(x)
        self._require_boundary(x)
        return self._edge_normals()[np.argmin(self._distances(x), axis=1)]

    @property
    def side_names(self) -> tuple[str, ...]:
        return tuple(self._sides)

    def side(self, name: str):
        edges = self._edges(name)

        def predicate(x, tol: float = 1e-8):
            return self._distances(self._points(x), edges).min(axis=1) <= tol * self._scale
        return predicate

    def grid(self, n):
        """Bounding-box grid points (boundary included) inside the polygon; shape None."""
        return box_grid_inside(self, n)

    # -- distance functions -------------------------------------------------------

    def adf(self, sides=None):
        """ADF ``(N, 2) -> (N, 1)``: R-equivalence of the trimmed segment functions of the chosen sides,
        with runs of collinear edges merged into one segment (no dip at their shared vertices)."""
        edges = sorted({e for s in (sides or [None]) for e in self._edges(s)})
        m, tol = len(self._v), 1e-10 * self._scale
        if len(edges) == m:
            return SmoothDistance(merge_collinear(self._v, True, tol))
        chosen = set(edges)
        starts = [e for e in edges if (e - 1) % m not in chosen]
        segments = []
        for start in starts:
            run = [start]
            while (run[-1] + 1) % m in chosen:
                run.append((run[-1] + 1) % m)
            segments += merge_collinear(np.concatenate([self._p[run], self._q[run[-1:]]]), False, tol)
        return SmoothDistance(segments)

    def signed_adf(self):
        """The whole-boundary ADF with the sign of the crossing-number test (smooth across edges)."""
        unsigned = self.adf()
        p, q = self._p, self._q

        def phi(x: torch.Tensor) -> torch.Tensor:
            inside = torch.as_tensor(self._inside_strict(x.detach().cpu().numpy().astype(float)), device=x.device)
            value = unsigned(x)
            return torch.where(inside[:, None], value, -value)
        return phi


class Triangle(Polygon):
    """The triangle with corners ``a, b, c``; sides ``edge_0`` (a-b), ``edge_1`` (b-c), ``edge_2`` (c-a)."""

    def __init__(self, a, b, c, names=("x", "y")):
        super().__init__([finite_vector(p, w) for p, w in ((a, "a"), (b, "b"), (c, "c"))], names)


# ---------------------------------------------------------------------------------- ellipse


class Ellipse(Domain):
    """``((x - cx) / a)^2 + ((y - cy) / b)^2 <= 1``.

    Interior samples scale the area-uniform disk map; boundary samples are uniform in
    arc length (the arc length is tabulated on 8193 angles and inverted by linear
    interpolation; the points lie exactly on the ellipse). No named sides.

    Args:
        center: two numbers; semi_axes: ``(a, b)``, both positive; names: two names.
    """

    _TABLE = 8193

    def __init__(self, center, semi_axes, names=("x", "y")):
        c, ab = finite_vector(center, "center"), finite_vector(semi_axes, "semi_axes")
        if c.shape != (2,) or ab.shape != (2,) or not np.all(ab > 0):
            raise ValueError(f"expected a center of 2 numbers and 2 positive semi_axes, got {center!r}, {semi_axes!r}")
        self._c, self._ab = c, ab
        self.names = _check_names(names, 2)
        theta = np.linspace(0, 2 * math.pi, self._TABLE)
        speed = np.hypot(ab[0] * np.sin(theta), ab[1] * np.cos(theta))
        arc = np.concatenate([[0.0], np.cumsum(0.5 * (speed[1:] + speed[:-1]) * np.diff(theta))])
        self._theta, self._arc = theta, arc / arc[-1]
        self._perimeter = float(arc[-1])

    @property
    def bounds(self):
        return self._c - self._ab, self._c + self._ab

    @property
    def volume(self) -> float:
        return math.pi * float(self._ab.prod())

    def __repr__(self) -> str:
        return f"Ellipse(center={_fmt(self._c)}, semi_axes={_fmt(self._ab)}, names={self.names})"

    def _at(self, r, theta):
        return self._c + self._ab * np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)

    def _interior_from_unit(self, u):
        return self._at(np.sqrt(u[:, 0]), 2 * math.pi * u[:, 1])

    def _patches(self, side):
        if side is not None:
            self._check_side(side)
        return [_Patch(self._perimeter, 1, lambda u: self._at(1.0, np.interp(u[:, 0], self._arc, self._theta)))]

    def _level(self, x):
        return (((x - self._c) / self._ab) ** 2).sum(axis=1)

    def contains(self, x, tol: float = 1e-10) -> np.ndarray:
        return self._level(self._points(x)) <= 1 + 2 * tol

    def on_boundary(self, x, tol: float = 1e-8) -> np.ndarray:
        return np.abs(self._level(self._points(x)) - 1) <= 2 * tol

    def normals(self, x) -> np.ndarray:
        """Outward unit normals (the normalised gradient of the level function)."""
        x = self._points(x)
        self._require_boundary(x)
        g = (x - self._c) / self._ab ** 2
        return g / np.linalg.norm(g, axis=1, keepdims=True)

    def side(self, name: str):
        self._check_side(name)

    def grid(self, n):
        return box_grid_inside(self, n)

    def signed_adf(self):
        """``min(a, b) / 2 * (1 - level)``: zero on the ellipse, positive inside (exact ADF for a circle)."""
        c, ab = self._c, self._ab
        scale = float(ab.min()) / 2
        return lambda x: scale * (1 - (((x - torch.tensor(c).to(x)) / torch.tensor(ab).to(x)) ** 2)
                                  .sum(1, keepdim=True))

    def adf(self, sides=None):
        return self.signed_adf()


# ---------------------------------------------------------------------------------- ball


class Ball(Domain):
    """The closed 3-D ball ``|x - center| <= radius`` (its boundary is the sphere).

    Interior: ``r = R s^(1/3)``, ``z = 1 - 2 s2``, ``phi = 2 pi s3`` (volume-uniform);
    boundary: the same at ``r = R`` (area-uniform). No named sides.
    """

    def __init__(self, center, radius, names=("x", "y", "z")):
        self._c, self._r = center_and_radius(center, radius, 3)
        self.names = _check_names(names, 3)

    @property
    def center(self) -> np.ndarray:
        return self._c.copy()

    @property
    def radius(self) -> float:
        return self._r

    @property
    def bounds(self):
        return self._c - self._r, self._c + self._r

    @property
    def volume(self) -> float:
        return 4 / 3 * math.pi * self._r ** 3

    def __repr__(self) -> str:
        return f"Ball(center={_fmt(self._c)}, radius={self._r}, names={self.names})"

    def _at(self, r, s_z, s_phi):
        z, phi = 1 - 2 * s_z, 2 * math.pi * s_phi
        rho = np.sqrt(np.clip(1 - z ** 2, 0, None))
        return self._c + r[:, None] * np.column_stack([rho * np.cos(phi), rho * np.sin(phi), z])

    def _interior_from_unit(self, u):
        return self._at(self._r * np.cbrt(u[:, 0]), u[:, 1], u[:, 2])

    def _patches(self, side):
        if side is not None:
            self._check_side(side)
        return [_Patch(4 * math.pi * self._r ** 2, 2, lambda u: self._at(np.full(len(u), self._r), u[:, 0], u[:, 1]))]

    def _radii(self, x):
        return np.linalg.norm(x - self._c, axis=1)

    def contains(self, x, tol: float = 1e-10) -> np.ndarray:
        return self._radii(self._points(x)) <= self._r * (1 + tol)

    def on_boundary(self, x, tol: float = 1e-8) -> np.ndarray:
        return np.abs(self._radii(self._points(x)) - self._r) <= tol * self._r

    def normals(self, x) -> np.ndarray:
        x = self._points(x)
        self._require_boundary(x)
        d = x - self._c
        return d / np.linalg.norm(d, axis=1, keepdims=True)

    def side(self, name: str):
        self._check_side(name)

    def grid(self, n):
        return box_grid_inside(self, n)

    def signed_adf(self):
        """``(R^2 - |x - c|^2) / (2R)``."""
        c, r = self._c, self._r
        return lambda x: (r ** 2 - (x - torch.tensor(c).to(x)).pow(2).sum(1, keepdim=True)) / (2 * r)

    def adf(self, sides=None):
        return self.signed_adf()


Sphere = Ball
