"""TrainConfig: how to train, validated when built."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch

from ..geometry.domains import METHODS
from .checks import check_bool, check_choice, check_float, check_int
from .balance import BALANCE
from .sizing import Sized, SizedInt, SizedSchedule
from .stages import Stage, default_schedule
from .options import Causal, TimeMarching


ADAPTIVE = (None, "rar", "rad", "vrba")  # "vrba": kanpde.train.sampling_rba
DERIVATIVES = ("auto", "jet", "autograd")
DTYPES = {"float64": torch.float64, "float32": torch.float32, "double": torch.float64, "float": torch.float32}


def _check_schedule(schedule) -> list:
    if isinstance(schedule, Stage):  # one stage is not a schedule: say so rather than guess
        raise TypeError(f"TrainConfig.schedule must be a list of stages, got one {type(schedule).__name__} stage; "
                        f"wrap it in a list: schedule=[{schedule!r:.60}]")
    if not isinstance(schedule, (list, tuple)):
        raise TypeError(f"TrainConfig.schedule must be a list of stages like [kp.Adam(500), kp.LBFGS(100)], "
                        f"got {type(schedule).__name__}: {schedule!r:.60}")
    if not schedule:
        raise ValueError("TrainConfig.schedule needs at least one stage, e.g. [kp.Adam(500), kp.LBFGS(100)]")
    for stage in schedule:
        if not isinstance(stage, Stage):  # the one test of a stage's kind: it implements the Stage protocol
            raise TypeError(f"TrainConfig.schedule stages must be kp.Adam(...), kp.LBFGS(...), kp.LM(...) or another "
                            f"kanpde.train.Stage, "
                            f"got {stage!r:.60}")
    return list(schedule)


def _check_device(device) -> str:
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"TrainConfig.device must be a device name like 'cpu' or 'cuda:0' (or a torch.device), "
                        f"got {type(device).__name__}: {device!r}")
    try:
        return str(torch.device(device))
    except (RuntimeError, ValueError):
        raise ValueError(f"unknown TrainConfig.device {device!r}. Pick one of ('cpu', 'cuda', 'cuda:N', 'mps')") \
            from None


def _check_dtype(dtype) -> torch.dtype:
    if isinstance(dtype, str):
        if dtype.removeprefix("torch.") not in DTYPES:
            raise ValueError(f"unknown TrainConfig.dtype {dtype!r}. Pick one of {tuple(DTYPES)}")
        return DTYPES[dtype.removeprefix("torch.")]
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"TrainConfig.dtype must be a floating torch dtype (torch.float64, ...) or its name, "
                        f"got {dtype!r}")
    if dtype not in DTYPES.values():  # half precision: the spline kernels and second derivatives need 32+ bits
        raise ValueError(f"TrainConfig.dtype must be float32 or float64 (splines and second derivatives need at "
                         f"least 32 bits), got {dtype}. Pick one of ('float64', 'float32')")
    return dtype


def _check_weights(weights) -> dict[str, float]:
    if not isinstance(weights, dict):
        raise TypeError(f"TrainConfig.weights must be a dict {{term: weight}}, got {type(weights).__name__}: "
                        f"{weights!r:.60}")
    out = {}
    for key, value in weights.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"TrainConfig.weights keys must be loss-term names like 'pde', got {key!r}")
        out[key] = check_float("TrainConfig", f"weights[{key!r}]", value, 0.0)
    return out


def _check_callbacks(callbacks) -> tuple:
    if callable(callbacks):
        callbacks = (callbacks,)
    if not isinstance(callbacks, (list, tuple)) or not all(callable(cb) for cb in callbacks):
        raise TypeError(f"TrainConfig.callbacks must be a list of functions cb(record), got {callbacks!r:.80}")
    return tuple(callbacks)


@dataclass
class TrainConfig:
    """How to train.

    Attributes:
        interior_points: collocation points in the interior. Left at its default, ``kp.solve``
            sizes it to the model (at least 3000, two per spline coefficient at the final
            grid; :mod:`kanpde.train.sizing`).
        boundary_points: points per boundary/initial condition (default 400, scaled like
            ``interior_points``).
        schedule: list of :class:`Adam` / :class:`LBFGS` / :class:`LM` stages. Left at its
            default: :func:`default_schedule` ending on grid 80 where the model's spline
            coefficients there fit the budget of :mod:`kanpde.train.sizing`, else 40.
        seed: seeds sampling and (where the model is not seeded) initialisation.
        device, dtype: where and in which precision to train (float64 recommended for L-BFGS).
        verbose: tqdm progress bars.
        sampling: ``"sobol"``, ``"halton"``, ``"lhs"``, ``"uniform"`` or ``"grid"``.
        weights: loss weight per term name (``"pde"``, ``"dirichlet"``, ...); over the
            problem's own ``weights``, then 1.
        resample_every: draw new interior points every this many Adam steps.
        adaptive: ``"rad"`` (resample with density ~ |residual|), ``"rar"`` (add the worst
            points) or ``"vrba"`` (importance sampling ~ residual^2, :mod:`kanpde.train.sampling_rba`),
            used when resampling.
        eval_every: steps between error evaluations on the held-out dense set.
        update_grid: fit the KAN's grid ranges to the activations on the training points
            before training and after each refinement, so no layer's inputs fall outside
            its grid (hidden activations drift during training). The refit is a least-squares
            fit, so the loss may jump (poisson2d seed 0: 5e5x at grid 40, recovered within the stage,
            and the refits are worth 1.1e-7 against 7.8e-7 without them; a meshed annulus: 3.5e-5 to
            6.9 at grid 80, never recovered), and the run's best model is kept whatever follows
            (``keep_best``); with False a refinement is exact. ``"grow"``:
            fit the input layer before training; at later refinements only widen ranges that
            activations left, and undo that if it raises the loss, so a refinement stays exact
            (allen_cahn1d, seed 0: a refit took a converged window's loss from 1.7e-7 to 1.6e-3
            and its rel L2 from 1.8e-3 to 1.1e-2; see :func:`kanpde.train.best.grow_grid`).
        grid_update_every: also refit them every this many steps of the first Adam stage
            (hidden activations move most early on); None never does.
        grid_margin: the refitted ranges extend this fraction of their span beyond the activations.
        derivatives: ``"auto"`` (jet for KANs), ``"jet"`` or ``"autograd"``.
        keep_best: end on the model with the lowest validation loss on fresh points over all stages
            (:mod:`kanpde.train.best`); False: end on the last step's model.
        callbacks: called as ``cb(record)`` after every step with the step's record;
            a callback returning True stops training.
        max_retries: NaN/inf recoveries per stage before it is stopped.
        threads: ``torch.set_num_threads`` for the run (None leaves it).
        checkpoint: path of a resumable training checkpoint (:mod:`kanpde.train.resume`),
            written every ``checkpoint_every`` steps, when a callback stops training and on
            Ctrl-C; continue with ``kp.solve(..., resume=path)``.
        checkpoint_every: steps between checkpoints; None writes one only when stopped.
        balance: automatic loss weights: ``"ntk"`` (default: per term, from the mean NTK diagonal, so
            residuals of different scales pull alike whether or not they are met yet), ``"gradnorm"`` (per
            term, from gradient norms), ``"rba"`` (per point, residual-based attention), ``"vrba"`` (per point,
            variational RBA, :mod:`kanpde.train.sampling_rba`) or None; see :mod:`kanpde.train.balance`.
            ``weights`` multiply them.
        distributed: data-parallel training on ``torch.distributed`` (see
            :mod:`kanpde.train.distributed`): None (auto) when a process group is initialised
            or ``torchrun`` launched the process; True requires one; False never.
        causal: :class:`Causal` weights on the interior residual along the time axis.
        marching: :class:`TimeMarching`: train time windows one after another
            (``kp.solve`` returns one stitched solution); the schedule runs per window.
        max_memory: bytes an LM stage may use (None: half the machine's memory). Before training, every LM
            stage's peak is estimated at its grid and points (:func:`kanpde.train.lm.plan_schedule`, the model
            :func:`kanpde.train.lm.memory_model`): the plan picks the matrix-free solver, the sketch
            preconditioner or a smaller chunk to stay within it, and raises ValueError naming the stage where
            nothing fits. The estimate and the choice are in the stage's record (``memory_estimate``, ``chunk``).
    """

    interior_points: int = SizedInt(3000)
    boundary_points: int = SizedInt(400)
    schedule: list = field(default_factory=lambda: SizedSchedule(default_schedule()))
    seed: int = 0
    device: str = "cpu"
    dtype: torch.dtype = torch.float64
    verbose: bool = True
    sampling: str = "sobol"
    weights: dict[str, float] = field(default_factory=dict)
    resample_every: int | None = None
    adaptive: str | None = None
    eval_every: int = 25
    update_grid: bool | str = True
    grid_update_every: int | None = 20
    grid_margin: float = 0.05
    derivatives: str = "auto"
    callbacks: Sequence[Callable] = ()
    keep_best: bool = True
    max_retries: int = 3
    threads: int | None = None
    checkpoint: str | None = None
    checkpoint_every: int | None = None
    balance: str | None = "ntk"
    distributed: bool | None = None
    causal: Causal | None = None
    marching: TimeMarching | None = None
    max_memory: float | None = None

    def __post_init__(self):
        name = "TrainConfig"
        for count in ("interior_points", "boundary_points"):  # a default (Sized) is kept as such for sized()
            if not isinstance(getattr(self, count), Sized):
                setattr(self, count, check_int(name, count, getattr(self, count), 1))
        if not isinstance(self.schedule, Sized):
            self.schedule = _check_schedule(self.schedule)
        self.seed = check_int(name, "seed", self.seed, 0)
        self.device = _check_device(self.device)
        self.dtype = _check_dtype(self.dtype)
        self.verbose = check_bool(name, "verbose", self.verbose)
        self.max_memory = check_float(name, "max_memory", self.max_memory, 0.0, strict=True, allow_none=True)
        self.sampling = check_choice(name, "sampling", self.sampling, METHODS)
        self.weights = _check_weights(self.weights)
        self.resample_every = check_int(name, "resample_every", self.resample_every, 1, allow_none=True)
        self.adaptive = check_choice(name, "adaptive", self.adaptive, ADAPTIVE)
        self.balance = check_choice(name, "balance", self.balance, BALANCE)
        self.eval_every = check_int(name, "eval_every", self.eval_every, 1)
        if isinstance(self.update_grid, str) and self.update_grid != "grow":
            raise ValueError(f"unknown TrainConfig.update_grid {self.update_grid!r}. Pick one of (True, False, 'grow')")
        if self.update_grid != "grow" and not isinstance(self.update_grid, bool):
            raise TypeError(f"TrainConfig.update_grid must be True, False or 'grow', got "
                            f"{type(self.update_grid).__name__}: {self.update_grid!r:.60}")
        self.grid_update_every = check_int(name, "grid_update_every", self.grid_update_every, 1, allow_none=True)
        self.grid_margin = check_float(name, "grid_margin", self.grid_margin, 0.0)
        self.derivatives = check_choice(name, "derivatives", self.derivatives, DERIVATIVES)
        self.callbacks = _check_callbacks(self.callbacks)
        self.keep_best = check_bool(name, "keep_best", self.keep_best)
        self.max_retries = check_int(name, "max_retries", self.max_retries, 0)
        self.threads = check_int(name, "threads", self.threads, 1, allow_none=True)
        if self.distributed is not None:
            self.distributed = check_bool(name, "distributed", self.distributed)
        for option, kind in (("causal", Causal), ("marching", TimeMarching)):
            if getattr(self, option) is not None and not isinstance(getattr(self, option), kind):
                raise TypeError(f"TrainConfig.{option} must be kp.{kind.__name__}(...) or None, "
                                f"got {type(getattr(self, option)).__name__}")
        if self.checkpoint is not None:
            if not isinstance(self.checkpoint, (str, os.PathLike)):
                raise TypeError(f"TrainConfig.checkpoint must be a path (str or os.PathLike), got {self.checkpoint!r}")
            self.checkpoint = os.fspath(self.checkpoint)
        self.checkpoint_every = check_int(name, "checkpoint_every", self.checkpoint_every, 1, allow_none=True)
        if self.checkpoint_every is not None:
            every = self.checkpoint_every
            if self.checkpoint is None:
                raise ValueError(f"TrainConfig.checkpoint_every={every} needs a path: TrainConfig(checkpoint=...)")

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "callbacks"}
        out["schedule"] = [{"type": type(s).__name__, **dataclasses.asdict(s)} for s in self.schedule]
        out["dtype"] = str(self.dtype).replace("torch.", "")
        for name in ("causal", "marching"):
            out[name] = None if out[name] is None else dataclasses.asdict(out[name])
        return out
