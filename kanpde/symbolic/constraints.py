"""The built-in conditions' transform as sympy, so a formula is the formula of u, not of the network.

A problem with built-in conditions (``hard="auto"``, :mod:`kanpde.pde.constraints`) has

    u(x) = A(x) + phi(x) psi(t) N(E(x)),

and snapping reads the network N only. Here ``E``, ``phi psi`` and ``A`` are written as
sympy expressions where they are closed forms:

- ``E``: the periodic embedding ``cos / sin(2 pi k (x_a - lo) / L)`` (always);
- ``phi``: box faces ``2 (x_a - lo) / (hi - lo)`` / ``2 (hi - x_a) / (hi - lo)``, the disk's
  ``(R^2 - |x - c|^2) / R^2`` (and their products with time); other domains' distance
  functions are not closed forms: ValueError;
- ``A``: constant Dirichlet and initial data (one value, or two on opposite box faces);
  data given as functions of x are not sympy: ValueError.

Each piece is checked against the torch transform at sample points, so a formula never
silently disagrees with ``solution.model``.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
import torch
from torch import nn

from ..pde.constraints import _box_faces
from ..pde.embedding import PeriodicEmbedding
from ..geometry.domains import Disk, SpaceTime

_HINT = "build the problem with hard=False on its conditions (or problem.soft()) for a formula"


def _constant(value, what: str) -> sp.Expr:
    if callable(value):
        raise ValueError(f"formula() composes built-in conditions with constant data only, but the {what} is a "
                         f"function of x; {_HINT}")
    return sp.Float(float(value))


def features(constraints, symbols) -> list[sp.Expr]:
    """``E(x)``: what the network sees, one expression per network input."""
    if not constraints.periodic:
        return list(symbols)
    embed = PeriodicEmbedding(nn.Identity(), constraints.domain.dim, constraints.periodic, constraints.harmonics)
    out = []
    for a, w, kind in zip(embed.source, embed.omega, embed.phase):
        x = symbols[a]
        if kind == "id":
            out.append(x)
        else:
            arg = sp.Float(w) * (x - sp.Float(embed.periodic[a][0]))
            out.append(sp.cos(arg) if kind == "cos" else sp.sin(arg))
    return out


def _phi(constraints, symbols) -> sp.Expr:
    """The Dirichlet factor phi (1 without built-in Dirichlet conditions)."""
    if not constraints.dirichlet:
        return sp.Integer(1)
    domain = constraints.domain
    whole = any(c.on is None for c in constraints.dirichlet)
    spatial = domain.spatial if isinstance(domain, SpaceTime) else domain
    if whole and isinstance(spatial, Disk):
        axes = list(domain.spatial_axes) if isinstance(domain, SpaceTime) else list(range(domain.dim))
        r2 = sp.Float(spatial.radius) ** 2
        dist2 = sum((symbols[a] - sp.Float(float(c))) ** 2 for a, c in zip(axes, np.ravel(spatial.center)))
        return (r2 - dist2) / r2
    try:
        box, axes, faces = _box_faces(domain, None if whole else [c.on for c in constraints.dirichlet])
    except ValueError:
        raise ValueError(f"formula() writes the built-in Dirichlet factor for boxes and disks only, got {domain!r}; "
                         f"{_HINT}") from None
    lo, hi = box.bounds
    out = sp.Integer(1)
    for axis, upper in faces:
        x, a, b = symbols[axes[axis]], sp.Float(float(lo[axis])), sp.Float(float(hi[axis]))
        out *= 2 * ((b - x) if upper else (x - a)) / (b - a)
    return out


def _dirichlet_lift(constraints, symbols) -> sp.Expr:
    """G: the Dirichlet data extended inside (0 without built-in Dirichlet conditions)."""
    d = constraints.dirichlet
    if not d:
        return sp.Integer(0)
    values = [_constant(c.value, "Dirichlet data") for c in d]
    if all(v == values[0] for v in values):
        return values[0]
    box, axes, faces = _box_faces(constraints.domain, [d[0].on])        # two values: on opposite faces of one axis
    axis, upper = faces[0]
    x, a, b = symbols[axes[axis]], sp.Float(float(box.bounds[0][axis])), sp.Float(float(box.bounds[1][axis]))
    low, high = (values[1], values[0]) if upper else (values[0], values[1])
    return (low * (b - x) + high * (x - a)) / (b - a)  # the torch lift's blend (two opposite faces)


def _initial(constraints, symbols, G: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """The lift A (G corrected to the initial data) and the time factor psi."""
    if not constraints.initial:
        return G, sp.Integer(1)
    axis = constraints.domain.time_axis
    t = symbols[axis]
    t0, t1 = (sp.Float(float(b[axis])) for b in constraints.domain.bounds)
    lift = G
    if 0 in constraints.initial:
        lift += _constant(constraints.initial[0].value, "initial value") - G.subs(t, t0)
    if 1 in constraints.initial:
        lift += (t - t0) * (_constant(constraints.initial[1].value, "initial du/dt") - sp.diff(G, t).subs(t, t0))
    return lift, ((t - t0) / (t1 - t0)) ** len(constraints.initial)


def transform(problem, symbols) -> tuple[list[sp.Expr], sp.Expr, sp.Expr]:
    """``(E(x), A(x), phi(x) psi(t))`` of ``problem``'s built-in conditions as sympy expressions.

    Raises:
        ValueError: data given as functions, or a domain without a closed-form factor (with the fix).
    """
    constraints = problem.constraints
    lift, psi = _initial(constraints, symbols, _dirichlet_lift(constraints, symbols))
    factor = _phi(constraints, symbols) * psi
    _check(constraints, symbols, lift, factor)
    return features(constraints, symbols), lift, factor


def _check(constraints, symbols, lift: sp.Expr, factor: sp.Expr) -> None:
    """The expressions against the torch transform at sample points (a guard against drifting closed forms)."""
    x = torch.as_tensor(constraints.domain.sample_interior(64, method="sobol", seed=5), dtype=torch.float64)
    columns = x.numpy().T
    for name, expr, reference in [("lift", lift, constraints.lift), ("factor", factor, constraints.factor)]:
        got = np.broadcast_to(np.asarray(sp.lambdify(symbols, expr, "numpy")(*columns), dtype=float), (len(x),))
        want = reference(x).detach().numpy()                             # (N, 1 or m)
        if not np.allclose(got[:, None], want, rtol=1e-10, atol=1e-10):
            raise ValueError(f"formula(): the built-in conditions' {name} has no closed form here; {_HINT}")
