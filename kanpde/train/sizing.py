"""The default training size, chosen from the model's size: the rule behind ``kp.TrainConfig()``.

A :class:`~kanpde.train.config.TrainConfig` field left at its default holds a :class:`Sized`
value (an ``int`` or a ``list`` subclass, so it reads like the plain value). ``kp.solve`` replaces
those, and only those, by :func:`sized`: an explicit value always wins, also through
``dataclasses.replace``. The rule, for a KAN with ``E`` edges and spline order ``k``:

- final grid: the finest of 40 and 80 whose spline coefficients ``E * (G + k)`` stay within
  :data:`COEFFICIENT_BUDGET` (a Levenberg-Marquardt iteration's dense solve costs the cube of
  the parameter count, so a wider or deeper network stops at 40); the schedule refines
  5 -> 10 -> 20 -> 40 (-> 80);
- interior points: at least :data:`POINTS_PER_COEFFICIENT` per coefficient at the final grid, and
  at least 3000 (between collocation points a KAN with more coefficients than residuals fits the
  residual and misses the solution: poisson2d at grid 80 with 3000 points 2.1e-6, with 4000 6.3e-7);
- boundary points per condition: 400, scaled by the same factor as the interior points.

A [2, 10, 1] KAN: grid 80, 5000 interior points. [3, 10, 1]: grid 40, 3500 points. A model
without a grid (an MLP): the L-BFGS/LM schedule on its parameters, ``max(3000, 2 P)`` points.
"""

from __future__ import annotations

import dataclasses
import math

import torch
from torch import nn

from .. import memory
from ..nn.kan import KAN
from ..pde.constraints import soft_reasons
from .options import TimeMarching
from .stages import default_schedule

COEFFICIENT_BUDGET = 3000
POINTS_PER_COEFFICIENT = 2
BASE_POINTS, BASE_BOUNDARY = 3000, 400
FINAL_GRIDS = (80, 40)  # finest first; 40 is the floor

__all__ = ["Sized", "SizedInt", "SizedSchedule", "final_grid", "sized", "training_size"]


class Sized:
    """Marks a TrainConfig value the user did not give: :func:`sized` may replace it."""


class SizedInt(int, Sized):
    """An int default of TrainConfig (``interior_points``, ``boundary_points``)."""


class SizedSchedule(list, Sized):
    """The default schedule of TrainConfig (a list of stages)."""


def _edges(model: nn.Module) -> int | None:
    widths = getattr(model, "widths", None)
    if getattr(model, "grid", None) is None or widths is None:
        return None
    return sum(a * b for a, b in zip(widths[:-1], widths[1:]))


def final_grid(model: nn.Module) -> int | None:
    """The default schedule's last grid for ``model`` (None for a model without a spline grid)."""
    edges = _edges(model)
    if edges is None:
        return None
    widths = list(model.widths)  # as if one output: a system's extra outputs must not coarsen its grid
    edges = sum(a * b for a, b in zip([*widths[:-1], 1][:-1], [*widths[:-1], 1][1:]))
    k = getattr(model, "k", 3)
    return next((g for g in FINAL_GRIDS if edges * (g + k) <= COEFFICIENT_BUDGET), FINAL_GRIDS[-1])


def training_size(model: nn.Module, grid: int | None = None) -> tuple[int, int, int | None]:
    """``(interior_points, boundary_points, final_grid)`` of the default configuration for ``model``
    (its points for a schedule ending on ``grid`` where given)."""
    grid = final_grid(model) if grid is None else grid
    edges = _edges(model)
    if edges is None:
        coefficients = sum(p.numel() for p in model.parameters())
    else:
        coefficients = edges * (grid + getattr(model, "k", 3))
    interior = max(BASE_POINTS, 500 * math.ceil(POINTS_PER_COEFFICIENT * coefficients / 500))
    boundary = int(round(BASE_BOUNDARY * interior / BASE_POINTS))
    return interior, boundary, grid


def _last_grid(schedule, model: nn.Module) -> int | None:
    """The finest grid an explicit schedule reaches (the model's own where no stage sets one)."""
    return max([s.grid for s in schedule if getattr(s, "grid", None)] + [getattr(model, "grid", None) or 0]) or None


