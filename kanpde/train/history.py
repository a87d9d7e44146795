"""History: the per-step record of a training run."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class History:
    """Per-step training record.

    Attributes:
        steps: one dict per optimiser call: ``step`` (iterations so far), ``stage``,
            ``time`` (seconds since the start), ``step_time``, ``iterations`` (1 for Adam,
            up to the chunk for L-BFGS), ``loss`` (weighted total, before the call), every
            named loss term, ``weight:<term>`` the automatic loss weight of each term
            (:mod:`kanpde.train.balance`), and ``rel_l2`` where the error was evaluated.
        stages: one dict per stage: ``start`` (first step), ``label``, ``grid``.
        causal: with causal training, ``{"step", "eps", "weights"}`` (the M chunk weights)
            every few steps; the step records carry ``causal_eps`` and ``causal_min_w``.
    """

    steps: list[dict] = field(default_factory=list)
    stages: list[dict] = field(default_factory=list)
    causal: list[dict] = field(default_factory=list)

    def column(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """``(step numbers, values)`` of every step that recorded ``key``."""
        rows = [(r["step"], r[key]) for r in self.steps if key in r]
        if not rows:
            return np.zeros(0, dtype=int), np.zeros(0)
        steps, values = zip(*rows)
        return np.asarray(steps), np.asarray(values, dtype=float)

    @property
    def terms(self) -> list[str]:
        """Names of the loss terms, in recording order."""
        skip = {"step", "stage", "time", "step_time", "iterations", "loss", "rel_l2", "causal_eps", "causal_min_w",
                "validation"}  # validation: the best-model score (kanpde.train.best), not a loss term
        return [k for k in self.steps[0] if k not in skip and not k.startswith("weight:")] if self.steps else []

    @property
    def weights(self) -> list[str]:
        """Names of the terms with automatic weights (columns ``"weight:<term>"``)."""
        return [k[len("weight:"):] for k in self.steps[0] if k.startswith("weight:")] if self.steps else []

    def to_dict(self) -> dict:
        return {"steps": self.steps, "stages": self.stages, "causal": self.causal}
