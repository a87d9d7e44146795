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

Two evaluation paths share this arithmetic: :func:`spline_values` (plain autograd
ops, differentiable to any order) and the once-differentiable fused kernels below
it (:func:`spline_jet` and the KAN layer jet), which evaluate all derivatives of
the gathered cell polynomials by an in-place Taylor shift and carry hand-written
backward passes; their temporaries live in reused memory (:mod:`kanpde.nn.scratch`).
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from math import comb, factorial

import numpy as np
import torch

from .scratch import recycled, scratch


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
    cell = _cell_index(s_in.detach(), grid)               # (N, in) int64
    u = s_in - cell                                       # (N, in) in [0, 1]
    count = max(order, 1) + 1                             # the continuation needs d/du even for order 0
    table = torch.as_tensor(_power_derivative_matrix(k, count), dtype=x.dtype, device=x.device)
    du = (_powers(u, k) @ table).unflatten(-1, (count, k + 1))  # (N, in, count, k+1) d^r/du^r u^p
    rank = torch.arange(count, device=x.device)
    curved = (s_in.detach() != s.detach()).unsqueeze(-1) & (rank >= 2)  # (N, in, count) no curvature outside
    scale = torch.where(curved, 0.0, h.reciprocal().unsqueeze(-1) ** rank)  # (N, in, count) 1/h^r
    weights = du[:, :, : order + 1] * scale[:, :, : order + 1, None]  # (N, in, r, k+1)
    weights[:, :, 0] += du[:, :, 1] * (s - s_in).unsqueeze(-1)  # value: + (x - x_c) dS/du, h cancels
    return weights, cell


def _cell_index(s_in: torch.Tensor, grid: int, out: torch.Tensor | None = None) -> torch.Tensor:
    """Cell of each clamped position: truncation is floor here (s_in >= 0), and the integer
    clamp also maps a NaN position (diverged training) to a valid cell, so NaN propagates
    through ``u`` instead of breaking the table lookup. ``out``: an int64 tensor to fill."""
    return (s_in.long() if out is None else out.copy_(s_in)).clamp_(0, grid - 1)


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
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # gelsd on these small batches stalls with 2 threads past ~170 rows (grid 40: 4-20 s vs 0.07 s)
    try:
        coef = torch.linalg.lstsq(basis, target, driver="gelsd").solution  # (in, G+k, out)
    finally:
        torch.set_num_threads(threads)
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


# ---------------------------------------------------------------------------
# Points-last kernels for the fused (once-differentiable) paths. Here the points sit on
# the last, contiguous axis -- inputs ``(in, N)``, cell polynomials ``(k+1, out, in, N)``
# -- so every elementwise op runs over long contiguous rows (tiny trailing axes such as
# k + 1 make PyTorch's CPU loops several times slower), the table gather/scatter moves
# whole rows of points, and derivatives of all orders are stacked on a leading axis so
# that one op treats them all (each op also costs a thread wake-up). The kernels read a
# derivative table (:func:`derivative_table`), which has the chain rule's ``p! / h^p``
# folded in, so the Taylor shift yields the x-derivatives themselves: no pass over the
# (derivative, out, in, N) arrays rescales them, forward or backward.


def derivative_table(coef: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, grid: int, k: int) -> torch.Tensor:
    """The gather table of the fused kernels: cell polynomials in ``v = x - x_c``, scaled for derivatives.

    On cell c (left knot ``x_c``) a spline is ``S = sum_p q_p u^p`` (:func:`cell_polynomials`)
    with ``u = v / h``, that is ``S = sum_p e_p v^p / p!`` with ``e_p = p! q_p / h^p``:
    ``e_p`` is ``d^p S / dx^p`` at the knot, and a Taylor shift by v (:func:`taylor_shift_`)
    turns it into the derivatives at x. Plain autograd ops on a small tensor.

    Returns:
        ``((k + 1) * out, in * G)``: row ``p * out + o``, column ``i * G + c`` holds ``e_p``
        of spline ``(i, o)`` on cell c.
    """
    n_in, n_out, n_coef = coef.shape
    poly = _knot_derivatives(coef, lo, hi, grid, k)                      # (in, out, G, k+1)
    return poly.permute(3, 1, 0, 2).reshape((k + 1) * n_out, n_in * (n_coef - k))


