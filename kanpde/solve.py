"""The front door: ``kp.solve(problem, model, config)`` trains and returns a Solution."""

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
from .train.trainer import Trainer


def solve(problem: Problem, model: nn.Module, config: TrainConfig | None = None, *, resume=None) -> Solution:
    """Train ``model`` on ``problem``; returns the :class:`Solution`.

    Args:
        problem: the PDE problem.
        model: a :class:`kanpde.KAN`, :class:`kanpde.MLP` or any ``nn.Module`` mapping
            ``(N, D)`` points to ``(N, m)``. It is trained in place (moved to the
            config's device and dtype).
        config: :class:`TrainConfig`; the defaults solve the Poisson benchmark.
        resume: path of a training checkpoint (``TrainConfig(checkpoint=...)``) to continue
            from, under the same config; the result equals the uninterrupted run's.

    Raises:
        TypeError, ValueError: a problem, model or config that do not fit together, or
            a resume checkpoint that is unreadable or from another run.
        TrainingInterrupted: Ctrl-C (or a callback's KeyboardInterrupt) with a checkpoint
            path set; its ``checkpoint`` attribute names the checkpoint written.
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a kanpde.Problem, got {type(problem).__name__}")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module (kp.KAN, kp.MLP, ...), got {type(model).__name__}")
    config = config or TrainConfig()
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a kanpde.TrainConfig, got {type(config).__name__}")
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
