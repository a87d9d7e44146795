"""Solution fields to mesh files (meshio): VTU, legacy VTK, XDMF and PVD time series.

Meshes, by domain (spatial dimension at most 3):

- boxes (:class:`~kanpde.Interval`, :class:`~kanpde.Rectangle`, 3-D :class:`~kanpde.Box`):
  the structured grid ``domain.grid(n)`` as lines (1-D), quads (2-D) or hexahedra (3-D);
- :class:`~kanpde.Disk`: a Delaunay triangulation of the grid points inside the disk
  plus evenly spaced points on the circle (grid points closer than half a grid
  spacing to the circle are dropped, so there are no sliver triangles);
- other 2-D / 3-D domains: a Delaunay triangulation (tetrahedralisation) of grid and
  boundary points, keeping the cells whose centroid lies in the domain;
- space-time domains ``spatial * TimeInterval``: a time series, one step per time
  level over the spatial mesh above.

Formats, chosen by the extension of the path:

=========  =====================================================================
``.vtu``   VTK XML unstructured grid. For a space-time solution the path names the
           series base: ``out/sol.vtu`` writes the index ``out/sol.pvd``, which is
           returned (open it in ParaView), and one VTU per time level in a folder
           beside it, ``out/sol.pvd.<token>/sol_0000.vtu``, ...
``.pvd``   the same series (a static solution gives a one-step series).
``.xdmf``  XDMF 3 with the heavy data in HDF5 (h5py): ``out/sol.xdmf`` plus
           ``out/sol.xdmf.<token>.h5``. A space-time solution is one mesh with one step
           per level (``meshio.xdmf.TimeSeriesWriter``; read it back with
           ``meshio.xdmf.TimeSeriesReader``), a static one reads with ``meshio.read``.
``.vtk``   legacy VTK (static solutions only: legacy VTK has no time series).
=========  =====================================================================

Point data (``fields=`` selects among them):

- the prediction, one scalar array per output (``u``, or each name in ``problem.outputs``);
- where the problem has an exact or reference solution: ``u_exact`` and the pointwise
  error ``error = u - u_exact`` (several outputs: ``<name>_exact`` and ``<name>_error``);
- on request (``residual=True`` or ``"residual"`` in ``fields``), the PDE residual
  ``residual`` (systems: ``residual_0``, ``residual_1``, ...), from autograd derivatives.

Every file is written atomically with the umask's normal mode (:mod:`kanpde.files`). An
index with side data (``.pvd`` + VTUs, ``.xdmf`` + ``.h5``) is atomic as a set: the side
data has a name unique to the write (``<token>``), and the index is replaced last, so it
always points at one writer's complete output; the side data it replaced is removed.
"""

from __future__ import annotations

import math
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from ..geometry.domains import Box, Disk, Domain, SpaceTime
from ..files import atomic_write, atomic_write_set
from ..pde.metrics import CHUNK_SIZE, chunks

__all__ = ["FORMATS", "Mesh", "domain_mesh", "field_names", "field_values", "export_solution", "export_fd",
           "export_fem"]

FORMATS = (".vtu", ".vtk", ".xdmf", ".pvd")
DEFAULT_RESOLUTION = {1: 201, 2: 101, 3: 31}   # points per spatial axis
DEFAULT_TIME_LEVELS = 51
RESIDUAL_CHUNK = 4_096  # at most this many points per residual pass (autograd holds the whole graph)


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


# ---------------------------------------------------------------------------------- resolution


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


# ---------------------------------------------------------------------------------- meshes


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


def _fd_mesh(fd) -> tuple[Mesh, np.ndarray]:
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


# ---------------------------------------------------------------------------------- fields


def _problem(solution):
    problem = getattr(solution, "problem", None)
    if problem is None:
        raise ValueError("export needs a solution with a problem (its domain); load the checkpoint with "
                         "kp.Solution.load(path, problem=...)")
    return problem


def field_names(solution, residual: bool = True) -> list[str]:
    """Names of the point-data arrays :func:`export_solution` can write for this solution.

    ``"residual"`` stands for all residual arrays (``residual`` or ``residual_0``, ...).
    """
    problem = _problem(solution)
    outputs = list(problem.outputs)
    names = list(outputs)
    if problem.has_solution():
        names += [f"{o}_exact" for o in outputs]
        names += ["error"] if len(outputs) == 1 else [f"{o}_error" for o in outputs]
    if residual:
        names.append("residual")
    return names


