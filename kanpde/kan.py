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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from .splines import (cell_polynomials, derivative_scales, fit_coefficients, gather_polynomials, horner,
                      horner_transpose_, locate, monomial_weights, scatter_table, spline_jet, spline_values)

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


def _silu_derivatives(x: torch.Tensor, order: int) -> list[torch.Tensor]:
    """silu(x) and its derivatives up to ``order`` (at most 3), each shaped like x."""
    s = torch.sigmoid(x)
    out = [x * s]
    if order >= 1:
        out.append(s * (1 + x * (1 - s)))
    if order >= 2:
        ds, slope = s * (1 - s), 1 - 2 * s                              # sigma', sigma''/sigma'
        out.append(ds * (2 + x * slope))
        if order >= 3:
            out.append(ds * (slope * (3 + x * slope) - 2 * x * ds))
    return out


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
        dx = None if dx is None else dx.transpose(1, 2)
        d2x = None if d2x is None or order < 2 else d2x.transpose(1, 2)
        y, dy, d2y = self._jet(x, dx, d2x, pairs, order)
        return y, dy.transpose(1, 2), (d2y.transpose(1, 2) if order >= 2 else None)

    def _jet(self, x, dx, d2x, pairs, order):
        """:meth:`jet` on channel-major derivatives: dx ``(N, D, in)``, d2x ``(N, P, in)`` in, same layout out."""
        table = cell_polynomials(self.coef * self.scale_spline.unsqueeze(-1), self.k)  # (in*G, (k+1)*out)
        if dx is None:
            return _InputLayerJet.apply(x, table, self.scale_base, self.bias,
                                        self.lo, self.hi, self.grid, self.k, pairs, order)
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


# Jet kernels. Derivatives travel between layers channel-major, dx[n, a, i] = dx_i/dz_a
# (N, D, in) and d2x[n, p, i] (N, P, in), so every contraction over a layer's inputs is a
# batched matrix product; each layer is one autograd node with a hand-written backward
# (differentiable once, which is all that training on a residual needs).


class _InputLayerJet(torch.autograd.Function):
    """Jet of the first layer, whose inputs are the coordinates (identity Jacobian).

    With ``w_r[n, i, :]`` the weights that turn a cell polynomial ``q`` into the r-th
    x-derivative (:func:`~kanpde.splines.monomial_weights`), every output channel is
    one product per point:

        out[n, c, o] = sum_(i, p) M[n, c, (i, p)] q[n, (i, p), o] + sum_i Z[n, c, i] w_b[i, o] + [c = 0] b_o

    Channel 0 (value) takes ``w_0`` of every input, channel ``1 + a`` (d/dz_a) takes
    ``w_1`` of input a only, channel ``1 + D + p`` for a pure pair (a, a) takes ``w_2``
    of input a (mixed pairs vanish); Z does the same with silu^(r). One batched
    ``(C, in (k+1)) @ (in (k+1), out)`` product per point replaces all per-edge work.
    """

    @staticmethod
    def forward(ctx, x, table, scale_base, bias, lo, hi, grid, k, pairs, order):
        ctx.set_materialize_grads(False)
        n, n_in = x.shape
        top = order + int(ctx.needs_input_grad[0])                 # the x-gradient needs one more
        weights, cell = monomial_weights(x, lo, hi, grid, k, top)   # (N, in, top+1, k+1)
        silu = torch.stack(_silu_derivatives(x, top), dim=2)        # (N, in, top+1)
        poly, rows = gather_polynomials(table, cell, grid, k)       # (N, in, k+1, out)
        poly = poly.view(n, n_in * (k + 1), -1)                     # (N, in*(k+1), out)
        mix, base = _input_channels(weights, silu, pairs, shift=0)  # (N, C, in*(k+1)), (N, C, in+1)
        linear = torch.cat([scale_base, bias.unsqueeze(0)])         # (in+1, out)
        out = torch.matmul(base, linear).baddbmm_(mix, poly)        # (N, C, out)
        saved = (weights, silu, poly) if ctx.needs_input_grad[0] else ()
        ctx.save_for_backward(mix, base, rows, linear, *saved)
        ctx.meta = (table.shape[0], pairs)
        return out[:, 0], out[:, 1:1 + n_in], out[:, 1 + n_in:]

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, gy, gdy, gd2y):            # (N, out), (N, D, out), (N, P, out); None when unused
        mix, base, rows, linear, *saved = ctx.saved_tensors
        n_rows, pairs = ctx.meta
        gy = None if gy is None else gy.unsqueeze(1)
        grad = _join_channels([gy, gdy, gd2y], (1, base.shape[2] - 1, len(pairs)))  # (N, C, out)
        need = ctx.needs_input_grad
        if grad is None:
            return (None,) * 10
        n, n_ch, n_out = grad.shape
        grad_x = grad_table = None
        if need[0]:
            grad_x = _input_x_gradient(grad, linear, pairs, *saved)
        if need[1]:
            local = torch.bmm(mix.transpose(1, 2), grad)            # (N, in*(k+1), out)
            grad_table = scatter_table(local.view(rows.shape[0], -1), rows, n_rows)
        grad_linear = base.view(n * n_ch, -1).T @ grad.view(n * n_ch, n_out)  # (in+1, out)
        return grad_x, grad_table, grad_linear[:-1], grad_linear[-1], *([None] * 6)


