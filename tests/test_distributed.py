"""Data-parallel training on torch.distributed (2 gloo processes on CPU) equals one process."""

import json

import numpy as np
import pytest
import torch
import torch.distributed as dist

import kanpde as kp
from conftest import poisson_problem


def soft_problem():
    """Dirichlet data as a loss term, so the ranks also shard boundary points."""
    return poisson_problem(conditions=[kp.Dirichlet(0.0, hard=False)])
from kanpde.train import Trainer
from kanpde.train.distributed import DataParallel, launch, shard_slice

ADAM, LBFGS = 50, 20


def config(**kwargs):
    # grid refinement (grid=8), grow-only grid updates and RAD resampling (every 20 Adam steps) run inside the window;
    # gradnorm weights (NTK's Hutchinson probes depend on how the points are split) and no best-model restore
    # (one process only): the ranks must take the single process's steps
    kwargs = {"balance": "gradnorm", "keep_best": False, **kwargs}
    return kp.TrainConfig(interior_points=120, boundary_points=61, seed=3, verbose=False, resample_every=20,
                          adaptive="rad", schedule=[kp.Adam(ADAM, lr=1e-2), kp.LBFGS(LBFGS, grid=8)], **kwargs)


def train(**kwargs):
    """One float64 training run; returns the solution and its predictions on a test grid."""
    problem = soft_problem()
    solution = kp.solve(problem, kp.KAN([2, 4, 1], grid=5, seed=1), config(**kwargs))
    grid, _ = problem.domain.grid(17)
    return solution, solution.predict(grid)


def worker():
    """Rank body: train data-parallel, and check what the ranks hold against each other."""
    solution, prediction = train()
    parallel = DataParallel(enabled=True)
    params = torch.cat([p.detach().reshape(-1) for p in solution.network.parameters()])
    gathered = parallel.gather_rows(params.unsqueeze(0))                 # (world, P)
    problem = soft_problem()
    trainer = Trainer(problem, kp.KAN([2, 4, 1], grid=5, seed=1), config())
    interior = parallel.gather_rows(trainer.points.interior)             # every rank's shard, in rank order
    boundary = parallel.gather_rows(trainer.points.conditions[0].points)
    return {"steps": solution.history.steps, "prediction": prediction, "world": dist.get_world_size(),
            "rank_spread": float((gathered - gathered[0]).abs().max()), "local": len(trainer.points.interior),
            "interior": interior.numpy(), "boundary": boundary.numpy()}


@pytest.fixture(scope="module")
def runs():
    single, single_prediction = train(distributed=False)
    return (single.history.steps, single_prediction), launch(worker, 2, threads=1)


def test_shard_slices_partition_the_points():
    for n in (0, 1, 7, 300):
        for world in (1, 2, 3, 5):
            covered = np.concatenate([np.arange(n)[shard_slice(n, r, world)] for r in range(world)])
            assert np.array_equal(covered, np.arange(n))


def test_two_ranks_hold_disjoint_shards_of_the_single_process_points(runs):
    _, parallel = runs
    single = Trainer(soft_problem(), kp.KAN([2, 4, 1], grid=5, seed=1), config(distributed=False))
    assert parallel["world"] == 2 and parallel["local"] == 60
    assert np.array_equal(parallel["interior"], single.points.interior.numpy())
    assert np.array_equal(parallel["boundary"], single.points.conditions[0].points.numpy())


def test_two_ranks_train_like_one_process(runs):
    (single_steps, single_prediction), parallel = runs
    assert parallel["rank_spread"] == 0.0                                # identical models on both ranks
    adam = [r for r in single_steps if r["stage"] == 0]
    lbfgs_iterations = sum(r["iterations"] for r in single_steps if r["stage"] == 1)
    assert len(adam) == ADAM and lbfgs_iterations == LBFGS
    assert [r["step"] for r in parallel["steps"]] == [r["step"] for r in single_steps]
    for name in ("loss", "pde", "dirichlet", "rel_l2"):
        one = np.array([r[name] for r in single_steps if name in r])
        two = np.array([r[name] for r in parallel["steps"] if name in r])
        assert len(one) == len(two) > 0
        np.testing.assert_allclose(two, one, rtol=1e-10, atol=0)
    assert single_steps[-1]["loss"] < 0.2 * single_steps[0]["loss"]   # it trained (weights move the scale)
    np.testing.assert_allclose(parallel["prediction"], single_prediction, rtol=1e-10, atol=1e-12)


