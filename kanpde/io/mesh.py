"""Export meshes of domains: structured grids for boxes, Delaunay triangulations for the rest.

By domain (spatial dimension at most 3):

- boxes (:class:`~kanpde.Interval`, :class:`~kanpde.Rectangle`, 3-D :class:`~kanpde.Box`):
  the structured grid ``domain.grid(n)`` as lines (1-D), quads (2-D) or hexahedra (3-D);
- :class:`~kanpde.Disk`: a Delaunay triangulation of the grid points inside the disk
  plus evenly spaced points on the circle (grid points closer than half a grid
  spacing to the circle are dropped, so there are no sliver triangles);
- a :class:`~kanpde.MeshDomain`: the file's own points and cells;
- other 2-D / 3-D domains: a Delaunay triangulation (tetrahedralisation) of grid and
  boundary points, keeping the cells whose centroid lies in the domain;
- space-time domains ``spatial * TimeInterval``: one spatial mesh plus the time levels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..geometry.domains import Box, Disk, Domain, SpaceTime
from ..memory import check_fits

__all__ = ["DEFAULT_RESOLUTION", "DEFAULT_TIME_LEVELS", "Mesh", "domain_mesh", "fd_mesh"]

DEFAULT_RESOLUTION = {1: 201, 2: 101, 3: 31}   # points per spatial axis
DEFAULT_TIME_LEVELS = 51


@dataclass
class Mesh:
    """A mesh of a domain: spatial points, cells and (space-time) time levels.

    Attributes:
        points: ``(P, d)`` spatial coordinates (d = spatial dimension, 1..3).
        cells: meshio cell blocks, ``[(type, (C, nodes) int array)]``.
        shape: the ``"ij"`` grid shape for a structured grid, else None.
        times: ``(T,)`` time levels for a space-time domain, else None.
        names: the spatial coordinate names.
    """

    points: np.ndarray
    cells: list[tuple[str, np.ndarray]]
    shape: tuple[int, ...] | None
    times: np.ndarray | None
    names: tuple[str, ...]

    def level_points(self, level: int | None = None) -> np.ndarray:
        """Domain points ``(P, D)``: the spatial points, with time ``times[level]`` appended for a series."""
        if self.times is None:
            return self.points
        return np.column_stack([self.points, np.full(len(self.points), self.times[level])])

    def all_points(self) -> np.ndarray:
        """Every evaluation point, level after level for a series: ``(P * T, D)`` (or ``(P, d)``)."""
        if self.times is None:
            return self.points
        return np.concatenate([self.level_points(j) for j in range(len(self.times))])

    def points3(self) -> np.ndarray:
        """Points padded to 3 coordinates, as VTK/XDMF readers expect."""
        out = np.zeros((len(self.points), 3))
        out[:, :self.points.shape[1]] = self.points
        return out


def _count(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{what} must be an int >= 2 (points per axis), got {value!r}")
    if value < 2:
        raise ValueError(f"{what} must be >= 2 points per axis, got {value}")
    return int(value)


def _resolution(resolution, spatial_dim: int, timed: bool) -> tuple[tuple[int, ...], int | None]:
    """``(spatial counts, time levels or None)`` from an int, a tuple (one per coordinate, time last) or None."""
    total = spatial_dim + int(timed)
    if resolution is None:
        return (DEFAULT_RESOLUTION[spatial_dim],) * spatial_dim, (DEFAULT_TIME_LEVELS if timed else None)
    if isinstance(resolution, (tuple, list)):
        if len(resolution) != total:
            raise ValueError(f"resolution needs one count per coordinate ({total}{', time last' if timed else ''}), "
                             f"got {tuple(resolution)!r}")
        counts = tuple(_count(c, "resolution") for c in resolution)
        return counts[:spatial_dim], (counts[-1] if timed else None)
    n = _count(resolution, "resolution")
    return (n,) * spatial_dim, (n if timed else None)


def _check_mesh_fits(resolution, counts: tuple[int, ...], levels: int | None) -> None:
    """Refuse a resolution whose mesh cannot fit in memory, before any array is allocated.

    Per point: its coordinates, one cell's node indices (``2^d``) and a few field values.
    """
    points = math.prod(counts) * (levels or 1)
    check_fits(points * (len(counts) + 2 ** len(counts) + 4),
               f"resolution={resolution!r} ({points:.3g} mesh points)")


def _structured_cells(shape: Sequence[int]) -> list[tuple[str, np.ndarray]]:
    """Lines / quads / hexahedra of an ``"ij"`` C-order grid, VTK node order."""
    idx = np.arange(int(np.prod(shape))).reshape(shape)
    if len(shape) == 1:
        return [("line", np.column_stack([idx[:-1], idx[1:]]))]
    if len(shape) == 2:
        corners = [idx[:-1, :-1], idx[1:, :-1], idx[1:, 1:], idx[:-1, 1:]]  # counter-clockwise in (x, y)
        return [("quad", np.stack([c.ravel() for c in corners], axis=1))]
    lo, hi = slice(None, -1), slice(1, None)
    order = [(lo, lo), (hi, lo), (hi, hi), (lo, hi)]
    corners = [idx[a, b, lo] for a, b in order] + [idx[a, b, hi] for a, b in order]
    return [("hexahedron", np.stack([c.ravel() for c in corners], axis=1))]


def _simplex_volumes(points: np.ndarray, simplices: np.ndarray) -> np.ndarray:
    """Signed areas (2-D) or volumes (3-D) of simplices."""
    p = points[simplices]                                           # (C, d+1, d)
    edges = p[:, 1:] - p[:, :1]                                     # (C, d, d)
    return np.linalg.det(edges) / math.factorial(points.shape[1])


def _triangulate(points: np.ndarray, keep_centroid: Callable | None, h: float) -> np.ndarray:
    """Delaunay simplices (positively oriented, degenerate ones dropped, optionally clipped to a domain)."""
    from scipy.spatial import Delaunay

    simplices = Delaunay(points).simplices.astype(np.int64)
    if keep_centroid is not None:
        simplices = simplices[keep_centroid(points[simplices].mean(axis=1))]
    volume = _simplex_volumes(points, simplices)
    simplices = simplices[np.abs(volume) > 1e-10 * h ** points.shape[1]]
    flip = _simplex_volumes(points, simplices) < 0
    simplices[flip, :2] = simplices[flip, 1::-1]                    # swap two nodes: positive orientation
    return simplices


def _disk_mesh(disk: Disk, counts: tuple[int, int]) -> tuple[np.ndarray, list]:
    inner, _ = disk.grid(counts)
    lo, hi = disk.bounds
    h = float(np.max((hi - lo) / (np.asarray(counts) - 1)))
    r = np.hypot(*(inner - disk.center).T)
    inner = inner[r <= disk.radius - 0.5 * h]
    m = max(8, math.ceil(2 * math.pi * disk.radius / h))
    theta = 2 * math.pi * np.arange(m) / m
    circle = disk.center + disk.radius * np.column_stack([np.cos(theta), np.sin(theta)])
    points = np.concatenate([inner, circle])
    return points, [("triangle", _triangulate(points, None, h))]


def _generic_mesh(domain: Domain, counts: tuple[int, ...]) -> tuple[np.ndarray, list]:
    """Grid and boundary points of any 2-D / 3-D domain, triangulated and clipped to the domain."""
    inner, _ = domain.grid(counts)
    lo, hi = domain.bounds
    h = float(np.max((hi - lo) / (np.asarray(counts) - 1)))
    n_boundary = max(16, int(np.prod(counts)) ** ((domain.dim - 1) / domain.dim) * 2 * domain.dim)
    boundary = domain.sample_boundary(int(n_boundary), method="grid")
    points = np.unique(np.concatenate([inner, boundary]), axis=0)
    kind = "triangle" if domain.dim == 2 else "tetra"
    return points, [(kind, _triangulate(points, lambda c: domain.contains(c, tol=1e-9), h))]


def _spatial_part(domain: Domain) -> tuple[Domain, bool]:
    if isinstance(domain, SpaceTime):
        return domain.spatial, True
    if domain.time_axis is not None:
        raise ValueError(f"cannot mesh {domain!r}: a time axis alone has no spatial mesh; "
                         "export space-time problems (spatial * TimeInterval)")
    return domain, False


def domain_mesh(domain: Domain, resolution=None) -> Mesh:
    """The export mesh of a domain (see the module docstring).

    Args:
        domain: a kanpde domain whose spatial part has 1 to 3 coordinates.
        resolution: points per axis: an int for every axis (time levels included),
            a tuple with one count per coordinate (time last), or None for the
            defaults (201 / 101 / 31 per axis in 1-D / 2-D / 3-D, 51 time levels).

    Raises:
        ValueError: a spatial dimension above 3, or a bad resolution.
    """
    if not isinstance(domain, Domain):
        raise TypeError(f"expected a kanpde Domain, got {type(domain).__name__}")
    spatial, timed = _spatial_part(domain)
    d = spatial.dim
    if d > 3:
        raise ValueError(f"mesh export supports spatial dimensions 1 to 3, but {spatial!r} has {d} coordinates "
                         f"{spatial.names}; evaluate it with solution.predict(points) instead")
    counts, levels = _resolution(resolution, d, timed)
    if not hasattr(spatial, "mesh_cells"):  # a mesh of the user's own is already in memory
        _check_mesh_fits(resolution, counts, levels)
    shape = None
    if isinstance(spatial, Box):
        points, shape = spatial.grid(counts)
        shape = tuple(int(s) for s in shape)
        cells = _structured_cells(shape)
    elif isinstance(spatial, Disk):
        points, cells = _disk_mesh(spatial, counts)
    elif hasattr(spatial, "mesh_cells"):  # MeshDomain: the user's own mesh (resolution does not apply)
        points, cells = spatial.mesh_cells()
    elif d in (2, 3):
        points, cells = _generic_mesh(spatial, counts)
    else:
        raise ValueError(f"cannot mesh {spatial!r}: 1-D domains must be intervals")
    times = np.linspace(domain.t0, domain.t1, levels) if timed else None
    return Mesh(np.asarray(points, dtype=float), cells, shape, times, tuple(spatial.names))


def fd_mesh(fd) -> tuple[Mesh, np.ndarray]:
    """Mesh of an FDSolution's own grid and its values ``(P,)`` or ``(P, T)``."""
    axes = dict(fd.axes)
    names = list(axes)
    timed = names[-1] == "t"
    spatial = names[:-1] if timed else names
    if not 1 <= len(spatial) <= 3:
        raise ValueError(f"mesh export supports spatial dimensions 1 to 3, got FD axes {tuple(names)}")
    nodes = [np.asarray(axes[n], dtype=float) for n in spatial]
    shape = tuple(len(a) for a in nodes)
    points = np.stack([g.ravel() for g in np.meshgrid(*nodes, indexing="ij")], axis=1)
    values = np.asarray(fd.values, dtype=float)
    times = np.asarray(axes["t"], dtype=float) if timed else None
    values = values.reshape(int(np.prod(shape)), -1) if timed else values.reshape(-1)
    return Mesh(points, _structured_cells(shape), shape, times, tuple(spatial)), values
