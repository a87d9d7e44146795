"""SymbolicKAN: a KAN whose edges are closed-form functions where snapped, splines elsewhere.

Every edge of layer l carries either its spline (as in :class:`kanpde.KAN`) or

    phi_io(x) = c f(a x + b) + d

with ``f`` from the library (:mod:`kanpde.symbolic.library`) and trainable ``(a, b, c, d)``;
nodes sum their edges plus the layer bias. Derivatives come from autograd (no jet), so the
trainer can fine-tune the snapped parameters on the PDE loss.
"""

from __future__ import annotations

import copy

import sympy as sp
import torch
from torch import nn

from ..nn.kan import KAN, fit_range
from ..nn.network import Network
from .library import Candidate, EdgeFit, resolve_library


class SymbolicKAN(Network):
    """A copy of a trained KAN whose edges can be snapped to library functions.

    Args:
        kan: the trained :class:`kanpde.KAN` (copied; it is not changed).
        library: candidate functions (see :func:`kanpde.symbolic.library.resolve_library`).

    Attributes:
        functions: ``functions[l][i][o]``, the library name of edge ``(i, o)`` of layer ``l``,
            or None while it is a spline.
        affine: per layer ``(in, out, 4)`` parameters ``(a, b, c, d)``.
    """

    def __init__(self, kan: KAN, library=None):
        super().__init__()
        if not isinstance(kan, KAN):
            raise TypeError(f"SymbolicKAN needs a kanpde.KAN, got {type(kan).__name__}")
        self.widths = list(kan.widths)
        self.library: dict[str, Candidate] = resolve_library(library)
        self.layers = nn.ModuleList(copy.deepcopy(layer) for layer in kan.layers)
        ref = kan.layers[0].coef
        self.affine = nn.ParameterList(
            nn.Parameter(torch.zeros(layer.in_dim, layer.out_dim, 4, dtype=ref.dtype, device=ref.device))
            for layer in kan.layers)                                   # (in, out, 4) each: a, b, c, d
        self.functions: list[list[list[str | None]]] = [
            [[None] * layer.out_dim for _ in range(layer.in_dim)] for layer in kan.layers]
        self.fits: dict[tuple[int, int, int], EdgeFit] = {}

    # -- edges -----------------------------------------------------------------------------------

    def splines_left(self) -> list[tuple[int, int, int]]:
        """The edges ``(layer, in, out)`` that are still splines."""
        return [(l, i, o) for l, rows in enumerate(self.functions) for i, row in enumerate(rows)
                for o, name in enumerate(row) if name is None]

    @torch.no_grad()
    def set_function(self, layer: int, i: int, o: int, fit: EdgeFit) -> None:
        """Snap edge ``(i, o)`` of ``layer`` to ``fit.name`` with parameters ``fit.params``.

        Raises:
            ValueError: an edge index out of range or a name not in the library.
        """
        if not (0 <= layer < len(self.layers) and 0 <= i < self.layers[layer].in_dim
                and 0 <= o < self.layers[layer].out_dim):
            raise ValueError(f"no edge ({layer}, {i}, {o}) in a KAN of widths {self.widths}")
        if fit.name not in self.library:
            raise ValueError(f"unknown function {fit.name!r}. Pick one of {tuple(self.library)}")
        self.functions[layer][i][o] = fit.name
        self.affine[layer][i, o] = torch.tensor(fit.params, dtype=self.affine[layer].dtype)
        self.fits[(layer, i, o)] = fit
        if all(name is not None for row in self.functions[layer] for name in row):
            spline = self.layers[layer]  # no spline left: only the bias is still used
            for p in (spline.coef, spline.scale_base, spline.scale_spline):
                p.requires_grad_(False)

    def _has_splines(self, layer: int) -> bool:
        return any(name is None for row in self.functions[layer] for name in row)

    @property
    def grid(self) -> int:
        """The finest grid among the layers that still have spline edges (the trainer's ``grid=`` check)."""
        return max((layer.grid for l, layer in enumerate(self.layers) if self._has_splines(l)),
                   default=self.layers[0].grid)

    @torch.no_grad()
    def refine(self, new_grid: int) -> "SymbolicKAN":
        """Grid extension of the spline edges left (see :meth:`kanpde.KAN.refine`); snapped layers keep theirs."""
        for l, layer in enumerate(self.layers):
            if self._has_splines(l):
                layer.set_grid(layer.lo, layer.hi, new_grid)
        return self

    @torch.no_grad()
    def update_grid(self, x: torch.Tensor, margin: float = 0.0, layers: int | None = None,
                    grow_only: bool = False, reduce=None) -> "SymbolicKAN":
        """Fit the grid ranges of the layers with spline edges left to their inputs at network inputs ``x``
        (see :meth:`kanpde.KAN.update_grid`): after snapping an earlier layer, a spline's inputs can span
        far less (or more) than its grid, which then resolves the function coarsely.

        Args:
            layers: update only this many of the leading layers with spline edges (the trainer's 1 before
                training: the first spline layer, whose inputs come through snapped functions only).
        """
        self.check_input(x)
        left = len(self.layers) if layers is None else layers
        for l, layer in enumerate(self.layers):
            if left <= 0:
                break
            if self._has_splines(l):
                fit_range(layer, x, margin, grow_only, reduce)
                left -= 1
            x = self._layer(l, x)
        return self

    def edge_values(self, layer: int, x: torch.Tensor) -> torch.Tensor:
        """Every edge's value at the layer inputs ``x`` ``(N, in)``: ``(N, in, out)``, bias excluded."""
        names = self.functions[layer]
        spline = self.layers[layer]
        splines = spline.edge_values(x)[0] if any(n is None for row in names for n in row) else None  # (N, in, out)
        params = self.affine[layer]
        columns = []
        for i, row in enumerate(names):
            for o, name in enumerate(row):
                if name is None:
                    columns.append(splines[:, i, o])
                else:
                    a, b, c, d = params[i, o]
                    columns.append(c * self.library[name].torch_fn(a * x[:, i] + b) + d)  # (N,)
        return torch.stack(columns, 1).view(x.shape[0], spline.in_dim, spline.out_dim)

    def layer_inputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The inputs of every layer at network inputs x, ``[(N, n_0), (N, n_1), ..]``."""
        out = [x]
        for l in range(len(self.layers) - 1):
            out.append(self._layer(l, out[-1]))
        return out

    def _layer(self, layer: int, x: torch.Tensor) -> torch.Tensor:
        return self.edge_values(layer, x).sum(1) + self.layers[layer].bias  # (N, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        for l in range(len(self.layers)):
            x = self._layer(l, x)
        return x

    # -- sympy -----------------------------------------------------------------------------------

    def expression(self, symbols) -> list[sp.Expr]:
        """The network as sympy expressions of ``symbols`` (one per input), one per output.

        Spline edges appear as undefined functions ``S_l_i_o``; constants are sympy Floats.
        """
        if len(symbols) != self.in_dim:
            raise ValueError(f"expected {self.in_dim} input symbols, got {len(symbols)}")
        values = list(symbols)
        for l, layer in enumerate(self.layers):
            params = self.affine[l].detach().cpu().tolist()
            bias = layer.bias.detach().cpu().tolist()
            nodes = []
            for o in range(layer.out_dim):
                total = sp.Float(bias[o])
                for i in range(layer.in_dim):
                    name = self.functions[l][i][o]
                    if name is None:
                        total += sp.Function(f"S_{l}_{i}_{o}")(values[i])
                    else:
                        a, b, c, d = (sp.Float(v) for v in params[i][o])
                        total += c * self.library[name].sympy_fn(a * values[i] + b) + d
                nodes.append(total)
            values = nodes
        return values
