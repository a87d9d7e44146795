"""Training: stages, configuration, the trainer loop and its history."""

from .config import TrainConfig
from .history import History
from .stages import LBFGS, Adam, Stage, default_schedule
from .resume import TrainingInterrupted
from .trainer import Trainer

__all__ = ["Adam", "History", "LBFGS", "Stage", "TrainConfig", "Trainer", "TrainingInterrupted", "default_schedule"]
