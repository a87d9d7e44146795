"""Finite-difference baselines on uniform grids (numpy + scipy only).

Every solver returns an :class:`FDSolution`: the grid as named 1-D node arrays
(time, if any, last and named ``"t"``) and the nodal values in ``"ij"`` order,
boundary nodes included. Sign conventions match the PINN side of kanpde:

* Poisson     ``Δu = f``                     (:func:`poisson`, DST fast solver)
* Helmholtz   ``Δu + k² u = f``              (:func:`helmholtz`, sparse direct)
* heat        ``u_t = α Δu + s(x, t)``       (:func:`heat`, Crank-Nicolson)
* Burgers     ``u_t + u u_x = ν u_xx``       (:func:`burgers`, implicit CN + Newton)
* Allen-Cahn  ``u_t = ε u_xx - 5u³ + 5u``    (:func:`allen_cahn`, Strang splitting)
* advection   ``u_t + c u_x = 0``            (:func:`advection`, Lax-Wendroff)
* wave        ``u_tt = c² u_xx``             (:func:`wave`, leapfrog)

Callables (``f``, ``g``, ``u0``, ``v0``, ``source``) follow the kanpde convention
(:mod:`kanpde.pde.functions`): they take an ``(M, d)`` float64 torch tensor of points
-- for time-dependent data the spatial coordinates followed by ``t`` as the last
column -- and return ``(M,)`` or ``(M, 1)`` values (torch, or numpy); so the torch
functions of a :class:`kanpde.Problem` serve here unchanged. Plain numbers are
accepted in their place.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import scipy.sparse as sp
from scipy.fft import dstn, idstn
from scipy.interpolate import RegularGridInterpolator, make_interp_spline

try:  # scipy >= 1.12
    from scipy.interpolate import NdBSpline
except ImportError:  # pragma: no cover
    NdBSpline = None
from scipy.linalg import solve_banded
from scipy.sparse.linalg import splu
import torch

from .checks import finite_points, is_int
from .pde.functions import call_points

__all__ = [
    "FDSolution",
    "Linear",
    "elliptic",
    "poisson",
    "second_difference",
    "method_of_lines",
    "helmholtz",
    "heat",
    "burgers",
    "allen_cahn",
    "advection",
    "wave",
]

_DEFAULT_NAMES = {1: ("x",), 2: ("x", "y"), 3: ("x", "y", "z")}
_POISSON_ORDERS = (2, 4)
_BOX_TOL = 1e-12


# --------------------------------------------------------------------------- result


@dataclass
class FDSolution:
    """Nodal values of a finite-difference solution on a tensor grid.

    Attributes:
        axes: ordered coordinate name -> 1-D node array; a time axis, if any,
            comes last and is named ``"t"``.
        values: array of shape ``tuple(len(a) for a in axes.values())`` in
            ``"ij"`` indexing, boundary nodes included.
        method: short scheme identifier, e.g. ``"fd-poisson-2nd-dst"``.
        elapsed: wall-clock seconds of the solve.
    """

    axes: dict[str, np.ndarray]
    values: np.ndarray
    method: str
    elapsed: float

    def __post_init__(self):
        self.axes = {str(k): np.asarray(v, dtype=float) for k, v in self.axes.items()}
        self.values = np.asarray(self.values)
        shape = tuple(len(a) for a in self.axes.values())
        if self.values.shape != shape:
            raise ValueError(f"values must have shape {shape} (from axes), got {self.values.shape}")

    @property
    def names(self) -> tuple:
        """Coordinate names in axis order."""
        return tuple(self.axes)

    @property
    def h(self) -> float:
        """Largest spatial grid spacing (the ``"t"`` axis is ignored)."""
        spacings = [np.max(np.diff(a)) for name, a in self.axes.items() if name != "t"]
        return float(max(spacings))

    def points(self) -> np.ndarray:
        """All grid nodes as an ``(M, d)`` array, in the C order of ``values.ravel()``."""
        grids = np.meshgrid(*self.axes.values(), indexing="ij")
        return np.stack([g.ravel() for g in grids], axis=1)

    def interpolate(self, points):
        """Values at arbitrary points inside the grid box, ``(M, 1)`` like ``Solution.predict``:
        numpy in, numpy out; torch in, torch out (same dtype and device), so a solution's
        ``interpolate`` serves directly as a problem's ``reference``.

        Tensor-product cubic spline (not-a-knot) when every axis has at least
        4 nodes, else ``scipy.interpolate.RegularGridInterpolator`` with
        method ``"linear"``. The cubic spline is the one
        ``RegularGridInterpolator(method="cubic")`` defines, but its
        coefficients are computed axis by axis with banded direct solves
        (exact and fast on large grids) instead of scipy's iterative solve of
        the full Kronecker system, whose 1e-6 tolerance spoils accuracy.

        Args:
            points: ``(M, d)`` array or tensor (``(M,)`` is accepted when ``d == 1``),
                columns in the order of ``axes``.

        Returns:
            ``(M, 1)`` interpolated values.

        Raises:
            ValueError: wrong number of columns, non-finite points, or points
                outside the grid box by more than 1e-12.
        """
        d = len(self.axes)
        like = points if isinstance(points, torch.Tensor) else None
        pts = finite_points(points, "points", d)                            # (M, d)
        lo = np.array([a[0] for a in self.axes.values()])
        hi = np.array([a[-1] for a in self.axes.values()])
        outside = np.any((pts < lo - _BOX_TOL) | (pts > hi + _BOX_TOL), axis=1)
        if np.any(outside):
            first = pts[np.argmax(outside)]
            raise ValueError(
                f"points must lie in the grid box lo={lo.tolist()}, hi={hi.tolist()}; "
                f"{int(outside.sum())} of {len(pts)} lie outside, first {first.tolist()}"
            )
        values = np.asarray(self._interpolant()(np.clip(pts, lo, hi)), dtype=float)[:, None]  # (M, 1)
        return values if like is None else torch.as_tensor(values).to(dtype=like.dtype, device=like.device)

    def _interpolant(self):
        """Built once per solution (a large space-time grid takes a fraction of a second)."""
        cached = getattr(self, "_cached_interpolant", None)
        if cached is not None:
            return cached
        grid = tuple(self.axes.values())
        if any(len(a) < 4 for a in grid):
            interpolant = RegularGridInterpolator(grid, self.values, method="linear")
        elif NdBSpline is None:  # pragma: no cover
            interpolant = RegularGridInterpolator(grid, self.values, method="cubic")
        else:
            interpolant = _tensor_spline(grid, self.values)
        self._cached_interpolant = interpolant
        return interpolant


def _tensor_spline(grid, values, k: int = 3):
    """Not-a-knot tensor-product interpolating spline, built one axis at a time."""
    coef, knots = np.asarray(values, dtype=float), []
    for axis, nodes in enumerate(grid):
        spl = make_interp_spline(nodes, coef, k=k, axis=axis)
        coef = np.moveaxis(spl.c, 0, axis)
        knots.append(spl.t)
    return NdBSpline(tuple(knots), coef, k)


# --------------------------------------------------------------------------- input checks


def _vector(v, name: str) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(v, dtype=float))
    if arr.ndim != 1 or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be a finite number or 1-D sequence, got {v!r}")
    return arr


def _intervals(n, d: int) -> tuple:
    ns = (n,) * d if np.isscalar(n) else tuple(n)
    ok = len(ns) == d and all(is_int(m) and m >= 2 for m in ns)
    if not ok:
        raise ValueError(f"n must be an int >= 2 or a tuple of {d} such ints, got {n!r}")
    return tuple(int(m) for m in ns)


def _names(names, d: int, timed: bool) -> tuple:
    default = _DEFAULT_NAMES.get(d, tuple(f"x{i + 1}" for i in range(d)))
    names = default if names is None else tuple(str(s) for s in names)
    if names is None or len(names) != d or len(set(names)) != d:
        raise ValueError(f"names must be {d} distinct coordinate names, got {names!r}")
    if timed and "t" in names:
        raise ValueError(f"spatial names must not include 't' (the time axis), got {names!r}")
    return names


def _box(lo, hi, n, names, dims, what, timed=False):
    """Validated uniform grid: (axes dict, spacings tuple)."""
    lo, hi = _vector(lo, "lo"), _vector(hi, "hi")
    if lo.size != hi.size:
        raise ValueError(f"lo and hi must have the same length, got {lo.size} and {hi.size}")
    d = lo.size
    if d not in dims:
        raise ValueError(f"{what} supports dimensions d in {dims} (d = len(lo)), got d={d}")
    if np.any(hi <= lo):
        raise ValueError(f"need hi > lo on every axis, got lo={lo.tolist()}, hi={hi.tolist()}")
    ns = _intervals(n, d)
    names = _names(names, d, timed)
    axes = {nm: np.linspace(a, b, m + 1) for nm, a, b, m in zip(names, lo, hi, ns)}
    hs = tuple(float(b - a) / m for a, b, m in zip(lo, hi, ns))
    return axes, hs


def _positive(value, name: str, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {bound}, got {value!r}")
    return v


def _real(value, name: str) -> float:
    try:
        v = float(value) if np.ndim(value) == 0 else None
    except (TypeError, ValueError):
        v = None
    if v is None or not np.isfinite(v):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    return v


def _time_axis(t0, t1, nt) -> np.ndarray:
    t0, t1 = _real(t0, "t0"), _real(t1, "t1")
    if not t1 > t0:
        raise ValueError(f"need finite t1 > t0, got t0={t0}, t1={t1}")
    if not is_int(nt) or nt < 1:
        raise ValueError(f"nt must be an int >= 1 (number of time steps), got {nt!r}")
    return np.linspace(t0, t1, int(nt) + 1)


def _saved_levels(nt: int, save_every) -> list:
    if not is_int(save_every) or save_every < 1:
        raise ValueError(f"save_every must be an int >= 1, got {save_every!r}")
    levels = list(range(0, nt + 1, int(save_every)))
    return levels if levels[-1] == nt else levels + [nt]


# --------------------------------------------------------------------------- evaluation


def _evaluate(fun, pts: np.ndarray, name: str) -> np.ndarray:
    """A number, or a function of points called by the kanpde convention (torch ``(M, d)`` in,
    see :mod:`kanpde.pde.functions`), at (M, d) points -> finite (M,) floats."""
    if callable(fun):
        return call_points(fun, torch.as_tensor(pts, dtype=torch.float64), name, columns=1).numpy()[:, 0]
    try:
        value = float(fun)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or a function of (M, d) points, got {type(fun).__name__}") from None
    if not np.isfinite(value):
        raise ValueError(f"{name} must give finite values, got {value}")
    return np.full(pts.shape[0], value)


def _grid_points(axes_list) -> np.ndarray:
    grids = np.meshgrid(*axes_list, indexing="ij")
    return np.stack([g.ravel() for g in grids], axis=1)


def _on_grid(fun, axes_list, name) -> np.ndarray:
    """Values of `fun` on the tensor grid of `axes_list`."""
    shape = tuple(len(a) for a in axes_list)
    return _evaluate(fun, _grid_points(axes_list), name).reshape(shape)


class _Boundary:
    """Dirichlet data on the boundary nodes of a full grid, possibly time-dependent."""

    def __init__(self, g, axes_list, name="g", timed=False):
        self.shape = tuple(len(a) for a in axes_list)
        self.mask = np.ones(self.shape, dtype=bool)
        self.mask[_interior_index(len(self.shape))] = False
        self.pts = _grid_points(axes_list)[self.mask.ravel()]
        self.g, self.name, self.timed = g, name, timed and callable(g)
        self._const = None if self.timed else self._values(None)

    def _values(self, t):
        pts = self.pts if t is None else np.column_stack([self.pts, np.full(len(self.pts), t)])
        return _evaluate(self.g, pts, self.name)

    def values(self, t=None) -> np.ndarray:
        return self._const if self._const is not None else self._values(t)

    def grid(self, t=None) -> np.ndarray:
        """Full-grid array: boundary data on the boundary, zeros inside."""
        out = np.zeros(self.shape)
        out[self.mask] = self.values(t)
        return out


# --------------------------------------------------------------------------- stencils


def _interior_index(d: int, axes=None) -> tuple:
    axes = range(d) if axes is None else axes
    return tuple(slice(1, -1) if i in axes else slice(None) for i in range(d))


def _d2(u: np.ndarray, axis: int, h: float) -> np.ndarray:
    """Second difference along `axis` (that axis shrinks by 2)."""
    def cut(a, b):
        idx = [slice(None)] * u.ndim
        idx[axis] = slice(a, b)
        return u[tuple(idx)]

    return (cut(None, -2) - 2.0 * cut(1, -1) + cut(2, None)) / h**2


def _apply_operator(u: np.ndarray, hs, order: int = 2) -> np.ndarray:
    """Discrete Laplacian (order 2) or Mehrstellen left-hand side (order 4) at interior nodes.

    Order 4 adds ``Σ_{i<j} (h_i² + h_j²)/12 D_ii D_jj``; applied to a full grid
    array (boundary included), the result lives on the interior nodes.
    """
    d = u.ndim
    others = lambda *ax: [k for k in range(d) if k not in ax]  # noqa: E731
    out = sum(_d2(u, i, hs[i])[_interior_index(d, others(i))] for i in range(d))
    if order == 4:
        for i, j in combinations(range(d), 2):
            w = (hs[i] ** 2 + hs[j] ** 2) / 12.0
            out = out + w * _d2(_d2(u, i, hs[i]), j, hs[j])[_interior_index(d, others(i, j))]
    return out


def _second_difference(m: int, h: float, periodic: bool = False) -> sp.csr_matrix:
    """1-D second-difference matrix on m unknowns: Dirichlet interior or periodic."""
    i = np.arange(m)
    rows = np.concatenate([i, i, i])
    cols = np.concatenate([i, i - 1, i + 1])
    vals = np.concatenate([np.full(m, -2.0), np.ones(m), np.ones(m)]) / h**2
    if periodic:
        cols = cols % m
    else:
        keep = (cols >= 0) & (cols < m)
        rows, cols, vals = rows[keep], cols[keep], vals[keep]
    return sp.coo_matrix((vals, (rows, cols)), shape=(m, m)).tocsr()


def _laplacian_matrix(ms, hs, periodic: bool = False) -> sp.csr_matrix:
    """Sparse d-D Laplacian as a Kronecker sum over C-ordered unknowns."""
    eye = [sp.identity(m, format="csr") for m in ms]
    total = None
    for i, (m, h) in enumerate(zip(ms, hs)):
        factors = eye[:i] + [_second_difference(m, h, periodic)] + eye[i + 1:]
        term = factors[0]
        for fac in factors[1:]:
            term = sp.kron(term, fac, format="csr")
        total = term if total is None else total + term
    return total.tocsr()


def _dst_solve(rhs: np.ndarray, hs, order: int, c: float = 0.0) -> np.ndarray:
    """Solve (L + c M) u = rhs on interior nodes with zero Dirichlet data via DST-I
    (M = I for order 2, the Mehrstellen ``I + Σ h_i²/12 D_ii`` for order 4)."""
    d = rhs.ndim
    mus = []
    for axis, (m, h) in enumerate(zip(rhs.shape, hs)):
        k = np.arange(1, m + 1)
        shape = [1] * d
        shape[axis] = m
        mus.append((-4.0 / h**2 * np.sin(np.pi * k / (2 * (m + 1))) ** 2).reshape(shape))
    lam = sum(mus)
    if order == 4:
        for i, j in combinations(range(d), 2):
            lam = lam + (hs[i] ** 2 + hs[j] ** 2) / 12.0 * mus[i] * mus[j]
    if c:
        mass = 1.0 + sum(h**2 / 12.0 * mu for h, mu in zip(hs, mus)) if order == 4 else 1.0
        lam = lam + c * mass
    if np.any(np.abs(lam) < 1e-12 * np.max(np.abs(lam))):
        raise ValueError(f"the discrete operator is singular: c = {c} is (close to) an eigenvalue of -Δ_h")
    return idstn(dstn(rhs, type=1) / lam, type=1)


def _cn_stepper(A: sp.spmatrix, dt: float):
    """Crank-Nicolson step for u' = A u + r: returns step(u, r_sum) with r_sum = r_old + r_new."""
    eye = sp.identity(A.shape[0], format="csc")
    lu = splu((eye - 0.5 * dt * A).tocsc())
    explicit = (eye + 0.5 * dt * A).tocsr()

    def step(u, r_sum=None):
        rhs = explicit @ u
        if r_sum is not None:
            rhs = rhs + 0.5 * dt * r_sum
        return lu.solve(rhs)

    return step


