"""The KAN beside classical baselines at equal accuracy and equal time: ``kp.compare``.

Each method gives a *row*: a list of rungs ``{"resolution", "h", "dofs", "seconds", "rel_l2", "max_abs"}``
(``h`` the largest grid spacing or mesh edge).

* ``kan``: the KAN's training curve (its history: error against training time; ``dofs`` is the
  number of parameters), the last rung its final errors on the dense evaluation set;
* ``fd2`` / ``fd4``: finite differences on boxes, grids of ``n = 4, 8, 16, ...`` intervals per axis
  (stationary: :func:`kanpde.fd.elliptic`, DST solve, any dimension; parabolic: the method of lines,
  :func:`kanpde.fd.method_of_lines`); errors at the grid nodes (final time level);
* ``fem_p1`` / ``fem_p2``: scikit-fem P1/P2 on meshes of longest edge ``h = size / 2^k``
  (:func:`kanpde.fem.solve_linear`), stationary 2-D/3-D; ``rel_l2`` by quadrature, ``max_abs`` at the dofs;
* ``spectral``: Chebyshev collocation of degree ``n = 4, 6, 8, 12, 16, ...`` on boxes up to 3-D
  (:func:`kanpde.spectral.solve_linear`); errors on the dense evaluation set.

A ladder climbs until its error reaches ``target`` (default: the KAN's final error or ``FLOOR`` = 1e-10,
whichever is smaller), until the next rung would pass ``max_dofs`` unknowns or is
predicted to take more than ``rung_seconds``, or (spectral) until the error stops falling (round-off).
Baselines read the problem's :class:`kanpde.fd.Linear` description (a problem module's ``baseline()``).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable

import numpy as np
import torch

from .fd import Linear, _evaluate, elliptic, method_of_lines, second_difference
from .io.plotting import _figure, save_figure
from .pde.metrics import evaluation_points
from .pde.problem import Problem

__all__ = ["compare", "ladder", "ladders", "observed_order", "reach_table", "format_table", "plot_compare", "METHODS",
           "THRESHOLDS"]

METHODS = ("kan", "fd2", "fd4", "fem_p1", "fem_p2", "spectral")
THRESHOLDS = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10)
FLOOR = 1e-10                       # ladders stop here even when the KAN is worse
_FD_SIZES = tuple(2**k for k in range(2, 14))
_SPECTRAL_SIZES = (4, 6, 8, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128)


# --------------------------------------------------------------------------- errors


def _errors(values: np.ndarray, truth: np.ndarray) -> dict:
    diff = values - truth
    norm = float(np.sqrt(np.sum(truth**2)))
    return {"rel_l2": float(np.sqrt(np.sum(diff**2)) / norm) if norm > 0 else float(np.sqrt(np.mean(diff**2))),
            "max_abs": float(np.max(np.abs(diff)))}


def _exact_at(lin: Linear, points: np.ndarray) -> np.ndarray:
    """The exact solution at spatial points (at the final time for a parabolic problem)."""
    if lin.parabolic:
        points = np.column_stack([points, np.full(len(points), float(lin.time[1]))])
    return _evaluate(lin.exact, points, "exact")


def _grid_rung(solution, lin: Linear, resolution, unknowns: int) -> dict:
    """Nodal errors of an FD solution (the final time level of a parabolic one)."""
    values = solution.values[..., -1] if lin.parabolic else solution.values
    spatial = {k: v for k, v in solution.axes.items() if k != "t"}
    grids = np.meshgrid(*spatial.values(), indexing="ij")
    points = np.stack([g.ravel() for g in grids], axis=1)
    return {"resolution": resolution, "h": solution.h, "dofs": unknowns, "seconds": solution.elapsed,
            **_errors(values.ravel(), _exact_at(lin, points))}


# --------------------------------------------------------------------------- rungs


def _fd_rung(lin: Linear, order: int) -> Callable[[int], dict]:
    lo, hi = lin.box

    def rung(n: int) -> dict:
        if lin.parabolic:
            start = time.perf_counter()
            axes = [np.linspace(a, b, n + 1) for a, b in zip(lo, hi)]
            solution = method_of_lines(lin, axes, [second_difference(x, order) for x in axes],
                                       f"fd{order}-mol", start)
        else:
            solution = elliptic(lin.f, lo, hi, n, g=lin.g, c=lin.c, order=order, names=tuple(lin.domain.names))
        return _grid_rung(solution, lin, n, (n - 1) ** len(lo))

    return rung


def _spectral_rung(lin: Linear) -> Callable[[int], dict]:
    from .spectral import solve_linear

    points, _ = evaluation_points(lin.domain)

    def rung(n: int) -> dict:
        solution = solve_linear(lin, n)
        u = solution.interpolate(points)[:, 0]
        return {"resolution": n, "h": float(np.max(np.subtract(*lin.box[::-1]))) / n,
                "dofs": (n - 1) ** lin.domain.dim, "seconds": solution.elapsed,
                **_errors(u, _exact_at(lin, points))}

    return rung


def _fem_rung(lin: Linear, order: int) -> Callable[[float], dict]:
    from .fem import _values, solve_linear

    def rung(h: float) -> dict:
        solution = solve_linear(lin, h, order)
        at_dofs = solution.basis.doflocs.T                                   # (dofs, d)
        max_abs = float(np.max(np.abs(solution.values - _values(lin.exact, at_dofs, "exact"))))
        return {"resolution": h, "h": solution.h, "dofs": solution.dofs, "seconds": solution.elapsed,
                "rel_l2": solution.l2_error(lin.exact), "max_abs": max_abs}

    return rung


def _solver_rung(fd_solution: Callable, exact: Callable) -> Callable[[int], dict]:
    """A problem's own FD solver ``fd_solution(resolution=n)`` (nonlinear or hyperbolic problems the
    :class:`Linear` form cannot describe); errors over every saved node of the space-time grid."""

    def rung(n: int) -> dict:
        solution = fd_solution(resolution=n)
        truth = _evaluate(exact, solution.points(), "exact")
        spatial = int(np.prod([len(a) for k, a in solution.axes.items() if k != "t"]))
        return {"resolution": n, "h": solution.h, "dofs": spatial, "seconds": solution.elapsed,
                **_errors(solution.values.ravel(), truth)}

    return rung


def _fem_sizes(lin: Linear) -> tuple:
    lo, hi = lin.domain.bounds
    size = float(np.max(np.asarray(hi) - np.asarray(lo)))
    return tuple(size / 2**k for k in range(1, 12))


def ladders(lin: Linear) -> dict:
    """The ladders that apply to ``lin``: method -> ``(resolutions, rung(resolution) -> dict, growth)``
    where ``growth`` predicts the next rung's unknowns from the last one's; the reasons for the others
    under ``"skipped"``."""
    out, skipped = {}, {}
    d = lin.domain.dim
    box = lin.box is not None
    if box and (not lin.parabolic or d <= 3):
        out["fd2"] = (_FD_SIZES, _fd_rung(lin, 2), 2**d)
    else:
        skipped["fd2"] = "finite differences need a box" if not box else "parabolic FD up to 3-D"
    if box and d <= 3:
        out["fd4"] = (_FD_SIZES[1:], _fd_rung(lin, 4), 2**d)
    else:
        skipped["fd4"] = "finite differences need a box" if not box else "the 4th-order (Mehrstellen) scheme is for d <= 3"
    if d in (2, 3) and not lin.parabolic:
        out["fem_p1"] = (_fem_sizes(lin), _fem_rung(lin, 1), 2**d)
        out["fem_p2"] = (_fem_sizes(lin), _fem_rung(lin, 2), 2**d)
    else:
        skipped["fem_p1"] = skipped["fem_p2"] = ("the FEM baseline is stationary" if lin.parabolic
                                                 else f"the FEM baseline meshes 2-D and 3-D domains, this is {d}-D")
    if box and d <= 3:
        out["spectral"] = (_SPECTRAL_SIZES, _spectral_rung(lin), None)
    else:
        skipped["spectral"] = "Chebyshev collocation needs a box of at most 3 dimensions"
    out["skipped"] = skipped
    return out


def ladder(rung: Callable, resolutions, *, target: float = FLOOR, max_dofs: float = 2e6,
           rung_seconds: float = 60.0, growth: float | None = None, unknowns: Callable | None = None) -> list:
    """Climb ``resolutions`` with ``rung`` until the error reaches ``target`` or the next rung would not
    fit: more than ``max_dofs`` unknowns or more than ``rung_seconds`` seconds (predicted as the last
    rung's time times ``growth^1.5``, growth the factor of unknowns), or the error stopped falling
    (two rungs without halving it: round-off).

    Args:
        rung: ``resolution -> {"resolution", "dofs", "seconds", "rel_l2", "max_abs"}``.
        resolutions: increasing refinement (grid sizes, or mesh sizes h decreasing).
        target: stop once ``rel_l2 <= target``.
        max_dofs: memory budget in unknowns.
        rung_seconds: time budget per rung.
        growth: factor of unknowns from one rung to the next (None: from ``unknowns``).
        unknowns: ``resolution -> unknowns`` when known beforehand.

    Returns:
        The rungs run, in order.
    """
    rungs: list[dict] = []
    stalled = 0
    for resolution in resolutions:
        if rungs:
            last = rungs[-1]
            grow = (unknowns(resolution) / max(last["dofs"], 1)) if unknowns else (growth or 4.0)
            if last["dofs"] * grow > max_dofs or last["seconds"] * grow**1.5 > rung_seconds:
                break
        rungs.append(_timed(rung, resolution))
        if rungs[-1]["rel_l2"] <= target:
            break
        if len(rungs) > 1 and rungs[-1]["rel_l2"] > 0.5 * min(r["rel_l2"] for r in rungs[:-1]):
            stalled += 1
            if stalled >= 2:
                break
        else:
            stalled = 0
    return rungs


def _timed(rung: Callable, resolution, repeats: int = 3, quick: float = 0.5) -> dict:
    """The rung, its time the fastest of up to ``repeats`` runs when it takes under ``quick`` seconds
    (a first call pays for imports and caches; timing the warm solve is fair to the baseline)."""
    result = rung(resolution)
    for _ in range(repeats - 1):
        if result["seconds"] >= quick:
            break
        result["seconds"] = min(result["seconds"], rung(resolution)["seconds"])
    return result


def _unknowns(method: str, lin: Linear):
    d = lin.domain.dim
    if method.startswith("fd") or method == "spectral":
        return lambda n: (n - 1) ** d
    return None


# --------------------------------------------------------------------------- the KAN


def _kan_row(solution) -> list:
    params = int(sum(p.numel() for p in solution.network.parameters()))
    rows = [{"resolution": r["step"], "h": None, "dofs": params, "seconds": float(r["time"]), "rel_l2": float(r["rel_l2"]),
             "max_abs": None} for r in solution.history.steps if "rel_l2" in r]
    final = solution.errors()
    rows.append({"resolution": rows[-1]["resolution"] if rows else 0, "h": None, "dofs": params,
                 "seconds": float(solution.elapsed), "rel_l2": float(final["rel_l2"]),
                 "max_abs": float(final["max_abs"])})
    return rows


def _quick_config():
    from .train import LM, Adam, TrainConfig

    return TrainConfig(schedule=[Adam(30), LM(6, grid=5)], interior_points=600, boundary_points=150, eval_every=2,
                       verbose=False)


def _kan_solution(problem: Problem, model, config, quick: bool, seed: int):
    from .nn.kan import KAN
    from .solve import solve
    from .train import TrainConfig

    if config is None:
        config = _quick_config() if quick else TrainConfig(verbose=False)
    grids = [s.grid for s in config.schedule if getattr(s, "grid", None)] if config.schedule else []
    if model is None:
        hidden = 5 if quick else 10
        model = KAN([problem.input_dim, hidden, len(problem.outputs)], grid=grids[0] if grids else 5, seed=seed)
    config = dataclasses.replace(config, seed=seed, eval_every=min(config.eval_every, 5))
    return solve(problem, model, config)


# --------------------------------------------------------------------------- tables


def first_time(row: list, error: float) -> float | None:
    """Seconds of the first rung with ``rel_l2 <= error`` (None: never reached)."""
    times = [r["seconds"] for r in row if r["rel_l2"] is not None and r["rel_l2"] <= error]
    return min(times) if times else None


def reach_table(rows: dict, thresholds=THRESHOLDS) -> dict:
    """Time to reach an error, both ways.

    Returns:
        ``{"thresholds": {method: {error: seconds or None}}, "kan_error": e, "to_kan_error": {method: seconds},
        "kan_to_rung": {method: [KAN seconds to each rung's error]}}``.
    """
    kan = rows.get("kan") or []
    kan_error = kan[-1]["rel_l2"] if kan else None
    table = {"thresholds": {m: {f"{e:.0e}": first_time(row, e) for e in thresholds} for m, row in rows.items()},
             "kan_error": kan_error}
    if kan_error is not None:
        table["to_kan_error"] = {m: first_time(row, kan_error) for m, row in rows.items()}
        table["kan_to_rung"] = {m: [first_time(kan, r["rel_l2"]) for r in row] for m, row in rows.items() if m != "kan"}
    return table


def _fmt(seconds) -> str:
    return "—" if seconds is None else f"{seconds:.3g} s"


def format_table(result: dict) -> str:
    """Plain-text table: per method its best error, and the time to reach the KAN's error and a few others."""
    rows = {m: result[m] for m in METHODS if result.get(m)}
    reach = result["reach"]
    shown = ("1e-03", "1e-06", "1e-09")
    head = f"{'method':<9} {'best rel_l2':>11} {'dofs':>9} {'to KAN err':>11} " + " ".join(f"{'to ' + e:>10}" for e in shown)
    lines = [head, "-" * len(head)]
    for method, row in rows.items():
        best = min(row, key=lambda r: r["rel_l2"])
        lines.append(f"{method:<9} {best['rel_l2']:>11.3e} {best['dofs']:>9} "
                     f"{_fmt(reach.get('to_kan_error', {}).get(method)):>11} "
                     + " ".join(f"{_fmt(reach['thresholds'][method][e]):>10}" for e in shown))
    for method, why in result.get("skipped", {}).items():
        lines.append(f"{method:<9} skipped: {why}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- figure


def plot_compare(result: dict, path) -> object:
    """Log-log rel L2 error against wall time: the KAN's training curve as a line, each baseline ladder
    as markers joined by a line, the legend outside the axes."""
    fig = _figure(8.0, 4.8)
    ax = fig.add_subplot(1, 1, 1)
    markers = {"fd2": "o", "fd4": "s", "fem_p1": "^", "fem_p2": "v", "spectral": "D"}
    for method in METHODS:
        row = [r for r in result.get(method) or [] if r["rel_l2"] and r["seconds"] > 0]
        if not row:
            continue
        t = [r["seconds"] for r in row]
        e = [r["rel_l2"] for r in row]
        if method == "kan":
            ax.plot(t, e, "-", color="k", lw=2, label="KAN (training curve)")
        else:
            ax.plot(t, e, "-", marker=markers[method], ms=5, label=method.replace("_", " ").upper())
    kan = result.get("kan")
    if kan:
        ax.axhline(kan[-1]["rel_l2"], color="k", ls=":", lw=1, label="KAN final error")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("wall time [s]")
    ax.set_ylabel("relative L2 error")
    ax.set_title(f"{result.get('problem', '')}: error against time")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False)
    return save_figure(fig, path)


# --------------------------------------------------------------------------- entry point


def compare(problem: Problem, baseline: Linear | None = None, *, model=None, config=None, quick: bool = False,
            seed: int = 0, target: float | None = None, max_dofs: float | None = None,
            rung_seconds: float | None = None, kan: bool = True, fd_solution: Callable | None = None) -> dict:
    """Run the KAN and every applicable baseline ladder in one process.

    Args:
        problem: the kanpde problem the KAN trains on.
        baseline: its :class:`kanpde.fd.Linear` description (a problem module's ``baseline()``); None runs
            only the KAN.
        model, config: the KAN and its TrainConfig (default: a ``[dim, 10, 1]`` KAN and the defaults;
            ``quick``: a ``[dim, 5, 1]`` KAN with Adam 30 + LM 6).
        quick: small KAN and small ladder budgets (tests).
        seed: the KAN's seed.
        target: ladders stop at this rel L2 (default: the smaller of the KAN's final error and 1e-10).
        max_dofs, rung_seconds: ladder budgets (default 2e6 unknowns and 60 s; quick: 1e5 and 2 s).
        kan: False skips the KAN (ladders only; then ``target`` defaults to 1e-10).
        fd_solution: without a ``baseline``, the problem's own FD solver ``fd_solution(resolution=n)``
            (a problem module's, e.g. Lax-Wendroff for advection): its ladder is the ``fd2`` row, measured
            against ``problem.exact`` on the whole space-time grid.

    Returns:
        ``{"problem", "kan", "fd2", ..., "spectral"`` (lists of rungs; empty where skipped),
        ``"skipped": {method: reason}, "reach": reach_table(...), "settings": {...}}``.

    Raises:
        TypeError: ``problem`` not a Problem or ``baseline`` not a Linear.
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a kanpde.Problem, got {type(problem).__name__}")
    if baseline is not None and not isinstance(baseline, Linear):
        raise TypeError(f"baseline must be a kanpde.fd.Linear or None, got {type(baseline).__name__}")
    max_dofs = max_dofs or (1e5 if quick else 2e6)
    rung_seconds = rung_seconds or (2.0 if quick else 60.0)
    result: dict = {"problem": problem.name, **{m: [] for m in METHODS}, "skipped": {}}
    if kan:
        result["kan"] = _kan_row(_kan_solution(problem, model, config, quick, seed))
    if target is None:
        target = min(result["kan"][-1]["rel_l2"], FLOOR) if result["kan"] else FLOOR
    result["settings"] = {"target": target, "max_dofs": max_dofs, "rung_seconds": rung_seconds, "quick": quick,
                          "seed": seed, "threads": torch.get_num_threads()}
    if baseline is None:
        result["skipped"] = {m: "the problem has no baseline description" for m in METHODS[1:]}
        if fd_solution is not None and problem.exact is not None:
            result["skipped"].pop("fd2")
            result["fd2"] = ladder(_solver_rung(fd_solution, problem.exact), _FD_SIZES[2:], target=target,
                                   max_dofs=max_dofs, rung_seconds=rung_seconds, growth=2.0)
    else:
        found = ladders(baseline)
        result["skipped"] = found.pop("skipped")
        for method, (resolutions, rung, growth) in found.items():
            result[method] = ladder(rung, resolutions, target=target, max_dofs=max_dofs, rung_seconds=rung_seconds,
                                    growth=growth, unknowns=_unknowns(method, baseline))
    result["reach"] = reach_table({m: result[m] for m in METHODS if result[m]})
    return result


def observed_order(rungs: list, key: str = "rel_l2") -> float:
    """The slope of ``log(error)`` against ``log(h)`` over the rungs, by least squares."""
    h = np.array([float(r["h"]) for r in rungs])
    err = np.array([float(r[key]) for r in rungs])
    slope, _ = np.polyfit(np.log(h), np.log(err), 1)
    return float(slope)
