"""kanpde: physics-informed Kolmogorov-Arnold Networks for partial differential equations.

    import kanpde as kp
    problem = kp.Problem(kp.Rectangle((-1, -1), (1, 1)), pde, [kp.Dirichlet(0.0)], exact=exact)
    solution = kp.solve(problem, kp.KAN([2, 10, 1]), kp.TrainConfig())
"""

from . import fd, plotting
from .export import export_fd, export_solution
from .conditions import Condition, Data, Dirichlet, Initial, Neumann, Periodic, Robin
from .fields import Field
from .geometry import Box, Disk, Domain, Interval, Rectangle, SpaceTime, TimeInterval
from .kan import KAN, Jet, KANLayer
from .mlp import MLP
from .problem import Problem
from .solution import History, Solution
from .train import LBFGS, Adam, TrainConfig, default_schedule, solve

__version__ = "0.1.0"

__all__ = [
    "Adam", "Box", "Condition", "Data", "Dirichlet", "Disk", "Domain", "Field", "History", "Initial", "Interval",
    "Jet", "KAN", "KANLayer", "LBFGS", "MLP", "Neumann", "Periodic", "Problem", "Rectangle", "Robin",
    "Solution", "SpaceTime", "TimeInterval", "TrainConfig", "default_schedule", "export_fd", "export_solution",
    "fd", "plotting", "solve",
]
