"""Parametric problems (issue #32): kp.Range and Problem(params=), sampling (x, mu) jointly, derivatives along
x only, predict/errors/export at parameter values, and their errors (each names the parameter)."""

import dataclasses
import sys
from pathlib import Path

import meshio
import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import kanpde as kp  # noqa: E402
import problems  # noqa: E402
from kanpde.pde.params import ParamDomain, ParamValues, fix  # noqa: E402
from problems import heat1d_param, helmholtz_param  # noqa: E402
from problems import _common  # noqa: E402

PARAMETRIC = ["heat1d_param", "helmholtz_param", "poisson_param", "plate_param"]


def _tiny(problem, steps=(30, 4), points=400, seed=0):
    """A few Adam steps and LM iterations on a [3, 6, 1] KAN."""
    model = kp.KAN([problem.input_dim, 6, 1], grid=5, k=3, seed=seed)
    config = kp.TrainConfig(interior_points=points, boundary_points=100, verbose=False, seed=seed,
                            schedule=[kp.Adam(steps[0], lr=1e-2), kp.LM(steps[1], grid=5)])
    return kp.solve(problem, model, config)


@pytest.fixture(scope="module")
def helmholtz():
    return _tiny(helmholtz_param.problem())


# --------------------------------------------------------------------------- validation


def test_range_validation():
    r = kp.Range(1, 4)
    assert (r.lo, r.hi, r.width) == (1.0, 4.0, 3.0) and isinstance(r.lo, float)
    with pytest.raises(ValueError, match="lo < hi"):
        kp.Range(2, 2)
    with pytest.raises(ValueError, match="hi must be finite"):
        kp.Range(0, float("inf"))
    with pytest.raises(TypeError, match="lo must be a number"):
        kp.Range("a", 2)
    with pytest.raises(ValueError, match="Pick one of"):
        kp.Range(1, 4, spacing="log")


def test_chebyshev_spacing_is_denser_at_the_ends_and_stays_in_the_range():
    unit = np.linspace(0, 1, 10001)
    cheb, uniform = kp.Range(1, 4).sample(unit), kp.Range(1, 4, spacing="uniform").sample(unit)
    assert cheb.min() == 1.0 and cheb.max() == 4.0 and np.allclose(uniform, 1 + 3 * unit)
    ends = lambda v: np.mean((v < 1.3) | (v > 3.7))  # noqa: E731  (the outer 10 % at each end)
    assert ends(cheb) > 1.9 * ends(uniform)


def test_problem_params_validation():
    domain = kp.Rectangle((0, 0), (1, 1))
    pde = lambda x, u, p: u.laplacian() - p.k  # noqa: E731
    with pytest.raises(ValueError, match="'x' is a coordinate"):
        kp.Problem(domain, pde, [kp.Dirichlet(0.0)], params={"x": kp.Range(0, 1)})
    with pytest.raises(TypeError, match=r"params\['k'\] must be a kp.Range"):
        kp.Problem(domain, pde, [kp.Dirichlet(0.0)], params={"k": 3.0})
    with pytest.raises(ValueError, match="identifiers"):
        kp.Problem(domain, pde, [kp.Dirichlet(0.0)], params={"k k": kp.Range(0, 1)})
    with pytest.raises(TypeError, match=r"pde\(x, u, p\)"):
        kp.Problem(domain, lambda x, u: u.laplacian(), [kp.Dirichlet(0.0)], params={"k": kp.Range(0, 1)})
    with pytest.raises(ValueError, match="parameters="):
        kp.Problem(domain, pde, [kp.Dirichlet(0.0)], params={"k": kp.Range(0, 1)}, parameters={"c": 1.0})
    with pytest.raises(ValueError, match="known="):
        kp.Problem(domain, pde, [kp.Dirichlet(0.0)], params={"k": kp.Range(0, 1)}, known=lambda x: 0 * x[:, :1])
    # a (lo, hi) pair is a Range; a problem without params keeps pde(x, u)
    p = kp.Problem(domain, pde, [kp.Dirichlet(0.0)], params={"k": (1, 2)})
    assert p.params == {"k": kp.Range(1, 2)} and p.input_dim == 3 and p.space is domain
    assert kp.Problem(domain, lambda x, u: u.laplacian(), [kp.Dirichlet(0.0)]).params == {}


