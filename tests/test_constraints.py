"""Constraints by construction (hard="auto"): exact on their conditions, free elsewhere, jet exact."""

import math

import numpy as np
import pytest
import torch

import kanpde as kp

PI = math.pi


def _jet_vs_autograd(model, x, dim):
    """Max |jet - autograd| over value, gradient and every second derivative."""
    pairs = [(a, b) for a in range(dim) for b in range(a, dim)]
    jet = model.jet(x, pairs)
    z = x.clone().requires_grad_(True)
    u = model(z)
    g = torch.autograd.grad(u.sum(), z, create_graph=True)[0]
    errors = [(jet.value - u).abs().max(), (jet.grad[:, 0, :] - g).abs().max()]
    for k, (a, b) in enumerate(pairs):
        errors.append((jet.second[:, 0, k] - torch.autograd.grad(g[:, a].sum(), z, retain_graph=True)[0][:, b]).abs().max())
    return float(max(errors).detach())


def test_periodic_embedding_is_periodic_through_the_jet():
    domain = kp.Interval(-1.0, 2.0) * kp.TimeInterval(0, 1)
    problem = kp.Problem(domain, lambda x, u: u.d("t") + u.d("x"), [kp.Periodic("x", harmonics=2)])
    assert problem.built_in == ["periodic[x]"] and problem.input_dim == 2 + 3
    net = kp.KAN([problem.input_dim, 6, 1], grid=5, seed=0).double()
    model = problem.model_for_fields(net)
    t = torch.rand(40, 1, dtype=torch.float64)
    lo, hi = torch.cat([torch.full_like(t, -1.0), t], 1), torch.cat([torch.full_like(t, 2.0), t], 1)
    a, b = model.jet(lo, [(0, 0), (0, 1), (1, 1)]), model.jet(hi, [(0, 0), (0, 1), (1, 1)])
    for part in ("value", "grad", "second"):
        assert float((getattr(a, part) - getattr(b, part)).detach().abs().max()) < 1e-12, part
    assert float(a.grad.detach().abs().max()) > 1e-3 and float(a.second.detach().abs().max()) > 1e-3  # not zero
    x = torch.as_tensor(domain.sample_interior(60, seed=1))
    assert _jet_vs_autograd(model, x, 2) < 1e-10
    with pytest.raises(ValueError, match="periodic embedding"):
        problem.check_model(kp.KAN([2, 6, 1]))


def test_hard_initial_meets_u0_and_v0_exactly_and_the_jet_stays_exact():
    u0 = lambda x: torch.sin(PI * x[:, :1]) + 0.5 * torch.sin(3 * PI * x[:, :1])  # noqa: E731
    v0 = lambda x: 0.3 * torch.sin(2 * PI * x[:, :1])  # noqa: E731
    domain = kp.Interval(0, 1) * kp.TimeInterval(0.5, 2)
    problem = kp.Problem(domain, lambda x, u: u.d("t", "t") - u.d("x", "x"),
                         [kp.Dirichlet(0.0), kp.Initial(u0), kp.Initial(v0, derivative=1)])
    assert problem.built_in == ["dirichlet", "initial", "initial_d1t"] and problem.conditions == []
    net = kp.KAN([2, 6, 1], grid=5, seed=0).double()
    model = problem.model_for_fields(net)
    x0 = torch.as_tensor(domain.sample_initial(50, seed=0))
    jet = model.jet(x0, [(0, 0)])
    torch.testing.assert_close(jet.value, u0(x0), rtol=0, atol=1e-13)
    torch.testing.assert_close(jet.grad[:, :, 1], v0(x0), rtol=0, atol=1e-13)
    x = torch.as_tensor(domain.sample_interior(60, seed=1))
    assert _jet_vs_autograd(model, x, 2) < 1e-10
    # u0 that breaks the Dirichlet data at the ends: "auto" keeps the initial condition a loss term
    bad = kp.Problem(domain, lambda x, u: u.d("t") - u.d("x", "x"), [kp.Dirichlet(0.0), kp.Initial(1.0)])
    assert bad.built_in == ["dirichlet"] and bad.terms == ["initial"]
    with pytest.raises(ValueError, match="cannot be built in"):
        kp.Problem(domain, lambda x, u: u.d("t"), [kp.Dirichlet(0.0), kp.Initial(1.0, hard=True)])


