"""The one relative-L2 error and the one dense evaluation set, shared by training, errors and export."""

from __future__ import annotations

import math

import numpy as np
import torch


def relative_l2(u: torch.Tensor, exact: torch.Tensor) -> float:
    """``||u - u*|| / ||u*||`` over all points and components."""
    return float((u - exact).norm() / exact.norm().clamp_min(1e-300))


def evaluation_points(domain, target: int = 40_000, seed: int = 12345) -> tuple[np.ndarray, tuple | None]:
    """A dense evaluation set: a regular grid up to 3-D, quasi-random points beyond."""
    if domain.dim > 3:
        return domain.sample_interior(min(target, 20_000), method="halton", seed=seed), None
    per_axis = max(5, min(401, math.ceil(target ** (1 / domain.dim))))
    return domain.grid(per_axis)
