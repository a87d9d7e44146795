"""Levenberg-Marquardt stage: residual vector, Jacobians against autograd, the damped solve, the loop."""

import math

import numpy as np
import pytest
import torch
from torch import nn

import kanpde as kp
from kanpde.train import jacobian, lm
from kanpde.train import residuals as one_loss
from kanpde.train.trainer import Trainer

from conftest import PI, poisson_problem, sinsin

SMALL = dict(interior_points=60, boundary_points=16, verbose=False, eval_every=5)


def _trainer(problem, model, **kwargs):
    config = kp.TrainConfig(schedule=[kp.LM(1)], **{**SMALL, **kwargs})
    trainer = Trainer(problem, model.double(), config)
    trainer.loss_terms()  # the first call records which derivatives the residuals need
    return trainer


def _autograd_jacobian(trainer):
    """The reference: one autograd.grad per row of r, with autograd derivatives."""
    trainer.config.derivatives = "autograd"
    r = torch.cat([part.reshape(-1) for part in _scaled_residuals(trainer)])
    return r.detach(), autograd_rows(r, trainer.trainable())


def autograd_rows(r, params):
    """``dr/dparams`` ``(len(r), P)``, one autograd.grad per entry of r (zeros where a tensor is unused)."""
    rows = []
    for i in range(r.numel()):
        grads = torch.autograd.grad(r[i], params, retain_graph=True, allow_unused=True)
        rows.append(torch.cat([torch.zeros(p.numel(), dtype=r.dtype) if g is None else g.reshape(-1)
                               for p, g in zip(params, grads)]))
    return torch.stack(rows)


def _scaled_residuals(trainer):
    parts = []
    for number, block in enumerate(one_loss.blocks(trainer)):
        residuals = block.evaluate(slice(None), trainer.config.derivatives)
        factors = one_loss.row_factors(trainer, block.names(len(residuals)), residuals, pde=number == 0)
        parts += [f * r for f, r in zip(factors, residuals)]
    return parts


def _system_problem():
    """u'' = v, v = -pi^2 sin(pi x) on [-1, 1]... as two residuals, with periodic and soft Dirichlet terms."""
    def pde(x, u):
        return u[0].d("x", "x") - u[1].value, u[1].value + PI ** 2 * torch.sin(PI * x)
    return kp.Problem(kp.Interval(-1, 1), pde, [kp.Periodic("x"), kp.Dirichlet(0.0, on="left", component=0),
                                                kp.Neumann(PI, on="left", component=0)],
                      outputs=("u", "v"), name="system")


def _inverse_problem():
    """u'' = -a pi^2 sin(pi x) with a learnable, observed at a few points."""
    def pde(x, u, p):
        return u.d("x", "x") + p["a"] * PI ** 2 * torch.sin(PI * x)
    data = np.linspace(-0.9, 0.9, 7)[:, None]
    return kp.Problem(kp.Interval(-1, 1), pde, [kp.Dirichlet(0.0, hard=False), kp.Data(data, 1.3 * np.sin(PI * data))],
                      parameters={"a": 0.5}, name="inverse")


