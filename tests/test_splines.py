"""B-spline bases, derivatives, the tangent continuation and the fused kernel (float64 throughout)."""

import pytest
import torch

from kanpde.nn.splines import (cardinal_matrix, cell_polynomials, dense_basis, fit_coefficients, local_basis,
                            monomial_weights, spline_jet, spline_values)

DT = torch.float64


def _range(n_in):
    lo = torch.tensor([-1.0, -0.5, 0.25][:n_in], dtype=DT)
    hi = torch.tensor([1.0, 2.0, 0.75][:n_in], dtype=DT)
    return lo, hi


def _points(n, lo, hi, spread=1.0, seed=0):
    """Points spread * wider than [lo, hi] around its centre."""
    g = torch.Generator().manual_seed(seed)
    t = torch.rand(n, lo.shape[0], generator=g, dtype=DT)
    mid, half = (lo + hi) / 2, (hi - lo) / 2
    return mid + (2 * t - 1) * half * spread


def _away_from_knots(x, lo, hi, grid, gap):
    """Rows whose every coordinate is at least ``gap`` (in cells) from a knot and from the range ends."""
    s = (x - lo) / ((hi - lo) / grid)
    frac = s - s.round()
    ok = (frac.abs() > gap).all(1) & ((s.abs() > gap) & ((s - grid).abs() > gap)).all(1)
    return x[ok]


def _coef(n_in, n_out, grid, k, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n_in, n_out, grid + k, generator=g, dtype=DT)


# --- bases ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("grid", [1, 3, 8])
@pytest.mark.parametrize("k", [0, 1, 2, 3, 4])
def test_partition_of_unity_and_non_negative(grid, k):
    lo, hi = _range(3)
    x = torch.cat([_points(300, lo, hi), lo[None], hi[None]])
    basis = dense_basis(x, lo, hi, grid, k)                              # (N, in, G+k)
    assert basis.shape == (302, 3, grid + k)
    torch.testing.assert_close(basis.sum(-1), torch.ones(302, 3, dtype=DT), rtol=0, atol=1e-13)
    assert basis.min() >= -1e-14
    local, cell = local_basis(x, lo, hi, grid, k)
    torch.testing.assert_close(local[:, :, 0].sum(-1), torch.ones(302, 3, dtype=DT), rtol=0, atol=1e-13)
    assert cell.min() >= 0 and cell.max() <= grid - 1


@pytest.mark.parametrize("k", [0, 1, 2, 3, 5])
def test_cardinal_matrix_rows_sum_to_the_constant_one(k):
    m = cardinal_matrix(k)
    assert m.shape == (k + 1, k + 1)
    expected = [1.0] + [0.0] * k                                         # sum_m basis_m(u) = 1
    assert m.sum(1) == pytest.approx(expected, abs=1e-13)


def test_cardinal_matrix_rejects_bad_k():
    with pytest.raises(ValueError, match="k must be an integer >= 0"):
        cardinal_matrix(-1)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_basis_derivatives_match_central_differences(k):
    lo, hi = _range(2)
    grid, eps = 6, 1e-6
    x = _away_from_knots(_points(400, lo, hi), lo, hi, grid, gap=1e-3)
    for order in (1, 2):
        exact = dense_basis(x, lo, hi, grid, k, order)
        for i in range(2):
            step = torch.zeros(2, dtype=DT)
            step[i] = eps
            fd = (dense_basis(x + step, lo, hi, grid, k, order - 1)
                  - dense_basis(x - step, lo, hi, grid, k, order - 1)) / (2 * eps)
            torch.testing.assert_close(exact[:, i], fd[:, i], rtol=1e-6, atol=1e-5 * (grid ** order))


