"""kanpde: physics-informed Kolmogorov-Arnold Networks for partial differential equations.

    import kanpde as kp
    problem = kp.Problem(kp.Rectangle((-1, -1), (1, 1)), pde, [kp.Dirichlet(0.0)], exact=exact)
    solution = kp.solve(problem, kp.KAN([2, 10, 1]), kp.TrainConfig())

Layout (arrows point down only; docs/architecture.md): ``nn`` <- ``geometry`` <- ``pde`` <- ``train`` <-
``symbolic``, ``fd``, ``fem`` <- ``io`` <- ``solve``, ``compare`` <- ``cli``.
"""

import importlib

from . import fd
from .io import Solution, export_fd, export_fem, export_solution
from .nn import KAN, MLP, Jet, KANLayer
from .geometry import (CSG, Ball, Box, Disk, Domain, Ellipse, Interval, MeshDomain, Polygon, Rectangle, SpaceTime,
                       Sphere, TimeInterval, Triangle)
from .pde import (BoundaryResidual, Condition, Data, Dirichlet, Field, Initial, Neumann, Periodic, Problem, Range, Robin,
                  corner_singularities, numpy_function)
from .nn.knots import MappedKAN
from .solve import solve
from .train import LBFGS, LM, Adam, SSBroyden, Causal, Galerkin, History, TimeMarching, TrainConfig, default_schedule
from .train.resume import TrainingInterrupted

__version__ = "0.1.0"

__all__ = [
    "Adam", "Ball", "BoundaryResidual", "Box", "CSG", "Causal", "Condition", "Data", "Dirichlet", "Disk", "Domain", "Ellipse", "Field",
    "Galerkin", "History", "Initial", "Interval", "Jet", "KAN", "KANLayer", "LBFGS", "LM", "MLP", "MappedKAN", "SSBroyden", "MeshDomain", "Neumann",
    "Periodic", "Polygon", "Problem", "Range", "Rectangle", "Robin", "Solution", "SpaceTime", "Sphere", "TimeInterval",
    "TimeMarching", "TrainConfig", "TrainingInterrupted", "Triangle", "default_schedule", "export_fd", "export_fem",
    "compare", "corner_singularities", "export_solution", "fd", "fem", "numpy_function", "plotting", "prune", "solve", "spectral", "symbolic",
]

# Loaded on first use, so `import kanpde` stays light: figures (matplotlib), FEM (scikit-fem), formulas (sympy).
_LAZY = {"plotting": (".io.plotting", None), "fem": (".fem", None), "symbolic": (".symbolic", None),
         "prune": (".symbolic", "prune"), "compare": (".compare", "compare"), "spectral": (".spectral", None)}


def __getattr__(name):
    if name in _LAZY:
        module_name, attribute = _LAZY[name]
        module = importlib.import_module(module_name, __name__)
        value = module if attribute is None else getattr(module, attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kanpde' has no attribute {name!r}")