def _selected(solution, fields, residual: bool) -> list[str]:
    valid = field_names(solution)
    if fields is None:
        return field_names(solution, residual=residual)
    if isinstance(fields, str):
        fields = [fields]
    fields = list(fields)
    for name in fields:
        if name not in valid:
            raise ValueError(f"unknown field {name!r}. Pick from {tuple(valid)}")
    if residual and "residual" not in fields:
        fields.append("residual")
    return list(dict.fromkeys(fields))


def _model_kind(model) -> dict:
    ref = next(iter(model.parameters()), None)
    if ref is None:
        return {"dtype": torch.float64, "device": torch.device("cpu")}
    return {"dtype": ref.dtype, "device": ref.device}


def _residuals(solution, x: np.ndarray, chunk_size: int = CHUNK_SIZE) -> np.ndarray:
    """PDE residuals at points ``(N, D)`` as ``(N, k)`` (all residuals' columns side by side)."""
    problem, model = solution.problem, solution.network
    kind = _model_kind(model)
    params = None
    if problem.parameters:
        learned = getattr(solution, "parameters", {}) or {}
        params = {k: torch.tensor(float(learned.get(k, v)), **kind) for k, v in problem.parameters.items()}
    out = []
    with torch.enable_grad():
        for s in chunks(len(x), min(chunk_size, RESIDUAL_CHUNK)):
            xc = torch.as_tensor(x[s]).to(**kind)
            rs = problem.residuals(model, xc, "autograd", params)
            out.append(torch.cat([r.detach() for r in rs], dim=1).cpu().numpy())
            del rs
    return np.concatenate(out).astype(float)


def _exact_values(problem, x: np.ndarray, chunk_size: int) -> np.ndarray:
    """The problem's exact (or reference) solution at numpy points, ``(N, m)``, chunk by chunk."""
    out = np.empty((len(x), len(problem.outputs)))
    with torch.no_grad():
        for s in chunks(len(x), chunk_size):
            out[s] = problem.solution_values(torch.as_tensor(x[s], dtype=torch.float64)).detach().cpu().numpy()
    return out


def field_values(solution, points, fields=None, residual: bool = False,
                 chunk_size: int = CHUNK_SIZE) -> dict[str, np.ndarray]:
    """Point-data arrays of a solution at points ``(N, D)`` (numpy), each ``(N,)``.

    Args:
        fields: names to compute (see :func:`field_names`); None: prediction, exact and error.
        residual: also the PDE residual.
        chunk_size: points per forward pass (memory beyond the arrays themselves stays bounded).

    Raises:
        ValueError: an unknown field name, or points of the wrong shape.
    """
    problem = _problem(solution)
    wanted = _selected(solution, fields, residual)
    x = np.asarray(points, dtype=float)
    outputs = list(problem.outputs)
    single = len(outputs) == 1
    out: dict[str, np.ndarray] = {}
    need_exact = any(n.endswith("_exact") or n == "error" or n.endswith("_error") for n in wanted)
    need_pred = need_exact or any(n in outputs for n in wanted)
    pred = exact = None
    if need_pred:
        pred = np.asarray(solution.predict(x, check_domain=False, chunk_size=chunk_size), dtype=float)
        pred = pred.reshape(len(x), -1)                                     # (N, m)
    if need_exact:
        exact = _exact_values(problem, x, chunk_size)                       # (N, m)
    for c, name in enumerate(outputs):
        error_name = "error" if single else f"{name}_error"
        if name in wanted:
            out[name] = pred[:, c]
        if f"{name}_exact" in wanted:
            out[f"{name}_exact"] = exact[:, c]
        if error_name in wanted:
            out[error_name] = pred[:, c] - exact[:, c]
    if "residual" in wanted:
        r = _residuals(solution, x, chunk_size)
        if r.shape[1] == 1:
            out["residual"] = r[:, 0]
        else:
            out.update({f"residual_{i}": r[:, i] for i in range(r.shape[1])})
    return {k: np.ascontiguousarray(v, dtype=float) for k, v in out.items()}


# ---------------------------------------------------------------------------------- writing


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"unsupported extension {path.suffix!r} in {str(path)!r}. Pick one of {FORMATS}")
    return suffix


def _write_mesh(path: Path, mesh: Mesh, point_data: dict[str, np.ndarray], fmt: str) -> Path:
    import meshio

    m = meshio.Mesh(mesh.points3(), mesh.cells, point_data=point_data)
    if fmt == "xdmf":
        def write(folder: Path, data: str):  # meshio names the HDF5 file after the XDMF: <data>.h5
            meshio.write(folder / f"{data}.xdmf", m, file_format="xdmf")
            os.replace(folder / f"{data}.xdmf", folder / path.name)

        return atomic_write_set(path, write)
    return atomic_write(path, lambda tmp: meshio.write(tmp, m, file_format=fmt))


