"""Stages are classes with behaviour: a new stage type is one new class, run by the trainer unchanged."""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass

import pytest
import torch

import kanpde as kp
from kanpde.train.stages import FirstOrder, Stage
from test_resume import _problem  # the soft-Dirichlet sine problem the resume tests share


@dataclass
class SGD(FirstOrder):
    """Plain gradient descent: the whole stage is its optimiser and one optimiser call."""

    steps: int
    _: KW_ONLY
    lr: float = 1e-3
    grid: int | None = None
    points: int | None = None
    update_grid: bool = False

    def make_optimizer(self, trainer, previous):
        return torch.optim.SGD(trainer.trainable(), lr=self.lr)

    def optimizer_step(self, optimizer, closure, limit: int) -> int:
        if torch.isfinite(closure()):
            optimizer.step()
        return 1


def _config(**extra):
    return kp.TrainConfig(interior_points=40, boundary_points=12, seed=1, verbose=False, eval_every=2,
                          dtype=torch.float64, schedule=[SGD(4, grid=4), kp.LM(3)], **extra)


def test_a_new_stage_class_runs_records_and_checkpoints_like_the_built_in_ones(tmp_path):
    written = []
    solution = kp.solve(_problem(), kp.KAN([2, 3, 1], grid=3), _config(callbacks=[written.append]))
    steps = solution.history.steps
    assert [r["step"] for r in steps] == list(range(1, 8)) and [r["stage"] for r in steps] == [0] * 4 + [1] * 3
    assert written == steps  # after_step ran the callbacks on every step of both kinds
    assert [s["label"] for s in solution.history.stages] == ["SGD grid=4", "LM"]
    assert steps[3]["loss"] < steps[0]["loss"] and "rel_l2" in steps[1] and "rel_l2" in steps[-1]
    path = tmp_path / "run.ckpt"
    stop_at_3 = _config(checkpoint=path, callbacks=[lambda r: r["step"] == 3])
    stopped = kp.solve(_problem(), kp.KAN([2, 3, 1], grid=3), stop_at_3)
    assert stopped.history.steps[-1]["step"] == 3 and torch.load(path, weights_only=True)["position"]["done"] == 3
    resumed = kp.solve(_problem(), kp.KAN([2, 3, 1], grid=3), _config(), resume=path)
    assert [r["loss"] for r in resumed.history.steps] == [r["loss"] for r in steps]


def test_the_schedule_takes_stages_only():
    assert isinstance(kp.LM(1), Stage) and isinstance(kp.Adam(1), Stage) and isinstance(kp.LBFGS(1), Stage)
    with pytest.raises(TypeError, match=r"stages must be kp.Adam\(...\), kp.LBFGS\(...\), kp.LM\(...\) "
                       r"or another kanpde.train.Stage, got 'LM'"):
        kp.TrainConfig(schedule=[kp.Adam(1), "LM"])
    with pytest.raises(NotImplementedError, match="Stage.run"):
        Stage().run(None, 0, None)
