"""Approximate distance functions (ADFs) built with R-functions (Sukumar & Srivastava, CMAME 2022).

An ADF ``phi`` of a boundary piece is smooth, zero exactly on the piece and positive
inside the domain, and normalised to first order (``|grad phi| = 1`` on the piece).
All functions here are torch functions of ``(N, D)`` points returning ``(N, 1)``; their
derivatives come from autograd (the hard-constraint transform in :mod:`.constraints`
differentiates them), so the KAN jet stays exact.

Building blocks:

- segment from ``p`` to ``q`` (length ``L``, centre ``c``): with the signed line distance
  ``f = ((x - p) x (q - p)) / L`` and the trim ``t = ((L/2)^2 - |x - c|^2) / L``,
  ``varphi = sqrt(t^2 + f^4)`` and ``phi = sqrt(f^2 + ((varphi - t) / 2)^2)``: zero on the
  segment only;
- R-equivalence (``m = 1``) of pieces: ``phi = 1 / sum_i 1 / phi_i``, zero on every piece;
- R-conjunction / disjunction of signed (inside-positive) functions:
  ``f1 & f2 = f1 + f2 - sqrt(f1^2 + f2^2)``, ``f1 | f2 = f1 + f2 + sqrt(f1^2 + f2^2)``,
  and ``not f = -f``: the signed ADF of a CSG domain.

:func:`signed_adf` and :func:`adf` dispatch on the domain: closed forms for boxes and
disks, the domain's own ``signed_adf()`` / ``adf(side)`` methods for the others.

:class:`SmoothDistance` is the R-equivalence of a few primitives (:class:`Segment`,
:class:`Arc` = circle function trimmed by the half-plane of its chord, whole :class:`Circle`,
:class:`ConvexPolygon` = product of its edges' line factors, smooth at its corners)
with the value, gradient and Hessian in closed form (cached per point set by
:class:`PointSetCache`). Polygons and 2-D meshes build theirs from merged primitives
(:func:`merge_collinear`; meshes also recognise circles and arcs), so the function has no dip
at every edge's end and its cost does not grow with the number of edges or facets.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from .domains import Box, Disk, Domain
from ..cache import PointSetCache

__all__ = ["adf", "signed_adf", "segment_adf", "r_equivalence", "r_and", "r_or", "r_not", "SmoothDistance", "Segment",
           "Circle", "Arc", "ConvexPolygon", "PointSetCache", "merge_collinear",
           "convex_loop"]

TorchFn = Callable[[torch.Tensor], torch.Tensor]


def segment_adf(p: np.ndarray, q: np.ndarray) -> TorchFn:
    """Trimmed ADF of the segments ``p[i] -> q[i]`` in 2-D: ``(N, 2) -> (N, S)``, zero on segment i only."""
    p, q = np.atleast_2d(np.asarray(p, float)), np.atleast_2d(np.asarray(q, float))
    d = q - p                                                             # (S, 2)
    length = np.linalg.norm(d, axis=1)                                    # (S,)
    centre = 0.5 * (p + q)

    def phi(x: torch.Tensor) -> torch.Tensor:
        pt, dt, ct, lt = (torch.as_tensor(a).to(x) for a in (p, d, centre, length))
        rel = x[:, None, :] - pt                                          # (N, S, 2)
        f = (rel[..., 0] * dt[:, 1] - rel[..., 1] * dt[:, 0]) / lt        # (N, S)
        t = ((lt / 2) ** 2 - (x[:, None, :] - ct).pow(2).sum(-1)) / lt    # (N, S)
        varphi = torch.sqrt(t ** 2 + f ** 4)
        return torch.sqrt(f ** 2 + ((varphi - t) / 2) ** 2)

    return phi


def r_equivalence(parts: torch.Tensor) -> torch.Tensor:
    """``1 / sum_i 1 / phi_i`` over the last axis, ``(N, S) -> (N, 1)``: zero where any ``phi_i`` is."""
    return 1.0 / (1.0 / parts).sum(dim=1, keepdim=True)


def r_and(f1: torch.Tensor, f2: torch.Tensor) -> torch.Tensor:
    """R-conjunction: positive where both are, zero on the boundary of the intersection."""
    return f1 + f2 - torch.sqrt(f1 ** 2 + f2 ** 2)


def r_or(f1: torch.Tensor, f2: torch.Tensor) -> torch.Tensor:
    """R-disjunction: positive where either is, zero on the boundary of the union."""
    return f1 + f2 + torch.sqrt(f1 ** 2 + f2 ** 2)


def r_not(f: torch.Tensor) -> torch.Tensor:
    return -f


def _box_signed(lo: np.ndarray, hi: np.ndarray) -> TorchFn:
    """R-conjunction of the slabs ``(x_i - lo_i)(hi_i - x_i) / (hi_i - lo_i)``."""
    def phi(x: torch.Tensor) -> torch.Tensor:
        lot, hit = torch.as_tensor(lo).to(x), torch.as_tensor(hi).to(x)
        slabs = (x - lot) * (hit - x) / (hit - lot)                       # (N, D)
        out = slabs[:, :1]
        for i in range(1, slabs.shape[1]):
            out = r_and(out, slabs[:, i:i + 1])
        return out
    return phi


def _disk_signed(center: np.ndarray, radius: float) -> TorchFn:
    return lambda x: (radius ** 2 - (x - torch.as_tensor(center).to(x)).pow(2).sum(1, keepdim=True)) / (2 * radius)


def signed_adf(domain: Domain) -> TorchFn:
    """Signed ADF of the whole boundary: positive inside, negative outside, zero on it.

    Raises:
        ValueError: for domains without one (time axes, 3-D meshes).
    """
    if isinstance(domain, Box) and domain.time_axis is None:
        return _box_signed(*domain.bounds)
    if isinstance(domain, Disk):
        return _disk_signed(domain.center, domain.radius)
    if hasattr(domain, "signed_adf"):
        return domain.signed_adf()
    raise ValueError(f"no signed distance function for {domain!r}")


def _box_faces_adf(domain: Box, sides: Sequence[str]) -> TorchFn:
    """2-D: trimmed segment functions of the faces (zero on the faces only); else distances to the face planes."""
    faces = sorted({face for side in sides for face in domain._faces(side)})
    lo, hi = domain.bounds
    if domain.dim == 2:
        ends = []
        for axis, upper in faces:
            p, q = lo.copy(), hi.copy()
            p[axis] = q[axis] = (hi if upper else lo)[axis]
            ends.append((p, q))
        return SmoothDistance([Segment(p, q) for p, q in ends])

    def phi(x: torch.Tensor) -> torch.Tensor:
        parts = [(x[:, a] - lo[a]) if not upper else (hi[a] - x[:, a]) for a, upper in faces]
        return r_equivalence(torch.stack(parts, dim=1))                   # (N, 1)
    return phi


def adf(domain: Domain, side: str | Sequence[str] | None = None) -> TorchFn:
    """ADF zero on the named side(s) (the whole boundary when None), positive inside.

    Args:
        domain: a spatial domain (Box, Disk, Polygon, Ellipse, Ball, CSG, MeshDomain).
        side: a side name, a list of names, or None.

    Raises:
        ValueError: unknown side, or a domain without an ADF.
    """
    sides = [side] if isinstance(side, str) else (None if side is None else list(side))
    if sides is not None:
        for s in sides:
            domain._check_side(s)
    if isinstance(domain, Box) and domain.time_axis is None:
        return _box_signed(*domain.bounds) if sides is None else _box_faces_adf(domain, sides)
    if isinstance(domain, Disk):
        return _disk_signed(domain.center, domain.radius)
    if hasattr(domain, "adf"):
        return domain.adf(sides)
    raise ValueError(f"no distance function for {domain!r}")


# --------------------------------------------------------------------------- smooth distances with analytic jets
#
# A "jet" here is (value (N,), gradient (N, D), Hessian (N, D, D)) of a scalar function of points;
# every primitive gives its own in closed form, and the R-equivalence combines them by the chain
# rule, so the hard-constraint path never runs nested autograd through the boundary.

_TINY = 1e-300  # keeps 1/phi finite on the boundary itself


def _sqrt_jet(w, gw, hw):
    """Jet of ``sqrt(w)`` from that of ``w``."""
    v = torch.sqrt(w)
    vc = v.clamp_min(_TINY)
    g = gw / (2 * vc[:, None])
    h = hw / (2 * vc[:, None, None]) - gw[:, :, None] * gw[:, None, :] / (4 * vc[:, None, None] ** 3)
    return v, g, h


def _outer(a, b):
    return a[:, :, None] * b[:, None, :]                                   # (N, D, D)


def _trim_value(f, t):
    """``sqrt(f^2 + ((sqrt(t^2 + f^4) - t) / 2)^2)``: zero where ``f = 0`` and ``t >= 0`` only."""
    varphi = torch.sqrt(t ** 2 + f ** 4)
    return torch.sqrt(f ** 2 + ((varphi - t) / 2) ** 2)


def _trim_jet(fj, tj):
    """Jet of :func:`_trim_value` from the jets of ``f`` and ``t``."""
    (f, gf, hf), (t, gt, ht) = fj, tj
    w = t ** 2 + f ** 4
    gw = 2 * t[:, None] * gt + 4 * (f ** 3)[:, None] * gf
    hw = 2 * _outer(gt, gt) + 2 * t[:, None, None] * ht + 12 * (f ** 2)[:, None, None] * _outer(gf, gf) \
        + 4 * (f ** 3)[:, None, None] * hf
    vp, gvp, hvp = _sqrt_jet(w, gw, hw)
    h, gh, hh = (vp - t) / 2, (gvp - gt) / 2, (hvp - ht) / 2
    z = f ** 2 + h ** 2
    gz = 2 * f[:, None] * gf + 2 * h[:, None] * gh
    hz = 2 * _outer(gf, gf) + 2 * f[:, None, None] * hf + 2 * _outer(gh, gh) + 2 * h[:, None, None] * hh
    return _sqrt_jet(z, gz, hz)


def _eye(x):
    return torch.eye(x.shape[1], dtype=x.dtype, device=x.device).expand(x.shape[0], -1, -1)


class Segment:
    """The segment ``p -> q`` (2-D): ``f`` = signed distance to its line, trimmed by the disk on ``pq``."""

    def __init__(self, p, q):
        self.p, self.q = np.asarray(p, float), np.asarray(q, float)
        d = self.q - self.p
        self.length = float(np.linalg.norm(d))
        self.normal = np.array([d[1], -d[0]]) / self.length
        self.centre = 0.5 * (self.p + self.q)

    def _ft(self, x):
        n, p, c, length = (torch.as_tensor(a).to(x) for a in (self.normal, self.p, self.centre, self.length))
        rel = x - c
        f = (x - p) @ n                                                    # (N,)
        t = ((length / 2) ** 2 - (rel ** 2).sum(1)) / length               # (N,)
        return (f, n.expand_as(x), x.new_zeros(x.shape[0], 2, 2)), (t, -2 * rel / length, -2 * _eye(x) / length)

    def value(self, x):
        (f, _, _), (t, _, _) = self._ft(x)
        return _trim_value(f, t)

    def jet(self, x):
        return _trim_jet(*self._ft(x))


class Circle:
    """A whole circle: ``sign (R^2 - |x - c|^2) / (2R)`` (sign +1: the domain is inside it)."""

    def __init__(self, center, radius: float, sign: float = 1.0):
        self.center, self.radius, self.sign = np.asarray(center, float), float(radius), float(sign)

    def jet(self, x):
        rel = x - torch.as_tensor(self.center).to(x)
        s, r = self.sign, self.radius
        return s * (r ** 2 - (rel ** 2).sum(1)) / (2 * r), -s * rel / r, -s * _eye(x) / r

    def value(self, x):
        return self.jet(x)[0]


class Arc(Circle):
    """The arc of a circle from ``p`` to ``q`` through ``mid``: the circle function trimmed by the
    half-plane of the chord ``pq`` that holds the arc (any arc short of the whole circle)."""

    def __init__(self, center, radius: float, sign: float, p, q, mid):
        super().__init__(center, radius, sign)
        p, q, mid = (np.asarray(a, float) for a in (p, q, mid))
        d = q - p
        m = np.array([d[1], -d[0]]) / np.linalg.norm(d)
        self.chord_normal = m if (mid - p) @ m >= 0 else -m
        self.p = p

    def _ft(self, x):
        m, p = torch.as_tensor(self.chord_normal).to(x), torch.as_tensor(self.p).to(x)
        return super().jet(x), ((x - p) @ m, m.expand_as(x), x.new_zeros(x.shape[0], 2, 2))

    def value(self, x):
        (f, _, _), (t, _, _) = self._ft(x)
        return _trim_value(f, t)

    def jet(self, x):
        return _trim_jet(*self._ft(x))


class ConvexPolygon:
    """A closed convex polygon with the domain inside it, as one primitive:
    ``phi = prod_i 2 f_i / h_i`` over its edges, ``f_i`` the distance to edge i's line (positive inside) and
    ``h_i`` the polygon's width across that line (the box factor for a rectangle). A polynomial: zero on every
    edge, positive inside, and smooth at the corners, where the R-equivalence of trimmed segments has a
    Hessian growing like 1/r (the plate of poisson_holes: Laplacian of phi -0.5/r at its corners; seed 0
    with the segments 5.6e-5 rel L2 and max error 2.4e-4, with this factor 3.2e-5 and 8.5e-5). Not
    normalised (``|grad phi|`` varies along each edge and vanishes at the corners); hard Dirichlet does
    not need that.

    Args:
        vertices: ``(k, 2)`` corners in order (either orientation), the polygon convex.
    """

    def __init__(self, vertices):
        v = np.asarray(vertices, float)
        d = np.roll(v, -1, axis=0) - v                                      # (k, 2) edge vectors
        inward = np.column_stack([-d[:, 1], d[:, 0]]) / np.linalg.norm(d, axis=1, keepdims=True)
        if np.sum((v.mean(axis=0) - v) * inward) < 0:  # clockwise: flip to the inside
            inward = -inward
        width = np.array([np.max((v - v[i]) @ inward[i]) for i in range(len(v))])
        self.vertices, self.slopes = v, 2 * inward / width[:, None]       # grad of each factor, (k, 2)
        self.offsets = -(self.slopes * v).sum(1)                            # factor_i = slopes_i . x + offsets_i

    def _factors(self, x):
        a = torch.as_tensor(self.slopes).to(x)                              # (k, 2)
        return x @ a.T + torch.as_tensor(self.offsets).to(x), a            # (N, k), (k, 2)

    def value(self, x):
        return self._factors(x)[0].prod(dim=1)

    def jet(self, x):
        g, a = self._factors(x)
        k = g.shape[1]

        def product_without(*skip):
            keep = [i for i in range(k) if i not in skip]
            return g[:, keep].prod(dim=1) if keep else torch.ones_like(g[:, 0])

        grad = sum(product_without(i)[:, None] * a[i] for i in range(k))                      # (N, 2)
        hess = sum(product_without(i, j)[:, None, None] * torch.outer(a[i], a[j])
                   for i in range(k) for j in range(k) if i != j)                               # (N, 2, 2)
        return g.prod(dim=1), grad, hess


def convex_loop(vertices: np.ndarray, max_edges: int = 8) -> bool:
    """Whether the closed polygon ``vertices`` ``(k, 2)`` is strictly convex with at most ``max_edges`` edges
    (beyond that a product of factors in [0, 1] shrinks towards 0 inside: keep the segments)."""
    v = np.asarray(vertices, float)
    if not 3 <= len(v) <= max_edges:
        return False
    d = np.roll(v, -1, axis=0) - v
    turn = d[:, 0] * np.roll(d, -1, axis=0)[:, 1] - d[:, 1] * np.roll(d, -1, axis=0)[:, 0]
    return bool(np.all(turn > 0) or np.all(turn < 0))


def _r_equivalence_jet(jets):
    """Jet of ``phi = 1 / sum_i 1 / phi_i`` with the ratios ``r_i = phi / phi_i`` (sum 1):
    ``grad = sum r_i^2 g_i``, ``H = sum r_i^2 H_i - 2 S (sum r_i^3 g_i g_i^T - grad grad^T)``, ``S = 1 / phi``."""
    if len(jets) == 1:
        return jets[0]
    v = torch.stack([j[0] for j in jets]).clamp_min(_TINY)               # (k, N)
    g = torch.stack([j[1] for j in jets])                                 # (k, N, D)
    h = torch.stack([j[2] for j in jets])                                 # (k, N, D, D)
    inv = 1 / v
    s = inv.sum(0)                                                        # (N,)
    r = inv / s                                                           # (k, N)
    grad = (r[..., None] ** 2 * g).sum(0)                                 # (N, D)
    spread = (r[..., None, None] ** 3 * g[..., :, None] * g[..., None, :]).sum(0) - _outer(grad, grad)
    hess = (r[..., None, None] ** 2 * h).sum(0) - 2 * s[:, None, None] * spread
    return 1 / s, grad, hess


class SmoothDistance:
    """``phi(x) = 1 / sum_i 1 / phi_i(x)`` over a few smooth primitives (segments, arcs, whole
    circles): zero on each, positive inside, with bounded second derivatives away from the
    corners between primitives. Cost per point: O(number of primitives), not of mesh facets.

    Call it for the value ``(N, 1)`` (plain torch, autograd works); :meth:`derivatives` gives the
    value, gradient and second derivatives in closed form, cached for the last point set.

    Args:
        primitives: objects with ``value(x) -> (N,)`` and ``jet(x) -> (value, grad, Hessian)``.
        axes: the input columns that hold the 2-D point (space-time inputs); all when None.
    """

    def __init__(self, primitives: Sequence, axes: Sequence[int] | None = None):
        if not primitives:
            raise ValueError("expected at least one boundary primitive (segment, arc or circle), got none")
        self.primitives, self.axes = list(primitives), None if axes is None else list(axes)
        self._cache = PointSetCache()

    def on_axes(self, axes: Sequence[int]) -> "SmoothDistance":
        """The same function of the columns ``axes`` of wider inputs."""
        return SmoothDistance(self.primitives, axes)

    def _spatial(self, x):
        return x if self.axes is None else x[:, self.axes]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        y = self._spatial(x)
        parts = torch.stack([p.value(y) for p in self.primitives], dim=1)   # (N, k)
        if parts.shape[1] == 1:
            return parts
        # a point where a primitive is exactly 0 (a mesh corner in an evaluation grid): 1 / 0 would give
        # autograd inf * 0 = NaN; there phi is that primitive (value 0, gradient its own: r_i = 1)
        zero = parts == 0
        phi = r_equivalence(torch.where(zero, torch.ones_like(parts), parts))
        if not zero.any():
            return phi
        vanishing = parts.gather(1, zero.to(torch.int8).argmax(dim=1, keepdim=True))  # (N, 1)
        return torch.where(zero.any(dim=1, keepdim=True), vanishing, phi)

    def jet(self, x: torch.Tensor):
        """``(value (N,), gradient (N, D), Hessian (N, D, D))`` in the full input columns."""
        y = self._spatial(x.detach())
        v, g, h = _r_equivalence_jet([p.jet(y) for p in self.primitives])
        if self.axes is None:
            return v, g, h
        gx = x.new_zeros(x.shape[0], x.shape[1])
        hx = x.new_zeros(x.shape[0], x.shape[1], x.shape[1])
        gx[:, self.axes] = g
        for i, a in enumerate(self.axes):
            for j, b in enumerate(self.axes):
                hx[:, a, b] = h[:, i, j]
        return v, gx, hx

    def derivatives(self, x: torch.Tensor, pairs, order: int = 2):
        """Value ``(N, 1)``, gradient ``(N, 1, D)``, second derivatives ``(N, 1, P)`` for ``pairs``
        (the layout of :func:`kanpde.pde.fields.function_derivatives`), cached per point set."""
        pairs = [tuple(p) for p in pairs]

        def compute():
            v, g, h = self.jet(x)
            second = torch.stack([h[:, a, b] for a, b in pairs], dim=1) if pairs and order > 1 else \
                v.new_zeros(v.shape[0], len(pairs))
            return v[:, None], g[:, None, :], second[:, None, :]
        return self._cache.get(x, (tuple(pairs), order), compute)


def merge_collinear(chain: np.ndarray, closed: bool, tol: float) -> list[Segment]:
    """Segments of a polyline ``chain`` ``(m, 2)`` with consecutive collinear pieces merged into one.

    Args:
        closed: the chain's last point connects back to its first.
        tol: the largest distance of a merged-away vertex from the merged segment's line.
    """
    pts = np.asarray(chain, float)
    if closed:  # start at a corner so no straight run wraps around the start
        n = len(pts)
        corner = [i for i in range(n) if not _collinear(pts[i - 1], pts[i], pts[(i + 1) % n], tol)]
        if not corner:
            raise ValueError("a closed boundary chain with all its points on one line")
        pts = np.concatenate([pts[corner[0]:], pts[:corner[0]], pts[corner[0]:corner[0] + 1]])
    keep = [0] + [i for i in range(1, len(pts) - 1) if not _collinear(pts[i - 1], pts[i], pts[i + 1], tol)] \
        + [len(pts) - 1]
    out, start = [], 0
    for end in keep[1:]:
        out.append(Segment(pts[start], pts[end]))
        start = end
    return out


def _collinear(a, b, c, tol: float) -> bool:
    """``b`` lies on the segment ``a -> c`` within ``tol`` (and between its ends)."""
    d = c - a
    length = np.linalg.norm(d)
    off = abs(d[0] * (b[1] - a[1]) - d[1] * (b[0] - a[0])) / length
    return off <= tol and 0 < (b - a) @ d < length ** 2