def _finish(axes, values, method, start) -> FDSolution:
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{method} produced non-finite values; check the data and the step sizes")
    return FDSolution(axes=axes, values=values, method=method, elapsed=time.perf_counter() - start)


# --------------------------------------------------------------------------- elliptic


def poisson(f, lo, hi, n, g=0.0, order=2, names=None) -> FDSolution:
    """Poisson equation ``Δu = f`` in a box with Dirichlet data ``u = g``.

    Order 2 is the standard (2d+1)-point Laplacian; order 4 is the compact
    Mehrstellen scheme ``(Σ D_ii + Σ_{i<j} (h_i²+h_j²)/12 D_ii D_jj) u =
    f + Σ h_i²/12 D_ii f``. Both are diagonalised by the type-I discrete sine
    transform, so the solve is a fast DST after lifting ``g`` into the
    right-hand side. This is :func:`elliptic` with ``c = 0``.

    Args:
        f: source, callable on ``(M, d)`` points or a number; for order 4 it
            is also evaluated on the boundary nodes.
        lo, hi: box corners, length d >= 1 (order 2: any dimension, ``(n+1)^d`` nodes; order 4: d <= 3).
        n: intervals per axis, an int or a tuple of d ints (each >= 2).
        g: Dirichlet data, callable or number.
        order: 2 or 4.
        names: coordinate names (default ``("x",)``, ``("x","y")``, ``("x","y","z")``, ``x1 .. xd``).

    Returns:
        FDSolution with axes for every coordinate and values on all nodes.

    Raises:
        ValueError: bad box, ``n``, ``order`` or non-finite data.
    """
    return elliptic(f, lo, hi, n, g=g, c=0.0, order=order, names=names)


