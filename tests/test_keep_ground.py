"""Training that cannot lose ground: the run's best model across stages, LM convergence stops, Galerkin repeats."""

from __future__ import annotations

import math

import pytest
import torch

import kanpde as kp


def _problem():
    def pde(x, u):
        return u.laplacian() + 2 * math.pi ** 2 * torch.sin(math.pi * x[:, :1]) * torch.sin(math.pi * x[:, 1:])

    return kp.Problem(kp.Rectangle((0, 0), (1, 1)), pde, [kp.Dirichlet(0.0, hard=False)],
                      exact=lambda x: torch.sin(math.pi * x[:, :1]) * torch.sin(math.pi * x[:, 1:]))


def _solve(schedule, **extra):
    config = kp.TrainConfig(interior_points=100, boundary_points=40, seed=0, verbose=False, dtype=torch.float64,
                            schedule=schedule, **extra)
    return kp.solve(_problem(), kp.KAN([2, 3, 1], grid=3, seed=0), config)


def test_a_run_ends_on_its_best_model_across_stages():
    # a reckless last Adam stage wrecks what LM found: the run puts the LM model back (keep_best=False keeps it)
    schedule = [kp.Adam(5), kp.LM(6, grid=5), kp.Adam(5, lr=1.0)]
    kept, last = _solve(schedule), _solve(schedule, keep_best=False)
    stage = kept.history.stages[-1]
    scores = [r["validation"] for r in kept.history.steps if "validation" in r]
    assert stage["restored"] and stage["validation"] == min(scores) < stage["final_validation"]
    assert kept.errors()["rel_l2"] < 0.5 * last.errors()["rel_l2"]
    assert "kept_step" not in last.history.stages[-1]
    assert kept.history.steps[-1]["rel_l2"] == pytest.approx(kept.errors()["rel_l2"], rel=1e-9)  # the kept model's


def test_lm_stops_on_convergence_and_steps_are_a_cap():
    loose = _solve([kp.LM(40, grid=5, rtol=0.5, patience=1)])
    assert loose.history.stages[-1]["stop"] == "rtol" and len(loose.history.steps) < 40
    with pytest.raises(ValueError, match="LM.patience"):
        kp.LM(3, patience=0)


@pytest.mark.parametrize("repeat_above, iterations", [(0.0, 3), (1e30, 1)])
def test_galerkin_iterations_repeat_while_the_rows_dwarf_the_loss(repeat_above, iterations):
    spec = kp.Galerkin(points=256, modes=3, max_repeats=3, repeat_above=repeat_above)
    solution = _solve([kp.LM(3, grid=5, rtol=0), kp.LM(1, galerkin=spec, rtol=0)], keep_best=False)
    assert sum(r["stage"] == 1 for r in solution.history.steps) == iterations


def test_the_kept_state_holds_an_inverse_problems_learned_parameters():
    """Best-model selection puts the learned coefficient back with the network it was learned with (it used to
    restore the network alone: inverse_diffusion ended on D = 0.40 beside the best network, the true D 0.7)."""
    from kanpde.train.best import copy_state, restore_state

    model, learned = kp.KAN([2, 3, 1], grid=5, seed=0).double(), {"D": torch.nn.Parameter(torch.tensor(1.0))}
    state = copy_state(model, learned)
    with torch.no_grad():
        learned["D"].fill_(0.4)
        next(model.parameters()).add_(1.0)
    model.refine(10)
    restore_state(model, state, learned)
    assert learned["D"].item() == 1.0 and model.grid == 5
    assert all(torch.equal(v, state[1][k]) for k, v in model.state_dict().items())


@pytest.mark.parametrize("wreck, adopted", [(False, True), (True, False)])
def test_a_galerkin_stage_is_adopted_only_when_it_started_from_the_best_model(wreck, adopted):
    """Galerkin rows trade collocation loss for the projections, so the run takes their iterate over its score,
    but only from the best model: from a model that had already lost (here a reckless Adam stage), it is scored
    like any other stage and the run ends on the LM model."""
    spec = kp.Galerkin(points=256, modes=3, max_repeats=1)
    schedule = [kp.Adam(5), kp.LM(6, grid=5), *([kp.Adam(5, lr=1.0)] if wreck else []), kp.LM(1, galerkin=spec)]
    solution = _solve(schedule)
    last = solution.history.stages[-1]
    galerkin_steps = [r["step"] for r in solution.history.steps if r["stage"] == len(schedule) - 1]
    assert (last["kept_step"] == galerkin_steps[-1]) is adopted, (last, galerkin_steps)
    assert last["restored"] is not adopted
    if wreck:  # the kept model is an LM step's, before the wreck
        lm_steps = [r["step"] for r in solution.history.steps if r["stage"] == 1]
        assert last["kept_step"] in lm_steps
