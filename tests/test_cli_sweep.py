"""Every ``kanpde solve`` flag on every problem kind: it changes what ran (summary.json) or exits with status 2.

The problems carry a recommended ``config()`` (where schedule flags used to be dropped silently, issue #33):
a scalar 2-D Poisson problem trained by LM, a space-time heat problem, and the mesh problem of the registry
(``laplace_mesh``) trained by L-BFGS. No registered problem has several outputs, so no system is swept.
"""

from __future__ import annotations

import inspect
import json
import math
import sys
import types

import pytest
import torch

import kanpde as kp
from kanpde.cli import build_parser, main

TINY = ["--widths", "{dim},2,1", "--points", "40", "--boundary-points", "12"]


def _square(a: float = 1.0):
    exact = lambda x: a * torch.sin(math.pi * x[:, :1]) * torch.sin(math.pi * x[:, 1:])  # noqa: E731
    pde = lambda x, u: u.laplacian() + 2 * math.pi**2 * exact(x)  # noqa: E731
    return kp.Problem(kp.Rectangle((0, 0), (1, 1)), pde, [kp.Dirichlet(0.0)], exact=exact, name="square")


def _heat():
    exact = lambda x: torch.sin(math.pi * x[:, :1]) * torch.exp(-0.1 * math.pi**2 * x[:, 1:])  # noqa: E731
    domain = kp.Interval(0.0, 1.0) * kp.TimeInterval(0.0, 0.5)
    return kp.Problem(domain, lambda x, u: u.d("t") - 0.1 * u.d("x", "x"),
                      [kp.Dirichlet(0.0), kp.Initial(lambda x: torch.sin(math.pi * x[:, :1]))], exact=exact, name="heat")


def _mesh():
    import problems.laplace_mesh as module

    return module.problem()


def _lm_config():
    return kp.TrainConfig(interior_points=30, boundary_points=10, schedule=[kp.Adam(2), kp.LM(1, grid=3)])


def _lbfgs_config():
    return kp.TrainConfig(interior_points=30, boundary_points=10, schedule=[kp.Adam(2), kp.LBFGS(2, grid=3)])


ENTRIES = {  # name: (problem factory, its config, input dimension)
    "square": (_square, _lm_config, 2),
    "heat": (_heat, _lm_config, 2),
    "mesh": (_mesh, _lbfgs_config, 2),
}


@pytest.fixture
def registry(monkeypatch):
    """The problems registry's protocol: names(), get(), load_problem(name, **kwargs) refusing unknown kwargs."""
    entries = {n: types.SimpleNamespace(DESCRIPTION=n, FD=False, problem=f, config=c) for n, (f, c, _) in ENTRIES.items()}
    module = types.ModuleType("problems")
    module.names = lambda: list(entries)
    module.get = entries.__getitem__

    def load_problem(name, **kwargs):
        factory = entries[name].problem
        accepted = list(inspect.signature(factory).parameters)
        unknown = [k for k in kwargs if k not in accepted]
        if unknown:
            raise TypeError(f"problem {name!r} takes {', '.join(accepted) or 'no arguments'}; got {', '.join(unknown)}")
        return factory(**kwargs)

    module.load_problem = load_problem
    real = sys.modules.get("problems")
    module.laplace_mesh = real.laplace_mesh if real is not None else __import__("problems.laplace_mesh").laplace_mesh
    monkeypatch.setitem(sys.modules, "problems", module)
    monkeypatch.setitem(sys.modules, "problems.laplace_mesh", module.laplace_mesh)
    return module


# each flag, with a value that differs from what the baseline runs (the baseline: the recommended config)
FLAGS = {
    "--model": ["--model", "mlp", "--adam-steps", "2", "--lbfgs-steps", "1"],
    "--widths": ["--widths", "{dim},3,1"],
    "--grid-schedule": ["--grid-schedule", "3,4"],
    "--k": ["--k", "2"],
    "--optimizer": ["--optimizer", "{other}"],
    "--adam-steps": ["--adam-steps", "3"],
    "--lm-steps": ["--lm-steps", "2"],
    "--lbfgs-steps": ["--lbfgs-steps", "3"],
    "--hard": ["--hard"],
    "--points": ["--points", "41"],
    "--boundary-points": ["--boundary-points", "13"],
    "--activation": ["--activation", "sin"],
    "--set": ["--set", "a=2.0"],
    "--seed": ["--seed", "1"],
    "--float32": ["--float32"],
    "--checkpoint-every": ["--checkpoint-every", "2"],
    "--config": ["--config", "default", "--adam-steps", "1", "--lbfgs-steps", "1", "--grid-schedule", "3"],
    "--formula": ["--formula"],
}
SPECIAL = {"--out", "--quiet", "--resume"}  # their effect is where files go / what prints: checked below
NOT_SWEPT = {"--nproc": "test_distributed.py runs `solve --nproc 2` against one process"}
VOLATILE = {"train_time_s", "rows", "files", "skipped", "final_loss", "errors", "learned_parameters", "source"}


def _solve_flags() -> set[str]:
    solve = next(a for a in build_parser()._subparsers._group_actions[0].choices.items() if a[0] == "solve")[1]
    return {s for action in solve._actions for s in action.option_strings if s.startswith("--") and s != "--help"}


def test_the_sweep_covers_every_solve_flag():
    assert set(FLAGS) | SPECIAL | set(NOT_SWEPT) == _solve_flags()


