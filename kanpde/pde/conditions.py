"""Boundary and initial conditions, each turning into its own loss term.

Every condition samples its own points and gives a residual ``r`` that is zero
where the condition holds; its loss term is ``mean(r^2)``.

=========================  ====================================  ==============
condition                  residual                              points
=========================  ====================================  ==============
``Dirichlet(g)``           ``u - g``                             boundary
``Neumann(g)``             ``du/dn - g``                         boundary
``Robin(alpha, beta, g)``  ``alpha u + beta du/dn - g``          boundary
``Periodic("x")``          ``u(x_lo) - u(x_hi)`` (and d/dx)      paired faces
``Initial(g, derivative)`` ``d^m u/dt^m - g`` at ``t = t0``      initial slice
``Data(points, values)``   ``u - d`` at measurement points       given points
=========================  ====================================  ==============

``value`` is a number or a function of the points ``x`` (a ``(N, D)`` tensor)
returning ``(N,)`` or ``(N, 1)`` (``(N, m)`` for all m components at once).
``on`` narrows a boundary condition to a named side (``"left"``, ``"x_min"``, ...)
or to the points where a predicate ``on(x) -> (N,) bool tensor`` holds (it sees
float64 CPU points, when the boundary is sampled). Both follow the convention of
:mod:`kanpde.pde.functions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from .functions import call_points, call_predicate
from ..geometry.domains import Domain


@dataclass
class ConditionPoints:
    """A condition's sampled points: ``points`` ``(N, D)``, with ``normals``, a periodic
    ``partner`` ``(N, D)`` or observed ``values`` ``(N, m)`` where the condition needs them."""

    points: torch.Tensor
    normals: torch.Tensor | None = None
    partner: torch.Tensor | None = None
    values: torch.Tensor | None = None

    def to(self, **kwargs) -> "ConditionPoints":
        move = lambda t: None if t is None else t.to(**kwargs)  # noqa: E731
        return ConditionPoints(move(self.points), move(self.normals), move(self.partner), move(self.values))


def evaluate_value(value, x: torch.Tensor, components: int = 1, role: str = "condition value") -> torch.Tensor:
    """A condition's data at points x as ``(N, 1)`` or ``(N, components)``: numbers broadcast,
    functions called by the convention of :mod:`kanpde.pde.functions`."""
    if callable(value):
        return call_points(value, x, role, columns=tuple(sorted({1, components})))
    return torch.full((x.shape[0], 1), float(value), dtype=x.dtype, device=x.device)


def _check_value(value, what: str):
    if callable(value):
        return value
    if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
        if not np.isfinite(value):
            raise ValueError(f"{what} must be finite, got {value}")
        return float(value)
    raise TypeError(f"{what} must be a number or a function of x, got {type(value).__name__}: {value!r:.60}")


def _check_name(name):
    if name is not None and (not isinstance(name, str) or not name):
        raise TypeError(f"name must be None or a non-empty str, got {name!r}")
    return name


def _check_component(component):
    if component is None or isinstance(component, str):
        return component
    if isinstance(component, (int, np.integer)) and not isinstance(component, bool) and component >= 0:
        return int(component)
    raise TypeError(f"component must be None, an output name or an index >= 0, got {component!r}")


def _check_hard(value, what: str):
    """A condition's ``hard``: ``"auto"``, True or False."""
    if not (value == "auto" or isinstance(value, bool)):
        raise ValueError(f"{what}(hard=...) must be 'auto', True or False, got {value!r}")
    return value


class Condition:
    """Base class: a named loss term on sampled points.

    Subclasses implement ``sample`` and ``residual``; ``check`` validates the
    condition against a domain when the problem is built.
    """

    kind = "condition"
    component: int | str | None = None

    def __init__(self, name: str | None = None, component: int | str | None = None):
        self.name = _check_name(name)
        self.component = _check_component(component)

    def default_name(self) -> str:
        return self.kind

    def check(self, domain: Domain) -> None:
        """Raise ValueError when the condition makes no sense on ``domain``."""

    def sample(self, domain: Domain, n: int, method: str, seed) -> ConditionPoints:
        raise NotImplementedError

    def residual(self, make_field: Callable, points: ConditionPoints) -> torch.Tensor:
        raise NotImplementedError

    def _component(self, field):
        return field if self.component is None else field[self.component]


