"""The ``kanpde`` command: list, solve, export and FD baselines.

    kanpde list
    kanpde solve poisson2d --adam-steps 200 --lbfgs-steps 100 --grid-schedule 5,10,20
    kanpde solve my_problem.py --model mlp --widths 2,64,64,1
    kanpde export results/poisson2d/model.pt poisson.vtu --resolution 201
    kanpde fd heat1d --resolution 128 --out results/heat1d

A problem is a registered name (``problems.names()``) or a path to a ``.py`` file
that defines ``problem = kp.Problem(...)``. Bad input prints one line,
``kanpde: error: ...``, to stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

EXIT_USAGE = 2
_FILE_SUFFIXES = (".py",)


class UsageError(Exception):
    """A command-line mistake: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + message + SystemExit
        raise UsageError(f"{message} (see '{self.prog} --help')")


# ---------------------------------------------------------------------------------- problems


def _registry():
    try:
        import problems
    except ImportError as exc:
        raise ValueError(f"the problems registry is not importable ({exc}); "
                         "pass a problem file (.py defining `problem`) instead") from None
    missing = [f for f in ("names", "get", "load_problem") if not callable(getattr(problems, f, None))]
    if missing:
        where = getattr(problems, "__file__", None) or next(iter(getattr(problems, "__path__", [])), "?")
        raise ValueError(f"the problems registry ({where}) lacks {', '.join(f + '()' for f in missing)}; "
                         "pass a problem file (.py defining `problem`) instead")
    return problems


def _looks_like_file(spec: str) -> bool:
    return spec.endswith(_FILE_SUFFIXES) or "/" in spec or os.sep in spec


def _load_problem_file(path: Path):
    """The ``problem`` defined by a .py file (through ``problems.load_problem_file`` when available)."""
    from .pde.problem import Problem

    if not path.is_file():
        raise FileNotFoundError(f"no such problem file: {str(path)!r}")
    loader = None
    try:
        import problems

        loader = getattr(problems, "load_problem_file", None)
    except ImportError:
        pass
    try:
        if loader is not None:
            problem = loader(path)
        else:
            spec = importlib.util.spec_from_file_location(f"kanpde_problem_file_{path.stem}", path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module  # found again for its config() (_file_module)
            spec.loader.exec_module(module)
            problem = getattr(module, "problem", None)
    except (ValueError, TypeError, FileNotFoundError):
        raise
    except Exception as exc:  # the file is user code: report its failure in one line
        raise ValueError(f"cannot load problem file {str(path)!r}: {type(exc).__name__}: {exc}") from None
    if not isinstance(problem, Problem):
        raise TypeError(f"problem file {str(path)!r} must define `problem = kp.Problem(...)`, "
                        f"got {type(problem).__name__}")
    if problem.name == "problem":  # the default: name it after the file
        problem.name = path.stem
    return problem


def _file_module(path: Path):
    """The module a problem file was imported as (for its ``config()``), or None."""
    target = str(path.resolve())
    return next((m for m in list(sys.modules.values()) if getattr(m, "__file__", None) == target), None)


def load_problem(spec: str, params: dict | None = None):
    """``(problem, name, module or None)`` for a registered name or a .py path (the file's module, so its
    ``config()`` is the recommended one); ``params`` are keyword arguments of a registered problem's
    ``problem()`` (``--set``)."""
    if _looks_like_file(spec):
        if params:
            raise ValueError(f"--set applies to registered problems' problem(**kwargs); problem file {spec!r} "
                             "defines its problem itself: edit the file")
        problem = _load_problem_file(Path(spec))
        return problem, problem.name, _file_module(Path(spec))
    registry = _registry()
    names = list(registry.names())
    if spec not in names:
        raise ValueError(f"unknown problem {spec!r}. Pick one of {tuple(names)} "
                         "(see 'kanpde list') or pass a .py file defining `problem`")
    if not params:
        return registry.load_problem(spec), spec, registry.get(spec)
    try:
        problem = registry.load_problem(spec, **params)
    except TypeError as exc:  # the registry names the arguments the problem takes
        raise ValueError(f"--set: {_message(exc)}") from None
    return problem, spec, registry.get(spec)


def _description(module) -> str:
    text = str(getattr(module, "DESCRIPTION", "") or "").strip()
    return text.splitlines()[0] if text else ""


# ---------------------------------------------------------------------------------- parsing helpers


def _ints(text: str, option: str, minimum: int = 1) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip() != ""]
    except ValueError:
        values = None
    if not values or any(v < minimum for v in values):
        raise ValueError(f"{option} must be comma-separated integers >= {minimum} like 2,10,1, got {text!r}")
    return values


