"""Snapping many edges at once: every edge against every library function, with a score.

An edge is a 1-D function sampled at ``n`` points, ``(x_e, y_e)``. For each library function
``f`` the affine fit

    y ~ c f(a x + b) + d

is found in two steps: a grid search over ``(a, b)`` with ``(c, d)`` solved in closed form,
shared by all edges (each edge's ``x`` is mapped to ``[-1, 1]`` first, so one table of
``f(a t + b)`` serves them all: the ``R^2`` of every grid point and edge is one matrix
product), then Levenberg-Marquardt on the best few candidates of each edge. The choice
minimises

    score = log10(max(1 - R^2, 1e-14)) + complexity,

the explained variance in decades traded against the description length: one more unit of
complexity (x^2 -> x^3, sin -> tan) must buy a tenfold smaller unexplained variance.
"""

from __future__ import annotations

import numpy as np
import torch

from .library import Candidate, EdgeFit, _linear_fit, _r2, resolve_library

#: The issue's library: polynomials, trigonometric, exp/log/sqrt, a Gaussian, a constant.
FORMULA_LIBRARY = ("0", "x", "x^2", "x^3", "sin", "cos", "tan", "tanh", "exp", "log", "sqrt", "gaussian")
R2_FLOOR = 1e-14  # sampled edges carry round-off: below this, 1 - R^2 says nothing more


def score(r2: float, complexity: float) -> float:
    """Error plus description length (lower is better): ``log10(1 - R^2) + complexity``."""
    return float(np.log10(max(1.0 - r2, R2_FLOOR)) + complexity)


def _grid_tables(candidate: Candidate, t: torch.Tensor, steps: int):
    """``f(a t + b)`` on a grid of ``(a, b)`` for t in [-1, 1]: ``(M, n)`` values and the ``(M, 2)`` grid."""
    if candidate.period:
        a = torch.linspace(0.05, 12.0, steps, dtype=t.dtype)
        b = torch.linspace(-candidate.period / 2, candidate.period / 2, steps, dtype=t.dtype)
    else:
        a = torch.linspace(-4.0, 4.0, steps, dtype=t.dtype)
        a = a[a.abs() > 1e-9]
        b = torch.linspace(-4.0, 4.0, steps, dtype=t.dtype)
    aa, bb = torch.meshgrid(a, b, indexing="ij")
    grid = torch.stack([aa.reshape(-1), bb.reshape(-1)], 1)                      # (M, 2)
    with torch.no_grad():
        values = candidate.torch_fn(grid[:, :1] * t + grid[:, 1:])              # (M, n)
    valid = torch.isfinite(values).all(1) & (values.abs().amax(1) < 1e8)
    return torch.where(valid.unsqueeze(1), values, torch.zeros_like(values)), grid, valid


