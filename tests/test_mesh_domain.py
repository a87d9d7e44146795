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


# -- smooth distance functions, circles, fast point location, multi-side hard Dirichlet -------------

sys.path.insert(0, str(ROOT / "scripts"))
from mesh_distance_cost import annulus_mesh  # noqa: E402
from kanpde.geometry.distance import Arc, Circle, Segment, SmoothDistance  # noqa: E402
from kanpde.pde.constraints import HardConstraint  # noqa: E402
from kanpde.pde.fields import function_derivatives  # noqa: E402

PAIRS = [(0, 0), (0, 1), (1, 1)]


@pytest.fixture(scope="module")
def annulus():
    domain = annulus_mesh(64, 8)
    top = [f for f in domain._facets[domain._sides["outer"]] if domain._points_[f, 1].min() >= 0]
    return kp.MeshDomain(*domain.simplices(), sides={**{n: domain._facets[r] for n, r in domain._sides.items()},
                                                     "top": np.array(top)})


def interior(domain, n=300, away=1e-3):
    x = domain.sample_interior(n, "sobol", 1)
    return torch.as_tensor(x[~domain.on_boundary(x, tol=away)])


def test_circle_loops_are_recognised(annulus):
    assert len(annulus._circles) == 2
    radii = sorted(c.radius for c in annulus._circles)
    assert radii == pytest.approx([0.5, 1.0], rel=1e-12)
    assert {type(p) for p in annulus.adf(["inner", "outer"]).primitives} == {Circle}
    assert [type(p) for p in annulus.adf(["top"]).primitives] == [Arc]
    # samples lie on the circles; normals are radial and outward
    for side, radius, sign in (("inner", 0.5, -1.0), ("outer", 1.0, 1.0)):
        b = annulus.sample_boundary(200, "sobol", 0, side=side)
        assert np.allclose(np.linalg.norm(b, axis=1), radius, atol=1e-14)
        assert annulus.side(side)(b).all() and annulus.on_boundary(b).all() and annulus.contains(b).all()
        assert np.allclose(annulus.normals(b), sign * b / radius, atol=1e-12)


@pytest.mark.parametrize("sides", [None, ["inner"], ["outer"], ["top"], ["inner", "top"]])
def test_smooth_distance_zero_on_its_sides_positive_inside(annulus, sides):
    phi = annulus.adf(sides)
    for side in sides or [None]:
        b = torch.as_tensor(annulus.sample_boundary(300, "halton", 0, side=side))
        assert phi(b).abs().max() < 1e-10
    assert (phi(interior(annulus)) > 0).all()


@pytest.mark.parametrize("case", ["annulus", "top", "bracket", "bracket_tip", "segments"])
def test_smooth_distance_jet_equals_autograd(annulus, bracket, case):
    domain, sides = {"annulus": (annulus, None), "top": (annulus, ["top"]), "bracket": (bracket, None),
                     "bracket_tip": (bracket, ["tip", "bottom"]), "segments": (bracket, ["wall"])}[case]
    phi = domain.adf(sides)
    x = interior(domain)
    value, grad, second = phi.derivatives(x, PAIRS)
    v, g, s = function_derivatives(phi, x, PAIRS, 2)
    assert torch.allclose(value, v, atol=1e-10, rtol=0) and torch.allclose(grad, g, atol=1e-10, rtol=0)
    assert torch.allclose(second, s, atol=1e-10, rtol=0)
    assert phi.derivatives(x, PAIRS) is phi.derivatives(x.clone(), PAIRS)          # cached per point set
    assert phi.derivatives(x[:-1], PAIRS)[0].shape[0] == len(x) - 1


def test_smooth_distance_is_smooth_along_the_sides(bracket):
    """Straight runs of facets are one segment: the bracket's boundary has six, whatever its facet count."""
    assert len(bracket.adf().primitives) == 6 < len(bracket._facets)
    # the old per-facet construction dipped to half the distance at every mesh vertex; this one does not
    b = bracket.sample_boundary(200, "sobol", 0, side="bottom")
    b = b[(b[:, 0] > 0.1) & (b[:, 0] < 1.9)]
    x = torch.as_tensor(b + [0.0, 0.02])
    assert len(bracket.adf(["bottom"]).primitives) == 1
    assert np.allclose(bracket.adf(["bottom"])(x).numpy(), 0.02, rtol=1e-3)


