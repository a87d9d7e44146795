"""Problem definition: domains, fields, conditions, hard constraints, Problem, error metrics."""

from .conditions import Condition, Data, Dirichlet, Initial, Neumann, Periodic, Robin
from .fields import Field
from .functions import call_points, call_predicate, numpy_function
from .geometry import Box, Disk, Domain, Interval, Rectangle, SpaceTime, TimeInterval
from .metrics import evaluation_points, relative_l2
from .problem import Problem

__all__ = ["Box", "Condition", "Data", "Dirichlet", "Disk", "Domain", "Field", "Initial", "Interval", "Neumann",
           "Periodic", "Problem", "Rectangle", "Robin", "SpaceTime", "TimeInterval", "call_points", "call_predicate",
           "evaluation_points", "numpy_function", "relative_l2"]
