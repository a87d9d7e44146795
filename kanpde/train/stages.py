"""Training stages: Adam, L-BFGS and Levenberg-Marquardt, each optionally refining the KAN grid first.

``steps`` is the only positional argument; every option is keyword-only
(``kp.Adam(100, lr=5e-3)``, ``kp.LBFGS(200, grid=10)``) and checked when the stage is built.
Every stage takes ``points=n``: it starts on ``n`` interior points (the config's sampler and seed,
so a Sobol set of more points extends the smaller one), which later stages keep unless they set
their own. An LM iteration costs points x parameters^2, so ``kp.LM(8, grid=120, points=60_000)`` after
coarse stages on the config's ``interior_points`` pays for many points on the fine grid only. Whether the
coarse stages may do with fewer is the problem's: helmholtz2d's may not (seed 1, the default schedule with
its grid-80 stage on 10 000 points after 5000 before: rel L2 1.4e-4; 10 000 points throughout: 5.0e-5).
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass

from .checks import check_bool, check_choice, check_float, check_int
from .galerkin import Galerkin


@dataclass
class Adam:
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

    def label(self) -> str:
        return f"Adam lr={self.lr:g}" + _where(self)


@dataclass
class LBFGS:
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


@dataclass
class LM:
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
        solver: ``"cholesky"`` (dense, with an lstsq fallback), ``"cg"`` (conjugate gradients
            on J products; no P x P matrix) or ``"auto"`` (cholesky up to ``dense_limit`` parameters).
        chunk: points per Jacobian block (bounds the memory, see :func:`kanpde.train.lm.jacobian`).
        gtol: stop when ``max |J^T r| <= gtol``.
        xtol: stop when ``|delta| <= xtol (|theta| + xtol)``.
        mu_max: stop when mu grows past this (no step lowers the loss any more).
        galerkin: a :class:`~kanpde.train.galerkin.Galerkin` (or True for its defaults): add the PDE
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
    update_grid: bool = False
    points: int | None = None  # as for Adam
    galerkin: Galerkin | bool | None = None

    def __post_init__(self):
        self.steps = check_int("LM", "steps", self.steps, 0)
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
        self.update_grid = check_bool("LM", "update_grid", self.update_grid)

    def label(self) -> str:
        return "LM" + _where(self) + (" galerkin" if self.galerkin else "")


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


SOLVERS = ("auto", "cholesky", "qr", "cg")
SCALINGS = ("levenberg", "marquardt")

Stage = Adam | LBFGS | LM


LM_STEPS = {5: 15, 10: 15, 20: 20, 40: 10, 80: 12}      # LM iterations per grid of the default schedule
LBFGS_STEPS = {5: 200, 10: 200, 20: 300, 40: 300, 80: 300}


def default_schedule(lm: bool = True, final_grid: int = 40) -> list[Stage]:
    """A short Adam warm-up, then Levenberg-Marquardt on grids 5 -> 10 -> 20 -> 40 (-> 80), grid extension,
    and one LM iteration with :class:`~kanpde.train.galerkin.Galerkin` rows on the final grid.

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
