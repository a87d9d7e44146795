"""Galerkin rows of an LM stage (kanpde.train.galerkin): test functions, rows, Jacobian, the stage."""

import math

import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde.train import jacobian, residuals
from kanpde.train.galerkin import GalerkinRows, legendre_tests
from kanpde.train.trainer import Trainer

from conftest import load_script, poisson_problem
from test_lm import SMALL, _inverse_problem, _system_problem, autograd_rows
from test_lm import _trainer as lm_trainer

SPEC = kp.Galerkin(modes=3, points=200, chunk=64, weight=2.0)


def _trainer(problem, model):
    """The rows take their spec directly: the trainer's own schedule does not matter."""
    return lm_trainer(problem, model, weights={"pde": 3.0})


def _reference_rows(trainer, rows):
    """g by its definition, and dg/dtheta by one autograd.grad per row (autograd derivatives)."""
    residuals = trainer.problem.residuals(trainer.model, rows.x, "autograd", trainer.parameters)
    mix = legendre_tests(rows.x, rows.lo, rows.hi, SPEC.modes).T / SPEC.points  # (K, Q)
    weights = {**trainer.problem.weights, **trainer.config.weights}
    names = trainer.problem.residual_names(len(residuals))
    g = torch.cat([SPEC.weight * math.sqrt(weights.get(name, 1.0) / r.shape[1]) * (mix @ r).reshape(-1)
                   for name, r in zip(names, residuals)])
    return g.detach(), autograd_rows(g, trainer.trainable())


def test_legendre_tests_are_orthonormal_on_the_box():
    nodes, weights = np.polynomial.legendre.leggauss(6)  # exact for the degree <= 2 * 2 products
    lo, hi = (-1.0, 2.0), (3.0, 2.5)
    axes = [torch.as_tensor(a + (nodes + 1) * (b - a) / 2) for a, b in zip(lo, hi)]
    x = torch.stack(torch.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 2)
    w = torch.as_tensor(np.outer(weights, weights).reshape(-1) / 4)  # mean over the box
    tests = legendre_tests(x, lo, hi, 3)                                  # (36, 9)
    assert tests.shape == (36, 9)
    assert torch.allclose(tests.T @ (w[:, None] * tests), torch.eye(9, dtype=x.dtype), atol=1e-12)
    assert torch.allclose(tests[:, 0], torch.ones(36, dtype=x.dtype))  # P_0 P_0
    corner = legendre_tests(torch.tensor([[3.0, 2.5, 1.0]], dtype=torch.float64), (-1, 2, 0), (3, 2.5, 1), 2)
    degrees = torch.tensor([[0, 1, 1, 2, 1, 2, 2, 3]], dtype=torch.float64)  # first coordinate slowest
    assert corner.shape == (1, 8) and torch.allclose(corner, 3.0 ** (degrees / 2))  # P_1(1) = 1, times sqrt(3)


