"""``kp.symbolic.formula(solution)``: distil, snap, refit, round, simplify and verify.

1. **Distil** (:mod:`kanpde.symbolic.distil`): u, transforms included, is sampled on Sobol
   points of the domain and fitted by the smallest KAN shape that reaches ``tol``: a sum, a
   product, a ridge, then [d, 1, 1], [d, 2, 1], ... B-spline KANs with pruning.
2. **Snap** (:func:`kanpde.symbolic.edges.fit_edges`): each edge against the library, by
   error plus description length.
3. **Refit**: the formula's constants by least squares on u's samples, then by
   Levenberg-Marquardt on the PDE residual (sympy derivatives at points) and the problem's
   conditions as loss terms (u's boundary values where a condition cannot be evaluated); the
   refit is kept only if it lowers the residual and stays within ``max(10 tol, 2 e, 1e-2)`` of u.
4. **Round**: constants near small rationals times powers of pi become exact, all at once or
   one by one, only while the error stays within ``max(2 e, tol / 1000)`` of the unrounded e.
5. **Simplify** (sympy: trigsimp, factor, collect) and **verify**: rel L2 against u and the
   exact solution on held-out points, and the RMS PDE residual of the formula.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import sympy as sp
import torch

from .distil import (Distilled, distil_kan, distil_product, distil_ridge, distil_sum, rel_l2)
from .edges import FORMULA_LIBRARY, fit_edges
from .expression import FormulaModel



@dataclass
class Formula:
    """A closed-form solution and how good it is.

    Attributes:
        expr: the sympy expression of u in the domain's coordinate symbols.
        rel_l2: ``||formula - u|| / ||u||`` against the solution it was read from (the KAN).
        rel_l2_exact: the same against the exact (or reference) solution, None without one.
        residual: RMS of the formula's own PDE residual (sympy's derivatives) on interior points.
        n_nodes: nodes of the expression tree (symbols, numbers and operations).
        compact: whether ``rel_l2 <= tol`` (else the best compact formula found, with its error).
        shape: the distilled KAN it was read from (``"product [2, 1]"``, ...).
        message: what happened, in one line.
        seconds: wall time of the extraction.
    """

    expr: sp.Expr
    rel_l2: float
    rel_l2_exact: float | None
    residual: float
    n_nodes: int
    compact: bool
    shape: str
    message: str
    seconds: float = 0.0
    symbols: tuple = field(default=(), repr=False)
    distilled: Distilled | None = field(default=None, repr=False)  # the small KAN it was read from

    @property
    def text(self) -> str:
        """The formula as plain text (``sympy.sstr``)."""
        return sp.sstr(self.expr)

    def latex(self) -> str:
        """The formula as LaTeX."""
        return sp.latex(self.expr)

    def __str__(self) -> str:
        return f"u = {self.text}"

    def to_dict(self) -> dict:
        """Plain data for summary.json: every field a string, number or bool (``rel_l2_exact`` only where known)."""
        residual = self.residual if np.isfinite(self.residual) else "not evaluable (see message)"  # JSON has no NaN
        out = {"formula": self.text, "latex": self.latex(), "rel_l2": self.rel_l2, "residual": residual,
               "n_nodes": self.n_nodes, "compact": self.compact, "shape": self.shape, "message": self.message,
               "time_s": self.seconds}
        if self.rel_l2_exact is not None:
            out["rel_l2_exact"] = self.rel_l2_exact
        return out


def count_nodes(expr: sp.Expr) -> int:
    """Nodes of the expression tree: every symbol, number and operation once."""
    return sum(1 for _ in sp.preorder_traversal(expr))


class _Sampler:
    """u of a solution at points: ``solution.model`` (u with transforms) in float64, one output component."""

    def __init__(self, solution, component: int):
        self.model, self.component = solution.model, component
        ref = next(iter(self.model.parameters()), None) if isinstance(self.model, torch.nn.Module) else None
        self.dtype = ref.dtype if ref is not None else torch.float64
        self.device = ref.device if ref is not None else torch.device("cpu")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            values = self.model(torch.as_tensor(x, dtype=self.dtype, device=self.device))
        values = values.reshape(len(x), -1)
        return values[:, self.component].double().cpu().numpy()


def _lambdify(expr: sp.Expr, symbols, params=()):
    return sp.lambdify(list(symbols) + list(params), expr, modules="numpy")


def _evaluate(expr, symbols, x: np.ndarray) -> np.ndarray:
    values = _lambdify(expr, symbols)(*x.T)
    return np.broadcast_to(np.asarray(values, dtype=float), (len(x),)).copy()


def _parametrise(expr: sp.Expr):
    """``expr`` with its Floats as symbols ``p0, p1, ...``: the template, the symbols and their values."""
    floats = sorted(expr.atoms(sp.Float), key=sp.default_sort_key)
    params = sp.symbols(f"p0:{len(floats)}")
    return expr.xreplace(dict(zip(floats, params))), params, np.array([float(f) for f in floats])


def _fill(template, params, values) -> sp.Expr:
    return template.xreplace({p: sp.Float(float(v)) for p, v in zip(params, values)})


def refit_data(expr, symbols, x: np.ndarray, u: np.ndarray) -> sp.Expr:
    """The formula's constants by Levenberg-Marquardt on ``|formula(x) - u|`` (kept only if better)."""
    from scipy.optimize import least_squares

    template, params, start = _parametrise(expr)
    if not len(params):
        return expr
    fn = _lambdify(template, symbols, params)

    def residual(p):
        with np.errstate(all="ignore"):
            value = np.broadcast_to(np.asarray(fn(*x.T, *p), dtype=float), u.shape) - u
        return np.where(np.isfinite(value), value, 1e6)

    try:  # finite-difference Jacobians: each costs len(start) evaluations, so the budget scales with it
        best = least_squares(residual, start, method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15,
                             max_nfev=30 * (len(start) + 1)).x
    except (ValueError, np.linalg.LinAlgError):
        return expr
    return _fill(template, params, best) if np.sum(residual(best) ** 2) < np.sum(residual(start) ** 2) else expr


