"""Solution fields to mesh files: the public entry points, composed of three parts.

- :mod:`kanpde.io.mesh` builds the mesh of a domain (or of an FD grid / FEM mesh);
- :mod:`kanpde.io.fields` evaluates the point data on it (prediction, exact, error, residual);
- :mod:`kanpde.io.writers` writes the file by its extension (``.vtu``, ``.vtk``, ``.xdmf`` + ``.h5``,
  ``.pvd`` series), atomically, side data included.

A space-time solution becomes a time series, one step per time level over the spatial mesh.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from ..pde.metrics import CHUNK_SIZE
from ..pde.params import label, sweep
from .fields import exact_on, field_names, field_values, problem_of, selected_fields
from .mesh import Mesh, domain_mesh, fd_mesh
from .writers import FORMATS, check_format, split_levels, write_mesh_file

__all__ = ["FORMATS", "Mesh", "domain_mesh", "field_names", "field_values", "export_solution", "export_fd",
           "export_fem"]


def export_solution(solution, path: str | os.PathLike, resolution=None, fields: Sequence[str] | str | None = None,
                    residual: bool = False, chunk_size: int = CHUNK_SIZE, **values) -> Path:
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
        **values: for a family (``Problem(params=)``), the parameter values to write, one number or a
            list per name (``k=[1, 2.5, 4]``): the mesh is the domain's, with one set of fields per value,
            named ``u[k=2.5]``, ``u_exact[k=2.5]``, ``error[k=2.5]``.

    Returns:
        The path written (the ``.pvd`` index for a VTU series).

    Raises:
        ValueError: unsupported extension, unknown field, spatial dimension above 3,
            legacy ``.vtk`` for a space-time solution, or no problem attached.
    """
    path = Path(path)
    check_format(path)
    problem = problem_of(solution)
    wanted = selected_fields(solution, fields, residual)
    if not problem.params:
        if values:
            raise ValueError(f"export_solution got parameters {sorted(values)} but the problem has no params=")
        mesh = domain_mesh(problem.domain, resolution)
        arrays = field_values(solution, mesh.all_points(), wanted, chunk_size=chunk_size)
        return write_mesh_file(path, mesh, split_levels(mesh, arrays))
    mesh = domain_mesh(problem.space, resolution)
    arrays = {}
    for point in sweep(problem.params, values) if values else [None]:
        if point is None:  # names the missing parameter, as predict does
            solution.param_points(mesh.all_points()[:1], None, {})
        z = solution.param_points(mesh.all_points(), None, point)
        found = field_values(solution, z, wanted, chunk_size=chunk_size)
        arrays.update({f"{name}[{label(point)}]": array for name, array in found.items()})
    return write_mesh_file(path, mesh, split_levels(mesh, arrays))


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
    check_format(path)
    if not hasattr(fd_solution, "axes") or not hasattr(fd_solution, "values"):
        raise TypeError(f"expected an FDSolution (axes + values), got {type(fd_solution).__name__}")
    mesh, values = fd_mesh(fd_solution)
    arrays = {name: values.T.reshape(-1) if mesh.times is not None else values}
    if exact is not None:
        ex = exact_on(exact, mesh.all_points(), chunk_size)
        arrays[f"{name}_exact"] = ex
        arrays["error"] = arrays[name] - ex
    return write_mesh_file(path, mesh, split_levels(mesh, {k: np.ascontiguousarray(v) for k, v in arrays.items()}))


def export_fem(fem_solution, path: str | os.PathLike, exact=None, name: str = "u") -> Path:
    """Write a :class:`~kanpde.fem.FEMSolution` on its own mesh (vertex values), as :func:`export_fd` does.

    Args:
        exact: optional exact solution (a :class:`~kanpde.Problem` or a function of points):
            adds ``u_exact`` and ``error = u - u_exact``.

    Returns:
        The path written.
    """
    path = Path(path)
    check_format(path)
    if not hasattr(fem_solution, "mesh") or not hasattr(fem_solution, "nodal_values"):
        raise TypeError(f"expected a FEMSolution (mesh + nodal values), got {type(fem_solution).__name__}")
    points = fem_solution.points()
    kind = "triangle" if points.shape[1] == 2 else "tetra"
    mesh = Mesh(points, [(kind, fem_solution.mesh.t.T.astype(np.int64))], None, None, fem_solution.names)
    arrays = {name: fem_solution.nodal_values()}
    if exact is not None:
        arrays[f"{name}_exact"] = exact_on(exact, points)
        arrays["error"] = arrays[name] - arrays[f"{name}_exact"]
    return write_mesh_file(path, mesh, [{k: np.ascontiguousarray(v) for k, v in arrays.items()}])
