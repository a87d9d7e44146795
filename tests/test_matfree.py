"""Matrix-free Levenberg-Marquardt: J's compact rows, the Nystrom-preconditioned CG step, the memory model,
the stage, and two gloo ranks against one process."""

import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde.train import lm
from kanpde.train.distributed import DataParallel, launch
from kanpde.train.jacobian import Rows
from kanpde.train.matfree import MatrixFree, Nystrom, conjugate_gradients
from kanpde.train.trainer import Trainer

from conftest import poisson_problem


def soft_problem():
    return poisson_problem(conditions=[kp.Dirichlet(0.0, hard=False)])


def _trainer(model, **kwargs):
    config = kp.TrainConfig(**{**dict(interior_points=150, boundary_points=40, seed=2, verbose=False,
                                      schedule=[kp.LM(1)]), **kwargs})
    trainer = Trainer(soft_problem(), model.double(), config)
    with torch.enable_grad():
        trainer.total(trainer.loss_terms())  # records which derivatives the residuals need
    return trainer


def _both(trainer, chunk=32):
    with torch.enable_grad():
        r, J = lm.jacobian(trainer, chunk=chunk)
        r2, rows = lm.jacobian(trainer, chunk=chunk, compact=True)
    return r, J, r2, rows


@pytest.mark.parametrize("model", [kp.KAN([2, 4, 1], grid=30, seed=1), kp.MLP([2, 8, 1])], ids=["kan", "mlp"])
def test_compact_rows_give_the_dense_jacobians_products(model):
    r, J, r2, rows = _both(_trainer(model))
    assert torch.equal(r, r2) and rows.shape == J.shape
    v, w = torch.randn(J.shape[1], dtype=J.dtype), torch.randn(J.shape[0], dtype=J.dtype)
    scale = float(J.abs().max())
    torch.testing.assert_close(rows.matmul(v), J @ v, rtol=0, atol=1e-12 * scale * v.abs().sum())
    torch.testing.assert_close(rows.rmatmul(w), J.T @ w, rtol=0, atol=1e-12 * scale * w.abs().sum())
    torch.testing.assert_close(rows.square_columns(), (J * J).sum(0), rtol=1e-12, atol=0)
    if isinstance(model, kp.KAN):  # grid 30: each point touches 4 of 33 coefficients per edge
        assert any(block.sparse for block in rows.blocks) and rows.nbytes() < J.numel() * J.element_size() / 2


@pytest.mark.parametrize("scaling", ["marquardt", "levenberg"])
@pytest.mark.parametrize("mu", [1e-2, 1e-6])
def test_matrix_free_step_equals_the_cholesky_step(scaling, mu):
    r, J, _, rows = _both(_trainer(kp.KAN([2, 4, 1], grid=12, seed=1)))
    dense = lm.GaussNewton(J, r, "cholesky").step(mu, scaling)
    system = MatrixFree(rows, r, sketch=150)
    assert system.loss == pytest.approx(float(r @ r), rel=1e-12)
    step = system.step(mu, scaling)
    D = lm._scaling((J * J).sum(0), scaling)                           # (P,)
    g, S = J.T @ r, D.rsqrt()
    residual = S * ((J.T @ J) @ step + mu * D * step + g)              # CG's, in y = D^(1/2) delta
    assert float(residual.norm()) <= 2e-9 * float((S * g).norm())
    assert float((step - dense).norm()) <= 1e-4 * float(dense.norm())  # the condition number reaches 1e7
    assert system.predicted_loss(step) == pytest.approx(float((r + J @ step).pow(2).sum()), rel=1e-10)
    assert system.predicted_loss(step) < system.loss                  # a Gauss-Newton step lowers the model


def test_nystrom_is_exact_for_a_low_rank_operator_and_preconditions_cg():
    gen = torch.Generator().manual_seed(0)
    factor = torch.randn(60, 5, generator=gen, dtype=torch.float64) * torch.logspace(0, 2, 5, dtype=torch.float64)
    H = factor @ factor.T                                               # rank 5, eigenvalues 10 .. 1e6
    approx = Nystrom(lambda V: H @ V, 60, 8)
    torch.testing.assert_close(approx.U @ torch.diag(approx.lam) @ approx.U.T, H, rtol=0, atol=1e-12 * float(H.abs().max()))
    b = torch.randn(60, generator=gen, dtype=torch.float64)
    mu = 1e-1
    plain, plain_iterations = conjugate_gradients(lambda v: H @ v + mu * v, b, lambda v: v, maxiter=500)
    x, iterations = conjugate_gradients(lambda v: H @ v + mu * v, b, lambda v: approx.inverse(v, mu))
    torch.testing.assert_close(x, torch.linalg.solve(H + mu * torch.eye(60, dtype=H.dtype), b), rtol=1e-7, atol=0)
    assert iterations <= 3 < plain_iterations                          # the spectrum is one cluster after it


