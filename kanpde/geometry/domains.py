"""Domains, point sampling, outward normals and space-time products.

Every domain works on numpy ``float64`` arrays of shape ``(n, dim)``; point
arguments may also be torch tensors (converted with ``.detach().cpu()``).

Domains: :class:`Interval`, :class:`Rectangle`, :class:`Box` (any dimension),
:class:`Disk`, :class:`TimeInterval` and :class:`SpaceTime`, made by
``spatial_domain * TimeInterval(t0, t1)``.

Sampling methods (``method=``):

- ``"uniform"``: i.i.d. uniform, ``numpy.random.default_rng(seed)``.
- ``"sobol"``, ``"halton"``, ``"lhs"``: scrambled ``scipy.stats.qmc`` engines
  seeded with ``seed`` (Sobol accepts any ``n``; the power-of-2 balance
  warning is silenced).
- ``"grid"``: cell-centred regular points. In ``k`` parameter dimensions it
  uses ``m = ceil(n ** (1/k))`` points per axis at ``(i + 1/2) / m``; when
  ``m**k > n`` it keeps ``n`` of them at evenly spaced positions in C order,
  so the result is an exact regular grid whenever ``n`` is a ``k``-th power.
  Grid points never lie on the parameter cube's faces (no corners).

All samplers map points of the unit cube through an area-preserving
parametrisation, so ``"uniform"`` gives exactly uniform densities and the
quasi-random methods stay well spread. Boundaries are unions of *patches*
(Box faces, the circle, lateral faces of a space-time product); with several
patches, one extra unit coordinate picks the patch with probability
proportional to its measure (``"grid"`` instead splits ``n`` in proportion
by largest remainders). Zero-dimensional patches (the two ends of an
interval) are used in turn: ``a, b, a, b, ...``.

Tolerances are relative: an axis's tolerance is ``tol`` times the extent of
that axis (a Disk's radial tolerance is ``tol * radius``).
"""

from __future__ import annotations

import inspect
import math
import warnings
from abc import ABC, abstractmethod
from typing import Callable, NamedTuple

import numpy as np
from scipy.stats import qmc

from ..checks import check_choice, check_extent, check_seed, finite_vector, is_int
from ..memory import check_fits

__all__ = [
    "Domain",
    "Box",
    "Interval",
    "Rectangle",
    "Disk",
    "TimeInterval",
    "SpaceTime",
    "METHODS",
]

METHODS = ("uniform", "sobol", "halton", "lhs", "grid")

_QMC_ENGINES = {"sobol": qmc.Sobol, "halton": qmc.Halton, "lhs": qmc.LatinHypercube}
# scipy >= 1.15 names the seed argument `rng`; older versions only know `seed`.
_SEED_KW = "rng" if "rng" in inspect.signature(qmc.Sobol).parameters else "seed"

_BOX_ALIASES = {
    1: {"left": (0, 0), "right": (0, 1)},
    2: {"left": (0, 0), "right": (0, 1), "bottom": (1, 0), "top": (1, 1)},
    3: {
        "left": (0, 0),
        "right": (0, 1),
        "front": (1, 0),
        "back": (1, 1),
        "bottom": (2, 0),
        "top": (2, 1),
    },
}


# ---------------------------------------------------------------------------
# unit-cube samples


def _check_n(n) -> int:
    """Validate a point count: a positive int."""
    if not is_int(n):
        raise TypeError(f"expected a positive int number of points n, got {n!r} ({type(n).__name__})")
    if n <= 0:
        raise ValueError(f"expected a positive number of points n, got {n}")
    check_fits(n, f"sampling n={n} points")  # at least one float64 coordinate each
    return int(n)


def _check_method(method) -> str:
    return check_choice("sampling method", method, METHODS)


def _unit_grid(n: int, k: int) -> np.ndarray:
    """``n`` cell-centred regular points in ``[0, 1]^k`` (see module docstring)."""
    m = max(1, int(round(n ** (1.0 / k))))
    while m**k < n:
        m += 1
    while m > 1 and (m - 1) ** k >= n:
        m -= 1
    axis = (np.arange(m) + 0.5) / m
    full = np.stack(np.meshgrid(*([axis] * k), indexing="ij"), axis=-1).reshape(-1, k)
    keep = np.round(np.linspace(0, len(full) - 1, n)).astype(int)
    return full[keep]


