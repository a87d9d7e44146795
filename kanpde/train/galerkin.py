"""Galerkin rows for Levenberg-Marquardt: the PDE residual's projections on smooth test functions,
integrated on many more points than the collocation set (``kp.LM(..., galerkin=kp.Galerkin())``).

    g_(t,c,m)(theta) = alpha sqrt(w_t / k_t) (1 / Q) sum_q R_tc(x_q; theta) v_m(x_q),     m = 1 .. K^d,

R_t the PDE residuals (``k_t`` components, term weight ``w_t`` as in the loss), v_m the products of
Legendre polynomials of degree < K in each coordinate of the domain's bounding box, scaled to mean
square 1 there, and x_q a scrambled Sobol set of Q points in the domain (equal weights: a QMC mean).
The rows join the LM residual vector, so the stage minimises ``L(theta) + |g(theta)|^2``. Their Jacobian
``mix @ J`` is formed chunk by chunk without the ``Q x P`` matrix (:func:`kanpde.train.jacobian.layer_rows`).

Why. LM fits R at the N collocation points; what it cannot see is R's projection on the smoothest
functions, which the solution error follows most (an elliptic operator maps its lowest modes to the
smallest residuals) and which the N points estimate with a quadrature error of their own: a cubic-spline
KAN's residual is rough at the knot scale. On helmholtz2d (Δu + u = f, grid 80, 5000 points) the error
left sits in the lowest sine modes, and the residual's projections on them were off by up to 1.2e-3 with
4096 Sobol points, 1.9e-4 with 65 536 and 3.7e-5 with 262 144 (``scripts/galerkin_quadrature.py``), the
first about the size of the error it causes. A fine quadrature of a few dozen projections is cheap where
a fine collocation set is not (an LM solve costs N P^2): the default schedule's one Galerkin iteration
(after 12 instead of 15 grid-80 iterations) takes helmholtz2d from rel L2 1.04e-4 / 1.79e-4 / 1.15e-4
to 5.9e-5 / 3.9e-5 / 3.1e-5 (seeds 0 / 1 / 2) and poisson2d from 3.8e-7 / 1.8e-7 / 2.8e-7 to
1.1e-7 / 4.0e-8 / 4.9e-8 (README, "Galerkin rows").

Data parallel: each rank sums its share of the quadrature points; the sums are all-reduced and the
rows join rank 0's residual vector only, so the all-reduced ``J^T J`` counts them once.
"""

from __future__ import annotations

import math
import torch

from .jacobian import Columns, chunk_batched, chunk_by_taps, uses_taps
from .options import Galerkin
from .residuals import pde_block, term_weight

GALERKIN_SEED_OFFSET = 104_729  # the quadrature's Sobol seed, apart from training (seed + i) and validation


def legendre_tests(x: torch.Tensor, lo, hi, modes: int) -> torch.Tensor:
    """The test functions at ``x`` ``(N, d)``: ``(N, modes**d)``, the products of P_a(s_i), a < modes,
    with ``s_i`` coordinate i mapped from ``[lo_i, hi_i]`` to ``[-1, 1]``, each factor scaled by
    ``sqrt(2a + 1)`` (mean square 1 over the box); the first coordinate's degree varies slowest."""
    s = 2 * (x - x.new_tensor(lo)) / x.new_tensor(hi).sub(x.new_tensor(lo)) - 1    # (N, d)
    values = [torch.ones_like(s), s]                                                 # Bonnet's recurrence
    for a in range(1, modes - 1):
        values.append(((2 * a + 1) * s * values[a] - a * values[a - 1]) / (a + 1))
    scale = torch.sqrt(2 * torch.arange(modes, dtype=x.dtype, device=x.device) + 1)
    per_axis = torch.stack(values[:modes], dim=-1) * scale                           # (N, d, modes)
    tests = per_axis[:, 0]
    for axis in range(1, x.shape[1]):
        tests = (tests.unsqueeze(-1) * per_axis[:, axis].unsqueeze(1)).reshape(len(x), -1)  # (N, modes^(axis+1))
    return tests


