"""The pruned KAN a formula was read from, drawn as a network: each edge's curve and its snapped function."""

from __future__ import annotations

import textwrap

import numpy as np
import sympy as sp

_NODE = {"sum": "+", "product": "×", "ridge": "+", "kan": "+"}


def _inset(ax, x0, y0, x1, y1, edge, fit, width, at=0.5):
    ax.plot([x0, x1], [y0, y1], color="k", lw=0.8, zorder=1)
    mx, my = x0 + at * (x1 - x0), y0 + at * (y1 - y0)  # nearer the input when edges converge on one node
    inset = ax.inset_axes([mx - width / 2, my - 0.13, width, 0.26], transform=ax.transData)
    inset.plot(edge.x, edge.y, color="C0", lw=1.2)
    inset.set_xticks([])
    inset.set_yticks([])
    if fit is not None:
        inset.set_title(fit.name if fit.name != "0" else "const", fontsize=7, pad=1)


def plot_distilled(found, ax=None, names=None):
    """The distilled KAN of a :class:`~kanpde.symbolic.Formula`: input nodes, edges with their sampled
    curves and snapped function names, and the output node (× for a product, + for sums).

    Args:
        found: a Formula from :func:`kanpde.symbolic.formula`.
        names: input labels (default the formula's symbols).

    Returns:
        The Axes.

    Raises:
        ValueError: a Formula without its distilled KAN.
    """
    import matplotlib.pyplot as plt

    fitted = getattr(found, "distilled", None)
    if fitted is None:
        raise ValueError("plot_distilled needs a Formula from kanpde.symbolic.formula (it carries the distilled KAN)")
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 3.6))
    names = names or [str(s) for s in found.symbols]
    used = [names[i] for i in fitted.inputs] if fitted.kind != "kan" else names
    xs = np.linspace(0, 1, len(used) + 2)[1:-1]
    fits = fitted.fits or [None] * len(fitted.edges)
    width = 0.55 / (len(used) + 1)
    top = len(fitted.widths) - 1  # the output node's level
    if fitted.kind in ("sum", "product"):
        for x0, edge, fit in zip(xs, fitted.edges, fits):
            _inset(ax, x0, 0, 0.5, 1, edge, fit, width, at=0.4)
        levels = [xs, [0.5]]
    elif fitted.kind == "ridge":
        for x0 in xs:
            ax.plot([x0, 0.5], [0, 1], color="k", lw=0.8, zorder=1)
            ax.annotate("x", ((x0 + 0.5) / 2, 0.5), fontsize=7, ha="center", color="C0")
        _inset(ax, 0.5, 1, 0.5, 2, fitted.edges[0], fits[0], 0.35)
        levels = [xs, [0.5], [0.5]]
    else:  # a [d, w, 1] KAN: edges in layer order
        widths = fitted.widths
        levels = [np.linspace(0, 1, w + 2)[1:-1] for w in widths]
        k = 0
        for l in range(len(widths) - 1):
            for i in range(widths[l]):
                for o in range(widths[l + 1]):
                    _inset(ax, levels[l][i], l, levels[l + 1][o], l + 1, fitted.edges[k], fits[k], 0.5 / max(widths))
                    k += 1
    for l, level in enumerate(levels):
        ax.scatter(level, np.full(len(level), l), s=90, color="white", edgecolor="k", zorder=3)
    node = 1 if fitted.kind == "ridge" else top  # the node that sums (or multiplies) its edges
    ax.annotate(_NODE[fitted.kind], (0.5, node), ha="center", va="center", fontsize=10, zorder=4)
    for x0, name in zip(levels[0], used):
        ax.annotate(name, (x0, 0), xytext=(0, -16), textcoords="offset points", ha="center", fontsize=10)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.35, len(levels) - 0.6)
    ax.set_axis_off()
    short = found.expr.xreplace({f: sp.Float(f, 4) for f in found.expr.atoms(sp.Float)})  # a title, not the record
    shown = textwrap.fill(f"u = {sp.sstr(short)}", 64)
    ax.set_title(f"{fitted.kind} {fitted.widths}\n{shown}", fontsize=8)
    return ax
