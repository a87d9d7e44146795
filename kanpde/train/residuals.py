"""The one loss: named, weighted residual terms on given points, as a scalar and as a residual vector.

Every training path minimises

    L(theta) = sum_t w_t lambda_t mean_j |l_tj r_t(x_j; theta)|^2,

over the terms t (the PDE's residuals, one per equation, then each soft condition), with ``w_t`` the
user's weight (``Problem(weights=)`` overridden by ``TrainConfig(weights=)``), ``lambda_t`` the balancer's
factor and ``l_tj`` its point weights (RBA), or, for the PDE under causal training, the causal chunk
weights. :func:`term_weight` is the one place where ``w_t`` and ``lambda_t`` meet.

- Adam and L-BFGS: :func:`loss_terms` (the mean squares) and :func:`total` (their weighted sum).
- Levenberg-Marquardt: :func:`blocks` (the terms as residual blocks, evaluated chunk by chunk by
  :mod:`kanpde.train.jacobian`) and :func:`row_factors`, which scale each block so that
  ``|r|^2 = L``; :func:`residual_rows` returns the raw residuals with their per-row weights.
- Best-model selection and grid growing: :func:`plain_loss` (user weights only).
- Galerkin rows: :func:`term_weight` for their PDE terms.

The functions read the run from a trainer (:class:`kanpde.train.trainer.Trainer`): its problem, model,
config, learned parameters, ``weights`` (merged once), derivative ``record``, balancer, causal state and
data-parallel ranks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from ..nn.kan import KAN
from ..nn.sparsity import sparsity_penalty
from ..pde.conditions import ConditionPoints
from .distributed import DataParallel


def user_weights(problem, config) -> dict[str, float]:
    """``w_t`` of every term that has one: the problem's weights, the config's on top."""
    return {**problem.weights, **config.weights}


def term_weight(trainer, name: str) -> float:
    """``w_t lambda_t``: the user's weight of term ``name`` times the balancer's factor."""
    return trainer.weights.get(name, 1.0) * trainer.balancer.factor(name)


def parallel_of(trainer) -> DataParallel:
    """The trainer's data-parallel ranks (one process when it has none)."""
    return getattr(trainer, "parallel", None) or DataParallel()


# -- the terms, evaluated -------------------------------------------------------------------------------


def evaluate(trainer, points) -> tuple[list[tuple[str, torch.Tensor]], list[tuple[str, torch.Tensor]]]:
    """The named residuals ``(n, k)`` of the trainer's model on ``points`` (:class:`TrainingPoints`):
    the PDE's (interior points) and the soft conditions' (their own points); they keep their graph."""
    problem, model, backend = trainer.problem, trainer.model, trainer.config.derivatives
    residuals = problem.residuals(model, points.interior, backend, trainer.parameters, trainer.record)
    pde = list(zip(problem.residual_names(len(residuals)), residuals))
    conditions = [(term, problem.condition_residual(condition, model, where, backend, trainer.record))
                  for condition, term, where in zip(problem.conditions, problem.terms, points.conditions)]
    return pde, conditions


def loss_terms(trainer, points, sparsity: float = 0.0) -> dict[str, torch.Tensor]:
    """Every named term's mean square ``lambda-weighted mean_j |l_tj r_tj|^2`` over all ranks' points
    (unweighted by ``w_t lambda_t``), plus ``sparsity`` times the KAN sparsity regulariser when nonzero."""
    pde, conditions = evaluate(trainer, points)
    mean = trainer.parallel.global_mean
    pointwise = trainer.balancer.pointwise
    if trainer.causal is None:
        losses = [mean(pointwise(name, r).pow(2)) for name, r in pde]
    else:
        losses = trainer.causal.losses([r for _, r in pde], points.interior)
    terms = {name: loss for (name, _), loss in zip(pde, losses)}
    terms.update({term: mean(pointwise(term, r).pow(2)) for term, r in conditions})
    if sparsity and isinstance(trainer.model, KAN):  # the stage's regulariser (sec. 2.5 of the KAN paper)
        terms["sparsity"] = sparsity * sparsity_penalty(trainer.model, points.interior)
    return terms


def total(trainer, terms: dict[str, torch.Tensor]) -> torch.Tensor:
    """``L = sum_t w_t lambda_t terms[t]``.

    Raises:
        ValueError: a user weight names no term.
    """
    unknown = set(trainer.weights) - set(terms)
    if unknown:
        raise ValueError(f"loss weights for unknown terms {sorted(unknown)}. Pick from {sorted(terms)}")
    return sum(term_weight(trainer, name) * value for name, value in terms.items())


def plain_loss(trainer, points) -> float:
    """``sum_t w_t mean|r_t|^2`` on ``points`` with the user's weights only: no balancer factors, point
    weights or causal weights, which change during training (so values from different stages compare)."""
    with torch.enable_grad():  # autograd derivatives need a graph; the jet does not care
        pde, conditions = evaluate(trainer, points)
        terms = {name: float(r.detach().pow(2).mean()) for name, r in pde + conditions}
    return sum(trainer.weights.get(name, 1.0) * value for name, value in terms.items())


# -- the terms as residual blocks (Levenberg-Marquardt) ------------------------------------------------------


