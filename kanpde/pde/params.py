"""Problem parameters: one training for a family of problems, u(x; mu) with mu in a box of ranges.

    kp.Problem(domain, pde, conditions, exact, params={"k": kp.Range(1, 4)})

The one convention (beside :mod:`kanpde.pde.functions`): with ``params=``, every user function of points
takes the parameter values as a last argument,

    pde(x, u, p),  value(x, p),  exact(x, p),  BoundaryResidual fn(x, f, n, p),

with ``x`` the ``(N, D)`` coordinates and ``p`` a read-only :class:`ParamValues`: ``p.k`` (or ``p["k"]``)
is an ``(N, 1)`` column, one value per point. A problem without ``params=`` keeps ``pde(x, u)`` and
``value(x)``: the problem decides which convention applies, never the function's signature.

Inside, the problem works on points ``z = (x, mu)`` of ``D + P`` columns (:class:`ParamDomain`: the
domain times the box of ranges), so sampling, the trainer's stages, refinement, balancing and the
best-model validation run unchanged on ``z``; the network takes ``z``; the solution field differentiates
along ``x`` only (its coordinate names are the domain's), so the jet is asked for no pair with a
parameter; hard constraints read ``x`` only (:class:`ParamConstraints`).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from .conditions import BoundaryResidual
from .constraints import HardConstraint
from ..geometry.domains import Domain, _check_method, _check_n, _Patch, _unit_samples


SPACINGS = ("chebyshev", "uniform")


@dataclass(frozen=True)
class Range:
    """A parameter's closed range ``[lo, hi]`` (``lo < hi``, both finite).

    Training draws the parameter from the range with density ``spacing``: ``"chebyshev"`` (the default)
    ``mu = lo + (hi - lo) (1 - cos(pi s)) / 2`` for quasi-random ``s`` in ``[0, 1]``, denser toward the
    ends, where a family's error otherwise peaks (helmholtz_param, [3, 8, 8, 1] KAN, seed 0: worst rel L2
    over 50 held-out k 1.1e-3 at k = 4 with ``"uniform"``, 2.3e-4 with ``"chebyshev"``); ``"uniform"``:
    ``lo + (hi - lo) s``.

    Raises:
        TypeError: a bound that is not a number.
        ValueError: ``lo >= hi``, a bound not finite or an unknown ``spacing``.
    """

    lo: float
    hi: float
    spacing: str = "chebyshev"

    def __post_init__(self):
        for what in ("lo", "hi"):
            value = getattr(self, what)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise TypeError(f"Range {what} must be a number, got {type(value).__name__}: {value!r:.60}")
            if not math.isfinite(value):
                raise ValueError(f"Range {what} must be finite, got {value!r}")
            object.__setattr__(self, what, float(value))
        if not self.lo < self.hi:
            raise ValueError(f"Range needs lo < hi, got lo={self.lo:g}, hi={self.hi:g}")
        if self.spacing not in SPACINGS:
            raise ValueError(f"unknown Range spacing {self.spacing!r}. Pick one of {SPACINGS}")

    @property
    def width(self) -> float:
        return self.hi - self.lo

    def scale(self, unit: np.ndarray) -> np.ndarray:
        """``lo + (hi - lo) s`` for ``s`` in ``[0, 1]``."""
        return self.lo + self.width * unit

    def sample(self, unit: np.ndarray) -> np.ndarray:
        """Training values from quasi-random ``unit`` in ``[0, 1]``, with the range's ``spacing``."""
        if self.spacing == "chebyshev":
            unit = 0.5 * (1.0 - np.cos(np.pi * unit))
        return self.scale(unit)

    def __str__(self) -> str:
        return f"[{self.lo:g}, {self.hi:g}]"


def check_params(params, coordinates: tuple[str, ...]) -> dict[str, Range]:
    """``Problem(params=)`` as ``{name: Range}``: identifier names that are not coordinates, Range values
    (a ``(lo, hi)`` pair is taken as a Range).

    Raises:
        TypeError: not a dict, a name that is not a str, a value that is not a Range.
        ValueError: an empty dict, a name that is no identifier or that names a coordinate.
    """
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict {{name: kp.Range(lo, hi)}}, got {type(params).__name__}: {params!r:.60}")
    if not params:
        raise ValueError("params must name at least one parameter, e.g. {'k': kp.Range(1, 4)}; got {}")
    out = {}
    for name, spec in params.items():
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
            raise ValueError(f"params names must be identifiers (p.{name} reads them), got {name!r}")
        if name in coordinates:
            raise ValueError(f"params name {name!r} is a coordinate of the domain {coordinates}; pick another name")
        if isinstance(spec, tuple) and len(spec) == 2:
            spec = Range(*spec)
        if not isinstance(spec, Range):
            raise TypeError(f"params[{name!r}] must be a kp.Range(lo, hi), got {type(spec).__name__}: {spec!r:.60}")
        out[name] = spec
    return out


