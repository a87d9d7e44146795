"""Constructive solid geometry: ``a | b`` (union), ``a - b`` (difference), ``a & b`` (intersection).

The closed result and its boundary:

==============  ================================================  ===================
operation       boundary pieces                                   normal on b's piece
==============  ================================================  ===================
``a | b``       ``∂a`` outside ``int b``, ``∂b`` outside ``int a``  ``n_b``
``a & b``       ``∂a`` inside ``b``, ``∂b`` inside ``a``          ``n_b``
``a - b``       ``∂a`` outside ``int b``, ``∂b`` inside ``a``     ``-n_b``
==============  ================================================  ===================

Interior samples come from the bounding box by rejection (the requested method, more
points until ``n`` lie inside; the first ``n`` are kept, evenly spread for ``"grid"``).
In 2-D the boundary is trimmed exactly: every operand boundary patch is a curve
parametrised by arc length, the kept parameter intervals are found on 4096 samples and
bisected to machine precision, and each interval becomes a patch, so boundary sampling is
the same measure-uniform map as for the operands (and works under ``* TimeInterval``).
In 3-D boundary samples come by rejection from the operands' boundaries.

Sides: the operands' named sides (restricted to the result's boundary); an operand
without named sides (a disk, an ellipse, a ball) contributes its whole boundary under
its lower-case class name (``"disk"``). Equal names of different operands are one side.

The volume is a quasi-Monte Carlo estimate (2^18 Sobol points in the bounding box).
Distance functions: :meth:`signed_adf` composes the operands' with R-functions;
:meth:`adf` of named sides is the R-equivalence of the operands' side functions, valid
where those sides lie entirely on the result's boundary (checked in 2-D).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .distance import r_and, r_equivalence, r_not, r_or, signed_adf
from .distance import adf as domain_adf
from .domains import Box, Domain, _check_method, _check_n, _Patch, _sample_patches, _unit_grid
from .shapes import box_grid_inside

__all__ = ["CSG", "Union", "Difference", "Intersection"]

_TRIM_SAMPLES = 4096
_QMC_VOLUME = 2 ** 18


def _interior(d: Domain, x: np.ndarray, tol: float) -> np.ndarray:
    """Points in ``d`` and not on its boundary (the open set, up to ``tol``)."""
    return d.contains(x, tol) & ~d.on_boundary(x, tol)


def _side_map(d: Domain) -> dict[str, str | None]:
    """The operand's side names -> its own side argument (None: its whole boundary)."""
    if isinstance(d, CSG) or d.side_names:
        return {s: s for s in d.side_names}
    return {type(d).__name__.lower(): None}


