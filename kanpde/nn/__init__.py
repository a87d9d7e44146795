"""Networks: B-spline bases, KAN with its jet, MLP, model specs."""

from .jet import Jet
from .kan import KAN, KANLayer
from .mlp import MLP
from .network import Network

__all__ = ["Jet", "KAN", "KANLayer", "MLP", "Network"]
