"""Pruning, symbolic snapping, formulas and the sparsity regulariser (kanpde.symbolic)."""

import math

import numpy as np
import pytest
import sympy as sp
import torch

import kanpde as kp
from kanpde.nn.sparsity import edge_magnitudes, sparsity_penalty
from kanpde.symbolic import (EdgeFit, SymbolicKAN, best_fit, fit_candidate, network_formula, network_formula_report,
                             snap_constants, LIBRARY)

PI = math.pi


def _poisson2d():
    def exact(x):
        return torch.sin(PI * x[:, :1]) * torch.sin(PI * x[:, 1:])

    def pde(x, u):
        return u.laplacian() + 2 * PI ** 2 * exact(x)

    # soft Dirichlet: the hand-snapped networks below are u itself (nothing built around them)
    return kp.Problem(kp.Rectangle((-1, -1), (1, 1)), pde, [kp.Dirichlet(0.0, hard=False)], exact=exact, name="p2")


def _sine_product_kan(perturb: float = 0.0) -> SymbolicKAN:
    """The [2, 2, 1] KAN of sin(pi x) sin(pi y) = (cos(pi x - pi y) - cos(pi x + pi y)) / 2, snapped by hand."""
    model = SymbolicKAN(kp.KAN([2, 2, 1], seed=0).double())
    s = 1 + perturb
    for i, o, c in [(0, 0, PI), (1, 0, -PI), (0, 1, PI), (1, 1, PI)]:
        model.set_function(0, i, o, EdgeFit("x", 1.0, 0.0, c * s, perturb, 1.0, 0.0))
    for i, c in [(0, 0.5), (1, -0.5)]:
        model.set_function(1, i, 0, EdgeFit("cos", s, perturb, c * s, 0.0, 1.0, 0.0))
    return model


def test_prune_removes_dead_edge_and_node_and_keeps_output():
    torch.manual_seed(0)
    model = kp.KAN([2, 3, 1], seed=1).double()
    with torch.no_grad():
        for layer in model.layers:
            layer.bias.normal_()
        dead = model.layers[0]                # edge x1 -> h0 becomes constant (dead)
        dead.coef[1, 0] = 0.0
        dead.scale_base[1, 0] = 0.0
        model.layers[1].coef[2, 0] = 0.0      # node h2 feeds nothing: it must go
        model.layers[1].scale_base[2, 0] = 0.0
    x = torch.rand(500, 2, dtype=torch.float64) * 2 - 1
    pruned = kp.prune(model, threshold=1e-3, x=x)
    assert pruned.widths == [2, 2, 1]
    with torch.no_grad():
        magnitudes = edge_magnitudes(pruned, x)
    assert float(magnitudes[0][1, 0]) == 0.0 and float(magnitudes[0][0, 0]) > 0.0
    assert torch.allclose(pruned(x), model(x), atol=1e-12, rtol=0)


def test_prune_folds_a_small_edge_into_the_bias():
    model = kp.KAN([2, 1], seed=2).double()
    x = torch.rand(400, 2, dtype=torch.float64) * 2 - 1
    with torch.no_grad():
        model.layers[0].coef[1, 0] *= 1e-4
        model.layers[0].scale_base[1, 0] *= 1e-4
    phi = model.layers[0].edge_values(x)[0][:, 1, 0]
    pruned = kp.prune(model, threshold=1e-2, x=x)
    lost = (phi - phi.mean()).abs().max()
    assert 0 < float((pruned(x) - model(x)).abs().max().detach()) <= float(lost.detach()) + 1e-15
    with pytest.raises(ValueError, match="threshold"):
        kp.prune(model, threshold=1.5, x=x)
    with pytest.raises(ValueError, match="needs sample inputs"):
        kp.prune(model, threshold=0.1)
    with pytest.raises(TypeError, match="KAN"):
        kp.prune(kp.MLP([2, 4, 1]), x=x)


