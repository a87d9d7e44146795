"""Trainer: loss goes down, refinement is continuous, NaNs are survived, checkpoints round-trip."""

import math
import warnings

import numpy as np
import pytest
import torch

import kanpde as kp

from conftest import poisson_problem

SMALL = dict(interior_points=200, boundary_points=60, verbose=False, eval_every=5)


def _solve(schedule, problem=None, model=None, **kwargs):
    problem = problem or poisson_problem()
    model = model or kp.KAN([2, 5, 1], grid=3, seed=0)
    return kp.solve(problem, model, kp.TrainConfig(schedule=schedule, **{**SMALL, **kwargs}))


def test_loss_decreases_and_history_holds_every_term():
    solution = _solve([kp.Adam(30, lr=1e-2), kp.LBFGS(20)], problem=poisson_problem().soft(), balance=None)
    history = solution.history
    _, loss = history.column("loss")
    assert loss[-1] < 0.2 * loss[0]
    assert history.terms == ["pde", "dirichlet"]
    assert all({"pde", "dirichlet", "loss", "time", "stage"} <= set(r) for r in history.steps)
    steps, errors = history.column("rel_l2")
    assert len(errors) >= 5 and errors[-1] < errors[0]
    assert [s["label"] for s in history.stages] == ["Adam lr=0.01", "L-BFGS"]
    assert history.steps[-1]["step"] == 50


def test_exact_refinement_keeps_the_loss_continuous():
    solution = _solve([kp.Adam(20), kp.LBFGS(10, grid=6), kp.LBFGS(10, grid=12)], update_grid=False)
    rows = solution.history.steps
    for stage in (1, 2):
        before = [r for r in rows if r["stage"] == stage - 1][-1]
        after = [r for r in rows if r["stage"] == stage][0]
        assert solution.history.stages[stage]["grid"] == 6 * stage
        # the first record of a stage is the loss before its first step: the refined model's loss
        assert after["loss"] < 2 * before["loss"]
    assert solution.network.grid == 12


def test_nan_is_survived_and_the_last_good_model_kept():
    injected = []

    def poison(record):
        if record["step"] == 5 and not injected:
            with torch.no_grad():
                model.layers[0].coef.fill_(float("nan"))
            injected.append(True)

    model = kp.KAN([2, 4, 1], grid=3, seed=0)
    solution = _solve([kp.Adam(15)], model=model, callbacks=[poison])
    assert injected
    assert all(torch.isfinite(p).all() for p in solution.model.parameters())
    assert solution.history.steps[-1]["step"] == 15
    assert all(math.isfinite(r["loss"]) for r in solution.history.steps)


def test_diverging_stage_stops_with_a_warning_and_a_finite_model():
    def always_nan(record):
        with torch.no_grad():
            model.layers[1].coef.fill_(float("inf"))

    model = kp.KAN([2, 4, 1], grid=3, seed=0)
    with pytest.warns(RuntimeWarning, match="last good model"):
        solution = _solve([kp.Adam(10)], model=model, callbacks=[always_nan], max_retries=2)
    assert np.isfinite(solution.predict(np.zeros((3, 2)))).all()


def test_save_load_round_trip_gives_identical_predictions(tmp_path):
    solution = _solve([kp.Adam(10), kp.LBFGS(5, grid=6)])
    path = solution.save(tmp_path / "model.pt")
    loaded = kp.Solution.load(path, problem=solution.problem)
    x = np.random.default_rng(0).uniform(-1, 1, (100, 2))
    np.testing.assert_array_equal(loaded.predict(x), solution.predict(x))
    assert loaded.history.steps == solution.history.steps
    assert loaded.config["schedule"][1]["grid"] == 6
    assert not list(tmp_path.glob(".*"))  # no temp files left behind


def test_predict_keeps_the_input_kind_and_checks_points():
    solution = _solve([kp.Adam(2)])
    x = np.zeros((4, 2))
    assert isinstance(solution.predict(x), np.ndarray) and solution.predict(x).shape == (4, 1)
    assert isinstance(solution.predict(torch.zeros(4, 2)), torch.Tensor)
    with pytest.raises(ValueError, match="outside the domain"):
        solution.predict(np.full((2, 2), 3.0))
    with pytest.raises(ValueError, match=r"expected points of shape \(N, 2\), got \(4, 3\)"):
        solution.predict(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="NaN"):
        solution.predict(np.full((1, 2), np.nan))
    assert set(solution.errors()) == {"rel_l2", "max_abs", "rel_h1"}


