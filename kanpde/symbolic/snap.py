"""Symbolic snapping of a trained KAN solution, layer by layer, with fine-tuning on the PDE loss.

For each layer in turn, every spline edge ``phi_io`` is sampled over the range of its
inputs on domain points and fitted with every library candidate ``c f(a x + b) + d``
(:func:`kanpde.symbolic.library.best_fit`); edges whose best fit reaches ``r2_threshold``
become that function. The whole network (snapped parameters and the splines left) is then
fine-tuned on the PDE loss, so the next layer's splines absorb what the snapping changed
(the KAN paper's workflow, sec. 2.5). Edges that fit nothing stay splines; their R^2 is
in the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from ..nn.kan import KAN
from ..train import LBFGS, TrainConfig, Trainer
from .library import EdgeFit, best_fit
from .model import SymbolicKAN


@dataclass
class SnapReport:
    """What :func:`auto_symbolic` did per edge ``(layer, in, out)``: the chosen fit (snapped or not)."""

    edges: dict[tuple[int, int, int], EdgeFit] = field(default_factory=dict)
    snapped: list[tuple[int, int, int]] = field(default_factory=list)

    def splines_left(self) -> dict[tuple[int, int, int], float]:
        """R^2 of the best fit of every edge that stayed a spline."""
        return {e: fit.r2 for e, fit in self.edges.items() if e not in self.snapped}


def _edge_samples(model: SymbolicKAN, layer: int, inputs: torch.Tensor, n: int = 201):
    """Evenly spaced inputs over the range seen by each input of ``layer`` and the edges there."""
    lo, hi = inputs.min(0).values, inputs.max(0).values
    t = torch.linspace(0, 1, n, dtype=inputs.dtype, device=inputs.device).unsqueeze(1)
    x = lo + t * (hi - lo)                                               # (n, in)
    with torch.no_grad():
        return x, model.edge_values(layer, x)                            # (n, in), (n, in, out)


def same_kind(solution, model, trainer=None):
    """A solution of ``solution``'s own class holding ``model`` (symbolic sits below io: it never imports Solution)."""
    history, parameters, elapsed = ((trainer.history, trainer.learned_parameters(), trainer.elapsed) if trainer
                                    else (solution.history, solution.parameters, solution.elapsed))
    return type(solution)(solution.problem, model, history, solution.config, parameters, elapsed)


def fine_tune(solution, model: SymbolicKAN, steps: int, verbose: bool):
    """``steps`` L-BFGS iterations of ``model`` on the solution's PDE loss, with its training points."""
    keep = {k: v for k, v in solution.config.items()
            if k in ("interior_points", "boundary_points", "sampling", "seed", "weights")}
    config = TrainConfig(**keep, schedule=[LBFGS(steps)], update_grid=False, verbose=verbose,
                         dtype=next(model.parameters()).dtype)
    trainer = Trainer(solution.problem, model, config).run()
    return same_kind(solution, model, trainer)


def auto_symbolic(solution, library=None, r2_threshold: float = 0.999, weight_simple: float = 0.8,
                  fine_tune_steps: int = 200, points: int = 2000, verbose: bool = True) -> tuple[object, SnapReport]:
    """Snap a KAN solution's edges to library functions, layer by layer, fine-tuning after each.

    Args:
        solution: a :class:`Solution` of a :class:`kanpde.KAN` (or of a :class:`SymbolicKAN`
            to snap what is left).
        library: candidate functions (names or :class:`~kanpde.symbolic.library.Candidate`);
            default all of :data:`~kanpde.symbolic.library.LIBRARY`.
        r2_threshold: an edge is snapped when its best fit reaches this R^2.
        weight_simple: weight of complexity against accuracy in the ranking.
        fine_tune_steps: L-BFGS iterations on the PDE loss after each layer (0: none).
        points: domain points on which the layers' input ranges are measured.

    Returns:
        ``(solution of the SymbolicKAN, SnapReport)``.

    Raises:
        TypeError: a solution whose network is not a KAN.
    """
    if not all(hasattr(solution, a) for a in ("network", "problem", "config")):
        raise TypeError(f"auto_symbolic needs a kanpde.Solution, got {type(solution).__name__}")
    if solution.problem is None:
        raise ValueError("auto_symbolic needs the solution's problem (to sample its domain and fine-tune)")
    network = solution.network  # snapping reads N; the formula composes the built-in transform around it
    if isinstance(network, KAN):
        model = SymbolicKAN(network, library)
    elif isinstance(network, SymbolicKAN):
        model = network
    else:
        raise TypeError(f"symbolic snapping needs a KAN solution, got a {type(network).__name__}")
    domain_points = torch.as_tensor(solution.problem.domain.sample_interior(points, method="sobol", seed=7))
    domain_points = solution.problem.network_inputs(domain_points.to(next(model.parameters())))  # (N, input_dim)
    report = SnapReport()
    current = solution
    for layer in range(len(model.layers)):
        pending = [(i, o) for i, row in enumerate(model.functions[layer]) for o, n in enumerate(row) if n is None]
        if not pending:
            continue
        with torch.no_grad():
            inputs = model.layer_inputs(domain_points)[layer]
        x, values = _edge_samples(model, layer, inputs)
        for i, o in tqdm(pending, desc=f"snap layer {layer}", disable=not verbose, leave=False):
            best, _ = best_fit(x[:, i].cpu().numpy(), values[:, i, o].cpu().numpy(), model.library,
                               weight_simple=weight_simple, r2_threshold=r2_threshold)
            report.edges[(layer, i, o)] = best
            if best.r2 >= r2_threshold:
                model.set_function(layer, i, o, best)
                report.snapped.append((layer, i, o))
        if fine_tune_steps:
            current = fine_tune(solution, model, fine_tune_steps, verbose)
    if current is solution:
        current = same_kind(solution, model)
    return current, report
