"""Matrix-free Gauss-Newton: the damped step by Nystrom-preconditioned conjugate gradients on products with J.

One LM iteration solves

    (J^T J + mu D) delta = -J^T r,   D = diag(J^T J) (Marquardt) or its mean times I (Levenberg),

without the ``P x P`` matrix ``J^T J`` or a dense ``(M, P)`` J. J is kept as its chunks' rows
(:class:`kanpde.train.jacobian.Rows`: CSR where sparse, so about ``nnz(J)`` numbers at fine grids) and only
the products ``J v`` and ``J^T w`` are used. In the scaled variable ``y = D^(1/2) delta`` the system is

    (H + mu I) y = -S g,   H = S J^T J S,   S = D^(-1/2),   g = J^T r,

solved by conjugate gradients preconditioned with a randomized Nystrom approximation of H
(Frangella, Tropp, Udell, "Randomized Nystrom preconditioning", SIMAX 2023; NysNewton-CG in Rathore et al.
2024): from a sketch ``Y = H Omega`` of ``s`` orthonormal random columns,
``H ~ U diag(lambda) U^T`` and

    P^-1 = U diag((lambda_s + mu) / (lambda + mu)) U^T + (I - U U^T),

which makes the ``s`` largest eigenvalues of ``H + mu I`` cluster near ``lambda_s + mu``. The sketch
depends on J but not on mu, so the retries of one iteration (mu grown after a rejected step) reuse it.

Measured: a KAN's Gauss-Newton spectrum has a heavy tail (a [2, 4, 1] KAN at grid 12: eigenvalues of H from
12 down past mu), so at small mu CG needs many iterations unless s nears P (s = 40 of 209: 500 iterations,
s = 100: 162-179, s = 209: 2). Where ``P^2`` fits and a row's nonzeros are few, the ``"normal"``
preconditioner is exact and cheaper: ``J^T J`` summed from J's rows, a piece at a time on the columns each
piece touches (:func:`kanpde.train.jacobian.supported_gram`), and factorised, so the step is one direct solve;
the Nystrom sketch is for P too large for ``P^2``.

Measured and not kept (A/B in one run, 3-output system, [2, 20, 3] KAN at grid 40, 2000 points, 4 LM iterations,
1 thread, load 17-19): reusing the sketch for 4 iterations (a stale sketch still preconditions) raised CG's
iterations after the first iteration from 30-81 to 60-158 per solve; LM seconds 186.5 and 235.0 against 191.0 and
193.1 with a new sketch each iteration. ``LM(precision="float32")`` (J's rows stored and multiplied in float32,
sums and the solve in float64): poisson2d, [2, 10, 1] KAN, Adam 100 + LM 15 at grids 5 and 10 on 3000 points,
rel L2 2.26e-5 (normal) and 2.57e-5 (Nystrom) against 2.55e-5 and 2.55e-5 in float64; 44 s and 36 s against
66 s and 51 s (1 thread, loaded, one after the other); it stays an option (float32 round-off in J^T J may
bind near 1e-7).

Data parallel: each rank holds its rows; ``g``, ``diag(J^T J)``, ``|r|^2``, the sketch ``Y`` (``P x s``)
and one ``J^T J v`` per CG iteration are all-reduced (vectors and one thin block, never ``P x P``), and
``Omega`` comes from a fixed seed, so every rank runs the same iterations on the same numbers.
"""

from __future__ import annotations

import math

import torch

from .distributed import DataParallel
from .jacobian import Rows

SKETCH = 200          # Nystrom sketch columns (capped at P)
CG_RTOL = 1e-9        # relative residual of the CG solve: LM's accept/reject absorbs an inexact step
CG_MAXITER = 500
PRECONDITIONERS = ("nystrom", "normal")