def pde_residual(problem, expr, symbols, x: np.ndarray, parameters=None, model: FormulaModel | None = None) -> np.ndarray:
    """The PDE residual of the formula at interior points, from sympy's derivatives (flattened).

    ``model``: a :class:`FormulaModel` of a template with constants as symbols (a refit reuses
    its lambdified derivatives), used instead of ``expr``.
    """
    model = model if model is not None else FormulaModel([expr], symbols)
    learned = {k: torch.tensor(float(v), dtype=torch.float64) for k, v in (parameters or {}).items()}
    with torch.no_grad():  # the formula is u itself: nothing built in around it
        residuals = problem.soft(features=False).residuals(model, torch.as_tensor(x), backend="jet", parameters=learned)
    return torch.cat([r.reshape(-1) for r in residuals]).double().numpy()


def _condition_rows(problem, model: FormulaModel, seed: int, n: int = 200):
    """A function of nothing giving the residuals of the problem's conditions (every one as a loss term) for
    the formula model's current constants, or None when a condition cannot be sampled or evaluated."""
    soft = problem.soft(features=False)
    try:
        points = [(c, c.sample(soft.domain, n, "sobol", seed + i).to(dtype=torch.float64))
                  for i, c in enumerate(soft.conditions)]
        with torch.no_grad():
            for c, pts in points:
                soft.condition_residual(c, model, pts, backend="jet")
    except (TypeError, ValueError, RuntimeError, AttributeError):
        return None

    def rows():
        with torch.no_grad():
            return np.concatenate([soft.condition_residual(c, model, pts, backend="jet").double().reshape(-1).numpy()
                                   / np.sqrt(len(pts.points)) for c, pts in points] or [np.zeros(0)])
    return rows


