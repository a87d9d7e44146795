"""Time marching: windows stitched continuously, one solution that predicts, errs, exports, saves and loads."""

import math

import numpy as np
import pytest
import torch

import kanpde as kp

from test_causal import heat_problem

SMALL = dict(interior_points=200, boundary_points=50, verbose=False, eval_every=50)


def wave_problem():
    def pde(x, u):
        return u.d("t", "t") - u.d("x", "x")

    exact = lambda x: torch.sin(math.pi * x[:, :1]) * torch.cos(math.pi * x[:, 1:2])  # noqa: E731
    domain = kp.Interval(0, 1) * kp.TimeInterval(0, 1)
    conditions = [kp.Dirichlet(0.0), kp.Initial(lambda x: torch.sin(math.pi * x[:, :1])), kp.Initial(0.0, derivative=1)]
    return kp.Problem(domain, pde, conditions, exact=exact, name="wave")


def _march(problem, windows=3, steps=20, **kwargs):
    config = kp.TrainConfig(schedule=[kp.Adam(steps, lr=1e-2), kp.LBFGS(10)],
                            marching=kp.TimeMarching(windows, **kwargs), **SMALL)
    return kp.solve(problem, kp.KAN([2, 5, 1], grid=5, seed=0), config)


@pytest.fixture(scope="module")
def heat_marched():
    return _march(heat_problem(), overlap=0.1)


def _across(solution, t, side, n=21):
    x = np.linspace(-1, 1, n) if solution.problem.domain.spatial.bounds[0][0] < 0 else np.linspace(0, 1, n)
    return np.column_stack([x, np.full(n, t + side)])


def test_marched_solution_is_continuous_across_window_boundaries(heat_marched):
    solution = heat_marched
    assert isinstance(solution, kp.io.MarchedSolution) and len(solution.edges) == 4
    scale = np.abs(solution.predict(_across(solution, 0.5, 0.0))).max()
    for t in solution.edges[1:-1]:
        before = solution.predict(_across(solution, t, -1e-9))
        after = solution.predict(_across(solution, t, 0.0))
        assert np.abs(after - before).max() <= 1e-6 * scale
    # the windows are different functions (not one network): the stitching is what makes it continuous
    nets = [w.net for w in solution.model.windows]
    assert not torch.equal(nets[0].layers[0].coef, nets[1].layers[0].coef)


def test_marched_solution_predicts_and_errs_over_the_whole_interval(heat_marched):
    errors = heat_marched.errors()
    assert errors["rel_l2"] < 0.05
    windows = {r["window"] for r in heat_marched.history.steps}
    assert windows == {0, 1, 2}
    assert heat_marched.history.stages[3]["label"].startswith("window 2")
    assert heat_marched.config["marching"]["windows"] == 3


def test_marched_solution_saves_and_loads_to_identical_predictions(heat_marched, tmp_path):
    path = heat_marched.save(tmp_path / "marched.pt")
    loaded = kp.Solution.load(path, problem=heat_problem())
    assert isinstance(loaded, kp.io.MarchedSolution) and loaded.edges == heat_marched.edges
    x = np.random.default_rng(0).uniform([-1, 0], [1, 1], (500, 2))
    assert np.array_equal(loaded.predict(x), heat_marched.predict(x))
    assert len(loaded.history.steps) == len(heat_marched.history.steps)
    with pytest.raises(ValueError, match="problem"):
        kp.Solution.load(path)


def test_marched_solution_exports_a_time_series(heat_marched, tmp_path):
    path = kp.export_solution(heat_marched, tmp_path / "marched.xdmf", resolution=(11, 6))
    import meshio

    with meshio.xdmf.TimeSeriesReader(str(path)) as reader:
        _, _ = reader.read_points_cells()
        assert reader.num_steps == 6
        t, data, _ = reader.read_data(5)
    assert t == pytest.approx(1.0) and set(data) >= {"u", "u_exact", "error"}