def scaling(diagonal: torch.Tensor, kind: str = "marquardt") -> torch.Tensor:
    """The damping's D from ``diag(J^T J)``: Marquardt's diagonal itself, floored so columns no point
    touches stay damped, or Levenberg's multiple of the identity (its mean, so mu stays scale-free)."""
    if kind == "levenberg":
        return torch.full_like(diagonal, float(diagonal.mean().clamp_min(1e-300)))
    return diagonal.clamp_min(1e-12 * float(diagonal.max().clamp_min(1e-300)))


class Nystrom:
    """A rank-``s`` Nystrom approximation ``U diag(lam) U^T`` of a PSD operator H, from ``Y = H Omega``.

    Args:
        apply: ``V -> H V`` on a ``(P, s)`` block.
        n: P; rank: s (capped at P).
    """

    def __init__(self, apply, n: int, rank: int, dtype=torch.float64, seed: int = 0):
        rank = max(1, min(rank, n))
        generator = torch.Generator().manual_seed(seed)  # the same Omega on every rank
        omega, _ = torch.linalg.qr(torch.randn(n, rank, generator=generator, dtype=dtype))  # (P, s)
        Y = apply(omega)                                                 # (P, s)
        shift = math.sqrt(n) * torch.finfo(dtype).eps * float(torch.linalg.matrix_norm(Y, 2))
        Y = Y + shift * omega
        small = omega.T @ Y                                              # (s, s)
        L, info = torch.linalg.cholesky_ex(0.5 * (small + small.T))
        if int(info):  # round-off made it indefinite: a larger shift
            shift += float(torch.linalg.eigvalsh(small).min().abs()) + shift
            Y = Y + shift * omega
            L = torch.linalg.cholesky(0.5 * (omega.T @ Y + Y.T @ omega))
        B = torch.linalg.solve_triangular(L, Y.T, upper=False).T         # (P, s): Y L^-T
        U, sigma, _ = torch.linalg.svd(B, full_matrices=False)
        self.U, self.lam = U, (sigma ** 2 - shift).clamp_min(0.0)         # (P, s), (s,)

    def inverse(self, v: torch.Tensor, mu: float) -> torch.Tensor:
        """``P^-1 v`` for the damped operator ``H + mu I``."""
        coefficients = self.U.T @ v                                      # (s,)
        factor = (float(self.lam[-1]) + mu) / (self.lam + mu)
        return self.U @ (factor * coefficients) + v - self.U @ coefficients


def conjugate_gradients(apply, b: torch.Tensor, precondition, rtol: float = CG_RTOL,
                        maxiter: int = CG_MAXITER) -> tuple[torch.Tensor, int]:
    """x with ``A x = b`` by preconditioned CG (A symmetric positive definite), from x = 0; stops when
    ``|b - A x| <= rtol |b|``. Returns x and the iterations taken."""
    x = torch.zeros_like(b)
    residual = b.clone()
    z = precondition(residual)
    direction = z.clone()
    rz = float(residual @ z)
    target = rtol * float(b.norm())
    for iteration in range(1, maxiter + 1):
        Ad = apply(direction)
        curvature = float(direction @ Ad)
        if curvature <= 0 or not math.isfinite(curvature):
            return x, iteration
        alpha = rz / curvature
        x += alpha * direction
        residual -= alpha * Ad
        if float(residual.norm()) <= target:
            return x, iteration
        z = precondition(residual)
        rz, previous = float(residual @ z), rz
        direction = z + (rz / previous) * direction
    return x, maxiter