def lm_losses(solver, preconditioner="auto"):
    solution = kp.solve(soft_problem(), kp.KAN([2, 5, 1], grid=10, seed=0),
                        kp.TrainConfig(interior_points=200, boundary_points=60, seed=0, verbose=False,
                                       schedule=[kp.Adam(20, lr=1e-2),
                                                 kp.LM(12, solver=solver, preconditioner=preconditioner)]))
    return [r["loss"] for r in solution.history.steps if r["stage"] == 1], solution.history.stages[-1]["solver"]


@pytest.mark.parametrize("preconditioner", ["normal", "nystrom"])
def test_lm_stage_with_the_matrix_free_solver_takes_the_dense_steps(preconditioner):
    dense, dense_solver = lm_losses("dense")
    losses, solver = lm_losses("cg", preconditioner)
    assert dense_solver == "cholesky" and solver == f"matrix-free ({preconditioner})"
    assert all(b < a for a, b in zip(losses, losses[1:]))              # only loss-lowering steps
    assert losses[-1] < 0.1 * losses[0]
    np.testing.assert_allclose(losses, dense, rtol=1e-8, atol=0)


def test_solver_dense_is_cholesky_and_bad_solvers_are_named():
    assert lm.choose_solver(kp.LM(1, solver="dense"), _trainer(kp.KAN([2, 3, 1], grid=4)), 100)[0] == "cholesky"
    assert lm.choose_solver(kp.LM(1), _trainer(kp.KAN([2, 3, 1], grid=4)), 100)[0] == "cholesky"  # small: as before
    with pytest.raises(ValueError, match="solver.*Pick one of"):
        kp.LM(1, solver="nystrom")
    with pytest.raises(ValueError, match="max_memory"):
        kp.TrainConfig(max_memory=-1)


def test_memory_budget_picks_matrix_free_shrinks_the_chunk_or_refuses():
    trainer = _trainer(kp.KAN([2, 6, 1], grid=40, seed=0), interior_points=20000)
    P = sum(p.numel() for p in trainer.trainable())
    rows, nonzeros = lm.row_count(trainer), lm.nonzeros_per_row(trainer, P)
    assert nonzeros < P / 4                                             # a fine grid's J is sparse
    model = lm.memory_model(rows, P, nonzeros, 1024)
    assert model["nystrom"] < model["normal"] < model["dense"] / 3
    trainer.config.max_memory = (model["normal"] + model["dense"]) / 2  # dense does not fit, matrix-free does
    assert lm.choose_solver(kp.LM(1), trainer, P) == ("cg", 1024, "normal")
    trainer.config.max_memory = (model["normal"] + model["nystrom"]) / 2  # P^2 does not fit: the sketch
    assert lm.choose_solver(kp.LM(1), trainer, P) == ("cg", 1024, "nystrom")
    squeezed = lm.memory_model(rows, P, nonzeros, 64)["nystrom"]
    trainer.config.max_memory = squeezed * 1.01                         # fits only with a smaller chunk
    solver, chunk, preconditioner = lm.choose_solver(kp.LM(1, solver="cg", preconditioner="nystrom"), trainer, P)
    assert solver == "cg" and chunk <= 64
    trainer.config.max_memory = 1e3
    with pytest.raises(ValueError, match="max_memory allows"):
        lm.choose_solver(kp.LM(1, solver="cg"), trainer, P)
    with pytest.raises(ValueError, match="max_memory allows"):     # refused before the stage trains
        kp.solve(soft_problem(), kp.KAN([2, 3, 1], grid=5), kp.TrainConfig(
            interior_points=100, boundary_points=20, verbose=False, max_memory=1e3, schedule=[kp.LM(2)]))


