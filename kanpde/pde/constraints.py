"""Constraints by construction: an output transform that meets conditions exactly.

    u(x) = A(x) + phi(x) psi(t) N(E(x)),

- ``N`` the network, ``E`` the periodic input embedding (:mod:`kanpde.pde.embedding`;
  identity without ``Periodic`` conditions);
- ``phi`` a smooth function that vanishes on the Dirichlet part of the (spatial)
  boundary and is positive inside (:func:`boundary_factor`):

  - box: ``phi = prod_faces 2 (x_a - lo_a) / (hi_a - lo_a)`` (or ``(hi_a - x_a)``) over the
    Dirichlet faces (all of them for a whole-boundary condition),
  - disk: ``phi = (R^2 - |x - c|^2) / R^2``,
  - space-time: the spatial domain's ``phi`` (the lateral boundary);

- ``psi = ((t - t0) / (t1 - t0))^m`` with ``m`` the number of hard initial conditions
  (``u`` and ``du/dt`` at ``t0``);
- ``A`` the lift: the Dirichlet data ``G`` (a number or a smooth function defined
  inside the domain too; two different data on opposite faces of a box are blended
  linearly, other data on several sides by transfinite interpolation
  ``G = sum_i r_i g_i`` with ``r_i = (1 / phi_i) / sum_j (1 / phi_j)`` and ``phi_i`` the
  distance function of side i, so ``G = g_i`` on side i),
  corrected to meet the initial data: ``A = G + [u0 - G](x^) + (t - t0) [v0 - G_t](x^)``
  with ``x^`` the point moved to ``t = t0``.

:func:`plan` decides which conditions a problem builds in (``hard="auto"``: every one
the domain and data allow, checked numerically; ``hard=True``: that one or a
ValueError; ``hard=False``: a loss term).

The transform keeps the jet path: derivatives of ``u`` follow from those of ``N``
(from its jet, through the embedding's chain rule) and of ``A`` and ``phi psi``
(closed forms: the distance functions of :mod:`kanpde.geometry.distance` give theirs
analytically, the rest by autograd; both cached per point set) through the product rule
``u_ab = A_ab + B_ab N + B_a N_b + B_b N_a + B N_ab`` with ``B = phi psi``.
"""

from __future__ import annotations

import warnings
from typing import Callable, Sequence

import torch
from torch import nn

from .conditions import Condition, Dirichlet, Initial, Periodic, evaluate_value
from .embedding import PeriodicEmbedding, embedded_dim
from .features import FeatureEmbedding
from .fields import Field, function_derivatives, grad_or_zeros
from .functions import is_differentiable
from ..cache import PointSetCache
from ..geometry.distance import SmoothDistance
from ..geometry.domains import Box, Disk, Domain, SpaceTime
from ..nn.jet import Jet


def _box_faces(domain: Domain, sides) -> tuple[Box, list[int], list[tuple[int, int]]]:
    """The box behind ``domain``, the axes its coordinates have in the domain, and the
    ``(axis, upper)`` faces of ``sides`` (None: all) in box coordinates."""
    spatial, axes = (domain.spatial, list(domain.spatial_axes)) if isinstance(domain, SpaceTime) else \
        (domain, list(range(domain.dim)))
    if not isinstance(spatial, Box) or spatial.time_axis is not None:
        raise ValueError(f"Dirichlet data on some sides only needs a box (or box x time), got {domain!r}")
    faces = spatial._faces(None) if sides is None else sorted({f for s in sides for f in spatial._faces(s)})
    return spatial, axes, faces


def boundary_factor(domain: Domain, sides: Sequence[str] | None = None) -> Callable[[torch.Tensor], torch.Tensor]:
    """``phi(x)``: zero on the spatial boundary (or on the named ``sides`` only), positive inside, ``(N, 1)``.

    The one place that knows each domain's distance-like function.

    Raises:
        ValueError: for domains without a closed-form factor.
    """
    if sides is None and isinstance(domain, SpaceTime) and isinstance(domain.spatial, Disk):
        inner, axes = boundary_factor(domain.spatial), list(domain.spatial_axes)
        return lambda x: inner(x[:, axes])
    if sides is None and isinstance(domain, Disk):
        center, radius = torch.as_tensor(domain.center), domain.radius
        return lambda x: (radius ** 2 - (x - center.to(x)).pow(2).sum(1, keepdim=True)) / radius ** 2
    try:
        box, axes, faces = _box_faces(domain, sides)
    except ValueError:
        return _distance_factor(domain, sides)
    lo, hi = box.bounds

    def phi(x):
        out = x.new_ones(x.shape[0], 1)
        for axis, upper in faces:
            c = x[:, axes[axis]:axes[axis] + 1]
            out = out * 2 * ((hi[axis] - c) if upper else (c - lo[axis])) / (hi[axis] - lo[axis])  # (N, 1)
        return out

    return phi