def _widths(args, problem) -> list[int]:
    dim, outputs = problem.input_dim, len(problem.outputs)  # the periodic embedding adds inputs
    if args.widths is None:
        hidden = [10] if args.model == "kan" else [32, 32, 32]
        return [dim, *hidden, outputs]
    widths = _ints(args.widths, "--widths")
    if len(widths) < 2:
        raise ValueError(f"--widths needs at least an input and an output width like {dim},10,{outputs}, "
                         f"got {args.widths!r}")
    if widths[0] != dim:
        raise ValueError(f"--widths {args.widths} starts with {widths[0]} inputs, but problem {problem.name!r} "
                         f"has {dim} coordinates {tuple(problem.domain.names)}")
    if widths[-1] != outputs:
        raise ValueError(f"--widths {args.widths} ends with {widths[-1]} outputs, but problem {problem.name!r} "
                         f"has {outputs} {tuple(problem.outputs)}")
    return widths


def _model(args, problem, widths: list[int], grids: list[int]):
    from .nn.kan import KAN
    from .nn.mlp import MLP

    if args.model == "kan":
        return KAN(widths, grid=grids[0], k=args.k, seed=args.seed)
    return MLP(widths, activation=args.activation, seed=args.seed)


def _schedule(args, grids: list[int]) -> list:
    """None (TrainConfig's default schedule) when no schedule option is given, else Adam, then one
    LM (or L-BFGS) stage per KAN grid."""
    from .train import LBFGS, LM, Adam

    if all(getattr(args, o) is None for o in SCHEDULE_OPTIONS):
        return None  # TrainConfig's default, sized to the model by kp.solve
    optimizer = _optimizer_flags(args, "lm")
    adam = 100 if args.adam_steps is None else args.adam_steps
    stages = [Adam(adam)] if adam > 0 else []
    kind, steps, default = (LM, args.lm_steps, 15) if optimizer == "lm" else (LBFGS, args.lbfgs_steps, 250)
    steps = default if steps is None else steps
    return stages + [kind(steps, grid=g) for g in grids]


SCHEDULE_OPTIONS = ("grid_schedule", "adam_steps", "lbfgs_steps", "lm_steps", "optimizer")
MODEL_OPTIONS = ("widths", *SCHEDULE_OPTIONS)


def _automatic(args, module) -> bool:
    """Whether the run takes the automatic path (``kp.solve(problem)``): ``--config auto``, or a KAN with no
    model or schedule option on a problem without its own ``config()``."""
    if args.config == "auto":
        given = [o for o in MODEL_OPTIONS if getattr(args, o) is not None] + (["model"] if args.model != "kan" else [])
        if given or args.hard:
            raise ValueError(f"--config auto chooses the model and schedule itself; drop "
                             f"{', '.join('--' + o.replace('_', '-') for o in given) or '--hard'}")
        return True
    own = callable(getattr(module, "config", None))
    return (args.config == "recommended" and not own and args.model == "kan" and not args.hard
            and all(getattr(args, o) is None for o in MODEL_OPTIONS))


# ---------------------------------------------------------------------------------- flags on every problem
# Every solve flag either changes what runs (and summary.json's "cli" entry says so) or is refused with
# exit status 2 naming why; none is silently dropped (issue #33).

MLP_ADAM_STEPS, MLP_ADAM_LR, MLP_LBFGS_STEPS = 500, 1e-3, 500  # an MLP's schedule: Adam, then L-BFGS
DEFAULT_LM_STEPS, DEFAULT_LBFGS_STEPS = 15, 250


def _problem_params(args) -> dict:
    """``--set NAME=VALUE`` as keyword arguments of the problem module's ``problem()`` (Python literals,
    else strings): ``--set d=8`` -> ``{"d": 8}``."""
    import ast

    params = {}
    for item in args.set or []:
        name, sep, text = item.partition("=")
        if not sep or not name.strip().isidentifier():
            raise ValueError(f"--set must look like NAME=VALUE (e.g. --set d=8), got {item!r}")
        try:
            params[name.strip()] = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            params[name.strip()] = text.strip()
    return params