class MatrixFree:
    """One LM iteration's linear model ``|r + J delta|^2`` for the CG solver, global over data-parallel ranks
    (the interface of :class:`kanpde.train.lm.GaussNewton`: ``g``, ``loss``, ``diagonal``, ``step``,
    ``predicted_loss``).

    Args:
        J: this rank's rows, :class:`~kanpde.train.jacobian.Rows` (or a dense ``(M, P)`` tensor).
        r: this rank's residuals ``(M,)``.
        parallel: the ranks (default: one process).
        sketch: Nystrom sketch columns s.
        preconditioner: ``"nystrom"`` (the sketch: ``O(P s)`` memory, vectors all-reduced) or ``"normal"``
            (``J^T J`` summed from J's sparse rows, ``P x P``, and factorised: the exact preconditioner, so
            the step is a direct solve; for P small enough that ``P^2`` fits, where the heavy tail of a
            KAN's Gauss-Newton spectrum makes CG slow at small mu).
    """

    def __init__(self, J, r: torch.Tensor, parallel: DataParallel | None = None, sketch: int = SKETCH,
                 preconditioner: str = "nystrom"):
        if preconditioner not in PRECONDITIONERS:
            raise ValueError(f"unknown preconditioner {preconditioner!r}. Pick one of {PRECONDITIONERS}")
        self.J = J if isinstance(J, Rows) else _dense_rows(J)
        self.r, self.parallel, self.sketch = r, parallel or DataParallel(), sketch
        P = self.J.n_columns
        local = torch.cat([self.J.rmatmul(r), (r @ r).reshape(1), self.J.square_columns().to(r)])
        flat = self.parallel.all_reduce_sum(local)
        self.g, self.loss, self.diagonal = flat[:P], float(flat[P]), flat[P + 1:]
        self.normal = self.parallel.all_reduce_sum(self.J.gram().to(r)) if preconditioner == "normal" else None
        self._preconditioner: tuple[str, Nystrom] | None = None
        self.iterations: list[int] = []

    def normal_product(self, v: torch.Tensor) -> torch.Tensor:
        """``J^T J v`` summed over ranks; v ``(P,)`` or ``(P, s)``."""
        return self.parallel.all_reduce_sum(self.J.rmatmul(self.J.matmul(v)))

    def step(self, mu: float, kind: str = "marquardt") -> torch.Tensor:
        """``delta`` solving ``(J^T J + mu D) delta = -J^T r``, the same on every rank."""
        if self.normal is not None:  # the exact preconditioner: the damped normal matrix's Cholesky factor
            delta = _direct(self.normal, self.g, mu * scaling(self.diagonal, kind))
            self.iterations.append(0)
            self.parallel.broadcast([delta])
            return delta
        s = scaling(self.diagonal, kind).rsqrt()                         # (P,) S = D^-1/2
        if self._preconditioner is None or self._preconditioner[0] != kind:  # one sketch per J and scaling
            nystrom = Nystrom(lambda V: s.unsqueeze(1) * self.normal_product(s.unsqueeze(1) * V), len(s),
                              self.sketch, s.dtype)
            self._preconditioner = (kind, nystrom)
        nystrom = self._preconditioner[1]
        y, iterations = conjugate_gradients(lambda v: s * self.normal_product(s * v) + mu * v, -s * self.g,
                                            lambda v: nystrom.inverse(v, mu))
        self.iterations.append(iterations)
        delta = (s * y).contiguous()
        self.parallel.broadcast([delta])  # rank 0's solve: bit-identical steps whatever the round-off
        return delta

    def predicted_loss(self, delta: torch.Tensor) -> float:
        """The linear model's loss ``|r + J delta|^2``, summed over ranks."""
        return float(self.parallel.all_reduce_sum((self.r + self.J.matmul(delta)).pow(2).sum().reshape(1)))


def _direct(normal: torch.Tensor, g: torch.Tensor, damping: torch.Tensor) -> torch.Tensor:
    """``-(N + diag(damping))^-1 g`` by Cholesky, lstsq where round-off made it indefinite."""
    damped = normal + torch.diag(damping)                               # (P, P)
    L, info = torch.linalg.cholesky_ex(damped)
    if int(info) == 0:
        return torch.cholesky_solve(-g.unsqueeze(1), L).squeeze(1).contiguous()
    return torch.linalg.lstsq(damped, -g.unsqueeze(1), driver="gelsd").solution.squeeze(1).contiguous()


def _dense_rows(J: torch.Tensor) -> Rows:
    from .jacobian import RowBlock
    return Rows([RowBlock(J)], J.shape[1])