def test_param_values_read_only():
    p = ParamValues(("k", "a"), torch.arange(6.0).reshape(3, 2))
    assert p.k.shape == (3, 1) and torch.equal(p["a"][:, 0], torch.tensor([1.0, 3.0, 5.0]))
    with pytest.raises(AttributeError, match="read-only"):
        p.k = 1
    with pytest.raises(AttributeError, match="unknown parameter 'b'. Pick one of"):
        p.b  # noqa: B018


# --------------------------------------------------------------------------- sampling and derivatives


def test_param_domain_samples_jointly():
    domain = ParamDomain(kp.Interval(0, 1) * kp.TimeInterval(0, 1), {"alpha": kp.Range(0.05, 0.2)})
    assert domain.names == ("x", "t", "alpha") and domain.spatial_axes == (0,) and domain.time_axis == 1
    inner = domain.sample_interior(512, method="sobol", seed=3)
    assert inner.shape == (512, 3) and domain.contains(inner).all()
    assert np.array_equal(inner, domain.sample_interior(512, method="sobol", seed=3))  # seeded
    edge = domain.sample_boundary(256, method="halton", seed=1)
    assert domain.on_boundary(edge).all() and np.isin(edge[:, 0], [0.0, 1.0]).all()
    start = domain.sample_initial(256, seed=2)
    assert (start[:, 1] == 0).all()
    for points in (inner, edge, start):  # every kind of point gets its own mu, spread over the range
        mu = points[:, 2]
        assert mu.min() < 0.06 and mu.max() > 0.19 and len(np.unique(mu)) == len(mu)
    normals = domain.normals(edge)
    assert normals.shape == (256, 3) and (normals[:, 2] == 0).all()


def test_jet_differentiates_x_only():
    problem = helmholtz_param.problem()
    model = kp.KAN([3, 5, 1], grid=5, k=3, seed=0).double()
    z = torch.as_tensor(problem.domain.sample_interior(64, seed=0))
    u = problem.field(model, z, backend="jet")
    assert u.names == ("x", "y")
    with pytest.raises(ValueError, match="unknown coordinate 'k'. Pick one of \\('x', 'y'\\)"):
        u.d("k")
    lap = u.laplacian()
    jet = u._eval._jet
    assert jet.pairs == ((0, 0), (1, 1))  # no second derivative along k was asked of the jet
    v = problem.field(model, z, backend="autograd")
    torch.testing.assert_close(lap, v.laplacian())


def test_hard_constraint_reads_x_only():
    """The built-in Dirichlet data hold at every mu; the initial data of the heat family at every alpha."""
    problem = heat1d_param.problem()
    assert problem.built_in == ["dirichlet", "initial"] and problem.terms == []
    u = problem.model_for_fields(kp.KAN([3, 5, 1], grid=5, k=3, seed=1).double())
    edge = torch.as_tensor(problem.domain.sample_boundary(64, seed=0))
    start = torch.as_tensor(problem.domain.sample_initial(64, seed=0))
    with torch.no_grad():
        assert float(u(edge).abs().max()) < 1e-12
        torch.testing.assert_close(u(start), torch.sin(torch.pi * start[:, :1]))


# --------------------------------------------------------------------------- training and evaluation


