"""Training: the trainer runs a schedule of stages on one problem and model.

The loss is the weighted sum of mean squared residuals (:mod:`kanpde.train.residuals`, its one home),

    L = w_pde mean|R(x_i, u)|^2 + sum_c w_c mean|r_c(x_j, u)|^2,

over interior collocation points and each condition's own points. A schedule is a list of stages
(:mod:`kanpde.train.stages`) run in order through one protocol (``prepare``, ``make_optimizer``, ``run``);
a stage given ``grid=G`` first refines the KAN to G intervals (grid extension: the function is kept,
the optimiser restarts). Every stage kind records its steps through :meth:`Trainer.after_step`.
The trainer also holds the run state a :class:`~kanpde.pde.problem.Problem` does not: the derivative
record, the solution model, the training points, the balancer and the checkpoints.
"""


from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..pde.conditions import ConditionPoints
from ..pde.fields import DerivativeRecord
from ..pde.metrics import chunks, evaluation_points, relative_l2_from, squared_errors
from ..pde.problem import Problem
from .balance import make_balancer
from .best import BestModel, copy_state, restore_state
from .causal import causal_state
from .config import TrainConfig
from .distributed import DataParallel
from .history import History
from .jacobian import local_order
from .lm import plan_schedule
from .residuals import loss_terms, total, user_weights
from .resume import Checkpoints, Position
from .sizing import sized
from .sampling_rba import importance_sample
from .stages import Stage
from .start import check_size, check_start


@dataclass
class TrainingPoints:
    interior: torch.Tensor
    conditions: list[ConditionPoints]

    def all(self) -> torch.Tensor:
        return torch.cat([self.interior] + [c.points for c in self.conditions]
                         + [c.partner for c in self.conditions if c.partner is not None])


def in_local_order(points: torch.Tensor) -> torch.Tensor:
    """``points`` in Morton order (:func:`kanpde.train.jacobian.local_order`): LM's chunks of nearby points
    touch few spline cells, which :func:`kanpde.train.jacobian.supported_gram` turns into speed."""
    return points[local_order(points)]