class CSG(Domain):
    """A boolean combination of two spatial domains of equal dimension (see the module docstring).

    Build it with the operators ``a | b``, ``a - b``, ``a & b``.

    Raises:
        TypeError: an operand is not a Domain.  ValueError: different dimensions or a time axis.
    """

    op = "csg"
    _rejection = True  # samples its interior by rejection (SpaceTime asks for it)

    def __init__(self, a: Domain, b: Domain):
        for which, d in (("left", a), ("right", b)):
            if not isinstance(d, Domain):
                raise TypeError(f"expected a kanpde Domain as the {which} operand of {self.op!r}, got {type(d).__name__}")
            if d.time_axis is not None:
                raise ValueError(f"expected spatial domains in CSG, got {d!r} with a time axis; "
                                 "combine first, then multiply by a TimeInterval")
        if a.dim != b.dim:
            raise ValueError(f"expected operands of equal dimension, got {a.dim} and {b.dim}")
        self.a, self.b = a, b
        self.names = a.names
        self._volume = None

    def __repr__(self) -> str:
        return f"({self.a!r} {self.symbol} {self.b!r})"

    # -- set logic (subclasses) -------------------------------------------------------------

    def _in(self, x: np.ndarray, tol: float) -> np.ndarray:
        raise NotImplementedError

    def _keep(self, which: int, x: np.ndarray, tol: float = 1e-10) -> np.ndarray:
        """On operand ``which``'s boundary: which points are on the result's boundary."""
        raise NotImplementedError

    _flip_b = False

    # -- geometry ---------------------------------------------------------------------------

    @property
    def volume(self) -> float:
        if self._volume is None:
            lo, hi = self.bounds
            x = Box(lo, hi).sample_interior(_QMC_VOLUME, "sobol", seed=0)
            self._volume = float(np.prod(hi - lo) * self.contains(x).mean())
        return self._volume

    @property
    def _scale(self) -> float:
        lo, hi = self.bounds
        return float(np.max(hi - lo))

    def contains(self, x, tol: float = 1e-10) -> np.ndarray:
        return self._in(self._points(x), tol)

    def on_boundary(self, x, tol: float = 1e-8) -> np.ndarray:
        x = self._points(x)
        return ((self.a.on_boundary(x, tol) & self._keep(0, x, tol))
                | (self.b.on_boundary(x, tol) & self._keep(1, x, tol)))

    def normals(self, x) -> np.ndarray:
        """The operand's outward normal on its piece (``-n_b`` on the hole of a difference)."""
        x = self._points(x)
        self._require_boundary(x)
        on_a = self.a.on_boundary(x, 1e-8) & self._keep(0, x, 1e-8)
        out = np.empty_like(x)
        if on_a.any():
            out[on_a] = self.a.normals(x[on_a])
        if (~on_a).any():
            out[~on_a] = self.b.normals(x[~on_a]) * (-1.0 if self._flip_b else 1.0)
        return out

    # -- sides --------------------------------------------------------------------------------

    @property
    def side_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*_side_map(self.a), *_side_map(self.b)]))

    def _operand_sides(self, side: str | None):
        """``[(which, operand side argument)]`` for the whole boundary (None) or a named side."""
        if side is None:
            return [(0, None), (1, None)]
        self._check_side(side)
        return [(i, m[side]) for i, m in enumerate((_side_map(self.a), _side_map(self.b))) if side in m]

    def side(self, name: str):
        parts = self._operand_sides(name)

        def predicate(x, tol: float = 1e-8):
            x = self._points(x)
            out = np.zeros(len(x), dtype=bool)
            for which, s in parts:
                d = (self.a, self.b)[which]
                on = d.on_boundary(x, tol) if s is None else d.side(s)(x, tol)
                out |= on & self._keep(which, x, tol)
            return out
        return predicate

    # -- sampling ------------------------------------------------------------------------------

    def sample_interior(self, n: int, method: str = "sobol", seed=None) -> np.ndarray:
        """Points in the closed domain by rejection from the bounding box (see the module docstring)."""
        n, method = _check_n(n), _check_method(method)
        lo, hi = self.bounds
        box = Box(lo, hi)
        m = int(1.2 * n * box.volume / max(self.volume, 1e-300)) + 16
        for _ in range(30):
            x = box.sample_interior(m, method, seed)
            x = x[self.contains(x)]
            if len(x) >= n:
                return x[np.round(np.linspace(0, len(x) - 1, n)).astype(int)] if method == "grid" else x[:n]
            m *= 2
        raise ValueError(f"could not sample {n} interior points of {self!r}: is it empty?")

    def _interior_from_unit(self, u):
        raise ValueError(f"{type(self).__name__} samples its interior by rejection: use sample_interior()")

    def _trimmed(self, which: int, side: str | None) -> list[_Patch]:
        """Operand ``which``'s boundary patches cut to the parameter intervals on the result's boundary."""
        d = (self.a, self.b)[which]
        out = []
        for patch in d._patches(side):
            if patch.dim != 1:
                raise ValueError(f"exact boundary trimming needs a 2-D domain, got {self.dim}-D {self!r}")
            s = (np.arange(_TRIM_SAMPLES) + 0.5) / _TRIM_SAMPLES
            keep = self._keep(which, patch.map(s[:, None]))
            change = np.flatnonzero(keep[1:] != keep[:-1])
            cuts = [self._bisect(which, patch, s[i], s[i + 1], keep[i]) for i in change]
            bounds = np.concatenate([[0.0], cuts, [1.0]])
            states = np.concatenate([[keep[0]], ~keep[change]])
            for (s0, s1), kept in zip(zip(bounds[:-1], bounds[1:]), states):
                if kept and s1 > s0:
                    out.append(_Patch(patch.weight * (s1 - s0), 1,
                                      lambda u, p=patch, s0=s0, s1=s1: p.map(s0 + u * (s1 - s0))))
        return out

    def _bisect(self, which, patch, lo, hi, keep_lo) -> float:
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if self._keep(which, patch.map(np.array([[mid]])))[0] == keep_lo:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    def _patches(self, side):
        return [p for which, s in self._operand_sides(side) for p in self._trimmed(which, s)]

    def sample_boundary(self, n: int, method: str = "sobol", seed=None, side: str | None = None) -> np.ndarray:
        n, method = _check_n(n), _check_method(method)
        if self.dim == 2:
            return _sample_patches(self._patches(side), n, method, seed)
        return self._reject_boundary(n, method, seed, side)

    def _reject_boundary(self, n, method, seed, side) -> np.ndarray:
        parts = self._operand_sides(side)
        ds = [(self.a, self.b)[w] for w, _ in parts]
        weights = np.array([sum(p.weight for p in d._patches(s)) for d, (_, s) in zip(ds, parts)])
        m = 2 * n + 16
        for attempt in range(30):
            kept = []
            counts = np.maximum(1, np.round(m * weights / weights.sum()).astype(int))
            for d, (which, s), c in zip(ds, parts, counts):
                x = d.sample_boundary(int(c), method, None if seed is None else seed + attempt, side=s)
                kept.append(x[self._keep(which, x)])
            x = np.concatenate(kept)
            if len(x) >= n:
                order = np.random.default_rng(seed).permutation(len(x))  # mix the operands' pieces
                return x[np.sort(order[:n])]
            m *= 2
        raise ValueError(f"could not sample {n} boundary points of {self!r}")

    def grid(self, n):
        """Bounding-box grid points inside the domain; shape None."""
        return box_grid_inside(self, n)

    # -- distance functions ---------------------------------------------------------------------

    def _combine(self, fa, fb):
        raise NotImplementedError

    def signed_adf(self):
        """R-function composition of the operands' signed ADFs: positive inside, zero on the boundary."""
        fa, fb = signed_adf(self.a), signed_adf(self.b)
        return lambda x: self._combine(fa(x), fb(x))

    def adf(self, sides=None):
        """ADF zero on the named sides (whole boundary: :meth:`signed_adf`).

        Raises:
            ValueError: (2-D) a side that is partly inside the domain, so no function of the
                operand's side can vanish on it alone.
        """
        if sides is None:
            return self.signed_adf()
        parts = [(w, s) for side in sides for w, s in self._operand_sides(side)]
        fns = []
        for which, s in parts:
            d = (self.a, self.b)[which]
            if self.dim == 2:
                full = sum(p.weight for p in d._patches(s))
                kept = sum(p.weight for p in self._trimmed(which, s))
                if kept < full * (1 - 1e-9):
                    raise ValueError(f"side {s or type(d).__name__.lower()!r} of {d!r} is partly inside {self!r}; "
                                     "its distance function would vanish inside: use a soft condition there")
            fns.append(domain_adf(d, s))
        # |f|: an operand's function may be signed (negative outside a hole); it is smooth where non-zero
        return lambda x: r_equivalence(torch.cat([f(x).abs() for f in fns], dim=1))


