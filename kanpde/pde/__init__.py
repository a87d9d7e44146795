"""Problem definition: fields, conditions, hard constraints, Problem, error metrics, the user-function convention.

Domains live in :mod:`kanpde.geometry`.
"""

from .conditions import BoundaryResidual, Condition, Data, Dirichlet, Initial, Neumann, Periodic, Robin
from .features import FeatureEmbedding
from .fields import Field
from .functions import call_points, call_predicate, numpy_function
from .metrics import evaluation_points, relative_l2
from .params import ParamValues, Range
from .problem import Problem
from .singular import CornerFunction, corner_singularities

__all__ = ["BoundaryResidual", "Condition", "CornerFunction", "Data", "Dirichlet", "FeatureEmbedding", "Field", "Initial", "Neumann",
           "ParamValues", "Periodic", "Problem", "Range", "Robin", "call_points", "call_predicate", "corner_singularities",
           "evaluation_points", "numpy_function", "relative_l2"]
