"""Levenberg-Marquardt (damped Gauss-Newton) training on the stacked residual vector.

Every weighted loss term ``w_t lambda_t mean|l_t r_t|^2`` of the loss (:mod:`kanpde.train.residuals`) becomes a block
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

by Cholesky (``torch.linalg.lstsq`` when the factorisation fails), by QR, or matrix-free
(:mod:`kanpde.train.matfree`: Nystrom-preconditioned conjugate gradients on products with J, kept as its
chunks' sparse rows). :func:`choose_solver` picks dense or matrix-free from a memory and time model. The step
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

Jacobians and memory: :mod:`kanpde.train.jacobian`. Matrix-free (``solver="cg"``): J is assembled as CSR
straight from the KAN's layer taps (``nnz(J)`` numbers; no dense ``(M, P)`` J, no concatenated or scaled
copy) and the step comes from :class:`kanpde.train.matfree.MatrixFree`; its data-parallel ranks all-reduce
``J^T r``, ``diag(J^T J)``, the Nystrom sketch and one ``J^T J v`` per CG iteration (the "normal"
preconditioner all-reduces ``J^T J``). :func:`choose_solver` and :func:`memory_model` decide before the stage
trains (``TrainConfig(max_memory=)``).

Measured (``scripts/bench_matfree.py``, 2 threads on a shared, heavily loaded machine): helmholtz2d's
recommended schedule with 2 iterations per LM stage: peak RSS 6.44 GiB dense, 1.10 GiB matrix-free, the
same loss and rel L2; poisson2d default (1 thread): rel L2 1.138e-7 both, peak RSS 1.60 against 0.69 GiB.
#27's acceptance (``scripts/matfree_acceptance.py``, docs/benchmarks/performance.md): a [3, 20, 20, 1] KAN on
100 000 points in 3-D, 2 matrix-free iterations within 3.22 GiB; a 3-output [2, 20, 3] KAN at grid 40 on 20 000
points (2 threads, quiet machine): 46.5 s an iteration with the dense path as it was at commit 6cd689e, 7.5 s
matrix-free ("normal": J^T J from J's compact rows by :func:`kanpde.train.jacobian.supported_gram`, then one
direct solve), 0.16x; helmholtz2d's schedule 310 s and 6.09 GiB against 147 s and 1.05 GiB, the same rel L2
(``--dense-from``, docs/benchmarks/performance.md). The direct solve on the CPU now reads compact rows too.

Memory is planned before training (:func:`plan_schedule`, ``TrainConfig(max_memory=)``), and one J is alive at a
time: the last iteration's rows are freed before the next are assembled.
"""

from __future__ import annotations

import math
import time

import torch

from .distributed import DataParallel
from .galerkin import GalerkinRows
from .jacobian import dense_pieces, jacobian, supported_gram
from .matfree import MatrixFree, scaling as _scaling
from ..memory import available_bytes, human
from .resume import Position


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


def gram(J: torch.Tensor) -> torch.Tensor:
    """``J^T J``, ``(P, P)``: on the CPU summed from pieces of J's rows on the columns each touches
    (:func:`kanpde.train.jacobian.supported_gram`; a KAN's rows touch k + 1 coefficients per edge, and the
    trainer keeps its points in a local order, so a piece touches a fraction of the columns); elsewhere
    (GPU) the dense product.
    """
    if J.device.type != "cpu" or J.numel() == 0:
        return J.T @ J
    return supported_gram(dense_pieces(J), J.shape[1], J.dtype)


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


def nielsen_update(mu: float, nu: float, rho: float, accepted: bool) -> tuple[float, float]:
    """The next ``(mu, nu)``: shrink by ``max(1/3, 1 - (2 rho - 1)^3)`` on success, else grow by nu, nu doubling."""
    if accepted:
        return mu * max(1 / 3, 1 - (2 * rho - 1) ** 3), 2.0
    return mu * nu, nu * 2


# -- the stage ------------------------------------------------------------------------------------------


SOLVER_NAMES = {"dense": "cholesky"}  # the user-facing alias
BYTES = 8
FIXED_BYTES = 64 * 2 ** 20  # measured: helmholtz2d, 5000 points, grid 40: 37 MiB above the rest of the model


def row_count(trainer) -> int:
    """Rows of J on this rank: every training point times its block's residual components (an estimate: the
    PDE's components are those of the model's output)."""
    points = trainer.points
    outputs = getattr(trainer.model, "widths", [0, 1])[-1]
    return len(points.interior) * outputs + sum(len(where.points) for where in points.conditions)


