"""Time windows: a network made exact at its window's start, and windows stitched into one model.

Window k on ``[t_k, t_{k+1}]`` takes its initial data from the window before it
(from the problem's :class:`Initial` conditions for the first) and meets it exactly:

    first order in time:   u_k(x, t) = a(x) + (t - t_k) N_k(x, t),
    second order in time:  u_k(x, t) = a(x) + (t - t_k) b(x) + (t - t_k)^2 N_k(x, t),

with ``a = u_{k-1}(., t_k)`` and ``b = d/dt u_{k-1}(., t_k)``. What the problem itself
builds in (:func:`window_plan`) stays exact in every window:

- a whole-boundary Dirichlet condition with a constant value, built in together with all
  the Initial conditions: the factor ``(t - t_k)^order`` also takes the boundary factor
  ``phi(x)`` (:func:`kanpde.pde.constraints.boundary_factor`), which keeps the boundary
  data since ``a`` (and ``b``) already meet it;
- built-in Periodic conditions: ``N`` sees the same periodic input embedding
  (:class:`kanpde.pde.embedding.PeriodicEmbedding`), so the network input width is
  ``problem.input_dim`` as without marching; ``a`` carries the initial data's own periodicity;
- the problem's ``features=`` inputs: ``N`` sees ``(x, f(x))``
  (:class:`kanpde.pde.features.FeatureEmbedding`), input width ``problem.input_dim`` again.

Every other condition (Dirichlet data given by a function or on some sides only, ...) is a
loss term in the windows (a ``hard=False`` copy; the user's conditions are never changed).
So the stitched
solution is continuous in time (and, at second order, so is u_t) by construction.
The derivatives of ``a`` and ``b`` come from autograd through the (frozen) earlier
windows once per point set (cached); those of ``N_k`` from its jet
(:class:`kanpde.pde.constraints.HardConstraint` does the product rule).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
from torch import nn

from ..cache import PointSetCache
from .conditions import Condition, Dirichlet, Initial, Periodic, evaluate_value
from .constraints import HardConstraint, boundary_factor, product_jet
from .embedding import PeriodicEmbedding
from .features import FeatureEmbedding
from .fields import function_derivatives
from .functions import check_differentiable
from ..nn.jet import Jet


@dataclass
class WindowPlan:
    """What every window builds in of a problem's built-in conditions (see the module docstring).

    Attributes:
        dirichlet: the whole-boundary constant Dirichlet condition met by ``phi(x)``, or None.
        periodic: ``{axis: (lo, hi)}`` of the built-in Periodic conditions (the embedding).
        harmonics: the embedding's K.
        dim: the number of coordinates D.
        boundary: ``phi(x)`` of ``dirichlet`` (None without).
        conditions: the problem's conditions the windows build in (``dirichlet`` and the
            built-in Periodic ones).
        features: the problem's ``features=`` inputs of N.
    """

    dirichlet: Condition | None = None
    periodic: dict = field(default_factory=dict)
    harmonics: int = 1
    dim: int = 1
    boundary: Callable | None = None
    conditions: list = field(default_factory=list)
    features: tuple = ()

    def window(self, net: nn.Module, start: float, time_axis: int, order: int, previous=None, data=None):
        """The :class:`InitialWindow` around ``net`` that builds in what this plan says."""
        return InitialWindow(net, start, time_axis, order, previous=previous, data=data, boundary=self.boundary,
                             periodic=self.periodic or None, harmonics=self.harmonics, dim=self.dim,
                             features=self.features)

    def built_in(self, condition: Condition) -> bool:
        """Whether the windows meet ``condition`` exactly (besides the Initial ones)."""
        return any(condition is c for c in self.conditions)


def window_plan(problem) -> WindowPlan:
    """The :class:`WindowPlan` of a problem: its built-in whole-boundary constant Dirichlet
    condition (when its Initial conditions are built in too, which checked that the data fit)
    and its built-in Periodic conditions."""
    hard = problem.hard
    initial_hard = all(any(c is h for h in hard) for c in problem.all_conditions if isinstance(c, Initial))
    whole = [c for c in hard if isinstance(c, Dirichlet) and c.on is None and c.component is None
             and not callable(c.value)]
    dirichlet = whole[0] if whole and initial_hard else None
    periodic = [c for c in hard if isinstance(c, Periodic)]
    return WindowPlan(dirichlet, dict(problem.constraints.periodic) if periodic else {}, problem.constraints.harmonics,
                      problem.domain.dim, boundary_factor(problem.domain) if dirichlet is not None else None,
                      ([dirichlet] if dirichlet is not None else []) + periodic, problem.features)


def window_conditions(problem, plan: WindowPlan) -> list[Condition]:
    """A window's loss terms: the problem's conditions but the Initial ones and those the
    windows build in, as ``hard=False`` copies (nothing is built in twice)."""
    out = []
    for c in problem.all_conditions:
        if isinstance(c, Initial) or plan.built_in(c):
            continue
        c = copy.copy(c)  # never change the user's condition
        if hasattr(c, "hard"):
            c.hard = False
        out.append(c)
    return out


def initial_order(conditions) -> int:
    """How many initial conditions in time (1 + the highest Initial derivative), 0 without."""
    orders = [c.derivative for c in conditions if isinstance(c, Initial)]
    return 1 + max(orders) if orders else 0


def initial_data(conditions, order: int) -> list:
    """The Initial values ``[u(t0), u_t(t0), ...]`` in derivative order.

    Raises:
        ValueError: a missing derivative or one given twice, or a component-wise Initial.
    """
    values = [None] * order
    for c in conditions:
        if isinstance(c, Initial):
            if c.component is not None or values[c.derivative] is not None:
                raise ValueError("time marching needs one Initial condition per derivative order on all "
                                 f"components, got a second or component-wise one ({c.name or c.default_name()})")
            values[c.derivative] = c.value
    if any(v is None for v in values):
        raise ValueError(f"time marching needs Initial conditions for derivatives 0..{order - 1}")
    for derivative, value in enumerate(values):
        check_differentiable(value, f"the Initial value (derivative {derivative}) that time marching builds into the "
                             "first window", "the window's residual takes its derivatives")
    return values


class InitialWindow(HardConstraint):
    """``u = lift + (t - t_k)^order N`` on one time window (see the module docstring).

    Args:
        net: the window's network N (trained; its parameters are this module's).
        start: t_k.
        time_axis: index of the time coordinate.
        order: 1 or 2 initial conditions in time.
        previous: the window before (not a submodule: frozen, not trained here), or None.
        data: without ``previous``, the Initial values ``[u0]`` or ``[u0, v0]`` (numbers or
            functions of the points, evaluated at ``t = t_k``).
        boundary: ``phi(x)``, zero on the spatial boundary, for a hard constant Dirichlet value.
        periodic: ``{axis: (lo, hi)}``: N behind the periodic input embedding (else N sees x).
        harmonics: the embedding's K.
        dim: the number of coordinates D (needed with ``periodic`` or ``features``).
        features: functions ``f(x) -> (N, 1)``: N sees ``(x, f(x))`` (not combinable with ``periodic``).
    """

    def __init__(self, net: nn.Module, start: float, time_axis: int, order: int,
                 previous: nn.Module | None = None, data: Sequence | None = None, boundary: Callable | None = None,
                 periodic: dict | None = None, harmonics: int = 1, dim: int | None = None,
                 features: Sequence[Callable] = ()):
        nn.Module.__init__(self)
        if order not in (1, 2):
            raise ValueError(f"time windows support first- or second-order-in-time problems, got order {order}")
        if (previous is None) == (data is None):
            raise ValueError("give either the previous window or the initial data")
        self.net, self.start, self.axis, self.order = net, float(start), time_axis, order
        self._previous = (previous,) if previous is not None else ()  # a tuple keeps it out of parameters()
        self.data = list(data) if data is not None else None
        self.periodic, self.features = periodic or {}, tuple(features)
        if periodic and self.features:
            raise ValueError("a window's network takes either the periodic embedding or features=, not both")
        if periodic:
            self.inner = PeriodicEmbedding(net, dim, periodic, harmonics)
        else:
            self.inner = FeatureEmbedding(net, dim, self.features) if self.features else net
        self.in_dim, self.out_dim = getattr(self.inner, "in_dim", None), getattr(net, "out_dim", None)
        self.supports_jet = hasattr(net, "jet") and getattr(self.inner, "supports_jet", True)
        if hasattr(net, "k"):
            self.k = net.k
        self.boundary = boundary
        self._cache = PointSetCache()

    def clear_cache(self) -> None:
        """Forget the cached start values (the point sets of this window's training are done)."""
        self._cache.clear()

    # -- the pieces of u = lift + factor * N ------------------------------------------------------

    def _at_start(self, x: torch.Tensor) -> torch.Tensor:
        y = x.clone()
        y[:, self.axis] = self.start
        return y

    def _start_values(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``[a, b]`` (or ``[a]``) at the spatial part of x, each ``(N, m)``, differentiable in x."""
        y = self._at_start(x)
        m = self.out_dim or 1
        if self.data is not None:
            return [evaluate_value(v, y, m).expand(-1, m) for v in self.data]
        previous = self._previous[0]
        if self.order == 1:
            return [previous(y)]
        with torch.enable_grad():
            z = y if y.requires_grad else y.detach().requires_grad_(True)
            a = previous(z)                                                   # (N, m)
            b = torch.stack([torch.autograd.grad(a[:, c].sum(), z, create_graph=True)[0][:, self.axis]
                             for c in range(a.shape[1])], dim=1)              # (N, m): u_t at t_k
        return [a, b]

    def lift(self, x: torch.Tensor) -> torch.Tensor:
        values = self._start_values(x)
        tau = x[:, self.axis:self.axis + 1] - self.start                       # (N, 1)
        return values[0] if self.order == 1 else values[0] + tau * values[1]

    def factor(self, x: torch.Tensor) -> torch.Tensor:
        factor = (x[:, self.axis:self.axis + 1] - self.start) ** self.order    # (N, 1)
        return factor if self.boundary is None else factor * self.boundary(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.requires_grad:  # derivatives of u wanted by autograd: no cache
            return self.lift(x) + self.factor(x) * self.inner(x)
        lift = self._cache.get(x, "value", lambda: self.lift(x).detach())
        return lift + self.factor(x) * self.inner(x)

    def jet(self, x: torch.Tensor, pairs=None, order: int = 2) -> Jet:
        inner = self.inner.jet(x, pairs, order)
        pairs = inner.pairs
        lift = self._cache.get(x, ("jet", tuple(pairs), order), lambda: self._lift_jet(x, pairs, order))
        return product_jet(lift, function_derivatives(self.factor, x, pairs, order), inner)

    def _lift_jet(self, x: torch.Tensor, pairs, order: int) -> tuple:
        """``(value, grad, second)`` of the lift. First order in time, after a window with a jet: the previous
        window's own jet at ``t = t_k`` with the time derivatives dropped (the lift is constant in t). Each
        window then costs one jet per earlier window, where autograd through the chain of windows held a
        second-order graph of all of them (burgers1d in 40 windows: 12 GB, killed)."""
        previous = self._previous[0] if self._previous else None
        if self.order != 1 or previous is None or not getattr(previous, "supports_jet", False):
            return function_derivatives(self.lift, x, pairs, order)
        with torch.no_grad():  # the lift is data: no graph to the earlier windows' parameters
            jet = previous.jet(self._at_start(x), pairs, order)
        grad = jet.grad.clone()                                                # (N, m, D)
        grad[..., self.axis] = 0
        timed = [p for p, (a, b) in enumerate(jet.pairs) if self.axis in (a, b)]
        second = jet.second.clone() if order > 1 and jet.pairs else jet.value.new_zeros(*jet.value.shape, len(pairs))
        second[..., timed] = 0                                                 # (N, m, P)
        return jet.value, grad, second

    # -- what the trainer asks a KAN for --------------------------------------------------------

    @property
    def grid(self):
        return getattr(self.net, "grid", None)

    def refine(self, new_grid: int):
        self.net.refine(new_grid)
        return self

    def update_grid(self, x: torch.Tensor, **kwargs):
        seen = x if self.inner is self.net else self.inner.inputs(x)   # an embedding: what N sees
        self.net.update_grid(seen, **kwargs)
        return self


class TimeWindows(nn.Module):
    """Windows stitched in time: ``u(x, t) = u_k(x, t)`` for ``t_k <= t < t_{k+1}``.

    Args:
        windows: the :class:`InitialWindow` models, in time order.
        edges: ``[t_0, ..., t_K]``, K = len(windows).
        time_axis: index of the time coordinate.
    """

    def __init__(self, windows: Sequence[InitialWindow], edges: Sequence[float], time_axis: int):
        super().__init__()
        if len(edges) != len(windows) + 1:
            raise ValueError(f"expected {len(windows) + 1} window edges for {len(windows)} windows, got {len(edges)}")
        self.windows = nn.ModuleList(windows)
        self.edges = [float(e) for e in edges]
        self.axis = time_axis
        self.in_dim, self.out_dim = windows[0].in_dim, windows[0].out_dim

    def window_index(self, x: torch.Tensor) -> torch.Tensor:
        """Window of each point by its time, ``(N,)`` (times outside go to the first/last window)."""
        inner = torch.as_tensor(self.edges[1:-1], dtype=x.dtype, device=x.device)
        return torch.searchsorted(inner, x[:, self.axis].contiguous(), right=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        index = self.window_index(x)                                           # (N,)
        out = x.new_zeros(x.shape[0], self.out_dim or 1)                       # (N, m)
        for k, window in enumerate(self.windows):
            mask = index == k
            if bool(mask.any()):
                out = out.index_put((mask,), window(x[mask]))
        return out