def refit_pde(problem, expr, symbols, x_in: np.ndarray, x_edge: np.ndarray, u_edge: np.ndarray, parameters=None,
              seed: int = 0):
    """Constants by Levenberg-Marquardt on the PDE residual and the problem's conditions (each as a loss term);
    u's values at ``x_edge`` stand in for conditions that cannot be evaluated on the formula."""
    from scipy.optimize import least_squares

    template, params, start = _parametrise(expr)
    if not len(params):
        return expr
    model = FormulaModel([template], symbols, params, start)
    conditions = _condition_rows(problem, model, seed)
    edge_fn = _lambdify(template, symbols, params)
    scale = max(float(np.sqrt(np.mean(u_edge ** 2))), 1e-12)

    def residual(p):
        model.values = [float(v) for v in p]
        with np.errstate(all="ignore"):
            interior = pde_residual(problem, None, symbols, x_in, parameters, model) / np.sqrt(len(x_in))
            if conditions is not None:
                edge = conditions()
            else:
                edge = (np.broadcast_to(np.asarray(edge_fn(*x_edge.T, *p), dtype=float), u_edge.shape) - u_edge) \
                    / np.sqrt(len(x_edge))
            value = np.concatenate([interior, 10 * edge]) / scale
        return np.where(np.isfinite(value), value, 1e6)

    try:
        best = least_squares(residual, start, method="lm", xtol=1e-14, ftol=1e-14, gtol=1e-14, max_nfev=30 * len(start)).x
    except (ValueError, np.linalg.LinAlgError, TypeError):
        return expr
    return _fill(template, params, best) if np.sum(residual(best) ** 2) < np.sum(residual(start) ** 2) else expr


def round_constants(expr, error, tol: float, snap_tol: float = 1e-5):
    """Constants near small rationals times powers of pi, rounded where the error allows.

    ``error(expr)`` is the rel L2 against u; a rounding is kept while the error stays within
    ``max(2 e0, tol / 1000)`` of the unrounded ``e0``; candidates lie within ``snap_tol`` (default 1e-5)
    relative of a fraction times a power of pi (:func:`simple_number`; a looser window catches random numbers,
    201/64 for a pi off by 3e-4). All constants at once first, else one by one;
    then constants left as floats are tried at 0, smallest first (offsets of the order of the KAN's error).
    """
    e0 = error(expr)
    limit = max(2 * e0, tol / 1000)
    expr = _merge_args(expr)
    floats = sorted(expr.atoms(sp.Float), key=lambda f: -abs(float(f)))
    rounded = {f: simple_number(f, snap_tol) for f in floats}
    rounded = {f: r for f, r in rounded.items() if r is not None}
    trial = expr.xreplace(rounded)
    if _ok(trial, error, limit):
        expr = trial
    else:
        for f, r in rounded.items():
            trial = expr.xreplace({f: r})
            if _ok(trial, error, limit):
                expr = trial
    for f in sorted(expr.atoms(sp.Float), key=lambda f: abs(float(f))):  # small leftovers of the KAN's error: 0
        trial = expr.xreplace({f: sp.Integer(0)})
        if _ok(trial, error, limit):
            expr = trial
    return expr


def simple_number(value: float, tol: float, max_denominator: int = 64) -> sp.Expr | None:
    """The simplest ``p/q pi^k`` (smallest ``q``, then ``|k|``; ``q <= max_denominator``, ``k`` in 0, 1, 2, -1)
    within ``tol * max(1, |value|)`` of ``value``, by continued fractions; None when there is none."""
    found = []
    for k in (0, 1, -1, 2):
        guess = Fraction(float(value) / np.pi ** k).limit_denominator(max_denominator)
        if guess and abs(float(guess) * np.pi ** k - float(value)) <= tol * max(1.0, abs(float(value))):
            found.append((guess.denominator, abs(k), sp.Rational(guess.numerator, guess.denominator) * sp.pi ** k))
    return min(found, key=lambda f: f[:2])[2] if found else None


def _ok(expr, error, limit) -> bool:
    try:
        return error(expr) <= limit
    except (TypeError, ValueError, ZeroDivisionError):
        return False


def _merge_args(expr):
    """Function arguments expanded, so a phase or slope spread over terms is one number."""
    return expr.replace(lambda e: isinstance(e, sp.Function) and e.args,
                        lambda e: e.func(*[sp.expand(a) for a in e.args]))


def simplify(expr, max_nodes: int = 400):
    """The shortest of a few sympy forms (trigsimp, factor, collect, simplify on small expressions)."""
    forms = [expr]
    for transform in (sp.trigsimp, sp.factor, lambda e: sp.simplify(e) if count_nodes(e) <= max_nodes else e):
        try:
            forms.append(transform(forms[-1]))
        except (TypeError, ValueError, NotImplementedError, RecursionError):
            continue
    return _tidy(min(forms, key=count_nodes))