def test_second_order_windows_carry_value_and_velocity():
    solution = _march(wave_problem(), windows=2, steps=20)
    t = solution.edges[1]
    x = torch.as_tensor(_across(solution, t, 0.0)).requires_grad_(True)
    u_t = []
    for window in solution.model.windows:
        u = window(x)
        u_t.append(torch.autograd.grad(u.sum(), x)[0][:, 1])
        assert torch.allclose(u, solution.model.windows[0](x), rtol=0, atol=1e-12)
    assert torch.allclose(u_t[0], u_t[1], rtol=0, atol=1e-10)
    # window 0 meets the initial data exactly
    x0 = torch.as_tensor(_across(solution, 0.0, 0.0))
    assert torch.allclose(solution.predict(x0), torch.sin(math.pi * x0[:, :1]), atol=1e-12)


def test_bad_marching_settings_are_rejected():
    with pytest.raises(ValueError, match="windows"):
        kp.TimeMarching(0)
    with pytest.raises(ValueError, match="overlap"):
        kp.TimeMarching(2, overlap=2.0)
    steady = kp.Problem(kp.Interval(0, 1), lambda x, u: u.d("x", "x"), [kp.Dirichlet(0.0)])
    config = kp.TrainConfig(schedule=[kp.Adam(1)], marching=kp.TimeMarching(2), **SMALL)
    with pytest.raises(ValueError, match="space-time"):
        kp.solve(steady, kp.KAN([1, 3, 1], grid=3), config)
    with pytest.raises(ValueError, match="transform"):
        kp.solve(kp.Problem(heat_problem().domain, heat_problem().pde, [kp.Initial(0.0)], transform=lambda x, n: n),
                 kp.KAN([2, 3, 1], grid=3), config)


def test_hard_dirichlet_windows_meet_boundary_and_initial_data_exactly(tmp_path):
    solution = _march(heat_problem().with_hard_dirichlet(), windows=2, steps=10)
    t = np.linspace(0, 1, 7)
    sides = np.column_stack([np.repeat([-1.0, 1.0], 7), np.tile(t, 2)])
    assert np.abs(solution.predict(sides)).max() <= 1e-14
    assert not solution.problem.hard  # the windows hold the constraint: no second transform
    loaded = kp.Solution.load(solution.save(tmp_path / "hard.pt"), problem=heat_problem())
    x = np.random.default_rng(1).uniform([-1, 0], [1, 1], (200, 2))
    assert np.array_equal(loaded.predict(x), solution.predict(x))


def test_time_slice_and_causal_weight_figures(heat_marched, tmp_path):
    fig = kp.plotting.plot_time_slices(heat_marched, times=[0.0, 0.5, 1.0], path=tmp_path / "slices.png")
    left, right = fig.axes[:2]
    assert len(left.lines) == 6                                          # prediction + reference per time
    assert any(abs(line.get_ydata()[0] - 1 / 3) < 1e-12 for line in right.lines)  # window edge drawn
    assert (tmp_path / "slices.png").stat().st_size > 0
    with pytest.raises(ValueError, match="causal"):
        kp.plotting.plot_causal_weights(heat_marched)                    # trained without causal weights
    config = kp.TrainConfig(schedule=[kp.Adam(15)], causal=kp.Causal(chunks=4), **SMALL)
    solution = kp.solve(heat_problem(), kp.KAN([2, 3, 1], grid=3, seed=0), config)
    ax = kp.plotting.plot_causal_weights(solution)
    assert len(ax.lines) == len(solution.history.causal) and len(ax.lines[0].get_ydata()) == 4
    steady = kp.Problem(kp.Interval(0, 1), lambda x, u: u.d("x", "x"), [kp.Dirichlet(0.0)], exact=lambda x: 0 * x)
    with pytest.raises(ValueError, match="space x time"):
        kp.plotting.plot_time_slices(kp.Solution(steady, kp.KAN([1, 3, 1], grid=3)))