def elliptic(f, lo, hi, n, g=0.0, c=0.0, order=2, names=None) -> FDSolution:
    """``Δu + c u = f`` in a box of any dimension with Dirichlet data ``u = g``, by a DST solve.

    Order 4 is the Mehrstellen scheme ``(L4 + c M4) u = M4 f`` with
    ``L4 = Σ D_ii + Σ_{i<j} (h_i²+h_j²)/12 D_ii D_jj`` and ``M4 = I + Σ h_i²/12 D_ii``;
    order 2 is ``(Σ D_ii + c) u = f``. Both are diagonal in the type-I sine basis.

    Args:
        f, g: source and Dirichlet data, callables on ``(M, d)`` points or numbers.
        lo, hi: box corners, length d >= 1 (order 4: d <= 3; from 4-D on the Mehrstellen operator's
            cross terms cancel its highest mode and the scheme is singular).
        n: intervals per axis, an int or a tuple of d ints (each >= 2).
        c: the zeroth-order coefficient (``k²`` for Helmholtz), a real number.
        order: 2 or 4.
        names: coordinate names.

    Returns:
        FDSolution on all ``(n+1)^d`` nodes; ``method`` names the scheme.

    Raises:
        ValueError: bad box, ``n``, ``order``, ``c`` (singular operator) or non-finite data.
    """
    start = time.perf_counter()
    if order not in _POISSON_ORDERS:
        raise ValueError(f"order must be one of {_POISSON_ORDERS}, got {order!r}")
    c = _real(c, "c")
    axes, hs = _box(lo, hi, n, names, range(1, 64) if order == 2 else (1, 2, 3), f"elliptic (order {order})")
    axes_list = list(axes.values())
    d = len(axes_list)
    u = _Boundary(g, axes_list).grid()                          # boundary data, zeros inside
    if order == 2:
        rhs = _on_grid(f, [a[1:-1] for a in axes_list], "f") - _apply_operator(u, hs, 2)
    else:
        F = _on_grid(f, axes_list, "f") - c * u                 # M4 acts on f - c u_boundary
        rhs = F[_interior_index(d)] + _mass_correction(F, hs) - _apply_operator(u, hs, 4)
    u[_interior_index(d)] = _dst_solve(rhs, hs, order, c)
    kind = "poisson" if c == 0 else "helmholtz"
    method = f"fd-{kind}-2nd-dst" if order == 2 else f"fd-{kind}-4th-mehrstellen-dst"
    return _finish(axes, u, method, start)