def test_global_mean_is_plain_mean_alone():
    values = torch.arange(6.0, requires_grad=True)
    assert DataParallel().global_mean(values).item() == 2.5


def test_distributed_true_without_a_group_is_a_clear_error():
    with pytest.raises(ValueError, match="torchrun"):
        kp.solve(poisson_problem(), kp.KAN([2, 3, 1], grid=3, seed=0), config(distributed=True))
    with pytest.raises(TypeError, match="distributed"):
        kp.TrainConfig(distributed="yes")


def test_cli_rejects_bad_nproc(capsys):
    from kanpde.cli import main

    assert main(["solve", "poisson2d", "--nproc", "0"]) == 2
    assert "--nproc must be an integer >= 1" in capsys.readouterr().err


def test_launch_rejects_bad_nproc():
    with pytest.raises(ValueError, match="nproc"):
        launch(worker, 0)


def test_cli_nproc_2_writes_the_same_files_once(tmp_path, monkeypatch):
    import os

    import kanpde.files
    from kanpde.cli import main
    from kanpde.io import plotting, results, solution, writers

    log = tmp_path / "writes.log"
    original = kanpde.files.atomic_write

    def logged(path, write):  # forked workers inherit the patch and append to one log
        with open(log, "a") as f:
            f.write(f"{os.getpid()} {path}\n")
        return original(path, write)

    for module in (kanpde.files, writers, plotting, results, solution):
        monkeypatch.setattr(module, "atomic_write", logged)
    tiny = ["--adam-steps", "10", "--lbfgs-steps", "5", "--grid-schedule", "3,5", "--widths", "2,3,1",
            "--points", "60", "--boundary-points", "40", "--quiet", "--config", "default"]
    assert main(["solve", "poisson2d", *tiny, "--out", str(tmp_path / "one")]) == 0
    log.rename(tmp_path / "one.log")
    assert main(["solve", "poisson2d", *tiny, "--nproc", "2", "--out", str(tmp_path / "two")]) == 0

    one, two = (sorted(p.name for p in (tmp_path / d).iterdir()) for d in ("one", "two"))
    assert one == two and "summary.json" in two and "model.pt" in two
    writes = [line.split() for line in log.read_text().splitlines()]
    assert len({pid for pid, _ in writes}) == 1                          # one process wrote
    assert sorted(os.path.basename(p) for _, p in writes) == sorted(set(os.path.basename(p) for _, p in writes))
    summaries = [json.loads((tmp_path / d / "summary.json").read_text()) for d in ("one", "two")]
    assert summaries[1]["errors"]["rel_l2"] == pytest.approx(summaries[0]["errors"]["rel_l2"], rel=1e-8)
    assert summaries[1]["final_loss"] == pytest.approx(summaries[0]["final_loss"], rel=1e-8)
    from problems import load_problem  # the CLI resolved the name; the library never does

    models = [kp.Solution.load(tmp_path / d / "model.pt", problem=load_problem("poisson2d")) for d in ("one", "two")]
    grid = np.random.default_rng(0).uniform(-1, 1, (50, 2))
    np.testing.assert_allclose(models[1].predict(grid), models[0].predict(grid), rtol=1e-8, atol=1e-12)