CASES = {
    "soft": lambda: (poisson_problem(weights={"dirichlet": 3.0}), kp.KAN([2, 3, 1], grid=4, seed=0)),
    "hard": lambda: (poisson_problem().with_hard_dirichlet(), kp.KAN([2, 3, 1], grid=4, seed=1)),
    # the built-in periodic condition feeds the net (cos, sin) of x: problem.input_dim inputs
    "system": lambda: (p := _system_problem(), kp.KAN([p.input_dim, 2, 2], grid=3, seed=2)),
    "learnable": lambda: (_inverse_problem(), kp.KAN([1, 3, 1], grid=4, seed=3)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_kan_jacobian_equals_autograds(case):
    problem, model = CASES[case]()
    trainer = _trainer(problem, model, interior_points=30, boundary_points=8)
    r, J = lm.jacobian(trainer, chunk=13)
    assert jacobian.uses_taps(trainer)
    r_ref, J_ref = _autograd_jacobian(trainer)
    assert J.shape == J_ref.shape == (r.numel(), sum(p.numel() for p in trainer.trainable()))
    assert torch.allclose(r, r_ref, rtol=0, atol=1e-12)
    assert (J - J_ref).abs().max() <= 1e-10 * max(1.0, float(J_ref.abs().max()))
    assert J_ref.abs().max() > 0.1  # a real Jacobian, not zeros on both sides


def test_batched_jacobian_equals_autograds_for_an_mlp_with_learnable_parameters():
    trainer = _trainer(_inverse_problem(), kp.MLP([1, 6, 1], seed=0), interior_points=30, boundary_points=8)
    r, J = lm.jacobian(trainer, chunk=9)
    assert not jacobian.uses_taps(trainer)
    r_ref, J_ref = _autograd_jacobian(trainer)
    assert (J - J_ref).abs().max() <= 1e-10 * float(J_ref.abs().max())
    assert J[:, -1].abs().max() > 0  # the learnable coefficient's column


@pytest.mark.parametrize("balance", ["gradnorm", "rba", None])
def test_residual_vector_norm_is_the_trainers_loss(balance):
    """User weights x the balancer's factors (and RBA's point weights), as in Trainer.total."""
    problem = _system_problem()
    trainer = _trainer(problem, kp.KAN([problem.input_dim, 3, 2], grid=4, seed=0),
                       weights={"pde1": 0.3, "neumann[left]": 2.0}, balance=balance)
    trainer.loss_terms()  # RBA: a second update, point weights away from 1
    trainer.balancer.start_stage(trainer, kp.LM(1))  # gradnorm: the factors; RBA: frozen
    if balance is not None:
        factors = [trainer.balancer.factor(t) for t in ["pde0", "pde1", *problem.terms]]
        assert max(factors) - min(factors) > 1e-3  # the balancer really weighs the terms differently
    r = one_loss.residual_vector(trainer)
    loss = float(trainer.total(trainer.loss_terms()).detach())
    assert math.isclose(float(r @ r), loss, rel_tol=1e-12)
    r2, J = lm.jacobian(trainer, chunk=17)
    assert math.isclose(float(r2 @ r2), loss, rel_tol=1e-12)
    _, J_ref = _autograd_jacobian(trainer)  # the point and term weights scale J's rows too
    assert (J - J_ref).abs().max() <= 1e-10 * float(J_ref.abs().max())


def test_chunked_assembly_equals_unchunked_and_bounds_the_batch():
    trainer = _trainer(poisson_problem(), kp.KAN([2, 4, 1], grid=5, seed=0))
    seen = []
    jet, forward = trainer.model.jet, trainer.model.forward
    trainer.model.jet = lambda x, *a, **k: seen.append(len(x)) or jet(x, *a, **k)
    trainer.model.forward = lambda x: seen.append(len(x)) or forward(x)
    r1, J1 = lm.jacobian(trainer, chunk=7)
    assert seen and max(seen) <= 7  # the forward graph of at most `chunk` points at a time
    seen.clear()
    r2, J2 = lm.jacobian(trainer, chunk=10_000)
    assert max(seen) == 60
    assert torch.allclose(r1, r2, rtol=0, atol=1e-14)
    assert (J1 - J2).abs().max() <= 1e-13 * float(J2.abs().max())


def test_jacobian_method_errors():
    trainer = _trainer(poisson_problem(), kp.MLP([2, 4, 1], seed=0))
    with pytest.raises(ValueError, match="Pick one of"):
        lm.jacobian(trainer, method="forward")
    with pytest.raises(ValueError, match="taps Jacobian needs a KAN"):
        lm.jacobian(trainer, method="taps")


def test_damped_step_solves_the_normal_equations_and_cg_agrees():
    g = torch.Generator().manual_seed(0)
    J = torch.randn(50, 12, generator=g, dtype=torch.float64)
    r = torch.randn(50, generator=g, dtype=torch.float64)
    mu = 0.1
    D = (J * J).sum(0)
    expected = torch.linalg.solve(J.T @ J + mu * torch.diag(D), -J.T @ r)
    assert torch.allclose(lm.damped_step(J, r, mu), expected, atol=1e-12)
    assert torch.allclose(lm.damped_step(J, r, mu, "cg"), expected, atol=1e-8)


def test_gram_of_a_kan_jacobian_multiplies_each_piece_on_its_support_and_equals_the_dense_product():
    from kanpde.train.jacobian import Rows, RowBlock, dense_pieces

    trainer = _trainer(poisson_problem(), kp.KAN([2, 4, 1], grid=80, seed=0))
    J = lm.jacobian(trainer)[1]
    supports = [len(columns) for columns, _ in dense_pieces(J, rows=8)]
    assert len(supports) > 2 and max(supports) < J.shape[1] / 2, f"8 nearby points' rows should touch few cells: {supports}"
    expected = J.T @ J
    assert (lm.gram(J) - expected).abs().max() <= 1e-13 * float(expected.abs().max())
    rows = Rows([RowBlock(J[:25]), RowBlock(J[25:])], J.shape[1])         # CSR blocks (a fine grid's rows)
    assert all(b.sparse for b in rows.blocks)
    assert (rows.gram() - expected).abs().max() <= 1e-13 * float(expected.abs().max())
    dense = torch.randn(30, 8, dtype=torch.float64)                       # full support: one product
    assert torch.allclose(lm.gram(dense), dense.T @ dense, rtol=0, atol=1e-12)
    system = lm.GaussNewton(J, torch.ones(len(J), dtype=torch.float64))
    assert (system.normal - expected).abs().max() <= 1e-13 * float(expected.abs().max())


@pytest.mark.parametrize("solver", ["cholesky", "qr", "cg"])
def test_levenberg_scaling_damps_with_a_multiple_of_the_identity(solver):
    g = torch.Generator().manual_seed(1)
    J = torch.randn(40, 9, generator=g, dtype=torch.float64) * torch.logspace(-2, 2, 9, dtype=torch.float64)
    r = torch.randn(40, generator=g, dtype=torch.float64)
    mu, D = 0.05, float((J * J).sum(0).mean())
    expected = torch.linalg.solve(J.T @ J + mu * D * torch.eye(9, dtype=torch.float64), -J.T @ r)
    assert torch.allclose(lm.damped_step(J, r, mu, solver, scaling="levenberg"), expected, atol=1e-8)
    assert not torch.allclose(lm.damped_step(J, r, mu, solver), expected, atol=1e-4)  # Marquardt's differs


def test_damped_step_falls_back_to_lstsq_when_cholesky_fails(monkeypatch):
    J = torch.randn(30, 6, dtype=torch.float64)
    r = torch.randn(30, dtype=torch.float64)
    expected = lm.damped_step(J, r, 1e-2)
    failing = lambda M: (M, torch.tensor(1))  # noqa: E731 - "not positive definite"
    monkeypatch.setattr(torch.linalg, "cholesky_ex", failing)
    assert torch.allclose(lm.damped_step(J, r, 1e-2), expected, atol=1e-10)


class Line(nn.Module):
    """``u = a x + b y + c``: residuals linear in the parameters."""

    in_dim, out_dim = 2, 1

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, x):
        return self.linear(x)


def test_lm_step_on_linear_least_squares_lands_on_the_lstsq_solution():
    target = lambda x: torch.exp(x[:, :1]) * torch.cos(x[:, 1:])  # noqa: E731 - no plane fits it exactly
    problem = kp.Problem(kp.Rectangle((-1, -1), (1, 1)), lambda x, u: u.value - target(x), name="fit")
    solution = kp.solve(problem, Line(), kp.TrainConfig(schedule=[kp.LM(1, damping=1e-13)], **SMALL))
    x = kp.Rectangle((-1, -1), (1, 1)).sample_interior(60, method="sobol", seed=0)
    design = np.hstack([x, np.ones((60, 1))])
    coef = np.linalg.lstsq(design, target(torch.as_tensor(x)).numpy()[:, 0], rcond=None)[0]
    linear = solution.model.linear
    got = np.r_[linear.weight.detach().numpy()[0], linear.bias.detach().numpy()]
    assert np.abs(got - coef).max() < 1e-10


def test_lm_never_increases_the_loss_and_records_the_stop_reason():
    solution = kp.solve(poisson_problem(), kp.KAN([2, 4, 1], grid=4, seed=0),
                        kp.TrainConfig(schedule=[kp.LM(12, damping=1e-6)], **SMALL))
    _, loss = solution.history.column("loss")
    assert len(loss) >= 5 and np.all(np.diff(loss) < 0)
    assert loss[-1] < 1e-2 * loss[0]
    stage = solution.history.stages[0]
    assert stage["label"] == "LM" and stage["stop"] in ("steps", "gtol", "xtol", "mu_max")
    _, errors = solution.history.column("rel_l2")
    assert errors[-1] < errors[0]


@pytest.mark.parametrize("options, reason", [({"gtol": 1e6}, "gtol"), ({"xtol": 1e6}, "xtol"),
                                             ({"mu_max": 1e-30, "damping": 1e-31}, None)])
def test_stop_reasons(options, reason):
    solution = kp.solve(poisson_problem(), kp.KAN([2, 3, 1], grid=3, seed=0),
                        kp.TrainConfig(schedule=[kp.LM(5, **options)], **SMALL))
    stage = solution.history.stages[0]
    if reason is None:  # mu_max below the start: stops at the first rejected step, if any
        assert stage["stop"] in ("mu_max", "steps")
    else:
        assert stage["stop"] == reason and not solution.history.steps


def test_lm_in_a_schedule_with_grid_refinement_an_mlp_and_a_system():
    solution = kp.solve(poisson_problem(), kp.KAN([2, 4, 1], grid=3, seed=0),
                        kp.TrainConfig(schedule=[kp.Adam(5), kp.LM(3, grid=6)], **SMALL))
    assert solution.network.grid == 6 and [s["label"] for s in solution.history.stages] == ["Adam lr=0.01", "LM grid=6"]
    small = {**SMALL, "interior_points": 30, "boundary_points": 8}
    mlp = kp.solve(poisson_problem(), kp.MLP([2, 8, 1], seed=0), kp.TrainConfig(schedule=[kp.LM(2)], **small))
    _, loss = mlp.history.column("loss")
    assert len(loss) == 2 and loss[-1] < loss[0]
    problem = _system_problem()
    system = kp.solve(problem, kp.KAN([problem.input_dim, 3, 2], grid=4, seed=0),
                      kp.TrainConfig(schedule=[kp.LM(3)], **small))
    _, loss = system.history.column("loss")
    assert loss[-1] < loss[0]


def test_inverse_problem_with_lm_recovers_the_coefficient():
    """u'' = a on [0, 1] with data from u = x^2 (as in test_train): LM alone finds a = 2."""
    x = np.linspace(0.05, 0.95, 19)[:, None]
    problem = kp.Problem(kp.Interval(0, 1), lambda x, u, p: u.d("x", "x") - p["a"],
                         [kp.Data(x, x[:, 0] ** 2)], parameters={"a": 0.5})
    solution = kp.solve(problem, kp.KAN([1, 4, 1], seed=0), kp.TrainConfig(schedule=[kp.LM(20)], **SMALL))
    assert solution.parameters["a"] == pytest.approx(2.0, rel=2e-3)  # Adam + L-BFGS: 2e-2


def test_lm_stage_validation():
    with pytest.raises(ValueError, match="Pick one of"):
        kp.LM(5, solver="svd")
    with pytest.raises(ValueError, match="damping"):
        kp.LM(5, damping=0.0)
    with pytest.raises(ValueError, match="chunk"):
        kp.LM(5, chunk=0)
    with pytest.raises(TypeError):
        kp.LM(5, 10)  # options beyond steps are keyword-only
    assert kp.TrainConfig(schedule=[kp.LM(2, grid=10)]).to_dict()["schedule"][0]["type"] == "LM"


def _script(name):
    from conftest import load_script

    return load_script(name)


def test_lm_accuracy_script_runs_both_sides(capsys):
    rows = _script("lm_accuracy").main(["--problems", "poisson2d", "--seeds", "0", "--scale", "0.05", "--stages", "2"])
    assert [r["method"] for r in rows] == ["Adam+L-BFGS", "LM"]
    assert all(r["rel_l2"] > 0 and r["time"] > 0 for r in rows)
    out = capsys.readouterr().out
    assert "worst seed per method" in out and "L-BFGS iterations" in out


def test_gram_benchmark_times_both_products_and_they_agree(capsys):
    rows = _script("bench_gram").main(["--grids", "10", "80", "--points", "300", "--repeats", "1", "--threads", "1"])
    assert [r["grid"] for r in rows] == [10, 80] and rows[1]["fill"] < rows[0]["fill"]
    assert all(r["rel_diff"] < 1e-12 and r["dense_s"] > 0 and r["sparse_s"] > 0 and r["supported_s"] > 0 for r in rows)
    assert "ratio" in capsys.readouterr().out


def test_jacobian_timing_reports_both_methods(capsys):
    out = _script("lm_accuracy").jacobian_timing(points=40, grid=4)
    assert set(out) == {"taps", "batched"} and all(t > 0 for t in out.values())
    assert "faster" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["poisson2d", "poisson2d_paper", "helmholtz2d"])
