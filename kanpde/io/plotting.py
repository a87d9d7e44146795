"""Figures: solution fields, errors, loss histories and learned KAN activations (matplotlib).

Functions that draw into one Axes take ``ax=None`` (a new pyplot figure then) and
return the Axes; functions that build a whole figure return a
:class:`matplotlib.figure.Figure` made without pyplot (no global state, nothing
to close) and save it atomically when given ``path``. Nothing here calls ``show``.

What a field plot shows, by domain:

- 1-D: a line (the exact solution overlaid, dashed);
- 2-D boxes: ``pcolormesh`` on a regular grid; disks and other 2-D domains:
  ``tripcolor`` on the export triangulation (:func:`kanpde.io.mesh.domain_mesh`);
- 1-D space x time: an x-t map (x across, t up);
- 2-D space x time: the field at time ``at`` (default the final time);
- 3-D boxes: the slice ``z = at`` (default the middle).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .fields import exact_on, field_values
from .mesh import domain_mesh
from ..geometry.domains import Box, SpaceTime
from ..files import atomic_write
from ..train.history import History

__all__ = ["plot_field", "plot_solution", "plot_history", "plot_activations", "plot_fd_comparison", "plot_network",
           "save_figure", "plot_time_slices", "plot_causal_weights", "plot_domain"]

WHICH = ("u", "exact", "error")
_HISTORY_SKIP = {"step", "stage", "time", "step_time", "iterations", "loss", "rel_l2", "causal_eps", "causal_min_w",
                 "validation"}  # validation: the best-model score (kanpde.train.best)


# ---------------------------------------------------------------------------------- helpers


def _new_axes(ax):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(5.5, 4.2), layout="constrained")[1]


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def save_figure(fig, path: str | os.PathLike, dpi: int = 130) -> Path:
    """Save ``fig`` atomically; the format follows the extension (PNG when there is none)."""
    path = Path(path)
    fmt = path.suffix[1:].lower() or "png"
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt, dpi=dpi))


def _problem(solution):
    problem = getattr(solution, "problem", None)
    if problem is None:
        raise ValueError("plotting a field needs a solution with a problem (its domain) attached")
    return problem


def _component(problem, component) -> tuple[int, str]:
    outputs = list(problem.outputs)
    if isinstance(component, str):
        if component not in outputs:
            raise ValueError(f"unknown component {component!r}. Pick one of {tuple(outputs)}")
        return outputs.index(component), component
    if isinstance(component, bool) or not isinstance(component, int) or not 0 <= component < len(outputs):
        raise ValueError(f"component must be an index 0..{len(outputs) - 1} or a name in {tuple(outputs)}, "
                         f"got {component!r}")
    return component, outputs[component]


def _check_which(which: str, problem) -> None:
    if which not in WHICH:
        raise ValueError(f"unknown field {which!r}. Pick one of {WHICH}")
    if which != "u" and not problem.has_solution():
        raise ValueError(f"which={which!r} needs a problem with an exact or reference solution; "
                         f"{problem.name!r} has none")


@dataclass
class _View:
    """Where a field is evaluated and how it is drawn."""

    kind: str                  # "line", "grid" or "tri"
    points: np.ndarray         # (N, D) domain points
    coords: tuple              # line: (x,); grid: (X, Y) 2-D arrays; tri: (x, y, triangles)
    labels: tuple[str, str]
    note: str = ""             # e.g. "t = 1"
    spatial: bool = True       # both plot axes are space (equal aspect when sensible)


def _view(domain, resolution=None, at=None, solution=None) -> _View:
    if isinstance(domain, SpaceTime):
        spatial = domain.spatial
        if spatial.dim == 1:
            n = resolution or 201
            xs = np.linspace(*(float(b[0]) for b in spatial.bounds), n)
            ts = np.linspace(domain.t0, domain.t1, resolution or 101)
            X, T = np.meshgrid(xs, ts)                               # (nt, nx): x across, t up
            return _View("grid", np.column_stack([X.ravel(), T.ravel()]), (X, T),
                         (spatial.names[0], domain.names[-1]), spatial=False)
        if spatial.dim == 2:
            t = domain.t1 if at is None else float(at)
            if not domain.t0 - 1e-12 <= t <= domain.t1 + 1e-12:
                raise ValueError(f"at={t} lies outside the time interval [{domain.t0}, {domain.t1}]")
            sub = _view(spatial, resolution)
            points = np.column_stack([sub.points, np.full(len(sub.points), t)])
            return _View(sub.kind, points, sub.coords, sub.labels, f"{domain.names[-1]} = {t:g}")
        raise ValueError(f"plot_field draws 1-D and 2-D space (x time); {domain!r} has {spatial.dim} spatial "
                         "coordinates: export it with kanpde.export_solution instead")
    if domain.dim == 1:
        lo, hi = domain.bounds
        xs = np.linspace(float(lo[0]), float(hi[0]), resolution or 401)
        return _View("line", xs[:, None], (xs,), (domain.names[0], ""))
    if domain.dim == 2:
        if isinstance(domain, Box):
            points, shape = domain.grid(resolution or 121)
            X, Y = points[:, 0].reshape(shape), points[:, 1].reshape(shape)
            return _View("grid", points, (X, Y), tuple(domain.names))
        mesh = domain_mesh(domain, resolution or 81)
        (_, triangles), = mesh.cells
        return _View("tri", mesh.points, (mesh.points[:, 0], mesh.points[:, 1], triangles), tuple(domain.names))
    if domain.dim == 3 and isinstance(domain, Box):
        lo, hi = domain.bounds
        z = _informative_level(solution, domain) if at is None else float(at)
        if not lo[2] - 1e-12 <= z <= hi[2] + 1e-12:
            raise ValueError(f"at={z} lies outside [{lo[2]}, {hi[2]}] along {domain.names[2]!r}")
        sub = _view(Box(lo[:2], hi[:2], domain.names[:2]), resolution)
        points = np.column_stack([sub.points, np.full(len(sub.points), z)])
        return _View("grid", points, sub.coords, sub.labels, f"{domain.names[2]} = {z:g}")
    raise ValueError(f"plot_field draws 1-D, 2-D and 3-D box domains; got {domain!r}")


def _informative_level(solution, box, per_axis: int = 21, component: int = 0) -> float:
    """The ``z`` level of a 3-D box whose plane holds the largest ``sum |u|²`` (u the exact or
    reference solution where there is one, else the prediction); the middle without a solution.

    A fixed middle slice can miss the solution entirely (sin(pi z) on [-1, 1] is 0 at z = 0)."""
    lo, hi = box.bounds
    if solution is None:
        return 0.5 * (lo[2] + hi[2])
    problem = _problem(solution)
    points, shape = box.grid(per_axis)                                    # (n^3, 3), "ij": z fastest
    if problem.has_solution():
        with torch.no_grad():
            values = problem.solution_values(torch.as_tensor(points, dtype=torch.float64)).cpu().numpy()
    else:
        values = np.asarray(solution.predict(points, check_domain=False), dtype=float)
    energy = (values[:, component] ** 2).reshape(shape).sum(axis=(0, 1))  # (n_z,)
    return float(np.linspace(lo[2], hi[2], shape[2])[int(np.argmax(energy))])


def _values(solution, view: _View, index: int, name: str) -> dict[str, np.ndarray]:
    """``{"u": ..., "exact": ..., "error": |u - u*|}`` (the last two where there is a solution)."""
    problem = _problem(solution)
    single = len(problem.outputs) == 1
    fields = [name] + ([f"{name}_exact", "error" if single else f"{name}_error"] if problem.has_solution() else [])
    arrays = field_values(solution, view.points, fields)
    out = {"u": arrays[name]}
    if problem.has_solution():
        out["exact"] = arrays[f"{name}_exact"]
        out["error"] = np.abs(arrays["error" if single else f"{name}_error"])
    return out


def _shaped(view: _View, values: np.ndarray) -> np.ndarray:
    return values.reshape(view.coords[0].shape) if view.kind == "grid" else values


def _draw_map(ax, view: _View, values: np.ndarray, cmap: str, label: str, **kwargs):
    if view.kind == "grid":
        X, Y = view.coords
        artist = ax.pcolormesh(X, Y, _shaped(view, values), cmap=cmap, shading="gouraud", **kwargs)
    else:
        x, y, triangles = view.coords
        artist = ax.tripcolor(x, y, triangles, values, cmap=cmap, shading="gouraud", **kwargs)
    ax.figure.colorbar(artist, ax=ax, label=label)
    ax.set_xlabel(view.labels[0])
    ax.set_ylabel(view.labels[1])
    if view.spatial and _equal_aspect(view):
        ax.set_aspect("equal")
    return artist


def _equal_aspect(view: _View) -> bool:
    """Equal axes for spatial maps unless they would be absurdly elongated."""
    x, y = view.coords[0], view.coords[1]
    w, h = np.ptp(x), np.ptp(y)
    return h > 0 and w > 0 and 1 / 4 <= w / h <= 4


ERROR_DECADES = 6  # a log-scale error panel spans at most this many decades below its maximum


def _log_norm(error: np.ndarray) -> dict:
    """``{"norm": LogNorm}`` over ``[max / 10^6, max]`` for a map of ``|error|`` (empty when it is all 0),
    so a corner error does not leave the rest of the panel black."""
    from matplotlib.colors import LogNorm

    top = float(np.max(error)) if error.size else 0.0
    if not top > 0 or not np.isfinite(top):
        return {}
    positive = error[error > 0]
    bottom = max(float(positive.min()), top * 10.0 ** -ERROR_DECADES)
    return {"norm": LogNorm(vmin=min(bottom, top / 10), vmax=top, clip=True)}


def _title(which: str, name: str, note: str) -> str:
    base = {"u": f"prediction {name}", "exact": f"exact {name}", "error": f"|{name} - {name}*|"}[which]
    return f"{base} ({note})" if note else base


def _draw(ax, view: _View, values: dict[str, np.ndarray], which: str, name: str, **kwargs):
    if view.kind == "line":
        x = view.coords[0]
        if which == "u":
            ax.plot(x, values["u"], label="prediction", **kwargs)
            if "exact" in values:
                ax.plot(x, values["exact"], "--", color="k", lw=1.2, label="exact")
            ax.legend(fontsize="small", loc="best")
        elif which == "exact":
            ax.plot(x, values["exact"], color="k", label="exact", **kwargs)
        else:
            ax.plot(x, values["error"], color="C3", label="|error|", **kwargs)
        ax.set_xlabel(view.labels[0])
        ax.set_ylabel({"u": name, "exact": name, "error": f"|{name} - {name}*|"}[which])
        if which == "error" and np.any(values["error"] > 0):
            ax.set_yscale("log")
    else:
        cmap = "magma" if which == "error" else "viridis"
        label = {"u": name, "exact": f"{name}*", "error": f"|{name} - {name}*|"}[which]
        data = values[which]
        if which == "error" and "norm" not in kwargs:
            scale = _log_norm(data)
            kwargs = {**kwargs, **scale}
            if scale:  # exact zeros (hard constraints on the boundary) drawn at the floor, not masked
                data = np.maximum(data, scale["norm"].vmin)
        _draw_map(ax, view, data, cmap, label, **kwargs)
    ax.set_title(_title(which, name, view.note), fontsize="medium")
    return ax


# ---------------------------------------------------------------------------------- public


def plot_field(solution, which: str = "u", ax=None, resolution: int | None = None, component: int | str = 0,
               at: float | None = None, **kwargs):
    """Draw one field of a solution: the prediction, the exact solution or ``|u - u*|``.

    Args:
        which: ``"u"`` (prediction; 1-D plots overlay the exact solution), ``"exact"`` or ``"error"``.
        ax: the Axes to draw into (default: a new pyplot figure).
        resolution: points per axis of the evaluation grid.
        component: output index or name for systems.
        at: the time shown for 2-D space x time, or the ``z`` slice of a 3-D box.
        kwargs: passed to ``plot`` / ``pcolormesh`` / ``tripcolor`` (e.g. ``vmin``, ``vmax``).

    Returns:
        The Axes.

    Raises:
        ValueError: unknown ``which`` or component, ``"exact"`` / ``"error"`` without a
            solution to compare with, or a domain that cannot be drawn.
    """
    problem = _problem(solution)
    _check_which(which, problem)
    index, name = _component(problem, component)
    view = _view(problem.domain, resolution, at, solution)
    ax = _new_axes(ax)
    return _draw(ax, view, _values(solution, view, index, name), which, name, **kwargs)


def plot_solution(solution, path: str | os.PathLike | None = None, resolution: int | None = None,
                  component: int | str = 0, at: float | None = None, errors: dict | None = None):
    """A row of panels: prediction, exact solution, ``|error|`` on a log scale (prediction only without a solution).

    1-D problems get two panels: the prediction with the exact solution overlaid, and
    ``|error|``. The prediction and exact panels share one colour scale. The error panel's
    title gives ``rel L2`` from :meth:`Solution.errors` (the dense evaluation set: the same
    number as the results table; a system's shows the drawn component's). A 3-D box is
    sliced at the ``z`` level where the solution is largest, unless ``at`` is given.

    Args:
        errors: ``solution.errors()`` when already computed (computed otherwise).

    Returns:
        The :class:`matplotlib.figure.Figure`; saved atomically (PNG) when ``path`` is given.
    """
    problem = _problem(solution)
    index, name = _component(problem, component)
    view = _view(problem.domain, resolution, at, solution)
    values = _values(solution, view, index, name)
    panels = ["u"] if "exact" not in values else (["u", "error"] if view.kind == "line" else ["u", "exact", "error"])
    fig = _figure(4.6 * len(panels), 3.8)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    shared = {}
    if view.kind != "line" and "exact" in values:
        both = np.concatenate([values["u"], values["exact"]])
        shared = {"vmin": float(both.min()), "vmax": float(both.max())}
    for ax, which in zip(axes, panels):
        _draw(ax, view, values, which, name, **(shared if which != "error" else {}))
    if "exact" in values:
        rel = component_errors(solution, name, errors)["rel_l2"]
        axes[-1].set_title(f"{axes[-1].get_title()}, rel L2 {rel:.2e}", fontsize="medium")
    fig.suptitle(problem.name)
    if path is not None:
        save_figure(fig, path)
    return fig


def component_errors(solution, name: str, errors: dict | None = None) -> dict:
    """The metrics of output ``name`` from :meth:`Solution.errors` (the overall ones for a scalar problem)."""
    errors = solution.errors() if errors is None else errors
    return errors[name] if isinstance(errors.get(name), dict) else errors


def _history(solution) -> History:
    history = solution if isinstance(solution, History) else getattr(solution, "history", None)
    if not isinstance(history, History):
        raise TypeError(f"expected a kanpde Solution or History, got {type(solution).__name__}")
    if not history.steps:
        raise ValueError("the training history is empty: nothing to plot")
    return history


def _loss_terms(history: History) -> list[str]:
    terms: list[str] = []
    for record in history.steps:
        for key, value in record.items():
            if key not in _HISTORY_SKIP and key not in terms and isinstance(value, (int, float)) \
                    and not key.startswith("weight:"):
                terms.append(key)
    return terms


def plot_history(solution, ax=None):
    """Loss history: every named loss term (its automatic weight dashed) and the total (log scale), the relative L2
    error on a twin axis where it was recorded, and a dotted vertical line labelled
    with the stage (optimiser, grid refinement) at every stage boundary.

    Args:
        solution: a :class:`~kanpde.Solution` or its :class:`~kanpde.History`.

    Returns:
        The loss Axes (the error axis is its twin, ``ax.figure.axes``).
    """
    history = _history(solution)
    ax = _new_axes(ax)
    for i, term in enumerate(_loss_terms(history)):
        steps, values = history.column(term)
        ax.plot(steps, values, lw=1.0, color=f"C{i % 10}", label=term,
                marker="o" if len(steps) < 3 else None, ms=3)  # a one-iteration stage's term is a point
        steps, weights = history.column(f"weight:{term}")  # automatic loss weight, dashed in the term's colour
        if len(weights):
            ax.plot(steps, weights, lw=0.8, ls="--", color=f"C{i % 10}", label=f"weight {term}")
    steps, values = history.column("loss")
    ax.plot(steps, values, lw=1.8, color="k", label="total")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    handles, labels = ax.get_legend_handles_labels()
    steps, errors = history.column("rel_l2")
    if len(errors):
        twin = ax.twinx()
        line, = twin.plot(steps, errors, "o-", ms=2.5, lw=1.2, color="C3", label="rel L2 error")
        twin.set_yscale("log")
        twin.set_ylabel("relative L2 error", color="C3")
        handles.append(line)
        labels.append(line.get_label())
    from matplotlib.transforms import blended_transform_factory

    where = blended_transform_factory(ax.transData, ax.transAxes)
    for stage in history.stages:
        start = stage.get("start", 0)
        if start > 0:
            ax.axvline(start, color="0.5", ls=":", lw=1.0)
        ax.text(start, 0.98, f" {stage.get('label', '')}", transform=where, rotation=90, va="top", ha="left",
                fontsize="x-small", color="0.35")
    ax.legend(handles, labels, fontsize="small", loc="lower left")
    return ax


def _kan(model):
    from ..nn.kan import KAN

    model = getattr(model, "network", model)  # a Solution: its bare network
    model = getattr(model, "net", model)     # a hard-constraint TransformedModel
    if not isinstance(model, KAN):
        raise TypeError(f"plot_activations needs a kp.KAN (or a Solution of one), got {type(model).__name__}")
    return model


def _input_names(model, kan, names) -> list[str]:
    """Names of the KAN's inputs: ``names``, else the problem's coordinates (a Solution), else x0, x1, ..."""
    if names is None:
        problem = getattr(model, "problem", None)
        names = list(problem.domain.names) if problem is not None else None
    if names is None or len(names) != kan.layers[0].in_dim:  # e.g. a periodic embedding widens the input
        names = [f"x{i}" for i in range(kan.layers[0].in_dim)]
    return [str(n) for n in names]


def plot_activations(model, path: str | os.PathLike | None = None, points: int = 101, names=None):
    """The learned edge functions ``phi_io`` of a KAN, one small panel per edge.

    Layer by layer (top to bottom); each layer is a block with one row per input
    and one column per output (transposed when it has more inputs than outputs, so
    blocks stay wide). Every curve spans its layer's grid range ``[lo_i, hi_i]``,
    whose ends label the panel's x axis. Panels are titled ``L<layer> <input>→<output>``,
    the first layer's inputs by name (the problem's coordinates for a Solution).

    Args:
        model: a :class:`~kanpde.KAN` or a Solution holding one.
        points: samples per curve.
        names: names of the KAN's inputs (default: the problem's coordinates, or x0, x1, ...).

    Returns:
        The Figure; saved atomically when ``path`` is given.
    """
    kan = _kan(model)
    inputs = _input_names(model, kan, names)
    blocks = []
    for layer in kan.layers:
        n_in, n_out = layer.in_dim, layer.out_dim
        blocks.append((n_out, n_in, True) if n_in > n_out else (n_in, n_out, False))
    columns = max(c for _, c, _ in blocks)
    rows = sum(r for r, _, _ in blocks)
    fig = _figure(max(4.0, 1.35 * columns), max(2.8, 1.2 * rows + 0.45 * len(blocks)))
    outer = fig.add_gridspec(len(blocks), 1, height_ratios=[r for r, _, _ in blocks])
    ref = next(iter(kan.parameters()))
    for number, (layer, (n_rows, n_cols, transposed)) in enumerate(zip(kan.layers, blocks)):
        t = torch.linspace(0, 1, points, dtype=ref.dtype, device=ref.device).unsqueeze(1)
        x = layer.lo + t * (layer.hi - layer.lo)                       # (points, in)
        with torch.no_grad():
            phi = layer.edge_values(x)[0].cpu().numpy()                # (points, in, out)
        x = x.cpu().numpy()
        grid = outer[number].subgridspec(n_rows, columns)
        for r in range(n_rows):
            for c in range(n_cols):
                i, o = (c, r) if transposed else (r, c)
                ax = fig.add_subplot(grid[r, c])
                ax.plot(x[:, i], phi[:, i, o], lw=1.2, color=f"C{number % 10}")
                ax.set_xticks([x[0, i], x[-1, i]], [f"{x[0, i]:.3g}", f"{x[-1, i]:.3g}"])  # the input's range
                ax.set_yticks([])
                ax.tick_params(axis="x", labelsize=5, length=2, pad=1)
                ax.set_title(f"L{number} {inputs[i] if number == 0 else i}→{o}", fontsize=6, pad=1.5)
    fig.suptitle(f"KAN {kan.widths} learned activations (grid={kan.grid}, k={kan.k}); "
                 f"x axis: each input's range", fontsize="medium")
    if path is not None:
        save_figure(fig, path)
    return fig


def plot_network(model, ax=None, names=None, points: int = 61):
    """A KAN drawn as a network in the paper's style: nodes in rows, each edge a line with a small
    plot of its function at the middle, labelled by its snapped function (``"spline"`` if none).

    Edges fade with their mean magnitude ``mean |phi|`` over the layer's grid range (relative to
    the layer's largest), so pruned and dead edges all but vanish.

    Args:
        model: a :class:`~kanpde.KAN`, a :class:`~kanpde.symbolic.SymbolicKAN` or a Solution of one.
        names: labels of the input nodes (default the problem's coordinate names, or x0, x1, ..).

    Returns:
        The Axes.
    """
    network = getattr(model, "network", model)  # a Solution gives its bare network
    if names is None:
        problem = getattr(model, "problem", None)
        names = list(problem.domain.names) if problem is not None else [f"x{i}" for i in range(network.in_dim)]
    widths = list(network.widths)
    layers = network.layers
    functions = getattr(network, "functions", None)
    ax = _new_axes(ax)
    ref = next(iter(network.parameters()))
    xs = [np.linspace(0, 1, w + 2)[1:-1] if w > 1 else np.array([0.5]) for w in widths]
    for l, layer in enumerate(layers):
        t = torch.linspace(0, 1, points, dtype=ref.dtype, device=ref.device).unsqueeze(1)
        x = layer.lo + t * (layer.hi - layer.lo)                          # (points, in)
        with torch.no_grad():
            phi = (network.edge_values(l, x) if functions is not None else layer.edge_values(x)[0]).cpu().numpy()
        size = np.abs(phi).mean(0)                                        # (in, out)
        alpha = np.clip(size / max(size.max(), 1e-300), 0.05, 1.0)
        for i in range(layer.in_dim):
            for o in range(layer.out_dim):
                x0, y0, x1, y1 = xs[l][i], l, xs[l + 1][o], l + 1
                ax.plot([x0, x1], [y0, y1], color="k", lw=0.8, alpha=float(alpha[i, o]), zorder=1)
                mx, my, w = (x0 + x1) / 2, (y0 + y1) / 2, 0.5 / max(widths)
                inset = ax.inset_axes([mx - w / 2, my - 0.12, w, 0.24], transform=ax.transData)
                inset.plot(x[:, i].cpu().numpy(), phi[:, i, o], color="C0", lw=1.0, alpha=float(alpha[i, o]))
                inset.set_xticks([])
                inset.set_yticks([])
                label = (functions[l][i][o] or "spline") if functions is not None else ""
                if label:
                    inset.set_title(label, fontsize=6, pad=1, alpha=float(alpha[i, o]))
    for l, w in enumerate(widths):
        ax.scatter(xs[l], np.full(w, l), s=60, color="k", zorder=3)
    for i, name in enumerate(names[:widths[0]]):
        ax.annotate(name, (xs[0][i], 0), xytext=(0, -14), textcoords="offset points", ha="center", fontsize=9)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.3, len(widths) - 0.7)
    ax.set_axis_off()
    ax.set_title(f"KAN {widths}" + (" (snapped)" if functions is not None else ""), fontsize="medium")
    return ax


def _fd_view(fd) -> tuple[_View, np.ndarray]:
    axes = dict(fd.axes)
    names = list(axes)
    values = np.asarray(fd.values, dtype=float)
    if len(names) == 1:
        x = np.asarray(axes[names[0]])
        return _View("line", x[:, None], (x,), (names[0], "")), values
    if len(names) == 2:
        a, b = (np.asarray(axes[n]) for n in names)
        A, B = np.meshgrid(a, b, indexing="ij")
        return _View("grid", np.column_stack([A.ravel(), B.ravel()]), (A, B), tuple(names),
                     spatial=names[-1] != "t"), values.ravel()
    raise ValueError(f"plot_fd_comparison draws 1-D and 2-D grids (x, y or x, t); got axes {tuple(names)}")


def plot_fd_comparison(fd_solution, solution=None, exact=None, path: str | os.PathLike | None = None):
    """Panels on the FD grid: the FD field, ``|FD - exact|`` (given ``exact``, a Problem or a
    function of the points) and ``|network - FD|`` (given a ``solution``).

    Returns:
        The Figure; saved atomically when ``path`` is given.
    """
    view, fd_values = _fd_view(fd_solution)
    panels = [("FD " + getattr(fd_solution, "method", ""), fd_values, "viridis")]
    if exact is not None:
        panels.append(("|FD - exact|", np.abs(fd_values - exact_on(exact, view.points)), "magma"))
    if solution is not None:
        predicted = np.asarray(solution.predict(view.points, check_domain=False), dtype=float)[:, 0]
        panels.append(("|network - FD|", np.abs(predicted - fd_values), "magma"))
    fig = _figure(4.6 * len(panels), 3.8)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (title, values, cmap) in zip(axes, panels):
        if view.kind == "line":
            ax.plot(view.coords[0], values)
            ax.set_xlabel(view.labels[0])
        else:
            _draw_map(ax, view, values, cmap, "")
        ax.set_title(title, fontsize="medium")
    if path is not None:
        save_figure(fig, path)
    return fig


# ---------------------------------------------------------------------------------- time-dependent problems


def plot_time_slices(solution, times=None, path: str | os.PathLike | None = None, resolution: int = 201,
                     errors: dict | None = None):
    """Prediction against the exact/reference solution at several times, and the error field.

    For a 1-D space x time problem: left, ``u(x, t)`` at each time (solid) over the
    reference (dashed), the legend beside the axes (never on the curves); right,
    ``log10 |u - u*|`` over (x, t), with the window edges of a time-marched solution as
    dotted lines, titled with ``rel L2`` from :meth:`Solution.errors` (the table's number).

    Args:
        times: the times of the slices; default five evenly spaced over the interval.
        errors: ``solution.errors()`` when already computed (computed otherwise).

    Returns:
        The :class:`matplotlib.figure.Figure`; saved atomically (PNG) when ``path`` is given.

    Raises:
        ValueError: not a 1-D space x time problem, or no exact/reference solution.
    """
    problem = _problem(solution)
    domain = problem.domain
    if not isinstance(domain, SpaceTime) or domain.spatial.dim != 1 or not problem.has_solution():
        raise ValueError(f"plot_time_slices needs a 1-D space x time problem with an exact or reference solution, "
                         f"got {domain!r}")
    (lo,), (hi,) = domain.spatial.bounds
    t0, t1 = domain.t0, domain.t1
    times = np.linspace(t0, t1, 5) if times is None else np.asarray(times, dtype=float)
    x = np.linspace(lo, hi, resolution)
    tt = np.linspace(t0, t1, resolution)
    grid = np.column_stack([np.tile(x, len(tt)), np.repeat(tt, len(x))])            # (R*R, 2): (x, t), t slowest
    name = problem.outputs[0]
    values = field_values(solution, grid, [name, f"{name}_exact"])
    pred = values[name].reshape(len(tt), len(x))                                     # (R_t, R_x)
    exact = values[f"{name}_exact"].reshape(len(tt), len(x))
    fig = _figure(11, 3.8)
    left, right = fig.subplots(1, 2)
    import matplotlib

    colours = matplotlib.colormaps["viridis"](np.linspace(0, 0.9, len(times)))
    for t, colour in zip(times, colours):
        j = int(np.abs(tt - t).argmin())
        left.plot(x, pred[j], color=colour, label=f"t = {tt[j]:.2f}")
        left.plot(x, exact[j], color="k", ls="--", lw=0.8)
    left.set_xlabel(domain.names[0])
    left.set_ylabel(problem.outputs[0])
    left.legend(fontsize="small", title="KAN (solid)\nreference (dashed)", title_fontsize="small",
                loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)  # outside: clear of the curves
    error = np.log10(np.abs(pred - exact) + 1e-16)
    image = right.pcolormesh(x, tt, error, shading="auto", cmap="magma", vmin=max(error.min(), error.max() - 6))
    fig.colorbar(image, ax=right, label="log10 |error|")
    for edge in getattr(solution.model, "edges", [])[1:-1]:
        right.axhline(edge, color="w", ls=":", lw=1)
    right.set_xlabel(domain.names[0])
    right.set_ylabel(domain.names[domain.time_axis])
    rel = component_errors(solution, name, errors)["rel_l2"]
    right.set_title(f"error, rel L2 {rel:.2e}", fontsize="medium")
    fig.suptitle(problem.name)
    if path is not None:
        save_figure(fig, path)
    return fig


def plot_causal_weights(solution, ax=None):
    """Causal weights ``w_i`` over the time chunks as training went on (one line per record,
    coloured by step; see :class:`kanpde.Causal`).

    Raises:
        ValueError: the history holds no causal weights (trained without ``causal=``).
    """
    history = _history(solution)
    if not history.causal:
        raise ValueError("the history holds no causal weights: train with TrainConfig(causal=kp.Causal(...))")
    ax = _new_axes(ax)
    import matplotlib

    rows = history.causal
    colours = matplotlib.colormaps["viridis"](np.linspace(0, 1, len(rows)))
    for row, colour in zip(rows, colours):
        w = np.asarray(row["weights"])
        ax.plot((np.arange(len(w)) + 0.5) / len(w), w, color=colour, lw=1)
    norm = matplotlib.colors.Normalize(rows[0]["step"], rows[-1]["step"])
    ax.figure.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap="viridis"), ax=ax, label="step")
    ax.set_xlabel("time (fraction of the interval, chunk centres)")
    ax.set_ylabel("causal weight w")
    ax.set_ylim(-0.02, 1.05)
    eps = sorted({row["eps"] for row in rows})
    ax.set_title(f"causal weights, eps {eps[0]:g} .. {eps[-1]:g}", fontsize="medium")
    return ax


def plot_domain(domain, ax=None, n: int = 2000, normals: int = 60, seed: int = 0):
    """A 2-D domain as its sampled points: interior (grey), boundary coloured by named side
    (or in one colour), and outward normals (arrows) at a few boundary points.

    Args:
        domain: a 2-D spatial kanpde domain (Polygon, CSG, MeshDomain, ...).
        n: interior points (boundary: ``n // 4``); normals: arrows drawn.

    Returns:
        The Axes.

    Raises:
        ValueError: the domain is not 2-D.
    """
    if domain.dim != 2 or domain.time_axis is not None:
        raise ValueError(f"plot_domain draws 2-D spatial domains, got {domain!r}")
    ax = _new_axes(ax)
    x = domain.sample_interior(n, "sobol", seed)
    ax.scatter(x[:, 0], x[:, 1], s=2, color="0.75", label="interior")
    # named sides, without the per-edge and per-axis names that repeat them
    sides = [s for s in domain.side_names if not re.fullmatch(r"edge_\d+|.+_(min|max)", s)] or [None]
    for side in sides:
        b = domain.sample_boundary(max(8, n // (4 * len(sides))), "sobol", seed, side=side)
        ax.scatter(b[:, 0], b[:, 1], s=4, label=side or "boundary")
    b = domain.sample_boundary(normals, "grid")
    nv = domain.normals(b)
    ax.quiver(b[:, 0], b[:, 1], nv[:, 0], nv[:, 1], angles="xy", width=0.003, color="k")
    ax.set_aspect("equal")
    ax.set_xlabel(domain.names[0])
    ax.set_ylabel(domain.names[1])
    ax.legend(loc="best", fontsize="small", markerscale=3)
    return ax