def _unit_samples(n: int, k: int, method: str, seed) -> np.ndarray:
    """``n`` points in ``[0, 1)^k`` drawn with ``method``.

    Args:
        n: number of points (validated).
        k: dimension; ``k == 0`` gives an ``(n, 0)`` array.
        method: one of :data:`METHODS` (validated).
        seed: int, ``numpy.random.Generator`` or None.

    Returns:
        ``(n, k)`` float64 array.
    """
    check_seed("seed", seed)
    if k == 0:
        return np.empty((n, 0))
    if method == "uniform":
        return np.random.default_rng(seed).random((n, k))
    if method == "grid":
        return _unit_grid(n, k)
    engine = _QMC_ENGINES[method](k, scramble=True, **{_SEED_KW: seed})
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*balance properties of Sobol")
        return np.asarray(engine.random(n), dtype=np.float64)


def _split_counts(n: int, weights: np.ndarray) -> np.ndarray:
    """Split ``n`` into integer counts proportional to ``weights`` (largest remainder)."""
    exact = n * weights / weights.sum()
    counts = np.floor(exact).astype(int)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return counts


class _Patch(NamedTuple):
    """A piece of a boundary: the image of ``[0, 1]^dim`` under ``map``, with measure ``weight``."""

    weight: float
    dim: int
    map: Callable[[np.ndarray], np.ndarray]


def _sample_patches(patches: list[_Patch], n: int, method: str, seed) -> np.ndarray:
    """Measure-proportional samples on a union of patches of equal parameter dimension."""
    k = patches[0].dim
    if k == 0:  # isolated points, used in turn
        points = np.concatenate([p.map(np.empty((1, 0))) for p in patches])
        return points[np.arange(n) % len(patches)]
    weights = np.array([p.weight for p in patches], dtype=float)
    if method == "grid":
        counts = _split_counts(n, weights)
        return np.concatenate([p.map(_unit_grid(c, k)) for p, c in zip(patches, counts) if c > 0])
    if len(patches) == 1:
        return patches[0].map(_unit_samples(n, k, method, seed))
    u = _unit_samples(n, k + 1, method, seed)
    edges = np.cumsum(weights) / weights.sum()
    choice = np.minimum(np.searchsorted(edges, u[:, 0], side="right"), len(patches) - 1)
    out = None
    for i, patch in enumerate(patches):
        mask = choice == i
        if mask.any():
            pts = patch.map(u[mask, 1:])
            if out is None:
                out = np.empty((n, pts.shape[1]))
            out[mask] = pts
    return out


# ---------------------------------------------------------------------------
# input validation


def center_and_radius(center, radius, dim: int) -> tuple[np.ndarray, float]:
    """A round domain's centre (``dim`` finite numbers) and radius (> 0), checked."""
    center = finite_vector(center, "center")
    if center.shape != (dim,):
        raise ValueError(f"expected a center of {dim} numbers, got {len(center)}")
    radius = _finite_scalar(radius, "radius")
    if not radius > 0:
        raise ValueError(f"expected radius > 0, got {radius}")
    check_extent("center +- radius", center - radius, center + radius)
    return center, radius


def _finite_scalar(value, what: str) -> float:
    arr = finite_vector(value, what)
    if arr.shape != (1,) or np.ndim(value) != 0:
        raise ValueError(f"expected a single number for {what}, got {value!r}")
    return float(arr[0])


def _check_names(names, dim: int) -> tuple[str, ...]:
    if isinstance(names, str):
        names = (names,)
    try:
        names = tuple(names)
    except TypeError:
        raise ValueError(f"expected {dim} coordinate names, got {names!r}") from None
    if len(names) != dim or not all(isinstance(s, str) and s for s in names):
        raise ValueError(f"expected {dim} non-empty coordinate name strings, got {names!r}")
    if len(set(names)) != dim:
        raise ValueError(f"expected unique coordinate names, got {names!r}")
    return names


def _default_names(dim: int) -> tuple[str, ...]:
    return ("x", "y", "z")[:dim] if dim <= 3 else tuple(f"x{i + 1}" for i in range(dim))