def test_windows_build_in_only_what_stays_exact_and_copy_the_rest_as_loss_terms():
    from kanpde.pde.windows import window_plan
    from kanpde.train.marching import window_problem

    heat = heat_problem()                                                # Dirichlet(0) and Initial built in
    plan = window_plan(heat)
    assert plan.dirichlet is heat.all_conditions[0] and plan.boundary is not None
    assert window_problem(heat, 0.0, 0.5, plan).all_conditions == []
    # Dirichlet data given by a function: built in by the problem, a loss term in the windows
    g = kp.Dirichlet(lambda x: 0.1 * x[:, 1:2] * (1 - x[:, :1] ** 2))
    problem = kp.Problem(heat.domain, heat.pde, [g, kp.Initial(lambda x: torch.sin(math.pi * x[:, :1]))])
    assert any(c is g for c in problem.hard)
    plan = window_plan(problem)
    sub = window_problem(problem, 0.5, 1.0, plan)
    assert plan.dirichlet is None and not sub.hard and len(sub.conditions) == 1
    assert sub.conditions[0] is not g and sub.conditions[0].hard is False and g.hard == "auto"  # a copy
    assert sub.domain.t0 == 0.5 and not any(isinstance(c, kp.Initial) for c in sub.all_conditions)


def periodic_problem():
    exact = lambda x: torch.exp(-0.1 * (2 * math.pi) ** 2 * x[:, 1:2]) * torch.sin(2 * math.pi * x[:, :1])  # noqa: E731
    domain = kp.Interval(0, 1) * kp.TimeInterval(0, 0.5)
    return kp.Problem(domain, heat_problem().pde,
                      [kp.Periodic("x"), kp.Initial(lambda x: torch.sin(2 * math.pi * x[:, :1]))], exact=exact)


def test_periodic_windows_keep_the_embedding_and_are_exactly_periodic(tmp_path):
    problem = periodic_problem()
    assert problem.input_dim > problem.domain.dim                         # the embedding widens the input
    config = kp.TrainConfig(schedule=[kp.Adam(10, lr=1e-2)], marching=kp.TimeMarching(2), **SMALL)
    solution = kp.solve(problem, kp.KAN([problem.input_dim, 3, 1], grid=3, seed=0), config)
    t = np.linspace(0.05, 0.5, 8)
    ends = [torch.as_tensor(np.column_stack([np.full(8, x), t])).requires_grad_(True) for x in (0.0, 1.0)]
    values = [solution.model(x) for x in ends]
    slopes = [torch.autograd.grad(v.sum(), x)[0][:, 0] for v, x in zip(values, ends)]
    assert torch.allclose(values[0], values[1], rtol=0, atol=1e-12)
    assert torch.allclose(slopes[0], slopes[1], rtol=0, atol=1e-10)
    loaded = kp.Solution.load(solution.save(tmp_path / "periodic.pt"), problem=periodic_problem())
    x = np.random.default_rng(2).uniform([0, 0], [1, 0.5], (100, 2))
    assert np.array_equal(loaded.predict(x), solution.predict(x))
    with pytest.raises(ValueError, match="Periodic"):                    # windows built another way
        kp.Solution.load(tmp_path / "periodic.pt", problem=periodic_problem().soft())


def test_keep_best_puts_back_the_window_model_with_the_lowest_held_out_residual():
    # an Adam stage at a reckless rate wrecks what L-BFGS found: every run keeps its best model (the trainer's
    # keeper, across all stages), so both window trainers undo it; keep_best adds the window's own keeper
    schedule = [kp.Adam(20, lr=1e-2), kp.LBFGS(20), kp.Adam(5, lr=1.0)]
    runs = {}
    for keep in (False, True):
        config = kp.TrainConfig(schedule=schedule, marching=kp.TimeMarching(2, keep_best=keep), **SMALL)
        runs[keep] = kp.solve(heat_problem(), kp.KAN([2, 5, 1], grid=5, seed=0), config)
    assert runs[True].errors()["rel_l2"] == pytest.approx(runs[False].errors()["rel_l2"], rel=1e-9)
    for keep in (False, True):
        for window in (0, 1):
            last = [s for s in runs[keep].history.stages if s["label"].startswith(f"window {window + 1}:")][-1]
            scores = [r["validation"] for r in runs[keep].history.steps if r["window"] == window and "validation" in r]
            assert last["restored"] and last["validation"] == min(scores) < scores[-1]  # the wrecked last one
            assert last["final_validation"] == (min(scores) if keep else scores[-1])  # keep: the trainer's first


