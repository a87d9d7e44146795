"""Training: Adam / L-BFGS stages with KAN grid refinement.

The loss is the weighted sum of mean squared residuals,

    L = w_pde mean|R(x_i, u)|^2 + sum_c w_c mean|r_c(x_j, u)|^2,

over interior collocation points and each condition's own points. A schedule is
a list of stages run in order; a stage given ``grid=G`` first refines the KAN to
G intervals (grid extension: the function is kept, the optimiser restarts).
"""


from __future__ import annotations

import copy
import dataclasses
import math
import time
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..nn.kan import KAN
from ..nn.sparsity import sparsity_penalty
from ..pde.conditions import ConditionPoints
from ..pde.metrics import chunks, evaluation_points, relative_l2_from, squared_errors
from ..pde.problem import Problem
from .balance import make_balancer
from .best import grow_grid
from .causal import causal_state
from .config import TrainConfig
from .distributed import DataParallel
from .history import History
from .lm import run_lm_stage
from .resume import Checkpoints, Position
from .sizing import sized
from .sampling_rba import VRBA, importance_sample  # [vrba hook]
from .ssbroyden import SSBroyden  # [ssbroyden hook]
from .stages import LBFGS, LM, Adam, Stage
from .start import check_size, check_start


@dataclass
class TrainingPoints:
    interior: torch.Tensor
    conditions: list[ConditionPoints]

    def all(self) -> torch.Tensor:
        return torch.cat([self.interior] + [c.points for c in self.conditions]
                         + [c.partner for c in self.conditions if c.partner is not None])


