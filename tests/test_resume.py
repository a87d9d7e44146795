"""Resumable training: a run stopped and continued from its checkpoint equals the uninterrupted run."""

from __future__ import annotations

import math
import os
import textwrap

import pytest
import torch

import kanpde as kp
from kanpde.train.resume import TrainingInterrupted


def _problem():
    def pde(x, u):
        return u.laplacian() + 2 * math.pi ** 2 * torch.sin(math.pi * x[:, :1]) * torch.sin(math.pi * x[:, 1:])

    # soft Dirichlet: the loss-term path (a hard constraint after a grow-only grid update is a known ulp gap)
    return kp.Problem(kp.Rectangle((0, 0), (1, 1)), pde, [kp.Dirichlet(0.0, hard=False)],
                      exact=lambda x: torch.sin(math.pi * x[:, :1]) * torch.sin(math.pi * x[:, 1:]))


def _config(**extra):
    """Every kind of state a checkpoint must carry: Adam moments and a decaying lr, RAD
    resampling (numpy generator), grid updates and refinement, L-BFGS history in chunks."""
    return kp.TrainConfig(interior_points=48, boundary_points=12, seed=2, verbose=False, eval_every=4,
                          resample_every=4, adaptive="rad", grid_update_every=5,
                          schedule=[kp.Adam(10, lr=2e-2, lr_final=5e-3), kp.Adam(4, grid=4),
                                    kp.LBFGS(12, grid=6, chunk=5)], **extra)


def _run(resume=None, **extra):
    return kp.solve(_problem(), kp.KAN([2, 3, 1], grid=3), _config(**extra), resume=resume)


def _signature(solution):
    """History without wall-clock columns, stage records and predictions, for exact comparison."""
    steps = [{k: v for k, v in r.items() if k not in ("time", "step_time")} for r in solution.history.steps]
    x = torch.linspace(0, 1, 9, dtype=torch.float64)
    return steps, solution.history.stages, solution.predict(torch.cartesian_prod(x, x))


def _assert_same(a, b):
    steps_a, stages_a, u_a = _signature(a)
    steps_b, stages_b, u_b = _signature(b)
    assert steps_a == steps_b
    assert stages_a == stages_b
    assert torch.equal(u_a, u_b)  # bit for bit


@pytest.fixture(scope="module")
def uninterrupted():
    solution = _run()
    assert solution.history.steps[-1]["step"] >= 24
    return solution


def _stop_at(step):
    return lambda record: record["step"] >= step


@pytest.mark.parametrize("stop", [3, 10, 12, 19])  # mid-Adam, at a stage's end, after a refinement, mid-L-BFGS
def test_resumed_run_equals_the_uninterrupted_one(uninterrupted, tmp_path, stop):
    path = tmp_path / "run.ckpt"
    stopped = _run(checkpoint=path, callbacks=[_stop_at(stop)])
    assert stopped.history.steps[-1]["step"] < uninterrupted.history.steps[-1]["step"]
    assert path.is_file()
    _assert_same(_run(resume=path), uninterrupted)


def test_periodic_checkpoints_and_keyboard_interrupt(uninterrupted, tmp_path):
    path = tmp_path / "run.ckpt"

    def interrupt(record):
        if record["step"] == 7:
            raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted) as caught:
        _run(checkpoint=path, checkpoint_every=3, callbacks=[interrupt])
    assert caught.value.checkpoint == path and isinstance(caught.value, KeyboardInterrupt)
    assert torch.load(path, weights_only=True)["position"]["step"] == 7  # the interrupt's, not step 6's
    _assert_same(_run(resume=path), uninterrupted)


def test_periodic_checkpoint_alone_resumes(uninterrupted, tmp_path):
    path = tmp_path / "run.ckpt"
    written = []
    original = kp.train.resume.save

    def spy(trainer, *args, **kwargs):
        written.append(trainer.step)
        return original(trainer, *args, **kwargs)

    kp.train.resume.save, saved = spy, None
    try:
        _run(checkpoint=path, checkpoint_every=5, callbacks=[_stop_at(14)])
        saved = torch.load(path, weights_only=True)["position"]
    finally:
        kp.train.resume.save = original
    assert written[:2] == [5, 10] and saved["step"] == 14
    _assert_same(_run(resume=path), uninterrupted)


def test_checkpoint_files_load_weights_only_and_get_the_umask_mode(tmp_path):
    path = tmp_path / "run.ckpt"
    old = os.umask(0o022)
    try:
        _run(checkpoint=path, callbacks=[_stop_at(2)])
    finally:
        os.umask(old)
    assert os.stat(path).st_mode & 0o777 == 0o644
    payload = torch.load(path, weights_only=True)
    assert payload["format"] == "kanpde-train-checkpoint-1" and payload["position"]["stage"] == 0


def test_checkpoint_with_code_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    path = tmp_path / "evil.ckpt"
    torch.save({"format": "kanpde-train-checkpoint-1", "x": Evil()}, path)
    with pytest.raises(ValueError, match="not a readable kanpde training checkpoint"):
        _run(resume=path)
    assert not marker.exists()


def test_bad_resume_files(tmp_path, uninterrupted):
    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        _run(resume=tmp_path / "missing.ckpt")
    (tmp_path / "empty.ckpt").write_bytes(b"")
    with pytest.raises(ValueError, match="not a readable kanpde training checkpoint"):
        _run(resume=tmp_path / "empty.ckpt")
    uninterrupted.save(tmp_path / "model.pt")
    with pytest.raises(ValueError, match="not a kanpde training checkpoint.*not resumable"):
        _run(resume=tmp_path / "model.pt")


def test_resume_under_another_config_or_model_is_refused(tmp_path):
    path = tmp_path / "run.ckpt"
    _run(checkpoint=path, callbacks=[_stop_at(2)])
    config = _config()
    config.interior_points = 49
    with pytest.raises(ValueError, match=r"different TrainConfig: interior_points=48 there, 49 here"):
        kp.solve(_problem(), kp.KAN([2, 3, 1], grid=3), config, resume=path)
    with pytest.raises(ValueError, match=r"resume: .* holds a .*'widths': \[2, 3, 1\].*but the model is"):
        kp.solve(_problem(), kp.KAN([2, 5, 1], grid=3), _config(), resume=path)


def test_checkpoint_config_validation():
    with pytest.raises(ValueError, match="checkpoint_every must be an int >= 1, got 0"):
        kp.TrainConfig(checkpoint="a.ckpt", checkpoint_every=0)
    with pytest.raises(ValueError, match=r"checkpoint_every=5 needs a path"):
        kp.TrainConfig(checkpoint_every=5)
    with pytest.raises(TypeError, match="checkpoint must be a path"):
        kp.TrainConfig(checkpoint=3)
