"""Resumable training checkpoints: write them while training, continue from them bit for bit.

``TrainConfig(checkpoint=path, checkpoint_every=n)`` writes ``path`` atomically every ``n``
steps of any stage kind (Adam, L-BFGS, LM: :meth:`Trainer.after_step`), when a callback stops
training and when training is interrupted (Ctrl-C, ``KeyboardInterrupt`` from a callback);
``kp.solve(problem, model, config, resume=path)`` continues from it. A checkpoint is taken only between two steps, where the state is
whole: the model (with its spec and grid), the last good model, learned problem
parameters, the optimiser state (LM: its damping mu and nu), the stage index, the steps done in the
stage and its NaN recoveries, torch's and numpy's generator states, the training points and the
history, and the derivatives the residuals asked for (which decide how the next batch
is evaluated). Continuing from it repeats exactly what the uninterrupted run would have done.

A Ctrl-C (SIGINT) while a checkpoint path is set is held until the step in progress
ends, then raised there as :class:`TrainingInterrupted` once the checkpoint is written;
a second Ctrl-C interrupts at once. Checkpoints hold only tensors and plain types and
load with ``torch.load(weights_only=True)``: no code runs when reading one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..files import atomic_write
from ..nn.spec import model_spec
from ..pde.conditions import ConditionPoints
from .best import join_learned, split_learned
from .history import History

FORMAT = "kanpde-train-checkpoint-1"
# Config fields that shape the run: a checkpoint only continues under the same values.
SAME_CONFIG = ("schedule", "balance", "interior_points", "boundary_points", "seed", "sampling", "dtype", "weights",
               "resample_every", "adaptive", "eval_every", "update_grid", "grid_update_every", "grid_margin",
               "derivatives")


class TrainingInterrupted(KeyboardInterrupt):
    """Training was interrupted between two steps; ``checkpoint`` is where it was saved."""

    def __init__(self, checkpoint: Path):
        super().__init__(f"training interrupted; checkpoint written to {str(checkpoint)!r}")
        self.checkpoint = checkpoint


@dataclass
class Position:
    """Where in the schedule a run is, between two steps."""

    stage: int                # index in the schedule
    done: int                 # steps done in that stage
    retries: int              # NaN/inf recoveries in that stage so far
    lr: float | None          # the stage's learning rate after those recoveries (None: a stage without one)
    state: dict = field(default_factory=dict)  # the stage's own running numbers (LM: mu, nu), plain floats


@dataclass
class Resumed:
    """What a stage's ``run`` needs to continue where the checkpoint left it."""

    position: Position
    optimizer: dict
    good: tuple
    balancer: dict      # automatic loss weights as they were (kanpde.train.balance)
    best: dict | None = None  # the run's best model so far (kanpde.train.best.BestModel.state_dict)


def _cpu(state: dict) -> dict:
    return {k: v.detach().cpu() for k, v in state.items()}


def _config(config) -> dict:
    full = config.to_dict()  # plain types already (stages as dicts, dtype as its name)
    return {k: full[k] for k in SAME_CONFIG}


def _derivative_record(trainer) -> dict:
    """The derivatives the residuals asked for so far (``trainer.record``): with them known, a batch's jet
    is one pass instead of one per new pair, which changes round-off, so a resumed run needs them."""
    record = trainer.record
    return {"order": int(record.order), "pairs": sorted([int(a), int(b)] for a, b in record.pairs)}


def save(trainer, path, position: Position, optimizer=None, good=None) -> Path:
    """Write the trainer's state at ``position`` (between two steps) to ``path`` atomically.

    ``optimizer``: the stage's (None: a stage without one, such as LM); ``good``: the last parameters
    with a finite loss (None: the current ones)."""
    points = trainer.points
    _, good = trainer.snapshot() if good is None else good  # (grid, values): the grid is the model's
    good_model, good_learned = split_learned(good)
    payload = {
        "format": FORMAT,
        "model_spec": model_spec(trainer.model),
        "model": _cpu(trainer.model.state_dict()),
        "parameters": _cpu(dict(trainer.parameters)),
        "good": {"model": _cpu(good_model), "parameters": _cpu(good_learned)},
        "optimizer": {} if optimizer is None else optimizer.state_dict(),
        "position": {**dataclasses.asdict(position), "step": trainer.step,
                     "elapsed": time.perf_counter() - trainer.start},
        "interior_count": trainer.interior_count,  # a stage's points= (all ranks)
        "points": {"interior": points.interior.detach().cpu(),
                   "conditions": [{f.name: None if getattr(c, f.name) is None else getattr(c, f.name).detach().cpu()
                                   for f in dataclasses.fields(ConditionPoints)} for c in points.conditions]},
        "history": trainer.history.to_dict(),
        "balancer": trainer.balancer.state_dict(),
        "best": trainer.keeper.state_dict() if getattr(trainer, "keeper", None) is not None else None,
        "derivatives": _derivative_record(trainer),
        "rng": {"torch": torch.get_rng_state(), "numpy": trainer.rng.bit_generator.state,
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None},
        "config": _config(trainer.config),
    }
    return atomic_write(path, lambda tmp: torch.save(payload, tmp))