def test_tiny_training_reduces_loss_and_errors_at_values(helmholtz):
    losses = [r["loss"] for r in helmholtz.history.steps]
    assert losses[-1] < 0.1 * losses[0]
    one = helmholtz.errors(k=2.0)
    assert set(one) >= {"rel_l2", "max_abs", "rel_h1"} and 0 < one["rel_l2"] < 0.5
    assert helmholtz.errors(k=2.0, gradients=False) == {"rel_l2": one["rel_l2"], "max_abs": one["max_abs"]}
    sweep = helmholtz.errors_over(k=[1.0, 2.0, 4.0])
    assert sweep["rel_l2"][1] == pytest.approx(one["rel_l2"])
    assert sweep["worst"]["rel_l2"] == max(sweep["rel_l2"]) and sweep["worst"]["at"]["k"] in (1.0, 2.0, 4.0)
    family = helmholtz.errors()
    assert min(sweep["rel_l2"]) <= family["rel_l2"] * 3


def test_predict_batch_matches_scalar(helmholtz):
    x = np.random.default_rng(0).random((20, 2))
    scalar = helmholtz.predict(x, k=3.2)
    assert scalar.shape == (20, 1)
    np.testing.assert_allclose(helmholtz.predict(x, params=np.full(20, 3.2)), scalar, rtol=0, atol=1e-14)
    np.testing.assert_allclose(helmholtz.predict(x, params={"k": np.full(20, 3.2)}), scalar, rtol=0, atol=1e-14)
    ks = np.linspace(1, 4, 20)
    batch = helmholtz.predict(torch.as_tensor(x), params=ks[:, None])
    assert isinstance(batch, torch.Tensor)
    for i in (0, 7, 19):
        np.testing.assert_allclose(batch[i].numpy(), helmholtz.predict(x[i:i + 1], k=ks[i])[0], atol=1e-14)
    member = helmholtz.at(k=3.2)
    np.testing.assert_allclose(member.predict(x), scalar, atol=1e-14)
    assert member.problem.name == "helmholtz_param[k=3.2]" and member.problem.params == {}


@pytest.mark.parametrize("call, message", [
    (lambda s, x: s.predict(x), r"missing parameter 'k'.*k=\[1, 4\]"),
    (lambda s, x: s.predict(x, k=5.0), r"parameter 'k' = 5.0 lies outside its range \[1, 4\]"),
    (lambda s, x: s.predict(x, kk=2.0), r"unknown parameter 'kk'. Pick one of \('k',\)"),
    (lambda s, x: s.predict(x, params=np.ones((len(x), 2))), r"shape \(5, 1\).*columns \('k',\)"),
    (lambda s, x: s.predict(x, params={"k": np.ones(3)}), r"parameter 'k' needs one value per point"),
    (lambda s, x: s.predict(x, k=2.0, params=np.ones(5)), "not both"),
    (lambda s, x: s.predict(np.ones((5, 3)), k=2.0), r"shape \(N, 2\).*\('x', 'y'\)"),
    (lambda s, x: s.errors(k=0.5), r"parameter 'k' = 0.5 lies outside its range \[1, 4\]"),
    (lambda s, x: s.errors_over(k=[1, 2], q=[1, 2, 3]), "one length"),
    (lambda s, x: kp.export_solution(s, "/nonexistent/u.vtu"), r"missing parameter 'k'"),
])
def test_parameter_errors_name_the_parameter(helmholtz, call, message):
    x = np.full((5, 2), 0.5)
    with pytest.raises(ValueError, match=message):
        call(helmholtz, x)


def test_export_round_trip(helmholtz, tmp_path):
    path = kp.export_solution(helmholtz, tmp_path / "family.vtu", resolution=7, k=[1.5, 3.0])
    mesh = meshio.read(path)
    assert {"u[k=1.5]", "u[k=3]", "u_exact[k=3]", "error[k=3]"} <= set(mesh.point_data)
    for k, name in ((1.5, "u[k=1.5]"), (3.0, "u[k=3]")):
        np.testing.assert_allclose(mesh.point_data[name], helmholtz.predict(mesh.points[:, :2], k=k)[:, 0], atol=1e-12)


