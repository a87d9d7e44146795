"""SSBroyden (kanpde.train.ssbroyden): the optimiser on test functions and as a training stage."""

import pytest
import torch

import kanpde as kp
from kanpde.train.ssbroyden import SelfScaledBroyden


def minimise(loss_of, x: torch.Tensor, iterations: int) -> SelfScaledBroyden:
    optimizer = SelfScaledBroyden([x], max_iter=iterations, max_eval=10 * iterations)

    def closure():
        optimizer.zero_grad()
        loss = loss_of(x)
        loss.backward()
        return loss

    optimizer.step(closure)
    return optimizer


def rosenbrock(x):
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


@pytest.mark.parametrize("n", [2, 10])
def test_minimises_rosenbrock_to_round_off(n):
    x = torch.full((n,), -1.2, dtype=torch.float64)
    x[1::2] = 1.0
    x.requires_grad_(True)
    optimizer = minimise(rosenbrock, x, 400)
    assert float((x.detach() - 1).abs().max()) < 1e-10
    assert optimizer.state[x]["n_iter"] < 400


def test_solves_an_ill_conditioned_least_squares_problem():
    """0.5 |M x - c|^2 with cond(M^T M) = 1e4 and a zero minimum, as a PINN loss has (a loss with a large
    minimum stops where its round-off hides the decrease)."""
    generator = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(40, 40, generator=generator, dtype=torch.float64))
    m = q @ torch.diag(torch.logspace(0, 2, 40, dtype=torch.float64)) @ q.T
    solution = torch.randn(40, generator=generator, dtype=torch.float64)
    c = m @ solution
    x = torch.zeros(40, dtype=torch.float64, requires_grad=True)
    minimise(lambda x: 0.5 * ((m @ x - c) ** 2).sum(), x, 300)
    assert float((x.detach() - solution).norm() / solution.norm()) < 1e-8


def test_rejects_bad_settings():
    x = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="lr"):
        SelfScaledBroyden([x], lr=0.0)
    with pytest.raises(ValueError, match="SSBroyden.steps"):
        kp.SSBroyden(-1)
    with pytest.raises(TypeError, match="SSBroyden.grid"):
        kp.SSBroyden(10, grid=2.5)


def test_stage_lowers_a_small_pinn_loss_below_lbfgs():
    """-u'' = pi^2 sin(pi x) on [-1, 1]: after the same Adam warm-up, 60 SSBroyden iterations reach a lower loss
    than 60 L-BFGS ones."""
    problem = kp.Problem(kp.Interval(-1, 1), lambda x, u: u.d("x", "x") + torch.pi**2 * torch.sin(torch.pi * x),
                         [kp.Dirichlet(0.0)], exact=lambda x: torch.sin(torch.pi * x))
    losses, errors = {}, {}
    for stage in (kp.SSBroyden(60, grid=8), kp.LBFGS(60, grid=8)):
        config = kp.TrainConfig(schedule=[kp.Adam(50), stage], interior_points=200, seed=0, dtype="float64")
        solution = kp.solve(problem, kp.KAN([1, 4, 1], grid=4, seed=0), config)
        losses[stage.label()] = solution.history.steps[-1]["loss"]
        errors[stage.label()] = solution.errors()["rel_l2"]
    after_adam = kp.solve(problem, kp.KAN([1, 4, 1], grid=4, seed=0),
                          kp.TrainConfig(schedule=[kp.Adam(50)], interior_points=200, seed=0, dtype="float64"))
    assert losses["SSBroyden grid=8"] < 1e-3 * after_adam.history.steps[-1]["loss"]
    assert losses["SSBroyden grid=8"] < losses["L-BFGS grid=8"], (losses, errors)
    assert errors["SSBroyden grid=8"] < 1e-3, errors
