"""Levenberg-Marquardt (damped Gauss-Newton) training on the stacked residual vector.

Every weighted loss term ``w_t lambda_t mean|l_t r_t|^2`` of ``Trainer.total`` becomes a block
of the residual vector

    r(theta) = [ sqrt(w_t lambda_t / n_t) l_tj r_t(x_j; theta) ]_(t, j),   so   |r|^2 = L(theta),

(``w_t`` the user's weight, ``lambda_t`` the balancer's factor, ``l_tj`` RBA's point weights,
frozen within the stage, else 1; ``n_t`` the term's number of entries: points times
components). Under causal training the PDE rows carry ``sqrt(w_i / (M n_i k))`` instead
(point in time chunk i of n_i points; :meth:`kanpde.train.causal.CausalWeights.point_scales`),
the chunk weights w_i held fixed within each iteration and eps annealed between iterations. The residuals are those of the network ``trainer.model`` inside the problem's
transform (``problem.residuals`` wraps it: built-in conditions, periodic embedding). One iteration
assembles ``J = dr/dtheta`` and solves

    (J^T J + mu D) delta = -J^T r,   D = diag(J^T J),

by Cholesky (``torch.linalg.lstsq`` when the factorisation fails) or, for models too
large for a dense P x P solve, by conjugate gradients on products with J. The step
is taken only if it lowers the loss; mu follows Nielsen's trust-region rule
(H. B. Nielsen, "Damping parameter in Marquardt's method", IMM-REP-1999-05):
gain ratio rho = actual / predicted reduction; on success
``mu *= max(1/3, 1 - (2 rho - 1)^3)``, nu = 2; on failure ``mu *= nu``, ``nu *= 2``.

Data parallel (:mod:`kanpde.train.distributed`). Each rank assembles the rows of J and r of its
own points, scaled with the *global* counts n_t (and global causal chunk counts), so that the
ranks' ``|r_rank|^2`` sum to L. ``J^T J``, ``J^T r`` and ``|r|^2`` are summed over ranks
(all-reduce, :class:`GaussNewton`); every rank then solves the same P x P system, rank 0's step is
broadcast, and the accept/reject test and mu see the global loss, so all ranks take the same
steps as one process on the union of the points. CG all-reduces ``J^T J v`` once per iteration;
QR gathers every rank's triangular factor of its rows (TSQR) instead of forming ``J^T J``.

Jacobians. A residual row depends on one collocation point only (or a fixed few, for
periodic pairs), so one backward pass of ``sum_j r_j`` yields, at every KAN layer, the
per-point adjoint of the layer's output jet. A KAN layer's output jet is linear in the
layer's parameters given its input jet, so the per-point parameter gradient is the
adjoint contracted with the layer's basis (B-splines and their derivatives, SiLU and
its derivatives), the same contraction as the layer's backward without the sum over
points. This costs one forward and one backward per residual component; other models
(MLPs, the autograd backend) use batched backward passes
(``torch.autograd.grad(..., is_grads_batched=True)``), which cost a backward per row
of a chunk.

Memory: points are processed ``chunk`` at a time, so besides J itself (``M x P``) and
``J^T J`` (``P x P``, dense solver only) the assembly holds one chunk's forward graph
and its per-point gradients: ``O(chunk * (P + A))`` numbers, A the activations of one
point's jet (generic path: ``O(chunk^2 * A)``, since each of the chunk's rows is
differentiated through the whole chunk). Where J is sparse (:func:`gram`: a KAN on a fine grid),
``J^T J`` is formed from a CSR copy of J, which adds about 12 bytes per nonzero (``(k + 1)`` per edge and
point).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.sparse
import torch

from ..nn.jet import _pair_products, _phi_gradients, _silu_derivatives
from ..nn.kan import KAN, Tap
from ..nn.splines import local_basis
from ..pde.conditions import ConditionPoints
from .distributed import DataParallel
from .galerkin import GalerkinRows
from .stages import LM


# -- the residual vector ------------------------------------------------------------------------------


@dataclass
class Block:
    """Residuals evaluated together on ``count`` points: the PDE (one term per equation) or one condition."""

    count: int
    evaluate: Callable[[slice, str], list[torch.Tensor]]  # (points, backend) -> residuals (n, k) each
    names: Callable[[int], list[str]]                     # term names for that many residuals


def pde_block(trainer, x: torch.Tensor) -> Block:
    """The PDE residuals of the trainer's model at points ``x``."""
    problem, model = trainer.problem, trainer.model
    return Block(len(x), lambda i, b: problem.residuals(model, x[i], b, trainer.parameters), problem.residual_names)


