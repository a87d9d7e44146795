"""Problem: a domain, a PDE residual, conditions and an optional exact solution."""

from __future__ import annotations

import copy
import math
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from .conditions import Condition, ConditionPoints, Data, Dirichlet
from .constraints import plan
from .features import check_features
from .fields import DerivativeRecord, Field
from .functions import call_points
from .params import (ParamConstraints, ParamDomain, ParamValues, check_params, constant, fix, fix_condition, label,
                     lift_condition, lift_function, param_columns, split)
from .known import check_known, with_known
from .validate import check_conditions_agree, check_pde_signature
from ..geometry.domains import Domain


class TransformedModel(nn.Module):
    """``u(x) = transform(x, net(x))``: hard constraints as an output transform (autograd derivatives)."""

    def __init__(self, net: nn.Module, transform: Callable):
        super().__init__()
        self.net, self.transform = net, transform
        self.in_dim, self.out_dim = getattr(net, "in_dim", None), getattr(net, "out_dim", None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.transform(x, self.net(x))


def _residual_columns(values, n: int, outputs: int, what: str) -> torch.Tensor:
    """A residual as ``(N, k)`` with ``1 <= k <= outputs``; anything else a TypeError/ValueError naming it."""
    if not isinstance(values, torch.Tensor):
        raise TypeError(f"{what} must be a torch.Tensor computed from u (e.g. u.laplacian() - f), "
                        f"got {type(values).__name__}")
    if values.ndim == 1:
        values = values.unsqueeze(1)
    if values.ndim != 2 or values.shape[0] != n or not 1 <= values.shape[1] <= outputs:
        wanted = f"({n}, 1) or ({n},)" if outputs == 1 else f"({n}, k) with 1 <= k <= {outputs} (one per output)"
        raise ValueError(f"{what} must have shape {wanted}, got {tuple(values.shape)}")
    return values


def _check_outputs(outputs) -> tuple[str, ...]:
    if outputs is None:
        return ("u",)
    if isinstance(outputs, str):
        outputs = (outputs,)  # one name, not its letters
    try:
        outputs = tuple(outputs)
    except TypeError:
        raise TypeError(f"outputs must be a sequence of component names like ('u', 'v'), got {outputs!r}") from None
    if not outputs or not all(isinstance(o, str) and o for o in outputs) or len(set(outputs)) != len(outputs):
        raise ValueError(f"outputs must be unique non-empty names like ('u', 'v'), got {outputs!r}")
    return outputs


def _check_numbers(values, what: str, minimum: float | None = None) -> dict[str, float]:
    """``{name: number}`` with finite values (and ``>= minimum``), as floats."""
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise TypeError(f"{what} must be a dict {{name: number}}, got {type(values).__name__}: {values!r:.60}")
    out = {}
    for key, value in values.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"{what} keys must be non-empty names, got {key!r}")
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"{what}[{key!r}] must be a number, got {type(value).__name__}: {value!r:.60}")
        if not math.isfinite(value) or (minimum is not None and value < minimum):
            bound = "a finite number" if minimum is None else f"a finite number >= {minimum:g}"
            raise ValueError(f"{what}[{key!r}] must be {bound}, got {value!r}")
        out[key] = float(value)
    return out


GAUGE_KINDS = "'mean' or (point, value)"


def _check_gauge(gauge, outputs: tuple[str, ...], dim: int) -> dict[str, tuple]:
    """``{output: ("mean",) | ("point", point, value)}`` from ``Problem(gauge=)``; errors name the entry."""
    if gauge is None:
        return {}
    if not isinstance(gauge, dict):
        raise TypeError(f"gauge must be a dict {{output: {GAUGE_KINDS}}}, got {type(gauge).__name__}: {gauge!r:.60}")
    out = {}
    for name, spec in gauge.items():
        if name not in outputs:
            raise ValueError(f"gauge names unknown output {name!r}. Pick one of {outputs}")
        if spec == "mean":
            out[name] = ("mean",)
            continue
        try:
            point, value = spec
            point = tuple(float(v) for v in point)
            value = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"gauge[{name!r}] must be {GAUGE_KINDS} (e.g. ((0.0, 0.0), 0.0)), "
                            f"got {spec!r:.60}") from None
        if len(point) != dim or not all(math.isfinite(v) for v in (*point, value)):
            raise ValueError(f"gauge[{name!r}] needs a finite point of {dim} coordinates and a finite value, "
                             f"got {spec!r:.60}")
        out[name] = ("point", point, value)
    return out


