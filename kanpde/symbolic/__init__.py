"""Interpretability: pruning, symbolic snapping of edges, and the formula of a solution (sympy).

    pruned = kp.prune(solution, threshold=0.01)          # smaller KAN, same output up to what went
    expr = solution.formula()                             # snaps, fine-tunes, returns a sympy expression
    report = solution.formula_report()                    # rel L2 vs exact, PDE residual of the formula

The steps one by one: :func:`auto_symbolic` (snap layer by layer + fine-tune on the PDE loss),
:class:`SymbolicKAN`, :func:`snap_constants`, :func:`formula_report`; :func:`ridge_directions` finds the
first-layer directions of a two-ridge KAN for a linear 2-D problem by least squares.
"""

from .formula import FormulaModel, FormulaReport, formula_report, snap_constants, snap_number
from .library import LIBRARY, Candidate, EdgeFit, best_fit, fit_candidate
from .model import SymbolicKAN
from .prune import prune, prune_kan
from .ridge import RidgeSearch, ridge_directions, ridge_model
from .snap import SnapReport, auto_symbolic
from .solution import solution_formula, solution_formula_report

__all__ = ["Candidate", "EdgeFit", "FormulaModel", "FormulaReport", "LIBRARY", "RidgeSearch", "SnapReport", "SymbolicKAN",
           "auto_symbolic", "best_fit", "fit_candidate", "formula_report", "prune", "prune_kan", "ridge_directions",
           "ridge_model", "snap_constants", "snap_number", "solution_formula", "solution_formula_report"]
