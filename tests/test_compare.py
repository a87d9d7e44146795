"""Baseline ladders (FD 2nd/4th order, FEM P1/P2, Chebyshev spectral), kp.compare and `kanpde compare`."""

from __future__ import annotations

import json

import numpy as np
import pytest

import kanpde as kp
import problems
from kanpde import spectral
from kanpde.cli import main
from kanpde.compare import METHODS, compare, ladder, ladders, observed_order, reach_table
from kanpde.fd import Linear, second_difference


def _rungs(name: str, method: str, resolutions, **fixed) -> list:
    _, rung, _ = ladders(problems.get(name).baseline(**fixed))[method]
    return [rung(r) for r in resolutions]


def _assert_order(rungs, expected, key="rel_l2", tol=0.2):
    order = observed_order(rungs, key)
    errors = ", ".join(f"h={r['h']:.4g}: {r[key]:.3e}" for r in rungs)
    assert abs(order - expected) <= tol, f"observed order {order:.3f} of {key}, expected {expected} +- {tol} ({errors})"


# --------------------------------------------------------------------------- observed orders


@pytest.mark.parametrize("method, sizes, expected", [
    ("fd2", (16, 32, 64, 128), 2.0),
    ("fd4", (16, 32, 64, 128), 4.0),
    ("spectral", (4, 6, 8), None),  # exponential: checked below
])
def test_fd_orders_poisson2d(method, sizes, expected):
    rungs = _rungs("poisson2d", method, sizes)
    if expected is None:
        errors = [r["rel_l2"] for r in rungs]
        assert errors[2] < errors[1] / 10 < errors[0] / 100, errors
    else:
        _assert_order(rungs, expected)


@pytest.mark.parametrize("method, expected", [("fd2", 2.0), ("fd4", 4.0)])
def test_method_of_lines_orders_heat1d(method, expected):
    _assert_order(_rungs("heat1d", method, (32, 64, 128, 256)), expected)


@pytest.mark.parametrize("name", ["advection1d", "wave1d"])
def test_problem_fd_solver_ladder_is_second_order(name):
    """Problems outside the Linear form (hyperbolic) climb their own fd_solution(resolution=n)."""
    from kanpde.compare import _solver_rung

    module = problems.get(name)
    rung = _solver_rung(module.fd_solution, module.problem().exact)
    _assert_order([rung(n) for n in (32, 64, 128)], 2.0)


def test_fd_elliptic_helmholtz_order4():
    _assert_order(_rungs("helmholtz2d", "fd4", (32, 64, 128)), 4.0)


@pytest.mark.parametrize("method, expected", [("fem_p1", 2.0), ("fem_p2", 3.0)])
def test_fem_orders_poisson2d(method, expected):
    _assert_order(_rungs("poisson2d", method, (0.25, 0.125, 0.0625)), expected)


def test_fem_p2_order_on_the_disk():
    _assert_order(_rungs("poisson_disk", "fem_p2", (0.5, 0.25, 0.125)), 3.0)


@pytest.mark.parametrize("method", ["fem_p1", "fem_p2"])
def test_lshape_singularity_limits_the_order(method):
    """u ~ r^(2/3): max error ~ h^(2/3) and L2 error ~ h^(4/3) for P1 and P2 alike (not 2 or 3)."""
    rungs = _rungs("poisson_lshape", method, (0.25, 0.125, 0.0625))
    _assert_order(rungs, 2 / 3, key="max_abs")
    _assert_order(rungs, 4 / 3, key="rel_l2")


# --------------------------------------------------------------------------- accuracy (acceptance)


def test_poisson2d_fd4_and_spectral_accuracy():
    lin = problems.get("poisson2d").baseline()
    found = ladders(lin)
    fd4 = ladder(found["fd4"][1], found["fd4"][0], target=1e-7, max_dofs=1e6)
    cheb = ladder(found["spectral"][1], found["spectral"][0], target=1e-10, max_dofs=1e5)
    assert fd4[-1]["rel_l2"] <= 1e-7, fd4
    assert cheb[-1]["rel_l2"] <= 1e-10, cheb
    assert cheb[-1]["dofs"] < fd4[-1]["dofs"] / 10  # spectral needs far fewer unknowns on a smooth problem


def test_every_2d_spatial_problem_has_a_fem_p2_ladder():
    found = []
    for name in problems.names():
        entry = problems.get(name)
        problem = problems.load_problem(name)
        if problem.domain.dim != 2 or problem.domain.time_axis is not None:
            continue
        assert callable(getattr(entry, "baseline", None)), f"{name} has no baseline() hook"
        methods = ladders(entry.baseline())
        assert "fem_p2" in methods, f"{name}: no fem_p2 ladder ({methods['skipped']})"
        resolutions, rung, _ = methods["fem_p2"]
        coarse, fine = rung(resolutions[1]), rung(resolutions[2])
        assert fine["rel_l2"] < coarse["rel_l2"], (name, coarse, fine)
        found.append(name)
    assert {"poisson2d", "poisson_lshape", "poisson_disk", "laplace_mesh", "poisson_plate_hole"} <= set(found)


def test_fd_in_five_dimensions_converges_and_fd4_stops_at_three():
    rungs = _rungs("poisson_nd", "fd2", (8, 16), d=5)
    assert rungs[1]["rel_l2"] < rungs[0]["rel_l2"] / 3, rungs
    assert rungs[1]["dofs"] == 15**5
    skipped = ladders(problems.get("poisson_nd").baseline(d=5))["skipped"]
    assert set(skipped) == {"fd4", "fem_p1", "fem_p2", "spectral"}
    with pytest.raises(ValueError, match="elliptic .order 4. supports dimensions"):
        kp.fd.elliptic(0.0, [0.0] * 4, [1.0] * 4, 4, order=4)


