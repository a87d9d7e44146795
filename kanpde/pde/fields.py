"""Field: a network's output at collocation points, with derivatives on demand.

A residual function receives ``u`` and reads ``u.value``, ``u.d("x")``,
``u.d("x", "x")``, ``u.grad()``, ``u.laplacian()``, ``u.div()`` or a component
``u[i]``. Derivatives are computed once per batch and cached. Two backends stand
behind one interface:

- ``jet``: the KAN's analytic jet forward (first and second derivatives, no nested
  autograd), chosen automatically for models with a ``jet`` method;
- ``autograd``: nested ``torch.autograd.grad``, any model and any order; the jet
  backend falls back to it for third and higher derivatives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch

BACKENDS = ("auto", "jet", "autograd")


@dataclass
class DerivativeRecord:
    """What residuals asked for so far, so the next batch computes it in one jet pass."""

    order: int = 0
    pairs: set = field(default_factory=set)

    def note(self, axes: tuple[int, ...]) -> None:
        self.order = max(self.order, min(len(axes), 2))
        if len(axes) == 2:
            self.pairs.add(tuple(sorted(axes)))


def grad_or_zeros(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``d(sum y)/dx`` with a graph; zeros where y does not depend on x (a linear map's second derivative)."""
    if not y.requires_grad:
        return torch.zeros_like(x)
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=True, allow_unused=True)
    return torch.zeros_like(x) if g is None else g


def function_derivatives(fn: Callable, x: torch.Tensor, pairs, order: int):
    """Value ``(N, m)``, gradient ``(N, m, D)`` and second derivatives ``(N, m, P)`` of a cheap closed-form
    function by plain autograd (hard-constraint lifts and factors, extra input features)."""
    with torch.enable_grad():
        z = x.detach().requires_grad_(True)
        value = fn(z)                                                    # (N, m)
        grad = torch.stack([grad_or_zeros(value[:, c], z) for c in range(value.shape[1])], dim=1)  # (N, m, D)
        second = [[grad_or_zeros(grad[:, c, a], z)[:, b] for a, b in pairs] for c in range(value.shape[1])] \
            if order > 1 else []
    if second and pairs:
        second = torch.stack([torch.stack(row, dim=-1) for row in second], dim=1)  # (N, m, P)
    else:
        second = value.new_zeros(value.shape[0], value.shape[1], len(pairs))
    return value.detach(), grad.detach(), second.detach()


def _spline_degree(model) -> int | None:
    return getattr(model, "k", None)


class _Evaluation:
    """Shared per-batch cache of one model at one set of points."""

    def __init__(self, model, x: torch.Tensor, backend: str, record: DerivativeRecord):
        if backend not in BACKENDS:
            raise ValueError(f"unknown derivative backend {backend!r}. Pick one of {BACKENDS}")
        has_jet = hasattr(model, "jet") and getattr(model, "supports_jet", True)
        if backend == "jet" and not has_jet:
            raise ValueError(f"the jet backend needs a model with a jet() method (a KAN), got {type(model).__name__}")
        self.model, self.record = model, record
        self.use_jet = has_jet and backend != "autograd"
        self.x = x if self.use_jet else x.detach().requires_grad_(True)
        self._value = None
        self._jet = None
        # autograd intermediates must hang off the graph of self.x; jet results (kept in
        # _derivatives) do not, so the jet backend's third-derivative fallback needs its own cache
        self._autograd: dict[tuple[int, ...], torch.Tensor] = {}
        self._derivatives: dict[tuple[int, ...], torch.Tensor] = {}

    @property
    def value(self) -> torch.Tensor:
        if self._jet is not None:
            return self._jet.value
        if self._value is None:
            if self.use_jet and self.record.order > 0:  # derivatives will follow: one pass for all
                return self._jet_for(self.record.order, ()).value
            self._value = self.model(self.x)
        return self._value                                              # (N, out)

    def derivative(self, axes: tuple[int, ...]) -> torch.Tensor:
        """d^r u / dx_a dx_b ... for all components: ``(N, out)``."""
        key = tuple(sorted(axes))  # mixed partials commute
        if key not in self._derivatives:
            self._check_order(len(key))
            self.record.note(key)
            self._derivatives[key] = self._from_jet(key) if self.use_jet and len(key) <= 2 else self._from_autograd(key)
        return self._derivatives[key]

    def _check_order(self, order: int) -> None:
        k = _spline_degree(self.model)
        if k is not None and order > k:
            raise ValueError(
                f"a derivative of order {order} needs spline degree k >= {order}, got k={k} "
                "(the spline's derivative of that order is a sum of Dirac deltas)")

    def _jet_for(self, order: int, pair: tuple[int, ...]):
        """The cached jet if it has what is asked, else one pass with everything asked so far."""
        jet = self._jet
        if jet is not None and (order < 2 or pair in jet.pairs):
            return jet
        pairs = set(self.record.pairs) | ({pair} if pair else set()) | set(jet.pairs if jet else ())
        self._jet = self.model.jet(self.x, sorted(pairs), order=2) if pairs else self.model.jet(self.x, order=1)
        return self._jet

    def _from_jet(self, axes: tuple[int, ...]) -> torch.Tensor:
        if len(axes) == 1:
            return self._jet_for(1, ()).grad[:, :, axes[0]]
        jet = self._jet_for(2, axes)                                    # axes come sorted
        return jet.second[:, :, jet.pairs.index(axes)]

    def _from_autograd(self, axes: tuple[int, ...]) -> torch.Tensor:
        if not axes:
            return self.value
        if axes not in self._autograd:
            if not self.x.requires_grad:  # jet backend falling back: a differentiable forward
                self.x = self.x.detach().requires_grad_(True)
                self._value = self.model(self.x)
                self._jet = None
            lower = self._from_autograd(axes[:-1])                      # (N, out)
            columns = [grad_or_zeros(lower[:, c], self.x)[:, axes[-1]] for c in range(lower.shape[1])]
            self._autograd[axes] = torch.stack(columns, dim=1)          # (N, out)
        return self._autograd[axes]