class Trainer:
    """Runs a schedule on one problem and model; :func:`solve` is the front door."""

    def __init__(self, problem: Problem, model: nn.Module, config: TrainConfig, resume=None):
        config = sized(config, model)  # the one sizing of a run: defaulted points and schedule (kanpde.train.sizing)
        self.problem, self.model, self.config = problem, model, config
        self.weights = user_weights(problem, config)  # w_t, merged once (kanpde.train.residuals)
        # the run state the problem (a pure description) does not keep: the derivatives the residuals
        # asked for (later batches get them in one jet pass) and the model as the solution sees it
        self.record = DerivativeRecord()
        self.solution_model = problem.model_for_fields(model)
        self.tensor_kwargs = {"dtype": config.dtype, "device": torch.device(config.device)}
        self.parameters = nn.ParameterDict({k: nn.Parameter(torch.tensor(float(v), **self.tensor_kwargs))
                                            for k, v in problem.parameters.items()})
        self.history = History()
        check_size(problem, model, config)  # before sampling allocates anything
        self.balancer = make_balancer(config.balance)  # automatic loss weights (kanpde.train.balance)
        self.rng = np.random.default_rng(config.seed)
        self.step = 0
        self.start = time.perf_counter()
        self.parallel = DataParallel.from_config(config)  # one process: every method is a no-op
        self.parallel.broadcast_module(model, self.parameters.values())
        self.causal = causal_state(config.causal, problem.domain,  # None unless TrainConfig.causal
                                   self.parallel.all_reduce_sum if self.parallel.enabled else None)
        self.interior_count = config.interior_points  # all ranks' interior points: a stage's points= changes it
        self.points = self.sample()
        self.eval_x, self.eval_u = self._evaluation_set()
        self.stopped = False
        self.sparsity = 0.0  # the running stage's regulariser weight
        self.bar = None      # the running stage's progress bar
        self.checkpoints = Checkpoints(self, resume)  # resume: continue from that checkpoint
        # the lowest validation loss (fresh points) over all stages is the model a run ends with; one process
        # only (each rank would score its own points and could keep a different step)
        keep = config.keep_best and not self.parallel.enabled
        self.keeper = (BestModel(self, lambda model: copy_state(model, self.parameters),
                                 lambda model, state: restore_state(model, state, self.parameters)) if keep else None)
        resumed = self.checkpoints.resumed
        if self.keeper is not None and resumed is not None and resumed.best is not None:
            self.keeper.load_state_dict(resumed.best)

    # -- points ---------------------------------------------------------------------------------------

    def _tensor(self, x) -> torch.Tensor:
        return torch.as_tensor(x).to(**self.tensor_kwargs)

    def sample(self, seed_offset: int = 0) -> TrainingPoints:
        cfg, domain = self.config, self.problem.domain
        seed = cfg.seed + seed_offset
        conditions = [c.sample(domain, cfg.boundary_points, cfg.sampling, seed + 1 + i).to(**self.tensor_kwargs)
                      for i, c in enumerate(self.problem.conditions)]
        return TrainingPoints(self.sample_interior(seed_offset), self.parallel.shard(conditions))  # this rank's block

    def sample_interior(self, seed_offset: int = 0) -> torch.Tensor:
        """This rank's block of ``interior_count`` new interior points (the interior part of :meth:`sample`)."""
        cfg = self.config
        points = self.problem.domain.sample_interior(self.interior_count, method=cfg.sampling,
                                                     seed=cfg.seed + seed_offset)
        return self.parallel.shard(in_local_order(self._tensor(points)))

    def _evaluation_set(self):
        if not self.problem.has_solution():
            return None, None
        points, _ = evaluation_points(self.problem.domain)  # the one evaluation set: Solution.errors() uses the same
        x = self.parallel.shard(self._tensor(points))
        exact = self.problem.solution_values(x).detach()
        return x, exact - self._gauge_shift(x, exact)  # gauged outputs as the gauge states them

    def _gauge_shift(self, x: torch.Tensor, values: torch.Tensor, model=None) -> torch.Tensor:
        """The constants ``(m,)`` that put ``values`` (the fields at the evaluation points ``x``: exact, or
        ``model``'s) into the problem's gauge (``Problem(gauge=)``; zero for the other outputs): a ``"mean"``
        gauge subtracts the mean over all ranks' points, a point gauge ``(p, value)`` the field at p minus
        ``value``. As :meth:`kanpde.io.solution.Solution.errors` compares them."""
        shift = values.new_zeros(values.shape[1])
        for name, spec in self.problem.gauge.items():
            c = self.problem.outputs.index(name)
            if spec[0] == "mean":
                sums = self.parallel.all_reduce_sum(torch.stack([values[:, c].sum(), values.new_tensor(len(values))]))
                shift[c] = sums[0] / sums[1].clamp_min(1)
                continue
            point = x.new_tensor([spec[1]])                                              # (1, D)
            at = self.problem.solution_values(point) if model is None else model(point)  # (1, m)
            shift[c] = at.detach()[0, c] - spec[2]
        return shift

    def resample(self) -> None:
        """New interior points: plain, RAD (density ~ |R|) or RAR (add the worst candidates)."""
        cfg = self.config
        offset = 1000 + self.step
        if cfg.adaptive is None:
            self.points.interior = self.sample_interior(offset)
            self.balancer.reset_points()
            return
        domain = self.problem.domain
        candidates = self._tensor(domain.sample_interior(10 * self.interior_count, method="uniform",
                                                         seed=cfg.seed + offset))
        with torch.enable_grad():  # each rank its block of the candidates, then all of them everywhere
            residual = sum(r.detach().pow(2).sum(1) for r in self._residuals(self.parallel.shard(candidates))).sqrt()
        residual = self.parallel.gather_rows(residual)  # (M,)
        if cfg.adaptive == "vrba":  # vRBA: p ~ |R|^2 (90 %) + uniform (10 %), seeded (kanpde.train.sampling_rba)
            self.points.interior = self.parallel.shard(in_local_order(
                importance_sample(candidates, residual, self.interior_count, seed=cfg.seed + offset)[0]))
            self.balancer.reset_points()
            return
        if cfg.adaptive == "rad":  # Wu et al. 2023: p ~ |R| / mean|R| + 1
            weights = (residual / residual.mean().clamp_min(1e-300) + 1).cpu().numpy()
            pick = self.rng.choice(len(weights), self.interior_count, replace=False, p=weights / weights.sum())
            self.points.interior = self.parallel.shard(in_local_order(candidates[torch.as_tensor(pick)]))
            self.balancer.reset_points()
        else:
            worst = residual.topk(max(1, self.interior_count // 10)).indices
            self.points.interior = torch.cat([self.points.interior, self.parallel.shard(candidates[worst])])
            self.balancer.reset_points()

    # -- loss -----------------------------------------------------------------------------------------

    def _residuals(self, x):
        return self.problem.residuals(self.model, x, self.config.derivatives, self.parameters, self.record)

    def loss_terms(self) -> dict[str, torch.Tensor]:
        """Every named loss term (unweighted mean squares) on the training points (:mod:`kanpde.train.residuals`)."""
        return loss_terms(self, self.points, self.sparsity)

    def total(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        """The weighted loss ``sum_t w_t lambda_t terms[t]``."""
        return total(self, terms)

    def loss(self) -> float:
        """The weighted loss of the current model on the training points."""
        with torch.enable_grad():  # autograd derivatives need a graph; the jet does not care
            return float(self.total(self.loss_terms()).detach())

    # -- stages ---------------------------------------------------------------------------------------

    def trainable(self) -> list[nn.Parameter]:
        return list(self.model.parameters()) + list(self.parameters.values())

    def make_optimizer(self, stage: Stage, previous: torch.optim.Optimizer | None):
        return stage.make_optimizer(self, previous)

    def prepare_stage(self, stage: Stage, first: bool) -> None:
        stage.prepare(self, first)

    def resize(self, points: int) -> None:
        """Train on ``points`` interior points from now on (a stage's ``points``): the sampler's first
        ``points`` (Sobol: the old set extended, or its first part), the condition points kept."""
        check_size(self.problem, self.model, dataclasses.replace(self.config, interior_points=points))
        self.interior_count = points
        self.points.interior = self.sample_interior()
        self.balancer.reset_points()

    def update_grid(self, inputs_only: bool = False, grow_only: bool = False) -> None:
        """Refit grid ranges to the activations. Before any training only the input layer's:
        an untrained network's hidden activations span a sliver that training soon leaves."""
        if hasattr(self.model, "update_grid"):
            self.model.update_grid(self.problem.network_inputs(self.points.all()), margin=self.config.grid_margin,
                                   layers=1 if inputs_only else None, grow_only=grow_only,
                                   **({"reduce": self.parallel.reduce_range} if self.parallel.enabled else {}))

    def run(self) -> "Trainer":
        """Run every stage; the trained model, history and parameters stay on the trainer."""
        check_start(self)  # NaN/inf input is a ValueError naming it, not a divergence
        self.memory_plan = plan_schedule(self)  # LM stages that cannot fit max_memory: refused before any training
        optimizer = None
        with self.checkpoints.holding_interrupts():
            for index, stage in enumerate(self.config.schedule):
                resumed = self.checkpoints.resumes(index)
                if resumed is False:  # finished before the checkpoint
                    continue
                if resumed is None:
                    stage.prepare(self, first=index == 0)
                    self.history.stages.append({"start": self.step, "label": stage.label(),
                                                "grid": getattr(self.model, "grid", None)})
                self.sparsity = stage.sparsity
                optimizer = stage.make_optimizer(self, optimizer)
                from_best = self.keeper is not None and self.keeper.holds_current()
                self.run_stage(index, stage, optimizer, resumed)
                if from_best and getattr(stage, "galerkin", None):
                    self.keeper.adopt(self.last_record())  # its own objective: see BestModel.adopt
                elif self.keeper is not None:  # scored before the next stage refines or refits the model
                    self.keeper.consider(self.last_record())
                if self.stopped:
                    break
        self.keep_best()
        self.record_error(self.last_record())
        self.elapsed = time.perf_counter() - self.start
        return self

    def keep_best(self) -> None:
        """End on the model with the lowest validation loss of the run; the last stage record says which
        step that was (``kept_step``), its score (``validation``) and whether it was put back (``restored``)."""
        if self.keeper is None or not self.history.steps:
            return
        restored = self.keeper.restore()
        self.stage_record().update({"kept_step": self.keeper.step, "validation": self.keeper.best,
                                    "final_validation": self.keeper.current, "restored": restored})
        if restored:  # the last row's error was the discarded model's
            last = self.history.steps[-1]
            last.pop("rel_l2", None)

    def learned_parameters(self) -> dict[str, float]:
        return {k: float(v.detach()) for k, v in self.parameters.items()}

    def run_stage(self, index: int, stage: Stage, optimizer, resumed=None) -> None:
        """Run schedule entry ``index`` (``resumed``: continue it from a checkpoint taken inside it)."""
        stage.run(self, index, optimizer, resumed)

    def loss_is_finite(self) -> bool:
        with torch.enable_grad():
            return bool(torch.isfinite(self.total(self.loss_terms())))

    def take_step(self, stage_index: int, stage: Stage, optimizer, limit: int) -> dict | None:
        """One optimiser call of a first-order stage (Adam: one step; L-BFGS: up to ``limit`` iterations).

        Returns its record (not yet in the history: :meth:`after_step` puts it there), or None when the
        loss or the parameters went non-finite.
        """
        seen: list[dict[str, torch.Tensor]] = []

        def closure():
            optimizer.zero_grad(set_to_none=True)
            terms = self.loss_terms()
            loss = self.total(terms)
            if torch.isfinite(loss):
                loss.backward()
                self.parallel.all_reduce_gradients(self.trainable())
            seen.append({k: v.detach() for k, v in terms.items()} | {"loss": loss.detach()})
            return loss

        started = time.perf_counter()
        if self.causal is not None:  # L-BFGS (line search included) needs one fixed objective per call
            self.causal.begin_step(freeze=stage.fixed_objective)
        iterations = stage.optimizer_step(optimizer, closure, limit)
        values = {k: float(v) for k, v in seen[0].items()}
        if not all(math.isfinite(v) for v in values.values()) or not self.parameters_finite():
            return None
        return self.new_record(stage_index, started, iterations, {**values, **self.balancer.record()})

    # -- the step recorder ----------------------------------------------------------------------------

    def new_record(self, stage_index: int, started: float, iterations: int, values: dict) -> dict:
        """Count ``iterations`` more steps; their record (the step's values after the bookkeeping columns)."""
        self.step += iterations
        now = time.perf_counter()
        return {"step": self.step, "stage": stage_index, "time": now - self.start, "step_time": now - started,
                "iterations": iterations, **values}

    def after_step(self, record: dict, position: Position, optimizer=None, good=None,
                   postfix: dict | None = None) -> bool:
        """The one place a finished step is recorded, whatever the stage: causal weights logged, the record
        appended to the history, the error evaluated when due, the progress bar moved, then the
        callbacks run, a checkpoint written when due and a held Ctrl-C honoured
        (:meth:`kanpde.train.resume.Checkpoints.after_step`).

        Args:
            record: the step's record (:meth:`new_record`).
            position: where the run is now (``done`` counts this step).
            optimizer: the stage's optimiser (None: a stage without one); good: the last parameters
                known to give a finite loss (None: the current ones).
            postfix: extra progress-bar fields.

        Returns True when a callback asks to stop. A record of zero iterations (L-BFGS made no
        progress, the stage ends) is only recorded.
        """
        if self.causal is not None:  # anneal eps, record the weights
            self.causal.log(record, self.history)
        self.history.steps.append(record)
        steps, iterations = self.config.schedule[position.stage].steps, record["iterations"]
        every = self.config.eval_every
        ending = iterations == 0 or position.done >= steps
        if ending or self.step // every > (self.step - iterations) // every:
            self.record_error(record)
        if self.bar is not None:
            self.bar.update(steps - position.done + iterations if iterations == 0 else iterations)
            if position.done % 10 < iterations or ending or postfix:
                self.bar.set_postfix(self._postfix(record) | (postfix or {}), refresh=False)
        if iterations == 0:
            return False
        if self.keeper is not None:
            self.keeper(record)
        return self.checkpoints.after_step(record, position, optimizer, good)

    @contextlib.contextmanager
    def progress(self, index: int, stage: Stage, done: int = 0):
        """The stage's progress bar (shown with ``verbose`` on the main process), for :meth:`after_step`."""
        from tqdm.auto import tqdm  # lazily: `import kanpde` stays light

        label = f"[{index + 1}/{len(self.config.schedule)}] {stage.label()}"
        self.bar = tqdm(total=stage.steps, initial=done, desc=label,
                        disable=not (self.config.verbose and self.parallel.is_main), leave=True, dynamic_ncols=True)
        try:
            yield self.bar
        finally:
            self.bar.close()
            self.bar = None

    def stage_record(self) -> dict:
        """The running stage's entry of ``history.stages`` (a fresh dict when there is none)."""
        return self.history.stages[-1] if self.history.stages else {}

    def last_record(self) -> dict | None:
        return self.history.steps[-1] if self.history.steps else None

    def parameters_finite(self) -> bool:
        return all(bool(torch.isfinite(p).all()) for p in self.trainable())

    def snapshot(self) -> tuple:
        """A copy of the model and the learned parameters (:func:`kanpde.train.best.copy_state`)."""
        return copy_state(self.model, self.parameters)

    def restore(self, snapshot) -> None:
        """Put a :meth:`snapshot` back."""
        restore_state(self.model, snapshot, self.parameters)

    def record_error(self, record: dict | None) -> None:
        if record is None or self.eval_x is None or "rel_l2" in record:
            return
        model = self.solution_model
        with torch.no_grad():  # in chunks (bounded memory), each rank its block of the set
            if self.problem.gauge:  # the whole prediction first: the gauge's shift needs all of it
                u = torch.cat([model(self.eval_x[s]) for s in chunks(len(self.eval_x))])  # (N, m)
                sums = squared_errors(u - self._gauge_shift(self.eval_x, u, model), self.eval_u)
            else:
                sums = sum((squared_errors(model(self.eval_x[s]), self.eval_u[s]) for s in chunks(len(self.eval_x))),
                           self.eval_u.new_zeros(2))
        record["rel_l2"] = relative_l2_from(self.parallel.all_reduce_sum(sums))

    @staticmethod
    def _postfix(record: dict) -> dict:
        skip = {"step", "stage", "time", "step_time", "iterations"}
        return {k: f"{v:.2e}" for k, v in record.items() if k not in skip}
