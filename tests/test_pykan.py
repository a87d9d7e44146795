"""Interop with pykan (optional: ``pip install 'kanpde[pykan]'``; run with ``pytest -m pykan``)."""

import pytest
import torch

import kanpde as kp

pytestmark = pytest.mark.pykan


def _inside(model: kp.KAN, n: int = 300) -> torch.Tensor:
    """Points whose activations stay inside every layer's grid range (where the two agree)."""
    x = torch.rand(n, model.in_dim, dtype=torch.float64) * 2 - 1
    model.update_grid(x, margin=0.01)
    return x


def test_to_pykan_and_back_round_trip():
    model = kp.KAN([2, 3, 1], grid=5, k=3, seed=1).double()
    with torch.no_grad():
        for layer in model.layers:
            layer.bias.normal_()
            layer.scale_base.normal_()
    x = _inside(model)
    theirs = model.to_pykan()
    assert type(theirs).__name__ == "MultKAN"
    assert float((theirs(x) - model(x)).abs().max().detach()) < 1e-12
    back = kp.KAN.from_pykan(theirs)
    assert float((back(x) - model(x)).abs().max().detach()) < 1e-12


def test_from_pykan_maps_node_scales_and_biases():
    from kan import MultKAN

    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # knots made in float64, as ours
    try:
        theirs = MultKAN(width=[2, 3, 1], grid=5, k=3, grid_eps=1.0, auto_save=False, seed=3, affine_trainable=True)
    finally:
        torch.set_default_dtype(default)
    with torch.no_grad():
        for t in [*theirs.node_scale, *theirs.subnode_scale]:
            t.uniform_(0.8, 1.2)
        for t in [*theirs.node_bias, *theirs.subnode_bias]:
            t.uniform_(-0.1, 0.1)
        theirs.act_fun[0].mask[1, 2] = 0.0
    ours = kp.KAN.from_pykan(theirs)
    x = torch.rand(200, 2, dtype=torch.float64) * 2 - 1
    hidden = theirs.act_fun[0](x)[0] * theirs.subnode_scale[0] + theirs.subnode_bias[0]
    hidden = hidden * theirs.node_scale[0] + theirs.node_bias[0]
    inside = ((hidden > -1) & (hidden < 1)).all(1)    # pykan's splines vanish beyond their grid
    assert int(inside.sum()) > 20
    assert float((ours(x[inside]) - theirs(x[inside])).abs().max().detach()) < 1e-12


def test_from_pykan_rejects_non_uniform_grids():
    from kan import MultKAN

    theirs = MultKAN(width=[1, 1], grid=5, k=3, grid_eps=0.5, auto_save=False, seed=0).double()
    theirs.update_grid(torch.rand(100, 1, dtype=torch.float64) ** 3)
    with pytest.raises(ValueError, match="non-uniform grid"):
        kp.KAN.from_pykan(theirs)
    with pytest.raises(TypeError, match="pykan"):
        kp.KAN.from_pykan(kp.KAN([1, 1]))