def nonzeros_per_row(trainer, n_params: int) -> int:
    """Nonzeros of a row of J: a KAN row touches k + 1 coefficients, both scales of every edge and the biases
    (a Tap-assembled J); any other model, every parameter."""
    from .jacobian import tapped
    model = tapped(trainer.model)
    if model is None:
        return n_params
    return min(n_params, sum(layer.in_dim * layer.out_dim * (layer.k + 3) + layer.out_dim for layer in model.layers))


def memory_model(rows: int, n_params: int, nonzeros: int, chunk: int, outputs: int = 1,
                 sketch: int = 200, itemsize: int = BYTES) -> dict[str, float]:
    """Peak bytes of one LM iteration, per solver (M rows, P parameters, s sketch columns, k outputs, b the
    bytes of a stored entry of J: 8, or 4 in float32):

        dense  = 8 (3 M P + 2 P^2) + chunks                 (J, its scaled copy; J^T J and its factor)
        nystrom = min((b + 4) nnz_row, b P) M + 8 P (2 s + 8) + chunks   (J's rows, the sketch, CG vectors)
        normal  = min((b + 4) nnz_row, b P) M + 8 (3 P^2 + 8 P) + chunks  (J's rows, J^T J, its factor)
        chunks  = 3 * 8 chunk k P + 64 MiB                   (one chunk's dense rows while they are assembled;
                                                              its forward graph, error evaluation, allocator)

    ``scripts/memory_bound_lm.py`` measures a stage's RSS growth against it.
    """
    chunk_buffers = 3 * BYTES * chunk * outputs * n_params + FIXED_BYTES
    stored = min((itemsize + 4) * nonzeros, itemsize * n_params) * rows + chunk_buffers
    return {"dense": BYTES * (3.0 * rows * n_params + 2.0 * n_params ** 2) + chunk_buffers,
            "nystrom": stored + BYTES * n_params * (2 * min(sketch, n_params) + 8),
            "normal": stored + BYTES * (3.0 * n_params ** 2 + 8 * n_params)}


DENSE_J_BYTES = 512 * 2 ** 20  # auto: a dense J above this goes matrix-free (its copies cost more than the solve)


def choose_solver(stage, trainer, n_params: int) -> tuple[str, int, str]:
    """The stage's solver, chunk and matrix-free preconditioner for the trainer's points now (:func:`plan`).

    Raises:
        ValueError: the stage cannot fit the budget even with the smallest chunk.
    """
    chosen = plan(stage, row_count(trainer), n_params, nonzeros_per_row(trainer, n_params),
                  getattr(trainer.model, "widths", [0, 1])[-1], memory_budget(trainer.config), on_cpu(trainer))
    return chosen["solver"], chosen["chunk"], chosen["preconditioner"]


def on_cpu(trainer) -> bool:
    """Whether all trainable parameters live on the CPU (where the direct solve reads compact rows of J)."""
    return all(p.device.type == "cpu" for p in trainer.trainable())


def memory_budget(config) -> float:
    """Bytes an LM stage may use: ``TrainConfig.max_memory``, else half the device's memory."""
    return getattr(config, "max_memory", None) or available_bytes(config.device) / 2


