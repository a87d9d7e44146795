"""Checks before the first step: what cannot fit is rejected before allocation, and
non-finite input is a ValueError naming its source, not a "divergence".

The trainer treats a non-finite loss during training as a divergence (restore the last
good model, retry gently). At step 0 there is no good model to go back to: a NaN or inf
there comes from the input (a residual, value function, data, parameter or weight), so
it is reported as such.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..memory import check_fits


def training_elements(problem, model: nn.Module, config) -> float:
    """Rough peak element count of one loss evaluation: points times the per-point work.

    Per point a KAN layer holds ``in * out`` edge values and ``in * (G + k)`` basis values,
    an MLP layer its width; the jet carries them for the value, D first and D second
    derivatives, and autograd keeps about three such sets for the backward pass.
    """
    dim = problem.domain.dim
    points = config.interior_points + config.boundary_points * len(problem.conditions)
    if config.adaptive is not None:  # RAD/RAR score ten candidates per interior point
        points = max(points, 10 * config.interior_points)
    widths = list(getattr(model, "widths", [dim, 1]))
    basis = (getattr(model, "grid", 0) or 0) + (getattr(model, "k", 0) or 0)
    per_layer = [i * o + i * basis if basis else o for i, o in zip(widths[:-1], widths[1:])]
    return float(points) * sum(per_layer) * (1 + 2 * dim) * 3


def check_size(problem, model: nn.Module, config) -> None:
    """Raise ValueError, with the estimate, when training cannot fit in the device's memory."""
    itemsize = torch.empty((), dtype=config.dtype).element_size()
    check_fits(training_elements(problem, model, config), f"training with interior_points={config.interior_points}, "
               f"boundary_points={config.boundary_points} on this model", itemsize, config.device)


def check_start(trainer) -> None:
    """Raise ValueError naming the parameter or loss term that is NaN/inf before training."""
    for name, p in trainer.model.named_parameters():
        if not bool(torch.isfinite(p).all()):
            raise ValueError(f"model parameter {name!r} holds NaN/inf before training")
    for name, p in trainer.parameters.items():
        if not bool(torch.isfinite(p).all()):
            raise ValueError(f"problem parameter {name!r} is {float(p)} before training")
    with torch.enable_grad():
        raw = trainer.loss_terms()
        trainer.total(raw)  # unknown weight names are refused here, before any step
        terms = {k: float(v.detach()) for k, v in raw.items()}
    bad = {k: v for k, v in terms.items() if not math.isfinite(v)}
    if bad:
        raise ValueError(f"loss term(s) {sorted(bad)} are non-finite at step 0, before any training "
                         f"({', '.join(f'{k}={v}' for k, v in bad.items())}): the residual or data behind them "
                         f"give NaN/inf on the training points")