def _model_flags(args) -> None:
    """Refuse the model flags that do not apply to ``--model``, then fill in their defaults."""
    if args.model == "mlp":
        for option in ("k", "grid_schedule"):
            if getattr(args, option) is not None:
                raise ValueError(f"--{option.replace('_', '-')} applies to --model kan only (an MLP has no "
                                 "spline grid); drop it")
    elif args.activation is not None:
        raise ValueError("--activation applies to --model mlp only (a KAN learns its activations); drop it")
    args.k = 3 if args.k is None else args.k
    args.activation = args.activation or "tanh"


def _optimizer_flags(args, default: str) -> str:
    """The grid stages' optimizer: --optimizer, else the one whose steps were given, else ``default``;
    a steps flag for the other optimizer is refused."""
    optimizer = args.optimizer or ("lbfgs" if args.lbfgs_steps is not None and args.lm_steps is None else
                                   "lm" if args.lm_steps is not None and args.lbfgs_steps is None else default)
    unused = "lbfgs_steps" if optimizer == "lm" else "lm_steps"
    if getattr(args, unused) is not None and args.optimizer is not None:
        raise ValueError(f"--{unused.replace('_', '-')} does not apply: the schedule runs --optimizer "
                         f"{optimizer} (drop one of the two)")
    return optimizer


def _mlp_schedule(args) -> list:
    """An MLP's schedule: Adam (lr 1e-3), then L-BFGS (or LM with --optimizer lm / --lm-steps)."""
    from .train import LBFGS, LM, Adam

    optimizer = _optimizer_flags(args, "lbfgs")
    adam = MLP_ADAM_STEPS if args.adam_steps is None else args.adam_steps
    stages = [Adam(adam, lr=MLP_ADAM_LR)] if adam > 0 else []
    if optimizer == "lm":
        return stages + [LM(DEFAULT_LM_STEPS if args.lm_steps is None else args.lm_steps)]
    return stages + [LBFGS(MLP_LBFGS_STEPS if args.lbfgs_steps is None else args.lbfgs_steps)]


def _is_grid_stage(stage) -> bool:
    return type(stage).__name__ in ("LM", "LBFGS") and not getattr(stage, "galerkin", None)


def _regrid(stages: list, grids: list[int], name: str) -> list:
    """``--grid-schedule`` on a recommended schedule: one grid stage per grid (each like the schedule's
    stage on that grid, else its last grid stage), the stages before and after kept."""
    import dataclasses

    at = [i for i, s in enumerate(stages) if _is_grid_stage(s) and s.grid is not None]
    if not at:
        raise ValueError(f"--grid-schedule does not apply: the recommended schedule of {name!r} trains on no "
                         "grid stage; use --config default")
    own = {stages[i].grid: stages[i] for i in at}
    middle = [dataclasses.replace(own.get(g, stages[at[-1]]), grid=g) for g in grids]
    return stages[:at[0]] + middle + stages[at[-1] + 1:]


def _switch_optimizer(stages: list, optimizer: str) -> list:
    """Grid stages turned into ``optimizer`` stages (same grid); Galerkin rows are LM's, so L-BFGS drops them."""
    from .train import LBFGS, LM

    kind, steps = (LM, DEFAULT_LM_STEPS) if optimizer == "lm" else (LBFGS, DEFAULT_LBFGS_STEPS)
    out = []
    for s in stages:
        if _is_grid_stage(s) and not isinstance(s, kind):
            out.append(kind(steps, grid=s.grid))
        elif not (optimizer == "lbfgs" and getattr(s, "galerkin", None)):
            out.append(s)
    return out


def _set_steps(stages: list, kind: str, steps: int, option: str, name: str) -> list:
    import dataclasses

    if not any(type(s).__name__ == kind for s in stages):
        raise ValueError(f"{option} does not apply: the recommended schedule of {name!r} has no {kind} stage "
                         f"({', '.join(type(s).__name__ for s in stages)}); add --optimizer or use --config default")
    return [dataclasses.replace(s, steps=steps) if type(s).__name__ == kind and not getattr(s, "galerkin", None)
            else s for s in stages]


