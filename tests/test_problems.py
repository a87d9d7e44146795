"""The benchmark library problems/: exact/reference solutions satisfy their own PDEs and
conditions, FD counterparts agree with them, and the registry behaves."""

import math
import os
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `problems` lives at the project root, beside kanpde
    sys.path.insert(0, str(ROOT))

import kanpde as kp  # noqa: E402
import problems  # noqa: E402
from problems import allen_cahn1d, burgers1d  # noqa: E402
from problems import _common  # noqa: E402

ALL = [
    "poisson2d", "poisson2d_paper", "poisson_disk", "poisson3d", "poisson_nd", "poisson5d", "poisson10d",
    "helmholtz2d", "heat1d", "heat2d", "burgers1d", "allen_cahn1d", "advection1d", "wave1d", "laplace_mixed",
    "poisson_plate_hole", "poisson_lshape", "laplace_mesh",
]
PARAMETRIC = ["heat1d_param", "helmholtz_param", "poisson_param", "plate_param"]  # tests/test_params.py
FD_PROBLEMS = [n for n in ALL if problems.get(n).FD]
EXACT_PROBLEMS = [n for n in ALL if problems.get(n).exact is not None]

# PDE residual of the exact (or reference) solution, relative to max(1, rms of the data f):
# analytic solutions and the Cole-Hopf quadrature are exact to rounding; the Allen-Cahn
# reference is a cubic spline through a fine FD solution.
RESIDUAL_TOL = {"allen_cahn1d": 1e-4}
DEFAULT_RESIDUAL_TOL = 1e-8


class Exact(nn.Module):
    """A model that IS a given function: lets the problem's own pde/conditions evaluate it."""

    def __init__(self, fn, in_dim: int, out_dim: int = 1):
        super().__init__()
        self.fn, self.in_dim, self.out_dim = fn, in_dim, out_dim

    def forward(self, x):
        return self.fn(x[:, :self.in_dim])  # problems with features= feed (x, f(x)): the coordinates come first


def solution_fn(name):
    """The torch solution of a registered problem: exact, else the differentiable reference."""
    module = problems.get(name)
    return module.exact if module.exact is not None else module.reference_torch


def perturbed(fn, dim):
    weights = torch.arange(1, dim + 1, dtype=torch.float64)
    return lambda x: fn(x) + 0.1 * torch.sin(1 + (x * weights).sum(dim=1, keepdim=True))


def rms(t: torch.Tensor) -> float:
    return float(torch.sqrt(torch.mean(t.detach() ** 2)))


def interior(problem, n=256, seed=1):
    points = problem.domain.sample_interior(n, "sobol", seed)
    assert isinstance(points, np.ndarray) and points.dtype == np.float64
    x = torch.as_tensor(points)
    assert x.dtype == torch.float64
    return x


def condition_points(problem, condition, n=64):
    pts = condition.sample(problem.domain, n, "sobol", 0).to(dtype=torch.float64)
    assert pts.points.dtype == torch.float64
    return pts


# --------------------------------------------------------------------------- registry & metadata


def test_registry_names():
    assert problems.names() == ALL + PARAMETRIC
    assert set(problems.PROBLEMS) == set(ALL + PARAMETRIC)


@pytest.mark.parametrize("name", ALL)
def test_module_metadata(name):
    module = problems.get(name)
    assert module.__doc__ and "PDE" in module.__doc__ and "Source" in module.__doc__
    assert isinstance(module.DESCRIPTION, str) and module.DESCRIPTION and "\n" not in module.DESCRIPTION
    assert isinstance(module.FD, bool)
    assert callable(module.fd_solution)
    problem = problems.load_problem(name)
    assert isinstance(problem, kp.Problem)
    assert problem.name == ("poisson5d" if name == "poisson_nd" else name)
    assert problem.has_solution()
    if module.exact is not None:
        assert problem.exact is module.exact
    else:
        assert problem.reference is module.reference and callable(module.reference_torch)
    if not module.FD:
        with pytest.raises(NotImplementedError, match="no finite-difference counterpart"):
            module.fd_solution()