CASES = {
    "hard": lambda: (poisson_problem(), kp.KAN([2, 3, 1], grid=4, seed=1)),  # Dirichlet built into u
    "system": lambda: (p := _system_problem(), kp.KAN([p.input_dim, 2, 2], grid=3, seed=2)),  # periodic pairs
    "learnable": lambda: (_inverse_problem(), kp.KAN([1, 3, 1], grid=4, seed=3)),
    "mlp": lambda: (_inverse_problem(), kp.MLP([1, 6, 1], seed=0)),  # the batched (generic) path
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rows_and_their_jacobian_equal_autograds(case):
    problem, model = CASES[case]()
    trainer = _trainer(problem, model)
    rows = GalerkinRows(trainer, SPEC)
    assert rows.x.shape == (SPEC.points, problem.domain.dim)
    with torch.enable_grad():
        g, G = rows.rows(trainer)
        g_ref, G_ref = _reference_rows(trainer, rows)
        loss = rows.loss(trainer)
    assert G.shape == G_ref.shape == (len(g), sum(p.numel() for p in trainer.trainable()))
    assert len(g) == SPEC.modes ** problem.domain.dim * sum(r.shape[1] for r in problem.residuals(
        trainer.model, rows.x[:2], "autograd", trainer.parameters))
    assert torch.allclose(g, g_ref, rtol=0, atol=1e-12 * max(1.0, float(g_ref.abs().max())))
    assert (G - G_ref).abs().max() <= 1e-10 * max(1.0, float(G_ref.abs().max()))
    assert G_ref.abs().max() > 0.1 and g_ref.abs().max() > 1e-3  # real rows, not zeros on both sides
    assert loss == pytest.approx(float(g_ref @ g_ref), rel=1e-12)
    if case == "learnable":
        assert G[:, -1].abs().max() > 0  # the learnable coefficient's column


def test_mixed_layer_rows_equal_the_mixed_per_point_rows():
    """The CPU sparse product and the dense path give mix @ (per-point rows)."""
    trainer = _trainer(poisson_problem(), kp.KAN([2, 3, 1], grid=5, seed=0))
    x = trainer.points.interior[:40]
    block, columns = residuals.pde_block(trainer, x), jacobian.Columns(trainer.trainable())
    mix = torch.randn(7, 40, dtype=x.dtype)
    with torch.enable_grad():
        (r,), (J,) = jacobian.chunk_by_taps(trainer, block, slice(0, 40), 40, columns, "jet")
        (r_mixed,), (J_mixed,) = jacobian.chunk_by_taps(trainer, block, slice(0, 40), 40, columns, "jet", mix)
    assert torch.allclose(r_mixed, mix @ r, atol=1e-12)
    assert torch.allclose(J_mixed[:, 0], mix @ J[:, 0], atol=1e-12)


def test_an_lm_stage_with_galerkin_rows_lowers_its_objective_and_the_projections():
    config = kp.TrainConfig(schedule=[kp.LM(4, galerkin=SPEC)], **SMALL)
    before = Trainer(poisson_problem(), kp.KAN([2, 4, 1], grid=4, seed=0).double(), config)
    rows = GalerkinRows(before, SPEC)
    start = rows.loss(before)
    solution = kp.solve(poisson_problem(), before.model, config)
    steps = solution.history.steps
    for record in steps:  # the history's loss stays the collocation loss (here the PDE term alone)
        assert record["loss"] == pytest.approx(record["pde"], rel=1e-12) and record["galerkin"] > 0
    objective = [r["loss"] + r["galerkin"] for r in steps]               # collocation loss + |g|^2, per iteration
    assert len(steps) >= 3 and all(b < a for a, b in zip(objective, objective[1:]))
    assert all(r["galerkin"] > 0 and r["loss"] > 0 for r in steps)
    assert rows.loss(before) < 0.1 * start                                # the projections fell (same model object)
    assert solution.history.stages[0]["label"] == "LM galerkin"


def test_galerkin_rows_pull_the_low_modes_a_sparse_collocation_misses():
    """Few collocation points on a fine grid: the collocation fit alone leaves the residual's projections
    large (it fits R where the points are); with the rows they fall by orders, and so does the error."""
    # keep_best=False: on 40 points the fresh-point validation prefers an early iterate of either run; this
    # test is about what the rows do to the stage's own iterates
    config = dict(SMALL, interior_points=40, seed=3, keep_best=False)
    start = kp.solve(poisson_problem(), kp.KAN([2, 4, 1], grid=6, seed=0),
                     kp.TrainConfig(schedule=[kp.LM(8)], **config))
    spec = kp.Galerkin(modes=4, points=4096, weight=20.0)
    plain, rows = [], []
    for galerkin in (None, spec):
        model = kp.KAN([2, 4, 1], grid=6, seed=0).double()
        model.load_state_dict(start.network.state_dict())
        solution = kp.solve(poisson_problem(), model, kp.TrainConfig(schedule=[kp.LM(8, galerkin=galerkin)], **config))
        trainer = Trainer(poisson_problem(), solution.network, kp.TrainConfig(schedule=[kp.LM(1)], **config))
        (rows if galerkin else plain).append((GalerkinRows(trainer, spec).loss(trainer), solution.errors()["rel_l2"]))
    (plain_g, plain_error), (rows_g, rows_error) = plain[0], rows[0]
    assert rows_g < 1e-3 * plain_g, (plain_g, rows_g)
    assert rows_error < 0.5 * plain_error, (plain_error, rows_error)


def test_galerkin_spec_validation():
    assert kp.LM(2, galerkin=True).galerkin == kp.Galerkin()
    assert kp.LM(2, galerkin=False).galerkin is None and kp.LM(2).galerkin is None
    with pytest.raises(TypeError, match="LM.galerkin must be a kp.Galerkin"):
        kp.LM(2, galerkin=4)
    with pytest.raises(ValueError, match="Galerkin.modes must be an int >= 1"):
        kp.Galerkin(modes=0)
    with pytest.raises(TypeError, match="Galerkin.points must be an int"):
        kp.Galerkin(points=1e5)
    with pytest.raises(ValueError, match="Galerkin.weight must be a finite number > 0"):
        kp.Galerkin(weight=0.0)
    with pytest.raises(TypeError):
        kp.Galerkin(4)  # keyword-only, like the stages' options
    assert [kp.Galerkin().per_axis(d) for d in (1, 2, 3, 5)] == [8, 8, 4, 2]  # m**d <= 64 test functions
    assert kp.Galerkin(modes=3, max_tests=1).per_axis(2) == 1


def test_quadrature_script_compares_rules_against_the_reference(capsys):
    rows = load_script("galerkin_quadrature").main(["--quick", "--sobol", "1024", "--gauss", "20x2", "30x4",
                                                    "--reference", "30x4", "--threads", "1"])
    errors = {row["rule"]: row["max_error"] for row in rows}
    assert errors["Gauss 30x4"] == 0.0                                 # the reference rule itself
    assert errors["Sobol 1024"] > errors["Gauss 20x2"] > 0.0
    assert "max error" in capsys.readouterr().out