class BoundaryCondition(Condition):
    """A condition on the (spatial) boundary, optionally narrowed by ``on``."""

    def __init__(self, on=None, name=None, component=None):
        super().__init__(name, component)
        if on is not None and not isinstance(on, str) and not callable(on):
            raise TypeError(f"on must be None, a side name or a predicate on points, got {type(on).__name__}")
        self.on = on

    def default_name(self) -> str:
        return self.kind if not isinstance(self.on, str) else f"{self.kind}[{self.on}]"

    def check(self, domain: Domain) -> None:
        if isinstance(self.on, str) and self.on not in domain.side_names:
            raise ValueError(f"unknown side {self.on!r} for {type(domain).__name__}. Pick one of {domain.side_names}")

    def sample(self, domain, n, method, seed) -> ConditionPoints:
        if callable(self.on):
            x = self._sample_where(domain, n, method, seed)
        else:
            x = domain.sample_boundary(n, method=method, seed=seed, side=self.on)
        normals = torch.as_tensor(domain.normals(x))
        return ConditionPoints(torch.as_tensor(x), normals)

    def _sample_where(self, domain, n, method, seed) -> np.ndarray:
        """Oversample the boundary and keep the points where the predicate holds."""
        kept = np.empty((0, domain.dim))
        for attempt in range(8):
            x = domain.sample_boundary(4 * n * 2 ** attempt, method=method,
                                       seed=None if seed is None else seed + attempt)
            mask = call_predicate(self.on, torch.as_tensor(x), "on= predicate").cpu().numpy()  # (M,)
            kept = np.concatenate([kept, x[mask]])
            if kept.shape[0] >= n:
                return kept[:n]
        raise ValueError(f"the on= predicate selected too few boundary points ({kept.shape[0]} of the {n} wanted)")

    def _normal_derivative(self, field, normals: torch.Tensor) -> torch.Tensor:
        spatial = field.spatial_axes
        return sum(field.d(a) * normals[:, a:a + 1] for a in spatial)  # (N, components)


class Dirichlet(BoundaryCondition):
    """``u = g`` on the boundary (or the part ``on`` selects).

    ``hard="auto"`` (default) meets it exactly by the output transform ``u = g + phi N``
    (:mod:`kanpde.pde.constraints`) where the domain has a distance-like ``phi`` (boxes,
    disks, their products with time; on a box also on named sides only) and the data
    fits the other built-in conditions; ``g`` must then be a number or a smooth
    function defined inside the domain too. ``hard=True`` insists (ValueError if it
    cannot), ``hard=False`` keeps a loss term.
    """

    kind = "dirichlet"

    def __init__(self, value=0.0, on=None, component=None, name=None, hard="auto"):
        super().__init__(on, name, component)
        self.value = _check_value(value, "Dirichlet value")
        self.hard = _check_hard(hard, "Dirichlet")

    def residual(self, make_field, points):
        u = self._component(make_field(points.points))
        return u.value - evaluate_value(self.value, points.points, u.value.shape[1], "Dirichlet value")


class Neumann(BoundaryCondition):
    """``du/dn = grad u . n = g`` with n the outward unit normal."""

    kind = "neumann"

    def __init__(self, value=0.0, on=None, component=None, name=None):
        super().__init__(on, name, component)
        self.value = _check_value(value, "Neumann value")

    def residual(self, make_field, points):
        u = self._component(make_field(points.points))
        flux = self._normal_derivative(u, points.normals)
        return flux - evaluate_value(self.value, points.points, flux.shape[1], "Neumann value")


class Robin(BoundaryCondition):
    """``alpha u + beta du/dn = g``."""

    kind = "robin"

    def __init__(self, alpha, beta, value=0.0, on=None, component=None, name=None):
        super().__init__(on, name, component)
        self.alpha = _check_value(alpha, "Robin alpha")
        self.beta = _check_value(beta, "Robin beta")
        self.value = _check_value(value, "Robin value")
        if self.alpha == 0 and self.beta == 0:  # numbers only: 0 * u + 0 * du/dn = g constrains nothing
            raise ValueError(f"Robin alpha and beta are both 0: alpha u + beta du/dn = g then constrains nothing; "
                             f"give alpha != 0 or beta != 0 (got alpha={alpha!r}, beta={beta!r})")

    def residual(self, make_field, points):
        x = points.points
        u = self._component(make_field(x))
        combined = (evaluate_value(self.alpha, x, role="Robin alpha") * u.value
                    + evaluate_value(self.beta, x, role="Robin beta") * self._normal_derivative(u, points.normals))
        return combined - evaluate_value(self.value, x, combined.shape[1], "Robin value")


