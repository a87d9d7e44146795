"""The Jacobian ``J = dr/dtheta`` of the loss's residual vector (:mod:`kanpde.train.residuals`), chunk by chunk.

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
differentiated through the whole chunk). ``J^T J`` (:func:`supported_gram`) is summed from pieces of
``GRAM_ROWS`` rows, each multiplied on the columns it touches: one piece's dense copy at a time.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse
import torch

from ..nn.jet import _pair_products, _phi_gradients, _silu_derivatives
from ..nn.kan import KAN, Tap
from ..nn.splines import local_basis
from .residuals import Block, blocks, parallel_of, row_factors


# -- the Jacobian ---------------------------------------------------------------------------------------


def layer_rows(tap: Tap, grads: list[torch.Tensor | None], mix: torch.Tensor | None = None) -> torch.Tensor:
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
    layer = tap.layer
    local, cell, base, gy = _local_rows(tap, grads)
    spline = _spread(local, cell, layer.grid + layer.k, mix)             # (N or K, in, out, G+k)
    if mix is not None:
        base, gy = torch.tensordot(mix, base, dims=1), gy @ mix.T        # (K, in, out), (out, K)
    coef = spline * layer.scale_spline.detach().unsqueeze(-1)
    scale_spline = (spline * layer.coef.detach()).sum(-1)                # (N or K, in, out)
    parts = {"coef": coef, "scale_base": base, "scale_spline": scale_spline, "bias": gy.T}
    return torch.cat([parts[name].reshape(len(spline), -1) for name, _ in layer.named_parameters()], dim=1)


def sparse_layer_rows(tap: Tap, grads: list[torch.Tensor | None], start: int) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`layer_rows` without the spread over the grid: each point's nonzeros ``(N, m)`` and their columns
    ``(N, m)`` among J's (the layer's parameters from column ``start``), m = in out (k + 3) + out."""
    layer = tap.layer
    local, cell, base, gy = _local_rows(tap, grads)                      # (N, in, out, k+1), (N, in), ..
    n, n_in, n_out, span = local.shape
    width = layer.grid + layer.k
    edge = torch.arange(n_in * n_out, device=local.device).view(n_in, n_out)  # (in, out)
    first = cell.unsqueeze(-1) + edge.unsqueeze(0) * width               # (N, in, out) first coef column
    coef_columns = first.unsqueeze(-1) + torch.arange(span, device=local.device)  # (N, in, out, k+1)
    coefs = layer.coef.detach().reshape(-1)[coef_columns]                # (N, in, out, k+1)
    values = {"coef": local * layer.scale_spline.detach().unsqueeze(-1), "scale_base": base,
              "scale_spline": (local * coefs).sum(-1), "bias": gy.T}
    columns = {"coef": coef_columns, "scale_base": edge.expand(n, n_in, n_out),
               "scale_spline": edge.expand(n, n_in, n_out), "bias": torch.arange(n_out).expand(n, n_out)}
    out_values, out_columns, offset = [], [], start
    for name, p in layer.named_parameters():
        out_values.append(values[name].reshape(n, -1))
        out_columns.append(columns[name].reshape(n, -1) + offset)
        offset += p.numel()
    return torch.cat(out_values, dim=1), torch.cat(out_columns, dim=1)


def _local_rows(tap: Tap, grads: list[torch.Tensor | None]):
    """A tap's per-point gradient pieces: the k + 1 local spline values ``(N, in, out, k+1)`` (before the
    edge's scale) with their first grid cell ``(N, in)``, the SiLU weights' ``(N, in, out)`` and the bias'
    ``(out, N)``."""
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
    return local, cell, base, gy


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


class Columns:
    """Where each trainable tensor's entries sit among J's columns."""

    def __init__(self, params: list[torch.Tensor]):
        self.params = params
        offsets = np.cumsum([0] + [p.numel() for p in params])
        self.span = {id(p): slice(int(a), int(b)) for p, a, b in zip(params, offsets[:-1], offsets[1:])}
        self.total = int(offsets[-1])

    def of_layer(self, layer) -> slice:
        spans = [self.span[id(p)] for p in layer.parameters()]
        return slice(spans[0].start, spans[-1].stop)


