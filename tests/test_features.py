"""Extra network inputs (kanpde.pde.features) and the corner singular functions of polygons (kanpde.pde.singular)."""

import math

import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde.pde.features import FeatureEmbedding
from kanpde.pde.singular import CornerFunction, corner_singularities

L_SHAPE = [(-1, -1), (0, -1), (0, 0), (1, 0), (1, 1), (-1, 1)]


def lshape(vertices=L_SHAPE):
    return kp.Polygon(vertices, sides={"corner": [1, 2]} if vertices == L_SHAPE else None)


def corner_solution(x):
    """r^(2/3) sin(2θ/3), θ in [0, 2π): the L-shape's singular solution."""
    theta = torch.atan2(x[:, 1:2], x[:, 0:1]) % (2 * math.pi)
    return x.norm(dim=1, keepdim=True) ** (2 / 3) * torch.sin(2 * theta / 3)


def cutoff(x, radius=1.0):
    t = (x.norm(dim=1, keepdim=True) / radius).clamp(max=1.0)
    return 1 - 10 * t ** 3 + 15 * t ** 4 - 6 * t ** 5


def points(domain, n=400, seed=0):
    return torch.as_tensor(domain.sample_interior(n, method="uniform", seed=seed))


@pytest.mark.parametrize("vertices", [L_SHAPE, L_SHAPE[::-1]], ids=["ccw", "cw"])
def test_lshape_has_one_corner_function_the_cut_off_singular_solution(vertices):
    domain = lshape(vertices)
    (s,) = corner_singularities(domain)
    assert isinstance(s, CornerFunction)
    assert s.exponent == pytest.approx(2 / 3) and s.angle == pytest.approx(1.5 * math.pi) and s.radius == 1.0
    x = points(domain, 2000)
    torch.testing.assert_close(s(x), cutoff(x) * corner_solution(x), atol=1e-12, rtol=0)


def test_corner_function_vanishes_on_dirichlet_edges_and_is_finite_at_the_vertex():
    domain = lshape()
    (s,) = corner_singularities(domain)
    edges = torch.as_tensor(domain.sample_boundary(500, method="uniform", seed=1, side="corner"))
    assert float(s(edges).abs().max()) <= 1e-12
    vertex = torch.zeros(1, 2, dtype=torch.float64, requires_grad=True)
    value = s(vertex)
    (grad,) = torch.autograd.grad(value.sum(), vertex)
    assert float(value.detach().abs()) <= 1e-7 and torch.isfinite(grad).all()


def test_corner_function_is_harmonic_where_the_cutoff_is_one():
    (s,) = corner_singularities(lshape())
    x = (0.05 * points(lshape(), 300, seed=2)).requires_grad_(True)   # r <= 0.071: χ = 1 - O(1e-3)
    far = CornerFunction(s.vertex, s.start, s.angle, s.exponent, s.kind, radius=1e6)  # χ = 1 to 1e-15 here
    grad = torch.autograd.grad(far(x).sum(), x, create_graph=True)[0]
    lap = sum(torch.autograd.grad(grad[:, a].sum(), x, retain_graph=True)[0][:, a] for a in range(2))
    scale = x.detach().norm(dim=1) ** (2 / 3 - 2)                           # |D²s| ~ r^(λ-2)
    assert float((lap.detach() / scale).abs().max()) <= 1e-8


def test_neumann_sides_give_cosines_and_mixed_corners_half_exponents():
    domain = lshape()
    (both,) = corner_singularities(domain, neumann=["corner"])
    assert both.kind == "cos" and both.exponent == pytest.approx(2 / 3)
    (mixed,) = corner_singularities(domain, neumann=["edge_1"])          # edge 1 ends at the corner: θ = ω
    assert mixed.kind == "sin" and mixed.exponent == pytest.approx(1 / 3)
    # the zero-flux edge: ∂s/∂n = 0 on x = 0, -1 < y < 0 (near the corner, where χ = 1 to O(r³))
    y = -torch.linspace(1e-3, 0.05, 50, dtype=torch.float64)
    x = torch.stack([torch.zeros_like(y), y], 1).requires_grad_(True)
    grad = torch.autograd.grad(mixed(x).sum(), x)[0]
    assert float((grad[:, 0] / x.detach().norm(dim=1) ** (1 / 3 - 1)).abs().max()) <= 1e-3


def test_convex_polygon_has_no_corner_functions_and_more_terms_skip_integer_exponents():
    assert corner_singularities(kp.Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])) == []
    functions = corner_singularities(lshape(), terms=3)                  # λ = 2/3, 4/3, 2 (smooth, left out)
    assert [f.exponent for f in functions] == pytest.approx([2 / 3, 4 / 3])


