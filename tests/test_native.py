"""The fused C kernel of a layer's jet (kanpde.nn.native) against the PyTorch path it replaces."""

import contextlib

import pytest
import torch

from kanpde import KAN
from kanpde.nn import kan as kan_module
from kanpde.nn import native

DT = torch.float64


def _jet_node(jet) -> str:
    """The autograd node of the last layer's jet (under the jet's final permute)."""
    return type(jet.value.grad_fn.next_functions[0][0]).__name__


def _outputs(model, x, pairs, order, use_native):
    """Jet outputs, x-gradient and parameter gradients of a loss reading every jet output."""
    with contextlib.nullcontext() if use_native else native.disabled():
        model.zero_grad(set_to_none=True)
        x = x.clone().requires_grad_(True)
        jet = model.jet(x, pairs=pairs, order=order)
        assert (_jet_node(jet) == "_NativeLayerJetBackward") == use_native
        loss = jet.value.pow(2).sum() + jet.grad.pow(3).sum() + (jet.second.pow(2).sum() if order == 2 else 0)
        loss.backward()
    grads = [torch.zeros_like(p) if p.grad is None else p.grad for p in model.parameters()]
    return [jet.value, jet.grad, jet.second, x.grad, *grads]


def _model(widths, grid, k, dtype=DT, seed=0):
    """A KAN with O(1) random weights everywhere, so every term of the jet matters."""
    model = KAN(widths, grid=grid, k=k, seed=seed).to(dtype)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in model.layers:
            layer.coef.copy_(torch.randn(layer.coef.shape, generator=g, dtype=dtype))
            layer.scale_base.copy_(torch.randn(layer.scale_base.shape, generator=g, dtype=dtype))
            layer.bias.copy_(torch.randn(layer.bias.shape, generator=g, dtype=dtype))
    return model


def _assert_same(native_out, torch_out, rtol):
    for i, (a, b) in enumerate(zip(native_out, torch_out)):
        scale = b.abs().max().item() if b.numel() else 0.0
        torch.testing.assert_close(a, b, rtol=0, atol=rtol * max(scale, 1.0), msg=lambda m: f"output {i}: {m}")


needs_kernel = pytest.mark.skipif(not native.available(), reason="no C compiler: the PyTorch path is used")


@needs_kernel
@pytest.mark.parametrize("widths, k, pairs, order", [
    ([2, 10, 1], 3, None, 2),                       # the benchmark network, pure second derivatives
    ([3, 5, 4, 2], 3, [(0, 1), (1, 1), (0, 2)], 2),  # mixed pairs through three layers, two outputs
    ([2, 4, 3], 2, [(0, 0), (0, 1)], 2),            # quadratic splines (the generic, non-cubic loops)
    ([2, 3, 1], 5, None, 2),                        # quintic splines
    ([2, 6, 1], 1, None, 1),                        # linear splines, first derivatives only
    ([1, 4, 1], 3, None, 1),
])
def test_kernel_matches_the_pytorch_path(widths, k, pairs, order):
    """Values, derivatives and every gradient agree to round-off, with points inside and outside the grid
    range (the tangent continuation), and a point count that is not a multiple of the kernel's block."""
    model = _model(widths, grid=7, k=k)
    g = torch.Generator().manual_seed(1)
    x = 2.6 * torch.rand(301, widths[0], generator=g, dtype=DT) - 1.3
    _assert_same(_outputs(model, x, pairs, order, True), _outputs(model, x, pairs, order, False), 1e-12)


@needs_kernel
def test_kernel_in_float32():
    model = _model([2, 5, 1], grid=5, k=3, dtype=torch.float32)
    x = 2 * torch.rand(200, 2, dtype=torch.float32) - 1
    _assert_same(_outputs(model, x, None, 2, True), _outputs(model, x, None, 2, False), 1e-4)


@needs_kernel
@pytest.mark.parametrize("threads", [1, 2])
def test_kernel_gives_the_same_result_on_any_thread_count(threads):
    """Per-thread partial sums of the table gradient: the result does not depend on the split."""
    model = _model([2, 6, 1], grid=9, k=3)
    x = 2 * torch.rand(1000, 2, generator=torch.Generator().manual_seed(2), dtype=DT) - 1
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        ours = _outputs(model, x, None, 2, True)
    finally:
        torch.set_num_threads(before)
    _assert_same(ours, _outputs(model, x, None, 2, False), 1e-12)


@needs_kernel
def test_kernel_second_derivatives_match_nested_autograd():
    """Independent of the PyTorch jet: the Laplacian from the kernel equals nested autograd's."""
    model = _model([2, 5, 1], grid=6, k=3)
    x = (2 * torch.rand(50, 2, dtype=DT) - 1).requires_grad_(True)
    u = model(x)
    (grad,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    laplacian = sum(torch.autograd.grad(grad[:, a].sum(), x, retain_graph=True)[0][:, a] for a in range(2))
    assert native.usable(x, 3, ((0, 0), (1, 1)))
    torch.testing.assert_close(model.jet(x).second[:, 0].sum(-1), laplacian, rtol=1e-11, atol=1e-11)


@needs_kernel
def test_kernel_is_used_for_a_cpu_jet():
    """The layers route a CPU float64 jet through the kernel (its autograd node is in the graph)."""
    model = _model([2, 3, 1], grid=5, k=3)
    assert _jet_node(model.jet(torch.rand(10, 2, dtype=DT))) == "_NativeLayerJetBackward"


def test_kernel_is_skipped_where_it_does_not_apply():
    x = torch.rand(4, 2, dtype=DT)
    assert not native.usable(x.to(torch.int64), 3)
    assert not native.usable(x, native.MAX_DEGREE + 1)
    assert not native.usable(x, 3, [(0, 0)] * (native.MAX_PAIRS + 1))


def test_switched_off_by_the_environment(monkeypatch, tmp_path):
    """KANPDE_NATIVE=0: no kernel is built, and the jet runs on the PyTorch path."""
    monkeypatch.setattr(native, "_library", None)          # not tried yet in this "process"
    monkeypatch.setenv("KANPDE_NATIVE", "0")
    monkeypatch.setenv("KANPDE_CACHE", str(tmp_path))
    assert not native.available()
    assert _jet_node(_model([2, 3, 1], grid=5, k=3).jet(torch.rand(5, 2, dtype=DT))) == "_LayerJetBackward"
    assert not list(tmp_path.iterdir())                      # nothing was built


@needs_kernel
def test_disabled_block_takes_the_pytorch_path():
    model, x = _model([2, 3, 1], grid=5, k=3), torch.rand(5, 2, dtype=DT)
    with native.disabled():
        assert _jet_node(model.jet(x)) == "_LayerJetBackward"
    assert _jet_node(model.jet(x)) == "_NativeLayerJetBackward"


@needs_kernel
def test_a_fresh_cache_builds_the_kernel(monkeypatch, tmp_path):
    """The first use compiles both precisions into the cache (atomically: no partial file is left)."""
    monkeypatch.setenv("KANPDE_CACHE", str(tmp_path))
    library = native._build()
    assert library.layer_jet_forward_f64 and library.layer_jet_backward_f32
    built = [p.name for p in tmp_path.iterdir()]
    assert len(built) == 1 and built[0].startswith("jet_kernel-") and built[0].endswith(".so")


def test_pytorch_layer_jet_class_is_kept_for_other_devices():
    """CUDA and traced graphs keep the PyTorch kernels: the class the layers fall back on exists."""
    assert issubclass(kan_module._LayerJet, torch.autograd.Function)
