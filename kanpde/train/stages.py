"""Training stages: Adam, L-BFGS and Levenberg-Marquardt, each optionally refining the KAN grid first."""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass


@dataclass
class Adam:
    """``steps`` Adam steps at learning rate ``lr`` (decaying geometrically to ``lr_final`` if given)."""

    steps: int
    lr: float = 1e-2
    grid: int | None = None
    lr_final: float | None = None
    update_grid: bool = False

    def label(self) -> str:
        return f"Adam lr={self.lr:g}" + (f" grid={self.grid}" if self.grid else "")


@dataclass
class LBFGS:
    """``steps`` L-BFGS iterations with strong Wolfe line search (``torch.optim.LBFGS``).

    The optimiser runs ``chunk`` iterations per call (each call re-evaluates the
    loss once), so the history has one row per chunk.
    """

    steps: int
    grid: int | None = None
    lr: float = 1.0
    history_size: int = 20
    chunk: int = 10
    update_grid: bool = False

    def label(self) -> str:
        return "L-BFGS" + (f" grid={self.grid}" if self.grid else "")


@dataclass
class LM:
    """``steps`` Levenberg-Marquardt iterations on the stacked residual vector (see :mod:`kanpde.train.lm`).

    Each iteration assembles the residual Jacobian J once and solves
    ``(J^T J + mu diag(J^T J)) delta = -J^T r``; mu adapts by Nielsen's rule and only
    steps that lower the loss are taken.

    Attributes:
        damping: initial mu (relative to diag(J^T J)).
        solver: ``"cholesky"`` (dense, with an lstsq fallback), ``"cg"`` (conjugate gradients
            on J products; no P x P matrix) or ``"auto"`` (cholesky up to ``dense_limit`` parameters).
        chunk: points per Jacobian block (bounds the memory, see :func:`kanpde.train.lm.jacobian`).
        gtol: stop when ``max |J^T r| <= gtol``.
        xtol: stop when ``|delta| <= xtol (|theta| + xtol)``.
        mu_max: stop when mu grows past this (no step lowers the loss any more).
    """

    steps: int
    _: KW_ONLY
    grid: int | None = None
    damping: float = 1e-3
    solver: str = "auto"
    chunk: int = 1024
    gtol: float = 1e-14
    xtol: float = 1e-12
    mu_max: float = 1e12
    dense_limit: int = 6000
    update_grid: bool = False

    def __post_init__(self):
        if self.solver not in SOLVERS:
            raise ValueError(f"unknown LM solver {self.solver!r}. Pick one of {SOLVERS}")
        for name in ("damping", "mu_max"):
            if not getattr(self, name) > 0:
                raise ValueError(f"LM {name} must be > 0, got {getattr(self, name)!r}")
        if isinstance(self.chunk, bool) or not isinstance(self.chunk, int) or self.chunk < 1:
            raise ValueError(f"LM chunk must be a positive int, got {self.chunk!r}")

    def label(self) -> str:
        return "LM" + (f" grid={self.grid}" if self.grid else "")


SOLVERS = ("auto", "cholesky", "qr", "cg")

Stage = Adam | LBFGS | LM


def default_schedule() -> list[Stage]:
    """A short Adam warm-up, then L-BFGS on grids 5 -> 10 -> 20 -> 40 (grid extension).

    Measured on the Poisson benchmark by ``scripts/poisson_accuracy.py``.
    """
    return [Adam(100, lr=1e-2), LBFGS(200, grid=5), LBFGS(200, grid=10), LBFGS(300, grid=20), LBFGS(300, grid=40)]