def test_unknown_problem_lists_names():
    with pytest.raises(ValueError, match=r"unknown problem 'foo'\. Pick one of \(poisson2d, .*wave1d.*\)") as info:
        problems.load_problem("foo")
    assert all(n in str(info.value) for n in ALL)
    with pytest.raises(ValueError, match="unknown problem"):
        problems.get("Poisson2d")
    with pytest.raises(TypeError, match="must be a str"):
        problems.get(3)


def test_load_problem_arguments():
    p = problems.load_problem("poisson_nd", d=3)
    assert p.name == "poisson3d" and p.domain.names == ("x", "y", "z")
    assert problems.load_problem("poisson10d").domain.names[-1] == "x10"
    assert problems.get("poisson10d").FD is False and "10-D" in problems.get("poisson10d").DESCRIPTION
    with pytest.raises(TypeError, match="takes no arguments; got d"):
        problems.load_problem("poisson2d", d=3)
    with pytest.raises(TypeError, match="poisson5d"):
        problems.load_problem("poisson5d", d=7)  # d is fixed by the entry
    with pytest.raises(ValueError, match="int >= 1"):
        problems.load_problem("poisson_nd", d=0)


def test_load_problem_file(tmp_path):
    instance = tmp_path / "inst.py"
    instance.write_text(textwrap.dedent("""
        import kanpde as kp
        problem = kp.Problem(kp.Interval(0, 1), lambda x, u: u.d("x", "x") + 1.0, [kp.Dirichlet(0.0)], name="mine")
    """))
    assert problems.load_problem_file(instance).name == "mine"

    helper = tmp_path / "helper_mod_kanpde_test.py"
    helper.write_text("NAME = 'from-helper'\n")
    factory = tmp_path / "factory.py"
    factory.write_text(textwrap.dedent("""
        import kanpde as kp
        from helper_mod_kanpde_test import NAME
        def problem():
            return kp.Problem(kp.Interval(0, 1), lambda x, u: u.d("x", "x"), [kp.Dirichlet(0.0)], name=NAME)
    """))
    assert problems.load_problem_file(str(factory)).name == "from-helper"
    assert str(tmp_path) not in sys.path

    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(ValueError, match="defines no `problem`"):
        problems.load_problem_file(empty)
    wrong = tmp_path / "wrong.py"
    wrong.write_text("problem = 42\n")
    with pytest.raises(TypeError, match="must be a kanpde.Problem"):
        problems.load_problem_file(wrong)
    needs_args = tmp_path / "args.py"
    needs_args.write_text("def problem(d):\n    return None\n")
    with pytest.raises(TypeError, match="must take no arguments"):
        problems.load_problem_file(needs_args)
    returns_other = tmp_path / "other.py"
    returns_other.write_text("def problem():\n    return 'poisson'\n")
    with pytest.raises(TypeError, match="must return a kanpde.Problem"):
        problems.load_problem_file(returns_other)
    with pytest.raises(FileNotFoundError):
        problems.load_problem_file(tmp_path / "missing.py")
    text = tmp_path / "problem.txt"
    text.write_text("problem = 1\n")
    with pytest.raises(ValueError, match=r"\.py"):
        problems.load_problem_file(text)


# --------------------------------------------------------------------------- residuals


@pytest.mark.parametrize("name", ALL)
def test_solution_satisfies_pde(name):
    problem = problems.load_problem(name).soft(known=False)  # the exact solution itself, no transform around it
    dim = problem.domain.dim
    x = interior(problem)
    fn = solution_fn(name)
    assert fn(x).dtype == torch.float64 and fn(x).shape == (len(x), 1)
    (residual,) = problem.residuals(Exact(fn, dim), x, backend="autograd")
    assert residual.shape == (len(x), 1) and residual.dtype == torch.float64
    (data,) = problem.residuals(Exact(lambda x: 0 * x[:, :1] ** 3, dim), x, backend="autograd")  # -f
    scale = max(1.0, rms(data))
    tol = RESIDUAL_TOL.get(name, DEFAULT_RESIDUAL_TOL)
    worst = float(residual.detach().abs().max())
    assert worst <= tol * scale, f"{name}: max residual {worst:.2e}"

    (off,) = problem.residuals(Exact(perturbed(fn, dim), dim), x, backend="autograd")
    assert rms(off) > 1e-2 and rms(off) > 1e3 * rms(residual)