def _series_writer():
    import meshio

    class SeriesWriter(meshio.xdmf.TimeSeriesWriter):
        """meshio's writer, with the .h5 beside the .xdmf (meshio 5.3 puts it in the working directory)."""

        def __enter__(self):
            import h5py

            self.h5_filename = self.filename.with_suffix(".h5")
            self.h5_file = h5py.File(self.h5_filename, "w")
            return self

    return SeriesWriter


def _write_xdmf_series(path: Path, mesh: Mesh, levels: list[dict[str, np.ndarray]]) -> Path:
    def write(folder: Path, data: str):
        with _series_writer()(folder / f"{data}.xdmf") as writer:  # heavy data in <data>.h5
            writer.write_points_cells(mesh.points3(), mesh.cells)
            for t, values in zip(mesh.times, levels):
                writer.write_data(float(t), point_data=values)
        os.replace(folder / f"{data}.xdmf", folder / path.name)

    return atomic_write_set(path, write)


def _write_pvd_series(path: Path, mesh: Mesh, levels: list[dict[str, np.ndarray]]) -> Path:
    """``<stem>.pvd`` indexing ``<stem>.pvd.<token>/<stem>_0000.vtu, ...``; returns the .pvd path."""
    import meshio

    pvd = path.with_suffix(".pvd")
    times = mesh.times if mesh.times is not None else np.zeros(1)
    width = max(4, len(str(len(levels) - 1)))

    def write(folder: Path, data: str):
        (folder / data).mkdir()
        root = ET.Element("VTKFile", type="Collection", version="0.1", byte_order="LittleEndian")
        collection = ET.SubElement(root, "Collection")
        for j, (t, values) in enumerate(zip(times, levels)):
            name = f"{data}/{pvd.stem}_{j:0{width}d}.vtu"
            meshio.write(folder / name, meshio.Mesh(mesh.points3(), mesh.cells, point_data=values), file_format="vtu")
            ET.SubElement(collection, "DataSet", timestep=repr(float(t)), group="", part="0", file=name)
        ET.indent(root)
        ET.ElementTree(root).write(folder / pvd.name, encoding="utf-8", xml_declaration=True)

    return atomic_write_set(pvd, write)


def _write(path, mesh: Mesh, levels: list[dict[str, np.ndarray]]) -> Path:
    path = Path(path)
    suffix = _suffix(path)
    if mesh.times is None and suffix != ".pvd":
        return _write_mesh(path, mesh, levels[0], suffix[1:])
    if suffix == ".xdmf":
        return _write_xdmf_series(path, mesh, levels)
    if suffix in (".vtu", ".pvd"):
        return _write_pvd_series(path, mesh, levels)
    raise ValueError(f"a space-time solution is written as a time series, which legacy VTK cannot hold: "
                     f"use '.xdmf' or '.vtu' / '.pvd' (one VTU per time level plus a .pvd index), not {path.suffix!r}")


def _split_levels(mesh: Mesh, arrays: dict[str, np.ndarray]) -> list[dict[str, np.ndarray]]:
    if mesh.times is None:
        return [arrays]
    p = len(mesh.points)
    return [{k: np.ascontiguousarray(v[j * p:(j + 1) * p]) for k, v in arrays.items()} for j in range(len(mesh.times))]


def export_solution(solution, path: str | os.PathLike, resolution=None, fields: Sequence[str] | str | None = None,
                    residual: bool = False, chunk_size: int = CHUNK_SIZE) -> Path:
    """Write a solution's fields to a mesh file (format by extension, see the module docstring).

    Args:
        solution: a :class:`kanpde.Solution` with its problem attached.
        path: ``.vtu``, ``.vtk``, ``.xdmf`` or ``.pvd``. A space-time solution becomes a
            time series: ``.xdmf`` holds it in one XDMF file (+ ``<stem>.xdmf.<token>.h5``);
            ``.vtu`` / ``.pvd`` write the index ``<stem>.pvd`` and
            ``<stem>.pvd.<token>/<stem>_0000.vtu, ...``.
        resolution: points per axis (int, time levels included), one count per coordinate
            (tuple, time last), or None for the defaults (see :func:`domain_mesh`).
        fields: point-data arrays to write (see :func:`field_names`); None: the prediction,
            and ``u_exact`` / ``error`` where the problem has an exact or reference solution.
        residual: also write the PDE residual (autograd derivatives, evaluated in chunks).
        chunk_size: points per forward pass. Peak memory is the mesh and its point-data
            arrays (O(points)) plus one chunk's evaluation; ``scripts/memory_bound.py``
            measures it (README: "Scaling").

    Returns:
        The path written (the ``.pvd`` index for a VTU series).

    Raises:
        ValueError: unsupported extension, unknown field, spatial dimension above 3,
            legacy ``.vtk`` for a space-time solution, or no problem attached.
    """
    path = Path(path)
    _suffix(path)
    problem = _problem(solution)
    mesh = domain_mesh(problem.domain, resolution)
    wanted = _selected(solution, fields, residual)
    arrays = field_values(solution, mesh.all_points(), wanted, chunk_size=chunk_size)
    return _write(path, mesh, _split_levels(mesh, arrays))