def _subset(points: ConditionPoints, index: slice) -> ConditionPoints:
    pick = lambda t: None if t is None else t[index]  # noqa: E731
    return ConditionPoints(pick(points.points), pick(points.normals), pick(points.partner), pick(points.values))


def blocks(trainer) -> list[Block]:
    """The trainer's loss terms as residual blocks on its current points, the PDE's first."""
    problem, model = trainer.problem, trainer.model
    out = [pde_block(trainer, trainer.points.interior)]
    for condition, term, points in zip(problem.conditions, problem.terms, trainer.points.conditions):
        out.append(Block(len(points.points),
                         lambda i, b, c=condition, p=points: [problem.condition_residual(c, model, _subset(p, i), b)],
                         lambda count, t=term: [t]))
    return out


def _weight(trainer, name: str) -> float:
    """``w_t`` times the balancer's factor: the term's weight in ``Trainer.total``."""
    user = {**trainer.problem.weights, **trainer.config.weights}
    return user.get(name, 1.0) * trainer.balancer.factor(name)


def _point_weights(trainer, name: str, residual: torch.Tensor) -> torch.Tensor | None:
    """The balancer's pointwise weights ``(count, k)`` of a term (RBA; frozen within LM), or None.

    Read, not through ``balancer.pointwise``, which would update them (outside a frozen stage)
    and cannot see which chunk of the points it is given."""
    lam = trainer.balancer.point_weights.get(name)
    return None if lam is None or lam.shape != residual.shape else lam.to(residual)


def _parallel(trainer) -> DataParallel:
    return getattr(trainer, "parallel", None) or DataParallel()


def _factors(trainer, names: list[str], residuals: list[torch.Tensor], pde: bool) -> list[torch.Tensor]:
    """Each residual's factor (broadcasting to its ``(count, k)``) making it its share of ``|r|^2 = L``:
    ``sqrt(w / (count k))`` times RBA's point weights or, for the PDE block under causal training,
    ``sqrt(w / k)`` times :meth:`~kanpde.train.causal.CausalWeights.point_scales` (held per LM iteration).

    ``count`` is the block's number of points over all data-parallel ranks (a collective: every
    rank calls this for the same blocks in the same order), so that each rank's rows are its
    share of the global loss."""
    causal = getattr(trainer, "causal", None) if pde else None
    scales = None if causal is None else causal.point_scales(residuals, trainer.points.interior)  # (count, 1)
    count = int(_parallel(trainer).all_reduce_sum(torch.tensor([float(len(residuals[0]))],
                                                               device=residuals[0].device)).item())
    out = []
    for name, r in zip(names, residuals):
        if scales is not None:
            out.append(scales * math.sqrt(_weight(trainer, name) / r.shape[1]))
            continue
        lam = _point_weights(trainer, name, r)
        factor = math.sqrt(_weight(trainer, name) / max(count * r.shape[1], 1))
        out.append(r.new_tensor(factor) if lam is None else lam * factor)
    return out


def residual_parts(trainer) -> list[torch.Tensor]:
    """The pieces of :func:`residual_vector`, one per residual tensor (a loss term's ``(n, k)``, flattened
    point by point), in its order; they keep their graph."""
    parts = []
    for number, block in enumerate(blocks(trainer)):
        residuals = block.evaluate(slice(None), trainer.config.derivatives)
        factors = _factors(trainer, block.names(len(residuals)), residuals, pde=number == 0)
        parts += [(f * r).reshape(-1) for f, r in zip(factors, residuals)]
    return parts


def residual_vector(trainer) -> torch.Tensor:
    """r(theta), ``(M,)``, with ``r @ r`` equal to the trainer's weighted loss."""
    return torch.cat(residual_parts(trainer)).detach()


# -- the Jacobian ---------------------------------------------------------------------------------------