@pytest.mark.parametrize("name", ALL)
def test_solution_satisfies_conditions(name):
    problem = problems.load_problem(name).soft(known=False)
    dim = problem.domain.dim
    fn = solution_fn(name)
    assert problem.conditions
    for condition in problem.conditions:
        pts = condition_points(problem, condition)
        r = problem.condition_residual(condition, Exact(fn, dim), pts, "autograd").detach()
        if name == "allen_cahn1d" and isinstance(condition, kp.Periodic):
            # values match exactly; u_x matches once diffusion has smoothed the
            # non-C1 corner of u0 at x = +-1 (u0_x = -+2), i.e. away from t = 0
            assert float(r[:, 0].abs().max()) < 1e-12
            late = pts.points[:, 1] > 0.1
            assert late.sum() > 10 and float(r[late, 1].abs().max()) < 1e-3
        else:
            assert float(r.abs().max()) < 1e-10, f"{name}: {problem.term(condition)} residual {float(r.abs().max()):.2e}"
        off = problem.condition_residual(condition, Exact(perturbed(fn, dim), dim), pts, "autograd")
        assert rms(off) > 1e-2, f"{name}: {problem.term(condition)} does not see the perturbation"


def test_initial_data_match_exact():
    for name in EXACT_PROBLEMS:
        problem = problems.load_problem(name).soft(known=False)
        if problem.domain.time_axis is None:
            continue
        x = torch.as_tensor(problem.domain.sample_initial(50, "sobol", 3))
        init = next(c for c in problem.conditions if isinstance(c, kp.Initial) and c.derivative == 0)
        np.testing.assert_allclose(init.value(x).reshape(-1), problem.exact(x).reshape(-1), atol=1e-14)


# --------------------------------------------------------------------------- finite differences


def fd_error(module, sol) -> float:
    points = sol.points()
    if module.exact is not None:
        expected = module.exact(torch.as_tensor(points)).numpy().reshape(-1)
    else:
        expected = module.reference(torch.as_tensor(points)).numpy().reshape(-1)
    return float(np.max(np.abs(sol.values.reshape(-1) - expected)))


@pytest.mark.parametrize("name", [n for n in FD_PROBLEMS if n != "burgers1d"])
def test_fd_default_resolution_agrees(name):
    module = problems.get(name)
    sol = module.fd_solution()
    assert isinstance(sol, kp.fd.FDSolution)
    assert sol.names == problems.load_problem(name).domain.names  # interpolate takes the problem's points
    assert fd_error(module, sol) < 1e-2


@pytest.mark.parametrize("name", [n for n in EXACT_PROBLEMS if problems.get(n).FD])
def test_fd_converges_second_order(name):
    module = problems.get(name)
    base = 8 if name in ("poisson2d", "poisson2d_paper", "poisson3d", "heat2d") else 16
    if name == "helmholtz2d":
        base = 32
    coarse, fine = (fd_error(module, module.fd_solution(n)) for n in (base, 2 * base))
    assert 3.0 < coarse / fine < 5.5, f"{name}: errors {coarse:.2e} -> {fine:.2e}"


def test_fd_resolution_arguments():
    assert problems.get("poisson2d").fd_solution(8).values.shape == (9, 9)
    assert problems.get("poisson2d").fd_solution(8, order=4).method == "fd-poisson-4th-mehrstellen-dst"
    assert problems.get("heat1d").fd_solution((8, 20)).values.shape == (9, 21)
    assert problems.get("wave1d").fd_solution(8).axes["t"].shape == (17,)  # nt = 2n
    with pytest.raises(ValueError, match="resolution"):
        problems.get("poisson2d").fd_solution(1)
    with pytest.raises(ValueError, match="resolution"):
        problems.get("heat1d").fd_solution((8, 8, 8))
    with pytest.raises(TypeError, match="resolution"):
        problems.get("heat1d").fd_solution(2.5)
    assert [_common.save_every(nt) for nt in (50, 128, 1000, 2048)] == [1, 1, 10, 16]


# --------------------------------------------------------------------------- Burgers


