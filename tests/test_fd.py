"""Convergence-order and interface tests for the finite-difference baselines (kanpde.fd)."""

import numpy as np
import pytest
import torch

from kanpde import fd

PI = np.pi
SECOND = (1.8, 2.3)
FOURTH = (3.6, 4.5)


def observed_order(hs, errors) -> float:
    """Least-squares slope of log(error) against log(h)."""
    return float(np.polyfit(np.log(hs), np.log(errors), 1)[0])


def assert_order(hs, errors, band, label):
    rate = observed_order(hs, errors)
    lo, hi = band
    assert lo <= rate <= hi, (
        f"{label}: observed order {rate:.3f} outside [{lo}, {hi}]; "
        f"h={np.round(hs, 5).tolist()}, errors={[f'{e:.3e}' for e in errors]}"
    )
    return rate


def nodal_error(sol, exact) -> float:
    return float(np.max(np.abs(sol.values.ravel() - exact(torch.as_tensor(sol.points())).numpy().ravel())))


def sine_product(p):
    return torch.prod(torch.sin(PI * p), dim=1)


# --------------------------------------------------------------------------- Poisson


@pytest.mark.parametrize(
    "d, order, ns",
    [
        (1, 2, [16, 32, 64, 128]),
        (1, 4, [8, 16, 32, 64]),
        (2, 2, [8, 16, 32, 64]),
        (2, 4, [8, 16, 32]),
        (3, 2, [8, 16, 32]),
        (3, 4, [6, 12, 24]),
    ],
)
def test_poisson_order_sine(d, order, ns):
    f = lambda p: -d * PI**2 * sine_product(p)  # noqa: E731
    hs, errs = [], []
    for n in ns:
        sol = fd.poisson(f, [-1.0] * d, [1.0] * d, n, order=order)
        hs.append(sol.h)
        errs.append(nodal_error(sol, sine_product))
    assert sol.values.shape == (ns[-1] + 1,) * d
    assert sol.method.startswith("fd-poisson-")
    assert_order(hs, errs, SECOND if order == 2 else FOURTH, f"poisson d={d} order={order}")


def test_poisson_nonzero_boundary_harmonic():
    exact = lambda p: torch.exp(p[:, 0]) * torch.sin(p[:, 1])  # noqa: E731  (harmonic: f = 0)
    for order, ns, band in [(2, [8, 16, 32, 64], SECOND), (4, [4, 8, 16], (3.6, 6.5))]:
        hs, errs = [], []
        for n in ns:
            sol = fd.poisson(0.0, [-1, -1], [1, 1], n, g=exact, order=order)
            hs.append(sol.h)
            errs.append(nodal_error(sol, exact))
        # Mehrstellen is 6th order on harmonic functions, hence the wide band.
        assert_order(hs, errs, band, f"poisson exp(x)sin(y) order={order}")


def test_poisson_nonzero_boundary_fourth_order_anisotropic():
    exact = lambda p: torch.exp(p[:, 0]) * torch.sin(2 * p[:, 1])  # noqa: E731
    f = lambda p: -3.0 * exact(p)  # noqa: E731
    hs, errs = [], []
    for n in [8, 16, 32]:
        sol = fd.poisson(f, [0.0, -1.0], [1.0, 2.0], (n, 3 * n), g=exact, order=4)
        hs.append(sol.h)
        errs.append(nodal_error(sol, exact))
    assert sol.values.shape == (33, 97)
    assert_order(hs, errs, FOURTH, "poisson 4th order, non-zero g, hx != hy")


# --------------------------------------------------------------------------- Helmholtz


def test_helmholtz_benchmark_order():
    exact = lambda p: torch.sin(PI * p[:, 0]) * torch.sin(4 * PI * p[:, 1])  # noqa: E731
    f = lambda p: (1.0 - 17 * PI**2) * exact(p)  # noqa: E731  (k = 1)
    hs, errs = [], []
    for n in [24, 48, 96]:
        sol = fd.helmholtz(f, 1.0, [-1, -1], [1, 1], n)
        hs.append(sol.h)
        errs.append(nodal_error(sol, exact))
    assert_order(hs, errs, SECOND, "helmholtz")