def _distance_factor(domain: Domain, sides) -> Callable[[torch.Tensor], torch.Tensor]:
    """Polygons, CSG, ellipses, balls, meshes (and their products with time): the R-function
    distance of :mod:`kanpde.geometry.distance`, zero on the chosen sides."""
    spatial = domain.spatial if isinstance(domain, SpaceTime) else domain
    if not hasattr(spatial, "adf"):
        raise ValueError(f"hard Dirichlet constraints need a box, disk, polygon, CSG or mesh domain (or their product "
                         f"with time), got {domain!r}")
    inner = spatial.adf(sides)
    if spatial is domain:
        return inner
    axes = list(domain.spatial_axes)
    if isinstance(inner, SmoothDistance):
        return inner.on_axes(axes)
    return lambda x: inner(x[:, axes])


class HardConstraint(nn.Module):
    """``u = lift + factor * inner`` with its own jet (see the module docstring).

    Args:
        net: the network N.
        lift: ``A(x) -> (N, 1 or m)``; factor: ``phi(x) psi(t) -> (N, 1)``.
        inner: ``net`` behind the periodic embedding, or ``net`` itself.
    """

    def __init__(self, net: nn.Module, lift: Callable, factor: Callable, inner: nn.Module | None = None,
                 factor_derivatives: Callable | None = None):
        super().__init__()
        self.net, self.lift, self.factor = net, lift, factor
        self.factor_derivatives = factor_derivatives
        self._cache = PointSetCache()
        self.inner = net if inner is None else inner
        self.in_dim, self.out_dim = getattr(self.inner, "in_dim", None), getattr(net, "out_dim", None)
        self.supports_jet = hasattr(net, "jet") and getattr(self.inner, "supports_jet", True)
        if hasattr(net, "k"):
            self.k = net.k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lift(x) + self.factor(x) * self.inner(x)

    def jet(self, x: torch.Tensor, pairs=None, order: int = 2) -> Jet:
        if not hasattr(self.net, "jet"):
            raise ValueError(f"the jet needs a network with a jet() method, got {type(self.net).__name__}")
        inner = self.inner.jet(x, pairs, order)                          # N and its derivatives
        key = (tuple(map(tuple, inner.pairs)), order)
        lift = self._cache.get(x, ("lift",) + key, lambda: function_derivatives(self.lift, x, inner.pairs, order))
        if self.factor_derivatives is not None:
            factor = self.factor_derivatives(x, inner.pairs, order)
        else:
            factor = self._cache.get(x, ("factor",) + key,
                                     lambda: function_derivatives(self.factor, x, inner.pairs, order))
        return product_jet(lift, factor, inner)


def product_jet(lift: tuple, factor: tuple, inner: Jet) -> Jet:
    """The jet of ``u = g + p n`` by the product rule, from ``(value, grad, second)`` of g and p
    (``(N, m)``, ``(N, m, D)``, ``(N, m, P)``; p with m = 1) and the jet of n."""
    (g, g1, g2), (p, p1, p2), pairs = lift, factor, inner.pairs
    n, n1, n2 = inner.value, inner.grad, inner.second
    value = g + p * n
    grad = g1 + p1 * n.unsqueeze(-1) + p.unsqueeze(-1) * n1
    if not pairs:
        return Jet(value, grad, value.new_zeros(*value.shape, 0), pairs)
    a, b = (list(i) for i in zip(*pairs))
    second = (g2 + p2 * n.unsqueeze(-1) + p1[..., a] * n1[..., b] + p1[..., b] * n1[..., a]
              + p.unsqueeze(-1) * n2)
    return Jet(value, grad, second, pairs)


def HardDirichlet(net: nn.Module, domain: Domain, value) -> HardConstraint:
    """``u = g + phi N``: whole-boundary Dirichlet data ``g`` built in."""
    return HardConstraint(net, lambda x: evaluate_value(value, x, getattr(net, "out_dim", None) or 1),
                          boundary_factor(domain))


# --------------------------------------------------------------------------- the plan


def _same_value(a, b) -> bool:
    return a is b or (not callable(a) and not callable(b) and float(a) == float(b))


