"""Residual-driven collocation (kanpde.train.sampling_rba): probabilities, seeded importance sampling,
vRBA weights, and both through the trainer."""

import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde.train.sampling_rba import VRBA, importance_sample, residual_probabilities


def test_probabilities_follow_a_power_of_the_residual_with_a_uniform_share():
    r = torch.tensor([0.0, 1.0, 2.0, 4.0], dtype=torch.float64)
    q = residual_probabilities(r, power=2.0, uniform=0.2)
    expected = 0.8 * np.array([0, 1, 4, 16]) / 21 + 0.2 / 4
    assert np.allclose(q, expected, rtol=1e-14) and abs(q.sum() - 1) < 1e-14
    columns = residual_probabilities(torch.tensor([[3.0, 4.0], [0.0, 0.0]]), power=1.0, uniform=0.0)
    assert np.allclose(columns, [1.0, 0.0])                          # rows summed in quadrature: |(3, 4)| = 5
    assert np.allclose(residual_probabilities(torch.zeros(5)), 0.2)  # no residual anywhere: uniform
    with pytest.raises(ValueError, match="power"):
        residual_probabilities(r, power=0.0)
    with pytest.raises(ValueError, match="finite"):
        residual_probabilities(torch.tensor([1.0, float("nan")]))


def test_importance_sampling_is_seeded_and_goes_where_the_residual_is():
    pool = torch.linspace(-1, 1, 40001, dtype=torch.float64).unsqueeze(1)
    residual = torch.exp(-(pool[:, 0] / 0.05) ** 2)                 # a layer at x = 0
    points, index = importance_sample(pool, residual, 400, seed=7)
    again, _ = importance_sample(pool, residual, 400, seed=7)
    other, _ = importance_sample(pool, residual, 400, seed=8)
    assert torch.equal(points, again) and not torch.equal(points, other)
    assert len(set(index.tolist())) == 400                          # without replacement
    inside = float((points.abs() < 0.1).double().mean())            # 5 % of the pool, ~90 % of the draws
    assert inside > 0.8, inside
    with pytest.raises(ValueError, match="count"):
        importance_sample(pool, residual, 0, seed=0)


def test_vrba_weights_follow_the_residual_keep_mean_one_and_freeze():
    balancer = VRBA(eta=0.5, power=2.0)
    r = torch.tensor([[1.0], [3.0]], dtype=torch.float64)
    weighted = balancer.pointwise("pde", r)
    lam = 0.5 * 1 + 0.5 * torch.tensor([[1.0], [9.0]]) / 5              # (1 - eta) 1 + eta r^2 / mean r^2
    assert torch.allclose(weighted, lam.sqrt().double() * r)
    assert abs(balancer.weights["pde"] - 1.0) < 1e-12
    balancer.frozen = True
    assert torch.allclose(balancer.pointwise("pde", 10 * r), lam.sqrt().double() * 10 * r)
    with pytest.raises(ValueError, match="eta"):
        VRBA(eta=0.0)


@pytest.mark.parametrize("options", [dict(adaptive="vrba", resample_every=40), dict(balance="vrba")])
def test_trainer_runs_vrba_sampling_and_weights(options):
    problem = kp.Problem(kp.Interval(-1, 1), lambda x, u: u.d("x", "x") + torch.pi**2 * torch.sin(torch.pi * x),
                         [kp.Dirichlet(0.0)], exact=lambda x: torch.sin(torch.pi * x))
    config = kp.TrainConfig(schedule=[kp.Adam(120), kp.LM(10, grid=8)], interior_points=200, seed=0,
                            dtype="float64", **options)
    first = kp.solve(problem, kp.KAN([1, 4, 1], grid=4, seed=0), config)
    second = kp.solve(problem, kp.KAN([1, 4, 1], grid=4, seed=0), config)
    assert first.errors()["rel_l2"] < 5e-3
    assert first.errors()["rel_l2"] == second.errors()["rel_l2"]      # seeded: the same run twice