def test_burgers_cole_hopf_vs_fine_fd():
    sol = kp.fd.burgers(lambda p: -torch.sin(math.pi * p[:, 0]), burgers1d.NU, -1, 1, 4096, 1.0, 1000,
                        save_every=50)
    points = sol.points()
    err = np.abs(sol.values.reshape(-1) - burgers1d.reference_numpy(points))
    away = np.abs(points[:, 0]) > 0.1  # away from the shock at x = 0
    assert err.max() < 1e-3
    assert err[away].max() < 2e-5


def test_burgers_reference_properties():
    x = np.linspace(-1, 1, 41)
    np.testing.assert_allclose(burgers1d.reference_numpy(np.column_stack([x, np.zeros_like(x)])),
                               -np.sin(np.pi * x), atol=1e-14)
    t = np.linspace(0, 1, 11)
    ends = np.column_stack([np.repeat([-1.0, 1.0], len(t)), np.tile(t, 2)])
    assert np.abs(burgers1d.reference_numpy(ends)).max() < 1e-13
    pts = torch.as_tensor(problems.load_problem("burgers1d").domain.sample_interior(500, "sobol", 4))
    np.testing.assert_allclose(burgers1d.reference_numpy(pts.numpy()),
                               burgers1d.reference_torch(pts).numpy().reshape(-1), atol=1e-13)
    # odd symmetry u(-x, t) = -u(x, t); the shock sits at x = 0
    mirrored = pts.numpy() * np.array([-1.0, 1.0])
    np.testing.assert_allclose(burgers1d.reference_numpy(mirrored), -burgers1d.reference_numpy(pts.numpy()), atol=1e-12)
    with pytest.raises(ValueError, match=r"\(M, 2\)"):
        burgers1d.reference_numpy(np.zeros((3, 3)))


# --------------------------------------------------------------------------- Allen-Cahn cache


@pytest.fixture
def fresh_allen_cahn_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KANPDE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(allen_cahn1d, "REFERENCE_RESOLUTION", (128, 100))
    monkeypatch.setattr(allen_cahn1d, "REFERENCE_SAVE_EVERY", 10)
    allen_cahn1d.reference_solution.cache_clear()
    allen_cahn1d._reference_spline.cache_clear()
    yield tmp_path / "cache"
    allen_cahn1d.reference_solution.cache_clear()
    allen_cahn1d._reference_spline.cache_clear()


def test_allen_cahn_reference_cached(fresh_allen_cahn_cache, monkeypatch):
    cache = fresh_allen_cahn_cache
    first = allen_cahn1d.reference_solution()
    files = sorted(os.listdir(cache))
    assert files == ["allen_cahn1d_eps0.0001_n128_nt100_every10.npz"]  # no temporary files left behind
    assert first.values.shape == (129, 11) and allen_cahn1d.reference_solution() is first  # memory cache

    def no_fd(*args, **kwargs):
        raise AssertionError("the cached reference must not be recomputed")

    allen_cahn1d.reference_solution.cache_clear()
    with monkeypatch.context() as m:
        m.setattr(kp.fd, "allen_cahn", no_fd)
        again = allen_cahn1d.reference_solution()  # from disk
    np.testing.assert_array_equal(again.values, first.values)
    assert again.names == ("x", "t") and again.method == first.method
    pts = np.array([[0.3, 0.5], [-1.0, 0.0], [1.0, 1.0]])
    np.testing.assert_array_equal(allen_cahn1d.reference(pts), first.interpolate(pts))

    (cache / files[0]).write_bytes(b"not an npz file")
    allen_cahn1d.reference_solution.cache_clear()
    with pytest.warns(UserWarning, match="unreadable cache file"):
        rebuilt = allen_cahn1d.reference_solution()
    np.testing.assert_array_equal(rebuilt.values, first.values)
    assert sorted(os.listdir(cache)) == files


def test_allen_cahn_reference_accuracy():
    """The default reference agrees with a 4x coarser run to the expected h^2 margin."""
    ref = allen_cahn1d.reference_solution()
    assert ref.values.shape == (4097, 201)
    coarse = problems.get("allen_cahn1d").fd_solution((1024, 1000))
    err = np.abs(coarse.values.reshape(-1) - allen_cahn1d.reference(coarse.points())[:, 0])
    assert 1e-5 < err.max() < 2e-3
    assert np.all(np.abs(ref.values) <= 1.0 + 1e-12)  # the reaction keeps u in [-1, 1]