def _override_schedule(args, schedule: list, grids: list[int], name: str) -> list:
    """The recommended ``schedule`` with the command's schedule flags applied on top."""
    from .train import Adam

    stages = list(schedule)
    if args.grid_schedule is not None:
        stages = _regrid(stages, grids, name)
    if args.optimizer is not None:
        stages = _switch_optimizer(stages, _optimizer_flags(args, args.optimizer))
    if args.lm_steps is not None:
        stages = _set_steps(stages, "LM", args.lm_steps, "--lm-steps", name)
    if args.lbfgs_steps is not None:
        stages = _set_steps(stages, "LBFGS", args.lbfgs_steps, "--lbfgs-steps", name)
    if args.adam_steps == 0:
        stages = [s for s in stages if not isinstance(s, Adam)]
    elif args.adam_steps is not None and any(isinstance(s, Adam) for s in stages):
        stages = _set_steps(stages, "Adam", args.adam_steps, "--adam-steps", name)
    elif args.adam_steps is not None:
        stages = [Adam(args.adam_steps), *stages]
    return stages


def _override_config(args, config, grids: list[int], name: str):
    """A recommended config with the command's points and schedule flags on top (see :func:`_override_schedule`)."""
    import dataclasses

    given = {"interior_points": args.points, "boundary_points": args.boundary_points}
    if any(getattr(args, o) is not None for o in SCHEDULE_OPTIONS):
        given["schedule"] = _override_schedule(args, config.schedule, grids, name)
    return dataclasses.replace(config, **{k: v for k, v in given.items() if v is not None})


def _hard_dirichlet(problem):
    """``--hard``: the whole-boundary Dirichlet condition built into the output, refused where it already is."""
    from .pde.conditions import Dirichlet

    if any(isinstance(c, Dirichlet) for c in getattr(problem, "hard", [])):
        raise ValueError(f"--hard changes nothing: problem {problem.name!r} already builds its Dirichlet condition "
                         "into the output (Dirichlet(hard='auto')); drop --hard")
    return problem.with_hard_dirichlet()


def _flags_given(args, parser=None) -> dict:
    """The solve flags given on the command line (those that differ from their defaults), for summary.json."""
    defaults = vars((parser or build_parser()).parse_args(["solve", args.problem]))
    skip = {"argv", "func", "command", "problem"}
    return {"--" + k.replace("_", "-"): v for k, v in vars(args).items()
            if k not in skip and k in defaults and v != defaults[k]}



def _recommended_config(args, module, plain):
    """The problem module's ``config()`` (with the command's seed, dtype and verbosity), or None
    for ``--config default``, a problem without one, or an MLP."""
    import dataclasses

    from .train import TrainConfig

    factory = getattr(module, "config", None)
    if args.config in ("default", "auto") or not callable(factory) or args.model != "kan":
        return None
    config = factory()
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config() of problem {args.problem!r} must return a kp.TrainConfig, got {type(config).__name__}")
    return dataclasses.replace(config, seed=plain.seed, dtype=plain.dtype, verbose=plain.verbose,
                               checkpoint=plain.checkpoint, checkpoint_every=plain.checkpoint_every)


def _first_grid(config, grids: list[int]) -> list[int]:
    """The grids of a config's schedule (the KAN starts on the first), else the command's."""
    own = [s.grid for s in config.schedule if getattr(s, "grid", None)]
    return own or grids


# ---------------------------------------------------------------------------------- output helpers


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _table(rows: list[dict]) -> str:
    header = f"{'method':<34} {'parameters':>10} {'time s':>9} {'rel L2':>10} {'max error':>10}"
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(f"{r['method'][:34]:<34} {_fmt(r.get('parameters'), 'd'):>10} {_fmt(r.get('time_s'), '.2f'):>9} "
                     f"{_fmt(r.get('rel_l2'), '.3e'):>10} {_fmt(r.get('max_abs'), '.3e'):>10}")
    return "\n".join(lines)


def _mesh_suffix(timed: bool) -> str:
    return ".xdmf" if timed else ".vtu"


def _run_fd(module, problem, resolution=None) -> tuple[object, dict]:
    started = time.perf_counter()
    fd = module.fd_solution(resolution=resolution) if resolution is not None else module.fd_solution()
    elapsed = time.perf_counter() - started
    from .io.results import fd_errors

    errors = fd_errors(fd, problem)
    row = {"method": f"FD {getattr(fd, 'method', '')}".strip(), "parameters": int(np.asarray(fd.values).size),
           "time_s": elapsed, "grid": [len(a) for a in fd.axes.values()], "axes": list(fd.axes),
           **(errors or {"rel_l2": None, "max_abs": None})}
    return fd, row


def _say(args, text: str) -> None:
    if not getattr(args, "quiet", False):
        print(text)