def feature_problem(features=True):
    """heat_problem with a stretched coordinate s(x) = tanh(x / 0.3) as a third network input."""
    base = heat_problem()
    return kp.Problem(base.domain, base.pde, base.all_conditions, exact=base.exact, name="heat",
                      features=[lambda x: torch.tanh(x[:, 0:1] / 0.3)] if features else None)


def test_feature_windows_feed_every_network_its_features_and_save_and_load(tmp_path):
    problem = feature_problem().with_hard_dirichlet()
    assert problem.input_dim == 3
    config = kp.TrainConfig(schedule=[kp.Adam(10, lr=1e-2), kp.LM(3)], marching=kp.TimeMarching(2), **SMALL)
    solution = kp.solve(problem, kp.KAN([3, 4, 1], grid=3, seed=0), config)
    assert solution.errors()["rel_l2"] < 0.5
    window = solution.model.windows[1]
    x = torch.as_tensor(np.random.default_rng(3).uniform([-1, 0.5], [1, 1], (40, 2)))
    # N sees (x, t, s(x)): u = lift + (t - 1/2) phi(x) N(x, t, s(x)) with the window's own network
    inputs = torch.cat([x, torch.tanh(x[:, 0:1] / 0.3)], 1)
    expected = window.lift(x) + window.factor(x) * window.net(inputs)
    torch.testing.assert_close(solution.model(x), expected)
    # the window's jet (chain rule through the feature) equals autograd
    y = x.clone().requires_grad_(True)
    grad = torch.autograd.grad(window(y).sum(), y, create_graph=True)[0]            # (N, 2)
    uxx = torch.autograd.grad(grad[:, 0].sum(), y)[0][:, 0]                         # (N,)
    jet = window.jet(x, [(0, 0)], 2)
    torch.testing.assert_close(jet.grad[:, 0, :], grad.detach())
    torch.testing.assert_close(jet.second[:, 0, 0], uxx)
    loaded = kp.Solution.load(solution.save(tmp_path / "features.pt"), problem=feature_problem().with_hard_dirichlet())
    assert np.array_equal(loaded.predict(x.numpy()), solution.predict(x.numpy()))
    with pytest.raises(ValueError, match="features"):                    # windows built without the feature
        kp.Solution.load(tmp_path / "features.pt", problem=feature_problem(False).with_hard_dirichlet())


def test_a_solution_trained_with_sized_defaults_saves_and_loads(tmp_path):
    # the sized defaults are int/list subclasses (kanpde.train.sizing); a checkpoint must hold plain ints
    from kanpde.train.sizing import sized
    model = kp.KAN([2, 3, 1], grid=3, seed=0)
    config = sized(kp.TrainConfig(verbose=False), model)
    assert type(config.interior_points) is not int                      # a SizedInt
    solution = kp.Solution(heat_problem(), model, config=config.to_dict())
    loaded = kp.Solution.load(solution.save(tmp_path / "sized.pt"), problem=heat_problem())
    assert type(loaded.config["interior_points"]) is int and loaded.config["interior_points"] == config.interior_points


