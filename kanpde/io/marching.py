"""The solution of a time-marched run: one :class:`Solution` over all windows, saved and loaded as one."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ..files import atomic_write
from ..nn.spec import build_model, model_spec
from ..pde.problem import Problem
from ..pde.windows import InitialWindow, TimeWindows, initial_data, initial_order, window_plan
from ..train.history import History
from .solution import Solution, _plain

FORMAT = "kanpde-marching-1"


class MarchedSolution(Solution):
    """Time windows stitched into one solution.

    ``network`` is a :class:`TimeWindows` (each window builds in its initial data and what
    :func:`kanpde.pde.windows.window_plan` says; the windows' trained networks are
    ``[w.net for w in network.windows]``); ``model`` is u: that same module, plus the problem's
    ``known`` part where it has one. Predictions,
    errors, export and figures cover the whole interval like any :class:`Solution`;
    :meth:`save` / :meth:`Solution.load` keep every window. The windows hold their own
    transform and feature inputs, so ``problem`` is kept as ``problem.soft(features=False)`` (nothing
    built in on top).
    """

    def __init__(self, problem: Problem | None, network: TimeWindows, *args, **kwargs):
        if problem is not None and (problem.hard or problem.features):
            problem = problem.soft(features=False)  # a copy: the user's problem and conditions stay as they are
        super().__init__(problem, network, *args, **kwargs)

    @property
    def edges(self) -> list[float]:
        """Window edges ``[t_0, ..., t_K]``."""
        return list(self.network.edges)

    def save(self, path: str | os.PathLike) -> Path:
        """Write a checkpoint atomically: every window's network, the edges, history and config."""
        windows = self.network.windows
        specs = [model_spec(w.net) for w in windows]
        if any(s is None for s in specs):
            raise ValueError("only KAN and MLP windows can be saved; got "
                             f"{sorted({type(w.net).__name__ for w in windows})}")
        payload = {
            "format": FORMAT,
            "window_specs": specs,
            "edges": self.edges,
            "time_axis": int(self.network.axis),
            "order": int(windows[0].order),
            "state_dict": {k: v.detach().cpu() for k, v in self.network.state_dict().items()},
            "history": self.history.to_dict(),
            "config": _plain(self.config),
            "parameters": {k: float(v) for k, v in self.parameters.items()},
            "problem": None if self.problem is None else self.problem.name,
            "hard_dirichlet": windows[0].boundary is not None,
            "periodic": bool(windows[0].periodic),
            "features": len(windows[0].features),
            "elapsed": float(self.elapsed),
        }
        return atomic_write(path, lambda tmp: torch.save(payload, tmp))

    @classmethod
    def from_payload(cls, payload: dict, problem: Problem | None, path) -> "MarchedSolution":
        """Rebuild from a loaded checkpoint; the problem gives the first window's initial data.

        Raises:
            ValueError: no problem given (the library never looks names up; the CLI resolves
                them), or one whose initial or built-in conditions differ from the saved run's.
        """
        if problem is None:
            raise ValueError(f"{path} is a time-marched solution; its first window starts from the problem's "
                             "initial data: pass the problem, Solution.load(path, problem=...)")
        if not isinstance(problem, Problem):
            raise TypeError(f"problem must be a kanpde.Problem, got {type(problem).__name__}")
        order, axis = payload["order"], payload["time_axis"]
        if initial_order(problem.all_conditions) != order:
            raise ValueError(f"{path} was trained with {order} initial condition(s) in time, "
                             f"problem {problem.name!r} has {initial_order(problem.all_conditions)}")
        data = initial_data(problem.all_conditions, order)
        plan = window_plan(problem)
        saved = (bool(payload.get("hard_dirichlet")), bool(payload.get("periodic")), int(payload.get("features", 0)))
        given = (plan.dirichlet is not None, bool(plan.periodic), len(plan.features))
        if saved != given:
            raise ValueError(f"{path} was trained with windows that build in (Dirichlet, Periodic, features) = "
                             f"{saved}, problem {problem.name!r} gives {given}; pass the problem it was trained on")
        windows: list[InitialWindow] = []
        for spec, start in zip(payload["window_specs"], payload["edges"]):
            windows.append(plan.window(build_model(spec), start, axis, order,
                                       previous=windows[-1] if windows else None, data=None if windows else data))
        model = TimeWindows(windows, payload["edges"], axis)
        state = payload["state_dict"]
        model.to(next(iter(state.values())).dtype).load_state_dict(state)
        return cls(problem, model, History(**payload["history"]), payload["config"], payload["parameters"],
                   payload["elapsed"])


Solution.loaders[FORMAT] = MarchedSolution.from_payload  # Solution.load reads time-marched checkpoints too
