"""Corner singular functions of the Laplacian on polygons (features for :class:`kanpde.pde.features.FeatureEmbedding`).

Near a vertex of interior angle ω, with θ the angle from one edge into the domain, a solution of
Δu = f (f smooth) with homogeneous conditions on the two edges expands as (Grisvard 1985, ch. 4)

    u = Σ_k c_k r^λ_k Θ_k(θ) + smoother terms,

    Dirichlet on both edges:       λ_k = kπ/ω,          Θ_k = sin(λ_k θ)
    Neumann on both edges:         λ_k = kπ/ω,          Θ_k = cos(λ_k θ)
    Dirichlet at θ = 0, Neumann at θ = ω:  λ_k = (k - 1/2)π/ω,  Θ_k = sin(λ_k θ)
    Neumann at θ = 0, Dirichlet at θ = ω:  λ_k = (k - 1/2)π/ω,  Θ_k = cos(λ_k θ)

A term with non-integer λ_k < 2 has unbounded second derivatives at the vertex: no spline or
network of smooth functions follows it well (the re-entrant corner of an L-shape: λ_1 = 2/3).
:func:`corner_singularities` returns these functions for every vertex where λ_1 < 1, each cut off
smoothly at the distance ρ to the nearest edge that does not touch the vertex,

    s(x) = χ(r / ρ) r^λ Θ(θ),   χ(t) = 1 - 10 t³ + 15 t⁴ - 6 t⁵ (t < 1), 0 beyond (C²),

so that s is single-valued and C² in the closed domain. Given to a problem as
``features=``, the network sees them as extra inputs and learns the coefficients c_k
(the singular function method of finite elements, Fix 1969; Strang & Fix 1973, sec. 8.2).
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import torch

from ..geometry.shapes import Polygon

_TINY = 1e-12  # points this close to a vertex are moved off it: r^(λ-2) stays finite there


def _segment_distance(point: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    t = np.clip(np.dot(point - a, b - a) / np.dot(b - a, b - a), 0.0, 1.0)
    return float(np.linalg.norm(point - (a + t * (b - a))))


def _ccw_angle(u: np.ndarray, v: np.ndarray) -> float:
    """The counter-clockwise angle from direction u to direction v, in (0, 2π]."""
    angle = math.atan2(u[0] * v[1] - u[1] * v[0], float(np.dot(u, v))) % (2 * math.pi)
    return angle if angle > 0 else 2 * math.pi


def _cutoff(t: torch.Tensor) -> torch.Tensor:
    """χ(t) = 1 - 10 t³ + 15 t⁴ - 6 t⁵ on [0, 1], 0 beyond: C² at t = 1."""
    t = t.clamp(max=1.0)
    return 1 - t ** 3 * (10 - 15 * t + 6 * t ** 2)


class CornerFunction:
    """``s(x) = χ(r / ρ) r^λ Θ(λ θ)`` at one vertex, ``(N, 2) -> (N, 1)`` (see the module docstring).

    Args:
        vertex: the corner ``(2,)``; start: unit direction of the edge at θ = 0.
        angle: the interior angle ω; exponent: λ; kind: ``"sin"`` or ``"cos"``; radius: ρ.
    """

    def __init__(self, vertex, start, angle: float, exponent: float, kind: str, radius: float):
        self.vertex, self.start = np.asarray(vertex, dtype=float), np.asarray(start, dtype=float)
        self.angle, self.exponent, self.kind, self.radius = float(angle), float(exponent), kind, float(radius)
        self.cut = (self.angle - 2 * math.pi) / 2  # θ runs over [cut, cut + 2π): the branch cut bisects the outside

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        z = x[:, :2] - torch.as_tensor(self.vertex).to(x)                      # (N, 2)
        r = z.norm(dim=1, keepdim=True)                                        # (N, 1)
        inward = torch.as_tensor([math.cos(self.angle / 2), math.sin(self.angle / 2)]).to(x)
        bisector = torch.stack([self.start[0] * inward[0] - self.start[1] * inward[1],
                                self.start[1] * inward[0] + self.start[0] * inward[1]])  # (2,) into the domain
        z = torch.where(r < _TINY, _TINY * bisector, z)                        # off the vertex itself
        r = z.norm(dim=1, keepdim=True)
        s = torch.as_tensor(self.start).to(x)
        across = s[0] * z[:, 1:2] - s[1] * z[:, 0:1]                           # (N, 1) sin component
        along = s[0] * z[:, 0:1] + s[1] * z[:, 1:2]                            # (N, 1) cos component
        theta = torch.remainder(torch.atan2(across, along) - self.cut, 2 * math.pi) + self.cut
        shape = torch.sin(self.exponent * theta) if self.kind == "sin" else torch.cos(self.exponent * theta)
        return _cutoff(r / self.radius) * r ** self.exponent * shape

    def __repr__(self) -> str:
        return (f"CornerFunction(vertex={tuple(self.vertex)}, angle={self.angle:.4g}, exponent={self.exponent:.4g}, "
                f"{self.kind}, radius={self.radius:.4g})")


def corner_singularities(domain: Polygon, terms: int = 1, neumann: Sequence[str] = ()) -> list[Callable]:
    """The leading corner singular functions ``s(x) -> (N, 1)`` of the Laplacian on a polygon.

    One function per term k = 1..``terms`` at every vertex whose leading exponent λ_1 is below 1
    (Dirichlet on both edges: the re-entrant corners, ω > π); terms whose λ_k is an integer
    are smooth and left out.

    Args:
        domain: a :class:`kanpde.Polygon`.
        terms: how many terms k per vertex (positive int).
        neumann: names of the sides with Neumann conditions (the others count as Dirichlet).

    Returns:
        list of :class:`CornerFunction` (empty for a convex polygon with Dirichlet sides).

    Raises:
        TypeError: domain not a Polygon, terms not an int.  ValueError: terms < 1, unknown side.
    """
    if not isinstance(domain, Polygon):
        raise TypeError(f"corner_singularities needs a kanpde Polygon (domain=...), got {type(domain).__name__}")
    if isinstance(terms, bool) or not isinstance(terms, int):
        raise TypeError(f"terms must be an int >= 1, got {type(terms).__name__}: {terms!r}")
    if terms < 1:
        raise ValueError(f"terms must be an int >= 1, got {terms}")
    if isinstance(neumann, str):
        neumann = [neumann]
    unknown = [s for s in neumann if s not in domain.side_names]
    if unknown:
        raise ValueError(f"unknown neumann side(s) {unknown}. Pick from {domain.side_names}")
    flux = {e for s in neumann for e in domain._edges(s)}
    v, m, ccw = domain.vertices, len(domain.vertices), domain._orientation > 0
    out = []
    for i in range(m):
        before, after = (i - 1) % m, i                                        # edge indices at vertex i
        start_edge, end_edge = (after, before) if ccw else (before, after)
        start = v[(i + 1) % m] - v[i] if ccw else v[i - 1] - v[i]
        end = v[i - 1] - v[i] if ccw else v[(i + 1) % m] - v[i]
        angle = _ccw_angle(start, end)
        mixed = (start_edge in flux) != (end_edge in flux)
        kind = "cos" if start_edge in flux else "sin"
        radius = min(_segment_distance(v[i], v[j], v[(j + 1) % m]) for j in range(m) if j not in (before, after))
        for k in range(1, terms + 1):
            exponent = (k - 0.5 if mixed else k) * math.pi / angle
            if k == 1 and exponent >= 1:
                break
            if abs(exponent - round(exponent)) > 1e-12:
                out.append(CornerFunction(v[i], start / np.linalg.norm(start), angle, exponent, kind, radius))
    return out