def load(path) -> dict:
    """Read a training checkpoint with ``weights_only=True``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a readable kanpde training checkpoint (corrupt, truncated, with code in it).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"resume: no such checkpoint {str(path)!r}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip or weights-only refusals: one clear error
        raise ValueError(f"resume: {str(path)!r} is not a readable kanpde training checkpoint "
                         f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise ValueError(f"resume: {str(path)!r} is not a kanpde training checkpoint (format {found!r}, "
                         f"expected {FORMAT!r}; Solution.save files are not resumable)")
    return payload


def restore(trainer, payload: dict, path) -> Resumed:
    """Put a checkpoint's state into a freshly built trainer; returns where to continue."""
    saved, current = payload["config"], _config(trainer.config)
    differ = [k for k in SAME_CONFIG if saved.get(k) != current.get(k)]
    if differ:
        raise ValueError(f"resume: {str(path)!r} was written under a different TrainConfig: "
                         + "; ".join(f"{k}={saved.get(k)!r} there, {current.get(k)!r} here" for k in differ))
    _restore_model(trainer.model, payload["model_spec"], payload["model"], path)
    with torch.no_grad():
        for k, v in payload["parameters"].items():
            trainer.parameters[k].copy_(v)
    kind = trainer.tensor_kwargs
    trainer.points.interior = payload["points"]["interior"].to(**kind)
    trainer.interior_count = payload.get("interior_count", trainer.config.interior_points)
    trainer.points.conditions = [ConditionPoints(**c).to(**kind) for c in payload["points"]["conditions"]]
    trainer.history = History(**payload["history"])
    record = trainer.record
    if payload["derivatives"] is not None:  # warm, as the run had it
        record.order = payload["derivatives"]["order"]
        record.pairs = {tuple(p) for p in payload["derivatives"]["pairs"]}
    position = payload["position"]
    trainer.step = position["step"]
    trainer.start = time.perf_counter() - position["elapsed"]
    torch.set_rng_state(payload["rng"]["torch"])
    if payload["rng"]["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(payload["rng"]["cuda"])
    trainer.rng.bit_generator.state = payload["rng"]["numpy"]
    good = payload["good"]
    model_state = trainer.model.state_dict()
    values = join_learned({k: v.to(model_state[k]) for k, v in good["model"].items()},
                          {k: v.to(**kind) for k, v in good["parameters"].items()})
    return Resumed(Position(**{f.name: position[f.name] for f in dataclasses.fields(Position) if f.name in position}),
                   payload["optimizer"], (getattr(trainer.model, "grid", None), values),
                   payload["balancer"], payload.get("best"))


def _restore_model(model, spec: dict | None, state: dict, path) -> None:
    here = model_spec(model)
    if spec is not None and here is not None:
        mismatch = [k for k in spec if k != "grid" and spec[k] != here.get(k)]
        if spec["type"] != here["type"] or mismatch:
            raise ValueError(f"resume: {str(path)!r} holds a {spec}, but the model is a {here}")
        if spec.get("grid") is not None and spec["grid"] != here.get("grid"):
            model.refine(spec["grid"])  # the grid the run had reached; the values come from the state
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise ValueError(f"resume: the model does not fit {str(path)!r}: {' '.join(str(exc).split())[:300]}") from None


class Checkpoints:
    """The trainer's checkpoint hooks: resume at start, save between steps, hold Ctrl-C."""

    def __init__(self, trainer, resume=None):
        self.trainer, self.path = trainer, trainer.config.checkpoint
        self.every = trainer.config.checkpoint_every
        self.resumed = restore(trainer, load(resume), resume) if resume is not None else None
        self.sigint = False

    def resumes(self, index: int) -> Resumed | None | bool:
        """For stage ``index``: False to skip it (done before the checkpoint), the
        :class:`Resumed` state to continue it, or None to run it from its start."""
        if self.resumed is None or index > self.resumed.position.stage:
            return None
        return self.resumed if index == self.resumed.position.stage else False

    def after_step(self, record: dict, position: Position, optimizer=None, good=None) -> bool:
        """Between two steps (called by :meth:`Trainer.after_step` for every stage kind): save when due,
        act on a held Ctrl-C, run the callbacks.

        Returns True when a callback asks to stop (after saving, with a checkpoint path).
        """
        trainer = self.trainer
        if self.path is not None and self.every and \
                trainer.step // self.every > (trainer.step - record["iterations"]) // self.every:
            save(trainer, self.path, position, optimizer, good)
        try:
            if self.sigint:
                raise KeyboardInterrupt
            stop = any(cb(record) for cb in trainer.config.callbacks)
            if trainer.config.callbacks:  # every rank stops together
                stop = trainer.parallel.any(stop)
        except KeyboardInterrupt:
            if self.path is None:
                raise
            raise TrainingInterrupted(save(trainer, self.path, position, optimizer, good)) from None
        if stop and self.path is not None:
            save(trainer, self.path, position, optimizer, good)
        return stop

    @contextlib.contextmanager
    def holding_interrupts(self):
        """Hold the first SIGINT until the step in progress ends (main thread, with a checkpoint path)."""
        if self.path is None or threading.current_thread() is not threading.main_thread():
            yield
            return

        def hold(signum, frame):
            self.sigint = True
            signal.signal(signal.SIGINT, previous)  # a second Ctrl-C interrupts at once

        previous = signal.getsignal(signal.SIGINT)
        previous = signal.default_int_handler if previous is None else previous  # None: set outside Python
        signal.signal(signal.SIGINT, hold)
        try:
            yield  # a Ctrl-C after the last step is dropped: the run is complete
        finally:
            signal.signal(signal.SIGINT, previous)