def test_snapping_recovers_a_known_edge():
    x = np.linspace(-1, 1, 201)
    best, fits = best_fit(x, 2 * np.sin(3 * x + 1) - 0.5)
    assert best.name in ("sin", "cos") and best.r2 > 1 - 1e-14
    a, b, c, d = best.params
    assert np.max(np.abs(c * LIBRARY[best.name].torch_fn(torch.as_tensor(a * x + b)).numpy() + d
                         - (2 * np.sin(3 * x + 1) - 0.5))) < 1e-8
    sin = fit_candidate(LIBRARY["sin"], x, 2 * np.sin(3 * x + 1) - 0.5)
    turns = round((sin.b - 1) / PI)           # a > 0 and b within a period: sin(3x + 1) = -sin(3x + 1 - pi)
    assert np.allclose([sin.a, sin.b - turns * PI, sin.c, sin.d], [3, 1, 2 * (-1) ** turns, -0.5], atol=1e-8, rtol=0)
    fast = fit_candidate(LIBRARY["cos"], x, np.cos(12.95 * x + 0.1))  # a ridge's frequency beyond 10 (helmholtz2d)
    assert fast.r2 > 1 - 1e-12 and abs(fast.a - 12.95) < 1e-8
    assert best_fit(x, 3.1 * x + 0.2)[0].name == "x"
    with pytest.raises(ValueError, match="unknown library function"):
        best_fit(x, x, library=["sin", "sine"])


def test_snap_constants_to_rational_multiples_of_pi():
    x = sp.Symbol("x")
    expr = 0.50000001 * sp.cos(3.14159265 * x + 2e-9) + 6.2831853 * x ** 2 - 0.3333333
    assert snap_constants(expr) == sp.cos(sp.pi * x) / 2 + 2 * sp.pi * x ** 2 - sp.Rational(1, 3)
    assert str(snap_constants(0.123456789 * x, digits=3)) == "0.123*x"


def test_formula_of_a_snapped_model_is_the_exact_solution():
    solution = kp.Solution(_poisson2d(), _sine_product_kan(perturb=1e-9))
    expr = solution.formula(verbose=False)  # the thin alias of kp.symbolic.formula(solution).expr
    x, y = sp.symbols("x y", real=True)
    assert sp.simplify(sp.expand_trig(expr - sp.sin(sp.pi * x) * sp.sin(sp.pi * y))) == 0
    found = solution.formula_report(verbose=False)
    assert found.compact and found.rel_l2 < 1e-7 and found.rel_l2_exact < 1e-7
    assert found.residual < 1e-6
    assert "\\sin" in found.latex() or "\\cos" in found.latex()
    report = network_formula_report(solution)  # the network's own expression: exact up to the perturbation
    assert report.compact and report.rel_l2 < 1e-7


def test_formula_evaluates_like_predict_on_a_snapped_model():
    model = _sine_product_kan()
    with torch.no_grad():
        model.affine[0][0, 0, 3] = 0.3        # an offset of 0.3 in pi x - pi y + 0.3: not snapped away
    solution = kp.Solution(_poisson2d(), model)
    expr = network_formula(solution, simplify=False)
    assert expr.free_symbols == set(sp.symbols("x y", real=True))
    f = sp.lambdify(sp.symbols("x y", real=True), expr, "numpy")
    points = np.random.default_rng(0).uniform(-1, 1, (300, 2))
    assert np.allclose(f(points[:, 0], points[:, 1]), solution.predict(points)[:, 0], atol=1e-13, rtol=0)


def _snapped_kan(widths, seed=0) -> SymbolicKAN:
    """A KAN with every edge set to a library function with arbitrary (unsnappable) constants."""
    model = SymbolicKAN(kp.KAN(widths, seed=seed).double())
    rng = np.random.default_rng(seed)
    for l, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        for i in range(n_in):
            for o in range(n_out):
                a, b, c, d = rng.uniform(0.3, 1.1, 4)
                model.set_function(l, i, o, EdgeFit(["sin", "x^2", "exp"][(i + o + l) % 3], a, b, c, d, 1.0, 0.0))
    return model


def _built_in_problems():
    poisson = lambda x, u: u.laplacian()  # noqa: E731 - the formula check needs no particular equation
    heat = lambda x, u: u.d("t") - u.d("x", "x")  # noqa: E731
    return {
        # periodic x (cos/sin embedding) + two different constants on the opposite faces y = -1, 1
        "periodic+blend": kp.Problem(kp.Rectangle((-1, -1), (1, 2)), poisson,
                                     [kp.Periodic("x"), kp.Dirichlet(0.5, on="bottom"), kp.Dirichlet(-2.0, on="top")]),
        "disk": kp.Problem(kp.Disk((0.5, -0.25), 1.5), poisson, [kp.Dirichlet(0.75)]),
        "initial+dirichlet": kp.Problem(kp.Interval(0, 2) * kp.TimeInterval(0, 1), heat,
                                        [kp.Dirichlet(0.25), kp.Initial(0.25)]),
        "second-order-in-time": kp.Problem(kp.Interval(0, 1) * kp.TimeInterval(0.5, 1.5), heat,
                                           [kp.Initial(0.3), kp.Initial(-1.25, derivative=1)]),
    }


