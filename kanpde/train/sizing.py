"""The default training size, chosen from the model's size: the rule behind ``kp.TrainConfig()``.

A :class:`~kanpde.train.config.TrainConfig` field left at its default holds a :class:`Sized`
value (an ``int`` or a ``list`` subclass, so it reads like the plain value). ``kp.solve`` replaces
those, and only those, by :func:`sized`: an explicit value always wins, also through
``dataclasses.replace``. The rule, for a KAN with ``E`` edges and spline order ``k``:

- final grid: the finest of 40 and 80 whose spline coefficients ``E * (G + k)`` stay within
  :data:`COEFFICIENT_BUDGET` (a Levenberg-Marquardt iteration's dense solve costs the cube of
  the parameter count, so a wider or deeper network stops at 40); the schedule refines
  5 -> 10 -> 20 -> 40 (-> 80);
- interior points: at least :data:`POINTS_PER_COEFFICIENT` per coefficient at the final grid, and
  at least 3000 (between collocation points a KAN with more coefficients than residuals fits the
  residual and misses the solution: poisson2d at grid 80 with 3000 points 2.1e-6, with 4000 6.3e-7);
- boundary points per condition: 400, scaled by the same factor as the interior points.

A [2, 10, 1] KAN: grid 80, 5000 interior points. [3, 10, 1]: grid 40, 3500 points. A model
without a grid (an MLP): the L-BFGS/LM schedule on its parameters, ``max(3000, 2 P)`` points.
"""

from __future__ import annotations

import dataclasses
import math

from torch import nn

from .stages import default_schedule

COEFFICIENT_BUDGET = 3000
POINTS_PER_COEFFICIENT = 2
BASE_POINTS, BASE_BOUNDARY = 3000, 400
FINAL_GRIDS = (80, 40)  # finest first; 40 is the floor

__all__ = ["Sized", "SizedInt", "SizedSchedule", "final_grid", "sized", "training_size"]


class Sized:
    """Marks a TrainConfig value the user did not give: :func:`sized` may replace it."""


class SizedInt(int, Sized):
    """An int default of TrainConfig (``interior_points``, ``boundary_points``)."""


class SizedSchedule(list, Sized):
    """The default schedule of TrainConfig (a list of stages)."""


def _edges(model: nn.Module) -> int | None:
    widths = getattr(model, "widths", None)
    if getattr(model, "grid", None) is None or widths is None:
        return None
    return sum(a * b for a, b in zip(widths[:-1], widths[1:]))


def final_grid(model: nn.Module) -> int | None:
    """The default schedule's last grid for ``model`` (None for a model without a spline grid)."""
    edges = _edges(model)
    if edges is None:
        return None
    k = getattr(model, "k", 3)
    return next((g for g in FINAL_GRIDS if edges * (g + k) <= COEFFICIENT_BUDGET), FINAL_GRIDS[-1])


def training_size(model: nn.Module, grid: int | None = None) -> tuple[int, int, int | None]:
    """``(interior_points, boundary_points, final_grid)`` of the default configuration for ``model``
    (its points for a schedule ending on ``grid`` where given)."""
    grid = final_grid(model) if grid is None else grid
    edges = _edges(model)
    if edges is None:
        coefficients = sum(p.numel() for p in model.parameters())
    else:
        coefficients = edges * (grid + getattr(model, "k", 3))
    interior = max(BASE_POINTS, 500 * math.ceil(POINTS_PER_COEFFICIENT * coefficients / 500))
    boundary = int(round(BASE_BOUNDARY * interior / BASE_POINTS))
    return interior, boundary, grid


def _last_grid(schedule, model: nn.Module) -> int | None:
    """The finest grid an explicit schedule reaches (the model's own where no stage sets one)."""
    return max([s.grid for s in schedule if getattr(s, "grid", None)] + [getattr(model, "grid", None) or 0]) or None


def sized(config, model: nn.Module):
    """``config`` with its defaulted (:class:`Sized`) fields sized to ``model``; given fields kept.

    Points follow the final grid: the default schedule's for ``model``, or the finest grid of an
    explicit schedule.
    """
    grid = None if isinstance(config.schedule, Sized) else _last_grid(config.schedule, model)
    interior, boundary, grid = training_size(model, grid)
    changes = {}
    if isinstance(config.interior_points, Sized):
        changes["interior_points"] = SizedInt(interior)
    if isinstance(config.boundary_points, Sized):
        changes["boundary_points"] = SizedInt(boundary)
    if isinstance(config.schedule, Sized):
        changes["schedule"] = SizedSchedule(default_schedule(final_grid=grid or 40))
    return dataclasses.replace(config, **changes) if changes else config
