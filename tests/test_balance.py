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
    config = kp.TrainConfig(interior_points=64, boundary_points=32, verbose=False, schedule=[kp.Adam(12), kp.LBFGS(5)])
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