@pytest.mark.parametrize("case", sorted(_built_in_problems()))
def test_formula_composes_the_built_in_conditions(case):
    """The formula is u = A + phi psi N(E(x)), not N: it evaluates like predict and meets the conditions."""
    problem = _built_in_problems()[case]
    assert problem.hard and not problem.conditions  # every condition built in
    solution = kp.Solution(problem, _snapped_kan([problem.input_dim, 2, 1]))
    expr = network_formula(solution, simplify=False)
    symbols = sp.symbols(list(problem.domain.names), real=True)
    points = problem.domain.sample_interior(200, method="sobol", seed=1)
    f = sp.lambdify(symbols, expr, "numpy")
    with torch.no_grad():  # solution.model is u (Solution.predict checks points against the network's width)
        u = solution.model(torch.as_tensor(points))[:, 0].numpy()
    assert np.allclose(f(*points.T), u, atol=1e-11, rtol=1e-11)
    with torch.no_grad():
        network_only = solution.network(problem.network_inputs(torch.as_tensor(points)))[:, 0].numpy()
    assert np.abs(u - network_only).max() > 1e-2  # the transform is really there
    report = network_formula_report(solution, simplify=False)
    assert report.compact and report.rel_l2 is None and math.isfinite(report.pde_residual)


def test_formula_of_built_in_function_data_asks_for_soft_conditions():
    problem = kp.Problem(kp.Rectangle((-1, -1), (1, 1)), lambda x, u: u.laplacian(),
                         [kp.Dirichlet(lambda x: x[:, :1] ** 2)])
    assert problem.hard
    solution = kp.Solution(problem, _snapped_kan([2, 1]))
    with pytest.raises(ValueError, match="hard=False"):
        network_formula(solution)
    soft = kp.Solution(problem.soft(), _snapped_kan([2, 1]))  # the advice works: the network is u
    assert network_formula(soft, simplify=False).free_symbols == set(sp.symbols("x y", real=True))


def test_formula_of_a_problem_with_features_names_them():
    problem = kp.Problem(kp.Rectangle((-1, -1), (1, 1)), lambda x, u: u.laplacian(), [kp.Dirichlet(0.0, hard=False)],
                         features=[lambda x: x[:, :1] * x[:, 1:]])
    with pytest.raises(ValueError, match="features= inputs"):
        network_formula(kp.Solution(problem, _snapped_kan([3, 1])))


def test_prune_of_a_solution_with_a_built_in_periodic_embedding():
    problem = _built_in_problems()["periodic+blend"]
    solution = kp.Solution(problem, kp.KAN([problem.input_dim, 3, 1], seed=0).double())
    pruned = kp.prune(solution, threshold=0.0)  # keeps everything: the same u
    assert pruned.network.widths == [3, 3, 1]
    points = problem.domain.sample_interior(50, method="sobol", seed=0)
    with torch.no_grad():
        x = torch.as_tensor(points)
        assert torch.allclose(pruned.model(x), solution.model(x), atol=1e-12)


def test_spline_edges_stay_symbolic_functions_and_report_not_compact():
    model = SymbolicKAN(kp.KAN([1, 1], seed=0).double())
    problem = kp.Problem(kp.Interval(-1, 1), lambda x, u: u.d("x", "x") + PI ** 2 * torch.sin(PI * x),
                         [kp.Dirichlet(0.0)], exact=lambda x: torch.sin(PI * x))
    solution = kp.Solution(problem, model)
    expr = network_formula(solution)
    assert expr.atoms(sp.core.function.AppliedUndef)
    assert not network_formula_report(solution).compact


