"""The README's API tour runs as written (with a tiny training budget)."""

import re
from pathlib import Path

import pytest
import torch

import kanpde

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_the_tour_and_time_dependent_examples():
    assert len(_python_blocks()) == 4
    assert "make demo" in README.read_text() and "make test" in README.read_text()


@pytest.mark.parametrize("index", range(4))
def test_readme_example_runs(index, monkeypatch, tmp_path):
    real_solve = kanpde.solve
    solutions = []

    def small_solve(problem, model, config=None):
        config = config or kanpde.TrainConfig()
        config.schedule = [kanpde.Adam(15), kanpde.LBFGS(5, grid=6)]
        config.interior_points, config.boundary_points, config.verbose = 150, 40, False
        solutions.append(real_solve(problem, model, config))
        return solutions[-1]

    monkeypatch.setattr(kanpde, "solve", small_solve)
    monkeypatch.chdir(tmp_path)
    code = _python_blocks()[index]
    assert len(code.strip().splitlines()) <= 20
    exec(compile(code, f"README block {index}", "exec"), {})
    (solution,) = solutions
    _, loss = solution.history.column("loss")
    assert torch.isfinite(torch.as_tensor(loss)).all() and loss[-1] < loss[0]
    assert solution.errors()["rel_l2"] < 1.0