def _accumulate(total: list[torch.Tensor] | None, part: list[torch.Tensor] | None) -> list[torch.Tensor] | None:
    """The running sum of lists of tensors, elementwise (None: nothing summed yet, or nothing to add)."""
    if total is None or part is None:
        return part if total is None else total
    return [a + b for a, b in zip(total, part)]


class GalerkinRows:
    """The rows ``g`` and their Jacobian for one LM stage: quadrature points drawn once, in the domain.

    Args:
        trainer: the run (its problem, model, config, weights and data-parallel ranks).
        spec: the stage's :class:`Galerkin`.
    """

    def __init__(self, trainer, spec: Galerkin):
        self.spec = spec
        domain = trainer.problem.domain
        points = domain.sample_interior(spec.points, method="sobol", seed=trainer.config.seed + GALERKIN_SEED_OFFSET)
        self.x = trainer.parallel.shard(trainer._tensor(points))             # this rank's (Q_rank, d)
        self.lo, self.hi = (tuple(float(v) for v in b) for b in domain.bounds)
        self.per_axis = spec.per_axis(len(self.lo))                        # test polynomials per coordinate

    def rows(self, trainer, jacobian: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``g`` ``(R,)`` and, with ``jacobian``, ``dg/dtheta`` ``(R, P)`` (columns in ``trainer.trainable()``
        order), summed over every rank's points (a collective)."""
        taps = uses_taps(trainer)
        backend = trainer.config.derivatives if taps else "autograd"
        columns = Columns(trainer.trainable())
        block = pde_block(trainer, self.x)
        values, jacobians = None, None  # per residual: (K, k) and (K, k, P), summed over the chunks
        for start in range(0, max(len(self.x), 1), self.spec.chunk):  # a rank without points: one empty chunk
            index = slice(start, min(start + self.spec.chunk, len(self.x)))
            mix = legendre_tests(self.x[index], self.lo, self.hi, self.per_axis).T / self.spec.points  # (K, n)
            if jacobian and index.stop > start:
                assemble = chunk_by_taps if taps else chunk_batched
                chunk_values, chunk_jacobians = assemble(trainer, block, index, index.stop - start, columns, backend,
                                                         mix)
            else:  # values only, or a rank without points (zero rows of J)
                chunk_values = [mix @ r.detach() for r in block.evaluate(index, backend)]
                chunk_jacobians = [v.new_zeros(*v.shape, columns.total) for v in chunk_values] if jacobian else None
            values, jacobians = _accumulate(values, chunk_values), _accumulate(jacobians, chunk_jacobians)
        return self._scaled(trainer, values, jacobians)

    def _scaled(self, trainer, values: list[torch.Tensor], jacobians: list[torch.Tensor] | None):
        """The rows ``(R,)`` and their Jacobian ``(R, P)`` (or None), all-reduced, each residual's times
        ``alpha sqrt(w_t / k_t)``, as the residual vector's terms are scaled."""
        names = trainer.problem.residual_names(len(values))
        factors = [self.spec.weight * math.sqrt(term_weight(trainer, name) / v.shape[1])  # v: (K, k_t)
                   for name, v in zip(names, values)]
        g = torch.cat([f * v.reshape(-1) for f, v in zip(factors, values)])             # (R,)
        if jacobians is None:
            return trainer.parallel.all_reduce_sum(g), None
        G = torch.cat([f * j.reshape(len(j) * j.shape[1], -1) for f, j in zip(factors, jacobians)])  # (R, P)
        flat = trainer.parallel.all_reduce_sum(torch.cat([g.unsqueeze(1), G], 1))      # one reduction for both
        return flat[:, 0], flat[:, 1:]

    def loss(self, trainer) -> float:
        """``|g|^2`` of the trainer's current model (a collective)."""
        with torch.enable_grad():  # autograd derivatives need a graph; the jet does not care
            g, _ = self.rows(trainer, jacobian=False)
        return float(g @ g)