def test_mlp_runs_the_default_schedule_shape_and_quiet_is_quiet(capsys):
    schedule = [kp.Adam(5), kp.LBFGS(3, grid=10)]
    solution = _solve(schedule, model=kp.MLP([2, 8, 1], seed=0))
    assert solution.history.steps[-1]["step"] >= 6
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_config_errors():
    with pytest.raises(ValueError, match="unknown TrainConfig.sampling 'random'. Pick one of"):
        kp.TrainConfig(sampling="random")
    with pytest.raises(ValueError, match="unknown TrainConfig.adaptive 'magic'"):
        kp.TrainConfig(adaptive="magic")
    with pytest.raises(TypeError, match="kp.Adam"):
        kp.TrainConfig(schedule=["adam"])
    with pytest.raises(ValueError, match=r"interior_points must be an int >= 1, got 0"):
        kp.TrainConfig(interior_points=0)
    with pytest.raises(ValueError, match="unknown terms"):
        _solve([kp.Adam(1)], weights={"pdf": 1.0})
    with pytest.raises(TypeError, match="kanpde.Problem"):
        kp.solve("poisson", kp.KAN([2, 3, 1]))


@pytest.mark.parametrize("adaptive", [None, "rad", "rar"])
def test_resampling_changes_the_points(adaptive):
    solution = _solve([kp.Adam(12)], resample_every=5, adaptive=adaptive)
    assert solution.history.steps[-1]["step"] == 12


def test_a_stage_with_points_extends_the_interior_set_and_later_stages_keep_it():
    from kanpde.train.trainer import Trainer

    seen = []
    config = kp.TrainConfig(schedule=[kp.Adam(3), kp.LM(2, grid=5, points=450), kp.Adam(2, lr=1e-3)],
                            callbacks=[lambda record: seen.append((record["stage"], len(box[0].points.interior)))
                                       and False], **SMALL)
    box = [Trainer(poisson_problem(), kp.KAN([2, 5, 1], grid=3, seed=0).double(), config)]
    first = box[0].points.interior.clone()
    box[0].run()
    assert {stage: n for stage, n in seen} == {0: 200, 1: 450, 2: 450}
    gaps = torch.cdist(first, box[0].points.interior, compute_mode="donot_use_mm_for_euclid_dist").min(1).values
    assert float(gaps.max()) == 0.0  # Sobol: the larger set extends the smaller one (both kept in local order)
    assert [s["label"] for s in box[0].history.stages] == ["Adam lr=0.01", "LM grid=5 points=450", "Adam lr=0.001"]
    with pytest.raises(ValueError, match="LM.points must be an int >= 1, got 0"):
        kp.LM(2, points=0)
    with pytest.raises(ValueError, match="interior_points=10000000000000"):
        _solve([kp.Adam(1, points=10**13)])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_training():
    solution = _solve([kp.Adam(10)], device="cuda")
    assert next(solution.model.parameters()).device.type == "cuda"
    assert solution.errors()["rel_l2"] < 10


@pytest.mark.slow
def test_poisson_benchmark_accuracy_with_default_config():
    """The README's claim: default config, [2, 10, 1] KAN, hard Dirichlet -> rel L2 <= 1e-4."""
    torch.set_num_threads(2)
    problem = poisson_problem(conditions=[kp.Dirichlet(0.0, hard=True)])
    solution = kp.solve(problem, kp.KAN([2, 10, 1], grid=5, seed=0), kp.TrainConfig(verbose=False))
    errors = solution.errors()
    assert errors["rel_l2"] <= 1e-4, errors
    assert errors["max_abs"] <= 3e-4, errors


def test_problem_weights_apply_and_config_overrides_them():
    soft = [kp.Dirichlet(0.0, hard=False)]
    problem = poisson_problem(weights={"pde": 0.5}, conditions=soft)
    solution = _solve([kp.Adam(1)], problem=problem, balance=None)
    row = solution.history.steps[0]
    assert row["loss"] == pytest.approx(0.5 * row["pde"] + row["dirichlet"])
    solution = _solve([kp.Adam(1)], problem=poisson_problem(weights={"pde": 0.5}, conditions=soft),
                      weights={"pde": 2.0}, balance=None)
    row = solution.history.steps[0]
    assert row["loss"] == pytest.approx(2.0 * row["pde"] + row["dirichlet"])
    # user weights multiply the automatic ones
    solution = _solve([kp.Adam(1)], problem=poisson_problem(weights={"pde": 0.5}, conditions=soft))
    row = solution.history.steps[0]
    assert row["weight:pde"] != 1.0
    assert row["loss"] == pytest.approx(0.5 * row["weight:pde"] * row["pde"] + row["weight:dirichlet"] * row["dirichlet"])


