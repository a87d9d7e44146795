"""Exactly periodic input embedding: ``u(x) = N(E(x))``.

A periodic coordinate ``x_a`` on ``[lo, hi]`` (period ``L = hi - lo``) enters the
network only through

    E_a(x) = (cos(2 pi k (x_a - lo) / L), sin(2 pi k (x_a - lo) / L)),  k = 1..K,

so u and all its derivatives are periodic in ``x_a`` by construction; the other
coordinates pass through unchanged. The network therefore takes ``D + (2K - 1)``
inputs per periodic coordinate.

The jet stays exact: with features ``e_i`` of one input each (``e_i'``, ``e_i''``
their derivatives), the chain rule gives

    u_a  = sum_{i in F(a)} N_i e_i',
    u_ab = sum_{i in F(a), j in F(b)} N_ij e_i' e_j' + [a = b] sum_{i in F(a)} N_i e_i''.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..nn.jet import Jet, requested_pairs


class PeriodicEmbedding(nn.Module):
    """``u(x) = net(E(x))`` for the periodic axes ``{axis: (lo, hi)}`` with ``harmonics`` K.

    Args:
        net: the network, taking :func:`embedded_dim` inputs.
        dim: the number of coordinates D.
        periodic: ``{axis: (lo, hi)}``.
        harmonics: K, the number of cos/sin pairs per periodic axis.
    """

    def __init__(self, net: nn.Module, dim: int, periodic: dict[int, tuple[float, float]], harmonics: int = 1):
        super().__init__()
        self.net, self.periodic, self.harmonics = net, dict(periodic), harmonics
        self.in_dim, self.out_dim = dim, getattr(net, "out_dim", None)
        self.supports_jet = hasattr(net, "jet") and getattr(net, "supports_jet", True)
        if hasattr(net, "k"):
            self.k = net.k
        # feature f comes from input source[f]; its angular frequency is omega[f] (0: passed through)
        self.source, self.omega, self.phase = [], [], []
        for a in range(dim):
            if a in self.periodic:
                lo, hi = self.periodic[a]
                for k in range(1, harmonics + 1):
                    w = 2 * math.pi * k / (hi - lo)
                    self.source += [a, a]
                    self.omega += [w, w]
                    self.phase += ["cos", "sin"]
            else:
                self.source.append(a)
                self.omega.append(0.0)
                self.phase.append("id")

    def features(self, x: torch.Tensor):
        """``E(x)`` ``(N, F)`` and its first and second derivatives along each feature's input, ``(N, F)`` each."""
        e, d1, d2 = [], [], []
        for a, w, kind in zip(self.source, self.omega, self.phase):
            xa = x[:, a]
            if kind == "id":
                e.append(xa)
                d1.append(torch.ones_like(xa))
                d2.append(torch.zeros_like(xa))
                continue
            lo = self.periodic[a][0]
            c, s = torch.cos(w * (xa - lo)), torch.sin(w * (xa - lo))
            e.append(c if kind == "cos" else s)
            d1.append(-w * s if kind == "cos" else w * c)
            d2.append(-w * w * (c if kind == "cos" else s))
        return torch.stack(e, 1), torch.stack(d1, 1), torch.stack(d2, 1)  # (N, F) each

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        """What the network sees, ``E(x)`` ``(N, F)`` (as :meth:`kanpde.pde.features.FeatureEmbedding.inputs`)."""
        return self.features(x)[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.inputs(x))

    def jet(self, x: torch.Tensor, pairs=None, order: int = 2) -> Jet:
        dim = x.shape[1]
        pairs = requested_pairs(pairs, dim, order)
        e, e1, e2 = self.features(x)                                     # (N, F)
        groups = [[f for f, s in enumerate(self.source) if s == a] for a in range(dim)]
        inner_pairs = sorted({(min(i, j), max(i, j)) for a, b in pairs for i in groups[a] for j in groups[b]})
        inner = self.net.jet(e, inner_pairs, order=2) if inner_pairs else self.net.jet(e, order=1)
        n1 = inner.grad * e1.unsqueeze(1)                                # (N, out, F): N_i e_i'
        grad = torch.stack([n1[..., g].sum(-1) for g in groups], dim=-1)  # (N, out, D)
        if not pairs:
            return Jet(inner.value, grad, inner.value.new_zeros(*inner.value.shape, 0), ())
        index = {p: k for k, p in enumerate(inner.pairs)}
        second = []
        for a, b in pairs:
            total = 0
            for i in groups[a]:
                for j in groups[b]:
                    nij = inner.second[..., index[(min(i, j), max(i, j))]]  # (N, out)
                    total = total + nij * (e1[:, i] * e1[:, j]).unsqueeze(1)
            if a == b:
                total = total + (inner.grad[..., groups[a]] * e2[:, groups[a]].unsqueeze(1)).sum(-1)
            second.append(total)
        return Jet(inner.value, grad, torch.stack(second, dim=-1), pairs)  # second (N, out, P)


def embedded_dim(dim: int, periodic_axes: int, harmonics: int) -> int:
    """The network's input width: each periodic axis becomes 2K features."""
    return dim + periodic_axes * (2 * harmonics - 1)
