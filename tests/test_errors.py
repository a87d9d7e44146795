"""Solution.errors() on every problem kind: systems (per component + overall), space-time, mesh domains;
the one error-metric home (kanpde.pde.metrics)."""

from pathlib import Path

import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde.pde.metrics import EVALUATION_POINTS, error_metrics, evaluation_points

MESH = Path(__file__).resolve().parents[1] / "problems" / "data" / "bracket.msh"


def by_hand(solution, points):
    """rel L2 and max |error| per component, computed directly in numpy."""
    u = solution.predict(points)
    exact = solution.problem.solution_values(torch.as_tensor(points)).numpy()
    return u, exact


def test_system_errors_per_component_and_overall():
    exact = lambda x: torch.cat([torch.sin(x[:, :1]) * x[:, 1:], x[:, :1] ** 2 + x[:, 1:]], 1)  # noqa: E731
    problem = kp.Problem(kp.Rectangle((0, 0), (1, 1)), lambda x, u: (u[0].laplacian(), u[1].laplacian()),
                         exact=exact, outputs=("u", "v"))
    solution = kp.Solution(problem, kp.KAN([2, 3, 2], grid=3, seed=1).double())
    errors = solution.errors()  # used to crash: "Trying to backward through the graph a second time"
    points, _ = evaluation_points(problem.domain)
    u, ex = by_hand(solution, points)
    assert errors["rel_l2"] == pytest.approx(np.linalg.norm(u - ex) / np.linalg.norm(ex), rel=1e-10)
    assert errors["max_abs"] == pytest.approx(np.abs(u - ex).max(), rel=1e-12)
    for c, name in enumerate(("u", "v")):
        one = errors[name]
        assert set(one) == {"rel_l2", "max_abs", "rel_h1"}
        assert one["rel_l2"] == pytest.approx(np.linalg.norm(u[:, c] - ex[:, c]) / np.linalg.norm(ex[:, c]), rel=1e-10)
        assert one["max_abs"] == pytest.approx(np.abs(u[:, c] - ex[:, c]).max(), rel=1e-12)
        assert one["rel_h1"] > one["rel_l2"] * 0.5 and np.isfinite(one["rel_h1"])
    assert errors["max_abs"] == max(errors["u"]["max_abs"], errors["v"]["max_abs"])


def test_system_h1_per_component_matches_finite_differences():
    """rel_h1 of one component: gradients of that component alone (checked against central differences)."""
    exact = lambda x: torch.cat([x[:, :1] * x[:, 1:], 2 * x[:, :1] + x[:, 1:] ** 2], 1)  # noqa: E731
    problem = kp.Problem(kp.Rectangle((0, 0), (1, 1)), lambda x, u: (u[0].laplacian(), u[1].laplacian()),
                         exact=exact, outputs=("u", "v"))
    solution = kp.Solution(problem, kp.KAN([2, 3, 2], grid=3, seed=2).double())
    points = np.random.default_rng(0).uniform(0.1, 0.9, (200, 2))
    errors = solution.errors(points)
    h = 1e-6
    for c, name in enumerate(("u", "v")):
        grad_u = np.stack([(solution.predict(points + h * e) - solution.predict(points - h * e))[:, c] / (2 * h)
                           for e in np.eye(2)], 1)
        grad_e = np.stack([(exact(torch.as_tensor(points + h * e)) - exact(torch.as_tensor(points - h * e)))
                           .numpy()[:, c] / (2 * h) for e in np.eye(2)], 1)
        u, ex = by_hand(solution, points)
        num = np.sum((u[:, c] - ex[:, c]) ** 2) + np.sum((grad_u - grad_e) ** 2)
        den = np.sum(ex[:, c] ** 2) + np.sum(grad_e ** 2)
        assert errors[name]["rel_h1"] == pytest.approx(np.sqrt(num / den), rel=1e-6)


def test_scalar_errors_keep_the_flat_shape():
    problem = kp.Problem(kp.Rectangle((0, 0), (1, 1)), lambda x, u: u.laplacian(),
                         exact=lambda x: x[:, :1] * x[:, 1:])
    errors = kp.Solution(problem, kp.KAN([2, 3, 1], grid=3, seed=0).double()).errors()
    assert set(errors) == {"rel_l2", "max_abs", "rel_h1"}


def test_space_time_errors():
    domain = kp.Interval(0, 1) * kp.TimeInterval(0, 0.5)
    problem = kp.Problem(domain, lambda x, u: u.d("t") - u.d("x", "x"),
                         exact=lambda x: torch.exp(-x[:, 1:]) * torch.sin(x[:, :1]))
    solution = kp.Solution(problem, kp.KAN([2, 3, 1], grid=3, seed=0).double())
    errors = solution.errors()
    points, _ = evaluation_points(domain)
    u, ex = by_hand(solution, points)
    assert errors["rel_l2"] == pytest.approx(np.linalg.norm(u - ex) / np.linalg.norm(ex), rel=1e-10)
    assert np.isfinite(errors["rel_h1"])


def test_mesh_domain_errors():
    domain = kp.MeshDomain.from_file(MESH)
    problem = kp.Problem(domain, lambda x, u: u.laplacian(), exact=lambda x: x[:, :1] + 2 * x[:, 1:])
    solution = kp.Solution(problem, kp.KAN([2, 3, 1], grid=3, seed=0).double())
    errors = solution.errors()
    points, _ = evaluation_points(domain)
    assert domain.contains(points, tol=1e-6).all()
    u, ex = by_hand(solution, points)
    assert errors["rel_l2"] == pytest.approx(np.linalg.norm(u - ex) / np.linalg.norm(ex), rel=1e-10)
    assert errors["max_abs"] == pytest.approx(np.abs(u - ex).max(), rel=1e-12)


def test_error_metrics_numpy_and_torch_agree():
    rng = np.random.default_rng(1)
    u, exact = rng.normal(size=(50, 2)), rng.normal(size=(50, 2))
    numpy = error_metrics(u, exact)
    assert numpy["rel_l2"] == pytest.approx(np.linalg.norm(u - exact) / np.linalg.norm(exact), rel=1e-13)
    assert numpy["max_abs"] == pytest.approx(np.abs(u - exact).max(), rel=1e-15)
    assert error_metrics(torch.as_tensor(u), torch.as_tensor(exact)) == pytest.approx(numpy, rel=1e-13)
    with pytest.raises(ValueError, match="one shape"):
        error_metrics(u, exact[:, :1])


def test_one_evaluation_set_size():
    points, shape = evaluation_points(kp.Rectangle((0, 0), (1, 1)))
    assert len(points) >= EVALUATION_POINTS and shape == (200, 200)