class ParamValues:
    """The parameter values at N points, read-only: ``p.k`` and ``p["k"]`` are ``(N, 1)`` columns.

    Args:
        names: the parameter names, in the order of ``columns``.
        columns: ``(N, P)`` values.
    """

    __slots__ = ("_names", "_columns")

    def __init__(self, names, columns: torch.Tensor):
        object.__setattr__(self, "_names", tuple(names))
        object.__setattr__(self, "_columns", columns)                            # (N, P)

    def __getitem__(self, name: str) -> torch.Tensor:
        if name not in self._names:
            raise KeyError(f"unknown parameter {name!r}. Pick one of {self._names}")
        i = self._names.index(name)
        return self._columns[:, i:i + 1]                                          # (N, 1)

    def __getattr__(self, name: str) -> torch.Tensor:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._names:
            raise AttributeError(f"unknown parameter {name!r}. Pick one of {self._names}")
        return self[name]

    def __setattr__(self, name, value):
        raise AttributeError(f"parameter values are read-only (tried to set {name!r})")

    def __contains__(self, name) -> bool:
        return name in self._names

    def __iter__(self):
        return iter(self._names)

    def keys(self) -> tuple[str, ...]:
        return self._names

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return f"ParamValues({', '.join(self._names)}; {self._columns.shape[0]} points)"


def midpoints(params: dict[str, Range]) -> list[float]:
    return [(r.lo + r.hi) / 2 for r in params.values()]


def split(z: torch.Tensor, dim: int, params: dict[str, Range]) -> tuple[torch.Tensor, ParamValues]:
    """Points ``z`` as coordinates ``(N, D)`` and :class:`ParamValues`. Points with the coordinates only
    (the hard-constraint planner probes the plain domain) get the ranges' midpoints."""
    if z.shape[1] == dim:
        mid = z.new_tensor(midpoints(params)).expand(z.shape[0], len(params))   # (N, P)
        return z, ParamValues(params, mid)
    return z[:, :dim], ParamValues(params, z[:, dim:])


class ParamFunction:
    """A user function of ``(x, p)`` as a function of the points ``z = (x, mu)``: what conditions, the
    hard-constraint lift and the errors call. ``fn`` keeps the user's function."""

    def __init__(self, fn: Callable, dim: int, params: dict[str, Range]):
        self.fn, self.dim, self.params = fn, dim, params
        self.__name__ = getattr(fn, "__name__", "function")

    def __call__(self, z: torch.Tensor):
        x, p = split(z, self.dim, self.params)
        return self.fn(x, p)


class ParamPredicate(ParamFunction):
    """An ``on=`` predicate (or a side) of the coordinates only: it does not see the parameters."""

    def __call__(self, z: torch.Tensor):
        return self.fn(z[:, :self.dim])


class ParamResidual(ParamFunction):
    """``BoundaryResidual`` ``fn(x, f, n, p)`` as ``fn(z, f, n)``."""

    def __call__(self, z, f, n):
        x, p = split(z, self.dim, self.params)
        return self.fn(x, f, n[:, :self.dim], p)


def lift_function(fn, dim: int, params: dict[str, Range], kind=ParamFunction):
    """``fn`` for points ``z``: numbers and already lifted functions stay as they are."""
    if not callable(fn) or isinstance(fn, ParamFunction):
        return fn
    return kind(fn, dim, params)


# --------------------------------------------------------------------------- the domain of (x, mu)


