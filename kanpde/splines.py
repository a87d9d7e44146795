"""B-spline bases of order k on uniform grids, evaluated locally.

A uniform grid of ``G`` intervals on ``[lo, hi]`` (spacing ``h = (hi - lo) / G``)
carries ``G + k`` B-splines of degree ``k``, built on the knots
``t_j = lo + (j - k) h`` for ``j = 0 .. G + 2k`` (k extra knots each side, so the
bases span every C^(k-1) piecewise polynomial on ``[lo, hi]``).

On cell ``c`` (``lo + c h <= x < lo + (c + 1) h``) only the bases ``c .. c + k``
are non-zero, and at the local coordinate ``u = (x - lo) / h - c`` in ``[0, 1]``
they are the cardinal polynomials ``[1, u, .., u^k] @ M`` (``M = cardinal_matrix(k)``).
Evaluation therefore costs ``O(k^2)`` per input whatever the grid size, and the
derivatives are the same polynomials differentiated in closed form.

Outside ``[lo, hi]`` every basis is continued by its tangent line at the nearest
end, so a spline extrapolates linearly: it stays C^1, its second derivative is
zero there, and grid refinement (which is exact on ``[lo, hi]``) stays exact
everywhere.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from math import comb, factorial

import numpy as np
import torch


@lru_cache(maxsize=None)
def cardinal_matrix(k: int) -> np.ndarray:
    """Monomial coefficients of the k + 1 uniform B-splines alive on one cell.

    Column ``m`` is basis ``c + m`` on cell ``c``; it is the cardinal B-spline
    ``N_k(t) = 1/k! sum_j (-1)^j C(k+1, j) (t - j)_+^k`` at ``t = u + k - m``,
    expanded exactly in rational arithmetic.

    Returns:
        ``(k + 1, k + 1)`` float64 array ``M`` with ``basis[m] = sum_p M[p, m] u^p``.
    """
    if not isinstance(k, int) or k < 0:
        raise ValueError(f"spline order k must be an integer >= 0, got {k!r}")
    matrix = np.zeros((k + 1, k + 1))
    for m in range(k + 1):
        shift = k - m
        for p in range(k + 1):
            total = sum(
                Fraction((-1) ** j * comb(k + 1, j) * comb(k, p) * (shift - j) ** (k - p))
                for j in range(shift + 1)
            )
            matrix[p, m] = float(total / factorial(k))
    return matrix


@lru_cache(maxsize=None)
def _power_derivative_matrix(k: int, count: int) -> np.ndarray:
    """``T`` with ``[1, u, .., u^k] @ T = [d^r/du^r u^p]`` for ``r < count``, flattened ``(k + 1, count * (k + 1))``."""
    matrix = np.zeros((k + 1, count, k + 1))
    for r in range(count):
        for p in range(r, k + 1):
            matrix[p - r, r, p] = factorial(p) / factorial(p - r)
    return matrix.reshape(k + 1, count * (k + 1))


def _powers(u: torch.Tensor, k: int) -> torch.Tensor:
    """``[1, u, .., u^k]`` along a new last axis, by products (pow(0, 0) has no safe gradient)."""
    terms = [torch.ones_like(u)]
    for _ in range(k):
        terms.append(terms[-1] * u)
    return torch.stack(terms, dim=-1)


def monomial_weights(
    x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, grid: int, k: int, order: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Where each input falls, and the weights that turn cell polynomials into derivatives.

    On its cell a spline is ``S = sum_p q_p u^p``; its r-th x-derivative at an
    input is ``sum_p W[r, p] q_p``. The weights carry the ``1 / h^r`` of the chain
    rule and the tangent continuation outside ``[lo, hi]``
    (``S(x) = S(x_c) + (x - x_c) S'(x_c)``, no curvature).

    Args:
        x: inputs, ``(N, in)``.
        lo, hi: grid range per input, ``(in,)``.
        grid: number of intervals G.
        k: spline degree.
        order: highest derivative wanted.

    Returns:
        ``(W, cell)``: W ``(N, in, order + 1, k + 1)`` and the int64 cell index
        ``(N, in)`` in ``0 .. G - 1``.
    """
    h = (hi - lo) / grid                                  # (in,)
    s = (x - lo) / h                                      # (N, in) position in cells
    s_in = s.clamp(0.0, float(grid))
    cell = torch.floor(s_in.detach()).clamp(max=grid - 1)
    u = s_in - cell                                       # (N, in) in [0, 1]
    count = max(order, 1) + 1                             # the continuation needs d/du even for order 0
    table = torch.as_tensor(_power_derivative_matrix(k, count), dtype=x.dtype, device=x.device)
    du = (_powers(u, k) @ table).unflatten(-1, (count, k + 1))  # (N, in, count, k+1) d^r/du^r u^p
    rank = torch.arange(count, device=x.device)
    curved = (s_in.detach() != s.detach()).unsqueeze(-1) & (rank >= 2)  # (N, in, count) no curvature outside
    scale = torch.where(curved, 0.0, h.reciprocal().unsqueeze(-1) ** rank)  # (N, in, count) 1/h^r
    weights = du[:, :, : order + 1] * scale[:, :, : order + 1, None]  # (N, in, r, k+1)
    weights[:, :, 0] += du[:, :, 1] * (s - s_in).unsqueeze(-1)  # value: + (x - x_c) dS/du, h cancels
    return weights, cell.long()


