"""Residual-driven collocation, vRBA-style: importance sampling and per-point weights from the residual.

Variational residual-based attention (vRBA; Toscano et al. 2025, after RBA, Anagnostopoulos et al.
2024) reads the PINN loss as an expectation under a distribution of the points that the residual
itself chooses. With ``Phi(r) = |r|^p`` the distribution is

    q_i = (1 - u) Phi(r_i) / sum_j Phi(r_j) + u / M          (M candidates, a uniform share u),

and it enters training either way:

- **sampling** (:func:`importance_sample`, ``TrainConfig(adaptive="vrba")``): the next collocation
  points are drawn from a large candidate pool with probabilities q, without replacement, from a
  generator seeded by the caller, so the same seed and step give the same points;
- **weights** (:class:`VRBA`, ``TrainConfig(balance="vrba")``): every point of a loss term carries a
  weight that follows ``lambda_hat_i = Phi(r_i) / mean Phi(r)`` by an exponential moving average,

      lambda <- (1 - eta) lambda + eta lambda_hat,     loss = mean(lambda r^2),

  so the weights keep mean 1 (the loss keeps its scale) and stay frozen within stages that need one
  objective (L-BFGS, SSBroyden, LM).
"""

from __future__ import annotations

import numpy as np
import torch

from .balance import BALANCERS, Balancer


def residual_probabilities(residual: torch.Tensor, power: float = 2.0, uniform: float = 0.1) -> np.ndarray:
    """``q_i = (1 - u) |r_i|^p / sum |r|^p + u / M`` over the M candidates (see the module docstring).

    Args:
        residual: ``(M,)`` or ``(M, k)`` (rows summed in quadrature) residuals at the candidates.
        power: p > 0.
        uniform: the share u in [0, 1] drawn uniformly (keeps every region sampled).

    Returns:
        float64 probabilities ``(M,)`` summing to 1.

    Raises:
        ValueError: an empty or non-finite residual, ``power <= 0`` or ``uniform`` outside [0, 1].
    """
    r = torch.as_tensor(residual).detach()
    r = (r.reshape(len(r), -1).double().pow(2).sum(1).sqrt() if r.ndim > 1 else r.double().abs()).cpu().numpy()
    if r.size == 0 or not np.all(np.isfinite(r)):
        raise ValueError(f"residual must be non-empty and finite, got {r.size} values")
    if not power > 0:
        raise ValueError(f"power must be > 0, got {power!r}")
    if not 0 <= uniform <= 1:
        raise ValueError(f"uniform must be in [0, 1], got {uniform!r}")
    phi = (r / max(r.max(), 1e-300)) ** power           # scaled first: |r|^p of tiny or huge r stays finite
    total = phi.sum()
    q = (1 - uniform) * phi / total + uniform / r.size if total > 0 else np.full(r.size, 1.0 / r.size)
    return q / q.sum()


def importance_sample(pool: torch.Tensor, residual: torch.Tensor, count: int, seed: int, power: float = 2.0,
                      uniform: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` of the ``pool`` ``(M, D)`` points drawn with probabilities :func:`residual_probabilities`.

    Without replacement, from ``numpy.random.default_rng(seed)``: reproducible for a given seed.

    Returns:
        ``(points (count, D), index (count,))``, the index into the pool as an int64 tensor.

    Raises:
        ValueError: ``count`` not in ``1 .. M`` or a residual that does not match the pool.
    """
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= len(pool):
        raise ValueError(f"count must be an int in 1..{len(pool)} (the pool's size), got {count!r}")
    if len(residual) != len(pool):
        raise ValueError(f"residual must have one row per pool point ({len(pool)}), got {len(residual)}")
    q = residual_probabilities(residual, power, uniform)
    pick = np.random.default_rng(seed).choice(len(q), count, replace=False, p=q)
    index = torch.as_tensor(np.sort(pick), device=pool.device)
    return pool[index], index


class VRBA(Balancer):
    """vRBA point weights: ``lambda <- (1 - eta) lambda + eta |r|^p / mean |r|^p``, loss ``mean(lambda r^2)``.

    Args:
        eta: the moving average's step in (0, 1].
        power: p of ``Phi = |r|^p``.

    Raises:
        ValueError: ``eta`` outside (0, 1] or ``power <= 0``.
    """

    def __init__(self, eta: float = 0.01, power: float = 2.0):
        super().__init__()
        if not 0 < eta <= 1:
            raise ValueError(f"eta must be in (0, 1], got {eta!r}")
        if not power > 0:
            raise ValueError(f"power must be > 0, got {power!r}")
        self.eta, self.power = eta, power

    def pointwise(self, name: str, residual: torch.Tensor) -> torch.Tensor:
        """``sqrt(lambda) r``, so the loss term's square is ``lambda r^2``; updates lambda unless frozen.

        ``point_weights`` holds the residual's multiplier ``sqrt(lambda)``, as for RBA (LM reads it)."""
        scale = self.point_weights.get(name)
        if scale is None or scale.shape != residual.shape:
            scale = torch.ones_like(residual.detach())                   # (N, k)
        scale = scale.to(residual)
        if not self.frozen:
            phi = residual.detach().abs().pow(self.power)                # (N, k)
            lam = (1 - self.eta) * scale.pow(2) + self.eta * phi / phi.mean().clamp_min(1e-300)
            scale = lam.sqrt()
            self.point_weights[name] = scale
        self.weights[name] = float(scale.pow(2).mean())
        return scale * residual

    def reset_points(self) -> None:
        self.point_weights.clear()


BALANCERS["vrba"] = VRBA  # TrainConfig(balance="vrba")
