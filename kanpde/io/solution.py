"""Solution: a trained model with its problem, history, predictions, errors and checkpoints."""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..files import atomic_write
from ..nn.spec import build_model, model_spec
from ..pde.metrics import evaluation_points, relative_l2
from ..pde.problem import Problem
from ..train.history import History



class Solution:
    """A trained model and what is known about it.

    Attributes:
        problem: the :class:`Problem` (None for a checkpoint loaded without one).
        model: the trained network.
        history: :class:`History` of the training.
        parameters: learned unknown scalars of an inverse problem, ``{name: value}``.
        config: the training configuration, as a plain dict.
        elapsed: training wall time in seconds.
    """

    def __init__(self, problem: Problem | None, model: nn.Module, history: History | None = None,
                 config: dict | None = None, parameters: dict[str, float] | None = None, elapsed: float = 0.0):
        self.problem, self.model = problem, model
        self.history = history or History()
        self.config = config or {}
        self.parameters = dict(parameters or {})
        self.elapsed = elapsed

    def _model_tensor(self) -> torch.Tensor:
        return next(iter(self.model.parameters()))

    def _points(self, points) -> tuple[torch.Tensor, bool]:
        is_numpy = not isinstance(points, torch.Tensor)
        if is_numpy:
            points = np.asarray(points, dtype=float)
        dim = getattr(self.model, "in_dim", None)
        if points.ndim != 2 or (dim is not None and points.shape[1] != dim):
            raise ValueError(f"expected points of shape (N, {dim}), got {tuple(points.shape)}")
        x = torch.as_tensor(points)
        if not bool(torch.isfinite(x).all()):
            raise ValueError("points contain NaN or inf")
        ref = self._model_tensor()
        return x.to(dtype=ref.dtype, device=ref.device), is_numpy

    def predict(self, points, check_domain: bool = True):
        """The solution at points ``(N, D)``: numpy in, numpy out; torch in, torch out.

        Returns:
            ``(N, m)`` values (m components).

        Raises:
            ValueError: wrong shape, NaN, or (with ``check_domain``) points outside the domain.
        """
        x, is_numpy = self._points(points)
        if check_domain and self.problem is not None:
            inside = self.problem.domain.contains(x.detach().cpu().numpy(), tol=1e-6)
            if not inside.all():
                bad = x[torch.as_tensor(~inside)][0].tolist()
                raise ValueError(f"{int((~inside).sum())} of {len(inside)} points lie outside the domain "
                                 f"{self.problem.domain!r}, e.g. {bad}; pass check_domain=False to extrapolate")
        with torch.no_grad():
            values = self.problem.model_for_fields(self.model)(x) if self.problem is not None else self.model(x)
        return values.cpu().numpy() if is_numpy else values.to(points.device)

    def errors(self, points=None) -> dict[str, float]:
        """Errors against the exact (or reference) solution on a dense evaluation set.

        ``rel_l2 = ||u - u*|| / ||u*||`` and ``max_abs = max |u - u*|`` over the set
        (a regular grid up to 3-D); ``rel_h1`` adds the gradients to both norms when
        the exact solution is a differentiable torch function.
        """
        if self.problem is None or not self.problem.has_solution():
            raise ValueError("errors() needs a problem with an exact or reference solution")
        if points is None:
            points, _ = evaluation_points(self.problem.domain)
        x, _ = self._points(points)
        exact = self.problem.solution_values(x).detach()
        with torch.no_grad():
            u = self.problem.model_for_fields(self.model)(x)
        out = {"rel_l2": relative_l2(u, exact),
               "max_abs": float((u - exact).abs().max())}
        if self.problem.exact is not None:
            out["rel_h1"] = self._relative_h1(x, u - exact, exact)
        return out

    def _relative_h1(self, x, diff, exact) -> float:
        grads = []
        for f in (lambda z: self.problem.model_for_fields(self.model)(z), self.problem.exact):
            z = x.detach().clone().requires_grad_(True)
            values = f(z)
            values = values.unsqueeze(1) if values.ndim == 1 else values
            grads.append(torch.cat([torch.autograd.grad(values[:, c].sum(), z)[0] for c in range(values.shape[1])], 1))
        dg = grads[0] - grads[1]
        num = diff.pow(2).sum() + dg.pow(2).sum()
        den = exact.pow(2).sum() + grads[1].pow(2).sum()
        return float((num / den.clamp_min(1e-300)).sqrt())

    # -- checkpoints --------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> Path:
        """Write a checkpoint atomically (model, history, config, problem name)."""
        spec = model_spec(self.model)
        payload = {
            "format": "kanpde-solution-1",
            "model_spec": spec,
            "state_dict": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "history": self.history.to_dict(),
            "config": _plain(self.config),
            "parameters": {k: float(v) for k, v in self.parameters.items()},
            "problem": None if self.problem is None else self.problem.name,
            "hard_dirichlet": bool(self.problem is not None and self.problem.hard),
            "elapsed": float(self.elapsed),
        }
        return atomic_write(path, lambda tmp: torch.save(payload, tmp))

    @classmethod
    def load(cls, path: str | os.PathLike, problem: Problem | None = None, model: nn.Module | None = None) -> "Solution":
        """Read a checkpoint (``weights_only=True``: no code is unpickled).

        Args:
            problem: the problem to attach; by default the registered problem of the
                saved name, if there is one.
            model: a model of the saved architecture, for models kanpde cannot rebuild.
        """
        payload = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(payload, dict) and payload.get("format") == "kanpde-marching-1":
            from .marching import MarchedSolution  # windows stitched in time (kp.TimeMarching)
            return MarchedSolution.from_payload(payload, problem, path)
        if not isinstance(payload, dict) or payload.get("format") != "kanpde-solution-1":
            raise ValueError(f"{path} is not a kanpde solution checkpoint")
        if model is None:
            if payload["model_spec"] is None:
                raise ValueError("this checkpoint's model type cannot be rebuilt; pass model=")
            model = build_model(payload["model_spec"])
        state = payload["state_dict"]
        model.to(next(iter(state.values())).dtype).load_state_dict(state)
        if problem is None and payload.get("problem"):
            problem = _registered_problem(payload["problem"])
        if payload.get("hard_dirichlet"):  # the model is the N in u = g + phi N: predictions need the problem
            if problem is None:
                raise ValueError(f"{path} was trained with a hard Dirichlet constraint (u = g + phi N); "
                                 "pass the problem: Solution.load(path, problem=...)")
            problem = problem.with_hard_dirichlet()
        history = History(**payload["history"])
        return cls(problem, model, history, payload["config"], payload["parameters"], payload["elapsed"])


def _registered_problem(name: str) -> Problem | None:
    try:
        from problems import load_problem  # the benchmark library, when installed beside kanpde
    except ImportError:
        return None
    try:
        return load_problem(name)
    except ValueError:
        return None


def _plain(value):
    """Config values reduced to what ``torch.load(weights_only=True)`` accepts."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return repr(value)
