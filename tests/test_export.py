"""Mesh export: write-then-read round trips for every format and domain type."""

from __future__ import annotations

import math
import os
import re
import threading
import xml.etree.ElementTree as ET

import meshio
import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde.io.export import FORMATS, domain_mesh, export_fd, export_solution, field_names, field_values


def _exact(x):
    return torch.sin(x).sum(1, keepdim=True) + 0.5


def _laplace(x, u):
    return u.laplacian()


DOMAINS = {
    "interval": lambda: kp.Interval(-1.0, 2.0),
    "rectangle": lambda: kp.Rectangle((0.0, -1.0), (1.0, 1.0)),
    "box3d": lambda: kp.Box((0.0, 0.0, 0.0), (1.0, 2.0, 1.0)),
    "disk": lambda: kp.Disk((0.5, -0.5), 1.5),
    "interval_time": lambda: kp.Interval(0.0, 1.0) * kp.TimeInterval(0.0, 2.0),
    "rectangle_time": lambda: kp.Rectangle((0.0, 0.0), (1.0, 1.0)) * kp.TimeInterval(0.0, 1.0),
}
CELL_TYPES = {"interval": "line", "rectangle": "quad", "box3d": "hexahedron", "disk": "triangle",
              "interval_time": "line", "rectangle_time": "quad"}
RES = 5


def _solution(domain, exact=_exact, outputs=None, seed=0):
    problem = kp.Problem(domain, _laplace, [kp.Dirichlet(0.0)], exact=exact, name="test", outputs=outputs)
    model = kp.KAN([domain.dim, 4, 1 if outputs is None else len(outputs)], grid=4, seed=seed).double()
    return kp.Solution(problem, model)


@pytest.fixture(scope="module")
def solutions():
    return {name: _solution(make()) for name, make in DOMAINS.items()}


def _cross(a, b):
    return a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]


def _read(path):
    """``[(time, mesh)]`` of what was written: one entry for static files, one per level for series."""
    if path.suffix == ".pvd":
        root = ET.parse(path).getroot()
        assert root.get("type") == "Collection"
        return [(float(d.get("timestep")), meshio.read(path.parent / d.get("file"))) for d in root.iter("DataSet")]
    if path.suffix == ".xdmf" and "Temporal" in path.read_text():
        out = []
        with meshio.xdmf.TimeSeriesReader(path) as reader:
            points, cells = reader.read_points_cells()
            for k in range(reader.num_steps):
                t, point_data, _ = reader.read_data(k)
                out.append((t, meshio.Mesh(points, cells, point_data=point_data)))
        return out
    return [(None, meshio.read(path))]


def _layout(folder, stem, ext):
    """``{index: side}`` of a folder holding one index and its side data, after checking the
    folder holds nothing else: side is ".h5" for an HDF5 file, or the sorted file names of a folder."""
    entries = sorted(p.name for p in folder.iterdir())
    assert f"{stem}{ext}" in entries, entries
    side = [e for e in entries if e != f"{stem}{ext}"]
    assert len(side) == 1 and re.fullmatch(re.escape(stem + ext) + r"\.[0-9a-f]{12}(\.h5)?", side[0]), entries
    if side[0].endswith(".h5"):
        assert f"{side[0]}:/" in (folder / f"{stem}{ext}").read_text()  # the index points at this write's data
        return {f"{stem}{ext}": ".h5"}
    return {f"{stem}{ext}": sorted(p.name for p in (folder / side[0]).iterdir())}


def _check_levels(solution, levels, domain, mesh_ref):
    d = len(domain.spatial_axes)
    timed = domain.time_axis is not None
    assert len(levels) == (RES if timed else 1)
    for j, (t, mesh) in enumerate(levels):
        assert mesh.points.shape == (len(mesh_ref.points), 3)
        np.testing.assert_allclose(mesh.points[:, :d], mesh_ref.points, atol=1e-12)
        assert np.all(mesh.points[:, d:] == 0)
        assert [c.type for c in mesh.cells] == [mesh_ref.cells[0][0]]
        np.testing.assert_array_equal(mesh.cells[0].data, mesh_ref.cells[0][1])
        assert set(mesh.point_data) == {"u", "u_exact", "error"}
        points = mesh.points[:, :d].astype(np.float64)  # legacy VTK is big-endian
        if timed:
            assert t == pytest.approx(mesh_ref.times[j])
            points = np.column_stack([points, np.full(len(points), t)])
        u = np.asarray(mesh.point_data["u"]).reshape(-1)
        np.testing.assert_allclose(u, solution.predict(points)[:, 0], rtol=1e-12, atol=1e-12)
        exact = _exact(torch.as_tensor(points)).numpy()[:, 0]
        np.testing.assert_allclose(np.asarray(mesh.point_data["u_exact"]).reshape(-1), exact, atol=1e-12)
        np.testing.assert_allclose(np.asarray(mesh.point_data["error"]).reshape(-1), u - exact, atol=1e-12)


