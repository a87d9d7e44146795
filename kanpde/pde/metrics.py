"""The one home of error metrics and of the dense evaluation set (training, errors, figures, CLI, scripts).

    rel_l2 = ||u - u*|| / ||u*||,   max_abs = max |u - u*|

over all points (and components, unless taken per column). Large point sets are evaluated
in chunks of ``CHUNK_SIZE`` points (:func:`chunks`), so the memory a model's forward pass
needs stays bounded whatever the number of points; errors are accumulated as sums of
squares (:func:`squared_errors`) and combined at the end (:func:`relative_l2_from`), which
is also how data-parallel ranks combine theirs. :func:`error_metrics` is the same pair for
arrays already in hand (numpy or torch): FD/FEM baselines, figure titles, scripts.

The evaluation set (:func:`evaluation_points`) has one default size,
``EVALUATION_POINTS = 40 000``: a 200 x 200 grid in 2-D and 35^3 in 3-D, fine enough to
resolve the features the default grids (up to G = 80 knots per axis) can represent, yet
one forward pass of a few ms for a small KAN. ``Solution.errors()``, figure titles and
training's error record all call ``evaluation_points(domain)`` with this default, so the
numbers they report are measured on the same points.
"""

from __future__ import annotations

import math
from typing import Iterator

import numpy as np
import torch

CHUNK_SIZE = 65_536  # points per forward pass when predicting, evaluating errors or exporting
EVALUATION_POINTS = 40_000  # the evaluation set's size (see the module docstring for why)


def chunks(n: int, chunk_size: int = CHUNK_SIZE) -> Iterator[slice]:
    """Consecutive slices of at most ``chunk_size`` items covering ``range(n)``.

    Raises:
        ValueError: ``chunk_size`` is not a positive int.
    """
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive int (points per batch), got {chunk_size!r}")
    for start in range(0, n, int(chunk_size)):
        yield slice(start, min(start + int(chunk_size), n))


def squared_errors(u: torch.Tensor, exact: torch.Tensor) -> torch.Tensor:
    """``(||u - u*||², ||u*||²)`` over all points and components, shape ``(2,)``; sums add up over chunks."""
    return torch.stack([(u - exact).pow(2).sum(), exact.pow(2).sum()])


def column_squared_errors(u: torch.Tensor, exact: torch.Tensor) -> torch.Tensor:
    """Per component: ``(||u_c - u_c*||², ||u_c*||²)`` for each column c, shape ``(2, m)``; adds up over chunks."""
    return torch.stack([(u - exact).pow(2).sum(0), exact.pow(2).sum(0)])   # (2, m)


def relative_l2_from(sums: torch.Tensor) -> float:
    """``sqrt(||u - u*||² / ||u*||²)`` from the (accumulated) :func:`squared_errors`."""
    return float((sums[0] / sums[1].clamp_min(1e-300)).sqrt())


def relative_l2(u: torch.Tensor, exact: torch.Tensor) -> float:
    """``||u - u*|| / ||u*||`` over all points and components."""
    return relative_l2_from(squared_errors(u, exact))


def error_metrics(u, exact) -> dict[str, float]:
    """``{"rel_l2": ||u - u*|| / ||u*||, "max_abs": max |u - u*|}`` of two arrays of one shape (numpy or torch).

    Raises:
        ValueError: the shapes differ, or there are no values.
    """
    u = torch.as_tensor(np.asarray(u, dtype=float) if not isinstance(u, torch.Tensor) else u.detach().cpu())
    exact = torch.as_tensor(np.asarray(exact, dtype=float) if not isinstance(exact, torch.Tensor)
                            else exact.detach().cpu()).to(u.dtype)
    if u.shape != exact.shape:
        raise ValueError(f"error_metrics needs values and exact values of one shape, got {tuple(u.shape)} "
                         f"and {tuple(exact.shape)}")
    if u.numel() == 0:
        raise ValueError("error_metrics needs at least one value, got none")
    return {"rel_l2": relative_l2(u, exact), "max_abs": float((u - exact).abs().max())}


def evaluation_points(domain, target: int = EVALUATION_POINTS, seed: int = 12345) -> tuple[np.ndarray, tuple | None]:
    """The dense evaluation set: a regular grid up to 3-D, quasi-random points beyond.

    From 4-D on a grid of ``target`` points has too few points per axis to resolve
    anything, so the set is ``min(target, 20 000)`` scrambled Halton points drawn with
    the fixed ``seed``: the same set on every call, every rank and every machine.

    Returns:
        ``(points (N, D), grid shape)``; the shape is None for quasi-random points.
    """
    if domain.dim > 3:
        return domain.sample_interior(min(target, 20_000), method="halton", seed=seed), None
    per_axis = max(5, min(401, math.ceil(target ** (1 / domain.dim))))
    return domain.grid(per_axis)