def _layer_rows(tap: Tap, grads: list[torch.Tensor | None], mix: torch.Tensor | None = None) -> torch.Tensor:
    """Per-point gradients of one layer's parameters, ``(N, P_layer)`` in ``named_parameters`` order,
    or with ``mix`` ``(K, N)`` their combinations ``mix @ rows``, ``(K, P_layer)``.

    ``grads`` are the adjoints of the tap's outputs (None where unused). With g_r the
    adjoint of the edge functions' r-th derivative phi_r (``(out, in, N)``), B_r the
    bases' r-th derivatives and s_r SiLU's:

        d/dcoef[i, o, c]       = scale_spline[i, o] sum_r g_r B_r,c(x_i)
        d/dscale_spline[i, o]  = sum_c coef[i, o, c] sum_r g_r B_r,c(x_i)
        d/dscale_base[i, o]    = sum_r g_r s_r(x_i),     d/dbias[o] = g_0

    ``mix`` is applied to the k + 1 local basis values of each point before they are spread over the
    grid's G + k columns, so many points (a Galerkin quadrature) never make an ``(N, P)`` matrix.
    """
    layer, x, order = tap.layer, tap.x, tap.order                       # x (in, N)
    n_in, n = x.shape
    gy = grads[0].T if tap.points_first and grads[0] is not None else grads[0]  # (out, N)
    if gy is None:
        gy = x.new_zeros(layer.out_dim, n)
    g = [gy.unsqueeze(1)]                                                # (out, 1, N)
    if order >= 1:
        gd2y = grads[2] if order >= 2 and grads[2] is not None and grads[2].numel() else None
        d2x = tap.d2x if order >= 2 else None
        dxdx = _pair_products(tap.dx, tap.pairs) if tap.dx is not None and order >= 2 else None
        g += _phi_gradients(tap.dx, d2x, dxdx, grads[1], gd2y, tap.pairs, n_in)[:order]
    bases, cell = local_basis(x.T, layer.lo, layer.hi, layer.grid, layer.k, order)  # (N, in, r, k+1), (N, in)
    silu = _silu_derivatives(x, order)                                   # (in, N) each
    local = x.new_zeros(n, n_in, layer.out_dim, layer.k + 1)            # (N, in, out, k+1)
    base = x.new_zeros(n, n_in, layer.out_dim)                           # (N, in, out)
    for r, g_r in enumerate(g):  # g_0 is always there (zeros if unused)
        if g_r is None:
            continue
        adjoint = g_r.permute(2, 1, 0)                                   # (N, in or 1, out)
        local += adjoint.unsqueeze(-1) * bases[:, :, r].unsqueeze(2)
        base += adjoint * silu[r].T.unsqueeze(-1)
    spline = _spread(local, cell, layer.grid + layer.k, mix)             # (N or K, in, out, G+k)
    if mix is not None:
        base, gy = torch.tensordot(mix, base, dims=1), gy @ mix.T        # (K, in, out), (out, K)
    coef = spline * layer.scale_spline.detach().unsqueeze(-1)
    scale_spline = (spline * layer.coef.detach()).sum(-1)                # (N or K, in, out)
    parts = {"coef": coef, "scale_base": base, "scale_spline": scale_spline, "bias": gy.T}
    return torch.cat([parts[name].reshape(len(spline), -1) for name, _ in layer.named_parameters()], dim=1)


def _spread(local: torch.Tensor, cell: torch.Tensor, width: int, mix: torch.Tensor | None) -> torch.Tensor:
    """Each point's k + 1 local values ``(N, in, out, k+1)`` at their grid columns (``cell`` ``(N, in)``
    the first): ``(N, in, out, width)``, or with ``mix`` ``(K, N)`` the mixed rows ``(K, in, out, width)``.

    On the CPU the mixed rows come from a sparse product: the per-point rows as the columns of a CSC
    matrix (``in * out * (k+1)`` entries each, so no sorting) times ``mix^T``; K x N x P dense would be
    4-5 times slower (N = 4096, K = 36, grid 80: 29 ms against 125 ms per chunk)."""
    n, n_in, n_out, span = local.shape
    offsets = torch.arange(span, device=local.device)
    if mix is not None and local.device.type == "cpu":
        columns = ((torch.arange(n_in).view(n_in, 1, 1) * n_out + torch.arange(n_out).view(1, n_out, 1)) * width
                   + (cell.unsqueeze(-1) + offsets).unsqueeze(2))                # (N, in, out, k+1)
        per_point = scipy.sparse.csc_matrix((local.reshape(-1).numpy(), columns.reshape(-1).numpy(),
                                             np.arange(n + 1) * (n_in * n_out * span)),
                                            shape=(n_in * n_out * width, n))         # (in out width, N)
        mixed = torch.from_numpy(np.ascontiguousarray((per_point @ mix.T.numpy()).T))  # (K, in out width)
        return mixed.reshape(len(mix), n_in, n_out, width)
    index = (cell.unsqueeze(-1) + offsets).unsqueeze(2).expand_as(local)
    rows = local.new_zeros(n, n_in, n_out, width).scatter_add_(-1, index, local)  # (N, in, out, width)
    return rows if mix is None else (mix @ rows.reshape(n, -1)).reshape(len(mix), n_in, n_out, width)