def _exact_on(exact, points: np.ndarray, chunk_size: int = CHUNK_SIZE) -> np.ndarray:
    """Values ``(N,)`` of an exact solution (a Problem, a torch or a numpy function) at numpy points."""
    if len(points) > chunk_size:
        return np.concatenate([_exact_on(exact, points[s], chunk_size) for s in chunks(len(points), chunk_size)])
    if hasattr(exact, "solution_values"):
        values = exact.solution_values(torch.as_tensor(points, dtype=torch.float64))
    else:
        try:
            with torch.no_grad():
                values = exact(torch.as_tensor(points, dtype=torch.float64))
        except (TypeError, AttributeError):
            values = exact(points)
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    values = np.asarray(values, dtype=float)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.shape != (len(points),):
        raise ValueError(f"exact must give {len(points)} values (shape ({len(points)},) or ({len(points)}, 1)), "
                         f"got shape {values.shape}")
    return values


def export_fd(fd_solution, path: str | os.PathLike, exact=None, name: str = "u", chunk_size: int = CHUNK_SIZE) -> Path:
    """Write an :class:`~kanpde.fd.FDSolution` on its own grid, as ``export_solution`` would.

    The mesh is the FD grid (lines / quads / hexahedra); when the last axis is ``"t"``
    it is a time series over the spatial grid, one step per stored time level. The
    field is named ``u`` (``name=``), so the FD and network files open side by side.

    Args:
        exact: optional exact solution (a :class:`~kanpde.Problem`, or a function of
            ``(N, D)`` points, torch or numpy, time last): adds ``u_exact`` and
            ``error = u - u_exact``.

    Returns:
        The path written (the ``.pvd`` index for a VTU series).
    """
    path = Path(path)
    _suffix(path)
    if not hasattr(fd_solution, "axes") or not hasattr(fd_solution, "values"):
        raise TypeError(f"expected an FDSolution (axes + values), got {type(fd_solution).__name__}")
    mesh, values = _fd_mesh(fd_solution)
    arrays = {name: values.T.reshape(-1) if mesh.times is not None else values}
    if exact is not None:
        ex = _exact_on(exact, mesh.all_points(), chunk_size)
        arrays[f"{name}_exact"] = ex
        arrays["error"] = arrays[name] - ex
    return _write(path, mesh, _split_levels(mesh, {k: np.ascontiguousarray(v) for k, v in arrays.items()}))


def export_fem(fem_solution, path: str | os.PathLike, exact=None, name: str = "u") -> Path:
    """Write a :class:`~kanpde.fem.FEMSolution` on its own mesh (vertex values), as :func:`export_fd` does.

    Args:
        exact: optional exact solution (a :class:`~kanpde.Problem` or a function of points):
            adds ``u_exact`` and ``error = u - u_exact``.

    Returns:
        The path written.
    """
    path = Path(path)
    _suffix(path)
    if not hasattr(fem_solution, "mesh") or not hasattr(fem_solution, "nodal_values"):
        raise TypeError(f"expected a FEMSolution (mesh + nodal values), got {type(fem_solution).__name__}")
    points = fem_solution.points()
    kind = "triangle" if points.shape[1] == 2 else "tetra"
    mesh = Mesh(points, [(kind, fem_solution.mesh.t.T.astype(np.int64))], None, None, fem_solution.names)
    arrays = {name: fem_solution.nodal_values()}
    if exact is not None:
        arrays[f"{name}_exact"] = _exact_on(exact, points)
        arrays["error"] = arrays[name] - arrays[f"{name}_exact"]
    return _write(path, mesh, [{k: np.ascontiguousarray(v) for k, v in arrays.items()}])