# --------------------------------------------------------------------------- pieces


def test_chebyshev_differentiates_polynomials_exactly():
    nodes, D = spectral.chebyshev(6, 0.0, 2.0)
    assert np.all(np.diff(nodes) > 0) and nodes[0] == pytest.approx(0.0) and nodes[-1] == pytest.approx(2.0)
    np.testing.assert_allclose(D @ nodes**5, 5 * nodes**4, atol=1e-9)
    with pytest.raises(ValueError, match="n must be an int >= 2"):
        spectral.chebyshev(1)


def test_spectral_interpolate_is_the_polynomial():
    sol = spectral.elliptic(lambda x: 2.0 + 0 * x[:, :1], (0.0, 0.0), (1.0, 1.0), 6, g=lambda x: x[:, :1] ** 2)
    pts = np.random.default_rng(0).uniform(0, 1, (50, 2))
    np.testing.assert_allclose(sol.interpolate(pts)[:, 0], pts[:, 0] ** 2, atol=1e-12)


def test_second_difference_is_exact_for_polynomials():
    x = np.linspace(-1, 1, 11)
    np.testing.assert_allclose(second_difference(x, 2) @ x**3, 6 * x[1:-1], atol=1e-10)
    np.testing.assert_allclose(second_difference(x, 4) @ x**5, 20 * x[1:-1] ** 3, atol=1e-9)
    with pytest.raises(ValueError, match="order must be one of"):
        second_difference(x, 3)


def test_linear_rejects_bad_descriptions():
    exact = problems.get("poisson2d").exact
    with pytest.raises(TypeError, match="exact must be a function"):
        Linear(kp.Rectangle((0, 0), (1, 1)))
    with pytest.raises(ValueError, match="alpha, u0 and time"):
        Linear(kp.Rectangle((0, 0), (1, 1)), exact=exact, alpha=1.0)
    with pytest.raises(ValueError, match="spatial domain"):
        Linear(kp.Interval(0, 1) * kp.TimeInterval(0, 1), exact=exact)


def test_ladder_stops_at_the_target_and_the_budget():
    calls = []

    def rung(n):
        calls.append(n)
        return {"resolution": n, "h": 1 / n, "dofs": n * n, "seconds": 1e-3, "rel_l2": 1.0 / n**2, "max_abs": 0.0}

    assert [r["resolution"] for r in ladder(rung, (2, 4, 8, 16), target=1 / 64)] == [2, 4, 8]
    assert [r["resolution"] for r in ladder(rung, (2, 4, 8, 16), max_dofs=20, growth=4)] == [2, 4]


def test_reach_table_both_ways():
    rows = {"kan": [{"seconds": 1.0, "rel_l2": 1e-2}, {"seconds": 5.0, "rel_l2": 1e-5}],
            "fd2": [{"seconds": 0.1, "rel_l2": 1e-3}, {"seconds": 2.0, "rel_l2": 1e-6}]}
    table = reach_table(rows)
    assert table["to_kan_error"]["fd2"] == 2.0
    assert table["kan_to_rung"]["fd2"] == [5.0, None]
    assert table["thresholds"]["kan"]["1e-03"] == 5.0


def test_compare_rejects_bad_arguments():
    with pytest.raises(TypeError, match="problem must be a kanpde.Problem"):
        compare("poisson2d")
    with pytest.raises(TypeError, match="baseline must be a kanpde.fd.Linear"):
        compare(problems.load_problem("poisson2d"), baseline="fd")


# --------------------------------------------------------------------------- the command


def test_cli_compare_quick_writes_all_six_rows(tmp_path, capsys):
    out = tmp_path / "out.json"
    assert main(["compare", "poisson2d", "--quick", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    for method in METHODS:
        assert data[method], f"row {method} is empty"
        for rung in data[method]:
            assert {"dofs", "seconds", "rel_l2", "max_abs"} <= set(rung), rung
    assert data["kan"][-1]["max_abs"] is not None
    assert min(r["rel_l2"] for r in data["spectral"]) <= 1e-10
    assert out.with_suffix(".png").stat().st_size > 10_000
    assert "to KAN err" in capsys.readouterr().out


def test_cli_compare_rejects_a_json_path_without_json_suffix(tmp_path, capsys):
    assert main(["compare", "poisson2d", "--quick", "--json", str(tmp_path / "out.txt")]) == 2
    assert "--json must name a .json file" in capsys.readouterr().err


def test_baselines_script_writes_json_and_a_generated_table(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("baselines_script", "scripts/baselines.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- baselines:start -->\nold\n<!-- baselines:end -->\nafter\n")
    assert script.main(["--problems", "poisson_lshape", "--quick", "--out", str(tmp_path),
                        "--readme", str(readme)]) == 0
    data = json.loads((tmp_path / "poisson_lshape.json").read_text())
    assert data["fem_p2"] and not data["fd2"] and "box" in data["skipped"]["fd2"]
    text = (tmp_path / "baselines.md").read_text()
    assert "| poisson_lshape |" in text and "fastest to 1e-3" in text
    assert "**poisson_lshape**: " in text and ("classical wins" in text or "the KAN wins" in text)
    assert "kanpde compare poisson_lshape" in text
    block = readme.read_text()
    assert block.startswith("intro\n") and block.endswith("after\n") and "old" not in block
    assert "| poisson_lshape |" in block
