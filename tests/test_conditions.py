"""Conditions: zero loss on the exact solution, positive on a perturbed one; validation."""

import math

import numpy as np
import pytest
import torch

import kanpde as kp

from conftest import Exact

PI = math.pi


def _residual(problem, condition, fn, n=64):
    points = condition.sample(problem.domain, n, "sobol", 0).to(dtype=torch.float64)
    return problem.condition_residual(condition, Exact(fn, problem.dim, len(problem.outputs)), points, "autograd")


def _manufactured_2d():
    """u = exp(x) sin(y) + x y on [0, 1]^2: data for each condition computed from u."""
    exact = lambda x: torch.exp(x[:, :1]) * torch.sin(x[:, 1:]) + x[:, :1] * x[:, 1:]  # noqa: E731
    ux = lambda x: torch.exp(x[:, :1]) * torch.sin(x[:, 1:]) + x[:, 1:]  # noqa: E731
    uy = lambda x: torch.exp(x[:, :1]) * torch.cos(x[:, 1:]) + x[:, :1]  # noqa: E731
    conditions = [
        kp.Dirichlet(exact, on="left"),
        kp.Neumann(ux, on="right"),                     # outward normal +x
        kp.Neumann(lambda x: -uy(x), on="bottom"),      # outward normal -y
        kp.Robin(2.0, 0.5, lambda x: 2 * exact(x) + 0.5 * uy(x), on="top"),
        kp.Dirichlet(exact, on=lambda x: x[:, 0] > 0.99),
    ]
    domain = kp.Rectangle((0, 0), (1, 1))
    return kp.Problem(domain, lambda x, u: u.laplacian(), conditions, exact=exact).soft(), exact


@pytest.mark.filterwarnings("ignore:Dirichlet conditions on several sides")  # intended here; test_constraints asserts it
def test_each_condition_vanishes_on_the_exact_solution_and_not_on_a_perturbed_one():
    problem, exact = _manufactured_2d()
    perturbed = lambda x: exact(x) + 0.1 * torch.cos(3 * x[:, :1] + x[:, 1:])  # noqa: E731
    for condition in problem.conditions:
        assert _residual(problem, condition, exact).abs().max() < 1e-12, problem.term(condition)
        assert _residual(problem, condition, perturbed).pow(2).mean() > 1e-4, problem.term(condition)
    assert problem.terms == [
        "dirichlet[left]", "neumann[right]", "neumann[bottom]", "robin[top]", "dirichlet"]


def test_disk_neumann_uses_outward_normals():
    exact = lambda x: x[:, :1] ** 2 + x[:, 1:] ** 2  # noqa: E731  du/dn = 2r = 2 on the unit circle
    problem = kp.Problem(kp.Disk((0, 0), 1.0), lambda x, u: u.laplacian() - 4, [kp.Neumann(2.0)], exact=exact)
    assert _residual(problem, problem.conditions[0], exact).abs().max() < 1e-12
    assert _residual(problem, problem.conditions[0], lambda x: -exact(x)).abs().min() > 3.9


def test_periodic_and_initial_conditions_on_space_time():
    domain = kp.Interval(-1, 1) * kp.TimeInterval(0, 1)
    exact = lambda x: torch.sin(PI * (x[:, :1] - x[:, 1:]))  # noqa: E731  u_t + u_x = 0, periodic
    conditions = [kp.Periodic("x"), kp.Initial(lambda x: torch.sin(PI * x[:, :1])),
                  kp.Initial(lambda x: -PI * torch.cos(PI * x[:, :1]), derivative=1)]
    problem = kp.Problem(domain, lambda x, u: u.d("t") + u.d("x"), conditions, exact=exact).soft()
    broken = lambda x: exact(x) + 0.3 * x[:, :1] * (1 + x[:, 1:])  # noqa: E731  not periodic, wrong initial data
    for condition in problem.conditions:
        assert _residual(problem, condition, exact).abs().max() < 1e-12
        assert _residual(problem, condition, broken).abs().max() > 0.1
    points = problem.conditions[1].sample(domain, 16, "sobol", 1)
    assert torch.all(points.points[:, 1] == 0)


def test_hard_dirichlet_meets_the_data_exactly():
    g = lambda x: torch.exp(x[:, :1]) * x[:, 1:]  # noqa: E731
    problem = kp.Problem(kp.Rectangle((0, 0), (2, 1)), lambda x, u: u.laplacian(), [kp.Dirichlet(g, hard=True)])
    model = kp.KAN([2, 5, 1], seed=0).double()
    x = torch.as_tensor(problem.domain.sample_boundary(100, seed=0))
    u = problem.model_for_fields(model)(x)
    torch.testing.assert_close(u, g(x), rtol=0, atol=1e-12)
    assert problem.conditions == []
    with pytest.raises(ValueError, match="on= predicate gives no distance function"):
        kp.Problem(problem.domain, lambda x, u: u.laplacian(), [kp.Dirichlet(0.0, on=lambda x: x[:, 0] < 0.1,
                                                                             hard=True)])
    with pytest.raises(ValueError, match="must be 'auto', True or False"):
        kp.Dirichlet(0.0, hard="yes")


def test_condition_validation_errors():
    square = kp.Rectangle((0, 0), (1, 1))
    pde = lambda x, u: u.laplacian()  # noqa: E731
    with pytest.raises(ValueError, match="Initial needs a domain with a time axis"):
        kp.Problem(square, pde, [kp.Initial(0.0)])
    with pytest.raises(ValueError, match="unknown side 'north'"):
        kp.Problem(square, pde, [kp.Dirichlet(0.0, on="north")])
    with pytest.raises(ValueError, match="unknown coordinate 'q'"):
        kp.Problem(square, pde, [kp.Periodic("q")])
    with pytest.raises(ValueError, match="time axis"):
        kp.Problem(square * kp.TimeInterval(0, 1), pde, [kp.Periodic("t")])
    with pytest.raises(TypeError, match="number or a function"):
        kp.Dirichlet("zero")
    with pytest.raises(ValueError, match="must be finite"):
        kp.Dirichlet(np.nan)
    with pytest.raises(TypeError, match="kanpde conditions"):
        kp.Problem(square, pde, [lambda x: x])
