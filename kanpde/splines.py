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
def _power_derivative_tables(k: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Index and factor tables with ``d^r/du^r u^p = factor[r, p] * u^index[r, p]``, ``r < count``."""
    index = np.zeros((count, k + 1), dtype=np.int64)
    factor = np.zeros((count, k + 1))
    for r in range(count):
        for p in range(r, k + 1):
            index[r, p] = p - r
            factor[r, p] = factorial(p) / factorial(p - r)
    return index, factor


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
    count = max(order, 1) + 1
    index, factor = _power_derivative_tables(k, count)
    factor = torch.as_tensor(factor, dtype=x.dtype, device=x.device)
    powers = _powers(u, k)                                # (N, in, k+1)
    weights = powers[..., torch.as_tensor(index.ravel(), device=x.device)].unflatten(-1, (count, k + 1))
    weights = weights * factor                            # (N, in, count, k+1) d^r/du^r u^p
    beyond = (s - s_in)[..., None, None]                  # (N, in, 1, 1) distance past the range, in cells
    parts = [weights[:, :, :1] + beyond * weights[:, :, 1:2], weights[:, :, 1:2]]
    if order >= 2:
        parts.append(weights[:, :, 2:] * (beyond == 0).to(x.dtype))
    weights = torch.cat(parts, dim=2)[:, :, : order + 1]  # (N, in, r, k+1)
    inverse_h = h.reciprocal()[:, None] ** torch.arange(order + 1, device=x.device)  # (in, r)
    return weights * inverse_h[..., None], cell.long()


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


def _table_rows(cell: torch.Tensor, grid: int) -> torch.Tensor:
    """Flat table row of every (point, input): ``(N * in,)``."""
    return (cell + torch.arange(cell.shape[1], device=cell.device) * grid).reshape(-1)


def _evaluate(weights, cell, table, grid: int) -> torch.Tensor:
    n, n_in, _, k1 = weights.shape
    local = table.index_select(0, _table_rows(cell, grid)).view(n, n_in, k1, -1)  # (N, in, k+1, out)
    return weights @ local                                # (N, in, r, out)


def spline_values(x, coef, lo, hi, grid: int, k: int, order: int = 0) -> torch.Tensor:
    """Splines ``S_io(x_i) = sum_g B_g(x_i) coef[i, o, g]`` and their x-derivatives.

    Plain autograd operations, so derivatives of any order can be taken through it.

    Returns:
        ``(N, in, order + 1, out)``.
    """
    weights, cell = monomial_weights(x, lo, hi, grid, k, order)
    return _evaluate(weights, cell, cell_polynomials(coef, k), grid)


class _FusedSplineJet(torch.autograd.Function):
    """``spline_values`` with a hand-written backward: one graph node instead of dozens.

    The x-gradient of derivative r is derivative r + 1, so the forward also
    evaluates one derivative more than asked. Differentiable once.
    """

    @staticmethod
    def forward(ctx, x, coef, lo, hi, grid, k, order):
        weights, cell = monomial_weights(x, lo, hi, grid, k, order + 1)  # (N, in, r+2, k+1)
        values = _evaluate(weights, cell, cell_polynomials(coef, k), grid)  # (N, in, r+2, out)
        ctx.save_for_backward(weights[:, :, :-1], values[:, :, 1:], _table_rows(cell, grid))
        ctx.sizes = (coef.shape, grid, k)
        return values[:, :, :-1]

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):                              # grad (N, in, r+1, out)
        weights, higher, rows = ctx.saved_tensors
        (n_in, n_out, n_coef), grid, k = ctx.sizes
        grad_x = (grad * higher).sum((-1, -2)) if ctx.needs_input_grad[0] else None  # (N, in)
        grad_coef = None
        if ctx.needs_input_grad[1]:
            grad_local = weights.transpose(-1, -2) @ grad  # (N, in, k+1, out)
            table = grad.new_zeros(n_in * grid, (k + 1) * n_out)
            table.index_add_(0, rows, grad_local.reshape(rows.shape[0], -1))
            matrix = torch.as_tensor(cardinal_matrix(k), dtype=grad.dtype, device=grad.device)
            windows = table.view(n_in, grid, k + 1, n_out).permute(0, 3, 1, 2) @ matrix  # (in, out, G, k+1)
            grad_coef = grad.new_zeros(n_in, n_out, n_coef)
            for m in range(k + 1):  # window m of cell c is coefficient c + m
                grad_coef[:, :, m:m + grid] += windows[..., m]
        return grad_x, grad_coef, None, None, None, None, None


def spline_jet(x, coef, lo, hi, grid: int, k: int, order: int) -> torch.Tensor:
    """Same values as :func:`spline_values`, faster, but differentiable only once."""
    return _FusedSplineJet.apply(x, coef, lo, hi, grid, k, order)
