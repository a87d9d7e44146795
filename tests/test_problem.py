"""Problem validation: every bad input gets an error naming what was expected and what came."""

import pytest
import torch

import kanpde as kp

from conftest import Exact, poisson_problem, sinsin


def test_problem_validation_errors():
    square = kp.Rectangle((-1, -1), (1, 1))
    with pytest.raises(TypeError, match="domain must be a kanpde Domain"):
        kp.Problem((0, 1), lambda x, u: u.value)
    with pytest.raises(TypeError, match="pde must be a function"):
        kp.Problem(square, "laplace")
    with pytest.raises(ValueError, match=r"exact must return shape \(8,\) or \(8, 1\) for 8 points, got \(8, 2, 1\)"):
        kp.Problem(square, lambda x, u: u.value, exact=lambda x: x.unsqueeze(-1))
    with pytest.raises(ValueError, match=r"exact must return shape \(8,\) or \(8, 2\) for 8 points, got \(8, 1\)"):
        kp.Problem(square, lambda x, u: u.value, exact=sinsin, outputs=("u", "v"))


def test_model_and_residual_shape_checks():
    problem = poisson_problem()
    with pytest.raises(ValueError, match=r"takes 3 inputs but the domain has 2 coordinates \('x', 'y'\)"):
        problem.check_model(kp.KAN([3, 4, 1]))
    with pytest.raises(ValueError, match="has 2 outputs but the problem has 1"):
        problem.check_model(kp.KAN([2, 4, 2]))
    bad = kp.Problem(problem.domain, lambda x, u: torch.zeros(x.shape[0], 2, 2))
    with pytest.raises(ValueError, match=r"pde residual 'pde' must have shape \(7, 1\) or \(7,\), got \(7, 2, 2\)"):
        bad.residuals(kp.KAN([2, 3, 1]).double(), torch.rand(7, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="k >= 2, got k=1"):
        problem.residuals(kp.KAN([2, 3, 1], k=1).double(), torch.rand(7, 2, dtype=torch.float64))


def test_exact_solution_has_zero_residual_and_systems_give_several_terms():
    problem = poisson_problem().soft()
    x = torch.rand(50, 2, dtype=torch.float64) * 2 - 1
    (r,) = problem.residuals(Exact(sinsin, 2), x, "autograd")
    assert r.abs().max() < 1e-10
    system = kp.Problem(problem.domain, lambda x, u: (u[0].laplacian(), u[1].value - u[0].value), outputs=("u", "v"))
    residuals = system.residuals(kp.KAN([2, 3, 2]).double(), x)
    assert len(residuals) == 2 and system.residual_names(2) == ["pde0", "pde1"]


def test_inverse_problem_parameters_reach_the_pde():
    problem = kp.Problem(kp.Interval(0, 1), lambda x, u, p: u.d("x", "x") - p["a"], parameters={"a": 2.0})
    x = torch.rand(9, 1, dtype=torch.float64)
    (r,) = problem.residuals(Exact(lambda x: x[:, 0] ** 2, 1), x, "autograd", {"a": torch.tensor(2.0)})
    assert r.abs().max() < 1e-12
