"""The jet: a network output carried with its first and second input-derivatives, and the machinery that
propagates it through a KAN layer (:class:`_LayerJet`, or the fused C kernel's :class:`_NativeLayerJet`).

For a layer ``y_o = b_o + sum_i phi_io(x_i)`` whose input already carries derivatives with respect to the
network inputs ``z``,

    dy_o/dz_a        = sum_i phi'_io dx_i/dz_a
    d2y_o/dz_a dz_b  = sum_i phi''_io dx_i/dz_a dx_i/dz_b + phi'_io d2x_i/dz_a dz_b,

so a PDE residual needs no nested autograd. The value type :class:`Jet` lives here, apart from the model
(:mod:`kanpde.nn.kan`), so that problem code (:mod:`kanpde.pde`) and formulas (:mod:`kanpde.symbolic`)
read jets without importing the KAN model file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from . import native
from .scratch import recycled, scratch
from .splines import gather_polynomials, locate, spline_derivatives_, table_gradient

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


class _LayerJet(torch.autograd.Function):
    """A whole layer's jet as one autograd node with a hand-written backward.

    Tensors are points-last (see :mod:`kanpde.nn.splines`): x ``(in, N)``, dx
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


def requested_pairs(pairs, dim: int, order: int) -> tuple[Pair, ...]:
    """The second-derivative pairs a jet of ``order`` computes: the sorted distinct ``(i, j)``, ``i <= j``,
    of ``pairs`` (the diagonal ``(a, a)`` when None), and none below order 2."""
    if order < 2:
        return ()
    if pairs is None:
        return tuple((a, a) for a in range(dim))
    return tuple(sorted({tuple(sorted(p)) for p in pairs}))