def test_problem_modules_recommend_lm_configs(name):
    import problems
    config = problems.get(name).config()
    assert isinstance(config, kp.TrainConfig) and any(isinstance(s, kp.LM) for s in config.schedule)


@pytest.mark.slow
@pytest.mark.parametrize("name, bound", [("poisson2d", 1e-6), ("poisson2d_paper", 1e-8)])
def test_recommended_lm_config_accuracy(name, bound):
    """The figures of scripts/lm_accuracy.py (seed 0), 2 threads."""
    torch.set_num_threads(2)
    row = _script("lm_accuracy").run(name, "LM", seed=0)
    assert row["rel_l2"] <= bound


@pytest.mark.slow
def test_helmholtz_recommended_config_accuracy():
    """helmholtz2d's config() (LM on grids 5 -> 120, 40 000 points, one Galerkin iteration), seed 0, 2 threads:
    measured 9.14e-6 (1.17e-5 before the Galerkin iteration), about 15 minutes beside other runs."""
    torch.set_num_threads(2)
    row = _script("time_accuracy").run("helmholtz2d", 0)
    assert row["rel_l2"] <= 1e-5


def test_default_schedule_runs_lm_and_has_an_lbfgs_twin():
    assert any(isinstance(s, kp.LM) for s in kp.TrainConfig().schedule)
    twin, schedule = kp.default_schedule(lm=False), kp.default_schedule()
    assert [s.grid for s in twin] == [s.grid for s in schedule[:-1]]  # the same grids, no Galerkin iteration
    assert schedule[-1] == kp.LM(1, galerkin=kp.Galerkin())
    assert not any(getattr(s, "galerkin", None) for s in schedule[:-1])
    assert not any(isinstance(s, kp.LM) for s in twin)
    causal = kp.TrainConfig(causal=kp.Causal(), **{**SMALL, "interior_points": 20})
    sized = Trainer(_heat_problem(), kp.KAN([2, 2, 1], seed=0), causal).config.schedule
    assert sized == kp.default_schedule(final_grid=80)  # a small KAN: the default ends on grid 80


