"""The benchmark scripts run end to end (tiny sizes) and report what they claim to."""

import json
from pathlib import Path

import pytest

from conftest import load_script as _script


def test_bench_derivatives_times_every_side(capsys):
    rows = _script("bench_derivatives").main(["--points", "300", "--repeats", "1", "--grid", "5"])
    assert len(rows) == 5 and all(t > 0 for t in rows.values())
    assert "KAN jet, PyTorch kernels" in rows
    assert "speed-up of jet over nested autograd" in capsys.readouterr().out


@pytest.mark.slow
def test_bench_compile_agrees_with_the_jet(capsys):
    """torch.compile of the functional layer jet computes the jet's loss and gradients (compiling takes a minute)."""
    result = _script("bench_compile").main(["--points", "200", "--repeats", "1", "--grid", "5"])
    assert result["difference"] < 1e-10 and result["compile_s"] > 0
    assert "torch.compile" in capsys.readouterr().out


def test_bench_speed_rows(capsys):
    rows = _script("bench_speed").main(["--points", "200", "--grids", "3", "6", "--repeats", "1"])
    assert [(r["points"], r["grid"]) for r in rows] == [(200, 3), (200, 6)]


def test_benchmark_writes_json_and_markdown(tmp_path, capsys):
    rows = _script("benchmark").main(["--problems", "poisson2d", "--scale", "0.02", "--points", "100",
                                      "--out", str(tmp_path)])
    methods = [r["method"] for r in rows]
    assert methods[0].startswith("KAN") and methods[1].startswith("MLP") and methods[2].startswith("FD")
    data = json.loads((tmp_path / "benchmark.json").read_text())
    assert len(data["rows"]) == 3 and "machine" in data
    table = (tmp_path / "benchmark.md").read_text()
    assert table.count("| poisson2d |") == 3


def test_benchmark_uses_a_problems_config_and_draws_its_figure(tmp_path, monkeypatch):
    import kanpde as kp
    import problems

    tiny = kp.TrainConfig(interior_points=80, boundary_points=20, schedule=[kp.Adam(3), kp.LBFGS(2, grid=4)],
                          marching=kp.TimeMarching(2))
    monkeypatch.setattr(problems.get("heat1d"), "config", lambda: tiny, raising=False)
    script = _script("benchmark")
    rows = script.main(["--problems", "heat1d", "--skip-mlp", "--out", str(tmp_path)])
    assert rows[0]["method"] == "KAN [2,10,1] (config())" and rows[1]["method"].startswith("FD")
    assert (tmp_path / "figures" / "heat1d.png").stat().st_size > 0
    rows = script.main(["--problems", "heat1d", "--skip-mlp", "--scale", "0.01", "--points", "60",
                        "--config", "default", "--out", str(tmp_path)])
    assert rows[0]["method"] == "KAN [2,10,1]"


def test_poisson_accuracy_fd_row():
    row = _script("poisson_accuracy").fd_row(32)
    assert row["rel_l2"] < 5e-3


def test_demo_writes_every_result(tmp_path):
    summary = _script("demo").main(["--quick", "--quiet", "--out", str(tmp_path)])
    names = {p.name for p in tmp_path.iterdir()}
    assert names >= {"solution.vtu", "solution.png", "history.png", "activations.png", "summary.json", "model.pt"}
    assert summary["rows"][0]["rel_l2"] < 0.1
    # the results writer shared with `kanpde solve`: what ran, and the table's number is errors()'s
    assert summary["model"]["grid_schedule"] == [5, 10] and summary["model"]["grid"] == 10
    assert summary["rows"][0]["rel_l2"] == summary["errors"]["rel_l2"]
    assert "fd.vtu" in names and set(summary["files"]) == names


def test_fd_convergence_table(capsys):
    _script("fd_convergence").main(["--levels", "2", "--no-shock", "--only", "poisson-2d-o2"])
    assert "order" in capsys.readouterr().out.lower()


def test_bench_checkpoint_times_every_write(capsys):
    row = _script("bench_checkpoint").main(["--steps", "4", "--every", "2", "--threads", "1"])
    assert row["checkpoints"] >= 3 and row["file_kB"] > 0 and 0 < row["share"] < 1
    assert "checkpoints: mean write" in capsys.readouterr().out


def test_sizing_study_runs_a_schedule_spec(capsys):
    rows = _script("sizing_study").main(["--runs", "poisson2d 60 4:2,8:1:l", "--threads", "1"])
    assert rows[0]["run"] == "poisson2d 60 4:2,8:1:l" and rows[0]["rel_l2"] > 0
    assert "| poisson2d 60 4:2,8:1:l | 0 |" in capsys.readouterr().out


def test_burgers_windows_start_from_the_exact_state_and_check_their_span():
    import torch

    from problems import burgers1d
    script = _script("burgers_windows")
    problem = script.from_exact_state(0.25, 0.5)
    x = torch.tensor([[-0.5, 0.25], [0.01, 0.25], [0.7, 0.25]], dtype=torch.float64)
    start = problem.all_conditions[1].value(x)
    torch.testing.assert_close(start.reshape(-1), burgers1d.reference(x).reshape(-1))
    assert problem.domain.t0 == 0.25 and problem.input_dim == 3  # x, t and the shock coordinate
    torch.testing.assert_close(script.from_exact_state(0.0, 0.1).all_conditions[1].value(x), burgers1d.initial(x))  # u0 at t = 0
    with pytest.raises(ValueError, match="expected 0 <= t0 < t1"):
        script.from_exact_state(0.5, 0.25)


def test_burgers_windows_perturb_adds_a_smooth_error_that_keeps_the_boundary_data():
    import math

    import torch

    script = _script("burgers_windows")
    x = torch.tensor([[-1.0, 0.25], [0.3, 0.25], [1.0, 0.25]], dtype=torch.float64)
    plain = script.from_exact_state(0.25, 0.5).all_conditions[1].value(x).reshape(-1)
    moved = script.from_exact_state(0.25, 0.5, perturb=1e-3).all_conditions[1].value(x).reshape(-1)
    expected = 1e-3 * math.sin(0.3 * math.pi) * math.cos(0.9 * math.pi)
    assert float(moved[1] - plain[1]) == pytest.approx(expected, rel=1e-12)
    assert float((moved[[0, 2]] - plain[[0, 2]]).abs().max()) < 1e-15  # u(+-1) = 0 stays met
