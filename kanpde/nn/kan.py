"""Kolmogorov-Arnold Networks with an analytic derivative ("jet") forward pass.

A KAN layer maps ``x in R^in`` to ``y in R^out`` by a learnable 1-D function on
every edge, summed at the nodes (Liu et al. 2024, arXiv 2404.19756):

    y_o = b_o + sum_i phi_io(x_i),   phi_io(x) = w_b[i, o] silu(x) + w_s[i, o] S_io(x),

where ``S_io`` is a B-spline of degree ``k`` on a uniform grid of ``G`` intervals
(see :mod:`kanpde.splines`; outside its grid range it continues linearly).

The jet pass carries first and second input-derivatives through the layers with
the closed-form derivatives of ``phi``, so a PDE residual needs no nested autograd:

    dy_o/dz_a        = sum_i phi'_io dx_i/dz_a
    d2y_o/dz_a dz_b  = sum_i phi''_io dx_i/dz_a dx_i/dz_b + phi'_io d2x_i/dz_a dz_b

Each layer's jet is one autograd node (:class:`_LayerJet`) with a hand-written
backward, working on points-last tensors; ``scripts/bench_derivatives.py`` times
it against nested autograd.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from ..memory import check_fits
from . import native
from .network import Network, seeded
from .scratch import recycled, scratch
from .splines import (cell_table, derivative_table, fit_coefficients, gather_polynomials, locate, spline_derivatives_,
                      spline_jet, spline_values, table_gradient)

Pair = tuple[int, int]


@dataclass
class Jet:
    """A network's output with its input derivatives at N points.

    Attributes:
        value: ``(N, out)``.
        grad: ``(N, out, D)``, ``grad[n, o, a] = d y_o / d x_a``.
        second: ``(N, out, P)``, ``second[n, o, p] = d2 y_o / d x_a d x_b`` for ``(a, b) = pairs[p]``.
        pairs: the second-derivative index pairs, ``a <= b``.
    """

    value: torch.Tensor
    grad: torch.Tensor
    second: torch.Tensor
    pairs: tuple[Pair, ...]


def _silu_derivatives(x: torch.Tensor, order: int, out: torch.Tensor | None = None):
    """silu(x) and its derivatives up to ``order`` (at most 3), each shaped like x.

    With s = sigmoid(x), s' = s (1 - s) and c = 1 - 2 s (so s'' = s' c), the
    derivatives are s + x s', s' (2 + x c) and s' (c (3 + x c) - 2 x s').

    Args:
        out: optional ``(order + 1, *x.shape)`` tensor to write into (no autograd then;
            the temporaries live in scratch memory); it is returned instead of the list.
    """
    work = [None] * 4 if out is None else scratch((4, *x.shape), x, slot=1).unbind(0)
    def slot(r):
        return None if out is None else out[r]
    s = torch.sigmoid(x, out=work[0])
    values = [torch.mul(x, s, out=slot(0))]
    if order >= 1:
        ds = torch.addcmul(s, s, s, value=-1, out=work[1])              # s'
        values.append(torch.addcmul(s, x, ds, out=slot(1)))
    if order >= 2:
        c = torch.add(x.new_tensor(1.0), s, alpha=-2, out=work[2])      # 1 - 2 s
        two_xc = torch.addcmul(x.new_tensor(2.0), x, c, out=work[3])    # 2 + x c
        values.append(torch.mul(ds, two_xc, out=slot(2)))
        if order >= 3:
            values.append(torch.addcmul(c, c, two_xc, out=slot(3)).addcmul_(x, ds, value=-2).mul_(ds))
    return values if out is None else out


def normalize_pairs(pairs: Sequence[Sequence[int]] | None, dim: int) -> tuple[Pair, ...]:
    """Sorted, de-duplicated ``(a, b)`` pairs with ``a <= b``; ``None`` means the pure ones."""
    if pairs is None:
        return tuple((a, a) for a in range(dim))
    out = []
    for pair in pairs:
        if len(pair) != 2 or not all(isinstance(i, int) and 0 <= i < dim for i in pair):
            raise ValueError(f"expected second-derivative pairs (a, b) of input indices in 0..{dim - 1}, got {pair!r}")
        out.append((min(pair), max(pair)))
    return tuple(dict.fromkeys(out))


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


class _LayerJet(torch.autograd.Function):
    """A whole layer's jet as one autograd node with a hand-written backward.

    Tensors are points-last (see :mod:`kanpde.splines`): x ``(in, N)``, dx
    ``(D, in, N)``, d2x ``(P, in, N)``; ``dx`` is ``None`` for the network inputs
    (identity Jacobian). With ``phi_r`` the r-th derivative of every edge function,
    ``(out, in, N)``:

        y   = sum_i phi_0 + bias                          (out, N)
        dy  = sum_i dx_i phi_1                            (D, out, N)
        d2y = sum_i dx_a,i dx_b,i phi_2 + d2x_i phi_1     (P, out, N)

    The x-gradient of ``phi_r`` is ``phi_(r+1)``, so the forward evaluates one
    derivative more when x needs a gradient. Differentiable once (enough to train
    on a residual); a tiny graph instead of one node per elementwise op.
    """

    @staticmethod
    def forward(ctx, x, dx, d2x, table, scale_base, bias, lo, hi, grid, k, pairs, order):
        ctx.set_materialize_grads(False)  # unused outputs (often y and dy of the last layer) cost nothing
        count = order + 1 + int(ctx.needs_input_grad[0])           # phi_0 .. phi_(count-1)
        cell, v, beyond = locate(x, lo, hi, grid)                   # (in, N); beyond None when all inside
        depth = max(count, k + 1)
        poly = scratch((depth, table.shape[0] // (k + 1), *x.shape), x)  # reused memory, never leaves here
        poly, rows = gather_polynomials(table, cell, grid, k, depth, out=poly)  # (depth, out, in, N)
        spline_derivatives_(poly, v, beyond, k, count)              # poly[r]: r-th derivative of the splines
        silu = _silu_derivatives(x, count - 1, out=recycled((count, *x.shape), x, "silu"))  # (count, in, N)
        weight = scale_base.T.unsqueeze(-1)                         # (out, in, 1)
        # edge derivatives phi_1.. into fresh memory (they are saved and returned); phi_0 is only summed
        edges = torch.addcmul(poly[1:count], silu[1:].unsqueeze(1), weight,
                              out=recycled(poly[1:count].shape, x, "edges"))  # (count-1, out, in, N)
        y = torch.sum(poly[0], 1, out=recycled(poly.shape[1:2] + x.shape[1:], x, "y"))  # (out, N)
        y.addmm_(scale_base.T, silu[0]).add_(bias.unsqueeze(-1))
        d2x = d2x if order >= 2 else None
        dy, d2y, _ = _propagate([None, *edges], dx, d2x, pairs, order)
        ctx.save_for_backward(v, beyond, rows, dx, d2x, silu, edges)  # dx_a dx_b is recomputed, not kept
        ctx.meta = (table.shape[1], k, order, pairs)
        return y, dy, d2y

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, gy, gdy, gd2y):            # (out, N), (D, out, N), (P, out, N); None when unused
        n_cols, k, order, pairs = ctx.meta
        v, beyond, rows, dx, d2x, silu, edges = ctx.saved_tensors
        phi = [None, *edges]                                        # phi_r (out, in, N), r >= 1
        gd2y = gd2y if order >= 2 else None
        need = ctx.needs_input_grad
        # d loss / d phi_1, phi_2 straight into the table gradient's scratch rows (reused memory)
        local = scratch((k + 1, *edges.shape[1:]), v) if need[3] else None  # (k+1, out, in, N)
        slots = [None if local is None or r > k else local[r] for r in (1, 2)]
        dxdx = None if dx is None or gd2y is None else _pair_products(dx, pairs, out=scratch(d2x.shape, dx, slot=1))
        g = [gy, *_phi_gradients(dx, d2x, dxdx, gdy, gd2y, pairs, v.shape[0], out=slots)][:order + 1]
        grad_x = _x_gradient(g, phi) if need[0] else None
        grad_dx = grad_d2x = None
        if dx is not None and (need[1] or need[2]):
            grad_dx, grad_d2x = _derivative_gradients(dx, phi, gdy, gd2y, pairs)
        grad_base = _base_gradient(g, silu) if need[4] else None
        grad_table = None
        if need[3]:
            written = [False] * (k + 1)
            for r, g_r in enumerate(g[1:k + 1], start=1):
                if g_r is not None:
                    if g_r is not slots[r - 1]:                     # identity Jacobian: views of gdy, gd2y
                        local[r].copy_(g_r)
                    written[r] = True
            shared = None if gy is None else gy.unsqueeze(1)       # (out, 1, N): every input sees dL/dy
            grad_table = table_gradient(local, written, shared, v, beyond, rows, n_cols, k)
        grad_bias = gy.sum(-1) if need[5] and gy is not None else None
        return grad_x, grad_dx, grad_d2x, grad_table, grad_base, grad_bias, *([None] * 6)


class _NativeLayerJet(torch.autograd.Function):
    """:class:`_LayerJet` computed by the fused C kernel (:mod:`kanpde.nn.native`): the same outputs and
    gradients from the table laid out per cell (:func:`~kanpde.nn.splines.cell_table`), one pass over the
    points each way; the edge derivatives are recomputed in the backward instead of stored."""

    @staticmethod
    def forward(ctx, x, dx, d2x, table, scale_base, bias, lo, hi, grid, k, pairs, order):
        ctx.set_materialize_grads(False)
        x, dx, d2x = [None if t is None else t.contiguous() for t in (x, dx, d2x if order >= 2 else None)]
        sig = torch.sigmoid(x, out=recycled(x.shape, x, "native_sigmoid"))  # (in, N)
        scale_base = scale_base.contiguous()
        outputs = native.layer_jet_forward(x, sig, dx, d2x, table, scale_base, bias, lo, hi, grid, pairs, order)
        ctx.save_for_backward(x, sig, dx, d2x, table, scale_base, lo, hi)
        ctx.meta = (grid, pairs, order)
        return outputs

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, gy, gdy, gd2y):            # (out, N), (D, out, N), (P, out, N); None when unused
        grid, pairs, order = ctx.meta
        incoming = [None if g is None else g.contiguous() for g in (gy, gdy, gd2y)]
        grads = native.layer_jet_backward(*ctx.saved_tensors, grid, pairs, order, *incoming, ctx.needs_input_grad[:5])
        grad_bias = gy.sum(-1) if ctx.needs_input_grad[5] and gy is not None else None
        return *grads, grad_bias, *([None] * 6)


def _contract(a, b, acc=None, out=None):
    """``sum_j a[j] * b[j]`` over the leading axis (broadcasting the rest), accumulated into ``acc``.

    One fused multiply-add per j over the whole output: the summed axes here
    (widths, derivative directions) are short, the points axis is long. Without
    ``acc`` the sum is written to ``out`` when given (else fresh memory).
    """
    for j in range(a.shape[0]):
        acc = torch.mul(a[j], b[j], out=out) if acc is None else acc.addcmul_(a[j], b[j])
    return acc


def _is_pure(pairs, dim):
    """True when pairs are exactly ``(0, 0), (1, 1), .., (dim-1, dim-1)``."""
    return tuple(pairs) == tuple((a, a) for a in range(dim))


def _propagate(phi, dx, d2x, pairs, order):
    """``(dy (D, out, N), d2y (P, out, N), dxdx (P, in, N) or None)`` from the edge derivatives
    (``phi[r]``, r >= 1); dxdx lives in scratch memory."""
    if dx is None:  # identity Jacobian: dy_a = phi'_a, d2y for (a, a) is phi''_a, mixed pairs vanish
        dy = phi[1].transpose(0, 1)                                 # (D = in, out, N)
        if order < 2:
            return dy, dy.new_zeros(0, *dy.shape[1:]), None
        if _is_pure(pairs, phi[2].shape[1]):
            return dy, phi[2].transpose(0, 1), None
        zeros = phi[2].new_zeros(phi[2].shape[0], phi[2].shape[2])  # (out, N)
        return dy, torch.stack([phi[2][:, a] if a == b else zeros for a, b in pairs]), None
    by_input = [t.transpose(0, 1) for t in phi[1:3]]                # (in, out, N) each
    dy = _contract(dx.transpose(0, 1).unsqueeze(2), by_input[0].unsqueeze(1))  # (D, out, N)
    if order < 2:
        return dy, dy.new_zeros(0, *dy.shape[1:]), None
    dxdx = _pair_products(dx, pairs, out=scratch((len(pairs), *dx.shape[1:]), dx, slot=1))  # (P, in, N)
    d2y = _contract(d2x.transpose(0, 1).unsqueeze(2), by_input[0].unsqueeze(1))
    d2y = _contract(dxdx.transpose(0, 1).unsqueeze(2), by_input[1].unsqueeze(1), d2y)  # (P, out, N)
    return dy, d2y, dxdx


def _pair_products(dx, pairs, out=None):
    """``dx_a * dx_b`` for every pair, ``(P, in, N)`` (written to ``out`` when given)."""
    if _is_pure(pairs, dx.shape[0]):
        return torch.mul(dx, dx, out=out)
    a, b = (list(t) for t in zip(*pairs))
    return torch.mul(dx[a], dx[b], out=out)


def _phi_gradients(dx, d2x, dxdx, gdy, gd2y, pairs, n_in, out=(None, None)):
    """``d loss / d phi_1`` and ``d loss / d phi_2``, each ``(out, in, N)`` or None.

    With incoming derivatives (dx given) they are sums written into ``out`` (two
    ``(out, in, N)`` tensors or None); otherwise views of the incoming gradients.
    """
    if dx is None:  # identity Jacobian: the transposes of the forward's selections
        g1 = None if gdy is None else gdy.transpose(0, 1)
        if gd2y is None or _is_pure(pairs, n_in):
            return [g1, None if gd2y is None else gd2y.transpose(0, 1)]
        g2 = gd2y.new_zeros(gd2y.shape[1], n_in, gd2y.shape[2])
        for p, (a, b) in enumerate(pairs):
            if a == b:
                g2[:, a] += gd2y[p]
        return [g1, g2]
    g1 = None if gdy is None else _contract(gdy.unsqueeze(2), dx.unsqueeze(1), out=out[0])  # (out, in, N)
    g2 = None
    if gd2y is not None:
        g1 = _contract(gd2y.unsqueeze(2), d2x.unsqueeze(1), g1, out=out[0])
        g2 = _contract(gd2y.unsqueeze(2), dxdx.unsqueeze(1), out=out[1])
    return [g1, g2]


def _x_gradient(g, phi):
    """``sum_r sum_o g_r phi_(r+1)`` (the x-derivative of phi_r is phi_(r+1)), ``(in, N)`` or None."""
    acc, out = None, recycled(phi[1].shape[1:], phi[1], "grad_x")
    for r, g_r in enumerate(g):
        if g_r is not None:
            acc = _contract(g_r.unsqueeze(1) if r == 0 else g_r, phi[r + 1], acc, out)  # g_0 = dL/dy, (out, N)
    return acc


def _derivative_gradients(dx, phi, gdy, gd2y, pairs):
    """Gradients w.r.t. the incoming dx ``(D, in, N)`` and d2x ``(P, in, N)``."""
    def through(grad, edge, out=None):  # sum_o grad[c, o] edge[o, i]
        return _contract(grad.transpose(0, 1).unsqueeze(2), edge.unsqueeze(1), out=out)
    grad_dx = None if gdy is None else through(gdy, phi[1], recycled(dx.shape, dx, "grad_dx"))
    if gd2y is None:
        return grad_dx, None
    grad_d2x = through(gd2y, phi[1], recycled((len(pairs), *dx.shape[1:]), dx, "grad_d2x"))
    h = through(gd2y, phi[2], out=scratch((len(pairs), *dx.shape[1:]), dx, slot=1))  # (P, in, N) d loss / d (dx_a dx_b)
    if _is_pure(pairs, dx.shape[0]):  # d(dx_a^2)/d dx_a = 2 dx_a
        if grad_dx is None:
            return torch.mul(h, dx, out=recycled(dx.shape, dx, "grad_dx")).mul_(2.0), grad_d2x
        return grad_dx.addcmul_(h, dx, value=2.0), grad_d2x
    if grad_dx is None:
        grad_dx = recycled(dx.shape, dx, "grad_dx").zero_()
    for p, (a, b) in enumerate(pairs):
        grad_dx[a].addcmul_(h[p], dx[b])
        grad_dx[b].addcmul_(h[p], dx[a])
    return grad_dx, grad_d2x


def _base_gradient(g, silu):
    """Gradient of the SiLU weights ``(in, out)``: ``sum_n sum_r g_r silu^(r)``, or None.

    Each term is a batched matrix-vector product over the points (no ``(out, in, N)`` temporary).
    """
    total = None if g[0] is None else silu[0] @ g[0].T                 # (in, N) @ (N, out)
    for r in range(1, len(g)):
        if g[r] is not None:
            term = torch.matmul(g[r].transpose(0, 1), silu[r].unsqueeze(-1)).squeeze(-1)  # (in, out)
            total = term if total is None else total.add_(term)
    return total


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


def _check_int(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}: {value!r:.60}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


def _check_scale(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}: {value!r:.60}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


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
        widths = list(widths) if not isinstance(widths, (str, bytes)) else widths
        if not isinstance(widths, list) or len(widths) < 2:
            raise ValueError(f"expected widths as a list of at least 2 layer sizes like [2, 10, 1], got {widths!r}")
        for w in widths:
            _check_int("each width", w, 1)
        _check_int("grid", grid, 1)
        _check_int("k", k, 0)
        _check_scale("noise_scale", noise_scale)
        _check_scale("base_scale", base_scale)
        if seed is not None:
            _check_int("seed", seed, 0)
        check_fits(sum(i * o * (grid + k + 2) for i, o in zip(widths[:-1], widths[1:])), f"KAN({widths}, grid={grid})")
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
        from .pykan import from_pykan

        return from_pykan(model)

    def to_pykan(self):
        """This KAN as a pykan ``MultKAN`` (needs pykan; see :mod:`kanpde.nn.pykan`)."""
        from .pykan import to_pykan

        return to_pykan(self)

    @torch.no_grad()
    def refine(self, new_grid: int) -> "KAN":
        """Grid extension: move every layer to ``new_grid`` intervals keeping the function.

        Exact to round-off when the new grid nests the old one (5 -> 10 -> 20);
        least squares otherwise. Changes the model in place and returns it;
        optimiser state for the spline coefficients must be rebuilt.
        """
        _check_int("new_grid", new_grid, 1)
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