def test_point_location_matches_the_full_scan(annulus):
    x = np.random.default_rng(0).uniform(-1.1, 1.1, (3000, 2))
    everything = np.broadcast_to(np.arange(len(annulus._cells)), (len(x), len(annulus._cells)))
    brute = annulus._in_cells(x, everything, 1e-12).any(axis=1)
    assert np.array_equal(annulus._inside(x), brute)
    r = np.linalg.norm(x, axis=1)
    clear = (np.abs(r - 0.5) > 0.01) & (np.abs(r - 1.0) > 0.01)
    assert np.array_equal(annulus.contains(x)[clear], ((r > 0.5) & (r < 1.0))[clear])
    # facet distances through the KD-tree equal the distances to every facet
    rows = np.arange(len(annulus._facets))
    full = annulus._facet_distances(x[:200], np.broadcast_to(rows, (200, len(rows)))).min(axis=1)
    assert np.allclose(annulus._distances(x[:200]), full, atol=1e-14)


def test_segments_and_circles_in_closed_form():
    x = torch.tensor([[0.3, 0.4], [-0.2, 0.1]], dtype=torch.float64)
    assert torch.allclose(Circle((0, 0), 1.0).value(x), (1 - (x ** 2).sum(1)) / 2)
    seg = SmoothDistance([Segment((-1.0, 0.0), (1.0, 0.0))])
    assert seg(torch.tensor([[0.0, 0.0], [0.5, 0.0]], dtype=torch.float64)).abs().max() < 1e-15
    with pytest.raises(ValueError, match="at least one boundary primitive"):
        SmoothDistance([])


def truth(x):
    """exp(x) cos(y) + log|x|: harmonic on the annulus."""
    return torch.exp(x[:, :1]) * torch.cos(x[:, 1:]) + 0.5 * torch.log((x ** 2).sum(1, keepdim=True))


def annulus_problem(domain, inner, outer, hard="auto"):
    return kp.Problem(domain, lambda x, u: u.laplacian(),
                      [kp.Dirichlet(inner, on="inner", hard=hard), kp.Dirichlet(outer, on="outer", hard=hard)],
                      exact=truth), truth


def test_two_sides_with_different_data_are_both_built_in(annulus):
    problem, exact = annulus_problem(annulus, lambda x: 1.0 + x[:, :1], lambda x: torch.sin(x[:, 1:]))
    assert len(problem.constraints.dirichlet) == 2
    net = kp.KAN([2, 4, 1], grid=3, seed=0).double()
    model = problem.constraints.wrap(net)
    inner = torch.as_tensor(annulus.sample_boundary(100, "sobol", 0, side="inner"))
    outer = torch.as_tensor(annulus.sample_boundary(100, "sobol", 0, side="outer"))
    assert torch.allclose(model(inner), 1.0 + inner[:, :1], atol=1e-10, rtol=0)
    assert torch.allclose(model(outer), torch.sin(outer[:, 1:]), atol=1e-10, rtol=0)
    # the jet of the whole transform (closed-form distance, cached lift) equals autograd
    assert isinstance(model, HardConstraint) and model.factor_derivatives is not None
    x = interior(annulus, 100)
    jet = model.jet(x, PAIRS)
    u, g, s = function_derivatives(model, x, PAIRS, 2)
    assert torch.allclose(jet.value, u, atol=1e-10, rtol=0) and torch.allclose(jet.grad, g, atol=1e-10, rtol=0)
    assert torch.allclose(jet.second, s, atol=1e-10, rtol=0)


def test_no_silent_half_hard_dirichlet(annulus):
    domain = annulus
    conditions = [kp.Dirichlet(1.0, on="inner"), kp.Dirichlet(2.0, on=lambda x: torch.ones(len(x), dtype=bool))]
    with pytest.warns(UserWarning, match="none is built in"):
        problem = kp.Problem(domain, lambda x, u: u.laplacian(), conditions)
    assert not problem.constraints.dirichlet


def test_polygon_with_many_collinear_edges():
    t = np.linspace(0, 1, 51)[:-1]
    square = np.concatenate([np.column_stack([t, 0 * t]), np.column_stack([1 + 0 * t, t]),
                             np.column_stack([1 - t, 1 + 0 * t]), np.column_stack([0 * t, 1 - t])])
    poly = kp.Polygon(square)
    assert len(poly.adf().primitives) == 4 and len(poly.adf([f"edge_{i}" for i in range(10, 60)]).primitives) == 2
    x = torch.as_tensor(poly.sample_interior(200, "sobol", 0))
    plain = kp.Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])
    assert torch.allclose(poly.adf()(x), plain.adf()(x), atol=1e-14, rtol=0)


def test_cost_script_runs(capsys, tmp_path):
    import json

    import mesh_distance_cost

    rows = mesh_distance_cost.main(["--facets", "40", "400", "--points", "50", "--json", str(tmp_path / "c.json")])
    assert [r["facets"] for r in rows] == [40, 400] and all(r["jet"] > 0 for r in rows)
    assert "time per point" in capsys.readouterr().out
    saved = json.loads((tmp_path / "c.json").read_text())
    assert [r["facets"] for r in saved["rows"]] == [40, 400] and set(saved["ratio_largest_to_smallest"]) == \
        {"value", "jet", "contains"}