def _mass_correction(F: np.ndarray, hs) -> np.ndarray:
    """``Σ h_i²/12 D_ii F`` at the interior nodes of the full grid array F."""
    d = F.ndim
    return sum(hs[i] ** 2 / 12.0 * _d2(F, i, hs[i])[_interior_index(d, [k for k in range(d) if k != i])]
               for i in range(d))


def helmholtz(f, k, lo, hi, n, g=0.0, names=None) -> FDSolution:
    """Helmholtz equation ``Δu + k² u = f`` in a box with Dirichlet data ``u = g``.

    Second-order (2d+1)-point Laplacian, sparse assembly and a sparse direct
    (SuperLU) solve. The discrete problem is singular when ``-k²`` is an
    eigenvalue of the discrete Laplacian.

    Args:
        f: source, callable on ``(M, d)`` points or a number.
        k: wave number (real).
        lo, hi: box corners, length d in (1, 2, 3).
        n: intervals per axis, an int or a tuple of d ints (each >= 2).
        g: Dirichlet data, callable or number.
        names: coordinate names.

    Returns:
        FDSolution on all nodes.

    Raises:
        ValueError: bad box, ``n``, ``k`` or non-finite data / solution.
    """
    start = time.perf_counter()
    k = _real(k, "k")
    axes, hs = _box(lo, hi, n, names, (1, 2, 3), "helmholtz")
    axes_list = list(axes.values())
    d = len(axes_list)
    interior = [a[1:-1] for a in axes_list]
    u = _Boundary(g, axes_list).grid()
    rhs = _on_grid(f, interior, "f") - _apply_operator(u, hs)
    ms = [len(a) for a in interior]
    A = _laplacian_matrix(ms, hs) + k**2 * sp.identity(int(np.prod(ms)), format="csr")
    u[_interior_index(d)] = splu(A.tocsc()).solve(rhs.ravel()).reshape(ms)
    return _finish(axes, u, "fd-helmholtz-2nd-splu", start)


