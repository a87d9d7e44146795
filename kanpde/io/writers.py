"""Mesh files (meshio), written atomically: VTU, legacy VTK, XDMF + HDF5, and PVD time series.

Formats, chosen by the extension of the path:

=========  =====================================================================
``.vtu``   VTK XML unstructured grid. A time series is written as the index
           ``out/sol.pvd`` (returned: open it in ParaView) and one VTU per time level in
           a folder beside it, ``out/sol.pvd.<token>/sol_0000.vtu``, ...
``.pvd``   the same series (a static field gives a one-step series).
``.xdmf``  XDMF 3 with the heavy data in HDF5 (h5py): ``out/sol.xdmf`` plus
           ``out/sol.xdmf.<token>.h5``. A time series is one mesh with one step per level
           (``meshio.xdmf.TimeSeriesWriter``; read it back with
           ``meshio.xdmf.TimeSeriesReader``), a static one reads with ``meshio.read``.
``.vtk``   legacy VTK (static fields only: legacy VTK has no time series).
=========  =====================================================================

Every file is written atomically with the umask's normal mode (:mod:`kanpde.files`). An
index with side data (``.pvd`` + VTUs, ``.xdmf`` + ``.h5``) is atomic as a set
(:func:`kanpde.files.atomic_write_set`): the side data has a name unique to the write
(``<token>``) and is first written in a private temporary folder; the index is replaced
last, under a lock on the folder, so it always points at one writer's complete output,
and the side data it replaced is removed. Concurrent writers of one index leave exactly
one index and one ``.h5`` (or VTU folder): the last writer's.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from ..files import atomic_write, atomic_write_set
from .mesh import Mesh

__all__ = ["FORMATS", "check_format", "split_levels", "write_mesh_file"]

FORMATS = (".vtu", ".vtk", ".xdmf", ".pvd")


def check_format(path: Path) -> str:
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


def write_mesh_file(path, mesh: Mesh, levels: list[dict[str, np.ndarray]]) -> Path:
    path = Path(path)
    suffix = check_format(path)
    if mesh.times is None and suffix != ".pvd":
        return _write_mesh(path, mesh, levels[0], suffix[1:])
    if suffix == ".xdmf":
        return _write_xdmf_series(path, mesh, levels)
    if suffix in (".vtu", ".pvd"):
        return _write_pvd_series(path, mesh, levels)
    raise ValueError(f"a space-time solution is written as a time series, which legacy VTK cannot hold: "
                     f"use '.xdmf' or '.vtu' / '.pvd' (one VTU per time level plus a .pvd index), not {path.suffix!r}")


def split_levels(mesh: Mesh, arrays: dict[str, np.ndarray]) -> list[dict[str, np.ndarray]]:
    if mesh.times is None:
        return [arrays]
    p = len(mesh.points)
    return [{k: np.ascontiguousarray(v[j * p:(j + 1) * p]) for k, v in arrays.items()} for j in range(len(mesh.times))]
