"""Approximate distance functions (ADFs) built with R-functions (Sukumar & Srivastava, CMAME 2022).

An ADF ``phi`` of a boundary piece is smooth, zero exactly on the piece and positive
inside the domain, and normalised to first order (``|grad phi| = 1`` on the piece).
All functions here are torch functions of ``(N, D)`` points returning ``(N, 1)``; their
derivatives come from autograd (the hard-constraint transform in :mod:`.constraints`
differentiates them), so the KAN jet stays exact.

Building blocks:

- segment from ``p`` to ``q`` (length ``L``, centre ``c``): with the signed line distance
  ``f = ((x - p) x (q - p)) / L`` and the trim ``t = ((L/2)^2 - |x - c|^2) / L``,
  ``varphi = sqrt(t^2 + f^4)`` and ``phi = sqrt(f^2 + ((varphi - t) / 2)^2)``: zero on the
  segment only;
- R-equivalence (``m = 1``) of pieces: ``phi = 1 / sum_i 1 / phi_i``, zero on every piece;
- R-conjunction / disjunction of signed (inside-positive) functions:
  ``f1 & f2 = f1 + f2 - sqrt(f1^2 + f2^2)``, ``f1 | f2 = f1 + f2 + sqrt(f1^2 + f2^2)``,
  and ``not f = -f``: the signed ADF of a CSG domain.

:func:`signed_adf` and :func:`adf` dispatch on the domain: closed forms for boxes and
disks, the domain's own ``signed_adf()`` / ``adf(side)`` methods for the others.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from .domains import Box, Disk, Domain

__all__ = ["adf", "signed_adf", "segment_adf", "r_equivalence", "r_and", "r_or", "r_not"]

TorchFn = Callable[[torch.Tensor], torch.Tensor]


def segment_adf(p: np.ndarray, q: np.ndarray) -> TorchFn:
    """Trimmed ADF of the segments ``p[i] -> q[i]`` in 2-D: ``(N, 2) -> (N, S)``, zero on segment i only."""
    p, q = np.atleast_2d(np.asarray(p, float)), np.atleast_2d(np.asarray(q, float))
    d = q - p                                                             # (S, 2)
    length = np.linalg.norm(d, axis=1)                                    # (S,)
    centre = 0.5 * (p + q)

    def phi(x: torch.Tensor) -> torch.Tensor:
        pt, dt, ct, lt = (torch.as_tensor(a).to(x) for a in (p, d, centre, length))
        rel = x[:, None, :] - pt                                          # (N, S, 2)
        f = (rel[..., 0] * dt[:, 1] - rel[..., 1] * dt[:, 0]) / lt        # (N, S)
        t = ((lt / 2) ** 2 - (x[:, None, :] - ct).pow(2).sum(-1)) / lt    # (N, S)
        varphi = torch.sqrt(t ** 2 + f ** 4)
        return torch.sqrt(f ** 2 + ((varphi - t) / 2) ** 2)

    return phi


def r_equivalence(parts: torch.Tensor) -> torch.Tensor:
    """``1 / sum_i 1 / phi_i`` over the last axis, ``(N, S) -> (N, 1)``: zero where any ``phi_i`` is."""
    return 1.0 / (1.0 / parts).sum(dim=1, keepdim=True)


def r_and(f1: torch.Tensor, f2: torch.Tensor) -> torch.Tensor:
    """R-conjunction: positive where both are, zero on the boundary of the intersection."""
    return f1 + f2 - torch.sqrt(f1 ** 2 + f2 ** 2)


def r_or(f1: torch.Tensor, f2: torch.Tensor) -> torch.Tensor:
    """R-disjunction: positive where either is, zero on the boundary of the union."""
    return f1 + f2 + torch.sqrt(f1 ** 2 + f2 ** 2)


def r_not(f: torch.Tensor) -> torch.Tensor:
    return -f


def _box_signed(lo: np.ndarray, hi: np.ndarray) -> TorchFn:
    """R-conjunction of the slabs ``(x_i - lo_i)(hi_i - x_i) / (hi_i - lo_i)``."""
    def phi(x: torch.Tensor) -> torch.Tensor:
        lot, hit = torch.as_tensor(lo).to(x), torch.as_tensor(hi).to(x)
        slabs = (x - lot) * (hit - x) / (hit - lot)                       # (N, D)
        out = slabs[:, :1]
        for i in range(1, slabs.shape[1]):
            out = r_and(out, slabs[:, i:i + 1])
        return out
    return phi


def _disk_signed(center: np.ndarray, radius: float) -> TorchFn:
    return lambda x: (radius ** 2 - (x - torch.as_tensor(center).to(x)).pow(2).sum(1, keepdim=True)) / (2 * radius)


def signed_adf(domain: Domain) -> TorchFn:
    """Signed ADF of the whole boundary: positive inside, negative outside, zero on it.

    Raises:
        ValueError: for domains without one (time axes, 3-D meshes).
    """
    if isinstance(domain, Box) and domain.time_axis is None:
        return _box_signed(*domain.bounds)
    if isinstance(domain, Disk):
        return _disk_signed(domain.center, domain.radius)
    if hasattr(domain, "signed_adf"):
        return domain.signed_adf()
    raise ValueError(f"no signed distance function for {domain!r}")


def _box_faces_adf(domain: Box, sides: Sequence[str]) -> TorchFn:
    """2-D: trimmed segment functions of the faces (zero on the faces only); else distances to the face planes."""
    faces = sorted({face for side in sides for face in domain._faces(side)})
    lo, hi = domain.bounds
    if domain.dim == 2:
        ends = []
        for axis, upper in faces:
            p, q = lo.copy(), hi.copy()
            p[axis] = q[axis] = (hi if upper else lo)[axis]
            ends.append((p, q))
        seg = segment_adf(np.array([e[0] for e in ends]), np.array([e[1] for e in ends]))
        return lambda x: r_equivalence(seg(x))

    def phi(x: torch.Tensor) -> torch.Tensor:
        parts = [(x[:, a] - lo[a]) if not upper else (hi[a] - x[:, a]) for a, upper in faces]
        return r_equivalence(torch.stack(parts, dim=1))                   # (N, 1)
    return phi


def adf(domain: Domain, side: str | Sequence[str] | None = None) -> TorchFn:
    """ADF zero on the named side(s) (the whole boundary when None), positive inside.

    Args:
        domain: a spatial domain (Box, Disk, Polygon, Ellipse, Ball, CSG, MeshDomain).
        side: a side name, a list of names, or None.

    Raises:
        ValueError: unknown side, or a domain without an ADF.
    """
    sides = [side] if isinstance(side, str) else (None if side is None else list(side))
    if sides is not None:
        for s in sides:
            domain._check_side(s)
    if isinstance(domain, Box) and domain.time_axis is None:
        return _box_signed(*domain.bounds) if sides is None else _box_faces_adf(domain, sides)
    if isinstance(domain, Disk):
        return _disk_signed(domain.center, domain.radius)
    if hasattr(domain, "adf"):
        return domain.adf(sides)
    raise ValueError(f"no distance function for {domain!r}")