# --------------------------------------------------------------------------- parabolic


def heat(u0, alpha, lo, hi, n, t1, nt, g=0.0, source=0.0, t0=0.0, names=None, save_every=1) -> FDSolution:
    """Heat equation ``u_t = α Δu + s(x, t)`` with Dirichlet data ``u = g(x, t)``.

    Crank-Nicolson in time (second order), (2d+1)-point Laplacian in space,
    one sparse LU factorisation reused for every step.

    Args:
        u0: initial value at ``t0``, callable on spatial points or a number;
            stored as the first time level (should agree with ``g`` there).
        alpha: diffusivity, > 0.
        lo, hi: box corners, length d in (1, 2, 3).
        n: intervals per axis, an int or a tuple of d ints.
        t1: final time (> t0).
        nt: number of time steps.
        g: boundary data, a number or a callable on ``(M, d+1)`` points
            (space then t).
        source: ``s(x, t)``, a number or a callable on ``(M, d+1)`` points.
        t0: initial time.
        names: spatial coordinate names (not ``"t"``).
        save_every: keep every this many time levels (the last is always kept).

    Returns:
        FDSolution with axes ``(*space, "t")``.

    Raises:
        ValueError: bad box, times, ``alpha`` or non-finite data.
    """
    start = time.perf_counter()
    alpha = _positive(alpha, "alpha")
    axes, hs = _box(lo, hi, n, names, (1, 2, 3), "heat", timed=True)
    times = _time_axis(t0, t1, nt)
    levels = _saved_levels(len(times) - 1, save_every)
    space = list(axes.values())
    d = len(space)
    interior = [a[1:-1] for a in space]
    ms = [len(a) for a in interior]
    bnd = _Boundary(g, space, timed=True)
    src_pts = _grid_points(interior)

    def forcing(t):
        lift = alpha * _apply_operator(bnd.grid(t), hs).ravel()
        pts = np.column_stack([src_pts, np.full(len(src_pts), t)])
        return lift + _evaluate(source, pts, "source")

    step = _cn_stepper(alpha * _laplacian_matrix(ms, hs), times[1] - times[0])
    first = _on_grid(u0, space, "u0")
    out = np.empty(first.shape + (len(levels),))
    out[..., 0] = first
    u, r_old, j = first[_interior_index(d)].ravel(), forcing(times[0]), 1
    for it in range(1, len(times)):
        r_new = forcing(times[it])
        u, r_old = step(u, r_old + r_new), r_new
        if it == levels[j]:
            full = bnd.grid(times[it])
            full[_interior_index(d)] = u.reshape(ms)
            out[..., j] = full
            j += 1
    return _finish({**axes, "t": times[levels]}, out, "fd-heat-cn-splu", start)


def _periodic_grid(lo, hi, n, what):
    axes, hs = _box(lo, hi, n, ("x",), (1,), what, timed=True)
    return axes["x"], hs[0]


def _store_periodic(u: np.ndarray) -> np.ndarray:
    return np.append(u, u[0])


def _ac_reaction(u: np.ndarray, tau: float) -> np.ndarray:
    """Exact flow of ``u' = 5u - 5u³`` over time tau."""
    e = np.exp(10.0 * tau)
    return u * np.sqrt(e) / np.sqrt(1.0 + u**2 * (e - 1.0))


def allen_cahn(u0, eps, lo, hi, n, t1, nt, t0=0.0, save_every=1) -> FDSolution:
    """Allen-Cahn equation ``u_t = ε u_xx - 5u³ + 5u``, periodic in x.

    Strang splitting: half a step of the exact reaction flow
    ``u = u e^{5τ} / sqrt(1 + u²(e^{10τ} - 1))``, a Crank-Nicolson diffusion
    step, another reaction half step. Second order in time and space; the
    reaction maps [-1, 1] into itself.

    Args:
        u0: initial value, callable on ``(M, 1)`` points or a number.
        eps: diffusion coefficient, > 0 (1e-4 in the benchmark).
        lo, hi: interval ends (the period is ``hi - lo``).
        n: number of intervals (>= 2); the grid holds ``n + 1`` nodes, the
            last duplicating the first.
        t1: final time (> t0).
        nt: number of time steps.
        t0: initial time.
        save_every: keep every this many time levels (the last is always kept).

    Returns:
        FDSolution with axes ``("x", "t")``.

    Raises:
        ValueError: bad interval, times, ``eps`` or non-finite data.
    """
    start = time.perf_counter()
    eps = _positive(eps, "eps")
    x, h = _periodic_grid(lo, hi, n, "allen_cahn")
    times = _time_axis(t0, t1, nt)
    levels = _saved_levels(len(times) - 1, save_every)
    dt = times[1] - times[0]
    step = _cn_stepper(eps * _second_difference(len(x) - 1, h, periodic=True), dt)
    u = _evaluate(u0, x[:-1, None], "u0")
    out = np.empty((len(x), len(levels)))
    out[:, 0], j = _store_periodic(u), 1
    for it in range(1, len(times)):
        u = _ac_reaction(step(_ac_reaction(u, 0.5 * dt)), 0.5 * dt)
        if it == levels[j]:
            out[:, j], j = _store_periodic(u), j + 1
    return _finish({"x": x, "t": times[levels]}, out, "fd-allen-cahn-strang-cn", start)


