"""Automatic loss balancing: no hand-picked loss weights.

Gradient-norm balancing (Wang, Teng & Perdikaris 2021, as in JAX-PI) weighs each
term L_i of the loss so that every term pulls on the parameters equally hard:

    lambda_i = sum_j ||grad_theta L_j|| / ||grad_theta L_i||,    L = sum_i w_i lambda_i L_i,

with ``w_i`` the user's weights. The lambdas are smoothed by a moving average
``lambda <- a lambda + (1 - a) lambda_new`` and refreshed every ``every`` Adam
steps; an L-BFGS stage needs a fixed objective, so they are recomputed once at its
start and frozen within it.

NTK balancing (the default, :class:`NTK`) weighs each term by the inverse of its mean NTK diagonal,
``lambda_i ~ 1 / mean_j ||grad_theta r_ij||^2``: by how strongly its residuals respond to the parameters,
not by how far they are from zero, refreshed at every stage's start (Levenberg-Marquardt included).

Residual-based attention (RBA; Anagnostopoulos et al. 2024) instead weighs every
point: ``r_i <- lambda_i r_i`` with ``lambda_i <- gamma lambda_i + eta |r_i| / max|r|``
updated after each Adam step (frozen under L-BFGS, reset when points are resampled).
"""

from __future__ import annotations

import math

import torch

from .residuals import evaluate

BALANCE = ("ntk", "gradnorm", "rba", "vrba", None)  # "vrba": kanpde.train.sampling_rba.VRBA, built by the trainer
REGULARISERS = {"sparsity"}  # terms with a weight of their own: never balanced


def unbalanced(term: str) -> bool:
    """Terms gradient-norm balancing leaves at 1: regularisers, and gauges (``gauge[p]``: one point that
    only picks a constant; met, its gradient vanishes and its factor would blow up)."""
    return term in REGULARISERS or term.startswith("gauge[")


class Balancer:
    """No balancing: every automatic weight is 1 (``balance=None``)."""

    def __init__(self):
        self.weights: dict[str, float] = {}
        self.point_weights: dict[str, torch.Tensor] = {}  # (N, k) per term; RBA only
        self.frozen = False  # True within an L-BFGS stage

    def factor(self, name: str) -> float:
        return self.weights.get(name, 1.0)

    def pointwise(self, name: str, residual: torch.Tensor) -> torch.Tensor:
        """The residual the loss term squares (RBA reweighs it point by point)."""
        return residual

    def start_stage(self, trainer, stage) -> None:
        """Called before each stage's first step."""
        self.frozen = stage.fixed_objective  # L-BFGS, LM: one objective within a step

    def before_step(self, trainer, done: int) -> None:
        """Called before each Adam step (``done`` steps of the stage so far)."""

    def reset_points(self) -> None:
        """The collocation points changed."""

    def record(self) -> dict[str, float]:
        """The weights for the history and the progress bar, ``{"weight:pde": ...}``."""
        return {f"weight:{k}": v for k, v in self.weights.items()}

    def state_dict(self) -> dict:
        """What a resumable checkpoint keeps (plain floats and tensors: ``weights_only`` loads it)."""
        return {"weights": dict(self.weights), "points": {k: v.detach().cpu() for k, v in self.point_weights.items()}}

    def load_state_dict(self, state: dict) -> None:
        self.weights = dict(state["weights"])
        self.point_weights = dict(state["points"])


class GradNorm(Balancer):
    """Gradient-norm balancing (see the module docstring).

    Args:
        every: Adam steps between updates.
        momentum: moving-average factor ``a`` (0: no smoothing).
    """

    def __init__(self, every: int = 10, momentum: float = 0.9):
        super().__init__()
        self.every, self.momentum = every, momentum

    def gradient_norms(self, trainer) -> dict[str, float]:
        """``||grad_theta L_i||`` for every unweighted loss term."""
        params = [p for p in trainer.trainable() if p.requires_grad]
        with torch.enable_grad():
            terms = trainer.loss_terms()
            norms = {}
            for i, (name, value) in enumerate(terms.items()):
                grads = torch.autograd.grad(value, params, retain_graph=i + 1 < len(terms), allow_unused=True)
                flat = torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1) for p, g in zip(params, grads)])
                flat = trainer.parallel.all_reduce_sum(flat)  # data-parallel: each rank holds its share
                norms[name] = float(flat.norm())
        return norms

    def update(self, trainer, smooth: bool) -> None:
        norms = {k: v for k, v in self.gradient_norms(trainer).items() if not unbalanced(k)}
        if len(norms) < 2 or not all(v > 0 and torch.isfinite(torch.tensor(v)) for v in norms.values()):
            return  # one term (nothing to balance) or a degenerate gradient: keep the weights
        total = sum(norms.values())
        for name, norm in norms.items():
            new = total / norm
            old = self.weights.get(name)
            self.weights[name] = new if old is None or not smooth else self.momentum * old + (1 - self.momentum) * new

    def start_stage(self, trainer, stage) -> None:
        super().start_stage(trainer, stage)
        self.update(trainer, smooth=False)

    def before_step(self, trainer, done: int) -> None:
        if done and done % self.every == 0:
            self.update(trainer, smooth=True)