def _grid_counts(n, dim: int) -> tuple[int, ...]:
    """Per-axis point counts for :meth:`Domain.grid`: an int or a tuple of ``dim`` ints, each >= 2."""
    counts = (n,) * dim if is_int(n) else n
    try:
        counts = tuple(counts)
    except TypeError:
        raise TypeError(f"expected an int or a tuple of {dim} ints for n, got {n!r}") from None
    if len(counts) != dim or not all(is_int(c) for c in counts):
        raise TypeError(f"expected an int or a tuple of {dim} ints for n, got {n!r}")
    if min(counts) < 2:
        raise ValueError(f"expected at least 2 grid points per axis, got {n!r}")
    return tuple(int(c) for c in counts)


def _fmt(arr: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in arr)


# ---------------------------------------------------------------------------
# domains


class Domain(ABC):
    """A closed domain in R^dim with named coordinates.

    Subclasses provide the unit-cube parametrisations (``_interior_from_unit``,
    ``_patches``); sampling, coordinate lookup and products live here.
    """

    names: tuple[str, ...]
    time_axis: int | None = None

    # -- coordinates -------------------------------------------------------

    @property
    def dim(self) -> int:
        """Number of coordinates."""
        return len(self.names)

    @property
    def spatial_axes(self) -> tuple[int, ...]:
        """Indices of the non-time coordinates."""
        return tuple(i for i in range(self.dim) if i != self.time_axis)

    def index(self, coordinate) -> int:
        """Index of a coordinate given by name (``"x"``) or index (``0``).

        Raises:
            ValueError: unknown name or index outside ``0..dim-1``.
            TypeError: neither a str nor an int.
        """
        if isinstance(coordinate, str):
            if coordinate in self.names:
                return self.names.index(coordinate)
            raise ValueError(f"unknown coordinate {coordinate!r}. Pick one of {self.names}")
        if is_int(coordinate):
            if 0 <= coordinate < self.dim:
                return int(coordinate)
            raise ValueError(
                f"unknown coordinate {coordinate!r}. Pick one of {self.names} or an index 0..{self.dim - 1}"
            )
        raise TypeError(f"expected a coordinate name (str) or index (int), got {coordinate!r}")

    @property
    @abstractmethod
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Bounding box ``(lo, hi)``, each of shape ``(dim,)``."""

    @property
    @abstractmethod
    def volume(self) -> float:
        """Length / area / volume (space-time: spatial volume times duration)."""

    # -- sampling ----------------------------------------------------------

    @abstractmethod
    def _interior_from_unit(self, u: np.ndarray) -> np.ndarray:
        """Volume-preserving map of ``(n, dim)`` unit-cube points into the domain."""

    @abstractmethod
    def _patches(self, side: str | None) -> list[_Patch]:
        """Boundary patches (all of them, or those of the named side)."""

    def sample_interior(self, n: int, method: str = "sobol", seed=None) -> np.ndarray:
        """Points in the closed domain, uniformly distributed in volume.

        Args:
            n: number of points (positive int).
            method: one of ``("uniform", "sobol", "halton", "lhs", "grid")``.
            seed: int, ``numpy.random.Generator`` or None (fresh entropy).

        Returns:
            ``(n, dim)`` float64 array.

        Raises:
            TypeError: ``n`` not an int.  ValueError: ``n <= 0`` or unknown method.
        """
        n, method = _check_n(n), _check_method(method)
        return self._interior_from_unit(_unit_samples(n, self.dim, method, seed))

    def sample_boundary(
        self, n: int, method: str = "sobol", seed=None, side: str | None = None
    ) -> np.ndarray:
        """Points on the boundary, uniformly distributed in surface measure.

        For a :class:`SpaceTime` this is the lateral boundary (spatial boundary
        times the time interval), not the initial slice.

        Args:
            n, method, seed: as in :meth:`sample_interior`.
            side: a name from :attr:`side_names` to sample only that side.

        Returns:
            ``(n, dim)`` float64 array.

        Raises:
            TypeError / ValueError: bad ``n``, method or side name.
        """
        n, method = _check_n(n), _check_method(method)
        return _sample_patches(self._patches(side), n, method, seed)

    def _face_patch(self, axis: int, upper: bool) -> _Patch:
        """The face ``x[axis] = lo`` (or ``hi``) of a box-like domain."""
        raise ValueError(
            f"periodic conditions need a box-like axis (a Box face pair), "
            f"but {type(self).__name__} has none along {self.names[axis]!r}"
        )

    def sample_periodic_pairs(self, coordinate, n: int, method: str = "sobol", seed=None):
        """Matching points on the two opposite faces of a box-like spatial axis.

        Args:
            coordinate: spatial coordinate name or index (not time).
            n, method, seed: as in :meth:`sample_interior`.

        Returns:
            ``(x_lo, x_hi)``: two ``(n, dim)`` arrays, equal except that the
            given coordinate is at its lower bound in ``x_lo`` and its upper
            bound in ``x_hi``.

        Raises:
            ValueError: the coordinate is the time axis or not box-like (Disk).
        """
        axis = self.index(coordinate)
        n, method = _check_n(n), _check_method(method)
        if axis == self.time_axis:
            raise ValueError(
                "periodic conditions need a box-like spatial axis, "
                f"got the time coordinate {self.names[axis]!r}"
            )
        lower, upper = self._face_patch(axis, False), self._face_patch(axis, True)
        u = _unit_samples(n, lower.dim, method, seed)
        return lower.map(u), upper.map(u)

    # -- point predicates --------------------------------------------------

    def _points(self, x) -> np.ndarray:
        """``x`` as an ``(n, dim)`` float64 array (torch tensors are converted)."""
        if hasattr(x, "detach") and hasattr(x, "cpu"):
            x = x.detach().cpu()
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"expected points of shape (n, {self.dim}), got {x.shape}")
        return x

    @abstractmethod
    def contains(self, x, tol: float = 1e-10) -> np.ndarray:
        """Boolean ``(n,)``: points in the closed domain (relative tolerance ``tol``)."""

    @abstractmethod
    def on_boundary(self, x, tol: float = 1e-8) -> np.ndarray:
        """Boolean ``(n,)``: points on the (spatial) boundary (relative tolerance ``tol``)."""

    @abstractmethod
    def normals(self, x) -> np.ndarray:
        """Outward unit normals ``(n, dim)`` at boundary points; ValueError off the boundary."""

    def _require_boundary(self, x: np.ndarray) -> None:
        off = ~self.on_boundary(x, tol=1e-8)
        if off.any():
            raise ValueError(
                f"expected points on the boundary of {self!r}; {int(off.sum())} of {len(x)} "
                f"are not (first: {x[np.argmax(off)].tolist()})"
            )

    # -- sides -------------------------------------------------------------

    @property
    def side_names(self) -> tuple[str, ...]:
        """Names accepted by :meth:`side` and ``sample_boundary(side=...)``."""
        return ()

    def _check_side(self, name) -> str:
        if not isinstance(name, str) or name not in self.side_names:
            if not self.side_names:
                raise ValueError(f"unknown side {name!r}: {type(self).__name__} has no named sides")
            raise ValueError(f"unknown side {name!r}. Pick one of {self.side_names}")
        return name

    @abstractmethod
    def side(self, name: str) -> Callable[..., np.ndarray]:
        """Predicate ``f(x, tol=1e-8) -> bool (n,)`` for points on the named side."""

    # -- evaluation grid ---------------------------------------------------

    @abstractmethod
    def grid(self, n) -> tuple[np.ndarray, tuple[int, ...] | None]:
        """Regular evaluation points ``(N, dim)`` and the grid shape (None if not a full grid)."""

    # -- products ----------------------------------------------------------

    def __mul__(self, other) -> "SpaceTime":
        """``spatial_domain * TimeInterval(t0, t1)`` -> :class:`SpaceTime`."""
        if not isinstance(other, TimeInterval):
            raise TypeError(
                f"expected a TimeInterval on the right of '*', got {type(other).__name__}"
            )
        if self.time_axis is not None:
            raise ValueError(
                f"expected a spatial domain on the left of '*', got {self!r}, which already has a time axis"
            )
        return SpaceTime(self, other)

    # -- constructive solid geometry (kanpde.geometry.csg) -----------------------

    # The classes behind the operators, keyed by symbol. kanpde.geometry.csg registers them when it is imported
    # (importing any kanpde.geometry module imports it first, through the package): a registration, not an
    # import, so this module stays below csg, which builds on it.
    set_operations: dict[str, type] = {}

    def _combined(self, symbol: str, other) -> "Domain":
        return Domain.set_operations[symbol](self, other)

    def __or__(self, other) -> "Domain":
        return self._combined("|", other)

    def __and__(self, other) -> "Domain":
        return self._combined("&", other)

    def __sub__(self, other) -> "Domain":
        return self._combined("-", other)


class Box(Domain):
    """Axis-aligned box ``[lo_1, hi_1] x ... x [lo_d, hi_d]``, any ``d >= 1``.

    Sides: ``"<name>_min"`` / ``"<name>_max"`` per coordinate, plus aliases by
    axis position: 1-D ``left/right``; 2-D ``left/right`` (axis 0),
    ``bottom/top`` (axis 1); 3-D ``left/right`` (0), ``front/back`` (1),
    ``bottom/top`` (2).

    Args:
        lo, hi: lower and upper corners, equal length, ``hi > lo``.
        names: coordinate names; default ``x, y, z`` (``x1..xd`` for d > 3).

    Raises:
        ValueError: mismatched lengths, ``hi <= lo``, non-finite values, bad names.
    """

    def __init__(self, lo, hi, names=None):
        lo, hi = finite_vector(lo, "lo"), finite_vector(hi, "hi")
        if lo.shape != hi.shape:
            raise ValueError(f"expected lo and hi of equal length, got {len(lo)} and {len(hi)}")
        if not np.all(hi > lo):
            raise ValueError(f"expected hi > lo in every coordinate, got lo={_fmt(lo)}, hi={_fmt(hi)}")
        check_extent(f"{type(self).__name__} corners", lo, hi)
        self._lo, self._hi = lo, hi
        self.names = _check_names(_default_names(len(lo)) if names is None else names, len(lo))

    # -- geometry ----------------------------------------------------------

    @property
    def lo(self) -> np.ndarray:
        return self._lo.copy()

    @property
    def hi(self) -> np.ndarray:
        return self._hi.copy()

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self._lo.copy(), self._hi.copy()

    @property
    def volume(self) -> float:
        return float(np.prod(self._hi - self._lo))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lo={_fmt(self._lo)}, hi={_fmt(self._hi)}, names={self.names})"

    # -- sampling ----------------------------------------------------------

    def _interior_from_unit(self, u):
        return self._lo + u * (self._hi - self._lo)

    def _face_patch(self, axis: int, upper: bool) -> _Patch:
        lo, hi = self._lo, self._hi
        others = [j for j in range(self.dim) if j != axis]
        value = hi[axis] if upper else lo[axis]

        def face(u):
            x = np.empty((len(u), self.dim))
            x[:, others] = lo[others] + u * (hi[others] - lo[others])
            x[:, axis] = value
            return x

        return _Patch(float(np.prod(hi[others] - lo[others])), self.dim - 1, face)

    def _faces(self, side: str | None) -> list[tuple[int, int]]:
        """``(axis, upper)`` pairs of all faces, or of the named side."""
        if side is None:
            return [(i, s) for i in range(self.dim) for s in (0, 1)]
        self._check_side(side)
        aliases = _BOX_ALIASES.get(self.dim, {})
        if side in aliases:
            return [aliases[side]]
        name, end = side.rsplit("_", 1)
        return [(self.names.index(name), int(end == "max"))]

    def _patches(self, side):
        return [self._face_patch(i, bool(s)) for i, s in self._faces(side)]

    # -- predicates --------------------------------------------------------

    def _tols(self, tol: float) -> np.ndarray:
        return tol * (self._hi - self._lo)

    def contains(self, x, tol: float = 1e-10) -> np.ndarray:
        x, t = self._points(x), self._tols(tol)
        return np.all((x >= self._lo - t) & (x <= self._hi + t), axis=1)

    def _face_distances(self, x: np.ndarray) -> np.ndarray:
        """``(n, 2*dim)`` distances to the faces, ordered ``x_min, x_max, y_min, ...``."""
        return np.stack([np.abs(x - self._lo), np.abs(x - self._hi)], axis=-1).reshape(len(x), -1)

    def on_boundary(self, x, tol: float = 1e-8) -> np.ndarray:
        x = self._points(x)
        near = self._face_distances(x) <= np.repeat(self._tols(tol), 2)
        return self.contains(x, tol) & near.any(axis=1)

    def normals(self, x) -> np.ndarray:
        """Outward unit normals; at edges/corners, the normal of the nearest face
        (ties go to the first face in ``x_min, x_max, y_min, ...`` order).

        Raises:
            ValueError: wrong shape, or a point off the boundary (tol 1e-8).
        """
        x = self._points(x)
        self._require_boundary(x)
        face = np.argmin(self._face_distances(x), axis=1)
        out = np.zeros_like(x)
        out[np.arange(len(x)), face // 2] = np.where(face % 2 == 1, 1.0, -1.0)
        return out

    @property
    def side_names(self) -> tuple[str, ...]:
        canonical = tuple(f"{name}_{end}" for name in self.names for end in ("min", "max"))
        return canonical + tuple(_BOX_ALIASES.get(self.dim, {}))

    def side(self, name: str):
        (axis, upper), = self._faces(name)
        value = (self._hi if upper else self._lo)[axis]

        def predicate(x, tol: float = 1e-8):
            x = self._points(x)
            return self.contains(x, tol) & (np.abs(x[:, axis] - value) <= self._tols(tol)[axis])

        return predicate

    def grid(self, n):
        """Regular grid including the boundary: ``linspace(lo_i, hi_i, n_i)`` per axis,
        ``meshgrid(..., indexing="ij")`` flattened in C order.

        Args:
            n: points per axis, an int or a tuple of ``dim`` ints (each >= 2).

        Returns:
            ``(points (prod(n_i), dim), shape (n_1, ..., n_d))``.
        """
        counts = _grid_counts(n, self.dim)
        axes = [np.linspace(a, b, c) for a, b, c in zip(self._lo, self._hi, counts)]
        points = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, self.dim)
        return points, counts


class Interval(Box):
    """The interval ``[a, b]``; boundary samples alternate ``a, b, a, b, ...``.

    Args:
        a, b: endpoints, ``b > a``.
        name: coordinate name.
    """

    def __init__(self, a, b, name: str = "x"):
        a, b = _finite_scalar(a, "a"), _finite_scalar(b, "b")
        if not b > a:
            raise ValueError(f"expected b > a, got a={a}, b={b}")
        super().__init__([a], [b], _check_names(name, 1))

    @property
    def a(self) -> float:
        return float(self._lo[0])

    @property
    def b(self) -> float:
        return float(self._hi[0])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(a={self.a}, b={self.b}, name={self.names[0]!r})"


class Rectangle(Box):
    """The rectangle ``[lo_0, hi_0] x [lo_1, hi_1]``; a 2-D :class:`Box`."""

    def __init__(self, lo, hi, names=("x", "y")):
        lo, hi = finite_vector(lo, "lo"), finite_vector(hi, "hi")
        if len(lo) != 2 or len(hi) != 2:
            raise ValueError(f"expected lo and hi of length 2 for a Rectangle, got {len(lo)} and {len(hi)}")
        super().__init__(lo, hi, names)


class TimeInterval(Box):
    """A time axis ``[t0, t1]``: a 1-D domain whose coordinate is time.

    Combine with a spatial domain as ``spatial * TimeInterval(t0, t1)``.

    Args:
        t0, t1: start and end, ``t1 > t0``.
        name: coordinate name.
    """

    time_axis = 0

    def __init__(self, t0, t1, name: str = "t"):
        t0, t1 = _finite_scalar(t0, "t0"), _finite_scalar(t1, "t1")
        if not t1 > t0:
            raise ValueError(f"expected t1 > t0, got t0={t0}, t1={t1}")
        super().__init__([t0], [t1], _check_names(name, 1))

    @property
    def t0(self) -> float:
        return float(self._lo[0])

    @property
    def t1(self) -> float:
        return float(self._hi[0])

    @property
    def duration(self) -> float:
        return self.t1 - self.t0

    def __repr__(self) -> str:
        return f"TimeInterval(t0={self.t0}, t1={self.t1}, name={self.names[0]!r})"


class Disk(Domain):
    """The closed disk ``|x - center| <= radius`` in 2-D.

    Interior samples use ``r = R sqrt(s1)``, ``theta = 2 pi s2`` (area-uniform);
    boundary samples ``theta = 2 pi s``. No named sides.

    Args:
        center: two numbers.
        radius: positive number.
        names: two coordinate names.
    """

    def __init__(self, center, radius, names=("x", "y")):
        self._center, self._radius = center_and_radius(center, radius, 2)
        self.names = _check_names(names, 2)

    @property
    def center(self) -> np.ndarray:
        return self._center.copy()

    @property
    def radius(self) -> float:
        return self._radius

    @property
    def bounds(self):
        return self._center - self._radius, self._center + self._radius

    @property
    def volume(self) -> float:
        return math.pi * self._radius**2

    def __repr__(self) -> str:
        return f"Disk(center={_fmt(self._center)}, radius={self._radius}, names={self.names})"

    def _polar(self, r: np.ndarray, theta: np.ndarray) -> np.ndarray:
        return self._center + np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)

    def _interior_from_unit(self, u):
        return self._polar(self._radius * np.sqrt(u[:, 0]), 2 * math.pi * u[:, 1])

    def _patches(self, side):
        if side is not None:
            self._check_side(side)

        def circle(u):
            return self._polar(np.full(len(u), self._radius), 2 * math.pi * u[:, 0])

        return [_Patch(2 * math.pi * self._radius, 1, circle)]

    def _radii(self, x: np.ndarray) -> np.ndarray:
        return np.hypot(x[:, 0] - self._center[0], x[:, 1] - self._center[1])

    def contains(self, x, tol: float = 1e-10) -> np.ndarray:
        return self._radii(self._points(x)) <= self._radius * (1 + tol)

    def on_boundary(self, x, tol: float = 1e-8) -> np.ndarray:
        return np.abs(self._radii(self._points(x)) - self._radius) <= tol * self._radius

    def normals(self, x) -> np.ndarray:
        """Outward unit normals ``(x - center) / |x - center|``.

        Raises:
            ValueError: wrong shape, or a point off the circle (tol 1e-8).
        """
        x = self._points(x)
        self._require_boundary(x)
        d = x - self._center
        return d / np.linalg.norm(d, axis=1, keepdims=True)

    def side(self, name: str):
        self._check_side(name)  # always raises: a disk has no named sides

    def grid(self, n):
        """Points of the ``n x n`` grid over the bounding box (boundary included)
        that lie in the closed disk.

        Args:
            n: int or tuple of 2 ints (each >= 2).

        Returns:
            ``(points (N, 2), None)``.
        """
        counts = _grid_counts(n, 2)
        lo, hi = self.bounds
        axes = [np.linspace(a, b, c) for a, b, c in zip(lo, hi, counts)]
        points = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 2)
        return points[self.contains(points)], None


class SpaceTime(Domain):
    """Product ``spatial x [t0, t1]`` with time as the last coordinate.

    Build it as ``spatial * TimeInterval(t0, t1)``. The boundary (sampling,
    ``on_boundary``, normals, sides) is the lateral boundary
    ``boundary(spatial) x [t0, t1]``; normals have time component 0. Use
    :meth:`sample_initial` for the ``t = t0`` slice.

    Args:
        spatial: a domain without a time axis.
        time: a :class:`TimeInterval`.

    Raises:
        TypeError: ``time`` is not a TimeInterval or ``spatial`` not a Domain.
        ValueError: ``spatial`` already has time, or the names clash.
    """

    def __init__(self, spatial: Domain, time: TimeInterval):
        if not isinstance(spatial, Domain):
            raise TypeError(f"expected a spatial Domain, got {type(spatial).__name__}")
        if not isinstance(time, TimeInterval):
            raise TypeError(f"expected a TimeInterval, got {type(time).__name__}")
        if spatial.time_axis is not None:
            raise ValueError(f"expected a spatial domain without a time axis, got {spatial!r}")
        self.spatial, self.time = spatial, time
        self.names = _check_names(spatial.names + time.names, spatial.dim + 1)
        self.time_axis = spatial.dim

    @property
    def t0(self) -> float:
        return self.time.t0

    @property
    def t1(self) -> float:
        return self.time.t1

    @property
    def bounds(self):
        (slo, shi), (tlo, thi) = self.spatial.bounds, self.time.bounds
        return np.concatenate([slo, tlo]), np.concatenate([shi, thi])

    @property
    def volume(self) -> float:
        return self.spatial.volume * self.time.duration

    def __repr__(self) -> str:
        return f"SpaceTime({self.spatial!r}, {self.time!r})"

    # -- sampling ----------------------------------------------------------

    def _with_time(self, x: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Append times ``t0 + s * (t1 - t0)`` to spatial points ``x``."""
        return np.column_stack([x, self.t0 + s * self.time.duration])

    def _interior_from_unit(self, u):
        return self._with_time(self.spatial._interior_from_unit(u[:, :-1]), u[:, -1])

    def sample_interior(self, n: int, method: str = "sobol", seed=None) -> np.ndarray:
        if not getattr(self.spatial, "_rejection", False):
            return super().sample_interior(n, method, seed)
        n, method = _check_n(n), _check_method(method)  # CSG: spatial points by rejection, times beside them
        x = self.spatial.sample_interior(n, method, seed)
        return self._with_time(x, _unit_samples(n, 1, method, None if seed is None else seed + 1)[:, 0])

    def _lateral(self, patch: _Patch) -> _Patch:
        k = patch.dim

        def lateral(u):
            return self._with_time(patch.map(u[:, :k]), u[:, k])

        return _Patch(patch.weight * self.time.duration, k + 1, lateral)

    def _patches(self, side):
        return [self._lateral(p) for p in self.spatial._patches(side)]

    def _face_patch(self, axis: int, upper: bool) -> _Patch:
        return self._lateral(self.spatial._face_patch(axis, upper))

    def sample_initial(self, n: int, method: str = "sobol", seed=None) -> np.ndarray:
        """Points ``(x, t0)`` with ``x`` sampled in the closed spatial domain.

        Args / Raises: as :meth:`sample_interior`.

        Returns:
            ``(n, dim)`` float64 array with last column ``t0``.
        """
        x = self.spatial.sample_interior(n, method, seed)
        return np.column_stack([x, np.full(len(x), self.t0)])

    # -- predicates --------------------------------------------------------

    def _split(self, x) -> tuple[np.ndarray, np.ndarray]:
        x = self._points(x)
        return x[:, :-1], x[:, -1:]

    def contains(self, x, tol: float = 1e-10) -> np.ndarray:
        xs, t = self._split(x)
        return self.spatial.contains(xs, tol) & self.time.contains(t, tol)

    def on_boundary(self, x, tol: float = 1e-8) -> np.ndarray:
        """Lateral boundary: spatial boundary with ``t`` in ``[t0, t1]``."""
        xs, t = self._split(x)
        return self.spatial.on_boundary(xs, tol) & self.time.contains(t, tol)

    def normals(self, x) -> np.ndarray:
        """Spatial outward normals with time component 0.

        Raises:
            ValueError: wrong shape or a point off the lateral boundary.
        """
        x = self._points(x)
        self._require_boundary(x)
        return np.column_stack([self.spatial.normals(x[:, :-1]), np.zeros(len(x))])

    @property
    def side_names(self) -> tuple[str, ...]:
        return self.spatial.side_names

    def side(self, name: str):
        self._check_side(name)
        spatial_side = self.spatial.side(name)

        def predicate(x, tol: float = 1e-8):
            xs, t = self._split(x)
            return spatial_side(xs, tol) & self.time.contains(t, tol)

        return predicate

    def grid(self, n):
        """Spatial grid times ``linspace(t0, t1, n_t)``, time varying fastest.

        Args:
            n: int, or a tuple of ``dim`` ints (spatial counts then ``n_t``).

        Returns:
            ``(points, shape)``; ``shape`` is the full ``ij`` grid shape when
            the spatial grid is a full grid (Box), else None.
        """
        counts = _grid_counts(n, self.dim)
        xs, shape = self.spatial.grid(counts[:-1])
        ts = np.linspace(self.t0, self.t1, counts[-1])
        points = np.column_stack([np.repeat(xs, len(ts), axis=0), np.tile(ts, len(xs))])
        return points, None if shape is None else tuple(shape) + (counts[-1],)
