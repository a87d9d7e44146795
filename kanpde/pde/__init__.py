"""Problem definition: domains, fields, conditions, hard constraints, Problem, error metrics."""

from .csg import CSG, Difference, Intersection, Union
from .conditions import Condition, Data, Dirichlet, Initial, Neumann, Periodic, Robin
from .fields import Field
from .functions import call_points, call_predicate, numpy_function
from .geometry import Box, Disk, Domain, Interval, Rectangle, SpaceTime, TimeInterval
from .metrics import evaluation_points, relative_l2
from .mesh_domain import MeshDomain
from .problem import Problem
from .shapes import Ball, Ellipse, Polygon, Sphere, Triangle
from .features import FeatureEmbedding
from .singular import CornerFunction, corner_singularities

__all__ = ["Box", "Condition", "Data", "Dirichlet", "Disk", "Domain", "Field", "Initial", "Interval", "Neumann",
           "Periodic", "Problem", "Rectangle", "Robin", "SpaceTime", "TimeInterval", "call_points", "call_predicate",
           "evaluation_points", "numpy_function", "relative_l2", "Polygon", "Triangle", "Ellipse", "Ball", "Sphere",
           "CSG", "Union", "Difference", "Intersection", "MeshDomain", "FeatureEmbedding", "CornerFunction",
           "corner_singularities"]