def sized(config, model: nn.Module):
    """``config`` with its defaulted (:class:`Sized`) fields sized to ``model``; given fields kept.

    Points follow the final grid: the default schedule's for ``model``, or the finest grid of an
    explicit schedule.
    """
    grid = None if isinstance(config.schedule, Sized) else _last_grid(config.schedule, model)
    interior, boundary, grid = training_size(model, grid)
    changes = {}
    if isinstance(config.interior_points, Sized):
        changes["interior_points"] = SizedInt(interior)
    if isinstance(config.boundary_points, Sized):
        changes["boundary_points"] = SizedInt(boundary)
    if isinstance(config.schedule, Sized):
        changes["schedule"] = SizedSchedule(default_schedule(final_grid=grid or 40))
    return dataclasses.replace(config, **changes) if changes else config


# ---------------------------------------------------------------------------------- the automatic path
#
# kp.solve(problem) with no model and no config: everything below reads the problem (dimension, outputs,
# domain kind, conditions, time axis, the frequency content of its data) and returns the model, the
# config and the decisions, recorded in the Solution's config and summary.json.

AUTO_GRIDS = (5, 10, 20, 40, 80, 120, 160)        # the grid ladder; the final grid is chosen from it
AUTO_LM_STEPS = {5: 15, 10: 15, 20: 20, 40: 10, 80: 12, 120: 8, 160: 8}
INTERVALS_PER_WAVELENGTH = 25  # knots per wavelength of the finest axis (helmholtz2d: 4 wavelengths -> grid 120)
GRID_SLACK = 1.1  # a ladder grid within 10 % of the wanted knots per wavelength is taken
POINTS_PER_AXIS = {1: 400, 2: 70, 3: 20}           # interior points per wavelength and axis, by dimension
MAX_AUTO_POINTS = 40_000
FLOPS_PER_SECOND = 3e10  # dense-BLAS rate per thread for the estimate (measured: J^T J of Kovasznay's grid-40
                         # J, 1.4e11 multiply-adds, 6.2 CPU s = 4.6e10 flop/s per thread; the whole 9000-point
                         # plan, estimated 5097 thread-seconds at 4e9, took 342 CPU seconds)
MARCHING_WINDOWS = 4                              # time windows of a nonlinear evolution
MEMORY_FRACTION = 0.8                             # of the machine's memory a run may plan to use


class _Probe(nn.Module):
    """A fixed field ``u(x) = fn(x)`` for every output (``fn`` None: u = 0), to read the problem's operator."""

    def __init__(self, in_dim: int, out_dim: int, fn=None):
        super().__init__()
        self.in_dim, self.out_dim, self.fn = in_dim, out_dim, fn

    def forward(self, x):
        zero = x[:, :1].repeat(1, self.out_dim) * 0.0  # (N, out), still a function of x for autograd
        return zero if self.fn is None else zero + self.fn(x)


def _probe(problem, x, fn=None):
    """The PDE residuals of the soft problem (nothing built in) for the probe field ``fn``, stacked ``(N, r)``.
    At u = 0 they are the data (forcing) the solution must answer."""

    net = _Probe(problem.input_dim, len(problem.outputs), fn).to(x.dtype)
    parameters = {k: torch.tensor([[v]], dtype=x.dtype) for k, v in problem.parameters.items()} or None
    with torch.enable_grad():
        out = problem.residuals(net, x.clone().requires_grad_(True), backend="autograd", parameters=parameters)
    return torch.cat([r.detach() for r in out], dim=1)  # (N, r)


def _operator_wavenumber(problem, x) -> float:
    """omega of an operator like ``Laplacian u + omega^2 u``, from three probes of the linear response:
    c = r(1) - r(0) (the zeroth-order coefficient) and, with q = |x|^2 / 2, l = r(q) - r(0) - c q (the
    Laplacian's part, D for the Laplacian). omega^2 = D c / l where c and l share their sign (a wave); else 0
    (Poisson: c = 0; a reaction ``- k u``: opposite signs, a decay, not a wave)."""
    spatial = list(problem.domain.spatial_axes)
    q = (x[:, spatial] ** 2).sum(1, keepdim=True) / 2                      # (N, 1)
    base = _probe(problem, x)
    c = _probe(problem, x, lambda y: 1.0) - base                            # (N, r)
    l = _probe(problem, x, lambda y: (y[:, spatial] ** 2).sum(1, keepdim=True) / 2) - base - c * q
    c, l = float(c.mean()), float(l.mean())
    if abs(l) < 1e-12 or c / l <= 0:
        return 0.0
    return math.sqrt(len(spatial) * c / l)