STATIC = [n for n in DOMAINS if "time" not in n]
TIMED = [n for n in DOMAINS if "time" in n]


@pytest.mark.parametrize("ext", [".vtu", ".vtk", ".xdmf", ".pvd"])
@pytest.mark.parametrize("name", STATIC)
def test_static_round_trip(solutions, tmp_path, name, ext):
    solution = solutions[name]
    domain = solution.problem.domain
    written = export_solution(solution, tmp_path / f"out{ext}", resolution=RES)
    assert written == tmp_path / f"out{ext}"
    mesh_ref = domain_mesh(domain, RES)
    assert mesh_ref.cells[0][0] == CELL_TYPES[name]
    _check_levels(solution, _read(written), domain, mesh_ref)
    if ext == ".pvd":  # no temporary files left
        assert _layout(tmp_path, "out", ".pvd") == {"out.pvd": ["out_0000.vtu"]}
    elif ext == ".xdmf":
        assert _layout(tmp_path, "out", ".xdmf") == {"out.xdmf": ".h5"}
    else:
        assert [p.name for p in tmp_path.iterdir()] == [f"out{ext}"]


@pytest.mark.parametrize("ext", [".xdmf", ".vtu", ".pvd"])
@pytest.mark.parametrize("name", TIMED)
def test_time_series_round_trip(solutions, tmp_path, name, ext):
    solution = solutions[name]
    domain = solution.problem.domain
    written = export_solution(solution, tmp_path / f"series{ext}", resolution=RES)
    if ext == ".xdmf":
        assert written == tmp_path / "series.xdmf"
        assert _layout(tmp_path, "series", ".xdmf") == {"series.xdmf": ".h5"}
    else:  # .vtu names the series base: the index series.pvd and series.<token>/series_0000.vtu ...
        assert written == tmp_path / "series.pvd"
        assert _layout(tmp_path, "series", ".pvd") == {"series.pvd": [f"series_{j:04d}.vtu" for j in range(RES)]}
    mesh_ref = domain_mesh(domain, RES)
    np.testing.assert_allclose(mesh_ref.times, np.linspace(domain.t0, domain.t1, RES))
    _check_levels(solution, _read(written), domain, mesh_ref)


@pytest.mark.parametrize("name", TIMED)
def test_legacy_vtk_refuses_time_series(solutions, tmp_path, name):
    with pytest.raises(ValueError, match=r"time series.*'\.xdmf'"):
        export_solution(solutions[name], tmp_path / "x.vtk", resolution=RES)
    assert list(tmp_path.iterdir()) == []


def test_point_and_cell_counts(solutions):
    n = RES
    assert domain_mesh(solutions["interval"].problem.domain, n).cells[0][1].shape == (n - 1, 2)
    assert domain_mesh(solutions["rectangle"].problem.domain, n).cells[0][1].shape == ((n - 1) ** 2, 4)
    box = domain_mesh(solutions["box3d"].problem.domain, (3, 4, 5))
    assert box.points.shape == (60, 3) and box.cells[0][1].shape == (2 * 3 * 4, 8) and box.shape == (3, 4, 5)
    st = domain_mesh(solutions["rectangle_time"].problem.domain, (4, 6, 3))
    assert st.points.shape == (24, 2) and len(st.times) == 3 and st.all_points().shape == (72, 3)


def test_cells_are_positively_oriented(solutions):
    rect = domain_mesh(solutions["rectangle"].problem.domain, 6)
    p, q = rect.points, rect.cells[0][1]
    area = 0.5 * sum(_cross(p[q[:, i]], p[q[:, (i + 1) % 4]]) for i in range(4))
    assert np.all(area > 0) and area.sum() == pytest.approx(2.0)
    box = domain_mesh(solutions["box3d"].problem.domain, 4)
    p, h = box.points, box.cells[0][1]
    vol = np.linalg.det(np.stack([p[h[:, 1]] - p[h[:, 0]], p[h[:, 3]] - p[h[:, 0]], p[h[:, 4]] - p[h[:, 0]]], 1))
    assert np.all(vol > 0) and vol.sum() == pytest.approx(2.0)


