"""Training: stages, configuration, the trainer loop and its history."""

from .config import TrainConfig
from .distributed import DataParallel, is_main_process, launch
from .history import History
from .options import Causal, Galerkin, TimeMarching
from .resume import TrainingInterrupted
from .ssbroyden import SSBroyden
from .stages import LBFGS, LM, Adam, Stage, default_schedule
from .trainer import Trainer

__all__ = ["Adam", "Causal", "DataParallel", "Galerkin", "History", "LBFGS", "LM", "SSBroyden", "Stage", "TimeMarching", "TrainConfig",
           "Trainer", "TrainingInterrupted", "default_schedule", "is_main_process", "launch"]
