"""kanpde: physics-informed Kolmogorov-Arnold Networks for PDEs."""

from .kan import KAN, Jet, KANLayer
from .mlp import MLP

__version__ = "0.1.0"
