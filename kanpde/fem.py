"""Finite-element baselines (scikit-fem) on the domains finite differences cannot grid.

* Poisson     ``Δu = f``          (:func:`poisson`)
* Helmholtz   ``Δu + k² u = f``   (:func:`helmholtz`)

with ``u = g`` on the whole boundary, the same sign conventions as :mod:`kanpde.fd`.
Weak form: find ``u`` with ``u = g`` on the boundary such that
``∫ ∇u·∇v - k² ∫ u v = -∫ f v`` for all test functions ``v`` vanishing there, with
Lagrange elements of order 1 (P1) or 2 (P2). Dirichlet data are interpolated at the
boundary degrees of freedom; scikit-fem assembles, condenses and solves.

Meshes (:func:`triangulate`), refined uniformly until the longest edge is at most ``h``:

- rectangle / 3-D box: scikit-fem's tensor meshes (``MeshTri`` / ``MeshTet.init_tensor``);
- polygon: the ear-clipping triangulation of :class:`~kanpde.Polygon` (exact geometry);
- disk: ``MeshTri.init_circle`` (boundary nodes on the circle), scaled;
- mesh domain: the user's own simplices;
- anything else 2-D (CSG, ellipse): a Delaunay triangulation of a grid of spacing ``h``
  and boundary points at spacing ``h``, keeping the triangles whose centroid is inside
  (a curved boundary is approximated by chords, which limits P2 to second order).

Callables ``f``, ``g`` take ``(M, d)`` numpy points (or torch tensors, tried second) and
return ``(M,)`` or ``(M, 1)`` values; numbers are accepted in their place.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from .fd import _evaluate
from .geometry.domains import Box, Disk, Domain
from .pde.metrics import evaluation_points, relative_l2

__all__ = ["FEMSolution", "poisson", "helmholtz", "solve_linear", "triangulate"]

ORDERS = (1, 2)


# --------------------------------------------------------------------------- data


def _values(fun, pts: np.ndarray, name: str) -> np.ndarray:
    """``fun`` at ``(M, d)`` points as finite ``(M,)`` floats: numpy first, then torch."""
    if callable(fun):
        try:
            out = fun(pts)
        except (TypeError, AttributeError):
            out = None
        if out is None or isinstance(out, torch.Tensor):
            with torch.no_grad():
                out = fun(torch.as_tensor(pts, dtype=torch.float64))
            out = out.detach().cpu().numpy()
        if isinstance(out, (np.ndarray, np.generic)) and out.dtype.kind in "biuf":  # numpy points in: numpy out is
            out = torch.as_tensor(out)                                             # this module's own convention
        return _evaluate(lambda _: out, pts, name)
    return _evaluate(fun, pts, name)


# --------------------------------------------------------------------------- meshes


def _edge_length(mesh) -> float:
    p = mesh.p[:, mesh.facets] if mesh.dim() == 2 else mesh.p[:, mesh.edges]
    return float(np.max(np.linalg.norm(p[:, 0] - p[:, 1], axis=0)))


def _refined(mesh, h: float):
    while _edge_length(mesh) > h:
        mesh = mesh.refined()
    return mesh


def _delaunay_mesh(domain: Domain, h: float):
    from scipy.spatial import Delaunay
    from skfem import MeshTri

    lo, hi = domain.bounds
    counts = tuple(int(math.ceil((b - a) / h * math.sqrt(2))) + 1 for a, b in zip(lo, hi))  # diagonals <= h
    inner, _ = domain.grid(counts)
    scale = float(np.max(hi - lo))
    on = domain.on_boundary(inner, tol=1e-12)                    # kept: corners of straight sides are grid nodes
    inner = inner[on | ~domain.on_boundary(inner, tol=0.5 * h / scale)]
    perimeter = sum(p.weight for p in domain._patches(None)) if domain.dim == 2 else None
    boundary = domain.sample_boundary(max(16, int(math.ceil(perimeter / h))), method="grid")
    points = np.concatenate([inner, boundary])
    tri = Delaunay(points).simplices
    tri = tri[domain.contains(points[tri].mean(axis=1), tol=1e-9)]
    used, tri = np.unique(tri, return_inverse=True)
    return _refined(MeshTri(points[used].T.copy(), tri.reshape(-1, 3).T.copy()), h)


def triangulate(domain: Domain, h: float):
    """A scikit-fem mesh of the domain with longest edge at most ``h`` (see the module docstring).

    Raises:
        ValueError: ``h`` not positive, a time axis, or a domain of unsupported dimension.
    """
    from skfem import MeshTet, MeshTri

    if not (isinstance(h, (int, float)) and h > 0 and math.isfinite(h)):
        raise ValueError(f"h must be a positive number (the longest mesh edge), got {h!r}")
    if not isinstance(domain, Domain):
        raise TypeError(f"expected a kanpde Domain, got {type(domain).__name__}")
    if domain.time_axis is not None:
        raise ValueError(f"the FEM baseline solves stationary problems on spatial domains, got {domain!r}")
    if isinstance(domain, Box) and domain.dim in (2, 3):
        lo, hi = domain.bounds
        axes = [np.linspace(a, b, int(math.ceil((b - a) / h * math.sqrt(domain.dim - 1))) + 1) for a, b in zip(lo, hi)]
        mesh = (MeshTri if domain.dim == 2 else MeshTet).init_tensor(*axes)
        return _refined(mesh, h)
    if isinstance(domain, Disk):
        nrefs = 0
        while 2 * math.pi * domain.radius / (4 * 2 ** nrefs) > h:
            nrefs += 1
        mesh = MeshTri.init_circle(nrefs + 1)
        return mesh.scaled(domain.radius).translated(domain.center)
    if hasattr(domain, "simplices"):  # Polygon, MeshDomain: exact straight-sided geometry
        points, cells = domain.simplices()
        mesh = (MeshTri if points.shape[1] == 2 else MeshTet)(points.T.copy(), cells.T.copy())
        return _refined(mesh, h)
    if domain.dim == 2:
        return _delaunay_mesh(domain, h)
    raise ValueError(f"cannot triangulate {domain!r}: 2-D domains, boxes and tetrahedral mesh domains are supported")


# --------------------------------------------------------------------------- result


@dataclass
class FEMSolution:
    """A finite-element solution: the mesh, the basis and the degrees of freedom.

    Attributes:
        domain: the kanpde domain solved on.
        mesh: the scikit-fem mesh.
        basis: the scikit-fem basis (element ``P1`` or ``P2``).
        values: ``(ndofs,)`` coefficients (nodal values for Lagrange elements).
        method: e.g. ``"fem-poisson-P2"``.
        elapsed: wall-clock seconds (meshing, assembly and solve).
    """

    domain: Domain
    mesh: object
    basis: object
    values: np.ndarray
    method: str
    elapsed: float

    @property
    def names(self) -> tuple:
        return tuple(self.domain.names)

    @property
    def h(self) -> float:
        """Longest mesh edge."""
        return _edge_length(self.mesh)

    @property
    def dofs(self) -> int:
        return int(self.values.size)

    def points(self) -> np.ndarray:
        """Mesh vertices ``(P, d)``, in the order of :meth:`nodal_values`."""
        return self.mesh.p.T.copy()

    def nodal_values(self) -> np.ndarray:
        """Values ``(P,)`` at the mesh vertices."""
        return self.values[self.basis.nodal_dofs[0]]

    def interpolate(self, points) -> np.ndarray:
        """The finite-element function at points ``(M, d)``, ``(M,)`` out.

        Points outside the mesh (a curved boundary approximated by chords) take the
        value of the nearest vertex.

        Raises:
            ValueError: wrong shape or non-finite points.
        """
        pts = np.asarray(points, dtype=float)
        d = self.mesh.p.shape[0]
        if pts.ndim != 2 or pts.shape[1] != d or not np.all(np.isfinite(pts)):
            raise ValueError(f"points must be a finite (M, {d}) array, got shape {pts.shape}")
        cells = self._cells(pts)
        inside = cells >= 0
        out = np.empty(len(pts))
        if inside.any():
            out[inside] = self._probe(pts[inside].T, cells[inside])
        if (~inside).any():
            from scipy.spatial import cKDTree
            _, nearest = cKDTree(self.mesh.p.T).query(pts[~inside])
            out[~inside] = self.nodal_values()[nearest]
        return out

    def _cells(self, pts: np.ndarray) -> np.ndarray:
        """Containing cell per point, -1 outside (matplotlib's trapezoid map: fast on many points)."""
        if self.mesh.p.shape[0] != 2:  # skfem's finder tests every point against every candidate of all points
            from .geometry.mesh_domain import SimplexLocator

            if getattr(self, "_locator", None) is None:
                self._locator = SimplexLocator(self.mesh.p.T, self.mesh.t.T)
            return self._locator(pts)
        from matplotlib.tri import Triangulation
        finder = Triangulation(self.mesh.p[0], self.mesh.p[1], self.mesh.t.T).get_trifinder()
        return np.asarray(finder(pts[:, 0], pts[:, 1]))

    def _probe(self, x: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """Values at points ``x`` ``(d, M)`` in known cells (``CellBasis.probes`` with our own cell search)."""
        basis = self.basis
        local = basis.mapping.invF(x[:, :, np.newaxis], tind=cells)
        phis = np.array([basis.elem.gbasis(basis.mapping, local, k, tind=cells)[0] for k in range(basis.Nbfun)])
        return np.einsum("km,km->m", phis[:, :, 0], self.values[basis.element_dofs[:, cells]])

    def errors(self, exact, points=None) -> dict[str, float]:
        """``rel_l2`` and ``max_abs`` against ``exact`` on the dense evaluation set of the domain
        (the one :meth:`kanpde.Solution.errors` uses), or on given points."""
        if points is None:
            points, _ = evaluation_points(self.domain)
        truth = _values(exact, points, "exact")
        u = self.interpolate(points)
        return {"rel_l2": relative_l2(torch.as_tensor(u), torch.as_tensor(truth)),
                "max_abs": float(np.max(np.abs(u - truth)))}

    def l2_error(self, exact, relative: bool = True) -> float:
        """``||u_h - u||_L2 (/ ||u||_L2)`` by quadrature on the mesh (order 2p + 2)."""
        from skfem import Basis, Functional

        basis = Basis(self.mesh, self.basis.elem, intorder=2 * self.basis.elem.maxdeg + 2)
        x = np.asarray(basis.global_coordinates())
        truth = _values(exact, x.reshape(x.shape[0], -1).T, "exact").reshape(x.shape[1:])
        err = Functional(lambda w: (w["uh"] - w["u"]) ** 2).assemble(basis, uh=basis.interpolate(self.values), u=truth)
        if not relative:
            return float(np.sqrt(err))
        norm = Functional(lambda w: w["u"] ** 2).assemble(basis, u=truth)
        return float(np.sqrt(err / norm))


# --------------------------------------------------------------------------- solvers


def _solve(domain, f, g, h, order, k2: float, name: str) -> FEMSolution:
    from skfem import Basis, ElementTetP1, ElementTetP2, ElementTriP1, ElementTriP2, LinearForm, asm, condense, solve
    from skfem.models.poisson import laplace, mass

    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS} (P1 or P2 Lagrange elements), got {order!r}")
    start = time.perf_counter()
    mesh = triangulate(domain, h)
    tri = mesh.p.shape[0] == 2
    element = {(True, 1): ElementTriP1, (True, 2): ElementTriP2,
               (False, 1): ElementTetP1, (False, 2): ElementTetP2}[(tri, order)]()
    basis = Basis(mesh, element)

    @LinearForm
    def load(v, w):
        return w["f"] * v

    x = np.asarray(basis.global_coordinates())                       # (d, cells, quadrature points)
    f_at = _values(f, x.reshape(x.shape[0], -1).T, "f").reshape(x.shape[1:])  # f once, not per basis function
    stiffness = asm(laplace, basis)
    if k2:
        stiffness = stiffness - k2 * asm(mass, basis)
    rhs = -asm(load, basis, f=f_at)
    boundary = basis.get_dofs().all()
    u = basis.zeros()
    u[boundary] = _values(g, basis.doflocs[:, boundary].T, "g")
    u = solve(*condense(stiffness, rhs, x=u, D=boundary))
    return FEMSolution(domain, mesh, basis, u, f"fem-{name}-P{order}", time.perf_counter() - start)


def poisson(domain: Domain, f, g=0.0, h: float = 0.05, order: int = 1) -> FEMSolution:
    """Solve ``Δu = f`` with ``u = g`` on the boundary by P1/P2 finite elements.

    Args:
        domain: a spatial kanpde domain (2-D, or a 3-D box / tetrahedral mesh domain).
        f, g: numbers or functions of ``(M, d)`` points.
        h: longest mesh edge.
        order: 1 (P1) or 2 (P2).

    Returns:
        A :class:`FEMSolution`.

    Raises:
        ValueError: bad ``h``/``order``, a domain that cannot be meshed, or non-finite data.
    """
    return _solve(domain, f, g, h, order, 0.0, "poisson")


def helmholtz(domain: Domain, k: float, f, g=0.0, h: float = 0.05, order: int = 1) -> FEMSolution:
    """Solve ``Δu + k² u = f`` with ``u = g`` on the boundary (see :func:`poisson`)."""
    try:
        k = float(k)
    except (TypeError, ValueError):
        raise ValueError(f"k must be a real wavenumber, got {k!r}") from None
    if not math.isfinite(k):
        raise ValueError(f"k must be finite, got {k!r}")
    return _solve(domain, f, g, h, order, k * k, "helmholtz")


def solve_linear(lin, h: float, order: int = 1) -> FEMSolution:
    """The P1/P2 solution of a stationary :class:`kanpde.fd.Linear` (``Δu + c u = f``, ``u = g``)
    on a mesh of longest edge ``h``.

    Raises:
        ValueError: a parabolic description (the FEM baseline is stationary), or see :func:`poisson`.
    """
    if lin.parabolic:
        raise ValueError("the FEM baseline solves stationary problems; this Linear is parabolic (time=...)")
    name = "poisson" if lin.c == 0 else "helmholtz"
    return _solve(lin.domain, lin.f, lin.g, h, order, float(lin.c), name)
