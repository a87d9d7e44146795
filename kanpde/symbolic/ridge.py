"""Ridge-direction search: the best pair of directions of a two-ridge KAN, by linear least squares.

A [2, 2, 1] :class:`SymbolicKAN` whose first-layer edges are snapped to features ``f_i``
(linear ``x`` unless given) and whose output edges are splines computes

    u(x) = g_1(w_1 . f(x)) + g_2(w_2 . f(x)),     g_r(s) = sum_c coef_rc B_c(s),

each spline on a grid fitted to the range of its input. Only the angle of each direction
matters then (a scale or sign of ``w_r`` moves the grid with it): ``w_r = (cos t_r, sin t_r)``,
``t_r`` in ``[0, pi)``. For a linear PDE with its conditions as loss terms the trainer's
residual vector (``|r|^2`` = the loss, :func:`kanpde.train.residuals.residual_vector`) is affine in the
coefficients and splits over the ridges:

    r(coef) = r_0 + J(t_1) coef_1 + J(t_2) coef_2,

``r_0`` the residual of ``u = 0`` and ``J(t)`` that of a one-ridge model, which does not depend
on the other ridge. So ``J`` is assembled once per angle of a grid, every pair of angles is
scored by ``min_coef |r|^2`` (a small least-squares problem from the Gram blocks ``J_i^T J_j``),
and the best pair is refined by a pattern search with halving steps. The result is a model
with those directions and the least-squares coefficients: a start for training that random
slopes rarely reach (sin(pi x) sin(4 pi y) needs the directions x +- 4y).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from ..nn.kan import KAN
from ..train.config import TrainConfig
from ..nn.network import Network
from ..pde.conditions import ConditionPoints
from ..train.residuals import residual_parts, residual_vector
from ..train.trainer import Trainer, TrainingPoints
from .library import EdgeFit
from .model import SymbolicKAN


@dataclass
class RidgeSearch:
    """What :func:`ridge_directions` found.

    Attributes:
        angles: the two angles ``t_r`` in radians, in ``[0, pi)``.
        directions: ``(2, 2)``, row r the unit direction ``(cos t_r, sin t_r)``.
        loss: the soft loss ``|r|^2`` of ``model`` on the search's points.
        model: the [2, 2, 1] SymbolicKAN with those directions and least-squares output splines.
        grid_losses: ``(n, n)`` best loss of every pair of grid angles (symmetric, diagonal inf).
        grid_angles: ``(n,)`` the grid of angles.
    """

    angles: tuple[float, float]
    directions: torch.Tensor
    loss: float
    model: SymbolicKAN
    grid_losses: torch.Tensor
    grid_angles: torch.Tensor


def _check(problem, angles: int, grid: int, refine: int, first: dict) -> None:
    if not isinstance(angles, int) or angles < 3:
        raise ValueError(f"angles must be an int >= 3 (angles in [0, pi)), got {angles!r}")
    if not isinstance(grid, int) or grid < 1:
        raise ValueError(f"grid must be a positive int, got {grid!r}")
    if not isinstance(refine, int) or refine < 0:
        raise ValueError(f"refine must be an int >= 0 (pattern-search rounds), got {refine!r}")
    dim = problem.input_dim  # with a periodic embedding or features= more than the domain's
    if dim != 2:
        raise ValueError(f"ridge_directions searches angles of 2-D inputs; the network of {problem.name!r} "
                         f"has {dim} inputs")
    bad = [i for i in first if i not in (0, 1)]
    if bad:
        raise ValueError(f"first maps input indices (0, 1) to library functions, got indices {bad}")


def ridge_model(directions, grid: int, x: torch.Tensor, first: dict | None = None, library=None) -> SymbolicKAN:
    """A [2, R, 1] SymbolicKAN: edge ``(i, r)`` of the first layer is ``w_ri f_i(x_i)`` (``f_i`` = ``first.get(i,
    "x")``), the output edges are zero splines on ``grid`` intervals fitted to the range of their inputs at
    ``x`` ``(N, 2)``, with no SiLU part and no bias, so the output is linear in the output coefficients.

    Args:
        directions: ``(R, 2)`` one direction per ridge.
    """
    directions = torch.as_tensor(directions, dtype=x.dtype)
    model = SymbolicKAN(KAN([2, directions.shape[0], 1], grid=grid, k=3).to(x), library)
    _snap_first(model, directions, first)
    model.update_grid(x, layers=1)  # the output layer: the first one with splines
    return model


def _snap_first(model: SymbolicKAN, directions, first: dict | None) -> None:
    """First-layer edge ``(i, r)`` := ``w_ri f_i(x_i)``; output splines zero, scale 1, no SiLU part, no biases."""
    for r, direction in enumerate(directions):
        for i in range(2):
            fit = EdgeFit((first or {}).get(i, "x"), 1.0, 0.0, float(direction[i]), 0.0, 1.0, 0.0)
            model.set_function(0, i, r, fit)
    out = model.layers[1]
    with torch.no_grad():
        for p in (out.coef, out.scale_base, out.bias, model.layers[0].bias):
            p.zero_()
        out.scale_spline.fill_(1.0)


class _Basis(Network):
    """The one-ridge model's B-spline basis, one function per block: at inputs made of ``P`` equal blocks of
    rows, the rows of block ``p`` get ``B_p(w . f(x))``. On points tiled ``P`` times, one residual evaluation
    gives every column of ``J`` (an evaluation costs little more for ``P`` times the points). Every call must
    pass one whole tiled set (the problem evaluates the PDE and each condition's points separately); a
    wrong mapping would show as the nonlinearity that :class:`_Columns` checks for."""

    def __init__(self, angle: float, grid: int, x: torch.Tensor, first: dict, library):
        super().__init__()
        self.widths = [2, 1]
        self.size = grid + 3                                                 # cubic splines: G + k functions
        spread = SymbolicKAN(KAN([2, 1, self.size], grid=grid, k=3).to(x), library)  # output p: basis function p
        _snap_first(spread, [[math.cos(angle), math.sin(angle)]], first)
        spread.update_grid(x, layers=1)  # the same range as ridge_model's at this angle
        with torch.no_grad():
            spread.layers[1].coef.copy_(torch.eye(self.size, dtype=x.dtype).unsqueeze(0))  # (1, P, G+k)
        self.spread = spread.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if len(x) % self.size:
            raise ValueError(f"expected {self.size} equal blocks of rows, got {len(x)} rows")
        every = self.spread(x)                                               # (P n, P)
        block = torch.arange(len(x), device=x.device) // (len(x) // self.size)
        return every.gather(1, block.unsqueeze(1))                           # (P n, 1)


def _tile(points: TrainingPoints, times: int) -> TrainingPoints:
    tile = lambda t: None if t is None else t.repeat(times, *[1] * (t.dim() - 1))  # noqa: E731
    return TrainingPoints(tile(points.interior), [ConditionPoints(tile(c.points), tile(c.normals), tile(c.partner),
                                                                  tile(c.values)) for c in points.conditions])


class _Columns:
    """Per-angle Jacobians of the one-ridge model, cached: ``J(t)`` ``(M, P)``, and ``r_0`` ``(M,)``."""

    def __init__(self, trainer: Trainer, grid: int, first: dict, library):
        self.trainer, self.grid, self.first, self.library = trainer, grid, first, library
        self.points = trainer.points
        self.x = trainer.problem.network_inputs(self.points.all())           # (N, 2)
        self.cache: dict[float, torch.Tensor] = {}
        self.r0: torch.Tensor | None = None
        self.tiled: TrainingPoints | None = None

    def residual(self, model, points: TrainingPoints) -> list[torch.Tensor]:
        self.trainer.model, self.trainer.points = model, points
        with torch.enable_grad():  # autograd derivatives need a graph
            return [part.detach() for part in residual_parts(self.trainer)]

    def __call__(self, angle: float) -> torch.Tensor:
        angle = float(angle) % math.pi
        if angle not in self.cache:
            basis = _Basis(angle, self.grid, self.x, self.first, self.library)
            if self.r0 is None:
                ridge = ridge_model([[math.cos(angle), math.sin(angle)]], self.grid, self.x, self.first, self.library)
                self.r0 = torch.cat(self.residual(ridge, self.points))  # u = 0: the same for every angle
                self.tiled = _tile(self.points, basis.size)
            # r is affine in the coefficients: column p is r(e_p) - r_0, all P from one tiled evaluation
            # (cheaper than kanpde.train.lm.jacobian's batched backward passes, one per row)
            parts = self.residual(basis, self.tiled)                     # (P m_t,) each
            scale = math.sqrt(basis.size)  # residual_parts divides by sqrt of the (P times larger) point count
            J = torch.cat([part.view(basis.size, -1) for part in parts], 1).T * scale - self.r0.unsqueeze(1)
            self.cache[angle] = J                                        # (M, P)
            if len(self.cache) == 1:
                self._check_linear(ridge, J)
        return self.cache[angle]

    def _check_linear(self, model: SymbolicKAN, J: torch.Tensor) -> None:
        """The residual must be affine in the coefficients: r(c) = r_0 + J c at a random c."""
        c = torch.randn(J.shape[1], generator=torch.Generator().manual_seed(0), dtype=J.dtype).to(J)
        with torch.no_grad():
            model.layers[1].coef.view(-1).copy_(c)
        r = torch.cat(self.residual(model, self.points))
        predicted = self.r0 + J @ c
        mismatch = float((r - predicted).norm() / (r.norm() + predicted.norm()).clamp_min(1e-300))
        if mismatch > 1e-8:
            raise ValueError(f"ridge_directions needs a PDE and conditions linear in u: the residual of "
                             f"{self.trainer.problem.name!r} is not affine in the output coefficients "
                             f"(relative mismatch {mismatch:.1e})")


def _pair_losses(Js: torch.Tensor, r0: torch.Tensor, rows: list[int]) -> torch.Tensor:
    """``min_c |r0 + [J_i J_j] c|^2`` for i in ``rows`` and every j, ``(len(rows), n)``, diagonal inf.

    From the normal equations with a tiny Tikhonov term: the two splines both hold the constants, so the
    pair's Gram matrix is singular by one dimension."""
    n, M, P = Js.shape
    b = torch.einsum("nmp,m->np", Js, r0)                                # (n, P)
    diag = torch.einsum("nmp,nmq->npq", Js, Js)                          # (n, P, P)
    out = torch.full((len(rows), n), math.inf, dtype=Js.dtype)
    base = float(r0 @ r0)
    for k, i in enumerate(rows):
        cross = torch.einsum("mp,nmq->npq", Js[i], Js)                   # (n, P, P)
        A = torch.cat([torch.cat([diag[i].expand(n, P, P), cross], 2),
                       torch.cat([cross.transpose(1, 2), diag], 2)], 1)  # (n, 2P, 2P)
        g = torch.cat([b[i].expand(n, P), b], 1)                         # (n, 2P)
        scale = A.diagonal(dim1=1, dim2=2).mean(1).clamp_min(1e-300)     # (n,)
        regular = A + 1e-10 * scale[:, None, None] * torch.eye(2 * P, dtype=A.dtype)
        L, info = torch.linalg.cholesky_ex(regular)
        c = torch.cholesky_solve(-g.unsqueeze(2), L).squeeze(2)          # (n, 2P)
        loss = base + 2 * (g * c).sum(1) + torch.einsum("np,npq,nq->n", c, A, c)
        loss[info != 0] = math.inf
        loss[i] = math.inf
        out[k] = loss.clamp_min(0.0)
    return out


def _solve_pair(columns: _Columns, t1: float, t2: float) -> tuple[float, torch.Tensor]:
    """The exact least-squares fit of one pair: ``(|r|^2, coef (2, P))``."""
    J = torch.cat([columns(t1), columns(t2)], 1)                         # (M, 2P)
    r0 = columns.r0
    c = torch.linalg.lstsq(J.cpu(), -r0.cpu().unsqueeze(1), driver="gelsd").solution.squeeze(1).to(J)
    residual = r0 + J @ c
    return float(residual @ residual), c.view(2, -1)


def ridge_directions(problem, angles: int = 90, grid: int = 40, first: dict | None = None, library=None,
                     interior_points: int = 1000, boundary_points: int = 200, refine: int = 12, seed: int = 0,
                     verbose: bool = True) -> RidgeSearch:
    """The pair of directions, and output splines, of a two-ridge KAN that best solve a linear 2-D problem.

    Scores every pair of ``angles`` grid angles in ``[0, pi)`` by the least soft loss over the output
    splines' coefficients (see the module docstring), then refines the best pair by a pattern search
    (its 8 neighbours at step ``pi / angles / 2``, moving while that lowers the loss, else halving the
    step), ``refine`` rounds.

    Args:
        problem: a problem with a linear PDE and conditions and 2 network inputs; its conditions should be
            loss terms (``problem.soft()``) for the model to be the solution itself.
        angles: grid size in ``[0, pi)``.
        grid: intervals of each output spline (fitted to the range of its ridge variable).
        first: input index -> library function of that input's first-layer edges (default ``"x"``).
        library: the SymbolicKAN's library (it must hold the ``first`` functions).
        interior_points, boundary_points, seed: the collocation points (as in :class:`TrainConfig`).
        refine: pattern-search rounds after the grid.

    Returns:
        :class:`RidgeSearch`, its ``model`` ready to train.

    Raises:
        ValueError: bad arguments, a network with other than 2 inputs, or a residual not affine in the
            output coefficients (a nonlinear PDE or condition).
    """
    first = dict(first or {})
    _check(problem, angles, grid, refine, first)
    config = TrainConfig(interior_points=interior_points, boundary_points=boundary_points, seed=seed,
                         verbose=False, dtype=torch.float64, derivatives="autograd", balance=None)
    probe = ridge_model([[1.0, 0.0]], grid, torch.tensor([[-1.0, -1.0], [1.0, 1.0]], dtype=torch.float64), first,
                        library)  # the trainer samples the points; each angle's model replaces it
    columns = _Columns(Trainer(problem, probe, config), grid, first, library)
    grid_angles = torch.arange(angles, dtype=torch.float64) * (math.pi / angles)  # (n,)
    Js = torch.stack([columns(float(t)) for t in tqdm(grid_angles, desc="ridge Jacobians", disable=not verbose,
                                                      leave=False)])  # (n, M, P)
    grid_losses = torch.cat([_pair_losses(Js, columns.r0, list(range(i, min(i + 16, angles))))
                             for i in range(0, angles, 16)])             # (n, n)
    i, j = divmod(int(grid_losses.argmin()), angles)
    best = (float(grid_angles[i]), float(grid_angles[j]))
    loss, coef = _solve_pair(columns, *best)
    step = math.pi / angles / 2
    for _ in tqdm(range(refine), desc="ridge refine", disable=not verbose, leave=False):
        moves = [(best[0] + a * step, best[1] + b * step) for a in (-1, 0, 1) for b in (-1, 0, 1) if a or b]
        tried = [(*_solve_pair(columns, *move), move) for move in moves]
        new_loss, new_coef, move = min(tried, key=lambda t: t[0])
        if new_loss < loss:
            loss, coef, best = new_loss, new_coef, move
        else:
            step /= 2
    best = (best[0] % math.pi, best[1] % math.pi)
    directions = torch.tensor([[math.cos(t), math.sin(t)] for t in best], dtype=torch.float64)  # (2, 2)
    model = ridge_model(directions, grid, columns.x, first, library)
    with torch.no_grad():
        model.layers[1].coef.copy_(coef.unsqueeze(1))                    # (2, 1, G+k)
    columns.trainer.model, columns.trainer.points = model, columns.points
    with torch.enable_grad():
        r = residual_vector(columns.trainer)
    return RidgeSearch(best, directions, float(r @ r), model, grid_losses, grid_angles)
