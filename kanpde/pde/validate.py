"""Checks at the public boundary that need to know what a Problem is: a problem's conditions that contradict
each other, and a model and a pde that do not fit the problem, found by one pre-flight evaluation on a few
points before any training (so the user reads a message naming their argument, not a torch traceback).

The generic checks (ints, seeds, paths, points) live in :mod:`kanpde.checks`; this module adds the ones that
evaluate a problem. :func:`kanpde.solve` calls :func:`check_model` and :func:`preflight`; ``Problem``
calls :func:`check_pde_signature` and :func:`check_conditions_agree`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from ..checks import check_signature
from .conditions import Condition, Dirichlet

#: points of the pre-flight evaluation: enough for every shape check, cheap for any model
PREFLIGHT_POINTS = 8


def check_pde_signature(pde, parameters: dict, params: dict | None = None) -> None:
    """``pde`` must be callable as ``pde(x, u)``, or ``pde(x, u, p)`` when the problem has ``parameters=``
    or ``params=``.

    Raises:
        TypeError: naming ``pde``, the call it must accept and its own signature.
    """
    if params:
        check_signature("pde", pde, 3, f"pde(x, u, p) with p.{next(iter(params))} a column (the problem has params=)")
    elif parameters:
        check_signature("pde", pde, 3, f"pde(x, u, p) with p.{next(iter(parameters))} (the problem has parameters=)")
    else:
        check_signature("pde", pde, 2, "pde(x, u) (give parameters= for pde(x, u, p))")


def check_conditions_agree(domain, conditions: Sequence[Condition], outputs: Sequence[str]) -> None:
    """Refuse two Dirichlet conditions with different constant values on the same part of the boundary
    (the whole boundary, or one side under either of its names) for the same component.

    Corners shared by two sides are not a contradiction (a lid-driven cavity has one); only a part both
    conditions cover entirely is.

    Raises:
        ValueError: naming both conditions and their values.
    """
    constant = [c for c in conditions if isinstance(c, Dirichlet) and isinstance(c.value, float)
                and (c.on is None or isinstance(c.on, str))]
    for i, a in enumerate(constant):
        for b in constant[i + 1:]:
            if a.value != b.value and _same_component(a, b, outputs) and _covers_same_part(domain, a.on, b.on):
                raise ValueError(f"conditions contradict each other: Dirichlet(value={a.value:g}, on={a.on!r}) and "
                                 f"Dirichlet(value={b.value:g}, on={b.on!r}) ask for different values on the same "
                                 "boundary; narrow one with on= to the sides it holds on")


def _same_component(a: Condition, b: Condition, outputs: Sequence[str]) -> bool:
    def index(c):
        return c.component if not isinstance(c.component, str) else outputs.index(c.component)
    return index(a) is None or index(b) is None or index(a) == index(b)


def _covers_same_part(domain, a: str | None, b: str | None) -> bool:
    """The whole boundary covers every side; two side names cover the same part when they are aliases
    (their uniform samples coincide)."""
    if a is None or b is None:
        return True
    if a == b:
        return True
    first, second = (domain.sample_boundary(8, method="uniform", seed=0, side=s) for s in (a, b))
    return first.shape == second.shape and bool(np.allclose(first, second))


def check_model(problem, model: nn.Module) -> None:
    """Refuse a model with nothing to train (no trainable parameters and no problem parameters).

    Raises:
        ValueError: naming ``model``.
    """
    if not any(p.requires_grad for p in model.parameters()) and not problem.parameters:
        raise ValueError(f"model has no trainable parameters ({type(model).__name__}); pass a network to train, "
                         "e.g. kp.KAN([2, 10, 1]) or kp.MLP([2, 32, 1])")


class _NamedParameters:
    """The problem's parameters as the pde sees them (``p.k``, ``p["k"]``, dict-like), with an unknown name
    refused by a ValueError that lists the known ones (a ParameterDict says only "has no attribute")."""

    def __init__(self, values: dict[str, torch.Tensor]):
        object.__setattr__(self, "_values", values)

    def __getattr__(self, name: str) -> torch.Tensor:
        if name.startswith("_"):  # Python's own lookups (copy, pickle) stay AttributeErrors
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, name: str) -> torch.Tensor:
        if name not in self._values:
            raise ValueError(f"pde reads parameter {name!r}, which the problem's parameters= do not define. "
                             f"Pick one of {tuple(self._values)}")
        return self._values[name]

    def __contains__(self, name) -> bool:
        return name in self._values

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def keys(self):
        return self._values.keys()

    def values(self):
        return self._values.values()

    def items(self):
        return self._values.items()


def preflight(problem, model: nn.Module, dtype: torch.dtype, device: torch.device | str) -> None:
    """Evaluate the model and the pde once on a few interior points, before training.

    Checks that the model takes the problem's inputs and gives its outputs, that the pde runs (its errors
    named as the pde's, with the points' dtype and device), reads only known parameters, and that every
    residual depends on u (or the parameters): a residual needing no gradient cannot be trained.

    Raises:
        ValueError, TypeError: naming ``model`` or ``pde``.
    """
    x = torch.as_tensor(problem.domain.sample_interior(PREFLIGHT_POINTS, method="uniform", seed=0),
                        dtype=dtype, device=device)                               # (n, D)
    with torch.enable_grad():
        _check_model_io(problem, model, x)
        parameters = _NamedParameters({k: torch.tensor(v, dtype=dtype, device=device, requires_grad=True)
                                       for k, v in problem.parameters.items()})
        _check_pde_runs(problem, model, x, parameters)
        residuals = problem.residuals(model, x, parameters=parameters if problem.parameters else None)
        trainable = [p for p in model.parameters() if p.requires_grad] + list(parameters.values())
        for name, r in zip(problem.residual_names(len(residuals)), residuals):
            _check_residual(name, r, x, trainable)


def _check_residual(name: str, r: torch.Tensor, x: torch.Tensor, trainable: list[torch.Tensor]) -> None:
    """One residual: on the points' device, and moved by at least one trainable tensor."""
    if r.device != x.device:
        raise ValueError(f"pde residual {name!r} is on device {r.device} but the points are on {x.device}; "
                         "build tensors with x's device, e.g. torch.zeros_like(x[:, :1])")
    moved = r.requires_grad and bool(trainable) and any(g is not None for g in torch.autograd.grad(
        r.sum(), trainable, allow_unused=True, retain_graph=True))
    if not moved:
        raise ValueError(f"pde residual {name!r} does not depend on u: no trainable parameter moves it, so "
                         "training cannot change it (a residual built only from x, or a hard constraint or "
                         "transform= that fixes u); return an expression of u, e.g. u.laplacian() - f")


