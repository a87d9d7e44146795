"""Problem: a domain, a PDE residual, conditions and an optional exact solution."""

from __future__ import annotations

import copy
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from .conditions import Condition, ConditionPoints, Dirichlet
from .constraints import plan
from .fields import DerivativeRecord, Field
from .geometry import Domain


class TransformedModel(nn.Module):
    """``u(x) = transform(x, net(x))``: hard constraints as an output transform (autograd derivatives)."""

    def __init__(self, net: nn.Module, transform: Callable):
        super().__init__()
        self.net, self.transform = net, transform
        self.in_dim, self.out_dim = getattr(net, "in_dim", None), getattr(net, "out_dim", None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.transform(x, self.net(x))


def _as_columns(values: torch.Tensor, n: int, what: str) -> torch.Tensor:
    """``(N,)`` or ``(N, m)`` -> ``(N, m)``, anything else a ValueError naming the shape."""
    if not isinstance(values, torch.Tensor):
        raise TypeError(f"{what} must return a torch.Tensor, got {type(values).__name__}")
    if values.ndim == 1:
        values = values.unsqueeze(1)
    if values.ndim != 2 or values.shape[0] != n:
        raise ValueError(f"{what} must return shape ({n}, 1) or ({n},), got {tuple(values.shape)}")
    return values


class Problem:
    """A PDE problem for :func:`kanpde.solve`.

    The residual function states the equation ``R(x, u) = 0`` in the interior;
    each condition adds a loss term on its own points.

    Args:
        domain: a :class:`kanpde.geometry.Domain` (with a time axis for evolution problems).
        pde: ``pde(x, u) -> residual`` (or a tuple of residuals for systems), each
            ``(N, 1)`` or ``(N,)``; with ``parameters``, ``pde(x, u, p)`` where
            ``p[name]`` are learnable scalars (inverse problems).
        conditions: boundary/initial conditions, see :mod:`kanpde.conditions`.
        exact: optional exact solution ``exact(x) -> (N, m)`` on torch tensors, used
            for errors and for the error history.
        reference: optional reference solution on numpy points ``(N, D) -> (N,)``
            or ``(N, m)`` (e.g. ``FDSolution.interpolate``), used when ``exact`` is None.
        name: shown in tables and saved with checkpoints.
        outputs: names of the solution components, default ``("u",)``.
        parameters: ``{name: initial value}`` of unknown scalars learned with the model.
        transform: ``transform(x, net_output) -> u``, e.g. to satisfy Dirichlet data
            exactly (hard constraint). Derivatives then come from autograd.
        weights: suggested loss weights per term name (e.g. ``{"pde": 0.01}`` when the
            residual's scale dwarfs the conditions'); ``TrainConfig.weights`` overrides them.

    Raises:
        TypeError, ValueError: for a domain, pde, condition or exact solution that
            does not fit (wrong types, a condition the domain cannot have, an exact
            solution of the wrong shape).
    """

    def __init__(self, domain: Domain, pde: Callable, conditions: Sequence[Condition] = (), exact: Callable | None = None,
                 *, reference: Callable | None = None, name: str = "problem", outputs: Sequence[str] | None = None,
                 parameters: dict[str, float] | None = None, transform: Callable | None = None,
                 weights: dict[str, float] | None = None):
        if not isinstance(domain, Domain):
            raise TypeError(f"domain must be a kanpde Domain (Interval, Rectangle, Box, Disk, ...), got {type(domain).__name__}")
        if not callable(pde):
            raise TypeError(f"pde must be a function pde(x, u), got {type(pde).__name__}")
        self.domain, self.pde, self.exact, self.reference = domain, pde, exact, reference
        self.name, self.transform = name, transform
        self.outputs = tuple(outputs) if outputs is not None else ("u",)
        self.parameters = dict(parameters or {})
        self.weights = {str(k): float(v) for k, v in (weights or {}).items()}
        self.all_conditions = self._check_conditions(conditions)
        # conditions built into the output (kanpde.pde.constraints) and those left as loss terms
        self.constraints = plan(domain, self.all_conditions, self.outputs, allow=transform is None)
        self.hard = self.constraints.hard
        self.conditions = [c for c in self.all_conditions if not any(c is h for h in self.hard)]
        self.record = DerivativeRecord()
        if exact is not None:
            self._check_exact()

    def with_hard_dirichlet(self) -> "Problem":
        """This problem with its whole-boundary Dirichlet condition as a hard constraint.

        Raises:
            ValueError: unless exactly one Dirichlet condition covers the whole boundary.
        """
        whole = [c for c in self.conditions if isinstance(c, Dirichlet) and c.on is None and c.component is None]
        if any(isinstance(c, Dirichlet) for c in self.hard):
            return self
        if len(whole) != 1:
            raise ValueError(f"a hard constraint needs exactly one Dirichlet condition on the whole boundary, "
                             f"problem {self.name!r} has {len(whole)}")
        conditions = [Dirichlet(c.value, hard=True, name=c.name) if c is whole[0] else c for c in self.all_conditions]
        return Problem(self.domain, self.pde, conditions, self.exact, reference=self.reference, name=self.name,
                       outputs=self.outputs, parameters=self.parameters, transform=self.transform,
                       weights=self.weights)

    def soft(self) -> "Problem":
        """This problem with every condition as a loss term (``hard=False``), nothing built in."""
        conditions = [copy.copy(c) for c in self.all_conditions]
        for c in conditions:
            if hasattr(c, "hard"):
                c.hard = False
        return Problem(self.domain, self.pde, conditions, self.exact, reference=self.reference, name=self.name,
                       outputs=self.outputs, parameters=self.parameters, transform=self.transform,
                       weights=self.weights)

    # -- validation -------------------------------------------------------------------------------

    def _check_conditions(self, conditions) -> list[Condition]:
        if isinstance(conditions, Condition):
            conditions = [conditions]
        conditions = list(conditions)
        names: dict[str, int] = {}
        for c in conditions:
            if not isinstance(c, Condition):
                raise TypeError(f"conditions must be kanpde conditions (Dirichlet, Neumann, ...), got {type(c).__name__}")
            c.check(self.domain)
            base = c.name or c.default_name()
            names[base] = names.get(base, 0) + 1
            c.term = base if names[base] == 1 else f"{base}_{names[base]}"
        return conditions

    def _check_exact(self) -> None:
        x = torch.as_tensor(self.domain.sample_interior(8, method="uniform", seed=0))
        values = _as_columns(self.exact(x), 8, "exact")
        if values.shape[1] != len(self.outputs):
            raise ValueError(f"exact must return {len(self.outputs)} column(s) (outputs {self.outputs}), "
                             f"got shape {tuple(values.shape)}")

    def check_model(self, model: nn.Module) -> None:
        """Raise ValueError unless the model maps the domain's dimension to the outputs."""
        in_dim, out_dim = getattr(model, "in_dim", None), getattr(model, "out_dim", None)
        if in_dim is not None and in_dim != self.input_dim:
            if self.input_dim != self.domain.dim:
                raise ValueError(f"the model takes {in_dim} inputs but the network needs {self.input_dim}: the "
                                 f"periodic embedding feeds it cos/sin features for the {self.domain.dim} coordinates "
                                 f"{self.domain.names} (build it with problem.input_dim inputs, or give "
                                 "kp.Periodic(..., hard=False))")
            raise ValueError(f"the model takes {in_dim} inputs but the domain has {self.domain.dim} "
                             f"coordinates {self.domain.names}")
        if out_dim is not None and out_dim != len(self.outputs):
            raise ValueError(f"the model has {out_dim} outputs but the problem has {len(self.outputs)} ({self.outputs})")

    # -- evaluation -------------------------------------------------------------------------------

    @property
    def dim(self) -> int:
        return self.domain.dim

    @property
    def input_dim(self) -> int:
        """The network's input width: the domain's dimension, plus the periodic embedding's extra features."""
        return self.constraints.input_dim

    def network_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """What the network itself sees at points x (the periodic embedding's features, else x)."""
        return self.constraints.network_inputs(x)

    def has_solution(self) -> bool:
        return self.exact is not None or self.reference is not None

    def solution_values(self, x: torch.Tensor) -> torch.Tensor:
        """Exact (or reference) solution at points x, ``(N, m)``."""
        if self.exact is not None:
            return _as_columns(self.exact(x), x.shape[0], "exact").to(x)
        if self.reference is None:
            raise ValueError(f"problem {self.name!r} has neither an exact nor a reference solution")
        values = np.asarray(self.reference(x.detach().cpu().numpy()))
        return _as_columns(torch.as_tensor(values), x.shape[0], "reference").to(x)

    def model_for_fields(self, model: nn.Module) -> nn.Module:
        """The model as the solution sees it: with the hard constraint or transform applied."""
        if self.hard:
            return self.constraints.wrap(model)
        return TransformedModel(model, self.transform) if self.transform is not None else model

    def field(self, model: nn.Module, x: torch.Tensor, backend: str = "auto") -> Field:
        """The solution field of ``model`` at points x."""
        model = self.model_for_fields(model)
        return Field(model, x, self.domain.names, self.domain.spatial_axes, backend=backend,
                     outputs=self.outputs, record=self.record)

    def residuals(self, model: nn.Module, x: torch.Tensor, backend: str = "auto",
                  parameters: dict[str, torch.Tensor] | None = None) -> list[torch.Tensor]:
        """PDE residuals at interior points x, each ``(N, k)``."""
        u = self.field(model, x, backend)
        out = self.pde(u.x, u, parameters) if self.parameters else self.pde(u.x, u)
        out = out if isinstance(out, (tuple, list)) else [out]
        return [_as_columns(r, x.shape[0], "pde") for r in out]

    def residual_names(self, count: int) -> list[str]:
        return ["pde"] if count == 1 else [f"pde{i}" for i in range(count)]

    def condition_residual(self, condition: Condition, model: nn.Module, points: ConditionPoints,
                           backend: str = "auto") -> torch.Tensor:
        return condition.residual(lambda x: self.field(model, x, backend), points)

    def __repr__(self) -> str:
        terms = ", ".join(c.term for c in self.conditions)
        return f"Problem({self.name!r}, domain={self.domain!r}, conditions=[{terms}])"