def _input_channels(weights, silu, pairs, shift):
    """M ``(N, C, in*(k+1))`` and Z ``(N, C, in+1)`` of :class:`_InputLayerJet`.

    ``shift = 1`` gives their x-derivatives (every w_r becomes w_(r+1)).
    """
    n, n_in, _, k1 = weights.shape
    n_ch = 1 + n_in + len(pairs)
    mix = weights.new_zeros(n, n_ch, n_in, k1)
    base = weights.new_zeros(n, n_ch, n_in + 1)                     # last column: the bias
    mix[:, 0] = weights[:, :, shift]
    base[:, 0, :n_in] = silu[:, :, shift]
    base[:, 0, n_in] = 1.0 - shift
    for a in range(n_in):
        mix[:, 1 + a, a] = weights[:, a, 1 + shift]
        base[:, 1 + a, a] = silu[:, a, 1 + shift]
    for p, (a, b) in enumerate(pairs):
        if a == b:
            mix[:, 1 + n_in + p, a] = weights[:, a, 2 + shift]
            base[:, 1 + n_in + p, a] = silu[:, a, 2 + shift]
    return mix.view(n, n_ch, n_in * k1), base


def _input_x_gradient(grad, linear, pairs, weights, silu, poly):
    """x-gradient of :class:`_InputLayerJet`, ``(N, in)``: rarely needed (coordinates seldom require grad)."""
    n, n_in = silu.shape[:2]
    mix1, base1 = _input_channels(weights, silu, pairs, shift=1)
    grad_mix = torch.bmm(grad, poly.transpose(1, 2)) * mix1          # (N, C, in*(k+1))
    grad_base = torch.matmul(grad, linear.T) * base1                 # (N, C, in+1)
    return grad_mix.view(n, grad.shape[1], n_in, -1).sum((1, 3)) + grad_base[:, :, :n_in].sum(1)


def _join_channels(grads, widths):
    """Output gradients ``(N, width, out)`` (or None) as one ``(N, C, out)``, zeros for the unused; None if all are."""
    ref = next((g for g in grads if g is not None), None)
    if ref is None:
        return None
    if all(g is not None for g in grads):
        return torch.cat(grads, dim=1)
    joined = ref.new_zeros(ref.shape[0], sum(widths), ref.shape[-1])
    start = 0
    for g, width in zip(grads, widths):
        if g is not None:
            joined[:, start:start + width] = g
        start += width
    return joined


class _LayerJet(torch.autograd.Function):
    """Jet of a hidden or output layer, as one graph node.

    With ``phi_r`` the r-th derivative of every edge function ``(N, in, out)``
    (Horner evaluation of the gathered cell polynomials plus the SiLU term):

        y   = sum_i phi_0 + bias
        dy  = dx @ phi_1
        d2y = (dx_a dx_b) @ phi_2 + d2x @ phi_1

    The backward needs ``phi_(r+1)`` for the x-gradient of ``phi_r``, so the
    forward evaluates one derivative more when x needs a gradient.
    """

    @staticmethod
    def forward(ctx, x, dx, d2x, table, scale_base, bias, lo, hi, grid, k, pairs, order):
        ctx.set_materialize_grads(False)  # unused outputs (often y and dy of the last layer) cost nothing
        n = x.shape[0]
        count = order + 1 + int(ctx.needs_input_grad[0])           # derivatives phi_0 .. phi_(count-1)
        cell, u, beyond, inv_h = locate(x, lo, hi, grid)            # (N, in) each
        poly, rows = gather_polynomials(table, cell, grid, k)       # (N, in, k+1, out)
        scales = derivative_scales(inv_h, beyond, count)
        silu = _silu_derivatives(x, count - 1)                      # (N, in) each
        u1 = u.unsqueeze(-1)                                         # (N, in, 1)
        local = [horner(poly, u1, k, r) if r <= k else None for r in range(max(count, 2))]  # (N, in, out)
        phi = [None] + [_edge_derivative(local[r], scales[r], silu[r], scale_base) for r in range(1, count)]
        value = local[0] if local[1] is None else torch.addcmul(local[0], local[1], beyond.unsqueeze(-1))
        y = torch.addmm(bias, silu[0], scale_base).add_(value.sum(1))  # (N, out); phi_0 is only summed
        dy = torch.bmm(dx, phi[1])                                   # (N, D, out)
        if order >= 2:
            dxdx = _pair_products(dx, pairs)                         # (N, P, in)
            d2y = torch.baddbmm(torch.bmm(d2x, phi[1]), dxdx, phi[2])  # (N, P, out)
        else:
            dxdx, d2x, d2y = None, None, y.new_zeros(n, 0, y.shape[1])
        ctx.save_for_backward(u, beyond, rows, dx, d2x, dxdx, *scales[:order + 1], *silu[:order + 1], *phi[1:])
        ctx.meta = (table.shape[0], k, order, pairs)
        return y, dy, d2y

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, gy, gdy, gd2y):            # (N, out), (N, D, out), (N, P, out); None when unused
        n_rows, k, order, pairs = ctx.meta
        u, beyond, rows, dx, d2x, dxdx, *rest = ctx.saved_tensors
        scales, silu, phi = rest[:order + 1], rest[order + 1:2 * order + 2], [None, *rest[2 * order + 2:]]
        if order < 2:
            gd2y = None
        g = [gy, *_edge_gradients(dx, d2x, dxdx, gdy, gd2y)][:order + 1]  # d loss / d phi_r, or None
        need = ctx.needs_input_grad
        grad_x = _x_gradient(g, phi) if need[0] else None
        grad_dx, grad_d2x = _derivative_gradients(dx, dxdx, phi, gdy, gd2y, pairs) if need[1] or need[2] \
            else (None, None)
        grad_table = _table_gradient(g, u, beyond, scales, rows, n_rows, k) if need[3] else None
        grad_base = _base_gradient(g, silu) if need[4] else None
        grad_bias = gy.sum(0) if need[5] and gy is not None else None
        return grad_x, grad_dx, grad_d2x, grad_table, grad_base, grad_bias, *([None] * 6)


