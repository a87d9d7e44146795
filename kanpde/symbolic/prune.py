"""Pruning: drop a KAN's unimportant edges and nodes, keeping its output up to what they contributed.

The importance of edge ``(i, o)`` of layer ``l`` is ``mean_n |phi_io - mean phi_io|`` on
samples, relative to the largest edge of that layer. A pruned edge becomes zero and its mean
moves into the bias of node ``o``, so the output changes only by the edge's variation. A
hidden node with no important edge coming in or none going out is removed (its outgoing
edges are then constant, or already pruned, and fold into the next biases the same way).
"""

from __future__ import annotations

import copy

import torch

from ..nn.kan import KAN
from ..nn.sparsity import edge_magnitudes


@torch.no_grad()
def _fold_edges(layer, x: torch.Tensor, drop: torch.Tensor) -> None:
    """Zero the edges ``drop`` ``(in, out)`` of ``layer`` and add their means at inputs x to the biases."""
    if not bool(drop.any()):
        return
    phi = layer.edge_values(x)[0]                                        # (N, in, out)
    layer.bias += (phi.mean(0) * drop).sum(0)
    layer.coef[drop] = 0.0
    layer.scale_base[drop] = 0.0


@torch.no_grad()
def prune_kan(model: KAN, x: torch.Tensor, threshold: float = 1e-2) -> KAN:
    """A smaller copy of ``model`` without the edges and nodes of importance below ``threshold``.

    Args:
        x: network inputs ``(N, in)`` on which importance and means are measured.
        threshold: relative to the layer's most important edge, in ``[0, 1)``.

    Raises:
        ValueError: a threshold outside ``[0, 1)``.
    """
    if not 0.0 <= threshold < 1.0:
        raise ValueError(f"threshold is relative to each layer's largest edge and must lie in [0, 1), got {threshold!r}")
    net = copy.deepcopy(model)
    scores = edge_magnitudes(net, x, centered=True)
    keep = [s >= threshold * s.max().clamp_min(1e-300) for s in scores]  # (in, out) each
    alive = [torch.ones(w, dtype=torch.bool) for w in net.widths]
    for l in range(1, len(net.widths) - 1):                              # hidden nodes
        alive[l] = keep[l - 1].any(0) & keep[l].any(1)
    inputs = x
    for l, layer in enumerate(net.layers):
        drop = ~keep[l] | ~alive[l].unsqueeze(1) | ~alive[l + 1].unsqueeze(0)
        _fold_edges(layer, inputs, drop)
        inputs = layer(inputs)
    widths = [int(a.sum()) for a in alive]
    if min(widths) == 0:
        raise ValueError(f"threshold {threshold} prunes every node of a layer (widths {widths}); lower it")
    out = KAN(widths, grid=net.grid, k=net.k).to(model.layers[0].coef)
    for l, (src, dst) in enumerate(zip(net.layers, out.layers)):
        i, o = alive[l].nonzero().squeeze(1), alive[l + 1].nonzero().squeeze(1)
        dst.coef.copy_(src.coef[i][:, o])
        dst.scale_base.copy_(src.scale_base[i][:, o])
        dst.scale_spline.copy_(src.scale_spline[i][:, o])
        dst.bias.copy_(src.bias[o])
        dst.lo.copy_(src.lo[i])
        dst.hi.copy_(src.hi[i])
    return out


def prune(model_or_solution, threshold: float = 1e-2, x=None, points: int = 2000):
    """Prune a KAN or a KAN solution (see :func:`prune_kan`).

    Args:
        model_or_solution: a :class:`kanpde.KAN` (then ``x`` is required) or a :class:`Solution`
            (importance measured on ``points`` Sobol points of its domain unless ``x`` is given).
        threshold: relative importance below which edges go.
        x: sample inputs ``(N, in)``, numpy or torch.

    Returns:
        the pruned KAN, or a new Solution holding it.

    Raises:
        TypeError: neither a KAN nor a Solution of one. ValueError: a bare KAN without ``x``.
    """
    # a Solution is duck-typed (symbolic sits below io): anything with .network and .problem
    solution = model_or_solution if hasattr(model_or_solution, "network") and hasattr(model_or_solution, "problem") \
        else None
    model = solution.network if solution is not None else model_or_solution  # N, not u
    if not isinstance(model, KAN):
        raise TypeError(f"prune needs a kanpde.KAN or a Solution of one, got {type(model).__name__}")
    ref = model.layers[0].coef
    if x is None:
        if solution is None or solution.problem is None:
            raise ValueError("prune(model, ...) of a bare KAN needs sample inputs x=(N, in)")
        x = solution.problem.domain.sample_interior(points, method="sobol", seed=3)
    x = torch.as_tensor(x).to(ref)
    if solution is not None and solution.problem is not None and x.shape[1:] == (solution.problem.dim,):
        x = solution.problem.network_inputs(x)  # points of the domain -> what the network sees
    model.check_input(x)
    pruned = prune_kan(model, x, threshold)
    if solution is None:
        return pruned
    return type(solution)(solution.problem, pruned, solution.history, solution.config, solution.parameters,
                          solution.elapsed)