def test_three_d_mesh_says_why_no_side_is_built_in(tmp_path):
    domain = kp.MeshDomain.from_file(hex_box_file(tmp_path))
    lo = lambda x: torch.as_tensor(x[:, 0] < 1e-9)  # noqa: E731
    hi = lambda x: torch.as_tensor(x[:, 0] > 2 - 1e-9)  # noqa: E731
    with pytest.warns(UserWarning, match="none can be built in"):
        problem = kp.Problem(domain, lambda x, u: u.laplacian(), [kp.Dirichlet(0.0, on=lo), kp.Dirichlet(1.0, on=hi)])
    assert not problem.constraints.dirichlet


def test_arcs_inside_a_loop_are_recognised():
    half = annulus_mesh(40, 6, sweep=np.pi)
    assert sorted(c.radius for c in half._circles) == pytest.approx([0.5, 1.0], rel=1e-12)
    phi = half.adf()
    assert sorted(type(p).__name__ for p in phi.primitives) == ["Arc", "Arc", "Segment", "Segment"]
    for side, radius in (("inner", 0.5), ("outer", 1.0)):
        b = half.sample_boundary(200, "sobol", 0, side=side)
        assert np.allclose(np.linalg.norm(b, axis=1), radius, atol=1e-14) and half.side(side)(b).all()
    for side in (None, "inner", "outer", "ends"):
        b = torch.as_tensor(half.sample_boundary(200, "halton", 1, side=side))
        assert phi(b).abs().max() < 1e-10 and half.adf([side] if side else None)(b).abs().max() < 1e-10
    x = interior(half)
    assert (phi(x) > 0).all()
    value, grad, second = phi.derivatives(x, PAIRS)
    v, g, s = function_derivatives(phi, x, PAIRS, 2)
    assert torch.allclose(grad, g, atol=1e-10, rtol=0) and torch.allclose(second, s, atol=1e-10, rtol=0)


def test_annulus_laplace_with_both_sides_built_in(annulus):
    """Laplace on the annulus mesh, different data functions on "inner" and "outer", both built in;
    scripts/annulus_laplace.py runs the full default path on 8192 triangles."""
    problem, exact = annulus_problem(annulus, lambda x: truth(x), lambda x: truth(x) + 0.0)
    assert len(problem.constraints.dirichlet) == 2 and not problem.conditions
    config = kp.TrainConfig(schedule=[kp.Adam(30, lr=1e-2), kp.LM(12, grid=5)], interior_points=400,
                            boundary_points=100, seed=0, verbose=False)
    solution = kp.solve(problem, kp.KAN([2, 6, 1], grid=5, seed=0), config)
    assert solution.errors()["rel_l2"] < 1e-4


# -- convex outer loops: one smooth polygon factor, no 1/r Hessian at the corners --------------------

from kanpde.geometry.distance import ConvexPolygon, convex_loop, merge_collinear  # noqa: E402


def ring_mesh(inner, outer, n_ring=6, n_around=64):
    """Triangles between two closed curves ``inner(t)``, ``outer(t)`` (rings of points): sides "inner", "outer"."""
    t = np.linspace(0.0, 2 * np.pi, n_around, endpoint=False)
    s = np.linspace(0.0, 1.0, n_ring + 1)[:, None, None]
    points = ((1 - s) * inner(t).T[None] + s * outer(t).T[None]).reshape(-1, 2)
    idx = np.arange(len(points)).reshape(n_ring + 1, n_around)
    nxt = np.roll(idx, -1, axis=1)
    quads = np.stack([idx[:-1], nxt[:-1], nxt[1:], idx[1:]], axis=-1).reshape(-1, 4)
    loop = lambda ring: np.stack([ring, np.roll(ring, -1)], axis=1)  # noqa: E731
    return kp.MeshDomain(points, np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]]),
                         {"inner": loop(idx[0]), "outer": loop(idx[-1])})


def circle(r):
    return lambda t: np.stack([r * np.cos(t), r * np.sin(t)])


def square(half):
    """The square of half-width ``half`` along direction t (corners at t = pi/4 + k pi/2)."""
    return lambda t: half * np.stack([np.cos(t), np.sin(t)]) / np.maximum(np.abs(np.cos(t)), np.abs(np.sin(t)))


def laplacian(phi, x):
    _, _, second = phi.derivatives(x, PAIRS)
    return (second[:, 0, 0] + second[:, 0, 2]).abs()