def _grid_r2(values: torch.Tensor, valid: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``R^2`` of the best ``c f + d`` for every grid row and edge: ``(M, E)`` from one matrix product."""
    fc = values - values.mean(1, keepdim=True)                                   # (M, n)
    yc = y - y.mean(1, keepdim=True)                                             # (E, n)
    cov = fc @ yc.T                                                              # (M, E)
    var = (fc * fc).sum(1, keepdim=True)                                         # (M, 1)
    total = (yc * yc).sum(1).clamp_min(1e-300)                                   # (E,)
    r2 = cov ** 2 / (var.clamp_min(1e-300) * total)
    return torch.where(valid.unsqueeze(1) & (var > 1e-300), r2, torch.full_like(r2, -1.0))


# f and f' on numpy arrays: LM with an analytic Jacobian (torch calls per step cost more than the fit)
_NUMPY = {
    "x^2": (np.square, lambda z: 2 * z),
    "x^3": (lambda z: z ** 3, lambda z: 3 * z ** 2),
    "x^4": (lambda z: z ** 4, lambda z: 4 * z ** 3),
    "1/x": (lambda z: 1 / z, lambda z: -1 / z ** 2),
    "sqrt": (np.sqrt, lambda z: 0.5 / np.sqrt(z)),
    "exp": (np.exp, np.exp),
    "log": (np.log, lambda z: 1 / z),
    "sin": (np.sin, np.cos),
    "cos": (np.cos, lambda z: -np.sin(z)),
    "tan": (np.tan, lambda z: 1 / np.cos(z) ** 2),
    "tanh": (np.tanh, lambda z: 1 / np.cosh(z) ** 2),
    "sinh": (np.sinh, np.cosh),
    "cosh": (np.cosh, np.sinh),
    "abs": (np.abs, np.sign),
    "gaussian": (lambda z: np.exp(-z ** 2), lambda z: -2 * z * np.exp(-z ** 2)),
}


def _numpy_pair(candidate: Candidate):
    """``(f, f')`` on numpy arrays; a user's Candidate without one gets f from torch and f' by differences."""
    if candidate.name in _NUMPY:
        return _NUMPY[candidate.name]

    def f(z):
        return candidate.torch_fn(torch.as_tensor(z)).numpy()

    return f, lambda z: (f(z + 1e-6) - f(z - 1e-6)) / 2e-6


def _refine(candidate: Candidate, x: np.ndarray, y: np.ndarray, a: float, b: float) -> EdgeFit | None:
    """Levenberg-Marquardt on ``(a, b, c, d)`` from a grid start (kept if LM cannot improve it)."""
    from scipy.optimize import least_squares

    f, df = _numpy_pair(candidate)

    def residual(p):
        with np.errstate(all="ignore"):
            value = p[2] * f(p[0] * x + p[1]) + p[3] - y
        return np.where(np.isfinite(value), value, 1e6)

    def jacobian(p):
        with np.errstate(all="ignore"):
            z = p[0] * x + p[1]
            slope = p[2] * df(z)
            out = np.stack([slope * x, slope, f(z), np.ones_like(x)], 1)        # (n, 4)
        return np.where(np.isfinite(out), out, 0.0)

    with np.errstate(all="ignore"):
        start = f(a * x + b)
    if not np.isfinite(start).all():  # the grid's edge of a domain (sqrt, log at 0 after rounding)
        return None
    p = np.array([a, b, *_linear_fit(start, y)])
    try:
        refined = least_squares(residual, p, jac=jacobian, method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15,
                                max_nfev=200).x
        if np.sum(residual(refined) ** 2) <= np.sum(residual(p) ** 2):
            p = refined
    except (ValueError, np.linalg.LinAlgError):  # a non-finite Jacobian: keep the grid's fit
        pass
    fit = EdgeFit(candidate.name, *map(float, p), _r2(residual(p), y), 0.0)
    fit.score = score(fit.r2, candidate.complexity)
    return fit


def _affine_fit(candidate: Candidate, x: np.ndarray, y: np.ndarray) -> EdgeFit:
    """``c f(x) + d`` of a linear or constant f: least squares alone."""
    f = candidate.torch_fn(torch.as_tensor(x)).numpy()
    c, d = (0.0, float(y.mean())) if not np.any(f) else _linear_fit(f, y)
    fit = EdgeFit(candidate.name, 1.0, 0.0, c, d, _r2(c * f + d - y, y), 0.0)
    fit.score = score(fit.r2, candidate.complexity)
    return fit


def fit_edges(x: np.ndarray, y: np.ndarray, library=FORMULA_LIBRARY, steps: int = 61, keep: int = 2) -> list[EdgeFit]:
    """The best library function of each edge.

    Args:
        x, y: ``(E, n)`` samples of E edges (each row one edge, ``x`` increasing or not).
        library: names from :data:`kanpde.symbolic.LIBRARY` or :class:`Candidate` objects.
        steps: grid points per affine parameter in the search.
        keep: candidates per edge refined by Levenberg-Marquardt (the best ``R^2`` of the grid).

    Returns:
        one :class:`EdgeFit` per edge, the lowest :func:`score`.

    Raises:
        ValueError: ``x`` and ``y`` of different shapes or not 2-D.
    """
    x, y = np.atleast_2d(np.asarray(x, dtype=float)), np.atleast_2d(np.asarray(y, dtype=float))
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(f"x and y must both be (edges, samples) arrays of one shape, got {x.shape} and {y.shape}")
    candidates = resolve_library(library)
    lo, hi = x.min(1, keepdims=True), x.max(1, keepdims=True)
    half, mid = np.maximum((hi - lo) / 2, 1e-300), (hi + lo) / 2
    t = torch.as_tensor((x - mid) / half)                                        # (E, n) in [-1, 1]
    yt = torch.as_tensor(y)
    best: list[EdgeFit | None] = [None] * len(x)
    for candidate in candidates.values():
        if candidate.affine:
            fits = [_affine_fit(candidate, x[e], y[e]) for e in range(len(x))]
        else:
            fits = _search(candidate, x, y, t, yt, half, mid, steps, keep)
        for e, fit in enumerate(fits):
            if fit is not None and (best[e] is None or fit.score < best[e].score):
                best[e] = fit
    return best


def _search(candidate, x, y, t, yt, half, mid, steps: int, keep: int) -> list[EdgeFit | None]:
    """Grid search of one candidate for all edges at once, then LM from the ``keep`` best starts of each."""
    # edges sampled on the same relative points share one table: R^2 of every grid row and edge in one product
    shared = bool(torch.allclose(t, t[:1].expand_as(t)))
    if shared:
        values, grid, valid = _grid_tables(candidate, t[0], steps)
        table = _grid_r2(values, valid, yt)                                       # (M, E)
    out = []
    for e in range(len(x)):
        if not shared:
            values, grid, valid = _grid_tables(candidate, t[e], steps)
            table = _grid_r2(values, valid, yt[e:e + 1]).expand(-1, len(x))
        r2 = table[:, e]
        if not bool((r2 > -1).any()):
            out.append(None)
            continue
        fits = []
        for row in torch.topk(r2, min(keep, len(r2))).indices.tolist():
            a_t, b_t = float(grid[row, 0]), float(grid[row, 1])
            a, b = a_t / half[e, 0], b_t - a_t * mid[e, 0] / half[e, 0]      # a t + b in terms of x
            fits.append(_refine(candidate, x[e], y[e], float(a), float(b)))
        fits = [f for f in fits if f is not None]
        out.append(min(fits, key=lambda f: f.score) if fits else None)
    return out