@pytest.mark.slow
def test_auto_symbolic_snaps_a_1d_poisson_solution_exactly():
    # soft: a built-in Dirichlet condition would make N = sin(pi x) / (1 - x^2), not a library function
    problem = kp.Problem(kp.Interval(-1, 1), lambda x, u: u.d("x", "x") + PI ** 2 * torch.sin(PI * x),
                         [kp.Dirichlet(0.0, hard=False)], exact=lambda x: torch.sin(PI * x))
    config = kp.TrainConfig(interior_points=200, boundary_points=2, schedule=[kp.LBFGS(60, grid=10)], verbose=False)
    solution = kp.solve(problem, kp.KAN([1, 1], grid=10, seed=0), config)
    expr = network_formula(solution, library=["x", "x^2", "sin", "exp"], fine_tune_steps=30)
    assert sp.simplify(expr - sp.sin(sp.pi * sp.Symbol("x", real=True))) == 0
    assert network_formula_report(solution, library=["x", "x^2", "sin", "exp"], fine_tune_steps=30).rel_l2 < 1e-10


def test_sparsity_penalty_and_stage_option():
    model = kp.KAN([2, 2, 1], seed=0).double()
    x = torch.rand(100, 2, dtype=torch.float64)
    with torch.no_grad():
        scales = edge_magnitudes(model, x)
    expected = 0.0
    for s in scales:
        p = s / s.sum()
        expected += float(s.sum()) - 2 * float((p * p.log()).sum())
    assert float(sparsity_penalty(model, x).detach()) == pytest.approx(expected, rel=1e-12)
    problem = _poisson2d()
    config = kp.TrainConfig(interior_points=100, boundary_points=40, verbose=False,
                            schedule=[kp.Adam(3, sparsity=1e-3), kp.Adam(2)])
    history = kp.solve(problem, kp.KAN([2, 2, 1], seed=0), config).history
    rows = history.steps
    assert all("sparsity" in r and r["sparsity"] > 0 for r in rows[:3])
    assert all("sparsity" not in r for r in rows[3:])


def test_plot_network_labels_snapped_edges():
    import matplotlib

    matplotlib.use("Agg")
    ax = kp.plotting.plot_network(kp.Solution(_poisson2d(), _sine_product_kan()))
    titles = [child.get_title() for child in ax.child_axes]
    assert titles.count("cos") == 2 and titles.count("x") == 4
    import matplotlib.pyplot as plt

    plt.close(ax.figure)


@pytest.mark.slow
def test_cli_formula_writes_summary(tmp_path, capsys):
    import json

    from kanpde.cli import main

    path = tmp_path / "p1.py"
    path.write_text("import math, torch\nimport kanpde as kp\n"
                    "problem = kp.Problem(kp.Interval(-1, 1), lambda x, u: u.d('x', 'x') + math.pi ** 2 * "
                    "torch.sin(math.pi * x), [kp.Dirichlet(0.0, hard=False)], exact=lambda x: torch.sin(math.pi * x))\n")
    out = tmp_path / "out"
    assert main(["solve", str(path), "--formula", "--widths", "1,1", "--grid-schedule", "10", "--adam-steps", "0",
                 "--lbfgs-steps", "60", "--points", "200", "--quiet", "--out", str(out)]) == 0
    assert "formula" not in capsys.readouterr().out  # --quiet: the formula goes to summary.json only
    summary = json.loads((out / "summary.json").read_text())
    assert summary["formula"]["formula"] == "sin(pi*x)" and summary["formula"]["rel_l2_exact"] < 1e-6
    assert None not in summary["formula"].values()


def test_auto_symbolic_snaps_the_network_behind_a_built_in_periodic_embedding():
    """Edge ranges are measured on the network's inputs (cos, sin, y), and fine-tuning trains N inside u."""
    from kanpde.symbolic import auto_symbolic

    problem = _built_in_problems()["periodic+blend"]
    solution = kp.Solution(problem, kp.KAN([problem.input_dim, 1], grid=3, seed=0).double())
    snapped, report = auto_symbolic(solution, r2_threshold=-np.inf, fine_tune_steps=2, points=200, verbose=False)
    assert len(report.snapped) == 3 and isinstance(snapped.network, SymbolicKAN)
    expr = network_formula(snapped, simplify=False)
    points = problem.domain.sample_interior(100, method="sobol", seed=2)
    with torch.no_grad():
        u = snapped.model(torch.as_tensor(points))[:, 0].numpy()
    f = sp.lambdify(sp.symbols("x y", real=True), expr, "numpy")
    assert np.allclose(f(*points.T), u, atol=1e-10, rtol=1e-10)