def local_basis(
    x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, grid: int, k: int, order: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """The k + 1 non-zero bases (and their x-derivatives) at each input.

    Returns:
        ``(bases, cell)``: bases ``(N, in, order + 1, k + 1)``, ``bases[..., r, m]``
        the r-th derivative of basis ``cell + m``; cell ``(N, in)`` as in
        :func:`monomial_weights`.
    """
    weights, cell = monomial_weights(x, lo, hi, grid, k, order)
    matrix = torch.as_tensor(cardinal_matrix(k), dtype=x.dtype, device=x.device)
    return weights @ matrix, cell                         # (N, in, r, k+1)


def dense_basis(
    x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, grid: int, k: int, order: int = 0
) -> torch.Tensor:
    """All ``G + k`` bases (or a derivative) at each input, zeros included.

    Returns:
        ``(N, in, G + k)``: the ``order``-th x-derivative of every basis.
    """
    bases, cell = local_basis(x, lo, hi, grid, k, order)
    values = bases[:, :, order]                           # (N, in, k+1)
    index = cell.unsqueeze(-1) + torch.arange(k + 1, device=x.device)  # (N, in, k+1)
    full = torch.zeros(*x.shape, grid + k, dtype=x.dtype, device=x.device)
    return full.scatter(-1, index, values)                # (N, in, G+k)


def fit_coefficients(
    x: torch.Tensor, y: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, grid: int, k: int
) -> torch.Tensor:
    """Least-squares spline coefficients, one fit per input.

    Solves ``min_c sum_n |sum_g B_g(x[n, i]) c[i, o, g] - y[n, i, o]|^2`` for every
    input i and output o.

    Args:
        x: sample inputs, ``(N, in)``.
        y: target values, ``(N, in, out)``.

    Returns:
        coefficients ``(in, out, G + k)``.
    """
    if x.shape[0] < grid + k:
        raise ValueError(f"a fit of {grid + k} coefficients needs at least as many samples, got {x.shape[0]}")
    basis = dense_basis(x, lo, hi, grid, k).transpose(0, 1)  # (in, N, G+k)
    target = y.transpose(0, 1)                               # (in, N, out)
    device = x.device
    if device.type != "cpu":  # gelsd (rank-revealing, exact on nested grids) is CPU-only
        basis, target = basis.cpu(), target.cpu()
    coef = torch.linalg.lstsq(basis, target, driver="gelsd").solution  # (in, G+k, out)
    return coef.transpose(1, 2).to(device)                   # (in, out, G+k)


def cell_polynomials(coef: torch.Tensor, k: int) -> torch.Tensor:
    """Monomial coefficients of every spline on every cell, as a gather table.

    Row ``i * G + c``, column ``p * out + o`` holds ``q_p`` of spline ``(i, o)`` on
    cell ``c``: ``q_p = sum_m M[p, m] coef[i, o, c + m]``.

    Returns:
        ``(in * G, (k + 1) * out)``.
    """
    n_in, n_out, n_coef = coef.shape
    matrix = torch.as_tensor(cardinal_matrix(k), dtype=coef.dtype, device=coef.device)
    windows = coef.unfold(-1, k + 1, 1)                   # (in, out, G, k+1)
    poly = windows @ matrix.T                             # (in, out, G, k+1)
    return poly.permute(0, 2, 3, 1).reshape(n_in * (n_coef - k), (k + 1) * n_out)


def locate(x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, grid: int):
    """Where each input sits on its grid, for the kernels that work on raw tensors.

    Returns:
        ``(cell, u, beyond, inv_h)``: cell index as a float ``(N, in)`` in
        ``0 .. G - 1``, local coordinate ``u`` ``(N, in)`` in ``[0, 1]``, signed
        distance past the range in cells ``(N, in)`` (0 inside), ``1 / h`` ``(in,)``.
    """
    inv_h = grid / (hi - lo)                              # (in,)
    s = (x - lo) * inv_h                                  # (N, in) position in cells
    s_in = s.clamp(0.0, float(grid))
    cell = s_in.floor().clamp_(max=grid - 1)
    return cell, s_in - cell, s - s_in, inv_h


def gather_polynomials(table: torch.Tensor, cell: torch.Tensor, grid: int, k: int):
    """The cell polynomial of every (point, input, output), from a :func:`cell_polynomials` table.

    Returns:
        ``(poly, rows)``: poly ``(N, in, k + 1, out)`` with ``poly[..., p, o] = q_p``,
        rows ``(N * in,)`` the table rows read (for the scatter of the backward).
    """
    n, n_in = cell.shape
    rows = (cell.long() + torch.arange(n_in, device=cell.device) * grid).view(-1)  # (N*in,)
    return table.index_select(0, rows).view(n, n_in, k + 1, -1), rows


def horner(poly: torch.Tensor, u: torch.Tensor, k: int, r: int) -> torch.Tensor:
    """``(1 / r!) d^r/du^r sum_p q_p u^p`` by Horner's rule: ``k - r`` fused multiply-adds.

    ``sum_{p >= r} C(p, r) q_p u^(p - r)`` nests as ``q_r + u c_r (q_(r+1) + u c_(r+1) (..))``
    with ``c_p = C(p + 1, r) / C(p, r) = (p + 1) / (p + 1 - r)``.

    Args:
        poly: ``(N, in, k + 1, out)`` monomial coefficients ``q_p``.
        u: ``(N, in, 1)`` local coordinates.

    Returns:
        ``(N, in, out)``; needs ``r <= k``.
    """
    acc = poly[:, :, k]
    for p in range(k - 1, r - 1, -1):
        acc = torch.addcmul(poly[:, :, p], acc, u, value=(p + 1) / (p + 1 - r))
    return acc


def horner_transpose_(grad: torch.Tensor, u: torch.Tensor, k: int, count: int) -> torch.Tensor:
    """Gradient of :func:`horner` w.r.t. ``q``, in place (a Taylor shift by ``u``).

    On entry ``grad[:, :, r]`` holds the gradient of derivative r (r < count) and zeros
    above; on exit ``grad[:, :, p] = sum_r C(p, r) u^(p - r) grad_r``, the gradient of ``q_p``.

    Args:
        grad: ``(N, in, k + 1, out)``.
        u: ``(N, in, 1)``.
    """
    for i in range(k):
        for j in range(min(k, count + i), i, -1):  # entries above count + i are still zero
            grad[:, :, j].addcmul_(grad[:, :, j - 1], u)
    return grad


def scatter_table(local: torch.Tensor, rows: torch.Tensor, n_rows: int) -> torch.Tensor:
    """Sum per-point gradients of gathered rows back into a table ``(n_rows, width)``.

    Args:
        local: ``(N * in, width)``, one row per entry of ``rows``.
    """
    width = local.shape[-1]
    if width >= 16:  # wide rows: one add per row is fastest
        return local.new_zeros(n_rows, width).index_add_(0, rows, local)
    flat = (rows.unsqueeze(1) * width + torch.arange(width, device=rows.device)).view(-1)  # (N*in*width,)
    return local.new_zeros(n_rows * width).index_add_(0, flat, local.reshape(-1)).view(n_rows, width)


def derivative_scales(inv_h: torch.Tensor, beyond: torch.Tensor, count: int) -> list[torch.Tensor]:
    """``a_r`` with ``d^r S/dx^r = a_r (1/r!) d^r S/du^r``: ``r! / h^r``, zero outside the range for r >= 2.

    Returns:
        ``count`` tensors broadcastable to ``(N, in)``.
    """
    inside = (beyond == 0).to(beyond.dtype)               # (N, in)
    scales = [torch.ones_like(inv_h), inv_h]
    for r in range(2, count):
        scales.append(inside * (factorial(r) * inv_h ** r))
    return scales[:count]


def _evaluate(weights, cell, table, grid: int) -> torch.Tensor:
    n, n_in, _, k1 = weights.shape
    rows = (cell + torch.arange(n_in, device=cell.device) * grid).reshape(-1)
    local = table.index_select(0, rows).view(n, n_in, k1, -1)  # (N, in, k+1, out)
    return weights @ local                                # (N, in, r, out)


def spline_values(x, coef, lo, hi, grid: int, k: int, order: int = 0) -> torch.Tensor:
    """Splines ``S_io(x_i) = sum_g B_g(x_i) coef[i, o, g]`` and their x-derivatives.

    Plain autograd operations, so derivatives of any order can be taken through it.

    Returns:
        ``(N, in, order + 1, out)``.
    """
    weights, cell = monomial_weights(x, lo, hi, grid, k, order)
    return _evaluate(weights, cell, cell_polynomials(coef, k), grid)


def _spline_derivatives(poly, u, beyond, scales, k: int, count: int) -> list[torch.Tensor]:
    """x-derivatives 0 .. count - 1 of the splines, tangent continuation included, each ``(N, in, out)``."""
    u = u.unsqueeze(-1)                                   # (N, in, 1)
    local = [horner(poly, u, k, r) if r <= k else poly.new_zeros(()).expand_as(poly[:, :, 0])
             for r in range(max(count, 2))]               # (1/r!) d^r/du^r, each (N, in, out)
    out = [torch.addcmul(local[0], local[1], beyond.unsqueeze(-1))]  # S(x_c) + (x - x_c) S'(x_c)
    out += [local[r] * scales[r].unsqueeze(-1) for r in range(1, count)]
    return out


class _FusedSplineJet(torch.autograd.Function):
    """``spline_values`` with a hand-written backward: one graph node instead of dozens.

    Horner evaluation from the gathered cell polynomials; the x-gradient of
    derivative r is derivative r + 1, so the forward evaluates one more than
    asked when x needs a gradient. Differentiable once.
    """

    @staticmethod
    def forward(ctx, x, coef, lo, hi, grid, k, order):
        cell, u, beyond, inv_h = locate(x, lo, hi, grid)
        poly, rows = gather_polynomials(cell_polynomials(coef, k), cell, grid, k)  # (N, in, k+1, out)
        count = order + 1 + int(ctx.needs_input_grad[0])
        scales = derivative_scales(inv_h, beyond, count)
        values = _spline_derivatives(poly, u, beyond, scales, k, count)  # count x (N, in, out)
        ctx.save_for_backward(u, beyond, rows, *scales[:order + 1], *values[1:])
        ctx.sizes = (coef.shape, grid, k, order)
        return torch.stack(values[:order + 1], dim=2)     # (N, in, r+1, out)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):                              # grad (N, in, r+1, out)
        (n_in, n_out, n_coef), grid, k, order = ctx.sizes
        u, beyond, rows, *rest = ctx.saved_tensors
        scales, higher = rest[:order + 1], rest[order + 1:]
        grad_x = grad_coef = None
        if ctx.needs_input_grad[0]:
            grad_x = sum((grad[:, :, r] * higher[r]).sum(-1) for r in range(order + 1))  # (N, in)
        if ctx.needs_input_grad[1]:
            local = grad.new_zeros(*u.shape, k + 1, n_out)  # (N, in, k+1, out)
            for r in range(min(order, k) + 1):
                torch.mul(grad[:, :, r], scales[r].unsqueeze(-1), out=local[:, :, r])
            if k >= 1:  # the tangent continuation puts beyond * dS/du into the value
                local[:, :, 1].addcmul_(grad[:, :, 0], beyond.unsqueeze(-1))
            horner_transpose_(local, u.unsqueeze(-1), k, min(order, k) + 1 + (k >= 1 and order == 0))
            table = scatter_table(local.view(rows.shape[0], -1), rows, n_in * grid)
            grad_coef = cell_polynomials_backward(table, n_coef, k)
        return grad_x, grad_coef, None, None, None, None, None


def cell_polynomials_backward(table_grad: torch.Tensor, n_coef: int, k: int) -> torch.Tensor:
    """Gradient of :func:`cell_polynomials` w.r.t. the coefficients, ``(in, out, G + k)``."""
    n_rows, width = table_grad.shape
    n_out, grid = width // (k + 1), n_coef - k
    n_in = n_rows // grid
    matrix = torch.as_tensor(cardinal_matrix(k), dtype=table_grad.dtype, device=table_grad.device)
    windows = table_grad.view(n_in, grid, k + 1, n_out).permute(0, 3, 1, 2) @ matrix  # (in, out, G, k+1)
    grad = table_grad.new_zeros(n_in, n_out, n_coef)
    for m in range(k + 1):  # window m of cell c is coefficient c + m
        grad[:, :, m:m + grid] += windows[..., m]
    return grad


def spline_jet(x, coef, lo, hi, grid: int, k: int, order: int) -> torch.Tensor:
    """Same values as :func:`spline_values`, faster, but differentiable only once."""
    return _FusedSplineJet.apply(x, coef, lo, hi, grid, k, order)
