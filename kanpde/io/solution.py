"""Solution: a trained model with its problem, history, predictions, errors and checkpoints."""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..checks import check_file_path, check_points_input
from ..files import atomic_write
from ..nn.spec import build_model, model_spec
from ..pde.metrics import CHUNK_SIZE, chunks, column_squared_errors, evaluation_points, relative_l2_from
from ..pde.params import FixedParams, param_columns, sweep
from ..pde.problem import Problem
from ..train.history import History



def _metrics(sums: torch.Tensor, gradient_sums: torch.Tensor | None, max_abs: float) -> dict[str, float]:
    """``rel_l2``, ``max_abs`` (and ``rel_h1`` given the gradients' sums) from accumulated squared errors ``(2,)``."""
    out = {"rel_l2": relative_l2_from(sums), "max_abs": max_abs}
    if gradient_sums is not None:
        out["rel_h1"] = relative_l2_from(sums + gradient_sums)
    return out


def _input_gradient(values: torch.Tensor, z: torch.Tensor, keep: bool) -> torch.Tensor:
    """``d values / d z`` row by row, ``(N, D)``; zeros for values that do not depend on z."""
    if not values.requires_grad:
        return torch.zeros_like(z)
    grad, = torch.autograd.grad(values.sum(), z, retain_graph=keep, allow_unused=True)
    return torch.zeros_like(z) if grad is None else grad