def _linear_first_layer(slope: float = 3.0) -> SymbolicKAN:
    """[2, 2, 1]: first-layer edges snapped to slope * x (so the hidden range is [-2 slope, 2 slope]), splines after."""
    model = SymbolicKAN(kp.KAN([2, 2, 1], grid=10, seed=0).double())
    for i in range(2):
        for o in range(2):
            model.set_function(0, i, o, EdgeFit("x", 1.0, 0.0, slope, 0.0, 1.0, 0.0))
    return model


def test_symbolic_kan_fits_spline_ranges_to_their_inputs_and_refines_exactly():
    model = _linear_first_layer(3.0)
    x = torch.rand(400, 2, dtype=torch.float64) * 2 - 1
    hidden = model.layer_inputs(x)[1]
    first = model.layers[0].coef.detach().clone()
    model.update_grid(x, layers=1)                      # the first layer with splines is the output layer
    out = model.layers[1]
    assert torch.equal(out.lo, hidden.min(0).values) and torch.equal(out.hi, hidden.max(0).values)
    assert torch.equal(model.layers[0].coef, first) and not model.layers[0].coef.requires_grad  # snapped: kept
    with torch.no_grad():
        before = model(x)
        model.refine(20)                                # nested grids: the same function
        assert model.grid == 20 and model.layers[0].grid == 10
        assert torch.allclose(model(x), before, atol=1e-12, rtol=0)


def test_stages_refine_a_symbolic_kan_and_lm_trains_it():
    """Stages with grid= refine its splines (grid fitted to their inputs); LM skips the frozen snapped splines."""
    problem = _poisson2d()
    model = _linear_first_layer(3.0)
    config = kp.TrainConfig(interior_points=40, boundary_points=16, verbose=False,
                            schedule=[kp.Adam(1, grid=20), kp.LM(2, chunk=16)])
    solution = kp.solve(problem, model, config)
    network = solution.network
    assert isinstance(network, SymbolicKAN) and network.layers[1].grid == 20
    assert float(network.layers[1].hi.max()) < 6.5  # fitted to the hidden range [-6, 6], not left at [-1, 1]
    losses = [row["loss"] for row in solution.history.steps]
    assert losses[-1] <= losses[1] and math.isfinite(losses[-1])


def test_formulas_script_writes_a_table(tmp_path, capsys):
    from conftest import load_script

    script = load_script("formulas")
    out = tmp_path / "formulas.md"
    assert script.main(["heat1d", "--exact", "--threads", "1", "--out", str(out), "--figures", str(tmp_path)]) == 0
    table = out.read_text()
    assert table.startswith("| problem | formula | nodes |") and "| heat1d | `exp(-pi**2*t/10)*sin(pi*x)` |" in table
    assert "| yes |" in table and (tmp_path / "formula_heat1d.png").stat().st_size > 1000
    assert "| heat1d |" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize("name", ["heat1d", "advection1d", "poisson3d"])
def test_formulas_of_trained_kans_are_proved_exact(name):
    """A [d, 10, 1] KAN trained with the script's short schedule; its formula is proved equal by sympy."""
    from conftest import load_script

    torch.set_num_threads(1)
    row = load_script("formulas").run(name)
    assert row["proven"] is True and row["compact"] and row["rel_l2_exact"] <= 1e-6


def _two_ridge_problem():
    """Delta u = f on [-1, 1]^2 with u = sin(1.5 s1) + s2^2 / 2, s1 = (x + 2y) / sqrt5, s2 = (2x - y) / sqrt5:
    a sum of ridge functions along the angles atan(2) = 63.43 deg and atan(-1/2) + 180 = 153.43 deg."""
    w1 = torch.tensor([1.0, 2.0], dtype=torch.float64) / 5 ** 0.5
    w2 = torch.tensor([2.0, -1.0], dtype=torch.float64) / 5 ** 0.5

    def exact(x):
        return torch.sin(1.5 * x @ w1.to(x)).unsqueeze(1) + 0.5 * (x @ w2.to(x)).unsqueeze(1) ** 2

    def pde(x, u):
        return u.laplacian() - (1.0 - 2.25 * torch.sin(1.5 * x @ w1.to(x)).unsqueeze(1))

    return kp.Problem(kp.Rectangle((-1, -1), (1, 1)), pde, [kp.Dirichlet(exact, hard=False)], exact=exact,
                      name="ridges")