def _tidy(expr):
    """Floats that are whole numbers become integers (a ``1.0*`` factor disappears)."""
    whole = {f: sp.Integer(int(f)) for f in expr.atoms(sp.Float) if float(f).is_integer()}
    return expr.xreplace(whole) if whole else expr


def _shapes(widths: int):
    """The distillers, simplest shape first: sum, product, ridge, then [d, w, 1] KANs up to ``widths``."""
    yield from (distil_sum, distil_product, distil_ridge)
    for w in range(1, widths + 1):
        yield lambda *a, w=w: distil_kan(*a, width=w)


def formula(solution, *, tol: float = 1e-4, points: int = 3000, library=FORMULA_LIBRARY, max_width: int = 2,
            refit: bool = True, component: int = 0, seed: int = 0, budget: float = 45.0, max_nodes: int = 30,
            verbose: bool = True) -> Formula:
    """The closed-form formula of a solution: distilled, snapped, refitted, rounded, verified.

    Args:
        solution: anything with ``.model`` (u on points ``(N, D) -> (N, m)``, transforms
            included) and ``.problem`` (a :class:`kanpde.Problem`); ``.parameters`` are used
            for an inverse problem's learned constants where present.
        tol: the rel L2 against u that a formula must reach to count as found.
        points: Sobol points of the domain on which u is sampled (as many again to check).
        library: names of the edge functions (default the issue's list, :data:`FORMULA_LIBRARY`).
        max_width: the widest [d, w, 1] KAN tried after the sum, product and ridge shapes.
        refit: refit the constants on the PDE residual and the boundary values.
        component: which output of a system.
        budget: seconds after which no further shape is tried (the refit and checks follow).
        max_nodes: a formula with more expression nodes is taken only when no smaller one was found.
        verbose: print one line per shape tried and the result.

    Returns:
        :class:`Formula` (``compact`` False: no formula reached ``tol``; the best one with its error).

    Raises:
        TypeError: a solution without ``model`` or ``problem``.
        ValueError: ``tol`` not positive, ``points`` below 100.
    """
    started = time.perf_counter()
    problem = getattr(solution, "problem", None)
    if problem is None or getattr(solution, "model", None) is None:
        raise TypeError(f"formula needs a solution with .model and .problem, got {type(solution).__name__}")
    if not tol > 0:
        raise ValueError(f"tol must be a positive rel L2, got {tol!r}")
    if not isinstance(points, int) or points < 100:
        raise ValueError(f"points must be an int >= 100, got {points!r}")
    say = print if verbose else (lambda *a, **k: None)
    sample = _Sampler(solution, component)
    x = problem.domain.sample_interior(points, method="sobol", seed=seed)
    x_test = problem.domain.sample_interior(points, method="halton", seed=seed + 1)
    u, u_test = sample(x), sample(x_test)
    symbols = sp.symbols(list(problem.domain.names), real=True)

    def error(expr):
        return rel_l2(_evaluate(expr, symbols, x_test), u_test)

    expr, e, fitted = _search(x, u, x_test, u_test, symbols, error, library, tol, max_width, max_nodes,
                              started + budget, say)
    if refit:
        expr = _refit_on_pde(problem, expr, symbols, x, solution, sample, error, tol, seed)
    expr = round_constants(expr, error, tol)
    expr = _tidy(round_constants(simplify(expr), error, tol))  # simplifying can merge constants into new ones
    result = _verify(problem, solution, expr, symbols, error, tol, fitted, seed)
    result.seconds = time.perf_counter() - started
    say(f"formula: {result.message}")
    return result


def _search(x, u, x_test, u_test, symbols, error, library, tol, max_width, max_nodes, deadline, say):
    """Distil and snap shape after shape until a formula is good enough; the best compact one found.

    Returns:
        ``(expr, rel L2 against u, Distilled)``.
    """
    found = []  # (expr, error, distilled), every shape snapped
    for distil in _shapes(max_width):
        if time.perf_counter() > deadline and found:
            say("formula: time budget spent; no larger shape tried")
            break
        fitted = distil(x, u, x_test, u_test)
        if fitted is None:
            continue
        say(f"formula: {fitted.kind} {fitted.widths}: distilled to rel L2 {fitted.error:.2e}")
        if found and fitted.error > 10 * min(e for _, e, _ in found):
            continue  # snapping cannot make a poorer distillation the best formula
        expr = _snapped(fitted, symbols, x, u, library)
        found.append((expr, error(expr), fitted))
        say(f"formula: {fitted.kind} snapped: rel L2 {found[-1][1]:.2e}, {count_nodes(expr)} nodes")
        if count_nodes(expr) <= max_nodes and (found[-1][1] <= tol or _as_good_as_its_shape(found[-1], tol)):
            break
    small = [f for f in found if count_nodes(f[0]) <= max_nodes]
    return min(small, key=lambda f: f[1]) if small else min(found, key=lambda f: count_nodes(f[0]))


