"""Kolmogorov-Arnold Networks with an analytic derivative ("jet") forward pass.

A KAN layer maps ``x in R^in`` to ``y in R^out`` by a learnable 1-D function on
every edge, summed at the nodes (Liu et al. 2024, arXiv 2404.19756):

    y_o = b_o + sum_i phi_io(x_i),   phi_io(x) = w_b[i, o] silu(x) + w_s[i, o] S_io(x),

where ``S_io`` is a B-spline of degree ``k`` on a uniform grid of ``G`` intervals
(see :mod:`kanpde.nn.splines`; outside its grid range it continues linearly).

The jet pass carries first and second input-derivatives through the layers with
the closed-form derivatives of ``phi``, so a PDE residual needs no nested autograd:

    dy_o/dz_a        = sum_i phi'_io dx_i/dz_a
    d2y_o/dz_a dz_b  = sum_i phi''_io dx_i/dz_a dx_i/dz_b + phi'_io d2x_i/dz_a dz_b

Each layer's jet is one autograd node (:class:`kanpde.nn.jet._LayerJet`) with a
hand-written backward, working on points-last tensors; the jet value type and its
machinery live in :mod:`kanpde.nn.jet`. ``scripts/bench_derivatives.py`` times it
against nested autograd.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from ..checks import check_float, check_int, check_widths, largest_width
from ..memory import check_fits
from . import native
from .jet import Jet, Pair, _LayerJet, _NativeLayerJet, _silu_derivatives, normalize_pairs
from .network import Network, seeded
from .pykan import from_pykan, to_pykan
from .splines import cell_table, derivative_table, fit_coefficients, spline_jet, spline_values


class KANLayer(nn.Module):
    """One KAN layer: ``in_dim * out_dim`` learnable edge functions.

    Args:
        in_dim, out_dim: widths.
        grid: number of grid intervals G.
        k: spline degree.
        grid_range: ``(lo, hi)`` of the grid, shared by all inputs or one pair per input.
        noise_scale: spread of the random initial spline coefficients.
        base_scale: spread of the SiLU weights is ``base_scale / sqrt(in_dim)``, like a linear layer.
    """

    def __init__(self, in_dim: int, out_dim: int, grid: int = 5, k: int = 3,
                 grid_range=(-1.0, 1.0), noise_scale: float = 0.1, base_scale: float = 1.0):
        super().__init__()
        self.in_dim, self.out_dim, self.grid, self.k = in_dim, out_dim, grid, k
        lo, hi = _per_input_range(grid_range, in_dim)
        self.register_buffer("lo", lo)
        self.register_buffer("hi", hi)
        bound = 1.0 / in_dim ** 0.5
        self.coef = nn.Parameter((torch.rand(in_dim, out_dim, grid + k) - 0.5) * noise_scale)  # (in, out, G+k)
        self.scale_base = nn.Parameter((2 * torch.rand(in_dim, out_dim) - 1) * base_scale * bound)  # (in, out)
        self.scale_spline = nn.Parameter(torch.full((in_dim, out_dim), bound))  # (in, out)
        self.bias = nn.Parameter(torch.zeros(out_dim))  # (out,)

    def extra_repr(self) -> str:
        return f"in_dim={self.in_dim}, out_dim={self.out_dim}, grid={self.grid}, k={self.k}"

    def edge_values(self, x: torch.Tensor, order: int = 0, fused: bool = False) -> list[torch.Tensor]:
        """``phi_io`` and its x-derivatives on every edge.

        Args:
            fused: use the once-differentiable fused spline kernel (jet path).

        Returns:
            ``[phi, phi', ..]`` up to ``order``, each ``(N, in, out)``; the bias is not included.
        """
        evaluate = spline_jet if fused else spline_values
        coef = self.coef * self.scale_spline.unsqueeze(-1)             # (in, out, G+k)
        splines = evaluate(x, coef, self.lo, self.hi, self.grid, self.k, order).unbind(-2)
        bases = _silu_derivatives(x, order)
        return [s + b.unsqueeze(-1) * self.scale_base for s, b in zip(splines, bases)]  # (N, in, out) each

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.edge_values(x)[0].sum(1) + self.bias                # (N, out)

    def jet(self, x: torch.Tensor, dx: torch.Tensor | None, d2x: torch.Tensor | None,
            pairs: tuple[Pair, ...], order: int = 2):
        """Push value, first and second derivatives through the layer.

        Args:
            x: ``(N, in)`` layer inputs.
            dx: ``(N, in, D)`` their derivatives, or ``None`` when x are the network inputs.
            d2x: ``(N, in, P)`` second derivatives for ``pairs``, or ``None`` (inputs).
            order: 1 skips second derivatives.

        Returns:
            ``(y (N, out), dy (N, out, D), d2y (N, out, P) or None)``.
        """
        def points_last(t):
            return None if t is None else t.permute(2, 1, 0).contiguous()
        y, dy, d2y = self._jet(x.T.contiguous(), points_last(dx), points_last(d2x) if order >= 2 else None,
                               pairs, order)
        return y.T, dy.permute(2, 1, 0), (d2y.permute(2, 1, 0) if order >= 2 else None)

    def _jet(self, x, dx, d2x, pairs, order):
        """:meth:`jet` on points-last tensors: x ``(in, N)``, dx ``(D, in, N)``, d2x ``(P, in, N)``; same layout out."""
        coef = self.coef * self.scale_spline.unsqueeze(-1)             # (in, out, G+k)
        if native.usable(x, self.k, pairs):
            table = cell_table(coef, self.lo, self.hi, self.grid, self.k)  # (in, G, out, k+1)
            return _NativeLayerJet.apply(x, dx, d2x, table, self.scale_base, self.bias,
                                         self.lo, self.hi, self.grid, self.k, pairs, order)
        table = derivative_table(coef, self.lo, self.hi, self.grid, self.k)  # ((k+1)*out, in*G)
        return _LayerJet.apply(x, dx, d2x, table, self.scale_base, self.bias,
                               self.lo, self.hi, self.grid, self.k, pairs, order)

    @torch.no_grad()
    def set_grid(self, lo: torch.Tensor, hi: torch.Tensor, grid: int) -> None:
        """Move to the grid ``grid`` on ``[lo, hi]`` keeping the spline by least squares.

        The old spline (linear continuation included) is sampled densely on the new
        range and refitted; when the new grid nests the old one on the same range
        the fit reproduces it to round-off.
        """
        lo = lo.to(self.lo)
        hi = hi.to(self.hi)
        n = max(4 * (grid + self.k), 64)
        t = torch.linspace(0, 1, n, dtype=lo.dtype, device=lo.device).unsqueeze(1)
        x = lo + t * (hi - lo)                                          # (n, in)
        old = spline_values(x, self.coef, self.lo, self.hi, self.grid, self.k)[:, :, 0]  # (n, in, out)
        self.coef = nn.Parameter(fit_coefficients(x, old, lo, hi, grid, self.k))
        self.lo.copy_(lo)
        self.hi.copy_(hi)
        self.grid = grid


def _per_input_range(grid_range, in_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    try:
        r = torch.as_tensor(grid_range, dtype=torch.get_default_dtype())
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"expected grid_range as numbers (lo, hi), got {grid_range!r:.60}") from None
    if r.shape == (2,):
        r = r.expand(in_dim, 2)
    if r.shape != (in_dim, 2) or not torch.all(r[:, 1] > r[:, 0]) or not bool(torch.isfinite(r).all()):
        raise ValueError(f"expected grid_range (lo, hi) finite with hi > lo, or {in_dim} such pairs, got {grid_range!r}")
    return r[:, 0].clone(), r[:, 1].clone()


@dataclass
class Tap:
    """One layer's evaluation, points-last: its input jet and its outputs ``(y, dy, d2y)``
    (``(y,)`` for a plain forward, points first), recorded while :attr:`KAN.taps` is a list."""

    layer: KANLayer
    x: torch.Tensor
    dx: torch.Tensor | None
    d2x: torch.Tensor | None
    pairs: tuple[Pair, ...]
    order: int
    outputs: tuple[torch.Tensor, ...]
    points_first: bool = False


class KAN(Network):
    """A Kolmogorov-Arnold Network ``[n_0, n_1, .., n_L]``.

    Args:
        widths: layer widths, input first, e.g. ``[2, 10, 1]``.
        grid: grid intervals per edge spline.
        k: spline degree (3 = cubic). Second derivatives need ``k >= 2``.
        grid_range: initial grid range of every layer, ``(lo, hi)``; the first
            layer also accepts one pair per input (e.g. a domain's bounding box).
        noise_scale: spread of the random initial spline coefficients.
        base_scale: scale of the SiLU weights relative to a linear layer's.
        seed: makes the initialisation reproducible.

    Raises:
        TypeError, ValueError: for widths, grid or k that are not positive integers.
    """

    taps: list | None = None  # a list while per-point Jacobians are assembled (see Tap)

    def __init__(self, widths: Sequence[int], grid: int = 5, k: int = 3, grid_range=(-1.0, 1.0),
                 noise_scale: float = 0.1, base_scale: float = 1.0, seed: int | None = None):
        super().__init__()
        widths = check_widths("widths", widths)
        grid, k = check_int("grid", grid, 1), check_int("k", k, 0)
        noise_scale = check_float("noise_scale", noise_scale, 0.0)
        base_scale = check_float("base_scale", base_scale, 0.0)
        seed = check_int("seed", seed, 0, allow_none=True)
        check_fits(sum(i * o * (grid + k + 2) for i, o in zip(widths[:-1], widths[1:])),
                   f"KAN(widths={widths}, grid={grid}) (largest: {largest_width('widths', widths)})")
        self.widths = widths
        with seeded(seed):
            self.layers = nn.ModuleList(
                KANLayer(i, o, grid, k, grid_range if n == 0 else _first_pair(grid_range), noise_scale, base_scale)
                for n, (i, o) in enumerate(zip(widths[:-1], widths[1:])))
        self._initialised(KAN, seed, dict(widths=widths, grid=grid, k=k, grid_range=grid_range,
                                          noise_scale=noise_scale, base_scale=base_scale))

    @property
    def grid(self) -> int:
        return self.layers[0].grid

    @property
    def k(self) -> int:
        return self.layers[0].k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Network output ``(N, out)`` at inputs ``x`` ``(N, in)``."""
        self.check_input(x)
        for layer in self.layers:
            inputs, x = x, layer(x)
            if self.taps is not None:
                self.taps.append(Tap(layer, inputs.T, None, None, (), 0, (x,), points_first=True))
        return x

    def jet(self, x: torch.Tensor, pairs: Sequence[Sequence[int]] | None = None, order: int = 2) -> Jet:
        """Output with its first and second input-derivatives, without nested autograd.

        Args:
            x: ``(N, in)`` inputs.
            pairs: second derivatives wanted, as input index pairs ``(a, b)``;
                default all pure ones ``(a, a)``.
            order: 1 computes first derivatives only.

        Returns:
            :class:`Jet` with value ``(N, out)``, grad ``(N, out, in)``, second ``(N, out, P)``.

        Raises:
            ValueError: second derivatives of splines of degree k < 2 (their
                second derivative is a sum of Dirac deltas), or bad pairs.
        """
        self.check_input(x)
        if order not in (1, 2):
            raise ValueError(f"jet order must be 1 or 2, got {order!r}")
        pairs = normalize_pairs(pairs, self.in_dim) if order == 2 else ()
        if order == 2 and not pairs:  # an empty list of pairs asks for no second derivative
            order = 1
        if order == 2 and self.k < 2:
            raise ValueError(f"second derivatives need spline degree k >= 2, got k={self.k}")
        y, dy, d2y = x.T.contiguous(), None, None                       # points-last: (width, N)
        for layer in self.layers:
            inputs = (y, dy, d2y)
            y, dy, d2y = layer._jet(y, dy, d2y, pairs, order)
            if self.taps is not None:  # per-point Jacobians (kanpde.train.jacobian) read each layer's jet
                self.taps.append(Tap(layer, *inputs, pairs, order, (y, dy, d2y)))
        return Jet(y.T, dy.permute(2, 1, 0), d2y.permute(2, 1, 0), pairs)

    @torch.no_grad()
    def update_grid(self, x: torch.Tensor, margin: float = 0.0, layers: int | None = None,
                    grow_only: bool = False, reduce=None) -> "KAN":
        """Fit the layers' grid ranges to the activations seen on samples ``x``.

        Each layer's range becomes ``[min, max]`` of its inputs over ``x`` (widened by
        ``margin`` times the span), and its splines are refitted by least squares so
        the network function is kept (to the accuracy of the new grid).

        Args:
            layers: update only this many leading layers (``1``: just the input range).
            grow_only: only ever widen a range (to cover activations that left it), so a
                layer whose activations stay inside keeps its splines exactly.
            reduce: ``reduce(lo, hi) -> (lo, hi)`` turns this process's activation range into
                the global one (data-parallel ranks: all-reduced min / max).
        """
        self.check_input(x)
        for layer in self.layers[:layers]:
            fit_range(layer, x, margin, grow_only, reduce)
            x = layer(x)
        return self

    @classmethod
    def from_pykan(cls, model) -> "KAN":
        """The KAN of a pykan ``MultKAN`` (exact on uniform grids; see :mod:`kanpde.nn.pykan`)."""
        return from_pykan(model, cls)

    def to_pykan(self):
        """This KAN as a pykan ``MultKAN`` (needs pykan; see :mod:`kanpde.nn.pykan`)."""
        return to_pykan(self)

    @torch.no_grad()
    def refine(self, new_grid: int) -> "KAN":
        """Grid extension: move every layer to ``new_grid`` intervals keeping the function.

        Exact to round-off when the new grid nests the old one (5 -> 10 -> 20);
        least squares otherwise. Changes the model in place and returns it;
        optimiser state for the spline coefficients must be rebuilt.
        """
        new_grid = check_int("new_grid", new_grid, 1)
        for layer in self.layers:
            layer.set_grid(layer.lo, layer.hi, new_grid)
        return self


@torch.no_grad()
def fit_range(layer: KANLayer, x: torch.Tensor, margin: float = 0.0, grow_only: bool = False, reduce=None) -> None:
    """Move ``layer``'s grid to ``[min, max]`` of its inputs ``x`` ``(N, in)`` widened by ``margin`` times the span
    (see :meth:`KAN.update_grid`); with ``grow_only`` a range only widens, and an unchanged one keeps its spline."""
    lo, hi = x.min(0).values, x.max(0).values
    if reduce is not None:
        lo, hi = reduce(lo, hi)
    span = (hi - lo).clamp_min(1e-6)
    lo, hi = lo - margin * span, hi + margin * span
    if grow_only:
        lo, hi = torch.minimum(lo, layer.lo), torch.maximum(hi, layer.hi)
        if torch.equal(lo, layer.lo) and torch.equal(hi, layer.hi):
            return
    layer.set_grid(lo, hi, layer.grid)


def _first_pair(grid_range):
    """The range hidden layers start with: the first pair when per-input ranges were given."""
    r = torch.as_tensor(grid_range)
    return tuple(r.tolist()) if r.ndim == 1 else (float(r[:, 0].min()), float(r[:, 1].max()))
