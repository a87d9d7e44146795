"""Training stages: Adam, L-BFGS and Levenberg-Marquardt, each optionally refining the KAN grid first.

``steps`` is the only positional argument; every option is keyword-only
(``kp.Adam(100, lr=5e-3)``, ``kp.LBFGS(200, grid=10)``) and checked when the stage is built.
Every stage takes ``points=n``: it starts on ``n`` interior points (the config's sampler and seed,
so a Sobol set of more points extends the smaller one), which later stages keep unless they set
their own. An LM iteration costs points x parameters^2, so ``kp.LM(8, grid=120, points=60_000)`` after
coarse stages on the config's ``interior_points`` pays for many points on the fine grid only. Whether the
coarse stages may do with fewer is the problem's: helmholtz2d's may not (seed 1, the default schedule with
its grid-80 stage on 10 000 points after 5000 before: rel L2 1.4e-4; 10 000 points throughout: 5.0e-5).

Stages are classes with behaviour (:class:`Stage`): each prepares itself, makes its optimiser and runs its
steps, and the trainer calls them without asking their kind. :class:`FirstOrder` is the loop of the stages
driven by a ``torch.optim`` optimiser (Adam, L-BFGS); LM's loop is :func:`kanpde.train.lm.levenberg_marquardt`.
A new stage type is one new subclass (a dataclass with ``steps``, ``grid``, ``points``, ``update_grid``).
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import KW_ONLY, dataclass

import torch

from .best import grow_grid
from .checks import check_bool, check_choice, check_float, check_int
from .lm import levenberg_marquardt
from .options import Galerkin
from .resume import Position


class Stage:
    """A training stage: what every schedule entry does, called by the trainer with no knowledge of its kind.

    The protocol (a new stage type is one new subclass):

    - :meth:`prepare` before the stage's first step (not when a checkpoint resumes inside it): a stage's
      ``points=`` and ``grid=`` (grid extension), grid-range refits;
    - :meth:`make_optimizer` (``previous``: the last stage's optimiser; stateless stages hand it on);
    - :meth:`run`: the stage's steps, each recorded through ``trainer.after_step``;
    - :meth:`label`.

    Class attributes the trainer's helpers read:

    - ``fixed_objective``: the loss must stay one function within a step (L-BFGS line search, an LM
      Jacobian), so the balancer freezes its weights and causal weights are held per step;
    - ``scores_every_step``: best-model selection (:mod:`kanpde.train.best`) scores every step, not
      every ``eval_every`` (steps that each change the model a lot);
    - ``assembles_jacobian``: the stage's memory is planned before training from J's size
      (:func:`kanpde.train.lm.plan_schedule`);
    - ``sparsity``: the sparsity regulariser's weight (0: none).
    """

    fixed_objective = True
    scores_every_step = False
    assembles_jacobian = False
    sparsity = 0.0
    steps: int
    grid: int | None
    points: int | None
    update_grid: bool

    def prepare(self, trainer, first: bool) -> None:
        """Resize the interior points, refine the grid and refit grid ranges as the stage asks."""
        cfg = trainer.config
        if self.points is not None and self.points != trainer.interior_count:
            trainer.resize(self.points)
        model = trainer.model
        if self.grid is not None and hasattr(model, "refine") and self.grid != model.grid:
            network = getattr(model, "net", model)
            if hasattr(network, "follow"):  # moving knots (kp.MappedKAN) read u, the constraint included, not N
                network.follow(trainer.solution_model)
            model.refine(self.grid)  # models without a grid (MLP) just run the stage
        if self.update_grid or (cfg.update_grid and (first or self.grid is not None)):
            if first:  # an untrained network: fit the input range to the points
                trainer.update_grid(inputs_only=True)
            elif cfg.update_grid == "grow":  # widen only, and not if it costs (train.best)
                grow_grid(trainer)
            else:  # a refit may cost the fit; the run's best model (train.best) is kept whatever follows
                trainer.update_grid()

    def make_optimizer(self, trainer, previous):
        """The stage's optimiser (default: none of its own, the previous one is handed on)."""
        return previous

    def run(self, trainer, index: int, optimizer, resumed=None) -> None:
        """Run the stage as schedule entry ``index``; ``resumed``: the checkpoint state to continue from."""
        raise NotImplementedError(f"{type(self).__name__}.run")

    def label(self) -> str:
        return type(self).__name__ + _where(self)


class FirstOrder(Stage):
    """Stages driven by a ``torch.optim`` optimiser on the scalar loss (Adam, L-BFGS): NaN/inf recovery
    from the last good parameters, a record per optimiser call."""

    def call_limit(self, done: int) -> int:
        """Iterations one optimiser call may take with ``done`` steps of the stage behind it."""
        return 1

    def optimizer_step(self, optimizer, closure, limit: int) -> int:
        """One optimiser call; returns the iterations it took."""
        raise NotImplementedError(f"{type(self).__name__}.optimizer_step")

    def before_step(self, trainer, index: int, done: int) -> None:
        """Called before each optimiser call (``done`` steps of the stage so far)."""

    def gentler(self) -> "FirstOrder":
        """The stage to retry with after a NaN/inf step."""
        return self

    def decay(self) -> float | None:
        """The learning rate's factor per step, or None."""
        return None

    def run(self, trainer, index: int, optimizer, resumed=None) -> None:
        stage, cfg = self, trainer.config
        decay = self.decay()
        good = trainer.snapshot()  # parameters whose loss is known to be finite
        trainer.balancer.start_stage(trainer, stage)
        retries = done = 0
        if resumed is not None:  # continue the stage where the checkpoint left it
            optimizer.load_state_dict(resumed.optimizer)
            done, retries, good = resumed.position.done, resumed.position.retries, resumed.good
            trainer.balancer.load_state_dict(resumed.balancer)  # after start_stage: as the run had them
            stage = dataclasses.replace(stage, lr=resumed.position.lr)
        with trainer.progress(index, stage, done):
            while done < stage.steps:
                stage.before_step(trainer, index, done)
                candidate = trainer.snapshot()  # becomes "good" once the step has seen a finite loss here
                record = trainer.take_step(index, stage, optimizer, stage.call_limit(done))
                if record is None:  # NaN/inf: restore, then retry more gently or give up on this stage
                    trainer.restore(good)
                    retries += 1
                    if retries > cfg.max_retries:
                        warnings.warn(f"stage {stage.label()} stopped after {cfg.max_retries} NaN/inf recoveries; "
                                      "the last good model is kept", RuntimeWarning)
                        break
                    stage = stage.gentler()
                    optimizer = stage.make_optimizer(trainer, None)
                    continue
                good = candidate
                done += record["iterations"]
                if decay is not None and record["iterations"]:
                    for group in optimizer.param_groups:
                        group["lr"] *= decay
                if trainer.after_step(record, Position(index, done, retries, stage.lr), optimizer, good):
                    trainer.stopped = True  # a callback asked to stop
                    break
                if record["iterations"] == 0:  # L-BFGS made no progress: converged (or stuck), stop the stage
                    break
        if not trainer.loss_is_finite():
            trainer.restore(good)
            warnings.warn(f"stage {stage.label()} ended on a non-finite loss; the last good model is kept", RuntimeWarning)


@dataclass
class Adam(FirstOrder):
    """``steps`` Adam steps at learning rate ``lr`` (decaying geometrically to ``lr_final`` if given).

    ``sparsity=lam`` adds ``lam`` times the KAN sparsity regulariser (:mod:`kanpde.nn.sparsity`) to the loss.

    Raises:
        TypeError, ValueError: a field of the wrong type or out of range (lr > 0 finite, grid >= 1, ...).
    """

    steps: int
    _: KW_ONLY
    lr: float = 1e-2
    grid: int | None = None
    lr_final: float | None = None
    update_grid: bool = False
    sparsity: float = 0.0
    points: int | None = None

    def __post_init__(self):
        self.steps = check_int("Adam", "steps", self.steps, 0)
        self.lr = check_float("Adam", "lr", self.lr, 0.0, strict=True)
        self.grid = check_int("Adam", "grid", self.grid, 1, allow_none=True)
        self.points = check_int("Adam", "points", self.points, 1, allow_none=True)
        self.lr_final = check_float("Adam", "lr_final", self.lr_final, 0.0, strict=True, allow_none=True)
        self.update_grid = check_bool("Adam", "update_grid", self.update_grid)
        self.sparsity = check_float("Adam", "sparsity", self.sparsity, 0.0)

    fixed_objective = False  # gradnorm refreshes and RBA updates between steps

    def label(self) -> str:
        return f"Adam lr={self.lr:g}" + _where(self)

    def make_optimizer(self, trainer, previous):
        optimizer = torch.optim.Adam(trainer.trainable(), lr=self.lr)
        moments = previous.state if previous is not None else {}
        for p in trainer.trainable():  # carry Adam moments of parameters that survived a refinement
            state = moments.get(p)
            if state and "exp_avg" in state and state["exp_avg"].shape == p.shape:
                optimizer.state[p] = state
        return optimizer

    def optimizer_step(self, optimizer, closure, limit: int) -> int:
        loss = closure()
        if torch.isfinite(loss):
            optimizer.step()
        return 1

    def before_step(self, trainer, index: int, done: int) -> None:
        cfg = trainer.config
        if cfg.resample_every and done and done % cfg.resample_every == 0:
            trainer.resample()
        if index == 0 and cfg.update_grid and cfg.grid_update_every and done and done % cfg.grid_update_every == 0:
            trainer.update_grid(grow_only=True)
        trainer.balancer.before_step(trainer, done)

    def gentler(self) -> "Adam":
        return dataclasses.replace(self, lr=self.lr / 4)

    def decay(self) -> float | None:
        return (self.lr_final / self.lr) ** (1 / max(self.steps, 1)) if self.lr_final else None


@dataclass
class LBFGS(FirstOrder):
    """``steps`` L-BFGS iterations with strong Wolfe line search (``torch.optim.LBFGS``).

    The optimiser runs ``chunk`` iterations per call (each call re-evaluates the
    loss once), so the history has one row per chunk.

    Raises:
        TypeError, ValueError: a field of the wrong type or out of range (lr > 0, history_size >= 1,
            chunk >= 1, grid >= 1, ...).
    """

    steps: int
    _: KW_ONLY
    grid: int | None = None
    lr: float = 1.0
    history_size: int = 20
    chunk: int = 10
    update_grid: bool = False
    sparsity: float = 0.0  # as for Adam
    points: int | None = None  # as for Adam

    def __post_init__(self):
        self.steps = check_int("LBFGS", "steps", self.steps, 0)
        self.grid = check_int("LBFGS", "grid", self.grid, 1, allow_none=True)
        self.points = check_int("LBFGS", "points", self.points, 1, allow_none=True)
        self.lr = check_float("LBFGS", "lr", self.lr, 0.0, strict=True)
        self.history_size = check_int("LBFGS", "history_size", self.history_size, 1)
        self.chunk = check_int("LBFGS", "chunk", self.chunk, 1)
        self.update_grid = check_bool("LBFGS", "update_grid", self.update_grid)
        self.sparsity = check_float("LBFGS", "sparsity", self.sparsity, 0.0)

    def label(self) -> str:
        return "L-BFGS" + _where(self)

    def make_optimizer(self, trainer, previous):
        return torch.optim.LBFGS(trainer.trainable(), lr=self.lr, max_iter=self.chunk, history_size=self.history_size,
                                 tolerance_grad=0.0, tolerance_change=0.0, line_search_fn="strong_wolfe")

    def call_limit(self, done: int) -> int:
        return min(self.chunk, self.steps - done)

    def optimizer_step(self, optimizer, closure, limit: int) -> int:
        group = optimizer.param_groups[0]
        group["max_iter"], group["max_eval"] = limit, 4 * limit  # room for line-search evaluations
        state = optimizer.state[group["params"][0]]
        before = state.get("n_iter", 0)
        optimizer.step(closure)
        return state.get("n_iter", 0) - before


@dataclass
class LM(Stage):
    """``steps`` Levenberg-Marquardt iterations on the stacked residual vector (see :mod:`kanpde.train.lm`).

    Each iteration assembles the residual Jacobian J once and solves
    ``(J^T J + mu diag(J^T J)) delta = -J^T r``; mu adapts by Nielsen's rule and only
    steps that lower the loss are taken. Data-parallel, each rank's points are its rows of J and
    ``J^T J``, ``J^T r`` are all-reduced: every rank takes the step of one process on all the points.

    Attributes:
        damping: initial mu (relative to diag(J^T J)).
        scaling: the damping matrix D: ``"marquardt"`` (diag(J^T J)) or ``"levenberg"`` (the mean of
            diag(J^T J) times the identity, which damps every parameter alike). Neither wins
            everywhere: on helmholtz2d Levenberg's rejected fewer steps (seed 0: rel L2 4.3e-5 against
            1.8e-4), on poisson2d Marquardt's did better (seeds 1, 2: 6.3e-7, 9.6e-7 against 9.4e-6, 2.2e-6).
        solver: ``"dense"`` or its old name ``"cholesky"`` (J^T J factorised, with an lstsq fallback),
            ``"qr"`` (least squares on the stacked J), ``"cg"`` (matrix-free, :mod:`kanpde.train.matfree`:
            Nystrom-preconditioned conjugate gradients on products with J kept as sparse chunk rows; no P x P
            matrix) or ``"auto"`` (:func:`kanpde.train.lm.choose_solver`: dense while its memory fits
            ``TrainConfig.max_memory`` and the time model favours it, P <= ``dense_limit``).
        preconditioner: the matrix-free solver's: ``"nystrom"`` (a sketch of ``sketch`` columns of J^T J),
            ``"normal"`` (J^T J summed from J's sparse rows and factorised: exact, ``P x P`` memory) or
            ``"auto"`` (normal up to ``dense_limit`` parameters).
        sketch: columns of the Nystrom preconditioner.
        precision: the matrix-free solver's storage of J: ``"full"`` (the training dtype) or ``"float32"``
            (half the memory; the step then carries float32 round-off, residuals and the accept test stay
            in the training dtype).
        chunk: points per Jacobian block (bounds the memory, see :func:`kanpde.train.jacobian.jacobian`).
        gtol: stop when ``max |J^T r| <= gtol``.
        xtol: stop when ``|delta| <= xtol (|theta| + xtol)``.
        mu_max: stop when mu grows past this (no step lowers the loss any more).
        rtol, patience: stop (``"rtol"``) when the loss fell by less than ``rtol`` times itself over the
            last ``patience`` iterations: ``steps`` is a cap, not a count to run (0: run them all). The
            default only stops stages that have stalled: LM often crawls for a few iterations and then
            moves again (poisson2d seed 0 with rtol=1e-4: the grid-20 and grid-40 stages stopped after
            11 and 8 of 20 and 10 iterations, rel L2 7.1e-7 against 1.0e-7 running them all).
        galerkin: a :class:`~kanpde.train.options.Galerkin` (or True for its defaults): add the PDE
            residual's projections on smooth test functions, integrated on a fine quadrature, to the
            residual vector (:mod:`kanpde.train.galerkin`); None or False: collocation only.
    """

    steps: int
    _: KW_ONLY
    grid: int | None = None
    damping: float = 1e-3
    scaling: str = "marquardt"
    solver: str = "auto"
    chunk: int = 1024
    gtol: float = 1e-14
    xtol: float = 1e-12
    mu_max: float = 1e12
    dense_limit: int = 6000
    sketch: int = 200
    preconditioner: str = "auto"
    precision: str = "full"
    update_grid: bool = False
    points: int | None = None  # as for Adam
    galerkin: Galerkin | bool | None = None
    rtol: float = 1e-6
    patience: int = 4

    def __post_init__(self):
        self.steps = check_int("LM", "steps", self.steps, 0)
        self.rtol = check_float("LM", "rtol", self.rtol, 0.0)
        self.patience = check_int("LM", "patience", self.patience, 1)
        self.galerkin = _galerkin(self.galerkin)
        self.grid = check_int("LM", "grid", self.grid, 1, allow_none=True)
        self.points = check_int("LM", "points", self.points, 1, allow_none=True)
        self.damping = check_float("LM", "damping", self.damping, 0.0, strict=True)
        self.scaling = check_choice("LM", "scaling", self.scaling, SCALINGS)
        self.solver = check_choice("LM", "solver", self.solver, SOLVERS)
        self.chunk = check_int("LM", "chunk", self.chunk, 1)
        self.gtol = check_float("LM", "gtol", self.gtol, 0.0)
        self.xtol = check_float("LM", "xtol", self.xtol, 0.0)
        self.mu_max = check_float("LM", "mu_max", self.mu_max, 0.0, strict=True)
        self.dense_limit = check_int("LM", "dense_limit", self.dense_limit, 1)
        self.sketch = check_int("LM", "sketch", self.sketch, 1)
        self.preconditioner = check_choice("LM", "preconditioner", self.preconditioner, PRECONDITIONERS)
        self.precision = check_choice("LM", "precision", self.precision, ("full", "float32"))
        self.update_grid = check_bool("LM", "update_grid", self.update_grid)

    scores_every_step = True  # each iteration changes the model a lot
    assembles_jacobian = True  # its memory is planned before training (kanpde.train.lm.plan_schedule)

    def label(self) -> str:
        return "LM" + _where(self) + (" galerkin" if self.galerkin else "")

    def run(self, trainer, index: int, optimizer, resumed=None) -> None:
        trainer.balancer.start_stage(trainer, self)  # weights refreshed for this stage (resume: loaded after)
        levenberg_marquardt(trainer, index, self, resumed)  # keeps no optimiser state: ``optimizer`` is unused

    def converged(self, losses: list[float]) -> bool:
        """Whether the stage should stop before ``steps``: the loss fell by less than ``rtol`` (relative)
        over the last ``patience`` accepted iterations (``losses``: the loss before each of them)."""
        if self.rtol <= 0 or len(losses) <= self.patience:
            return False
        before, now = losses[-1 - self.patience], losses[-1]
        return before - now <= self.rtol * before

    def wants_more(self, done: int, loss: float, galerkin: float | None) -> bool:
        """Whether to run another iteration after ``done``: up to ``steps``; a Galerkin stage beyond them
        (up to ``galerkin.max_repeats`` iterations in all) while its rows' ``|g|^2`` stays above
        ``galerkin.repeat_above`` times the collocation ``loss``."""
        if done < self.steps:
            return True
        if galerkin is None or self.galerkin is None:
            return False
        return done < self.galerkin.max_repeats and galerkin > self.galerkin.repeat_above * loss


def _galerkin(value) -> Galerkin | None:
    """LM's ``galerkin`` field: a Galerkin, True (its defaults), or None / False (none)."""
    if value is None or value is False:
        return None
    if value is True:
        return Galerkin()
    if not isinstance(value, Galerkin):
        raise TypeError(f"LM.galerkin must be a kp.Galerkin, True, False or None, got {type(value).__name__}: "
                        f"{value!r:.60}")
    return value


def _where(stage) -> str:
    """The label's grid and points, where the stage sets them."""
    return (f" grid={stage.grid}" if stage.grid else "") + (f" points={stage.points}" if stage.points else "")


SOLVERS = ("auto", "dense", "cholesky", "qr", "cg")
SCALINGS = ("levenberg", "marquardt")
PRECONDITIONERS = ("auto", "nystrom", "normal")

LM_STEPS = {5: 15, 10: 15, 20: 20, 40: 10, 80: 12}      # LM iterations per grid of the default schedule
LBFGS_STEPS = {5: 200, 10: 200, 20: 300, 40: 300, 80: 300}


def default_schedule(lm: bool = True, final_grid: int = 40) -> list[Stage]:
    """A short Adam warm-up, then Levenberg-Marquardt on grids 5 -> 10 -> 20 -> 40 (-> 80), grid extension,
    and one LM iteration with :class:`~kanpde.train.options.Galerkin` rows on the final grid.

    ``kp.TrainConfig()`` picks ``final_grid`` (40 or 80) from the model's size, see
    :mod:`kanpde.train.sizing`. With ``lm=False``, L-BFGS on the same grids (no Galerkin rows: they
    are LM rows). LM wins on every problem measured (rel L2 on poisson2d with Dirichlet built in,
    seeds 0-2, grid 40: 3.6e-6 against 4.4e-5 for L-BFGS), see ``scripts/accuracy_defaults.py`` and the
    README's "Default training". The Galerkin iteration corrects the residual's smoothest projections,
    which the collocation points integrate worst (helmholtz2d, seeds 0 / 1 / 2: rel L2 1.04e-4 / 1.79e-4 /
    1.15e-4 without it, 5.9e-5 / 3.9e-5 / 3.1e-5 with it and 12 instead of 15 grid-80 iterations, in about
    the same time). Both run data-parallel too (:mod:`kanpde.train.distributed`).
    """
    if final_grid not in LM_STEPS or final_grid < 40:
        raise ValueError(f"default_schedule(final_grid=...) takes 40 or 80, got {final_grid!r}")
    grids = [g for g in LM_STEPS if g <= final_grid]
    if not lm:
        return [Adam(100, lr=1e-2)] + [LBFGS(LBFGS_STEPS[g], grid=g) for g in grids]
    return [Adam(100, lr=1e-2)] + [LM(LM_STEPS[g], grid=g) for g in grids] + [LM(1, galerkin=Galerkin())]