class ParamDomain(Domain):
    """``domain x prod_j [lo_j, hi_j]``: points ``(x, mu)``, the parameters as the last coordinates.

    Sampling draws ``(x, mu)`` jointly from one quasi-random sequence (Sobol, Halton, ...) of dimension
    ``D + P`` wherever the domain maps the unit cube (boxes, disks, polygons, space-time), so every
    interior, boundary and initial point has its own mu; domains sampled by rejection (CSG) draw mu
    from a second sequence beside them. The boundary is the spatial boundary times the ranges.

    Args:
        space: the problem's domain (with its time axis, if any).
        params: ``{name: Range}``.
    """

    def __init__(self, space: Domain, params: dict[str, Range]):
        self.space, self.params = space, dict(params)
        self.names = tuple(space.names) + tuple(self.params)
        self.time_axis = space.time_axis

    @property
    def space_dim(self) -> int:
        return self.space.dim

    @property
    def spatial_axes(self) -> tuple[int, ...]:
        """The space's axes only: no derivative is taken along a parameter."""
        return self.space.spatial_axes

    @property
    def bounds(self):
        lo, hi = self.space.bounds
        return (np.concatenate([lo, [r.lo for r in self.params.values()]]),
                np.concatenate([hi, [r.hi for r in self.params.values()]]))

    @property
    def volume(self) -> float:
        return self.space.volume * math.prod(r.width for r in self.params.values())

    def __repr__(self) -> str:
        ranges = ", ".join(f"{n}={r}" for n, r in self.params.items())
        return f"ParamDomain({self.space!r}, {ranges})"

    # -- sampling ----------------------------------------------------------

    def _mu(self, unit: np.ndarray) -> np.ndarray:
        return np.column_stack([r.sample(unit[:, j]) for j, r in enumerate(self.params.values())])  # (n, P)

    def _with_mu(self, x: np.ndarray, unit: np.ndarray) -> np.ndarray:
        return np.column_stack([x, self._mu(unit)])

    def _rejection(self) -> bool:
        space = getattr(self.space, "spatial", self.space)
        return bool(getattr(space, "_rejection", False))

    def _interior_from_unit(self, u):
        return self._with_mu(self.space._interior_from_unit(u[:, :self.space_dim]), u[:, self.space_dim:])

    def sample_interior(self, n: int, method: str = "sobol", seed=None) -> np.ndarray:
        if not self._rejection():
            return super().sample_interior(n, method, seed)
        n, method = _check_n(n), _check_method(method)
        x = self.space.sample_interior(n, method, seed)
        return self._with_mu(x, _unit_samples(n, len(self.params), method, None if seed is None else seed + 7919))

    def _extended(self, patch: _Patch) -> _Patch:
        k, width = patch.dim, math.prod(r.width for r in self.params.values())
        return _Patch(patch.weight * width, k + len(self.params), lambda u: self._with_mu(patch.map(u[:, :k]), u[:, k:]))

    def _patches(self, side):
        return [self._extended(p) for p in self.space._patches(side)]

    def _face_patch(self, axis: int, upper: bool) -> _Patch:
        return self._extended(self.space._face_patch(axis, upper))

    def sample_initial(self, n: int, method: str = "sobol", seed=None) -> np.ndarray:
        """Points ``(x, t0, mu)``: x in the spatial domain and mu drawn jointly."""
        if self.time_axis is None:
            raise ValueError(f"sample_initial needs a domain with a time axis, got {self!r}")
        n, method = _check_n(n), _check_method(method)
        spatial = self.space.spatial
        if getattr(spatial, "_rejection", False):
            x0 = self.space.sample_initial(n, method, seed)
            return self._with_mu(x0, _unit_samples(n, len(self.params), method, None if seed is None else seed + 7919))
        u = _unit_samples(n, spatial.dim + len(self.params), method, seed)
        x = spatial._interior_from_unit(u[:, :spatial.dim])
        return self._with_mu(np.column_stack([x, np.full(n, self.space.t0)]), u[:, spatial.dim:])

    # -- predicates --------------------------------------------------------

    def _split(self, x) -> tuple[np.ndarray, np.ndarray]:
        x = self._points(x)
        return x[:, :self.space_dim], x[:, self.space_dim:]

    def _in_ranges(self, mu: np.ndarray, tol: float) -> np.ndarray:
        inside = np.ones(len(mu), dtype=bool)
        for j, r in enumerate(self.params.values()):
            slack = tol * max(1.0, abs(r.lo), abs(r.hi))
            inside &= (mu[:, j] >= r.lo - slack) & (mu[:, j] <= r.hi + slack)
        return inside

    def contains(self, x, tol: float = 1e-10) -> np.ndarray:
        xs, mu = self._split(x)
        return self.space.contains(xs, tol) & self._in_ranges(mu, tol)

    def on_boundary(self, x, tol: float = 1e-8) -> np.ndarray:
        xs, mu = self._split(x)
        return self.space.on_boundary(xs, tol) & self._in_ranges(mu, tol)

    def normals(self, x) -> np.ndarray:
        xs, _ = self._split(x)
        return np.column_stack([self.space.normals(xs), np.zeros((len(xs), len(self.params)))])

    @property
    def side_names(self) -> tuple[str, ...]:
        return self.space.side_names

    def side(self, name: str):
        spatial_side = self.space.side(name)
        return lambda x, tol=1e-8: spatial_side(self._split(x)[0], tol)

    def grid(self, n):
        """The space's grid times ``n`` evenly spaced values per parameter (parameters vary fastest)."""
        count = n if isinstance(n, int) else n[0]
        base, shape = self.space.grid(count)
        axes = [np.linspace(r.lo, r.hi, count) for r in self.params.values()]
        mu = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(axes))  # (M, P)
        points = np.column_stack([np.repeat(base, len(mu), axis=0), np.tile(mu, (len(base), 1))])
        return points, (None if shape is None else tuple(shape) + (count,) * len(axes))


