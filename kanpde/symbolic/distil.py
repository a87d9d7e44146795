"""Distillation: the smallest KAN that represents a solution u, tried from the simplest shape up.

The solution u (hard constraints and transforms included) is sampled on points of its
domain, and small KANs of growing size are fitted to those samples until one reaches the
tolerance. Each shape is a KAN whose edges are 1-D functions:

- ``sum``      [d, 1]:      u = c + sum_i phi_i(x_i);
- ``product``  [d, 1] with a multiplication node:  u = c + prod_i phi_i(x_i);
- ``ridge``    [d, 1, 1] with linear first-layer edges:  u = g(w . x);
- ``kan``      [d, w, 1] for w = 1, 2, ...: B-spline edges trained with L-BFGS, a sparsity
  regulariser, then pruned (:func:`kanpde.symbolic.prune_kan`); the general fallback.

The edges of the first three are Chebyshev series of degree ``DEGREE`` on each coordinate's
range, fitted by linear least squares: the sum in one solve, the product by alternating
least squares (one factor at a time), the ridge by variable projection (the series of g in
closed form for each direction w, the direction by a grid over angles and a bounded search).
They are exact to round-off for smooth edges, so snapping sees clean curves. Edges whose
variation is below ``PRUNE`` of the whole are pruned (constant; their variable leaves the formula).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import sympy as sp
import torch
from numpy.polynomial import chebyshev

DEGREE = 32      # Chebyshev degree of an edge: sin(4 pi y) on [-1, 1] to ~1e-10
PRUNE = 1e-7     # an edge varying less than this (relative to u) is a constant
EDGE_SAMPLES = 201


@dataclass
class Edge:
    """One edge to snap: its label, samples ``x`` (evenly spaced over its input range) and values ``y``."""

    label: str
    x: np.ndarray
    y: np.ndarray


@dataclass
class Distilled:
    """A small KAN fitted to u.

    Attributes:
        kind: ``"sum"``, ``"product"``, ``"ridge"`` or ``"kan"``.
        widths: its widths (``[d, 1]``, ``[d, 1, 1]``, ``[d, w, 1]``), inputs left after pruning.
        error: rel L2 against u on held-out points.
        edges: the edges to snap.
        build: ``build(fits, symbols) -> sympy expr`` from one :class:`EdgeFit` per edge.
        predict: the distilled KAN on points ``(N, d)`` (numpy).
        network: the pruned :class:`kanpde.KAN` of a ``"kan"`` shape (for figures), else None.
    """

    kind: str
    widths: list[int]
    error: float
    edges: list[Edge]
    build: Callable
    predict: Callable
    network: object = None
    inputs: list[int] = field(default_factory=list)
    fits: list = field(default_factory=list)  # the snapped edges (set by formula), for figures


def rel_l2(a: np.ndarray, b: np.ndarray) -> float:
    """``||a - b|| / ||b||`` (``||a - b||`` when b is zero)."""
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


class Axes:
    """Each coordinate's range from the samples, and the map to ``t`` in [-1, 1]."""

    def __init__(self, x: np.ndarray):
        self.lo, self.hi = x.min(0), x.max(0)
        self.mid, self.half = (self.lo + self.hi) / 2, np.maximum((self.hi - self.lo) / 2, 1e-300)

    def t(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mid) / self.half                                          # (N, d)

    def line(self, i: int) -> np.ndarray:
        return np.linspace(self.lo[i], self.hi[i], EDGE_SAMPLES)


def _vander(t: np.ndarray) -> np.ndarray:
    return chebyshev.chebvander(np.clip(t, -1, 1), DEGREE)                         # (N, DEGREE + 1)


def _edge_fit_term(fit, z):
    """``c f(a z + b) + d`` of one snapped edge as sympy (constants as Floats)."""
    from .library import LIBRARY

    f = LIBRARY[fit.name].sympy_fn
    if fit.name == "0":
        return sp.Float(fit.d)
    inner = z if fit.name == "x" else sp.Float(fit.a) * z + sp.Float(fit.b)
    return sp.Float(fit.c) * f(inner) + sp.Float(fit.d)


def distil_sum(x: np.ndarray, u: np.ndarray, x_test: np.ndarray, u_test: np.ndarray) -> Distilled:
    """u = c + sum_i phi_i(x_i), all edges in one least-squares solve."""
    axes = Axes(np.concatenate([x, x_test]))  # both sets inside the ranges: no extrapolation
    d = x.shape[1]

    def columns(points):
        t = axes.t(points)
        return np.concatenate([np.ones((len(points), 1))] + [_vander(t[:, i])[:, 1:] for i in range(d)], 1)

    coef, *_ = np.linalg.lstsq(columns(x), u, rcond=None)
    blocks = [coef[1 + i * DEGREE: 1 + (i + 1) * DEGREE] for i in range(d)]

    def edge(i, xi):
        return _vander((xi - axes.mid[i]) / axes.half[i])[:, 1:] @ blocks[i]

    scale = max(np.std(u), 1e-300)
    kept = [i for i in range(d) if np.std(edge(i, axes.line(i))) > PRUNE * scale]
    edges = [Edge(f"phi_{i}", axes.line(i), edge(i, axes.line(i))) for i in kept]

    def build(fits, symbols):
        return sp.Float(coef[0]) + sum((_edge_fit_term(f, symbols[i]) for f, i in zip(fits, kept)), sp.Integer(0))

    def predict(points):
        return columns(points) @ coef

    return Distilled("sum", [len(kept), 1], rel_l2(predict(x_test), u_test), edges, build, predict, inputs=kept)