def test_ridge_directions_recovers_the_angles_of_a_two_ridge_solution():
    from kanpde.symbolic import ridge_directions

    problem = _two_ridge_problem()
    search = ridge_directions(problem, angles=24, grid=10, interior_points=200, boundary_points=60, refine=10,
                              verbose=False)
    found = sorted(math.degrees(t) for t in search.angles)
    expected = [math.degrees(math.atan(2.0)), 180 - math.degrees(math.atan(0.5))]
    assert found == pytest.approx(expected, abs=0.5)        # the grid step is 7.5 deg: refined well below it
    assert search.directions.shape == (2, 2) and search.grid_losses.shape == (24, 24)
    assert search.loss < 1e-3 * float(search.grid_losses[torch.isfinite(search.grid_losses)].max())
    x = torch.rand(500, 2, dtype=torch.float64) * 2 - 1       # the model is the solution, not only its angles
    with torch.no_grad():
        error = (search.model(x) - problem.exact(x)).norm() / problem.exact(x).norm()
    assert float(error) < 1e-2


def test_ridge_directions_rejects_nonlinear_problems_and_other_dimensions():
    from kanpde.symbolic import ridge_directions

    square = kp.Rectangle((-1, -1), (1, 1))
    nonlinear = kp.Problem(square, lambda x, u: u.laplacian() + u.value ** 2 - 1, [kp.Dirichlet(0.0, hard=False)])
    with pytest.raises(ValueError, match="not affine"):
        ridge_directions(nonlinear, angles=4, grid=3, interior_points=20, boundary_points=8, refine=0, verbose=False)
    cube = kp.Problem(kp.Box((0, 0, 0), (1, 1, 1)), lambda x, u: u.laplacian() - 1, [kp.Dirichlet(0.0)])
    with pytest.raises(ValueError, match="3 inputs"):
        ridge_directions(cube, verbose=False)
    with pytest.raises(ValueError, match="angles"):
        ridge_directions(_two_ridge_problem(), angles=2, verbose=False)


# -- kp.symbolic.formula: distil the solution u, snap, refit, verify ------------------------------------------


class _Exact(torch.nn.Module):
    """u given as a torch function (what a perfectly trained KAN would be), times ``1 + noise sin(7 x0)``."""

    def __init__(self, fn, noise: float = 0.0):
        super().__init__()
        self.fn, self.noise = fn, noise

    def forward(self, x):
        return self.fn(x) * (1 + self.noise * torch.sin(7 * x[:, :1]))


class _Duck:
    """Anything with .model and .problem is a solution to formula() (symbolic does not import io)."""

    def __init__(self, problem, fn, noise: float = 0.0):
        self.problem, self.model = problem, _Exact(fn, noise)


def _proved(expr, exact) -> bool:
    return sp.simplify(sp.expand_trig(expr - exact)) == 0


@pytest.mark.parametrize("name, exact", [
    ("heat1d", "exp(-pi**2*t/10)*sin(pi*x)"),
    ("advection1d", "sin(pi*(x - t))"),
])
def test_formula_of_time_dependent_problems_is_proved_exact(name, exact):
    import problems

    problem = problems.load_problem(name)
    found = kp.symbolic.formula(_Duck(problem, problem.exact, noise=1e-7), verbose=False)
    symbols = {s.name: s for s in found.expr.free_symbols}
    assert _proved(found.expr, sp.sympify(exact, locals={k: v for k, v in symbols.items()}))
    assert found.compact and found.rel_l2 < 1e-6 and found.rel_l2_exact < 1e-12
    assert found.residual < 1e-10 and found.n_nodes <= 13


def test_formula_of_poisson2d_with_a_kan_sized_error_rounds_to_the_exact_solution(capsys):
    problem = _poisson2d()
    found = kp.symbolic.formula(_Duck(problem, problem.exact, noise=1e-7), verbose=False)
    x, y = sp.symbols("x y", real=True)
    assert found.expr == sp.sin(sp.pi * x) * sp.sin(sp.pi * y) and found.text == "sin(pi*x)*sin(pi*y)"
    assert found.shape == "product [2, 1]" and found.n_nodes == 9 and found.latex() == sp.latex(found.expr)
    assert 1e-9 < found.rel_l2 < 1e-6  # against the (noisy) solution it was read from
    summary = found.to_dict()
    assert None not in summary.values() and summary["formula"] == "sin(pi*x)*sin(pi*y)"
    assert capsys.readouterr().out == ""  # verbose=False: quiet