def _data_values(problem, x):
    """The problem's data at interior points ``(N, r)``: the forcing (residual at u = 0) and the values of the
    conditions given as functions (their extension inside: boundary data often are the exact solution)."""
    from ..pde.conditions import evaluate_value

    columns = [_probe(problem, x)]
    for condition in problem.all_conditions:
        value = getattr(condition, "value", None)
        if callable(value):
            try:
                columns.append(evaluate_value(value, x, len(problem.outputs)).detach())
            except Exception:  # a user function that only works on its side: its data are not read
                continue
    columns = [c - c.mean(0) for c in columns]  # a constant carries no frequency
    return torch.cat([c / c.pow(2).mean().clamp_min(1e-300).sqrt() for c in columns], dim=1)  # (N, r), unit RMS


def wavelengths(problem, n: int = 2000, seed: int = 0) -> list[float]:
    """Wavelengths per axis of the problem, ``L_i * omega_i / (2 pi)``: the larger of the data's,

        omega_i^2 = max_j mean((d f_j / d x_i)^2) / mean(f_j^2)

    over the forcing and the condition data f_j (:func:`_data_values`, central differences; exact for
    f = sin(omega . x)), and the operator's own wave number on the spatial axes (:func:`_operator_wavenumber`,
    Helmholtz' k).
    """
    import numpy as np

    problem = problem.soft()
    lo, hi = (np.asarray(b, dtype=float) for b in problem.domain.bounds)
    x = torch.as_tensor(problem.domain.sample_interior(n, seed=seed), dtype=torch.float64)  # (n, D)
    f = _data_values(problem, x)  # (n, r)
    power = f.pow(2).mean(0)      # (r,)
    k = _operator_wavenumber(problem, x)
    out = []
    for axis, span in enumerate(hi - lo):
        h = 1e-4 * max(span, 1e-12)
        step = torch.zeros(x.shape[1], dtype=x.dtype)
        step[axis] = h
        df = (_data_values(problem, x + step) - _data_values(problem, x - step)) / (2 * h)  # (n, r)
        ratio = torch.where(power > 1e-20, df.pow(2).mean(0) / power.clamp_min(1e-300), torch.zeros_like(power))
        omega = math.sqrt(float(ratio.max())) if len(ratio) else 0.0
        omega = max(omega if math.isfinite(omega) else 0.0, k if axis in problem.domain.spatial_axes else 0.0)
        out.append(float(span * omega / (2 * math.pi)))
    return out


def _is_nonlinear(problem, seed: int = 0) -> bool:
    """Whether r(a + b) differs from r(a) + r(b) - r(0) for two random smooth fields a, b."""

    problem = problem.soft()
    gen = torch.Generator().manual_seed(seed)
    x = torch.as_tensor(problem.domain.sample_interior(256, seed=seed), dtype=torch.float64)
    wa, wb = (torch.randn(x.shape[1], 1, generator=gen, dtype=torch.float64) for _ in range(2))
    both = _probe(problem, x, lambda y: torch.sin(y[:, :x.shape[1]] @ wa) + torch.sin(y[:, :x.shape[1]] @ wb))
    a = _probe(problem, x, lambda y: torch.sin(y[:, :x.shape[1]] @ wa))
    b = _probe(problem, x, lambda y: torch.sin(y[:, :x.shape[1]] @ wb))
    none = _probe(problem, x)
    scale = float(both.abs().max() + a.abs().max() + b.abs().max()) or 1.0
    return float((both - a - b + none).abs().max()) > 1e-8 * scale


def auto_widths(problem) -> list[int]:
    """``[inputs, 10, outputs]``: one hidden layer of 10 nodes, whatever the number of outputs (a wider layer for
    a system costs LM iterations a parameter count squared; the grid carries the resolution)."""
    return [problem.input_dim, 10, len(problem.outputs)]


def auto_final_grid(widths: list[int], waves: list[float], k: int = 3, windows: int = 1) -> int:
    """The final grid: the budget's (:func:`final_grid` of the one-output network, so more outputs never
    mean a coarser grid), raised to :data:`INTERVALS_PER_WAVELENGTH` knots per wavelength of the most
    oscillatory axis, from the ladder :data:`AUTO_GRIDS` (at most 160). Time marching trains ``windows``
    networks in turn, so each gets ``1 / windows`` of the coefficient budget (``waves`` are then the
    wavelengths within one window)."""
    scalar = [*widths[:-1], 1]
    edges = sum(a * b for a, b in zip(scalar[:-1], scalar[1:]))
    budget = next((g for g in FINAL_GRIDS if edges * (g + k) <= COEFFICIENT_BUDGET / windows), FINAL_GRIDS[-1])
    wanted = INTERVALS_PER_WAVELENGTH * max(waves, default=0.0) / GRID_SLACK  # about 25: 1.6 waves take grid 40
    return next((g for g in AUTO_GRIDS if g >= max(budget, wanted)), AUTO_GRIDS[-1])