# ---------------------------------------------------------------------------------- commands


def _expected(module) -> tuple[str, str]:
    """A problem's recorded cost with its recommended config: ``EXPECTED = {"time_s": ..., "peak_gib": ...}``
    in its module (measured, see the module), "-" where nothing is recorded."""
    expected = getattr(module, "EXPECTED", None) or {}
    time_s, peak = expected.get("time_s"), expected.get("peak_gib")
    shown_time = "-" if time_s is None else f"{time_s / 60:.0f} min" if time_s >= 90 else f"{time_s:.0f} s"
    return shown_time, "-" if peak is None else f"{peak:.1f} GiB"


def _parameters(module) -> str:
    """The ``problem()`` arguments ``--set`` can change, with their defaults (a registry variant's fixed ones
    excluded): ``d=5``."""
    import inspect

    factory = getattr(getattr(module, "module", module), "problem", None)
    fixed = getattr(module, "fixed", None) or {}
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return "-"
    shown = [f"{n}={p.default!r}" for n, p in params.items() if n not in fixed and p.default is not p.empty]
    return ",".join(shown) or "-"


def cmd_list(args) -> int:
    registry = _registry()
    names = list(registry.names())
    if not names:
        print("no registered problems")
        return 0
    rows = [(name, registry.get(name)) for name in names]
    width = max(len("name"), *(len(n) for n in names))
    print(f"{'name':<{width}}  {'FD':<3}  {'config':<6}  {'time':>7}  {'memory':>8}  {'--set':<14}  description")
    for name, module in rows:
        fd = "yes" if getattr(module, "FD", False) else "no"
        config = "yes" if callable(getattr(module, "config", None)) else "no"  # a recommended TrainConfig
        time_s, peak_gib = _expected(module)
        print(f"{name:<{width}}  {fd:<3}  {config:<6}  {time_s:>7}  {peak_gib:>8}  {_parameters(module):<14}  "
              f"{_description(module)}")
    return 0


def cmd_solve(args) -> int:
    from .io.results import kan_row, write_results
    from .solve import solve
    from .train import TrainConfig
    from .train.distributed import is_main_process, launch

    if args.nproc < 1:
        raise ValueError(f"--nproc must be an integer >= 1 (local processes), got {args.nproc}")
    if args.nproc > 1:  # data-parallel: each local worker runs this command as one rank of a gloo group
        return launch(cmd_solve, args.nproc, argparse.Namespace(**{**vars(args), "nproc": 1}))
    flags = _flags_given(args)  # before the defaults are filled in
    _model_flags(args)
    params = _problem_params(args)
    problem, name, module = load_problem(args.problem, params)
    if args.hard:
        problem = _hard_dirichlet(problem)
    grids = _ints(args.grid_schedule or "5,10,20,40", "--grid-schedule")
    if args.k < 0:
        raise ValueError(f"--k must be an integer >= 0, got {args.k}")
    widths = _widths(args, problem)
    model = _model(args, problem, widths, grids)
    for option in ("adam_steps", "lbfgs_steps", "lm_steps"):
        if (getattr(args, option) or 0) < 0:
            raise ValueError(f"--{option.replace('_', '-')} must be >= 0, got {getattr(args, option)}")
    out = Path(args.out) if args.out else Path("results") / name
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out must be a folder, got the existing file {str(out)!r}")
    given = {"interior_points": args.points, "boundary_points": args.boundary_points,
             "schedule": _mlp_schedule(args) if args.model == "mlp" else _schedule(args, grids)}  # what is not given stays TrainConfig's sized default
    config = TrainConfig(**{k: v for k, v in given.items() if v is not None}, seed=args.seed,
                         dtype=torch.float32 if args.float32 else torch.float64, verbose=not args.quiet,
                         checkpoint=str(out / "checkpoint.pt"), checkpoint_every=args.checkpoint_every)
    recommended = _recommended_config(args, module, config)
    if recommended is not None:  # the problem's own schedule, points, causal and marching settings
        config = _override_config(args, recommended, grids, name)  # with the command's flags on top
        grids = _first_grid(config, grids)
        model = _model(args, problem, widths, grids)
    elif _automatic(args, module):  # model, grids, points and windows read from the problem (kp.solve)
        model = None
    source = "auto" if model is None else "mlp" if args.model == "mlp" else "default"
    ran = {"config": "recommended" if recommended is not None else source,
           "flags": flags, "problem_parameters": params, "resumed_from": args.resume,
           "conditions": [type(c).__name__ for c in problem.conditions],  # what the loss fits
           "hard": [type(c).__name__ for c in getattr(problem, "hard", [])]}  # built into the output
    out.mkdir(parents=True, exist_ok=True)  # only once the options are known to be good

    solution = _solve_resumable(args, solve, problem, model, config)
    if not is_main_process():  # data-parallel rank > 0: rank 0 writes the files
        return 0
    errors = solution.errors() if problem.has_solution() else None
    rows = [kan_row(solution, errors)]
    fd = fd_row = None
    if module is not None and getattr(module, "FD", False):
        fd, fd_row = _run_fd(module, problem)
        rows.append(fd_row)
    extra = {"problem": name, "source": args.problem, "fd": fd_row, "cli": ran}
    if args.formula:  # distil u, snap, refit and verify (kanpde.symbolic.formula)
        from .symbolic import formula as read_formula

        found = read_formula(solution, verbose=False)
        extra["formula"] = found.to_dict()
        _say(args, f"formula: {found.message}; PDE residual {found.residual:.1e}, {found.seconds:.1f} s")
    results = write_results(solution, out, rows=rows, fd=fd, extra=extra, errors=errors)
    _say(args, _table(rows))
    for path in results.files:
        _say(args, f"wrote {path}")
    for what, why in results.skipped.items():
        _say(args, f"skipped {what}: {why}")
    return 0