def _edge_derivative(local, scale, silu, scale_base):
    """``phi_r = a_r S_r + silu^(r) w_b``, ``(N, in, out)``; S_r is None when r > k."""
    base = silu.unsqueeze(-1) * scale_base                          # (N, in, out)
    return base if local is None else torch.addcmul(base, local, scale.unsqueeze(-1))


def _pair_products(dx, pairs):
    """``dx_a * dx_b`` for every pair, ``(N, P, in)``."""
    a, b = (list(t) for t in zip(*pairs))
    if a == b == list(range(dx.shape[1])):
        return dx * dx
    return dx[:, a] * dx[:, b]


def _edge_gradients(dx, d2x, dxdx, gdy, gd2y):
    """d loss / d phi_1 and d phi_2 from the output gradients, each ``(N, in, out)`` or None."""
    g1 = None if gdy is None else torch.bmm(dx.transpose(1, 2), gdy)  # (N, in, out)
    g2 = None
    if gd2y is not None:
        g1 = torch.bmm(d2x.transpose(1, 2), gd2y) if g1 is None else g1.baddbmm_(d2x.transpose(1, 2), gd2y)
        g2 = torch.bmm(dxdx.transpose(1, 2), gd2y)                  # (N, in, out)
    return [g1, g2]


def _x_gradient(g, phi):
    """``sum_r sum_o g_r phi_(r+1)``: d phi_r / dx is phi_(r+1). ``(N, in)`` or None."""
    total = None
    for r, g_r in enumerate(g):
        if g_r is None:
            continue
        if r == 0:  # g_0 = dL/dy is shared by all inputs
            term = torch.bmm(phi[1], g_r.unsqueeze(-1)).squeeze(-1)  # (N, in)
        else:
            term = (g_r * phi[r + 1]).sum(-1)                         # (N, in)
        total = term if total is None else total.add_(term)
    return total


def _derivative_gradients(dx, dxdx, phi, gdy, gd2y, pairs):
    """Gradients w.r.t. the incoming dx ``(N, D, in)`` and d2x ``(N, P, in)``."""
    grad_dx = None if gdy is None else torch.bmm(gdy, phi[1].transpose(1, 2))  # (N, D, in)
    if gd2y is None:
        return grad_dx, None
    grad_d2x = torch.bmm(gd2y, phi[1].transpose(1, 2))               # (N, P, in)
    h = torch.bmm(gd2y, phi[2].transpose(1, 2))                      # (N, P, in) d loss / d(dx_a dx_b)
    if grad_dx is None:
        grad_dx = torch.zeros_like(dx)
    if dxdx.shape == dx.shape and all(p == (i, i) for i, p in enumerate(pairs)):
        return grad_dx.addcmul_(h, dx, value=2.0), grad_d2x
    for p, (a, b) in enumerate(pairs):
        grad_dx[:, a].addcmul_(h[:, p], dx[:, b])
        grad_dx[:, b].addcmul_(h[:, p], dx[:, a])
    return grad_dx, grad_d2x