class BoundaryResidual(BoundaryCondition):
    """A boundary condition given as its residual, ``fn(x, f, n) = 0`` on the boundary (or the part ``on``
    selects): traction ``sigma(u) n = t`` in elasticity, slip ``u . n = 0``, outflow and flux conditions of
    systems (DeepXDE's ``OperatorBC``).

    Args:
        fn: ``fn(x, f, n) -> (N, k)`` (or ``(N,)``) of the points ``x`` ``(N, D)``, the solution field ``f``
            (a :class:`~kanpde.pde.fields.Field`: ``f["u"].d("x")``, ``f.grad()``, ...; only ``component``'s
            with ``component=``) and the outward unit normals ``n`` ``(N, D)``; torch in, torch out.
        on, component, name: as for :class:`Dirichlet`.

    Raises:
        TypeError: ``fn`` is not a function; when training, its result is not an ``(N, k)`` tensor.
    """

    kind = "boundary_residual"

    def __init__(self, fn, on=None, component=None, name=None):
        super().__init__(on, name, component)
        if not callable(fn):
            raise TypeError(f"BoundaryResidual fn must be a function fn(x, f, n) -> (N, k), got "
                            f"{type(fn).__name__}: {fn!r:.60}")
        self.fn = fn

    def residual(self, make_field, points):
        f = self._component(make_field(points.points))
        value = self.fn(f.x, f, points.normals)
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"BoundaryResidual fn must return a torch.Tensor computed from f, got {type(value).__name__}")
        value = value.unsqueeze(1) if value.ndim == 1 else value
        if value.ndim != 2 or value.shape[0] != len(points.points):
            raise ValueError(f"BoundaryResidual fn must return shape ({len(points.points)}, k) or "
                             f"({len(points.points)},), got {tuple(value.shape)}")
        return value


class Periodic(Condition):
    """``u`` (and, by default, ``du/dc``) equal on the two faces ``c = lo`` and ``c = hi``.

    Args:
        coordinate: a spatial coordinate of a box-like domain, by name or index.
        derivatives: also match the first derivative across the faces (what a
            second-order equation needs for a smooth periodic solution).
        hard: ``"auto"`` (default): built in as an exactly periodic input embedding
            (cos, sin of ``2 pi k (x - lo) / L``, ``k = 1..harmonics``; :mod:`kanpde.pde.embedding`),
            so the network takes ``problem.input_dim`` inputs; False: a loss term.
        harmonics: K of the embedding.
    """

    kind = "periodic"

    def __init__(self, coordinate: str | int, derivatives: bool = True, component=None, name=None, hard="auto",
                 harmonics: int = 1):
        super().__init__(name, component)
        if not isinstance(coordinate, (str, int)) or isinstance(coordinate, bool):
            raise TypeError(f"Periodic coordinate must be a coordinate name or index, got {coordinate!r}")
        if not isinstance(derivatives, bool):
            raise TypeError(f"Periodic derivatives must be True or False, got {derivatives!r}")
        self.coordinate = coordinate
        self.derivatives = derivatives
        self.hard = _check_hard(hard, "Periodic")
        if isinstance(harmonics, bool) or not isinstance(harmonics, int) or harmonics < 1:
            raise ValueError(f"Periodic harmonics must be an int >= 1, got {harmonics!r}")
        self.harmonics = harmonics

    def default_name(self) -> str:
        return f"periodic[{self.coordinate}]"

    def check(self, domain):
        axis = domain.index(self.coordinate)
        if axis == domain.time_axis:
            raise ValueError(f"Periodic needs a spatial coordinate, got the time axis {self.coordinate!r}")

    def sample(self, domain, n, method, seed):
        lo, hi = domain.sample_periodic_pairs(self.coordinate, n, method=method, seed=seed)
        return ConditionPoints(torch.as_tensor(lo), partner=torch.as_tensor(hi))

    def residual(self, make_field, points):
        u_lo = self._component(make_field(points.points))
        u_hi = self._component(make_field(points.partner))
        parts = [u_lo.value - u_hi.value]
        if self.derivatives:
            parts.append(u_lo.d(self.coordinate) - u_hi.d(self.coordinate))
        return torch.cat(parts, dim=1)


