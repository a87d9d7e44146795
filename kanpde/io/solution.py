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
from ..pde.metrics import CHUNK_SIZE, chunks, evaluation_points, relative_l2_from, squared_errors
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

    def _function(self):
        return self.problem.model_for_fields(self.model) if self.problem is not None else self.model

    def predict(self, points, check_domain: bool = True, chunk_size: int = CHUNK_SIZE):
        """The solution at points ``(N, D)``: numpy in, numpy out; torch in, torch out.

        Evaluated ``chunk_size`` points at a time, so memory beyond the ``(N, D)`` input
        and ``(N, m)`` output stays bounded by one chunk's forward pass.

        Returns:
            ``(N, m)`` values (m components).

        Raises:
            ValueError: wrong shape, NaN, (with ``check_domain``) points outside the domain,
                or a ``chunk_size`` that is not a positive int.
        """
        x, is_numpy = self._points(points)
        slices = list(chunks(len(x), chunk_size))
        if check_domain and self.problem is not None:
            for s in slices:
                inside = self.problem.domain.contains(x[s].detach().cpu().numpy(), tol=1e-6)
                if not inside.all():
                    outside = int(sum((~self.problem.domain.contains(x[c].detach().cpu().numpy(), tol=1e-6)).sum()
                                      for c in slices))
                    bad = x[s][torch.as_tensor(~inside)][0].tolist()
                    raise ValueError(f"{outside} of {len(x)} points lie outside the domain "
                                     f"{self.problem.domain!r}, e.g. {bad}; pass check_domain=False to extrapolate")
        model, values = self._function(), None
        with torch.no_grad():
            for s in slices:
                chunk = model(x[s])                                             # (chunk, m)
                if values is None:
                    values = chunk.new_empty((len(x), chunk.shape[1]))         # (N, m)
                values[s] = chunk
            if values is None:  # no points (a KAN cannot evaluate an empty batch)
                values = x.new_empty((0, len(self.problem.outputs) if self.problem is not None
                                      else getattr(self.model, "out_dim", 1)))
        return values.cpu().numpy() if is_numpy else values.to(points.device)

    def errors(self, points=None, chunk_size: int = CHUNK_SIZE) -> dict[str, float]:
        """Errors against the exact (or reference) solution on a dense evaluation set.

        ``rel_l2 = ||u - u*|| / ||u*||`` and ``max_abs = max |u - u*|`` over the set
        (a regular grid up to 3-D, seeded Halton points beyond: :func:`evaluation_points`);
        ``rel_h1`` adds the gradients to both norms when the exact solution is a
        differentiable torch function. Sums are accumulated ``chunk_size`` points at a time.
        """
        if self.problem is None or not self.problem.has_solution():
            raise ValueError("errors() needs a problem with an exact or reference solution")
        if points is None:
            points, _ = evaluation_points(self.problem.domain)
        x, _ = self._points(points)
        h1 = self.problem.exact is not None
        sums, gradient_sums, max_abs = x.new_zeros(2), x.new_zeros(2), 0.0
        for s in chunks(len(x), chunk_size):
            exact = self.problem.solution_values(x[s]).detach()
            with torch.no_grad():
                u = self._function()(x[s])
            sums += squared_errors(u, exact)
            max_abs = max(max_abs, float((u - exact).abs().max()))
            if h1:
                gradient_sums += squared_errors(*self._gradients(x[s]))
        out = {"rel_l2": relative_l2_from(sums), "max_abs": max_abs}
        if h1:
            out["rel_h1"] = relative_l2_from(sums + gradient_sums)
        return out

    def _gradients(self, x) -> tuple[torch.Tensor, torch.Tensor]:
        """Input gradients of the model and of the exact solution, each ``(N, D * m)``."""
        grads = []
        for f in (self._function(), self.problem.exact):
            z = x.detach().clone().requires_grad_(True)
            values = f(z)
            values = values.unsqueeze(1) if values.ndim == 1 else values
            grads.append(torch.cat([torch.autograd.grad(values[:, c].sum(), z)[0] for c in range(values.shape[1])], 1))
        return grads[0].detach(), grads[1].detach()

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