# --------------------------------------------------------------------------- hard constraints on x only


class ParamConstraints:
    """The constraints planned on the plain domain, applied to points ``z = (x, mu)``: the lift reads the
    data at ``z`` (so it may depend on mu), the boundary factor reads ``x`` only; the network takes ``z``.

    Args:
        base: the :class:`~kanpde.pde.constraints.Constraints` planned on the domain.
        params: ``{name: Range}``.
    """

    def __init__(self, base, params: dict[str, Range]):
        self.base, self.params = base, params
        self.hard, self.domain = base.hard, base.domain
        self.periodic, self.harmonics, self.initial = base.periodic, base.harmonics, base.initial
        self.dim = base.domain.dim

    @property
    def input_dim(self) -> int:
        return self.dim + len(self.params)

    def network_inputs(self, z: torch.Tensor) -> torch.Tensor:
        return z

    def factor(self, z: torch.Tensor) -> torch.Tensor:
        return self.base.factor(z[:, :self.dim])                                 # (N, 1)

    def wrap(self, net: nn.Module) -> nn.Module:
        if not self.base.dirichlet and not self.base.initial:
            return net
        return HardConstraint(net, self.base.lift, self.factor, net)


def lift_condition(condition, dim: int, params: dict[str, Range]):
    """A copy of ``condition`` whose functions take the points ``(x, mu)``: values, Robin's coefficients and
    a BoundaryResidual's ``fn`` get ``p`` last; an ``on=`` predicate sees ``x`` only."""
    lifted = copy.copy(condition)
    for attribute in ("value", "alpha", "beta"):
        if hasattr(lifted, attribute):
            setattr(lifted, attribute, lift_function(getattr(lifted, attribute), dim, params))
    if isinstance(lifted, BoundaryResidual):
        lifted.fn = lift_function(lifted.fn, dim, params, ParamResidual)
    if callable(getattr(lifted, "on", None)):
        lifted.on = lift_function(lifted.on, dim, params, ParamPredicate)
    return lifted


# --------------------------------------------------------------------------- values given when evaluating


def _range_error(name: str, spec: Range, value) -> ValueError:
    return ValueError(f"parameter {name!r} = {value!r} lies outside its range {spec}: pick a value in "
                      f"{spec} (the solution was trained on params={{{name!r}: kp.Range({spec.lo:g}, {spec.hi:g})}})")


def _check_column(name: str, spec: Range, column: np.ndarray, n: int) -> np.ndarray:
    if column.shape != (n,):
        raise ValueError(f"parameter {name!r} needs one value per point, shape ({n},), got {column.shape}")
    if not np.isfinite(column).all():
        raise ValueError(f"parameter {name!r} must be finite, got NaN/inf")
    bad = (column < spec.lo - 1e-12 * max(1.0, abs(spec.lo))) | (column > spec.hi + 1e-12 * max(1.0, abs(spec.hi)))
    if bad.any():
        raise _range_error(name, spec, float(column[bad][0]))
    return column


def _as_array(value, what: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a number or an array of numbers, got {type(value).__name__}: "
                        f"{value!r:.60}") from None


