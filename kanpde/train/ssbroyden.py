"""Self-scaled Broyden (SSBroyden): a dense quasi-Newton optimiser with a strong Wolfe line search.

With ``s = x_(k+1) - x_k``, ``y = g_(k+1) - g_k`` and the inverse-Hessian estimate H, the self-scaled
Broyden family (Al-Baali; Urbán, Stefanou & Pons, J. Comput. Phys. 2025, "Unveiling the optimization
process of physics informed neural networks", eqs. 13-23; Kiyani et al., CMAME 2025) updates

    H <- (H - H y y^T H / (y^T H y) + phi (y^T H y) v v^T) / tau + s s^T / (y^T s),
    v  = s / (y^T s) - H y / (y^T H y),

``phi = 1`` being BFGS and ``tau = 1`` unscaled. With ``b = s^T H^{-1} s / (y^T s)``, ``h = y^T H y / (y^T s)``
and ``a = b h - 1 >= 0`` (Cauchy-Schwarz), the "SSBroyden2" choice is

    rho- = min(1, h (1 - sqrt(a / (1 + a)))),   theta- = (rho- - 1) / a,   theta+ = 1 / rho-,
    theta = max(theta-, min(theta+, (1 - b) / b)),   phi = (1 - theta) / (1 + a theta),
    sigma = 1 + a theta,   tau = h / sigma  on the first update (H = I), else
    tau = min(min(1, 1/b) sigma^(1/(1-n)), sigma)  (theta <= 0),  min(1, 1/b) min(sigma^(1/(1-n)), 1/theta)  (theta > 0).

The scaling keeps H's eigenvalues in line with the Hessian's, which is what lets the method carry on
where L-BFGS stalls on ill-conditioned PINN losses. H is dense (``n x n``, fine for the few thousand
parameters of a KAN solving a PDE) and the step length comes from torch's strong Wolfe line search
(``torch.optim.lbfgs._strong_wolfe``). :class:`SelfScaledBroyden` subclasses ``torch.optim.LBFGS`` for its
flat-parameter helpers and its state keys (``n_iter``, ``func_evals``), so a trainer drives it like L-BFGS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.optim.lbfgs import _strong_wolfe

from .stages import LBFGS, _where

CURVATURE_FLOOR = 1e-300  # y^T s below this: no update (the line search should prevent it)


class SelfScaledBroyden(torch.optim.LBFGS):
    """SSBroyden with strong Wolfe line search; ``step(closure)`` runs up to ``max_iter`` iterations.

    Args:
        params: the parameters (one group).
        lr: the first trial step of every line search (1: the quasi-Newton step).
        max_iter: iterations per ``step`` call.
        max_eval: loss evaluations per ``step`` call (default ``5 max_iter / 4``, as torch's LBFGS).
        tolerance_grad: stop when ``max |g| <= tolerance_grad``.
        tolerance_change: stop when the directional derivative or the loss change falls below it.

    Raises:
        ValueError: more than one parameter group, or a bad lr / max_iter.
    """

    def __init__(self, params, lr: float = 1.0, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 0.0, tolerance_change: float = 0.0):
        if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
        if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
            raise ValueError(f"max_iter must be an int >= 1, got {max_iter!r}")
        super().__init__(params, lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                         tolerance_change=tolerance_change, history_size=1, line_search_fn="strong_wolfe")

    @torch.no_grad()
    def step(self, closure):  # noqa: C901 -- one quasi-Newton loop, kept in one place
        """Up to ``max_iter`` SSBroyden iterations; returns the loss at the start."""
        closure = torch.enable_grad()(closure)
        group = self.param_groups[0]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        first_loss = closure()
        loss, grad = float(first_loss), self._gather_flat_grad().double()      # (n,)
        evals = 1
        if grad.abs().max() <= group["tolerance_grad"]:
            return first_loss
        n = grad.numel()
        inverse = state.get("inverse")
        if inverse is None or inverse.shape != (n, n):
            inverse = torch.eye(n, dtype=torch.float64, device=grad.device)       # (n, n) H
            state["updates"] = 0
        for _ in range(group["max_iter"]):
            direction = -(inverse @ grad)                                          # (n,)
            slope = float(grad @ direction)
            if not slope < -group["tolerance_change"]:
                if state["updates"] == 0:
                    break                                                          # H = I already: converged
                inverse = torch.eye(n, dtype=torch.float64, device=grad.device)  # lost descent: restart
                state["updates"] = 0
                continue
            start = self._clone_param()
            t = group["lr"] if state["updates"] else min(1.0, 1.0 / float(grad.abs().sum())) * group["lr"]
            new_loss, new_grad, t, used = _strong_wolfe(
                lambda x, t, d: self._directional_evaluate(closure, x, t, d), start, t,
                direction.to(start[0].dtype), loss, grad.to(start[0].dtype), slope,
                tolerance_change=group["tolerance_change"], max_ls=max(1, min(25, group["max_eval"] - evals)))
            evals += used
            state["func_evals"] += used
            if not (math.isfinite(new_loss) and new_loss < loss and t > 0):
                self._set_param(start)                                            # no decrease along d
                if state["updates"] == 0:
                    break
                inverse = torch.eye(n, dtype=torch.float64, device=grad.device)
                state["updates"] = 0
                continue
            self._add_grad(t, direction.to(start[0].dtype))
            state["n_iter"] += 1
            new_grad = new_grad.double()
            step, change = t * direction, new_grad - grad                          # s, y
            inverse = _ssbroyden_update(inverse, step, change, grad, t, first=state["updates"] == 0)
            state["updates"] += 1
            previous, loss, grad = loss, new_loss, new_grad
            if grad.abs().max() <= group["tolerance_grad"] or abs(previous - loss) < group["tolerance_change"] \
                    or evals >= group["max_eval"]:
                break
        state["inverse"] = inverse
        return first_loss


def _ssbroyden_update(inverse: torch.Tensor, s: torch.Tensor, y: torch.Tensor, grad: torch.Tensor, t: float,
                      first: bool) -> torch.Tensor:
    """The SSBroyden2 update of H ``(n, n)`` from the step s, the gradient change y and the old gradient
    (see the module docstring); H unchanged when ``y^T s`` is not positive."""
    ys = float(y @ s)
    if not ys > CURVATURE_FLOOR:
        return inverse
    hy = inverse @ y                                                               # (n,) H y
    yhy = float(y @ hy)
    h = yhy / ys
    b = -t * float(s @ grad) / ys                                                  # s^T B s / y^T s, B s = -t g
    a = max(h * b - 1.0, 0.0)
    if a < 1e-12 or b <= 0:                    # collinear: the secant pins the update, plain BFGS
        theta, tau = 0.0, (h if first else 1.0)
    else:
        rho_minus = min(1.0, h * (1.0 - math.sqrt(a / (1.0 + a))))
        theta_minus, theta_plus = (rho_minus - 1.0) / a, 1.0 / rho_minus
        theta = max(theta_minus, min(theta_plus, (1.0 - b) / b))
        sigma = 1.0 + a * theta
        if first:
            tau = h / sigma
        else:
            root = abs(sigma) ** (1.0 / (1.0 - len(s)))
            tau = min(1.0, 1.0 / b) * (min(root, sigma) if theta <= 0 else min(root, 1.0 / theta))
    phi = (1.0 - theta) / (1.0 + a * theta)
    v = s / ys - hy / yhy                                                          # (n,)
    inverse = inverse - torch.outer(hy, hy) / yhy + (phi * yhy) * torch.outer(v, v)
    inverse = inverse / tau + torch.outer(s, s) / ys
    return (inverse + inverse.T) / 2                                               # keep it symmetric


@dataclass
class SSBroyden(LBFGS):
    """``steps`` SSBroyden iterations (:class:`SelfScaledBroyden`), ``chunk`` per optimiser call.

    A training stage like :class:`kanpde.LBFGS` (it is one to the trainer: same chunks, history rows, grid
    refinement, points), with the dense self-scaled Broyden update instead of limited memory;
    ``history_size`` is unused. ``kp.SSBroyden(2000, grid=20)``.

    Raises:
        TypeError, ValueError: a field of the wrong type or out of range (lr > 0, chunk >= 1, grid >= 1, ...).
    """

    def __post_init__(self):
        try:
            super().__post_init__()
        except (TypeError, ValueError) as error:  # the same checks, named for this stage
            raise type(error)(str(error).replace("LBFGS.", "SSBroyden.")) from None

    def label(self) -> str:
        return "SSBroyden" + _where(self)

    def make_optimizer(self, trainer, previous) -> SelfScaledBroyden:
        """The stage's optimiser over the trainer's parameters (L-BFGS's loop runs it)."""
        return SelfScaledBroyden(trainer.trainable(), lr=self.lr, max_iter=self.chunk)
