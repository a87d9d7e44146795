"""The formula of a KAN network itself: snap its edges once (:func:`auto_symbolic`), then read the expression
(with the built-in conditions' transform). :func:`kanpde.symbolic.formula` distils u instead."""

from __future__ import annotations

import time

from .expression import FormulaReport, formula_report, sympy_solution_expr
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


def network_formula(solution, simplify: bool = True, digits: int | None = None, tol: float = 1e-6, **options):
    """The snapped network's u as a sympy expression (a list for several outputs); ``options`` go to
    :func:`auto_symbolic`."""
    exprs = sympy_solution_expr(snapped(solution, **options), simplify=simplify, digits=digits, tol=tol)
    return exprs[0] if len(exprs) == 1 else exprs


def network_formula_report(solution, simplify: bool = True, digits: int | None = None, tol: float = 1e-6,
                            **options) -> FormulaReport:
    """:class:`FormulaReport` of :func:`network_formula` (rel L2, PDE residual, whether compact)."""
    result = snapped(solution, **options)
    exprs = sympy_solution_expr(result, simplify=simplify, digits=digits, tol=tol)
    return formula_report(result, exprs)