def cell_table(coef: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, grid: int, k: int) -> torch.Tensor:
    """:func:`derivative_table`'s entries laid out per cell for the C kernel (:mod:`kanpde.nn.native`).

    Returns:
        ``(in, G, out, k + 1)``: entry ``(i, c, o, p)`` is ``e_p`` of spline ``(i, o)`` on cell c, so that
        one point's cell reads one contiguous row of ``out * (k + 1)`` values.
    """
    return _knot_derivatives(coef, lo, hi, grid, k).permute(0, 2, 1, 3).contiguous()


def _knot_derivatives(coef, lo, hi, grid: int, k: int) -> torch.Tensor:
    """``e_p = d^p S / dx^p`` at every cell's left knot, ``(in, out, G, k + 1)``."""
    matrix = torch.as_tensor(cardinal_matrix(k), dtype=coef.dtype, device=coef.device)  # (p, m)
    factorials = coef.new_tensor([float(factorial(p)) for p in range(k + 1)])
    inv_h = (grid / (hi - lo)).to(coef.dtype).unsqueeze(-1)               # (in, 1)
    scale = factorials * inv_h ** torch.arange(k + 1, device=coef.device)  # (in, k+1) p! / h^p
    weights = matrix.T * scale.unsqueeze(1)                               # (in, m, p)
    return coef.unfold(-1, k + 1, 1) @ weights.unsqueeze(1)               # (in, out, G, k+1)


def locate(x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, grid: int):
    """Where each input sits on its grid (same arithmetic as :func:`monomial_weights`).

    Args:
        x: ``(in, N)``.

    Returns:
        ``(cell, v, beyond)``: the int64 cell index ``(in, N)`` in ``0 .. G - 1`` (in scratch
        memory: read it before the next call), the
        offset ``v`` from the cell's left knot ``(in, N)`` in ``[0, h]``, and the signed
        distance past the range ``(in, N)`` (0 inside) -- or None when no point lies
        outside (checked on the CPU only, where it costs no device sync), so the
        continuation passes are skipped.
    """
    h = ((hi - lo) / grid).unsqueeze(-1)                  # (in, 1)
    s = torch.sub(x, lo.unsqueeze(-1), out=scratch(x.shape, x, slot=2)).div_(h)  # (in, N) position in cells
    s_in = torch.clamp(s, 0.0, float(grid), out=recycled(x.shape, x, "v"))
    cell = _cell_index(s_in, grid, out=scratch(x.shape, x, slot=2, dtype=torch.long))
    beyond = s.sub_(s_in)                                 # NaN inputs count as outside (NaN != 0)
    v = s_in.sub_(cell).mul_(h)                           # (in, N)
    if beyond.device.type == "cpu" and not bool(beyond.any()):
        return cell, v, None
    return cell, v, torch.mul(beyond, h, out=recycled(x.shape, x, "beyond"))  # out of the scratch: it is saved


def _inside(beyond: torch.Tensor) -> torch.Tensor:
    """1 where a point lies in the grid range, 0 outside (no curvature there), ``(in, N)``."""
    return (beyond == 0).to(beyond.dtype)