class Trainer:
    """Runs a schedule on one problem and model; :func:`solve` is the front door."""

    def __init__(self, problem: Problem, model: nn.Module, config: TrainConfig, resume=None):
        config = sized(config, model)  # defaulted points and schedule sized to the model (kanpde.train.sizing)
        self.problem, self.model, self.config = problem, model, config
        self.tensor_kwargs = {"dtype": config.dtype, "device": torch.device(config.device)}
        self.parameters = nn.ParameterDict({k: nn.Parameter(torch.tensor(float(v), **self.tensor_kwargs))
                                            for k, v in problem.parameters.items()})
        self.history = History()
        check_size(problem, model, config)  # before sampling allocates anything
        self.balancer = VRBA() if config.balance == "vrba" else make_balancer(config.balance)  # [vrba hook]
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
        self.checkpoints = Checkpoints(self, resume)  # resume: continue from that checkpoint

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
        return self.parallel.shard(self._tensor(points))

    def _evaluation_set(self):
        if not self.problem.has_solution():
            return None, None
        points, _ = evaluation_points(self.problem.domain, target=10_000)
        x = self.parallel.shard(self._tensor(points))
        return x, self.problem.solution_values(x).detach()

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
        if cfg.adaptive == "vrba":  # [vrba hook] p ~ |R|^2 (90 %) + uniform (10 %), seeded (kanpde.train.sampling_rba)
            self.points.interior = self.parallel.shard(importance_sample(candidates, residual, self.interior_count,
                                                                         seed=cfg.seed + offset)[0])
            self.balancer.reset_points()
            return
        if cfg.adaptive == "rad":  # Wu et al. 2023: p ~ |R| / mean|R| + 1
            weights = (residual / residual.mean().clamp_min(1e-300) + 1).cpu().numpy()
            pick = self.rng.choice(len(weights), self.interior_count, replace=False, p=weights / weights.sum())
            self.points.interior = self.parallel.shard(candidates[torch.as_tensor(pick)])
            self.balancer.reset_points()
        else:
            worst = residual.topk(max(1, self.interior_count // 10)).indices
            self.points.interior = torch.cat([self.points.interior, self.parallel.shard(candidates[worst])])
            self.balancer.reset_points()

    # -- loss -----------------------------------------------------------------------------------------

    def _residuals(self, x):
        return self.problem.residuals(self.model, x, self.config.derivatives, self.parameters)

    def loss_terms(self) -> dict[str, torch.Tensor]:
        """Every named loss term (unweighted mean squares)."""
        residuals = self._residuals(self.points.interior)
        losses = ([self.parallel.global_mean(self.balancer.pointwise(name, r).pow(2))  # mean over all ranks
                   for name, r in zip(self.problem.residual_names(len(residuals)), residuals)] if self.causal is None
                  else self.causal.losses(residuals, self.points.interior))
        terms = dict(zip(self.problem.residual_names(len(residuals)), losses))
        for condition, term, points in zip(self.problem.conditions, self.problem.terms, self.points.conditions):
            r = self.problem.condition_residual(condition, self.model, points, self.config.derivatives)
            terms[term] = self.parallel.global_mean(self.balancer.pointwise(term, r).pow(2))
        if getattr(self, "sparsity", 0.0) and isinstance(self.model, KAN):  # the stage's regulariser (sec. 2.5)
            terms["sparsity"] = self.sparsity * sparsity_penalty(self.model, self.points.interior)
        return terms

    def total(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        weights = {**self.problem.weights, **self.config.weights}
        unknown = set(weights) - set(terms)
        if unknown:
            raise ValueError(f"loss weights for unknown terms {sorted(unknown)}. Pick from {sorted(terms)}")
        return sum(weights.get(name, 1.0) * self.balancer.factor(name) * value for name, value in terms.items())

    # -- stages ---------------------------------------------------------------------------------------

    def trainable(self) -> list[nn.Parameter]:
        return list(self.model.parameters()) + list(self.parameters.values())

    def make_optimizer(self, stage: Stage, previous: torch.optim.Optimizer | None):
        if isinstance(stage, LM):  # LM keeps no optimiser state (see kanpde.train.lm)
            return previous
        if isinstance(stage, SSBroyden):  # [ssbroyden hook] an LBFGS-like stage with its own optimiser
            return stage.optimizer(self.trainable())
        if isinstance(stage, LBFGS):
            return torch.optim.LBFGS(self.trainable(), lr=stage.lr, max_iter=stage.chunk,
                                     history_size=stage.history_size, tolerance_grad=0.0,
                                     tolerance_change=0.0, line_search_fn="strong_wolfe")
        optimizer = torch.optim.Adam(self.trainable(), lr=stage.lr)
        if isinstance(previous, torch.optim.Adam):  # carry moments of parameters that survived a refinement
            for p in self.trainable():
                state = previous.state.get(p)
                if state and state["exp_avg"].shape == p.shape:
                    optimizer.state[p] = state
        return optimizer

    def prepare_stage(self, stage: Stage, first: bool) -> None:
        if stage.points is not None and stage.points != self.interior_count:
            self.resize(stage.points)
        if stage.grid is not None and hasattr(self.model, "refine") and stage.grid != self.model.grid:
            if hasattr(getattr(self.model, "net", self.model), "follow"):  # [knots hook] moving knots read u, not N
                getattr(self.model, "net", self.model).follow(self.problem.model_for_fields(self.model))
            self.model.refine(stage.grid)  # models without a grid (MLP) just run the stage
        if stage.update_grid or (self.config.update_grid and (first or stage.grid is not None)):
            if not first and self.config.update_grid == "grow":  # widen only, and not if it costs (train.best)
                grow_grid(self)
            else:
                self.update_grid(inputs_only=first)

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
        optimizer = None
        with self.checkpoints.holding_interrupts():
            for index, stage in enumerate(self.config.schedule):
                resumed = self.checkpoints.resumes(index)
                if resumed is False:  # finished before the checkpoint
                    continue
                if resumed is None:
                    self.prepare_stage(stage, first=index == 0)
                    self.history.stages.append({"start": self.step, "label": stage.label(), "grid": getattr(self.model, "grid", None)})
                self.sparsity = getattr(stage, "sparsity", 0.0)
                optimizer = self.make_optimizer(stage, optimizer)
                if resumed is not None:
                    optimizer.load_state_dict(resumed.optimizer)
                self.run_stage(index, stage, optimizer, resumed)
                if self.stopped:
                    break
        self.record_error(self.history.steps[-1] if self.history.steps else None)
        self.elapsed = time.perf_counter() - self.start
        return self

    def learned_parameters(self) -> dict[str, float]:
        return {k: float(v.detach()) for k, v in self.parameters.items()}

    def run_stage(self, index: int, stage: Stage, optimizer, resumed=None) -> None:
        if isinstance(stage, LM):  # its own loop (kanpde.train.lm); a resume restarts the LM stage
            return run_lm_stage(self, index, stage)
        cfg = self.config
        from tqdm.auto import tqdm  # lazily: `import kanpde` stays light

        decay = (stage.lr_final / stage.lr) ** (1 / max(stage.steps, 1)) if isinstance(stage, Adam) and stage.lr_final else None
        good = self.snapshot()  # parameters whose loss is known to be finite
        self.balancer.start_stage(self, stage)
        retries = 0
        done = 0
        if resumed is not None:  # continue the stage where the checkpoint left it
            (_, done, retries, lr), good = dataclasses.astuple(resumed.position), resumed.good
            self.balancer.load_state_dict(resumed.balancer)  # after start_stage: as the run had them
            stage = dataclasses.replace(stage, lr=lr)
        bar = tqdm(total=stage.steps, initial=done, desc=f"[{index + 1}/{len(cfg.schedule)}] {stage.label()}",
                   disable=not (cfg.verbose and self.parallel.is_main), leave=True, dynamic_ncols=True)
        while done < stage.steps:
            if isinstance(stage, Adam) and cfg.resample_every and done and done % cfg.resample_every == 0:
                self.resample()
            if index == 0 and isinstance(stage, Adam) and cfg.update_grid and cfg.grid_update_every \
                    and done and done % cfg.grid_update_every == 0:
                self.update_grid(grow_only=True)
            if isinstance(stage, Adam):
                self.balancer.before_step(self, done)
            candidate = self.snapshot()  # becomes "good" once the step has seen a finite loss here
            limit = min(stage.chunk, stage.steps - done) if isinstance(stage, LBFGS) else 1
            record = self.take_step(index, optimizer, limit)
            if record is None:  # NaN/inf: restore, then retry more gently or give up on this stage
                self.restore(good)
                retries += 1
                if retries > cfg.max_retries:
                    warnings.warn(f"stage {stage.label()} stopped after {cfg.max_retries} NaN/inf recoveries; "
                                  "the last good model is kept", RuntimeWarning)
                    break
                if isinstance(stage, Adam):
                    stage = dataclasses.replace(stage, lr=stage.lr / 4)
                optimizer = self.make_optimizer(stage, None)
                continue
            good = candidate
            done += record["iterations"]
            if record["iterations"] == 0:  # L-BFGS made no progress: converged (or stuck), stop the stage
                bar.update(stage.steps - done)
                self.record_error(record)
                break
            if decay is not None:
                for group in optimizer.param_groups:
                    group["lr"] *= decay
            if self.step // cfg.eval_every > (self.step - record["iterations"]) // cfg.eval_every or done >= stage.steps:
                self.record_error(record)
            bar.update(record["iterations"])
            if done % 10 < record["iterations"] or done >= stage.steps:
                bar.set_postfix(self._postfix(record), refresh=False)
            if self.checkpoints.after_step(record, Position(index, done, retries, stage.lr), optimizer, good):
                self.stopped = True  # a callback asked to stop
                break
        bar.close()
        if not self.loss_is_finite():
            self.restore(good)
            warnings.warn(f"stage {stage.label()} ended on a non-finite loss; the last good model is kept", RuntimeWarning)

    def loss_is_finite(self) -> bool:
        with torch.enable_grad():
            return bool(torch.isfinite(self.total(self.loss_terms())))

    def take_step(self, stage_index: int, optimizer, limit: int) -> dict | None:
        """One optimiser call (Adam: one step; L-BFGS: up to ``limit`` iterations).

        Returns its record, or None when the loss or the parameters went non-finite.
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
            self.causal.begin_step(freeze=isinstance(optimizer, torch.optim.LBFGS))
        if isinstance(optimizer, torch.optim.LBFGS):
            group = optimizer.param_groups[0]
            group["max_iter"], group["max_eval"] = limit, 4 * limit  # room for line-search evaluations
            state = optimizer.state[group["params"][0]]
            before = state.get("n_iter", 0)
            optimizer.step(closure)
            iterations = state.get("n_iter", 0) - before
        else:
            loss = closure()
            if torch.isfinite(loss):
                optimizer.step()
            iterations = 1
        values = {k: float(v) for k, v in seen[0].items()}
        if not all(math.isfinite(v) for v in values.values()) or not self.parameters_finite():
            return None
        self.step += iterations
        now = time.perf_counter()
        record = {"step": self.step, "stage": stage_index, "time": now - self.start,
                  "step_time": now - started, "iterations": iterations, **values, **self.balancer.record()}
        if self.causal is not None:
            self.causal.log(record, self.history)
        self.history.steps.append(record)
        return record

    def parameters_finite(self) -> bool:
        return all(bool(torch.isfinite(p).all()) for p in self.trainable())

    def snapshot(self):
        return copy.deepcopy(self.model.state_dict()), {k: v.detach().clone() for k, v in self.parameters.items()}

    def restore(self, snapshot) -> None:
        state, params = snapshot
        self.model.load_state_dict(state)
        with torch.no_grad():
            for k, v in params.items():
                self.parameters[k].copy_(v)

    def record_error(self, record: dict | None) -> None:
        if record is None or self.eval_x is None or "rel_l2" in record:
            return
        model = self.problem.model_for_fields(self.model)
        with torch.no_grad():  # in chunks (bounded memory), each rank its block of the set
            sums = sum((squared_errors(model(self.eval_x[s]), self.eval_u[s]) for s in chunks(len(self.eval_x))),
                       self.eval_u.new_zeros(2))
        record["rel_l2"] = relative_l2_from(self.parallel.all_reduce_sum(sums))

    @staticmethod
    def _postfix(record: dict) -> dict:
        skip = {"step", "stage", "time", "step_time", "iterations"}
        return {k: f"{v:.2e}" for k, v in record.items() if k not in skip}
