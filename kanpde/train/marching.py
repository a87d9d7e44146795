"""Time marching (sequence-to-sequence training): one time window after another.

The interval ``[t0, t1]`` is cut into K equal windows (or, with ``TimeMarching(tolerance=)``, windows
whose lengths adapt to a held-out residual, like an ODE solver's steps). Window k is trained as its
own problem on ``[t_k, t_{k+1} + overlap (t_{k+1} - t_k)]`` (clipped to t1) with the
full schedule, its initial data taken exactly from window k-1 (see
:mod:`kanpde.pde.windows`), its network optionally warm-started from window k-1's.
The windows are stitched into one model, :class:`kanpde.pde.windows.TimeWindows`,
that uses window k on ``[t_k, t_{k+1})``.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import time

import numpy as np
from torch import nn

from ..geometry.domains import SpaceTime, TimeInterval
from ..pde.problem import Problem
from ..pde.windows import TimeWindows, WindowPlan, initial_data, initial_order, window_conditions, window_plan
from .best import BestModel, validation_points
from .history import History
from .options import TimeMarching
from .residuals import plain_loss
from .trainer import Trainer


def check_marching(problem: Problem) -> int:
    """The problem's order in time (1 or 2).

    Raises:
        ValueError: no space-time domain, no Initial condition (built in or not), or a custom
            ``transform=`` (the windows carry their own output transform).
    """
    if problem.params:  # the windows rebuild the problem on a sub-interval of time: not for a family yet
        raise ValueError(f"time marching does not take a family (params={tuple(problem.params)}) yet; train it "
                         "in one window (TrainConfig(marching=None)) or causal=kp.Causal()")
    if not isinstance(problem.domain, SpaceTime):
        raise ValueError(f"time marching needs a space-time domain (space * TimeInterval), got {problem.domain!r}")
    if problem.transform is not None:
        raise ValueError("time marching builds its own output transform (exact initial data per window); "
                         "give the problem without transform=")
    order = initial_order(problem.all_conditions)
    if order not in (1, 2):
        raise ValueError(f"time marching needs Initial conditions of derivative order 0 (and 1), "
                         f"problem {problem.name!r} has order {order}")
    initial_data(problem.all_conditions, order)  # one per derivative, on all components
    return order


def window_problem(problem: Problem, start: float, end: float, plan: WindowPlan | None = None) -> Problem:
    """The problem on ``[start, end]`` without what the windows build in (the Initial conditions,
    what ``plan`` names and the ``features=`` inputs); every other condition is a loss term (a
    ``hard=False`` copy)."""
    plan = plan if plan is not None else window_plan(problem)
    domain = problem.domain
    sub = SpaceTime(domain.spatial, TimeInterval(start, end, name=domain.names[domain.time_axis]))
    return Problem(sub, problem.pde, window_conditions(problem, plan), problem.exact, reference=problem.reference,
                   name=problem.name, outputs=problem.outputs, parameters=problem.parameters, weights=problem.weights,
                   known=problem.known)


def _merge(history: History, part: History, window: int) -> None:
    """Append a window's history, with steps counted on from the previous windows'."""
    offset = history.steps[-1]["step"] if history.steps else 0
    stage_offset = len(history.stages)
    history.steps += [{**r, "step": r["step"] + offset, "stage": r["stage"] + stage_offset, "window": window}
                      for r in part.steps]
    history.stages += [{**s, "start": s["start"] + offset, "label": f"window {window + 1}: {s['label']}"}
                       for s in part.stages]
    history.causal += [{**c, "step": c["step"] + offset, "window": window} for c in part.causal]


def _copy_network(window) -> tuple:
    """What a window trains (its net, and the embedding around it), copied; the earlier windows are not."""
    return copy.deepcopy((window.net, window.inner))


def _restore_network(window, state: tuple) -> None:
    window.net, window.inner = state


class _Watched:
    """Mixin for the window trainer under ``keep_best``: scores the model at the end of every stage
    (before the next one refines or refits it) besides the callback's per-step scores."""

    def run_stage(self, *args, **kwargs):
        super().run_stage(*args, **kwargs)
        self.best.consider(self.history.steps[-1] if self.history.steps else None)


@functools.cache
def _watched_class(trainer_class: type) -> type:
    return type(f"Watched{trainer_class.__name__}", (_Watched, trainer_class), {})