def distil_product(x: np.ndarray, u: np.ndarray, x_test: np.ndarray, u_test: np.ndarray, sweeps: int = 60,
                   seed: int = 0) -> Distilled:
    """u = c + K prod_i phi_i(x_i) by alternating least squares (each factor's series in turn)."""
    axes = Axes(np.concatenate([x, x_test]))  # both sets inside the ranges: no extrapolation
    d = x.shape[1]
    t = axes.t(x)
    basis = [_vander(t[:, i]) for i in range(d)]                                   # d x (N, DEGREE + 1)
    rng = np.random.default_rng(seed)
    coef = [rng.standard_normal(DEGREE + 1) / (1 + np.arange(DEGREE + 1)) for _ in range(d)]
    offset, last = 0.0, np.inf
    for _ in range(sweeps):
        for i in range(d):
            others = np.prod([basis[j] @ coef[j] for j in range(d) if j != i], axis=0) if d > 1 else np.ones(len(x))
            matrix = np.concatenate([others[:, None] * basis[i], np.ones((len(x), 1))], 1)
            solved, *_ = np.linalg.lstsq(matrix, u, rcond=None)
            coef[i], offset = solved[:-1], float(solved[-1])
            coef[i] /= max(np.linalg.norm(coef[i]), 1e-300) ** (1.0 if i < d - 1 else 0.0)  # scale in the last factor
        misfit = float(np.sum((matrix @ solved - u) ** 2))
        if misfit >= last * (1 - 1e-10):  # converged (or stalled)
            break
        last = misfit

    def factor(i, xi):
        return _vander((xi - axes.mid[i]) / axes.half[i]) @ coef[i]

    def predict(points):
        return offset + np.prod([factor(i, points[:, i]) for i in range(d)], axis=0)

    lines = [factor(i, axes.line(i)) for i in range(d)]
    constant = [i for i in range(d) if np.std(lines[i]) <= PRUNE * max(np.abs(lines[i]).max(), 1e-300)]
    kept = [i for i in range(d) if i not in constant]
    scale = float(np.prod([np.mean(lines[i]) for i in constant])) if constant else 1.0
    edges = [Edge(f"phi_{i}", axes.line(i), lines[i]) for i in kept]

    def build(fits, symbols):
        gain, terms = sp.Float(scale), []
        for fit, i in zip(fits, kept):  # c f(a x + b) + d = c (f(a x + b) + d / c): every c joins one gain
            if fit.name == "0" or abs(fit.c) < 1e-300:
                terms.append(sp.Float(fit.d))
                continue
            gain *= sp.Float(fit.c)
            inner = symbols[i] if fit.name == "x" else sp.Float(fit.a) * symbols[i] + sp.Float(fit.b)
            from .library import LIBRARY

            terms.append(LIBRARY[fit.name].sympy_fn(inner) + sp.Float(fit.d / fit.c))
        return sp.Float(offset) + gain * sp.Mul(*terms)

    return Distilled("product", [len(kept), 1], rel_l2(predict(x_test), u_test), edges, build, predict, inputs=kept)