@pytest.mark.parametrize("vertices", [[(0, 0), (4, 0), (4, 2), (0, 2)], [(0, 0), (0, 2), (4, 2), (4, 0)],
                                      [(0, 0), (1, 0), (1.5, 0.8), (0.5, 1.4), (-0.3, 0.7)]])
def test_convex_polygon_zero_on_edges_positive_inside_jet_equals_autograd(vertices):
    """Either orientation; the product of the edges' line factors (a polynomial)."""
    v = np.array(vertices, float)
    assert convex_loop(v) and not convex_loop(v[[0, 2, 1, 3]]) if len(v) == 4 else convex_loop(v)
    phi = SmoothDistance([ConvexPolygon(v)])
    s = np.linspace(0, 1, 50)[:, None]
    edges = torch.as_tensor(np.concatenate([(1 - s) * v[i] + s * v[(i + 1) % len(v)] for i in range(len(v))]))
    assert phi(edges).abs().max() < 1e-12
    w = np.random.default_rng(0).dirichlet(np.ones(len(v)), 200)
    x = torch.as_tensor(w @ v)                                                   # convex combinations: inside
    assert (phi(x) > 0).all()
    value, grad, second = phi.derivatives(x, PAIRS)
    u, g, h = function_derivatives(phi, x, PAIRS, 2)
    assert torch.allclose(value, u, atol=1e-12, rtol=0) and torch.allclose(grad, g, atol=1e-10, rtol=0)
    assert torch.allclose(second, h, atol=1e-10, rtol=0)


def test_convex_outer_loop_is_one_polygon_with_bounded_second_derivatives():
    """A square plate with a round hole: the square is one ConvexPolygon (the R-equivalence of its four
    segments had a Laplacian of -0.5/r at each corner); zero on both sides, jet equal to autograd."""
    plate = ring_mesh(circle(0.35), square(1.0))
    phi = plate.adf()
    assert sorted(type(p).__name__ for p in phi.primitives) == ["Circle", "ConvexPolygon"]
    for side in ("inner", "outer"):
        b = torch.as_tensor(plate.sample_boundary(300, "halton", 0, side=side))
        assert phi(b).abs().max() < 1e-10 and plate.adf([side])(b).abs().max() < 1e-10
    x = interior(plate)
    assert (phi(x) > 0).all()
    value, grad, second = phi.derivatives(x, PAIRS)
    v, g, s = function_derivatives(phi, x, PAIRS, 2)
    assert torch.allclose(value, v, atol=1e-10, rtol=0) and torch.allclose(grad, g, atol=1e-10, rtol=0)
    assert torch.allclose(second, s, atol=1e-10, rtol=0)
    near = torch.tensor([[1 - r, 1 - r] for r in (1e-2, 1e-3, 1e-4)], dtype=torch.float64)
    assert laplacian(phi, near).max() < 10
    segments = SmoothDistance(merge_collinear(np.array([(-1, -1), (1, -1), (1, 1), (-1, 1)], float), True, 1e-12))
    assert laplacian(segments, near).max() > 1000                                # the four segments: ~0.5 / r
    # exact zeros (corners and sides in an evaluation grid): autograd gradients stay finite (1 / 0 gave NaN)
    corners = torch.tensor([[1.0, 1.0], [-1.0, 1.0], [1.0, 0.0], [0.35, 0.0]], dtype=torch.float64,
                           requires_grad=True)
    value = phi(corners)
    (grad,) = torch.autograd.grad(value.sum(), corners)
    assert value.abs().max() < 1e-12 and torch.isfinite(grad).all()


def test_a_polygonal_hole_keeps_its_segments():
    """The lines of a hole's edges pass through the domain: the product would vanish there."""
    holed = ring_mesh(square(0.3), circle(1.0))
    phi = holed.adf()
    assert sorted(type(p).__name__ for p in phi.primitives) == ["Circle"] + ["Segment"] * 4
    assert (phi(interior(holed)) > 0).all()


def test_auto_path_says_why_a_dirichlet_condition_stays_soft(tmp_path):
    """A 3-D mesh has no distance function: the plan records (and prints) the reason."""
    from kanpde.train.sizing import auto_plan, describe

    domain = kp.MeshDomain.from_file(hex_box_file(tmp_path))
    problem = kp.Problem(domain, lambda x, u: u.laplacian(), [kp.Dirichlet(0.0)])
    _, _, decisions = auto_plan(problem, None, kp.TrainConfig(verbose=False))
    assert decisions["built_in"] == [] and "3-D mesh" in decisions["soft_dirichlet"]["Dirichlet(on=None)"]
    assert "Dirichlet(on=None) soft: distance functions of 3-D mesh" in describe(decisions)
