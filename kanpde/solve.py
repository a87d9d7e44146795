"""The front door: ``kp.solve(problem, model, config)`` trains and returns a Solution.

``kp.solve(problem)`` (model or config left out) is the automatic path: the model, grid schedule, points and
time windows are chosen from the problem (:func:`kanpde.train.sizing.auto_plan`), printed in one line and
recorded as ``solution.decisions`` (``summary.json``'s ``decisions``).
"""

from __future__ import annotations

import torch
from torch import nn

from .io.marching import MarchedSolution
from .io.solution import Solution
from .nn.network import Network
from .pde import validate
from .pde.problem import Problem
from .train.config import TrainConfig
from .train.marching import check_marching, march
from .train.sizing import auto_plan, describe
from .train.trainer import Trainer


def solve(problem: Problem, model: nn.Module | None = None, config: TrainConfig | None = None, *,
          resume=None) -> Solution:
    """Train ``model`` on ``problem``; returns the :class:`Solution`.

    Args:
        problem: the PDE problem.
        model: a :class:`kanpde.KAN`, :class:`kanpde.MLP` or any ``nn.Module`` mapping
            ``(N, D)`` points to ``(N, m)``. It is trained in place (moved to the
            config's device and dtype). None: chosen from the problem (automatic path).
        config: :class:`TrainConfig`. None: chosen from the problem (automatic path), as are the
            defaulted fields of a config given with ``model=None``. With both given, the
            defaults are sized to the model alone (:func:`kanpde.train.sizing.sized`).
        resume: path of a training checkpoint (``TrainConfig(checkpoint=...)``) to continue
            from, under the same config; the result equals the uninterrupted run's.

    Raises:
        TypeError, ValueError: a problem, model or config that do not fit together, a
            resume checkpoint that is unreadable or from another run, or an automatic plan
            that needs more memory than the machine has.
        TrainingInterrupted: Ctrl-C (or a callback's KeyboardInterrupt) with a checkpoint
            path set; its ``checkpoint`` attribute names the checkpoint written.
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a kanpde.Problem, got {type(problem).__name__}")
    if model is not None and not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module (kp.KAN, kp.MLP, ...) or None, got {type(model).__name__}")
    if config is not None and not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a kanpde.TrainConfig or None, got {type(config).__name__}")
    decisions = None
    if model is None or config is None:  # the automatic path: what is left out is read from the problem
        if model is not None:
            problem.check_model(model)
        model, config, decisions = auto_plan(problem, model, config or TrainConfig())
        if config.verbose:
            print(describe(decisions), flush=True)
    solution = _train(problem, model, config, resume)
    if decisions is not None:
        solution.config["decisions"] = decisions
    solution.decisions = decisions
    return solution


def _train(problem: Problem, model: nn.Module, config: TrainConfig, resume) -> Solution:
    """Train ``model`` on ``problem`` under ``config`` (all given): one window or time marching."""
    problem.check_model(model)
    validate.check_model(problem, model)
    if config.marching is not None:
        check_marching(problem)
    device = torch.device(config.device)
    if device.type == "cuda" and (not torch.cuda.is_available() or (device.index or 0) >= torch.cuda.device_count()):
        raise ValueError(f"device {config.device!r} asked for, but torch sees {torch.cuda.device_count()} CUDA device(s)")
    threads = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    if isinstance(model, Network):  # an unseeded model, still as built, starts from the config seed
        model.adopt_seed(config.seed)
    model.to(device=torch.device(config.device), dtype=config.dtype)
    validate.preflight(problem, model, config.dtype, device)  # bad model/pde input named before any training
    try:
        if config.marching is not None:  # windows one after another, stitched into one solution
            stitched, history, parameters, elapsed = march(problem, model, config)
            return MarchedSolution(problem, stitched, history, config.to_dict(), parameters, elapsed)
        trainer = Trainer(problem, model, config, resume=resume).run()
        return Solution(problem, model, trainer.history, trainer.config.to_dict(),  # as sized by the trainer
                        trainer.learned_parameters(), trainer.elapsed)
    finally:
        torch.set_num_threads(threads)
