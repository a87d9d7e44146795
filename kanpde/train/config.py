"""TrainConfig: how to train, validated when built."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch

from ..pde.geometry import METHODS
from .causal import Causal
from .marching import TimeMarching
from .stages import LBFGS, Adam, default_schedule


ADAPTIVE = (None, "rar", "rad")


@dataclass
class TrainConfig:
    """How to train.

    Attributes:
        interior_points: collocation points in the interior.
        boundary_points: points per boundary/initial condition.
        schedule: list of :class:`Adam` / :class:`LBFGS` stages.
        seed: seeds sampling and (where the model is not seeded) initialisation.
        device, dtype: where and in which precision to train (float64 recommended for L-BFGS).
        verbose: tqdm progress bars.
        sampling: ``"sobol"``, ``"halton"``, ``"lhs"``, ``"uniform"`` or ``"grid"``.
        weights: loss weight per term name (``"pde"``, ``"dirichlet"``, ...); over the
            problem's own ``weights``, then 1.
        resample_every: draw new interior points every this many Adam steps.
        adaptive: ``"rad"`` (resample with density ~ |residual|) or ``"rar"`` (add the worst
            points), used when resampling.
        eval_every: steps between error evaluations on the held-out dense set.
        update_grid: fit the KAN's grid ranges to the activations on the training points
            before training and after each refinement, so no layer's inputs fall outside
            its grid (hidden activations drift during training). The refit is a least-squares
            fit, so the loss may jump a little; with False a refinement is exact.
        grid_update_every: also refit them every this many steps of the first Adam stage
            (hidden activations move most early on); None never does.
        grid_margin: the refitted ranges extend this fraction of their span beyond the activations.
        derivatives: ``"auto"`` (jet for KANs), ``"jet"`` or ``"autograd"``.
        callbacks: called as ``cb(record)`` after every step with the step's record;
            a callback returning True stops training.
        max_retries: NaN/inf recoveries per stage before it is stopped.
        threads: ``torch.set_num_threads`` for the run (None leaves it).
        causal: :class:`Causal` weights on the interior residual along the time axis.
        marching: :class:`TimeMarching`: train time windows one after another
            (``kp.solve`` returns one stitched solution); the schedule runs per window.
    """

    interior_points: int = 3000
    boundary_points: int = 400
    schedule: list = field(default_factory=default_schedule)
    seed: int = 0
    device: str = "cpu"
    dtype: torch.dtype = torch.float64
    verbose: bool = True
    sampling: str = "sobol"
    weights: dict[str, float] = field(default_factory=dict)
    resample_every: int | None = None
    adaptive: str | None = None
    eval_every: int = 25
    update_grid: bool = True
    grid_update_every: int | None = 20
    grid_margin: float = 0.05
    derivatives: str = "auto"
    callbacks: Sequence[Callable] = ()
    max_retries: int = 3
    threads: int | None = None
    causal: Causal | None = None
    marching: TimeMarching | None = None

    def __post_init__(self):
        for name in ("interior_points", "boundary_points", "eval_every", "max_retries"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < (0 if name == "max_retries" else 1):
                raise ValueError(f"TrainConfig.{name} must be a positive int, got {value!r}")
        if self.sampling not in METHODS:
            raise ValueError(f"unknown sampling {self.sampling!r}. Pick one of {METHODS}")
        if self.adaptive not in ADAPTIVE:
            raise ValueError(f"unknown adaptive sampling {self.adaptive!r}. Pick one of {ADAPTIVE}")
        if not self.schedule:
            raise ValueError("TrainConfig.schedule needs at least one stage, e.g. [kp.Adam(500), kp.LBFGS(100)]")
        for stage in self.schedule:
            if not isinstance(stage, (Adam, LBFGS)):
                raise TypeError(f"schedule stages must be kp.Adam(...) or kp.LBFGS(...), got {stage!r}")
            if not isinstance(stage.steps, int) or stage.steps < 0:
                raise ValueError(f"stage steps must be an int >= 0, got {stage.steps!r} in {stage!r}")
        for name, kind in (("causal", Causal), ("marching", TimeMarching)):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), kind):
                raise TypeError(f"TrainConfig.{name} must be kp.{kind.__name__}(...) or None, "
                                f"got {type(getattr(self, name)).__name__}")
        if isinstance(self.dtype, str):
            self.dtype = getattr(torch, self.dtype)

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "callbacks"}
        out["schedule"] = [{"type": type(s).__name__, **dataclasses.asdict(s)} for s in self.schedule]
        out["dtype"] = str(self.dtype).replace("torch.", "")
        for name in ("causal", "marching"):
            out[name] = None if out[name] is None else dataclasses.asdict(out[name])
        return out
