"""The kanpde command: list, solve, export, fd, and one-line errors (exit status 2)."""

from __future__ import annotations

import json
import math
import re
import shlex
import sys
import textwrap
import types

import meshio
import numpy as np
import pytest
import torch

import kanpde as kp
from kanpde.cli import load_problem, main

TINY = ["--adam-steps", "5", "--lbfgs-steps", "2", "--grid-schedule", "3,5", "--points", "100",
        "--boundary-points", "20"]

PROBLEM_FILE = textwrap.dedent("""
    import math
    import torch
    import kanpde as kp

    def pde(x, u):
        return u.d("x", "x") + math.pi ** 2 * torch.sin(math.pi * x)

    problem = kp.Problem(kp.Interval(0.0, 1.0), pde, [kp.Dirichlet(0.0)],
                         exact=lambda x: torch.sin(math.pi * x))
""")

ALPHA = 0.1


def _heat_exact(x):
    return torch.sin(math.pi * x[:, :1]) * torch.exp(-ALPHA * math.pi ** 2 * x[:, 1:])


def _heat_problem():
    def pde(x, u):
        return u.d("t") - ALPHA * u.d("x", "x")

    domain = kp.Interval(0.0, 1.0) * kp.TimeInterval(0.0, 0.5)
    return kp.Problem(domain, pde, [kp.Dirichlet(0.0), kp.Initial(lambda x: torch.sin(math.pi * x[:, :1]))],
                      exact=_heat_exact, name="heat1d")


def _heat_fd(resolution=None):
    n = resolution or 32
    return kp.fd.heat(lambda p: torch.sin(np.pi * p[:, 0]), ALPHA, (0.0,), (1.0,), n, 0.5, n)


def _square_problem():
    return kp.Problem(kp.Rectangle((0, 0), (1, 1)), lambda x, u: u.laplacian(), [kp.Dirichlet(0.0)], name="square")


def _registry():
    """A stand-in for the problems package: names(), get(), load_problem()."""
    entries = {
        "heat1d": types.SimpleNamespace(DESCRIPTION="1-D heat equation\nwith more lines", FD=True,
                                        EXPECTED={"time_s": 420, "peak_gib": 7.8},
                                        fd_solution=_heat_fd, exact=_heat_exact, problem=_heat_problem),
        "square": types.SimpleNamespace(DESCRIPTION="Laplace on the unit square", FD=False,
                                        fd_solution=None, exact=None, problem=_square_problem),
    }
    module = types.ModuleType("problems")
    module.names = lambda: sorted(entries)

    def get(name):
        if name not in entries:
            raise ValueError(f"unknown problem {name!r}")
        return entries[name]

    module.get = get
    module.load_problem = lambda name: get(name).problem()
    return module


@pytest.fixture
def registry(monkeypatch):
    module = _registry()
    monkeypatch.setitem(sys.modules, "problems", module)
    return module


@pytest.fixture
def problem_file(tmp_path):
    path = tmp_path / "bump.py"
    path.write_text(PROBLEM_FILE)
    return path


def _one_error_line(capsys, pattern):
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("kanpde: error: ")
    assert "Traceback" not in captured.err + captured.out
    assert re.search(pattern, lines[0]), lines[0]
    return lines[0]


# ---------------------------------------------------------------------------------- list


_SIDE = re.compile(r"(.*)\.(pvd|xdmf)\.[0-9a-f]{12}(\.h5)?")  # an index's side data (kanpde.files.atomic_write_set)


def _outputs(names):
    return [n for n in names if not _SIDE.fullmatch(n)]


def _side_data(names):
    return [_SIDE.fullmatch(n).group(1) for n in names if _SIDE.fullmatch(n)]