def test_helmholtz_1d_nonzero_boundary():
    k = 3.0
    exact = lambda p: torch.cos(2 * p[:, 0]) + p[:, 0]  # noqa: E731
    f = lambda p: (k**2 - 4) * torch.cos(2 * p[:, 0]) + k**2 * p[:, 0]  # noqa: E731
    hs, errs = [], []
    for n in [16, 32, 64]:
        sol = fd.helmholtz(f, k, 0.0, 2.0, n, g=exact)
        hs.append(sol.h)
        errs.append(nodal_error(sol, exact))
    assert_order(hs, errs, SECOND, "helmholtz 1-D")


# --------------------------------------------------------------------------- heat


@pytest.mark.parametrize("d, ns", [(1, [16, 32, 64, 128]), (2, [8, 16, 32])])
def test_heat_order(d, ns):
    alpha = 0.5
    exact = lambda p: torch.exp(-d * alpha * PI**2 * p[:, -1]) * sine_product(p[:, :-1])  # noqa: E731
    hs, errs = [], []
    for n in ns:
        sol = fd.heat(sine_product, alpha, [-1.0] * d, [1.0] * d, n, t1=0.25, nt=n // 2)
        hs.append(sol.h)
        errs.append(nodal_error(sol, exact))
    assert list(sol.axes)[-1] == "t" and len(sol.axes["t"]) == ns[-1] // 2 + 1
    assert_order(hs, errs, SECOND, f"heat d={d}")


def test_heat_source_and_time_dependent_boundary():
    alpha = 0.3
    exact = lambda p: torch.cos(p[:, -1]) * torch.exp(p[:, 0])  # noqa: E731
    source = lambda p: -(torch.sin(p[:, -1]) + alpha * torch.cos(p[:, -1])) * torch.exp(p[:, 0])  # noqa: E731
    hs, errs = [], []
    for n in [8, 16, 32]:
        sol = fd.heat(lambda p: torch.exp(p[:, 0]), alpha, 0.0, 1.0, n, 1.0, n, g=exact, source=source, save_every=4)
        hs.append(sol.h)
        errs.append(nodal_error(sol, exact))
    assert np.isclose(sol.axes["t"][-1], 1.0)
    assert_order(hs, errs, SECOND, "heat with source and g(x, t)")


# --------------------------------------------------------------------------- Burgers


def _minus_sine(p):
    return -torch.sin(PI * p[:, 0])


def test_burgers_self_refinement_order():
    hs, errs = [], []
    for n in [32, 64, 128]:
        coarse = fd.burgers(_minus_sine, 0.1, -1, 1, n, 0.2, n // 2)
        fine = fd.burgers(_minus_sine, 0.1, -1, 1, 4 * n, 0.2, 2 * n)
        hs.append(coarse.h)
        errs.append(np.max(np.abs(coarse.values[:, -1] - fine.values[::4, -1])))
    assert_order(hs, errs, SECOND, "burgers self-refinement (nu=0.1)")


def test_burgers_shock_benchmark():
    sol = fd.burgers(_minus_sine, 0.01 / PI, -1, 1, 2048, 1.0, 2000, save_every=500)
    assert sol.values.shape == (2049, 5)
    u, x = sol.values[:, -1], sol.axes["x"]
    slope = np.max(np.abs(np.diff(u) / np.diff(x)))
    assert abs(u[1024]) < 1e-10, f"u(0, 1) = {u[1024]:.3e}, expected 0 by symmetry"
    assert slope > 50, f"max |u_x| at t=1 is {slope:.1f}, expected a steep shock (> 50)"
    assert np.max(np.abs(sol.values)) <= 1.0 + 1e-6


# --------------------------------------------------------------------------- Allen-Cahn


def _ac_initial(p):
    return p[:, 0] ** 2 * torch.cos(PI * p[:, 0])


def test_allen_cahn_self_refinement_order():
    ref = fd.allen_cahn(_ac_initial, 0.01, -1, 1, 512, 0.1, 512)
    hs, errs = [], []
    for n in [32, 64, 128]:
        sol = fd.allen_cahn(_ac_initial, 0.01, -1, 1, n, 0.1, n)
        hs.append(sol.h)
        errs.append(np.max(np.abs(sol.values[:, -1] - ref.values[:: 512 // n, -1])))
    assert_order(hs, errs, SECOND, "allen-cahn self-refinement (eps=0.01)")


def test_allen_cahn_benchmark_bounded_and_periodic():
    sol = fd.allen_cahn(_ac_initial, 1e-4, -1, 1, 512, 1.0, 1000, save_every=100)
    assert sol.values.shape == (513, 11)
    assert -1.01 <= sol.values.min() and sol.values.max() <= 1.01
    np.testing.assert_array_equal(sol.values[0], sol.values[-1])


# --------------------------------------------------------------------------- advection, wave


def test_advection_order():
    exact = lambda p: torch.sin(PI * (p[:, 0] - 0.7 * p[:, 1]))  # noqa: E731
    hs, errs = [], []
    for n in [32, 64, 128, 256]:
        sol = fd.advection(lambda p: torch.sin(PI * p[:, 0]), 0.7, -1, 1, n, 0.5, n // 2)
        hs.append(sol.h)
        errs.append(nodal_error(sol, exact))
    assert_order(hs, errs, SECOND, "advection (Lax-Wendroff)")


def test_wave_order():
    c = 2.0
    exact = lambda p: torch.sin(PI * p[:, 0]) * torch.cos(PI * c * p[:, 1])  # noqa: E731
    hs, errs = [], []
    for n in [16, 32, 64, 128]:
        sol = fd.wave(lambda p: torch.sin(PI * p[:, 0]), 0.0, c, -1, 1, n, 0.5, n)  # c dt/h = 0.5
        hs.append(sol.h)
        errs.append(nodal_error(sol, exact))
    assert_order(hs, errs, SECOND, "wave (leapfrog)")


def test_wave_initial_velocity():
    c = 1.0
    exact = lambda p: torch.sin(PI * p[:, 0]) * torch.sin(PI * c * p[:, 1]) / (PI * c)  # noqa: E731
    hs, errs = [], []
    for n in [16, 32, 64]:
        sol = fd.wave(0.0, lambda p: torch.sin(PI * p[:, 0]), c, -1, 1, n, 0.75, n)
        hs.append(sol.h)
        errs.append(nodal_error(sol, exact))
    assert_order(hs, errs, SECOND, "wave with v0")


def test_wave_travelling_with_time_dependent_boundary():
    exact = lambda p: torch.sin(p[:, 0] - p[:, -1])  # noqa: E731  (c = 1)
    hs, errs = [], []
    for n in [16, 32, 64]:
        sol = fd.wave(torch.sin, lambda p: -torch.cos(p[:, 0]), 1.0, 0, 1, n, 1.0, 2 * n, g=exact)  # c dt/h = 0.5
        hs.append(sol.h)
        errs.append(nodal_error(sol, exact))
    assert_order(hs, errs, SECOND, "wave with g(x, t)")


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: fd.poisson(1.0, [0, 0], [1, 1], 8, order=3), r"order must be one of \(2, 4\), got 3"),
        (lambda: fd.poisson(1.0, [0, 0], [1], 8), "same length"),
        (lambda: fd.poisson(1.0, [0, 1], [1, 1], 8), "hi > lo"),
        (lambda: fd.poisson(1.0, [0, 0], [1, 1], 1), "n must be an int >= 2"),
        (lambda: fd.poisson(1.0, [0, 0], [1, 1], (8, 8, 8)), "tuple of 2"),
        (lambda: fd.poisson(1.0, [0] * 4, [1] * 4, 4, order=4), r"d in \(1, 2, 3\).*got d=4"),
        (lambda: fd.poisson(lambda p: torch.full((len(p),), np.nan), [0], [1], 8), "finite"),
        (lambda: fd.poisson(lambda p: torch.ones(len(p), 2), [0], [1], 8), "must return shape"),
        (lambda: fd.helmholtz(1.0, [1, 2], [0, 0], [1, 1], 8), "k must be"),
        (lambda: fd.heat(0.0, -1.0, 0, 1, 8, 1.0, 8), "alpha must be"),
        (lambda: fd.heat(0.0, 1.0, 0, 1, 8, 0.0, 8), "t1 > t0"),
        (lambda: fd.heat(0.0, 1.0, 0, 1, 8, 1.0, 0), "nt must be"),
        (lambda: fd.heat(0.0, 1.0, 0, 1, 8, 1.0, 8, names=("t",)), "must not include 't'"),
        (lambda: fd.burgers(0.0, 0.0, 0, 1, 8, 1.0, 8), "nu must be"),
        (lambda: fd.burgers(0.0, 0.1, [0, 0], [1, 1], 8, 1.0, 8), r"d in \(1,\)"),
        (lambda: fd.allen_cahn(0.0, 1e-4, 0, 1, 8, 1.0, 8, save_every=0), "save_every"),
        (lambda: fd.advection(0.0, 1.0, 0, 1, 100, 1.0, 10), "Courant number"),
        (lambda: fd.wave(0.0, 0.0, 1.0, 0, 1, 100, 1.0, 50), "Courant number"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --------------------------------------------------------------------------- FDSolution


def test_points_match_values_ravel():
    sol = fd.poisson(0.0, [0, 1, 2], [1, 3, 4], (3, 4, 5), g=lambda p: p[:, 0] + 10 * p[:, 1] + 100 * p[:, 2])
    pts = sol.points()
    assert pts.shape == (4 * 5 * 6, 3)
    np.testing.assert_allclose(sol.values.ravel(), pts @ [1, 10, 100], atol=1e-10)
    assert pts[1].tolist() == [0.0, 1.0, 2.4]  # last axis varies fastest ("ij", C order)
    assert sol.h == pytest.approx(0.5)


def test_interpolate_exact_on_linear_function():
    linear = lambda p: 1.0 + 2.0 * p[:, 0] - 3.0 * p[:, 1]  # noqa: E731  (harmonic, so exact)
    rng = np.random.default_rng(0)
    for n in [(2, 3), (8, 16)]:  # linear and cubic interpolation
        sol = fd.poisson(0.0, [-1, 0], [1, 2], n, g=linear)
        pts = rng.uniform([-1, 0], [1, 2], size=(50, 2))
        np.testing.assert_allclose(sol.interpolate(pts), linear(pts)[:, None], atol=1e-10)
    corner = np.array([[1.0 + 1e-13, 2.0]])
    np.testing.assert_allclose(sol.interpolate(corner), linear(np.array([[1.0, 2.0]]))[:, None], atol=1e-10)


def test_interpolate_space_time_and_errors():
    sol = fd.advection(lambda p: p[:, 0] * 0 + 2.0, 1.0, 0, 1, 16, 1.0, 32)
    assert sol.interpolate(np.array([[0.3, 0.5]]))[:, 0] == pytest.approx([2.0])
    with pytest.raises(ValueError, match=r"points must have shape \(N, 2\)"):
        sol.interpolate(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="outside"):
        sol.interpolate(np.array([[0.5, 1.1]]))


def test_data_functions_take_torch_points_and_interpolate_matches_predict_shape():
    """kp.fd data follow the kanpde convention: torch (M, d) in; interpolate gives (M, 1), torch in -> torch out."""
    seen = []

    def g(p):
        seen.append(type(p))
        return 1.0 + p[:, 0]

    sol = fd.poisson(0.0, [0.0], [1.0], 8, g=g)
    assert seen and all(t is torch.Tensor for t in seen)
    x = torch.tensor([[0.25], [0.5]], dtype=torch.float32)
    values = sol.interpolate(x)
    assert isinstance(values, torch.Tensor) and values.shape == (2, 1) and values.dtype == torch.float32
    np.testing.assert_allclose(values.numpy()[:, 0], [1.25, 1.5], atol=1e-6)
    assert sol.interpolate(x.numpy()).shape == (2, 1)