def _table_gradient(g, u, beyond, scales, rows, n_rows, k):
    """Gradient of the cell-polynomial table ``(in * G, (k + 1) * out)``, or None."""
    ref = next((g_r for g_r in g if g_r is not None), None)
    if ref is None:
        return None
    n, n_in = u.shape
    local = ref.new_zeros(n, n_in, k + 1, ref.shape[-1])             # (N, in, k+1, out) d loss / d q_p
    top = 0
    for r, g_r in enumerate(g[:k + 1]):
        if g_r is None:
            continue
        if r == 0:
            local[:, :, 0] = g_r.unsqueeze(1)                        # value: every input sees dL/dy
        else:
            torch.mul(g_r, scales[r].unsqueeze(-1), out=local[:, :, r])
        top = r
    if g[0] is not None and k >= 1:  # tangent continuation: value += beyond * dS/du
        local[:, :, 1].addcmul_(g[0].unsqueeze(1), beyond.unsqueeze(-1))
        top = max(top, 1)
    horner_transpose_(local, u.unsqueeze(-1), k, top + 1)
    return scatter_table(local.view(n * n_in, -1), rows, n_rows)


def _base_gradient(g, silu):
    """Gradient of the SiLU weights ``(in, out)``: ``sum_n sum_r g_r silu^(r)``, or None."""
    total = None
    for r, g_r in enumerate(g):
        if g_r is None:
            continue
        term = silu[0].T @ g_r if r == 0 else (g_r * silu[r].unsqueeze(-1)).sum(0)
        total = term if total is None else total.add_(term)
    return total


def _per_input_range(grid_range, in_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    r = torch.as_tensor(grid_range, dtype=torch.get_default_dtype())
    if r.shape == (2,):
        r = r.expand(in_dim, 2)
    if r.shape != (in_dim, 2) or not torch.all(r[:, 1] > r[:, 0]):
        raise ValueError(f"expected grid_range (lo, hi) with hi > lo, or {in_dim} such pairs, got {grid_range!r}")
    return r[:, 0].clone(), r[:, 1].clone()


def _check_int(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


class KAN(nn.Module):
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
        self.widths = widths
        generator_state = torch.random.get_rng_state()
        if seed is not None:
            torch.manual_seed(seed)
        try:
            self.layers = nn.ModuleList(
                KANLayer(i, o, grid, k, grid_range if n == 0 else _first_pair(grid_range), noise_scale, base_scale)
                for n, (i, o) in enumerate(zip(widths[:-1], widths[1:])))
        finally:
            if seed is not None:
                torch.random.set_rng_state(generator_state)

    @property
    def in_dim(self) -> int:
        return self.widths[0]

    @property
    def out_dim(self) -> int:
        return self.widths[-1]

    @property
    def grid(self) -> int:
        return self.layers[0].grid

    @property
    def k(self) -> int:
        return self.layers[0].k

    def _check_input(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"expected a torch.Tensor of shape (N, {self.in_dim}), got {type(x).__name__}")
        if x.ndim != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"expected input of shape (N, {self.in_dim}), got {tuple(x.shape)}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Network output ``(N, out)`` at inputs ``x`` ``(N, in)``."""
        self._check_input(x)
        for layer in self.layers:
            x = layer(x)
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
        self._check_input(x)
        if order not in (1, 2):
            raise ValueError(f"jet order must be 1 or 2, got {order!r}")
        pairs = normalize_pairs(pairs, self.in_dim) if order == 2 else ()
        if order == 2 and self.k < 2:
            raise ValueError(f"second derivatives need spline degree k >= 2, got k={self.k}")
        dx = d2x = None
        for layer in self.layers:
            x, dx, d2x = layer._jet(x, dx, d2x, pairs, order)            # channel-major (N, D|P, width)
        return Jet(x, dx.transpose(1, 2), d2x.transpose(1, 2), pairs)

    @torch.no_grad()
    def update_grid(self, x: torch.Tensor, margin: float = 0.0) -> "KAN":
        """Fit every layer's grid range to the activations seen on samples ``x``.

        Each layer's range becomes ``[min, max]`` of its inputs over ``x`` (widened by
        ``margin`` times the span), and its splines are refitted by least squares so
        the network function is kept (to the accuracy of the new grid).
        """
        self._check_input(x)
        for layer in self.layers:
            lo, hi = x.min(0).values, x.max(0).values
            span = (hi - lo).clamp_min(1e-6)
            layer.set_grid(lo - margin * span, hi + margin * span, layer.grid)
            x = layer(x)
        return self

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


def _first_pair(grid_range):
    """The range hidden layers start with: the first pair when per-input ranges were given."""
    r = torch.as_tensor(grid_range)
    return tuple(r.tolist()) if r.ndim == 1 else (float(r[:, 0].min()), float(r[:, 1].max()))