def _directions(d: int, n: int) -> np.ndarray:
    """Unit directions covering half the sphere: ``(M, d)`` (angles in [0, pi) in 2-D)."""
    if d == 2:
        angle = np.linspace(0, np.pi, n, endpoint=False)
        return np.stack([np.cos(angle), np.sin(angle)], 1)
    polar, azimuth = np.meshgrid(np.linspace(0, np.pi / 2, n // 4 + 1), np.linspace(0, 2 * np.pi, n, endpoint=False))
    return np.stack([np.sin(polar) * np.cos(azimuth), np.sin(polar) * np.sin(azimuth), np.cos(polar)], -1).reshape(-1, 3)


def distil_ridge(x: np.ndarray, u: np.ndarray, x_test: np.ndarray, u_test: np.ndarray) -> Distilled | None:
    """u = g(w . t) with t the coordinates mapped to [-1, 1]: variable projection over the direction w.

    Only for d = 2 or 3 (a grid over directions); None otherwise.
    """
    d = x.shape[1]
    if d not in (2, 3):
        return None
    from scipy.optimize import minimize

    axes = Axes(np.concatenate([x, x_test]))  # both sets inside the ranges: no extrapolation
    t = axes.t(x)

    def solve(w, rows=slice(None)):
        s = t[rows] @ w
        lo, hi = s.min(), s.max()
        basis = _vander((s - (lo + hi) / 2) / max((hi - lo) / 2, 1e-300))
        coef, *_ = np.linalg.lstsq(basis, u[rows], rcond=None)
        return float(np.sum((basis @ coef - u[rows]) ** 2)), coef, lo, hi

    search = slice(0, 800)  # the direction search needs few points; the final fit takes them all
    grid = _directions(d, 180 if d == 2 else 48)
    best = min(grid, key=lambda w: solve(w, search)[0])
    if d == 2:
        start = [math.atan2(best[1], best[0])]

        def unit(p):
            return np.array([math.cos(p[0]), math.sin(p[0])])
    else:
        start = [math.acos(np.clip(best[2], -1, 1)), math.atan2(best[1], best[0])]

        def unit(p):
            return np.array([math.sin(p[0]) * math.cos(p[1]), math.sin(p[0]) * math.sin(p[1]), math.cos(p[0])])
    p = minimize(lambda q: solve(unit(q), search)[0], start, method="Nelder-Mead",
                 options={"xatol": 1e-12, "fatol": 1e-30, "maxiter": 400}).x
    w = unit(p)
    _, coef, lo, hi = solve(w)
    weights = w / axes.half                                    # s = sum_i weights_i x_i + shift
    shift = -float(np.dot(w, axes.mid / axes.half))
    kept = [i for i in range(d) if abs(w[i]) > PRUNE]

    def g(s):
        return _vander((s - (lo + hi) / 2) / max((hi - lo) / 2, 1e-300)) @ coef

    def predict(points):
        return g(axes.t(points) @ w)

    line = np.linspace(lo, hi, EDGE_SAMPLES)
    edges = [Edge("g", line, g(line))]

    def build(fits, symbols):
        s = sum((sp.Float(weights[i]) * symbols[i] for i in kept), sp.Float(shift))
        return _edge_fit_term(fits[0], s)

    return Distilled("ridge", [len(kept), 1, 1], rel_l2(predict(x_test), u_test), edges, build, predict, inputs=kept)


def distil_kan(x: np.ndarray, u: np.ndarray, x_test: np.ndarray, u_test: np.ndarray, width: int, steps: int = 150,
               sparsity: float = 1e-5, seed: int = 0) -> Distilled:
    """A [d, width, 1] B-spline KAN trained on the samples (L-BFGS, sparsity regulariser), then pruned."""
    from ..nn.kan import KAN
    from ..nn.sparsity import sparsity_penalty
    from .prune import prune_kan

    axes = Axes(np.concatenate([x, x_test]))  # both sets inside the ranges: no extrapolation
    d = x.shape[1]
    xt = torch.as_tensor(axes.t(x))
    ut = torch.as_tensor(u).unsqueeze(1)
    scale = float(ut.std().clamp_min(1e-300))
    net = KAN([d, width, 1], grid=10, k=3, seed=seed).double()
    optimizer = torch.optim.LBFGS(net.parameters(), lr=1.0, max_iter=steps, history_size=50,
                                  tolerance_grad=1e-14, tolerance_change=1e-16, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = ((net(xt) - ut) / scale).pow(2).mean() + sparsity * sparsity_penalty(net, xt)
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        net = prune_kan(net, xt, threshold=1e-2)
    kept = [i for i in range(d)]
    edges, layers = [], []
    inputs = xt
    with torch.no_grad():
        for l, layer in enumerate(net.layers):
            lo, hi = inputs.min(0).values, inputs.max(0).values
            line = lo + torch.linspace(0, 1, EDGE_SAMPLES, dtype=lo.dtype).unsqueeze(1) * (hi - lo)  # (n, in)
            phi = layer.edge_values(line)[0]                                                         # (n, in, out)
            layers.append([(i, o) for i in range(layer.in_dim) for o in range(layer.out_dim)])
            edges += [Edge(f"phi_{l}_{i}_{o}", line[:, i].numpy(), phi[:, i, o].numpy()) for i, o in layers[-1]]
            inputs = layer(inputs)
    biases = [layer.bias.detach().numpy().copy() for layer in net.layers]

    def build(fits, symbols):
        values = [(symbols[i] - sp.Float(axes.mid[i])) / sp.Float(axes.half[i]) for i in range(d)] \
            if len(symbols) == d else list(symbols)
        k = 0
        for l, pairs in enumerate(layers):
            out = [sp.Float(b) for b in biases[l]]
            for i, o in pairs:
                out[o] += _edge_fit_term(fits[k], values[i])
                k += 1
            values = out
        return values[0]

    def predict(points):
        with torch.no_grad():
            return net(torch.as_tensor(axes.t(points))).squeeze(1).numpy()

    return Distilled("kan", list(net.widths), rel_l2(predict(x_test), u_test), edges, build, predict, network=net,
                     inputs=kept)
