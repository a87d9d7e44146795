"""Domains from mesh files: sampling by cell volume, boundary facets and normals, gmsh groups, export."""

import sys
from pathlib import Path

import meshio
import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import kanpde as kp  # noqa: E402
from kanpde.geometry.domains import METHODS  # noqa: E402

MESH = ROOT / "problems" / "data" / "bracket.msh"
BRACKET = kp.Polygon([(0.0, 0.0), (2.0, 0.0), (2.0, 0.5), (0.8, 0.5), (0.8, 1.5), (0.0, 1.5)])


@pytest.fixture(scope="module")
def bracket():
    return kp.MeshDomain.from_file(MESH)


def hex_box_file(tmp_path):
    """A 2 x 2 x 1 box of 4 hexahedra written as VTU."""
    axes = [np.linspace(0, 2, 3), np.linspace(0, 2, 3), np.linspace(0, 1, 2)]
    pts = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    idx = np.arange(len(pts)).reshape(3, 3, 2)
    hexes = [[idx[i, j, 0], idx[i + 1, j, 0], idx[i + 1, j + 1, 0], idx[i, j + 1, 0],
              idx[i, j, 1], idx[i + 1, j, 1], idx[i + 1, j + 1, 1], idx[i, j + 1, 1]] for i in range(2) for j in range(2)]
    path = tmp_path / "box.vtu"
    meshio.write(path, meshio.Mesh(pts, [("hexahedron", np.array(hexes))]))
    return path


@pytest.mark.parametrize("method", METHODS)
def test_samples_inside_and_on_boundary(bracket, method):
    x = bracket.sample_interior(300, method, 0)
    b = bracket.sample_boundary(300, method, 0)
    assert bracket.contains(x).all() and BRACKET.contains(x).all()
    assert bracket.on_boundary(b, tol=1e-12).all() and BRACKET.on_boundary(b, tol=1e-12).all()


def test_geometry_matches_the_polygon(bracket):
    assert bracket.volume == pytest.approx(BRACKET.volume, rel=1e-12)
    y = kp.Box((-0.5, -0.5), (2.5, 2.0)).sample_interior(4000, "uniform", 1)
    assert np.array_equal(bracket.contains(y), BRACKET.contains(y))
    b = bracket.sample_boundary(400, "halton", 2)
    assert np.allclose(bracket.normals(b), BRACKET.normals(b), atol=1e-12)
    # interior samples are uniform by area: the upright holds 0.8 / 1.8 of it
    x = bracket.sample_interior(20000, "sobol", 0)
    assert np.mean(x[:, 1] > 0.5) == pytest.approx(0.8 / 1.8, abs=0.01)


def test_gmsh_physical_groups_are_sides(bracket):
    assert set(bracket.side_names) == {"bottom", "tip", "wall"}
    tip = bracket.sample_boundary(100, "sobol", 0, side="tip")
    assert np.allclose(tip[:, 0], 2.0) and np.allclose(bracket.normals(tip), [1.0, 0.0])
    bottom = bracket.sample_boundary(100, "sobol", 0, side="bottom")
    assert np.allclose(bottom[:, 1], 0.0) and bracket.side("bottom")(bottom).all()
    assert not bracket.side("tip")(bottom).any()
    with pytest.raises(ValueError, match="Pick one of"):
        bracket.sample_boundary(10, side="inlet")


def test_distance_function(bracket):
    phi = bracket.adf()
    b = torch.as_tensor(bracket.sample_boundary(200, "sobol", 0))
    assert phi(b).abs().max() < 1e-12
    x = bracket.sample_interior(300, "sobol", 1)
    x = x[~bracket.on_boundary(x, tol=1e-6)]
    assert (phi(torch.as_tensor(x)) > 0).all()
    tip = bracket.adf(["tip"])
    assert tip(torch.as_tensor(bracket.sample_boundary(50, side="tip"))).abs().max() < 1e-12
    assert (tip(torch.as_tensor(x)) > 0).all()


def test_hexahedra_from_vtu(tmp_path):
    domain = kp.MeshDomain.from_file(hex_box_file(tmp_path))
    assert domain.dim == 3 and domain.volume == pytest.approx(4.0)
    b = domain.sample_boundary(300, "sobol", 0)
    assert domain.on_boundary(b, tol=1e-12).all()
    n = domain.normals(b)
    lo, hi = np.zeros(3), np.array([2.0, 2.0, 1.0])
    expected = np.where(np.isclose(b, hi), 1.0, 0.0) - np.where(np.isclose(b, lo), 1.0, 0.0)
    assert np.allclose(n, expected)
    assert domain.contains(domain.sample_interior(300, "sobol", 0)).all()
    assert not domain.contains(np.array([[2.5, 1.0, 0.5], [1.0, 1.0, 1.2]])).any()


def test_export_on_the_users_mesh(bracket, tmp_path):
    import problems
    problem = problems.load_problem("laplace_mesh")
    model = kp.KAN([2, 3, 1], grid=3, seed=0).double()
    solution = kp.Solution(problem, model)
    path = kp.export_solution(solution, tmp_path / "bracket.vtu")
    back = meshio.read(path)
    points, cells = bracket.mesh_cells()
    assert np.allclose(back.points[:, :2], points)
    assert np.array_equal(back.cells_dict["triangle"], cells[0][1])
    assert np.allclose(back.point_data["u"], solution.predict(points)[:, 0], atol=1e-12)
    assert np.allclose(back.point_data["u_exact"], problem.exact(torch.as_tensor(points))[:, 0].numpy())


def test_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="no mesh file"):
        kp.MeshDomain.from_file(tmp_path / "missing.msh")
    path = tmp_path / "lines.vtu"
    meshio.write(path, meshio.Mesh(np.array([[0.0, 0, 0], [1, 0, 0]]), [("line", np.array([[0, 1]]))]))
    with pytest.raises(ValueError, match="no triangles"):
        kp.MeshDomain.from_file(path)
    with pytest.raises(ValueError, match="degenerate"):
        kp.MeshDomain([[0, 0], [1, 0], [2, 0]], [[0, 1, 2]])
    with pytest.raises(ValueError, match="simplices of shape"):
        kp.MeshDomain([[0, 0], [1, 0], [0, 1]], [[0, 1]])