def auto_points(dim: int, waves: list[float], coefficients: int, windows: int = 1) -> int:
    """Interior points: ``prod_i n_D * max(1, w_i)`` over the spatial-temporal axes (n_D from
    :data:`POINTS_PER_AXIS`), split among ``windows`` time windows (each holds its share of the time axis),
    at least two per coefficient and 3000, at most 40 000, in 500s.

    A system's point gives one row of J per residual, but its points are not shared among them (the rows an LM
    iteration costs stay ``residuals`` times the points): Kovasznay ([2, 10, 3] KAN to grid 80, 4263 parameters,
    seed 0): 9000 points (6.6 rows of J per parameter) u 1.1e-5, v 4.4e-5, p 6.0e-5 in 342 CPU seconds;
    6000 points (4.4) and 3000 points (2.2) overfit at grid 80 (rel L2 1.2e-4 -> 3.0e-4 and 1.1e-4 -> 6.0e-4 from
    grid 40 to 80) and end at v 1.6e-4, p 3.8e-4 (230 CPU s) and v 2.2e-4, p 5.0e-4 (164 CPU s).
    """
    per_axis = POINTS_PER_AXIS.get(dim, 0)
    resolved = math.prod(per_axis * max(1.0, w) for w in waves) / windows if per_axis else 0
    points = max(BASE_POINTS, POINTS_PER_COEFFICIENT * coefficients, resolved)
    return int(min(MAX_AUTO_POINTS, 500 * math.ceil(points / 500)))


def auto_schedule(final: int, lm: bool = True) -> list:
    """Adam 100, then LM on the ladder up to ``final`` and one Galerkin iteration."""
    from .stages import LM, Adam
    from .options import Galerkin

    stages = [Adam(100, lr=1e-2)] + [LM(AUTO_LM_STEPS[g], grid=g) for g in AUTO_GRIDS if g <= final]
    return stages + [LM(1, galerkin=Galerkin())]


def estimate(widths: list[int], final: int, points: int, boundary_rows: int, residuals: int, schedule,
             k: int = 3) -> dict:
    """The run's cost, before it starts: ``parameters`` at the final grid, ``rows`` of the LM Jacobian
    (``points * residuals + boundary_rows``), ``bytes`` (the dense Jacobian and its Gram matrix, twice for
    copies) and ``seconds`` (``2 rows P^2`` flops per LM iteration and ``20 rows P`` per Adam step at
    :data:`FLOPS_PER_SECOND` per thread, on the grid each stage trains)."""

    edges = sum(a * b for a, b in zip(widths[:-1], widths[1:]))
    rows = points * residuals + boundary_rows
    parameters = edges * (final + k + 1)
    memory = 8 * 2 * (rows * parameters + parameters**2)
    grid, flops = 5, 0.0
    for stage in schedule:
        grid = getattr(stage, "grid", None) or grid
        p = edges * (grid + k + 1)
        flops += stage.steps * (2 * rows * p * p if type(stage).__name__ == "LM" else 20 * rows * p)
    threads = max(1, torch.get_num_threads())
    return {"parameters": int(parameters), "rows": int(rows), "bytes": int(memory),
            "seconds": round(flops / (FLOPS_PER_SECOND * threads), 1)}