@dataclass
class Block:
    """Residuals evaluated together on ``count`` points: the PDE (one term per equation) or one condition."""

    count: int
    evaluate: Callable[[slice, str], list[torch.Tensor]]  # (points, backend) -> residuals (n, k) each
    names: Callable[[int], list[str]]                     # term names for that many residuals


def pde_block(trainer, x: torch.Tensor) -> Block:
    """The PDE residuals of the trainer's model at points ``x``."""
    problem, model = trainer.problem, trainer.model
    return Block(len(x), lambda i, b: problem.residuals(model, x[i], b, trainer.parameters, trainer.record),
                 problem.residual_names)


def _subset(points: ConditionPoints, index: slice) -> ConditionPoints:
    pick = lambda t: None if t is None else t[index]  # noqa: E731
    return ConditionPoints(pick(points.points), pick(points.normals), pick(points.partner), pick(points.values))


def blocks(trainer, points=None) -> list[Block]:
    """The loss terms as residual blocks on ``points`` (default: the trainer's training points), the PDE's first."""
    points = trainer.points if points is None else points
    problem, model = trainer.problem, trainer.model
    out = [pde_block(trainer, points.interior)]
    for condition, term, where in zip(problem.conditions, problem.terms, points.conditions):
        evaluate = lambda i, b, c=condition, p=where: [  # noqa: E731
            problem.condition_residual(c, model, _subset(p, i), b, trainer.record)]
        out.append(Block(len(where.points), evaluate, lambda count, t=term: [t]))
    return out


def _point_weights(trainer, name: str, residual: torch.Tensor) -> torch.Tensor | None:
    """The balancer's pointwise weights ``(count, k)`` of a term (RBA; frozen within LM), or None.

    Read, not through ``balancer.pointwise``, which would update them (outside a frozen stage)
    and cannot see which chunk of the points it is given."""
    lam = trainer.balancer.point_weights.get(name)
    return None if lam is None or lam.shape != residual.shape else lam.to(residual)


def row_factors(trainer, names: list[str], residuals: list[torch.Tensor], pde: bool,
                interior: torch.Tensor | None = None) -> list[torch.Tensor]:
    """Each residual's factor (broadcasting to its ``(count, k)``) making it its share of ``|r|^2 = L``:
    ``sqrt(w lambda / (count k))`` times RBA's point weights or, for the PDE block under causal training,
    ``sqrt(w lambda / k)`` times :meth:`~kanpde.train.causal.CausalWeights.point_scales` (held per LM iteration)
    of the ``interior`` points (default: the trainer's).

    ``count`` is the block's number of points over all data-parallel ranks (a collective: every
    rank calls this for the same blocks in the same order), so that each rank's rows are its
    share of the global loss."""
    causal = getattr(trainer, "causal", None) if pde else None
    interior = trainer.points.interior if interior is None else interior
    scales = None if causal is None else causal.point_scales(residuals, interior)  # (count, 1)
    count = int(parallel_of(trainer).all_reduce_sum(torch.tensor([float(len(residuals[0]))],
                                                                 device=residuals[0].device)).item())
    out = []
    for name, r in zip(names, residuals):
        if scales is not None:
            out.append(scales * math.sqrt(term_weight(trainer, name) / r.shape[1]))
            continue
        lam = _point_weights(trainer, name, r)
        factor = math.sqrt(term_weight(trainer, name) / max(count * r.shape[1], 1))
        out.append(r.new_tensor(factor) if lam is None else lam * factor)
    return out


def _weighted_blocks(trainer, points):
    """Each block's residuals ``(n, k)`` (with their graph) and their :func:`row_factors`, PDE first."""
    for number, block in enumerate(blocks(trainer, points)):
        residuals = block.evaluate(slice(None), trainer.config.derivatives)
        yield residuals, row_factors(trainer, block.names(len(residuals)), residuals, number == 0, points.interior)


def residual_parts(trainer, points=None) -> list[torch.Tensor]:
    """LM's residual vector in pieces, one per residual tensor (a term's ``(n, k)`` times its
    :func:`row_factors`, flattened point by point), PDE first; they keep their graph."""
    points = trainer.points if points is None else points
    return [(f * r).reshape(-1) for residuals, factors in _weighted_blocks(trainer, points)
            for f, r in zip(factors, residuals)]


def residual_vector(trainer, points=None) -> torch.Tensor:
    """LM's residual vector ``r(theta)``, ``(M,)``, with ``r @ r`` the trainer's weighted loss (detached)."""
    return torch.cat(residual_parts(trainer, points)).detach()


def residual_rows(trainer, points=None) -> tuple[torch.Tensor, torch.Tensor]:
    """The raw residuals ``e`` ``(M,)`` (every term's ``(n, k)`` flattened point by point, PDE first) and
    their per-row weights ``c`` ``(M,)``, with ``sum_i c_i e_i^2 = L`` on ``points`` (default: the trainer's
    training points) and ``sqrt(c) e`` LM's :func:`residual_vector`. Both detached."""
    points = trainer.points if points is None else points
    rows, weights = [], []
    for residuals, factors in _weighted_blocks(trainer, points):
        rows += [r.detach().reshape(-1) for r in residuals]
        weights += [f.detach().pow(2).expand_as(r).reshape(-1) for f, r in zip(factors, residuals)]
    return torch.cat(rows), torch.cat(weights)