def _burgers_residual(w, w_old_term, dt, h, nu):
    """CN residual on interior nodes; w is the full array (boundary included)."""
    conv = (w[2:] ** 2 - w[:-2] ** 2) / (4.0 * h)
    diff = nu * (w[2:] - 2.0 * w[1:-1] + w[:-2]) / h**2
    spatial = conv - diff
    return w[1:-1] + 0.5 * dt * spatial - w_old_term, spatial


def _burgers_jacobian(w, dt, h, nu):
    """Banded (1, 1) Jacobian of the CN residual with respect to interior values."""
    m = len(w) - 2
    ab = np.zeros((3, m))
    ab[0, 1:] = 0.5 * dt * (w[2:-1] / (2.0 * h) - nu / h**2)
    ab[1, :] = 1.0 + dt * nu / h**2
    ab[2, :-1] = 0.5 * dt * (-w[1:-2] / (2.0 * h) - nu / h**2)
    return ab


def burgers(u0, nu, lo, hi, n, t1, nt, g=0.0, t0=0.0, save_every=1, tol=1e-10, max_newton=25) -> FDSolution:
    """Viscous Burgers equation ``u_t + u u_x = ν u_xx`` with Dirichlet data ``u = g``.

    Conservative central differences of the flux form
    ``u_t + (u²/2)_x = ν u_xx`` (second order), fully implicit Crank-Nicolson
    in time, solved each step by Newton's method with a tridiagonal
    Jacobian. The standard shock benchmark (``ν = 0.01/π``,
    ``u0 = -sin(πx)`` on [-1, 1], t in [0, 1]) needs ``n`` around 2048 or
    more to keep the cell Péclet number ``h/ν`` below 2.

    Args:
        u0: initial value, callable on ``(M, 1)`` points or a number.
        nu: viscosity, > 0.
        lo, hi: interval ends.
        n: number of intervals (>= 2).
        t1: final time (> t0).
        nt: number of time steps.
        g: boundary data, a number or a callable on ``(M, 2)`` points (x, t).
        t0: initial time.
        save_every: keep every this many time levels (the last is always kept).
        tol: Newton tolerance on the max-norm update (relative to 1 + max|u|).
        max_newton: Newton iterations allowed per step.

    Returns:
        FDSolution with axes ``("x", "t")``.

    Raises:
        ValueError: bad interval, times, ``nu`` or non-finite data.
        RuntimeError: Newton's method failed to converge (reduce the time step).
    """
    start = time.perf_counter()
    nu = _positive(nu, "nu")
    axes, hs = _box(lo, hi, n, ("x",), (1,), "burgers", timed=True)
    x, h = axes["x"], hs[0]
    times = _time_axis(t0, t1, nt)
    levels = _saved_levels(len(times) - 1, save_every)
    dt = times[1] - times[0]
    bnd = _Boundary(g, [x], timed=True)
    w = _evaluate(u0, x[:, None], "u0")
    out = np.empty((len(x), len(levels)))
    out[:, 0], j = w, 1
    _, spatial = _burgers_residual(w, 0.0, dt, h, nu)
    for it in range(1, len(times)):
        old_term = w[1:-1] - 0.5 * dt * spatial
        w = w.copy()
        w[[0, -1]] = bnd.values(times[it])
        for _ in range(max_newton):
            res, spatial = _burgers_residual(w, old_term, dt, h, nu)
            delta = solve_banded((1, 1), _burgers_jacobian(w, dt, h, nu), res)
            w[1:-1] -= delta
            if not np.all(np.isfinite(w)):
                break
            if np.max(np.abs(delta)) <= tol * (1.0 + np.max(np.abs(w))):
                break
        else:
            raise RuntimeError(f"burgers: Newton did not converge at t={times[it]:.6g}; increase nt")
        if not np.all(np.isfinite(w)):
            raise RuntimeError(f"burgers: non-finite values at t={times[it]:.6g}; increase nt or n")
        _, spatial = _burgers_residual(w, 0.0, dt, h, nu)
        if it == levels[j]:
            out[:, j], j = w, j + 1
    return _finish({"x": x, "t": times[levels]}, out, "fd-burgers-cn-newton", start)


# --------------------------------------------------------------------------- hyperbolic


def advection(u0, c, lo, hi, n, t1, nt, t0=0.0, save_every=1) -> FDSolution:
    """Linear advection ``u_t + c u_x = 0``, periodic in x.

    Lax-Wendroff scheme, second order in space and time, stable for Courant
    number ``|c| dt / h <= 1``.

    Args:
        u0: initial value, callable on ``(M, 1)`` points or a number.
        c: advection speed (real).
        lo, hi: interval ends (the period is ``hi - lo``).
        n: number of intervals (>= 2); the last node duplicates the first.
        t1: final time (> t0).
        nt: number of time steps.
        t0: initial time.
        save_every: keep every this many time levels (the last is always kept).

    Returns:
        FDSolution with axes ``("x", "t")``.

    Raises:
        ValueError: bad interval or times, or Courant number above 1.
    """
    start = time.perf_counter()
    c = _real(c, "c")
    x, h = _periodic_grid(lo, hi, n, "advection")
    times = _time_axis(t0, t1, nt)
    levels = _saved_levels(len(times) - 1, save_every)
    courant = c * (times[1] - times[0]) / h
    if abs(courant) > 1.0 + 1e-12:
        raise ValueError(f"Courant number |c| dt/h must be <= 1, got {abs(courant):.4g}; increase nt")
    u = _evaluate(u0, x[:-1, None], "u0")
    out = np.empty((len(x), len(levels)))
    out[:, 0], j = _store_periodic(u), 1
    for it in range(1, len(times)):
        up, um = np.roll(u, -1), np.roll(u, 1)
        u = u - 0.5 * courant * (up - um) + 0.5 * courant**2 * (up - 2.0 * u + um)
        if it == levels[j]:
            out[:, j], j = _store_periodic(u), j + 1
    return _finish({"x": x, "t": times[levels]}, out, "fd-advection-lax-wendroff", start)


