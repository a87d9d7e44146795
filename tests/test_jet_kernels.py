"""The fused jet kernels' fast paths: derivative table, in-range shortcut, reused memory."""

import threading
from math import factorial

import torch

from kanpde import KAN
from kanpde.nn.scratch import recycled, scratch
from kanpde.nn.splines import cell_polynomials, derivative_table, spline_jet, spline_values

DT = torch.float64


def _kan(seed=0):
    return KAN([2, 5, 3, 1], grid=6, k=3, seed=seed).to(DT)


def _points(n, lo=-1.0, hi=1.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    return lo + (hi - lo) * torch.rand(n, 2, generator=g, dtype=DT)


def _loss(model, x):
    """A residual-style loss reading every jet output (value, gradient, second derivatives)."""
    jet = model.jet(x)
    return jet.second.sum(-1).pow(2).mean() + jet.grad.pow(2).mean() + jet.value.pow(2).mean()


def _step(model, x):
    """Jet outputs and parameter gradients of :func:`_loss`."""
    model.zero_grad(set_to_none=True)
    jet = model.jet(x)
    _loss(model, x).backward()
    return [jet.value.detach(), jet.grad.detach(), jet.second.detach()], [p.grad.clone() for p in model.parameters()]


def test_derivative_table_is_scaled_cell_polynomials():
    """Entry (p, o; i, c) is p! q_p / h_i^p: the cell polynomial in x - x_c, ready for derivatives."""
    grid, k = 4, 3
    coef = torch.randn(2, 3, grid + k, dtype=DT)
    lo, hi = torch.tensor([-1.0, 0.5], dtype=DT), torch.tensor([1.0, 2.0], dtype=DT)
    table = derivative_table(coef, lo, hi, grid, k).view(k + 1, 3, 2, grid)       # (p, out, in, G)
    poly = cell_polynomials(coef, k).view(2, grid, k + 1, 3).permute(2, 3, 0, 1)  # (p, out, in, G)
    h = (hi - lo) / grid
    for p in range(k + 1):
        expected = poly[p] * factorial(p) / h.view(1, 2, 1) ** p
        torch.testing.assert_close(table[p], expected, rtol=1e-14, atol=1e-14)


def test_spline_jet_values_and_gradients_match_autograd_inside_and_across_the_range():
    """All points inside (continuation skipped) and points on both sides: same as the autograd path to 1e-12."""
    grid, k, order = 5, 3, 2
    lo, hi = torch.tensor([-1.0, 0.0], dtype=DT), torch.tensor([1.0, 3.0], dtype=DT)
    coef = torch.randn(2, 4, grid + k, dtype=DT)
    inside = lo + (hi - lo) * torch.rand(30, 2, dtype=DT)
    across = torch.cat([inside, lo - 1 + (hi - lo + 2) * torch.rand(30, 2, dtype=DT)])
    for x in (inside, across):
        weights = torch.randn(x.shape[0], 2, order + 1, 4, dtype=DT)
        grads = []
        for fn in (spline_values, spline_jet):
            xs, cs = x.clone().requires_grad_(True), coef.clone().requires_grad_(True)
            out = fn(xs, cs, lo, hi, grid, k, order)
            (out * weights).sum().backward()
            grads.append((out.detach(), xs.grad, cs.grad))
        for a, b in zip(*grads):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_jet_on_inside_points_equals_jet_computed_with_outside_points():
    """The in-range shortcut (no continuation passes) gives the rows a mixed batch gives them."""
    model = _kan()
    inside = _points(20, -0.9, 0.9, seed=1)
    outside = _points(20, -3.0, 3.0, seed=2)
    alone = model.jet(inside)
    mixed = model.jet(torch.cat([inside, outside]))
    for a, b in ((alone.value, mixed.value), (alone.grad, mixed.grad), (alone.second, mixed.second)):
        torch.testing.assert_close(a, b[:20], rtol=1e-13, atol=1e-13)


def test_results_kept_from_one_step_survive_later_steps():
    """Reused memory never overwrites outputs or gradients someone still holds."""
    model = _kan()
    x1, x2 = _points(64, seed=3), _points(64, -2.0, 2.0, seed=4)
    kept_outputs, kept_grads = _step(model, x1)
    held = model.jet(x1)                                   # outputs held across later steps
    held_copy = [held.value.clone(), held.grad.clone(), held.second.clone()]
    for _ in range(3):
        _step(model, x2)
    for a, b in zip([held.value, held.grad, held.second], held_copy):
        assert torch.equal(a, b)
    again_outputs, again_grads = _step(model, x1)
    for a, b in zip(kept_outputs + kept_grads, again_outputs + again_grads):
        assert torch.equal(a, b)


def test_interleaved_graphs_give_the_gradients_of_separate_steps():
    """Two forward passes alive at once, backward in reverse order: each gets its own gradients."""
    model = _kan()
    xa, xb = _points(50, seed=5), _points(50, -1.5, 1.5, seed=6)
    _, expected_a = _step(model, xa)
    _, expected_b = _step(model, xb)
    loss_a, loss_b = _loss(model, xa), _loss(model, xb)
    params = list(model.parameters())
    grads_b = torch.autograd.grad(loss_b, params)
    grads_a = torch.autograd.grad(loss_a, params)
    for got, expected in ((grads_a, expected_a), (grads_b, expected_b)):
        for g, e in zip(got, expected):
            assert torch.equal(g, e)


def test_retained_graph_gives_the_same_gradients_twice():
    """Backward twice through one retained graph: the kernels do not consume what they saved."""
    model = _kan()
    loss = _loss(model, _points(40, -1.5, 1.5, seed=7))
    params = list(model.parameters())
    first = torch.autograd.grad(loss, params, retain_graph=True)
    second = torch.autograd.grad(loss, params)
    for a, b in zip(first, second):
        assert torch.equal(a, b)


def test_recycled_memory_is_reused_only_when_released():
    like = torch.empty(0, dtype=DT)
    a = recycled((8, 16), like, "test-site")
    first, view = a.data_ptr(), a[3]
    del a
    b = recycled((8, 16), like, "test-site")
    assert b.data_ptr() != first                                      # a view still holds the first buffer
    del view
    c = recycled((4, 16), like, "test-site")                          # released: handed out again
    assert c.data_ptr() == first and c.shape == (4, 16) and c.is_contiguous()
    assert b.data_ptr() != first                                      # b, still held, was not touched


def test_scratch_is_per_thread_and_per_slot():
    like = torch.empty(0, dtype=DT)
    a, b = scratch((10,), like, slot=0), scratch((10,), like, slot=1)
    assert a.data_ptr() != b.data_ptr()
    assert scratch((10,), like, slot=0).data_ptr() == a.data_ptr()
    other = []
    thread = threading.Thread(target=lambda: other.append(scratch((10,), like, slot=0).data_ptr()))
    thread.start()
    thread.join()
    assert other[0] != a.data_ptr()


def test_jet_after_inference_mode_still_trains():
    """Buffers first made under inference_mode must stay writable in normal mode."""
    model = _kan(seed=3)
    x = _points(32, seed=8)
    with torch.inference_mode():
        reference = model.jet(x).second.clone()
    outputs, grads = _step(model, x)
    torch.testing.assert_close(outputs[2], reference, rtol=0, atol=0)
    assert all(torch.isfinite(g).all() for g in grads)


def test_bench_jet_ab_compares_against_a_git_revision(capsys):
    """The A/B script imports a second kanpde from git and finds the same step there (HEAD vs checkout)."""
    from conftest import load_script

    stats = load_script("bench_jet_ab").main(["--baseline", "HEAD", "--points", "200", "--grid", "4",
                                               "--repeats", "2"])
    assert len(stats) == 2 and all(t > 0 for pair in stats.values() for t in pair)
    out = capsys.readouterr().out
    assert "this / baseline" in out
    gaps = out.split("relative difference: loss ")[1].split(", parameter gradients ")
    assert float(gaps[0]) < 1e-10 and float(gaps[1]) < 1e-10


def test_jet_outputs_can_be_modified_in_place():
    """Outputs made in reused memory are not views: autograd allows in-place edits of them."""
    model = _kan()
    x = _points(16, seed=9)
    expected = [2.0 * t for t in _step(model, x)[0]]
    for name, want in zip(("value", "grad", "second"), expected):
        model.zero_grad(set_to_none=True)
        out = getattr(model.jet(x), name)
        out.mul_(2.0)
        out.pow(2).sum().backward()
        torch.testing.assert_close(out.detach(), want, rtol=0, atol=0)
        assert model.layers[0].coef.grad is not None