class _Columns:
    """Where each trainable tensor's entries sit among J's columns."""

    def __init__(self, params: list[torch.Tensor]):
        self.params = params
        offsets = np.cumsum([0] + [p.numel() for p in params])
        self.span = {id(p): slice(int(a), int(b)) for p, a, b in zip(params, offsets[:-1], offsets[1:])}
        self.total = int(offsets[-1])

    def of_layer(self, layer) -> slice:
        spans = [self.span[id(p)] for p in layer.parameters()]
        return slice(spans[0].start, spans[-1].stop)


def _tapped(model) -> KAN | None:
    """The KAN whose layer taps give J: the model itself, or the network inside a time window
    (:class:`kanpde.pde.windows.InitialWindow`) when it holds all the window's parameters; else None."""
    if isinstance(model, KAN):
        return model
    net = getattr(model, "net", None)
    if isinstance(net, KAN) and {id(p) for p in model.parameters()} == {id(p) for p in net.parameters()}:
        return net
    return None


def _uses_taps(trainer) -> bool:
    """The per-point fast path: a KAN (alone or inside a time window) whose parameters are all in its
    layers, derivatives by the jet."""
    return _tapped(trainer.model) is not None and trainer.config.derivatives in ("auto", "jet")


def _chunk_by_taps(trainer, block: Block, index: slice, n: int, columns: _Columns, backend: str,
                   mix: torch.Tensor | None = None):
    """Residuals ``(n, k)`` and their Jacobians ``(n, k, P)`` on one chunk, from the layer taps; with
    ``mix`` ``(K, n)`` the combinations ``mix @ r`` ``(K, k)`` and ``mix @ J`` ``(K, k, P)`` instead."""
    model = _tapped(trainer.model)
    model.taps = taps = []
    try:
        residuals = block.evaluate(index, backend)
    finally:
        model.taps = None
    outputs = [t for tap in taps for t in tap.outputs]
    wanted = [t for t in outputs if t.requires_grad]
    learned = [p for p in trainer.parameters.values() if p.requires_grad]
    combine = (lambda t: t) if mix is None else (lambda t: mix @ t)     # noqa: E731
    jacobians = []
    for r in residuals:
        jac = r.new_zeros(n if mix is None else len(mix), r.shape[1], columns.total)  # (n or K, k, P)
        for c in range(r.shape[1]):
            adjoints = iter(torch.autograd.grad(r[:, c].sum(), wanted, retain_graph=True, allow_unused=True))
            grads = {id(t): next(adjoints) for t in wanted}
            for tap in taps:
                point_rows = torch.arange(tap.x.shape[1], device=r.device) % n  # periodic pairs: 2 taps per row
                with torch.no_grad():  # tap inputs of inner layers carry the forward graph
                    tap_adjoints = [grads.get(id(t)) for t in tap.outputs] + [None] * (3 - len(tap.outputs))
                    rows = _layer_rows(tap, tap_adjoints, None if mix is None else mix[:, point_rows])
                if mix is None:
                    jac[:, c, columns.of_layer(tap.layer)].index_add_(0, point_rows, rows)
                else:
                    jac[:, c, columns.of_layer(tap.layer)] += rows
            for p in learned:
                jac[:, c, columns.span[id(p)]] = combine(_column(r[:, c], p)).unsqueeze(1)
        jacobians.append(jac)
    return [combine(r.detach()) for r in residuals], jacobians


