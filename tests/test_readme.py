"""The README stays short, and its example runs as written (with a tiny training budget)."""

import re
from pathlib import Path

import pytest
import torch

import kanpde

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def _python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_is_at_most_12_kb():
    assert README.stat().st_size <= 12_000


def test_readme_has_the_quick_start_and_one_example():
    text = README.read_text()
    assert "make demo" in text and "make test" in text and "make docs" in text
    assert len(_python_blocks()) == 1


def test_readme_links_and_figure_exist():
    targets = re.findall(r"\]\(((?:docs|examples)/[^)#]+)", README.read_text())
    assert "docs/img/poisson.png" in targets and len(targets) >= 10
    for target in targets:
        assert (ROOT / target).is_file(), target


@pytest.mark.parametrize("index", range(1))
def test_readme_example_runs(index, monkeypatch, tmp_path):
    real_solve = kanpde.solve
    solutions = []

    def small_solve(problem, model=None, config=None):
        config = config or kanpde.TrainConfig()
        config.schedule = [kanpde.Adam(15), kanpde.LBFGS(5, grid=6)]
        config.interior_points, config.boundary_points, config.verbose = 150, 40, False
        solutions.append(real_solve(problem, model, config))
        return solutions[-1]

    monkeypatch.setattr(kanpde, "solve", small_solve)
    monkeypatch.chdir(tmp_path)
    code = _python_blocks()[index]
    assert len(code.strip().splitlines()) <= 32
    exec(compile(code, f"README block {index}", "exec"), {})
    (solution,) = solutions
    _, loss = solution.history.column("loss")
    assert torch.isfinite(torch.as_tensor(loss)).all() and loss[-1] < loss[0]
    assert solution.errors()["rel_l2"] < 1.0
    assert (tmp_path / "results" / "poisson.vtu").is_file() and (tmp_path / "results" / "poisson.png").is_file()
    assert (tmp_path / "results" / "poisson.pt").is_file()
