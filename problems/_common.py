"""Helpers shared by the benchmark modules (not a benchmark itself).

- :func:`parse_resolution`: parse ``fd_solution(resolution=...)`` arguments.
- :func:`cache_dir`, :func:`load_or_compute`: the on-disk ``.npz`` cache of
  expensive reference solutions (``results/cache/`` at the project root, or
  ``$KANPDE_CACHE_DIR``), written atomically.
- :class:`SplineField`: a tensor-product spline through an FD solution as a
  differentiable torch function (any derivative order through autograd).
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from scipy.interpolate import NdBSpline, make_interp_spline

from kanpde.fd import FDSolution

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def parse_resolution(value, default: tuple[int, ...], what: str, nt_of_n: Callable[[int], int] | None = None):
    """``fd_solution``'s ``resolution``: None (the default), an int ``n`` or a tuple.

    For a steady problem the tuple is ``(n,)``; for an evolution problem it is
    ``(n, nt)``, and an int ``n`` takes ``nt = nt_of_n(n)``.
    """
    if value is None:
        return default
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value),) if nt_of_n is None else (int(value), int(nt_of_n(int(value))))
    try:
        value = tuple(value)
    except TypeError:
        raise TypeError(f"{what}: resolution must be None, an int or a tuple of {len(default)} ints, "
                        f"got {value!r}") from None
    if len(value) != len(default) or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                             and v >= 2 for v in value):
        names = "n" if len(default) == 1 else "(n, nt)"
        raise ValueError(f"{what}: resolution must be an int n >= 2 or {names} with ints >= 2, got {value!r}")
    return tuple(int(v) for v in value)


def save_every(nt: int, levels: int = 100) -> int:
    """The largest divisor s of ``nt`` that still keeps at least ``levels`` time steps
    (``nt // s >= levels``), so saved levels are evenly spaced; 1 when nt < levels."""
    return max(s for s in range(1, nt + 1) if nt % s == 0 and (nt // s >= levels or s == 1))


# --------------------------------------------------------------------------- disk cache


def cache_dir() -> Path:
    """Where cached reference solutions live: ``$KANPDE_CACHE_DIR`` or ``<project>/results/cache``."""
    env = os.environ.get("KANPDE_CACHE_DIR")
    return Path(env) if env else PROJECT_ROOT / "results" / "cache"


def _save_npz(path: Path, solution: FDSolution) -> None:
    """Write ``solution`` to ``path`` atomically (a temporary file in the same folder, then os.replace)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.stem + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, names=np.array(list(solution.axes)), values=solution.values, method=solution.method,
                     elapsed=solution.elapsed, **{f"axis_{i}": a for i, a in enumerate(solution.axes.values())})
        os.chmod(tmp, 0o644)  # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _load_npz(path: Path) -> FDSolution:
    with np.load(path, allow_pickle=False) as data:
        names = [str(s) for s in data["names"]]
        axes = {name: data[f"axis_{i}"] for i, name in enumerate(names)}
        return FDSolution(axes=axes, values=data["values"], method=str(data["method"]),
                          elapsed=float(data["elapsed"]))


def load_or_compute(filename: str, compute: Callable[[], FDSolution]) -> FDSolution:
    """The cached solution in ``cache_dir()/filename``, else ``compute()`` (then cached).

    An unreadable cache file is recomputed and overwritten; a cache folder that
    cannot be written only warns (the solution is still returned).
    """
    path = cache_dir() / filename
    if path.exists():
        try:
            return _load_npz(path)
        except Exception as err:  # corrupt or from an incompatible version: recompute
            warnings.warn(f"ignoring unreadable cache file {path} ({err}); recomputing", stacklevel=2)
    solution = compute()
    try:
        _save_npz(path, solution)
    except OSError as err:
        warnings.warn(f"could not cache the reference solution in {path}: {err}", stacklevel=2)
    return solution


# --------------------------------------------------------------------------- differentiable splines


def tensor_spline(solution: FDSolution, k: int = 3) -> NdBSpline:
    """Not-a-knot tensor-product spline through the nodal values of ``solution``
    (the same interpolant :meth:`FDSolution.interpolate` uses)."""
    coef, knots = np.asarray(solution.values, dtype=float), []
    for axis, nodes in enumerate(solution.axes.values()):
        spl = make_interp_spline(nodes, coef, k=k, axis=axis)
        coef = np.moveaxis(spl.c, 0, axis)
        knots.append(spl.t)
    return NdBSpline(tuple(knots), coef, k)


class _SplineValues(torch.autograd.Function):
    """Spline derivative ``nu`` at x; its backward is made of the same Function, so
    autograd can differentiate it again (``create_graph=True``)."""

    @staticmethod
    def forward(ctx, x, spline, nu):
        ctx.save_for_backward(x)
        ctx.spline, ctx.nu = spline, nu
        values = spline(x.detach().cpu().numpy(), nu=nu)
        return torch.as_tensor(values, dtype=x.dtype, device=x.device)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        columns = []
        for axis in range(x.shape[1]):
            nu = tuple(n + (i == axis) for i, n in enumerate(ctx.nu))
            columns.append(_SplineValues.apply(x, ctx.spline, nu))
        return grad_output.unsqueeze(1) * torch.stack(columns, dim=1), None, None


class SplineField:
    """A cubic tensor-product spline through an FD solution as a torch function
    ``(N, D) -> (N, 1)`` that autograd can differentiate (spline derivatives)."""

    def __init__(self, solution: FDSolution):
        self.spline = tensor_spline(solution)
        self.dim = len(solution.axes)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"expected points of shape (N, {self.dim}), got {tuple(x.shape)}")
        return _SplineValues.apply(x, self.spline, (0,) * self.dim).unsqueeze(1)

    def numpy(self, points: np.ndarray) -> np.ndarray:
        return self.spline(np.asarray(points, dtype=float))


def bump_wave(x: torch.Tensor, a: torch.Tensor, sign: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """u = sin(πx) sin(πy) cos(a (x + sign y)) on the unit square and its Laplacian, each ``(N, 1)``
    (``a`` a number or an ``(N, 1)`` column): zero on the boundary, its frequency set by ``a``.

        Δu = -(2π² + 2a²) u - 2aπ sin(a s) sin(π (y + sign x)),   s = x + sign y.
    """
    pi = torch.pi
    px, py = x[:, 0:1], x[:, 1:2]
    s = px + sign * py
    u = torch.sin(pi * px) * torch.sin(pi * py) * torch.cos(a * s)
    lap = -(2 * pi**2 + 2 * a**2) * u - 2 * a * pi * torch.sin(a * s) * torch.sin(pi * (py + sign * px))
    return u, lap


def family_config(points: int, final_steps: int = 20):
    """The recommended training of the parametric families (``*_param``): Adam 100, then Levenberg-Marquardt
    on grids 5, 10, 20 (15, 15, ``final_steps`` iterations) at ``points`` interior points."""
    import kanpde as kp

    return kp.TrainConfig(interior_points=points, schedule=[kp.Adam(100), kp.LM(15, grid=5), kp.LM(15, grid=10),
                                                            kp.LM(final_steps, grid=20)])


def family_model(seed: int = 0):
    """The [3, 10, 1] KAN of the parametric families (two coordinates and one parameter), grid 5, k = 3."""
    import kanpde as kp

    return kp.KAN([3, 10, 1], grid=5, k=3, seed=seed)
