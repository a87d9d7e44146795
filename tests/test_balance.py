"""Automatic loss balancing: gradient-norm weights equalise the terms' pulls; RBA pointwise weights."""

import pytest
import torch
from torch import nn

import kanpde as kp
from kanpde.train.distributed import DataParallel
from kanpde.train.balance import RBA, GradNorm, make_balancer

from conftest import poisson_problem


class _Toy:
    """Two quadratic terms whose gradients differ by a factor 1000."""

    def __init__(self):
        self.p = nn.Parameter(torch.tensor([1.0, 1.0], dtype=torch.float64))
        self.parallel = DataParallel()  # one process

    def trainable(self):
        return [self.p]

    def loss_terms(self):
        return {"big": 1000 * (self.p[0] - 3) ** 2, "small": (self.p[1] + 2) ** 2}


def test_gradnorm_equalises_the_gradient_norms_on_a_toy_loss():
    toy, balancer = _Toy(), GradNorm()
    balancer.start_stage(toy, kp.LBFGS(1))
    norms = balancer.gradient_norms(toy)
    assert norms == {"big": pytest.approx(4000.0), "small": pytest.approx(6.0)}
    weighted = {k: balancer.factor(k) * v for k, v in norms.items()}
    assert weighted["big"] == pytest.approx(weighted["small"]) == pytest.approx(sum(norms.values()))
    assert balancer.frozen  # L-BFGS: one objective per stage
    balancer.before_step(toy, 5)  # frozen between refreshes too
    assert balancer.factor("small") == pytest.approx(4006 / 6)
    assert balancer.record() == {"weight:big": pytest.approx(4006 / 4000), "weight:small": pytest.approx(4006 / 6)}


def test_gradnorm_moving_average_during_adam():
    toy, balancer = _Toy(), GradNorm(every=2, momentum=0.5)
    balancer.start_stage(toy, kp.Adam(10))
    with torch.no_grad():
        toy.p[1] = 0.0  # small term's gradient halves: its new lambda doubles (about)
    before = balancer.factor("small")
    balancer.before_step(toy, 1)  # not a refresh step
    assert balancer.factor("small") == before
    balancer.before_step(toy, 2)
    new = sum(balancer.gradient_norms(toy).values()) / balancer.gradient_norms(toy)["small"]
    assert balancer.factor("small") == pytest.approx(0.5 * before + 0.5 * new)


def test_rba_weights_points_by_their_residual_and_freezes_under_lbfgs():
    balancer = RBA(gamma=0.5, eta=1.0)
    balancer.start_stage(None, kp.Adam(3))
    r = torch.tensor([[1.0], [0.5], [0.0]], dtype=torch.float64)
    out = balancer.pointwise("pde", r)
    torch.testing.assert_close(balancer.point_weights["pde"], torch.tensor([[1.5], [1.0], [0.5]], dtype=torch.float64))
    torch.testing.assert_close(out, balancer.point_weights["pde"] * r)
    balancer.start_stage(None, kp.LBFGS(3))
    balancer.pointwise("pde", 2 * r)
    torch.testing.assert_close(balancer.point_weights["pde"], torch.tensor([[1.5], [1.0], [0.5]], dtype=torch.float64))
    balancer.reset_points()
    assert balancer.point_weights == {}


def test_balance_option_is_validated_and_recorded():
    with pytest.raises(ValueError, match="unknown TrainConfig.balance 'foo'. Pick one of"):
        kp.TrainConfig(balance="foo")
    with pytest.raises(ValueError, match="unknown balance"):
        make_balancer("bar")
    config = kp.TrainConfig(interior_points=64, boundary_points=32, verbose=False, balance="gradnorm",
                            schedule=[kp.Adam(12), kp.LBFGS(5)])
    solution = kp.solve(poisson_problem(conditions=[kp.Dirichlet(0.0, hard=False)]), kp.KAN([2, 4, 1], grid=3, seed=0),
                        config)
    rows = solution.history.steps
    assert solution.history.weights == ["pde", "dirichlet"] and solution.history.terms == ["pde", "dirichlet"]
    assert rows[0]["weight:dirichlet"] != rows[11]["weight:dirichlet"]  # refreshed during Adam
    lbfgs = [r for r in rows if r["stage"] == 1]
    assert len({r["weight:pde"] for r in lbfgs}) == 1  # frozen within the L-BFGS stage
    rba = kp.solve(poisson_problem(conditions=[kp.Dirichlet(0.0, hard=False)]), kp.KAN([2, 4, 1], grid=3, seed=0),
                   kp.TrainConfig(interior_points=64, boundary_points=32, verbose=False, balance="rba",
                                  schedule=[kp.Adam(5)]))
    assert rba.history.steps[-1]["weight:pde"] != 1.0


def _trainer(balance, schedule, points=1):
    from kanpde.train.trainer import Trainer

    config = kp.TrainConfig(interior_points=points, boundary_points=points, verbose=False, balance=balance,
                            schedule=schedule, dtype=torch.float64)
    return Trainer(poisson_problem(conditions=[kp.Dirichlet(0.0, hard=False)]), kp.KAN([2, 3, 1], grid=3, seed=0)
                   .double(), config)


def _row_gradient_norm(trainer, residual) -> float:
    grads = torch.autograd.grad(residual.sum(), trainer.trainable(), allow_unused=True)
    return sum(float(g.pow(2).sum()) for g in grads if g is not None)


def test_ntk_weights_are_the_inverse_mean_ntk_diagonal_of_each_term():
    from kanpde.train.balance import NTK
    from kanpde.train.residuals import evaluate

    trainer = _trainer("ntk", [kp.LM(1)])  # one point per term: the Hutchinson estimate is exact
    balancer = NTK(probes=3)
    scales = balancer.sensitivities(trainer)
    with torch.enable_grad():
        pde, conditions = evaluate(trainer, trainer.points)
        exact = {name: _row_gradient_norm(trainer, r) for name, r in pde + conditions}
    assert scales == pytest.approx(exact, rel=1e-10)
    balancer.start_stage(trainer, kp.LM(1))
    centre = (exact["pde"] * exact["dirichlet"]) ** 0.5
    assert balancer.record() == {"weight:pde": pytest.approx(centre / exact["pde"]),
                                 "weight:dirichlet": pytest.approx(centre / exact["dirichlet"])}


def test_every_lm_stage_refreshes_the_weights_and_records_them():
    schedule = [kp.Adam(3), kp.LM(2, grid=3, rtol=0), kp.LM(2, grid=6, rtol=0)]
    for balance in ("ntk", "gradnorm"):
        solution = kp.solve(poisson_problem(conditions=[kp.Dirichlet(0.0, hard=False)]),
                            kp.KAN([2, 3, 1], grid=3, seed=0),
                            kp.TrainConfig(interior_points=64, boundary_points=32, verbose=False, balance=balance,
                                           schedule=schedule, seed=0))
        weights = [[r["weight:dirichlet"] for r in solution.history.steps if r["stage"] == s] for s in (1, 2)]
        assert all(len(w) == 2 and w[0] == w[1] for w in weights)  # fixed within an LM stage
        assert weights[0][0] != weights[1][0]  # refreshed at the second stage's start
        assert weights[0][0] != solution.history.steps[2]["weight:dirichlet"]  # not Adam's any more