def tapped(model) -> KAN | None:
    """The KAN whose layer taps give J: the model itself, or the network inside a time window
    (:class:`kanpde.pde.windows.InitialWindow`) when it holds all the window's parameters; else None."""
    if isinstance(model, KAN):
        return model
    net = getattr(model, "net", None)
    if isinstance(net, KAN) and {id(p) for p in model.parameters()} == {id(p) for p in net.parameters()}:
        return net
    return None


def uses_taps(trainer) -> bool:
    """The per-point fast path: a KAN (alone or inside a time window) whose parameters are all in its
    layers, derivatives by the jet."""
    return tapped(trainer.model) is not None and trainer.config.derivatives in ("auto", "jet")


def _evaluate_tapped(trainer, block: Block, index: slice, backend: str):
    """The block's residuals on one chunk, the layer taps they passed through, and the learned parameters."""
    model = tapped(trainer.model)
    model.taps = taps = []
    try:
        residuals = block.evaluate(index, backend)
    finally:
        model.taps = None
    return residuals, taps, [p for p in trainer.parameters.values() if p.requires_grad]


def chunk_by_taps(trainer, block: Block, index: slice, n: int, columns: Columns, backend: str,
                   mix: torch.Tensor | None = None):
    """Residuals ``(n, k)`` and their Jacobians ``(n, k, P)`` on one chunk, from the layer taps; with
    ``mix`` ``(K, n)`` the combinations ``mix @ r`` ``(K, k)`` and ``mix @ J`` ``(K, k, P)`` instead."""
    residuals, taps, learned = _evaluate_tapped(trainer, block, index, backend)
    wanted = [t for tap in taps for t in tap.outputs if t.requires_grad]
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
                    rows = layer_rows(tap, tap_adjoints, None if mix is None else mix[:, point_rows])
                if mix is None:
                    jac[:, c, columns.of_layer(tap.layer)].index_add_(0, point_rows, rows)
                else:
                    jac[:, c, columns.of_layer(tap.layer)] += rows
            for p in learned:
                jac[:, c, columns.span[id(p)]] = combine(_column(r[:, c], p)).unsqueeze(1)
        jacobians.append(jac)
    return [combine(r.detach()) for r in residuals], jacobians


def sparse_chunk_by_taps(trainer, block: Block, index: slice, n: int, columns: Columns, backend: str,
                         store: torch.dtype | None = None):
    """:func:`chunk_by_taps` with J's rows built as CSR from each tap's nonzeros, never ``(n, k, P)`` dense:
    residuals ``(n, k)`` and one :class:`RowBlock` ``(n k, P)`` per residual (rows point by point)."""
    residuals, taps, learned = _evaluate_tapped(trainer, block, index, backend)
    wanted = [t for tap in taps for t in tap.outputs if t.requires_grad]
    blocks_out = []
    for r in residuals:
        k = r.shape[1]
        values, cols, rows = [], [], []
        for c in range(k):
            adjoints = iter(torch.autograd.grad(r[:, c].sum(), wanted, retain_graph=True, allow_unused=True))
            grads = {id(t): next(adjoints) for t in wanted}
            for tap in taps:
                point_rows = torch.arange(tap.x.shape[1], device=r.device) % n  # periodic pairs: 2 taps per row
                with torch.no_grad():
                    tap_adjoints = [grads.get(id(t)) for t in tap.outputs] + [None] * (3 - len(tap.outputs))
                    v, j = sparse_layer_rows(tap, tap_adjoints, columns.of_layer(tap.layer).start)  # (N, m) each
                values.append(v.reshape(-1))
                cols.append(j.reshape(-1))
                rows.append((point_rows * k + c).unsqueeze(1).expand_as(j).reshape(-1))
            for p in learned:
                span = columns.span[id(p)]
                values.append(_column(r[:, c], p))
                cols.append(torch.full((n,), span.start, dtype=torch.long))
                rows.append(torch.arange(n) * k + c)
        coo = scipy.sparse.coo_matrix((torch.cat(values).numpy(), (torch.cat(rows).numpy(), torch.cat(cols).numpy())),
                                      shape=(n * k, columns.total))
        blocks_out.append(RowBlock.from_csr(coo.tocsr(), r.dtype, store))  # duplicates (periodic pairs) summed
    return [r.detach() for r in residuals], blocks_out


