"""Results: Solution and checkpoints, mesh export (meshio), figures (matplotlib).

meshio and matplotlib are imported where they are used, so importing kanpde stays light.
"""

from .export import export_fd, export_fem, export_solution
from .solution import Solution

__all__ = ["Solution", "export_fd", "export_fem", "export_solution"]
