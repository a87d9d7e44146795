"""Results: Solution and checkpoints, mesh export (meshio), figures (matplotlib).

meshio and matplotlib are imported where they are used, so importing kanpde stays light.
"""

from .export import export_fd, export_fem, export_solution
from .marching import MarchedSolution
from .solution import Solution

__all__ = ["MarchedSolution", "Solution", "export_fd", "export_fem", "export_solution"]
