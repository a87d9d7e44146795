"""Causal training (Wang, Sankaran & Perdikaris, "Respecting causality is all you need", 2022/2024).

The interior residual is split into M chunks along the time axis, with per-chunk
mean squares L_1 .. L_M, and weighted so that a chunk counts only once the
chunks before it are solved:

    L_pde = (1/M) sum_i w_i L_i,     w_i = exp(-eps sum_{k<i} L_k),

with the w_i computed without gradient. ``eps`` is annealed upward through a list
(e.g. 1e-2 .. 1e2) and moves on when ``min_i w_i >= threshold``: the whole time
interval then counts and a stricter causality is asked for.
"""

from __future__ import annotations

from typing import Callable

import torch

from .options import Causal


class CausalWeights:
    """The running state of causal training on one time axis: which eps, the last weights.

    ``frozen`` keeps the weights of the first evaluation until :meth:`end_step`, so that
    an L-BFGS call (line search included) minimises one fixed objective.
    """

    def __init__(self, causal: Causal, t0: float, t1: float, time_axis: int,
                 reduce: Callable[[torch.Tensor], torch.Tensor] | None = None):
        self.causal, self.t0, self.t1, self.axis = causal, float(t0), float(t1), time_axis
        self.reduce = reduce  # data-parallel: the in-place sum over ranks (chunk sums and counts are global)
        self.level = 0
        self.weights: torch.Tensor | None = None  # (M,) of the last evaluation
        self.freeze = False
        self._held: torch.Tensor | None = None

    @property
    def eps(self) -> float:
        return self.causal.eps[self.level]

    def chunk_index(self, x: torch.Tensor) -> torch.Tensor:
        """Chunk of each point by its time, ``(N,)`` ints in [0, M)."""
        s = (x[:, self.axis] - self.t0) / (self.t1 - self.t0)                        # (N,) in [0, 1]
        return (s * self.causal.chunks).long().clamp(0, self.causal.chunks - 1)

    def chunk_losses(self, squared: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Mean of ``squared`` ``(N,)`` over each chunk, ``(M,)`` (0 for an empty chunk)."""
        index, m = self.chunk_index(x), self.causal.chunks
        total = squared.new_zeros(m).index_add(0, index, squared)                    # (M,)
        count = squared.new_zeros(m).index_add(0, index, torch.ones_like(squared))   # (M,)
        if self.reduce is not None:  # the global sums; the gradient stays this rank's share (summed later)
            total = total + (self.reduce(total.detach().clone()) - total.detach())
            count = self.reduce(count)
        return total / count.clamp_min(1)

    def weights_for(self, losses: torch.Tensor) -> torch.Tensor:
        """``w_i = exp(-eps sum_{k<i} L_k)`` without gradient, ``(M,)``."""
        before = torch.cumsum(losses.detach(), 0) - losses.detach()                  # (M,) exclusive sum
        return torch.exp(-self.eps * before)

    def _current(self, per_term: list[torch.Tensor]) -> torch.Tensor:
        """The chunk weights ``(M,)`` for these chunk losses, or the held ones while frozen."""
        if self.freeze and self._held is not None:
            weights = self._held
        else:
            weights = self.weights_for(sum(per_term))
            self._held = weights
        self.weights = weights
        return weights

    def losses(self, residuals: list[torch.Tensor], x: torch.Tensor) -> list[torch.Tensor]:
        """Causally weighted mean squares of each residual ``(N, k)``; one set of weights,
        from the residuals' summed chunk losses."""
        per_term = [self.chunk_losses(r.pow(2).mean(1), x) for r in residuals]       # each (M,)
        weights = self._current(per_term)
        return [(weights * losses).mean() for losses in per_term]

    def point_scales(self, residuals: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """Per-point factors ``s_j = sqrt(w_i / (M n_i))``, ``(N, 1)``, point j in chunk i of n_i points:
        ``sum_j s_j^2 mean_c r_jc^2`` is :meth:`losses`' term, so scaled residuals stack into a
        least-squares residual vector (Levenberg-Marquardt; weights held as in :meth:`losses`)."""
        per_term = [self.chunk_losses(r.detach().pow(2).mean(1), x) for r in residuals]  # each (M,)
        weights = self._current(per_term)
        index, m = self.chunk_index(x), self.causal.chunks
        count = weights.new_zeros(m).index_add(0, index, torch.ones_like(index, dtype=weights.dtype))  # (M,)
        if self.reduce is not None:  # n_i counts every rank's points
            count = self.reduce(count)
        return (weights[index] / (m * count[index])).sqrt().unsqueeze(1)            # (N, 1)

    def begin_step(self, freeze: bool) -> None:
        """Before an optimiser call: with ``freeze``, the first evaluation's weights hold until :meth:`end_step`."""
        self.freeze, self._held = freeze, None

    def end_step(self) -> dict:
        """After an optimiser call: release frozen weights, anneal eps; the record's entries."""
        self._held = None
        record = {}
        if self.weights is not None:
            record = {"causal_eps": self.eps, "causal_min_w": float(self.weights.min())}
            if record["causal_min_w"] >= self.causal.threshold and self.level < len(self.causal.eps) - 1:
                self.level += 1
        return record

    def log(self, record: dict, history, every: int = 10) -> None:
        """Add eps and min w to an optimiser call's record; keep the full weights in
        ``history.causal`` every ``every`` steps and whenever eps moves on."""
        level = self.level
        record.update(self.end_step())
        if "causal_eps" in record and (self.level != level or not history.causal
                                       or record["step"] - history.causal[-1]["step"] >= every):
            history.causal.append({"step": record["step"], "eps": record["causal_eps"],
                                   "weights": [float(w) for w in self.weights]})


def causal_state(causal: Causal | None, domain, reduce: Callable[[torch.Tensor], torch.Tensor] | None = None
                 ) -> CausalWeights | None:
    """The weights' state for a problem's domain, or None without causal training.

    ``reduce``: under data parallelism the in-place sum over ranks
    (:meth:`kanpde.train.distributed.DataParallel.all_reduce_sum`), so that chunk losses,
    weights and the LM point scales are those of every rank's points together.

    Raises:
        ValueError: causal training on a domain without a time axis.
    """
    if causal is None:
        return None
    if getattr(domain, "time_axis", None) is None:
        raise ValueError(f"causal training needs a domain with a time axis (space * TimeInterval), got {domain!r}")
    lo, hi = domain.bounds
    return CausalWeights(causal, lo[domain.time_axis], hi[domain.time_axis], domain.time_axis, reduce)
