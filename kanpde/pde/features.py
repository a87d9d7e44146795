"""Extra network inputs: ``u(x) = N(x, f_1(x), ..., f_K(x))``.

Known functions of the coordinates, e.g. the corner singular functions of
:mod:`kanpde.pde.singular`, enter the network as inputs beside x, so that a smooth network
can follow a non-smooth solution through them. With the inputs ``E = (x, f(x))`` (F = D + K
of them), the jet stays exact by the chain rule

    u_a  = sum_i N_i E_i,a,
    u_ab = sum_ij N_ij E_i,a E_j,b + sum_i N_i E_i,ab,

with N's own jet over the pairs of its inputs that these need, and the features' derivatives by autograd
(cheap closed forms).
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

from ..nn.jet import Jet, requested_pairs
from .fields import function_derivatives
from .functions import call_points, check_differentiable


def check_features(features, dim: int) -> tuple[Callable, ...]:
    """``features`` as a tuple of functions ``f(x) -> (N, 1)`` (None or empty: none).

    Raises:
        TypeError: not a list of callables.  ValueError: a feature that is not ``(N, 1)`` and finite, or a
        :func:`~kanpde.pde.functions.numpy_function` (no derivatives for the chain rule).
    """
    if features is None:
        return ()
    if callable(features):
        features = [features]
    if not isinstance(features, (list, tuple)) or not all(callable(f) for f in features):
        raise TypeError(f"features must be a list of functions f(x) -> (N, 1), got {features!r:.80}")
    probe = torch.rand(4, dim, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for i, f in enumerate(features):
        check_differentiable(f, f"features[{i}]", "the network's derivatives take the feature's by the chain rule")
        call_points(f, probe, f"features[{i}]", columns=1)
    return tuple(features)


class FeatureEmbedding(nn.Module):
    """``u(x) = net(x, f_1(x), ..., f_K(x))`` with its own jet (see the module docstring).

    Args:
        net: the network, taking ``dim + len(features)`` inputs.
        dim: the number of coordinates D.
        features: functions ``f(x) -> (N, 1)``, twice differentiable in the domain.
    """

    def __init__(self, net: nn.Module, dim: int, features: Sequence[Callable]):
        super().__init__()
        self.net, self.dim, self.functions = net, dim, tuple(features)
        self.in_dim, self.out_dim = dim, getattr(net, "out_dim", None)
        self.supports_jet = hasattr(net, "jet") and getattr(net, "supports_jet", True)
        if hasattr(net, "k"):
            self.k = net.k

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        """What the network sees, ``(N, D + K)``."""
        return torch.cat([x] + [f(x) for f in self.functions], dim=1)

    def features(self, x: torch.Tensor, pairs, order: int):
        """The inputs E ``(N, F)``, their gradients ``(N, F, D)`` and second derivatives ``(N, F, P)``."""

        n, dim = x.shape[0], x.shape[1]
        value, grad, second = function_derivatives(lambda z: torch.cat([f(z) for f in self.functions], dim=1), x, pairs, order)
        eye = torch.eye(dim, dtype=x.dtype, device=x.device).expand(n, dim, dim)    # dx_a/dx_b
        zeros = x.new_zeros(n, dim, len(pairs))
        return (torch.cat([x, value], 1), torch.cat([eye, grad], 1),             # (N, F), (N, F, D)
                torch.cat([zeros, second], 1))                                    # (N, F, P)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.inputs(x))

    def jet(self, x: torch.Tensor, pairs=None, order: int = 2) -> Jet:
        dim = x.shape[1]
        pairs = requested_pairs(pairs, dim, order)
        e, e1, e2 = self.features(x, pairs, 2 if pairs else 1)
        width = e.shape[1]
        if not pairs:
            inner = self.net.jet(e, order=1)
            grad = torch.einsum("noi,nia->noa", inner.grad, e1)                  # (N, out, D)
            return Jet(inner.value, grad, inner.value.new_zeros(*inner.value.shape, 0), ())
        support = [[a] + list(range(dim, width)) for a in range(dim)]   # the inputs that move with x_a
        inner_pairs = sorted({(min(i, j), max(i, j)) for a, b in pairs for i in support[a] for j in support[b]})
        inner = self.net.jet(e, inner_pairs, order=2)
        index = {q: k for k, q in enumerate(inner.pairs)}
        grad = torch.einsum("noi,nia->noa", inner.grad, e1)                      # (N, out, D)
        second = []
        for p, (a, b) in enumerate(pairs):
            total = torch.einsum("noi,ni->no", inner.grad, e2[..., p])            # sum_i N_i E_i,ab
            for i in support[a]:
                for j in support[b]:
                    nij = inner.second[..., index[(min(i, j), max(i, j))]]       # (N, out)
                    total = total + nij * (e1[:, i, a] * e1[:, j, b]).unsqueeze(1)
            second.append(total)
        second = torch.stack(second, dim=-1)                                     # (N, out, P)
        return Jet(inner.value, grad, second, pairs)