def test_save_load_keeps_params(helmholtz, tmp_path):
    path = helmholtz.save(tmp_path / "family.pt")
    loaded = kp.Solution.load(path, problem=helmholtz_param.problem())
    x = np.random.default_rng(1).random((6, 2))
    np.testing.assert_allclose(loaded.predict(x, k=2.5), helmholtz.predict(x, k=2.5), atol=0)
    assert loaded.problem_spec["params"] == {"k": [1.0, 4.0]}


def test_space_time_family_and_conditions_with_p():
    """A space-time family with a parameter-dependent soft Neumann value and a Dirichlet value g(x, p)."""
    seen = {}

    def flux(x, p):
        seen["flux"] = (x.shape[1], p.c.shape)
        return -p.c * torch.ones_like(x[:, :1])

    domain = kp.Interval(0, 1) * kp.TimeInterval(0, 0.5)
    problem = kp.Problem(domain, lambda x, u, p: u.d("t") - 0.1 * u.d("x", "x"),
                         [kp.Dirichlet(lambda x, p: p.c * x[:, 1:2], on="left"), kp.Neumann(flux, on="right"),
                          kp.Initial(0.0, hard=False)], params={"c": kp.Range(0.0, 1.0)})
    assert problem.terms == ["neumann[right]", "initial"] and problem.built_in == ["dirichlet[left]"]
    solution = _tiny(problem, steps=(20, 2), points=300)
    assert seen["flux"] == (2, (100, 1))
    values = solution.predict(np.array([[0.0, 0.4]]), c=0.5)  # the built-in Dirichlet data at x = 0
    assert values[0, 0] == pytest.approx(0.2, abs=1e-12)


def test_refinement_matrix_free_lm_and_galerkin_on_a_family():
    """Grid refinement (5 -> 8), matrix-free LM and a Galerkin iteration run on (x, mu) unchanged."""
    problem = helmholtz_param.problem()
    config = kp.TrainConfig(interior_points=400, verbose=False, schedule=[
        kp.Adam(20, lr=1e-2), kp.LM(3, grid=5, solver="cg"), kp.LM(3, grid=8), kp.LM(1, galerkin=kp.Galerkin(points=2**12))])
    solution = kp.solve(problem, kp.KAN([3, 6, 1], grid=5, k=3, seed=0), config)
    assert solution.network.layers[0].grid == 8
    stages = {r["stage"] for r in solution.history.steps}
    assert len(stages) == 4
    assert solution.errors(k=2.0)["rel_l2"] < 0.5


def test_marching_refuses_a_family():
    config = kp.TrainConfig(schedule=[kp.Adam(1)], marching=kp.TimeMarching(windows=2), verbose=False)
    with pytest.raises(ValueError, match="time marching does not take a family"):
        kp.solve(heat1d_param.problem(), kp.KAN([3, 4, 1], grid=3), config)


def test_automatic_path_sizes_for_the_params():
    from kanpde.train.sizing import auto_plan

    model, config, decisions = auto_plan(helmholtz_param.problem(), None, kp.TrainConfig())
    assert decisions["widths"][0] == 3 and model.in_dim == 3 and len(decisions["wavelengths"]) == 3


# --------------------------------------------------------------------------- the problems


@pytest.mark.parametrize("name", PARAMETRIC)
def test_parametric_problems_registered(name):
    module = problems.get(name)
    problem = problems.load_problem(name)
    assert problem.params and problem.name == name and problem.input_dim == 3
    assert isinstance(module.config(), kp.TrainConfig) and module.model().in_dim == 3
    # the exact solution solves its own pde at a few parameter values (autograd model = the exact solution)
    z = torch.as_tensor(problem.domain.sample_interior(128, seed=4))
    soft = problem.soft()  # nothing built in: the model is u
    assert soft.params == problem.params and soft.built_in == []
    (residual,) = soft.residuals(_ExactModel(problem), z, backend="autograd")
    assert float(residual.detach().abs().max()) < 1e-9


