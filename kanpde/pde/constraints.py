"""Hard Dirichlet constraints: an output transform that meets the boundary data exactly.

    u(x) = g(x) + phi(x) N(x),

where ``N`` is the network, ``g`` the Dirichlet data (a number or a smooth function
defined inside the domain too) and ``phi`` a smooth function that vanishes on the
(spatial) boundary and is positive inside:

- box: ``phi = prod_i (x_i - lo_i)(hi_i - x_i) / ((hi_i - lo_i) / 2)^2``,
- disk: ``phi = (R^2 - |x - c|^2) / R^2``,
- space-time: the spatial domain's ``phi`` (the lateral boundary).

The transform keeps the jet path: derivatives of ``u`` follow from those of ``N``
(from its jet) and of ``g`` and ``phi`` (cheap closed forms, by autograd) through
the product rule ``u_ab = g_ab + phi_ab N + phi_a N_b + phi_b N_a + phi N_ab``.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .conditions import evaluate_value
from .fields import grad_or_zeros
from .geometry import Box, Disk, Domain, SpaceTime
from ..nn.kan import Jet


def boundary_factor(domain: Domain) -> Callable[[torch.Tensor], torch.Tensor]:
    """``phi(x)``: zero on the spatial boundary, positive inside, ``(N, 1)``.

    Raises:
        ValueError: for domains without a closed-form factor.
    """
    if isinstance(domain, SpaceTime):
        inner, axes = boundary_factor(domain.spatial), list(domain.spatial_axes)
        return lambda x: inner(x[:, axes])
    if isinstance(domain, Disk):
        center, radius = torch.as_tensor(domain.center), domain.radius
        return lambda x: (radius ** 2 - (x - center.to(x)).pow(2).sum(1, keepdim=True)) / radius ** 2
    if isinstance(domain, Box) and domain.time_axis is None:
        lo, hi = (torch.as_tensor(b) for b in domain.bounds)
        return lambda x: ((x - lo.to(x)) * (hi.to(x) - x) / ((hi.to(x) - lo.to(x)) / 2) ** 2).prod(1, keepdim=True)
    if hasattr(domain, "adf"):  # polygons, CSG, ellipses, balls, meshes: R-function distance (kanpde.pde.distance)
        return domain.adf()
    raise ValueError(f"hard Dirichlet constraints need a box, disk, polygon, CSG or mesh domain (or their product "
                     f"with time), got {domain!r}")


def _derivatives(fn: Callable, x: torch.Tensor, pairs, order: int):
    """Value ``(N, m)``, gradient ``(N, m, D)`` and second derivatives ``(N, m, P)`` of a cheap function."""
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


class HardDirichlet(nn.Module):
    """``u = g + phi * net`` with its own jet (see the module docstring)."""

    def __init__(self, net: nn.Module, domain: Domain, value):
        super().__init__()
        self.net, self.value = net, value
        self.factor = boundary_factor(domain)
        self.in_dim, self.out_dim = getattr(net, "in_dim", None), getattr(net, "out_dim", None)
        self.supports_jet = hasattr(net, "jet")  # an MLP inside: derivatives by autograd
        if hasattr(net, "k"):
            self.k = net.k

    def lift(self, x: torch.Tensor) -> torch.Tensor:
        return evaluate_value(self.value, x, self.out_dim or 1)          # (N, 1 or m)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lift(x) + self.factor(x) * self.net(x)

    def jet(self, x: torch.Tensor, pairs=None, order: int = 2) -> Jet:
        if not hasattr(self.net, "jet"):
            raise ValueError(f"the jet needs a network with a jet() method, got {type(self.net).__name__}")
        inner = self.net.jet(x, pairs, order)                            # N and its derivatives
        pairs = inner.pairs
        g, g1, g2 = _derivatives(self.lift, x, pairs, order)
        p, p1, p2 = _derivatives(self.factor, x, pairs, order)           # (N, 1), (N, 1, D), (N, 1, P)
        n, n1, n2 = inner.value, inner.grad, inner.second
        value = g + p * n
        grad = g1 + p1 * n.unsqueeze(-1) + p.unsqueeze(-1) * n1
        if not pairs:
            return Jet(value, grad, value.new_zeros(*value.shape, 0), pairs)
        a, b = (list(i) for i in zip(*pairs))
        second = (g2 + p2 * n.unsqueeze(-1) + p1[..., a] * n1[..., b] + p1[..., b] * n1[..., a]
                  + p.unsqueeze(-1) * n2)
        return Jet(value, grad, second, pairs)