def _column(r: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """``dr/dp`` for a scalar p, ``(n,)``: the gradient of ``v . dr/dp`` with respect to v (double vjp)."""
    v = torch.ones_like(r, requires_grad=True)
    (g,) = torch.autograd.grad(r, p, grad_outputs=v, create_graph=True, allow_unused=True)
    if g is None or not g.requires_grad:
        return torch.zeros_like(r)
    (column,) = torch.autograd.grad(g, v, retain_graph=True, allow_unused=True)
    return torch.zeros_like(r) if column is None else column.detach()


def chunk_batched(trainer, block: Block, index: slice, n: int, columns: Columns, backend: str,
                   mix: torch.Tensor | None = None):
    """The generic path: batched backward passes over the chunk's rows (autograd derivatives); with
    ``mix`` ``(K, n)`` over the K combinations of them (see :func:`chunk_by_taps`)."""
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


def no_rows(trainer, block: Block, index: slice, n: int, columns: Columns, backend: str):
    """A data-parallel rank without points of a block: residuals ``(0, k)`` and no rows of J."""
    residuals = [r.detach() for r in block.evaluate(index, backend)]
    return residuals, [r.new_zeros(0, r.shape[1], columns.total) for r in residuals]


def jacobian(trainer, chunk: int = 1024, method: str = "auto", terms: dict[str, float] | None = None,
             compact: bool = False, store: torch.dtype | None = None) -> tuple[torch.Tensor, torch.Tensor | Rows]:
    """r(theta) ``(M,)`` and ``J = dr/dtheta`` ``(M, P)``, columns in ``trainer.trainable()`` order.

    Data-parallel, a collective: this rank's rows (its points), scaled by the global counts, and
    ``terms`` the global mean squares.

    Args:
        chunk: points per block; the forward graph and per-point gradients held at once
            are those of ``chunk`` points (see the module docstring for the bound).
        method: ``"taps"`` (per-point KAN layer gradients), ``"batched"`` (batched
            backward passes through autograd derivatives, any model) or ``"auto"``.
        terms: a dict to fill with every loss term's (unweighted) mean square.
        compact: return J as :class:`Rows` (each chunk's rows kept dense or CSR, whichever is smaller) instead
            of one dense ``(M, P)`` tensor: no concatenated or scaled copy, ``nnz`` numbers where J is sparse.
        store: the dtype J's compact rows are kept in (default: the residuals'); float32 halves J's memory,
            its products then carry float32 round-off (relative 1e-7) into the Gauss-Newton step.

    Raises:
        ValueError: an unknown method, or ``"taps"`` for a model without layer taps.
    """
    if method not in ("auto", "taps", "batched"):
        raise ValueError(f"unknown Jacobian method {method!r}. Pick one of ('auto', 'taps', 'batched')")
    if method == "taps" and not uses_taps(trainer):
        raise ValueError(f"the taps Jacobian needs a KAN with jet derivatives, got {type(trainer.model).__name__} "
                         f"with derivatives={trainer.config.derivatives!r}")
    taps = method == "taps" or (method == "auto" and uses_taps(trainer))
    columns = Columns(trainer.trainable())
    backend = trainer.config.derivatives if taps else "autograd"
    assemble = chunk_by_taps if taps else chunk_batched
    r_parts, j_parts, squares = [], [], {}
    on_cpu = all(p.device.type == "cpu" for p in columns.params)
    for number, block in enumerate(blocks(trainer)):
        pieces = []
        for start in range(0, max(block.count, 1), chunk):  # a rank without points of a block: one empty chunk
            index = slice(start, min(start + chunk, block.count))
            n = index.stop - start
            if compact and taps and n and on_cpu and all(p.numel() == 1 for p in trainer.parameters.values()):
                residuals, jacs = sparse_chunk_by_taps(trainer, block, index, n, columns, backend, store)
                pieces.append((residuals, jacs))
                continue
            residuals, jacs = (assemble if n else no_rows)(trainer, block, index, n, columns, backend)
            if compact:  # stored chunk by chunk at once: never the block's dense rows together
                jacs = [RowBlock(jac.reshape(-1, columns.total), store) for jac in jacs]
            pieces.append((residuals, jacs))
        names = block.names(len(pieces[0][0]))
        residuals = [torch.cat([piece[0][t] for piece in pieces]) for t in range(len(names))]  # (count, k) each
        for t, (name, r, factor) in enumerate(zip(names, residuals, row_factors(trainer, names, residuals, number == 0))):
            squares[name] = torch.stack([r.pow(2).sum(), r.new_tensor(float(r.numel()))])
            r_parts.append((factor * r).reshape(-1))
            if compact:
                scales = factor.expand_as(r).reshape(-1)                 # (count k,) row factors
                stored = [piece[1][t] for piece in pieces]
                for part, scale in zip(stored, scales.split([part.shape[0] for part in stored])):
                    part.scale_rows(scale)
                j_parts += stored
                continue
            jac = torch.cat([piece[1][t] for piece in pieces])          # (count, k, P)
            j_parts.append((factor.unsqueeze(-1) * jac).reshape(r.numel(), columns.total))
    if terms is not None:  # mean squares over every rank's points
        sums = parallel_of(trainer).all_reduce_sum(torch.stack(list(squares.values())))  # (terms, 2)
        terms.update({name: float(total / count.clamp_min(1)) for name, (total, count) in zip(squares, sums)})
    return torch.cat(r_parts), (Rows(j_parts, columns.total) if compact else torch.cat(j_parts))


# -- J stored compactly: products without the dense (M, P) matrix ------------------------------------------


CSR_BELOW = 0.4  # density under which a chunk's rows are kept as CSR: 12 bytes a nonzero against 8 an entry
GRAM_ROWS = 1024  # rows per piece of the supported gram
FULL_SUPPORT = 0.9  # a piece touching more of the columns than this is multiplied whole


def supported_gram(pieces, n_columns: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """``J^T J = sum_b J_b[:, S_b]^T J_b[:, S_b]``, ``(P, P)``, from pieces ``(S_b, J_b[:, S_b])`` of J's rows:
    the columns ``S_b`` (sorted, ``(|S_b|,)``) a piece of rows touches and the piece on them, dense.

    Why: a residual row of a KAN touches k + 1 of an edge's G + k coefficients, and the rows of nearby points
    (the trainer keeps its points in a local order, :func:`local_order`) touch nearby cells, so a piece's
    support is a fraction of the P columns, and each piece's product is a dense BLAS product on that
    support: ``sum_b m_b |S_b|^2`` instead of ``M P^2`` multiply-adds, at BLAS speed, where the CSR product
    (``M nnz_row^2``) runs at sparse speed. Measured by ``scripts/bench_gram.py``.
    """
    out = torch.zeros(n_columns * n_columns, dtype=dtype)
    for columns, piece in pieces:
        product = (piece.T @ piece).to(dtype)                            # (|S|, |S|)
        if len(columns) == n_columns:
            out += product.reshape(-1)
        else:
            flat = (columns.unsqueeze(1) * n_columns + columns.unsqueeze(0)).reshape(-1)
            out.index_add_(0, flat, product.reshape(-1))
    return out.view(n_columns, n_columns)


def _support_piece(columns: torch.Tensor, rows: torch.Tensor, n_columns: int):
    """``(S, rows[:, S])``, or all columns with ``rows`` as it is where S covers most of them."""
    if len(columns) > FULL_SUPPORT * n_columns:
        return torch.arange(n_columns), rows
    return columns, rows[:, columns]


def dense_pieces(J: torch.Tensor, rows: int = GRAM_ROWS):
    """:func:`supported_gram`'s pieces of a dense ``(M, P)`` J, ``rows`` at a time."""
    for start in range(0, J.shape[0], rows):
        piece = J[start:start + rows]                                    # (m, P)
        yield _support_piece(torch.nonzero(piece.ne(0).any(0)).squeeze(1), piece, J.shape[1])


def csr_pieces(csr: scipy.sparse.csr_matrix, rows: int = GRAM_ROWS):
    """:func:`supported_gram`'s pieces of CSR rows, ``rows`` at a time."""
    for start in range(0, csr.shape[0], rows):
        piece = csr[start:start + rows]
        columns = np.unique(piece.indices)
        yield torch.from_numpy(columns).long(), torch.from_numpy(piece[:, columns].toarray())


def local_order(points: torch.Tensor, bits: int = 10) -> torch.Tensor:
    """The permutation that puts ``points`` ``(N, D)`` in Morton (Z-curve) order of their bounding box, so
    that consecutive points, and the chunks of J's rows they make, lie close together (the supported gram's
    pieces then touch few spline cells). The loss does not depend on the points' order."""
    if points.shape[0] < 2:
        return torch.arange(points.shape[0], device=points.device)
    x = points.detach().to(torch.float64)
    bits = min(bits, 62 // x.shape[1])  # the code fits in 62 bits
    lo, hi = x.min(0).values, x.max(0).values
    cells = ((x - lo) / (hi - lo).clamp_min(1e-300) * (2 ** bits - 1)).round().long()  # (N, D) in [0, 2^bits)
    code = torch.zeros(x.shape[0], dtype=torch.long, device=points.device)
    for b in range(bits):
        for d in range(x.shape[1]):
            code |= ((cells[:, d] >> b) & 1) << (b * x.shape[1] + d)
    return torch.argsort(code, stable=True)


class RowBlock:
    """Consecutive rows of J, ``(m, P)``: dense, or a scipy CSR matrix where at most :data:`CSR_BELOW` of the
    entries are nonzero (a KAN on a fine grid: each point touches k + 1 of an edge's G + k coefficients)."""

    def __init__(self, rows: torch.Tensor, store: torch.dtype | None = None):
        self.shape = tuple(rows.shape)
        self.dtype, self.device = rows.dtype, rows.device                # the products' dtype
        rows = rows.detach().to(store or rows.dtype)
        sparse = rows.device.type == "cpu" and rows.numel() and torch.count_nonzero(rows) <= CSR_BELOW * rows.numel()
        self.rows = scipy.sparse.csr_matrix(rows.numpy()) if sparse else rows

    @classmethod
    def from_csr(cls, rows: scipy.sparse.csr_matrix, dtype: torch.dtype, store: torch.dtype | None = None):
        """A block from CSR rows (kept dense where more than :data:`CSR_BELOW` of the entries are nonzero)."""
        if rows.nnz > CSR_BELOW * rows.shape[0] * rows.shape[1]:
            return cls(torch.from_numpy(rows.toarray()).to(dtype), store)
        block = cls.__new__(cls)
        block.shape, block.dtype, block.device = rows.shape, dtype, torch.device("cpu")
        block.rows = rows.astype(np.float32) if store == torch.float32 else rows
        return block

    @property
    def sparse(self) -> bool:
        return scipy.sparse.issparse(self.rows)

    def nbytes(self) -> int:
        if self.sparse:
            return int(self.rows.data.nbytes + self.rows.indices.nbytes + self.rows.indptr.nbytes)
        return self.rows.numel() * self.rows.element_size()

    def scale_rows(self, scale: torch.Tensor) -> None:
        """Multiply row i by ``scale[i]`` in place."""
        if self.sparse:
            self.rows.data *= np.repeat(scale.cpu().numpy(), np.diff(self.rows.indptr)).astype(self.rows.dtype)
        else:
            self.rows.mul_(scale.to(self.rows).unsqueeze(1))

    def matmul(self, v: torch.Tensor) -> torch.Tensor:
        """``B v``, v ``(P,)`` or ``(P, s)``."""
        if self.sparse:
            return torch.from_numpy(np.asarray(self.rows @ v.cpu().numpy().astype(self.rows.dtype))).to(v)
        return (self.rows @ v.to(self.rows.dtype)).to(v.dtype)

    def rmatmul(self, w: torch.Tensor) -> torch.Tensor:
        """``B^T w``, w ``(m,)`` or ``(m, s)``."""
        if self.sparse:
            return torch.from_numpy(np.asarray(self.rows.T @ w.cpu().numpy().astype(self.rows.dtype))).to(w)
        return (self.rows.T @ w.to(self.rows.dtype)).to(w.dtype)

    def pieces(self):
        """:func:`supported_gram`'s pieces of this block."""
        return csr_pieces(self.rows) if self.sparse else dense_pieces(self.rows)

    def square_columns(self) -> torch.Tensor:
        """``sum_i B_ij^2``, ``(P,)``."""
        if self.sparse:
            return torch.from_numpy(np.asarray(self.rows.multiply(self.rows).sum(0)).reshape(-1)).to(self.dtype)
        return self.rows.to(self.dtype).pow(2).sum(0)


class Rows:
    """J as a list of :class:`RowBlock` (one per chunk and residual term, in the order of r): the products
    ``J v`` and ``J^T w`` of matrix-free Gauss-Newton, with ``nbytes()`` the memory J holds."""

    def __init__(self, blocks: list[RowBlock], n_columns: int):
        self.blocks, self.n_columns = blocks, n_columns
        self.sizes = [b.shape[0] for b in blocks]
        self.shape = (sum(self.sizes), n_columns)

    def nbytes(self) -> int:
        return sum(b.nbytes() for b in self.blocks)

    def matmul(self, v: torch.Tensor) -> torch.Tensor:
        """``J v``: v ``(P,)`` -> ``(M,)``, or ``(P, s)`` -> ``(M, s)``."""
        if not self.blocks:
            return v.new_zeros((0,) + tuple(v.shape[1:]))
        return torch.cat([b.matmul(v) for b in self.blocks])

    def rmatmul(self, w: torch.Tensor) -> torch.Tensor:
        """``J^T w``: w ``(M,)`` -> ``(P,)``, or ``(M, s)`` -> ``(P, s)``."""
        out = w.new_zeros((self.n_columns,) + tuple(w.shape[1:]))
        for b, part in zip(self.blocks, w.split(self.sizes)):
            out += b.rmatmul(part)
        return out

    def gram(self) -> torch.Tensor:
        """``J^T J``, ``(P, P)`` (no dense J): :func:`supported_gram` over the blocks' pieces."""
        return supported_gram((piece for b in self.blocks for piece in b.pieces()), self.n_columns)

    def square_columns(self) -> torch.Tensor:
        """``diag(J^T J)``, ``(P,)``."""
        out = torch.zeros(self.n_columns, dtype=torch.float64)
        for b in self.blocks:
            out += b.square_columns().to(out)
        return out

    def all_finite(self) -> bool:
        return all(bool(np.isfinite(b.rows.data).all()) if b.sparse else bool(torch.isfinite(b.rows).all())
                   for b in self.blocks)

    def append(self, rows: torch.Tensor) -> "Rows":
        """A copy with extra dense rows ``(m, P)`` at the end (Galerkin rows)."""
        return Rows(self.blocks + [RowBlock(rows)], self.n_columns)