class Solution:
    """A trained model and what is known about it.

    Attributes:
        problem: the :class:`Problem` (None for a checkpoint loaded without one).
        model: the solution u as an ``nn.Module`` on points ``(N, D) -> (N, m)``, hard
            constraints and ``transform=`` included (``model(x)`` equals ``predict(x)``).
        network: the bare trained network inside ``model`` (what the optimiser trained).
        problem_spec: the problem's spec as saved with a checkpoint (name, domain, outputs,
            terms, transform), or that of ``problem``.
        history: :class:`History` of the training.
        parameters: learned unknown scalars of an inverse problem, ``{name: value}``.
        config: the training configuration, as a plain dict.
        elapsed: training wall time in seconds.
    """

    # Loaders of other checkpoint formats, by format name: io.marching registers MarchedSolution's, so
    # Solution.load reads every kind without importing the modules built on top of it.
    loaders: dict = {}


    def __init__(self, problem: Problem | None, network: nn.Module, history: History | None = None,
                 config: dict | None = None, parameters: dict[str, float] | None = None, elapsed: float = 0.0,
                 problem_spec: dict | None = None):
        if problem is not None and not isinstance(problem, Problem):
            raise TypeError(f"problem must be a kanpde.Problem or None, got {type(problem).__name__}")
        if not isinstance(network, nn.Module):
            raise TypeError(f"network must be a torch.nn.Module, got {type(network).__name__}")
        self.problem, self.network = problem, network
        self.model = problem.model_for_fields(network) if problem is not None else network  # u, not N
        self.problem_spec = problem.spec() if problem is not None else problem_spec
        self.history = history or History()
        self.config = config or {}
        self.parameters = dict(parameters or {})
        self.elapsed = elapsed

    def _model_tensor(self) -> torch.Tensor:
        return next(iter(self.network.parameters()))

    def _points(self, points) -> tuple[torch.Tensor, bool]:
        check_points_input("points", points)  # complex or 'meta' input: refused, not cast or crashed on
        is_numpy = not isinstance(points, torch.Tensor)
        if is_numpy:
            try:
                points = np.asarray(points, dtype=float)
            except (TypeError, ValueError) as err:
                raise TypeError(f"points must be an (N, D) array of numbers, got {type(points).__name__}: {err}") from None
        # the domain's dimension: a built-in periodic embedding widens what the network itself takes
        dim = self.problem.dim if self.problem is not None else getattr(self.network, "in_dim", None)
        if points.ndim != 2 or (dim is not None and points.shape[1] != dim):
            raise ValueError(f"expected points of shape (N, {dim}), got {tuple(points.shape)}")
        x = torch.as_tensor(points)
        if not bool(torch.isfinite(x).all()):
            raise ValueError("points contain NaN or inf")
        ref = self._model_tensor()
        return x.to(dtype=ref.dtype, device=ref.device), is_numpy

    @property
    def params(self) -> dict:
        """The problem's ``params=`` ranges, ``{name: Range}`` (empty for one problem, not a family)."""
        return self.problem.params if self.problem is not None else {}

    def param_points(self, points, params=None, values: dict | None = None):
        """Points ``(N, D)`` with the parameter columns appended, ``(N, D + P)`` (numpy or torch as given):
        one value per name (``values``) or one row per point (``params``), see
        :func:`kanpde.pde.params.param_columns`.

        Raises:
            ValueError: points without the domain's D columns, or parameters missing, unknown, out of range
                or of the wrong shape (each error names the parameter and the choices).
        """
        check_points_input("points", points)
        dim, names = self.problem.space.dim, self.problem.space.names
        if getattr(points, "ndim", None) != 2 or points.shape[1] != dim:
            raise ValueError(f"expected points of shape (N, {dim}) (coordinates {names}; the parameters "
                             f"{tuple(self.params)} come as {next(iter(self.params))}=... or params=), got "
                             f"{tuple(getattr(points, 'shape', ()))}")
        mu = param_columns(self.params, len(points), values, params)                  # (N, P)
        if isinstance(points, torch.Tensor):
            return torch.cat([points, torch.as_tensor(mu).to(points)], dim=1)
        return np.column_stack([np.asarray(points, dtype=float), mu])

    def predict(self, points, check_domain: bool = True, chunk_size: int = CHUNK_SIZE, *, params=None, **values):
        """The solution at points ``(N, D)``: numpy in, numpy out; torch in, torch out.

        Evaluated ``chunk_size`` points at a time, so memory beyond the ``(N, D)`` input
        and ``(N, m)`` output stays bounded by one chunk's forward pass.

        For a family (``Problem(params=)``), the parameter values come as one number per name
        (``predict(x, k=3.2)``) or one row per point (``predict(x, params=mu)``, ``mu`` ``(N, P)``
        or ``{name: (N,) column}``).

        Returns:
            ``(N, m)`` values (m components).

        Raises:
            ValueError: wrong shape, NaN, (with ``check_domain``) points outside the domain,
                a ``chunk_size`` that is not a positive int, or parameters missing, unknown, out of
                their range or given to a problem without ``params=``.
        """
        if self.params:
            points = self.param_points(points, params, values)
        elif params is not None or values:
            raise ValueError(f"predict got parameters {sorted(values) or ['params']} but the problem has no "
                             "params=; call predict(points)")
        x, is_numpy = self._points(points)
        slices = list(chunks(len(x), chunk_size))
        if check_domain and self.problem is not None:
            for s in slices:
                inside = self.problem.domain.contains(x[s].detach().cpu().numpy(), tol=1e-6)
                if not inside.all():
                    outside = int(sum((~self.problem.domain.contains(x[c].detach().cpu().numpy(), tol=1e-6)).sum()
                                      for c in slices))
                    bad = x[s][torch.as_tensor(~inside)][0].tolist()
                    raise ValueError(f"{outside} of {len(x)} points lie outside the domain "
                                     f"{self.problem.domain!r}, e.g. {bad}; pass check_domain=False to extrapolate")
        model, values = self.model, None
        evaluate = self._query if self.params else model
        with torch.no_grad():
            for s in slices:
                chunk = evaluate(x[s])                                          # (chunk, m)
                if values is None:
                    values = chunk.new_empty((len(x), chunk.shape[1]))         # (N, m)
                values[s] = chunk
            if values is None:  # no points (a KAN cannot evaluate an empty batch)
                values = x.new_empty((0, len(self.problem.outputs) if self.problem is not None
                                      else getattr(self.model, "out_dim", 1)))
        return values.cpu().numpy() if is_numpy else values.to(points.device)

    def _query(self, z: torch.Tensor) -> torch.Tensor:
        """A family's values at points ``z = (x, mu)`` ``(N, m)``: the value of the model's first-order jet where it
        has one (the fused kernel's one pass per layer, several times cheaper than the module's forward at 10^4
        points and equal to it to round-off), else the forward."""
        if hasattr(self.model, "jet") and getattr(self.model, "supports_jet", True):
            return self.model.jet(z, order=1).value
        return self.model(z)

    def errors(self, points=None, chunk_size: int = CHUNK_SIZE, *, params=None, gradients: bool = True,
               **values) -> dict:
        """Errors against the exact (or reference) solution on the dense evaluation set.

            rel_l2 = ||u - u*|| / ||u*||,   max_abs = max |u - u*|

        over the set (:func:`~kanpde.pde.metrics.evaluation_points`: a regular grid up to
        3-D, seeded Halton points beyond) and all components; ``rel_h1`` adds the gradients
        to both norms when the exact solution is a differentiable torch function. Sums are
        accumulated ``chunk_size`` points at a time.

        Outputs with a ``Problem(gauge=)`` are compared after the gauge is applied to both fields
        (a ``"mean"`` gauge: each minus its mean over the points; a point gauge: each shifted to the
        gauge's value at its point), so a pressure fixed only up to a constant is measured fairly.

        For a system (``outputs=("u", "v", "p")``) the overall keys are followed by one
        dict per component with the same keys over that component alone:
        ``{"rel_l2": .., "max_abs": .., "u": {"rel_l2": .., "max_abs": ..}, "v": {...}, ...}``.
        A scalar problem gets the overall keys only.

        For a family (``Problem(params=)``): ``errors(k=3.2)`` at one parameter value (points ``(N, D)``,
        default the domain's evaluation set), ``errors(points, params=mu)`` one row per point; without
        values, over the family (the evaluation set of ``(x, mu)``, mu on a grid over the ranges).
        ``gradients=False`` leaves out ``rel_h1`` (its autograd pass costs more than the values).

        Raises:
            ValueError: the problem has no exact or reference solution.
        """
        if self.problem is None or not self.problem.has_solution():
            raise ValueError("errors() needs a problem with an exact or reference solution")
        if self.params and (params is not None or values):
            points = self.param_points(evaluation_points(self.problem.space)[0] if points is None else points,
                                       params, values)
        elif points is None:
            points, _ = evaluation_points(self.problem.domain)
        x, _ = self._points(points)
        h1 = self.problem.exact is not None and gradients
        m = len(self.problem.outputs)
        shift_u, shift_exact = self._gauge_shifts(x, chunk_size)                  # (m,) each
        sums, gradient_sums = x.new_zeros(2, m), x.new_zeros(2, m)               # per component
        max_abs = x.new_zeros(m)                                                  # (m,)
        evaluate = self._query if self.params else self.model
        for s in chunks(len(x), chunk_size):
            exact = self.problem.solution_values(x[s]).detach() - shift_exact     # (chunk, m)
            with torch.no_grad():
                u = evaluate(x[s]) - shift_u                                      # (chunk, m)
            sums += column_squared_errors(u, exact)
            max_abs = torch.maximum(max_abs, (u - exact).abs().amax(0))
            if h1:
                gradient_sums += self._gradient_sums(x[s], m)
        out = _metrics(sums.sum(1), gradient_sums.sum(1) if h1 else None, float(max_abs.max()))
        if m > 1:
            for c, name in enumerate(self.problem.outputs):
                out[name] = _metrics(sums[:, c], gradient_sums[:, c] if h1 else None, float(max_abs[c]))
        return out

    def at(self, **values) -> "Solution":
        """One member of a family's solution, e.g. ``solution.at(k=2.5)``: a plain solution of
        ``problem.at(k=2.5)`` whose model is the family's at those values (for figures, export, baselines).

        Raises:
            ValueError: a problem without ``params=``, or as :meth:`predict`.
        """
        member = self.problem.at(**values) if self.problem is not None else None
        if member is None:
            raise ValueError("at() needs a solution with its problem attached")
        network = FixedParams(self.network, [values[name] for name in self.params])
        return Solution(member, network, self.history, self.config, self.parameters, self.elapsed)

    def errors_over(self, chunk_size: int = CHUNK_SIZE, **values) -> dict:
        """Errors at each value of a parameter sweep, e.g. ``errors_over(k=np.linspace(1, 4, 50))`` (rel L2 and
        max abs on the domain's evaluation set, as :meth:`errors` at each value; no ``rel_h1``).

        Returns:
            ``{"values": [{name: v}, ...], "rel_l2": [...], "max_abs": [...], "worst": {"rel_l2": ..,
            "max_abs": .., "at": {name: v}}}``: ``worst`` is the sweep's largest rel L2 (and max abs).

        Raises:
            ValueError: a problem without ``params=``, or as :meth:`predict`.
        """
        if not self.params:
            raise ValueError("errors_over() needs a problem with params=; use errors()")
        points = sweep(self.params, values)
        rows = [self.errors(chunk_size=chunk_size, gradients=False, **point) for point in points]
        rel, top = [r["rel_l2"] for r in rows], [r["max_abs"] for r in rows]
        worst = int(np.argmax(rel))
        return {"values": points, "rel_l2": rel, "max_abs": top,
                "worst": {"rel_l2": rel[worst], "max_abs": max(top), "at": points[worst]}}

    def _gauge_shifts(self, x, chunk_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The constants ``(c_u, c_exact)`` ``(m,)`` subtracted from the solution and the exact values per
        component before comparing (``Problem(gauge=)``; zero for the others): a ``"mean"`` gauge takes
        each field's mean over the points ``x``, a point gauge ``(p, value)`` each field's value at p minus
        ``value``."""
        m = len(self.problem.outputs)
        shift_u, shift_exact = x.new_zeros(m), x.new_zeros(m)
        gauge = self.problem.gauge
        if not gauge:
            return shift_u, shift_exact
        means = x.new_zeros(2, m)                                                 # sums of u and u*
        if any(spec[0] == "mean" for spec in gauge.values()):
            for s in chunks(len(x), chunk_size):
                with torch.no_grad():
                    means += torch.stack([self.model(x[s]).sum(0), self.problem.solution_values(x[s]).detach().sum(0)])
            means /= max(len(x), 1)
        for name, spec in gauge.items():
            c = self.problem.outputs.index(name)
            if spec[0] == "mean":
                shift_u[c], shift_exact[c] = means[0, c], means[1, c]
                continue
            point = x.new_tensor([spec[1]])                                       # (1, D)
            with torch.no_grad():
                shift_u[c] = self.model(point)[0, c] - spec[2]
            shift_exact[c] = self.problem.solution_values(point).detach()[0, c] - spec[2]
        return shift_u, shift_exact

    def _gradient_sums(self, x, m: int) -> torch.Tensor:
        """Per component: ``(||grad u_c - grad u_c*||², ||grad u_c*||²)``, shape ``(2, m)``."""
        model, exact = self._gradients(x)                                         # (N, m * D) each
        shape = (len(x), m, self.problem.space.dim)
        return torch.stack([(model - exact).reshape(shape).pow(2).sum((0, 2)),
                            exact.reshape(shape).pow(2).sum((0, 2))])             # (2, m)

    def _gradients(self, x) -> tuple[torch.Tensor, torch.Tensor]:
        """Input gradients of the model and of the exact solution, each ``(N, m * D)`` (component-major)."""
        grads = []
        for f in (self.model, self.problem.exact):
            z = x.detach().clone().requires_grad_(True)
            values = f(z)
            values = values.unsqueeze(1) if values.ndim == 1 else values          # (N, m)
            m = values.shape[1]
            # one backward pass per component through the same graph: keep it until the last
            grads.append(torch.cat([_input_gradient(values[:, c], z, keep=c < m - 1)[:, :self.problem.space.dim]
                                    for c in range(m)], 1))  # along the coordinates (not the params=)
        return grads[0].detach(), grads[1].detach()

    def formula(self, **options):
        """The solution as a sympy expression: ``kp.symbolic.formula(self, **options).expr``
        (distilled, snapped, refitted and verified; see :func:`kanpde.symbolic.formula`)."""
        return self.formula_report(**options).expr

    def formula_report(self, **options):
        """The :class:`kanpde.symbolic.Formula` of this solution (expression, rel L2, PDE residual, size)."""
        from ..symbolic import formula  # io sits above symbolic: a downward import, loaded on demand (sympy)

        return formula(self, **options)

    # -- checkpoints --------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> Path:
        """Write a checkpoint atomically: network weights and spec, history, config, the
        transform kind and the problem's spec (no code: it loads with ``weights_only=True``)."""
        path = check_file_path("path", path)
        payload = {
            "format": FORMAT,
            "model_spec": model_spec(self.network),
            "state_dict": {k: v.detach().cpu() for k, v in self.network.state_dict().items()},
            "history": self.history.to_dict(),
            "config": _plain(self.config),
            "parameters": {k: float(v) for k, v in self.parameters.items()},
            "transform": self.problem.transform_kind() if self.problem is not None else
            (self.problem_spec or {}).get("transform", "none"),
            "problem": _plain(self.problem_spec),
            "elapsed": float(self.elapsed),
        }
        return atomic_write(path, lambda tmp: torch.save(payload, tmp))

    @classmethod
    def load(cls, path: str | os.PathLike, problem: Problem | None = None, model: nn.Module | None = None) -> "Solution":
        """Read a checkpoint (``weights_only=True``: no code is unpickled) and restore the same solution.

        Args:
            problem: the problem it was trained on. Needed for a hard constraint or a custom
                ``transform=`` (their data are code, not saved); checked against the saved spec.
                Without it, predictions come from the bare network and no domain is known.
            model: a network of the saved architecture, for models kanpde cannot rebuild.

        Raises:
            FileNotFoundError: no such file.
            ValueError: a file that is no readable kanpde checkpoint (corrupt, empty, truncated,
                or holding code), a transform checkpoint loaded without its problem, or a
                problem whose spec differs from the saved one.
        """
        payload = read_checkpoint(path)
        if payload["format"] in cls.loaders:  # another kind of solution (io.marching registers its own)
            return cls.loaders[payload["format"]](payload, problem, path)
        network = _network(path, payload, model)
        transform, spec = payload["transform"], payload["problem"]
        if problem is None:
            if transform != "none":
                what = ("conditions built into u (hard constraints: their data are code)" if transform == "constraints"
                        else "a custom transform= (code, which checkpoints do not hold)")
                raise ValueError(f"{str(path)!r} was trained with {what}; without its problem it cannot give u. "
                                 f"Pass the problem: Solution.load(path, problem=...)")
            return cls(None, network, _history(path, payload), payload["config"], payload["parameters"],
                       payload["elapsed"], problem_spec=spec)
        if not isinstance(problem, Problem):
            raise TypeError(f"problem must be a kanpde.Problem, got {type(problem).__name__}")
        _check_spec(path, spec, transform, problem)
        return cls(problem, network, _history(path, payload), payload["config"], payload["parameters"],
                   payload["elapsed"])


FORMAT = "kanpde-solution-2"
TRANSFORMS = ("none", "constraints", "custom")
_FIELDS = {"model_spec": (dict, type(None)), "state_dict": dict, "history": dict, "config": dict,
           "parameters": dict, "transform": str, "problem": (dict, type(None)), "elapsed": (float, int)}


def read_checkpoint(path: str | os.PathLike) -> dict:
    """A checkpoint's payload, read with ``weights_only=True`` and checked field by field.

    Raises:
        FileNotFoundError: no such file.
        ValueError: naming the file, for anything that is not a readable kanpde checkpoint.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such checkpoint: {str(path)!r}")
    if not path.is_file():
        raise ValueError(f"checkpoint {str(path)!r} is not a file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        found = re.search(r"GLOBAL ([\w.]+)", str(err))
        if not found:
            raise ValueError(f"{str(path)!r} is not a readable kanpde checkpoint (corrupt, empty or truncated?): "
                             f"{_pickle_detail(err)}") from None
        # weights_only refuses globals before calling them: nothing in the file has run
        raise ValueError(f"refusing checkpoint {str(path)!r}: it holds code ({found.group(1)}), not just tensors "
                         "and plain data; kanpde never unpickles code") from None
    except Exception as err:  # zip/pickle/EOF/index errors of corrupt, empty or truncated files
        raise ValueError(f"{str(path)!r} is not a readable kanpde checkpoint (corrupt, empty or truncated?): "
                         f"{type(err).__name__}: {' '.join(str(err).split())[:200]}") from None
    if isinstance(payload, dict) and payload.get("format") in Solution.loaders:
        return payload  # another kind of solution (time-marched windows): checked by its registered loader
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise ValueError(f"{str(path)!r} is not a kanpde solution checkpoint of format {FORMAT!r} (found {found!r})")
    for key, kind in _FIELDS.items():
        if not isinstance(payload.get(key), kind):
            raise ValueError(f"checkpoint {str(path)!r} is damaged: field {key!r} is "
                             f"{type(payload.get(key)).__name__}")
    if payload["transform"] not in TRANSFORMS:
        raise ValueError(f"checkpoint {str(path)!r} has unknown transform {payload['transform']!r}. "
                         f"Pick one of {TRANSFORMS}")
    return payload


def _pickle_detail(err: Exception) -> str:
    text = " ".join(str(err).split())
    return text[text.find("WeightsUnpickler error:"):][:200] if "WeightsUnpickler error:" in text else text[:200]


def _network(path, payload: dict, model: nn.Module | None) -> nn.Module:
    """The saved network: rebuilt from its spec (or the given ``model``), weights loaded."""
    state = payload["state_dict"]
    if not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"checkpoint {str(path)!r} is damaged: its state_dict holds no tensors")
    if model is None:
        if payload["model_spec"] is None:
            raise ValueError(f"the model type of {str(path)!r} cannot be rebuilt; pass model=")
        try:
            model = build_model(payload["model_spec"])
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"checkpoint {str(path)!r} has a damaged model spec {payload['model_spec']!r}: "
                             f"{err}") from None
    elif not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    try:
        model.to(next(iter(state.values())).dtype).load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(f"the weights in {str(path)!r} do not fit the model: {' '.join(str(err).split())[:300]}") \
            from None
    return model


def _history(path, payload: dict) -> History:
    try:
        return History(**payload["history"])
    except TypeError as err:
        raise ValueError(f"checkpoint {str(path)!r} is damaged: unreadable history ({err})") from None


def _check_spec(path, spec: dict | None, transform: str, problem: Problem) -> None:
    """Raise ValueError unless ``problem`` is the one the checkpoint was saved with."""
    given = problem.spec()
    saved = spec if spec is not None else {"transform": transform}
    differ = [k for k in saved if saved[k] != given.get(k)]
    if differ:
        details = "; ".join(f"{k}: saved {saved[k]!r}, given {given.get(k)!r}" for k in differ)
        raise ValueError(f"the problem given does not match checkpoint {str(path)!r} ({details})")


def _plain(value):
    """Config values reduced to what ``torch.load(weights_only=True)`` accepts."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None:
        return value
    for plain in (bool, int, float, str):  # a subclass (the sized defaults' SizedInt) as the plain type
        if isinstance(value, plain):
            return plain(value)
    return repr(value)