def gather_polynomials(table: torch.Tensor, cell: torch.Tensor, grid: int, k: int, depth: int | None = None,
                       out: torch.Tensor | None = None):
    """The cell polynomial of every (input, point) and output.

    Args:
        table: ``((k + 1) * out, in * G)`` from :func:`derivative_table`.
        cell: ``(in, N)`` from :func:`locate`.
        depth: rows of the result, at least ``k + 1`` (default); the extra ones are zero,
            room for derivatives above k.
        out: optional contiguous ``(depth, out, in, N)`` tensor to fill (scratch memory).

    Returns:
        ``(poly, rows)``: poly ``(depth, out, in, N)`` with ``poly[p]`` the coefficients
        ``e_p``; rows ``(in * N,)`` the table columns read (for the backward's scatter).
    """
    n_in, n = cell.shape
    depth = max(depth or 0, k + 1)
    offsets = torch.arange(0, n_in * grid, grid, device=cell.device).unsqueeze(-1)
    rows = torch.add(cell, offsets, out=recycled(cell.shape, cell, "rows")).view(-1)
    poly = table.new_empty(depth, table.shape[0] // (k + 1), n_in, n) if out is None else out
    poly[k + 1:].zero_()
    # gather along dim 1 is faster than index_select there
    torch.gather(table, 1, rows.expand(table.shape[0], -1), out=poly[:k + 1].view(table.shape[0], -1))
    return poly, rows


def taylor_shift_(poly: torch.Tensor, v: torch.Tensor, k: int, count: int) -> torch.Tensor:
    """Turn derivative-table coefficients into x-derivatives at v, in place: ``poly[r] = d^r S / dx^r``.

    Repeated Horner steps (a Taylor shift by v) in the scaled basis ``e_j = j! c_j``:
    ``e_j += e_(j+1) v / (j + 1)``. Pass i finalises entry i, so ``count`` derivatives cost
    ``k + (k - 1) + ..`` fused multiply-adds and no new memory.

    Args:
        poly: ``(>= k + 1, out, in, N)``, overwritten.
        v: ``(in, N)``.
    """
    for i in range(min(count, k)):
        for j in range(k - 1, i - 1, -1):
            poly[j].addcmul_(poly[j + 1], v, value=1.0 / (j + 1))
    return poly


def taylor_shift_transpose_(grad: torch.Tensor, v: torch.Tensor, k: int, written: list[bool]) -> torch.Tensor:
    """The transpose of :func:`taylor_shift_`, in place: derivative gradients to coefficient gradients.

    On entry ``grad[r]`` holds the gradient w.r.t. ``d^r S / dx^r`` where ``written[r]``;
    the other entries count as zero (their memory is not read) and cost nothing. On exit
    ``grad[p] = sum_r v^(p - r) / (p - r)! grad_r`` where ``written[p]``, which is updated.

    Args:
        grad: ``(k + 1, out, in, N)``.
        v: ``(in, N)``.
    """
    for i in range(k):
        for j in range(k, i, -1):
            if not written[j - 1]:
                continue
            if written[j]:
                grad[j].addcmul_(grad[j - 1], v, value=1.0 / j)
            else:
                torch.mul(grad[j - 1], v if j == 1 else v * (1.0 / j), out=grad[j])
                written[j] = True
    return grad


def spline_derivatives_(poly, v, beyond, k: int, count: int) -> torch.Tensor:
    """x-derivatives ``0 .. count - 1`` of the splines, tangent continuation included, computed in ``poly``.

    Args:
        poly: ``(>= count, out, in, N)`` from :func:`gather_polynomials`, overwritten.
        v, beyond: from :func:`locate` (beyond None: every point inside).

    Returns:
        ``poly[:count]``: ``(count, out, in, N)``.
    """
    taylor_shift_(poly, v, k, count if beyond is None else max(count, 2))
    if beyond is not None:
        if k >= 1:
            poly[0].addcmul_(poly[1], beyond)             # S(x_c) + (x - x_c) dS/dx(x_c)
        if count > 2:
            poly[2:count].mul_(_inside(beyond))           # no curvature outside the range
    return poly[:count]


def table_gradient(local, written, g0, v, beyond, rows, n_cols: int, k: int) -> torch.Tensor | None:
    """Gradient of the gathered table from gradients w.r.t. the spline derivatives.

    Args:
        local: ``(k + 1, out, in, N)`` scratch; row r >= 1 holds ``d loss / d S^(r)`` where
            ``written[r]`` (the rest is not read). Overwritten.
        written: k + 1 flags (``written[0]`` is ignored: g0 says it).
        g0: ``d loss / d S`` broadcastable to ``(out, in, N)`` (shared by the inputs when it
            is ``dL/dy``), or None.
        v, beyond, rows: as from :func:`locate` and :func:`gather_polynomials`.
        n_cols: ``in * G``.

    Returns:
        ``((k + 1) * out, in * G)``, or None when there is no gradient at all.
    """
    written = [g0 is not None, *written[1:k + 1]]
    if not any(written):
        return None
    n_out = local.shape[1]
    if g0 is not None:
        local[0].copy_(g0)
    if beyond is not None:
        inside = _inside(beyond)
        for r in range(2, k + 1):
            if written[r]:
                local[r].mul_(inside)                     # the forward dropped the curvature outside
        if g0 is not None and k >= 1:                     # the value's continuation reads dS/dx
            if written[1]:
                local[1].addcmul_(local[0], beyond)
            else:
                torch.mul(local[0], beyond, out=local[1])
                written[1] = True
    taylor_shift_transpose_(local, v, k, written)
    first = written.index(True)                           # the entries below stay zero: not scattered
    for r in range(first, k + 1):
        if not written[r]:
            local[r].zero_()
    table = local.new_zeros((k + 1) * n_out, n_cols)
    table[first * n_out:].index_add_(1, rows, local[first:].view(-1, rows.shape[0]))
    return table


class _FusedSplineJet(torch.autograd.Function):
    """``spline_values`` with a hand-written backward: one graph node instead of dozens.

    Taylor-shift evaluation of the gathered cell polynomials (points-last kernels
    above); the x-gradient of derivative r is derivative r + 1, so the forward
    evaluates one more than asked when x needs a gradient. Differentiable once.
    """

    @staticmethod
    def forward(ctx, x, table, lo, hi, grid, k, order):
        xt = x.T.contiguous()                              # (in, N)
        cell, v, beyond = locate(xt, lo, hi, grid)
        count = order + 1 + int(ctx.needs_input_grad[0])
        poly, rows = gather_polynomials(table, cell, grid, k, depth=count)  # (depth, out, in, N)
        values = spline_derivatives_(poly, v, beyond, k, count)  # (count, out, in, N)
        ctx.save_for_backward(v, beyond, rows, values)
        ctx.sizes = (table.shape[1], k, order)
        return values[:order + 1].permute(3, 2, 0, 1)     # (N, in, r+1, out)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):                              # grad (N, in, r+1, out)
        n_cols, k, order = ctx.sizes
        v, beyond, rows, values = ctx.saved_tensors
        grad = grad.permute(2, 3, 1, 0)                   # (r+1, out, in, N)
        grad_x = grad_table = None
        if ctx.needs_input_grad[0]:
            grad_x = (grad * values[1:]).sum((0, 1)).T    # d S^(r) / dx = S^(r+1); (N, in)
        if ctx.needs_input_grad[1]:
            local = scratch((k + 1, *values.shape[1:]), v)  # (k+1, out, in, N)
            local[1:order + 1].copy_(grad[1:k + 1])
            written = [r <= order for r in range(k + 1)]
            grad_table = table_gradient(local, written, grad[0], v, beyond, rows, n_cols, k)
        return grad_x, grad_table, None, None, None, None, None


def spline_jet(x, coef, lo, hi, grid: int, k: int, order: int) -> torch.Tensor:
    """Same values as :func:`spline_values`, faster, but differentiable only once."""
    return _FusedSplineJet.apply(x, derivative_table(coef, lo, hi, grid, k), lo, hi, grid, k, order)