@pytest.mark.slow
def test_formula_of_poisson3d_is_the_product_of_three_sines():
    import problems

    problem = problems.load_problem("poisson3d")
    found = kp.symbolic.formula(_Duck(problem, problem.exact), verbose=False)
    x, y, z = sp.symbols("x y z", real=True)
    assert _proved(found.expr, sp.sin(sp.pi * x) * sp.sin(sp.pi * y) * sp.sin(sp.pi * z))
    assert found.rel_l2_exact <= 1e-6


def test_formula_without_a_closed_form_is_compact_and_says_so(capsys):
    """Helmholtz with a Gaussian source: no library formula; the best compact one comes with its errors."""
    def pde(p, u):
        return u.laplacian() + 4 * u.value - torch.exp(-8 * (p ** 2).sum(1, keepdim=True))

    problem = kp.Problem(kp.Rectangle((-1, -1), (1, 1)), pde, [kp.Dirichlet(0.0)])
    solution = _Duck(problem, lambda p: (1 - p[:, :1] ** 2) * (1 - p[:, 1:] ** 2) * torch.exp(-p[:, :1] * p[:, 1:]))
    found = kp.symbolic.formula(solution, max_width=1, verbose=True)
    printed = capsys.readouterr().out
    assert not found.compact and "no compact formula reaches rel L2 1e-04" in found.message
    assert found.n_nodes <= 30 and 1e-4 < found.rel_l2 < 0.5 and found.rel_l2_exact is None
    assert math.isfinite(found.residual) and found.residual > 0
    assert "product [2, 1]: distilled" in printed and found.message in printed
    assert "rel_l2_exact" not in found.to_dict() and None not in found.to_dict().values()


def test_formula_rejects_bad_input():
    problem = _poisson2d()
    with pytest.raises(TypeError, match="formula needs a solution with .model and .problem"):
        kp.symbolic.formula(object())
    with pytest.raises(ValueError, match="tol must be a positive"):
        kp.symbolic.formula(_Duck(problem, problem.exact), tol=0)
    with pytest.raises(ValueError, match="points must be an int >= 100"):
        kp.symbolic.formula(_Duck(problem, problem.exact), points=10)


def test_fit_edges_picks_each_edges_function_by_score():
    from kanpde.symbolic import fit_edges

    x = np.tile(np.linspace(-1, 2, 201), (5, 1))
    y = np.stack([2 * np.sin(3 * x[0] + 1) - 0.5, 0.3 * (x[1] - 0.2) ** 2 + 1, np.exp(-0.7 * x[2]),
                  np.full(201, 4.0), -1.5 * x[4] + 2])
    fits = fit_edges(x, y)
    assert [f.name for f in fits] == ["sin", "x^2", "exp", "0", "x"]
    assert all(f.r2 > 1 - 1e-12 for f in fits)
    assert abs(fits[2].a + 0.7) < 1e-8 and abs(fits[4].c + 1.5) < 1e-12
    with pytest.raises(ValueError, match="one shape"):
        fit_edges(x, y[:, :10])


def test_round_constants_only_within_the_error():
    from kanpde.symbolic.extract import round_constants

    s = sp.Symbol("s", real=True)
    points = np.linspace(-1, 1, 101)
    truth = 0.3001 * np.sin(np.pi * points)

    def error(expr):
        return float(np.linalg.norm(sp.lambdify(s, expr)(points) - truth) / np.linalg.norm(truth))

    expr = sp.Float(0.3001) * sp.sin(sp.Float(3.14159265358) * s)
    assert round_constants(expr, error, tol=1e-4) == sp.Float(0.3001) * sp.sin(sp.pi * s)  # 0.3001 is not 3/10


def test_symbolic_imports_neither_io_nor_solve():
    """symbolic sits below io: no import of kanpde.io or kanpde.solve, function-level ones included."""
    import ast
    from pathlib import Path

    import kanpde.symbolic

    for path in Path(kanpde.symbolic.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level >= 2:
                assert (node.module or "").split(".")[0] not in ("io", "solve", "cli", "compare"), (path, node.module)