def param_columns(params: dict[str, Range], n: int, values: dict | None = None, batch=None) -> np.ndarray:
    """The parameter values for ``n`` points, ``(n, P)``: from one number per name (``values``, e.g.
    ``{"k": 3.2}`` from ``predict(x, k=3.2)``) or from ``batch`` (``params=``: an ``(n, P)`` array, an
    ``(n,)`` array for one parameter, or ``{name: (n,) column}``).

    Raises:
        ValueError: both or neither given, a missing or unknown name, a value outside its range or of the
            wrong shape; each names the parameter and the valid choices.
        TypeError: a value that is not a number.
    """
    names, values = tuple(params), dict(values or {})
    choices = ", ".join(f"{name}={spec}" for name, spec in params.items())
    if batch is not None and values:
        raise ValueError(f"give the parameters either as params= or as {', '.join(values)}=..., not both")
    if isinstance(batch, dict):
        values, batch = batch, None
    if batch is not None:
        array = _as_array(batch, "params")
        array = array[:, None] if array.ndim == 1 and len(names) == 1 else array
        if array.shape != (n, len(names)):
            raise ValueError(f"params= must have shape ({n}, {len(names)}) (one row per point, columns {names}), "
                             f"got {array.shape}")
        return np.column_stack([_check_column(name, params[name], array[:, j], n) for j, name in enumerate(names)])
    unknown = [name for name in values if name not in params]
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]!r}. Pick one of {names} ({choices})")
    missing = [name for name in names if name not in values]
    if missing:
        raise ValueError(f"missing parameter {missing[0]!r}: the solution depends on {names}; pick a value in its "
                         f"range for each ({choices}), e.g. {missing[0]}={midpoints({missing[0]: params[missing[0]]})[0]:g}, "
                         "or give params= with one row per point")
    columns = []
    for name in names:
        value = _as_array(values[name], f"parameter {name!r}")
        value = np.full(n, float(value)) if value.ndim == 0 else value.reshape(-1) if value.ndim == 1 else value
        columns.append(_check_column(name, params[name], value, n))
    return np.column_stack(columns) if columns else np.empty((n, 0))


def sweep(params: dict[str, Range], values: dict) -> list[dict[str, float]]:
    """``{name: [v1, v2, ...]}`` (one list per parameter, all of one length; a number repeats) as a list of
    ``{name: v}``, each checked against its range.

    Raises:
        ValueError: lists of different lengths, or as :func:`param_columns`.
    """
    lists = {name: np.atleast_1d(_as_array(v, f"parameter {name!r}")).reshape(-1) for name, v in values.items()}
    lengths = {len(v) for v in lists.values() if len(v) != 1}
    if len(lengths) > 1:
        raise ValueError(f"a sweep needs lists of one length per parameter, got lengths "
                         f"{ {name: len(v) for name, v in lists.items()} }")
    count = lengths.pop() if lengths else 1
    out = [{name: float(v[i] if len(v) > 1 else v[0]) for name, v in lists.items()} for i in range(count)]
    for point in out:
        param_columns(params, 1, point)  # names and ranges checked with the same messages
    return out


def label(values: dict[str, float]) -> str:
    """``"k=3.2"`` (``"k=3.2,alpha=0.1"``): the suffix of exported fields and of sweep rows."""
    return ",".join(f"{name}={value:g}" for name, value in values.items())


def constant(x: torch.Tensor, values: dict[str, float]) -> ParamValues:
    """The parameter ``values`` (``{name: number}``) at every point of ``x``."""
    return ParamValues(tuple(values), x.new_tensor([float(v) for v in values.values()]).expand(x.shape[0], len(values)))


def fix(fn: Callable, **values) -> Callable[[torch.Tensor], torch.Tensor]:
    """``fn(x, p)`` at fixed parameter values as ``f(x)``: one member of the family, e.g. the source of a
    classical solve at one k, ``kp.fd.helmholtz(fix(source, k=2.0), 2.0, ...)``."""
    fixed = lambda x: fn(x, constant(x, values))  # noqa: E731
    fixed.__name__ = getattr(fn, "__name__", "function")
    return fixed


# --------------------------------------------------------------------------- one member of the family


def fix_condition(condition, values: dict[str, float]):
    """A copy of a lifted condition (:func:`lift_condition`) at fixed parameter ``values``: functions of ``x``."""
    fixed = copy.copy(condition)
    for attribute in ("value", "alpha", "beta"):
        function = getattr(fixed, attribute, None)
        if isinstance(function, ParamFunction):
            setattr(fixed, attribute, fix(function.fn, **values))
    if isinstance(getattr(fixed, "fn", None), ParamResidual):
        user = fixed.fn.fn
        fixed.fn = lambda x, f, n: user(x, f, n, constant(x, values))  # noqa: E731
    if isinstance(getattr(fixed, "on", None), ParamPredicate):
        fixed.on = fixed.on.fn
    return fixed


class FixedParams(nn.Module):
    """``x -> net(x, mu)`` at fixed parameter values: a family's network as one member's (``Solution.at``).

    Args:
        net: the family's network, ``(N, D + P) -> (N, m)``.
        values: the P parameter values, in the problem's order.
    """

    def __init__(self, net: nn.Module, values):
        super().__init__()
        self.net, self.values = net, tuple(float(v) for v in values)
        in_dim = getattr(net, "in_dim", None)
        self.in_dim = None if in_dim is None else in_dim - len(self.values)
        self.out_dim = getattr(net, "out_dim", None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu = x.new_tensor(self.values).expand(x.shape[0], len(self.values))     # (N, P)
        return self.net(torch.cat([x, mu], dim=1))