class NTK(GradNorm):
    """Neural-tangent-kernel balancing (Wang, Yu & Perdikaris 2022, "When and why PINNs fail to train"):
    each term weighed by the inverse of its mean NTK diagonal, the squared parameter gradient of one of
    its residuals,

        s_i = mean_j ||grad_theta r_ij||^2 = tr(J_i J_i^T) / n_i,    lambda_i = (prod_t s_t)^(1/T) / s_i,

    so every term's Gauss-Newton matrix ``lambda_i J_i^T J_i / n_i`` has the same trace: the terms are
    balanced by how strongly their residuals respond to the parameters (a PDE residual of second
    derivatives on a fine grid against boundary values), not by how well they are met. Gradient-norm
    weights shrink a term the more it is violated (its gradient grows with its residual): on a
    Navier-Stokes system the unmet u-boundary term got 1.2 against 20-90 for the others and the fit
    stalled (u rel L2 0.6; issue #26). ``tr(J_i J_i^T)`` is estimated with ``probes`` Rademacher vectors
    z (Hutchinson: ``E ||J_i^T z||^2``), a backward pass each on all the term's points; refreshed at
    every stage's start (LM included) and every ``every`` Adam steps.
    """

    def __init__(self, every: int = 25, momentum: float = 0.0, probes: int = 4):
        super().__init__(every, momentum)
        self.probes = probes

    def sensitivities(self, trainer) -> dict[str, float]:
        """``s_i`` of every balanced term (Hutchinson estimates, fixed seeds: reproducible)."""
        params = [p for p in trainer.trainable() if p.requires_grad]
        generator = torch.Generator().manual_seed(trainer.config.seed + trainer.step)
        out = {}
        with torch.enable_grad():
            pde, conditions = evaluate(trainer, trainer.points)
            named = [(n, r) for n, r in pde + conditions if not unbalanced(n)]
            for index, (name, r) in enumerate(named):
                total = 0.0
                for probe in range(self.probes):
                    z = torch.randint(0, 2, r.shape, generator=generator).to(r) * 2 - 1      # (n, k) of +-1
                    last = index + 1 == len(named) and probe + 1 == self.probes
                    grads = torch.autograd.grad((z * r).sum(), params, retain_graph=not last, allow_unused=True)
                    flat = torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1)
                                      for p, g in zip(params, grads)])
                    total += float(trainer.parallel.all_reduce_sum(flat).pow(2).sum())
                count = trainer.parallel.all_reduce_sum(torch.tensor([float(r.numel())]))
                out[name] = total / self.probes / float(count.clamp_min(1))
        return out

    def update(self, trainer, smooth: bool) -> None:
        scales = self.sensitivities(trainer)
        if len(scales) < 2 or not all(v > 0 and math.isfinite(v) for v in scales.values()):
            return  # one term (nothing to balance) or a degenerate gradient: keep the weights
        centre = math.exp(sum(math.log(v) for v in scales.values()) / len(scales))
        for name, scale in scales.items():
            new, old = centre / scale, self.weights.get(name)
            self.weights[name] = new if old is None or not smooth else self.momentum * old + (1 - self.momentum) * new


class RBA(Balancer):
    """Residual-based attention: pointwise weights (see the module docstring)."""

    def __init__(self, gamma: float = 0.999, eta: float = 0.01):
        super().__init__()
        self.gamma, self.eta = gamma, eta

    def pointwise(self, name, residual):
        lam = self.point_weights.get(name)
        if lam is None or lam.shape != residual.shape:
            lam = torch.ones_like(residual.detach())                     # (N, k)
        lam = lam.to(residual)
        if not self.frozen:  # frozen under L-BFGS: its line search needs one objective
            r = residual.detach().abs()
            lam = self.gamma * lam + self.eta * r / r.max().clamp_min(1e-300)
            self.point_weights[name] = lam
        self.weights[name] = float(lam.mean())
        return lam * residual

    def reset_points(self) -> None:
        self.point_weights.clear()


# The balancer class of each TrainConfig.balance value; kanpde.train.sampling_rba adds "vrba" when it is imported
# (it builds on Balancer, so this module cannot import it).
BALANCERS: dict = {"ntk": NTK, "gradnorm": GradNorm, "rba": RBA, None: Balancer}


def make_balancer(kind: str | None) -> Balancer:
    """The balancer for ``TrainConfig.balance``."""
    if kind not in BALANCERS:
        raise ValueError(f"unknown balance {kind!r}. Pick one of {BALANCE}")
    return BALANCERS[kind]()
