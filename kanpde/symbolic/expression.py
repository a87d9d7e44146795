"""The formula of a snapped solution: sympy expression, constant snapping, checks against the PDE.

Constants are snapped one by one: a float ``v`` becomes 0 when ``|v| <= tol``, else the
first of ``r pi^k`` (``k = 0, 1, 2, -1``) whose rational ``r`` (``sympy.nsimplify``,
denominator at most ``max_denominator``) is within ``tol * max(1, |v|)``; others are
rounded to ``digits`` significant digits (or kept). ``sympy.expand`` first gathers every
argument into one affine combination, so a phase spread over several edges and biases is
snapped as one number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp
import torch

from ..nn.jet import Jet
from ..pde.metrics import evaluation_points, relative_l2

_POWERS = (0, 1, 2, -1)


def snap_number(value: float, tol: float = 1e-6, max_denominator: int = 64, digits: int | None = None) -> sp.Expr:
    """A float as 0, a small rational times a power of pi, or a rounded Float."""
    value = float(value)
    if abs(value) <= tol:
        return sp.Integer(0)
    for k in _POWERS:
        ratio = value / np.pi ** k
        guess = sp.nsimplify(ratio, tolerance=tol * max(1.0, abs(ratio)), rational=True)
        if isinstance(guess, sp.Rational) and guess.q <= max_denominator \
                and abs(float(guess) * np.pi ** k - value) <= tol * max(1.0, abs(value)):
            return guess * sp.pi ** k
    return sp.Float(value, digits) if digits else sp.Float(value)


def snap_constants(expr: sp.Expr, tol: float = 1e-6, max_denominator: int = 64, digits: int | None = None) -> sp.Expr:
    """Every Float in ``expr`` (after expanding function arguments) through :func:`snap_number`."""
    expr = sp.expand(expr)
    floats = expr.atoms(sp.Float)
    return expr.xreplace({f: snap_number(f, tol, max_denominator, digits) for f in floats})


def sympy_solution_expr(solution, simplify: bool = True, digits: int | None = None, tol: float = 1e-6) -> list[sp.Expr]:
    """The solution u as sympy expressions in the problem's coordinate names: the snapped network
    ``N`` composed with the built-in conditions' transform ``u = A + phi psi N(E(x))``
    (:mod:`kanpde.symbolic.constraints`).

    Raises:
        TypeError: a network that is not snapped. ValueError: a ``transform=`` or ``features=`` of the
            problem's own, or built-in conditions without a closed form (function data, non-box/disk domains).
    """
    from .constraints import transform
    from .model import SymbolicKAN

    model = solution.network
    if not isinstance(model, SymbolicKAN):
        raise TypeError(f"a formula needs a snapped model (kp.symbolic.auto_symbolic), got {type(model).__name__}")
    problem = solution.problem
    if problem is not None and problem.transform is not None:
        raise ValueError("formula() cannot write a problem's own transform= as sympy; solve without it for a formula")
    if problem is not None and getattr(problem, "features", None):
        raise ValueError(f"formula() cannot write the problem's {len(problem.features)} features= inputs (torch "
                         "functions) as sympy; solve without features= for a formula")
    if problem is not None and getattr(problem, "known", None) is not None:
        raise ValueError("formula() cannot write the problem's known= part (a torch function) as sympy; solve "
                         "without known= for a formula")
    names = problem.domain.names if problem is not None else [f"x{i}" for i in range(model.in_dim)]
    symbols = sp.symbols(list(names), real=True)
    inputs, lift, factor = transform(problem, symbols) if problem is not None and problem.hard else \
        (symbols, sp.Integer(0), sp.Integer(1))
    out = []
    for expr in model.expression(inputs):
        expr = lift + factor * expr
        expr = snap_constants(expr, tol=tol, digits=digits)
        if simplify:
            expr = sp.simplify(expr)
            expr = snap_constants(expr, tol=tol, digits=digits)  # simplify may merge constants
        out.append(expr)
    return out


class FormulaModel(torch.nn.Module):
    """A sympy formula as a torch model ``(N, D) -> (N, m)``, with a jet from sympy's derivatives.

    ``jet`` lambdifies ``diff(expr, x_a)`` and ``diff(expr, x_a, x_b)`` so the PDE residual of
    the formula uses sympy's derivatives, not autograd's.
    """

    def __init__(self, exprs: list[sp.Expr], symbols, params=(), values=()):
        super().__init__()
        self.exprs, self.symbols = list(exprs), list(symbols)
        # constants as symbols: a refit changes ``values`` and reuses the lambdified derivatives
        self.params, self.values = list(params), [float(v) for v in values]
        self.in_dim, self.out_dim = len(self.symbols), len(self.exprs)
        self._dummy = torch.nn.Parameter(torch.zeros((), dtype=torch.float64), requires_grad=False)
        self._cache: dict = {}

    def _function(self, key, expr):
        if key not in self._cache:
            self._cache[key] = sp.lambdify(self.symbols + self.params, expr, modules="numpy")
        return self._cache[key]

    def _evaluate(self, key, expr, x: torch.Tensor) -> torch.Tensor:
        columns = x.detach().cpu().numpy().T
        values = np.broadcast_to(np.asarray(self._function(key, expr)(*columns, *self.values), dtype=float),
                                 (x.shape[0],))
        return torch.as_tensor(np.array(values), dtype=x.dtype, device=x.device)  # (N,)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([self._evaluate(("v", c), e, x) for c, e in enumerate(self.exprs)], 1)  # (N, m)

    def jet(self, x: torch.Tensor, pairs=None, order: int = 2) -> Jet:
        from ..nn.jet import normalize_pairs

        pairs = normalize_pairs(pairs, self.in_dim) if order == 2 else ()
        value = self.forward(x)
        grad = torch.stack([torch.stack([self._evaluate(("d", c, a), sp.diff(e, s), x)
                                         for a, s in enumerate(self.symbols)], 1)
                            for c, e in enumerate(self.exprs)], 1)            # (N, m, D)
        second = torch.stack([torch.stack([self._evaluate(("dd", c, a, b), sp.diff(e, self.symbols[a], self.symbols[b]), x)
                                           for a, b in pairs], 1) if pairs else x.new_zeros(x.shape[0], 0)
                              for c, e in enumerate(self.exprs)], 1)          # (N, m, P)
        return Jet(value, grad, second, pairs)


@dataclass
class FormulaReport:
    """How good a formula is.

    Attributes:
        formula: the sympy expression (first output), ``latex`` its LaTeX.
        rel_l2: against the exact or reference solution on the dense evaluation set (None without one).
        pde_residual: RMS of the formula's own PDE residual (sympy derivatives) on collocation points.
        compact: False when edges stayed splines (undefined functions ``S_l_i_o`` in the formula).
    """

    formula: sp.Expr
    latex: str
    rel_l2: float | None
    pde_residual: float
    compact: bool

    def to_dict(self) -> dict:
        return {"formula": str(self.formula), "latex": self.latex, "rel_l2": self.rel_l2,
                "pde_residual": self.pde_residual, "compact": self.compact}


def formula_report(solution, exprs: list[sp.Expr], points: int = 2000) -> FormulaReport:
    """Rel L2 of the formula on the dense evaluation set and its own PDE residual (see :class:`FormulaReport`)."""
    problem = solution.problem
    symbols = sp.symbols(list(problem.domain.names), real=True)
    compact = not any(e.atoms(sp.core.function.AppliedUndef) for e in exprs)
    rel = residual = None
    if compact:
        model = FormulaModel(exprs, symbols)
        if problem.has_solution():
            grid, _ = evaluation_points(problem.domain)
            x = torch.as_tensor(grid, dtype=torch.float64)
            rel = relative_l2(model(x), problem.solution_values(x).detach())
        x = torch.as_tensor(problem.domain.sample_interior(points, method="sobol", seed=11), dtype=torch.float64)
        learned = {k: torch.tensor(float(v), dtype=torch.float64) for k, v in solution.parameters.items()}
        with torch.no_grad():  # the formula is u itself: nothing to build in around it
            res = problem.soft().residuals(model, x, backend="jet", parameters=learned)
        residual = float(torch.cat([r.reshape(-1) for r in res]).pow(2).mean().sqrt())
    return FormulaReport(exprs[0], sp.latex(exprs[0]), rel, float("nan") if residual is None else residual, compact)
