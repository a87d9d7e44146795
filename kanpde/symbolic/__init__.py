"""Formulas a person can read: distil, prune, snap and verify (sympy).

    found = kp.symbolic.formula(solution)                # Formula: .expr, .text, .latex(), .rel_l2, .residual
    found.expr                                            # sin(pi*x)*sin(pi*y)
    pruned = kp.prune(solution, threshold=0.01)          # smaller KAN, same output up to what went

:func:`formula` distils the solution u into the smallest KAN shape that reaches the tolerance
(:mod:`~kanpde.symbolic.distil`), snaps every edge against the library with a score
(:func:`fit_edges`), refits the constants on the PDE residual, rounds and simplifies them and
verifies the result. It needs only ``solution.model`` and ``solution.problem``.

The network-level tools stay: :func:`auto_symbolic` snaps a trained KAN's own edges layer by
layer with fine-tuning (:class:`SymbolicKAN`), :func:`network_formula` reads such a network's
expression with the built-in conditions' transform, :func:`ridge_directions` finds the
first-layer directions of a two-ridge KAN for a linear 2-D problem.

symbolic sits below io: it imports nn, pde and train, never io or solve (a solution is duck-typed).
"""

from .edges import FORMULA_LIBRARY, fit_edges, score
from .expression import FormulaModel, FormulaReport, formula_report, snap_constants, snap_number
from .extract import Formula, count_nodes, formula
from .figure import plot_distilled
from .library import LIBRARY, Candidate, EdgeFit, best_fit, fit_candidate
from .model import SymbolicKAN
from .prune import prune, prune_kan
from .ridge import RidgeSearch, ridge_directions, ridge_model
from .snap import SnapReport, auto_symbolic
from .solution import network_formula, network_formula_report

__all__ = ["Candidate", "EdgeFit", "FORMULA_LIBRARY", "Formula", "FormulaModel", "FormulaReport", "LIBRARY",
           "RidgeSearch", "SnapReport", "SymbolicKAN", "auto_symbolic", "best_fit", "count_nodes", "fit_candidate",
           "fit_edges", "formula", "formula_report", "network_formula", "network_formula_report", "plot_distilled", "prune",
           "prune_kan", "ridge_directions", "ridge_model", "score", "snap_constants", "snap_number"]
