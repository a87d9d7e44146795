"""The finite-element baseline (kanpde.fem): convergence orders, the L-shape singularity, results, export."""

import sys
from pathlib import Path

import meshio
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import kanpde as kp  # noqa: E402
import problems  # noqa: E402
from kanpde import fem  # noqa: E402


def smooth(x):
    return np.sin(np.pi * x[:, 0]) * np.exp(x[:, 1])


def smooth_laplacian(x):
    return (1 - np.pi ** 2) * smooth(x)


def observed_order(errors, hs) -> float:
    """Slope of log(error) against log(h), least squares."""
    return float(np.polyfit(np.log(hs), np.log(errors), 1)[0])


@pytest.mark.parametrize("order,expected", [(1, 2.0), (2, 3.0)])
@pytest.mark.parametrize("domain", [kp.Rectangle((0, 0), (1, 1)), kp.Triangle((0, 0), (1, 0), (0.3, 1))],
                         ids=["rectangle", "triangle"])
def test_smooth_convergence_order(domain, order, expected):
    hs, errors = [], []
    for h in ((0.2, 0.1, 0.05) if order == 1 else (0.4, 0.2, 0.1)):
        sol = fem.poisson(domain, smooth_laplacian, smooth, h=h, order=order)
        hs.append(sol.h)
        errors.append(sol.l2_error(smooth))
    rate = observed_order(errors, hs)
    assert abs(rate - expected) < 0.2, f"observed L2 order {rate:.3f}, expected {expected} (errors {errors})"


@pytest.mark.parametrize("order", [1, 2])
def test_lshape_order_limited_by_the_singularity(order):
    module = problems.get("poisson_lshape")
    exact = module.problem().exact
    hs, errors = [], []
    for h in ((0.2, 0.1, 0.05) if order == 1 else (0.4, 0.2, 0.1)):
        sol = module.fem_solution(h=h, order=order)
        hs.append(sol.h)
        errors.append(sol.l2_error(exact))
    rate = observed_order(errors, hs)
    assert 1.1 < rate < 1.6, f"observed L2 order {rate:.3f} on the L-shape, expected about 4/3 (errors {errors})"


def test_helmholtz_matches_manufactured_solution():
    k = 3.0
    sol = fem.helmholtz(kp.Rectangle((0, 0), (1, 1)), k, lambda x: (1 - np.pi ** 2 + k ** 2) * smooth(x), smooth,
                        h=0.05, order=2)
    assert sol.l2_error(smooth) < 1e-5
    assert sol.method == "fem-helmholtz-P2"


def test_solution_object_and_export(tmp_path):
    module = problems.get("poisson_plate_hole")
    problem = module.problem()
    sol = module.fem_solution(h=0.1, order=2)
    assert isinstance(sol, fem.FEMSolution) and sol.dofs == sol.values.size and sol.h <= 0.1
    pts = sol.points()
    assert np.allclose(sol.interpolate(pts), sol.nodal_values(), atol=1e-12)
    errors = sol.errors(problem.exact)
    assert errors["rel_l2"] < 2e-3 and set(errors) == {"rel_l2", "max_abs"}
    path = kp.export_fem(sol, tmp_path / "plate_fem.vtu", exact=problem)
    back = meshio.read(path)
    assert np.allclose(back.point_data["u"], sol.nodal_values())
    assert np.abs(back.point_data["error"]).max() == pytest.approx(np.abs(sol.nodal_values()
                                                                          - back.point_data["u_exact"]).max())


def test_meshes_of_each_domain_kind():
    for domain in [kp.Disk((0, 0), 1), kp.Rectangle((0, 0), (2, 1)) - kp.Disk((1, 0.5), 0.2),
                   kp.Ellipse((0, 0), (1, 0.5)), kp.Box((0, 0, 0), (1, 1, 1)), problems.get("laplace_mesh").domain()]:
        mesh = fem.triangulate(domain, 0.25)
        centroids = mesh.p[:, mesh.t].mean(axis=1).T
        assert domain.contains(centroids, tol=1e-6).all()
        assert fem._edge_length(mesh) <= 0.25


def test_bad_input():
    square = kp.Rectangle((0, 0), (1, 1))
    with pytest.raises(ValueError, match="order must be one of"):
        fem.poisson(square, 0.0, h=0.1, order=3)
    with pytest.raises(ValueError, match="h must be a positive number"):
        fem.poisson(square, 0.0, h=-1)
    with pytest.raises(ValueError, match="stationary"):
        fem.poisson(square * kp.TimeInterval(0, 1), 0.0)
    with pytest.raises(ValueError, match="f must return shape"):
        fem.poisson(square, lambda x: np.zeros((len(x), 2)), h=0.5)
    with pytest.raises(TypeError, match="FEMSolution"):
        kp.export_fem(object(), "x.vtu")
