"""Causal training: weights monotone in time, reaching 1 as the residual falls, eps annealed, L-BFGS frozen."""

import math

import pytest
import torch

import kanpde as kp
from kanpde.train.causal import CausalWeights

SMALL = dict(interior_points=300, boundary_points=60, verbose=False, eval_every=5)


def heat_problem():
    def pde(x, u):
        return u.d("t") - 0.1 * u.d("x", "x")

    exact = lambda x: torch.exp(-0.1 * math.pi ** 2 * x[:, 1:2]) * torch.sin(math.pi * x[:, :1])  # noqa: E731
    domain = kp.Interval(-1, 1) * kp.TimeInterval(0, 1)
    return kp.Problem(domain, pde, [kp.Dirichlet(0.0), kp.Initial(lambda x: torch.sin(math.pi * x[:, :1]))],
                      exact=exact, name="heat")


def _state(chunks=4, eps=(1.0, 10.0)):
    return CausalWeights(kp.Causal(chunks=chunks, eps=list(eps)), 0.0, 1.0, time_axis=1)


def _points(n=400):
    t = torch.linspace(0, 1, n, dtype=torch.float64)
    return torch.stack([torch.zeros_like(t), t], 1)                     # (n, 2)


def test_weights_are_monotone_in_time_and_reach_one_as_the_residual_falls():
    state, x = _state(chunks=8, eps=[10.0]), _points()
    previous_min = 0.0
    for scale in (1.0, 1e-1, 1e-2, 1e-4):
        residual = scale * (1 + x[:, 1:2])                               # (n, 1), larger later in time
        state.losses([residual], x)
        w = state.weights
        assert w[0] == 1 and bool((w[1:] <= w[:-1]).all())              # non-increasing in time
        assert float(w.min()) > previous_min                             # rises as the residual falls
        previous_min = float(w.min())
    assert previous_min >= 0.99


def test_chunk_losses_average_each_chunk_and_weights_carry_no_gradient():
    state, x = _state(chunks=2), _points(4)                              # t = 0, 1/3 | 2/3, 1
    r = torch.tensor([[1.0], [3.0], [2.0], [4.0]], dtype=torch.float64, requires_grad=True)
    (loss,) = state.losses([r], x)
    chunk = torch.tensor([5.0, 10.0], dtype=torch.float64)               # means of r^2 per chunk
    w = torch.exp(-torch.tensor([0.0, 5.0], dtype=torch.float64))
    assert torch.allclose(loss, (w * chunk).mean())
    loss.backward()
    # d/dr of w_i L_i with w treated as a constant
    expected = torch.tensor([1.0, 3.0, 2.0 * w[1], 4.0 * w[1]], dtype=torch.float64) * 2 / 2 / 2
    assert torch.allclose(r.grad[:, 0], expected)


def test_eps_moves_on_only_when_every_weight_passes_the_threshold():
    state, x = _state(chunks=4, eps=[1.0, 10.0, 100.0]), _points()
    state.losses([torch.ones(len(x), 1, dtype=torch.float64)], x)     # w = exp(-k): below 0.99
    assert state.end_step()["causal_eps"] == 1.0 and state.level == 0
    state.losses([1e-4 * torch.ones(len(x), 1, dtype=torch.float64)], x)
    state.end_step()
    assert state.level == 1 and state.eps == 10.0


def test_frozen_weights_hold_within_one_lbfgs_call():
    state, x = _state(), _points()
    state.begin_step(freeze=True)
    state.losses([torch.ones(len(x), 1, dtype=torch.float64)], x)
    held = state.weights.clone()
    state.losses([1e-6 * torch.ones(len(x), 1, dtype=torch.float64)], x)
    assert torch.equal(state.weights, held)
    state.end_step()
    state.losses([1e-6 * torch.ones(len(x), 1, dtype=torch.float64)], x)
    assert not torch.equal(state.weights, held)


def test_causal_training_records_weights_and_anneals():
    config = kp.TrainConfig(schedule=[kp.Adam(60, lr=1e-2), kp.LBFGS(40)], causal=kp.Causal(chunks=8),
                            **SMALL)
    solution = kp.solve(heat_problem(), kp.KAN([2, 5, 1], grid=5, seed=0), config)
    rows = solution.history.causal
    assert rows and all(len(r["weights"]) == 8 for r in rows)
    assert all(all(a >= b for a, b in zip(r["weights"], r["weights"][1:])) for r in rows)
    eps = [r["eps"] for r in rows]
    assert eps == sorted(eps) and eps[-1] > eps[0]                      # min w reached 0.99 at least once
    _, min_w = solution.history.column("causal_min_w")
    assert len(min_w) == len(solution.history.steps)
    assert solution.errors()["rel_l2"] < 0.1
    assert solution.config["causal"]["chunks"] == 8


def test_bad_causal_settings_are_rejected():
    with pytest.raises(ValueError, match="chunks"):
        kp.Causal(chunks=0)
    with pytest.raises(ValueError, match="eps"):
        kp.Causal(eps=[1.0, -1.0])
    with pytest.raises(ValueError, match="threshold"):
        kp.Causal(threshold=1.5)
    with pytest.raises(TypeError, match="causal"):
        kp.TrainConfig(causal={"chunks": 4})
    steady = kp.Problem(kp.Interval(0, 1), lambda x, u: u.d("x", "x"), [kp.Dirichlet(0.0)])
    with pytest.raises(ValueError, match="time axis"):
        kp.solve(steady, kp.KAN([1, 3, 1], grid=3), kp.TrainConfig(schedule=[kp.Adam(1)], causal=kp.Causal(),
                                                                     **SMALL))