def matfree_train(**kwargs):
    config = kp.TrainConfig(interior_points=90, boundary_points=41, seed=4, verbose=False, balance=None,
                            schedule=[kp.Adam(5, lr=1e-2), kp.LM(5, solver="cg", preconditioner="nystrom", sketch=20)], **kwargs)
    solution = kp.solve(soft_problem(), kp.KAN([2, 4, 1], grid=6, seed=1), config)
    params = torch.cat([p.detach().reshape(-1) for p in solution.network.parameters()])
    return solution.history.steps, params.numpy()


def matfree_worker():
    steps, params = matfree_train()
    spread = DataParallel(enabled=True).gather_rows(torch.as_tensor(params).unsqueeze(0))  # (world, P)
    return {"steps": steps, "params": params, "rank_spread": float((spread - spread[0]).abs().max())}


def test_two_gloo_ranks_reproduce_one_process_over_five_matrix_free_iterations():
    one_steps, one_params = matfree_train(distributed=False)
    two = launch(matfree_worker, 2, threads=1)
    assert two["rank_spread"] == 0.0
    lm_one = [r for r in one_steps if r["stage"] == 1]
    lm_two = [r for r in two["steps"] if r["stage"] == 1]
    assert len(lm_one) == len(lm_two) == 5
    np.testing.assert_allclose([r["loss"] for r in lm_two], [r["loss"] for r in lm_one], rtol=1e-8, atol=0)
    np.testing.assert_allclose(two["params"], one_params, rtol=0, atol=1e-8 * np.abs(one_params).max())
    assert lm_one[-1]["loss"] < lm_one[0]["loss"]


@pytest.mark.parametrize("case", ["soft", "hard", "system", "learnable"])
def test_sparse_rows_from_the_taps_equal_the_dense_jacobian(case):
    from test_lm import CASES, _trainer as lm_trainer

    problem, model = CASES[case]()
    trainer = lm_trainer(problem, model, interior_points=30, boundary_points=8)
    r, J = lm.jacobian(trainer, chunk=13)
    r2, rows = lm.jacobian(trainer, chunk=13, compact=True)
    dense = rows.matmul(torch.eye(J.shape[1], dtype=J.dtype))           # (M, P) from the compact rows
    assert torch.equal(r, r2) and J.abs().max() > 0.1
    torch.testing.assert_close(dense, J, rtol=0, atol=1e-12 * float(J.abs().max()))
    single = lm.jacobian(trainer, chunk=13, compact=True, store=torch.float32)[1]
    torch.testing.assert_close(single.matmul(torch.eye(J.shape[1], dtype=J.dtype)), J, rtol=0,
                               atol=1e-6 * float(J.abs().max()))      # float32 storage: its round-off only


@pytest.mark.parametrize("kind", ["dense", "nystrom", "normal"])
def test_memory_model_grows_with_rows_parameters_nonzeros_and_chunk(kind):
    base = dict(rows=20000, n_params=3000, nonzeros=200, chunk=512)
    at = lm.memory_model(**base)[kind]
    for name in base:
        assert lm.memory_model(**{**base, name: 2 * base[name]})[kind] >= at, name
    assert lm.memory_model(**{**base, "rows": 40000})[kind] > at          # every kind stores J's rows
    assert lm.memory_model(**base, itemsize=4)[kind] <= at               # float32 rows are never larger