def test_dirichlet_on_some_sides_is_exact_there_and_leaves_the_others_free():
    left = lambda x: torch.cos(x[:, 1:])  # noqa: E731
    right = lambda x: 2 + x[:, 1:] ** 2  # noqa: E731
    domain = kp.Rectangle((0, -1), (2, 1))
    problem = kp.Problem(domain, lambda x, u: u.laplacian(),
                         [kp.Dirichlet(left, on="left"), kp.Dirichlet(right, on="right"), kp.Neumann(0.0, on="top"),
                          kp.Dirichlet(0.0, on="bottom", hard=False)])
    assert problem.built_in == ["dirichlet[left]", "dirichlet[right]"]
    assert problem.terms == ["neumann[top]", "dirichlet[bottom]"]
    net = kp.KAN([2, 6, 1], grid=5, seed=0).double()
    model = problem.model_for_fields(net)
    for side, data in (("left", left), ("right", right)):
        x = torch.as_tensor(domain.sample_boundary(50, seed=0, side=side))
        torch.testing.assert_close(model(x), data(x), rtol=0, atol=1e-13)
    for side in ("top", "bottom"):  # free: the network moves them
        x = torch.as_tensor(domain.sample_boundary(50, seed=0, side=side))
        u = model(x).detach()
        assert float((u - net(x).detach()).abs().max()) > 0 and float(u.std()) > 1e-3
    x = torch.as_tensor(domain.sample_interior(60, seed=1))
    assert _jet_vs_autograd(model, x, 2) < 1e-10
    with pytest.raises(ValueError, match="on= predicate"):
        kp.Problem(domain, lambda x, u: u.laplacian(), [kp.Dirichlet(0.0, on=lambda x: x[:, 0] < 0.1, hard=True)])


def test_hard_false_and_transform_keep_loss_terms():
    domain = kp.Rectangle((0, 0), (1, 1))
    problem = kp.Problem(domain, lambda x, u: u.laplacian(), [kp.Dirichlet(0.0, hard=False)])
    assert problem.hard == [] and problem.terms == ["dirichlet"]
    own = kp.Problem(domain, lambda x, u: u.laplacian(), [kp.Dirichlet(0.0)], transform=lambda x, n: n)
    assert own.hard == [] and own.input_dim == 2
    assert problem.soft().terms == ["dirichlet"]


def test_a_numpy_function_value_stays_a_loss_term_since_a_built_in_value_needs_its_derivatives():
    # built in, u = g + t N would see g's x-derivatives as zero: the residual of the wrong PDE, silently
    domain = kp.Interval(-1, 1) * kp.TimeInterval(0, 1)
    numpy_sine = kp.numpy_function(lambda x: -np.sin(PI * x[:, :1]))
    heat = lambda x, u: u.d("t") - u.d("x", "x")  # noqa: E731
    problem = kp.Problem(domain, heat, [kp.Dirichlet(0.0), kp.Initial(numpy_sine)])
    assert [type(c).__name__ for c in problem.hard] == ["Dirichlet"] and problem.terms[-1] == "initial"
    torch_sine = kp.Problem(domain, heat, [kp.Dirichlet(0.0), kp.Initial(lambda x: -torch.sin(PI * x[:, :1]))])
    assert len(torch_sine.hard) == 2
    with pytest.raises(ValueError, match="numpy_function"):
        kp.Problem(domain, heat, [kp.Dirichlet(0.0), kp.Initial(numpy_sine, hard=True)])
    marching = kp.TrainConfig(schedule=[kp.Adam(1)], interior_points=16, marching=kp.TimeMarching(2), verbose=False)
    with pytest.raises(ValueError, match="time marching .* kp.numpy_function"):
        kp.solve(problem, kp.KAN([2, 2, 1], grid=3), marching)


def test_a_numpy_function_is_refused_as_a_feature_or_known_part_whose_derivatives_the_residual_takes():
    domain = kp.Interval(-1, 1)
    laplace = lambda x, u: u.d("x", "x")  # noqa: E731
    numpy_tanh = kp.numpy_function(lambda x: np.tanh(x[:, :1] / 0.1))
    with pytest.raises(ValueError, match=r"features\[0\] is a kp.numpy_function.*chain rule"):
        kp.Problem(domain, laplace, [kp.Dirichlet(0.0)], features=[numpy_tanh])
    with pytest.raises(ValueError, match="known is a kp.numpy_function.*residual takes its derivatives"):
        kp.Problem(domain, laplace, [kp.Dirichlet(0.0, hard=False)],
                   known=kp.numpy_function(lambda x: x[:, :1] ** 2 - 1))
    torch_tanh = lambda x: torch.tanh(x[:, :1] / 0.1)  # noqa: E731
    assert kp.Problem(domain, laplace, [kp.Dirichlet(0.0)], features=[torch_tanh]).input_dim == 2


def test_dirichlet_sides_that_cannot_all_be_built_in_are_all_soft_and_the_user_is_told():
    """A named side beside a predicate side: the predicate has no distance function, so neither is built in,
    and a warning says which condition and why."""
    conditions = [kp.Dirichlet(0.0, on="left"), kp.Dirichlet(1.0, on=lambda x: x[:, 0] > 0.99)]
    with pytest.warns(UserWarning, match=r"Dirichlet conditions on several sides: 1 cannot be built in "
                                         r"\(Dirichlet\(on=a predicate\): its on= predicate gives no distance "
                                         r"function \(name a side instead\)\), so none is built in"):
        problem = kp.Problem(kp.Rectangle((0, 0), (1, 1)), lambda x, u: u.laplacian(), conditions)
    assert problem.hard == []