def _column(r: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """``dr/dp`` for a scalar p, ``(n,)``: the gradient of ``v . dr/dp`` with respect to v (double vjp)."""
    v = torch.ones_like(r, requires_grad=True)
    (g,) = torch.autograd.grad(r, p, grad_outputs=v, create_graph=True, allow_unused=True)
    if g is None or not g.requires_grad:
        return torch.zeros_like(r)
    (column,) = torch.autograd.grad(g, v, retain_graph=True, allow_unused=True)
    return torch.zeros_like(r) if column is None else column.detach()


def _chunk_batched(trainer, block: Block, index: slice, n: int, columns: _Columns, backend: str,
                   mix: torch.Tensor | None = None):
    """The generic path: batched backward passes over the chunk's rows (autograd derivatives); with
    ``mix`` ``(K, n)`` over the K combinations of them (see :func:`_chunk_by_taps`)."""
    residuals = block.evaluate(index, backend)
    if mix is not None:
        residuals = [mix @ r for r in residuals]                         # (K, k) each
    flat = torch.cat([r.reshape(-1) for r in residuals])                # (rows k_total,)
    eye = torch.eye(flat.numel(), dtype=flat.dtype, device=flat.device)
    wanted = [p for p in columns.params if p.requires_grad]  # frozen tensors (snapped edges' splines): zero columns
    found = iter(torch.autograd.grad(flat, wanted, grad_outputs=eye, is_grads_batched=True, allow_unused=True))
    grads = [next(found) if p.requires_grad else None for p in columns.params]
    rows = torch.cat([torch.zeros(flat.numel(), p.numel(), dtype=flat.dtype, device=flat.device) if g is None
                      else g.reshape(flat.numel(), -1) for p, g in zip(columns.params, grads)], dim=1)
    sizes = [r.numel() for r in residuals]
    return ([r.detach() for r in residuals],
            [part.reshape(len(r), r.shape[1], -1) for part, r in zip(rows.split(sizes), residuals)])


def _no_rows(trainer, block: Block, index: slice, n: int, columns: _Columns, backend: str):
    """A data-parallel rank without points of a block: residuals ``(0, k)`` and no rows of J."""
    residuals = [r.detach() for r in block.evaluate(index, backend)]
    return residuals, [r.new_zeros(0, r.shape[1], columns.total) for r in residuals]


def jacobian(trainer, chunk: int = 1024, method: str = "auto",
             terms: dict[str, float] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """r(theta) ``(M,)`` and ``J = dr/dtheta`` ``(M, P)``, columns in ``trainer.trainable()`` order.

    Data-parallel, a collective: this rank's rows (its points), scaled by the global counts, and
    ``terms`` the global mean squares.

    Args:
        chunk: points per block; the forward graph and per-point gradients held at once
            are those of ``chunk`` points (see the module docstring for the bound).
        method: ``"taps"`` (per-point KAN layer gradients), ``"batched"`` (batched
            backward passes through autograd derivatives, any model) or ``"auto"``.
        terms: a dict to fill with every loss term's (unweighted) mean square.

    Raises:
        ValueError: an unknown method, or ``"taps"`` for a model without layer taps.
    """
    if method not in ("auto", "taps", "batched"):
        raise ValueError(f"unknown Jacobian method {method!r}. Pick one of ('auto', 'taps', 'batched')")
    if method == "taps" and not _uses_taps(trainer):
        raise ValueError(f"the taps Jacobian needs a KAN with jet derivatives, got {type(trainer.model).__name__} "
                         f"with derivatives={trainer.config.derivatives!r}")
    taps = method == "taps" or (method == "auto" and _uses_taps(trainer))
    columns = _Columns(trainer.trainable())
    backend = trainer.config.derivatives if taps else "autograd"
    assemble = _chunk_by_taps if taps else _chunk_batched
    r_parts, j_parts, squares = [], [], {}
    for number, block in enumerate(blocks(trainer)):
        pieces = []
        for start in range(0, max(block.count, 1), chunk):  # a rank without points of a block: one empty chunk
            index = slice(start, min(start + chunk, block.count))
            n = index.stop - start
            pieces.append((assemble if n else _no_rows)(trainer, block, index, n, columns, backend))
        names = block.names(len(pieces[0][0]))
        residuals = [torch.cat([piece[0][t] for piece in pieces]) for t in range(len(names))]  # (count, k) each
        for t, (name, r, factor) in enumerate(zip(names, residuals, _factors(trainer, names, residuals, number == 0))):
            jac = torch.cat([piece[1][t] for piece in pieces])          # (count, k, P)
            squares[name] = torch.stack([r.pow(2).sum(), r.new_tensor(float(r.numel()))])
            r_parts.append((factor * r).reshape(-1))
            j_parts.append((factor.unsqueeze(-1) * jac).reshape(r.numel(), columns.total))
    if terms is not None:  # mean squares over every rank's points
        sums = _parallel(trainer).all_reduce_sum(torch.stack(list(squares.values())))  # (terms, 2)
        terms.update({name: float(total / count.clamp_min(1)) for name, (total, count) in zip(squares, sums)})
    return torch.cat(r_parts), torch.cat(j_parts)


# -- the solve ------------------------------------------------------------------------------------------


class GaussNewton:
    """One LM iteration's linear model ``|r + J delta|^2`` of the loss, global over data-parallel ranks.

    Each rank holds its rows ``J``, ``r`` (its points); what the solvers need is summed over ranks,

        J^T J = sum_ranks J_rank^T J_rank,   J^T r = sum_ranks J_rank^T r_rank,   |r|^2 = sum_ranks |r_rank|^2,

    by all-reduces, so every rank solves the same system. ``"cholesky"`` all-reduces ``J^T J``;
    ``"cg"`` all-reduces ``diag(J^T J)`` and then one product ``J^T J v`` per CG iteration;
    ``"qr"`` gathers each rank's triangular factor ``R_rank`` (from ``J_rank = Q_rank R_rank``) and
    ``Q_rank^T r_rank`` (TSQR): the stacked ``[R_rank]`` has the same ``R^T R = J^T J`` and the same
    least-squares solutions as J, without squaring its condition number. One process: J itself.

    Args:
        J: this rank's rows of the Jacobian, ``(M, P)``; r: its residuals ``(M,)``.
        solver: ``"cholesky"``, ``"cg"`` or ``"qr"``.
        normal: ``J^T J`` if already formed (one process, cholesky).
        parallel: the ranks (default: one process).
    """

    def __init__(self, J: torch.Tensor, r: torch.Tensor, solver: str = "cholesky",
                 normal: torch.Tensor | None = None, parallel: DataParallel | None = None):
        self.J, self.r, self.solver = J, r, solver
        self.parallel = parallel or DataParallel()
        P = J.shape[1]
        local = [J.T @ r, (r @ r).reshape(1)]                            # (P,), (1,)
        if solver != "cholesky":
            local.append((J * J).sum(0))                                 # diag(J^T J), (P,)
        flat = self.parallel.all_reduce_sum(torch.cat(local))
        self.g, self.loss = flat[:P], float(flat[P])
        self.normal = None
        if solver == "cholesky":  # summed in place: no second P x P copy
            self.normal = self.parallel.all_reduce_sum(gram(J) if normal is None or self.parallel.enabled else normal)
        self.diagonal = self.normal.diagonal() if solver == "cholesky" else flat[P + 1:]
        if solver == "qr":
            self.rows, self.rhs = J, r
            if self.parallel.enabled:  # each rank's M_rank x P block shrinks to its min(M_rank, P) x P factor
                Q, R = torch.linalg.qr(J)                                # (M, K), (K, P)
                self.rows, self.rhs = self.parallel.gather_rows(R), self.parallel.gather_rows(Q.T @ r)

    def step(self, mu: float, scaling: str = "marquardt") -> torch.Tensor:
        """``delta`` solving ``(J^T J + mu D) delta = -J^T r``, the same on every rank."""
        D = _scaling(self.diagonal, scaling)
        if self.solver == "qr":  # the augmented least squares [J; sqrt(mu D)] delta = [-r; 0]
            stacked = torch.cat([self.rows, torch.diag((mu * D).sqrt())])  # (M + P, P)
            rhs = torch.cat([-self.rhs, self.rhs.new_zeros(len(D))]).unsqueeze(1)
            driver = "gels" if stacked.device.type == "cpu" else None
            delta = torch.linalg.lstsq(stacked, rhs, driver=driver).solution.squeeze(1)
        elif self.solver == "cg":
            delta = self._cg(mu, D)
        else:
            delta = self._cholesky(mu, D)
        delta = delta.contiguous()
        self.parallel.broadcast([delta])  # rank 0's solve: bit-identical steps whatever the solver's round-off
        return delta

    def _cholesky(self, mu: float, D: torch.Tensor) -> torch.Tensor:
        M = self.normal + torch.diag(mu * D)                             # (P, P)
        L, info = torch.linalg.cholesky_ex(M)
        if int(info) == 0:
            return torch.cholesky_solve(-self.g.unsqueeze(1), L).squeeze(1)
        solution = torch.linalg.lstsq(M.cpu(), -self.g.unsqueeze(1).cpu(), driver="gelsd").solution
        return solution.squeeze(1).to(self.g)

    def _cg(self, mu: float, D: torch.Tensor) -> torch.Tensor:
        """scipy's conjugate gradients on ``v -> J^T (J v) + mu D v`` (``J^T J v`` summed over ranks),
        Jacobi-preconditioned; every rank runs the same iterations on the same numbers."""
        from scipy.sparse.linalg import LinearOperator, cg

        J, reduce = self.J, self.parallel.all_reduce_sum
        damping = (mu * D).cpu().numpy()

        def product(v):
            return reduce(J.T @ (J @ torch.from_numpy(v).to(J))).cpu().numpy() + damping * v

        n = len(damping)
        diagonal = self.diagonal.cpu().numpy() + damping  # Jacobi preconditioner of the damped normal matrix
        operator = LinearOperator((n, n), matvec=product, dtype=damping.dtype)
        preconditioner = LinearOperator((n, n), matvec=lambda v: v / diagonal, dtype=damping.dtype)
        delta, _ = cg(operator, -self.g.cpu().numpy(), rtol=1e-12, atol=0.0, maxiter=10 * n, M=preconditioner)
        return torch.as_tensor(delta).to(self.g)

    def predicted_loss(self, delta: torch.Tensor) -> float:
        """The linear model's loss ``|r + J delta|^2``, summed over ranks."""
        return float(self.parallel.all_reduce_sum((self.r + self.J @ delta).pow(2).sum().reshape(1)))


SPARSE_GRAM_DENSITY = 0.1


def gram(J: torch.Tensor, sparse_below: float = SPARSE_GRAM_DENSITY) -> torch.Tensor:
    """``J^T J``, ``(P, P)``; on the CPU through a sparse (CSR) copy of J when at most ``sparse_below`` of
    its entries are nonzero.

    Why: a KAN's residual row touches k + 1 spline coefficients per edge, so J is 5-8 % full at
    grid 80-120 on a [2, 10, 1] KAN, and the sparse product takes about half the dense one's time
    there (``scripts/bench_gram.py`` times both); coarser grids and MLPs stay dense.
    """
    if J.device.type != "cpu" or J.numel() == 0 or torch.count_nonzero(J) > sparse_below * J.numel():
        return J.T @ J
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Ss]parse CSR tensor support is in beta")
        rows = J.to_sparse_csr()                                         # (M, P), nnz ~ M (k+1) edges
        return (rows.t() @ rows).to_dense()                              # (P, P)


def damped_step(J: torch.Tensor, r: torch.Tensor, mu: float, solver: str = "cholesky",
                normal: torch.Tensor | None = None, scaling: str = "marquardt") -> torch.Tensor:
    """``delta`` solving ``(J^T J + mu D) delta = -J^T r`` in one process (see :class:`GaussNewton`).

    Args:
        solver: ``"cholesky"`` (lstsq fallback when not positive definite), ``"qr"`` (least squares
            on ``[J; sqrt(mu D)]``) or ``"cg"`` (scipy's conjugate gradients on
            ``v -> J^T (J v) + mu D v``, Jacobi-preconditioned).
        normal: ``J^T J`` if already formed (cholesky).
        scaling: ``"marquardt"``: ``D = diag(J^T J)`` (floored); ``"levenberg"``: ``D = mean(diag(J^T J)) I``.
    """
    return GaussNewton(J, r, solver, normal).step(mu, scaling)


def _scaling(diagonal: torch.Tensor, scaling: str = "marquardt") -> torch.Tensor:
    """The damping's D from ``diag(J^T J)``: Marquardt's diagonal itself, floored so columns no point
    touches stay damped, or Levenberg's multiple of the identity (its mean, so mu stays scale-free)."""
    if scaling == "levenberg":
        return torch.full_like(diagonal, float(diagonal.mean().clamp_min(1e-300)))
    return diagonal.clamp_min(1e-12 * float(diagonal.max().clamp_min(1e-300)))


def nielsen_update(mu: float, nu: float, rho: float, accepted: bool) -> tuple[float, float]:
    """The next ``(mu, nu)``: shrink by ``max(1/3, 1 - (2 rho - 1)^3)`` on success, else grow by nu, nu doubling."""
    if accepted:
        return mu * max(1 / 3, 1 - (2 * rho - 1) ** 3), 2.0
    return mu * nu, nu * 2


# -- the stage ------------------------------------------------------------------------------------------


def _solver(stage: LM, n_params: int) -> str:
    if stage.solver != "auto":
        return stage.solver
    return "cholesky" if n_params <= stage.dense_limit else "cg"


def _flat(params: list[torch.Tensor]) -> torch.Tensor:
    """theta, ``(P,)`` (parameters may be non-contiguous after a grid refit, so no views)."""
    return torch.cat([p.detach().reshape(-1) for p in params])


def _assign(theta: torch.Tensor, params: list[torch.Tensor]) -> None:
    for p, value in zip(params, theta.split([p.numel() for p in params])):
        p.copy_(value.view_as(p))


def _loss(trainer) -> float:
    with torch.enable_grad():  # autograd derivatives need a graph; the jet does not care
        return float(trainer.total(trainer.loss_terms()).detach())


def run_lm_stage(trainer, index: int, stage: LM) -> None:
    """Run ``stage.steps`` LM iterations on the trainer's model; the stop reason goes to the stage record.

    Stop reasons: ``"steps"``, ``"gtol"`` (gradient ``J^T r`` below ``gtol``), ``"xtol"``
    (step below ``xtol`` relative to theta), ``"mu_max"`` (no loss-lowering step even with
    mu past ``mu_max``), ``"nonfinite"`` (J or r not finite), ``"callback"``.
    """
    from tqdm.auto import tqdm  # lazily: `import kanpde` stays light

    cfg = trainer.config
    parallel = _parallel(trainer)
    params = trainer.trainable()
    solver = _solver(stage, sum(p.numel() for p in params))
    bar = tqdm(total=stage.steps, desc=f"[{index + 1}/{len(cfg.schedule)}] {stage.label()}",
               disable=not (cfg.verbose and parallel.is_main), leave=True, dynamic_ncols=True)
    mu, nu, stop, done = stage.damping, 2.0, "steps", 0
    galerkin = GalerkinRows(trainer, stage.galerkin) if stage.galerkin else None
    stage_record = trainer.history.stages[-1] if trainer.history.stages else {}
    while done < stage.steps:
        started = time.perf_counter()
        terms: dict[str, float] = {}
        if trainer.causal is not None:  # one fixed objective per iteration: the weights of its J
            trainer.causal.begin_step(freeze=True)
        with torch.enable_grad():
            r, J = jacobian(trainer, stage.chunk, terms=terms)
            if galerkin is not None:  # rank 0 holds the rows, so the summed J^T J counts them once
                g, G = galerkin.rows(trainer)
                terms["galerkin"] = float(g @ g)
                if parallel.is_main:
                    r, J = torch.cat([r, g]), torch.cat([J, G])
        if parallel.any(not (torch.isfinite(r).all() and torch.isfinite(J).all())):
            stop = "nonfinite"
            break
        system = GaussNewton(J, r, solver, parallel=parallel)  # J^T J, J^T r, |r|^2 summed over ranks
        loss = system.loss
        if float(system.g.abs().max()) <= stage.gtol:
            stop = "gtol"
            break
        theta = _flat(params)
        accepted = False
        while not accepted:  # every decision below sees global numbers: the ranks agree
            delta = system.step(mu, stage.scaling)
            if float(delta.norm()) <= stage.xtol * (float(theta.norm()) + stage.xtol):
                stop = "xtol"
                break
            with torch.no_grad():
                _assign(theta + delta, params)
            new = _loss(trainer) + (galerkin.loss(trainer) if galerkin is not None else 0.0)
            predicted = loss - system.predicted_loss(delta)
            accepted = math.isfinite(new) and new < loss
            rho = (loss - new) / predicted if accepted and predicted > 0 else 0.0
            mu, nu = nielsen_update(mu, nu, rho, accepted)
            if not accepted:
                with torch.no_grad():
                    _assign(theta, params)
                if mu > stage.mu_max:
                    stop = "mu_max"
                    break
        if not accepted:
            break
        done += 1
        trainer.step += 1
        now = time.perf_counter()
        record = {"step": trainer.step, "stage": index, "time": now - trainer.start, "step_time": now - started,
                  "iterations": 1, **terms, "loss": loss - terms.get("galerkin", 0.0)}  # the collocation loss
        if trainer.causal is not None:  # anneal eps, record the weights
            trainer.causal.log(record, trainer.history)
        trainer.history.steps.append(record)
        if trainer.step % cfg.eval_every == 0 or done >= stage.steps:
            trainer.record_error(record)
        bar.update(1)
        bar.set_postfix(trainer._postfix(record) | {"mu": f"{mu:.1e}"}, refresh=False)
        if parallel.any(any(cb(record) for cb in cfg.callbacks)):
            trainer.stopped, stop = True, "callback"
            break
    bar.close()
    if trainer.causal is not None:
        trainer.causal.begin_step(freeze=False)
    if trainer.history.steps:
        trainer.record_error(trainer.history.steps[-1])
    stage_record.update({"stop": stop, "mu": mu})