def _check_callable(fn, what: str, signature: str):
    if fn is not None and not callable(fn):
        raise TypeError(f"{what} must be None or a function {signature}, got {type(fn).__name__}: {fn!r:.60}")
    return fn


class Problem:
    """A PDE problem for :func:`kanpde.solve`.

    The residual function states the equation ``R(x, u) = 0`` in the interior;
    each condition adds a loss term on its own points.

    Args:
        domain: a :class:`kangeometry.domains.Domain` (with a time axis for evolution problems).
        pde: ``pde(x, u) -> residual`` (or a tuple of residuals for systems), each
            ``(N, 1)`` or ``(N,)``; with ``parameters``, ``pde(x, u, p)`` where
            ``p[name]`` are learnable scalars (inverse problems).
        conditions: boundary/initial conditions, see :mod:`kanpde.conditions`.
        exact: optional exact solution ``exact(x) -> (N, m)`` (the convention of
            :mod:`kanpde.pde.functions`: torch points in, torch out), used for errors
            and for the error history.
        reference: optional reference solution ``(N, D) -> (N,)`` or ``(N, m)`` by the
            same convention (e.g. ``FDSolution.interpolate``), used when ``exact`` is None.
        name: shown in tables and saved with checkpoints.
        outputs: names of the solution components, default ``("u",)``; a single
            string is one name.
        parameters: ``{name: initial value}`` of unknown scalars learned with the model.
        transform: ``transform(x, net_output) -> u``, e.g. to satisfy Dirichlet data
            exactly (hard constraint). Derivatives then come from autograd.
        weights: suggested loss weights per term name (e.g. ``{"pde": 0.01}`` when the
            residual's scale dwarfs the conditions'); ``TrainConfig.weights`` overrides them.
        gauge: for outputs the equations fix only up to a constant (the pressure of incompressible flow),
            ``{name: "mean"}`` (compared with mean zero: :meth:`Solution.errors` removes both fields'
            means over its points before comparing) or ``{name: (point, value)}`` (``name`` equals ``value``
            at ``point``: a one-point loss term ``gauge[name]`` in training, and errors compare both
            fields shifted to that value there).
        features: known functions ``f(x) -> (N, 1)`` the network takes as extra inputs
            (``u = N(x, f(x))``, :mod:`kanpde.pde.features`), e.g.
            ``kp.corner_singularities(polygon)`` for re-entrant corners; the network then has
            ``problem.input_dim`` inputs.
        params: ``{name: kp.Range(lo, hi)}``: a family of problems trained at once (:mod:`kanpde.pde.params`).
            The pde, the conditions' functions and ``exact`` then take the values last (``pde(x, u, p)``,
            ``value(x, p)``, ``exact(x, p)`` with ``p.name`` an ``(N, 1)`` column) and the network takes
            ``(x, mu)``; ``problem.domain`` is the domain times the ranges, ``problem.space`` the domain.
        known: a known part of the solution ``known(x) -> (N, m)``: ``u = known + w`` with the network (and
            what is built in) representing w (:mod:`kanpde.pde.known`), e.g. a kink the network's
            embedding cannot hold; it must vanish at the initial time and on a built-in Dirichlet boundary.

    Raises:
        TypeError, ValueError: for a domain, pde, condition or exact solution that
            does not fit (wrong types, a condition the domain cannot have, an exact
            solution of the wrong shape).
    """

    def __init__(self, domain: Domain, pde: Callable, conditions: Sequence[Condition] = (), exact: Callable | None = None,
                 *, reference: Callable | None = None, name: str = "problem", outputs: Sequence[str] | None = None,
                 parameters: dict[str, float] | None = None, transform: Callable | None = None,
                 weights: dict[str, float] | None = None, features: Sequence[Callable] | None = None,
                 gauge: dict | None = None, params: dict | None = None, known: Callable | None = None):
        if not isinstance(domain, Domain):
            raise TypeError(f"domain must be a kanpde Domain (Interval, Rectangle, Box, Disk, ...), got {type(domain).__name__}")
        if not callable(pde):
            raise TypeError(f"pde must be a function pde(x, u), got {type(pde).__name__}")
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty str, got {name!r}")
        self.space, self.pde, self.name = domain, pde, name
        self.params = {} if params is None else check_params(params, domain.names)
        self.user_exact = _check_callable(exact, "exact", "exact(x) -> (N, m)")
        self.user_reference = _check_callable(reference, "reference", "reference(x) -> (N, m)")
        self.transform = _check_callable(transform, "transform", "transform(x, net_output) -> u")
        self.outputs = _check_outputs(outputs)
        self.parameters = _check_numbers(parameters, "parameters")
        self._check_params_combination(features, gauge)
        check_pde_signature(pde, self.parameters, self.params)
        # with params= the problem works on points (x, mu) (kanpde.pde.params): the domain times the ranges
        self.domain = ParamDomain(domain, self.params) if self.params else domain
        self.exact, self.reference = (lift_function(f, domain.dim, self.params) if self.params else f
                                      for f in (self.user_exact, self.user_reference))
        self.weights = _check_numbers(weights, "weights", minimum=0.0)
        self.all_conditions = self._check_conditions(conditions)
        check_conditions_agree(domain, self.all_conditions, self.outputs)
        self.features = check_features(features, domain.dim)
        if self.features and transform is not None:
            raise ValueError("features= and transform= cannot be combined: put the features into the transform")
        # conditions built into the output (kanpde.pde.constraints) and those left as loss terms
        self.constraints = plan(domain, self.all_conditions, self.outputs, allow=transform is None,
                                features=self.features)
        if self.params:
            self.constraints = self._param_constraints()
        self.hard = self.constraints.hard
        self.conditions = [c for c in self.all_conditions if not any(c is h for h in self.hard)]
        self.gauge = _check_gauge(gauge, self.outputs, domain.dim)
        self.conditions += self._gauge_conditions()
        self.terms = self._term_names(self.conditions)  # the Problem's names; conditions stay untouched
        self.built_in = self._term_names(self.hard)     # names of the conditions built into u
        self.known = _check_callable(known, "known", "known(x) -> (N, m)")
        if known is not None:
            if self.params:
                raise ValueError("params= cannot be combined with known=; give one of them")
            if transform is not None:
                raise ValueError("known= and transform= cannot be combined: put the known part into the transform")
            check_known(known, domain, self.all_conditions, self.hard, len(self.outputs))
        if exact is not None:
            self._check_exact()

    def with_hard_dirichlet(self) -> "Problem":
        """This problem with its whole-boundary Dirichlet condition as a hard constraint.

        Raises:
            ValueError: unless exactly one Dirichlet condition covers the whole boundary.
        """
        whole = [c for c in self.conditions if isinstance(c, Dirichlet) and c.on is None and c.component is None]
        if any(isinstance(c, Dirichlet) for c in self.hard):
            return self
        if len(whole) != 1:
            raise ValueError(f"a hard constraint needs exactly one Dirichlet condition on the whole boundary, "
                             f"problem {self.name!r} has {len(whole)}")
        conditions = [Dirichlet(c.value, hard=True, name=c.name) if c is whole[0] else c for c in self.all_conditions]
        return self._copy(conditions, self.features, self.known)

    def soft(self, features: bool = True, known: bool = True) -> "Problem":
        """This problem with every condition as a loss term (``hard=False``), nothing built in
        (``features=False``: without the ``features=`` inputs too; ``known=False``: without the known part,
        so a model given to it is u itself)."""
        conditions = [copy.copy(c) for c in self.all_conditions]
        for c in conditions:
            if hasattr(c, "hard"):
                c.hard = False
        return self._copy(conditions, self.features if features else None, self.known if known else None)

    def _copy(self, conditions, features, known) -> "Problem":
        """This problem with other conditions, features and known part (the user's domain and functions)."""
        return Problem(self.space, self.pde, conditions, self.user_exact, reference=self.user_reference,
                       name=self.name, outputs=self.outputs, parameters=self.parameters, transform=self.transform,
                       weights=self.weights, features=features, gauge=self.gauge_spec(), params=self.params or None,
                       known=known)

    def at(self, **values) -> "Problem":
        """One member of the family (``params=``): this problem at fixed values, e.g. ``problem.at(k=2.5)``,
        a plain problem on the domain (``pde(x, u)``, functions of x), named ``"name[k=2.5]"``.

        Raises:
            ValueError: a problem without ``params=``; a parameter missing, unknown or out of its range.
        """
        if not self.params:
            raise ValueError(f"at() needs a problem with params=; problem {self.name!r} has none")
        param_columns(self.params, 1, values)  # names and ranges, with the messages predict gives
        fixed = {name: float(values[name]) for name in self.params}
        user_pde = self.pde
        return Problem(self.space, lambda x, u: user_pde(x, u, constant(x, fixed)),
                       [fix_condition(c, fixed) for c in self.all_conditions],
                       fix(self.user_exact, **fixed) if self.user_exact is not None else None,
                       reference=fix(self.user_reference, **fixed) if self.user_reference is not None else None,
                       name=f"{self.name}[{label(fixed)}]", outputs=self.outputs, weights=self.weights)

    # -- validation -------------------------------------------------------------------------------

    def _check_params_combination(self, features, gauge) -> None:
        """What ``params=`` does not combine with (yet), refused by name."""
        if not self.params:
            return
        for given, what in ((self.parameters, "parameters= (inverse problems)"), (features, "features="),
                            (gauge, "gauge="), (self.transform, "transform=")):
            if given:
                raise ValueError(f"params= cannot be combined with {what}; give one of them")

    def _param_constraints(self) -> ParamConstraints:
        if self.constraints.periodic:
            raise ValueError("params= cannot be combined with a built-in Periodic condition; give "
                             "kp.Periodic(..., hard=False)")
        return ParamConstraints(self.constraints, self.params)

    def _check_conditions(self, conditions) -> list[Condition]:
        if isinstance(conditions, Condition):
            conditions = [conditions]
        try:
            conditions = list(conditions)
        except TypeError:
            raise TypeError(f"conditions must be a list of kanpde conditions, got {type(conditions).__name__}") from None
        for c in conditions:
            if not isinstance(c, Condition):
                raise TypeError(f"conditions must be kanpde conditions (Dirichlet, Neumann, ...), got {type(c).__name__}")
        if self.params:  # copies whose functions take the points (x, mu)
            conditions = [lift_condition(c, self.space.dim, self.params) for c in conditions]
        for c in conditions:
            c.check(self.domain)
            if isinstance(c.component, int) and c.component >= len(self.outputs):
                raise ValueError(f"{type(c).__name__} component {c.component} is out of range for outputs {self.outputs}")
            if isinstance(c.component, str) and c.component not in self.outputs:
                raise ValueError(f"unknown {type(c).__name__} component {c.component!r}. Pick one of {self.outputs}")
            if isinstance(c, Data):
                wanted = 1 if c.component is not None else len(self.outputs)
                if c.values.shape[1] != wanted:
                    raise ValueError(f"Data values must have {wanted} column(s) for outputs {self.outputs} "
                                     f"(component={c.component!r}), got shape {c.values.shape}")
        return conditions

    def _gauge_conditions(self) -> list[Condition]:
        """The point gauges as one-point Data terms ``gauge[name]`` (the point must lie in the domain)."""
        out = []
        for name, spec in self.gauge.items():
            if spec[0] == "point":
                condition = Data([spec[1]], [spec[2]], component=name, name=f"gauge[{name}]")
                condition.check(self.domain)
                out.append(condition)
        return out

    def gauge_spec(self) -> dict:
        """``gauge=`` as given (for copies of this problem)."""
        return {name: "mean" if spec[0] == "mean" else (spec[1], spec[2]) for name, spec in self.gauge.items()}

    @staticmethod
    def _term_names(conditions: Sequence[Condition]) -> list[str]:
        """Loss-term names: the condition's name (or kind), numbered when repeated."""
        counts: dict[str, int] = {}
        terms = []
        for c in conditions:
            base = c.name or c.default_name()
            counts[base] = counts.get(base, 0) + 1
            terms.append(base if counts[base] == 1 else f"{base}_{counts[base]}")
        return terms

    def term(self, condition: Condition) -> str:
        """The loss-term name of one of this problem's conditions."""
        for c, name in zip(self.conditions, self.terms):
            if c is condition:
                return name
        raise ValueError(f"{condition!r} is not a (soft) condition of problem {self.name!r}")

    def _check_exact(self) -> None:
        x = torch.as_tensor(self.domain.sample_interior(8, method="uniform", seed=0))
        call_points(self.exact, x, "exact", columns=len(self.outputs))

    def check_model(self, model: nn.Module) -> None:
        """Raise ValueError unless the model maps the domain's dimension to the outputs."""
        in_dim, out_dim = getattr(model, "in_dim", None), getattr(model, "out_dim", None)
        if in_dim is not None and in_dim != self.input_dim:
            if self.params:
                raise ValueError(f"the model takes {in_dim} inputs but the network needs {self.input_dim}: the "
                                 f"{self.space.dim} coordinates {self.space.names} and the {len(self.params)} "
                                 f"params {tuple(self.params)} (build it with problem.input_dim inputs)")
            if self.features:
                raise ValueError(f"the model takes {in_dim} inputs but the network needs {self.input_dim}: the "
                                 f"{self.domain.dim} coordinates {self.domain.names} and {len(self.features)} "
                                 "features= (build it with problem.input_dim inputs)")
            if self.input_dim != self.domain.dim:
                raise ValueError(f"the model takes {in_dim} inputs but the network needs {self.input_dim}: the "
                                 f"periodic embedding feeds it cos/sin features for the {self.domain.dim} coordinates "
                                 f"{self.domain.names} (build it with problem.input_dim inputs, or give "
                                 "kp.Periodic(..., hard=False))")
            raise ValueError(f"the model takes {in_dim} inputs but the domain has {self.domain.dim} "
                             f"coordinates {self.domain.names}")
        if out_dim is not None and out_dim != len(self.outputs):
            raise ValueError(f"the model has {out_dim} outputs but the problem has {len(self.outputs)} ({self.outputs})")

    # -- evaluation -------------------------------------------------------------------------------

    @property
    def dim(self) -> int:
        return self.domain.dim

    @property
    def input_dim(self) -> int:
        """The network's input width: the domain's dimension, plus the periodic embedding's extra features."""
        return self.constraints.input_dim

    def network_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """What the network itself sees at points x (the periodic embedding's features, else x)."""
        return self.constraints.network_inputs(x)

    def has_solution(self) -> bool:
        return self.exact is not None or self.reference is not None

    def solution_values(self, x: torch.Tensor) -> torch.Tensor:
        """Exact (or reference) solution at points x, ``(N, m)``."""
        if self.exact is not None:
            return call_points(self.exact, x, "exact", columns=len(self.outputs))
        if self.reference is None:
            raise ValueError(f"problem {self.name!r} has neither an exact nor a reference solution")
        return call_points(self.reference, x, "reference", columns=len(self.outputs))

    def model_for_fields(self, model: nn.Module) -> nn.Module:
        """The model as the solution sees it: with the hard constraint or transform applied (and ``known``
        added)."""
        if self.hard or self.features:
            model = self.constraints.wrap(model)
        elif self.transform is not None:
            model = TransformedModel(model, self.transform)
        return model if self.known is None else with_known(model, self.known, len(self.outputs))

    def field(self, model: nn.Module, x: torch.Tensor, backend: str = "auto",
              record: DerivativeRecord | None = None) -> Field:
        """The solution field of ``model`` at points x.

        ``record``: the derivatives a run's residuals asked for so far (the trainer keeps one per run, so
        later batches compute them in one jet pass); None: a fresh one (the Problem keeps no run state).
        """
        model = self.model_for_fields(model)  # with params=, derivatives along the space's coordinates only
        return Field(model, x, self.space.names, self.space.spatial_axes, backend=backend,
                     outputs=self.outputs, record=DerivativeRecord() if record is None else record)

    def residuals(self, model: nn.Module, x: torch.Tensor, backend: str = "auto",
                  parameters: dict[str, torch.Tensor] | None = None,
                  record: DerivativeRecord | None = None) -> list[torch.Tensor]:
        """PDE residuals at interior points x, each ``(N, k)`` (``record``: as for :meth:`field`)."""
        u = self.field(model, x, backend, record)
        out = self.call_pde(u, parameters)
        out = list(out) if isinstance(out, (tuple, list)) else [out]
        if not out:
            raise ValueError("pde returned no residuals (an empty tuple); return at least one (N, 1) residual")
        names = self.residual_names(len(out))
        return [_residual_columns(r, x.shape[0], len(self.outputs), f"pde residual {name!r}")
                for r, name in zip(out, names)]

    def call_pde(self, u: Field, parameters=None):
        """The user's ``pde(x, u)``, ``pde(x, u, p)`` with the learned ``parameters``, or, with ``params=``,
        ``pde(x, u, p)`` with the parameter values at the points (:class:`~kanpde.pde.params.ParamValues`)."""
        if self.params:
            x, p = self.split(u.x)
            return self.pde(x, u, p)
        return self.pde(u.x, u, parameters) if self.parameters else self.pde(u.x, u)

    def split(self, z: torch.Tensor) -> tuple[torch.Tensor, ParamValues]:
        """Points ``z = (x, mu)`` as the coordinates ``(N, D)`` and the parameter values (``params=`` only)."""
        return split(z, self.space.dim, self.params)

    def residual_names(self, count: int) -> list[str]:
        return ["pde"] if count == 1 else [f"pde{i}" for i in range(count)]

    def condition_residual(self, condition: Condition, model: nn.Module, points: ConditionPoints,
                           backend: str = "auto", record: DerivativeRecord | None = None) -> torch.Tensor:
        """A soft condition's residual at its points (``record``: as for :meth:`field`)."""
        return condition.residual(lambda x: self.field(model, x, backend, record), points)

    def spec(self) -> dict:
        """What a checkpoint records to tell this problem from another: name, domain, outputs, terms."""
        return {"name": self.name, "domain": repr(self.domain), "domain_kind": type(self.domain).__name__,
                "coordinates": list(self.domain.names), "outputs": list(self.outputs), "terms": list(self.terms),
                "built_in": list(self.built_in), "transform": self.transform_kind(),
                **({"params": {n: [r.lo, r.hi] for n, r in self.params.items()}} if self.params else {})}

    def transform_kind(self) -> str:
        """``"constraints"`` (conditions built into u), ``"custom"`` (a ``transform=``) or ``"none"``."""
        return "constraints" if self.hard else "custom" if self.transform is not None else "none"

    def __repr__(self) -> str:
        terms = ", ".join(self.terms)
        return f"Problem({self.name!r}, domain={self.domain!r}, conditions=[{terms}])"