def _heat_problem():
    return kp.Problem(kp.Interval(0, 1) * kp.TimeInterval(0, 1), lambda x, u: u.d("t") - u.d("x", "x"),
                      [kp.Initial(lambda x: torch.sin(PI * x[:, :1])), kp.Dirichlet(0.0)])


def test_causal_residual_vector_is_the_causal_loss_and_its_jacobian():
    """Under causal training the PDE rows carry sqrt(w_i / (M n_i)): |r|^2 is Trainer.total with the
    same (held) chunk weights, and J scales alike."""
    trainer = _trainer(_heat_problem(), kp.KAN([2, 3, 1], grid=4, seed=0), causal=kp.Causal(chunks=5, eps=[3.0]),
                       interior_points=40)
    trainer.causal.begin_step(freeze=True)
    r, J = lm.jacobian(trainer, chunk=13)
    weights = trainer.causal.weights
    assert float(weights[-1]) < 0.999 and float(weights[0]) == 1.0  # the later chunks really weigh less
    loss = float(trainer.total(trainer.loss_terms()).detach())      # the held weights
    assert math.isclose(float(r @ r), loss, rel_tol=1e-12)
    assert torch.equal(trainer.causal.weights, weights)
    _, J_ref = _autograd_jacobian(trainer)
    assert (J - J_ref).abs().max() <= 1e-10 * float(J_ref.abs().max())