def _window_trainer(trainer_class: type, problem: Problem, window, config, keep_best: bool):
    """The window's trainer; with ``keep_best`` a :class:`BestModel` watches it (stage ends and a callback)."""
    if not keep_best:
        return trainer_class(problem, window, config)
    keeper = []
    watched = dataclasses.replace(config, callbacks=(*config.callbacks, lambda record: keeper[0](record)))
    trainer = _watched_class(trainer_class)(problem, window, watched)
    keeper.append(BestModel(trainer, _copy_network, _restore_network))
    trainer.best = keeper[0]
    return trainer


def _keep_best(trainer) -> None:
    """Put the window's best model back; its last stage record says which step it was and its score."""
    best = trainer.best
    restored = best.restore()
    if trainer.history.stages:
        trainer.history.stages[-1].update({"kept_step": best.step, "validation": best.best,
                                           "final_validation": best.current, "restored": restored})


GROW_BELOW = 1 / 32  # a window this far under the tolerance lets the next one double: halving a window cut
# its held-out residual 40x on burgers1d's shock formation (t in [0.3125, 0.375], exact initial data:
# 8.0e-5 on the whole window, 1.8e-6 on its first half), so doubling one under tolerance / 32 stays near it


def march(problem: Problem, model: nn.Module, config) -> tuple[TimeWindows, History, dict[str, float], float]:
    """Train the windows of ``config.marching`` in order.

    With ``TimeMarching(tolerance=)`` the window lengths adapt: a window whose held-out residual stays above
    the tolerance is trained again on half its length (:data:`GROW_BELOW` sets when the next one doubles).

    Returns:
        ``(stitched model, merged history, learned parameters, seconds)``; the history's rows
        carry ``window``, its stages the windows' ``span`` and (adaptive) ``tries``.
    """
    spec: TimeMarching = config.marching
    order = check_marching(problem)
    data = initial_data(problem.all_conditions, order)
    plan = window_plan(problem)
    t0, t1, axis = problem.domain.t0, problem.domain.t1, problem.domain.time_axis
    first = (t1 - t0) / spec.windows
    per_window = dataclasses.replace(config, marching=None)
    untrained = copy.deepcopy(model)
    history, windows, edges, parameters, clock = History(), [], [t0], {}, time.perf_counter()
    net, length, tries, slack = model, first, 0, 1e-9 * (t1 - t0)  # slack: no sliver window from round-off
    while edges[-1] < t1 - slack:
        start = edges[-1]
        stop = t1 if start + length > t1 - slack else start + length
        end = min(t1, stop + spec.overlap * (stop - start))
        window = plan.window(copy.deepcopy(net) if spec.tolerance else net, start, axis, order,
                             previous=windows[-1] if windows else None, data=None if windows else data)
        trainer = _window_trainer(Trainer, window_problem(problem, start, end, plan), window, per_window,
                                  spec.keep_best)
        trainer.run()
        if spec.keep_best:
            _keep_best(trainer)
        window.clear_cache()  # its training point sets will not come again
        tries += 1
        score = _score(trainer, spec) if spec.tolerance else None
        if _retry(spec, score, stop - start, first) and not trainer.stopped:
            length = (stop - start) / 2  # not met: the same start again, half as far (a last window may be short)
            if config.verbose:
                print(f"window [{start:.4g}, {stop:.4g}]: held-out residual {score:.2e} above the tolerance "
                      f"{spec.tolerance:.0e}; again on [{start:.4g}, {start + length:.4g}]", flush=True)
            continue
        _merge(history, trainer.history, len(windows))
        if history.stages:
            history.stages[-1].update({"span": [start, stop], "tries": tries})
        parameters = trainer.learned_parameters()
        windows.append(window)
        edges.append(stop)
        if trainer.stopped:
            break
        if score is not None and score < GROW_BELOW * spec.tolerance:
            length = min(first, 2 * length)
        net, tries = copy.deepcopy(window.net if spec.warm_start else untrained), 0
    stitched = TimeWindows(windows, edges[:-1] + [t1], axis)
    return stitched, history, parameters, time.perf_counter() - clock


def _retry(spec: TimeMarching, score: float | None, span: float, first: float) -> bool:
    """Whether an adaptive window of length ``span`` missed the tolerance and may still be halved."""
    return score is not None and score > spec.tolerance and span > 1.5 * first / 2 ** spec.max_halvings


def _score(trainer, spec: TimeMarching) -> float:
    """The window's held-out residual: its kept model's validation loss, or the final model's."""
    if spec.keep_best:
        return trainer.best.best
    return plain_loss(trainer, validation_points(trainer))