def test_list(registry, capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["name", "FD", "config", "time", "memory", "--set", "description"]
    assert out[1].split() == ["heat1d", "yes", "no", "7", "min", "7.8", "GiB", "-", "1-D", "heat", "equation"]
    assert out[2].split()[:6] == ["square", "no", "no", "-", "-", "-"]


def test_list_shows_problem_parameters_of_the_real_registry(capsys):
    assert main(["list"]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[1:]}
    assert rows["poisson_nd"][5] == "d=5" and rows["poisson5d"][5] == "-"  # the variant fixes d
    assert rows["helmholtz2d"][3:7] == ["7", "min", "7.8", "GiB"]


def _tiny_recommended():
    return kp.TrainConfig(interior_points=80, boundary_points=20, schedule=[kp.Adam(5), kp.LBFGS(3, grid=4)],
                          causal=kp.Causal(chunks=4), marching=kp.TimeMarching(2))


def test_recommended_config_is_listed_used_and_can_be_turned_off(registry, tmp_path, capsys):
    registry.get("heat1d").config = _tiny_recommended
    assert main(["list"]) == 0
    assert capsys.readouterr().out.splitlines()[1].split()[:3] == ["heat1d", "yes", "yes"]
    out = tmp_path / "recommended"
    assert main(["solve", "heat1d", "--widths", "2,4,1", "--seed", "3", "--out", str(out)]) == 0
    assert capsys.readouterr().out.splitlines()[2].startswith("KAN [2,4,1] G=4 k=3 x 2 windows")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["marching"]["windows"] == 2 and summary["config"]["causal"]["chunks"] == 4
    assert summary["config"]["seed"] == 3 and summary["config"]["interior_points"] == 80
    assert isinstance(kp.Solution.load(out / "model.pt", problem=_heat_problem()), kp.io.MarchedSolution)
    plain = tmp_path / "plain"
    assert main(["solve", "heat1d", *TINY, "--widths", "2,4,1", "--config", "default", "--out", str(plain)]) == 0
    summary = json.loads((plain / "summary.json").read_text())
    assert summary["config"]["marching"] is None and summary["config"]["interior_points"] == 100


def test_list_without_registry(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "problems", None)  # import problems -> ImportError
    assert main(["list"]) == 2
    _one_error_line(capsys, "problems registry is not importable")


def test_incomplete_registry(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "problems", types.ModuleType("problems"))  # e.g. an empty namespace package
    assert main(["solve", "poisson"]) == 2
    _one_error_line(capsys, r"the problems registry .* lacks names\(\), get\(\), load_problem\(\)")


# ---------------------------------------------------------------------------------- solve


def test_solve_problem_file(registry, problem_file, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["solve", str(problem_file), *TINY, "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert stdout.splitlines()[0].split() == ["method", "parameters", "time", "s", "rel", "L2", "max", "error"]
    assert "KAN [1,10,1] G=5 k=3" in stdout and "FD" not in stdout
    names = sorted(p.name for p in out.iterdir())
    assert names == ["activations.png", "history.png", "model.pt", "solution.png", "solution.vtu", "summary.json"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["problem"] == "bump"
    assert summary["model"] == {"type": "KAN", "widths": [1, 10, 1], "grid": 5, "k": 3, "grid_schedule": [3, 5]}
    model = kp.KAN([1, 10, 1], grid=5)
    assert summary["parameters"] == sum(p.numel() for p in model.parameters())
    assert summary["config"]["interior_points"] == 100 and summary["config"]["boundary_points"] == 20
    assert [s["type"] for s in summary["config"]["schedule"]] == ["Adam", "LBFGS", "LBFGS"]
    assert set(summary["errors"]) >= {"rel_l2", "max_abs"} and summary["fd"] is None
    assert summary["train_time_s"] > 0
    mesh = meshio.read(out / "solution.vtu")
    assert mesh.cells[0].type == "line" and set(mesh.point_data) == {"u", "u_exact", "error"}
    with pytest.raises(ValueError, match="hard"):  # the Dirichlet data is built into u (hard="auto")
        kp.Solution.load(out / "model.pt")
    with pytest.raises(ValueError, match="does not match checkpoint.*name: saved 'bump', given 'problem'"):
        kp.Solution.load(out / "model.pt", problem=kp.Problem(kp.Interval(0, 1), lambda x, u: u.value, [kp.Dirichlet(0.0)]))
    solution = kp.Solution.load(out / "model.pt", problem=kp.Problem(kp.Interval(0, 1), lambda x, u: u.value,
                                                                     [kp.Dirichlet(0.0)], name="bump"))
    np.testing.assert_allclose(solution.predict(mesh.points[:, :1])[:, 0], mesh.point_data["u"], atol=1e-12)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left

    # the checkpoint names a problem the registry does not know: export needs --problem
    assert main(["export", str(out / "model.pt"), str(tmp_path / "e.vtu")]) == 2
    _one_error_line(capsys, "saved for problem 'bump'.*--problem|trained with a hard Dirichlet constraint.*problem")
    assert main(["export", str(out / "model.pt"), str(tmp_path / "e.vtk"), "--problem", str(problem_file),
                 "--resolution", "9", "--residual"]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {tmp_path / 'e.vtk'}"
    mesh = meshio.read(tmp_path / "e.vtk")
    assert len(mesh.points) == 9 and set(mesh.point_data) == {"u", "u_exact", "error", "residual"}


def test_solve_registered_space_time_with_fd(registry, tmp_path, capsys):
    out = tmp_path / "heat"
    assert main(["solve", "heat1d", *TINY, "--widths", "2,4,1", "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    rows = stdout.splitlines()[2:]
    assert rows[0].startswith("KAN [2,4,1] G=5") and rows[1].startswith("FD fd-heat-cn-splu")
    names = sorted(p.name for p in out.iterdir())
    assert _outputs(names) == ["activations.png", "fd.xdmf", "history.png", "model.pt", "solution.png",
                               "solution.xdmf", "summary.json", "time_slices.png"]
    assert sorted(_side_data(names)) == ["fd", "solution"]  # each XDMF's HDF5 file
    summary = json.loads((out / "summary.json").read_text())
    fd = summary["fd"]
    assert fd["method"] == "FD fd-heat-cn-splu" and fd["grid"] == [33, 33] and fd["parameters"] == 33 * 33
    assert 0 < fd["rel_l2"] < 1e-2 and fd["max_abs"] > 0 and fd["time_s"] >= 0
    with meshio.xdmf.TimeSeriesReader(out / "solution.xdmf") as reader:
        reader.read_points_cells()
        assert reader.num_steps == 51

    # export by registered name, as a .pvd series
    assert main(["export", str(out / "model.pt"), str(tmp_path / "exp" / "heat.vtu"), "--resolution", "4",
                 "--fields", "u,error"]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {tmp_path / 'exp' / 'heat.pvd'}"
    names = sorted(p.name for p in (tmp_path / "exp").iterdir())
    assert _outputs(names) == ["heat.pvd"] and _side_data(names) == ["heat"]
    steps = sorted(next(p for p in (tmp_path / "exp").iterdir() if p.is_dir()).iterdir())
    assert [p.name for p in steps] == [f"heat_{j:04d}.vtu" for j in range(4)]
    assert set(meshio.read(steps[-1]).point_data) == {"u", "error"}


def test_solve_mlp(registry, problem_file, tmp_path, capsys):
    out = tmp_path / "mlp"
    tiny = [a for a in TINY if a not in ("--grid-schedule", "3,5")]  # an MLP has no grid
    assert main(["solve", str(problem_file), "--model", "mlp", "--widths", "1,8,1", "--activation", "sin",
                 "--float32", *tiny, "--out", str(out)]) == 0
    assert "MLP [1,8,1] sin" in capsys.readouterr().out
    assert not (out / "activations.png").exists() and (out / "history.png").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"]["type"] == "MLP" and summary["model"]["grid_schedule"] is None
    assert summary["config"]["dtype"] == "float32"
    assert [(s["type"], s["steps"]) for s in summary["config"]["schedule"]] == [("Adam", 5), ("LBFGS", 2)]
    assert summary["cli"]["config"] == "mlp" and summary["cli"]["flags"]["--activation"] == "sin"


# ---------------------------------------------------------------------------------- fd


def test_fd(registry, tmp_path, capsys):
    assert main(["fd", "heat1d", "--resolution", "16", "--out", str(tmp_path / "fd")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("FD fd-heat-cn-splu on x:17 x t:17: ")
    assert lines[1].startswith("vs exact: rel L2 ")
    names = sorted(p.name for p in (tmp_path / "fd").iterdir())
    assert _outputs(names) == ["fd.json", "fd.xdmf"] and _side_data(names) == ["fd"]
    info = json.loads((tmp_path / "fd" / "fd.json").read_text())
    assert info["problem"] == "heat1d" and info["grid"] == [17, 17] and info["rel_l2"] < 1e-2


def test_fd_errors(registry, capsys):
    assert main(["fd", "square"]) == 2
    _one_error_line(capsys, r"'square' has no FD solver\. Problems with one: \('heat1d',\)")
    assert main(["fd", "nope"]) == 2
    _one_error_line(capsys, r"unknown problem 'nope'\. Pick one of \('heat1d', 'square'\)")


# ---------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("argv, pattern", [
    (["solve", "nope"], r"unknown problem 'nope'\. Pick one of \('heat1d', 'square'\)"),
    (["solve", "missing.py"], r"no such problem file: 'missing.py'"),
    (["solve", "heat1d", "--widths", "2,a,1"], r"--widths must be comma-separated integers"),
    (["solve", "heat1d", "--widths", "3,4,1"], r"--widths 3,4,1 starts with 3 inputs, but problem 'heat1d' has 2 "
                                               r"coordinates \('x', 't'\)"),
    (["solve", "heat1d", "--widths", "2,4,2"], r"ends with 2 outputs"),
    (["solve", "heat1d", "--grid-schedule", "0,5"], r"--grid-schedule must be comma-separated integers >= 1"),
    (["solve", "heat1d", "--points", "0"], r"interior_points must be an int >= 1, got 0"),
    (["solve", "heat1d", "--adam-steps", "-1"], r"--adam-steps must be >= 0"),
    (["solve", "heat1d", "--model", "mlp", "--activation", "relu6"], r"unknown activation 'relu6'"),
    (["solve", "heat1d", "--k", "x"], r"argument --k: invalid int value: 'x'"),
    (["solve", "heat1d", "--bogus"], r"unrecognized arguments: --bogus"),
    (["solve"], r"the following arguments are required: NAME_OR_PATH"),
    (["frobnicate"], r"invalid choice: 'frobnicate'"),
    ([], r"choose a command: list, solve, export or fd"),
    (["export", "missing.pt", "out.vtu"], r"no such checkpoint: 'missing.pt'"),
])
def test_bad_arguments(registry, capsys, argv, pattern):
    assert main(argv) == 2
    _one_error_line(capsys, pattern)


def test_bad_problem_files(registry, tmp_path, capsys):
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    assert main(["solve", str(empty)]) == 2
    _one_error_line(capsys, r"must define `problem = kp.Problem\(...\)`, got NoneType")
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n")
    assert main(["solve", str(broken)]) == 2
    _one_error_line(capsys, r"cannot load problem file .*broken.py': RuntimeError: boom")


def test_export_errors(registry, tmp_path, capsys):
    junk = tmp_path / "junk.pt"
    junk.write_text("not a checkpoint")
    assert main(["export", str(junk), str(tmp_path / "a.vtu")]) == 2
    _one_error_line(capsys, r"junk.pt' is not a readable kanpde checkpoint")
    solution = kp.Solution(_square_problem(), kp.KAN([2, 3, 1], grid=3).double())
    solution.save(tmp_path / "square.pt")
    assert main(["export", str(tmp_path / "square.pt"), str(tmp_path / "a.foo")]) == 2
    _one_error_line(capsys, r"unsupported extension '.foo'.*Pick one of \('.vtu', '.vtk', '.xdmf', '.pvd'\)")
    assert main(["export", str(tmp_path / "square.pt"), str(tmp_path / "a.vtu"), "--fields", "u,v"]) == 2
    _one_error_line(capsys, r"unknown field 'v'\. Pick from \('u', 'residual'\)")
    assert main(["export", str(tmp_path / "square.pt"), str(tmp_path / "a.vtu"), "--resolution", "3"]) == 0
    assert len(meshio.read(tmp_path / "a.vtu").points) == 9


def test_problem_file_goes_through_the_registry_loader(registry, problem_file):
    from kanpde.cli import load_problem

    seen = []

    def load_problem_file(path):
        seen.append(str(path))
        return _square_problem()

    registry.load_problem_file = load_problem_file
    problem, name, module = load_problem(str(problem_file))
    assert seen == [str(problem_file)] and name == "square" and module is None


def test_help(capsys):
    assert main(["--help"]) == 0
    assert "solve" in capsys.readouterr().out
    assert main(["solve", "--help"]) == 0
    assert "--grid-schedule" in capsys.readouterr().out


def test_solve_hard_dirichlet_meets_the_boundary_data(registry, problem_file, tmp_path, capsys):
    out = tmp_path / "hard"
    assert main(["solve", str(problem_file), *TINY, "--out", str(out)]) == 0  # hard="auto" builds it in
    capsys.readouterr()
    solution = kp.Solution.load(out / "model.pt", problem=kp.Problem(
        kp.Interval(0, 1), lambda x, u: u.value, [kp.Dirichlet(0.0, hard=True)], name="bump"))
    assert np.abs(solution.predict(np.array([[0.0], [1.0]]))).max() < 1e-12
    assert json.loads((out / "summary.json").read_text())["cli"]["hard"] == ["Dirichlet"]
    for name in (str(problem_file), "square", "heat1d"):  # --hard would change nothing: refused, not ignored
        assert main(["solve", name, *TINY, "--hard", "--out", str(tmp_path / "h")]) == 2
        _one_error_line(capsys, r"--hard changes nothing: problem '\w+' already builds its Dirichlet condition")


# ---------------------------------------------------------------------------------- files and resume


def test_out_is_an_existing_file(registry, problem_file, tmp_path, capsys):
    (tmp_path / "taken").write_text("x")
    assert main(["solve", str(problem_file), *TINY, "--out", str(tmp_path / "taken")]) == 2
    _one_error_line(capsys, r"--out must be a folder, got the existing file '.*taken'")


def test_unwritable_export_path(registry, problem_file, tmp_path, capsys):
    from kanpde.cli import load_problem

    model = kp.Solution(load_problem(str(problem_file))[0], kp.KAN([1, 3, 1], seed=0).double()).save(tmp_path / "m.pt")
    assert main(["export", str(model), str(model / "u.vtu"), "--problem", str(problem_file)]) == 2
    _one_error_line(capsys, r"cannot write '.*m\.pt/u\.vtu': '.*m\.pt' is a file, not a folder$")


def test_ctrl_c_writes_a_checkpoint_and_resuming_ends_like_an_uninterrupted_run(registry, problem_file, tmp_path,
                                                                                capsys, monkeypatch):
    import kanpde.train

    argv = ["solve", str(problem_file), *TINY, "--quiet"]  # errors still print
    assert main([*argv, "--out", str(tmp_path / "whole")]) == 0
    real = kanpde.train.TrainConfig

    def ctrl_c_in_lbfgs(**kwargs):
        def press(record):
            if record["step"] >= 6:  # in the first L-BFGS stage
                raise KeyboardInterrupt
        return real(**kwargs, callbacks=[press])

    monkeypatch.setattr(kanpde.train, "TrainConfig", ctrl_c_in_lbfgs)
    out = tmp_path / "cut"
    capsys.readouterr()
    assert main([*argv, "--out", str(out)]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == f"kanpde: interrupted; checkpoint written to {out / 'checkpoint.pt'}"
    assert err[1].startswith("resume with: kanpde solve ") and "Traceback" not in "".join(err)
    command = shlex.split(err[1].removeprefix("resume with: "))
    assert command[-2:] == ["--resume", str(out / "checkpoint.pt")] and not (out / "model.pt").exists()

    monkeypatch.setattr(kanpde.train, "TrainConfig", real)
    assert main(command[1:]) == 0
    problem = load_problem(str(problem_file))[0]  # the data built into u come from the problem
    whole, resumed = (kp.Solution.load(tmp_path / d / "model.pt", problem=problem) for d in ("whole", "cut"))
    strip = lambda h: [{k: v for k, v in r.items() if k not in ("time", "step_time")} for r in h.steps]  # noqa: E731
    assert strip(resumed.history) == strip(whole.history) and len(whole.history.steps) > 6
    for k, v in whole.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k


def test_bad_resume_path(registry, problem_file, tmp_path, capsys):
    assert main(["solve", str(problem_file), *TINY, "--out", str(tmp_path), "--resume", str(tmp_path / "no.pt")]) == 2
    _one_error_line(capsys, r"resume: no such checkpoint '.*no\.pt'")


@pytest.mark.parametrize("options, kinds", [
    ([], None),  # no schedule option: TrainConfig's default schedule, sized to the model
    (["--lm-steps", "3"], ["Adam", "LM", "LM", "LM", "LM"]),
    (["--lbfgs-steps", "3", "--grid-schedule", "3,5"], ["Adam", "LBFGS", "LBFGS"]),
    (["--optimizer", "lbfgs", "--adam-steps", "0"], ["LBFGS"] * 4),
])
def test_solve_schedule_options(options, kinds):
    from kanpde.cli import _schedule, build_parser

    args = build_parser().parse_args(["solve", "poisson2d", *options])
    schedule = _schedule(args, [int(g) for g in (args.grid_schedule or "5,10,20,40").split(",")])
    if kinds is None:
        assert schedule is None
    else:
        assert [type(s).__name__ for s in schedule] == kinds


def test_set_chooses_problem_arguments_of_the_real_registry(tmp_path, capsys):
    problem, name, _ = load_problem("poisson_nd", {"d": 8})
    assert problem.input_dim == 8 and name == "poisson_nd"
    assert main(["solve", "poisson_nd", "--set", "k=2", "--out", str(tmp_path)]) == 2
    _one_error_line(capsys, r"--set: problem 'poisson_nd' takes only d; got k$")
    assert main(["solve", "poisson2d", "--set", "d", "--out", str(tmp_path)]) == 2
    _one_error_line(capsys, r"--set must look like NAME=VALUE \(e\.g\. --set d=8\), got 'd'$")
