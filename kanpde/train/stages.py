"""Training stages: Adam and L-BFGS, each optionally refining the KAN grid first."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Adam:
    """``steps`` Adam steps at learning rate ``lr`` (decaying geometrically to ``lr_final`` if given).

    ``sparsity=lam`` adds ``lam`` times the KAN sparsity regulariser (:mod:`kanpde.nn.sparsity`) to the loss.
    """

    steps: int
    lr: float = 1e-2
    grid: int | None = None
    lr_final: float | None = None
    update_grid: bool = False
    sparsity: float = 0.0

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
    sparsity: float = 0.0  # as for Adam

    def label(self) -> str:
        return "L-BFGS" + (f" grid={self.grid}" if self.grid else "")


Stage = Adam | LBFGS


def default_schedule() -> list[Stage]:
    """A short Adam warm-up, then L-BFGS on grids 5 -> 10 -> 20 -> 40 (grid extension).

    Measured on the Poisson benchmark by ``scripts/poisson_accuracy.py``.
    """
    return [Adam(100, lr=1e-2), LBFGS(200, grid=5), LBFGS(200, grid=10), LBFGS(300, grid=20), LBFGS(300, grid=40)]
