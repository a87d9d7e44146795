"""Edge importance and the KAN sparsity regulariser (Liu et al. 2024, sec. 2.5).

With ``|phi_l|_io = mean_n |phi_io(x_n)|`` the mean magnitude of edge ``(i, o)`` of layer ``l``
on samples, the regulariser is

    R = sum_l  l1 * sum_io |phi_l|_io  +  entropy * S_l,   S_l = -sum_io p_io log p_io,
    p_io = |phi_l|_io / sum_io |phi_l|_io,

which drives most edges to zero (L1) and concentrates what is left on few (entropy).
"""

from __future__ import annotations

import torch

from .kan import KAN


def edge_magnitudes(model: KAN, x: torch.Tensor, centered: bool = False) -> list[torch.Tensor]:
    """``mean_n |phi_io(x_n)|`` of every edge, per layer ``(in, out)``.

    Args:
        x: network inputs ``(N, in)``.
        centered: measure ``|phi - mean phi|`` (what pruning would lose after moving the mean to the bias).
    """
    out = []
    for layer in model.layers:
        phi = layer.edge_values(x)[0]                                   # (N, in, out)
        if centered:
            phi = phi - phi.mean(0)
        out.append(phi.abs().mean(0))                                   # (in, out)
        x = phi.sum(1) + layer.bias if not centered else layer(x)       # (N, out)
    return out


def sparsity_penalty(model: KAN, x: torch.Tensor, l1: float = 1.0, entropy: float = 2.0) -> torch.Tensor:
    """The regulariser ``R`` above at samples ``x`` (differentiable)."""
    total = x.new_zeros(())
    for scale in edge_magnitudes(model, x):
        size = scale.sum()
        p = scale / size.clamp_min(1e-12)
        total = total + l1 * size - entropy * (p * torch.log(p.clamp_min(1e-12))).sum()
    return total