def test_disk_triangulation_covers_the_disk(solutions):
    disk = solutions["disk"].problem.domain
    mesh = domain_mesh(disk, 41)
    p, t = mesh.points, mesh.cells[0][1]
    r = np.hypot(*(p - disk.center).T)
    assert r.max() == pytest.approx(disk.radius) and np.all(r <= disk.radius * (1 + 1e-12))
    a, b, c = p[t[:, 0]], p[t[:, 1]], p[t[:, 2]]
    area = 0.5 * _cross(b - a, c - a)
    assert np.all(area > 0)
    assert area.sum() == pytest.approx(math.pi * disk.radius ** 2, rel=5e-3)
    assert len(np.unique(t)) == len(p)  # every point is used


def test_generic_triangulation_is_clipped_to_the_domain():
    from kanpde.io.mesh import _generic_mesh

    disk = kp.Disk((0.0, 0.0), 1.0)
    points, [(kind, cells)] = _generic_mesh(disk, (21, 21))
    assert kind == "triangle" and np.all(disk.contains(points, tol=1e-9))
    a, b, c = points[cells[:, 0]], points[cells[:, 1]], points[cells[:, 2]]
    area = 0.5 * _cross(b - a, c - a)
    assert np.all(area > 0) and area.sum() == pytest.approx(math.pi, rel=2e-2)
    box = kp.Box((0, 0, 0), (1, 2, 1))
    points, [(kind, cells)] = _generic_mesh(box, (4, 4, 4))
    p = points[cells]
    volume = np.linalg.det(p[:, 1:] - p[:, :1]) / 6
    assert kind == "tetra" and np.all(volume > 0) and volume.sum() == pytest.approx(2.0)


def test_residual_on_request(solutions, tmp_path):
    solution = solutions["rectangle"]
    path = export_solution(solution, tmp_path / "r.vtu", resolution=4, residual=True)
    mesh = meshio.read(path)
    assert set(mesh.point_data) == {"u", "u_exact", "error", "residual"}
    x = torch.as_tensor(mesh.points[:, :2])
    expected = solution.problem.residuals(solution.network, x, "autograd")[0].detach().numpy()[:, 0]
    np.testing.assert_allclose(mesh.point_data["residual"], expected, rtol=1e-10, atol=1e-10)


def test_fields_select_arrays(solutions, tmp_path):
    solution = solutions["interval"]
    mesh = meshio.read(export_solution(solution, tmp_path / "a.vtu", resolution=4, fields=["error"]))
    assert set(mesh.point_data) == {"error"}
    mesh = meshio.read(export_solution(solution, tmp_path / "b.vtu", resolution=4, fields="residual"))
    assert set(mesh.point_data) == {"residual"}
    assert field_names(solution) == ["u", "u_exact", "error", "residual"]


def test_unknown_field(solutions, tmp_path):
    with pytest.raises(ValueError, match=r"unknown field 'v'\. Pick from \('u', 'u_exact', 'error', 'residual'\)"):
        export_solution(solutions["interval"], tmp_path / "a.vtu", fields=["u", "v"])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".foo", ""])
def test_unsupported_extension(solutions, tmp_path, suffix):
    with pytest.raises(ValueError, match=rf"unsupported extension '{suffix}'.*Pick one of \('.vtu', '.vtk', '.xdmf'"):
        export_solution(solutions["interval"], tmp_path / f"a{suffix}")
    assert FORMATS == (".vtu", ".vtk", ".xdmf", ".pvd")


def test_more_than_three_dimensions(tmp_path):
    solution = _solution(kp.Box([0] * 4, [1] * 4))
    with pytest.raises(ValueError, match="spatial dimensions 1 to 3.*4 coordinates"):
        export_solution(solution, tmp_path / "a.vtu")
    with pytest.raises(ValueError, match="spatial dimensions 1 to 3"):
        export_solution(_solution(kp.Box([0] * 4, [1] * 4) * kp.TimeInterval(0, 1)), tmp_path / "b.xdmf")