@pytest.mark.parametrize("keep_best", [True, False])
def test_adaptive_windows_halve_where_the_held_out_residual_misses_and_never_past_max_halvings(keep_best):
    # an unmeetable tolerance: the first window is tried at 1/2, then 1/4 (the floor) and kept; the rest start
    # at the floor and are kept at once. A tolerance met everywhere gives the fixed windows.
    strict = _march(heat_problem(), windows=2, steps=10, tolerance=1e-30, max_halvings=1, keep_best=keep_best)
    assert solution_edges(strict) == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])
    spans = [s for s in strict.history.stages if "span" in s]
    assert [s["tries"] for s in spans] == [2, 1, 1, 1]
    assert [s["span"] for s in spans] == [pytest.approx([a, a + 0.25]) for a in (0, 0.25, 0.5, 0.75)]
    assert {r["window"] for r in strict.history.steps} == {0, 1, 2, 3}  # the rejected try is not in the history
    lax = _march(heat_problem(), windows=2, steps=10, tolerance=1e30, keep_best=keep_best)
    assert solution_edges(lax) == pytest.approx([0, 0.5, 1.0])
    assert np.isfinite(lax.errors()["rel_l2"]) and np.isfinite(strict.errors()["rel_l2"])


def solution_edges(solution):
    lo = solution.problem.domain.t0
    return [e - lo for e in solution.edges]


@pytest.mark.parametrize("bad, error, message", [
    (dict(tolerance=0.0), ValueError, "tolerance must be a finite number > 0"),
    (dict(tolerance=True), TypeError, "tolerance must be a number, got bool"),
    (dict(max_halvings=-1), ValueError, "max_halvings must be an int >= 0"),
    (dict(overlap=-0.1), ValueError, "overlap must be a finite number >= 0"),
    (dict(overlap=1.5), ValueError, r"overlap must lie in \[0, 1\]"),
    (dict(windows=2.0), TypeError, "windows must be an int"),
    (dict(warm_start="yes"), TypeError, "warm_start must be True or False")])
def test_marching_options_are_checked(bad, error, message):
    with pytest.raises(error, match=message):
        kp.TimeMarching(**{"windows": 4, **bad})


def test_a_later_windows_jet_reads_the_earlier_windows_jets_and_equals_autograd(heat_marched):
    # the lift of window k is window k-1 at t_k, read through its jet (no autograd chain through all windows)
    window = heat_marched.model.windows[2]
    x = torch.as_tensor(np.random.default_rng(5).uniform([-1, 0.7], [1, 1], (30, 2)))
    y = x.clone().requires_grad_(True)
    u = window(y)
    grad = torch.autograd.grad(u.sum(), y, create_graph=True)[0]                    # (N, 2)
    pairs = [(0, 0), (0, 1), (1, 1)]
    second = [torch.autograd.grad(grad[:, a].sum(), y, retain_graph=True)[0][:, b] for a, b in pairs]
    jet = window.jet(x, pairs, 2)
    torch.testing.assert_close(jet.value[:, 0], u[:, 0].detach())
    torch.testing.assert_close(jet.grad[:, 0, :], grad.detach())
    torch.testing.assert_close(jet.second[:, 0, :], torch.stack(second, 1))
    assert not window._lift_jet(x, pairs, 2)[0].requires_grad  # the lift is data: no graph to earlier windows


def test_adaptive_windows_grow_after_a_low_residual_and_halve_a_short_last_window_from_its_own_length(monkeypatch):
    # scripted held-out residuals (tolerance 1): [0, 1] and [0, 0.5] miss, [0, 0.25] is far under (the next
    # doubles), [0.25, 0.75] passes, the short last [0.75, 1] misses and is tried on [0.75, 0.875], not again
    # on [0.75, 1] (half the current length, 0.25, would reach t1 and repeat it)
    scores = iter([2.0, 2.0, 1e-3, 0.5, 2.0, 0.5, 0.5])
    monkeypatch.setattr("kanpde.train.marching._score", lambda trainer, spec: next(scores))
    solution = _march(heat_problem(), windows=1, steps=3, tolerance=1.0, max_halvings=3, keep_best=True)
    kept = [s for s in solution.history.stages if "span" in s]
    assert [s["span"] for s in kept] == [pytest.approx(v) for v in ([0, 0.25], [0.25, 0.75], [0.75, 0.875],
                                                                      [0.875, 1.0])]
    assert [s["tries"] for s in kept] == [3, 1, 2, 1]
