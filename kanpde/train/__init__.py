"""Training: stages, configuration, the trainer loop and its history."""

from .config import TrainConfig
from .distributed import DataParallel, is_main_process, launch
from .history import History
from .stages import LBFGS, Adam, Stage, default_schedule
from .trainer import Trainer

__all__ = ["Adam", "DataParallel", "History", "LBFGS", "Stage", "TrainConfig", "Trainer", "default_schedule",
           "is_main_process", "launch"]