def test_hard_constraint_is_restored_on_load(tmp_path):
    problem = poisson_problem(conditions=[kp.Dirichlet(0.0, hard=True)], name="not-registered")
    solution = _solve([kp.Adam(3)], problem=problem)
    path = solution.save(tmp_path / "hard.pt")
    with pytest.raises(ValueError, match="built into u"):
        kp.Solution.load(path)
    with pytest.raises(ValueError, match="name: saved 'not-registered', given 'poisson2d'"):
        kp.Solution.load(path, problem=poisson_problem())  # a different problem is refused
    loaded = kp.Solution.load(path, problem=poisson_problem(name="not-registered"))  # the soft twin is hardened
    x = np.array([[-1.0, 0.3], [0.2, 1.0], [0.1, 0.2]])
    np.testing.assert_array_equal(loaded.predict(x), solution.predict(x))
    assert np.abs(loaded.predict(x[:2])).max() < 1e-12


def test_inverse_problem_learns_the_unknown_coefficient():
    """u'' = a on [0, 1] with data from u = x^2: the trainer recovers a = 2 (starting from 0.5)."""
    x = np.linspace(0.05, 0.95, 19)[:, None]
    problem = kp.Problem(kp.Interval(0, 1), lambda x, u, p: u.d("x", "x") - p["a"],
                         [kp.Data(x, x[:, 0] ** 2)], parameters={"a": 0.5})
    solution = _solve([kp.Adam(200, lr=0.02), kp.LBFGS(100)], problem=problem, model=kp.KAN([1, 4, 1], seed=0))
    assert solution.parameters["a"] == pytest.approx(2.0, rel=0.02)


def test_data_condition_validation():
    line = kp.Interval(0, 1)
    with pytest.raises(ValueError, match="outside"):
        kp.Problem(line, lambda x, u: u.value, [kp.Data([[2.0]], [1.0])])
    with pytest.raises(ValueError, match="same M"):
        kp.Data([[0.5], [0.6]], [1.0])
    with pytest.raises(ValueError, match="finite"):
        kp.Data([[0.5]], [np.nan])


@pytest.mark.parametrize("mode", ["grow", True])
def test_grow_only_grid_updates_keep_a_refinement_exact(mode):
    from kanpde.train.trainer import Trainer

    problem, model = poisson_problem(), kp.KAN([2, 5, 1], grid=3, seed=0).double()
    config = kp.TrainConfig(schedule=[kp.Adam(20), kp.Adam(1, grid=6)], update_grid=mode, **SMALL)
    trainer = Trainer(problem, model, config)
    trainer.prepare_stage(config.schedule[0], first=True)               # fits the input layer in both modes
    assert torch.allclose(model.layers[0].lo, torch.full_like(model.layers[0].lo, -1.1), atol=0.06)
    trainer.run_stage(0, config.schedule[0], trainer.make_optimizer(config.schedule[0], None))
    trainer.update_grid(grow_only=True)                                 # every activation inside its grid now
    x = trainer.points.interior
    before = model(x).detach()
    trainer.prepare_stage(config.schedule[1], first=False)              # refine to 6 (nested: exact), then refit
    change = float((model(x).detach() - before).abs().max())
    assert model.grid == 6
    if mode == "grow":
        assert change <= 1e-12                                           # activations stayed inside: exact
    else:
        assert change > 1e-8                                             # the least-squares refit moves it


def test_update_grid_names_its_choices():
    with pytest.raises(ValueError, match=r"update_grid 'shrink'.*Pick one of \(True, False, 'grow'\)"):
        kp.TrainConfig(update_grid="shrink")
    assert kp.TrainConfig(update_grid="grow").update_grid == "grow"


def test_grow_grid_undoes_a_widening_that_raises_the_loss():
    from kanpde.train.best import grow_grid, plain_loss
    from kanpde.train.trainer import Trainer

    model = kp.KAN([2, 5, 1], grid=3, seed=0).double()
    trainer = Trainer(poisson_problem(), model, kp.TrainConfig(schedule=[kp.Adam(5)], update_grid="grow", **SMALL))
    trainer.run()
    loss, coef = plain_loss(trainer, trainer.points), model.layers[1].coef.detach().clone()

    def harmful_refit(**kwargs):                                         # stands in for a refit gone wrong
        with torch.no_grad():
            model.layers[1].coef.add_(1.0)

    trainer.update_grid = harmful_refit
    assert grow_grid(trainer) is False
    assert torch.equal(model.layers[1].coef, coef) and plain_loss(trainer, trainer.points) == loss
    trainer.update_grid = lambda **kwargs: None                           # nothing to widen: kept
    assert grow_grid(trainer) is True