@pytest.mark.parametrize("k", [2, 3])
def test_basis_derivatives_match_autograd(k):
    lo, hi = _range(2)
    grid = 5
    x = _points(60, lo, hi, spread=1.5).requires_grad_(True)
    values = dense_basis(x, lo, hi, grid, k)
    first = dense_basis(x, lo, hi, grid, k, 1)
    second = dense_basis(x, lo, hi, grid, k, 2)
    for g in range(grid + k):
        (d1,) = torch.autograd.grad(values[:, :, g].sum(), x, create_graph=True)
        (d2,) = torch.autograd.grad(d1.sum(), x, retain_graph=True)
        torch.testing.assert_close(d1, first[:, :, g], rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(d2, second[:, :, g], rtol=1e-12, atol=1e-10)


def test_spline_values_equal_dense_basis_times_coefficients():
    lo, hi = _range(3)
    grid, k = 7, 3
    x = _points(100, lo, hi, spread=1.4)
    coef = _coef(3, 2, grid, k)
    values = spline_values(x, coef, lo, hi, grid, k, order=2)           # (N, in, 3, out)
    for r in range(3):
        dense = torch.einsum("nig,iog->nio", dense_basis(x, lo, hi, grid, k, r), coef)
        torch.testing.assert_close(values[:, :, r], dense, rtol=1e-12, atol=1e-12)


def test_monomial_weights_shapes_and_cells():
    lo, hi = _range(2)
    x = torch.tensor([[-5.0, 0.0], [0.999, 5.0]], dtype=DT)
    weights, cell = monomial_weights(x, lo, hi, grid=4, k=3, order=2)
    assert weights.shape == (2, 2, 3, 4)
    assert cell.dtype == torch.int64
    assert cell.tolist() == [[0, 0], [3, 3]]                             # clamped to the end cells outside


# --- tangent continuation ------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2, 3])
def test_continuation_is_linear_and_c1_outside_the_range(k):
    lo, hi = _range(2)
    grid = 5
    coef = _coef(2, 3, grid, k)
    for end, sign in ((hi, 1.0), (lo, -1.0)):
        at = spline_values(end[None], coef, lo, hi, grid, k, order=2)[0]  # (in, 3, out)
        for d in (1e-9, 0.3, 2.0):
            x = (end + sign * d)[None]
            out = spline_values(x, coef, lo, hi, grid, k, order=2)[0]
            torch.testing.assert_close(out[:, 0], at[:, 0] + sign * d * at[:, 1], rtol=1e-12, atol=1e-12)
            torch.testing.assert_close(out[:, 1], at[:, 1], rtol=1e-12, atol=1e-12)
            assert out[:, 2].abs().max() == 0.0                         # no curvature outside
    if k >= 2:  # C^1 across the ends: one-sided first derivatives agree
        eps = 1e-7
        inner = spline_values((hi - eps)[None], coef, lo, hi, grid, k, order=1)[0]
        outer = spline_values((hi + eps)[None], coef, lo, hi, grid, k, order=1)[0]
        torch.testing.assert_close(inner[:, 1], outer[:, 1], rtol=0, atol=1e-5)
        torch.testing.assert_close(inner[:, 0], outer[:, 0], rtol=0, atol=1e-5)


# --- autograd and the fused kernel ---------------------------------------------------------------


def _gradcheck_points(lo, hi, grid):
    """Points inside and outside the range, away from knots and ends (finite differences need smoothness there)."""
    return _away_from_knots(_points(40, lo, hi, spread=1.8, seed=3), lo, hi, grid, gap=1e-2)[:8]


@pytest.mark.parametrize("order", [0, 1, 2])
def test_gradcheck_spline_values(order):
    lo, hi = _range(2)
    grid, k = 4, 3
    x = _gradcheck_points(lo, hi, grid).requires_grad_(True)
    coef = _coef(2, 2, grid, k).requires_grad_(True)
    fn = lambda x, c: spline_values(x, c, lo, hi, grid, k, order)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x, coef))
    assert torch.autograd.gradgradcheck(fn, (x, coef))


@pytest.mark.parametrize("order", [0, 1, 2])
@pytest.mark.parametrize("k", [1, 3])
def test_gradcheck_spline_jet(order, k):
    lo, hi = _range(2)
    grid = 4
    x = _gradcheck_points(lo, hi, grid).requires_grad_(True)
    coef = _coef(2, 3, grid, k).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x, c: spline_jet(x, c, lo, hi, grid, k, order), (x, coef))


@pytest.mark.parametrize("k", [0, 2, 3, 4])
def test_spline_jet_equals_spline_values(k):
    lo, hi = _range(3)
    grid, order = 6, 2
    x = _points(200, lo, hi, spread=1.6, seed=5)
    coef = _coef(3, 4, grid, k)
    weights = torch.randn(200, 3, order + 1, 4, dtype=DT, generator=torch.Generator().manual_seed(2))
    results = []
    for fn in (spline_values, spline_jet):
        xr, cr = x.clone().requires_grad_(True), coef.clone().requires_grad_(True)
        out = fn(xr, cr, lo, hi, grid, k, order)
        (out * weights).sum().backward()
        results.append((out.detach(), xr.grad, cr.grad))
    for ref, got in zip(*results):
        torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)


def test_nan_inputs_give_nan_not_an_index_error():
    lo, hi = _range(2)
    x = torch.tensor([[float("nan"), 0.0], [0.5, float("-inf")]], dtype=DT)
    coef = _coef(2, 2, 4, 3)
    for fn in (spline_values, spline_jet):
        out = fn(x, coef, lo, hi, 4, 3, 2)
        assert torch.isnan(out[0, 0]).all() and torch.isfinite(out[0, 1]).all()
        assert not torch.isfinite(out[1, 1, 0]).any()
    assert torch.isnan(dense_basis(x, lo, hi, 4, 3)[0, 0]).any()


# --- least squares -------------------------------------------------------------------------------


def test_fit_coefficients_recovers_a_spline_and_nested_refinement():
    lo, hi = _range(2)
    grid, k = 5, 3
    coef = _coef(2, 3, grid, k)
    x = lo + torch.linspace(0, 1, 80, dtype=DT)[:, None] * (hi - lo)
    y = spline_values(x, coef, lo, hi, grid, k)[:, :, 0]                # (N, in, out)
    torch.testing.assert_close(fit_coefficients(x, y, lo, hi, grid, k), coef, rtol=1e-10, atol=1e-10)
    fine = fit_coefficients(x, y, lo, hi, 2 * grid, k)                  # nested grid: exact
    torch.testing.assert_close(spline_values(x, fine, lo, hi, 2 * grid, k)[:, :, 0], y, rtol=1e-10, atol=1e-10)


def test_fit_coefficients_needs_enough_samples():
    lo, hi = _range(1)
    x = torch.zeros(5, 1, dtype=DT)
    with pytest.raises(ValueError, match="needs at least as many samples"):
        fit_coefficients(x, torch.zeros(5, 1, 1, dtype=DT), lo, hi, grid=5, k=3)


def test_cell_polynomials_layout():
    grid, k = 3, 2
    coef = _coef(2, 3, grid, k)
    table = cell_polynomials(coef, k)
    assert table.shape == (2 * grid, (k + 1) * 3)
    m = torch.as_tensor(cardinal_matrix(k))
    # row i*G + c, column p*out + o: q_p of spline (i, o) on cell c
    assert table[1 * grid + 2, 1 * 3 + 0].item() == pytest.approx((m[1] @ coef[1, 0, 2:2 + k + 1]).item())