def _what_ran(summary: dict) -> dict:
    """summary.json without timings, errors, file lists, the flag record and the output paths."""
    ran = {k: v for k, v in summary.items() if k not in VOLATILE}
    ran["cli"] = {k: v for k, v in ran["cli"].items() if k != "flags"}
    ran["config"] = {k: v for k, v in ran["config"].items() if k != "checkpoint"}
    return ran


def _run(argv, tmp_path, name, capsys):
    out = tmp_path / name
    code = main([*argv, "--out", str(out)])
    captured = capsys.readouterr()
    summary = json.loads((out / "summary.json").read_text()) if code == 0 else None
    return code, summary, captured


def _argv(problem, options):
    dim = ENTRIES[problem][2]
    other = "lbfgs" if ENTRIES[problem][1] is _lm_config else "lm"
    return ["solve", problem, *(o.format(dim=dim, other=other) for o in [*TINY, *options])]


@pytest.mark.parametrize("problem", [  # about 4 min each on the loaded 2-core box: one kind in the fast suite
    "square", pytest.param("heat", marks=pytest.mark.slow), pytest.param("mesh", marks=pytest.mark.slow)])
def test_every_flag_changes_what_ran_or_is_refused(registry, problem, tmp_path, capsys):
    code, baseline, _ = _run(_argv(problem, []), tmp_path, "baseline", capsys)
    assert code == 0 and baseline["cli"]["config"] == "recommended"
    outcomes = {}
    for flag, options in FLAGS.items():
        code, summary, captured = _run(_argv(problem, options), tmp_path, flag.strip("-"), capsys)
        if code == 2:  # refused: one line naming the flag's reason
            assert captured.err.startswith("kanpde: error: ") and "Traceback" not in captured.err, (flag, captured.err)
            outcomes[flag] = "refused"
            continue
        assert code == 0, (flag, code, captured.err[-500:])
        assert flag in summary["cli"]["flags"], flag
        assert _what_ran(summary) != _what_ran(baseline), f"{flag} on {problem} changed nothing in summary.json"
        outcomes[flag] = "applied"
    # the ones that must apply everywhere (schedule flags on a recommended config included)
    for flag in ("--widths", "--grid-schedule", "--optimizer", "--adam-steps", "--points", "--seed", "--config"):
        assert outcomes[flag] == "applied", (problem, flag)
    assert outcomes["--activation"] == "refused"  # a KAN learns its activations
    assert outcomes["--set"] == ("applied" if problem == "square" else "refused")
    assert outcomes["--lm-steps" if problem == "mesh" else "--lbfgs-steps"] == "refused"  # no such stage


def test_schedule_flags_apply_on_top_of_the_recommended_schedule(registry, tmp_path, capsys):
    code, summary, _ = _run(_argv("square", ["--grid-schedule", "3,4,6", "--lm-steps", "2", "--adam-steps", "0"]),
                            tmp_path, "on-top", capsys)
    assert code == 0
    assert [(s["type"], s["steps"], s["grid"]) for s in summary["config"]["schedule"]] == [
        ("LM", 2, 3), ("LM", 2, 4), ("LM", 2, 6)]
    assert summary["model"]["grid_schedule"] == [3, 4, 6] and summary["config"]["interior_points"] == 40
    assert summary["cli"]["flags"]["--grid-schedule"] == "3,4,6"


def test_out_quiet_and_resume(registry, tmp_path, capsys):
    code, summary, captured = _run(_argv("square", ["--quiet", "--checkpoint-every", "1"]), tmp_path, "q", capsys)
    assert code == 0 and captured.out == "" and captured.err == ""  # --quiet: nothing but errors
    assert (tmp_path / "q" / "summary.json").is_file() and (tmp_path / "q" / "checkpoint.pt").is_file()  # --out
    checkpoint = str(tmp_path / "q" / "checkpoint.pt")
    code, resumed, _ = _run(_argv("square", ["--quiet", "--resume", checkpoint]), tmp_path, "r", capsys)
    assert code == 0 and resumed["cli"]["resumed_from"] == checkpoint
    code, _, captured = _run(_argv("square", ["--quiet", "--set", "b=1"]), tmp_path, "bad", capsys)
    assert code == 2 and captured.out == ""
    assert captured.err.strip() == "kanpde: error: --set: problem 'square' takes a; got b"


@pytest.mark.parametrize("options, stages", [
    ([], [("Adam", 500), ("LBFGS", 500)]),  # an MLP's own schedule, not the KAN's LM one
    (["--adam-steps", "0", "--lbfgs-steps", "7"], [("LBFGS", 7)]),
    (["--lm-steps", "4"], [("Adam", 500), ("LM", 4)]),
])
def test_mlp_gets_adam_then_lbfgs(options, stages):
    from kanpde.cli import _mlp_schedule

    schedule = _mlp_schedule(build_parser().parse_args(["solve", "square", "--model", "mlp", *options]))
    assert [(type(s).__name__, s.steps) for s in schedule] == stages
    assert all(s.lr == 1e-3 for s in schedule if type(s).__name__ == "Adam")


def test_mlp_refuses_kan_flags(registry, tmp_path, capsys):
    code, _, captured = _run(["solve", "square", "--model", "mlp", "--grid-schedule", "3,5"], tmp_path, "m", capsys)
    assert code == 2 and "--grid-schedule applies to --model kan only" in captured.err
