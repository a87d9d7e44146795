"""Field evaluation for export and figures: prediction, exact solution, error and PDE residual at points.

Point data (``fields=`` selects among them):

- the prediction, one scalar array per output (``u``, or each name in ``problem.outputs``);
- where the problem has an exact or reference solution: ``u_exact`` and the pointwise
  error ``error = u - u_exact`` (several outputs: ``<name>_exact`` and ``<name>_error``);
- on request (``residual=True`` or ``"residual"`` in ``fields``), the PDE residual
  ``residual`` (systems: ``residual_0``, ``residual_1``, ...), from autograd derivatives.

Everything is evaluated ``chunk_size`` points at a time, so memory beyond the arrays
themselves stays bounded by one chunk's forward pass.
"""

from __future__ import annotations

import numpy as np
import torch

from ..pde.metrics import CHUNK_SIZE, chunks

__all__ = ["RESIDUAL_CHUNK", "exact_on", "field_names", "field_values", "selected_fields"]

RESIDUAL_CHUNK = 4_096  # at most this many points per residual pass (autograd holds the whole graph)


def problem_of(solution):
    problem = getattr(solution, "problem", None)
    if problem is None:
        raise ValueError("export needs a solution with a problem (its domain); load the checkpoint with "
                         "kp.Solution.load(path, problem=...)")
    return problem


def field_names(solution, residual: bool = True) -> list[str]:
    """Names of the point-data arrays :func:`export_solution` can write for this solution.

    ``"residual"`` stands for all residual arrays (``residual`` or ``residual_0``, ...).
    """
    problem = problem_of(solution)
    outputs = list(problem.outputs)
    names = list(outputs)
    if problem.has_solution():
        names += [f"{o}_exact" for o in outputs]
        names += ["error"] if len(outputs) == 1 else [f"{o}_error" for o in outputs]
    if residual:
        names.append("residual")
    return names


def selected_fields(solution, fields, residual: bool) -> list[str]:
    valid = field_names(solution)
    if fields is None:
        return field_names(solution, residual=residual)
    if isinstance(fields, str):
        fields = [fields]
    fields = list(fields)
    for name in fields:
        if name not in valid:
            raise ValueError(f"unknown field {name!r}. Pick from {tuple(valid)}")
    if residual and "residual" not in fields:
        fields.append("residual")
    return list(dict.fromkeys(fields))


def _model_kind(model) -> dict:
    ref = next(iter(model.parameters()), None)
    if ref is None:
        return {"dtype": torch.float64, "device": torch.device("cpu")}
    return {"dtype": ref.dtype, "device": ref.device}


def _residuals(solution, x: np.ndarray, chunk_size: int = CHUNK_SIZE) -> np.ndarray:
    """PDE residuals at points ``(N, D)`` as ``(N, k)`` (all residuals' columns side by side)."""
    problem, model = solution.problem, solution.network
    kind = _model_kind(model)
    params = None
    if problem.parameters:
        learned = getattr(solution, "parameters", {}) or {}
        params = {k: torch.tensor(float(learned.get(k, v)), **kind) for k, v in problem.parameters.items()}
    out = []
    with torch.enable_grad():
        for s in chunks(len(x), min(chunk_size, RESIDUAL_CHUNK)):
            xc = torch.as_tensor(x[s]).to(**kind)
            rs = problem.residuals(model, xc, "autograd", params)
            out.append(torch.cat([r.detach() for r in rs], dim=1).cpu().numpy())
            del rs
    return np.concatenate(out).astype(float)


def _exact_values(problem, x: np.ndarray, chunk_size: int) -> np.ndarray:
    """The problem's exact (or reference) solution at numpy points, ``(N, m)``, chunk by chunk."""
    out = np.empty((len(x), len(problem.outputs)))
    with torch.no_grad():
        for s in chunks(len(x), chunk_size):
            out[s] = problem.solution_values(torch.as_tensor(x[s], dtype=torch.float64)).detach().cpu().numpy()
    return out


def field_values(solution, points, fields=None, residual: bool = False,
                 chunk_size: int = CHUNK_SIZE) -> dict[str, np.ndarray]:
    """Point-data arrays of a solution at points ``(N, D)`` (numpy), each ``(N,)`` (for a family,
    ``Problem(params=)``, points ``(N, D + P)`` with the parameter values last).

    Args:
        fields: names to compute (see :func:`field_names`); None: prediction, exact and error.
        residual: also the PDE residual.
        chunk_size: points per forward pass (memory beyond the arrays themselves stays bounded).

    Raises:
        ValueError: an unknown field name, or points of the wrong shape.
    """
    problem = problem_of(solution)
    wanted = selected_fields(solution, fields, residual)
    x = np.asarray(points, dtype=float)
    outputs = list(problem.outputs)
    single = len(outputs) == 1
    out: dict[str, np.ndarray] = {}
    need_exact = any(n.endswith("_exact") or n == "error" or n.endswith("_error") for n in wanted)
    need_pred = need_exact or any(n in outputs for n in wanted)
    pred = exact = None
    if need_pred:
        given = {} if not problem.params else {"params": x[:, problem.space.dim:]}  # points (x, mu): a row each
        pred = np.asarray(solution.predict(x[:, :problem.space.dim], check_domain=False, chunk_size=chunk_size,
                                           **given), dtype=float)
        pred = pred.reshape(len(x), -1)                                     # (N, m)
    if need_exact:
        exact = _exact_values(problem, x, chunk_size)                       # (N, m)
    for c, name in enumerate(outputs):
        error_name = "error" if single else f"{name}_error"
        if name in wanted:
            out[name] = pred[:, c]
        if f"{name}_exact" in wanted:
            out[f"{name}_exact"] = exact[:, c]
        if error_name in wanted:
            out[error_name] = pred[:, c] - exact[:, c]
    if "residual" in wanted:
        r = _residuals(solution, x, chunk_size)
        if r.shape[1] == 1:
            out["residual"] = r[:, 0]
        else:
            out.update({f"residual_{i}": r[:, i] for i in range(r.shape[1])})
    return {k: np.ascontiguousarray(v, dtype=float) for k, v in out.items()}


def exact_on(exact, points: np.ndarray, chunk_size: int = CHUNK_SIZE) -> np.ndarray:
    """Values ``(N,)`` of an exact solution (a Problem, a torch or a numpy function) at numpy points."""
    if len(points) > chunk_size:
        return np.concatenate([exact_on(exact, points[s], chunk_size) for s in chunks(len(points), chunk_size)])
    if hasattr(exact, "solution_values"):
        values = exact.solution_values(torch.as_tensor(points, dtype=torch.float64))
    else:
        try:
            with torch.no_grad():
                values = exact(torch.as_tensor(points, dtype=torch.float64))
        except (TypeError, AttributeError):
            values = exact(points)
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    values = np.asarray(values, dtype=float)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.shape != (len(points),):
        raise ValueError(f"exact must give {len(points)} values (shape ({len(points)},) or ({len(points)}, 1)), "
                         f"got shape {values.shape}")
    return values
