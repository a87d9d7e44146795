"""Keep the best model of a run by its residual on held-out points: every run (across all its stages, so a
grid refinement, a balancing change or a stage that overfits cannot lose ground) and each time window
(``TimeMarching(keep_best=True)``).

The validation loss is the problem's own loss on a second, independent point set
(the training sampler with another seed),

    V(theta) = sum_t w_t mean_j |r_t(x_j^val; theta)|^2,

without the balancer's factors or causal weights (so values from different stages
compare). It is evaluated after every LM step and every ``eval_every`` steps of the other
stages; the model with the lowest V is copied and put back at the end. Why: on fine grids
LM fits the training points far better than the points between them (allen_cahn1d, 3000
points, seed 1, first window: after the grid-20 stage the training loss was 8.8e-8 and V
8.2e-5; the window kept a grid-10 step with V = 7.4e-6).
"""

from __future__ import annotations

import math

import torch

from .residuals import plain_loss

VALIDATION_SEED_OFFSET = 7919  # any offset the training samples (seed + 1 + i, 1000 + step) never use


def grow_grid(trainer) -> bool:
    """Widen the KAN's grid ranges that activations left (``TrainConfig(update_grid="grow")``), unless that
    raises the loss on the training points: the widened splines are least-squares refits, and a refit
    can undo a converged fit (allen_cahn1d seed 1: a widening after LM on grid 5 took the loss from
    3.4e-5 to 54). Returns whether the widening was kept (also True when nothing needed widening)."""
    before, snapshot = plain_loss(trainer, trainer.points), trainer.snapshot()
    trainer.update_grid(grow_only=True)
    after = plain_loss(trainer, trainer.points)
    if after <= before or not math.isfinite(before):
        return True
    trainer.restore(snapshot)
    return False


def validation_points(trainer):
    """The held-out point set V is scored on: the training sampler with its own seed offset."""
    return trainer.sample(VALIDATION_SEED_OFFSET)


LEARNED = "learned:"  # the key prefix of an inverse problem's learned parameters in a copied state


def copy_state(model, parameters: dict | None = None) -> tuple:
    """What defines the run's function: ``model``'s grid (None without one) and a copy of its state, with the
    learned ``parameters`` of an inverse problem (``Problem(parameters=)``) under ``"learned:<name>"``."""
    copied = lambda values: {k: v.detach().clone() for k, v in values.items()}  # noqa: E731
    return getattr(model, "grid", None), join_learned(copied(model.state_dict()), copied(parameters or {}))


def join_learned(model_values: dict, learned: dict) -> dict:
    """A model state and learned parameters as one :func:`copy_state` values dict (the inverse of
    :func:`split_learned`)."""
    return {**model_values, **{LEARNED + k: v for k, v in learned.items()}}


def split_learned(values: dict) -> tuple[dict, dict]:
    """A :func:`copy_state`'s values as ``(model state, learned parameters by their own names)``."""
    model = {k: v for k, v in values.items() if not k.startswith(LEARNED)}
    return model, {k[len(LEARNED):]: v for k, v in values.items() if k.startswith(LEARNED)}


def restore_state(model, state: tuple, parameters: dict | None = None) -> None:
    """Put a :func:`copy_state` back into ``model`` (refined to the copy's grid first: shapes follow it) and
    its learned values into ``parameters``."""
    grid, values = state
    if grid is not None and getattr(model, "grid", None) != grid:
        model.refine(grid)
    model_values, learned = split_learned(values)
    model.load_state_dict(model_values)
    with torch.no_grad():
        for name, tensor in (parameters or {}).items():
            if name in learned:
                tensor.copy_(learned[name])


class BestModel:
    """The lowest-validation-loss copy of a trainer's model; use as a callback.

    Args:
        trainer: the run to watch (its model, problem, config and sampler).
        copy_model: ``model -> state`` copies what defines the function;
        restore_model: ``(model, state) -> None`` puts it back (the model's grid may have changed
            in between, so this is not ``load_state_dict``).
    """

    def __init__(self, trainer, copy_model, restore_model):
        self.trainer, self.copy_model, self.restore_model = trainer, copy_model, restore_model
        self.points = validation_points(trainer)
        self.best, self.state, self.step, self.current = math.inf, None, None, math.inf

    def validation_loss(self) -> float:
        """V of the trainer's current model (see the module docstring)."""
        return plain_loss(self.trainer, self.points)

    def __call__(self, record: dict) -> bool:
        """Callback: score the model after LM steps and every ``eval_every`` steps; never stops training."""
        stage = self.trainer.config.schedule[record["stage"]]
        if stage.scores_every_step or record["step"] % self.trainer.config.eval_every == 0:
            self.consider(record)
        return False

    def consider(self, record: dict | None = None) -> None:
        """Score the current model; copy it if it is the best so far (``record`` gets ``validation``)."""
        self.current = self.validation_loss()
        if record is not None:
            record["validation"] = self.current
        if math.isfinite(self.current) and self.current < self.best:
            self.best, self.step = self.current, self.trainer.step
            self.state = self.copy_model(self.trainer.model)

    def holds_current(self) -> bool:
        """Whether the kept best model is the trainer's current one (scored at this step)."""
        return self.state is not None and self.step == self.trainer.step

    def adopt(self, record: dict | None = None) -> None:
        """Take the current model as the best, whatever its score: after a stage whose objective is not
        the validation loss's (Galerkin rows trade collocation loss for the residual's projections:
        helmholtz2d seed 0, the Galerkin iteration took rel L2 from 1.0e-4 to 5.9e-5 and raised V).
        The trainer adopts only a stage that started from the best model so far (:meth:`holds_current`);
        one that started from a model that had already lost is scored like any other (inverse_diffusion,
        seed 0: the grid-80 model had overfitted 200 noisy data, V 2.3e3 against the grid-20 model's, and
        adopting its Galerkin iterate kept D = 0.40 of the true 0.7)."""
        self.consider(record)
        self.best, self.step = self.current, self.trainer.step
        self.state = self.copy_model(self.trainer.model)

    def state_dict(self) -> dict:
        """What a resumable checkpoint keeps (floats and tensors: ``weights_only`` loads it)."""
        grid, values = self.state if self.state is not None else (None, None)
        return {"best": self.best, "step": self.step, "current": self.current, "grid": grid,
                "values": None if values is None else {k: v.cpu() for k, v in values.items()}}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.step, self.current = state["best"], state["step"], state["current"]
        self.state = None if state["values"] is None else (state["grid"], state["values"])

    def restore(self) -> bool:
        """Score the final model, then put the best one back if it was better. Returns whether it did."""
        self.consider()
        if self.state is None or self.step == self.trainer.step:
            return False
        self.restore_model(self.trainer.model, self.state)
        return True
