"""The default training size follows the model; explicit values always win."""

import dataclasses

import pytest

import kanpde as kp
from kanpde.train.sizing import COEFFICIENT_BUDGET, Sized, final_grid, sized, training_size


@pytest.mark.parametrize("widths, grid, points", [
    ([2, 10, 1], 80, 5000),   # 30 edges * 83 coefficients = 2490 within the budget
    ([3, 10, 1], 40, 3500),   # 40 * 83 = 3320 over it: grid 40, 40 * 43 = 1720 coefficients -> 3440 points
    ([5, 10, 1], 40, 5500),
    ([2, 10, 2], 80, 7000),   # more outputs never coarsen the grid: the budget counts the one-output network
    ([2, 2, 1], 80, 3000),    # never fewer than 3000 points
])
def test_training_size_rule(widths, grid, points):
    model = kp.KAN(widths, grid=5)
    interior, boundary, final = training_size(model)
    assert (final, interior) == (grid, points)
    edges = sum(a * b for a, b in zip(widths[:-1], widths[1:]))
    scalar = sum(a * b for a, b in zip([*widths[:-1], 1][:-1], [*widths[:-1], 1][1:]))
    assert scalar * (final + model.k) <= COEFFICIENT_BUDGET or final == 40
    assert interior >= 2 * edges * (final + model.k)
    assert boundary == round(400 * interior / 3000)


def test_defaults_are_marked_and_explicit_values_are_not():
    default = kp.TrainConfig()
    assert all(isinstance(v, Sized) for v in (default.interior_points, default.boundary_points, default.schedule))
    assert default.interior_points == 3000 and default.schedule == kp.default_schedule()  # reads like plain values
    given = kp.TrainConfig(interior_points=3000, boundary_points=400, schedule=kp.default_schedule())
    assert not any(isinstance(v, Sized) for v in (given.interior_points, given.boundary_points, given.schedule))


def test_sized_replaces_only_defaults_also_through_replace():
    model = kp.KAN([2, 10, 1], grid=5)
    config = sized(dataclasses.replace(kp.TrainConfig(), seed=3), model)
    assert (config.interior_points, config.boundary_points, config.seed) == (5000, 667, 3)
    assert [s.grid for s in config.schedule] == [None, 5, 10, 20, 40, 80, None]  # then the Galerkin iteration
    explicit = sized(kp.TrainConfig(interior_points=1234, schedule=[kp.Adam(2)]), model)
    assert explicit.interior_points == 1234 and explicit.schedule == [kp.Adam(2)]
    assert explicit.boundary_points == 400   # left at its default, sized to the schedule's grid (the model's 5)
    assert sized(config, model) == config                         # idempotent


def test_mlp_keeps_the_grid_free_schedule_and_scales_points_with_its_parameters():
    mlp = kp.MLP([2, 32, 32, 32, 1])
    assert final_grid(mlp) is None
    interior, _, _ = training_size(mlp)
    assert interior >= 2 * sum(p.numel() for p in mlp.parameters())


def test_solve_records_the_sized_configuration():
    problem = kp.Problem(kp.Rectangle((0, 0), (1, 1)), lambda x, u: u.laplacian() + 1.0, [kp.Dirichlet(0.0)])
    solution = kp.solve(problem, kp.KAN([2, 10, 1], grid=80, seed=0),
                        kp.TrainConfig(schedule=[kp.Adam(1)], verbose=False))
    assert solution.config["interior_points"] == 5000 and solution.config["boundary_points"] == 667


def test_default_schedule_final_grid_is_checked():
    assert [s.grid for s in kp.default_schedule(final_grid=80)][-3:] == [40, 80, None]  # then the Galerkin iteration
    with pytest.raises(ValueError, match="takes 40 or 80, got 20"):
        kp.default_schedule(final_grid=20)


def test_points_follow_the_finest_grid_of_an_explicit_schedule():
    model = kp.KAN([2, 10, 1], grid=5)
    to40 = sized(kp.TrainConfig(schedule=[kp.Adam(1), kp.LM(1, grid=20), kp.LM(1, grid=40)]), model)
    assert to40.interior_points == 3000            # 30 * 43 coefficients: 2580 points, at least 3000
    to160 = sized(kp.TrainConfig(schedule=[kp.LM(1, grid=160)]), model)
    assert to160.interior_points == 500 * -(-2 * 30 * 163 // 500)   # 9780 -> 10000
    assert sized(kp.TrainConfig(schedule=[kp.Adam(1)]), kp.KAN([2, 10, 1], grid=80)).interior_points == 5000