def test_lm_with_causal_weights_lowers_the_loss_and_records_the_weights():
    config = kp.TrainConfig(schedule=[kp.LM(6, grid=4)], causal=kp.Causal(chunks=4, eps=[1e-2, 1.0]),
                            **{**SMALL, "interior_points": 40})
    solution = kp.solve(_heat_problem(), kp.KAN([2, 3, 1], grid=4, seed=0), config)
    _, loss = solution.history.column("loss")
    assert loss[-1] < loss[0]
    _, min_w = solution.history.column("causal_min_w")
    assert len(min_w) == len(loss) and all(0 < w <= 1 for w in min_w)
    assert solution.history.causal and len(solution.history.causal[0]["weights"]) == 4


def test_time_accuracy_script_runs_the_recommended_config(capsys):
    rows = _script("time_accuracy").main(["--problems", "wave1d", "--seeds", "1", "--scale", "0.01",
                                          "--stages", "2"])
    assert [(r["problem"], r["seed"]) for r in rows] == [("wave1d", 1)]
    assert all(0 < r["rel_l2"] < 10 for r in rows)
    assert "worst seed" in capsys.readouterr().out


def test_taps_jacobian_inside_a_time_window_equals_the_batched_one():
    """A time-marching window (u = u_prev(x, t_k) + (t - t_k) N, periodic embedding) takes the fast path."""
    from kanpde.pde.windows import initial_data, window_plan
    from kanpde.train.marching import window_problem

    problem = kp.Problem(kp.Interval(-1, 1) * kp.TimeInterval(0, 1),
                         lambda x, u: u.d("t") - 0.1 * u.d("x", "x") + u.value ** 3,
                         [kp.Periodic("x"), kp.Initial(lambda x: torch.cos(PI * x[:, :1]))])
    plan = window_plan(problem)
    first = plan.window(kp.KAN([problem.input_dim, 3, 1], grid=4, seed=0).double(), 0.0, 1, 1,
                        data=initial_data(problem.all_conditions, 1))
    second = plan.window(kp.KAN([problem.input_dim, 3, 1], grid=4, seed=1).double(), 0.5, 1, 1, previous=first)
    trainer = _trainer(window_problem(problem, 0.5, 1.0, plan), second, interior_points=30)
    assert jacobian.uses_taps(trainer)
    r1, J1 = lm.jacobian(trainer, chunk=11, method="taps")
    r2, J2 = lm.jacobian(trainer, chunk=11, method="batched")
    assert torch.allclose(r1, r2, rtol=0, atol=1e-13)
    assert J1.abs().max() > 0 and (J1 - J2).abs().max() <= 1e-10 * float(J2.abs().max())


def test_local_order_is_a_permutation_that_keeps_neighbours_together():
    from kanpde.train.jacobian import local_order

    x = torch.rand(4096, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    order = local_order(x)
    assert sorted(order.tolist()) == list(range(4096))
    step = lambda p: float((p[1:] - p[:-1]).norm(dim=1).mean())  # noqa: E731
    assert step(x[order]) < step(x) / 10                               # consecutive points lie close
    assert len(local_order(x[:1])) == 1 and len(local_order(torch.rand(50, 9))) == 50  # 9-D: fewer bits each