def _check_model_io(problem, model: nn.Module, x: torch.Tensor) -> None:
    inputs = problem.network_inputs(x)                                            # (n, input_dim)
    try:
        out = model(inputs)
    except (RuntimeError, IndexError, TypeError) as err:
        raise ValueError(f"model cannot be evaluated on the problem's points: it must map (N, {problem.input_dim}) "
                         f"inputs (coordinates {problem.domain.names}) to (N, outputs), but "
                         f"{type(model).__name__} raised {type(err).__name__}: {err}") from err
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"model must return a torch.Tensor, got {type(out).__name__}")
    if problem.transform is None and (out.ndim != 2 or out.shape != (len(x), len(problem.outputs))):
        raise ValueError(f"model gives shape {tuple(out.shape)} for {len(x)} points but the problem has "
                         f"{len(problem.outputs)} output(s) {problem.outputs}: build it with "
                         f"{len(problem.outputs)} output(s)")


def _check_pde_runs(problem, model: nn.Module, x: torch.Tensor, parameters: _NamedParameters) -> None:
    u = problem.field(model, x)
    call = "pde(x, u, p)" if problem.parameters or problem.params else "pde(x, u)"
    try:
        problem.call_pde(u, parameters)
    except (RuntimeError, TypeError, AttributeError, IndexError, KeyError) as err:
        kind = TypeError if isinstance(err, TypeError) else ValueError
        raise kind(f"pde raised {type(err).__name__} when called as {call} on points x of shape "
                   f"{tuple(x.shape)} ({x.dtype}, device {x.device}): {err}") from err