class Union(CSG):
    op, symbol = "union", "|"

    @property
    def bounds(self):
        (la, ha), (lb, hb) = self.a.bounds, self.b.bounds
        return np.minimum(la, lb), np.maximum(ha, hb)

    def _in(self, x, tol):
        return self.a.contains(x, tol) | self.b.contains(x, tol)

    def _keep(self, which, x, tol=1e-10):
        return ~_interior((self.b, self.a)[which], x, tol)

    def _combine(self, fa, fb):
        return r_or(fa, fb)


class Intersection(CSG):
    op, symbol = "intersection", "&"

    @property
    def bounds(self):
        (la, ha), (lb, hb) = self.a.bounds, self.b.bounds
        lo, hi = np.maximum(la, lb), np.minimum(ha, hb)
        if np.any(hi <= lo):
            raise ValueError(f"the intersection {self!r} is empty (bounding boxes do not overlap)")
        return lo, hi

    def _in(self, x, tol):
        return self.a.contains(x, tol) & self.b.contains(x, tol)

    def _keep(self, which, x, tol=1e-10):
        return (self.b, self.a)[which].contains(x, tol)

    def _combine(self, fa, fb):
        return r_and(fa, fb)


class Difference(CSG):
    op, symbol = "difference", "-"
    _flip_b = True

    @property
    def bounds(self):
        return self.a.bounds

    def _in(self, x, tol):
        return self.a.contains(x, tol) & ~_interior(self.b, x, tol)

    def _keep(self, which, x, tol=1e-10):
        return ~_interior(self.b, x, tol) if which == 0 else self.a.contains(x, tol)

    def _combine(self, fa, fb):
        return r_and(fa, r_not(fb))


Domain.set_operations.update({cls.symbol: cls for cls in (Union, Intersection, Difference)})
