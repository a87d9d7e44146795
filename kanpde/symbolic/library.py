"""Candidate edge functions and the affine fit ``c f(a x + b) + d`` of one edge.

The fit of candidate ``f`` to samples ``(x_n, y_n)`` is

    min_{a, b, c, d} sum_n (c f(a x_n + b) + d - y_n)^2,

found by a grid search over ``(a, b)`` with ``(c, d)`` from linear least squares at
every grid point, then refined jointly by Levenberg-Marquardt
(``scipy.optimize.least_squares``). Candidates are ranked like pykan's
``auto_symbolic``: ``(1 - w) log2(1 - R^2 + 1e-5) + w * complexity``, so a simpler
function wins unless a more complex one fits clearly better.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import sympy as sp
import torch


@dataclass(frozen=True)
class Candidate:
    """One library function.

    Attributes:
        name: its label (``"sin"``, ``"x^2"``, ...).
        torch_fn: ``f`` on tensors.
        sympy_fn: ``f`` on sympy expressions.
        complexity: the cost in the ranking (pykan's scale: x is 1, x^2 and sin are 2, ...).
        affine: ``a x + b`` inside adds nothing (f linear or constant): only ``(c, d)`` are fitted.
        period: the period of a periodic f (its fit searches ``a > 0`` and ``b`` over one period), else None.
    """

    name: str
    torch_fn: Callable[[torch.Tensor], torch.Tensor]
    sympy_fn: Callable
    complexity: float
    affine: bool = False
    period: float | None = None


def _library() -> dict[str, Candidate]:
    items = [
        Candidate("0", torch.zeros_like, lambda z: sp.Integer(0), 0, affine=True),
        Candidate("x", lambda z: z, lambda z: z, 1, affine=True),
        Candidate("x^2", lambda z: z ** 2, lambda z: z ** 2, 2),
        Candidate("x^3", lambda z: z ** 3, lambda z: z ** 3, 3),
        Candidate("x^4", lambda z: z ** 4, lambda z: z ** 4, 3),
        Candidate("1/x", lambda z: 1 / z, lambda z: 1 / z, 2),
        Candidate("sqrt", torch.sqrt, sp.sqrt, 2),
        Candidate("exp", torch.exp, sp.exp, 2),
        Candidate("log", torch.log, sp.log, 2),
        Candidate("sin", torch.sin, sp.sin, 2, period=2 * np.pi),
        Candidate("cos", torch.cos, sp.cos, 2, period=2 * np.pi),
        Candidate("tan", torch.tan, sp.tan, 3, period=np.pi),
        Candidate("tanh", torch.tanh, sp.tanh, 3),
        Candidate("sinh", torch.sinh, sp.sinh, 3),
        Candidate("cosh", torch.cosh, sp.cosh, 3),
        Candidate("abs", torch.abs, sp.Abs, 3),
        Candidate("gaussian", lambda z: torch.exp(-z ** 2), lambda z: sp.exp(-z ** 2), 3),
    ]
    return {c.name: c for c in items}


LIBRARY: dict[str, Candidate] = _library()


@dataclass
class EdgeFit:
    """The best affine fit of one candidate: ``y ~ c f(a x + b) + d`` with its R^2 and ranking score."""

    name: str
    a: float
    b: float
    c: float
    d: float
    r2: float
    score: float

    @property
    def params(self) -> tuple[float, float, float, float]:
        return self.a, self.b, self.c, self.d


def resolve_library(library=None) -> dict[str, Candidate]:
    """The candidates to try: ``None`` is the default library; names pick from it; Candidates extend it.

    Raises:
        ValueError: an unknown name. TypeError: an entry that is neither a name nor a Candidate.
    """
    if library is None:
        return dict(LIBRARY)
    out = {}
    for item in library:
        if isinstance(item, Candidate):
            out[item.name] = item
        elif isinstance(item, str):
            if item not in LIBRARY:
                raise ValueError(f"unknown library function {item!r}. Pick one of {tuple(LIBRARY)} "
                                 "or pass a kanpde.symbolic.Candidate")
            out[item] = LIBRARY[item]
        else:
            raise TypeError(f"library entries must be names or Candidate objects, got {type(item).__name__}")
    if not out:
        raise ValueError("the library of candidate functions is empty")
    return out


def _r2(residual: np.ndarray, y: np.ndarray) -> float:
    total = float(((y - y.mean()) ** 2).sum())
    res = float((residual ** 2).sum())
    if total <= 1e-300:  # a constant target: perfect if matched, else nothing explained
        return 1.0 if res <= 1e-24 * max(1.0, float((y ** 2).sum())) else 0.0
    return 1.0 - res / total


def _linear_fit(f: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """``(c, d)`` minimising ``|c f + d - y|``."""
    matrix = np.stack([f, np.ones_like(f)], axis=1)      # (N, 2)
    (c, d), *_ = np.linalg.lstsq(matrix, y, rcond=None)
    return float(c), float(d)


def _grid_search(candidate: Candidate, x: torch.Tensor, y: torch.Tensor, a_range, b_range, steps: int):
    """Best ``(a, b)`` on a grid with ``(c, d)`` solved in closed form; None when f is undefined everywhere."""
    a = torch.linspace(*a_range, steps, dtype=x.dtype)
    b = torch.linspace(*b_range, steps, dtype=x.dtype)
    a = a[a != 0]
    aa, bb = torch.meshgrid(a, b, indexing="ij")
    aa, bb = aa.reshape(-1, 1), bb.reshape(-1, 1)          # (M, 1)
    with torch.no_grad():
        f = candidate.torch_fn(aa * x + bb)                 # (M, N)
    valid = torch.isfinite(f).all(1) & (f.abs().amax(1) < 1e12)
    if not bool(valid.any()):
        return None
    f = torch.where(valid.unsqueeze(1), f, torch.zeros_like(f))
    fc = f - f.mean(1, keepdim=True)
    yc = y - y.mean()
    cov = fc @ yc                                            # (M,)
    var = (fc * fc).sum(1)
    r2 = torch.where(valid & (var > 1e-300), cov ** 2 / (var * (yc @ yc)).clamp_min(1e-300), torch.full_like(var, -1.0))
    best = int(r2.argmax())
    return float(aa[best]), float(bb[best])


def fit_candidate(candidate: Candidate, x: np.ndarray, y: np.ndarray, a_range=None, b_range=None,
                  steps: int = 81) -> EdgeFit | None:
    """Fit ``c f(a x + b) + d`` to samples; None when ``f`` cannot be evaluated on them.

    Args:
        x, y: samples ``(N,)``.
        a_range, b_range: the grid searched for ``a`` and ``b``; default ``(-10, 10)`` each, and for a
            periodic candidate ``(0, 20)`` and one period (the sign of ``a`` and whole periods of ``b``
            change nothing; a ridge of sin(pi x) sin(4 pi y) is cos(4.12 pi s) on the unit direction's
            ``s``: a = 12.95).
        steps: grid points per parameter.
    """
    from scipy.optimize import least_squares

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if candidate.affine:
        f = candidate.torch_fn(torch.as_tensor(x)).numpy()
        c, d = (0.0, float(y.mean())) if not np.any(f) else _linear_fit(f, y)
        return EdgeFit(candidate.name, 1.0, 0.0, c, d, _r2(c * f + d - y, y), 0.0)
    if a_range is None:
        a_range = (0.0, 20.0) if candidate.period else (-10.0, 10.0)
    if b_range is None:
        b_range = (-candidate.period / 2, candidate.period / 2) if candidate.period else (-10.0, 10.0)
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    start = _grid_search(candidate, xt, yt, a_range, b_range, steps)
    if start is None:
        return None
    a, b = start
    f = candidate.torch_fn(torch.as_tensor(a * x + b)).numpy()
    c, d = _linear_fit(f, y)

    def residual(p):
        with np.errstate(all="ignore"):
            value = p[2] * candidate.torch_fn(torch.as_tensor(p[0] * x + p[1])).numpy() + p[3] - y
        return np.where(np.isfinite(value), value, 1e6)

    p = np.array([a, b, c, d])
    try:
        refined = least_squares(residual, p, method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=2000).x
        if np.sum(residual(refined) ** 2) <= np.sum(residual(p) ** 2):
            p = refined
    except (ValueError, np.linalg.LinAlgError):  # LM needs a finite Jacobian: keep the grid's fit
        pass
    r = residual(p)
    return EdgeFit(candidate.name, *map(float, p), _r2(r, y), 0.0)


def rank(fit: EdgeFit, complexity: float, weight_simple: float) -> float:
    """pykan's ranking: lower is better."""
    return (1 - weight_simple) * float(np.log2(max(1 - fit.r2, 0.0) + 1e-5)) + weight_simple * complexity


def best_fit(x, y, library=None, weight_simple: float = 0.8, r2_threshold: float = 0.9,
             **grid) -> tuple[EdgeFit, list[EdgeFit]]:
    """The best candidate for samples ``(x, y)`` and all fits, best first.

    Only fits with ``R^2 >= r2_threshold`` compete in the ranking (so ``0`` wins only on a
    constant edge); when none reaches it, the best R^2 comes first.

    Raises:
        ValueError: no candidate could be evaluated on the samples.
    """
    candidates = resolve_library(library)
    fits = []
    for candidate in candidates.values():
        fit = fit_candidate(candidate, x, y, **grid)
        if fit is not None:
            fit.score = rank(fit, candidate.complexity, weight_simple)
            fits.append(fit)
    if not fits:
        raise ValueError(f"no library function ({', '.join(candidates)}) can be evaluated on these samples")
    fits.sort(key=lambda f: (f.r2 < r2_threshold, f.score if f.r2 >= r2_threshold else -f.r2))
    return fits[0], fits