def wave(u0, v0, c, lo, hi, n, t1, nt, g=0.0, t0=0.0, save_every=1) -> FDSolution:
    """Wave equation ``u_tt = c² u_xx`` with ``u = u0``, ``u_t = v0`` at t0 and ``u = g`` on the ends.

    Leapfrog (second order in space and time); the first step is the Taylor
    expansion ``u¹ = u⁰ + dt v0 + dt²/2 c² D_xx u⁰``. Stable for
    ``|c| dt / h <= 1``.

    Args:
        u0: initial displacement, callable on ``(M, 1)`` points or a number.
        v0: initial velocity, callable on ``(M, 1)`` points or a number.
        c: wave speed (real).
        lo, hi: interval ends.
        n: number of intervals (>= 2).
        t1: final time (> t0).
        nt: number of time steps.
        g: boundary data, a number or a callable on ``(M, 2)`` points (x, t).
        t0: initial time.
        save_every: keep every this many time levels (the last is always kept).

    Returns:
        FDSolution with axes ``("x", "t")``.

    Raises:
        ValueError: bad interval or times, or Courant number ``|c| dt/h > 1``.
    """
    start = time.perf_counter()
    c = _real(c, "c")
    axes, hs = _box(lo, hi, n, ("x",), (1,), "wave", timed=True)
    x, h = axes["x"], hs[0]
    times = _time_axis(t0, t1, nt)
    levels = _saved_levels(len(times) - 1, save_every)
    dt = times[1] - times[0]
    r2 = (c * dt / h) ** 2
    if r2 > 1.0 + 1e-12:
        raise ValueError(f"Courant number |c| dt/h must be <= 1, got {np.sqrt(r2):.4g}; increase nt")
    bnd = _Boundary(g, [x], timed=True)
    prev = _evaluate(u0, x[:, None], "u0")
    cur = prev.copy()
    cur[1:-1] += dt * _evaluate(v0, x[1:-1, None], "v0") + 0.5 * r2 * h**2 * _d2(prev, 0, h)
    cur[[0, -1]] = bnd.values(times[1])
    out = np.empty((len(x), len(levels)))
    out[:, 0], j = prev, 1
    for it in range(1, len(times)):
        if it > 1:
            nxt = np.empty_like(cur)
            nxt[1:-1] = 2.0 * cur[1:-1] - prev[1:-1] + r2 * h**2 * _d2(cur, 0, h)
            nxt[[0, -1]] = bnd.values(times[it])
            prev, cur = cur, nxt
        if it == levels[j]:
            out[:, j], j = cur, j + 1
    return _finish({"x": x, "t": times[levels]}, out, "fd-wave-leapfrog", start)


# --------------------------------------------------------------------------- baseline description


@dataclass(frozen=True)
class Linear:
    """A problem's baseline hook: the linear PDE the classical ladders (FD, FEM, spectral) all read.

    Stationary (``time is None``)::

        Δu + c u = f   in ``domain``,   u = g on its whole boundary

    Parabolic (``time = (t0, t1)``)::

        u_t = α Δu + f   in ``domain`` x (t0, t1),   u = g on the boundary,   u(x, t0) = u0(x)

    ``f``, ``g``, ``u0`` and ``exact`` follow the kanpde convention for functions of points
    (torch ``(M, d)`` in; for parabolic problems ``f``, ``g`` and ``exact`` take ``(M, d+1)``
    points, time last), or are numbers. Problems whose KAN has Neumann or Robin sides give
    ``g = exact`` here: the baselines then solve the all-Dirichlet problem with the same solution.

    Attributes:
        domain: the spatial kanpde domain.
        f, g: source and Dirichlet data.
        c: zeroth-order coefficient (``k²`` for Helmholtz).
        exact: the exact solution the rungs are measured against.
        alpha: diffusivity of the parabolic form; None for a stationary problem.
        u0: initial value (parabolic).
        time: ``(t0, t1)`` (parabolic) or None.
    """

    domain: object
    f: object = 0.0
    g: object = 0.0
    c: float = 0.0
    exact: object = None
    alpha: float | None = None
    u0: object = None
    time: tuple | None = None

    def __post_init__(self):
        if getattr(self.domain, "time_axis", None) is not None:
            raise ValueError(f"Linear.domain must be the spatial domain (time goes in time=), got {self.domain!r}")
        if not callable(self.exact):
            raise TypeError(f"Linear.exact must be a function of points (the rungs' reference), "
                            f"got {type(self.exact).__name__}")
        _real(self.c, "c")
        if (self.time is None) != (self.alpha is None) or (self.time is None) != (self.u0 is None):
            raise ValueError("Linear: give alpha, u0 and time=(t0, t1) together (parabolic) or none of them")
        if self.time is not None:
            _positive(self.alpha, "alpha")
            t0, t1 = (_real(t, "time") for t in self.time)
            if not t1 > t0:
                raise ValueError(f"Linear.time must be (t0, t1) with t1 > t0, got {self.time!r}")

    @property
    def parabolic(self) -> bool:
        return self.time is not None

    @property
    def box(self):
        """``(lo, hi)`` when the domain is an axis-aligned box, else None."""
        bounds = getattr(self.domain, "bounds", None)
        if bounds is None or type(self.domain).__name__ not in ("Box", "Rectangle", "Interval"):
            return None
        return tuple(np.asarray(b, dtype=float) for b in bounds)