def _as_good_as_its_shape(candidate, tol: float) -> bool:
    """Snapping lost little (within 2x of the distilled KAN) and the shape itself fits u to 10 tol: a KAN
    trained to only 1e-4 is not asked for a 1e-5 formula; larger shapes would mostly fit its error."""
    _, e, fitted = candidate
    return fitted.error <= 10 * tol and e <= 2 * fitted.error


def _snapped(fitted: Distilled, symbols, x, u, library) -> sp.Expr:
    """Snap every edge of the distilled KAN and refit the constants on u's samples."""
    fits = fit_edges(np.stack([e.x for e in fitted.edges]), np.stack([e.y for e in fitted.edges]), library) \
        if fitted.edges else []
    fitted.fits = fits
    expr = fitted.build(fits, symbols)
    return refit_data(_merge_args(expr), symbols, x[:1000], u[:1000])


def _refit_on_pde(problem, expr, symbols, x, solution, sample, error, tol, seed):
    """The PDE refit, kept when it lowers the PDE residual and stays within ``tol`` of u."""
    x_edge = problem.domain.sample_boundary(400, method="sobol", seed=seed + 2)
    if problem.domain.time_axis is not None:  # the initial slice is a condition too
        start = problem.domain.sample_interior(400, method="sobol", seed=seed + 3)
        start[:, problem.domain.time_axis] = problem.domain.bounds[0][problem.domain.time_axis]
        x_edge = np.concatenate([x_edge, start])
    params = getattr(solution, "parameters", None)
    x_in = x[:800]
    try:
        before = float(np.sqrt(np.mean(pde_residual(problem, expr, symbols, x_in, params) ** 2)))
        candidate = refit_pde(problem, expr, symbols, x_in, x_edge, sample(x_edge), params, seed)
        after = float(np.sqrt(np.mean(pde_residual(problem, candidate, symbols, x_in, params) ** 2)))
    except (TypeError, ValueError, RuntimeError):  # a PDE the formula model cannot evaluate: keep the data fit
        return expr
    # the PDE is the truth and the KAN only near it (a KAN trained to 2e-3 gives the exact formula at 2e-3 from
    # itself): the refit may move off the KAN, but not by more than 1 %
    return candidate if after < before and error(candidate) <= max(10 * tol, 2 * error(expr), 1e-2) else expr


def _verify(problem, solution, expr, symbols, error, tol, fitted, seed) -> Formula:
    e = error(expr)
    exact = None
    if problem.has_solution():
        x_check = problem.domain.sample_interior(4000, method="halton", seed=seed + 5)
        truth = problem.solution_values(torch.as_tensor(x_check)).detach().double().numpy()[:, 0]
        exact = rel_l2(_evaluate(expr, symbols, x_check), truth)
    x_res = problem.domain.sample_interior(1000, method="sobol", seed=seed + 7)
    try:
        residual = float(np.sqrt(np.mean(pde_residual(problem, expr, symbols, x_res,
                                                      getattr(solution, "parameters", None)) ** 2)))
    except (TypeError, ValueError, RuntimeError) as err:
        residual, note = float("nan"), f"; PDE residual not evaluable: {err}"
    else:
        note = ""
    shape = f"{fitted.kind} {fitted.widths}"
    nodes = count_nodes(expr)
    if e <= tol:
        message = f"u = {sp.sstr(expr)} ({shape}, {nodes} nodes, rel L2 {e:.1e} vs the solution{note})"
    else:
        message = (f"no compact formula reaches rel L2 {tol:.0e}; the best one ({shape}, {nodes} nodes) has "
                   f"rel L2 {e:.1e}{note}")
    return Formula(expr, e, exact, residual, nodes, e <= tol, shape, message, symbols=tuple(symbols), distilled=fitted)