def plan(stage, rows: int, n_params: int, nonzeros: int, outputs: int, budget: float, compact: bool = False) -> dict:
    """The solver, chunk, matrix-free preconditioner and estimated peak bytes of an LM stage on ``rows`` rows of J
    with ``n_params`` parameters (``nonzeros`` per row), within ``budget`` bytes.

    The solver is ``stage.solver`` where forced ("dense" is "cholesky"); under "auto", dense while J fits
    :data:`DENSE_J_BYTES`, its memory model fits the budget and P <= ``stage.dense_limit``; else matrix-free
    ("cg"). The matrix-free preconditioner is ``stage.preconditioner``; under "auto", "normal" (J^T J from
    J's rows by :func:`kanpde.train.jacobian.supported_gram`, then one direct solve) while P <= ``dense_limit``
    and its ``P^2`` fits the budget, else "nystrom" (a [2, 20, 3] KAN at grid 40 on 20 000 points, 2 threads:
    the Nystrom sketch and CG took 39.7 s an iteration, the dense path with scipy's sparse J^T J 46.1 s;
    ``scripts/matfree_acceptance.py system3``). The chunk is halved (down to 16 points) until the model fits
    the budget. ``compact``: the direct solve reads J as compact rows (on the CPU: J^T J by the supported gram,
    no dense J), so its peak is the "normal" model's, not the dense one's.

    Returns:
        ``{"solver", "chunk", "preconditioner", "peak_bytes", "budget_bytes"}``.

    Raises:
        ValueError: the stage cannot fit the budget even with the smallest chunk (the message gives the
            estimate, the budget and what to change).
    """
    solver, chunk = SOLVER_NAMES.get(stage.solver, stage.solver), stage.chunk

    def need(kind: str, chunk: int) -> float:
        return memory_model(rows, n_params, nonzeros, chunk, outputs, stage.sketch,
                            4 if stage.precision == "float32" else BYTES)[kind]

    if solver == "auto":
        small = BYTES * rows * n_params <= DENSE_J_BYTES and need("dense", chunk) <= budget
        solver = "cholesky" if small and n_params <= stage.dense_limit else "cg"
    preconditioner = stage.preconditioner
    if preconditioner == "auto":
        fits = n_params <= stage.dense_limit and need("normal", chunk) <= budget
        preconditioner = "normal" if fits else "nystrom"
    kind = preconditioner if solver == "cg" else "normal" if compact and solver == "cholesky" else "dense"
    while need(kind, chunk) > budget and chunk > 16:
        chunk //= 2
    if need(kind, chunk) > budget:
        hint = ("use solver='cg', fewer points or a smaller model" if solver != "cg" else
                "use preconditioner='nystrom', precision='float32', fewer points or a smaller model"
                if kind == "normal" else "use precision='float32', fewer points or a smaller model")
        raise ValueError(f"LM(solver={stage.solver!r}) needs about {human(need(kind, chunk))} for {rows} rows and "
                         f"{n_params} parameters but max_memory allows {human(budget)}; {hint}")
    return {"solver": solver, "chunk": chunk, "preconditioner": preconditioner, "peak_bytes": need(kind, chunk),
            "budget_bytes": budget}


def plan_schedule(trainer) -> list[dict]:
    """Every LM stage's :func:`plan` before training: its parameters at the stage's grid and its rows at the
    stage's points, so a schedule that cannot fit ``TrainConfig.max_memory`` (or half the machine's memory) is
    refused before its first stage trains, not when the LM stage starts.

    Returns:
        one dict per LM stage: ``stage`` (its index), ``grid``, ``params``, ``rows`` and :func:`plan`'s keys.

    Raises:
        ValueError: naming the first stage that cannot fit, with its estimate.
    """
    budget, out, grid = memory_budget(trainer.config), [], getattr(trainer.model, "grid", None)
    outputs = getattr(trainer.model, "widths", [0, 1])[-1]
    current = sum(p.numel() for p in trainer.trainable())
    interior, rows_now = max(len(trainer.points.interior), 1), row_count(trainer)
    points, cpu = trainer.config.interior_points, on_cpu(trainer)
    for index, stage in enumerate(trainer.config.schedule):
        grid = getattr(stage, "grid", None) or grid  # a user's Stage subclass may have neither
        points = getattr(stage, "points", None) or points
        if not getattr(stage, "assembles_jacobian", False):  # LM stages (stages.py sits above this module)
            continue
        n_params = current + _coefficients_added(trainer.model, grid)
        rows = rows_now + round((points / max(trainer.interior_count, 1) - 1) * interior) * outputs
        try:
            chosen = plan(stage, rows, n_params, nonzeros_per_row(trainer, n_params), outputs, budget, cpu)
        except ValueError as error:
            raise ValueError(f"schedule entry {index} ({stage.label()}): {error}") from None
        out.append({"stage": index, "grid": grid, "params": n_params, "rows": rows, **chosen})
    return out


def _coefficients_added(model, grid: int | None) -> int:
    """Spline coefficients a KAN gains (or loses) when refined from its grid to ``grid``."""
    if grid is None or not hasattr(model, "layers") or not hasattr(model, "grid"):
        return 0
    return sum(layer.in_dim * layer.out_dim * (grid - layer.grid) for layer in model.layers if hasattr(layer, "grid"))


def _flat(params: list[torch.Tensor]) -> torch.Tensor:
    """theta, ``(P,)`` (parameters may be non-contiguous after a grid refit, so no views)."""
    return torch.cat([p.detach().reshape(-1) for p in params])


def _assign(theta: torch.Tensor, params: list[torch.Tensor]) -> None:
    for p, value in zip(params, theta.split([p.numel() for p in params])):
        p.copy_(value.view_as(p))


