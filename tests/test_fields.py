"""Field derivatives: exact on known functions, jet == autograd on KANs, caching, errors."""

import itertools

import pytest
import torch

import kanpde as kp
from kanpde.pde.fields import DerivativeRecord, Field

from conftest import Exact


def _points(n, dim, scale=1.0):
    return (torch.rand(n, dim, dtype=torch.float64) * 2 - 1) * scale


def test_polynomial_and_sine_derivatives_are_exact():
    fn = lambda x: x[:, 0] ** 3 * x[:, 1] + torch.sin(x[:, 1])  # noqa: E731
    x = _points(50, 2)
    u = Field(Exact(fn, 2), x, ("x", "y"), backend="autograd")
    X, Y = x[:, :1], x[:, 1:]
    torch.testing.assert_close(u.d("x"), 3 * X ** 2 * Y)
    torch.testing.assert_close(u.d("y"), X ** 3 + torch.cos(Y))
    torch.testing.assert_close(u.d("x", "x"), 6 * X * Y)
    torch.testing.assert_close(u.d("x", "y"), 3 * X ** 2)
    torch.testing.assert_close(u.d("y", "x"), 3 * X ** 2)
    torch.testing.assert_close(u.d(0, 0, 0), 6 * Y)
    torch.testing.assert_close(u.laplacian(), 6 * X * Y - torch.sin(Y))
    torch.testing.assert_close(u.grad(), torch.cat([3 * X ** 2 * Y, X ** 3 + torch.cos(Y)], 1))


@pytest.mark.parametrize("names,spatial", [(("x", "y"), (0, 1)), (("x", "y", "z"), (0, 1, 2)), (("x", "y", "t"), (0, 1))])
def test_jet_and_autograd_backends_agree_on_a_kan(names, spatial):
    dim = len(names)
    model = kp.KAN([dim, 6, 2], grid=5, seed=1).double()
    x = _points(40, dim, 1.2)
    jet = Field(model, x, names, spatial, backend="jet")
    auto = Field(model, x, names, spatial, backend="autograd")
    for a in range(dim):
        torch.testing.assert_close(jet.d(a), auto.d(a), rtol=0, atol=1e-10)
    for a, b in itertools.combinations_with_replacement(range(dim), 2):
        torch.testing.assert_close(jet.d(a, b), auto.d(a, b), rtol=0, atol=1e-10)
    torch.testing.assert_close(jet.laplacian(), auto.laplacian(), rtol=0, atol=1e-10)
    torch.testing.assert_close(jet[1].d(names[0], names[0], names[0]), auto[1].d(0, 0, 0), rtol=0, atol=1e-9)


def test_laplacian_skips_time_and_jet_is_cached():
    model = kp.KAN([2, 4, 1], seed=0).double()
    x = _points(30, 2)
    u = Field(model, x, ("x", "t"), spatial_axes=(0,))
    torch.testing.assert_close(u.laplacian(), u.d("x", "x"))
    assert u.d("x", "x") is u.d("x", "x")
    assert u.grad().shape == (30, 1)


def test_record_makes_the_next_batch_one_jet_pass(monkeypatch):
    model = kp.KAN([2, 4, 1], seed=0).double()
    record = DerivativeRecord()
    calls = []
    original = model.jet
    monkeypatch.setattr(model, "jet", lambda *a, **k: calls.append(k.get("order")) or original(*a, **k))
    u = Field(model, _points(10, 2), ("x", "y"), record=record)
    u.d("x"), u.d("x", "y"), u.d("y", "y")
    first = len(calls)
    u = Field(model, _points(10, 2), ("x", "y"), record=record)
    u.value, u.d("x"), u.d("x", "y"), u.d("y", "y")
    assert len(calls) - first == 1 and first >= 2


def test_components_and_divergence():
    fn = lambda x: torch.stack([x[:, 0] ** 2, x[:, 0] * x[:, 1]], 1)  # noqa: E731
    x = _points(20, 2)
    u = Field(Exact(fn, 2, 2), x, ("x", "y"), outputs=("a", "b"), backend="autograd")
    torch.testing.assert_close(u.div(), 2 * x[:, :1] + x[:, :1])
    torch.testing.assert_close(u["b"].d("y"), x[:, :1])
    assert u.value.shape == (20, 2) and u[0].value.shape == (20, 1)
    with pytest.raises(ValueError, match="scalar field"):
        u.grad()
    with pytest.raises(ValueError, match="unknown component 'c'. Pick one of"):
        u["c"]


def test_field_errors_name_what_was_expected():
    model = kp.KAN([2, 3, 1], k=1, seed=0).double()
    u = Field(model, _points(5, 2), ("x", "y"))
    u.d("x")  # first derivatives of linear splines are fine
    with pytest.raises(ValueError, match="k >= 2, got k=1"):
        u.d("x", "x")
    with pytest.raises(ValueError, match=r"unknown coordinate 'z'. Pick one of \('x', 'y'\)"):
        u.d("z")
    with pytest.raises(ValueError, match="unknown derivative backend"):
        Field(model, _points(5, 2), ("x", "y"), backend="magic").value
    with pytest.raises(ValueError, match="jet backend needs"):
        Field(kp.MLP([2, 4, 1]), _points(5, 2), ("x", "y"), backend="jet").value


def test_component_views_index_within_themselves():
    model = kp.KAN([2, 3, 2], seed=0).double()
    u = Field(model, _points(6, 2), ("x", "y"), outputs=("a", "b"))
    torch.testing.assert_close(u[1][0].value, u["b"].value)
    with pytest.raises(ValueError, match=r"int in 0..0"):
        u[1][1]
    assert u.n_components == 2 and u[0].n_components == 1
