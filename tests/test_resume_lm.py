"""Checkpoints, Ctrl-C and stopping callbacks inside Levenberg-Marquardt stages, and resuming from them."""

from __future__ import annotations

import os
import signal

import pytest
import torch

import kanpde as kp
from kanpde.train.resume import TrainingInterrupted
from test_resume import _problem  # the soft-Dirichlet sine problem the resume tests share

ADAM_STEPS = 3  # the LM stages start at step 4


def _config(**extra):
    """Adam, then two LM stages (grid extension between them, Galerkin rows in the second)."""
    return kp.TrainConfig(interior_points=40, boundary_points=12, seed=3, verbose=False, eval_every=2,
                          dtype=torch.float64, balance="gradnorm",
                          schedule=[kp.Adam(ADAM_STEPS, lr=1e-2), kp.LM(5, grid=4),
                                    kp.LM(4, grid=6, galerkin=kp.Galerkin(points=256, modes=3, max_repeats=1))], **extra)


def _run(resume=None, **extra):
    return kp.solve(_problem(), kp.KAN([2, 3, 1], grid=3), _config(**extra), resume=resume)


def _steps(solution):
    return [{k: v for k, v in r.items() if k not in ("time", "step_time")} for r in solution.history.steps]


def _assert_close(a, b, tol=1e-10):
    """Same history (keys, stages, every value to ``tol`` relative) and the same predictions to ``tol``."""
    steps_a, steps_b = _steps(a), _steps(b)
    assert [sorted(r) for r in steps_a] == [sorted(r) for r in steps_b]
    for ra, rb in zip(steps_a, steps_b):
        for key in ra:
            assert ra[key] == pytest.approx(rb[key], rel=tol, abs=1e-300), (ra["step"], key)
    assert a.history.stages == b.history.stages
    x = torch.linspace(0, 1, 9, dtype=torch.float64)
    grid = torch.cartesian_prod(x, x)
    assert torch.allclose(a.predict(grid), b.predict(grid), rtol=tol, atol=tol)


@pytest.fixture(scope="module")
def uninterrupted():
    solution = _run()
    assert solution.history.steps[-1]["step"] == ADAM_STEPS + 9  # every LM iteration accepted
    return solution


def _stop_at(step):
    return lambda record: record["step"] >= step


@pytest.fixture
def saves(monkeypatch):
    """The steps at which a checkpoint was written."""
    written = []
    original = kp.train.resume.save

    def spy(trainer, *args, **kwargs):
        written.append(trainer.step)
        return original(trainer, *args, **kwargs)

    monkeypatch.setattr(kp.train.resume, "save", spy)
    return written


def test_checkpoint_every_fires_inside_lm_stages(tmp_path, saves):
    _run(checkpoint=tmp_path / "run.ckpt", checkpoint_every=2)
    assert saves == [2, 4, 6, 8, 10, 12]  # Adam's step 2, then LM's


def test_a_stopping_callback_in_an_lm_stage_writes_a_checkpoint(tmp_path, saves):
    path = tmp_path / "run.ckpt"
    stopped = _run(checkpoint=path, callbacks=[_stop_at(6)])
    assert stopped.history.steps[-1]["step"] == 6 and saves == [6]
    position = torch.load(path, weights_only=True)["position"]
    assert position["step"] == 6 and position["stage"] == 1 and position["done"] == 3


def test_a_held_ctrl_c_is_honoured_after_the_lm_step(tmp_path):
    path = tmp_path / "run.ckpt"

    def ctrl_c(record):  # a real SIGINT while a step is in progress: held until that step ends
        if record["step"] == 5:
            os.kill(os.getpid(), signal.SIGINT)
        return False

    with pytest.raises(TrainingInterrupted) as caught:
        _run(checkpoint=path, callbacks=[ctrl_c])
    assert caught.value.checkpoint == path
    assert torch.load(path, weights_only=True)["position"]["step"] == 6  # the next step ends, then it stops


@pytest.mark.parametrize("stop", [5, 8, 10])  # mid first LM stage, its last step, mid the Galerkin stage
def test_resume_from_an_lm_checkpoint_equals_the_uninterrupted_run(uninterrupted, tmp_path, stop):
    path = tmp_path / "run.ckpt"
    stopped = _run(checkpoint=path, callbacks=[_stop_at(stop)])
    assert stopped.history.steps[-1]["step"] == stop
    _assert_close(_run(resume=path), uninterrupted)


def test_interrupted_lm_run_resumes_from_its_periodic_checkpoint(uninterrupted, tmp_path):
    path = tmp_path / "run.ckpt"

    def interrupt(record):
        if record["step"] == 9:
            raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted):
        _run(checkpoint=path, checkpoint_every=4, callbacks=[interrupt])
    assert torch.load(path, weights_only=True)["position"]["step"] == 9
    _assert_close(_run(resume=path), uninterrupted)
