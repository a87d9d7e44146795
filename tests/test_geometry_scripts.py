"""Smoke tests of the geometry scripts: FEM orders table, KAN-vs-FEM rows, the bundled mesh is reproducible."""

import json
import sys
from pathlib import Path

import meshio
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "scripts"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import fem_convergence  # noqa: E402
import geometry_benchmark  # noqa: E402
import make_bracket_mesh  # noqa: E402


def test_fem_convergence_table(capsys):
    rates = fem_convergence.main(["--hs", "0.2", "0.1"])
    assert abs(rates[("smooth, square", 1)] - 2) < 0.2 and abs(rates[("smooth, square", 2)] - 3) < 0.3
    assert "singular, L-shape" in capsys.readouterr().out


@pytest.mark.slow  # a tiny KAN training plus FEM solves: tens of seconds on a shared machine
def test_geometry_benchmark_rows(tmp_path):
    rows = geometry_benchmark.main(["--problems", "laplace_mesh", "--seeds", "0", "--scale", "0.01",
                                    "--max-dofs", "5000", "--out", str(tmp_path)])
    methods = [r["method"] for r in rows]
    assert methods[0] == "KAN seed 0" and methods[1].startswith("FEM P1") and methods[2].startswith("FEM P2")
    assert all(np.isfinite(r["rel_l2"]) for r in rows)
    assert json.loads((tmp_path / "geometry_benchmark.json").read_text()) == rows


def test_bundled_mesh_is_what_the_script_writes():
    built, bundled = make_bracket_mesh.build(), meshio.read(ROOT / "problems" / "data" / "bracket.msh")
    assert np.allclose(built.points[:, :2], bundled.points[:, :2])
    assert np.array_equal(built.cells_dict["triangle"], bundled.cells_dict["triangle"])
    assert set(bundled.field_data) == {"bottom", "tip", "wall", "body"}