def test_no_exact_solution_writes_the_prediction_only(tmp_path):
    solution = _solution(kp.Rectangle((0, 0), (1, 1)), exact=None)
    mesh = meshio.read(export_solution(solution, tmp_path / "a.vtu", resolution=3))
    assert set(mesh.point_data) == {"u"}
    with pytest.raises(ValueError, match="Pick from \\('u', 'residual'\\)"):
        export_solution(solution, tmp_path / "a.vtu", fields=["error"])


def test_several_outputs(tmp_path):
    exact = lambda x: torch.cat([x[:, :1], x[:, 1:] ** 2], 1)  # noqa: E731
    domain = kp.Rectangle((0, 0), (1, 1))
    problem = kp.Problem(domain, lambda x, u: (u[0].laplacian(), u[1].laplacian()), exact=exact,
                         outputs=("u", "v"))
    solution = kp.Solution(problem, kp.KAN([2, 3, 2], grid=3, seed=1).double())
    mesh = meshio.read(export_solution(solution, tmp_path / "a.vtu", resolution=4, residual=True))
    assert set(mesh.point_data) == {"u", "v", "u_exact", "v_exact", "u_error", "v_error", "residual_0", "residual_1"}
    pred = solution.predict(mesh.points[:, :2])
    np.testing.assert_allclose(mesh.point_data["v"], pred[:, 1], atol=1e-12)
    np.testing.assert_allclose(mesh.point_data["v_error"], pred[:, 1] - mesh.points[:, 1] ** 2, atol=1e-12)


def test_field_values_needs_a_problem():
    with pytest.raises(ValueError, match="needs a solution with a problem"):
        field_values(kp.Solution(None, kp.KAN([1, 2, 1])), np.zeros((3, 1)))


def test_bad_resolution(solutions, tmp_path):
    with pytest.raises(ValueError, match=">= 2"):
        export_solution(solutions["rectangle"], tmp_path / "a.vtu", resolution=1)
    with pytest.raises(ValueError, match="one count per coordinate"):
        export_solution(solutions["rectangle"], tmp_path / "a.vtu", resolution=(3, 3, 3))


def test_series_replaces_a_longer_one(solutions, tmp_path):
    solution = solutions["interval_time"]
    export_solution(solution, tmp_path / "s.pvd", resolution=(4, 6))
    export_solution(solution, tmp_path / "s.pvd", resolution=(4, 3))
    assert _layout(tmp_path, "s", ".pvd") == {"s.pvd": ["s_0000.vtu", "s_0001.vtu", "s_0002.vtu"]}
    assert len(_read(tmp_path / "s.pvd")) == 3


def test_export_fd_steady(tmp_path):
    fd = kp.fd.poisson(lambda p: -2 * np.pi ** 2 * torch.sin(np.pi * p[:, 0]) * torch.sin(np.pi * p[:, 1]),
                       (0, 0), (1, 1), (8, 6))
    exact = lambda x: torch.sin(math.pi * x[:, :1]) * torch.sin(math.pi * x[:, 1:])  # noqa: E731
    mesh = meshio.read(export_fd(fd, tmp_path / "fd.vtu", exact=exact))
    assert mesh.points.shape == (9 * 7, 3) and mesh.cells[0].type == "quad" and len(mesh.cells[0].data) == 48
    np.testing.assert_allclose(mesh.points[:, :2], fd.points())
    np.testing.assert_allclose(mesh.point_data["u"], fd.values.ravel())
    np.testing.assert_allclose(mesh.point_data["error"], fd.values.ravel() - exact(torch.as_tensor(fd.points())).numpy()[:, 0])
    mesh = meshio.read(export_fd(fd, tmp_path / "fd.xdmf"))
    assert set(mesh.point_data) == {"u"}


@pytest.mark.parametrize("ext", [".xdmf", ".vtu"])
def test_export_fd_time_series(tmp_path, ext):
    fd = kp.fd.heat(lambda p: torch.sin(np.pi * p[:, 0]), 0.1, (0,), (1,), 10, 0.5, 8, save_every=2)
    written = export_fd(fd, tmp_path / f"heat{ext}")
    levels = _read(written)
    assert len(levels) == len(fd.axes["t"]) == 5
    for j, (t, mesh) in enumerate(levels):
        assert t == pytest.approx(fd.axes["t"][j])
        assert mesh.points.shape == (11, 3) and mesh.cells[0].type == "line"
        np.testing.assert_allclose(np.asarray(mesh.point_data["u"]).reshape(-1), fd.values[:, j], atol=1e-14)
    with pytest.raises(ValueError, match="time series"):
        export_fd(fd, tmp_path / "heat.vtk")