class Constraints:
    """Which conditions a problem builds in, and the transform that does it.

    Args:
        domain: the problem's domain.
        hard: the conditions built in (Dirichlet, Initial, Periodic).
        components: the number of solution components m.
        features: extra network inputs ``f(x) -> (N, 1)`` (:mod:`kanpde.pde.features`).
    """

    def __init__(self, domain: Domain, hard: Sequence[Condition], components: int = 1, features: Sequence = ()):
        self.domain, self.hard, self.components, self.features = domain, list(hard), components, tuple(features)
        self.dirichlet = [c for c in self.hard if isinstance(c, Dirichlet)]
        self.initial = {c.derivative: c for c in self.hard if isinstance(c, Initial)}
        periodic = [c for c in self.hard if isinstance(c, Periodic)]
        lo, hi = domain.bounds
        self.periodic = {domain.index(c.coordinate): (float(lo[domain.index(c.coordinate)]),
                                                      float(hi[domain.index(c.coordinate)])) for c in periodic}
        self.harmonics = max([c.harmonics for c in periodic], default=1)
        if self.periodic and self.features:
            raise ValueError("features= and a built-in Periodic condition cannot be combined; give "
                             "kp.Periodic(..., hard=False)")
        self.phi = self._dirichlet_factor()
        self.G = self._dirichlet_lift()

    # -- pieces ---------------------------------------------------------------------------------

    def _dirichlet_factor(self):
        if not self.dirichlet:
            return None
        if any(c.on is None for c in self.dirichlet):
            if len(self.dirichlet) > 1:
                raise ValueError("a whole-boundary Dirichlet condition leaves no side for another one")
            return boundary_factor(self.domain)
        return boundary_factor(self.domain, [c.on for c in self.dirichlet])

    def _dirichlet_lift(self):
        """``G(x) -> (N, 1 or m)``: the Dirichlet data extended inside (or None)."""
        d, m = self.dirichlet, self.components
        if not d:
            return None
        if all(_same_value(c.value, d[0].value) for c in d):
            return lambda x: evaluate_value(d[0].value, x, m)
        return self._opposite_faces_lift() or self._transfinite_lift()

    def _opposite_faces_lift(self):
        """Two data on opposite faces of a box (x time): the linear blend along their axis, else None."""
        d, m = self.dirichlet, self.components
        try:
            box, axes, _ = _box_faces(self.domain, [c.on for c in d])
            sides = [_box_faces(self.domain, [c.on])[2] for c in d]
        except ValueError:
            return None
        if len(d) != 2 or not all(len(s) == 1 for s in sides) or sides[0][0][0] != sides[1][0][0]:
            return None
        axis = axes[sides[0][0][0]]
        lo, hi = box.bounds[0][sides[0][0][0]], box.bounds[1][sides[0][0][0]]
        low, high = (d[0], d[1]) if sides[0][0][1] == 0 else (d[1], d[0])
        return lambda x: (evaluate_value(low.value, x, m) * (hi - x[:, axis:axis + 1])
                          + evaluate_value(high.value, x, m) * (x[:, axis:axis + 1] - lo)) / (hi - lo)

    def _transfinite_lift(self):
        """``G = sum_i r_i g_i``, ``r_i = 1 / (1 + phi_i sum_{j != i} 1 / phi_j)`` (= ``(1 / phi_i) / sum_j 1 / phi_j``,
        written so that it is 1 where ``phi_i = 0`` and 0 where another ``phi_j = 0``)."""
        d, m = self.dirichlet, self.components
        factors = [boundary_factor(self.domain, [c.on]) for c in d]

        def lift(x):
            phis = torch.cat([f(x) for f in factors], dim=1)               # (N, k)
            inverse = 1 / phis
            others = inverse.sum(1, keepdim=True) - inverse                   # (N, k)
            ratios = 1 / (1 + torch.where(phis == 0, torch.zeros_like(phis), phis * others))  # (N, k)
            return sum(ratios[:, i:i + 1] * evaluate_value(c.value, x, m) for i, c in enumerate(d))
        return lift

    def _at_t0(self, x: torch.Tensor, shift: torch.Tensor | None = None) -> torch.Tensor:
        axis, t0 = self.domain.time_axis, float(self.domain.bounds[0][self.domain.time_axis])
        t = torch.full_like(x[:, axis:axis + 1], t0) + (0 if shift is None else shift)
        return torch.cat([x[:, :axis], t, x[:, axis + 1:]], dim=1)

    def lift(self, x: torch.Tensor) -> torch.Tensor:
        """``A(x)`` ``(N, 1 or m)``: meets every built-in Dirichlet and initial condition."""
        m, G = self.components, self.G
        out = G(x) if G is not None else x.new_zeros(x.shape[0], 1)
        if 0 in self.initial:
            xh = self._at_t0(x)
            out = out + evaluate_value(self.initial[0].value, xh, m) - (G(xh) if G is not None else 0)
        if 1 in self.initial:
            axis, t0 = self.domain.time_axis, float(self.domain.bounds[0][self.domain.time_axis])
            v = evaluate_value(self.initial[1].value, self._at_t0(x), m)
            if G is not None:  # subtract G_t at t0: differentiate along a zero shift of the time column
                with torch.enable_grad():
                    shift = x.new_zeros(x.shape[0], 1).requires_grad_(True)
                    g = G(self._at_t0(x, shift))                            # (N, 1 or m)
                    v = v - torch.cat([grad_or_zeros(g[:, c], shift) for c in range(g.shape[1])], dim=1)
            out = out + (x[:, axis:axis + 1] - t0) * v
        return out

    def factor(self, x: torch.Tensor) -> torch.Tensor:
        """``phi(x) psi(t)`` ``(N, 1)``."""
        out = self.phi(x) if self.phi is not None else x.new_ones(x.shape[0], 1)
        if self.initial:
            axis = self.domain.time_axis
            t0, t1 = (float(b[axis]) for b in self.domain.bounds)
            out = out * ((x[:, axis:axis + 1] - t0) / (t1 - t0)) ** len(self.initial)
        return out

    @property
    def input_dim(self) -> int:
        """The network's input width (the periodic embedding and ``features`` add inputs)."""
        return embedded_dim(self.domain.dim, len(self.periodic), self.harmonics) + len(self.features)

    def network_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """What the network sees at points x: the embedding's features ``(N, input_dim)``, else x."""
        if self.features:
            return FeatureEmbedding(nn.Identity(), self.domain.dim, self.features).inputs(x)
        if not self.periodic:
            return x
        return PeriodicEmbedding(nn.Identity(), self.domain.dim, self.periodic, self.harmonics).inputs(x)

    def wrap(self, net: nn.Module) -> nn.Module:
        """The solution ``u`` as a module around the network ``net``."""
        inner = PeriodicEmbedding(net, self.domain.dim, self.periodic, self.harmonics) if self.periodic else \
            FeatureEmbedding(net, self.domain.dim, self.features) if self.features else net
        if not self.dirichlet and not self.initial:
            return inner
        analytic = isinstance(self.phi, SmoothDistance) and not self.initial
        return HardConstraint(net, self.lift, self.factor, inner, self.phi.derivatives if analytic else None)


