"""Chebyshev spectral collocation baselines on boxes (numpy + scipy linear algebra).

* elliptic   ``Δu + c u = f``, ``u = g`` on the boundary   (:func:`elliptic`)
* parabolic  ``u_t = α Δu + f``                               (:func:`solve_linear`, method of lines)

Each axis carries the ``n + 1`` Chebyshev-Gauss-Lobatto points mapped to ``[lo, hi]``;
``d²/dx²`` is the square of the Chebyshev differentiation matrix (Trefethen, "Spectral
Methods in MATLAB", 2000, ``cheb.m``). The Laplacian is the Kronecker sum of its interior
blocks; Dirichlet data enter through the boundary columns. For smooth solutions the
error falls exponentially with ``n`` until round-off (about 1e-13 relative).
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from .fd import FDSolution, Linear, _axis_sum, _Boundary, _evaluate, _finish, _grid_points, _kron_sum, \
    _names, method_of_lines

__all__ = ["chebyshev", "elliptic", "solve_linear", "SpectralSolution"]


def chebyshev(n: int, lo: float = -1.0, hi: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Chebyshev-Gauss-Lobatto nodes on ``[lo, hi]`` (ascending) and the first-derivative matrix.

    Args:
        n: polynomial degree (``n + 1`` nodes), an int >= 2.
        lo, hi: interval ends, ``hi > lo``.

    Returns:
        ``(nodes (n+1,), D (n+1, n+1))`` with ``D @ u(nodes) = u'(nodes)`` for polynomials of degree n.

    Raises:
        ValueError: ``n`` not an int >= 2, or ``hi <= lo``.
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 2:
        raise ValueError(f"n must be an int >= 2 (the polynomial degree), got {n!r}")
    if not hi > lo:
        raise ValueError(f"need hi > lo, got lo={lo}, hi={hi}")
    x = -np.cos(np.pi * np.arange(n + 1) / n)                       # ascending on [-1, 1]
    weights = np.ones(n + 1)
    weights[[0, -1]] = 2.0
    weights *= (-1.0) ** np.arange(n + 1)
    dx = x[:, None] - x[None, :] + np.eye(n + 1)
    D = np.outer(weights, 1.0 / weights) / dx
    D -= np.diag(D.sum(axis=1))                                        # negative-sum trick: exact for constants
    scale = 2.0 / (hi - lo)
    return lo + (x + 1.0) / scale, D * scale


class SpectralSolution(FDSolution):
    """Nodal values on a Chebyshev tensor grid; :meth:`interpolate` is the tensor-product
    polynomial interpolant (barycentric), not a spline."""

    def interpolate(self, points):
        """The interpolating polynomial at ``(M, d)`` points inside the box, ``(M, 1)`` numpy out
        (a parabolic solution: at its last time level)."""
        pts = np.asarray(points, dtype=float)
        grids = [a for name, a in self.axes.items() if name != "t"]
        if pts.ndim != 2 or pts.shape[1] != len(grids):
            raise ValueError(f"points must have shape (M, {len(grids)}), got {pts.shape}")
        values = self.values[..., -1] if "t" in self.axes else self.values
        out = np.einsum("mi,i...->m...", _barycentric(grids[0], pts[:, 0]), values)   # (M, n_2+1, ...)
        for i in range(1, len(grids)):
            out = np.einsum("mi,mi...->m...", _barycentric(grids[i], pts[:, i]), out)
        return out.reshape(-1, 1)


def _barycentric(nodes: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``(M, n+1)`` barycentric interpolation weights of Chebyshev-Lobatto nodes at points x."""
    n = len(nodes) - 1
    w = (-1.0) ** np.arange(n + 1)
    w[[0, -1]] *= 0.5
    diff = x[:, None] - nodes[None, :]
    exact = np.isclose(diff, 0.0, atol=1e-14 * (nodes[-1] - nodes[0]))
    diff[exact] = 1.0
    terms = w / diff
    terms[exact.any(axis=1)] = exact[exact.any(axis=1)].astype(float)
    return terms / terms.sum(axis=1, keepdims=True)


def _second_derivative(nodes_D) -> np.ndarray:
    nodes, D = nodes_D
    return (D @ D)[1:-1, :]                                             # (n-1, n+1): interior rows


def elliptic(f, lo, hi, n, g=0.0, c=0.0, names=None) -> SpectralSolution:
    """``Δu + c u = f`` in a box with ``u = g`` on the boundary, by Chebyshev collocation.

    Args:
        f, g: source and Dirichlet data, numbers or functions of ``(M, d)`` points (kanpde convention).
        lo, hi: box corners, length d in 1..3.
        n: polynomial degree per axis (an int >= 2): ``(n+1)^d`` nodes.
        c: zeroth-order coefficient.
        names: coordinate names.

    Returns:
        :class:`SpectralSolution` on the Chebyshev tensor grid.

    Raises:
        ValueError: bad box or ``n``, a singular system, or non-finite data.
    """
    start = time.perf_counter()
    lo, hi = np.atleast_1d(np.asarray(lo, float)), np.atleast_1d(np.asarray(hi, float))
    if lo.shape != hi.shape or lo.ndim != 1 or not 1 <= lo.size <= 3:
        raise ValueError(f"lo and hi must be corners of a 1-, 2- or 3-D box, got {lo.tolist()} and {hi.tolist()}")
    grids = [chebyshev(n, a, b) for a, b in zip(lo, hi)]
    axes = [nodes for nodes, _ in grids]
    d2 = [_second_derivative(pair) for pair in grids]
    A = _kron_sum([sp.csr_matrix(D[:, 1:-1]) for D in d2])             # (M, M) interior Laplacian
    if c:
        A = A + float(c) * sp.identity(A.shape[0], format="csr")
    full = _Boundary(g, axes).grid()                                    # Dirichlet data, zeros inside
    rhs = _evaluate(f, _grid_points([a[1:-1] for a in axes]), "f") - _axis_sum(full, d2).ravel()
    interior = tuple(slice(1, -1) for _ in axes)
    full[interior] = splu(A.tocsc()).solve(rhs).reshape(tuple(len(a) - 2 for a in axes))
    named = dict(zip(_names(names, len(axes), False), axes))
    return _as_spectral(_finish(named, full, "spectral-chebyshev-collocation", start))


def _as_spectral(solution: FDSolution) -> SpectralSolution:
    return SpectralSolution(solution.axes, solution.values, solution.method, solution.elapsed)


def solve_linear(lin: Linear, n: int) -> SpectralSolution:
    """The Chebyshev solution of a :class:`kanpde.fd.Linear` on a box, degree ``n`` per axis
    (parabolic problems: the method of lines, :func:`kanpde.fd.method_of_lines`).

    Raises:
        ValueError: the domain is not a box.
    """
    box = lin.box
    if box is None:
        raise ValueError(f"the spectral baseline needs a box domain, got {lin.domain!r}")
    lo, hi = box
    if not lin.parabolic:
        return elliptic(lin.f, lo, hi, n, g=lin.g, c=lin.c, names=tuple(lin.domain.names))
    start = time.perf_counter()
    grids = [chebyshev(n, a, b) for a, b in zip(lo, hi)]
    result = method_of_lines(lin, [nodes for nodes, _ in grids], [_second_derivative(pair) for pair in grids],
                             "spectral-chebyshev-mol", start)
    return _as_spectral(result)