def test_the_schedule_is_planned_before_training_and_refused_naming_the_stage():
    model = kp.KAN([2, 6, 1], grid=5, seed=0)
    config = kp.TrainConfig(interior_points=3000, boundary_points=200, seed=0, verbose=False, balance=None,
                            schedule=[kp.Adam(3), kp.LM(2), kp.LM(2, grid=60, points=60000)])
    trainer = Trainer(soft_problem(), model.double(), config)
    planned = lm.plan_schedule(trainer)
    assert [p["stage"] for p in planned] == [1, 2] and [p["grid"] for p in planned] == [5, 60]
    assert planned[1]["params"] == sum(p.numel() for p in model.refine(60).parameters())  # P at the stage's grid
    assert planned[1]["rows"] == planned[0]["rows"] + 57000               # the stage's points: 57 000 more rows
    assert planned[0]["peak_bytes"] < planned[1]["peak_bytes"]
    # a budget between the sketch's need and the planned one: the grid-60 stage changes solver, preconditioner
    # or chunk to fit it
    sketch = lm.memory_model(planned[1]["rows"], planned[1]["params"],
                             lm.nonzeros_per_row(trainer, planned[1]["params"]), 1024)["nystrom"]
    assert sketch < planned[1]["peak_bytes"]
    config.max_memory = (sketch + planned[1]["peak_bytes"]) / 2
    replanned = lm.plan_schedule(trainer)
    assert replanned[1]["peak_bytes"] <= config.max_memory < planned[1]["peak_bytes"]
    choice = ("solver", "preconditioner", "chunk")
    assert [replanned[1][k] for k in choice] != [planned[1][k] for k in choice]
    # a budget below the grid-60 stage's least (the sketch, 16-point chunks) but above the grid-5 one's:
    # refused before the Adam stage takes a step, naming the stage
    def least(p):
        return lm.memory_model(p["rows"], p["params"], lm.nonzeros_per_row(trainer, p["params"]), 16)["nystrom"]
    assert least(planned[0]) < 0.9 * least(planned[1])
    config.max_memory = 0.9 * least(planned[1])
    trainer = Trainer(soft_problem(), kp.KAN([2, 6, 1], grid=5, seed=0).double(), config)
    with pytest.raises(ValueError, match=r"schedule entry 2 \(LM grid=60 points=60000\): LM\(solver='auto'\) needs about "
                                         r".* but max_memory allows .*; use precision='float32'"):
        trainer.run()
    assert trainer.history.steps == []


def test_performance_page_names_the_dense_side_code_and_shows_the_gram_table(tmp_path):
    from conftest import load_script

    script = load_script("matfree_acceptance")
    side = {"wall_s": 10.0, "lm_iterations": 2, "lm_seconds_per_iteration": 4.0, "peak_rss_gib": 1.0,
            "rel_l2": 1e-5, "final_loss": 1e-9, "load_before": [1.0, 1.0, 1.0]}
    rows = [dict(side, solver="dense", stage_solvers=["cholesky"], code="abc1234"),
            dict(side, solver="cg", stage_solvers=["matrix-free (normal)"], wall_s=4.0)]
    data = {"cases": {"demo": {"command": "python x", "date": "today", "machine": "box", "rows": rows,
                               "targets": [{"target": "wall", "limit": 0.5, "measured": 0.4, "met": True}]}}}
    text = script.page(data)
    assert "| dense (code at abc1234) (cholesky) | 10 |" in text and "| wall | 0.5 | 0.4 | yes |" in text
    gram = tmp_path / "gram.json"
    gram.write_text('{"command": "python scripts/bench_gram.py", "date": "today", "threads": 2, "repeats": 1, '
                    '"load": 0.5, "rows": [{"points": 10, "grid": 80, "params": 9, "fill": 0.05, "dense_s": 2.0, '
                    '"sparse_s": 1.0, "supported_s": 0.5, "rel_diff": 1e-15}]}')
    assert "| 10 | 80 | 9 | 5.0% | 2.000 | 1.000 (0.50) | 0.500 (0.25) | 1.0e-15 |" in script.gram_section(gram)
    assert script.gram_section(tmp_path / "none.json") == []


def test_a_forced_dense_solve_on_the_cpu_is_sized_by_its_compact_rows():
    """On the CPU the direct solve forms J^T J from compact rows (no dense J): a forced ``solver="dense"`` that
    fits that need is planned with it, not refused by the dense J's; elsewhere the dense model still holds."""
    trainer = _trainer(kp.KAN([2, 6, 1], grid=40, seed=0), interior_points=20000)
    P = sum(p.numel() for p in trainer.trainable())
    rows, nonzeros = lm.row_count(trainer), lm.nonzeros_per_row(trainer, P)
    model = lm.memory_model(rows, P, nonzeros, 1024)
    budget = (model["normal"] + model["dense"]) / 2
    chosen = lm.plan(kp.LM(1, solver="dense"), rows, P, nonzeros, 1, budget, compact=True)
    assert chosen["solver"] == "cholesky" and chosen["chunk"] == 1024 and chosen["peak_bytes"] == model["normal"]
    with pytest.raises(ValueError, match="max_memory allows"):
        lm.plan(kp.LM(1, solver="dense"), rows, P, nonzeros, 1, model["normal"] / 10, compact=False)
    trainer.config.max_memory = budget
    assert lm.choose_solver(kp.LM(1, solver="dense"), trainer, P)[:2] == ("cholesky", 1024)