class _Probe(nn.Module):
    """A fixed smooth stand-in network, to check a transform meets its conditions."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.w = torch.randn(in_dim, 8, generator=g, dtype=torch.float64)
        self.v = torch.randn(8, out_dim, generator=g, dtype=torch.float64)
        self.in_dim, self.out_dim = in_dim, out_dim

    def forward(self, x):
        return torch.sin(x @ self.w.to(x) + 0.3) @ self.v.to(x)         # (N, out)


def _meets(constraints: Constraints, condition: Condition, names, spatial_axes, outputs) -> bool:
    """Whether the transform around a stand-in network meets ``condition`` to round-off."""
    model = constraints.wrap(_Probe(constraints.input_dim, len(outputs)))
    points = condition.sample(constraints.domain, 64, "uniform", 0)
    make = lambda x: Field(model, x.to(torch.float64), names, spatial_axes, backend="autograd",  # noqa: E731
                           outputs=outputs)
    residual = condition.residual(make, points).detach()
    scale = 1.0 + float(model(points.points.to(torch.float64)).detach().abs().max())
    return bool(torch.isfinite(residual).all()) and float(residual.abs().max()) <= 1e-8 * scale


def _eligible(condition: Condition, domain: Domain) -> str | None:
    """Why ``condition`` cannot be built in on ``domain`` (None when it can be tried)."""
    if condition.component is not None:
        return "it applies to one component only"
    if not is_differentiable(getattr(condition, "value", None)):
        return ("its value is a kp.numpy_function, which has no derivatives, and a built-in value's derivatives "
                "enter the residual (write it with torch functions to build it in)")
    if isinstance(condition, Dirichlet):
        if callable(condition.on):
            return "its on= predicate gives no distance function (name a side instead)"
        try:
            boundary_factor(domain, None if condition.on is None else [condition.on])
        except ValueError as err:
            return str(err)
        return None
    if isinstance(condition, Initial):
        return None if condition.derivative <= 1 else "only u and du/dt at t0 can be built in"
    if isinstance(condition, Periodic):
        box = domain.spatial if isinstance(domain, SpaceTime) else domain
        return None if isinstance(box, Box) else f"the periodic embedding needs a box-like domain, got {domain!r}"
    return "only Dirichlet, Initial and Periodic conditions can be built in"


_ORDER = (Periodic, Dirichlet, Initial)  # what is tried first stays built in when two cannot both be


def plan(domain: Domain, conditions: Sequence[Condition], outputs: Sequence[str], allow: bool = True,
         features: Sequence = ()) -> Constraints:
    """Pick the conditions to build in: each ``hard=True`` one, and each ``hard="auto"`` one
    whose transform meets it exactly together with those picked before (tried in the order
    Periodic, Dirichlet, Initial u then du/dt).

    Args:
        allow: False when the problem has its own ``transform``: nothing is built in.
        features: extra network inputs, passed to :class:`Constraints`.

    Raises:
        ValueError: a ``hard=True`` condition that cannot be built in (with the reason).
    """
    names, spatial = domain.names, domain.spatial_axes
    ranked = sorted((c for c in conditions if getattr(c, "hard", False) is not False),
                    key=lambda c: (next(i for i, t in enumerate(_ORDER) if isinstance(c, t)) if isinstance(c, _ORDER)
                                   else len(_ORDER), getattr(c, "derivative", 0)))
    chosen, reasons = _choose(domain, ranked, names, spatial, outputs, allow, features)
    left = [(c, r) for c, r in reasons if isinstance(c, Dirichlet)]
    if left and any(isinstance(c, Dirichlet) for c in chosen):
        # all Dirichlet sides built in, or none: a half-hard, half-soft split trains badly
        forced = [c for c in chosen if isinstance(c, Dirichlet) and c.hard is True]
        if not forced:
            ranked = [c for c in ranked if not isinstance(c, Dirichlet)]
            chosen, _ = _choose(domain, ranked, names, spatial, outputs, allow, features)
        kept = "the hard=True ones stay built in" if forced else "none is built in"
        warnings.warn(f"Dirichlet conditions on several sides: {len(left)} cannot be built in "
                      f"({'; '.join(f'{_label(c)}: {r}' for c, r in left)}), so {kept}; the others are loss terms",
                      stacklevel=2)
    elif len(left) >= 2 and all(c.component is None for c, _ in left):
        warnings.warn(f"Dirichlet conditions on several sides stay loss terms: none can be built in "
                      f"({'; '.join(f'{_label(c)}: {r}' for c, r in left)})", stacklevel=2)
    return Constraints(domain, chosen, len(outputs), features)


def soft_reasons(domain: Domain, soft: Sequence[Condition]) -> dict[str, str]:
    """Why each Dirichlet condition of ``soft`` (the problem's loss-term conditions) is not built in, by
    its label: the domain's reason (no distance function for it), ``hard=False``, or the all-or-none rule."""
    out = {}
    for condition in soft:
        if isinstance(condition, Dirichlet):
            out[_label(condition)] = "hard=False" if condition.hard is False else (
                _eligible(condition, domain) or "the other Dirichlet sides could not be built in (all or none)")
    return out


def _label(condition: Condition) -> str:
    on = condition.on
    return f"{type(condition).__name__}(on={on if on is None or isinstance(on, str) else 'a predicate'})"


def _choose(domain, ranked, names, spatial, outputs, allow, features):
    """The conditions of ``ranked`` that can be built in, in order, and ``(condition, reason)`` for the rest."""
    chosen: list[Condition] = []
    reasons: list[tuple[Condition, str]] = []
    for condition in ranked:
        reason = _eligible(condition, domain) if allow else "the problem has its own transform="
        if reason is None and isinstance(condition, Initial) and condition.derivative == 1 \
                and not any(isinstance(c, Initial) and c.derivative == 0 for c in chosen):
            reason = "du/dt at t0 is built in only together with u at t0"
        if reason is None:
            try:
                trial = Constraints(domain, chosen + [condition], len(outputs), features)
                if not all(_meets(trial, c, names, spatial, outputs) for c in chosen + [condition]):
                    reason = "its data and the conditions already built in do not fit together exactly"
            except ValueError as err:
                reason = str(err)
        if reason is None:
            chosen.append(condition)
        elif condition.hard is True:
            raise ValueError(f"{type(condition).__name__}(hard=True) cannot be built in: {reason}; "
                             "give hard='auto' or hard=False for a loss term")
        elif allow:
            reasons.append((condition, reason))
    return chosen, reasons
