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

from ..pde.conditions import ConditionPoints
from ..pde.metrics import evaluation_points, relative_l2
from ..pde.problem import Problem
from .causal import causal_state
from .config import TrainConfig
from .history import History
from .stages import LBFGS, Adam, Stage


@dataclass
class TrainingPoints:
    interior: torch.Tensor
    conditions: list[ConditionPoints]

    def all(self) -> torch.Tensor:
        return torch.cat([self.interior] + [c.points for c in self.conditions]
                         + [c.partner for c in self.conditions if c.partner is not None])


class Trainer:
    """Runs a schedule on one problem and model; :func:`solve` is the front door."""

    def __init__(self, problem: Problem, model: nn.Module, config: TrainConfig):
        self.problem, self.model, self.config = problem, model, config
        self.tensor_kwargs = {"dtype": config.dtype, "device": torch.device(config.device)}
        self.parameters = nn.ParameterDict({k: nn.Parameter(torch.tensor(float(v), **self.tensor_kwargs))
                                            for k, v in problem.parameters.items()})
        self.history = History()
        self.rng = np.random.default_rng(config.seed)
        self.step = 0
        self.start = time.perf_counter()
        self.points = self.sample()
        self.eval_x, self.eval_u = self._evaluation_set()
        self.stopped = False
        self.causal = causal_state(config.causal, problem.domain)  # None unless TrainConfig.causal

    # -- points ---------------------------------------------------------------------------------------

    def _tensor(self, x) -> torch.Tensor:
        return torch.as_tensor(x).to(**self.tensor_kwargs)

    def sample(self, seed_offset: int = 0) -> TrainingPoints:
        cfg, domain = self.config, self.problem.domain
        seed = cfg.seed + seed_offset
        interior = self._tensor(domain.sample_interior(cfg.interior_points, method=cfg.sampling, seed=seed))
        conditions = [c.sample(domain, cfg.boundary_points, cfg.sampling, seed + 1 + i).to(**self.tensor_kwargs)
                      for i, c in enumerate(self.problem.conditions)]
        return TrainingPoints(interior, conditions)

    def _evaluation_set(self):
        if not self.problem.has_solution():
            return None, None
        points, _ = evaluation_points(self.problem.domain, target=10_000)
        x = self._tensor(points)
        return x, self.problem.solution_values(x).detach()

    def resample(self) -> None:
        """New interior points: plain, RAD (density ~ |R|) or RAR (add the worst candidates)."""
        cfg = self.config
        offset = 1000 + self.step
        if cfg.adaptive is None:
            self.points.interior = self.sample(offset).interior
            return
        domain = self.problem.domain
        candidates = self._tensor(domain.sample_interior(10 * cfg.interior_points, method="uniform",
                                                         seed=cfg.seed + offset))
        with torch.enable_grad():
            residual = sum(r.detach().pow(2).sum(1) for r in self._residuals(candidates)).sqrt()  # (M,)
        if cfg.adaptive == "rad":  # Wu et al. 2023: p ~ |R| / mean|R| + 1
            weights = (residual / residual.mean().clamp_min(1e-300) + 1).cpu().numpy()
            pick = self.rng.choice(len(weights), cfg.interior_points, replace=False, p=weights / weights.sum())
            self.points.interior = candidates[torch.as_tensor(pick)]
        else:
            worst = residual.topk(max(1, cfg.interior_points // 10)).indices
            self.points.interior = torch.cat([self.points.interior, candidates[worst]])

    # -- loss -----------------------------------------------------------------------------------------

    def _residuals(self, x):
        return self.problem.residuals(self.model, x, self.config.derivatives, self.parameters)

    def loss_terms(self) -> dict[str, torch.Tensor]:
        """Every named loss term (unweighted mean squares)."""
        residuals = self._residuals(self.points.interior)
        losses = ([r.pow(2).mean() for r in residuals] if self.causal is None
                  else self.causal.losses(residuals, self.points.interior))
        terms = dict(zip(self.problem.residual_names(len(residuals)), losses))
        for condition, points in zip(self.problem.conditions, self.points.conditions):
            r = self.problem.condition_residual(condition, self.model, points, self.config.derivatives)
            terms[condition.term] = r.pow(2).mean()
        return terms

    def total(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        weights = {**self.problem.weights, **self.config.weights}
        unknown = set(weights) - set(terms)
        if unknown:
            raise ValueError(f"loss weights for unknown terms {sorted(unknown)}. Pick from {sorted(terms)}")
        return sum(weights.get(name, 1.0) * value for name, value in terms.items())

    # -- stages ---------------------------------------------------------------------------------------

    def trainable(self) -> list[nn.Parameter]:
        return list(self.model.parameters()) + list(self.parameters.values())

    def make_optimizer(self, stage: Stage, previous: torch.optim.Optimizer | None):
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
        if stage.grid is not None and hasattr(self.model, "refine") and stage.grid != self.model.grid:
            self.model.refine(stage.grid)  # models without a grid (MLP) just run the stage
        if stage.update_grid or (self.config.update_grid and (first or stage.grid is not None)):
            self.update_grid(inputs_only=first)

    def update_grid(self, inputs_only: bool = False, grow_only: bool = False) -> None:
        """Refit grid ranges to the activations. Before any training only the input layer's:
        an untrained network's hidden activations span a sliver that training soon leaves."""
        if hasattr(self.model, "update_grid"):
            self.model.update_grid(self.points.all(), margin=self.config.grid_margin,
                                   layers=1 if inputs_only else None, grow_only=grow_only)

    def run(self) -> "Trainer":
        """Run every stage; the trained model, history and parameters stay on the trainer."""
        optimizer = None
        for index, stage in enumerate(self.config.schedule):
            self.prepare_stage(stage, first=index == 0)
            self.history.stages.append({"start": self.step, "label": stage.label(), "grid": getattr(self.model, "grid", None)})
            optimizer = self.make_optimizer(stage, optimizer)
            self.run_stage(index, stage, optimizer)
            if self.stopped:
                break
        self.record_error(self.history.steps[-1] if self.history.steps else None)
        self.elapsed = time.perf_counter() - self.start
        return self

    def learned_parameters(self) -> dict[str, float]:
        return {k: float(v.detach()) for k, v in self.parameters.items()}

    def run_stage(self, index: int, stage: Stage, optimizer) -> None:
        cfg = self.config
        from tqdm.auto import tqdm  # lazily: `import kanpde` stays light

        bar = tqdm(total=stage.steps, desc=f"[{index + 1}/{len(cfg.schedule)}] {stage.label()}",
                   disable=not cfg.verbose, leave=True, dynamic_ncols=True)
        decay = (stage.lr_final / stage.lr) ** (1 / max(stage.steps, 1)) if isinstance(stage, Adam) and stage.lr_final else None
        good = self.snapshot()  # parameters whose loss is known to be finite
        retries = 0
        done = 0
        while done < stage.steps:
            if isinstance(stage, Adam) and cfg.resample_every and done and done % cfg.resample_every == 0:
                self.resample()
            if index == 0 and isinstance(stage, Adam) and cfg.update_grid and cfg.grid_update_every \
                    and done and done % cfg.grid_update_every == 0:
                self.update_grid(grow_only=True)
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
            if any(cb(record) for cb in cfg.callbacks):
                self.stopped = True
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
                  "step_time": now - started, "iterations": iterations, **values}
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
        with torch.no_grad():
            u = self.problem.model_for_fields(self.model)(self.eval_x)
        record["rel_l2"] = relative_l2(u, self.eval_u)

    @staticmethod
    def _postfix(record: dict) -> dict:
        skip = {"step", "stage", "time", "step_time", "iterations"}
        return {k: f"{v:.2e}" for k, v in record.items() if k not in skip}