def auto_plan(problem, model, config):
    """``(model, config, decisions)`` for ``kp.solve(problem)``: what is not given is chosen from the problem.

    Args:
        problem: the :class:`~kanpde.Problem`, read through probes of its residual (forcing, operator wave
            number, nonlinearity) and its domain (dimension, time axis) and outputs.
        model: None (a ``[inputs, 10, outputs]`` KAN is built) or the user's model (its widths kept).
        config: a :class:`~kanpde.TrainConfig`; its :class:`Sized` (defaulted) fields are planned.

    Returns:
        ``(model, config, decisions)``: ``decisions`` is JSON-ready (widths, grids, points, wavelengths,
        nonlinearity, windows, what is built in, the time and memory estimate, which fields were chosen).

    Raises:
        ValueError: the planned run needs more memory than :data:`MEMORY_FRACTION` of the machine's.
    """

    waves = wavelengths(problem, seed=config.seed)
    if model is None:
        widths = auto_widths(problem)
    else:
        widths = list(getattr(model, "widths", None) or [problem.input_dim, 10, len(problem.outputs)])
    has_grid = model is None or getattr(model, "grid", None) is not None
    space_time = problem.domain.time_axis is not None
    nonlinear = _is_nonlinear(problem, config.seed)
    marching = (space_time and nonlinear and config.marching is None and config.causal is None
                and not problem.params)
    windows = MARCHING_WINDOWS if marching else 1
    window_waves = [w / windows if axis == problem.domain.time_axis else w for axis, w in enumerate(waves)]
    final = auto_final_grid(widths, window_waves, windows=windows) if has_grid else None
    built = model is None
    if built:
        model = KAN(widths, grid=5, k=3, seed=config.seed)
    k = getattr(model, "k", 3)
    edges = sum(a * b for a, b in zip(widths[:-1], widths[1:]))
    coefficients = edges * ((final or 40) + k)
    residuals = _probe(problem.soft(), torch_points(problem, 4)).shape[1]  # rows of J per interior point
    changes = {}
    if isinstance(config.schedule, Sized) and has_grid:  # a model without a grid keeps TrainConfig's sizing
        changes["schedule"] = auto_schedule(final)
    if isinstance(config.interior_points, Sized) and has_grid:
        changes["interior_points"] = auto_points(problem.domain.dim, waves, coefficients, windows)
    points = changes.get("interior_points", config.interior_points)
    if isinstance(config.boundary_points, Sized) and has_grid:
        changes["boundary_points"] = int(min(4000, max(BASE_BOUNDARY, round(math.sqrt(points) * 6))))
    if marching:  # a nonlinear evolution: windows in turn
        changes["marching"] = TimeMarching(windows=MARCHING_WINDOWS, keep_best=True, warm_start=False)
    config = dataclasses.replace(config, **changes) if changes else config
    boundary_rows = config.boundary_points * len(problem.conditions) * len(problem.outputs)
    cost = estimate(widths, final or 0, config.interior_points, boundary_rows, residuals, config.schedule, k)
    cost["seconds"] = round(cost["seconds"] * windows, 1)  # every window runs the schedule
    limit = MEMORY_FRACTION * memory.available_bytes(config.device)
    if cost["bytes"] > limit:
        raise ValueError(f"the automatic plan for problem {problem.name!r} ({widths} KAN to grid {final}, "
                         f"{config.interior_points} points) needs about {memory.human(cost['bytes'])} but the "
                         f"{config.device} device has {memory.human(memory.available_bytes(config.device))}; give a smaller "
                         "kp.TrainConfig(interior_points=..., schedule=...) or a smaller model")
    decisions = {"widths": widths, "final_grid": final, "grids": [s.grid for s in config.schedule if getattr(s, "grid", None)],
                 "interior_points": config.interior_points, "boundary_points": config.boundary_points,
                 "wavelengths": [round(w, 3) for w in waves], "nonlinear": nonlinear,
                 "windows": config.marching.windows if config.marching is not None else 1,
                 "domain": type(problem.domain).__name__, "outputs": list(problem.outputs),
                 "built_in": list(problem.built_in), "soft_terms": list(problem.terms),
                 "soft_dirichlet": soft_reasons(problem.domain, problem.conditions),
                 "estimate_seconds": cost["seconds"], "estimate_bytes": cost["bytes"],
                 "parameters": cost["parameters"], "chosen": sorted(changes) + (["model"] if built else [])}
    return model, config, decisions


def torch_points(problem, n: int):
    """``n`` interior points of the problem's domain as a float64 tensor ``(n, D)``."""

    return torch.as_tensor(problem.domain.sample_interior(n, seed=0), dtype=torch.float64)


def describe(decisions: dict) -> str:
    """The decisions in one line."""
    d = decisions
    grids = "->".join(str(g) for g in d["grids"]) or "-"
    waves = ",".join(f"{w:.2g}" for w in d["wavelengths"])
    return (f"kanpde auto: KAN {d['widths']}, grids {grids}, {d['interior_points']} points "
            f"(+{d['boundary_points']} per condition), wavelengths per axis [{waves}], "
            f"{'nonlinear' if d['nonlinear'] else 'linear'}, windows {d['windows']}, built in {d['built_in'] or '-'}"
            + "".join(f", {label} soft: {why}" for label, why in d.get("soft_dirichlet", {}).items()) + "; "
            f"estimate {d['parameters']} parameters, ~{d['estimate_bytes'] / 2**20:.0f} MiB, "
            f"~{d['estimate_seconds']:.0f} s")
