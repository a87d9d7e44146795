"""The results folder of a solved problem: the one writer shared by ``kanpde solve`` and ``scripts/demo.py``.

``write_results(solution, folder)`` writes, where they apply:

=====================  =============================================================
``model.pt``           the checkpoint (:meth:`Solution.save`)
``solution.vtu``       the fields on the export mesh (``.xdmf`` for space-time); spatial
                       dimension at most 3
``fd.vtu``             a finite-difference baseline on its own grid (given ``fd=``)
``solution.png``       prediction / exact / log-scale error panels (:func:`plot_solution`)
``history.png``        the loss history (:func:`plot_history`)
``activations.png``    a KAN's learned edge functions (:func:`plot_activations`)
``time_slices.png``    1-D space x time with a reference (:func:`plot_time_slices`)
``summary.json``       what ran and what it gave (:func:`run_summary`), the table rows,
                       the files written and the ones skipped (with the reason)
=====================  =============================================================

``summary.json`` records what actually ran: the model as trained (final grid), the grid
schedule read from the training history (every grid a stage trained on, in order), the
configuration the trainer used, and ``Solution.errors()`` on the dense evaluation set.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..files import atomic_write
from ..nn.spec import model_spec
from ..pde.metrics import error_metrics
from .export import export_fd, export_solution
from .plotting import plot_activations, plot_history, plot_solution, plot_time_slices, save_figure

__all__ = ["Results", "fd_errors", "kan_row", "run_summary", "trained_grids", "write_json", "write_results"]


@dataclass
class Results:
    """What :func:`write_results` wrote: the files (in order), the skipped outputs with their reason,
    and the summary (as written to ``summary.json``)."""

    folder: Path
    files: list[Path] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    summary: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------- what ran


def _trained_network(solution):
    """The network whose shape describes the run (a time-marched solution: its first window's)."""
    windows = getattr(solution.network, "windows", None)
    return windows[0].net if windows is not None else solution.network


def trained_grids(solution) -> list[int] | None:
    """The KAN grids the stages actually trained on, in order, each once (None for a model without grid)."""
    grids = [s.get("grid") for s in solution.history.stages if s.get("grid") is not None]
    if not grids:
        grid = getattr(_trained_network(solution), "grid", None)
        return [int(grid)] if grid is not None else None
    return [int(g) for g in dict.fromkeys(grids)]


def _model_label(spec: dict, solution) -> str:
    widths = ",".join(str(w) for w in spec.get("widths") or [])
    if spec["type"] == "KAN":
        label = f"KAN [{widths}] G={spec['grid']} k={spec['k']}"
    elif spec["type"] == "MLP":
        label = f"MLP [{widths}] {spec['activation']}"
    else:
        label = spec["type"]
    windows = getattr(solution.network, "windows", None)
    return label + (f" x {len(windows)} windows" if windows is not None else "")


def _spec(solution) -> dict:
    net = _trained_network(solution)
    return model_spec(net) or {"type": type(net).__name__, "widths": list(getattr(net, "widths", []) or [])}


def kan_row(solution, errors: dict | None = None, method: str | None = None) -> dict:
    """The solution's row of the results table: method, parameters, training seconds, rel L2 and max error."""
    if errors is None and solution.problem is not None and solution.problem.has_solution():
        errors = solution.errors()
    errors = errors or {}
    return {"method": method or _model_label(_spec(solution), solution),
            "parameters": sum(p.numel() for p in solution.network.parameters()), "time_s": solution.elapsed,
            "rel_l2": errors.get("rel_l2"), "max_abs": errors.get("max_abs")}


def fd_errors(fd, problem) -> dict | None:
    """rel L2 and max error of an FD solution against the problem's exact solution on the FD grid's own
    nodes (None when there is no exact solution or the grid does not span the problem's coordinates)."""
    if problem is None or problem.exact is None or len(fd.axes) != problem.domain.dim:
        return None
    points = fd.points()
    with torch.no_grad():
        exact = problem.solution_values(torch.as_tensor(points, dtype=torch.float64)).cpu().numpy()[:, 0]
    return error_metrics(np.asarray(fd.values, dtype=float).ravel(), exact)


def run_summary(solution, errors: dict | None = None) -> dict:
    """What ran and what it gave, JSON-ready: problem, domain, model as trained with the grid schedule it
    trained on, configuration, training time, final loss, errors and learned parameters."""
    problem = solution.problem
    spec = _spec(solution)
    if errors is None and problem is not None and problem.has_solution():
        errors = solution.errors()
    steps = solution.history.steps
    return {
        "problem": problem.name if problem is not None else (solution.problem_spec or {}).get("name"),
        "domain": repr(problem.domain) if problem is not None else None,
        "coordinates": list(problem.domain.names) if problem is not None else None,
        "outputs": list(problem.outputs) if problem is not None else None,
        "model": {**spec, "grid_schedule": trained_grids(solution) if spec["type"] == "KAN" else None},
        "parameters": sum(p.numel() for p in solution.network.parameters()),
        "config": solution.config, "decisions": solution.config.get("decisions"),  # the automatic path's
        "train_time_s": solution.elapsed,
        "final_loss": steps[-1]["loss"] if steps else None,
        "errors": errors, "learned_parameters": solution.parameters or None,
    }


# ---------------------------------------------------------------------------------- json


def _plain(value):
    """JSON-safe copy: non-finite floats become None, unknown objects their repr."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, torch.dtype):
        return str(value).replace("torch.", "")
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return repr(value)


def write_json(path: str | os.PathLike, data: dict) -> Path:
    """Write ``data`` as indented JSON, atomically (non-finite floats as null)."""
    text = json.dumps(_plain(data), indent=2, allow_nan=False) + "\n"

    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    return atomic_write(path, write)


# ---------------------------------------------------------------------------------- the folder


def _mesh_suffix(timed: bool) -> str:
    return ".xdmf" if timed else ".vtu"


def _meshes(results: Results, solution, fd) -> None:
    problem = solution.problem
    spatial = len(problem.domain.spatial_axes)
    if spatial > 3:
        results.skipped["solution mesh"] = f"{spatial}-D space has no mesh export"
        return
    timed = problem.domain.time_axis is not None
    results.files.append(export_solution(solution, results.folder / f"solution{_mesh_suffix(timed)}"))
    if fd is not None:
        fd_timed = list(fd.axes)[-1] == "t"
        results.files.append(export_fd(fd, results.folder / f"fd{_mesh_suffix(fd_timed)}",
                                       exact=problem if problem.exact is not None else None))


def _figures(results: Results, solution, errors: dict | None, member=None) -> None:
    """The figures; a family's (``member``: its middle member) fields are drawn at that member."""
    problem, folder = solution.problem, results.folder
    shown = member or solution
    if member is not None:
        errors = member.errors() if member.problem.has_solution() else None
    try:
        results.files.append(save_figure(plot_solution(shown, errors=errors), folder / "solution.png"))
    except ValueError as exc:  # a domain the field plots cannot draw (e.g. 3-D space x time)
        results.skipped["solution.png"] = str(exc)
    if solution.history.steps:
        from .plotting import _figure

        fig = _figure(6.5, 4.2)
        plot_history(solution, ax=fig.add_subplot())
        results.files.append(save_figure(fig, folder / "history.png"))
    if _spec(solution)["type"] == "KAN":
        figure = plot_activations(_trained_network(solution), names=problem.domain.names)
        results.files.append(save_figure(figure, folder / "activations.png"))
    timed = problem.domain.time_axis is not None
    if timed and problem.has_solution() and len(problem.domain.spatial_axes) == 1:
        results.files.append(save_figure(plot_time_slices(shown, errors=errors), folder / "time_slices.png"))


def write_results(solution, folder: str | os.PathLike, rows: list[dict] | None = None, fd=None,
                  extra: dict | None = None, errors: dict | None = None) -> Results:
    """Write the results folder of a solved problem (see the module docstring for the files).

    Args:
        solution: a :class:`~kanpde.Solution` with its problem attached.
        folder: the folder (created if missing).
        rows: the results table (default: the solution's own row, :func:`kan_row`).
        fd: a finite-difference solution to export beside it (``fd.vtu`` / ``fd.xdmf``).
        extra: more summary entries (e.g. the command line's source, the FD row, a formula).
        errors: ``solution.errors()`` when already computed (it is computed otherwise).

    Returns:
        :class:`Results`.

    Raises:
        ValueError: no problem attached, or ``folder`` is an existing file.
    """
    if getattr(solution, "problem", None) is None:
        raise ValueError("write_results needs a solution with its problem attached; load the checkpoint with "
                         "kp.Solution.load(path, problem=...)")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"folder must be a folder, got the existing file {str(folder)!r}")
    folder.mkdir(parents=True, exist_ok=True)
    if errors is None and solution.problem.has_solution():
        errors = solution.errors()
    results = Results(folder)
    results.files.append(solution.save(folder / "model.pt"))
    middle = {name: (r.lo + r.hi) / 2 for name, r in solution.problem.params.items()}
    member = solution.at(**middle) if middle else None  # a family: mesh and figures at its middle member
    _meshes(results, member or solution, fd)
    _figures(results, solution, errors, member)
    summary = {**run_summary(solution, errors), "rows": rows or [kan_row(solution, errors)], **(extra or {})}
    if member is not None:
        summary["fields_at"] = middle
    summary["files"] = [p.name for p in results.files] + ["summary.json"]
    summary["skipped"] = results.skipped or None
    results.files.append(write_json(folder / "summary.json", summary))
    results.summary = _plain(summary)
    return results
