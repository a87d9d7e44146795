"""Results: Solution and checkpoints (``solution``), mesh building (``mesh``), field evaluation
(``fields``), mesh-file writers (``writers``, meshio) composed by ``export``, the results folder
(``results``) and figures (``plotting``, matplotlib).

meshio and matplotlib are imported where they are used, so importing kanpde stays light.
"""

from .export import export_fd, export_fem, export_solution
from .marching import MarchedSolution
from .solution import Solution

__all__ = ["MarchedSolution", "Solution", "export_fd", "export_fem", "export_solution"]