# --------------------------------------------------------------------------- method of lines


_FD_STENCILS = {
    2: ((1.0, -2.0, 1.0), None),
    4: ((-1 / 12, 16 / 12, -30 / 12, 16 / 12, -1 / 12),     # centred, 4th order
        (10 / 12, -15 / 12, -4 / 12, 14 / 12, -6 / 12, 1 / 12)),  # one node from the boundary, 4th order
}


def second_difference(nodes: np.ndarray, order: int = 2) -> sp.csr_matrix:
    """``d²/dx²`` at the interior nodes of a uniform 1-D grid, from the values at all nodes.

    Order 2 is the 3-point stencil; order 4 the centred 5-point stencil, with the
    one-sided 6-point 4th-order stencil on the two nodes next to the ends.

    Args:
        nodes: ``(n+1,)`` uniform nodes.
        order: 2 or 4.

    Returns:
        ``(n-1, n+1)`` sparse matrix.

    Raises:
        ValueError: ``order`` not 2 or 4, or too few nodes for the stencil.
    """
    if order not in _FD_STENCILS:
        raise ValueError(f"order must be one of {tuple(_FD_STENCILS)}, got {order!r}")
    n = len(nodes) - 1
    if n < (2 if order == 2 else 6):
        raise ValueError(f"order {order} needs at least {2 if order == 2 else 6} intervals, got {n}")
    h = float(nodes[1] - nodes[0])
    centre, edge = _FD_STENCILS[order]
    half = len(centre) // 2
    D = sp.lil_matrix((n - 1, n + 1))
    for row in range(n - 1):
        i = row + 1                                                 # node index
        if edge is not None and i in (1, n - 1):
            cols = np.arange(6) if i == 1 else n - np.arange(6)
            D[row, cols] = edge
        else:
            D[row, i - half:i + half + 1] = centre
    return (D / h**2).tocsr()


def method_of_lines(lin: Linear, axes: list, d2: list, method: str, start: float) -> FDSolution:
    """``u_t = α Δu + f`` on a tensor grid: ``Δ`` from per-axis second-derivative matrices, time by
    ``scipy.integrate.solve_ivp`` (BDF with the sparse Jacobian, rtol 1e-10), so the error left is the
    spatial discretisation's.

    Args:
        lin: a parabolic :class:`Linear` on a box (``g`` depends on space only: it is read at t0).
        axes: per-axis ``(n_i+1,)`` nodes (boundary included).
        d2: per-axis ``(n_i-1, n_i+1)`` matrices (:func:`second_difference`, or a Chebyshev block).
        method: the scheme's label.
        start: ``time.perf_counter()`` when the solve began.

    Returns:
        FDSolution with axes ``(*space, "t")`` holding the initial and the final time levels.
    """
    from scipy.integrate import solve_ivp

    t0, t1 = (float(t) for t in lin.time)
    names = tuple(lin.domain.names)
    shape = tuple(len(a) for a in axes)
    interior = tuple(slice(1, -1) for _ in axes)
    inner_shape = tuple(m - 2 for m in shape)
    blocks = [sp.csr_matrix(D)[:, 1:-1] for D in d2]
    A = _kron_sum(blocks) * lin.alpha                                       # (M, M) interior operator
    boundary = _Boundary(lin.g, axes, timed=True).grid(t0)
    lift = lin.alpha * _axis_sum(boundary, d2).ravel()                       # Dirichlet data's share of α Δu
    points = _grid_points([a[1:-1] for a in axes])

    def source(t):
        if not callable(lin.f) and float(lin.f) == 0.0:
            return 0.0
        return _evaluate(lin.f, np.column_stack([points, np.full(len(points), t)]), "f")

    u0 = _on_grid(lin.u0, axes, "u0")
    sol = solve_ivp(lambda t, v: A @ v + lift + source(t), (t0, t1), u0[interior].ravel(), method="BDF",
                    jac=A.tocsc(), rtol=1e-10, atol=1e-12 * max(1.0, float(np.max(np.abs(u0)))), t_eval=[t1])
    if not sol.success:
        raise RuntimeError(f"{method}: solve_ivp failed: {sol.message}")
    final = boundary.copy()
    final[interior] = sol.y[:, -1].reshape(inner_shape)
    values = np.stack([u0, final], axis=-1)
    return _finish({**dict(zip(names, axes)), "t": np.array([t0, t1])}, values, method, start)


def _kron_sum(blocks: list) -> sp.csr_matrix:
    """``Σ_i I ⊗ .. ⊗ B_i ⊗ .. ⊗ I`` ("ij" ordering) of square per-axis blocks."""
    sizes = [B.shape[0] for B in blocks]
    total = None
    for i, B in enumerate(blocks):
        term = sp.kron(sp.kron(sp.identity(int(np.prod(sizes[:i]))), B), sp.identity(int(np.prod(sizes[i + 1:]))))
        total = term if total is None else total + term
    return total.tocsr()


def _axis_sum(full: np.ndarray, d2: list) -> np.ndarray:
    """``Σ_i D_i`` applied to a full grid array along each axis, at the interior nodes."""
    d = full.ndim
    out = 0.0
    for i, D in enumerate(d2):
        moved = np.moveaxis(full, i, 0)                                       # (n_i + 1, rest...)
        applied = (sp.csr_matrix(D) @ moved.reshape(moved.shape[0], -1)).reshape((D.shape[0],) + moved.shape[1:])
        out = out + np.moveaxis(applied, 0, i)[_interior_index(d, [k for k in range(d) if k != i])]
    return out
