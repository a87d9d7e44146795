"""Viscous Burgers equation with a steepening shock (Raissi et al. 2019).

PDE:        u_t + u u_x = ν u_xx,   ν = 0.01/π
Domain:     x in [-1, 1], t in [0, 1]
Conditions: u(±1, t) = 0 (Dirichlet);  u(x, 0) = -sin(π x) (Initial)
Reference:  the Cole-Hopf solution (Basdevant et al. 1986)

                u(x, t) = -∫ sin(π(x-η)) f(x-η) e^{-η²/(4νt)} dη / ∫ f(x-η) e^{-η²/(4νt)} dη,
                f(y) = exp(-cos(π y) / (2πν)),

            evaluated with η = sqrt(4νt) z by the trapezoidal rule on 161 nodes
            z in [-13, 13] and a log-sum-exp (softmax) normalisation, which keeps the
            e^{±50} range of f harmless. Converged to ~1e-14 (checked against 4001
            nodes and 100-200-node Gauss-Hermite); :func:`reference` is the numpy
            version, :func:`reference_torch` the same formula in torch (differentiable,
            for residual checks). A fine :func:`kanpde.fd.burgers` run agrees to
            ~3e-4 in max norm including the shock.
Source:     M. Raissi, P. Perdikaris, G. E. Karniadakis, "Physics-informed neural
            networks", J. Comput. Phys. 378 (2019) (the Burgers examples);
            C. Basdevant et al., "Spectral and finite difference solutions of the
            Burgers equation", Computers & Fluids 14 (1986).
FD:         :func:`kanpde.fd.burgers` (conservative central differences,
            Crank-Nicolson + Newton), default n = 2048 intervals, nt = 1000 steps.
"""

from __future__ import annotations

import math

import numpy as np
import torch

import kanpde as kp

from ._common import parse_resolution, save_every

NAME = "burgers1d"
DESCRIPTION = "1-D viscous Burgers u_t + u u_x = (0.01/π) u_xx, u0 = -sin(πx), shock at x = 0"
FD = True
NU = 0.01 / math.pi
LO, HI, T0, T1 = -1.0, 1.0, 0.0, 1.0
DEFAULT_RESOLUTION = (2048, 1000)
PI = math.pi
QUADRATURE_NODES = 161
QUADRATURE_HALF_WIDTH = 13.0  # e^{-13²} e^{2/(2πν)} = e^{-69}: the tails are negligible
_CHUNK = 4096

exact = None  # no closed form: see reference / reference_torch


def initial(x: torch.Tensor) -> torch.Tensor:
    """u(x, 0) = -sin(πx); reads only the first column, ``(N, 1)``."""
    return -torch.sin(PI * x[:, 0:1])


def reference_torch(x: torch.Tensor) -> torch.Tensor:
    """Cole-Hopf solution at points ``(N, 2)`` with columns (x, t): ``(N, 1)``, differentiable in x and t > 0."""
    z = torch.linspace(-QUADRATURE_HALF_WIDTH, QUADRATURE_HALF_WIDTH, QUADRATURE_NODES,
                       dtype=x.dtype, device=x.device)
    c = torch.sqrt(4 * NU * torch.clamp(x[:, 1:2], min=0.0))       # (N, 1)
    y = x[:, 0:1] - c * z                                          # (N, nodes): x - η
    weights = torch.softmax(-z**2 - torch.cos(PI * y) / (2 * PI * NU), dim=1)
    return -(weights * torch.sin(PI * y)).sum(dim=1, keepdim=True)


def reference_numpy(points: np.ndarray) -> np.ndarray:
    """Cole-Hopf solution at numpy points ``(M, 2)`` (x, t) -> ``(M,)`` (same quadrature as reference_torch,
    in chunks, so it serves large evaluation sets)."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"burgers1d reference: expected points of shape (M, 2) with columns (x, t), "
                         f"got {points.shape}")
    z = np.linspace(-QUADRATURE_HALF_WIDTH, QUADRATURE_HALF_WIDTH, QUADRATURE_NODES)
    out = np.empty(len(points))
    for i in range(0, len(points), _CHUNK):
        chunk = points[i:i + _CHUNK]
        c = np.sqrt(4 * NU * np.maximum(chunk[:, 1:2], 0.0))
        y = chunk[:, 0:1] - c * z
        logits = -z**2 - np.cos(PI * y) / (2 * PI * NU)
        weights = np.exp(logits - logits.max(axis=1, keepdims=True))
        out[i:i + _CHUNK] = -(weights * np.sin(PI * y)).sum(axis=1) / weights.sum(axis=1)
    return out


reference = kp.numpy_function(reference_numpy)  # torch points in, torch out: the kanpde convention


def pde(x, u):
    return u.d("t") + u.value * u.d("x") - NU * u.d("x", "x")


def stretched(delta: float):
    """The feature s(x) = asinh(x/δ) / asinh(1/δ): [-1, 1] onto itself, with slope 1/(δ asinh(1/δ)) at x = 0."""
    scale = math.asinh(1.0 / delta)
    return lambda x: torch.asinh(x[:, 0:1] / delta) / scale


def problem(features: bool = False, delta: float = 0.01, kind: str = "asinh") -> kp.Problem:
    domain = kp.Interval(LO, HI) * kp.TimeInterval(T0, T1)
    feats = None
    if features:
        feats = [stretched(delta)] if kind == "asinh" else [lambda x: torch.tanh(x[:, 0:1] / delta)]
    return kp.Problem(domain, pde, [kp.Dirichlet(0.0), kp.Initial(initial)], reference=reference, name=NAME,
                      features=feats)


def config() -> kp.TrainConfig:
    """Recommended: time marching in 8 windows (each exact at its start and, with the Dirichlet
    data as a hard constraint, ``kanpde solve burgers1d --hard``, on the boundary; warm-started
    from the one before), per window Adam 100 then L-BFGS 100 on grids 5, 10, 20.

    Measured with the KAN row of ``python scripts/benchmark.py --problems burgers1d --skip-mlp``
    (README, "Time-dependent problems"): rel L2 2.3e-2 (4 windows of Adam 200 + L-BFGS 150: 4.0e-2)
    where the plain schedule reaches 0.10.
    """
    return kp.TrainConfig(schedule=[kp.Adam(100), kp.LBFGS(100, grid=5), kp.LBFGS(100, grid=10),
                                    kp.LBFGS(100, grid=20)],
                          marching=kp.TimeMarching(8))


def fd_solution(resolution=None) -> kp.fd.FDSolution:
    """:func:`kanpde.fd.burgers` with ``resolution = n`` or ``(n, nt)``
    (default (2048, 1000); nt = max(100, n // 2) for an int)."""
    n, nt = parse_resolution(resolution, DEFAULT_RESOLUTION, NAME, nt_of_n=lambda n: max(100, n // 2))
    return kp.fd.burgers(initial, NU, LO, HI, n, T1, nt, g=0.0, t0=T0,
                         save_every=save_every(nt))
