"""The results folder (kanpde.io.results): one writer for `kanpde solve` and scripts/demo.py."""

from __future__ import annotations

import json
import math

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

import kanpde as kp  # noqa: E402
from kanpde.io.results import trained_grids, write_results  # noqa: E402


@pytest.fixture(scope="module")
def solved():
    exact = lambda x: torch.sin(math.pi * x[:, :1]) * torch.sin(math.pi * x[:, 1:])  # noqa: E731
    problem = kp.Problem(kp.Rectangle((0, 0), (1, 1)), lambda x, u: u.laplacian() + 2 * math.pi ** 2 * exact(x),
                         [kp.Dirichlet(0.0)], exact=exact, name="poisson")
    config = kp.TrainConfig(interior_points=64, boundary_points=32, verbose=False,
                            schedule=[kp.Adam(3), kp.LBFGS(2, grid=4), kp.LBFGS(2, grid=7)])
    return kp.solve(problem, kp.KAN([2, 3, 1], grid=3, seed=0), config)


def test_write_results_writes_every_file_and_what_ran(solved, tmp_path):
    results = write_results(solved, tmp_path / "out")
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["activations.png", "history.png", "model.pt", "solution.png", "solution.vtu", "summary.json"]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary == results.summary
    assert summary["model"]["grid_schedule"] == [3, 4, 7] == trained_grids(solved)  # grids the stages trained on
    assert summary["model"]["grid"] == 7  # the model as trained
    errors = solved.errors()
    assert summary["errors"]["rel_l2"] == pytest.approx(errors["rel_l2"], rel=1e-12)
    assert summary["rows"][0]["rel_l2"] == pytest.approx(errors["rel_l2"], rel=1e-12)
    assert summary["files"] == [p.name for p in results.files]
    assert summary["skipped"] is None


def test_write_results_skips_what_cannot_be_drawn(tmp_path):
    problem = kp.Problem(kp.Box((0,) * 4, (1,) * 4), lambda x, u: u.laplacian(), exact=lambda x: x.sum(1, keepdim=True))
    solution = kp.Solution(problem, kp.KAN([4, 2, 1], grid=3, seed=0).double())
    results = write_results(solution, tmp_path)
    assert set(results.skipped) == {"solution mesh", "solution.png"}
    assert "history.png" not in results.summary["files"]  # nothing trained: no history to draw
    assert results.summary["model"]["grid_schedule"] == [3]


def test_write_results_refuses_a_file_and_a_bare_network(solved, tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match="existing file"):
        write_results(solved, tmp_path / "f")
    with pytest.raises(ValueError, match="problem attached"):
        write_results(kp.Solution(None, kp.KAN([2, 2, 1])), tmp_path / "g")
