"""A known part of the solution: ``u = K(x) + w(x)``, the network (with what is built in) represents w.

    u(x) = K(x) + w(x),   w = the constrained network (hard conditions, periodic embedding, time windows)

``K`` is a cheap closed-form function the user knows to carry what the network cannot hold, e.g. the
decaying kink of Allen-Cahn's initial data at its periodic seam (problems/allen_cahn1d). The residuals
and errors see u; the jet adds K's derivatives (autograd, cached per point set) to the network's.

K must vanish where the network's data are built in, so u keeps them: at the initial time (its time
derivative too for a second-order-in-time problem) and on a built-in Dirichlet boundary
(:func:`check_known` checks sample points).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .conditions import Dirichlet, Initial
from .constraints import HardConstraint
from .fields import function_derivatives
from .functions import call_points, check_differentiable

TOLERANCE = 1e-10


def _unit_factor(x: torch.Tensor, pairs, order: int) -> tuple:
    """The factor 1 of ``u = K + 1 * w`` with its (zero) derivatives: ``(N, 1)``, ``(N, 1, D)``, ``(N, 1, P)``."""
    n, d = x.shape
    return x.new_ones(n, 1), x.new_zeros(n, 1, d), x.new_zeros(n, 1, len(pairs))


def with_known(model: nn.Module, known: Callable, outputs: int) -> nn.Module:
    """``u = known(x) + model(x)`` as a module with a jet (``model`` keeps all the parameters)."""
    lift = lambda x: call_points(known, x, "known", columns=outputs)  # noqa: E731
    return HardConstraint(model, lift, lambda x: x.new_ones(x.shape[0], 1), factor_derivatives=_unit_factor)


def check_known(known: Callable, domain, conditions, built_in, outputs: int) -> None:
    """Raise ValueError unless ``known`` vanishes on the points of every Initial condition (its time
    derivative for ``Initial(derivative=1)``) and every built-in Dirichlet condition.

    Raises:
        ValueError: ``known`` is nonzero there (the data u must meet would move by K), or it is a
            :func:`~kanpde.pde.functions.numpy_function` (the residual takes its derivatives).
    """
    check_differentiable(known, "known", "the residual takes its derivatives")
    for condition in conditions:
        initial = isinstance(condition, Initial)
        if not initial and not (isinstance(condition, Dirichlet) and any(condition is c for c in built_in)):
            continue
        x = torch.as_tensor(condition.sample(domain, 32, "uniform", 0).points, dtype=torch.float64)
        value, grad, _ = function_derivatives(lambda z: call_points(known, z, "known", columns=outputs), x, (), 1)
        axis = getattr(domain, "time_axis", None)
        slope = initial and condition.derivative == 1 and axis is not None   # u_t's data: K_t must vanish
        size = float((grad[..., axis] if slope else value).abs().max())
        if size > TOLERANCE:
            where = "on the built-in Dirichlet boundary" if not initial else \
                "at the initial time (its time derivative too, for an Initial(derivative=1))"
            raise ValueError(f"known must vanish {where} so u keeps the {condition.name or type(condition).__name__} "
                             f"data, got |known| up to {size:.3g} there")
