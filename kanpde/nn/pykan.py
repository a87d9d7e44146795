"""Interop with pykan, the reference KAN implementation (``pip install pykan``; optional).

pykan's ``MultKAN`` layer l computes, for its output node o,

    y_o = ns_o (sns_o sum_i m_io (sb_io silu(x_i) + sp_io S_io(x_i)) + snb_o) + nb_o,

with ``S_io = sum_g coef_iog B_g`` on the knots ``grid[i]`` (G + 2k + 1 of them, k extended
each side), node/subnode scales ``ns, sns`` and biases ``nb, snb``, and the edge mask ``m``.
On a uniform grid the B-splines are kanpde's (:mod:`kanpde.nn.splines`), so the exact map is

    coef = coef,  scale_base = ns sns m sb,  scale_spline = ns sns m sp,  bias = ns snb + nb,
    lo, hi = grid[:, k], grid[:, -k-1].

The two agree on ``[lo, hi]``; outside, kanpde continues each spline by its tangent line
where pykan's bases fall to zero. pykan's non-uniform grids (``grid_eps < 1`` after
``update_grid``), multiplication nodes, symbolic edges and base functions other than SiLU
have no kanpde counterpart and raise ValueError.
"""

from __future__ import annotations

import contextlib
import random
import tempfile

import numpy as np
import torch


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def from_pykan(model, kan_class: type):
    """A ``kan_class`` (:class:`kanpde.nn.kan.KAN`) with the same function as a pykan ``MultKAN``
    (see the module docstring). The class comes as an argument so that this module needs no import of the
    model file, which imports it for :meth:`KAN.from_pykan`.

    Raises:
        TypeError: not a pykan model. ValueError: a feature kanpde cannot represent.
    """
    if not all(hasattr(model, a) for a in ("act_fun", "node_bias", "node_scale", "subnode_bias", "subnode_scale")):
        raise TypeError(f"from_pykan needs a pykan KAN (kan.MultKAN), got {type(model).__name__}")
    _check(all(w[1] == 0 for w in model.width), f"pykan multiplication nodes (width {model.width}) have no "
                                                  "kanpde counterpart")
    _check(getattr(model, "base_fun_name", "silu") == "silu",
           f"only pykan's base_fun='silu' maps to kanpde, got {model.base_fun_name!r}")
    _check(torch.equal(model.input_id.long().cpu(), torch.arange(model.width_in[0])),
           "pykan input_id is permuted (a pruned model): the inputs would be reordered")
    if getattr(model, "symbolic_enabled", False):
        _check(all(not bool(s.mask.any()) for s in model.symbolic_fun),
               "the pykan model has symbolic edges (fix_symbolic); kanpde KANs hold splines only")
    layers = list(model.act_fun)
    ks = {layer.k for layer in layers}
    grids = {layer.num for layer in layers}
    _check(len(ks) == 1 and len(grids) == 1, f"kanpde KANs share one grid size and degree over all layers, got "
                                             f"grid {sorted(grids)} and k {sorted(ks)}")
    k, grid = ks.pop(), grids.pop()
    widths = [w[0] for w in model.width]
    dtype = layers[0].coef.dtype
    out = kan_class(widths, grid=grid, k=k).to(dtype)
    with torch.no_grad():
        for l, (src, dst) in enumerate(zip(layers, out.layers)):
            knots = src.grid.detach().cpu().to(dtype)                      # (in, G + 2k + 1)
            steps = knots.diff(dim=1)
            _check(bool(torch.allclose(steps, steps[:, :1].expand_as(steps), rtol=1e-5, atol=0)),  # float32 knots are uniform to round-off
                   f"layer {l} of the pykan model has a non-uniform grid (grid_eps < 1, or update_grid on "
                   "skewed data); kanpde grids are uniform: build the pykan model with grid_eps=1.0")
            scale = (model.node_scale[l] * model.subnode_scale[l]).detach().cpu().to(dtype)  # (out,)
            mask = src.mask.detach().cpu().to(dtype)                       # (in, out)
            dst.coef.copy_(src.coef.detach().cpu())
            dst.scale_base.copy_(mask * src.scale_base.detach().cpu() * scale)
            dst.scale_spline.copy_(mask * src.scale_sp.detach().cpu() * scale)
            dst.bias.copy_((model.node_scale[l] * model.subnode_bias[l] + model.node_bias[l]).detach().cpu())
            dst.lo.copy_(knots[:, k])
            dst.hi.copy_(knots[:, -k - 1])
    return out


@contextlib.contextmanager
def _keep_random_state():
    """pykan's constructor seeds torch, numpy and random globally; undo that."""
    np_state, py_state = np.random.get_state(), random.getstate()
    with torch.random.fork_rng():
        yield
    np.random.set_state(np_state)
    random.setstate(py_state)


def to_pykan(model):
    """A pykan ``MultKAN`` with the same function as ``model`` (a :class:`kanpde.nn.kan.KAN`) on its grid ranges.

    Raises:
        ImportError: pykan is not installed (``pip install kanpde[pykan]``).
    """
    try:
        from kan import MultKAN
    except ImportError as exc:
        raise ImportError("to_pykan needs pykan: pip install 'kanpde[pykan]' (pykan, pyyaml, pandas, "
                          "scikit-learn)") from exc
    dtype = model.layers[0].coef.dtype
    with _keep_random_state(), tempfile.TemporaryDirectory() as tmp:
        out = MultKAN(width=list(model.widths), grid=model.grid, k=model.k, noise_scale=0.0, base_fun="silu",
                      grid_eps=1.0, symbolic_enabled=False, auto_save=False, ckpt_path=tmp, seed=0)
    out = out.to("cpu")
    out = out.double() if dtype == torch.float64 else out.to(torch.float32)
    k = model.k
    with torch.no_grad():
        for l, (src, dst) in enumerate(zip(model.layers, out.act_fun)):
            h = (src.hi - src.lo) / src.grid                                # (in,)
            steps = torch.arange(-k, src.grid + k + 1, dtype=h.dtype)       # knot j - k
            dst.grid.data = (src.lo.unsqueeze(1) + steps * h.unsqueeze(1)).to(dst.coef)  # (in, G + 2k + 1)
            dst.coef.copy_(src.coef)
            dst.scale_base.copy_(src.scale_base)
            dst.scale_sp.copy_(src.scale_spline)
            dst.mask.data = torch.ones_like(dst.mask)
            out.node_scale[l].fill_(1.0)
            out.subnode_scale[l].fill_(1.0)
            out.subnode_bias[l].zero_()
            out.node_bias[l].copy_(src.bias)
    return out