@pytest.mark.slow
def test_torchrun_example_script_trains_on_two_ranks(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHON": sys.executable, "PYTHONPATH": str(root)}
    run = subprocess.run(["bash", str(root / "scripts" / "torchrun_example.sh"), str(tmp_path / "out")], env=env,
                         cwd=root, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["errors"]["rel_l2"] < 0.05
    assert {"model.pt", "solution.vtu", "summary.json"} <= {p.name for p in (tmp_path / "out").iterdir()}
    assert run.stdout.count("rel L2") == 1                               # one table: rank 0 only


# -- Levenberg-Marquardt on 2 ranks: each rank's rows of J are its points, J^T J and J^T r all-reduced


def heat_problem():
    return kp.Problem(kp.Interval(0, 1) * kp.TimeInterval(0, 1), lambda x, u: u.d("t") - u.d("x", "x"),
                      [kp.Initial(lambda x: torch.sin(torch.pi * x[:, :1])), kp.Dirichlet(0.0, hard=False)])


LM_CASES = {  # name -> (problem, model widths, extra config)
    "soft": (soft_problem, [2, 4, 1], {}),
    "hard": (poisson_problem, [2, 4, 1], {}),  # Dirichlet built in: PDE rows only
    "causal": (heat_problem, [2, 3, 1], {"causal": kp.Causal(chunks=4, eps=[3.0])}),
    "one_datum": (lambda: poisson_problem(conditions=[kp.Dirichlet(0.0, hard=False), kp.Data([[0.1, 0.2]], [0.3])]),
                  [2, 3, 1], {}),  # rank 0 holds no point of the data term
}


def normal_equations(case, **kwargs):
    """The LM system of one case: global J^T J, J^T r, |r|^2, term means and the damped steps of every solver."""
    from kanpde.train import lm

    make, widths, extra = LM_CASES[case]
    cfg = kp.TrainConfig(interior_points=70, boundary_points=31, seed=2, verbose=False, schedule=[kp.LM(1)],
                         **extra, **kwargs)
    trainer = Trainer(make(), kp.KAN(widths, grid=4, seed=1).double(), cfg)
    with torch.enable_grad():
        loss = float(trainer.total(trainer.loss_terms()).detach())  # also records which derivatives the residuals need
        if trainer.causal is not None:
            trainer.causal.begin_step(freeze=True)
        terms = {}
        r, J = lm.jacobian(trainer, chunk=13, terms=terms)
    system = lm.GaussNewton(J, r, "cholesky", parallel=trainer.parallel)
    steps = {s: lm.GaussNewton(J, r, s, parallel=trainer.parallel).step(0.1).numpy() for s in ("cholesky", "qr", "cg")}
    return {"normal": system.normal.numpy(), "g": system.g.numpy(), "loss": system.loss, "trainer_loss": loss,
            "terms": terms, "steps": steps, "rows": len(r)}


def lm_config(**kwargs):
    # the three solvers, grid refinement and an Adam warm-up; eval_every=2 records errors along the way
    kwargs = {"balance": "gradnorm", "keep_best": False, **kwargs}  # as config(): the single process's steps
    return kp.TrainConfig(interior_points=90, boundary_points=41, seed=4, verbose=False, eval_every=2,
                          schedule=[kp.Adam(5, lr=1e-2), kp.LM(3), kp.LM(2, grid=6, solver="qr"),
                                    kp.LM(2, solver="cg")], **kwargs)


def lm_train(**kwargs):
    solution = kp.solve(soft_problem(), kp.KAN([2, 4, 1], grid=4, seed=1), lm_config(**kwargs))
    return solution.history.steps, torch.cat([p.detach().reshape(-1) for p in solution.network.parameters()]).numpy()


def galerkin_train(**kwargs):
    """LM with Galerkin rows: each rank integrates its share of the quadrature points, rank 0 holds the rows."""
    kwargs = {"balance": "gradnorm", "keep_best": False, **kwargs}  # as config(): the single process's steps
    config = kp.TrainConfig(interior_points=90, boundary_points=41, seed=4, verbose=False, **kwargs,
                            schedule=[kp.LM(3, galerkin=kp.Galerkin(modes=2, points=301, chunk=64))])
    solution = kp.solve(soft_problem(), kp.KAN([2, 4, 1], grid=4, seed=1), config)
    return solution.history.steps, torch.cat([p.detach().reshape(-1) for p in solution.network.parameters()]).numpy()


def lm_worker():
    """Rank body: the LM systems of every case, short LM training runs (plain and with Galerkin rows),
    and the default schedule kept."""
    steps, params = lm_train()
    spread = DataParallel(enabled=True).gather_rows(torch.as_tensor(params).unsqueeze(0))  # (world, P)
    default = Trainer(soft_problem(), kp.KAN([2, 3, 1], grid=3, seed=0), kp.TrainConfig(verbose=False))
    return {"systems": {case: normal_equations(case) for case in LM_CASES}, "steps": steps, "params": params,
            "rank_spread": float((spread - spread[0]).abs().max()), "default": default.config.schedule,
            "parallel": default.parallel.enabled, "galerkin": galerkin_train()}


@pytest.fixture(scope="module")
def lm_runs():
    return launch(lm_worker, 2, threads=1)


@pytest.mark.parametrize("case", list(LM_CASES))
def test_two_ranks_sum_to_the_single_process_normal_equations(lm_runs, case):
    one, two = normal_equations(case, distributed=False), lm_runs["systems"][case]
    assert two["rows"] < one["rows"]                                    # rank 0 holds its shard's rows only
    scale = np.abs(one["normal"]).max()
    np.testing.assert_allclose(two["normal"], one["normal"], rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(two["g"], one["g"], rtol=0, atol=1e-10 * np.abs(one["g"]).max())
    assert two["loss"] == pytest.approx(one["loss"], rel=1e-10)
    assert two["loss"] == pytest.approx(two["trainer_loss"], rel=1e-10)  # |r|^2 is the trainer's global loss
    assert two["terms"].keys() == one["terms"].keys()
    for name in one["terms"]:
        assert two["terms"][name] == pytest.approx(one["terms"][name], rel=1e-10)
    for solver, step in one["steps"].items():                            # cholesky, qr (TSQR), cg (reduced J^T J v)
        np.testing.assert_allclose(two["steps"][solver], step, rtol=0, atol=1e-8 * np.abs(step).max())


def test_two_ranks_take_the_single_process_lm_steps(lm_runs):
    one_steps, one_params = lm_train(distributed=False)
    assert lm_runs["rank_spread"] == 0.0                                 # identical parameters on both ranks
    assert [r["step"] for r in lm_runs["steps"]] == [r["step"] for r in one_steps]
    assert sum(r["stage"] > 0 for r in one_steps) == 7                   # every LM iteration ran
    for name in ("loss", "pde", "dirichlet", "rel_l2"):
        one = np.array([r[name] for r in one_steps if name in r])
        two = np.array([r[name] for r in lm_runs["steps"] if name in r])
        assert len(one) == len(two) > 0
        np.testing.assert_allclose(two, one, rtol=1e-8, atol=0)
    lm_losses = [r["loss"] for r in one_steps if r["stage"] > 0]       # the loss each accepted step started from
    for stage in (1, 2, 3):  # LM only takes loss-lowering steps (the balancer's weights change between stages)
        losses = [r["loss"] for r in one_steps if r["stage"] == stage]
        assert all(b < a for a, b in zip(losses, losses[1:]))
    unweighted = [r["pde"] + r["dirichlet"] for r in one_steps if r["stage"] > 0]  # weights differ between stages
    assert unweighted[-1] < unweighted[0] and len(lm_losses) == 7
    np.testing.assert_allclose(lm_runs["params"], one_params, rtol=0, atol=1e-8 * np.abs(one_params).max())


def test_two_ranks_take_the_single_process_lm_steps_with_galerkin_rows(lm_runs):
    (one_steps, one_params), (two_steps, two_params) = galerkin_train(distributed=False), lm_runs["galerkin"]
    assert len(one_steps) == len(two_steps) == 3
    for name in ("loss", "pde", "galerkin"):
        np.testing.assert_allclose([r[name] for r in two_steps], [r[name] for r in one_steps], rtol=1e-8, atol=0)
    assert all(r["galerkin"] > 0 and r["loss"] > 0 for r in one_steps)
    np.testing.assert_allclose(two_params, one_params, rtol=0, atol=1e-8 * np.abs(one_params).max())


def test_data_parallel_default_schedule_keeps_its_lm_stages(lm_runs):
    assert lm_runs["parallel"] and lm_runs["default"] == kp.default_schedule(final_grid=80)  # sized: a small KAN
    assert any(isinstance(s, kp.LM) for s in lm_runs["default"])
