"""KAN, KANLayer and MLP: jets against nested autograd, grid refinement, fitting, input checks."""

import math

import pytest
import torch

from kanpde import KAN, MLP, Jet, KANLayer
from kanpde.nn.jet import normalize_pairs
from kanpde.nn.splines import fit_coefficients

DT = torch.float64


def _points(n, dim, lo=-1.0, hi=1.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    return lo + (hi - lo) * torch.rand(n, dim, generator=g, dtype=DT)


def _inside_and_outside(n, dim, seed=0):
    """Half the points in the default grid range [-1, 1], half beyond it."""
    return torch.cat([_points(n // 2, dim, -1, 1, seed), _points(n - n // 2, dim, -2.5, 2.5, seed + 1)])


def _kan(widths, grid=5, k=3, seed=0, **kw):
    return KAN(widths, grid=grid, k=k, seed=seed, **kw).to(DT)


def _nested(model, x, pairs):
    """Value, gradient (N, out, D) and second derivatives (N, out, P) by nested autograd."""
    x = x if x.requires_grad else x.detach().requires_grad_(True)
    y = model(x)
    grads, seconds = [], []
    for o in range(y.shape[1]):
        (g,) = torch.autograd.grad(y[:, o].sum(), x, create_graph=True)
        grads.append(g)
        seconds.append(torch.stack(
            [torch.autograd.grad(g[:, a].sum(), x, create_graph=True)[0][:, b] for a, b in pairs], -1)
            if pairs else g.new_zeros(g.shape[0], 0))
    return y, torch.stack(grads, 1), torch.stack(seconds, 1)


def _relative(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


# --- jets ----------------------------------------------------------------------------------------


PAIRS = [None, [(0, 0), (1, 1), (2, 2)], [(0, 1), (2, 2), (1, 0), (0, 0), (1, 2)], [(2, 0)]]


@pytest.mark.parametrize("pairs", PAIRS)
def test_jet_equals_nested_autograd(pairs):
    model = _kan([3, 7, 5, 2], seed=1)
    x = _inside_and_outside(40, 3)
    jet = model.jet(x, pairs)
    assert isinstance(jet, Jet)
    value, grad, second = _nested(model, x, jet.pairs)
    assert jet.value.shape == (40, 2) and jet.grad.shape == (40, 2, 3) and jet.second.shape == (40, 2, len(jet.pairs))
    for got, ref in ((jet.value, value), (jet.grad, grad), (jet.second, second)):
        torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("k", [2, 4])
def test_single_layer_jet_and_other_degrees(k):
    model = _kan([2, 3], k=k, seed=4)
    x = _inside_and_outside(30, 2)
    jet = model.jet(x, [(0, 1), (0, 0), (1, 1)])
    value, grad, second = _nested(model, x, jet.pairs)
    for got, ref in ((jet.value, value), (jet.grad, grad), (jet.second, second)):
        torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-10)


def test_jet_with_no_pairs_is_first_order():
    jet = _kan([2, 3, 1]).jet(_points(6, 2), pairs=[])
    assert jet.pairs == () and jet.second.shape == (6, 1, 0) and jet.grad.shape == (6, 1, 2)


def test_jet_pairs_are_normalised():
    model = _kan([3, 4, 1])
    assert model.jet(_points(5, 3), None).pairs == ((0, 0), (1, 1), (2, 2))
    assert model.jet(_points(5, 3), [(1, 0), (0, 1), (2, 2)]).pairs == ((0, 1), (2, 2))
    with pytest.raises(ValueError, match="pairs"):
        model.jet(_points(5, 3), [(0, 3)])
    with pytest.raises(ValueError, match="pairs"):
        normalize_pairs([(0,)], 3)


@pytest.mark.parametrize("pairs, used", [
    (None, "value grad second"), ([(0, 1), (1, 1)], "value grad second"), (None, "second"), ([(0, 1)], "grad")])
def test_jet_gradients_equal_nested_autograd_gradients(pairs, used):
    """Training differentiates the jet once more: parameter and input gradients must match too,
    also when some outputs do not enter the loss (a Laplacian residual uses only ``second``)."""
    model = _kan([2, 6, 3, 2], seed=2)
    x = _inside_and_outside(30, 2, seed=4)
    weights = torch.randn(30, 2, 3, dtype=DT, generator=torch.Generator().manual_seed(0))
    grads = []
    for use_jet in (True, False):
        xr = x.clone().requires_grad_(True)
        if use_jet:
            jet = model.jet(xr, pairs)
            value, grad, second = jet.value, jet.grad, jet.second
        else:
            value, grad, second = _nested(model, xr, normalize_pairs(pairs, 2))
        terms = {"value": value.sum(), "grad": grad.pow(3).sum(),
                 "second": (second * weights[:, :, :second.shape[2]]).pow(2).sum()}
        loss = sum(terms[name] for name in used.split())
        grads.append(torch.autograd.grad(loss, [xr, *model.parameters()], allow_unused=True))
    for got, ref in zip(*grads):
        if ref is None:  # e.g. the last bias when the value is unused
            assert got is None or got.abs().max() == 0
        else:
            torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-10)


def test_jet_unused_outputs_and_order_one():
    model = _kan([2, 5, 2], seed=3)
    x = _inside_and_outside(20, 2)
    value, grad, _ = _nested(model, x, ())
    jet = model.jet(x, order=1)
    assert jet.second.shape == (20, 2, 0) and jet.pairs == ()
    torch.testing.assert_close(jet.grad, grad, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(jet.value, value, rtol=1e-10, atol=1e-10)
    params = list(model.parameters())
    got = torch.autograd.grad(jet.grad[:, 0, 1].sum(), params, allow_unused=True)  # one output of many
    xr = x.clone().requires_grad_(True)
    ref = torch.autograd.grad(_nested(model, xr, ())[1][:, 0, 1].sum(), params, allow_unused=True)
    for a, b in zip(got, ref):
        assert (a is None) == (b is None)                                # the last bias does not matter
        if a is not None:
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


class _JetOutputs(torch.nn.Module):
    def __init__(self, kan, pairs):
        super().__init__()
        self.kan, self.pairs = kan, pairs

    def forward(self, x):
        jet = self.kan.jet(x, self.pairs)
        return jet.value, jet.grad, jet.second


def test_gradcheck_jet():
    """Finite differences of the jet w.r.t. the points and every parameter (inside and outside the grid)."""
    wrapper = _JetOutputs(_kan([2, 3, 2], grid=3, seed=5), [(0, 0), (0, 1), (1, 1)])
    x = torch.tensor([[0.3, -0.45], [1.7, 0.1], [-2.2, 1.33]], dtype=DT, requires_grad=True)
    names = [name for name, _ in wrapper.named_parameters()]
    values = [p.detach().clone().requires_grad_(True) for p in wrapper.parameters()]

    def outputs(x, *params):
        return torch.func.functional_call(wrapper, dict(zip(names, params)), (x,))
    assert torch.autograd.gradcheck(outputs, (x, *values))


def test_k1_second_derivatives_raise_naming_k():
    model = _kan([2, 3, 1], k=1)
    with pytest.raises(ValueError, match="k >= 2.*k=1"):
        model.jet(_points(4, 2))
    jet = model.jet(_points(4, 2), order=1)                              # first derivatives are fine
    assert jet.grad.shape == (4, 1, 2)


def test_jet_order_must_be_one_or_two():
    with pytest.raises(ValueError, match="order must be 1 or 2"):
        _kan([2, 3, 1]).jet(_points(4, 2), order=3)


def test_layer_jet_wrapper_and_fused_edges():
    layer = KANLayer(2, 3, grid=4).to(DT)
    x = _inside_and_outside(12, 2)
    dx = torch.randn(12, 2, 2, dtype=DT)
    d2x = torch.randn(12, 2, 2, dtype=DT)
    y, dy, d2y = layer.jet(x, dx, d2x, ((0, 0), (1, 1)))
    phi = layer.edge_values(x, order=2)                                  # (N, in, out) each
    torch.testing.assert_close(y, phi[0].sum(1) + layer.bias)
    torch.testing.assert_close(dy, torch.einsum("nio,nid->nod", phi[1], dx))
    expected = torch.einsum("nio,nip->nop", phi[2], dx * dx) + torch.einsum("nio,nip->nop", phi[1], d2x)
    torch.testing.assert_close(d2y, expected)
    for a, b in zip(layer.edge_values(x, 2, fused=True), phi):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    assert layer.jet(x, None, None, (), order=1)[2] is None


def test_non_finite_values_propagate_instead_of_raising():
    """Diverged training must show up as NaN in the outputs (the trainer recovers), not as an index error."""
    model = _kan([2, 4, 1], grid=3)
    with torch.no_grad():
        model.layers[0].coef.fill_(float("nan"))
    x = _points(5, 2)
    assert torch.isnan(model(x)).all()
    jet = model.jet(x)
    assert torch.isnan(jet.value).all() and torch.isnan(jet.second).all()
    jet.second.sum().backward()
    assert torch.isnan(model.layers[0].coef.grad).any()
    clean = _kan([2, 4, 1], grid=3)
    y = clean(torch.tensor([[float("nan"), 0.0], [float("inf"), 0.0], [0.1, 0.2]], dtype=DT))
    assert not torch.isfinite(y[:2]).any() and torch.isfinite(y[2]).all()


def test_float32_jet_is_close():
    model = _kan([2, 5, 1]).float()
    x = _points(50, 2).float()
    jet = model.jet(x)
    _, _, second = _nested(model.double(), x.double(), jet.pairs)
    assert jet.second.dtype == torch.float32
    torch.testing.assert_close(jet.second.double(), second, rtol=1e-4, atol=1e-4)


# --- grids ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("widths", [[2, 5, 1], [3, 7, 5, 2]])
def test_nested_refine_keeps_the_function(widths):
    model = _kan(widths, grid=5, seed=1)
    x = _inside_and_outside(300, widths[0])
    before = model(x).detach()
    for grid in (10, 20):
        assert model.refine(grid) is model
        assert model.grid == grid and model.layers[-1].coef.shape[-1] == grid + 3
        assert _relative(model(x).detach(), before) < 1e-10


def test_non_nested_refine_is_a_close_least_squares_fit():
    model = _kan([2, 5, 1], grid=5, seed=1)
    x = _inside_and_outside(300, 2)
    before = model(x).detach()
    model.refine(7)
    assert model.grid == 7
    assert _relative(model(x).detach(), before) < 0.1


def _smooth(model):
    """Give every edge a smooth spline, like a trained network's (random coefficients are rough)."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for layer in model.layers:
            t = torch.linspace(-1, 1, 101, dtype=DT)[:, None].expand(-1, layer.in_dim)
            freq = 0.5 + 2 * torch.rand(layer.in_dim, layer.out_dim, generator=g, dtype=DT)
            phase = 6 * torch.rand(layer.in_dim, layer.out_dim, generator=g, dtype=DT)
            target = 0.5 * torch.sin(freq * t[:, :, None] + phase)
            layer.coef.copy_(fit_coefficients(t, target, layer.lo, layer.hi, layer.grid, layer.k))
    return model


@pytest.mark.parametrize("widths", [[2, 5, 1], [3, 7, 5, 2]])
def test_update_grid_keeps_the_function_and_covers_the_activations(widths):
    model = _smooth(_kan(widths, grid=10, seed=1))
    x = _points(400, widths[0], -0.5, 0.8, seed=2)
    before = model(x).detach()
    assert model.update_grid(x) is model
    assert _relative(model(x).detach(), before) < 1e-3
    h = x
    for layer in model.layers:
        assert torch.all(layer.lo <= h.min(0).values + 1e-12) and torch.all(layer.hi >= h.max(0).values - 1e-12)
        h = layer(h).detach()


def test_update_grid_margin_widens_the_range():
    model = _kan([2, 3, 1])
    x = _points(100, 2, -0.5, 0.5)
    model.update_grid(x, margin=0.1)
    span = x.max(0).values - x.min(0).values
    torch.testing.assert_close(model.layers[0].lo, x.min(0).values - 0.1 * span)


# --- fitting -------------------------------------------------------------------------------------


def _sine_error(model):
    x = torch.rand(5000, 1, dtype=DT, generator=torch.Generator().manual_seed(9)) * 2 - 1  # not the fit's points
    return (model(x) - torch.sin(math.pi * x)).abs().max().item()


def test_fit_sine_by_least_squares():
    model = _kan([1, 1], grid=20)
    layer = model.layers[0]
    x = torch.linspace(-1, 1, 201, dtype=DT)[:, None]
    with torch.no_grad():
        layer.scale_base.zero_()
        layer.scale_spline.fill_(1.0)
        layer.coef.copy_(fit_coefficients(x, torch.sin(math.pi * x)[:, :, None], layer.lo, layer.hi, 20, 3))
    assert _sine_error(model) < 1e-4


def test_fit_sine_with_lbfgs():
    model = _kan([1, 1], grid=20)
    x = torch.linspace(-1, 1, 200, dtype=DT)[:, None]
    y = torch.sin(math.pi * x)
    opt = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=500, history_size=50,
                            line_search_fn="strong_wolfe", tolerance_grad=1e-14, tolerance_change=1e-16)

    def closure():
        opt.zero_grad()
        loss = (model(x) - y).pow(2).mean()
        loss.backward()
        return loss
    for _ in range(3):
        opt.step(closure)
    assert _sine_error(model) < 1e-4


# --- construction and input checks ---------------------------------------------------------------


def test_kan_properties_and_reproducible_seed():
    model = KAN([3, 4, 2], grid=6, k=2, seed=7)
    assert (model.in_dim, model.out_dim, model.grid, model.k, model.widths) == (3, 2, 6, 2, [3, 4, 2])
    assert [tuple(layer.coef.shape) for layer in model.layers] == [(3, 4, 8), (4, 2, 8)]
    again = KAN([3, 4, 2], grid=6, k=2, seed=7)
    for a, b in zip(model.parameters(), again.parameters()):
        assert torch.equal(a, b)
    state = torch.random.get_rng_state()
    KAN([3, 4, 2], seed=1)
    assert torch.equal(state, torch.random.get_rng_state())               # the global generator is untouched


@pytest.mark.parametrize("widths, error, match", [
    ([3], ValueError, "at least 2 layer sizes"),
    (5, TypeError, "iterable|widths"),
    ([2, 0, 1], ValueError, r"widths\[1\] must be an int >= 1, got 0"),
    ([2, 2.5, 1], TypeError, r"widths\[1\] must be an int, got float"),
    ([2, True, 1], TypeError, r"widths\[1\] must be an int, got bool"),
])
def test_kan_rejects_bad_widths(widths, error, match):
    with pytest.raises(error, match=match):
        KAN(widths)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"grid": 0}, ValueError, "grid must be an int >= 1, got 0"),
    ({"grid": 2.0}, TypeError, "grid must be an int"),
    ({"k": -1}, ValueError, "k must be an int >= 0, got -1"),
    ({"k": "3"}, TypeError, "k must be an int"),
    ({"grid_range": (1, -1)}, ValueError, "grid_range"),
])
def test_kan_rejects_bad_grid_and_k(kwargs, error, match):
    with pytest.raises(error, match=match):
        KAN([2, 3, 1], **kwargs)


def test_refine_rejects_bad_grid():
    with pytest.raises(ValueError, match="new_grid must be an int >= 1"):
        KAN([2, 3, 1]).refine(0)


@pytest.mark.parametrize("method", ["forward", "jet", "update_grid"])
def test_kan_rejects_bad_inputs(method):
    model = _kan([2, 3, 1])
    call = getattr(model, method)
    with pytest.raises(ValueError, match=r"shape \(N, 2\).*\(5, 3\)"):
        call(torch.zeros(5, 3, dtype=DT))
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        call(torch.zeros(5, dtype=DT))
    with pytest.raises(TypeError, match="torch.Tensor"):
        call([[0.0, 1.0]])


def test_per_input_grid_range():
    model = KAN([2, 3, 1], grid_range=[(-1, 1), (0, 4)])
    assert model.layers[0].lo.tolist() == [-1, 0] and model.layers[0].hi.tolist() == [1, 4]
    assert model.layers[1].lo.tolist() == [-1, -1, -1] and model.layers[1].hi.tolist() == [4, 4, 4]


# --- MLP -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["tanh", "silu", "sin", "gelu", "softplus"])
def test_mlp_shapes(activation):
    model = MLP([3, 8, 8, 2], activation=activation, seed=0)
    assert (model.in_dim, model.out_dim) == (3, 2)
    assert model(torch.zeros(5, 3)).shape == (5, 2)


def test_mlp_reproducible_seed():
    a, b, c = MLP([2, 4, 1], seed=3), MLP([2, 4, 1], seed=3), MLP([2, 4, 1], seed=4)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))


@pytest.mark.parametrize("widths", [[3], [2, 0, 1], [2, 1.5, 1], [2, True]])
def test_mlp_rejects_bad_widths(widths):
    with pytest.raises((ValueError, TypeError), match="widths"):  # TypeError: a width that is not an int
        MLP(widths)


def test_mlp_rejects_bad_activation_and_inputs():
    with pytest.raises(ValueError, match="unknown activation 'relu'"):
        MLP([2, 3, 1], activation="relu")
    model = MLP([2, 3, 1])
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        model(torch.zeros(4, 3))
    with pytest.raises(TypeError, match="torch.Tensor"):
        model([[1.0, 2.0]])
