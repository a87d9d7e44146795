"""Training: stages, configuration, the trainer loop and its history."""

from .causal import Causal
from .config import TrainConfig
from .history import History
from .marching import TimeMarching
from .stages import LBFGS, Adam, Stage, default_schedule
from .trainer import Trainer

__all__ = ["Adam", "Causal", "History", "LBFGS", "Stage", "TimeMarching", "TrainConfig", "Trainer", "default_schedule"]
