"""Benchmark PDE problems for kanpde, one module each, with exact or reference solutions.

    import problems
    problems.names()                         # ['poisson2d', 'poisson2d_paper', ...]
    problem = problems.load_problem("burgers1d")
    module = problems.get("burgers1d")       # DESCRIPTION, FD, fd_solution(), exact, ...
    fd = module.fd_solution()                # the finite-difference counterpart (where FD)
    problem = problems.load_problem_file("my_problem.py")

Every module provides ``problem() -> kanpde.Problem`` (named after its registry
entry), ``exact(x)`` on torch tensors (or ``None`` with a ``reference``; ``exact(x, p)`` for the
parametric families ``*_param``, whose modules also have ``PARAMS``),
``fd_solution(resolution=None) -> kanpde.fd.FDSolution`` (raising
NotImplementedError where ``FD`` is False), ``DESCRIPTION`` (one line) and ``FD``.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType

import kanpde as kp

from . import (advection1d, allen_cahn1d, burgers1d, heat1d, heat1d_param, heat2d, helmholtz2d, helmholtz_param,
               laplace_mesh, laplace_mixed, plate_param, poisson2d, poisson2d_paper, poisson3d, poisson_disk,
               poisson_lshape, poisson_nd, poisson_param, poisson_plate_hole, wave1d)

__all__ = ["PROBLEMS", "names", "get", "load_problem", "load_problem_file"]


class Variant:
    """A registry entry that is a module with some ``problem()`` arguments fixed
    (``poisson5d`` is ``poisson_nd`` with ``d=5``); other attributes come from the module."""

    def __init__(self, module: ModuleType, name: str, description: str, **fixed):
        self.module, self.NAME, self.DESCRIPTION, self.fixed = module, name, description, fixed
        self.__doc__ = module.__doc__

    def problem(self, **kwargs) -> kp.Problem:
        return self.module.problem(**{**self.fixed, **kwargs})

    def __getattr__(self, attr):
        if attr == "module":  # not set yet (copy, pickle): no recursion
            raise AttributeError(attr)
        return getattr(self.module, attr)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.fixed.items())
        return f"<problem {self.NAME!r}: {self.module.__name__} with {args}>"


PROBLEMS: dict[str, ModuleType | Variant] = {
    "poisson2d": poisson2d,
    "poisson2d_paper": poisson2d_paper,
    "poisson_disk": poisson_disk,
    "poisson3d": poisson3d,
    "poisson_nd": poisson_nd,
    "poisson5d": Variant(
        poisson_nd, "poisson5d",
        "5-D Poisson Δu = f on [0,1]^5, u = mean sin(πx_i/2) + exp(-|x|²/5), Dirichlet = exact", d=5),
    "poisson10d": Variant(
        poisson_nd, "poisson10d",
        "10-D Poisson Δu = f on [0,1]^10, u = mean sin(πx_i/2) + exp(-|x|²/10), Dirichlet = exact", d=10),
    "helmholtz2d": helmholtz2d,
    "heat1d": heat1d,
    "heat2d": heat2d,
    "burgers1d": burgers1d,
    "allen_cahn1d": allen_cahn1d,
    "advection1d": advection1d,
    "wave1d": wave1d,
    "laplace_mixed": laplace_mixed,
    "poisson_plate_hole": poisson_plate_hole,
    "poisson_lshape": poisson_lshape,
    "laplace_mesh": laplace_mesh,
    "heat1d_param": heat1d_param,
    "helmholtz_param": helmholtz_param,
    "poisson_param": poisson_param,
    "plate_param": plate_param,
}


def names() -> list[str]:
    """The registered problem names, in registry order."""
    return list(PROBLEMS)


def get(name: str) -> ModuleType | Variant:
    """The module (or :class:`Variant`) of a registered problem: ``DESCRIPTION``, ``FD``,
    ``problem``, ``exact``, ``fd_solution``, ...

    Raises:
        TypeError: ``name`` is not a string.
        ValueError: unknown name (the message lists the registered ones).
    """
    if not isinstance(name, str):
        raise TypeError(f"a problem name must be a str, got {type(name).__name__}")
    try:
        return PROBLEMS[name]
    except KeyError:
        raise ValueError(f"unknown problem {name!r}. Pick one of ({', '.join(PROBLEMS)})") from None


def load_problem(name: str, **kwargs) -> kp.Problem:
    """Build a registered problem, e.g. ``load_problem("poisson_nd", d=7)``.

    Raises:
        ValueError: unknown name.
        TypeError: keyword arguments the problem does not take.
    """
    entry = get(name)
    factory = entry.module.problem if isinstance(entry, Variant) else entry.problem
    params = inspect.signature(factory).parameters
    fixed = entry.fixed if isinstance(entry, Variant) else {}
    accepted = [p for p in params if p not in fixed]
    unknown = [k for k in kwargs if k not in accepted]
    if unknown:
        takes = f"only {', '.join(accepted)}" if accepted else "no arguments"
        raise TypeError(f"problem {name!r} takes {takes}; got {', '.join(unknown)}")
    return entry.problem(**kwargs)


def load_problem_file(path) -> kp.Problem:
    """Import a user's ``.py`` file and return the problem it defines.

    The file must define ``problem``: a :class:`kanpde.Problem` or a function
    taking no arguments that returns one. The file's folder is on ``sys.path``
    while it runs, so it can import its neighbours.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a ``.py`` file, or it defines no ``problem``.
        TypeError: ``problem`` is neither a Problem nor a function returning one.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no problem file {str(path)!r}")
    if path.suffix != ".py":
        raise ValueError(f"a problem file must be a Python file ending in .py, got {str(path)!r}")
    module_name = f"_kanpde_user_problem_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    finally:
        try:
            sys.path.remove(folder)
        except ValueError:
            pass
    found = getattr(module, "problem", None)
    if found is None:
        raise ValueError(f"{str(path)!r} defines no `problem`: expected `problem = kanpde.Problem(...)` "
                         "or `def problem(): return kanpde.Problem(...)`")
    if isinstance(found, kp.Problem):
        return found
    if not callable(found):
        raise TypeError(f"`problem` in {str(path)!r} must be a kanpde.Problem or a function returning one, "
                        f"got {type(found).__name__}")
    required = [p.name for p in inspect.signature(found).parameters.values()
                if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if required:
        raise TypeError(f"problem() in {str(path)!r} must take no arguments, it requires {', '.join(required)}")
    result = found()
    if not isinstance(result, kp.Problem):
        raise TypeError(f"problem() in {str(path)!r} must return a kanpde.Problem, got {type(result).__name__}")
    return result