def levenberg_marquardt(trainer, index: int, stage, resumed=None) -> None:
    """Run ``stage.steps`` LM iterations (:class:`kanpde.train.stages.LM`) as schedule entry ``index``;
    the stop reason and the final mu go to the stage's record.

    Stop reasons: ``"steps"``, ``"gtol"`` (gradient ``J^T r`` below ``gtol``), ``"xtol"``
    (step below ``xtol`` relative to theta), ``"mu_max"`` (no loss-lowering step even with
    mu past ``mu_max``), ``"rtol"`` (converged: :meth:`~kanpde.train.stages.LM.converged`), ``"nonfinite"``
    (J or r not finite), ``"callback"``. ``stage.wants_more`` decides each next iteration (``steps``, and
    Galerkin repeats).

    The trainer interface it uses: ``trainable()``, ``loss()``, ``parallel``, ``causal``, ``balancer``
    (state restored on resume), ``progress(index, stage, done)``, ``new_record(index, started, iterations,
    values)``, ``after_step(record, position, postfix=)`` (history, error, progress, callbacks,
    checkpoints, Ctrl-C), ``stage_record()``, ``record_error(record)``, ``last_record()``; the residual
    vector and its Jacobian read the run through :mod:`kanpde.train.jacobian`. ``resumed`` continues from
    a checkpoint taken inside the stage: its iterations done, mu and nu.
    """
    parallel = trainer.parallel
    params = trainer.trainable()
    n_params = sum(p.numel() for p in params)
    cpu = on_cpu(trainer)
    chosen = plan(stage, row_count(trainer), n_params, nonzeros_per_row(trainer, n_params),
                  getattr(trainer.model, "widths", [0, 1])[-1], memory_budget(trainer.config), cpu)
    solver, chunk, preconditioner = chosen["solver"], chosen["chunk"], chosen["preconditioner"]
    matrix_free = solver == "cg"
    # the direct solve on the CPU reads J as compact rows too: J^T J from them by the supported gram, the same
    # normal equations without a dense (M, P) J (qr and other devices keep the dense J)
    compact = matrix_free or (solver == "cholesky" and cpu)
    mu, nu, stop, done = stage.damping, 2.0, "steps", 0
    if resumed is not None:
        done, mu, nu = resumed.position.done, resumed.position.state["mu"], resumed.position.state["nu"]
        trainer.balancer.load_state_dict(resumed.balancer)
    galerkin = GalerkinRows(trainer, stage.galerkin) if stage.galerkin else None
    stage_record = trainer.stage_record()
    objective: list[float] = []  # the loss (Galerkin rows included) before each accepted iteration
    terms: dict[str, float] = {}
    collocation = math.inf
    with trainer.progress(index, stage, done):
        while stage.wants_more(done, collocation, terms.get("galerkin")):
            started = time.perf_counter()
            terms: dict[str, float] = {}
            r = J = system = None  # the last iteration's rows freed before the next are built: one J at a time
            if trainer.causal is not None:  # one fixed objective per iteration: the weights of its J
                trainer.causal.begin_step(freeze=True)
            with torch.enable_grad():
                r, J = jacobian(trainer, chunk, terms=terms, compact=compact,
                                store=torch.float32 if stage.precision == "float32" else None)
                if galerkin is not None:  # rank 0 holds the rows, so the summed J^T J counts them once
                    g, G = galerkin.rows(trainer)
                    terms["galerkin"] = float(g @ g)
                    if parallel.is_main:
                        r, J = torch.cat([r, g]), (J.append(G) if compact else torch.cat([J, G]))
            finite = J.all_finite() if compact else bool(torch.isfinite(J).all())
            if parallel.any(not (torch.isfinite(r).all() and finite)):
                stop = "nonfinite"
                break
            if compact:  # J^T r, diag(J^T J), |r|^2 summed over ranks; J^T J ("normal") or CG's products with J
                system = MatrixFree(J, r, parallel=parallel, sketch=stage.sketch,
                                    preconditioner=preconditioner if matrix_free else "normal")
            else:  # J^T J, J^T r, |r|^2 summed over ranks
                system = GaussNewton(J, r, solver, parallel=parallel)
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
                new = trainer.loss() + (galerkin.loss(trainer) if galerkin is not None else 0.0)
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
            record = trainer.new_record(index, started, 1,
                                        {**terms, "loss": loss - terms.get("galerkin", 0.0),  # the collocation loss
                                         **trainer.balancer.record()})
            position = Position(index, done, 0, None, {"mu": mu, "nu": nu})
            if trainer.after_step(record, position, postfix={"mu": f"{mu:.1e}"}):
                trainer.stopped, stop = True, "callback"
                break
            objective.append(loss)
            collocation = record["loss"]
            if stage.converged(objective):
                stop = "rtol"
                break
    if trainer.causal is not None:
        trainer.causal.begin_step(freeze=False)
    trainer.record_error(trainer.last_record())
    stage_record.update({"stop": stop, "mu": mu, "solver": f"matrix-free ({preconditioner})" if matrix_free else solver,
                         "chunk": chunk, "memory_estimate": chosen["peak_bytes"]})
