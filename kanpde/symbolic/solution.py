"""``Solution.formula()`` and ``Solution.formula_report()``: snap once, then read the formula."""

from __future__ import annotations

import time

from .formula import FormulaReport, formula_report, sympy_solution_expr
from .model import SymbolicKAN
from .snap import auto_symbolic


def snapped(solution, **options):
    """The snapped solution of ``solution`` (itself when its network is already a SymbolicKAN), computed once."""
    if isinstance(solution.network, SymbolicKAN):
        return solution
    cached = getattr(solution, "_snapped", None)
    if cached is None or (options and cached[1] != options):
        started = time.perf_counter()
        result, report = auto_symbolic(solution, **options)
        result.snap_report, result.snap_time = report, time.perf_counter() - started
        cached = (result, options)
        solution._snapped = cached
    return cached[0]


def solution_formula(solution, simplify: bool = True, digits: int | None = None, tol: float = 1e-6, **options):
    """The solution as a sympy expression (a list for several outputs); see :meth:`Solution.formula`."""
    exprs = sympy_solution_expr(snapped(solution, **options), simplify=simplify, digits=digits, tol=tol)
    return exprs[0] if len(exprs) == 1 else exprs


def solution_formula_report(solution, simplify: bool = True, digits: int | None = None, tol: float = 1e-6,
                            **options) -> FormulaReport:
    """:class:`FormulaReport` of the solution's formula; see :meth:`Solution.formula_report`."""
    result = snapped(solution, **options)
    exprs = sympy_solution_expr(result, simplify=simplify, digits=digits, tol=tol)
    return formula_report(result, exprs)


def formula_summary(solution) -> dict:
    """The formula report as plain data (``kanpde solve --formula`` writes it into summary.json):
    formula, LaTeX, rel L2, PDE residual, whether it is compact, splines left with their R^2, time."""
    started = time.perf_counter()
    report = solution_formula_report(solution)
    result = snapped(solution)
    left = getattr(result, "snap_report", None)
    return {**report.to_dict(), "time_s": time.perf_counter() - started,
            "splines_left": {f"{l},{i},{o}": r2 for (l, i, o), r2 in (left.splines_left().items() if left else [])}}