class _ExactModel(torch.nn.Module):
    def __init__(self, problem):
        super().__init__()
        self.problem, self.in_dim, self.out_dim = problem, problem.input_dim, 1

    def forward(self, z):
        return self.problem.exact(z)


def test_problem_at_matches_fd():
    """One member of the Helmholtz family against the FD solve at that k (the problem's own fd_solution)."""
    member = helmholtz_param.problem().at(k=2.5)
    fd = helmholtz_param.fd_solution(64, k=2.5)
    exact = member.exact(torch.as_tensor(fd.points())).numpy().reshape(-1)
    assert np.abs(fd.values.reshape(-1) - exact).max() < 2e-3
    np.testing.assert_allclose(fix(helmholtz_param.exact, k=2.5)(torch.tensor([[0.3, 0.6]])).numpy(),
                               _common.bump_wave(torch.tensor([[0.3, 0.6]]), 2.5)[0].numpy())


# --------------------------------------------------------------------------- accuracy (slow)


@pytest.mark.slow
@pytest.mark.parametrize("name, worst, median", [
    ("heat1d_param", 1e-4, 1e-5),      # issue #32: worst <= 1e-4 (measured 5.2e-6, median 2.0e-6)
    ("helmholtz_param", 1e-3, 1e-4),   # issue #32: worst <= 1e-3 (measured 2.0e-4 at k = 4, median 1.3e-5)
])
def test_family_accuracy(name, worst, median):
    """What scripts/parametric_accuracy.py measured (seed 0, config(), 50 held-out values, ends included)."""
    module = problems.get(name)
    problem = module.problem()
    solution = kp.solve(problem, module.model(seed=0), dataclasses.replace(module.config(), verbose=False))
    sweep = solution.errors_over(**{n: np.linspace(r.lo, r.hi, 50) for n, r in problem.params.items()})
    assert sweep["worst"]["rel_l2"] <= worst and float(np.median(sweep["rel_l2"])) <= median


# --------------------------------------------------------------------------- the break-even script's arithmetic


def test_break_even_counts_queries_until_training_is_paid_back():
    from conftest import load_script

    script = load_script("parametric_breakeven")
    assert script.break_even(10.0, 0.1, [1.0, 1.0, 1.0]) == 12     # 10 + 0.1 M <= M first at M = 12
    assert script.break_even(0.5, 0.1, [1.0, 1.0]) == 1            # within the measured queries
    assert script.break_even(10.0, 0.1, [0.05, 0.05]) is None       # a solve no dearer than a query: never
    row = {"mu": {"k": 2.0}, "kan_rel_l2": 1e-4, "kan_query_s": 0.1,
           "fd2": {"resolution": 64, "seconds": 1.0, "rel_l2": 9e-5, "reached": True}, "fem_p2": None}
    result = {"problem": "demo", "train_s": 10.0, "query_s": 0.1, "queries": 1, "rows": [row],
              "fd2": {"break_even": 12, "mean_s": 1.0, "reached": 1, "of": 1}, "fem_p2": None}
    table = script.guide_table([result])
    assert "| `demo` | FD, 2nd order | 1000.0 ms | 64-64 | 1 of 1 | 10 s, 100.0 ms | **12 queries** |" in table
    assert "| `demo` | FEM P2 | none" in table


def test_accuracy_table_names_each_family_worst_seed():
    from conftest import load_script

    script = load_script("parametric_accuracy")
    rows = [{"problem": "demo", "seed": s, "worst_rel_l2": e, "worst_at": {"k": 4.0}, "held_out": 50,
             "family_rel_l2": e / 10, "train_s": 100.0 + s, "train_cpu_s": 150.0, "threads": 2, "query_s": 4e-3,
             "load": [0.1, 2.0]} for s, e in ((0, 2e-4), (1, 5e-4))]
    table = script.guide_table(rows)
    assert "worst over seeds 0, 1: **5.00e-04** (seed 1)" in table and "| 0.1 / 2.0 |" in table