class Field:
    """The solution field at N points, one or more components.

    Args:
        model: a ``torch.nn.Module`` mapping ``(N, D)`` to ``(N, out)``.
        x: points ``(N, D)``.
        names: coordinate names, e.g. ``("x", "y", "t")``.
        spatial_axes: the axes ``grad``/``laplacian``/``div`` act on (all but time).
        backend: ``"auto"``, ``"jet"`` or ``"autograd"``.
        outputs: component names, e.g. ``("u", "v")``.
        record: shared record of requested derivatives (kept by the problem).
    """

    def __init__(self, model, x: torch.Tensor, names: Sequence[str], spatial_axes: Sequence[int] | None = None,
                 backend: str = "auto", outputs: Sequence[str] | None = None,
                 record: DerivativeRecord | None = None, _evaluation=None, _components=None):
        self.names = tuple(names)
        self.spatial_axes = tuple(range(len(self.names)) if spatial_axes is None else spatial_axes)
        self._eval = _evaluation or _Evaluation(model, x, backend, record or DerivativeRecord())
        n_out = getattr(model, "out_dim", None)
        self.outputs = tuple(outputs) if outputs is not None else None
        if self.outputs is None and n_out is not None:
            self.outputs = tuple(f"u{i}" for i in range(n_out)) if n_out > 1 else ("u",)
        self._components = _components

    @property
    def x(self) -> torch.Tensor:
        """The points, ``(N, D)``."""
        return self._eval.x

    @property
    def n_components(self) -> int:
        """How many components this field has (without evaluating it when the model says)."""
        if self._components is not None:
            return len(self._components)
        return len(self.outputs) if self.outputs is not None else self._eval.value.shape[1]

    def _select(self, values: torch.Tensor) -> torch.Tensor:
        return values if self._components is None else values[:, self._components]

    @property
    def value(self) -> torch.Tensor:
        """``u`` at the points, ``(N, components)``."""
        return self._select(self._eval.value)

    def axis(self, coordinate: str | int) -> int:
        """The index of a coordinate given by name or index."""
        if isinstance(coordinate, str):
            if coordinate not in self.names:
                raise ValueError(f"unknown coordinate {coordinate!r}. Pick one of {self.names}")
            return self.names.index(coordinate)
        if isinstance(coordinate, int) and not isinstance(coordinate, bool) and 0 <= coordinate < len(self.names):
            return coordinate
        raise ValueError(f"unknown coordinate {coordinate!r}. Pick one of {self.names} or an index 0..{len(self.names) - 1}")

    def d(self, *coordinates: str | int) -> torch.Tensor:
        """Partial derivative, e.g. ``u.d("x")``, ``u.d("x", "y")``, ``u.d(0, 0, 0)``: ``(N, components)``."""
        if not coordinates:
            return self.value
        return self._select(self._eval.derivative(tuple(self.axis(c) for c in coordinates)))

    def grad(self) -> torch.Tensor:
        """Spatial gradient of a scalar field, ``(N, n_spatial)``."""
        self._require_scalar("grad")
        return torch.cat([self.d(a) for a in self.spatial_axes], dim=1)

    def laplacian(self) -> torch.Tensor:
        """``sum_a d2u/dx_a^2`` over spatial coordinates, ``(N, components)``."""
        return sum(self.d(a, a) for a in self.spatial_axes)

    def div(self) -> torch.Tensor:
        """Divergence of a vector field with one component per spatial coordinate, ``(N, 1)``."""
        n = self.n_components
        if n != len(self.spatial_axes):
            raise ValueError(f"div() needs {len(self.spatial_axes)} components (one per spatial coordinate), got {n}")
        return sum(self[i].d(a) for i, a in enumerate(self.spatial_axes))

    def _require_scalar(self, what: str) -> None:
        n = self.n_components
        if n != 1:
            raise ValueError(f"{what}() needs a scalar field, this one has {n} components; pick one with u[i]")

    def __getitem__(self, item: int | str) -> "Field":
        """A component by output name (``u["v"]``) or by position in this field (``u[1]``)."""
        available = self.outputs or ()
        if isinstance(item, str):
            if item not in available:
                raise ValueError(f"unknown component {item!r}. Pick one of {available}")
            component = available.index(item)
        else:
            n = self.n_components
            if isinstance(item, bool) or not isinstance(item, int) or not -n <= item < n:
                raise ValueError(f"component index must be an int in 0..{n - 1} or a name in {available}, got {item!r}")
            component = (list(range(n)) if self._components is None else self._components)[item]
        return Field(None, None, self.names, self.spatial_axes, outputs=self.outputs,
                     _evaluation=self._eval, _components=[component])

    def __len__(self) -> int:
        return self._eval.x.shape[0]