def test_corner_singularities_bad_input():
    with pytest.raises(TypeError, match="Polygon"):
        corner_singularities(kp.Rectangle((0, 0), (1, 1)))
    with pytest.raises(ValueError, match="terms"):
        corner_singularities(lshape(), terms=0)
    with pytest.raises(TypeError, match="terms"):
        corner_singularities(lshape(), terms=1.5)
    with pytest.raises(ValueError, match="Pick from"):
        corner_singularities(lshape(), neumann=["nope"])


def _autograd_derivatives(model, x):
    x = x.clone().requires_grad_(True)
    u = model(x)
    grad = torch.autograd.grad(u.sum(), x, create_graph=True)[0]
    second = torch.stack([torch.autograd.grad(grad[:, a].sum(), x, retain_graph=True)[0][:, b]
                          for a, b in [(0, 0), (0, 1), (1, 1)]], 1)
    return u.detach(), grad.detach(), second.detach()


def test_feature_embedding_jet_equals_autograd():
    domain = lshape()
    features = corner_singularities(domain) + [lambda x: torch.sin(x[:, 0:1] * x[:, 1:2])]
    model = FeatureEmbedding(kp.KAN([4, 5, 1], grid=5, seed=0).double(), 2, features)
    x = points(domain, 64)
    jet = model.jet(x, [(0, 0), (0, 1), (1, 1)])
    value, grad, second = _autograd_derivatives(model, x)
    torch.testing.assert_close(jet.value, value, atol=1e-10, rtol=0)
    torch.testing.assert_close(jet.grad[:, 0], grad, atol=1e-10, rtol=0)
    torch.testing.assert_close(jet.second[:, 0], second, atol=1e-10, rtol=0)
    first = model.jet(x, order=1)
    torch.testing.assert_close(first.grad[:, 0], grad, atol=1e-10, rtol=0)


@pytest.mark.parametrize("hard", [False, True])
def test_problem_features_widen_the_network_and_keep_the_jet_exact(hard):
    domain = lshape()
    problem = kp.Problem(domain, lambda x, u: u.laplacian(), [kp.Dirichlet(lambda x: x[:, 0:1] ** 2, hard=hard)],
                         features=corner_singularities(domain))
    assert problem.input_dim == 3 and bool(problem.hard) == hard
    assert problem.soft().features == problem.features and problem.soft().input_dim == 3
    net = kp.KAN([3, 5, 1], grid=5, seed=0).double()
    x = points(domain, 64)
    lap_jet = problem.field(net, x, "jet").laplacian()
    lap_auto = problem.field(net, x, "autograd").laplacian()
    torch.testing.assert_close(lap_jet.detach(), lap_auto.detach(), atol=1e-10, rtol=0)
    torch.testing.assert_close(problem.network_inputs(x)[:, 2:], problem.features[0](x))
    with pytest.raises(ValueError, match="features="):
        problem.check_model(kp.KAN([2, 5, 1]))


def test_problem_features_bad_input():
    domain = lshape()
    with pytest.raises(TypeError, match="features"):
        kp.Problem(domain, lambda x, u: u.laplacian(), features=[1.0])
    with pytest.raises(ValueError, match=r"features\[0\]"):
        kp.Problem(domain, lambda x, u: u.laplacian(), features=[lambda x: x])        # (N, 2), not (N, 1)
    with pytest.raises(ValueError, match="transform"):
        kp.Problem(domain, lambda x, u: u.laplacian(), features=corner_singularities(domain),
                   transform=lambda x, n: n)


def test_problem_with_features_trains_with_lm_and_predicts_through_them():
    """kp.solve runs the jet and the LM Jacobian (layer taps) through the features; the solution's
    predictions use them. (The accuracy it reaches is pinned by the slow L-shape test in test_shapes.py.)"""
    domain = lshape()
    problem = kp.Problem(domain, lambda x, u: u.laplacian(), [kp.Dirichlet(corner_solution, hard=False)],
                         exact=corner_solution, features=corner_singularities(domain))
    config = kp.TrainConfig(schedule=[kp.Adam(10), kp.LM(4)], interior_points=150, boundary_points=80,
                            weights={"dirichlet": 100.0}, balance=None, verbose=False, seed=0, eval_every=5)
    net = kp.KAN([3, 4, 1], grid=5, seed=0)
    solution = kp.solve(problem, net, config)
    _, errors = solution.history.column("rel_l2")
    assert len(errors) >= 2 and errors[-1] < 0.5 * errors[0], errors
    x = points(domain, 50)
    expected = net(torch.cat([x, problem.features[0](x)], 1).to(next(net.parameters()).dtype))
    torch.testing.assert_close(solution.predict(x).to(expected.dtype), expected.detach())
