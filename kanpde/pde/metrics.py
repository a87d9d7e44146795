"""The one relative-L2 error and the one dense evaluation set, shared by training, errors and export.

Large point sets are evaluated in chunks of ``CHUNK_SIZE`` points (:func:`chunks`), so
the memory a model's forward pass needs stays bounded whatever the number of points;
errors are accumulated as sums of squares (:func:`squared_errors`) and combined at the
end (:func:`relative_l2_from`), which is also how data-parallel ranks combine theirs.
"""

from __future__ import annotations

import math
from typing import Iterator

import numpy as np
import torch

CHUNK_SIZE = 65_536  # points per forward pass when predicting, evaluating errors or exporting


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


def relative_l2_from(sums: torch.Tensor) -> float:
    """``sqrt(||u - u*||² / ||u*||²)`` from the (accumulated) :func:`squared_errors`."""
    return float((sums[0] / sums[1].clamp_min(1e-300)).sqrt())


def relative_l2(u: torch.Tensor, exact: torch.Tensor) -> float:
    """``||u - u*|| / ||u*||`` over all points and components."""
    return relative_l2_from(squared_errors(u, exact))


def evaluation_points(domain, target: int = 40_000, seed: int = 12345) -> tuple[np.ndarray, tuple | None]:
    """A dense evaluation set: a regular grid up to 3-D, quasi-random points beyond.

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
