"""The one loss (kanpde.train.residuals): the scalar that Adam minimises and the residual vector that LM
minimises are the same function of the same points and weights."""

from __future__ import annotations

import math

import pytest
import torch

import kanpde as kp
from kanpde.train import residuals as one_loss
from kanpde.train.best import plain_loss as best_plain_loss
from kanpde.train.trainer import Trainer

from conftest import PI
from test_lm import SMALL, _heat_problem, _system_problem


def _soft_problem():
    """Poisson with soft Dirichlet and Neumann terms (no built-in conditions)."""
    def pde(x, u):
        return u.laplacian() + 2 * PI ** 2 * torch.sin(PI * x[:, :1]) * torch.sin(PI * x[:, 1:])

    return kp.Problem(kp.Rectangle((0, 0), (1, 1)), pde,
                      [kp.Dirichlet(0.0, on=lambda x: x[:, 0] < 0.5, hard=False), kp.Neumann(0.0, on="top")])


CASES = {  # name: (problem, hidden and output widths, config options)
    "soft": (_soft_problem, [3, 1], {"weights": {"pde": 0.7}}),
    "soft+gradnorm": (_soft_problem, [3, 1], {"balance": "gradnorm"}),
    "soft+rba": (_soft_problem, [3, 1], {"balance": "rba"}),
    "system+gradnorm": (_system_problem, [3, 2], {"balance": "gradnorm", "weights": {"pde1": 0.3}}),
    "causal": (_heat_problem, [3, 1], {"causal": kp.Causal(chunks=4, eps=[2.0]), "interior_points": 40}),
}


def _trainer(case):
    make, widths, options = CASES[case]
    config = kp.TrainConfig(schedule=[kp.Adam(2), kp.LM(1)], **{**SMALL, "dtype": torch.float64, **options})
    problem = make()
    trainer = Trainer(problem, kp.KAN([problem.input_dim, *widths], grid=4, seed=0).double(), config)
    trainer.run_stage(0, config.schedule[0], config.schedule[0].make_optimizer(trainer, None))  # weights away from 1
    trainer.balancer.start_stage(trainer, config.schedule[1])  # gradnorm: fresh factors; RBA: frozen
    if trainer.causal is not None:
        trainer.causal.begin_step(freeze=True)  # one objective: the chunk weights held
    return trainer


@pytest.mark.parametrize("case", list(CASES))
def test_weighted_squared_residual_vector_is_the_scalar_loss(case):
    trainer = _trainer(case)
    for points in (trainer.points, trainer.sample(seed_offset=31)):  # the training points and others
        with torch.enable_grad():
            loss = float(one_loss.total(trainer, one_loss.loss_terms(trainer, points)).detach())
        e, c = one_loss.residual_rows(trainer, points)
        assert e.shape == c.shape and bool((c > 0).all())
        assert math.isclose(float((c * e * e).sum()), loss, rel_tol=1e-12)
        r = one_loss.residual_vector(trainer, points)
        assert math.isclose(float(r @ r), loss, rel_tol=1e-12)
    if trainer.balancer.weights and case != "soft+rba":  # the balancer really weighs the terms differently
        assert len({round(v, 9) for v in trainer.balancer.weights.values()}) > 1


@pytest.mark.parametrize("case", ["soft", "system+gradnorm"])
def test_plain_loss_is_the_loss_with_user_weights_only(case):
    trainer = _trainer(case)
    trainer.balancer.weights.clear()  # every factor 1: the scalar loss is the plain one
    with torch.enable_grad():
        loss = float(trainer.total(trainer.loss_terms()).detach())
    assert math.isclose(one_loss.plain_loss(trainer, trainer.points), loss, rel_tol=1e-12)
    assert best_plain_loss is one_loss.plain_loss  # best-model selection scores with the one loss


def test_term_weight_merges_user_and_balancer_weights_once():
    trainer = _trainer("system+gradnorm")
    assert trainer.weights == {"pde1": 0.3}
    factor = trainer.balancer.factor("pde1")
    assert factor != 1.0 and one_loss.term_weight(trainer, "pde1") == 0.3 * factor
    assert one_loss.term_weight(trainer, "pde0") == trainer.balancer.factor("pde0")
    with pytest.raises(ValueError, match=r"loss weights for unknown terms \['nope'\]"):
        trainer.weights = {"nope": 1.0}
        trainer.loss()
