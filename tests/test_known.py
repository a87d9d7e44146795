"""Problem(known=K): u = K + w, the network (with what is built in) represents w (kanpde.pde.known)."""

import math

import pytest
import torch

import kanpde as kp

PI = math.pi


def kinked(x):
    """t x²: periodic in value on [-1, 1] but kinked at the seam x = ±1, zero at t = 0."""
    return x[:, 1:2] * x[:, 0:1] ** 2


def smooth(x):
    return torch.sin(PI * x[:, 0:1]) * torch.exp(-x[:, 1:2])


def periodic_problem(known=kinked) -> kp.Problem:
    """u_t - 0.1 u_xx = S with u = sin(pi x) e^{-t} + t x², periodic in x: the periodic embedding holds the
    first part exactly, only ``known`` the second."""
    def pde(x, u):
        xx, t = x[:, 0:1], x[:, 1:2]
        source = (-1 + 0.1 * PI**2) * torch.sin(PI * xx) * torch.exp(-t) + xx**2 - 0.2 * t
        return u.d("t") - 0.1 * u.d("x", "x") - source

    domain = kp.Interval(-1, 1) * kp.TimeInterval(0, 0.5)
    return kp.Problem(domain, pde, [kp.Periodic("x"), kp.Initial(lambda x: torch.sin(PI * x[:, 0:1]))],
                      exact=lambda x: smooth(x) + kinked(x), known=known)


def test_the_jet_of_u_adds_the_known_part_and_matches_autograd():
    problem = periodic_problem()
    net = kp.KAN([problem.input_dim, 4, 1], grid=5, seed=0).double()
    x = torch.rand(40, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    x[:, 1] = (x[:, 1] + 1) / 4
    jet, autograd = (problem.field(net, x, backend=b) for b in ("jet", "autograd"))
    for a, b in ((jet.value, autograd.value), (jet.d("x", "x"), autograd.d("x", "x")), (jet.d("t"), autograd.d("t"))):
        assert torch.allclose(a, b, atol=1e-11)
    without = periodic_problem(known=None).field(net, x).value
    assert torch.allclose(jet.value - without, kinked(x), atol=1e-14)
    assert problem.soft().known is kinked and problem.soft(known=False).known is None


def test_marched_windows_with_a_known_kink_reach_the_solution_and_reload(tmp_path):
    """Two LM windows: the kink t x² is the known part, the network's periodic embedding does the rest
    (measured 2.1e-5; without the known part the periodic network misses the kink: 4.0e-2)."""
    config = kp.TrainConfig(schedule=[kp.LM(20, grid=8)], interior_points=400, seed=0, dtype="float64",
                            verbose=False, marching=kp.TimeMarching(2, warm_start=False))
    solutions = [kp.solve(p, kp.KAN([p.input_dim, 4, 1], grid=8, seed=0), config)
                 for p in (periodic_problem(), periodic_problem(known=None))]
    solution, without = solutions
    assert solution.errors()["rel_l2"] < 1e-4 < 1e-2 < without.errors()["rel_l2"], (solution.errors(), without.errors())
    problem = periodic_problem()
    solution.save(tmp_path / "known.pt")
    loaded = kp.Solution.load(tmp_path / "known.pt", problem=problem)
    x = torch.rand(64, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    x[:, 0] = 2 * x[:, 0] - 1
    x[:, 1] = x[:, 1] / 2
    assert torch.allclose(loaded.predict(x), solution.predict(x), atol=1e-12)


def test_known_must_vanish_where_data_are_built_in():
    with pytest.raises(ValueError, match="known must vanish at the initial time"):
        periodic_problem(known=lambda x: 1 + x[:, 0:1] ** 2)
    with pytest.raises(TypeError, match="known"):
        periodic_problem(known=3.0)
    square = kp.Rectangle((0, 0), (1, 1))
    with pytest.raises(ValueError, match="built-in Dirichlet boundary"):
        kp.Problem(square, lambda x, u: u.laplacian(), [kp.Dirichlet(0.0)], known=lambda x: x[:, 0:1])
    soft = kp.Problem(square, lambda x, u: u.laplacian(), [kp.Dirichlet(0.0, hard=False)], known=lambda x: x[:, 0:1])
    assert soft.known is not None  # a loss term sees u = known + w: nothing to keep


def test_formula_refuses_a_known_part_it_cannot_write():
    from kanpde.symbolic import network_formula
    from test_symbolic import _snapped_kan

    problem = kp.Problem(kp.Rectangle((-1, -1), (1, 1)), lambda x, u: u.laplacian(), [kp.Dirichlet(0.0, hard=False)],
                         known=lambda x: x[:, :1] * x[:, 1:])
    with pytest.raises(ValueError, match="known= part"):
        network_formula(kp.Solution(problem, _snapped_kan([2, 1])))