def _solve_resumable(args, solve, problem, model, config):
    """``solve``, resuming from ``--resume``; Ctrl-C writes a checkpoint and says how to go on."""
    from .train.resume import TrainingInterrupted

    try:
        return solve(problem, model, config, resume=args.resume)
    except TrainingInterrupted as exc:
        argv = list(getattr(args, "argv", None) or ["solve", args.problem])
        if "--resume" in argv:  # drop the old --resume PATH
            del argv[argv.index("--resume"):argv.index("--resume") + 2]
        argv = [a for a in argv if not a.startswith("--resume=")]
        command = shlex.join(["kanpde", *argv, "--resume", str(exc.checkpoint)])
        print(f"kanpde: interrupted; checkpoint written to {exc.checkpoint}\nresume with: {command}", file=sys.stderr)
        raise SystemExit(130) from None


def _registered_problem(name: str | None):
    """The registered problem of that name, or None (the CLI resolves names; the library never does)."""
    try:
        registry = _registry()
    except ValueError:
        return None
    return registry.load_problem(name) if name in registry.names() else None


def cmd_export(args) -> int:
    from .io.export import export_solution
    from .io.solution import Solution, read_checkpoint

    checkpoint = Path(args.checkpoint)
    saved = read_checkpoint(checkpoint)["problem"] or {}  # FileNotFoundError / ValueError naming the file
    problem = load_problem(args.problem)[0] if args.problem else _registered_problem(saved.get("name"))
    if problem is None:
        raise ValueError(f"checkpoint {str(checkpoint)!r} was saved for problem {saved.get('name')!r}, which is not "
                         "in the registry; pass --problem NAME_OR_FILE")
    solution = Solution.load(checkpoint, problem=problem)
    fields = [f.strip() for f in args.fields.split(",") if f.strip()] if args.fields else None
    written = export_solution(solution, args.path, resolution=args.resolution, fields=fields,
                              residual=args.residual)
    print(f"wrote {written}")
    return 0


def cmd_fd(args) -> int:
    from .io.export import export_fd
    from .io.results import write_json

    registry = _registry()
    names = list(registry.names())
    if args.problem not in names:
        raise ValueError(f"unknown problem {args.problem!r}. Pick one of {tuple(names)} (see 'kanpde list')")
    module = registry.get(args.problem)
    if not getattr(module, "FD", False):
        with_fd = tuple(n for n in names if getattr(registry.get(n), "FD", False))
        raise ValueError(f"problem {args.problem!r} has no FD solver. Problems with one: {with_fd}")
    if args.resolution is not None and args.resolution < 2:
        raise ValueError(f"--resolution must be >= 2, got {args.resolution}")
    problem = registry.load_problem(args.problem)
    fd, row = _run_fd(module, problem, args.resolution)
    grid = " x ".join(f"{n}:{k}" for n, k in zip(row["axes"], row["grid"]))
    print(f"{row['method']} on {grid}: {row['time_s']:.3f} s")
    if row["rel_l2"] is not None:
        print(f"vs exact: rel L2 {row['rel_l2']:.3e}, max error {row['max_abs']:.3e}")
    else:
        print("no exact solution to compare with")
    if args.out:
        out = Path(args.out)
        timed = list(fd.axes)[-1] == "t"
        written = export_fd(fd, out / f"fd{_mesh_suffix(timed)}", exact=problem if problem.exact is not None else None)
        summary = write_json(out / "fd.json", {"problem": args.problem, **row})
        print(f"wrote {written}")
        print(f"wrote {summary}")
    return 0