class Initial(Condition):
    """``d^m u / dt^m = g`` at ``t = t0`` (``m = derivative``, 0 for the value).

    Needs a space-time domain. For a second-order-in-time equation give two,
    e.g. ``Initial(u0)`` and ``Initial(v0, derivative=1)``. ``hard="auto"`` (default)
    builds them in, ``u = u0 + (t - t0) v0 + (t - t0)^2 N`` (:mod:`kanpde.pde.constraints`),
    where the data fits the other built-in conditions; ``u0`` and ``v0`` are called
    with the points moved to ``t = t0``. False keeps a loss term.
    """

    kind = "initial"

    def __init__(self, value=0.0, derivative: int = 0, component=None, name=None, hard="auto"):
        super().__init__(name, component)
        self.hard = _check_hard(hard, "Initial")
        self.value = _check_value(value, "Initial value")
        if not isinstance(derivative, int) or isinstance(derivative, bool) or derivative < 0:
            raise ValueError(f"Initial derivative must be an int >= 0, got {derivative!r}")
        self.derivative = derivative

    def default_name(self) -> str:
        return "initial" if self.derivative == 0 else f"initial_d{self.derivative}t"

    def check(self, domain):
        if domain.time_axis is None:
            raise ValueError(f"Initial needs a domain with a time axis (space * TimeInterval), got {domain!r}")

    def sample(self, domain, n, method, seed):
        return ConditionPoints(torch.as_tensor(domain.sample_initial(n, method=method, seed=seed)))

    def residual(self, make_field, points):
        u = self._component(make_field(points.points))
        axis = next(a for a in range(len(u.names)) if a not in u.spatial_axes)  # the time axis
        data = u.d(*([axis] * self.derivative))
        return data - evaluate_value(self.value, points.points, data.shape[1], "Initial value")


def _data_array(values, what: str) -> np.ndarray:
    """Data ``points``/``values`` as a finite float array (torch or numpy or lists in)."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"Data {what} must be an array of numbers, got {type(values).__name__}: {err}") from None
    if not np.isfinite(array).all():
        raise ValueError(f"Data {what} must be finite, got {int((~np.isfinite(array)).sum())} NaN/inf entries")
    return array


class Data(Condition):
    """``u(x_j) = d_j`` at given measurement points: observations, e.g. for inverse problems.

    Args:
        points: ``(M, D)`` measurement locations inside the domain.
        values: ``(M,)`` or ``(M, m)`` measured values (all components, or ``component``'s).
    """

    kind = "data"

    def __init__(self, points, values, component=None, name=None):
        super().__init__(name, component)
        self.points, self.values = _data_array(points, "points"), _data_array(values, "values")
        if self.values.ndim == 1:
            self.values = self.values[:, None]
        if self.points.ndim != 2 or self.values.ndim != 2 or len(self.points) != len(self.values):
            raise ValueError(f"Data expects points (M, D) and values (M,) or (M, m) with the same M, "
                             f"got points {self.points.shape} and values {np.shape(values)}")
        if len(self.points) == 0 or self.values.shape[1] == 0:
            raise ValueError(f"Data needs at least one point and one value column, got points {self.points.shape} "
                             f"and values {self.values.shape}")

    def check(self, domain):
        if self.points.shape[1] != domain.dim:
            raise ValueError(f"Data points must have {domain.dim} columns {domain.names}, got {self.points.shape[1]}")
        outside = ~domain.contains(self.points, tol=1e-8)
        if outside.any():
            raise ValueError(f"{int(outside.sum())} Data points lie outside {domain!r}, e.g. {self.points[outside][0].tolist()}")

    def sample(self, domain, n, method, seed):
        return ConditionPoints(torch.as_tensor(self.points), values=torch.as_tensor(self.values))

    def residual(self, make_field, points):
        u = self._component(make_field(points.points))
        return u.value - points.values