def cmd_compare(args) -> int:
    """``kanpde compare NAME``: the KAN beside the FD, FEM and spectral ladders (:func:`kanpde.compare.compare`)."""
    import dataclasses

    from .compare import compare, format_table, plot_compare
    from .io.results import write_json

    problem, name, module = load_problem(args.problem)
    if args.seed < 0:
        raise ValueError(f"--seed must be an integer >= 0, got {args.seed}")
    if args.rung_seconds is not None and not args.rung_seconds > 0:
        raise ValueError(f"--rung-seconds must be > 0, got {args.rung_seconds}")
    if args.max_dofs is not None and not args.max_dofs >= 1:
        raise ValueError(f"--max-dofs must be >= 1, got {args.max_dofs}")
    out = Path(args.json) if args.json else Path("results") / name / "compare.json"
    if out.suffix.lower() != ".json":
        raise ValueError(f"--json must name a .json file, got {str(out)!r}")
    hook = getattr(module, "baseline", None)
    baseline = hook(**getattr(module, "fixed", {})) if callable(hook) else None
    model = config = None
    if not args.quick and module is not None:
        factory = getattr(module, "config", None)
        config = dataclasses.replace(factory(), verbose=False) if callable(factory) else None
        own_model = getattr(module, "model", None)
        model = own_model(seed=args.seed) if callable(own_model) else None
    solver = module.fd_solution if baseline is None and getattr(module, "FD", False) else None
    result = compare(problem, baseline, model=model, config=config, quick=args.quick, seed=args.seed,
                     max_dofs=args.max_dofs, rung_seconds=args.rung_seconds, fd_solution=solver)
    result["command"] = "kanpde " + shlex.join(args.argv)
    print(format_table(result))
    written = write_json(out, result)
    figure = plot_compare(result, out.with_suffix(".png"))
    print(f"wrote {written}")
    print(f"wrote {figure}")
    return 0


# ---------------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kanpde", description="Physics-informed Kolmogorov-Arnold Networks for PDEs.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("list", help="registered problems, with their FD baselines")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("solve", help="train a KAN or MLP on a problem and write results",
                       description="Train on a problem (registered name or .py file defining `problem`), run the FD "
                                   "baseline where there is one, print a table and write summary.json, the mesh "
                                   "file, figures and the checkpoint under --out.")
    p.add_argument("problem", metavar="NAME_OR_PATH")
    p.add_argument("--model", choices=("kan", "mlp"), default="kan")
    p.add_argument("--widths", help="layer widths, e.g. 2,10,1 (default: dim,10,out for KAN; dim,32,32,32,out for MLP)")
    p.add_argument("--grid-schedule",
                   help="KAN grids: the model starts on the first; one LM (or L-BFGS) stage per grid (default: "
                        "TrainConfig's, 5,10,20,40 and 80 where the KAN is small enough)")
    p.add_argument("--k", type=int, help="KAN spline degree (default 3)")
    p.add_argument("--optimizer", choices=("lm", "lbfgs"),
                   help="the stage per grid: Levenberg-Marquardt (default) or L-BFGS (default when --lbfgs-steps is "
                        "given). With no schedule option at all the run uses kp.default_schedule()")
    p.add_argument("--adam-steps", type=int, help="Adam steps first (default 100; an MLP: 500 at lr 1e-3)")
    p.add_argument("--lm-steps", type=int, help="LM iterations per grid (default 15)")
    p.add_argument("--lbfgs-steps", type=int,
                   help="L-BFGS iterations per grid (default 250; an MLP: one L-BFGS stage of 500 after Adam)")
    p.add_argument("--hard", action="store_true",
                   help="build the whole-boundary Dirichlet condition into the output (u = g + phi N), "
                        "usually far more accurate")
    p.add_argument("--points", type=int, help="interior collocation points (default: TrainConfig's, sized to the model: "
                                                  "at least 3000)")
    p.add_argument("--boundary-points", type=int,
                   help="points per boundary/initial condition (default: TrainConfig's, at least 400)")
    p.add_argument("--activation", help="MLP activation (default tanh)")
    p.add_argument("--set", action="append", metavar="NAME=VALUE",
                   help="an argument of the registered problem's problem() factory, e.g. --set d=8 for poisson_nd "
                        "(repeatable; 'kanpde list' shows each problem's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--float32", action="store_true", help="train in float32 (default float64)")
    p.add_argument("--out", help="output folder (default results/NAME)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors (no progress bars, no table)")
    p.add_argument("--resume", metavar="PATH", help="continue from a training checkpoint (same options as its run)")
    p.add_argument("--checkpoint-every", type=int, metavar="N",
                   help="write OUT/checkpoint.pt every N steps (Ctrl-C always writes it)")
    p.add_argument("--nproc", type=int, default=1,
                   help="train data-parallel in N local processes (torch.distributed, gloo); under torchrun "
                        "leave it at 1: `torchrun --nproc-per-node N -m kanpde solve NAME`")
    p.add_argument("--formula", action="store_true",
                   help="read a closed-form formula off the solution (distil, snap, verify), print it and write it "
                        "into summary.json")
    p.add_argument("--config", choices=("recommended", "default", "auto"), default="recommended",
                   help="recommended: the problem's own config() where it has one (schedule, points, causal "
                        "training, time windows; see 'kanpde list') with the schedule and point options applied "
                        "on top, else the automatic path when no model or schedule option is given; "
                        "default: the plain defaults and the options above; "
                        "auto: the automatic path (model, grids, points and time windows read from the problem, "
                        "recorded in summary.json's decisions)")
    p.set_defaults(func=cmd_solve)

    p = sub.add_parser("export", help="write a checkpoint's fields to a mesh file (.vtu, .vtk, .xdmf, .pvd)")
    p.add_argument("checkpoint", metavar="CHECKPOINT")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--resolution", type=int, help="points per axis (time levels included)")
    p.add_argument("--fields", help="comma-separated point-data arrays (default: u, u_exact, error)")
    p.add_argument("--residual", action="store_true", help="also write the PDE residual")
    p.add_argument("--problem", metavar="NAME_OR_PATH",
                   help="the problem, when the checkpoint's is not in the registry")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("fd", help="run a problem's finite-difference solver")
    p.add_argument("problem", metavar="NAME")
    p.add_argument("--resolution", type=int, help="grid resolution passed to the problem's fd_solution")
    p.add_argument("--out", help="write fd.vtu (or fd.xdmf) and fd.json here")
    p.set_defaults(func=cmd_fd)

    p = sub.add_parser("compare", help="the KAN beside FD, FEM and spectral ladders: error against time",
                       description="Train the KAN (the problem's recommended config) and run every applicable "
                                   "baseline ladder in one process; write compare.json, an error-against-time "
                                   "figure (same name, .png) and print the time-to-reach table.")
    p.add_argument("problem", metavar="NAME_OR_PATH")
    p.add_argument("--json", metavar="F", help="where to write the JSON (default results/NAME/compare.json)")
    p.add_argument("--quick", action="store_true", help="a small KAN and small ladder budgets (tests)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-dofs", type=float, help="memory budget per rung in unknowns (default 2e6; quick 1e5)")
    p.add_argument("--rung-seconds", type=float, help="time budget per rung (default 60; quick 2)")
    p.set_defaults(func=cmd_compare)
    return parser


def _message(exc: BaseException) -> str:
    text = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    return " ".join(str(text).split()) or type(exc).__name__


def main(argv=None) -> int:
    """Run the ``kanpde`` command; returns the exit status (0, or 2 for bad input)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        args.argv = list(sys.argv[1:] if argv is None else argv)  # to print a resume command
        if args.command is None:
            raise UsageError("choose a command: list, solve, export or fd (see 'kanpde --help')")
        return args.func(args)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
    except (UsageError, ValueError, TypeError, FileNotFoundError, KeyError) as exc:
        print(f"kanpde: error: {_message(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # an output that cannot be written: permissions, a file where a folder goes
        where = f": {exc.filename!r}" if exc.filename else ""
        print(f"kanpde: error: {exc.strerror or _message(exc)}{where}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("kanpde: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
